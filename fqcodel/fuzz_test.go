package fqcodel

import (
	"encoding/binary"
	"testing"
	"time"
)

func fuzzSeeds(f *testing.F) {
	for _, o := range []ipOpts{
		{flow: 1}, {v6: true, flow: 2, ecn: ecnECT0}, {proto: protoTCP, flow: 3, ecn: ecnECT1},
		{proto: 1, flow: 4}, {flow: 5, fragMF: true}, {flow: 6, fragOf: 3}, {v6: true, proto: 58},
	} {
		f.Add(buildIP(o))
	}
	f.Add([]byte{})
	f.Add([]byte{0x4f, 0x01})
	f.Add([]byte{0x60, 0, 0, 0, 0, 8, 0, 64, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 0, 1, 4, 0, 0, 0, 0})
}

// Arbitrary bytes never make the header parser, the flow hash or the ECN
// marker panic or read out of bounds; the flow index is in range; marking
// touches only the ECN bits (and the IPv4 checksum, which stays valid if it
// was).
func FuzzFlowKey(f *testing.F) {
	fuzzSeeds(f)
	q, err := New(Config{Flows: 1000}, nil, pktData, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var k [keyLen]byte
		n := flowKey(b, &k)
		if n < 1 || n > keyLen {
			t.Fatalf("key length %d", n)
		}
		if fi := q.classify(b); fi < 0 || int(fi) >= len(q.flows) {
			t.Fatalf("flow %d", fi)
		}
		m := append([]byte(nil), b...)
		v4ok := len(b) >= 20 && b[0]>>4 == 4 && ipv4ChecksumOK(b[:20])
		marked := markCE(m)
		for i := range m {
			if m[i] != b[i] && i != 1 && !(i == 10 || i == 11) {
				t.Fatalf("byte %d changed", i)
			}
		}
		if marked && len(m) > 1 {
			switch m[0] >> 4 {
			case 4:
				if m[1]&3 != ecnCE {
					t.Fatal("marked but not CE")
				}
				if v4ok && !ipv4ChecksumOK(m[:20]) {
					t.Fatal("mark broke a valid checksum")
				}
			case 6:
				if m[1]>>4&3 != ecnCE || m[1]&0xcf != b[1]&0xcf {
					t.Fatal("bad v6 mark")
				}
			default:
				t.Fatal("marked a non-IP packet")
			}
		}
		// Keying ignores the ECN field, so marking never moves a packet
		// to another flow.
		var k2 [keyLen]byte
		if n2 := flowKey(m, &k2); n2 != n || k2 != k {
			t.Fatal("marking changed the flow key")
		}
	})
}

// A byte string read as a program (enqueue a packet made of the next
// bytes, dequeue, advance the clock, flush) runs against a small queue in
// both modes without panics, with every item handed back exactly once and
// the invariants holding throughout.
func FuzzQueue(f *testing.F) {
	f.Add([]byte{0, 40, 0x45, 1, 2, 3, 1, 2, 200, 1, 1, 3})
	f.Add(append([]byte{0, 60}, buildIP(ipOpts{flow: 1, size: 60, ecn: 2})...))
	f.Fuzz(func(t *testing.T, prog []byte) {
		for _, mode := range []Mode{ModeFQCoDel, ModeFIFO} {
			h := newHarness(t, Config{Mode: mode, Flows: 4, PacketLimit: 16, MemoryLimit: 4096, DropBatch: 3, Quantum: 256})
			back := map[*pkt]int{}
			var all []*pkt
			take := func(p *pkt) { back[p]++ }
			for i := 0; i < len(prog); {
				op := prog[i]
				i++
				switch op % 4 {
				case 0: // enqueue: length byte, then that many bytes (a template if short)
					if i >= len(prog) {
						break
					}
					n := int(prog[i])
					i++
					var b []byte
					if n <= len(prog)-i {
						b = append(b, prog[i:i+n]...)
						i += n
					} else {
						b = buildIP(ipOpts{v6: n%2 == 0, flow: n % 7, size: 40 + n*4, ecn: byte(n % 4)})
						if n%3 == 0 {
							binary.BigEndian.PutUint16(b[2:], uint16(n))
						}
					}
					p := &pkt{b: b}
					all = append(all, p)
					h.enqueue(p)
				case 1:
					if p := h.dequeue(); p != nil {
						take(p)
					}
				case 2:
					h.clk.Advance(time.Duration(op) * time.Millisecond)
				case 3:
					if op > 200 {
						h.q.Flush(take)
					} else {
						dst := make([]*pkt, op%5)
						for _, p := range dst[:h.q.DequeueBatch(dst)] {
							take(p)
						}
					}
				}
				h.check()
			}
			h.q.Flush(take)
			for _, d := range h.drops {
				take(d.p)
			}
			for _, p := range all {
				if back[p] != 1 {
					t.Fatalf("%v: item handed back %d times", mode, back[p])
				}
			}
		}
	})
}
