package noise

import (
	"crypto/subtle"
	"errors"
	"io"

	"github.com/wgxdp/wgxdp/crypto/curve25519"
)

// Key types. They are plain arrays so they can be compared, copied and
// used as map keys; compare secrets with [PrivateKey.Equal] (constant time).
type (
	PrivateKey   [KeySize]byte
	PublicKey    [KeySize]byte
	PresharedKey [KeySize]byte
)

// Errors. They are sentinels, returned unwrapped so that rejecting a
// flood of bad messages does not allocate.
var (
	ErrLowOrder      = errors.New("noise: low-order public key (all-zero shared secret)")
	ErrDecrypt       = errors.New("noise: message failed to authenticate")
	ErrUnknownPeer   = errors.New("noise: initiation from an unknown peer")
	ErrBadMessage    = errors.New("noise: malformed message (length or type)")
	ErrInvalidState  = errors.New("noise: handshake state does not allow this step")
	ErrWrongReceiver = errors.New("noise: response is not for this initiation")
	ErrShortRandom   = errors.New("noise: random source failed")
)

// clamp makes k a valid X25519 scalar (RFC 7748 section 5).
func (k *PrivateKey) clamp() {
	k[0] &= 248
	k[31] = (k[31] & 127) | 64
}

// NewPrivateKey reads 32 bytes from rand and clamps them.
func NewPrivateKey(rand io.Reader) (PrivateKey, error) {
	var k PrivateKey
	if err := readRandom(rand, k[:]); err != nil {
		return PrivateKey{}, err
	}
	k.clamp()
	return k, nil
}

// PublicKey returns k·G.
func (k PrivateKey) PublicKey() PublicKey {
	var pk PublicKey
	curve25519.PublicKey((*[32]byte)(&pk), (*[32]byte)(&k))
	return pk
}

// SharedSecret returns k·pk, or ErrLowOrder (and zeros) when pk is of low
// order and the result is all zeros.
func (k PrivateKey) SharedSecret(pk PublicKey) ([32]byte, error) {
	var ss [32]byte
	if err := curve25519.SharedSecret(&ss, (*[32]byte)(&k), (*[32]byte)(&pk)); err != nil {
		return [32]byte{}, ErrLowOrder
	}
	return ss, nil
}

// IsZero reports whether k is all zeros, in constant time.
func (k PrivateKey) IsZero() bool { return isZero(k[:]) }

// Equal compares two private keys in constant time.
func (k PrivateKey) Equal(o PrivateKey) bool { return subtle.ConstantTimeCompare(k[:], o[:]) == 1 }

// IsZero reports whether pk is all zeros.
func (pk PublicKey) IsZero() bool { return isZero(pk[:]) }

// Equal compares two public keys in constant time.
func (pk PublicKey) Equal(o PublicKey) bool { return subtle.ConstantTimeCompare(pk[:], o[:]) == 1 }

func isZero(b []byte) bool {
	var acc byte
	for _, x := range b {
		acc |= x
	}
	return subtle.ConstantTimeByteEq(acc, 0) == 1
}

func setZero(b []byte) {
	clear(b)
}
