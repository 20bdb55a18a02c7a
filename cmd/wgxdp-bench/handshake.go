package main

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/rand"
	"fmt"
	"hash"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/crypto/blake2s"
	"github.com/wgxdp/wgxdp/crypto/curve25519"
	"github.com/wgxdp/wgxdp/internal/hscompare"
	xb "golang.org/x/crypto/blake2s"
	xcurve "golang.org/x/crypto/curve25519"
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
	fs := newFlags("handshake", "A full WireGuard handshake, ours beside wireguard-go's, and the primitives under it\n(X25519, BLAKE2s, HMAC-BLAKE2s) beside crypto/ecdh and golang.org/x/crypto, one goroutine;\nratio = baseline ns/op ÷ variant ns/op.", stderr)
	benchtime := fs.String("benchtime", "1s", "time (or count, e.g. 100x) per measurement")
	responders := fs.Int("responders", 128, "wireguard-go responder devices to go round, so that none sees\ntwo initiations within its 20 ms flood limit")
	jsonPath := fs.String("json", "", "write the results as JSON to `file`")
	if st := parseFlags(fs, args); st >= 0 {
		return st
	}
	err := checkBenchtime(*benchtime)
	if err == nil && (*responders < 1 || *responders > 4096) {
		err = fmt.Errorf("bad --responders %d: want 1 to 4096", *responders)
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
	wg, err := hscompare.NewWireGuardGo(*responders)
	if err != nil {
		return fail(err)
	}
	defer wg.Close()
	fmt.Fprintf(stdout, "wireguard-go: %d responder devices (set up in %v), each refusing an initiation within %v of its last\n",
		*responders, time.Since(start).Round(time.Millisecond), hscompare.MinSpacing)
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

	var results []result
	for _, hb := range benches {
		r, err := measure(hb.f)
		if err != nil {
			return fail(fmt.Errorf("%s %s %s: %w", hb.group, hb.op, hb.variant, err))
		}
		results = append(results, newResult(hb.group, hb.op, hb.size, 0, hb.variant, hb.base, r))
	}
	setRatios(results)
	printTable(stdout, results)

	var perSec = map[string]float64{}
	for _, r := range results[:2] {
		perSec[r.Variant] = 1e9 / r.NsPerOp
	}
	fmt.Fprintf(stdout, "\nhandshakes/s per core: %s %.0f, %s %.0f; ratio %.2fx\n",
		ours, perSec[ours], wggo, perSec[wggo], results[0].Ratio)
	if waits > 0 {
		fmt.Fprintf(stdout, "note: the wireguard-go loop waited (untimed) %.0f times for a responder; raise --responders\n", waits)
	}
	if *jsonPath != "" {
		rep := report{Command: "handshake", Time: time.Now(), Benchtime: *benchtime, System: systemInfo(),
			Extra: map[string]string{
				"wireguard_go_responders": strconv.Itoa(*responders),
				"wireguard_go_waits":      strconv.FormatFloat(waits, 'f', 0, 64),
				"mac1":                    "excluded on both sides",
			},
			Results: results}
		if err := writeJSON(*jsonPath, rep); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "wrote %s\n", *jsonPath)
	}
	return 0
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
