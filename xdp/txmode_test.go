package xdp

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/conn"
	"github.com/wgxdp/wgxdp/packet"
)

func TestGSOBatch(t *testing.T) {
	for _, c := range []struct {
		sizes []int
		want  bool
	}{
		{nil, false},
		{[]int{100, 100, 100, 100, 100, 100, 100}, false}, // < GSOMinBatch
		{[]int{100, 100, 100, 100, 100, 100, 100, 100}, true},
		{[]int{100, 100, 100, 100, 100, 100, 100, 40}, true},   // shorter last
		{[]int{100, 100, 100, 100, 100, 100, 100, 101}, false}, // longer last
		{[]int{100, 100, 100, 99, 100, 100, 100, 100}, false},
	} {
		bt := packet.NewBatch(64, 256)
		for _, n := range c.sizes {
			bt.Append(make([]byte, n), conn.Endpoint{})
		}
		if got := gsoBatch(bt); got != c.want {
			t.Errorf("gsoBatch(%v) = %v, want %v", c.sizes, got, c.want)
		}
	}
}

// TestTxMode checks which path SetTxMode sends a batch through, and that
// the datagrams arrive intact either way.
func TestTxMode(t *testing.T) {
	tp := newTopo(t)
	bd, port, _, _ := openBind(t, tp, ModeNative)
	defer bd.Close()
	if err := bd.SetTxMode("bogus"); err == nil {
		t.Fatal("SetTxMode accepted a bogus mode")
	}
	pc, err := tp.b.ListenPacket("udp4", netip.AddrPortFrom(tp.b4, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ep := conn.Endpoint{Dst: pc.LocalAddr().(*net.UDPAddr).AddrPort()}
	bt := packet.NewBatch(64, packet.SlotSize(1500))
	send := func(sizes ...int) {
		t.Helper()
		bt.Reset()
		var want [][]byte
		for i, n := range sizes {
			p := bytes.Repeat([]byte{byte(i)}, n)
			bt.Append(p, ep)
			want = append(want, p)
		}
		if err := bd.Send(bt, ep); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 2000)
		pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		for i, w := range want {
			k, from, err := pc.ReadFrom(buf)
			if err != nil {
				t.Fatalf("received %d of %d: %v", i, len(want), err)
			}
			if !bytes.Equal(buf[:k], w) || from.(*net.UDPAddr).AddrPort() != netip.AddrPortFrom(tp.a4, port) {
				t.Fatalf("datagram %d: %d bytes from %v, want %d bytes from %v:%d", i, k, from, len(w), tp.a4, port)
			}
		}
	}
	// Until the neighbor is known the XDP path sends through the socket.
	for deadline := time.Now().Add(5 * time.Second); bd.Stats().TxRing == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("nothing went through the tx ring: %+v", bd.Stats())
		}
		send(100)
	}
	uniform := []int{300, 300, 300, 300, 300, 300, 300, 300, 300, 120}
	mixed := []int{300, 200, 300, 200, 300, 200, 300, 200, 300, 120}
	for _, c := range []struct {
		mode     string
		sizes    []int
		toSocket bool
	}{
		{TxXSK, uniform, false},
		{TxAuto, uniform, true},
		{TxAuto, mixed, false},
		{TxAuto, uniform[:GSOMinBatch-1], false},
		{TxSocket, mixed, true},
		{"", uniform, false}, // the default: xsk
	} {
		if err := bd.SetTxMode(c.mode); err != nil {
			t.Fatal(err)
		}
		before := bd.Stats()
		send(c.sizes...)
		st := bd.Stats()
		ring, sock := st.TxRing-before.TxRing, st.TxSocket-before.TxSocket
		if want := uint64(len(c.sizes)); c.toSocket && (sock != want || ring != 0) || !c.toSocket && (ring != want || sock != 0) {
			t.Errorf("mode %q, %d datagrams: %d through the ring, %d through the socket; want all through the socket: %v",
				c.mode, len(c.sizes), ring, sock, c.toSocket)
		}
	}
}
