package tun

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wgxdp/wgxdp/packet"
)

// TestMain turns the express queue off for the package's other tests,
// which read everything from queue 0 of a Create'd interface; the tests
// here ask for it in Options.
func TestMain(m *testing.M) {
	os.Setenv(EnvExpress, "0")
	os.Exit(m.Run())
}

// TestExpressQueue: with Options.Express the interface gets one more
// queue, and the steering program puts packets of at most ExpressMax
// bytes on it and the others on the bulk queue — with and without
// offloads. Two bulk queues get no express queue.
func TestExpressQueue(t *testing.T) {
	d := upTUNWith(t, Options{Offload: true, Queues: 2, Express: true})
	if e, err := linux(t, d).ExpressQueue(); err == nil || e != -1 || d.(MultiQueue).Queues() != 2 {
		t.Errorf("two bulk queues: express queue %d (%v), %d queues", e, err, d.(MultiQueue).Queues())
	}
	d.Close()
	for _, opts := range []Options{
		{Offload: true, Queues: 1, Express: true},
		{Offload: false, Queues: 1, Express: true},
	} {
		t.Run(fmt.Sprintf("offload=%v,queues=%d", opts.Offload, opts.Queues), func(t *testing.T) {
			d := upTUNWith(t, opts)
			e, err := linux(t, d).ExpressQueue()
			if err != nil {
				t.Skipf("no express queue here: %v", err)
			}
			mq := d.(MultiQueue)
			if e != opts.Queues || mq.Queues() != opts.Queues+1 {
				t.Fatalf("express queue %d of %d, want %d of %d", e, mq.Queues(), opts.Queues, opts.Queues+1)
			}
			// Payload sizes: 20+8+n bytes on the wire into the TUN.
			small, big := ExpressMax-28, ExpressMax-27
			got := readQueues(t, mq, func() {
				for i := range 16 {
					for _, n := range []int{small, big, 1000} {
						c, err := net.Dial("udp4", netip.AddrPortFrom(peerIP, uint16(6000+i)).String())
						if err != nil {
							t.Fatal(err)
						}
						c.Write([]byte(fmt.Sprintf("flow %d %s", n, strings.Repeat("x", n))[:n]))
						c.Close()
					}
				}
			}, 48)
			for q, sizes := range got {
				for _, n := range sizes {
					if (q == e) != (n <= ExpressMax) {
						t.Errorf("a %d-byte packet on queue %d (express %d)", n, q, e)
					}
				}
			}
			if read, _ := linux(t, d).ExpressStats(); read < 16 {
				t.Errorf("ExpressStats: %d read, want ≥ 16", read)
			}
		})
	}
}

// readQueues reads every queue of mq while send runs, until want test
// datagrams ("flow …" payloads) arrived, and returns their IP lengths by
// queue.
func readQueues(t *testing.T, mq MultiQueue, send func(), want int) [][]int {
	t.Helper()
	var mu sync.Mutex
	got := make([][]int, mq.Queues())
	var total atomic.Int32
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i := range mq.Queues() {
		q := mq.Queue(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := packet.NewBatch(32, packet.SlotSize(tunMTU))
			for {
				select {
				case <-done:
					return
				default:
				}
				if err := q.Read(b); err != nil {
					return
				}
				for _, s := range b.Packets() {
					if p := s.Data(); len(p) > 28 && p[9] == unix.IPPROTO_UDP && strings.HasPrefix(string(p[28:]), "flow") {
						mu.Lock()
						got[i] = append(got[i], len(p))
						mu.Unlock()
						total.Add(1)
					}
				}
			}
		}()
	}
	send()
	deadline := time.Now().Add(5 * time.Second)
	for int(total.Load()) < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	close(done)
	// Closing the device ends the Reads in progress (the test's Cleanup
	// closes it again, which does nothing).
	mq.Queue(0).Close()
	wg.Wait()
	if int(total.Load()) != want {
		t.Fatalf("%d of %d datagrams read", total.Load(), want)
	}
	return got
}

// TestExpressFromFD: a daemon given the fd of a multi-queue interface (as
// the parent hands it over in WG_TUN_FD) adds its own express queue; an
// interface that is not multi-queue gets none, and says why.
func TestExpressFromFD(t *testing.T) {
	inNetns(t)
	t.Setenv(EnvExpress, "1")
	for _, multi := range []bool{true, false} {
		flags := uint16(unix.IFF_TUN | unix.IFF_NO_PI)
		if multi {
			flags |= unix.IFF_MULTI_QUEUE
		}
		fd, err := openQueue(tunName, flags)
		if err != nil {
			t.Fatal(err)
		}
		d, err := CreateFromFD(fd)
		if err != nil {
			t.Fatal(err)
		}
		e, err := linux(t, d).ExpressQueue()
		if multi && (err != nil || e != 1) {
			t.Errorf("multi-queue fd: express queue %d, %v; want 1", e, err)
		}
		if !multi && (err == nil || e != -1) {
			t.Errorf("single-queue fd: express queue %d, %v; want -1 and a reason", e, err)
		}
		d.Close()
	}
}

// TestExpressCloseWakes: Close returns at once while the express reader
// waits on its realtime thread (the Waker), and the Read ends.
func TestExpressCloseWakes(t *testing.T) {
	d := upTUNWith(t, Options{Offload: true, Queues: 1, Express: true})
	e, err := linux(t, d).ExpressQueue()
	if err != nil {
		t.Skipf("no express queue here: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		b := packet.NewBatch(32, packet.SlotSize(tunMTU))
		for {
			if err := d.(MultiQueue).Queue(e).Read(b); err != nil {
				done <- err
				return
			}
		}
	}()
	time.Sleep(30 * time.Millisecond)
	start := time.Now()
	d.Close()
	if took := time.Since(start); took > 50*time.Millisecond {
		t.Errorf("Close took %v with the express reader waiting", took)
	}
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("express Read did not end with Close")
	}
}

// TestExpressPureTCP: TCP segments without payload (here the SYNs of a
// connection nobody answers) stay on the bulk queue although they are
// small: a bulk transfer's ACKs are not the express lane's traffic.
func TestExpressPureTCP(t *testing.T) {
	d := upTUNWith(t, Options{Offload: true, Queues: 1, Express: true})
	e, err := linux(t, d).ExpressQueue()
	if err != nil {
		t.Skipf("no express queue here: %v", err)
	}
	mq := d.(MultiQueue)
	var syns [2]atomic.Int32
	for i := range 2 {
		q := mq.Queue(i)
		go func() {
			b := packet.NewBatch(32, packet.SlotSize(tunMTU))
			for q.Read(b) == nil {
				for _, s := range b.Packets() {
					if p := s.Data(); len(p) >= 40 && p[0] == 0x45 && p[9] == unix.IPPROTO_TCP && p[33]&0x02 != 0 {
						syns[i].Add(1)
					}
				}
			}
		}()
	}
	c, err := net.DialTimeout("tcp4", netip.AddrPortFrom(peerIP, 7000).String(), 300*time.Millisecond)
	if err == nil {
		c.Close()
	}
	deadline := time.Now().Add(2 * time.Second)
	for syns[0].Load()+syns[1].Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if syns[0].Load() == 0 || syns[e].Load() != 0 {
		t.Errorf("SYNs on the bulk queue %d, on the express queue %d; want all on bulk", syns[0].Load(), syns[e].Load())
	}
}
