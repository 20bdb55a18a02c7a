package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/device"
	"github.com/wgxdp/wgxdp/internal/netns"
	"github.com/wgxdp/wgxdp/xdp"
)

func TestXDPFromArgs(t *testing.T) {
	lo := loopbackName(t)
	tests := []struct {
		c             command
		env, envMode  string
		envCsum       string
		envTx         string
		want          xdpConfig
		wantErrSubstr string
	}{
		{want: xdpConfig{mode: xdp.ModeAuto}},
		{env: lo, want: xdpConfig{ifnames: []string{lo}, mode: xdp.ModeAuto}},
		{env: lo, envMode: "generic", want: xdpConfig{ifnames: []string{lo}, mode: xdp.ModeGeneric}},
		{c: command{xdp: lo, xdpSet: true, xdpMode: "Native"}, envMode: "generic", want: xdpConfig{ifnames: []string{lo}, mode: xdp.ModeNative}},
		// --xdp= overrides the environment.
		{c: command{xdpSet: true}, env: lo, want: xdpConfig{mode: xdp.ModeAuto}},
		{c: command{xdp: " " + lo + " , " + lo + ",", xdpSet: true}, want: xdpConfig{ifnames: []string{lo}, mode: xdp.ModeAuto}},
		{c: command{xdp: lo + ",nosuchif0", xdpSet: true}, wantErrSubstr: "interface nosuchif0"},
		{env: lo, envMode: "turbo", wantErrSubstr: `WGXDP_XDP_MODE="turbo"`},
		{env: lo, envCsum: "0", want: xdpConfig{ifnames: []string{lo}, mode: xdp.ModeAuto, swCsum: true}},
		{env: lo, envCsum: "off", want: xdpConfig{ifnames: []string{lo}, mode: xdp.ModeAuto, swCsum: true}},
		{env: lo, envCsum: "yes", want: xdpConfig{ifnames: []string{lo}, mode: xdp.ModeAuto}},
		{env: lo, envCsum: "maybe", wantErrSubstr: `WGXDP_XDP_TX_CSUM="maybe"`},
		{env: lo, envTx: "Auto", want: xdpConfig{ifnames: []string{lo}, mode: xdp.ModeAuto, txMode: xdp.TxAuto}},
		{env: lo, envTx: "socket", want: xdpConfig{ifnames: []string{lo}, mode: xdp.ModeAuto, txMode: xdp.TxSocket}},
		{env: lo, envTx: "ring", wantErrSubstr: `WGXDP_XDP_TX="ring"`},
		{c: command{xdpMode: "zerocopy"}, wantErrSubstr: `--xdp-mode="zerocopy"`},
		{env: "nosuchif0", wantErrSubstr: "WGXDP_XDP=\"nosuchif0\": interface nosuchif0"},
		{c: command{xdp: "a/b", xdpSet: true}, wantErrSubstr: "--xdp"},
	}
	for _, tt := range tests {
		t.Setenv(envXDP, tt.env)
		t.Setenv(envXDPMode, tt.envMode)
		t.Setenv(envXDPTxCsum, tt.envCsum)
		t.Setenv(envXDPTx, tt.envTx)
		got, err := xdpFromArgs(tt.c)
		if tt.wantErrSubstr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErrSubstr) {
				t.Errorf("xdpFromArgs(%+v) with %s=%q %s=%q: %v, want an error containing %q",
					tt.c, envXDP, tt.env, envXDPMode, tt.envMode, err, tt.wantErrSubstr)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("xdpFromArgs(%+v) with %s=%q %s=%q = %+v, %v; want %+v",
				tt.c, envXDP, tt.env, envXDPMode, tt.envMode, got, err, tt.want)
		}
	}
}

func loopbackName(t *testing.T) string {
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			return i.Name
		}
	}
	t.Skip("no loopback interface")
	return ""
}

// logLines is a device.Logger that keeps what it is told.
type logLines struct {
	mu            sync.Mutex
	verbose, errs []string
}

func (l *logLines) logger() *device.Logger {
	add := func(dst *[]string) func(string, ...any) {
		return func(format string, args ...any) {
			l.mu.Lock()
			defer l.mu.Unlock()
			*dst = append(*dst, fmt.Sprintf(format, args...))
		}
	}
	return &device.Logger{Verbosef: add(&l.verbose), Errorf: add(&l.errs)}
}

// TestXDPBindFallback opens the Bind on the loopback interface, which has
// no Ethernet header, so xdp.Bind's Open fails with ErrNotSupported (with
// or without root): it must switch to UDP sockets, for good, saying so in
// one error line.
func TestXDPBindFallback(t *testing.T) {
	var log logLines
	bind, xb, err := newOuterBind(xdpConfig{ifnames: []string{loopbackName(t)}, mode: xdp.ModeAuto}, log.logger())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		fns, port, err := bind.Open(0)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if len(fns) == 0 || port == 0 {
			t.Errorf("Open = %d receive functions, port %d", len(fns), port)
		}
		if err := bind.SetMark(0); err != nil {
			t.Errorf("SetMark: %v", err)
		}
		if err := bind.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	if !xb.fellBack.Load() {
		t.Error("not fallen back to UDP sockets")
	}
	if len(log.errs) != 1 || !strings.Contains(log.errs[0], "AF_XDP on lo is not available, using UDP sockets") {
		t.Errorf("error log %q, want one line about the fallback", log.errs)
	}
	xb.logStats()
	if s := strings.Join(log.verbose, "\n"); !strings.Contains(s, "through UDP sockets") {
		t.Errorf("verbose log does not say which path is in use:\n%s", s)
	}
}

// TestDaemonXDPFallback runs the daemon with --xdp on the namespace's
// loopback interface: it must start, say once at error level that it uses
// UDP sockets, and serve.
func TestDaemonXDPFallback(t *testing.T) {
	bin := daemonEnv(t)
	ns, ifname := newNetns(t), newIfname(t)
	logf := filepath.Join(t.TempDir(), "log")
	f, err := os.Create(logf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command("ip", "netns", "exec", ns, bin, "--xdp=lo", "-f", ifname)
	cmd.Env = append(os.Environ(), "LOG_LEVEL=verbose")
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cmd.Process.Signal(syscall.SIGTERM)
			<-exited
		}
	}
	defer stop()
	for i := 0; ; i++ {
		if _, err := inNetns(ns, "wg", "show", ifname); err == nil {
			break
		}
		if i == 250 {
			t.Fatalf("daemon not serving:\n%s", readFile(logf))
		}
		if !running(cmd.Process.Pid) {
			t.Fatalf("daemon exited:\n%s", readFile(logf))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := inNetns(ns, "wg", "set", ifname, "listen-port", "51998"); err != nil {
		t.Fatal(err)
	}
	stop()
	log := readFile(logf)
	if n := strings.Count(log, "ERROR:"); n != 1 || !strings.Contains(log, "AF_XDP on lo is not available, using UDP sockets instead") {
		t.Errorf("want exactly one ERROR line, about the fallback; log:\n%s", log)
	}
	if !strings.Contains(log, "UDP port 51998 through UDP sockets") {
		t.Errorf("the verbose log does not say which path carries port 51998:\n%s", log)
	}
}

// TestXDPBindLogsOnce opens the Bind on a veth twice, as the device does
// at Up and on `wg setconf` with a listen port: the port is logged at each
// open, what the interface is (mode, queues, checksums) only at the first.
func TestXDPBindLogsOnce(t *testing.T) {
	if err := netns.Available(); err != nil {
		t.Skip(err)
	}
	a, err := netns.New("wgxdpknobs")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := netns.New("wgxdpknobs")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	v, err := netns.NewVeth(a, b)
	if err != nil {
		t.Fatal(err)
	}
	var log logLines
	var xb *xdpBind
	err = a.Do(func() error {
		bind, x, err := newOuterBind(xdpConfig{ifnames: []string{v.NameA}, mode: xdp.ModeAuto}, log.logger())
		if err != nil {
			return err
		}
		xb = x
		for _, port := range []uint16{0, 51997} {
			if _, _, err := bind.Open(port); err != nil {
				return err
			}
			if err := bind.Close(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if xb.fellBack.Load() {
		t.Skipf("AF_XDP not available on veth here: %q", log.errs)
	}
	all := strings.Join(log.verbose, "\n")
	for line, want := range map[string]int{
		"through AF_XDP on " + v.NameA + " (": 2, // once per open
		"UDP port 51997 through AF_XDP":       1,
	} {
		if n := strings.Count(all, line); n != want {
			t.Errorf("%q logged %d times, want %d:\n%s", line, n, want, all)
		}
	}
	// Only where the kernel takes AF_XDP TX metadata (Linux 6.8+).
	if n := strings.Count(all, "UDP checksums on"); n > 1 {
		t.Errorf("checksum line logged %d times:\n%s", n, all)
	}
}
