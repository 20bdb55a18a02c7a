package gro

import (
	"github.com/wgxdp/wgxdp/packet"
)

// maxSavedHdr bounds the headers Linked keeps for Restore: IPv6 (40) and
// TCP with options (60) fit.
const maxSavedHdr = 128

// Linked is CoalesceLinked's plan for one batch: which packets head a
// super-packet, and which packets' payloads follow them, in order. It is
// large (about 20 KiB); keep one per writer and reuse it.
type Linked struct {
	n      int
	next   [packet.MaxBatch]int16 // the packet whose payload follows, -1 at the end
	tail   [packet.MaxBatch]int16 // heads: the last packet linked so far
	merged [packet.MaxBatch]bool  // the payload belongs to an earlier head
	off    [packet.MaxBatch]uint16
	saved  [packet.MaxBatch]uint8 // heads: bytes of header kept in hdrs (0: none)
	hdrs   [packet.MaxBatch][maxSavedHdr]byte
}

func (l *Linked) reset(n int) {
	l.n = n
	for i := range n {
		l.next[i] = -1
	}
	clear(l.merged[:n])
	clear(l.saved[:n])
}

func (l *Linked) save(i int, hdr []byte) {
	l.saved[i] = uint8(copy(l.hdrs[i][:], hdr))
}

// Merged reports whether packet i's payload was linked to an earlier
// packet's super-packet: it is not written on its own.
func (l *Linked) Merged(i int) bool { return l.merged[i] }

// Next returns the packet whose payload follows packet i's in its
// super-packet, or -1.
func (l *Linked) Next(i int) int { return int(l.next[i]) }

// Payload returns the part of merged packet p (the data of packet i) that
// goes into its super-packet: what follows its headers.
func (l *Linked) Payload(i int, p []byte) []byte { return p[l.off[i]:] }

// CoalesceLinked is Coalesce without copying a byte of payload, for a
// writer that gathers (writev): it decides the same merges, pushes the
// same VirtioNetHdr in front of every packet that is not merged, and
// rewrites each head's IP and L4 header for the whole super-packet; but
// merged packets stay in their slots, untouched, and l says where their
// payloads go: a super-packet is its head's Data() followed by
// l.Payload(j, …) for j = l.Next(head), l.Next(j), … . b keeps its order
// and length. Restore undoes what it did to b.
//
// b may hold at most packet.MaxBatch packets (else ErrNoRoom); every slot
// needs VirtioNetHdrLen bytes of headroom (else ErrNoRoom, b unchanged).
func CoalesceLinked(b *packet.Batch, opts Options, l *Linked) error {
	pkts := b.Packets()
	if len(pkts) > packet.MaxBatch {
		return errTooManySegs
	}
	maxSize, merge, err := prepareCoalesce(pkts, opts)
	if err != nil {
		return err
	}
	l.reset(len(pkts)) // nothing merged yet: Restore takes the headers off
	if !merge {
		return nil
	}
	var t table // on the stack: no allocation per batch
	t.opts, t.maxSize, t.links = opts, maxSize, l
	t.reset(pkts)
	for i := range pkts {
		t.add(i)
	}
	for i := range t.flows[:t.nflows] {
		t.finish(&t.flows[i])
	}
	for i, s := range pkts {
		if t.state[i] == stateNone {
			clear(s.Push(VirtioNetHdrLen))
		}
	}
	return nil
}

// Restore gives b's packets back as they were before CoalesceLinked: the
// VirtioNetHdr taken off and the heads' headers as they came.
func (l *Linked) Restore(b *packet.Batch) {
	for i, s := range b.Packets()[:l.n] {
		if l.merged[i] {
			continue
		}
		s.Pull(VirtioNetHdrLen)
		if k := int(l.saved[i]); k > 0 {
			copy(s.Data(), l.hdrs[i][:k])
		}
	}
}
