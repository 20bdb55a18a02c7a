package device

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/wgxdp/wgxdp/dataplane"
	"github.com/wgxdp/wgxdp/fqcodel"
	"github.com/wgxdp/wgxdp/packet"
)

// Each peer's outbound packets wait in an fq_codel queue (or a plain FIFO,
// Config.Egress.Mode) between the TUN read and encryption, so that when the
// wire is slower than the TUN the standing queue lives here — where CoDel
// keeps it near its target and a sparse flow overtakes a bulk one — rather
// than in a kernel buffer that only drops at its tail.
//
// Ownership: a TUN reader moves the slots it read for a peer into that
// peer's queue and takes fresh ones from the device's slot pool (blocking
// when the pool is empty: memory is bounded by Config.EgressSlots). The
// peer's sender goroutine dequeues a batch, encrypts and sends it — the
// Bind's blocking send is the backpressure — and puts the slots back.
// Dropped slots go back to the pool through the queue's onDrop. The queue
// is guarded by egress.mu, held only for enqueue and dequeue.
//
// Most configured peers are idle, and an idle peer's packets bypass its
// empty queue (transmit), so a peer's queue is made on its first enqueue
// (queueLocked) and dropped when its sender stops, or when it has stayed
// empty and unused for about ten seconds (gcEgress): a gateway's peers that
// were busy once do not keep a queue each. Until then egress.q is nil:
// whoever reads it holds egress.mu, for as long as it uses the queue, and
// takes nil for an empty queue.

// slotPool is a bounded pool of packet slots. It is a stack: the slot
// put back last is taken first, so while queues are short the same few
// slots cycle and stay in the CPU's cache (a FIFO would walk all of them).
type slotPool struct {
	mu    sync.Mutex
	free  []*packet.Slot
	avail chan struct{} // a token while free may be non-empty and someone waits
}

func newSlotPool(n, size int) *slotPool {
	p := &slotPool{free: make([]*packet.Slot, n), avail: make(chan struct{}, 1)}
	for i := range p.free {
		p.free[i] = packet.NewSlot(size)
	}
	return p
}

// get takes up to len(dst) reset slots into dst and returns how many
// (at least one), blocking only while none is free; it returns 0 once done
// is closed. It never waits holding slots: a caller that wanted more takes
// what it got elsewhere first (enqueue moves them into a queue, whose
// sender gives them back), so readers waiting together cannot each hold
// part of the pool and starve one another, and a batch larger than the
// whole pool still goes through, in rounds.
func (p *slotPool) get(dst []*packet.Slot, done <-chan struct{}) int {
	for {
		p.mu.Lock()
		k := min(len(dst), len(p.free))
		top := len(p.free) - k
		copy(dst, p.free[top:])
		clear(p.free[top:])
		p.free = p.free[:top]
		left := len(p.free)
		p.mu.Unlock()
		if k > 0 {
			for _, s := range dst[:k] {
				s.Reset()
			}
			if left > 0 {
				p.signal() // another waiter may need them
			}
			return k
		}
		select {
		case <-p.avail:
		case <-done:
			return 0
		}
	}
}

// put returns slots to the pool.
func (p *slotPool) put(slots ...*packet.Slot) {
	p.mu.Lock()
	for _, s := range slots {
		if len(p.free) < cap(p.free) { // else not one of ours: the GC has it
			p.free = append(p.free, s)
		}
	}
	p.mu.Unlock()
	p.signal()
}

// put1 is put for one slot, as a func(*packet.Slot) for the queue's onDrop.
func (p *slotPool) put1(s *packet.Slot) { p.put(s) }

func (p *slotPool) signal() {
	select {
	case p.avail <- struct{}{}:
	default:
	}
}

type egress struct {
	mu sync.Mutex
	q  *fqcodel.Queue[*packet.Slot] // nil until the first enqueue
	// past holds the counters of the queues dropped, for EgressStats;
	// stopped is set once the sender has ended: late enqueues drop their
	// packets rather than make a queue no one drains. Both under mu.
	past    fqcodel.Stats
	stopped bool
	// idle counts the gcEgress sweeps since the last enqueue (under mu).
	idle int
	// busy is held by whoever takes the peer's packets to the wire: its
	// sender goroutine, or a TUN reader sending directly (transmit).
	busy atomic.Bool
	// slow is set while the last send blocked (took more than
	// sendBlockedAfter): then nothing bypasses the queue.
	slow    atomic.Bool
	limit   atomic.Int32  // the adaptive batch size (nextLimit)
	direct  atomic.Uint64 // packets sent by a reader, past the queue
	express atomic.Uint64 // packets sent by the express queue's reader
	// blockedAt is when a send last blocked (Unix ns): the wire, not the
	// CPU, is the bottleneck while that is recent (expressQuiet).
	blockedAt atomic.Int64
	wake      chan struct{}
	quit      chan struct{}
	quitOnce  sync.Once
}

func (p *Peer) initEgress() {
	d := p.dev
	p.eg.wake = make(chan struct{}, 1)
	p.eg.quit = make(chan struct{})
	p.eg.limit.Store(int32(d.batchSize))
}

// queueLocked returns the peer's queue, making it if need be, or nil once
// the sender has stopped. Caller holds eg.mu.
func (p *Peer) queueLocked() *fqcodel.Queue[*packet.Slot] {
	if p.eg.q == nil && !p.eg.stopped {
		d := p.dev
		q, err := fqcodel.New[*packet.Slot](d.egressCfg, d.clk.Now, (*packet.Slot).Data, d.pool.put1)
		if err != nil { // New checked the Config; cannot happen
			d.log.Errorf("%v: egress queue: %v", p, err)
			return nil
		}
		p.eg.q = q
	}
	return p.eg.q
}

// queueIdleSweeps is how long a peer's queue must stay empty and unused
// before gcEgress drops it, in sweeps (one a second, with the rate
// limiter's GC): long enough that a peer sending a burst every few
// seconds keeps its queue (making one costs about 60 KB with the default
// 1024 flows), short enough that idle peers cost no queue.
const queueIdleSweeps = 10

// gcEgress drops the queues that have stayed empty and unused for
// queueIdleSweeps sweeps. It takes Device.mu for reading, then each
// peer's egress.mu; while Device.mu is held for writing (Set, Close) it
// skips the sweep rather than hold up the timer that runs it.
func (d *Device) gcEgress() {
	if !d.mu.TryRLock() {
		return
	}
	defer d.mu.RUnlock()
	for _, p := range d.peers {
		p.eg.mu.Lock()
		if p.eg.q != nil {
			p.eg.idle++
			if p.eg.idle >= queueIdleSweeps && p.eg.q.Len() == 0 {
				p.dropQueueLocked()
			}
		}
		p.eg.mu.Unlock()
	}
}

// queuedLocked returns how many packets the peer's queue holds. Caller
// holds eg.mu.
func (p *Peer) queuedLocked() int {
	if p.eg.q == nil {
		return 0
	}
	return p.eg.q.Len()
}

// dropQueueLocked drops the peer's queue, handing what it holds back to
// the pool and keeping its counters. Caller holds eg.mu.
func (p *Peer) dropQueueLocked() {
	if q := p.eg.q; q != nil {
		q.Flush(nil) // to onDrop: back to the pool
		p.eg.past.Add(q.Stats())
		p.eg.q = nil
	}
}

// transmit takes a peer's packets of one TUN read (the slots of b at
// idx). When the peer's queue is empty, no one is sending for it and its
// sends have not been blocking, the reader seals and sends them itself,
// in its own slots — as a qdisc lets a packet bypass an empty queue — which
// spares a hand-off and a wake-up per batch for sparse traffic (pings, the
// ACKs of a download). Otherwise they join the queue (enqueue). It reports
// false only if the device closed meanwhile. direct is the reader's
// scratch batch (no slots of its own, capacity ≥ len(idx)), cr its
// Crypter.
func (p *Peer) transmit(b *packet.Batch, idx []int, fresh []*packet.Slot, direct *packet.Batch, cr *dataplane.Crypter) bool {
	if !p.eg.slow.Load() && len(idx) <= int(p.eg.limit.Load()) && p.eg.busy.CompareAndSwap(false, true) {
		p.eg.mu.Lock()
		empty := p.queuedLocked() == 0
		p.eg.mu.Unlock()
		if empty {
			lend(direct, b, idx)
			// Counted before the send: its packets may arrive, and
			// someone read the counter, before sendTimed returns.
			p.eg.direct.Add(uint64(direct.N))
			p.sendTimed(direct, cr, int(p.eg.limit.Load()))
			unlend(direct)
			p.eg.busy.Store(false)
			p.kickIfQueued() // what others queued meanwhile
			return true
		}
		p.eg.busy.Store(false)
	}
	return p.enqueue(b, idx, fresh)
}

// expressQuiet is how long after a blocking send the express reader keeps
// a peer's packets in its queue (expressOK).
const expressQuiet = 200 * time.Millisecond

// expressOK reports whether the express reader may send the peer's
// packets itself: not while the wire is the bottleneck — a send blocked in
// the last expressQuiet. Then the socket's send buffer is full most of the
// time, and an express send would have to win a place in it against the
// sender's, which refills it first (measured through a 50 Mbit/s tbf:
// ping p99 34–390 ms with the express reader sending, 11 ms through the
// queue); fq_codel, which serves sparse flows first, is the right tool
// there. Express sends are for a CPU-bound path, whose sends never block.
func (p *Peer) expressOK(now time.Time) bool {
	return now.UnixNano()-p.eg.blockedAt.Load() > int64(expressQuiet)
}

// sendExpress seals and sends a peer's packets of one express-queue read
// (the slots of b at idx) at once, in the reader's own slots, whatever the
// peer's queue holds and whoever else is sending for it. A send that
// blocks stops express sends for a while (expressOK). They are small
// and few (the express queue takes packets of at most 224 bytes, and its
// reader's realtime budget bounds their rate), and a sparse flow's packet
// should not wait behind a bulk backlog. Sealing takes nonces atomically,
// so concurrent senders are safe; the replay window absorbs the
// reordering.
func (p *Peer) sendExpress(b *packet.Batch, idx []int, direct *packet.Batch, cr *dataplane.Crypter) {
	lend(direct, b, idx)
	// Counted before the send, as transmit counts its bypass.
	p.eg.express.Add(uint64(direct.N))
	start := p.dev.clk.Now()
	if p.sendBatch(direct, cr) {
		if end := p.dev.clk.Now(); end.Sub(start) > sendBlockedAfter {
			p.eg.blockedAt.Store(end.UnixNano())
		}
	}
	unlend(direct)
}

// lend points the scratch batch direct (no slots of its own) at the slots
// of b at idx, for a reader that sends them itself; unlend drops them
// again.
func lend(direct, b *packet.Batch, idx []int) {
	direct.N = 0
	for _, j := range idx {
		direct.Slots[direct.N] = b.Slots[j]
		direct.N++
	}
}

func unlend(direct *packet.Batch) {
	clear(direct.Slots[:direct.N])
	direct.N = 0
}

// sendTimed is sendBatch, timed for the adaptive batch size when the
// batch went to the wire (staging it and starting a handshake says
// nothing about the wire).
func (p *Peer) sendTimed(b *packet.Batch, cr *dataplane.Crypter, limit int) {
	d := p.dev
	n := b.N
	start := d.clk.Now()
	if !p.sendBatch(b, cr) {
		return
	}
	end := d.clk.Now()
	took := end.Sub(start)
	p.eg.slow.Store(took > sendBlockedAfter)
	if took > sendBlockedAfter {
		p.eg.blockedAt.Store(end.UnixNano())
	}
	p.eg.limit.Store(int32(nextLimit(limit, n, took, d.batchSize)))
}

// kickIfQueued wakes the sender if packets wait.
func (p *Peer) kickIfQueued() {
	p.eg.mu.Lock()
	queued := p.queuedLocked() > 0
	p.eg.mu.Unlock()
	if queued {
		select {
		case p.eg.wake <- struct{}{}:
		default:
		}
	}
}

// enqueue moves the slots at idx of b into the peer's queue, in order,
// replacing each with a fresh slot from the pool (fresh is the caller's
// scratch, len ≥ len(idx)). When the pool has fewer free slots than idx
// holds, it moves as many as it got and waits for more only after they
// are queued (and the sender woken), so it never waits holding slots
// (slotPool.get). It reports false if the device closed while waiting for
// slots: the slots at idx not yet moved are then left in b as they were.
func (p *Peer) enqueue(b *packet.Batch, idx []int, fresh []*packet.Slot) bool {
	d := p.dev
	for len(idx) > 0 {
		k := d.pool.get(fresh[:len(idx)], d.closed)
		if k == 0 {
			return false
		}
		for i, j := range idx[:k] {
			b.Slots[j], fresh[i] = fresh[i], b.Slots[j]
		}
		p.eg.mu.Lock()
		if q := p.queueLocked(); q != nil {
			p.eg.idle = 0
			q.EnqueueBatch(fresh[:k]) // one clock reading for all
		} else {
			d.pool.put(fresh[:k]...) // the peer is gone
		}
		p.eg.mu.Unlock()
		clear(fresh[:k])
		select {
		case p.eg.wake <- struct{}{}:
		default:
		}
		idx = idx[k:]
	}
	return true
}

// routineSend is the peer's sender: it drains the queue a batch at a time.
func (p *Peer) routineSend() {
	d := p.dev
	defer d.wg.Done()
	out := &packet.Batch{Slots: make([]*packet.Slot, d.batchSize)}
	cr := dataplane.NewCrypter(d.batchSize)
	for {
		select {
		case <-p.eg.wake:
		case <-p.eg.quit:
			p.eg.mu.Lock()
			p.dropQueueLocked()
			p.eg.stopped = true
			p.eg.mu.Unlock()
			return
		}
		for {
			if !p.eg.busy.CompareAndSwap(false, true) {
				break // a reader is sending directly; it wakes us after
			}
			limit := int(p.eg.limit.Load())
			n := 0
			p.eg.mu.Lock()
			if q := p.eg.q; q != nil {
				n = q.DequeueBatch(out.Slots[:limit])
			}
			p.eg.mu.Unlock()
			if n == 0 {
				p.eg.busy.Store(false)
				break
			}
			out.N = n
			p.sendTimed(out, cr, limit)
			p.eg.busy.Store(false)
			d.pool.put(out.Slots[:n]...)
			clear(out.Slots[:n])
			out.N = 0
		}
	}
}

// DirectPackets counts the peer's packets that bypassed its empty queue
// (transmit).
func (p *Peer) DirectPackets() uint64 { return p.eg.direct.Load() }

// EgressStats returns the peer's queue counters.
func (p *Peer) EgressStats() fqcodel.Stats {
	p.eg.mu.Lock()
	defer p.eg.mu.Unlock()
	s := p.eg.past
	if q := p.eg.q; q != nil {
		s.Add(q.Stats())
	}
	return s
}

// startEgress starts the sender; stopEgress ends it (its queue is flushed
// back to the pool and dropped).
func (p *Peer) startEgress() {
	p.dev.wg.Add(1)
	go p.routineSend()
}

func (p *Peer) stopEgress() { p.eg.quitOnce.Do(func() { close(p.eg.quit) }) }

// A dequeued batch has left fq_codel: its packets wait in the sender's
// hands while the Bind sends them, where no flow can overtake another. On a
// slow link a full batch is a long wait (128 packets at 50 Mbit/s: 30 ms),
// so, as BQL does for a NIC's ring, the batch size adapts: it halves when a
// send blocked for longer than sendBlockedAfter and grows back while sends
// return quickly. On a fast link sends never block and batches stay full.
const (
	sendBlockedAfter = time.Millisecond
	minSendBatch     = 4
)

func nextLimit(limit, sent int, took time.Duration, max int) int {
	switch {
	case took > sendBlockedAfter:
		return maxInt(minSendBatch, min(limit, sent)/2)
	case sent == limit && limit < max:
		return min(max, limit*2)
	}
	return limit
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
