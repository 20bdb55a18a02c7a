// Command blake2s generates asm/amd64/blake2s_amd64.s and its Go
// declarations: the BLAKE2s compression function (RFC 7693) for one message
// with the state's four rows in xmm registers, and for eight independent
// messages at once with one message per 32-bit lane of the ymm registers.
//
// The one-message kernel is the classic SIMD layout of the BLAKE2 reference
// SSE code (Samuel Neves, CC0; also x/crypto/blake2s's amd64 assembly):
// rows a, b, c, d in four registers, the column step, a diagonalization by
// PSHUFD, the diagonal step, and rotations by 16 and 8 with PSHUFB. It uses
// the three-operand VEX forms of AVX, defers each rotation of b into the
// next half of G, and builds each round's permuted message vectors from
// 32-bit loads merged by VPBLENDD (AVX2); see hashBlocks.
//
// The eight-message kernel follows BLAKE3's hash_many AVX2 code (Jack
// O'Connor, Samuel Neves; CC0/Apache-2.0): the message blocks and the
// states are transposed 8×8 so that vector k holds word k of every
// message, and the rounds then run as scalar code on vectors.
//
// Run from asm/amd64/_gen: go run ./blake2s
package main

import (
	"os"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

var iv = [8]uint32{
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
}

var sigma = [10][16]int{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	{14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
	{11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
	{7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
	{9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
	{2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
	{12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
	{13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
	{6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
	{10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
}

// Constants.
var (
	rot16, rot8, ivLo, ivHi Mem
	ctrBias                 Mem
	wordIdx, wordIdx8       Mem
)

func constants() {
	shuf := func(name string, b [4]byte) Mem {
		m := GLOBL(name, RODATA|NOPTR)
		for i := 0; i < 8; i++ {
			for j := 0; j < 4; j++ {
				DATA(4*i+j, U8(b[j]+byte(4*(i%4))))
			}
		}
		return m
	}
	rot16 = shuf("b2s_rot16", [4]byte{2, 3, 0, 1})
	rot8 = shuf("b2s_rot8", [4]byte{1, 2, 3, 0})
	ivLo = GLOBL("b2s_iv_lo", RODATA|NOPTR)
	for i := 0; i < 4; i++ {
		DATA(4*i, U32(iv[i]))
	}
	ivHi = GLOBL("b2s_iv_hi", RODATA|NOPTR)
	for i := 0; i < 4; i++ {
		DATA(4*i, U32(iv[4+i]))
	}
	// 0..7, and 8 in every lane (to step to 8..15).
	wordIdx = GLOBL("b2s_word_idx", RODATA|NOPTR)
	for i := 0; i < 8; i++ {
		DATA(4*i, U32(uint32(i)))
	}
	wordIdx8 = GLOBL("b2s_word_idx8", RODATA|NOPTR)
	for i := 0; i < 8; i++ {
		DATA(4*i, U32(8))
	}
	ctrBias = GLOBL("b2s_ctr_bias", RODATA|NOPTR)
	for i := 0; i < 8; i++ {
		DATA(4*i, U32(64^0x80000000))
	}
}

// ---- one message ----

// The one-message kernel is latency-bound: the four G functions of a step
// run side by side in the lanes, and each half of G is a chain of
// dependent operations. On this layout the chain of a half-G is seven
// one-cycle operations at best (add b into a, xor into d, rotate d by
// PSHUFB, add d into c, xor c into b, and b's rotation by 12 or 7, which
// takes two shifts and an OR), 28 a round. Two things keep the code on
// that bound (measured on AMD Zen 3, where shifts and shuffles share two
// pipes):
//
//   - Two shifts of the same register issued together often land on the
//     same pipe and cost a cycle more than the shift-shift-OR count says.
//     So b's rotation is deferred into the next half-G, where rotr(x) is
//     added into a as its two disjoint halves, a + (x>>n) + (x<<(32-n)):
//     the second shift has a cycle of slack, and the OR that rebuilds the
//     rotated b (needed only by the next xor with c) is off the chain.
//   - The message vectors come from loads merged by VPBLENDD (VMOVD for
//     lane 0, then for lane l a VPBLENDD whose memory operand is the
//     16-byte window of the block that has the word in lane l, or a
//     VPBROADCASTD and a VPBLENDD where that window would leave the
//     block). None of this uses the shift/shuffle pipes, unlike the
//     VPERMD/VPSHUFD work it replaces, which competed with the chain for
//     them (~10% of the time at 1 KiB).

// msgVec loads into dst (xmm) the four message words that lanes 0..3 use
// in round r: step k (0 column, 1 diagonal), half h (0: the word added
// first, 1: second). In the diagonal step lane l computes G number
// (l+3)%4 of that step (see hashBlocks), tmp is scratch.
//
// narrow restricts it to 4-byte loads. A block the caller has just written
// (a zero-padded last block built by copy) is still in the store buffer,
// and a 16-byte window load spanning two of those stores cannot be
// forwarded: it waits for the stores to reach the cache, ~30 ns on a
// 32-byte Sum256 (measured). 4-byte loads sit inside one store and forward.
func msgVec(dst, tmp VecPhysical, block GPPhysical, r, k, h int, narrow bool) {
	for l := 0; l < 4; l++ {
		g := l
		if k == 1 {
			g = (g + 3) % 4
		}
		wi := sigma[r][8*k+2*g+h]
		switch {
		case l == 0:
			VMOVD(Mem{Base: block, Disp: 4 * wi}, dst)
		case !narrow && wi >= l && wi-l <= 12:
			// A 16-byte load that has word wi in lane l and stays
			// inside the block: the blend takes it as its memory
			// operand, one instruction.
			VPBLENDD(U8(1<<l), Mem{Base: block, Disp: 4 * (wi - l)}, dst, dst)
		default:
			VPBROADCASTD(Mem{Base: block, Disp: 4 * wi}, tmp)
			VPBLENDD(U8(1<<l), tmp, dst, dst)
		}
	}
}

// rounds emits the ten rounds of the compression on rows a, b, c, d with
// the message block at [block], using t, u, tmp and m as scratch and r16,
// r8 holding the PSHUFB masks. b leaves unrotated: feedForward finishes it.
func rounds(a, b, c, d, t, u, r16, r8 VecPhysical, m [4]VecPhysical, tmp VecPhysical, block GPPhysical, narrow bool) {
	// b is kept as x, the value before its rotation; pending is the
	// rotation still owed (0: none, b is rotated).
	pending := 0
	halfG := func(m, rd Op, rb int) {
		VPADDD(m, a, a)
		if pending == 0 {
			VPADDD(b, a, a)
		} else {
			VPSRLD(U8(pending), b, t)
			VPSLLD(U8(32-pending), b, u)
			VPADDD(t, a, a)
			VPADDD(u, a, a)
			VPOR(t, u, b)
		}
		VPXOR(a, d, d)
		VPSHUFB(rd, d, d)
		VPADDD(d, c, c)
		VPXOR(c, b, b)
		pending = rb
	}
	for r := 0; r < 10; r++ {
		for v := range m {
			msgVec(m[v], tmp, block, r, v/2, v%2, narrow)
		}
		halfG(m[0], r16, 12)
		halfG(m[1], r8, 7)
		// Diagonalize by rotating rows a, c and d, not b: b is the
		// last value each half of G computes, so rotating it would
		// lengthen the dependency chain, while a, c and d are ready
		// early and rotate in the shadow of b's rotation (as BLAKE3's
		// SSE4.1 code does). Lane l then computes diagonal G (l+3)%4.
		VPSHUFD(U8(0x93), a, a)
		VPSHUFD(U8(0x4e), d, d)
		VPSHUFD(U8(0x39), c, c)
		halfG(m[2], r16, 12)
		halfG(m[3], r8, 7)
		VPSHUFD(U8(0x39), a, a)
		VPSHUFD(U8(0x4e), d, d)
		VPSHUFD(U8(0x93), c, c)
	}
}

// feedForward xors the rows into the chaining value (hA, hB): hA ^= a ^ c,
// hB ^= d ^ rotr(b, 7), b being left unrotated by rounds. The rotation's
// two disjoint halves are xored in one after the other, d first (it is
// ready sooner), so only one shift and two xors follow b.
func feedForward(a, b, c, d, t, u, hA, hB VecPhysical) {
	VPXOR(d, hB, hB)
	VPSRLD(U8(7), b, t)
	VPSLLD(U8(25), b, u)
	VPXOR(t, hB, hB)
	VPXOR(u, hB, hB)
	VPXOR(c, a, a)
	VPXOR(a, hA, hA)
}

func hashBlocks() {
	TEXT("Blake2sHashBlocks", NOSPLIT, "func(h *[8]uint32, c *[2]uint32, flag uint32, blocks []byte)")
	Pragma("noescape")
	Doc("Blake2sHashBlocks compresses len(blocks)/64 whole blocks into h, adding",
		"64 to the 64-bit byte counter c before each and using flag as the",
		"finalization word. It needs AVX2.")

	Load(Param("h"), RDI)
	Load(Param("c"), RBX)
	Load(Param("flag"), RDX)
	Load(Param("blocks").Base(), RSI)
	Load(Param("blocks").Len(), RCX)
	SHRQ(U8(6), RCX)
	JZ(LabelRef("done"))
	MOVQ(Mem{Base: RBX}, RAX) // the counter, 64 bits

	a, b, c, d := X0, X1, X2, X3
	t, u := X4, X5
	r16, r8 := X6, X7
	m := [4]VecPhysical{X8, X9, X10, X11}
	tmp := X12
	hA, hB := X14, X15

	VMOVDQU(rot16.Offset(0), r16)
	VMOVDQU(rot8.Offset(0), r8)
	VMOVDQU(Mem{Base: RDI}, hA)
	VMOVDQU(Mem{Base: RDI, Disp: 16}, hB)

	Label("loop")
	ADDQ(U8(64), RAX)
	VMOVQ(RAX, d)
	VPINSRD(U8(2), EDX, d, d)
	VPXOR(ivHi, d, d)
	VMOVDQA(hA, a)
	VMOVDQA(hB, b)
	VMOVDQU(ivLo, c)

	rounds(a, b, c, d, t, u, r16, r8, m, tmp, RSI, false)
	feedForward(a, b, c, d, t, u, hA, hB)

	ADDQ(U8(64), RSI)
	DECQ(RCX)
	JNZ(LabelRef("loop"))

	VMOVDQU(hA, Mem{Base: RDI})
	VMOVDQU(hB, Mem{Base: RDI, Disp: 16})
	MOVQ(RAX, Mem{Base: RBX})
	VZEROUPPER()
	Label("done")
	RET()
}

func final() {
	TEXT("Blake2sFinal", NOSPLIT, "func(dst *[32]byte, param uint32, first *[64]byte, blocks []byte, last *[64]byte, n uint64)")
	Pragma("noescape")
	Doc("Blake2sFinal computes a BLAKE2s hash in one call: from the IV with",
		"the parameter block's first word param folded in, it compresses the",
		"block first (if not nil: a key block or an HMAC pad), then the",
		"len(blocks)/64 whole blocks of blocks, then last, zero-padded, as the",
		"final block with byte counter n, and writes the 32-byte result to",
		"dst. first and last are read by 4-byte loads only (see msgVec). It",
		"needs AVX2.")

	a, b, c, d := X0, X1, X2, X3
	t, u := X4, X5
	r16, r8 := X6, X7
	m := [4]VecPhysical{X8, X9, X10, X11}
	tmp := X12
	hA, hB := X14, X15

	// The state comes from constants and a register, not from memory the
	// caller has just written (a 16-byte load over its 4-byte stores
	// would wait for them to reach the cache).
	Load(Param("param"), RDX)
	XORL(EAX, EAX) // the counter
	VMOVDQU(rot16.Offset(0), r16)
	VMOVDQU(rot8.Offset(0), r8)
	VMOVD(EDX, hA)
	VPXOR(ivLo, hA, hA)
	VMOVDQU(ivHi, hB)

	// block compresses the block at RSI with counter RAX, flag (EDX,
	// when final) into hA, hB.
	block := func(final, narrow bool) {
		VMOVQ(RAX, d)
		if final {
			VPINSRD(U8(2), EDX, d, d)
		}
		VPXOR(ivHi, d, d)
		VMOVDQA(hA, a)
		VMOVDQA(hB, b)
		VMOVDQU(ivLo, c)
		rounds(a, b, c, d, t, u, r16, r8, m, tmp, RSI, narrow)
		feedForward(a, b, c, d, t, u, hA, hB)
	}

	Load(Param("first"), RSI)
	TESTQ(RSI, RSI)
	JZ(LabelRef("blocks"))
	ADDQ(U8(64), RAX)
	block(false, true)

	Label("blocks")
	Load(Param("blocks").Base(), RSI)
	Load(Param("blocks").Len(), RCX)
	SHRQ(U8(6), RCX)
	JZ(LabelRef("last"))
	Label("loop")
	ADDQ(U8(64), RAX)
	block(false, false)
	ADDQ(U8(64), RSI)
	DECQ(RCX)
	JNZ(LabelRef("loop"))

	Label("last")
	Load(Param("last"), RSI)
	Load(Param("n"), RAX)
	MOVL(U32(0xffffffff), EDX)
	block(true, true)
	Load(Param("dst"), RDI)
	VMOVDQU(hA, Mem{Base: RDI})
	VMOVDQU(hB, Mem{Base: RDI, Disp: 16})
	RET()
}

// ---- eight messages ----

// transpose8 transposes the 8×8 matrix of 32-bit words in rows (row k in
// rows[k]) using tmp, leaving column k in out[k].
func transpose8(rows, tmp [8]VecPhysical) (out [8]VecPhysical) {
	for i := 0; i < 8; i += 2 {
		VPUNPCKLDQ(rows[i+1], rows[i], tmp[i])
		VPUNPCKHDQ(rows[i+1], rows[i], tmp[i+1])
	}
	// tmp: A01lo A01hi A23lo A23hi A45lo A45hi A67lo A67hi
	for g := 0; g < 8; g += 4 {
		VPUNPCKLQDQ(tmp[g+2], tmp[g], rows[g+0])   // words 0,4
		VPUNPCKHQDQ(tmp[g+2], tmp[g], rows[g+1])   // words 1,5
		VPUNPCKLQDQ(tmp[g+3], tmp[g+1], rows[g+2]) // words 2,6
		VPUNPCKHQDQ(tmp[g+3], tmp[g+1], rows[g+3]) // words 3,7
	}
	for w := 0; w < 4; w++ {
		VPERM2I128(U8(0x20), rows[4+w], rows[w], tmp[w])
		VPERM2I128(U8(0x31), rows[4+w], rows[w], tmp[4+w])
	}
	return tmp
}

// rounds8 emits the ten rounds of the eight-message compression on the
// state vectors v (word k of every lane in v[k]), with message word w of
// every lane at m(w) and spill as scratch memory.
func rounds8(v [16]VecPhysical, m func(w int) Mem, spill Mem) {
	// halfStep runs one half of the four G functions on columns
	// (a[i], b[i], c[i], d[i]) with message words w[i].
	halfStep := func(a, b, c, d [4]VecPhysical, w [4]int, rd Mem, rb int) {
		for i := 0; i < 4; i++ {
			VPADDD(m(w[i]), a[i], a[i])
		}
		for i := 0; i < 4; i++ {
			VPADDD(b[i], a[i], a[i])
		}
		for i := 0; i < 4; i++ {
			VPXOR(a[i], d[i], d[i])
		}
		for i := 0; i < 4; i++ {
			VPSHUFB(rd, d[i], d[i])
		}
		for i := 0; i < 4; i++ {
			VPADDD(d[i], c[i], c[i])
		}
		for i := 0; i < 4; i++ {
			VPXOR(c[i], b[i], b[i])
		}
		// One register is needed as a temporary: spill v8.
		VMOVDQU(v[8], spill)
		t := v[8]
		for i := 0; i < 4; i++ {
			VPSRLD(U8(rb), b[i], t)
			VPSLLD(U8(32-rb), b[i], b[i])
			VPOR(t, b[i], b[i])
		}
		VMOVDQU(spill, v[8])
	}
	for r := 0; r < 10; r++ {
		s := sigma[r]
		a := [4]VecPhysical{v[0], v[1], v[2], v[3]}
		b := [4]VecPhysical{v[4], v[5], v[6], v[7]}
		c := [4]VecPhysical{v[8], v[9], v[10], v[11]}
		d := [4]VecPhysical{v[12], v[13], v[14], v[15]}
		halfStep(a, b, c, d, [4]int{s[0], s[2], s[4], s[6]}, rot16, 12)
		halfStep(a, b, c, d, [4]int{s[1], s[3], s[5], s[7]}, rot8, 7)
		b = [4]VecPhysical{v[5], v[6], v[7], v[4]}
		c = [4]VecPhysical{v[10], v[11], v[8], v[9]}
		d = [4]VecPhysical{v[15], v[12], v[13], v[14]}
		halfStep(a, b, c, d, [4]int{s[8], s[10], s[12], s[14]}, rot16, 12)
		halfStep(a, b, c, d, [4]int{s[9], s[11], s[13], s[15]}, rot8, 7)
	}
}

func hashBlocks8() {
	TEXT("Blake2sHashBlocks8", 0, "func(h *[8][8]uint32, c *[8][2]uint32, flag uint32, blocks *[8]*byte, n int)")
	Pragma("noescape")
	Doc("Blake2sHashBlocks8 does what Blake2sHashBlocks does for eight messages",
		"at once: lane i compresses n blocks from blocks[i] into h[i] with",
		"counter c[i]; all lanes use flag. It needs AVX2.")

	msg := AllocLocal(16 * 32)
	hs := AllocLocal(8 * 32)
	ctrLo := AllocLocal(32)
	ctrHi := AllocLocal(32)
	flagv := AllocLocal(32)
	spill := AllocLocal(32)

	var ys [16]VecPhysical
	for i := range ys {
		ys[i] = []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}[i]
	}
	rows := [8]VecPhysical{ys[0], ys[1], ys[2], ys[3], ys[4], ys[5], ys[6], ys[7]}
	tmp := [8]VecPhysical{ys[8], ys[9], ys[10], ys[11], ys[12], ys[13], ys[14], ys[15]}
	ptr := [8]GPPhysical{R8, R9, R10, R11, R12, R13, R14, R15}

	Load(Param("n"), RCX)
	TESTQ(RCX, RCX)
	JZ(LabelRef("done8"))

	// States: transpose h so that vector k holds word k of each lane.
	Load(Param("h"), RDI)
	for i := 0; i < 8; i++ {
		VMOVDQU(Mem{Base: RDI, Disp: 32 * i}, rows[i])
	}
	cols := transpose8(rows, tmp)
	for k := 0; k < 8; k++ {
		VMOVDQU(cols[k], hs.Offset(32*k))
	}
	// Counters: split the (lo, hi) pairs into a vector of lows and one of highs.
	Load(Param("c"), RBX)
	VMOVDQU(Mem{Base: RBX}, Y0)
	VMOVDQU(Mem{Base: RBX, Disp: 32}, Y1)
	// Build the index vector 0,2,4,6,1,3,5,7 through the stack.
	MOVL(U32(0), spill)
	MOVL(U32(2), spill.Offset(4))
	MOVL(U32(4), spill.Offset(8))
	MOVL(U32(6), spill.Offset(12))
	MOVL(U32(1), spill.Offset(16))
	MOVL(U32(3), spill.Offset(20))
	MOVL(U32(5), spill.Offset(24))
	MOVL(U32(7), spill.Offset(28))
	VMOVDQU(spill, Y2)
	VPERMD(Y0, Y2, Y0) // lo0..3 | hi0..3
	VPERMD(Y1, Y2, Y1) // lo4..7 | hi4..7
	VPERM2I128(U8(0x20), Y1, Y0, Y2)
	VPERM2I128(U8(0x31), Y1, Y0, Y3)
	VMOVDQU(Y2, ctrLo)
	VMOVDQU(Y3, ctrHi)
	Load(Param("flag"), RAX)
	VMOVD(EAX, X0)
	VPBROADCASTD(X0, Y0)
	VMOVDQU(Y0, flagv)

	Load(Param("blocks"), RSI)
	for i := 0; i < 8; i++ {
		MOVQ(Mem{Base: RSI, Disp: 8 * i}, ptr[i])
	}

	Label("loop8")
	// Message: two 8×8 transposes into msg.
	for half := 0; half < 2; half++ {
		for i := 0; i < 8; i++ {
			VMOVDQU(Mem{Base: ptr[i], Disp: 32 * half}, rows[i])
		}
		cols := transpose8(rows, tmp)
		for k := 0; k < 8; k++ {
			VMOVDQU(cols[k], msg.Offset(32*(8*half+k)))
		}
	}
	for i := 0; i < 8; i++ {
		ADDQ(U8(64), ptr[i])
	}

	// Counter += 64, carrying into the high word (unsigned compare by bias).
	VMOVDQU(ctrLo, Y0)
	MOVL(U32(64), EAX)
	VMOVD(EAX, X1)
	VPBROADCASTD(X1, Y1)
	VPADDD(Y1, Y0, Y0)
	VMOVDQU(Y0, ctrLo)
	MOVL(U32(0x80000000), EAX)
	VMOVD(EAX, X2)
	VPBROADCASTD(X2, Y2)
	VPXOR(Y2, Y0, Y3)
	VMOVDQU(ctrBias, Y4)
	VPCMPGTD(Y3, Y4, Y4) // bias > lo^2^31: the add wrapped
	VMOVDQU(ctrHi, Y5)
	VPSUBD(Y4, Y5, Y5)
	VMOVDQU(Y5, ctrHi)

	// State.
	v := ys
	for k := 0; k < 8; k++ {
		VMOVDQU(hs.Offset(32*k), v[k])
	}
	for k := 0; k < 4; k++ {
		MOVL(U32(iv[k]), EAX)
		VMOVD(EAX, v[8+k].AsX())
		VPBROADCASTD(v[8+k].AsX(), v[8+k])
	}
	for k := 4; k < 8; k++ {
		MOVL(U32(iv[k]), EAX)
		VMOVD(EAX, v[8+k].AsX())
		VPBROADCASTD(v[8+k].AsX(), v[8+k])
	}
	VPXOR(ctrLo, v[12], v[12])
	VPXOR(ctrHi, v[13], v[13])
	VPXOR(flagv, v[14], v[14])

	rounds8(v, func(w int) Mem { return msg.Offset(32 * w) }, spill)
	for k := 0; k < 8; k++ {
		VPXOR(v[8+k], v[k], v[k])
		VPXOR(hs.Offset(32*k), v[k], v[k])
		VMOVDQU(v[k], hs.Offset(32*k))
	}

	DECQ(RCX)
	JNZ(LabelRef("loop8"))

	// Transpose the states back and store them, with the counters.
	for k := 0; k < 8; k++ {
		VMOVDQU(hs.Offset(32*k), rows[k])
	}
	cols = transpose8(rows, tmp)
	Load(Param("h"), RDI)
	for i := 0; i < 8; i++ {
		VMOVDQU(cols[i], Mem{Base: RDI, Disp: 32 * i})
	}
	VMOVDQU(ctrLo, Y0)
	VMOVDQU(ctrHi, Y1)
	VPUNPCKLDQ(Y1, Y0, Y2) // lo0 hi0 lo1 hi1 | lo4 hi4 lo5 hi5
	VPUNPCKHDQ(Y1, Y0, Y3) // lo2 hi2 lo3 hi3 | lo6 hi6 lo7 hi7
	VPERM2I128(U8(0x20), Y3, Y2, Y4)
	VPERM2I128(U8(0x31), Y3, Y2, Y5)
	Load(Param("c"), RBX)
	VMOVDQU(Y4, Mem{Base: RBX})
	VMOVDQU(Y5, Mem{Base: RBX, Disp: 32})
	VZEROUPPER()
	Label("done8")
	RET()
}

// mac8 generates Blake2sMAC8: the last part of eight keyed BLAKE2s-128
// MACs of messages of the same length, from one shared keyed state. It is
// hashBlocks8 specialized for the mac1 batch: the state and the counter are
// the same for every lane, so they are broadcast rather than transposed in;
// the whole blocks and the zero-padded last block go through one call
// (masked loads pad it, so the caller copies nothing when its length is a
// whole number of words); and only the four words of the digest are
// transposed out.
func mac8() {
	TEXT("Blake2sMAC8", 0, "func(dst *[8][16]byte, h *[8]uint32, c0 uint64, msgs *[8]*byte, full int, lastWords int)")
	Pragma("noescape")
	Doc("Blake2sMAC8 finishes eight BLAKE2s MACs of equal-length messages, each",
		"from the state h with byte counter c0 (after the key block): lane i",
		"compresses full whole blocks from msgs[i], then a last block of",
		"lastWords (1..16) 32-bit words from msgs[i] after them, zero-padded,",
		"as the final block, and writes the first 16 bytes of its state to",
		"dst[i]. The message length is taken as 64*full + 4*lastWords. It needs",
		"AVX2.")

	// Stack: msg (16 vectors), hs (8), spill and a mask (2), 32-byte aligned.
	local := AllocLocal(27 * 32) // 26 vectors, and room to align them
	base := RBX
	LEAQ(local, base)
	ADDQ(U8(31), base)
	ANDQ(I8(-32), base)
	vec := func(i int) Mem { return Mem{Base: base, Disp: 32 * i} }
	msg := func(w int) Mem { return vec(w) }
	hs := func(k int) Mem { return vec(16 + k) }
	spill := vec(24)

	ys := [16]VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}
	rows := [8]VecPhysical{ys[0], ys[1], ys[2], ys[3], ys[4], ys[5], ys[6], ys[7]}
	tmp := [8]VecPhysical{ys[8], ys[9], ys[10], ys[11], ys[12], ys[13], ys[14], ys[15]}
	ptr := [8]GPPhysical{R8, R9, R10, R11, R12, R13, R14, R15}

	Load(Param("h"), RDI)
	for k := 0; k < 8; k++ {
		VPBROADCASTD(Mem{Base: RDI, Disp: 4 * k}, ys[k])
		VMOVDQU(ys[k], hs(k))
	}
	Load(Param("msgs"), RSI)
	for i := 0; i < 8; i++ {
		MOVQ(Mem{Base: RSI, Disp: 8 * i}, ptr[i])
	}
	Load(Param("c0"), RAX)
	Load(Param("full"), RCX)

	// compress runs one block for all lanes from msg, with counter RAX
	// (already advanced) and the finalization word all ones if final.
	compress := func(final bool) {
		v := ys
		for k := 0; k < 8; k++ {
			VMOVDQU(hs(k), v[k])
		}
		for k := 0; k < 4; k++ {
			VPBROADCASTD(ivLo.Offset(4*k), v[8+k])
		}
		VMOVQ(RAX, v[12].AsX())
		VPSRLQ(U8(32), v[12].AsX(), v[13].AsX())
		VPBROADCASTD(v[12].AsX(), v[12])
		VPBROADCASTD(v[13].AsX(), v[13])
		VPBROADCASTD(ivHi.Offset(0), v[14])
		VPXOR(v[14], v[12], v[12])
		VPBROADCASTD(ivHi.Offset(4), v[14])
		VPXOR(v[14], v[13], v[13])
		VPBROADCASTD(ivHi.Offset(8), v[14])
		if final {
			VPCMPEQD(v[15], v[15], v[15])
			VPXOR(v[15], v[14], v[14])
		}
		VPBROADCASTD(ivHi.Offset(12), v[15])
		rounds8(v, msg, spill)
		for k := 0; k < 8; k++ {
			VPXOR(v[8+k], v[k], v[k])
			VPXOR(hs(k), v[k], v[k])
			VMOVDQU(v[k], hs(k))
		}
	}
	// transposeIn loads 64 bytes from each lane's pointer (loadHalf
	// loads half h of lane i into a register) and stores the 16 word
	// vectors in msg.
	transposeIn := func(loadHalf func(i, h int, dst VecPhysical)) {
		for half := 0; half < 2; half++ {
			for i := 0; i < 8; i++ {
				loadHalf(i, half, rows[i])
			}
			cols := transpose8(rows, tmp)
			for k := 0; k < 8; k++ {
				VMOVDQU(cols[k], msg(8*half+k))
			}
		}
	}

	TESTQ(RCX, RCX)
	JZ(LabelRef("last"))
	Label("loopm")
	transposeIn(func(i, h int, dst VecPhysical) {
		VMOVDQU(Mem{Base: ptr[i], Disp: 32 * h}, dst)
	})
	for i := 0; i < 8; i++ {
		ADDQ(U8(64), ptr[i])
	}
	ADDQ(U8(64), RAX)
	compress(false)
	DECQ(RCX)
	JNZ(LabelRef("loopm"))

	Label("last")
	// Masks of the words to load: word j of the block when j < lastWords.
	// They live in spill and the spare msg slots until the transpose is done.
	Load(Param("lastWords"), RDX)
	VMOVQ(RDX, X0)
	VPBROADCASTD(X0, Y0)
	VMOVDQU(wordIdx, Y1)
	VPCMPGTD(Y1, Y0, Y2) // lastWords > j, j = 0..7
	VMOVDQU(Y2, spill)
	VPADDD(wordIdx8, Y1, Y1)
	VPCMPGTD(Y1, Y0, Y3) // j = 8..15
	VMOVDQU(Y3, vec(25))
	transposeIn(func(i, h int, dst VecPhysical) {
		mask := spill
		if h == 1 {
			mask = vec(25)
		}
		// VPMASKMOVD's mask must be a register: dst serves, then
		// receives the loaded words.
		VMOVDQU(mask, dst)
		VPMASKMOVD(Mem{Base: ptr[i], Disp: 32 * h}, dst, dst)
	})
	SHLQ(U8(2), RDX)
	ADDQ(RDX, RAX)
	compress(true)

	// dst[i] = words 0..3 of lane i: a 4×8 transpose of hs(0..3).
	for k := 0; k < 4; k++ {
		VMOVDQU(hs(k), ys[k])
	}
	VPUNPCKLDQ(Y1, Y0, Y4) // h0 h1 of lanes 0,1 | 4,5
	VPUNPCKHDQ(Y1, Y0, Y5) // lanes 2,3 | 6,7
	VPUNPCKLDQ(Y3, Y2, Y6)
	VPUNPCKHDQ(Y3, Y2, Y7)
	VPUNPCKLQDQ(Y6, Y4, Y0) // lane 0 | lane 4
	VPUNPCKHQDQ(Y6, Y4, Y1) // lane 1 | lane 5
	VPUNPCKLQDQ(Y7, Y5, Y2) // lane 2 | lane 6
	VPUNPCKHQDQ(Y7, Y5, Y3) // lane 3 | lane 7
	Load(Param("dst"), RDI)
	for i := 0; i < 4; i++ {
		VMOVDQU(ys[i].AsX(), Mem{Base: RDI, Disp: 16 * i})
		VEXTRACTI128(U8(1), ys[i], Mem{Base: RDI, Disp: 16 * (i + 4)})
	}
	VZEROUPPER()
	RET()
}

func main() {
	os.Args = append(os.Args[:1], "-out", "../blake2s_amd64.s", "-stubs", "../blake2s_amd64.go", "-pkg", "amd64")
	ConstraintExpr("amd64,gc,!purego")
	constants()
	hashBlocks()
	final()
	hashBlocks8()
	mac8()
	Generate()
}
