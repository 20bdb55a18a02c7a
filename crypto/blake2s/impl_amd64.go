//go:build amd64 && gc && !purego

package blake2s

import (
	"github.com/klauspost/cpuid/v2"

	"github.com/wgxdp/wgxdp/asm/amd64"
	"github.com/wgxdp/wgxdp/internal/cpu"
)

// The AVX2 kernels (asm/amd64/blake2s_amd64.s): one message with the state
// rows in xmm registers (also finishing a whole hash, MAC or HMAC half in one call), and
// eight messages at once, one per ymm lane.
var _ = register(cpu.Impl[impl]{
	Name:     "avx2",
	Level:    "avx2",
	Features: []cpuid.FeatureID{cpuid.AVX, cpuid.AVX2, cpuid.SSSE3},
	Fn: impl{
		hashBlocks:     amd64.Blake2sHashBlocks,
		hashBlocksMany: hashBlocksManyAVX2,
		final:          amd64.Blake2sFinal,
		mac8:           amd64.Blake2sMAC8,
	},
})

// hashBlocksManyAVX2 runs the lanes eight at a time through the
// eight-message kernel. A remainder of three or more lanes is padded to
// eight with scratch lanes; one or two lanes go through the one-message
// kernel.
func hashBlocksManyAVX2(h [][8]uint32, c [][2]uint32, flag uint32, blocks [][]byte) {
	for len(blocks) > 0 {
		n := len(blocks[0]) / BlockSize
		if len(blocks) < 3 || n == 0 {
			for i := range blocks {
				amd64.Blake2sHashBlocks(&h[i], &c[i], flag, blocks[i])
			}
			return
		}
		lanes := min(len(blocks), 8)
		var hh [8][8]uint32
		var cc [8][2]uint32
		var ptrs [8]*byte
		for i := range 8 {
			j := min(i, lanes-1) // scratch lanes repeat the last real one
			hh[i], cc[i] = h[j], c[j]
			ptrs[i] = &blocks[j][0]
		}
		amd64.Blake2sHashBlocks8(&hh, &cc, flag, &ptrs, n)
		for i := range lanes {
			h[i], c[i] = hh[i], cc[i]
		}
		h, c, blocks = h[lanes:], c[lanes:], blocks[lanes:]
	}
}
