package interop

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"

	"github.com/wgxdp/wgxdp/internal/netns"
)

const (
	socketDir = "/var/run/wireguard"
	tunnelMTU = 1420
	portA     = 51820
	portB     = 51821
)

func socketPath(iface string) string { return filepath.Join(socketDir, iface+".sock") }

// node is one end of a tunnel: a namespace, its veth end's outer addresses,
// and a daemon serving the interface iface.
type node struct {
	label    string // "A" or "B", for the log
	impl     string
	ns       *netns.Namespace
	iface    string
	key      wgtypes.Key
	port     int
	in4, in6 netip.Prefix // inner (tunnel) addresses
	veth     string       // its veth end
	out4     netip.Prefix // outer addresses on the veth end
	out6     netip.Prefix
	proc     *netns.Process

	stopped bool // the test stopped the daemon with SIGTERM
	killed  bool // the test killed the daemon with SIGKILL: it left its socket
}

func (n *node) String() string { return n.label + "(" + n.impl + ")" }

func (n *node) pub() string { return n.key.PublicKey().String() }

// run runs a command in n's namespace, failing t on error.
func (n *node) run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := n.ns.Run(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// newNamespace creates a namespace removed at cleanup.
func newNamespace(t *testing.T) *netns.Namespace {
	t.Helper()
	ns, err := netns.New(nsPrefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ns.Close(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return ns
}

// newPair creates two namespaces joined by a veth pair (made with opts,
// if any), and the two nodes' addresses and keys; no daemon yet.
func newPair(t *testing.T, implA, implB string, opts ...netns.VethOption) (a, b *node) {
	t.Helper()
	nsA, nsB := newNamespace(t), newNamespace(t)
	if isXDP(implA) || isXDP(implB) {
		opts = append(opts, netns.VethQueues(xdpQueues)) // an XSK per queue
	}
	v, err := netns.NewVeth(nsA, nsB, opts...)
	if err != nil {
		t.Fatal(err)
	}
	var x [3]byte
	rand.Read(x[:])
	inner := func(host byte) (netip.Prefix, netip.Prefix) {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 251, x[0], host}), 24),
			netip.PrefixFrom(netip.AddrFrom16([16]byte{0: 0xfd, 1: 0x98, 2: x[1], 3: x[2], 15: host}), 64)
	}
	mk := func(label, impl string, ns *netns.Namespace, port int, host byte, veth string, o4, o6 netip.Prefix) *node {
		k, err := wgtypes.GeneratePrivateKey()
		if err != nil {
			t.Fatal(err)
		}
		n := &node{label: label, impl: impl, ns: ns, iface: netns.RandomName("wgx", 8), key: k, port: port,
			veth: veth, out4: o4, out6: o6}
		n.in4, n.in6 = inner(host)
		return n
	}
	a = mk("A", implA, nsA, portA, 1, v.NameA, v.A4, v.A6)
	b = mk("B", implB, nsB, portB, 2, v.NameB, v.B4, v.B6)
	t.Logf("namespaces A=%s (%s, outer %v %v) and B=%s (%s, outer %v %v)",
		nsA.Name, implA, a.out4.Addr(), a.out6.Addr(), nsB.Name, implB, b.out4.Addr(), b.out6.Addr())
	return a, b
}

// startDaemon starts n's implementation in the foreground in n's namespace
// with verbose logging to a file, and waits until its UAPI socket answers.
// At cleanup it checks the daemon is still running, dumps its state and log
// if t failed, stops it, and checks that it removed its socket.
func startDaemon(t *testing.T, n *node) {
	t.Helper()
	bin := binary(t, n.impl)
	logPath := filepath.Join(t.TempDir(), n.impl+"-"+n.iface+".log")
	env := []string{"LOG_LEVEL=verbose", "WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1"}
	switch n.impl {
	case implWgxdpXDP:
		env = append(env, "WGXDP_XDP="+n.veth)
	case implWgxdpXDPAuto:
		env = append(env, "WGXDP_XDP="+n.veth, "WGXDP_XDP_MODE=generic", "WGXDP_XDP_TX=auto")
	}
	p, err := n.ns.Start(logPath, env, bin, "-f", n.iface)
	if err != nil {
		t.Fatal(err)
	}
	n.proc = p
	t.Logf("%v: started %s -f %s in %s, pid %d %s", n, bin, n.iface, n.ns.Name, p.PID, strings.Join(env[2:], " "))
	t.Cleanup(func() {
		crashed := p.Exited() && !n.stopped && !n.killed
		if crashed {
			t.Errorf("%v: daemon pid %d exited during the test: %v", n, p.PID, p.Err())
		}
		if t.Failed() {
			dumpNode(t, n)
		}
		if err := p.Stop(5 * time.Second); err != nil {
			t.Errorf("%v: %v", n, err)
		}
		if _, err := os.Stat(socketPath(n.iface)); err == nil {
			if !crashed && !n.killed {
				t.Errorf("%v: %s left behind after SIGTERM", n, socketPath(n.iface))
			}
			os.Remove(socketPath(n.iface))
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := uapiGet(n.iface); err == nil {
			return
		}
		if p.Exited() || time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			t.Fatalf("%v: UAPI socket not answering (exited: %v, %v); log:\n%s", n, p.Exited(), p.Err(), log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dumpNode logs what helps debug a failure: wg show, the interfaces and the
// daemon's log.
func dumpNode(t *testing.T, n *node) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "==== %v in %s ====\n", n, n.ns.Name)
	for _, args := range [][]string{
		{"wg", "show", n.iface},
		{"wg", "show", n.iface, "dump"},
		{"ip", "-s", "addr"},
		{"ip", "route"},
		{"ip", "-6", "route"},
	} {
		out, err := n.ns.Run(args[0], args[1:]...)
		if err != nil {
			out = err.Error()
		}
		fmt.Fprintf(&b, "---- %s\n%s\n", strings.Join(args, " "), strings.TrimRight(out, "\n"))
	}
	if n.proc != nil {
		log, _ := os.ReadFile(n.proc.LogPath)
		s := string(log)
		// A crash's cause comes before its goroutine dump: show it first.
		for _, marker := range []string{"panic: ", "fatal error: ", "SIGSEGV"} {
			if i := strings.Index(s, marker); i >= 0 {
				fmt.Fprintf(&b, "---- daemon crash (%s...)\n%s\n", marker, head(s[i:], 60))
				break
			}
		}
		fmt.Fprintf(&b, "---- daemon log %s (last 200 lines)\n%s", n.proc.LogPath, tail(s, 200))
	}
	t.Log(b.String())
}

func head(s string, lines int) string {
	l := strings.SplitAfter(s, "\n")
	return strings.Join(l[:min(lines, len(l))], "")
}

func tail(s string, lines int) string {
	l := strings.SplitAfter(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "")
}

// configureSetconf configures n with `wg setconf` from a config file with
// peer as its only peer.
func configureSetconf(t *testing.T, n, peer *node, endpoint netip.AddrPort) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "[Interface]\nPrivateKey = %s\nListenPort = %d\n\n", n.key, n.port)
	fmt.Fprintf(&b, "[Peer]\nPublicKey = %s\nAllowedIPs = %s/32, %s/128\n", peer.pub(), peer.in4.Addr(), peer.in6.Addr())
	if endpoint.IsValid() {
		fmt.Fprintf(&b, "Endpoint = %s\n", endpoint)
	}
	path := filepath.Join(t.TempDir(), n.iface+".conf")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("%v: wg setconf %s from:\n%s", n, n.iface, strings.Replace(b.String(), n.key.String(), "(private key)", 1))
	n.run(t, "wg", "setconf", n.iface, path)
}

// configureSet configures n with one `wg set` command line.
func configureSet(t *testing.T, n, peer *node, endpoint netip.AddrPort) {
	t.Helper()
	keyPath := filepath.Join(t.TempDir(), n.iface+".key")
	if err := os.WriteFile(keyPath, []byte(n.key.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"set", n.iface, "private-key", keyPath, "listen-port", strconv.Itoa(n.port),
		"peer", peer.pub(), "allowed-ips", peer.in4.Addr().String() + "/32," + peer.in6.Addr().String() + "/128"}
	if endpoint.IsValid() {
		args = append(args, "endpoint", endpoint.String())
	}
	t.Logf("%v: wg %s", n, strings.Join(args, " "))
	n.run(t, "wg", args...)
}

// up addresses n's interface and brings it up with the tunnel MTU.
func up(t *testing.T, n *node) { upMTU(t, n, tunnelMTU) }

// upMTU is up with an MTU of mtu.
func upMTU(t *testing.T, n *node, mtu int) {
	t.Helper()
	n.run(t, "ip", "addr", "add", n.in4.String(), "dev", n.iface)
	n.run(t, "ip", "addr", "add", n.in6.String(), "dev", n.iface, "nodad")
	n.run(t, "ip", "link", "set", "dev", n.iface, "mtu", strconv.Itoa(mtu), "up")
	t.Logf("%v: %s up with %v, %v, mtu %d", n, n.iface, n.in4, n.in6, mtu)
}

// tunnelOpts says which side knows the other's endpoint and which outer
// family the endpoints use.
type tunnelOpts struct {
	endpointAtA, endpointAtB bool
	outer6                   bool
}

// endpointOf is n's outer endpoint in the chosen family.
func endpointOf(n *node, outer6 bool) netip.AddrPort {
	if outer6 {
		return netip.AddrPortFrom(n.out6.Addr(), uint16(n.port))
	}
	return netip.AddrPortFrom(n.out4.Addr(), uint16(n.port))
}

// newTunnel builds a fresh tunnel between implA (configured by wg setconf)
// and implB (configured by wg set), both interfaces up, no packet sent yet.
func newTunnel(t *testing.T, implA, implB string, o tunnelOpts) (a, b *node) {
	t.Helper()
	a, b = newPair(t, implA, implB)
	startDaemon(t, a)
	startDaemon(t, b)
	var epA, epB netip.AddrPort // what A knows of B, and B of A
	if o.endpointAtA {
		epA = endpointOf(b, o.outer6)
	}
	if o.endpointAtB {
		epB = endpointOf(a, o.outer6)
	}
	configureSetconf(t, a, b, epA)
	configureSet(t, b, a, epB)
	up(t, a)
	up(t, b)
	return a, b
}

// ping pings dst from n through the tunnel: three replies within 10 s.
func ping(t *testing.T, n *node, dst netip.Addr) {
	t.Helper()
	start := time.Now()
	out, err := n.ns.Run("ping", "-c", "3", "-i", "0.2", "-w", "10", "-q", dst.String())
	if err != nil {
		t.Fatalf("%v: ping %v: %v", n, dst, err)
	}
	summary := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "rtt") {
			summary = l
		}
	}
	t.Logf("%v: ping %v ok in %v (%s)", n, dst, time.Since(start).Round(time.Millisecond), summary)
}

// peerDump is one peer line of `wg show IF dump`.
type peerDump struct {
	endpoint        string
	allowedIPs      string
	latestHandshake int64
	rx, tx          uint64
	keepalive       string
}

// dump runs `wg show IF dump` in n's namespace and returns its peers by
// public key.
func dump(t *testing.T, n *node) map[string]peerDump {
	t.Helper()
	out := n.run(t, "wg", "show", n.iface, "dump")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	peers := map[string]peerDump{}
	for i, l := range lines {
		f := strings.Split(l, "\t")
		if i == 0 {
			if len(f) != 4 {
				t.Fatalf("%v: wg show dump interface line %q: want 4 fields", n, l)
			}
			continue
		}
		if len(f) != 8 {
			t.Fatalf("%v: wg show dump peer line %q: want 8 fields", n, l)
		}
		var p peerDump
		var err1, err2, err3 error
		p.endpoint, p.allowedIPs, p.keepalive = f[2], f[3], f[7]
		p.latestHandshake, err1 = strconv.ParseInt(f[4], 10, 64)
		p.rx, err2 = strconv.ParseUint(f[5], 10, 64)
		p.tx, err3 = strconv.ParseUint(f[6], 10, 64)
		if err := errors.Join(err1, err2, err3); err != nil {
			t.Fatalf("%v: wg show dump peer line %q: %v", n, l, err)
		}
		peers[f[0]] = p
	}
	return peers
}

// peerOf is n's view of peer, failing t if n does not list it.
func peerOf(t *testing.T, n, peer *node) peerDump {
	t.Helper()
	p, ok := dump(t, n)[peer.pub()]
	if !ok {
		t.Fatalf("%v: wg show dump lists no peer %s", n, peer.pub())
	}
	return p
}

// checkHandshake checks that n reports a handshake with peer in [since-2s, now+2s].
func checkHandshake(t *testing.T, n, peer *node, since time.Time) peerDump {
	t.Helper()
	p := peerOf(t, n, peer)
	now := time.Now()
	hs := time.Unix(p.latestHandshake, 0)
	if p.latestHandshake == 0 || hs.Before(since.Add(-2*time.Second)) || hs.After(now.Add(2*time.Second)) {
		t.Errorf("%v: latest-handshake with %v is %d (%v), want between %v and %v",
			n, peer, p.latestHandshake, hs, since.Unix(), now.Unix())
	} else {
		t.Logf("%v: latest-handshake %v, endpoint %s, rx %d, tx %d", n, hs.Format(time.TimeOnly), p.endpoint, p.rx, p.tx)
	}
	return p
}

// transferSize is the payload of each TCP transfer.
const transferSize = 100 << 20

// transfer sends size bytes of deterministic pseudo-random data over TCP
// from `from` to dst:port inside `to`'s namespace, both sockets opened from
// this process in their namespaces, and checks the SHA-256 on both ends.
func transfer(t *testing.T, from, to *node, dst netip.Addr, size int64, seed uint64) time.Duration {
	t.Helper()
	const timeout = 60 * time.Second
	deadline := time.Now().Add(timeout)
	l, err := to.ns.Listen("tcp", netip.AddrPortFrom(dst, 0).String())
	if err != nil {
		t.Fatalf("%v: listen: %v", to, err)
	}
	defer l.Close()
	l.(*net.TCPListener).SetDeadline(deadline)
	type result struct {
		n   int64
		sum []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer c.Close()
		c.SetDeadline(deadline)
		h := sha256.New()
		n, err := io.Copy(h, c)
		done <- result{n, h.Sum(nil), err}
	}()

	t.Logf("%v → %v: sending %d MiB over TCP to %s", from, to, size>>20, l.Addr())
	start := time.Now()
	c, err := from.ns.Dial("tcp", l.Addr().String(), 10*time.Second)
	if err != nil {
		t.Fatalf("%v: dial %v: %v", from, l.Addr(), err)
	}
	defer c.Close()
	c.SetDeadline(deadline)
	src := mrand.NewChaCha8([32]byte{0: byte(seed), 1: byte(seed >> 8)})
	h := sha256.New()
	buf := make([]byte, 256<<10)
	for sent := int64(0); sent < size; {
		p := buf[:min(int64(len(buf)), size-sent)]
		src.Read(p)
		h.Write(p)
		if _, err := c.Write(p); err != nil {
			c.Close()
			t.Fatalf("%v → %v: write after %d of %d bytes: %v", from, to, sent, size, err)
		}
		sent += int64(len(p))
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	r := <-done
	elapsed := time.Since(start)
	if r.err != nil {
		t.Fatalf("%v: receiving: %v (after %d bytes)", to, r.err, r.n)
	}
	if r.n != size {
		t.Fatalf("%v received %d bytes, want %d", to, r.n, size)
	}
	if want := h.Sum(nil); !bytes.Equal(r.sum, want) {
		t.Fatalf("SHA-256 mismatch: sent %x, received %x", want, r.sum)
	}
	t.Logf("%v → %v: %d MiB in %v (%.0f Mbit/s), SHA-256 %x matches", from, to, size>>20,
		elapsed.Round(time.Millisecond), mbps(size, elapsed), r.sum[:8])
	return elapsed
}

func mbps(bytes int64, d time.Duration) float64 { return float64(bytes) * 8 / d.Seconds() / 1e6 }

// uapiGet sends get=1 to iface's socket and returns the answer without its
// errno line, failing on a non-zero errno.
func uapiGet(iface string) (string, error) {
	resp, err := uapiRequest(iface, []byte("get=1\n\n"), 5*time.Second)
	if err != nil {
		return "", err
	}
	body, errno, err := splitErrno(resp)
	if err != nil {
		return "", err
	}
	if errno != 0 {
		return "", fmt.Errorf("get=1: errno=%d", errno)
	}
	return body, nil
}

// uapiRequest writes req to iface's UAPI socket and reads one answer, up to
// and including its blank line. A request that does not end in a blank line
// (garbage) is followed by a half-close, so the daemon sees its end. A write
// error is ignored (the daemon may hang up on a bad request before reading
// it all) as long as an answer, or EOF, follows; EOF (or a reset) before any
// answer returns io.EOF.
func uapiRequest(iface string, req []byte, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout("unix", socketPath(iface), timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(req)
		if err == nil && !bytes.HasSuffix(req, []byte("\n\n")) {
			err = c.(*net.UnixConn).CloseWrite()
		}
		werr <- err
	}()
	var b strings.Builder
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		b.WriteString(line)
		if line == "\n" {
			return b.String(), nil
		}
		if err != nil {
			// A reset is a hang-up too: the daemon closed with our
			// request still unread.
			if (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) && b.Len() == 0 {
				return "", io.EOF
			}
			return b.String(), fmt.Errorf("reading answer: %w (write: %v)", err, <-werr)
		}
	}
}

// splitErrno splits a UAPI answer into its body and errno.
func splitErrno(resp string) (string, int, error) {
	resp = strings.TrimSuffix(resp, "\n\n")
	i := strings.LastIndex(resp, "errno=")
	if i < 0 || (i > 0 && resp[i-1] != '\n') {
		return "", 0, fmt.Errorf("answer without errno: %q", resp)
	}
	errno, err := strconv.Atoi(resp[i+len("errno="):])
	if err != nil {
		return "", 0, fmt.Errorf("bad errno in %q", resp)
	}
	return resp[:i], errno, nil
}
