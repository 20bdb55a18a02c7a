package device

import (
	"encoding/base64"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wgxdp/wgxdp/noise"
	"github.com/wgxdp/wgxdp/packet"
)

// MaxStagedPackets bounds the packets a peer holds while it has no session.
const MaxStagedPackets = 128

// Peer is one remote WireGuard peer.
//
// Locks, in the order they may be taken (see locking.md): Device.mu, then
// Peer.hsMu, then Peer.kpMu, then Peer.epMu / Peer.stagedMu. The data path
// takes only kpMu (read) and epMu briefly.
type Peer struct {
	dev     *Device
	public  noise.PublicKey
	running atomic.Bool

	// handshake state, guarded by hsMu
	hsMu           sync.Mutex
	static         noise.PeerStatic
	hsState        int
	initiator      noise.InitiatorState
	hsLocalIndex   uint32
	lastTimestamp  noise.Timestamp
	lastInitiation time.Time // last initiation consumed (flood limit)
	lastSentInit   time.Time
	cookieGen      *noise.CookieGenerator
	psk            noise.PresharedKey

	kpMu sync.RWMutex
	kp   keypairs

	epMu     sync.Mutex
	endpoint packet.Endpoint

	stagedMu sync.Mutex
	staged   [][]byte

	eg                  egress
	timers              peerTimers
	persistentKeepalive atomic.Uint32
	lastHandshakeNano   atomic.Int64
	rxBytes, txBytes    atomic.Uint64
}

const (
	hsNone = iota
	hsInitiationCreated
)

func (p *Peer) String() string {
	s := base64.StdEncoding.EncodeToString(p.public[:])
	return "peer(" + s[:4] + "…" + s[39:43] + ")"
}

// PublicKey returns the peer's public key.
func (p *Peer) PublicKey() noise.PublicKey { return p.public }

// Endpoint returns the peer's current endpoint.
func (p *Peer) Endpoint() packet.Endpoint {
	p.epMu.Lock()
	defer p.epMu.Unlock()
	return p.endpoint
}

// SetEndpoint sets the endpoint (from configuration or roaming).
func (p *Peer) SetEndpoint(ep packet.Endpoint) {
	p.epMu.Lock()
	p.endpoint = ep
	p.epMu.Unlock()
}

// roam moves the endpoint to where an authenticated packet came from.
func (p *Peer) roam(ep packet.Endpoint) {
	if !ep.IsValid() {
		return
	}
	p.epMu.Lock()
	if p.endpoint != ep {
		p.endpoint = ep
	}
	p.epMu.Unlock()
}

func (p *Peer) clearEndpointSrc() {
	p.epMu.Lock()
	p.endpoint.Src = netip.Addr{}
	p.endpoint.IfIndex = 0
	p.epMu.Unlock()
}

// LastHandshake returns the time of the last completed handshake, or zero.
func (p *Peer) LastHandshake() time.Time {
	n := p.lastHandshakeNano.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Stats returns the bytes of WireGuard messages received from and sent to
// the peer — data, keepalives and handshake messages, not cookie replies —
// as wireguard-go counts them for wg(8)'s transfer line.
func (p *Peer) Stats() (rx, tx uint64) { return p.rxBytes.Load(), p.txBytes.Load() }

// currentKeypair returns the keypair to send with, or nil.
func (p *Peer) currentKeypair() *Keypair {
	p.kpMu.RLock()
	defer p.kpMu.RUnlock()
	return p.kp.current
}

// Keypairs reports which sessions exist (for tests and diagnostics).
func (p *Peer) Keypairs() (current, previous, next bool) {
	p.kpMu.RLock()
	defer p.kpMu.RUnlock()
	return p.kp.current != nil, p.kp.previous != nil, p.kp.next != nil
}

// SessionID returns the local index of the current keypair (0: none); it
// changes at every rekey.
func (p *Peer) SessionID() uint32 {
	p.kpMu.RLock()
	defer p.kpMu.RUnlock()
	if p.kp.current == nil {
		return 0
	}
	return p.kp.current.localIndex
}

func (p *Peer) deleteKeypair(kp *Keypair) {
	if kp != nil {
		p.dev.indices.delete(kp.localIndex)
		kp.sendKey = [32]byte{}
		kp.recvKey = [32]byte{}
	}
}

// zeroKeyMaterial forgets every session and the handshake in progress.
func (p *Peer) zeroKeyMaterial() {
	p.hsMu.Lock()
	p.clearHandshakeLocked(true)
	p.hsMu.Unlock()
	p.kpMu.Lock()
	p.deleteKeypair(p.kp.current)
	p.deleteKeypair(p.kp.previous)
	p.deleteKeypair(p.kp.next)
	p.kp = keypairs{}
	p.kpMu.Unlock()
}

// clearHandshakeLocked resets the handshake state; with dropIndex the
// handshake's index is released. Caller holds hsMu.
func (p *Peer) clearHandshakeLocked(dropIndex bool) {
	if dropIndex {
		p.dev.indices.delete(p.hsLocalIndex)
	}
	p.hsLocalIndex = 0
	p.hsState = hsNone
	p.initiator = noise.InitiatorState{}
}

// installKeypair puts a fresh session in place (wireguard-go's
// BeginSymmetricSession): an initiator's becomes current at once, a
// responder's waits as next until the initiator's first packet confirms it.
func (p *Peer) installKeypair(kp *Keypair) {
	p.kpMu.Lock()
	defer p.kpMu.Unlock()
	k := &p.kp
	if kp.isInitiator {
		if k.next != nil {
			p.deleteKeypair(k.previous)
			k.previous = k.next
			k.next = nil
			p.deleteKeypair(k.current)
		} else {
			p.deleteKeypair(k.previous)
			k.previous = k.current
		}
		k.current = kp
	} else {
		p.deleteKeypair(k.next)
		k.next = kp
		p.deleteKeypair(k.previous)
		k.previous = nil
	}
}

// receivedWithKeypair confirms a responder's next keypair on its first
// authenticated packet. It reports whether it rotated.
func (p *Peer) receivedWithKeypair(kp *Keypair) bool {
	p.kpMu.RLock()
	isNext := p.kp.next == kp
	p.kpMu.RUnlock()
	if !isNext {
		return false
	}
	p.kpMu.Lock()
	defer p.kpMu.Unlock()
	if p.kp.next != kp {
		return false
	}
	p.deleteKeypair(p.kp.previous)
	p.kp.previous = p.kp.current
	p.kp.current = p.kp.next
	p.kp.next = nil
	return true
}

// stage keeps copies of packets that wait for a session, dropping the
// oldest beyond MaxStagedPackets.
func (p *Peer) stage(pkts []*packet.Slot) {
	p.stagedMu.Lock()
	defer p.stagedMu.Unlock()
	for _, s := range pkts {
		if len(p.staged) >= MaxStagedPackets {
			copy(p.staged, p.staged[1:])
			p.staged = p.staged[:len(p.staged)-1]
			p.dev.stats.stagedDropped.Add(1)
		}
		p.staged = append(p.staged, append([]byte(nil), s.Data()...))
	}
}

func (p *Peer) flushStaged() {
	p.stagedMu.Lock()
	p.staged = nil
	p.stagedMu.Unlock()
}

func (p *Peer) hasStaged() bool {
	p.stagedMu.Lock()
	defer p.stagedMu.Unlock()
	return len(p.staged) > 0
}

// start lets the peer's timers run.
func (p *Peer) start() {
	if p.running.CompareAndSwap(false, true) {
		p.startEgress()
	}
}

// stop halts timers and forgets keys.
func (p *Peer) stop() {
	p.running.Store(false)
	p.stopEgress()
	p.timersStop()
	p.zeroKeyMaterial()
	p.flushStaged()
}
