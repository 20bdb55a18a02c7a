//go:build amd64 && gc && !purego

package curve25519

import (
	"encoding/binary"

	"github.com/klauspost/cpuid/v2"

	"github.com/wgxdp/wgxdp/internal/cpu"

	"github.com/wgxdp/wgxdp/asm/amd64"
)

// The BMI2/ADX implementation: field elements in radix 2^64 (four limbs,
// kept below 2^256 and made canonical only at the end), the whole ladder in
// assembly (asm/amd64/x25519_amd64.s), and the inversion in Go over the
// assembly multiply and square. PublicKey uses a fixed-base table on the
// Edwards curve instead of the ladder (fixedbase_amd64.go).
var _ = register(cpu.Impl[impl]{
	Name:     "bmi2-adx",
	Level:    "avx2",
	Features: []cpuid.FeatureID{cpuid.BMI2, cpuid.ADX, cpuid.AVX2},
	Fn:       impl{scalarMult: scalarMultADX, scalarBaseMult: scalarBaseMultADX},
})

// feMul and feSq are the field operations limbs64.go's shared code uses.
func feMul(v, a, b *fe64)    { amd64.X25519Mul(v, a, b) }
func feSq(v, a *fe64, n int) { amd64.X25519Square(v, a, n) }

func scalarMultADX(dst, scalar, point *[32]byte) {
	var x1 fe64
	x1[0] = binary.LittleEndian.Uint64(point[0:])
	x1[1] = binary.LittleEndian.Uint64(point[8:])
	x1[2] = binary.LittleEndian.Uint64(point[16:])
	x1[3] = binary.LittleEndian.Uint64(point[24:]) &^ (1 << 63)
	ladderADX(dst, scalar, &x1)
}

func ladderADX(dst, scalar *[32]byte, x1 *fe64) {
	var xz [8]uint64
	amd64.X25519Ladder(&xz, scalar, x1)
	x2 := (*fe64)(xz[0:4])
	z2 := (*fe64)(xz[4:8])
	invert64(z2, z2)
	amd64.X25519Mul(x2, x2, z2)
	bytes64(dst, x2)
}
