//go:build arm64 && gc && !purego

package blake2s

import (
	"math/rand/v2"
	"testing"

	"github.com/klauspost/cpuid/v2"

	"github.com/wgxdp/wgxdp/asm/arm64"
)

// TestNEONAgainstGeneric compares the NEON kernel with its Go twin on 0 to
// 20 blocks, both flags, and counters at the edges of their 32- and 64-bit
// carries, which the public API only reaches after 4 GiB.
func TestNEONAgainstGeneric(t *testing.T) {
	if !cpuid.CPU.Supports(cpuid.ASIMD) {
		t.Skip("no ASIMD")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	buf := make([]byte, 20*BlockSize+1)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	counters := [][2]uint32{{0, 0}, {64, 0}, {0xffffffc0, 0}, {0xffffff80, 7}, {0xffffffc0, 0xffffffff}, {rng.Uint32(), rng.Uint32()}}
	for n := 0; n <= 20; n++ {
		for _, c0 := range counters {
			for _, flag := range []uint32{0, 0xffffffff} {
				var h [8]uint32
				for i := range h {
					h[i] = rng.Uint32()
				}
				data := buf[n%2 : n%2+n*BlockSize] // odd start: unaligned loads
				hw, cw := h, c0
				hashBlocksGeneric(&hw, &cw, flag, data)
				hg, cg := h, c0
				arm64.Blake2sHashBlocks(&hg, &cg, flag, data)
				if hg != hw || cg != cw {
					t.Fatalf("%d blocks, counter %x, flag %x: got %x %x, want %x %x", n, c0, flag, hg, cg, hw, cw)
				}
			}
		}
	}
}
