package uapi

import (
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tempSocketDir points SocketDir at a directory that does not exist yet.
func tempSocketDir(t *testing.T) string {
	old := SocketDir
	SocketDir = filepath.Join(t.TempDir(), "run", "wireguard")
	t.Cleanup(func() { SocketDir = old })
	return SocketDir
}

func TestSocketPath(t *testing.T) {
	if got := SocketPath("wg0"); got != "/var/run/wireguard/wg0.sock" {
		t.Fatalf("SocketPath = %q", got)
	}
}

// answers reports whether a UAPI server answers a get on path.
func answers(t *testing.T, path string) bool {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("get=1\n\n"))
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	return strings.HasPrefix(string(buf[:n]), "errno=0")
}

func serveOn(t *testing.T, l net.Listener, dev Device) {
	checkGoroutines(t)
	done := make(chan error, 1)
	go func() { done <- Serve(l, dev, nil) }()
	t.Cleanup(func() {
		l.Close()
		<-done
	})
}

func TestListen(t *testing.T) {
	dir := tempSocketDir(t)
	l, err := Listen("wg0")
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, l, &fakeDevice{})
	path := SocketPath("wg0")
	if path != dir+"/wg0.sock" {
		t.Fatalf("path %q", path)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o755 || !fi.IsDir() {
		t.Fatalf("socket directory: %v %v", fi.Mode(), err)
	}
	fi, err = os.Lstat(path)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket: %v %v", fi.Mode(), err)
	}
	if !answers(t, path) {
		t.Fatal("no answer")
	}

	// Someone answers: the socket is in use and is left alone.
	if l2, err := Listen("wg0"); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Listen: %v, %v", l2, err)
	}
	if !answers(t, path) {
		t.Fatal("second Listen broke the first")
	}

	l.Close()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("socket left after Close: %v", err)
	}
}

func TestListenStale(t *testing.T) {
	tempSocketDir(t)
	os.MkdirAll(SocketDir, 0o755)
	path := SocketPath("wg1")
	dead, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	dead.SetUnlinkOnClose(false)
	dead.Close() // a daemon that died and left its socket
	l, err := Listen("wg1")
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	serveOn(t, l, &fakeDevice{})
	if !answers(t, path) {
		t.Fatal("no answer")
	}
}

// Close leaves alone a socket that has replaced ours.
func TestListenCloseReplaced(t *testing.T) {
	tempSocketDir(t)
	l, err := Listen("wg2")
	if err != nil {
		t.Fatal(err)
	}
	path := SocketPath("wg2")
	os.Remove(path)
	l2, err := Listen("wg2")
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, l2, &fakeDevice{})
	l.Close()
	if !answers(t, path) {
		t.Fatal("closing the old listener removed the new socket")
	}
}

func TestListenBadName(t *testing.T) {
	tempSocketDir(t)
	for _, name := range []string{"", "a/b", "..", "."} {
		if l, err := Listen(name); err == nil {
			l.Close()
			t.Errorf("Listen(%q) succeeded", name)
		}
	}
}

// Open makes a socket file to hand to a child; ListenFD and ListenEnv take
// it up, as the daemon does after putting itself in the background.
func TestOpenListenFD(t *testing.T) {
	tempSocketDir(t)
	f, err := Open("wg3")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	path := SocketPath("wg3")
	if fi, err := os.Lstat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket: %v", err)
	}

	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvUAPIFD, strconv.Itoa(fd))
	l, err := ListenEnv("ignored")
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, l, &fakeDevice{})
	if !answers(t, path) {
		t.Fatal("no answer")
	}
	l.Close()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("socket left after Close: %v", err)
	}

	t.Setenv(EnvUAPIFD, "x")
	if _, err := ListenEnv("wg3"); err == nil {
		t.Fatal("ListenEnv with a bad descriptor succeeded")
	}
	if _, err := ListenFD(-1); err == nil {
		t.Fatal("ListenFD(-1) succeeded")
	}
	r, w, _ := os.Pipe()
	defer w.Close()
	if _, err := ListenFile(r); err == nil {
		t.Fatal("ListenFile on a pipe succeeded")
	}
	r.Close()
}

func TestWatchRemoval(t *testing.T) {
	tempSocketDir(t)
	checkGoroutines(t)
	// wait waits long for what should happen and briefly for what
	// should not.
	wait := func(ch <-chan struct{}, d time.Duration) bool {
		select {
		case <-ch:
			return true
		case <-time.After(d):
			return false
		}
	}
	const long, short = 5 * time.Second, 50 * time.Millisecond

	l, err := Listen("wg4")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	path := SocketPath("wg4")
	done := make(chan struct{})
	defer close(done)
	removed := WatchRemoval(path, done)
	os.Chmod(path, 0o600) // an event that is not a removal
	if wait(removed, short) {
		t.Fatal("fired before removal")
	}
	os.Remove(path)
	if !wait(removed, long) {
		t.Fatal("did not fire on removal")
	}

	// Replaced by another file.
	l2, err := Listen("wg4")
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	removed = WatchRemoval(path, done)
	tmp := path + ".new"
	os.WriteFile(tmp, nil, 0o600)
	os.Rename(tmp, path)
	if !wait(removed, long) {
		t.Fatal("did not fire on replacement")
	}

	// Gone from the start.
	if !wait(WatchRemoval(path+".none", done), long) {
		t.Fatal("did not fire for a missing file")
	}

	// Stopped by done.
	n := runtime.NumGoroutine()
	stop := make(chan struct{})
	removed = WatchRemoval(path, stop)
	close(stop)
	for i := 0; runtime.NumGoroutine() > n && i < 500; i++ {
		time.Sleep(10 * time.Millisecond) // until the watcher has stopped
	}
	os.Remove(path)
	if wait(removed, short) {
		t.Fatal("fired after done")
	}
}

func TestWatchPoll(t *testing.T) {
	old := watchPollInterval
	watchPollInterval = 5 * time.Millisecond
	defer func() { watchPollInterval = old }()
	path := filepath.Join(t.TempDir(), "f")
	os.WriteFile(path, nil, 0o600)
	fi, _ := os.Lstat(path)
	done := make(chan struct{})
	result := make(chan bool, 1)
	go func() { result <- watchPoll(path, fi, done) }()
	time.Sleep(20 * time.Millisecond)
	os.Remove(path)
	select {
	case r := <-result:
		if !r {
			t.Fatal("watchPoll returned false")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("watchPoll did not notice the removal")
	}
	os.WriteFile(path, nil, 0o600)
	fi, _ = os.Lstat(path)
	go func() { result <- watchPoll(path, fi, done) }()
	close(done)
	if <-result {
		t.Fatal("watchPoll returned true after done")
	}
}
