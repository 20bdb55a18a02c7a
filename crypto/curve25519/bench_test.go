package curve25519

import (
	"crypto/ecdh"
	"testing"

	xc "golang.org/x/crypto/curve25519"
)

// The benchmarks run every usable implementation beside the anchors
// (crypto/ecdh and x/crypto) in the same run; read the ratio, not the
// absolute figure.

var (
	benchScalar = [32]byte{0x77, 0x07, 0x6d, 0x0a, 0x73, 0x18, 0xa5, 0x7d, 0x3c, 0x16, 0xc1, 0x72, 0x51, 0xb2, 0x66, 0x45,
		0xdf, 0x4c, 0x2f, 0x87, 0xeb, 0xc0, 0x99, 0x2a, 0xb1, 0x77, 0xfb, 0xa5, 0x1d, 0xb9, 0x2c, 0x2a}
	benchPoint = [32]byte{0xde, 0x9e, 0xdb, 0x7d, 0x7b, 0x7d, 0xc1, 0xb4, 0xd3, 0x5b, 0x61, 0xc2, 0xec, 0xe4, 0x35, 0x37,
		0x3f, 0x83, 0x43, 0xc8, 0x5b, 0x78, 0x67, 0x4d, 0xad, 0xfc, 0x7e, 0x14, 0x6f, 0x88, 0x2b, 0x4f}
)

func BenchmarkSharedSecret(b *testing.B) {
	b.Run("crypto-ecdh", func(b *testing.B) {
		// What a caller holding a private key as bytes pays: NewPrivateKey
		// (which derives the public key: a second scalar multiplication)
		// and ECDH.
		pub, err := ecdh.X25519().NewPublicKey(benchPoint[:])
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			priv, _ := ecdh.X25519().NewPrivateKey(benchScalar[:])
			if _, err := priv.ECDH(pub); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("crypto-ecdh-ECDH-only", func(b *testing.B) {
		pub, _ := ecdh.X25519().NewPublicKey(benchPoint[:])
		priv, _ := ecdh.X25519().NewPrivateKey(benchScalar[:])
		b.ReportAllocs()
		for b.Loop() {
			if _, err := priv.ECDH(pub); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("x-crypto-X25519", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := xc.X25519(benchScalar[:], benchPoint[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, impl := range Implementations() {
		b.Run(impl, func(b *testing.B) {
			restore, _ := UseImplementation(impl)
			defer restore()
			b.ReportAllocs()
			var dst [32]byte
			for b.Loop() {
				if err := SharedSecret(&dst, &benchScalar, &benchPoint); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPublicKey(b *testing.B) {
	b.Run("crypto-ecdh", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			priv, _ := ecdh.X25519().NewPrivateKey(benchScalar[:])
			_ = priv.PublicKey().Bytes()
		}
	})
	b.Run("x-crypto-X25519-Basepoint", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			xc.X25519(benchScalar[:], xc.Basepoint)
		}
	})
	for _, impl := range Implementations() {
		b.Run(impl, func(b *testing.B) {
			restore, _ := UseImplementation(impl)
			defer restore()
			b.ReportAllocs()
			var dst [32]byte
			for b.Loop() {
				PublicKey(&dst, &benchScalar)
			}
		})
		b.Run(impl+"-ladder", func(b *testing.B) {
			b.ReportAllocs()
			var dst, e [32]byte
			clamp(&e, &benchScalar)
			for b.Loop() {
				scalarBaseMultLadderGeneric(&dst, &e)
			}
		})
	}
}
