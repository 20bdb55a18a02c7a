//go:build gc && !purego

// X25519 field multiplication and squaring in radix 2⁶⁴ with MUL/UMULH:
// the 512-bit schoolbook product, row by row, then the fold of the high
// half by 2²⁵⁶ ≡ 38 (mod 2²⁵⁵−19), twice, the second time with a
// conditional select rather than a branch. The scheme is the usual
// four-limb one (as in the amd64 kernels of asm/amd64 and in Go's former
// crypto/curve25519 amd64 assembly); the code is our own. Nothing branches
// on or indexes by the operands: constant time.

#include "textflag.h"

// Register use
//	R0	v		R9-R16	the product t0..t7, then the result in R9-R12
//	R1-R4	a0..a3		R17	the constant 38
//	R5-R8	b0..b3		R19-R25	partial products
//	R0 (square)	squarings left; v is reloaded at the end

// FE_ROW adds ai·b into t[i..i+4] (t[i+4] is zero before).
#define FE_ROW(ai, ti0, ti1, ti2, ti3, ti4) \
	MUL	R5, ai, R19 \
	UMULH	R5, ai, R20 \
	MUL	R6, ai, R21 \
	UMULH	R6, ai, R22 \
	MUL	R7, ai, R23 \
	UMULH	R7, ai, R24 \
	MUL	R8, ai, R25 \
	UMULH	R8, ai, ti4 \
	ADDS	R20, R21, R21 \
	ADCS	R22, R23, R23 \
	ADCS	R24, R25, R25 \
	ADC	ZR, ti4, ti4 \
	ADDS	R19, ti0, ti0 \
	ADCS	R21, ti1, ti1 \
	ADCS	R23, ti2, ti2 \
	ADCS	R25, ti3, ti3 \
	ADC	ZR, ti4, ti4

// FE_MUL sets R9-R12 to a·b mod 2²⁵⁵−19 (below 2²⁵⁶) for a in R1-R4 and b
// in R5-R8, leaving a and b in place; R17 must hold 38. After the product,
// t0..t3 + 38·(t4..t7): the low words of the 38·ti, then the high words,
// the top limb (at most 38 + 2) collecting in R13. Then 38·top is added to
// t0; a carry out of that leaves t0 below 2¹¹, so the 38 it stands for is
// added without a carry chain.
#define FE_MUL \
	MUL	R5, R1, R9 \
	UMULH	R5, R1, R10 \
	MUL	R6, R1, R19 \
	UMULH	R6, R1, R11 \
	MUL	R7, R1, R20 \
	UMULH	R7, R1, R12 \
	MUL	R8, R1, R21 \
	UMULH	R8, R1, R13 \
	ADDS	R19, R10, R10 \
	ADCS	R20, R11, R11 \
	ADCS	R21, R12, R12 \
	ADC	ZR, R13, R13 \
	FE_ROW(R2, R10, R11, R12, R13, R14) \
	FE_ROW(R3, R11, R12, R13, R14, R15) \
	FE_ROW(R4, R12, R13, R14, R15, R16) \
	MUL	R17, R13, R19 \
	UMULH	R17, R13, R20 \
	MUL	R17, R14, R21 \
	UMULH	R17, R14, R22 \
	MUL	R17, R15, R23 \
	UMULH	R17, R15, R24 \
	MUL	R17, R16, R25 \
	UMULH	R17, R16, R13 \
	ADDS	R19, R9, R9 \
	ADCS	R21, R10, R10 \
	ADCS	R23, R11, R11 \
	ADCS	R25, R12, R12 \
	ADC	ZR, R13, R13 \
	ADDS	R20, R10, R10 \
	ADCS	R22, R11, R11 \
	ADCS	R24, R12, R12 \
	ADC	ZR, R13, R13 \
	MUL	R17, R13, R13 \
	ADDS	R13, R9, R9 \
	ADCS	ZR, R10, R10 \
	ADCS	ZR, R11, R11 \
	ADCS	ZR, R12, R12 \
	CSEL	CS, R17, ZR, R13 \
	ADD	R13, R9, R9

// func X25519Mul(v, a, b *[4]uint64)
TEXT ·X25519Mul(SB), NOSPLIT, $0-24
	MOVD	v+0(FP), R0
	MOVD	a+8(FP), R1
	MOVD	b+16(FP), R5
	LDP	16(R5), (R7, R8)
	LDP	(R5), (R5, R6)
	LDP	16(R1), (R3, R4)
	LDP	(R1), (R1, R2)
	MOVD	$38, R17
	FE_MUL
	STP	(R9, R10), (R0)
	STP	(R11, R12), 16(R0)
	RET

// func X25519Square(v, a *[4]uint64, n int)
// Each squaring is the multiplication with b = a.
TEXT ·X25519Square(SB), NOSPLIT, $0-24
	MOVD	a+8(FP), R1
	MOVD	n+16(FP), R0
	LDP	16(R1), (R3, R4)
	LDP	(R1), (R1, R2)
	MOVD	$38, R17

loop:
	MOVD	R1, R5
	MOVD	R2, R6
	MOVD	R3, R7
	MOVD	R4, R8
	FE_MUL
	MOVD	R9, R1
	MOVD	R10, R2
	MOVD	R11, R3
	MOVD	R12, R4
	SUBS	$1, R0
	BGT	loop

	MOVD	v+0(FP), R0
	STP	(R1, R2), (R0)
	STP	(R3, R4), 16(R0)
	RET
