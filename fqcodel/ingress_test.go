package fqcodel

import (
	"math"
	"testing"
	"time"
)

// A packet every 100 µs whose sojourn time is below target is never
// dropped; one that stays above is first dropped after an interval, then
// at interval/sqrt(count) spacing; once below target again, drops stop;
// a new spell soon after starts from the remembered count.
func TestCoDelIngress(t *testing.T) {
	ms := int64(time.Millisecond)
	d := NewCoDel(0, 0)
	now := int64(1e9)
	step := int64(100 * time.Microsecond)
	for range 20000 { // 2 s below target
		if d.Drop(4*ms, now) {
			t.Fatal("dropped below target")
		}
		now += step
	}
	var drops []int64
	start := now
	for now < start+2000*ms { // 2 s above target
		if d.Drop(20*ms, now) {
			drops = append(drops, now-start)
		}
		now += step
	}
	if len(drops) < 3 {
		t.Fatalf("%d drops in 2 s above target", len(drops))
	}
	if first := drops[0]; first < 100*ms || first > 101*ms {
		t.Fatalf("first drop after %v, want just past the 100 ms interval", time.Duration(first))
	}
	for i := 1; i < len(drops); i++ {
		gap := float64(drops[i] - drops[i-1])
		want := 100e6 / math.Sqrt(float64(i))
		if math.Abs(gap-want) > float64(step)+1 {
			t.Fatalf("gap %d: %v, want %v (interval/sqrt(%d))", i, time.Duration(gap), time.Duration(want), i)
		}
	}
	dropping, count := d.Dropping()
	if !dropping || int(count) != len(drops) {
		t.Fatalf("dropping %v count %d after %d drops", dropping, count, len(drops))
	}
	// Below target: out of the dropping state at once.
	if d.Drop(1*ms, now) {
		t.Fatal("dropped below target")
	}
	if dropping, _ := d.Dropping(); dropping {
		t.Fatal("still dropping below target")
	}
	// Above again within 16 intervals: the count resumes near where it was.
	now += 50 * ms
	for !d.Drop(20*ms, now) {
		now += step
	}
	if _, c := d.Dropping(); int(c) < len(drops)-2 {
		t.Fatalf("new spell starts at count %d, want about %d (count memory)", c, len(drops))
	}
}
