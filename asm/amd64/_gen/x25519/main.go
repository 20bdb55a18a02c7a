// Command x25519 generates asm/amd64/x25519_amd64.s and its Go declarations:
// GF(2^255-19) arithmetic in radix 2^64 (four 64-bit limbs, values kept
// below 2^256 and reduced only at the end) with MULX/ADCX/ADOX, and a
// constant-time Montgomery ladder built on it.
//
// The design follows the well-known "fe64" approach of Oliveira, López,
// Hisil, Faz-Hernández and Rodríguez-Henríquez, "How to (pre-)compute a
// ladder" (SAC 2017) and its rfc7748_precomputed code, also used by
// HACL*/Vale's Curve25519 (two interleaved carry chains with ADCX/ADOX for
// each row of the 256×256 product, then one fold by 38 = 2^256 mod p).
// The code here is written from the algorithm, not copied.
//
// Run from asm/amd64/_gen: go run ./x25519
package main

import (
	"os"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Registers: the eight limbs of a product, two temporaries, RDX for MULX,
// and CX held at zero by every field operation.
var (
	t    = [8]GPPhysical{R8, R9, R10, R11, R12, R13, R14, R15}
	lo   = RAX
	hi   = RBX
	zero = RCX
)

func limb(m Mem, i int) Mem { return m.Offset(8 * i) }

// setZero loads 0 into zero without touching the flags' meaning for later
// (MOV does not write flags).
func setZero() { MOVQ(U32(0), zero) }

// store writes t0..t3 to out.
func store(out Mem) {
	for i := 0; i < 4; i++ {
		MOVQ(t[i], limb(out, i))
	}
}

// reduce38 folds t4..t7 into t0..t3 (2^256 = 38 mod p) leaving a value
// below 2^256 in t0..t3. zero must hold 0.
func reduce38() {
	MOVQ(U32(38), RDX)
	XORL(lo.As32(), lo.As32()) // clears CF and OF
	MULXQ(t[4], lo, hi)
	ADCXQ(lo, t[0])
	ADOXQ(hi, t[1])
	MULXQ(t[5], lo, hi)
	ADCXQ(lo, t[1])
	ADOXQ(hi, t[2])
	MULXQ(t[6], lo, hi)
	ADCXQ(lo, t[2])
	ADOXQ(hi, t[3])
	MULXQ(t[7], lo, t[4])
	ADCXQ(lo, t[3])
	ADOXQ(zero, t[4])
	ADCXQ(zero, t[4]) // t4 ≤ 39
	fold255(t[4])
}

// fold255 folds c·2^256 + t0..t3 (c small) at bit 255 instead of 256:
// c' = 2c + bit 255, cleared, and 19·c' (2^255 = 19 mod p) added to t0..t3
// (hi is overwritten).
// The sum cannot carry out of t3 (t3 < 2^63 before it), so the result is
// below 2^255 + 19·c' with no conditional tail, and the ladder's additions
// and subtractions with such a value need only one correction (addLazy,
// subLazy).
func fold255(c GPPhysical) {
	BTRQ(U8(63), t[3]) // CF = bit 255
	ADCQ(c, c)
	// 19·c' = c' + 2·(9·c') with two LEAs, off the multiplier port
	// that the MULXs keep busy.
	LEAQ(Mem{Base: c, Index: c, Scale: 8}, hi)
	LEAQ(Mem{Base: c, Index: hi, Scale: 2}, c)
	ADDQ(c, t[0])
	ADCQ(zero, t[1])
	ADCQ(zero, t[2])
	ADCQ(zero, t[3])
}

// mul sets out = a·b.
func mul(out, a, b Mem) {
	// Row 0: t0..t4 = a0·b.
	MOVQ(limb(a, 0), RDX)
	MULXQ(limb(b, 0), t[0], t[1])
	MULXQ(limb(b, 1), lo, t[2])
	ADDQ(lo, t[1])
	MULXQ(limb(b, 2), lo, t[3])
	ADCQ(lo, t[2])
	MULXQ(limb(b, 3), lo, t[4])
	ADCQ(lo, t[3])
	ADCQ(zero, t[4])
	// Rows 1..3: two carry chains, CF over the low halves, OF over the
	// high halves.
	for i := 1; i < 4; i++ {
		MOVQ(limb(a, i), RDX)
		XORL(t[i+4].As32(), t[i+4].As32()) // new top limb; clears CF, OF
		for j := 0; j < 4; j++ {
			MULXQ(limb(b, j), lo, hi)
			ADCXQ(lo, t[i+j])
			ADOXQ(hi, t[i+j+1])
		}
		ADCXQ(zero, t[i+4])
	}
	reduce38()
	store(out)
}

// sqr sets t0..t3 = a² (not stored).
func sqr(a Mem) {
	// Cross products a_i·a_j, i<j, into t1..t6.
	MOVQ(limb(a, 0), RDX)
	MULXQ(limb(a, 1), t[1], t[2])
	MULXQ(limb(a, 2), lo, t[3])
	ADDQ(lo, t[2])
	MULXQ(limb(a, 3), lo, t[4])
	ADCQ(lo, t[3])
	MOVQ(limb(a, 3), RDX)
	MULXQ(limb(a, 1), lo, t[5])
	ADCQ(lo, t[4])
	MULXQ(limb(a, 2), lo, t[6])
	ADCQ(lo, t[5])
	ADCQ(zero, t[6])
	MOVQ(limb(a, 1), RDX)
	MULXQ(limb(a, 2), lo, hi)
	ADDQ(lo, t[3])
	ADCQ(hi, t[4])
	ADCQ(zero, t[5])
	ADCQ(zero, t[6])
	// Double them (carry chain CF) while adding the squares a_i² (carry
	// chain OF), the two chains interleaved.
	XORL(t[7].As32(), t[7].As32()) // clears CF and OF
	MOVQ(limb(a, 0), RDX)
	MULXQ(RDX, t[0], lo)
	ADCXQ(t[1], t[1])
	ADOXQ(lo, t[1])
	for i := 1; i < 4; i++ {
		MOVQ(limb(a, i), RDX)
		MULXQ(RDX, lo, hi)
		ADCXQ(t[2*i], t[2*i])
		ADOXQ(lo, t[2*i])
		if i < 3 {
			ADCXQ(t[2*i+1], t[2*i+1])
		} else {
			ADCXQ(zero, t[7]) // the doubling's carry; t7 was 0
		}
		ADOXQ(hi, t[2*i+1])
	}
	reduce38()
}

// addSubFold sets dst = dst + src (dst - src if subtract) over four limbs
// and folds the carry (borrow) out of 2^256 back in as 38 = 2^256 - 2p,
// using scratch. One fold can carry (borrow) once more; full adds a second
// fold for that. Without it the inputs must rule the second carry out: the
// lazy forms below.
func addSubFold(dst [4]GPPhysical, src func(i int) Op, subtract, full bool, scratch GPPhysical) {
	op, opc := ADDQ, ADCQ
	if subtract {
		op, opc = SUBQ, SBBQ
	}
	op(src(0), dst[0])
	for i := 1; i < 4; i++ {
		opc(src(i), dst[i])
	}
	SBBQ(scratch, scratch)
	ANDQ(U8(38), scratch)
	op(scratch, dst[0])
	for i := 1; i < 4; i++ {
		opc(zero, dst[i])
	}
	if full {
		SBBQ(scratch, scratch)
		ANDQ(U8(38), scratch)
		op(scratch, dst[0])
	}
}

// addSub sets out = a + b (a - b if subtract) through t0..t3.
func addSub(out, a, b Mem, subtract, full bool) {
	for i := 0; i < 4; i++ {
		MOVQ(limb(a, i), t[i])
	}
	addSubFold([4]GPPhysical(t[:4]), func(i int) Op { return limb(b, i) }, subtract, full, hi)
	store(out)
}

// add sets out = a + b.
func add(out, a, b Mem) { addSub(out, a, b, false, true) }

// sub sets out = a - b.
func sub(out, a, b Mem) { addSub(out, a, b, true, true) }

// addLazy sets out = a + b for a below 2^256 and b below 2^255 + 2^24 (a
// multiplication's output, see fold255): a carry out wraps the sum below
// 2^255 + 2^25, so one correction by 38 cannot carry again.
func addLazy(out, a, b Mem) { addSub(out, a, b, false, false) }

// subLazy sets out = a - b for a below 2^256 and b below 2^255 + 2^24: a
// borrow wraps the difference to at least 2^255 - 2^24, so taking 38 off
// once cannot borrow again.
func subLazy(out, a, b Mem) { addSub(out, a, b, true, false) }

// mulA24Add sets out = a·121666 + b: one multiplication chain, b added on
// before the single fold (the top limb stays below 2^18).
func mulA24Add(out, a, b Mem) {
	MOVQ(U32(121666), RDX)
	MULXQ(limb(a, 0), t[0], t[1])
	MULXQ(limb(a, 1), lo, t[2])
	ADDQ(lo, t[1])
	MULXQ(limb(a, 2), lo, t[3])
	ADCQ(lo, t[2])
	MULXQ(limb(a, 3), lo, t[4])
	ADCQ(lo, t[3])
	ADCQ(zero, t[4])
	ADDQ(limb(b, 0), t[0])
	for i := 1; i < 4; i++ {
		ADCQ(limb(b, i), t[i])
	}
	ADCQ(zero, t[4])
	fold255(t[4])
	store(out)
}

// selAddSub sets sum = u' + v' and dif = u' - v', where u' is u, or w when
// the frame word sel is 1, and v' is v, or y when sel is 1. It is the
// ladder's conditional swap fused into its first additions: CMOV from
// fixed frame slots reads both candidates every time (no secret branch
// or address), and the swapped values are never stored, since nothing
// after these additions reads them. All reads come before any write, so
// the outputs may overwrite the inputs. v' is a z coordinate (1, 0 or a
// multiplication's output, below 2^255 + 2^24), so the sum and the
// difference need one correction each (addLazy, subLazy).
func selAddSub(sum, dif, u, w, v, y, sel Mem) {
	CMPQ(sel, U8(0))
	for i := 0; i < 4; i++ {
		MOVQ(limb(u, i), t[i])
		CMOVQNE(limb(w, i), t[i])
		MOVQ(limb(v, i), t[4+i])
		CMOVQNE(limb(y, i), t[4+i])
	}
	// dif, in registers of its own, and sum, in place: one correction each.
	d := [4]GPPhysical{RAX, RBX, RSI, RDI}
	for i := 0; i < 4; i++ {
		MOVQ(t[i], d[i])
	}
	v4 := func(i int) Op { return t[4+i] }
	addSubFold(d, v4, true, false, RDX)
	for i := 0; i < 4; i++ {
		MOVQ(d[i], limb(dif, i))
	}
	addSubFold([4]GPPhysical(t[:4]), v4, false, false, RDX)
	store(sum)
}

// cswap exchanges a and b when mask is all ones, by masked XOR.
func cswap(a, b Mem, mask GPPhysical) {
	for i := 0; i < 4; i++ {
		MOVQ(limb(a, i), t[0])
		MOVQ(limb(b, i), t[1])
		MOVQ(t[0], t[2])
		XORQ(t[1], t[2])
		ANDQ(mask, t[2])
		XORQ(t[2], t[0])
		XORQ(t[2], t[1])
		MOVQ(t[0], limb(a, i))
		MOVQ(t[1], limb(b, i))
	}
}

func main() {
	os.Args = append(os.Args[:1], "-out", "../x25519_amd64.s", "-stubs", "../x25519_amd64.go", "-pkg", "amd64")
	ConstraintExpr("amd64,gc,!purego")

	TEXT("X25519Mul", NOSPLIT, "func(out, a, b *[4]uint64)")
	Pragma("noescape")
	Doc("X25519Mul sets out = a·b mod 2^255-19 for any 256-bit a, b; out is",
		"below 2^256 but not canonical. It needs BMI2 and ADX.")
	{
		// Registers are short (no BP), so b is copied into the frame.
		b := AllocLocal(32)
		Load(Param("b"), RSI)
		for i := 0; i < 4; i++ {
			MOVQ(limb(Mem{Base: RSI}, i), RAX)
			MOVQ(RAX, limb(b, i))
		}
		Load(Param("out"), RDI)
		Load(Param("a"), RSI)
		setZero()
		mul(Mem{Base: RDI}, Mem{Base: RSI}, b)
		RET()
	}

	TEXT("X25519Square", NOSPLIT, "func(out, a *[4]uint64, n int)")
	Pragma("noescape")
	Doc("X25519Square sets out = a^(2^n) mod 2^255-19 (n ≥ 1 squarings); out is",
		"below 2^256 but not canonical. It needs BMI2 and ADX.")
	{
		// The running value lives in the frame between squarings: a
		// reload from an SP-based slot just stored is cheaper than one
		// through another pointer (AMD's memory renaming), and the
		// count stays in a register. This loop is the inversion's
		// serial chain, so its latency is what counts.
		x := AllocLocal(32)
		Load(Param("n"), RSI)
		Load(Param("a"), RDI)
		setZero()
		sqr(Mem{Base: RDI})
		Label("sqrloop")
		DECQ(RSI)
		JLE(LabelRef("sqrdone"))
		store(x)
		sqr(x)
		JMP(LabelRef("sqrloop"))
		Label("sqrdone")
		Load(Param("out"), RDI)
		store(Mem{Base: RDI})
		RET()
	}

	TEXT("X25519Ladder", NOSPLIT, "func(xz *[8]uint64, scalar *[32]byte, x1 *[4]uint64)")
	Pragma("noescape")
	Doc("X25519Ladder runs the Montgomery ladder of RFC 7748 over bits 254..0 of",
		"the clamped scalar from the u-coordinate x1 (any 256-bit value) and",
		"writes the projective result x2 (xz[0:4]) and z2 (xz[4:8]), not",
		"canonical. The only scalar-dependent operations are a CMOV selection",
		"between two fixed frame slots in each step and a masked swap at the",
		"end: no branch or memory index depends on the scalar. It needs BMI2",
		"and ADX.")
	{
		x2 := AllocLocal(32)
		z2 := AllocLocal(32)
		x3 := AllocLocal(32)
		z3 := AllocLocal(32)
		t0 := AllocLocal(32)
		t1 := AllocLocal(32)
		t2 := AllocLocal(32)
		x1 := AllocLocal(32)
		swap := AllocLocal(8)
		sel := AllocLocal(8)
		pos := AllocLocal(8)

		Load(Param("x1"), RSI)
		for i := 0; i < 4; i++ {
			MOVQ(limb(Mem{Base: RSI}, i), RAX)
			MOVQ(RAX, limb(x1, i))
			MOVQ(RAX, limb(x3, i))
		}
		MOVQ(U32(1), RAX)
		MOVQ(RAX, limb(x2, 0))
		MOVQ(RAX, limb(z3, 0))
		XORL(EAX, EAX)
		for i := 1; i < 4; i++ {
			MOVQ(RAX, limb(x2, i))
			MOVQ(RAX, limb(z3, i))
		}
		for i := 0; i < 4; i++ {
			MOVQ(RAX, limb(z2, i))
		}
		MOVQ(RAX, swap)
		MOVQ(U32(254), pos)

		Label("loop")
		// b = bit pos of the scalar (pos is public, the bit is not).
		Load(Param("scalar"), RSI)
		MOVQ(pos, RCX)
		MOVQ(RCX, RAX)
		SHRQ(U8(3), RAX)
		MOVBQZX(Mem{Base: RSI, Index: RAX, Scale: 1}, RBX)
		ANDQ(U8(7), RCX)
		SHRQ(CL, RBX)
		ANDQ(U8(1), RBX)
		// Swap (x2, z2) with (x3, z3) when this bit differs from the
		// last; the swap happens as selAddSub reads them.
		MOVQ(swap, RAX)
		XORQ(RBX, RAX)
		MOVQ(RBX, swap)
		MOVQ(RAX, sel)

		setZero()
		selAddSub(t0, t1, x2, x3, z2, z3, sel) // A = x2 + z2, B = x2 - z2
		selAddSub(z2, x3, x3, x2, z3, z2, sel) // C = x3 + z3, D = x3 - z3
		mul(z3, x3, t0)                        // DA
		mul(z2, z2, t1)                        // CB
		sqr(t1)                                // BB
		store(t2)
		sqr(t0) // AA
		store(t1)
		addLazy(x3, z3, z2)   // DA + CB
		subLazy(z2, z3, z2)   // DA - CB
		mul(x2, t1, t2)       // x2 = AA·BB
		subLazy(t1, t1, t2)   // E = AA - BB
		mulA24Add(t0, t1, t2) // BB + 121666·E
		sqr(z2)               // (DA - CB)²
		store(z2)
		sqr(x3) // x3 = (DA + CB)²
		store(x3)
		mul(z3, x1, z2) // z3 = x1·(DA - CB)²
		mul(z2, t1, t0) // z2 = E·(BB + 121666·E)

		DECQ(pos)
		JGE(LabelRef("loop"))

		MOVQ(swap, RAX)
		NEGQ(RAX)
		cswap(x2, x3, RAX)
		cswap(z2, z3, RAX)
		Load(Param("xz"), RDI)
		for i := 0; i < 4; i++ {
			MOVQ(limb(x2, i), RAX)
			MOVQ(RAX, limb(Mem{Base: RDI}, i))
			MOVQ(limb(z2, i), RAX)
			MOVQ(RAX, limb(Mem{Base: RDI}, 4+i))
		}
		RET()
	}

	TEXT("X25519EdMadd", NOSPLIT, "func(p *[16]uint64, q *[12]uint64)")
	Pragma("noescape")
	Doc("X25519EdMadd sets p = p + q on edwards25519, p in extended coordinates",
		"(X, Y, Z, T) and q an affine point as (y+x, y-x, 2d·x·y), with the",
		"unified formulas of Hisil, Wong, Carter and Dawson (ref10's ge_madd).",
		"It needs BMI2 and ADX.")
	{
		a, b, c, d := AllocLocal(32), AllocLocal(32), AllocLocal(32), AllocLocal(32)
		e, f, g, h := AllocLocal(32), AllocLocal(32), AllocLocal(32), AllocLocal(32)
		Load(Param("p"), RDI)
		Load(Param("q"), RSI)
		P := Mem{Base: RDI}
		X, Y, Z, T := P, P.Offset(32), P.Offset(64), P.Offset(96)
		Q := Mem{Base: RSI}
		setZero()
		add(a, Y, X)
		sub(b, Y, X)
		mul(a, a, Q)
		mul(b, b, Q.Offset(32))
		mul(c, Q.Offset(64), T)
		add(d, Z, Z)
		sub(e, a, b)
		add(h, a, b)
		add(g, d, c)
		sub(f, d, c)
		mul(X, e, f)
		mul(Y, h, g)
		mul(Z, g, f)
		mul(T, e, h)
		RET()
	}

	TEXT("X25519EdDouble", NOSPLIT, "func(p *[16]uint64)")
	Pragma("noescape")
	Doc("X25519EdDouble sets p = 2p on edwards25519, p in extended coordinates",
		"(ref10's ge_p2_dbl). It needs BMI2 and ADX.")
	{
		xx, yy, zz, aa := AllocLocal(32), AllocLocal(32), AllocLocal(32), AllocLocal(32)
		x, y, z, t := AllocLocal(32), AllocLocal(32), AllocLocal(32), AllocLocal(32)
		Load(Param("p"), RDI)
		P := Mem{Base: RDI}
		X, Y, Z, T := P, P.Offset(32), P.Offset(64), P.Offset(96)
		setZero()
		sqr(X)
		store(xx)
		sqr(Y)
		store(yy)
		sqr(Z)
		store(zz)
		add(zz, zz, zz)
		add(aa, X, Y)
		sqr(aa)
		store(aa)
		add(y, yy, xx)
		sub(z, yy, xx)
		sub(x, aa, y)
		sub(t, zz, z)
		mul(X, x, t)
		mul(Y, y, z)
		mul(Z, z, t)
		mul(T, x, y)
		RET()
	}

	TEXT("X25519EdSelect", NOSPLIT, "func(q *[12]uint64, tab *[8][12]uint64, abs uint64)")
	Pragma("noescape")
	Doc("X25519EdSelect sets q = tab[abs-1], or the identity (1, 1, 0) when abs",
		"is 0, reading every entry and blending with masks so that neither a",
		"branch nor an address depends on abs (0..8). It needs AVX2.")
	{
		Load(Param("abs"), RAX)
		VMOVQ(RAX, X0)
		VPBROADCASTQ(X0, Y0)
		MOVQ(U32(1), RAX)
		VMOVQ(RAX, X1) // (1, 0, 0, 0): the identity's y+x and y-x
		VMOVDQA(Y1, Y2)
		VPXOR(Y3, Y3, Y3)
		VPBROADCASTQ(X1, Y5)
		VMOVDQA(Y5, Y4) // j+1
		Load(Param("tab"), RSI)
		for j := 0; j < 8; j++ {
			VPCMPEQQ(Y0, Y4, Y6)
			e := Mem{Base: RSI, Disp: 96 * j}
			VPBLENDVB(Y6, e, Y1, Y1)
			VPBLENDVB(Y6, e.Offset(32), Y2, Y2)
			VPBLENDVB(Y6, e.Offset(64), Y3, Y3)
			VPADDQ(Y5, Y4, Y4)
		}
		Load(Param("q"), RDI)
		VMOVDQU(Y1, Mem{Base: RDI})
		VMOVDQU(Y2, Mem{Base: RDI, Disp: 32})
		VMOVDQU(Y3, Mem{Base: RDI, Disp: 64})
		VZEROUPPER()
		RET()
	}

	Generate()
}
