//go:build arm64 && gc && !purego

package curve25519

import (
	"encoding/binary"
	"math/bits"

	"github.com/klauspost/cpuid/v2"

	"github.com/wgxdp/wgxdp/asm/arm64"
	"github.com/wgxdp/wgxdp/internal/cpu"
)

// The arm64 implementation: field elements in radix 2^64 (four limbs, any
// value below 2^256, made canonical only at the end), multiply and square
// in assembly with MUL/UMULH (asm/arm64/x25519_arm64.s), and the ladder,
// the additions and the inversion in Go around them. The kernels are
// scalar, but the level is "neon" (the only arm64 level above generic);
// every arm64 CPU with ASIMD has MUL/UMULH.
var _ = register(cpu.Impl[impl]{
	Name:     "arm64",
	Level:    "neon",
	Features: []cpuid.FeatureID{cpuid.ASIMD},
	Fn:       impl{scalarMult: scalarMultArm64, scalarBaseMult: scalarBaseMultArm64},
})

// feMul and feSq are the field operations limbs64.go's shared code uses.
func feMul(v, a, b *fe64)    { arm64.X25519Mul(v, a, b) }
func feSq(v, a *fe64, n int) { arm64.X25519Square(v, a, n) }

func scalarMultArm64(dst, scalar, point *[32]byte) {
	var x1 fe64
	x1[0] = binary.LittleEndian.Uint64(point[0:])
	x1[1] = binary.LittleEndian.Uint64(point[8:])
	x1[2] = binary.LittleEndian.Uint64(point[16:])
	x1[3] = binary.LittleEndian.Uint64(point[24:]) &^ (1 << 63)
	ladder4(dst, scalar, &x1)
}

func scalarBaseMultArm64(dst, scalar *[32]byte) {
	x1 := fe64{9}
	ladder4(dst, scalar, &x1)
}

// ladder4 is ladder (ladder.go) on fe64: the same steps in the same order,
// the masked swap the only scalar-dependent operation.
func ladder4(dst, scalar *[32]byte, x1 *fe64) {
	mul, sq := arm64.X25519Mul, arm64.X25519Square
	e := *scalar
	x2, z2, x3, z3 := fe64{1}, fe64{}, *x1, fe64{1}
	var tmp0, tmp1 fe64

	var swap uint64
	for pos := 254; pos >= 0; pos-- {
		b := uint64(e[pos>>3]>>(pos&7)) & 1
		swap ^= b
		mask := -swap
		swap4(&x2, &x3, mask)
		swap4(&z2, &z3, mask)
		swap = b

		sub4(&tmp0, &x3, &z3) // D = x3 - z3
		sub4(&tmp1, &x2, &z2) // B = x2 - z2
		add4(&x2, &x2, &z2)   // A = x2 + z2
		add4(&z2, &x3, &z3)   // C = x3 + z3
		mul(&z3, &tmp0, &x2)  // DA
		mul(&z2, &z2, &tmp1)  // CB
		sq(&tmp0, &tmp1, 1)   // BB
		sq(&tmp1, &x2, 1)     // AA
		add4(&x3, &z3, &z2)   // DA + CB
		sub4(&z2, &z3, &z2)   // DA - CB
		mul(&x2, &tmp1, &tmp0)
		sub4(&tmp1, &tmp1, &tmp0) // E = AA - BB
		sq(&z2, &z2, 1)           // (DA - CB)^2
		mulSmall4(&z3, &tmp1, 121666)
		sq(&x3, &x3, 1)         // x3 = (DA + CB)^2
		add4(&tmp0, &tmp0, &z3) // BB + 121666·E = AA + 121665·E
		mul(&z3, x1, &z2)       // z3 = x1·(DA - CB)^2
		mul(&z2, &tmp1, &tmp0)  // z2 = E·(AA + a24·E)
	}
	mask := -swap
	swap4(&x2, &x3, mask)
	swap4(&z2, &z3, mask)

	invert64(&z2, &z2)
	mul(&x2, &x2, &z2)
	bytes64(dst, &x2)
}

// swap4 exchanges a and b when mask is all ones and leaves them when it is
// zero, without a branch.
func swap4(a, b *fe64, mask uint64) {
	for i := range a {
		t := mask & (a[i] ^ b[i])
		a[i] ^= t
		b[i] ^= t
	}
}

// add4 sets v = a + b mod p, below 2^256: a carry out of bit 256 is worth
// 38, and a carry out of adding that leaves v[0] small enough for 38 more.
func add4(v, a, b *fe64) {
	var c uint64
	v[0], c = bits.Add64(a[0], b[0], 0)
	v[1], c = bits.Add64(a[1], b[1], c)
	v[2], c = bits.Add64(a[2], b[2], c)
	v[3], c = bits.Add64(a[3], b[3], c)
	v[0], c = bits.Add64(v[0], 38*c, 0)
	v[1], c = bits.Add64(v[1], 0, c)
	v[2], c = bits.Add64(v[2], 0, c)
	v[3], c = bits.Add64(v[3], 0, c)
	v[0] += 38 * c
}

// sub4 sets v = a - b mod p, below 2^256: a borrow out of bit 256 costs
// 38, and a borrow out of subtracting that leaves v[0] large enough for 38
// more.
func sub4(v, a, b *fe64) {
	var c uint64
	v[0], c = bits.Sub64(a[0], b[0], 0)
	v[1], c = bits.Sub64(a[1], b[1], c)
	v[2], c = bits.Sub64(a[2], b[2], c)
	v[3], c = bits.Sub64(a[3], b[3], c)
	v[0], c = bits.Sub64(v[0], 38*c, 0)
	v[1], c = bits.Sub64(v[1], 0, c)
	v[2], c = bits.Sub64(v[2], 0, c)
	v[3], c = bits.Sub64(v[3], 0, c)
	v[0] -= 38 * c
}

// mulSmall4 sets v = a·k mod p, below 2^256, for k < 2^32.
func mulSmall4(v, a *fe64, k uint64) {
	h0, l0 := bits.Mul64(a[0], k)
	h1, l1 := bits.Mul64(a[1], k)
	h2, l2 := bits.Mul64(a[2], k)
	h3, l3 := bits.Mul64(a[3], k)
	var c uint64
	l1, c = bits.Add64(l1, h0, 0)
	l2, c = bits.Add64(l2, h1, c)
	l3, c = bits.Add64(l3, h2, c)
	top := h3 + c // below 2^32
	l0, c = bits.Add64(l0, 38*top, 0)
	l1, c = bits.Add64(l1, 0, c)
	l2, c = bits.Add64(l2, 0, c)
	l3, c = bits.Add64(l3, 0, c)
	v[0], v[1], v[2], v[3] = l0+38*c, l1, l2, l3
}
