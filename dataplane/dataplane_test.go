package dataplane

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/wgxdp/wgxdp/packet"
)

func TestPaddingSize(t *testing.T) {
	for _, c := range []struct{ n, mtu, want int }{
		{0, 1420, 0}, {1, 1420, 15}, {16, 1420, 0}, {17, 1420, 15},
		{1419, 1420, 1}, {1420, 1420, 0}, {1410, 1420, 10}, {1400, 1420, 8}, {1415, 1420, 5}, {5, 0, 11},
	} {
		if got := PaddingSize(c.n, c.mtu); got != c.want {
			t.Errorf("PaddingSize(%d, %d) = %d, want %d", c.n, c.mtu, got, c.want)
		}
	}
}

// TestSealOpen checks the wire format against x/crypto and round-trips a
// batch in place.
func TestSealOpen(t *testing.T) {
	var key [32]byte
	rand.Read(key[:])
	b := packet.NewBatch(8, packet.SlotSize(1420))
	var plains [][]byte
	for i := range 8 {
		p := make([]byte, i*191%1421)
		rand.Read(p)
		plains = append(plains, p)
		b.Append(p, packet.Endpoint{})
	}
	c := NewCrypter(4) // grows on demand
	if !c.Seal(b.Packets(), &key, 0xabcdef, 1000, 1420) {
		t.Fatal("Seal refused")
	}
	aead, _ := chacha20poly1305.New(key[:])
	for i, s := range b.Packets() {
		m := s.Data()
		recv, ctr, ok := Header(m)
		if !ok || recv != 0xabcdef || ctr != uint64(1000+i) {
			t.Fatalf("header %d: %v %x %d", i, ok, recv, ctr)
		}
		var nonce [12]byte
		binary.LittleEndian.PutUint64(nonce[4:], ctr)
		pt, err := aead.Open(nil, nonce[:], m[HeaderSize:], nil)
		if err != nil {
			t.Fatalf("x/crypto cannot open packet %d: %v", i, err)
		}
		if len(pt) != len(plains[i])+PaddingSize(len(plains[i]), 1420) || !bytes.Equal(pt[:len(plains[i])], plains[i]) {
			t.Fatalf("packet %d plaintext differs", i)
		}
	}
	b.Slots[3].Data()[20] ^= 1 // tamper
	ok := make([]bool, 8)
	ctrs := make([]uint64, 8)
	c.Open(b.Packets(), &key, ok, ctrs)
	for i, s := range b.Packets() {
		if (i == 3) == ok[i] {
			t.Fatalf("packet %d: ok=%v", i, ok[i])
		}
		if ok[i] && !bytes.Equal(s.Data()[:len(plains[i])], plains[i]) {
			t.Fatalf("packet %d differs after open", i)
		}
	}
	// Too short to be a message: refused, no panic.
	short := packet.NewBatch(1, 256)
	short.Append([]byte{4, 0, 0, 0, 1}, packet.Endpoint{})
	c.Open(short.Packets(), &key, ok, ctrs)
	if ok[0] {
		t.Fatal("short message accepted")
	}
}

func TestSealAllocs(t *testing.T) {
	var key [32]byte
	b := packet.NewBatch(16, packet.SlotSize(1420))
	c := NewCrypter(16)
	ok := make([]bool, 16)
	ctrs := make([]uint64, 16)
	allocs := testing.AllocsPerRun(20, func() {
		b.Reset()
		for range 16 {
			s := b.Next()
			s.SetLen(1000)
			b.Commit()
		}
		c.Seal(b.Packets(), &key, 1, 0, 1420)
		c.Open(b.Packets(), &key, ok, ctrs)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per batch", allocs)
	}
}
