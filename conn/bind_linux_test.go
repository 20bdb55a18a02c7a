package conn

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wgxdp/wgxdp/packet"
)

// openBind opens a StdNetBind on port and closes it at cleanup. It returns
// the receive functions by family.
func openBind(t *testing.T, port uint16) (b *StdNetBind, recv4, recv6 ReceiveFunc, actual uint16) {
	t.Helper()
	b = NewStdNetBind()
	fns, actual, err := b.Open(port)
	if err != nil {
		t.Fatalf("Open(%d): %v", port, err)
	}
	t.Cleanup(func() { b.Close() })
	if b.v4 != nil {
		recv4, fns = fns[0], fns[1:]
	}
	if b.v6 != nil {
		recv6 = fns[0]
	}
	return b, recv4, recv6, actual
}

// watchdog closes b if the test is still running after d, so a lost
// datagram fails the test instead of hanging it.
func watchdog(t *testing.T, b *StdNetBind, d time.Duration) {
	tm := time.AfterFunc(d, func() { b.Close() })
	t.Cleanup(func() { tm.Stop() })
}

type got struct {
	p       []byte
	ep      Endpoint
	express bool // Slot.Express: came through a priority socket
}

// receiveN calls fn until n datagrams arrived, copying them out.
func receiveN(t *testing.T, fn ReceiveFunc, bt *packet.Batch, n int) []got {
	t.Helper()
	var out []got
	for len(out) < n {
		if err := fn(bt); err != nil {
			t.Fatalf("receive after %d of %d datagrams: %v", len(out), n, err)
		}
		if bt.N < 1 {
			t.Fatalf("receive returned N=%d", bt.N)
		}
		for _, s := range bt.Packets() {
			if s.Headroom() < 16 {
				t.Fatalf("datagram with %d bytes of headroom, want at least 16", s.Headroom())
			}
			// The kernel's receive time (SO_TIMESTAMPNS_NEW), in the past.
			if age := time.Now().UnixNano() - s.RxTime; age < 0 || age > int64(10*time.Second) {
				t.Fatalf("datagram received %v ago (RxTime %d)", time.Duration(age), s.RxTime)
			}
			out = append(out, got{append([]byte(nil), s.Data()...), s.Ep, s.Express})
		}
	}
	return out
}

func payload(i, n int) []byte {
	p := make([]byte, n)
	for j := range p {
		p[j] = byte(i*7 + j)
	}
	return p
}

func TestExchange(t *testing.T) {
	a, a4, a6, pa := openBind(t, 0)
	b, b4, b6, pb := openBind(t, 0)
	watchdog(t, a, 10*time.Second)
	watchdog(t, b, 10*time.Second)
	for _, tc := range []struct {
		name       string
		ip         netip.Addr
		recvA, rcB ReceiveFunc
	}{
		{"ipv4", netip.MustParseAddr("127.0.0.1"), a4, b4},
		{"ipv6", netip.IPv6Loopback(), a6, b6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.recvA == nil || tc.rcB == nil {
				t.Skipf("%s not available", tc.name)
			}
			const n = 200 // more than one sendmmsg and one recvmmsg
			out := packet.NewBatch(n, packet.SlotSize(1500))
			for i := range n {
				out.Append(payload(i, 1+i*7%1400), Endpoint{})
			}
			if err := b.Send(out, Endpoint{Dst: netip.AddrPortFrom(tc.ip, pa)}); err != nil {
				t.Fatalf("Send: %v", err)
			}
			in := packet.NewBatch(StdBatchSize, packet.SlotSize(1500))
			rx := receiveN(t, tc.recvA, in, n)
			for i, g := range rx {
				if want := payload(i, 1+i*7%1400); !bytes.Equal(g.p, want) {
					t.Fatalf("datagram %d: %d bytes, want %d (%x…)", i, len(g.p), len(want), g.p[:min(8, len(g.p))])
				}
				if g.ep.Dst != netip.AddrPortFrom(tc.ip, pb) {
					t.Fatalf("datagram %d from %v, want %v", i, g.ep.Dst, netip.AddrPortFrom(tc.ip, pb))
				}
				if g.ep.Src != tc.ip || g.ep.IfIndex == 0 {
					t.Fatalf("datagram %d: Src %v IfIndex %d, want %v on lo", i, g.ep.Src, g.ep.IfIndex, tc.ip)
				}
			}
			// Reply along the received endpoint.
			out.Reset()
			out.Append([]byte("reply"), Endpoint{})
			if err := a.Send(out, rx[0].ep); err != nil {
				t.Fatalf("reply: %v", err)
			}
			r := receiveN(t, tc.rcB, in, 1)
			if string(r[0].p) != "reply" || r[0].ep.Dst != netip.AddrPortFrom(tc.ip, pa) {
				t.Fatalf("reply %q from %v", r[0].p, r[0].ep.Dst)
			}
		})
	}
}

func TestPortZeroBindsBothFamilies(t *testing.T) {
	b, r4, r6, port := openBind(t, 0)
	if port == 0 {
		t.Fatal("Open(0) reported port 0")
	}
	if r4 == nil {
		t.Fatal("no IPv4 socket")
	}
	for _, nw := range []string{"udp4", "udp6"} {
		if nw == "udp6" && r6 == nil {
			continue
		}
		c, err := net.ListenUDP(nw, &net.UDPAddr{Port: int(port)})
		if err == nil {
			c.Close()
			t.Errorf("%s port %d is not taken by the bind", nw, port)
		}
	}
	if _, _, err := b.Open(0); !errors.Is(err, ErrBindAlreadyOpen) {
		t.Errorf("second Open: %v, want ErrBindAlreadyOpen", err)
	}
}

func TestExplicitPortInUse(t *testing.T) {
	_, _, _, port := openBind(t, 0)
	b := NewStdNetBind()
	if _, _, err := b.Open(port); !errors.Is(err, unix.EADDRINUSE) {
		b.Close()
		t.Fatalf("Open on a taken port: %v, want EADDRINUSE", err)
	}
}

func TestStickySource(t *testing.T) {
	a, a4, _, pa := openBind(t, 0)
	b, b4, _, pb := openBind(t, 0)
	watchdog(t, a, 10*time.Second)
	watchdog(t, b, 10*time.Second)
	lo1, lo2 := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")
	bt := packet.NewBatch(8, packet.SlotSize(1500))
	bt.Append([]byte("hello .2"), Endpoint{})
	if err := b.Send(bt, Endpoint{Dst: netip.AddrPortFrom(lo2, pa)}); err != nil {
		t.Fatal(err)
	}
	rx := receiveN(t, a4, bt, 1)[0]
	if rx.ep.Src != lo2 || rx.ep.Dst != netip.AddrPortFrom(lo1, pb) {
		t.Fatalf("received with Src %v Dst %v, want Src %v Dst %v", rx.ep.Src, rx.ep.Dst, lo2, netip.AddrPortFrom(lo1, pb))
	}
	for _, tc := range []struct {
		name     string
		src      netip.Addr
		ifindex  int32
		wantFrom netip.Addr
	}{
		{"sticky", rx.ep.Src, rx.ep.IfIndex, lo2},
		{"sticky without ifindex", lo2, 0, lo2},
		{"no source", netip.Addr{}, 0, lo1},
		// 192.0.2.1 (TEST-NET-1) is not local: the kernel refuses it
		// and Send must fall back to a kernel-chosen source.
		{"refused source", netip.MustParseAddr("192.0.2.1"), 0, lo1},
		{"refused source and ifindex", netip.MustParseAddr("192.0.2.1"), rx.ep.IfIndex, lo1},
		{"source of the other family", netip.IPv6Loopback(), 0, lo1},
	} {
		bt.Reset()
		for i := range 3 {
			bt.Append([]byte(fmt.Sprintf("%s %d", tc.name, i)), Endpoint{})
		}
		ep := Endpoint{Dst: rx.ep.Dst, Src: tc.src, IfIndex: tc.ifindex}
		refused := strings.HasPrefix(tc.name, "refused")
		if err := a.Send(bt, ep); refused && !errors.Is(err, ErrSourceRefused) {
			t.Fatalf("%s: Send: %v, want ErrSourceRefused", tc.name, err)
		} else if !refused && err != nil {
			t.Fatalf("%s: Send: %v", tc.name, err)
		}
		for i, g := range receiveN(t, b4, bt, 3) {
			if g.ep.Dst != netip.AddrPortFrom(tc.wantFrom, pa) || string(g.p) != fmt.Sprintf("%s %d", tc.name, i) {
				t.Errorf("%s: got %q from %v, want from %v", tc.name, g.p, g.ep.Dst, netip.AddrPortFrom(tc.wantFrom, pa))
			}
		}
	}
}

func TestStickySourceIPv6(t *testing.T) {
	a, _, a6, pa := openBind(t, 0)
	b, _, b6, pb := openBind(t, 0)
	if a6 == nil || b6 == nil {
		t.Skip("no IPv6")
	}
	watchdog(t, a, 10*time.Second)
	watchdog(t, b, 10*time.Second)
	lo := netip.IPv6Loopback()
	bt := packet.NewBatch(8, packet.SlotSize(1500))
	bt.Append([]byte("hi"), Endpoint{})
	if err := b.Send(bt, Endpoint{Dst: netip.AddrPortFrom(lo, pa)}); err != nil {
		t.Fatal(err)
	}
	rx := receiveN(t, a6, bt, 1)[0]
	if rx.ep.Src != lo || rx.ep.Dst != netip.AddrPortFrom(lo, pb) || rx.ep.IfIndex == 0 {
		t.Fatalf("received with %+v", rx.ep)
	}
	for _, src := range []netip.Addr{lo, netip.MustParseAddr("2001:db8::1")} {
		bt.Reset()
		bt.Append([]byte("back"), Endpoint{})
		err := a.Send(bt, Endpoint{Dst: rx.ep.Dst, Src: src, IfIndex: rx.ep.IfIndex})
		if refused := src != lo; refused && !errors.Is(err, ErrSourceRefused) {
			t.Fatalf("Send from %v: %v, want ErrSourceRefused", src, err)
		} else if !refused && err != nil {
			t.Fatalf("Send from %v: %v", src, err)
		}
		if g := receiveN(t, b6, bt, 1)[0]; g.ep.Dst != netip.AddrPortFrom(lo, pa) {
			t.Errorf("Src %v: reply from %v", src, g.ep.Dst)
		}
	}
}

func TestTruncatedDatagramDropped(t *testing.T) {
	a, a4, _, pa := openBind(t, 0)
	b, _, _, _ := openBind(t, 0)
	watchdog(t, a, 10*time.Second)
	out := packet.NewBatch(2, packet.SlotSize(1500))
	out.Append(payload(1, 1000), Endpoint{})
	out.Append([]byte("small"), Endpoint{})
	if err := b.Send(out, Endpoint{Dst: netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", pa))}); err != nil {
		t.Fatal(err)
	}
	in := packet.NewBatch(4, packet.Headroom+100)
	g := receiveN(t, a4, in, 1)
	if len(g) != 1 || string(g[0].p) != "small" {
		t.Fatalf("got %d datagrams, first %q; want only \"small\"", len(g), g[0].p)
	}
}

func TestCloseUnblocksReceive(t *testing.T) {
	b, r4, r6, _ := openBind(t, 0)
	errs := make(chan error, 2)
	for _, fn := range []ReceiveFunc{r4, r6} {
		if fn == nil {
			errs <- net.ErrClosed
			continue
		}
		go func() { errs <- fn(packet.NewBatch(4, 2048)) }()
	}
	time.Sleep(50 * time.Millisecond)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case err := <-errs:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("receive after Close: %v, want net.ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not unblock a receive")
		}
	}
	bt := packet.NewBatch(1, 2048)
	bt.Append([]byte("x"), Endpoint{})
	if err := b.Send(bt, Endpoint{Dst: netip.MustParseAddrPort("127.0.0.1:9")}); !errors.Is(err, ErrBindClosed) {
		t.Errorf("Send after Close: %v, want ErrBindClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestReopenOnNewPort(t *testing.T) {
	a, old4, _, p1 := openBind(t, 0)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := old4(packet.NewBatch(1, 2048)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("old receive after Close: %v", err)
	}
	// Pick a free port different from p1 for the reopen.
	probe, _, _, p2 := openBind(t, 0)
	probe.Close()
	if p2 == p1 {
		t.Skip("kernel handed out the same port twice")
	}
	fns, got, err := a.Open(p2)
	if err != nil {
		t.Fatalf("reopen on %d: %v", p2, err)
	}
	if got != p2 {
		t.Fatalf("reopened on %d, want %d", got, p2)
	}
	watchdog(t, a, 10*time.Second)
	b, _, _, _ := openBind(t, 0)
	bt := packet.NewBatch(4, 2048)
	bt.Append([]byte("after reopen"), Endpoint{})
	if err := b.Send(bt, Endpoint{Dst: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), p2)}); err != nil {
		t.Fatal(err)
	}
	if g := receiveN(t, fns[0], bt, 1); string(g[0].p) != "after reopen" {
		t.Fatalf("got %q", g[0].p)
	}
}

func getMark(t *testing.T, s *udpSocket) int {
	t.Helper()
	var v int
	var err error
	if cerr := s.rc.Control(func(fd uintptr) {
		v, err = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MARK)
	}); cerr != nil {
		t.Fatal(cerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSetMark(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SO_MARK needs CAP_NET_ADMIN: run as root")
	}
	b := NewStdNetBind()
	if err := b.SetMark(0x1234); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Open(0); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, s := range []*udpSocket{b.v4, b.v6} {
		if s != nil && getMark(t, s) != 0x1234 {
			t.Errorf("mark after Open = %#x, want 0x1234", getMark(t, s))
		}
	}
	if err := b.SetMark(0x42); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*udpSocket{b.v4, b.v6} {
		if s != nil && getMark(t, s) != 0x42 {
			t.Errorf("mark after SetMark = %#x, want 0x42", getMark(t, s))
		}
	}
}

func TestParseEndpoint(t *testing.T) {
	b := NewStdNetBind()
	ep, err := b.ParseEndpoint("[::ffff:1.2.3.4]:51820")
	if err != nil || ep.Dst != netip.MustParseAddrPort("1.2.3.4:51820") {
		t.Fatalf("ParseEndpoint: %v %v", ep, err)
	}
	if b.BatchSize() < 1 || b.BatchSize() > packet.MaxBatch {
		t.Fatalf("BatchSize %d", b.BatchSize())
	}
}

// loopbackRoundTrip sends bt (n datagrams) from b to dst and receives them
// all with recv into in; it reports whether all arrived.
func loopbackRoundTrip(b *StdNetBind, recv ReceiveFunc, out, in *packet.Batch, dst Endpoint) error {
	if err := b.Send(out, dst); err != nil {
		return err
	}
	for got := 0; got < out.N; {
		if err := recv(in); err != nil {
			return err
		}
		got += in.N
	}
	return nil
}

func TestZeroAllocsPerBatch(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items, so pooled senders get reallocated")
	}
	a, a4, _, pa := openBind(t, 0)
	b, _, _, _ := openBind(t, 0)
	watchdog(t, a, 15*time.Second)
	const n = 32
	out := packet.NewBatch(n, packet.SlotSize(1420))
	for i := range n {
		out.Append(payload(i, 1200), Endpoint{})
	}
	in := packet.NewBatch(StdBatchSize, packet.SlotSize(1420))
	dst := Endpoint{Dst: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), pa)}
	var err error
	allocs := testing.AllocsPerRun(200, func() {
		if e := loopbackRoundTrip(b, a4, out, in, dst); e != nil && err == nil {
			err = e
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// Sticky send path too.
	sticky := Endpoint{Dst: dst.Dst, Src: netip.MustParseAddr("127.0.0.1"), IfIndex: 1}
	allocsSticky := testing.AllocsPerRun(200, func() {
		if e := loopbackRoundTrip(b, a4, out, in, sticky); e != nil && err == nil {
			err = e
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("allocs per %d-datagram send+receive: %v (sticky source: %v)", n, allocs, allocsSticky)
	if allocs != 0 || allocsSticky != 0 {
		t.Errorf("allocs per batch = %v, sticky %v; want 0", allocs, allocsSticky)
	}
}

func BenchmarkLoopbackBatch(b *testing.B) {
	a := NewStdNetBind()
	fns, pa, err := a.Open(0)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	c := NewStdNetBind()
	if _, _, err := c.Open(0); err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	const n = 32
	out := packet.NewBatch(n, packet.SlotSize(1420))
	for i := range n {
		out.Append(payload(i, 1200), Endpoint{})
	}
	in := packet.NewBatch(StdBatchSize, packet.SlotSize(1420))
	dst := Endpoint{Dst: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), pa)}
	b.SetBytes(n * 1200)
	b.ReportAllocs()
	for b.Loop() {
		if err := loopbackRoundTrip(c, fns[0], out, in, dst); err != nil {
			b.Fatal(err)
		}
	}
}
