package tun

// TUN offloads (IFF_VNET_HDR), after wireguard-go's tun/tun_linux.go and
// tun/offload_linux.go (MIT, Copyright (C) 2017-2025 WireGuard LLC): every
// read and write carries a virtio_net_hdr, and TUNSETOFFLOAD lets the
// kernel hand us TCP (TSO) and UDP (USO) super-packets of up to 64 KiB,
// which Read splits with gro.SplitRead; Write merges runs of segments
// (gro.CoalesceLinked), so the kernel's stack runs once per super-packet.
//
// Buffers: each queue's reader has one 64 KiB read buffer; a packet whose
// segments do not fit in the rest of the batch stays in it for the next
// Read, and one whose segments do not fit even in an empty batch is split
// into a spill batch (made on first need) and handed out over the next
// Reads. Write copies nothing: a super-packet is gathered by one writev
// from its first segment (headers rewritten for the whole, then restored)
// and the payloads of the others, where they lie in the caller's slots.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/wgxdp/wgxdp/gro"
	"github.com/wgxdp/wgxdp/packet"
)

const maxIPLen = 65535

// offloadStats counts what the offloads did, for tests and benchmarks.
type offloadStats struct {
	gsoRead      atomic.Uint64 // super-packets read
	segsRead     atomic.Uint64 // packets they were split into
	dropped      atomic.Uint64 // packets read that could not be split
	superWritten atomic.Uint64 // super-packets written
	segsMerged   atomic.Uint64 // packets written inside them
	// expressRead counts packets read from the express queue and
	// expressDemotions its realtime lane's demotions (package rtlane).
	expressRead, expressDemotions atomic.Uint64
}

// setOffloads sets the offloads on a fd opened with IFF_VNET_HDR: none
// unless want; else TCP and UDP segmentation, or TCP alone where the
// kernel refuses USO (before 6.2), or TCP without ECN. It fails only if
// want and the kernel takes no TCP offload at all. It also makes sure the
// header is the 10-byte, little-endian one gro speaks.
func setOffloads(fd int, want bool) (tcp, udp bool, err error) {
	if n, err := unix.IoctlGetInt(fd, unix.TUNGETVNETHDRSZ); err == nil && n != gro.VirtioNetHdrLen {
		if err := unix.IoctlSetPointerInt(fd, unix.TUNSETVNETHDRSZ, gro.VirtioNetHdrLen); err != nil {
			return false, false, fmt.Errorf("tun: TUNSETVNETHDRSZ: %w", err)
		}
	}
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		if err := unix.IoctlSetPointerInt(fd, unix.TUNSETVNETLE, 1); err != nil {
			return false, false, fmt.Errorf("tun: TUNSETVNETLE: %w", err)
		}
	}
	if !want {
		return false, false, unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, 0)
	}
	if unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, gro.OffloadsTCP|gro.OffloadsUDP) == nil {
		return true, true, nil
	}
	if unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, gro.OffloadsTCP) == nil {
		return true, false, nil
	}
	if err := unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, gro.OffloadsTCP&^gro.TunFTSOECN); err != nil {
		return false, false, fmt.Errorf("tun: TUNSETOFFLOAD: %w", err)
	}
	return true, false, nil
}

// detectOffloads asks an open TUN fd whether it has IFF_VNET_HDR and, if
// so, sets the offloads (as setOffloads; without them it still speaks
// the header, which is the fd's for good).
func detectOffloads(file *os.File, want bool) (vnet, tcp, udp bool, err error) {
	rc, err := file.SyscallConn()
	if err != nil {
		return false, false, false, fmt.Errorf("tun: %w", err)
	}
	ifr, err := unix.NewIfreq("")
	if err != nil {
		return false, false, false, err
	}
	cerr := rc.Control(func(fd uintptr) {
		if err = unix.IoctlIfreq(int(fd), unix.TUNGETIFF, ifr); err != nil {
			err = fmt.Errorf("tun: TUNGETIFF: %w", err)
			return
		}
		if vnet = ifr.Uint16()&unix.IFF_VNET_HDR != 0; !vnet {
			return
		}
		if tcp, udp, err = setOffloads(int(fd), want); err != nil && want {
			tcp, udp, err = setOffloads(int(fd), false)
		}
	})
	if cerr != nil {
		return false, false, false, fmt.Errorf("tun: %w", cerr)
	}
	return vnet, tcp, udp, err
}

// vnetReader is a queue's read state with IFF_VNET_HDR.
type vnetReader struct {
	buf   []byte       // one read: virtio_net_hdr + up to 64 KiB
	pend  int          // length of a read in buf not yet split; 0: none
	view  packet.Batch // the caller's batch cut to the read limit
	spill *packet.Batch
	next  int // spill.Slots[next:spill.N] are yet to be handed out
	stats *offloadStats
}

func (r *vnetReader) init(st *offloadStats) {
	r.buf = make([]byte, gro.VirtioNetHdrLen+maxIPLen)
	r.stats = st
}

// ready hands out what earlier reads left: spilled segments, then a
// pending packet. It reports whether b is done without reading more.
func (r *vnetReader) ready(b *packet.Batch, rmax int) bool {
	if r.spill != nil && r.next < r.spill.N {
		r.drainSpill(b, rmax)
		if b.N == rmax || r.next < r.spill.N {
			return true
		}
	}
	if r.pend > 0 {
		return !r.split(b, rmax, r.pend) || b.N == rmax
	}
	return false
}

// split splits the read of n bytes in buf into b (at most rmax packets).
// It reports false if the packet stays in buf for the next Read because
// the rest of b cannot hold it. Packets that cannot be split are dropped
// and counted.
func (r *vnetReader) split(b *packet.Batch, rmax, n int) bool {
	r.pend = 0
	if n < gro.VirtioNetHdrLen {
		r.stats.dropped.Add(1)
		return true
	}
	r.view.Slots, r.view.N = b.Slots[:rmax], b.N
	k, err := gro.SplitRead(&r.view, r.buf[:n], maxIPLen)
	r.view.Slots = nil
	switch {
	case err == nil:
		b.N += k
		if r.buf[1] != gro.GSONone {
			r.stats.gsoRead.Add(1)
			r.stats.segsRead.Add(uint64(k))
		}
		return true
	case !errors.Is(err, gro.ErrNoRoom):
	case b.N > 0:
		r.pend = n // try again in an empty batch
		return false
	case r.toSpill(b, n):
		r.drainSpill(b, rmax)
		return true
	}
	r.stats.dropped.Add(1)
	return true
}

// toSpill splits the read of n bytes into the spill batch, which has
// packet.MaxBatch slots as big as b's first.
func (r *vnetReader) toSpill(b *packet.Batch, n int) bool {
	size := len(b.Slots[0].Buf)
	if r.spill == nil || len(r.spill.Slots[0].Buf) != size {
		r.spill = packet.NewBatch(packet.MaxBatch, size)
	}
	r.spill.N, r.next = 0, 0
	k, err := gro.SplitRead(r.spill, r.buf[:n], maxIPLen)
	if err != nil {
		return false
	}
	r.stats.gsoRead.Add(1)
	r.stats.segsRead.Add(uint64(k))
	return true
}

// drainSpill copies spilled segments into b while it has room.
func (r *vnetReader) drainSpill(b *packet.Batch, rmax int) {
	for b.N < rmax && r.next < r.spill.N {
		p := r.spill.Slots[r.next].Data()
		r.next++
		s := b.Slots[b.N]
		if s.Set(p) && s.Tailroom() >= packet.Tailroom {
			b.N++
		} else {
			r.stats.dropped.Add(1)
		}
	}
}

// writeLinked writes the packets of w.b[w.i:w.end], planned by
// gro.CoalesceLinked into w.links: each super-packet is gathered from its
// head and the payloads linked to it by one writev, with no copy in user
// space; the other packets already carry their (zero) virtio_net_hdr.
func (w *tunWriter) writeLinked(fd int) bool {
	for ; w.i < w.end; w.i++ {
		i := w.i - w.from
		if w.links.Merged(i) {
			continue
		}
		s := w.b.Slots[w.i]
		iov := w.iov[:0]
		iov = appendIovec(iov, s.Data())
		for j := w.links.Next(i); j >= 0; j = w.links.Next(j) {
			iov = appendIovec(iov, w.links.Payload(j, w.b.Slots[w.from+j].Data()))
		}
		w.iov = iov
		for {
			err := writev(fd, iov)
			if retry, wait := w.outcome(err); wait {
				return false
			} else if retry {
				continue
			}
			if err == nil && len(iov) > 1 {
				w.stats.superWritten.Add(1)
				w.stats.segsMerged.Add(uint64(len(iov)))
			}
			break
		}
	}
	return true
}

// zeroHdr is the header of a packet written as it is.
var zeroHdr [gro.VirtioNetHdrLen]byte

// writeZeroHdr writes the packet of s with a zero virtio_net_hdr in
// front: in its headroom, taken off again after, or if it has none, by
// writev.
func writeZeroHdr(fd int, s *packet.Slot) error {
	if h := s.Push(gro.VirtioNetHdrLen); h != nil {
		clear(h)
		_, err := unix.Write(fd, s.Data())
		s.Pull(gro.VirtioNetHdrLen)
		return err
	}
	_, err := unix.Writev(fd, [][]byte{zeroHdr[:], s.Data()})
	return err
}
