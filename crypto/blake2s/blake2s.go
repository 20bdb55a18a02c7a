// Package blake2s implements BLAKE2s (RFC 7693) with the API of
// golang.org/x/crypto/blake2s.
//
// TEMPORARY STUB: delegates to x/crypto until the portable version lands.
package blake2s

import (
	"hash"

	xb "golang.org/x/crypto/blake2s"
)

const (
	BlockSize = 64
	Size      = 32
	Size128   = 16
)

func New256(key []byte) (hash.Hash, error) { return xb.New256(key) }
func New128(key []byte) (hash.Hash, error) { return xb.New128(key) }
func Sum256(data []byte) [Size]byte        { return xb.Sum256(data) }
