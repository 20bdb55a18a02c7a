package device

import (
	"testing"

	"github.com/wgxdp/wgxdp/noise"
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
	if rx, tx := pa.Stats(); rx != wantA[0] || tx != wantA[1] {
		t.Errorf("a: rx %d tx %d, want %d %d", rx, tx, wantA[0], wantA[1])
	}
	if rx, tx := pb.Stats(); rx != wantB[0] || tx != wantB[1] {
		t.Errorf("b: rx %d tx %d, want %d %d", rx, tx, wantB[0], wantB[1])
	}
}
