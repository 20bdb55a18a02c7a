package main

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/rand"
	"fmt"
	"hash"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/wgxdp/wgxdp/crypto/blake2s"
	"github.com/wgxdp/wgxdp/crypto/curve25519"
	"github.com/wgxdp/wgxdp/internal/hscompare"
	xb "golang.org/x/crypto/blake2s"
	xcurve "golang.org/x/crypto/curve25519"
	"golang.org/x/sys/unix"
)

const (
	ours   = "wgxdp"
	wggo   = "wireguard-go"
	goecdh = "crypto/ecdh"
	xhmac  = "crypto/hmac+x/crypto"
)

// hsBench is one variant of one measurement of the handshake command.
type hsBench struct {
	group, op     string
	size          int
	variant, base string
	f             func(b *testing.B) error
}

// newXHMAC is HMAC-BLAKE2s the way wireguard-go computes it: crypto/hmac
// over x/crypto's BLAKE2s-256, built afresh for every MAC.
func newXHMAC(key []byte) hash.Hash {
	return hmac.New(func() hash.Hash { h, _ := xb.New256(nil); return h }, key)
}

// checkPrimitives compares each of our primitives with x/crypto once
// before anything is timed.
func checkPrimitives(scalar, point *[32]byte) error {
	var ss, pk [32]byte
	if err := curve25519.SharedSecret(&ss, scalar, point); err != nil {
		return err
	}
	want, err := xcurve.X25519(scalar[:], point[:])
	if err != nil || !bytes.Equal(ss[:], want) {
		return fmt.Errorf("curve25519.SharedSecret differs from x/crypto")
	}
	curve25519.PublicKey(&pk, scalar)
	want, err = xcurve.X25519(scalar[:], xcurve.Basepoint)
	if err != nil || !bytes.Equal(pk[:], want) {
		return fmt.Errorf("curve25519.PublicKey differs from x/crypto")
	}
	for _, n := range []int{0, 32, 64, 65, 1024, 8192} {
		msg := bytes.Repeat([]byte{0x5a}, n)
		if blake2s.Sum256(msg) != xb.Sum256(msg) {
			return fmt.Errorf("blake2s.Sum256 of %d bytes differs from x/crypto", n)
		}
		var mac [32]byte
		blake2s.HMAC(&mac, scalar[:], msg)
		h := newXHMAC(scalar[:])
		h.Write(msg)
		if !bytes.Equal(mac[:], h.Sum(nil)) {
			return fmt.Errorf("blake2s.HMAC of %d bytes differs from crypto/hmac", n)
		}
	}
	return nil
}

func runHandshake(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("handshake", "A full WireGuard handshake, ours beside wireguard-go's, and the primitives under it\n(X25519, BLAKE2s, HMAC-BLAKE2s, mac1 of 16 messages at once) beside crypto/ecdh and\ngolang.org/x/crypto, one goroutine;\nratio = baseline ns/op ÷ variant ns/op. Then full handshakes on n goroutines at once\n(GOMAXPROCS=n, for each n in --cpus) and the speed-up over the first n.", stderr)
	benchtime := fs.String("benchtime", "1s", "time (or count, e.g. 100x) per measurement")
	responders := fs.Int("responders", 128, "wireguard-go responder devices to go round, so that none sees\ntwo initiations within its 20 ms flood limit")
	cpusFlag := fs.String("cpus", "1,"+strconv.Itoa(runtime.NumCPU()), "GOMAXPROCS settings (comma-separated) at which to run full\nhandshakes on that many goroutines at once, or \"none\"")
	jsonPath := fs.String("json", "", "write the results as JSON to `file`")
	if st := parseFlags(fs, args); st >= 0 {
		return st
	}
	err := checkBenchtime(*benchtime)
	if err == nil && (*responders < 1 || *responders > 4096) {
		err = fmt.Errorf("bad --responders %d: want 1 to 4096", *responders)
	}
	var cpus []int
	if err == nil {
		cpus, err = parseCPUs(*cpusFlag)
	}
	if err != nil {
		fmt.Fprintf(stderr, "wgxdp-bench handshake: %v\n", err)
		fs.Usage()
		return 2
	}
	restore, err := setBenchtime(*benchtime)
	if err != nil {
		fmt.Fprintf(stderr, "wgxdp-bench handshake: %v\n", err)
		return 2
	}
	defer restore()
	fail := func(err error) int {
		fmt.Fprintf(stderr, "wgxdp-bench handshake: %v\n", err)
		return 1
	}

	printSystem(stdout, *benchtime)
	oursHS, err := hscompare.NewOurs()
	if err != nil {
		return fail(err)
	}
	start := time.Now()
	// One wireguard-go set per goroutine of the widest parallel run (and
	// at least one): a set is not safe for concurrent use.
	wgs := make([]*hscompare.WireGuardGo, max(1, slices.Max(append([]int{0}, cpus...))))
	for i := range wgs {
		wgs[i], err = hscompare.NewWireGuardGo(*responders)
		if err != nil {
			return fail(err)
		}
		defer wgs[i].Close()
	}
	wg := wgs[0]
	fmt.Fprintf(stdout, "wireguard-go: %d×%d responder devices (set up in %v), each refusing an initiation within %v of its last\n",
		len(wgs), *responders, time.Since(start).Round(time.Millisecond), hscompare.MinSpacing)
	// Prove the setup first: one round of handshakes, all of which must
	// succeed (as must every one timed below).
	for range min(*responders, 16) {
		if err := wg.Handshake(); err != nil {
			return fail(fmt.Errorf("wireguard-go handshake: %w", err))
		}
		if err := oursHS.Handshake(); err != nil {
			return fail(fmt.Errorf("wgxdp handshake: %w", err))
		}
	}

	var scalar, point [32]byte
	rand32(&scalar)
	rand32(&point)
	curve25519.PublicKey(&point, &point) // a valid public key
	if err := checkPrimitives(&scalar, &point); err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "checked: our primitives' outputs equal x/crypto's\n\n")

	var waits float64
	benches := []hsBench{
		{"handshake", "full", 0, ours, wggo, func(b *testing.B) error {
			for b.Loop() {
				if err := oursHS.Handshake(); err != nil {
					return err
				}
			}
			return nil
		}},
		{"handshake", "full", 0, wggo, wggo, func(b *testing.B) error {
			n := 0
			for b.Loop() {
				if d := wg.Wait(); d > 0 {
					b.StopTimer()
					time.Sleep(d)
					n++
					b.StartTimer()
				}
				if err := wg.Handshake(); err != nil {
					return err
				}
			}
			waits += float64(n)
			return nil
		}},
	}
	benches = append(benches, x25519Benches(&scalar, &point)...)
	for _, n := range []int{32, 64, 1024, 8192} {
		benches = append(benches, blake2sBenches(n)...)
	}
	benches = append(benches, hmacBenches(64, scalar[:])...)
	benches = append(benches, mac1Benches(scalar[:])...)

	var results, cpuResults []result
	for _, hb := range benches {
		var cpu time.Duration
		var n int
		r, err := measure(func(b *testing.B) error {
			// This goroutine's thread CPU time over the call; the
			// last call is the one testing.Benchmark reports.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			c0 := threadCPU()
			err := hb.f(b)
			cpu, n = threadCPU()-c0, b.N
			return err
		})
		if err != nil {
			return fail(fmt.Errorf("%s %s %s: %w", hb.group, hb.op, hb.variant, err))
		}
		batch := 0
		if hb.group == "mac1" {
			batch = mac1Batch
		}
		results = append(results, newResult(hb.group, hb.op, hb.size, batch, hb.variant, hb.base, r))
		c := results[len(results)-1]
		c.NsPerOp = float64(cpu.Nanoseconds()) / float64(max(n, 1))
		if c.Size > 0 && c.NsPerOp > 0 {
			c.GBPerSec = float64(c.Size) / c.NsPerOp
		}
		cpuResults = append(cpuResults, c)
	}
	setRatios(results)
	printTable(stdout, results)

	var perSec = map[string]float64{}
	for _, r := range results[:2] {
		perSec[r.Variant] = 1e9 / r.NsPerOp
	}
	fmt.Fprintf(stdout, "\nhandshakes/s per core: %s %.0f, %s %.0f; ratio %.2fx\n",
		ours, perSec[ours], wggo, perSec[wggo], results[0].Ratio)

	setRatios(cpuResults)
	fmt.Fprintf(stdout, "\nthe same by the benchmark thread's CPU time, which waiting for a core does not count\n(on a shared machine, these ratios are the steadier):\n")
	printTable(stdout, cpuResults)
	if waits > 0 {
		fmt.Fprintf(stdout, "note: the wireguard-go loop waited (untimed) %.0f times for a responder; raise --responders\n", waits)
	}

	var scaling []result
	if len(cpus) > 0 {
		var parWaits int64
		scaling, parWaits, err = measureScaling(stdout, cpus, wgs)
		if err != nil {
			return fail(err)
		}
		if parWaits > 0 {
			fmt.Fprintf(stdout, "note: the parallel wireguard-go loops waited (timed) %d times for a responder; raise --responders\n", parWaits)
		}
		results = append(results, scaling...)
	}
	if *jsonPath != "" {
		rep := report{Command: "handshake", Time: time.Now(), Benchtime: *benchtime, System: systemInfo(),
			Extra: map[string]string{
				"wireguard_go_responders": strconv.Itoa(*responders),
				"wireguard_go_waits":      strconv.FormatFloat(waits, 'f', 0, 64),
				"mac1":                    "excluded on both sides",
			},
			Results: results}
		for _, c := range cpuResults {
			rep.Extra[fmt.Sprintf("thread_cpu_ns_per_op/%s/%s/%d/%s", c.Group, c.Op, c.Size, c.Variant)] = strconv.FormatFloat(c.NsPerOp, 'f', 1, 64)
		}
		if err := writeJSON(*jsonPath, rep); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "wrote %s\n", *jsonPath)
	}
	return 0
}

// mac1Batch initiations (116 bytes up to mac1) have their mac1 checked at
// once by MAC128Many, against x/crypto's New128 per message as
// wireguard-go does it; ns/op is per batch.
const mac1Batch = 16

func mac1Benches(key []byte) []hsBench {
	const n = 116
	msgs := make([][]byte, mac1Batch)
	for i := range msgs {
		msgs[i] = make([]byte, n)
		msgs[i][0] = byte(i)
	}
	return []hsBench{
		{"mac1", "check", n, ours, xcrypto, func(b *testing.B) error {
			var dst [mac1Batch][blake2s.Size128]byte
			for b.Loop() {
				blake2s.MAC128Many(dst[:], key, msgs)
			}
			return nil
		}},
		{"mac1", "check", n, xcrypto, xcrypto, func(b *testing.B) error {
			var out []byte
			for b.Loop() {
				for _, m := range msgs {
					h, err := xb.New128(key)
					if err != nil {
						return err
					}
					h.Write(m)
					out = h.Sum(out[:0])
				}
			}
			return nil
		}},
	}
}

func rand32(k *[32]byte) {
	// crypto/rand.Read never fails on Linux (and panics where it would).
	rand.Read(k[:])
}

func x25519Benches(scalar, point *[32]byte) []hsBench {
	const group = "x25519"
	base := xcrypto
	curve := ecdh.X25519()
	return []hsBench{
		{group, "shared-secret", 0, ours, base, func(b *testing.B) error {
			var ss [32]byte
			for b.Loop() {
				if err := curve25519.SharedSecret(&ss, scalar, point); err != nil {
					return err
				}
			}
			return nil
		}},
		{group, "shared-secret", 0, goecdh, base, func(b *testing.B) error {
			priv, err := curve.NewPrivateKey(scalar[:])
			if err != nil {
				return err
			}
			pub, err := curve.NewPublicKey(point[:])
			if err != nil {
				return err
			}
			for b.Loop() {
				if _, err := priv.ECDH(pub); err != nil {
					return err
				}
			}
			return nil
		}},
		{group, "shared-secret", 0, base, base, func(b *testing.B) error {
			for b.Loop() {
				if _, err := xcurve.X25519(scalar[:], point[:]); err != nil {
					return err
				}
			}
			return nil
		}},
		{group, "public-key", 0, ours, base, func(b *testing.B) error {
			var pk [32]byte
			for b.Loop() {
				curve25519.PublicKey(&pk, scalar)
			}
			return nil
		}},
		{group, "public-key", 0, goecdh, base, func(b *testing.B) error {
			for b.Loop() {
				priv, err := curve.NewPrivateKey(scalar[:])
				if err != nil {
					return err
				}
				_ = priv.PublicKey().Bytes()
			}
			return nil
		}},
		{group, "public-key", 0, base, base, func(b *testing.B) error {
			for b.Loop() {
				if _, err := xcurve.X25519(scalar[:], xcurve.Basepoint); err != nil {
					return err
				}
			}
			return nil
		}},
	}
}

func blake2sBenches(n int) []hsBench {
	msg := make([]byte, n)
	return []hsBench{
		{"blake2s-256", "sum", n, ours, xcrypto, func(b *testing.B) error {
			for b.Loop() {
				blake2s.Sum256(msg)
			}
			return nil
		}},
		{"blake2s-256", "sum", n, xcrypto, xcrypto, func(b *testing.B) error {
			for b.Loop() {
				xb.Sum256(msg)
			}
			return nil
		}},
	}
}

func hmacBenches(n int, key []byte) []hsBench {
	msg := make([]byte, n)
	return []hsBench{
		{"hmac-blake2s", "mac", n, ours, xhmac, func(b *testing.B) error {
			var mac [blake2s.Size]byte
			for b.Loop() {
				blake2s.HMAC(&mac, key, msg)
			}
			return nil
		}},
		{"hmac-blake2s", "mac", n, xhmac, xhmac, func(b *testing.B) error {
			var mac [blake2s.Size]byte
			for b.Loop() {
				h := newXHMAC(key)
				h.Write(msg)
				h.Sum(mac[:0])
			}
			return nil
		}},
	}
}

// parseCPUs parses --cpus: "none", or GOMAXPROCS settings such as "1,2".
func parseCPUs(s string) ([]int, error) {
	if s == "none" {
		return nil, nil
	}
	var cpus []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 1024 {
			return nil, fmt.Errorf("bad --cpus %q: want \"none\" or numbers of CPUs 1 to 1024, such as 1,2", s)
		}
		if !slices.Contains(cpus, n) {
			cpus = append(cpus, n)
		}
	}
	return cpus, nil
}

// threadCPU is the CPU time the calling OS thread has used so far.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// cpuTime is the CPU time the whole process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measureScaling runs full handshakes on n goroutines at once with
// GOMAXPROCS=n, for each n in cpus, ours and wireguard-go's, and prints
// handshakes/s and the speed-up over the first n (1 by default). Each
// goroutine has its own initiator and responders (wgs[i] for wireguard-go),
// so what is shared is only what the implementations themselves share.
// A wireguard-go goroutine that comes round to a responder too early
// sleeps on the clock (a timer cannot be stopped for one goroutine of
// RunParallel); the sleeps are counted. "cores busy" is the process's CPU
// time over the wall time of the measurement: on a shared machine it shows
// whether the goroutines got their cores.
func measureScaling(w io.Writer, cpus []int, wgs []*hscompare.WireGuardGo) (_ []result, waits int64, _ error) {
	pairs := make([]*hscompare.Ours, len(wgs))
	for i := range pairs {
		var err error
		if pairs[i], err = hscompare.NewOurs(); err != nil {
			return nil, 0, err
		}
	}
	var nWaits atomic.Int64
	variants := []struct {
		name string
		hs   func(i int) error
	}{
		{ours, func(i int) error { return pairs[i].Handshake() }},
		{wggo, func(i int) error {
			if d := wgs[i].Wait(); d > 0 {
				nWaits.Add(1)
				time.Sleep(d)
			}
			return wgs[i].Handshake()
		}},
	}
	var rs []result
	prev := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(prev)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "\nfull handshakes on n goroutines at once, GOMAXPROCS=n; cores busy = process CPU time ÷ wall time\n(below n when other work shares the machine):\n")
	fmt.Fprintln(tw, "variant\tn\thandshakes/s\tspeed-up\tcores busy\tCPU µs/handshake\t")
	for _, v := range variants {
		var base float64
		for _, n := range cpus {
			runtime.GOMAXPROCS(n)
			var errOnce sync.Once
			var herr error
			var cpu, wall time.Duration // of the last (reported) run
			f := func(b *testing.B) error {
				var next atomic.Int32
				c0, t0 := cpuTime(), time.Now()
				defer func() { cpu, wall = cpuTime()-c0, time.Since(t0) }()
				b.RunParallel(func(pb *testing.PB) {
					i := int(next.Add(1)) - 1
					for pb.Next() {
						if err := v.hs(i); err != nil {
							errOnce.Do(func() { herr = err })
							return
						}
					}
				})
				return herr
			}
			r, err := measure(f)
			if err != nil {
				return nil, 0, fmt.Errorf("%s on %d goroutines: %w", v.name, n, err)
			}
			res := newResult("handshake-parallel", "cpus="+strconv.Itoa(n), 0, 0, v.name, fmt.Sprintf("%s cpus=%d", v.name, cpus[0]), r)
			if base == 0 {
				base = res.NsPerOp
			}
			res.Ratio = base / res.NsPerOp
			rs = append(rs, res)
			fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.2fx\t%.2f\t%.0f\t\n", v.name, n, 1e9/res.NsPerOp, res.Ratio,
				float64(cpu)/float64(wall), float64(cpu.Microseconds())/float64(r.N))
		}
	}
	tw.Flush()
	return rs, nWaits.Load(), nil
}
