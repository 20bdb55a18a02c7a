// Package dataplane holds the batched transforms of WireGuard's data
// messages: sealing a batch of inner packets for one keypair in place (pad,
// header in front, tag behind) and opening a batch of received transport
// messages in place. The device's per-CPU pipelines (device/send.go,
// device/receive.go) call these with batches they own; nothing here locks,
// allocates or keeps a reference to a slot.
package dataplane

import (
	"encoding/binary"

	"github.com/wgxdp/wgxdp/crypto/chacha20poly1305"
	"github.com/wgxdp/wgxdp/packet"
)

// Wire constants of the transport message.
const (
	MessageTransportType = 4
	HeaderSize           = 16
	TagSize              = chacha20poly1305.Overhead
	MinMessageSize       = HeaderSize + TagSize // a keepalive
	PaddingMultiple      = 16
	offsetReceiver       = 4
	offsetCounter        = 8
)

// PaddingSize returns how many zero bytes follow an inner packet of n bytes
// so its length is a multiple of 16 without exceeding mtu (wireguard-go's
// calculatePaddingSize).
func PaddingSize(n, mtu int) int {
	last := n
	if mtu == 0 {
		return ((last + PaddingMultiple - 1) &^ (PaddingMultiple - 1)) - last
	}
	if last > mtu {
		last %= mtu
	}
	padded := (last + PaddingMultiple - 1) &^ (PaddingMultiple - 1)
	if padded > mtu {
		padded = mtu
	}
	return padded - last
}

// Header reads the receiver index and counter of a transport message; ok is
// false if msg is too short or not a transport message.
func Header(msg []byte) (receiver uint32, counter uint64, ok bool) {
	if len(msg) < MinMessageSize || binary.LittleEndian.Uint32(msg) != MessageTransportType {
		return 0, 0, false
	}
	return binary.LittleEndian.Uint32(msg[offsetReceiver:]), binary.LittleEndian.Uint64(msg[offsetCounter:]), true
}

// Crypter seals and opens batches; it owns its scratch space, so each
// pipeline goroutine has its own.
type Crypter struct {
	ops []chacha20poly1305.Op
}

// NewCrypter returns a Crypter for batches of up to n packets.
func NewCrypter(n int) *Crypter { return &Crypter{ops: make([]chacha20poly1305.Op, n)} }

// Seal turns each slot's inner packet into a transport message in place:
// zero padding to 16 (not beyond mtu), the 16-byte header in front, the tag
// behind. Slot i gets counter firstCounter+i. It reports false, changing
// nothing, if a slot lacks headroom or tailroom.
func (c *Crypter) Seal(slots []*packet.Slot, key *[32]byte, receiver uint32, firstCounter uint64, mtu int) bool {
	if len(slots) > len(c.ops) {
		c.ops = make([]chacha20poly1305.Op, len(slots))
	}
	for _, s := range slots {
		if s.Headroom() < HeaderSize || s.Tailroom() < PaddingMultiple-1+TagSize {
			return false
		}
	}
	ops := c.ops[:len(slots)]
	for i, s := range slots {
		pad := s.Extend(PaddingSize(s.Len(), mtu))
		clear(pad)
		plen := s.Len()
		h := s.Push(HeaderSize)
		ctr := firstCounter + uint64(i)
		binary.LittleEndian.PutUint32(h, MessageTransportType)
		binary.LittleEndian.PutUint32(h[offsetReceiver:], receiver)
		binary.LittleEndian.PutUint64(h[offsetCounter:], ctr)
		s.Extend(TagSize)
		d := s.Data()
		o := &ops[i]
		o.Key = key
		o.Nonce = [12]byte{}
		binary.LittleEndian.PutUint64(o.Nonce[4:], ctr)
		o.AD = nil
		o.In = d[HeaderSize : HeaderSize+plen]
		o.Out = d[HeaderSize:]
	}
	chacha20poly1305.SealBatch(ops)
	for i := range ops {
		ops[i] = chacha20poly1305.Op{}
	}
	return true
}

// Open decrypts each slot's transport message in place with key, leaving
// the (padded) inner packet as the slot's data. ok[i] reports whether slot
// i authenticated; counters[i] is its counter. Slots that fail keep
// unspecified contents. len(ok) and len(counters) must be ≥ len(slots).
func (c *Crypter) Open(slots []*packet.Slot, key *[32]byte, ok []bool, counters []uint64) {
	if len(slots) > len(c.ops) {
		c.ops = make([]chacha20poly1305.Op, len(slots))
	}
	ops := c.ops[:len(slots)]
	for i, s := range slots {
		d := s.Data()
		o := &ops[i]
		o.Key = key
		o.Nonce = [12]byte{}
		o.AD = nil
		_, ctr, valid := Header(d)
		if !valid { // Open refuses inputs shorter than a tag
			counters[i] = 0
			o.In, o.Out = nil, nil
			continue
		}
		counters[i] = ctr
		binary.LittleEndian.PutUint64(o.Nonce[4:], ctr)
		o.AD = nil
		o.In = d[HeaderSize:]
		o.Out = d[HeaderSize:]
	}
	chacha20poly1305.OpenBatch(ops)
	for i, s := range slots {
		ok[i] = ops[i].OK
		if ok[i] {
			s.Pull(HeaderSize)
			s.Trim(TagSize)
		}
		ops[i] = chacha20poly1305.Op{}
	}
}
