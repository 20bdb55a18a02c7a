package gro

import (
	"bytes"
	"encoding/binary"

	"github.com/wgxdp/wgxdp/packet"
)

// Options say what Coalesce may merge.
type Options struct {
	// TCP merges TCP segments into GSOTCPv4/GSOTCPv6 super-packets.
	TCP bool
	// UDP merges UDP datagrams into GSOUDPL4 super-packets. Set it only if
	// the TUN took OffloadsUDP (both TunFUSO4 and TunFUSO6): a kernel
	// without USO rejects such writes.
	UDP bool
	// MaxSize bounds a super-packet's IP length; 0 or more than 65535
	// means 65535.
	MaxSize int
}

// maxUDPSegments bounds a UDP super-packet, as UDP_MAX_SEGMENTS does for
// UDP_SEGMENT sends on older kernels.
const maxUDPSegments = 64

// Coalesce prepares the packets of b for a TUN write. It pushes a
// VirtioNetHdr in front of every packet, and merges runs of packets that
// the kernel's GRO would merge into one super-packet in the slot of the
// run's first packet, whose header then says NEEDS_CSUM and the GSO type,
// with the pseudo-header sum in the L4 checksum field. Merged-away slots go
// to the spare end of b; b.Packets() is what to write, in order: a flow's
// packets keep their order, and each super-packet sits where its first
// packet was.
//
// A packet joins the super-packet of its flow (addresses, ports and
// protocol) only if it comes next: no packet of the flow came between
// them; its TCP sequence number follows; the IP headers agree except in
// length, ID and checksum; the TCP ACK number, window, urgent pointer and
// options agree, as do the flags except that CWR may be set only on the
// first packet and PSH or FIN only on the last, and SYN, RST and URG on
// none; the super-packet so far has only full-size segments and this one
// is no larger (and not empty); its checksum (and the first packet's) is
// valid; and it fits, within opts.MaxSize and the first slot's tailroom
// (and, for UDP, 64 segments). The first packet's payload length is the
// GSO size.
//
// Every slot needs VirtioNetHdrLen bytes of headroom; if one lacks it,
// Coalesce returns an error wrapping ErrNoRoom and changes nothing.
func Coalesce(b *packet.Batch, opts Options) error {
	pkts := b.Packets()
	maxSize, merge, err := prepareCoalesce(pkts, opts)
	if !merge {
		return err
	}
	var t table // on the stack: no allocation per batch
	t.opts, t.maxSize = opts, maxSize
	merged := false
	for w := 0; w < len(pkts); w += packet.MaxBatch {
		win := pkts[w:min(w+packet.MaxBatch, len(pkts))]
		t.reset(win)
		for i := range win {
			t.add(i)
		}
		for i := range t.flows[:t.nflows] {
			t.finish(&t.flows[i])
		}
		for i, s := range win {
			switch t.state[i] {
			case stateMerged:
				s.Reset()
				merged = true
			case stateNone:
				clear(s.Push(VirtioNetHdrLen))
			}
		}
	}
	if merged {
		// Every kept slot has at least its header; merged ones are empty.
		b.Compact(func(s *packet.Slot) bool { return s.Len() > 0 })
	}
	return nil
}

// prepareCoalesce checks pkts' headroom and resolves opts.MaxSize. It
// reports merge false when there is nothing to merge: an error (pkts
// unchanged), or no merging wanted (each packet then has a zero
// VirtioNetHdr in front).
func prepareCoalesce(pkts []*packet.Slot, opts Options) (maxSize int, merge bool, err error) {
	for _, s := range pkts {
		if s.Headroom() < VirtioNetHdrLen {
			return 0, false, errNoHeadroom
		}
	}
	maxSize = opts.MaxSize
	if maxSize <= 0 || maxSize > maxIPLen {
		maxSize = maxIPLen
	}
	if !opts.TCP && !opts.UDP {
		for _, s := range pkts {
			clear(s.Push(VirtioNetHdrLen))
		}
		return maxSize, false, nil
	}
	return maxSize, true, nil
}

// flowKey identifies a flow. For IPv4 the addresses use the first 4 bytes.
type flowKey struct {
	src, dst     [16]byte
	sport, dport uint16
	proto        uint8
	v6           bool
}

// flow is one flow's open super-packet.
type flow struct {
	key      flowKey
	head     int // window index of the first packet; -1: none open
	iphLen   int
	hdrLen   int // IP + L4 headers
	gsoSize  int // the first packet's payload
	segs     int
	length   int // the super-packet's IP length so far
	nextSeq  uint32
	closed   bool // a short segment, PSH or FIN: nothing may follow
	verified bool // the first packet's checksum was checked
}

// Per-slot state in a window.
const (
	stateNone   = iota // passes through: gets a zero header
	stateHead          // a super-packet: has its header
	stateMerged        // appended to a head: the slot is freed
)

// table is the flow table for one window of up to packet.MaxBatch packets:
// open addressing over twice as many buckets, so probes stay short.
type table struct {
	opts    Options
	maxSize int
	links   *Linked // nil: merge by copying (Coalesce)
	win     []*packet.Slot
	nflows  int
	buckets [2 * packet.MaxBatch]uint8 // flow index + 1; 0 is empty
	flows   [packet.MaxBatch]flow
	state   [packet.MaxBatch]uint8
}

func (t *table) reset(win []*packet.Slot) {
	t.win = win
	t.nflows = 0
	clear(t.buckets[:])
	clear(t.state[:len(win)])
}

func (k *flowKey) hash() uint64 {
	h := binary.LittleEndian.Uint64(k.src[0:]) ^ binary.LittleEndian.Uint64(k.src[8:])*0x9e3779b97f4a7c15
	h ^= (binary.LittleEndian.Uint64(k.dst[0:]) ^ binary.LittleEndian.Uint64(k.dst[8:])*0xc2b2ae3d27d4eb4f) * 0x165667b19e3779f9
	h ^= uint64(k.sport)<<32 | uint64(k.dport)<<16 | uint64(k.proto)
	h *= 0x9e3779b97f4a7c15
	return h ^ h>>29
}

// lookup returns the flow for k, inserting it if insert is set; nil if it
// is absent and not inserted.
func (t *table) lookup(k *flowKey, insert bool) *flow {
	mask := uint64(len(t.buckets) - 1)
	for i := k.hash() & mask; ; i = (i + 1) & mask {
		j := t.buckets[i]
		if j == 0 {
			if !insert {
				return nil
			}
			f := &t.flows[t.nflows]
			t.nflows++
			t.buckets[i] = uint8(t.nflows)
			*f = flow{key: *k, head: -1}
			return f
		}
		if f := &t.flows[j-1]; f.key == *k {
			return f
		}
	}
}

// pktInfo is what parse learns about a packet.
type pktInfo struct {
	key     flowKey
	hasKey  bool // a TCP/UDP packet with ports we may coalesce: it has a flow
	cand    bool // and it may start or join a super-packet
	iphLen  int
	hdrLen  int
	payload int
	seq     uint32
	flags   uint8
}

// parse reads p's headers. It never reads out of bounds: p is any bytes.
func (t *table) parse(p []byte, pi *pktInfo) {
	pi.hasKey, pi.cand = false, false
	if len(p) < ipv4HdrLen {
		return
	}
	var proto uint8
	ipOK := false // an IP header we can merge: lengths agree, no options, not a fragment
	switch p[0] >> 4 {
	case 4:
		pi.iphLen = int(p[0]&0xf) * 4
		if pi.iphLen < ipv4HdrLen || len(p) < pi.iphLen+4 {
			return
		}
		frag := binary.BigEndian.Uint16(p[6:])
		if frag&0x1fff != 0 { // a later fragment: no ports
			return
		}
		proto = p[9]
		pi.key.v6 = false
		pi.key.src = [16]byte{}
		pi.key.dst = [16]byte{}
		copy(pi.key.src[:], p[12:16])
		copy(pi.key.dst[:], p[16:20])
		ipOK = pi.iphLen == ipv4HdrLen && frag&0x2000 == 0 && int(binary.BigEndian.Uint16(p[2:])) == len(p)
	case 6:
		pi.iphLen = ipv6HdrLen
		if len(p) < ipv6HdrLen+4 {
			return
		}
		proto = p[6]
		pi.key.v6 = true
		pi.key.src = [16]byte(p[8:24])
		pi.key.dst = [16]byte(p[24:40])
		ipOK = int(binary.BigEndian.Uint16(p[4:])) == len(p)-ipv6HdrLen
	default:
		return
	}
	switch {
	case proto == protoTCP && t.opts.TCP, proto == protoUDP && t.opts.UDP:
	default:
		return
	}
	l4 := p[pi.iphLen:]
	pi.key.proto = proto
	pi.key.sport = binary.BigEndian.Uint16(l4[0:])
	pi.key.dport = binary.BigEndian.Uint16(l4[2:])
	pi.hasKey = true
	if !ipOK || len(p) > t.maxSize {
		return
	}
	if proto == protoTCP {
		if len(l4) < tcpHdrLen {
			return
		}
		thl := int(l4[12]>>4) * 4
		if thl < tcpHdrLen || len(l4) < thl {
			return
		}
		pi.flags = l4[13]
		if pi.flags&(tcpSYN|tcpRST|tcpURG) != 0 {
			return
		}
		pi.hdrLen = pi.iphLen + thl
		pi.seq = binary.BigEndian.Uint32(l4[4:])
	} else {
		if len(l4) < udpHdrLen || int(binary.BigEndian.Uint16(l4[4:])) != len(l4) {
			return
		}
		pi.hdrLen = pi.iphLen + udpHdrLen
	}
	pi.payload = len(p) - pi.hdrLen
	pi.cand = pi.payload > 0
}

// add takes the window's packet i: it joins its flow's open super-packet,
// or closes it and, if it can, opens the next one.
func (t *table) add(i int) {
	var pi pktInfo
	t.parse(t.win[i].Data(), &pi)
	if !pi.hasKey {
		return
	}
	f := t.lookup(&pi.key, pi.cand)
	if f == nil {
		return
	}
	if f.head >= 0 {
		if t.tryAppend(f, i, &pi) {
			t.state[i] = stateMerged
			return
		}
		// Whatever comes after this packet must not pass it.
		t.finish(f)
	}
	if pi.cand {
		if l := t.links; l != nil {
			l.tail[i] = int16(i)
		}
		f.head = i
		f.iphLen = pi.iphLen
		f.hdrLen = pi.hdrLen
		f.gsoSize = pi.payload
		f.segs = 1
		f.length = len(t.win[i].Data())
		f.nextSeq = pi.seq + uint32(pi.payload)
		f.closed = pi.key.proto == protoTCP && pi.flags&(tcpPSH|tcpFIN) != 0
		f.verified = false
	}
}

// tryAppend appends packet i to f's super-packet if the rules allow.
func (t *table) tryAppend(f *flow, i int, pi *pktInfo) bool {
	if !pi.cand || f.closed || pi.payload > f.gsoSize || pi.hdrLen != f.hdrLen {
		return false
	}
	hs := t.win[f.head]
	h, p := hs.Data(), t.win[i].Data()
	if f.length+pi.payload > t.maxSize || (t.links == nil && hs.Tailroom() < pi.payload) {
		return false
	}
	if !ipHeadersMatch(h, p, pi.key.v6) {
		return false
	}
	ip := f.iphLen
	if pi.key.proto == protoTCP {
		if pi.seq != f.nextSeq || pi.flags&tcpCWR != 0 {
			return false
		}
		hf := h[ip+13]
		if (hf^pi.flags)&^(tcpCWR|tcpPSH|tcpFIN) != 0 {
			return false
		}
		// ACK number, data offset, window, urgent pointer (the kernel
		// ignores it; it is zero without URG, and this way segmentation
		// gives back every header exactly) and options: all equal.
		if !bytes.Equal(h[ip+8:ip+13], p[ip+8:ip+13]) || !bytes.Equal(h[ip+14:ip+16], p[ip+14:ip+16]) ||
			!bytes.Equal(h[ip+18:f.hdrLen], p[ip+18:f.hdrLen]) {
			return false
		}
	} else if f.segs >= maxUDPSegments {
		return false
	}
	// Last, the expensive part: merged packets get a checksum from the
	// kernel (NEEDS_CSUM), so a corrupt one must not be laundered into a
	// valid one.
	if !f.verified {
		if !l4ChecksumValid(h, ip, pi.key.proto, pi.key.v6) {
			return false
		}
		f.verified = true
	}
	if !l4ChecksumValid(p, ip, pi.key.proto, pi.key.v6) {
		return false
	}
	if l := t.links; l != nil {
		if f.segs == 1 {
			l.save(f.head, h[:f.hdrLen])
		}
		l.next[l.tail[f.head]] = int16(i)
		l.tail[f.head] = int16(i)
		l.merged[i] = true
		l.off[i] = uint16(f.hdrLen)
	} else {
		copy(hs.Extend(pi.payload), p[pi.hdrLen:])
	}
	f.length += pi.payload
	f.segs++
	if pi.payload < f.gsoSize {
		f.closed = true
	}
	if pi.key.proto == protoTCP {
		f.nextSeq += uint32(pi.payload)
		if end := pi.flags & (tcpPSH | tcpFIN); end != 0 {
			h[ip+13] |= end
			f.closed = true
		}
	}
	return true
}

// ipHeadersMatch reports whether two packets' IP headers agree in every
// field a super-packet keeps only once (the addresses and protocol are in
// the flow key; lengths, ID and checksum are rewritten).
func ipHeadersMatch(a, b []byte, v6 bool) bool {
	if v6 {
		// Version, traffic class, flow label; hop limit.
		return binary.BigEndian.Uint32(a) == binary.BigEndian.Uint32(b) && a[7] == b[7]
	}
	// Version/IHL, TOS; flags/fragment offset; TTL.
	return a[0] == b[0] && a[1] == b[1] && a[6] == b[6] && a[7] == b[7] && a[8] == b[8]
}

// l4ChecksumValid checks a TCP or UDP checksum. A zero UDP checksum over
// IPv4 means "none" and is accepted.
func l4ChecksumValid(p []byte, iphLen int, proto uint8, v6 bool) bool {
	src, dst := p[12:16], p[16:20]
	if v6 {
		src, dst = p[8:24], p[24:40]
	}
	l4 := p[iphLen:]
	if proto == protoUDP && !v6 && l4[6] == 0 && l4[7] == 0 {
		return true
	}
	return Fold(Checksum(l4, PseudoHeaderSum(proto, src, dst, len(l4)))) == 0xffff
}

// finish closes f's super-packet: with more than one segment, it fixes the
// IP length (and IPv4 checksum), UDP length and L4 checksum field, and
// pushes the VirtioNetHdr.
func (t *table) finish(f *flow) {
	if f.head < 0 {
		return
	}
	head := f.head
	f.head = -1
	if f.segs < 2 {
		return
	}
	s := t.win[head]
	p := s.Data()
	ip := f.iphLen
	l4Len := f.length - ip
	h := VirtioNetHdr{
		Flags:     FlagNeedsCsum,
		HdrLen:    uint16(f.hdrLen),
		GSOSize:   uint16(f.gsoSize),
		CsumStart: uint16(ip),
	}
	var src, dst []byte
	if f.key.v6 {
		binary.BigEndian.PutUint16(p[4:], uint16(l4Len))
		src, dst = p[8:24], p[24:40]
	} else {
		binary.BigEndian.PutUint16(p[2:], uint16(f.length))
		p[10], p[11] = 0, 0
		binary.BigEndian.PutUint16(p[10:], ^Fold(Checksum(p[:ip], 0)))
		src, dst = p[12:16], p[16:20]
	}
	if f.key.proto == protoTCP {
		h.GSOType = GSOTCPv4
		if f.key.v6 {
			h.GSOType = GSOTCPv6
		}
		if p[ip+13]&tcpCWR != 0 {
			h.GSOType |= GSOECN
		}
		h.CsumOffset = tcpCsumOff
	} else {
		h.GSOType = GSOUDPL4
		h.CsumOffset = udpCsumOff
		binary.BigEndian.PutUint16(p[ip+4:], uint16(l4Len))
	}
	// The kernel completes the checksum from here (CHECKSUM_PARTIAL): the
	// field holds the folded pseudo-header sum, not complemented.
	binary.BigEndian.PutUint16(p[ip+int(h.CsumOffset):], Fold(PseudoHeaderSum(f.key.proto, src, dst, l4Len)))
	h.Encode(s.Push(VirtioNetHdrLen))
	t.state[head] = stateHead
}
