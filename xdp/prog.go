package xdp

import (
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"
)

// xdp_md offsets and return codes.
const (
	mdData         = 0
	mdDataEnd      = 4
	mdRxQueueIndex = 16
	xdpPass        = 2
)

// bswap16 turns a host (little-endian) load of a network-order half word
// into the value to compare against.
func bswap16(v uint16) uint16 { return v<<8 | v>>8 }

// programInstructions is the XDP program: UDP to port (IPv4 with any IHL
// and not a fragment, or IPv6 with UDP as the first next header) goes to
// the XSK of the receiving queue via xsks, falling back to XDP_PASS if that
// queue has none; everything else passes, and so does a frame longer than
// maxLen, which would not fit a UMEM frame: in generic (skb) mode the
// program sees a GSO packet whole (a peer's UDP_SEGMENT send crosses a
// veth as one skb), and the XSK would drop it, where the stack segments it
// for the Bind's UDP sockets. Loads are in host order, so the constants are
// byte-swapped (little-endian hosts only).
//
// With frags the program is for a multi-buffer (BPF_F_XDP_HAS_FRAGS)
// load: a packet may then continue past data_end in further buffers. The
// headers are still parsed in the first (linear) one, and a packet whose
// headers do not all lie there fails the bounds checks and passes; but the
// length compared with maxLen is the whole packet's, from
// bpf_xdp_get_buff_len.
func programInstructions(xsks *ebpf.Map, port uint16, maxLen int, frags bool) asm.Instructions {
	const (
		ctx     = asm.R6
		data    = asm.R2
		dataEnd = asm.R3
		tmp     = asm.R4
		v       = asm.R5
	)
	insns := asm.Instructions{
		asm.Mov.Reg(ctx, asm.R1),
		asm.LoadMem(data, ctx, mdData, asm.Word),
		asm.LoadMem(dataEnd, ctx, mdDataEnd, asm.Word),
		asm.Mov.Reg(tmp, data),
		asm.Add.Imm(tmp, 14),
		asm.JGT.Reg(tmp, dataEnd, "pass"),
		asm.LoadMem(v, data, 12, asm.Half),
		asm.JEq.Imm(v, int32(bswap16(0x0800)), "ipv4"),
		asm.JEq.Imm(v, int32(bswap16(0x86dd)), "ipv6"),
		asm.Ja.Label("pass"),

		// IPv4: 20 bytes at least, then IHL*4 to find UDP.
		asm.Mov.Reg(tmp, data).WithSymbol("ipv4"),
		asm.Add.Imm(tmp, 14+20),
		asm.JGT.Reg(tmp, dataEnd, "pass"),
		asm.LoadMem(v, data, 14+9, asm.Byte),
		asm.JNE.Imm(v, 17, "pass"),
		asm.LoadMem(v, data, 14+6, asm.Half),
		asm.And.Imm(v, int32(bswap16(0x3fff))), // MF or a fragment offset
		asm.JNE.Imm(v, 0, "pass"),
		asm.LoadMem(v, data, 14, asm.Byte),
		asm.And.Imm(v, 0x0f),
		asm.LSh.Imm(v, 2),
		asm.JLT.Imm(v, 20, "pass"),
		asm.Add.Imm(data, 14),
		asm.Add.Reg(data, v), // data now points at the UDP header
		asm.Mov.Reg(tmp, data),
		asm.Add.Imm(tmp, 8),
		asm.JGT.Reg(tmp, dataEnd, "pass"),
		asm.LoadMem(v, data, 2, asm.Half),
		asm.Ja.Label("port"),

		// IPv6: fixed 40-byte header, UDP as next header.
		asm.Mov.Reg(tmp, data).WithSymbol("ipv6"),
		asm.Add.Imm(tmp, 14+40+8),
		asm.JGT.Reg(tmp, dataEnd, "pass"),
		asm.LoadMem(v, data, 14+6, asm.Byte),
		asm.JNE.Imm(v, 17, "pass"),
		asm.LoadMem(v, data, 14+40+2, asm.Half),

		asm.JNE.Imm(v, int32(bswap16(port)), "pass").WithSymbol("port"),
	}
	if frags {
		insns = append(insns,
			asm.Mov.Reg(asm.R1, ctx),
			asm.FnXdpGetBuffLen.Call(),
			asm.JGT.Imm(asm.R0, int32(maxLen), "pass"),
		)
	} else {
		insns = append(insns,
			asm.LoadMem(data, ctx, mdData, asm.Word),
			asm.LoadMem(dataEnd, ctx, mdDataEnd, asm.Word),
			asm.Sub.Reg(dataEnd, data),
			asm.JGT.Imm(dataEnd, int32(maxLen), "pass"),
		)
	}
	return append(insns,
		asm.LoadMapPtr(asm.R1, xsks.FD()),
		asm.LoadMem(asm.R2, ctx, mdRxQueueIndex, asm.Word),
		asm.Mov.Imm(asm.R3, xdpPass), // flags: fall back to XDP_PASS
		asm.FnRedirectMap.Call(),
		asm.Return(),

		asm.Mov.Imm(asm.R0, xdpPass).WithSymbol("pass"),
		asm.Return(),
	)
}

// newXSKMap makes the queue → XSK map for n queues.
func newXSKMap(n int) (*ebpf.Map, error) {
	m, err := ebpf.NewMap(&ebpf.MapSpec{Name: "wgxdp_xsks", Type: ebpf.XSKMap, KeySize: 4, ValueSize: 4, MaxEntries: uint32(n)})
	if err != nil {
		return nil, fmt.Errorf("xdp: create XSKMAP: %w", err)
	}
	return m, nil
}

// newProgram loads the program for port, passing frames over maxLen; with
// frags as a multi-buffer program (BPF_F_XDP_HAS_FRAGS), which a driver
// needs to run it on an interface whose MTU does not fit one buffer.
func newProgram(xsks *ebpf.Map, port uint16, maxLen int, frags bool) (*ebpf.Program, error) {
	spec := &ebpf.ProgramSpec{
		Name:         "wgxdp_redirect",
		Type:         ebpf.XDP,
		License:      "GPL",
		Instructions: programInstructions(xsks, port, maxLen, frags),
	}
	if frags {
		spec.Flags = unix.BPF_F_XDP_HAS_FRAGS
	}
	p, err := ebpf.NewProgram(spec)
	if err != nil {
		return nil, fmt.Errorf("xdp: load program: %w", err)
	}
	return p, nil
}
