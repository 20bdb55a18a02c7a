package tun

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/wgxdp/wgxdp/internal/envflag"
)

// EnvQueues sets the number of TUN queues Create opens (IFF_MULTI_QUEUE
// when above 1); the device runs one reader per queue.
const EnvQueues = "WGXDP_TUN_QUEUES"

// MaxQueues is the most queues Create opens; a larger WGXDP_TUN_QUEUES is
// cut to it.
const MaxQueues = 16

// DefaultOptions are the options Create uses: offloads on unless
// WGXDP_TUN_OFFLOAD=0 (EnvOffload) is set, and WGXDP_TUN_QUEUES queues
// (default 1; at most MaxQueues), and an express queue unless
// WGXDP_TUN_EXPRESS=0 (EnvExpress). The switches take package envflag's
// spellings (0/off/false/no, 1/on/true/yes); a bad value counts as unset
// here, and OptionsFromEnv reports it.
func DefaultOptions() Options {
	o, _ := OptionsFromEnv()
	return o
}

// OptionsFromEnv is DefaultOptions with the first bad value among
// WGXDP_TUN_OFFLOAD, WGXDP_TUN_EXPRESS and WGXDP_TUN_QUEUES, naming the
// variable and what it accepts. A queue count above MaxQueues is not an
// error: it is cut (see RequestedQueues).
func OptionsFromEnv() (Options, error) {
	var errs [3]error
	o := Options{Queues: 1}
	o.Offload, errs[0] = envflag.Bool(EnvOffload, true)
	o.Express, errs[1] = envflag.Bool(EnvExpress, true)
	var n int
	n, errs[2] = RequestedQueues()
	if n > 0 {
		o.Queues = min(n, MaxQueues)
	}
	for _, err := range errs {
		if err != nil {
			return o, err
		}
	}
	return o, nil
}

// RequestedQueues returns the queue count WGXDP_TUN_QUEUES asks for, before
// the cut to MaxQueues: 0 if it is unset, and an error if it is not a
// positive number.
func RequestedQueues() (int, error) {
	s := strings.TrimSpace(os.Getenv(EnvQueues))
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s=%q: want a number of queues from 1 to %d", EnvQueues, os.Getenv(EnvQueues), MaxQueues)
	}
	return n, nil
}
