// Package mips holds wgxdp's 32-bit MIPS assembly kernels (GOARCH mips and
// mipsle, MIPS32r2) with their Go declarations: ChaCha20 one block at a
// time with the whole state in registers and ROTR for the rotations, and
// Poly1305 on 32-bit limbs with MULTU/MADDU. The byte-order dependent
// macros (unaligned little-endian loads and stores) live in
// endian_mips.h and endian_mipsle.h; everything else is shared (_mipsx).
// README.md gives their provenance and measured instruction counts.
//
// Nothing here is called directly: the crypto packages register these
// kernels in their dispatch tables (level "mips32"), test them against
// their portable Go twins under qemu-mips and qemu-mipsel (`make cross`),
// and WGXDP_CPU=generic turns them off. On other architectures the package
// is empty.
package mips
