package noise_test

// BenchmarkHandshakeVsWireGuardGo times one full WireGuard handshake, ours
// beside wireguard-go's, in the same run, with the rig in internal/hscompare
// (its doc says what each side includes: no MACs or wire format on either
// side; wireguard-go's steps carry its own locks, index table and AEAD
// setup). wireguard-go's responder refuses replays and initiations within
// 20 ms, so its side rotates over wgResponders responder devices; waits/op
// should be 0, and every step's result is checked, so a refused handshake
// fails the benchmark instead of being timed.

import (
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/internal/hscompare"
)

const wgResponders = 128

func newOurs(tb testing.TB) *hscompare.Ours {
	tb.Helper()
	h, err := hscompare.NewOurs()
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

func newWireGuardGo(tb testing.TB, k int) *hscompare.WireGuardGo {
	tb.Helper()
	h, err := hscompare.NewWireGuardGo(k)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(h.Close)
	return h
}

func BenchmarkHandshakeVsWireGuardGo(b *testing.B) {
	b.Run("wgxdp", func(b *testing.B) {
		h := newOurs(b)
		b.ReportAllocs()
		for b.Loop() {
			if err := h.Handshake(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wireguard-go", func(b *testing.B) {
		h := newWireGuardGo(b, wgResponders)
		waits := 0
		b.ReportAllocs()
		for b.Loop() {
			if d := h.Wait(); d > 0 {
				b.StopTimer()
				time.Sleep(d)
				waits++
				b.StartTimer()
			}
			if err := h.Handshake(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(waits)/float64(b.N), "waits/op")
	})
}

// TestHandshakeBenchSetup runs a few hundred handshakes each way through the
// benchmark's setup, so that a benchmark timing refused handshakes cannot
// pass unnoticed.
func TestHandshakeBenchSetup(t *testing.T) {
	n, k := 300, wgResponders
	if testing.Short() { // setting up 128 devices takes ~20 s under -race
		n, k = 100, 16
	}
	ours := newOurs(t)
	for i := range n {
		if err := ours.Handshake(); err != nil {
			t.Fatalf("wgxdp handshake %d: %v", i, err)
		}
	}
	start := time.Now()
	wg := newWireGuardGo(t, k)
	setup := time.Since(start)
	waits := 0
	start = time.Now()
	for i := range n {
		if d := wg.Wait(); d > 0 {
			time.Sleep(d)
			waits++
		}
		if err := wg.Handshake(); err != nil {
			t.Fatalf("wireguard-go handshake %d: %v", i, err)
		}
	}
	t.Logf("%d wireguard-go handshakes over %d responders in %v (set up in %v), %d waits", n, k, time.Since(start), setup, waits)
	// wireguard-go does refuse what the checks look for.
	if err := wg.CheckReplayRefused(); err != nil {
		t.Fatal(err)
	}
}
