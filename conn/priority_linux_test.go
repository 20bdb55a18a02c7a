package conn

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wgxdp/wgxdp/internal/rtlane"
	"github.com/wgxdp/wgxdp/packet"
)

// TestMain turns the priority socket off for the package's other tests:
// they read everything from the first receive function of a family. The
// tests here ask for it with the PriorityMax field, which wins over the
// environment.
func TestMain(m *testing.M) {
	os.Setenv(envPriority, "0")
	os.Exit(m.Run())
}

// openPrio opens b on port 0 and returns its receive functions in Open's
// order: IPv4 main, IPv4 priority, IPv6 main, IPv6 priority.
func openPrio(t *testing.T, b *StdNetBind) (fns []ReceiveFunc, port uint16) {
	t.Helper()
	fns, port, err := b.Open(0)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	st := b.OffloadStats()
	if !st.Priority4 || (b.v6 != nil && !st.Priority6) {
		t.Fatalf("no priority socket: %+v", st)
	}
	if want := 2 + 2*btoi(b.v6 != nil); len(fns) != want {
		t.Fatalf("%d receive functions, want %d", len(fns), want)
	}
	return fns, port
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestPrioritySocket: datagrams of at most PriorityMax bytes arrive on the
// priority socket's receive function, longer ones and GSO runs of small
// ones (one skb longer than the threshold) on the main one; both
// families; the counters add up.
func TestPrioritySocket(t *testing.T) {
	rx := &StdNetBind{PriorityMax: 256}
	fns, port := openPrio(t, rx)
	tx := &StdNetBind{PriorityMax: -1}
	openWith(t, tx)
	watchdog(t, rx, 20*time.Second)
	watchdog(t, tx, 20*time.Second)
	in := packet.NewBatch(StdBatchSize, packet.SlotSize(1500))
	for fam, addr := range []string{"127.0.0.1", "::1"} {
		if fam == 1 && rx.v6 == nil {
			continue
		}
		main, prio := fns[2*fam], fns[2*fam+1]
		dst := Endpoint{Dst: netip.AddrPortFrom(netip.MustParseAddr(addr), port)}
		for _, c := range []struct {
			name  string
			sizes []int
			prio  bool
		}{
			{"small", []int{32}, true},
			{"at the threshold", []int{256}, true},
			{"above", []int{257}, false},
			{"full size", []int{1452}, false},
			// Sent as one GSO skb of 20×96 bytes where GSO works: the
			// program sees 1920 bytes. Without GSO they are single
			// datagrams and go to the priority socket.
			{"gso run of small", repeat(96, 20), !tx.OffloadStats().GSO4},
		} {
			out := fillBatch(c.sizes)
			if err := tx.Send(out, dst); err != nil {
				t.Fatalf("%s %s: Send: %v", addr, c.name, err)
			}
			fn := main
			if c.prio {
				fn = prio
			}
			got := receiveN(t, fn, in, len(c.sizes))
			for i, g := range got {
				if len(g.p) != c.sizes[i] {
					t.Errorf("%s %s: datagram %d is %d bytes, want %d", addr, c.name, i, len(g.p), c.sizes[i])
				}
				if g.express != c.prio {
					t.Errorf("%s %s: datagram %d Express=%v", addr, c.name, i, g.express)
				}
			}
		}
	}
	st := rx.OffloadStats()
	if st.PriorityDatagrams == 0 || st.Datagrams <= st.PriorityDatagrams {
		t.Errorf("counters: %d datagrams, %d on the priority sockets", st.Datagrams, st.PriorityDatagrams)
	}
}

func repeat(n, count int) []int {
	s := make([]int, count)
	for i := range s {
		s[i] = n
	}
	return s
}

// TestPriorityPortExclusive: the port stays as exclusive as without the
// priority socket — a second StdNetBind, or a plain socket, cannot bind
// it — and Close frees it for a new Open, which gets its priority sockets
// again.
func TestPriorityPortExclusive(t *testing.T) {
	a := &StdNetBind{PriorityMax: 256}
	_, port := openPrio(t, a)
	for _, b := range []*StdNetBind{{PriorityMax: 256}, {PriorityMax: -1}} {
		if _, _, err := b.Open(port); !errors.Is(err, syscall.EADDRINUSE) {
			b.Close()
			t.Fatalf("second Open(%d) (PriorityMax %d): %v, want EADDRINUSE", port, b.PriorityMax, err)
		}
	}
	if c, err := net.ListenPacket("udp4", ":"+strconv.Itoa(int(port))); err == nil {
		c.Close()
		t.Fatalf("a plain socket could bind port %d", port)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Open(port); err != nil {
		t.Fatalf("reopen on %d: %v", port, err)
	}
	if st := a.OffloadStats(); !st.Priority4 {
		t.Fatalf("reopened without a priority socket: %+v", st)
	}
	a.Close()
}

// TestPriorityOff: WGXDP_UDP_PRIORITY=0 (TestMain) and a negative
// PriorityMax leave one socket per family.
func TestPriorityOff(t *testing.T) {
	for _, b := range []*StdNetBind{{}, {PriorityMax: -1}} {
		fns, _, err := b.Open(0)
		if err != nil {
			t.Fatal(err)
		}
		st := b.OffloadStats()
		if st.Priority4 || st.Priority6 || len(fns) > 2 {
			t.Errorf("PriorityMax %d: %d receive functions, %+v", b.PriorityMax, len(fns), st)
		}
		b.Close()
	}
	t.Setenv(envPriority, "300")
	if got := (&StdNetBind{}).priorityMax(); got != 300 {
		t.Errorf("WGXDP_UDP_PRIORITY=300: %d", got)
	}
	t.Setenv(envPriority, "")
	if got := (&StdNetBind{}).priorityMax(); got != DefaultPriorityMax {
		t.Errorf("default: %d", got)
	}
}

// TestPriorityRealtime: the priority socket's receive function runs on a
// SCHED_FIFO thread (as root), and a flood of small datagrams — more than
// the lane's budget in one window — sends it back to SCHED_OTHER and is
// counted, while every datagram still arrives.
func TestPriorityRealtime(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_SYS_NICE) for SCHED_FIFO")
	}
	t.Setenv(rtlane.Env, "")
	// A budget this test's sender can exceed on a busy machine: 50 per
	// 100 ms.
	defer func(w time.Duration, b int) { rtlane.Window, rtlane.Budget = w, b }(rtlane.Window, rtlane.Budget)
	rtlane.Window, rtlane.Budget = 100*time.Millisecond, 50
	rx := &StdNetBind{PriorityMax: 256}
	fns, port := openPrio(t, rx)
	tx := &StdNetBind{PriorityMax: -1, DisableGSO: true} // one skb per datagram
	openWith(t, tx)
	watchdog(t, rx, 20*time.Second)
	dst := Endpoint{Dst: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)}
	type result struct {
		first, after uint32 // policies after the first datagram, after the demotion
		n            int
		err          error
	}
	res := make(chan result, 1)
	go func() {
		// The receive function locks this goroutine to its thread; the
		// thread ends with it. It reads until the lane was demoted: on a
		// busy machine the socket may drop some of the flood, so no fixed
		// count is waited for.
		var r result
		in := packet.NewBatch(StdBatchSize, packet.SlotSize(1500))
		for rx.OffloadStats().RealtimeDemotions == 0 {
			if r.err = fns[1](in); r.err != nil {
				break
			}
			if r.n == 0 {
				a, _ := unix.SchedGetAttr(0, 0)
				r.first = a.Policy
			}
			r.n += in.N
		}
		a, _ := unix.SchedGetAttr(0, 0)
		r.after = a.Policy
		res <- r
	}()
	if err := tx.Send(fillBatch([]int{64}), dst); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	// Flood until the receiver reports back (the watchdog bounds it).
	var r result
	for sent := 0; ; sent += 100 {
		select {
		case r = <-res:
		default:
			if err := tx.Send(fillBatch(repeat(64, 100)), dst); err != nil {
				t.Fatalf("after %d datagrams sent: %v", sent, err)
			}
			if sent%1000 == 0 {
				time.Sleep(time.Millisecond)
			}
			continue
		}
		break
	}
	if r.err != nil {
		t.Fatalf("after %d datagrams, no demotion: %v", r.n, r.err)
	}
	if r.first != unix.SCHED_FIFO {
		t.Errorf("policy %d on the first datagram, want SCHED_FIFO", r.first)
	}
	st := rx.OffloadStats()
	if st.RealtimeDemotions == 0 || r.after != unix.SCHED_NORMAL {
		t.Errorf("after %d datagrams: %d demotions, policy %d; want ≥ 1 and SCHED_OTHER", r.n, st.RealtimeDemotions, r.after)
	}
}

// TestPriorityCloseWakes: Close of a Bind whose realtime receiver waits in
// poll(2) returns at once (the Waker), not after the poll timeout, and the
// receiver gets net.ErrClosed.
func TestPriorityCloseWakes(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_SYS_NICE) for SCHED_FIFO")
	}
	t.Setenv(rtlane.Env, "")
	rx := &StdNetBind{PriorityMax: 256}
	fns, _ := openPrio(t, rx)
	errc := make(chan error, 1)
	go func() {
		in := packet.NewBatch(StdBatchSize, packet.SlotSize(1500))
		errc <- fns[1](in)
	}()
	time.Sleep(30 * time.Millisecond) // the receiver is in its wait
	start := time.Now()
	if err := rx.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > rtlane.PollTimeout/2 {
		t.Errorf("Close took %v with a realtime receiver waiting", d)
	}
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Errorf("receiver: %v, want net.ErrClosed", err)
	}
}
