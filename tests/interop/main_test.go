package interop

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/internal/netns"
)

// nsPrefix starts the name of every namespace these tests create.
const nsPrefix = "wgxi-"

// The implementations under test.
const (
	implWgxdp       = "wgxdp"
	implWireguardGo = "wireguard-go"

	// implWgxdpXDP is wgxdp with its outer side on AF_XDP: the wgxdp
	// binary, started with WGXDP_XDP naming its veth end.
	implWgxdpXDP = "wgxdp-xdp"

	// implWgxdpXDPAuto is wgxdp on AF_XDP in generic mode with the
	// hybrid transmit path (WGXDP_XDP_TX=auto): bulk batches leave
	// through the UDP socket as UDP GSO sends, and arrive at a generic-mode
	// peer partly through its socket, partly (small GSO packets) whole
	// through its XSKs.
	implWgxdpXDPAuto = "wgxdp-xdp-auto"
)

// isXDP reports whether impl runs wgxdp with its outer side on AF_XDP.
func isXDP(impl string) bool { return impl == implWgxdpXDP || impl == implWgxdpXDPAuto }

// binaryImpl is the implementation whose binary impl runs.
func binaryImpl(impl string) string {
	if isXDP(impl) {
		return implWgxdp
	}
	return impl
}

// packages are the Go packages built for each implementation, and overrides
// the environment variables naming a prebuilt binary instead.
var (
	packages  = map[string]string{implWgxdp: "github.com/wgxdp/wgxdp/cmd/wgxdp", implWireguardGo: "golang.zx2c4.com/wireguard"}
	overrides = map[string]string{implWgxdp: "WGXDP_INTEROP_WGXDP", implWireguardGo: "WGXDP_INTEROP_WIREGUARD_GO"}
)

var (
	skipReason string            // why every test skips, if they do
	bins       map[string]string // implementation → binary
	buildErrs  map[string]error  // implementation → why it has no binary

	resultsMu sync.Mutex
	results   []string // measured numbers, printed after the run
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	skipReason = requirements()
	if skipReason != "" {
		return m.Run()
	}
	// Namespaces of an earlier run killed before its cleanup (-timeout).
	if gone, err := netns.Sweep(nsPrefix); len(gone) > 0 || err != nil {
		fmt.Fprintf(os.Stderr, "interop: removed stale namespaces %v (%v)\n", gone, err)
	}
	dir, err := os.MkdirTemp("", "wgxdp-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	buildAll(dir)
	code := m.Run()
	if len(results) > 0 {
		fmt.Println("interop measurements:")
		for _, r := range results {
			fmt.Println("  " + r)
		}
	}
	return code
}

// requirements returns why the tests cannot run here, or "".
func requirements() string {
	if testing.Short() {
		return "interop tests are slow: skipped with -short"
	}
	if err := netns.Available(); err != nil {
		return err.Error()
	}
	for _, tool := range []string{"wg", "ping"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "needs " + tool + " (scripts/deps.sh installs it)"
		}
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return "needs /dev/net/tun: " + err.Error()
	}
	return ""
}

// buildAll builds both implementations into dir, side by side.
func buildAll(dir string) {
	bins, buildErrs = map[string]string{}, map[string]error{}
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for impl, pkg := range packages {
		if p := os.Getenv(overrides[impl]); p != "" {
			bins[impl] = p
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := filepath.Join(dir, impl)
			start := time.Now()
			cmd := exec.Command(gobin, "build", "-o", out, pkg)
			cmd.Dir = sourceDir() // inside the module, wherever the test binary runs
			b, err := cmd.CombinedOutput()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				buildErrs[impl] = fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
				return
			}
			bins[impl] = out
			fmt.Fprintf(os.Stderr, "interop: built %s in %v\n", impl, time.Since(start).Round(time.Millisecond))
		}()
	}
	wg.Wait()
}

// sourceDir is the directory of this file.
func sourceDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// requireRoot skips t when the machine cannot run these tests.
func requireRoot(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

// binary returns impl's binary, skipping t when the tests cannot run here
// and failing it when the binary did not build.
func binary(t *testing.T, impl string) string {
	t.Helper()
	requireRoot(t)
	impl = binaryImpl(impl)
	if err := buildErrs[impl]; err != nil {
		t.Fatalf("%s did not build: %v", impl, err)
	}
	return bins[impl]
}

// record keeps a measured number for the summary printed after the run.
func record(format string, args ...any) {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	results = append(results, strings.TrimSpace(fmt.Sprintf(format, args...)))
}
