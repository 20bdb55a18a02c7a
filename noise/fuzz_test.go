package noise

import (
	"bytes"
	"testing"
)

// The fuzz targets feed arbitrary bytes to every parser and to the
// handshake and cookie steps behind them: nothing may panic, and whatever
// parses must marshal back to the same bytes.

func FuzzInitiation(f *testing.F) {
	p := newPair(f, 60)
	var ist InitiatorState
	_, wire := p.initiation(f, &ist, 1)
	f.Add(wire[:])
	f.Add(make([]byte, MessageInitiationSize))
	f.Add([]byte{1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		p.checkerB.CheckMAC1(b)
		p.checkerB.CheckMAC2(b, b)
		var m MessageInitiation
		if m.Unmarshal(b) != nil {
			return
		}
		var out [MessageInitiationSize]byte
		if m.Marshal(out[:]) != nil || !bytes.Equal(out[:], b) {
			t.Fatal("initiation does not round-trip")
		}
		peer, rst, _, err := ConsumeInitiation(&p.b, &m, p.lookupB)
		if err != nil {
			return
		}
		var resp MessageResponse
		if _, err := CreateResponse(&p.b, peer, &rst, 2, p.rnd, &resp); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzResponse(f *testing.F) {
	p := newPair(f, 61)
	var ist0 InitiatorState
	init, _ := p.initiation(f, &ist0, 1)
	peer, rst, _, err := ConsumeInitiation(&p.b, &init, p.lookupB)
	if err != nil {
		f.Fatal(err)
	}
	var resp MessageResponse
	if _, err := CreateResponse(&p.b, peer, &rst, 2, p.rnd, &resp); err != nil {
		f.Fatal(err)
	}
	var wire [MessageResponseSize]byte
	resp.Marshal(wire[:])
	NewCookieGenerator(&p.bPeer, p.clk.now).AddMACs(wire[:])
	checkA := NewCookieChecker(&p.a, p.clk.now, p.rnd)
	f.Add(wire[:])
	f.Add(make([]byte, MessageResponseSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkA.CheckMAC1(b)
		var m MessageResponse
		if m.Unmarshal(b) != nil {
			return
		}
		var out [MessageResponseSize]byte
		if m.Marshal(out[:]) != nil || !bytes.Equal(out[:], b) {
			t.Fatal("response does not round-trip")
		}
		ist := ist0
		_, err := ConsumeResponse(&p.a, &p.aPeer, &ist, &m)
		if err == nil && !bytes.Equal(b[8:60], wire[8:60]) { // the sender index is not authenticated
			t.Fatal("forged response accepted")
		}
	})
}

func FuzzCookieReply(f *testing.F) {
	p := newPair(f, 62)
	var ist InitiatorState
	_, wire := p.initiation(f, &ist, 1)
	var reply MessageCookieReply
	if err := p.checkerB.CreateReply(wire[:], 1, []byte{1, 2, 3}, &reply); err != nil {
		f.Fatal(err)
	}
	var rb [MessageCookieReplySize]byte
	reply.Marshal(rb[:])
	f.Add(rb[:], []byte{1, 2, 3})
	f.Add(make([]byte, MessageCookieReplySize), []byte{})
	f.Fuzz(func(t *testing.T, b, src []byte) {
		// The checker side on arbitrary messages and sources.
		var r MessageCookieReply
		if err := p.checkerB.CreateReply(b, 7, src, &r); err == nil && len(b) < 2*macSize {
			t.Fatal("reply to a message with no room for MACs")
		}
		p.checkerB.CheckMAC2(b, src)
		// The generator side on arbitrary replies.
		var m MessageCookieReply
		if m.Unmarshal(b) != nil {
			return
		}
		var out [MessageCookieReplySize]byte
		if m.Marshal(out[:]) != nil || !bytes.Equal(out[:], b) {
			t.Fatal("cookie reply does not round-trip")
		}
		g := NewCookieGenerator(&p.aPeer, p.clk.now)
		w := wire
		g.AddMACs(w[:]) // the same mac1 as the seed reply answers
		if g.ConsumeReply(&m) && !bytes.Equal(b[8:], rb[8:]) {
			t.Fatal("forged cookie reply accepted")
		}
	})
}

func FuzzTransport(f *testing.F) {
	var seed [MessageKeepaliveSize]byte
	PutTransportHeader((*[MessageTransportHeaderSize]byte)(seed[:]), 5, 6)
	f.Add(seed[:], 0, 1420)
	f.Add([]byte{4}, 1500, 0)
	f.Fuzz(func(t *testing.T, b []byte, n, mtu int) {
		MessageType(b)
		r, c, err := ParseTransportHeader(b)
		if err == nil {
			var h [MessageTransportHeaderSize]byte
			PutTransportHeader(&h, r, c)
			if !bytes.Equal(h[:], b[:MessageTransportHeaderSize]) {
				t.Fatal("header does not round-trip")
			}
		}
		if n < 0 || n > 1<<20 || mtu < 0 || mtu > 1<<16 {
			return
		}
		got := PaddedLen(n, mtu)
		if got < n || got-n >= PaddingMultiple || (n == 0 && got != 0) {
			t.Fatalf("PaddedLen(%d, %d) = %d", n, mtu, got)
		}
	})
}
