package xdp

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/conn"
	"github.com/wgxdp/wgxdp/internal/netns"
	"github.com/wgxdp/wgxdp/packet"
)

const nsPrefix = "xskt"

// topo is two namespaces joined by a veth pair with 2 queues each way.
type topo struct {
	a, b           *netns.Namespace
	ifA, ifB       string
	a4, b4, a6, b6 netip.Addr
}

func newTopo(t testing.TB) *topo {
	t.Helper()
	if err := netns.Available(); err != nil {
		t.Skip(err)
	}
	netns.Sweep(nsPrefix)
	a, err := netns.New(nsPrefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err := netns.New(nsPrefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	id := netns.RandomName("xk", 8)
	tp := &topo{a: a, b: b, ifA: id + "a", ifB: id + "b",
		a4: netip.MustParseAddr("10.251.7.1"), b4: netip.MustParseAddr("10.251.7.2"),
		a6: netip.MustParseAddr("fd98:7::1"), b6: netip.MustParseAddr("fd98:7::2")}
	if _, err := a.Run("ip", "link", "add", tp.ifA, "numrxqueues", "2", "numtxqueues", "2", "type", "veth",
		"peer", "name", tp.ifB, "numrxqueues", "2", "numtxqueues", "2", "netns", b.Name); err != nil {
		t.Fatal(err)
	}
	for _, e := range []struct {
		ns     *netns.Namespace
		dev    string
		p4, p6 netip.Addr
	}{{a, tp.ifA, tp.a4, tp.a6}, {b, tp.ifB, tp.b4, tp.b6}} {
		for _, args := range [][]string{
			{"addr", "add", e.p4.String() + "/24", "dev", e.dev},
			{"addr", "add", e.p6.String() + "/64", "dev", e.dev, "nodad"},
			{"link", "set", e.dev, "up"},
		} {
			if _, err := e.ns.Run("ip", args...); err != nil {
				t.Fatal(err)
			}
		}
	}
	return tp
}

// xdpAttached reports whether ip-link shows an XDP program on ifA.
func (tp *topo) xdpAttached(t testing.TB) bool {
	t.Helper()
	out, err := tp.a.Run("ip", "link", "show", "dev", tp.ifA)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(out, "prog/xdp")
}

type rxMsg struct {
	data []byte
	ep   conn.Endpoint
}

// openBind opens a Bind on ifA inside A and runs its receive functions
// into a channel until it closes.
func openBind(t testing.TB, tp *topo, mode string) (*Bind, uint16, <-chan rxMsg, *sync.WaitGroup) {
	t.Helper()
	return openBindSlots(t, tp, mode, packet.SlotSize(1500))
}

// newOpenBind makes a Bind on ifA inside A and opens it on a free port.
func newOpenBind(t testing.TB, tp *topo, mode string) (*Bind, []conn.ReceiveFunc, uint16) {
	t.Helper()
	var (
		bd   *Bind
		fns  []conn.ReceiveFunc
		port uint16
	)
	err := tp.a.Do(func() (err error) {
		if bd, err = NewBind([]string{tp.ifA}, mode); err != nil {
			return err
		}
		fns, port, err = bd.Open(0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return bd, fns, port
}

// openBindSlots is openBind with receive batches of slotSize-byte slots.
func openBindSlots(t testing.TB, tp *topo, mode string, slotSize int) (*Bind, uint16, <-chan rxMsg, *sync.WaitGroup) {
	t.Helper()
	bd, fns, port := newOpenBind(t, tp, mode)
	ch := make(chan rxMsg, 1024)
	var wg sync.WaitGroup
	for _, f := range fns {
		wg.Go(func() {
			bt := packet.NewBatch(bd.BatchSize(), slotSize)
			for {
				err := f(bt)
				for _, s := range bt.Packets() {
					ch <- rxMsg{bytes.Clone(s.Data()), s.Ep}
				}
				if errors.Is(err, net.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("receive: %v", err)
					return
				}
			}
		})
	}
	return bd, port, ch, &wg
}

func TestBind(t *testing.T) {
	for _, mode := range []string{ModeNative, ModeGeneric} {
		t.Run(mode, func(t *testing.T) { testBind(t, mode) })
	}
}

func testBind(t *testing.T, mode string) {
	tp := newTopo(t)
	bd, port, rx, wg := openBind(t, tp, mode)
	closed := false
	defer func() {
		if !closed {
			bd.Close()
		}
	}()
	if got, want := bd.Interfaces(), []InterfaceInfo{{tp.ifA, mode, 2, UmemFrames, true, false}}; !slices.Equal(got, want) {
		t.Fatalf("interfaces %+v, want %+v", got, want)
	}
	if !tp.xdpAttached(t) {
		t.Fatal("no XDP program on the interface after Open")
	}

	for _, fam := range []struct {
		name     string
		aAddr    netip.Addr
		bAddr    netip.Addr
		listenOn string
	}{
		{"v4", tp.a4, tp.b4, "udp4"},
		{"v6", tp.a6, tp.b6, "udp6"},
	} {
		t.Run(fam.name, func(t *testing.T) {
			pc, err := tp.b.ListenPacket(fam.listenOn, netip.AddrPortFrom(fam.bAddr, 0).String())
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			bAP := pc.LocalAddr().(*net.UDPAddr).AddrPort()
			to := net.UDPAddrFromAddrPort(netip.AddrPortFrom(fam.aAddr, port))

			// B → A: through the rx ring.
			before := bd.Stats()
			const n = 50
			for i := range n {
				if _, err := pc.WriteTo(fmt.Appendf(nil, "%s-hello-%d", fam.name, i), to); err != nil {
					t.Fatal(err)
				}
			}
			for i := range n {
				select {
				case m := <-rx:
					// Order across the two queues is not guaranteed.
					if !strings.HasPrefix(string(m.data), fam.name+"-hello-") {
						t.Fatalf("got %q", m.data)
					}
					if m.ep.Dst != bAP || m.ep.Src != fam.aAddr {
						t.Fatalf("endpoint %v src %v, want %v src %v", m.ep.Dst, m.ep.Src, bAP, fam.aAddr)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("received %d of %d", i, n)
				}
			}
			st := bd.Stats()
			if st.RxRing-before.RxRing != n || st.RxSocket != before.RxSocket {
				t.Fatalf("stats %+v → %+v: want %d more through the ring, none through the socket", before, st, n)
			}

			// A → B: until the kernel has the neighbor as reachable the
			// Bind sends through its socket (which makes the kernel
			// confirm it); then through the tx ring, byte-exact.
			ep := conn.Endpoint{Dst: bAP}
			bt := packet.NewBatch(64, packet.SlotSize(1500))
			recv := func(want [][]byte) {
				t.Helper()
				buf := make([]byte, 2000)
				pc.SetReadDeadline(time.Now().Add(5 * time.Second))
				for i, w := range want {
					k, from, err := pc.ReadFrom(buf)
					if err != nil {
						t.Fatalf("B received %d of %d: %v", i, len(want), err)
					}
					if !bytes.Equal(buf[:k], w) {
						t.Fatalf("datagram %d: %d bytes %x..., want %d bytes", i, k, buf[:min(k, 16)], len(w))
					}
					if got := from.(*net.UDPAddr).AddrPort(); got != netip.AddrPortFrom(fam.aAddr, port) {
						t.Fatalf("from %v, want %v:%d", got, fam.aAddr, port)
					}
				}
			}
			fillBatch := func(count, size int, tag byte) [][]byte {
				bt.Reset()
				var want [][]byte
				for i := range count {
					p := make([]byte, size+i)
					for j := range p {
						p[j] = byte(j*31) ^ tag ^ byte(i)
					}
					bt.Append(p, ep)
					want = append(want, p)
				}
				return want
			}
			deadline := time.Now().Add(5 * time.Second)
			for tag := byte(0); bd.Stats().TxRing == st.TxRing; tag++ {
				if time.Now().After(deadline) {
					t.Fatalf("nothing went through the tx ring: %+v", bd.Stats())
				}
				want := fillBatch(1, 100, tag)
				if err := bd.Send(bt, ep); err != nil {
					t.Fatal(err)
				}
				recv(want)
				time.Sleep(20 * time.Millisecond)
			}
			before = bd.Stats()
			for _, size := range []int{1, 148, 1380} {
				want := fillBatch(64, size, byte(size))
				if err := bd.Send(bt, ep); err != nil {
					t.Fatal(err)
				}
				recv(want)
			}
			if st := bd.Stats(); st.TxRing-before.TxRing != 3*64 || st.TxSocket != before.TxSocket {
				t.Fatalf("stats %+v → %+v: want %d more through the tx ring", before, st, 3*64)
			}
		})
	}

	// Other traffic still reaches A's stack.
	if _, err := tp.b.Run("ping", "-c", "1", "-W", "2", tp.a4.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := tp.b.Run("ping", "-6", "-c", "1", "-W", "2", tp.a6.String()); err != nil {
		t.Fatal(err)
	}
	other, err := tp.a.ListenPacket("udp4", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	pc, err := tp.b.ListenPacket("udp4", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	otherPort := other.LocalAddr().(*net.UDPAddr).Port
	if _, err := pc.WriteTo([]byte("other"), &net.UDPAddr{IP: tp.a4.AsSlice(), Port: otherPort}); err != nil {
		t.Fatal(err)
	}
	other.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 100)
	if k, _, err := other.ReadFrom(buf); err != nil || string(buf[:k]) != "other" {
		t.Fatalf("UDP to another port: %q %v", buf[:k], err)
	}

	if err := bd.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("receive functions did not return after Close")
	}
	if tp.xdpAttached(t) {
		t.Fatal("XDP program still attached after Close")
	}
	bt := packet.NewBatch(1, 256)
	bt.Append([]byte("x"), conn.Endpoint{})
	if err := bd.Send(bt, conn.Endpoint{Dst: netip.AddrPortFrom(tp.b4, 1)}); !errors.Is(err, conn.ErrBindClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
}

// TestBindReopen opens, closes and opens again on a fixed port.
func TestBindReopen(t *testing.T) {
	tp := newTopo(t)
	bd, port, _, wg := openBind(t, tp, ModeAuto)
	bd.Close()
	wg.Wait()
	err := tp.a.Do(func() error {
		fns, p2, err := bd.Open(port)
		if err != nil {
			return err
		}
		if p2 != port || len(fns) != 4 {
			return fmt.Errorf("reopen: port %d fns %d", p2, len(fns))
		}
		return bd.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestNotSupported: an interface without Ethernet addresses (lo) is
// refused with ErrNotSupported, and the port is released.
func TestNotSupported(t *testing.T) {
	tp := newTopo(t)
	err := tp.a.Do(func() error {
		bd, err := NewBind([]string{"lo"}, ModeAuto)
		if err != nil {
			return err
		}
		_, _, err = bd.Open(0)
		if !errors.Is(err, ErrNotSupported) {
			return fmt.Errorf("Open on lo: %v, want ErrNotSupported", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewBind([]string{"nonexistent0"}, ModeAuto); err == nil {
		t.Fatal("NewBind on a missing interface succeeded")
	}
	if _, err := NewBind([]string{"lo"}, "turbo"); err == nil {
		t.Fatal("NewBind with a bad mode succeeded")
	}
}

// TestBindKilled: a process holding the Bind is killed with SIGKILL, and
// the bpf_link takes the program with it.
func TestBindKilled(t *testing.T) {
	if os.Getenv("WGXDP_XDP_HELPER") != "" {
		t.Skip("helper")
	}
	tp := newTopo(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(t.TempDir(), "helper.log")
	p, err := tp.a.Start(log, []string{"WGXDP_XDP_HELPER=" + tp.ifA}, exe, "-test.run=^TestHelperHold$", "-test.v")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !tp.xdpAttached(t) {
		if time.Now().After(deadline) || p.Exited() {
			out, _ := os.ReadFile(log)
			t.Fatalf("helper never attached: %s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := p.Cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	deadline = time.Now().Add(5 * time.Second)
	for tp.xdpAttached(t) {
		if time.Now().After(deadline) {
			t.Fatal("XDP program still attached after the holder was killed")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestHelperHold runs only as TestBindKilled's subprocess: it opens a Bind
// (in the namespace it was started in) and waits to be killed.
func TestHelperHold(t *testing.T) {
	ifname := os.Getenv("WGXDP_XDP_HELPER")
	if ifname == "" {
		t.Skip("subprocess of TestBindKilled")
	}
	bd, err := NewBind([]string{ifname}, ModeAuto)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := bd.Open(0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Minute)
}
