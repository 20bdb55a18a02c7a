package gro

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/wgxdp/wgxdp/packet"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed corpus in testdata/fuzz")

// fuzzing reports whether this run is fuzzing (-test.fuzz), not only
// running the seeds.
func fuzzing() bool {
	f := flag.Lookup("test.fuzz")
	return f != nil && f.Value.String() != ""
}

// splitSeeds are FuzzSplit's seeds: (header fields, packet, mtu).
func splitSeeds() []struct {
	h   VirtioNetHdr
	p   []byte
	mtu uint16
} {
	type seed = struct {
		h   VirtioNetHdr
		p   []byte
		mtu uint16
	}
	var seeds []seed
	add := func(h VirtioNetHdr, p []byte, mtu uint16) { seeds = append(seeds, seed{h, p, mtu}) }
	tsOpt := []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}
	for _, s := range []spec{
		{payload: payloadBytes(0, 400), flags: tcpACK | tcpPSH},
		{v6: true, payload: payloadBytes(0, 300), flags: tcpACK | tcpCWR | tcpFIN},
		{opts: tsOpt, payload: payloadBytes(0, 200)},
		{udp: true, payload: payloadBytes(0, 250)},
		{udp: true, v6: true, payload: payloadBytes(0, 240)},
	} {
		// Small, so the fuzzer's minimizer does not spend the run on them.
		h, p := superPacket(s, 50)
		add(h, p, 1420)
	}
	p := build(spec{partial: true, payload: payloadBytes(0, 30)})
	add(VirtioNetHdr{Flags: FlagNeedsCsum, CsumStart: 20, CsumOffset: 16}, p, 1420)
	p = build(spec{udp: true, v6: true, partial: true, payload: payloadBytes(0, 33)})
	add(VirtioNetHdr{Flags: FlagNeedsCsum, CsumStart: 40, CsumOffset: 6}, p, 1280)
	add(VirtioNetHdr{}, []byte{0x45}, 1420)
	return seeds
}

func FuzzSplit(f *testing.F) {
	for _, s := range splitSeeds() {
		f.Add(s.h.Flags, s.h.GSOType, s.h.HdrLen, s.h.GSOSize, s.h.CsumStart, s.h.CsumOffset, s.p, s.mtu)
	}
	if !fuzzing() {
		// The kernel's 64900-byte read: too big for a corpus file, and
		// slow to minimize when fuzzing.
		h, p := superPacket(spec{payload: payloadBytes(0, 64860)}, 1380)
		f.Add(h.Flags, h.GSOType, h.HdrLen, h.GSOSize, h.CsumStart, h.CsumOffset, p, uint16(1420))
	}

	out := newBatch(96, 65535)
	f.Fuzz(func(t *testing.T, flags, gsoType uint8, hdrLen, gsoSize, csumStart, csumOffset uint16, pkt []byte, mtu16 uint16) {
		h := VirtioNetHdr{flags, gsoType, hdrLen, gsoSize, csumStart, csumOffset}
		mtu := int(mtu16)
		orig := bytes.Clone(pkt)
		const n0 = 2
		out.N = n0
		n, err := Split(out, h, pkt, mtu)
		if !bytes.Equal(pkt, orig) {
			t.Fatal("input modified")
		}
		if err != nil {
			if n != 0 || out.N != n0 {
				t.Fatalf("error %v with %d segments, N=%d", err, n, out.N)
			}
			return
		}
		if n < 1 || out.N != n0+n {
			t.Fatalf("Split = %d, N=%d", n, out.N)
		}
		segs := out.Slots[n0:out.N]
		for i, s := range segs {
			if s.Len() > mtu || s.Offset() != packet.Headroom || s.Tailroom() < packet.Tailroom {
				t.Fatalf("seg %d: %d bytes at %d (mtu %d)", i, s.Len(), s.Offset(), mtu)
			}
		}
		if gsoType == GSONone {
			if n != 1 {
				t.Fatalf("GSONone: %d segments", n)
			}
			d := segs[0].Data()
			if flags&FlagNeedsCsum == 0 {
				if !bytes.Equal(d, pkt) {
					t.Fatal("GSONone without NEEDS_CSUM: packet changed")
				}
				return
			}
			at := int(csumStart) + int(csumOffset)
			if !bytes.Equal(d[:at], pkt[:at]) || !bytes.Equal(d[at+2:], pkt[at+2:]) {
				t.Fatal("NEEDS_CSUM: bytes other than the checksum changed")
			}
			partial := uint64(binary.BigEndian.Uint16(pkt[at:]))
			if Fold(Checksum(d[csumStart:], partial)) != 0xffff && Fold(Checksum(d[csumStart:], partial)) != 0 {
				t.Fatal("NEEDS_CSUM: checksum not completed")
			}
			return
		}
		// A GSO split: every segment a valid packet, the payloads in
		// order, headers as the input's but for lengths, ID, checksums,
		// sequence numbers and the flags that go on the first or last.
		hdrL := len(pkt) - len(l4Payload(pkt))
		var payload []byte
		for i, s := range segs {
			d := s.Data()
			if err := checkPacket(d); err != nil {
				t.Fatalf("seg %d: %v", i, err)
			}
			if len(d)-len(l4Payload(d)) != hdrL {
				t.Fatalf("seg %d: header length %d, want %d", i, len(d)-len(l4Payload(d)), hdrL)
			}
			if i < n-1 && len(l4Payload(d)) != int(gsoSize) {
				t.Fatalf("seg %d: payload %d, gso_size %d", i, len(l4Payload(d)), gsoSize)
			}
			payload = append(payload, l4Payload(d)...)
		}
		if !bytes.Equal(payload, l4Payload(pkt)) {
			t.Fatal("payload differs")
		}
	})
}

// coalesceFlows are the flows FuzzCoalesce builds packets for.
var coalesceFlows = [4]spec{
	{seq: 0xfffff000, ack: 1},
	{v6: true, seq: 7, ack: 1, opts: []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}},
	{udp: true},
	{udp: true, v6: true},
}

// coalesceBatch builds FuzzCoalesce's batch from data, a little program:
// the first byte picks the options; then pairs (op, arg) append a packet
// of a flow (with flags, sizes, gaps chosen by arg), append raw bytes, or
// flip a byte of the previous packet.
func coalesceBatch(b *packet.Batch, data []byte) (Options, [][]byte) {
	var opts Options
	if len(data) > 0 {
		opts = Options{TCP: data[0]&1 == 0, UDP: data[0]&2 == 0, MaxSize: []int{0, 3000, 65535, 20000}[data[0]>>2&3]}
		data = data[1:]
	}
	var state [4]struct {
		seq, ack uint32
		id       uint16
		tos      uint8
	}
	for i := range state {
		state[i].seq, state[i].ack = coalesceFlows[i].seq, coalesceFlows[i].ack
	}
	var pkts [][]byte
	sizes := [8]int{1460, 1460, 1460, 100, 1, 0, 1200, 700}
	for len(data) >= 2 && len(pkts) < b.Cap() {
		op, arg := data[0], data[1]
		data = data[2:]
		switch op & 7 {
		case 0: // raw bytes
			n := min(int(arg), len(data))
			pkts = append(pkts, bytes.Clone(data[:n]))
			data = data[n:]
		case 1: // corrupt the previous packet
			if len(pkts) > 0 && len(data) > 0 {
				p := pkts[len(pkts)-1]
				if len(p) > 0 {
					p[int(arg)%len(p)] ^= data[0] | 1
				}
				data = data[1:]
			}
		default:
			fi := int(op>>3) & 3
			st := &state[fi]
			s := coalesceFlows[fi]
			if arg&0x10 != 0 {
				st.seq += 1 // a gap
			}
			if arg&0x80 != 0 {
				st.ack++
			}
			if op&0x20 != 0 {
				st.tos ^= 4
			}
			s.seq, s.ack, s.id, s.tos = st.seq, st.ack, st.id, st.tos
			s.flags = tcpACK
			if arg&0x08 != 0 {
				s.flags |= tcpPSH
			}
			if arg&0x20 != 0 {
				s.flags |= tcpCWR
			}
			if arg&0x40 != 0 {
				s.flags |= tcpFIN
			}
			if op&0x40 != 0 && op&0x80 != 0 {
				s.flags |= tcpSYN
			}
			n := sizes[arg&7]
			s.payload = payloadBytes(int(st.seq), n)
			pkts = append(pkts, build(s))
			st.seq += uint32(n)
			st.id++
		}
	}
	b.Reset()
	for _, p := range pkts {
		s := b.Next()
		s.Set(p) // slots hold at least 2 KiB: every packet here fits
		b.Commit()
	}
	return opts, pkts
}

func coalesceSeeds() [][]byte {
	flowRun := func(fi byte, n int, arg byte) []byte {
		b := []byte{}
		for range n {
			b = append(b, 2|fi<<3, arg)
		}
		return b
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	return [][]byte{
		cat([]byte{0}, flowRun(0, 44, 0)),
		cat([]byte{0}, flowRun(0, 10, 0), flowRun(1, 10, 1), flowRun(0, 5, 3), flowRun(2, 20, 6), flowRun(3, 5, 6)),
		cat([]byte{0}, flowRun(0, 3, 0), []byte{2, 0x08}, flowRun(0, 3, 0), []byte{2, 0x10}, flowRun(1, 2, 0x20), flowRun(1, 2, 0x40)),
		cat([]byte{4}, flowRun(2, 70, 4), []byte{0, 3, 0x45, 0, 1}, flowRun(0, 3, 0), []byte{1, 30, 0xff}, flowRun(0, 3, 0)),
		cat([]byte{3}, flowRun(0, 5, 0)),
		cat([]byte{0}, flowRun(0, 140, 3)),
	}
}

func FuzzCoalesce(f *testing.F) {
	for _, s := range coalesceSeeds() {
		f.Add(s)
	}
	// Most slots can hold a 64 KiB super-packet; every third cannot grow.
	b := packet.NewBatch(140, packet.SlotSize(65535))
	for i := range b.Slots {
		if i%3 == 2 {
			b.Slots[i] = packet.NewSlot(packet.SlotSize(1500) + 600)
		}
	}
	out := newBatch(160, 2048)
	f.Fuzz(func(t *testing.T, data []byte) {
		opts, in := coalesceBatch(b, data)
		if err := Coalesce(b, opts); err != nil {
			t.Fatal(err)
		}
		if b.N > len(in) {
			t.Fatalf("%d packets out of %d", b.N, len(in))
		}
		seen := map[*packet.Slot]bool{}
		for _, s := range b.Slots {
			seen[s] = true
		}
		if len(seen) != b.Cap() {
			t.Fatal("a slot was lost or duplicated")
		}
		// Split everything back, as the kernel segments what we write.
		out.N = 0
		for i, s := range b.Packets() {
			var h VirtioNetHdr
			if err := h.Decode(s.Data()); err != nil {
				t.Fatalf("packet %d: no header", i)
			}
			p := s.Data()[VirtioNetHdrLen:]
			n0 := out.N
			if _, err := Split(out, h, p, 65535); err != nil {
				t.Fatalf("packet %d (%+v): re-split: %v", i, h, err)
			}
			if h != (VirtioNetHdr{}) {
				if err := checkPartial(p, h); err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				for j, seg := range out.Slots[n0:out.N] {
					if err := checkPacket(seg.Data()); err != nil {
						t.Fatalf("packet %d seg %d: %v", i, j, err)
					}
				}
			}
		}
		if out.N != len(in) {
			t.Fatalf("%d packets in, %d after re-split", len(in), out.N)
		}
		// Per flow, the packets come back in order and unchanged, but for
		// the IPv4 ID and the checksums that segmentation rewrites.
		var tb table
		tb.opts = opts
		tb.maxSize = maxIPLen
		group := func(p []byte) flowKey {
			var pi pktInfo
			tb.parse(p, &pi)
			if !pi.hasKey {
				return flowKey{proto: 255}
			}
			return pi.key
		}
		want := map[flowKey][][]byte{}
		for _, p := range in {
			k := group(p)
			want[k] = append(want[k], p)
		}
		got := map[flowKey][][]byte{}
		for _, s := range out.Packets() {
			k := group(s.Data())
			got[k] = append(got[k], s.Data())
		}
		for k, w := range want {
			g := got[k]
			if len(g) != len(w) {
				t.Fatalf("flow %v: %d packets back, want %d", k, len(g), len(w))
			}
			for i := range w {
				if !sameButRewritten(g[i], w[i]) {
					t.Fatalf("flow %v packet %d:\n got % x\nwant % x", k, i, g[i], w[i])
				}
			}
		}
	})
}

// sameButRewritten compares two packets ignoring the IPv4 ID and header
// checksum and the TCP/UDP checksum.
func sameButRewritten(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	if bytes.Equal(a, b) {
		return true
	}
	a, b = bytes.Clone(a), bytes.Clone(b)
	var pi pktInfo
	t := table{opts: allOn, maxSize: maxIPLen}
	t.parse(a, &pi)
	if !pi.cand {
		return false // only merged packets are rewritten, and those are candidates
	}
	for _, p := range [][]byte{a, b} {
		if !pi.key.v6 {
			p[4], p[5], p[10], p[11] = 0, 0, 0, 0
		}
		at := pi.iphLen + tcpCsumOff
		if pi.key.proto == protoUDP {
			at = pi.iphLen + udpCsumOff
		}
		p[at], p[at+1] = 0, 0
	}
	return bytes.Equal(a, b)
}

// TestWriteFuzzCorpus regenerates testdata/fuzz from the seeds above
// (go test -run WriteFuzzCorpus -update-corpus).
func TestWriteFuzzCorpus(t *testing.T) {
	if !*updateCorpus {
		t.Skip("run with -update-corpus to rewrite testdata/fuzz")
	}
	write := func(target string, i int, args ...any) {
		var buf bytes.Buffer
		buf.WriteString("go test fuzz v1\n")
		for _, a := range args {
			switch v := a.(type) {
			case []byte:
				fmt.Fprintf(&buf, "[]byte(%q)\n", v)
			case uint8:
				fmt.Fprintf(&buf, "byte(%q)\n", v)
			case uint16:
				fmt.Fprintf(&buf, "uint16(%d)\n", v)
			case uint64:
				fmt.Fprintf(&buf, "uint64(%d)\n", v)
			}
		}
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range splitSeeds() {
		write("FuzzSplit", i, s.h.Flags, s.h.GSOType, s.h.HdrLen, s.h.GSOSize, s.h.CsumStart, s.h.CsumOffset, s.p, s.mtu)
	}
	for i, s := range coalesceSeeds() {
		write("FuzzCoalesce", i, s)
	}
	write("FuzzChecksum", 0, payloadBytes(0, 1500), uint64(0xffffffffffffffff))
	write("FuzzChecksum", 1, []byte{0xff, 0xff, 0xff}, uint64(0xfffe))
}
