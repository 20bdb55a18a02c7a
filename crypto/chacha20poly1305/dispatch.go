// The dispatch table. An assembly implementation plugs in by adding, in its
// GOARCH-tagged file, a package-level
//
//	var _ = register(cpu.Impl[impl]{Name: "avx2", Level: "avx2", Features: ..., Fn: impl{...}})
//
// Package-level variables are initialised before any init function runs, so
// every implementation is in the table when init below selects one. An
// implementation may reuse generic entries for the functions it does not
// speed up.

package chacha20poly1305

import (
	"github.com/wgxdp/wgxdp/internal/cpu"
)

// impl is one implementation: the functions a faster variant may replace.
// Keys and nonces travel by value so that nothing a caller holds on its
// stack escapes through these indirect calls (an assembly wrapper takes
// their addresses for a //go:noescape kernel). Out and In are either the
// same or disjoint; out never overlaps ad.
type impl struct {
	// seal encrypts in into out[:len(in)] and writes the tag to
	// out[len(in):len(in)+16].
	seal func(key [KeySize]byte, nonce [NonceSize]byte, out, in, ad []byte)
	// open checks the tag in[len(in)-16:] over ad and in[:len(in)-16]; if it
	// verifies, it decrypts into out[:len(in)-16] and returns true,
	// otherwise it zeroes out[:len(in)-16] and returns false. len(in) < 16
	// returns false.
	open func(key [KeySize]byte, nonce [NonceSize]byte, out, in, ad []byte) bool
	// sealBatch and openBatch have the semantics of SealBatch and
	// OpenBatch, the checks of sealOut and openOut included.
	sealBatch func(ops []Op)
	openBatch func(ops []Op)
	// xorKeyStream XORs src with the ChaCha20 key stream from block counter
	// ctr on and writes it to dst (len(dst) ≥ len(src)); the counter must
	// not wrap.
	xorKeyStream func(key [KeySize]byte, nonce [NonceSize]byte, ctr uint32, dst, src []byte)
	// poly1305 is the one-shot MAC of msg under a one-time key.
	poly1305 func(key [KeySize]byte, msg []byte) [tagSize]byte
	// hChaCha20 derives the XChaCha20 subkey.
	hChaCha20 func(key [KeySize]byte, nonce [16]byte) [KeySize]byte
}

var table = cpu.Table[impl]{Primitive: "chacha20poly1305"}

// register adds an implementation; call it from a package-level var
// initialiser (see above).
func register(i cpu.Impl[impl]) struct{} {
	table.Register(i)
	return struct{}{}
}

var _ = register(cpu.Impl[impl]{Name: "generic", Level: "generic", Fn: genericImpl})

var (
	active     impl   // what the exported API calls
	activeName string // its name
)

func init() {
	sel := table.Select()
	active, activeName = sel.Fn, sel.Name
}

// Implementations returns the names of the implementations this CPU can
// run, regardless of WGXDP_CPU, in registration order.
func Implementations() []string { return table.Names() }

// AllowedImplementations returns the implementations of Implementations
// at or below the WGXDP_CPU ceiling (with WGXDP_CPU=generic, "generic"
// alone).
func AllowedImplementations() []string { return table.Allowed() }

// Active returns the name of the implementation in use.
func Active() string { return activeName }

// UseImplementation switches the package to the named implementation and
// returns a function that switches back. It is for tests and benchmarks:
// it must not race with encryption or another switch.
func UseImplementation(name string) (restore func(), err error) {
	i, err := table.Find(name)
	if err != nil {
		return nil, err
	}
	prev, prevName := active, activeName
	active, activeName = i.Fn, i.Name
	return func() { active, activeName = prev, prevName }, nil
}
