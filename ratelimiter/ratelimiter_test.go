package ratelimiter

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is virtual time, safe for concurrent use.
type fakeClock struct{ ns atomic.Int64 }

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func (c *fakeClock) now() time.Time          { return epoch.Add(time.Duration(c.ns.Load())) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

var addr = netip.MustParseAddr

func TestBucket(t *testing.T) {
	type step struct {
		after time.Duration // advance the clock first
		n     int           // then send n packets
		want  int           // of which this many pass
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"burst of 5", []step{{0, 10, 5}}},
		{"then one per 50ms", []step{{0, 5, 5}, {49 * time.Millisecond, 1, 0}, {time.Millisecond, 2, 1}, {50 * time.Millisecond, 1, 1}}},
		{"refill caps at the burst", []step{{0, 5, 5}, {time.Hour, 10, 5}}},
		{"partial refill", []step{{0, 5, 5}, {175 * time.Millisecond, 5, 3}, {25 * time.Millisecond, 5, 1}}},
		{"refused packets cost nothing", []step{{0, 5, 5}, {0, 100, 0}, {50 * time.Millisecond, 1, 1}}},
		{"20 per second sustained", []step{{0, 100, 5}, {time.Second, 100, 5}, {50 * time.Millisecond, 100, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c fakeClock
			l := New(c.now, 0)
			ip := addr("192.0.2.1")
			for i, s := range tt.steps {
				c.advance(s.after)
				got := 0
				for range s.n {
					if l.Allow(ip) {
						got++
					}
				}
				if got != s.want {
					t.Fatalf("step %d: %d of %d allowed, want %d", i, got, s.n, s.want)
				}
			}
		})
	}
}

// TestRate offers packets at a steady rate for ten virtual seconds.
func TestRate(t *testing.T) {
	const d = 10 * time.Second
	tests := []struct {
		interval time.Duration
		want     int
	}{
		{time.Millisecond, 5 + 20*10}, // flood: burst, then 20/s
		{10 * time.Millisecond, 5 + 20*10},
		{40 * time.Millisecond, 5 + 20*10},
		{50 * time.Millisecond, 200}, // exactly the rate: all pass
		{100 * time.Millisecond, 100},
		{2 * time.Second, 5},
	}
	for _, tt := range tests {
		t.Run(tt.interval.String(), func(t *testing.T) {
			var c fakeClock
			l := New(c.now, 0)
			got := 0
			for elapsed := time.Duration(0); elapsed < d; elapsed += tt.interval {
				if l.Allow(addr("198.51.100.7")) {
					got++
				}
				c.advance(tt.interval)
			}
			// The last packet of a flood may or may not catch the refill.
			if got != tt.want && got != tt.want-1 {
				t.Fatalf("%d allowed, want %d", got, tt.want)
			}
		})
	}
}

func TestKeys(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", true},
		{"2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"2001:db8:1:2::1%eth0", "2001:db8:1:2::2", true},
		{"10.0.0.1", "10.0.0.1", true},
		{"10.0.0.1", "10.0.0.2", false},
		{"10.0.0.1", "::ffff:10.0.0.1", true},
		{"10.0.0.1", "::ffff:10.0.0.2", false}, // all of IPv4 is in one v6 /64
		{"0.0.0.0", "::", false},
		{"10.0.0.1", "::a00:1", false},
	}
	for _, tt := range tests {
		t.Run(tt.a+" "+tt.b, func(t *testing.T) {
			var c fakeClock
			l := New(c.now, 0)
			for range 5 {
				if !l.Allow(addr(tt.a)) {
					t.Fatal("burst refused")
				}
			}
			if got := l.Allow(addr(tt.b)); got == tt.same {
				t.Fatalf("Allow(%s) after draining %s = %v; same bucket = %v", tt.b, tt.a, got, tt.same)
			}
		})
	}
	var c fakeClock
	if New(c.now, 0).Allow(netip.Addr{}) {
		t.Error("invalid address allowed")
	}
}

func TestBoundedTable(t *testing.T) {
	var c fakeClock
	l := New(c.now, 3)
	ip := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}) }
	for i := range 3 {
		if !l.Allow(ip(i)) {
			t.Fatalf("source %d refused", i)
		}
	}
	if l.Allow(ip(3)) {
		t.Fatal("fourth source allowed into a full table")
	}
	if !l.Allow(ip(0)) {
		t.Fatal("known source refused")
	}
	// Sources 1 and 2 go idle; 0 stays busy.
	for range 10 {
		c.advance(200 * time.Millisecond)
		l.Allow(ip(0))
	}
	// The full table sweeps itself for the new source.
	if !l.Allow(ip(3)) || !l.Allow(ip(4)) {
		t.Fatal("new sources refused though idle ones could go")
	}
	if l.Allow(ip(5)) {
		t.Fatal("source allowed into a table full of busy sources")
	}
	if n := len(l.table); n != 3 {
		t.Fatalf("table has %d entries, want 3", n)
	}
	// The lazy sweep runs at most once per sweepInterval.
	c.advance(time.Duration(idleTimeout) + 1) // all idle now
	if !l.Allow(ip(6)) {
		t.Fatal("sweep after a second did not run")
	}
	for i := 7; i < 9; i++ {
		if !l.Allow(ip(i)) {
			t.Fatalf("source %d refused", i)
		}
	}
	if l.Allow(ip(9)) {
		t.Fatal("full table swept twice within sweepInterval")
	}
}

func TestGC(t *testing.T) {
	var c fakeClock
	l := New(c.now, 0)
	l.Allow(addr("10.0.0.1"))
	l.Allow(addr("2001:db8::1"))
	c.advance(500 * time.Millisecond)
	l.Allow(addr("10.0.0.2"))
	c.advance(500 * time.Millisecond)
	l.GC() // 10.0.0.1 and 2001:db8::1 idle exactly 1 s: kept
	if n := len(l.table); n != 3 {
		t.Fatalf("after 1 s: %d entries, want 3", n)
	}
	c.advance(time.Nanosecond)
	l.GC()
	if n := len(l.table); n != 1 {
		t.Fatalf("after 1 s + 1 ns: %d entries, want 1", n)
	}
	if _, ok := l.table[mustKey(addr("10.0.0.2"))]; !ok {
		t.Fatal("the wrong entry survived")
	}
	// A recycled entry starts with a fresh bucket.
	for i := range 5 {
		if !l.Allow(addr("10.9.9.9")) {
			t.Fatalf("packet %d of a new source's burst refused", i)
		}
	}
	c.advance(2 * time.Second)
	l.GC()
	if n := len(l.table); n != 0 {
		t.Fatalf("%d entries left", n)
	}
}

func mustKey(a netip.Addr) key {
	k, _ := keyOf(a)
	return k
}

func TestClose(t *testing.T) {
	var c fakeClock
	l := New(c.now, 0)
	known := addr("10.0.0.1")
	l.Allow(known)
	l.Close()
	if l.Allow(known) || l.Allow(addr("10.0.0.2")) {
		t.Fatal("Allow after Close")
	}
	l.GC()
	l.Close()
}

func TestAllocs(t *testing.T) {
	var c fakeClock
	l := New(c.now, 0)
	ip := addr("2001:db8::1")
	l.Allow(ip)
	if n := testing.AllocsPerRun(1000, func() { c.advance(time.Millisecond); l.Allow(ip) }); n != 0 {
		t.Fatalf("Allow allocates %v times for a known source", n)
	}
}

// TestConcurrent: under -race, and with the clock frozen, a source's burst
// is shared exactly between goroutines, while others churn the table.
func TestConcurrent(t *testing.T) {
	var c fakeClock
	l := New(c.now, 64)
	shared := addr("192.0.2.1")
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				if l.Allow(shared) {
					allowed.Add(1)
				}
				l.Allow(netip.AddrFrom4([4]byte{10, byte(g), byte(i >> 8), byte(i)}))
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			l.GC()
		}
	})
	wg.Wait()
	if n := allowed.Load(); n != 5 {
		t.Fatalf("%d packets of one source allowed at one instant, want 5", n)
	}
	// And with time moving.
	allowed.Store(0)
	for g := range 3 {
		wg.Go(func() {
			for i := range 2000 {
				if g == 0 {
					c.advance(time.Millisecond)
				}
				if l.Allow(shared) {
					allowed.Add(1)
				}
				if i%100 == 0 {
					l.GC()
				}
			}
		})
	}
	wg.Wait()
	// At most 2 s passed: at most a burst plus 20/s.
	if n := allowed.Load(); n > 5+40 {
		t.Fatalf("%d packets allowed in ≤ 2 s", n)
	}
}

func BenchmarkAllow(b *testing.B) {
	b.Run("known", func(b *testing.B) {
		l := New(nil, 0)
		ip := addr("192.0.2.1")
		b.ReportAllocs()
		for b.Loop() {
			l.Allow(ip)
		}
	})
	b.Run("known-parallel", func(b *testing.B) {
		l := New(nil, 0)
		b.ReportAllocs()
		var n atomic.Int32
		b.RunParallel(func(pb *testing.PB) {
			ip := netip.AddrFrom4([4]byte{10, 0, 0, byte(n.Add(1))})
			for pb.Next() {
				l.Allow(ip)
			}
		})
	})
	b.Run("new-sources-full-table", func(b *testing.B) {
		// A flood of spoofed sources against a full table of busy ones.
		l := New(nil, 1024)
		for i := range 1024 {
			l.Allow(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}))
		}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			l.Allow(netip.AddrFrom4([4]byte{172, byte(i >> 16), byte(i >> 8), byte(i)}))
		}
	})
	for _, size := range []int{1024} {
		b.Run(fmt.Sprintf("new-sources-gc-%d", size), func(b *testing.B) {
			// Churn through a table with GC every size sources.
			l := New(nil, size)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if i%size == 0 {
					l.mu.Lock()
					l.sweep(1 << 62)
					l.mu.Unlock()
				}
				l.Allow(netip.AddrFrom4([4]byte{172, byte(i >> 16), byte(i >> 8), byte(i)}))
			}
		})
	}
}
