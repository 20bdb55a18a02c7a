//go:build arm64 && gc && !purego

package curve25519

import (
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/cpuid/v2"

	"github.com/wgxdp/wgxdp/asm/arm64"
)

func fe4Big(v *fe64) *big.Int {
	r := new(big.Int)
	for i := 3; i >= 0; i-- {
		r.Lsh(r, 64)
		r.Add(r, new(big.Int).SetUint64(v[i]))
	}
	return r
}

// genFe4 returns a value biased to the edges of the radix-2^64
// representation: limbs of zero or all ones, values near p, 2p and 2^256,
// small values, and random ones.
func genFe4(r *rand.Rand) fe64 {
	p := fe64{0xffffffffffffffed, ^uint64(0), ^uint64(0), 0x7fffffffffffffff}
	var v fe64
	switch r.IntN(6) {
	case 0:
		for i := range v {
			switch r.IntN(3) {
			case 0:
			case 1:
				v[i] = ^uint64(0)
			default:
				v[i] = r.Uint64()
			}
		}
	case 1: // p + k, -32 ≤ k < 32
		v = p
		v[0] += r.Uint64N(64) - 32
	case 2: // 2p + k, 2^256 - k
		v = fe64{0xffffffffffffffda - r.Uint64N(40), ^uint64(0), ^uint64(0), ^uint64(0)}
		if r.IntN(2) == 0 {
			v[0] = ^uint64(0) - r.Uint64N(40)
		}
	case 3:
		v[0] = r.Uint64N(64)
	default:
		v = fe64{r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64()}
	}
	return v
}

// TestFe4AgainstBig checks the assembly multiply and square and the Go
// add, sub, small multiply, reduction and inversion around them against
// math/big.
func TestFe4AgainstBig(t *testing.T) {
	if !cpuid.CPU.Supports(cpuid.ASIMD) {
		t.Skip("no ASIMD")
	}
	rng := rand.New(rand.NewPCG(41, 42))
	mod := func(x *big.Int) *big.Int { return x.Mod(x, bigP) }
	check := func(name string, a, b fe64, got *fe64, want *big.Int) {
		t.Helper()
		if g := mod(fe4Big(got)); g.Cmp(mod(want)) != 0 {
			t.Fatalf("%s(%x, %x) = %x, want %x mod p", name, a, b, got, want)
		}
	}
	for range 20000 {
		a, b := genFe4(rng), genFe4(rng)
		ba, bb := fe4Big(&a), fe4Big(&b)
		var r fe64
		arm64.X25519Mul(&r, &a, &b)
		check("mul", a, b, &r, new(big.Int).Mul(ba, bb))
		r = a
		arm64.X25519Mul(&r, &r, &r) // aliased
		check("mul(a, a)", a, a, &r, new(big.Int).Mul(ba, ba))
		arm64.X25519Square(&r, &a, 1)
		check("square", a, a, &r, new(big.Int).Mul(ba, ba))
		arm64.X25519Square(&r, &a, 5)
		check("square^5", a, a, &r, new(big.Int).Exp(ba, big.NewInt(32), bigP))
		add4(&r, &a, &b)
		check("add4", a, b, &r, new(big.Int).Add(ba, bb))
		sub4(&r, &a, &b)
		check("sub4", a, b, &r, new(big.Int).Sub(ba, bb))
		mulSmall4(&r, &a, 121666)
		check("mulSmall4", a, b, &r, new(big.Int).Mul(ba, big.NewInt(121666)))
		r = a
		reduce64(&r)
		if want := mod(new(big.Int).Set(ba)); fe4Big(&r).Cmp(want) != 0 {
			t.Fatalf("reduce64(%x) = %x, not canonical", a, r)
		}
	}
	for range 200 {
		a := genFe4(rng)
		var r fe64
		invert64(&r, &a)
		want := new(big.Int)
		if x := mod(fe4Big(&a)); x.Sign() != 0 {
			want.ModInverse(x, bigP)
		}
		check("invert64", a, a, &r, want)
	}
}
