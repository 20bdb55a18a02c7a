//go:build amd64 && gc && !purego

package chacha20poly1305

import (
	"encoding/binary"
	"testing"

	"github.com/klauspost/cpuid/v2"
	"github.com/wgxdp/wgxdp/asm/amd64"
)

// aeadTagGeneric is the RFC 8439 tag over ad and ct under a one-time key,
// by the portable Poly1305: the Go twin of the assembly MAC kernels.
func aeadTagGeneric(key *[KeySize]byte, ad, ct []byte) [tagSize]byte {
	p := newPolyState(
		binary.LittleEndian.Uint64(key[0:8]), binary.LittleEndian.Uint64(key[8:16]),
		binary.LittleEndian.Uint64(key[16:24]), binary.LittleEndian.Uint64(key[24:32]))
	p.padded(ad)
	p.padded(ct)
	p.lengths(len(ad), len(ct))
	var tag [tagSize]byte
	p.sum(&tag)
	return tag
}

// TestPoly1305AEAD2 checks the two-packet MAC kernel against the portable
// code at every ciphertext length to 300 and some longer ones, with AD
// lengths around the block edges, random keys and the all-ones key (the
// largest clamped r and s).
func TestPoly1305AEAD2(t *testing.T) {
	if !cpuid.CPU.Supports(cpuid.BMI2, cpuid.ADX) {
		t.Skip("no BMI2 and ADX")
	}
	r := newRand(9)
	var ones [KeySize]byte
	for i := range ones {
		ones[i] = 0xff
	}
	cts := []int{1420, 2048, 4095}
	for n := range 301 {
		cts = append(cts, n)
	}
	for _, adLen := range []int{0, 1, 8, 13, 15, 16, 17, 31, 32, 33} {
		for _, n := range cts {
			for k := range 3 {
				k0, k1 := (*[KeySize]byte)(randBytes(r, KeySize)), (*[KeySize]byte)(randBytes(r, KeySize))
				if k == 1 {
					k0 = &ones
				} else if k == 2 {
					k1 = &ones
				}
				ad0, ad1 := randBytes(r, adLen), randBytes(r, adLen)
				ct0, ct1 := randBytes(r, n), randBytes(r, n)
				if k == 0 { // the largest message blocks too
					for i := range ct1 {
						ct1[i] = 0xff
					}
				}
				var tag0, tag1 [tagSize]byte
				amd64.Poly1305AEAD2ADX(k0, k1, ad0, ad1, ct0, ct1, &tag0, &tag1)
				if want := aeadTagGeneric(k0, ad0, ct0); tag0 != want {
					t.Fatalf("ad %d, ct %d, key %d: first tag %x, want %x", adLen, n, k, tag0, want)
				}
				if want := aeadTagGeneric(k1, ad1, ct1); tag1 != want {
					t.Fatalf("ad %d, ct %d, key %d: second tag %x, want %x", adLen, n, k, tag1, want)
				}
			}
		}
	}
}

// TestTagEqual checks the 16-byte tag comparison against every one-bit
// difference.
func TestTagEqual(t *testing.T) {
	r := newRand(11)
	var tag [tagSize]byte
	copy(tag[:], randBytes(r, tagSize))
	b := append(tag[:], 0xee) // longer than a tag: only 16 bytes count
	if !tagEqual(&tag, b) {
		t.Fatal("equal tags compare unequal")
	}
	for i := range 8 * tagSize {
		b[i/8] ^= 1 << (i % 8)
		if tagEqual(&tag, b) {
			t.Fatalf("tags differing in bit %d compare equal", i)
		}
		b[i/8] ^= 1 << (i % 8)
	}
}

// TestChaCha20Blocks8 checks each lane of the multi-buffer kernel against
// the portable block function, with a different key, nonce and counter per
// lane (the last counter values included).
func TestChaCha20Blocks8(t *testing.T) {
	if !cpuid.CPU.Supports(cpuid.AVX2) {
		t.Skip("no AVX2")
	}
	r := newRand(12)
	for range 200 {
		var p laneParams
		var keys [8][KeySize]byte
		var nonces [8][NonceSize]byte
		var ctrs [8]uint32
		for l := range 8 {
			copy(keys[l][:], randBytes(r, KeySize))
			copy(nonces[l][:], randBytes(r, NonceSize))
			ctrs[l] = r.Uint32()
			if l == 7 {
				ctrs[l] = 1<<32 - 1
			}
			p.set(l, &keys[l], &nonces[l], ctrs[l])
		}
		var out [8 * blockSize]byte
		amd64.ChaCha20Blocks8AVX2(&p.keys, &p.rows, &out)
		for l := range 8 {
			s := newChachaState(&keys[l], &nonces[l])
			var want [blockSize]byte
			s.xorBlocks(want[:], want[:], ctrs[l])
			if got := out[blockSize*l : blockSize*(l+1)]; string(got) != string(want[:]) {
				t.Fatalf("lane %d (counter %#x): %x, want %x", l, ctrs[l], got, want)
			}
		}
	}
}
