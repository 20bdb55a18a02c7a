package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/fqcodel"
	"github.com/wgxdp/wgxdp/uapi"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args []string
		want command
		bad  bool
	}{
		{args: []string{"wgxdp", "--version"}, want: command{version: true}},
		{args: []string{"wgxdp", "-h"}, want: command{help: true}},
		{args: []string{"wgxdp", "--help"}, want: command{help: true}},
		{args: []string{"wgxdp", "wg0"}, want: command{ifname: "wg0"}},
		{args: []string{"wgxdp", "-f", "wg0"}, want: command{foreground: true, ifname: "wg0"}},
		{args: []string{"wgxdp", "--foreground", "wg0"}, want: command{foreground: true, ifname: "wg0"}},
		// A name that looks like an option is one only where wireguard-go
		// would take it for a name too.
		{args: []string{"wgxdp", "-f", "--version"}, bad: true},
		{args: []string{"wgxdp"}, bad: true},
		{args: []string{"wgxdp", "-f"}, bad: true},
		{args: []string{"wgxdp", "--foreground"}, bad: true},
		{args: []string{"wgxdp", "wg0", "-f"}, bad: true},
		{args: []string{"wgxdp", "wg0", "wg1"}, bad: true},
		{args: []string{"wgxdp", "-f", "wg0", "x"}, bad: true},
		{args: []string{"wgxdp", "--version", "x"}, bad: true},
		{args: []string{"wgxdp", "-x"}, bad: true},
		// wgxdp's own options, anywhere before the interface name.
		{args: []string{"wgxdp", "--xdp=eth0", "wg0"}, want: command{ifname: "wg0", xdp: "eth0", xdpSet: true}},
		{args: []string{"wgxdp", "--xdp", "eth0", "-f", "wg0"}, want: command{foreground: true, ifname: "wg0", xdp: "eth0", xdpSet: true}},
		{args: []string{"wgxdp", "-f", "--xdp=eth0,eth1", "--xdp-mode=native", "wg0"},
			want: command{foreground: true, ifname: "wg0", xdp: "eth0,eth1", xdpSet: true, xdpMode: "native"}},
		{args: []string{"wgxdp", "--xdp-mode", "generic", "--foreground", "wg0"}, want: command{foreground: true, ifname: "wg0", xdpMode: "generic"}},
		{args: []string{"wgxdp", "--xdp=", "wg0"}, want: command{ifname: "wg0", xdpSet: true}},
		{args: []string{"wgxdp", "--xdp=eth0"}, bad: true},
		{args: []string{"wgxdp", "--xdp", "wg0"}, bad: true},
		{args: []string{"wgxdp", "wg0", "--xdp=eth0"}, bad: true},
		{args: []string{"wgxdp", "--xdp-mode=native", "-f"}, bad: true},
		{args: []string{"wgxdp", "-f=1", "wg0"}, bad: true},
		{args: []string{"wgxdp", "--xdpx=eth0", "wg0"}, bad: true},
	}
	for _, tt := range tests {
		got := parseArgs(tt.args)
		if tt.bad {
			if got.usage == nil {
				t.Errorf("parseArgs(%q) = %+v, want a usage error", tt.args, got)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("parseArgs(%q) = %+v, want %+v", tt.args, got, tt.want)
		}
	}
}

func TestValidIfname(t *testing.T) {
	for _, name := range []string{"wg0", "a", "123456789012345", "wg%d", "wg-home_1.x"} {
		if err := validIfname(name); err != nil {
			t.Errorf("validIfname(%q) = %v, want nil", name, err)
		}
	}
	for _, name := range []string{"", "1234567890123456", ".", "..", "wg/0", "wg:0", "wg 0", "wg\t0", "wg\x000"} {
		if err := validIfname(name); err == nil {
			t.Errorf("validIfname(%q) = nil, want an error", name)
		}
	}
}

// TestRunWithoutInterface covers what run does before it touches the
// system: it needs no root.
func TestRunWithoutInterface(t *testing.T) {
	t.Setenv(envLogLevel, "")
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"wgxdp", "--version"}, 0, "wgxdp v" + Version + "\n"},
		{[]string{"wgxdp", "--help"}, 0, "Usage: wgxdp [-f/--foreground] [--xdp=IFACE[,IFACE...]] [--xdp-mode=MODE] INTERFACE-NAME\n"},
		// wireguard-go exits 0 after printing the usage.
		{[]string{"wgxdp"}, 0, "Usage: wgxdp [-f/--foreground] [--xdp=IFACE[,IFACE...]] [--xdp-mode=MODE] INTERFACE-NAME\n"},
		{[]string{"wgxdp", "--xdp=eth0"}, 0, "Usage: "},
		{[]string{"wgxdp", "--xdp-mode=fast", "wg0"}, 1, "want auto, native or generic"},
		{[]string{"wgxdp", "--xdp=nosuchif0", "wg0"}, 1, "interface nosuchif0"},
		{[]string{"wgxdp", "a", "b"}, 0, "Usage: "},
		{[]string{"wgxdp", "-f", "0123456789abcdef"}, 1, "longer than 15 bytes"},
		{[]string{"wgxdp", "wg/0"}, 1, "Invalid interface name"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		code := run(tt.args, &out)
		if code != tt.code || !strings.Contains(out.String(), tt.out) {
			t.Errorf("run(%q) = %d, %q; want %d and output containing %q", tt.args, code, out.String(), tt.code, tt.out)
		}
	}
	var out bytes.Buffer
	t.Setenv(envLogLevel, "silent")
	if code := run([]string{"wgxdp", "wg/0"}, &out); code != 1 || out.Len() != 0 {
		t.Errorf("LOG_LEVEL=silent: run = %d, %q; want 1 and no output", code, out.String())
	}
}

func TestChildEnv(t *testing.T) {
	got := childEnv([]string{"PATH=/bin", "WG_TUN_FD=7", "LOG_LEVEL=verbose", "WG_UAPI_FD=8", "WGXDP_READY_FD=9", "WG_PROCESS_FOREGROUND=0"})
	want := []string{"PATH=/bin", "LOG_LEVEL=verbose", "WG_TUN_FD=3", "WG_UAPI_FD=4", "WG_PROCESS_FOREGROUND=1", "WGXDP_READY_FD=5"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("childEnv = %q, want %q", got, want)
	}
}

// The tests below run the real daemon in network namespaces they create.

// daemonEnv prepares a root test: it skips without root or tools, and
// builds the daemon.
func daemonEnv(t *testing.T) (bin string) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping the daemon tests in -short mode")
	}
	if os.Geteuid() != 0 {
		t.Skip("skipping: the daemon tests need root (TUN devices and network namespaces)")
	}
	for _, tool := range []string{"ip", "wg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s not found (make deps installs it)", tool)
		}
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	bin = filepath.Join(t.TempDir(), "wgxdp")
	if out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func randHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// newNetns creates a network namespace that is deleted when the test ends.
func newNetns(t *testing.T) string {
	t.Helper()
	ns := "wgxdptest" + randHex(t, 4)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", ns, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", ns, err, out)
		}
	})
	return ns
}

// newIfname returns an interface name no other test run uses: the socket
// directory is shared by all namespaces.
func newIfname(t *testing.T) string {
	name := "wgt" + randHex(t, 4)
	t.Cleanup(func() { os.Remove(uapi.SocketPath(name)) })
	return name
}

// inNetns runs a command in ns and returns its combined output.
func inNetns(ns string, args ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

var daemonPID = regexp.MustCompile(`Daemon started \(pid (\d+)\)`)

// startDaemon runs `wgxdp IFNAME` in ns, checks that it returned only once
// the interface and the socket were there, and returns the daemon's pid. The
// daemon is killed when the test ends, if it still runs.
func startDaemon(t *testing.T, bin, ns, ifname string) (pid int, logf string) {
	t.Helper()
	logf = filepath.Join(t.TempDir(), "log")
	f, err := os.Create(logf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command("ip", "netns", "exec", ns, bin, ifname)
	cmd.Env = append(os.Environ(), "LOG_LEVEL=verbose", "WG_PROCESS_FOREGROUND=")
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Run(); err != nil {
		t.Fatalf("wgxdp %s: %v\n%s", ifname, err, readFile(logf))
	}
	// No waiting: both must exist when the parent has returned.
	if _, err := inNetns(ns, "ip", "link", "show", "dev", ifname); err != nil {
		t.Errorf("interface missing after wgxdp returned: %v", err)
	}
	if fi, err := os.Stat(uapi.SocketPath(ifname)); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("socket missing after wgxdp returned: %v", err)
	}
	m := daemonPID.FindStringSubmatch(readFile(logf))
	if m == nil {
		t.Fatalf("no daemon pid in the log:\n%s", readFile(logf))
	}
	pid, _ = strconv.Atoi(m[1])
	t.Cleanup(func() {
		if running(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return pid, logf
}

func readFile(name string) string {
	b, _ := os.ReadFile(name)
	return string(b)
}

// running reports whether pid is a live (not zombie) process. The daemon is
// not our child: init reaps it.
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...; comm may hold spaces and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// waitStopped waits for the daemon to exit and checks that it took its
// socket and interface with it.
func waitStopped(t *testing.T, pid int, ns, ifname, logf string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for running(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("daemon %d still running after 5s\n%s", pid, readFile(logf))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Lstat(uapi.SocketPath(ifname)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket still there after the daemon stopped: %v", err)
	}
	if out, err := inNetns(ns, "ip", "link", "show", "dev", ifname); err == nil {
		t.Errorf("interface still there after the daemon stopped:\n%s", out)
	}
	if t.Failed() {
		t.Logf("daemon log:\n%s", readFile(logf))
	}
}

func TestDaemon(t *testing.T) {
	bin := daemonEnv(t)

	t.Run("ConfigureThenSIGTERM", func(t *testing.T) {
		ns, ifname := newNetns(t), newIfname(t)
		pid, logf := startDaemon(t, bin, ns, ifname)
		if out, err := inNetns(ns, "wg", "show", ifname); err != nil || !strings.Contains(out, "interface: "+ifname) {
			t.Fatalf("wg show: %v\n%s", err, out)
		}

		key, err := exec.Command("wg", "genkey").Output()
		if err != nil {
			t.Fatalf("wg genkey: %v", err)
		}
		keyFile := filepath.Join(t.TempDir(), "key")
		if err := os.WriteFile(keyFile, key, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("wg", "pubkey")
		cmd.Stdin = bytes.NewReader(key)
		pub, err := cmd.Output()
		if err != nil {
			t.Fatalf("wg pubkey: %v", err)
		}
		if _, err := inNetns(ns, "wg", "set", ifname, "private-key", keyFile, "listen-port", "51999"); err != nil {
			t.Fatalf("wg set: %v", err)
		}
		out, err := inNetns(ns, "wg", "show", ifname, "dump")
		if err != nil {
			t.Fatalf("wg show dump: %v", err)
		}
		fields := strings.Fields(strings.SplitN(out, "\n", 2)[0])
		want := []string{strings.TrimSpace(string(key)), strings.TrimSpace(string(pub)), "51999", "off"}
		if fmt.Sprint(fields) != fmt.Sprint(want) {
			t.Errorf("wg show dump: first line %q, want %q", fields, want)
		}

		// A second daemon for the same name fails, and leaves the first
		// alone: in the same namespace on the interface, in another one on
		// the socket.
		for _, ns2 := range []string{ns, newNetns(t)} {
			cmd := exec.Command("ip", "netns", "exec", ns2, bin, ifname)
			cmd.Env = append(os.Environ(), "LOG_LEVEL=", "WG_PROCESS_FOREGROUND=")
			out, err := cmd.CombinedOutput()
			if err == nil || cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), "ERROR") {
				t.Errorf("second wgxdp %s in %s: %v, want exit 1 with an error\n%s", ifname, ns2, err, out)
			}
		}
		if _, err := inNetns(ns, "wg", "show", ifname); err != nil {
			t.Errorf("first daemon hurt by the second: %v", err)
		}

		// SIGUSR1: the counters, a line for the device and one per peer.
		if _, err := inNetns(ns, "wg", "set", ifname, "peer", "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=", "allowed-ips", "10.9.9.9/32"); err != nil {
			t.Fatalf("wg set peer: %v", err)
		}
		if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(readFile(logf), "stats: peer(xTIB") {
			if time.Now().After(deadline) {
				t.Fatalf("no counters in the log after SIGUSR1:\n%s", readFile(logf))
			}
			time.Sleep(20 * time.Millisecond)
		}
		if log := readFile(logf); !strings.Contains(log, "INFO: ("+ifname+") ") || !strings.Contains(log, "stats: device: ") {
			t.Errorf("SIGUSR1 report not as documented:\n%s", log)
		}

		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		waitStopped(t, pid, ns, ifname, logf)
	})

	t.Run("LinkDeleted", func(t *testing.T) {
		ns, ifname := newNetns(t), newIfname(t)
		pid, logf := startDaemon(t, bin, ns, ifname)
		if _, err := inNetns(ns, "ip", "link", "del", "dev", ifname); err != nil {
			t.Fatal(err)
		}
		waitStopped(t, pid, ns, ifname, logf)
	})

	t.Run("SocketRemoved", func(t *testing.T) {
		ns, ifname := newNetns(t), newIfname(t)
		pid, logf := startDaemon(t, bin, ns, ifname)
		if err := os.Remove(uapi.SocketPath(ifname)); err != nil {
			t.Fatal(err)
		}
		waitStopped(t, pid, ns, ifname, logf)
	})

	t.Run("ForegroundSIGINT", func(t *testing.T) {
		ns, ifname := newNetns(t), newIfname(t)
		logf := filepath.Join(t.TempDir(), "log")
		f, err := os.Create(logf)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		// ip netns exec execs the daemon, so the pid is the daemon's.
		cmd := exec.Command("ip", "netns", "exec", ns, bin, "-f", ifname)
		cmd.Env = append(os.Environ(), "LOG_LEVEL=verbose")
		cmd.Stdout, cmd.Stderr = f, f
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var waitErr error
		exited := make(chan struct{})
		go func() { waitErr = cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			select {
			case <-exited:
			default:
				cmd.Process.Kill()
				<-exited
			}
		})
		deadline := time.Now().Add(5 * time.Second)
		for {
			if out, err := inNetns(ns, "wg", "show", ifname); err == nil && strings.Contains(out, "listening port") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("foreground daemon not serving after 5s\n%s", readFile(logf))
			}
			time.Sleep(20 * time.Millisecond)
		}
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
			if waitErr != nil {
				t.Errorf("wgxdp -f after SIGINT: %v\n%s", waitErr, readFile(logf))
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("wgxdp -f still running 5s after SIGINT\n%s", readFile(logf))
		}
		waitStopped(t, cmd.Process.Pid, ns, ifname, logf)
	})
}

// knobs are the WGXDP_* variables settingsFromEnv and startProfile read.
var knobs = []string{
	"WGXDP_QDISC", "WGXDP_FQ_TARGET", "WGXDP_FQ_INTERVAL", "WGXDP_FQ_ECN", "WGXDP_FQ_LIMIT",
	"WGXDP_EGRESS_SLOTS", "WGXDP_CPUPROFILE", "WGXDP_CPU", "WGXDP_RT",
	"WGXDP_TUN_QUEUES", "WGXDP_TUN_EXPRESS", "WGXDP_TUN_OFFLOAD",
	"WGXDP_UDP_BUFFER", "WGXDP_UDP_SNDBUF", "WGXDP_UDP_GSO", "WGXDP_UDP_GRO", "WGXDP_UDP_PRIORITY",
}

func clearKnobs(t *testing.T) {
	for _, k := range knobs {
		t.Setenv(k, "")
	}
}

func TestEgressFromEnv(t *testing.T) {
	clearKnobs(t)
	t.Setenv("WGXDP_QDISC", "fifo")
	t.Setenv("WGXDP_FQ_TARGET", "2ms")
	t.Setenv("WGXDP_EGRESS_SLOTS", "4096")
	c, slots, err := egressFromEnv()
	if err != nil || c.Mode != fqcodel.ModeFIFO || c.Target != 2*time.Millisecond || slots != 4096 {
		t.Fatalf("got %+v %d %v", c, slots, err)
	}
}

// TestSettingsFromEnv checks that every knob refuses a bad value with an
// error that names it, and takes the good ones.
func TestSettingsFromEnv(t *testing.T) {
	tests := []struct {
		env  [][2]string
		want string // "" to accept; else a substring of the error
	}{
		// Good values.
		{nil, ""},
		{[][2]string{{"WGXDP_QDISC", "FIFO"}, {"WGXDP_FQ_TARGET", "2ms"}, {"WGXDP_FQ_INTERVAL", "50ms"}, {"WGXDP_FQ_ECN", "off"}}, ""},
		{[][2]string{{"WGXDP_FQ_ECN", "yes"}}, ""},
		{[][2]string{{"WGXDP_FQ_LIMIT", "4096"}}, ""},
		{[][2]string{{"WGXDP_FQ_LIMIT", "5000"}, {"WGXDP_EGRESS_SLOTS", "8192"}}, ""},
		{[][2]string{{"WGXDP_CPU", "generic"}}, ""},
		{[][2]string{{"WGXDP_CPU", "auto"}}, ""},
		{[][2]string{{"WGXDP_RT", "0"}}, ""},
		{[][2]string{{"WGXDP_RT", "on"}}, ""},
		{[][2]string{{"WGXDP_TUN_QUEUES", "4"}}, ""},
		{[][2]string{{"WGXDP_TUN_QUEUES", "100000"}}, ""}, // cut, with a note
		{[][2]string{{"WGXDP_TUN_EXPRESS", "0"}, {"WGXDP_TUN_OFFLOAD", "false"}}, ""},
		{[][2]string{{"WGXDP_UDP_BUFFER", "7M"}, {"WGXDP_UDP_SNDBUF", "16K"}, {"WGXDP_UDP_GSO", "no"}, {"WGXDP_UDP_GRO", "1"}}, ""},
		{[][2]string{{"WGXDP_UDP_PRIORITY", "0"}}, ""},
		{[][2]string{{"WGXDP_UDP_PRIORITY", "512"}}, ""},

		// Bad values that were always refused.
		{[][2]string{{"WGXDP_QDISC", "bogus"}}, `WGXDP_QDISC="bogus"`},
		{[][2]string{{"WGXDP_FQ_TARGET", "soon"}}, `WGXDP_FQ_TARGET="soon"`},
		{[][2]string{{"WGXDP_FQ_ECN", "maybe"}}, `WGXDP_FQ_ECN="maybe"`},
		{[][2]string{{"WGXDP_FQ_LIMIT", "-1"}}, `WGXDP_FQ_LIMIT="-1"`},
		{[][2]string{{"WGXDP_EGRESS_SLOTS", "0"}}, `WGXDP_EGRESS_SLOTS="0"`},
		{[][2]string{{"WGXDP_EGRESS_SLOTS", "64"}}, "WGXDP_EGRESS_SLOTS=64: fewer than one batch"},

		// Bad values that used to be taken silently.
		{[][2]string{{"WGXDP_RT", "maybe"}}, `WGXDP_RT="maybe"`},
		{[][2]string{{"WGXDP_CPU", "bogus"}}, `WGXDP_CPU="bogus"`},
		{[][2]string{{"WGXDP_TUN_QUEUES", "abc"}}, `WGXDP_TUN_QUEUES="abc"`},
		{[][2]string{{"WGXDP_TUN_QUEUES", "0"}}, `WGXDP_TUN_QUEUES="0"`},
		{[][2]string{{"WGXDP_UDP_BUFFER", "xyz"}}, `WGXDP_UDP_BUFFER="xyz"`},
		{[][2]string{{"WGXDP_UDP_SNDBUF", "abc"}}, `WGXDP_UDP_SNDBUF="abc"`},
		{[][2]string{{"WGXDP_UDP_GSO", "maybe"}}, `WGXDP_UDP_GSO="maybe"`},
		{[][2]string{{"WGXDP_UDP_GRO", "maybe"}}, `WGXDP_UDP_GRO="maybe"`},
		{[][2]string{{"WGXDP_TUN_EXPRESS", "maybe"}}, `WGXDP_TUN_EXPRESS="maybe"`},
		{[][2]string{{"WGXDP_TUN_OFFLOAD", "2"}}, `WGXDP_TUN_OFFLOAD="2"`},
		{[][2]string{{"WGXDP_UDP_PRIORITY", "-1"}}, `WGXDP_UDP_PRIORITY="-1"`},
		{[][2]string{{"WGXDP_FQ_LIMIT", "5000"}}, "WGXDP_FQ_LIMIT=5000: more than the 4096 egress slots"},
		{[][2]string{{"WGXDP_FQ_LIMIT", "3000"}, {"WGXDP_EGRESS_SLOTS", "1024"}}, "WGXDP_FQ_LIMIT=3000: more than the 1024 egress slots"},
	}
	if runtime.GOARCH == "amd64" {
		tests = append(tests, struct {
			env  [][2]string
			want string
		}{[][2]string{{"WGXDP_CPU", "neon"}}, `WGXDP_CPU="neon"`})
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.env), func(t *testing.T) {
			clearKnobs(t)
			for _, kv := range tt.env {
				t.Setenv(kv[0], kv[1])
			}
			_, err := settingsFromEnv()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("settingsFromEnv = %v, want an error containing %q", err, tt.want)
			}
		})
	}

	clearKnobs(t)
	t.Setenv("WGXDP_TUN_QUEUES", "100000")
	if s, err := settingsFromEnv(); err != nil || len(s.notes) != 1 || !strings.Contains(s.notes[0], "WGXDP_TUN_QUEUES=100000: at most 16") {
		t.Errorf("WGXDP_TUN_QUEUES=100000: notes %q, %v; want one saying it is cut to 16", s.notes, err)
	}
}

func TestStartProfile(t *testing.T) {
	t.Setenv(envCPUProfile, "/nonexistent/dir/x")
	if _, err := startProfile(false); err == nil || !strings.Contains(err.Error(), envCPUProfile) {
		t.Errorf("startProfile = %v, want an error naming %s", err, envCPUProfile)
	}
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	t.Setenv(envCPUProfile, path)
	stop, err := startProfile(true)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Errorf("profile %s: %v", path, err)
	}
}

// TestRunBadSetting checks that run refuses a bad knob with one error line
// and exit status 1 before it creates anything: it needs no root.
func TestRunBadSetting(t *testing.T) {
	t.Setenv(envLogLevel, "")
	for _, kv := range [][2]string{
		{"WGXDP_RT", "maybe"}, {"WGXDP_TUN_QUEUES", "abc"}, {"WGXDP_UDP_BUFFER", "xyz"},
		{"WGXDP_CPU", "bogus"}, {"WGXDP_CPUPROFILE", "/nonexistent/dir/x"}, {"WGXDP_QDISC", "bogus"},
	} {
		t.Run(kv[0], func(t *testing.T) {
			clearKnobs(t)
			t.Setenv(kv[0], kv[1])
			for _, args := range [][]string{{"wgxdp", "-f", "wgnosuch0"}, {"wgxdp", "wgnosuch0"}} {
				var out bytes.Buffer
				code := run(args, &out)
				if code != 1 || strings.Count(out.String(), "\n") != 1 || !strings.Contains(out.String(), "ERROR: (wgnosuch0) ") ||
					!strings.Contains(out.String(), kv[0]+"=") {
					t.Errorf("run(%q) = %d, %q; want 1 and one error line naming %s", args, code, out.String(), kv[0])
				}
			}
		})
	}
}

// TestHelpListsKnobs keeps --help's list of knobs in step with the ones
// the daemon checks.
func TestHelpListsKnobs(t *testing.T) {
	var out bytes.Buffer
	printUsage(&out, "wgxdp")
	for _, k := range append(knobs, envXDP, envXDPMode, envXDPTx, envXDPTxCsum) {
		if !strings.Contains(out.String(), k+",") && !strings.Contains(out.String(), k+".") {
			t.Errorf("--help does not list %s", k)
		}
	}
}
