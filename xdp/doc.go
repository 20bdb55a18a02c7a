// Package xdp is wgxdp's outer side on AF_XDP sockets: a conn.Bind that
// receives WireGuard's UDP datagrams from an XDP program's redirect and
// sends them as hand-built Ethernet/IP/UDP frames.
//
// An AF_XDP socket (XSK) is bound to one queue of one interface and shares
// a UMEM with the kernel: a region of equal frames (2048 or 4096 bytes)
// that packets live in. Four single-producer/single-consumer rings pass
// frame addresses between the two sides; each ring has a producer and a
// consumer index that only its owner writes, and each side keeps a cached
// copy of the other side's index so it touches the shared cache line only
// when its cached view runs out.
//
//	fill        user → kernel  empty frames the kernel may receive into
//	rx          kernel → user  received packets: {addr, len} in the UMEM
//	tx          user → kernel  packets to send: {addr, len}
//	completion  kernel → user  frames whose transmission finished
//
// A frame moves fill → rx → (lent to the caller) → fill, or free stack →
// tx → completion → free stack. The kernel only touches frames it has
// been given, so ownership is exactly "which ring or stack holds the
// address", or, for a received frame, "lent": a receive function hands each
// datagram out where it lies in the UMEM (packet.Slot.Borrow) and gives
// its frame back to the fill ring at its next call, when the caller is
// done with it; Close waits (up to a second) for that call before it
// unmaps the UMEM, and leaves a UMEM with frames still lent mapped.
//
// With XDP_USE_NEED_WAKEUP the kernel says (a flag word beside the ring
// indices) when it needs a syscall to go on: a poll or recvfrom when the
// fill ring ran dry, a sendto to push the tx ring. In copy mode (veth, and
// any driver without zero-copy support) every tx batch needs that sendto.
//
// The XDP program (prog.go) is built with cilium/ebpf's asm package and
// attached with a bpf_link, so it goes away with the process. It redirects
// UDP to the listen port, IPv4 or IPv6, into the XSK of the receiving queue
// and passes everything else to the kernel stack.
//
// A Bind may run on several interfaces: each gets its program and its
// XSKs, and a datagram leaves through the interface the kernel's route to
// its destination picks (neigh.go).
//
// The UMEMs are pinned memory that counts against RLIMIT_MEMLOCK unless the
// process has CAP_IPC_LOCK; memlock.go raises the soft limit or shrinks the
// UMEMs to fit, before any is registered.
//
// Every use of unsafe is in xdp_unsafe.go.
//
// # Large MTUs: multi-buffer packets
//
// Copy mode puts a received packet XDP_PACKET_HEADROOM (256) bytes into
// its frame, so a 4096-byte frame holds a packet of 3840 bytes: an MTU up
// to 3826. Above that (a 9000-byte jumbo MTU), and only then, an interface
// runs multi-buffer AF_XDP: the XSKs bind with XDP_USE_SG and the program
// is loaded with BPF_F_XDP_HAS_FRAGS (without it a native attach on veth
// fails with ERANGE above ~3.5 KB). A packet then spans up to maxFrags
// (17, MAX_SKB_FRAGS) frames, each descriptor but the last marked
// XDP_PKT_CONTD. Interfaces whose MTU fits one frame keep the
// single-buffer program and XSKs, and their path is unchanged.
//
// The program still parses the headers in the first buffer (data_end
// covers only that one), but passes to the stack what is longer than the
// MTU allows as a whole (bpf_xdp_get_buff_len): in generic mode, a GSO
// packet, which the stack segments for the UDP sockets as before.
//
// Receiving, a datagram that fits one frame is lent as before; a chain is
// not contiguous, so it is copied into the slot's own buffer (the daemon's
// slots hold an inner MTU of 9000), and its frames go back to the fill
// ring with the lent ones. The kernel publishes whole packets only, and a
// receive call takes whole chains only: one that does not fit the rest of
// the batch waits for the next call. A chain too big for the slot is
// dropped and counted (InterfaceStats.RxDiscarded). In generic mode a GSO
// packet that arrives as a chain is split into its datagrams, as one in a
// single frame is.
//
// Sending, a datagram whose frame exceeds a tx frame (4096 - txHeadroom)
// is written over several, the headers and the TX metadata in the first;
// descriptors and frames are reserved for whole datagrams only. With
// XDP_UMEM_TX_SW_CSUM the kernel computes the checksum when the skb holds
// only the first buffer, so the receiver found it wrong for every
// multi-frame datagram (Linux 6.18): with that flag (tests only) such
// datagrams get their checksum here. Offloaded, the skb leaves
// CHECKSUM_PARTIAL with all its fragments, for the device (or the stack's
// fallback on the way out) to sum; over veth it reaches the peer
// unfinished and is trusted, so only the two software paths were checked
// against a receiver's verification.
//
// Measured on veth (Linux 6.18, 2 vCPUs shared with other jobs): native
// and generic mode both work at MTU 9000 in copy mode, both ways, for
// every size around the frame boundaries (TestJumbo), and so they do at
// MTU 65266, where the largest packet spans 17 frames each way
// (TestJumboMaxFrags). Sending batches of
// 64 (BenchmarkSendJumbo, native, medians of 3 runs) took 5.4 µs per
// 8000-byte datagram through the ring (6.5 µs with the checksum computed
// here), against ~3.7–4.7 µs for 1000- or 3000-byte ones and 2.1 µs for
// 8000 bytes through conn.StdNetBind's UDP GSO: copy mode's per-skb cost
// again, not the second frame. Through a tunnel at MTU 8920 against
// wireguard-go (tests/interop TestXDPJumbo, 64 MiB of TCP each way, three
// runs) wgxdp on the XSKs moved 1.10–1.14 Gbit/s out and 1.36–1.52 in,
// and on UDP sockets 1.15–1.60 out and 1.45–1.63 in: alike within the
// noise, with wireguard-go's side likely the limit. At MTU 1500
// BenchmarkSend (xsk, 64 × 128 B) stayed within the noise of the code
// before (2.90 against 2.97 µs, means of 8 alternating runs).
//
// # Transmit path and veth (copy mode)
//
// SetTxMode (the daemon's WGXDP_XDP_TX) chooses how datagrams leave:
// TxXSK (the default) through the TX ring; TxAuto sends a batch of at
// least GSOMinBatch same-size datagrams (bulk traffic) through the UDP
// socket as one UDP GSO send, the rest through the ring; TxSocket sends
// everything through the socket. Receiving stays on the XSKs.
//
// This exists because of what copy mode costs, measured on veth (Linux
// 6.18, 2 vCPUs shared with other jobs). A TX kick turns every descriptor
// into an skb of its own (allocation, copy, destructor, completion), and
// the receiving veth copies each again into a page with 256 bytes of XDP
// headroom before the program runs; the kicks were already well batched
// (about 220 datagrams each under the 64-byte UDP flood), so the cost is
// per datagram, in the kernel: BenchmarkSend took ~2.9 µs per 128-byte
// datagram through the ring against ~0.9 µs through conn.StdNetBind,
// whose UDP GSO send crosses the veth as one skb for up to 64 datagrams
// and reaches a UDP_GRO socket still whole. In the daemons' CPU profiles
// under the 64-byte flood the sending daemon spent half its time in the
// kick (sendto) in XDP mode, where socket mode's whole send path was 15%.
// Receiving is not the gap: the XSK receive path cost about what
// recvmmsg with GRO does, and the TUN read and write dominate both modes.
//
// GSO only survives to the peer if the peer's veth runs its program in
// generic (skb) mode: a native program on a veth makes the kernel drop
// GSO from the other end's features, so a GSO send is segmented before it
// crosses, with or without BPF_F_XDP_HAS_FRAGS on the program (tried:
// GRO datagrams 0 at the receiver with native mode either way, 10 of 10
// with generic mode). In generic mode the program sees the GSO packet
// whole, longer than a frame, and passes it to the stack, where the UDP
// socket takes it with GRO. So on veth, WGXDP_XDP_MODE=generic with
// WGXDP_XDP_TX=auto at both ends comes close to socket mode, and the
// default (native, xsk) does not. A GSO packet no longer than a frame
// (a few small datagrams, from this package's auto mode, conn.StdNetBind
// or wireguard-go) is redirected whole, as one datagram: in generic mode
// the receive functions split such packets into their WireGuard messages
// again (gsoSegment); before that they were lost. The cost of auto: a
// flow whose batches take both paths is received by two goroutines (the
// socket's and the queue's) and may be reordered.
//
// Figures: daemon CPU per packet or per GB (Pair.DaemonCPU around each
// run: less disturbed by the other jobs' load than throughput), medians
// of 5 rounds of 3 s runs with the pairs' order alternating, all pairs up
// in one session, A→B over a 1-queue veth pair, both daemons alike;
// package bench's UDPFlood (64-byte datagrams) and IperfTCP (1 and 4
// streams), which wgxdp-bench tunnel runs once each, e.g.
// --pairs wgxdp,wgxdp:WGXDP_XDP=@veth,wgxdp:WGXDP_XDP=@veth,WGXDP_XDP_MODE=generic,WGXDP_XDP_TX=auto.
// Ratios are received packets/s or Mbit/s ÷ socket mode's in the same
// round, medians; throughput swung ±40% with the load:
//
//	                     UDP 64 B           TCP 1 stream         TCP 4 streams
//	socket mode          5.94 µs/pkt 1.00×  5.59 CPU-s/GB 1.00×   6.22 CPU-s/GB 1.00×
//	native, xsk          9.78 µs/pkt 0.64×  9.86 CPU-s/GB 0.57×  11.16 CPU-s/GB 0.60×
//	generic, xsk         9.69 µs/pkt 0.63×  9.56 CPU-s/GB 0.59×  11.08 CPU-s/GB 0.69×
//	generic, auto        6.45 µs/pkt 0.82×  6.78 CPU-s/GB 0.86×   7.28 CPU-s/GB 0.90×
//
// TCP retransmits per 3 s run, 1 stream: socket mode 0–1, xsk 0–19,
// auto 44–1001 (likely the reordering above: the xsk rows, with the same
// UMEM, had almost none); 4 streams: socket mode 438–2272,
// xsk 24–349, auto 440–5252. Before the UMEM grew to 4096 frames the xsk
// rows retransmitted too (up to ~1400 per 1-stream run): drops on an
// empty fill ring.
//
// Lending received frames instead of copying them out cut the XDP
// daemons' CPU by 9% per 64-byte packet (9.96 → 9.04 µs) and by 4% per GB
// of TCP (9.92 → 9.49 CPU-s/GB), native mode, same run.
package xdp
