// Package hscompare times one full WireGuard handshake, ours and
// wireguard-go's, side by side; `wgxdp-bench handshake` and noise's
// BenchmarkHandshakeVsWireGuardGo both use it:
//
//	initiator: create the initiation
//	responder: consume it, create the response, derive its transport keys
//	initiator: consume the response, derive its transport keys
//
// Both sides draw ephemeral keys from crypto/rand and stamp the initiation
// with the wall clock. Neither computes or checks MAC1/MAC2 or marshals
// messages: wireguard-go does that in its send and receive routines,
// outside the steps it exports. wireguard-go's steps do include its own
// bookkeeping (locks, index table, two cipher.AEADs and keypair rotation in
// BeginSymmetricSession); ours are the pure noise package.
//
// wireguard-go's responder refuses an initiation whose TAI64N timestamp
// (whitened to ~16.8 ms) is not newer than the last from that peer, or that
// comes within 20 ms of the last (flood). So its side runs against many
// responder devices in turn, each knowing the one initiator; should the
// loop come round to a responder within MinSpacing anyway, the timer is
// stopped while it waits, and the waits are counted.
package hscompare

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wgxdp/wgxdp/noise"
	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/tun/tuntest"
)

// MinSpacing is the least time between two initiations to one
// wireguard-go responder: above its 20 ms flood limit and so above the
// timestamp granularity.
const MinSpacing = 25 * time.Millisecond

// Ours is one initiator and one responder of ours; our noise package
// leaves replay and flood checks to its caller, so one pair will do.
type Ours struct {
	a, b         noise.Static
	aPeer, bPeer noise.PeerStatic // a's view of b, b's view of a
	idx          uint32
}

// NewOurs returns a fresh initiator/responder pair of ours.
func NewOurs() (*Ours, error) {
	h := &Ours{}
	ka, err := noise.NewPrivateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	kb, err := noise.NewPrivateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	var psk noise.PresharedKey
	rand.Read(psk[:])
	h.a, h.b = noise.NewStatic(ka), noise.NewStatic(kb)
	if h.aPeer, err = noise.NewPeerStatic(&h.a, h.b.Public, psk); err != nil {
		return nil, err
	}
	if h.bPeer, err = noise.NewPeerStatic(&h.b, h.a.Public, psk); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *Ours) lookup(pk noise.PublicKey) *noise.PeerStatic {
	if pk == h.bPeer.Public {
		return &h.bPeer
	}
	return nil
}

// Handshake runs one full handshake and checks that both sides agree.
func (h *Ours) Handshake() error {
	h.idx++
	var ist noise.InitiatorState
	var init noise.MessageInitiation
	ts := noise.Stamp(time.Now())
	if err := noise.CreateInitiation(&h.a, &h.aPeer, h.idx, ts, rand.Reader, &ist, &init); err != nil {
		return fmt.Errorf("CreateInitiation: %w", err)
	}
	peer, rst, gotTS, err := noise.ConsumeInitiation(&h.b, &init, h.lookup)
	if err != nil {
		return fmt.Errorf("ConsumeInitiation: %w", err)
	}
	if peer != &h.bPeer || gotTS != ts {
		return errors.New("ConsumeInitiation: wrong peer or timestamp")
	}
	var resp noise.MessageResponse
	rkeys, err := noise.CreateResponse(&h.b, peer, &rst, h.idx^0x80000000, rand.Reader, &resp)
	if err != nil {
		return fmt.Errorf("CreateResponse: %w", err)
	}
	ikeys, err := noise.ConsumeResponse(&h.a, &h.aPeer, &ist, &resp)
	if err != nil {
		return fmt.Errorf("ConsumeResponse: %w", err)
	}
	if ikeys.Send != rkeys.Receive || ikeys.Receive != rkeys.Send {
		return errors.New("transport keys differ")
	}
	return nil
}

// WireGuardGo is one wireguard-go initiator device with a peer per responder, and
// the responder devices. No device is brought up, so no socket is opened;
// the responders' peers are started by hand, since ConsumeMessageInitiation
// ignores initiations from a peer that is not running.
type WireGuardGo struct {
	devices   []*device.Device // all of them, to close
	initiator *device.Device
	initPeers []*device.Peer // the initiator's peer k is responder k
	responder []*device.Device
	respPeers []*device.Peer // responder k's only peer: the initiator
	last      []time.Time    // when responder k last consumed an initiation
	next      int
}

// NewWireGuardGo builds an initiator device and k responders (none up).
func NewWireGuardGo(k int) (_ *WireGuardGo, err error) {
	h := &WireGuardGo{last: make([]time.Time, k)}
	defer func() {
		if err != nil {
			h.Close()
		}
	}()
	newDev := func() *device.Device {
		d := device.NewDevice(tuntest.NewChannelTUN().TUN(), conn.NewDefaultBind(), device.NewLogger(device.LogLevelSilent, ""))
		h.devices = append(h.devices, d)
		return d
	}
	var psk noise.PresharedKey
	rand.Read(psk[:])
	hexPSK := hex.EncodeToString(psk[:])
	initKey, err := noise.NewPrivateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	initPub := initKey.PublicKey()

	h.initiator = newDev()
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "private_key=%s\n", hex.EncodeToString(initKey[:]))
	respPubs := make([]noise.PublicKey, k)
	for i := range k {
		key, err := noise.NewPrivateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		respPubs[i] = key.PublicKey()
		d := newDev()
		if err := d.IpcSet(fmt.Sprintf("private_key=%s\npublic_key=%s\npreshared_key=%s\n",
			hex.EncodeToString(key[:]), hex.EncodeToString(initPub[:]), hexPSK)); err != nil {
			return nil, fmt.Errorf("configuring wireguard-go responder: %w", err)
		}
		p := d.LookupPeer(device.NoisePublicKey(initPub))
		if p == nil {
			return nil, errors.New("wireguard-go responder has no peer")
		}
		p.Start()
		h.responder = append(h.responder, d)
		h.respPeers = append(h.respPeers, p)
		fmt.Fprintf(&cfg, "public_key=%s\npreshared_key=%s\n", hex.EncodeToString(respPubs[i][:]), hexPSK)
	}
	if err := h.initiator.IpcSet(cfg.String()); err != nil {
		return nil, fmt.Errorf("configuring wireguard-go initiator: %w", err)
	}
	for _, pub := range respPubs {
		p := h.initiator.LookupPeer(device.NoisePublicKey(pub))
		if p == nil {
			return nil, errors.New("wireguard-go initiator lacks a peer")
		}
		h.initPeers = append(h.initPeers, p)
	}
	return h, nil
}

// Close closes every device.
func (h *WireGuardGo) Close() {
	for _, d := range h.devices {
		d.Close()
	}
	h.devices = nil
}

// Wait returns how long to wait before the next responder may be used.
func (h *WireGuardGo) Wait() time.Duration {
	last := h.last[h.next]
	if last.IsZero() {
		return 0
	}
	return max(0, MinSpacing-time.Since(last))
}

// Handshake runs one full handshake with the next responder in turn and
// checks every step's result.
func (h *WireGuardGo) Handshake() error {
	k := h.next
	h.next = (h.next + 1) % len(h.responder)
	ip, rd, rp := h.initPeers[k], h.responder[k], h.respPeers[k]

	init, err := h.initiator.CreateMessageInitiation(ip)
	if err != nil {
		return fmt.Errorf("responder %d: CreateMessageInitiation: %w", k, err)
	}
	p := rd.ConsumeMessageInitiation(init)
	h.last[k] = time.Now()
	if p != rp {
		return fmt.Errorf("responder %d refused the initiation (replay, flood, or it did not authenticate)", k)
	}
	resp, err := rd.CreateMessageResponse(p)
	if err != nil {
		return fmt.Errorf("responder %d: CreateMessageResponse: %w", k, err)
	}
	if err := p.BeginSymmetricSession(); err != nil {
		return fmt.Errorf("responder %d: BeginSymmetricSession: %w", k, err)
	}
	if q := h.initiator.ConsumeMessageResponse(resp); q != ip {
		return fmt.Errorf("responder %d: the initiator refused the response", k)
	}
	if err := ip.BeginSymmetricSession(); err != nil {
		return fmt.Errorf("responder %d: initiator BeginSymmetricSession: %w", k, err)
	}
	return nil
}

// CheckReplayRefused sends one fresh initiation twice to the next responder
// (after waiting as Wait says): wireguard-go must accept the first and
// refuse the second, which shows that Handshake's checks can fail.
func (h *WireGuardGo) CheckReplayRefused() error {
	r := h.next
	time.Sleep(h.Wait())
	init, err := h.initiator.CreateMessageInitiation(h.initPeers[r])
	if err != nil {
		return err
	}
	if p := h.responder[r].ConsumeMessageInitiation(init); p != h.respPeers[r] {
		return errors.New("wireguard-go refused a fresh initiation")
	}
	if p := h.responder[r].ConsumeMessageInitiation(init); p != nil {
		return errors.New("wireguard-go accepted a replayed initiation")
	}
	h.last[r] = time.Now()
	return nil
}
