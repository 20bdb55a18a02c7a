package device

import (
	"errors"
	"net/netip"

	"github.com/wgxdp/wgxdp/conn"

	"github.com/wgxdp/wgxdp/tun"
	"sync"

	"github.com/wgxdp/wgxdp/dataplane"
	"github.com/wgxdp/wgxdp/internal/rtlane"
	"github.com/wgxdp/wgxdp/noise"
	"github.com/wgxdp/wgxdp/packet"
)

// The outbound pipeline. One goroutine per TUN queue reads and routes;
// each peer's sender goroutine encrypts and sends (egress.go):
//
//  1. tun.Read fills the reader's own batch `in` (packets at headroom; GSO
//     super-packets arrive already split by the tun package).
//  2. Each packet's destination is looked up in the allowed-IPs table.
//     Packets with no peer are dropped and counted.
//  3. For each peer in order of first appearance, its slots move into the
//     peer's fq_codel queue and `in` gets fresh slots from the device's
//     bounded pool — one lock and one wake-up per peer per batch, no copy.
//  4. The peer's sender dequeues up to a batch, seals it in place with the
//     current session (dataplane.Crypter, one batch call) and hands it to
//     the Bind, whose blocking send is the backpressure that keeps the
//     standing queue in fq_codel.
//
// Locks: the allowed-IPs lookup takes none; enqueue and dequeue take the
// peer's egress.mu; sendBatch takes the peer's kpMu for reading and epMu
// briefly. A peer without a usable session copies its packets to its
// bounded staged queue and starts a handshake; the staged packets go out
// from the handshake path once a session exists.

// The TUN's express queue (tun/express_linux.go: packets of at most 224
// bytes) has a reader of its own, express set, which does not queue: it
// seals and sends each peer's packets at once (sendExpress), so that a
// ping or a DNS query never waits behind a bulk flow's backlog or for the
// peer's sender to be scheduled. Except while the peer's sends block (the
// wire is the bottleneck, expressOK): then its packets take the queue like
// any others, and fq_codel, which serves sparse flows first, decides — nor
// may a flood of small packets escape the queue that keeps a slow link's
// delay down.
func (d *Device) routineReadFromTUN(t tun.Device, express bool) {
	defer d.wg.Done()
	in := packet.NewBatch(d.batchSize, d.slotSize)
	peers := make([]*Peer, d.batchSize)
	idx := make([]int, 0, d.batchSize)
	fresh := make([]*packet.Slot, d.batchSize)
	direct := &packet.Batch{Slots: make([]*packet.Slot, d.batchSize)}
	cr := dataplane.NewCrypter(d.batchSize)
	for {
		if err := t.Read(in); err != nil {
			if errors.Is(err, tun.ErrDeleted) {
				go d.Close() // tunEvents logs the deletion
				return
			}
			if isClosed(err) {
				return
			}
			select {
			case <-d.closed:
				return
			default:
			}
			d.log.Errorf("TUN read: %v", err)
			continue
		}
		if !express {
			rtlane.Bulk() // keeps the express lanes awake (rtlane.IdleAfter)
		}
		pkts := in.Packets()
		for i, s := range pkts {
			p, ok := d.allowed.LookupDst(s.Data())
			if !ok {
				d.stats.noRoute.Add(1)
				peers[i] = nil
				continue
			}
			peers[i] = p
		}
		for i := range pkts {
			p := peers[i]
			if p == nil {
				continue
			}
			idx = idx[:0]
			for j := i; j < len(pkts); j++ {
				if peers[j] == p {
					idx = append(idx, j)
					peers[j] = nil
				}
			}
			if !p.running.Load() {
				continue
			}
			if express && p.expressOK(d.clk.Now()) {
				p.sendExpress(in, idx, direct, cr)
				continue
			}
			if !p.transmit(in, idx, fresh, direct, cr) {
				return // closing
			}
		}
		clear(peers)
	}
}

var crypterPool = sync.Pool{New: func() any { return dataplane.NewCrypter(packet.MaxBatch) }}

// sendBatch encrypts b's inner packets with the current session and sends
// them; without a usable session it stages them and starts a handshake.
// Empty packets are keepalives. b is left with transport messages. It
// reports whether b itself went to the Bind (not staged, not dropped).
func (p *Peer) sendBatch(b *packet.Batch, cr *dataplane.Crypter) bool {
	if !p.running.Load() || b.N == 0 {
		return false
	}
	if p.hasStaged() {
		p.stage(b.Packets())
		p.sendStaged()
		return false
	}
	if !p.sealAndSend(b, cr) {
		p.stage(b.Packets())
		p.sendHandshakeInitiation(false)
		return false
	}
	return true
}

// sealAndSend reports false when no session can carry b (nothing sent).
func (p *Peer) sealAndSend(b *packet.Batch, cr *dataplane.Crypter) bool {
	d := p.dev
	kp := p.currentKeypair()
	now := d.clk.Now()
	if kp == nil || now.Sub(kp.created) >= noise.RejectAfterTime {
		return false
	}
	n := uint64(b.N)
	first := kp.sendNonce.Add(n) - n
	if first+n > noise.RejectAfterMessages || first+n < first {
		kp.sendNonce.Store(noise.RejectAfterMessages)
		return false
	}
	data := false
	for _, s := range b.Packets() {
		if s.Len() > 0 {
			data = true
		}
	}
	if !cr.Seal(b.Packets(), &kp.sendKey, kp.remoteIndex, first, int(d.mtu.Load())) {
		d.stats.malformed.Add(n)
		return true
	}
	ep := p.Endpoint()
	if !ep.IsValid() {
		d.stats.noEndpoint.Add(n)
		return true
	}
	var bytes uint64
	for _, s := range b.Packets() {
		bytes += uint64(s.Len())
	}
	if err := p.sent(d.cfg.Bind.Send(b, ep), ep); err != nil {
		d.stats.sendErrors.Add(1)
		d.log.Verbosef("%v: send: %v", p, err)
		return true
	}
	p.txBytes.Add(bytes)
	d.stats.txPackets.Add(n)
	p.timersAnyAuthenticatedPacketTraversal()
	p.timersAnyAuthenticatedPacketSent()
	if data {
		p.timersDataSent()
	}
	// keepKeyFreshSending
	if first+n > noise.RekeyAfterMessages || (kp.isInitiator && now.Sub(kp.created) > noise.RekeyAfterTime) {
		p.sendHandshakeInitiation(false)
	}
	return true
}

// sendStaged sends the staged packets if a session exists, or starts a
// handshake.
func (p *Peer) sendStaged() {
	if !p.running.Load() {
		return
	}
	cr := crypterPool.Get().(*dataplane.Crypter)
	defer crypterPool.Put(cr)
	var b *packet.Batch
	for {
		p.stagedMu.Lock()
		if len(p.staged) == 0 {
			p.stagedMu.Unlock()
			return
		}
		if p.currentKeypair() == nil {
			p.stagedMu.Unlock()
			p.sendHandshakeInitiation(false)
			return
		}
		if b == nil {
			b = packet.NewBatch(min(len(p.staged), packet.MaxBatch), p.dev.slotSize)
		}
		b.Reset()
		taken := 0
		for _, pkt := range p.staged {
			if !b.Append(pkt, packet.Endpoint{}) {
				break
			}
			taken++
		}
		rest := p.staged[taken:]
		p.staged = append(p.staged[:0:0], rest...)
		p.stagedMu.Unlock()
		if !p.sealAndSend(b, cr) {
			// Session vanished meanwhile: put them back in front.
			p.stagedMu.Lock()
			back := make([][]byte, 0, taken+len(p.staged))
			for _, s := range b.Packets() {
				back = append(back, append([]byte(nil), s.Data()...))
			}
			p.staged = append(back, p.staged...)
			if len(p.staged) > MaxStagedPackets {
				p.staged = p.staged[len(p.staged)-MaxStagedPackets:]
			}
			p.stagedMu.Unlock()
			p.sendHandshakeInitiation(false)
			return
		}
	}
}

// sendKeepalive sends an empty data packet (or stages one and starts a
// handshake when there is no session).
func (p *Peer) sendKeepalive() {
	if !p.running.Load() {
		return
	}
	if p.hasStaged() {
		p.sendStaged()
		return
	}
	b := p.dev.ctrlPool.Get()
	defer p.dev.ctrlPool.Put(b)
	s := b.Next()
	s.SetLen(0)
	b.Commit()
	cr := crypterPool.Get().(*dataplane.Crypter)
	defer crypterPool.Put(cr)
	if !p.sealAndSend(b, cr) {
		b.Slots[0].Reset()
		b.N = 1
		p.stage(b.Packets())
		p.sendHandshakeInitiation(false)
	}
}

// sendRaw sends one handshake or cookie message to ep: the endpoint of p,
// or of no peer (p nil: a cookie reply to where an initiation came from).
func (d *Device) sendRaw(msg []byte, ep packet.Endpoint, p *Peer) error {
	if !ep.IsValid() {
		d.stats.noEndpoint.Add(1)
		return nil
	}
	b := d.ctrlPool.Get()
	defer d.ctrlPool.Put(b)
	b.Append(msg, packet.Endpoint{})
	err := d.cfg.Bind.Send(b, ep)
	if p != nil {
		err = p.sent(err, ep)
	} else if errors.Is(err, conn.ErrSourceRefused) {
		err = nil
	}
	switch {
	case err != nil:
		d.stats.sendErrors.Add(1)
	case p != nil:
		// wg(8)'s transfer counts handshake messages, as wireguard-go's
		// does (cookie replies belong to no peer).
		p.txBytes.Add(uint64(len(msg)))
	}
	return err
}

// sent takes the error of a send to ep, p's endpoint when it was read. If
// the kernel refused ep's sticky source (conn.ErrSourceRefused: the
// datagrams went out from another address), it clears that source from p's
// endpoint, unless the endpoint changed meanwhile, and reports success.
func (p *Peer) sent(err error, ep packet.Endpoint) error {
	if err == nil || !errors.Is(err, conn.ErrSourceRefused) {
		return err
	}
	p.epMu.Lock()
	if p.endpoint == ep {
		p.endpoint.Src = netip.Addr{}
		p.endpoint.IfIndex = 0
	}
	p.epMu.Unlock()
	p.dev.stats.sourceRefused.Add(1)
	return nil
}

// sendHandshakeInitiation starts a handshake unless one was sent less
// than REKEY_TIMEOUT ago.
func (p *Peer) sendHandshakeInitiation(isRetry bool) {
	d := p.dev
	if !isRetry {
		p.timers.mu.Lock()
		p.timers.handshakeAttempts = 0
		p.timers.mu.Unlock()
	}
	id := d.ident.Load()
	if id == nil || !p.running.Load() {
		return
	}
	st := id.static
	p.hsMu.Lock()
	now := d.clk.Now()
	if !p.lastSentInit.IsZero() && now.Sub(p.lastSentInit) < noise.RekeyTimeout {
		p.hsMu.Unlock()
		return
	}
	p.lastSentInit = now
	d.indices.delete(p.hsLocalIndex)
	p.hsLocalIndex = d.indices.newIndex(p)
	var msg noise.MessageInitiation
	err := noise.CreateInitiation(st, &p.static, p.hsLocalIndex, noise.Stamp(now), d.rand, &p.initiator, &msg)
	if err != nil {
		d.indices.delete(p.hsLocalIndex)
		p.clearHandshakeLocked(false)
		p.hsMu.Unlock()
		d.log.Verbosef("%v: creating initiation: %v", p, err)
		return
	}
	p.hsState = hsInitiationCreated
	var buf [noise.MessageInitiationSize]byte
	msg.Marshal(buf[:])
	p.cookieGen.AddMACs(buf[:])
	p.hsMu.Unlock()
	d.log.Verbosef("%v: sending handshake initiation", p)
	d.stats.hsInitiated.Add(1)
	p.timersAnyAuthenticatedPacketTraversal()
	p.timersAnyAuthenticatedPacketSent()
	if err := d.sendRaw(buf[:], p.Endpoint(), p); err != nil {
		d.log.Verbosef("%v: sending initiation: %v", p, err)
	}
	p.timersHandshakeInitiated()
}
