package bench

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wgxdp/wgxdp/internal/netns"
)

// DefaultPrefix starts the names of the namespaces the harness creates
// unless Options.Prefix says otherwise.
const DefaultPrefix = "wgxb-"

// Options shape a Topology and the daemons of a Pair. The zero value is
// usable but names no binaries, so only the veth Kind can start with it.
type Options struct {
	// Prefix starts every namespace name (DefaultPrefix if empty), then
	// this process's PID: netns.Sweep(Prefix) removes the namespaces of a
	// run that died before its cleanup.
	Prefix string

	OuterMTU int // of the veth pair; 1500 if zero
	InnerMTU int // of the tunnel interfaces; 1420 if zero

	// Queues, if positive, is the number of tx and rx queues of each veth
	// end (numtxqueues/numrxqueues); otherwise the kernel's default, 1.
	Queues int

	// Qdisc, if set, is installed as the root qdisc of A's veth end, where
	// the measured traffic leaves A: the arguments after
	// `tc qdisc replace dev VETH root`, e.g.
	// {"tbf", "rate", "50mbit", "burst", "16kb", "limit", "1mb"}.
	Qdisc []string

	// Binaries maps Wgxdp and WireguardGo to the daemon binaries to run.
	Binaries map[string]string

	// LogDir receives the daemons' logs and the output of every command.
	// If empty, a temporary directory is made and removed on Close.
	LogDir string

	// Logf, if set, is told each step as it happens.
	Logf func(format string, args ...any)
}

func (o *Options) defaults() {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.OuterMTU == 0 {
		o.OuterMTU = 1500
	}
	if o.InnerMTU == 0 {
		o.InnerMTU = 1420
	}
}

func (o *Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

// The outer (veth) addresses: A is the client, B the server.
var (
	OuterA = netip.MustParsePrefix("10.240.0.1/24")
	OuterB = netip.MustParsePrefix("10.240.0.2/24")
)

// Available returns nil when the harness can run here: root, ip(8), tc(8),
// wg(8), iperf3, ping and /dev/net/tun. Otherwise it says what is missing.
func Available() error {
	if err := netns.Available(); err != nil {
		return err
	}
	for _, tool := range []string{"tc", "wg", "iperf3", "ping", "ss"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("needs %s (scripts/deps.sh installs it)", tool)
		}
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return fmt.Errorf("needs /dev/net/tun: %w", err)
	}
	return nil
}

// Topology is two network namespaces, A and B, joined by a veth pair
// addressed OuterA and OuterB.
type Topology struct {
	A, B         *netns.Namespace
	VethA, VethB string // the veth end in A and in B

	Opts   Options
	logDir string
	ownDir bool // logDir is ours to remove

	mu    sync.Mutex
	files int // commands run, to name their output files
}

// NewTopology creates the namespaces and the veth pair, sets the MTU and
// installs Opts.Qdisc. The caller must Close it, also on error paths after
// it returns.
func NewTopology(ctx context.Context, opts Options) (_ *Topology, err error) {
	opts.defaults()
	t := &Topology{Opts: opts, logDir: opts.LogDir}
	if t.logDir == "" {
		if t.logDir, err = os.MkdirTemp("", "wgxdp-bench-"); err != nil {
			return nil, err
		}
		t.ownDir = true
	} else if err := os.MkdirAll(t.logDir, 0o755); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			t.Close()
		}
	}()
	if t.A, err = netns.New(opts.Prefix); err != nil {
		return nil, err
	}
	if t.B, err = netns.New(opts.Prefix); err != nil {
		return nil, err
	}
	id := netns.RandomName("vb", 8)
	t.VethA, t.VethB = id+"a", id+"b"
	var queues []string
	if opts.Queues > 0 {
		q := strconv.Itoa(opts.Queues)
		queues = []string{"numtxqueues", q, "numrxqueues", q}
	}
	// Made inside A with its peer put straight into B: neither end is ever
	// in the caller's namespace.
	args := append([]string{"link", "add", t.VethA}, queues...)
	args = append(args, "type", "veth", "peer", "name", t.VethB)
	args = append(args, queues...)
	args = append(args, "netns", t.B.Name)
	if err := t.run(ctx, t.A, "ip", args...); err != nil {
		return nil, err
	}
	mtu := strconv.Itoa(opts.OuterMTU)
	for _, end := range []struct {
		ns   *netns.Namespace
		dev  string
		addr netip.Prefix
	}{{t.A, t.VethA, OuterA}, {t.B, t.VethB, OuterB}} {
		if err := t.run(ctx, end.ns, "ip", "addr", "add", end.addr.String(), "dev", end.dev); err != nil {
			return nil, err
		}
		if err := t.run(ctx, end.ns, "ip", "link", "set", "dev", end.dev, "mtu", mtu, "up"); err != nil {
			return nil, err
		}
	}
	if len(opts.Qdisc) > 0 {
		if err := t.SetQdisc(ctx, opts.Qdisc...); err != nil {
			return nil, err
		}
	}
	opts.logf("namespaces %s (A) and %s (B), veth %s/%s, mtu %d", t.A.Name, t.B.Name, t.VethA, t.VethB, opts.OuterMTU)
	return t, nil
}

// SetQdisc replaces the root qdisc of A's veth end: args follow
// `tc qdisc replace dev VETH root`. With no args it deletes the root
// qdisc, restoring the default.
func (t *Topology) SetQdisc(ctx context.Context, args ...string) error {
	if len(args) == 0 {
		return t.run(ctx, t.A, "tc", "qdisc", "del", "dev", t.VethA, "root")
	}
	if err := t.run(ctx, t.A, "tc", append([]string{"qdisc", "replace", "dev", t.VethA, "root"}, args...)...); err != nil {
		return err
	}
	t.Opts.logf("%s: qdisc %s", t.VethA, strings.Join(args, " "))
	return nil
}

// LogDir is where the daemons' logs and commands' output go.
func (t *Topology) LogDir() string { return t.logDir }

// Close stops every process started in the namespaces (by PID), deletes
// the namespaces, which takes the veth pair with them, and removes the log
// directory if it made it. It is safe to call more than once.
func (t *Topology) Close() error {
	var errs []error
	for _, ns := range []*netns.Namespace{t.A, t.B} {
		if ns != nil {
			errs = append(errs, ns.Close())
		}
	}
	if t.ownDir {
		os.RemoveAll(t.logDir)
	}
	return errors.Join(errs...)
}

// outputFile returns a fresh file name in the log directory for a
// command's output.
func (t *Topology) outputFile(ns *netns.Namespace, name string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.files++
	side := "A"
	if ns == t.B {
		side = "B"
	}
	return filepath.Join(t.logDir, fmt.Sprintf("%03d-%s-%s.out", t.files, side, filepath.Base(name)))
}

// run runs a short command in ns, bounded by netns.CommandTimeout and ctx.
func (t *Topology) run(ctx context.Context, ns *netns.Namespace, name string, args ...string) error {
	_, err := t.exec(ctx, ns, netns.CommandTimeout, nil, name, args...)
	return err
}

// exec runs name with args in ns and returns its combined output. It
// starts the command through ns.Start, so the process gets SIGTERM if this
// one dies and is killed by PID when ns closes; it stops the command when
// timeout passes or ctx ends. A non-zero exit is an error that carries the
// output's tail, but the output is returned too.
func (t *Topology) exec(ctx context.Context, ns *netns.Namespace, timeout time.Duration, env []string, name string, args ...string) (string, error) {
	p, err := t.start(ns, env, name, args...)
	if err != nil {
		return "", err
	}
	return t.wait(ctx, p, timeout, true)
}

// start starts name with args in ns, its output going to a fresh file.
func (t *Topology) start(ns *netns.Namespace, env []string, name string, args ...string) (*netns.Process, error) {
	if ns == nil {
		return nil, errors.New("bench: no namespace")
	}
	return ns.Start(t.outputFile(ns, name), env, name, args...)
}

// wait waits for p to exit, at most timeout and while ctx lasts, then
// returns its output. An error names the command and why it failed, and
// ends with the output's tail if withOutput.
func (t *Topology) wait(ctx context.Context, p *netns.Process, timeout time.Duration, withOutput bool) (string, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var why error
	select {
	case <-p.Done():
	case <-ctx.Done():
		why = ctx.Err()
	case <-timer.C:
		why = fmt.Errorf("timed out after %v", timeout)
	}
	if why != nil {
		p.Stop(time.Second)
	}
	b, _ := os.ReadFile(p.LogPath)
	out := string(b)
	cmdline := strings.Join(p.Cmd.Args[3:], " ") // past "ip netns exec NS"
	if why == nil {
		why = p.Err()
	}
	switch {
	case why == nil:
		return out, nil
	case withOutput:
		return out, fmt.Errorf("%s: %w: %s", cmdline, why, tail(out, 10))
	}
	return out, fmt.Errorf("%s: %w", cmdline, why)
}

// tail returns the last n lines of s, trimmed.
func tail(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
