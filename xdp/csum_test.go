package xdp

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/conn"
	"github.com/wgxdp/wgxdp/packet"
)

// TestTxChecksum sends from the XDP path to B and checks the UDP checksum B
// receives, read from a raw socket: computed here (noTxCsum), and offloaded
// through TX metadata, with XDP_UMEM_TX_SW_CSUM so that the kernel
// finishes it in software at once (over veth a CHECKSUM_PARTIAL packet
// otherwise arrives unfinished, and is trusted as it is).
func TestTxChecksum(t *testing.T) {
	for _, tc := range []struct {
		name          string
		offload       bool
		noCsum, swCsm bool
	}{
		{"software", false, true, false},
		{"offload", true, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noTxCsum, testTxSwCsum = tc.noCsum, tc.swCsm
			defer func() { noTxCsum, testTxSwCsum = false, false }()
			tp := newTopo(t)
			bd, port, _, _ := openBind(t, tp, ModeNative)
			defer bd.Close()
			if got := bd.Interfaces()[0].TxCsumOffload; got != tc.offload {
				t.Fatalf("TX checksum offload %v, want %v", got, tc.offload)
			}
			for _, fam := range []struct {
				net        string
				aAddr, bAd netip.Addr
			}{{"4", tp.a4, tp.b4}, {"6", tp.a6, tp.b6}} {
				pc, err := tp.b.ListenPacket("udp"+fam.net, netip.AddrPortFrom(fam.bAd, 0).String())
				if err != nil {
					t.Fatal(err)
				}
				defer pc.Close()
				raw, err := tp.b.ListenPacket("ip"+fam.net+":17", fam.bAd.String())
				if err != nil {
					t.Fatal(err)
				}
				defer raw.Close()
				ep := conn.Endpoint{Dst: pc.LocalAddr().(*net.UDPAddr).AddrPort()}
				bt := packet.NewBatch(1, packet.SlotSize(1500))
				send := func(p []byte) {
					bt.Reset()
					bt.Append(p, ep)
					if err := bd.Send(bt, ep); err != nil {
						t.Fatal(err)
					}
				}
				deadline := time.Now().Add(5 * time.Second)
				for before := bd.Stats().TxRing; ; {
					send([]byte("warm-up"))
					if bd.Stats().TxRing > before {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("nothing went through the tx ring: %+v", bd.Stats())
					}
					time.Sleep(20 * time.Millisecond)
				}
				before := bd.Stats().TxRing
				for _, n := range []int{1, 2, 3, 100, 1001, 1400} {
					p := bytes.Repeat([]byte{byte(n)}, n)
					p[0] = 0xee // marks the datagrams to check
					send(p)
					if bd.Stats().TxRing == before {
						t.Fatalf("n=%d went through the socket", n)
					}
					before = bd.Stats().TxRing
					buf := make([]byte, 2000)
					raw.SetReadDeadline(time.Now().Add(5 * time.Second))
					for {
						k, _, err := raw.ReadFrom(buf)
						if err != nil {
							t.Fatalf("raw socket: %v", err)
						}
						udp := buf[:k]
						if k != udpLen+n || udp[udpLen] != 0xee || binary.BigEndian.Uint16(udp[2:]) != ep.Dst.Port() {
							continue // the warm-up, or someone else's
						}
						src := netip.AddrPortFrom(fam.aAddr, port)
						if got := netip.AddrPortFrom(src.Addr(), binary.BigEndian.Uint16(udp[0:])); got != src {
							t.Fatalf("from %v, want %v", got, src)
						}
						ps := sum16(fam.aAddr.AsSlice(), sum16(fam.bAd.AsSlice(), 17+uint32(k)))
						if c := fold(sum16(udp, ps)); c != 0xffff || binary.BigEndian.Uint16(udp[6:]) == 0 {
							t.Fatalf("v%s n=%d: UDP checksum %#04x verifies to %#x", fam.net, n, binary.BigEndian.Uint16(udp[6:]), c)
						}
						break
					}
				}
			}
		})
	}
}
