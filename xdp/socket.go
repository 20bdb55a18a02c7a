package xdp

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// socketConfig sizes one XSK. Ring sizes are powers of two.
type socketConfig struct {
	frameSize        int
	rxFrames         int // frames for fill/rx; also the fill and rx ring sizes
	txFrames         int // frames for tx; also the tx and completion ring sizes
	ifindex, queueID int
	txCsum           bool // ask for TX checksum offload through TX metadata
	txSwCsum         bool // and have the kernel do it in software (tests)
	sg               bool // multi-buffer packets: bind with XDP_USE_SG
}

// TX frames hold the packet txHeadroom bytes in, behind the TX metadata
// (struct xsk_tx_metadata, txMetaLen bytes) when checksum offload is on.
const (
	txHeadroom = 64
	txMetaLen  = 24
)

// socket is one XSK bound to one queue, with its own UMEM. The rx side
// (fill, rx) belongs to the goroutine running its receive function, under
// rxMu; the tx side (tx, completion, the free stack) to whoever holds txMu.
type socket struct {
	fd      int
	queueID int
	umem    *umem
	txCsum  bool // the kernel took TX metadata: UDP checksums are offloaded
	// txSwCsum: and the UMEM has XDP_UMEM_TX_SW_CSUM, the kernel
	// computing them in software.
	txSwCsum bool

	rxMu    sync.Mutex
	fill    fillRing
	rx      rxRing
	pollFds [2]unix.PollFd // the XSK and the Bind's close eventfd
	// lent are the rx frames the last receive call handed out (or
	// skipped): they go back to the fill ring at the next call.
	lent []uint64

	txMu sync.Mutex
	tx   txRing
	comp completionRing
}

func newSocket(cfg socketConfig) (_ *socket, err error) {
	fd, err := unix.Socket(unix.AF_XDP, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("xdp: socket(AF_XDP): %w", err)
	}
	s := &socket{fd: fd, queueID: cfg.queueID, lent: make([]uint64, 0, cfg.rxFrames)}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if s.umem, err = newUmem(cfg.frameSize, cfg.rxFrames, cfg.txFrames); err != nil {
		return nil, err
	}
	// TX metadata (Linux 6.8+) lets the kernel, or the device, finish the
	// UDP checksum: in copy mode the skb goes out CHECKSUM_PARTIAL. An
	// older kernel refuses the flag; then checksums are computed here.
	if cfg.txCsum {
		var flags uint32
		if cfg.txSwCsum {
			flags = unix.XDP_UMEM_TX_SW_CSUM
		}
		err = registerUmem(fd, s.umem.mem, cfg.frameSize, txMetaLen, flags)
		s.txCsum = err == nil
		s.txSwCsum = s.txCsum && cfg.txSwCsum
	}
	if !s.txCsum {
		err = registerUmem(fd, s.umem.mem, cfg.frameSize, 0, 0)
	}
	if err != nil {
		return nil, err
	}
	for _, o := range []struct{ opt, n int }{
		{unix.XDP_UMEM_FILL_RING, cfg.rxFrames},
		{unix.XDP_UMEM_COMPLETION_RING, cfg.txFrames},
		{unix.XDP_RX_RING, cfg.rxFrames},
		{unix.XDP_TX_RING, cfg.txFrames},
	} {
		if err = unix.SetsockoptInt(fd, unix.SOL_XDP, o.opt, o.n); err != nil {
			return nil, fmt.Errorf("xdp: ring size option %d = %d: %w", o.opt, o.n, err)
		}
	}
	// Copy mode sends at most 32 frames per kick unless told otherwise;
	// older kernels lack the option, which only costs kicks.
	_ = unix.SetsockoptInt(fd, unix.SOL_XDP, unix.XDP_MAX_TX_SKB_BUDGET, 256)
	off, err := getMmapOffsets(fd)
	if err != nil {
		return nil, err
	}
	rxN, txN := uint32(cfg.rxFrames), uint32(cfg.txFrames)
	if err = mapRing(&s.fill.ring, fd, off.Fr, unix.XDP_UMEM_PGOFF_FILL_RING, rxN, 8); err != nil {
		return nil, err
	}
	if err = mapRing(&s.comp.ring, fd, off.Cr, unix.XDP_UMEM_PGOFF_COMPLETION_RING, txN, 8); err != nil {
		return nil, err
	}
	if err = mapRing(&s.rx.ring, fd, off.Rx, unix.XDP_PGOFF_RX_RING, rxN, sizeofDesc); err != nil {
		return nil, err
	}
	if err = mapRing(&s.tx.ring, fd, off.Tx, unix.XDP_PGOFF_TX_RING, txN, sizeofDesc); err != nil {
		return nil, err
	}
	s.fill.a, s.comp.a = s.fill.addrs(), s.comp.addrs()
	s.rx.d, s.tx.d = s.rx.descs(), s.tx.descs()
	// The consumer side starts from the kernel's indices (zero on a new
	// socket, but read them rather than assume).
	s.fill.cachedCons = s.fill.consumer.Load()
	s.fill.cachedProd = s.fill.producer.Load()
	s.tx.cachedCons = s.tx.consumer.Load()
	s.tx.cachedProd = s.tx.producer.Load()

	start, got := s.fill.reserve(rxN)
	for i := range got {
		s.fill.set(start+i, uint64(int(i)*cfg.frameSize))
	}
	s.fill.submit(got)

	sa := &unix.SockaddrXDP{Flags: unix.XDP_USE_NEED_WAKEUP, Ifindex: uint32(cfg.ifindex), QueueID: uint32(cfg.queueID)}
	if cfg.sg {
		sa.Flags |= unix.XDP_USE_SG
	}
	// A queue's previous XSK (a Close just before) is unbound by deferred
	// kernel work, which reports EBUSY until it has run.
	for tries := 0; ; tries++ {
		err = unix.Bind(fd, sa)
		if !errors.Is(err, unix.EBUSY) || tries == 100 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		return nil, fmt.Errorf("xdp: bind XSK to ifindex %d queue %d: %w", cfg.ifindex, cfg.queueID, err)
	}
	return s, nil
}

// close closes the XSK and unmaps its rings and UMEM; but for a UMEM that
// still has frames lent to a receiver (waitLentLocked gave up), which stays
// mapped for good rather than be pulled from under it. rxMu held.
func (s *socket) close() error {
	var err error
	if s.fd >= 0 {
		err = unix.Close(s.fd)
		s.fd = -1
	}
	for _, r := range []*ring{&s.fill.ring, &s.rx.ring, &s.tx.ring, &s.comp.ring} {
		r.unmap()
	}
	if s.umem != nil && len(s.lent) == 0 {
		s.umem.close()
	}
	return err
}

// lendWait bounds how long Close waits for a receiver to be done with the
// frames its last receive call lent (a variable for tests).
var lendWait = time.Second

// waitLentLocked waits, up to limit, until the frames the last receive
// call lent come back: the receive function's next call, which the Bind's
// closing makes return at once, gives them back. rxMu held (released while
// waiting).
func (s *socket) waitLentLocked(limit time.Duration) {
	for deadline := time.Now().Add(limit); len(s.lent) > 0 && time.Now().Before(deadline); {
		s.rxMu.Unlock()
		time.Sleep(time.Millisecond)
		s.rxMu.Lock()
	}
}

// refillLocked gives the frames in lent back to the fill ring and wakes
// the kernel if it waits for them. The fill ring has room for every rx
// frame, so all fit. rxMu held.
func (s *socket) refillLocked() {
	if len(s.lent) == 0 {
		return
	}
	start, got := s.fill.reserve(uint32(len(s.lent)))
	for i := range got {
		s.fill.set(start+i, s.lent[i])
	}
	s.fill.submit(got)
	// Should the ring ever lack room, the rest wait for the next call.
	s.lent = s.lent[:copy(s.lent, s.lent[got:])]
	if s.fill.needWakeup() {
		wakeRx(s.fd)
	}
}

// reapLocked moves completed tx frames back to the free stack. txMu held.
func (s *socket) reapLocked() {
	start, n := s.comp.peek(s.comp.size)
	for i := range n {
		s.umem.push(s.comp.get(start + i))
	}
	if n > 0 {
		s.comp.release(n)
	}
}

// kickLocked pushes the tx ring when the kernel asks (copy mode always
// does). Busy and no-buffer errors mean "try again after completions".
func (s *socket) kickLocked() error {
	if !s.tx.needWakeup() {
		return nil
	}
	err := kick(s.fd)
	if err == nil || errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EBUSY) ||
		errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.ENETDOWN) {
		return nil
	}
	return fmt.Errorf("xdp: tx kick: %w", err)
}
