// Package packet is the buffer layout every stage of wgxdp shares: a Slot
// holds one packet with headroom in front and tailroom behind, so headers are
// prepended and tags appended in place, and a Batch is a fixed-capacity list
// of slots owned by one goroutine from read to write.
//
//	| headroom ≥ 128 B | packet | tailroom ≥ 32 B |
//
// Callers never do offset arithmetic by hand: they use Data, Push, Pull,
// Extend and Trim.
package packet

import (
	"net/netip"
)

const (
	// Headroom is reserved in front of a freshly reset slot: Ethernet 14 +
	// IPv6 40 + UDP 8 + WireGuard 16 = 78 bytes fit, as does a
	// virtio_net_hdr in front of a TUN packet.
	Headroom = 128
	// Tailroom is reserved behind the largest packet: padding (≤ 15) and
	// the 16-byte Poly1305 tag.
	Tailroom = 32
	// DefaultSlotSize fits an MTU of 65535 - not needed by default; most
	// pools use SlotSize(mtu).
	DefaultSlotSize = 2048
	// MaxBatch bounds the size of a batch.
	MaxBatch = 128
)

// SlotSize returns the slot size that holds an inner packet of mtu bytes
// with the standard headroom and tailroom.
func SlotSize(mtu int) int { return Headroom + mtu + Tailroom }

// Endpoint is a remote UDP address and, for replies, the local address the
// remote wrote to (sticky source). The zero Src means "let the kernel pick".
type Endpoint struct {
	Dst     netip.AddrPort
	Src     netip.Addr
	IfIndex int32
}

// String formats the remote address as wg(8) prints it.
func (e Endpoint) String() string { return e.Dst.String() }

// IsValid reports whether the endpoint has a remote address.
func (e Endpoint) IsValid() bool { return e.Dst.IsValid() }

// Slot is one packet buffer. Buf is fixed at creation, but for a slot a
// receiver lent a buffer of its own to (Borrow); the packet is
// Buf[off:off+n].
type Slot struct {
	Buf []byte
	own []byte // the slot's own buffer while Buf is borrowed (Borrow)
	off int
	n   int
	// Ep is the remote endpoint a received datagram came from, or where
	// a datagram goes when a Bind sends per-slot.
	Ep Endpoint
	// Meta is free for the stage that owns the slot (e.g. a peer index).
	Meta uintptr
	// RxTime is when the kernel queued a received datagram, in Unix
	// nanoseconds (SO_TIMESTAMPNS), or 0 if unknown: the receiver measures
	// how long it waited in the socket's buffer.
	RxTime int64
	// Express marks a received datagram that came through an express lane
	// (conn's priority socket), past the bulk receive queue.
	Express bool
}

// NewSlot returns a slot with a buffer of size bytes, reset.
func NewSlot(size int) *Slot {
	s := &Slot{Buf: make([]byte, size)}
	s.Reset()
	return s
}

// Borrow makes buf[off:off+n] the slot's packet, buf[:off] its headroom
// and buf[off+n:] its tailroom, until the next Reset, which gives the slot
// its own buffer back. A receiver hands out packets this way where they lie
// in its own buffer, without a copy; it must not reuse buf until the
// slot's holder is done with it. It reports false, changing nothing, if
// the packet does not fit in buf.
func (s *Slot) Borrow(buf []byte, off, n int) bool {
	if off < 0 || n < 0 || off > len(buf)-n {
		return false
	}
	if s.own == nil {
		s.own = s.Buf
	}
	s.Buf, s.off, s.n = buf, off, n
	return true
}

// Borrowed reports whether the slot's buffer is borrowed (Borrow).
func (s *Slot) Borrowed() bool { return s.own != nil }

// Reset empties the slot and puts the start at the headroom.
func (s *Slot) Reset() {
	if s.own != nil {
		s.Buf, s.own = s.own, nil
	}
	s.off = Headroom
	if s.off > len(s.Buf) {
		s.off = 0
	}
	s.n = 0
	s.Ep = Endpoint{}
	s.Meta = 0
	s.Express = false
	s.RxTime = 0
}

// Data returns the packet bytes.
func (s *Slot) Data() []byte { return s.Buf[s.off : s.off+s.n] }

// Len returns the packet length.
func (s *Slot) Len() int { return s.n }

// Offset returns the packet's start within Buf.
func (s *Slot) Offset() int { return s.off }

// Headroom returns the free bytes in front of the packet.
func (s *Slot) Headroom() int { return s.off }

// Tailroom returns the free bytes behind the packet.
func (s *Slot) Tailroom() int { return len(s.Buf) - s.off - s.n }

// Room returns the bytes from the packet start to the end of the buffer,
// for a read that lands at the current offset.
func (s *Slot) Room() []byte { return s.Buf[s.off:] }

// SetLen sets the packet length after a read into Room. It reports false,
// changing nothing, if n does not fit.
func (s *Slot) SetLen(n int) bool {
	if n < 0 || s.off+n > len(s.Buf) {
		return false
	}
	s.n = n
	return true
}

// SetBounds places the packet at Buf[off:off+n]. It reports false, changing
// nothing, if that is out of range.
func (s *Slot) SetBounds(off, n int) bool {
	if off < 0 || n < 0 || off+n > len(s.Buf) {
		return false
	}
	s.off, s.n = off, n
	return true
}

// Push grows the packet by n bytes at the front and returns them.
// It reports nil if the headroom is too small.
func (s *Slot) Push(n int) []byte {
	if n > s.off {
		return nil
	}
	s.off -= n
	s.n += n
	return s.Buf[s.off : s.off+n]
}

// Pull drops n bytes from the front. It reports false if the packet is
// shorter than n.
func (s *Slot) Pull(n int) bool {
	if n > s.n {
		return false
	}
	s.off += n
	s.n -= n
	return true
}

// Extend grows the packet by n bytes at the back and returns them (not
// zeroed). It reports nil if the tailroom is too small.
func (s *Slot) Extend(n int) []byte {
	if n > s.Tailroom() {
		return nil
	}
	b := s.Buf[s.off+s.n : s.off+s.n+n]
	s.n += n
	return b
}

// Trim drops n bytes from the back. It reports false if the packet is
// shorter than n.
func (s *Slot) Trim(n int) bool {
	if n > s.n {
		return false
	}
	s.n -= n
	return true
}

// Set copies p into the slot at the headroom. It reports false if p does
// not fit.
func (s *Slot) Set(p []byte) bool {
	s.Reset()
	if len(p) > len(s.Buf)-s.off {
		return false
	}
	s.n = copy(s.Buf[s.off:], p)
	return true
}

// Batch is a fixed-capacity list of slots. Slots[:N] hold packets; the
// rest are spare. A batch is owned by one goroutine at a time.
type Batch struct {
	Slots []*Slot
	N     int
}

// NewBatch returns a batch of capacity slots of slotSize bytes each.
func NewBatch(capacity, slotSize int) *Batch {
	b := &Batch{Slots: make([]*Slot, capacity)}
	for i := range b.Slots {
		b.Slots[i] = NewSlot(slotSize)
	}
	return b
}

// Cap returns the number of slots.
func (b *Batch) Cap() int { return len(b.Slots) }

// Reset empties the batch and resets every slot.
func (b *Batch) Reset() {
	for _, s := range b.Slots {
		s.Reset()
	}
	b.N = 0
}

// Packets returns the filled slots.
func (b *Batch) Packets() []*Slot { return b.Slots[:b.N] }

// Next returns the next spare slot, reset, or nil if the batch is full.
// The caller fills it, then calls Commit.
func (b *Batch) Next() *Slot {
	if b.N >= len(b.Slots) {
		return nil
	}
	s := b.Slots[b.N]
	s.Reset()
	return s
}

// Commit counts the slot returned by Next as filled.
func (b *Batch) Commit() { b.N++ }

// Append copies p into the next spare slot with endpoint ep. It reports
// false if the batch is full or p does not fit.
func (b *Batch) Append(p []byte, ep Endpoint) bool {
	s := b.Next()
	if s == nil || !s.Set(p) {
		return false
	}
	s.Ep = ep
	b.N++
	return true
}

// Compact keeps only the packets for which keep returns true, preserving
// order; dropped slots move to the spare end so no buffer is lost.
func (b *Batch) Compact(keep func(*Slot) bool) {
	j := 0
	for i := 0; i < b.N; i++ {
		if keep(b.Slots[i]) {
			b.Slots[i], b.Slots[j] = b.Slots[j], b.Slots[i]
			j++
		}
	}
	b.N = j
}

// Pool is a bounded pool of batches. Get blocks when all are out, which is
// the backpressure that keeps memory bounded.
type Pool struct {
	ch chan *Batch
}

// NewPool makes count batches of capacity slots of slotSize bytes.
func NewPool(count, capacity, slotSize int) *Pool {
	p := &Pool{ch: make(chan *Batch, count)}
	for range count {
		p.ch <- NewBatch(capacity, slotSize)
	}
	return p
}

// Get takes a batch, reset, blocking until one is free.
func (p *Pool) Get() *Batch {
	b := <-p.ch
	b.Reset()
	return b
}

// Put returns a batch.
func (p *Pool) Put(b *Batch) { p.ch <- b }
