package packet

import (
	"bytes"
	"testing"
)

func TestSlotHeadroomArithmetic(t *testing.T) {
	s := NewSlot(SlotSize(100))
	if s.Headroom() != Headroom || s.Len() != 0 || s.Tailroom() != 100+Tailroom {
		t.Fatalf("fresh slot: head %d len %d tail %d", s.Headroom(), s.Len(), s.Tailroom())
	}
	if !s.Set([]byte("payload")) {
		t.Fatal("Set")
	}
	h := s.Push(4)
	copy(h, "HDR:")
	tail := s.Extend(3)
	copy(tail, "TAG")
	if got := string(s.Data()); got != "HDR:payloadTAG" {
		t.Fatalf("data %q", got)
	}
	if !s.Pull(4) || !s.Trim(3) || string(s.Data()) != "payload" {
		t.Fatalf("after pull/trim %q", s.Data())
	}
	// Out-of-range requests change nothing.
	if s.Push(s.Headroom()+1) != nil || s.Extend(s.Tailroom()+1) != nil || s.Pull(100) || s.Trim(100) {
		t.Fatal("out-of-range request succeeded")
	}
	if s.SetLen(len(s.Buf)) || s.SetBounds(-1, 1) || s.SetBounds(10, len(s.Buf)) {
		t.Fatal("bad bounds accepted")
	}
	if string(s.Data()) != "payload" {
		t.Fatalf("changed by failed calls: %q", s.Data())
	}
	if s.Set(make([]byte, len(s.Buf))) {
		t.Fatal("oversize Set accepted")
	}
}

func TestBatchAppendCompactPool(t *testing.T) {
	b := NewBatch(4, 256)
	for i := range 5 {
		ok := b.Append([]byte{byte(i)}, Endpoint{})
		if ok != (i < 4) {
			t.Fatalf("append %d: %v", i, ok)
		}
	}
	slots := map[*Slot]bool{}
	for _, s := range b.Slots {
		slots[s] = true
	}
	b.Compact(func(s *Slot) bool { return s.Data()[0]%2 == 1 })
	if b.N != 2 || b.Slots[0].Data()[0] != 1 || b.Slots[1].Data()[0] != 3 {
		t.Fatalf("compact kept %d", b.N)
	}
	for _, s := range b.Slots {
		if !slots[s] {
			t.Fatal("compact lost a slot")
		}
		delete(slots, s)
	}
	p := NewPool(2, 4, 256)
	x, y := p.Get(), p.Get()
	x.Append([]byte("x"), Endpoint{})
	p.Put(x)
	if z := p.Get(); z.N != 0 || !bytes.Equal(z.Slots[0].Data(), nil) {
		t.Fatal("pool returned a dirty batch")
	}
	p.Put(y)
}

func TestBorrow(t *testing.T) {
	s := NewSlot(SlotSize(100))
	own := &s.Buf[0]
	ext := []byte("0123456789abcdefPACKETtail")
	if s.Borrow(ext, 16, 11) || s.Borrow(ext, -1, 2) || s.Borrow(ext, 2, -1) {
		t.Fatal("Borrow of a packet beyond the buffer succeeded")
	}
	if s.Borrowed() {
		t.Fatal("a failed Borrow left the slot borrowed")
	}
	if !s.Borrow(ext, 16, 6) || string(s.Data()) != "PACKET" || s.Headroom() != 16 || s.Tailroom() != 4 || !s.Borrowed() {
		t.Fatalf("borrowed: %q headroom %d tailroom %d", s.Data(), s.Headroom(), s.Tailroom())
	}
	copy(s.Push(2), "!!") // in place, in the lender's buffer
	if string(ext[14:22]) != "!!PACKET" {
		t.Fatalf("lender's buffer %q", ext)
	}
	if !s.Borrow(ext, 0, 4) { // borrowing again keeps the slot's own buffer
		t.Fatal("second Borrow failed")
	}
	s.Reset()
	if s.Borrowed() || &s.Buf[0] != own || s.Headroom() != Headroom || s.Len() != 0 {
		t.Fatal("Reset did not give the slot its own buffer back")
	}
}
