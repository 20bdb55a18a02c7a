package noise

import (
	"github.com/wgxdp/wgxdp/crypto/blake2s"
)

// All hashing goes through this file. It uses the allocation-free helpers
// of crypto/blake2s (HMAC, Sum256To, MAC128) on stack values, so the
// handshake's hashing allocates nothing and needs no pool.

// HMAC1 sets sum = HMAC-BLAKE2s(key, in0). sum may alias key or in0.
func HMAC1(sum *[blake2s.Size]byte, key, in0 []byte) {
	var out [blake2s.Size]byte
	blake2s.HMAC(&out, key, in0)
	*sum = out
}

// HMAC2 sets sum = HMAC-BLAKE2s(key, in0 || in1). sum may alias key or the
// inputs.
func HMAC2(sum *[blake2s.Size]byte, key, in0, in1 []byte) {
	var out [blake2s.Size]byte
	blake2s.HMAC(&out, key, in0, in1)
	*sum = out
}

var (
	one   = []byte{1}
	two   = []byte{2}
	three = []byte{3}
)

// KDF1 is HKDF (RFC 5869) over HMAC-BLAKE2s with one output, as WireGuard
// defines it.
func KDF1(t0 *[blake2s.Size]byte, key, input []byte) {
	var prk [blake2s.Size]byte
	HMAC1(&prk, key, input)
	HMAC1(t0, prk[:], one)
	setZero(prk[:])
}

// KDF2 is KDF1 with two outputs. t0 may alias the memory of key or input.
func KDF2(t0, t1 *[blake2s.Size]byte, key, input []byte) {
	var prk [blake2s.Size]byte
	HMAC1(&prk, key, input)
	HMAC1(t0, prk[:], one)
	HMAC2(t1, prk[:], t0[:], two)
	setZero(prk[:])
}

// KDF3 is KDF1 with three outputs.
func KDF3(t0, t1, t2 *[blake2s.Size]byte, key, input []byte) {
	var prk [blake2s.Size]byte
	HMAC1(&prk, key, input)
	HMAC1(t0, prk[:], one)
	HMAC2(t1, prk[:], t0[:], two)
	HMAC2(t2, prk[:], t1[:], three)
	setZero(prk[:])
}

// mixHash sets dst = BLAKE2s(h || data); dst may be h.
func mixHash(dst, h *[blake2s.Size]byte, data []byte) {
	var out [blake2s.Size]byte
	blake2s.Sum256To(&out, h[:], data)
	*dst = out
}

// mixKey sets dst = KDF1(c, data); dst may be c.
func mixKey(dst, c *[blake2s.Size]byte, data []byte) {
	KDF1(dst, c[:], data)
}

// hashLabel returns BLAKE2s(label || key): the mac1 and cookie keys.
func hashLabel(label string, key *PublicKey) [blake2s.Size]byte {
	var out [blake2s.Size]byte
	blake2s.Sum256To(&out, []byte(label), key[:])
	return out
}

// mac128 sets out = BLAKE2s-128 keyed by key over data (mac1, mac2 and the
// cookie itself).
func mac128(out *[macSize]byte, key []byte, data []byte) {
	blake2s.MAC128(out, key, data)
}

// The initial chaining key and hash, the same for every handshake.
var (
	initialChainKey = blake2s.Sum256([]byte(NoiseConstruction))
	initialHash     = func() (h [blake2s.Size]byte) {
		mixHash(&h, &initialChainKey, []byte(WGIdentifier))
		return h
	}()
)
