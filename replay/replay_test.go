package replay

import (
	"math/rand/v2"
	"testing"
)

// rejectAfterMessages is WireGuard's limit, the one the data path passes.
const rejectAfterMessages = 1<<64 - 1<<13 - 1

type step struct {
	counter uint64
	want    bool
}

func runSteps(t *testing.T, f *Filter, limit uint64, steps []step) {
	t.Helper()
	for i, s := range steps {
		if got := f.ValidateCounter(s.counter, limit); got != s.want {
			t.Fatalf("step %d: ValidateCounter(%d) = %v, want %v", i, s.counter, got, s.want)
		}
	}
}

func TestValidateCounter(t *testing.T) {
	const W = WindowSize
	const lim = W + 1 // the kernel selftest's T_LIM
	tests := []struct {
		name  string
		limit uint64
		steps []step
	}{
		{"in order", rejectAfterMessages, []step{{0, true}, {1, true}, {2, true}, {3, true}, {64, true}, {65, true}}},
		{"duplicates", rejectAfterMessages, []step{{0, true}, {0, false}, {5, true}, {5, false}, {0, false}, {4, true}, {4, false}}},
		{"reorder within window", rejectAfterMessages, []step{{9, true}, {8, true}, {7, true}, {7, false}, {1000, true}, {10, true}, {999, true}, {11, true}, {10, false}}},
		{"zero value accepts 0 once", rejectAfterMessages, []step{{0, true}, {0, false}, {1, true}}},
		// Both edges of the window: with max M seen, M-8128 is the oldest
		// accepted counter and M-8129 the newest rejected (kernel:
		// reject when COUNTER_WINDOW_SIZE + c + 1 < M + 1).
		{"boundary, M at block start", rejectAfterMessages, []step{{1000 * 64, true}, {1000*64 - W, true}, {1000*64 - W - 1, false}, {1000*64 - W, false}}},
		{"boundary, M at block end", rejectAfterMessages, []step{{1000*64 + 63, true}, {1000*64 + 63 - W, true}, {1000*64 + 63 - W - 1, false}}},
		{"boundary, first window", rejectAfterMessages, []step{{W, true}, {0, true}, {W + 1, true}, {1, true}, {W + 2, true}, {1, false}, {2, true}}},
		{"too old", rejectAfterMessages, []step{{1 << 20, true}, {1, false}, {1<<20 - W - 1, false}, {1<<20 - W - 1000, false}}},
		{"jump clears whole ring", rejectAfterMessages, []step{{5, true}, {5 + 128*64, true}, {5 + 128*64 - W, true}, {5 + 256*64, true}, {5 + 256*64 - 128*64, false}, {5 + 256*64 - 64, true}}},
		{"wraparound of blocks", rejectAfterMessages, []step{{127 * 64, true}, {128 * 64, true}, {129*64 + 1, true}, {64 + 1, false}, {128*64 + 1, true}, {129 * 64, true}, {129 * 64, false}, {127*64 + 1, true}}},
		{"limit", 100, []step{{99, true}, {100, false}, {101, false}, {^uint64(0), false}, {98, true}}},
		{"limit zero", 0, []step{{0, false}, {1, false}}},
		// The kernel's selftest (drivers/net/wireguard/selftest/counter.c).
		{"kernel selftest", rejectAfterMessages, []step{
			{0, true}, {1, true}, {1, false}, {9, true}, {8, true}, {7, true}, {7, false},
			{lim, true}, {lim - 1, true}, {lim - 1, false}, {lim - 2, true}, {2, true}, {2, false},
			{lim + 16, true}, {3, false}, {lim + 16, false}, {lim * 4, true}, {lim*4 - (lim - 1), true},
			{10, false}, {lim*4 - lim, false}, {lim*4 - (lim + 1), false}, {lim*4 - (lim - 2), true},
			{lim*4 + 1 - lim, false}, {0, false},
			{rejectAfterMessages, false}, {rejectAfterMessages - 1, true}, {rejectAfterMessages, false},
			{rejectAfterMessages - 1, false}, {rejectAfterMessages - 2, true}, {rejectAfterMessages + 1, false},
			{rejectAfterMessages + 2, false}, {rejectAfterMessages - 2, false}, {rejectAfterMessages - 3, true},
			{0, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f Filter
			runSteps(t, &f, tt.limit, tt.steps)
			// The same steps after Reset of a dirtied filter behave alike.
			for i := uint64(0); i < 3*ringBlocks*blockBits; i += 7 {
				f.ValidateCounter(i, rejectAfterMessages)
			}
			f.Reset()
			runSteps(t, &f, tt.limit, tt.steps)
		})
	}
}

// TestBulk ports the kernel's bulk tests: a full window in either order,
// then the counters at and past its far edge.
func TestBulk(t *testing.T) {
	const W = WindowSize
	tests := []struct {
		name     string
		from, to uint64 // inclusive; descending when from > to
		then     []step
	}{
		{"1..W", 1, W, []step{{0, true}, {0, false}}},
		{"2..W+1", 2, W + 1, []step{{1, true}, {0, false}}},
		{"W+1..1", W + 1, 1, []step{{0, false}}},
		{"W+2..2", W + 2, 2, []step{{0, false}, {1, false}}},
		{"W..1, then W+1", W, 1, []step{{W + 1, true}, {0, false}}},
		{"W..1, then 0", W, 1, []step{{0, true}, {W + 1, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f Filter
			for i := tt.from; ; {
				if !f.ValidateCounter(i, rejectAfterMessages) {
					t.Fatalf("counter %d rejected", i)
				}
				if i == tt.to {
					break
				}
				if tt.from < tt.to {
					i++
				} else {
					i--
				}
			}
			runSteps(t, &f, rejectAfterMessages, tt.then)
		})
	}
}

// TestAgainstModel checks random traffic against the definition.
func TestAgainstModel(t *testing.T) {
	for _, spread := range []uint64{100, 9000, 20000, 1 << 40} {
		rng := rand.New(rand.NewPCG(1, spread))
		var f Filter
		seen := map[uint64]bool{}
		var max uint64
		base := uint64(0)
		for i := 0; i < 100000; i++ {
			// Mostly near the front, sometimes far back or far ahead.
			var c uint64
			switch r := rng.IntN(10); {
			case r < 7:
				c = base + rng.Uint64N(spread)
			case r < 9:
				c = max - min(max, rng.Uint64N(2*WindowSize))
			default:
				c = max + rng.Uint64N(3*ringBlocks*blockBits)
			}
			if rng.IntN(100) == 0 {
				base += spread / 2
			}
			limit := uint64(rejectAfterMessages)
			want := c < limit && !seen[c] && (c > max || max-c <= WindowSize)
			if got := f.ValidateCounter(c, limit); got != want {
				t.Fatalf("spread %d step %d: counter %d (max %d): got %v, want %v", spread, i, c, max, got, want)
			}
			if want {
				seen[c] = true
				if c > max {
					max = c
				}
			}
		}
	}
}

func BenchmarkValidateCounter(b *testing.B) {
	b.Run("in-order", func(b *testing.B) {
		var f Filter
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			f.ValidateCounter(uint64(i), rejectAfterMessages)
		}
	})
	b.Run("reordered", func(b *testing.B) {
		// Pairs swapped across CPUs: 1,0,3,2,…
		var f Filter
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			f.ValidateCounter(uint64(i^1), rejectAfterMessages)
		}
	})
	b.Run("replayed", func(b *testing.B) {
		var f Filter
		f.ValidateCounter(1000, rejectAfterMessages)
		b.ReportAllocs()
		for b.Loop() {
			f.ValidateCounter(1000, rejectAfterMessages)
		}
	})
	b.Run("jumps", func(b *testing.B) {
		var f Filter
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			f.ValidateCounter(uint64(i)*4096, rejectAfterMessages)
		}
	})
}
