package fqcodel

import (
	"math"
	"testing"
	"time"
)

// The Newton iteration, one step per increment of count as CoDel takes
// them, tracks 1/sqrt(count) closely (RFC 8289 §5.4: the control law needs
// only the reciprocal square root).
func TestInvSqrtNewton(t *testing.T) {
	c := codel{count: 1, invSqrt: invSqrtOne}
	worst := 0.0
	for c.count < 200000 {
		c.count++
		c.newtonStep()
		want := 1 / math.Sqrt(float64(c.count))
		got := float64(c.invSqrt) / (1 << 32)
		worst = max(worst, math.Abs(got-want)/want)
	}
	if worst > 2e-7 { // the resolution of Q0.32 at count 200000 is 1e-7
		t.Errorf("worst relative error of 1/sqrt over counts 2..200000: %g", worst)
	}
	// A jump in count (the overlimit path adds up to DropBatch) makes the
	// old estimate too large for Newton to converge from; the step falls
	// back to the exact value.
	for _, from := range []uint32{1, 2, 10, 1000} {
		c := codel{count: from}
		c.setInvSqrt()
		c.count += 65
		c.newtonStep()
		want := 1 / math.Sqrt(float64(c.count))
		if got := float64(c.invSqrt) / (1 << 32); math.Abs(got-want)/want > 0.01 {
			t.Errorf("count %d+65: invSqrt %g, want %g", from, got, want)
		}
	}
}

func TestControlLaw(t *testing.T) {
	const iv = int64(100 * time.Millisecond)
	for _, n := range []uint32{1, 2, 4, 9, 100, 10000} {
		c := codel{count: n}
		c.setInvSqrt()
		got := controlLaw(1000, iv, c.invSqrt) - 1000
		want := float64(iv) / math.Sqrt(float64(n))
		if math.Abs(float64(got)-want) > 2 {
			t.Errorf("count %d: interval/sqrt(count) = %d ns, want %.0f", n, got, want)
		}
	}
	// No overflow for long intervals.
	if got := controlLaw(0, int64(time.Hour), invSqrtOne); got < int64(time.Hour-time.Microsecond) || got > int64(time.Hour) {
		t.Errorf("controlLaw(0, 1h, 1) = %v", time.Duration(got))
	}
}

// RFC 8289 §5.2-5.3: a sojourn time at or above target must persist for
// an interval before the first drop; the drop then comes at the first
// dequeue after that interval.
func TestCoDelWaitsAnIntervalAboveTarget(t *testing.T) {
	h := newHarness(t, Config{ECN: ECNOff})
	// 1000-byte packets every 0.8 ms into a link that sends one per ms.
	const service = time.Millisecond
	d := cbrSim(h, 1, 1000, 800*time.Microsecond, service, 50*time.Microsecond, time.Second, udp4)
	var t0 time.Duration = -1
	for _, x := range d {
		if x.sojourn >= DefaultTarget {
			t0 = x.at
			break
		}
	}
	if t0 < 0 || len(h.drops) == 0 {
		t.Fatalf("sojourn never reached target (%v) or no drops (%d)", t0, len(h.drops))
	}
	first := h.drops[0].at
	t.Logf("sojourn first >= target at %v, first drop at %v", t0, first)
	if first <= t0+DefaultInterval || first > t0+DefaultInterval+2*service {
		t.Errorf("first drop at %v, want just after %v + interval %v", first, t0, DefaultInterval)
	}
	h.check()
}

// RFC 8289 §5.4: in the dropping state the k-th drop is followed by the
// next one interval/sqrt(k) later, the schedule advancing from the planned
// drop time, not the actual one. Drops happen at dequeues, so each comes at
// the first dequeue at or after its planned time.
func TestCoDelDropSpacing(t *testing.T) {
	h := newHarness(t, Config{ECN: ECNOff})
	const service = 100 * time.Microsecond
	// 25% overload that the drops (about 150/s after 3 s) never catch up
	// with: one dropping state throughout.
	cbrSim(h, 1, 100, 80*time.Microsecond, service, 20*time.Microsecond, 3*time.Second, udp4)
	if s := h.q.Stats(); s.OverlimitDroppedPackets != 0 {
		t.Fatalf("overlimit drops disturb the schedule: %+v", s)
	}
	if len(h.drops) < 100 {
		t.Fatalf("only %d drops", len(h.drops))
	}
	planned := float64(h.drops[0].at)
	for k := 1; k < len(h.drops); k++ {
		planned += float64(DefaultInterval) / math.Sqrt(float64(k))
		got := float64(h.drops[k].at)
		if got < planned-1000 || got > planned+float64(service)+1000 { // 1 µs for rounding
			t.Fatalf("drop %d at %v, planned %v (+ up to one dequeue, %v)", k+1, h.drops[k].at, time.Duration(planned), service)
		}
	}
	t.Logf("%d drops, last gap %v (interval/sqrt(%d) = %v)", len(h.drops),
		h.drops[len(h.drops)-1].at-h.drops[len(h.drops)-2].at, len(h.drops)-1,
		time.Duration(float64(DefaultInterval)/math.Sqrt(float64(len(h.drops)-1))))
	if got := h.q.flows[h.q.classify(udp4(1, 100).b)].codel.count; int(got) != len(h.drops) {
		t.Errorf("count %d after %d drops", got, len(h.drops))
	}
	h.check()
}

// RFC 8289 §5.5 (Linux codel_dequeue): re-entering the dropping state soon
// (within 16 intervals of the last planned drop) after leaving it starts
// from count - lastcount, the drop rate that controlled the queue last
// time, rather than from 1; later, it starts from 1.
func TestCoDelCountMemory(t *testing.T) {
	h := newHarness(t, Config{ECN: ECNOff})
	fi := h.q.classify(udp4(1, 100).b)
	c := &h.q.flows[fi].codel
	const service = 100 * time.Microsecond
	overload := func(dur time.Duration) {
		cbrSim(h, 1, 100, 80*time.Microsecond, service, 10*time.Microsecond, dur, udp4)
	}
	drain := func() {
		for h.q.Len() > 0 {
			h.clk.Advance(service)
			h.dequeue()
		}
		h.clk.Advance(service)
		h.dequeue() // finds the flow empty: leaves the dropping state
		if c.dropping {
			t.Fatal("still dropping with an empty queue")
		}
	}

	overload(time.Second)
	if !c.dropping || c.lastcount != 1 {
		t.Fatalf("first spell: dropping %v lastcount %d, want true 1", c.dropping, c.lastcount)
	}
	drain()
	count1 := c.count // dropping went on while the backlog drained

	// Again, promptly.
	before := len(h.drops)
	for !c.dropping {
		overload(time.Millisecond)
	}
	entry := h.drops[before].at
	want := count1 - 1
	if c.count != want || c.lastcount != want {
		t.Fatalf("re-entry: count %d lastcount %d, want count-lastcount = %d-1", c.count, c.lastcount, count1)
	}
	wantGap := float64(DefaultInterval) / math.Sqrt(float64(want))
	if got := float64(c.dropNext - int64(entry)); math.Abs(got-wantGap) > 1000 {
		t.Errorf("next drop %v after re-entry, want interval/sqrt(%d) = %v", time.Duration(got), want, time.Duration(wantGap))
	}
	t.Logf("first spell count %d; re-entered with count %d, next drop in %v", count1, c.count, time.Duration(c.dropNext-int64(entry)))

	// Once more, after a long pause: the memory has lapsed.
	drain()
	h.clk.Advance(20 * DefaultInterval)
	for !c.dropping {
		overload(time.Millisecond)
	}
	if c.count != 1 {
		t.Errorf("re-entry after 20 intervals: count %d, want 1", c.count)
	}
	h.check()
}

// CoDel keeps a standing queue from forming: a responsive (Reno-like)
// sender that would fill any FIFO is held to a sojourn time of about
// target while the link stays busy (RFC 8289 §§1, 3.2). ECN marks do the
// same job as drops without losing packets.
func TestCoDelControlsStandingQueue(t *testing.T) {
	const (
		service = time.Millisecond // 1000-byte packets: 8 Mbit/s
		rtt     = 20 * time.Millisecond
		dur     = 12 * time.Second
	)
	type result struct {
		mean, max   time.Duration
		utilisation float64
		s           Stats
	}
	run := func(mode Mode, ecn byte) result {
		h := newHarness(t, Config{Mode: mode})
		d := renoSim(h, 1000, ecn, service, rtt, 200*time.Microsecond, dur)
		var r result
		var sum time.Duration
		n := 0
		for _, x := range d {
			if x.at < dur/2 {
				continue
			}
			sum += x.sojourn
			r.max = max(r.max, x.sojourn)
			n++
		}
		r.mean = sum / time.Duration(n)
		r.utilisation = float64(n) / float64((dur/2)/service)
		r.s = h.q.Stats()
		h.check()
		t.Logf("%v ecn %d: second half mean sojourn %v max %v, link %.0f%% busy; codel drops %d, marks %d",
			mode, ecn, r.mean, r.max, 100*r.utilisation, r.s.CoDelDroppedPackets, r.s.ECNMarked)
		return r
	}
	for _, ecn := range []byte{ecnNotECT, ecnECT0} {
		r := run(ModeFQCoDel, ecn)
		if r.mean > 2*DefaultTarget || r.max > 4*DefaultTarget {
			t.Errorf("ecn %d: sojourn mean %v max %v, want about target %v", ecn, r.mean, r.max, DefaultTarget)
		}
		if r.utilisation < 0.9 {
			t.Errorf("ecn %d: link only %.0f%% busy", ecn, 100*r.utilisation)
		}
		if ecn == ecnNotECT && (r.s.CoDelDroppedPackets == 0 || r.s.ECNMarked != 0) {
			t.Errorf("Not-ECT: %d drops, %d marks", r.s.CoDelDroppedPackets, r.s.ECNMarked)
		}
		if ecn == ecnECT0 && (r.s.CoDelDroppedPackets != 0 || r.s.ECNMarked == 0) {
			t.Errorf("ECT(0): %d drops, %d marks", r.s.CoDelDroppedPackets, r.s.ECNMarked)
		}
	}
	// The same sender through the FIFO builds the standing queue CoDel
	// prevents.
	if r := run(ModeFIFO, ecnNotECT); r.mean < 10*DefaultTarget {
		t.Errorf("FIFO mean sojourn %v: the comparison is not exercising a standing queue", r.mean)
	}
}

// RFC 8289 §5.2 (Linux's maxpacket test): no drop while at most one
// quantum is queued in all, however long it has waited.
func TestCoDelSparesTheLastQuantum(t *testing.T) {
	h := newHarness(t, Config{ECN: ECNOff})
	for range 200 {
		h.enqueue(udp4(1, 1000))
		h.enqueue(udp4(1, 500))
		h.clk.Advance(time.Second)
		h.dequeue()
		h.clk.Advance(time.Second)
		h.dequeue()
	}
	if n := len(h.drops); n != 0 {
		t.Errorf("%d drops with at most 1500 bytes queued", n)
	}
}

// An unresponsive flow is held to its share of drops; it does not need
// ECN or a sender's cooperation for the queue to stay bounded well below
// the limits.
func TestCoDelUnresponsiveFlowBounded(t *testing.T) {
	h := newHarness(t, Config{ECN: ECNOff})
	d := cbrSim(h, 1, 1000, 900*time.Microsecond, time.Millisecond, 100*time.Microsecond, 12*time.Second, udp4)
	var worst time.Duration
	for _, x := range d[len(d)/2:] {
		worst = max(worst, x.sojourn)
	}
	s := h.q.Stats()
	t.Logf("11%% overload: worst sojourn in the second half %v; %d codel drops of %d", worst, s.CoDelDroppedPackets, s.EnqueuedPackets)
	if s.OverlimitDroppedPackets != 0 || worst > 20*DefaultTarget {
		t.Errorf("worst sojourn %v, overlimit drops %d", worst, s.OverlimitDroppedPackets)
	}
	// Drops remove the excess: about 1 - 900/1000 of arrivals.
	if frac := float64(s.CoDelDroppedPackets) / float64(s.EnqueuedPackets); frac < 0.08 || frac > 0.12 {
		t.Errorf("dropped %.3f of arrivals, want about 0.1", frac)
	}
	h.check()
}
