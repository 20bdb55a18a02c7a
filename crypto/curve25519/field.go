// Copyright 2017 The Go Authors. All rights reserved.
// Copyright 2026 The wgxdp Authors.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

// The field arithmetic below follows Go's
// crypto/internal/fips140/edwards25519/field (fe.go, fe_generic.go; BSD
// license, derived from filippo.io/edwards25519/field), trimmed to what
// X25519 needs and made to read and write fixed-size arrays so nothing
// allocates.

package curve25519

import (
	"encoding/binary"
	"math/bits"
)

// fieldElement is an element of GF(2^255-19) in radix 2^51: the integer
// l0 + l1*2^51 + l2*2^102 + l3*2^153 + l4*2^204. Between operations every
// limb is below 2^52 (not necessarily reduced). The zero value is 0.
type fieldElement struct {
	l0, l1, l2, l3, l4 uint64
}

const maskLow51Bits uint64 = (1 << 51) - 1

// one sets v = 1.
func (v *fieldElement) one() *fieldElement {
	*v = fieldElement{1, 0, 0, 0, 0}
	return v
}

// carryPropagate brings the limbs below 52 bits by applying the reduction
// identity (a * 2^255 + b = a * 19 + b) to the l4 carry.
func (v *fieldElement) carryPropagate() *fieldElement {
	l0 := v.l0
	v.l0 = v.l0&maskLow51Bits + mul19(v.l4>>51)
	v.l4 = v.l4&maskLow51Bits + v.l3>>51
	v.l3 = v.l3&maskLow51Bits + v.l2>>51
	v.l2 = v.l2&maskLow51Bits + v.l1>>51
	v.l1 = v.l1&maskLow51Bits + l0>>51
	return v
}

// reduce reduces v modulo 2^255 - 19 to its canonical value.
func (v *fieldElement) reduce() *fieldElement {
	v.carryPropagate()

	// Now v < 2^255 + 2^13 * 19. If v >= 2^255 - 19 then v + 19 carries
	// out of bit 255: c is 1 exactly when one subtraction of p is needed.
	c := (v.l0 + 19) >> 51
	c = (v.l1 + c) >> 51
	c = (v.l2 + c) >> 51
	c = (v.l3 + c) >> 51
	c = (v.l4 + c) >> 51

	// Add 19*c and drop bit 255: a no-op when c is 0, v - p when c is 1.
	v.l0 += 19 * c
	v.l1 += v.l0 >> 51
	v.l0 &= maskLow51Bits
	v.l2 += v.l1 >> 51
	v.l1 &= maskLow51Bits
	v.l3 += v.l2 >> 51
	v.l2 &= maskLow51Bits
	v.l4 += v.l3 >> 51
	v.l3 &= maskLow51Bits
	v.l4 &= maskLow51Bits
	return v
}

// add sets v = a + b.
func (v *fieldElement) add(a, b *fieldElement) *fieldElement {
	v.l0 = a.l0 + b.l0
	v.l1 = a.l1 + b.l1
	v.l2 = a.l2 + b.l2
	v.l3 = a.l3 + b.l3
	v.l4 = a.l4 + b.l4
	return v.carryPropagate()
}

// sub sets v = a - b.
func (v *fieldElement) sub(a, b *fieldElement) *fieldElement {
	// Add 2p first so the limbs cannot underflow (b < 2^255 + 2^13*19).
	v.l0 = (a.l0 + 0xFFFFFFFFFFFDA) - b.l0
	v.l1 = (a.l1 + 0xFFFFFFFFFFFFE) - b.l1
	v.l2 = (a.l2 + 0xFFFFFFFFFFFFE) - b.l2
	v.l3 = (a.l3 + 0xFFFFFFFFFFFFE) - b.l3
	v.l4 = (a.l4 + 0xFFFFFFFFFFFFE) - b.l4
	return v.carryPropagate()
}

// neg sets v = -a.
func (v *fieldElement) neg(a *fieldElement) *fieldElement {
	return v.sub(&fieldElement{}, a)
}

// mul sets v = a * b.
func (v *fieldElement) mul(a, b *fieldElement) *fieldElement {
	feMulGeneric(v, a, b)
	return v
}

// square sets v = a * a.
func (v *fieldElement) square(a *fieldElement) *fieldElement {
	feSquareGeneric(v, a)
	return v
}

// mul32 sets v = a * y for a small constant y. The result limbs may exceed
// 2^52 by a 32-bit excess; they are fine as input to add, sub and mul.
func (v *fieldElement) mul32(a *fieldElement, y uint32) *fieldElement {
	x0lo, x0hi := mul51(a.l0, y)
	x1lo, x1hi := mul51(a.l1, y)
	x2lo, x2hi := mul51(a.l2, y)
	x3lo, x3hi := mul51(a.l3, y)
	x4lo, x4hi := mul51(a.l4, y)
	v.l0 = x0lo + 19*x4hi
	v.l1 = x1lo + x0hi
	v.l2 = x2lo + x1hi
	v.l3 = x3lo + x2hi
	v.l4 = x4lo + x3hi
	return v
}

// mul51 returns lo + hi * 2^51 = a * b.
func mul51(a uint64, b uint32) (lo uint64, hi uint64) {
	mh, ml := bits.Mul64(a, uint64(b))
	lo = ml & maskLow51Bits
	hi = (mh << 13) | (ml >> 51)
	return
}

// squareN sets v = a^(2^n), n >= 1.
func (v *fieldElement) squareN(a *fieldElement, n int) *fieldElement {
	v.square(a)
	for i := 1; i < n; i++ {
		v.square(v)
	}
	return v
}

// invert sets v = 1/z (and 0 when z is 0) as z^(p-2), with the addition
// chain of 255 squarings and 11 multiplications used since curve25519-donna.
func (v *fieldElement) invert(z *fieldElement) *fieldElement {
	var z2, z9, z11, z2_5_0, z2_10_0, z2_20_0, z2_50_0, z2_100_0, t fieldElement

	z2.square(z)              // 2
	t.squareN(&z2, 2)         // 8
	z9.mul(&t, z)             // 9
	z11.mul(&z9, &z2)         // 11
	t.square(&z11)            // 22
	z2_5_0.mul(&t, &z9)       // 2^5 - 2^0
	t.squareN(&z2_5_0, 5)     // 2^10 - 2^5
	z2_10_0.mul(&t, &z2_5_0)  // 2^10 - 2^0
	t.squareN(&z2_10_0, 10)   // 2^20 - 2^10
	z2_20_0.mul(&t, &z2_10_0) // 2^20 - 2^0
	t.squareN(&z2_20_0, 20)   // 2^40 - 2^20
	t.mul(&t, &z2_20_0)       // 2^40 - 2^0
	t.squareN(&t, 10)         // 2^50 - 2^10
	z2_50_0.mul(&t, &z2_10_0) // 2^50 - 2^0
	t.squareN(&z2_50_0, 50)   // 2^100 - 2^50
	z2_100_0.mul(&t, &z2_50_0)
	t.squareN(&z2_100_0, 100) // 2^200 - 2^100
	t.mul(&t, &z2_100_0)      // 2^200 - 2^0
	t.squareN(&t, 50)         // 2^250 - 2^50
	t.mul(&t, &z2_50_0)       // 2^250 - 2^0
	t.squareN(&t, 5)          // 2^255 - 2^5
	return v.mul(&t, &z11)    // 2^255 - 21
}

// setBytes sets v to the little-endian x, ignoring its top bit and
// accepting non-canonical values (2^255-19 .. 2^255-1), as RFC 7748 asks.
func (v *fieldElement) setBytes(x *[32]byte) *fieldElement {
	v.l0 = binary.LittleEndian.Uint64(x[0:8]) & maskLow51Bits
	v.l1 = binary.LittleEndian.Uint64(x[6:14]) >> 3 & maskLow51Bits
	v.l2 = binary.LittleEndian.Uint64(x[12:20]) >> 6 & maskLow51Bits
	v.l3 = binary.LittleEndian.Uint64(x[19:27]) >> 1 & maskLow51Bits
	v.l4 = binary.LittleEndian.Uint64(x[24:32]) >> 12 & maskLow51Bits
	return v
}

// bytes writes the canonical little-endian encoding of v into out.
func (v *fieldElement) bytes(out *[32]byte) {
	t := *v
	t.reduce()
	binary.LittleEndian.PutUint64(out[0:], t.l1<<51|t.l0)
	binary.LittleEndian.PutUint64(out[8:], t.l2<<(102-64)|t.l1>>(64-51))
	binary.LittleEndian.PutUint64(out[16:], t.l3<<(153-128)|t.l2>>(128-102))
	binary.LittleEndian.PutUint64(out[24:], t.l4<<(204-192)|t.l3>>(192-153))
}

// swap exchanges v and u when mask is all ones and leaves them when it is
// zero, without branching on mask.
func (v *fieldElement) swap(u *fieldElement, mask uint64) {
	t := mask & (v.l0 ^ u.l0)
	v.l0 ^= t
	u.l0 ^= t
	t = mask & (v.l1 ^ u.l1)
	v.l1 ^= t
	u.l1 ^= t
	t = mask & (v.l2 ^ u.l2)
	v.l2 ^= t
	u.l2 ^= t
	t = mask & (v.l3 ^ u.l3)
	v.l3 ^= t
	u.l3 ^= t
	t = mask & (v.l4 ^ u.l4)
	v.l4 ^= t
	u.l4 ^= t
}

// selectFrom sets v = a when mask is all ones and v = b when it is zero,
// without branching on mask.
func (v *fieldElement) selectFrom(a, b *fieldElement, mask uint64) *fieldElement {
	v.l0 = b.l0 ^ mask&(a.l0^b.l0)
	v.l1 = b.l1 ^ mask&(a.l1^b.l1)
	v.l2 = b.l2 ^ mask&(a.l2^b.l2)
	v.l3 = b.l3 ^ mask&(a.l3^b.l3)
	v.l4 = b.l4 ^ mask&(a.l4^b.l4)
	return v
}

// uint128 holds a 128-bit number as two 64-bit limbs.
type uint128 struct {
	lo, hi uint64
}

// mul returns a * b.
func mul(a, b uint64) uint128 {
	hi, lo := bits.Mul64(a, b)
	return uint128{lo, hi}
}

// addMul returns v + a * b.
func addMul(v uint128, a, b uint64) uint128 {
	hi, lo := bits.Mul64(a, b)
	lo, c := bits.Add64(lo, v.lo, 0)
	hi, _ = bits.Add64(hi, v.hi, c)
	return uint128{lo, hi}
}

// mul19 returns v * 19.
func mul19(v uint64) uint64 {
	return v + (v+v<<3)<<1
}

// addMul19 returns v + 19 * a * b, where a and b are at most 52 bits.
func addMul19(v uint128, a, b uint64) uint128 {
	hi, lo := bits.Mul64(mul19(a), b)
	lo, c := bits.Add64(lo, v.lo, 0)
	hi, _ = bits.Add64(hi, v.hi, c)
	return uint128{lo, hi}
}

// addMul38 returns v + 38 * a * b, where a and b are at most 52 bits.
func addMul38(v uint128, a, b uint64) uint128 {
	hi, lo := bits.Mul64(mul19(a), b*2)
	lo, c := bits.Add64(lo, v.lo, 0)
	hi, _ = bits.Add64(hi, v.hi, c)
	return uint128{lo, hi}
}

// shiftRightBy51 returns a >> 51, for a of at most 115 bits.
func shiftRightBy51(a uint128) uint64 {
	return (a.hi << (64 - 51)) | (a.lo >> 51)
}

// feMulGeneric sets v = a * b: schoolbook multiplication of the limbs with
// the wrap-around terms multiplied by 19 (2^255 = 19 mod p), then a carry
// chain back to limbs below 2^52. The largest column is below 2^111, so
// every carry fits a uint64.
func feMulGeneric(v, a, b *fieldElement) {
	a0, a1, a2, a3, a4 := a.l0, a.l1, a.l2, a.l3, a.l4
	b0, b1, b2, b3, b4 := b.l0, b.l1, b.l2, b.l3, b.l4

	// r0 = a0×b0 + 19×(a1×b4 + a2×b3 + a3×b2 + a4×b1)
	r0 := mul(a0, b0)
	r0 = addMul19(r0, a1, b4)
	r0 = addMul19(r0, a2, b3)
	r0 = addMul19(r0, a3, b2)
	r0 = addMul19(r0, a4, b1)

	// r1 = a0×b1 + a1×b0 + 19×(a2×b4 + a3×b3 + a4×b2)
	r1 := mul(a0, b1)
	r1 = addMul(r1, a1, b0)
	r1 = addMul19(r1, a2, b4)
	r1 = addMul19(r1, a3, b3)
	r1 = addMul19(r1, a4, b2)

	// r2 = a0×b2 + a1×b1 + a2×b0 + 19×(a3×b4 + a4×b3)
	r2 := mul(a0, b2)
	r2 = addMul(r2, a1, b1)
	r2 = addMul(r2, a2, b0)
	r2 = addMul19(r2, a3, b4)
	r2 = addMul19(r2, a4, b3)

	// r3 = a0×b3 + a1×b2 + a2×b1 + a3×b0 + 19×a4×b4
	r3 := mul(a0, b3)
	r3 = addMul(r3, a1, b2)
	r3 = addMul(r3, a2, b1)
	r3 = addMul(r3, a3, b0)
	r3 = addMul19(r3, a4, b4)

	// r4 = a0×b4 + a1×b3 + a2×b2 + a3×b1 + a4×b0
	r4 := mul(a0, b4)
	r4 = addMul(r4, a1, b3)
	r4 = addMul(r4, a2, b2)
	r4 = addMul(r4, a3, b1)
	r4 = addMul(r4, a4, b0)

	feCarryWide(v, r0, r1, r2, r3, r4)
}

// feSquareGeneric sets v = a * a, grouping the symmetric terms of feMulGeneric.
func feSquareGeneric(v, a *fieldElement) {
	l0, l1, l2, l3, l4 := a.l0, a.l1, a.l2, a.l3, a.l4

	// r0 = l0×l0 + 19×2×(l1×l4 + l2×l3)
	r0 := mul(l0, l0)
	r0 = addMul38(r0, l1, l4)
	r0 = addMul38(r0, l2, l3)

	// r1 = 2×l0×l1 + 19×2×l2×l4 + 19×l3×l3
	r1 := mul(l0*2, l1)
	r1 = addMul38(r1, l2, l4)
	r1 = addMul19(r1, l3, l3)

	// r2 = 2×l0×l2 + l1×l1 + 19×2×l3×l4
	r2 := mul(l0*2, l2)
	r2 = addMul(r2, l1, l1)
	r2 = addMul38(r2, l3, l4)

	// r3 = 2×l0×l3 + 2×l1×l2 + 19×l4×l4
	r3 := mul(l0*2, l3)
	r3 = addMul(r3, l1*2, l2)
	r3 = addMul19(r3, l4, l4)

	// r4 = 2×l0×l4 + 2×l1×l3 + l2×l2
	r4 := mul(l0*2, l4)
	r4 = addMul(r4, l1*2, l3)
	r4 = addMul(r4, l2, l2)

	feCarryWide(v, r0, r1, r2, r3, r4)
}

// feCarryWide reduces five wide columns to limbs below 2^52.
func feCarryWide(v *fieldElement, r0, r1, r2, r3, r4 uint128) {
	c0 := shiftRightBy51(r0)
	c1 := shiftRightBy51(r1)
	c2 := shiftRightBy51(r2)
	c3 := shiftRightBy51(r3)
	c4 := shiftRightBy51(r4)

	rr0 := r0.lo&maskLow51Bits + mul19(c4)
	rr1 := r1.lo&maskLow51Bits + c0
	rr2 := r2.lo&maskLow51Bits + c1
	rr3 := r3.lo&maskLow51Bits + c2
	rr4 := r4.lo&maskLow51Bits + c3

	v.l0 = rr0&maskLow51Bits + mul19(rr4>>51)
	v.l1 = rr1&maskLow51Bits + rr0>>51
	v.l2 = rr2&maskLow51Bits + rr1>>51
	v.l3 = rr3&maskLow51Bits + rr2>>51
	v.l4 = rr4&maskLow51Bits + rr3>>51
}
