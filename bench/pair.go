package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wgxdp/wgxdp/internal/netns"
)

// The tunnel's inner addresses: A's interface and B's.
var (
	InnerA = netip.MustParsePrefix("10.241.0.1/24")
	InnerB = netip.MustParsePrefix("10.241.0.2/24")
)

// ListenPort is each daemon's UDP port (each in its own namespace).
const ListenPort = 51820

// socketDir holds the daemons' UAPI sockets; it is shared by all
// namespaces, so interface names are random.
const socketDir = "/var/run/wireguard"

// Pair is a Topology with a Kind running in it: measured traffic goes from
// Client in A to Server in B, through the tunnel or, for the veth Kind,
// straight over the veth pair.
type Pair struct {
	*Topology
	Kind Kind

	Client, Server netip.Addr

	IfaceA, IfaceB   string         // tunnel interfaces; empty for veth
	DaemonA, DaemonB *netns.Process // nil for veth
	BinaryPath       string         // the daemons' binary; empty for veth

	port int // next iperf3 port
}

// StartPair builds a Topology from opts, starts kind's daemons in it in the
// foreground (one per namespace, with LOG_LEVEL=error and kind.Env),
// configures them with wg(8) from keys made by `wg genkey`, brings the
// interfaces up with the inner MTU, and waits until a ping crosses the
// tunnel, so that the handshake is done before anything is measured. The
// caller must Close the Pair; on error StartPair cleans up itself.
func StartPair(ctx context.Context, kind Kind, opts Options) (_ *Pair, err error) {
	topo, err := NewTopology(ctx, opts)
	if err != nil {
		return nil, err
	}
	p := &Pair{Topology: topo, Kind: kind, port: 5201}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if !kind.Tunnel() {
		p.Client, p.Server = OuterA.Addr(), OuterB.Addr()
		return p, nil
	}
	p.Client, p.Server = InnerA.Addr(), InnerB.Addr()
	p.BinaryPath = topo.Opts.Binaries[kind.Impl]
	if p.BinaryPath == "" {
		return nil, fmt.Errorf("%s: no binary given for %s", kind, kind.Impl)
	}
	if _, err := os.Stat(p.BinaryPath); err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	p.IfaceA, p.IfaceB = netns.RandomName("wgb", 8), netns.RandomName("wgb", 8)
	if p.DaemonA, err = p.startDaemon(ctx, p.A, p.IfaceA); err != nil {
		return nil, err
	}
	if p.DaemonB, err = p.startDaemon(ctx, p.B, p.IfaceB); err != nil {
		return nil, err
	}
	keyA, pubA, err := p.genKey(ctx, "a")
	if err != nil {
		return nil, err
	}
	keyB, pubB, err := p.genKey(ctx, "b")
	if err != nil {
		return nil, err
	}
	for _, end := range []struct {
		ns           *netns.Namespace
		iface, key   string
		peer         string
		peerEndpoint netip.Addr
		peerInner    netip.Addr
		inner        netip.Prefix
	}{
		{p.A, p.IfaceA, keyA, pubB, OuterB.Addr(), InnerB.Addr(), InnerA},
		{p.B, p.IfaceB, keyB, pubA, OuterA.Addr(), InnerA.Addr(), InnerB},
	} {
		steps := [][]string{
			{"wg", "set", end.iface, "private-key", end.key, "listen-port", strconv.Itoa(ListenPort),
				"peer", end.peer, "endpoint", netip.AddrPortFrom(end.peerEndpoint, ListenPort).String(),
				"allowed-ips", netip.PrefixFrom(end.peerInner, 32).String()},
			{"ip", "addr", "add", end.inner.String(), "dev", end.iface},
			{"ip", "link", "set", "dev", end.iface, "mtu", strconv.Itoa(topo.Opts.InnerMTU), "up"},
		}
		for _, s := range steps {
			if err := p.run(ctx, end.ns, s[0], s[1:]...); err != nil {
				return nil, fmt.Errorf("%s: %w", kind, err)
			}
		}
	}
	os.Remove(keyA) // the daemons hold the keys now
	os.Remove(keyB)
	if err := p.waitTunnel(ctx, 15*time.Second); err != nil {
		return nil, err
	}
	topo.Opts.logf("%s: tunnel up (%s in %s, %s in %s)", kind, p.IfaceA, p.A.Name, p.IfaceB, p.B.Name)
	return p, nil
}

// VethPlaceholder in a Kind's environment value stands for the veth end in
// the daemon's own namespace, whose name is random:
// "wgxdp:WGXDP_XDP=@veth" runs both daemons with AF_XDP on their veth end.
const VethPlaceholder = "@veth"

// startDaemon starts the Kind's binary in the foreground in ns serving
// iface, and waits until its UAPI socket answers.
func (p *Pair) startDaemon(ctx context.Context, ns *netns.Namespace, iface string) (*netns.Process, error) {
	veth := p.VethA
	if ns == p.B {
		veth = p.VethB
	}
	env := []string{"LOG_LEVEL=error", "WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1"}
	for _, kv := range p.Kind.Env {
		env = append(env, strings.ReplaceAll(kv, VethPlaceholder, veth))
	}
	logPath := filepath.Join(p.logDir, fmt.Sprintf("daemon-%s-%s.log", p.Kind.Impl, iface))
	d, err := ns.Start(logPath, env, p.BinaryPath, "-f", iface)
	if err != nil {
		return nil, err
	}
	p.Opts.logf("%s: started %s -f %s in %s, pid %d", p.Kind, p.BinaryPath, iface, ns.Name, d.PID)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := uapiGet(iface); err == nil {
			return d, nil
		}
		if d.Exited() || time.Now().After(deadline) || ctx.Err() != nil {
			log, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("%s: %s's UAPI socket is not answering (exited: %v %v; %v); log:\n%s",
				p.Kind, iface, d.Exited(), d.Err(), ctx.Err(), tail(string(log), 20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// uapiGet asks iface's daemon for its configuration and checks the errno.
func uapiGet(iface string) error {
	c, err := net.DialTimeout("unix", filepath.Join(socketDir, iface+".sock"), time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("get=1\n\n")); err != nil {
		return err
	}
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if strings.HasPrefix(line, "errno=") {
			if line != "errno=0\n" {
				return fmt.Errorf("get=1: %s", strings.TrimSpace(line))
			}
			return nil
		}
	}
}

// genKey makes a private key with `wg genkey` into a file of its own and
// returns the file and the public key.
func (p *Pair) genKey(ctx context.Context, name string) (path, pub string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	key, err := exec.CommandContext(ctx, "wg", "genkey").Output()
	if err != nil {
		return "", "", fmt.Errorf("wg genkey: %w", err)
	}
	cmd := exec.CommandContext(ctx, "wg", "pubkey")
	cmd.Stdin = strings.NewReader(string(key))
	pubb, err := cmd.Output()
	if err != nil {
		return "", "", fmt.Errorf("wg pubkey: %w", err)
	}
	path = filepath.Join(p.logDir, fmt.Sprintf("%s-%s.key", p.IfaceA, name))
	if err := os.WriteFile(path, key, 0o600); err != nil {
		return "", "", err
	}
	return path, strings.TrimSpace(string(pubb)), nil
}

// waitTunnel pings the server until one answers, up to limit.
func (p *Pair) waitTunnel(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		_, err := p.exec(ctx, p.A, 5*time.Second, nil, "ping", "-n", "-c", "1", "-W", "1", p.Server.String())
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := p.Check(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: no ping crossed the tunnel in %v: %w", p.Kind, limit, err)
		}
	}
}

// Check returns an error, with the log's tail, if a daemon has exited.
func (p *Pair) Check() error {
	var errs []error
	for _, d := range []*netns.Process{p.DaemonA, p.DaemonB} {
		if d != nil && d.Exited() {
			log, _ := os.ReadFile(d.LogPath)
			errs = append(errs, fmt.Errorf("%s: daemon pid %d exited (%v); log %s:\n%s",
				p.Kind, d.PID, d.Err(), d.LogPath, tail(string(log), 30)))
		}
	}
	return errors.Join(errs...)
}

// Close stops the daemons (SIGTERM, then SIGKILL), removes any socket they
// left, and closes the Topology. It is safe to call more than once.
func (p *Pair) Close() error {
	var errs []error
	for _, d := range []struct {
		proc  *netns.Process
		iface string
	}{{p.DaemonA, p.IfaceA}, {p.DaemonB, p.IfaceB}} {
		if d.proc == nil {
			continue
		}
		if err := d.proc.Stop(5 * time.Second); err != nil {
			errs = append(errs, err)
		}
		os.Remove(filepath.Join(socketDir, d.iface+".sock"))
	}
	errs = append(errs, p.Topology.Close())
	return errors.Join(errs...)
}

// nextPort returns a port no earlier measurement of p used.
func (p *Pair) nextPort() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.port++
	return p.port
}
