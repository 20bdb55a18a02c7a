package xdp

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ring is the part all four rings share: the shared indices (free-running
// uint32s, masked on use), the flags word, and our cached copies. The
// producer side writes producer and caches consumer; the consumer side the
// reverse. Stores to our own index are releases and loads of the other's
// are acquires (Go's atomics are sequentially consistent), so descriptor
// writes are visible before the index that publishes them.
type ring struct {
	mem      []byte
	producer *atomic.Uint32
	consumer *atomic.Uint32
	flags    *atomic.Uint32
	desc     unsafe.Pointer
	mask     uint32
	size     uint32

	cachedProd uint32
	cachedCons uint32
}

func (r *ring) unmap() {
	if r.mem != nil {
		unix.Munmap(r.mem)
		r.mem = nil
	}
}

// needWakeup reports the kernel's XDP_RING_NEED_WAKEUP flag.
func (r *ring) needWakeup() bool { return r.flags.Load()&unix.XDP_RING_NEED_WAKEUP != 0 }

// free is the producer side's room, refreshing the cached consumer index
// only when the cached view shows less than want.
func (r *ring) free(want uint32) uint32 {
	n := r.size - (r.cachedProd - r.cachedCons)
	if n >= want {
		return n
	}
	r.cachedCons = r.consumer.Load()
	return r.size - (r.cachedProd - r.cachedCons)
}

// avail is the consumer side's entries, refreshing the cached producer
// index only when the cached view is empty.
func (r *ring) avail(want uint32) uint32 {
	n := r.cachedProd - r.cachedCons
	if n == 0 {
		r.cachedProd = r.producer.Load()
		n = r.cachedProd - r.cachedCons
	}
	return min(n, want)
}
