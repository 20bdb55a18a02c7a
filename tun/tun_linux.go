package tun

// The Linux TUN device follows wireguard-go's tun/tun_linux.go (MIT,
// Copyright (C) 2017-2025 WireGuard LLC): open /dev/net/tun, TUNSETIFF,
// non-blocking fd handed to the Go poller, MTU by SIOC[GS]IFMTU, state from
// an RTMGRP_LINK netlink subscription. Unlike it, reads and writes move
// packet.Batch slots, a Read drains several packets (non-blocking reads
// after the first), and a deleted interface is reported as EventDeleted.
//
// With Options.Offload the fd has IFF_VNET_HDR and the kernel's TCP/UDP
// segmentation offloads (offload_linux.go); with Options.Queues > 1 it is
// IFF_MULTI_QUEUE, one fd (a queue) per reader.

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/wgxdp/wgxdp/gro"
	"github.com/wgxdp/wgxdp/internal/rtlane"
	"github.com/wgxdp/wgxdp/packet"
)

const cloneDevicePath = "/dev/net/tun"

// ReadBatchSize is the most packets one Read returns.
const ReadBatchSize = packet.MaxBatch

// linuxTUN is a Linux TUN interface opened on one fd per queue.
type linuxTUN struct {
	// q[0] is the Device's own queue; file and rc are its fd's, for the
	// ioctls that ask the interface (Name, detached) and for File.
	q    []*queue
	file *os.File
	rc   syscall.RawConn
	// express is the index in q of the express queue (express_linux.go),
	// 0 if none, and expressErr why not.
	express    int
	expressErr error
	wake       *rtlane.Waker // ends the express reader's Wait on Close

	// vnet: the fd has IFF_VNET_HDR, so every read and write carries a
	// virtio_net_hdr; gro says which offloads the kernel took and so what
	// Write may coalesce (both false: a zero header on every packet).
	vnet bool
	gro  gro.Options

	// ctl is an AF_INET datagram socket for interface ioctls, opened when
	// the device is, so it is in the device's network namespace whatever
	// thread later asks for the MTU. ctlMu guards it against Close.
	ctlMu sync.RWMutex
	ctl   int

	index  int32
	events chan Event
	nl     *os.File // the netlink subscription; nil when unmonitored
	done   chan struct{}
	wg     sync.WaitGroup // the netlink listener

	closeOnce sync.Once
	closed    atomic.Bool

	// Writers: a bounded free list of write states, made on demand up to
	// its capacity, so concurrent Writes need no lock and a coalescing
	// writer's 8 MiB of big slots exist at most cap(writers) times.
	writers chan *tunWriter
	nwriter atomic.Int32

	stats offloadStats
}

var (
	_ Device     = (*linuxTUN)(nil)
	_ MultiQueue = (*linuxTUN)(nil)
	_ Device     = (*queueDevice)(nil)
)

// Create creates (or attaches to a persistent) TUN interface name
// (IFF_TUN|IFF_NO_PI), sets its MTU and starts watching its state, with
// DefaultOptions: offloads on unless WGXDP_TUN_OFFLOAD=0, one queue.
func Create(name string, mtu int) (Device, error) {
	return CreateWithOptions(name, mtu, DefaultOptions())
}

// CreateWithOptions is Create with explicit options. With opts.Offload it
// adds IFF_VNET_HDR and sets the offloads the kernel takes (see Options);
// with opts.Queues > 1 it adds IFF_MULTI_QUEUE and opens the interface
// once per queue, and the Device implements MultiQueue.
func CreateWithOptions(name string, mtu int, opts Options) (Device, error) {
	queues := max(opts.Queues, 1)
	flags := uint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if queues > 1 || opts.Express || opts.MultiQueue {
		flags |= unix.IFF_MULTI_QUEUE
	}
	if opts.Offload {
		fd, err := openQueue(name, flags|unix.IFF_VNET_HDR)
		if err == nil {
			var tcp, udp bool
			if tcp, udp, err = setOffloads(fd, true); err == nil {
				return newFromFDs(name, fd, mtu, queues, flags|unix.IFF_VNET_HDR, tcp, udp, opts.Express)
			}
			// A kernel that takes IFF_VNET_HDR but not even TCP
			// offloads: start again without the header (TUNSETIFF
			// resets the flags of a persistent interface; a fresh one
			// goes with its fd).
			unix.Close(fd)
		}
	}
	fd, err := openQueue(name, flags)
	if err != nil {
		return nil, err
	}
	return newFromFDs(name, fd, mtu, queues, flags, false, false, opts.Express)
}

// openQueue opens /dev/net/tun and attaches it to name with flags; the fd
// is non-blocking.
func openQueue(name string, flags uint16) (int, error) {
	fd, err := unix.Open(cloneDevicePath, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("tun: open %s: %w", cloneDevicePath, err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("tun: interface name %q: %w", name, err)
	}
	ifr.SetUint16(flags)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("tun: TUNSETIFF %q: %w", name, err)
	}
	// The fd must be non-blocking before os.NewFile so that the file is
	// registered with the poller and Close unblocks readers.
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("tun: %w", err)
	}
	return fd, nil
}

// newFromFDs makes the Device of the first queue's fd and opens the
// others, and the express queue if asked (a failure there only leaves it
// out: ExpressQueue says why). It owns fd.
func newFromFDs(name string, fd, mtu, queues int, flags uint16, tcp, udp, express bool) (Device, error) {
	files := make([]*os.File, 0, queues)
	files = append(files, os.NewFile(uintptr(fd), cloneDevicePath))
	for len(files) < queues {
		fd, err := openQueue(name, flags)
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, err
		}
		files = append(files, os.NewFile(uintptr(fd), cloneDevicePath))
	}
	t, err := newLinuxTUN(files, mtu, flags&unix.IFF_VNET_HDR != 0, tcp, udp)
	if err != nil {
		for _, f := range files {
			f.Close()
		}
		return nil, err
	}
	t.expressErr = errors.New("not asked for")
	if express {
		t.expressErr = t.addExpress(name, flags)
	}
	return t, nil
}

// CreateFromFD makes a Device of an open TUN fd, as the daemon receives it
// in WG_TUN_FD. The interface keeps its MTU. The Device owns fd. If the fd
// was opened with IFF_VNET_HDR, the offloads are set as Create would
// (DefaultOptions().Offload; with WGXDP_TUN_OFFLOAD=0, none, but the
// header stays: it is the fd's for good); it has one queue.
func CreateFromFD(fd int) (Device, error) {
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, fmt.Errorf("tun: fd %d: %w", fd, err)
	}
	return CreateFromFile(os.NewFile(uintptr(fd), cloneDevicePath), 0)
}

// CreateFromFile makes a Device of an open TUN file, whose fd must already
// be non-blocking, as wireguard-go's CreateTUNFromFile. A positive mtu is
// set on the interface. The Device owns file, and closes it on error too.
// Offloads are detected and set as by CreateFromFD.
func CreateFromFile(file *os.File, mtu int) (Device, error) {
	vnet, tcp, udp, err := detectOffloads(file, DefaultOptions().Offload)
	if err != nil {
		file.Close()
		return nil, err
	}
	t, err := newLinuxTUN([]*os.File{file}, mtu, vnet, tcp, udp)
	if err != nil {
		file.Close()
		return nil, err
	}
	// An interface made multi-queue (by Create with Options.MultiQueue, in
	// the daemon's parent) gets its express queue here.
	t.expressErr = errors.New("not asked for")
	if DefaultOptions().Express {
		t.expressErr = t.addExpressFromFile()
	}
	return t, nil
}

// newLinuxTUN makes the Device of its queues' files (which the caller
// closes on error).
func newLinuxTUN(files []*os.File, mtu int, vnet, tcp, udp bool) (*linuxTUN, error) {
	t := &linuxTUN{
		ctl:     -1,
		vnet:    vnet,
		gro:     gro.Options{TCP: tcp, UDP: udp},
		events:  make(chan Event, 16),
		done:    make(chan struct{}),
		writers: make(chan *tunWriter, max(2, runtime.GOMAXPROCS(0), len(files))),
	}
	for _, f := range files {
		q, err := newQueue(t, f)
		if err != nil {
			return nil, err
		}
		t.q = append(t.q, q)
	}
	t.file, t.rc = t.q[0].file, t.q[0].rc

	var err error
	t.ctl, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("tun: control socket: %w", err)
	}
	fail := func(err error) (*linuxTUN, error) {
		unix.Close(t.ctl)
		if t.nl != nil {
			t.nl.Close()
		}
		return nil, err
	}
	name, err := t.Name()
	if err != nil {
		return fail(err)
	}
	if mtu > 0 {
		if err := t.ifreq(name, unix.SIOCSIFMTU, func(r *unix.Ifreq) { r.SetUint32(uint32(mtu)) }, nil); err != nil {
			return fail(fmt.Errorf("tun: set MTU of %s to %d: %w", name, mtu, err))
		}
	}
	if err := t.ifreq(name, unix.SIOCGIFINDEX, nil, func(r *unix.Ifreq) { t.index = int32(r.Uint32()) }); err != nil {
		return fail(fmt.Errorf("tun: index of %s: %w", name, err))
	}
	// Subscribe before reading the state, so no change falls between.
	if t.nl, err = subscribeLinks(); err != nil {
		return fail(err)
	}
	st, err := t.state(name)
	if err != nil {
		return fail(err)
	}
	if st.running {
		t.events <- EventUp
	}
	t.wg.Add(1)
	go t.listen(st)
	return t, nil
}

// ifreq runs an interface ioctl on the control socket.
func (t *linuxTUN) ifreq(name string, req uint, set, get func(*unix.Ifreq)) error {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if set != nil {
		set(ifr)
	}
	t.ctlMu.RLock()
	defer t.ctlMu.RUnlock()
	if t.ctl < 0 {
		return os.ErrClosed
	}
	if err := unix.IoctlIfreq(t.ctl, req, ifr); err != nil {
		return err
	}
	if get != nil {
		get(ifr)
	}
	return nil
}

type linkState struct {
	running bool
	mtu     int
}

// state reads the interface's flags and MTU by ioctl.
func (t *linuxTUN) state(name string) (linkState, error) {
	var st linkState
	err := t.ifreq(name, unix.SIOCGIFFLAGS, nil, func(r *unix.Ifreq) {
		st.running = r.Uint16()&unix.IFF_RUNNING != 0
	})
	if err == nil {
		err = t.ifreq(name, unix.SIOCGIFMTU, nil, func(r *unix.Ifreq) { st.mtu = int(int32(r.Uint32())) })
	}
	if err != nil {
		return st, fmt.Errorf("tun: state of %s: %w", name, err)
	}
	return st, nil
}

// queue is one fd of the interface with its reader's state.
type queue struct {
	t    *linuxTUN
	file *os.File
	rc   syscall.RawConn

	// Read state: one reader at a time (the interface's contract); the
	// callback is bound once so Read does not allocate.
	readMu sync.Mutex
	rb     *packet.Batch
	rmax   int
	rerr   error
	readFn func(fd uintptr) bool
	vr     vnetReader // with IFF_VNET_HDR
	// express marks the express queue (express_linux.go); rt is its
	// realtime lane (package rtlane), the zero Lane, off, for the others.
	express bool
	rt      rtlane.Lane
}

func newQueue(t *linuxTUN, f *os.File) (*queue, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("tun: %w", err)
	}
	q := &queue{t: t, file: f, rc: rc}
	if t.vnet {
		q.vr.init(&t.stats)
		q.readFn = q.readVnet
	} else {
		q.readFn = q.readPackets
	}
	return q, nil
}

// Read implements Device: it reads the first queue.
func (t *linuxTUN) Read(b *packet.Batch) error { return t.q[0].read(b) }

// Write implements Device: it writes to the first queue.
func (t *linuxTUN) Write(b *packet.Batch) error { return t.q[0].write(b) }

// Queues implements MultiQueue.
func (t *linuxTUN) Queues() int { return len(t.q) }

// Queue implements MultiQueue. It panics if i is out of range, as an
// index does.
func (t *linuxTUN) Queue(i int) Device {
	if i == 0 {
		return t
	}
	return &queueDevice{t, t.q[i]}
}

// queueDevice is one queue of a multi-queue TUN as a Device.
type queueDevice struct {
	*linuxTUN
	q *queue
}

func (d *queueDevice) Read(b *packet.Batch) error  { return d.q.read(b) }
func (d *queueDevice) Write(b *packet.Batch) error { return d.q.write(b) }

// read: the first packet is waited for in the poller; more are taken with
// non-blocking reads until none is ready or the batch (at most
// ReadBatchSize) is full. A packet too big for its slot is dropped.
func (q *queue) read(b *packet.Batch) error {
	q.readMu.Lock()
	defer q.readMu.Unlock()
	q.rt.Enter()
	b.N = 0
	q.rmax = min(b.Cap(), ReadBatchSize)
	if q.rmax == 0 {
		return errors.New("tun: read into a batch with no slots")
	}
	q.rb, q.rerr = b, nil
	var err error
	if !q.t.vnet || !q.vr.ready(b, q.rmax) {
		err = q.rc.Read(q.readFn)
	}
	q.rb = nil
	if err == nil {
		err = q.rerr
	}
	if err != nil {
		b.N = 0
		return q.t.ioError("read", err)
	}
	if q.express {
		q.t.stats.expressRead.Add(uint64(b.N))
	}
	q.rt.Account(b.N)
	return nil
}

// idle is what a read callback does on EAGAIN: report the packets in hand
// (true), or wait for more — in the netpoller (false), or, on a realtime
// lane, on this thread: then true with no packets after a timeout, so
// that the caller's next Read notices a Close.
func (q *queue) idle(fd uintptr, n int) (ret, again bool) {
	if n > 0 {
		return true, false
	}
	if !q.rt.On() {
		return false, false
	}
	if q.rt.Wait(fd) {
		return false, true
	}
	return true, false
}

// readPackets is the RawConn read callback without IFF_VNET_HDR; it
// returns false to wait for the fd to become readable, which it does only
// while no packet is read.
func (q *queue) readPackets(fd uintptr) bool {
	b := q.rb
	for b.N < q.rmax {
		s := b.Slots[b.N]
		s.Reset()
		room := s.Room()
		if len(room) == 0 {
			if b.N == 0 {
				q.rerr = errors.New("slot has no room for a packet")
			}
			return true
		}
		n, err := unix.Read(int(fd), room)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			if ret, again := q.idle(fd, b.N); !again {
				return ret
			}
			continue
		case err != nil:
			if b.N == 0 {
				q.rerr = err
			}
			// With packets in hand, report them; the error recurs on
			// the next Read.
			return true
		case !s.SetLen(n):
			continue // larger than the slot: the kernel cut it; drop it
		}
		b.N++
	}
	return true
}

// readVnet is the RawConn read callback with IFF_VNET_HDR: each read is a
// virtio_net_hdr and a packet of up to 64 KiB into the queue's buffer,
// split into the batch.
func (q *queue) readVnet(fd uintptr) bool {
	b := q.rb
	for b.N < q.rmax {
		n, err := unix.Read(int(fd), q.vr.buf)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			if ret, again := q.idle(fd, b.N); !again {
				return ret
			}
			continue
		case err != nil:
			if b.N == 0 {
				q.rerr = err
			}
			return true
		}
		if !q.vr.split(b, q.rmax, n) {
			return true // the packet waits for the next Read
		}
	}
	return true
}

// ioError maps errors after Close to os.ErrClosed and those of a deleted
// interface to ErrDeleted. Deletion detaches the fd: reads and writes fail
// with EBADFD, and the poller, which sees EPOLLERR, reports "not pollable"
// without retrying the read; both are told apart by asking the fd.
func (t *linuxTUN) ioError(op string, err error) error {
	switch {
	case t.closed.Load():
		return os.ErrClosed
	case errors.Is(err, unix.EBADFD) || t.detached():
		return ErrDeleted
	}
	return fmt.Errorf("tun: %s: %w", op, err)
}

// detached reports whether the fd no longer has an interface.
func (t *linuxTUN) detached() bool {
	_, cerr, ierr := t.iff()
	return cerr == nil && ierr == unix.EBADFD
}

// iff asks the fd for its interface (TUNGETIFF): its name and flags. cerr
// is a failure to reach the fd, ierr the ioctl's own error.
func (t *linuxTUN) iff() (ifr *unix.Ifreq, cerr, ierr error) {
	if ifr, cerr = unix.NewIfreq(""); cerr != nil {
		return nil, cerr, nil
	}
	cerr = t.rc.Control(func(fd uintptr) { ierr = unix.IoctlIfreq(int(fd), unix.TUNGETIFF, ifr) })
	return ifr, cerr, ierr
}

// tunWriter is the state of one Write.
type tunWriter struct {
	b      *packet.Batch
	i, end int  // b.Slots[i:end] are yet to be written
	hdr    bool // put a zero virtio_net_hdr in front of each packet
	err    error
	fn     func(fd uintptr) bool
	// With coalescing (coalesce set): the plan for b.Slots[from:end] and
	// the writev vector; see writeLinked.
	coalesce bool
	from     int
	links    *gro.Linked
	iov      []unix.Iovec
	view     packet.Batch
	stats    *offloadStats
	linkedFn func(fd uintptr) bool
}

func (w *tunWriter) write(fd uintptr) bool {
	for ; w.i < w.end; w.i++ {
		s := w.b.Slots[w.i]
		if s.Len() == 0 {
			continue
		}
		for {
			var err error
			if w.hdr {
				err = writeZeroHdr(int(fd), s)
			} else {
				_, err = unix.Write(int(fd), s.Data())
			}
			if retry, wait := w.outcome(err); wait {
				return false
			} else if !retry {
				break
			}
		}
	}
	return true
}

// outcome sorts the error of one write: retry it (EINTR), wait until the
// fd is writable (EAGAIN), or neither — the packet is done with, and the
// first other error is kept in w.err.
func (w *tunWriter) outcome(err error) (retry, wait bool) {
	switch err {
	case unix.EINTR:
		return true, false
	case unix.EAGAIN:
		return false, true
	case nil:
	default:
		if w.err == nil {
			w.err = err
		}
	}
	return false, false
}

// getWriter takes a free write state, or makes one while fewer than
// cap(t.writers) exist, or waits for one.
func (t *linuxTUN) getWriter() *tunWriter {
	select {
	case w := <-t.writers:
		return w
	default:
	}
	if t.nwriter.Add(1) <= int32(cap(t.writers)) {
		w := &tunWriter{}
		w.fn = w.write
		if t.vnet && (t.gro.TCP || t.gro.UDP) {
			w.coalesce = true
			w.links = new(gro.Linked)
			w.iov = make([]unix.Iovec, 0, packet.MaxBatch)
			w.stats = &t.stats
			w.linkedFn = func(fd uintptr) bool { return w.writeLinked(int(fd)) }
		}
		return w
	}
	t.nwriter.Add(-1)
	return <-t.writers
}

// write writes b on q: each packet is one write or, where the TUN
// coalesces, each run of segments of a flow one super-packet. A packet the
// kernel refuses does not stop the others; the first error is returned.
// Writes may run concurrently. b's packets are left as they were (a
// virtio_net_hdr may be put in their headroom, and taken off again).
func (q *queue) write(b *packet.Batch) error {
	if b.N == 0 {
		return nil
	}
	t := q.t
	w := t.getWriter()
	var first error
	for from := 0; from < b.N; from += packet.MaxBatch {
		to := min(from+packet.MaxBatch, b.N)
		w.b, w.i, w.end, w.hdr, w.err, w.from = b, from, to, t.vnet, nil, from
		fn, linked := w.fn, false
		if w.coalesce && to-from > 1 {
			w.view.Slots, w.view.N = b.Slots[from:to], to-from
			if gro.CoalesceLinked(&w.view, t.gro, w.links) == nil {
				fn, linked = w.linkedFn, true
			}
		}
		err := q.rc.Write(fn)
		if linked {
			w.links.Restore(&w.view)
		}
		w.view.Slots = nil
		if err != nil {
			first = err // the fd is closed or gone: the rest would fail too
			break
		}
		if first == nil {
			first = w.err
		}
	}
	w.b, w.err = nil, nil
	t.writers <- w
	if first != nil {
		return t.ioError("write", first)
	}
	return nil
}

// Name implements Device; it asks the kernel, so a renamed interface
// reports its new name.
func (t *linuxTUN) Name() (string, error) {
	ifr, cerr, ierr := t.iff()
	if cerr != nil {
		return "", t.ioError("name", cerr)
	}
	if ierr != nil {
		return "", t.ioError("TUNGETIFF", ierr)
	}
	return ifr.Name(), nil
}

// MTU implements Device, by SIOCGIFMTU.
func (t *linuxTUN) MTU() (int, error) {
	name, err := t.Name()
	if err != nil {
		return 0, err
	}
	var mtu int
	if err := t.ifreq(name, unix.SIOCGIFMTU, nil, func(r *unix.Ifreq) { mtu = int(int32(r.Uint32())) }); err != nil {
		if t.closed.Load() {
			return 0, os.ErrClosed
		}
		return 0, fmt.Errorf("tun: MTU of %s: %w", name, err)
	}
	return mtu, nil
}

// Events implements Device.
func (t *linuxTUN) Events() <-chan Event { return t.events }

// BatchSize implements Device.
func (t *linuxTUN) BatchSize() int { return ReadBatchSize }

// Close implements Device: it unblocks Read and Write (os.ErrClosed), stops
// the listener and then closes Events. Closing the last fd of a
// non-persistent TUN deletes the interface.
func (t *linuxTUN) Close() error {
	var err error
	t.closeOnce.Do(func() {
		t.closed.Store(true)
		close(t.done)
		if t.nl != nil {
			t.nl.Close()
		}
		t.wake.Wake() // the express reader's realtime wait, if any
		for _, q := range t.q {
			if e := q.file.Close(); err == nil {
				err = e
			}
		}
		t.wake.Close()
		t.wg.Wait()
		close(t.events)
		t.ctlMu.Lock()
		unix.Close(t.ctl)
		t.ctl = -1
		t.ctlMu.Unlock()
	})
	return err
}
