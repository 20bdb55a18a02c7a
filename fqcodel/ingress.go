package fqcodel

import "time"

// CoDel is CoDel (RFC 8289) for a queue this package does not hold: the
// kernel's receive buffer of a UDP socket, say, whose datagrams carry the
// time the kernel queued them (SO_TIMESTAMPNS). The owner of the queue
// calls Drop for each packet as it takes it out, in order, with its
// sojourn time; Drop runs the same state machine as the per-flow CoDel of
// a Queue — a signal once the sojourn time has stayed at or above Target
// for an Interval, then at Interval/sqrt(count) spacing while it stays
// above, with the count memory of RFC 8289 §5.5 — and says which packets
// to signal on. The caller marks those that are ECN-capable (MarkCE) and
// drops the rest. Without a backlog figure for the external queue, the
// "more than one quantum queued" test is left out. The zero CoDel is not
// usable; NewCoDel makes one. A CoDel is not safe for concurrent use.
type CoDel struct {
	c                codel
	target, interval int64
}

// NewCoDel returns a CoDel with target and interval (zero: the defaults,
// 5 ms and 100 ms).
func NewCoDel(target, interval time.Duration) *CoDel {
	if target <= 0 {
		target = DefaultTarget
	}
	if interval <= 0 {
		interval = DefaultInterval
	}
	return &CoDel{target: int64(target), interval: int64(interval)}
}

// Drop reports whether the packet leaving the queue at now (ns, any
// clock that the sojourn times share) after sojourn ns should be dropped
// or marked.
func (d *CoDel) Drop(sojourn, now int64) bool {
	c := &d.c
	above := d.above(sojourn, now)
	if c.dropping {
		if !above {
			c.dropping = false // sojourn time went below target
			return false
		}
		if now < c.dropNext {
			return false
		}
		c.count++
		c.newtonStep()
		c.dropNext = controlLaw(c.dropNext, d.interval, c.invSqrt)
		return true
	}
	if !above {
		return false
	}
	c.startDropping(now, d.interval)
	return true
}

// above is shouldDrop for one packet: the sojourn time has been at or
// above target for at least an interval.
func (d *CoDel) above(sojourn, now int64) bool {
	c := &d.c
	if sojourn < d.target {
		c.firstAbove = 0
		return false
	}
	if c.firstAbove == 0 {
		c.firstAbove = now + d.interval
		return false
	}
	return now > c.firstAbove
}

// Dropping reports whether d is in its dropping state, and its count.
func (d *CoDel) Dropping() (bool, uint32) { return d.c.dropping, d.c.count }

// MarkCE sets the ECN field of the IP packet b to CE if it is ECN-capable
// (ECT(0) or ECT(1), or already CE) and reports whether it now carries CE;
// a Not-ECT or non-IP packet is left alone (drop it instead). The IPv4
// header checksum is updated.
func MarkCE(b []byte) bool { return markCE(b) }
