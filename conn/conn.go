// Package conn is wgxdp's outer side: the Bind interface that opens a UDP
// port, receives batches of datagrams and sends batches to an endpoint.
// Implementations: UDP sockets (this package, Linux), AF_XDP (package xdp)
// and an in-memory network for tests (conn/conntest).
package conn

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/wgxdp/wgxdp/packet"
)

// Endpoint is a remote address with the sticky local source.
type Endpoint = packet.Endpoint

// ReceiveFunc fills b (Slots from index 0, setting b.N ≥ 1) with received
// datagrams, each slot's Ep set to its sender. It blocks until at least one
// datagram arrives, and returns net.ErrClosed once the Bind is closed. Each
// ReceiveFunc is called from one goroutine only. A datagram may be lent to
// its slot in the Bind's own buffer (packet.Slot.Borrow) with as little as
// 16 bytes of headroom and none behind: it is valid, and may be changed in
// place, until the next call; the slot's next Reset gives it its own
// buffer back.
type ReceiveFunc func(b *packet.Batch) error

// Bind is a UDP port that sends and receives batches.
type Bind interface {
	// Open binds port (0 picks one) and returns the receive functions,
	// one per socket or queue, and the port actually bound.
	Open(port uint16) (fns []ReceiveFunc, actual uint16, err error)
	// Close closes the port; receive functions return net.ErrClosed.
	// A closed Bind may be opened again.
	Close() error
	// SetMark sets the fwmark (SO_MARK) of outgoing packets; 0 clears it.
	SetMark(mark uint32) error
	// Send sends b.Slots[:b.N] to ep. It may be called concurrently.
	Send(b *packet.Batch, ep Endpoint) error
	// ParseEndpoint parses "host:port" as wg(8) writes endpoints.
	ParseEndpoint(s string) (Endpoint, error)
	// BatchSize is the number of datagrams one receive or send handles.
	BatchSize() int
}

// ErrBindClosed is returned by Send on a closed Bind.
var ErrBindClosed = errors.New("conn: bind closed")

// ErrSourceRefused is wrapped by the error Send returns when every datagram
// went out, but not from the endpoint's sticky source: the kernel refused
// it (the address is no longer local, or its interface is gone), and Send
// let the kernel choose one. The send succeeded; the caller should clear
// the source from its endpoint, as wireguard-go's ClearSrc does, or every
// later send tries it again first.
var ErrSourceRefused = errors.New("conn: sticky source refused, sent from a kernel-chosen one")

// ParseEndpoint parses an IP:port endpoint ("1.2.3.4:51820", "[::1]:51820").
// Hostnames are resolved by wg(8) before they reach the daemon.
func ParseEndpoint(s string) (Endpoint, error) {
	ap, err := netip.ParseAddrPort(strings.TrimSpace(s))
	if err != nil {
		return Endpoint{}, fmt.Errorf("conn: bad endpoint %q: %w", s, err)
	}
	if ap.Port() == 0 || !ap.Addr().IsValid() || ap.Addr().IsUnspecified() {
		return Endpoint{}, fmt.Errorf("conn: bad endpoint %q", s)
	}
	return Endpoint{Dst: netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())}, nil
}
