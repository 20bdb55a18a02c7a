package chacha20poly1305

import (
	"bytes"
	"crypto/rand"
	"testing"
)

func TestKeyFunctions(t *testing.T) {
	var key [KeySize]byte
	var n [NonceSize]byte
	var nx [NonceSizeX]byte
	rand.Read(key[:])
	rand.Read(n[:])
	rand.Read(nx[:])
	pt, ad := []byte("cookie or handshake payload....."), []byte("ad")
	a, _ := New(key[:])
	x, _ := NewX(key[:])
	if got, want := SealKey(nil, &key, &n, pt, ad), a.Seal(nil, n[:], pt, ad); !bytes.Equal(got, want) {
		t.Fatal("SealKey differs from New().Seal")
	}
	ct := XSealKey(nil, &key, &nx, pt, ad)
	if want := x.Seal(nil, nx[:], pt, ad); !bytes.Equal(ct, want) {
		t.Fatal("XSealKey differs from NewX().Seal")
	}
	if got, err := XOpenKey(nil, &key, &nx, ct, ad); err != nil || !bytes.Equal(got, pt) {
		t.Fatal("XOpenKey")
	}
	ct[0] ^= 1
	if _, err := XOpenKey(nil, &key, &nx, ct, ad); err == nil {
		t.Fatal("XOpenKey accepted a forgery")
	}
	if got, err := OpenKey(nil, &key, &n, SealKey(nil, &key, &n, pt, ad), ad); err != nil || !bytes.Equal(got, pt) {
		t.Fatal("OpenKey")
	}
	buf := make([]byte, 0, 64)
	if allocs := testing.AllocsPerRun(100, func() {
		c := XSealKey(buf[:0], &key, &nx, pt, ad)
		XOpenKey(buf[:0], &key, &nx, c, ad)
		SealKey(buf[:0], &key, &n, pt, ad)
	}); allocs != 0 {
		t.Fatalf("%v allocations", allocs)
	}
}
