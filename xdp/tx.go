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

// set writes a descriptor at index i (from reserve); options is 0 or
// XDP_TX_METADATA.
func (t *txRing) set(i uint32, addr uint64, n, options uint32) {
	t.d[i&t.mask] = unix.XDPDesc{Addr: addr, Len: n, Options: options}
}

// submit publishes n set entries.
func (t *txRing) submit(n uint32) {
	t.cachedProd += n
	t.producer.Store(t.cachedProd)
}
