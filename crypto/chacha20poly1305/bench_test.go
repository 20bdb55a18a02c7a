package chacha20poly1305

import (
	"crypto/cipher"
	"fmt"
	"testing"

	xc "golang.org/x/crypto/chacha20poly1305"
)

// Every benchmark runs each usable implementation and then x/crypto
// ("xcrypto") on the same input, so one run gives the ratio.

var benchSizes = []int{64, 128, 256, 512, 1420, 4096, 16384}

// benchEach runs f as a sub-benchmark per implementation, with the package
// switched to it, and then once with the x/crypto constructor.
func benchEach(b *testing.B, f func(b *testing.B, newAEAD func([]byte) (cipher.AEAD, error))) {
	for _, name := range Implementations() {
		b.Run(name, func(b *testing.B) {
			restore, err := UseImplementation(name)
			if err != nil {
				b.Fatal(err)
			}
			defer restore()
			f(b, New)
		})
	}
	b.Run("xcrypto", func(b *testing.B) { f(b, xc.New) })
}

var benchKey = [32]byte{1, 2, 3, 4, 5, 6, 7, 8, 9}

func BenchmarkSeal(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			benchEach(b, func(b *testing.B, newAEAD func([]byte) (cipher.AEAD, error)) {
				a, _ := newAEAD(benchKey[:])
				buf := make([]byte, n+Overhead)
				nonce := wgNonce(0)
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					a.Seal(buf[:0], nonce[:], buf[:n], nil) // in place
				}
			})
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			benchEach(b, func(b *testing.B, newAEAD func([]byte) (cipher.AEAD, error)) {
				a, _ := newAEAD(benchKey[:])
				nonce := wgNonce(0)
				ct := a.Seal(nil, nonce[:], make([]byte, n), nil)
				out := make([]byte, n)
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := a.Open(out[:0], nonce[:], ct, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkSealBatch seals 16 packets in place under four keys: SealBatch
// for our implementations, a loop of Seal calls for x/crypto.
func BenchmarkSealBatch(b *testing.B) {
	for _, n := range []int{64, 1420} {
		b.Run(fmt.Sprintf("16x%d", n), func(b *testing.B) {
			const batch = 16
			keys := make([][32]byte, 4)
			for i := range keys {
				keys[i] = benchKey
				keys[i][31] = byte(i)
			}
			ops := make([]Op, batch)
			for i := range ops {
				slot := make([]byte, n+Overhead)
				ops[i] = Op{Key: &keys[i%len(keys)], Nonce: wgNonce(uint64(i)), In: slot[:n], Out: slot}
			}
			for _, name := range Implementations() {
				b.Run(name, func(b *testing.B) {
					restore, err := UseImplementation(name)
					if err != nil {
						b.Fatal(err)
					}
					defer restore()
					b.SetBytes(batch * int64(n))
					b.ReportAllocs()
					for b.Loop() {
						SealBatch(ops)
					}
				})
			}
			b.Run("xcrypto", func(b *testing.B) {
				aeads := make([]cipher.AEAD, len(keys))
				for i := range keys {
					aeads[i], _ = xc.New(keys[i][:])
				}
				b.SetBytes(batch * int64(n))
				b.ReportAllocs()
				for b.Loop() {
					for i := range ops {
						o := &ops[i]
						aeads[i%len(keys)].Seal(o.Out[:0], o.Nonce[:], o.In, nil)
					}
				}
			})
		})
	}
}

func BenchmarkXSeal(b *testing.B) {
	for _, n := range []int{64} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			f := func(b *testing.B, newAEAD func([]byte) (cipher.AEAD, error)) {
				a, _ := newAEAD(benchKey[:])
				buf := make([]byte, n+Overhead)
				nonce := make([]byte, NonceSizeX)
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					a.Seal(buf[:0], nonce, buf[:n], nil)
				}
			}
			for _, name := range Implementations() {
				b.Run(name, func(b *testing.B) {
					restore, err := UseImplementation(name)
					if err != nil {
						b.Fatal(err)
					}
					defer restore()
					f(b, NewX)
				})
			}
			b.Run("xcrypto", func(b *testing.B) { f(b, xc.NewX) })
		})
	}
}
