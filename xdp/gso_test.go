package xdp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/conn"
	"github.com/wgxdp/wgxdp/packet"
)

// TestGSOFromLocalPeer sends UDP GSO batches from a socket in B (as
// conn.StdNetBind sends runs of equal-size datagrams, and wireguard-go
// does) to the Bind in A: each datagram must come out on its own, whatever
// path the batch took to the Bind.
func TestGSOFromLocalPeer(t *testing.T) {
	testGSOFromLocalPeer(t, 1500, []struct{ n, size int }{{2, 128}, {8, 128}, {13, 128}, {3, 600}, {40, 1400}})
}

// TestGSOFromLocalPeerJumbo is TestGSOFromLocalPeer at MTU 9000: in
// generic mode a GSO packet that spans several frames but fits the MTU
// (the first three cases) is received as a chain and split here; a longer
// one goes to the stack and the UDP socket.
func TestGSOFromLocalPeerJumbo(t *testing.T) {
	testGSOFromLocalPeer(t, 9000, []struct{ n, size int }{{2, 3000}, {3, 2900}, {8, 1000}, {20, 1400}, {3, 8000}})
}

func testGSOFromLocalPeer(t *testing.T, mtu int, cases []struct{ n, size int }) {
	for _, mode := range []string{ModeNative, ModeGeneric} {
		t.Run(mode, func(t *testing.T) {
			tp := newTopo(t)
			tp.setMTU(t, mtu)
			bd, port, rx, _ := openBindSlots(t, tp, mode, packet.SlotSize(mtu+64))
			defer bd.Close()
			sb := conn.NewStdNetBind()
			if err := tp.b.Do(func() error { _, _, err := sb.Open(0); return err }); err != nil {
				t.Fatal(err)
			}
			defer sb.Close()
			ep := conn.Endpoint{Dst: netip.AddrPortFrom(tp.a4, port)}
			for _, c := range cases {
				bt := packet.NewBatch(64, packet.SlotSize(mtu))
				for i := range c.n {
					p := make([]byte, c.size-i/(c.n-1)*c.size/2) // the last is shorter
					for j := range p {
						p[j] = byte(i)
					}
					copy(p, []byte{4, 0, 0, 0, 1, 2, 3, 4}) // a transport header
					p[8] = byte(i)
					bt.Append(p, ep)
				}
				if err := sb.Send(bt, ep); err != nil {
					t.Fatal(err)
				}
				for i := range c.n {
					select {
					case m := <-rx:
						if want := bt.Slots[i].Data(); string(m.data) != string(want) {
							t.Fatalf("%d×%d: datagram %d: %d bytes, want %d", c.n, c.size, i, len(m.data), len(want))
						}
					case <-time.After(3 * time.Second):
						t.Fatalf("%d×%d: received %d datagrams; stats %+v, sender %+v", c.n, c.size, i, bd.Stats(), sb.OffloadStats())
					}
				}
			}
		})
	}
}
