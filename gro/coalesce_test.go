package gro

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"github.com/wgxdp/wgxdp/packet"
)

var allOn = Options{TCP: true, UDP: true}

// written splits a coalesced batch's packets back into their vnet header
// and IP packet.
func written(t *testing.T, b *packet.Batch) ([]VirtioNetHdr, [][]byte) {
	t.Helper()
	var hs []VirtioNetHdr
	var ps [][]byte
	for i, s := range b.Packets() {
		var h VirtioNetHdr
		if err := h.Decode(s.Data()); err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		hs = append(hs, h)
		ps = append(ps, s.Data()[VirtioNetHdrLen:])
	}
	return hs, ps
}

// TestSplitCoalesceRoundTrip: a super-packet as the kernel reads it, split
// and coalesced again, is the same super-packet with the same header.
func TestSplitCoalesceRoundTrip(t *testing.T) {
	tsOpt := []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}
	tests := []struct {
		name string
		s    spec
		gso  int
	}{
		{"tcp4 kernel", spec{seq: 1, ack: 2, id: 9, flags: tcpACK | tcpPSH, payload: payloadBytes(0, 64860)}, 1380},
		{"tcp4 short last", spec{payload: payloadBytes(0, 10000)}, 1380},
		{"tcp4 options", spec{opts: tsOpt, payload: payloadBytes(0, 40000)}, 1368},
		{"tcp4 CWR ECE FIN", spec{flags: tcpACK | tcpCWR | tcpECE | tcpFIN, payload: payloadBytes(0, 5000)}, 1000},
		{"tcp6", spec{v6: true, flowLabel: 0x12345, tos: 0x10, payload: payloadBytes(0, 64000)}, 1360},
		{"udp4", spec{udp: true, payload: payloadBytes(0, 8000)}, 1000},
		{"udp6 short last", spec{udp: true, v6: true, payload: payloadBytes(0, 50000)}, 1232},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, super := superPacket(tt.s, tt.gso)
			b := newBatch(64, 65535)
			n, err := Split(b, h, super, 1500)
			if err != nil || n < 2 {
				t.Fatalf("Split = %d, %v", n, err)
			}
			if err := Coalesce(b, allOn); err != nil {
				t.Fatal(err)
			}
			hs, ps := written(t, b)
			if len(ps) != 1 {
				t.Fatalf("%d packets after Coalesce, want 1", len(ps))
			}
			want := h
			if hs[0] != want {
				t.Fatalf("header %+v, want %+v", hs[0], want)
			}
			if !bytes.Equal(ps[0], super) {
				t.Fatalf("super-packet differs from the original")
			}
			if b.N != 1 || b.Cap() != 64 {
				t.Fatalf("batch N=%d cap=%d", b.N, b.Cap())
			}
		})
	}
}

// TestCoalesceSplitRoundTrip: a run of valid segments, coalesced and split
// again (as the kernel segments it), gives back the segments exactly.
func TestCoalesceSplitRoundTrip(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		// 45 full segments and a short one with PSH: 44 fill a 64 KiB
		// super-packet (40 + 44 × 1460 = 64280; 45 would be 65740).
		segs := tcpStream(spec{v6: v6, seq: 0xffffff00, id: 0xfff0}, 45, 1460)
		seq0, id0 := uint32(0xffffff00), uint16(0xfff0)
		last := spec{v6: v6, seq: seq0 + 45*1460, id: id0 + 45, flags: tcpACK | tcpPSH, payload: payloadBytes(45*1460, 100)}
		segs = append(segs, build(last))
		b := newBatch(64, 65535)
		fill(b, segs...)
		if err := Coalesce(b, allOn); err != nil {
			t.Fatal(err)
		}
		hs, ps := written(t, b)
		if len(ps) != 2 || hs[0].GSOSize != 1460 || hs[1].GSOSize != 1460 {
			t.Fatalf("v6=%v: %d packets (%+v), want 2", v6, len(ps), hs)
		}
		out := newBatch(128, 1520)
		for i := range ps {
			if _, err := Split(out, hs[i], ps[i], 1520); err != nil {
				t.Fatal(err)
			}
		}
		if out.N != len(segs) {
			t.Fatalf("v6=%v: %d segments, want %d", v6, out.N, len(segs))
		}
		for i, s := range out.Packets() {
			if !bytes.Equal(s.Data(), segs[i]) {
				t.Fatalf("v6=%v: segment %d differs", v6, i)
			}
		}
	}
}

func TestCoalesce(t *testing.T) {
	v4 := spec{seq: 1000, ack: 5}
	v6 := spec{v6: true, seq: 1000, ack: 5}
	seg := func(s spec, i, n int) []byte {
		s.seq += uint32(i * 100)
		s.id += uint16(i)
		if s.payload == nil {
			s.payload = payloadBytes(i*100, n)
		}
		return build(s)
	}
	udp := func(s spec, n int) []byte {
		s.udp = true
		s.payload = payloadBytes(0, n)
		return build(s)
	}
	with := func(s spec, f func(*spec)) spec { f(&s); return s }
	corrupt := func(p []byte) []byte { p[len(p)-1] ^= 1; return p }
	tsA := []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}
	tsB := []byte{1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 2}
	icmp := func() []byte { p := build(spec{udp: true, payload: []byte{1, 2, 3}}); p[9] = 1; return p }

	tests := []struct {
		name  string
		pkts  [][]byte
		opts  Options
		slot  int   // slot size; 0: for 64 KiB
		want  []int // segments per written packet
		gso   []uint8
		check func(t *testing.T, ps [][]byte)
	}{
		{name: "contiguous", pkts: [][]byte{seg(v4, 0, 100), seg(v4, 1, 100), seg(v4, 2, 100)}, want: []int{3}, gso: []uint8{GSOTCPv4}},
		{name: "v6 contiguous", pkts: [][]byte{seg(v6, 0, 100), seg(v6, 1, 100), seg(v6, 2, 50)}, want: []int{3}, gso: []uint8{GSOTCPv6}},
		{name: "gap", pkts: [][]byte{seg(v4, 0, 100), seg(v4, 2, 100), seg(v4, 3, 100)}, want: []int{1, 2}},
		{name: "overlap", pkts: [][]byte{seg(v4, 0, 100), seg(v4, 0, 100)}, want: []int{1, 1}},
		{name: "different port", pkts: [][]byte{seg(v4, 0, 100), seg(with(v4, func(s *spec) { s.sport = 7 }), 1, 100)}, want: []int{1, 1}},
		{name: "different addr", pkts: [][]byte{seg(v4, 0, 100), seg(with(v4, func(s *spec) { s.dst = netip.MustParseAddr("10.0.0.3"); s.src = netip.MustParseAddr("10.0.0.1") }), 1, 100)}, want: []int{1, 1}},
		{name: "v4 and v6", pkts: [][]byte{seg(v4, 0, 100), seg(v6, 1, 100)}, want: []int{1, 1}},
		{name: "ack differs", pkts: [][]byte{seg(v4, 0, 100), seg(with(v4, func(s *spec) { s.ack = 6 }), 1, 100)}, want: []int{1, 1}},
		{name: "window differs", pkts: [][]byte{seg(v4, 0, 100), seg(with(v4, func(s *spec) { s.window = 9 }), 1, 100)}, want: []int{1, 1}},
		{name: "SYN", pkts: [][]byte{seg(v4, 0, 100), seg(with(v4, func(s *spec) { s.flags = tcpSYN | tcpACK }), 1, 100)}, want: []int{1, 1}},
		{name: "RST", pkts: [][]byte{seg(v4, 0, 100), seg(with(v4, func(s *spec) { s.flags = tcpRST | tcpACK }), 1, 100)}, want: []int{1, 1}},
		{name: "URG", pkts: [][]byte{seg(with(v4, func(s *spec) { s.flags = tcpURG | tcpACK }), 0, 100), seg(v4, 1, 100)}, want: []int{1, 1}},
		{name: "ECE differs", pkts: [][]byte{seg(v4, 0, 100), seg(with(v4, func(s *spec) { s.flags = tcpECE | tcpACK }), 1, 100)}, want: []int{1, 1}},
		{name: "CWR first", pkts: [][]byte{seg(with(v4, func(s *spec) { s.flags = tcpCWR | tcpACK }), 0, 100), seg(v4, 1, 100)}, want: []int{2}, gso: []uint8{GSOTCPv4 | GSOECN}},
		{name: "CWR second", pkts: [][]byte{seg(v4, 0, 100), seg(with(v4, func(s *spec) { s.flags = tcpCWR | tcpACK }), 1, 100)}, want: []int{1, 1}},
		{name: "PSH last", pkts: [][]byte{seg(v4, 0, 100), seg(with(v4, func(s *spec) { s.flags = tcpPSH | tcpACK }), 1, 100), seg(v4, 2, 100)}, want: []int{2, 1},
			check: func(t *testing.T, ps [][]byte) {
				if ps[0][33] != tcpPSH|tcpACK {
					t.Errorf("head flags %#x, want PSH|ACK", ps[0][33])
				}
			}},
		{name: "PSH first", pkts: [][]byte{seg(with(v4, func(s *spec) { s.flags = tcpPSH | tcpACK }), 0, 100), seg(v4, 1, 100)}, want: []int{1, 1}},
		{name: "FIN last", pkts: [][]byte{seg(v4, 0, 100), seg(with(v4, func(s *spec) { s.flags = tcpFIN | tcpACK }), 1, 100)}, want: []int{2}},
		{name: "options equal", pkts: [][]byte{seg(with(v4, func(s *spec) { s.opts = tsA }), 0, 100), seg(with(v4, func(s *spec) { s.opts = tsA }), 1, 100)}, want: []int{2}},
		{name: "options differ", pkts: [][]byte{seg(with(v4, func(s *spec) { s.opts = tsA }), 0, 100), seg(with(v4, func(s *spec) { s.opts = tsB }), 1, 100)}, want: []int{1, 1}},
		{name: "options length differ", pkts: [][]byte{seg(v4, 0, 100), seg(with(v4, func(s *spec) { s.opts = tsA }), 1, 100)}, want: []int{1, 1}},
		{name: "TOS differs", pkts: [][]byte{seg(v4, 0, 100), seg(with(v4, func(s *spec) { s.tos = 1 }), 1, 100)}, want: []int{1, 1}},
		{name: "TTL differs", pkts: [][]byte{seg(v4, 0, 100), seg(with(v4, func(s *spec) { s.ttl = 1 }), 1, 100)}, want: []int{1, 1}},
		{name: "DF differs", pkts: [][]byte{seg(v4, 0, 100), seg(with(v4, func(s *spec) { s.noDF = true }), 1, 100)}, want: []int{1, 1}},
		{name: "v6 flow label differs", pkts: [][]byte{seg(v6, 0, 100), seg(with(v6, func(s *spec) { s.flowLabel = 1 }), 1, 100)}, want: []int{1, 1}},
		{name: "v6 hop limit differs", pkts: [][]byte{seg(v6, 0, 100), seg(with(v6, func(s *spec) { s.ttl = 1 }), 1, 100)}, want: []int{1, 1}},
		{name: "bad checksum second", pkts: [][]byte{seg(v4, 0, 100), corrupt(seg(v4, 1, 100)), seg(v4, 2, 100)}, want: []int{1, 1, 1}},
		{name: "bad checksum first", pkts: [][]byte{corrupt(seg(v4, 0, 100)), seg(v4, 1, 100), seg(v4, 2, 100)}, want: []int{1, 2}},
		{name: "larger after smaller", pkts: [][]byte{seg(v4, 0, 100), seg(with(v4, func(s *spec) { s.payload = payloadBytes(100, 150) }), 1, 150)}, want: []int{1, 1}},
		{name: "after a short one", pkts: [][]byte{seg(v4, 0, 100), build(with(v4, func(s *spec) { s.seq += 100; s.payload = payloadBytes(100, 50) })),
			build(with(v4, func(s *spec) { s.seq += 150; s.payload = payloadBytes(150, 100) }))}, want: []int{2, 1}},
		{name: "pure ACK between", pkts: [][]byte{seg(v4, 0, 100), seg(v4, 1, 100), build(with(v4, func(s *spec) { s.seq += 200 })), seg(v4, 2, 100)}, want: []int{2, 1, 1}},
		{name: "interleaved flows", pkts: [][]byte{seg(v4, 0, 100), seg(v6, 0, 100), icmp(), seg(v4, 1, 100), seg(v6, 1, 100), seg(v4, 2, 100)}, want: []int{3, 2, 1},
			check: func(t *testing.T, ps [][]byte) {
				if ps[0][0]>>4 != 4 || ps[1][0]>>4 != 6 || ps[2][9] != 1 {
					t.Error("order changed")
				}
			}},
		{name: "MaxSize", opts: Options{TCP: true, MaxSize: 240}, pkts: [][]byte{seg(v4, 0, 100), seg(v4, 1, 100), seg(v4, 2, 100)}, want: []int{2, 1}},
		{name: "1500-byte slot", slot: packet.SlotSize(1500), pkts: [][]byte{seg(v4, 0, 100), seg(v4, 1, 100)}, want: []int{2}},
		{name: "no tailroom at all", slot: packet.Headroom + 150, pkts: [][]byte{seg(v4, 0, 100), seg(v4, 1, 100)}, want: []int{1, 1}},
		{name: "TCP off", opts: Options{UDP: true}, pkts: [][]byte{seg(v4, 0, 100), seg(v4, 1, 100)}, want: []int{1, 1}},
		{name: "all off", opts: Options{}, pkts: [][]byte{seg(v4, 0, 100), seg(v4, 1, 100), udp(v4, 10), udp(v4, 10)}, want: []int{1, 1, 1, 1}},
		{name: "IPv4 options", pkts: func() [][]byte {
			var ps [][]byte
			for i := range 2 {
				p := seg(v4, i, 100)
				q := append(append(append([]byte{}, p[:20]...), 1, 1, 1, 0), p[20:]...) // NOP NOP NOP EOL
				q[0] = 0x46
				binary.BigEndian.PutUint16(q[2:], uint16(len(q)))
				q[10], q[11] = 0, 0
				binary.BigEndian.PutUint16(q[10:], ^Fold(Checksum(q[:24], 0)))
				ps = append(ps, q)
			}
			return ps
		}(), want: []int{1, 1}},
		{name: "udp equal sizes", pkts: [][]byte{udp(v4, 1000), udp(v4, 1000), udp(v4, 600)}, want: []int{3}, gso: []uint8{GSOUDPL4}},
		{name: "udp6", pkts: [][]byte{udp(v6, 1000), udp(v6, 1000)}, want: []int{2}, gso: []uint8{GSOUDPL4}},
		{name: "udp larger after", pkts: [][]byte{udp(v4, 600), udp(v4, 1000)}, want: []int{1, 1}},
		{name: "udp after short", pkts: [][]byte{udp(v4, 1000), udp(v4, 600), udp(v4, 1000)}, want: []int{2, 1}},
		{name: "udp off", opts: Options{TCP: true}, pkts: [][]byte{udp(v4, 1000), udp(v4, 1000)}, want: []int{1, 1}},
		{name: "udp zero checksum v4", pkts: func() [][]byte {
			a, b := udp(v4, 100), udp(v4, 100)
			a[26], a[27], b[26], b[27] = 0, 0, 0, 0
			return [][]byte{a, b}
		}(), want: []int{2}},
		{name: "udp empty", pkts: [][]byte{udp(v4, 0), udp(v4, 0)}, want: []int{1, 1}},
		{name: "udp 64 segments", pkts: func() [][]byte {
			var ps [][]byte
			for range 70 {
				ps = append(ps, udp(v4, 10))
			}
			return ps
		}(), want: []int{64, 6}},
		{name: "tcp fragment", pkts: func() [][]byte {
			a, b := seg(v4, 0, 100), seg(v4, 1, 100)
			b[6] |= 0x20
			return [][]byte{a, b}
		}(), want: []int{1, 1}},
		{name: "garbage", pkts: [][]byte{{}, {0x45}, {0x60, 0, 0}, make([]byte, 30)}, want: []int{1, 1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			if tt.opts == (Options{}) && tt.name != "all off" {
				opts = allOn
			}
			size := tt.slot
			if size == 0 {
				size = packet.SlotSize(65535)
			}
			b := packet.NewBatch(len(tt.pkts)+2, size)
			fill(b, tt.pkts...)
			if err := Coalesce(b, opts); err != nil {
				t.Fatal(err)
			}
			hs, ps := written(t, b)
			var got []int
			out := newBatch(128, 65535)
			for i := range ps {
				n, err := Split(out, hs[i], ps[i], 65535)
				if err != nil {
					t.Fatalf("packet %d (%+v): re-split: %v", i, hs[i], err)
				}
				got = append(got, n)
				if hs[i] == (VirtioNetHdr{}) {
					if n != 1 {
						t.Fatalf("packet %d: zero header, %d segments", i, n)
					}
					continue
				}
				if i < len(tt.gso) && hs[i].GSOType != tt.gso[i] {
					t.Errorf("packet %d: GSO type %d, want %d", i, hs[i].GSOType, tt.gso[i])
				}
				// NEEDS_CSUM: the field holds the pseudo-header sum.
				if err := checkPartial(ps[i], hs[i]); err != nil {
					t.Errorf("packet %d: %v", i, err)
				}
			}
			if !equalInts(got, tt.want) {
				t.Fatalf("segments per packet %v, want %v", got, tt.want)
			}
			if out.N != len(tt.pkts) {
				t.Fatalf("%d packets re-split, want %d", out.N, len(tt.pkts))
			}
			if tt.check != nil {
				tt.check(t, ps)
			}
			// Nothing lost: N + spare = capacity, all buffers distinct.
			seen := map[*packet.Slot]bool{}
			for _, s := range b.Slots {
				seen[s] = true
			}
			if len(seen) != b.Cap() {
				t.Fatal("a slot was lost or duplicated")
			}
		})
	}
}

// checkPartial verifies a super-packet as the kernel wants it: lengths
// right, IPv4 checksum valid, and the L4 checksum field holding the folded
// pseudo-header sum, so that completing it gives a valid checksum.
func checkPartial(p []byte, h VirtioNetHdr) error {
	if h.Flags != FlagNeedsCsum {
		return errors.New("flags")
	}
	c := bytes.Clone(p)
	at := int(h.CsumStart) + int(h.CsumOffset)
	binary.BigEndian.PutUint16(c[at:], ^Fold(Checksum(c[h.CsumStart:], 0)))
	if err := checkPacket(c); err != nil {
		return err
	}
	if int(h.HdrLen) != len(p)-len(l4Payload(p)) {
		return errors.New("hdr_len")
	}
	if len(l4Payload(p)) <= int(h.GSOSize) {
		return errors.New("a GSO packet of one segment")
	}
	return nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCoalesceHeadroom(t *testing.T) {
	b := newBatch(4, 1500)
	fill(b, build(spec{payload: payloadBytes(0, 10)}), build(spec{seq: 10, payload: payloadBytes(10, 10)}))
	b.Slots[1].SetBounds(5, b.Slots[1].Len())
	before := bytes.Clone(b.Slots[0].Data())
	if err := Coalesce(b, allOn); !errors.Is(err, ErrNoRoom) {
		t.Fatalf("Coalesce = %v, want ErrNoRoom", err)
	}
	if b.N != 2 || !bytes.Equal(b.Slots[0].Data(), before) {
		t.Fatal("batch changed on error")
	}
}

// TestCoalesceWindows: a batch larger than packet.MaxBatch is coalesced
// in windows; flows do not cross them, nothing is lost.
func TestCoalesceWindows(t *testing.T) {
	segs := tcpStream(spec{}, 200, 100)
	b := newBatch(200, 65535)
	fill(b, segs...)
	if err := Coalesce(b, allOn); err != nil {
		t.Fatal(err)
	}
	hs, ps := written(t, b)
	if len(ps) != 2 {
		t.Fatalf("%d packets, want 2", len(ps))
	}
	out := newBatch(256, 1500)
	for i := range ps {
		if _, err := Split(out, hs[i], ps[i], 1500); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range out.Packets() {
		if !bytes.Equal(s.Data(), segs[i]) {
			t.Fatalf("segment %d differs", i)
		}
	}
}

func TestCoalesceAllocs(t *testing.T) {
	segs := tcpStream(spec{}, 44, 1460)
	b := newBatch(64, 65535)
	allocs := testing.AllocsPerRun(20, func() {
		b.Reset()
		fill(b, segs...)
		if err := Coalesce(b, allOn); err != nil || b.N != 1 {
			t.Fatal(err, b.N)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per Coalesce", allocs)
	}
}
