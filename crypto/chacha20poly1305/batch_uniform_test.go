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

// TestBatchFours seals and opens batches of four and eight packets of 1 to
// 64 bytes with equal lengths (the shape of amd64's four-packet kernels),
// each under its own key, in place and into separate buffers, with one
// packet of each batch tampered with.
func TestBatchFours(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		r := newRand(13)
		for n := 1; n <= 64; n++ {
			for _, adLen := range []int{0, 1, 13, 16, 17, 32} {
				for _, count := range []int{4, 8} {
					inPlace := r.IntN(2) == 0
					pts, ads, sealed := make([][]byte, count), make([][]byte, count), make([][]byte, count)
					keys := make([][32]byte, count)
					ops := make([]Op, count)
					for i := range ops {
						copy(keys[i][:], randBytes(r, 32))
						pts[i], ads[i] = randBytes(r, n), randBytes(r, adLen)
						nonce := wgNonce(r.Uint64())
						sealed[i] = xSeal(t, keys[i][:], nonce[:], pts[i], ads[i])
						out := make([]byte, n+Overhead)
						in := slices.Clone(pts[i])
						if inPlace {
							copy(out, pts[i])
							in = out[:n]
						}
						ops[i] = Op{Key: &keys[i], Nonce: nonce, AD: ads[i], In: in, Out: out}
					}
					SealBatch(ops)
					for i := range ops {
						if !ops[i].OK || !bytes.Equal(ops[i].Out, sealed[i]) {
							t.Fatalf("n=%d ad=%d op %d of %d (in place %v): SealBatch differs from x/crypto", n, adLen, i, count, inPlace)
						}
					}
					bad := r.IntN(count)
					for i := range ops {
						in := slices.Clone(sealed[i])
						if i == bad {
							j := r.IntN(8 * len(in))
							in[j/8] ^= 1 << (j % 8)
						}
						out := in[:n]
						if !inPlace {
							out = make([]byte, n)
						}
						ops[i].In, ops[i].Out, ops[i].OK = in, out, i == bad
					}
					OpenBatch(ops)
					for i := range ops {
						o := &ops[i]
						switch {
						case o.OK == (i == bad):
							t.Fatalf("n=%d ad=%d op %d of %d: OK = %v, tampered %v", n, adLen, i, count, o.OK, i == bad)
						case o.OK && !bytes.Equal(o.Out, pts[i]):
							t.Fatalf("n=%d ad=%d op %d of %d: wrong plaintext", n, adLen, i, count)
						case !o.OK && !isZero(o.Out):
							t.Fatalf("n=%d ad=%d op %d of %d: failed open not zeroed", n, adLen, i, count)
						}
					}
				}
			}
		}
	})
}
