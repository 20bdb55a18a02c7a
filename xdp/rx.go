package xdp

import "golang.org/x/sys/unix"

// rxRing holds received packets (kernel produces).
type rxRing struct {
	ring
	d []unix.XDPDesc
}

// peek returns how many of up to n received descriptors can be read, from
// index start.
func (r *rxRing) peek(n uint32) (start, got uint32) {
	return r.cachedCons, r.avail(n)
}

// get reads the descriptor at index i (from peek).
func (r *rxRing) get(i uint32) unix.XDPDesc { return r.d[i&r.mask] }

// release gives n read entries back to the kernel.
func (r *rxRing) release(n uint32) {
	r.cachedCons += n
	r.consumer.Store(r.cachedCons)
}

// refresh reloads the kernel's producer index, for when the cached view
// holds only part of a multi-buffer packet.
func (r *rxRing) refresh() { r.cachedProd = r.producer.Load() }
