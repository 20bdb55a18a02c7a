package interop

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// badCase is a bad request. req builds it from the hex public key of a peer
// the daemon already has (selecting an existing peer changes nothing, so
// the bad line that follows is the only thing that could).
type badCase struct {
	name string
	req  func(peerHex string) string
	// errno: the daemon must answer with a non-zero errno, the same as
	// wireguard-go's. Otherwise an errno or a hang-up are both fine (as
	// for an unknown operation, which wireguard-go hangs up on, or bounds
	// where wgxdp is stricter).
	errno bool
}

func badCases() []badCase {
	set := func(lines ...string) func(string) string {
		return func(string) string { return "set=1\n" + strings.Join(lines, "\n") + "\n\n" }
	}
	peer := func(lines ...string) func(string) string {
		return func(p string) string { return "set=1\npublic_key=" + p + "\n" + strings.Join(lines, "\n") + "\n\n" }
	}
	garbage := func(seed uint64, n int) func(string) string {
		r := mrand.NewChaCha8([32]byte{0: byte(seed)})
		b := make([]byte, n)
		r.Read(b)
		return func(string) string { return string(b) }
	}
	k := make([]byte, 32)
	return []badCase{
		{"unknown device key", set("bogus_key=1"), true},
		{"unknown peer key", peer("bogus_key=1"), true},
		{"device key after peer", peer("listen_port=4242"), true},
		{"peer key before any peer", set("endpoint=10.250.0.9:51820"), true},
		{"private key short hex", set("private_key=abcd"), true},
		{"private key non-hex", set("private_key=" + strings.Repeat("zz", 32)), true},
		{"private key NUL bytes", set("private_key=" + strings.Repeat("\x00", 64)), true},
		{"public key odd-length hex", set("public_key=" + strings.Repeat("a", 63)), true},
		{"public key too long", set("public_key=" + strings.Repeat("ab", 33)), true},
		{"public key base64, not hex", set("public_key=" + base64.StdEncoding.EncodeToString(k)), true},
		{"preshared key short hex", peer("preshared_key=abcd"), true},
		{"endpoint without port", peer("endpoint=10.250.0.9"), true},
		{"endpoint not an address", peer("endpoint=not-an-endpoint:51820"), true},
		{"endpoint port out of range", peer("endpoint=10.250.0.9:70000"), true},
		{"endpoint IPv6 without brackets", peer("endpoint=fd99::9:51820"), true},
		{"endpoint empty", peer("endpoint="), true},
		{"listen port not a number", set("listen_port=notaport"), true},
		{"listen port out of range", set("listen_port=65536"), true},
		{"listen port negative", set("listen_port=-1"), true},
		{"fwmark not a number", set("fwmark=0xzz"), true},
		{"allowed IP octet out of range", peer("allowed_ip=10.0.0.300/32"), true},
		{"allowed IP mask too long", peer("allowed_ip=10.0.0.0/33"), true},
		{"allowed IP without mask", peer("allowed_ip=10.0.0.1"), true},
		{"keepalive negative", peer("persistent_keepalive_interval=-1"), true},
		{"keepalive out of range", peer("persistent_keepalive_interval=65536"), true},
		{"protocol version 2", peer("protocol_version=2"), true},
		{"remove=maybe", peer("remove=maybe"), true},
		{"line without '='", set("noequals"), true},
		{"get with trailing line", func(string) string { return "get=1\nfoo=bar\n\n" }, true},
		{"oversize line 64 KiB", set("private_key=" + strings.Repeat("a", 64<<10)), false},
		{"oversize line 1 MiB", peer("allowed_ip=" + strings.Repeat("1", 1<<20)), false},
		{"unknown operation", func(string) string { return "frobnicate=1\n\n" }, false},
		{"random garbage 8 KiB", garbage(1, 8<<10), false},
		{"random garbage after set=1", func(p string) string { return "set=1\n" + garbage(2, 4<<10)(p) }, false},
	}
}

// daemonCheck checks that n's daemon is running and that get=1 still
// answers what it did at the start.
func daemonCheck(t *testing.T, n *node, base, after string) {
	t.Helper()
	if n.proc.Exited() {
		t.Fatalf("%v: daemon exited %s: %v", n, after, n.proc.Err())
	}
	got, err := uapiGet(n.iface)
	if err != nil {
		t.Fatalf("%v: get=1 %s: %v", n, after, err)
	}
	if g := normalizeGet(got); g != base {
		t.Errorf("%v: configuration changed %s:\nbefore:\n%s\nafter:\n%s", n, after, base, g)
	}
}

// TestBadUAPI sends bad requests to a running wgxdp's UAPI socket, and the
// same to wireguard-go for reference. After each the daemon must still run,
// answer get=1, and have the configuration it had before.
func TestBadUAPI(t *testing.T) {
	binary(t, implWgxdp)
	binary(t, implWireguardGo)
	a, b := newPair(t, implWgxdp, implWireguardGo) // A: wgxdp, B: the reference
	nodes := []*node{a, b}
	base := map[*node]string{}
	for _, n := range nodes {
		startDaemon(t, n)
		configureSetconf(t, n, other(n, a, b), endpointOf(other(n, a, b), false))
		n.run(t, "ip", "link", "set", "dev", n.iface, "up")
		got, err := uapiGet(n.iface)
		if err != nil {
			t.Fatal(err)
		}
		base[n] = normalizeGet(got)
	}
	peerHex := func(n *node) string {
		k := other(n, a, b).key.PublicKey()
		return hex.EncodeToString(k[:])
	}

	for _, c := range badCases() {
		answers := map[*node]string{}
		errnos := map[*node]int{}
		for _, n := range nodes {
			resp, err := uapiRequest(n.iface, []byte(c.req(peerHex(n))), 5*time.Second)
			switch {
			case errors.Is(err, io.EOF):
				answers[n] = "hang-up"
			case err != nil:
				t.Errorf("%s: %v: %v (answer %q)", c.name, n, err, resp)
				answers[n] = "error"
			default:
				_, errno, err := splitErrno(resp)
				if err != nil {
					t.Errorf("%s: %v: %v", c.name, n, err)
				}
				errnos[n] = errno
				answers[n] = "errno=" + strconv.Itoa(errno)
			}
			daemonCheck(t, n, base[n], "after "+c.name)
		}
		t.Logf("%-34s wgxdp: %-10s wireguard-go: %s", c.name, answers[a], answers[b])
		if !c.errno {
			continue
		}
		if e, ok := errnos[a]; !ok || e == 0 {
			t.Errorf("%s: wgxdp answered %s, want a non-zero errno", c.name, answers[a])
		} else if e != errnos[b] {
			t.Errorf("%s: wgxdp answered %s, wireguard-go %s", c.name, answers[a], answers[b])
		}
	}

	t.Run("hang-ups", func(t *testing.T) {
		for _, n := range nodes {
			for _, h := range []struct{ name, req string }{
				{"mid-line", "set=1\npublic_key=" + peerHex(n)[:20]},
				{"mid-request", "set=1\npublic_key=" + peerHex(n) + "\n"},
				{"after set=1", "set=1\n"},
				{"mid-operation", "ge"},
				{"before reading the answer", "get=1\n\n"},
			} {
				c, err := net.Dial("unix", socketPath(n.iface))
				if err != nil {
					t.Fatal(err)
				}
				c.Write([]byte(h.req))
				c.Close()
				time.Sleep(20 * time.Millisecond)
				daemonCheck(t, n, base[n], "after a client hung up "+h.name)
			}
			t.Logf("%v: survives clients hanging up mid-line, mid-request, mid-operation and before the answer", n)
		}
	})

	t.Run("idle clients", func(t *testing.T) {
		for _, n := range nodes {
			// Clients that connect and say nothing, or stall mid-request,
			// while others are served. wireguard-go holds its config lock
			// while it reads a set request, so a stalled set blocks
			// everyone there: that is logged, not failed.
			var idle []net.Conn
			for _, req := range []string{"", "", "get=", "set=1\nlisten_p"} {
				c, err := net.Dial("unix", socketPath(n.iface))
				if err != nil {
					t.Fatal(err)
				}
				c.Write([]byte(req))
				idle = append(idle, c)
				if req == "get=" {
					time.Sleep(20 * time.Millisecond)
					start := time.Now()
					if _, err := uapiGet(n.iface); err != nil {
						t.Errorf("%v: get=1 with idle clients connected: %v", n, err)
					} else {
						t.Logf("%v: get=1 answered in %v with 3 idle clients connected", n, time.Since(start).Round(time.Millisecond))
					}
				}
			}
			time.Sleep(20 * time.Millisecond)
			resp, err := uapiRequest(n.iface, []byte("get=1\n\n"), 2*time.Second)
			t.Logf("%v: get=1 while a set request stalls mid-line: %q, %v", n, strings.SplitN(resp, "\n", 2)[0], err)
			for _, c := range idle {
				c.Close()
			}
			daemonCheck(t, n, base[n], "after idle clients left")
		}
	})

	t.Run("concurrent clients", func(t *testing.T) {
		const clients, rounds = 32, 10
		for _, n := range nodes {
			start := time.Now()
			var wg sync.WaitGroup
			var mu sync.Mutex
			var failures []string
			fail := func(format string, args ...any) {
				mu.Lock()
				defer mu.Unlock()
				if len(failures) < 10 {
					failures = append(failures, fmt.Sprintf(format, args...))
				}
			}
			var cases []badCase // the ones answered with an errno
			for _, c := range badCases() {
				if c.errno {
					cases = append(cases, c)
				}
			}
			for i := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for r := range rounds {
						if (i+r)%2 == 0 {
							got, err := uapiGet(n.iface)
							if err != nil {
								fail("client %d round %d: get=1: %v", i, r, err)
							} else if normalizeGet(got) != base[n] {
								fail("client %d round %d: get=1 answered a different configuration", i, r)
							}
							continue
						}
						c := cases[(i*rounds+r)%len(cases)]
						resp, err := uapiRequest(n.iface, []byte(c.req(peerHex(n))), 10*time.Second)
						if err != nil {
							fail("client %d round %d: %s: %v", i, r, c.name, err)
						} else if _, errno, err := splitErrno(resp); err != nil || errno == 0 {
							fail("client %d round %d: %s: answer %q", i, r, c.name, resp)
						}
					}
				}()
			}
			wg.Wait()
			for _, f := range failures {
				t.Errorf("%v: %s", n, f)
			}
			daemonCheck(t, n, base[n], "after concurrent clients")
			t.Logf("%v: %d clients × %d requests (get=1 and bad sets, interleaved) in %v", n, clients, rounds,
				time.Since(start).Round(time.Millisecond))
		}
	})

	t.Run("wg set", func(t *testing.T) {
		for _, n := range nodes {
			for _, args := range [][]string{
				{"peer", "notakey"},
				{"peer", strings.Repeat("A", 43)}, // base64 without its padding
				{"listen-port", "notaport"},
				{"fwmark", "0xnothex"},
				{"peer", other(n, a, b).pub(), "persistent-keepalive", "forever"},
				{"peer", other(n, a, b).pub(), "allowed-ips", "10.0.0.300/32"},
			} {
				out, err := n.ns.Run("wg", append([]string{"set", n.iface}, args...)...)
				if err == nil {
					t.Errorf("%v: wg set %s succeeded: %s", n, strings.Join(args, " "), out)
					continue
				}
				msg := strings.TrimSpace(out)
				if msg == "" {
					t.Errorf("%v: wg set %s failed silently", n, strings.Join(args, " "))
				}
				t.Logf("%v: wg set %s → %q", n, strings.Join(args, " "), msg)
				daemonCheck(t, n, base[n], "after wg set "+strings.Join(args, " "))
			}
		}
	})

	// Last, as wireguard-go keeps the new port even when binding it fails:
	// a port that is taken, an error the daemon itself reports.
	t.Run("wg set listen-port in use", func(t *testing.T) {
		for _, n := range nodes {
			pc, err := n.ns.ListenPacket("udp", ":0")
			if err != nil {
				t.Fatal(err)
			}
			port := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
			out, err := n.ns.Run("wg", "set", n.iface, "listen-port", port)
			pc.Close()
			t.Logf("%v: wg set listen-port %s (taken) → %q, %v", n, port, strings.TrimSpace(out), err)
			if err == nil {
				t.Errorf("%v: wg set listen-port %s succeeded although the port is taken", n, port)
			}
			if n.proc.Exited() {
				t.Fatalf("%v: daemon exited: %v", n, n.proc.Err())
			}
			got, err := uapiGet(n.iface)
			if err != nil {
				t.Fatalf("%v: get=1: %v", n, err)
			}
			for _, l := range strings.Split(got, "\n") {
				if strings.HasPrefix(l, "listen_port=") {
					t.Logf("%v: afterwards %s", n, l)
				}
			}
		}
	})
}

// normalizeGet puts a get=1 answer in a canonical order: the interface's
// lines, then each peer's block with its lines sorted, blocks sorted.
// Implementations may list peers and allowed IPs in any order.
func normalizeGet(s string) string {
	var iface []string
	var peers [][]string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		switch {
		case strings.HasPrefix(l, "public_key="):
			peers = append(peers, []string{l})
		case len(peers) > 0:
			peers[len(peers)-1] = append(peers[len(peers)-1], l)
		default:
			iface = append(iface, l)
		}
	}
	var blocks []string
	for _, p := range peers {
		slices.Sort(p[1:])
		blocks = append(blocks, strings.Join(p, "\n"))
	}
	slices.Sort(blocks)
	return strings.Join(append(iface, blocks...), "\n")
}
