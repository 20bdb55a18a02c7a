// Package fqcodel is the FQ-CoDel packet scheduler of RFC 8290, with the
// CoDel AQM of RFC 8289 in each flow queue, as a pure data structure: no
// goroutines, no timers, time read from an injected clock. wgxdp puts one
// between the TUN and the wire in each direction so that a full link does
// not mean a second of queueing delay for every flow sharing it.
//
// Packets are hashed on their inner 5-tuple (with a per-queue random key)
// into Config.Flows flow queues. Deficit round robin serves them a Quantum
// of bytes at a time, new (sparse) flows before old (backlogged) ones, and
// CoDel drops or ECN-marks, at dequeue, packets of a flow whose sojourn time
// has stayed above Target for an Interval. When the packet or memory limit
// is exceeded, packets are dropped from the head of the fattest flow, as
// Linux's fq_codel does. Mode FIFO turns all of that off and leaves a
// bounded tail-drop FIFO with the same methods, for comparison.
//
// # Items and ownership
//
// A Queue[T] holds items of the caller's type T, usually *packet.Slot, and a
// function that returns an item's IP packet bytes. Storage for items
// grows on demand, doubling from minNodes up to PacketLimit(+1): a queue
// that never holds many items stays small, and once a queue has reached
// its largest backlog Enqueue and Dequeue never allocate. An item
// belongs to the queue from Enqueue until it comes back: from Dequeue, or
// through the onDrop callback when the queue drops it (CoDel, a limit), or
// through Flush. Every item enqueued comes back exactly once, so buffers
// return to their pool. The queue writes to an item's bytes only to set the
// ECN field to CE.
//
// # Time
//
// The clock is a func() time.Time, such as clock.Clock's Now (time.Now when
// nil). It is read once per Enqueue, Dequeue, EnqueueBatch or DequeueBatch
// call; the batch calls stamp a whole batch with one reading. Tests pass a
// clock.Fake's Now and run the control law in virtual time.
//
// # Concurrency
//
// A Queue is not safe for concurrent use: it belongs to one goroutine at a
// time, like a packet.Batch. Locked wraps one in a mutex for callers whose
// producer and consumer run on different goroutines.
package fqcodel

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math/bits"
	"time"
)

// Defaults, as Linux's fq_codel except where noted.
const (
	DefaultFlows = 1024
	// DefaultQuantum is Linux's quantum for an Ethernet device, MTU 1500
	// plus the 14-byte header. Counted against inner IP packet lengths it
	// lets a flow send one full-size tunnel packet (MTU 1420) per round
	// with room to spare; set Quantum to the tunnel MTU for strict
	// one-packet rounds.
	DefaultQuantum  = 1514
	DefaultTarget   = 5 * time.Millisecond
	DefaultInterval = 100 * time.Millisecond
	// DefaultMemoryLimit bounds the packet bytes queued: 4 MiB, not
	// Linux's 32 MiB, because wgxdp keeps one queue per peer.
	DefaultMemoryLimit = 4 << 20
	DefaultPacketLimit = 10240
	// DefaultDropBatch is how many packets at most one overlimit enqueue
	// drops from the fattest flow.
	DefaultDropBatch = 64
)

// Bounds on Config values.
const (
	MaxFlows       = 65536
	MinQuantum     = 256 // Linux's floor; smaller makes DRR spin
	MaxQuantum     = 1 << 20
	MaxMemoryLimit = 1 << 31
	MaxPacketLimit = 1 << 22
)

// Mode selects the queueing discipline.
type Mode uint8

const (
	// ModeFQCoDel is RFC 8290 FQ-CoDel (the zero value).
	ModeFQCoDel Mode = iota
	// ModeFIFO is a single tail-drop FIFO bounded by PacketLimit and
	// MemoryLimit: no flows, no CoDel, no ECN marks. The arriving packet
	// is the one dropped when full.
	ModeFIFO
)

// String returns "fq_codel" or "fifo".
func (m Mode) String() string {
	switch m {
	case ModeFQCoDel:
		return "fq_codel"
	case ModeFIFO:
		return "fifo"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// ECNMode says whether CoDel marks ECN-capable packets instead of dropping
// them. Its zero value is ECNOn, so a zero Config has ECN on, as Linux.
type ECNMode uint8

const (
	// ECNOn: packets whose IP header carries ECT(0) or ECT(1) are marked
	// CE instead of dropped (RFC 8289 §5.1, RFC 3168).
	ECNOn ECNMode = iota
	// ECNOff: CoDel drops every packet it signals on.
	ECNOff
)

// Config holds a queue's parameters. Zero fields take the defaults, so the
// zero Config is Linux's fq_codel (with a 4 MiB memory limit).
type Config struct {
	Mode  Mode
	Flows int // number of flow queues (FQ-CoDel), 1..MaxFlows
	// Quantum is the bytes of IP packet a flow may send per DRR round; it
	// is also CoDel's "maxpacket": no packet is dropped while at most one
	// quantum is queued in all.
	Quantum  int
	Target   time.Duration // acceptable standing sojourn time
	Interval time.Duration // how long above target before dropping; about a worst-case RTT
	// MemoryLimit bounds the sum of queued packet lengths, in bytes (the
	// IP packet, not the buffer that holds it), up to MaxMemoryLimit.
	MemoryLimit int
	// PacketLimit bounds the queued packets. Storage for them, about
	// (size of T + 16) bytes each, is allocated as the backlog first
	// reaches each power of two, up to PacketLimit.
	PacketLimit int
	DropBatch   int // most packets dropped from the fattest flow per overlimit
	ECN         ECNMode
}

// DefaultConfig returns the defaults spelled out.
func DefaultConfig() Config {
	return Config{
		Mode:        ModeFQCoDel,
		Flows:       DefaultFlows,
		Quantum:     DefaultQuantum,
		Target:      DefaultTarget,
		Interval:    DefaultInterval,
		MemoryLimit: DefaultMemoryLimit,
		PacketLimit: DefaultPacketLimit,
		DropBatch:   DefaultDropBatch,
		ECN:         ECNOn,
	}
}

// ErrInvalidConfig is wrapped by New's errors for a bad Config.
var ErrInvalidConfig = errors.New("fqcodel: invalid config")

// Validate reports what New would refuse in c, wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	_, err := c.resolve()
	return err
}

// Add adds o's counters to s; the backlog figures become o's (the queue
// o describes is the one still in use).
func (s *Stats) Add(o Stats) {
	s.EnqueuedPackets += o.EnqueuedPackets
	s.EnqueuedBytes += o.EnqueuedBytes
	s.DequeuedPackets += o.DequeuedPackets
	s.DequeuedBytes += o.DequeuedBytes
	s.CoDelDroppedPackets += o.CoDelDroppedPackets
	s.CoDelDroppedBytes += o.CoDelDroppedBytes
	s.OverlimitDroppedPackets += o.OverlimitDroppedPackets
	s.OverlimitDroppedBytes += o.OverlimitDroppedBytes
	s.OvermemoryDroppedPackets += o.OvermemoryDroppedPackets
	s.ECNMarked += o.ECNMarked
	s.FlushedPackets += o.FlushedPackets
	s.FlushedBytes += o.FlushedBytes
	s.NewFlows += o.NewFlows
	s.BacklogPackets = o.BacklogPackets
	s.BacklogBytes = o.BacklogBytes
	s.ActiveFlows = o.ActiveFlows
}

// resolve fills in defaults and checks bounds.
func (c Config) resolve() (Config, error) {
	d := DefaultConfig()
	if c.Flows == 0 {
		c.Flows = d.Flows
	}
	if c.Quantum == 0 {
		c.Quantum = d.Quantum
	}
	if c.Target == 0 {
		c.Target = d.Target
	}
	if c.Interval == 0 {
		c.Interval = d.Interval
	}
	if c.MemoryLimit == 0 {
		c.MemoryLimit = d.MemoryLimit
	}
	if c.PacketLimit == 0 {
		c.PacketLimit = d.PacketLimit
	}
	if c.DropBatch == 0 {
		c.DropBatch = d.DropBatch
	}
	switch {
	case c.Mode > ModeFIFO:
		return c, fmt.Errorf("%w: mode %d", ErrInvalidConfig, c.Mode)
	case c.ECN > ECNOff:
		return c, fmt.Errorf("%w: ECN mode %d", ErrInvalidConfig, c.ECN)
	case c.Flows < 1 || c.Flows > MaxFlows:
		return c, fmt.Errorf("%w: flows %d not in 1..%d", ErrInvalidConfig, c.Flows, MaxFlows)
	case c.Quantum < MinQuantum || c.Quantum > MaxQuantum:
		return c, fmt.Errorf("%w: quantum %d not in %d..%d", ErrInvalidConfig, c.Quantum, MinQuantum, MaxQuantum)
	case c.Target < 0:
		return c, fmt.Errorf("%w: target %v", ErrInvalidConfig, c.Target)
	case c.Interval < 0 || c.Interval > time.Hour:
		return c, fmt.Errorf("%w: interval %v", ErrInvalidConfig, c.Interval)
	case c.MemoryLimit < 0 || c.MemoryLimit > MaxMemoryLimit:
		return c, fmt.Errorf("%w: memory limit %d not in 1..%d", ErrInvalidConfig, c.MemoryLimit, MaxMemoryLimit)
	case c.PacketLimit < 0 || c.PacketLimit > MaxPacketLimit:
		return c, fmt.Errorf("%w: packet limit %d not in 1..%d", ErrInvalidConfig, c.PacketLimit, MaxPacketLimit)
	case c.DropBatch < 0:
		return c, fmt.Errorf("%w: drop batch %d", ErrInvalidConfig, c.DropBatch)
	}
	if c.Mode == ModeFIFO {
		c.Flows = 1
	}
	return c, nil
}

// Stats counts what a queue has done. Every item enqueued is accounted
// for: EnqueuedPackets = DequeuedPackets + CoDelDroppedPackets +
// OverlimitDroppedPackets + FlushedPackets + BacklogPackets, and the same
// for bytes.
type Stats struct {
	EnqueuedPackets, EnqueuedBytes uint64
	DequeuedPackets, DequeuedBytes uint64
	// CoDel drops at dequeue.
	CoDelDroppedPackets, CoDelDroppedBytes uint64
	// Drops because PacketLimit or MemoryLimit was exceeded: from the
	// fattest flow (FQ-CoDel) or the arriving packet (FIFO).
	OverlimitDroppedPackets, OverlimitDroppedBytes uint64
	// The part of OverlimitDroppedPackets due to MemoryLimit.
	OvermemoryDroppedPackets uint64
	ECNMarked                uint64 // packets CoDel marked CE instead of dropping
	FlushedPackets           uint64 // handed back by Flush
	FlushedBytes             uint64
	NewFlows                 uint64 // times a flow entered the new-flows list
	BacklogPackets           int    // queued now
	BacklogBytes             int
	ActiveFlows              int // flows with packets queued now
}

// node holds one queued item. Nodes live in one array, which push grows,
// and are linked into per-flow FIFOs or the free list by index (so the
// array may move when it grows).
type node[T any] struct {
	item T
	enq  int64 // enqueue time, ns on the queue's clock
	next int32
	size uint32
}

// flow is one flow queue: its packets, its place in the DRR lists and its
// CoDel state.
type flow struct {
	head, tail int32 // nodes; -1 when empty
	next       int32 // next flow in the list it is on
	list       uint8 // listNone, listNew or listOld
	deficit    int32
	codel      codel
}

const (
	listNone = iota
	listNew
	listOld
)

// flowList is a FIFO of flows linked through flow.next.
type flowList struct{ head, tail int32 }

// Queue is an FQ-CoDel (or FIFO) queue of items of type T. Create one
// with New. It is not safe for concurrent use.
type Queue[T any] struct {
	mode     Mode
	ecn      bool
	quantum  int32
	target   int64
	interval int64
	pktLimit int
	memLimit int64
	batch    int

	now    func() time.Time
	base   time.Time
	data   func(T) []byte
	onDrop func(T)
	seed   maphash.Seed

	nodes    []node[T]
	free     int32 // head of the free node list
	flows    []flow
	backlogs []uint32 // bytes per flow, apart from flows for a cache-friendly fattest-flow scan
	newFlows flowList
	oldFlows flowList

	qlen    int
	backlog int64 // bytes queued
	active  int
	stats   Stats
}

// New returns an empty queue with the parameters of cfg. data returns an
// item's IP packet (the queue hashes its header, counts its length and may
// set its ECN field); it must not be nil. onDrop receives every item the
// queue drops, synchronously from within Enqueue or Dequeue; it must not
// call back into the queue; nil discards dropped items. now is the clock;
// nil means time.Now.
func New[T any](cfg Config, now func() time.Time, data func(T) []byte, onDrop func(T)) (*Queue[T], error) {
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if data == nil {
		return nil, fmt.Errorf("%w: nil data function", ErrInvalidConfig)
	}
	if now == nil {
		now = time.Now
	}
	q := &Queue[T]{
		mode:     cfg.Mode,
		ecn:      cfg.ECN == ECNOn,
		quantum:  int32(cfg.Quantum),
		target:   int64(cfg.Target),
		interval: int64(cfg.Interval),
		pktLimit: cfg.PacketLimit,
		memLimit: int64(cfg.MemoryLimit),
		batch:    cfg.DropBatch,
		now:      now,
		data:     data,
		onDrop:   onDrop,
		seed:     maphash.MakeSeed(),
		free:     -1,
		flows:    make([]flow, cfg.Flows),
		backlogs: make([]uint32, cfg.Flows),
	}
	q.base = now()
	q.grow()
	q.reset()
	return q, nil
}

// minNodes is the node array's first size.
const minNodes = 64

// grow enlarges the node array, whose nodes must all be in use, and puts
// the new ones on the free list. It stops at PacketLimit+1 nodes: FQ-CoDel
// enqueues first and then drops from the fattest flow, which may be
// another one, so one node more than the limit is in use at most.
func (q *Queue[T]) grow() {
	old := len(q.nodes)
	n := min(max(2*old, minNodes), q.pktLimit+1)
	if n <= old {
		return // cannot happen: at most PacketLimit+1 items are queued
	}
	nodes := make([]node[T], n)
	copy(nodes, q.nodes)
	for i := old; i < n; i++ {
		nodes[i].next = int32(i + 1)
	}
	nodes[n-1].next = q.free
	q.nodes = nodes
	q.free = int32(old)
}

// reset empties the flows and lists; the nodes must already be free.
func (q *Queue[T]) reset() {
	for i := range q.flows {
		q.flows[i] = flow{head: -1, tail: -1, next: -1}
		q.backlogs[i] = 0
	}
	q.newFlows = flowList{-1, -1}
	q.oldFlows = flowList{-1, -1}
	q.qlen, q.backlog, q.active = 0, 0, 0
}

// clock returns the time in nanoseconds since New. It starts at 0, so a
// CoDel time of 0 can mean "unset".
func (q *Queue[T]) clock() int64 { return int64(q.now().Sub(q.base)) }

// Mode returns the queue's mode.
func (q *Queue[T]) Mode() Mode { return q.mode }

// Len returns the number of items queued.
func (q *Queue[T]) Len() int { return q.qlen }

// Stats returns the counters and the current backlog.
func (q *Queue[T]) Stats() Stats {
	s := q.stats
	s.BacklogPackets = q.qlen
	s.BacklogBytes = int(q.backlog)
	s.ActiveFlows = q.active
	return s
}

// Enqueue adds item, stamped with the current time. It reports whether
// item is still queued: false means the queue dropped it on arrival (the
// FIFO was full, or its flow was the fattest and the overlimit drop
// reached it) and it has already been handed to onDrop. Either way the
// caller no longer owns item. Other items may be dropped (and handed to
// onDrop) to make room.
func (q *Queue[T]) Enqueue(item T) bool {
	return q.enqueue(item, q.clock())
}

// EnqueueBatch enqueues each item in order, stamped with one reading of
// the clock.
func (q *Queue[T]) EnqueueBatch(items []T) {
	now := q.clock()
	for _, it := range items {
		q.enqueue(it, now)
	}
}

func (q *Queue[T]) enqueue(item T, now int64) bool {
	b := q.data(item)
	size := uint32(len(b))
	q.stats.EnqueuedPackets++
	q.stats.EnqueuedBytes += uint64(size)
	if q.mode == ModeFIFO {
		if q.qlen >= q.pktLimit || q.backlog+int64(size) > q.memLimit {
			q.stats.OverlimitDroppedPackets++
			q.stats.OverlimitDroppedBytes += uint64(size)
			if q.qlen < q.pktLimit {
				q.stats.OvermemoryDroppedPackets++
			}
			q.hand(item)
			return false
		}
		q.push(0, item, size, now)
		return true
	}
	fi := q.classify(b)
	n := q.push(fi, item, size, now)
	f := &q.flows[fi]
	if f.list == listNone {
		q.pushList(&q.newFlows, fi)
		f.list = listNew
		f.deficit = q.quantum
		q.stats.NewFlows++
	}
	overMemory := q.backlog > q.memLimit
	if q.qlen <= q.pktLimit && !overMemory {
		return true
	}
	return !q.dropFattest(n, overMemory)
}

// classify returns the flow queue of the IP packet b.
func (q *Queue[T]) classify(b []byte) int32 {
	var k [keyLen]byte
	h := maphash.Bytes(q.seed, k[:flowKey(b, &k)])
	hi, _ := bits.Mul64(h, uint64(len(q.flows)))
	return int32(hi)
}

// push appends item to flow fi and returns its node.
func (q *Queue[T]) push(fi int32, item T, size uint32, now int64) int32 {
	if q.free < 0 {
		q.grow()
	}
	n := q.free
	nd := &q.nodes[n]
	q.free = nd.next
	nd.item, nd.enq, nd.next, nd.size = item, now, -1, size
	f := &q.flows[fi]
	if f.tail < 0 {
		f.head = n
		q.active++
	} else {
		q.nodes[f.tail].next = n
	}
	f.tail = n
	q.backlogs[fi] += size
	q.backlog += int64(size)
	q.qlen++
	return n
}

// popFlow unlinks the head node of flow fi and returns it, or -1 if the
// flow is empty. The node still holds its item; release frees it.
func (q *Queue[T]) popFlow(fi int32) int32 {
	f := &q.flows[fi]
	n := f.head
	if n < 0 {
		return n
	}
	nd := &q.nodes[n]
	f.head = nd.next
	if f.head < 0 {
		f.tail = -1
		q.active--
	}
	q.backlogs[fi] -= nd.size
	q.backlog -= int64(nd.size)
	q.qlen--
	return n
}

// release returns node n to the free list and gives back its item.
func (q *Queue[T]) release(n int32) T {
	nd := &q.nodes[n]
	it := nd.item
	var zero T
	nd.item = zero // the queue keeps no reference to an item it gave back
	nd.next = q.free
	q.free = n
	return it
}

func (q *Queue[T]) hand(item T) {
	if q.onDrop != nil {
		q.onDrop(item)
	}
}

func (q *Queue[T]) dropCoDel(n int32) {
	q.stats.CoDelDroppedPackets++
	q.stats.CoDelDroppedBytes += uint64(q.nodes[n].size)
	q.hand(q.release(n))
}

// mark sets CE on node n's packet if it is ECN-capable.
func (q *Queue[T]) mark(n int32) bool {
	if markCE(q.data(q.nodes[n].item)) {
		q.stats.ECNMarked++
		return true
	}
	return false
}

// dropFattest drops packets from the head of the flow with the largest
// backlog: half of that backlog, at most DropBatch packets, as Linux's
// fq_codel_drop, whose linear scan of the per-flow byte counts (4 KiB
// for 1024 flows) is amortised over the batch. It reports whether node
// mine was among those dropped. The flow's CoDel count grows by the drops
// so its signal strengthens too.
func (q *Queue[T]) dropFattest(mine int32, overMemory bool) bool {
	fat, max := int32(-1), uint32(0)
	for i, b := range q.backlogs {
		if b > max {
			fat, max = int32(i), b
		}
	}
	if fat < 0 {
		// Only empty packets are queued; drop from the flow that was just
		// enqueued to.
		for i := range q.flows {
			if q.flows[i].tail == mine {
				fat = int32(i)
				break
			}
		}
	}
	threshold := max >> 1
	var bytes uint32
	dropped, hit := 0, false
	for dropped < q.batch {
		n := q.popFlow(fat)
		if n < 0 {
			break
		}
		hit = hit || n == mine
		size := q.nodes[n].size
		bytes += size
		dropped++
		q.stats.OverlimitDroppedPackets++
		q.stats.OverlimitDroppedBytes += uint64(size)
		if overMemory {
			q.stats.OvermemoryDroppedPackets++
		}
		q.hand(q.release(n))
		if bytes >= threshold {
			break
		}
	}
	q.flows[fat].codel.count += uint32(dropped)
	return hit
}

// Dequeue removes and returns the next item, or reports false if the
// queue is empty. Items CoDel drops on the way are handed to onDrop; an
// ECN-capable item may come back with CE set instead.
func (q *Queue[T]) Dequeue() (T, bool) {
	var zero T
	if q.qlen == 0 {
		return zero, false
	}
	n := q.dequeue(q.clock())
	if n < 0 {
		return zero, false
	}
	return q.release(n), true
}

// DequeueBatch dequeues up to len(dst) items into dst, with one reading of
// the clock, and returns how many it wrote.
func (q *Queue[T]) DequeueBatch(dst []T) int {
	if q.qlen == 0 {
		return 0
	}
	now := q.clock()
	for i := range dst {
		n := q.dequeue(now)
		if n < 0 {
			return i
		}
		dst[i] = q.release(n)
	}
	return len(dst)
}

func (q *Queue[T]) dequeue(now int64) int32 {
	if q.mode == ModeFIFO {
		n := q.popFlow(0)
		if n >= 0 {
			q.countDequeue(n)
		}
		return n
	}
	for {
		// New flows first (RFC 8290 §4.2): a flow that had nothing queued
		// gets served before the backlogged ones.
		l, isNew := &q.newFlows, true
		if l.head < 0 {
			l, isNew = &q.oldFlows, false
			if l.head < 0 {
				return -1
			}
		}
		fi := l.head
		f := &q.flows[fi]
		if f.deficit <= 0 {
			// Used up its quantum: a new round for it, at the back of
			// the old flows.
			f.deficit += q.quantum
			q.popList(l)
			q.pushList(&q.oldFlows, fi)
			f.list = listOld
			continue
		}
		n := q.codelDequeue(fi, now)
		if n < 0 {
			q.popList(l)
			if isNew {
				// An emptied new flow goes to the old list rather than
				// leaving (RFC 8290 §4.2), so a flow cannot keep its
				// new-flow priority by sending one packet per round and
				// starve the old flows. (Linux removes it instead when
				// the old list is empty; the difference is one visit.)
				q.pushList(&q.oldFlows, fi)
				f.list = listOld
			} else {
				f.list = listNone
			}
			continue
		}
		f.deficit -= int32(q.nodes[n].size)
		q.countDequeue(n)
		return n
	}
}

func (q *Queue[T]) countDequeue(n int32) {
	q.stats.DequeuedPackets++
	q.stats.DequeuedBytes += uint64(q.nodes[n].size)
}

func (q *Queue[T]) pushList(l *flowList, fi int32) {
	q.flows[fi].next = -1
	if l.tail < 0 {
		l.head = fi
	} else {
		q.flows[l.tail].next = fi
	}
	l.tail = fi
}

func (q *Queue[T]) popList(l *flowList) {
	fi := l.head
	l.head = q.flows[fi].next
	if l.head < 0 {
		l.tail = -1
	}
	q.flows[fi].next = -1
}

// Flush empties the queue, handing every item to fn (onDrop when fn is
// nil) flow by flow, each flow's items in order, so they can be enqueued
// into a queue with another Config without reordering any flow. The items
// count as FlushedPackets; flows and CoDel state start afresh.
func (q *Queue[T]) Flush(fn func(T)) {
	if fn == nil {
		fn = q.hand
	}
	for fi := range q.flows {
		for {
			n := q.popFlow(int32(fi))
			if n < 0 {
				break
			}
			q.stats.FlushedPackets++
			q.stats.FlushedBytes += uint64(q.nodes[n].size)
			fn(q.release(n))
		}
	}
	q.reset()
}
