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

// inUse returns the heap and the goroutine stacks in use after a full
// collection.
func inUse() (heap, stack uint64) {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapInuse, m.StackInuse
}

// peerMemory returns the heap and stack in use per configured, idle peer
// of a device that is up, with the egress mode given.
func peerMemory(t testing.TB, mode fqcodel.Mode, peers int) (heap, stack float64) {
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
	h0, s0 := inUse()
	if err := d.Set(c); err != nil {
		t.Fatal(err)
	}
	h1, s1 := inUse()
	runtime.KeepAlive(c)
	n := float64(peers)
	return (float64(h1) - float64(h0)) / n, (float64(s1) - float64(s0)) / n
}

// TestPeerMemory reports the memory an idle peer costs (go test -run
// TestPeerMemory -v ./device/) and fails if its heap exceeds a bound well
// above that: 2000 idle peers took 150 KB of heap each when every peer's
// queue was made with it, 7 KB since queues are made on first use.
func TestPeerMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 4000 peers")
	}
	const peers = 2000
	for _, mode := range []fqcodel.Mode{fqcodel.ModeFQCoDel, fqcodel.ModeFIFO} {
		heap, stack := peerMemory(t, mode, peers)
		t.Logf("%v: %d idle peers: %.1f KB heap and %.1f KB of stacks in use per peer", mode, peers, heap/1000, stack/1000)
		if heap > 20_000 {
			t.Errorf("%v: %.1f KB heap per idle peer, want under 20 KB", mode, heap/1000)
		}
	}
}
