// Package replay is WireGuard's anti-replay window for data-message counters:
// the sliding bitmap of RFC 6479 with the Linux kernel's dimensions, 8192 bits
// in 128 64-bit blocks of which one block is always being recycled, so
// 8192-64 = 8128 counters behind the highest one seen are still accepted.
package replay

const (
	blockBitLog = 6                // 64 bits per block
	blockBits   = 1 << blockBitLog // power of two
	ringBlocks  = 128              // power of two; 8192 bits in all
	blockMask   = ringBlocks - 1
	bitMask     = blockBits - 1

	// WindowSize is how far behind the highest counter seen a counter may be
	// and still be accepted: a counter c is accepted when max-c <= WindowSize.
	// The block holding the highest counter shares its ring slot with the
	// block WindowSize+64 behind it, so one block's worth of the ring is
	// redundant, exactly as in the kernel (COUNTER_WINDOW_SIZE).
	WindowSize = (ringBlocks - 1) * blockBits // 8128
)

// A Filter remembers which counters of one keypair have been received.
// The zero value is an empty filter ready to use.
//
// A Filter is not safe for concurrent use: the caller serialises calls,
// typically by holding the receiving keypair's lock around ValidateCounter,
// after the packet has been authenticated (an unauthenticated counter must
// never move the window).
type Filter struct {
	last uint64 // highest counter accepted so far (0 when empty)
	ring [ringBlocks]uint64
}

// Reset empties the filter.
//
// Only block 0 needs clearing: with last = 0 every counter outside block 0
// moves the window forward, and moving forward clears each block it enters.
func (f *Filter) Reset() {
	f.last = 0
	f.ring[0] = 0
}

// Last returns the highest counter accepted so far (0 when empty).
func (f *Filter) Last() uint64 { return f.last }

// ValidateCounter reports whether counter is acceptable and, if so, marks it
// seen. A counter is acceptable when it is below limit, no more than
// WindowSize behind the highest counter accepted so far, and not accepted
// before.
func (f *Filter) ValidateCounter(counter, limit uint64) bool {
	if counter >= limit {
		return false
	}
	index := counter >> blockBitLog
	if counter > f.last {
		// Move the window forward, clearing every block entered.
		current := f.last >> blockBitLog
		if diff := index - current; diff >= ringBlocks {
			f.ring = [ringBlocks]uint64{}
		} else {
			for i := current + 1; i <= index; i++ {
				f.ring[i&blockMask] = 0
			}
		}
		f.last = counter
	} else if f.last-counter > WindowSize {
		return false
	}
	p := &f.ring[index&blockMask]
	bit := uint64(1) << (counter & bitMask)
	if *p&bit != 0 {
		return false
	}
	*p |= bit
	return true
}
