package interop

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/internal/netns"
)

// TestWgQuick brings wgxdp up and down with wg-quick as its userspace
// implementation (WG_QUICK_USERSPACE_IMPLEMENTATION), in namespace A, with
// wireguard-go configured by wg in B as the peer. Down must leave nothing
// behind: no interface, no socket, no daemon.
func TestWgQuick(t *testing.T) {
	bin := binary(t, implWgxdp)
	binary(t, implWireguardGo)
	if _, err := exec.LookPath("wg-quick"); err != nil {
		t.Skip("needs wg-quick (wireguard-tools; scripts/deps.sh installs it)")
	}
	a, b := newPair(t, implWgxdp, implWireguardGo)
	startDaemon(t, b)
	configureSet(t, b, a, netip.AddrPort{}) // B learns A's endpoint
	up(t, b)

	// The config: no DNS (wg-quick would call resolvconf) and narrow
	// AllowedIPs (0/0 would add policy rules).
	dir := t.TempDir()
	conf := filepath.Join(dir, a.iface+".conf")
	text := fmt.Sprintf("[Interface]\nAddress = %s, %s\nPrivateKey = %s\nListenPort = %d\n\n"+
		"[Peer]\nPublicKey = %s\nAllowedIPs = %s/32, %s/128\nEndpoint = %s\n",
		a.in4, a.in6, a.key, a.port, b.pub(), b.in4.Addr(), b.in6.Addr(), endpointOf(b, false))
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	rulesBefore := a.run(t, "ip", "rule") + a.run(t, "ip", "-6", "rule")

	logPath := filepath.Join(dir, "wg-quick.log")
	wgQuick := func(op string) {
		t.Helper()
		t.Logf("A: WG_QUICK_USERSPACE_IMPLEMENTATION=%s wg-quick %s %s", bin, op, conf)
		if err := runLogged(a.ns, logPath, []string{"WG_QUICK_USERSPACE_IMPLEMENTATION=" + bin,
			"LOG_LEVEL=verbose", "WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1"},
			"wg-quick", op, conf); err != nil {
			t.Fatalf("wg-quick %s: %v", op, err)
		}
	}
	var pids []int
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(logPath)
			t.Logf("---- wg-quick and daemon output:\n%s", tail(string(log), 200))
			dumpNode(t, a)
		}
		// After a failure: the daemon wg-quick started is ours (our binary,
		// our interface name), so kill it by PID.
		for _, pid := range findDaemons(bin, a.iface) {
			t.Logf("cleanup: killing leftover wgxdp pid %d", pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
		os.Remove(socketPath(a.iface))
	})

	wgQuick("up")
	pids = findDaemons(bin, a.iface)
	if len(pids) != 1 {
		t.Fatalf("after wg-quick up: %d wgxdp processes for %s (%v), want 1", len(pids), a.iface, pids)
	}
	t.Logf("A: wgxdp running in the background as pid %d", pids[0])
	link := a.run(t, "ip", "link", "show", "dev", a.iface)
	if !strings.Contains(link, "mtu 1420") || !strings.Contains(link, ",UP") {
		t.Errorf("after wg-quick up: %s", link)
	}
	ping(t, a, b.in4.Addr())
	ping(t, a, b.in6.Addr())
	ping(t, b, a.in4.Addr())
	ping(t, b, a.in6.Addr())
	checkHandshake(t, a, b, time.Now().Add(-10*time.Second))
	t.Logf("A: wg show:\n%s", a.run(t, "wg", "show", a.iface))

	wgQuick("down")
	deadline := time.Now().Add(5 * time.Second)
	for {
		var left []string
		if alive(pids[0]) {
			left = append(left, "pid "+strconv.Itoa(pids[0]))
		}
		if _, err := os.Stat(socketPath(a.iface)); err == nil {
			left = append(left, socketPath(a.iface))
		}
		if _, err := a.ns.Run("ip", "link", "show", "dev", a.iface); err == nil {
			left = append(left, "interface "+a.iface)
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("5 s after wg-quick down, still there: %s", strings.Join(left, ", "))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("A: after wg-quick down: pid %d gone, socket gone, interface gone", pids[0])
	if rules := a.run(t, "ip", "rule") + a.run(t, "ip", "-6", "rule"); rules != rulesBefore {
		t.Errorf("policy rules changed:\nbefore:\n%s\nafter:\n%s", rulesBefore, rules)
	}
	for _, fam := range []string{"-4", "-6"} {
		if routes := a.run(t, "ip", fam, "route", "show", "table", "all"); strings.Contains(routes, a.iface) {
			t.Errorf("routes through %s left behind:\n%s", a.iface, routes)
		}
	}
}

// runLogged runs a command in ns with its output appended to logPath: a
// file, not a pipe, because a daemon it starts inherits the output and
// outlives it.
func runLogged(ns *netns.Namespace, logPath string, env []string, name string, args ...string) error {
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	start, _ := f.Seek(0, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := ns.Command(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Run(); err != nil {
		out, _ := os.ReadFile(logPath)
		if int(start) <= len(out) {
			out = out[start:]
		}
		return fmt.Errorf("%w: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// findDaemons returns the PIDs of running processes of bin serving iface.
func findDaemons(bin, iface string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || exe != bin {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if slices.Contains(strings.Split(string(cmdline), "\x00"), iface) && alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// "pid (comm) S ...": the state follows the last ')'.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
