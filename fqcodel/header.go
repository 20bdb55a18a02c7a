package fqcodel

import "encoding/binary"

// IP protocol numbers whose first four transport bytes are the source and
// destination ports.
const (
	protoTCP     = 6
	protoUDP     = 17
	protoDCCP    = 33
	protoSCTP    = 132
	protoUDPLite = 136
)

// keyLen is the largest flow key: version, two IPv6 addresses, protocol,
// two ports.
const keyLen = 1 + 16 + 16 + 1 + 4

// flowKey writes the flow key of the IP packet b into k and returns its
// length: the IP version, the addresses, the protocol and, for TCP, UDP,
// UDP-Lite, SCTP and DCCP packets that are not fragments, the ports.
// Fragments are keyed without ports so that every fragment of a datagram
// lands in the same flow and keeps its order. Anything that is not a
// well-formed IPv4 or IPv6 header gets the one-byte key {0}: all such
// packets share one flow. flowKey never reads outside b.
func flowKey(b []byte, k *[keyLen]byte) int {
	if len(b) == 0 {
		k[0] = 0
		return 1
	}
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			break
		}
		k[0] = 4
		copy(k[1:9], b[12:20])
		proto := b[9]
		k[9] = proto
		ihl := int(b[0]&0x0f) * 4
		frag := binary.BigEndian.Uint16(b[6:8]) & 0x3fff // MF and offset
		if frag == 0 && ihl >= 20 && hasPorts(proto) && len(b) >= ihl+4 {
			copy(k[10:14], b[ihl:ihl+4])
			return 14
		}
		return 10
	case 6:
		if len(b) < 40 {
			break
		}
		k[0] = 6
		copy(k[1:33], b[8:40])
		nh, off, ports := ipv6Transport(b)
		k[33] = nh
		if ports {
			copy(k[34:38], b[off:off+4])
			return 38
		}
		return 34
	}
	k[0] = 0
	return 1
}

// maxExtHeaders bounds the IPv6 extension headers skipped, so a packet
// made of nothing but extension headers costs little; behind more, the
// packet is keyed without ports.
const maxExtHeaders = 8

// ipv6Transport walks the extension headers of the IPv6 packet b (at least
// 40 bytes) and returns the upper-layer protocol, its offset, and whether
// its first four bytes are ports that belong in the flow key.
func ipv6Transport(b []byte) (nh byte, off int, ports bool) {
	nh, off = b[6], 40
	for range maxExtHeaders + 1 {
		switch nh {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(b) < off+8 {
				return nh, off, false
			}
			nh, off = b[off], off+(int(b[off+1])+1)*8
		case 51: // authentication header
			if len(b) < off+8 {
				return nh, off, false
			}
			nh, off = b[off], off+(int(b[off+1])+2)*4
		case 44: // fragment
			if len(b) < off+8 {
				return nh, off, false
			}
			// Offset and M flag; the first fragment too is keyed without
			// ports, like every later one.
			frag := binary.BigEndian.Uint16(b[off+2:off+4]) & 0xfff9
			nh, off = b[off], off+8
			if frag != 0 {
				return nh, off, false
			}
		default:
			return nh, off, hasPorts(nh) && len(b) >= off+4
		}
	}
	return nh, off, false
}

func hasPorts(proto byte) bool {
	switch proto {
	case protoTCP, protoUDP, protoDCCP, protoSCTP, protoUDPLite:
		return true
	}
	return false
}

// ECN codepoints, the low two bits of the IPv4 TOS / IPv6 traffic class.
const (
	ecnNotECT = 0
	ecnECT1   = 1
	ecnECT0   = 2
	ecnCE     = 3
)

// markCE sets the ECN field of the IP packet b to CE if it is ECN-capable
// (ECT(0), ECT(1)) and reports whether the packet now carries CE, as Linux's
// INET_ECN_set_ce does: a packet already marked CE counts as marked, a
// Not-ECT or non-IP packet is left alone and must be dropped instead. The
// IPv4 header checksum is updated incrementally (RFC 1624); IPv6 has none.
func markCE(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			return false
		}
		switch b[1] & 3 {
		case ecnNotECT:
			return false
		case ecnCE:
			return true
		}
		old := binary.BigEndian.Uint16(b[0:2])
		b[1] |= ecnCE
		sum := csumUpdate(binary.BigEndian.Uint16(b[10:12]), old, binary.BigEndian.Uint16(b[0:2]))
		binary.BigEndian.PutUint16(b[10:12], sum)
		return true
	case 6:
		if len(b) < 40 {
			return false
		}
		switch (b[1] >> 4) & 3 {
		case ecnNotECT:
			return false
		case ecnCE:
			return true
		}
		b[1] |= ecnCE << 4
		return true
	}
	return false
}

// csumUpdate returns the Internet checksum hc updated for one 16-bit word
// changing from old to new: HC' = ~(~HC + ~m + m') (RFC 1624, eqn. 3).
func csumUpdate(hc, old, new uint16) uint16 {
	s := uint32(^hc) + uint32(^old) + uint32(new)
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	return ^uint16(s)
}
