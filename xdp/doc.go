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
// A frame moves fill → rx → (copied out) → fill, or free stack → tx →
// completion → free stack. The kernel only touches frames it has been
// given, so ownership is exactly "which ring or stack holds the address".
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
package xdp
