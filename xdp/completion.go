package xdp

// completionRing returns frames the kernel finished sending (kernel
// produces).
type completionRing struct {
	ring
	a []uint64
}

// peek returns how many of up to n completed addresses can be read, from
// index start.
func (c *completionRing) peek(n uint32) (start, got uint32) {
	return c.cachedCons, c.avail(n)
}

// get reads the address at index i (from peek).
func (c *completionRing) get(i uint32) uint64 { return c.a[i&c.mask] }

// release gives n read entries back to the kernel.
func (c *completionRing) release(n uint32) {
	c.cachedCons += n
	c.consumer.Store(c.cachedCons)
}
