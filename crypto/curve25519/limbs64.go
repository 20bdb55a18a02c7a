//go:build (amd64 || arm64) && gc && !purego

package curve25519

import (
	"encoding/binary"
	"math/bits"
)

// Field code shared by the assembly variants that keep an element in four
// 64-bit limbs (amd64's MULX/ADX and arm64's MUL/UMULH kernels); each
// architecture's file supplies feMul and feSq.

// fe64 is an element of GF(2^255-19) as four little-endian 64-bit limbs,
// any value below 2^256.
type fe64 = [4]uint64

// invert64 sets v = 1/z (0 for 0) as z^(p-2), with the same addition chain
// as fieldElement.invert.
func invert64(v, z *fe64) {
	var z2, z9, z11, z2_5_0, z2_10_0, z2_20_0, z2_50_0, z2_100_0, t fe64
	sq, mul := feSq, feMul
	sq(&z2, z, 1)
	sq(&t, &z2, 2)
	mul(&z9, &t, z)
	mul(&z11, &z9, &z2)
	sq(&t, &z11, 1)
	mul(&z2_5_0, &t, &z9)
	sq(&t, &z2_5_0, 5)
	mul(&z2_10_0, &t, &z2_5_0)
	sq(&t, &z2_10_0, 10)
	mul(&z2_20_0, &t, &z2_10_0)
	sq(&t, &z2_20_0, 20)
	mul(&t, &t, &z2_20_0)
	sq(&t, &t, 10)
	mul(&z2_50_0, &t, &z2_10_0)
	sq(&t, &z2_50_0, 50)
	mul(&z2_100_0, &t, &z2_50_0)
	sq(&t, &z2_100_0, 100)
	mul(&t, &t, &z2_100_0)
	sq(&t, &t, 50)
	mul(&t, &t, &z2_50_0)
	sq(&t, &t, 5)
	mul(v, &t, &z11)
}

// reduce64 sets v to its canonical value, below p, in constant time.
func reduce64(v *fe64) {
	// Fold bit 255: v < 2^255 + 19 afterwards.
	top := v[3] >> 63
	v[3] &^= 1 << 63
	var c uint64
	v[0], c = bits.Add64(v[0], 19*top, 0)
	v[1], c = bits.Add64(v[1], 0, c)
	v[2], c = bits.Add64(v[2], 0, c)
	v[3], _ = bits.Add64(v[3], 0, c)
	// v ≥ p exactly when v + 19 reaches bit 255; then v - p = v + 19 - 2^255.
	var w fe64
	w[0], c = bits.Add64(v[0], 19, 0)
	w[1], c = bits.Add64(v[1], 0, c)
	w[2], c = bits.Add64(v[2], 0, c)
	w[3], _ = bits.Add64(v[3], 0, c)
	mask := -(w[3] >> 63)
	w[3] &^= 1 << 63
	for i := range v {
		v[i] ^= mask & (v[i] ^ w[i])
	}
}

// bytes64 writes the canonical little-endian encoding of v into out.
func bytes64(out *[32]byte, v *fe64) {
	t := *v
	reduce64(&t)
	for i, l := range t {
		binary.LittleEndian.PutUint64(out[8*i:], l)
	}
}
