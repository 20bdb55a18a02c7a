package xdp

// fillRing hands empty frames to the kernel for receiving (user produces).
type fillRing struct {
	ring
	a []uint64
}

// reserve returns how many of n entries may be set, from index start.
func (f *fillRing) reserve(n uint32) (start, got uint32) {
	got = min(f.free(n), n)
	return f.cachedProd, got
}

// set writes frame address addr at index i (from reserve).
func (f *fillRing) set(i uint32, addr uint64) { f.a[i&f.mask] = addr }

// submit publishes n set entries.
func (f *fillRing) submit(n uint32) {
	f.cachedProd += n
	f.producer.Store(f.cachedProd)
}
