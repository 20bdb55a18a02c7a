package main

import (
	"cmp"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/wgxdp/wgxdp/conn"
	"github.com/wgxdp/wgxdp/crypto/blake2s"
	"github.com/wgxdp/wgxdp/crypto/chacha20poly1305"
	"github.com/wgxdp/wgxdp/crypto/curve25519"
	"github.com/wgxdp/wgxdp/device"
	"github.com/wgxdp/wgxdp/fqcodel"
	"github.com/wgxdp/wgxdp/internal/cpu"
	"github.com/wgxdp/wgxdp/internal/envflag"
	"github.com/wgxdp/wgxdp/internal/rtlane"
	"github.com/wgxdp/wgxdp/tun"
)

// Knobs read from the environment (so they also work under wg-quick, which
// starts the daemon with a fixed command line):
//
//	WGXDP_QDISC=fq_codel|fifo   each peer's egress queue (default fq_codel); fifo also
//	                            turns off CoDel on the sockets' receive buffers
//	WGXDP_FQ_TARGET=5ms         CoDel target
//	WGXDP_FQ_INTERVAL=100ms     CoDel interval
//	WGXDP_FQ_ECN=1|0            mark ECN-capable packets instead of dropping
//	WGXDP_FQ_LIMIT=N            packets per peer queue; at most the egress slots
//	WGXDP_EGRESS_SLOTS=N        packet buffers shared by all peer queues (at least 128)
//	WGXDP_CPUPROFILE=FILE       write a CPU profile (pprof) until the daemon stops
//
// and, read by the packages that use them but checked here at start:
// WGXDP_CPU (internal/cpu), WGXDP_RT (internal/rtlane), WGXDP_TUN_OFFLOAD,
// WGXDP_TUN_EXPRESS and WGXDP_TUN_QUEUES (tun), WGXDP_UDP_GSO,
// WGXDP_UDP_GRO, WGXDP_UDP_BUFFER, WGXDP_UDP_SNDBUF and WGXDP_UDP_PRIORITY
// (conn); the WGXDP_XDP* ones are in xdp.go. Switches take package
// envflag's spellings: 1, on, true, yes / 0, off, false, no.
//
// A bad value of any of them is a setup error, reported before the
// interface is created, as wireguard-go reports a bad command line; the
// packages themselves would take the default.
const envCPUProfile = "WGXDP_CPUPROFILE"

// settings is what the environment asks of the daemon, checked.
type settings struct {
	egress fqcodel.Config
	slots  int // 0: device.DefaultEgressSlots
	// notes are values the daemon does not take as given (a number cut
	// to a maximum), to log at start.
	notes []string
}

// settingsFromEnv checks every WGXDP_* knob but the XDP ones
// (xdpFromArgs) and the profile (startProfile), and returns the first bad
// value, naming the variable and what it accepts.
func settingsFromEnv() (settings, error) {
	var s settings
	var err error
	if s.egress, s.slots, err = egressFromEnv(); err != nil {
		return s, err
	}
	if err := cpu.CheckEnv(); err != nil {
		return s, err
	}
	if err := rtlane.CheckEnv(); err != nil {
		return s, err
	}
	if err := conn.CheckEnv(); err != nil {
		return s, err
	}
	if _, err := tun.OptionsFromEnv(); err != nil {
		return s, err
	}
	if n, _ := tun.RequestedQueues(); n > tun.MaxQueues {
		s.notes = append(s.notes, fmt.Sprintf("%s=%d: at most %d TUN queues; opening %d",
			tun.EnvQueues, n, tun.MaxQueues, tun.MaxQueues))
	}
	return s, nil
}

// egressFromEnv reads the egress queue's knobs.
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
	if slots != 0 && slots < device.MinEgressSlots {
		return c, 0, fmt.Errorf("WGXDP_EGRESS_SLOTS=%d: fewer than one batch; want at least %d", slots, device.MinEgressSlots)
	}
	// A queue longer than the slots shared by all queues could never
	// fill: refuse it rather than cut it, so that the two values the
	// operator sees are the two in force.
	if have := cmp.Or(slots, device.DefaultEgressSlots); c.PacketLimit > have {
		return c, 0, fmt.Errorf("WGXDP_FQ_LIMIT=%d: more than the %d egress slots (WGXDP_EGRESS_SLOTS); want at most %d",
			c.PacketLimit, have, have)
	}
	ecn, err := envflag.Bool("WGXDP_FQ_ECN", true)
	if err != nil {
		return c, 0, err
	}
	if !ecn {
		c.ECN = fqcodel.ECNOff
	}
	return c, slots, nil
}

// startProfile checks WGXDP_CPUPROFILE by creating the file, and, if
// start, starts the CPU profile; stop ends it.
func startProfile(start bool) (stop func(), err error) {
	path := os.Getenv(envCPUProfile)
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("%s=%q: %w", envCPUProfile, path, err)
	}
	if !start {
		return func() {}, f.Close()
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s=%q: %w", envCPUProfile, path, err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// logCrypto logs which crypto implementations run; with WGXDP_CPU set, it
// says that they are the best at or below that level this CPU has (so
// WGXDP_CPU=avx512 on a CPU without AVX-512 runs avx2, and says so).
func logCrypto(logger *device.Logger) {
	capped := ""
	if v := strings.TrimSpace(os.Getenv(cpu.EnvVar)); v != "" {
		c, _ := cpu.Ceiling()
		capped = fmt.Sprintf(" (%s=%s: the best this CPU has up to %s)", cpu.EnvVar, v, c)
	}
	logger.Verbosef("Crypto: chacha20poly1305=%s blake2s=%s curve25519=%s%s",
		chacha20poly1305.Active(), blake2s.Active(), curve25519.Active(), capped)
}
