package xdp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/wgxdp/wgxdp/conn"
	"github.com/wgxdp/wgxdp/packet"
)

// ErrNotSupported is wrapped by NewBind and Open when AF_XDP cannot be used
// on the interface (no BPF, no AF_XDP, the driver refuses the program, an
// MTU too big for one frame): the caller should use conn.StdNetBind.
var ErrNotSupported = errors.New("xdp: AF_XDP not supported here")

// Attach modes for NewBind.
const (
	ModeAuto    = "auto"    // native if the driver takes it, else generic
	ModeNative  = "native"  // driver mode only
	ModeGeneric = "generic" // skb mode only
)

// Ring and UMEM sizes per queue: rxFrames frames circulate through fill
// and rx, txFrames through tx and completion; 2 MiB each at 2048-byte
// frames.
const (
	rxFrames = 1024
	txFrames = 1024
)

// Bind is a conn.Bind on one interface through AF_XDP: one XSK per receive
// queue, an XDP program that redirects UDP to the bound port into them,
// and beside them an ordinary UDP socket pair (conn.StdNetBind) on the
// same port. The sockets hold the port so nothing else takes it, receive
// what arrives on other interfaces, and send what the XDP path cannot: a
// destination whose route leaves through another interface or whose
// neighbor the kernel does not know as reachable (the kernel then resolves
// it), link-local destinations, and datagrams too big for a frame.
//
// Everything is opened in the network namespace of the goroutine calling
// Open; Send and the receive functions may then run anywhere.
type Bind struct {
	ifname string
	mode   string

	mu   sync.RWMutex // guards st and mark; Send holds it for reading
	st   *state
	mark uint32

	rxRing, txRing, rxSocket, txSocket atomic.Uint64
}

var _ conn.Bind = (*Bind)(nil)

// state is one Open's worth of kernel objects.
type state struct {
	port      uint16
	ifindex   int
	mac       [6]byte
	frameSize int
	mtu       int
	mode      string
	std       *conn.StdNetBind
	socks     []*socket
	xsks      *ebpf.Map
	prog      *ebpf.Program
	link      link.Link
	neigh     *neighbors
	efd       int // written by Close to wake the receive functions' polls
	closed    atomic.Bool
	next      atomic.Uint32 // round-robin tx queue
}

// NewBind returns a closed Bind on the interface ifname, attaching in mode
// (ModeAuto, ModeNative or ModeGeneric; "" is ModeAuto) when opened.
func NewBind(ifname string, mode string) (*Bind, error) {
	switch mode {
	case "":
		mode = ModeAuto
	case ModeAuto, ModeNative, ModeGeneric:
	default:
		return nil, fmt.Errorf("xdp: unknown mode %q (auto, native or generic)", mode)
	}
	if _, err := net.InterfaceByName(ifname); err != nil {
		return nil, fmt.Errorf("xdp: interface %s: %w", ifname, err)
	}
	return &Bind{ifname: ifname, mode: mode}, nil
}

// Stats counts datagrams since NewBind by the path they took.
type Stats struct {
	RxRing, TxRing     uint64 // through the XSKs
	RxSocket, TxSocket uint64 // through the UDP sockets
}

// Stats returns the counters.
func (b *Bind) Stats() Stats {
	return Stats{RxRing: b.rxRing.Load(), TxRing: b.txRing.Load(),
		RxSocket: b.rxSocket.Load(), TxSocket: b.txSocket.Load()}
}

// Mode returns the attach mode in effect ("native" or "generic"), or "" if
// the Bind is closed.
func (b *Bind) Mode() string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.st == nil {
		return ""
	}
	return b.st.mode
}

// Queues returns the number of XSKs (receive queues) of the open Bind.
func (b *Bind) Queues() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.st == nil {
		return 0
	}
	return len(b.st.socks)
}

// Open implements conn.Bind. It returns one receive function per queue,
// then the UDP sockets' receive functions.
func (b *Bind) Open(port uint16) ([]conn.ReceiveFunc, uint16, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.st != nil {
		return nil, 0, conn.ErrBindAlreadyOpen
	}
	st := &state{efd: -1}
	st.std = conn.NewStdNetBind()
	if b.mark != 0 {
		if err := st.std.SetMark(b.mark); err != nil {
			return nil, 0, err
		}
	}
	stdFns, actual, err := st.std.Open(port)
	if err != nil {
		return nil, 0, err
	}
	st.port = actual
	if err := st.openXDP(b.ifname, b.mode, b.mark); err != nil {
		st.close()
		return nil, 0, err
	}
	fns := make([]conn.ReceiveFunc, 0, len(st.socks)+len(stdFns))
	for _, s := range st.socks {
		fns = append(fns, func(bt *packet.Batch) error { return b.receive(st, s, bt) })
	}
	for _, f := range stdFns {
		fns = append(fns, func(bt *packet.Batch) error {
			err := f(bt)
			b.rxSocket.Add(uint64(bt.N))
			return err
		})
	}
	b.st = st
	return fns, actual, nil
}

func (st *state) openXDP(ifname, mode string, mark uint32) error {
	iface, err := net.InterfaceByName(ifname)
	if err != nil {
		return fmt.Errorf("xdp: interface %s: %w", ifname, err)
	}
	st.ifindex, st.mtu = iface.Index, iface.MTU
	if len(iface.HardwareAddr) != 6 {
		return fmt.Errorf("%w: %s is not an Ethernet interface", ErrNotSupported, ifname)
	}
	copy(st.mac[:], iface.HardwareAddr)
	// Copy mode puts received data XDP_PACKET_HEADROOM into the frame.
	switch frame := iface.MTU + ethLen; {
	case frame <= 2048-unix.XDP_PACKET_HEADROOM:
		st.frameSize = 2048
	case frame <= 4096-unix.XDP_PACKET_HEADROOM:
		st.frameSize = 4096
	default:
		return fmt.Errorf("%w: MTU %d of %s needs multi-buffer frames", ErrNotSupported, iface.MTU, ifname)
	}
	queues := rxQueues(ifname)

	if st.xsks, err = newXSKMap(queues); err != nil {
		return fmt.Errorf("%w: %w", ErrNotSupported, err)
	}
	for q := range queues {
		s, err := newSocket(socketConfig{frameSize: st.frameSize, rxFrames: rxFrames, txFrames: txFrames,
			ifindex: st.ifindex, queueID: q})
		if err != nil {
			return fmt.Errorf("%w: %w", ErrNotSupported, err)
		}
		st.socks = append(st.socks, s)
		if err := st.xsks.Put(uint32(q), uint32(s.fd)); err != nil {
			return fmt.Errorf("%w: xdp: XSKMAP put queue %d: %w", ErrNotSupported, q, err)
		}
	}
	if st.prog, err = newProgram(st.xsks, st.port, st.frameSize-unix.XDP_PACKET_HEADROOM); err != nil {
		return fmt.Errorf("%w: %w", ErrNotSupported, err)
	}
	attach := func(flags link.XDPAttachFlags) error {
		l, err := link.AttachXDP(link.XDPOptions{Program: st.prog, Interface: st.ifindex, Flags: flags})
		if err != nil {
			return err
		}
		st.link = l
		return nil
	}
	switch mode {
	case ModeNative:
		err, st.mode = attach(link.XDPDriverMode), ModeNative
	case ModeGeneric:
		err, st.mode = attach(link.XDPGenericMode), ModeGeneric
	default:
		// Native fails on veth with ENOSPC (fewer rx queues than the
		// peer's tx queues) or ERANGE (MTU); generic always works.
		if err, st.mode = attach(link.XDPDriverMode), ModeNative; err != nil {
			err, st.mode = attach(link.XDPGenericMode), ModeGeneric
		}
	}
	if err != nil {
		return fmt.Errorf("%w: xdp: attach to %s (%s): %w", ErrNotSupported, ifname, mode, err)
	}
	if st.neigh, err = newNeighbors(st.ifindex, mark); err != nil {
		return err
	}
	if st.efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return fmt.Errorf("xdp: eventfd: %w", err)
	}
	return nil
}

// close wakes the receive functions, waits until none is inside a ring,
// and releases everything. The program goes first, so the kernel stack
// (and the UDP sockets, until they close) takes the traffic back.
func (st *state) close() error {
	st.closed.Store(true)
	var one [8]byte
	one[0] = 1
	if st.efd >= 0 {
		unix.Write(st.efd, one[:])
	}
	var errs []error
	if st.link != nil {
		errs = append(errs, st.link.Close())
	}
	for _, s := range st.socks {
		s.rxMu.Lock()
		s.txMu.Lock()
		errs = append(errs, s.close())
		s.txMu.Unlock()
		s.rxMu.Unlock()
	}
	if st.prog != nil {
		st.prog.Close()
	}
	if st.xsks != nil {
		st.xsks.Close()
	}
	if st.neigh != nil {
		st.neigh.close()
	}
	if st.efd >= 0 {
		unix.Close(st.efd)
	}
	errs = append(errs, st.std.Close())
	return errors.Join(errs...)
}

// Close implements conn.Bind: the program is detached, the receive
// functions return net.ErrClosed, and the Bind may be opened again.
func (b *Bind) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.st == nil {
		return nil
	}
	err := b.st.close()
	b.st = nil
	return err
}

// SetMark implements conn.Bind: the mark goes on the UDP sockets and into
// the route lookups of the XDP path, so policy routing by mark (wg-quick's
// full tunnel) picks the same way out for both.
func (b *Bind) SetMark(mark uint32) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mark = mark
	if b.st == nil {
		return nil
	}
	b.st.neigh.setMark(mark)
	return b.st.std.SetMark(mark)
}

// ParseEndpoint implements conn.Bind.
func (b *Bind) ParseEndpoint(s string) (conn.Endpoint, error) { return conn.ParseEndpoint(s) }

// BatchSize implements conn.Bind.
func (b *Bind) BatchSize() int { return conn.StdBatchSize }

// receive fills bt from s's rx ring, blocking in poll until a datagram
// arrives or the Bind closes. Frames go back to the fill ring as soon as
// their payload is copied out.
func (b *Bind) receive(st *state, s *socket, bt *packet.Batch) error {
	s.rxMu.Lock()
	defer s.rxMu.Unlock()
	bt.N = 0
	fds := s.pollFds[:]
	fds[0] = unix.PollFd{Fd: int32(s.fd), Events: unix.POLLIN}
	fds[1] = unix.PollFd{Fd: int32(st.efd), Events: unix.POLLIN}
	for {
		if st.closed.Load() {
			return net.ErrClosed
		}
		rstart, n := s.rx.peek(uint32(bt.Cap()))
		if n > 0 {
			// The fill ring has room for every rx frame, so this is n.
			fstart, got := s.fill.reserve(n)
			n = min(n, got)
			for i := range n {
				d := s.rx.get(rstart + i)
				s.fill.set(fstart+i, s.umem.base(d.Addr))
				if d.Addr+uint64(d.Len) > uint64(len(s.umem.mem)) {
					continue
				}
				payload, src, dst, ok := parseUDP(s.umem.mem[d.Addr : d.Addr+uint64(d.Len)])
				if !ok || dst.Port() != st.port {
					continue
				}
				slot := bt.Next()
				if len(payload) > len(slot.Room()) {
					continue
				}
				slot.SetLen(copy(slot.Room(), payload))
				slot.Ep = conn.Endpoint{Dst: src, Src: dst.Addr(), IfIndex: int32(st.ifindex)}
				bt.Commit()
			}
			s.rx.release(n)
			s.fill.submit(n)
			if s.fill.needWakeup() {
				wakeRx(s.fd)
			}
			if bt.N > 0 {
				b.rxRing.Add(uint64(bt.N))
				return nil
			}
			continue
		}
		if _, err := unix.Poll(fds, -1); err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("xdp: poll: %w", err)
		}
	}
}

// Send implements conn.Bind. Datagrams go out through the TX ring of one
// of the queues when the destination is reachable through the interface,
// else through the UDP sockets.
func (b *Bind) Send(bt *packet.Batch, ep conn.Endpoint) error {
	if bt.N == 0 {
		return nil
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	st := b.st
	if st == nil {
		return conn.ErrBindClosed
	}
	dst := netip.AddrPortFrom(ep.Dst.Addr().Unmap(), ep.Dst.Port())
	if !st.xdpCanSend(bt, dst) {
		return b.sendSocket(st, bt, ep)
	}
	hop := st.neigh.lookup(dst.Addr(), ep.Src.Unmap(), time.Now())
	if !hop.ok {
		return b.sendSocket(st, bt, ep)
	}
	srcAP := netip.AddrPortFrom(hop.src, st.port)
	s := st.socks[int(st.next.Add(1))%len(st.socks)]
	s.txMu.Lock()
	defer s.txMu.Unlock()
	hl := headerLen(dst.Addr())
	sent, stuck := 0, 0
	for sent < bt.N {
		s.reapLocked()
		start, got := s.tx.reserve(uint32(min(bt.N-sent, len(s.umem.free))))
		if got == 0 {
			if err := s.kickLocked(); err != nil {
				return err
			}
			if stuck++; stuck > 1000 {
				return fmt.Errorf("xdp: tx ring of queue %d stuck", s.queueID)
			}
			if stuck > 10 {
				time.Sleep(10 * time.Microsecond)
			}
			continue
		}
		stuck = 0
		for i := range got {
			addr, _ := s.umem.pop()
			f := s.umem.mem[addr : addr+uint64(st.frameSize)]
			p := bt.Slots[sent].Data()
			copy(f[hl:], p)
			n := buildUDP(f, hop.mac, st.mac, srcAP, dst, len(p))
			s.tx.set(start+i, addr, uint32(n))
			sent++
		}
		s.tx.submit(got)
		if err := s.kickLocked(); err != nil {
			return err
		}
	}
	s.reapLocked()
	b.txRing.Add(uint64(bt.N))
	return nil
}

// xdpCanSend reports whether the batch fits the XDP path: an ordinary
// unicast destination and datagrams that fit one frame and the MTU.
func (st *state) xdpCanSend(bt *packet.Batch, dst netip.AddrPort) bool {
	a := dst.Addr()
	if !a.IsValid() || dst.Port() == 0 || a.Zone() != "" || a.IsLinkLocalUnicast() ||
		a.IsMulticast() || a.IsLoopback() || a.IsUnspecified() {
		return false
	}
	// Bigger than the MTU goes to the socket, which reports EMSGSIZE.
	room := min(st.frameSize-headerLen(a), st.mtu-(headerLen(a)-ethLen))
	for _, sl := range bt.Slots[:bt.N] {
		if sl.Len() > room {
			return false
		}
	}
	return true
}

func (b *Bind) sendSocket(st *state, bt *packet.Batch, ep conn.Endpoint) error {
	err := st.std.Send(bt, ep)
	if err == nil {
		b.txSocket.Add(uint64(bt.N))
	}
	return err
}
