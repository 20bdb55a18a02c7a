package conn

// The priority socket: a second socket on the port, in one SO_REUSEPORT
// group with the main socket, and a classic BPF program on the group that
// steers each received datagram by its length. Datagrams of at most
// PriorityMax bytes (handshake messages, keepalives, and the data
// messages of small inner packets: TCP ACKs, pings, DNS, voice) go to the
// priority socket; everything else, and every datagram the kernel has
// coalesced (GRO) or kept as one GSO packet across a veth, goes to the main
// socket.
//
// Why: when the receiving side is the bottleneck — its CPU cannot decrypt
// as fast as the peer sends — the standing queue forms in the socket's
// receive buffer, a single FIFO of up to several MiB that no fq_codel of
// ours can reorder, because the inner flow is unknown before decryption.
// A sparse flow's packet then waits behind the bulk flow's backlog. With
// the second socket it waits only behind other small datagrams: each
// socket has its own receive goroutine (the device runs one per receive
// function), so the small ones are read, decrypted and written to the TUN
// while the bulk backlog drains. It is the length-based cousin of
// fq_codel's sparse-flow priority; a flow whose datagrams straddle the
// threshold may see some reordering, which the replay window (8128
// packets) and TCP tolerate.
//
// Its receive function runs on a realtime thread (package rtlane: SCHED_FIFO
// within a budget of packets per window) unless NoRealtime or WGXDP_RT=0:
// with every CPU busy, an empty socket alone still left a datagram waiting
// p99 8–16 ms for its reader to be scheduled. The TUN's express queue
// (tun/express_linux.go) is the same lane in the other direction.
//
// Sends always leave from the main socket. A kernel without
// SO_ATTACH_REUSEPORT_CBPF (before 4.5), or a failure to open the second
// socket, leaves the main socket alone on the port.

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// DefaultPriorityMax is the largest datagram the priority socket receives
// by default: a data message for an inner packet of up to 224 bytes (an
// ICMP echo, a TCP ACK with SACK blocks, a G.711 voice frame), and every
// handshake message.
const DefaultPriorityMax = 256

// MaxPriorityMax bounds PriorityMax from the environment: the priority
// socket and its realtime lane are for sparse small packets; above about
// a kilobyte, bulk traffic would take the lane (and spend its budget).
const MaxPriorityMax = 1024

// envPriority sets PriorityMax for daemons: a byte count, or 0/off.
// priorityGROBuffers is the GRO buffers of a priority socket's receiver.
// The socket needs UDP_GRO like the main one — the kernel's GRO picks a
// socket of the group by hash, without the program, and would stop
// coalescing a flow whose hash picks a socket without GRO — but what it
// receives is small.
const priorityGROBuffers = 2

// priorityRcvBuf is the priority socket's SO_RCVBUF (the kernel doubles
// it): some 1,000 small datagrams.
const priorityRcvBuf = 256 << 10

// priorityMax resolves PriorityMax and WGXDP_UDP_PRIORITY into the
// threshold in bytes; 0 means no priority socket.
func (b *StdNetBind) priorityMax() int {
	switch {
	case b.PriorityMax < 0:
		return 0
	case b.PriorityMax > 0:
		return b.PriorityMax
	}
	n, _ := priorityEnv() // a bad value is the default; see CheckEnv
	return n
}

// PriorityFromEnv reports whether a StdNetBind with its PriorityMax unset
// (NewStdNetBind's) opens priority sockets: WGXDP_UDP_PRIORITY.
func PriorityFromEnv() bool { return (&StdNetBind{}).priorityMax() > 0 }

// priorityFilter is the group's program: skb->len, which for a UDP group
// is the UDP payload (the kernel pulls the UDP header first), against max;
// it returns the index of the socket in the group, in the order they were
// bound: 0 the main socket, 1 the priority socket.
func priorityFilter(max int) []unix.SockFilter {
	return []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_LEN},
		{Code: unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K, Jt: 1, Jf: 0, K: uint32(max)},
		{Code: unix.BPF_RET | unix.BPF_K, K: 1},
		{Code: unix.BPF_RET | unix.BPF_K, K: 0},
	}
}

// openPriority binds the priority socket beside main, which is bound to
// port without SO_REUSEPORT, and attaches the program to their group. It
// returns nil and the reason if either fails; main is then left as it was.
//
// The port stays as exclusive as before. Main was bound alone, so binding
// fails for anyone while the port is taken. Main only then turns
// SO_REUSEPORT on, and the priority socket's bind makes the group with
// main at index 0. A later bind without SO_REUSEPORT (wireguard-go, a
// second wgxdp) still fails with EADDRINUSE. But a socket of the same
// effective UID that asks for SO_REUSEPORT itself can bind the port: on
// the wildcard address it joins the group at index 2 and receives nothing
// until our sockets close; on a specific address (127.0.0.1:port) it
// takes that address's datagrams. With the daemon running as root, that
// takes another root process doing it on purpose; WGXDP_UDP_PRIORITY=0
// keeps the port strictly exclusive.
func openPriority(network string, port uint16, main *udpSocket, max, sockBuf int) (*udpSocket, error) {
	setReuse := func(v int) error {
		var serr error
		cerr := main.rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, v)
		})
		return errors.Join(cerr, serr)
	}
	if err := setReuse(1); err != nil {
		return nil, fmt.Errorf("conn: %s port %d: SO_REUSEPORT: %w", network, port, err)
	}
	// The priority socket never sends: a minimal send buffer. Its receive
	// buffer is small too: what it takes is sparse, and a flood of small
	// datagrams should be dropped here rather than stand in a queue of
	// thousands (7 MiB holds ~17,000 of 100 bytes).
	ps, _, err := listenUDP(network, port, min(sockBuf, priorityRcvBuf), 4096, true)
	if err != nil {
		_ = setReuse(0)
		return nil, err
	}
	prog := priorityFilter(max)
	var serr error
	cerr := main.rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF,
			&unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]})
	})
	if err := errors.Join(cerr, serr); err != nil {
		ps.close()
		_ = setReuse(0)
		return nil, fmt.Errorf("conn: %s port %d: SO_ATTACH_REUSEPORT_CBPF: %w", network, port, err)
	}
	ps.priority = true
	return ps, nil
}
