//go:build gc && !purego

// The arm64 implementation, level "neon": asm/arm64's four-block NEON
// ChaCha20 fused per packet with its MUL/UMULH Poly1305. One four-block
// step at counter 0 yields the Poly1305 key and the key stream of the first
// 192 bytes, so a short packet costs one step; longer ones go 256 bytes a
// step through SealChunks/OpenChunks, and a tail through one more step into
// a stack buffer. HChaCha20 stays portable: it runs once per XChaCha20
// message, not per byte.

package chacha20poly1305

import (
	"crypto/subtle"
	"encoding/binary"

	"github.com/klauspost/cpuid/v2"
	"github.com/wgxdp/wgxdp/asm/arm64"
	"github.com/wgxdp/wgxdp/internal/cpu"
)

var _ = register(cpu.Impl[impl]{
	Name:     "neon",
	Level:    "neon",
	Features: []cpuid.FeatureID{cpuid.ASIMD},
	Fn: impl{
		seal:         sealNEON,
		open:         openNEON,
		sealBatch:    sealBatchNEON,
		openBatch:    openBatchNEON,
		xorKeyStream: xorKeyStreamNEON,
		poly1305:     poly1305NEON,
		hChaCha20:    hChaCha20Generic,
	},
})

// stepSize is what one ChaCha20x4 step produces: four blocks.
const stepSize = 4 * blockSize

// chachaWords is the 16-word ChaCha20 input state for block ctr.
func chachaWords(key *[KeySize]byte, nonce *[NonceSize]byte, ctr uint32) [16]uint32 {
	s := newChachaState(key, nonce)
	return [16]uint32{sigma0, sigma1, sigma2, sigma3,
		s.key[0], s.key[1], s.key[2], s.key[3], s.key[4], s.key[5], s.key[6], s.key[7],
		ctr, s.nonce[0], s.nonce[1], s.nonce[2]}
}

// aeadStartNEON runs the step at counter 0 into ks, leaving st at block 4,
// and returns the Poly1305 state (h = 0, r) and its final addend.
func aeadStartNEON(key *[KeySize]byte, nonce *[NonceSize]byte, st *[16]uint32, ks *[stepSize]byte) (p [5]uint64, s0, s1 uint64) {
	*st = chachaWords(key, nonce, 0)
	arm64.ChaCha20x4(st, ks[:], ks[:])
	p[3] = binary.LittleEndian.Uint64(ks[0:8]) & rMask0
	p[4] = binary.LittleEndian.Uint64(ks[8:16]) & rMask1
	return p, binary.LittleEndian.Uint64(ks[16:24]), binary.LittleEndian.Uint64(ks[24:32])
}

// polyPaddedNEON absorbs msg zero-padded to whole blocks.
func polyPaddedNEON(p *[5]uint64, msg []byte) {
	arm64.Poly1305Blocks(p, msg)
	if rest := len(msg) % tagSize; rest != 0 {
		var b [tagSize]byte
		copy(b[:], msg[len(msg)-rest:])
		arm64.Poly1305Blocks(p, b[:])
	}
}

// polyTagNEON absorbs the lengths block and returns the tag.
func polyTagNEON(p *[5]uint64, s0, s1 uint64, adLen, ctLen int) [tagSize]byte {
	var b [tagSize]byte
	binary.LittleEndian.PutUint64(b[0:8], uint64(adLen))
	binary.LittleEndian.PutUint64(b[8:16], uint64(ctLen))
	arm64.Poly1305Blocks(p, b[:])
	ps := polyState{h0: p[0], h1: p[1], h2: p[2], s0: s0, s1: s1}
	ps.sum(&b)
	return b
}

// xorTailNEON XORs src (shorter than a step) with one step of key stream
// into dst, by way of a stack buffer.
func xorTailNEON(st *[16]uint32, dst, src []byte) {
	var buf [stepSize]byte
	n := copy(buf[:], src)
	arm64.ChaCha20x4(st, buf[:], buf[:])
	copy(dst[:n], buf[:n])
}

func sealNEON(key [KeySize]byte, nonce [NonceSize]byte, out, in, ad []byte) {
	var st [16]uint32
	var ks [stepSize]byte
	p, s0, s1 := aeadStartNEON(&key, &nonce, &st, &ks)
	polyPaddedNEON(&p, ad) // before out is written: see sealGeneric
	n := len(in)
	ct := out[:n]
	head := min(n, stepSize-blockSize)
	subtle.XORBytes(ct[:head], in[:head], ks[blockSize:blockSize+head])
	if n == head {
		polyPaddedNEON(&p, ct)
	} else {
		arm64.Poly1305Blocks(&p, ct[:head]) // 192 bytes, whole blocks
		bulk := head + (n-head)&^(stepSize-1)
		arm64.SealChunks(&st, &p, ct[head:bulk], in[head:bulk])
		if bulk < n {
			xorTailNEON(&st, ct[bulk:], in[bulk:])
			polyPaddedNEON(&p, ct[bulk:])
		}
	}
	*(*[tagSize]byte)(out[n : n+tagSize]) = polyTagNEON(&p, s0, s1, len(ad), n)
}

// openNEON hashes each piece of ciphertext just before decrypting it, so it
// works in place, and zeroes the output when the tag does not match.
func openNEON(key [KeySize]byte, nonce [NonceSize]byte, out, in, ad []byte) bool {
	if len(in) < tagSize {
		return false
	}
	n := len(in) - tagSize
	ct, tag := in[:n], in[n:]
	out = out[:n]
	var st [16]uint32
	var ks [stepSize]byte
	p, s0, s1 := aeadStartNEON(&key, &nonce, &st, &ks)
	polyPaddedNEON(&p, ad)
	head := min(n, stepSize-blockSize)
	if n == head {
		polyPaddedNEON(&p, ct)
		subtle.XORBytes(out, ct, ks[blockSize:blockSize+n])
	} else {
		arm64.Poly1305Blocks(&p, ct[:head])
		subtle.XORBytes(out[:head], ct[:head], ks[blockSize:blockSize+head])
		bulk := head + (n-head)&^(stepSize-1)
		arm64.OpenChunks(&st, &p, out[head:bulk], ct[head:bulk])
		if bulk < n {
			polyPaddedNEON(&p, ct[bulk:])
			xorTailNEON(&st, out[bulk:], ct[bulk:])
		}
	}
	want := polyTagNEON(&p, s0, s1, len(ad), n)
	if subtle.ConstantTimeCompare(want[:], tag) != 1 {
		clear(out)
		return false
	}
	return true
}

func sealBatchNEON(ops []Op) {
	for i := range ops {
		o := &ops[i]
		out, ok := sealOut(o)
		if ok {
			sealNEON(*o.Key, o.Nonce, out, o.In, o.AD)
		}
		o.OK = ok
	}
}

func openBatchNEON(ops []Op) {
	for i := range ops {
		o := &ops[i]
		out, ok := openOut(o)
		o.OK = ok && openNEON(*o.Key, o.Nonce, out, o.In, o.AD)
	}
}

func xorKeyStreamNEON(key [KeySize]byte, nonce [NonceSize]byte, ctr uint32, dst, src []byte) {
	st := chachaWords(&key, &nonce, ctr)
	bulk := len(src) &^ (stepSize - 1)
	arm64.ChaCha20x4(&st, dst[:bulk], src[:bulk])
	if bulk < len(src) {
		xorTailNEON(&st, dst[bulk:], src[bulk:])
	}
}

func poly1305NEON(key [KeySize]byte, msg []byte) [tagSize]byte {
	p := [5]uint64{3: binary.LittleEndian.Uint64(key[0:8]) & rMask0, 4: binary.LittleEndian.Uint64(key[8:16]) & rMask1}
	arm64.Poly1305Blocks(&p, msg)
	ps := polyState{h0: p[0], h1: p[1], h2: p[2],
		s0: binary.LittleEndian.Uint64(key[16:24]), s1: binary.LittleEndian.Uint64(key[24:32])}
	if rest := len(msg) % tagSize; rest != 0 {
		ps.r0, ps.r1 = p[3], p[4]
		ps.partial(msg[len(msg)-rest:])
	}
	var tag [tagSize]byte
	ps.sum(&tag)
	return tag
}
