package tun

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The package's only use of unsafe: gathering writes without unix.Writev,
// which allocates its vector on every call beyond 8 buffers.

// appendIovec appends an iovec for p (non-empty) to iov.
func appendIovec(iov []unix.Iovec, p []byte) []unix.Iovec {
	v := unix.Iovec{Base: &p[0]}
	v.SetLen(len(p))
	return append(iov, v)
}

// writev writes iov (non-empty) to fd in one writev(2).
func writev(fd int, iov []unix.Iovec) error {
	_, _, e := unix.Syscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
	if e != 0 {
		return e
	}
	return nil
}
