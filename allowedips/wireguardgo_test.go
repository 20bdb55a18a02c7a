package allowedips

import (
	"net/netip"
	"testing"

	"golang.zx2c4.com/wireguard/device"
)

// BenchmarkLookupWireguardGo is BenchmarkLookup on wireguard-go's table,
// with the same prefixes and addresses, for the side-by-side ratio.
func BenchmarkLookupWireguardGo(b *testing.B) {
	for _, v6 := range []bool{false, true} {
		name := "v4"
		if v6 {
			name = "v6"
		}
		ours, ips := benchTable(10000, v6)
		var theirs device.AllowedIPs
		peers := map[*int]*device.Peer{}
		for p, set := range ours.byPeer {
			peers[p] = new(device.Peer)
			for prefix := range set {
				theirs.Insert(prefix, peers[p])
			}
		}
		// The two tables must agree before their speeds are compared.
		for _, ip := range ips {
			want, _ := ours.Lookup(ip)
			if got := theirs.Lookup(ip); got != peers[want] {
				a, _ := netip.AddrFromSlice(ip)
				b.Fatalf("tables disagree on %s", a)
			}
		}
		b.Run(name+"/10k", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				theirs.Lookup(ips[i%len(ips)])
			}
		})
	}
}
