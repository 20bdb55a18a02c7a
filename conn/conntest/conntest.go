// Package conntest is an in-memory network of conn.Binds for tests: every
// Bind gets an address, datagrams are copied between them through bounded
// queues (a full queue drops, like a real socket), and a filter hook lets a
// test drop, count or rewrite traffic.
package conntest

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/wgxdp/wgxdp/conn"
	"github.com/wgxdp/wgxdp/packet"
)

// Filter sees every datagram; returning false drops it.
type Filter func(from, to netip.AddrPort, pkt []byte) bool

// Network connects Binds by address.
type Network struct {
	mu       sync.Mutex
	ports    map[netip.AddrPort]*Bind
	filter   Filter
	nextPort uint16
	QueueLen int
	// RxTime, if set before traffic starts, stamps each received datagram
	// (packet.Slot.RxTime) as the kernel's SO_TIMESTAMPNS would: a test
	// returns its clock's now minus the sojourn time it wants to fake.
	RxTime   func() int64
	inFlight atomic.Int64
	dropped  atomic.Int64
}

// Dropped counts datagrams dropped because a receiver's queue was full.
func (n *Network) Dropped() int64 { return n.dropped.Load() }

// InFlight counts datagrams queued to a Bind or in a batch a receiver has
// not finished with (it is done when it asks for the next batch), so a
// test in virtual time can wait until the network is quiet.
func (n *Network) InFlight() int64 { return n.inFlight.Load() }

// NewNetwork returns an empty network.
func NewNetwork() *Network {
	return &Network{ports: map[netip.AddrPort]*Bind{}, nextPort: 40000, QueueLen: 1024}
}

// SetFilter installs f (nil removes it).
func (n *Network) SetFilter(f Filter) {
	n.mu.Lock()
	n.filter = f
	n.mu.Unlock()
}

// NewBind returns a Bind with local address addr.
func (n *Network) NewBind(addr netip.Addr) *Bind {
	return &Bind{net: n, addr: addr}
}

// Bind is one host's port on the network.
type Bind struct {
	net  *Network
	mu   sync.Mutex
	addr netip.Addr
	port uint16
	q    chan dgram
	done chan struct{}
	open bool
	mark uint32
}

var _ conn.Bind = (*Bind)(nil)

type dgram struct {
	from netip.AddrPort
	p    []byte
}

// SetAddr moves the Bind to a new address (roaming); it takes effect at the
// next Open.
func (b *Bind) SetAddr(a netip.Addr) {
	b.mu.Lock()
	b.addr = a
	b.mu.Unlock()
}

// LocalAddr returns the bound address and port.
func (b *Bind) LocalAddr() netip.AddrPort {
	b.mu.Lock()
	defer b.mu.Unlock()
	return netip.AddrPortFrom(b.addr, b.port)
}

// Open implements conn.Bind.
func (b *Bind) Open(port uint16) ([]conn.ReceiveFunc, uint16, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open {
		return nil, 0, errors.New("conntest: already open")
	}
	n := b.net
	n.mu.Lock()
	if port == 0 {
		for {
			n.nextPort++
			if _, used := n.ports[netip.AddrPortFrom(b.addr, n.nextPort)]; !used {
				port = n.nextPort
				break
			}
		}
	}
	ap := netip.AddrPortFrom(b.addr, port)
	if _, used := n.ports[ap]; used {
		n.mu.Unlock()
		return nil, 0, errors.New("conntest: address in use")
	}
	n.ports[ap] = b
	n.mu.Unlock()
	b.port = port
	b.q = make(chan dgram, n.QueueLen)
	b.done = make(chan struct{})
	b.open = true
	q, done := b.q, b.done
	var held int64
	recv := func(bt *packet.Batch) error {
		n.inFlight.Add(-held)
		held = 0
		defer func() { held = int64(bt.N) }()
		bt.N = 0
		var d dgram
		select {
		case d = <-q:
		case <-done:
			return net.ErrClosed
		}
		for {
			s := bt.Next()
			if s.Set(d.p) {
				s.Ep = conn.Endpoint{Dst: d.from}
				if n.RxTime != nil {
					s.RxTime = n.RxTime()
				}
				bt.Commit()
			} else {
				n.inFlight.Add(-1)
			}
			if bt.N == bt.Cap() {
				return nil
			}
			select {
			case d = <-q:
			default:
				if bt.N == 0 {
					select {
					case d = <-q:
						continue
					case <-done:
						return net.ErrClosed
					}
				}
				return nil
			}
		}
	}
	return []conn.ReceiveFunc{recv}, port, nil
}

// Close implements conn.Bind.
func (b *Bind) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return nil
	}
	b.net.mu.Lock()
	delete(b.net.ports, netip.AddrPortFrom(b.addr, b.port))
	b.net.mu.Unlock()
	close(b.done)
	b.net.inFlight.Add(-int64(len(b.q)))
	b.open = false
	return nil
}

// SetMark implements conn.Bind.
func (b *Bind) SetMark(m uint32) error {
	b.mu.Lock()
	b.mark = m
	b.mu.Unlock()
	return nil
}

// Send implements conn.Bind. Datagrams to unknown addresses vanish.
func (b *Bind) Send(bt *packet.Batch, ep conn.Endpoint) error {
	b.mu.Lock()
	if !b.open {
		b.mu.Unlock()
		return conn.ErrBindClosed
	}
	from := netip.AddrPortFrom(b.addr, b.port)
	b.mu.Unlock()
	n := b.net
	n.mu.Lock()
	dst := n.ports[ep.Dst]
	f := n.filter
	n.mu.Unlock()
	for _, s := range bt.Packets() {
		p := append([]byte(nil), s.Data()...)
		if f != nil && !f(from, ep.Dst, p) {
			continue
		}
		if dst == nil {
			continue
		}
		dst.deliver(from, p)
	}
	return nil
}

func (b *Bind) deliver(from netip.AddrPort, p []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return
	}
	b.net.inFlight.Add(1)
	select {
	case b.q <- dgram{from, p}:
	default: // queue full: drop, as a socket would
		b.net.inFlight.Add(-1)
		b.net.dropped.Add(1)
	}
}

// Inject delivers a datagram to the Bind at to as if from sent it (for
// tests that forge traffic).
func (n *Network) Inject(from, to netip.AddrPort, p []byte) {
	n.mu.Lock()
	dst := n.ports[to]
	n.mu.Unlock()
	if dst != nil {
		dst.deliver(from, append([]byte(nil), p...))
	}
}

// ParseEndpoint implements conn.Bind.
func (b *Bind) ParseEndpoint(s string) (conn.Endpoint, error) { return conn.ParseEndpoint(s) }

// BatchSize implements conn.Bind.
func (b *Bind) BatchSize() int { return 32 }
