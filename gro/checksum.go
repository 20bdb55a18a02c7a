package gro

import (
	"encoding/binary"
	"math/bits"
)

// The Internet checksum (RFC 1071) is a ones'-complement sum of big-endian
// 16-bit words. A ones'-complement sum is the same in any word width and, up
// to a byte swap, in either byte order, so we add the bytes as little-endian
// 64-bit words (one load each on the machines that matter) and move between
// the two orders with an 8-bit rotation: swapping the bytes of a 16-bit word
// multiplies it by 2⁸ modulo 2¹⁶-1, and rotating a 64-bit word left by 8
// multiplies it by 2⁸ modulo 2⁶⁴-1, a multiple of 2¹⁶-1. (This is RFC 1071
// §2(B) and §2(C); wireguard-go's tun/checksum.go does the same with
// NativeEndian.)
//
// A partial sum (the uint64 the functions here take and return) is in the
// big-endian domain, unfolded; Fold turns it into the 16-bit value.

// Checksum adds the bytes of b, as big-endian 16-bit words (an odd last byte
// padded with zero), to the partial sum initial, and returns the partial sum.
func Checksum(b []byte, initial uint64) uint64 {
	return checksumAdd64(b, initial)
}

// Fold folds a partial sum to 16 bits. It does not complement: a checksum
// field gets ^Fold(sum); a field the kernel completes (FlagNeedsCsum) gets
// Fold(pseudo-header sum).
func Fold(sum uint64) uint16 {
	sum = sum>>32 + sum&0xffffffff
	sum = sum>>16 + sum&0xffff
	sum = sum>>16 + sum&0xffff
	sum = sum>>16 + sum&0xffff
	return uint16(sum)
}

// add adds two partial sums.
func add(a, b uint64) uint64 {
	s, c := bits.Add64(a, b, 0)
	return s + c // cannot wrap: a+b ≤ 2⁶⁵-2
}

// PseudoHeaderSum returns the partial sum of the TCP/UDP pseudo-header: the
// source and destination addresses (4 or 16 bytes each), the protocol and
// the L4 length (header and payload).
func PseudoHeaderSum(proto uint8, src, dst []byte, l4Len int) uint64 {
	var s uint64
	if len(src) == 4 && len(dst) == 4 {
		s = uint64(binary.BigEndian.Uint32(src)) + uint64(binary.BigEndian.Uint32(dst))
	} else {
		s = Checksum(dst, Checksum(src, 0))
	}
	return add(s, uint64(proto)+uint64(l4Len))
}

// checksumImpl is one implementation of Checksum. The table is shared by
// the tests (each against the 16-bit reference), the fuzz test and the
// benchmarks, so that a faster variant can be tried by adding a line (the
// tests add wireguard-go's, for comparison). Checksum uses add64, the
// fastest measured on amd64 (≈ wireguard-go's, same carry chain; four
// separate chains and the carry-free add32x4 were slower there).
type checksumImpl struct {
	name string
	fn   func(b []byte, initial uint64) uint64
}

var checksumImpls = []checksumImpl{
	{"add64", checksumAdd64},
	{"add32x4", checksumAdd32x4},
}

// checksumAdd64 adds 64-bit words with a carry chain (ADC on amd64, ADCS on
// arm64): 8 bytes per add.
func checksumAdd64(b []byte, initial uint64) uint64 {
	ac := bits.RotateLeft64(initial, 8) // into the little-endian domain
	var c uint64
	for len(b) >= 128 {
		w := b[:128]
		ac, c = bits.Add64(ac, binary.LittleEndian.Uint64(w[0:]), c)
		ac, c = bits.Add64(ac, binary.LittleEndian.Uint64(w[8:]), c)
		ac, c = bits.Add64(ac, binary.LittleEndian.Uint64(w[16:]), c)
		ac, c = bits.Add64(ac, binary.LittleEndian.Uint64(w[24:]), c)
		ac, c = bits.Add64(ac, binary.LittleEndian.Uint64(w[32:]), c)
		ac, c = bits.Add64(ac, binary.LittleEndian.Uint64(w[40:]), c)
		ac, c = bits.Add64(ac, binary.LittleEndian.Uint64(w[48:]), c)
		ac, c = bits.Add64(ac, binary.LittleEndian.Uint64(w[56:]), c)
		ac, c = bits.Add64(ac, binary.LittleEndian.Uint64(w[64:]), c)
		ac, c = bits.Add64(ac, binary.LittleEndian.Uint64(w[72:]), c)
		ac, c = bits.Add64(ac, binary.LittleEndian.Uint64(w[80:]), c)
		ac, c = bits.Add64(ac, binary.LittleEndian.Uint64(w[88:]), c)
		ac, c = bits.Add64(ac, binary.LittleEndian.Uint64(w[96:]), c)
		ac, c = bits.Add64(ac, binary.LittleEndian.Uint64(w[104:]), c)
		ac, c = bits.Add64(ac, binary.LittleEndian.Uint64(w[112:]), c)
		ac, c = bits.Add64(ac, binary.LittleEndian.Uint64(w[120:]), c)
		b = b[128:]
	}
	ac, c = bits.Add64(ac, 0, c)
	ac += c
	return bits.RotateLeft64(sumTail(b, ac), 8) // back to big-endian
}

// checksumAdd32x4 adds 32-bit words into four independent 64-bit
// accumulators: no carry chain, so the adds can issue in parallel.
func checksumAdd32x4(b []byte, initial uint64) uint64 {
	var a0, a1, a2, a3 uint64
	for len(b) >= 32 {
		w := b[:32]
		x0 := binary.LittleEndian.Uint64(w[0:])
		x1 := binary.LittleEndian.Uint64(w[8:])
		x2 := binary.LittleEndian.Uint64(w[16:])
		x3 := binary.LittleEndian.Uint64(w[24:])
		a0 += x0&0xffffffff + x2&0xffffffff
		a1 += x0>>32 + x2>>32
		a2 += x1&0xffffffff + x3&0xffffffff
		a3 += x1>>32 + x3>>32
		b = b[32:]
	}
	// Each accumulator holds at most len/16 words below 2³², far from
	// overflow for any slice that fits in memory on a 64-bit machine.
	ac := add(add(a0, a1), add(a2, a3))
	ac = add(ac, bits.RotateLeft64(initial, 8))
	return bits.RotateLeft64(sumTail(b, ac), 8)
}

// sumTail adds the last (fewer than 128) bytes in the little-endian domain.
func sumTail(b []byte, ac uint64) uint64 {
	var c uint64
	for len(b) >= 8 {
		ac, c = bits.Add64(ac, binary.LittleEndian.Uint64(b), c)
		b = b[8:]
	}
	if len(b) >= 4 {
		ac, c = bits.Add64(ac, uint64(binary.LittleEndian.Uint32(b)), c)
		b = b[4:]
	}
	if len(b) >= 2 {
		ac, c = bits.Add64(ac, uint64(binary.LittleEndian.Uint16(b)), c)
		b = b[2:]
	}
	if len(b) == 1 {
		ac, c = bits.Add64(ac, uint64(b[0]), c)
	}
	ac, c = bits.Add64(ac, 0, c)
	return ac + c
}
