package conn

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wgxdp/wgxdp/internal/netns"
	"github.com/wgxdp/wgxdp/packet"
)

// transportSize is a WireGuard transport message for an inner MTU of 1420.
const transportSize = 1420 + 32

// openWith opens b on port 0, closes it at cleanup and returns its receive
// functions by family.
func openWith(t testing.TB, b *StdNetBind) (recv4, recv6 ReceiveFunc, port uint16) {
	t.Helper()
	fns, port, err := b.Open(0)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	if b.v4 != nil {
		recv4, fns = fns[0], fns[1:]
	}
	if b.v6 != nil {
		recv6 = fns[0]
	}
	return recv4, recv6, port
}

// needOffloads skips the test if the kernel lacks UDP GSO or GRO.
func needOffloads(t *testing.T, b *StdNetBind, is6 bool) {
	t.Helper()
	st := b.OffloadStats()
	gso, gro := st.GSO4, st.GRO4
	if is6 {
		gso, gro = st.GSO6, st.GRO6
	}
	if !gso || !gro {
		t.Skipf("kernel lacks UDP GSO (%v) or GRO (%v)", gso, gro)
	}
}

type family struct {
	name string
	ip   netip.Addr
}

var families = []family{
	{"ipv4", netip.MustParseAddr("127.0.0.1")},
	{"ipv6", netip.IPv6Loopback()},
}

// pick returns the receive function of f's family.
func (f family) pick(r4, r6 ReceiveFunc) ReceiveFunc {
	if f.ip.Is6() {
		return r6
	}
	return r4
}

// sizes64 is 64 transport-size datagrams and a short last one.
func sizes64() []int {
	s := make([]int, 65)
	for i := range 64 {
		s[i] = transportSize
	}
	s[64] = 100
	return s
}

// mixedSizes exercises every way a run ends: a shorter datagram, a longer
// one, an empty one, the 64-segment and 64 KiB limits, single datagrams.
func mixedSizes() []int {
	var s []int
	add := func(n, size int) {
		for range n {
			s = append(s, size)
		}
	}
	add(10, transportSize)
	add(1, 1000)
	add(5, transportSize)
	add(1, 1)
	add(3, 200)
	add(1, 0)
	add(2, 200)
	add(1, 1500)
	add(70, 100) // > 64 segments
	add(50, 1400)
	add(1, 1401)
	return s
}

func fillBatch(sizes []int) *packet.Batch {
	b := packet.NewBatch(len(sizes), packet.SlotSize(1500))
	for i, n := range sizes {
		b.Append(payload(i, n), Endpoint{})
	}
	return b
}

// checkReceived receives len(sizes) datagrams with fn into a batch of
// inCap slots and checks they are payload(i, sizes[i]) in order, from
// from to the local address to.
func checkReceived(t *testing.T, fn ReceiveFunc, sizes []int, inCap int, from netip.AddrPort, to netip.Addr) {
	t.Helper()
	in := packet.NewBatch(inCap, packet.SlotSize(1500))
	for i, g := range receiveN(t, fn, in, len(sizes)) {
		if want := payload(i, sizes[i]); !bytes.Equal(g.p, want) {
			t.Fatalf("datagram %d: %d bytes, want %d", i, len(g.p), len(want))
		}
		if g.ep.Dst != from {
			t.Fatalf("datagram %d from %v, want %v", i, g.ep.Dst, from)
		}
		if g.ep.Src != to || g.ep.IfIndex == 0 {
			t.Fatalf("datagram %d: Src %v IfIndex %d, want %v on lo", i, g.ep.Src, g.ep.IfIndex, to)
		}
	}
}

// TestGSOSend sends batches with GSO to a plain receiver (the kernel
// segments them) and to a GRO receiver (which gets them coalesced and
// splits them), into batches big and small.
func TestGSOSend(t *testing.T) {
	tx := NewStdNetBind()
	_, _, ptx := openWith(t, tx)
	plain := &StdNetBind{DisableGRO: true}
	p4, p6, pp := openWith(t, plain)
	gro := NewStdNetBind()
	g4, g6, pg := openWith(t, gro)
	for _, b := range []*StdNetBind{tx, plain, gro} {
		watchdog(t, b, 20*time.Second)
	}
	for _, f := range families {
		for _, sz := range []struct {
			name  string
			sizes []int
		}{{"64+short", sizes64()}, {"mixed", mixedSizes()}} {
			t.Run(f.name+"/"+sz.name, func(t *testing.T) {
				if f.pick(p4, p6) == nil {
					t.Skipf("no %s", f.name)
				}
				needOffloads(t, tx, f.ip.Is6())
				from := netip.AddrPortFrom(f.ip, ptx)
				before := tx.OffloadStats()
				if err := tx.Send(fillBatch(sz.sizes), Endpoint{Dst: netip.AddrPortFrom(f.ip, pp)}); err != nil {
					t.Fatalf("Send to plain: %v", err)
				}
				st := tx.OffloadStats()
				if st.GSOSends == before.GSOSends {
					t.Fatal("Send used no UDP_SEGMENT message")
				}
				t.Logf("%d datagrams in %d GSO sends holding %d", len(sz.sizes), st.GSOSends-before.GSOSends, st.GSOSegments-before.GSOSegments)
				checkReceived(t, f.pick(p4, p6), sz.sizes, StdBatchSize, from, f.ip)
				if s := plain.OffloadStats(); s.GRO4 || s.GRO6 || s.GRODatagrams != 0 {
					t.Fatalf("plain receiver: %+v", s)
				}

				for _, inCap := range []int{StdBatchSize, 7, 1} {
					gBefore := gro.OffloadStats()
					if err := tx.Send(fillBatch(sz.sizes), Endpoint{Dst: netip.AddrPortFrom(f.ip, pg)}); err != nil {
						t.Fatalf("Send to GRO: %v", err)
					}
					checkReceived(t, f.pick(g4, g6), sz.sizes, inCap, from, f.ip)
					gs := gro.OffloadStats()
					if gs.GRODatagrams == gBefore.GRODatagrams {
						t.Fatalf("batch of %d: GRO receiver got nothing coalesced", inCap)
					}
					t.Logf("batch of %d: %d coalesced datagrams split into %d", inCap, gs.GRODatagrams-gBefore.GRODatagrams, gs.GROSegments-gBefore.GROSegments)
				}
			})
		}
	}
}

// TestGSORuns checks how Send cuts a batch into UDP_SEGMENT messages.
func TestGSORuns(t *testing.T) {
	s := newSender(StdBatchSize)
	for _, tc := range []struct {
		name  string
		sizes []int
		want  []int // datagrams per message
	}{
		// The short last datagram (100 B) is small enough for a receiver's
		// priority socket: it goes alone, not as the run's tail.
		{"64+short", sizes64(), []int{45, 19, 1}},
		{"one", []int{100}, []int{1}},
		{"longer ends run", []int{100, 100, 101, 101}, []int{2, 2}},
		{"shorter ends run", []int{400, 400, 399, 399}, []int{3, 1}},
		{"small tail alone", []int{400, 400, DefaultPriorityMax, 10}, []int{2, 1, 1}},
		{"small equal run", []int{100, 100, 100, 99}, []int{3, 1}},
		{"empty alone", []int{10, 0, 10, 10}, []int{1, 1, 2}},
		{"64 segments", func() []int {
			s := make([]int, 70)
			for i := range s {
				s[i] = 10
			}
			return s
		}(), []int{64, 6}},
	} {
		b := fillBatch(tc.sizes)
		s.load(b.Packets(), false, true, maxIPv4Payload)
		var got []int
		for i := range s.vlen {
			got = append(got, int(s.m.hdrs[i].Hdr.Iovlen))
			if seg := s.segSize[i]; (seg > 0) != (got[i] > 1) || (seg > 0 && seg != tc.sizes[s.first[i]]) {
				t.Errorf("%s: message %d: segSize %d for %d datagrams from %d", tc.name, i, seg, got[i], s.first[i])
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: messages of %v datagrams, want %v", tc.name, got, tc.want)
		}
		s.release()
	}
}

// TestGSOStickySource sends GSO batches from a chosen local address, a
// refused one (Send drops the source, keeps GSO) and none.
func TestGSOStickySource(t *testing.T) {
	a := NewStdNetBind()
	a4, a6, pa := openWith(t, a)
	b := NewStdNetBind()
	b4, b6, _ := openWith(t, b)
	watchdog(t, a, 20*time.Second)
	watchdog(t, b, 20*time.Second)
	sizes := sizes64()
	for _, tc := range []struct {
		name     string
		local    netip.Addr // where b sends to a
		src      netip.Addr // a's sticky source for the reply
		wantFrom netip.Addr
	}{
		{"sticky 127.0.0.2", netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.2")},
		{"refused source", netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("127.0.0.1")},
		{"no source", netip.MustParseAddr("127.0.0.2"), netip.Addr{}, netip.MustParseAddr("127.0.0.1")},
		{"sticky ::1", netip.IPv6Loopback(), netip.IPv6Loopback(), netip.IPv6Loopback()},
		{"refused ipv6 source", netip.IPv6Loopback(), netip.MustParseAddr("2001:db8::1"), netip.IPv6Loopback()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := family{ip: tc.local}
			recvA, recvB := f.pick(a4, a6), f.pick(b4, b6)
			if recvA == nil || recvB == nil {
				t.Skip("no IPv6")
			}
			needOffloads(t, a, tc.local.Is6())
			// b → a, to learn the endpoint as the device would.
			bt := packet.NewBatch(4, packet.SlotSize(1500))
			bt.Append([]byte("hello"), Endpoint{})
			if err := b.Send(bt, Endpoint{Dst: netip.AddrPortFrom(tc.local, pa)}); err != nil {
				t.Fatal(err)
			}
			ep := receiveN(t, recvA, bt, 1)[0].ep
			if ep.Src != tc.local {
				t.Fatalf("hello arrived with Src %v, want %v", ep.Src, tc.local)
			}
			ep.Src = tc.src
			if !tc.src.IsValid() {
				ep.IfIndex = 0
			}
			before := a.OffloadStats()
			err := a.Send(fillBatch(sizes), ep)
			if refused := strings.HasPrefix(tc.name, "refused"); refused && !errors.Is(err, ErrSourceRefused) {
				t.Fatalf("Send: %v, want ErrSourceRefused", err)
			} else if !refused && err != nil {
				t.Fatalf("Send: %v", err)
			}
			st := a.OffloadStats()
			gsoOn := st.GSO4
			if tc.local.Is6() {
				gsoOn = st.GSO6
			}
			if st.GSOSends == before.GSOSends || st.GSOFallbacks != 0 || !gsoOn {
				t.Fatalf("offloads after a sticky send: %+v", st)
			}
			checkReceived(t, recvB, sizes, StdBatchSize, netip.AddrPortFrom(tc.wantFrom, pa), ep.Dst.Addr())
		})
	}
}

// TestGSOFallback checks both ways GSO goes off: the flag forced, and a
// send error that blames GSO (UDP_SEGMENT on a socket with checksums off
// fails with EINVAL), with and without a sticky source.
func TestGSOFallback(t *testing.T) {
	rx := NewStdNetBind()
	r4, r6, pr := openWith(t, rx)
	watchdog(t, rx, 20*time.Second)
	if rx.v6 != nil {
		// IPv6 drops UDP with a zero checksum unless told not to.
		rx.v6.rc.Control(func(fd uintptr) {
			unix.SetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_NO_CHECK6_RX, 1)
		})
	}
	for _, f := range families {
		for _, sticky := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/forced/sticky=%v", f.name, sticky), func(t *testing.T) {
				recv := f.pick(r4, r6)
				if recv == nil {
					t.Skip("no IPv6")
				}
				tx := NewStdNetBind()
				_, _, ptx := openWith(t, tx)
				needOffloads(t, tx, f.ip.Is6())
				sock := tx.v4
				if f.ip.Is6() {
					sock = tx.v6
				}
				sock.gso.Store(false)
				ep := Endpoint{Dst: netip.AddrPortFrom(f.ip, pr)}
				if sticky {
					ep.Src = f.ip
				}
				sizes := sizes64()
				if err := tx.Send(fillBatch(sizes), ep); err != nil {
					t.Fatal(err)
				}
				if st := tx.OffloadStats(); st.GSOSends != 0 {
					t.Fatalf("GSO used after it was turned off: %+v", st)
				}
				checkReceived(t, recv, sizes, StdBatchSize, netip.AddrPortFrom(f.ip, ptx), f.ip)
			})
			t.Run(fmt.Sprintf("%s/EINVAL/sticky=%v", f.name, sticky), func(t *testing.T) {
				recv := f.pick(r4, r6)
				if recv == nil {
					t.Skip("no IPv6")
				}
				tx := NewStdNetBind()
				_, _, ptx := openWith(t, tx)
				needOffloads(t, tx, f.ip.Is6())
				sock, level, opt := tx.v4, unix.SOL_SOCKET, unix.SO_NO_CHECK
				if f.ip.Is6() {
					sock, level, opt = tx.v6, unix.IPPROTO_UDP, unix.UDP_NO_CHECK6_TX
				}
				var err error
				sock.rc.Control(func(fd uintptr) { err = unix.SetsockoptInt(int(fd), level, opt, 1) })
				if err != nil {
					t.Skipf("cannot turn UDP checksums off: %v", err)
				}
				ep := Endpoint{Dst: netip.AddrPortFrom(f.ip, pr)}
				if sticky {
					ep.Src = f.ip
				}
				sizes := mixedSizes()
				if err := tx.Send(fillBatch(sizes), ep); err != nil {
					t.Fatalf("Send: %v", err)
				}
				st := tx.OffloadStats()
				if st.GSOFallbacks != 1 || st.GSOSends != 0 || (f.ip.Is6() && st.GSO6) || (!f.ip.Is6() && st.GSO4) {
					t.Fatalf("after EINVAL: %+v, want GSO off with one fallback", st)
				}
				checkReceived(t, recv, sizes, StdBatchSize, netip.AddrPortFrom(f.ip, ptx), f.ip)
				// The next batch goes plain at once.
				if err := tx.Send(fillBatch(sizes), ep); err != nil {
					t.Fatalf("second Send: %v", err)
				}
				if st := tx.OffloadStats(); st.GSOFallbacks != 1 || st.GSOSends != 0 {
					t.Fatalf("after the second send: %+v", st)
				}
				checkReceived(t, recv, sizes, StdBatchSize, netip.AddrPortFrom(f.ip, ptx), f.ip)
			})
		}
	}
}

// TestGSOAbovePathMTU sends GSO batches whose segments exceed the MTU of
// the route (loopback at 1280 in a namespace of the test's own): the kernel
// refuses the segmented send, and the datagrams must still arrive, sent one
// by one and fragmented.
func TestGSOAbovePathMTU(t *testing.T) {
	if err := netns.Available(); err != nil {
		t.Skip(err)
	}
	ns, err := netns.New("wgxdpconn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	if _, err := ns.Run("ip", "link", "set", "lo", "mtu", "1280"); err != nil {
		t.Fatal(err)
	}
	tx, rx := NewStdNetBind(), NewStdNetBind()
	var r4 ReceiveFunc
	var pr, ptx uint16
	if err := ns.Do(func() error {
		var fns []ReceiveFunc
		var err error
		if _, ptx, err = tx.Open(0); err != nil {
			return err
		}
		fns, pr, err = rx.Open(0)
		r4 = fns[0]
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Close(); rx.Close() })
	watchdog(t, rx, 20*time.Second)
	needOffloads(t, tx, false)
	sizes := sizes64()
	if err := tx.Send(fillBatch(sizes), Endpoint{Dst: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), pr)}); err != nil {
		t.Fatal(err)
	}
	// The kernel says EMSGSIZE, which is about this batch, not the socket:
	// GSO stays on.
	if st := tx.OffloadStats(); !st.GSO4 || st.GSOFallbacks != 0 || st.GSOSends != 0 {
		t.Fatalf("after a send above the path MTU: %+v", st)
	}
	checkReceived(t, r4, sizes, StdBatchSize, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), ptx), netip.MustParseAddr("127.0.0.1"))
}

// TestOffloadOptions checks the fields and environment switches.
func TestOffloadOptions(t *testing.T) {
	for _, tc := range []struct {
		name     string
		b        *StdNetBind
		env      map[string]string
		gso, gro bool
	}{
		{"default", &StdNetBind{}, nil, true, true},
		{"fields", &StdNetBind{DisableGSO: true, DisableGRO: true}, nil, false, false},
		{"env gso", &StdNetBind{}, map[string]string{envGSO: "0"}, false, true},
		{"env gro", &StdNetBind{}, map[string]string{envGRO: "off"}, true, false},
		{"env on", &StdNetBind{}, map[string]string{envGSO: "1", envGRO: "1"}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			gso, gro, _, _ := tc.b.options()
			if gso != tc.gso || gro != tc.gro {
				t.Fatalf("options: gso %v gro %v, want %v %v", gso, gro, tc.gso, tc.gro)
			}
			openWith(t, tc.b)
			st := tc.b.OffloadStats()
			if tc.gso && !st.GSO4 || tc.gro && !st.GRO4 {
				t.Skipf("kernel lacks offloads: %+v", st)
			}
			if st.GSO4 != tc.gso || st.GRO4 != tc.gro || (tc.b.v6 != nil && (st.GSO6 != tc.gso || st.GRO6 != tc.gro)) {
				t.Fatalf("offloads %+v, want gso %v gro %v", st, tc.gso, tc.gro)
			}
		})
	}
}

func TestSocketBufferOption(t *testing.T) {
	rcvbuf := func(b *StdNetBind) int {
		var v int
		b.v4.rc.Control(func(fd uintptr) { v, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF) })
		return v
	}
	small := &StdNetBind{SocketBuffer: 256 << 10}
	openWith(t, small)
	t.Setenv(envBuffer, "3M")
	env := NewStdNetBind()
	openWith(t, env)
	// The kernel doubles the value for bookkeeping, and clamps it to
	// rmem_max without CAP_NET_ADMIN.
	s, e := rcvbuf(small), rcvbuf(env)
	t.Logf("SO_RCVBUF: %d for 256K, %d for 3M", s, e)
	if s != 2*(256<<10) {
		t.Errorf("SocketBuffer 256K: SO_RCVBUF %d", s)
	}
	if e <= s || (e != 2*(3<<20) && e > 2*(3<<20)) {
		t.Errorf("WGXDP_UDP_BUFFER=3M: SO_RCVBUF %d", e)
	}
}

func TestZeroAllocsWithOffloads(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items, so pooled senders get reallocated")
	}
	for _, mode := range offloadModes {
		t.Run(mode.name, func(t *testing.T) {
			a := mode.bind()
			a4, _, pa := openWith(t, a)
			b := mode.bind()
			openWith(t, b)
			watchdog(t, a, 20*time.Second)
			out := fillBatch(sizes64())
			in := packet.NewBatch(StdBatchSize, packet.SlotSize(1420))
			for _, ep := range []Endpoint{
				{Dst: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), pa)},
				{Dst: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), pa), Src: netip.MustParseAddr("127.0.0.1"), IfIndex: 1},
			} {
				var err error
				allocs := testing.AllocsPerRun(100, func() {
					if e := loopbackRoundTrip(b, a4, out, in, ep); e != nil && err == nil {
						err = e
					}
				})
				if err != nil {
					t.Fatal(err)
				}
				if allocs != 0 {
					t.Errorf("sticky %v: %v allocs per %d-datagram batch, want 0", ep.Src.IsValid(), allocs, out.N)
				}
			}
		})
	}
}

var offloadModes = []struct {
	name string
	bind func() *StdNetBind
}{
	{"gso+gro", func() *StdNetBind { return &StdNetBind{} }},
	{"gso", func() *StdNetBind { return &StdNetBind{DisableGRO: true} }},
	{"gro", func() *StdNetBind { return &StdNetBind{DisableGSO: true} }},
	{"plain", func() *StdNetBind { return &StdNetBind{DisableGSO: true, DisableGRO: true} }},
}

// BenchmarkLoopback1452 sends batches of 128 transport-size datagrams over
// 127.0.0.1 and receives them, with each combination of offloads.
func BenchmarkLoopback1452(b *testing.B) {
	for _, batch := range []int{32, 128} {
		for _, mode := range offloadModes {
			b.Run(mode.name+"/batch="+strconv.Itoa(batch), func(b *testing.B) {
				rx := mode.bind()
				r4, _, pr := openWith(b, rx)
				tx := mode.bind()
				openWith(b, tx)
				out := packet.NewBatch(batch, packet.SlotSize(1420))
				for i := range batch {
					out.Append(payload(i, transportSize), Endpoint{})
				}
				in := packet.NewBatch(StdBatchSize, packet.SlotSize(1420))
				dst := Endpoint{Dst: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), pr)}
				b.SetBytes(int64(batch * transportSize))
				b.ReportAllocs()
				for b.Loop() {
					if err := loopbackRoundTrip(tx, r4, out, in, dst); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "datagrams/s")
			})
		}
	}
}
