package blake2s

import (
	"encoding/binary"
	"unsafe"
)

// maxLanes is how many messages MAC128Many hands the many-message kernel
// per call; the AVX2 kernel takes eight at a time.
const maxLanes = 16

// MAC128Many sets dst[i] = MAC128(key, msgs[i]) for every i: WireGuard's
// mac1 check over a batch of handshake messages. Messages of the same
// length are hashed together by the many-message kernel (eight per AVX2
// register), and the key block, the same for all, is compressed once. It
// does not allocate. It panics if len(dst) < len(msgs) or if key is longer
// than 32 bytes.
func MAC128Many(dst [][Size128]byte, key []byte, msgs [][]byte) {
	if len(key) > Size {
		panic("blake2s: MAC128Many key longer than 32 bytes")
	}
	_ = dst[:len(msgs)]

	// The state after the key block, shared by every message.
	var d Digest
	d.init(Size128, key)
	var kh [8]uint32
	var kc [2]uint32
	keyed := len(key) > 0
	if keyed {
		kh, kc = d.h, d.c
		hashBlocks(&kh, &kc, 0, d.block[:])
	}
	clear(d.key[:])
	clear(d.block[:])

	for len(msgs) > 0 {
		// A run of up to maxLanes messages of one length.
		n := len(msgs[0])
		lanes := 1
		for lanes < len(msgs) && lanes < maxLanes && len(msgs[lanes]) == n {
			lanes++
		}
		if lanes == 1 || n == 0 || !keyed {
			MAC128(&dst[0], key, msgs[0])
			dst, msgs = dst[1:], msgs[1:]
			continue
		}
		if f := active.Fn.mac8; f != nil && lanes >= 3 && n%4 == 0 {
			lanes = min(lanes, 8)
			mac8(f, dst[:lanes], &kh, &kc, msgs[:lanes], n)
		} else {
			macRun(dst[:lanes], &kh, &kc, msgs[:lanes], n)
		}
		dst, msgs = dst[lanes:], msgs[lanes:]
	}
	clear(kh[:])
}

// mac8 finishes the MACs of 3 to 8 messages of n > 0 bytes each, n a
// multiple of 4, from the keyed state (kh, kc) with an implementation's
// mac8 kernel, which reads the messages in place (the last block by masked
// word loads, so nothing is copied). Scratch lanes repeat the last message.
func mac8(f func(dst *[8][Size128]byte, h *[8]uint32, c0 uint64, msgs *[8]*byte, full, lastWords int),
	dst [][Size128]byte, kh *[8]uint32, kc *[2]uint32, msgs [][]byte, n int) {
	var out [8][Size128]byte
	var ptrs [8]*byte
	for i := range ptrs {
		ptrs[i] = unsafe.SliceData(msgs[min(i, len(msgs)-1)])
	}
	full := (n - 1) / BlockSize
	c0 := uint64(kc[0]) | uint64(kc[1])<<32
	f((*[8][Size128]byte)(noescape(unsafe.Pointer(&out))),
		(*[8]uint32)(noescape(unsafe.Pointer(kh))), c0,
		(*[8]*byte)(noescape(unsafe.Pointer(&ptrs))), full, (n-full*BlockSize)/4)
	copy(dst, out[:len(msgs)])
}

// macRun finishes the MACs of len(msgs) messages of n > 0 bytes each from
// the keyed state (kh, kc).
func macRun(dst [][Size128]byte, kh *[8]uint32, kc *[2]uint32, msgs [][]byte, n int) {
	var h [maxLanes][8]uint32
	var c [maxLanes][2]uint32
	var blocks [maxLanes][]byte
	var last [maxLanes][BlockSize]byte
	lanes := len(msgs)
	for i := range lanes {
		h[i], c[i] = *kh, *kc
	}
	// Every block but the last straight from the messages.
	full := (n - 1) / BlockSize * BlockSize
	if full > 0 {
		for i := range lanes {
			blocks[i] = msgs[i][:full]
		}
		hashBlocksManyNE(h[:lanes], c[:lanes], 0, blocks[:lanes])
	}
	// The last block, zero-padded; the counter counts message bytes only.
	pad := uint32(BlockSize - (n - full))
	for i := range lanes {
		copy(last[i][:], msgs[i][full:])
		blocks[i] = last[i][:]
		if c[i][0] < pad {
			c[i][1]--
		}
		c[i][0] -= pad
	}
	hashBlocksManyNE(h[:lanes], c[:lanes], 0xffffffff, blocks[:lanes])
	for i := range lanes {
		d := &dst[i]
		binary.LittleEndian.PutUint32(d[0:], h[i][0])
		binary.LittleEndian.PutUint32(d[4:], h[i][1])
		binary.LittleEndian.PutUint32(d[8:], h[i][2])
		binary.LittleEndian.PutUint32(d[12:], h[i][3])
	}
}

// hashBlocksManyNE calls the active hashBlocksMany without letting its
// (stack) arguments escape; see noescape.
func hashBlocksManyNE(h [][8]uint32, c [][2]uint32, flag uint32, blocks [][]byte) {
	active.Fn.hashBlocksMany(
		unsafe.Slice((*[8]uint32)(noescape(unsafe.Pointer(unsafe.SliceData(h)))), len(h)),
		unsafe.Slice((*[2]uint32)(noescape(unsafe.Pointer(unsafe.SliceData(c)))), len(c)),
		flag,
		unsafe.Slice((*[]byte)(noescape(unsafe.Pointer(unsafe.SliceData(blocks)))), len(blocks)),
	)
}
