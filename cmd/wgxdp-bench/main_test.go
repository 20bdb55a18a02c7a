package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wgxdp/wgxdp/crypto/chacha20poly1305"
)

// Each command runs with a tiny benchtime, so that the tool cannot rot
// unnoticed; the figures themselves mean nothing here.

func runCmd(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	var out, errb bytes.Buffer
	status = run(args, &out, &errb)
	return out.String(), errb.String(), status
}

// row matches a table row: group, op, size, batch, variant, ns/op, GB/s,
// allocs/op, ratio, baseline.
func row(group, op, size, batch, variant string) *regexp.Regexp {
	q := regexp.QuoteMeta
	return regexp.MustCompile(`(?m)^ *` + q(group) + ` +` + q(op) + ` +` + q(size) + ` +` + q(batch) + ` +` + q(variant) +
		` +[0-9.]+ +([0-9.]+|-) +[0-9]+ +[0-9.]+x +\S+ *$`)
}

func TestCryptoCommand(t *testing.T) {
	dir := t.TempDir()
	jsonPath, svgPath := filepath.Join(dir, "c.json"), filepath.Join(dir, "c.svg")
	out, errs, st := runCmd(t, "crypto", "--benchtime", "1ms", "--sizes", "1420,64", "--batch", "4", "--json", jsonPath, "--svg", svgPath)
	if st != 0 {
		t.Fatalf("status %d\nstderr: %s\nstdout: %s", st, errs, out)
	}
	for _, want := range []string{"cpu features:", "active:       chacha20poly1305=", "checked:"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	variants := append(chacha20poly1305.Implementations(), "x/crypto")
	for _, v := range variants {
		for _, size := range []string{"64", "1420"} {
			for _, op := range []string{"seal", "open"} {
				if !row("chacha20poly1305", op, size, "-", v).MatchString(out) {
					t.Errorf("no %s %s row for %s:\n%s", op, size, v, out)
				}
			}
			if !row("chacha20poly1305", "sealbatch", size, "4", v).MatchString(out) {
				t.Errorf("no sealbatch %s row for %s:\n%s", size, v, out)
			}
		}
		if !row("xchacha20poly1305", "xseal", "64", "-", v).MatchString(out) {
			t.Errorf("no xseal row for %s:\n%s", v, out)
		}
	}

	var rep report
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if want := 7 * len(variants); len(rep.Results) != want {
		t.Errorf("JSON has %d results, want %d", len(rep.Results), want)
	}
	for _, r := range rep.Results {
		if r.NsPerOp <= 0 || r.Ratio <= 0 || r.N <= 0 || r.GBPerSec <= 0 {
			t.Errorf("incomplete result %+v", r)
		}
	}
	b, err = os.ReadFile(svgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(b, new(struct{})); err != nil || bytes.Count(b, []byte("<polyline")) != 2*len(variants) {
		t.Errorf("bad SVG (%v):\n%s", err, b)
	}

	// The benchtime setting is put back.
	if got := flag.Lookup("test.benchtime").Value.String(); got == "1ms" {
		t.Errorf("test.benchtime left at %s", got)
	}
}

func TestHandshakeCommand(t *testing.T) {
	dir := t.TempDir()
	jsonPath := filepath.Join(dir, "h.json")
	out, errs, st := runCmd(t, "handshake", "--benchtime", "1ms", "--responders", "32", "--cpus", "1,2", "--json", jsonPath)
	if st != 0 {
		t.Fatalf("status %d\nstderr: %s\nstdout: %s", st, errs, out)
	}
	rows := []*regexp.Regexp{
		row("handshake", "full", "-", "-", "wgxdp"),
		row("handshake", "full", "-", "-", "wireguard-go"),
	}
	for _, op := range []string{"shared-secret", "public-key"} {
		for _, v := range []string{"wgxdp", "crypto/ecdh", "x/crypto"} {
			rows = append(rows, row("x25519", op, "-", "-", v))
		}
	}
	for _, size := range []string{"32", "64", "1024", "8192"} {
		for _, v := range []string{"wgxdp", "x/crypto"} {
			rows = append(rows, row("blake2s-256", "sum", size, "-", v))
		}
	}
	for _, v := range []string{"wgxdp", "crypto/hmac+x/crypto"} {
		rows = append(rows, row("hmac-blake2s", "mac", "64", "-", v))
	}
	for _, v := range []string{"wgxdp", "x/crypto"} {
		rows = append(rows, row("mac1", "check", "116", "16", v))
	}
	for _, re := range rows {
		if !re.MatchString(out) {
			t.Errorf("no row matching %s:\n%s", re, out)
		}
	}
	if !regexp.MustCompile(`(?m)^handshakes/s per core: wgxdp [0-9]+, wireguard-go [0-9]+; ratio [0-9.]+x$`).MatchString(out) {
		t.Errorf("no handshakes/s line:\n%s", out)
	}
	if !strings.Contains(out, "by the benchmark thread's CPU time") {
		t.Errorf("no thread CPU time table:\n%s", out)
	}
	// The scaling table: variant, n, handshakes/s, speed-up, cores busy,
	// CPU µs per handshake; the speed-up of the first n is 1 by definition.
	for _, v := range []string{"wgxdp", "wireguard-go"} {
		for _, n := range []string{"1", "2"} {
			re := regexp.MustCompile(`(?m)^ *` + regexp.QuoteMeta(v) + ` +` + n + ` +[0-9]+ +[0-9.]+x +[0-9.]+ +[0-9]+ *$`)
			if !re.MatchString(out) {
				t.Errorf("no scaling row for %s on %s goroutines:\n%s", v, n, out)
			}
		}
		if !regexp.MustCompile(`(?m)^ *` + regexp.QuoteMeta(v) + ` +1 +[0-9]+ +1\.00x `).MatchString(out) {
			t.Errorf("the speed-up of %s on 1 goroutine is not 1.00x:\n%s", v, out)
		}
	}
	var rep report
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if v := rep.Extra["thread_cpu_ns_per_op/x25519/shared-secret/0/wgxdp"]; v == "" {
		t.Errorf("JSON lacks the thread CPU time of x25519 shared-secret: %v", rep.Extra)
	}
	par := 0
	for _, r := range rep.Results {
		if r.Group == "handshake-parallel" {
			par++
			if r.NsPerOp <= 0 || r.Ratio <= 0 || r.AllocsPerOp < 0 {
				t.Errorf("incomplete result %+v", r)
			}
		}
	}
	if par != 4 {
		t.Errorf("JSON has %d handshake-parallel results, want 4", par)
	}
	// --cpus none leaves the table out.
	out, errs, st = runCmd(t, "handshake", "--benchtime", "1x", "--responders", "4", "--cpus", "none")
	if st != 0 || strings.Contains(out, "goroutines at once") {
		t.Errorf("--cpus none: status %d\nstderr: %s\nstdout: %s", st, errs, out)
	}
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		status int
		want   string // in stdout+stderr
	}{
		{nil, 2, "usage: wgxdp-bench COMMAND"},
		{[]string{"frobnicate"}, 2, `no command "frobnicate"`},
		{[]string{"help"}, 0, "usage: wgxdp-bench COMMAND"},
		{[]string{"help", "crypto"}, 0, "-sizes"},
		{[]string{"help", "handshake"}, 0, "-responders"},
		{[]string{"help", "nope"}, 2, `no command "nope"`},
		{[]string{"crypto", "-h"}, 0, "-batch"},
		{[]string{"crypto", "--sizes", "64,zero"}, 2, "bad size"},
		{[]string{"crypto", "--sizes", "0"}, 2, "bad size"},
		{[]string{"crypto", "--batch", "0"}, 2, "bad --batch"},
		{[]string{"crypto", "--benchtime", "-1s"}, 2, "bad --benchtime"},
		{[]string{"crypto", "--benchtime", "0x"}, 2, "bad --benchtime"},
		{[]string{"crypto", "--nope"}, 2, "flag provided but not defined"},
		{[]string{"crypto", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"handshake", "--responders", "0"}, 2, "bad --responders"},
		{[]string{"handshake", "--benchtime", "soon"}, 2, "bad --benchtime"},
		{[]string{"handshake", "--cpus", "1,zero"}, 2, "bad --cpus"},
		{[]string{"handshake", "--cpus", "0"}, 2, "bad --cpus"},
	} {
		out, errs, st := runCmd(t, tc.args...)
		if st != tc.status || !strings.Contains(out+errs, tc.want) {
			t.Errorf("%q: status %d, output:\n%s%s\nwant status %d and %q", tc.args, st, out, errs, tc.status, tc.want)
		}
	}
}
