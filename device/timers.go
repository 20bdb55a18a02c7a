package device

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/wgxdp/wgxdp/noise"
)

// The timer state machine of WireGuard (the paper's §6 and wireguard-go's
// timers.go), on the device's injected clock so tests run it in virtual
// time. Each handler runs on the clock's goroutine with no lock held.

const rekeyTimeoutJitterMax = 334 * time.Millisecond

type timer struct {
	mu sync.Mutex
	t  interface {
		Stop() bool
		Reset(time.Duration) bool
	}
	pending bool
	peer    *Peer
	fn      func(*Peer)
}

func (p *Peer) newTimer(fn func(*Peer)) *timer { return &timer{peer: p, fn: fn} }

func (t *timer) fire() {
	t.mu.Lock()
	if !t.pending {
		t.mu.Unlock()
		return
	}
	t.pending = false
	t.mu.Unlock()
	if t.peer.timersActive() {
		t.fn(t.peer)
	}
}

// mod (re)arms the timer d from now.
func (t *timer) mod(d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending = true
	if t.t == nil {
		t.t = t.peer.dev.clk.AfterFunc(d, t.fire)
		return
	}
	t.t.Reset(d)
}

// del disarms the timer.
func (t *timer) del() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending = false
	if t.t != nil {
		t.t.Stop()
	}
}

func (t *timer) isPending() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pending
}

func jitter() time.Duration { return time.Duration(rand.Int64N(int64(rekeyTimeoutJitterMax))) }

type peerTimers struct {
	retransmitHandshake *timer
	sendKeepalive       *timer
	newHandshake        *timer
	zeroKeyMaterial     *timer
	persistentKeepalive *timer

	mu                      sync.Mutex
	handshakeAttempts       uint32
	needAnotherKeepalive    bool
	sentLastMinuteHandshake bool
}

func (p *Peer) timersInit() {
	p.timers.retransmitHandshake = p.newTimer(expiredRetransmitHandshake)
	p.timers.sendKeepalive = p.newTimer(expiredSendKeepalive)
	p.timers.newHandshake = p.newTimer(expiredNewHandshake)
	p.timers.zeroKeyMaterial = p.newTimer(expiredZeroKeyMaterial)
	p.timers.persistentKeepalive = p.newTimer(expiredPersistentKeepalive)
}

func (p *Peer) timersActive() bool { return p.running.Load() && p.dev.isUp() }

func (p *Peer) timersStop() {
	p.timers.retransmitHandshake.del()
	p.timers.sendKeepalive.del()
	p.timers.newHandshake.del()
	p.timers.zeroKeyMaterial.del()
	p.timers.persistentKeepalive.del()
}

func expiredRetransmitHandshake(p *Peer) {
	p.timers.mu.Lock()
	attempts := p.timers.handshakeAttempts
	if attempts > noise.MaxTimerHandshakes {
		p.timers.mu.Unlock()
		p.dev.log.Verbosef("%v: handshake did not complete after %d attempts, giving up", p, attempts+2)
		p.timers.sendKeepalive.del()
		p.flushStaged()
		if !p.timers.zeroKeyMaterial.isPending() {
			p.timers.zeroKeyMaterial.mod(noise.RejectAfterTime * 3)
		}
		return
	}
	p.timers.handshakeAttempts++
	p.timers.mu.Unlock()
	p.dev.log.Verbosef("%v: handshake did not complete after %d seconds, retrying (try %d)", p, int(noise.RekeyTimeout.Seconds()), attempts+2)
	p.clearEndpointSrc()
	p.sendHandshakeInitiation(true)
}

func expiredSendKeepalive(p *Peer) {
	p.sendKeepalive()
	p.timers.mu.Lock()
	again := p.timers.needAnotherKeepalive
	p.timers.needAnotherKeepalive = false
	p.timers.mu.Unlock()
	if again {
		p.timers.sendKeepalive.mod(noise.KeepaliveTimeout)
	}
}

func expiredNewHandshake(p *Peer) {
	p.dev.log.Verbosef("%v: retrying handshake because we stopped hearing back after %d seconds", p, int((noise.KeepaliveTimeout + noise.RekeyTimeout).Seconds()))
	p.clearEndpointSrc()
	p.sendHandshakeInitiation(false)
}

func expiredZeroKeyMaterial(p *Peer) {
	p.dev.log.Verbosef("%v: removing all keys, since we haven't received a new one in %d seconds", p, int((noise.RejectAfterTime * 3).Seconds()))
	p.zeroKeyMaterial()
}

func expiredPersistentKeepalive(p *Peer) {
	if p.persistentKeepalive.Load() > 0 {
		p.sendKeepalive()
	}
}

// timersDataSent: a data packet (not a keepalive) was sent.
func (p *Peer) timersDataSent() {
	if !p.timers.newHandshake.isPending() {
		p.timers.newHandshake.mod(noise.KeepaliveTimeout + noise.RekeyTimeout + jitter())
	}
}

// timersDataReceived: a data packet (not a keepalive) was received.
func (p *Peer) timersDataReceived() {
	if !p.timers.sendKeepalive.isPending() {
		p.timers.sendKeepalive.mod(noise.KeepaliveTimeout)
	} else {
		p.timers.mu.Lock()
		p.timers.needAnotherKeepalive = true
		p.timers.mu.Unlock()
	}
}

func (p *Peer) timersAnyAuthenticatedPacketSent()     { p.timers.sendKeepalive.del() }
func (p *Peer) timersAnyAuthenticatedPacketReceived() { p.timers.newHandshake.del() }

func (p *Peer) timersHandshakeInitiated() {
	p.timers.retransmitHandshake.mod(noise.RekeyTimeout + jitter())
}

func (p *Peer) timersHandshakeComplete() {
	p.timers.retransmitHandshake.del()
	p.timers.mu.Lock()
	p.timers.handshakeAttempts = 0
	p.timers.sentLastMinuteHandshake = false
	p.timers.mu.Unlock()
	p.lastHandshakeNano.Store(p.dev.clk.Now().UnixNano())
}

func (p *Peer) timersSessionDerived() { p.timers.zeroKeyMaterial.mod(noise.RejectAfterTime * 3) }

func (p *Peer) timersAnyAuthenticatedPacketTraversal() {
	if ka := p.persistentKeepalive.Load(); ka > 0 {
		p.timers.persistentKeepalive.mod(time.Duration(ka) * time.Second)
	}
}
