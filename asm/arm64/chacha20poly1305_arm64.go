//go:build gc && !purego

package arm64

// The ChaCha20 kernels take the whole 16-word input state (RFC 8439 §2.3:
// constants, key, block counter in word 12, nonce) and add the number of
// blocks done to word 12; the counter must not wrap. The Poly1305 kernels
// take the accumulator and the clamped multiplier as {h0, h1, h2, r0, r1},
// 64-bit limbs, h kept below 2·(2¹³⁰−5) between calls as in the portable
// code, so either may finish a MAC the other started.

// ChaCha20x4 XORs the first len(src)&^255 bytes of src with the key stream
// and writes them to dst, four blocks per step. len(dst) ≥ len(src)&^255;
// dst and src are the same or disjoint.
//
//go:noescape
func ChaCha20x4(state *[16]uint32, dst, src []byte)

// Poly1305Blocks absorbs the len(msg)/16 whole blocks of msg, each with the
// 2¹²⁸ bit set.
//
//go:noescape
func Poly1305Blocks(poly *[5]uint64, msg []byte)

// SealChunks encrypts len(src)&^255 bytes as ChaCha20x4 does and absorbs
// the ciphertext into poly, 256 bytes at a time.
//
//go:noescape
func SealChunks(state *[16]uint32, poly *[5]uint64, dst, src []byte)

// OpenChunks absorbs len(src)&^255 bytes of ciphertext into poly and
// decrypts them into dst, 256 bytes at a time; each chunk is read before it
// is written, so dst may be src.
//
//go:noescape
func OpenChunks(state *[16]uint32, poly *[5]uint64, dst, src []byte)
