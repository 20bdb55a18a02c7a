// The portable ChaCha20 (RFC 8439, 32-bit block counter) and HChaCha20
// (draft-irtf-cfrg-xchacha §2.2). The shape of the block loop follows the
// generic code of golang.org/x/crypto/chacha20 (Copyright The Go Authors,
// BSD-style license); the code is our own.

package chacha20poly1305

import (
	"encoding/binary"
	"math/bits"
)

// The constant first row of the ChaCha20 state: "expand 32-byte k".
const (
	sigma0 uint32 = 0x61707865
	sigma1 uint32 = 0x3320646e
	sigma2 uint32 = 0x79622d32
	sigma3 uint32 = 0x6b206574
)

const blockSize = 64

// chachaState is the counter-independent part of a ChaCha20 state: the key
// and the nonce as little-endian words.
type chachaState struct {
	key   [8]uint32
	nonce [3]uint32
}

func newChachaState(key *[KeySize]byte, nonce *[NonceSize]byte) chachaState {
	return chachaState{
		key: [8]uint32{
			binary.LittleEndian.Uint32(key[0:4]),
			binary.LittleEndian.Uint32(key[4:8]),
			binary.LittleEndian.Uint32(key[8:12]),
			binary.LittleEndian.Uint32(key[12:16]),
			binary.LittleEndian.Uint32(key[16:20]),
			binary.LittleEndian.Uint32(key[20:24]),
			binary.LittleEndian.Uint32(key[24:28]),
			binary.LittleEndian.Uint32(key[28:32]),
		},
		nonce: [3]uint32{
			binary.LittleEndian.Uint32(nonce[0:4]),
			binary.LittleEndian.Uint32(nonce[4:8]),
			binary.LittleEndian.Uint32(nonce[8:12]),
		},
	}
}

func quarterRound(a, b, c, d uint32) (uint32, uint32, uint32, uint32) {
	a += b
	d = bits.RotateLeft32(d^a, 16)
	c += d
	b = bits.RotateLeft32(b^c, 12)
	a += b
	d = bits.RotateLeft32(d^a, 8)
	c += d
	b = bits.RotateLeft32(b^c, 7)
	return a, b, c, d
}

// xorBlocks XORs src with the key stream starting at block counter ctr and
// writes the result to dst. It handles whole blocks only and returns the
// number of bytes done (len(src) rounded down to a block). dst and src are
// the same or disjoint. The counter wraps silently: callers bound lengths.
func (s *chachaState) xorBlocks(dst, src []byte, ctr uint32) int {
	//	 0:c  1:c  2:c  3:c      c = constant
	//	 4:k  5:k  6:k  7:k      k = key
	//	 8:k  9:k 10:k 11:k      b = block counter
	//	12:b 13:n 14:n 15:n      n = nonce
	c4, c5, c6, c7 := s.key[0], s.key[1], s.key[2], s.key[3]
	c8, c9, c10, c11 := s.key[4], s.key[5], s.key[6], s.key[7]
	c13, c14, c15 := s.nonce[0], s.nonce[1], s.nonce[2]

	// Three of the four quarter rounds of the first column round do not
	// depend on the counter: do them once for all blocks.
	p1, p5, p9, p13 := quarterRound(sigma1, c5, c9, c13)
	p2, p6, p10, p14 := quarterRound(sigma2, c6, c10, c14)
	p3, p7, p11, p15 := quarterRound(sigma3, c7, c11, c15)

	done := 0
	for len(src) >= blockSize && len(dst) >= blockSize {
		// The rest of the first column round, then the first diagonal round.
		f0, f4, f8, f12 := quarterRound(sigma0, c4, c8, ctr)
		x0, x5, x10, x15 := quarterRound(f0, p5, p10, p15)
		x1, x6, x11, x12 := quarterRound(p1, p6, p11, f12)
		x2, x7, x8, x13 := quarterRound(p2, p7, f8, p13)
		x3, x4, x9, x14 := quarterRound(p3, f4, p9, p14)

		for range 9 {
			x0, x4, x8, x12 = quarterRound(x0, x4, x8, x12)
			x1, x5, x9, x13 = quarterRound(x1, x5, x9, x13)
			x2, x6, x10, x14 = quarterRound(x2, x6, x10, x14)
			x3, x7, x11, x15 = quarterRound(x3, x7, x11, x15)

			x0, x5, x10, x15 = quarterRound(x0, x5, x10, x15)
			x1, x6, x11, x12 = quarterRound(x1, x6, x11, x12)
			x2, x7, x8, x13 = quarterRound(x2, x7, x8, x13)
			x3, x4, x9, x14 = quarterRound(x3, x4, x9, x14)
		}

		// Add the input state back in and XOR eight bytes at a time.
		out, in := dst[:blockSize], src[:blockSize]
		xor64(out[0:8], in[0:8], x0+sigma0, x1+sigma1)
		xor64(out[8:16], in[8:16], x2+sigma2, x3+sigma3)
		xor64(out[16:24], in[16:24], x4+c4, x5+c5)
		xor64(out[24:32], in[24:32], x6+c6, x7+c7)
		xor64(out[32:40], in[32:40], x8+c8, x9+c9)
		xor64(out[40:48], in[40:48], x10+c10, x11+c11)
		xor64(out[48:56], in[48:56], x12+ctr, x13+c13)
		xor64(out[56:64], in[56:64], x14+c14, x15+c15)

		ctr++
		done += blockSize
		dst, src = dst[blockSize:], src[blockSize:]
	}
	return done
}

// xor64 writes src XOR (lo | hi<<32) to dst, little-endian.
func xor64(dst, src []byte, lo, hi uint32) {
	binary.LittleEndian.PutUint64(dst, binary.LittleEndian.Uint64(src)^(uint64(lo)|uint64(hi)<<32))
}

// xorKeyStream XORs src with the key stream from block counter ctr on, a
// trailing partial block included. len(dst) ≥ len(src).
func (s *chachaState) xorKeyStream(dst, src []byte, ctr uint32) {
	n := s.xorBlocks(dst, src, ctr)
	if n == len(src) {
		return
	}
	var buf [blockSize]byte
	rest := copy(buf[:], src[n:])
	s.xorBlocks(buf[:], buf[:], ctr+uint32(n/blockSize))
	copy(dst[n:n+rest], buf[:rest])
}

// xorKeyStreamGeneric is the portable impl.xorKeyStream.
func xorKeyStreamGeneric(key [KeySize]byte, nonce [NonceSize]byte, ctr uint32, dst, src []byte) {
	s := newChachaState(&key, &nonce)
	s.xorKeyStream(dst[:len(src)], src, ctr)
}

// hChaCha20Generic derives an XChaCha20 subkey from a key and the first 16
// bytes of a 24-byte nonce: 20 rounds without the final addition, keeping
// the first and last rows.
func hChaCha20Generic(key [KeySize]byte, nonce [16]byte) [KeySize]byte {
	x0, x1, x2, x3 := sigma0, sigma1, sigma2, sigma3
	x4 := binary.LittleEndian.Uint32(key[0:4])
	x5 := binary.LittleEndian.Uint32(key[4:8])
	x6 := binary.LittleEndian.Uint32(key[8:12])
	x7 := binary.LittleEndian.Uint32(key[12:16])
	x8 := binary.LittleEndian.Uint32(key[16:20])
	x9 := binary.LittleEndian.Uint32(key[20:24])
	x10 := binary.LittleEndian.Uint32(key[24:28])
	x11 := binary.LittleEndian.Uint32(key[28:32])
	x12 := binary.LittleEndian.Uint32(nonce[0:4])
	x13 := binary.LittleEndian.Uint32(nonce[4:8])
	x14 := binary.LittleEndian.Uint32(nonce[8:12])
	x15 := binary.LittleEndian.Uint32(nonce[12:16])

	for range 10 {
		x0, x4, x8, x12 = quarterRound(x0, x4, x8, x12)
		x1, x5, x9, x13 = quarterRound(x1, x5, x9, x13)
		x2, x6, x10, x14 = quarterRound(x2, x6, x10, x14)
		x3, x7, x11, x15 = quarterRound(x3, x7, x11, x15)

		x0, x5, x10, x15 = quarterRound(x0, x5, x10, x15)
		x1, x6, x11, x12 = quarterRound(x1, x6, x11, x12)
		x2, x7, x8, x13 = quarterRound(x2, x7, x8, x13)
		x3, x4, x9, x14 = quarterRound(x3, x4, x9, x14)
	}

	var out [KeySize]byte
	binary.LittleEndian.PutUint32(out[0:4], x0)
	binary.LittleEndian.PutUint32(out[4:8], x1)
	binary.LittleEndian.PutUint32(out[8:12], x2)
	binary.LittleEndian.PutUint32(out[12:16], x3)
	binary.LittleEndian.PutUint32(out[16:20], x12)
	binary.LittleEndian.PutUint32(out[20:24], x13)
	binary.LittleEndian.PutUint32(out[24:28], x14)
	binary.LittleEndian.PutUint32(out[28:32], x15)
	return out
}
