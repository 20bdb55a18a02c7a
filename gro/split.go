package gro

import (
	"encoding/binary"

	"github.com/wgxdp/wgxdp/packet"
)

// SplitRead is Split for a buffer as read from the TUN: a VirtioNetHdr
// followed by the packet.
func SplitRead(out *packet.Batch, b []byte, mtu int) (int, error) {
	var h VirtioNetHdr
	if h.Decode(b) != nil {
		return 0, errShortHdr
	}
	return Split(out, h, b[VirtioNetHdrLen:], mtu)
}

// Split copies the packet pkt that a TUN read returned with the header h
// into the spare slots of out (from out.N on, each at its headroom) and
// commits them: one packet for GSONone, with the checksum completed if h
// asks for it (FlagNeedsCsum); for TCPv4/TCPv6/UDP_L4 super-packets, one
// segment per GSOSize bytes of payload, each with a full IP and L4 header
// and valid checksums, none longer than mtu. It returns the number of
// packets added. pkt is not modified.
//
// It trusts nothing in h or pkt: headers are parsed, not taken from h, and
// an inconsistent packet gets an error wrapping ErrMalformed or
// ErrUnsupported. A segment over mtu gets ErrTooBig; too few spare slots,
// or a slot without room for a segment and packet.Tailroom, gets ErrNoRoom.
// On error out is unchanged.
func Split(out *packet.Batch, h VirtioNetHdr, pkt []byte, mtu int) (int, error) {
	switch h.GSOType {
	case GSONone:
		return splitNone(out, h, pkt, mtu)
	case GSOTCPv4, GSOTCPv6, GSOTCPv4 | GSOECN, GSOTCPv6 | GSOECN, GSOUDPL4:
		return splitGSO(out, h, pkt, mtu)
	case GSOUDP:
		return 0, errUFO
	default:
		return 0, errGSOType
	}
}

// CompleteChecksum does in place what Split does for a GSONone packet:
// with FlagNeedsCsum it completes the L4 checksum the way the kernel's
// skb_checksum_help does (the field at CsumStart+CsumOffset holds the
// pseudo-header sum; the sum over [CsumStart:] with it in place,
// complemented, is the checksum); without, it does nothing. It is for a
// caller that read a packet straight into a slot and found it not GSO.
func CompleteChecksum(h VirtioNetHdr, pkt []byte) error {
	if h.Flags&FlagNeedsCsum == 0 {
		return nil
	}
	cs, co := int(h.CsumStart), int(h.CsumStart)+int(h.CsumOffset)
	// The field must be a 16-bit word of the summed range: an odd offset
	// would straddle two (the kernel only ever sends 16, 6 or 8).
	if co+2 > len(pkt) || h.CsumOffset&1 != 0 {
		return errCsumOffsets
	}
	c := ^Fold(Checksum(pkt[cs:], 0))
	if c == 0 {
		c = 0xffff // CSUM_MANGLED_0: zero means "no checksum" to UDP
	}
	binary.BigEndian.PutUint16(pkt[co:], c)
	return nil
}

// splitNone copies one packet and completes its checksum.
func splitNone(out *packet.Batch, h VirtioNetHdr, pkt []byte, mtu int) (int, error) {
	if len(pkt) > mtu {
		return 0, ErrTooBig
	}
	if h.Flags&FlagNeedsCsum != 0 && (int(h.CsumStart)+int(h.CsumOffset)+2 > len(pkt) || h.CsumOffset&1 != 0) {
		return 0, errCsumOffsets // checked before anything is written
	}
	s := out.Next()
	if s == nil {
		return 0, errTooManySegs
	}
	room := s.Room()
	if len(room) < len(pkt)+packet.Tailroom {
		return 0, errSmallSlot
	}
	d := room[:len(pkt)]
	copy(d, pkt)
	CompleteChecksum(h, d) // cannot fail: checked above
	s.SetLen(len(pkt))
	out.Commit()
	return 1, nil
}

// splitGSO is the segmentation the kernel's tcp_gso_segment and
// __udp_gso_segment would do had the TUN not offered TSO/USO.
func splitGSO(out *packet.Batch, h VirtioNetHdr, pkt []byte, mtu int) (int, error) {
	if len(pkt) < 1 {
		return 0, errShortIP
	}
	var (
		iphLen   int
		proto    uint8
		v6       bool
		src, dst []byte
	)
	switch pkt[0] >> 4 {
	case 4:
		if len(pkt) < ipv4HdrLen {
			return 0, errShortIP
		}
		iphLen = int(pkt[0]&0xf) * 4
		if iphLen < ipv4HdrLen || len(pkt) < iphLen {
			return 0, errShortIP
		}
		if int(binary.BigEndian.Uint16(pkt[2:])) != len(pkt) {
			return 0, errIPLen
		}
		if binary.BigEndian.Uint16(pkt[6:])&0x3fff != 0 { // MF or an offset
			return 0, errFragment
		}
		proto = pkt[9]
		src, dst = pkt[12:16], pkt[16:20]
		if h.GSOType&^GSOECN == GSOTCPv6 {
			return 0, errGSOProto
		}
	case 6:
		if len(pkt) < ipv6HdrLen {
			return 0, errShortIP
		}
		iphLen, v6 = ipv6HdrLen, true
		if int(binary.BigEndian.Uint16(pkt[4:])) != len(pkt)-ipv6HdrLen {
			return 0, errIPLen
		}
		proto = pkt[6]
		src, dst = pkt[8:24], pkt[24:40]
		if h.GSOType&^GSOECN == GSOTCPv4 {
			return 0, errGSOProto
		}
	default:
		return 0, errIPVersion
	}
	isTCP := h.GSOType != GSOUDPL4
	want, csumOff := uint8(protoUDP), udpCsumOff
	if isTCP {
		want, csumOff = protoTCP, tcpCsumOff
	}
	if proto != want {
		if v6 && proto != protoTCP && proto != protoUDP {
			return 0, errExtHdr
		}
		return 0, errGSOProto
	}
	if h.Flags&FlagNeedsCsum != 0 && (int(h.CsumStart) != iphLen || int(h.CsumOffset) != csumOff) {
		return 0, errCsumOffsets
	}
	// Do not trust h.HdrLen: for a forwarded packet it can cover the whole
	// first segment (wireguard-go learned this); parse the L4 header.
	l4Len := udpHdrLen
	if isTCP {
		if len(pkt) < iphLen+tcpHdrLen {
			return 0, errShortL4
		}
		l4Len = int(pkt[iphLen+12]>>4) * 4
		if l4Len < tcpHdrLen {
			return 0, errShortL4
		}
	}
	hdrLen := iphLen + l4Len
	if len(pkt) < hdrLen {
		return 0, errShortL4
	}
	gso := int(h.GSOSize)
	if gso == 0 {
		return 0, errGSOSize
	}
	payload := len(pkt) - hdrLen
	nseg := (payload + gso - 1) / gso
	if nseg == 0 {
		nseg = 1 // headers only: one packet, as it came
	}
	if hdrLen+min(gso, payload) > mtu {
		return 0, ErrTooBig
	}
	if out.N+nseg > out.Cap() {
		return 0, errTooManySegs
	}
	// The pseudo-header without its length, once for all segments.
	ph := PseudoHeaderSum(proto, src, dst, 0)
	var seq uint32
	var id uint16
	if isTCP {
		seq = binary.BigEndian.Uint32(pkt[iphLen+4:])
	}
	if !v6 {
		id = binary.BigEndian.Uint16(pkt[4:])
	}
	for i := range nseg {
		start := hdrLen + i*gso
		end := min(start+gso, len(pkt))
		segLen := hdrLen + end - start
		s := out.Slots[out.N+i]
		s.Reset()
		room := s.Room()
		if len(room) < segLen+packet.Tailroom {
			return 0, errSmallSlot // out.N is not yet moved: out is unchanged
		}
		d := room[:segLen]
		copy(d, pkt[:hdrLen])
		copy(d[hdrLen:], pkt[start:end])
		if v6 {
			binary.BigEndian.PutUint16(d[4:], uint16(segLen-ipv6HdrLen))
		} else {
			binary.BigEndian.PutUint16(d[2:], uint16(segLen))
			binary.BigEndian.PutUint16(d[4:], id+uint16(i))
			d[10], d[11] = 0, 0
			binary.BigEndian.PutUint16(d[10:], ^Fold(Checksum(d[:iphLen], 0)))
		}
		l4 := d[iphLen:]
		if isTCP {
			binary.BigEndian.PutUint32(l4[4:], seq+uint32(i*gso))
			if i > 0 {
				l4[13] &^= tcpCWR // CWR goes out once, on the first segment
			}
			if i < nseg-1 {
				l4[13] &^= tcpFIN | tcpPSH // and these on the last
			}
		} else {
			binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
		}
		l4[csumOff], l4[csumOff+1] = 0, 0
		c := ^Fold(Checksum(l4, add(ph, uint64(len(l4)))))
		if c == 0 && !isTCP {
			c = 0xffff
		}
		binary.BigEndian.PutUint16(l4[csumOff:], c)
		s.SetLen(segLen)
	}
	out.N += nseg
	return nseg, nil
}
