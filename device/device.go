// Package device is a WireGuard interface: its peers and their sessions,
// the handshake state machine with its timers, and the batched pipelines
// that move packets between a tun.Device and a conn.Bind. It is configured
// through Set/Get (the uapi.Device interface) or directly.
package device

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wgxdp/wgxdp/allowedips"
	"github.com/wgxdp/wgxdp/clock"
	"github.com/wgxdp/wgxdp/conn"
	"github.com/wgxdp/wgxdp/fqcodel"
	"github.com/wgxdp/wgxdp/noise"
	"github.com/wgxdp/wgxdp/packet"
	"github.com/wgxdp/wgxdp/ratelimiter"
	"github.com/wgxdp/wgxdp/tun"
)

// noStatic stands in for our identity before a private key is set: the
// per-peer mac1 and cookie keys depend only on the peer's public key.
var noStatic = noise.NewStatic(noise.PrivateKey{})

// Logger has two levels, as wireguard-go's.
type Logger struct {
	Verbosef func(format string, args ...any)
	Errorf   func(format string, args ...any)
}

// DefaultEgressSlots is Config.EgressSlots' default. Three quarters of it
// bound one peer's queue: 3072 packets, about 20 ms at 2 Gbit/s of
// 1420-byte packets, so that TCP bursts from the TUN (which frees the
// kernel's buffers as it is read, so TCP small queues cannot hold the
// sender back) fit and CoDel, not the packet limit, decides what is
// dropped. With 1024 slots (512 a peer) a single bulk TCP flow lost about
// 3% of its packets to the limit; with 2048 a peer, four flows starting
// together still lost about 1%.
// Slots hold a 9000-byte packet, but only the bytes a packet uses are
// touched, so the resident cost is about what is queued.
const DefaultEgressSlots = 4096

// MinEgressSlots is the fewest slots New gives the egress pool, whatever
// Config.EgressSlots says: one full batch (packet.MaxBatch). Fewer still
// work — a TUN read that brings more of one peer's packets than the pool
// holds is queued in rounds, each waiting for the sender to free slots
// (enqueue) — but every large read would then wait for the wire.
const MinEgressSlots = packet.MaxBatch

// DiscardLogger logs nothing.
var DiscardLogger = &Logger{Verbosef: func(string, ...any) {}, Errorf: func(string, ...any) {}}

// Config is what a Device is built from. Zero fields take defaults.
type Config struct {
	Bind   conn.Bind
	TUN    tun.Device
	Clock  clock.Clock // default: the real clock
	Rand   io.Reader   // default: crypto/rand
	Logger *Logger     // default: DiscardLogger

	// BatchSize is the packets per batch on every pipeline (default: the
	// smaller of the Bind's and TUN's, at most packet.MaxBatch).
	BatchSize int
	// HandshakeWorkers is the number of goroutines that process handshake
	// messages (default: GOMAXPROCS).
	HandshakeWorkers int
	// HandshakeQueue bounds the handshake messages waiting (default 1024);
	// beyond an eighth of it the device is under load and asks for cookies.
	HandshakeQueue int
	// RateLimiterEntries bounds the per-source limiter's table (default 4096).
	RateLimiterEntries int
	// Egress configures each peer's outbound queue: fq_codel by default,
	// Mode fqcodel.ModeFIFO for a plain bounded FIFO. Its Target, Interval
	// and ECN also drive the CoDel on the sockets' receive buffers
	// (receive.go), which ModeFIFO turns off as well.
	//
	// Zero fields take fqcodel's defaults, except PacketLimit, which defaults to three
	// quarters of EgressSlots, and MemoryLimit, which defaults to what
	// PacketLimit packets of 9000 bytes need (the slots bound memory).
	Egress fqcodel.Config
	// EgressSlots is the number of packet buffers shared by all peers'
	// queues (default 4096, at least MinEgressSlots); when they are all
	// queued, TUN reads wait.
	//
	// Memory: the slots (about what is queued in them, see
	// DefaultEgressSlots) plus, per peer, about 7 KB of heap and its
	// sender goroutine's stack (2–4 KB) while idle (TestPeerMemory: 2000
	// idle peers; 150 KB of heap each when every peer's queue was made
	// with it), and a queue while it carries traffic: about 60 KB for
	// fq_codel's 1024 flows (Egress.Flows × 60 bytes) and 24 bytes per
	// packet of its largest backlog, up to PacketLimit. A queue is made
	// on a peer's first enqueue — sparse traffic bypasses an empty queue —
	// and dropped once it has been empty and unused for about ten seconds.
	EgressSlots int
}

// Device is one WireGuard interface.
type Device struct {
	cfg  Config
	clk  clock.Clock
	rand io.Reader
	log  *Logger

	// mu guards the configuration: static identity, the peer map, the
	// listen port and fwmark, and the bind's open state.
	mu         sync.RWMutex
	static     *noise.Static    // nil: no private key; replaced, never mutated
	privateKey noise.PrivateKey // as set, for Get
	checker    *noise.CookieChecker
	// ident publishes static and checker to the handshake and send paths
	// without Device.mu, which they must not take (see locking.md).
	ident      atomic.Pointer[identity]
	peers      map[noise.PublicKey]*Peer
	listenPort uint16
	fwmark     uint32
	bindOpen   bool
	recvWG     sync.WaitGroup
	// sojourn is each receive function's histogram of the time datagrams
	// waited in the socket before the pipeline took them (the Bind's
	// receive functions in order; the last is shared by any beyond).
	sojourn [4]sojournHist

	allowed *allowedips.Table[*Peer]
	indices indexTable
	limiter *ratelimiter.Limiter

	hsQueue        chan hsMsg
	hsBusy         atomic.Int64 // queued or being processed
	gcTimer        clock.Timer
	underLoadUntil atomic.Int64

	mtu       atomic.Int32
	up        atomic.Bool
	closed    chan struct{} // closed when Close starts: goroutines stop
	done      chan struct{} // closed when Close has finished
	closeOnce sync.Once
	wg        sync.WaitGroup
	slotSize  int
	batchSize int
	pool      *slotPool
	egressCfg fqcodel.Config
	ctrlPool  *packet.Pool

	stats counters
}

// multiQueue is a TUN with several queues (IFF_MULTI_QUEUE): one reader
// goroutine runs per queue.
type multiQueue interface {
	Queues() int
	Queue(i int) tun.Device
}

type identity struct {
	static  *noise.Static
	checker *noise.CookieChecker
}

type hsMsg struct {
	buf [noise.MessageInitiationSize]byte
	n   int
	ep  packet.Endpoint
}

// New creates a device. It is down until Up.
func New(cfg Config) (*Device, error) {
	if cfg.Bind == nil || cfg.TUN == nil {
		return nil, errors.New("device: Config needs a Bind and a TUN")
	}
	d := &Device{cfg: cfg, clk: cfg.Clock, rand: cfg.Rand, log: cfg.Logger}
	if d.clk == nil {
		d.clk = clock.Real{}
	}
	if d.rand == nil {
		d.rand = rand.Reader
	}
	if d.log == nil {
		d.log = DiscardLogger
	}
	d.batchSize = cfg.BatchSize
	if d.batchSize <= 0 {
		d.batchSize = min(cfg.Bind.BatchSize(), cfg.TUN.BatchSize())
	}
	d.batchSize = max(1, min(d.batchSize, packet.MaxBatch))
	if cfg.HandshakeWorkers <= 0 {
		cfg.HandshakeWorkers = runtime.GOMAXPROCS(0)
	}
	if cfg.HandshakeQueue <= 0 {
		cfg.HandshakeQueue = 1024
	}
	if cfg.RateLimiterEntries <= 0 {
		cfg.RateLimiterEntries = 4096
	}
	if cfg.EgressSlots <= 0 {
		cfg.EgressSlots = DefaultEgressSlots
	}
	cfg.EgressSlots = max(cfg.EgressSlots, MinEgressSlots)
	if cfg.Egress.PacketLimit <= 0 {
		cfg.Egress.PacketLimit = max(cfg.EgressSlots*3/4, 64)
	}
	if cfg.Egress.MemoryLimit <= 0 {
		// The slots bound the memory already; fqcodel's 4 MiB default
		// would cut a queue of 1420-byte packets short of PacketLimit.
		cfg.Egress.MemoryLimit = min(cfg.Egress.PacketLimit*9000, fqcodel.MaxMemoryLimit)
	}
	if err := cfg.Egress.Validate(); err != nil {
		return nil, fmt.Errorf("device: egress queue: %w", err)
	}
	d.egressCfg = cfg.Egress
	d.cfg = cfg
	mtu, err := cfg.TUN.MTU()
	if err != nil || mtu <= 0 {
		mtu = 1420
	}
	d.mtu.Store(int32(mtu))
	// Slots hold the largest datagram the outer side may bring (an MTU
	// of 65535 is legal); a 64 KiB slot per packet would cost too much,
	// so slots fit a 9000-byte jumbo inner packet plus framing.
	d.slotSize = packet.SlotSize(max(mtu, 9000) + 64)
	d.pool = newSlotPool(cfg.EgressSlots, d.slotSize)
	d.peers = make(map[noise.PublicKey]*Peer)
	d.allowed = new(allowedips.Table[*Peer])
	d.indices.init()
	d.limiter = ratelimiter.New(d.clk.Now, cfg.RateLimiterEntries)
	d.hsQueue = make(chan hsMsg, cfg.HandshakeQueue)
	d.closed = make(chan struct{})
	d.done = make(chan struct{})
	d.ctrlPool = packet.NewPool(8, 1, packet.SlotSize(256))
	d.gcTimer = d.clk.AfterFunc(time.Second, d.gcLimiter)
	d.wg.Add(1)
	go d.tunEvents()
	return d, nil
}

func (d *Device) isUp() bool { return d.up.Load() }

// Up opens the bind on the configured port and starts the pipelines.
func (d *Device) Up() error {
	var keepalive []*Peer
	defer func() {
		for _, p := range keepalive {
			p.sendKeepalive()
		}
	}()
	d.mu.Lock()
	defer d.mu.Unlock()
	select {
	case <-d.closed:
		return errors.New("device: closed")
	default:
	}
	if d.up.Load() {
		return nil
	}
	if err := d.openBindLocked(d.listenPort); err != nil {
		return err
	}
	d.up.Store(true)
	for range d.cfg.HandshakeWorkers {
		d.wg.Add(1)
		go d.handshakeWorker()
	}
	queues := []tun.Device{d.cfg.TUN}
	if mq, ok := d.cfg.TUN.(multiQueue); ok && mq.Queues() > 1 {
		queues = queues[:0]
		for i := range mq.Queues() {
			queues = append(queues, mq.Queue(i))
		}
	}
	express := -1
	if e, ok := d.cfg.TUN.(interface{ ExpressQueue() (int, error) }); ok && len(queues) > 1 {
		express, _ = e.ExpressQueue()
	}
	for i, q := range queues {
		d.wg.Add(1)
		go d.routineReadFromTUN(q, i == express)
	}
	for _, p := range d.peers {
		p.start()
		if p.persistentKeepalive.Load() > 0 {
			keepalive = append(keepalive, p)
		}
	}
	return nil
}

// openBindLocked (re)opens the bind and starts one receive pipeline per
// receive function. Caller holds d.mu.
func (d *Device) openBindLocked(port uint16) error {
	d.closeBindLocked()
	fns, actual, err := d.cfg.Bind.Open(port)
	if err != nil {
		return err
	}
	if d.fwmark != 0 {
		if err := d.cfg.Bind.SetMark(d.fwmark); err != nil {
			d.log.Errorf("setting fwmark: %v", err)
		}
	}
	d.listenPort = actual
	d.bindOpen = true
	for k, fn := range fns {
		d.recvWG.Add(1)
		go d.routineReceive(fn, &d.sojourn[min(k, len(d.sojourn)-1)])
	}
	return nil
}

func (d *Device) closeBindLocked() {
	if !d.bindOpen {
		return
	}
	d.cfg.Bind.Close()
	d.recvWG.Wait()
	d.bindOpen = false
}

// Close stops the device: pipelines end, peers are stopped, the Bind and
// TUN are closed. It waits for every goroutine it started.
func (d *Device) Close() error {
	d.closeOnce.Do(func() {
		d.mu.Lock()
		d.up.Store(false)
		close(d.closed)
		for _, p := range d.peers {
			p.stop()
		}
		d.closeBindLocked()
		d.mu.Unlock()
		d.gcTimer.Stop()
		d.cfg.TUN.Close()
		d.wg.Wait()
		d.limiter.Close()
		close(d.done)
	})
	<-d.done
	return nil
}

// Wait returns a channel closed once the device has closed — by Close, or
// by itself when its interface is deleted — and everything it started has
// stopped.
func (d *Device) Wait() <-chan struct{} { return d.done }

// ListenPort returns the bound UDP port.
func (d *Device) ListenPort() uint16 {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.listenPort
}

// tunEvents follows the TUN's MTU.
func (d *Device) tunEvents() {
	defer d.wg.Done()
	for ev := range d.cfg.TUN.Events() {
		if ev&tun.EventDeleted != 0 {
			d.log.Verbosef("interface deleted: closing")
			go d.Close()
			continue
		}
		if ev&tun.EventMTUUpdate != 0 {
			if mtu, err := d.cfg.TUN.MTU(); err == nil && mtu > 0 {
				old := d.mtu.Swap(int32(mtu))
				if int(old) != mtu {
					d.log.Verbosef("MTU updated: %d", mtu)
				}
			}
		}
	}
}

// SetPrivateKey sets the static private key (zero removes it).
func (d *Device) SetPrivateKey(sk noise.PrivateKey) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.setPrivateKeyLocked(sk)
}

func (d *Device) setPrivateKeyLocked(sk noise.PrivateKey) error {
	if d.static != nil && d.privateKey == sk {
		return nil
	}
	if sk == (noise.PrivateKey{}) {
		d.static = nil
		d.privateKey = sk
		d.checker = nil
		d.ident.Store(nil)
		for _, p := range d.peers {
			p.hsMu.Lock()
			p.static, _ = noise.NewPeerStatic(&noStatic, p.public, p.psk)
			p.hsMu.Unlock()
			p.zeroKeyMaterial()
		}
		return nil
	}
	stv := noise.NewStatic(sk)
	st := &stv
	// A peer with our own public key would talk to itself: remove it.
	if p, ok := d.peers[st.Public]; ok {
		d.removePeerLocked(p)
	}
	d.static = st
	d.privateKey = sk
	d.checker = noise.NewCookieChecker(st, d.clk.Now, d.rand)
	d.ident.Store(&identity{static: st, checker: d.checker})
	for _, p := range d.peers {
		p.hsMu.Lock()
		ps, err := noise.NewPeerStatic(st, p.public, p.psk)
		if err != nil {
			d.log.Verbosef("%v: %v", p, err)
		}
		p.static = ps
		p.hsMu.Unlock()
		p.zeroKeyMaterial()
	}
	return nil
}

// NewPeer adds a peer (or returns the existing one).
func (d *Device) NewPeer(pk noise.PublicKey) (*Peer, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.newPeerLocked(pk)
}

func (d *Device) newPeerLocked(pk noise.PublicKey) (*Peer, error) {
	if p, ok := d.peers[pk]; ok {
		return p, nil
	}
	if d.static != nil && d.static.Public == pk {
		return nil, errors.New("device: peer has our own public key")
	}
	p := &Peer{dev: d, public: pk}
	st := d.static
	if st == nil {
		st = &noStatic
	}
	ps, err := noise.NewPeerStatic(st, pk, p.psk)
	if err != nil && d.static != nil {
		d.log.Verbosef("%v: %v", p, err)
	}
	p.static = ps
	p.cookieGen = noise.NewCookieGenerator(&p.static, d.clk.Now)
	p.initEgress()
	p.timersInit()
	d.peers[pk] = p
	if d.isUp() {
		p.start()
	}
	return p, nil
}

// LookupPeer returns the peer with public key pk.
func (d *Device) LookupPeer(pk noise.PublicKey) *Peer {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.peers[pk]
}

// RemovePeer removes the peer with public key pk.
func (d *Device) RemovePeer(pk noise.PublicKey) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if p, ok := d.peers[pk]; ok {
		d.removePeerLocked(p)
	}
}

func (d *Device) removePeerLocked(p *Peer) {
	d.allowed.RemoveByPeer(p)
	p.stop()
	delete(d.peers, p.public)
}

// SetPresharedKey sets a peer's preshared key.
func (p *Peer) SetPresharedKey(psk noise.PresharedKey) {
	p.hsMu.Lock()
	p.psk = psk
	p.static.PSK = psk
	p.hsMu.Unlock()
}

// SetPersistentKeepalive sets the interval in seconds (0: off). Turning it
// on sends a keepalive at once, as the kernel does.
func (p *Peer) SetPersistentKeepalive(sec uint16) {
	if p.setPersistentKeepalive(sec) && p.dev.isUp() {
		p.sendKeepalive()
	}
}

// setPersistentKeepalive reports whether a keepalive should go out now.
func (p *Peer) setPersistentKeepalive(sec uint16) bool {
	old := p.persistentKeepalive.Swap(uint32(sec))
	if sec == 0 {
		p.timers.persistentKeepalive.del()
		return false
	}
	return old != uint32(sec)
}

// Stats are the device's drop and event counters.
type Stats struct {
	RxPackets, TxPackets   uint64
	DropNoRoute            uint64 // TUN packet with no peer for its destination
	DropNoEndpoint         uint64 // peer has no endpoint yet
	DropMalformed          uint64 // wrong size or unknown message type
	DropUnknownIndex       uint64 // transport message for no session
	DropDecrypt            uint64 // authentication failed
	DropReplay             uint64 // counter seen before or too old
	DropExpired            uint64 // session past REJECT_AFTER_TIME
	DropInner              uint64 // inner packet not IPv4/IPv6 or bad length
	DropSourceCheck        uint64 // inner source not allowed for the peer
	DropHandshakeQueueFull uint64
	DropMAC1               uint64
	DropRateLimited        uint64
	DropHandshakeInvalid   uint64 // failed to decrypt or unknown peer
	DropHandshakeReplay    uint64 // timestamp not newer, or flood limit
	CookiesSent            uint64
	HandshakesInitiated    uint64
	HandshakesCompleted    uint64
	StagedDropped          uint64
	SendErrors             uint64
	// Sends whose sticky source the kernel refused: they went out from a
	// kernel-chosen address and the peer's endpoint forgot the source.
	SourceRefused uint64
	// CoDel on the sockets' receive buffers (receive.go): data packets
	// dropped, and ECN-capable ones marked CE instead.
	IngressCoDelDropped uint64
	IngressECNMarked    uint64
	// Express-lane packets dropped because accepting them would have
	// moved the replay window past a backlog of bulk packets (receive.go).
	DropExpressAhead uint64
}

type counters struct {
	rxPackets, txPackets                                atomic.Uint64
	noRoute, noEndpoint, malformed, unknownIndex        atomic.Uint64
	decrypt, replay, expired, inner, sourceCheck        atomic.Uint64
	hsQueueFull, mac1, rateLimited, hsInvalid, hsReplay atomic.Uint64
	cookiesSent, hsInitiated, hsCompleted               atomic.Uint64
	stagedDropped, sendErrors                           atomic.Uint64
	ingressDropped, ingressMarked                       atomic.Uint64
	expressAhead, sourceRefused                         atomic.Uint64
}

// Stats returns the counters.
func (d *Device) Stats() Stats {
	c := &d.stats
	return Stats{
		RxPackets: c.rxPackets.Load(), TxPackets: c.txPackets.Load(),
		DropNoRoute: c.noRoute.Load(), DropNoEndpoint: c.noEndpoint.Load(), DropMalformed: c.malformed.Load(),
		DropUnknownIndex: c.unknownIndex.Load(), DropDecrypt: c.decrypt.Load(), DropReplay: c.replay.Load(),
		DropExpired: c.expired.Load(), DropInner: c.inner.Load(), DropSourceCheck: c.sourceCheck.Load(),
		DropHandshakeQueueFull: c.hsQueueFull.Load(), DropMAC1: c.mac1.Load(), DropRateLimited: c.rateLimited.Load(),
		DropHandshakeInvalid: c.hsInvalid.Load(), DropHandshakeReplay: c.hsReplay.Load(),
		CookiesSent: c.cookiesSent.Load(), HandshakesInitiated: c.hsInitiated.Load(), HandshakesCompleted: c.hsCompleted.Load(),
		StagedDropped: c.stagedDropped.Load(), SendErrors: c.sendErrors.Load(),
		IngressCoDelDropped: c.ingressDropped.Load(), IngressECNMarked: c.ingressMarked.Load(),
		DropExpressAhead: c.expressAhead.Load(), SourceRefused: c.sourceRefused.Load(),
	}
}

func isClosed(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed)
}
