package device

import (
	"crypto/rand"
	"encoding/binary"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/noise"
	"github.com/wgxdp/wgxdp/tun/tuntest"
	"github.com/wgxdp/wgxdp/uapi"
)

// TestHandshakeFlood: while forged initiations (valid mac1, garbage Noise,
// spoofed sources) arrive at ≥ 100k/s, a legitimate new peer completes its
// handshake within 2×REKEY_TIMEOUT, an established session keeps carrying
// data, and memory stays bounded.
func TestHandshakeFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("flood test takes ~8 s; skipped with -short")
	}
	pr := newPair(t, false, true)
	ping(t, pr.a, pr.b, []byte("established"), false)

	// c: a legitimate peer b knows, who has no session yet.
	c := &node{sk: mustKey(t), ip4: netip.MustParseAddr("10.0.0.3"), addr: netip.MustParseAddr("192.0.2.3")}
	c.pk = c.sk.PublicKey()
	c.tun = tuntest.New("wg3", 1420)
	c.bind = pr.net.NewBind(c.addr)
	dc, err := New(Config{Bind: c.bind, TUN: c.tun})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	c.dev = dc
	bAddr := netip.AddrPortFrom(pr.b.addr, pr.b.dev.ListenPort())
	ck, port := uapi.Key(c.sk), uint16(51823)
	if err := dc.Set(&uapi.Config{PrivateKey: &ck, ListenPort: &port, Peers: []uapi.PeerConfig{{
		PublicKey: uapi.Key(pr.b.pk), Endpoint: &bAddr,
		AllowedIPs: []uapi.AllowedIPChange{{Prefix: netip.MustParsePrefix("10.0.0.2/32")}}}}}); err != nil {
		t.Fatal(err)
	}
	if err := pr.b.dev.Set(&uapi.Config{Peers: []uapi.PeerConfig{{PublicKey: uapi.Key(c.pk),
		AllowedIPs: []uapi.AllowedIPChange{{Prefix: netip.MustParsePrefix("10.0.0.3/32")}}}}}); err != nil {
		t.Fatal(err)
	}
	if err := dc.Up(); err != nil {
		t.Fatal(err)
	}

	// Forged initiations: random bodies with a valid mac1 for b.
	attacker := noise.NewStatic(mustKey(t))
	bStatic, _ := noise.NewPeerStatic(&attacker, pr.b.pk, noise.PresharedKey{})
	gen := noise.NewCookieGenerator(&bStatic, time.Now)
	forged := make([][]byte, 256)
	for i := range forged {
		m := make([]byte, noise.MessageInitiationSize)
		rand.Read(m)
		binary.LittleEndian.PutUint32(m, noise.MessageInitiationType)
		gen.AddMACs(m)
		forged[i] = m
	}

	var sent atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// Paced at floodRate: a faster generator only fills the in-memory
	// socket queue, as it would fill a kernel socket buffer.
	const floodRate = 110_000
	flood := func(seed int) {
		defer wg.Done()
		i := seed
		t0 := time.Now()
		for {
			select {
			case <-stop:
				return
			default:
			}
			for range 64 {
				i++
				src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, byte(i >> 16), byte(i >> 8), byte(i)}), uint16(i))
				pr.net.Inject(src, bAddr, forged[i%len(forged)])
			}
			n := sent.Add(64)
			if ahead := time.Duration(float64(n)/floodRate*float64(time.Second)) - time.Since(t0); ahead > 0 {
				time.Sleep(ahead)
			}
		}
	}
	wg.Add(1)
	go flood(0)
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()
	start := time.Now()
	// Live heap (after a collection) at the start and at the end: what the
	// flood made the devices keep, not garbage the collector had yet to
	// reach, which grows with the live heap (GOGC).
	var ms0 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)

	time.Sleep(300 * time.Millisecond) // let b fall under load
	c.tun.Inbound <- ipv4UDP(c.ip4, pr.b.ip4, []byte("legit under flood"))
	first := time.Now()
	done := make(chan time.Duration, 1)
	go func() {
		select {
		case <-pr.b.tun.Outbound:
			done <- time.Since(first)
		case <-time.After(2 * noise.RekeyTimeout):
			done <- 0
		}
	}()
	var took time.Duration
	served, tried := 0, 0
	for took == 0 {
		select {
		case took = <-done:
			if took == 0 {
				if os.Getenv("WGXDP_FLOOD_STRICT") == "" {
					// Among other packages' tests on 2 cores the receiver
					// and the peers' timers may be starved of CPU; `make
					// test` runs this test again alone with
					// WGXDP_FLOOD_STRICT=1, where a miss fails.
					t.Skipf("not strict: missed the deadline on a loaded machine (%d of %d forged datagrams overflowed the receiver's queue)", pr.net.Dropped(), sent.Load())
				}
				t.Fatalf("legitimate handshake did not complete within 2×REKEY_TIMEOUT under flood (offered %d forged; in-memory socket drops %d; b %+v; c %+v)",
					sent.Load(), pr.net.Dropped(), pr.b.dev.Stats(), dc.Stats())
			}
		case <-time.After(200 * time.Millisecond):
		}
		if took != 0 {
			break
		}
		// The established session keeps working (a→b traffic is read by
		// the goroutine above only after c's packet; count a's via b→a).
		tried++
		pr.b.tun.Inbound <- ipv4UDP(pr.b.ip4, pr.a.ip4, []byte("data during flood"))
		select {
		case <-pr.a.tun.Outbound:
			served++
		case <-time.After(500 * time.Millisecond):
		}
	}
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()
	rate := float64(sent.Load()) / elapsed.Seconds()
	var ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	st := pr.b.dev.Stats()
	t.Logf("flood %.0f initiations/s for %v; legit handshake after %v; data %d/%d; b: cookies %d, queue-full %d, ratelimited %d, invalid %d, heap %d→%d MiB",
		rate, elapsed.Round(time.Millisecond), took.Round(time.Millisecond), served, tried, st.CookiesSent, st.DropHandshakeQueueFull, st.DropRateLimited, st.DropHandshakeInvalid, ms0.HeapInuse>>20, ms1.HeapInuse>>20)
	if rate < 100e3 {
		t.Errorf("offered only %.0f forged initiations/s (want ≥ 100k/s)", rate)
	}
	if tried > 0 && served*10 < tried*8 {
		t.Errorf("established session served %d of %d packets during the flood", served, tried)
	}
	if ms1.HeapInuse > ms0.HeapInuse+64<<20 {
		t.Errorf("heap grew from %d to %d MiB", ms0.HeapInuse>>20, ms1.HeapInuse>>20)
	}
	if st.CookiesSent == 0 {
		t.Error("b never went under load")
	}
}
