package blake2s

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"encoding/hex"
	"hash"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	xb "golang.org/x/crypto/blake2s"

	"github.com/wgxdp/wgxdp/internal/cpu/cputest"
)

// forEachImpl runs f once per implementation this CPU can run.
func forEachImpl(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, i := range table.Usable() {
		t.Run(i.Name, func(t *testing.T) {
			restore, err := UseImplementation(i.Name)
			if err != nil {
				t.Fatal(err)
			}
			defer restore()
			f(t)
		})
	}
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readVectors(t *testing.T, name string) map[string]string {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("%s: bad line %q", name, line)
		}
		m[k] = v
	}
	return m
}

// selftestSeq is the deterministic input generator of RFC 7693 Appendix E.
func selftestSeq(out []byte, seed uint32) {
	a := 0xDEAD4BAD * seed
	b := uint32(1)
	for i := range out {
		t := a + b
		a, b = b, t
		out[i] = byte(t >> 24)
	}
}

func TestRFC7693(t *testing.T) {
	v := readVectors(t, "rfc7693.txt")
	forEachImpl(t, func(t *testing.T) {
		if got := Sum256([]byte("abc")); !bytes.Equal(got[:], unhex(t, v["abc"])) {
			t.Errorf("BLAKE2s-256(abc) = %x, want %s", got, v["abc"])
		}

		var grand Digest
		grand.Init(Size, nil)
		var in [1024]byte
		var key [32]byte
		for _, outlen := range []int{16, 20, 28, 32} {
			for _, inlen := range []int{0, 3, 64, 65, 255, 1024} {
				selftestSeq(in[:inlen], uint32(inlen))
				var d Digest
				if err := d.Init(outlen, nil); err != nil {
					t.Fatal(err)
				}
				d.Write(in[:inlen])
				grand.Write(d.Sum(nil))

				selftestSeq(key[:outlen], uint32(outlen))
				if err := d.Init(outlen, key[:outlen]); err != nil {
					t.Fatal(err)
				}
				d.Write(in[:inlen])
				grand.Write(d.Sum(nil))
			}
		}
		if got := grand.Sum(nil); !bytes.Equal(got, unhex(t, v["selftest"])) {
			t.Errorf("RFC 7693 self-test grand hash = %x, want %s", got, v["selftest"])
		}
	})
}

// TestKAT checks the keyed BLAKE2s-256 known answers of the BLAKE2 reference
// (blake2s-kat.txt: key 00..1f, input 00.. of length 0..255). The file is
// also checked against x/crypto, so a transcription error cannot hide.
func TestKAT(t *testing.T) {
	data, err := os.ReadFile("testdata/blake2s-kat.txt")
	if err != nil {
		t.Fatal(err)
	}
	type kat struct{ in, key, hash []byte }
	var kats []kat
	for _, rec := range strings.Split(strings.TrimSpace(string(data)), "\n\n") {
		var k kat
		for _, line := range strings.Split(rec, "\n") {
			name, val, _ := strings.Cut(line, ":\t")
			switch name {
			case "in":
				k.in = unhex(t, val)
			case "key":
				k.key = unhex(t, val)
			case "hash":
				k.hash = unhex(t, val)
			default:
				t.Fatalf("bad KAT line %q", line)
			}
		}
		kats = append(kats, k)
	}
	if len(kats) != 256 {
		t.Fatalf("%d KAT records, want 256", len(kats))
	}
	// Spot checks against the reference file as published.
	if hex.EncodeToString(kats[0].hash) != "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49" ||
		hex.EncodeToString(kats[255].hash) != "3fb735061abc519dfe979e54c1ee5bfad0a9d858b3315bad34bde999efd724dd" {
		t.Fatal("KAT file does not match the BLAKE2 reference")
	}
	for i, k := range kats {
		if len(k.in) != i {
			t.Fatalf("KAT %d: input length %d", i, len(k.in))
		}
		x, _ := xb.New256(k.key)
		x.Write(k.in)
		if !bytes.Equal(x.Sum(nil), k.hash) {
			t.Fatalf("KAT %d: x/crypto disagrees with the file", i)
		}
	}
	forEachImpl(t, func(t *testing.T) {
		for i, k := range kats {
			h, err := New256(k.key)
			if err != nil {
				t.Fatal(err)
			}
			h.Write(k.in)
			if got := h.Sum(nil); !bytes.Equal(got, k.hash) {
				t.Errorf("KAT %d: got %x, want %x", i, got, k.hash)
			}
			var d Digest
			d.Init(Size, k.key)
			d.Write(k.in)
			var out [Size]byte
			d.SumTo(&out)
			if !bytes.Equal(out[:], k.hash) {
				t.Errorf("KAT %d: Digest.SumTo got %x", i, out)
			}
		}
	})
}

// writeSplit writes p into h in chunks whose sizes cycle through sizes.
func writeSplit(h hash.Hash, p []byte, sizes []int) {
	for i := 0; len(p) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(p))
		h.Write(p[:n])
		p = p[n:]
	}
}

var splits = [][]int{{1}, {3, 61}, {63}, {64}, {65}, {64, 1}, {127, 2, 200}, {1 << 20}}

func testLengths() []int {
	var ls []int
	for n := 0; n <= 1024; n++ {
		ls = append(ls, n)
	}
	return append(ls, 1535, 1536, 1537, 4095, 4096, 4097, 65535, 65536, 65600, 100_000)
}

func TestDifferential(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lengths := testLengths()
	buf := make([]byte, lengths[len(lengths)-1])
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	key32 := buf[:32]
	forEachImpl(t, func(t *testing.T) {
		for _, n := range lengths {
			data := buf[len(buf)-n:] // shifting start varies alignment too
			key := key32[:1+n%32]

			want := xb.Sum256(data)
			if got := Sum256(data); got != want {
				t.Fatalf("Sum256 len %d: got %x want %x", n, got, want)
			}
			var got [Size]byte
			Sum256To(&got, data[:n/3], data[n/3:n/2], data[n/2:])
			if got != want {
				t.Fatalf("Sum256To(3 parts) len %d: got %x want %x", n, got, want)
			}

			xk, _ := xb.New256(key)
			xk.Write(data)
			wantK := xk.Sum(nil)
			x128, _ := xb.New128(key)
			x128.Write(data)
			want128 := x128.Sum(nil)

			var mac [Size128]byte
			MAC128(&mac, key, data[:n/2], data[n/2:])
			if !bytes.Equal(mac[:], want128) {
				t.Fatalf("MAC128 len %d key %d: got %x want %x", n, len(key), mac, want128)
			}
			var mac256 [Size]byte
			MAC256(&mac256, key, data)
			if !bytes.Equal(mac256[:], wantK) {
				t.Fatalf("MAC256 len %d: got %x want %x", n, mac256, wantK)
			}

			if n > 1200 && n%7 != 0 {
				continue // split writes on the long inputs are slow and add little
			}
			for _, sp := range splits {
				h, _ := New256(nil)
				writeSplit(h, data, sp)
				if !bytes.Equal(h.Sum(nil), want[:]) {
					t.Fatalf("New256 len %d split %v", n, sp)
				}
				h, _ = New256(key)
				writeSplit(h, data, sp)
				if !bytes.Equal(h.Sum(nil), wantK) {
					t.Fatalf("New256(key) len %d split %v", n, sp)
				}
				h, _ = New128(key)
				writeSplit(h, data, sp)
				if !bytes.Equal(h.Sum(nil), want128) {
					t.Fatalf("New128 len %d split %v", n, sp)
				}
			}
		}
	})
}

func TestHMAC(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	buf := make([]byte, 4096)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	newX := func() hash.Hash { h, _ := xb.New256(nil); return h }
	forEachImpl(t, func(t *testing.T) {
		for _, kl := range []int{0, 1, 16, 31, 32, 33, 63, 64, 65, 100, 128, 200} {
			for _, n := range []int{0, 1, 32, 55, 63, 64, 65, 127, 128, 129, 1000, 4096} {
				key, data := buf[:kl], buf[len(buf)-n:]
				m := hmac.New(newX, key)
				m.Write(data)
				want := m.Sum(nil)
				var got [Size]byte
				HMAC(&got, key, data[:n/2], data[n/2:])
				if !bytes.Equal(got[:], want) {
					t.Fatalf("HMAC key %d data %d: got %x want %x", kl, n, got, want)
				}
				// crypto/hmac over our own hash.Hash agrees as well.
				m = hmac.New(func() hash.Hash { h, _ := New256(nil); return h }, key)
				m.Write(data)
				if !bytes.Equal(m.Sum(nil), want) {
					t.Fatalf("crypto/hmac over New256, key %d data %d", kl, n)
				}
			}
		}
	})
}

func TestDigest(t *testing.T) {
	// The zero value is unkeyed BLAKE2s-256.
	var d Digest
	d.Write([]byte("ab"))
	d.Write([]byte("c"))
	if got, want := d.Sum(nil), xb.Sum256([]byte("abc")); !bytes.Equal(got, want[:]) {
		t.Errorf("zero Digest: got %x want %x", got, want)
	}
	// Sum does not change the state.
	d.Write([]byte("d"))
	if got, want := d.Sum(nil), xb.Sum256([]byte("abcd")); !bytes.Equal(got, want[:]) {
		t.Errorf("write after Sum: got %x want %x", got, want)
	}
	// Reset keeps size and key.
	key := []byte("a key of some length")
	if err := d.Init(Size128, key); err != nil {
		t.Fatal(err)
	}
	d.Write([]byte("junk"))
	d.Reset()
	d.Write([]byte("msg"))
	var got [Size128]byte
	d.SumTo128(&got)
	x, _ := xb.New128(key)
	x.Write([]byte("msg"))
	if !bytes.Equal(got[:], x.Sum(nil)) {
		t.Errorf("Reset keyed: got %x want %x", got, x.Sum(nil))
	}
	var full [Size]byte
	for i := range full {
		full[i] = 0xff
	}
	d.SumTo(&full)
	if !bytes.Equal(full[:Size128], got[:]) || !bytes.Equal(full[Size128:], make([]byte, Size-Size128)) {
		t.Errorf("SumTo on a 16-byte digest: %x", full)
	}
	if d.Size() != Size128 || d.BlockSize() != BlockSize {
		t.Errorf("Size %d BlockSize %d", d.Size(), d.BlockSize())
	}
	d.WriteString("more")
	x.Write([]byte("more"))
	if !bytes.Equal(d.Sum(nil), x.Sum(nil)) {
		t.Error("WriteString")
	}

	for _, c := range []struct {
		size int
		key  int
		ok   bool
	}{{0, 0, false}, {1, 0, true}, {32, 32, true}, {33, 0, false}, {32, 33, false}} {
		err := d.Init(c.size, make([]byte, c.key))
		if (err == nil) != c.ok {
			t.Errorf("Init(%d, %d bytes): err %v", c.size, c.key, err)
		}
	}
	if _, err := New256(make([]byte, 33)); err == nil {
		t.Error("New256 with a 33-byte key succeeded")
	}
	if _, err := New128(nil); err == nil {
		t.Error("New128 without a key succeeded")
	}
	if _, err := New128(make([]byte, 33)); err == nil {
		t.Error("New128 with a 33-byte key succeeded")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("MAC128 with a 33-byte key did not panic")
			}
		}()
		MAC128(&got, make([]byte, 33))
	}()
}

// TestHashBlocksMany checks the many-message kernel against hashBlocks, lane
// by lane, for every implementation.
func TestHashBlocksMany(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, impl := range table.Usable() {
		for _, lanes := range []int{1, 2, 4, 8, 16} {
			for _, nblocks := range []int{1, 2, 5} {
				h := make([][8]uint32, lanes)
				c := make([][2]uint32, lanes)
				blocks := make([][]byte, lanes)
				for i := range blocks {
					blocks[i] = make([]byte, nblocks*BlockSize)
					for j := range blocks[i] {
						blocks[i][j] = byte(rng.Uint32())
					}
					for j := range h[i] {
						h[i][j] = rng.Uint32()
					}
					c[i] = [2]uint32{rng.Uint32(), rng.Uint32() & 1}
				}
				wantH := append([][8]uint32(nil), h...)
				wantC := append([][2]uint32(nil), c...)
				for i := range blocks {
					hashBlocksGeneric(&wantH[i], &wantC[i], 0xffffffff, blocks[i])
				}
				impl.Fn.hashBlocksMany(h, c, 0xffffffff, blocks)
				for i := range h {
					if h[i] != wantH[i] || c[i] != wantC[i] {
						t.Fatalf("%s: lanes %d blocks %d: lane %d differs", impl.Name, lanes, nblocks, i)
					}
				}
			}
		}
	}
}

func TestDispatch(t *testing.T) {
	names := Implementations()
	if len(names) == 0 || names[0] != "generic" {
		t.Fatalf("Implementations() = %v, want generic first", names)
	}
	if want := table.Select().Name; Active() != want {
		t.Errorf("Active() = %q, table.Select() = %q", Active(), want)
	}
	cputest.CheckSwitching(t, Implementations, Active, UseImplementation)
}

func TestAllocs(t *testing.T) {
	data := make([]byte, 200)
	key := make([]byte, 32)
	var out [Size]byte
	var out16 [Size128]byte
	forEachImpl(t, func(t *testing.T) {
		for name, f := range map[string]func(){
			"Sum256":      func() { out = Sum256(data) },
			"Sum256short": func() { out = Sum256(data[:40]) },
			"Sum256block": func() { out = Sum256(data[:64]) },
			"Sum256To":    func() { Sum256To(&out, data[:10], data[10:]) },
			"MAC128":      func() { MAC128(&out16, key, data[:100], data[100:]) },
			"MAC256":      func() { MAC256(&out, key, data) },
			"HMAC":        func() { HMAC(&out, key, data[:1], data[1:]) },
			"HMAClongkey": func() { HMAC(&out, data, data) },
			"Digest": func() {
				var d Digest
				d.Init(Size, key)
				d.Write(data)
				d.SumTo(&out)
			},
		} {
			if n := testing.AllocsPerRun(100, f); n != 0 {
				t.Errorf("%s: %v allocations, want 0", name, n)
			}
		}
	})
}

func FuzzBLAKE2s(f *testing.F) {
	f.Add([]byte("abc"), []byte{}, uint8(0))
	f.Add(make([]byte, 64), []byte("key"), uint8(64))
	f.Add(make([]byte, 129), make([]byte, 32), uint8(1))
	f.Fuzz(func(t *testing.T, data, key []byte, split uint8) {
		if len(key) > Size {
			key = key[:Size]
		}
		cut := 0
		if len(data) > 0 {
			cut = int(split) % (len(data) + 1)
		}
		want := xb.Sum256(data)
		hk, _ := xb.New256(key)
		hk.Write(data)
		wantK := hk.Sum(nil)
		var want128 []byte
		if len(key) > 0 {
			h, _ := xb.New128(key)
			h.Write(data)
			want128 = h.Sum(nil)
		}
		wantHMAC := hmac.New(func() hash.Hash { h, _ := xb.New256(nil); return h }, key)
		wantHMAC.Write(data)

		for _, impl := range table.Usable() {
			restore, _ := UseImplementation(impl.Name)
			var got [Size]byte
			Sum256To(&got, data[:cut], data[cut:])
			if got != want {
				t.Errorf("%s: Sum256To %x want %x", impl.Name, got, want)
			}
			if got := Sum256(data); got != want {
				t.Errorf("%s: Sum256 %x want %x", impl.Name, got, want)
			}
			h, _ := New256(key)
			h.Write(data[:cut])
			h.Write(data[cut:])
			if g := h.Sum(nil); !bytes.Equal(g, wantK) {
				t.Errorf("%s: keyed %x want %x", impl.Name, g, wantK)
			}
			if want128 != nil {
				var m [Size128]byte
				MAC128(&m, key, data[:cut], data[cut:])
				if !bytes.Equal(m[:], want128) {
					t.Errorf("%s: MAC128 %x want %x", impl.Name, m, want128)
				}
				// A batch of data and seven variants of it, all of
				// one length (the batch kernels' case).
				var msgs [8][]byte
				var dst [8][Size128]byte
				for i := range msgs {
					msgs[i] = append([]byte(nil), data...)
					if i > 0 && len(data) > 0 {
						msgs[i][(i*7)%len(data)] ^= byte(i)
					}
				}
				MAC128Many(dst[:], key, msgs[:])
				for i, msg := range msgs {
					MAC128(&m, key, msg)
					if dst[i] != m {
						t.Errorf("%s: MAC128Many message %d: %x want %x", impl.Name, i, dst[i], m)
					}
				}
			}
			HMAC(&got, key, data[:cut], data[cut:])
			if !bytes.Equal(got[:], wantHMAC.Sum(nil)) {
				t.Errorf("%s: HMAC %x", impl.Name, got)
			}
			restore()
		}
	})
}
