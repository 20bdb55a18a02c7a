// Command chacha20poly1305 generates asm/amd64/chacha20poly1305_amd64.s and
// its Go declarations: AVX2 ChaCha20 (eight blocks across the 128-bit lanes
// of sixteen ymm registers, with two-, four- and six-block variants for
// short tails), Poly1305 on 64-bit limbs with MULX and ADCX/ADOX, the two
// fused into one pass per packet for Seal and Open, a multi-buffer kernel
// that runs eight independent ChaCha20 states at once, and HChaCha20.
//
// Run it from asm/amd64/_gen:
//
//	go run ./chacha20poly1305
//
// With no arguments it writes ../chacha20poly1305_amd64.s and
// ../chacha20poly1305_amd64.go; the arguments are fixed so that the "Code
// generated" header does not depend on where it runs (the regeneration check
// runs the built binary from a scratch directory).
//
// The shape follows golang.org/x/crypto/chacha20poly1305's amd64 assembly
// (Copyright The Go Authors, BSD-style license; originally by Vlad Krasnov,
// CloudFlare): the row-per-register layout with two blocks per ymm, the
// diagonalisation by in-lane shuffles, the spill of one row when eight blocks
// need all sixteen registers, and Poly1305 blocks interleaved with the
// ChaCha20 rounds. The code is our own; see ../../README-chacha20poly1305.md.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/mmcloughlin/avo/gotypes"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	if len(os.Args) == 1 {
		os.Args = append(os.Args, "-out", "../chacha20poly1305_amd64.s", "-stubs", "../chacha20poly1305_amd64.go", "-pkg", "amd64")
	}
	ConstraintExpr("amd64,gc,!purego")

	constants()
	hchacha20()
	poly1305Blocks()
	poly1305AEAD()
	poly1305AEAD2()
	chacha20Blocks8()
	aead4(true)
	aead4(false)
	aead(true)
	aead(false)
	if exp := os.Getenv("CPEXP"); exp != "" {
		expSuffix = "Exp"
		for _, name := range strings.Split(exp, ",") {
			if f, ok := variants[name]; ok {
				*f = !*f
			}
		}
		aead(true)
		aead(false)
	}
	Generate()
}

var (
	rol16, rol8, sigma, inc Mem
)

func constants() {
	rol16 = GLOBL("rol16", RODATA|NOPTR)
	for i := 0; i < 32; i += 16 {
		DATA(i, U64(0x0504070601000302))
		DATA(i+8, U64(0x0D0C0F0E09080B0A))
	}
	rol8 = GLOBL("rol8", RODATA|NOPTR)
	for i := 0; i < 32; i += 16 {
		DATA(i, U64(0x0605040702010003))
		DATA(i+8, U64(0x0E0D0C0F0A09080B))
	}
	sigma = GLOBL("sigma", RODATA|NOPTR)
	for i := 0; i < 32; i += 16 {
		DATA(i, U32(0x61707865))
		DATA(i+4, U32(0x3320646e))
		DATA(i+8, U32(0x79622d32))
		DATA(i+12, U32(0x6b206574))
	}
	// inc holds the block-counter offsets of the two lanes of each of the
	// four groups: {2g, 0, 0, 0, 2g+1, 0, 0, 0}.
	inc = GLOBL("inc", RODATA|NOPTR)
	for g := 0; g < 4; g++ {
		for w := 0; w < 8; w++ {
			v := 0
			if w == 0 {
				v = 2 * g
			} else if w == 4 {
				v = 2*g + 1
			}
			DATA(32*g+4*w, U32(v))
		}
	}
}

var ymm = []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}
var xmm = []VecPhysical{X0, X1, X2, X3, X4, X5, X6, X7, X8, X9, X10, X11, X12, X13, X14, X15}

// group is one ChaCha20 state in rows: with ymm registers, two blocks, one
// per 128-bit lane.
type group struct{ a, b, c, d VecPhysical }

func groups(regs []VecPhysical, n int) []group {
	gs := make([]group, n)
	for g := range gs {
		gs[g] = group{regs[4*g], regs[4*g+1], regs[4*g+2], regs[4*g+3]}
	}
	return gs
}

// seq is a list of instructions still to be emitted, so that two streams
// (the vector rounds and the scalar MAC) can be interleaved.
type seq []func()

func (s *seq) add(f func()) { *s = append(*s, f) }
func (s seq) emit() {
	for _, f := range s {
		f()
	}
}

// merge emits a and b spread evenly over each other.
func merge(a, b seq) {
	j := 0
	for i, f := range a {
		f()
		for j < len(b) && j*len(a) < (i+1)*len(b) {
			b[j]()
			j++
		}
	}
	for ; j < len(b); j++ {
		b[j]()
	}
}

// doubleRound returns a column round and a diagonal round over n groups.
// With four groups every register holds a row, so the third row of the
// last group is spilled to spill while its register serves as the
// temporary of the 12- and 7-bit rotations.
func doubleRound(regs []VecPhysical, n int, spill Mem) seq {
	gs := groups(regs, n)
	tmp := regs[15]
	spilled := n == 4
	if spilled {
		tmp = gs[3].c
	}
	var s seq
	rot := func(bits uint8) {
		if spilled {
			s.add(func() { VMOVDQU(tmp, spill) })
		}
		for _, g := range gs {
			g := g
			s.add(func() { VPSLLD(U8(bits), g.b, tmp) })
			s.add(func() { VPSRLD(U8(32-bits), g.b, g.b) })
			s.add(func() { VPXOR(tmp, g.b, g.b) })
		}
		if spilled {
			s.add(func() { VMOVDQU(spill, tmp) })
		}
	}
	quarter := func() {
		for _, g := range gs {
			g := g
			s.add(func() { VPADDD(g.b, g.a, g.a) })
		}
		for _, g := range gs {
			g := g
			s.add(func() { VPXOR(g.a, g.d, g.d) })
			s.add(func() { VPSHUFB(rol16, g.d, g.d) })
		}
		for _, g := range gs {
			g := g
			s.add(func() { VPADDD(g.d, g.c, g.c) })
			s.add(func() { VPXOR(g.c, g.b, g.b) })
		}
		rot(12)
		for _, g := range gs {
			g := g
			s.add(func() { VPADDD(g.b, g.a, g.a) })
		}
		for _, g := range gs {
			g := g
			s.add(func() { VPXOR(g.a, g.d, g.d) })
			s.add(func() { VPSHUFB(rol8, g.d, g.d) })
		}
		for _, g := range gs {
			g := g
			s.add(func() { VPADDD(g.d, g.c, g.c) })
			s.add(func() { VPXOR(g.c, g.b, g.b) })
		}
		rot(7)
	}
	shuffle := func(b, c, d uint8) {
		for _, g := range gs {
			g := g
			s.add(func() { VPSHUFD(U8(b), g.b, g.b) })
			s.add(func() { VPSHUFD(U8(c), g.c, g.c) })
			s.add(func() { VPSHUFD(U8(d), g.d, g.d) })
		}
	}
	quarter()
	shuffle(0x39, 0x4e, 0x93)
	quarter()
	shuffle(0x93, 0x4e, 0x39)
	return s
}

var labels int

func label(name string) string {
	labels++
	return fmt.Sprintf("%s_%d", name, labels)
}

// xorBytes sets dst[:n] = src[:n] ^ ks[:n], the three pointers and n in
// registers that it advances and counts down: wide bytes a step (32: one
// ymm, 64: two) while they last, then 8, then 1. tmp and tmpB (tmp's low
// byte) are scratch; the labels are prefix+"32"/"64", "8", "1", "done".
func xorBytes(src, dst, ks, n, tmp, tmpB GPPhysical, wide int, prefix string) {
	lw, l8, l1, done := label(fmt.Sprint(prefix, wide)), label(prefix+"8"), label(prefix+"1"), label(prefix+"done")
	Label(lw)
	CMPQ(n, U32(wide))
	JB(LabelRef(l8))
	ys := []VecPhysical{Y0, Y1}[:wide/32]
	for i, y := range ys {
		VMOVDQU(Mem{Base: ks, Disp: 32 * i}, y)
	}
	for i, y := range ys {
		VPXOR(Mem{Base: src, Disp: 32 * i}, y, y)
	}
	for i, y := range ys {
		VMOVDQU(y, Mem{Base: dst, Disp: 32 * i})
	}
	for _, r := range []GPPhysical{src, dst, ks} {
		ADDQ(U32(wide), r)
	}
	SUBQ(U32(wide), n)
	JMP(LabelRef(lw))
	Label(l8)
	CMPQ(n, U32(8))
	JB(LabelRef(l1))
	MOVQ(Mem{Base: ks}, tmp)
	XORQ(Mem{Base: src}, tmp)
	MOVQ(tmp, Mem{Base: dst})
	for _, r := range []GPPhysical{src, dst, ks} {
		ADDQ(U32(8), r)
	}
	SUBQ(U32(8), n)
	JMP(LabelRef(l8))
	Label(l1)
	TESTQ(n, n)
	JZ(LabelRef(done))
	MOVB(Mem{Base: ks}, tmpB)
	XORB(Mem{Base: src}, tmpB)
	MOVB(tmpB, Mem{Base: dst})
	for _, r := range []GPPhysical{src, dst, ks} {
		INCQ(r)
	}
	DECQ(n)
	JMP(LabelRef(l1))
	Label(done)
}

// ---- Poly1305 -----------------------------------------------------------

// The accumulator h lives in h0..h2 across the whole function; t0..t3, AX,
// CX, DX and R8 are scratch for one block.
var (
	h0, h1, h2     = R10, R11, R12
	t0, t1, t2, t3 = R13, R14, R15, RBX
)

// polyR is the clamped Poly1305 key r in memory: r0, r1 and rs = r1 +
// r1>>2 = 5·r1/4 (r1 is a multiple of 4), which folds the products at and
// above 2¹³⁰ back in without a fourth limb.
type polyR struct{ r0, r1, rs Mem }

// hregs is a Poly1305 accumulator in three registers.
type hregs struct{ h0, h1, h2 GPPhysical }

// hA is the accumulator of every one-packet routine; hB is the second
// packet's in Poly1305AEAD2ADX.
var (
	hA = hregs{h0, h1, h2}
	hB = hregs{RCX, R8, R9}
)

// polyBlock returns the instructions that absorb the 16-byte block at m (with
// the 2¹²⁸ bit) into hA and multiply by r, reduced partially as in the
// portable polyMul: h = (h + m)·r mod 2¹³⁰−5.
func polyBlock(m Mem, r polyR) seq { return polyBlockH(m, r, hA) }

// polyBlockH is polyBlock on the accumulator h.
func polyBlockH(m Mem, r polyR, h hregs) seq {
	var s seq
	a := func(f func()) { s.add(f) }
	a(func() { ADDQ(m, h.h0) })
	a(func() { ADCQ(m.Offset(8), h.h1) })
	a(func() { ADCQ(U32(1), h.h2) })
	polyMul(&s, r, h)
	return s
}

// polyMul appends h = h·r mod 2¹³⁰−5, partially reduced, with t0..t3, AX
// and DX as scratch. With r1 a multiple of 4, h1·r1·2¹²⁸ ≡ h1·rs and
// h2·r1·2¹⁹² ≡ h2·rs·2⁶⁴, so
//
//	h·r ≡ d0 + d1·2⁶⁴ + d2·2¹²⁸,
//	d0 = h0·r0 + h1·rs, d1 = h0·r1 + h1·r0 + h2·rs, d2 = h2·r0
//
// (the 64-bit limbs of OpenSSL's poly1305-x86_64). With h2 ≤ 6 on entry
// (≤ 4 after a reduction, plus the 2¹²⁸ bit and a carry) and r0, r1 < 2⁶⁰,
// rs < 2⁶¹: h2·rs and h2·r0 fit in 63 bits (IMUL), d0 and d1 in 126 bits
// and d2 with the carries in 63, so the fold of k = d2>>2 as 4k + k fits in
// one limb and leaves h2 ≤ 4.
func polyMul(s *seq, r polyR, h hregs) {
	a := func(f func()) { s.add(f) }
	a(func() { MOVQ(r.r0, RDX) })
	a(func() { MULXQ(h.h0, t0, t1) })  // t1:t0 = h0·r0
	a(func() { MULXQ(h.h1, RAX, t2) }) // t2:AX = h1·r0
	a(func() { MOVQ(r.rs, RDX) })
	a(func() { MULXQ(h.h1, h.h1, t3) }) // t3:h1 = h1·rs
	a(func() { ADDQ(h.h1, t0) })        // d0 = t1:t0
	a(func() { ADCQ(t3, t1) })
	a(func() { IMULQ(h.h2, RDX) })  // DX = h2·rs
	a(func() { IMULQ(r.r0, h.h2) }) // h2 = h2·r0
	a(func() { ADDQ(RDX, RAX) })
	a(func() { ADCQ(U32(0), t2) })
	a(func() { MOVQ(r.r1, RDX) })
	a(func() { MULXQ(h.h0, h.h0, t3) }) // t3:h0 = h0·r1
	a(func() { ADDQ(h.h0, RAX) })
	a(func() { ADCQ(t3, t2) })
	a(func() { ADDQ(t1, RAX) }) // d1 = t2:AX
	a(func() { ADCQ(U32(0), t2) })
	a(func() { ADDQ(t2, h.h2) }) // d2 = h2
	// Fold the part above 2¹³⁰ back in: with k = d2 >> 2, add 4k + k.
	if leaFold {
		a(func() { MOVQ(h.h2, t3) })
		a(func() { SHRQ(U8(2), t3) })
		a(func() { ANDQ(U32(3), h.h2) })
		a(func() { LEAQ(Mem{Base: t3, Index: t3, Scale: 4}, t3) })
		a(func() { ADDQ(t3, t0) })
		a(func() { ADCQ(U32(0), RAX) })
		a(func() { ADCQ(U32(0), h.h2) })
		a(func() { MOVQ(t0, h.h0) })
		a(func() { MOVQ(RAX, h.h1) })
		return
	}
	a(func() { MOVQ(h.h2, t1) })
	a(func() { ANDQ(I32(-4), t1) })
	a(func() { MOVQ(h.h2, t3) })
	a(func() { SHRQ(U8(2), t3) })
	a(func() { ANDQ(U32(3), h.h2) })
	a(func() { ADDQ(t3, t1) })
	a(func() { ADDQ(t1, t0) })
	a(func() { ADCQ(U32(0), RAX) })
	a(func() { ADCQ(U32(0), h.h2) })
	a(func() { MOVQ(t0, h.h0) })
	a(func() { MOVQ(RAX, h.h1) })
}

// polyCatchUp absorbs whole blocks from SI on while at least 16 bytes are
// left before the address in limit.
func polyCatchUp(limit Mem, r polyR) {
	loop, done := label("catchup"), label("catchupdone")
	Label(loop)
	MOVQ(limit, RAX)
	SUBQ(RSI, RAX)
	CMPQ(RAX, U32(16))
	JL(LabelRef(done)) // signed: Open's MAC may already be past limit
	if noMAC {
		MOVQ(limit, RSI)
		JMP(LabelRef(done))
	}
	if breakCatchUp {
		XORQ(h0, h0)
		XORQ(h1, h1)
		XORQ(h2, h2)
	}
	polyBlock(Mem{Base: RSI}, r).emit()
	ADDQ(U32(16), RSI)
	JMP(LabelRef(loop))
	Label(done)
}

// polyPadded absorbs CX (0..15) bytes at SI zero-padded to a block, using
// the 16-byte pad. It clobbers SI.
func polyPadded(pad Mem, r polyR) {
	done, loop := label("paddone"), label("padloop")
	TESTQ(RCX, RCX)
	JZ(LabelRef(done))
	MOVQ(U32(0), pad)
	MOVQ(U32(0), pad.Offset(8))
	LEAQ(pad, RDX)
	Label(loop)
	MOVB(Mem{Base: RSI}, AL)
	MOVB(AL, Mem{Base: RDX})
	INCQ(RSI)
	INCQ(RDX)
	DECQ(RCX)
	JNZ(LabelRef(loop))
	LEAQ(pad, RSI)
	polyBlock(Mem{Base: RSI}, r).emit()
	Label(done)
}

// polyKey clamps r from the 32 bytes at k and stores r (with rs) and s. It uses R8
// and R9, so k may be based on any other register.
func polyKey(k Mem, r polyR, s0, s1 Mem) { polyKeyH(k, r, s0, s1, hA) }

// polyKeyH is polyKey for the accumulator h.
func polyKeyH(k Mem, r polyR, s0, s1 Mem, h hregs) {
	MOVQ(k, R8)
	MOVQ(U64(0x0ffffffc0fffffff), R9)
	ANDQ(R9, R8)
	MOVQ(R8, r.r0)
	MOVQ(k.Offset(8), R8)
	MOVQ(U64(0x0ffffffc0ffffffc), R9)
	ANDQ(R9, R8)
	MOVQ(R8, r.r1)
	MOVQ(R8, R9)
	SHRQ(U8(2), R9)
	ADDQ(R9, R8)
	MOVQ(R8, r.rs)
	MOVQ(k.Offset(16), R8)
	MOVQ(R8, s0)
	MOVQ(k.Offset(24), R8)
	MOVQ(R8, s1)
	XORQ(h.h0, h.h0)
	XORQ(h.h1, h.h1)
	XORQ(h.h2, h.h2)
}

// polyFinish reduces h fully, adds s and writes the tag to (DI).
func polyFinish(s0, s1 Mem) { polyFinishH(s0, s1, hA, Mem{Base: RDI}) }

// polyFinishH reduces h fully, adds s and writes the tag to tag. It uses
// t0..t2.
func polyFinishH(s0, s1 Mem, h hregs, tag Mem) {
	MOVQ(h.h0, t0)
	MOVQ(h.h1, t1)
	MOVQ(h.h2, t2)
	SUBQ(I32(-5), h.h0)
	SBBQ(I32(-1), h.h1)
	SBBQ(U32(3), h.h2)
	CMOVQCS(t0, h.h0)
	CMOVQCS(t1, h.h1)
	ADDQ(s0, h.h0)
	ADCQ(s1, h.h1)
	MOVQ(h.h0, tag)
	MOVQ(h.h1, tag.Offset(8))
}

// polyAEADTail absorbs the lengths block (adLen, ctLen from memory) and
// writes the tag to the address in tag.
func polyAEADTail(adLen, ctLen, pad Mem, r polyR, s0, s1, tag Mem) {
	MOVQ(adLen, RAX)
	MOVQ(RAX, pad)
	MOVQ(ctLen, RAX)
	MOVQ(RAX, pad.Offset(8))
	LEAQ(pad, RSI)
	polyBlock(Mem{Base: RSI}, r).emit()
	MOVQ(tag, RDI)
	polyFinish(s0, s1)
}

func poly1305Blocks() {
	TEXT("Poly1305BlocksADX", NOSPLIT, "func(st *[5]uint64, msg []byte)")
	Pragma("noescape")
	Doc("Poly1305BlocksADX absorbs len(msg)/16 whole blocks of msg into the",
		"state st = {h0, h1, h2, r0, r1} (r clamped, h partially reduced:",
		"h2 ≤ 4).",
		"It needs BMI2 and ADX.")
	Load(Param("st"), RDI)
	Load(Param("msg").Base(), RSI)
	Load(Param("msg").Len(), R9)
	MOVQ(Mem{Base: RDI}, h0)
	MOVQ(Mem{Base: RDI, Disp: 8}, h1)
	MOVQ(Mem{Base: RDI, Disp: 16}, h2)
	ANDQ(I32(-16), R9)
	ADDQ(RSI, R9)
	r := polyR{Mem{Base: RDI, Disp: 24}, Mem{Base: RDI, Disp: 32}, AllocLocal(8)}
	MOVQ(r.r1, RAX)
	MOVQ(RAX, RCX)
	SHRQ(U8(2), RCX)
	ADDQ(RCX, RAX)
	MOVQ(RAX, r.rs)
	loop, done := label("blocks"), label("blocksdone")
	Label(loop)
	CMPQ(RSI, R9)
	JAE(LabelRef(done))
	polyBlock(Mem{Base: RSI}, r).emit()
	ADDQ(U32(16), RSI)
	JMP(LabelRef(loop))
	Label(done)
	MOVQ(h0, Mem{Base: RDI})
	MOVQ(h1, Mem{Base: RDI, Disp: 8})
	MOVQ(h2, Mem{Base: RDI, Disp: 16})
	RET()
}

func poly1305AEAD() {
	TEXT("Poly1305AEADADX", 0, "func(key *[32]byte, ad, ct []byte, tag *[16]byte)")
	Pragma("noescape")
	Doc("Poly1305AEADADX computes the RFC 8439 AEAD tag under the one-time key:",
		"ad and ct each zero-padded to 16 bytes, then both lengths. It needs",
		"BMI2 and ADX.")
	r, s0, s1 := polyR{AllocLocal(8), AllocLocal(8), AllocLocal(8)}, AllocLocal(8), AllocLocal(8)
	pad, limit := AllocLocal(16), AllocLocal(8)
	Load(Param("key"), RAX)
	polyKey(Mem{Base: RAX}, r, s0, s1)
	for _, p := range []string{"ad", "ct"} {
		Load(Param(p).Base(), RSI)
		Load(Param(p).Len(), RCX)
		ANDQ(I32(-16), RCX)
		ADDQ(RSI, RCX)
		MOVQ(RCX, limit)
		polyCatchUp(limit, r)
		Load(Param(p).Len(), RCX)
		ANDQ(U32(15), RCX)
		polyPadded(pad, r)
	}
	adLen, ctLen := addr(Param("ad").Len()), addr(Param("ct").Len())
	polyAEADTail(adLen, ctLen, pad, r, s0, s1, addr(Param("tag")))
	RET()
}

func poly1305AEAD2() {
	TEXT("Poly1305AEAD2ADX", 0, "func(k0, k1 *[32]byte, ad0, ad1, ct0, ct1 []byte, tag0, tag1 *[16]byte)")
	Pragma("noescape")
	Doc("Poly1305AEAD2ADX is Poly1305AEADADX for two packets at once, whose",
		"additional data and ciphertexts have the same lengths: len(ad1) =",
		"len(ad0) and len(ct1) = len(ct0), which it does not check. The two",
		"multiplication chains are independent, so each hides the other's",
		"latency. It needs BMI2 and ADX.")
	key := func(p string) func() Mem {
		return func() Mem {
			Load(Param(p), RAX)
			return Mem{Base: RAX}
		}
	}
	mac2(mac2Args{
		keyA: key("k0"), keyB: key("k1"),
		adA: addr(Param("ad0").Base()), adB: addr(Param("ad1").Base()),
		ctA: addr(Param("ct0").Base()), ctB: addr(Param("ct1").Base()),
		adLen: addr(Param("ad0").Len()), ctLen: addr(Param("ct0").Len()),
		tagA: addr(Param("tag0")), tagB: addr(Param("tag1")),
	})
	RET()
}

// mac2Args locates the inputs of mac2: keyA and keyB emit what loads the
// address of a one-time key (they may use RAX) and return it; the other
// fields are memory words holding the pointers to each packet's AD,
// ciphertext and tag, and the two lengths.
type mac2Args struct {
	keyA, keyB         func() Mem
	adA, adB, ctA, ctB Mem
	adLen, ctLen       Mem
	tagA, tagB         Mem
}

// mac2 computes the AEAD tags of two packets with equal AD and ciphertext
// lengths as two independent chains in one loop. It uses every general
// register but SP and BP.
func mac2(m mac2Args) {
	rA := polyR{AllocLocal(8), AllocLocal(8), AllocLocal(8)}
	rB := polyR{AllocLocal(8), AllocLocal(8), AllocLocal(8)}
	sA0, sA1, sB0, sB1 := AllocLocal(8), AllocLocal(8), AllocLocal(8), AllocLocal(8)
	padA, padB, limit := AllocLocal(16), AllocLocal(16), AllocLocal(8)
	// polyKeyH uses R8 and R9, which are in hB: key A first.
	polyKeyH(m.keyA(), rA, sA0, sA1, hA)
	polyKeyH(m.keyB(), rB, sB0, sB1, hB)
	both := func(a, b Mem) {
		polyBlockH(a, rA, hA).emit()
		polyBlockH(b, rB, hB).emit()
	}
	for _, p := range [][3]Mem{{m.adA, m.adB, m.adLen}, {m.ctA, m.ctB, m.ctLen}} {
		MOVQ(p[0], RSI)
		MOVQ(p[1], RDI)
		MOVQ(p[2], RAX)
		ANDQ(I32(-16), RAX)
		ADDQ(RSI, RAX)
		MOVQ(RAX, limit)
		loop, done := label("blocks2"), label("blocks2done")
		Label(loop)
		CMPQ(RSI, limit)
		JAE(LabelRef(done))
		both(Mem{Base: RSI}, Mem{Base: RDI})
		ADDQ(U32(16), RSI)
		ADDQ(U32(16), RDI)
		JMP(LabelRef(loop))
		Label(done)
		// The partial last blocks, zero-padded.
		MOVQ(p[2], t0)
		ANDQ(U32(15), t0)
		skip, copyLoop := label("pad2done"), label("pad2loop")
		JZ(LabelRef(skip))
		MOVQ(U32(0), padA)
		MOVQ(U32(0), padA.Offset(8))
		MOVQ(U32(0), padB)
		MOVQ(U32(0), padB.Offset(8))
		LEAQ(padA, t1)
		LEAQ(padB, t2)
		Label(copyLoop)
		MOVB(Mem{Base: RSI}, AL)
		MOVB(AL, Mem{Base: t1})
		MOVB(Mem{Base: RDI}, AL)
		MOVB(AL, Mem{Base: t2})
		INCQ(RSI)
		INCQ(RDI)
		INCQ(t1)
		INCQ(t2)
		DECQ(t0)
		JNZ(LabelRef(copyLoop))
		both(padA, padB)
		Label(skip)
	}
	// The lengths, the same for both.
	MOVQ(m.adLen, RAX)
	MOVQ(RAX, padA)
	MOVQ(m.ctLen, RAX)
	MOVQ(RAX, padA.Offset(8))
	both(padA, padA)
	MOVQ(m.tagA, RSI)
	polyFinishH(sA0, sA1, hA, Mem{Base: RSI})
	MOVQ(m.tagB, RSI)
	polyFinishH(sB0, sB1, hB, Mem{Base: RSI})
}

// ---- ChaCha20 -----------------------------------------------------------

func hchacha20() {
	TEXT("HChaCha20AVX", NOSPLIT, "func(out *[32]byte, key *[32]byte, nonce *[16]byte)")
	Pragma("noescape")
	Doc("HChaCha20AVX derives an XChaCha20 subkey: twenty rounds over",
		"sigma, key and the 16-byte nonce without the final addition, keeping",
		"the first and last rows. It needs AVX.")
	Load(Param("key"), RAX)
	Load(Param("nonce"), RBX)
	VMOVDQU(sigma, X0)
	VMOVDQU(Mem{Base: RAX}, X1)
	VMOVDQU(Mem{Base: RAX, Disp: 16}, X2)
	VMOVDQU(Mem{Base: RBX}, X3)
	MOVQ(U32(10), RCX)
	loop := label("hrounds")
	Label(loop)
	doubleRound(xmm, 1, Mem{}).emit()
	DECQ(RCX)
	JNZ(LabelRef(loop))
	Load(Param("out"), RAX)
	VMOVDQU(X0, Mem{Base: RAX})
	VMOVDQU(X3, Mem{Base: RAX, Disp: 16})
	RET()
}

// storeKeyStream writes the key stream of n groups, lane by lane, to ks:
// group g's low lane is block 2g, its high lane block 2g+1.
func storeKeyStream(n int, ks Mem) {
	for g, gr := range groups(ymm, n) {
		for r, y := range []VecPhysical{gr.a, gr.b, gr.c, gr.d} {
			VMOVDQU(y.AsX(), ks.Offset(128*g+16*r))
			VEXTRACTI128(U8(1), y, ks.Offset(128*g+64+16*r))
		}
	}
}

// storeKeyStreamY is storeKeyStream with whole-ymm stores, built by
// VPERM2I128, so that the 32-byte loads that XOR the key stream into the
// message are forwarded from the stores instead of waiting for them to
// leave the store buffer. With four groups every register is live, so the
// last row goes through spill to free a temporary.
func storeKeyStreamY(n int, ks, spill Mem) { keyStreamY(n, nil, ks, spill) }

// xorKeyStreamY XORs the key stream of n groups straight from the
// registers into the 128·n bytes at src and writes them to dst (the same as
// src, or disjoint), as storeKeyStreamY lays them out.
func xorKeyStreamY(n int, src, dst, spill Mem) { keyStreamY(n, &src, dst, spill) }

func keyStreamY(n int, src *Mem, dst, spill Mem) {
	tmp := Y15
	if n == 4 {
		VMOVDQU(Y15, spill)
	}
	out := func(y VecPhysical, o int) {
		if src != nil {
			VPXOR(src.Offset(o), y, y)
		}
		VMOVDQU(y, dst.Offset(o))
	}
	for g, gr := range groups(ymm, n) {
		d := gr.d
		if g == 3 {
			tmp, d = Y0, Y1
			VMOVDQU(spill, d)
		}
		o := 128 * g
		VPERM2I128(U8(0x20), gr.b, gr.a, tmp)
		out(tmp, o)
		VPERM2I128(U8(0x31), gr.b, gr.a, gr.a)
		out(gr.a, o+64)
		VPERM2I128(U8(0x20), d, gr.c, tmp)
		out(tmp, o+32)
		VPERM2I128(U8(0x31), d, gr.c, gr.c)
		out(gr.c, o+96)
	}
}

func chacha20Blocks8() {
	TEXT("ChaCha20Blocks8AVX2", 0, "func(keys *[8]*[32]byte, rows *[8][16]byte, out *[512]byte)")
	Pragma("noescape")
	Doc("ChaCha20Blocks8AVX2 computes eight independent ChaCha20 blocks: block",
		"l under the key at keys[l] with the last row rows[l] (the 32-bit",
		"counter, then the 12-byte nonce). out receives the eight 64-byte",
		"key-stream blocks in order. It needs AVX2.")
	init := AllocLocal(384) // rows b, c, d of each group, for the final sum
	spill := AllocLocal(32)
	Load(Param("keys"), RSI)
	Load(Param("rows"), RDI)
	for g, gr := range groups(ymm, 4) {
		MOVQ(Mem{Base: RSI, Disp: 16 * g}, RAX)
		MOVQ(Mem{Base: RSI, Disp: 16*g + 8}, RBX)
		VMOVDQU(sigma, gr.a)
		VMOVDQU(Mem{Base: RAX}, gr.b.AsX())
		VINSERTI128(U8(1), Mem{Base: RBX}, gr.b, gr.b)
		VMOVDQU(Mem{Base: RAX, Disp: 16}, gr.c.AsX())
		VINSERTI128(U8(1), Mem{Base: RBX, Disp: 16}, gr.c, gr.c)
		VMOVDQU(Mem{Base: RDI, Disp: 32 * g}, gr.d)
		VMOVDQU(gr.b, init.Offset(96*g))
		VMOVDQU(gr.c, init.Offset(96*g+32))
		VMOVDQU(gr.d, init.Offset(96*g+64))
	}
	MOVQ(U32(10), RCX)
	loop := label("mrounds")
	Label(loop)
	doubleRound(ymm, 4, spill).emit()
	DECQ(RCX)
	JNZ(LabelRef(loop))
	for g, gr := range groups(ymm, 4) {
		VPADDD(sigma, gr.a, gr.a)
		VPADDD(init.Offset(96*g), gr.b, gr.b)
		VPADDD(init.Offset(96*g+32), gr.c, gr.c)
		VPADDD(init.Offset(96*g+64), gr.d, gr.d)
	}
	Load(Param("out"), RDI)
	storeKeyStreamY(4, Mem{Base: RDI}, spill)
	VZEROUPPER()
	RET()
}

// aead4 generates ChaCha20Poly1305Seal4AVX2 (seal) or
// ChaCha20Poly1305Open4AVX2: the whole AEAD of four short packets of equal
// shape in one call, so that the batch path pays one call instead of lane
// set-up, key-stream copies and XORs in Go. Packet p takes lanes 2p (block
// 0, the MAC key) and 2p+1 (block 1, its data) of one eight-block pass,
// as the two halves of group p; then the XOR, and the MACs two at a time
// (mac2). Seal hashes what it wrote; Open hashes its input before it
// writes, so in-place use works.
func aead4(seal bool) {
	name := "ChaCha20Poly1305Open4AVX2"
	if seal {
		name = "ChaCha20Poly1305Seal4AVX2"
	}
	TEXT(name, 0, "func(keys *[4]*[32]byte, nonces *[4]*[12]byte, dst, src *[4]*byte, n int, ad *[4]*byte, adLen int, tags *[4]*[16]byte)")
	Pragma("noescape")
	if seal {
		Doc(name+" seals four packets: packet p's n bytes at src[p] (1 ≤ n ≤",
			"64) under keys[p] and nonces[p] to dst[p] (the same as src[p] or",
			"disjoint), with the tag over adLen bytes at ad[p] (nil when adLen is",
			"0) and the ciphertext written to tags[p]. It needs AVX2, BMI2 and",
			"ADX.")
	} else {
		Doc(name+" opens four packets: packet p's n bytes at src[p] (1 ≤ n ≤",
			"64) under keys[p] and nonces[p] to dst[p] (the same as src[p] or",
			"disjoint), and writes the tag over adLen bytes at ad[p] (nil when",
			"adLen is 0) and src[p] to tags[p]; the caller compares them and",
			"clears dst[p] on a mismatch. It needs AVX2, BMI2 and ADX.")
	}
	ks := AllocLocal(512)
	spill := AllocLocal(32)
	init := AllocLocal(384)
	rows := AllocLocal(64)
	// The pointers of each packet, copied so that mac2 can read them
	// while it uses every register.
	ptrs := AllocLocal(8 * 16)
	names := []string{"dst", "src", "ad", "tags"}
	ptr := func(what string, p int) Mem {
		for i, n := range names {
			if n == what {
				return ptrs.Offset(8 * (4*i + p))
			}
		}
		panic(what)
	}
	for _, n := range names {
		Load(Param(n), RAX)
		for p := range 4 {
			MOVQ(Mem{Base: RAX, Disp: 8 * p}, RCX)
			MOVQ(RCX, ptr(n, p))
		}
	}
	// Row 3 of packet p: counter 0, then its nonce.
	Load(Param("nonces"), RAX)
	for p := range 4 {
		MOVQ(Mem{Base: RAX, Disp: 8 * p}, RBX)
		MOVL(U32(0), rows.Offset(16*p))
		MOVL(Mem{Base: RBX}, ECX)
		MOVL(ECX, rows.Offset(16*p+4))
		MOVQ(Mem{Base: RBX, Disp: 4}, RCX)
		MOVQ(RCX, rows.Offset(16*p+8))
	}
	Load(Param("keys"), RAX)
	for g, gr := range groups(ymm, 4) {
		MOVQ(Mem{Base: RAX, Disp: 8 * g}, RBX)
		VMOVDQU(sigma, gr.a)
		VBROADCASTI128(Mem{Base: RBX}, gr.b)
		VBROADCASTI128(Mem{Base: RBX, Disp: 16}, gr.c)
		VBROADCASTI128(rows.Offset(16*g), gr.d)
		VPADDD(inc, gr.d, gr.d) // counters 0 and 1
		VMOVDQU(gr.b, init.Offset(96*g))
		VMOVDQU(gr.c, init.Offset(96*g+32))
		VMOVDQU(gr.d, init.Offset(96*g+64))
	}
	MOVQ(U32(10), RCX)
	loop := label("rounds4")
	Label(loop)
	doubleRound(ymm, 4, spill).emit()
	DECQ(RCX)
	JNZ(LabelRef(loop))
	for g, gr := range groups(ymm, 4) {
		VPADDD(sigma, gr.a, gr.a)
		VPADDD(init.Offset(96*g), gr.b, gr.b)
		VPADDD(init.Offset(96*g+32), gr.c, gr.c)
		VPADDD(init.Offset(96*g+64), gr.d, gr.d)
	}
	storeKeyStreamY(4, ks, spill)

	// xor writes dst[p] = src[p] ^ (block 1 of packet p), n bytes.
	xor := func() {
		for p := range 4 {
			MOVQ(ptr("src", p), RSI)
			MOVQ(ptr("dst", p), RDI)
			LEAQ(ks.Offset(128*p+64), RDX)
			Load(Param("n"), RCX)
			xorBytes(RSI, RDI, RDX, RCX, RAX, AL, 32, "x")
		}
	}
	macs := func() {
		ct := "src"
		if seal {
			ct = "dst"
		}
		for p := 0; p < 4; p += 2 {
			p := p
			mac2(mac2Args{
				keyA: func() Mem { return ks.Offset(128 * p) }, keyB: func() Mem { return ks.Offset(128 * (p + 1)) },
				adA: ptr("ad", p), adB: ptr("ad", p+1),
				ctA: ptr(ct, p), ctB: ptr(ct, p+1),
				adLen: addr(Param("adLen")), ctLen: addr(Param("n")),
				tagA: ptr("tags", p), tagB: ptr("tags", p+1),
			})
		}
	}
	if seal {
		xor()
		VZEROUPPER()
		macs()
	} else {
		macs()
		xor()
		VZEROUPPER()
	}
	RET()
}

// aead generates the fused Seal (seal) or Open (!seal) of one packet.
//
// The key stream is made in chunks of up to eight blocks into a 512-byte
// buffer on the stack: the first chunk starts at block 0, whose first 32
// bytes are the one-time Poly1305 key, later chunks carry on from the
// counter. While the rounds of a chunk run, the MAC absorbs the ciphertext
// that is ready, three blocks per double round: for Seal the ciphertext
// written so far, for Open all of src, running ahead of the chunk at hand
// (a long Open starts with a two-block chunk so that the MAC key is soon
// known). Open finishes absorbing a chunk before decrypting it, so that
// in-place use never hashes plaintext.
// With CPEXP set in the environment, the generator also writes the fused
// kernels again with the suffix "Exp", with the variant flags named in
// CPEXP (a comma-separated list of keys of variants; any other value names
// none) flipped, so that a test can time the two interleaved in one process:
// on a shared machine, runs of separate binaries differ by more than most
// changes gain. The committed files are generated without it.
var (
	expSuffix = ""
	// directXOR XORs whole chunks straight from the registers instead of
	// through the key-stream buffer (1-4 % at 256 B to 16 KiB).
	directXOR = true
	// openShortFirst starts an Open longer than openShortFirstAbove bytes
	// with a two-block chunk.
	openShortFirst = true
	// leaFold folds 5k in polyMul as LEA (k)(k*4) after one shift, two
	// instructions fewer than and/shift/add (within the noise).
	leaFold = false
	// The flags below are for timing only: they give wrong tags.
	// noMAC leaves the MAC out of the rounds and the catch-up loops.
	noMAC = false
	// breakChain zeroes h before each MAC block in the rounds, and
	// breakCatchUp before each block of the catch-up loops, so that the
	// blocks do not form a latency chain.
	breakChain   = false
	breakCatchUp = false
)

var variants = map[string]*bool{
	"directXOR": &directXOR, "openShortFirst": &openShortFirst, "leaFold": &leaFold,
	"noMAC": &noMAC, "breakChain": &breakChain, "breakCatchUp": &breakCatchUp,
}

func aead(seal bool) {
	name := "ChaCha20Poly1305OpenAVX2" + expSuffix
	if seal {
		name = "ChaCha20Poly1305SealAVX2" + expSuffix
	}
	TEXT(name, 0, "func(key *[32]byte, nonce *[12]byte, dst, src, ad []byte, tag *[16]byte)")
	Pragma("noescape")
	if seal {
		Doc(name+" encrypts src into dst[:len(src)] under key and nonce (block",
			"counter 1 on) and writes the Poly1305 tag over ad and the ciphertext",
			"to tag. dst and src are the same or disjoint. It needs AVX2, BMI2",
			"and ADX.")
	} else {
		Doc(name+" decrypts src into dst[:len(src)] under key and nonce (block",
			"counter 1 on) and writes the Poly1305 tag over ad and src to tag;",
			"the caller compares it and clears dst on a mismatch. dst and src are",
			"the same or disjoint. It needs AVX2, BMI2 and ADX.")
	}
	ks := AllocLocal(512)
	spill := AllocLocal(32)
	keyLo, keyHi := AllocLocal(32), AllocLocal(32)
	dsave := AllocLocal(128)
	row3 := AllocLocal(16)
	r, s0, s1 := polyR{AllocLocal(8), AllocLocal(8), AllocLocal(8)}, AllocLocal(8), AllocLocal(8)
	pad := AllocLocal(16)
	pos, mlen, limit := AllocLocal(8), AllocLocal(8), AllocLocal(8)
	// macLimit bounds what the rounds may hash: for Seal the ciphertext
	// written so far (limit), for Open the whole blocks of src, so that
	// Open's MAC runs ahead of the chunk in hand.
	macLimit := limit
	if !seal {
		macLimit = AllocLocal(8)
	}

	dstP, srcP := addr(Param("dst").Base()), addr(Param("src").Base())
	n := addr(Param("src").Len())
	hashP := srcP // what the MAC reads: the ciphertext
	if seal {
		hashP = dstP
	}

	Load(Param("key"), RAX)
	VBROADCASTI128(Mem{Base: RAX}, Y0)
	VMOVDQU(Y0, keyLo)
	VBROADCASTI128(Mem{Base: RAX, Disp: 16}, Y0)
	VMOVDQU(Y0, keyHi)
	Load(Param("nonce"), RAX)
	MOVL(U32(0), row3)
	MOVL(Mem{Base: RAX}, ECX)
	MOVL(ECX, row3.Offset(4))
	MOVQ(Mem{Base: RAX, Disp: 4}, RCX)
	MOVQ(RCX, row3.Offset(8))
	MOVQ(U32(0), pos)

	setup := func(ng int) {
		for g, gr := range groups(ymm, ng) {
			VMOVDQU(sigma, gr.a)
			VMOVDQU(keyLo, gr.b)
			VMOVDQU(keyHi, gr.c)
			VBROADCASTI128(row3, gr.d)
			VPADDD(inc.Offset(32*g), gr.d, gr.d)
			VMOVDQU(gr.d, dsave.Offset(32*g))
		}
	}
	addState := func(ng int) {
		for g, gr := range groups(ymm, ng) {
			VPADDD(sigma, gr.a, gr.a)
			VPADDD(keyLo, gr.b, gr.b)
			VPADDD(keyHi, gr.c, gr.c)
			VPADDD(dsave.Offset(32*g), gr.d, gr.d)
		}
		ADDL(U32(2*ng), row3)
	}
	finishChunk := func(ng int) {
		addState(ng)
		storeKeyStreamY(ng, ks, spill)
	}
	plainRounds := func(ng int) {
		MOVQ(U32(10), RDI)
		loop := label("rounds")
		Label(loop)
		doubleRound(ymm, ng, spill).emit()
		DECQ(RDI)
		JNZ(LabelRef(loop))
	}
	// Rounds with three MAC blocks in each double round while at least
	// three whole blocks are ready below macLimit, then one while one is.
	macRounds := func(ng int) {
		MOVQ(U32(10), RDI)
		loop, one, plain, done := label("macrounds"), label("oneround"), label("plainround"), label("roundsdone")
		macRound := func(k int) {
			var p seq
			for b := 0; b < k && !noMAC; b++ {
				if breakChain {
					p = append(p, func() { XORQ(h0, h0) }, func() { XORQ(h1, h1) }, func() { XORQ(h2, h2) })
				}
				p = append(p, polyBlock(Mem{Base: RSI, Disp: 16 * b}, r)...)
			}
			merge(doubleRound(ymm, ng, spill), p)
			ADDQ(U32(16*k), RSI)
		}
		Label(loop)
		MOVQ(macLimit, RAX)
		SUBQ(RSI, RAX)
		CMPQ(RAX, U32(48))
		JL(LabelRef(one))
		macRound(3)
		DECQ(RDI)
		JNZ(LabelRef(loop))
		JMP(LabelRef(done))
		Label(one)
		CMPQ(RAX, U32(16))
		JL(LabelRef(plain))
		macRound(1)
		DECQ(RDI)
		JNZ(LabelRef(loop))
		JMP(LabelRef(done))
		Label(plain)
		doubleRound(ymm, ng, spill).emit()
		DECQ(RDI)
		JNZ(LabelRef(loop))
		Label(done)
	}
	// xorChunk XORs mlen bytes of src at pos with the key stream from
	// ks+off into dst, after (Open) absorbing them.
	// advance moves pos past the chunk; for Seal the MAC may then hash it.
	advance := func() {
		MOVQ(mlen, RAX)
		ADDQ(RAX, pos)
		if seal {
			MOVQ(dstP, RAX)
			ADDQ(pos, RAX)
			MOVQ(RAX, limit)
		}
	}
	// absorbChunk (Open) hashes the chunk at pos before it is decrypted.
	absorbChunk := func() {
		if !seal {
			MOVQ(srcP, RAX)
			ADDQ(pos, RAX)
			ADDQ(mlen, RAX)
			MOVQ(RAX, limit)
			polyCatchUp(limit, r)
			// The last chunk: absorb the padded tail too, before
			// decryption may overwrite it.
			notLast := label("notlast")
			MOVQ(pos, RAX)
			ADDQ(mlen, RAX)
			CMPQ(RAX, n)
			JNE(LabelRef(notLast))
			MOVQ(n, RCX)
			ANDQ(U32(15), RCX)
			polyPadded(pad, r)
			Label(notLast)
		}
	}
	xorChunk := func(off int) {
		absorbChunk()
		MOVQ(srcP, RAX)
		ADDQ(pos, RAX)
		MOVQ(dstP, RCX)
		ADDQ(pos, RCX)
		LEAQ(ks.Offset(off), RDX)
		MOVQ(mlen, R8)
		xorBytes(RAX, RCX, RDX, R8, R9, R9B, 64, "xor")
		advance()
	}
	// xorChunkY decrypts or encrypts a whole chunk of ng block pairs
	// straight from the registers.
	xorChunkY := func(ng int) {
		absorbChunk()
		addState(ng)
		MOVQ(srcP, RAX)
		ADDQ(pos, RAX)
		MOVQ(dstP, RCX)
		ADDQ(pos, RCX)
		xorKeyStreamY(ng, Mem{Base: RAX}, Mem{Base: RCX}, spill)
		advance()
	}

	// The first chunk: block 0 for the MAC key, then up to seven blocks of
	// data. Nothing is ready to hash yet.
	c0 := []string{label("first1"), label("first2"), label("first3"), label("first4")}
	firstDone := label("firstdone")
	MOVQ(n, RAX)
	if !seal && openShortFirst {
		// A long Open starts with a short chunk, so that the MAC key is
		// soon known and the MAC can run inside all later rounds.
		CMPQ(RAX, U32(openShortFirstAbove))
		JA(LabelRef(c0[openFirstGroups-1]))
	}
	for ng := 1; ng <= 3; ng++ {
		CMPQ(RAX, U32(128*ng-64))
		JBE(LabelRef(c0[ng-1]))
	}
	JMP(LabelRef(c0[3]))
	for ng := 1; ng <= 4; ng++ {
		Label(c0[ng-1])
		// mlen = min(n, 128·ng − 64)
		MOVQ(U32(128*ng-64), RCX)
		CMPQ(RAX, RCX)
		CMOVQHI(RCX, RAX)
		MOVQ(RAX, mlen)
		setup(ng)
		plainRounds(ng)
		finishChunk(ng)
		JMP(LabelRef(firstDone))
	}
	Label(firstDone)
	polyKey(ks, r, s0, s1)
	// The additional data, zero-padded.
	Load(Param("ad").Base(), RSI)
	Load(Param("ad").Len(), RCX)
	ANDQ(I32(-16), RCX)
	ADDQ(RSI, RCX)
	MOVQ(RCX, limit)
	polyCatchUp(limit, r)
	Load(Param("ad").Len(), RCX)
	ANDQ(U32(15), RCX)
	polyPadded(pad, r)
	MOVQ(hashP, RSI)
	if seal {
		MOVQ(RSI, limit)
	} else {
		MOVQ(n, RAX)
		ANDQ(I32(-16), RAX)
		ADDQ(RSI, RAX)
		MOVQ(RAX, macLimit)
	}
	xorChunk(64)

	// The remaining chunks.
	loop, finish := label("chunk"), label("finish")
	cs := []string{label("chunk1"), label("chunk2"), label("chunk3"), label("chunk4")}
	Label(loop)
	MOVQ(n, RAX)
	SUBQ(pos, RAX)
	JZ(LabelRef(finish))
	for ng := 1; ng <= 3; ng++ {
		CMPQ(RAX, U32(128*ng))
		JBE(LabelRef(cs[ng-1]))
	}
	JMP(LabelRef(cs[3]))
	for ng := 1; ng <= 4; ng++ {
		Label(cs[ng-1])
		MOVQ(U32(128*ng), RCX)
		CMPQ(RAX, RCX)
		CMOVQHI(RCX, RAX)
		MOVQ(RAX, mlen)
		setup(ng)
		macRounds(ng)
		partial := label("partial")
		if directXOR {
			CMPQ(mlen, U32(128*ng))
			JNE(LabelRef(partial))
			xorChunkY(ng)
			JMP(LabelRef(loop))
		}
		Label(partial)
		finishChunk(ng)
		xorChunk(0)
		JMP(LabelRef(loop))
	}

	// The rest of the ciphertext, its padded tail, the lengths, the tag.
	// (Open absorbed all of the ciphertext in the last chunk.)
	Label(finish)
	if seal {
		MOVQ(n, RAX)
		ANDQ(I32(-16), RAX)
		ADDQ(hashP, RAX)
		MOVQ(RAX, limit)
		polyCatchUp(limit, r)
		MOVQ(n, RCX)
		ANDQ(U32(15), RCX)
		polyPadded(pad, r)
	}
	polyAEADTail(addr(Param("ad").Len()), n, pad, r, s0, s1, addr(Param("tag")))
	VZEROUPPER()
	RET()
}

// A longer Open than openShortFirstAbove bytes starts with a chunk of
// openFirstGroups block pairs.
const (
	openShortFirstAbove = 448
	openFirstGroups     = 1
)

// addr is the stack address of an argument.
func addr(c gotypes.Component) Mem {
	b, err := c.Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}
