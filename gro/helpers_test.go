package gro

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/wgxdp/wgxdp/packet"
)

// spec describes a TCP or UDP packet for build. Zero values get sensible
// defaults: IPv4 10.0.0.1:1000 → 10.0.0.2:2000, TTL 64, DF, ACK.
type spec struct {
	v6           bool
	udp          bool
	src, dst     netip.Addr
	sport, dport uint16
	seq, ack     uint32
	flags        uint8 // TCP flags; 0 means ACK
	window       uint16
	opts         []byte // TCP options, a multiple of 4
	id           uint16
	tos          uint8 // IPv4 TOS or IPv6 traffic class
	flowLabel    uint32
	ttl          uint8
	noDF         bool
	payload      []byte
	// partial leaves the pseudo-header sum in the L4 checksum field, as a
	// CHECKSUM_PARTIAL packet from the kernel has it.
	partial bool
}

func (s spec) defaults() spec {
	if !s.src.IsValid() {
		if s.v6 {
			s.src, s.dst = netip.MustParseAddr("fd00::1"), netip.MustParseAddr("fd00::2")
		} else {
			s.src, s.dst = netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
		}
	}
	if s.sport == 0 {
		s.sport, s.dport = 1000, 2000
	}
	if s.flags == 0 {
		s.flags = tcpACK
	}
	if s.ttl == 0 {
		s.ttl = 64
	}
	if s.window == 0 {
		s.window = 502
	}
	return s
}

// build returns the packet with correct lengths and checksums.
func build(s spec) []byte {
	s = s.defaults()
	iph := ipv4HdrLen
	if s.v6 {
		iph = ipv6HdrLen
	}
	l4h := udpHdrLen
	proto := uint8(protoUDP)
	if !s.udp {
		l4h = tcpHdrLen + len(s.opts)
		proto = protoTCP
	}
	p := make([]byte, iph+l4h+len(s.payload))
	if s.v6 {
		binary.BigEndian.PutUint32(p[0:], 6<<28|uint32(s.tos)<<20|s.flowLabel&0xfffff)
		binary.BigEndian.PutUint16(p[4:], uint16(len(p)-iph))
		p[6], p[7] = proto, s.ttl
		a, b := s.src.As16(), s.dst.As16()
		copy(p[8:], a[:])
		copy(p[24:], b[:])
	} else {
		p[0], p[1] = 0x45, s.tos
		binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
		binary.BigEndian.PutUint16(p[4:], s.id)
		if !s.noDF {
			p[6] = 0x40
		}
		p[8], p[9] = s.ttl, proto
		a, b := s.src.As4(), s.dst.As4()
		copy(p[12:], a[:])
		copy(p[16:], b[:])
		binary.BigEndian.PutUint16(p[10:], ^Fold(Checksum(p[:iph], 0)))
	}
	l4 := p[iph:]
	binary.BigEndian.PutUint16(l4[0:], s.sport)
	binary.BigEndian.PutUint16(l4[2:], s.dport)
	csumOff := udpCsumOff
	if s.udp {
		binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
	} else {
		csumOff = tcpCsumOff
		binary.BigEndian.PutUint32(l4[4:], s.seq)
		binary.BigEndian.PutUint32(l4[8:], s.ack)
		l4[12] = uint8(l4h/4) << 4
		l4[13] = s.flags
		binary.BigEndian.PutUint16(l4[14:], s.window)
		copy(l4[tcpHdrLen:], s.opts)
	}
	copy(l4[l4h:], s.payload)
	srcB, dstB := addrBytes(p, s.v6)
	ph := PseudoHeaderSum(proto, srcB, dstB, len(l4))
	if s.partial {
		binary.BigEndian.PutUint16(l4[csumOff:], Fold(ph))
	} else {
		c := ^Fold(Checksum(l4, ph))
		if c == 0 && s.udp {
			c = 0xffff
		}
		binary.BigEndian.PutUint16(l4[csumOff:], c)
	}
	return p
}

func addrBytes(p []byte, v6 bool) (src, dst []byte) {
	if v6 {
		return p[8:24], p[24:40]
	}
	return p[12:16], p[16:20]
}

// payloadBytes returns n bytes of a recognisable pattern starting at off.
func payloadBytes(off, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		x := uint32(off + i)
		b[i] = byte(x*2654435761>>24) ^ byte(x)
	}
	return b
}

// superPacket returns a super-packet as a TSO/USO TUN read delivers it:
// the pseudo-header sum in the L4 checksum field and the virtio_net_hdr
// the kernel writes (measured: PLATFORM.md §2).
func superPacket(s spec, gsoSize int) (VirtioNetHdr, []byte) {
	s.partial = true
	p := build(s)
	d := s.defaults()
	h := VirtioNetHdr{Flags: FlagNeedsCsum, GSOSize: uint16(gsoSize)}
	iph := ipv4HdrLen
	if s.v6 {
		iph = ipv6HdrLen
	}
	h.CsumStart = uint16(iph)
	if s.udp {
		h.GSOType, h.CsumOffset, h.HdrLen = GSOUDPL4, udpCsumOff, uint16(iph+udpHdrLen)
	} else {
		h.GSOType, h.CsumOffset, h.HdrLen = GSOTCPv4, tcpCsumOff, uint16(iph+tcpHdrLen+len(s.opts))
		if s.v6 {
			h.GSOType = GSOTCPv6
		}
		if d.flags&tcpCWR != 0 {
			h.GSOType |= GSOECN
		}
	}
	return h, p
}

// checkPacket verifies an IP packet's lengths and checksums.
func checkPacket(p []byte) error {
	if len(p) < 1 {
		return fmt.Errorf("empty packet")
	}
	var iph int
	var proto uint8
	v6 := p[0]>>4 == 6
	if v6 {
		if len(p) < ipv6HdrLen {
			return fmt.Errorf("short IPv6 packet")
		}
		iph, proto = ipv6HdrLen, p[6]
		if got := int(binary.BigEndian.Uint16(p[4:])); got != len(p)-iph {
			return fmt.Errorf("IPv6 payload length %d, want %d", got, len(p)-iph)
		}
	} else {
		if len(p) < ipv4HdrLen {
			return fmt.Errorf("short IPv4 packet")
		}
		iph, proto = int(p[0]&0xf)*4, p[9]
		if got := int(binary.BigEndian.Uint16(p[2:])); got != len(p) {
			return fmt.Errorf("IPv4 total length %d, want %d", got, len(p))
		}
		if Fold(Checksum(p[:iph], 0)) != 0xffff {
			return fmt.Errorf("bad IPv4 header checksum")
		}
	}
	l4 := p[iph:]
	if proto == protoUDP && int(binary.BigEndian.Uint16(l4[4:])) != len(l4) {
		return fmt.Errorf("UDP length %d, want %d", binary.BigEndian.Uint16(l4[4:]), len(l4))
	}
	src, dst := addrBytes(p, v6)
	if Fold(Checksum(l4, PseudoHeaderSum(proto, src, dst, len(l4)))) != 0xffff {
		return fmt.Errorf("bad L4 checksum")
	}
	return nil
}

// l4Payload returns the bytes after the TCP/UDP header.
func l4Payload(p []byte) []byte {
	iph, proto := int(p[0]&0xf)*4, p[9]
	if p[0]>>4 == 6 {
		iph, proto = ipv6HdrLen, p[6]
	}
	if proto == protoUDP {
		return p[iph+udpHdrLen:]
	}
	return p[iph+int(p[iph+12]>>4)*4:]
}

// newBatch returns a batch of n slots big enough for mtu-byte packets.
func newBatch(n, mtu int) *packet.Batch {
	return packet.NewBatch(n, packet.SlotSize(mtu))
}

// fill appends pkts to b (copies).
func fill(b *packet.Batch, pkts ...[]byte) {
	for _, p := range pkts {
		if !b.Append(p, packet.Endpoint{}) {
			panic("batch full")
		}
	}
}

// tcpStream returns n TCP segments of one flow with mss-byte payloads
// starting at seq, each a valid packet, with incrementing IPv4 IDs.
func tcpStream(s spec, n, mss int) [][]byte {
	var out [][]byte
	for i := range n {
		t := s
		t.seq = s.seq + uint32(i*mss)
		t.id = s.id + uint16(i)
		t.payload = payloadBytes(i*mss, mss)
		out = append(out, build(t))
	}
	return out
}
