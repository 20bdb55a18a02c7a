package gro

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
)

// checksumRef is the RFC 1071 definition, one big-endian 16-bit word at a
// time, folded after every add; every implementation is checked against it.
func checksumRef(b []byte, initial uint64) uint64 {
	ac := uint32(Fold(initial))
	for len(b) >= 2 {
		ac += uint32(binary.BigEndian.Uint16(b))
		ac = ac>>16 + ac&0xffff
		b = b[2:]
	}
	if len(b) == 1 {
		ac += uint32(b[0]) << 8
		ac = ac>>16 + ac&0xffff
	}
	return uint64(ac)
}

// edgeInitials are partial sums that stress the carry handling.
var edgeInitials = []uint64{0, 1, 0xffff, 0x1234, 0xffffffff, 1 << 63, 0xffffffffffffffff, 0xfffffffffffffffe, 0x8000000000000001}

func TestChecksumImpls(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 9001+7)
	for _, impl := range checksumImpls {
		t.Run(impl.name, func(t *testing.T) {
			for _, fill := range []string{"random", "ones", "zeros"} {
				switch fill {
				case "random":
					for i := range buf {
						buf[i] = byte(rng.Uint32())
					}
				case "ones":
					for i := range buf {
						buf[i] = 0xff
					}
				case "zeros":
					clear(buf)
				}
				for n := 0; n <= 9001; n += 1 + n/64 {
					for _, off := range []int{0, 1, 7} { // unaligned starts
						b := buf[off : off+n]
						for _, init := range edgeInitials {
							got, want := Fold(impl.fn(b, init)), Fold(checksumRef(b, init))
							if got != want && !(got == 0xffff && want == 0) && !(got == 0 && want == 0xffff) {
								t.Fatalf("%s len %d off %d init %#x: got %#04x, want %#04x", fill, n, off, init, got, want)
							}
						}
					}
				}
			}
		})
	}
}

// TestChecksumExact checks the values the packet code relies on exactly
// (a zero result is not confused with 0xffff when data is nonzero).
func TestChecksumExact(t *testing.T) {
	// RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	for _, impl := range checksumImpls {
		if got := Fold(impl.fn(b, 0)); got != 0xddf2 {
			t.Errorf("%s: RFC 1071 example: got %#04x, want 0xddf2", impl.name, got)
		}
	}
	// An IPv4 header with its checksum in place sums to 0xffff.
	h := []byte{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7}
	if got := Fold(Checksum(h, 0)); got != 0xffff {
		t.Errorf("IPv4 header: got %#04x, want 0xffff", got)
	}
}

func TestPseudoHeaderSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, alen := range []int{4, 16} {
		for range 1000 {
			src, dst := make([]byte, alen), make([]byte, alen)
			for i := range src {
				src[i], dst[i] = byte(rng.Uint32()), byte(rng.Uint32())
			}
			proto, l := uint8(rng.Uint32()), rng.IntN(65536)
			ph := append(append(append([]byte{}, src...), dst...), 0, proto, byte(l>>8), byte(l))
			if got, want := Fold(PseudoHeaderSum(proto, src, dst, l)), Fold(checksumRef(ph, 0)); got != want {
				t.Fatalf("alen %d: got %#04x want %#04x", alen, got, want)
			}
		}
	}
}

func FuzzChecksum(f *testing.F) {
	f.Add([]byte{}, uint64(0))
	f.Add([]byte{0xff}, uint64(0xffffffffffffffff))
	f.Add(make([]byte, 129), uint64(1))
	f.Fuzz(func(t *testing.T, b []byte, init uint64) {
		want := Fold(checksumRef(b, init))
		for _, impl := range checksumImpls {
			got := Fold(impl.fn(b, init))
			if got != want && !(got == 0xffff && want == 0) && !(got == 0 && want == 0xffff) {
				t.Fatalf("%s: len %d init %#x: got %#04x, want %#04x", impl.name, len(b), init, got, want)
			}
		}
	})
}

func BenchmarkChecksum(b *testing.B) {
	for _, n := range []int{64, 1500, 65535} {
		buf := make([]byte, n)
		for i := range buf {
			buf[i] = byte(i * 7)
		}
		for _, impl := range checksumImpls {
			b.Run(fmt.Sprintf("%s/%d", impl.name, n), func(b *testing.B) {
				b.SetBytes(int64(n))
				b.ReportAllocs()
				var s uint64
				for b.Loop() {
					s = impl.fn(buf, s)
				}
			})
		}
	}
}
