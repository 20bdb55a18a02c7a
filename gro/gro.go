// Package gro turns TUN super-packets into MTU-sized packets and back: pure
// functions over a packet.Batch, with no OS calls, for a TUN opened with
// IFF_VNET_HDR and offloads set with TUNSETOFFLOAD.
//
// Outbound (TUN read): the kernel hands us one TCP or UDP super-packet of up
// to 64 KiB with a VirtioNetHdr in front (TSO/USO) or a packet whose L4
// checksum it left to us (FlagNeedsCsum). Split cuts it into segments of
// HdrLen+GSOSize bytes, each with its own IP and L4 header and full
// checksums, into the spare slots of a batch, each at the slot's headroom
// so the encryption stage can prepend its header in place.
//
// Inbound (TUN write): Coalesce merges consecutive decrypted TCP segments
// (and UDP datagrams) of one flow into one super-packet with a
// VirtioNetHdr in front, so the kernel's stack runs once per 64 KiB instead
// of once per 1.4 KiB. Every packet it returns has a VirtioNetHdr in front,
// a zero one (GSONone) for packets it did not merge.
//
// Room for the merge: Coalesce appends the payload of later segments to the
// slot of the first one, in place, with Slot.Extend. It merges only while
// that slot has the tailroom, so the caller decides by the size of its
// slots: slots of packet.SlotSize(65535) let every flow grow to
// Options.MaxSize; 2 KiB slots (or AF_XDP frames) mean nothing is merged and
// every packet passes through, still correct. Merged-away slots are moved to
// the batch's spare end (packet.Batch.Compact), so no buffer is lost.
//
// Split and Coalesce are inverses: a super-packet split and coalesced again
// is the same super-packet, byte for byte in its payload and equivalent in
// its headers. The kernel's own GSO/GRO rules (net/ipv4/tcp_offload.c,
// udp_offload.c) decide what may merge; wireguard-go's tun/offload_linux.go
// (MIT, Copyright WireGuard LLC) was the model for both directions.
package gro

import (
	"errors"
	"fmt"
)

// Errors. Split returns them wrapped with the detail; callers branch with
// errors.Is, count and drop the packet.
var (
	// ErrMalformed: the packet or its VirtioNetHdr is inconsistent.
	ErrMalformed = errors.New("gro: malformed packet")
	// ErrUnsupported: a valid offload this package does not handle (UFO,
	// IPv6 extension headers in a GSO packet).
	ErrUnsupported = errors.New("gro: unsupported offload")
	// ErrTooBig: a segment would be larger than the MTU.
	ErrTooBig = errors.New("gro: segment larger than the MTU")
	// ErrNoRoom: the batch has too few spare slots, or a slot is too small
	// (Split) or lacks headroom for a VirtioNetHdr (Coalesce).
	ErrNoRoom = errors.New("gro: no room in the batch")
)

// Detailed errors, built once so that the error path does not allocate
// either: a flood of bad packets is counted, not garbage-collected.
var (
	errShortHdr    = fmt.Errorf("%w: short virtio_net_hdr", ErrMalformed)
	errIPVersion   = fmt.Errorf("%w: not IPv4 or IPv6", ErrMalformed)
	errShortIP     = fmt.Errorf("%w: truncated IP header", ErrMalformed)
	errIPLen       = fmt.Errorf("%w: IP length does not match the packet", ErrMalformed)
	errFragment    = fmt.Errorf("%w: GSO packet is an IP fragment", ErrMalformed)
	errGSOProto    = fmt.Errorf("%w: GSO type does not match the IP header", ErrMalformed)
	errShortL4     = fmt.Errorf("%w: truncated TCP/UDP header", ErrMalformed)
	errCsumOffsets = fmt.Errorf("%w: checksum start/offset outside the packet", ErrMalformed)
	errGSOSize     = fmt.Errorf("%w: zero gso_size", ErrMalformed)
	errGSOType     = fmt.Errorf("%w: unknown GSO type", ErrUnsupported)
	errUFO         = fmt.Errorf("%w: UFO (GSO_UDP)", ErrUnsupported)
	errExtHdr      = fmt.Errorf("%w: IPv6 extension headers in a GSO packet", ErrUnsupported)
	errTooManySegs = fmt.Errorf("%w: more segments than spare slots", ErrNoRoom)
	errSmallSlot   = fmt.Errorf("%w: slot too small for a segment", ErrNoRoom)
	errNoHeadroom  = fmt.Errorf("%w: slot headroom too small for a virtio_net_hdr", ErrNoRoom)
)

// IP and L4 header layout.
const (
	ipv4HdrLen = 20
	ipv6HdrLen = 40
	tcpHdrLen  = 20
	udpHdrLen  = 8

	protoTCP = 6
	protoUDP = 17

	tcpCsumOff = 16
	udpCsumOff = 6

	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpPSH = 0x08
	tcpACK = 0x10
	tcpURG = 0x20
	tcpECE = 0x40
	tcpCWR = 0x80

	maxIPLen = 65535
)
