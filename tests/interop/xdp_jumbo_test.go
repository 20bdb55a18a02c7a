package interop

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/internal/netns"
)

// jumboMTU is the veth MTU of TestXDPJumbo, and jumboTunnelMTU the
// tunnel's inside it (80 bytes of IPv6, UDP and WireGuard overhead less).
const (
	jumboMTU       = 9000
	jumboTunnelMTU = jumboMTU - 80
)

// TestXDPJumbo runs a tunnel between wgxdp on AF_XDP and wireguard-go over
// a veth pair with MTU 9000, where an outer datagram spans up to three
// UMEM frames (multi-buffer AF_XDP): 8000-byte pings that must not be
// fragmented both ways, then a TCP transfer each way, all of it through
// A's XSKs. The same runs with wgxdp in generic mode with the hybrid
// transmit path (its bulk leaves through the UDP socket), and on UDP
// sockets, for comparison.
func TestXDPJumbo(t *testing.T) {
	for _, implA := range []string{implWgxdpXDP, implWgxdpXDPAuto, implWgxdp} {
		t.Run(implA, func(t *testing.T) { testJumbo(t, implA, implWireguardGo) })
	}
}

func testJumbo(t *testing.T, implA, implB string) {
	binary(t, implA)
	binary(t, implB)
	a, b := newPair(t, implA, implB, netns.VethMTU(jumboMTU))
	startDaemon(t, a)
	startDaemon(t, b)
	configureSetconf(t, a, b, endpointOf(b, false))
	configureSet(t, b, a, endpointOf(a, false))
	upMTU(t, a, jumboTunnelMTU)
	upMTU(t, b, jumboTunnelMTU)
	if isXDP(implA) {
		checkXDPActive(t, a)
		if log := daemonLog(t, a); !strings.Contains(log, "multi-buffer AF_XDP") {
			t.Fatalf("%v: the log does not say it runs multi-buffer AF_XDP:\n%s", a, tail(log, 30))
		}
	}

	for _, dir := range []struct {
		from *node
		dst  netip.Addr
	}{{a, b.in4.Addr()}, {b, a.in4.Addr()}, {a, b.in6.Addr()}, {b, a.in6.Addr()}} {
		out, err := dir.from.ns.Run("ping", "-c", "3", "-i", "0.2", "-w", "10", "-q", "-M", "do", "-s", "8000", dir.dst.String())
		if err != nil {
			t.Fatalf("%v: ping -s 8000 %v: %v\n%s", dir.from, dir.dst, err, out)
		}
		t.Logf("%v: ping -s 8000 -M do %v ok", dir.from, dir.dst)
	}
	const size = 64 << 20
	for _, dir := range []struct {
		from, to *node
		dst      netip.Addr
	}{{a, b, b.in4.Addr()}, {b, a, a.in6.Addr()}} {
		d := transfer(t, dir.from, dir.to, dir.dst, size, uint64(dir.from.port))
		record("%-13s → %-13s 64 MiB TCP, MTU %d: %6.2fs  %5.0f Mbit/s", dir.from.impl, dir.to.impl, jumboTunnelMTU,
			d.Seconds(), mbps(size, d))
	}
	if implA == implWgxdpXDP {
		time.Sleep(300 * time.Millisecond) // let the last ACKs land
		// Outer datagrams of up to 8968 bytes: fewer than at MTU 1500.
		checkXDPStats(t, a, size/9000)
	}
}
