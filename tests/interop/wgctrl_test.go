package interop

import (
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"golang.zx2c4.com/wireguard/wgctrl"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// wantPeer is a peer as Device should read it back.
type wantPeer struct {
	psk        wgtypes.Key
	endpoint   string // "" for none
	keepalive  time.Duration
	allowedIPs []string
}

type wantDevice struct {
	key          wgtypes.Key
	listenPort   int
	firewallMark int
	peers        map[wgtypes.Key]wantPeer
}

// TestWgctrl configures wgxdp through wgctrl's userspace client (the UAPI
// socket) in steps, reading the device back after each and comparing it
// field by field with what was set. wireguard-go runs the same steps, to
// show the expectations are wireguard-go's.
func TestWgctrl(t *testing.T) {
	for _, impl := range []string{implWgxdp, implWireguardGo} {
		t.Run(impl, func(t *testing.T) { testWgctrl(t, impl) })
	}
}

func testWgctrl(t *testing.T, impl string) {
	binary(t, impl)
	a, b := newPair(t, impl, impl)
	startDaemon(t, a)
	// Up, so the listen port is really bound. The endpoints below are B's
	// outer addresses, where nothing listens: the keepalives that go out
	// stay on the veth.
	a.run(t, "ip", "link", "set", "dev", a.iface, "up")

	c, err := wgctrl.New()
	if err != nil {
		t.Fatalf("wgctrl.New: %v", err)
	}
	defer c.Close()

	keys := func(n int) []wgtypes.Key {
		ks := make([]wgtypes.Key, n)
		for i := range ks {
			k, err := wgtypes.GeneratePrivateKey()
			if err != nil {
				t.Fatal(err)
			}
			ks[i] = k
		}
		return ks
	}
	priv, psk := keys(2), keys(4)
	var pubs []wgtypes.Key
	for _, k := range keys(5) {
		pubs = append(pubs, k.PublicKey())
	}
	b4, b6 := b.out4.Addr(), b.out6.Addr()
	ep := func(a netip.Addr, port int) *net.UDPAddr {
		return net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, uint16(port)))
	}
	nets := func(ss ...string) []net.IPNet {
		var r []net.IPNet
		for _, s := range ss {
			_, n, err := net.ParseCIDR(s)
			if err != nil {
				t.Fatal(err)
			}
			r = append(r, *n)
		}
		return r
	}
	ptr := func(v int) *int { return &v }
	dur := func(d time.Duration) *time.Duration { return &d }
	zero := wgtypes.Key{}

	steps := []struct {
		name string
		cfg  wgtypes.Config
		want wantDevice
	}{{
		name: "initial: key, port, fwmark, three peers",
		cfg: wgtypes.Config{
			PrivateKey: &priv[0], ListenPort: ptr(51820), FirewallMark: ptr(0x4a1), ReplacePeers: true,
			Peers: []wgtypes.PeerConfig{
				{PublicKey: pubs[0], PresharedKey: &psk[0], Endpoint: ep(b4, 51821), PersistentKeepaliveInterval: dur(25 * time.Second),
					ReplaceAllowedIPs: true, AllowedIPs: nets("10.252.1.0/24", "fd98:1::/64")},
				{PublicKey: pubs[1], PresharedKey: &psk[1], Endpoint: ep(b6, 51822),
					AllowedIPs: nets("10.252.2.2/32", "10.252.3.0/24", "fd98:2::2/128", "fd98:3::/48")},
				{PublicKey: pubs[2]},
			},
		},
		want: wantDevice{key: priv[0], listenPort: 51820, firewallMark: 0x4a1, peers: map[wgtypes.Key]wantPeer{
			pubs[0]: {psk[0], ep(b4, 51821).String(), 25 * time.Second, []string{"10.252.1.0/24", "fd98:1::/64"}},
			pubs[1]: {psk[1], ep(b6, 51822).String(), 0, []string{"10.252.2.2/32", "10.252.3.0/24", "fd98:2::2/128", "fd98:3::/48"}},
			pubs[2]: {},
		}},
	}, {
		name: "update: replace and move allowed IPs, drop keepalive and PSK, new endpoint, remove a peer, update-only on a stranger",
		cfg: wgtypes.Config{
			Peers: []wgtypes.PeerConfig{
				// 10.252.3.0/24 moves from peer 1 to peer 0.
				{PublicKey: pubs[0], UpdateOnly: true, PersistentKeepaliveInterval: dur(0),
					ReplaceAllowedIPs: true, AllowedIPs: nets("10.252.9.0/24", "10.252.3.0/24")},
				{PublicKey: pubs[1], PresharedKey: &zero, Endpoint: ep(b4, 51900), AllowedIPs: nets("fd98:22::/64")},
				{PublicKey: pubs[2], Remove: true},
				{PublicKey: pubs[4], UpdateOnly: true, AllowedIPs: nets("10.252.44.0/24")},
			},
		},
		want: wantDevice{key: priv[0], listenPort: 51820, firewallMark: 0x4a1, peers: map[wgtypes.Key]wantPeer{
			pubs[0]: {psk[0], ep(b4, 51821).String(), 0, []string{"10.252.9.0/24", "10.252.3.0/24"}},
			pubs[1]: {zero, ep(b4, 51900).String(), 0, []string{"10.252.2.2/32", "fd98:2::2/128", "fd98:3::/48", "fd98:22::/64"}},
		}},
	}, {
		name: "replace: new key and port, fwmark off, one new peer",
		cfg: wgtypes.Config{
			PrivateKey: &priv[1], ListenPort: ptr(51830), FirewallMark: ptr(0), ReplacePeers: true,
			Peers: []wgtypes.PeerConfig{
				{PublicKey: pubs[3], PresharedKey: &psk[3], Endpoint: ep(b6, 51823), PersistentKeepaliveInterval: dur(7 * time.Second),
					AllowedIPs: nets("10.252.0.0/16", "fd98::/16", "10.253.7.7/32")},
			},
		},
		want: wantDevice{key: priv[1], listenPort: 51830, firewallMark: 0, peers: map[wgtypes.Key]wantPeer{
			pubs[3]: {psk[3], ep(b6, 51823).String(), 7 * time.Second, []string{"10.252.0.0/16", "fd98::/16", "10.253.7.7/32"}},
		}},
	}}

	for _, s := range steps {
		t.Logf("ConfigureDevice(%s): %s", a.iface, s.name)
		if err := c.ConfigureDevice(a.iface, s.cfg); err != nil {
			t.Fatalf("%s: ConfigureDevice: %v", s.name, err)
		}
		d, err := c.Device(a.iface)
		if err != nil {
			t.Fatalf("%s: Device: %v", s.name, err)
		}
		compareDevice(t, s.name, a.iface, d, s.want)
	}
}

func compareDevice(t *testing.T, step, iface string, d *wgtypes.Device, w wantDevice) {
	t.Helper()
	errs := 0
	check := func(field string, got, want any) {
		if got != want {
			t.Errorf("%s: %s = %v, want %v", step, field, got, want)
			errs++
		}
	}
	check("Name", d.Name, iface)
	check("Type", d.Type, wgtypes.Userspace)
	check("PrivateKey", d.PrivateKey, w.key)
	check("PublicKey", d.PublicKey, w.key.PublicKey())
	check("ListenPort", d.ListenPort, w.listenPort)
	check("FirewallMark", d.FirewallMark, w.firewallMark)
	seen := map[wgtypes.Key]bool{}
	for _, p := range d.Peers {
		wp, ok := w.peers[p.PublicKey]
		if !ok {
			t.Errorf("%s: unexpected peer %v", step, p.PublicKey)
			errs++
			continue
		}
		if seen[p.PublicKey] {
			t.Errorf("%s: peer %v listed twice", step, p.PublicKey)
			errs++
		}
		seen[p.PublicKey] = true
		name := "peer " + p.PublicKey.String()[:8] + "…"
		check(name+" PresharedKey", p.PresharedKey, wp.psk)
		endpoint := ""
		if p.Endpoint != nil {
			endpoint = p.Endpoint.String()
		}
		check(name+" Endpoint", endpoint, wp.endpoint)
		check(name+" PersistentKeepaliveInterval", p.PersistentKeepaliveInterval, wp.keepalive)
		check(name+" ProtocolVersion", p.ProtocolVersion, 1)
		var got []string
		for _, n := range p.AllowedIPs {
			got = append(got, n.String())
		}
		want := slices.Clone(wp.allowedIPs)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: %s AllowedIPs = %v, want %v", step, name, got, want)
			errs++
		}
	}
	for k := range w.peers {
		if !seen[k] {
			t.Errorf("%s: peer %v missing", step, k)
			errs++
		}
	}
	if errs == 0 {
		t.Logf("%s: read back as set: port %d, fwmark %#x, %d peers", step, d.ListenPort, d.FirewallMark, len(d.Peers))
	}
}
