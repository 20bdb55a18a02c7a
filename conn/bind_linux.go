package conn

// StdNetBind follows wireguard-go's conn/bind_std.go, conn/controlfns_linux.go
// and conn/mark_unix.go (MIT, Copyright (C) 2017-2025 WireGuard LLC): one
// IPv4 and one IPv6 socket on the same port, PKTINFO for sticky sources,
// big socket buffers, SO_MARK. Unlike it, batches are packet.Batch slots
// and the message headers are preallocated, so neither receive nor send
// allocates per batch.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/wgxdp/wgxdp/packet"
)

// StdBatchSize is the number of datagrams one recvmmsg or sendmmsg
// handles in StdNetBind.
const StdBatchSize = packet.MaxBatch

// socketBufferSize is asked for SO_RCVBUF and SO_SNDBUF (7 MiB, as
// wireguard-go); the kernel clamps it to net.core.[rw]mem_max unless the
// FORCE variants succeed (CAP_NET_ADMIN).
const socketBufferSize = 7 << 20

// ErrBindAlreadyOpen is returned by Open on a Bind that is open.
var ErrBindAlreadyOpen = errors.New("conn: bind already open")

// StdNetBind is a Bind over ordinary UDP sockets: an IPv4 and an IPv6
// socket bound to the same port on all addresses. Received datagrams carry
// the local address they were sent to (Endpoint.Src), and Send replies from
// that address when Endpoint.Src is set.
type StdNetBind struct {
	mu   sync.RWMutex // guards the fields below; Send takes it for reading
	v4   *udpSocket
	v6   *udpSocket
	mark uint32
}

var _ Bind = (*StdNetBind)(nil)

type udpSocket struct {
	conn *net.UDPConn
	rc   syscall.RawConn
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
	var (
		v4, v6 *udpSocket
		actual uint16
		err    error
	)
	for tries := 0; ; tries++ {
		actual = port
		v4, actual, err = listenUDP("udp4", port)
		if err != nil && !errors.Is(err, syscall.EAFNOSUPPORT) {
			return nil, 0, err
		}
		if v4 == nil {
			actual = port
		}
		var p6 uint16
		v6, p6, err = listenUDP("udp6", actual)
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
	if b.mark != 0 {
		for _, s := range []*udpSocket{v4, v6} {
			if err := s.setMark(b.mark); err != nil {
				v4.close()
				v6.close()
				return nil, 0, err
			}
		}
	}
	var fns []ReceiveFunc
	if v4 != nil {
		fns = append(fns, newReceiver(v4.rc, StdBatchSize).receive)
	}
	if v6 != nil {
		fns = append(fns, newReceiver(v6.rc, StdBatchSize).receive)
	}
	b.v4, b.v6 = v4, v6
	return fns, actual, nil
}

// listenUDP opens a socket of network ("udp4" or "udp6") on port of all
// addresses, with PKTINFO on, IPV6_V6ONLY for udp6 and big buffers, and
// returns the port bound. A nil socket with a nil error cannot happen.
func listenUDP(network string, port uint16) (*udpSocket, uint16, error) {
	lc := net.ListenConfig{Control: func(network, _ string, c syscall.RawConn) error {
		var err error
		cerr := c.Control(func(fd uintptr) {
			setBuffers(int(fd))
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
func setBuffers(fd int) {
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, socketBufferSize)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, socketBufferSize)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, socketBufferSize)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, socketBufferSize)
}

func (s *udpSocket) close() error {
	if s == nil {
		return nil
	}
	return s.conn.Close()
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
	err := errors.Join(b.v4.close(), b.v6.close())
	b.v4, b.v6 = nil, nil
	return err
}

// SetMark implements Bind: it sets SO_MARK on the open sockets and
// remembers the mark for the next Open. Setting a mark needs CAP_NET_ADMIN.
func (b *StdNetBind) SetMark(mark uint32) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mark = mark
	if err := b.v4.setMark(mark); err != nil {
		return err
	}
	return b.v6.setMark(mark)
}

// ParseEndpoint implements Bind.
func (b *StdNetBind) ParseEndpoint(s string) (Endpoint, error) { return ParseEndpoint(s) }

// BatchSize implements Bind.
func (b *StdNetBind) BatchSize() int { return StdBatchSize }

// Send implements Bind. When ep.Src is set (of ep.Dst's family) the
// datagrams carry an IP_PKTINFO / IPV6_PKTINFO so they leave from that
// address (and ep.IfIndex, if set): the address the peer wrote to. If the
// kernel refuses that source (it is gone, or no route fits it), Send
// retries the rest of the batch with the source left to the kernel; the
// caller should then clear ep.Src, which Send cannot do for it.
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

	var firstErr error
	pkts := bt.Packets()
	for len(pkts) > 0 {
		chunk := pkts[:min(len(pkts), len(s.m.hdrs))]
		pkts = pkts[len(chunk):]
		s.load(chunk, sticky)
		for s.start < s.vlen {
			if err := sock.rc.Write(s.writeFn); err != nil {
				if errors.Is(err, net.ErrClosed) {
					return ErrBindClosed
				}
				return fmt.Errorf("conn: sendmmsg to %v: %w", dst, err)
			}
			switch {
			case s.errno == 0:
				s.start += s.n
			case sticky && stickyRefused(s.errno):
				sticky = false
				s.setControl(s.start, s.vlen, false)
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
	return firstErr
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
