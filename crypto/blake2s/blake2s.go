// Package blake2s implements BLAKE2s (RFC 7693) with the API of
// golang.org/x/crypto/blake2s, plus the allocation-free helpers WireGuard's
// handshake needs: HASH (Sum256To), MAC (MAC128) and HMAC (HMAC).
//
// The compression function is chosen at start from a table of
// implementations (see Implementations); the portable Go version is always
// present and WGXDP_CPU=generic forces it.
package blake2s

//go:generate go run gen_generic.go

import (
	"encoding/binary"
	"errors"
	"hash"
)

const (
	// BlockSize is the block size of BLAKE2s in bytes.
	BlockSize = 64
	// Size is the size of a BLAKE2s-256 digest in bytes.
	Size = 32
	// Size128 is the size of a BLAKE2s-128 digest in bytes.
	Size128 = 16
)

var (
	errKeySize    = errors.New("blake2s: invalid key size")
	errDigestSize = errors.New("blake2s: invalid digest size")
)

// iv is the BLAKE2s initialization vector (the SHA-256 IV).
var iv = [8]uint32{
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
}

// Digest is a BLAKE2s hash state. It is a plain value: declare one on the
// stack, Init it (or use the zero value, which is unkeyed BLAKE2s-256),
// Write, and read the result with SumTo without any heap allocation.
// *Digest implements hash.Hash.
//
// A Digest holds a copy of its key, so Reset can restart a MAC; callers
// holding secret keys may clear the value when done (*d = Digest{}).
type Digest struct {
	h      [8]uint32
	c      [2]uint32
	size   uint8 // digest length in bytes; 0 means the zero value, unkeyed BLAKE2s-256
	keyLen uint8
	offset int // bytes buffered in block; a full block is kept until more data arrives
	block  [BlockSize]byte
	key    [Size]byte
}

var _ hash.Hash = (*Digest)(nil)

// Init sets d to a fresh BLAKE2s state producing size bytes (1..32), keyed
// with key (0..32 bytes; empty means unkeyed).
func (d *Digest) Init(size int, key []byte) error {
	if size < 1 || size > Size {
		return errDigestSize
	}
	if len(key) > Size {
		return errKeySize
	}
	d.init(size, key)
	return nil
}

// init is Init without the checks; the caller guarantees the bounds.
func (d *Digest) init(size int, key []byte) {
	d.size = uint8(size)
	d.keyLen = uint8(len(key))
	d.key = [Size]byte{}
	copy(d.key[:], key)
	d.Reset()
}

// Reset returns d to the state after Init, keeping its size and key.
func (d *Digest) Reset() {
	if d.size == 0 {
		d.size = Size
	}
	d.h = iv
	d.h[0] ^= uint32(d.size) | uint32(d.keyLen)<<8 | 1<<16 | 1<<24
	d.c = [2]uint32{}
	d.offset = 0
	if d.keyLen > 0 {
		// The key, zero-padded to a full block, is the first block.
		d.block = [BlockSize]byte{}
		copy(d.block[:], d.key[:d.keyLen])
		d.offset = BlockSize
	}
}

// Size returns the digest length in bytes.
func (d *Digest) Size() int {
	if d.size == 0 {
		return Size
	}
	return int(d.size)
}

// BlockSize returns BlockSize.
func (d *Digest) BlockSize() int { return BlockSize }

// Write absorbs p. It never returns an error.
func (d *Digest) Write(p []byte) (int, error) {
	if d.size == 0 {
		d.Reset()
	}
	n := len(p)
	if d.offset > 0 {
		// The last block must stay buffered for finalization, so flush a
		// full buffer only when more data follows it.
		room := BlockSize - d.offset
		if len(p) <= room {
			d.offset += copy(d.block[d.offset:], p)
			return n, nil
		}
		copy(d.block[d.offset:], p[:room])
		hashBlocks(&d.h, &d.c, 0, d.block[:])
		d.offset = 0
		p = p[room:]
	}
	if len(p) > BlockSize {
		nn := len(p) &^ (BlockSize - 1)
		if nn == len(p) {
			nn -= BlockSize
		}
		hashBlocks(&d.h, &d.c, 0, p[:nn])
		p = p[nn:]
	}
	d.offset += copy(d.block[:], p)
	return n, nil
}

// WriteString absorbs s, like Write.
func (d *Digest) WriteString(s string) (int, error) {
	// Chunked through a stack buffer to avoid a string-to-slice copy on the heap.
	n := len(s)
	var buf [BlockSize]byte
	for len(s) > 0 {
		k := copy(buf[:], s)
		d.Write(buf[:k])
		s = s[k:]
	}
	return n, nil
}

// finish writes the full 32-byte chaining value after the final block into
// out, without changing d.
func (d *Digest) finish(out *[Size]byte) {
	if d.size == 0 {
		d.Reset()
	}
	h, c := d.h, d.c
	var block [BlockSize]byte
	copy(block[:], d.block[:d.offset])
	// The counter counts message bytes; hashBlocks adds a whole block, so
	// take back the padding first.
	pad := uint32(BlockSize - d.offset)
	if c[0] < pad {
		c[1]--
	}
	c[0] -= pad
	hashBlocks(&h, &c, 0xffffffff, block[:])
	for i, v := range h {
		binary.LittleEndian.PutUint32(out[4*i:], v)
	}
}

// SumTo writes the digest into dst[:d.Size()] and zeroes the rest of dst.
// It does not change d, so more data may be written afterwards.
func (d *Digest) SumTo(dst *[Size]byte) {
	d.finish(dst)
	clear(dst[d.Size():])
}

// SumTo128 writes the digest of a 16-byte Digest (BLAKE2s-128) into dst.
// It panics if d.Size() is not Size128: a truncated BLAKE2s-256 is a
// different function.
func (d *Digest) SumTo128(dst *[Size128]byte) {
	if d.Size() != Size128 {
		panic("blake2s: SumTo128 on a digest of size other than 16")
	}
	var out [Size]byte
	d.finish(&out)
	copy(dst[:], out[:Size128])
}

// Sum appends the digest to b and returns the result; it does not change d.
func (d *Digest) Sum(b []byte) []byte {
	var out [Size]byte
	d.finish(&out)
	return append(b, out[:d.Size()]...)
}

// New256 returns a BLAKE2s-256 hash.Hash keyed with key (at most 32 bytes;
// nil or empty means unkeyed).
func New256(key []byte) (hash.Hash, error) {
	d := new(Digest)
	if err := d.Init(Size, key); err != nil {
		return nil, err
	}
	return d, nil
}

// New128 returns a BLAKE2s-128 MAC keyed with key (1..32 bytes). As in
// x/crypto, an unkeyed BLAKE2s-128 is refused: it is not a collision
// resistant hash.
func New128(key []byte) (hash.Hash, error) {
	if len(key) == 0 {
		return nil, errors.New("blake2s: a key is required for a 128-bit hash")
	}
	d := new(Digest)
	if err := d.Init(Size128, key); err != nil {
		return nil, err
	}
	return d, nil
}

// Sum256 returns the BLAKE2s-256 digest of data.
func Sum256(data []byte) (out [Size]byte) {
	sum256(&out, data)
	return out
}

// Sum256To sets dst to the unkeyed BLAKE2s-256 digest of the concatenation
// of data. It does not allocate. This is WireGuard's HASH.
func Sum256To(dst *[Size]byte, data ...[]byte) {
	if len(data) == 1 {
		sum256(dst, data[0])
		return
	}
	var block [BlockSize]byte
	if n, ok := joinShort(&block, data); ok {
		sum256(dst, block[:n])
		return
	}
	var d Digest
	d.init(Size, nil)
	for _, p := range data {
		d.Write(p)
	}
	d.finish(dst)
}

// sum256 sets dst to the BLAKE2s-256 digest of one input without a
// Digest.
func sum256(dst *[Size]byte, data []byte) {
	oneShot(dst, paramWord(Size, 0), nil, data)
}

// paramWord is the first word of the parameter block, which the IV's
// first word is xored with: digest size, key length, fanout 1, depth 1.
func paramWord(size, keyLen int) uint32 {
	return uint32(size) | uint32(keyLen)<<8 | 1<<16 | 1<<24
}

// oneShot computes a hash whose whole input is first (a key block or HMAC
// pad, if not nil) then data, with parameter word param, and
// writes the 32-byte chaining value to dst: every block of data but the
// last straight from data, the last one too when it is whole; only a
// short last block is copied to be padded.
func oneShot(dst *[Size]byte, param uint32, first *[BlockSize]byte, data []byte) {
	if first != nil && len(data) == 0 {
		// BLAKE2 pads no empty block after a key: first is the last.
		finalBlocks(dst, param, nil, nil, first, BlockSize)
		return
	}
	var c0 uint64
	if first != nil {
		c0 = BlockSize
	}
	full := 0
	if len(data) > BlockSize {
		full = (len(data) - 1) &^ (BlockSize - 1)
	}
	n := c0 + uint64(len(data))
	if last := data[full:]; len(last) == BlockSize {
		finalBlocks(dst, param, first, data[:full], (*[BlockSize]byte)(last), n)
	} else {
		var block [BlockSize]byte
		copy(block[:], last)
		finalBlocks(dst, param, first, data[:full], &block, n)
		clear(block[:]) // it may hold secret input (HMAC in the KDF)
	}
}

// joinShort concatenates parts into block when they fit, reporting their
// total length; ok is false when they are longer than a block.
func joinShort(block *[BlockSize]byte, parts [][]byte) (n int, ok bool) {
	for _, p := range parts {
		if n += len(p); n > BlockSize {
			return 0, false
		}
	}
	n = 0
	for _, p := range parts {
		n += copy(block[n:], p)
	}
	return n, true
}

// macShot finishes a keyed hash of size bytes of the concatenation of
// data in one call when data is a single part or fits in a block; it
// reports false, doing nothing, otherwise.
func macShot(out *[Size]byte, size int, key []byte, data [][]byte) bool {
	var joined [BlockSize]byte
	var msg []byte
	if len(data) == 1 {
		msg = data[0]
	} else if n, ok := joinShort(&joined, data); ok {
		msg = joined[:n]
	} else {
		return false
	}
	param := paramWord(size, len(key))
	if len(key) == 0 {
		oneShot(out, param, nil, msg)
		return true
	}
	var kb [BlockSize]byte
	copy(kb[:], key)
	oneShot(out, param, &kb, msg)
	clear(kb[:])
	clear(joined[:])
	return true
}

// MAC128 sets dst to the keyed BLAKE2s-128 of the concatenation of data,
// with key of at most 32 bytes. It does not allocate. This is WireGuard's
// MAC, used for mac1 and mac2 (and x/crypto's New128(key) computes the same).
// It panics if key is longer than 32 bytes.
func MAC128(dst *[Size128]byte, key []byte, data ...[]byte) {
	if len(key) > Size {
		panic("blake2s: MAC128 key longer than 32 bytes")
	}
	var out [Size]byte
	if macShot(&out, Size128, key, data) {
		copy(dst[:], out[:Size128])
		return
	}
	var d Digest
	d.init(Size128, key)
	for _, p := range data {
		d.Write(p)
	}
	d.finish(&out)
	copy(dst[:], out[:Size128])
	clear(d.key[:])
}

// MAC256 sets dst to the keyed BLAKE2s-256 of the concatenation of data,
// with key of at most 32 bytes. It does not allocate. It panics if key is
// longer than 32 bytes.
func MAC256(dst *[Size]byte, key []byte, data ...[]byte) {
	if len(key) > Size {
		panic("blake2s: MAC256 key longer than 32 bytes")
	}
	if macShot(dst, Size, key, data) {
		return
	}
	var d Digest
	d.init(Size, key)
	for _, p := range data {
		d.Write(p)
	}
	d.finish(dst)
	clear(d.key[:])
}

// HMAC sets dst to HMAC-BLAKE2s-256 (RFC 2104 with BLAKE2s-256 and its
// 64-byte block) of the concatenation of data under key, which may have any
// length (keys longer than 64 bytes are hashed first). It does not allocate
// and equals crypto/hmac.New(blake2s.New256-unkeyed, key). This is
// WireGuard's HMAC, the building block of its KDF.
func HMAC(dst *[Size]byte, key []byte, data ...[]byte) {
	var k [BlockSize]byte
	if len(key) > BlockSize {
		var hk [Size]byte
		Sum256To(&hk, key)
		copy(k[:], hk[:])
		clear(hk[:])
	} else {
		copy(k[:], key)
	}

	var pad [BlockSize]byte
	var joined [BlockSize]byte
	var msg []byte
	oneCall := true
	if len(data) == 1 {
		msg = data[0]
	} else if n, ok := joinShort(&joined, data); ok {
		msg = joined[:n]
	} else {
		oneCall = false
	}
	if oneCall {
		// The pads by 8-byte words: the kernel's 4-byte loads of them
		// then forward from single stores (see asm/amd64/_gen/blake2s's
		// msgVec).
		setPad(&pad, &k, 0x3636363636363636)
		var inner [BlockSize]byte // the inner hash, zero-padded
		oneShot((*[Size]byte)(inner[:Size]), paramWord(Size, 0), &pad, msg)
		setPad(&pad, &k, 0x5c5c5c5c5c5c5c5c)
		finalBlocks(dst, paramWord(Size, 0), &pad, nil, &inner, BlockSize+Size)
		clear(k[:])
		clear(pad[:])
		clear(inner[:])
		clear(joined[:])
		return
	}

	setPad(&pad, &k, 0x3636363636363636)
	var d Digest
	d.init(Size, nil)
	d.Write(pad[:])
	for _, p := range data {
		d.Write(p)
	}
	var inner [Size]byte
	d.finish(&inner)

	setPad(&pad, &k, 0x5c5c5c5c5c5c5c5c)
	d.Reset()
	d.Write(pad[:])
	d.Write(inner[:])
	d.finish(dst)

	clear(k[:])
	clear(pad[:])
	clear(inner[:])
}

// setPad sets pad = k xor the byte pattern x, eight bytes at a time.
func setPad(pad, k *[BlockSize]byte, x uint64) {
	for i := 0; i < BlockSize; i += 8 {
		binary.LittleEndian.PutUint64(pad[i:], binary.LittleEndian.Uint64(k[i:])^x)
	}
}
