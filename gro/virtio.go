package gro

import (
	"encoding/binary"
	"io"
)

// VirtioNetHdrLen is the size of struct virtio_net_hdr, the header a TUN
// opened with IFF_VNET_HDR puts in front of every packet it reads and
// expects in front of every packet written to it.
const VirtioNetHdrLen = 10

// virtio_net_hdr flags (include/uapi/linux/virtio_net.h).
const (
	// FlagNeedsCsum (VIRTIO_NET_HDR_F_NEEDS_CSUM) says the L4 checksum is
	// not done: the field at CsumStart+CsumOffset holds the folded
	// pseudo-header sum, and the sum over [CsumStart:] completes it.
	FlagNeedsCsum = 1
	// FlagDataValid (VIRTIO_NET_HDR_F_DATA_VALID) says the checksum was
	// already verified.
	FlagDataValid = 2
)

// virtio_net_hdr gso_type values.
const (
	GSONone  = 0    // VIRTIO_NET_HDR_GSO_NONE
	GSOTCPv4 = 1    // VIRTIO_NET_HDR_GSO_TCPV4
	GSOUDP   = 3    // VIRTIO_NET_HDR_GSO_UDP (UFO: IP fragmentation; not supported)
	GSOTCPv6 = 4    // VIRTIO_NET_HDR_GSO_TCPV6
	GSOUDPL4 = 5    // VIRTIO_NET_HDR_GSO_UDP_L4 (USO: UDP_SEGMENT datagrams)
	GSOECN   = 0x80 // VIRTIO_NET_HDR_GSO_ECN, or-ed into a TCP type: CWR is set on the first segment
)

// TUN_F_* offload flags for the TUNSETOFFLOAD ioctl (include/uapi/linux/if_tun.h;
// x/sys has none of them). The kernel rejects any offload without TunFCsum, and
// rejects TunFUSO4 or TunFUSO6 unless both are set.
const (
	TunFCsum   = 0x01 // TUN_F_CSUM: the kernel may hand us CHECKSUM_PARTIAL packets
	TunFTSO4   = 0x02 // TUN_F_TSO4: ... and TCPv4 super-packets
	TunFTSO6   = 0x04 // TUN_F_TSO6: ... and TCPv6 super-packets
	TunFTSOECN = 0x08 // TUN_F_TSO_ECN: ... with CWR set (GSOECN)
	TunFUFO    = 0x10 // TUN_F_UFO: ... and UFO super-packets (not supported by Split)
	TunFUSO4   = 0x20 // TUN_F_USO4: ... and UDP_SEGMENT IPv4 super-packets
	TunFUSO6   = 0x40 // TUN_F_USO6: ... and UDP_SEGMENT IPv6 super-packets
)

// Offloads to set on a TUN whose reads go through Split: TCP segmentation
// (with ECN) and, where the kernel takes it, UDP segmentation.
const (
	OffloadsTCP = TunFCsum | TunFTSO4 | TunFTSO6 | TunFTSOECN
	OffloadsUDP = TunFUSO4 | TunFUSO6
)

// VirtioNetHdr is struct virtio_net_hdr. On the wire it is 10 bytes, with
// the 16-bit fields little-endian (a TUN uses the host's byte order unless
// TUNSETVNETBE says otherwise; every architecture we build for that matters
// here is little-endian, and TUNSETVNETLE can force it elsewhere).
type VirtioNetHdr struct {
	Flags      uint8
	GSOType    uint8
	HdrLen     uint16 // length of the IP + L4 headers of a GSO packet
	GSOSize    uint16 // payload bytes per segment
	CsumStart  uint16 // where the L4 checksum starts (the L4 header)
	CsumOffset uint16 // offset of the checksum field from CsumStart
}

// Encode writes the header into b[:VirtioNetHdrLen].
func (h VirtioNetHdr) Encode(b []byte) error {
	if len(b) < VirtioNetHdrLen {
		return io.ErrShortBuffer
	}
	b[0] = h.Flags
	b[1] = h.GSOType
	binary.LittleEndian.PutUint16(b[2:], h.HdrLen)
	binary.LittleEndian.PutUint16(b[4:], h.GSOSize)
	binary.LittleEndian.PutUint16(b[6:], h.CsumStart)
	binary.LittleEndian.PutUint16(b[8:], h.CsumOffset)
	return nil
}

// Decode reads the header from b[:VirtioNetHdrLen].
func (h *VirtioNetHdr) Decode(b []byte) error {
	if len(b) < VirtioNetHdrLen {
		return io.ErrShortBuffer
	}
	h.Flags = b[0]
	h.GSOType = b[1]
	h.HdrLen = binary.LittleEndian.Uint16(b[2:])
	h.GSOSize = binary.LittleEndian.Uint16(b[4:])
	h.CsumStart = binary.LittleEndian.Uint16(b[6:])
	h.CsumOffset = binary.LittleEndian.Uint16(b[8:])
	return nil
}
