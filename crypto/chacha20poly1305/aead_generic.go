// The portable AEAD construction (RFC 8439 §2.8) and batch loops.

package chacha20poly1305

import (
	"crypto/subtle"
	"encoding/binary"
)

// genericImpl is the portable implementation, level "generic".
var genericImpl = impl{
	seal:         sealGeneric,
	open:         openGeneric,
	sealBatch:    sealBatchGeneric,
	openBatch:    openBatchGeneric,
	xorKeyStream: xorKeyStreamGeneric,
	poly1305:     poly1305Generic,
	hChaCha20:    hChaCha20Generic,
}

// polyKey derives the one-time Poly1305 key from key-stream block 0.
func polyKey(s *chachaState) polyState {
	var b [blockSize]byte
	s.xorBlocks(b[:], b[:], 0)
	return newPolyState(
		binary.LittleEndian.Uint64(b[0:8]), binary.LittleEndian.Uint64(b[8:16]),
		binary.LittleEndian.Uint64(b[16:24]), binary.LittleEndian.Uint64(b[24:32]))
}

// sealGeneric is the portable impl.seal.
func sealGeneric(key [KeySize]byte, nonce [NonceSize]byte, out, in, ad []byte) {
	s := newChachaState(&key, &nonce)
	p := polyKey(&s)
	n := len(in)
	ct, tag := out[:n], (*[tagSize]byte)(out[n:n+tagSize])
	// The additional data goes in first, before out is written, so that
	// nothing here depends on out and ad being disjoint.
	p.padded(ad)
	s.xorKeyStream(ct, in, 1)
	p.padded(ct)
	p.lengths(len(ad), n)
	p.sum(tag)
}

// openGeneric is the portable impl.open: it checks the tag in constant time
// and only then decrypts.
func openGeneric(key [KeySize]byte, nonce [NonceSize]byte, out, in, ad []byte) bool {
	if len(in) < tagSize {
		return false
	}
	n := len(in) - tagSize
	ct, tag := in[:n], in[n:]
	out = out[:n]
	s := newChachaState(&key, &nonce)
	p := polyKey(&s)
	p.padded(ad)
	p.padded(ct)
	p.lengths(len(ad), n)
	var want [tagSize]byte
	p.sum(&want)
	if subtle.ConstantTimeCompare(want[:], tag) != 1 {
		clear(out)
		return false
	}
	s.xorKeyStream(out, ct, 1)
	return true
}

// sealBatchGeneric is the portable impl.sealBatch: one packet at a time.
func sealBatchGeneric(ops []Op) {
	for i := range ops {
		o := &ops[i]
		out, ok := sealOut(o)
		if ok {
			sealGeneric(*o.Key, o.Nonce, out, o.In, o.AD)
		}
		o.OK = ok
	}
}

// openBatchGeneric is the portable impl.openBatch: one packet at a time.
func openBatchGeneric(ops []Op) {
	for i := range ops {
		o := &ops[i]
		out, ok := openOut(o)
		o.OK = ok && openGeneric(*o.Key, o.Nonce, out, o.In, o.AD)
	}
}
