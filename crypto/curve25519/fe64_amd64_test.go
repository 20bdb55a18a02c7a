//go:build amd64 && gc && !purego

package curve25519

import (
	"math/big"
	mrand "math/rand"
	"math/rand/v2"
	"reflect"
	"testing"
	"testing/quick"

	"github.com/klauspost/cpuid/v2"

	"github.com/wgxdp/wgxdp/asm/amd64"
)

func fe64Big(v *fe64) *big.Int {
	r := new(big.Int)
	for i := 3; i >= 0; i-- {
		r.Lsh(r, 64)
		r.Add(r, new(big.Int).SetUint64(v[i]))
	}
	return r
}

// toFieldElement converts v (any value below 2^256) to the portable
// radix-2^51 representation.
func toFieldElement(v *fe64) fieldElement {
	var b [32]byte
	t := *v
	reduce64(&t)
	for i, l := range t {
		for j := range 8 {
			b[8*i+j] = byte(l >> (8 * j))
		}
	}
	var f fieldElement
	f.setBytes(&b)
	return f
}

// genFe64 returns a field element biased to the edges of the radix-2^64
// representation: limbs of all ones or zero, values just below and above
// p and 2p, 2^256-1, and random values.
func genFe64(r *rand.Rand) fe64 {
	var v fe64
	switch r.IntN(6) {
	case 0: // each limb 0, all ones, or random
		for i := range v {
			switch r.IntN(3) {
			case 0:
				v[i] = 0
			case 1:
				v[i] = ^uint64(0)
			default:
				v[i] = r.Uint64()
			}
		}
	case 1: // p + k for small |k|
		v = fieldP
		k := r.Uint64N(64)
		v[0] -= 32
		v[0] += k
	case 2: // 2p + k, 2^256 - k
		v = fe64{0xffffffffffffffda - r.Uint64N(40), ^uint64(0), ^uint64(0), ^uint64(0)}
		if r.IntN(2) == 0 {
			v[0] = ^uint64(0) - r.Uint64N(40)
		}
	case 3: // small
		v[0] = r.Uint64N(64)
	default:
		v = fe64{r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64()}
	}
	return v
}

func quickConfig(n int) *quick.Config {
	rng := rand.New(rand.NewPCG(31, 32))
	return &quick.Config{
		MaxCount: n,
		Values: func(args []reflect.Value, _ *mrand.Rand) {
			for i := range args {
				args[i] = reflect.ValueOf(genFe64(rng))
			}
		},
	}
}

func TestFe64AgainstGo(t *testing.T) {
	if !cpuid.CPU.Supports(cpuid.BMI2, cpuid.ADX) {
		t.Skip("no BMI2/ADX")
	}
	check := func(name string, got *fe64, want *big.Int) bool {
		want.Mod(want, bigP)
		g := fe64Big(got)
		if g.Mod(g, bigP).Cmp(want) != 0 {
			t.Errorf("%s wrong", name)
			return false
		}
		return true
	}
	mul := func(a, b fe64) bool {
		var r fe64
		amd64.X25519Mul(&r, &a, &b)
		// Against the portable multiply, too.
		fa, fb := toFieldElement(&a), toFieldElement(&b)
		var fr fieldElement
		fr.mul(&fa, &fb)
		return check("mul", &r, new(big.Int).Mul(fe64Big(&a), fe64Big(&b))) &&
			fr.toBig().Cmp(toFieldElementBig(&r)) == 0
	}
	if err := quick.Check(mul, quickConfig(20000)); err != nil {
		t.Error(err)
	}
	sqr := func(a, b fe64) bool {
		var r fe64
		amd64.X25519Square(&r, &a, 1)
		fa := toFieldElement(&a)
		var fr fieldElement
		fr.square(&fa)
		ok := check("square", &r, new(big.Int).Mul(fe64Big(&a), fe64Big(&a))) &&
			fr.toBig().Cmp(toFieldElementBig(&r)) == 0
		// Repeated squaring: a^(2^5).
		amd64.X25519Square(&r, &a, 5)
		e := new(big.Int).Exp(fe64Big(&a), big.NewInt(32), bigP)
		return ok && check("square^5", &r, e)
	}
	if err := quick.Check(sqr, quickConfig(20000)); err != nil {
		t.Error(err)
	}
	red := func(a, b fe64) bool {
		r := a
		reduce64(&r)
		want := new(big.Int).Mod(fe64Big(&a), bigP)
		if fe64Big(&r).Cmp(want) != 0 {
			t.Errorf("reduce64(%x) = %x", a, r)
			return false
		}
		var inv fe64
		invert64(&inv, &a)
		if want.Sign() != 0 {
			return check("invert", &inv, new(big.Int).ModInverse(want, bigP))
		}
		return check("invert(0)", &inv, new(big.Int))
	}
	if err := quick.Check(red, quickConfig(2000)); err != nil {
		t.Error(err)
	}
}

func toFieldElementBig(v *fe64) *big.Int {
	f := toFieldElement(v)
	return f.toBig()
}
