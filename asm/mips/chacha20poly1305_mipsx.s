//go:build (mips || mipsle) && gc && !purego

// ChaCha20 and Poly1305 for MIPS32r2, both byte orders (the byte-order
// macros are in endian_mips.h and endian_mipsle.h). Our own code; the
// Poly1305 block follows the base 2³² scheme of Andy Polyakov's CRYPTOGAMS
// poly1305-mips (as in OpenSSL): r1, r2, r3 are multiples of four, so a
// product that reaches 2¹²⁸·2³²ᵏ (k ≥ 1) folds back as h·(r + r>>2)·2³²⁽ᵏ⁻¹⁾,
// and with r < 2²⁸ every column sum fits the 64-bit HI:LO accumulator.

#include "textflag.h"

#ifdef GOARCH_mips
#include "endian_mips.h"
#else
#include "endian_mipsle.h"
#endif

// Go's assembler has MADD but not MADDU (HI:LO += rs·rt, unsigned).
#define MADDU(rs, rt) WORD $(0x70000001 | (rs<<21) | (rt<<16))

// QR is a ChaCha20 quarter round; ROTR by 32−n rotates left by n.
#define QR(a, b, c, d) \
	ADDU	b, a \
	XOR	a, d \
	ROTR	$16, d \
	ADDU	d, c \
	XOR	c, b \
	ROTR	$20, b \
	ADDU	b, a \
	XOR	a, d \
	ROTR	$24, d \
	ADDU	d, c \
	XOR	c, b \
	ROTR	$25, b

// KEYWORD finishes state word x (adds the input word back in), XORs it
// into the word at off(src) and stores that at off(dst).
#define KEYWORD(x, off) \
	MOVW	off(R18), R24 \
	ADDU	R24, x \
	SWAPLE(x) \
	LOADU(off, R20, R25) \
	XOR	R25, x \
	STOREU(x, off, R19)

// Register use: R1-R16 the working state; R17 double rounds left; R18
// *state; R19 dst; R20 src; R21 blocks left; R24, R25 temporaries.

// func ChaCha20Blocks(state *[16]uint32, dst, src []byte)
TEXT ·ChaCha20Blocks(SB), NOSPLIT, $0-28
	MOVW	state+0(FP), R18
	MOVW	dst_base+4(FP), R19
	MOVW	src_base+16(FP), R20
	MOVW	src_len+20(FP), R21
	SRL	$6, R21
	BEQ	R21, done

loop:
	MOVW	0(R18), R1
	MOVW	4(R18), R2
	MOVW	8(R18), R3
	MOVW	12(R18), R4
	MOVW	16(R18), R5
	MOVW	20(R18), R6
	MOVW	24(R18), R7
	MOVW	28(R18), R8
	MOVW	32(R18), R9
	MOVW	36(R18), R10
	MOVW	40(R18), R11
	MOVW	44(R18), R12
	MOVW	48(R18), R13
	MOVW	52(R18), R14
	MOVW	56(R18), R15
	MOVW	60(R18), R16
	MOVW	$10, R17

rounds:
	QR(R1, R5, R9, R13)
	QR(R2, R6, R10, R14)
	QR(R3, R7, R11, R15)
	QR(R4, R8, R12, R16)
	QR(R1, R6, R11, R16)
	QR(R2, R7, R12, R13)
	QR(R3, R8, R9, R14)
	QR(R4, R5, R10, R15)
	SUBU	$1, R17
	BNE	R17, rounds

	KEYWORD(R1, 0)
	KEYWORD(R2, 4)
	KEYWORD(R3, 8)
	KEYWORD(R4, 12)
	KEYWORD(R5, 16)
	KEYWORD(R6, 20)
	KEYWORD(R7, 24)
	KEYWORD(R8, 28)
	KEYWORD(R9, 32)
	KEYWORD(R10, 36)
	KEYWORD(R11, 40)
	KEYWORD(R12, 44)
	KEYWORD(R13, 48)
	KEYWORD(R14, 52)
	KEYWORD(R15, 56)
	KEYWORD(R16, 60)
	MOVW	48(R18), R24
	ADDU	$1, R24
	MOVW	R24, 48(R18)
	ADDU	$64, R19
	ADDU	$64, R20
	SUBU	$1, R21
	BNE	R21, loop

done:
	RET

// SGTU a, b, c sets c = a > b (unsigned): the carry out of an addition.

// ADDC adds the little-endian message word at off(R13) to h with the carry
// in R16, leaving the carry out in R16.
#define ADDC(off, h) \
	LOADU(off, R13, R15) \
	SWAPLE(R15) \
	ADDU	R16, R15 \
	SGTU	R16, R15, R17 \
	ADDU	R15, h \
	SGTU	R15, h, R24 \
	OR	R24, R17, R16

// Register use: R1-R5 h0-h4; R6-R9 r0-r3; R10-R12 s1-s3 = r + r>>2; R13
// msg; R14 blocks left; R15-R17, R24, R25 temporaries; R18-R21 the new
// h0-h3 before the reduction.

// func Poly1305Blocks(poly *[9]uint32, msg []byte)
TEXT ·Poly1305Blocks(SB), NOSPLIT, $0-16
	MOVW	msg_len+8(FP), R14
	SRL	$4, R14
	BEQ	R14, done
	MOVW	poly+0(FP), R25
	MOVW	msg_base+4(FP), R13
	MOVW	0(R25), R1
	MOVW	4(R25), R2
	MOVW	8(R25), R3
	MOVW	12(R25), R4
	MOVW	16(R25), R5
	MOVW	20(R25), R6
	MOVW	24(R25), R7
	MOVW	28(R25), R8
	MOVW	32(R25), R9
	SRL	$2, R7, R10
	ADDU	R7, R10
	SRL	$2, R8, R11
	ADDU	R8, R11
	SRL	$2, R9, R12
	ADDU	R9, R12

loop:
	// h += m + 2¹²⁸
	MOVW	R0, R16
	ADDC(0, R1)
	ADDC(4, R2)
	ADDC(8, R3)
	ADDC(12, R4)
	ADDU	R16, R5
	ADDU	$1, R5

	// d0 = h0·r0 + h1·s3 + h2·s2 + h3·s1
	MULU	R6, R1
	MADDU(2, 12)
	MADDU(3, 11)
	MADDU(4, 10)
	MOVW	LO, R18
	MOVW	HI, R16
	// d1 = carry + h0·r1 + h1·r0 + h2·s3 + h3·s2 + h4·s1
	MOVW	R16, LO
	MOVW	R0, HI
	MADDU(1, 7)
	MADDU(2, 6)
	MADDU(3, 12)
	MADDU(4, 11)
	MADDU(5, 10)
	MOVW	LO, R19
	MOVW	HI, R16
	// d2 = carry + h0·r2 + h1·r1 + h2·r0 + h3·s3 + h4·s2
	MOVW	R16, LO
	MOVW	R0, HI
	MADDU(1, 8)
	MADDU(2, 7)
	MADDU(3, 6)
	MADDU(4, 12)
	MADDU(5, 11)
	MOVW	LO, R20
	MOVW	HI, R16
	// d3 = carry + h0·r3 + h1·r2 + h2·r1 + h3·r0 + h4·s3
	MOVW	R16, LO
	MOVW	R0, HI
	MADDU(1, 9)
	MADDU(2, 8)
	MADDU(3, 7)
	MADDU(4, 6)
	MADDU(5, 12)
	MOVW	LO, R21
	MOVW	HI, R16
	// d4 = carry + h4·r0 (h4 < 8, so it fits 32 bits)
	MUL	R5, R6, R17
	ADDU	R16, R17

	// Fold the bits above 2¹³⁰ back in: h += 5·(d4>>2), h4 = d4&3.
	AND	$3, R17, R5
	SRL	$2, R17, R16
	SLL	$2, R16, R17
	ADDU	R17, R16
	ADDU	R16, R18, R1
	SGTU	R16, R1, R16
	ADDU	R16, R19, R2
	SGTU	R16, R2, R16
	ADDU	R16, R20, R3
	SGTU	R16, R3, R16
	ADDU	R16, R21, R4
	SGTU	R16, R4, R16
	ADDU	R16, R5

	ADDU	$16, R13
	SUBU	$1, R14
	BNE	R14, loop

	MOVW	poly+0(FP), R25
	MOVW	R1, 0(R25)
	MOVW	R2, 4(R25)
	MOVW	R3, 8(R25)
	MOVW	R4, 12(R25)
	MOVW	R5, 16(R25)

done:
	RET
