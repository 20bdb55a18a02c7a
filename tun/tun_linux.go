package tun

// The Linux TUN device follows wireguard-go's tun/tun_linux.go (MIT,
// Copyright (C) 2017-2025 WireGuard LLC): open /dev/net/tun, TUNSETIFF,
// non-blocking fd handed to the Go poller, MTU by SIOC[GS]IFMTU, state from
// an RTMGRP_LINK netlink subscription. Unlike it, reads and writes move
// packet.Batch slots, a Read drains several packets (non-blocking reads
// after the first), and a deleted interface is reported as EventDeleted.
//
// Not enabled yet, with room left for them: IFF_VNET_HDR (offloads; the
// slot headroom already fits a virtio_net_hdr) and IFF_MULTI_QUEUE (one
// queue per CPU). Both are flags to create and per-queue state in Device.

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/wgxdp/wgxdp/packet"
)

const cloneDevicePath = "/dev/net/tun"

// ReadBatchSize is the most packets one Read returns.
const ReadBatchSize = packet.MaxBatch

// linuxTUN is a Linux TUN interface opened on one fd (one queue).
type linuxTUN struct {
	file *os.File
	rc   syscall.RawConn

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

	// Read state: one reader at a time (the interface's contract); the
	// callback is bound once so Read does not allocate.
	readMu  sync.Mutex
	rb      *packet.Batch
	rmax    int
	rerr    error
	readFn  func(fd uintptr) bool
	writers sync.Pool // of *tunWriter, so concurrent Writes need no lock
}

var _ Device = (*linuxTUN)(nil)

// Create creates (or attaches to a persistent) TUN interface name
// (IFF_TUN|IFF_NO_PI), sets its MTU and starts watching its state.
func Create(name string, mtu int) (Device, error) {
	return create(name, mtu, unix.IFF_TUN|unix.IFF_NO_PI)
}

func create(name string, mtu int, flags uint16) (Device, error) {
	fd, err := unix.Open(cloneDevicePath, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("tun: open %s: %w", cloneDevicePath, err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tun: interface name %q: %w", name, err)
	}
	ifr.SetUint16(flags)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tun: TUNSETIFF %q: %w", name, err)
	}
	// The fd must be non-blocking before os.NewFile so that the file is
	// registered with the poller and Close unblocks readers.
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tun: %w", err)
	}
	return CreateFromFile(os.NewFile(uintptr(fd), cloneDevicePath), mtu)
}

// CreateFromFD makes a Device of an open TUN fd, as the daemon receives it
// in WG_TUN_FD. The interface keeps its MTU. The Device owns fd.
func CreateFromFD(fd int) (Device, error) {
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, fmt.Errorf("tun: fd %d: %w", fd, err)
	}
	return CreateFromFile(os.NewFile(uintptr(fd), cloneDevicePath), 0)
}

// CreateFromFile makes a Device of an open TUN file, whose fd must already
// be non-blocking, as wireguard-go's CreateTUNFromFile. A positive mtu is
// set on the interface. The Device owns file, and closes it on error too.
func CreateFromFile(file *os.File, mtu int) (Device, error) {
	t, err := newLinuxTUN(file, mtu)
	if err != nil {
		file.Close()
		return nil, err
	}
	return t, nil
}

func newLinuxTUN(file *os.File, mtu int) (*linuxTUN, error) {
	rc, err := file.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("tun: %w", err)
	}
	t := &linuxTUN{
		file:   file,
		rc:     rc,
		ctl:    -1,
		events: make(chan Event, 16),
		done:   make(chan struct{}),
	}
	t.readFn = t.readPackets
	t.writers.New = func() any { w := &tunWriter{}; w.fn = w.write; return w }

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

// Read implements Device. The first packet is waited for in the poller;
// more are taken with non-blocking reads until none is ready or the batch
// (at most ReadBatchSize) is full. A packet too big for its slot is
// dropped.
func (t *linuxTUN) Read(b *packet.Batch) error {
	t.readMu.Lock()
	defer t.readMu.Unlock()
	b.N = 0
	t.rmax = min(b.Cap(), ReadBatchSize)
	if t.rmax == 0 {
		return errors.New("tun: read into a batch with no slots")
	}
	t.rb, t.rerr = b, nil
	err := t.rc.Read(t.readFn)
	t.rb = nil
	if err == nil {
		err = t.rerr
	}
	if err != nil {
		b.N = 0
		return t.ioError("read", err)
	}
	return nil
}

// readPackets is the RawConn read callback; it returns false to wait for
// the fd to become readable, which it does only while no packet is read.
func (t *linuxTUN) readPackets(fd uintptr) bool {
	b := t.rb
	for b.N < t.rmax {
		s := b.Slots[b.N]
		s.Reset()
		room := s.Room()
		if len(room) == 0 {
			if b.N == 0 {
				t.rerr = errors.New("slot has no room for a packet")
			}
			return true
		}
		n, err := unix.Read(int(fd), room)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return b.N > 0
		case err != nil:
			if b.N == 0 {
				t.rerr = err
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
	ifr, err := unix.NewIfreq("")
	if err != nil {
		return false
	}
	var ierr error
	if err := t.rc.Control(func(fd uintptr) { ierr = unix.IoctlIfreq(int(fd), unix.TUNGETIFF, ifr) }); err != nil {
		return false
	}
	return ierr == unix.EBADFD
}

// tunWriter is the state of one Write.
type tunWriter struct {
	b   *packet.Batch
	i   int
	err error
	fn  func(fd uintptr) bool
}

func (w *tunWriter) write(fd uintptr) bool {
	for ; w.i < w.b.N; w.i++ {
		p := w.b.Slots[w.i].Data()
		if len(p) == 0 {
			continue
		}
		for {
			_, err := unix.Write(int(fd), p)
			if err == unix.EINTR {
				continue
			}
			if err == unix.EAGAIN {
				return false
			}
			if err != nil && w.err == nil {
				w.err = err
			}
			break
		}
	}
	return true
}

// Write implements Device: each packet is one write. A packet the kernel
// refuses does not stop the others; the first error is returned. Writes
// may run concurrently.
func (t *linuxTUN) Write(b *packet.Batch) error {
	if b.N == 0 {
		return nil
	}
	w := t.writers.Get().(*tunWriter)
	w.b, w.i, w.err = b, 0, nil
	err := t.rc.Write(w.fn)
	if err == nil {
		err = w.err
	}
	w.b, w.err = nil, nil
	t.writers.Put(w)
	if err != nil {
		return t.ioError("write", err)
	}
	return nil
}

// Name implements Device; it asks the kernel, so a renamed interface
// reports its new name.
func (t *linuxTUN) Name() (string, error) {
	ifr, err := unix.NewIfreq("")
	if err != nil {
		return "", err
	}
	var ierr error
	if err := t.rc.Control(func(fd uintptr) { ierr = unix.IoctlIfreq(int(fd), unix.TUNGETIFF, ifr) }); err != nil {
		return "", t.ioError("name", err)
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
		err = t.file.Close()
		t.wg.Wait()
		close(t.events)
		t.ctlMu.Lock()
		unix.Close(t.ctl)
		t.ctl = -1
		t.ctlMu.Unlock()
	})
	return err
}
