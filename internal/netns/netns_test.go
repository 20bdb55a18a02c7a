package netns

import (
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

func newNS(t *testing.T) *Namespace {
	t.Helper()
	if err := Available(); err != nil {
		t.Skip(err)
	}
	n, err := New("wgxt-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Error(err)
		}
	})
	return n
}

// TestVethAndDo joins two namespaces, pings across in both families, and
// carries a TCP connection whose ends were opened from this process, one in
// each namespace. Close must then leave nothing behind.
func TestVethAndDo(t *testing.T) {
	a, b := newNS(t), newNS(t)
	v, err := NewVeth(a, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, dst := range []string{v.B4.Addr().String(), v.B6.Addr().String()} {
		if out, err := a.Run("ping", "-c", "1", "-W", "2", dst); err != nil {
			t.Fatalf("ping %s: %v\n%s", dst, err, out)
		}
	}

	l, err := b.Listen("tcp", net.JoinHostPort(v.B6.Addr().String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		io.Copy(c, c)
		c.Close()
	}()
	c, err := a.Dial("tcp", l.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if local := c.LocalAddr().(*net.TCPAddr).IP.String(); local != v.A6.Addr().String() {
		t.Errorf("connection from %s, want %s", local, v.A6.Addr())
	}
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("echo: %q, %v", buf, err)
	}

	// The test process itself is still in its own namespace.
	if _, err := net.InterfaceByName(v.NameA); err == nil {
		t.Errorf("%s visible outside its namespace", v.NameA)
	}
}

// TestStartClose checks that Close kills a started process and deletes the
// namespace.
func TestStartClose(t *testing.T) {
	n := newNS(t)
	p, err := n.Start(t.TempDir()+"/log", []string{"NETNS_TEST=1"}, "sh", "-c", "echo $NETNS_TEST; exec sleep 60")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if p.Exited() {
		t.Fatalf("exited early: %v", p.Err())
	}
	comm, _ := os.ReadFile("/proc/" + strconv.Itoa(p.PID) + "/comm")
	if strings.TrimSpace(string(comm)) != "sleep" {
		t.Errorf("pid %d is %q, want the command itself (sleep)", p.PID, comm)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if !p.Exited() {
		t.Error("process still running after Close")
	}
	if _, err := os.Stat(n.Path()); !os.IsNotExist(err) {
		t.Errorf("%s still exists: %v", n.Path(), err)
	}
	if log, _ := os.ReadFile(p.LogPath); strings.TrimSpace(string(log)) != "1" {
		t.Errorf("log %q, want the environment variable's value", log)
	}
}

// TestSweep checks that Sweep deletes the namespaces of a dead process and
// keeps those of a live one.
func TestSweep(t *testing.T) {
	if err := Available(); err != nil {
		t.Skip(err)
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	prefix := RandomName("wgxs", 4) + "-"
	stale := prefix + strconv.Itoa(dead.Process.Pid) + "-abcdef"
	if out, err := exec.Command("ip", "netns", "add", stale).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", stale).Run() })
	live, err := New(prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { live.Close() })

	deleted, err := Sweep(prefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(deleted) != 1 || deleted[0] != stale {
		t.Errorf("Sweep deleted %v, want [%s]", deleted, stale)
	}
	if _, err := os.Stat(live.Path()); err != nil {
		t.Errorf("Sweep deleted the live namespace %s: %v", live.Name, err)
	}
}

// TestStartSurvivesDo checks that a started process outlives the threads Do
// ends: its death signal must follow this process, not a thread.
func TestStartSurvivesDo(t *testing.T) {
	n := newNS(t)
	p, err := n.Start(t.TempDir()+"/log", nil, "sleep", "60")
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		if err := n.Do(func() error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if p.Exited() {
		t.Fatalf("pid %d died when a thread ended: %v", p.PID, p.Err())
	}
}

// TestVethQueues checks that VethQueues gives both ends that many rx and
// tx queues.
func TestVethQueues(t *testing.T) {
	a, b := newNS(t), newNS(t)
	v, err := NewVeth(a, b, VethQueues(2))
	if err != nil {
		t.Fatal(err)
	}
	if v.Queues != 2 {
		t.Errorf("Queues = %d, want 2", v.Queues)
	}
	for _, end := range []struct {
		ns  *Namespace
		dev string
	}{{a, v.NameA}, {b, v.NameB}} {
		for _, dir := range []string{"rx", "tx"} {
			out, err := end.ns.Run("sh", "-c", "ls -d /sys/class/net/"+end.dev+"/queues/"+dir+"-* | wc -l")
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(out) != "2" {
				t.Errorf("%s: %s queues %q, want 2", end.dev, dir, strings.TrimSpace(out))
			}
		}
	}
}

// TestVethMTU checks that VethMTU sets both ends' MTU.
func TestVethMTU(t *testing.T) {
	a, b := newNS(t), newNS(t)
	v, err := NewVeth(a, b, VethMTU(9000))
	if err != nil {
		t.Fatal(err)
	}
	for _, end := range []struct {
		ns  *Namespace
		dev string
	}{{a, v.NameA}, {b, v.NameB}} {
		out, err := end.ns.Run("cat", "/sys/class/net/"+end.dev+"/mtu")
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(out) != "9000" {
			t.Errorf("%s: MTU %q, want 9000", end.dev, strings.TrimSpace(out))
		}
	}
}
