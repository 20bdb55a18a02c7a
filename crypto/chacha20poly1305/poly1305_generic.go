// The portable Poly1305 (RFC 8439 §2.5) on 64-bit limbs with the
// math/bits intrinsics. The arithmetic follows the generic code of
// golang.org/x/crypto/internal/poly1305 (Copyright The Go Authors,
// BSD-style license); the code is our own.

package chacha20poly1305

import (
	"encoding/binary"
	"math/bits"
)

const tagSize = 16

// polyState is a Poly1305 computation. h is the accumulator in three
// 64-bit limbs, kept below 2·(2¹³⁰−5) between blocks; r is the clamped
// multiplier and s the final addend.
type polyState struct {
	h0, h1, h2 uint64
	r0, r1     uint64
	s0, s1     uint64
}

// The clamping of r (RFC 8439 §2.5.1) as two little-endian words. Clearing
// the top four bits of each word keeps the products in polyMul small.
const (
	rMask0 = 0x0ffffffc0fffffff
	rMask1 = 0x0ffffffc0ffffffc
)

// newPolyState takes the one-time key as four little-endian words.
func newPolyState(k0, k1, k2, k3 uint64) polyState {
	return polyState{r0: k0 & rMask0, r1: k1 & rMask1, s0: k2, s1: k3}
}

// blocks absorbs len(msg)/16 whole 16-byte blocks, each with the 2¹²⁸ bit
// set, and ignores any rest:
//
//	h = (h + m) · r  mod  2¹³⁰ − 5
func (p *polyState) blocks(msg []byte) {
	h0, h1, h2 := p.h0, p.h1, p.h2
	r0, r1 := p.r0, p.r1
	for len(msg) >= tagSize {
		var c uint64
		h0, c = bits.Add64(h0, binary.LittleEndian.Uint64(msg[0:8]), 0)
		h1, c = bits.Add64(h1, binary.LittleEndian.Uint64(msg[8:16]), c)
		h2 += c + 1
		msg = msg[tagSize:]
		h0, h1, h2 = polyMul(h0, h1, h2, r0, r1)
	}
	p.h0, p.h1, p.h2 = h0, h1, h2
}

// polyMul returns h·r partially reduced mod 2¹³⁰−5. h2 ≤ 7 on entry and
// r0, r1 are clamped, so h2·r fits in 64 bits and no 128-bit column sum
// overflows.
func polyMul(h0, h1, h2, r0, r1 uint64) (uint64, uint64, uint64) {
	// Schoolbook product in 64-bit columns:
	//	          h2    h1    h0
	//	 ×              r1    r0
	//	 = t3    t2    t1    t0
	h0r0hi, h0r0lo := bits.Mul64(h0, r0)
	h1r0hi, h1r0lo := bits.Mul64(h1, r0)
	h0r1hi, h0r1lo := bits.Mul64(h0, r1)
	h1r1hi, h1r1lo := bits.Mul64(h1, r1)
	h2r0 := h2 * r0
	h2r1 := h2 * r1

	m1lo, c := bits.Add64(h1r0lo, h0r1lo, 0)
	m1hi := h1r0hi + h0r1hi + c
	m2lo, c := bits.Add64(h1r1lo, h2r0, 0)
	m2hi := h1r1hi + c

	t0 := h0r0lo
	t1, c := bits.Add64(m1lo, h0r0hi, 0)
	t2, c := bits.Add64(m2lo, m1hi, c)
	t3 := h2r1 + m2hi + c

	// 2¹³⁰ ≡ 5, so the part above bit 130, call it k, folds back in as
	// 5k = 4k + k; (t2 &^ 3, t3) is already 4k.
	h0, h1, h2 = t0, t1, t2&3
	k0, k1 := t2&^3, t3
	h0, c = bits.Add64(h0, k0, 0)
	h1, c = bits.Add64(h1, k1, c)
	h2 += c
	k0, k1 = k0>>2|k1<<62, k1>>2
	h0, c = bits.Add64(h0, k0, 0)
	h1, c = bits.Add64(h1, k1, c)
	h2 += c
	return h0, h1, h2
}

// padded absorbs msg zero-padded to a multiple of 16 bytes, as the AEAD
// construction does for the additional data and the ciphertext.
func (p *polyState) padded(msg []byte) {
	p.blocks(msg)
	if rest := len(msg) % tagSize; rest != 0 {
		var buf [tagSize]byte
		copy(buf[:], msg[len(msg)-rest:])
		p.blocks(buf[:])
	}
}

// lengths absorbs the AEAD's final block: both lengths as 64-bit
// little-endian numbers.
func (p *polyState) lengths(adLen, ctLen int) {
	var buf [tagSize]byte
	binary.LittleEndian.PutUint64(buf[0:8], uint64(adLen))
	binary.LittleEndian.PutUint64(buf[8:16], uint64(ctLen))
	p.blocks(buf[:])
}

// partial absorbs a final block shorter than 16 bytes as plain Poly1305
// does: a 1 byte after the message instead of the 2¹²⁸ bit.
func (p *polyState) partial(msg []byte) {
	var buf [tagSize]byte
	copy(buf[:], msg)
	buf[len(msg)] = 1
	var c uint64
	p.h0, c = bits.Add64(p.h0, binary.LittleEndian.Uint64(buf[0:8]), 0)
	p.h1, c = bits.Add64(p.h1, binary.LittleEndian.Uint64(buf[8:16]), c)
	p.h2 += c
	p.h0, p.h1, p.h2 = polyMul(p.h0, p.h1, p.h2, p.r0, p.r1)
}

// The prime 2¹³⁰ − 5 in three limbs.
const (
	prime0 = 0xfffffffffffffffb
	prime1 = 0xffffffffffffffff
	prime2 = 0x3
)

// sum fully reduces h and returns h + s mod 2¹²⁸, in constant time.
func (p *polyState) sum(out *[tagSize]byte) {
	h0, h1, h2 := p.h0, p.h1, p.h2
	// h < 2·(2¹³⁰−5): subtract the prime once and keep the difference
	// unless it borrowed.
	t0, b := bits.Sub64(h0, prime0, 0)
	t1, b := bits.Sub64(h1, prime1, b)
	_, b = bits.Sub64(h2, prime2, b)
	keep := -b // all ones when h < p
	h0 = h0&keep | t0&^keep
	h1 = h1&keep | t1&^keep

	h0, c := bits.Add64(h0, p.s0, 0)
	h1, _ = bits.Add64(h1, p.s1, c)
	binary.LittleEndian.PutUint64(out[0:8], h0)
	binary.LittleEndian.PutUint64(out[8:16], h1)
}

// poly1305Generic is the portable impl.poly1305: the one-shot MAC of msg.
func poly1305Generic(key [KeySize]byte, msg []byte) [tagSize]byte {
	p := newPolyState(
		binary.LittleEndian.Uint64(key[0:8]), binary.LittleEndian.Uint64(key[8:16]),
		binary.LittleEndian.Uint64(key[16:24]), binary.LittleEndian.Uint64(key[24:32]))
	p.blocks(msg)
	if rest := len(msg) % tagSize; rest != 0 {
		p.partial(msg[len(msg)-rest:])
	}
	var tag [tagSize]byte
	p.sum(&tag)
	return tag
}
