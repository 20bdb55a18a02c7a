package blake2s

import (
	"github.com/wgxdp/wgxdp/internal/cpu"
)

// impl is one implementation of the BLAKE2s kernels. Assembly versions
// register an impl of their own level from a tagged file's init.
type impl struct {
	// hashBlocks compresses len(blocks)/BlockSize whole blocks into h,
	// adding BlockSize to the byte counter c before each one and using
	// flag as the finalization word (0xffffffff on the last block of a
	// message, else 0). It must not retain any of its arguments.
	hashBlocks func(h *[8]uint32, c *[2]uint32, flag uint32, blocks []byte)

	// hashBlocksMany does what hashBlocks does for len(h) independent
	// messages at once (lane i: h[i], c[i], blocks[i]; all blocks[i] of
	// the same length, all lanes with the same flag). SIMD kernels that
	// hash one message per vector lane plug in here; the generic version
	// runs the lanes one after the other.
	hashBlocksMany func(h [][8]uint32, c [][2]uint32, flag uint32, blocks [][]byte)

	// final, if not nil, computes a hash in one call: from the IV with
	// the parameter block's first word param folded in, it compresses
	// first (when not nil: a key block or an HMAC pad), the whole blocks
	// of blocks, then last, zero-padded, as the final block with byte
	// counter n, and writes the 32-byte chaining value to dst. nil:
	// finalBlocks composes it from hashBlocks. It must not retain its
	// arguments.
	final func(dst *[Size]byte, param uint32, first *[BlockSize]byte, blocks []byte, last *[BlockSize]byte, n uint64)

	// mac8, if not nil, finishes eight BLAKE2s-128 MACs of messages of
	// the same length, 64*full + 4*lastWords bytes (lastWords 1..16),
	// from one keyed state h with byte counter c0: lane i hashes
	// msgs[i] and writes its MAC to dst[i]. It reads exactly the
	// message bytes and must not retain its arguments. MAC128Many uses
	// it when set.
	mac8 func(dst *[8][Size128]byte, h *[8]uint32, c0 uint64, msgs *[8]*byte, full, lastWords int)
}

// table lists the implementations, the portable Go one first. Tagged files
// add theirs with a package-level `var _ = register(...)`: variable
// initializers run before any init function, and they depend on table, so
// the generic entry is always first and the choice in init sees them all.
var table = newTable()

func newTable() *cpu.Table[impl] {
	t := &cpu.Table[impl]{Primitive: "blake2s"}
	t.Register(cpu.Impl[impl]{
		Name:  "generic",
		Level: "generic",
		Fn:    impl{hashBlocks: hashBlocksGeneric, hashBlocksMany: hashBlocksManyGeneric},
	})
	return t
}

// register adds an implementation to table; see table.
func register(i cpu.Impl[impl]) bool {
	table.Register(i)
	return true
}

func init() { active = table.Select() }

func hashBlocksManyGeneric(h [][8]uint32, c [][2]uint32, flag uint32, blocks [][]byte) {
	for i := range blocks {
		hashBlocksGeneric(&h[i], &c[i], flag, blocks[i])
	}
}

// active is the implementation in use, chosen at init by table.Select.
var active cpu.Impl[impl]

// Implementations returns the names of the implementations this CPU can run,
// the portable one first.
func Implementations() []string { return table.Names() }

// Active returns the name of the implementation in use.
func Active() string { return active.Name }

// UseImplementation switches to the named implementation and returns a
// function that switches back. It is meant for tests and the benchmark tool
// and must not be called while other goroutines hash.
func UseImplementation(name string) (restore func(), err error) {
	i, err := table.Find(name)
	if err != nil {
		return nil, err
	}
	prev := active
	active = i
	return func() { active = prev }, nil
}
