package tun

// The express queue: one more queue of a multi-queue TUN, and a steering
// program (TUNSETSTEERINGEBPF) that puts every packet of at most
// ExpressMax bytes the kernel sends into the interface — pings, DNS,
// voice, the small segments of interactive flows; not TCP segments
// without payload (steeringProgram) — on it,
// and everything else on the one bulk queue (an interface with several
// bulk queues, WGXDP_TUN_QUEUES > 1, gets no express queue; see
// steeringProgram). The device reads the express queue with
// its own reader, which seals and sends what it reads at once, on a
// realtime thread (package rtlane): a small packet then never waits behind
// a bulk flow's super-packets in the TUN's queue, nor for the bulk reader
// to be scheduled. It is the TUN side of the priority UDP socket
// (conn/priority_linux.go), and sized to match it: a 224-byte inner packet
// is a 256-byte data message.
//
// A flow whose packets straddle the threshold may see them reordered (a
// short TCP segment overtaking the full ones before it); TCP and the
// replay window take that.
//
// The program is built with cilium/ebpf's asm package (no clang). Loading
// it needs CAP_BPF or CAP_SYS_ADMIN; without, or on a kernel before 4.16
// (no steering programs), the device has no express queue and says why.

import (
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"

	"github.com/wgxdp/wgxdp/internal/rtlane"
)

// ExpressMax is the largest packet (IP header included) steered to the
// express queue.
const ExpressMax = 224

// skbLen is the offset of len in struct __sk_buff.
const skbLen = 0

// steeringProgram returns the instructions: packets of at most ExpressMax
// bytes to queue 1 (the express queue), others to queue 0 — except TCP
// segments without payload (the ACKs of a bulk transfer, SYNs, FINs),
// which go to queue 0 too. A bulk flow's ACKs come by the thousand per
// second; on the express lane each would cost a TUN read, a send and, at
// the peer, a receive and a TUN write of its own at realtime priority,
// where the bulk path batches them (measured: daemon CPU per GB +22%, four
// TCP streams −32% with them on the lane). They are not the sparse traffic
// the lane is for.
//
// Only one bulk queue: with several, the program would have to spread
// bulk flows as the kernel does, but skb->hash is not computed yet where
// it runs (unconnected UDP senders' packets all landed on one queue), and
// a socket filter cannot compute it.
//
// Packet bytes are read with LD_ABS/LD_IND, which end the program with 0
// (queue 0) when they would read past the packet.
func steeringProgram() asm.Instructions {
	const (
		tcp = 6
	)
	return asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1), // LD_ABS/LD_IND take the skb from R6
		asm.LoadMem(asm.R0, asm.R1, skbLen, asm.Word),
		asm.JGT.Imm(asm.R0, ExpressMax, "bulk"),
		asm.LoadAbs(0, asm.Byte), // version and IHL
		asm.Mov.Reg(asm.R7, asm.R0),
		asm.RSh.Imm(asm.R7, 4),
		asm.JEq.Imm(asm.R7, 4, "v4"),
		asm.JEq.Imm(asm.R7, 6, "v6"),
		asm.Ja.Label("express"),

		// IPv4: TCP, and total length = IHL·4 + data offset·4?
		asm.And.Imm(asm.R0, 0xf).WithSymbol("v4"),
		asm.LSh.Imm(asm.R0, 2),
		asm.Mov.Reg(asm.R8, asm.R0), // header length
		asm.LoadAbs(9, asm.Byte),
		asm.JNE.Imm(asm.R0, tcp, "express"),
		asm.LoadAbs(2, asm.Half),
		asm.Mov.Reg(asm.R9, asm.R0), // total length
		asm.LoadInd(asm.R0, asm.R8, 12, asm.Byte),
		asm.RSh.Imm(asm.R0, 4),
		asm.LSh.Imm(asm.R0, 2),
		asm.Add.Reg(asm.R0, asm.R8),
		asm.JEq.Reg(asm.R0, asm.R9, "bulk"),
		asm.Ja.Label("express"),

		// IPv6 without extension headers: TCP, and payload length = data
		// offset·4?
		asm.LoadAbs(6, asm.Byte).WithSymbol("v6"),
		asm.JNE.Imm(asm.R0, tcp, "express"),
		asm.LoadAbs(4, asm.Half),
		asm.Mov.Reg(asm.R9, asm.R0),
		asm.LoadAbs(40+12, asm.Byte),
		asm.RSh.Imm(asm.R0, 4),
		asm.LSh.Imm(asm.R0, 2),
		asm.JEq.Reg(asm.R0, asm.R9, "bulk"),

		asm.Mov.Imm(asm.R0, 1).WithSymbol("express"),
		asm.Return(),
		asm.Mov.Imm(asm.R0, 0).WithSymbol("bulk"),
		asm.Return(),
	}
}

// addExpress opens the express queue on the interface name (multi-queue,
// opened with flags) and attaches the steering program. The Device is not
// serving yet.
func (t *linuxTUN) addExpress(name string, flags uint16) error {
	if flags&unix.IFF_MULTI_QUEUE == 0 {
		return errors.New("the interface is not multi-queue (IFF_MULTI_QUEUE)")
	}
	if len(t.q) != 1 {
		return fmt.Errorf("%d queues: the express queue goes with one bulk queue (WGXDP_TUN_QUEUES=1)", len(t.q))
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         "wgxdp_express",
		Type:         ebpf.SocketFilter,
		License:      "Dual MIT/GPL",
		Instructions: steeringProgram(),
	})
	if err != nil {
		return fmt.Errorf("load the steering program: %w", err)
	}
	// The interface holds its own reference to the program.
	defer prog.Close()
	fd, err := openQueue(name, flags)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), cloneDevicePath)
	q, err := newQueue(t, f)
	if err != nil {
		f.Close()
		return err
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TUNSETSTEERINGEBPF, prog.FD()); err != nil {
		f.Close()
		return fmt.Errorf("TUNSETSTEERINGEBPF: %w", err)
	}
	q.express = true
	if rtlane.Enabled() {
		t.wake = rtlane.NewWaker()
		q.rt = rtlane.New(&t.stats.expressDemotions, t.wake)
	}
	t.q = append(t.q, q)
	t.express = len(t.q) - 1
	return nil
}

// addExpressFromFile adds the express queue to a Device made of one
// open fd, if its interface is multi-queue.
func (t *linuxTUN) addExpressFromFile() error {
	ifr, cerr, ierr := t.iff()
	if cerr != nil {
		return cerr
	}
	if ierr != nil {
		return fmt.Errorf("TUNGETIFF: %w", ierr)
	}
	const keep = unix.IFF_TUN | unix.IFF_NO_PI | unix.IFF_VNET_HDR | unix.IFF_MULTI_QUEUE
	return t.addExpress(ifr.Name(), ifr.Uint16()&keep)
}

// ExpressQueue returns the index (for MultiQueue.Queue) of the express
// queue, or -1 and the reason there is none.
func (t *linuxTUN) ExpressQueue() (int, error) {
	if t.express > 0 {
		return t.express, nil
	}
	return -1, t.expressErr
}

// ExpressStats returns the packets read from the express queue and the
// times its realtime lane spent its budget and was demoted for a while.
func (t *linuxTUN) ExpressStats() (read, demotions uint64) {
	return t.stats.expressRead.Load(), t.stats.expressDemotions.Load()
}
