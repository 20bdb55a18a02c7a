package noise

import (
	"hash"
	"sync"

	"github.com/wgxdp/wgxdp/crypto/blake2s"
)

// All hashing goes through this file, so that the allocation-free BLAKE2s
// helpers can replace the hash.Hash interface in one place.

const hmacBlockSize = blake2s.BlockSize

// hasher is an unkeyed BLAKE2s-256 state with scratch space. Callers'
// bytes reach the hash.Hash interface only by way of buf, so they do not
// escape to the heap; hashers recycles the whole thing, which makes HMAC,
// the KDFs and mixHash allocation-free in the steady state.
type hasher struct {
	h     hash.Hash
	buf   [hmacBlockSize]byte
	pad   [hmacBlockSize]byte
	inner [blake2s.Size]byte
}

var hashers = sync.Pool{New: func() any {
	h, _ := blake2s.New256(nil)
	return &hasher{h: h}
}}

func getHasher() *hasher { return hashers.Get().(*hasher) }

func (x *hasher) put() {
	x.h.Reset()
	setZero(x.buf[:])
	setZero(x.pad[:])
	setZero(x.inner[:])
	hashers.Put(x)
}

// write feeds b to the hash through buf.
func (x *hasher) write(b []byte) {
	for len(b) > 0 {
		n := copy(x.buf[:], b)
		x.h.Write(x.buf[:n])
		b = b[n:]
	}
}

// sum writes the digest to out and resets the hash.
func (x *hasher) sum(out *[blake2s.Size]byte) {
	copy(out[:], x.h.Sum(x.buf[:0]))
	x.h.Reset()
}

// hmac2 sets sum = HMAC-BLAKE2s(key, in0 || in1) (RFC 2104 over BLAKE2s-256,
// the same construction as crypto/hmac with blake2s.New256). sum may alias
// key or the inputs.
func hmac2(sum *[blake2s.Size]byte, key, in0, in1 []byte) {
	x := getHasher()
	if len(key) > hmacBlockSize {
		x.write(key)
		x.sum(&x.inner)
		copy(x.pad[:], x.inner[:])
	} else {
		copy(x.pad[:], key)
	}
	for i := range x.pad {
		x.pad[i] ^= 0x36
	}
	x.h.Write(x.pad[:])
	x.write(in0)
	x.write(in1)
	x.sum(&x.inner)
	for i := range x.pad {
		x.pad[i] ^= 0x36 ^ 0x5c
	}
	x.h.Write(x.pad[:])
	x.h.Write(x.inner[:])
	x.sum(sum)
	x.put()
}

// HMAC1 sets sum = HMAC-BLAKE2s(key, in0).
func HMAC1(sum *[blake2s.Size]byte, key, in0 []byte) { hmac2(sum, key, in0, nil) }

// HMAC2 sets sum = HMAC-BLAKE2s(key, in0 || in1).
func HMAC2(sum *[blake2s.Size]byte, key, in0, in1 []byte) { hmac2(sum, key, in0, in1) }

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
	x := getHasher()
	x.write(h[:])
	x.write(data)
	x.sum(dst)
	x.put()
}

// mixKey sets dst = KDF1(c, data); dst may be c.
func mixKey(dst, c *[blake2s.Size]byte, data []byte) {
	KDF1(dst, c[:], data)
}

// hashLabel returns BLAKE2s(label || key): the mac1 and cookie keys.
func hashLabel(label string, key *PublicKey) [blake2s.Size]byte {
	var out [blake2s.Size]byte
	x := getHasher()
	x.write([]byte(label))
	x.write(key[:])
	x.sum(&out)
	x.put()
	return out
}

// mac128 sets out = BLAKE2s-128 keyed by key over data (mac1, mac2 and the
// cookie itself).
func mac128(out *[macSize]byte, key []byte, data []byte) {
	x := getHasher()
	copy(x.pad[:], key) // keys are 16 or 32 bytes
	h, _ := blake2s.New128(x.pad[:len(key)])
	for len(data) > 0 {
		n := copy(x.buf[:], data)
		h.Write(x.buf[:n])
		data = data[n:]
	}
	copy(out[:], h.Sum(x.buf[:0]))
	x.put()
}

// The initial chaining key and hash, the same for every handshake.
var (
	initialChainKey = blake2s.Sum256([]byte(NoiseConstruction))
	initialHash     = func() (h [blake2s.Size]byte) {
		mixHash(&h, &initialChainKey, []byte(WGIdentifier))
		return h
	}()
)
