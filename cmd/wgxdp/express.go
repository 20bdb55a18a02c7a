package main

import (
	"os"
	"runtime"

	"github.com/wgxdp/wgxdp/conn"
	"github.com/wgxdp/wgxdp/device"
	"github.com/wgxdp/wgxdp/internal/rtlane"
	"github.com/wgxdp/wgxdp/tun"
)

// expressLanes logs whether small packets have their express lanes (the
// TUN's express queue, tun/express_linux.go; the priority UDP sockets,
// conn/priority_linux.go; both on realtime threads, package rtlane) and
// makes room for them in the Go scheduler.
//
// A realtime lane's thread, woken in poll(2), needs an idle P to go on
// running Go code; with GOMAXPROCS at the CPU count every P is busy when
// the CPUs are saturated, and the lane waits for one as long as anything
// else would. Measured on 2 saturated cores (ping through the tunnel under
// one TCP flow): p99 82–84 ms with GOMAXPROCS=2, 4.5–15 ms with 6. So,
// unless GOMAXPROCS is set, the daemon adds rtlane.ExtraProcs Ps, one per
// lane and one spare; the CPUs are shared as before, by the kernel.
//
// Adding Ps also stops the runtime from following a cgroup CPU limit that
// changes while the daemon runs; set GOMAXPROCS to keep control.
func expressLanes(tdev tun.Device, logger *device.Logger) {
	lanes := conn.PriorityFromEnv()
	if e, ok := tdev.(interface{ ExpressQueue() (int, error) }); ok {
		if _, err := e.ExpressQueue(); err != nil {
			logger.Verbosef("TUN express queue: none (%v)", err)
		} else {
			lanes = true
			logger.Verbosef("TUN express queue: packets up to %d bytes, realtime %v", tun.ExpressMax, rtlane.Enabled())
		}
	}
	if lanes && rtlane.Enabled() && rtlane.Permitted() && os.Getenv("GOMAXPROCS") == "" {
		n := runtime.GOMAXPROCS(0) + rtlane.ExtraProcs
		runtime.GOMAXPROCS(n)
		logger.Verbosef("GOMAXPROCS %d: %d more than the CPUs for the realtime lanes", n, rtlane.ExtraProcs)
	}
}
