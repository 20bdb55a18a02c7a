package chacha20poly1305

import (
	"bytes"
	"testing"

	xc "golang.org/x/crypto/chacha20poly1305"
)

// FuzzSealOpen compares every usable implementation with x/crypto: seal,
// open, in place, a tampered bit, and XChaCha20-Poly1305 on the same input.
// It calls the implementations directly, without switching the package.
func FuzzSealOpen(f *testing.F) {
	key := bytes.Repeat([]byte{0x80}, 32)
	f.Add(key, make([]byte, 24), []byte{}, []byte{}, uint16(0))
	f.Add(key, make([]byte, 24), []byte{}, []byte("x"), uint16(1))
	f.Add(key, bytes.Repeat([]byte{0xff}, 24), []byte("header"), bytes.Repeat([]byte{0xff}, 63), uint16(500))
	f.Add(make([]byte, 32), []byte("nonce"), bytes.Repeat([]byte{1}, 17), bytes.Repeat([]byte{2}, 64), uint16(7))
	f.Add(bytes.Repeat([]byte{0xff}, 32), make([]byte, 24), []byte{}, make([]byte, 1420), uint16(0xffff))
	f.Add(key, []byte("0123456789abcdefghijklmn"), []byte("ad"), make([]byte, 129), uint16(3))

	f.Fuzz(func(t *testing.T, keyIn, nonceIn, ad, pt []byte, flip uint16) {
		var key [32]byte
		var xnonce [24]byte
		copy(key[:], keyIn)
		copy(xnonce[:], nonceIn)
		nonce := [12]byte(xnonce[:12])
		n := len(pt)

		ref, _ := xc.New(key[:])
		want := ref.Seal(nil, nonce[:], pt, ad)
		xref, _ := xc.NewX(key[:])
		xwant := xref.Seal(nil, xnonce[:], pt, ad)
		bit := int(flip) % (8 * len(want))
		bad := bytes.Clone(want)
		bad[bit/8] ^= 1 << (bit % 8)

		for _, i := range table.Usable() {
			im := i.Fn
			out := make([]byte, n+Overhead)
			im.seal(key, nonce, out, pt, ad)
			if !bytes.Equal(out, want) {
				t.Fatalf("%s: seal differs from x/crypto", i.Name)
			}
			copy(out, pt)
			im.seal(key, nonce, out, out[:n], ad)
			if !bytes.Equal(out, want) {
				t.Fatalf("%s: in-place seal differs from x/crypto", i.Name)
			}
			if !im.open(key, nonce, out, out, ad) || !bytes.Equal(out[:n], pt) {
				t.Fatalf("%s: in-place open failed", i.Name)
			}
			dec := make([]byte, n)
			if !im.open(key, nonce, dec, want, ad) || !bytes.Equal(dec, pt) {
				t.Fatalf("%s: open failed", i.Name)
			}
			if im.open(key, nonce, dec, bad, ad) || !isZero(dec) {
				t.Fatalf("%s: open accepted bit %d flipped or left output", i.Name, bit)
			}

			var xn [12]byte
			copy(xn[4:], xnonce[16:])
			sub := im.hChaCha20(key, [16]byte(xnonce[:16]))
			im.seal(sub, xn, out, pt, ad)
			if !bytes.Equal(out, xwant) {
				t.Fatalf("%s: XChaCha20-Poly1305 differs from x/crypto", i.Name)
			}

			ops := []Op{{Key: &key, Nonce: nonce, AD: ad, In: want, Out: dec}, {Key: &key, Nonce: nonce, AD: ad, In: bad, Out: make([]byte, n)}}
			im.openBatch(ops)
			if !ops[0].OK || ops[1].OK || !bytes.Equal(dec, pt) {
				t.Fatalf("%s: openBatch OK = %v, %v", i.Name, ops[0].OK, ops[1].OK)
			}
		}
	})
}
