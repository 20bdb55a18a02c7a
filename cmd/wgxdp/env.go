package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wgxdp/wgxdp/fqcodel"
)

// Knobs read from the environment (so they also work under wg-quick, which
// starts the daemon with a fixed command line):
//
//	WGXDP_QDISC=fq_codel|fifo   each peer's egress queue (default fq_codel); fifo also
//	                            turns off CoDel on the sockets' receive buffers
//	WGXDP_FQ_TARGET=5ms         CoDel target
//	WGXDP_FQ_INTERVAL=100ms     CoDel interval
//	WGXDP_FQ_ECN=1|0            mark ECN-capable packets instead of dropping
//	WGXDP_FQ_LIMIT=N            packets per peer queue
//	WGXDP_EGRESS_SLOTS=N        packet buffers shared by all peer queues
//	WGXDP_CPUPROFILE=FILE       write a CPU profile (pprof) until the daemon stops
func egressFromEnv() (fqcodel.Config, int, error) {
	var c fqcodel.Config
	slots := 0
	switch v := strings.ToLower(os.Getenv("WGXDP_QDISC")); v {
	case "", "fq_codel", "fqcodel":
	case "fifo", "off":
		c.Mode = fqcodel.ModeFIFO
	default:
		return c, 0, fmt.Errorf("WGXDP_QDISC=%q: want fq_codel or fifo", v)
	}
	dur := func(name string, dst *time.Duration) error {
		if v := os.Getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("%s=%q: want a duration such as 5ms", name, v)
			}
			*dst = d
		}
		return nil
	}
	num := func(name string, dst *int) error {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return fmt.Errorf("%s=%q: want a positive number", name, v)
			}
			*dst = n
		}
		return nil
	}
	if err := dur("WGXDP_FQ_TARGET", &c.Target); err != nil {
		return c, 0, err
	}
	if err := dur("WGXDP_FQ_INTERVAL", &c.Interval); err != nil {
		return c, 0, err
	}
	if err := num("WGXDP_FQ_LIMIT", &c.PacketLimit); err != nil {
		return c, 0, err
	}
	if err := num("WGXDP_EGRESS_SLOTS", &slots); err != nil {
		return c, 0, err
	}
	switch os.Getenv("WGXDP_FQ_ECN") {
	case "", "1", "on":
	case "0", "off":
		c.ECN = fqcodel.ECNOff
	default:
		return c, 0, fmt.Errorf("WGXDP_FQ_ECN=%q: want 1 or 0", os.Getenv("WGXDP_FQ_ECN"))
	}
	return c, slots, nil
}
