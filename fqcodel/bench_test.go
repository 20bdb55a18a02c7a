package fqcodel

import (
	"fmt"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/packet"
)

// benchQueue returns a queue of packet.Slots holding backlog packets
// spread over nflows flows, a pool of spare slots, and the slots' packet
// size. The fake clock stands still, so CoDel never drops and the figure
// is the scheduler's cost; the real one adds time.Now's.
func benchQueue(b *testing.B, mode Mode, nflows, backlog, size int, realClock bool) (*Queue[*packet.Slot], []*packet.Slot) {
	t := time.Now() // with a monotonic reading, as the real clock's
	now := func() time.Time { return t }
	if realClock {
		now = time.Now
	}
	var pool []*packet.Slot
	q, err := New(Config{Mode: mode}, now, (*packet.Slot).Data, func(s *packet.Slot) { pool = append(pool, s) })
	if err != nil {
		b.Fatal(err)
	}
	slots := make([]*packet.Slot, backlog+packet.MaxBatch)
	for i := range slots {
		s := packet.NewSlot(packet.SlotSize(1420))
		s.Set(buildIP(ipOpts{flow: i % nflows, size: size, ecn: ecnECT0}))
		slots[i] = s
	}
	for _, s := range slots[:backlog] {
		q.Enqueue(s)
	}
	return q, slots[backlog:]
}

// One enqueue and one dequeue per packet, at a steady backlog.
func BenchmarkEnqueueDequeue(b *testing.B) {
	for _, mode := range []Mode{ModeFQCoDel, ModeFIFO} {
		for _, nflows := range []int{1, 64, 1024} {
			if mode == ModeFIFO && nflows > 1 {
				continue
			}
			for _, clk := range []string{"fakeclock", "realclock"} {
				b.Run(fmt.Sprintf("%v/flows=%d/%s", mode, nflows, clk), func(b *testing.B) {
					q, spare := benchQueue(b, mode, nflows, 256, 1400, clk == "realclock")
					s := spare[0]
					b.SetBytes(int64(s.Len()))
					b.ReportAllocs()
					for b.Loop() {
						q.Enqueue(s)
						s, _ = q.Dequeue()
					}
					if st := q.Stats(); st.CoDelDroppedPackets+st.OverlimitDroppedPackets != 0 {
						b.Fatalf("drops: %+v", st)
					}
				})
			}
		}
	}
}

// A batch of 64 in, a batch of 64 out, one clock reading each: the way
// the dataplane uses it.
func BenchmarkBatch64(b *testing.B) {
	for _, mode := range []Mode{ModeFQCoDel, ModeFIFO} {
		b.Run(mode.String(), func(b *testing.B) {
			q, spare := benchQueue(b, mode, 64, 256, 1400, true)
			batch := spare[:64]
			b.SetBytes(int64(64 * batch[0].Len()))
			b.ReportAllocs()
			for b.Loop() {
				q.EnqueueBatch(batch)
				if q.DequeueBatch(batch) != len(batch) {
					b.Fatal("short batch")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*64), "ns/pkt")
		})
	}
}

// The flow hash alone.
func BenchmarkClassify(b *testing.B) {
	q, err := New(Config{}, nil, pktData, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, v6 := range []bool{false, true} {
		p := buildIP(ipOpts{v6: v6, proto: protoTCP, flow: 9, size: 1400})
		b.Run(map[bool]string{false: "ipv4", true: "ipv6"}[v6], func(b *testing.B) {
			b.ReportAllocs()
			var sink int32
			for b.Loop() {
				sink += q.classify(p)
			}
			_ = sink
		})
	}
}

// Overload: every enqueue exceeds the packet limit, so the fattest-flow
// scan and batch drop run about once per DropBatch/2 packets, and CoDel
// is dropping too.
func BenchmarkOverload(b *testing.B) {
	t := time.Now()
	var pool []*packet.Slot
	q, err := New(Config{PacketLimit: 1024}, func() time.Time { t = t.Add(50 * time.Microsecond); return t },
		(*packet.Slot).Data, func(s *packet.Slot) { pool = append(pool, s) })
	if err != nil {
		b.Fatal(err)
	}
	for i := range 2048 {
		s := packet.NewSlot(packet.SlotSize(1420))
		s.Set(buildIP(ipOpts{flow: i % 16, size: 1000}))
		pool = append(pool, s)
	}
	b.ReportAllocs()
	for b.Loop() {
		// Two in, one out.
		for range 2 {
			s := pool[len(pool)-1]
			pool = pool[:len(pool)-1]
			q.Enqueue(s)
		}
		if s, ok := q.Dequeue(); ok {
			pool = append(pool, s)
		}
	}
	st := q.Stats()
	b.ReportMetric(float64(st.OverlimitDroppedPackets+st.CoDelDroppedPackets)/float64(st.EnqueuedPackets), "dropped/pkt")
}
