package fqcodel

import (
	"math"
	"math/bits"
)

// codel is the CoDel state of one flow (RFC 8289 §5; Linux codel_vars).
// Times are nanoseconds on the queue's clock.
type codel struct {
	count     uint32 // drops (or marks) since entering the dropping state
	lastcount uint32 // count when the dropping state was last entered
	dropping  bool
	// invSqrt is 1/sqrt(count) in Q0.32 fixed point, kept up to date by
	// one Newton step per increment of count, as Linux's codel does with
	// 16 bits (we keep 32, which costs nothing on 64-bit machines).
	invSqrt    uint32
	firstAbove int64 // when the sojourn time may first be judged too long for too long; 0: below target
	dropNext   int64 // when the next drop is due while dropping
}

// invSqrtOne is 1/sqrt(1) in Q0.32, rounded down.
const invSqrtOne = ^uint32(0)

// invSqrtTable holds 1/sqrt(n) in Q0.32 for the first counts, where
// Newton's method, started from 1 at count 1, is still far off (its first
// step gives 1/2 for 1/sqrt(2)); CAKE's COBALT caches the first 16 for the
// same reason. From 64 on, two steps per increment stay within the last
// bits of Q0.32.
var invSqrtTable = func() (t [64]uint32) {
	for n := range t {
		t[n] = exactInvSqrt(uint32(n))
	}
	return t
}()

// exactInvSqrt returns 1/sqrt(n) in Q0.32: the largest value for n <= 1.
func exactInvSqrt(n uint32) uint32 {
	if n <= 1 {
		return invSqrtOne
	}
	return uint32(float64(1<<32) / math.Sqrt(float64(n)))
}

// newtonStep refines invSqrt after count has grown by one:
// x' = x * (3 - count*x²) / 2, as Linux's codel_Newton_step but with
// 128-bit intermediates, so that count*x² keeps its precision at large
// counts. Linux takes one step per increment; its error, about
// 0.4/count², shortens every gap a little and adds up over a dropping
// spell, so we take two, which leave a few units in the last place. This
// runs once per drop, not per packet.
//
// Small counts come from a table. Newton's method for 1/sqrt converges
// only from an estimate below sqrt(3)/sqrt(count); when count has jumped
// since invSqrt was set (the overlimit path adds to count directly) the
// estimate is recomputed exactly instead.
func (c *codel) newtonStep() {
	if c.count < uint32(len(invSqrtTable)) {
		c.invSqrt = invSqrtTable[c.count]
		return
	}
	for range 2 {
		x := uint64(c.invSqrt)
		hi, lo := bits.Mul64(uint64(c.count), x*x) // x*x < 2^64: Q0.64
		cx2 := hi<<32 | lo>>32                     // count*x² in Q32
		if hi >= 1<<32 || cx2 >= 2<<32 {
			c.setInvSqrt()
			return
		}
		hi, lo = bits.Mul64(3<<32-cx2, x)
		c.invSqrt = uint32(hi<<31 | lo>>33) // (3 - count*x²) * x / 2
	}
}

// setInvSqrt computes invSqrt exactly for the current count.
func (c *codel) setInvSqrt() { c.invSqrt = exactInvSqrt(c.count) }

// controlLaw returns t + interval/sqrt(count) (RFC 8289 §5.4), with
// 1/sqrt(count) in Q0.32.
func controlLaw(t, interval int64, invSqrt uint32) int64 {
	hi, lo := bits.Mul64(uint64(interval), uint64(invSqrt))
	return t + int64(hi<<32|lo>>32)
}

// shouldDrop reports whether the packet n, just taken from flow fi at now,
// may be dropped: its sojourn time has stayed at or above target for at
// least an interval, and more than one quantum is still queued (RFC 8289
// §5.2, with Linux's codel_should_drop using the whole queue's backlog as
// its "maxpacket" test). n < 0 means the flow is empty.
func (q *Queue[T]) shouldDrop(c *codel, n int32, now int64) bool {
	if n < 0 {
		c.firstAbove = 0
		return false
	}
	sojourn := now - q.nodes[n].enq
	if sojourn < q.target || q.backlog <= int64(q.quantum) {
		c.firstAbove = 0
		return false
	}
	if c.firstAbove == 0 {
		c.firstAbove = now + q.interval
		return false
	}
	return now > c.firstAbove
}

// codelDequeue takes the next packet of flow fi that CoDel lets through,
// dropping (or ECN-marking) as RFC 8289 §5.5 and Linux's codel_dequeue do.
// It returns the node, or -1 when the flow is, or has been emptied by
// drops. Drops happen here, at dequeue, where the sojourn time is known.
func (q *Queue[T]) codelDequeue(fi int32, now int64) int32 {
	c := &q.flows[fi].codel
	n := q.popFlow(fi)
	if n < 0 {
		c.dropping = false
		return n
	}
	drop := q.shouldDrop(c, n, now)
	if c.dropping {
		if !drop {
			// Sojourn time went below target: leave the dropping state.
			c.dropping = false
		} else {
			// Drop (or mark) every packet whose drop time has come; at a
			// large backlog several may be due at once.
			for c.dropping && now >= c.dropNext {
				c.count++
				c.newtonStep()
				if q.ecn && q.mark(n) {
					c.dropNext = controlLaw(c.dropNext, q.interval, c.invSqrt)
					return n
				}
				q.dropCoDel(n)
				n = q.popFlow(fi)
				if !q.shouldDrop(c, n, now) {
					c.dropping = false
				} else {
					c.dropNext = controlLaw(c.dropNext, q.interval, c.invSqrt)
				}
			}
		}
	} else if drop {
		if q.ecn && q.mark(n) {
			// Marked: delivered, but the dropping state is entered all
			// the same.
		} else {
			q.dropCoDel(n)
			n = q.popFlow(fi)
			q.shouldDrop(c, n, now)
		}
		c.startDropping(now, q.interval)
	}
	return n
}

// startDropping enters the dropping state at now, after its first drop or
// mark. If the queue went bad again soon after the last dropping spell,
// the drop rate that controlled it then is a good start now: the count
// "memory" (RFC 8289 §5.5; Linux's count - lastcount).
func (c *codel) startDropping(now, interval int64) {
	c.dropping = true
	delta := c.count - c.lastcount
	if delta > 1 && now-c.dropNext < 16*interval {
		c.count = delta
		c.setInvSqrt()
	} else {
		c.count = 1
		c.invSqrt = invSqrtOne
	}
	c.lastcount = c.count
	c.dropNext = controlLaw(now, interval, c.invSqrt)
}
