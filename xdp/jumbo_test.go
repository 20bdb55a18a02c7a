package xdp

import (
	"bytes"
	"errors"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/conn"
	"github.com/wgxdp/wgxdp/packet"
)

// jumboSlot is the slot size the daemon uses (device.New): an inner MTU
// of 9000 and 64 bytes more.
var jumboSlot = packet.SlotSize(9000 + 64)

// setMTU sets both veth ends' MTU.
func (tp *topo) setMTU(t testing.TB, mtu int) {
	t.Helper()
	for _, e := range []struct {
		run func(string, ...string) (string, error)
		dev string
	}{{tp.a.Run, tp.ifA}, {tp.b.Run, tp.ifB}} {
		if _, err := e.run("ip", "link", "set", "dev", e.dev, "mtu", strconv.Itoa(mtu)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestProbeMultiBuffer checks which MTUs take multi-buffer packets: only
// those whose frame does not fit one 4096-byte frame's receive room.
func TestProbeMultiBuffer(t *testing.T) {
	tp := newTopo(t)
	for _, tc := range []struct {
		mtu, frameSize int
		sg             bool
	}{
		{1500, 2048, false},
		{1778, 2048, false},
		{1779, 4096, false},
		{3826, 4096, false},
		{3827, 4096, true},
		{9000, 4096, true},
		{65535, 0, false},
	} {
		tp.setMTU(t, tc.mtu)
		ifc := &iface{name: tp.ifA}
		var err error
		tp.a.Do(func() error { err = ifc.probe(); return nil })
		if tc.frameSize == 0 {
			if !errors.Is(err, ErrNotSupported) {
				t.Errorf("MTU %d: %v, want ErrNotSupported", tc.mtu, err)
			}
			continue
		}
		if err != nil || ifc.frameSize != tc.frameSize || ifc.sg != tc.sg {
			t.Errorf("MTU %d: frame size %d, multi-buffer %v, %v; want %d, %v", tc.mtu, ifc.frameSize, ifc.sg, err, tc.frameSize, tc.sg)
		}
	}
}

// jumboSizes are UDP payload sizes up to max around every frame boundary,
// for headers of hl bytes: a received packet has 4096-256 bytes per
// frame, a sent one 4096-txHeadroom.
func jumboSizes(hl, max int) []int {
	sizes := []int{1, 2, 100, 1400, 2000, 3700, 4200, 8000}
	for _, room := range []int{4096 - 256, 4096 - txHeadroom} {
		for b := room - hl; b+2 < max; b += room {
			sizes = append(sizes, b-1, b, b+1, b+2)
		}
	}
	return append(sizes, max-1, max)
}

// TestJumbo runs datagrams of every size around the frame boundaries both
// ways between an XDP Bind on a 9000-MTU veth and a conn.StdNetBind, in
// both attach modes, and checks they took the rings and arrived whole.
func TestJumbo(t *testing.T) {
	testJumboMTU(t, 9000)
}

// TestJumboMaxFrags is TestJumbo at an MTU whose largest packet spans
// maxFrags frames, one at a time.
func TestJumboMaxFrags(t *testing.T) {
	testJumboMTU(t, maxFrags*(4096-256)-ethLen)
}

func testJumboMTU(t *testing.T, mtu int) {
	for _, mode := range []string{ModeNative, ModeGeneric} {
		t.Run(mode, func(t *testing.T) {
			for _, tc := range []struct {
				name           string
				noCsum, swCsum bool
			}{
				// Over veth an offloaded checksum is trusted as it is;
				// the receiving stack verifies the other two.
				{"offload", false, false},
				{"software", true, false},
				{"kernel-software", false, true},
			} {
				t.Run(tc.name, func(t *testing.T) {
					noTxCsum, testTxSwCsum = tc.noCsum, tc.swCsum
					defer func() { noTxCsum, testTxSwCsum = false, false }()
					testJumbo(t, mode, mtu)
				})
			}
		})
	}
}

func testJumbo(t *testing.T, mode string, mtu int) {
	tp := newTopo(t)
	tp.setMTU(t, mtu)
	slot := packet.SlotSize(mtu + 64)
	bd, port, rx, wg := openBindSlots(t, tp, mode, slot)
	defer func() { bd.Close(); wg.Wait() }()
	info := bd.Interfaces()[0]
	if !info.MultiBuffer || info.Mode != mode {
		t.Fatalf("interface %+v: want multi-buffer in %s mode", info, mode)
	}

	// B: a plain StdNetBind, read into a channel.
	std := conn.NewStdNetBind()
	var (
		fns   []conn.ReceiveFunc
		bPort uint16
	)
	err := tp.b.Do(func() (err error) {
		fns, bPort, err = std.Open(0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	stdRx := make(chan rxMsg, 1024)
	var swg sync.WaitGroup
	defer func() { std.Close(); swg.Wait() }()
	for _, f := range fns {
		swg.Go(func() {
			bt := packet.NewBatch(std.BatchSize(), slot)
			for {
				err := f(bt)
				for _, s := range bt.Packets() {
					stdRx <- rxMsg{bytes.Clone(s.Data()), s.Ep}
				}
				if err != nil {
					return
				}
			}
		})
	}
	pattern := func(n int, tag byte) []byte {
		p := make([]byte, n)
		for j := range p {
			p[j] = byte(j*7+n) ^ tag
		}
		return p
	}
	// expect takes len(want) datagrams from ch, in any order, each one
	// of want (by length and contents) and from src.
	expect := func(t *testing.T, ch <-chan rxMsg, want [][]byte, src netip.Addr) {
		t.Helper()
		left := map[string]int{}
		for _, w := range want {
			left[string(w)]++
		}
		for i := range want {
			select {
			case m := <-ch:
				if left[string(m.data)] == 0 {
					t.Fatalf("received %d bytes %x... not sent (or twice)", len(m.data), m.data[:min(len(m.data), 16)])
				}
				left[string(m.data)]--
				if m.ep.Dst.Addr().Unmap() != src {
					t.Fatalf("from %v, want %v", m.ep.Dst, src)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("received %d of %d (the first %d bytes)", i, len(want), len(want[0]))
			}
		}
	}

	for _, fam := range []struct {
		name string
		a, b netip.Addr
	}{{"v4", tp.a4, tp.b4}, {"v6", tp.a6, tp.b6}} {
		t.Run(fam.name, func(t *testing.T) {
			hl := headerLen(fam.a)
			sizes := jumboSizes(hl, mtu-(hl-ethLen))
			toA := conn.Endpoint{Dst: netip.AddrPortFrom(fam.a, port)}
			toB := conn.Endpoint{Dst: netip.AddrPortFrom(fam.b, bPort)}
			bt := packet.NewBatch(len(sizes), slot)
			// Whole batches only at MTU 9000: at 64 KB, a batch may
			// overflow the rx ring (2048 frames).
			batches := mtu <= 9000
			fill := func(sizes []int, tag byte, ep conn.Endpoint) [][]byte {
				bt.Reset()
				var want [][]byte
				for _, n := range sizes {
					p := pattern(n, tag)
					if !bt.Append(p, ep) {
						t.Fatalf("%d bytes do not fit a slot", n)
					}
					want = append(want, p)
				}
				return want
			}

			// B → A through the rx ring: one at a time, then all in
			// one batch.
			sent := len(sizes)
			if batches {
				sent *= 2
			}
			before := bd.Stats()
			for _, n := range sizes {
				want := fill([]int{n}, 1, toA)
				if err := std.Send(bt, toA); err != nil {
					t.Fatalf("B sends %d bytes: %v", n, err)
				}
				expect(t, rx, want, fam.b)
			}
			if batches {
				want := fill(sizes, 2, toA)
				if err := std.Send(bt, toA); err != nil {
					t.Fatal(err)
				}
				expect(t, rx, want, fam.b)
			}
			st := bd.Stats()
			// In generic mode the program sees a GSO send from B
			// whole (two of the sizes in a row, the second shorter)
			// and passes it to the stack, being longer than the MTU;
			// in native mode the GSO packet was segmented first.
			ring, sock := st.RxRing-before.RxRing, st.RxSocket-before.RxSocket
			if ring+sock != uint64(sent) || mode == ModeNative && sock != 0 || ring < uint64(len(sizes)) {
				t.Fatalf("stats %+v → %+v: want %d more, all through the ring in native mode", before, st, sent)
			}
			if d := st.Interfaces[0].RxDiscarded; d != 0 {
				t.Fatalf("%d datagrams discarded", d)
			}

			// A → B: through the socket until the neighbor is
			// reachable, then through the tx ring.
			deadline := time.Now().Add(5 * time.Second)
			for tag := byte(0); bd.Stats().TxRing == st.TxRing; tag++ {
				if time.Now().After(deadline) {
					t.Fatalf("nothing went through the tx ring: %+v", bd.Stats())
				}
				want := fill([]int{100}, tag, toB)
				if err := bd.Send(bt, toB); err != nil {
					t.Fatal(err)
				}
				expect(t, stdRx, want, fam.a)
				time.Sleep(20 * time.Millisecond)
			}
			before = bd.Stats()
			for _, n := range sizes {
				want := fill([]int{n}, 3, toB)
				if err := bd.Send(bt, toB); err != nil {
					t.Fatalf("A sends %d bytes: %v", n, err)
				}
				expect(t, stdRx, want, fam.a)
			}
			if batches {
				want := fill(sizes, 4, toB)
				if err := bd.Send(bt, toB); err != nil {
					t.Fatal(err)
				}
				expect(t, stdRx, want, fam.a)
			}
			if st := bd.Stats(); st.TxRing-before.TxRing != uint64(sent) || st.TxSocket != before.TxSocket {
				t.Fatalf("stats %+v → %+v: want %d more through the tx ring", before, st, sent)
			}
		})
	}
}

// TestJumboSmallBatches queues a mix of one-frame datagrams, chains and
// chains too big for the receiver's slots in the rx ring before anything
// reads it, then reads it in batches of 3: chains cut by a batch's end
// must wait whole for the next call, and the ones too big be counted and
// skipped without losing the datagrams behind them.
func TestJumboSmallBatches(t *testing.T) {
	for _, mode := range []string{ModeNative, ModeGeneric} {
		t.Run(mode, func(t *testing.T) { testJumboSmallBatches(t, mode) })
	}
}

func testJumboSmallBatches(t *testing.T, mode string) {
	tp := newTopo(t)
	tp.setMTU(t, 9000)
	bd, fns, port := newOpenBind(t, tp, mode)
	var wg sync.WaitGroup
	defer func() { bd.Close(); wg.Wait() }()
	sb := conn.NewStdNetBind()
	sb.DisableGSO = true
	if err := tp.b.Do(func() error { _, _, err := sb.Open(0); return err }); err != nil {
		t.Fatal(err)
	}
	defer sb.Close()

	const slotSize = 4160 // packet.SlotSize(4000)
	fits := func(n int) bool { return n+hdrLen4 <= 4096-256 || n+hdrLen4 <= slotSize }
	ep := conn.Endpoint{Dst: netip.AddrPortFrom(tp.a4, port)}
	bt := packet.NewBatch(1, jumboSlot)
	var want [][]byte
	discards := 0
	for i := range 60 {
		n := []int{100, 3798, 3800, 4000, 5000, 8972, 10, 7000}[i%8] - i%3
		p := make([]byte, n)
		for j := range p {
			p[j] = byte(i + j*3)
		}
		bt.Reset()
		bt.Append(p, ep)
		if err := sb.Send(bt, ep); err != nil {
			t.Fatal(err)
		}
		if fits(n) {
			want = append(want, p)
		} else {
			discards++
		}
	}
	time.Sleep(100 * time.Millisecond) // let them all reach the ring

	rx := make(chan rxMsg, 1024)
	for _, f := range fns[:bd.Interfaces()[0].Queues] {
		wg.Go(func() {
			bt := packet.NewBatch(3, slotSize)
			for {
				err := f(bt)
				for _, s := range bt.Packets() {
					rx <- rxMsg{bytes.Clone(s.Data()), s.Ep}
				}
				if err != nil {
					return
				}
			}
		})
	}
	for i, w := range want {
		select {
		case m := <-rx:
			if !bytes.Equal(m.data, w) {
				t.Fatalf("datagram %d: %d bytes, want %d", i, len(m.data), len(w))
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("received %d of %d; stats %+v", i, len(want), bd.Stats())
		}
	}
	st := bd.Stats()
	if got := st.Interfaces[0].RxDiscarded; got != uint64(discards) || st.RxRing != uint64(len(want)) || st.RxSocket != 0 {
		t.Fatalf("stats %+v: want %d through the ring, %d discarded", st, len(want), discards)
	}
}
