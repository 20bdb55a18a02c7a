// The recvmmsg/sendmmsg plumbing of StdNetBind. Every unsafe use of package
// conn is in this file: message headers point into slot buffers, sockaddrs
// and control messages are read and written in place, so a batch costs no
// allocation.
//
// GSO: a message gathers a run of slots with one iovec each and carries a
// UDP_SEGMENT control message; the kernel sends the run as one datagram
// and cuts it back into the original datagrams (in the stack, or in the
// NIC). GRO: the receiver reads into its own 64 KiB buffers and copies each
// segment of a coalesced datagram into a slot. The control message layout
// follows wireguard-go's conn/gso_linux.go (MIT, Copyright (C) 2017-2025
// WireGuard LLC).
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

	"github.com/wgxdp/wgxdp/internal/rtlane"
	"github.com/wgxdp/wgxdp/packet"
)

// oobSize is the control buffer per received message: an IPV6_PKTINFO
// (CmsgSpace(20) = 40 bytes on 64-bit), a UDP_GRO segment size
// (CmsgSpace(4) = 24) and an SO_TIMESTAMPNS_NEW (CmsgSpace(16) = 32), with
// room to spare.
const oobSize = 128

// sendOOBSize is the control buffer per sent message: an IPV6_PKTINFO
// (40 bytes) and a UDP_SEGMENT (CmsgSpace(2) = 16).
const sendOOBSize = 64

// mmsgs is a vector of message headers, each with (by default) one iovec,
// a sockaddr and its own control buffer, all allocated once.
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
//
// Without GRO, recvmmsg lands each datagram in a slot at its headroom.
// With GRO the kernel may deliver up to 64 KiB of coalesced datagrams in
// one, so recvmmsg reads into the receiver's own 64 KiB buffers and each
// segment is lent, where it lies, to a slot of the caller's
// (packet.Slot.Borrow): no copy, and valid until the next call. Segments
// that do not fit the caller's batch stay pending in those buffers for the
// next call, and recvmmsg overwrites the buffers only in a call that has
// handed out nothing before it.
type receiver struct {
	rc     syscall.RawConn
	sock   *udpSocket
	m      mmsgs
	vlen   int
	n      int
	errno  unix.Errno
	readFn func(fd uintptr) bool // r.read, bound once so Read does not allocate

	// GRO mode only.
	gro  bool
	bufs []byte     // len(m.hdrs) buffers of groBufferSize
	dg   []datagram // what the last recvmmsg returned
	got  int        // datagrams in dg
	next int        // first datagram in dg not fully handed out
	off  int        // bytes of dg[next] already handed out

	// rt is the priority socket's realtime lane (package rtlane); the
	// zero Lane, off, for the others.
	rt rtlane.Lane
}

// datagram is one message of a GRO receive, possibly coalesced.
type datagram struct {
	n   int // bytes, or -1 if truncated (dropped)
	seg int // UDP_GRO segment size, 0 if not coalesced
	ep  Endpoint
	rx  int64 // kernel receive time, Unix ns; 0 unknown
}

// newReceiver makes a receiver for up to n datagrams per call into the
// caller's slots, or, if groBufs > 0, one that reads coalesced datagrams
// into groBufs buffers of its own.
func newReceiver(sock *udpSocket, n, groBufs int) *receiver {
	r := &receiver{rc: sock.rc, sock: sock}
	if groBufs > 0 {
		r.gro = true
		r.m = newMmsgs(groBufs, oobSize)
		r.bufs = make([]byte, groBufs*groStride)
		r.dg = make([]datagram, groBufs)
		for i := range r.m.iovs {
			r.m.iovs[i].Base = &r.bufs[i*groStride+groHeadroom]
			r.m.iovs[i].SetLen(groBufferSize)
		}
	} else {
		r.m = newMmsgs(n, oobSize)
	}
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
			if !r.rt.On() {
				return false // park in the netpoller
			}
			// Realtime: wait on this thread. On a timeout, report
			// nothing read, so that recvmmsg's caller checks for Close.
			if r.rt.Wait(fd) {
				continue
			}
			r.n, r.errno = 0, 0
			return true
		}
		r.n, r.errno = int(n), e
		return true
	}
}

// prepare resets headers [0, vlen) for a receive: sockaddr and control
// buffers, flags and lengths. Iovecs are the caller's business.
func (r *receiver) prepare(vlen int) {
	for i := range vlen {
		h := &r.m.hdrs[i]
		h.Hdr.Name = (*byte)(unsafe.Pointer(&r.m.names[i]))
		h.Hdr.Namelen = unix.SizeofSockaddrInet6
		h.Hdr.Control = &r.m.oob[i*oobSize]
		h.Hdr.SetControllen(oobSize)
		h.Hdr.Flags = 0
		h.Len = 0
	}
	r.vlen, r.n, r.errno = vlen, 0, 0
}

// recvmmsg runs one prepared receive, blocking until a datagram is there.
func (r *receiver) recvmmsg() error {
	if err := r.rc.Read(r.readFn); err != nil {
		if errors.Is(err, net.ErrClosed) {
			return net.ErrClosed
		}
		return fmt.Errorf("conn: recvmmsg: %w", err)
	}
	if r.errno != 0 {
		return fmt.Errorf("conn: recvmmsg: %w", r.errno)
	}
	return nil
}

// control returns the control messages the kernel wrote for message i.
func (r *receiver) control(i int) []byte {
	return r.m.oob[i*oobSize : i*oobSize+min(int(r.m.hdrs[i].Hdr.Controllen), oobSize)]
}

// receive implements ReceiveFunc: one recvmmsg into b's slots at their
// headroom (or, with GRO, into the receiver's buffers; see receiveGRO).
// Datagrams too large for a slot are dropped.
func (r *receiver) receive(b *packet.Batch) error {
	if r.gro {
		return r.receiveGRO(b)
	}
	vlen := min(b.Cap(), len(r.m.hdrs))
	if vlen == 0 {
		return errors.New("conn: receive into a batch with no slots")
	}
	for {
		// Each round: a realtime wait that timed out comes back here,
		// and the lane may rest (rtlane.IdleAfter).
		r.rt.Enter()
		for i := range vlen {
			s := b.Slots[i]
			s.Reset()
			room := s.Room()
			if len(room) == 0 {
				return errors.New("conn: receive into a slot with no room")
			}
			r.m.iovs[i].Base = &room[0]
			r.m.iovs[i].SetLen(len(room))
		}
		r.prepare(vlen)
		if err := r.recvmmsg(); err != nil {
			return err
		}
		b.N = 0
		for i := range r.n {
			h := &r.m.hdrs[i]
			s := b.Slots[i]
			if h.Hdr.Flags&unix.MSG_TRUNC != 0 || !s.SetLen(int(h.Len)) {
				continue
			}
			s.Ep = Endpoint{Dst: sockaddrToAddrPort(&r.m.names[i])}
			parseControl(r.control(i), &s.Ep, &s.RxTime)
			s.Express = r.sock.priority
			if i != b.N {
				b.Slots[i], b.Slots[b.N] = b.Slots[b.N], b.Slots[i]
			}
			b.N++
		}
		if b.N > 0 {
			r.sock.stats.received.Add(uint64(b.N))
			r.rt.Account(b.N)
			return nil
		}
	}
}

// receiveGRO hands out pending segments, and when none are left reads up
// to len(r.m.hdrs) datagrams into the receiver's buffers and hands those
// out: each segment of a coalesced datagram goes into the next slot at its
// headroom, with the datagram's endpoint. It returns once b has at least
// one datagram; what does not fit b waits for the next call.
func (r *receiver) receiveGRO(b *packet.Batch) error {
	if b.Cap() == 0 {
		return errors.New("conn: receive into a batch with no slots")
	}
	for {
		r.rt.Enter() // each round, as in receive
		b.N = 0
		r.fill(b)
		if b.N > 0 {
			r.sock.stats.received.Add(uint64(b.N))
			r.rt.Account(b.N)
			return nil
		}
		r.prepare(len(r.m.hdrs))
		if err := r.recvmmsg(); err != nil {
			return err
		}
		var coalesced, segs uint64
		for i := range r.n {
			h := &r.m.hdrs[i]
			d := &r.dg[i]
			*d = datagram{n: int(h.Len)}
			if h.Hdr.Flags&unix.MSG_TRUNC != 0 {
				d.n = -1
				continue
			}
			d.ep.Dst = sockaddrToAddrPort(&r.m.names[i])
			d.seg = parseControl(r.control(i), &d.ep, &d.rx)
			if d.seg > 0 && d.n > d.seg {
				coalesced++
				segs += uint64((d.n + d.seg - 1) / d.seg)
			}
		}
		if coalesced > 0 {
			r.sock.stats.groDatagrams.Add(coalesced)
			r.sock.stats.groSegments.Add(segs)
		}
		r.got, r.next, r.off = r.n, 0, 0
	}
}

// fill lends pending segments to b's free slots until b is full or
// nothing is pending. A segment larger than its slot's own room is
// dropped.
func (r *receiver) fill(b *packet.Batch) {
	for r.next < r.got {
		d := &r.dg[r.next]
		if d.n <= 0 {
			if d.n == 0 { // an empty datagram is a datagram
				if b.N == b.Cap() {
					return
				}
				s := b.Slots[b.N]
				s.Reset()
				s.Ep, s.RxTime = d.ep, d.rx
				s.Express = r.sock.priority
				b.N++
			}
			r.next++
			continue
		}
		buf := r.bufs[r.next*groStride : r.next*groStride+groHeadroom+d.n]
		for r.off < d.n {
			if b.N == b.Cap() {
				return
			}
			end := nextSegment(r.off, d.n, d.seg)
			s := b.Slots[b.N]
			s.Reset()
			// In place: no copy. The segment's headroom is the tail of
			// the one before it (or the buffer's groHeadroom). One that
			// would not fit the slot is dropped, as it would be without
			// GRO (truncated).
			if end-r.off <= len(s.Room()) {
				s.Borrow(buf[r.off:groHeadroom+end], groHeadroom, end-r.off)
				s.Ep, s.RxTime = d.ep, d.rx
				s.Express = r.sock.priority
				b.N++
			}
			r.off = end
		}
		r.next++
		r.off = 0
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

// parseControl sets ep.Src and ep.IfIndex from an IP_PKTINFO or
// IPV6_PKTINFO control message in ctl, *rx from an SO_TIMESTAMPNS_NEW
// one (0 without), and returns the segment size of a UDP_GRO control
// message (0 if there is none). For IPv4 the source is ipi_spec_dst, the
// local address a reply should come from (as wireguard-go uses it).
func parseControl(ctl []byte, ep *Endpoint, rx *int64) (segSize int) {
	*rx = 0
	for len(ctl) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&ctl[0]))
		l := int(h.Len)
		if l < unix.SizeofCmsghdr || l > len(ctl) {
			return segSize
		}
		data := ctl[unix.CmsgLen(0):l]
		switch {
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			pi := (*unix.Inet4Pktinfo)(unsafe.Pointer(&data[0]))
			ep.Src = netip.AddrFrom4(pi.Spec_dst)
			ep.IfIndex = pi.Ifindex
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			pi := (*unix.Inet6Pktinfo)(unsafe.Pointer(&data[0]))
			ep.Src = netip.AddrFrom16(pi.Addr)
			ep.IfIndex = int32(pi.Ifindex)
		case h.Level == unix.SOL_UDP && h.Type == unix.UDP_GRO && len(data) >= 4:
			// The kernel writes an int (udp_cmsg_recv).
			segSize = int(*(*int32)(unsafe.Pointer(&data[0])))
		case h.Level == unix.SOL_UDP && h.Type == unix.UDP_GRO && len(data) >= 2:
			segSize = int(*(*uint16)(unsafe.Pointer(&data[0])))
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SO_TIMESTAMPNS_NEW && len(data) >= 16:
			// struct __kernel_timespec: two 64-bit fields on every arch.
			sec := int64(binary.NativeEndian.Uint64(data[0:]))
			nsec := int64(binary.NativeEndian.Uint64(data[8:]))
			*rx = sec*1e9 + nsec
		}
		next := unix.CmsgSpace(l - unix.CmsgLen(0))
		if next > len(ctl) {
			return segSize
		}
		ctl = ctl[next:]
	}
	return segSize
}

// sender is the state of one Send call; senders are pooled so concurrent
// Sends need no lock and steady-state sends no allocation. Each datagram
// has an iovec; a message gathers one iovec, or with GSO a run of them
// that the kernel sends as one UDP_SEGMENT datagram and cuts at segSize.
type sender struct {
	m       mmsgs // hdrs and iovs: one per datagram at most; oob: sendOOBSize per message
	first   []int // first datagram (iovec) of each message
	segSize []int // UDP_SEGMENT size of each message, 0 for a single datagram
	used    int   // iovecs pointing into packets, for release
	name    unix.RawSockaddrInet6
	namelen uint32
	src     [sendOOBSize]byte // the PKTINFO control message, if sticky
	srclen  int
	vlen    int
	start   int
	n       int
	errno   unix.Errno
	writeFn func(fd uintptr) bool
}

func newSender(n int) *sender {
	s := &sender{
		m:       newMmsgs(n, sendOOBSize),
		first:   make([]int, n),
		segSize: make([]int, n),
	}
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
	s.src = [sendOOBSize]byte{}
	h := (*unix.Cmsghdr)(unsafe.Pointer(&s.src[0]))
	data := unsafe.Pointer(&s.src[unix.CmsgLen(0)])
	if is6 {
		h.Level, h.Type = unix.IPPROTO_IPV6, unix.IPV6_PKTINFO
		h.SetLen(unix.CmsgLen(unix.SizeofInet6Pktinfo))
		pi := (*unix.Inet6Pktinfo)(data)
		pi.Addr = src.As16()
		pi.Ifindex = uint32(ifindex)
		s.srclen = unix.CmsgSpace(unix.SizeofInet6Pktinfo)
		return
	}
	h.Level, h.Type = unix.IPPROTO_IP, unix.IP_PKTINFO
	h.SetLen(unix.CmsgLen(unix.SizeofInet4Pktinfo))
	pi := (*unix.Inet4Pktinfo)(data)
	pi.Spec_dst = src.As4()
	pi.Ifindex = ifindex
	s.srclen = unix.CmsgSpace(unix.SizeofInet4Pktinfo)
}

// load builds messages for pkts (at most len(s.m.hdrs) of them) from
// header 0: with gso, runs that gsoRun allows become one UDP_SEGMENT
// message each; otherwise one message per datagram. Every message gets the
// shared sockaddr and, if withSrc, the PKTINFO control message. Empty
// packets are sent as empty datagrams.
func (s *sender) load(pkts []*packet.Slot, withSrc, gso bool, maxPayload int) {
	for i, p := range pkts {
		d := p.Data()
		iov := &s.m.iovs[i]
		if len(d) > 0 {
			iov.Base = &d[0]
		} else {
			iov.Base = nil
		}
		iov.SetLen(len(d))
	}
	s.used = max(s.used, len(pkts))
	m := 0
	for i := 0; i < len(pkts); m++ {
		count, seg := 1, 0
		if gso {
			count, seg = gsoRun(pkts[i:], maxPayload)
			if count == 1 {
				seg = 0
			}
		}
		s.first[m], s.segSize[m] = i, seg
		h := &s.m.hdrs[m]
		h.Hdr.Iov = &s.m.iovs[i]
		h.Hdr.SetIovlen(count)
		h.Hdr.Name = (*byte)(unsafe.Pointer(&s.name))
		h.Hdr.Namelen = s.namelen
		h.Hdr.Flags = 0
		h.Len = 0
		i += count
	}
	s.vlen, s.start = m, 0
	s.setControl(0, m, withSrc)
}

// setControl writes the control messages of headers [from, to): the
// PKTINFO source if withSrc, and UDP_SEGMENT for coalesced messages.
func (s *sender) setControl(from, to int, withSrc bool) {
	for i := from; i < to; i++ {
		oob := s.m.oob[i*sendOOBSize : (i+1)*sendOOBSize]
		n := 0
		if withSrc {
			n = copy(oob, s.src[:s.srclen])
		}
		if seg := s.segSize[i]; seg > 0 {
			c := oob[n:]
			clear(c[:unix.CmsgSpace(2)])
			h := (*unix.Cmsghdr)(unsafe.Pointer(&c[0]))
			h.Level, h.Type = unix.SOL_UDP, unix.UDP_SEGMENT
			h.SetLen(unix.CmsgLen(2))
			*(*uint16)(unsafe.Pointer(&c[unix.CmsgLen(0)])) = uint16(seg)
			n += unix.CmsgSpace(2)
		}
		h := &s.m.hdrs[i].Hdr
		if n > 0 {
			h.Control = &oob[0]
		} else {
			h.Control = nil
		}
		h.SetControllen(n)
	}
}

// segments returns how many datagrams messages [from, to) hold, and how
// many of those messages carry UDP_SEGMENT.
func (s *sender) segments(from, to int) (gsoMsgs, gsoSegs uint64) {
	for i := from; i < to; i++ {
		if s.segSize[i] > 0 {
			gsoMsgs++
			gsoSegs += uint64(s.m.hdrs[i].Hdr.Iovlen)
		}
	}
	return gsoMsgs, gsoSegs
}

// release drops the references to packet buffers before pooling.
func (s *sender) release() {
	for i := range s.used {
		s.m.iovs[i].Base = nil
	}
	s.used, s.vlen, s.start = 0, 0, 0
}
