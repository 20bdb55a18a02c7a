package xdp

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/conn"
	"github.com/wgxdp/wgxdp/packet"
)

// TestStaleNeighbor: when the kernel's entry for the next hop is stale
// (nothing the XDP path sends ever confirms it), the XDP path goes on
// sending through it and has the kernel check it again, which takes it
// out of STALE.
func TestStaleNeighbor(t *testing.T) {
	tp := newTopo(t)
	bd, _, _, _ := openBind(t, tp, ModeNative)
	defer bd.Close()
	pc, err := tp.b.ListenPacket("udp4", netip.AddrPortFrom(tp.b4, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() { // drain
		buf := make([]byte, 2000)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	ep := conn.Endpoint{Dst: pc.LocalAddr().(*net.UDPAddr).AddrPort()}
	bt := packet.NewBatch(1, packet.SlotSize(1500))
	send := func() {
		bt.Reset()
		bt.Append([]byte("x"), ep)
		if err := bd.Send(bt, ep); err != nil {
			t.Fatal(err)
		}
	}
	state := func() string {
		out, err := tp.a.Run("ip", "neigh", "show", tp.b4.String(), "dev", tp.ifA)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	deadline := time.Now().Add(5 * time.Second)
	for bd.Stats().TxRing == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("nothing went through the tx ring: %+v", bd.Stats())
		}
		send()
		time.Sleep(20 * time.Millisecond)
	}
	// Make the entry stale, as time would (the XDP path never confirms it).
	f := strings.Fields(state())
	if len(f) < 4 || f[1] != "lladdr" {
		t.Fatalf("entry: %q", state())
	}
	if _, err := tp.a.Run("ip", "neigh", "change", tp.b4.String(), "lladdr", f[2], "dev", tp.ifA, "nud", "stale"); err != nil {
		t.Fatal(err)
	}
	t.Logf("before: %s", state())
	before := bd.Stats()
	// Past the cached lookup, so the next send looks the entry up again.
	time.Sleep(hopTTL + 100*time.Millisecond)
	send()
	after := bd.Stats()
	if after.TxRing != before.TxRing+1 || after.TxSocket != before.TxSocket {
		t.Fatalf("stats %+v → %+v: the datagram to a stale neighbor did not take the tx ring", before, after)
	}
	// The kernel checks the entry again: DELAY, PROBE, then REACHABLE.
	s := state()
	deadline = time.Now().Add(10 * time.Second)
	for strings.Contains(s, "STALE") {
		if time.Now().After(deadline) {
			t.Fatalf("the entry is still stale after the send: %s", s)
		}
		time.Sleep(50 * time.Millisecond)
		s = state()
	}
	t.Logf("after: %s", s)
}
