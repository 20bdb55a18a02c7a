package conn

// StdNetBind follows wireguard-go's conn/bind_std.go, conn/controlfns_linux.go
// and conn/mark_unix.go (MIT, Copyright (C) 2017-2025 WireGuard LLC): one
// IPv4 and one IPv6 socket on the same port, PKTINFO for sticky sources,
// big socket buffers, SO_MARK. Unlike it, batches are packet.Batch slots
// and the message headers are preallocated, so neither receive nor send
// allocates per batch. UDP GSO and GRO follow wireguard-go's
// conn/bind_std.go, conn/gso_linux.go, conn/features_linux.go and
// conn/errors_linux.go (same licence); unlike it, a GSO send gathers the
// slots with an iovec per datagram instead of copying them into one buffer.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/wgxdp/wgxdp/internal/rtlane"
	"github.com/wgxdp/wgxdp/packet"
)

// StdBatchSize is the number of datagrams one recvmmsg or sendmmsg
// handles in StdNetBind.
const StdBatchSize = packet.MaxBatch

// DefaultSocketBuffer is asked for SO_RCVBUF and SO_SNDBUF (7 MiB, as
// wireguard-go) unless StdNetBind.SocketBuffer or WGXDP_UDP_BUFFER say
// otherwise; the kernel clamps it to net.core.[rw]mem_max unless the FORCE
// variants succeed (CAP_NET_ADMIN).
const DefaultSocketBuffer = 7 << 20

// ErrBindAlreadyOpen is returned by Open on a Bind that is open.
var ErrBindAlreadyOpen = errors.New("conn: bind already open")

// StdNetBind is a Bind over ordinary UDP sockets: an IPv4 and an IPv6
// socket bound to the same port on all addresses. Received datagrams carry
// the local address they were sent to (Endpoint.Src), and Send replies from
// that address when Endpoint.Src is set.
//
// Offloads. Where the kernel has them (Linux ≥ 4.18 for GSO, ≥ 5.0 for
// GRO), Send hands runs of equal-size datagrams to the kernel as one
// UDP_SEGMENT send of up to 64 datagrams (GSO), and the sockets set
// UDP_GRO so that the kernel may deliver many datagrams of a flow as one,
// which the receive functions split again (GRO). Neither changes what the
// peer sees on the wire. A socket whose GSO sends fail with EIO or EINVAL
// (a route through a device without checksum offload, an xfrm policy)
// turns GSO off for good and resends the failed datagrams one by one.
//
// Options are read by Open, so set the fields before it; the environment
// supplies the defaults for a daemon that builds its Bind with
// NewStdNetBind:
//
//	WGXDP_UDP_GSO=0     no UDP_SEGMENT on send       (or DisableGSO)
//	WGXDP_UDP_GRO=0     no UDP_GRO on receive        (or DisableGRO)
//	WGXDP_UDP_SNDBUF=N  SO_SNDBUF alone (same syntax); default 16K, which
//	                    keeps a slow link's qdisc short (DefaultSendBuffer)
//	WGXDP_UDP_BUFFER=N  SO_RCVBUF (and SO_SNDBUF unless WGXDP_UDP_SNDBUF is
//	                    set) bytes, optional K, M or G suffix; default 7M
//
// The switches take package envflag's spellings (0/off/false/no, 1/on/
// true/yes). A bad value counts as unset here; CheckEnv reports it, and
// the daemon refuses to start with it.
type StdNetBind struct {
	// DisableGSO turns UDP segmentation offload off on send.
	DisableGSO bool
	// DisableGRO turns UDP receive coalescing off.
	DisableGRO bool
	// SocketBuffer is the send and receive buffer asked for each socket,
	// in bytes; 0 means WGXDP_UDP_BUFFER or DefaultSocketBuffer.
	SocketBuffer int
	// SendBuffer, if positive, is asked for SO_SNDBUF instead (so is
	// WGXDP_UDP_SNDBUF). A small send buffer makes sends block before a
	// slow link's own queue fills, so the standing queue forms in the
	// device's fq_codel instead of in the kernel's FIFO qdisc.
	SendBuffer int
	// GROBuffers is the number of 64 KiB buffers each GRO receive function
	// reads into per recvmmsg; 0 means 8 (512 KiB per socket).
	GROBuffers int
	// PriorityMax is the largest datagram (UDP payload bytes) steered to
	// the priority socket (see priority_linux.go); 0 means
	// WGXDP_UDP_PRIORITY or DefaultPriorityMax, negative no priority
	// socket.
	PriorityMax int
	// NoRealtime keeps the priority sockets' receive threads at ordinary
	// priority (so does WGXDP_RT=0); see package rtlane.
	NoRealtime bool

	mu   sync.RWMutex // guards the fields below; Send takes it for reading
	v4   *udpSocket
	v6   *udpSocket
	v4p  *udpSocket // priority sockets, nil if none
	v6p  *udpSocket
	wake *rtlane.Waker // ends the priority receivers' realtime waits
	mark uint32
}

var _ Bind = (*StdNetBind)(nil)

type udpSocket struct {
	conn *net.UDPConn
	rc   syscall.RawConn
	// gso is set at Open if UDP_SEGMENT is usable and wanted, and cleared
	// for good by a send error that blames it.
	gso atomic.Bool
	// gro is set at Open if UDP_GRO is on.
	gro bool
	// priority marks the priority socket of the port's group.
	priority bool
	stats    offloadCounters
}

type offloadCounters struct {
	gsoSends, gsoSegments, gsoFallbacks atomic.Uint64
	groDatagrams, groSegments           atomic.Uint64
	received                            atomic.Uint64 // datagrams (segments) read
	rtDemotions                         atomic.Uint64
}

// OffloadStats says which offloads a StdNetBind's open sockets use and
// what they did since Open.
type OffloadStats struct {
	GSO4, GSO6 bool // UDP_SEGMENT in use on the IPv4 / IPv6 socket
	GRO4, GRO6 bool // UDP_GRO on on the IPv4 / IPv6 socket
	// GSOSends counts messages sent with UDP_SEGMENT and GSOSegments the
	// datagrams they held.
	GSOSends, GSOSegments uint64
	// GSOFallbacks counts sockets that turned GSO off after a send error.
	GSOFallbacks uint64
	// GRODatagrams counts coalesced datagrams received and GROSegments
	// the datagrams split out of them.
	GRODatagrams, GROSegments uint64
	// Priority4 and Priority6 say whether a priority socket shares the
	// IPv4 / IPv6 port; PriorityDatagrams counts what they received and
	// Datagrams what all sockets received.
	Priority4, Priority6         bool
	PriorityDatagrams, Datagrams uint64
	// RealtimeDemotions counts the times a priority receiver spent its
	// realtime budget (a flood of small datagrams) and went back to
	// ordinary priority for a while.
	RealtimeDemotions uint64
}

// OffloadStats reports the offload state and counters of the open sockets.
func (b *StdNetBind) OffloadStats() OffloadStats {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var st OffloadStats
	st.Priority4, st.Priority6 = b.v4p != nil, b.v6p != nil
	for _, s := range []*udpSocket{b.v4, b.v6, b.v4p, b.v6p} {
		if s == nil {
			continue
		}
		st.Datagrams += s.stats.received.Load()
		st.RealtimeDemotions += s.stats.rtDemotions.Load()
		if s.priority {
			st.PriorityDatagrams += s.stats.received.Load()
		}
		switch s {
		case b.v4:
			st.GSO4, st.GRO4 = s.gso.Load(), s.gro
		case b.v6:
			st.GSO6, st.GRO6 = s.gso.Load(), s.gro
		}
		st.GSOSends += s.stats.gsoSends.Load()
		st.GSOSegments += s.stats.gsoSegments.Load()
		st.GSOFallbacks += s.stats.gsoFallbacks.Load()
		st.GRODatagrams += s.stats.groDatagrams.Load()
		st.GROSegments += s.stats.groSegments.Load()
	}
	return st
}

// options resolves the fields and the environment into what Open does.
func (b *StdNetBind) options() (gso, gro bool, sockBuf, groBufs int) {
	env, _ := readEnv() // a bad value is the default; see CheckEnv
	gso = !b.DisableGSO && env.gso
	gro = !b.DisableGRO && env.gro
	sockBuf = b.SocketBuffer
	if sockBuf <= 0 {
		sockBuf = env.buffer
	}
	if sockBuf <= 0 {
		sockBuf = DefaultSocketBuffer
	}
	groBufs = b.GROBuffers
	if groBufs <= 0 {
		groBufs = defaultGROBuffers
	}
	return gso, gro, sockBuf, groBufs
}

// NewStdNetBind returns a closed StdNetBind.
func NewStdNetBind() *StdNetBind { return &StdNetBind{} }

var senderPool = sync.Pool{New: func() any { return newSender(StdBatchSize) }}

// Open implements Bind. With port 0 the kernel picks a port for IPv4 and
// IPv6 takes the same one, retrying with a fresh port if it is taken. A
// family the host lacks is skipped; Open fails only if both are missing.
func (b *StdNetBind) Open(port uint16) ([]ReceiveFunc, uint16, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.v4 != nil || b.v6 != nil {
		return nil, 0, ErrBindAlreadyOpen
	}
	wantGSO, wantGRO, sockBuf, groBufs := b.options()
	prio := b.priorityMax()
	var (
		v4, v6 *udpSocket
		actual uint16
		err    error
	)
	for tries := 0; ; tries++ {
		actual = port
		v4, actual, err = listenUDP("udp4", port, sockBuf, b.sendBuffer(sockBuf), false)
		if err != nil && !errors.Is(err, syscall.EAFNOSUPPORT) {
			return nil, 0, err
		}
		if v4 == nil {
			actual = port
		}
		var p6 uint16
		v6, p6, err = listenUDP("udp6", actual, sockBuf, b.sendBuffer(sockBuf), false)
		if v6 != nil {
			actual = p6
		}
		if port == 0 && errors.Is(err, syscall.EADDRINUSE) && tries < 100 {
			v4.close()
			continue
		}
		if err != nil && !errors.Is(err, syscall.EAFNOSUPPORT) {
			v4.close()
			return nil, 0, err
		}
		break
	}
	if v4 == nil && v6 == nil {
		return nil, 0, fmt.Errorf("conn: open port %d: %w", port, syscall.EAFNOSUPPORT)
	}
	// Priority sockets: best effort, the port works without them.
	var v4p, v6p *udpSocket
	if prio > 0 && v4 != nil {
		v4p, _ = openPriority("udp4", actual, v4, prio, sockBuf)
	}
	if prio > 0 && v6 != nil {
		v6p, _ = openPriority("udp6", actual, v6, prio, sockBuf)
	}
	closeAll := func() { closeSockets(v4, v6, v4p, v6p) }
	if b.mark != 0 {
		for _, s := range []*udpSocket{v4, v6, v4p, v6p} {
			if err := s.setMark(b.mark); err != nil {
				closeAll()
				return nil, 0, err
			}
		}
	}
	var wake *rtlane.Waker
	rt := (v4p != nil || v6p != nil) && !b.NoRealtime && rtlane.Enabled()
	if rt {
		wake = rtlane.NewWaker()
	}
	var fns []ReceiveFunc
	for _, s := range []*udpSocket{v4, v4p, v6, v6p} {
		if s == nil {
			continue
		}
		s.probeOffloads(wantGSO && !s.priority, wantGRO)
		n := 0
		if s.gro {
			n = groBufs
			if s.priority {
				n = min(n, priorityGROBuffers)
			}
		}
		r := newReceiver(s, StdBatchSize, n)
		if s.priority && rt {
			r.rt = rtlane.New(&s.stats.rtDemotions, wake)
		}
		fns = append(fns, r.receive)
	}
	b.v4, b.v6, b.v4p, b.v6p, b.wake = v4, v6, v4p, v6p, wake
	return fns, actual, nil
}

// listenUDP opens a socket of network ("udp4" or "udp6") on port of all
// addresses, with PKTINFO on, IPV6_V6ONLY for udp6, big buffers and, if
// reuse, SO_REUSEPORT (the priority socket), and returns the port
// bound. A nil socket with a nil error cannot happen.
func listenUDP(network string, port uint16, sockBuf, sndBuf int, reuse bool) (*udpSocket, uint16, error) {
	lc := net.ListenConfig{Control: func(network, _ string, c syscall.RawConn) error {
		var err error
		cerr := c.Control(func(fd uintptr) {
			setBuffers(int(fd), sockBuf, sndBuf)
			if reuse {
				err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
				if err != nil {
					return
				}
			}
			// Receive times, for the CoDel on the receive buffer
			// (device); a kernel before 5.1 lacks the option: no times.
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_NEW, 1)
			if network == "udp4" {
				err = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
				return
			}
			err = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
			if err == nil {
				err = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1)
			}
		})
		return errors.Join(cerr, err)
	}}
	pc, err := lc.ListenPacket(context.Background(), network, ":"+strconv.Itoa(int(port)))
	if err != nil {
		return nil, 0, fmt.Errorf("conn: listen %s port %d: %w", network, port, err)
	}
	uc := pc.(*net.UDPConn)
	rc, err := uc.SyscallConn()
	if err != nil {
		uc.Close()
		return nil, 0, fmt.Errorf("conn: %s: %w", network, err)
	}
	return &udpSocket{conn: uc, rc: rc}, uint16(uc.LocalAddr().(*net.UDPAddr).Port), nil
}

// setBuffers raises the socket buffers, beyond [rw]mem_max where allowed;
// failure only costs throughput on fast or long links, so it is silent.
func setBuffers(fd, size, snd int) {
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, size)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, snd)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, snd)
}

// DefaultSendBuffer is SO_SNDBUF unless SendBuffer or WGXDP_UDP_SNDBUF say
// otherwise. It is small on purpose: sends block while the packets already
// handed to the kernel leave, so on a slow link the queue stays in the
// device's fq_codel rather than in the qdisc (measured through a 50 Mbit/s
// tbf with a 1 MB limit: ping p99 under a cubic upload 8–14 ms with 8–32
// KiB, 166 ms with 7 MiB). With UDP GSO one send still carries up to 64
// KiB, and over veth throughput was the same as with 7 MiB. Raise it for
// very fast NICs if sends show up as the bottleneck.
const DefaultSendBuffer = 16 << 10

// sendBuffer is SO_SNDBUF's size: SendBuffer, WGXDP_UDP_SNDBUF, or
// DefaultSendBuffer — or SocketBuffer / WGXDP_UDP_BUFFER when only those
// are set, as before.
func (b *StdNetBind) sendBuffer(sockBuf int) int {
	if b.SendBuffer > 0 {
		return b.SendBuffer
	}
	env, _ := readEnv()
	if env.sndBuf > 0 {
		return env.sndBuf
	}
	if b.SocketBuffer > 0 || env.buffer > 0 {
		return sockBuf
	}
	return DefaultSendBuffer
}

// probeOffloads turns on what the kernel supports of the wanted offloads:
// UDP_SEGMENT is usable if the socket option exists (as wireguard-go's
// supportsUDPOffload checks), UDP_GRO if setting it sticks.
func (s *udpSocket) probeOffloads(wantGSO, wantGRO bool) {
	_ = s.rc.Control(func(fd uintptr) {
		if wantGSO {
			_, err := unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT)
			s.gso.Store(err == nil)
		}
		if wantGRO && unix.SetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_GRO, 1) == nil {
			v, err := unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_GRO)
			s.gro = err == nil && v == 1
		}
	})
}

func (s *udpSocket) close() error {
	if s == nil {
		return nil
	}
	return s.conn.Close()
}

// closeSockets closes the non-nil sockets and joins their errors.
func closeSockets(socks ...*udpSocket) error {
	var errs []error
	for _, s := range socks {
		errs = append(errs, s.close())
	}
	return errors.Join(errs...)
}

func (s *udpSocket) setMark(mark uint32) error {
	if s == nil {
		return nil
	}
	var err error
	if cerr := s.rc.Control(func(fd uintptr) {
		err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MARK, int(mark))
	}); cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("conn: set SO_MARK %#x: %w", mark, err)
	}
	return nil
}

// Close implements Bind. Receive functions return net.ErrClosed; the Bind
// may be opened again (on any port) and keeps its mark.
func (b *StdNetBind) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Wake the realtime receivers first: closing a socket waits for a read
	// in progress, which would otherwise wait out its poll timeout.
	b.wake.Wake()
	err := closeSockets(b.v4, b.v6, b.v4p, b.v6p)
	b.wake.Close()
	b.v4, b.v6, b.v4p, b.v6p, b.wake = nil, nil, nil, nil, nil
	return err
}

// SetMark implements Bind: it sets SO_MARK on the open sockets and
// remembers the mark for the next Open. Setting a mark needs CAP_NET_ADMIN.
func (b *StdNetBind) SetMark(mark uint32) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mark = mark
	for _, s := range []*udpSocket{b.v4, b.v6, b.v4p, b.v6p} {
		if err := s.setMark(mark); err != nil {
			return err
		}
	}
	return nil
}

// ParseEndpoint implements Bind.
func (b *StdNetBind) ParseEndpoint(s string) (Endpoint, error) { return ParseEndpoint(s) }

// BatchSize implements Bind.
func (b *StdNetBind) BatchSize() int { return StdBatchSize }

// Send implements Bind. When ep.Src is set (of ep.Dst's family) the
// datagrams carry an IP_PKTINFO / IPV6_PKTINFO so they leave from that
// address (and ep.IfIndex, if set): the address the peer wrote to. If the
// kernel refuses that source (it is gone, or no route fits it), Send
// retries the rest of the batch with the source left to the kernel and,
// if all went out, returns an error wrapping ErrSourceRefused: the caller
// should then clear ep.Src, which Send cannot do for it.
//
// With GSO on, each run of equal-size datagrams (the last may be shorter)
// goes as one UDP_SEGMENT message of up to 64 datagrams and 64 KiB, and
// the messages of the batch go in one sendmmsg. A run the kernel refuses
// as a whole is resent datagram by datagram (and GSO turned off for good
// if the error says it cannot work; OffloadStats counts that), so the
// caller sees the same result either way.
//
// A datagram too big for the path (EMSGSIZE) is skipped and reported after
// the rest of the batch is sent; any other error ends the Send.
func (b *StdNetBind) Send(bt *packet.Batch, ep Endpoint) error {
	if bt.N == 0 {
		return nil
	}
	dst := netip.AddrPortFrom(ep.Dst.Addr().Unmap(), ep.Dst.Port())
	if !dst.Addr().IsValid() || dst.Port() == 0 {
		return fmt.Errorf("conn: send to invalid endpoint %v", ep.Dst)
	}
	is6 := dst.Addr().Is6()
	b.mu.RLock()
	sock, open := b.v4, b.v4 != nil || b.v6 != nil
	if is6 {
		sock = b.v6
	}
	b.mu.RUnlock()
	if !open {
		return ErrBindClosed
	}
	if sock == nil {
		return fmt.Errorf("conn: send to %v: %w", dst, syscall.EAFNOSUPPORT)
	}

	s := senderPool.Get().(*sender)
	defer func() {
		s.release()
		senderPool.Put(s)
	}()
	var scope uint32
	if is6 && dst.Addr().Zone() != "" {
		scope = zoneIndex(dst.Addr().Zone())
	} else if is6 && dst.Addr().IsLinkLocalUnicast() {
		scope = uint32(ep.IfIndex)
	}
	s.setDst(dst, scope)
	src := ep.Src.Unmap()
	sticky := src.IsValid() && !src.IsUnspecified() && src.Is6() == is6
	if sticky {
		s.setSrc(src, ep.IfIndex, is6)
	}

	maxPayload := maxIPv4Payload
	if is6 {
		maxPayload = maxIPv6Payload
	}
	var firstErr error
	refused := false
	pkts := bt.Packets()
	for len(pkts) > 0 {
		chunk := pkts[:min(len(pkts), len(s.m.hdrs))]
		pkts = pkts[len(chunk):]
		s.load(chunk, sticky, len(chunk) > 1 && sock.gso.Load(), maxPayload)
		for s.start < s.vlen {
			if err := sock.rc.Write(s.writeFn); err != nil {
				if errors.Is(err, net.ErrClosed) {
					return ErrBindClosed
				}
				return fmt.Errorf("conn: sendmmsg to %v: %w", dst, err)
			}
			gsoMsg := s.errno != 0 && s.segSize[s.start] > 0
			switch {
			case s.errno == 0:
				if m, n := s.segments(s.start, s.start+s.n); m > 0 {
					sock.stats.gsoSends.Add(m)
					sock.stats.gsoSegments.Add(n)
				}
				s.start += s.n
			case sticky && stickyRefused(s.errno):
				// Blame the source first: refused sources are common
				// (addresses come and go), GSO failures rare. If
				// GSO was to blame, the retry fails again and the next
				// case turns it off.
				sticky, refused = false, true
				s.setControl(s.start, s.vlen, false)
			case gsoMsg && gsoBroken(s.errno):
				if sock.gso.CompareAndSwap(true, false) {
					sock.stats.gsoFallbacks.Add(1)
				}
				if refused {
					// Refused without the source too: GSO was to
					// blame, the source may be fine. Try it again.
					sticky, refused = true, false
				}
				s.load(chunk[s.first[s.start]:], sticky, false, maxPayload)
			case gsoMsg && s.errno == unix.EMSGSIZE:
				// The segments exceed the path MTU; sent one by one
				// the kernel may fragment them, or reports which ones
				// are too big. GSO stays on for the next batch.
				s.load(chunk[s.first[s.start]:], sticky, false, maxPayload)
			case s.errno == unix.EMSGSIZE:
				if firstErr == nil {
					firstErr = fmt.Errorf("conn: sendmmsg to %v: %w", dst, s.errno)
				}
				s.start++
			default:
				return fmt.Errorf("conn: sendmmsg to %v: %w", dst, s.errno)
			}
		}
	}
	if firstErr == nil && refused {
		return fmt.Errorf("conn: send to %v from %v: %w", dst, src, ErrSourceRefused)
	}
	return firstErr
}

// gsoBroken reports whether errno from a UDP_SEGMENT send means GSO cannot
// work on this socket: EIO when the route's device lacks checksum offload
// or an xfrm policy applies (udp_send_skb), EINVAL for what else the
// kernel refuses in a segmented send.
func gsoBroken(errno unix.Errno) bool {
	return errno == unix.EIO || errno == unix.EINVAL
}

// stickyRefused reports whether errno is how the kernel refuses a PKTINFO
// source or interface: the address is no longer local, the interface is
// gone, or no route leaves that interface for the destination.
func stickyRefused(errno unix.Errno) bool {
	switch errno {
	case unix.EINVAL, unix.EADDRNOTAVAIL, unix.ENODEV, unix.ENETUNREACH, unix.EHOSTUNREACH:
		return true
	}
	return false
}

// zoneIndex resolves an IPv6 zone (an interface name or number); endpoints
// with zones come from configuration, not the data path.
func zoneIndex(zone string) uint32 {
	if n, err := strconv.ParseUint(zone, 10, 32); err == nil {
		return uint32(n)
	}
	if ifi, err := net.InterfaceByName(zone); err == nil {
		return uint32(ifi.Index)
	}
	return 0
}
