package chacha20poly1305

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/wgxdp/wgxdp/internal/cpu/cputest"
	xchacha20 "golang.org/x/crypto/chacha20"
	xc "golang.org/x/crypto/chacha20poly1305"
	xpoly1305 "golang.org/x/crypto/poly1305" //lint:ignore SA1019 a reference for the MAC alone
)

// forEachImpl runs f once per implementation this CPU can run, whatever
// WGXDP_CPU says, with the package switched to it, so that f may call both
// im's functions and the exported API. Subtests must not run in parallel.
func forEachImpl(t *testing.T, f func(t *testing.T, im impl)) {
	t.Helper()
	for _, i := range table.Usable() {
		t.Run(i.Name, func(t *testing.T) {
			restore, err := UseImplementation(i.Name)
			if err != nil {
				t.Fatal(err)
			}
			defer restore()
			f(t, i.Fn)
		})
	}
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// wgNonce is WireGuard's nonce: four zero bytes and a little-endian counter.
func wgNonce(ctr uint64) [NonceSize]byte {
	var n [NonceSize]byte
	for i := range 8 {
		n[4+i] = byte(ctr >> (8 * i))
	}
	return n
}

func xSeal(t testing.TB, key, nonce, pt, ad []byte) []byte {
	a, err := xc.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return a.Seal(nil, nonce, pt, ad)
}

func isZero(b []byte) bool { return !slices.ContainsFunc(b, func(c byte) bool { return c != 0 }) }

type vector struct {
	Name, Kind                       string
	Key, Nonce, AD                   string
	Counter                          uint32
	Plaintext, Ciphertext, Tag       string
	key, nonce, ad, pt, ct, tag, all []byte
}

func loadVectors(t *testing.T) []vector {
	data, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Vectors []vector }
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for i := range doc.Vectors {
		v := &doc.Vectors[i]
		v.key, v.nonce, v.ad = unhex(v.Key), unhex(v.Nonce), unhex(v.AD)
		v.pt, v.ct, v.tag = unhex(v.Plaintext), unhex(v.Ciphertext), unhex(v.Tag)
		v.all = append(slices.Clone(v.ct), v.tag...)
	}
	if len(doc.Vectors) < 6 {
		t.Fatalf("only %d vectors in testdata/vectors.json", len(doc.Vectors))
	}
	return doc.Vectors
}

// TestVectorsReference checks the vector file itself against x/crypto, so
// that a typo in it cannot hide behind a matching bug here.
func TestVectorsReference(t *testing.T) {
	for _, v := range loadVectors(t) {
		var got []byte
		switch v.Kind {
		case "aead":
			got = xSeal(t, v.key, v.nonce, v.pt, v.ad)
		case "xaead":
			a, _ := xc.NewX(v.key)
			got = a.Seal(nil, v.nonce, v.pt, v.ad)
		case "chacha20":
			s, err := xchacha20.NewUnauthenticatedCipher(v.key, v.nonce)
			if err != nil {
				t.Fatal(err)
			}
			s.SetCounter(v.Counter)
			got = make([]byte, len(v.pt))
			s.XORKeyStream(got, v.pt)
		case "poly1305":
			var tag [16]byte
			xpoly1305.Sum(&tag, v.pt, (*[32]byte)(v.key))
			got = tag[:]
		case "hchacha20":
			got, _ = xchacha20.HChaCha20(v.key, v.nonce)
		default:
			t.Fatalf("%s: unknown kind %q", v.Name, v.Kind)
		}
		if !bytes.Equal(got, v.all) {
			t.Errorf("%s: x/crypto gives %x, file says %x", v.Name, got, v.all)
		}
	}
}

func TestVectors(t *testing.T) {
	vs := loadVectors(t)
	forEachImpl(t, func(t *testing.T, im impl) {
		for _, v := range vs {
			switch v.Kind {
			case "aead":
				a, _ := New(v.key)
				testAEADVector(t, v, a)
				// The batch API and the bare impl functions, in place.
				buf := append(slices.Clone(v.pt), make([]byte, Overhead)...)
				ops := []Op{{Key: (*[32]byte)(v.key), Nonce: [12]byte(v.nonce), AD: v.ad, In: buf[:len(v.pt)], Out: buf}}
				SealBatch(ops)
				if !ops[0].OK || !bytes.Equal(buf, v.all) {
					t.Errorf("%s: SealBatch = %v, %x", v.Name, ops[0].OK, buf)
				}
				ops[0].In, ops[0].Out = buf, buf
				OpenBatch(ops)
				if !ops[0].OK || !bytes.Equal(buf[:len(v.pt)], v.pt) {
					t.Errorf("%s: OpenBatch = %v, %x", v.Name, ops[0].OK, buf[:len(v.pt)])
				}
				out := make([]byte, len(v.all))
				im.seal([32]byte(v.key), [12]byte(v.nonce), out, v.pt, v.ad)
				if !bytes.Equal(out, v.all) {
					t.Errorf("%s: seal = %x", v.Name, out)
				}
			case "xaead":
				a, _ := NewX(v.key)
				testAEADVector(t, v, a)
			case "chacha20":
				got := make([]byte, len(v.pt))
				im.xorKeyStream([32]byte(v.key), [12]byte(v.nonce), v.Counter, got, v.pt)
				if !bytes.Equal(got, v.ct) {
					t.Errorf("%s: got %x", v.Name, got)
				}
			case "poly1305":
				if got := im.poly1305([32]byte(v.key), v.pt); !bytes.Equal(got[:], v.tag) {
					t.Errorf("%s: got %x", v.Name, got)
				}
			case "hchacha20":
				if got := im.hChaCha20([32]byte(v.key), [16]byte(v.nonce)); !bytes.Equal(got[:], v.ct) {
					t.Errorf("%s: got %x", v.Name, got)
				}
			}
		}
	})
}

type aeadLike interface {
	Seal(dst, nonce, plaintext, additionalData []byte) []byte
	Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error)
}

func testAEADVector(t *testing.T, v vector, a aeadLike) {
	t.Helper()
	if got := a.Seal(nil, v.nonce, v.pt, v.ad); !bytes.Equal(got, v.all) {
		t.Errorf("%s: Seal = %x", v.Name, got)
	}
	if got, err := a.Open(nil, v.nonce, v.all, v.ad); err != nil || !bytes.Equal(got, v.pt) {
		t.Errorf("%s: Open = %x, %v", v.Name, got, err)
	}
	bad := slices.Clone(v.all)
	bad[len(bad)-1] ^= 0x80
	if _, err := a.Open(nil, v.nonce, bad, v.ad); err == nil {
		t.Errorf("%s: Open accepted a bad tag", v.Name)
	}
}

// checkAEAD compares im with the generic implementation and x/crypto on
// one message: sealing and opening, in place and out of place, and
// tampering with the ciphertext, the tag and the additional data.
func checkAEAD(t *testing.T, im impl, r *rand.Rand, n, adLen int) {
	t.Helper()
	key, nonce := [32]byte(randBytes(r, 32)), [12]byte(randBytes(r, 12))
	if r.IntN(2) == 0 {
		nonce = wgNonce(r.Uint64())
	}
	pt, ad := randBytes(r, n), randBytes(r, adLen)
	want := xSeal(t, key[:], nonce[:], pt, ad)

	gen := make([]byte, n+Overhead)
	sealGeneric(key, nonce, gen, pt, ad)
	if !bytes.Equal(gen, want) {
		t.Fatalf("n=%d ad=%d: generic seal differs from x/crypto\n got %x\nwant %x", n, adLen, gen, want)
	}
	out := make([]byte, n+Overhead)
	im.seal(key, nonce, out, pt, ad)
	if !bytes.Equal(out, want) {
		t.Fatalf("n=%d ad=%d: seal differs from x/crypto\n got %x\nwant %x", n, adLen, out, want)
	}
	buf := make([]byte, n+Overhead)
	copy(buf, pt)
	im.seal(key, nonce, buf, buf[:n], ad)
	if !bytes.Equal(buf, want) {
		t.Fatalf("n=%d ad=%d: in-place seal differs from x/crypto", n, adLen)
	}

	dec := bytes.Repeat([]byte{0xaa}, n)
	if !im.open(key, nonce, dec, want, ad) || !bytes.Equal(dec, pt) {
		t.Fatalf("n=%d ad=%d: open failed or wrong", n, adLen)
	}
	if !im.open(key, nonce, buf, buf, ad) || !bytes.Equal(buf[:n], pt) {
		t.Fatalf("n=%d ad=%d: in-place open failed or wrong", n, adLen)
	}

	// Every tampering must fail and leave the output zeroed.
	tamper := func(what string, ct, ad []byte) {
		t.Helper()
		m := len(ct) - Overhead
		dec := bytes.Repeat([]byte{0xaa}, m)
		if im.open(key, nonce, dec, ct, ad) {
			t.Fatalf("n=%d ad=%d: open accepted a tampered %s", n, adLen, what)
		}
		if !isZero(dec) {
			t.Fatalf("n=%d ad=%d: tampered %s: output not zeroed", n, adLen, what)
		}
		inPlace := slices.Clone(ct)
		if im.open(key, nonce, inPlace, inPlace, ad) || !isZero(inPlace[:m]) {
			t.Fatalf("n=%d ad=%d: tampered %s: in-place open accepted it or left output", n, adLen, what)
		}
	}
	flip := func(b []byte) []byte {
		b = slices.Clone(b)
		i := r.IntN(8 * len(b))
		b[i/8] ^= 1 << (i % 8)
		return b
	}
	if n > 0 {
		bad := slices.Clone(want)
		copy(bad, flip(want[:n]))
		tamper("ciphertext", bad, ad)
	}
	bad := slices.Clone(want)
	copy(bad[n:], flip(want[n:]))
	tamper("tag", bad, ad)
	if adLen > 0 {
		tamper("additional data", want, flip(ad))
	}
	if n > 0 {
		tamper("length", want[:len(want)-1], ad)
	}
}

func TestEveryLength(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		r := newRand(1)
		for n := 0; n <= 2048; n++ {
			checkAEAD(t, im, r, n, []int{0, 1, 12, 16, 31}[n%5])
		}
		for _, n := range []int{0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 1420} {
			for adLen := 0; adLen <= 64; adLen++ {
				checkAEAD(t, im, r, n, adLen)
			}
		}
	})
}

// TestAPI checks the exported AEADs against x/crypto's on every length.
func TestAPI(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		r := newRand(2)
		for n := 0; n <= 600; n++ {
			key := randBytes(r, 32)
			pt, ad := randBytes(r, n), randBytes(r, n%20)
			for _, x := range []bool{false, true} {
				ours, _ := New(key)
				ref, _ := xc.New(key)
				if x {
					ours, _ = NewX(key)
					ref, _ = xc.NewX(key)
				}
				nonce := randBytes(r, ref.NonceSize())
				prefix := randBytes(r, n%3)
				want := ref.Seal(slices.Clone(prefix), nonce, pt, ad)
				got := ours.Seal(slices.Clone(prefix), nonce, pt, ad)
				if !bytes.Equal(got, want) {
					t.Fatalf("x=%v n=%d: Seal differs from x/crypto", x, n)
				}
				// In place, as x/crypto documents: dst = plaintext[:0].
				buf := make([]byte, n, n+Overhead)
				copy(buf, pt)
				if got := ours.Seal(buf[:0], nonce, buf, ad); !bytes.Equal(got, want[len(prefix):]) {
					t.Fatalf("x=%v n=%d: in-place Seal differs", x, n)
				}
				ct := want[len(prefix):]
				if got, err := ours.Open(prefix, nonce, ct, ad); err != nil || !bytes.Equal(got[len(prefix):], pt) || !bytes.Equal(got[:len(prefix)], prefix) {
					t.Fatalf("x=%v n=%d: Open = %v", x, n, err)
				}
				bad := slices.Clone(ct)
				bad[r.IntN(len(bad))] ^= 1
				if _, err := ours.Open(nil, nonce, bad, ad); err == nil {
					t.Fatalf("x=%v n=%d: Open accepted a tampered message", x, n)
				}
			}
		}
	})
}

func TestAPIErrors(t *testing.T) {
	if _, err := New(make([]byte, 31)); err == nil {
		t.Error("New accepted a 31-byte key")
	}
	if _, err := NewX(make([]byte, 33)); err == nil {
		t.Error("NewX accepted a 33-byte key")
	}
	a, _ := New(make([]byte, 32))
	x, _ := NewX(make([]byte, 32))
	if a.NonceSize() != NonceSize || x.NonceSize() != NonceSizeX || a.Overhead() != Overhead || x.Overhead() != Overhead {
		t.Error("wrong NonceSize or Overhead")
	}
	for n := range Overhead {
		if _, err := a.Open(nil, make([]byte, NonceSize), make([]byte, n), nil); err == nil {
			t.Errorf("Open accepted %d bytes", n)
		}
		if _, err := x.Open(nil, make([]byte, NonceSizeX), make([]byte, n), nil); err == nil {
			t.Errorf("X Open accepted %d bytes", n)
		}
	}
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", name)
			}
		}()
		f()
	}
	mustPanic("Seal with a short nonce", func() { a.Seal(nil, make([]byte, 11), nil, nil) })
	mustPanic("X Seal with a short nonce", func() { x.Seal(nil, make([]byte, 12), nil, nil) })
	mustPanic("Open with a long nonce", func() { a.Open(nil, make([]byte, 13), make([]byte, 16), nil) })
	buf := make([]byte, 100)
	mustPanic("Seal with shifted overlap", func() { a.Seal(buf[1:1], make([]byte, 12), buf[:50], nil) })
	mustPanic("Seal over the additional data", func() { a.Seal(buf[:0], make([]byte, 12), nil, buf[:10]) })
}

func TestXorKeyStream(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		r := newRand(3)
		for n := 0; n <= 1100; n++ {
			key, nonce := randBytes(r, 32), randBytes(r, 12)
			ctr := r.Uint32()
			if blocks := uint32((n + 63) / 64); ctr > ^uint32(0)-blocks {
				ctr = ^uint32(0) - blocks // x/crypto allows up to the last block
			}
			if n%7 == 0 {
				ctr = ^uint32(0) - uint32((n+63)/64) + 1
			}
			s, _ := xchacha20.NewUnauthenticatedCipher(key, nonce)
			s.SetCounter(ctr)
			src := randBytes(r, n)
			want := make([]byte, n)
			s.XORKeyStream(want, src)
			got := make([]byte, n)
			im.xorKeyStream([32]byte(key), [12]byte(nonce), ctr, got, src)
			if !bytes.Equal(got, want) {
				t.Fatalf("n=%d ctr=%#x: differs from x/crypto", n, ctr)
			}
			im.xorKeyStream([32]byte(key), [12]byte(nonce), ctr, src, src)
			if !bytes.Equal(src, want) {
				t.Fatalf("n=%d ctr=%#x: in place differs from x/crypto", n, ctr)
			}
		}
	})
}

func TestPoly1305(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		r := newRand(4)
		for i := range 3000 {
			n := i % 300
			key, msg := randBytes(r, 32), randBytes(r, n)
			// Bias towards the edges of the reduction: all-ones keys and
			// messages push h towards 2¹³⁰ − 5.
			switch i % 4 {
			case 1:
				for j := range key {
					key[j] = 0xff
				}
			case 2:
				for j := range msg {
					msg[j] = 0xff
				}
			case 3:
				for j := range key {
					key[j] = 0xff
				}
				for j := range msg {
					msg[j] = 0xff
				}
			}
			var want [16]byte
			xpoly1305.Sum(&want, msg, (*[32]byte)(key))
			if got := im.poly1305([32]byte(key), msg); got != want {
				t.Fatalf("i=%d n=%d: got %x want %x", i, n, got, want)
			}
		}
	})
}

func TestHChaCha20(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		r := newRand(5)
		for range 200 {
			key, nonce := randBytes(r, 32), randBytes(r, 16)
			want, _ := xchacha20.HChaCha20(key, nonce)
			if got := im.hChaCha20([32]byte(key), [16]byte(nonce)); !bytes.Equal(got[:], want) {
				t.Fatalf("key %x nonce %x: got %x want %x", key, nonce, got, want)
			}
		}
	})
}

// batchCase is one op of a random batch with what it should produce.
type batchCase struct {
	key      *[32]byte
	nonce    [12]byte
	pt, ad   []byte
	sealed   []byte
	inPlace  bool
	tampered bool
}

func randomBatch(r *rand.Rand, keys []*[32]byte) []batchCase {
	cases := make([]batchCase, r.IntN(40))
	for i := range cases {
		n := r.IntN(2049)
		switch r.IntN(4) {
		case 0:
			n = 1420
		case 1:
			n = r.IntN(80)
		}
		c := &cases[i]
		c.key = keys[r.IntN(len(keys))]
		c.nonce = wgNonce(r.Uint64())
		c.pt, c.ad = randBytes(r, n), randBytes(r, r.IntN(3)*r.IntN(33))
		c.inPlace = r.IntN(3) != 0
		c.tampered = r.IntN(4) == 0
	}
	return cases
}

func TestBatch(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		r := newRand(6)
		keys := []*[32]byte{(*[32]byte)(randBytes(r, 32)), (*[32]byte)(randBytes(r, 32)), (*[32]byte)(randBytes(r, 32))}
		for round := range 60 {
			cases := randomBatch(r, keys)
			ops := make([]Op, len(cases))
			for i, c := range cases {
				n := len(c.pt)
				o := &ops[i]
				o.Key, o.Nonce, o.AD = c.key, c.nonce, c.ad
				if c.inPlace {
					// A slot with tailroom beyond the tag.
					slot := make([]byte, n+Overhead+r.IntN(32))
					copy(slot, c.pt)
					o.In, o.Out = slot[:n], slot
				} else {
					o.In, o.Out = slices.Clone(c.pt), make([]byte, n+Overhead)
				}
			}
			SealBatch(ops)
			for i := range ops {
				c, o := &cases[i], &ops[i]
				c.sealed = xSeal(t, c.key[:], c.nonce[:], c.pt, c.ad)
				if !o.OK || !bytes.Equal(o.Out[:len(c.sealed)], c.sealed) {
					t.Fatalf("round %d op %d (n=%d, in place %v): SealBatch differs from Seal", round, i, len(c.pt), c.inPlace)
				}
			}

			for i, c := range cases {
				n := len(c.pt)
				in := slices.Clone(c.sealed)
				if c.tampered {
					j := r.IntN(8 * len(in))
					in[j/8] ^= 1 << (j % 8)
				}
				o := &ops[i]
				o.OK = !c.tampered // must be overwritten
				if c.inPlace {
					o.In, o.Out = in, in
				} else {
					o.In, o.Out = in, bytes.Repeat([]byte{0xaa}, n+r.IntN(8))
				}
			}
			OpenBatch(ops)
			for i, c := range cases {
				o, n := &ops[i], len(c.pt)
				switch {
				case o.OK == c.tampered:
					t.Fatalf("round %d op %d (n=%d): OK = %v, tampered = %v", round, i, n, o.OK, c.tampered)
				case o.OK && !bytes.Equal(o.Out[:n], c.pt):
					t.Fatalf("round %d op %d (n=%d): wrong plaintext", round, i, n)
				case !o.OK && !isZero(o.Out[:n]):
					t.Fatalf("round %d op %d (n=%d): failed open not zeroed", round, i, n)
				}
			}
		}
		SealBatch(nil)
		OpenBatch(nil)
	})
}

// TestBatchMalformed checks that ops the batch functions cannot do fail
// alone, without a panic and without touching Out.
func TestBatchMalformed(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		key := new([32]byte)
		buf := make([]byte, 256)
		for i := range buf {
			buf[i] = byte(i)
		}
		good := func() Op { return Op{Key: key, In: make([]byte, 40), Out: make([]byte, 56)} }
		// Names say which call the op is malformed for: "seal:", "open:" or both.
		bad := map[string]Op{
			"nil key":           {In: make([]byte, 40), Out: make([]byte, 56)},
			"shifted overlap":   {Key: key, In: buf[:40], Out: buf[1:]},
			"seal: short out":   {Key: key, In: make([]byte, 40), Out: bytes.Repeat([]byte{7}, 55)},
			"seal: out over ad": {Key: key, In: make([]byte, 40), Out: buf[:56], AD: buf[50:60]},
			"open: out over ad": {Key: key, In: make([]byte, 40), Out: buf[:24], AD: buf[20:30]},
			"open: short in":    {Key: key, In: make([]byte, 15), Out: bytes.Repeat([]byte{7}, 15)},
			"open: empty in":    {Key: key},
			"open: short out":   {Key: key, In: make([]byte, 40), Out: bytes.Repeat([]byte{7}, 23)},
			"open: shifted out": {Key: key, In: buf[8:48], Out: buf[:24]},
		}
		for name, op := range bad {
			for _, seal := range []bool{true, false} {
				if seal && strings.HasPrefix(name, "open:") || !seal && strings.HasPrefix(name, "seal:") {
					continue
				}
				before := slices.Clone(op.Out)
				bufBefore := slices.Clone(buf)
				ops := []Op{good(), op, good()}
				ops[1].OK = true
				if seal {
					SealBatch(ops)
				} else {
					if len(ops[0].In) >= Overhead {
						ops[0].In = xSeal(t, key[:], make([]byte, 12), make([]byte, 24), nil)
						ops[2].In = ops[0].In
					}
					OpenBatch(ops)
				}
				if ops[1].OK {
					t.Errorf("%s (seal %v): OK", name, seal)
				}
				if !ops[0].OK || !ops[2].OK {
					t.Errorf("%s (seal %v): the good ops beside it failed", name, seal)
				}
				if !bytes.Equal(op.Out, before) || !bytes.Equal(buf, bufBefore) {
					t.Errorf("%s (seal %v): Out was written", name, seal)
				}
			}
		}
	})
}

func TestAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	forEachImpl(t, func(t *testing.T, im impl) {
		r := newRand(7)
		key := randBytes(r, 32)
		a, _ := New(key)
		x, _ := NewX(key)
		nonce, xnonce := randBytes(r, 12), randBytes(r, 24)
		pt, ad := randBytes(r, 1420), randBytes(r, 8)
		dst := make([]byte, 0, 1420+Overhead)
		ct := a.Seal(nil, nonce, pt, ad)
		xct := x.Seal(nil, xnonce, pt, ad)
		ops := make([]Op, 16)
		for i := range ops {
			slot := make([]byte, 1420+Overhead)
			ops[i] = Op{Key: (*[32]byte)(key), Nonce: wgNonce(uint64(i)), In: slot[:1420], Out: slot}
		}
		sealed := xSeal(t, key, nonce, pt, nil)
		openOps := make([]Op, 16)
		for i := range openOps {
			openOps[i] = Op{Key: (*[32]byte)(key), Nonce: [12]byte(nonce), In: sealed, Out: make([]byte, 1420)}
		}
		openOps[3].In = ct // wrong AD: fails, and must not allocate either
		// 64-byte packets take amd64's four-packet kernels.
		ops64, openOps64 := make([]Op, 16), make([]Op, 16)
		sealed64 := xSeal(t, key, nonce, pt[:64], nil)
		for i := range ops64 {
			slot := make([]byte, 64+Overhead)
			ops64[i] = Op{Key: (*[32]byte)(key), Nonce: wgNonce(uint64(i)), In: slot[:64], Out: slot}
			openOps64[i] = Op{Key: (*[32]byte)(key), Nonce: [12]byte(nonce), In: sealed64, Out: make([]byte, 64)}
		}
		openOps64[5].In = ct[:64+Overhead] // fails
		for name, f := range map[string]func(){
			"Seal":         func() { a.Seal(dst[:0], nonce, pt, ad) },
			"Open":         func() { a.Open(dst[:0], nonce, ct, ad) },
			"Open (bad)":   func() { a.Open(dst[:0], nonce, ct, nil) },
			"XSeal":        func() { x.Seal(dst[:0], xnonce, pt, ad) },
			"XOpen":        func() { x.Open(dst[:0], xnonce, xct, ad) },
			"SealBatch":    func() { SealBatch(ops) },
			"OpenBatch":    func() { OpenBatch(openOps) },
			"SealBatch 64": func() { SealBatch(ops64) },
			"OpenBatch 64": func() { OpenBatch(openOps64) },
		} {
			if n := testing.AllocsPerRun(20, f); n != 0 {
				t.Errorf("%s: %v allocations", name, n)
			}
		}
	})
}

func TestDispatch(t *testing.T) {
	if got, want := Active(), table.Select().Name; got != want {
		t.Errorf("Active() = %q, table.Select() = %q", got, want)
	}
	cputest.CheckSwitching(t, Implementations, Active, UseImplementation)
	for _, i := range table.All() {
		f := i.Fn
		if f.seal == nil || f.open == nil || f.sealBatch == nil || f.openBatch == nil ||
			f.xorKeyStream == nil || f.poly1305 == nil || f.hChaCha20 == nil {
			t.Errorf("%s: a nil function in its table entry", i.Name)
		}
	}
}
