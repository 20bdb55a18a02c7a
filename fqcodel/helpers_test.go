package fqcodel

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/clock"
)

// pkt is the test item: an IP packet and what the test wants to know
// about it.
type pkt struct {
	b    []byte
	flow int
	seq  int
	enq  time.Duration // virtual time of Enqueue
}

func pktData(p *pkt) []byte { return p.b }

// harness is a queue of *pkt on a fake clock that records what it drops.
type harness struct {
	t     testing.TB
	clk   *clock.Fake
	start time.Time
	q     *Queue[*pkt]
	drops []drop
}

type drop struct {
	p  *pkt
	at time.Duration
}

func newHarness(t testing.TB, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, start: time.Unix(1_000_000, 0)}
	h.clk = clock.NewFake(h.start)
	q, err := New(cfg, h.clk.Now, pktData, func(p *pkt) {
		h.drops = append(h.drops, drop{p, h.elapsed()})
	})
	if err != nil {
		t.Fatal(err)
	}
	h.q = q
	return h
}

func (h *harness) elapsed() time.Duration { return h.clk.Now().Sub(h.start) }

func (h *harness) enqueue(p *pkt) bool {
	p.enq = h.elapsed()
	return h.q.Enqueue(p)
}

func (h *harness) dequeue() *pkt {
	p, ok := h.q.Dequeue()
	if !ok {
		return nil
	}
	return p
}

// check verifies the queue's internal invariants.
func (h *harness) check() {
	h.t.Helper()
	if err := h.q.checkInvariants(); err != nil {
		h.t.Fatal(err)
	}
}

// checkInvariants walks every flow, list and the free list and checks
// them against the counters.
func (q *Queue[T]) checkInvariants() error {
	seen := make([]bool, len(q.nodes))
	var qlen, active int
	var backlog int64
	for fi := range q.flows {
		f := &q.flows[fi]
		var bytes uint32
		last := int32(-1)
		for n := f.head; n >= 0; n = q.nodes[n].next {
			if seen[n] {
				return fmt.Errorf("node %d linked twice", n)
			}
			seen[n] = true
			bytes += q.nodes[n].size
			qlen++
			last = n
		}
		if last != f.tail {
			return fmt.Errorf("flow %d: tail %d, last node %d", fi, f.tail, last)
		}
		if bytes != q.backlogs[fi] {
			return fmt.Errorf("flow %d: backlog %d, nodes hold %d", fi, q.backlogs[fi], bytes)
		}
		if f.head >= 0 {
			active++
			if q.mode == ModeFQCoDel && f.list == listNone {
				return fmt.Errorf("flow %d has packets but is on no list", fi)
			}
		}
		backlog += int64(bytes)
	}
	free := 0
	for n := q.free; n >= 0; n = q.nodes[n].next {
		if seen[n] {
			return fmt.Errorf("free node %d is also queued", n)
		}
		seen[n] = true
		free++
	}
	if qlen != q.qlen || backlog != q.backlog || active != q.active {
		return fmt.Errorf("counters qlen %d backlog %d active %d, walk %d %d %d", q.qlen, q.backlog, q.active, qlen, backlog, active)
	}
	if qlen+free != len(q.nodes) {
		return fmt.Errorf("%d queued + %d free != %d nodes", qlen, free, len(q.nodes))
	}
	if q.mode == ModeFQCoDel && qlen > q.pktLimit {
		return fmt.Errorf("%d queued over the limit %d", qlen, q.pktLimit)
	}
	onList := make([]uint8, len(q.flows))
	for _, l := range []struct {
		fl  flowList
		tag uint8
	}{{q.newFlows, listNew}, {q.oldFlows, listOld}} {
		last := int32(-1)
		for fi := l.fl.head; fi >= 0; fi = q.flows[fi].next {
			if onList[fi] != 0 {
				return fmt.Errorf("flow %d on a list twice", fi)
			}
			onList[fi] = l.tag
			last = fi
		}
		if last != l.fl.tail {
			return fmt.Errorf("list tail %d, last %d", l.fl.tail, last)
		}
	}
	for fi := range q.flows {
		if onList[fi] != q.flows[fi].list {
			return fmt.Errorf("flow %d: list tag %d, found on %d", fi, q.flows[fi].list, onList[fi])
		}
	}
	s := q.Stats()
	if s.EnqueuedPackets != s.DequeuedPackets+s.CoDelDroppedPackets+s.OverlimitDroppedPackets+s.FlushedPackets+uint64(s.BacklogPackets) {
		return fmt.Errorf("packets not conserved: %+v", s)
	}
	if s.EnqueuedBytes != s.DequeuedBytes+s.CoDelDroppedBytes+s.OverlimitDroppedBytes+uint64(s.BacklogBytes)+s.FlushedBytes {
		return fmt.Errorf("bytes not conserved: %+v", s)
	}
	return nil
}

// Packet builders. Addresses are derived from a flow number.

type ipOpts struct {
	v6     bool
	proto  byte
	flow   int // selects addresses and ports
	size   int // total IP packet length (at least the headers)
	ecn    byte
	fragMF bool
	fragOf uint16 // fragment offset in 8-byte units
}

func buildIP(o ipOpts) []byte {
	if o.proto == 0 {
		o.proto = protoUDP
	}
	hl := 20
	if o.v6 {
		hl = 40
	}
	size := max(o.size, hl+8)
	b := make([]byte, size)
	src := uint32(0x0a000000 | o.flow>>16)
	dst := uint32(0xc0a80000 | o.flow&0xffff)
	sport := uint16(1024 + o.flow%50000)
	dport := uint16(443)
	if o.v6 {
		b[0] = 0x60 | 0 // traffic class high nibble 0
		b[1] = o.ecn << 4
		binary.BigEndian.PutUint16(b[4:6], uint16(size-40))
		b[6] = o.proto
		b[7] = 64
		binary.BigEndian.PutUint32(b[8:12], 0x20010db8)
		binary.BigEndian.PutUint32(b[20:24], src)
		binary.BigEndian.PutUint32(b[24:28], 0x20010db8)
		binary.BigEndian.PutUint32(b[36:40], dst)
	} else {
		b[0] = 0x45
		b[1] = o.ecn
		binary.BigEndian.PutUint16(b[2:4], uint16(size))
		frag := o.fragOf & 0x1fff
		if o.fragMF {
			frag |= 0x2000
		}
		binary.BigEndian.PutUint16(b[6:8], frag)
		b[8] = 64
		b[9] = o.proto
		binary.BigEndian.PutUint32(b[12:16], src)
		binary.BigEndian.PutUint32(b[16:20], dst)
		binary.BigEndian.PutUint16(b[10:12], ipv4Checksum(b[:20]))
	}
	binary.BigEndian.PutUint16(b[hl:], sport)
	binary.BigEndian.PutUint16(b[hl+2:], dport)
	return b
}

// ipv4Checksum computes the header checksum of h with its checksum field
// taken as zero.
func ipv4Checksum(h []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(h); i += 2 {
		if i == 10 {
			continue
		}
		s += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// ipv4ChecksumOK reports whether the header h, checksum included, sums to
// 0xffff in ones' complement.
func ipv4ChecksumOK(h []byte) bool {
	var s uint32
	for i := 0; i+1 < len(h); i += 2 {
		s += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return s == 0xffff
}

func udp4(flow, size int) *pkt {
	return &pkt{b: buildIP(ipOpts{flow: flow, size: size}), flow: flow}
}
