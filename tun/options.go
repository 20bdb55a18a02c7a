package tun

import (
	"os"
	"strconv"
)

// EnvQueues sets the number of TUN queues Create opens (IFF_MULTI_QUEUE
// when above 1); the device runs one reader per queue.
const EnvQueues = "WGXDP_TUN_QUEUES"

// DefaultOptions are the options Create uses: offloads on unless
// WGXDP_TUN_OFFLOAD=0 (EnvOffload) is set, and WGXDP_TUN_QUEUES queues
// (default 1; at most 16), and an express queue unless WGXDP_TUN_EXPRESS=0
// (EnvExpress).
func DefaultOptions() Options {
	q := 1
	if n, err := strconv.Atoi(os.Getenv(EnvQueues)); err == nil && n >= 1 {
		q = min(n, 16)
	}
	return Options{Offload: os.Getenv(EnvOffload) != "0", Queues: q, Express: os.Getenv(EnvExpress) != "0"}
}
