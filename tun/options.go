package tun

import "os"

// DefaultOptions are the options Create uses: offloads on unless
// WGXDP_TUN_OFFLOAD=0 (EnvOffload) is set, one queue.
func DefaultOptions() Options {
	return Options{Offload: os.Getenv(EnvOffload) != "0", Queues: 1}
}
