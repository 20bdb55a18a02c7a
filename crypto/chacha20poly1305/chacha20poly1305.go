// Package chacha20poly1305 implements ChaCha20-Poly1305 (RFC 8439) and
// XChaCha20-Poly1305 with the API of golang.org/x/crypto/chacha20poly1305,
// plus a batch API for the data plane.
//
// TEMPORARY STUB: delegates to x/crypto until the portable version lands.
package chacha20poly1305

import (
	"crypto/cipher"

	xc "golang.org/x/crypto/chacha20poly1305"
)

const (
	KeySize    = 32
	NonceSize  = 12
	NonceSizeX = 24
	Overhead   = 16
)

// New returns a ChaCha20-Poly1305 AEAD with a 32-byte key.
func New(key []byte) (cipher.AEAD, error) { return xc.New(key) }

// NewX returns an XChaCha20-Poly1305 AEAD with a 32-byte key.
func NewX(key []byte) (cipher.AEAD, error) { return xc.NewX(key) }

// Op is one packet of a batch.
type Op struct {
	Key   *[KeySize]byte
	Nonce [NonceSize]byte
	AD    []byte
	In    []byte // Seal: plaintext; Open: ciphertext with tag
	Out   []byte // Seal: len ≥ len(In)+Overhead; Open: len ≥ len(In)-Overhead; may alias In exactly
	OK    bool   // Open: the tag verified (Out is zeroed where it did not)
}

// SealBatch seals every op.
func SealBatch(ops []Op) {
	for i := range ops {
		o := &ops[i]
		a, _ := xc.New(o.Key[:])
		a.Seal(o.Out[:0], o.Nonce[:], o.In, o.AD)
		o.OK = true
	}
}

// OpenBatch opens every op, setting OK.
func OpenBatch(ops []Op) {
	for i := range ops {
		o := &ops[i]
		a, _ := xc.New(o.Key[:])
		_, err := a.Open(o.Out[:0], o.Nonce[:], o.In, o.AD)
		o.OK = err == nil
	}
}
