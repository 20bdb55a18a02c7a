package curve25519

import (
	"github.com/wgxdp/wgxdp/internal/cpu"
)

// impl is one implementation of the scalar multiplications. Both functions
// receive an already clamped scalar, must be constant time in the scalar,
// must allow dst to alias the inputs, and must not retain their arguments.
// Field arithmetic stays inside an implementation (an assembly ladder
// brings its own multiply and square) so the hot loop has no indirect call.
type impl struct {
	// scalarMult sets dst = scalar·point (u-coordinates, RFC 7748).
	scalarMult func(dst, scalar, point *[32]byte)
	// scalarBaseMult sets dst = scalar·9, the public key of scalar.
	scalarBaseMult func(dst, scalar *[32]byte)
}

// table lists the implementations, the portable Go one first. Tagged files
// add theirs with a package-level `var _ = register(...)`: variable
// initializers run before any init function, and they depend on table, so
// the generic entry is always first and the choice in init sees them all.
var table = newTable()

func newTable() *cpu.Table[impl] {
	t := &cpu.Table[impl]{Primitive: "curve25519"}
	t.Register(cpu.Impl[impl]{
		Name:  "generic",
		Level: "generic",
		Fn:    impl{scalarMult: scalarMultGeneric, scalarBaseMult: scalarBaseMultGeneric},
	})
	return t
}

// register adds an implementation to table; see table.
func register(i cpu.Impl[impl]) bool {
	table.Register(i)
	return true
}

// active is the implementation in use, chosen at init by table.Select.
var active cpu.Impl[impl]

func init() { active = table.Select() }

// Implementations returns the names of the implementations this CPU can run,
// the portable one first.
func Implementations() []string { return table.Names() }

// Active returns the name of the implementation in use.
func Active() string { return active.Name }

// UseImplementation switches to the named implementation and returns a
// function that switches back. It is meant for tests and the benchmark tool
// and must not be called while other goroutines compute.
func UseImplementation(name string) (restore func(), err error) {
	i, err := table.Find(name)
	if err != nil {
		return nil, err
	}
	prev := active
	active = i
	return func() { active = prev }, nil
}
