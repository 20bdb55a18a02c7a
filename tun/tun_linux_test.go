package tun

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wgxdp/wgxdp/packet"
)

// inNetns moves the test goroutine into a fresh network namespace of its
// own. The goroutine stays locked to its thread and never unlocks it, so
// when the test ends the runtime ends the thread, and the namespace goes
// with its last fd: nothing is left behind even if the test fails or the
// process is killed. `ip` commands run from this goroutine inherit the
// namespace, as do sockets and TUN devices it opens.
func inNetns(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a network namespace and a TUN device")
	}
	if _, err := os.Stat(cloneDevicePath); err != nil {
		t.Skipf("no %s: %v", cloneDevicePath, err)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8) from iproute2")
	}
	runtime.LockOSThread() // deliberately never unlocked; see above
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		t.Fatalf("unshare(CLONE_NEWNET): %v", err)
	}
	ip(t, "link", "set", "lo", "up")
}

func ip(t testing.TB, args ...string) {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

const (
	tunName = "wgxt0"
	tunMTU  = 1380
)

var (
	localIP = netip.MustParseAddr("10.77.0.1") // the interface's address
	peerIP  = netip.MustParseAddr("10.77.0.2") // routed into the TUN
)

// upTUN creates the TUN in a fresh namespace, addresses it and brings it
// up, and waits for EventUp.
func upTUN(t *testing.T) Device {
	t.Helper()
	inNetns(t)
	d, err := Create(tunName, tunMTU)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	ip(t, "addr", "add", localIP.String()+"/24", "dev", tunName)
	ip(t, "link", "set", tunName, "up")
	waitEvent(t, d, EventUp)
	return d
}

// waitEvent reads events until want, failing on a closed channel or after
// 5 s. Other events on the way are returned.
func waitEvent(t *testing.T, d Device, want Event) []Event {
	t.Helper()
	var seen []Event
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-d.Events():
			if !ok {
				t.Fatalf("events closed waiting for %v (saw %v)", want, seen)
			}
			seen = append(seen, ev)
			if ev == want {
				return seen
			}
		case <-timeout:
			t.Fatalf("no %v event within 5 s (saw %v)", want, seen)
		}
	}
}

// readUntil reads batches until match has accepted n packets. A watchdog
// closes the device after 5 s so a lost packet fails instead of hanging.
func readUntil(t *testing.T, d Device, b *packet.Batch, n int, match func([]byte) bool) (firstN int) {
	t.Helper()
	dog := time.AfterFunc(5*time.Second, func() { d.Close() })
	defer dog.Stop()
	for got := 0; got < n; {
		if err := d.Read(b); err != nil {
			t.Fatalf("Read after %d of %d packets: %v", got, n, err)
		}
		if b.N < 1 || b.N > b.Cap() {
			t.Fatalf("Read set N=%d", b.N)
		}
		if firstN == 0 {
			firstN = b.N
		}
		for _, s := range b.Packets() {
			if s.Offset() != packet.Headroom {
				t.Fatalf("packet at offset %d, want %d", s.Offset(), packet.Headroom)
			}
			if match(s.Data()) {
				got++
			}
		}
	}
	return firstN
}

func checksum(b []byte, sum uint32) uint16 {
	for ; len(b) >= 2; b = b[2:] {
		sum += uint32(binary.BigEndian.Uint16(b))
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// ipv4 builds an IPv4 packet of protocol proto around l4.
func ipv4(src, dst netip.Addr, proto byte, l4 []byte) []byte {
	p := make([]byte, 20+len(l4))
	p[0], p[8], p[9] = 0x45, 64, proto
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	s, d := src.As4(), dst.As4()
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	binary.BigEndian.PutUint16(p[10:], checksum(p[:20], 0))
	copy(p[20:], l4)
	return p
}

// udp4 builds an IPv4/UDP packet (UDP checksum 0: none).
func udp4(src, dst netip.AddrPort, payload []byte) []byte {
	u := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(u[0:], src.Port())
	binary.BigEndian.PutUint16(u[2:], dst.Port())
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	copy(u[8:], payload)
	return ipv4(src.Addr(), dst.Addr(), unix.IPPROTO_UDP, u)
}

// echo4 builds an ICMPv4 echo request.
func echo4(src, dst netip.Addr, id, seq uint16) []byte {
	ic := make([]byte, 8+16)
	ic[0] = 8
	binary.BigEndian.PutUint16(ic[4:], id)
	binary.BigEndian.PutUint16(ic[6:], seq)
	copy(ic[8:], "wgxdp echo data")
	binary.BigEndian.PutUint16(ic[2:], checksum(ic, 0))
	return ipv4(src, dst, unix.IPPROTO_ICMP, ic)
}

// isEchoReply reports whether p is an ICMPv4 echo reply to dst with id.
func isEchoReply(p []byte, dst netip.Addr, id uint16) (seq uint16, ok bool) {
	if len(p) < 28 || p[0]>>4 != 4 || p[9] != unix.IPPROTO_ICMP || netip.AddrFrom4([4]byte(p[16:20])) != dst {
		return 0, false
	}
	ic := p[int(p[0]&15)*4:]
	if ic[0] != 0 || binary.BigEndian.Uint16(ic[4:]) != id {
		return 0, false
	}
	return binary.BigEndian.Uint16(ic[6:]), true
}

func TestCreateNameMTU(t *testing.T) {
	inNetns(t)
	d, err := Create(tunName, tunMTU)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if name, err := d.Name(); err != nil || name != tunName {
		t.Errorf("Name() = %q, %v; want %q", name, err, tunName)
	}
	if mtu, err := d.MTU(); err != nil || mtu != tunMTU {
		t.Errorf("MTU() = %d, %v; want %d", mtu, err, tunMTU)
	}
	if bs := d.BatchSize(); bs < 1 || bs > packet.MaxBatch {
		t.Errorf("BatchSize() = %d", bs)
	}
	if _, err := Create(strings.Repeat("x", unix.IFNAMSIZ), tunMTU); err == nil {
		t.Error("Create accepted an over-long name")
	}
}

func TestReadUDP(t *testing.T) {
	d := upTUN(t)
	dst := netip.AddrPortFrom(peerIP, 5555)
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(dst))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 10
	for i := range n {
		if _, err := fmt.Fprintf(c, "datagram %d", i); err != nil {
			t.Fatal(err)
		}
	}
	src := c.LocalAddr().(*net.UDPAddr).AddrPort()
	b := packet.NewBatch(32, packet.SlotSize(tunMTU))
	next := 0
	firstN := readUntil(t, d, b, n, func(p []byte) bool {
		// Skip what else the kernel sends into a fresh TUN (IPv6 RS/MLD).
		if len(p) < 28 || p[0] != 0x45 || p[9] != unix.IPPROTO_UDP {
			return false
		}
		if got := netip.AddrFrom4([4]byte(p[16:20])); got != peerIP || binary.BigEndian.Uint16(p[22:]) != dst.Port() {
			return false
		}
		if netip.AddrFrom4([4]byte(p[12:16])) != localIP || binary.BigEndian.Uint16(p[20:]) != src.Port() {
			t.Errorf("packet from %v:%d, want from %v:%d", netip.AddrFrom4([4]byte(p[12:16])), binary.BigEndian.Uint16(p[20:]), localIP, src.Port())
		}
		if want := fmt.Sprintf("datagram %d", next); string(p[28:]) != want {
			t.Errorf("payload %q, want %q", p[28:], want)
		}
		next++
		return true
	})
	t.Logf("first Read returned %d packets", firstN)
}

func TestWriteUDPAndICMP(t *testing.T) {
	d := upTUN(t)
	lc, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(localIP, 7000)))
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	from := netip.AddrPortFrom(peerIP, 6000)
	b := packet.NewBatch(8, packet.SlotSize(tunMTU))
	b.Append(udp4(from, netip.AddrPortFrom(localIP, 7000), []byte("into the tunnel")), packet.Endpoint{})
	const pings = 4
	for seq := range uint16(pings) {
		b.Append(echo4(peerIP, localIP, 0x7777, seq), packet.Endpoint{})
	}
	if err := d.Write(b); err != nil {
		t.Fatalf("Write: %v", err)
	}
	lc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2048)
	n, addr, err := lc.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("receive the written datagram: %v", err)
	}
	if string(buf[:n]) != "into the tunnel" || addr != from {
		t.Errorf("got %q from %v, want %q from %v", buf[:n], addr, "into the tunnel", from)
	}
	rb := packet.NewBatch(32, packet.SlotSize(tunMTU))
	seen := map[uint16]bool{}
	readUntil(t, d, rb, pings, func(p []byte) bool {
		seq, ok := isEchoReply(p, peerIP, 0x7777)
		if ok && !seen[seq] {
			seen[seq] = true
			return true
		}
		return false
	})
}

func TestEventsMTUDownUpDelete(t *testing.T) {
	d := upTUN(t)
	ip(t, "link", "set", "dev", tunName, "mtu", "1300")
	waitEvent(t, d, EventMTUUpdate)
	if mtu, err := d.MTU(); err != nil || mtu != 1300 {
		t.Errorf("MTU() after `ip link set mtu 1300` = %d, %v", mtu, err)
	}
	ip(t, "link", "set", tunName, "down")
	waitEvent(t, d, EventDown)
	ip(t, "link", "set", tunName, "up")
	waitEvent(t, d, EventUp)

	readErr := make(chan error, 1)
	go func() { readErr <- d.Read(packet.NewBatch(4, packet.SlotSize(tunMTU))) }()
	// Let the IPv6 chatter of the fresh link drain, then block in Read.
	time.Sleep(100 * time.Millisecond)
	ip(t, "link", "del", tunName)
	seen := waitEvent(t, d, EventDeleted)
	if i := len(seen) - 2; i < 0 || seen[i] != EventDown {
		t.Errorf("events before EventDeleted: %v, want EventDown just before it", seen)
	}
	// Read may first return chatter that arrived before the delete.
	timeout := time.After(5 * time.Second)
	for {
		select {
		case err := <-readErr:
			if err == nil {
				go func() { readErr <- d.Read(packet.NewBatch(4, packet.SlotSize(tunMTU))) }()
				continue
			}
			if !errors.Is(err, ErrDeleted) || !errors.Is(err, os.ErrClosed) {
				t.Errorf("Read after delete: %v, want ErrDeleted", err)
			}
		case <-timeout:
			t.Fatal("Read did not return after the interface was deleted")
		}
		break
	}
	if err := d.Write(packet.NewBatch(1, 64)); err != nil {
		t.Errorf("empty Write: %v", err)
	}
	b := packet.NewBatch(1, packet.SlotSize(tunMTU))
	b.Append(echo4(peerIP, localIP, 1, 1), packet.Endpoint{})
	if err := d.Write(b); !errors.Is(err, ErrDeleted) {
		t.Errorf("Write after delete: %v, want ErrDeleted", err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("Close after delete: %v", err)
	}
	if _, ok := <-d.Events(); ok {
		t.Error("events still open after Close")
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	d := upTUN(t)
	errc := make(chan error, 1)
	go func() {
		b := packet.NewBatch(4, packet.SlotSize(tunMTU))
		for {
			if err := d.Read(b); err != nil {
				errc <- err
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, os.ErrClosed) || errors.Is(err, ErrDeleted) {
			t.Errorf("Read after Close: %v, want os.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock Read")
	}
	for range d.Events() { // drained and closed
	}
	b := packet.NewBatch(1, packet.SlotSize(tunMTU))
	b.Append(echo4(peerIP, localIP, 1, 1), packet.Endpoint{})
	if err := d.Write(b); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close: %v, want os.ErrClosed", err)
	}
	if _, err := d.MTU(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("MTU after Close: %v, want os.ErrClosed", err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCreateFromFD(t *testing.T) {
	inNetns(t)
	fd, err := unix.Open(cloneDevicePath, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ifr, _ := unix.NewIfreq("wgxfd0")
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	ip(t, "link", "set", "wgxfd0", "mtu", "1280", "up")
	d, err := CreateFromFD(fd)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if name, err := d.Name(); err != nil || name != "wgxfd0" {
		t.Errorf("Name() = %q, %v", name, err)
	}
	if mtu, err := d.MTU(); err != nil || mtu != 1280 {
		t.Errorf("MTU() = %d, %v; want the interface's 1280", mtu, err)
	}
	// The interface was up before the Device existed: the first event
	// says so.
	waitEvent(t, d, EventUp)
}

// TestZeroAllocsPerBatch writes a batch of echo requests and reads the
// replies back.
func TestZeroAllocsPerBatch(t *testing.T) {
	d := upTUN(t)
	const n = 8
	out := packet.NewBatch(n, packet.SlotSize(tunMTU))
	for seq := range uint16(n) {
		out.Append(echo4(peerIP, localIP, 0x4242, seq), packet.Endpoint{})
	}
	in := packet.NewBatch(32, packet.SlotSize(tunMTU))
	// Let the fresh link's IPv6 chatter pass before measuring.
	time.Sleep(200 * time.Millisecond)
	var fail error
	allocs := testing.AllocsPerRun(50, func() {
		if err := d.Write(out); err != nil {
			fail = err
			return
		}
		for got := 0; got < n; {
			if err := d.Read(in); err != nil {
				fail = err
				return
			}
			for _, s := range in.Packets() {
				if _, ok := isEchoReply(s.Data(), peerIP, 0x4242); ok {
					got++
				}
			}
		}
	})
	if fail != nil {
		t.Fatal(fail)
	}
	t.Logf("allocs per %d-packet write + read: %v", n, allocs)
	if allocs != 0 {
		t.Errorf("allocs per batch = %v, want 0", allocs)
	}
}

func TestParseLinkMsgs(t *testing.T) {
	// One RTM_NEWLINK for index 7 (running, MTU 1400), one for index 8,
	// one RTM_DELLINK for index 7.
	msg := func(typ uint16, index int32, flags uint32, mtu uint32) []byte {
		body := make([]byte, unix.SizeofIfInfomsg)
		binary.NativeEndian.PutUint32(body[4:], uint32(index))
		binary.NativeEndian.PutUint32(body[8:], flags)
		if mtu != 0 {
			attr := make([]byte, 8)
			binary.NativeEndian.PutUint16(attr[0:], 8)
			binary.NativeEndian.PutUint16(attr[2:], unix.IFLA_MTU)
			binary.NativeEndian.PutUint32(attr[4:], mtu)
			body = append(body, attr...)
		}
		h := make([]byte, unix.SizeofNlMsghdr)
		binary.NativeEndian.PutUint32(h[0:], uint32(len(h)+len(body)))
		binary.NativeEndian.PutUint16(h[4:], typ)
		return append(h, body...)
	}
	var buf bytes.Buffer
	buf.Write(msg(unix.RTM_NEWLINK, 7, unix.IFF_UP|unix.IFF_RUNNING, 1400))
	buf.Write(msg(unix.RTM_NEWLINK, 8, unix.IFF_UP|unix.IFF_RUNNING, 9000))
	buf.Write(msg(unix.RTM_DELLINK, 7, 0, 0))
	got, err := parseLinkMsgs(buf.Bytes(), 7)
	if err != nil {
		t.Fatal(err)
	}
	want := []linkMsg{{running: true, mtu: 1400}, {deleted: true}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("parseLinkMsgs = %+v, want %+v", got, want)
	}
	if got, _ := parseLinkMsgs([]byte{1, 2, 3}, 7); len(got) != 0 {
		t.Errorf("runt buffer parsed as %+v", got)
	}
}
