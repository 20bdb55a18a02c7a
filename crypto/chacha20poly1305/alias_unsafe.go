// Buffer-overlap checks, the package's only use of unsafe. They follow
// golang.org/x/crypto/internal/alias (Copyright The Go Authors, BSD-style
// license).

package chacha20poly1305

import "unsafe"

// anyOverlap reports whether x and y share memory at any index.
func anyOverlap(x, y []byte) bool {
	return len(x) > 0 && len(y) > 0 &&
		uintptr(unsafe.Pointer(&x[0])) <= uintptr(unsafe.Pointer(&y[len(y)-1])) &&
		uintptr(unsafe.Pointer(&y[0])) <= uintptr(unsafe.Pointer(&x[len(x)-1]))
}

// inexactOverlap reports whether x and y share memory at any
// non-corresponding index: in-place use (the same start) is fine, a shifted
// overlap is not.
func inexactOverlap(x, y []byte) bool {
	if len(x) == 0 || len(y) == 0 || &x[0] == &y[0] {
		return false
	}
	return anyOverlap(x, y)
}
