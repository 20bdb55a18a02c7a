package conn

// UDP offload planning, free of system calls: how a send batch is cut into
// UDP_SEGMENT messages (GSO) and how a coalesced UDP_GRO datagram is cut
// back into datagrams. The coalescing rule follows wireguard-go's
// coalesceMessages and splitCoalescedMessages in conn/bind_std.go (MIT,
// Copyright (C) 2017-2025 WireGuard LLC).

import (
	"github.com/wgxdp/wgxdp/packet"
)

const (
	// maxGSOSegments is the kernel's UDP_MAX_SEGMENTS: more datagrams in
	// one UDP_SEGMENT send fail with EINVAL.
	maxGSOSegments = 64
	// maxIPv4Payload and maxIPv6Payload bound one UDP_SEGMENT send: the
	// whole payload must fit one (unsegmented) UDP datagram, or the send
	// fails with EMSGSIZE. IPv6's payload length excludes its header.
	maxIPv4Payload = 1<<16 - 1 - 20 - 8
	maxIPv6Payload = 1<<16 - 1 - 8
	// groBufferSize holds the largest datagram a UDP_GRO socket delivers.
	groBufferSize = 1 << 16
	// groHeadroom is kept free in front of each GRO buffer, so that every
	// segment handed out in place (packet.Slot.Borrow) has that much
	// headroom: the first in these bytes, the others in the tail of the
	// segment before, which by then is spent (a WireGuard tag). Enough for
	// a virtio_net_hdr in front of a decrypted packet.
	groHeadroom = 16
	// groStride is the distance between GRO buffers.
	groStride = groHeadroom + groBufferSize
	// defaultGROBuffers is how many groBufferSize buffers a GRO receiver
	// reads into per recvmmsg: 512 KiB per socket. Eight coalesced
	// datagrams of 1452-byte segments fill more than two full batches;
	// uncoalesced traffic gets eight datagrams per system call.
	defaultGROBuffers = 8
)

// gsoRun returns how many datagrams from the start of pkts (non-empty) go
// into one UDP_SEGMENT message, and the segment size: a run of equal
// sizes, of which the last may be shorter, at most maxGSOSegments of them
// and at most maxPayload bytes in all. An empty datagram is never coalesced
// (a segment cannot be empty). A run of 1 is sent without UDP_SEGMENT.
//
// A shorter last datagram that is small enough for a receiver's priority
// socket (DefaultPriorityMax; the peer's own setting is unknown here) is
// left to start the next message: as the tail of the run it would arrive
// in one skb with the run, which the receiver's program steers by its
// whole length to the bulk socket. This is what an ICMP echo or a TCP ACK
// read from the TUN right after a bulk flow's packets would otherwise be.
func gsoRun(pkts []*packet.Slot, maxPayload int) (count, segSize int) {
	segSize = pkts[0].Len()
	if segSize == 0 {
		return 1, 0
	}
	total := segSize
	count = 1
	for count < len(pkts) && count < maxGSOSegments {
		l := pkts[count].Len()
		if l == 0 || l > segSize || total+l > maxPayload || (l < segSize && l <= DefaultPriorityMax) {
			break
		}
		total += l
		count++
		if l < segSize {
			break
		}
	}
	return count, segSize
}

// nextSegment returns the end of the segment of a coalesced datagram of
// n bytes that starts at off, when segments are segSize bytes (0: the
// datagram is one segment). off < n.
func nextSegment(off, n, segSize int) int {
	if segSize <= 0 {
		return n
	}
	return min(off+segSize, n)
}
