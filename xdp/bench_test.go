package xdp

import (
	"net"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/conn"
	"github.com/wgxdp/wgxdp/packet"
)

// BenchmarkSend sends batches of 64 datagrams of 1000 bytes from A to a
// socket in B that does not read (the kernel drops what overflows): through
// the TX ring with the UDP checksum offloaded by TX metadata (xsk) or
// computed here (xsk-swcsum), and through conn.StdNetBind for comparison.
func BenchmarkSend(b *testing.B) {
	for _, name := range []string{"xsk", "xsk-swcsum", "std"} {
		b.Run(name, func(b *testing.B) {
			noTxCsum = name == "xsk-swcsum"
			defer func() { noTxCsum = false }()
			tp := newTopo(b)
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
			bt := packet.NewBatch(64, packet.SlotSize(1500))
			for range 64 {
				bt.Append(make([]byte, 1000), ep)
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
			b.SetBytes(64 * 1000)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := bind.Send(bt, ep); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(64*b.N)/b.Elapsed().Seconds(), "datagrams/s")
			if bd, ok := bind.(*Bind); ok && bd.Stats().TxSocket > 64*10 {
				b.Fatalf("XDP path not used: %+v", bd.Stats())
			}
		})
	}
}
