// Package arm64 holds wgxdp's arm64 assembly kernels with their Go
// declarations: ChaCha20 four blocks at a time across NEON lanes, Poly1305
// on 64-bit limbs with MUL/UMULH, and the two fused per packet for the
// AEAD; the BLAKE2s compression with NEON rows; and X25519 field
// multiplication on four 64-bit limbs (the ladder stays in Go). README.md gives their provenance and measured instruction counts.
//
// Nothing here is called directly: the crypto packages register these
// kernels in their dispatch tables (level "neon", feature ASIMD), test them
// against their portable Go twins under qemu-aarch64 (`make cross`), and
// WGXDP_CPU=generic turns them off. On other architectures the package is
// empty.
package arm64
