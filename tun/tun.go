// Package tun is wgxdp's inner side: the Device interface that reads and
// writes batches of IP packets, its Linux TUN implementation, and (in
// tun/tuntest) an in-memory fake for tests.
package tun

import "github.com/wgxdp/wgxdp/packet"

// Event is a change of the interface's state.
type Event int

const (
	EventUp Event = 1 << iota
	EventDown
	EventMTUUpdate
)

// Device is a TUN interface.
type Device interface {
	// Read fills b.Slots from index 0 with IP packets (each starting at
	// the slot's headroom) and sets b.N ≥ 1. It blocks until a packet
	// arrives and returns os.ErrClosed after Close. One goroutine per
	// queue calls Read.
	Read(b *packet.Batch) error
	// Write writes the IP packets b.Slots[:b.N].
	Write(b *packet.Batch) error
	// MTU returns the interface's current MTU.
	MTU() (int, error)
	// Name returns the interface's name.
	Name() (string, error)
	// Events delivers state changes; it is closed by Close.
	Events() <-chan Event
	// Close releases the device.
	Close() error
	// BatchSize is the number of packets one Read returns at most.
	BatchSize() int
}
