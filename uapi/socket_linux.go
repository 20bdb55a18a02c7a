package uapi

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// SocketDir is where wg(8) looks for the sockets of userspace interfaces.
var SocketDir = "/var/run/wireguard"

// EnvUAPIFD is the environment variable through which a parent hands the
// daemon it starts the listening socket (its file descriptor number), as
// wireguard-go does when it puts itself in the background.
const EnvUAPIFD = "WG_UAPI_FD"

// SocketPath is the UAPI socket of interface ifname.
func SocketPath(ifname string) string {
	return SocketDir + "/" + ifname + ".sock"
}

// Open creates the UAPI socket of ifname the way wireguard-go's UAPIOpen
// does and returns the listening socket as a file, to be handed to a child
// process (see EnvUAPIFD) or to ListenFile. SocketDir is created with mode
// 0755 if need be and the socket gets mode 0600. A socket already at the path
// is taken over only if nobody answers on it; if someone does, Open fails.
func Open(ifname string) (*os.File, error) {
	l, err := listenUnix(ifname)
	if err != nil {
		return nil, err
	}
	l.SetUnlinkOnClose(false)
	f, err := l.File()
	l.Close()
	if err != nil {
		os.Remove(SocketPath(ifname))
		return nil, fmt.Errorf("uapi: %w", err)
	}
	return f, nil
}

// Listen creates the UAPI socket of ifname as Open does and listens on it.
// Closing the listener removes the socket file, unless it has been replaced
// by another one meanwhile.
func Listen(ifname string) (net.Listener, error) {
	l, err := listenUnix(ifname)
	if err != nil {
		return nil, err
	}
	return newListener(l), nil
}

// ListenFile listens on a socket made by Open, perhaps in a parent process.
// f is not closed; the listener holds its own descriptor. Closing the
// listener removes the socket file, unless it has been replaced.
func ListenFile(f *os.File) (net.Listener, error) {
	fl, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("uapi: listen on inherited socket: %w", err)
	}
	l, ok := fl.(*net.UnixListener)
	if !ok {
		fl.Close()
		return nil, fmt.Errorf("uapi: inherited socket is a %s listener, not unix", fl.Addr().Network())
	}
	return newListener(l), nil
}

// ListenFD is ListenFile for descriptor fd, which it takes over (closes).
func ListenFD(fd int) (net.Listener, error) {
	if fd < 0 {
		return nil, fmt.Errorf("uapi: bad file descriptor %d", fd)
	}
	f := os.NewFile(uintptr(fd), "uapi")
	defer f.Close()
	return ListenFile(f)
}

// ListenEnv listens on the descriptor named by EnvUAPIFD if it is set, and
// otherwise as Listen(ifname), which is what wireguard-go's main does.
func ListenEnv(ifname string) (net.Listener, error) {
	s := os.Getenv(EnvUAPIFD)
	if s == "" {
		return Listen(ifname)
	}
	fd, err := strconv.ParseUint(s, 10, 31)
	if err != nil {
		return nil, fmt.Errorf("uapi: bad %s=%q: %w", EnvUAPIFD, s, err)
	}
	return ListenFD(int(fd))
}

func listenUnix(ifname string) (*net.UnixListener, error) {
	if ifname == "" || strings.ContainsRune(ifname, '/') || ifname == "." || ifname == ".." {
		return nil, fmt.Errorf("uapi: bad interface name %q", ifname)
	}
	if err := os.MkdirAll(SocketDir, 0o755); err != nil {
		return nil, fmt.Errorf("uapi: %w", err)
	}
	path := SocketPath(ifname)
	addr := &net.UnixAddr{Name: path, Net: "unix"}

	// As wireguard-go: the umask makes the socket 0600 from birth, so
	// nobody else can connect in a window before a chmod. (The umask is
	// process-wide; this runs at start, before other files are made.)
	old := unix.Umask(0o077)
	defer unix.Umask(old)

	l, err := net.ListenUnix("unix", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		// A socket is there. If someone answers on it, it is in use;
		// otherwise it is left over from a daemon that died.
		if c, derr := net.DialTimeout("unix", path, time.Second); derr == nil {
			c.Close()
			return nil, fmt.Errorf("uapi: %s: unix socket in use", path)
		} else if !errors.Is(derr, syscall.ECONNREFUSED) && !errors.Is(derr, syscall.ENOENT) {
			return nil, fmt.Errorf("uapi: %s exists and cannot be probed: %w", path, derr)
		}
		if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			return nil, fmt.Errorf("uapi: removing stale socket: %w", rerr)
		}
		l, err = net.ListenUnix("unix", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("uapi: %w", err)
	}
	// The umask left 0700 (as in wireguard-go); a socket needs no x bit.
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("uapi: %w", err)
	}
	return l, nil
}

// listener removes its socket file on Close only if the file is still the
// one it was listening on when it started: a second daemon that took the
// path over keeps its socket.
type listener struct {
	*net.UnixListener
	path string
	file os.FileInfo // the socket file at start; nil: do not remove
	once sync.Once
}

func newListener(l *net.UnixListener) *listener {
	l.SetUnlinkOnClose(false)
	ln := &listener{UnixListener: l}
	if a, ok := l.Addr().(*net.UnixAddr); ok && a.Name != "" && a.Name[0] != '@' {
		ln.path = a.Name
		if fi, err := os.Lstat(a.Name); err == nil && fi.Mode()&os.ModeSocket != 0 {
			ln.file = fi
		}
	}
	return ln
}

func (l *listener) Close() error {
	l.once.Do(func() {
		if l.file == nil {
			return
		}
		if fi, err := os.Lstat(l.path); err == nil && os.SameFile(fi, l.file) {
			os.Remove(l.path)
		}
	})
	return l.UnixListener.Close()
}
