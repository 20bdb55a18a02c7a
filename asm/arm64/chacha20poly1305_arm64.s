//go:build gc && !purego

// ChaCha20 four blocks at a time on NEON and Poly1305 on 64-bit scalar
// limbs, alone and fused per packet. The ChaCha20 double round and the
// transposition of the four blocks before the XOR are those of
// golang.org/x/crypto/chacha20/chacha_arm64.s (Copyright 2018 The Go
// Authors, BSD-style license): one vector per state word, block i in lane
// i, 16-bit rotations by VREV32, 8-bit ones by VTBL, 12- and 7-bit ones by
// VSHL+VSRI. The Poly1305 block is the base 2⁶⁴ scheme of Andy Polyakov's
// CRYPTOGAMS poly1305-armv8 (as in OpenSSL): r1 is a multiple of four, so
// h1·r1·2¹²⁸ ≡ h1·(r1 + r1>>2) and only seven multiplications are needed.

#include "textflag.h"

// Register use
//	R0	*state			V0-V15	the four working states, one word each
//	R1	dst			V16-V19	temporaries; V16-V31 at the end: the input
//	R2	src				state, the key stream, src
//	R3	bytes left		V30	lane counter offsets {0,1,2,3}
//	R4	*poly			V31	the VTBL index of a left rotation by 8
//	R5	state pointer for VLD4R
//	R6	double rounds left
//	R7	block counter
//	R8-R10	h0, h1, h2
//	R11-R13	r0, r1, s1 = r1 + r1>>2
//	R14	poly message pointer, R15 its blocks left
//	R16, R17, R19-R21  Poly1305 temporaries
//	R22	the constant 1 (the 2¹²⁸ bit; ADC takes no immediate)
//	R25	&chachaConsts

// CHACHA_LOAD fills V0-V15 with the state words of four consecutive blocks.
#define CHACHA_LOAD \
	VLD1	(R25), [V30.S4, V31.S4] \
	MOVD	R0, R5 \
	VLD4R.P	16(R5), [V0.S4, V1.S4, V2.S4, V3.S4] \
	VLD4R.P	16(R5), [V4.S4, V5.S4, V6.S4, V7.S4] \
	VLD4R.P	16(R5), [V8.S4, V9.S4, V10.S4, V11.S4] \
	VLD4R	(R5), [V12.S4, V13.S4, V14.S4, V15.S4] \
	VADD	V30.S4, V12.S4, V12.S4 \
	MOVD	$10, R6

// CHACHA_DOUBLEROUND is a column round and a diagonal round on all four blocks.
#define CHACHA_DOUBLEROUND \
	VADD	V0.S4, V4.S4, V0.S4 \
	VADD	V1.S4, V5.S4, V1.S4 \
	VADD	V2.S4, V6.S4, V2.S4 \
	VADD	V3.S4, V7.S4, V3.S4 \
	VEOR	V12.B16, V0.B16, V12.B16 \
	VEOR	V13.B16, V1.B16, V13.B16 \
	VEOR	V14.B16, V2.B16, V14.B16 \
	VEOR	V15.B16, V3.B16, V15.B16 \
	VREV32	V12.H8, V12.H8 \
	VREV32	V13.H8, V13.H8 \
	VREV32	V14.H8, V14.H8 \
	VREV32	V15.H8, V15.H8 \
	VADD	V8.S4, V12.S4, V8.S4 \
	VADD	V9.S4, V13.S4, V9.S4 \
	VADD	V10.S4, V14.S4, V10.S4 \
	VADD	V11.S4, V15.S4, V11.S4 \
	VEOR	V8.B16, V4.B16, V16.B16 \
	VEOR	V9.B16, V5.B16, V17.B16 \
	VEOR	V10.B16, V6.B16, V18.B16 \
	VEOR	V11.B16, V7.B16, V19.B16 \
	VSHL	$12, V16.S4, V4.S4 \
	VSHL	$12, V17.S4, V5.S4 \
	VSHL	$12, V18.S4, V6.S4 \
	VSHL	$12, V19.S4, V7.S4 \
	VSRI	$20, V16.S4, V4.S4 \
	VSRI	$20, V17.S4, V5.S4 \
	VSRI	$20, V18.S4, V6.S4 \
	VSRI	$20, V19.S4, V7.S4 \
	VADD	V0.S4, V4.S4, V0.S4 \
	VADD	V1.S4, V5.S4, V1.S4 \
	VADD	V2.S4, V6.S4, V2.S4 \
	VADD	V3.S4, V7.S4, V3.S4 \
	VEOR	V12.B16, V0.B16, V12.B16 \
	VEOR	V13.B16, V1.B16, V13.B16 \
	VEOR	V14.B16, V2.B16, V14.B16 \
	VEOR	V15.B16, V3.B16, V15.B16 \
	VTBL	V31.B16, [V12.B16], V12.B16 \
	VTBL	V31.B16, [V13.B16], V13.B16 \
	VTBL	V31.B16, [V14.B16], V14.B16 \
	VTBL	V31.B16, [V15.B16], V15.B16 \
	VADD	V12.S4, V8.S4, V8.S4 \
	VADD	V13.S4, V9.S4, V9.S4 \
	VADD	V14.S4, V10.S4, V10.S4 \
	VADD	V15.S4, V11.S4, V11.S4 \
	VEOR	V8.B16, V4.B16, V16.B16 \
	VEOR	V9.B16, V5.B16, V17.B16 \
	VEOR	V10.B16, V6.B16, V18.B16 \
	VEOR	V11.B16, V7.B16, V19.B16 \
	VSHL	$7, V16.S4, V4.S4 \
	VSHL	$7, V17.S4, V5.S4 \
	VSHL	$7, V18.S4, V6.S4 \
	VSHL	$7, V19.S4, V7.S4 \
	VSRI	$25, V16.S4, V4.S4 \
	VSRI	$25, V17.S4, V5.S4 \
	VSRI	$25, V18.S4, V6.S4 \
	VSRI	$25, V19.S4, V7.S4 \
	VADD	V0.S4, V5.S4, V0.S4 \
	VADD	V1.S4, V6.S4, V1.S4 \
	VADD	V2.S4, V7.S4, V2.S4 \
	VADD	V3.S4, V4.S4, V3.S4 \
	VEOR	V15.B16, V0.B16, V15.B16 \
	VEOR	V12.B16, V1.B16, V12.B16 \
	VEOR	V13.B16, V2.B16, V13.B16 \
	VEOR	V14.B16, V3.B16, V14.B16 \
	VREV32	V12.H8, V12.H8 \
	VREV32	V13.H8, V13.H8 \
	VREV32	V14.H8, V14.H8 \
	VREV32	V15.H8, V15.H8 \
	VADD	V15.S4, V10.S4, V10.S4 \
	VADD	V12.S4, V11.S4, V11.S4 \
	VADD	V13.S4, V8.S4, V8.S4 \
	VADD	V14.S4, V9.S4, V9.S4 \
	VEOR	V10.B16, V5.B16, V16.B16 \
	VEOR	V11.B16, V6.B16, V17.B16 \
	VEOR	V8.B16, V7.B16, V18.B16 \
	VEOR	V9.B16, V4.B16, V19.B16 \
	VSHL	$12, V16.S4, V5.S4 \
	VSHL	$12, V17.S4, V6.S4 \
	VSHL	$12, V18.S4, V7.S4 \
	VSHL	$12, V19.S4, V4.S4 \
	VSRI	$20, V16.S4, V5.S4 \
	VSRI	$20, V17.S4, V6.S4 \
	VSRI	$20, V18.S4, V7.S4 \
	VSRI	$20, V19.S4, V4.S4 \
	VADD	V5.S4, V0.S4, V0.S4 \
	VADD	V6.S4, V1.S4, V1.S4 \
	VADD	V7.S4, V2.S4, V2.S4 \
	VADD	V4.S4, V3.S4, V3.S4 \
	VEOR	V0.B16, V15.B16, V15.B16 \
	VEOR	V1.B16, V12.B16, V12.B16 \
	VEOR	V2.B16, V13.B16, V13.B16 \
	VEOR	V3.B16, V14.B16, V14.B16 \
	VTBL	V31.B16, [V12.B16], V12.B16 \
	VTBL	V31.B16, [V13.B16], V13.B16 \
	VTBL	V31.B16, [V14.B16], V14.B16 \
	VTBL	V31.B16, [V15.B16], V15.B16 \
	VADD	V15.S4, V10.S4, V10.S4 \
	VADD	V12.S4, V11.S4, V11.S4 \
	VADD	V13.S4, V8.S4, V8.S4 \
	VADD	V14.S4, V9.S4, V9.S4 \
	VEOR	V10.B16, V5.B16, V16.B16 \
	VEOR	V11.B16, V6.B16, V17.B16 \
	VEOR	V8.B16, V7.B16, V18.B16 \
	VEOR	V9.B16, V4.B16, V19.B16 \
	VSHL	$7, V16.S4, V5.S4 \
	VSHL	$7, V17.S4, V6.S4 \
	VSHL	$7, V18.S4, V7.S4 \
	VSHL	$7, V19.S4, V4.S4 \
	VSRI	$25, V16.S4, V5.S4 \
	VSRI	$25, V17.S4, V6.S4 \
	VSRI	$25, V18.S4, V7.S4 \
	VSRI	$25, V19.S4, V4.S4

// CHACHA_XOR adds the input state back in, transposes the four blocks into
// byte order, XORs 256 bytes of src into dst, and advances the counter.
#define CHACHA_XOR \
	MOVD	R0, R5 \
	VLD4R.P	16(R5), [V16.S4, V17.S4, V18.S4, V19.S4] \
	VLD4R.P	16(R5), [V20.S4, V21.S4, V22.S4, V23.S4] \
	VADD	V30.S4, V12.S4, V12.S4 \
	VADD	V16.S4, V0.S4, V0.S4 \
	VADD	V17.S4, V1.S4, V1.S4 \
	VADD	V18.S4, V2.S4, V2.S4 \
	VADD	V19.S4, V3.S4, V3.S4 \
	VLD4R.P	16(R5), [V24.S4, V25.S4, V26.S4, V27.S4] \
	VLD4R	(R5), [V28.S4, V29.S4, V30.S4, V31.S4] \
	VADD	V20.S4, V4.S4, V4.S4 \
	VADD	V21.S4, V5.S4, V5.S4 \
	VADD	V22.S4, V6.S4, V6.S4 \
	VADD	V23.S4, V7.S4, V7.S4 \
	VADD	V24.S4, V8.S4, V8.S4 \
	VADD	V25.S4, V9.S4, V9.S4 \
	VADD	V26.S4, V10.S4, V10.S4 \
	VADD	V27.S4, V11.S4, V11.S4 \
	VADD	V28.S4, V12.S4, V12.S4 \
	VADD	V29.S4, V13.S4, V13.S4 \
	VADD	V30.S4, V14.S4, V14.S4 \
	VADD	V31.S4, V15.S4, V15.S4 \
	VZIP1	V1.S4, V0.S4, V16.S4 \
	VZIP2	V1.S4, V0.S4, V17.S4 \
	VZIP1	V3.S4, V2.S4, V18.S4 \
	VZIP2	V3.S4, V2.S4, V19.S4 \
	VZIP1	V5.S4, V4.S4, V20.S4 \
	VZIP2	V5.S4, V4.S4, V21.S4 \
	VZIP1	V7.S4, V6.S4, V22.S4 \
	VZIP2	V7.S4, V6.S4, V23.S4 \
	VZIP1	V9.S4, V8.S4, V24.S4 \
	VZIP2	V9.S4, V8.S4, V25.S4 \
	VZIP1	V11.S4, V10.S4, V26.S4 \
	VZIP2	V11.S4, V10.S4, V27.S4 \
	VZIP1	V13.S4, V12.S4, V28.S4 \
	VZIP2	V13.S4, V12.S4, V29.S4 \
	VZIP1	V15.S4, V14.S4, V30.S4 \
	VZIP2	V15.S4, V14.S4, V31.S4 \
	VZIP1	V18.D2, V16.D2, V0.D2 \
	VZIP2	V18.D2, V16.D2, V4.D2 \
	VZIP1	V19.D2, V17.D2, V8.D2 \
	VZIP2	V19.D2, V17.D2, V12.D2 \
	VLD1.P	64(R2), [V16.B16, V17.B16, V18.B16, V19.B16] \
	VZIP1	V22.D2, V20.D2, V1.D2 \
	VZIP2	V22.D2, V20.D2, V5.D2 \
	VZIP1	V23.D2, V21.D2, V9.D2 \
	VZIP2	V23.D2, V21.D2, V13.D2 \
	VLD1.P	64(R2), [V20.B16, V21.B16, V22.B16, V23.B16] \
	VZIP1	V26.D2, V24.D2, V2.D2 \
	VZIP2	V26.D2, V24.D2, V6.D2 \
	VZIP1	V27.D2, V25.D2, V10.D2 \
	VZIP2	V27.D2, V25.D2, V14.D2 \
	VLD1.P	64(R2), [V24.B16, V25.B16, V26.B16, V27.B16] \
	VZIP1	V30.D2, V28.D2, V3.D2 \
	VZIP2	V30.D2, V28.D2, V7.D2 \
	VZIP1	V31.D2, V29.D2, V11.D2 \
	VZIP2	V31.D2, V29.D2, V15.D2 \
	VLD1.P	64(R2), [V28.B16, V29.B16, V30.B16, V31.B16] \
	VEOR	V0.B16, V16.B16, V16.B16 \
	VEOR	V1.B16, V17.B16, V17.B16 \
	VEOR	V2.B16, V18.B16, V18.B16 \
	VEOR	V3.B16, V19.B16, V19.B16 \
	VST1.P	[V16.B16, V17.B16, V18.B16, V19.B16], 64(R1) \
	VEOR	V4.B16, V20.B16, V20.B16 \
	VEOR	V5.B16, V21.B16, V21.B16 \
	VEOR	V6.B16, V22.B16, V22.B16 \
	VEOR	V7.B16, V23.B16, V23.B16 \
	VST1.P	[V20.B16, V21.B16, V22.B16, V23.B16], 64(R1) \
	VEOR	V8.B16, V24.B16, V24.B16 \
	VEOR	V9.B16, V25.B16, V25.B16 \
	VEOR	V10.B16, V26.B16, V26.B16 \
	VEOR	V11.B16, V27.B16, V27.B16 \
	VST1.P	[V24.B16, V25.B16, V26.B16, V27.B16], 64(R1) \
	VEOR	V12.B16, V28.B16, V28.B16 \
	VEOR	V13.B16, V29.B16, V29.B16 \
	VEOR	V14.B16, V30.B16, V30.B16 \
	VEOR	V15.B16, V31.B16, V31.B16 \
	VST1.P	[V28.B16, V29.B16, V30.B16, V31.B16], 64(R1) \
	MOVWU	48(R0), R7 \
	ADD	$4, R7 \
	MOVW	R7, 48(R0)

// POLY_LOAD loads h and r from *R4 and precomputes s1.
#define POLY_LOAD \
	LDP	0(R4), (R8, R9) \
	MOVD	16(R4), R10 \
	LDP	24(R4), (R11, R12) \
	ADD	R12>>2, R12, R13 \
	MOVD	$1, R22

#define POLY_STORE \
	STP	(R8, R9), 0(R4) \
	MOVD	R10, 16(R4)

// POLY_BLOCK absorbs the 16 bytes at R14 and advances R14:
//	h = (h + m + 2¹²⁸)·r, partially reduced: h2 < 8 after it.
#define POLY_BLOCK \
	LDP.P	16(R14), (R16, R17) \
	ADDS	R16, R8, R8 \
	ADCS	R17, R9, R9 \
	ADC	R22, R10, R10 \
	MUL	R8, R11, R16 \
	UMULH	R8, R11, R17 \
	MUL	R9, R13, R19 \
	UMULH	R9, R13, R20 \
	ADDS	R19, R16, R16 \
	ADC	R20, R17, R17 \
	MUL	R8, R12, R19 \
	UMULH	R8, R12, R21 \
	ADDS	R19, R17, R17 \
	ADC	ZR, R21, R21 \
	MUL	R9, R11, R19 \
	UMULH	R9, R11, R20 \
	ADDS	R19, R17, R17 \
	ADC	R20, R21, R21 \
	MUL	R10, R13, R19 \
	MUL	R10, R11, R20 \
	ADDS	R19, R17, R17 \
	ADC	R20, R21, R21 \
	AND	$-4, R21, R19 \
	AND	$3, R21, R10 \
	ADD	R21>>2, R19, R19 \
	ADDS	R19, R16, R8 \
	ADCS	ZR, R17, R9 \
	ADC	ZR, R10, R10

// func ChaCha20x4(state *[16]uint32, dst, src []byte)
TEXT ·ChaCha20x4(SB), NOSPLIT, $0-56
	MOVD	state+0(FP), R0
	MOVD	dst_base+8(FP), R1
	MOVD	src_base+32(FP), R2
	MOVD	src_len+40(FP), R3
	ANDS	$~255, R3, R3
	BEQ	done
	MOVD	$·chachaConsts<>(SB), R25

loop:
	CHACHA_LOAD
rounds:
	CHACHA_DOUBLEROUND
	SUB	$1, R6
	CBNZ	R6, rounds
	CHACHA_XOR
	SUBS	$256, R3
	BNE	loop

done:
	RET

// func Poly1305Blocks(poly *[5]uint64, msg []byte)
TEXT ·Poly1305Blocks(SB), NOSPLIT, $0-32
	MOVD	poly+0(FP), R4
	MOVD	msg_base+8(FP), R14
	MOVD	msg_len+16(FP), R15
	LSR	$4, R15
	CBZ	R15, done
	POLY_LOAD

loop:
	POLY_BLOCK
	SUB	$1, R15
	CBNZ	R15, loop
	POLY_STORE

done:
	RET

// func SealChunks(state *[16]uint32, poly *[5]uint64, dst, src []byte)
TEXT ·SealChunks(SB), NOSPLIT, $0-64
	MOVD	state+0(FP), R0
	MOVD	poly+8(FP), R4
	MOVD	dst_base+16(FP), R1
	MOVD	src_base+40(FP), R2
	MOVD	src_len+48(FP), R3
	ANDS	$~255, R3, R3
	BEQ	done
	MOVD	$·chachaConsts<>(SB), R25
	POLY_LOAD

loop:
	CHACHA_LOAD
rounds:
	CHACHA_DOUBLEROUND
	SUB	$1, R6
	CBNZ	R6, rounds
	CHACHA_XOR

	// Absorb the 256 bytes of ciphertext just written.
	SUB	$256, R1, R14
	MOVD	$16, R15
poly:
	POLY_BLOCK
	SUB	$1, R15
	CBNZ	R15, poly

	SUBS	$256, R3
	BNE	loop
	POLY_STORE

done:
	RET

// func OpenChunks(state *[16]uint32, poly *[5]uint64, dst, src []byte)
TEXT ·OpenChunks(SB), NOSPLIT, $0-64
	MOVD	state+0(FP), R0
	MOVD	poly+8(FP), R4
	MOVD	dst_base+16(FP), R1
	MOVD	src_base+40(FP), R2
	MOVD	src_len+48(FP), R3
	ANDS	$~255, R3, R3
	BEQ	done
	MOVD	$·chachaConsts<>(SB), R25
	POLY_LOAD

loop:
	// Absorb the next 256 bytes of ciphertext before they are overwritten.
	MOVD	R2, R14
	MOVD	$16, R15
poly:
	POLY_BLOCK
	SUB	$1, R15
	CBNZ	R15, poly

	CHACHA_LOAD
rounds:
	CHACHA_DOUBLEROUND
	SUB	$1, R6
	CBNZ	R6, rounds
	CHACHA_XOR
	SUBS	$256, R3
	BNE	loop
	POLY_STORE

done:
	RET

// Lane offsets of the block counter, then the VTBL index that rotates each
// 32-bit word left by 8.
DATA	·chachaConsts<>+0x00(SB)/4, $0x00000000
DATA	·chachaConsts<>+0x04(SB)/4, $0x00000001
DATA	·chachaConsts<>+0x08(SB)/4, $0x00000002
DATA	·chachaConsts<>+0x0c(SB)/4, $0x00000003
DATA	·chachaConsts<>+0x10(SB)/4, $0x02010003
DATA	·chachaConsts<>+0x14(SB)/4, $0x06050407
DATA	·chachaConsts<>+0x18(SB)/4, $0x0A09080B
DATA	·chachaConsts<>+0x1c(SB)/4, $0x0E0D0C0F
GLOBL	·chachaConsts<>(SB), NOPTR|RODATA, $32
