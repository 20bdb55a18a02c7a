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

// Options configure a Linux TUN at creation (CreateWithOptions).
type Options struct {
	// Offload opens the TUN with IFF_VNET_HDR and asks the kernel for
	// TCP and UDP segmentation offloads (TUNSETOFFLOAD): Read then splits
	// the kernel's super-packets into MTU-sized ones, and Write coalesces
	// runs of segments of one flow into super-packets. What the kernel
	// refuses is left off, down to no offloads at all; a Device never
	// fails to open for want of them.
	Offload bool
	// Queues is the number of queues (IFF_MULTI_QUEUE when more than 1),
	// each with its own fd, read by its own goroutine through
	// MultiQueue.Queue. 0 means 1.
	Queues int
	// Express adds an express queue for small packets (Linux: a steering
	// program, see express_linux.go), with Queues 1 only, and makes the
	// interface multi-queue so that a daemon given its fd can add one too.
	Express bool
	// MultiQueue makes the interface IFF_MULTI_QUEUE even with one queue
	// and no express queue: what a daemon's parent creates, so that the
	// child it hands the fd adds the express queue itself.
	MultiQueue bool
}

// EnvExpress names the environment variable that turns the express queue
// off when it is "0" (or off, false, no).
const EnvExpress = "WGXDP_TUN_EXPRESS"

// EnvOffload names the environment variable that turns the TUN offloads
// off when it is "0" (or off, false, no): WGXDP_TUN_OFFLOAD=0 makes
// DefaultOptions (and so Create and CreateFromFD) behave as a TUN without
// IFF_VNET_HDR, one packet per read and write, for comparison and
// debugging.
const EnvOffload = "WGXDP_TUN_OFFLOAD"

// MultiQueue is implemented by a Device with more than one queue. Each
// Queue(i) is a Device whose Read and Write use queue i, so that one
// goroutine per queue can read; its MTU, Name, Events, BatchSize and Close
// are the whole device's (closing any of them closes all). Queue(0)'s
// Read and Write are the Device's own. A Device with one queue may
// implement it too, with Queues() == 1.
type MultiQueue interface {
	Device
	Queues() int
	Queue(i int) Device
}
