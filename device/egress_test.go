package device

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/conn"
	"github.com/wgxdp/wgxdp/conn/conntest"
	"github.com/wgxdp/wgxdp/packet"
)

// slowBind makes every Send take at least delay while slow is set: a link
// slower than the TUN.
type slowBind struct {
	*conntest.Bind
	slow  *atomic.Bool
	delay time.Duration
}

func (b slowBind) Send(bt *packet.Batch, ep conn.Endpoint) error {
	if b.slow.Load() {
		time.Sleep(b.delay)
	}
	return b.Bind.Send(bt, ep)
}

// TestEgressQueue: sparse traffic on an idle peer bypasses the queue (the
// reader sends it); on a slow link a burst waits in fq_codel, where a
// sparse flow overtakes it,
// each flow keeps its order, what CoDel does not drop arrives, and every
// slot goes back to the pool.
func TestEgressQueue(t *testing.T) {
	var slow atomic.Bool
	wrapBind = func(b *conntest.Bind) conn.Bind { return slowBind{b, &slow, 3 * time.Millisecond} }
	pr := newPair(t, false, true)
	wrapBind = nil
	a, b := pr.a, pr.b
	peer := a.dev.LookupPeer(b.pk)
	ping(t, a, b, []byte("session"), false) // the handshake
	direct := peer.DirectPackets()
	for range 10 {
		ping(t, a, b, []byte("idle"), false)
	}
	// A send that a busy machine stalls for over a millisecond sends the
	// next packet through the queue, so not all ten need bypass it.
	if st, n := peer.EgressStats(), peer.DirectPackets()-direct; n < 5 || n+st.EnqueuedPackets < 10 {
		t.Errorf("idle peer: %d of 10 packets sent directly, %d through the queue; want most directly", n, st.EnqueuedPackets)
	}

	slow.Store(true)
	ping(t, a, b, []byte("slow"), false) // sends now block: no more bypass
	const bulk = 300
	pkt := func(port uint16, i int) []byte {
		p := ipv4UDP(a.ip4, b.ip4, make([]byte, 1000))
		binary.BigEndian.PutUint16(p[20:], port) // source port: the flow
		binary.BigEndian.PutUint32(p[28:], uint32(i))
		return p
	}
	for i := range bulk {
		a.tun.Inbound <- pkt(1111, i)
	}
	a.tun.Inbound <- pkt(2222, 0) // the sparse flow
	var order []int
	sparseAt := -1
	last := -1
	for {
		st := peer.EgressStats()
		if sparseAt >= 0 && len(order)+int(st.CoDelDroppedPackets) == bulk {
			break
		}
		select {
		case p := <-b.tun.Outbound:
			seq := int(binary.BigEndian.Uint32(p[28:]))
			switch binary.BigEndian.Uint16(p[20:]) {
			case 2222:
				sparseAt = len(order)
			case 1111:
				if seq <= last {
					t.Fatalf("bulk packet %d after %d", seq, last)
				}
				last = seq
				order = append(order, seq)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d bulk packets arrived, sparse at %d; egress %+v", len(order), bulk, sparseAt, peer.EgressStats())
		}
	}
	st := peer.EgressStats()
	if st.EnqueuedPackets < bulk/2 || st.OverlimitDroppedPackets != 0 {
		t.Errorf("slow link: egress %+v, want the burst queued, none over the limit", st)
	}
	t.Logf("bulk: %d arrived, %d dropped by CoDel; the sparse packet after %d", len(order), st.CoDelDroppedPackets, sparseAt)
	// A batch or two of bulk may be on its way before the sparse packet is
	// read; it must not wait behind the rest of the queue.
	if sparseAt > packet.MaxBatch {
		t.Errorf("the sparse flow's packet came after %d of %d bulk packets", sparseAt, bulk)
	}
	slow.Store(false)
	d := a.dev
	waitFor(t, func() bool {
		d.pool.mu.Lock()
		defer d.pool.mu.Unlock()
		return len(d.pool.free) == cap(d.pool.free)
	})
}

// TestExpressReader: the TUN's express queue has its own reader, which
// seals and sends what it reads itself, past the peer's queue — until a
// send blocks (the wire is the bottleneck): then, for expressQuiet, its
// packets take the queue and fq_codel orders them.
func TestExpressReader(t *testing.T) {
	var slow atomic.Bool
	wrapBind = func(b *conntest.Bind) conn.Bind { return slowBind{b, &slow, 3 * time.Millisecond} }
	withExpress = true
	pr := newPair(t, false, true)
	wrapBind, withExpress = nil, false
	a, b := pr.a, pr.b
	peer := a.dev.LookupPeer(b.pk)
	ping(t, a, b, []byte("session"), false) // the handshake, through queue 0

	small := func(i int) []byte { return ipv4UDP(a.ip4, b.ip4, []byte{byte(i)}) }
	for i := range 10 {
		p := small(i)
		a.express.Inbound <- p
		if got := recvPacket(t, b, 5*time.Second); !bytes.Equal(got, p) {
			t.Fatalf("express packet %d differs", i)
		}
	}
	// A send that a busy machine stalls for over a millisecond counts as
	// blocking and sends the next ones through the queue for a while, so
	// not all ten need go past it.
	if n := peer.eg.express.Load(); n < 1 {
		t.Errorf("%d of 10 express packets sent by the express reader", n)
	}

	// A blocking send (through queue 0) marks the wire as the bottleneck.
	slow.Store(true)
	blocked := peer.eg.blockedAt.Load()
	ping(t, a, b, []byte("slow"), false)
	// The sender notes the blocking send after it returns, which may be
	// after the ping arrived.
	waitFor(t, func() bool { return peer.eg.blockedAt.Load() != blocked })
	before, enq := peer.eg.express.Load(), peer.EgressStats().EnqueuedPackets
	p := small(99)
	a.express.Inbound <- p
	if got := recvPacket(t, b, 5*time.Second); !bytes.Equal(got, p) {
		t.Fatal("express packet on a slow wire differs")
	}
	if peer.eg.express.Load() != before {
		t.Error("the express reader sent past the queue while the wire blocked")
	}
	if st := peer.EgressStats(); st.EnqueuedPackets == enq && peer.DirectPackets() == 0 {
		t.Error("the packet went neither through the queue nor by the reader's bypass")
	}
	slow.Store(false)
}

// refusingBind refuses one sticky source the way conn.StdNetBind reports
// it: the datagrams go out from the Bind's own address, and Send returns
// an error wrapping conn.ErrSourceRefused.
type refusingBind struct {
	*conntest.Bind
	gone netip.Addr
}

func (b refusingBind) Send(bt *packet.Batch, ep conn.Endpoint) error {
	if ep.Src != b.gone {
		return b.Bind.Send(bt, ep)
	}
	ep.Src, ep.IfIndex = netip.Addr{}, 0
	if err := b.Bind.Send(bt, ep); err != nil {
		return err
	}
	return fmt.Errorf("test: %w", conn.ErrSourceRefused)
}

// TestSourceRefused: a send whose sticky source the kernel refused counts
// as sent, and the peer's endpoint forgets the source, so the next send
// does not try it again (wireguard-go's ClearSrc).
func TestSourceRefused(t *testing.T) {
	gone := netip.MustParseAddr("198.51.100.9")
	wrapBind = func(b *conntest.Bind) conn.Bind { return refusingBind{b, gone} }
	pr := newPair(t, false, true)
	wrapBind = nil
	ping(t, pr.a, pr.b, []byte("first"), false)
	p := pr.a.dev.LookupPeer(pr.b.pk)
	ep := p.Endpoint()
	ep.Src, ep.IfIndex = gone, 3
	p.SetEndpoint(ep)
	for i := range 3 { // nothing comes back meanwhile to roam the endpoint
		ping(t, pr.a, pr.b, []byte(fmt.Sprint("after ", i)), false)
	}
	st := pr.a.dev.Stats()
	if st.SourceRefused != 1 || st.SendErrors != 0 {
		t.Errorf("SourceRefused %d SendErrors %d, want 1 and 0", st.SourceRefused, st.SendErrors)
	}
	if got := p.Endpoint(); got.Src == gone {
		t.Errorf("endpoint still has the refused source: %+v", got)
	}
	ping(t, pr.b, pr.a, []byte("back"), false)
}

// perPacketBind makes every Send take delay per datagram: a link whose
// speed, not its per-send cost, limits it, so a full batch blocks (and
// sends from then on go through the queue) while a small one does not.
type perPacketBind struct {
	*conntest.Bind
	delay time.Duration
}

func (b perPacketBind) Send(bt *packet.Batch, ep conn.Endpoint) error {
	time.Sleep(time.Duration(bt.N) * b.delay)
	return b.Bind.Send(bt, ep)
}

// TestEgressSmallPool: with fewer egress slots than a TUN read brings,
// bursts larger than the pool still go through a slow link (enqueue takes
// them into the queue in rounds); they once stalled the tunnel for good,
// a reader waiting for a whole batch of slots while holding the pool.
func TestEgressSmallPool(t *testing.T) {
	for _, tc := range []struct {
		slots   int
		readers int // 2: the express queue's reader too, both enqueueing
	}{{1, 1}, {7, 1}, {64, 1}, {7, 2}, {64, 2}} {
		slots := tc.slots
		t.Run(fmt.Sprintf("slots=%d/readers=%d", slots, tc.readers), func(t *testing.T) {
			wrapBind = func(b *conntest.Bind) conn.Bind { return perPacketBind{b, 50 * time.Microsecond} }
			tweakConfig = func(c *Config) { c.BatchSize = packet.MaxBatch }
			// Below MinEgressSlots, which New would raise it to.
			tweakDevice = func(d *Device) { d.pool = newSlotPool(slots, d.slotSize) }
			withExpress = tc.readers == 2
			pr := newPair(t, false, true)
			wrapBind, tweakConfig, tweakDevice, withExpress = nil, nil, nil, false
			a, b := pr.a, pr.b
			peer := a.dev.LookupPeer(b.pk)
			ping(t, a, b, []byte("session"), false)
			const bursts, burst = 12, 250
			sent, got := 0, 0
			lost := func() int {
				st := peer.EgressStats()
				return int(st.CoDelDroppedPackets+st.OverlimitDroppedPackets) + int(pr.net.Dropped())
			}
			for range bursts {
				for i := range burst {
					in := a.tun.Inbound
					if tc.readers == 2 && i%2 == 1 {
						in = a.express.Inbound
					}
					in <- ipv4UDP(a.ip4, b.ip4, make([]byte, 1000))
					sent++
				}
				deadline := time.After(10 * time.Second)
				for got+lost() < sent {
					select {
					case <-b.tun.Outbound:
						got++
					case <-time.After(10 * time.Millisecond):
					case <-deadline:
						t.Fatalf("stalled: %d of %d packets arrived, %d dropped; egress %+v", got, sent, lost(), peer.EgressStats())
					}
				}
			}
			if got < sent/2 {
				t.Errorf("%d of %d packets arrived, %d dropped", got, sent, lost())
			}
			t.Logf("%d of %d arrived; egress %+v", got, sent, peer.EgressStats())
			d := a.dev
			waitFor(t, func() bool {
				d.pool.mu.Lock()
				defer d.pool.mu.Unlock()
				return len(d.pool.free) == cap(d.pool.free)
			})
		})
	}
}

// TestSlotPoolConcurrentGetters: getters that each want more slots than a
// tiny pool holds all make progress: each takes what is free and passes
// it on to a sender, which puts the slots back later, as readers do with
// a peer's queue. None waits holding slots, so none starves the others.
func TestSlotPoolConcurrentGetters(t *testing.T) {
	for _, n := range []int{1, 3, 7} {
		p := newSlotPool(n, packet.SlotSize(64))
		done := make(chan struct{})
		queue := make(chan *packet.Slot, n) // the slots out of the pool
		sender := make(chan struct{})
		go func() {
			defer close(sender)
			for s := range queue {
				p.put(s)
			}
		}()
		var wg sync.WaitGroup
		var total atomic.Int64
		const getters, rounds = 4, 2000
		for range getters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				dst := make([]*packet.Slot, packet.MaxBatch)
				for range rounds {
					k := p.get(dst, done)
					if k < 1 || k > n {
						t.Errorf("pool of %d: get returned %d", n, k)
						return
					}
					total.Add(int64(k))
					for _, s := range dst[:k] {
						queue <- s
					}
					clear(dst)
				}
			}()
		}
		finished := make(chan struct{})
		go func() { wg.Wait(); close(finished) }()
		select {
		case <-finished:
		case <-time.After(20 * time.Second):
			close(done)
			<-finished
			t.Fatalf("pool of %d: getters stuck after %d slots", n, total.Load())
		}
		close(queue)
		<-sender
		if len(p.free) != n {
			t.Errorf("pool of %d: %d free at the end", n, len(p.free))
		}
		// Closed while waiting on an empty pool: get returns 0.
		all := make([]*packet.Slot, n)
		if k := p.get(all, done); k != n {
			t.Fatalf("got %d of %d", k, n)
		}
		close(done)
		if k := p.get(make([]*packet.Slot, 1), done); k != 0 {
			t.Errorf("get on an empty pool after done: %d", k)
		}
	}
}

// TestEgressQueueLazy: a peer has no queue until its first enqueue, and
// loses it, with every slot back in the pool, when it is removed; a
// reader that still enqueues for it afterwards hands the slots back.
func TestEgressQueueLazy(t *testing.T) {
	pr := newPair(t, false, true)
	a, b := pr.a, pr.b
	peer := a.dev.LookupPeer(b.pk)
	queue := func() (q bool, stopped bool) {
		peer.eg.mu.Lock()
		defer peer.eg.mu.Unlock()
		return peer.eg.q != nil, peer.eg.stopped
	}
	if q, _ := queue(); q {
		t.Fatal("a peer that sent nothing has a queue")
	}
	ping(t, a, b, []byte("session"), false)
	peer.eg.slow.Store(true) // as after a blocking send: no bypass
	ping(t, a, b, []byte("queued"), false)
	if q, _ := queue(); !q {
		t.Fatal("no queue after an enqueue")
	}
	if st := peer.EgressStats(); st.EnqueuedPackets == 0 {
		t.Errorf("egress %+v, want the packet counted", st)
	}
	d := a.dev
	poolFull := func() bool {
		d.pool.mu.Lock()
		defer d.pool.mu.Unlock()
		return len(d.pool.free) == cap(d.pool.free)
	}
	d.RemovePeer(b.pk)
	waitFor(t, func() bool { q, stopped := queue(); return !q && stopped && poolFull() })
	in := packet.NewBatch(4, d.slotSize)
	for range 4 {
		in.Append(ipv4UDP(a.ip4, b.ip4, []byte("late")), packet.Endpoint{})
	}
	if !peer.enqueue(in, []int{0, 1, 2, 3}, make([]*packet.Slot, 4)) {
		t.Fatal("enqueue reported the device closed")
	}
	if q, _ := queue(); q || !poolFull() {
		t.Errorf("a late enqueue made a queue (%v) or kept slots (pool full: %v)", q, poolFull())
	}
	if st := peer.EgressStats(); st.EnqueuedPackets == 0 {
		t.Errorf("egress %+v: the dropped queue's counters are lost", st)
	}
}

// TestEgressQueueIdleDrop: in virtual time, a queue that stays empty and
// unused for queueIdleSweeps seconds is dropped, its counters kept; the
// next enqueue makes a new one.
func TestEgressQueueIdleDrop(t *testing.T) {
	pr := newPair(t, true, true)
	a, b := pr.a, pr.b
	peer := a.dev.LookupPeer(b.pk)
	hasQueue := func() bool {
		peer.eg.mu.Lock()
		defer peer.eg.mu.Unlock()
		return peer.eg.q != nil
	}
	pr.stepPing(t, a, b, []byte("session"))
	peer.eg.slow.Store(true) // as after a blocking send: no bypass
	pr.stepPing(t, a, b, []byte("queued"))
	if !hasQueue() {
		t.Fatal("no queue after an enqueue")
	}
	enq := peer.EgressStats().EnqueuedPackets
	for range queueIdleSweeps - 2 {
		pr.clk.Advance(time.Second)
	}
	if !hasQueue() {
		t.Fatalf("queue dropped before %d idle seconds", queueIdleSweeps)
	}
	for range 3 {
		pr.clk.Advance(time.Second)
	}
	if hasQueue() {
		t.Fatalf("queue kept after %d idle seconds", queueIdleSweeps+1)
	}
	if st := peer.EgressStats(); st.EnqueuedPackets != enq || st.BacklogPackets != 0 {
		t.Errorf("egress %+v after the drop, want %d enqueued", st, enq)
	}
	peer.eg.slow.Store(true)
	pr.stepPing(t, a, b, []byte("again"))
	if !hasQueue() || peer.EgressStats().EnqueuedPackets <= enq {
		t.Errorf("no new queue after an enqueue: egress %+v", peer.EgressStats())
	}
}
