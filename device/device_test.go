package device

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/clock"
	"github.com/wgxdp/wgxdp/conn"
	"github.com/wgxdp/wgxdp/conn/conntest"
	"github.com/wgxdp/wgxdp/noise"
	"github.com/wgxdp/wgxdp/tun"
	"github.com/wgxdp/wgxdp/tun/tuntest"
	"github.com/wgxdp/wgxdp/uapi"
)

// ipv4UDP builds an IPv4/UDP packet from src to dst carrying payload.
func ipv4UDP(src, dst netip.Addr, payload []byte) []byte {
	p := make([]byte, 28+len(payload))
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	p[8] = 64
	p[9] = 17
	s4, d4 := src.As4(), dst.As4()
	copy(p[12:], s4[:])
	copy(p[16:], d4[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(p[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(p[10:], ^uint16(sum))
	binary.BigEndian.PutUint16(p[20:], 1234)
	binary.BigEndian.PutUint16(p[22:], 5678)
	binary.BigEndian.PutUint16(p[24:], uint16(8+len(payload)))
	copy(p[28:], payload)
	return p
}

// ipv6UDP builds an IPv6/UDP packet.
func ipv6UDP(src, dst netip.Addr, payload []byte) []byte {
	p := make([]byte, 48+len(payload))
	p[0] = 0x60
	binary.BigEndian.PutUint16(p[4:], uint16(8+len(payload)))
	p[6] = 17
	p[7] = 64
	s, d := src.As16(), dst.As16()
	copy(p[8:], s[:])
	copy(p[24:], d[:])
	binary.BigEndian.PutUint16(p[40:], 1234)
	binary.BigEndian.PutUint16(p[42:], 5678)
	binary.BigEndian.PutUint16(p[44:], uint16(8+len(payload)))
	copy(p[48:], payload)
	return p
}

type node struct {
	dev  *Device
	tun  *tuntest.Device
	bind *conntest.Bind
	sk   noise.PrivateKey
	pk   noise.PublicKey
	ip4  netip.Addr
	ip6  netip.Addr
	addr netip.Addr
	// express is the TUN's express queue when newPair was told to give
	// the devices one (withExpress).
	express *tuntest.Device
}

// wrapBind, if set, wraps the Binds newPair gives the devices.
var wrapBind func(*conntest.Bind) conn.Bind

// tweakConfig and tweakDevice, if set, see each device newPair makes:
// its Config before New, the Device after New (before Set and Up).
var (
	tweakConfig func(*Config)
	tweakDevice func(*Device)
)

// withExpress, if set, gives newPair's devices a two-queue TUN whose
// second queue is the express queue (expressTUN).
var withExpress bool

// expressTUN is a TUN with an express queue, as tun's Linux device with
// Options.Express: queue 0 is the node's tuntest device, queue 1 another.
type expressTUN struct {
	*tuntest.Device
	express *tuntest.Device
}

func (e *expressTUN) Queues() int { return 2 }
func (e *expressTUN) Queue(i int) tun.Device {
	if i == 1 {
		return e.express
	}
	return e.Device
}
func (e *expressTUN) ExpressQueue() (int, error) { return 1, nil }
func (e *expressTUN) Close() error {
	e.express.Close()
	return e.Device.Close()
}

type pair struct {
	a, b *node
	net  *conntest.Network
	clk  *clock.Fake // nil: real clock
}

func mustKey(t testing.TB) noise.PrivateKey {
	sk, err := noise.NewPrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

func checkGoroutines(t testing.TB) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				n := runtime.Stack(buf, true)
				t.Fatalf("goroutine leak: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:n])
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// newPair builds two devices on an in-memory network that know each other.
// With fake, both run in virtual time. Endpoints: a knows b's; b learns
// a's from the handshake unless both is set.
func newPair(t testing.TB, fake bool, both bool) *pair {
	t.Helper()
	if _, fuzzing := t.(*testing.F); !fuzzing { // the fuzzer starts goroutines of its own
		checkGoroutines(t)
	}
	pr := &pair{net: conntest.NewNetwork()}
	var clk clock.Clock = clock.Real{}
	if fake {
		pr.clk = clock.NewFake(time.Unix(1700000000, 0))
		clk = pr.clk
	}
	mk := func(i int) *node {
		n := &node{
			sk:   mustKey(t),
			ip4:  netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}),
			ip6:  netip.MustParseAddr(fmt.Sprintf("fd00::%d", i)),
			addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}),
		}
		n.pk = n.sk.PublicKey()
		n.tun = tuntest.New(fmt.Sprintf("wg%d", i), 1420)
		n.bind = pr.net.NewBind(n.addr)
		var lg *Logger
		if os.Getenv("WGXDP_TEST_LOG") != "" {
			name := fmt.Sprintf("dev%d: ", i)
			lg = &Logger{Verbosef: func(f string, a ...any) { t.Logf(name+f, a...) }, Errorf: func(f string, a ...any) { t.Logf(name+f, a...) }}
		}
		var bind conn.Bind = n.bind
		if wrapBind != nil {
			bind = wrapBind(n.bind)
		}
		var tdev tun.Device = n.tun
		if withExpress {
			n.express = tuntest.New(fmt.Sprintf("wg%d", i), 1420)
			tdev = &expressTUN{n.tun, n.express}
		}
		cfg := Config{Bind: bind, TUN: tdev, Clock: clk, HandshakeWorkers: 2, Logger: lg}
		if tweakConfig != nil {
			tweakConfig(&cfg)
		}
		d, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if tweakDevice != nil {
			tweakDevice(d)
		}
		n.dev = d
		t.Cleanup(func() { d.Close() })
		return n
	}
	pr.a, pr.b = mk(1), mk(2)
	port := func(n *node) uint16 { return 51820 + uint16(n.addr.As4()[3]) }
	for _, x := range []struct{ self, other *node }{{pr.a, pr.b}, {pr.b, pr.a}} {
		k := uapi.Key(x.self.sk)
		lp := port(x.self)
		c := &uapi.Config{PrivateKey: &k, ListenPort: &lp}
		pc := uapi.PeerConfig{PublicKey: uapi.Key(x.other.pk), AllowedIPs: []uapi.AllowedIPChange{
			{Prefix: netip.PrefixFrom(x.other.ip4, 32)}, {Prefix: netip.PrefixFrom(x.other.ip6, 128)}}}
		if x.self == pr.a || both {
			ep := netip.AddrPortFrom(x.other.addr, port(x.other))
			pc.Endpoint = &ep
		}
		c.Peers = []uapi.PeerConfig{pc}
		if err := x.self.dev.Set(c); err != nil {
			t.Fatal(err)
		}
		if err := x.self.dev.Up(); err != nil {
			t.Fatal(err)
		}
	}
	return pr
}

func recvPacket(t testing.TB, n *node, timeout time.Duration) []byte {
	t.Helper()
	select {
	case p := <-n.tun.Outbound:
		return p
	case <-time.After(timeout):
		t.Fatalf("%v: no packet within %v (stats %+v)", n.ip4, timeout, n.dev.Stats())
		return nil
	}
}

// ping sends one packet from src to dst through the tunnel and checks it
// arrives byte for byte.
func ping(t testing.TB, src, dst *node, payload []byte, v6 bool) {
	t.Helper()
	var p []byte
	if v6 {
		p = ipv6UDP(src.ip6, dst.ip6, payload)
	} else {
		p = ipv4UDP(src.ip4, dst.ip4, payload)
	}
	src.tun.Inbound <- p
	got := recvPacket(t, dst, 5*time.Second)
	if !bytes.Equal(got, p) {
		t.Fatalf("packet differs:\n got %x\nwant %x", got, p)
	}
}

func TestTwoDevicesPing(t *testing.T) {
	for _, from := range []string{"a", "b"} {
		t.Run("initiator="+from, func(t *testing.T) {
			pr := newPair(t, false, true)
			x, y := pr.a, pr.b
			if from == "b" {
				x, y = y, x
			}
			ping(t, x, y, []byte("hello"), false)
			ping(t, y, x, []byte("world"), false)
			ping(t, x, y, bytes.Repeat([]byte{7}, 1300), true)
			ping(t, y, x, nil, true)
			for i := range 200 {
				ping(t, x, y, []byte(fmt.Sprint("seq", i)), i%2 == 0)
			}
			st := x.dev.Get()
			if len(st.Peers) != 1 || st.Peers[0].LastHandshake.IsZero() || st.Peers[0].TxBytes == 0 || st.Peers[0].RxBytes == 0 {
				t.Fatalf("get: %+v", st.Peers)
			}
		})
	}
}

func TestResponderLearnsEndpoint(t *testing.T) {
	pr := newPair(t, false, false) // b has no endpoint for a
	ping(t, pr.a, pr.b, []byte("first"), false)
	ping(t, pr.b, pr.a, []byte("back"), false)
	if ep := pr.b.dev.LookupPeer(pr.a.pk).Endpoint(); ep.Dst.Addr() != pr.a.addr {
		t.Fatalf("b's endpoint for a: %v", ep)
	}
}

func TestRoaming(t *testing.T) {
	pr := newPair(t, false, true)
	ping(t, pr.a, pr.b, []byte("x"), false)
	// a moves to a new address; b follows the first authenticated packet.
	newAddr := netip.MustParseAddr("198.51.100.7")
	pr.a.dev.mu.Lock()
	pr.a.dev.closeBindLocked()
	pr.a.bind.SetAddr(newAddr)
	if err := pr.a.dev.openBindLocked(pr.a.dev.listenPort); err != nil {
		t.Fatal(err)
	}
	pr.a.dev.mu.Unlock()
	ping(t, pr.a, pr.b, []byte("from new addr"), false)
	if got := pr.b.dev.LookupPeer(pr.a.pk).Endpoint().Dst.Addr(); got != newAddr {
		t.Fatalf("endpoint did not roam: %v", got)
	}
	ping(t, pr.b, pr.a, []byte("reply reaches new addr"), false)
}

func TestNoRouteAndSourceCheck(t *testing.T) {
	pr := newPair(t, false, true)
	ping(t, pr.a, pr.b, []byte("x"), false)
	// No peer for this destination: dropped and counted.
	pr.a.tun.Inbound <- ipv4UDP(pr.a.ip4, netip.MustParseAddr("10.9.9.9"), []byte("nowhere"))
	// Source address not allowed for a at b: dropped at b.
	pr.a.tun.Inbound <- ipv4UDP(netip.MustParseAddr("10.7.7.7"), pr.b.ip4, []byte("spoofed"))
	ping(t, pr.a, pr.b, []byte("after"), false)
	waitFor(t, func() bool { return pr.a.dev.Stats().DropNoRoute == 1 && pr.b.dev.Stats().DropSourceCheck == 1 })
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestReplayAndGarbage replays captured datagrams and sends malformed ones:
// all dropped and counted, nothing delivered, no panic.
func TestReplayAndGarbage(t *testing.T) {
	pr := newPair(t, false, true)
	var captured [][]byte
	var capMu = make(chan struct{}, 1)
	capMu <- struct{}{}
	pr.net.SetFilter(func(from, to netip.AddrPort, p []byte) bool {
		<-capMu
		captured = append(captured, append([]byte(nil), p...))
		capMu <- struct{}{}
		return true
	})
	ping(t, pr.a, pr.b, []byte("one"), false)
	ping(t, pr.a, pr.b, []byte("two"), false)
	<-capMu
	msgs := captured
	capMu <- struct{}{}
	pr.net.SetFilter(nil)
	bAddr := netip.AddrPortFrom(pr.b.addr, pr.b.dev.ListenPort())
	aAddr := netip.AddrPortFrom(pr.a.addr, pr.a.dev.ListenPort())
	before := pr.b.dev.Stats()
	var transports int
	for _, m := range msgs {
		if binary.LittleEndian.Uint32(m) == 4 && len(m) > 32 {
			transports++
		}
		pr.net.Inject(aAddr, bAddr, m) // replay everything
	}
	garbage := [][]byte{{}, {1}, {4, 0, 0, 0}, make([]byte, 31), make([]byte, 148), make([]byte, 92), make([]byte, 64), {9, 0, 0, 0, 1, 2}}
	for i := range 100 {
		g := make([]byte, i*7%300)
		rand.Read(g)
		garbage = append(garbage, g)
		// transport header for an unknown index
		g2 := make([]byte, 64)
		rand.Read(g2)
		binary.LittleEndian.PutUint32(g2, 4)
		garbage = append(garbage, g2)
	}
	for _, g := range garbage {
		pr.net.Inject(aAddr, bAddr, g)
	}
	ping(t, pr.a, pr.b, []byte("still works"), false)
	select {
	case p := <-pr.b.tun.Outbound:
		t.Fatalf("unexpected delivery %x", p)
	case <-time.After(50 * time.Millisecond):
	}
	after := pr.b.dev.Stats()
	if after.DropReplay-before.DropReplay < uint64(transports) {
		t.Fatalf("replays counted %d, want ≥ %d", after.DropReplay-before.DropReplay, transports)
	}
	if after.DropMalformed == before.DropMalformed || after.DropUnknownIndex == before.DropUnknownIndex {
		t.Fatalf("garbage not counted: %+v", after)
	}
}

// settle waits until no datagram or handshake is in flight, so virtual
// time does not run ahead of handshakes being computed in real time.
func (pr *pair) settle(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	quiet := 0
	for quiet < 3 {
		if pr.net.InFlight() == 0 && pr.a.dev.hsBusy.Load() == 0 && pr.b.dev.hsBusy.Load() == 0 {
			quiet++
		} else {
			quiet = 0
		}
		if time.Now().After(deadline) {
			t.Fatal("network did not settle")
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// stepPing is ping in virtual time: send, and let handshakes finish before
// the clock moves on.
func (pr *pair) stepPing(t *testing.T, src, dst *node, payload []byte) {
	t.Helper()
	p := ipv4UDP(src.ip4, dst.ip4, payload)
	src.tun.Inbound <- p
	defer pr.settle(t)
	deadline := time.Now().Add(5 * time.Second)
	for {
		select {
		case got := <-dst.tun.Outbound:
			if !bytes.Equal(got, p) {
				t.Fatalf("packet differs: %x vs %x", got, p)
			}
			return
		case <-time.After(2 * time.Millisecond):
			// Let handshake timers run if the packet waits for a session.
			if time.Now().After(deadline) {
				t.Fatalf("lost packet %q (a %+v, b %+v)", payload, pr.a.dev.Stats(), pr.b.dev.Stats())
			}
		}
	}
}

// TestRekeyVirtualTime runs ten virtual minutes of traffic both ways: the
// initiator rekeys after REKEY_AFTER_TIME, keypairs rotate, and not one
// packet is lost.
func TestRekeyVirtualTime(t *testing.T) {
	pr := newPair(t, true, true)
	sessions := map[uint32]bool{}
	for i := range 600 {
		pr.clk.Advance(time.Second)
		pr.settle(t)
		pr.stepPing(t, pr.a, pr.b, []byte(fmt.Sprint("a→b ", i)))
		pr.stepPing(t, pr.b, pr.a, []byte(fmt.Sprint("b→a ", i)))
		if id := pr.a.dev.LookupPeer(pr.b.pk).SessionID(); id != 0 {
			sessions[id] = true
		}
	}
	// 600 s of traffic: a new session at least every 120 s or so.
	if len(sessions) < 4 {
		t.Fatalf("only %d sessions in 600 virtual seconds", len(sessions))
	}
	cur, prev, _ := pr.a.dev.LookupPeer(pr.b.pk).Keypairs()
	if !cur || !prev {
		t.Fatalf("keypairs after rotation: current %v previous %v", cur, prev)
	}
	if s := pr.a.dev.Stats(); s.DropReplay+s.DropDecrypt+s.DropExpired != 0 {
		t.Fatalf("drops at a: %+v", s)
	}
}

// TestKeysZeroedVirtualTime: after traffic stops, keys are zeroed after
// 3×REJECT_AFTER_TIME, and traffic afterwards handshakes again.
func TestKeysZeroedVirtualTime(t *testing.T) {
	pr := newPair(t, true, true)
	pr.stepPing(t, pr.a, pr.b, []byte("x"))
	pr.stepPing(t, pr.b, pr.a, []byte("y"))
	for range 60 {
		pr.clk.Advance(10 * time.Second)
		pr.settle(t)
	}
	waitFor(t, func() bool {
		c, p, n := pr.a.dev.LookupPeer(pr.b.pk).Keypairs()
		return !c && !p && !n
	})
	pr.stepPing(t, pr.a, pr.b, []byte("again"))
}

// TestRetransmitVirtualTime: with the responder unreachable, the initiator
// retries every REKEY_TIMEOUT and gives up after REKEY_ATTEMPT_TIME.
func TestRetransmitVirtualTime(t *testing.T) {
	pr := newPair(t, true, true)
	pr.net.SetFilter(func(from, to netip.AddrPort, p []byte) bool { return false })
	pr.a.tun.Inbound <- ipv4UDP(pr.a.ip4, pr.b.ip4, []byte("lost"))
	waitFor(t, func() bool { return pr.a.dev.Stats().HandshakesInitiated == 1 })
	for range 200 {
		pr.clk.Advance(time.Second)
		pr.settle(t)
	}
	n := pr.a.dev.Stats().HandshakesInitiated
	// 1 + MaxTimerHandshakes retries (18 × ~5 s = 90 s), then silence.
	if n != 1+noise.MaxTimerHandshakes+1 {
		t.Fatalf("initiations sent: %d, want %d", n, 1+noise.MaxTimerHandshakes+1)
	}
}

func TestUAPISetGet(t *testing.T) {
	pr := newPair(t, false, true)
	d := pr.a.dev
	ka := uint16(25)
	psk := uapi.Key{1, 2, 3}
	other := mustKey(t).PublicKey()
	err := d.Set(&uapi.Config{Peers: []uapi.PeerConfig{
		{PublicKey: uapi.Key(pr.b.pk), PresharedKey: &psk, PersistentKeepalive: &ka, AllowedIPs: []uapi.AllowedIPChange{{Prefix: netip.MustParsePrefix("10.1.0.0/16")}, {Prefix: netip.MustParsePrefix("10.0.0.2/32"), Remove: true}}},
		{PublicKey: uapi.Key(other), UpdateOnly: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	st := d.Get()
	if len(st.Peers) != 1 {
		t.Fatalf("peers %d", len(st.Peers))
	}
	p := st.Peers[0]
	if p.PresharedKey != psk || p.PersistentKeepalive != 25 || len(p.AllowedIPs) != 2 {
		t.Fatalf("peer state %+v", p)
	}
	v := 2
	err = d.Set(&uapi.Config{Peers: []uapi.PeerConfig{{PublicKey: uapi.Key(pr.b.pk), ProtocolVersion: &v}}})
	if ue, ok := err.(*uapi.Error); !ok || ue.Errno != uapi.ErrnoInvalid {
		t.Fatalf("protocol_version 2: %v", err)
	}
	if err := d.Set(&uapi.Config{ReplacePeers: true}); err != nil || len(d.Get().Peers) != 0 {
		t.Fatal("replace_peers")
	}
}

// TestCookieUnderLoad: a responder under load answers an initiation with a
// cookie reply instead of computing anything; the initiator's retry carries
// mac2 and completes the handshake.
func TestCookieUnderLoad(t *testing.T) {
	pr := newPair(t, true, true)
	// Hold b under load for the whole test (virtual time).
	pr.b.dev.underLoadUntil.Store(pr.clk.Now().Add(time.Hour).UnixNano())
	pr.a.tun.Inbound <- ipv4UDP(pr.a.ip4, pr.b.ip4, []byte("through the cookie"))
	waitFor(t, func() bool { return pr.a.dev.Stats().HandshakesInitiated == 1 })
	pr.settle(t)
	if s := pr.b.dev.Stats(); s.CookiesSent != 1 || s.HandshakesCompleted != 0 {
		t.Fatalf("b under load: %+v", s)
	}
	// The retry after REKEY_TIMEOUT carries a valid mac2.
	for range 7 {
		pr.clk.Advance(time.Second)
		pr.settle(t)
	}
	got := recvPacket(t, pr.b, 5*time.Second)
	if !bytes.Contains(got, []byte("through the cookie")) {
		t.Fatalf("got %x", got)
	}
	if s := pr.b.dev.Stats(); s.CookiesSent != 1 {
		t.Fatalf("cookies sent %d", s.CookiesSent)
	}
}

// FuzzReceive feeds arbitrary datagrams to a device with a live session:
// nothing may panic, and the session keeps working.
func FuzzReceive(f *testing.F) {
	f.Add([]byte{4, 0, 0, 0})
	f.Add(make([]byte, 148))
	f.Add(append([]byte{1, 0, 0, 0}, make([]byte, 144)...))
	f.Add(append([]byte{2, 0, 0, 0}, make([]byte, 88)...))
	f.Add(append([]byte{3, 0, 0, 0}, make([]byte, 60)...))
	pr := newPair(f, false, true)
	ping(f, pr.a, pr.b, []byte("up"), false)
	aAddr := netip.AddrPortFrom(pr.a.addr, pr.a.dev.ListenPort())
	bAddr := netip.AddrPortFrom(pr.b.addr, pr.b.dev.ListenPort())
	recv := pr.b.dev.LookupPeer(pr.a.pk)
	f.Fuzz(func(t *testing.T, data []byte) {
		// Aim transport messages at the live session half of the time.
		if len(data) >= 8 && data[0] == 4 && data[1]&1 == 1 {
			recv.kpMu.RLock()
			if kp := recv.kp.current; kp != nil {
				binary.LittleEndian.PutUint32(data[4:], kp.localIndex)
			}
			recv.kpMu.RUnlock()
		}
		pr.net.Inject(aAddr, bAddr, data)
	})
	ping(f, pr.a, pr.b, []byte("still up"), false)
}

// TestPersistentKeepalive: turning persistent keepalive on sends a
// keepalive at once (as the kernel does), then one per interval of silence.
func TestPersistentKeepalive(t *testing.T) {
	pr := newPair(t, true, true)
	pr.stepPing(t, pr.a, pr.b, []byte("x"))
	pr.stepPing(t, pr.b, pr.a, []byte("y"))
	peerA := pr.b.dev.LookupPeer(pr.a.pk)
	rx0, _ := peerA.Stats()
	ka := uint16(25)
	if err := pr.a.dev.Set(&uapi.Config{Peers: []uapi.PeerConfig{{PublicKey: uapi.Key(pr.b.pk), PersistentKeepalive: &ka}}}); err != nil {
		t.Fatal(err)
	}
	pr.settle(t)
	rx1, _ := peerA.Stats()
	if rx1-rx0 != 32 {
		t.Fatalf("b received %d bytes after keepalive was turned on, want one 32-byte keepalive", rx1-rx0)
	}
	// 100 s of silence: one keepalive every 25 s (plus none from b, whose
	// keepalive timer only answers data).
	for range 100 {
		pr.clk.Advance(time.Second)
		pr.settle(t)
	}
	rx2, _ := peerA.Stats()
	if n := (rx2 - rx1) / 32; n < 3 || n > 5 {
		t.Fatalf("%d keepalives in 100 s at interval 25 s", n)
	}
	if st := pr.a.dev.Get(); st.Peers[0].PersistentKeepalive != 25 {
		t.Fatalf("get: %d", st.Peers[0].PersistentKeepalive)
	}
}
