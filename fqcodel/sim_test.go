package fqcodel

import (
	"time"
)

// cbrSim drives h with constant-rate arrivals on one flow (one packet of
// size bytes every gap) into a link that takes service per packet, in
// steps of dt of virtual time, for dur from the harness's present. It returns, for every delivered
// packet, the time it left and its sojourn time.
type delivery struct {
	at, sojourn time.Duration
}

func cbrSim(h *harness, flow, size int, gap, service, dt, dur time.Duration, mk func(flow, size int) *pkt) []delivery {
	var out []delivery
	var nextArr, nextSvc time.Duration
	seq := 0
	t0 := h.elapsed()
	nextArr, nextSvc = t0, t0
	for t := t0; t < t0+dur; t += dt {
		if d := t - h.elapsed(); d > 0 {
			h.clk.Advance(d)
		}
		for nextArr <= t {
			p := mk(flow, size)
			p.seq = seq
			seq++
			h.enqueue(p)
			nextArr += gap
		}
		if nextSvc <= t {
			if p := h.dequeue(); p != nil {
				out = append(out, delivery{t, t - p.enq})
				nextSvc = t + service
			}
		}
	}
	return out
}

// renoSim drives h with one window-controlled, loss- and ECN-responsive
// sender (a Reno-like AIMD: +1 packet per window acked, half on a loss or
// CE mark, at most once per RTT) through a link that takes service per
// packet, with a base round-trip time rtt outside the queue. Drops are
// seen by the sender one rtt after they happen; a CE mark when its ack
// returns. It returns the deliveries.
func renoSim(h *harness, size int, ecn byte, service, rtt, dt, dur time.Duration) []delivery {
	var (
		out      []delivery
		acks     []ack // in time order
		cwnd     = 2.0
		inflight int
		lastCut  = -rtt
		nextSvc  time.Duration
		seq      int
		ndrops   int
	)
	for t := time.Duration(0); t < dur; t += dt {
		if d := t - h.elapsed(); d > 0 {
			h.clk.Advance(d)
		}
		for ; ndrops < len(h.drops); ndrops++ {
			acks = insertAck(acks, ack{h.drops[ndrops].at + rtt, true})
		}
		i := 0
		for ; i < len(acks) && acks[i].at <= t; i++ {
			inflight--
			if acks[i].loss {
				if t-lastCut >= rtt {
					cwnd = max(cwnd/2, 2)
					lastCut = t
				}
			} else {
				cwnd += 1 / cwnd
			}
		}
		acks = acks[i:]
		for float64(inflight) < cwnd {
			p := &pkt{b: buildIP(ipOpts{proto: protoTCP, flow: 1, size: size, ecn: ecn}), flow: 1, seq: seq}
			seq++
			inflight++
			h.enqueue(p)
		}
		if nextSvc <= t {
			if p := h.dequeue(); p != nil {
				out = append(out, delivery{t, t - p.enq})
				ce := p.b[1]&3 == ecnCE
				// Acks are appended in time order: drops arrive later
				// than the service that precedes them only by rtt.
				acks = insertAck(acks, ack{t + rtt, ce})
				nextSvc = t + service
			}
		}
	}
	return out
}

type ack struct {
	at   time.Duration
	loss bool
}

func insertAck(acks []ack, a ack) []ack {
	i := len(acks)
	for i > 0 && acks[i-1].at > a.at {
		i--
	}
	acks = append(acks, ack{})
	copy(acks[i+1:], acks[i:])
	acks[i] = a
	return acks
}
