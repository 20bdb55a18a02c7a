package device

import (
	"crypto/rand"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/noise"
	"github.com/wgxdp/wgxdp/packet"
)

// BenchmarkForgedInitiationUnderLoad is the receive path's cost of one
// forged initiation while under load: mac1, mac2 and a cookie reply.
func BenchmarkForgedInitiationUnderLoad(b *testing.B) {
	pr := newPair(b, false, true)
	d := pr.b.dev
	d.underLoadUntil.Store(time.Now().Add(time.Hour).UnixNano())
	attacker := noise.NewStatic(mustKey(b))
	ps, _ := noise.NewPeerStatic(&attacker, pr.b.pk, noise.PresharedKey{})
	gen := noise.NewCookieGenerator(&ps, time.Now)
	m := make([]byte, noise.MessageInitiationSize)
	rand.Read(m)
	binary.LittleEndian.PutUint32(m, noise.MessageInitiationType)
	gen.AddMACs(m)
	s := packet.NewSlot(2048)
	s.Set(m)
	s.Ep = packet.Endpoint{Dst: netip.MustParseAddrPort("203.0.113.9:9999")}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		d.queueHandshake(s)
	}
}
