package interop

import (
	"net"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// xdpQueues is the number of rx and tx queues of both veth ends when a
// side runs AF_XDP, so that the daemon opens one XSK per queue.
const xdpQueues = 2

// xdpStatsRE matches the line the daemon logs at exit (verbose level) with
// its AF_XDP counters.
var xdpStatsRE = regexp.MustCompile(`XDP stats on (\S+): rx ring (\d+), tx ring (\d+), rx socket (\d+), tx socket (\d+) datagrams`)

// xdpStats are the counters of that line.
type xdpStats struct{ rxRing, txRing, rxSocket, txSocket uint64 }

// daemonLog is n's daemon log so far.
func daemonLog(t *testing.T, n *node) string {
	t.Helper()
	b, err := os.ReadFile(n.proc.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkXDPActive checks that n's daemon put its outer side on AF_XDP on its
// veth end, one XSK per queue, and that the interface shows the program.
func checkXDPActive(t *testing.T, n *node) {
	t.Helper()
	log := daemonLog(t, n)
	if strings.Contains(log, "is not available, using UDP sockets") {
		t.Fatalf("%v: fell back to UDP sockets:\n%s", n, tail(log, 30))
	}
	re := regexp.MustCompile(`UDP port (\d+) through AF_XDP on ` + regexp.QuoteMeta(n.veth) + ` \((\w+) mode, (\d+) queues?\)`)
	var m []string
	for _, l := range strings.Split(log, "\n") {
		if mm := re.FindStringSubmatch(l); mm != nil {
			m = mm // the last open: the configured port
		}
	}
	if m == nil {
		t.Fatalf("%v: the log does not say the port is on AF_XDP on %s:\n%s", n, n.veth, tail(log, 30))
	}
	if m[1] != strconv.Itoa(n.port) || m[3] != strconv.Itoa(xdpQueues) {
		t.Errorf("%v: %q, want port %d on %d queues", n, m[0], n.port, xdpQueues)
	}
	t.Logf("%v: %s", n, m[0])
	if out := n.run(t, "ip", "link", "show", "dev", n.veth); !strings.Contains(out, "prog/xdp") {
		t.Errorf("%v: no XDP program on %s:\n%s", n, n.veth, out)
	}
}

// checkXDPStats stops n's daemon with SIGTERM and checks the counters it
// logs at exit: at least min datagrams each way through the XSKs, and few
// through the UDP sockets (the first datagrams to a neighbor the kernel has
// not resolved yet, and a rare recheck of one gone stale).
func checkXDPStats(t *testing.T, n *node, min uint64) {
	t.Helper()
	checkXDPActive(t, n)
	n.stopped = true
	if err := n.proc.Stop(5 * time.Second); err != nil {
		t.Fatalf("%v: %v", n, err)
	}
	log := daemonLog(t, n)
	m := xdpStatsRE.FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("%v: no XDP stats line in the log:\n%s", n, tail(log, 30))
	}
	var s xdpStats
	for i, p := range []*uint64{&s.rxRing, &s.txRing, &s.rxSocket, &s.txSocket} {
		*p, _ = strconv.ParseUint(m[2+i], 10, 64)
	}
	t.Logf("%v: %s", n, m[0])
	if m[1] != n.veth {
		t.Errorf("%v: stats for %s, want %s", n, m[1], n.veth)
	}
	if s.rxRing < min || s.txRing < min {
		t.Errorf("%v: %d datagrams received and %d sent through the XSKs, want at least %d each", n, s.rxRing, s.txRing, min)
	}
	if s.rxSocket > s.rxRing/100 || s.txSocket > s.txRing/100 {
		t.Errorf("%v: %d datagrams received and %d sent through the UDP sockets, want under 1%% of the XSKs'", n, s.rxSocket, s.txSocket)
	}
	if _, err := os.Stat(socketPath(n.iface)); err == nil {
		t.Errorf("%v: %s left behind after SIGTERM", n, socketPath(n.iface))
	}
}

// testXDPOuterSide checks what an XDP program on A's veth end must leave
// alone — pings of A's outer addresses, UDP to another port of A, A's own
// replies — while the tunnel runs through it, and that the program goes
// away with the daemon even when it is killed with SIGKILL.
func testXDPOuterSide(t *testing.T, implA, implB string) {
	a, b := newTunnel(t, implA, implB, tunnelOpts{endpointAtA: true, endpointAtB: true})
	ping(t, a, b.in4.Addr())
	checkXDPActive(t, a)

	for _, dst := range []netip.Addr{a.out4.Addr(), a.out6.Addr()} {
		out, err := b.ns.Run("ping", "-c", "3", "-i", "0.2", "-w", "10", "-q", dst.String())
		if err != nil {
			t.Fatalf("%v: ping of %v's outer address %v: %v", b, a, dst, err)
		}
		t.Logf("%v: ping %v (outer) ok", b, dst)
		_ = out
	}
	for _, dst := range []netip.Addr{a.out4.Addr(), a.out6.Addr()} {
		udpEcho(t, b, a, dst)
	}
	// And the tunnel still runs.
	ping(t, b, a.in6.Addr())

	t.Logf("%v: kill -9 pid %d", a, a.proc.PID)
	a.killed = true
	if err := syscall.Kill(a.proc.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.proc.Done():
	case <-time.After(5 * time.Second):
		t.Fatalf("%v: still running 5 s after SIGKILL", a)
	}
	// The program was attached through a bpf_link that only the daemon
	// held: it goes when the process's files are closed.
	deadline := time.Now().Add(3 * time.Second)
	for {
		out := a.run(t, "ip", "link", "show", "dev", a.veth)
		if !strings.Contains(out, "xdp") {
			t.Logf("%v: after kill -9, ip link show dev %s:\n%s", a, a.veth, strings.TrimSpace(out))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v: XDP program still attached to %s 3 s after kill -9:\n%s", a, a.veth, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// With the program gone, A's kernel stack has the whole interface.
	udpEcho(t, b, a, a.out4.Addr())
}

// udpEcho sends a datagram from `from` to a UDP socket on another port of
// to's address dst, and the answer back: both ends are ordinary sockets,
// opened from this process in their namespaces.
func udpEcho(t *testing.T, from, to *node, dst netip.Addr) {
	t.Helper()
	pc, err := to.ns.ListenPacket("udp", netip.AddrPortFrom(dst, 0).String())
	if err != nil {
		t.Fatalf("%v: listen: %v", to, err)
	}
	defer pc.Close()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	if port == to.port {
		t.Fatalf("%v: got the WireGuard port %d", to, port)
	}
	pc.SetDeadline(time.Now().Add(5 * time.Second))
	errc := make(chan error, 1)
	go func() {
		buf := make([]byte, 1500)
		n, src, err := pc.ReadFrom(buf)
		if err == nil {
			_, err = pc.WriteTo(append([]byte("echo: "), buf[:n]...), src)
		}
		errc <- err
	}()
	c, err := from.ns.Dial("udp", pc.LocalAddr().String(), 5*time.Second)
	if err != nil {
		t.Fatalf("%v: dial %v: %v", from, pc.LocalAddr(), err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	msg := "hello " + strconv.Itoa(port)
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatalf("%v: send to %v: %v", from, pc.LocalAddr(), err)
	}
	buf := make([]byte, 1500)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("%v: no answer from %v: %v (server: %v)", from, pc.LocalAddr(), err, <-errc)
	}
	if got, want := string(buf[:n]), "echo: "+msg; got != want {
		t.Fatalf("%v: answer %q, want %q", from, got, want)
	}
	if err := <-errc; err != nil {
		t.Fatalf("%v: %v", to, err)
	}
	t.Logf("%v → %v: UDP to %v and back ok", from, to, pc.LocalAddr())
}
