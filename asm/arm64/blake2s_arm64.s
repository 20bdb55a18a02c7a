//go:build gc && !purego

// BLAKE2s compression (RFC 7693) on NEON, one message at a time: the 4×4
// state as four row vectors {v0..v3}, {v4..v7}, {v8..v11}, {v12..v15}, so
// one G step updates the four columns at once; the diagonal step rotates
// rows 1–3 by one, two and three lanes with VEXT and rotates them back
// after. This is the row-vector layout of Samuel Neves's SSE/NEON BLAKE2
// reference code (github.com/BLAKE2/BLAKE2, CC0/Apache-2.0/OpenSSL
// licenses) and of the amd64 kernel in asm/amd64; the code is our own.
// Rotations right: 16 by VREV32 on halfwords, 8 by VTBL, 12 and 7 by
// VSHL+VSRI. The message words each G step needs are gathered from the
// 64-byte block (V24–V27) by VTBL with per-round byte indices
// (blake2sSigma, the permutation of RFC 7693 §2.7 pre-expanded).

#include "textflag.h"

// Register use
//	R0	h		V0-V3	the working rows a, b, c, d
//	R1	c		V4, V5	column step message words (x, y)
//	R2	flag		V6, V8	diagonal step message words (x, y)
//	R3	block pointer	V7	VTBL index of a right rotation by 8
//	R4	bytes left	V16, V17	h
//	R5	64-bit counter	V18, V19	IV
//	R6	sigma pointer	V20	{c0, c1, flag, 0}
//	R7	rounds left	V21	temporary
//			V24-V27	the block, V28-V31 this round's indices

// B2S_G is half of G on all four columns (or diagonals): a += b + mx,
// d = (d^a)>>>16, c += d, b = (b^c)>>>12, then the same with my and 8, 7.
#define B2S_G(mx, my) \
	VADD	mx.S4, V0.S4, V0.S4 \
	VADD	V1.S4, V0.S4, V0.S4 \
	VEOR	V0.B16, V3.B16, V3.B16 \
	VREV32	V3.H8, V3.H8 \
	VADD	V3.S4, V2.S4, V2.S4 \
	VEOR	V2.B16, V1.B16, V21.B16 \
	VSHL	$20, V21.S4, V1.S4 \
	VSRI	$12, V21.S4, V1.S4 \
	VADD	my.S4, V0.S4, V0.S4 \
	VADD	V1.S4, V0.S4, V0.S4 \
	VEOR	V0.B16, V3.B16, V3.B16 \
	VTBL	V7.B16, [V3.B16], V3.B16 \
	VADD	V3.S4, V2.S4, V2.S4 \
	VEOR	V2.B16, V1.B16, V21.B16 \
	VSHL	$25, V21.S4, V1.S4 \
	VSRI	$7, V21.S4, V1.S4

// B2S_DIAG lines the diagonals up as columns: b by one lane, c by two, d by
// three (lane 0 then holds v0, v5, v10, v15).
#define B2S_DIAG \
	VEXT	$4, V1.B16, V1.B16, V1.B16 \
	VEXT	$8, V2.B16, V2.B16, V2.B16 \
	VEXT	$12, V3.B16, V3.B16, V3.B16

// B2S_UNDIAG undoes B2S_DIAG.
#define B2S_UNDIAG \
	VEXT	$12, V1.B16, V1.B16, V1.B16 \
	VEXT	$8, V2.B16, V2.B16, V2.B16 \
	VEXT	$4, V3.B16, V3.B16, V3.B16

// func Blake2sHashBlocks(h *[8]uint32, c *[2]uint32, flag uint32, blocks []byte)
TEXT ·Blake2sHashBlocks(SB), NOSPLIT, $0-48
	MOVD	h+0(FP), R0
	MOVD	c+8(FP), R1
	MOVWU	flag+16(FP), R2
	MOVD	blocks_base+24(FP), R3
	MOVD	blocks_len+32(FP), R4
	CMP	$64, R4
	BLT	done

	MOVD	$·blake2sConsts<>(SB), R6
	VLD1.P	32(R6), [V18.S4, V19.S4]
	VLD1	(R6), [V7.B16]
	VLD1	(R0), [V16.S4, V17.S4]
	MOVD	(R1), R5
	VMOV	R2, V20.D[1]

block:
	ADD	$64, R5
	VMOV	R5, V20.D[0]
	VLD1.P	64(R3), [V24.S4, V25.S4, V26.S4, V27.S4]
	VMOV	V16.B16, V0.B16
	VMOV	V17.B16, V1.B16
	VMOV	V18.B16, V2.B16
	VEOR	V19.B16, V20.B16, V3.B16
	MOVD	$·blake2sSigma<>(SB), R6
	MOVD	$10, R7

round:
	VLD1.P	64(R6), [V28.B16, V29.B16, V30.B16, V31.B16]
	VTBL	V28.B16, [V24.B16, V25.B16, V26.B16, V27.B16], V4.B16
	VTBL	V29.B16, [V24.B16, V25.B16, V26.B16, V27.B16], V5.B16
	VTBL	V30.B16, [V24.B16, V25.B16, V26.B16, V27.B16], V6.B16
	VTBL	V31.B16, [V24.B16, V25.B16, V26.B16, V27.B16], V8.B16
	B2S_G(V4, V5)
	B2S_DIAG
	B2S_G(V6, V8)
	B2S_UNDIAG
	SUB	$1, R7
	CBNZ	R7, round

	// h ^= v[0:8] ^ v[8:16]
	VEOR	V2.B16, V0.B16, V0.B16
	VEOR	V3.B16, V1.B16, V1.B16
	VEOR	V0.B16, V16.B16, V16.B16
	VEOR	V1.B16, V17.B16, V17.B16
	SUB	$64, R4
	CMP	$64, R4
	BGE	block

	VST1	[V16.S4, V17.S4], (R0)
	MOVD	R5, (R1)

done:
	RET

// The IV (RFC 7693 §2.6), then the VTBL index of a right rotation of each
// 32-bit lane by 8 bits.
DATA	·blake2sConsts<>+0x00(SB)/4, $0x6a09e667
DATA	·blake2sConsts<>+0x04(SB)/4, $0xbb67ae85
DATA	·blake2sConsts<>+0x08(SB)/4, $0x3c6ef372
DATA	·blake2sConsts<>+0x0c(SB)/4, $0xa54ff53a
DATA	·blake2sConsts<>+0x10(SB)/4, $0x510e527f
DATA	·blake2sConsts<>+0x14(SB)/4, $0x9b05688c
DATA	·blake2sConsts<>+0x18(SB)/4, $0x1f83d9ab
DATA	·blake2sConsts<>+0x1c(SB)/4, $0x5be0cd19
DATA	·blake2sConsts<>+0x20(SB)/8, $0x0407060500030201
DATA	·blake2sConsts<>+0x28(SB)/8, $0x0c0f0e0d080b0a09
GLOBL	·blake2sConsts<>(SB), NOPTR|RODATA, $48

// The message schedule: per round, four 16-byte VTBL indices into the
// block, picking the words {s0, s2, s4, s6}, {s1, s3, s5, s7},
// {s8, s10, s12, s14} and {s9, s11, s13, s15} of that round's permutation s.
// Round 0: {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
DATA	·blake2sSigma<>+0x000(SB)/8, $0x0b0a090803020100
DATA	·blake2sSigma<>+0x008(SB)/8, $0x1b1a191813121110
DATA	·blake2sSigma<>+0x010(SB)/8, $0x0f0e0d0c07060504
DATA	·blake2sSigma<>+0x018(SB)/8, $0x1f1e1d1c17161514
DATA	·blake2sSigma<>+0x020(SB)/8, $0x2b2a292823222120
DATA	·blake2sSigma<>+0x028(SB)/8, $0x3b3a393833323130
DATA	·blake2sSigma<>+0x030(SB)/8, $0x2f2e2d2c27262524
DATA	·blake2sSigma<>+0x038(SB)/8, $0x3f3e3d3c37363534
// Round 1: {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3}
DATA	·blake2sSigma<>+0x040(SB)/8, $0x131211103b3a3938
DATA	·blake2sSigma<>+0x048(SB)/8, $0x3736353427262524
DATA	·blake2sSigma<>+0x050(SB)/8, $0x232221202b2a2928
DATA	·blake2sSigma<>+0x058(SB)/8, $0x1b1a19183f3e3d3c
DATA	·blake2sSigma<>+0x060(SB)/8, $0x0302010007060504
DATA	·blake2sSigma<>+0x068(SB)/8, $0x171615142f2e2d2c
DATA	·blake2sSigma<>+0x070(SB)/8, $0x0b0a090833323130
DATA	·blake2sSigma<>+0x078(SB)/8, $0x0f0e0d0c1f1e1d1c
// Round 2: {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4}
DATA	·blake2sSigma<>+0x080(SB)/8, $0x333231302f2e2d2c
DATA	·blake2sSigma<>+0x088(SB)/8, $0x3f3e3d3c17161514
DATA	·blake2sSigma<>+0x090(SB)/8, $0x0302010023222120
DATA	·blake2sSigma<>+0x098(SB)/8, $0x373635340b0a0908
DATA	·blake2sSigma<>+0x0a0(SB)/8, $0x0f0e0d0c2b2a2928
DATA	·blake2sSigma<>+0x0a8(SB)/8, $0x272625241f1e1d1c
DATA	·blake2sSigma<>+0x0b0(SB)/8, $0x1b1a19183b3a3938
DATA	·blake2sSigma<>+0x0b8(SB)/8, $0x1312111007060504
// Round 3: {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8}
DATA	·blake2sSigma<>+0x0c0(SB)/8, $0x0f0e0d0c1f1e1d1c
DATA	·blake2sSigma<>+0x0c8(SB)/8, $0x2f2e2d2c37363534
DATA	·blake2sSigma<>+0x0d0(SB)/8, $0x0706050427262524
DATA	·blake2sSigma<>+0x0d8(SB)/8, $0x3b3a393833323130
DATA	·blake2sSigma<>+0x0e0(SB)/8, $0x171615140b0a0908
DATA	·blake2sSigma<>+0x0e8(SB)/8, $0x3f3e3d3c13121110
DATA	·blake2sSigma<>+0x0f0(SB)/8, $0x2b2a29281b1a1918
DATA	·blake2sSigma<>+0x0f8(SB)/8, $0x2322212003020100
// Round 4: {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13}
DATA	·blake2sSigma<>+0x100(SB)/8, $0x1716151427262524
DATA	·blake2sSigma<>+0x108(SB)/8, $0x2b2a29280b0a0908
DATA	·blake2sSigma<>+0x110(SB)/8, $0x1f1e1d1c03020100
DATA	·blake2sSigma<>+0x118(SB)/8, $0x3f3e3d3c13121110
DATA	·blake2sSigma<>+0x120(SB)/8, $0x2f2e2d2c3b3a3938
DATA	·blake2sSigma<>+0x128(SB)/8, $0x0f0e0d0c1b1a1918
DATA	·blake2sSigma<>+0x130(SB)/8, $0x3332313007060504
DATA	·blake2sSigma<>+0x138(SB)/8, $0x3736353423222120
// Round 5: {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9}
DATA	·blake2sSigma<>+0x140(SB)/8, $0x1b1a19180b0a0908
DATA	·blake2sSigma<>+0x148(SB)/8, $0x2322212003020100
DATA	·blake2sSigma<>+0x150(SB)/8, $0x2b2a292833323130
DATA	·blake2sSigma<>+0x158(SB)/8, $0x0f0e0d0c2f2e2d2c
DATA	·blake2sSigma<>+0x160(SB)/8, $0x1f1e1d1c13121110
DATA	·blake2sSigma<>+0x168(SB)/8, $0x070605043f3e3d3c
DATA	·blake2sSigma<>+0x170(SB)/8, $0x1716151437363534
DATA	·blake2sSigma<>+0x178(SB)/8, $0x272625243b3a3938
// Round 6: {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11}
DATA	·blake2sSigma<>+0x180(SB)/8, $0x0706050433323130
DATA	·blake2sSigma<>+0x188(SB)/8, $0x131211103b3a3938
DATA	·blake2sSigma<>+0x190(SB)/8, $0x3f3e3d3c17161514
DATA	·blake2sSigma<>+0x198(SB)/8, $0x2b2a292837363534
DATA	·blake2sSigma<>+0x1a0(SB)/8, $0x1b1a191803020100
DATA	·blake2sSigma<>+0x1a8(SB)/8, $0x2322212027262524
DATA	·blake2sSigma<>+0x1b0(SB)/8, $0x0f0e0d0c1f1e1d1c
DATA	·blake2sSigma<>+0x1b8(SB)/8, $0x2f2e2d2c0b0a0908
// Round 7: {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10}
DATA	·blake2sSigma<>+0x1c0(SB)/8, $0x1f1e1d1c37363534
DATA	·blake2sSigma<>+0x1c8(SB)/8, $0x0f0e0d0c33323130
DATA	·blake2sSigma<>+0x1d0(SB)/8, $0x3b3a39382f2e2d2c
DATA	·blake2sSigma<>+0x1d8(SB)/8, $0x2726252407060504
DATA	·blake2sSigma<>+0x1e0(SB)/8, $0x3f3e3d3c17161514
DATA	·blake2sSigma<>+0x1e8(SB)/8, $0x0b0a090823222120
DATA	·blake2sSigma<>+0x1f0(SB)/8, $0x1312111003020100
DATA	·blake2sSigma<>+0x1f8(SB)/8, $0x2b2a29281b1a1918
// Round 8: {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5}
DATA	·blake2sSigma<>+0x200(SB)/8, $0x3b3a39381b1a1918
DATA	·blake2sSigma<>+0x208(SB)/8, $0x030201002f2e2d2c
DATA	·blake2sSigma<>+0x210(SB)/8, $0x272625243f3e3d3c
DATA	·blake2sSigma<>+0x218(SB)/8, $0x232221200f0e0d0c
DATA	·blake2sSigma<>+0x220(SB)/8, $0x3736353433323130
DATA	·blake2sSigma<>+0x228(SB)/8, $0x2b2a292807060504
DATA	·blake2sSigma<>+0x230(SB)/8, $0x1f1e1d1c0b0a0908
DATA	·blake2sSigma<>+0x238(SB)/8, $0x1716151413121110
// Round 9: {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0}
DATA	·blake2sSigma<>+0x240(SB)/8, $0x232221202b2a2928
DATA	·blake2sSigma<>+0x248(SB)/8, $0x070605041f1e1d1c
DATA	·blake2sSigma<>+0x250(SB)/8, $0x131211100b0a0908
DATA	·blake2sSigma<>+0x258(SB)/8, $0x171615141b1a1918
DATA	·blake2sSigma<>+0x260(SB)/8, $0x272625243f3e3d3c
DATA	·blake2sSigma<>+0x268(SB)/8, $0x373635340f0e0d0c
DATA	·blake2sSigma<>+0x270(SB)/8, $0x3b3a39382f2e2d2c
DATA	·blake2sSigma<>+0x278(SB)/8, $0x0302010033323130
GLOBL	·blake2sSigma<>(SB), NOPTR|RODATA, $640
