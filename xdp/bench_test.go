package xdp

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/conn"
	"github.com/wgxdp/wgxdp/packet"
)

// BenchmarkSend sends batches of datagrams from A to a socket in B that
// does not read (the kernel drops what overflows): through the TX ring
// with the UDP checksum offloaded by TX metadata (xsk) or computed here
// (xsk-swcsum), and through conn.StdNetBind (sendmmsg, UDP GSO) for
// comparison; batches of 1 and 64 datagrams of 128 bytes (a small inner
// packet) and 1000 bytes. The time per datagram includes the kernel's
// work, on the sending CPU, of carrying it across the veth into B.
func BenchmarkSend(b *testing.B) {
	for _, name := range []string{"xsk", "xsk-swcsum", "std"} {
		for _, batch := range []int{1, 64} {
			for _, size := range []int{128, 1000} {
				b.Run(fmt.Sprintf("%s/batch=%d/size=%d", name, batch, size), func(b *testing.B) {
					benchmarkSend(b, name, 1500, batch, size)
				})
			}
		}
	}
}

// BenchmarkSendJumbo is BenchmarkSend over a 9000-MTU veth, where an
// 8000-byte datagram spans two tx frames (multi-buffer AF_XDP).
func BenchmarkSendJumbo(b *testing.B) {
	for _, name := range []string{"xsk", "xsk-swcsum", "std"} {
		for _, size := range []int{1000, 3000, 8000} {
			b.Run(fmt.Sprintf("%s/batch=64/size=%d", name, size), func(b *testing.B) {
				benchmarkSend(b, name, 9000, 64, size)
			})
		}
	}
}

func benchmarkSend(b *testing.B, name string, mtu, batch, size int) {
	noTxCsum = name == "xsk-swcsum"
	defer func() { noTxCsum = false }()
	tp := newTopo(b)
	tp.setMTU(b, mtu)
	pc, err := tp.b.ListenPacket("udp4", tp.b4.String()+":0")
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	ep := conn.Endpoint{Dst: pc.LocalAddr().(*net.UDPAddr).AddrPort()}
	var bind conn.Bind
	if name != "std" {
		bd, _, _, _ := openBind(b, tp, ModeNative)
		defer bd.Close()
		bind = bd
	} else {
		sb := conn.NewStdNetBind()
		if err := tp.a.Do(func() error { _, _, err := sb.Open(0); return err }); err != nil {
			b.Fatal(err)
		}
		defer sb.Close()
		bind = sb
	}
	bt := packet.NewBatch(batch, packet.SlotSize(mtu))
	for range batch {
		bt.Append(make([]byte, size), ep)
	}
	// Let the neighbor become usable for the XDP path.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		bind.Send(bt, ep)
		if bd, ok := bind.(*Bind); !ok || bd.Stats().TxRing > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.SetBytes(int64(batch * size))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := bind.Send(bt, ep); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(batch*b.N), "ns/datagram")
	if bd, ok := bind.(*Bind); ok && bd.Stats().TxSocket > uint64(batch*10) {
		b.Fatalf("XDP path not used: %+v", bd.Stats())
	}
}
