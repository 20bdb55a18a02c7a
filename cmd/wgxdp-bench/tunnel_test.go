package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/wgxdp/wgxdp/bench"
)

// buildDaemons builds wgxdp and wireguard-go into dir, side by side.
func buildDaemons(t *testing.T, dir string) (wgxdp, wggo string) {
	t.Helper()
	wgxdp, wggo = filepath.Join(dir, "wgxdp"), filepath.Join(dir, "wireguard-go")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, b := range [][2]string{{wgxdp, "github.com/wgxdp/wgxdp/cmd/wgxdp"}, {wggo, "golang.zx2c4.com/wireguard"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out, err := exec.Command("go", "build", "-o", b[0], b[1]).CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("go build %s: %v\n%s", b[1], err, out)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return wgxdp, wggo
}

// TestTunnelCommand runs the tunnel command briefly on wgxdp and
// wireguard-go and checks the shape of what it prints and writes; the
// figures themselves mean nothing here.
func TestTunnelCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts network namespaces, daemons and iperf3: skipped with -short")
	}
	if err := bench.Available(); err != nil {
		t.Skip(err)
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command to build the daemons")
	}
	dir := t.TempDir()
	wgxdp, wggo := buildDaemons(t, dir)
	jsonPath, svgPath := filepath.Join(dir, "t.json"), filepath.Join(dir, "t.svg")
	out, errs, st := runCmd(t, "tunnel", "--pairs", "wgxdp,wireguard-go", "--duration", "1s", "--pings", "5",
		"--wgxdp", wgxdp, "--wireguard-go", wggo, "--json", jsonPath, "--svg", svgPath)
	t.Logf("stdout:\n%s\nstderr:\n%s", out, errs)
	if st != 0 {
		t.Fatalf("status %d", st)
	}

	header := regexp.MustCompile(`(?m)^ *metric +unit +wgxdp +wireguard-go +wgxdp/wireguard-go *$`)
	if !header.MatchString(out) {
		t.Errorf("no table header like %s", header)
	}
	num := `[0-9]+(\.[0-9]+)?`
	for _, m := range metrics() {
		ratio := num + `x`
		if m.noRatio {
			ratio = `-`
		}
		re := regexp.MustCompile(`(?m)^ *` + regexp.QuoteMeta(m.Name) + ` +` + regexp.QuoteMeta(m.Unit) +
			` +` + num + ` +` + num + ` +` + ratio + ` *$`)
		if !re.MatchString(out) {
			t.Errorf("no row matching %s", re)
		}
	}
	for _, want := range []string{"pair:         wgxdp ", "pair:         wireguard-go ", "tcp congestion control: ", "ran in "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}

	var rep tunnelReport
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Pairs) != 2 || rep.Pairs[0].Label != "wgxdp" || rep.Pairs[1].Label != "wireguard-go" {
		t.Errorf("JSON pairs: %+v", rep.Pairs)
	}
	for _, p := range rep.Pairs {
		if p.TCP1 == nil || p.TCP4 == nil || p.UDP == nil || p.PingIdle == nil || p.PingLoaded == nil || p.Load == nil || len(p.Errors) > 0 {
			t.Errorf("JSON pair %s incomplete: %+v", p.Label, p)
		}
	}
	if len(rep.Metrics) != len(metrics()) || !slicesEqual(rep.RatioColumns, []string{"wgxdp/wireguard-go"}) {
		t.Errorf("JSON has %d metrics (want %d), ratio columns %q", len(rep.Metrics), len(metrics()), rep.RatioColumns)
	}
	for _, m := range rep.Metrics {
		if len(m.Values) != 2 {
			t.Errorf("JSON metric %s: values %v", m.Key, m.Values)
		}
	}

	b, err = os.ReadFile(svgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(b, new(struct{})); err != nil {
		t.Errorf("SVG does not parse: %v", err)
	}
	if n := bytes.Count(b, []byte("<g id=")); n != len(metrics()) {
		t.Errorf("SVG has %d groups, want %d", n, len(metrics()))
	}
	if n := bytes.Count(b, []byte("<rect x=")); n < 2*len(metrics()) {
		t.Errorf("SVG has %d bars and legend boxes, want at least %d", n, 2*len(metrics()))
	}
}

func slicesEqual(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

func TestTunnelUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tunnel", "--pairs", "kernel"}, "bad --pairs"},
		{[]string{"tunnel", "--pairs", "veth:A=1"}, "bad --pairs"},
		{[]string{"tunnel", "--pairs", "wgxdp,wgxdp"}, "given twice"},
		{[]string{"tunnel", "--duration", "1500ms"}, "bad --duration"},
		{[]string{"tunnel", "--duration", "0s"}, "bad --duration"},
		{[]string{"tunnel", "--pings", "0"}, "bad --pings"},
		{[]string{"tunnel", "extra"}, `unexpected argument "extra"`},
	} {
		out, errs, st := runCmd(t, tc.args...)
		if st != 2 || !strings.Contains(out+errs, tc.want) {
			t.Errorf("%q: status %d, output:\n%s%s\nwant status 2 and %q", tc.args, st, out, errs, tc.want)
		}
	}
	out, _, st := runCmd(t, "help", "tunnel")
	if st != 0 || !strings.Contains(out, "-pairs") || !strings.Contains(out, "-congestion") {
		t.Errorf("help tunnel: status %d:\n%s", st, out)
	}
	_, errs, st := runCmd(t, "tunnel", "--pairs", "wgxdp", "--wgxdp", filepath.Join(t.TempDir(), "nope"))
	if st != 1 || !strings.Contains(errs, "wgxdp binary") {
		t.Errorf("missing binary: status %d: %s", st, errs)
	}
}

func TestRatioColumns(t *testing.T) {
	runs := func(labels ...string) []*pairRun {
		var rs []*pairRun
		for _, l := range labels {
			k, err := bench.ParseKind(l)
			if err != nil {
				t.Fatal(err)
			}
			rs = append(rs, &pairRun{Label: l, Impl: k.Impl})
		}
		return rs
	}
	for _, tc := range []struct {
		labels []string
		want   string
	}{
		{[]string{"wgxdp", "wireguard-go", "veth"}, "wgxdp/wireguard-go wgxdp/veth"},
		{[]string{"wgxdp", "wireguard-go"}, "wgxdp/wireguard-go"},
		{[]string{"wgxdp", "wgxdp:X=0", "wireguard-go"}, "wgxdp/wireguard-go wgxdp:X=0/wireguard-go"},
		{[]string{"wireguard-go", "veth"}, "wireguard-go/veth"},
		{[]string{"wireguard-go", "wireguard-go:GOMAXPROCS=1"}, "wireguard-go:GOMAXPROCS=1/wireguard-go"},
		{[]string{"veth"}, ""},
	} {
		var got []string
		for _, c := range ratioCols(runs(tc.labels...)) {
			got = append(got, c[0]+"/"+c[1])
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("ratioCols(%q) = %q, want %q", tc.labels, got, tc.want)
		}
	}
}
