// Package ratelimiter limits handshake initiations per source address when
// the device is under load: a token bucket per source of 20 packets a second
// with a burst of 5, as in the Linux kernel's WireGuard, kept in a table of
// bounded size so a flood of spoofed sources cannot grow memory.
package ratelimiter

import (
	"net/netip"
	"sync"
	"time"
)

const (
	packetsPerSecond = 20
	packetsBurstable = 5
	packetCost       = int64(time.Second / packetsPerSecond) // tokens are nanoseconds
	maxTokens        = packetCost * packetsBurstable

	// idleTimeout is how long a source may stay silent before its entry is
	// dropped; by then its bucket has refilled, so forgetting it changes nothing.
	idleTimeout = int64(time.Second)

	// sweepInterval bounds how often a full table is swept for idle entries
	// on the insertion path, so a flood of new sources against a table full of
	// busy ones costs one map walk per interval rather than one per packet.
	sweepInterval = idleTimeout / 10

	// DefaultMaxEntries is the table size New uses when given maxEntries <= 0.
	DefaultMaxEntries = 8192
)

// A key names a bucket: an IPv4 address (lo holds it and a marker bit) or an
// IPv6 /64 (hi holds it, lo is zero).
type key struct{ hi, lo uint64 }

func keyOf(ip netip.Addr) (key, bool) {
	// A v4-mapped source from a dual-stack socket is an IPv4 host: without
	// unmapping, every IPv4 source would share the bucket of ::ffff:0:0/64.
	ip = ip.Unmap()
	if ip.Is4() {
		b := ip.As4()
		return key{lo: 1<<32 | uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}, true
	}
	if ip.Is6() {
		b := ip.As16()
		var hi uint64
		for _, x := range b[:8] {
			hi = hi<<8 | uint64(x)
		}
		return key{hi: hi}, true
	}
	return key{}, false
}

type entry struct {
	mu     sync.Mutex
	last   int64 // nanoseconds since Limiter.base
	tokens int64
}

// take refills the bucket for the time since the last packet and spends one
// packet's worth if there is that much. Like the kernel (and unlike
// wireguard-go, which needs strictly more than one packet's worth), a full
// bucket passes exactly packetsBurstable packets at once.
func (e *entry) take(now int64) bool {
	if elapsed := now - e.last; elapsed > 0 {
		e.tokens = min(maxTokens, e.tokens+elapsed)
	}
	e.last = max(e.last, now)
	if e.tokens >= packetCost {
		e.tokens -= packetCost
		return true
	}
	return false
}

// A Limiter decides which sources' handshake initiations to process. It is
// safe for concurrent use; Allow for a source already in the table takes a
// read lock and the source's own lock, and does not allocate.
//
// The owner calls GC about once a second to forget idle sources; a full table
// also drops idle sources itself before refusing a new one.
type Limiter struct {
	now  func() time.Time
	base time.Time
	max  int

	// mu guards the table. Allow holds it for reading for as long as it uses
	// an entry, so GC, which holds it for writing, can recycle entries.
	mu        sync.RWMutex
	table     map[key]*entry
	free      []*entry // entries dropped by GC, for reuse
	lastSweep int64
	closed    bool
}

// New returns a Limiter that reads the time from now (time.Now if nil) and
// tracks at most maxEntries sources (DefaultMaxEntries if maxEntries <= 0).
func New(now func() time.Time, maxEntries int) *Limiter {
	if now == nil {
		now = time.Now
	}
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	return &Limiter{
		now:       now,
		base:      now(),
		max:       maxEntries,
		table:     make(map[key]*entry),
		lastSweep: -sweepInterval,
	}
}

func (l *Limiter) nanotime() int64 { return int64(l.now().Sub(l.base)) }

// Allow reports whether a handshake initiation from ip may be processed now,
// and charges it to ip's bucket: IPv4 sources each have their own, IPv6
// sources share one per /64. A new source is refused if the table is full of
// sources heard from in the last second, and every source is refused after
// Close, or if ip is invalid.
func (l *Limiter) Allow(ip netip.Addr) bool {
	k, ok := keyOf(ip)
	if !ok {
		return false
	}
	now := l.nanotime()
	l.mu.RLock()
	if e := l.table[k]; e != nil {
		e.mu.Lock()
		ok := e.take(now)
		e.mu.Unlock()
		l.mu.RUnlock()
		return ok
	}
	closed := l.closed
	l.mu.RUnlock()
	if closed {
		return false
	}
	return l.add(k, now)
}

func (l *Limiter) add(k key, now int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	if e := l.table[k]; e != nil { // added while we waited for the lock
		return e.take(now)
	}
	if len(l.table) >= l.max {
		if now-l.lastSweep < sweepInterval {
			return false
		}
		l.sweep(now)
		if len(l.table) >= l.max {
			return false
		}
	}
	var e *entry
	if n := len(l.free); n > 0 {
		e, l.free = l.free[n-1], l.free[:n-1]
	} else {
		e = new(entry)
	}
	e.last, e.tokens = now, maxTokens-packetCost
	l.table[k] = e
	return true
}

// sweep drops entries idle for more than idleTimeout. l.mu is held for writing.
func (l *Limiter) sweep(now int64) {
	for k, e := range l.table {
		if now-e.last > idleTimeout {
			delete(l.table, k)
			l.free = append(l.free, e)
		}
	}
	l.lastSweep = now
}

// GC forgets sources not heard from for more than a second.
func (l *Limiter) GC() {
	now := l.nanotime()
	l.mu.Lock()
	l.sweep(now)
	l.mu.Unlock()
}

// Close releases the table. Allow refuses everything afterwards.
func (l *Limiter) Close() {
	l.mu.Lock()
	l.closed = true
	l.table, l.free = nil, nil
	l.mu.Unlock()
}
