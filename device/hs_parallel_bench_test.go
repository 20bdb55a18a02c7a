package device

import (
	"crypto/rand"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/conn/conntest"
	"github.com/wgxdp/wgxdp/noise"
	"github.com/wgxdp/wgxdp/packet"
	"github.com/wgxdp/wgxdp/tun/tuntest"
	"github.com/wgxdp/wgxdp/uapi"
)

// BenchmarkHandshakeWorkers is the responder's parallel handshake path:
// valid initiations from many peers go through queueHandshake (mac1 on the
// receiving goroutine) into the bounded queue, and the handshake workers
// consume them and send responses. One sub-benchmark per worker count, 1
// and GOMAXPROCS; handshakes/s is the figure, and their ratio is how the
// path scales with cores. The initiations are made before the timer
// starts (each is accepted once: its timestamp must be newer than the
// peer's last, and a peer may initiate at most every 20 ms, so there are
// hsPeers peers taken in turn). The feeder keeps the queue below the
// under-load mark, so no cookie replies are involved. On a shared machine
// read handshakes/s beside what the other load leaves free.
func BenchmarkHandshakeWorkers(b *testing.B) {
	const hsPeers = 512
	workers := []int{1}
	if n := runtime.GOMAXPROCS(0); n > 1 {
		workers = append(workers, n)
	}
	for _, w := range workers {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			benchHandshakeWorkers(b, w, hsPeers)
		})
	}
}

func benchHandshakeWorkers(b *testing.B, workers, npeers int) {
	net := conntest.NewNetwork()
	addr := netip.AddrFrom4([4]byte{192, 0, 2, 1})
	d, err := New(Config{Bind: net.NewBind(addr), TUN: tuntest.New("wgbench", 1420), HandshakeWorkers: workers})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	sk := mustKey(b)
	k := uapi.Key(sk)
	port := uint16(51820)
	cfg := &uapi.Config{PrivateKey: &k, ListenPort: &port}

	type initiator struct {
		st  noise.Static
		ps  noise.PeerStatic
		gen *noise.CookieGenerator
		ep  packet.Endpoint
	}
	ins := make([]*initiator, npeers)
	for i := range ins {
		in := &initiator{st: noise.NewStatic(mustKey(b))}
		if in.ps, err = noise.NewPeerStatic(&in.st, sk.PublicKey(), noise.PresharedKey{}); err != nil {
			b.Fatal(err)
		}
		in.gen = noise.NewCookieGenerator(&in.ps, time.Now)
		in.ep = packet.Endpoint{Dst: netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 51820)}
		ins[i] = in
		cfg.Peers = append(cfg.Peers, uapi.PeerConfig{PublicKey: uapi.Key(in.st.Public)})
	}
	if err := d.Set(cfg); err != nil {
		b.Fatal(err)
	}
	if err := d.Up(); err != nil {
		b.Fatal(err)
	}

	// b.N initiations, peer i%npeers for the i-th, each peer's timestamps
	// increasing; made on every core.
	msgs := make([][noise.MessageInitiationSize]byte, b.N)
	base := time.Now()
	var wg sync.WaitGroup
	var genErr error
	var errOnce sync.Once
	for g := range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < b.N; i += runtime.GOMAXPROCS(0) {
				in := ins[i%npeers]
				var ist noise.InitiatorState
				var init noise.MessageInitiation
				ts := noise.Stamp(base.Add(time.Duration(i) * time.Second))
				err := noise.CreateInitiation(&in.st, &in.ps, uint32(i+1), ts, rand.Reader, &ist, &init)
				if err == nil {
					err = init.Marshal(msgs[i][:])
				}
				if err != nil {
					errOnce.Do(func() { genErr = err })
					return
				}
				in.gen.AddMACs(msgs[i][:])
			}
		}()
	}
	wg.Wait()
	if genErr != nil {
		b.Fatal(genErr)
	}

	before := d.Stats()
	slot := packet.NewSlot(2048)
	mark := cap(d.hsQueue) / 16 // well below the under-load mark of cap/8
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range msgs {
		for len(d.hsQueue) >= mark {
			// Sleep rather than spin: the feeder must not take a core
			// from the workers, and the queue holds milliseconds of work.
			time.Sleep(100 * time.Microsecond)
		}
		slot.Set(msgs[i][:])
		slot.Ep = ins[i%npeers].ep
		d.queueHandshake(slot)
	}
	for d.hsBusy.Load() != 0 {
		time.Sleep(50 * time.Microsecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "handshakes/s")

	// Every initiation must have been served: none refused, dropped or
	// answered with a cookie.
	after := d.Stats()
	drops := (after.DropHandshakeInvalid - before.DropHandshakeInvalid) +
		(after.DropHandshakeReplay - before.DropHandshakeReplay) +
		(after.DropHandshakeQueueFull - before.DropHandshakeQueueFull) +
		(after.DropMAC1 - before.DropMAC1) + (after.CookiesSent - before.CookiesSent) +
		(after.DropMalformed - before.DropMalformed) + (after.DropRateLimited - before.DropRateLimited)
	if drops != 0 {
		b.Fatalf("%d of %d initiations not served (stats %+v)", drops, b.N, after)
	}
}
