package xdp

import (
	"bytes"
	"encoding/binary"
	"net/netip"
)

// Header sizes of the frames this package parses and builds.
const (
	ethLen  = 14
	ip4Len  = 20
	ip6Len  = 40
	udpLen  = 8
	hdrLen4 = ethLen + ip4Len + udpLen
	hdrLen6 = ethLen + ip6Len + udpLen
)

// parseUDP finds the UDP payload of an Ethernet frame and its addresses.
// It reports ok false for anything but a whole, unfragmented IPv4 or IPv6
// UDP datagram. The UDP checksum is not checked: frames from a local peer
// over veth carry only the pseudo-header sum (CHECKSUM_PARTIAL), and the
// WireGuard payload is authenticated anyway.
func parseUDP(f []byte) (payload []byte, src, dst netip.AddrPort, ok bool) {
	if len(f) < ethLen {
		return nil, src, dst, false
	}
	var l4 []byte
	var sa, da netip.Addr
	switch binary.BigEndian.Uint16(f[12:14]) {
	case 0x0800:
		ip := f[ethLen:]
		if len(ip) < ip4Len || ip[0]>>4 != 4 || ip[9] != 17 {
			return nil, src, dst, false
		}
		ihl := int(ip[0]&0x0f) * 4
		tot := int(binary.BigEndian.Uint16(ip[2:4]))
		if ihl < ip4Len || tot < ihl || tot > len(ip) || binary.BigEndian.Uint16(ip[6:8])&0x3fff != 0 {
			return nil, src, dst, false
		}
		sa = netip.AddrFrom4([4]byte(ip[12:16]))
		da = netip.AddrFrom4([4]byte(ip[16:20]))
		l4 = ip[ihl:tot]
	case 0x86dd:
		ip := f[ethLen:]
		if len(ip) < ip6Len || ip[0]>>4 != 6 || ip[6] != 17 {
			return nil, src, dst, false
		}
		pl := int(binary.BigEndian.Uint16(ip[4:6]))
		if ip6Len+pl > len(ip) {
			return nil, src, dst, false
		}
		sa = netip.AddrFrom16([16]byte(ip[8:24]))
		da = netip.AddrFrom16([16]byte(ip[24:40]))
		l4 = ip[ip6Len : ip6Len+pl]
	default:
		return nil, src, dst, false
	}
	if len(l4) < udpLen {
		return nil, src, dst, false
	}
	ul := int(binary.BigEndian.Uint16(l4[4:6]))
	if ul < udpLen || ul > len(l4) {
		return nil, src, dst, false
	}
	src = netip.AddrPortFrom(sa, binary.BigEndian.Uint16(l4[0:2]))
	dst = netip.AddrPortFrom(da, binary.BigEndian.Uint16(l4[2:4]))
	return l4[udpLen:ul], src, dst, true
}

// headerLen is the Ethernet/IP/UDP header length in front of a payload
// to an address of dst's family.
func headerLen(dst netip.Addr) int {
	if dst.Is4() {
		return hdrLen4
	}
	return hdrLen6
}

// buildUDP writes Ethernet, IP and UDP headers into f[:headerLen(dst)],
// for the payload already at f[headerLen(dst):][:n], and returns the frame
// length. src and dst must be of one family (4 or 6, not mapped). The IPv4
// header checksum is computed in software; so is the UDP checksum unless
// partial is set, when the check field gets only the pseudo-header sum
// (as for CHECKSUM_PARTIAL) for the kernel or the device to finish from
// the UDP header at udpCsumStart(dst) on.
func buildUDP(f []byte, dstMAC, srcMAC [6]byte, src, dst netip.AddrPort, n int, partial bool) int {
	copy(f[0:6], dstMAC[:])
	copy(f[6:12], srcMAC[:])
	ulen := udpLen + n
	var ip, udp []byte
	var sum uint32
	if dst.Addr().Is4() {
		binary.BigEndian.PutUint16(f[12:14], 0x0800)
		ip = f[ethLen : ethLen+ip4Len]
		ip[0], ip[1] = 0x45, 0
		binary.BigEndian.PutUint16(ip[2:4], uint16(ip4Len+ulen))
		ip[4], ip[5] = 0, 0 // ID: DF is set, so it is not needed (RFC 6864)
		ip[6], ip[7] = 0x40, 0
		ip[8], ip[9] = 64, 17
		ip[10], ip[11] = 0, 0
		s4, d4 := src.Addr().As4(), dst.Addr().As4()
		copy(ip[12:16], s4[:])
		copy(ip[16:20], d4[:])
		binary.BigEndian.PutUint16(ip[10:12], ^fold(sum16(ip, 0)))
		sum = sum16(ip[12:20], 17+uint32(ulen))
		udp = f[ethLen+ip4Len:]
	} else {
		binary.BigEndian.PutUint16(f[12:14], 0x86dd)
		ip = f[ethLen : ethLen+ip6Len]
		ip[0], ip[1], ip[2], ip[3] = 0x60, 0, 0, 0
		binary.BigEndian.PutUint16(ip[4:6], uint16(ulen))
		ip[6], ip[7] = 17, 64
		s6, d6 := src.Addr().As16(), dst.Addr().As16()
		copy(ip[8:24], s6[:])
		copy(ip[24:40], d6[:])
		sum = sum16(ip[8:40], 17+uint32(ulen))
		udp = f[ethLen+ip6Len:]
	}
	binary.BigEndian.PutUint16(udp[0:2], src.Port())
	binary.BigEndian.PutUint16(udp[2:4], dst.Port())
	binary.BigEndian.PutUint16(udp[4:6], uint16(ulen))
	if partial {
		binary.BigEndian.PutUint16(udp[6:8], fold(sum))
		return len(f[:ethLen]) + len(ip) + ulen
	}
	udp[6], udp[7] = 0, 0
	c := ^fold(sum16(udp[:ulen], sum))
	if c == 0 {
		c = 0xffff // 0 means "no checksum" (IPv4) or is invalid (IPv6)
	}
	binary.BigEndian.PutUint16(udp[6:8], c)
	return len(f[:ethLen]) + len(ip) + ulen
}

// udpCsumStart is where the UDP header starts in a frame buildUDP built,
// and udpCsumOffset where its check field is within it.
func udpCsumStart(dst netip.Addr) int { return headerLen(dst) - udpLen }

const udpCsumOffset = 6

// sum16 adds b as big-endian 16-bit words (odd tail padded with zero) to
// the one's-complement accumulator acc, unfolded.
func sum16(b []byte, acc uint32) uint32 {
	s := uint64(acc)
	for len(b) >= 8 {
		s += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	for len(b) >= 2 {
		s += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	for s>>32 != 0 {
		s = s&0xffffffff + s>>32
	}
	return uint32(s&0xffff) + uint32(s>>16)
}

// fold folds a 32-bit one's-complement sum to 16 bits.
func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// minTransport is the shortest WireGuard transport message: the 16-byte
// header and the tag of an empty (keepalive) payload.
const minTransport = 32

// gsoSegment returns the length of the first datagram in p, a UDP payload
// that may hold several WireGuard transport messages packed by a UDP GSO
// send: in generic (skb) mode the program sees a local sender's GSO packet
// (from a veth peer, or one that GRO built) whole, and one no longer than
// a frame reaches the XSK as a single datagram. The segments are of one
// size but for a shorter last one, and each begins with the same 8 bytes
// (type 4 and the receiver's index): the first repeat of those bytes ends
// the first segment. For anything else it returns len(p). A false match
// in ciphertext (about one in 2^64 per position) only costs the packet,
// which then fails authentication.
func gsoSegment(p []byte) int {
	const hdr = 8
	if len(p) < 2*minTransport || binary.LittleEndian.Uint32(p) != 4 {
		return len(p)
	}
	i := bytes.Index(p[minTransport:], p[:hdr])
	if i < 0 {
		return len(p)
	}
	return minTransport + i
}
