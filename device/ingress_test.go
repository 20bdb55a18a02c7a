package device

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestIngressCoDel, in virtual time: datagrams that waited in the receive
// buffer less than CoDel's target all reach the TUN; once they wait 20 ms
// for longer than an interval, data packets are dropped at CoDel's rate,
// or, if ECN-capable, delivered marked CE.
func TestIngressCoDel(t *testing.T) {
	pr := newPair(t, true, true)
	var sojourn atomic.Int64
	pr.net.RxTime = func() int64 { return pr.clk.Now().UnixNano() - sojourn.Load() }
	pr.stepPing(t, pr.a, pr.b, []byte("session"))

	// send pushes n packets a→b, 10 ms of virtual time apart, and returns
	// how many arrived and how many of those carry CE.
	send := func(n int, tos byte) (arrived, ce int) {
		for i := range n {
			p := ipv4UDP(pr.a.ip4, pr.b.ip4, []byte{byte(i), byte(i >> 8), 'x'})
			p[1] = tos // the device checks no IPv4 header checksum
			dropped := pr.b.dev.Stats().IngressCoDelDropped
			pr.a.tun.Inbound <- p
			// Each packet either arrives or is counted dropped; wait
			// for one of the two (a loaded machine may take a while).
			timeout := time.After(5 * time.Second)
		wait:
			for {
				select {
				case got := <-pr.b.tun.Outbound:
					arrived++
					if got[1]&3 == 3 {
						ce++
					}
					break wait
				case <-time.After(time.Millisecond):
					if pr.b.dev.Stats().IngressCoDelDropped != dropped {
						break wait
					}
				case <-timeout:
					t.Fatalf("packet %d neither arrived nor was dropped (%+v)", i, pr.b.dev.Stats())
				}
			}
			pr.settle(t)
			pr.clk.Advance(10 * time.Millisecond)
		}
		return arrived, ce
	}

	sojourn.Store(int64(time.Millisecond))
	if got, _ := send(100, 0); got != 100 {
		t.Fatalf("below target: %d of 100 arrived (%+v)", got, pr.b.dev.Stats())
	}
	sojourn.Store(int64(20 * time.Millisecond))
	got, _ := send(200, 0)
	st := pr.b.dev.Stats()
	lost := 200 - got
	// First drop after the 100 ms interval, then 100 ms/sqrt(count)
	// apart, at most one per packet: about 60 in 2 s.
	if lost < 20 || lost > 120 || uint64(lost) != st.IngressCoDelDropped {
		t.Fatalf("20 ms sojourn for 2 s: %d of 200 lost, IngressCoDelDropped %d", lost, st.IngressCoDelDropped)
	}
	// ECN-capable packets (ECT(0)) are marked instead.
	got, ce := send(100, 2)
	st = pr.b.dev.Stats()
	if got != 100 || ce == 0 || uint64(ce) != st.IngressECNMarked {
		t.Fatalf("ECT(0): %d of 100 arrived, %d with CE, IngressECNMarked %d", got, ce, st.IngressECNMarked)
	}
	// Back below target: nothing more is dropped or marked.
	sojourn.Store(0)
	if got, ce := send(50, 2); got != 50 || ce != 0 {
		t.Fatalf("below target again: %d of 50 arrived, %d with CE", got, ce)
	}
}

// TestExpressAhead: an express-lane packet may not move the replay window
// more than half a window past the highest counter while bulk packets are
// arriving (it would turn the queued bulk packets into replays); when no
// bulk packet came for a while, a gap is loss and it may.
func TestExpressAhead(t *testing.T) {
	var kp Keypair
	now := time.Unix(1700000000, 0).UnixNano()
	for c := uint64(0); c < 100; c++ {
		kp.replay.ValidateCounter(c, 1<<60)
	}
	kp.lastBulk = now
	if expressAhead(&kp, 99+expressLead, now) {
		t.Error("half a window ahead: dropped")
	}
	if !expressAhead(&kp, 100+expressLead, now) {
		t.Error("more than half a window ahead while bulk arrives: accepted")
	}
	if expressAhead(&kp, 100+expressLead, now+int64(expressBulkActive)) {
		t.Error("far ahead with no bulk packet for a while: dropped")
	}
}
