package interop

import (
	"net/netip"
	"testing"
	"time"
)

// TestWgxdpWireguardGo runs the tunnel checks between wgxdp and
// wireguard-go, with wgxdp on either side (A is configured by wg setconf
// from a file, B by wg set), and with wgxdp's outer side on AF_XDP (native,
// and generic with WGXDP_XDP_TX=auto).
func TestWgxdpWireguardGo(t *testing.T) {
	testPairs(t, [][2]string{
		{implWgxdp, implWireguardGo},
		{implWireguardGo, implWgxdp},
		{implWgxdpXDP, implWireguardGo},
		{implWgxdpXDPAuto, implWireguardGo},
	})
}

// TestWgxdpWgxdp runs the tunnel checks with wgxdp on both ends: with UDP
// sockets on both, and with AF_XDP on A (also in generic mode with the
// hybrid transmit path, WGXDP_XDP_TX=auto).
func TestWgxdpWgxdp(t *testing.T) {
	testPairs(t, [][2]string{
		{implWgxdp, implWgxdp},
		{implWgxdpXDP, implWgxdp},
		{implWgxdpXDPAuto, implWgxdp},
	})
}

// TestWireguardGoBaseline runs the tunnel checks with wireguard-go on both
// ends: a sanity check of the harness, and the throughput to compare with.
func TestWireguardGoBaseline(t *testing.T) { testPair(t, implWireguardGo, implWireguardGo) }

// testPairs runs testPair on each [A, B] pair of implementations.
func testPairs(t *testing.T, pairs [][2]string) {
	for _, p := range pairs {
		t.Run("A="+p[0]+",B="+p[1], func(t *testing.T) { testPair(t, p[0], p[1]) })
	}
}

func testPair(t *testing.T, implA, implB string) {
	binary(t, implA)
	binary(t, implB)

	// Only A knows where B is, so the handshake can only come from A; B
	// learns A's endpoint from it. Outer IPv4.
	t.Run("handshake-from-A/outer-ipv4", func(t *testing.T) {
		a, b := newTunnel(t, implA, implB, tunnelOpts{endpointAtA: true})
		testHandshake(t, a, b, false)
	})
	// The mirror image over outer IPv6: B initiates.
	t.Run("handshake-from-B/outer-ipv6", func(t *testing.T) {
		a, b := newTunnel(t, implA, implB, tunnelOpts{endpointAtB: true, outer6: true})
		testHandshake(t, b, a, true)
	})
	t.Run("transfer", func(t *testing.T) {
		a, b := newTunnel(t, implA, implB, tunnelOpts{endpointAtA: true, endpointAtB: true})
		ping(t, a, b.in4.Addr())
		start := time.Now()
		checkHandshake(t, a, b, start.Add(-10*time.Second))
		for _, dir := range []struct {
			from, to *node
			dst      netip.Addr
		}{{a, b, b.in4.Addr()}, {b, a, a.in6.Addr()}} {
			before := snapshot(t, dir.from, dir.to)
			d := transfer(t, dir.from, dir.to, dir.dst, transferSize, uint64(dir.from.port))
			time.Sleep(300 * time.Millisecond) // let the last ACKs land
			after := snapshot(t, dir.from, dir.to)
			checkCounters(t, dir.from, dir.to, before, after, transferSize)
			family := "inner IPv4"
			if dir.dst.Is6() {
				family = "inner IPv6"
			}
			record("%-13s → %-13s 100 MiB TCP (%s): %6.2fs  %5.0f Mbit/s", dir.from.impl, dir.to.impl, family,
				d.Seconds(), mbps(transferSize, d))
		}
		checkHandshake(t, b, a, start.Add(-10*time.Second))
		switch implA {
		case implWgxdpXDP:
			// The datagrams of both transfers went through A's XSKs.
			checkXDPStats(t, a, transferSize/1500)
		case implWgxdpXDPAuto:
			// Bulk took the UDP socket; the program is on the veth.
			checkXDPActive(t, a)
		}
	})
	t.Run("roaming", func(t *testing.T) { testRoaming(t, implA, implB) })
	if isXDP(implA) {
		t.Run("outer-side", func(t *testing.T) { testXDPOuterSide(t, implA, implB) })
	}
}

// testHandshake has init ping first (it alone knows an endpoint), then
// checks both ways in both inner families, the handshake times and that
// resp learned init's endpoint.
func testHandshake(t *testing.T, init, resp *node, outer6 bool) {
	for _, n := range []*node{init, resp} {
		if p := peerOf(t, n, other(n, init, resp)); p.latestHandshake != 0 {
			t.Fatalf("%v: handshake before any packet: %+v", n, p)
		}
	}
	start := time.Now()
	t.Logf("%v sends first", init)
	ping(t, init, resp.in4.Addr())
	ping(t, init, resp.in6.Addr())
	ping(t, resp, init.in4.Addr())
	ping(t, resp, init.in6.Addr())
	checkHandshake(t, init, resp, start)
	p := checkHandshake(t, resp, init, start)
	if want := endpointOf(init, outer6).String(); p.endpoint != want {
		t.Errorf("%v: learned endpoint %s for %v, want %s", resp, p.endpoint, init, want)
	}
	checkMirror(t, init, resp)
}

// checkMirror checks that a's and b's transfer counters for each other
// mirror each other exactly once the traffic has stopped: what one sent,
// the other received, handshake messages included (wireguard-go and the
// kernel count them). It waits up to a second for a packet in flight.
func checkMirror(t *testing.T, a, b *node) {
	t.Helper()
	var s [2]peerDump
	for deadline := time.Now().Add(time.Second); ; time.Sleep(50 * time.Millisecond) {
		s = snapshot(t, a, b)
		if s[0].tx == s[1].rx && s[0].rx == s[1].tx || time.Now().After(deadline) {
			break
		}
	}
	if s[0].tx != s[1].rx || s[0].rx != s[1].tx {
		t.Errorf("transfer counters do not mirror: %v rx %d tx %d, %v rx %d tx %d", a, s[0].rx, s[0].tx, b, s[1].rx, s[1].tx)
	}
}

func other(n, a, b *node) *node {
	if n == a {
		return b
	}
	return a
}

// snapshot is from's view of to and to's view of from.
func snapshot(t *testing.T, from, to *node) [2]peerDump {
	t.Helper()
	return [2]peerDump{peerOf(t, from, to), peerOf(t, to, from)}
}

// checkCounters checks the transfer counters after size bytes went from
// `from` to `to`: the sender's tx and the receiver's rx cover the payload
// with a sane overhead, and the two sides mirror each other (the ACKs too).
func checkCounters(t *testing.T, from, to *node, before, after [2]peerDump, size int64) {
	t.Helper()
	txS := after[0].tx - before[0].tx // data, as sent
	rxS := after[0].rx - before[0].rx // ACKs, as received
	rxR := after[1].rx - before[1].rx // data, as received
	txR := after[1].tx - before[1].tx // ACKs, as sent
	t.Logf("counters: %v tx %d rx %d; %v rx %d tx %d (payload %d, data overhead %.3f×)",
		from, txS, rxS, to, rxR, txR, size, float64(txS)/float64(size))
	if float64(txS) < float64(size) || float64(txS) > 1.2*float64(size) {
		t.Errorf("%v: transfer-tx grew by %d for a %d-byte payload, want [1, 1.2]× it", from, txS, size)
	}
	if float64(rxR) < float64(size) || float64(rxR) > 1.2*float64(size) {
		t.Errorf("%v: transfer-rx grew by %d for a %d-byte payload, want [1, 1.2]× it", to, rxR, size)
	}
	mirror := func(what string, sent, received uint64) {
		// What arrives is what was sent, less what the wire dropped (a
		// little, under load), and never more (but for a packet or two in
		// flight while the two sides were read).
		if received > sent+2048 || float64(received) < 0.95*float64(sent)-4096 {
			t.Errorf("%s: sent %d bytes, received %d: the counters do not mirror each other", what, sent, received)
		}
	}
	mirror("data "+from.String()+"→"+to.String(), txS, rxR)
	mirror("ACKs "+to.String()+"→"+from.String(), txR, rxS)
	if txR == 0 {
		t.Errorf("%v: sent no bytes back (no ACKs?)", to)
	}
}

// testRoaming moves A to a new outer address and checks that traffic
// resumes and that B follows A to it.
func testRoaming(t *testing.T, implA, implB string) {
	a, b := newTunnel(t, implA, implB, tunnelOpts{endpointAtA: true, endpointAtB: true})
	ping(t, a, b.in4.Addr())
	if p := peerOf(t, b, a); p.endpoint != endpointOf(a, false).String() {
		t.Fatalf("%v: endpoint %s for %v before roaming, want %s", b, p.endpoint, a, endpointOf(a, false))
	}
	old := a.out4
	moved := netip.PrefixFrom(old.Addr().Next().Next(), old.Bits()) // .1 → .3
	t.Logf("%v: moving %s from %v to %v", a, a.veth, old, moved)
	a.run(t, "ip", "addr", "del", old.String(), "dev", a.veth)
	a.run(t, "ip", "addr", "add", moved.String(), "dev", a.veth)
	a.out4 = moved
	ping(t, a, b.in4.Addr())
	want := netip.AddrPortFrom(moved.Addr(), uint16(a.port)).String()
	if p := peerOf(t, b, a); p.endpoint != want {
		t.Errorf("%v: endpoint %s for %v after roaming, want %s", b, p.endpoint, a, want)
	} else {
		t.Logf("%v: follows %v to %s", b, a, p.endpoint)
	}
	ping(t, b, a.in4.Addr())
	ping(t, b, a.in6.Addr())
}
