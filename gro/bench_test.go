package gro

import (
	"testing"

	"github.com/wgxdp/wgxdp/packet"
)

// BenchmarkSplit splits the kernel's 64900-byte TSO read into 47 segments
// of MSS 1380; bytes/s counts the super-packet.
func BenchmarkSplit(b *testing.B) {
	for _, tc := range []struct {
		name string
		s    spec
		gso  int
	}{
		{"tcp4", spec{payload: payloadBytes(0, 64860)}, 1380},
		{"udp6", spec{udp: true, v6: true, payload: payloadBytes(0, 63000)}, 1372},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h, p := superPacket(tc.s, tc.gso)
			out := newBatch(64, 1420)
			b.SetBytes(int64(len(p)))
			b.ReportAllocs()
			for b.Loop() {
				out.N = 0
				if _, err := Split(out, h, p, 1420); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCoalesce merges 44 TCP segments of 1460 bytes of payload into
// one 64280-byte super-packet; bytes/s counts the segments. Between
// iterations the batch is put back as it was (the slots keep their bytes:
// only the head's header and offsets change), which costs little next to
// the merge.
func BenchmarkCoalesce(b *testing.B) {
	for _, v6 := range []bool{false, true} {
		name := "tcp4"
		if v6 {
			name = "tcp6"
		}
		b.Run(name, func(b *testing.B) {
			n := 44
			if v6 {
				n = 43 // 20 more bytes of IP header
			}
			segs := tcpStream(spec{v6: v6}, n, 1460)
			batch := newBatch(64, 65535)
			fill(batch, segs...)
			orig := append([]*packet.Slot(nil), batch.Slots...)
			hdr := len(segs[0]) - 1460
			restore := func() {
				copy(batch.Slots, orig)
				for i, s := range batch.Slots[:n] {
					s.SetBounds(packet.Headroom, len(segs[i]))
				}
				copy(batch.Slots[0].Data()[:hdr], segs[0][:hdr])
				batch.N = n
			}
			b.SetBytes(int64(n * len(segs[0])))
			b.ReportAllocs()
			for b.Loop() {
				restore()
				if err := Coalesce(batch, allOn); err != nil || batch.N != 1 {
					b.Fatal(err, batch.N)
				}
			}
		})
	}
}
