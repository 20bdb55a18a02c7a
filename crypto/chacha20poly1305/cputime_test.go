//go:build linux

package chacha20poly1305

import (
	"crypto/cipher"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	xc "golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/sys/unix"
)

// TestCPUTimeRatios is the measurement behind the figures in
// asm/amd64/README-chacha20poly1305.md. On a shared machine wall-clock
// benchmarks swing by more than the differences, so it times the active
// implementation and x/crypto alternately on one locked thread by
// per-thread CPU time (CLOCK_THREAD_CPUTIME_ID) and prints, per workload,
// the median over trials of x/crypto's time ÷ ours. It runs only with
// WGXDP_CPUTIME set (to the number of trials, 101 by default), and only the
// workloads whose names contain WGXDP_CPUTIME_ONLY:
//
//	WGXDP_CPUTIME=101 go test -run TestCPUTimeRatios -v ./crypto/chacha20poly1305/
func TestCPUTimeRatios(t *testing.T) {
	env := os.Getenv("WGXDP_CPUTIME")
	if env == "" {
		t.Skip("set WGXDP_CPUTIME to run")
	}
	trials, _ := strconv.Atoi(env)
	if trials <= 0 {
		trials = 101
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	only := os.Getenv("WGXDP_CPUTIME_ONLY") // a substring of the workload names to run
	t.Logf("implementation %s, %d trials", Active(), trials)
	for _, w := range cpuWorkloads() {
		if !strings.Contains(w.name, only) {
			continue
		}
		ratios := make([]float64, 0, trials)
		var ours, theirs []float64
		for i := 0; i < trials; i++ {
			a := threadCPU(w.ours, w.reps)
			b := threadCPU(w.xcrypto, w.reps)
			if a <= 0 || b <= 0 {
				continue
			}
			ratios = append(ratios, float64(b)/float64(a))
			ours = append(ours, float64(a)/float64(w.reps))
			theirs = append(theirs, float64(b)/float64(w.reps))
		}
		t.Logf("%-24s ours %8.0f ns  x/crypto %8.0f ns  ratio %.2f×",
			w.name, median(ours), median(theirs), median(ratios))
	}
}

type cpuWorkload struct {
	name          string
	reps          int
	ours, xcrypto func()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// threadCPU runs f reps times and returns the CPU time the thread used.
func threadCPU(f func(), reps int) time.Duration {
	start := rusageThread()
	for range reps {
		f()
	}
	return rusageThread() - start
}

// rusageThread is the thread's CPU time, CLOCK_THREAD_CPUTIME_ID (the
// scheduler's runtime, in ns; getrusage(RUSAGE_THREAD) rounds to ticks).
func rusageThread() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		panic(err)
	}
	return time.Duration(ts.Nano())
}

func cpuWorkloads() []cpuWorkload {
	var ws []cpuWorkload
	ours, _ := New(benchKey[:])
	theirs, _ := xc.New(benchKey[:])
	reps := func(n int) int { return max(20, 1_000_000/(n+200)) }
	for _, n := range []int{64, 1420, 16384} {
		buf := make([]byte, n+Overhead)
		nonce := wgNonce(7)
		ws = append(ws, cpuWorkload{fmt.Sprintf("Seal %d", n), reps(n),
			func() { ours.Seal(buf[:0], nonce[:], buf[:n], nil) },
			func() { theirs.Seal(buf[:0], nonce[:], buf[:n], nil) }})
	}
	for _, n := range []int{64, 1420, 16384} {
		ct := theirs.Seal(nil, make([]byte, NonceSize), make([]byte, n), nil)
		out := make([]byte, n)
		open := func(a cipher.AEAD) func() {
			return func() {
				if _, err := a.Open(out[:0], make([]byte, NonceSize), ct, nil); err != nil {
					panic(err)
				}
			}
		}
		ws = append(ws, cpuWorkload{fmt.Sprintf("Open %d", n), reps(n), open(ours), open(theirs)})
	}
	for _, n := range []int{64, 1420} {
		const batch = 16
		keys := make([][32]byte, 4)
		for i := range keys {
			keys[i] = benchKey
			keys[i][31] = byte(i)
		}
		aeads := make([]cipher.AEAD, len(keys))
		for i := range keys {
			aeads[i], _ = xc.New(keys[i][:])
		}
		seal := make([]Op, batch)
		open := make([]Op, batch)
		for i := range seal {
			slot := make([]byte, n+Overhead)
			seal[i] = Op{Key: &keys[i%len(keys)], Nonce: wgNonce(uint64(i)), In: slot[:n], Out: slot}
			ct := aeads[i%len(keys)].Seal(nil, seal[i].Nonce[:], make([]byte, n), nil)
			open[i] = Op{Key: &keys[i%len(keys)], Nonce: wgNonce(uint64(i)), In: ct, Out: make([]byte, n)}
		}
		ws = append(ws, cpuWorkload{fmt.Sprintf("SealBatch 16x%d", n), max(10, reps(n)/batch),
			func() { SealBatch(seal) },
			func() {
				for i := range seal {
					o := &seal[i]
					aeads[i%len(keys)].Seal(o.Out[:0], o.Nonce[:], o.In, nil)
				}
			}})
		ws = append(ws, cpuWorkload{fmt.Sprintf("OpenBatch 16x%d", n), max(10, reps(n)/batch),
			func() {
				OpenBatch(open)
				if !open[0].OK {
					panic("open")
				}
			},
			func() {
				for i := range open {
					o := &open[i]
					if _, err := aeads[i%len(keys)].Open(o.Out[:0], o.Nonce[:], o.In, nil); err != nil {
						panic(err)
					}
				}
			}})
	}
	xours, _ := NewX(benchKey[:])
	xtheirs, _ := xc.NewX(benchKey[:])
	xbuf := make([]byte, 64+Overhead)
	xnonce := make([]byte, NonceSizeX)
	ws = append(ws, cpuWorkload{"XChaCha Seal 64", reps(64),
		func() { xours.Seal(xbuf[:0], xnonce, xbuf[:64], nil) },
		func() { xtheirs.Seal(xbuf[:0], xnonce, xbuf[:64], nil) }})
	return ws
}
