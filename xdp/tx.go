package xdp

import "golang.org/x/sys/unix"

// txRing holds packets to send (user produces).
type txRing struct {
	ring
	d []unix.XDPDesc
}

// reserve returns how many of n entries may be set, from index start.
func (t *txRing) reserve(n uint32) (start, got uint32) {
	return t.cachedProd, min(t.free(n), n)
}

// set writes a descriptor at index i (from reserve).
func (t *txRing) set(i uint32, addr uint64, n uint32) {
	t.d[i&t.mask] = unix.XDPDesc{Addr: addr, Len: n}
}

// submit publishes n set entries.
func (t *txRing) submit(n uint32) {
	t.cachedProd += n
	t.producer.Store(t.cachedProd)
}
