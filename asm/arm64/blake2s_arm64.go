//go:build gc && !purego

package arm64

// Blake2sHashBlocks compresses len(blocks)/64 whole blocks into h, adding
// 64 to the 64-bit byte counter c (c[0] the low word) before each and using
// flag as the finalization word, as crypto/blake2s's hashBlocksGeneric
// does. The state rows live in four NEON registers.
//
//go:noescape
func Blake2sHashBlocks(h *[8]uint32, c *[2]uint32, flag uint32, blocks []byte)
