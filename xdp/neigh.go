package xdp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// nextHop is where the XDP path sends a datagram for one destination.
type nextHop struct {
	ok      bool // usable: the route leaves through one of our interfaces and the neighbor is known
	iface   int  // which: an index into neighbors.ifindexes
	mac     [6]byte
	src     netip.Addr // the route's preferred source
	expires time.Time
}

// How long a lookup is trusted. A usable entry is rechecked every second,
// so a neighbor going stale (which the XDP path, bypassing the stack, never
// refreshes) is noticed and the kernel told it is in use, which makes it
// probe the neighbor again. An unusable one is retried soon, so the switch
// to the XDP path follows the kernel's resolution quickly.
const (
	hopTTL     = time.Second
	hopMissTTL = 50 * time.Millisecond
)

// neighbors looks up next hops through rtnetlink in the namespace the Bind
// was opened in, caching the answers per destination.
type neighbors struct {
	ifindexes []int // the Bind's interfaces; a hop names one by its index here
	mark      uint32

	mu     sync.Mutex // guards fd, seq, buf and the caches
	fd     int
	seq    uint32
	buf    []byte
	cache  map[netip.Addr]nextHop
	locals map[netip.Addr]localAddr // sticky sources checked

	// events is a non-blocking netlink socket subscribed to address,
	// route and neighbor changes; lookups drain it (at most every
	// eventsEvery) and drop both caches if anything changed, so a moved
	// address or a changed route takes effect at once instead of when the
	// cached answers expire. -1 if it could not be opened.
	events    int
	lastDrain time.Time
}

// eventsEvery bounds how often a lookup drains the events socket.
const eventsEvery = 10 * time.Millisecond

// localAddr is whether an address was local when last checked.
type localAddr struct {
	ok      bool
	expires time.Time
}

func newNeighbors(ifindexes []int, mark uint32) (*neighbors, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("xdp: netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("xdp: netlink bind: %w", err)
	}
	tv := unix.Timeval{Sec: 1}
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	return &neighbors{ifindexes: ifindexes, mark: mark, fd: fd, buf: make([]byte, 16<<10),
		cache: make(map[netip.Addr]nextHop), locals: make(map[netip.Addr]localAddr),
		events: openEvents()}, nil
}

// openEvents opens the events socket, or returns -1: without it the caches
// only expire.
func openEvents() int {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_ROUTE)
	if err != nil {
		return -1
	}
	groups := uint32(unix.RTMGRP_IPV4_IFADDR | unix.RTMGRP_IPV6_IFADDR | unix.RTMGRP_IPV4_ROUTE |
		unix.RTMGRP_IPV6_ROUTE | unix.RTMGRP_NEIGH | unix.RTMGRP_LINK)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: groups}); err != nil {
		unix.Close(fd)
		return -1
	}
	return fd
}

// drainEventsLocked reads every pending change notification and drops the
// caches if there was one (or if some were lost). mu held.
func (n *neighbors) drainEventsLocked(now time.Time) {
	if n.events < 0 || now.Sub(n.lastDrain) < eventsEvery {
		return
	}
	n.lastDrain = now
	changed := false
	for {
		_, _, err := unix.Recvfrom(n.events, n.buf, unix.MSG_DONTWAIT)
		if errors.Is(err, unix.EAGAIN) {
			break
		}
		changed = true
		if err != nil && !errors.Is(err, unix.ENOBUFS) && !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if changed {
		clear(n.cache)
		clear(n.locals)
	}
}

func (n *neighbors) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fd >= 0 {
		unix.Close(n.fd)
		n.fd = -1
	}
	if n.events >= 0 {
		unix.Close(n.events)
		n.events = -1
	}
}

func (n *neighbors) setMark(mark uint32) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mark = mark
	clear(n.cache)
}

// lookup returns the next hop for dst, from the cache if fresh. Its src is
// sticky, the source the peer last reached us at, if that is valid, of
// dst's family and still a local address; otherwise the route's preferred
// source. (A UDP socket's kernel refuses a sticky source that is no longer
// local, and conn.StdNetBind then lets it choose; the XDP path builds the
// header itself, so it must check, or a host that moved to a new address
// would go on sending from the old one and its peer would never follow.)
func (n *neighbors) lookup(dst, sticky netip.Addr, now time.Time) nextHop {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.drainEventsLocked(now)
	h := n.lookupLocked(dst, now)
	if h.ok && sticky.IsValid() && sticky != h.src && sticky.Is4() == dst.Is4() && n.isLocalLocked(sticky, now) {
		h.src = sticky
	}
	return h
}

// isLocalLocked reports whether a is a local address (its route is of type
// local), from the cache if fresh. mu held.
func (n *neighbors) isLocalLocked(a netip.Addr, now time.Time) bool {
	if l, ok := n.locals[a]; ok && now.Before(l.expires) {
		return l.ok
	}
	family, alen := byte(unix.AF_INET), 4
	if a.Is6() {
		family, alen = unix.AF_INET6, 16
	}
	b := n.msg(unix.RTM_GETROUTE, unix.NLM_F_REQUEST)
	b = append(b, family, byte(alen*8), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	b = appendAttr(b, unix.RTA_DST, a.AsSlice())
	local := false
	err := n.do(b, unix.RTM_NEWROUTE, func(body []byte) {
		// rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type.
		if len(body) >= unix.SizeofRtMsg && body[7] == unix.RTN_LOCAL {
			local = true
		}
	})
	if err != nil {
		local = false
	}
	if len(n.locals) >= 4096 {
		clear(n.locals)
	}
	n.locals[a] = localAddr{ok: local, expires: now.Add(hopTTL)}
	return local
}

// lookupLocked is lookup without the source check. mu held.
func (n *neighbors) lookupLocked(dst netip.Addr, now time.Time) nextHop {
	if h, ok := n.cache[dst]; ok && now.Before(h.expires) {
		return h
	}
	h, err := n.resolve(dst)
	if err != nil || !h.ok {
		h = nextHop{expires: now.Add(hopMissTTL)}
	} else {
		h.expires = now.Add(hopTTL)
	}
	if len(n.cache) >= 4096 {
		clear(n.cache) // bounded; entries are cheap to look up again
	}
	n.cache[dst] = h
	return h
}

// resolve asks the kernel for the route to dst and then for its next
// hop's neighbor entry. mu held.
func (n *neighbors) resolve(dst netip.Addr) (nextHop, error) {
	family, alen := byte(unix.AF_INET), 4
	if dst.Is6() {
		family, alen = unix.AF_INET6, 16
	}
	raw := dst.AsSlice()

	// RTM_GETROUTE: rtmsg{family, dst_len}, RTA_DST, RTA_MARK.
	b := n.msg(unix.RTM_GETROUTE, unix.NLM_F_REQUEST)
	b = append(b, family, byte(alen*8), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	b = appendAttr(b, unix.RTA_DST, raw)
	if n.mark != 0 {
		b = appendAttr(b, unix.RTA_MARK, binary.NativeEndian.AppendUint32(nil, n.mark))
	}
	var (
		oif      int
		gw, src  netip.Addr
		gotRoute bool
	)
	err := n.do(b, unix.RTM_NEWROUTE, func(body []byte) {
		if len(body) < unix.SizeofRtMsg {
			return
		}
		gotRoute = true
		eachAttr(body[unix.SizeofRtMsg:], func(t uint16, v []byte) {
			switch t {
			case unix.RTA_OIF:
				if len(v) >= 4 {
					oif = int(binary.NativeEndian.Uint32(v))
				}
			case unix.RTA_GATEWAY:
				gw, _ = netip.AddrFromSlice(v)
			case unix.RTA_PREFSRC:
				src, _ = netip.AddrFromSlice(v)
			}
		})
	})
	if err != nil {
		return nextHop{}, err
	}
	ifc := slices.Index(n.ifindexes, oif)
	if !gotRoute || ifc < 0 || !src.IsValid() {
		return nextHop{}, nil
	}
	hop := dst
	if gw.IsValid() && gw.BitLen() == dst.BitLen() {
		hop = gw
	} else if gw.IsValid() {
		return nextHop{}, nil // a gateway of the other family (RTA_VIA-like); leave it to the kernel
	}

	// RTM_GETNEIGH: ndmsg{family, ifindex}, NDA_DST.
	b = n.msg(unix.RTM_GETNEIGH, unix.NLM_F_REQUEST)
	b = append(b, family, 0, 0, 0)
	b = binary.NativeEndian.AppendUint32(b, uint32(oif))
	b = append(b, 0, 0, 0, 0)
	b = appendAttr(b, unix.NDA_DST, hop.AsSlice())
	h := nextHop{src: src, iface: ifc}
	stale := false
	err = n.do(b, unix.RTM_NEWNEIGH, func(body []byte) {
		if len(body) < unix.SizeofNdMsg {
			return
		}
		state := binary.NativeEndian.Uint16(body[8:10])
		// DELAY and PROBE are used, as the kernel does while it checks
		// the entry. So is STALE, once the kernel has been told the entry
		// is in use (below), which starts that check.
		const usable = unix.NUD_REACHABLE | unix.NUD_PERMANENT | unix.NUD_NOARP | unix.NUD_DELAY |
			unix.NUD_PROBE | unix.NUD_STALE
		if state&usable == 0 {
			return // incomplete, failed: let the kernel send
		}
		stale = state&unix.NUD_STALE != 0
		eachAttr(body[unix.SizeofNdMsg:], func(t uint16, v []byte) {
			if t == unix.NDA_LLADDR && len(v) == 6 {
				copy(h.mac[:], v)
				h.ok = true
			}
		})
	})
	if errors.Is(err, unix.ENOENT) {
		return nextHop{}, nil
	}
	if err == nil && h.ok && stale && n.use(family, oif, hop) != nil {
		// The kernel would not take the hint: send through the socket,
		// which uses the entry and so has it checked.
		h.ok = false
	}
	return h, err
}

// use tells the kernel that the XDP path sends through the neighbor entry
// of addr on ifindex (RTM_NEWNEIGH with NTF_USE), as its own output path
// does on every packet: a stale entry then goes to DELAY and PROBE and is
// confirmed or replaced, where otherwise traffic that bypasses the stack
// would never have it checked again. mu held.
func (n *neighbors) use(family byte, ifindex int, addr netip.Addr) error {
	b := n.msg(unix.RTM_NEWNEIGH, unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	// ndmsg: family, pad×3, ifindex, state, flags, type.
	b = append(b, family, 0, 0, 0)
	b = binary.NativeEndian.AppendUint32(b, uint32(ifindex))
	b = binary.NativeEndian.AppendUint16(b, unix.NUD_STALE)
	b = append(b, unix.NTF_USE, 0)
	b = appendAttr(b, unix.NDA_DST, addr.AsSlice())
	return n.do(b, 0, func([]byte) {})
}

// msg starts a netlink message in n.buf.
func (n *neighbors) msg(typ uint16, flags uint16) []byte {
	n.seq++
	b := n.buf[:0]
	b = binary.NativeEndian.AppendUint32(b, 0) // length, set by do
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = binary.NativeEndian.AppendUint16(b, flags)
	b = binary.NativeEndian.AppendUint32(b, n.seq)
	b = binary.NativeEndian.AppendUint32(b, 0)
	return b
}

func appendAttr(b []byte, typ uint16, v []byte) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(unix.SizeofRtAttr+len(v)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func eachAttr(b []byte, f func(t uint16, v []byte)) {
	for len(b) >= unix.SizeofRtAttr {
		l := int(binary.NativeEndian.Uint16(b))
		if l < unix.SizeofRtAttr || l > len(b) {
			return
		}
		f(binary.NativeEndian.Uint16(b[2:])&^unix.NLA_F_NESTED, b[unix.SizeofRtAttr:l])
		l = (l + 3) &^ 3
		if l > len(b) {
			return
		}
		b = b[l:]
	}
}

// do sends the request in req and calls f with the body of each reply of
// type want, until the reply with our sequence number is complete.
func (n *neighbors) do(req []byte, want uint16, f func(body []byte)) error {
	if n.fd < 0 {
		return unix.EBADF
	}
	binary.NativeEndian.PutUint32(req, uint32(len(req)))
	seq := n.seq
	if err := unix.Sendto(n.fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("xdp: netlink send: %w", err)
	}
	rb := n.buf[len(req):] // the request is sent; the rest of buf takes the reply
	if len(rb) < 8<<10 {
		rb = n.buf
	}
	for {
		m, _, err := unix.Recvfrom(n.fd, rb, 0)
		if err != nil {
			return fmt.Errorf("xdp: netlink receive: %w", err)
		}
		b := rb[:m]
		for len(b) >= unix.SizeofNlMsghdr {
			l := int(binary.NativeEndian.Uint32(b))
			if l < unix.SizeofNlMsghdr || l > len(b) {
				return errors.New("xdp: short netlink message")
			}
			typ := binary.NativeEndian.Uint16(b[4:])
			flags := binary.NativeEndian.Uint16(b[6:])
			s := binary.NativeEndian.Uint32(b[8:])
			body := b[unix.SizeofNlMsghdr:l]
			b = b[min((l+3)&^3, len(b)):]
			if s != seq {
				continue // a stale reply to an earlier, timed-out request
			}
			switch typ {
			case unix.NLMSG_ERROR:
				if len(body) >= 4 {
					if e := int32(binary.NativeEndian.Uint32(body)); e != 0 {
						return unix.Errno(-e)
					}
				}
				return nil
			case unix.NLMSG_DONE:
				return nil
			case want:
				f(body)
				if flags&unix.NLM_F_MULTI == 0 {
					return nil
				}
			}
		}
	}
}
