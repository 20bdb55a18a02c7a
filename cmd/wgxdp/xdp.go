package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/wgxdp/wgxdp/conn"
	"github.com/wgxdp/wgxdp/device"
	"github.com/wgxdp/wgxdp/internal/envflag"
	"github.com/wgxdp/wgxdp/packet"
	"github.com/wgxdp/wgxdp/xdp"
)

// The environment's names for --xdp and --xdp-mode, so that AF_XDP can be
// asked for under wg-quick, which runs the daemon with a fixed command line.
const (
	envXDP     = "WGXDP_XDP"
	envXDPMode = "WGXDP_XDP_MODE"

	// envXDPTxCsum=0 computes UDP checksums in the daemon instead of
	// leaving them to the kernel through AF_XDP TX metadata.
	envXDPTxCsum = "WGXDP_XDP_TX_CSUM"

	// envXDPTx chooses the transmit path (xdp.Bind.SetTxMode): xsk,
	// socket or auto.
	envXDPTx = "WGXDP_XDP_TX"
)

// xdpConfig is what the command line and the environment ask of the outer
// side: AF_XDP on the interfaces ifnames in mode, or (none) UDP sockets only.
type xdpConfig struct {
	ifnames []string
	mode    string // xdp.ModeAuto, xdp.ModeNative or xdp.ModeGeneric
	swCsum  bool   // WGXDP_XDP_TX_CSUM=0
	txMode  string // WGXDP_XDP_TX
}

// xdpFromArgs reads --xdp and --xdp-mode, falling back to WGXDP_XDP and
// WGXDP_XDP_MODE for each that is not given. The value is a comma-separated
// list of interfaces (repeats dropped), each of which must exist.
func xdpFromArgs(c command) (xdpConfig, error) {
	list, listFrom := c.xdp, "--xdp"
	if !c.xdpSet {
		list, listFrom = os.Getenv(envXDP), envXDP
	}
	mode, modeFrom := c.xdpMode, "--xdp-mode"
	if mode == "" {
		mode, modeFrom = os.Getenv(envXDPMode), envXDPMode
	}
	var cfg xdpConfig
	switch strings.ToLower(strings.TrimSpace(mode)) {
	case "", xdp.ModeAuto:
		cfg.mode = xdp.ModeAuto
	case xdp.ModeNative:
		cfg.mode = xdp.ModeNative
	case xdp.ModeGeneric:
		cfg.mode = xdp.ModeGeneric
	default:
		return cfg, fmt.Errorf("%s=%q: want auto, native or generic", modeFrom, mode)
	}
	offload, err := envflag.Bool(envXDPTxCsum, true)
	if err != nil {
		return cfg, err
	}
	cfg.swCsum = !offload
	switch v := strings.ToLower(strings.TrimSpace(os.Getenv(envXDPTx))); v {
	case "", xdp.TxXSK, xdp.TxSocket, xdp.TxAuto:
		cfg.txMode = v
	default:
		return cfg, fmt.Errorf("%s=%q: want xsk, socket or auto", envXDPTx, v)
	}
	var names []string
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return cfg, nil
	}
	for _, n := range names {
		if err := validIfname(n); err != nil {
			return cfg, fmt.Errorf("%s=%q: %w", listFrom, list, err)
		}
	}
	for _, n := range names {
		if _, err := net.InterfaceByName(n); err != nil {
			return cfg, fmt.Errorf("%s=%q: interface %s: %w", listFrom, list, n, err)
		}
	}
	cfg.ifnames = names
	return cfg, nil
}

// newOuterBind returns the Bind the configuration asks for: StdNetBind, or
// an xdpBind on the interfaces.
func newOuterBind(cfg xdpConfig, logger *device.Logger) (conn.Bind, *xdpBind, error) {
	if len(cfg.ifnames) == 0 {
		logger.Verbosef("Outer side: UDP sockets")
		return conn.NewStdNetBind(), nil, nil
	}
	xb, err := xdp.NewBind(cfg.ifnames, cfg.mode)
	if err != nil {
		return nil, nil, err
	}
	xb.SetTxChecksumOffload(!cfg.swCsum)
	if err := xb.SetTxMode(cfg.txMode); err != nil {
		return nil, nil, err
	}
	names := strings.Join(cfg.ifnames, ",")
	b := &xdpBind{xdp: xb, std: conn.NewStdNetBind(), ifname: names, mode: cfg.mode, logger: logger}
	logger.Verbosef("Outer side: AF_XDP on %s (%s mode) asked for; UDP sockets if it is not available", names, cfg.mode)
	if cfg.txMode != "" && cfg.txMode != xdp.TxXSK {
		logger.Verbosef("Outer side: transmit mode %s (%s)", cfg.txMode, envXDPTx)
	}
	return b, b, nil
}

// xdpBind is the daemon's Bind when AF_XDP is asked for: an xdp.Bind (whose
// UDP sockets carry what does not use the interface) until an Open fails
// with xdp.ErrNotSupported — no CAP_BPF, no AF_XDP, a driver that refuses
// the program or multi-buffer XSKs, an MTU too big for 17 frames — and
// from then on, for good,
// a conn.StdNetBind. The device opens the Bind in Up and again on each
// listen-port change, so the choice is made inside Open.
type xdpBind struct {
	xdp    *xdp.Bind
	std    *conn.StdNetBind
	ifname string // the interfaces, comma-separated
	mode   string
	logger *device.Logger

	fellBack atomic.Bool // std is in use, for good

	mu     sync.Mutex // serializes Open, Close and SetMark
	mark   uint32
	logged map[string]xdp.InterfaceInfo // what logOpen said of each interface
}

var _ conn.Bind = (*xdpBind)(nil)

func (b *xdpBind) cur() conn.Bind {
	if b.fellBack.Load() {
		return b.std
	}
	return b.xdp
}

// Open implements conn.Bind.
func (b *xdpBind) Open(port uint16) ([]conn.ReceiveFunc, uint16, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.fellBack.Load() {
		fns, actual, err := b.xdp.Open(port)
		if err == nil {
			b.logOpen(actual)
			return fns, actual, nil
		}
		if !errors.Is(err, xdp.ErrNotSupported) {
			return nil, 0, err
		}
		b.logger.Errorf("AF_XDP on %s is not available, using UDP sockets instead: %v", b.ifname, err)
		b.fellBack.Store(true)
		if b.mark != 0 {
			if err := b.std.SetMark(b.mark); err != nil {
				return nil, 0, err
			}
		}
	}
	fns, actual, err := b.std.Open(port)
	if err == nil {
		b.logger.Verbosef("Outer side: UDP port %d through UDP sockets", actual)
	}
	return fns, actual, err
}

// logOpen logs, at verbose level, the port and the interfaces that carry
// it. The device opens the Bind at Up and again when the port changes
// (wg setconf), so each interface's port line — with its mode and queues,
// which the interop tests read — comes once per open; the details of an
// interface (frames, checksums, multi-buffer) come only when they differ
// from the last open's. Caller holds b.mu.
func (b *xdpBind) logOpen(port uint16) {
	for _, i := range b.xdp.Interfaces() {
		q := "queues"
		if i.Queues == 1 {
			q = "queue"
		}
		b.logger.Verbosef("Outer side: UDP port %d through AF_XDP on %s (%s mode, %d %s), UDP sockets beside it",
			port, i.Name, i.Mode, i.Queues, q)
		if last, ok := b.logged[i.Name]; ok && last == i {
			continue
		}
		if b.logged == nil {
			b.logged = make(map[string]xdp.InterfaceInfo)
		}
		b.logged[i.Name] = i
		if i.MultiBuffer {
			b.logger.Verbosef("Outer side: packets on %s may span several UMEM frames (its MTU needs multi-buffer AF_XDP)", i.Name)
		}
		if i.TxCsumOffload {
			b.logger.Verbosef("Outer side: UDP checksums on %s left to the kernel (AF_XDP TX metadata)", i.Name)
		}
		if i.Frames < xdp.UmemFrames {
			b.logger.Verbosef("Outer side: %d UMEM frames per queue on %s, not %d: RLIMIT_MEMLOCK is tight",
				i.Frames, i.Name, xdp.UmemFrames)
		}
	}
}

// Close implements conn.Bind.
func (b *xdpBind) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cur().Close()
}

// SetMark implements conn.Bind.
func (b *xdpBind) SetMark(mark uint32) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mark = mark
	return b.cur().SetMark(mark)
}

// Send implements conn.Bind.
func (b *xdpBind) Send(bt *packet.Batch, ep conn.Endpoint) error { return b.cur().Send(bt, ep) }

// ParseEndpoint implements conn.Bind.
func (b *xdpBind) ParseEndpoint(s string) (conn.Endpoint, error) { return conn.ParseEndpoint(s) }

// BatchSize implements conn.Bind: both Binds take conn.StdBatchSize.
func (b *xdpBind) BatchSize() int { return b.cur().BatchSize() }

// logStats logs, at verbose level, how many datagrams took which path.
func (b *xdpBind) logStats() {
	if b.fellBack.Load() {
		b.logger.Verbosef("Outer side: UDP sockets (AF_XDP on %s was not available)", b.ifname)
		return
	}
	s := b.xdp.Stats()
	b.logger.Verbosef("XDP stats on %s: rx ring %d, tx ring %d, rx socket %d, tx socket %d datagrams",
		b.ifname, s.RxRing, s.TxRing, s.RxSocket, s.TxSocket)
	for _, i := range s.Interfaces {
		if len(s.Interfaces) > 1 {
			b.logger.Verbosef("XDP ring stats on %s: rx %d, tx %d datagrams", i.Name, i.RxRing, i.TxRing)
		}
		k := i.Kernel
		b.logger.Verbosef("XDP kernel stats on %s: rx dropped %d, rx ring full %d, fill ring empty %d, tx ring empty %d, invalid descriptors %d",
			i.Name, k.RxDropped, k.RxRingFull, k.RxFillEmpty, k.TxRingEmpty, k.InvalidDescs)
		if i.RxDiscarded > 0 {
			b.logger.Verbosef("XDP stats on %s: %d multi-buffer packets discarded (too big for a slot, or a broken chain)", i.Name, i.RxDiscarded)
		}
	}
}
