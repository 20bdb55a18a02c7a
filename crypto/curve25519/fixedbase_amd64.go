//go:build amd64 && gc && !purego

package curve25519

import (
	"math/bits"
	"sync"

	"github.com/wgxdp/wgxdp/asm/amd64"
)

// Fixed-base multiplication for the BMI2/ADX implementation, the method of
// ed25519's ref10 (ge_scalarmult_base): the clamped scalar is recoded into
// 64 signed radix-16 digits, k·B is summed on edwards25519 from a table of
// small multiples of 256^i·B (one mixed addition per digit, four
// doublings), and the result is mapped to the Montgomery u-coordinate with
// the birational map u = (1+y)/(1-y) = (Z+Y)/(Z-Y) of RFC 7748 section 4.1.
// Table entries are picked by scanning all eight with masks, so neither a
// branch nor a memory index depends on the scalar.

var (
	// edD2 is 2·d, d = -121665/121666, edwards25519's curve constant.
	edD2 = fe64{0xebd69b9426b2f159, 0x00e0149a8283b156, 0x198e80f2eef3d130, 0x2406d9dc56dffce7}
	// edBx, edBy are the affine coordinates of the base point (y = 4/5),
	// which maps to u = 9.
	edBx = fe64{0xc9562d608f25d51a, 0x692cc7609525a7b2, 0xc0a4e231fdd6dc5c, 0x216936d3cd6e53fe}
	edBy = fe64{0x6666666666666658, 0x6666666666666666, 0x6666666666666666, 0x6666666666666666}
	// fieldP is 2^255 - 19.
	fieldP = fe64{0xffffffffffffffed, 0xffffffffffffffff, 0xffffffffffffffff, 0x7fffffffffffffff}
)

// niels is an affine point as (y+x, y-x, 2d·x·y), canonical limbs.
type niels = [12]uint64

// edPoint is a point in extended coordinates (X, Y, Z, T), x = X/Z,
// y = Y/Z, T = XY/Z.
type edPoint = [16]uint64

// baseTable[i][j] = (j+1)·256^i·B. It is built on first use (about a
// millisecond) rather than at start, so programs that never make a key do
// not pay for it.
var (
	baseTable     [32][8]niels
	baseTableOnce sync.Once
)

func initBaseTable() {
	var q niels // 256^i·B
	var x, y fe64 = edBx, edBy
	toNiels(&q, &x, &y)
	for i := range baseTable {
		var r edPoint
		r[4], r[8] = 1, 1 // the identity
		for j := range baseTable[i] {
			amd64.X25519EdMadd(&r, &q)
			var zi fe64
			invert64(&zi, (*fe64)(r[8:12]))
			amd64.X25519Mul(&x, (*fe64)(r[0:4]), &zi)
			amd64.X25519Mul(&y, (*fe64)(r[4:8]), &zi)
			toNiels(&baseTable[i][j], &x, &y)
		}
		// q = 256·q: double the first entry eight times.
		var p edPoint
		p[4], p[8] = 1, 1
		amd64.X25519EdMadd(&p, &q)
		for range 8 {
			amd64.X25519EdDouble(&p)
		}
		var zi fe64
		invert64(&zi, (*fe64)(p[8:12]))
		amd64.X25519Mul(&x, (*fe64)(p[0:4]), &zi)
		amd64.X25519Mul(&y, (*fe64)(p[4:8]), &zi)
		toNiels(&q, &x, &y)
	}
}

// toNiels sets q to the niels form of the affine point (x, y).
func toNiels(q *niels, x, y *fe64) {
	reduce64(x)
	reduce64(y)
	add64(q4(q, 0), y, x)
	sub64(q4(q, 1), y, x)
	amd64.X25519Mul(q4(q, 2), x, y)
	amd64.X25519Mul(q4(q, 2), q4(q, 2), &edD2)
	reduce64(q4(q, 2))
}

func q4(q *niels, i int) *fe64 { return (*fe64)(q[4*i : 4*i+4]) }

// add64 sets v = a + b mod p for canonical a, b; v is canonical.
func add64(v, a, b *fe64) {
	var c uint64
	v[0], c = bits.Add64(a[0], b[0], 0)
	v[1], c = bits.Add64(a[1], b[1], c)
	v[2], c = bits.Add64(a[2], b[2], c)
	v[3], _ = bits.Add64(a[3], b[3], c)
	reduce64(v)
}

// sub64 sets v = a - b mod p for canonical a, b; v is canonical.
func sub64(v, a, b *fe64) {
	var c uint64
	v[0], c = bits.Sub64(a[0], b[0], 0)
	v[1], c = bits.Sub64(a[1], b[1], c)
	v[2], c = bits.Sub64(a[2], b[2], c)
	v[3], c = bits.Sub64(a[3], b[3], c)
	m := -c
	v[0], c = bits.Add64(v[0], fieldP[0]&m, 0)
	v[1], c = bits.Add64(v[1], fieldP[1]&m, c)
	v[2], c = bits.Add64(v[2], fieldP[2]&m, c)
	v[3], _ = bits.Add64(v[3], fieldP[3]&m, c)
}

// selectNiels sets q = e·(the point of tab[0]) for -8 ≤ e ≤ 8, in constant
// time (the table scan is in assembly, with AVX2 masks).
func selectNiels(q *niels, tab *[8]niels, e int8) {
	neg := uint64(int64(e) >> 63) // all ones when e < 0
	abs := (uint64(int64(e)) ^ neg) - neg
	amd64.X25519EdSelect(q, tab, abs)
	// -(x, y) = (-x, y): swap y+x and y-x, negate 2dxy.
	for k := 0; k < 4; k++ {
		t := neg & (q[k] ^ q[4+k])
		q[k] ^= t
		q[4+k] ^= t
	}
	var n fe64
	sub64(&n, &fe64{}, q4(q, 2))
	for k := 0; k < 4; k++ {
		q[8+k] ^= neg & (q[8+k] ^ n[k])
	}
}

// scalarBaseMultADX sets dst = scalar·9 for a clamped scalar.
func scalarBaseMultADX(dst, scalar *[32]byte) {
	baseTableOnce.Do(initBaseTable)

	// Signed radix-16 digits, -8 ≤ e[i] < 8 (e[63] ≤ 8).
	var e [64]int8
	for i, b := range scalar {
		e[2*i] = int8(b & 15)
		e[2*i+1] = int8(b >> 4)
	}
	var carry int8
	for i := 0; i < 63; i++ {
		e[i] += carry
		carry = (e[i] + 8) >> 4
		e[i] -= carry << 4
	}
	e[63] += carry

	var p edPoint
	p[4], p[8] = 1, 1
	var q niels
	for i := 1; i < 64; i += 2 {
		selectNiels(&q, &baseTable[i/2], e[i])
		amd64.X25519EdMadd(&p, &q)
	}
	for range 4 {
		amd64.X25519EdDouble(&p)
	}
	for i := 0; i < 64; i += 2 {
		selectNiels(&q, &baseTable[i/2], e[i])
		amd64.X25519EdMadd(&p, &q)
	}
	clear(e[:])
	clear(q[:])

	// u = (Z+Y)/(Z-Y).
	y, z := (*fe64)(p[4:8]), (*fe64)(p[8:12])
	reduce64(y)
	reduce64(z)
	var num, den fe64
	add64(&num, z, y)
	sub64(&den, z, y)
	invert64(&den, &den)
	amd64.X25519Mul(&num, &num, &den)
	bytes64(dst, &num)
}
