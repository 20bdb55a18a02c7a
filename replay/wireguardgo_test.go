package replay

import (
	"testing"

	"golang.zx2c4.com/wireguard/replay"
)

// BenchmarkValidateCounterWireguardGo is BenchmarkValidateCounter on
// wireguard-go's filter, for the side-by-side ratio.
func BenchmarkValidateCounterWireguardGo(b *testing.B) {
	b.Run("in-order", func(b *testing.B) {
		var f replay.Filter
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			f.ValidateCounter(uint64(i), rejectAfterMessages)
		}
	})
	b.Run("reordered", func(b *testing.B) {
		var f replay.Filter
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			f.ValidateCounter(uint64(i^1), rejectAfterMessages)
		}
	})
	b.Run("jumps", func(b *testing.B) {
		var f replay.Filter
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			f.ValidateCounter(uint64(i)*4096, rejectAfterMessages)
		}
	})
}
