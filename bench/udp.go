package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/wgxdp/wgxdp/internal/netns"
)

// UDPOptions shape a UDP flood from A to B.
type UDPOptions struct {
	Duration time.Duration // how long the sender sends; 5 s if zero
	Payload  int           // UDP payload bytes; 64 if zero
	Batch    int           // messages per sendmmsg/recvmmsg; 64 if zero
}

// UDPResult is what a UDP flood measured. Loss counts every packet the
// sender's socket accepted and the receiver never saw, wherever it was
// dropped: the tunnel's queues, the daemons, or the receiver's socket.
type UDPResult struct {
	Payload     int     `json:"payload_bytes"`
	Seconds     float64 `json:"seconds"` // the sender's
	Sent        uint64  `json:"sent"`
	Received    uint64  `json:"received"`
	SentPPS     float64 `json:"sent_pps"`
	ReceivedPPS float64 `json:"received_pps"` // received ÷ the sender's seconds
	LossPercent float64 `json:"loss_percent"`
}

// UDPFlood sends Payload-byte UDP datagrams from p.Client to p.Server as
// fast as one sendmmsg loop can for Duration, counts what a recvmmsg loop
// receives (until 300 ms pass without a packet after the sender stops),
// and reports packets per second and loss. Both sockets are opened inside
// their namespaces from this process (netns.Do), so the sender and
// receiver are Go loops, not iperf3: batched system calls offer a higher
// rate than iperf3's one send per packet. Blocking sends give
// backpressure through the socket's send buffer, as iperf3's would.
func UDPFlood(ctx context.Context, p *Pair, o UDPOptions) (UDPResult, error) {
	if o.Duration <= 0 {
		o.Duration = 5 * time.Second
	}
	if o.Payload <= 0 {
		o.Payload = 64
	}
	if o.Batch <= 0 {
		o.Batch = 64
	}
	rfd, port, err := udpSocket(p.B, func(fd int) (int, error) {
		// A receive buffer big enough that a slow reader loses no burst.
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
		sa := &unix.SockaddrInet4{Addr: p.Server.As4()}
		if err := unix.Bind(fd, sa); err != nil {
			return 0, fmt.Errorf("bind %v: %w", p.Server, err)
		}
		got, err := unix.Getsockname(fd)
		if err != nil {
			return 0, err
		}
		return got.(*unix.SockaddrInet4).Port, nil
	})
	if err != nil {
		return UDPResult{}, fmt.Errorf("%s: receiver: %w", p.Kind, err)
	}
	defer unix.Close(rfd)
	sfd, _, err := udpSocket(p.A, func(fd int) (int, error) {
		sa := &unix.SockaddrInet4{Addr: p.Server.As4(), Port: port}
		if err := unix.Connect(fd, sa); err != nil {
			return 0, fmt.Errorf("connect %v:%d: %w", p.Server, port, err)
		}
		return 0, nil
	})
	if err != nil {
		return UDPResult{}, fmt.Errorf("%s: sender: %w", p.Kind, err)
	}
	defer unix.Close(sfd)
	// Both loops wake every 100 ms to see whether to stop.
	tv := unix.NsecToTimeval((100 * time.Millisecond).Nanoseconds())
	for _, fd := range []int{rfd, sfd} {
		unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	}

	var received, lastRx atomic.Int64 // lastRx: UnixNano of the last packet
	var stopRx atomic.Bool
	var wg sync.WaitGroup
	var rxErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		rxErr = mmsgLoop(rfd, unix.SYS_RECVMMSG, o.Batch, 2048, func(n int) bool {
			if n > 0 {
				received.Add(int64(n))
				lastRx.Store(time.Now().UnixNano())
			}
			return !stopRx.Load()
		})
	}()

	var sent int64
	start := time.Now()
	deadline := start.Add(o.Duration)
	txErr := mmsgLoop(sfd, unix.SYS_SENDMMSG, o.Batch, o.Payload, func(n int) bool {
		sent += int64(n)
		return ctx.Err() == nil && time.Now().Before(deadline)
	})
	elapsed := time.Since(start)
	// Drain: what is still in the tunnel arrives within moments.
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end) && ctx.Err() == nil; {
		time.Sleep(50 * time.Millisecond)
		if time.Since(time.Unix(0, lastRx.Load())) > 300*time.Millisecond {
			break
		}
	}
	stopRx.Store(true)
	wg.Wait()
	if err := errors.Join(txErr, rxErr, ctx.Err()); err != nil {
		return UDPResult{}, fmt.Errorf("%s: udp flood: %w", p.Kind, err)
	}
	r := UDPResult{
		Payload:  o.Payload,
		Seconds:  elapsed.Seconds(),
		Sent:     uint64(sent),
		Received: uint64(received.Load()),
	}
	if r.Sent == 0 {
		return r, fmt.Errorf("%s: udp flood: nothing was sent", p.Kind)
	}
	r.SentPPS = float64(r.Sent) / r.Seconds
	r.ReceivedPPS = float64(r.Received) / r.Seconds
	r.LossPercent = 100 * (1 - float64(min(r.Received, r.Sent))/float64(r.Sent))
	return r, p.Check()
}

// udpSocket opens an IPv4 UDP socket inside ns and runs setup on it there.
func udpSocket(ns *netns.Namespace, setup func(fd int) (int, error)) (fd, v int, err error) {
	err = ns.Do(func() error {
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		if v, err = setup(fd); err != nil {
			unix.Close(fd)
		}
		return err
	})
	return fd, v, err
}

// mmsgLoop calls sendmmsg or recvmmsg (trap) on fd with batch messages of
// size bytes each, until more returns false; more is given how many
// messages went through each call (0 on a timeout). A blocking socket with
// SO_RCVTIMEO/SO_SNDTIMEO keeps the loop checking more.
func mmsgLoop(fd int, trap uintptr, batch, size int, more func(n int) bool) error {
	buf := make([]byte, batch*size)
	for i := range buf {
		buf[i] = byte(i)
	}
	hdrs := make([]unix.Mmsghdr, batch)
	iovs := make([]unix.Iovec, batch)
	for i := range hdrs {
		iovs[i].Base = &buf[i*size]
		iovs[i].SetLen(size)
		hdrs[i].Hdr.Iov = &iovs[i]
		hdrs[i].Hdr.SetIovlen(1)
	}
	for {
		n, _, e := unix.Syscall6(trap, uintptr(fd), uintptr(unsafe.Pointer(&hdrs[0])), uintptr(batch), 0, 0, 0)
		switch e {
		case 0:
		case unix.EAGAIN, unix.EINTR, unix.ENOBUFS, unix.ECONNREFUSED:
			// A timeout, a signal, a full queue, or an ICMP error from a
			// moment when nothing listened: none ends the flood.
			n = 0
		default:
			return e
		}
		if !more(int(n)) {
			return nil
		}
	}
}
