package main

// The tunnel command: wgxdp, wireguard-go and a bare veth pair measured in
// one run with package bench. Every pair is set up first and stays up
// (idle daemons cost nothing measurable), then each measurement runs on
// every pair in turn, so that a machine whose load drifts during the run
// skews the pairs alike rather than whichever came last.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/wgxdp/wgxdp/bench"
	"github.com/wgxdp/wgxdp/internal/netns"
)

const tunnelSynopsis = `Data-plane throughput and latency through a tunnel between two network namespaces
joined by a veth pair (outer MTU 1500, inner 1420), for each pair kind in one run:
wgxdp at both ends, wireguard-go at both ends, and veth (no tunnel: the limit).
A kind may carry environment variables for its daemons, e.g.
--pairs wgxdp,wgxdp:WGXDP_TUN_OFFLOAD=0,wireguard-go; @veth in a value is each
daemon's veth end: wgxdp:WGXDP_XDP=@veth is the AF_XDP row, and
wgxdp:WGXDP_XDP=@veth,WGXDP_XDP_MODE=generic,WGXDP_XDP_TX=auto the AF_XDP
receive path with bulk sent as UDP GSO (the better of the two on veth).
Measured from A to B: TCP with iperf3 (1 and 4 streams, receiver's bits/s, and
the CPU time both daemons used per GB received, from /proc: less disturbed by
other load than throughput), 64-byte UDP packets/s received and loss (sendmmsg/recvmmsg inside the namespaces),
ping RTT idle and under a 1-stream iperf3 load (p50/p99).
Needs root, ip, tc, wg, iperf3 and ping. Ratios are column ÷ column: above 1 is
better for throughput, below 1 is better for RTT and CPU.`

// settle is the pause before each measurement.
const settle = 300 * time.Millisecond

// tunnelConfig is the tunnel command's flags, checked.
type tunnelConfig struct {
	kinds      []bench.Kind
	duration   time.Duration
	pings      int
	qdisc      []string
	congestion string
	binaries   map[string]string
	jsonPath   string
	svgPath    string
	logDir     string
}

func runTunnel(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("tunnel", tunnelSynopsis, stderr)
	pairs := fs.String("pairs", "wgxdp,wireguard-go,veth", "pair kinds to measure, comma-separated: wgxdp, wireguard-go, veth,\nor KIND:ENV=VALUE,ENV2=VALUE for a daemon variant")
	duration := fs.Duration("duration", 5*time.Second, "length of each iperf3 run and of the UDP flood (whole seconds)")
	pings := fs.Int("pings", 20, "idle pings, 0.1 s apart")
	wgxdpBin := fs.String("wgxdp", "bin/wgxdp", "the wgxdp binary (go build -o bin/wgxdp ./cmd/wgxdp)")
	wggoBin := fs.String("wireguard-go", "bin/wireguard-go", "the wireguard-go binary (go build -o bin/wireguard-go golang.zx2c4.com/wireguard)")
	qdisc := fs.String("qdisc", "", "root qdisc for A's veth end, where the measured traffic leaves,\ne.g. \"tbf rate 50mbit burst 16kb limit 1mb\"")
	congestion := fs.String("congestion", "", "iperf3's TCP congestion control (-C), e.g. cubic; the system's if empty")
	jsonPath := fs.String("json", "", "write the results as JSON to `file`")
	svgPath := fs.String("svg", "", "write a bar chart, one group per metric, as SVG to `file`")
	logDir := fs.String("logs", "", "keep the daemons' logs and every command's output under `dir`")
	bloat := fs.Bool("bufferbloat", false, "the bufferbloat scenario: a 50 Mbit/s tbf with a 1 MB FIFO on the outer veth,\n"+
		"cubic TCP, and (unless --pairs is given) wgxdp with fq_codel, wgxdp with a FIFO and wireguard-go")
	if st := parseFlags(fs, args); st >= 0 {
		return st
	}
	if *bloat {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["qdisc"] {
			*qdisc = "tbf rate 50mbit burst 16kb limit 1mb"
		}
		if !set["congestion"] {
			*congestion = "cubic"
		}
		if !set["pairs"] {
			*pairs = "wgxdp,wgxdp:WGXDP_QDISC=fifo,wireguard-go"
		}
		if !set["duration"] {
			*duration = 8 * time.Second
		}
	}
	cfg := tunnelConfig{
		duration: *duration, pings: *pings, qdisc: strings.Fields(*qdisc), congestion: *congestion,
		binaries: map[string]string{bench.Wgxdp: *wgxdpBin, bench.WireguardGo: *wggoBin},
		jsonPath: *jsonPath, svgPath: *svgPath, logDir: *logDir,
	}
	var err error
	cfg.kinds, err = bench.ParseKinds(*pairs)
	switch {
	case err != nil:
		err = fmt.Errorf("bad --pairs: %w", err)
	case cfg.duration < time.Second || cfg.duration%time.Second != 0:
		err = fmt.Errorf("bad --duration %v: want whole seconds, at least 1s", cfg.duration)
	case cfg.pings < 1 || cfg.pings > 10000:
		err = fmt.Errorf("bad --pings %d: want 1 to 10000", cfg.pings)
	}
	if err != nil {
		fmt.Fprintf(stderr, "wgxdp-bench tunnel: %v\n", err)
		fs.Usage()
		return 2
	}
	if err := checkBinaries(&cfg); err != nil {
		fmt.Fprintf(stderr, "wgxdp-bench tunnel: %v\n", err)
		return 1
	}
	if err := bench.Available(); err != nil {
		fmt.Fprintf(stderr, "wgxdp-bench tunnel: %v\n", err)
		return 1
	}
	// An interrupt ends the step under way; the deferred cleanup then
	// stops every process and removes every namespace. Further signals are
	// caught until then, so they cannot cut the cleanup short.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	return tunnel(ctx, cfg, stdout, stderr)
}

// checkBinaries makes the daemon binaries the kinds need absolute, and
// checks that they exist.
func checkBinaries(cfg *tunnelConfig) error {
	for _, k := range cfg.kinds {
		if !k.Tunnel() {
			continue
		}
		path, err := filepath.Abs(cfg.binaries[k.Impl])
		if err != nil {
			return err
		}
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("%s binary: %w (build it, or point --%s at it)", k.Impl, err, k.Impl)
		}
		cfg.binaries[k.Impl] = path
	}
	return nil
}

// pairRun is one pair's results; a nil result was not measured.
type pairRun struct {
	Label  string           `json:"label"`
	Impl   string           `json:"impl"`
	Env    []string         `json:"env,omitempty"`
	Binary string           `json:"binary,omitempty"`
	TCP1   *bench.TCPResult `json:"tcp_1_stream,omitempty"`
	TCP4   *bench.TCPResult `json:"tcp_4_streams,omitempty"`
	// CPU time both daemons used during each TCP run (bench.DaemonCPU).
	TCP1DaemonCPU *float64          `json:"tcp_1_stream_daemon_cpu_seconds,omitempty"`
	TCP4DaemonCPU *float64          `json:"tcp_4_streams_daemon_cpu_seconds,omitempty"`
	UDP           *bench.UDPResult  `json:"udp,omitempty"`
	PingIdle      *bench.PingResult `json:"ping_idle,omitempty"`
	PingLoaded    *bench.PingResult `json:"ping_loaded,omitempty"`
	Load          *bench.TCPResult  `json:"ping_load_tcp,omitempty"`
	Errors        []string          `json:"errors,omitempty"`

	pair *bench.Pair
}

func (r *pairRun) fail(step string, err error) {
	r.Errors = append(r.Errors, step+": "+err.Error())
}

// metric is one row of the table.
type metric struct {
	Key           string             `json:"key"`
	Name          string             `json:"name"`
	Unit          string             `json:"unit"`
	LowerIsBetter bool               `json:"lower_is_better"`
	Values        map[string]float64 `json:"values"`           // by pair label
	Ratios        map[string]float64 `json:"ratios,omitempty"` // by "A/B"

	noRatio bool
	get     func(*pairRun) (float64, bool)
}

// cpuNote formats the daemons' CPU use for a step's line.
func cpuNote(r *bench.TCPResult, cpu *float64) string {
	v, ok := cpuPerGB(r, cpu)
	if !ok {
		return ""
	}
	return fmt.Sprintf(", daemons %.2f CPU-s (%.2f CPU-s/GB)", *cpu, v)
}

// cpuPerGB is the daemons' CPU seconds per gigabyte received in a TCP run.
func cpuPerGB(r *bench.TCPResult, cpu *float64) (float64, bool) {
	if r == nil || cpu == nil || r.ReceiverBitsPerSec <= 0 || r.Seconds <= 0 {
		return 0, false
	}
	return *cpu / (r.ReceiverBitsPerSec / 8 * r.Seconds / 1e9), true
}

// tcpWithCPU runs iperf3 and measures the daemons' CPU time around it.
func tcpWithCPU(ctx context.Context, p *bench.Pair, o bench.TCPOptions) (bench.TCPResult, *float64, error) {
	c0, ok0 := p.DaemonCPU()
	res, err := bench.IperfTCP(ctx, p, o)
	c1, ok1 := p.DaemonCPU()
	if !ok0 || !ok1 || err != nil {
		return res, nil, err
	}
	sec := (c1 - c0).Seconds()
	return res, &sec, nil
}

func tcpMbps(r *bench.TCPResult) (float64, bool) {
	if r == nil {
		return 0, false
	}
	return r.ReceiverBitsPerSec / 1e6, true
}

// metrics are the rows, in order.
func metrics() []*metric {
	pingQ := func(which func(*pairRun) *bench.PingResult, q func(*bench.PingResult) float64) func(*pairRun) (float64, bool) {
		return func(r *pairRun) (float64, bool) {
			if p := which(r); p != nil {
				return q(p), true
			}
			return 0, false
		}
	}
	idle := func(r *pairRun) *bench.PingResult { return r.PingIdle }
	loaded := func(r *pairRun) *bench.PingResult { return r.PingLoaded }
	p50 := func(p *bench.PingResult) float64 { return p.P50 }
	p99 := func(p *bench.PingResult) float64 { return p.P99 }
	return []*metric{
		{Key: "tcp_1_stream", Name: "tcp 1 stream", Unit: "Mbit/s", get: func(r *pairRun) (float64, bool) { return tcpMbps(r.TCP1) }},
		{Key: "tcp_4_streams", Name: "tcp 4 streams", Unit: "Mbit/s", get: func(r *pairRun) (float64, bool) { return tcpMbps(r.TCP4) }},
		{Key: "tcp_1_stream_cpu", Name: "daemon CPU, tcp 1 stream", Unit: "CPU-s/GB", LowerIsBetter: true, get: func(r *pairRun) (float64, bool) { return cpuPerGB(r.TCP1, r.TCP1DaemonCPU) }},
		{Key: "tcp_4_streams_cpu", Name: "daemon CPU, tcp 4 streams", Unit: "CPU-s/GB", LowerIsBetter: true, get: func(r *pairRun) (float64, bool) { return cpuPerGB(r.TCP4, r.TCP4DaemonCPU) }},
		{Key: "udp_64_received", Name: "udp 64 B received", Unit: "kpps", get: func(r *pairRun) (float64, bool) {
			if r.UDP == nil {
				return 0, false
			}
			return r.UDP.ReceivedPPS / 1e3, true
		}},
		{Key: "udp_64_loss", Name: "udp 64 B loss", Unit: "%", LowerIsBetter: true, noRatio: true, get: func(r *pairRun) (float64, bool) {
			if r.UDP == nil {
				return 0, false
			}
			return r.UDP.LossPercent, true
		}},
		{Key: "ping_idle_p50", Name: "ping idle p50", Unit: "ms", LowerIsBetter: true, get: pingQ(idle, p50)},
		{Key: "ping_idle_p99", Name: "ping idle p99", Unit: "ms", LowerIsBetter: true, get: pingQ(idle, p99)},
		{Key: "ping_loaded_p50", Name: "ping under tcp load p50", Unit: "ms", LowerIsBetter: true, get: pingQ(loaded, p50)},
		{Key: "ping_loaded_p99", Name: "ping under tcp load p99", Unit: "ms", LowerIsBetter: true, get: pingQ(loaded, p99)},
		{Key: "ping_load_tcp", Name: "tcp load during pings", Unit: "Mbit/s", get: func(r *pairRun) (float64, bool) { return tcpMbps(r.Load) }},
	}
}

// ratioCols are the ratio columns: [subject, baseline] pair labels.
// Baselines are the first wireguard-go pair and the first veth pair; the
// subjects are the other tunnel pairs (wgxdp and its variants, and other
// wireguard-go variants), or wireguard-go itself against veth if there are
// none.
func ratioCols(runs []*pairRun) [][2]string {
	var wggo, veth string
	for _, r := range runs {
		switch {
		case r.Impl == bench.WireguardGo && wggo == "":
			wggo = r.Label
		case r.Impl == bench.Veth && veth == "":
			veth = r.Label
		}
	}
	var cols [][2]string
	for _, r := range runs {
		if r.Impl == bench.Veth || r.Label == wggo {
			continue
		}
		for _, b := range []string{wggo, veth} {
			if b != "" {
				cols = append(cols, [2]string{r.Label, b})
			}
		}
	}
	if len(cols) == 0 && wggo != "" && veth != "" {
		cols = append(cols, [2]string{wggo, veth})
	}
	return cols
}

// tunnelReport is what --json writes.
type tunnelReport struct {
	Command         string         `json:"command"`
	Time            time.Time      `json:"time"`
	DurationSeconds float64        `json:"duration_seconds"` // per iperf3 run and UDP flood
	ElapsedSeconds  float64        `json:"elapsed_seconds"`
	System          map[string]any `json:"system"`
	Setup           map[string]any `json:"setup"`
	Pairs           []*pairRun     `json:"pairs"`
	Metrics         []*metric      `json:"metrics"`
	RatioColumns    []string       `json:"ratio_columns"`
}

func tunnel(ctx context.Context, cfg tunnelConfig, stdout, stderr io.Writer) (status int) {
	start := time.Now()
	progress := func(format string, args ...any) { fmt.Fprintf(stderr, "tunnel: "+format+"\n", args...) }
	if gone, err := netns.Sweep(bench.DefaultPrefix); len(gone) > 0 || err != nil {
		progress("removed namespaces of an earlier run that died: %v (%v)", gone, err)
	}
	printSystem(stdout, cfg.duration.String())
	fmt.Fprintf(stdout, "tunnel:       namespaces A→B over veth (mtu 1500), tunnel mtu 1420; ping %d× idle, 0.1 s apart\n", cfg.pings)
	if len(cfg.qdisc) > 0 {
		fmt.Fprintf(stdout, "qdisc:        %s on A's veth end\n", strings.Join(cfg.qdisc, " "))
	}
	if cfg.congestion != "" {
		fmt.Fprintf(stdout, "congestion:   iperf3 -C %s\n", cfg.congestion)
	}
	fmt.Fprintf(stdout, "note:         a shared machine: other jobs' load shows in these figures; compare the ratios\n")

	opts := bench.Options{Qdisc: cfg.qdisc, Binaries: cfg.binaries}
	var runs []*pairRun
	defer func() {
		for i := len(runs) - 1; i >= 0; i-- {
			if p := runs[i].pair; p != nil {
				if err := p.Close(); err != nil {
					progress("cleanup of %s: %v", runs[i].Label, err)
					status = 1
				}
			}
		}
	}()
	for _, k := range cfg.kinds {
		r := &pairRun{Label: k.String(), Impl: k.Impl, Env: k.Env}
		runs = append(runs, r)
		if ctx.Err() != nil {
			break
		}
		o := opts
		if cfg.logDir != "" {
			o.LogDir = filepath.Join(cfg.logDir, strings.NewReplacer("/", "_", ":", "_", ",", "_").Replace(r.Label))
		}
		p, err := bench.StartPair(ctx, k, o)
		if err != nil {
			r.fail("start", err)
			progress("%s: %v", r.Label, err)
			continue
		}
		r.pair, r.Binary = p, p.BinaryPath
		if k.Tunnel() {
			fmt.Fprintf(stdout, "pair:         %-14s %s%s\n", r.Label, p.BinaryPath, envNote(k.Env))
		} else {
			fmt.Fprintf(stdout, "pair:         %-14s no tunnel, %v → %v over the veth\n", r.Label, p.Client, p.Server)
		}
	}
	fmt.Fprintln(stdout)

	tcp := bench.TCPOptions{Duration: cfg.duration, Congestion: cfg.congestion}
	tcp4 := tcp
	tcp4.Streams = 4
	steps := []struct {
		name string
		f    func(*pairRun) (string, error)
	}{
		{"tcp 1 stream", func(r *pairRun) (string, error) {
			res, cpu, err := tcpWithCPU(ctx, r.pair, tcp)
			r.TCP1, r.TCP1DaemonCPU = keep(res, err), cpu
			return fmt.Sprintf("%.0f Mbit/s, %d retransmits%s", res.ReceiverBitsPerSec/1e6, res.Retransmits, cpuNote(r.TCP1, cpu)), err
		}},
		{"tcp 4 streams", func(r *pairRun) (string, error) {
			res, cpu, err := tcpWithCPU(ctx, r.pair, tcp4)
			r.TCP4, r.TCP4DaemonCPU = keep(res, err), cpu
			return fmt.Sprintf("%.0f Mbit/s, %d retransmits%s", res.ReceiverBitsPerSec/1e6, res.Retransmits, cpuNote(r.TCP4, cpu)), err
		}},
		{"udp 64 B", func(r *pairRun) (string, error) {
			res, err := bench.UDPFlood(ctx, r.pair, bench.UDPOptions{Duration: cfg.duration, Payload: 64})
			r.UDP = keep(res, err)
			return fmt.Sprintf("sent %.0f kpps, received %.0f kpps, loss %.1f%%", res.SentPPS/1e3, res.ReceivedPPS/1e3, res.LossPercent), err
		}},
		{"ping idle", func(r *pairRun) (string, error) {
			res, err := bench.Ping(ctx, r.pair, bench.PingOptions{Count: cfg.pings, Interval: 100 * time.Millisecond})
			r.PingIdle = keep(res, err)
			return fmt.Sprintf("p50 %.3f ms, p99 %.3f ms, loss %.0f%%", res.P50, res.P99, res.LossPercent), err
		}},
		{"ping under load", func(r *pairRun) (string, error) {
			pr, tr, err := bench.PingUnderLoad(ctx, r.pair, bench.LoadOptions{TCP: tcp, Ping: bench.PingOptions{Interval: 100 * time.Millisecond}})
			r.PingLoaded, r.Load = keep(pr, err), keep(tr, err)
			return fmt.Sprintf("p50 %.3f ms, p99 %.3f ms, loss %.0f%%, load %.0f Mbit/s", pr.P50, pr.P99, pr.LossPercent, tr.ReceiverBitsPerSec/1e6), err
		}},
	}
	for _, s := range steps {
		for _, r := range runs {
			if r.pair == nil || ctx.Err() != nil {
				continue
			}
			// A moment for the last step's queues to drain, so that
			// its backlog does not land in this one's figures.
			select {
			case <-time.After(settle):
			case <-ctx.Done():
				continue
			}
			t0 := time.Now()
			summary, err := s.f(r)
			if err != nil {
				r.fail(s.name, err)
				progress("%-16s %-14s FAILED: %v", s.name, r.Label, err)
				if perr := r.pair.Check(); perr != nil {
					r.pair.Close() // a dead daemon: measure this pair no more
					r.pair = nil
				}
				continue
			}
			progress("%-16s %-14s %s (%v)", s.name, r.Label, summary, time.Since(t0).Round(100*time.Millisecond))
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "wgxdp-bench tunnel: interrupted: %v\n", ctx.Err())
		return 1
	}

	ms := metrics()
	cols := ratioCols(runs)
	for _, m := range ms {
		m.Values = map[string]float64{}
		for _, r := range runs {
			if v, ok := m.get(r); ok {
				m.Values[r.Label] = v
			}
		}
		if m.noRatio {
			continue
		}
		for _, c := range cols {
			a, okA := m.Values[c[0]]
			b, okB := m.Values[c[1]]
			if okA && okB && b > 0 {
				if m.Ratios == nil {
					m.Ratios = map[string]float64{}
				}
				m.Ratios[c[0]+"/"+c[1]] = a / b
			}
		}
	}
	printTunnelTable(stdout, runs, ms, cols)
	for _, r := range runs {
		if r.TCP1 != nil && r.TCP1.SenderCongestion != "" {
			how := "the system's default"
			if cfg.congestion != "" {
				how = "set by --congestion"
			}
			fmt.Fprintf(stdout, "tcp congestion control: %s (%s)\n", r.TCP1.SenderCongestion, how)
			break
		}
	}
	elapsed := time.Since(start)
	failed := false
	for _, r := range runs {
		for _, e := range r.Errors {
			fmt.Fprintf(stdout, "error: %s: %s\n", r.Label, firstLine(e))
			failed = true
		}
	}
	fmt.Fprintf(stdout, "\nran in %v\n", elapsed.Round(100*time.Millisecond))

	if cfg.jsonPath != "" {
		var colNames []string
		for _, c := range cols {
			colNames = append(colNames, c[0]+"/"+c[1])
		}
		rep := tunnelReport{
			Command: "tunnel", Time: start, DurationSeconds: cfg.duration.Seconds(), ElapsedSeconds: elapsed.Seconds(),
			System: systemInfo(),
			Setup: map[string]any{
				"outer_mtu": 1500, "inner_mtu": 1420, "qdisc": strings.Join(cfg.qdisc, " "), "congestion": cfg.congestion,
				"ping_idle_count": cfg.pings, "ping_interval_ms": 100, "udp_payload_bytes": 64,
				"ping_load": "iperf3 -P 1 for the duration; pings from 1/5 of it (at most 1 s) in until as long before its end",
				"order":     "every pair is up for the whole run; each measurement runs on every pair in turn",
				"direction": "A (client) to B (server)",
			},
			Pairs: runs, Metrics: ms, RatioColumns: colNames,
		}
		if err := writeTunnelJSON(cfg.jsonPath, rep); err != nil {
			fmt.Fprintf(stderr, "wgxdp-bench tunnel: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "wrote %s\n", cfg.jsonPath)
	}
	if cfg.svgPath != "" {
		if err := writeTunnelSVG(cfg.svgPath, runs, ms); err != nil {
			fmt.Fprintf(stderr, "wgxdp-bench tunnel: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "wrote %s\n", cfg.svgPath)
	}
	if failed {
		return 1
	}
	return 0
}

// keep returns &v if err is nil, else nil.
func keep[T any](v T, err error) *T {
	if err != nil {
		return nil
	}
	return &v
}

func envNote(env []string) string {
	if len(env) == 0 {
		return ""
	}
	return " with " + strings.Join(env, " ")
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// formatValue prints v with three or so significant digits.
func formatValue(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3f", v)
}

// printTunnelTable writes one row per metric, one column per pair, then
// the ratio columns.
func printTunnelTable(w io.Writer, runs []*pairRun, ms []*metric, cols [][2]string) {
	// Right-aligned numbers; the metric names, padded to one width, read
	// as left-aligned.
	width := 0
	for _, m := range ms {
		width = max(width, len(m.Name))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\tunit\t", width, "metric")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t", r.Label)
	}
	for _, c := range cols {
		fmt.Fprintf(tw, "%s/%s\t", c[0], c[1])
	}
	fmt.Fprintln(tw)
	for _, m := range ms {
		fmt.Fprintf(tw, "%-*s\t%s\t", width, m.Name, m.Unit)
		for _, r := range runs {
			if v, ok := m.Values[r.Label]; ok {
				fmt.Fprintf(tw, "%s\t", formatValue(v))
			} else {
				fmt.Fprint(tw, "-\t")
			}
		}
		for _, c := range cols {
			if v, ok := m.Ratios[c[0]+"/"+c[1]]; ok {
				fmt.Fprintf(tw, "%.2fx\t", v)
			} else {
				fmt.Fprint(tw, "-\t")
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintln(w, "ratios: column ÷ column; above 1 is better for throughput, below 1 is better for RTT and CPU")
}

func writeTunnelJSON(path string, rep tunnelReport) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// writeTunnelSVG draws one small bar chart per metric, each on its own
// scale, with one bar per pair in the same colour throughout. It is
// hand-written SVG, like the crypto command's chart.
func writeTunnelSVG(path string, runs []*pairRun, ms []*metric) error {
	if len(runs) == 0 || len(ms) == 0 {
		return errors.New("svg: nothing to draw")
	}
	const (
		cols           = 3
		panelW, panelH = 300, 210
		top, legendH   = 40, 24
		padL, padB     = 50, 30
		padT, padR     = 38, 12
	)
	rows := (len(ms) + cols - 1) / cols
	width, height := cols*panelW, top+legendH+rows*panelH+10
	palette := []string{"#1f77b4", "#d62728", "#7f7f7f", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"}
	color := func(i int) string { return palette[i%len(palette)] }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="12" y="24" font-size="15">WireGuard data plane through network namespaces, A→B (RTT: lower is better)</text>`+"\n")
	x := 12.0
	for i, r := range runs { // legend
		fmt.Fprintf(&b, `<rect x="%.0f" y="%d" width="12" height="12" fill="%s"/>`+"\n", x, top, color(i))
		fmt.Fprintf(&b, `<text x="%.0f" y="%d">%s</text>`+"\n", x+16, top+10, html.EscapeString(r.Label))
		x += 16 + 7*float64(len(r.Label)) + 20
	}
	for mi, m := range ms {
		ox := float64(mi%cols) * panelW
		oy := float64(top + legendH + mi/cols*panelH)
		plotW, plotH := float64(panelW-padL-padR), float64(panelH-padT-padB)
		maxV := 0.0
		for _, v := range m.Values {
			maxV = math.Max(maxV, v)
		}
		if maxV <= 0 {
			maxV = 1
		}
		maxV = niceCeil(maxV)
		y := func(v float64) float64 { return oy + padT + plotH - v/maxV*plotH }
		fmt.Fprintf(&b, `<g id="%s">`+"\n", html.EscapeString(m.Key))
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="13">%s (%s)</text>`+"\n", ox+padL, oy+18, html.EscapeString(m.Name), html.EscapeString(m.Unit))
		for i := 0; i <= 4; i++ {
			v := maxV * float64(i) / 4
			fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", ox+padL, ox+padL+plotW, y(v), y(v))
			fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n", ox+padL-4, y(v)+4, formatValue(v))
		}
		slot := plotW / float64(len(runs))
		barW := math.Min(slot*0.7, 60)
		for i, r := range runs {
			bx := ox + padL + slot*float64(i) + (slot-barW)/2
			v, ok := m.Values[r.Label]
			if !ok {
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#999">n/a</text>`+"\n", bx+barW/2, y(0)-4)
				continue
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %s %s</title></rect>`+"\n",
				bx, y(v), barW, y(0)-y(v), color(i), html.EscapeString(r.Label), formatValue(v), html.EscapeString(m.Unit))
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", bx+barW/2, y(v)-3, formatValue(v))
		}
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#444"/>`+"\n", ox+padL, ox+padL+plotW, y(0), y(0))
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>\n")
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
