package xdp

import (
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/conn"
	"github.com/wgxdp/wgxdp/internal/netns"
	"github.com/wgxdp/wgxdp/packet"
)

// TestBindTwoInterfaces opens one Bind on both of A's veths, one to B and
// one to C: datagrams from B and from C arrive through the XSKs of the
// interface they came in on, datagrams to B and to C leave through the
// interface the route picks, and each interface's counters show it.
func TestBindTwoInterfaces(t *testing.T) {
	if err := netns.Available(); err != nil {
		t.Skip(err)
	}
	netns.Sweep(nsPrefix)
	newNS := func() *netns.Namespace {
		ns, err := netns.New(nsPrefix)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ns.Close() })
		return ns
	}
	a, b := newNS(), newNS()
	vb, err := netns.NewVeth(a, b, netns.VethQueues(2))
	if err != nil {
		t.Fatal(err)
	}
	var (
		c  *netns.Namespace
		vc *netns.Veth
	)
	for range 10 { // the two random /24s must differ
		c = newNS()
		if vc, err = netns.NewVeth(a, c, netns.VethQueues(2)); err != nil {
			t.Fatal(err)
		}
		if vc.A4.Masked() != vb.A4.Masked() && vc.A6.Masked() != vb.A6.Masked() {
			break
		}
		c.Close()
		vc = nil
	}
	if vc == nil {
		t.Fatal("no second subnet")
	}

	var (
		bd   *Bind
		fns  []conn.ReceiveFunc
		port uint16
	)
	if err := a.Do(func() (err error) {
		if bd, err = NewBind([]string{vb.NameA, vc.NameA}, ModeAuto); err != nil {
			return err
		}
		fns, port, err = bd.Open(0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer bd.Close()
	infos := bd.Interfaces()
	if len(infos) != 2 || infos[0].Name != vb.NameA || infos[1].Name != vc.NameA ||
		infos[0].Queues != 2 || infos[1].Queues != 2 || len(fns) != 4+2 {
		t.Fatalf("interfaces %+v, %d receive functions", infos, len(fns))
	}
	rx := make(chan rxMsg, 256)
	for _, f := range fns {
		go func() {
			bt := packet.NewBatch(bd.BatchSize(), packet.SlotSize(1500))
			for f(bt) == nil {
				for _, s := range bt.Packets() {
					rx <- rxMsg{slices.Clone(s.Data()), s.Ep}
				}
			}
		}()
	}

	for _, peer := range []struct {
		ns     *netns.Namespace
		addr   netip.Addr // the peer's
		aAddr  netip.Addr // A's on that link
		ifname string     // A's end
	}{
		{b, vb.B4.Addr(), vb.A4.Addr(), vb.NameA},
		{c, vc.B4.Addr(), vc.A4.Addr(), vc.NameA},
		{b, vb.B6.Addr(), vb.A6.Addr(), vb.NameA},
		{c, vc.B6.Addr(), vc.A6.Addr(), vc.NameA},
	} {
		var ni *net.Interface
		if err := a.Do(func() (err error) { ni, err = net.InterfaceByName(peer.ifname); return err }); err != nil {
			t.Fatal(err)
		}
		pc, err := peer.ns.ListenPacket("udp", netip.AddrPortFrom(peer.addr, 0).String())
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		peerAP := pc.LocalAddr().(*net.UDPAddr).AddrPort()

		// Peer → A: through that interface's rx ring.
		if _, err := pc.WriteTo([]byte("ping"), net.UDPAddrFromAddrPort(netip.AddrPortFrom(peer.aAddr, port))); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-rx:
			if string(m.data) != "ping" || m.ep.Dst != peerAP || m.ep.Src != peer.aAddr || m.ep.IfIndex != int32(ni.Index) {
				t.Fatalf("got %q from %v to %v on ifindex %d, want from %v to %v on %d",
					m.data, m.ep.Dst, m.ep.Src, m.ep.IfIndex, peerAP, peer.aAddr, ni.Index)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("nothing received from %v", peerAP)
		}

		// A → peer: once the neighbor is resolved, through the tx ring of
		// the interface the route picks.
		ep := conn.Endpoint{Dst: peerAP}
		bt := packet.NewBatch(1, packet.SlotSize(1500))
		buf := make([]byte, 100)
		deadline := time.Now().Add(5 * time.Second)
		for {
			before := ifaceStats(bd.Stats(), peer.ifname)
			bt.Reset()
			bt.Append([]byte("pong"), ep)
			if err := bd.Send(bt, ep); err != nil {
				t.Fatal(err)
			}
			pc.SetReadDeadline(time.Now().Add(5 * time.Second))
			k, from, err := pc.ReadFrom(buf)
			if err != nil || string(buf[:k]) != "pong" || from.(*net.UDPAddr).AddrPort() != netip.AddrPortFrom(peer.aAddr, port) {
				t.Fatalf("%v received %q from %v: %v", peerAP, buf[:k], from, err)
			}
			if ifaceStats(bd.Stats(), peer.ifname).TxRing > before.TxRing {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("nothing to %v went through %s's tx ring: %+v", peerAP, peer.ifname, bd.Stats())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	st := bd.Stats()
	t.Logf("%+v", st)
	for _, is := range st.Interfaces {
		if is.RxRing != 2 || is.TxRing < 2 {
			t.Errorf("%s: %d received and %d sent through its rings, want 2 and at least 2", is.Name, is.RxRing, is.TxRing)
		}
	}
	if st.RxSocket != 0 {
		t.Errorf("%d received through the sockets, want 0", st.RxSocket)
	}
}

func ifaceStats(s Stats, name string) InterfaceStats {
	for _, is := range s.Interfaces {
		if is.Name == name {
			return is
		}
	}
	return InterfaceStats{}
}
