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

// sum256Blocks sets dst to the BLAKE2s-256 digest of the n-byte message
// made of blocks (its whole blocks but the last) and last (its last block,
// zero-padded), by the active implementation's sum256 when it has one.
func sum256Blocks(dst *[Size]byte, blocks []byte, last *[BlockSize]byte, n int) {
	if f := active.Fn.sum256; f != nil {
		f((*[Size]byte)(noescape(unsafe.Pointer(dst))),
			unsafe.Slice((*byte)(noescape(unsafe.Pointer(unsafe.SliceData(blocks)))), len(blocks)),
			(*[BlockSize]byte)(noescape(unsafe.Pointer(last))), n)
		return
	}
	h := iv
	h[0] ^= Size | 1<<16 | 1<<24
	var c [2]uint32
	if len(blocks) > 0 {
		hashBlocks(&h, &c, 0, blocks)
	}
	// hashBlocks adds BlockSize to the counter before compressing: set it
	// to n - BlockSize (64-bit, borrowing from the high word).
	c[0], c[1] = uint32(n-BlockSize), uint32(uint64(n-BlockSize)>>32)
	hashBlocks(&h, &c, 0xffffffff, last[:])
	for i, v := range h {
		binary.LittleEndian.PutUint32(dst[4*i:], v)
	}
}
