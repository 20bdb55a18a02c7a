package xdp

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
)

func TestBuildParseUDP(t *testing.T) {
	dm, sm := [6]byte{2, 0, 0, 0, 0, 1}, [6]byte{2, 0, 0, 0, 0, 2}
	for _, tc := range []struct{ src, dst string }{
		{"10.0.0.1:51820", "192.0.2.7:4000"},
		{"[fd00::1]:51820", "[2001:db8::7]:4000"},
	} {
		for _, n := range []int{0, 1, 2, 3, 148, 1421} {
			src, dst := netip.MustParseAddrPort(tc.src), netip.MustParseAddrPort(tc.dst)
			f := make([]byte, 2048)
			p := make([]byte, n)
			for i := range p {
				p[i] = byte(i*7 + 1)
			}
			hl := headerLen(dst.Addr())
			copy(f[hl:], p)
			l := buildUDP(f, dm, sm, src, dst, n, false)
			if l != hl+n {
				t.Fatalf("%s n=%d: length %d, want %d", tc.dst, n, l, hl+n)
			}
			f = f[:l]
			got, gs, gd, ok := parseUDP(f)
			if !ok || !bytes.Equal(got, p) || gs != src || gd != dst {
				t.Fatalf("%s n=%d: parse = %v %v %v %v", tc.dst, n, ok, gs, gd, len(got))
			}
			// Checksums verify to all ones.
			var ps uint32
			var udp []byte
			if dst.Addr().Is4() {
				if c := fold(sum16(f[14:34], 0)); c != 0xffff {
					t.Fatalf("ip checksum verifies to %#x", c)
				}
				ps = sum16(f[26:34], 17+uint32(udpLen+n))
				udp = f[34:]
			} else {
				ps = sum16(f[22:54], 17+uint32(udpLen+n))
				udp = f[54:]
			}
			if c := fold(sum16(udp, ps)); c != 0xffff {
				t.Fatalf("%s n=%d: udp checksum verifies to %#x", tc.dst, n, c)
			}
			// With partial, the check field holds the pseudo-header sum;
			// finishing it as the kernel does gives the same checksum.
			g := make([]byte, 2048)
			copy(g[hl:], p)
			if l := buildUDP(g, dm, sm, src, dst, n, true); l != hl+n {
				t.Fatalf("%s n=%d: partial length %d", tc.dst, n, l)
			}
			cs := udpCsumStart(dst.Addr())
			c := ^fold(sum16(g[cs:l], 0))
			if c == 0 {
				c = 0xffff
			}
			binary.BigEndian.PutUint16(g[cs+udpCsumOffset:], c)
			if !bytes.Equal(g[:l], f) {
				t.Fatalf("%s n=%d: partial checksum finished to %#x, want %#x", tc.dst, n, c, binary.BigEndian.Uint16(f[cs+6:]))
			}
		}
	}
}

func TestParseUDPOptionsAndJunk(t *testing.T) {
	// IPv4 with IHL 6 (4 bytes of options).
	f := make([]byte, 14+24+8+3)
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0], ip[9] = 0x46, 17
	binary.BigEndian.PutUint16(ip[2:], 24+8+3)
	copy(ip[12:], []byte{1, 2, 3, 4, 5, 6, 7, 8})
	udp := ip[24:]
	binary.BigEndian.PutUint16(udp[0:], 1)
	binary.BigEndian.PutUint16(udp[2:], 2)
	binary.BigEndian.PutUint16(udp[4:], 11)
	copy(udp[8:], "abc")
	p, s, d, ok := parseUDP(f)
	if !ok || string(p) != "abc" || s.String() != "1.2.3.4:1" || d.String() != "5.6.7.8:2" {
		t.Fatalf("IHL 6: %v %q %v %v", ok, p, s, d)
	}
	// Fragment, truncation, bad lengths: rejected, never a panic.
	frag := bytes.Clone(f)
	frag[14+6] = 0x20 // MF
	if _, _, _, ok := parseUDP(frag); ok {
		t.Fatal("fragment accepted")
	}
	for i := range len(f) {
		if _, _, _, ok := parseUDP(f[:i]); ok {
			t.Fatalf("truncated to %d accepted", i)
		}
	}
	bad := bytes.Clone(f)
	binary.BigEndian.PutUint16(bad[14+24+4:], 200)
	if _, _, _, ok := parseUDP(bad); ok {
		t.Fatal("UDP length beyond packet accepted")
	}
}

func FuzzParseUDP(f *testing.F) {
	f.Add(make([]byte, 60))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, _, _, ok := parseUDP(b)
		if ok && len(p) > len(b) {
			t.Fatal("payload longer than frame")
		}
	})
}

// TestQueueFor: one destination always gets one queue; many spread over
// all of them.
func TestQueueFor(t *testing.T) {
	const n = 4
	seen := make([]int, n)
	for i := range 256 {
		dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 4), byte(i)}), uint16(51820+i%3))
		q := queueFor(dst, n)
		if q < 0 || q >= n || queueFor(dst, n) != q {
			t.Fatalf("%v: queue %d", dst, q)
		}
		seen[q]++
		if queueFor(dst, 1) != 0 {
			t.Fatal("one queue: not 0")
		}
	}
	for q, c := range seen {
		if c < 256/n/2 {
			t.Errorf("queue %d got %d of 256 destinations: %v", q, c, seen)
		}
	}
}

func TestGSOSegment(t *testing.T) {
	msg := func(n int, ctr byte) []byte {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i*7) ^ 0x5a
		}
		copy(p, []byte{4, 0, 0, 0, 9, 8, 7, 6, ctr})
		return p
	}
	cat := func(ps ...[]byte) []byte { return bytes.Join(ps, nil) }
	for _, c := range []struct {
		name string
		p    []byte
		want int
	}{
		{"empty", nil, 0},
		{"keepalive", msg(32, 0), 32},
		{"one", msg(1452, 0), 1452},
		{"two keepalives", cat(msg(32, 0), msg(32, 1)), 32},
		{"three", cat(msg(128, 0), msg(128, 1), msg(64, 2)), 128},
		{"odd size", cat(msg(1451, 0), msg(1451, 1)), 1451},
		{"handshake type", append([]byte{1, 0, 0, 0}, make([]byte, 200)...), 204},
		{"other receiver", cat(msg(64, 0), append([]byte{4, 0, 0, 0, 1, 1, 1, 1}, make([]byte, 56)...)), 128},
	} {
		if got := gsoSegment(c.p); got != c.want {
			t.Errorf("%s: gsoSegment = %d, want %d", c.name, got, c.want)
		}
	}
}

func FuzzGSOSegment(f *testing.F) {
	f.Add([]byte{4, 0, 0, 0, 1, 2, 3, 4})
	f.Add(bytes.Repeat([]byte{4, 0, 0, 0, 1, 2, 3, 4}, 20))
	f.Fuzz(func(t *testing.T, p []byte) {
		g := gsoSegment(p)
		if g > len(p) || g < len(p) && (g < minTransport || !bytes.Equal(p[g:g+8], p[:8])) {
			t.Fatalf("gsoSegment(%d bytes) = %d", len(p), g)
		}
	})
}
