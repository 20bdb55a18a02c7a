// Command wgxdp is the wgxdp daemon, a drop-in replacement for wireguard-go:
//
//	wgxdp [-f|--foreground] INTERFACE-NAME
//
// creates the TUN interface INTERFACE-NAME and its UAPI socket
// /var/run/wireguard/INTERFACE-NAME.sock, so that wg(8), wg-quick(8) and
// wgctrl configure it as they do wireguard-go. Without -f (and without
// WG_PROCESS_FOREGROUND=1) it puts itself in the background and returns
// once both exist and the daemon is serving.
//
// The command line, the environment (WG_TUN_FD, WG_UAPI_FD,
// WG_PROCESS_FOREGROUND, LOG_LEVEL) and the log format follow wireguard-go's
// main.go (MIT, Copyright (C) 2017-2025 WireGuard LLC). WGXDP_CPU, read by the
// crypto packages, forces a crypto implementation; WGXDP_TUN_OFFLOAD=0, read
// by the tun package, opens the TUN without offloads (no IFF_VNET_HDR).
//
// wgxdp's own options come before the interface name, in any order:
//
//	--xdp=IFACE            (or WGXDP_XDP=IFACE) the outer UDP traffic goes
//	                       through AF_XDP on IFACE (package xdp), with UDP
//	                       sockets beside it for other interfaces. A
//	                       comma-separated list puts AF_XDP on each, and a
//	                       datagram leaves through the interface its route
//	                       picks. A named interface that does not exist is a
//	                       setup error, as any bad WGXDP_* value is (env.go).
//	                       If AF_XDP cannot be used there (xdp.ErrNotSupported:
//	                       no CAP_BPF, a driver that refuses the program, ...)
//	                       the daemon logs one error line and uses UDP sockets
//	                       only, for good.
//	                       An empty --xdp= overrides WGXDP_XDP: no AF_XDP.
//	--xdp-mode=MODE        (or WGXDP_XDP_MODE) auto, native or generic.
//	WGXDP_XDP_TX_CSUM=0    compute outer UDP checksums here instead of
//	                       leaving them to the kernel (AF_XDP TX metadata).
//	WGXDP_XDP_TX=MODE      xsk (default): send through the AF_XDP TX ring;
//	                       auto: batches of 8 or more same-size datagrams go
//	                       through the UDP socket as UDP GSO sends; socket:
//	                       everything through the UDP socket (xdp.Bind.SetTxMode).
//
// The UMEMs are pinned memory: without CAP_IPC_LOCK they count against
// RLIMIT_MEMLOCK, whose soft limit is raised to the hard one if need be;
// if even that is too small the UMEMs shrink (logged), and below the least
// they need AF_XDP is not available (the UDP sockets are used).
//
// At verbose level the log says which path is in use each time the port is
// opened, and the AF_XDP path's counters at exit.
//
// The daemon stops, removing its socket and interface, on SIGINT or SIGTERM,
// when the interface is deleted (ip link del) and when the socket file is
// removed.
package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/wgxdp/wgxdp/crypto/blake2s"
	"github.com/wgxdp/wgxdp/crypto/chacha20poly1305"
	"github.com/wgxdp/wgxdp/crypto/curve25519"
	"github.com/wgxdp/wgxdp/device"
	"github.com/wgxdp/wgxdp/internal/rtlane"
	"github.com/wgxdp/wgxdp/tun"
	"github.com/wgxdp/wgxdp/uapi"
)

// Exit codes, as wireguard-go's.
const (
	exitSetupSuccess = 0
	exitSetupFailed  = 1
)

// The environment, as wireguard-go's.
const (
	envTUNFD      = "WG_TUN_FD"
	envUAPIFD     = uapi.EnvUAPIFD
	envForeground = "WG_PROCESS_FOREGROUND"
	envLogLevel   = "LOG_LEVEL"
)

// defaultMTU is the MTU of a new interface: wireguard-go's DefaultMTU (1500
// less the IPv6, UDP and WireGuard overhead).
const defaultMTU = 1420

// maxIfnameLen is IFNAMSIZ less the terminating NUL.
const maxIfnameLen = 15

// Log levels, as wireguard-go's.
const (
	logLevelSilent = iota
	logLevelError
	logLevelVerbose
)

func main() {
	// The daemon's data path tells the lanes when bulk traffic flows
	// (rtlane.Bulk); without it they rest, as on an idle machine they
	// only add latency.
	rtlane.IdleAfter = rtlane.DefaultIdleAfter
	os.Exit(run(os.Args, os.Stdout))
}

// command is what the command line asks for.
type command struct {
	version    bool // --version
	help       bool // -h, --help
	usage      error
	foreground bool
	ifname     string

	xdp     string // --xdp=IFACE[,IFACE...], if xdpSet
	xdpSet  bool   // --xdp was given (even empty: it overrides WGXDP_XDP)
	xdpMode string // --xdp-mode=MODE, or ""
}

// parseArgs reads the command line as wireguard-go does: "--version" alone,
// or an optional -f/--foreground followed by exactly one interface name.
// Unlike wireguard-go it knows -h/--help, and it refuses other words that
// begin with "-" (wireguard-go takes them for interface names). wgxdp's own
// options, --xdp=IFACE[,IFACE...] and --xdp-mode=MODE (or with the value as
// the next word), may come anywhere before the interface name, which is
// always the last word.
func parseArgs(args []string) command {
	if len(args) == 2 {
		switch args[1] {
		case "--version":
			return command{version: true}
		case "-h", "--help":
			return command{help: true}
		}
	}
	var c command
	if len(args) < 2 {
		c.usage = errors.New("wrong number of arguments")
		return c
	}
	last := len(args) - 1
	for i := 1; i < last; i++ {
		a := args[i]
		name, value, hasValue := strings.Cut(a, "=")
		switch name {
		case "-f", "--foreground":
			if hasValue {
				c.usage = fmt.Errorf("option %s takes no value", name)
				return c
			}
			c.foreground = true
			continue
		case "--xdp", "--xdp-mode":
		default:
			if strings.HasPrefix(a, "-") {
				c.usage = fmt.Errorf("unknown option %q", a)
			} else {
				c.usage = errors.New("wrong number of arguments")
			}
			return c
		}
		if !hasValue {
			// The value is the next word, which must not be the
			// interface name.
			if i+1 >= last {
				c.usage = fmt.Errorf("option %s needs a value", name)
				return c
			}
			i++
			value = args[i]
		}
		if name == "--xdp" {
			c.xdp, c.xdpSet = value, true
		} else {
			c.xdpMode = value
		}
	}
	c.ifname = args[last]
	if strings.HasPrefix(c.ifname, "-") {
		if c.ifname == "-f" || c.ifname == "--foreground" || strings.HasPrefix(c.ifname, "--xdp") {
			c.usage = errors.New("wrong number of arguments")
		} else {
			c.usage = fmt.Errorf("unknown option %q", c.ifname)
		}
	}
	return c
}

// validIfname checks name as the kernel's dev_valid_name does. A "%d" in
// the name is left to the kernel, which picks the number.
func validIfname(name string) error {
	switch {
	case name == "":
		return errors.New("interface name is empty")
	case len(name) > maxIfnameLen:
		return fmt.Errorf("interface name %q is longer than %d bytes", name, maxIfnameLen)
	case name == "." || name == "..":
		return fmt.Errorf("interface name %q is not allowed", name)
	case strings.ContainsAny(name, "/:\x00") || strings.ContainsFunc(name, isSpace):
		return fmt.Errorf("interface name %q contains '/', ':', NUL or white space", name)
	}
	return nil
}

// isSpace is the kernel's isspace, which dev_valid_name uses.
func isSpace(r rune) bool {
	return r == ' ' || (r >= '\t' && r <= '\r')
}

func printUsage(w io.Writer, prog string) {
	fmt.Fprintf(w, "Usage: %s [-f/--foreground] [--xdp=IFACE[,IFACE...]] [--xdp-mode=MODE] INTERFACE-NAME\n", prog)
	fmt.Fprintf(w, "%s", `
Options (before INTERFACE-NAME, in any order):
  -f, --foreground     stay in the foreground (also WG_PROCESS_FOREGROUND=1)
  --xdp=IFACE[,IFACE...]
                       carry the outer UDP traffic through AF_XDP on each IFACE (each
                       datagram leaves through the interface its route picks), with UDP
                       sockets beside it for other interfaces (also WGXDP_XDP=IFACE,...);
                       an IFACE that does not exist is a setup error; if AF_XDP cannot
                       be used on one that does, UDP sockets carry everything (logged
                       as an error)
  --xdp-mode=MODE      auto (native if the driver takes it, else generic), native or
                       generic (also WGXDP_XDP_MODE=MODE)

Environment: LOG_LEVEL=verbose|error|silent, WG_PROCESS_FOREGROUND=1 and the WGXDP_*
knobs (README.md): WGXDP_CPU, WGXDP_RT, WGXDP_TUN_OFFLOAD, WGXDP_TUN_QUEUES,
WGXDP_TUN_EXPRESS, WGXDP_UDP_GSO, WGXDP_UDP_GRO, WGXDP_UDP_BUFFER, WGXDP_UDP_SNDBUF,
WGXDP_UDP_PRIORITY, WGXDP_QDISC, WGXDP_FQ_TARGET, WGXDP_FQ_INTERVAL, WGXDP_FQ_ECN,
WGXDP_FQ_LIMIT, WGXDP_EGRESS_SLOTS, WGXDP_CPUPROFILE, WGXDP_XDP, WGXDP_XDP_MODE,
WGXDP_XDP_TX, WGXDP_XDP_TX_CSUM. A bad value is a setup error (exit 1), reported
before the interface is created; switches take 1/on/true/yes or 0/off/false/no.
`)
}

func printVersion(w io.Writer) {
	fmt.Fprintf(w, "wgxdp v%s\n\nUserspace WireGuard daemon for %s-%s, built with %s.\n"+
		"Crypto: chacha20poly1305=%s blake2s=%s curve25519=%s.\n",
		Version, runtime.GOOS, runtime.GOARCH, runtime.Version(),
		chacha20poly1305.Active(), blake2s.Active(), curve25519.Active())
}

// logLevel reads LOG_LEVEL as wireguard-go does; the default is error.
func logLevel() int {
	switch os.Getenv(envLogLevel) {
	case "verbose", "debug":
		return logLevelVerbose
	case "silent":
		return logLevelSilent
	}
	return logLevelError
}

// newLogger is wireguard-go's device.NewLogger: "DEBUG: " or "ERROR: ",
// the date and time, then prefix, written to w.
func newLogger(w io.Writer, level int, prefix string) *device.Logger {
	discard := func(string, ...any) {}
	l := &device.Logger{Verbosef: discard, Errorf: discard}
	logf := func(tag string) func(string, ...any) {
		return log.New(w, tag+": "+prefix, log.Ldate|log.Ltime).Printf
	}
	if level >= logLevelVerbose {
		l.Verbosef = logf("DEBUG")
	}
	if level >= logLevelError {
		l.Errorf = logf("ERROR")
	}
	return l
}

// run is main, returning the exit code.
func run(args []string, stdout io.Writer) int {
	c := parseArgs(args)
	switch {
	case c.version:
		printVersion(stdout)
		return exitSetupSuccess
	case c.help:
		printUsage(stdout, args[0])
		return exitSetupSuccess
	case c.usage != nil:
		// wireguard-go prints the usage and exits 0; so do we.
		printUsage(stdout, args[0])
		return exitSetupSuccess
	}
	if !c.foreground {
		c.foreground = os.Getenv(envForeground) == "1"
	}
	level := logLevel()
	ifname := c.ifname
	if err := validIfname(ifname); err != nil {
		newLogger(stdout, level, fmt.Sprintf("(%s) ", ifname)).Errorf("Invalid interface name: %v", err)
		return exitSetupFailed
	}

	// A SIGINT or SIGTERM during setup must not kill us before we can
	// remove the socket; the foreground daemon watches this channel.
	term := make(chan os.Signal, 1)
	var ready *readyPipe
	if c.foreground {
		signal.Notify(term, unix.SIGTERM, os.Interrupt)
		ready = takeReadyPipe()
	}

	// Every setting is checked before the interface is created: a bad
	// one is a setup error, as a bad command line is. A daemon started by
	// our parent (ready != nil) has the environment its parent checked.
	early := newLogger(stdout, level, fmt.Sprintf("(%s) ", ifname))
	xcfg, err := xdpFromArgs(c)
	if err != nil {
		early.Errorf("Invalid AF_XDP setting: %v", err)
		ready.report(err)
		return exitSetupFailed
	}
	st, err := settingsFromEnv()
	if err != nil {
		early.Errorf("Invalid setting: %v", err)
		ready.report(err)
		return exitSetupFailed
	}
	stopProfile, err := startProfile(c.foreground)
	if err != nil {
		early.Errorf("Invalid setting: %v", err)
		ready.report(err)
		return exitSetupFailed
	}
	defer stopProfile()
	if ready == nil {
		for _, n := range st.notes {
			early.Errorf("%s", n)
		}
	}

	tdev, err := openTUN(ifname, c.foreground)
	if err == nil {
		if name, err := tdev.Name(); err == nil {
			ifname = name // the kernel's choice for a "%d" name
		}
	}
	logger := newLogger(stdout, level, fmt.Sprintf("(%s) ", ifname))
	logger.Verbosef("Starting wgxdp version %s (pid %d)", Version, os.Getpid())
	if err != nil {
		logger.Errorf("Failed to create TUN device: %v", err)
		ready.report(fmt.Errorf("failed to create TUN device: %w", err))
		return exitSetupFailed
	}

	if !c.foreground {
		uapiFile, err := openUAPI(ifname)
		if err != nil {
			logger.Errorf("UAPI listen error: %v", err)
			return exitSetupFailed
		}
		return daemonize(ifname, tdev, uapiFile, logger, level)
	}

	fail := func(format string, args ...any) int {
		err := fmt.Errorf(format, args...)
		logger.Errorf("%v", err)
		ready.report(err)
		return exitSetupFailed
	}
	l, err := uapi.ListenEnv(ifname)
	if err != nil {
		tdev.Close()
		return fail("UAPI listen error: %w", err)
	}
	logCrypto(logger)
	expressLanes(tdev, logger)
	egress, slots := st.egress, st.slots
	logger.Verbosef("Egress queue: %v", egress.Mode)
	bind, xb, err := newOuterBind(xcfg, logger)
	if err != nil {
		l.Close()
		tdev.Close()
		return fail("%w", err)
	}
	dev, err := device.New(device.Config{Bind: bind, TUN: tdev, Logger: logger, Egress: egress, EgressSlots: slots})
	if err != nil {
		l.Close()
		tdev.Close()
		return fail("Failed to create device: %w", err)
	}
	if err := dev.Up(); err != nil {
		l.Close()
		dev.Close()
		return fail("Failed to bring up device: %w", err)
	}
	logger.Verbosef("Device started")
	code := serve(ifname, dev, l, logger, term, ready, func(done <-chan struct{}) {
		watchStats(stdout, level, fmt.Sprintf("(%s) ", ifname), dev, done)
	})
	if xb != nil {
		xb.logStats()
	}
	return code
}

// openTUN creates the interface, or takes the TUN fd in WG_TUN_FD. An fd
// keeps its interface's MTU: the parent set it, and setting it again in the
// daemon (as wireguard-go does) could undo an `ip link set mtu` made in
// between.
//
// A parent that daemonizes makes the interface multi-queue but opens no
// express queue: the child adds its own when it takes the fd (its queue
// would otherwise take the kernel's express slot while the parent lives).
func openTUN(ifname string, foreground bool) (tun.Device, error) {
	s := os.Getenv(envTUNFD)
	if s == "" {
		opts := tun.DefaultOptions()
		if !foreground && opts.Express {
			opts.Express, opts.MultiQueue = false, opts.Queues == 1
		}
		return tun.CreateWithOptions(ifname, defaultMTU, opts)
	}
	fd, err := strconv.ParseUint(s, 10, 31)
	if err != nil {
		return nil, fmt.Errorf("bad %s=%q: %w", envTUNFD, s, err)
	}
	return tun.CreateFromFD(int(fd))
}

// openUAPI creates the UAPI socket for the daemon, or takes the one in
// WG_UAPI_FD.
func openUAPI(ifname string) (*os.File, error) {
	s := os.Getenv(envUAPIFD)
	if s == "" {
		return uapi.Open(ifname)
	}
	fd, err := strconv.ParseUint(s, 10, 31)
	if err != nil {
		return nil, fmt.Errorf("bad %s=%q: %w", envUAPIFD, s, err)
	}
	return os.NewFile(uintptr(fd), "uapi"), nil
}

// serve answers UAPI requests until a signal, the deletion of the
// interface or the removal of the socket file, then closes everything and
// returns the exit code.
func serve(ifname string, dev *device.Device, l net.Listener, logger *device.Logger, term <-chan os.Signal, ready *readyPipe, watch func(done <-chan struct{})) int {
	srv := &uapi.Server{Device: dev, Logf: logger.Verbosef}
	errs := make(chan error, 1)
	go func() { errs <- srv.Serve(l) }()
	logger.Verbosef("UAPI listener started")

	// The socket's path is the listener's own, which is SocketPath(ifname)
	// unless someone handed us another socket in WG_UAPI_FD. An unnamed
	// or abstract socket cannot be removed, so it is not watched.
	done := make(chan struct{})
	var removed <-chan struct{}
	if a, ok := l.Addr().(*net.UnixAddr); ok && a.Name != "" && a.Name[0] != '@' {
		removed = uapi.WatchRemoval(a.Name, done)
	} else {
		logger.Verbosef("Not watching UAPI socket %v for removal", l.Addr())
	}
	if watch != nil {
		watch(done)
	}
	ready.report(nil)

	code := exitSetupSuccess
	select {
	case sig := <-term:
		logger.Verbosef("Received %v", sig)
	case <-dev.Wait():
		logger.Verbosef("Device closed (interface %s deleted?)", ifname)
	case <-removed:
		logger.Verbosef("UAPI socket removed")
	case err := <-errs:
		if err != nil {
			logger.Errorf("UAPI server failed: %v", err)
			code = exitSetupFailed
		}
	}

	logger.Verbosef("Shutting down")
	logStats(logger.Verbosef, dev)
	close(done)
	srv.Close()
	l.Close() // removes the socket file, if it is still ours
	dev.Close()
	return code
}
