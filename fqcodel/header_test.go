package fqcodel

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

func key(b []byte) []byte {
	var k [keyLen]byte
	return append([]byte(nil), k[:flowKey(b, &k)]...)
}

func TestFlowKey(t *testing.T) {
	v4 := func(o ipOpts) []byte { return buildIP(o) }
	v6 := func(o ipOpts) []byte { o.v6 = true; return buildIP(o) }
	withPorts := func(b []byte, off int, sport uint16) []byte {
		binary.BigEndian.PutUint16(b[off:], sport)
		return b
	}
	// v6ext returns flow 3's UDP packet with extension headers in front
	// of the UDP header. Each header's first byte, its next-header field,
	// is given as the header's own type and rewritten to chain them.
	v6ext := func(exts ...[]byte) []byte {
		base := v6(ipOpts{flow: 3, size: 100})
		out := append([]byte(nil), base[:40]...)
		out[6] = exts[0][0]
		for i, e := range exts {
			e = append([]byte(nil), e...)
			if i+1 < len(exts) {
				e[0] = exts[i+1][0]
			} else {
				e[0] = base[6]
			}
			out = append(out, e...)
		}
		return append(out, base[40:]...)
	}
	hbh := []byte{0, 0, 1, 4, 0, 0, 0, 0} // hop-by-hop, 8 bytes
	dst := []byte{60, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	frag0 := []byte{44, 0, 0, 1, 0, 0, 0, 1} // offset 0, M=1: first fragment
	fragN := []byte{44, 0, 0, 8, 0, 0, 0, 1} // offset 1
	ah := []byte{51, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

	same := []struct {
		name string
		a, b []byte
	}{
		{"v4 payload and size ignored", v4(ipOpts{flow: 1, size: 100}), v4(ipOpts{flow: 1, size: 1400})},
		{"v4 ECN ignored", v4(ipOpts{flow: 1, ecn: 3}), v4(ipOpts{flow: 1})},
		{"v6 payload ignored", v6(ipOpts{flow: 1, size: 100}), v6(ipOpts{flow: 1, size: 900})},
		{"ICMP ports not read", withPorts(v4(ipOpts{proto: 1, flow: 1}), 20, 1), withPorts(v4(ipOpts{proto: 1, flow: 1}), 20, 2)},
		{"ICMPv6 ports not read", withPorts(v6(ipOpts{proto: 58, flow: 1}), 40, 1), withPorts(v6(ipOpts{proto: 58, flow: 1}), 40, 2)},
		{"v4 fragments together", v4(ipOpts{flow: 1, fragMF: true}), withPorts(v4(ipOpts{flow: 1, fragOf: 185}), 20, 9)},
		{"v6 ext headers skipped", v6ext(hbh), v6(ipOpts{flow: 3, size: 100})},
		{"v6 dst opts and AH skipped", v6ext(dst, ah), v6(ipOpts{flow: 3, size: 100})},
		{"v6 fragments together", v6ext(frag0), withPorts(v6ext(fragN), 48, 7)},
		{"non-IP together", []byte("hello, world"), nil},
		{"short v4 is non-IP", v4(ipOpts{flow: 1})[:19], []byte{0}},
		{"short v6 is non-IP", v6(ipOpts{flow: 1})[:39], []byte{0x12}},
	}
	for _, tc := range same {
		if ka, kb := key(tc.a), key(tc.b); !bytes.Equal(ka, kb) {
			t.Errorf("%s: keys differ:\n% x\n% x", tc.name, ka, kb)
		}
	}
	differ := []struct {
		name string
		a, b []byte
	}{
		{"v4 source port", withPorts(v4(ipOpts{flow: 1}), 20, 1), withPorts(v4(ipOpts{flow: 1}), 20, 2)},
		{"v4 dest port", withPorts(v4(ipOpts{flow: 1}), 22, 1), withPorts(v4(ipOpts{flow: 1}), 22, 2)},
		{"v6 source port", withPorts(v6(ipOpts{flow: 1}), 40, 1), withPorts(v6(ipOpts{flow: 1}), 40, 2)},
		{"TCP ports", withPorts(v4(ipOpts{proto: protoTCP, flow: 1}), 20, 1), withPorts(v4(ipOpts{proto: protoTCP, flow: 1}), 20, 2)},
		{"SCTP ports", withPorts(v4(ipOpts{proto: protoSCTP, flow: 1}), 20, 1), withPorts(v4(ipOpts{proto: protoSCTP, flow: 1}), 20, 2)},
		{"protocol", v4(ipOpts{proto: protoTCP, flow: 1}), v4(ipOpts{proto: protoUDP, flow: 1})},
		{"v4 address", v4(ipOpts{flow: 1}), v4(ipOpts{flow: 1 << 16})},
		{"v6 address", v6(ipOpts{flow: 1}), v6(ipOpts{flow: 2 << 16})},
		{"v4 vs non-IP", v4(ipOpts{flow: 0}), nil},
	}
	for _, tc := range differ {
		if ka, kb := key(tc.a), key(tc.b); bytes.Equal(ka, kb) {
			t.Errorf("%s: same key % x", tc.name, ka)
		}
	}
	// IHL larger than the packet: addresses and protocol only.
	b := v4(ipOpts{flow: 1})
	b[0] = 0x4f
	if n := len(key(b)); n != 10 {
		t.Errorf("IHL beyond the packet: key length %d, want 10", n)
	}
	// Truncated extension header, or more than maxExtHeaders of them:
	// addresses and the last protocol seen, no ports.
	if n := len(key(v6ext(dst)[:50])); n != 34 {
		t.Errorf("truncated extension header: key length %d, want 34", n)
	}
	many := make([][]byte, maxExtHeaders+1)
	for i := range many {
		many[i] = hbh
	}
	if n := len(key(v6ext(many...))); n != 34 {
		t.Errorf("%d extension headers: key length %d, want 34", len(many), n)
	}
	if n := len(key(v6ext(many[1:]...))); n != 38 {
		t.Errorf("%d extension headers: key length %d, want 38", len(many)-1, n)
	}
}

// The keyed hash spreads flows evenly over the flow queues, for random
// tuples and for the common case of one host pair with sequential ports,
// and the key differs per queue.
func TestFlowHashDistribution(t *testing.T) {
	q, err := New(Config{}, nil, pktData, nil)
	if err != nil {
		t.Fatal(err)
	}
	const perBucket = 100
	nflows := len(q.flows)
	n := nflows * perBucket
	chi2 := func(counts []int) float64 {
		var s float64
		for _, c := range counts {
			d := float64(c - perBucket)
			s += d * d / perBucket
		}
		return s
	}
	// chi² with 1023 degrees of freedom: mean 1023, sd 45; six sd.
	limit := float64(nflows-1) + 6*math.Sqrt(2*float64(nflows-1))
	rng := rand.New(rand.NewPCG(7, 7))
	v4tmpl, v6tmpl := buildIP(ipOpts{}), buildIP(ipOpts{v6: true})
	tcptmpl, icmptmpl := buildIP(ipOpts{proto: protoTCP}), buildIP(ipOpts{proto: 1})
	for _, tc := range []struct {
		name string
		gen  func(i int) []byte
	}{
		{"random v4", func(int) []byte {
			b := v4tmpl
			binary.BigEndian.PutUint64(b[12:20], rng.Uint64())
			binary.BigEndian.PutUint32(b[20:24], rng.Uint32())
			return b
		}},
		{"random v6", func(int) []byte {
			b := v6tmpl
			for i := 8; i < 44; i += 4 {
				binary.BigEndian.PutUint32(b[i:], rng.Uint32())
			}
			return b
		}},
		{"sequential ports", func(i int) []byte {
			b := tcptmpl
			binary.BigEndian.PutUint16(b[20:], uint16(i))
			binary.BigEndian.PutUint16(b[22:], uint16(i>>16))
			return b
		}},
		{"sequential v4 hosts", func(i int) []byte {
			b := icmptmpl
			binary.BigEndian.PutUint32(b[12:], uint32(0x0a000000+i))
			return b
		}},
	} {
		counts := make([]int, nflows)
		for i := range n {
			counts[q.classify(tc.gen(i))]++
		}
		c := chi2(counts)
		t.Logf("%s: chi² %.0f (limit %.0f)", tc.name, c, limit)
		if c > limit {
			t.Errorf("%s: chi² %.0f over %d flows, want < %.0f", tc.name, c, nflows, limit)
		}
	}
	// Another queue maps the same packets elsewhere: the key is per
	// instance, so no one can aim flows at one queue of every peer.
	q2, _ := New(Config{}, nil, pktData, nil)
	same := 0
	for i := range 1000 {
		b := buildIP(ipOpts{flow: i})
		if q.classify(b) == q2.classify(b) {
			same++
		}
	}
	if same > 20 { // expect about 1
		t.Errorf("%d of 1000 flows land in the same queue under two keys", same)
	}
}

// RFC 3168 marking: ECT(0) and ECT(1) become CE, CE stays CE (and counts
// as marked), Not-ECT and non-IP are refused; the IPv4 checksum is right
// after every mark, checked against a full recomputation on random headers.
func TestMarkCE(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		for ecn := byte(0); ecn < 4; ecn++ {
			b := buildIP(ipOpts{v6: v6, flow: 5, ecn: ecn})
			orig := append([]byte(nil), b...)
			got := markCE(b)
			if got != (ecn != ecnNotECT) {
				t.Errorf("v6 %v ecn %d: marked %v", v6, ecn, got)
			}
			field := b[1] & 3
			if v6 {
				field = b[1] >> 4 & 3
			}
			if want := map[bool]byte{true: ecnCE, false: ecn}[got]; field != want {
				t.Errorf("v6 %v ecn %d: field %d after", v6, ecn, field)
			}
			if !v6 && !ipv4ChecksumOK(b[:20]) {
				t.Errorf("ecn %d: checksum broken", ecn)
			}
			// Nothing but the ECN bits (and the checksum) changes.
			for i := range b {
				if i == 1 || (!v6 && (i == 10 || i == 11)) {
					continue
				}
				if b[i] != orig[i] {
					t.Fatalf("v6 %v: byte %d changed", v6, i)
				}
			}
			if v6 && b[1]&0xcf != orig[1]&0xcf {
				t.Errorf("v6: traffic class or flow label bits beyond ECN changed")
			}
		}
	}
	for _, b := range [][]byte{nil, {0x45}, make([]byte, 19), []byte("not an IP packet at all"), make([]byte, 39)} {
		if markCE(b) {
			t.Errorf("marked % x", b)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		h := make([]byte, 20)
		for i := range h {
			h[i] = byte(rng.Uint32())
		}
		h[0] = 0x45
		h[1] |= 1 // ECT
		binary.BigEndian.PutUint16(h[10:], ipv4Checksum(h))
		if !markCE(h) || !ipv4ChecksumOK(h) {
			t.Fatalf("checksum wrong after mark: % x", h)
		}
		if want := ipv4Checksum(h); binary.BigEndian.Uint16(h[10:]) != want && !(want == 0 && h[10] == 0xff && h[11] == 0xff) {
			t.Fatalf("incremental %04x, full %04x", binary.BigEndian.Uint16(h[10:]), want)
		}
	}
}
