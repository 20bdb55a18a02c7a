package chacha20poly1305

import (
	"bytes"
	"slices"
	"testing"
)

// TestBatchUniform seals and opens batches whose packets all have the same
// length and AD length, as a data plane's do, at every length to 200 bytes:
// the multi-buffer path hashes such packets in pairs. Some packets are
// tampered with (so one of a pair fails and the other does not), and odd
// batch sizes leave a packet without a partner.
func TestBatchUniform(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		r := newRand(10)
		keys := []*[32]byte{(*[32]byte)(randBytes(r, 32)), (*[32]byte)(randBytes(r, 32))}
		for n := range 201 {
			adLen := []int{0, 13, 16, 5}[n%4]
			count := 1 + r.IntN(9)
			pts, ads, sealed := make([][]byte, count), make([][]byte, count), make([][]byte, count)
			ops := make([]Op, count)
			for i := range ops {
				pts[i], ads[i] = randBytes(r, n), randBytes(r, adLen)
				key := keys[i%2]
				nonce := wgNonce(r.Uint64())
				sealed[i] = xSeal(t, key[:], nonce[:], pts[i], ads[i])
				slot := make([]byte, n+Overhead)
				copy(slot, pts[i])
				ops[i] = Op{Key: key, Nonce: nonce, AD: ads[i], In: slot[:n], Out: slot}
			}
			SealBatch(ops)
			for i := range ops {
				if !ops[i].OK || !bytes.Equal(ops[i].Out, sealed[i]) {
					t.Fatalf("n=%d ad=%d op %d of %d: SealBatch differs from x/crypto", n, adLen, i, count)
				}
			}
			tampered := make([]bool, count)
			for i := range ops {
				in := slices.Clone(sealed[i])
				if tampered[i] = r.IntN(3) == 0; tampered[i] {
					j := r.IntN(8 * len(in))
					in[j/8] ^= 1 << (j % 8)
				}
				ops[i].In, ops[i].Out, ops[i].OK = in, in[:n], !tampered[i]
			}
			OpenBatch(ops)
			for i := range ops {
				o := &ops[i]
				switch {
				case o.OK == tampered[i]:
					t.Fatalf("n=%d ad=%d op %d of %d: OK = %v, tampered %v", n, adLen, i, count, o.OK, tampered[i])
				case o.OK && !bytes.Equal(o.Out, pts[i]):
					t.Fatalf("n=%d ad=%d op %d of %d: wrong plaintext", n, adLen, i, count)
				case !o.OK && !isZero(o.Out):
					t.Fatalf("n=%d ad=%d op %d of %d: failed open not zeroed", n, adLen, i, count)
				}
			}
		}
	})
}
