package blake2s

import (
	"fmt"
	"math/rand/v2"
	"testing"

	xb "golang.org/x/crypto/blake2s"
)

// TestMAC128Many checks the batch MAC against x/crypto's New128, message by
// message, for every implementation, over runs of equal and mixed lengths.
func TestMAC128Many(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	forEachImpl(t, func(t *testing.T) {
		for _, kl := range []int{0, 1, 16, 32} {
			for _, count := range []int{0, 1, 2, 3, 7, 8, 9, 16, 17, 40} {
				for _, n := range []int{-1, 0, 1, 4, 60, 63, 64, 65, 116, 128, 148, 200} {
					key := make([]byte, kl)
					for i := range key {
						key[i] = byte(rng.Uint32())
					}
					msgs := make([][]byte, count)
					for i := range msgs {
						l := n
						if l < 0 {
							l = rng.IntN(150)
						}
						msgs[i] = make([]byte, l)
						for j := range msgs[i] {
							msgs[i][j] = byte(rng.Uint32())
						}
					}
					dst := make([][Size128]byte, count)
					MAC128Many(dst, key, msgs)
					for i, m := range msgs {
						var want [Size128]byte
						if kl > 0 {
							h, _ := xb.New128(key)
							h.Write(m)
							copy(want[:], h.Sum(nil))
						} else {
							MAC128(&want, key, m)
						}
						if dst[i] != want {
							t.Fatalf("key %d, %d messages of length %d: message %d: %x, want %x", kl, count, n, i, dst[i], want)
						}
					}
				}
			}
		}
	})
}

func TestMAC128ManyAllocs(t *testing.T) {
	key := make([]byte, 32)
	msgs := make([][]byte, 16)
	for i := range msgs {
		msgs[i] = make([]byte, 116)
	}
	dst := make([][Size128]byte, 16)
	forEachImpl(t, func(t *testing.T) {
		if n := testing.AllocsPerRun(50, func() { MAC128Many(dst, key, msgs) }); n != 0 {
			t.Errorf("%v allocations, want 0", n)
		}
	})
}

// BenchmarkMAC1Batch checks mac1 on 16 handshake initiations (116 bytes
// up to mac1): x/crypto one at a time, as wireguard-go does, against
// MAC128Many. ns/op is per batch of 16.
func BenchmarkMAC1Batch(b *testing.B) {
	const n, count = 116, 16
	key := make([]byte, 32)
	msgs := make([][]byte, count)
	for i := range msgs {
		msgs[i] = make([]byte, n)
		msgs[i][0] = byte(i)
	}
	b.Run(fmt.Sprintf("%dx%d/x-crypto", count, n), func(b *testing.B) {
		b.SetBytes(n * count)
		b.ReportAllocs()
		var out []byte
		for b.Loop() {
			for _, m := range msgs {
				h, _ := xb.New128(key)
				h.Write(m)
				out = h.Sum(out[:0])
			}
		}
	})
	dst := make([][Size128]byte, count)
	for _, impl := range Implementations() {
		b.Run(fmt.Sprintf("%dx%d/%s", count, n, impl), func(b *testing.B) {
			restore, _ := UseImplementation(impl)
			defer restore()
			b.SetBytes(n * count)
			b.ReportAllocs()
			for b.Loop() {
				MAC128Many(dst, key, msgs)
			}
		})
	}
}
