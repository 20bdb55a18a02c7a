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
