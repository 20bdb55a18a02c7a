package device

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/noise"
	"github.com/wgxdp/wgxdp/packet"
)

// TestTransferCountsHandshakes: a peer's rx/tx bytes (wg(8)'s "transfer")
// count every WireGuard message exchanged with it — the handshake's
// initiation and response as well as data — as wireguard-go does.
func TestTransferCountsHandshakes(t *testing.T) {
	pr := newPair(t, false, true)
	msg := func(inner int) uint64 { return uint64(16 + (inner+15)/16*16 + 16) } // header, padded data, tag
	// a initiates; its ping goes out after the response.
	ping(t, pr.a, pr.b, make([]byte, 10), false)
	ping(t, pr.b, pr.a, make([]byte, 30), false)
	const init, resp = noise.MessageInitiationSize, noise.MessageResponseSize
	pa, pb := pr.a.dev.LookupPeer(pr.b.pk), pr.b.dev.LookupPeer(pr.a.pk)
	wantA := [2]uint64{resp + msg(28+30), init + msg(28+10)} // rx, tx
	wantB := [2]uint64{wantA[1], wantA[0]}
	// A sender counts tx after its send returns, which may be after the
	// packet arrived: give the counters a moment to settle.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		rxA, txA := pa.Stats()
		rxB, txB := pb.Stats()
		if [2]uint64{rxA, txA} == wantA && [2]uint64{rxB, txB} == wantB {
			break
		}
	}
	if rx, tx := pa.Stats(); rx != wantA[0] || tx != wantA[1] {
		t.Errorf("a: rx %d tx %d, want %d %d", rx, tx, wantA[0], wantA[1])
	}
	if rx, tx := pb.Stats(); rx != wantB[0] || tx != wantB[1] {
		t.Errorf("b: rx %d tx %d, want %d %d", rx, tx, wantB[0], wantB[1])
	}
}

// TestEndpointWithZone: a link-local endpoint learned from a packet shows
// the zone of the interface it came in on, as wireguard-go shows it.
func TestEndpointWithZone(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Skip("no lo")
	}
	for _, tc := range []struct {
		ep   packet.Endpoint
		want string
	}{
		{packet.Endpoint{Dst: netip.MustParseAddrPort("[fe80::1]:51820"), IfIndex: int32(lo.Index)}, "[fe80::1%lo]:51820"},
		{packet.Endpoint{Dst: netip.MustParseAddrPort("[fe80::1%eth7]:51820"), IfIndex: int32(lo.Index)}, "[fe80::1%eth7]:51820"},
		{packet.Endpoint{Dst: netip.MustParseAddrPort("[fe80::1]:51820"), IfIndex: 1 << 30}, "[fe80::1%1073741824]:51820"},
		{packet.Endpoint{Dst: netip.MustParseAddrPort("[fe80::1]:51820")}, "[fe80::1]:51820"},
		{packet.Endpoint{Dst: netip.MustParseAddrPort("[2001:db8::1]:51820"), IfIndex: int32(lo.Index)}, "[2001:db8::1]:51820"},
		{packet.Endpoint{Dst: netip.MustParseAddrPort("192.0.2.1:51820"), IfIndex: int32(lo.Index)}, "192.0.2.1:51820"},
	} {
		if got := endpointWithZone(tc.ep).String(); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.ep, got, tc.want)
		}
	}
}
