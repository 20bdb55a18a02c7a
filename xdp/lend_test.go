package xdp

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/conn"
	"github.com/wgxdp/wgxdp/packet"
)

// TestLentFrames checks that received datagrams are lent from the UMEM,
// stay intact until the receive function's next call, and that Close
// waits for that call before it unmaps the UMEM — or, if the call never
// comes, leaves the UMEM mapped.
func TestLentFrames(t *testing.T) {
	for _, again := range []bool{true, false} {
		t.Run(map[bool]string{true: "called-again", false: "never-called-again"}[again], func(t *testing.T) {
			testLentFrames(t, again)
		})
	}
}

func testLentFrames(t *testing.T, again bool) {
	defer func(d time.Duration) { lendWait = d }(lendWait)
	lendWait = 300 * time.Millisecond
	tp := newTopo(t)
	var (
		bd   *Bind
		fns  []conn.ReceiveFunc
		port uint16
	)
	if err := tp.a.Do(func() (err error) {
		if bd, err = NewBind([]string{tp.ifA}, ModeNative); err != nil {
			return err
		}
		fns, port, err = bd.Open(0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	type got struct {
		i  int
		bt *packet.Batch
	}
	first := make(chan got, len(fns))
	errs := make([]chan error, len(fns))
	next := make([]chan struct{}, len(fns))
	for i, f := range fns {
		errs[i], next[i] = make(chan error, 2), make(chan struct{})
		go func() {
			bt := packet.NewBatch(bd.BatchSize(), packet.SlotSize(1500))
			err := f(bt)
			if err == nil {
				first <- got{i, bt}
				<-next[i]
				err = f(bt)
			}
			errs[i] <- err
		}()
	}
	pc, err := tp.b.ListenPacket("udp4", netip.AddrPortFrom(tp.b4, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	msg := bytes.Repeat([]byte("lent"), 100)
	if _, err := pc.WriteTo(msg, net.UDPAddrFromAddrPort(netip.AddrPortFrom(tp.a4, port))); err != nil {
		t.Fatal(err)
	}
	var g got
	select {
	case g = <-first:
	case <-time.After(5 * time.Second):
		t.Fatal("nothing received")
	}
	if g.i >= len(fns)-2 {
		t.Fatalf("received by receive function %d of %d: a UDP socket, not an XSK", g.i, len(fns))
	}
	sl := g.bt.Slots[0]
	if g.bt.N != 1 || !bytes.Equal(sl.Data(), msg) || !sl.Borrowed() {
		t.Fatalf("batch of %d, %d bytes, borrowed %v: want the datagram lent", g.bt.N, sl.Len(), sl.Borrowed())
	}
	closed := make(chan error, 1)
	start := time.Now()
	go func() { closed <- bd.Close() }()
	time.Sleep(100 * time.Millisecond)
	select {
	case <-closed:
		t.Fatal("Close returned while a frame was lent")
	default:
	}
	if !bytes.Equal(sl.Data(), msg) {
		t.Fatal("lent datagram changed before the next call")
	}
	if again {
		close(next[g.i])
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if !again {
		if d := time.Since(start); d < lendWait {
			t.Fatalf("Close returned after %v, before lendWait", d)
		}
		// The UMEM stayed mapped: reading the lent datagram is safe.
		if !bytes.Equal(sl.Data(), msg) {
			t.Fatal("lent datagram changed after Close")
		}
		close(next[g.i])
	}
	for i := range fns {
		if err := <-errs[i]; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("receive function %d: %v, want net.ErrClosed", i, err)
		}
	}
}
