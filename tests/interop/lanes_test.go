package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRealtimeLanes: wgxdp's express lanes (package rtlane) run on
// SCHED_FIFO threads only while bulk traffic flows through the tunnel, and
// rest — no realtime thread — once it has been idle for a second
// (rtlane.IdleAfter), so that an idle tunnel's pings do not pay for them.
// Against wireguard-go, a TCP transfer from wgxdp.
func TestRealtimeLanes(t *testing.T) {
	requireRoot(t)
	a, b := newTunnel(t, implWgxdp, implWireguardGo, tunnelOpts{endpointAtA: true, endpointAtB: true})
	ping(t, a, b.in4.Addr())

	// Idle: a lane rests at its next read after a second without bulk
	// traffic; a lane waiting on its realtime thread looks every 100 ms.
	const settle = 1500 * time.Millisecond
	time.Sleep(settle)
	ping(t, a, b.in4.Addr())
	if n, err := fifoThreads(a.proc.PID); err != nil {
		t.Fatal(err)
	} else if n != 0 {
		t.Errorf("idle tunnel: %d SCHED_FIFO threads, want none", n)
	}

	// Bulk: B's ACKs reach A's priority socket, whose lane goes realtime.
	var most atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if n, err := fifoThreads(a.proc.PID); err == nil && int64(n) > most.Load() {
				most.Store(int64(n))
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	transfer(t, a, b, b.in4.Addr(), 128<<20, 7)
	close(stop)
	wg.Wait()
	if most.Load() == 0 {
		t.Errorf("no SCHED_FIFO thread during a TCP transfer (WGXDP_RT is on, the test runs as root)")
	}
	t.Logf("during the transfer: up to %d SCHED_FIFO threads", most.Load())

	time.Sleep(settle)
	if n, err := fifoThreads(a.proc.PID); err != nil {
		t.Fatal(err)
	} else if n != 0 {
		t.Errorf("idle again: %d SCHED_FIFO threads, want none", n)
	}
}

// fifoThreads counts the threads of pid whose policy is SCHED_FIFO
// (/proc/PID/task/TID/stat, field 41).
func fifoThreads(pid int) (int, error) {
	stats, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(stats) == 0 {
		return 0, fmt.Errorf("threads of %d: %v", pid, err)
	}
	n := 0
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread ended
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // f[0] is field 3
		if len(f) > 38 && f[38] == "1" {                         // SCHED_FIFO
			n++
		}
	}
	return n, nil
}
