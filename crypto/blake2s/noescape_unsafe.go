package blake2s

import (
	"encoding/binary"
	"unsafe"
)

// Calls through a function value hide the callee from escape analysis, so
// every pointer passed to active.hashBlocks would be moved to the heap: a
// Digest on the stack, and the caller's data. Every implementation
// promises not to retain its arguments (see impl), so the wrappers below
// launder the pointers through noescape, as the runtime and strings.Builder
// do, keeping Sum256To, MAC128 and HMAC free of allocations.

// noescape hides a pointer from escape analysis. It is the identity
// function, but escape analysis does not think the output depends on the
// input. (Reading the word back through memory rather than converting the
// uintptr keeps go vet's unsafeptr check and checkptr satisfied.)
//
//go:nosplit
func noescape(p unsafe.Pointer) unsafe.Pointer {
	x := uintptr(p)
	return *(*unsafe.Pointer)(unsafe.Pointer(&x))
}

// hashBlocks calls the active implementation's hashBlocks.
func hashBlocks(h *[8]uint32, c *[2]uint32, flag uint32, blocks []byte) {
	active.Fn.hashBlocks(
		(*[8]uint32)(noescape(unsafe.Pointer(h))),
		(*[2]uint32)(noescape(unsafe.Pointer(c))),
		flag,
		unsafe.Slice((*byte)(noescape(unsafe.Pointer(unsafe.SliceData(blocks)))), len(blocks)),
	)
}

// finalBlocks computes a hash from the IV with parameter word param: the
// block first (if not nil), the whole blocks of blocks, then last,
// zero-padded, as the final block with byte counter n; dst receives the
// 32-byte chaining value. It uses the active implementation's final when it
// has one.
func finalBlocks(dst *[Size]byte, param uint32, first *[BlockSize]byte, blocks []byte, last *[BlockSize]byte, n uint64) {
	if f := active.Fn.final; f != nil {
		f((*[Size]byte)(noescape(unsafe.Pointer(dst))), param,
			(*[BlockSize]byte)(noescape(unsafe.Pointer(first))),
			unsafe.Slice((*byte)(noescape(unsafe.Pointer(unsafe.SliceData(blocks)))), len(blocks)),
			(*[BlockSize]byte)(noescape(unsafe.Pointer(last))), n)
		return
	}
	hh := iv
	hh[0] ^= param
	var c [2]uint32
	if first != nil {
		hashBlocks(&hh, &c, 0, first[:])
	}
	if len(blocks) > 0 {
		hashBlocks(&hh, &c, 0, blocks)
	}
	// hashBlocks adds BlockSize to the counter before compressing.
	c = [2]uint32{uint32(n - BlockSize), uint32((n - BlockSize) >> 32)}
	hashBlocks(&hh, &c, 0xffffffff, last[:])
	for i, v := range hh {
		binary.LittleEndian.PutUint32(dst[4*i:], v)
	}
}
