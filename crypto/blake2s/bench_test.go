package blake2s

import (
	"crypto/hmac"
	"fmt"
	"hash"
	"testing"

	xb "golang.org/x/crypto/blake2s"
)

// The benchmarks run every usable implementation beside x/crypto (the
// anchor) in the same run; compare with benchstat or read the ratio.

func BenchmarkSum256(b *testing.B) {
	for _, n := range []int{64, 1024, 8192} {
		data := make([]byte, n)
		b.Run(fmt.Sprintf("%d/x-crypto", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				xb.Sum256(data)
			}
		})
		for _, impl := range Implementations() {
			b.Run(fmt.Sprintf("%d/%s", n, impl), func(b *testing.B) {
				restore, _ := UseImplementation(impl)
				defer restore()
				b.SetBytes(int64(n))
				b.ReportAllocs()
				var out [Size]byte
				for b.Loop() {
					Sum256To(&out, data)
				}
			})
		}
	}
}

func BenchmarkHMAC(b *testing.B) {
	const n = 64
	key := make([]byte, 32)
	data := make([]byte, n)
	b.Run("64/crypto-hmac+x-crypto", func(b *testing.B) {
		b.SetBytes(n)
		b.ReportAllocs()
		var out []byte
		for b.Loop() {
			m := hmac.New(func() hash.Hash { h, _ := xb.New256(nil); return h }, key)
			m.Write(data)
			out = m.Sum(out[:0])
		}
	})
	for _, impl := range Implementations() {
		b.Run("64/"+impl, func(b *testing.B) {
			restore, _ := UseImplementation(impl)
			defer restore()
			b.SetBytes(n)
			b.ReportAllocs()
			var out [Size]byte
			for b.Loop() {
				HMAC(&out, key, data)
			}
		})
	}
}

func BenchmarkMAC128(b *testing.B) {
	const n = 116 // a handshake initiation up to mac1
	key := make([]byte, 32)
	data := make([]byte, n)
	b.Run("116/x-crypto", func(b *testing.B) {
		b.SetBytes(n)
		b.ReportAllocs()
		var out []byte
		for b.Loop() {
			h, _ := xb.New128(key)
			h.Write(data)
			out = h.Sum(out[:0])
		}
	})
	for _, impl := range Implementations() {
		b.Run("116/"+impl, func(b *testing.B) {
			restore, _ := UseImplementation(impl)
			defer restore()
			b.SetBytes(n)
			b.ReportAllocs()
			var out [Size128]byte
			for b.Loop() {
				MAC128(&out, key, data)
			}
		})
	}
}
