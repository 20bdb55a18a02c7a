package gro

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/wgxdp/wgxdp/packet"
)

func TestVirtioNetHdr(t *testing.T) {
	// The header the kernel gave for a TCPv4 TSO read (PLATFORM.md §2).
	h := VirtioNetHdr{Flags: FlagNeedsCsum, GSOType: GSOTCPv4, HdrLen: 40, GSOSize: 1380, CsumStart: 20, CsumOffset: 16}
	want := []byte{0x01, 0x01, 40, 0, 0x64, 0x05, 20, 0, 16, 0}
	b := make([]byte, VirtioNetHdrLen)
	if err := h.Encode(b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("Encode = % x, want % x", b, want)
	}
	var g VirtioNetHdr
	if err := g.Decode(b); err != nil || g != h {
		t.Fatalf("Decode = %+v, %v; want %+v", g, err, h)
	}
	if h.Encode(b[:9]) == nil || g.Decode(b[:9]) == nil {
		t.Fatal("short buffer accepted")
	}
	// The constants the tun package hands to TUNSETOFFLOAD (measured).
	if OffloadsTCP|OffloadsUDP != 0x6f || TunFUFO != 0x10 || GSOUDPL4 != 5 || GSOECN != 0x80 {
		t.Fatal("offload constants changed")
	}
}

// TestSplitKernelTSO splits the TCPv4 super-packet the kernel actually
// produced on these machines: 64900 bytes, MSS 1380 (PLATFORM.md §2).
func TestSplitKernelTSO(t *testing.T) {
	const mss, total = 1380, 64900
	s := spec{seq: 0xfffff000, ack: 77, id: 0xfffe, flags: tcpACK | tcpPSH, payload: payloadBytes(0, total-40)}
	h, pkt := superPacket(s, mss)
	if h != (VirtioNetHdr{Flags: 1, GSOType: 1, HdrLen: 40, GSOSize: 1380, CsumStart: 20, CsumOffset: 16}) || len(pkt) != total {
		t.Fatalf("test packet: %+v, %d bytes", h, len(pkt))
	}
	orig := bytes.Clone(pkt)
	frame := append(make([]byte, VirtioNetHdrLen), pkt...)
	h.Encode(frame)

	out := newBatch(64, 1420)
	out.N = 3 // Split appends after what is there
	n, err := SplitRead(out, frame, 1420)
	if err != nil || n != 47 || out.N != 50 {
		t.Fatalf("SplitRead = %d, %v (N=%d); want 47 segments", n, err, out.N)
	}
	if !bytes.Equal(pkt, orig) {
		t.Fatal("input modified")
	}
	var payload []byte
	for i, sl := range out.Slots[3:out.N] {
		p := sl.Data()
		if sl.Offset() != packet.Headroom || sl.Tailroom() < packet.Tailroom {
			t.Fatalf("seg %d: offset %d tailroom %d", i, sl.Offset(), sl.Tailroom())
		}
		if len(p) != 1420 {
			t.Fatalf("seg %d: %d bytes, want 1420", i, len(p))
		}
		if err := checkPacket(p); err != nil {
			t.Fatalf("seg %d: %v", i, err)
		}
		if id := binary.BigEndian.Uint16(p[4:]); id != uint16(0xfffe+i) {
			t.Fatalf("seg %d: IP ID %#x", i, id)
		}
		if seq := binary.BigEndian.Uint32(p[24:]); seq != 0xfffff000+uint32(i*mss) {
			t.Fatalf("seg %d: seq %#x", i, seq)
		}
		wantFlags := uint8(tcpACK)
		if i == 46 {
			wantFlags |= tcpPSH
		}
		if p[33] != wantFlags {
			t.Fatalf("seg %d: flags %#x, want %#x", i, p[33], wantFlags)
		}
		if binary.BigEndian.Uint32(p[28:]) != 77 || binary.BigEndian.Uint16(p[34:]) != 502 {
			t.Fatalf("seg %d: ack/window changed", i)
		}
		payload = append(payload, l4Payload(p)...)
	}
	if !bytes.Equal(payload, orig[40:]) {
		t.Fatal("payload differs")
	}
}

func TestSplit(t *testing.T) {
	tsOpt := []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2} // NOP NOP timestamps
	tests := []struct {
		name    string
		s       spec
		gso     int
		mtu     int
		segs    []int // payload length of each segment
		flags   []uint8
		noneHdr *VirtioNetHdr // GSONone: use this header and s as built (partial for NEEDS_CSUM)
	}{
		{name: "tcp6", s: spec{v6: true, payload: payloadBytes(0, 3000)}, gso: 1000, mtu: 1420, segs: []int{1000, 1000, 1000}},
		{name: "tcp4 short last", s: spec{payload: payloadBytes(0, 2500)}, gso: 1000, mtu: 1420, segs: []int{1000, 1000, 500}},
		{name: "tcp4 options", s: spec{opts: tsOpt, payload: payloadBytes(0, 2736)}, gso: 1368, mtu: 1420, segs: []int{1368, 1368}},
		{name: "tcp4 FIN PSH last only", s: spec{flags: tcpACK | tcpPSH | tcpFIN, payload: payloadBytes(0, 300)}, gso: 100, mtu: 1420,
			segs: []int{100, 100, 100}, flags: []uint8{tcpACK, tcpACK, tcpACK | tcpPSH | tcpFIN}},
		{name: "tcp6 CWR first only", s: spec{v6: true, flags: tcpACK | tcpCWR | tcpECE, payload: payloadBytes(0, 300)}, gso: 100, mtu: 1420,
			segs: []int{100, 100, 100}, flags: []uint8{tcpACK | tcpCWR | tcpECE, tcpACK | tcpECE, tcpACK | tcpECE}},
		{name: "tcp4 one segment", s: spec{payload: payloadBytes(0, 500)}, gso: 1380, mtu: 1420, segs: []int{500}},
		{name: "tcp4 headers only", s: spec{}, gso: 1380, mtu: 1420, segs: []int{0}},
		{name: "udp4", s: spec{udp: true, payload: payloadBytes(0, 8000)}, gso: 1000, mtu: 1420, segs: []int{1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000}},
		{name: "udp6 short last", s: spec{udp: true, v6: true, payload: payloadBytes(0, 2500)}, gso: 1200, mtu: 1280, segs: []int{1200, 1200, 100}},
		{name: "mtu exact", s: spec{payload: payloadBytes(0, 2760)}, gso: 1380, mtu: 1420, segs: []int{1380, 1380}},
		{name: "none NEEDS_CSUM tcp4", s: spec{payload: payloadBytes(0, 999)}, mtu: 1420, segs: []int{999},
			noneHdr: &VirtioNetHdr{Flags: FlagNeedsCsum, CsumStart: 20, CsumOffset: 16}},
		{name: "none NEEDS_CSUM udp6", s: spec{v6: true, udp: true, payload: payloadBytes(0, 1)}, mtu: 1420, segs: []int{1},
			noneHdr: &VirtioNetHdr{Flags: FlagNeedsCsum, CsumStart: 40, CsumOffset: 6}},
		{name: "none plain", s: spec{payload: payloadBytes(0, 1380)}, mtu: 1420, segs: []int{1380}, noneHdr: &VirtioNetHdr{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h VirtioNetHdr
			var pkt []byte
			if tt.noneHdr != nil {
				s := tt.s
				s.partial = tt.noneHdr.Flags&FlagNeedsCsum != 0
				h, pkt = *tt.noneHdr, build(s)
			} else {
				h, pkt = superPacket(tt.s, tt.gso)
			}
			orig := bytes.Clone(pkt)
			out := newBatch(16, tt.mtu)
			n, err := Split(out, h, pkt, tt.mtu)
			if err != nil || n != len(tt.segs) || out.N != n {
				t.Fatalf("Split = %d, %v; want %d segments", n, err, len(tt.segs))
			}
			if !bytes.Equal(pkt, orig) {
				t.Fatal("input modified")
			}
			var payload []byte
			for i, sl := range out.Packets() {
				p := sl.Data()
				if err := checkPacket(p); err != nil {
					t.Fatalf("seg %d: %v", i, err)
				}
				if len(p) > tt.mtu || sl.Offset() != packet.Headroom {
					t.Fatalf("seg %d: %d bytes at %d", i, len(p), sl.Offset())
				}
				pl := l4Payload(p)
				if len(pl) != tt.segs[i] {
					t.Fatalf("seg %d: payload %d, want %d", i, len(pl), tt.segs[i])
				}
				payload = append(payload, pl...)
				if tt.flags != nil {
					iph := ipv4HdrLen
					if p[0]>>4 == 6 {
						iph = ipv6HdrLen
					}
					if p[iph+13] != tt.flags[i] {
						t.Fatalf("seg %d: flags %#x, want %#x", i, p[iph+13], tt.flags[i])
					}
				}
			}
			if !bytes.Equal(payload, l4Payload(orig)) {
				t.Fatal("payload differs")
			}
		})
	}
}

func TestSplitErrors(t *testing.T) {
	good := func() (VirtioNetHdr, []byte) {
		return superPacket(spec{payload: payloadBytes(0, 4000)}, 1000)
	}
	tests := []struct {
		name  string
		mod   func(h *VirtioNetHdr, p []byte) []byte
		mtu   int
		slots int
		size  int // slot size; 0: packet.SlotSize(mtu)
		want  error
	}{
		{name: "empty", mod: func(h *VirtioNetHdr, p []byte) []byte { return nil }, want: ErrMalformed},
		{name: "version 5", mod: func(h *VirtioNetHdr, p []byte) []byte { p[0] = 0x55; return p }, want: ErrMalformed},
		{name: "IHL 4", mod: func(h *VirtioNetHdr, p []byte) []byte { p[0] = 0x44; return p }, want: ErrMalformed},
		{name: "IHL 15 truncated", mod: func(h *VirtioNetHdr, p []byte) []byte { p[0] = 0x4f; return p[:50] }, want: ErrMalformed},
		{name: "total length", mod: func(h *VirtioNetHdr, p []byte) []byte { return p[:len(p)-1] }, want: ErrMalformed},
		{name: "fragment", mod: func(h *VirtioNetHdr, p []byte) []byte { p[6] |= 0x20; return p }, want: ErrMalformed},
		{name: "TCPv6 on IPv4", mod: func(h *VirtioNetHdr, p []byte) []byte { h.GSOType = GSOTCPv6; return p }, want: ErrMalformed},
		{name: "UDP_L4 on TCP", mod: func(h *VirtioNetHdr, p []byte) []byte { h.GSOType = GSOUDPL4; return p }, want: ErrMalformed},
		{name: "UFO", mod: func(h *VirtioNetHdr, p []byte) []byte { h.GSOType = GSOUDP; return p }, want: ErrUnsupported},
		{name: "unknown type", mod: func(h *VirtioNetHdr, p []byte) []byte { h.GSOType = 2; return p }, want: ErrUnsupported},
		{name: "ECN alone", mod: func(h *VirtioNetHdr, p []byte) []byte { h.GSOType = GSOECN; return p }, want: ErrUnsupported},
		{name: "csum start", mod: func(h *VirtioNetHdr, p []byte) []byte { h.CsumStart = 0; return p }, want: ErrMalformed},
		{name: "csum offset", mod: func(h *VirtioNetHdr, p []byte) []byte { h.CsumOffset = 6; return p }, want: ErrMalformed},
		{name: "TCP doff 4", mod: func(h *VirtioNetHdr, p []byte) []byte { p[32] = 4 << 4; return p }, want: ErrMalformed},
		{name: "TCP doff past end", mod: func(h *VirtioNetHdr, p []byte) []byte {
			p[32] = 15 << 4
			p = p[:70]
			binary.BigEndian.PutUint16(p[2:], 70)
			return p
		}, want: ErrMalformed},
		{name: "gso 0", mod: func(h *VirtioNetHdr, p []byte) []byte { h.GSOSize = 0; return p }, want: ErrMalformed},
		{name: "over mtu", mod: func(h *VirtioNetHdr, p []byte) []byte { h.GSOSize = 1381; return p }, want: ErrTooBig},
		{name: "none over mtu", mod: func(h *VirtioNetHdr, p []byte) []byte { *h = VirtioNetHdr{}; return p }, want: ErrTooBig},
		{name: "none csum outside", mod: func(h *VirtioNetHdr, p []byte) []byte {
			*h = VirtioNetHdr{Flags: FlagNeedsCsum, CsumStart: 1400, CsumOffset: 16}
			return p[:1410]
		}, want: ErrMalformed},
		{name: "too many segments", slots: 3, want: ErrNoRoom},
		{name: "none no slot", mod: func(h *VirtioNetHdr, p []byte) []byte { *h = VirtioNetHdr{}; return p[:100] }, slots: -1, want: ErrNoRoom},
		{name: "small slots", size: packet.Headroom + 1000, want: ErrNoRoom},
		{name: "ext header", mod: func(h *VirtioNetHdr, p []byte) []byte {
			h2, p2 := superPacket(spec{v6: true, payload: payloadBytes(0, 100)}, 50)
			*h = h2
			p2[6] = 0 // hop-by-hop
			return p2
		}, want: ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, p := good()
			if tt.mod != nil {
				p = tt.mod(&h, p)
			}
			mtu := tt.mtu
			if mtu == 0 {
				mtu = 1420
			}
			size := tt.size
			if size == 0 {
				size = packet.SlotSize(mtu)
			}
			slots := tt.slots
			if slots == 0 {
				slots = 16
			}
			out := packet.NewBatch(max(slots, 1), size)
			if slots < 0 {
				out.N = 1 // full
			}
			n0 := out.N
			n, err := Split(out, h, p, mtu)
			if !errors.Is(err, tt.want) || n != 0 || out.N != n0 {
				t.Fatalf("Split = %d, %v (N %d→%d); want %v", n, err, n0, out.N, tt.want)
			}
		})
	}
	if _, err := SplitRead(newBatch(1, 1420), make([]byte, 9), 1420); !errors.Is(err, ErrMalformed) {
		t.Fatalf("SplitRead short: %v", err)
	}
}

func TestSplitAllocs(t *testing.T) {
	h, p := superPacket(spec{payload: payloadBytes(0, 64860)}, 1380)
	out := newBatch(64, 1420)
	allocs := testing.AllocsPerRun(20, func() {
		out.N = 0
		if _, err := Split(out, h, p, 1420); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per Split", allocs)
	}
}

func TestCompleteChecksum(t *testing.T) {
	for _, s := range []spec{
		{payload: payloadBytes(0, 101)},
		{udp: true, v6: true, payload: payloadBytes(0, 7)},
	} {
		want := build(s)
		s.partial = true
		p := build(s)
		iph, off := 20, uint16(tcpCsumOff)
		if s.v6 {
			iph = 40
		}
		if s.udp {
			off = udpCsumOff
		}
		h := VirtioNetHdr{Flags: FlagNeedsCsum, CsumStart: uint16(iph), CsumOffset: off}
		if err := CompleteChecksum(h, p); err != nil || !bytes.Equal(p, want) {
			t.Fatalf("CompleteChecksum: %v; packet valid: %v", err, checkPacket(p))
		}
		if err := CompleteChecksum(VirtioNetHdr{}, p[:3]); err != nil {
			t.Fatalf("no NEEDS_CSUM: %v", err)
		}
		h.CsumOffset++
		if err := CompleteChecksum(h, p); !errors.Is(err, ErrMalformed) {
			t.Fatalf("odd offset: %v", err)
		}
		h.CsumOffset = uint16(len(p) - iph - 1)
		if err := CompleteChecksum(h, p); !errors.Is(err, ErrMalformed) {
			t.Fatalf("offset past the end: %v", err)
		}
	}
}
