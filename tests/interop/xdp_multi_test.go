package interop

import (
	"crypto/rand"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"

	"github.com/wgxdp/wgxdp/internal/netns"
)

// TestXDPTwoInterfaces runs wgxdp in A with AF_XDP on both of its veths,
// one to B (wgxdp on UDP sockets) and one to C (wireguard-go): pings go
// both ways to each peer, and at exit A's counters show that each
// interface's rings carried its peer's traffic.
func TestXDPTwoInterfaces(t *testing.T) {
	binary(t, implWgxdp)
	binary(t, implWireguardGo)
	nsA, nsB := newNamespace(t), newNamespace(t)
	vb, err := netns.NewVeth(nsA, nsB, netns.VethQueues(xdpQueues))
	if err != nil {
		t.Fatal(err)
	}
	var vc *netns.Veth
	for range 10 { // the two random subnets must differ
		nsC, err := netns.New(nsPrefix)
		if err != nil {
			t.Fatal(err)
		}
		if vc, err = netns.NewVeth(nsA, nsC, netns.VethQueues(xdpQueues)); err != nil {
			nsC.Close()
			t.Fatal(err)
		}
		if vc.A4.Masked() != vb.A4.Masked() && vc.A6.Masked() != vb.A6.Masked() {
			t.Cleanup(func() { nsC.Close() })
			break
		}
		nsC.Close()
		vc = nil
	}
	if vc == nil {
		t.Fatal("no second subnet")
	}
	var x [2]byte
	rand.Read(x[:])
	mk := func(label, impl string, ns *netns.Namespace, port int, host byte, veth string, o4, o6 netip.Prefix) *node {
		k, err := wgtypes.GeneratePrivateKey()
		if err != nil {
			t.Fatal(err)
		}
		return &node{label: label, impl: impl, ns: ns, iface: netns.RandomName("wgx", 8), key: k, port: port,
			veth: veth, out4: o4, out6: o6,
			in4: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 252, x[0], host}), 24),
			in6: netip.PrefixFrom(netip.AddrFrom16([16]byte{0: 0xfd, 1: 0x97, 2: x[0], 3: x[1], 15: host}), 64)}
	}
	// A's veth is both of its ends: startDaemon passes it as WGXDP_XDP.
	a := mk("A", implWgxdpXDP, nsA, portA, 1, vb.NameA+","+vc.NameA, vb.A4, vb.A6)
	b := mk("B", implWgxdp, nsB, portB, 2, vb.NameB, vb.B4, vb.B6)
	c := mk("C", implWireguardGo, vc.B, portB+1, 3, vc.NameB, vc.B4, vc.B6)
	for _, n := range []*node{a, b, c} {
		startDaemon(t, n)
	}
	configureSet(t, b, a, netip.AddrPortFrom(vb.A4.Addr(), portA))
	configureSet(t, c, a, netip.AddrPortFrom(vc.A4.Addr(), portA))
	keyPath := t.TempDir() + "/a.key"
	if err := os.WriteFile(keyPath, []byte(a.key.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"set", a.iface, "private-key", keyPath, "listen-port", strconv.Itoa(a.port)}
	for _, p := range []*node{b, c} {
		args = append(args, "peer", p.pub(), "allowed-ips", p.in4.Addr().String()+"/32,"+p.in6.Addr().String()+"/128",
			"endpoint", netip.AddrPortFrom(p.out4.Addr(), uint16(p.port)).String())
	}
	a.run(t, "wg", args...)
	for _, n := range []*node{a, b, c} {
		up(t, n)
	}

	for _, p := range []*node{b, c} {
		ping(t, a, p.in4.Addr())
		ping(t, p, a.in4.Addr())
		ping(t, p, a.in6.Addr())
	}

	log := daemonLog(t, a)
	for _, veth := range []string{vb.NameA, vc.NameA} {
		if !regexp.MustCompile(`UDP port ` + strconv.Itoa(a.port) + ` through AF_XDP on ` + veth + ` \(\w+ mode, ` +
			strconv.Itoa(xdpQueues) + ` queues\)`).MatchString(log) {
			t.Errorf("%v: the log does not say the port is on AF_XDP on %s:\n%s", a, veth, tail(log, 30))
		}
	}
	a.stopped = true
	if err := a.proc.Stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	log = daemonLog(t, a)
	if m := xdpStatsRE.FindString(log); m == "" {
		t.Errorf("%v: no XDP stats line:\n%s", a, tail(log, 30))
	} else {
		t.Logf("%v: %s", a, m)
	}
	// Each peer got 6 pings (and sent 6 replies), plus the handshake and
	// perhaps keepalives: at least 7 datagrams each way per interface.
	re := regexp.MustCompile(`XDP ring stats on (\S+): rx (\d+), tx (\d+) datagrams`)
	seen := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(log, -1) {
		rx, _ := strconv.Atoi(m[2])
		tx, _ := strconv.Atoi(m[3])
		t.Logf("%v: %s", a, m[0])
		seen[m[1]] = true
		if rx < 7 || tx < 7 {
			t.Errorf("%v: %s carried %d datagrams in and %d out, want at least 7 each", a, m[1], rx, tx)
		}
	}
	for _, veth := range []string{vb.NameA, vc.NameA} {
		if !seen[veth] {
			t.Errorf("%v: no ring stats for %s:\n%s", a, veth, tail(log, 30))
		}
	}
	if strings.Contains(log, "is not available, using UDP sockets") {
		t.Errorf("%v: fell back to UDP sockets", a)
	}
}
