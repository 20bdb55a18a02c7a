package tun

import (
	"fmt"
	"os"
)

// EventDeleted says the interface was deleted (e.g. `ip link del`). It
// follows an EventDown if the interface was up, and is the last event
// before Close closes the channel. The daemon treats it as "stop", as
// wireguard-go stops when its TUN goes away.
const EventDeleted Event = 1 << 8

// ErrDeleted is returned by Read and Write once the interface has been
// deleted. It wraps os.ErrClosed, so loops that stop on os.ErrClosed stop
// on it too.
var ErrDeleted = fmt.Errorf("tun: interface deleted: %w", os.ErrClosed)

// String names the event(s) in e.
func (e Event) String() string {
	switch e {
	case EventUp:
		return "up"
	case EventDown:
		return "down"
	case EventMTUUpdate:
		return "mtu"
	case EventDeleted:
		return "deleted"
	}
	return fmt.Sprintf("Event(%#x)", int(e))
}
