package main

import (
	"bytes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/crypto/chacha20poly1305"
	"github.com/wgxdp/wgxdp/internal/cpu"
	xc "golang.org/x/crypto/chacha20poly1305"
)

const xcrypto = "x/crypto"

// aeadVariant is one ChaCha20-Poly1305 implementation under test: one of
// ours (switched to with UseImplementation) or x/crypto's.
type aeadVariant struct {
	name      string
	newAEAD   func([]byte) (cipher.AEAD, error)
	newX      func([]byte) (cipher.AEAD, error)
	sealBatch func(ops []chacha20poly1305.Op, aeads []cipher.AEAD)
	use       func() (restore func(), err error)
}

func cryptoVariants() []aeadVariant {
	var vs []aeadVariant
	for _, name := range chacha20poly1305.AllowedImplementations() {
		vs = append(vs, aeadVariant{
			name:      name,
			newAEAD:   chacha20poly1305.New,
			newX:      chacha20poly1305.NewX,
			sealBatch: func(ops []chacha20poly1305.Op, _ []cipher.AEAD) { chacha20poly1305.SealBatch(ops) },
			use:       func() (func(), error) { return chacha20poly1305.UseImplementation(name) },
		})
	}
	return append(vs, aeadVariant{
		name:    xcrypto,
		newAEAD: xc.New,
		newX:    xc.NewX,
		// x/crypto has no batch API: a loop of Seal, one AEAD per key, as
		// wireguard-go keeps one per keypair.
		sealBatch: func(ops []chacha20poly1305.Op, aeads []cipher.AEAD) {
			for i := range ops {
				op := &ops[i]
				aeads[i%len(aeads)].Seal(op.Out[:0], op.Nonce[:], op.In, op.AD)
				op.OK = true
			}
		},
		use: func() (func(), error) { return func() {}, nil },
	})
}

// batchKeys is how many keys a batch cycles through (several peers).
const batchKeys = 4

func benchKey(i int) *[chacha20poly1305.KeySize]byte {
	var k [chacha20poly1305.KeySize]byte
	for j := range k {
		k[j] = byte(j*7 + i)
	}
	return &k
}

func wgNonce(counter uint64) (n [chacha20poly1305.NonceSize]byte) {
	binary.LittleEndian.PutUint64(n[4:], counter)
	return n
}

// newBatch returns batch in-place ops of n bytes over batchKeys keys, with
// the AEADs newAEAD makes for the same keys.
func newBatch(batch, n int, newAEAD func([]byte) (cipher.AEAD, error)) ([]chacha20poly1305.Op, []cipher.AEAD, error) {
	aeads := make([]cipher.AEAD, batchKeys)
	for i := range aeads {
		a, err := newAEAD(benchKey(i)[:])
		if err != nil {
			return nil, nil, err
		}
		aeads[i] = a
	}
	ops := make([]chacha20poly1305.Op, batch)
	for i := range ops {
		buf := make([]byte, n+chacha20poly1305.Overhead)
		for j := range n {
			buf[j] = byte(i + j)
		}
		ops[i] = chacha20poly1305.Op{Key: benchKey(i % batchKeys), Nonce: wgNonce(uint64(i)), In: buf[:n], Out: buf}
	}
	return ops, aeads, nil
}

// checkVariant compares v's output with x/crypto's at every size before
// anything of v is timed, so a broken implementation is not benchmarked.
func checkVariant(v aeadVariant, sizes []int, batch int) error {
	key := benchKey(0)
	a, err := v.newAEAD(key[:])
	if err != nil {
		return err
	}
	ref, _ := xc.New(key[:])
	nonce := wgNonce(7)
	for _, n := range sizes {
		pt := make([]byte, n)
		for i := range pt {
			pt[i] = byte(i)
		}
		want := ref.Seal(nil, nonce[:], pt, nil)
		got := a.Seal(nil, nonce[:], pt, nil)
		if !bytes.Equal(got, want) {
			return fmt.Errorf("%s: Seal of %d bytes differs from x/crypto", v.name, n)
		}
		if out, err := a.Open(nil, nonce[:], want, nil); err != nil || !bytes.Equal(out, pt) {
			return fmt.Errorf("%s: Open of %d bytes fails or differs", v.name, n)
		}
	}
	for _, n := range []int{64, 1420} {
		ops, aeads, err := newBatch(batch, n, v.newAEAD)
		if err != nil {
			return err
		}
		refs, raeads, err := newBatch(batch, n, xc.New)
		if err != nil {
			return err
		}
		v.sealBatch(ops, aeads)
		for i := range ops {
			want := raeads[i%batchKeys].Seal(nil, refs[i].Nonce[:], refs[i].In, nil)
			if !ops[i].OK || !bytes.Equal(ops[i].Out, want) {
				return fmt.Errorf("%s: SealBatch of %d×%d bytes differs from x/crypto at op %d", v.name, batch, n, i)
			}
		}
	}
	x, err := v.newX(key[:])
	if err != nil {
		return err
	}
	rx, _ := xc.NewX(key[:])
	xn := make([]byte, chacha20poly1305.NonceSizeX)
	xn[3] = 9
	if !bytes.Equal(x.Seal(nil, xn, make([]byte, 64), nil), rx.Seal(nil, xn, make([]byte, 64), nil)) {
		return fmt.Errorf("%s: XChaCha20-Poly1305 Seal differs from x/crypto", v.name)
	}
	return nil
}

// cryptoBench is one operation at one size, run for each variant.
type cryptoBench struct {
	op          string
	size, batch int
	f           func(b *testing.B, v aeadVariant) error
}

func sealBench(n int) cryptoBench {
	return cryptoBench{op: "seal", size: n, f: func(b *testing.B, v aeadVariant) error {
		a, err := v.newAEAD(benchKey(0)[:])
		if err != nil {
			return err
		}
		buf := make([]byte, n+chacha20poly1305.Overhead)
		nonce := wgNonce(0)
		for b.Loop() {
			a.Seal(buf[:0], nonce[:], buf[:n], nil) // in place
		}
		return nil
	}}
}

func openBench(n int) cryptoBench {
	return cryptoBench{op: "open", size: n, f: func(b *testing.B, v aeadVariant) error {
		a, err := v.newAEAD(benchKey(0)[:])
		if err != nil {
			return err
		}
		nonce := wgNonce(0)
		ct := a.Seal(nil, nonce[:], make([]byte, n), nil)
		out := make([]byte, n)
		for b.Loop() {
			if _, err := a.Open(out[:0], nonce[:], ct, nil); err != nil {
				return fmt.Errorf("open %d bytes: %w", n, err)
			}
		}
		return nil
	}}
}

func sealBatchBench(batch, n int) cryptoBench {
	return cryptoBench{op: "sealbatch", size: n, batch: batch, f: func(b *testing.B, v aeadVariant) error {
		ops, aeads, err := newBatch(batch, n, v.newAEAD)
		if err != nil {
			return err
		}
		for b.Loop() {
			v.sealBatch(ops, aeads) // in place
		}
		for i := range ops {
			if !ops[i].OK {
				return fmt.Errorf("sealbatch %d×%d: op %d not sealed", batch, n, i)
			}
		}
		return nil
	}}
}

func xsealBench(n int) cryptoBench {
	return cryptoBench{op: "xseal", size: n, f: func(b *testing.B, v aeadVariant) error {
		a, err := v.newX(benchKey(0)[:])
		if err != nil {
			return err
		}
		buf := make([]byte, n+chacha20poly1305.Overhead)
		nonce := make([]byte, chacha20poly1305.NonceSizeX)
		for b.Loop() {
			a.Seal(buf[:0], nonce, buf[:n], nil)
		}
		return nil
	}}
}

func parseSizes(s string) ([]int, error) {
	var sizes []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 || n > 1<<20 {
			return nil, fmt.Errorf("bad size %q in --sizes: want integers from 1 to %d", f, 1<<20)
		}
		sizes = append(sizes, n)
	}
	slices.Sort(sizes)
	return slices.Compact(sizes), nil
}

func runCrypto(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("crypto", "ChaCha20-Poly1305 Seal and Open at each of --sizes, SealBatch of --batch packets at 64 and\n"+
		"1420 bytes, and XChaCha20-Poly1305 Seal at 64 bytes only; one goroutine. Variants: each\n"+
		"implementation of ours this CPU runs at or below the "+cpu.EnvVar+" ceiling ("+cpu.EnvVar+"=generic:\n"+
		"the portable Go one only), beside golang.org/x/crypto; ratio = x/crypto ns/op ÷ variant ns/op.", stderr)
	sizesFlag := fs.String("sizes", "64,128,256,512,1420,4096,16384", "comma-separated packet `sizes` for Seal and Open")
	batch := fs.Int("batch", 16, "packets per SealBatch (measured at 64 and 1420 bytes)")
	benchtime := fs.String("benchtime", "300ms", "time (or count, e.g. 100x) per measurement")
	jsonPath := fs.String("json", "", "write the results as JSON to `file`")
	svgPath := fs.String("svg", "", "write a chart of Seal/Open throughput against size as SVG to `file`")
	if st := parseFlags(fs, args); st >= 0 {
		return st
	}
	sizes, err := parseSizes(*sizesFlag)
	if err == nil && (*batch < 1 || *batch > 1024) {
		err = fmt.Errorf("bad --batch %d: want 1 to 1024", *batch)
	}
	if err == nil {
		err = checkBenchtime(*benchtime)
	}
	if err != nil {
		fmt.Fprintf(stderr, "wgxdp-bench crypto: %v\n", err)
		fs.Usage()
		return 2
	}
	restore, err := setBenchtime(*benchtime)
	if err != nil {
		fmt.Fprintf(stderr, "wgxdp-bench crypto: %v\n", err)
		return 2
	}
	defer restore()

	printSystem(stdout, *benchtime)
	variants := cryptoVariants()
	names := make([]string, len(variants))
	for i, v := range variants {
		names[i] = v.name
	}
	fmt.Fprintf(stdout, "chacha20poly1305 variants: %s (baseline %s)\n", strings.Join(names, ", "), xcrypto)
	for _, v := range variants {
		if err := withVariant(v, func() error { return checkVariant(v, sizes, *batch) }); err != nil {
			fmt.Fprintf(stderr, "wgxdp-bench crypto: %v\n", err)
			return 1
		}
	}
	fmt.Fprintf(stdout, "checked: every variant's output equals x/crypto's\n\n")

	var benches []cryptoBench
	for _, n := range sizes {
		benches = append(benches, sealBench(n), openBench(n))
	}
	benches = append(benches, sealBatchBench(*batch, 64), sealBatchBench(*batch, 1420), xsealBench(64))

	var results []result
	for _, cb := range benches {
		for _, v := range variants {
			var r testing.BenchmarkResult
			err := withVariant(v, func() error {
				var err error
				r, err = measure(func(b *testing.B) error { return cb.f(b, v) })
				return err
			})
			if err != nil {
				fmt.Fprintf(stderr, "wgxdp-bench crypto: %s %s: %v\n", cb.op, v.name, err)
				return 1
			}
			group := "chacha20poly1305"
			if cb.op == "xseal" {
				group = "xchacha20poly1305"
			}
			results = append(results, newResult(group, cb.op, cb.size, cb.batch, v.name, xcrypto, r))
		}
	}
	setRatios(results)
	printTable(stdout, results)

	if *jsonPath != "" {
		rep := report{Command: "crypto", Time: time.Now(), Benchtime: *benchtime, System: systemInfo(), Results: results}
		if err := writeJSON(*jsonPath, rep); err != nil {
			fmt.Fprintf(stderr, "wgxdp-bench crypto: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "\nwrote %s\n", *jsonPath)
	}
	if *svgPath != "" {
		if err := writeSVG(*svgPath, results, names); err != nil {
			fmt.Fprintf(stderr, "wgxdp-bench crypto: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "wrote %s\n", *svgPath)
	}
	return 0
}

// withVariant runs f with the package switched to v, and switches back.
func withVariant(v aeadVariant, f func() error) error {
	restore, err := v.use()
	if err != nil {
		return fmt.Errorf("switching to %s: %w", v.name, err)
	}
	defer restore()
	return f()
}
