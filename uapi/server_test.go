package uapi

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeDevice records Set calls and answers Get with state.
type fakeDevice struct {
	mu     sync.Mutex
	state  State
	sets   []*Config
	setErr error         // returned by Set
	block  chan struct{} // if not nil, Set waits for it
}

func (d *fakeDevice) Get() State {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state
}

func (d *fakeDevice) Set(c *Config) error {
	if d.block != nil {
		<-d.block
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sets = append(d.sets, c)
	return d.setErr
}

func (d *fakeDevice) Sets() []*Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*Config(nil), d.sets...)
}

// checkGoroutines fails t if goroutines started during the test are still
// running at its end.
func checkGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		var n int
		for range 200 {
			if n = runtime.NumGoroutine(); n <= before {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines left, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	})
}

// startServer serves dev on a unix socket in a temporary directory.
func startServer(t *testing.T, dev Device, timeout time.Duration) (*Server, string) {
	t.Helper()
	checkGoroutines(t)
	path := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Device: dev, Logf: t.Logf, Timeout: timeout}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; err != ErrServerClosed {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return s, path
}

type client struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, path string) *client {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	return &client{t, c, bufio.NewReader(c)}
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, s); err != nil {
		c.t.Fatal(err)
	}
}

// answer reads one answer, up to and including its empty line.
func (c *client) answer() string {
	c.t.Helper()
	var b strings.Builder
	for {
		line, err := c.r.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			c.t.Fatalf("reading answer after %d bytes (%.200q): %v", b.Len(), b.String(), err)
		}
		if line == "\n" {
			return b.String()
		}
	}
}

// closed checks that the server has closed the connection.
func (c *client) closed() {
	c.t.Helper()
	// A server that closes with the rest of a request unread resets
	// the connection; the answer before it still arrives.
	rest, err := io.ReadAll(c.r)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) || len(rest) != 0 {
		c.t.Fatalf("after the answer: %.100q, %v; want the connection closed", rest, err)
	}
}

func TestServerRequests(t *testing.T) {
	dev := &fakeDevice{state: goldenState}
	_, path := startServer(t, dev, 0)
	c := dial(t, path)

	c.send("get=1\n\n")
	if got := c.answer(); got != goldenGet {
		t.Fatalf("get: %.200q", got)
	}
	c.send("set=1\nlisten_port=1234\npublic_key=" + pub1 + "\nallowed_ip=10.0.0.0/8\n\n")
	if got := c.answer(); got != "errno=0\n\n" {
		t.Fatalf("set: %q", got)
	}
	// A bad request is answered, changes nothing, and the connection
	// goes on.
	c.send("set=1\nlisten_port=1\nlisten_port=65536\npublic_key=" + pub2 + "\n\n")
	if got := c.answer(); got != "errno=-22\n\n" {
		t.Fatalf("bad set: %q", got)
	}
	c.send("set=1\nfwmark\n\n")
	if got := c.answer(); got != "errno=-71\n\n" {
		t.Fatalf("bad set: %q", got)
	}
	// Two requests in one write.
	c.send("set=1\nfwmark=7\n\nget=1\n\n")
	if got := c.answer(); got != "errno=0\n\n" {
		t.Fatalf("set: %q", got)
	}
	if got := c.answer(); got != goldenGet {
		t.Fatalf("get: %.200q", got)
	}
	// The Device's errno is passed on; another error is ErrnoUnknown.
	dev.mu.Lock()
	dev.setErr = Errorf(ErrnoPortInUse, "bind: %w", errors.New("address in use"))
	dev.mu.Unlock()
	c.send("set=1\nlisten_port=80\n\n")
	if got := c.answer(); got != "errno=-98\n\n" {
		t.Fatalf("set: %q", got)
	}
	dev.mu.Lock()
	dev.setErr = errors.New("something")
	dev.mu.Unlock()
	c.send("set=1\n\n")
	if got := c.answer(); got != "errno=-55\n\n" {
		t.Fatalf("set: %q", got)
	}

	sets := dev.Sets()
	if len(sets) != 4 || *sets[0].ListenPort != 1234 || len(sets[0].Peers) != 1 ||
		*sets[1].Fwmark != 7 || *sets[2].ListenPort != 80 || len(sets[3].Peers) != 0 {
		t.Fatalf("sets: %+v", sets)
	}
}

func TestServerBadRequests(t *testing.T) {
	tests := []struct {
		name, send, answer string
	}{
		{"unknown operation", "hello=1\n\n", "errno=-22\n\n"},
		{"get=2", "get=2\n\n", "errno=-22\n\n"},
		{"long operation", strings.Repeat("x", 10000) + "\n", "errno=-22\n\n"},
		{"garbage", "\x00\x01\x02\xff\n", "errno=-22\n\n"},
		{"get with trailing", "get=1\nx\n", "errno=-22\n\n"},
		{"get crlf", "get=1\r\n\r\n", "errno=-22\n\n"},
		{"oversize line", "set=1\nlisten_port=" + strings.Repeat("1", 100000) + "\n\n", "errno=-5\n\n"},
		{"bad then oversize line", "set=1\nfoo\nlisten_port=" + strings.Repeat("1", 100000) + "\n\n", "errno=-71\n\n"},
		{"half request then hang-up", "set=1\nlisten_port=1\n", "errno=-5\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dev := &fakeDevice{}
			_, path := startServer(t, dev, 0)
			c := dial(t, path)
			// The oversize requests fill the socket buffers, so send
			// while reading.
			go io.WriteString(c.c, tt.send)
			if strings.HasPrefix(tt.name, "half") {
				time.Sleep(10 * time.Millisecond)
				c.c.(*net.UnixConn).CloseWrite()
			}
			if got := c.answer(); got != tt.answer {
				t.Fatalf("answer %.200q, want %q", got, tt.answer)
			}
			c.closed()
			if sets := dev.Sets(); len(sets) != 0 {
				t.Fatalf("Set called: %+v", sets)
			}
		})
	}
}

// A client that hangs up in the middle of a request changes nothing and
// disturbs nobody.
func TestServerHangUp(t *testing.T) {
	dev := &fakeDevice{state: goldenState}
	_, path := startServer(t, dev, 0)
	for _, partial := range []string{"", "g", "get=1\n", "set=1", "set=1\n", "set=1\nlisten_port=1\n", "set=1\nlisten_port=1"} {
		c := dial(t, path)
		c.send(partial)
		c.c.Close()
	}
	c := dial(t, path)
	c.send("get=1\n\n")
	if got := c.answer(); got != goldenGet {
		t.Fatalf("get: %.200q", got)
	}
	if sets := dev.Sets(); len(sets) != 0 {
		t.Fatalf("Set called: %+v", sets)
	}
}

// Clients that stall, halfway through a request or without reading a long
// answer, delay nobody else.
func TestServerSlowClients(t *testing.T) {
	big := goldenState
	big.Peers = nil
	for i := range 1000 { // 470 kB, more than the socket buffers hold
		p := goldenState.Peers[0]
		p.PublicKey = key(byte(i))
		big.Peers = append(big.Peers, p)
	}
	dev := &fakeDevice{state: big}
	_, path := startServer(t, dev, 0)

	stalled := dial(t, path)
	stalled.send("set=1\nlisten_port=1\n")
	deaf := dial(t, path) // never reads its answer of 2 MB
	deaf.send("get=1\n\nget=1\n\nget=1\n\n")

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			c := dial(t, path)
			for range 3 {
				c.send("set=1\nfwmark=1\n\nget=1\n\n")
				if got := c.answer(); got != "errno=0\n\n" {
					t.Errorf("set: %q", got)
					return
				}
				if got := c.answer(); !strings.HasSuffix(got, "errno=0\n\n") {
					t.Errorf("get: %q", got[len(got)-20:])
					return
				}
			}
		})
	}
	wg.Wait()
	if n := len(dev.Sets()); n != 12 {
		t.Fatalf("%d sets, want 12", n)
	}
}

func TestServerTimeout(t *testing.T) {
	dev := &fakeDevice{}
	_, path := startServer(t, dev, 50*time.Millisecond)
	idle := dial(t, path)
	half := dial(t, path)
	half.send("set=1\nlisten_port=1\n")
	start := time.Now()
	idle.closed()
	if got := half.answer(); got != "errno=-5\n\n" {
		t.Fatalf("timed out set: %q", got)
	}
	half.closed()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("closed after %v", d)
	}
	// A client that keeps up is served.
	c := dial(t, path)
	for range 3 {
		time.Sleep(20 * time.Millisecond)
		c.send("set=1\n\n")
		if got := c.answer(); got != "errno=0\n\n" {
			t.Fatalf("set: %q", got)
		}
	}
	if n := len(dev.Sets()); n != 3 {
		t.Fatalf("%d sets", n)
	}
}

// ServeConn works on any net.Conn, such as one end of a net.Pipe.
func TestServeConnPipe(t *testing.T) {
	checkGoroutines(t)
	dev := &fakeDevice{state: goldenState}
	s := &Server{Device: dev}
	a, b := net.Pipe()
	done := make(chan struct{})
	go func() {
		s.ServeConn(a)
		close(done)
	}()
	c := &client{t, b, bufio.NewReader(b)}
	b.SetDeadline(time.Now().Add(5 * time.Second))
	c.send("get=1\n\n")
	if got := c.answer(); got != goldenGet {
		t.Fatalf("get: %.200q", got)
	}
	c.send("set=1\nreplace_peers=true\n\n")
	if got := c.answer(); got != "errno=0\n\n" {
		t.Fatalf("set: %q", got)
	}
	b.Close()
	<-done
	if sets := dev.Sets(); len(sets) != 1 || !sets[0].ReplacePeers {
		t.Fatalf("sets: %+v", sets)
	}
}

// Close closes listeners and connections, lets a Set that has started
// finish, and waits for every goroutine.
func TestServerClose(t *testing.T) {
	checkGoroutines(t)
	dev := &fakeDevice{block: make(chan struct{})}
	path := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Device: dev}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	idle := dial(t, path)
	busy := dial(t, path)
	busy.send("set=1\n\n")
	time.Sleep(20 * time.Millisecond)
	closed := make(chan struct{})
	go func() {
		s.Close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned while Set was running")
	case <-time.After(20 * time.Millisecond):
	}
	close(dev.block)
	<-closed
	if err := <-served; err != ErrServerClosed {
		t.Fatalf("Serve: %v", err)
	}
	idle.closed()
	if _, err := net.Dial("unix", path); err == nil {
		t.Fatal("listener still open")
	}
	if err := s.Serve(l); err != ErrServerClosed {
		t.Fatalf("Serve after Close: %v", err)
	}
}

// Serve returns nil when its owner closes the listener.
func TestServeListenerClosed(t *testing.T) {
	checkGoroutines(t)
	l, err := net.Listen("unix", filepath.Join(t.TempDir(), "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Serve(l, &fakeDevice{}, nil) }()
	time.Sleep(10 * time.Millisecond)
	l.Close()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

func TestServerConcurrent(t *testing.T) {
	dev := &fakeDevice{state: goldenState}
	_, path := startServer(t, dev, 0)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			c := dial(t, path)
			for j := range 20 {
				c.send(fmt.Sprintf("set=1\nlisten_port=%d\n\n", i*100+j))
				if got := c.answer(); got != "errno=0\n\n" {
					t.Errorf("set: %q", got)
					return
				}
				c.send("get=1\n\n")
				if got := c.answer(); got != goldenGet {
					t.Errorf("get: %q", got)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := len(dev.Sets()); n != 160 {
		t.Fatalf("%d sets", n)
	}
}
