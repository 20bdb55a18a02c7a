// Package chacha20poly1305 implements ChaCha20-Poly1305 (RFC 8439) and
// XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha) with the API of
// golang.org/x/crypto/chacha20poly1305, plus a batch API for the data plane.
//
// Every implementation (the portable Go one, level "generic", and any
// assembly one) sits in a cpu.Table; the fastest usable one is chosen at
// start, capped by WGXDP_CPU (see internal/cpu). Implementations, Active and
// UseImplementation let tests and benchmarks run each of them.
package chacha20poly1305

import (
	"crypto/cipher"
	"errors"
)

const (
	KeySize    = 32
	NonceSize  = 12
	NonceSizeX = 24
	Overhead   = 16
)

// The 32-bit block counter starts at 1 for the message, so a message may be
// 2³² − 1 blocks long.
const (
	maxPlaintext  = (1<<32 - 1) * blockSize
	maxCiphertext = maxPlaintext + Overhead
)

var errOpen = errors.New("chacha20poly1305: message authentication failed")

// New returns a ChaCha20-Poly1305 AEAD with a 32-byte key.
func New(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, errors.New("chacha20poly1305: bad key length")
	}
	a := new(aead)
	copy(a.key[:], key)
	return a, nil
}

// NewX returns an XChaCha20-Poly1305 AEAD with a 32-byte key.
func NewX(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, errors.New("chacha20poly1305: bad key length")
	}
	a := new(xaead)
	copy(a.key[:], key)
	return a, nil
}

// Op is one packet of a batch.
type Op struct {
	Key   *[KeySize]byte
	Nonce [NonceSize]byte
	AD    []byte
	In    []byte // Seal: plaintext; Open: ciphertext with tag
	Out   []byte // Seal: len ≥ len(In)+Overhead; Open: len ≥ len(In)-Overhead; may alias In exactly
	OK    bool   // Seal: done (false only for a malformed op); Open: the tag verified (Out is zeroed where it did not)
}

// SealBatch seals every op: it writes len(In)+Overhead bytes, the ciphertext
// and the tag, to Out, and sets OK. It never panics: an op it cannot do (nil
// Key, Out too short, Out overlapping In other than exactly, or Out
// overlapping AD) gets OK = false and Out untouched.
func SealBatch(ops []Op) { active.sealBatch(ops) }

// OpenBatch opens every op: where the tag verifies it writes len(In)-Overhead
// bytes of plaintext to Out and sets OK; where it does not, it zeroes those
// bytes of Out and clears OK. It never panics: a malformed op (len(In) <
// Overhead, or as for SealBatch) gets OK = false and Out untouched.
func OpenBatch(ops []Op) { active.openBatch(ops) }

// sealOut checks a Seal op and returns the region of Out it writes.
func sealOut(o *Op) ([]byte, bool) {
	if o.Key == nil || uint64(len(o.In)) > maxPlaintext || len(o.Out)-Overhead < len(o.In) {
		return nil, false
	}
	out := o.Out[:len(o.In)+Overhead]
	if inexactOverlap(out, o.In) || anyOverlap(out, o.AD) {
		return nil, false
	}
	return out, true
}

// openOut checks an Open op and returns the region of Out it writes.
func openOut(o *Op) ([]byte, bool) {
	n := len(o.In) - Overhead
	if o.Key == nil || n < 0 || uint64(len(o.In)) > maxCiphertext || len(o.Out) < n {
		return nil, false
	}
	out := o.Out[:n]
	if inexactOverlap(out, o.In) || anyOverlap(out, o.AD) {
		return nil, false
	}
	return out, true
}

type aead struct{ key [KeySize]byte }

func (*aead) NonceSize() int { return NonceSize }
func (*aead) Overhead() int  { return Overhead }

func (a *aead) Seal(dst, nonce, plaintext, additionalData []byte) []byte {
	if len(nonce) != NonceSize {
		panic("chacha20poly1305: bad nonce length passed to Seal")
	}
	return seal(&a.key, [NonceSize]byte(nonce), dst, plaintext, additionalData)
}

func (a *aead) Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error) {
	if len(nonce) != NonceSize {
		panic("chacha20poly1305: bad nonce length passed to Open")
	}
	return open(&a.key, [NonceSize]byte(nonce), dst, ciphertext, additionalData)
}

type xaead struct{ key [KeySize]byte }

func (*xaead) NonceSize() int { return NonceSizeX }
func (*xaead) Overhead() int  { return Overhead }

func (a *xaead) Seal(dst, nonce, plaintext, additionalData []byte) []byte {
	if len(nonce) != NonceSizeX {
		panic("chacha20poly1305: bad nonce length passed to Seal")
	}
	key, n := a.subkey(nonce)
	return seal(&key, n, dst, plaintext, additionalData)
}

func (a *xaead) Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error) {
	if len(nonce) != NonceSizeX {
		panic("chacha20poly1305: bad nonce length passed to Open")
	}
	key, n := a.subkey(nonce)
	return open(&key, n, dst, ciphertext, additionalData)
}

// subkey turns an XChaCha20 key and 24-byte nonce into a ChaCha20 key and
// 12-byte nonce: HChaCha20 of the first 16 nonce bytes, and the last 8 after
// four zero bytes.
func (a *xaead) subkey(nonce []byte) ([KeySize]byte, [NonceSize]byte) {
	var n [NonceSize]byte
	copy(n[4:], nonce[16:24])
	return active.hChaCha20(a.key, [16]byte(nonce[:16])), n
}

func seal(key *[KeySize]byte, nonce [NonceSize]byte, dst, plaintext, ad []byte) []byte {
	if uint64(len(plaintext)) > maxPlaintext {
		panic("chacha20poly1305: plaintext too large")
	}
	ret, out := sliceForAppend(dst, len(plaintext)+Overhead)
	if inexactOverlap(out, plaintext) {
		panic("chacha20poly1305: invalid buffer overlap of output and input")
	}
	if anyOverlap(out, ad) {
		panic("chacha20poly1305: invalid buffer overlap of output and additional data")
	}
	active.seal(*key, nonce, out, plaintext, ad)
	return ret
}

func open(key *[KeySize]byte, nonce [NonceSize]byte, dst, ciphertext, ad []byte) ([]byte, error) {
	if len(ciphertext) < Overhead {
		return nil, errOpen
	}
	if uint64(len(ciphertext)) > maxCiphertext {
		panic("chacha20poly1305: ciphertext too large")
	}
	ret, out := sliceForAppend(dst, len(ciphertext)-Overhead)
	if inexactOverlap(out, ciphertext) {
		panic("chacha20poly1305: invalid buffer overlap of output and input")
	}
	if anyOverlap(out, ad) {
		panic("chacha20poly1305: invalid buffer overlap of output and additional data")
	}
	if !active.open(*key, nonce, out, ciphertext, ad) {
		return nil, errOpen
	}
	return ret, nil
}

// sliceForAppend extends in by n bytes, reallocating only when its capacity
// is short, and returns the whole slice and the n new bytes.
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	return head, head[len(in):]
}
