package conn

import (
	"bytes"
	"testing"

	"github.com/wgxdp/wgxdp/packet"
)

// roundTrip cuts datagrams of the given sizes into GSO runs as Send does,
// concatenates each run as the kernel does, and splits it again as a GRO
// receiver does; it fails t unless the same datagrams come back and every
// run obeys the kernel's limits.
func roundTrip(t *testing.T, sizes []int, maxPayload int) {
	t.Helper()
	pkts := make([]*packet.Slot, len(sizes))
	for i, n := range sizes {
		pkts[i] = packet.NewSlot(packet.Headroom + n + packet.Tailroom)
		pkts[i].Set(payload(i, n))
	}
	next := 0
	for i := 0; i < len(pkts); {
		count, seg := gsoRun(pkts[i:], maxPayload)
		if count < 1 || count > len(pkts)-i || count > maxGSOSegments {
			t.Fatalf("run at %d: %d datagrams", i, count)
		}
		var wire []byte
		for _, p := range pkts[i : i+count] {
			wire = append(wire, p.Data()...)
		}
		if count > 1 && len(wire) > maxPayload {
			t.Fatalf("run at %d: %d bytes > %d", i, len(wire), maxPayload)
		}
		if count == 1 {
			seg = 0 // sent without UDP_SEGMENT; received without UDP_GRO
		}
		if len(wire) == 0 {
			if sizes[next] != 0 {
				t.Fatalf("empty datagram for %d", next)
			}
			next++
		}
		for off := 0; off < len(wire); {
			end := nextSegment(off, len(wire), seg)
			if end <= off {
				t.Fatalf("segment at %d of %d (seg %d) does not advance", off, len(wire), seg)
			}
			if !bytes.Equal(wire[off:end], payload(next, sizes[next])) {
				t.Fatalf("datagram %d: got %d bytes, want %d", next, end-off, sizes[next])
			}
			next++
			off = end
		}
		i += count
	}
	if next != len(sizes) {
		t.Fatalf("%d datagrams came back, want %d", next, len(sizes))
	}
}

func TestGSORoundTrip(t *testing.T) {
	for _, sizes := range [][]int{
		sizes64(),
		mixedSizes(),
		{0},
		{0, 0, 5},
		{5, 0, 5},
		{1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452},
	} {
		roundTrip(t, sizes, maxIPv4Payload)
		roundTrip(t, sizes, maxIPv6Payload)
		roundTrip(t, sizes, 3000)
	}
}

// FuzzGSORoundTrip feeds datagram sizes (two bytes each) to roundTrip.
func FuzzGSORoundTrip(f *testing.F) {
	f.Add([]byte{0x05, 0xac, 0x05, 0xac, 0x00, 0x64}, uint16(0))
	f.Add([]byte{0, 0, 0, 1, 0, 1, 0, 0}, uint16(100))
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		var sizes []int
		for i := 0; i+1 < len(data) && len(sizes) < packet.MaxBatch; i += 2 {
			sizes = append(sizes, (int(data[i])<<8|int(data[i+1]))%9000)
		}
		maxPayload := maxIPv4Payload
		if limit > 0 {
			maxPayload = int(limit)
		}
		roundTrip(t, sizes, maxPayload)
	})
}
