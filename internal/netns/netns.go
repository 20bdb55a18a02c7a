// Package netns builds throwaway network topologies for integration tests
// and benchmarks: named network namespaces (ip-netns(8)), veth pairs joining
// them with addresses in private test ranges, commands and daemons run inside
// a namespace, and Go code run on an OS thread that has been moved into one,
// so a test can open sockets inside a namespace from its own process.
//
// Every name is random, so parallel runs never collide, and everything is
// torn down by Close: the processes a Namespace started are killed by PID,
// then the namespace is deleted, which takes its interfaces (and the far end
// of each veth pair) with it. Started processes also get SIGTERM if the
// process that started them dies, and Sweep deletes the namespaces of a run
// that died before its cleanup. Nothing here touches the namespace the
// caller runs in, so traffic stays between the namespaces a caller created.
//
// Everything needs root and ip(8) from iproute2; Available reports whether
// both are present, so tests can skip with a clear message.
package netns

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Dir is where ip-netns(8) keeps its namespaces' bind mounts.
const Dir = "/var/run/netns"

// CommandTimeout bounds each command Run runs, so a hung tool fails a test
// instead of hanging it.
const CommandTimeout = 60 * time.Second

// Available returns nil when namespaces can be made here: the caller is
// root and ip(8) is installed. Otherwise it says what is missing.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("needs root to create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("needs ip(8) from iproute2 (scripts/deps.sh installs it)")
	}
	return nil
}

// RandomName returns prefix followed by n random hex digits. Interface names
// must stay within 15 bytes (IFNAMSIZ-1); the caller chooses n to fit.
func RandomName(prefix string, n int) string {
	b := make([]byte, (n+1)/2)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)[:n]
}

// Namespace is a named network namespace created by New, with the processes
// started in it. Its methods are safe for concurrent use.
type Namespace struct {
	Name string

	mu     sync.Mutex
	procs  []*Process
	closed bool
}

// New creates a network namespace named prefix, this process's PID, '-' and
// 6 random hex digits, and brings its loopback up. The caller must Close
// it; if this process dies first, Sweep removes it.
func New(prefix string) (*Namespace, error) {
	n := &Namespace{Name: RandomName(prefix+strconv.Itoa(os.Getpid())+"-", 6)}
	if out, err := exec.Command("ip", "netns", "add", n.Name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip netns add %s: %w: %s", n.Name, err, bytes.TrimSpace(out))
	}
	if _, err := n.Run("ip", "link", "set", "lo", "up"); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// Sweep deletes the namespaces that New made with prefix in processes that
// are gone: a test binary killed by its -timeout runs no cleanup. It returns
// the names it deleted. Namespaces of live processes are left alone.
func Sweep(prefix string) ([]string, error) {
	ents, err := os.ReadDir(Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var deleted []string
	var errs []error
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		pidStr, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid <= 0 {
			continue // not one of ours
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			continue // its process (or one with the same PID) lives
		}
		if out, err := exec.Command("ip", "netns", "del", e.Name()).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("ip netns del %s: %w: %s", e.Name(), err, bytes.TrimSpace(out)))
			continue
		}
		deleted = append(deleted, e.Name())
	}
	return deleted, errors.Join(errs...)
}

// Path is the namespace's bind mount, which setns(2) opens.
func (n *Namespace) Path() string { return filepath.Join(Dir, n.Name) }

// Command returns a command that runs name with args inside the namespace
// through `ip netns exec`, which execs it in place: the started process's
// PID is the command's own, not a wrapper's.
func (n *Namespace) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Run runs name with args inside the namespace, waits at most
// CommandTimeout, and returns its combined output. A failure's error
// includes the command line and its output.
func (n *Namespace) Run(name string, args ...string) (string, error) {
	return n.RunEnv(nil, name, args...)
}

// RunEnv is Run with extra environment variables ("KEY=value") added to the
// caller's environment.
func (n *Namespace) RunEnv(env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()
	cmd := n.Command(ctx, name, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	// A file, not a pipe, takes the output: a daemon the command leaves
	// behind (wg-quick starting a userspace WireGuard) may inherit it, and
	// Wait must not wait for that daemon to close a pipe.
	f, err := os.CreateTemp("", "netns-run-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	runErr := cmd.Run()
	out, _ := os.ReadFile(f.Name())
	if runErr != nil {
		if ctx.Err() != nil {
			runErr = fmt.Errorf("%w (timed out after %v)", runErr, CommandTimeout)
		}
		return string(out), fmt.Errorf("[netns %s] %s %s: %w: %s", n.Name, name,
			strings.Join(args, " "), runErr, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// Do runs f on a new goroutine whose OS thread has been moved into the
// namespace, and returns f's error. Sockets f opens belong to the namespace
// for their whole life and may be used from any goroutine afterwards.
//
// The goroutine locks its thread and never unlocks it: when it returns, the
// runtime ends the thread instead of handing a thread in the wrong namespace
// to other goroutines. f must not start goroutines that expect to run in the
// namespace; they run on other threads.
func (n *Namespace) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: see above
		fd, err := unix.Open(n.Path(), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("open %s: %w", n.Path(), err)
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			errc <- fmt.Errorf("setns %s: %w", n.Name, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// Listen is net.Listen inside the namespace.
func (n *Namespace) Listen(network, address string) (net.Listener, error) {
	var l net.Listener
	err := n.Do(func() (err error) {
		l, err = net.Listen(network, address)
		return err
	})
	return l, err
}

// ListenPacket is net.ListenPacket inside the namespace.
func (n *Namespace) ListenPacket(network, address string) (net.PacketConn, error) {
	var c net.PacketConn
	err := n.Do(func() (err error) {
		c, err = net.ListenPacket(network, address)
		return err
	})
	return c, err
}

// Dial is net.DialTimeout inside the namespace. The address must be
// literal: a name lookup could run on another thread, outside.
func (n *Namespace) Dial(network, address string, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := n.Do(func() (err error) {
		c, err = net.DialTimeout(network, address, timeout)
		return err
	})
	return c, err
}

// Process is a process started by Namespace.Start.
type Process struct {
	Cmd     *exec.Cmd
	PID     int
	LogPath string // its stdout and stderr

	done    chan struct{} // closed when it has exited and been reaped
	waitErr error
}

// Start starts name with args inside the namespace, with env added to the
// caller's environment and its output going to the file logPath. Close (or
// Process.Stop) kills it by PID.
func (n *Namespace) Start(logPath string, env []string, name string, args ...string) (*Process, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, fmt.Errorf("netns %s: closed", n.Name)
	}
	log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer log.Close() // the child holds its own copy
	cmd := n.Command(context.Background(), name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	// If this process dies without cleaning up (a test -timeout), the
	// kernel sends the child SIGTERM, so a daemon still removes its files.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := startOnSpawner(cmd); err != nil {
		return nil, fmt.Errorf("[netns %s] start %s: %w", n.Name, name, err)
	}
	p := &Process{Cmd: cmd, PID: cmd.Process.Pid, LogPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	n.procs = append(n.procs, p)
	return p, nil
}

// spawner is a goroutine locked to its thread for the life of the process,
// which starts every process that has a Pdeathsig. The kernel sends that
// signal when the thread that forked the child exits, not the process, and
// the runtime ends threads: each time a goroutine that locked one returns,
// as Do's do. A thread that had run a Start could be the next one Do takes,
// and its end would kill the daemon mid-test.
var spawner struct {
	once sync.Once
	reqs chan func()
}

func startOnSpawner(cmd *exec.Cmd) error {
	spawner.once.Do(func() {
		spawner.reqs = make(chan func())
		go func() {
			runtime.LockOSThread() // never unlocked, and the goroutine never returns
			for f := range spawner.reqs {
				f()
			}
		}()
	})
	errc := make(chan error, 1)
	spawner.reqs <- func() { errc <- cmd.Start() }
	return <-errc
}

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is the process's exit status, valid once Done is closed.
func (p *Process) Err() error { return p.waitErr }

// Stop sends SIGTERM, waits up to grace for the process to exit, then sends
// SIGKILL and waits for it. It is safe to call more than once.
func (p *Process) Stop(grace time.Duration) error {
	if p.Exited() {
		return nil
	}
	p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	p.Cmd.Process.Kill()
	select {
	case <-p.done:
		return fmt.Errorf("pid %d ignored SIGTERM for %v and was killed", p.PID, grace)
	case <-time.After(10 * time.Second):
		return fmt.Errorf("pid %d did not exit after SIGKILL", p.PID)
	}
}

// Close stops every process the namespace started, then deletes the
// namespace. It is safe to call more than once, and it tries every step
// even when one fails.
func (n *Namespace) Close() error {
	n.mu.Lock()
	procs := n.procs
	n.procs = nil
	n.closed = true
	n.mu.Unlock()
	var errs []error
	for _, p := range procs {
		if err := p.Stop(5 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := os.Stat(n.Path()); err == nil {
		if out, err := exec.Command("ip", "netns", "del", n.Name).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("ip netns del %s: %w: %s", n.Name, err, bytes.TrimSpace(out)))
		}
	}
	return errors.Join(errs...)
}
