// Package curve25519 implements X25519 (RFC 7748).
//
// TEMPORARY STUB: delegates to x/crypto until the portable version lands.
package curve25519

import (
	"errors"

	xc "golang.org/x/crypto/curve25519"
)

const (
	ScalarSize = 32
	PointSize  = 32
)

// Basepoint is the canonical Curve25519 generator.
var Basepoint []byte = []byte{9, 31: 0}

// ErrLowOrder is returned when the result is the all-zero point.
var ErrLowOrder = errors.New("curve25519: low order point")

// X25519 returns scalar·point; it refuses low-order points with an error.
func X25519(scalar, point []byte) ([]byte, error) { return xc.X25519(scalar, point) }

// SharedSecret sets dst = scalar·point without allocating; it returns
// ErrLowOrder (and zeroes dst) when the result is all zeros.
func SharedSecret(dst, scalar, point *[32]byte) error {
	r, err := xc.X25519(scalar[:], point[:])
	if err != nil {
		*dst = [32]byte{}
		return ErrLowOrder
	}
	copy(dst[:], r)
	return nil
}

// PublicKey sets dst = scalar·Basepoint (fixed-base path).
func PublicKey(dst, scalar *[32]byte) {
	r, _ := xc.X25519(scalar[:], Basepoint)
	copy(dst[:], r)
}
