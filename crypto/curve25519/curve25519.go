// Package curve25519 implements X25519, the Diffie-Hellman function over
// Curve25519 of RFC 7748, with the API of golang.org/x/crypto/curve25519
// plus allocation-free forms for WireGuard's handshake (SharedSecret,
// PublicKey).
//
// Each call runs exactly one scalar multiplication (x/crypto's X25519 runs
// two, as it derives the public key of the scalar through crypto/ecdh). The
// variable-base multiplication is a constant-time Montgomery ladder; the
// implementation is chosen at start from a table (see Implementations), and
// WGXDP_CPU=generic forces the portable Go one.
package curve25519

import (
	"crypto/subtle"
	"errors"
	"fmt"
)

const (
	// ScalarSize is the size of the scalar input to X25519.
	ScalarSize = 32
	// PointSize is the size of the point input to X25519.
	PointSize = 32
)

// Basepoint is the canonical Curve25519 generator (u = 9).
var Basepoint []byte = []byte{9, 31: 0}

var basepoint = [32]byte{9}

// ErrLowOrder is returned when the result is the all-zero value, which
// happens exactly when the peer's point has small order (RFC 7748 section
// 6.1 asks callers to check for it).
var ErrLowOrder = errors.New("curve25519: low order point")

// X25519 returns the result of the scalar multiplication (scalar * point),
// according to RFC 7748, Section 5. scalar, point and the return value are
// slices of 32 bytes. The scalar is clamped; the top bit of point is ignored
// and non-canonical points are accepted.
//
// If point is Basepoint (but not if it's a different slice with the same
// contents) a precomputed implementation might be used for performance.
// Like x/crypto, X25519 returns an error (ErrLowOrder) rather than an
// all-zero output, and an error for inputs of the wrong length.
func X25519(scalar, point []byte) ([]byte, error) {
	if l := len(scalar); l != ScalarSize {
		return nil, fmt.Errorf("bad scalar length: %d, expected %d", l, ScalarSize)
	}
	if l := len(point); l != PointSize {
		return nil, fmt.Errorf("bad point length: %d, expected %d", l, PointSize)
	}
	dst := new([32]byte)
	if &point[0] == &Basepoint[0] {
		PublicKey(dst, (*[32]byte)(scalar))
		return dst[:], nil
	}
	if err := SharedSecret(dst, (*[32]byte)(scalar), (*[32]byte)(point)); err != nil {
		return nil, err
	}
	return dst[:], nil
}

// SharedSecret sets dst = X25519(scalar, point) without allocating. If the
// result is all zeros (point has small order) it returns ErrLowOrder with
// dst zeroed. dst may alias scalar or point.
func SharedSecret(dst, scalar, point *[32]byte) error {
	var e [32]byte
	clamp(&e, scalar)
	scalarMult(dst, &e, point)
	clear(e[:])
	var zero [32]byte
	if subtle.ConstantTimeCompare(dst[:], zero[:]) == 1 {
		return ErrLowOrder
	}
	return nil
}

// PublicKey sets dst = X25519(scalar, Basepoint), the public key of the
// private key scalar, without allocating. The result is never zero for a
// clamped scalar, so there is no error. dst may alias scalar.
func PublicKey(dst, scalar *[32]byte) {
	var e [32]byte
	clamp(&e, scalar)
	scalarBaseMult(dst, &e)
	clear(e[:])
}

// clamp sets e to the clamped scalar: a multiple of the cofactor 8 with
// bit 254 set and bit 255 clear (RFC 7748 section 5, decodeScalar25519).
func clamp(e, scalar *[32]byte) {
	*e = *scalar
	e[0] &= 248
	e[31] &= 127
	e[31] |= 64
}
