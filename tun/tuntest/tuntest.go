// Package tuntest is an in-memory TUN device: packets a test puts on
// Inbound are what the device reads (traffic from the host into the
// tunnel); packets the device writes appear on Outbound.
package tuntest

import (
	"os"
	"sync"

	"github.com/wgxdp/wgxdp/packet"
	"github.com/wgxdp/wgxdp/tun"
)

// Device is a channel-backed tun.Device.
type Device struct {
	Inbound  chan []byte
	Outbound chan []byte
	mtu      int
	name     string
	events   chan tun.Event
	closed   chan struct{}
	once     sync.Once
}

var _ tun.Device = (*Device)(nil)

// New returns a device with the given MTU; it starts up.
func New(name string, mtu int) *Device {
	d := &Device{
		Inbound:  make(chan []byte, 1024),
		Outbound: make(chan []byte, 1024),
		mtu:      mtu,
		name:     name,
		events:   make(chan tun.Event, 4),
		closed:   make(chan struct{}),
	}
	d.events <- tun.EventUp
	return d
}

// Read implements tun.Device.
func (d *Device) Read(b *packet.Batch) error {
	b.N = 0
	select {
	case p := <-d.Inbound:
		b.Append(p, packet.Endpoint{})
	case <-d.closed:
		return os.ErrClosed
	}
	for b.N < b.Cap() {
		select {
		case p := <-d.Inbound:
			b.Append(p, packet.Endpoint{})
		default:
			return nil
		}
	}
	return nil
}

// Write implements tun.Device; packets are copied.
func (d *Device) Write(b *packet.Batch) error {
	for _, s := range b.Packets() {
		p := append([]byte(nil), s.Data()...)
		select {
		case d.Outbound <- p:
		case <-d.closed:
			return os.ErrClosed
		}
	}
	return nil
}

// SetMTU changes the MTU and sends EventMTUUpdate.
func (d *Device) SetMTU(mtu int) {
	d.mtu = mtu
	select {
	case d.events <- tun.EventMTUUpdate:
	default:
	}
}

// MTU implements tun.Device.
func (d *Device) MTU() (int, error) { return d.mtu, nil }

// Name implements tun.Device.
func (d *Device) Name() (string, error) { return d.name, nil }

// Events implements tun.Device.
func (d *Device) Events() <-chan tun.Event { return d.events }

// BatchSize implements tun.Device.
func (d *Device) BatchSize() int { return 32 }

// Close implements tun.Device.
func (d *Device) Close() error {
	d.once.Do(func() {
		close(d.closed)
		close(d.events)
	})
	return nil
}
