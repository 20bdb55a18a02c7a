package uapi

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"
)

// Server answers UAPI requests for a Device on any number of listeners and
// connections. Each connection is served by its own goroutine and may carry
// several requests; the server holds no lock while it reads or writes, so a
// slow or hung client delays only itself. The Device must be safe for
// concurrent use: two connections may call it at once.
//
// A connection is closed after an unknown operation (answered with
// ErrnoInvalid, where wireguard-go closes without an answer), after a bad
// "get=1" request, and after a set request that could not be read to its
// empty line (a line over MaxLineLength, a request over MaxRequestBytes, the
// client hanging up); a set request that was read whole but was invalid is
// answered and the connection stays usable.
type Server struct {
	Device Device
	// Logf, if not nil, is told about failed requests and connections.
	Logf func(format string, args ...any)
	// Timeout, if not zero, bounds how long a client may take to send each
	// request (counted from when the server starts waiting for it, so it is
	// also an idle timeout) and to take each answer. Zero means no limit,
	// as in wireguard-go; wg(8) and wgctrl open a connection per operation.
	Timeout time.Duration

	mu        sync.Mutex
	closed    bool
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	wg        sync.WaitGroup
}

// ErrServerClosed is returned by Server.Serve after Server.Close.
var ErrServerClosed = errors.New("uapi: server closed")

// Serve answers requests for dev on connections accepted from l until l is
// closed, when it returns nil. log may be nil.
func Serve(l net.Listener, dev Device, log func(format string, args ...any)) error {
	s := &Server{Device: dev, Logf: log}
	return s.Serve(l)
}

// Serve accepts connections from l and serves each in a new goroutine. It
// returns nil when l is closed by its owner, ErrServerClosed after s.Close,
// and any other error Accept returns that is not temporary. Temporary errors
// (out of file descriptors, say) are retried with a growing pause.
func (s *Server) Serve(l net.Listener) error {
	if !s.track(l, nil, true) {
		return ErrServerClosed
	}
	defer s.track(l, nil, false)
	var pause time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			if temporary(err) {
				pause = min(max(2*pause, 5*time.Millisecond), time.Second)
				s.logf("UAPI accept error: %v; retrying in %v", err, pause)
				time.Sleep(pause)
				continue
			}
			return fmt.Errorf("uapi: accept: %w", err)
		}
		pause = 0
		if !s.track(nil, c, true) {
			c.Close()
			return ErrServerClosed
		}
		go func() {
			defer s.wg.Done()
			defer s.track(nil, c, false)
			s.serveConn(c)
		}()
	}
}

// ServeConn serves requests on c until the client hangs up or breaks the
// protocol, then closes c.
func (s *Server) ServeConn(c net.Conn) {
	if !s.track(nil, c, true) {
		c.Close()
		return
	}
	defer s.wg.Done()
	defer s.track(nil, c, false)
	s.serveConn(c)
}

// Close closes every listener Serve is using and every open connection, and
// waits for the connections' goroutines to finish. Requests already handed to
// the Device run to the end first.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	var err error
	for l := range s.listeners {
		if e := l.Close(); e != nil && !errors.Is(e, net.ErrClosed) && err == nil {
			err = e
		}
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// track adds (or removes) a listener or connection; for a connection it also
// counts the goroutine that will serve it. It refuses to add after Close.
func (s *Server) track(l net.Listener, c net.Conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.listeners, l)
		delete(s.conns, c)
		return true
	}
	if s.closed {
		return false
	}
	if l != nil {
		if s.listeners == nil {
			s.listeners = make(map[net.Listener]struct{})
		}
		s.listeners[l] = struct{}{}
	}
	if c != nil {
		if s.conns == nil {
			s.conns = make(map[net.Conn]struct{})
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
	}
	return true
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

func temporary(err error) bool {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS,
		syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}

func (s *Server) serveConn(c net.Conn) {
	defer c.Close()
	// The reader's buffer bounds what a connection holds: lines longer than
	// it are gathered only up to MaxLineLength.
	br := bufio.NewReaderSize(c, 4096)
	bw := bufio.NewWriterSize(c, 4096)
	for {
		if s.Timeout > 0 {
			c.SetReadDeadline(time.Now().Add(s.Timeout))
		}
		op, err := readLine(br, len("set=1"))
		if err == errLineTooLong {
			s.answer(c, bw, Errorf(ErrnoInvalid, "invalid UAPI operation: line too long"))
			return
		}
		if err != nil {
			// A hang-up between requests (wg(8) connects and hangs up to
			// probe the socket) or with half an operation line.
			return
		}
		switch op {
		case "get=1":
			b, err := br.ReadByte()
			if err != nil {
				return
			}
			if b != '\n' {
				s.answer(c, bw, Errorf(ErrnoInvalid, "trailing character in UAPI get: %q", b))
				return
			}
			state := s.Device.Get()
			if s.Timeout > 0 {
				c.SetWriteDeadline(time.Now().Add(s.Timeout))
			}
			if err := WriteGet(bw, state); err != nil {
				s.logf("UAPI get: %v", err)
				return
			}
		case "set=1":
			cfg, inStep, err := parseSet(br, true)
			if err == nil {
				err = s.Device.Set(cfg)
			}
			if !s.answer(c, bw, err) || !inStep {
				return
			}
		default:
			s.answer(c, bw, Errorf(ErrnoInvalid, "invalid UAPI operation: %q", op))
			return
		}
	}
}

// answer writes "errno=N" and the empty line for err, and reports whether it
// could.
func (s *Server) answer(c net.Conn, bw *bufio.Writer, err error) bool {
	errno := errnoOf(err)
	if err != nil {
		s.logf("UAPI: %v", err)
	}
	if s.Timeout > 0 {
		c.SetWriteDeadline(time.Now().Add(s.Timeout))
	}
	fmt.Fprintf(bw, "errno=%d\n\n", errno)
	if werr := bw.Flush(); werr != nil {
		s.logf("UAPI: failed to write answer: %v", werr)
		return false
	}
	return true
}
