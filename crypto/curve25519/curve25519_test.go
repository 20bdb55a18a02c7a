package curve25519

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	xc "golang.org/x/crypto/curve25519"

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

func h32(t testing.TB, s string) *[32]byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("bad hex %q", s)
	}
	return (*[32]byte)(b)
}

// readLines returns the non-comment lines of a testdata file, split on
// whitespace.
func readLines(t *testing.T, name string) [][]string {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		out = append(out, strings.Fields(line))
	}
	return out
}

// xX25519 is the anchor: x/crypto's X25519.
func xX25519(t testing.TB, scalar, point *[32]byte) ([]byte, error) {
	return xc.X25519(scalar[:], point[:])
}

func TestRFC7748(t *testing.T) {
	lines := readLines(t, "rfc7748.txt")
	forEachImpl(t, func(t *testing.T) {
		var n int
		for _, f := range lines {
			switch f[0] {
			case "x25519":
				n++
				k, u, want := h32(t, f[1]), h32(t, f[2]), h32(t, f[3])
				if x, _ := xX25519(t, k, u); !bytes.Equal(x, want[:]) {
					t.Fatalf("vector file disagrees with x/crypto: %v", f)
				}
				var got [32]byte
				if err := SharedSecret(&got, k, u); err != nil || got != *want {
					t.Errorf("SharedSecret(%s, %s) = %x, %v; want %x", f[1], f[2], got, err, want)
				}
				s, err := X25519(k[:], u[:])
				if err != nil || !bytes.Equal(s, want[:]) {
					t.Errorf("X25519 = %x, %v; want %x", s, err, want)
				}
			case "iterated":
				n++
				iters, _ := strconv.Atoi(f[1])
				if iters >= 1_000_000 && os.Getenv("WGXDP_LONG") != "1" {
					continue // about a minute; set WGXDP_LONG=1 to run it
				}
				k, u := basepoint, basepoint
				for range iters {
					var r [32]byte
					if err := SharedSecret(&r, &k, &u); err != nil {
						t.Fatal(err)
					}
					u, k = k, r
				}
				if want := h32(t, f[2]); k != *want {
					t.Errorf("after %d iterations k = %x, want %x", iters, k, want)
				}
			case "dh":
				n++
				aPriv, aPub, bPriv, bPub, shared := h32(t, f[1]), h32(t, f[2]), h32(t, f[3]), h32(t, f[4]), h32(t, f[5])
				var got [32]byte
				if PublicKey(&got, aPriv); got != *aPub {
					t.Errorf("Alice's public key %x, want %x", got, aPub)
				}
				if PublicKey(&got, bPriv); got != *bPub {
					t.Errorf("Bob's public key %x, want %x", got, bPub)
				}
				if p, err := X25519(aPriv[:], Basepoint); err != nil || !bytes.Equal(p, aPub[:]) {
					t.Errorf("X25519(Alice, Basepoint) = %x, %v", p, err)
				}
				if err := SharedSecret(&got, aPriv, bPub); err != nil || got != *shared {
					t.Errorf("Alice's shared secret %x, %v; want %x", got, err, shared)
				}
				if err := SharedSecret(&got, bPriv, aPub); err != nil || got != *shared {
					t.Errorf("Bob's shared secret %x, %v; want %x", got, err, shared)
				}
			default:
				t.Fatalf("unknown vector %q", f[0])
			}
		}
		if n != 6 {
			t.Fatalf("%d vectors, want 6", n)
		}
	})
}

func TestLowOrder(t *testing.T) {
	var points []*[32]byte
	for _, f := range readLines(t, "low_order.txt") {
		p := h32(t, f[0])
		hi := *p
		hi[31] |= 0x80
		points = append(points, p, &hi)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	forEachImpl(t, func(t *testing.T) {
		for i, p := range points {
			var k [32]byte
			for j := range k {
				k[j] = byte(rng.Uint32())
			}
			if _, err := xX25519(t, &k, p); err == nil {
				t.Fatalf("point %d %x: x/crypto accepts it", i, p)
			}
			out, err := X25519(k[:], p[:])
			if !errors.Is(err, ErrLowOrder) || out != nil {
				t.Errorf("X25519(k, %x) = %x, %v; want nil, ErrLowOrder", p, out, err)
			}
			dst := [32]byte{1, 2, 3}
			if err := SharedSecret(&dst, &k, p); !errors.Is(err, ErrLowOrder) || dst != [32]byte{} {
				t.Errorf("SharedSecret(k, %x) = %x, %v; want zeros, ErrLowOrder", p, dst, err)
			}
		}
	})
}

func TestBadLengths(t *testing.T) {
	for _, c := range []struct{ k, p int }{{31, 32}, {33, 32}, {32, 31}, {32, 33}, {0, 0}} {
		if out, err := X25519(make([]byte, c.k), make([]byte, c.p)); err == nil || out != nil {
			t.Errorf("X25519 with lengths %d, %d: %x, %v", c.k, c.p, out, err)
		}
	}
}

// edgePoint returns a point biased towards the edges: the top bit set,
// non-canonical values ≥ p, runs of 0x00 and 0xff, small values.
func edgePoint(rng *rand.Rand, p *[32]byte) {
	for i := range p {
		p[i] = byte(rng.Uint32())
	}
	switch rng.IntN(6) {
	case 0:
		p[31] |= 0x80 // high bit: must be ignored
	case 1: // p ≤ u < 2^255, possibly with bit 255 set too
		for i := 1; i < 32; i++ {
			p[i] = 0xff
		}
		p[0] = 0xed + byte(rng.IntN(0x100-0xed))
		p[31] = 0x7f | byte(rng.IntN(2))<<7
	case 2: // limbs of all ones or all zeros
		for i := range p {
			if rng.IntN(2) == 0 {
				p[i] = 0
			} else {
				p[i] = 0xff
			}
		}
	case 3: // small u
		*p = [32]byte{byte(rng.IntN(256)), byte(rng.IntN(2))}
	}
}

func TestDifferential(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 50
	}
	forEachImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		for i := range n {
			var k, p [32]byte
			for j := range k {
				k[j] = byte(rng.Uint32())
			}
			switch i % 8 {
			case 0:
				k = [32]byte{}
			case 1:
				for j := range k {
					k[j] = 0xff
				}
			}
			edgePoint(rng, &p)
			want, werr := xX25519(t, &k, &p)
			got, err := X25519(k[:], p[:])
			if (err != nil) != (werr != nil) || !bytes.Equal(got, want) {
				t.Fatalf("X25519(%x, %x) = %x, %v; x/crypto %x, %v", k, p, got, err, want, werr)
			}
			// In-place: dst aliasing the point, then the scalar.
			q := p
			if err := SharedSecret(&q, &k, &q); (err != nil) != (werr != nil) || (werr == nil && !bytes.Equal(q[:], want)) {
				t.Fatalf("SharedSecret aliasing point: %x, %v", q, err)
			}
			s := k
			_ = SharedSecret(&s, &s, &p)
			if werr == nil && !bytes.Equal(s[:], want) {
				t.Fatalf("SharedSecret aliasing scalar: %x", s)
			}

			wantPub, _ := xc.X25519(k[:], xc.Basepoint)
			var pub [32]byte
			if PublicKey(&pub, &k); !bytes.Equal(pub[:], wantPub) {
				t.Fatalf("PublicKey(%x) = %x, want %x", k, pub, wantPub)
			}
			// The basepoint given as a different slice takes the variable-base path.
			if g, err := X25519(k[:], bytes.Clone(Basepoint)); err != nil || !bytes.Equal(g, wantPub) {
				t.Fatalf("X25519(k, copy of Basepoint) = %x, %v", g, err)
			}
		}
	})
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
	k := h32(t, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
	p := h32(t, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
	forEachImpl(t, func(t *testing.T) {
		var dst [32]byte
		if n := testing.AllocsPerRun(10, func() { _ = SharedSecret(&dst, k, p) }); n != 0 {
			t.Errorf("SharedSecret: %v allocations, want 0", n)
		}
		if n := testing.AllocsPerRun(10, func() { PublicKey(&dst, k) }); n != 0 {
			t.Errorf("PublicKey: %v allocations, want 0", n)
		}
	})
}

func FuzzX25519(f *testing.F) {
	f.Add(make([]byte, 32), Basepoint)
	f.Add(bytes.Repeat([]byte{0xff}, 32), bytes.Repeat([]byte{0xff}, 32))
	f.Fuzz(func(t *testing.T, scalar, point []byte) {
		want, werr := xc.X25519(scalar, point)
		var wantPub []byte
		if len(scalar) == 32 {
			wantPub, _ = xc.X25519(scalar, xc.Basepoint)
		}
		for _, impl := range table.Usable() {
			restore, _ := UseImplementation(impl.Name)
			got, err := X25519(scalar, point)
			if (err != nil) != (werr != nil) || !bytes.Equal(got, want) {
				t.Errorf("%s: X25519(%x, %x) = %x, %v; x/crypto %x, %v", impl.Name, scalar, point, got, err, want, werr)
			}
			if len(scalar) == 32 {
				var pub [32]byte
				PublicKey(&pub, (*[32]byte)(scalar))
				if !bytes.Equal(pub[:], wantPub) {
					t.Errorf("%s: PublicKey(%x) = %x, want %x", impl.Name, scalar, pub, wantPub)
				}
			}
			restore()
		}
	})
}
