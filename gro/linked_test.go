package gro

import (
	"bytes"
	"errors"
	"testing"

	"github.com/wgxdp/wgxdp/packet"
)

// gather returns what a writer of CoalesceLinked's plan writes: one byte
// string per packet that is not merged.
func gather(b *packet.Batch, l *Linked) [][]byte {
	var out [][]byte
	for i, s := range b.Packets() {
		if l.Merged(i) {
			continue
		}
		p := bytes.Clone(s.Data())
		for j := l.Next(i); j >= 0; j = l.Next(j) {
			p = append(p, l.Payload(j, b.Slots[j].Data())...)
		}
		out = append(out, p)
	}
	return out
}

// FuzzCoalesceLinked: CoalesceLinked, gathered, writes exactly what
// Coalesce (with room to grow) writes, and Restore gives the batch back.
func FuzzCoalesceLinked(f *testing.F) {
	for _, s := range coalesceSeeds() {
		f.Add(s)
	}
	copied := packet.NewBatch(packet.MaxBatch, packet.SlotSize(65535))
	linked := packet.NewBatch(packet.MaxBatch, 2048)
	var l Linked
	f.Fuzz(func(t *testing.T, data []byte) {
		opts, in := coalesceBatch(copied, data)
		linked.Reset()
		for _, p := range in {
			linked.Append(p, packet.Endpoint{})
		}
		if err := Coalesce(copied, opts); err != nil {
			t.Fatal(err)
		}
		if err := CoalesceLinked(linked, opts, &l); err != nil {
			t.Fatal(err)
		}
		got := gather(linked, &l)
		if len(got) != copied.N {
			t.Fatalf("linked writes %d packets, Coalesce %d", len(got), copied.N)
		}
		for i, s := range copied.Packets() {
			if !bytes.Equal(got[i], s.Data()) {
				t.Fatalf("packet %d differs:\nlinked %x\ncopied %x", i, got[i], s.Data())
			}
		}
		l.Restore(linked)
		if linked.N != len(in) {
			t.Fatalf("%d packets after Restore, want %d", linked.N, len(in))
		}
		for i, s := range linked.Packets() {
			if !bytes.Equal(s.Data(), in[i]) {
				t.Fatalf("packet %d not restored:\n got %x\nwant %x", i, s.Data(), in[i])
			}
		}
	})
}

func TestCoalesceLinkedLimits(t *testing.T) {
	var l Linked
	b := packet.NewBatch(packet.MaxBatch+1, 2048)
	for range b.Cap() {
		b.Append([]byte{0x45}, packet.Endpoint{})
	}
	if err := CoalesceLinked(b, allOn, &l); !errors.Is(err, ErrNoRoom) {
		t.Fatalf("%d packets: %v, want ErrNoRoom", b.N, err)
	}
	b.N = 2
	b.Slots[1].Push(b.Slots[1].Headroom()) // no headroom left
	if err := CoalesceLinked(b, allOn, &l); !errors.Is(err, ErrNoRoom) {
		t.Fatalf("no headroom: %v, want ErrNoRoom", err)
	}
}

func TestCoalesceLinkedAllocs(t *testing.T) {
	var l Linked
	b := packet.NewBatch(packet.MaxBatch, 2048)
	_, in := coalesceBatch(b, coalesceSeeds()[0])
	allocs := testing.AllocsPerRun(100, func() {
		b.Reset()
		for _, p := range in {
			b.Append(p, packet.Endpoint{})
		}
		if err := CoalesceLinked(b, allOn, &l); err != nil {
			t.Fatal(err)
		}
		l.Restore(b)
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per CoalesceLinked", allocs)
	}
}
