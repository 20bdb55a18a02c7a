package fqcodel

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/packet"
)

// distinctFlows returns n test flow numbers that hash to n different flow
// queues of q.
func distinctFlows[T any](q *Queue[T], n int) []int {
	used := map[int32]bool{}
	var out []int
	for f := 1; len(out) < n; f++ {
		fi := q.classify(buildIP(ipOpts{flow: f}))
		if !used[fi] {
			used[fi] = true
			out = append(out, f)
		}
	}
	return out
}

// RFC 8290 §4.2 and §1.3: a flow that has nothing queued is a new flow and
// is served before the backlogged (old) flows, so a sparse flow's packet
// overtakes a bulk flow's backlog.
func TestNewFlowPriority(t *testing.T) {
	h := newHarness(t, Config{})
	fl := distinctFlows(h.q, 2)
	bulk, sparse := fl[0], fl[1]
	for i := range 100 {
		p := udp4(bulk, 1000)
		p.seq = i
		h.enqueue(p)
	}
	// Serve the bulk flow until it has used its first quantum and moved
	// to the old list.
	for range 3 {
		if p := h.dequeue(); p.flow != bulk {
			t.Fatalf("got flow %d", p.flow)
		}
	}
	for round := range 5 {
		h.enqueue(udp4(sparse, 100))
		if p := h.dequeue(); p == nil || p.flow != sparse {
			t.Fatalf("round %d: sparse packet not served first (got %+v) behind a backlog of %d", round, p, h.q.Len())
		}
		// A few bulk packets go by before the next sparse one arrives.
		for range 3 {
			if p := h.dequeue(); p.flow != bulk {
				t.Fatalf("round %d: got flow %d", round, p.flow)
			}
		}
		h.check()
	}
	if s := h.q.Stats(); s.NewFlows != 6 {
		t.Errorf("NewFlows %d, want 1 bulk + 5 sparse", s.NewFlows)
	}
}

// RFC 8290 §4.2: a new flow that empties is moved to the end of the old
// list instead of being removed, so a packet arriving for it soon after
// does not get new-flow priority again and cannot starve the old flows.
func TestEmptiedNewFlowMovesToOldList(t *testing.T) {
	h := newHarness(t, Config{})
	fl := distinctFlows(h.q, 2)
	bulk, sparse := fl[0], fl[1]
	for range 50 {
		h.enqueue(udp4(bulk, 300))
	}
	// Six 300-byte packets use up the bulk flow's first quantum; the
	// seventh is its first in the old list.
	for range 7 {
		h.dequeue()
	}
	h.enqueue(udp4(sparse, 100))
	if p := h.dequeue(); p.flow != sparse {
		t.Fatal("sparse packet not first")
	}
	sf := &h.q.flows[h.q.classify(udp4(sparse, 100).b)]
	if sf.list != listNew {
		t.Fatalf("served sparse flow on list %d, want new until its empty queue is seen", sf.list)
	}
	if p := h.dequeue(); p.flow != bulk {
		t.Fatal("want bulk")
	}
	if sf.list != listOld {
		t.Fatalf("emptied new flow on list %d, want the old list", sf.list)
	}
	h.check()
	// Still on the old list, behind the bulk flow, its next packet waits
	// for the bulk flow's quantum instead of going first.
	newFlows := h.q.Stats().NewFlows
	h.enqueue(udp4(sparse, 100))
	if sf.list != listOld || h.q.Stats().NewFlows != newFlows {
		t.Fatal("re-arriving flow became new again")
	}
	if p := h.dequeue(); p.flow != bulk {
		t.Fatal("re-arriving flow jumped the old list")
	}
	found := false
	for range 4 {
		if h.dequeue().flow == sparse {
			found = true
			break
		}
	}
	if !found {
		t.Error("sparse packet not served after the bulk flow's quantum")
	}
	// Once the old list finds it empty it leaves the lists altogether,
	// and its next packet is new again.
	for range 3 {
		h.dequeue()
	}
	if sf.list != listNone {
		t.Fatalf("emptied old flow on list %d, want none", sf.list)
	}
	h.enqueue(udp4(sparse, 100))
	if p := h.dequeue(); p.flow != sparse {
		t.Error("flow that left the lists is not new again")
	}
	h.check()
}

// RFC 8290 §4.2 (deficit round robin): backlogged flows get equal bytes
// over time, whatever their packet sizes, including packets larger than
// the quantum.
func TestDRRFairShareOfBytes(t *testing.T) {
	for _, quantum := range []int{DefaultQuantum, 300} {
		h := newHarness(t, Config{Quantum: quantum})
		sizes := []int{1500, 576, 64, 1000}
		fl := distinctFlows(h.q, len(sizes))
		queued := make([]int, len(sizes))
		bytes := make([]int, len(sizes))
		byFlow := map[int]int{}
		for i, f := range fl {
			byFlow[f] = i
		}
		for range 10000 {
			for i, f := range fl {
				for queued[i] < 20 {
					h.enqueue(udp4(f, sizes[i]))
					queued[i]++
				}
			}
			p := h.dequeue()
			i := byFlow[p.flow]
			queued[i]--
			bytes[i] += len(p.b)
		}
		lo, hi := bytes[0], bytes[0]
		for _, b := range bytes {
			lo, hi = min(lo, b), max(hi, b)
		}
		t.Logf("quantum %d: bytes per flow %v", quantum, bytes)
		if hi-lo > 2*(quantum+1500) {
			t.Errorf("quantum %d: bytes per flow %v differ by %d, more than two rounds", quantum, bytes, hi-lo)
		}
		if s := h.q.Stats(); s.CoDelDroppedPackets+s.OverlimitDroppedPackets != 0 {
			t.Errorf("unexpected drops: %+v", s)
		}
		h.check()
	}
}

// Linux fq_codel_drop: over the packet limit, the enqueue drops from the
// head of the fattest flow, half its backlog or DropBatch packets,
// whichever is fewer, and hands them back; the other flows keep theirs.
func TestPacketLimitDropsFromFattestFlow(t *testing.T) {
	for _, tc := range []struct {
		batch, want int
	}{{0, 35}, {8, 8}} {
		h := newHarness(t, Config{PacketLimit: 100, DropBatch: tc.batch})
		fl := distinctFlows(h.q, 2)
		fat, thin := fl[0], fl[1]
		all := map[*pkt]bool{}
		add := func(f, seq int) bool {
			p := udp4(f, 100)
			p.seq = seq
			all[p] = true
			return h.enqueue(p)
		}
		for i := range 70 {
			add(fat, i)
		}
		for i := range 30 {
			add(thin, i)
		}
		if len(h.drops) != 0 {
			t.Fatal("dropped at the limit")
		}
		if !add(thin, 30) {
			t.Fatal("the arriving packet was dropped, not the fat flow's")
		}
		if len(h.drops) != tc.want {
			t.Fatalf("batch %d: dropped %d, want %d", tc.batch, len(h.drops), tc.want)
		}
		for i, d := range h.drops {
			if d.p.flow != fat || d.p.seq != i {
				t.Fatalf("drop %d: flow %d seq %d, want the fat flow's head", i, d.p.flow, d.p.seq)
			}
		}
		s := h.q.Stats()
		if s.OverlimitDroppedPackets != uint64(tc.want) || s.OvermemoryDroppedPackets != 0 || s.BacklogPackets != 101-tc.want {
			t.Errorf("stats %+v", s)
		}
		fi := h.q.classify(udp4(fat, 100).b)
		if c := h.q.flows[fi].codel.count; c != uint32(tc.want) {
			t.Errorf("fat flow's CoDel count %d, want raised by %d", c, tc.want)
		}
		h.check()
		// Everything comes back exactly once, each flow in order.
		for _, d := range h.drops {
			delete(all, d.p)
		}
		next := map[int]int{fat: tc.want}
		for p := h.dequeue(); p != nil; p = h.dequeue() {
			if !all[p] {
				t.Fatalf("packet flow %d seq %d returned twice", p.flow, p.seq)
			}
			delete(all, p)
			if p.seq != next[p.flow] {
				t.Fatalf("flow %d: seq %d, want %d", p.flow, p.seq, next[p.flow])
			}
			next[p.flow]++
		}
		if len(all) != 0 {
			t.Errorf("%d packets never returned", len(all))
		}
	}
}

func TestMemoryLimitDropsFromFattestFlow(t *testing.T) {
	h := newHarness(t, Config{MemoryLimit: 10000})
	fl := distinctFlows(h.q, 2)
	fat, thin := fl[0], fl[1]
	for range 8 {
		h.enqueue(udp4(fat, 1000))
	}
	for range 4 {
		h.enqueue(udp4(thin, 500))
	}
	if len(h.drops) != 0 {
		t.Fatal("dropped at exactly the limit")
	}
	h.enqueue(udp4(thin, 500))
	s := h.q.Stats()
	if len(h.drops) != 4 || s.OvermemoryDroppedPackets != 4 || s.OverlimitDroppedPackets != 4 || s.BacklogBytes != 6500 {
		t.Errorf("drops %d, stats %+v; want 4 of the fat flow's 8", len(h.drops), s)
	}
	for _, d := range h.drops {
		if d.p.flow != fat {
			t.Errorf("dropped from flow %d", d.p.flow)
		}
	}
	// A packet bigger than the limit alone is dropped on arrival and
	// handed back; Enqueue says so.
	h = newHarness(t, Config{MemoryLimit: 1000})
	p := udp4(1, 1500)
	if h.enqueue(p) || len(h.drops) != 1 || h.drops[0].p != p || h.q.Len() != 0 {
		t.Errorf("oversize packet: queued %d, drops %d", h.q.Len(), len(h.drops))
	}
	h.check()
}

// ModeFIFO is a single bounded tail-drop FIFO: arrival order whatever the
// flow, the arriving packet dropped when full, no CoDel however long the
// wait.
func TestFIFO(t *testing.T) {
	h := newHarness(t, Config{Mode: ModeFIFO, PacketLimit: 10, MemoryLimit: 1 << 20})
	if h.q.Mode() != ModeFIFO || len(h.q.flows) != 1 {
		t.Fatalf("mode %v, %d flows", h.q.Mode(), len(h.q.flows))
	}
	var in []*pkt
	for i := range 15 {
		p := udp4(i%3, 100+i)
		p.seq = i
		ok := h.enqueue(p)
		if ok != (i < 10) {
			t.Fatalf("packet %d: queued %v", i, ok)
		}
		if ok {
			in = append(in, p)
		}
	}
	if len(h.drops) != 5 || h.drops[0].p.seq != 10 {
		t.Fatalf("tail drops %d", len(h.drops))
	}
	h.clk.Advance(10 * time.Second) // no CoDel: nothing more is dropped
	for i, want := range in {
		if p := h.dequeue(); p != want {
			t.Fatalf("dequeue %d: seq %d, want %d", i, p.seq, want.seq)
		}
	}
	if h.dequeue() != nil {
		t.Fatal("not empty")
	}
	// The bulk backlog delays a sparse packet: what FQ-CoDel fixes.
	for range 5 {
		h.enqueue(udp4(1, 1000))
	}
	h.enqueue(udp4(2, 100))
	for i := range 5 {
		if h.dequeue().flow != 1 {
			t.Fatalf("dequeue %d not in arrival order", i)
		}
	}
	s := h.q.Stats()
	if s.OverlimitDroppedPackets != 5 || s.CoDelDroppedPackets != 0 || s.NewFlows != 0 {
		t.Errorf("stats %+v", s)
	}
	h.check()

	h = newHarness(t, Config{Mode: ModeFIFO, MemoryLimit: 3000})
	for range 4 {
		h.enqueue(udp4(1, 1000))
	}
	if s := h.q.Stats(); s.BacklogPackets != 3 || s.OvermemoryDroppedPackets != 1 {
		t.Errorf("memory bound: %+v", s)
	}
	h.check()
}

// ECN (RFC 8289 §5.1 via RFC 3168): with ECN on, CoDel marks ECT packets
// CE where it would drop them; IPv4 headers keep a valid checksum. With ECN
// off, or for Not-ECT packets, it drops.
func TestECNMarksInsteadOfDropping(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    ECNMode
		v6     bool
		ecn    byte
		marked bool
	}{
		{"v4 ECT(0)", ECNOn, false, ecnECT0, true},
		{"v4 ECT(1)", ECNOn, false, ecnECT1, true},
		{"v6 ECT(0)", ECNOn, true, ecnECT0, true},
		{"v6 ECT(1)", ECNOn, true, ecnECT1, true},
		{"v4 Not-ECT", ECNOn, false, ecnNotECT, false},
		{"v6 Not-ECT", ECNOn, true, ecnNotECT, false},
		{"v4 ECT(0) ECN off", ECNOff, false, ecnECT0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{ECN: tc.cfg})
			var out []*pkt
			mk := func(flow, size int) *pkt {
				return &pkt{b: buildIP(ipOpts{v6: tc.v6, flow: flow, size: size, ecn: tc.ecn}), flow: flow}
			}
			// 25% overload for a second, recording what comes out.
			var nextArr, nextSvc time.Duration
			for now := time.Duration(0); now < time.Second; now += 50 * time.Microsecond {
				h.clk.Advance(50 * time.Microsecond)
				for ; nextArr <= now; nextArr += 800 * time.Microsecond {
					h.enqueue(mk(1, 1000))
				}
				if nextSvc <= now {
					if p := h.dequeue(); p != nil {
						out = append(out, p)
					}
					nextSvc = now + time.Millisecond
				}
			}
			s := h.q.Stats()
			ce := 0
			for _, p := range out {
				var bits byte
				if tc.v6 {
					bits = p.b[1] >> 4 & 3
				} else {
					bits = p.b[1] & 3
					if !ipv4ChecksumOK(p.b[:20]) {
						t.Fatalf("bad IPv4 checksum after dequeue: % x", p.b[:20])
					}
				}
				if bits == ecnCE {
					ce++
				} else if bits != tc.ecn {
					t.Fatalf("ECN field %d, sent %d", bits, tc.ecn)
				}
			}
			t.Logf("delivered %d, CE %d, stats marks %d drops %d", len(out), ce, s.ECNMarked, s.CoDelDroppedPackets)
			if tc.marked {
				if s.ECNMarked == 0 || s.CoDelDroppedPackets != 0 || uint64(ce) != s.ECNMarked {
					t.Errorf("want marks only: %d marks, %d CE delivered, %d drops", s.ECNMarked, ce, s.CoDelDroppedPackets)
				}
			} else if s.ECNMarked != 0 || ce != 0 || s.CoDelDroppedPackets == 0 {
				t.Errorf("want drops only: %d marks, %d drops", s.ECNMarked, s.CoDelDroppedPackets)
			}
			h.check()
		})
	}
}

// Every item comes back exactly once, each flow stays in order, and the
// internal invariants hold, through a long random mix of arrivals of all
// sizes (empty ones too), dequeues, time jumps and flushes against tight
// limits.
func TestRandomOperationsConserveItems(t *testing.T) {
	for _, mode := range []Mode{ModeFQCoDel, ModeFIFO} {
		rng := rand.New(rand.NewPCG(1, uint64(mode)))
		h := newHarness(t, Config{Mode: mode, Flows: 8, PacketLimit: 50, MemoryLimit: 20000, DropBatch: 4, Quantum: 300})
		out := map[*pkt]int{}
		var all []*pkt
		next := map[int]int{}
		seq := map[int]int{}
		ndrops := 0
		take := func(p *pkt) {
			out[p]++
			if out[p] > 1 {
				t.Fatalf("flow %d seq %d returned twice", p.flow, p.seq)
			}
		}
		for op := range 40000 {
			switch r := rng.IntN(100); {
			case r < 50:
				f := rng.IntN(12)
				var b []byte
				switch rng.IntN(10) {
				case 0:
					f = -1 // shares flow {0} with everything unparsable
				case 1:
					f, b = -1, make([]byte, rng.IntN(30))
				default:
					b = buildIP(ipOpts{v6: f%2 == 0, flow: f, size: 28 + rng.IntN(1500), ecn: byte(rng.IntN(4))})
				}
				p := &pkt{b: b, flow: f, seq: seq[f]}
				seq[f]++
				all = append(all, p)
				h.enqueue(p)
			case r < 90:
				if p := h.dequeue(); p != nil {
					take(p)
					// Within a flow, later seqs only (drops leave gaps).
					if p.seq < next[p.flow] {
						t.Fatalf("%v op %d: flow %d seq %d after %d (%d bytes)", mode, op, p.flow, p.seq, next[p.flow], len(p.b))
					}
					next[p.flow] = p.seq + 1
				}
			case r < 99:
				h.clk.Advance(time.Duration(rng.IntN(int(20 * time.Millisecond))))
			default:
				h.q.Flush(take)
			}
			for ; ndrops < len(h.drops); ndrops++ {
				take(h.drops[ndrops].p)
			}
			if op%97 == 0 {
				h.check()
			}
		}
		h.check()
		h.q.Flush(take)
		h.check()
		for _, p := range all {
			if out[p] != 1 {
				t.Fatalf("%v: flow %d seq %d returned %d times", mode, p.flow, p.seq, out[p])
			}
		}
		s := h.q.Stats()
		t.Logf("%v: %+v", mode, s)
		if mode == ModeFQCoDel && (s.CoDelDroppedPackets == 0 || s.OverlimitDroppedPackets == 0 || s.ECNMarked == 0) {
			t.Errorf("the mix did not reach every path: %+v", s)
		}
	}
}

func TestFlush(t *testing.T) {
	h := newHarness(t, Config{})
	fl := distinctFlows(h.q, 3)
	for i := range 30 {
		p := udp4(fl[i%3], 100)
		p.seq = i / 3
		h.enqueue(p)
	}
	next := map[int]int{}
	n := 0
	h.q.Flush(func(p *pkt) {
		if p.seq != next[p.flow] {
			t.Errorf("flow %d: seq %d, want %d", p.flow, p.seq, next[p.flow])
		}
		next[p.flow]++
		n++
	})
	s := h.q.Stats()
	if n != 30 || s.FlushedPackets != 30 || s.FlushedBytes != 3000 || s.BacklogPackets != 0 || s.ActiveFlows != 0 {
		t.Errorf("flushed %d, stats %+v", n, s)
	}
	h.check()
	// Usable afterwards; nil hands the items to onDrop.
	h.enqueue(udp4(1, 100))
	h.q.Flush(nil)
	if len(h.drops) != 1 {
		t.Errorf("Flush(nil) handed %d to onDrop", len(h.drops))
	}
	h.check()
}

func TestStatsActiveFlows(t *testing.T) {
	h := newHarness(t, Config{})
	fl := distinctFlows(h.q, 5)
	for _, f := range fl {
		h.enqueue(udp4(f, 100))
		h.enqueue(udp4(f, 100))
	}
	if s := h.q.Stats(); s.ActiveFlows != 5 || s.BacklogPackets != 10 || s.BacklogBytes != 1000 || s.EnqueuedBytes != 1000 {
		t.Errorf("%+v", s)
	}
	// DRR serves a flow until its quantum is used: two flows emptied.
	for range 4 {
		h.dequeue()
	}
	if s := h.q.Stats(); s.ActiveFlows != 3 || s.DequeuedPackets != 4 {
		t.Errorf("%+v", s)
	}
	for range 6 {
		h.dequeue()
	}
	if s := h.q.Stats(); s.ActiveFlows != 0 || s.DequeuedBytes != 1000 {
		t.Errorf("%+v", s)
	}
}

func TestConfig(t *testing.T) {
	r, err := Config{}.resolve()
	if err != nil || r != DefaultConfig() {
		t.Errorf("zero config resolves to %+v, %v", r, err)
	}
	if DefaultConfig().ECN != ECNOn {
		t.Error("ECN not on by default")
	}
	for _, bad := range []Config{
		{Flows: -1}, {Flows: MaxFlows + 1}, {Quantum: 100}, {Quantum: -5}, {Target: -1},
		{Interval: -time.Second}, {MemoryLimit: -1}, {MemoryLimit: MaxMemoryLimit + 1},
		{PacketLimit: -1}, {PacketLimit: MaxPacketLimit + 1}, {DropBatch: -1}, {Mode: 7}, {ECN: 9},
	} {
		if _, err := New(bad, nil, pktData, nil); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: error %v", bad, err)
		}
	}
	if _, err := New[*pkt](Config{}, nil, nil, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("nil data: %v", err)
	}
	// nil clock and nil onDrop are allowed.
	q, err := New(Config{PacketLimit: 1}, nil, pktData, nil)
	if err != nil {
		t.Fatal(err)
	}
	q.Enqueue(udp4(1, 100))
	q.Enqueue(udp4(2, 100))
	if q.Len() != 1 {
		t.Errorf("len %d", q.Len())
	}
	if ModeFIFO.String() != "fifo" || ModeFQCoDel.String() != "fq_codel" {
		t.Error("Mode.String")
	}
}

// The data path allocates nothing: enqueue, dequeue, CoDel drops and ECN
// marks, overlimit drops, batches, with the packet.Slot items wgxdp uses.
func TestNoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	var now time.Time
	var pool []*packet.Slot
	for _, mode := range []Mode{ModeFQCoDel, ModeFIFO} {
		q, err := New(Config{Mode: mode, PacketLimit: 256}, func() time.Time { return now },
			(*packet.Slot).Data, func(s *packet.Slot) { pool = append(pool, s) })
		if err != nil {
			t.Fatal(err)
		}
		pool = pool[:0]
		for i := range 1024 {
			s := packet.NewSlot(packet.DefaultSlotSize)
			s.Set(buildIP(ipOpts{v6: i%2 == 0, flow: i % 37, size: 60 + i%1400, ecn: byte(i % 4)}))
			pool = append(pool, s)
		}
		pool = append(make([]*packet.Slot, 0, 4096), pool...)
		get := func() *packet.Slot {
			s := pool[len(pool)-1]
			pool = pool[:len(pool)-1]
			return s
		}
		batch := make([]*packet.Slot, 32)
		allocs := testing.AllocsPerRun(200, func() {
			// Build a backlog past the limit, let it age into CoDel's
			// dropping state, drain most of it.
			for range 300 {
				q.Enqueue(get())
			}
			now = now.Add(30 * time.Millisecond)
			for range 250 {
				if s, ok := q.Dequeue(); ok {
					pool = append(pool, s)
				}
			}
			for i := range batch {
				batch[i] = get()
			}
			q.EnqueueBatch(batch)
			n := q.DequeueBatch(batch)
			pool = append(pool, batch[:n]...)
		})
		if allocs != 0 {
			t.Errorf("%v: %v allocations per run", mode, allocs)
		}
		st := q.Stats()
		t.Logf("%v: %+v", mode, st)
		if mode == ModeFQCoDel && (st.CoDelDroppedPackets == 0 || st.OverlimitDroppedPackets == 0 || st.ECNMarked == 0) {
			t.Errorf("not every path exercised: %+v", st)
		}
	}
}

// Locked serialises a producer and a consumer on different goroutines.
func TestLocked(t *testing.T) {
	dropped := 0
	q, err := New(Config{PacketLimit: 64}, nil, pktData, func(*pkt) { dropped++ })
	if err != nil {
		t.Fatal(err)
	}
	l := NewLocked(q)
	const n = 20000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		batch := []*pkt{nil, nil}
		for i := 0; i < n; i += 2 {
			batch[0], batch[1] = udp4(i%7, 100), udp4(i%5, 200)
			l.EnqueueBatch(batch)
		}
	}()
	got := 0
	dst := make([]*pkt, 8)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		got += l.DequeueBatch(dst)
		if _, ok := l.Dequeue(); ok {
			got++
		}
	}
	got += l.DequeueBatch(make([]*pkt, 100))
	l.Flush(func(*pkt) { got++ })
	s := l.Stats()
	if got+dropped != n || l.Len() != 0 || int(s.EnqueuedPackets) != n {
		t.Errorf("got %d + dropped %d != %d; %+v", got, dropped, n, s)
	}
}

// TestNodesGrowOnDemand: a queue starts with few nodes and grows its node
// array, doubling, only as its backlog first needs them, up to PacketLimit
// (+1 for FQ-CoDel's enqueue-then-drop); items survive the moves in order.
func TestNodesGrowOnDemand(t *testing.T) {
	for _, mode := range []Mode{ModeFQCoDel, ModeFIFO} {
		const limit = 1000
		h := newHarness(t, Config{Mode: mode, PacketLimit: limit})
		if n := len(h.q.nodes); n != minNodes {
			t.Fatalf("%v: %d nodes at the start, want %d", mode, n, minNodes)
		}
		var sent []*pkt
		for i := range 300 {
			p := udp4(1+i%3, 100)
			p.seq = i
			sent = append(sent, p)
			h.enqueue(p)
		}
		h.check()
		if n := len(h.q.nodes); n != 512 {
			t.Errorf("%v: %d nodes for 300 queued, want 512", mode, n)
		}
		last := map[int]int{}
		for range 300 {
			p := h.dequeue()
			if p == nil {
				t.Fatalf("%v: queue ran dry", mode)
			}
			if s, ok := last[p.flow]; ok && p.seq <= s {
				t.Fatalf("%v: flow %d: %d after %d", mode, p.flow, p.seq, s)
			}
			last[p.flow] = p.seq
		}
		for i := range 3 * limit {
			h.enqueue(udp4(1+i%3, 100))
		}
		h.check()
		if n, want := len(h.q.nodes), limit+1; n != want {
			t.Errorf("%v: %d nodes past the limit, want %d", mode, n, want)
		}
		if len(h.drops) == 0 || h.q.Len() > limit {
			t.Errorf("%v: %d dropped, %d queued", mode, len(h.drops), h.q.Len())
		}
	}
}

// TestStatsAdd: Add sums every counter and takes the backlog figures of
// its argument, so no field added to Stats is forgotten.
func TestStatsAdd(t *testing.T) {
	var s, o Stats
	sv, ov := reflect.ValueOf(&s).Elem(), reflect.ValueOf(&o).Elem()
	for i := range sv.NumField() {
		switch f := sv.Field(i); f.Kind() {
		case reflect.Uint64:
			f.SetUint(uint64(i + 1))
			ov.Field(i).SetUint(100)
		case reflect.Int:
			f.SetInt(int64(i + 1))
			ov.Field(i).SetInt(100)
		default:
			t.Fatalf("field %s: kind %v", sv.Type().Field(i).Name, f.Kind())
		}
	}
	s.Add(o)
	for i := range sv.NumField() {
		name, f := sv.Type().Field(i).Name, sv.Field(i)
		switch f.Kind() {
		case reflect.Uint64:
			if f.Uint() != uint64(i+101) {
				t.Errorf("%s: %d, want %d", name, f.Uint(), i+101)
			}
		case reflect.Int:
			if f.Int() != 100 {
				t.Errorf("%s: %d, want the argument's 100", name, f.Int())
			}
		}
	}
}
