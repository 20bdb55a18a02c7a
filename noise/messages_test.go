package noise

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestMessageRoundTrip(t *testing.T) {
	r := newTestRand(20)
	fill := func(b []byte) { r.Read(b) }

	var mi MessageInitiation
	mi.Sender = 0xdeadbeef
	fill(mi.Ephemeral[:])
	fill(mi.Static[:])
	fill(mi.Timestamp[:])
	fill(mi.MAC1[:])
	fill(mi.MAC2[:])
	bi := make([]byte, MessageInitiationSize)
	if err := mi.Marshal(bi); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	binary.Write(&want, binary.LittleEndian, struct {
		Type uint32
		MessageInitiation
	}{MessageInitiationType, mi})
	if !bytes.Equal(bi, want.Bytes()) {
		t.Fatal("initiation layout")
	}
	var mi2 MessageInitiation
	if err := mi2.Unmarshal(bi); err != nil || mi2 != mi {
		t.Fatal("initiation round trip", err)
	}

	var mr MessageResponse
	mr.Sender, mr.Receiver = 1, 0x01020304
	fill(mr.Ephemeral[:])
	fill(mr.Empty[:])
	fill(mr.MAC1[:])
	fill(mr.MAC2[:])
	br := make([]byte, MessageResponseSize)
	if err := mr.Marshal(br); err != nil {
		t.Fatal(err)
	}
	want.Reset()
	binary.Write(&want, binary.LittleEndian, struct {
		Type uint32
		MessageResponse
	}{MessageResponseType, mr})
	if !bytes.Equal(br, want.Bytes()) {
		t.Fatal("response layout")
	}
	var mr2 MessageResponse
	if err := mr2.Unmarshal(br); err != nil || mr2 != mr {
		t.Fatal("response round trip", err)
	}

	var mc MessageCookieReply
	mc.Receiver = 77
	fill(mc.Nonce[:])
	fill(mc.Cookie[:])
	bc := make([]byte, MessageCookieReplySize)
	if err := mc.Marshal(bc); err != nil {
		t.Fatal(err)
	}
	want.Reset()
	binary.Write(&want, binary.LittleEndian, struct {
		Type uint32
		MessageCookieReply
	}{MessageCookieReplyType, mc})
	if !bytes.Equal(bc, want.Bytes()) {
		t.Fatal("cookie reply layout")
	}
	var mc2 MessageCookieReply
	if err := mc2.Unmarshal(bc); err != nil || mc2 != mc {
		t.Fatal("cookie reply round trip", err)
	}

	type codec interface {
		Marshal([]byte) error
		Unmarshal([]byte) error
	}
	for _, c := range []struct {
		m    codec
		wire []byte
		typ  uint32
	}{{&mi2, bi, 1}, {&mr2, br, 2}, {&mc2, bc, 3}} {
		if MessageType(c.wire) != c.typ {
			t.Errorf("type %d: MessageType %d", c.typ, MessageType(c.wire))
		}
		n := len(c.wire)
		for _, l := range []int{0, 3, n - 1, n + 1} {
			buf := make([]byte, l)
			copy(buf, c.wire)
			if err := c.m.Unmarshal(buf); !errors.Is(err, ErrBadMessage) {
				t.Errorf("type %d: Unmarshal of %d bytes: %v", c.typ, l, err)
			}
			if err := c.m.Marshal(buf); !errors.Is(err, ErrBadMessage) {
				t.Errorf("type %d: Marshal into %d bytes: %v", c.typ, l, err)
			}
		}
		for _, pos := range []int{0, 1, 3} { // wrong type, non-zero reserved bytes
			buf := bytes.Clone(c.wire)
			buf[pos] ^= 0x04
			if err := c.m.Unmarshal(buf); !errors.Is(err, ErrBadMessage) {
				t.Errorf("type %d: byte %d altered: %v", c.typ, pos, err)
			}
		}
	}
	if MessageType(nil) != 0 || MessageType([]byte{4, 0, 0}) != 0 {
		t.Fatal("MessageType of short input")
	}
}

func TestTransportHeader(t *testing.T) {
	buf := make([]byte, MessageKeepaliveSize)
	PutTransportHeader((*[MessageTransportHeaderSize]byte)(buf), 0xa1b2c3d4, 0x0102030405060708)
	want := []byte{4, 0, 0, 0, 0xd4, 0xc3, 0xb2, 0xa1, 8, 7, 6, 5, 4, 3, 2, 1}
	if !bytes.Equal(buf[:16], want) {
		t.Fatalf("header % x", buf[:16])
	}
	r, c, err := ParseTransportHeader(buf)
	if err != nil || r != 0xa1b2c3d4 || c != 0x0102030405060708 {
		t.Fatal(r, c, err)
	}
	if _, _, err := ParseTransportHeader(buf[:MessageKeepaliveSize-1]); err == nil {
		t.Fatal("short transport message accepted")
	}
	buf[0] = 1
	if _, _, err := ParseTransportHeader(buf); err == nil {
		t.Fatal("wrong type accepted")
	}
	if n := TransportNonce(0x0102030405060708); n != [12]byte{0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1} {
		t.Fatalf("nonce % x", n)
	}
}

func TestMessageAllocs(t *testing.T) {
	var mi MessageInitiation
	b := make([]byte, MessageInitiationSize)
	if n := testing.AllocsPerRun(100, func() {
		mi.Marshal(b)
		mi.Unmarshal(b)
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func TestPaddedLen(t *testing.T) {
	for _, c := range []struct{ n, mtu, want int }{
		{0, 1420, 0},
		{1, 1420, 16},
		{16, 1420, 16},
		{17, 1420, 32},
		{1419, 1420, 1420}, // not beyond the MTU
		{1420, 1420, 1420},
		{1413, 1420, 1420},
		{1408, 1420, 1408},
		{1421, 1420, 1421 + 15}, // lastUnit 1: padded to 16
		{2840, 1420, 2840},
		{5, 0, 16},
		{33, 0, 48},
	} {
		if got := PaddedLen(c.n, c.mtu); got != c.want {
			t.Errorf("PaddedLen(%d, %d) = %d, want %d", c.n, c.mtu, got, c.want)
		}
	}
}
