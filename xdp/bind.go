package xdp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
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
// on the interface (no BPF, no AF_XDP, the driver refuses the program or
// multi-buffer XSKs, an MTU too big even for maxFrags frames): the caller
// should use conn.StdNetBind.
var ErrNotSupported = errors.New("xdp: AF_XDP not supported here")

// Attach modes for NewBind.
const (
	ModeAuto    = "auto"    // native if the driver takes it, else generic
	ModeNative  = "native"  // driver mode only
	ModeGeneric = "generic" // skb mode only
)

// Transmit paths for SetTxMode.
const (
	// TxXSK sends every datagram the XDP path can take through the TX
	// ring (the default).
	TxXSK = "xsk"
	// TxSocket sends everything through the UDP sockets (with UDP GSO);
	// only receiving uses the XSKs.
	TxSocket = "socket"
	// TxAuto sends batches the socket can hand to the kernel as UDP GSO
	// sends (at least GSOMinBatch datagrams of one size, the last
	// possibly shorter) through the UDP sockets, and the rest through
	// the TX ring.
	TxAuto = "auto"
)

// GSOMinBatch is the smallest batch TxAuto sends through the UDP socket.
// 2 did no better on veth (generic mode at both ends, 4 alternating
// rounds: daemon CPU per packet or GB 1–8% higher, TCP retransmits alike).
const GSOMinBatch = 8

// UmemFrames is the UMEM size per queue, unless RLIMIT_MEMLOCK makes it
// smaller (memlock.go): half the frames circulate through fill and rx, half
// through tx and completion; 8 MiB at 2048-byte frames. The 2048 rx frames
// absorb a burst while the queue's goroutine is off the CPU: with 1024, a
// receiver on a busy 2-CPU machine found its fill ring empty (1–2% of a
// 64-byte flood dropped, and TCP retransmits: 1, 2, 917 and 40 in four
// 3 s runs, against 0, 1, 0 and 0 with 2048).
const UmemFrames = 4096

// maxFrags is the most frames one packet may span on an interface whose
// MTU needs multi-buffer packets: the kernel's MAX_SKB_FRAGS (17 unless
// the kernel was configured otherwise), which bounds a copy-mode TX packet
// and a received packet alike.
const maxFrags = 17

// Bind is a conn.Bind on one or more interfaces through AF_XDP: on each,
// one XSK per receive queue and an XDP program that redirects UDP to the
// bound port into them; beside them an ordinary UDP socket pair
// (conn.StdNetBind) on the same port. The sockets hold the port so nothing
// else takes it, receive what arrives on other interfaces, and send what
// the XDP path cannot: a destination whose route leaves through an
// interface the Bind is not on or whose neighbor the kernel does not know
// as reachable (the kernel then resolves it), link-local destinations, and
// datagrams too big for a frame. A datagram to a destination the XDP path
// can take leaves through the interface the kernel's route lookup picks.
//
// Everything is opened in the network namespace of the goroutine calling
// Open; Send and the receive functions may then run anywhere.
type Bind struct {
	ifnames []string
	mode    string

	mu     sync.RWMutex // guards st, mark, swCsum and txMode; Send holds it for reading
	st     *state
	mark   uint32
	swCsum bool   // no TX checksum offload
	txMode string // TxAuto, TxXSK or TxSocket

	ctr                []ifaceCounters // per interface, in ifnames' order
	rxSocket, txSocket atomic.Uint64
}

// ifaceCounters count datagrams through one interface's rings, and keep
// the kernel's drop counters of XSKs already closed.
type ifaceCounters struct {
	rx, tx    atomic.Uint64
	rxDiscard atomic.Uint64

	mu     sync.Mutex
	kernel KernelStats
}

var _ conn.Bind = (*Bind)(nil)

// state is one Open's worth of kernel objects.
type state struct {
	port   uint16
	std    *conn.StdNetBind
	ifaces []*iface // in Bind.ifnames' order, which neighbors' hops index
	neigh  *neighbors
	efd    int // written by Close to wake the receive functions' polls
	closed atomic.Bool
}

// iface is the XDP path on one interface.
type iface struct {
	name      string
	ifindex   int
	mac       [6]byte
	frameSize int
	sg        bool // the MTU needs multi-buffer packets (XDP_USE_SG, BPF_F_XDP_HAS_FRAGS)
	mtu       int
	queues    int
	mode      string
	socks     []*socket
	xsks      *ebpf.Map
	prog      *ebpf.Program
	link      link.Link
	ctr       *ifaceCounters
}

// NewBind returns a closed Bind on the interfaces ifnames (at least one,
// no repeats), attaching in mode (ModeAuto, ModeNative or ModeGeneric; ""
// is ModeAuto) when opened.
func NewBind(ifnames []string, mode string) (*Bind, error) {
	switch mode {
	case "":
		mode = ModeAuto
	case ModeAuto, ModeNative, ModeGeneric:
	default:
		return nil, fmt.Errorf("xdp: unknown mode %q (auto, native or generic)", mode)
	}
	if len(ifnames) == 0 {
		return nil, errors.New("xdp: no interface")
	}
	for i, n := range ifnames {
		if slices.Contains(ifnames[:i], n) {
			return nil, fmt.Errorf("xdp: interface %s named twice", n)
		}
		if _, err := net.InterfaceByName(n); err != nil {
			return nil, fmt.Errorf("xdp: interface %s: %w", n, err)
		}
	}
	return &Bind{ifnames: slices.Clone(ifnames), mode: mode, txMode: TxXSK, ctr: make([]ifaceCounters, len(ifnames))}, nil
}

// Stats counts datagrams since NewBind by the path they took.
type Stats struct {
	RxRing, TxRing     uint64 // through the XSKs, all interfaces
	RxSocket, TxSocket uint64 // through the UDP sockets
	Interfaces         []InterfaceStats
}

// InterfaceStats counts the datagrams through one interface's XSKs.
type InterfaceStats struct {
	Name           string
	RxRing, TxRing uint64
	// RxDiscarded counts multi-buffer packets the receive functions
	// dropped: too big for the caller's slot, or a broken chain (and, in
	// generic mode, a GSO packet's datagrams beyond a batch's capacity).
	RxDiscarded uint64
	Kernel      KernelStats
}

// KernelStats are the kernel's counters of an interface's XSKs
// (XDP_STATISTICS), summed over its queues and over every Open.
type KernelStats struct {
	RxDropped    uint64 // no room in the UMEM (the fill ring was empty) or the frame too big
	RxRingFull   uint64 // the rx ring was full: we were too slow
	RxFillEmpty  uint64 // times the kernel found the fill ring empty
	TxRingEmpty  uint64 // times a kick found the tx ring empty
	InvalidDescs uint64 // rx and tx descriptors the kernel refused
}

func (k *KernelStats) add(s unix.XDPStatistics) {
	k.RxDropped += s.Rx_dropped
	k.RxRingFull += s.Rx_ring_full
	k.RxFillEmpty += s.Rx_fill_ring_empty_descs
	k.TxRingEmpty += s.Tx_ring_empty_descs
	k.InvalidDescs += s.Rx_invalid_descs + s.Tx_invalid_descs
}

func (k *KernelStats) sum(o KernelStats) {
	k.RxDropped += o.RxDropped
	k.RxRingFull += o.RxRingFull
	k.RxFillEmpty += o.RxFillEmpty
	k.TxRingEmpty += o.TxRingEmpty
	k.InvalidDescs += o.InvalidDescs
}

// Stats returns the counters.
func (b *Bind) Stats() Stats {
	b.mu.RLock()
	defer b.mu.RUnlock()
	s := Stats{RxSocket: b.rxSocket.Load(), TxSocket: b.txSocket.Load()}
	for i, n := range b.ifnames {
		is := InterfaceStats{Name: n, RxRing: b.ctr[i].rx.Load(), TxRing: b.ctr[i].tx.Load(),
			RxDiscarded: b.ctr[i].rxDiscard.Load()}
		b.ctr[i].mu.Lock()
		is.Kernel = b.ctr[i].kernel
		b.ctr[i].mu.Unlock()
		if b.st != nil && i < len(b.st.ifaces) {
			is.Kernel.sum(b.st.ifaces[i].kernelStats())
		}
		s.RxRing += is.RxRing
		s.TxRing += is.TxRing
		s.Interfaces = append(s.Interfaces, is)
	}
	return s
}

// InterfaceInfo is how the open Bind runs on one interface.
type InterfaceInfo struct {
	Name   string
	Mode   string // attach mode in effect: ModeNative or ModeGeneric
	Queues int    // XSKs, one per receive queue
	Frames int    // UMEM frames per queue: UmemFrames unless RLIMIT_MEMLOCK is tight

	// TxCsumOffload: the kernel took TX metadata, so UDP checksums are
	// left to it (or the device) instead of computed in software.
	TxCsumOffload bool

	// MultiBuffer: the MTU does not fit one frame, so packets may span
	// several (XDP_USE_SG, and the program loaded with
	// BPF_F_XDP_HAS_FRAGS).
	MultiBuffer bool
}

// Interfaces describes the open Bind's interfaces, in the order NewBind was
// given them, or returns nil if the Bind is closed.
func (b *Bind) Interfaces() []InterfaceInfo {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.st == nil {
		return nil
	}
	var r []InterfaceInfo
	for _, ifc := range b.st.ifaces {
		r = append(r, InterfaceInfo{Name: ifc.name, Mode: ifc.mode, Queues: len(ifc.socks), Frames: ifc.socks[0].umem.frames,
			TxCsumOffload: ifc.socks[0].txCsum, MultiBuffer: ifc.sg})
	}
	return r
}

// Open implements conn.Bind. It returns one receive function per queue of
// each interface, then the UDP sockets' receive functions. If any
// interface cannot take the XDP path, Open fails (wrapping ErrNotSupported
// where that is the reason) and nothing stays open.
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
	if err := st.open(b.ifnames, b.ctr, b.mode, b.mark, !b.swCsum); err != nil {
		st.close()
		return nil, 0, err
	}
	var fns []conn.ReceiveFunc
	for _, ifc := range st.ifaces {
		for _, s := range ifc.socks {
			fns = append(fns, func(bt *packet.Batch) error { return st.receive(ifc, s, bt) })
		}
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

// open sets up every interface, with UMEMs sized to fit RLIMIT_MEMLOCK
// together, then the next-hop lookups and the close eventfd.
func (st *state) open(ifnames []string, ctr []ifaceCounters, mode string, mark uint32, txCsum bool) error {
	ifindexes := make([]int, len(ifnames))
	var unit uint64 // one frame of every UMEM
	for i, name := range ifnames {
		ifc := &iface{name: name, ctr: &ctr[i]}
		if err := ifc.probe(); err != nil {
			return err
		}
		st.ifaces = append(st.ifaces, ifc)
		ifindexes[i] = ifc.ifindex
		unit += uint64(ifc.queues * ifc.frameSize)
	}
	frames, err := fitMemlock(unit, UmemFrames)
	if err != nil {
		return err
	}
	for _, ifc := range st.ifaces {
		if err := ifc.open(st.port, mode, frames, txCsum); err != nil {
			return err
		}
	}
	if st.neigh, err = newNeighbors(ifindexes, mark); err != nil {
		return err
	}
	if st.efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return fmt.Errorf("xdp: eventfd: %w", err)
	}
	return nil
}

// kernelStats sums the kernel's counters of the interface's open XSKs.
func (ifc *iface) kernelStats() KernelStats {
	var k KernelStats
	for _, s := range ifc.socks {
		if s.fd < 0 {
			continue
		}
		if st, err := getStatistics(s.fd); err == nil {
			k.add(st)
		}
	}
	return k
}

// probe finds the interface's index, MTU, address and queues, and the
// frame size its MTU needs, and whether one frame is not enough: then
// packets span up to maxFrags 4096-byte frames, and only then, so that
// an interface whose MTU fits one frame keeps the single-buffer program
// and XSKs.
func (ifc *iface) probe() error {
	ni, err := net.InterfaceByName(ifc.name)
	if err != nil {
		return fmt.Errorf("xdp: interface %s: %w", ifc.name, err)
	}
	ifc.ifindex, ifc.mtu = ni.Index, ni.MTU
	if len(ni.HardwareAddr) != 6 {
		return fmt.Errorf("%w: %s is not an Ethernet interface", ErrNotSupported, ifc.name)
	}
	copy(ifc.mac[:], ni.HardwareAddr)
	// Copy mode puts received data XDP_PACKET_HEADROOM into the frame.
	switch frame := ni.MTU + ethLen; {
	case frame <= 2048-unix.XDP_PACKET_HEADROOM:
		ifc.frameSize = 2048
	case frame <= 4096-unix.XDP_PACKET_HEADROOM:
		ifc.frameSize = 4096
	case frame <= maxFrags*(4096-unix.XDP_PACKET_HEADROOM):
		ifc.frameSize, ifc.sg = 4096, true
	default:
		return fmt.Errorf("%w: MTU %d of %s needs more than %d frames", ErrNotSupported, ni.MTU, ifc.name, maxFrags)
	}
	ifc.queues = rxQueues(ifc.name)
	return nil
}

// open attaches the program and opens the XSKs of one interface, with
// UMEMs of frames frames, asking for TX checksum offload if txCsum.
func (ifc *iface) open(port uint16, mode string, frames int, txCsum bool) (err error) {
	if ifc.xsks, err = newXSKMap(ifc.queues); err != nil {
		return fmt.Errorf("%w: %w", ErrNotSupported, err)
	}
	for q := range ifc.queues {
		s, err := newSocket(socketConfig{frameSize: ifc.frameSize, rxFrames: frames / 2, txFrames: frames / 2,
			ifindex: ifc.ifindex, queueID: q, txCsum: txCsum && !noTxCsum, txSwCsum: testTxSwCsum, sg: ifc.sg})
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrNotSupported, ifc.name, err)
		}
		ifc.socks = append(ifc.socks, s)
		if err := ifc.xsks.Put(uint32(q), uint32(s.fd)); err != nil {
			return fmt.Errorf("%w: xdp: %s: XSKMAP put queue %d: %w", ErrNotSupported, ifc.name, q, err)
		}
	}
	// A multi-buffer program passes what is longer than the MTU allows:
	// in generic mode a GSO packet, which the stack segments for the UDP
	// sockets.
	maxLen := ifc.frameSize - unix.XDP_PACKET_HEADROOM
	if ifc.sg {
		maxLen = ifc.mtu + ethLen
	}
	if ifc.prog, err = newProgram(ifc.xsks, port, maxLen, ifc.sg); err != nil {
		return fmt.Errorf("%w: %w", ErrNotSupported, err)
	}
	attach := func(flags link.XDPAttachFlags) error {
		l, err := link.AttachXDP(link.XDPOptions{Program: ifc.prog, Interface: ifc.ifindex, Flags: flags})
		if err != nil {
			return err
		}
		ifc.link = l
		return nil
	}
	switch mode {
	case ModeNative:
		err, ifc.mode = attach(link.XDPDriverMode), ModeNative
	case ModeGeneric:
		err, ifc.mode = attach(link.XDPGenericMode), ModeGeneric
	default:
		// Native fails on veth with ENOSPC (fewer rx queues than the
		// peer's tx queues) or ERANGE (MTU); generic always works.
		if err, ifc.mode = attach(link.XDPDriverMode), ModeNative; err != nil {
			err, ifc.mode = attach(link.XDPGenericMode), ModeGeneric
		}
	}
	if err != nil {
		return fmt.Errorf("%w: xdp: attach to %s (%s): %w", ErrNotSupported, ifc.name, mode, err)
	}
	return nil
}

// close wakes the receive functions, waits until none is inside a ring,
// and releases everything. The programs go first, so the kernel stack
// (and the UDP sockets, until they close) takes the traffic back.
func (st *state) close() error {
	st.closed.Store(true)
	var one [8]byte
	one[0] = 1
	if st.efd >= 0 {
		unix.Write(st.efd, one[:])
	}
	var errs []error
	for _, ifc := range st.ifaces {
		if ifc.link != nil {
			errs = append(errs, ifc.link.Close())
		}
	}
	for _, ifc := range st.ifaces {
		k := ifc.kernelStats()
		ifc.ctr.mu.Lock()
		ifc.ctr.kernel.sum(k)
		ifc.ctr.mu.Unlock()
		for _, s := range ifc.socks {
			s.rxMu.Lock()
			s.waitLentLocked(lendWait)
			s.txMu.Lock()
			errs = append(errs, s.close())
			s.txMu.Unlock()
			s.rxMu.Unlock()
		}
		if ifc.prog != nil {
			ifc.prog.Close()
		}
		if ifc.xsks != nil {
			ifc.xsks.Close()
		}
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

// Close implements conn.Bind: the programs are detached, the receive
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

// SetTxChecksumOffload says whether the next Open asks the kernel to finish
// UDP checksums (AF_XDP TX metadata, the default) or computes them itself.
// Offload needs Linux 6.8 or later; older kernels get software checksums
// either way.
func (b *Bind) SetTxChecksumOffload(on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.swCsum = !on
}

// SetTxMode chooses the transmit path: TxXSK, TxSocket or TxAuto ("" is
// TxXSK). It takes effect at once.
func (b *Bind) SetTxMode(mode string) error {
	switch mode {
	case "":
		mode = TxXSK
	case TxXSK, TxSocket, TxAuto:
	default:
		return fmt.Errorf("xdp: unknown transmit mode %q (xsk, socket or auto)", mode)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.txMode = mode
	return nil
}

// gsoBatch reports whether the socket would send bt as UDP GSO: at least
// GSOMinBatch datagrams, all of one size but for a shorter last one.
func gsoBatch(bt *packet.Batch) bool {
	if bt.N < GSOMinBatch {
		return false
	}
	n := bt.Slots[0].Len()
	for _, sl := range bt.Slots[1 : bt.N-1] {
		if sl.Len() != n {
			return false
		}
	}
	return bt.Slots[bt.N-1].Len() <= n
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
// arrives or the Bind closes. Each datagram is lent to its slot where it
// lies in the UMEM (packet.Slot.Borrow), without a copy; its frame goes
// back to the fill ring at the next call, when the caller is done with it
// (conn.ReceiveFunc's contract). Frames that carry nothing for the caller
// go back at once, or with the lent ones. A multi-buffer packet (a chain of
// descriptors, each but the last marked XDP_PKT_CONTD) is not contiguous,
// so it is copied into the slot's own buffer instead (receiveChain).
func (st *state) receive(ifc *iface, s *socket, bt *packet.Batch) error {
	s.rxMu.Lock()
	defer s.rxMu.Unlock()
	bt.N = 0
	if st.closed.Load() {
		// close may have unmapped the rings; the lent frames need no
		// returning any more.
		s.lent = s.lent[:0]
		return net.ErrClosed
	}
	s.refillLocked()
	fds := s.pollFds[:]
	fds[0] = unix.PollFd{Fd: int32(s.fd), Events: unix.POLLIN}
	fds[1] = unix.PollFd{Fd: int32(st.efd), Events: unix.POLLIN}
	frameSize := uint64(s.umem.frameSize)
	generic := ifc.mode == ModeGeneric
	for {
		if st.closed.Load() {
			return net.ErrClosed
		}
		rstart, n := s.rx.peek(s.rx.size)
		if n > 0 {
			var used uint32
			for used < n && bt.N < bt.Cap() {
				d := s.rx.get(rstart + used)
				if d.Options&unix.XDP_PKT_CONTD != 0 {
					c := st.receiveChain(ifc, s, bt, rstart+used, n-used, generic)
					if c == 0 {
						break
					}
					used += c
					continue
				}
				base := s.umem.base(d.Addr)
				end := d.Addr + uint64(d.Len)
				var (
					frame, payload []byte
					src, dst       netip.AddrPort
					ok             bool
				)
				if end <= uint64(len(s.umem.mem)) && end <= base+frameSize {
					frame = s.umem.mem[base : base+frameSize]
					payload, src, dst, ok = parseUDP(frame[d.Addr-base : end-base])
					ok = ok && dst.Port() == st.port
				}
				seg := len(payload)
				if ok && generic {
					seg = gsoSegment(payload)
				}
				// A GSO packet's datagrams stay together: if they do
				// not fit the batch, they wait for the next call.
				if ok && bt.N > 0 && bt.N+(len(payload)+seg-1)/max(seg, 1) > bt.Cap() {
					break
				}
				used++
				s.lent = append(s.lent, base)
				if !ok {
					continue
				}
				// payload is a reslice of frame, so their capacities
				// differ by its offset in the frame.
				off := cap(frame) - cap(payload)
				ep := conn.Endpoint{Dst: src, Src: dst.Addr(), IfIndex: int32(ifc.ifindex)}
				for o := 0; (o < len(payload) || o == 0) && bt.N < bt.Cap(); o += seg {
					slot := bt.Next()
					if !slot.Borrow(frame, off+o, min(seg, len(payload)-o)) {
						break
					}
					slot.Ep = ep
					bt.Commit()
					if seg == 0 {
						break
					}
				}
			}
			s.rx.release(used)
			if bt.N > 0 {
				ifc.ctr.rx.Add(uint64(bt.N))
				return nil
			}
			s.refillLocked()
			if used == 0 {
				// Only the start of a chain was in view (the kernel
				// publishes whole packets, so this should not happen):
				// look at the producer index again.
				s.rx.refresh()
			}
			continue
		}
		if _, err := unix.Poll(fds, -1); err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("xdp: poll: %w", err)
		}
	}
}

// receiveChain takes the multi-buffer packet whose first descriptor is at
// rx index i, with avail descriptors in view from there: it copies the
// pieces into the next slot's own buffer (the frame placed so that an IPv4
// datagram's payload starts at packet.Headroom, or earlier if the slot is
// short of room behind), hands the datagram (or, in generic mode, a GSO
// packet's datagrams, the rest copied into further slots) to bt, and
// queues the frames for the fill ring. It returns how many descriptors it
// consumed: 0 if the chain is not all in view, or its datagrams do not fit
// the rest of a batch that already holds some, and they wait for the next
// call. A packet too big for the slot, or a broken chain, is consumed and
// counted as discarded. rxMu held.
func (st *state) receiveChain(ifc *iface, s *socket, bt *packet.Batch, i, avail uint32, generic bool) uint32 {
	c := uint32(1)
	for c <= avail && c <= maxFrags && s.rx.get(i+c-1).Options&unix.XDP_PKT_CONTD != 0 {
		c++
	}
	if c > avail {
		return 0
	}
	discard := func() uint32 {
		for k := range c {
			s.lent = append(s.lent, s.umem.base(s.rx.get(i+k).Addr))
		}
		ifc.ctr.rxDiscard.Add(1)
		return c
	}
	if c > maxFrags {
		// maxFrags descriptors, all marked as continued.
		c--
		return discard()
	}
	frameSize := uint64(s.umem.frameSize)
	total := 0
	for k := range c {
		d := s.rx.get(i + k)
		end := d.Addr + uint64(d.Len)
		if end > uint64(len(s.umem.mem)) || end > s.umem.base(d.Addr)+frameSize {
			return discard()
		}
		total += int(d.Len)
	}
	slot := bt.Next()
	buf := slot.Buf[:len(slot.Buf):len(slot.Buf)]
	o := min(packet.Headroom-hdrLen4, len(buf)-total)
	if o < 0 {
		return discard()
	}
	pos := o
	for k := range c {
		d := s.rx.get(i + k)
		pos += copy(buf[pos:], s.umem.mem[d.Addr:d.Addr+uint64(d.Len)])
	}
	payload, src, dst, ok := parseUDP(buf[o:pos])
	ok = ok && dst.Port() == st.port
	seg := len(payload)
	if ok && generic {
		seg = gsoSegment(payload)
	}
	segs := 1
	if seg > 0 {
		segs = (len(payload) + seg - 1) / seg
	}
	if ok && bt.N > 0 && bt.N+segs > bt.Cap() {
		return 0
	}
	for k := range c {
		s.lent = append(s.lent, s.umem.base(s.rx.get(i+k).Addr))
	}
	if !ok {
		return c
	}
	ep := conn.Endpoint{Dst: src, Src: dst.Addr(), IfIndex: int32(ifc.ifindex)}
	slot.SetBounds(len(buf)-cap(payload), min(seg, len(payload)))
	slot.Ep = ep
	bt.Commit()
	for o := seg; seg > 0 && o < len(payload); o += seg {
		next := bt.Next()
		if next == nil || !next.Set(payload[o:min(o+seg, len(payload))]) {
			ifc.ctr.rxDiscard.Add(1)
			break
		}
		next.Ep = ep
		bt.Commit()
	}
	return c
}

// Send implements conn.Bind. Datagrams go out through the TX ring of one
// of the queues of the interface the route to the destination leaves
// through, when the Bind is on it and the neighbor is known, else through
// the UDP sockets.
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
	if b.txMode == TxSocket || b.txMode == TxAuto && gsoBatch(bt) {
		return b.sendSocket(st, bt, ep)
	}
	dst := netip.AddrPortFrom(ep.Dst.Addr().Unmap(), ep.Dst.Port())
	if !xdpCanSendTo(dst) {
		return b.sendSocket(st, bt, ep)
	}
	hop := st.neigh.lookup(dst.Addr(), ep.Src.Unmap(), time.Now())
	if !hop.ok {
		return b.sendSocket(st, bt, ep)
	}
	ifc := st.ifaces[hop.iface]
	if !ifc.fits(bt, dst.Addr()) {
		return b.sendSocket(st, bt, ep)
	}
	srcAP := netip.AddrPortFrom(hop.src, st.port)
	s := ifc.socks[queueFor(dst, len(ifc.socks))]
	s.txMu.Lock()
	defer s.txMu.Unlock()
	hl := headerLen(dst.Addr())
	csumStart := uint16(udpCsumStart(dst.Addr()))
	room := ifc.frameSize - txHeadroom // packet bytes per tx frame
	want := bt.N                       // tx frames (descriptors) still to fill
	if ifc.sg {
		want = 0
		for _, sl := range bt.Slots[:bt.N] {
			want += ifc.txFrames(hl, sl.Len())
		}
	}
	sent, stuck := 0, 0
	for sent < bt.N {
		s.reapLocked()
		// Only whole datagrams go into the ring: count those that
		// fit the descriptors and frames available.
		start, got := s.tx.reserve(uint32(min(want, len(s.umem.free))))
		k, descs := 0, 0
		for sent+k < bt.N {
			f := ifc.txFrames(hl, bt.Slots[sent+k].Len())
			if descs+f > int(got) {
				break
			}
			descs += f
			k++
		}
		if k == 0 {
			if err := s.kickLocked(); err != nil {
				return err
			}
			if stuck++; stuck > 1000 {
				return fmt.Errorf("xdp: tx ring of %s queue %d stuck", ifc.name, s.queueID)
			}
			if stuck > 10 {
				time.Sleep(10 * time.Microsecond)
			}
			continue
		}
		stuck = 0
		idx := start
		for range k {
			base, _ := s.umem.pop()
			f := s.umem.mem[base+txHeadroom : base+uint64(ifc.frameSize)]
			p := bt.Slots[sent].Data()
			if hl+len(p) <= room {
				var opts uint32
				if s.txCsum {
					putTxCsumMeta(s.umem.mem[base+txHeadroom-txMetaLen:base+txHeadroom], csumStart)
					opts = unix.XDP_TX_METADATA
				}
				copy(f[hl:], p)
				n := buildUDP(f, hop.mac, ifc.mac, srcAP, dst, len(p), s.txCsum)
				s.tx.set(idx, base+txHeadroom, uint32(n), opts)
				idx++
			} else {
				buildUDP(f[:hl], hop.mac, ifc.mac, srcAP, dst, len(p), true)
				idx = s.setChainLocked(idx, base, f, p, hl, csumStart)
			}
			sent++
		}
		want -= descs
		s.tx.submit(uint32(descs))
		if err := s.kickLocked(); err != nil {
			return err
		}
	}
	s.reapLocked()
	ifc.ctr.tx.Add(uint64(bt.N))
	return nil
}

// txFrames is how many tx frames a datagram of n bytes behind hl bytes of
// headers takes: one, but for a multi-buffer interface's long datagrams.
func (ifc *iface) txFrames(hl, n int) int {
	if !ifc.sg {
		return 1
	}
	room := ifc.frameSize - txHeadroom
	return (hl + n + room - 1) / room
}

// setChainLocked writes a datagram p longer than one tx frame over several,
// from tx index idx on, and returns the index after its last descriptor:
// the first frame (at base, its packet area f) has the headers in f[:hl]
// (buildUDP's, partial: the UDP check field holds the pseudo-header sum)
// and gets the payload's start, the next frames (from the free stack; the
// caller made sure there are enough) the rest. Every descriptor but the last is
// marked XDP_PKT_CONTD. With checksum offload the first carries the TX
// metadata (the kernel reads it only there); else, and with
// XDP_UMEM_TX_SW_CSUM, the UDP checksum is finished here, over the payload
// where it lies contiguous in its slot: the kernel's software checksum
// runs when the first buffer is in the skb, so it covers that buffer only
// (seen on Linux 6.18: every datagram longer than a frame failed the
// receiver's check). txMu held.
func (s *socket) setChainLocked(idx uint32, base uint64, f, p []byte, hl int, csumStart uint16) uint32 {
	var opts uint32
	if s.txCsum && !s.txSwCsum {
		putTxCsumMeta(s.umem.mem[base+txHeadroom-txMetaLen:base+txHeadroom], csumStart)
		opts = unix.XDP_TX_METADATA
	} else {
		udp := f[hl-udpLen : hl]
		c := ^fold(sum16(p, sum16(udp, 0)))
		if c == 0 {
			c = 0xffff
		}
		binary.BigEndian.PutUint16(udp[udpCsumOffset:], c)
	}
	n := copy(f[hl:], p)
	s.tx.set(idx, base+txHeadroom, uint32(hl+n), opts|unix.XDP_PKT_CONTD)
	idx++
	for p = p[n:]; len(p) > 0; p = p[n:] {
		base, _ = s.umem.pop()
		n = copy(s.umem.mem[base+txHeadroom:base+uint64(s.umem.frameSize)], p)
		var o uint32
		if n < len(p) {
			o = unix.XDP_PKT_CONTD
		}
		s.tx.set(idx, base+txHeadroom, uint32(n), o)
		idx++
	}
	return idx
}

// putTxCsumMeta writes a struct xsk_tx_metadata asking for the UDP
// checksum from csumStart (the UDP header's offset in the frame) on.
func putTxCsumMeta(m []byte, csumStart uint16) {
	binary.NativeEndian.PutUint64(m[0:8], unix.XDP_TXMD_FLAGS_CHECKSUM)
	binary.NativeEndian.PutUint16(m[8:10], csumStart)
	binary.NativeEndian.PutUint16(m[10:12], udpCsumOffset)
}

// Switches for tests and benchmarks: noTxCsum computes UDP checksums in
// software even where TX metadata would offload them; testTxSwCsum has the
// kernel compute the offloaded ones at once, so that a receiver sees them.
var noTxCsum, testTxSwCsum bool

// queueFor picks the TX queue for a destination among n: always the same
// one, so that one peer's datagrams stay in order (with veth the queue is
// also the peer end's receive queue, and each is read by its own
// goroutine), while many peers spread over all queues.
func queueFor(dst netip.AddrPort, n int) int {
	if n == 1 {
		return 0
	}
	a := dst.Addr().As16()
	h := mix64(binary.LittleEndian.Uint64(a[:8]) ^ uint64(dst.Port()))
	h = mix64(h ^ binary.LittleEndian.Uint64(a[8:]))
	return int(h % uint64(n))
}

// mix64 is splitmix64's finalizer: every input bit moves every output bit.
func mix64(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}

// xdpCanSendTo reports whether dst is an ordinary unicast destination the
// XDP path may build frames for.
func xdpCanSendTo(dst netip.AddrPort) bool {
	a := dst.Addr()
	return a.IsValid() && dst.Port() != 0 && a.Zone() == "" && !a.IsLinkLocalUnicast() &&
		!a.IsMulticast() && !a.IsLoopback() && !a.IsUnspecified()
}

// fits reports whether every datagram of the batch fits one frame (or
// maxFrags on a multi-buffer interface) and the interface's MTU. Bigger
// ones go to the socket, which reports EMSGSIZE.
func (ifc *iface) fits(bt *packet.Batch, dst netip.Addr) bool {
	frames := 1
	if ifc.sg {
		frames = maxFrags
	}
	room := min(frames*(ifc.frameSize-txHeadroom)-headerLen(dst), ifc.mtu-(headerLen(dst)-ethLen))
	for _, sl := range bt.Slots[:bt.N] {
		if sl.Len() > room {
			return false
		}
	}
	return true
}

func (b *Bind) sendSocket(st *state, bt *packet.Batch, ep conn.Endpoint) error {
	err := st.std.Send(bt, ep)
	if err == nil || errors.Is(err, conn.ErrSourceRefused) { // sent, without ep.Src
		b.txSocket.Add(uint64(bt.N))
	}
	return err
}
