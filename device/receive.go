package device

import (
	"encoding/binary"
	"time"

	"github.com/wgxdp/wgxdp/conn"
	"github.com/wgxdp/wgxdp/dataplane"
	"github.com/wgxdp/wgxdp/fqcodel"
	"github.com/wgxdp/wgxdp/internal/rtlane"
	"github.com/wgxdp/wgxdp/noise"
	"github.com/wgxdp/wgxdp/packet"
	"github.com/wgxdp/wgxdp/replay"
)

// The inbound pipeline, run to completion by one goroutine per receive
// function of the Bind:
//
//  1. The ReceiveFunc fills the goroutine's batch `in`, each slot with its
//     sender's endpoint.
//  2. Each datagram is classified by type and size. Handshake messages are
//     copied (≤ 148 B) onto the bounded handshake queue — dropped and
//     counted when it is full — for the handshake workers. Transport
//     messages are matched to a keypair by receiver index (index table,
//     read lock); the rest are dropped and counted.
//  3. Runs of consecutive messages of one keypair are decrypted in place in
//     one batch call.
//  4. Per packet, under the keypair's replayMu: the counter is checked
//     against the replay window. Then the session is confirmed if it was
//     the peer's next one, the endpoint follows the packet (roaming), the
//     timers are told, keepalives end here, and the inner packet's length
//     and allowed source are checked.
//  5. Accepted packets are moved (slot pointer swap) into `deliver` and
//     written to the TUN in one call.
//
// The queue toward the TUN is the socket's receive buffer: when this
// goroutine cannot keep up (the CPU is the bottleneck) datagrams wait
// there, in one FIFO, for as long as the buffer (7 MiB) holds them. So the
// goroutine runs CoDel on it: the kernel stamps each datagram as it queues
// it (SO_TIMESTAMPNS), the sojourn time is known as the batch is taken,
// and fqcodel.CoDel picks the packets to signal on — after decryption an
// ECN-capable inner packet is marked CE, any other data packet dropped —
// so that a loss-based sender slows down before the buffer becomes a
// standing queue that every flow, sparse ones too, waits behind. The
// packets are inspected in arrival order, a handful per 100 ms while the
// sojourn time stays above target. Keepalives and handshakes are exempt.
//
// Nothing is allocated per packet; the two batches belong to the goroutine.

func (d *Device) routineReceive(fn conn.ReceiveFunc, hist *sojournHist) {
	defer d.recvWG.Done()
	in := packet.NewBatch(d.batchSize, d.slotSize)
	deliver := packet.NewBatch(d.batchSize, d.slotSize)
	cr := dataplane.NewCrypter(d.batchSize)
	idx := make([]int, 0, d.batchSize)
	kps := make([]*Keypair, d.batchSize)
	run := make([]*packet.Slot, 0, d.batchSize)
	ok := make([]bool, d.batchSize)
	ctrs := make([]uint64, d.batchSize)
	var aqm *fqcodel.CoDel
	if d.egressCfg.Mode != fqcodel.ModeFIFO {
		aqm = fqcodel.NewCoDel(d.egressCfg.Target, d.egressCfg.Interval)
	}
	signal := make([]bool, d.batchSize)
	for {
		in.N = 0
		err := fn(in)
		if err != nil {
			if isClosed(err) {
				return
			}
			select {
			case <-d.closed:
				return
			default:
			}
			d.log.Verbosef("receive: %v", err)
			continue
		}
		if in.N > 0 && in.Slots[0].Len() > conn.DefaultPriorityMax {
			rtlane.Bulk() // keeps the express lanes awake (rtlane.IdleAfter)
		}
		idx = idx[:0]
		for i, s := range in.Packets() {
			msg := s.Data()
			if len(msg) < 4 {
				d.stats.malformed.Add(1)
				continue
			}
			switch binary.LittleEndian.Uint32(msg) {
			case noise.MessageInitiationType, noise.MessageResponseType, noise.MessageCookieReplyType:
				d.queueHandshake(s)
			case noise.MessageTransportType:
				recv, _, valid := dataplane.Header(msg)
				if !valid {
					d.stats.malformed.Add(1)
					continue
				}
				e := d.indices.lookup(recv)
				if e.keypair == nil {
					d.stats.unknownIndex.Add(1)
					continue
				}
				kps[len(idx)] = e.keypair
				idx = append(idx, i)
			default:
				d.stats.malformed.Add(1)
			}
		}
		clear(signal[:len(idx)])
		if len(idx) > 0 && in.Slots[idx[0]].RxTime != 0 {
			now := d.clk.Now().UnixNano()
			for k, i := range idx {
				if rx := in.Slots[i].RxTime; rx != 0 {
					hist.add(now - rx)
					if aqm != nil {
						signal[k] = aqm.Drop(max(now-rx, 0), now)
					}
				}
			}
		}
		deliver.N = 0
		for start := 0; start < len(idx); {
			kp := kps[start]
			end := start
			run = run[:0]
			for end < len(idx) && kps[end] == kp {
				run = append(run, in.Slots[idx[end]])
				end++
			}
			var sig []bool
			if aqm != nil {
				sig = signal[start:end]
			}
			d.receiveRun(kp, run, ok, ctrs, cr, sig)
			for j := start; j < end; j++ {
				if !ok[j-start] {
					continue
				}
				i := idx[j]
				deliver.Slots[deliver.N], in.Slots[i] = in.Slots[i], deliver.Slots[deliver.N]
				deliver.N++
			}
			start = end
		}
		clear(kps)
		if deliver.N > 0 {
			if err := d.cfg.TUN.Write(deliver); err != nil && !isClosed(err) {
				d.log.Errorf("TUN write: %v", err)
			}
		}
		deliver.Reset()
	}
}

// receiveRun decrypts one keypair's run of messages and decides, per
// packet, whether it goes to the TUN (ok[i]). Data packets with sig[i] set
// (nil: none) are marked CE if ECN-capable, else dropped.
func (d *Device) receiveRun(kp *Keypair, run []*packet.Slot, ok []bool, ctrs []uint64, cr *dataplane.Crypter, sig []bool) {
	p := kp.peer
	now := d.clk.Now()
	if now.Sub(kp.created) >= noise.RejectAfterTime || !p.running.Load() {
		d.stats.expired.Add(uint64(len(run)))
		clear(ok[:len(run)])
		return
	}
	cr.Open(run, &kp.recvKey, ok, ctrs)
	var last packet.Endpoint
	anyOK, data := false, false
	var rxBytes uint64
	for i, s := range run {
		if !ok[i] {
			d.stats.decrypt.Add(1)
			continue
		}
		kp.replayMu.Lock()
		if s.Express && expressAhead(kp, ctrs[i], now.UnixNano()) {
			kp.replayMu.Unlock()
			d.stats.expressAhead.Add(1)
			ok[i] = false
			continue
		}
		fresh := kp.replay.ValidateCounter(ctrs[i], noise.RejectAfterMessages)
		if fresh && !s.Express {
			kp.lastBulk = now.UnixNano()
		}
		kp.replayMu.Unlock()
		if !fresh {
			d.stats.replay.Add(1)
			ok[i] = false
			continue
		}
		anyOK = true
		last = s.Ep
		rxBytes += uint64(s.Len() + dataplane.HeaderSize + dataplane.TagSize)
		if s.Len() == 0 { // keepalive
			ok[i] = false
			continue
		}
		if !trimInner(s) {
			d.stats.inner.Add(1)
			ok[i] = false
			continue
		}
		if !d.allowed.CheckSrc(s.Data(), p) {
			d.stats.sourceCheck.Add(1)
			ok[i] = false
			continue
		}
		data = true
		if sig != nil && sig[i] {
			if d.egressCfg.ECN == fqcodel.ECNOn && fqcodel.MarkCE(s.Data()) {
				d.stats.ingressMarked.Add(1)
			} else {
				d.stats.ingressDropped.Add(1)
				ok[i] = false
			}
		}
	}
	if !anyOK {
		return
	}
	p.rxBytes.Add(rxBytes)
	if p.receivedWithKeypair(kp) {
		p.timersHandshakeCompleteResponder()
	}
	p.roam(last)
	p.keepKeyFreshReceiving()
	p.timersAnyAuthenticatedPacketTraversal()
	p.timersAnyAuthenticatedPacketReceived()
	if data {
		p.timersDataReceived()
		for i := range run {
			if ok[i] {
				d.stats.rxPackets.Add(1)
			}
		}
	}
}

// timersHandshakeCompleteResponder: the responder's session was confirmed;
// send what waited for it.
// expressLead and expressBulkActive bound how far an express-lane packet
// may move the replay window (expressAhead).
const (
	expressLead       = replay.WindowSize / 2
	expressBulkActive = 100 * time.Millisecond
)

// expressAhead reports whether an express-lane packet with counter c must
// be dropped rather than accepted (caller holds kp.replayMu). Express
// packets overtake the bulk receive queue; accepting one moves the replay
// window to its counter, and every bulk packet still queued more than
// WindowSize (8128) counters behind would then be dropped as a replay — a
// few thousand queued datagrams at a high rate (measured: receiver stopped
// for a moment under a 500-byte flood, 4,500–6,200 bulk packets lost). So
// while bulk packets are arriving (one accepted within expressBulkActive),
// an express packet more than half a window ahead of the highest counter
// is dropped instead: the bulk queue is that far behind, and losing a ping
// or an ACK costs less. When no bulk packets arrive, a gap means loss on
// the way, and express packets move the window as any would.
func expressAhead(kp *Keypair, c uint64, now int64) bool {
	return c > kp.replay.Last()+expressLead && now-kp.lastBulk < int64(expressBulkActive)
}

func (p *Peer) timersHandshakeCompleteResponder() {
	p.timersHandshakeComplete()
	p.dev.stats.hsCompleted.Add(1)
	p.sendStaged()
}

// trimInner cuts the padding after an IPv4/IPv6 packet, reporting false
// for anything else or a length that does not fit.
func trimInner(s *packet.Slot) bool {
	b := s.Data()
	if len(b) < 1 {
		return false
	}
	var n int
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			return false
		}
		n = int(binary.BigEndian.Uint16(b[2:4]))
		if n < 20 {
			return false
		}
	case 6:
		if len(b) < 40 {
			return false
		}
		n = int(binary.BigEndian.Uint16(b[4:6])) + 40
	default:
		return false
	}
	if n > len(b) {
		return false
	}
	return s.Trim(len(b) - n)
}

// keepKeyFreshReceiving: an initiator whose session nears its end starts
// the next handshake once, so it is ready before REJECT_AFTER_TIME.
func (p *Peer) keepKeyFreshReceiving() {
	p.timers.mu.Lock()
	if p.timers.sentLastMinuteHandshake {
		p.timers.mu.Unlock()
		return
	}
	p.timers.mu.Unlock()
	kp := p.currentKeypair()
	if kp != nil && kp.isInitiator && p.dev.clk.Now().Sub(kp.created) > noise.RejectAfterTime-noise.KeepaliveTimeout-noise.RekeyTimeout {
		p.timers.mu.Lock()
		p.timers.sentLastMinuteHandshake = true
		p.timers.mu.Unlock()
		p.sendHandshakeInitiation(false)
	}
}
