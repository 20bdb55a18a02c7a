package xdp

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// umem is the packet memory one XSK shares with the kernel: frames of
// frameSize bytes, anonymous mmap'd memory outside the Go heap (it is
// pinned by the kernel and counts against RLIMIT_MEMLOCK without
// CAP_IPC_LOCK). The first rxFrames frames circulate through fill and rx;
// the rest are tx frames, kept on a free stack while not in flight.
type umem struct {
	mem       []byte
	frameSize int
	frames    int
	rxFrames  int
	free      []uint64 // tx frame addresses we own; a stack
}

// validFrameSize reports whether the kernel accepts n as a frame size.
func validFrameSize(n int) bool { return n == 2048 || n == 4096 }

func newUmem(frameSize, rxFrames, txFrames int) (*umem, error) {
	if !validFrameSize(frameSize) {
		return nil, fmt.Errorf("xdp: frame size %d: must be 2048 or 4096", frameSize)
	}
	n := rxFrames + txFrames
	mem, err := unix.Mmap(-1, 0, n*frameSize, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("xdp: mmap umem: %w", err)
	}
	u := &umem{mem: mem, frameSize: frameSize, frames: n, rxFrames: rxFrames,
		free: make([]uint64, 0, txFrames)}
	for i := n - 1; i >= rxFrames; i-- {
		u.free = append(u.free, uint64(i*frameSize))
	}
	return u, nil
}

// frame returns the bytes of the frame holding addr, from addr on.
func (u *umem) frame(addr uint64) []byte {
	base := addr &^ uint64(u.frameSize-1)
	return u.mem[addr : base+uint64(u.frameSize)]
}

// base rounds addr down to its frame's start.
func (u *umem) base(addr uint64) uint64 { return addr &^ uint64(u.frameSize-1) }

func (u *umem) pop() (uint64, bool) {
	if len(u.free) == 0 {
		return 0, false
	}
	a := u.free[len(u.free)-1]
	u.free = u.free[:len(u.free)-1]
	return a, true
}

func (u *umem) push(addr uint64) { u.free = append(u.free, u.base(addr)) }

func (u *umem) close() {
	if u.mem != nil {
		unix.Munmap(u.mem)
		u.mem = nil
	}
}
