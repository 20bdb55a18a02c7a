// Command wgxdp-bench measures wgxdp beside what it replaces, in one run:
// its crypto implementations beside golang.org/x/crypto (crypto), and its
// handshake and handshake primitives beside wireguard-go's (handshake).
// Every figure comes with its ratio to the baseline, since an absolute
// number from a shared machine means little alone.
//
// Usage:
//
//	wgxdp-bench crypto [--sizes 64,128,...] [--batch 16] [--benchtime 300ms] [--json FILE] [--svg FILE]
//	wgxdp-bench handshake [--benchtime 1s] [--responders 128] [--cpus 1,N] [--json FILE]
//	wgxdp-bench tunnel [--pairs wgxdp,wireguard-go,veth] [--duration 5s] [--json FILE] [--svg FILE]
//	wgxdp-bench help
//
// Timing uses testing.Benchmark, one goroutine at a time, so ns/op is the
// cost on one core; handshake --cpus also runs handshakes on several cores
// at once, to show how they scale.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/wgxdp/wgxdp/crypto/blake2s"
	"github.com/wgxdp/wgxdp/crypto/chacha20poly1305"
	"github.com/wgxdp/wgxdp/crypto/curve25519"
	"github.com/wgxdp/wgxdp/internal/cpu"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: wgxdp-bench COMMAND [flags]

commands:
  crypto     ChaCha20-Poly1305 (each usable implementation) and XChaCha20-Poly1305
             beside golang.org/x/crypto: Seal and Open per size, SealBatch
  handshake  a full WireGuard handshake beside wireguard-go's (one core, and
             handshakes/s on 1..N cores), and X25519, BLAKE2s, HMAC-BLAKE2s
             and mac1 beside crypto/ecdh and golang.org/x/crypto
  tunnel     TCP, 64-byte UDP and ping through wgxdp, wireguard-go and a bare veth
             pair between network namespaces (root; iperf3, wg, ping)
  help       print this text, or the flags of COMMAND: wgxdp-bench help COMMAND

Run "wgxdp-bench COMMAND -h" for a command's flags. Each ratio is the
baseline's ns/op divided by the variant's: above 1 means faster than the
baseline.
`

// run is main without the process: it returns the exit status (0 ok, 1 a
// benchmark failed, 2 bad usage).
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "crypto":
		return runCrypto(args[1:], stdout, stderr)
	case "handshake":
		return runHandshake(args[1:], stdout, stderr)
	case "tunnel":
		return runTunnel(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			switch args[1] {
			case "crypto":
				return runCrypto([]string{"-h"}, stdout, stdout)
			case "handshake":
				return runHandshake([]string{"-h"}, stdout, stdout)
			case "tunnel":
				return runTunnel([]string{"-h"}, stdout, stdout)
			}
			fmt.Fprintf(stderr, "wgxdp-bench: no command %q\n\n%s", args[1], usage)
			return 2
		}
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "wgxdp-bench: no command %q\n\n%s", args[0], usage)
		return 2
	}
}

// newFlags returns a flag set for a command that reports errors to stderr
// and prints its usage to out.
func newFlags(name, synopsis string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: wgxdp-bench %s [flags]\n\n%s\n\nflags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args into fs and returns the exit status to stop with,
// or -1 to go on.
func parseFlags(fs *flag.FlagSet, args []string) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "wgxdp-bench %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return 2
	}
	return -1
}

// checkBenchtime accepts what go test's -benchtime does: a positive
// duration or a positive iteration count "Nx".
func checkBenchtime(s string) error {
	if n, ok := strings.CutSuffix(s, "x"); ok {
		if v, err := strconv.Atoi(n); err != nil || v <= 0 {
			return fmt.Errorf("bad --benchtime %q: want a duration or a count such as 100x", s)
		}
		return nil
	}
	if d, err := time.ParseDuration(s); err != nil || d <= 0 {
		return fmt.Errorf("bad --benchtime %q: want a positive duration or a count such as 100x", s)
	}
	return nil
}

// setBenchtime sets the time (or count) each testing.Benchmark runs for and
// returns a function that restores the previous setting. testing.Benchmark
// reads it from the test.benchtime flag, which testing.Init registers.
func setBenchtime(s string) (restore func(), err error) {
	testing.Init()
	f := flag.CommandLine.Lookup("test.benchtime")
	if f == nil {
		return nil, errors.New("testing has no test.benchtime flag")
	}
	old := f.Value.String()
	if err := f.Value.Set(s); err != nil {
		return nil, fmt.Errorf("bad --benchtime %q: %w", s, err)
	}
	return func() { f.Value.Set(old) }, nil
}

// measure runs f under testing.Benchmark with allocations reported. f
// returns an error instead of failing b, so that a benchmark timing
// failures cannot pass for a result.
func measure(f func(b *testing.B) error) (testing.BenchmarkResult, error) {
	var ferr error
	r := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		if err := f(b); err != nil {
			ferr = err
			b.FailNow()
		}
	})
	if ferr != nil {
		return r, ferr
	}
	if r.N == 0 {
		return r, errors.New("the benchmark did not run")
	}
	return r, nil
}

// result is one measured variant of one operation.
type result struct {
	Group       string  `json:"group"`          // primitive or protocol step
	Op          string  `json:"op"`             // e.g. "seal", "sealbatch", "shared-secret"
	Size        int     `json:"size,omitempty"` // bytes per message
	Batch       int     `json:"batch,omitempty"`
	Variant     string  `json:"variant"`  // implementation measured
	Baseline    string  `json:"baseline"` // variant the ratio is against
	N           int     `json:"iterations"`
	NsPerOp     float64 `json:"ns_per_op"`
	GBPerSec    float64 `json:"gb_per_s,omitempty"` // Size·max(Batch,1) bytes per op
	AllocsPerOp int64   `json:"allocs_per_op"`
	BytesPerOp  int64   `json:"alloc_bytes_per_op"`
	Ratio       float64 `json:"ratio_vs_baseline"` // baseline ns/op ÷ this ns/op
}

// newResult fills a result from r; the ratio is set by setRatios.
func newResult(group, op string, size, batch int, variant, baseline string, r testing.BenchmarkResult) result {
	res := result{
		Group: group, Op: op, Size: size, Batch: batch,
		Variant: variant, Baseline: baseline,
		N:           r.N,
		NsPerOp:     float64(r.T.Nanoseconds()) / float64(r.N),
		AllocsPerOp: r.AllocsPerOp(),
		BytesPerOp:  r.AllocedBytesPerOp(),
	}
	if size > 0 && res.NsPerOp > 0 {
		res.GBPerSec = float64(size*max(batch, 1)) / res.NsPerOp // bytes/ns = GB/s
	}
	return res
}

// setRatios sets each result's ratio against the baseline variant of the
// same group, op, size and batch.
func setRatios(rs []result) {
	type key struct {
		group, op   string
		size, batch int
	}
	base := map[key]float64{}
	for _, r := range rs {
		if r.Variant == r.Baseline {
			base[key{r.Group, r.Op, r.Size, r.Batch}] = r.NsPerOp
		}
	}
	for i := range rs {
		r := &rs[i]
		if b, ok := base[key{r.Group, r.Op, r.Size, r.Batch}]; ok && r.NsPerOp > 0 {
			r.Ratio = b / r.NsPerOp
		}
	}
}

// printTable writes rs as an aligned table.
func printTable(w io.Writer, rs []result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "group\top\tsize\tbatch\tvariant\tns/op\tGB/s\tallocs/op\tratio\tbaseline\t")
	for _, r := range rs {
		size, batch, gbps, ratio := "-", "-", "-", "-"
		if r.Size > 0 {
			size = strconv.Itoa(r.Size)
		}
		if r.Batch > 0 {
			batch = strconv.Itoa(r.Batch)
		}
		if r.GBPerSec > 0 {
			gbps = fmt.Sprintf("%.3f", r.GBPerSec)
		}
		if r.Ratio > 0 {
			ratio = fmt.Sprintf("%.2fx", r.Ratio)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t\n",
			r.Group, r.Op, size, batch, r.Variant, formatNs(r.NsPerOp), gbps, r.AllocsPerOp, ratio, r.Baseline)
	}
	tw.Flush()
}

func formatNs(ns float64) string {
	if ns >= 100 {
		return strconv.FormatFloat(ns, 'f', 0, 64)
	}
	return strconv.FormatFloat(ns, 'f', 1, 64)
}

// report is what --json writes.
type report struct {
	Command   string            `json:"command"`
	Time      time.Time         `json:"time"`
	Benchtime string            `json:"benchtime"`
	System    map[string]any    `json:"system"`
	Extra     map[string]string `json:"extra,omitempty"`
	Results   []result          `json:"results"`
}

func writeJSON(path string, rep report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// systemInfo describes the machine and the implementations in use.
func systemInfo() map[string]any {
	ceiling, err := cpu.Ceiling()
	info := map[string]any{
		"goos":                             runtime.GOOS,
		"goarch":                           runtime.GOARCH,
		"go":                               runtime.Version(),
		"num_cpu":                          runtime.NumCPU(),
		"gomaxprocs":                       runtime.GOMAXPROCS(0),
		"cpu_features":                     cpu.Features(),
		"cpu_ceiling":                      ceiling,
		"chacha20poly1305":                 chacha20poly1305.Active(),
		"chacha20poly1305_implementations": chacha20poly1305.Implementations(),
		"blake2s":                          blake2s.Active(),
		"curve25519":                       curve25519.Active(),
	}
	if err != nil {
		info["cpu_ceiling_error"] = err.Error()
	}
	return info
}

// printSystem writes the machine's CPU features and the implementation
// each primitive uses.
func printSystem(w io.Writer, benchtime string) {
	ceiling, err := cpu.Ceiling()
	fmt.Fprintf(w, "system:       %s/%s, %s, %d CPUs (GOMAXPROCS %d); a shared machine's figures are noisy, compare ratios\n",
		runtime.GOOS, runtime.GOARCH, runtime.Version(), runtime.NumCPU(), runtime.GOMAXPROCS(0))
	feats := strings.Join(cpu.Features(), " ")
	if feats == "" {
		feats = "(none relevant)"
	}
	fmt.Fprintf(w, "cpu features: %s\n", feats)
	if env := os.Getenv(cpu.EnvVar); env != "" {
		fmt.Fprintf(w, "ceiling:      %s (%s=%s)\n", ceiling, cpu.EnvVar, env)
	} else {
		fmt.Fprintf(w, "ceiling:      %s (%s unset)\n", ceiling, cpu.EnvVar)
	}
	if err != nil {
		fmt.Fprintf(w, "warning:      %v\n", err)
	}
	fmt.Fprintf(w, "active:       chacha20poly1305=%s blake2s=%s curve25519=%s\n",
		chacha20poly1305.Active(), blake2s.Active(), curve25519.Active())
	fmt.Fprintf(w, "benchtime:    %s per measurement\n\n", benchtime)
}
