package device

import (
	"encoding/binary"
	"time"

	"github.com/wgxdp/wgxdp/noise"
	"github.com/wgxdp/wgxdp/packet"
)

// Handshake messages are filtered in the receive pipelines, where they
// arrive in batches, and only what survives the cheap checks is copied
// (≤ 148 bytes) onto one bounded queue for HandshakeWorkers goroutines that
// do the Diffie-Hellman work in parallel:
//
//   - cookie replies are consumed at once (one XChaCha20-Poly1305 open);
//   - initiations and responses need a valid mac1 (a keyed BLAKE2s);
//   - under load — the queue beyond an eighth of its capacity, and for
//     UNDER_LOAD_AFTER_TIME after — they also need a valid mac2, which only a
//     sender that received our cookie at its real address can compute;
//     without it they get a cookie reply and go no further, and with it the
//     per-source rate limiter still applies.
//
// So a flood of forged initiations costs a MAC and a cookie reply each and
// never reaches the queue once it is under load, while a legitimate peer
// gets its cookie, retries after REKEY_TIMEOUT and is served. A full queue
// drops and counts.

// queueHandshake runs on a receive goroutine: it must not take Device.mu.
func (d *Device) queueHandshake(s *packet.Slot) {
	msg := s.Data()
	typ := binary.LittleEndian.Uint32(msg)
	switch {
	case len(msg) == noise.MessageInitiationSize && typ == noise.MessageInitiationType,
		len(msg) == noise.MessageResponseSize && typ == noise.MessageResponseType:
	case len(msg) == noise.MessageCookieReplySize && typ == noise.MessageCookieReplyType:
		d.consumeCookieReply(msg)
		return
	default:
		d.stats.malformed.Add(1)
		return
	}
	id := d.ident.Load()
	if id == nil {
		return
	}
	if !id.checker.CheckMAC1(msg) {
		d.stats.mac1.Add(1)
		return
	}
	if d.underLoad() {
		var sb [18]byte
		src := srcBytes(s.Ep, &sb)
		// An all-zero mac2 (no cookie held) needs no MAC to refuse.
		if allZero(msg[len(msg)-16:]) || !id.checker.CheckMAC2(msg, src) {
			sender := binary.LittleEndian.Uint32(msg[4:])
			var reply noise.MessageCookieReply
			if err := id.checker.CreateReply(msg, sender, src, &reply); err == nil {
				var out [noise.MessageCookieReplySize]byte
				reply.Marshal(out[:])
				d.stats.cookiesSent.Add(1)
				d.sendRaw(out[:], s.Ep, nil)
			}
			return
		}
		if !d.limiter.Allow(s.Ep.Dst.Addr()) {
			d.stats.rateLimited.Add(1)
			return
		}
	}
	var m hsMsg
	m.n = copy(m.buf[:], msg)
	m.ep = s.Ep
	d.hsBusy.Add(1)
	select {
	case d.hsQueue <- m:
	default:
		d.hsBusy.Add(-1)
		d.stats.hsQueueFull.Add(1)
	}
}

func (d *Device) consumeCookieReply(msg []byte) {
	var reply noise.MessageCookieReply
	if reply.Unmarshal(msg) != nil {
		d.stats.malformed.Add(1)
		return
	}
	e := d.indices.lookup(reply.Receiver)
	if e.peer == nil {
		d.stats.unknownIndex.Add(1)
		return
	}
	if !e.peer.cookieGen.ConsumeReply(&reply) {
		d.stats.hsInvalid.Add(1)
	}
}

func (d *Device) underLoad() bool {
	now := d.clk.Now().UnixNano()
	if len(d.hsQueue) >= cap(d.hsQueue)/8 {
		d.underLoadUntil.Store(now + int64(noise.UnderLoadAfterTime))
		return true
	}
	return d.underLoadUntil.Load() > now
}

func (d *Device) handshakeWorker() {
	defer d.wg.Done()
	for {
		select {
		case <-d.closed:
			return
		case m := <-d.hsQueue:
			d.handleHandshake(&m)
			d.hsBusy.Add(-1)
		}
	}
}

// srcBytes is the sender's address as mac2 and cookies bind it.
func srcBytes(ep packet.Endpoint, buf *[18]byte) []byte {
	return noise.AppendSource(buf[:0], ep.Dst)
}

// handleHandshake runs on a worker; the MACs were checked on receive.
func (d *Device) handleHandshake(m *hsMsg) {
	msg := m.buf[:m.n]
	id := d.ident.Load()
	if id == nil {
		return
	}
	switch binary.LittleEndian.Uint32(msg) {
	case noise.MessageInitiationType:
		d.handleInitiation(id.static, msg, m.ep)
	case noise.MessageResponseType:
		d.handleResponse(id.static, msg, m.ep)
	}
}

func (d *Device) handleInitiation(st *noise.Static, msg []byte, ep packet.Endpoint) {
	var init noise.MessageInitiation
	if init.Unmarshal(msg) != nil {
		d.stats.malformed.Add(1)
		return
	}
	var peer *Peer
	lookup := func(pk noise.PublicKey) *noise.PeerStatic {
		d.mu.RLock()
		p := d.peers[pk]
		d.mu.RUnlock()
		if p == nil {
			return nil
		}
		peer = p
		p.hsMu.Lock()
		ps := p.static
		p.hsMu.Unlock()
		return &ps
	}
	ps, rs, ts, err := noise.ConsumeInitiation(st, &init, lookup)
	if err != nil || peer == nil {
		d.stats.hsInvalid.Add(1)
		d.log.Verbosef("invalid handshake initiation from %v: %v", ep, err)
		return
	}
	p := peer
	if !p.running.Load() {
		return
	}
	now := d.clk.Now()
	p.hsMu.Lock()
	if p.static.Public != ps.Public || p.static.StaticStatic != ps.StaticStatic {
		// Reconfigured while we worked: drop, the initiator retries.
		p.hsMu.Unlock()
		return
	}
	if !ts.After(p.lastTimestamp) || (!p.lastInitiation.IsZero() && now.Sub(p.lastInitiation) <= noise.HandshakeInitationRate) {
		last, lastInit := p.lastTimestamp, p.lastInitiation
		p.hsMu.Unlock()
		d.stats.hsReplay.Add(1)
		d.log.Verbosef("%v: handshake initiation replayed or flooding (timestamp %v, last %v, last accepted %v ago)", p, ts, last, now.Sub(lastInit))
		return
	}
	p.lastTimestamp = ts
	p.lastInitiation = now
	// Our own initiation in flight, if any, is superseded.
	d.indices.delete(p.hsLocalIndex)
	p.hsLocalIndex = d.indices.newIndex(p)
	var resp noise.MessageResponse
	keys, err := noise.CreateResponse(st, &p.static, &rs, p.hsLocalIndex, d.rand, &resp)
	if err != nil {
		d.indices.delete(p.hsLocalIndex)
		p.clearHandshakeLocked(false)
		p.hsMu.Unlock()
		d.stats.hsInvalid.Add(1)
		return
	}
	kp := &Keypair{sendKey: keys.Send, recvKey: keys.Receive, created: now, isInitiator: false,
		localIndex: p.hsLocalIndex, remoteIndex: init.Sender, peer: p}
	d.indices.swapForKeypair(p.hsLocalIndex, kp)
	p.hsLocalIndex = 0
	p.hsState = hsNone
	var out [noise.MessageResponseSize]byte
	resp.Marshal(out[:])
	p.cookieGen.AddMACs(out[:])
	p.hsMu.Unlock()

	p.installKeypair(kp)
	p.roam(ep)
	p.rxBytes.Add(uint64(len(msg))) // wg(8)'s transfer counts handshakes, as wireguard-go's
	d.log.Verbosef("%v: received handshake initiation, sending response", p)
	p.timersAnyAuthenticatedPacketTraversal()
	p.timersAnyAuthenticatedPacketReceived()
	p.timersSessionDerived()
	p.timersAnyAuthenticatedPacketTraversal()
	p.timersAnyAuthenticatedPacketSent()
	d.sendRaw(out[:], p.Endpoint(), p)
}

func (d *Device) handleResponse(st *noise.Static, msg []byte, ep packet.Endpoint) {
	var resp noise.MessageResponse
	if resp.Unmarshal(msg) != nil {
		d.stats.malformed.Add(1)
		return
	}
	e := d.indices.lookup(resp.Receiver)
	if e.peer == nil || e.keypair != nil {
		d.stats.unknownIndex.Add(1)
		return
	}
	p := e.peer
	p.hsMu.Lock()
	if p.hsState != hsInitiationCreated || p.hsLocalIndex != resp.Receiver {
		p.hsMu.Unlock()
		d.stats.hsInvalid.Add(1)
		return
	}
	keys, err := noise.ConsumeResponse(st, &p.static, &p.initiator, &resp)
	if err != nil {
		p.hsMu.Unlock()
		d.stats.hsInvalid.Add(1)
		d.log.Verbosef("%v: invalid handshake response from %v: %v", p, ep, err)
		return
	}
	now := d.clk.Now()
	kp := &Keypair{sendKey: keys.Send, recvKey: keys.Receive, created: now, isInitiator: true,
		localIndex: p.hsLocalIndex, remoteIndex: resp.Sender, peer: p}
	d.indices.swapForKeypair(p.hsLocalIndex, kp)
	p.hsLocalIndex = 0
	p.hsState = hsNone
	p.initiator = noise.InitiatorState{}
	p.hsMu.Unlock()

	p.installKeypair(kp)
	p.roam(ep)
	p.rxBytes.Add(uint64(len(msg)))
	d.stats.hsCompleted.Add(1)
	d.log.Verbosef("%v: received handshake response", p)
	p.timersAnyAuthenticatedPacketTraversal()
	p.timersAnyAuthenticatedPacketReceived()
	p.timersSessionDerived()
	p.timersHandshakeComplete()
	// Confirm the session to the responder: staged data, or a keepalive.
	if p.hasStaged() {
		p.sendStaged()
	} else {
		p.sendKeepalive()
	}
}

// gcLimiter drops idle rate-limiter entries and idle egress queues
// (gcEgress) once a second.
func (d *Device) gcLimiter() {
	select {
	case <-d.closed:
		return
	default:
	}
	d.limiter.GC()
	d.gcEgress()
	d.gcTimer.Reset(time.Second)
}

func allZero(b []byte) bool {
	var x byte
	for _, c := range b {
		x |= c
	}
	return x == 0
}
