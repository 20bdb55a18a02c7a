//go:build gc && !purego

package arm64

// The X25519 field kernels work on elements of GF(2²⁵⁵−19) as four
// little-endian 64-bit limbs, any value below 2²⁵⁶ (not necessarily
// reduced); their results are below 2²⁵⁶ too. crypto/curve25519 runs the
// Montgomery ladder in Go around them and makes the result canonical.

// X25519Mul sets v = a·b mod 2²⁵⁵−19. v may alias a or b.
//
//go:noescape
func X25519Mul(v, a, b *[4]uint64)

// X25519Square sets v = a^(2^n) mod 2²⁵⁵−19 (n ≥ 1 squarings). v may
// alias a.
//
//go:noescape
func X25519Square(v, a *[4]uint64, n int)
