package uapi

import (
	"errors"
	"fmt"
)

// Errno values sent in "errno=N" answers; wg(8) prints strerror(-N). They
// are Linux's values, and each is used where wireguard-go's device/uapi.go
// uses the same one.
const (
	ErrnoIO        = -5  // -EIO: the request could not be read (or a line is too long)
	ErrnoInvalid   = -22 // -EINVAL: an unknown key, a bad value, an unknown operation
	ErrnoUnknown   = -55 // -ENOANO: Device.Set failed with an error that is not an *Error
	ErrnoProtocol  = -71 // -EPROTO: a line without '='
	ErrnoPortInUse = -98 // -EADDRINUSE: the listen port or fwmark could not be applied
)

// Error is a failed request: the errno answered to the client and the cause.
// Device.Set returns one to choose the errno (ErrnoPortInUse when binding
// fails, for instance).
type Error struct {
	Errno int // negative, one of the Errno constants
	Err   error
}

func (e *Error) Error() string { return fmt.Sprintf("uapi error %d: %v", e.Errno, e.Err) }

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given errno and a formatted cause; %w
// wraps as in fmt.Errorf.
func Errorf(errno int, format string, args ...any) *Error {
	return &Error{Errno: errno, Err: fmt.Errorf(format, args...)}
}

// errnoOf is the errno answered for err: 0 for nil, the Errno of an *Error in
// its chain, and ErrnoUnknown for anything else, as wireguard-go does.
func errnoOf(err error) int {
	if err == nil {
		return 0
	}
	var e *Error
	if !errors.As(err, &e) || e == nil {
		return ErrnoUnknown
	}
	switch {
	case e.Errno < 0:
		return e.Errno
	case e.Errno > 0: // a positive errno written by mistake
		return -e.Errno
	default: // an error must not be answered as success
		return ErrnoUnknown
	}
}
