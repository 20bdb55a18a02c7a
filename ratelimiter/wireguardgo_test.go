package ratelimiter

import (
	"net/netip"
	"sync/atomic"
	"testing"

	"golang.zx2c4.com/wireguard/ratelimiter"
)

// BenchmarkAllowWireguardGo is BenchmarkAllow's known-source cases on
// wireguard-go's limiter, for the side-by-side ratio.
func BenchmarkAllowWireguardGo(b *testing.B) {
	b.Run("known", func(b *testing.B) {
		var l ratelimiter.Ratelimiter
		l.Init()
		defer l.Close()
		ip := netip.MustParseAddr("192.0.2.1")
		b.ReportAllocs()
		for b.Loop() {
			l.Allow(ip)
		}
	})
	b.Run("known-parallel", func(b *testing.B) {
		var l ratelimiter.Ratelimiter
		l.Init()
		defer l.Close()
		b.ReportAllocs()
		var n atomic.Int32
		b.RunParallel(func(pb *testing.PB) {
			ip := netip.AddrFrom4([4]byte{10, 0, 0, byte(n.Add(1))})
			for pb.Next() {
				l.Allow(ip)
			}
		})
	})
}
