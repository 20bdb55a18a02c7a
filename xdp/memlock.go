package xdp

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// The UMEM is pinned memory: without CAP_IPC_LOCK the kernel charges its
// pages to the user's locked memory and refuses a registration that would
// take that past RLIMIT_MEMLOCK (ENOBUFS). Before opening any XSK, the Bind
// works out what all of them need and makes it fit: it raises the soft
// limit (up to the hard limit, or past it with CAP_SYS_RESOURCE), and if
// that is not enough it gives every UMEM fewer frames, down to
// minUmemFrames; below that it gives up with ErrNotSupported.

// minUmemFrames is the fewest frames (rx and tx together) a UMEM gets: half
// a maximum batch each way.
const minUmemFrames = 128

// memlock is what decides the UMEM size: the RLIMIT_MEMLOCK limits and
// whether the kernel skips the accounting (CAP_IPC_LOCK) or lets the hard
// limit be raised (CAP_SYS_RESOURCE).
type memlock struct {
	cur, max    uint64 // unix.RLIM_INFINITY for no limit
	ipcLock     bool
	sysResource bool
}

// umemPlan is the outcome: frames per UMEM (a power of two, split evenly
// between rx and tx) and, if not zero, the soft (and, above max, hard)
// limit to set first.
type umemPlan struct {
	frames  int
	raiseTo uint64
}

// planUmem sizes the UMEMs of all sockets, where one frame in each of them
// together takes unit bytes (the sum of their frame sizes), and want frames
// each is the goal.
func planUmem(m memlock, unit uint64, want int) (umemPlan, error) {
	need := unit * uint64(want)
	switch {
	case m.ipcLock || need <= m.cur:
		return umemPlan{frames: want}, nil
	case need <= m.max:
		// Room under the hard limit: raise the soft one to it, which also
		// leaves room for what the user already has locked elsewhere.
		return umemPlan{frames: want, raiseTo: m.max}, nil
	case m.sysResource:
		return umemPlan{frames: want, raiseTo: satAdd(m.cur, need)}, nil
	}
	p := umemPlan{frames: want}
	if m.max > m.cur {
		p.raiseTo = m.max
	}
	for p.frames > minUmemFrames && unit*uint64(p.frames) > m.max {
		p.frames /= 2
	}
	if unit*uint64(p.frames) > m.max {
		return umemPlan{}, fmt.Errorf("%w: xdp: the UMEMs need at least %d KiB of locked memory and RLIMIT_MEMLOCK "+
			"allows %d KiB (raise it, e.g. LimitMEMLOCK= or ulimit -l, or grant CAP_IPC_LOCK)",
			ErrNotSupported, unit*minUmemFrames>>10, m.max>>10)
	}
	return p, nil
}

func satAdd(a, b uint64) uint64 {
	if a+b < a {
		return unix.RLIM_INFINITY
	}
	return a + b
}

// currentMemlock reads this process's limits and capabilities.
func currentMemlock() (memlock, error) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &rl); err != nil {
		return memlock{}, fmt.Errorf("xdp: getrlimit(RLIMIT_MEMLOCK): %w", err)
	}
	m := memlock{cur: rl.Cur, max: rl.Max}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err == nil {
		m.ipcLock = data[0].Effective&(1<<unix.CAP_IPC_LOCK) != 0
		m.sysResource = data[0].Effective&(1<<unix.CAP_SYS_RESOURCE) != 0
	}
	return m, nil
}

// fitMemlock applies planUmem to this process: it raises the limit if the
// plan says so and returns the frames per UMEM.
func fitMemlock(unit uint64, want int) (int, error) {
	m, err := currentMemlock()
	if err != nil {
		return 0, err
	}
	p, err := planUmem(m, unit, want)
	if err != nil {
		return 0, err
	}
	if p.raiseTo != 0 {
		rl := unix.Rlimit{Cur: p.raiseTo, Max: max(m.max, p.raiseTo)}
		if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &rl); err != nil {
			return 0, fmt.Errorf("%w: xdp: raising RLIMIT_MEMLOCK to %d KiB: %w", ErrNotSupported, p.raiseTo>>10, err)
		}
	}
	return p.frames, nil
}
