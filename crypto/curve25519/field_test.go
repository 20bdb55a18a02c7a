package curve25519

import (
	"math/big"
	"math/rand/v2"
	"testing"
)

var bigP = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))

func (v *fieldElement) toBig() *big.Int {
	r := new(big.Int)
	for _, l := range []uint64{v.l4, v.l3, v.l2, v.l1, v.l0} {
		r.Lsh(r, 51)
		r.Add(r, new(big.Int).SetUint64(l))
	}
	return r.Mod(r, bigP)
}

// genElement returns an element whose limbs are biased to the edges of
// what the operations produce: 0, 2^51-1, a little over 2^51 (the excess a
// light reduction leaves, at most 19·2^13), and random 51-bit values.
func genElement(r *rand.Rand) fieldElement {
	limb := func() uint64 {
		switch r.IntN(5) {
		case 0:
			return 0
		case 1:
			return maskLow51Bits
		case 2:
			return 1<<51 + 19<<13
		case 3:
			return 1<<51 + r.Uint64N(19<<13)
		}
		return r.Uint64N(1 << 51)
	}
	return fieldElement{limb(), limb(), limb(), limb(), limb()}
}

func TestFieldOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	gen := func() fieldElement { return genElement(rng) }
	for range 5000 {
		a, b := gen(), gen()
		ab, bb := a.toBig(), b.toBig()
		var r fieldElement
		check := func(name string, got *fieldElement, want *big.Int) {
			t.Helper()
			want.Mod(want, bigP)
			if got.toBig().Cmp(want) != 0 {
				t.Fatalf("%s(%v, %v) wrong", name, a, b)
			}
			for _, l := range []uint64{got.l0, got.l1, got.l2, got.l3, got.l4} {
				if l >= 1<<52 {
					t.Fatalf("%s(%v, %v): limb %x over 2^52", name, a, b, l)
				}
			}
		}
		check("mul", r.mul(&a, &b), new(big.Int).Mul(ab, bb))
		check("square", r.square(&a), new(big.Int).Mul(ab, ab))
		check("add", r.add(&a, &b), new(big.Int).Add(ab, bb))
		check("sub", r.sub(&a, &b), new(big.Int).Sub(ab, bb))
		check("neg", r.neg(&a), new(big.Int).Neg(ab))
		r.mul32(&a, 121666)
		if r.toBig().Cmp(new(big.Int).Mod(new(big.Int).Mul(ab, big.NewInt(121666)), bigP)) != 0 {
			t.Fatalf("mul32(%v)", a)
		}
		if ab.Sign() != 0 {
			check("invert", r.invert(&a), new(big.Int).ModInverse(ab, bigP))
		}
		var enc [32]byte
		a.bytes(&enc)
		var back fieldElement
		back.setBytes(&enc)
		if back.toBig().Cmp(ab) != 0 || back != *new(fieldElement).set(&a).reduce() {
			t.Fatalf("bytes/setBytes round trip of %v", a)
		}
		var sw1, sw2 = a, b
		sw1.swap(&sw2, 0)
		if sw1 != a || sw2 != b {
			t.Fatal("swap with mask 0 swapped")
		}
		sw1.swap(&sw2, ^uint64(0))
		if sw1 != b || sw2 != a {
			t.Fatal("swap with mask ~0 did not swap")
		}
		if *r.selectFrom(&a, &b, ^uint64(0)) != a || *r.selectFrom(&a, &b, 0) != b {
			t.Fatal("selectFrom")
		}
	}
	var zero fieldElement
	if r := new(fieldElement).invert(&zero); r.toBig().Sign() != 0 {
		t.Error("invert(0) != 0")
	}
}

func (v *fieldElement) set(a *fieldElement) *fieldElement { *v = *a; return v }
