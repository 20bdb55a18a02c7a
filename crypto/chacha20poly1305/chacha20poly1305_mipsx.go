//go:build (mips || mipsle) && gc && !purego

// The 32-bit MIPS implementation, level "mips32" (MIPS32r2: ROTR, WSBH):
// asm/mips's one-block ChaCha20 with the state in registers and its
// MULTU/MADDU Poly1305 on 32-bit limbs. HChaCha20 stays portable: it runs
// once per XChaCha20 message, not per byte.

package chacha20poly1305

import (
	"crypto/subtle"
	"encoding/binary"

	"github.com/wgxdp/wgxdp/asm/mips"
	"github.com/wgxdp/wgxdp/internal/cpu"
)

var _ = register(cpu.Impl[impl]{
	Name:  "mips32",
	Level: "mips32",
	Fn: impl{
		seal:         sealMIPS,
		open:         openMIPS,
		sealBatch:    sealBatchMIPS,
		openBatch:    openBatchMIPS,
		xorKeyStream: xorKeyStreamMIPS,
		poly1305:     poly1305MIPS,
		hChaCha20:    hChaCha20Generic,
	},
})

// chachaWordsMIPS is the 16-word ChaCha20 input state for block ctr.
func chachaWordsMIPS(key *[KeySize]byte, nonce *[NonceSize]byte, ctr uint32) [16]uint32 {
	s := newChachaState(key, nonce)
	return [16]uint32{sigma0, sigma1, sigma2, sigma3,
		s.key[0], s.key[1], s.key[2], s.key[3], s.key[4], s.key[5], s.key[6], s.key[7],
		ctr, s.nonce[0], s.nonce[1], s.nonce[2]}
}

// polyInitMIPS is the Poly1305 state {h = 0, r} of a one-time key.
func polyInitMIPS(k []byte) [9]uint32 {
	return [9]uint32{5: binary.LittleEndian.Uint32(k[0:4]) & 0x0fffffff,
		6: binary.LittleEndian.Uint32(k[4:8]) & 0x0ffffffc,
		7: binary.LittleEndian.Uint32(k[8:12]) & 0x0ffffffc,
		8: binary.LittleEndian.Uint32(k[12:16]) & 0x0ffffffc}
}

// polyStateMIPS converts to the portable state, for its final steps.
func polyStateMIPS(p *[9]uint32, s []byte) polyState {
	return polyState{
		h0: uint64(p[0]) | uint64(p[1])<<32, h1: uint64(p[2]) | uint64(p[3])<<32, h2: uint64(p[4]),
		r0: uint64(p[5]) | uint64(p[6])<<32, r1: uint64(p[7]) | uint64(p[8])<<32,
		s0: binary.LittleEndian.Uint64(s[0:8]), s1: binary.LittleEndian.Uint64(s[8:16]),
	}
}

// polyPaddedMIPS absorbs msg zero-padded to whole blocks.
func polyPaddedMIPS(p *[9]uint32, msg []byte) {
	mips.Poly1305Blocks(p, msg)
	if rest := len(msg) % tagSize; rest != 0 {
		var b [tagSize]byte
		copy(b[:], msg[len(msg)-rest:])
		mips.Poly1305Blocks(p, b[:])
	}
}

// xorKeyStreamFromMIPS XORs src into dst from st's block counter on.
func xorKeyStreamFromMIPS(st *[16]uint32, dst, src []byte) {
	bulk := len(src) &^ (blockSize - 1)
	mips.ChaCha20Blocks(st, dst[:bulk], src[:bulk])
	if bulk < len(src) {
		var buf [blockSize]byte
		n := copy(buf[:], src[bulk:])
		mips.ChaCha20Blocks(st, buf[:], buf[:])
		copy(dst[bulk:], buf[:n])
	}
}

// aeadMIPS runs the AEAD on one message: it returns the tag over ad and ct,
// and XORs src into dst (ct is dst when sealing, src when opening; an open
// hashes before it decrypts, so it works in place).
func aeadMIPS(key *[KeySize]byte, nonce *[NonceSize]byte, dst, src, ad []byte, sealing bool) [tagSize]byte {
	st := chachaWordsMIPS(key, nonce, 0)
	var b0 [blockSize]byte
	mips.ChaCha20Blocks(&st, b0[:], b0[:])
	p := polyInitMIPS(b0[:16])
	polyPaddedMIPS(&p, ad)
	if sealing {
		xorKeyStreamFromMIPS(&st, dst, src)
		polyPaddedMIPS(&p, dst[:len(src)])
	} else {
		polyPaddedMIPS(&p, src)
	}
	var lens [tagSize]byte
	binary.LittleEndian.PutUint64(lens[0:8], uint64(len(ad)))
	binary.LittleEndian.PutUint64(lens[8:16], uint64(len(src)))
	mips.Poly1305Blocks(&p, lens[:])
	ps := polyStateMIPS(&p, b0[16:32])
	var tag [tagSize]byte
	ps.sum(&tag)
	if !sealing {
		xorKeyStreamFromMIPS(&st, dst, src)
	}
	return tag
}

func sealMIPS(key [KeySize]byte, nonce [NonceSize]byte, out, in, ad []byte) {
	n := len(in)
	*(*[tagSize]byte)(out[n : n+tagSize]) = aeadMIPS(&key, &nonce, out[:n], in, ad, true)
}

func openMIPS(key [KeySize]byte, nonce [NonceSize]byte, out, in, ad []byte) bool {
	if len(in) < tagSize {
		return false
	}
	n := len(in) - tagSize
	out = out[:n]
	want := aeadMIPS(&key, &nonce, out, in[:n], ad, false)
	if subtle.ConstantTimeCompare(want[:], in[n:]) != 1 {
		clear(out)
		return false
	}
	return true
}

func sealBatchMIPS(ops []Op) {
	for i := range ops {
		o := &ops[i]
		out, ok := sealOut(o)
		if ok {
			sealMIPS(*o.Key, o.Nonce, out, o.In, o.AD)
		}
		o.OK = ok
	}
}

func openBatchMIPS(ops []Op) {
	for i := range ops {
		o := &ops[i]
		out, ok := openOut(o)
		o.OK = ok && openMIPS(*o.Key, o.Nonce, out, o.In, o.AD)
	}
}

func xorKeyStreamMIPS(key [KeySize]byte, nonce [NonceSize]byte, ctr uint32, dst, src []byte) {
	st := chachaWordsMIPS(&key, &nonce, ctr)
	xorKeyStreamFromMIPS(&st, dst, src)
}

func poly1305MIPS(key [KeySize]byte, msg []byte) [tagSize]byte {
	p := polyInitMIPS(key[:16])
	mips.Poly1305Blocks(&p, msg)
	ps := polyStateMIPS(&p, key[16:32])
	if rest := len(msg) % tagSize; rest != 0 {
		ps.partial(msg[len(msg)-rest:])
	}
	var tag [tagSize]byte
	ps.sum(&tag)
	return tag
}
