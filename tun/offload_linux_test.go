package tun

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wgxdp/wgxdp/packet"
)

var (
	optsOn  = Options{Offload: true, Queues: 1}
	optsOff = Options{Offload: false, Queues: 1}
)

func linux(t testing.TB, d Device) *linuxTUN {
	t.Helper()
	switch d := d.(type) {
	case *linuxTUN:
		return d
	case *queueDevice:
		return d.linuxTUN
	}
	t.Fatalf("%T is not a Linux TUN", d)
	return nil
}

// upTUNWith is upTUN with options.
func upTUNWith(t *testing.T, opts Options) Device {
	t.Helper()
	inNetns(t)
	d, err := CreateWithOptions(tunName, tunMTU, opts)
	if err != nil {
		t.Fatalf("CreateWithOptions: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	ip(t, "addr", "add", localIP.String()+"/24", "dev", tunName)
	ip(t, "link", "set", tunName, "up")
	waitEvent(t, d, EventUp)
	return d
}

func TestOffloadOptions(t *testing.T) {
	inNetns(t)
	for _, tc := range []struct {
		opts     Options
		vnet     bool
		tcp, udp bool
	}{
		{optsOff, false, false, false},
		{optsOn, true, true, true}, // Linux ≥ 6.2 takes USO
	} {
		d, err := CreateWithOptions(tunName, tunMTU, tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		lt := linux(t, d)
		if lt.vnet != tc.vnet || lt.gro.TCP != tc.tcp || lt.gro.UDP != tc.udp {
			t.Errorf("%+v: vnet=%v gro=%+v, want vnet=%v tcp=%v udp=%v", tc.opts, lt.vnet, lt.gro, tc.vnet, tc.tcp, tc.udp)
		}
		if _, ok := d.(MultiQueue); !ok || d.(MultiQueue).Queues() != 1 || d.(MultiQueue).Queue(0) != d {
			t.Errorf("%+v: not a one-queue MultiQueue", tc.opts)
		}
		d.Close()
	}
	t.Setenv(EnvOffload, "0")
	if DefaultOptions().Offload {
		t.Errorf("%s=0: DefaultOptions().Offload is true", EnvOffload)
	}
	d, err := Create(tunName, tunMTU)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if linux(t, d).vnet {
		t.Errorf("%s=0: Create opened the TUN with IFF_VNET_HDR", EnvOffload)
	}
}

// TestCreateFromFDVnet: an fd opened with IFF_VNET_HDR (as the daemon's
// parent does) is detected and read through the header.
func TestCreateFromFDVnet(t *testing.T) {
	inNetns(t)
	fd, err := openQueue("wgxfd1", unix.IFF_TUN|unix.IFF_NO_PI|unix.IFF_VNET_HDR)
	if err != nil {
		t.Fatal(err)
	}
	unix.SetNonblock(fd, false) // as os/exec leaves it
	d, err := CreateFromFD(fd)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// The header is the fd's for good; the offloads follow WGXDP_TUN_OFFLOAD.
	if lt, want := linux(t, d), DefaultOptions().Offload; !lt.vnet || lt.gro.TCP != want {
		t.Fatalf("vnet=%v gro=%+v, want the header and TCP offloads %v", lt.vnet, lt.gro, want)
	}
	ip(t, "addr", "add", localIP.String()+"/24", "dev", "wgxfd1")
	ip(t, "link", "set", "wgxfd1", "mtu", "1280", "up")
	waitEvent(t, d, EventUp)
	c, err := net.Dial("udp4", netip.AddrPortFrom(peerIP, 5555).String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("through the header"))
	b := packet.NewBatch(8, packet.SlotSize(1280))
	readUntil(t, d, b, 1, func(p []byte) bool {
		return len(p) > 28 && p[9] == unix.IPPROTO_UDP && string(p[28:]) == "through the header"
	})
}

// udp4csum builds an IPv4/UDP packet with a valid UDP checksum.
func udp4csum(src, dst netip.AddrPort, payload []byte) []byte {
	p := udp4(src, dst, payload)
	u := p[20:]
	binary.BigEndian.PutUint16(u[6:], checksum(u, pseudo4(p)))
	return p
}

// pseudo4 is the unfolded pseudo-header sum of the IPv4 packet p.
func pseudo4(p []byte) uint32 {
	var sum uint32
	for i := 12; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(p[i:]))
	}
	return sum + uint32(p[9]) + uint32(len(p)-int(p[0]&15)*4)
}

// TestWriteCoalescedUDP writes datagrams of one flow, which go to the
// kernel as one USO super-packet, and receives each of them.
func TestWriteCoalescedUDP(t *testing.T) {
	for _, opts := range []Options{optsOn, optsOff} {
		t.Run(fmt.Sprintf("offload=%v", opts.Offload), func(t *testing.T) {
			d := upTUNWith(t, opts)
			lc, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(localIP, 7000)))
			if err != nil {
				t.Fatal(err)
			}
			defer lc.Close()
			const n, size = 20, 1000
			from := netip.AddrPortFrom(peerIP, 6000)
			b := packet.NewBatch(n+1, packet.SlotSize(tunMTU))
			payload := func(i int) []byte { return bytes.Repeat([]byte{byte(i + 1)}, size) }
			for i := range n {
				b.Append(udp4csum(from, netip.AddrPortFrom(localIP, 7000), payload(i)), packet.Endpoint{})
			}
			b.Append(echo4(peerIP, localIP, 0x5151, 1), packet.Endpoint{}) // passes as it is
			before := append([]byte(nil), b.Slots[0].Data()...)
			if err := d.Write(b); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if b.N != n+1 || !bytes.Equal(b.Slots[0].Data(), before) {
				t.Errorf("Write changed the batch")
			}
			lc.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 65536)
			for i := range n {
				k, addr, err := lc.ReadFromUDPAddrPort(buf)
				if err != nil {
					t.Fatalf("datagram %d: %v", i, err)
				}
				if addr != from || !bytes.Equal(buf[:k], payload(i)) {
					t.Fatalf("datagram %d: %d bytes [%d…] from %v, want %d × %d from %v", i, k, buf[0], addr, size, i+1, from)
				}
			}
			st := &linux(t, d).stats
			t.Logf("super-packets written %d, holding %d datagrams", st.superWritten.Load(), st.segsMerged.Load())
			if opts.Offload && st.segsMerged.Load() != n {
				t.Errorf("%d datagrams went out coalesced, want %d", st.segsMerged.Load(), n)
			}
			rb := packet.NewBatch(32, packet.SlotSize(tunMTU))
			readUntil(t, d, rb, 1, func(p []byte) bool { _, ok := isEchoReply(p, peerIP, 0x5151); return ok })
		})
	}
}

// TestMultiQueue reads flows on both queues of a two-queue TUN.
func TestMultiQueue(t *testing.T) {
	for _, opts := range []Options{{Offload: true, Queues: 2}, {Offload: false, Queues: 2}} {
		t.Run(fmt.Sprintf("offload=%v", opts.Offload), func(t *testing.T) {
			d := upTUNWith(t, opts)
			mq, ok := d.(MultiQueue)
			if !ok || mq.Queues() != 2 {
				t.Fatalf("%T is not a two-queue MultiQueue", d)
			}
			const flows = 32
			var got [2]atomic.Int32
			var wg sync.WaitGroup
			for i := range 2 {
				q := mq.Queue(i)
				if name, err := q.Name(); err != nil || name != tunName {
					t.Errorf("queue %d: Name() = %q, %v", i, name, err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					b := packet.NewBatch(32, packet.SlotSize(tunMTU))
					for q.Read(b) == nil {
						for _, s := range b.Packets() {
							if p := s.Data(); len(p) > 28 && p[9] == unix.IPPROTO_UDP && strings.HasPrefix(string(p[28:]), "flow") {
								got[i].Add(1)
							}
						}
					}
				}()
			}
			for i := range flows {
				c, err := net.Dial("udp4", netip.AddrPortFrom(peerIP, uint16(5000+i)).String())
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(c, "flow %d", i)
				c.Close()
			}
			deadline := time.Now().Add(5 * time.Second)
			for got[0].Load()+got[1].Load() < flows && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			// A write on queue 1 reaches the kernel too.
			b := packet.NewBatch(1, packet.SlotSize(tunMTU))
			b.Append(echo4(peerIP, localIP, 0x6262, 1), packet.Endpoint{})
			if err := mq.Queue(1).Write(b); err != nil {
				t.Errorf("write on queue 1: %v", err)
			}
			d.Close()
			wg.Wait()
			t.Logf("datagrams read per queue: %d, %d", got[0].Load(), got[1].Load())
			if got[0].Load()+got[1].Load() != flows || got[0].Load() == 0 || got[1].Load() == 0 {
				t.Errorf("read %d + %d of %d datagrams, want some on each queue", got[0].Load(), got[1].Load(), flows)
			}
		})
	}
}

// The relay: two TUNs in two namespaces, A (the test's, 10.77.0.1) and B
// (10.77.0.2), joined by goroutines that read a batch from one and write
// it to the other, as a tunnel would. A kernel TCP connection from A to a
// listener in B goes through A's Read (super-packets split) and B's Write
// (segments coalesced), and its ACKs the other way.

const relayPort = 9000

type relay struct {
	a, b     Device
	ln       net.Listener // in B
	done     chan struct{}
	bExited  chan struct{}
	wg       sync.WaitGroup
	checkErr atomic.Pointer[error]
}

// inOtherNetns runs fn on a goroutine locked in a new namespace, which
// lives until done is closed.
func inOtherNetns(fn func() error, done <-chan struct{}, exited chan<- struct{}) error {
	errc := make(chan error, 1)
	go func() {
		defer close(exited)
		runtime.LockOSThread() // never unlocked: the thread and its namespace end with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		errc <- fn()
		<-done
	}()
	return <-errc
}

func ipErr(args ...string) error {
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// newRelay sets the pair up; check sees every packet A reads.
func newRelay(t testing.TB, opts Options, batch int, check func(p []byte) error) *relay {
	t.Helper()
	inNetns(t)
	r := &relay{done: make(chan struct{}), bExited: make(chan struct{})}
	var err error
	if r.a, err = CreateWithOptions("wgxa0", tunMTU, opts); err != nil {
		t.Fatal(err)
	}
	ip(t, "addr", "add", "10.77.0.1/24", "dev", "wgxa0")
	ip(t, "link", "set", "wgxa0", "up")
	err = inOtherNetns(func() error {
		var err error
		if err = ipErr("link", "set", "lo", "up"); err != nil {
			return err
		}
		if r.b, err = CreateWithOptions("wgxb0", tunMTU, opts); err != nil {
			return err
		}
		for _, args := range [][]string{{"addr", "add", "10.77.0.2/24", "dev", "wgxb0"}, {"link", "set", "wgxb0", "up"}} {
			if err = ipErr(args...); err != nil {
				return err
			}
		}
		r.ln, err = net.Listen("tcp4", fmt.Sprintf("10.77.0.2:%d", relayPort))
		return err
	}, r.done, r.bExited)
	t.Cleanup(r.close)
	if err != nil {
		t.Fatal(err)
	}
	pump := func(from, to Device, check func([]byte) error) {
		defer r.wg.Done()
		b := packet.NewBatch(batch, packet.SlotSize(max(tunMTU, 9000)+64))
		for {
			if err := from.Read(b); err != nil {
				return
			}
			if check != nil {
				for _, s := range b.Packets() {
					if err := check(s.Data()); err != nil {
						r.checkErr.CompareAndSwap(nil, &err)
					}
				}
			}
			if err := to.Write(b); err != nil && !errors.Is(err, os.ErrClosed) {
				r.checkErr.CompareAndSwap(nil, &err)
			}
		}
	}
	r.wg.Add(2)
	go pump(r.a, r.b, check)
	go pump(r.b, r.a, nil)
	return r
}

func (r *relay) close() {
	if r.a != nil {
		r.a.Close()
	}
	if r.b != nil {
		r.b.Close()
	}
	if r.ln != nil {
		r.ln.Close()
	}
	r.wg.Wait()
	close(r.done)
	<-r.bExited
}

func (r *relay) err() error {
	if p := r.checkErr.Load(); p != nil {
		return *p
	}
	return nil
}

// pattern is what transfer sends: byte i of the stream is i mod 251, so
// that a segment in the wrong place shows; pattern[i%251:] is the stream
// from byte i on, for 256 KiB.
var pattern = func() []byte {
	p := make([]byte, 256<<10+251)
	for i := range p {
		p[i] = byte(i % 251)
	}
	return p
}()

// transfer sends n bytes of a pattern from A to the listener in B and
// fails unless the listener receives exactly that.
func (r *relay) transfer(t testing.TB, n int) {
	t.Helper()
	got := make(chan error, 1)
	go func() {
		c, err := r.ln.Accept()
		if err != nil {
			got <- err
			return
		}
		defer c.Close()
		buf := make([]byte, 256<<10)
		total := 0
		for {
			k, err := c.Read(buf)
			if off := total % 251; !bytes.Equal(buf[:k], pattern[off:off+k]) {
				got <- fmt.Errorf("bytes %d to %d are not what was sent", total, total+k)
				return
			}
			total += k
			if err == io.EOF {
				break
			}
			if err != nil {
				got <- err
				return
			}
		}
		if total != n {
			got <- fmt.Errorf("received %d bytes, want %d", total, n)
			return
		}
		got <- nil
	}()
	c, err := net.DialTimeout("tcp4", fmt.Sprintf("10.77.0.2:%d", relayPort), 5*time.Second)
	if err != nil {
		t.Fatalf("dial through the relay: %v", err)
	}
	dog := time.AfterFunc(60*time.Second, func() { c.Close(); r.ln.Close() })
	defer dog.Stop()
	for sent := 0; sent < n; {
		k := min(256<<10, n-sent)
		off := sent % 251
		if _, err := c.Write(pattern[off : off+k]); err != nil {
			t.Fatalf("send after %d bytes: %v", sent, err)
		}
		sent += k
	}
	c.Close()
	if err := <-got; err != nil {
		t.Fatalf("receiver: %v", err)
	}
}

// tcpChecker checks A's reads of the connection: every packet within the
// MTU with valid IP and TCP checksums; sequence numbers run on, and a hole
// (a segment past the next expected byte) is counted: it is a split that
// lost a segment unless the kernel dropped one on its way into the TUN.
type tcpChecker struct {
	mtu                  int
	started              bool
	isn, next            uint32
	segs, retrans, holes int
	maxLen               int
}

func (c *tcpChecker) check(p []byte) error {
	if len(p) < 40 || p[0] != 0x45 || p[9] != unix.IPPROTO_TCP || binary.BigEndian.Uint16(p[22:]) != relayPort {
		return nil
	}
	if len(p) > c.mtu {
		return fmt.Errorf("read a %d-byte packet, MTU %d", len(p), c.mtu)
	}
	if checksum(p[:20], 0) != 0 {
		return errors.New("bad IPv4 header checksum")
	}
	if checksum(p[20:], pseudo4(p)) != 0 {
		return errors.New("bad TCP checksum")
	}
	flags := p[33]
	seq := binary.BigEndian.Uint32(p[24:])
	data := len(p) - 20 - int(p[32]>>4)*4
	if flags&0x02 != 0 { // SYN
		c.started, c.isn, c.next = true, seq+1, seq+1
		return nil
	}
	if !c.started || data == 0 {
		return nil
	}
	c.segs++
	c.maxLen = max(c.maxLen, len(p))
	switch d := int32(seq - c.next); {
	case d > 0:
		c.holes++
	case d < 0:
		c.retrans++
	}
	if end := seq + uint32(data); int32(end-c.next) > 0 {
		c.next = end
	}
	return nil
}

// txDropped returns the packets the kernel dropped on their way into the
// TUN name (its ring full).
func txDropped(t testing.TB, name string) uint64 {
	t.Helper()
	out, err := exec.Command("ip", "-j", "-s", "link", "show", "dev", name).Output()
	if err != nil {
		t.Fatalf("ip -s link show %s: %v", name, err)
	}
	var links []struct {
		Stats64 struct {
			TX struct {
				Dropped uint64 `json:"dropped"`
			} `json:"tx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		t.Fatalf("ip -s link show %s: %v: %s", name, err, out)
	}
	return links[0].Stats64.TX.Dropped
}

// TestTCPThroughRelay sends 8 MiB of kernel TCP through two TUNs.
func TestTCPThroughRelay(t *testing.T) {
	for _, tc := range []struct {
		opts  Options
		batch int
	}{
		{optsOn, packet.MaxBatch},
		{optsOn, 16}, // fewer slots than a super-packet has segments
		{optsOff, packet.MaxBatch},
	} {
		t.Run(fmt.Sprintf("offload=%v/batch=%d", tc.opts.Offload, tc.batch), func(t *testing.T) {
			var mu sync.Mutex
			ck := &tcpChecker{mtu: tunMTU}
			r := newRelay(t, tc.opts, tc.batch, func(p []byte) error {
				mu.Lock()
				defer mu.Unlock()
				return ck.check(p)
			})
			const n = 8 << 20
			r.transfer(t, n)
			if err := r.err(); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if got := int(ck.next - ck.isn); got != n+1 && got != n { // +1: the FIN
				t.Errorf("read %d bytes of TCP data, want %d", got, n)
			}
			sa, sb := &linux(t, r.a).stats, &linux(t, r.b).stats
			t.Logf("A read %d segments (max %d B, %d retransmitted) from %d super-packets (%d dropped); B wrote %d segments in %d super-packets",
				ck.segs, ck.maxLen, ck.retrans, sa.gsoRead.Load(), sa.dropped.Load(), sb.segsMerged.Load(), sb.superWritten.Load())
			if tc.opts.Offload && (sa.gsoRead.Load() == 0 || sb.superWritten.Load() == 0) {
				t.Error("offloads on, but no super-packet was read or written")
			}
			if drops := txDropped(t, "wgxa0"); ck.holes > 0 && drops == 0 {
				t.Errorf("%d holes in the sequence numbers read, but the kernel dropped no packet", ck.holes)
			} else {
				t.Logf("%d holes in the sequence, %d packets dropped by the kernel", ck.holes, drops)
			}
			if sa.dropped.Load() != 0 {
				t.Errorf("%d packets dropped on read", sa.dropped.Load())
			}
		})
	}
}

// BenchmarkTCPThroughRelay measures kernel TCP through two TUNs joined by
// a relay: what a tunnel's TUN side costs, with and without offloads.
func BenchmarkTCPThroughRelay(b *testing.B) {
	for _, opts := range []Options{optsOn, optsOff} {
		b.Run(fmt.Sprintf("offload=%v", opts.Offload), func(b *testing.B) {
			r := newRelay(b, opts, packet.MaxBatch, nil)
			const chunk = 256 << 10
			b.SetBytes(chunk)
			b.ResetTimer()
			r.transfer(b, b.N*chunk)
		})
	}
}

// TestReadUSOZeroAllocs reads UDP_SEGMENT sends, which come out of the TUN
// as one GSO_UDP_L4 super-packet each, split into datagrams with their
// checksums, without allocating.
func TestReadUSOZeroAllocs(t *testing.T) {
	d := upTUNWith(t, optsOn)
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	const segs, size = 8, 1000
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_UDP, unix.UDP_SEGMENT, size); err != nil {
		t.Skipf("UDP_SEGMENT: %v", err)
	}
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: 5555, Addr: peerIP.As4()}); err != nil {
		t.Fatal(err)
	}
	msg := bytes.Repeat([]byte("0123456789"), segs*size/10)
	b := packet.NewBatch(32, packet.SlotSize(tunMTU))
	time.Sleep(200 * time.Millisecond) // let the fresh link's IPv6 chatter pass
	var fail error
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := unix.Write(fd, msg); err != nil {
			fail = err
			return
		}
		for got := 0; got < segs && fail == nil; {
			if err := d.Read(b); err != nil {
				fail = err
				return
			}
			for _, s := range b.Packets() {
				p := s.Data()
				if len(p) < 28 || p[9] != unix.IPPROTO_UDP || binary.BigEndian.Uint16(p[22:]) != 5555 {
					continue
				}
				if len(p) != 28+size || !bytes.Equal(p[28:], msg[got*size:(got+1)*size]) || checksum(p[20:], pseudo4(p)) != 0 {
					fail = fmt.Errorf("datagram %d: %d bytes, bad payload or checksum", got, len(p))
				}
				got++
			}
		}
	})
	if fail != nil {
		t.Fatal(fail)
	}
	if st := &linux(t, d).stats; st.gsoRead.Load() == 0 {
		t.Error("no GSO super-packet was read")
	}
	if allocs != 0 {
		t.Errorf("allocs per super-packet read = %v, want 0", allocs)
	}
}
