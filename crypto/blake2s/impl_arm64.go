//go:build arm64 && gc && !purego

package blake2s

import (
	"github.com/klauspost/cpuid/v2"

	"github.com/wgxdp/wgxdp/asm/arm64"
	"github.com/wgxdp/wgxdp/internal/cpu"
)

// The NEON kernel (asm/arm64/blake2s_arm64.s): one message with the state
// rows in four vector registers. Several messages still go one after the
// other (hashBlocksManyGeneric's loop over the NEON kernel).
var _ = register(cpu.Impl[impl]{
	Name:     "neon",
	Level:    "neon",
	Features: []cpuid.FeatureID{cpuid.ASIMD},
	Fn:       impl{hashBlocks: arm64.Blake2sHashBlocks, hashBlocksMany: hashBlocksManyNEON},
})

func hashBlocksManyNEON(h [][8]uint32, c [][2]uint32, flag uint32, blocks [][]byte) {
	for i := range blocks {
		arm64.Blake2sHashBlocks(&h[i], &c[i], flag, blocks[i])
	}
}
