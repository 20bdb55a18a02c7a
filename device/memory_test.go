package device

import (
	"net/netip"
	"runtime"
	"testing"

	"github.com/wgxdp/wgxdp/conn/conntest"
	"github.com/wgxdp/wgxdp/fqcodel"
	"github.com/wgxdp/wgxdp/tun/tuntest"
	"github.com/wgxdp/wgxdp/uapi"
)

// heapInUse returns the heap in use after a full collection.
func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// peerMemory returns the heap in use per configured, idle peer of a
// device that is up, with the egress mode given.
func peerMemory(t testing.TB, mode fqcodel.Mode, peers int) float64 {
	net := conntest.NewNetwork()
	d, err := New(Config{Bind: net.NewBind(netip.MustParseAddr("192.0.2.1")), TUN: tuntest.New("wg0", 1420),
		HandshakeWorkers: 1, Egress: fqcodel.Config{Mode: mode}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	k := uapi.Key(mustKey(t))
	lp := uint16(51820)
	if err := d.Set(&uapi.Config{PrivateKey: &k, ListenPort: &lp}); err != nil {
		t.Fatal(err)
	}
	if err := d.Up(); err != nil {
		t.Fatal(err)
	}
	c := &uapi.Config{Peers: make([]uapi.PeerConfig, peers)}
	for i := range c.Peers {
		ip := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
		ep := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}), 51820)
		c.Peers[i] = uapi.PeerConfig{PublicKey: uapi.Key(mustKey(t).PublicKey()), Endpoint: &ep,
			AllowedIPs: []uapi.AllowedIPChange{{Prefix: netip.PrefixFrom(ip, 32)}}}
	}
	before := heapInUse()
	if err := d.Set(c); err != nil {
		t.Fatal(err)
	}
	after := heapInUse()
	runtime.KeepAlive(c)
	return float64(after-before) / float64(peers)
}

// TestPeerMemory reports the heap an idle peer costs (go test -run
// TestPeerMemory -v ./device/).
func TestPeerMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 4000 peers")
	}
	const peers = 2000
	for _, mode := range []fqcodel.Mode{fqcodel.ModeFQCoDel, fqcodel.ModeFIFO} {
		per := peerMemory(t, mode, peers)
		t.Logf("%v: %d idle peers: %.1f KB heap in use per peer", mode, peers, per/1000)
	}
}
