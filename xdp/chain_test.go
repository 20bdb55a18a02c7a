package xdp

import (
	"bytes"
	"net/netip"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/wgxdp/wgxdp/packet"
)

// fakeRx is a socket whose rx ring and UMEM are plain memory, for
// receiveChain's cases that a kernel does not produce: it only needs the
// descriptors and the frames.
func fakeRx(frames int) *socket {
	var prod, cons, flags atomic.Uint32
	s := &socket{umem: &umem{mem: make([]byte, frames*4096), frameSize: 4096, frames: frames, rxFrames: frames}}
	s.rx.ring = ring{producer: &prod, consumer: &cons, flags: &flags, mask: uint32(frames - 1), size: uint32(frames)}
	s.rx.d = make([]unix.XDPDesc, frames)
	return s
}

// putChain writes frame f into the fake UMEM from frame first on, 3840
// bytes a frame as copy mode does, and the descriptors at ring index i
// on; it returns how many.
func (s *socket) putChain(i uint32, first int, f []byte) uint32 {
	const room = 4096 - 256
	var n uint32
	for ; len(f) > 0; n++ {
		addr := uint64((first+int(n))*4096 + 256)
		k := copy(s.umem.mem[addr:addr+room], f)
		f = f[k:]
		var o uint32
		if len(f) > 0 {
			o = unix.XDP_PKT_CONTD
		}
		s.rx.d[(i+n)&s.rx.mask] = unix.XDPDesc{Addr: addr, Len: uint32(k), Options: o}
	}
	return n
}

func TestReceiveChain(t *testing.T) {
	src := netip.MustParseAddrPort("10.0.0.2:5000")
	dst := netip.MustParseAddrPort("10.0.0.1:51820")
	frame := func(payload []byte) []byte {
		f := make([]byte, hdrLen4+len(payload))
		copy(f[hdrLen4:], payload)
		n := buildUDP(f, [6]byte{1}, [6]byte{2}, src, dst, len(payload), false)
		return f[:n]
	}
	payload := func(n int, tag byte) []byte {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i*13) ^ tag
		}
		return p
	}
	st := &state{port: dst.Port()}
	slotSize := packet.SlotSize(9000 + 64)

	t.Run("whole", func(t *testing.T) {
		s, ifc := fakeRx(64), &iface{ctr: &ifaceCounters{}}
		p := payload(8000, 1)
		n := s.putChain(0, 0, frame(p))
		bt := packet.NewBatch(4, slotSize)
		if c := st.receiveChain(ifc, s, bt, 0, n, false); c != 3 || n != 3 {
			t.Fatalf("consumed %d of %d descriptors, want 3", c, n)
		}
		if bt.N != 1 || !bytes.Equal(bt.Slots[0].Data(), p) || bt.Slots[0].Ep.Dst != src {
			t.Fatalf("batch of %d, first %d bytes from %v", bt.N, bt.Slots[0].Len(), bt.Slots[0].Ep.Dst)
		}
		if h := bt.Slots[0].Headroom(); h != packet.Headroom || bt.Slots[0].Borrowed() {
			t.Fatalf("headroom %d, borrowed %v: want %d in the slot's own buffer", h, bt.Slots[0].Borrowed(), packet.Headroom)
		}
		if len(s.lent) != 3 || s.lent[0] != 0 || s.lent[2] != 2*4096 {
			t.Fatalf("frames for the fill ring %v", s.lent)
		}
	})
	t.Run("cut", func(t *testing.T) {
		s, ifc := fakeRx(64), &iface{ctr: &ifaceCounters{}}
		n := s.putChain(0, 0, frame(payload(8000, 2)))
		bt := packet.NewBatch(4, slotSize)
		if c := st.receiveChain(ifc, s, bt, 0, n-1, false); c != 0 || bt.N != 0 || len(s.lent) != 0 {
			t.Fatalf("a chain not all in view: consumed %d, batch %d, lent %d; want none", c, bt.N, len(s.lent))
		}
	})
	t.Run("too-big", func(t *testing.T) {
		s, ifc := fakeRx(64), &iface{ctr: &ifaceCounters{}}
		n := s.putChain(0, 0, frame(payload(8000, 3)))
		bt := packet.NewBatch(4, packet.SlotSize(4000))
		if c := st.receiveChain(ifc, s, bt, 0, n, false); c != n || bt.N != 0 || len(s.lent) != 3 || ifc.ctr.rxDiscard.Load() != 1 {
			t.Fatalf("consumed %d, batch %d, lent %d, discarded %d; want 3, 0, 3, 1", c, bt.N, len(s.lent), ifc.ctr.rxDiscard.Load())
		}
	})
	t.Run("endless", func(t *testing.T) {
		s, ifc := fakeRx(64), &iface{ctr: &ifaceCounters{}}
		for i := range 20 {
			s.rx.d[i] = unix.XDPDesc{Addr: uint64(i*4096 + 256), Len: 100, Options: unix.XDP_PKT_CONTD}
		}
		bt := packet.NewBatch(4, slotSize)
		if c := st.receiveChain(ifc, s, bt, 0, 20, false); c != maxFrags || bt.N != 0 || ifc.ctr.rxDiscard.Load() != 1 {
			t.Fatalf("consumed %d, batch %d, discarded %d; want %d, 0, 1", c, bt.N, ifc.ctr.rxDiscard.Load(), maxFrags)
		}
	})
	t.Run("out-of-frame", func(t *testing.T) {
		s, ifc := fakeRx(64), &iface{ctr: &ifaceCounters{}}
		n := s.putChain(0, 0, frame(payload(5000, 4)))
		s.rx.d[1].Len = 4000 // past its frame's end
		bt := packet.NewBatch(4, slotSize)
		if c := st.receiveChain(ifc, s, bt, 0, n, false); c != n || bt.N != 0 || ifc.ctr.rxDiscard.Load() != 1 {
			t.Fatalf("consumed %d, batch %d, discarded %d; want %d, 0, 1", c, bt.N, ifc.ctr.rxDiscard.Load(), n)
		}
	})
	t.Run("other-port", func(t *testing.T) {
		s, ifc := fakeRx(64), &iface{ctr: &ifaceCounters{}}
		n := s.putChain(0, 0, frame(payload(5000, 5)))
		bt := packet.NewBatch(4, slotSize)
		other := &state{port: dst.Port() + 1}
		if c := other.receiveChain(ifc, s, bt, 0, n, false); c != n || bt.N != 0 || len(s.lent) != int(n) || ifc.ctr.rxDiscard.Load() != 0 {
			t.Fatalf("consumed %d, batch %d, lent %d, discarded %d; want %d, 0, %d, 0", c, bt.N, len(s.lent), ifc.ctr.rxDiscard.Load(), n, n)
		}
	})
	t.Run("gso", func(t *testing.T) {
		// Four 1500-byte transport messages packed by a GSO send,
		// seen whole in generic mode.
		var p []byte
		var segs [][]byte
		for i := range 4 {
			m := payload(1500, byte(i))
			copy(m, []byte{4, 0, 0, 0, 9, 9, 9, 9})
			segs = append(segs, m)
			p = append(p, m...)
		}
		s, ifc := fakeRx(64), &iface{ctr: &ifaceCounters{}}
		n := s.putChain(0, 0, frame(p))
		// A batch with one slot taken has no room for 4: wait.
		bt := packet.NewBatch(4, slotSize)
		bt.Append([]byte("x"), bt.Slots[0].Ep)
		if c := st.receiveChain(ifc, s, bt, 0, n, true); c != 0 || bt.N != 1 || len(s.lent) != 0 {
			t.Fatalf("consumed %d, batch %d, lent %d; want 0, 1, 0", c, bt.N, len(s.lent))
		}
		bt.Reset()
		if c := st.receiveChain(ifc, s, bt, 0, n, true); c != n || bt.N != 4 {
			t.Fatalf("consumed %d, batch %d; want %d, 4", c, bt.N, n)
		}
		for i, m := range segs {
			if !bytes.Equal(bt.Slots[i].Data(), m) || bt.Slots[i].Ep.Dst != src {
				t.Fatalf("datagram %d: %d bytes from %v", i, bt.Slots[i].Len(), bt.Slots[i].Ep.Dst)
			}
		}
	})
}

// TestSetChain checks the descriptors of a datagram written over several
// tx frames: XDP_PKT_CONTD on all but the last, TX metadata on the first
// only, the pieces adding up to the frame, and (without offload) a UDP
// checksum that verifies.
func TestSetChain(t *testing.T) {
	src := netip.MustParseAddrPort("[fd00::1]:51820")
	dst := netip.MustParseAddrPort("[fd00::2]:5000")
	for _, offload := range []bool{true, false} {
		u, err := newUmem(4096, 0, 64)
		if err != nil {
			t.Fatal(err)
		}
		defer u.close()
		s := &socket{umem: u, txCsum: offload}
		var prod, cons, flags atomic.Uint32
		s.tx.ring = ring{producer: &prod, consumer: &cons, flags: &flags, mask: 63, size: 64}
		s.tx.d = make([]unix.XDPDesc, 64)
		p := make([]byte, 8952) // the most at MTU 9000 over IPv6
		for i := range p {
			p[i] = byte(i * 7)
		}
		hl := headerLen(dst.Addr())
		base, _ := u.pop()
		f := u.mem[base+txHeadroom : base+4096]
		buildUDP(f[:hl], [6]byte{1}, [6]byte{2}, src, dst, len(p), true)
		end := s.setChainLocked(0, base, f, p, hl, uint16(udpCsumStart(dst.Addr())))
		if want := uint32((hl + len(p) + 4096 - txHeadroom - 1) / (4096 - txHeadroom)); end != want {
			t.Fatalf("offload %v: %d descriptors, want %d", offload, end, want)
		}
		var whole []byte
		for i := range end {
			d := s.tx.d[i]
			var want uint32
			if i == 0 && offload {
				want = unix.XDP_TX_METADATA
			}
			if i < end-1 {
				want |= unix.XDP_PKT_CONTD
			}
			if d.Options != want || d.Addr&4095 != txHeadroom {
				t.Fatalf("offload %v: descriptor %d %+v, want options %#x at offset %d", offload, i, d, want, txHeadroom)
			}
			whole = append(whole, u.mem[d.Addr:d.Addr+uint64(d.Len)]...)
		}
		got, from, to, ok := parseUDP(whole)
		if !ok || from != src || to != dst || !bytes.Equal(got, p) {
			t.Fatalf("offload %v: the pieces parse as %v %v → %v, %d bytes", offload, ok, from, to, len(got))
		}
		if !offload {
			udp := whole[hl-udpLen:]
			ps := sum16(src.Addr().AsSlice(), sum16(dst.Addr().AsSlice(), 17+uint32(len(udp))))
			if c := fold(sum16(udp, ps)); c != 0xffff {
				t.Fatalf("UDP checksum verifies to %#x", c)
			}
		}
	}
}
