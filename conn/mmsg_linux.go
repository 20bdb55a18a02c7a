// The recvmmsg/sendmmsg plumbing of StdNetBind. Every unsafe use of package
// conn is in this file: message headers point into slot buffers, sockaddrs
// and control messages are read and written in place, so a batch costs no
// allocation.
//
// Sticky-source handling (IP_PKTINFO / IPV6_PKTINFO in and out) follows
// wireguard-go's conn/sticky_linux.go (MIT, Copyright (C) 2017-2025
// WireGuard LLC); unlike it, the source lives in Endpoint.Src/IfIndex as
// values rather than as a saved control message.

package conn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/wgxdp/wgxdp/packet"
)

// oobSize is the control buffer per received message: an IPV6_PKTINFO
// (CmsgSpace(20) = 40 bytes on 64-bit) with room to spare for a UDP_GRO
// segment size once the receive path splits GRO datagrams.
const oobSize = 64

// mmsgs is a vector of message headers, each with one iovec, a sockaddr and
// (for receive) its own control buffer, all allocated once.
type mmsgs struct {
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6
	oob   []byte
}

func newMmsgs(n int, oobPerMsg int) mmsgs {
	m := mmsgs{
		hdrs:  make([]unix.Mmsghdr, n),
		iovs:  make([]unix.Iovec, n),
		names: make([]unix.RawSockaddrInet6, n),
		oob:   make([]byte, n*oobPerMsg),
	}
	for i := range m.hdrs {
		h := &m.hdrs[i].Hdr
		h.Iov = &m.iovs[i]
		h.SetIovlen(1)
	}
	return m
}

// receiver is the state of one ReceiveFunc; it is used by one goroutine.
type receiver struct {
	rc     syscall.RawConn
	m      mmsgs
	vlen   int
	n      int
	errno  unix.Errno
	readFn func(fd uintptr) bool // r.read, bound once so Read does not allocate
}

func newReceiver(rc syscall.RawConn, n int) *receiver {
	r := &receiver{rc: rc, m: newMmsgs(n, oobSize)}
	r.readFn = r.read
	return r
}

// read is the RawConn callback; it returns false to wait for readability.
func (r *receiver) read(fd uintptr) bool {
	for {
		n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd,
			uintptr(unsafe.Pointer(&r.m.hdrs[0])), uintptr(r.vlen), 0, 0, 0)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		r.n, r.errno = int(n), e
		return true
	}
}

// receive implements ReceiveFunc: one recvmmsg into b's slots at their
// headroom. Datagrams too large for a slot are dropped.
func (r *receiver) receive(b *packet.Batch) error {
	vlen := min(b.Cap(), len(r.m.hdrs))
	if vlen == 0 {
		return errors.New("conn: receive into a batch with no slots")
	}
	for {
		for i := range vlen {
			s := b.Slots[i]
			s.Reset()
			room := s.Room()
			if len(room) == 0 {
				return errors.New("conn: receive into a slot with no room")
			}
			r.m.iovs[i].Base = &room[0]
			r.m.iovs[i].SetLen(len(room))
			h := &r.m.hdrs[i]
			h.Hdr.Name = (*byte)(unsafe.Pointer(&r.m.names[i]))
			h.Hdr.Namelen = unix.SizeofSockaddrInet6
			h.Hdr.Control = &r.m.oob[i*oobSize]
			h.Hdr.SetControllen(oobSize)
			h.Hdr.Flags = 0
			h.Len = 0
		}
		r.vlen, r.n, r.errno = vlen, 0, 0
		if err := r.rc.Read(r.readFn); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return net.ErrClosed
			}
			return fmt.Errorf("conn: recvmmsg: %w", err)
		}
		if r.errno != 0 {
			return fmt.Errorf("conn: recvmmsg: %w", r.errno)
		}
		b.N = 0
		for i := range r.n {
			h := &r.m.hdrs[i]
			s := b.Slots[i]
			if h.Hdr.Flags&unix.MSG_TRUNC != 0 || !s.SetLen(int(h.Len)) {
				continue
			}
			s.Ep = Endpoint{Dst: sockaddrToAddrPort(&r.m.names[i])}
			ctl := r.m.oob[i*oobSize : i*oobSize+int(h.Hdr.Controllen)]
			parsePktinfo(ctl, &s.Ep)
			if i != b.N {
				b.Slots[i], b.Slots[b.N] = b.Slots[b.N], b.Slots[i]
			}
			b.N++
		}
		if b.N > 0 {
			return nil
		}
	}
}

// sockaddrToAddrPort decodes a sockaddr_in or sockaddr_in6. The zone of a
// link-local IPv6 sender is not kept as a string (that would allocate); the
// receiving interface is in Endpoint.IfIndex, which Send uses as scope.
func sockaddrToAddrPort(sa *unix.RawSockaddrInet6) netip.AddrPort {
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa4.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port)
	case unix.AF_INET6:
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), port)
	}
	return netip.AddrPort{}
}

// parsePktinfo sets ep.Src and ep.IfIndex from an IP_PKTINFO or
// IPV6_PKTINFO control message in ctl. For IPv4 the source is ipi_spec_dst,
// the local address a reply should come from (as wireguard-go uses it).
func parsePktinfo(ctl []byte, ep *Endpoint) {
	for len(ctl) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&ctl[0]))
		l := int(h.Len)
		if l < unix.SizeofCmsghdr || l > len(ctl) {
			return
		}
		data := ctl[unix.CmsgLen(0):l]
		switch {
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&data[0]))
			ep.Src = netip.AddrFrom4(pi.Spec_dst)
			ep.IfIndex = pi.Ifindex
			return
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			pi := (*unix.Inet6Pktinfo)(unsafe.Pointer(&data[0]))
			ep.Src = netip.AddrFrom16(pi.Addr)
			ep.IfIndex = int32(pi.Ifindex)
			return
		}
		next := unix.CmsgSpace(l - unix.CmsgLen(0))
		if next > len(ctl) {
			return
		}
		ctl = ctl[next:]
	}
}

// sender is the state of one Send call; senders are pooled so concurrent
// Sends need no lock and steady-state sends no allocation.
type sender struct {
	m       mmsgs
	name    unix.RawSockaddrInet6
	namelen uint32
	ctl     [oobSize]byte
	ctllen  int
	vlen    int
	start   int
	n       int
	errno   unix.Errno
	writeFn func(fd uintptr) bool
}

func newSender(n int) *sender {
	s := &sender{m: newMmsgs(n, 0)}
	s.writeFn = s.write
	return s
}

// write is the RawConn callback; it returns false to wait for writability.
func (s *sender) write(fd uintptr) bool {
	for {
		n, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd,
			uintptr(unsafe.Pointer(&s.m.hdrs[s.start])), uintptr(s.vlen-s.start), 0, 0, 0)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		s.n, s.errno = int(n), e
		return true
	}
}

// setDst writes the destination sockaddr. scope is the IPv6 scope id for
// link-local destinations.
func (s *sender) setDst(dst netip.AddrPort, scope uint32) {
	s.name = unix.RawSockaddrInet6{}
	a := dst.Addr()
	if a.Is4() {
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&s.name))
		sa4.Family = unix.AF_INET
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa4.Port))[:], dst.Port())
		sa4.Addr = a.As4()
		s.namelen = unix.SizeofSockaddrInet4
		return
	}
	s.name.Family = unix.AF_INET6
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&s.name.Port))[:], dst.Port())
	s.name.Addr = a.As16()
	s.name.Scope_id = scope
	s.namelen = unix.SizeofSockaddrInet6
}

// setSrc builds the IP_PKTINFO / IPV6_PKTINFO control message that makes
// the kernel send from src (and, if ifindex is set, out of that interface),
// as wireguard-go does with the control message it saved on receive.
func (s *sender) setSrc(src netip.Addr, ifindex int32, is6 bool) {
	s.ctl = [oobSize]byte{}
	h := (*unix.Cmsghdr)(unsafe.Pointer(&s.ctl[0]))
	data := unsafe.Pointer(&s.ctl[unix.CmsgLen(0)])
	if is6 {
		h.Level, h.Type = unix.IPPROTO_IPV6, unix.IPV6_PKTINFO
		h.SetLen(unix.CmsgLen(unix.SizeofInet6Pktinfo))
		pi := (*unix.Inet6Pktinfo)(data)
		pi.Addr = src.As16()
		pi.Ifindex = uint32(ifindex)
		s.ctllen = unix.CmsgSpace(unix.SizeofInet6Pktinfo)
		return
	}
	h.Level, h.Type = unix.IPPROTO_IP, unix.IP_PKTINFO
	h.SetLen(unix.CmsgLen(unix.SizeofInet4Pktinfo))
	pi := (*unix.Inet4Pktinfo)(data)
	pi.Spec_dst = src.As4()
	pi.Ifindex = ifindex
	s.ctllen = unix.CmsgSpace(unix.SizeofInet4Pktinfo)
}

// load points headers [0, len(pkts)) at the packets, the shared sockaddr
// and, if withSrc, the shared control message. Empty packets are sent as
// empty datagrams.
func (s *sender) load(pkts []*packet.Slot, withSrc bool) {
	for i, p := range pkts {
		d := p.Data()
		iov := &s.m.iovs[i]
		if len(d) > 0 {
			iov.Base = &d[0]
		} else {
			iov.Base = nil
		}
		iov.SetLen(len(d))
		h := &s.m.hdrs[i]
		h.Hdr.Name = (*byte)(unsafe.Pointer(&s.name))
		h.Hdr.Namelen = s.namelen
		h.Hdr.Flags = 0
		h.Len = 0
	}
	s.setControl(0, len(pkts), withSrc)
	s.vlen, s.start = len(pkts), 0
}

// setControl attaches (or detaches) the control message on headers [from, to).
func (s *sender) setControl(from, to int, on bool) {
	for i := from; i < to; i++ {
		h := &s.m.hdrs[i].Hdr
		if on {
			h.Control = &s.ctl[0]
			h.SetControllen(s.ctllen)
		} else {
			h.Control = nil
			h.SetControllen(0)
		}
	}
}

// release drops the references to packet buffers before pooling.
func (s *sender) release() {
	for i := range s.vlen {
		s.m.iovs[i].Base = nil
	}
	s.vlen, s.start = 0, 0
}
