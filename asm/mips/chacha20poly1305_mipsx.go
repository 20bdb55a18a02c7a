//go:build (mips || mipsle) && gc && !purego

package mips

// ChaCha20Blocks XORs the len(src)/64 whole blocks of src with the ChaCha20
// key stream of state (the 16-word input state of RFC 8439 §2.3, block
// counter in word 12) and writes them to dst, adding the number of blocks
// to word 12; the counter must not wrap. len(dst) ≥ len(src)&^63; dst and
// src are the same or disjoint, and need no alignment.
//
//go:noescape
func ChaCha20Blocks(state *[16]uint32, dst, src []byte)

// Poly1305Blocks absorbs the len(msg)/16 whole blocks of msg, each with the
// 2¹²⁸ bit set, into poly = {h0, h1, h2, h3, h4, r0, r1, r2, r3}: the
// accumulator in base 2³² (h4 small) and the clamped multiplier. h stays
// below 5·2¹²⁸ between calls.
//
//go:noescape
func Poly1305Blocks(poly *[9]uint32, msg []byte)
