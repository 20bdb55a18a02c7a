package noise

import (
	"bytes"
	"errors"
	"testing"
)

func TestHandshake(t *testing.T) {
	for _, psk := range []bool{false, true} {
		p := newPair(t, 1)
		if !psk {
			p.aPeer.PSK, p.bPeer.PSK = PresharedKey{}, PresharedKey{}
		}
		if p.aPeer.StaticStatic != p.bPeer.StaticStatic {
			t.Fatal("static-static secrets differ")
		}
		var ist InitiatorState
		init, _ := p.initiation(t, &ist, 0x11223344)
		if !ist.Pending() || ist.SenderIndex() != 0x11223344 {
			t.Fatal("initiator state not recorded")
		}

		peer, rst, ts, err := ConsumeInitiation(&p.b, &init, p.lookupB)
		if err != nil {
			t.Fatal(err)
		}
		if peer != &p.bPeer || ts != Stamp(p.clk.now()) || rst.RemoteIndex() != 0x11223344 {
			t.Fatalf("peer %p ts %v index %x", peer, ts, rst.RemoteIndex())
		}

		var resp MessageResponse
		bKeys, err := CreateResponse(&p.b, peer, &rst, 0x55667788, p.rnd, &resp)
		if err != nil {
			t.Fatal(err)
		}
		if rst != (ResponderState{}) {
			t.Fatal("responder state not cleared")
		}
		if resp.Receiver != 0x11223344 || resp.Sender != 0x55667788 {
			t.Fatal("response indices")
		}

		aKeys, err := ConsumeResponse(&p.a, &p.aPeer, &ist, &resp)
		if err != nil {
			t.Fatal(err)
		}
		if ist != (InitiatorState{}) {
			t.Fatal("initiator state not cleared")
		}
		if aKeys.Send != bKeys.Receive || aKeys.Receive != bKeys.Send {
			t.Fatal("transport keys do not match")
		}
		if aKeys.Send == aKeys.Receive || aKeys.Send == ([32]byte{}) {
			t.Fatal("degenerate keys")
		}
		// A second response to the same (consumed) initiation is refused.
		if _, err := ConsumeResponse(&p.a, &p.aPeer, &ist, &resp); !errors.Is(err, ErrInvalidState) {
			t.Fatalf("replayed response: %v", err)
		}
	}
}

func TestHandshakePSKMismatch(t *testing.T) {
	p := newPair(t, 2)
	p.bPeer.PSK[0] ^= 1
	var ist InitiatorState
	init, _ := p.initiation(t, &ist, 1)
	peer, rst, _, err := ConsumeInitiation(&p.b, &init, p.lookupB)
	if err != nil {
		t.Fatal(err) // the PSK enters only in the response
	}
	var resp MessageResponse
	if _, err := CreateResponse(&p.b, peer, &rst, 2, p.rnd, &resp); err != nil {
		t.Fatal(err)
	}
	if _, err := ConsumeResponse(&p.a, &p.aPeer, &ist, &resp); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("got %v, want ErrDecrypt", err)
	}
}

// TestTamperInitiation flips every bit position's byte of a marshalled
// initiation: the Noise fields fail ConsumeInitiation, and every byte before
// mac2 fails the mac1 check.
func TestTamperInitiation(t *testing.T) {
	p := newPair(t, 3)
	var ist InitiatorState
	_, wire := p.initiation(t, &ist, 7)
	if !p.checkerB.CheckMAC1(wire[:]) {
		t.Fatal("untampered mac1 rejected")
	}
	for i := range MessageInitiationSize - macSize {
		b := wire
		b[i] ^= 0x80
		if p.checkerB.CheckMAC1(b[:]) {
			t.Errorf("byte %d: mac1 still valid", i)
		}
		var m MessageInitiation
		if err := m.Unmarshal(b[:]); err != nil {
			if i >= 4 {
				t.Errorf("byte %d: %v", i, err)
			}
			continue // the type
		}
		_, _, _, err := ConsumeInitiation(&p.b, &m, p.lookupB)
		switch {
		case i >= 8 && i < 116: // ephemeral, static, timestamp
			if err == nil {
				t.Errorf("byte %d: tampered initiation consumed", i)
			}
		default: // sender index, mac1: only mac1 protects them
			if err != nil {
				t.Errorf("byte %d: %v", i, err)
			}
		}
	}
}

func TestTamperResponse(t *testing.T) {
	p := newPair(t, 4)
	var ist0 InitiatorState
	init, _ := p.initiation(t, &ist0, 9)
	peer, rst, _, err := ConsumeInitiation(&p.b, &init, p.lookupB)
	if err != nil {
		t.Fatal(err)
	}
	var resp MessageResponse
	if _, err := CreateResponse(&p.b, peer, &rst, 10, p.rnd, &resp); err != nil {
		t.Fatal(err)
	}
	var wire [MessageResponseSize]byte
	resp.Marshal(wire[:])
	gen := NewCookieGenerator(&p.bPeer, p.clk.now) // B sends to A
	gen.AddMACs(wire[:])
	checkA := NewCookieChecker(&p.a, p.clk.now, p.rnd)
	if !checkA.CheckMAC1(wire[:]) {
		t.Fatal("untampered mac1 rejected")
	}
	for i := range MessageResponseSize - macSize {
		b := wire
		b[i] ^= 0x01
		if checkA.CheckMAC1(b[:]) {
			t.Errorf("byte %d: mac1 still valid", i)
		}
		var m MessageResponse
		if err := m.Unmarshal(b[:]); err != nil {
			if i >= 4 {
				t.Errorf("byte %d: %v", i, err)
			}
			continue
		}
		ist := ist0
		_, err := ConsumeResponse(&p.a, &p.aPeer, &ist, &m)
		switch {
		case i >= 8 && i < 60: // receiver, ephemeral, empty
			if err == nil {
				t.Errorf("byte %d: tampered response consumed", i)
			}
			if ist != ist0 {
				t.Errorf("byte %d: failed response changed the state", i)
			}
		default:
			if err != nil {
				t.Errorf("byte %d: %v", i, err)
			}
		}
	}
	// And the untampered one still completes.
	if _, err := ConsumeResponse(&p.a, &p.aPeer, &ist0, &resp); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownPeer(t *testing.T) {
	p := newPair(t, 5)
	var ist InitiatorState
	init, _ := p.initiation(t, &ist, 1)
	_, _, _, err := ConsumeInitiation(&p.b, &init, func(PublicKey) *PeerStatic { return nil })
	if !errors.Is(err, ErrUnknownPeer) {
		t.Fatalf("got %v", err)
	}
	// An initiation meant for someone else fails at the static key.
	other := NewStatic(PrivateKey{1})
	if _, _, _, err := ConsumeInitiation(&other, &init, p.lookupB); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("got %v", err)
	}
}

// lowOrderPoints are the Curve25519 points of small order (and their
// non-canonical encodings) that yield an all-zero shared secret.
var lowOrderPoints = []PublicKey{
	{},
	{1},
	{0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
	{0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
	{0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
	{0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
	{0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
}

func TestLowOrder(t *testing.T) {
	p := newPair(t, 6)
	for _, lo := range lowOrderPoints {
		// Initiation with a low-order ephemeral.
		var ist InitiatorState
		init, _ := p.initiation(t, &ist, 1)
		init.Ephemeral = lo
		if _, _, _, err := ConsumeInitiation(&p.b, &init, p.lookupB); !errors.Is(err, ErrLowOrder) {
			t.Errorf("initiation ephemeral %x: %v", lo[:4], err)
		}
		// Response with a low-order ephemeral.
		init, _ = p.initiation(t, &ist, 1)
		peer, rst, _, err := ConsumeInitiation(&p.b, &init, p.lookupB)
		if err != nil {
			t.Fatal(err)
		}
		var resp MessageResponse
		if _, err := CreateResponse(&p.b, peer, &rst, 2, p.rnd, &resp); err != nil {
			t.Fatal(err)
		}
		resp.Ephemeral = lo
		if _, err := ConsumeResponse(&p.a, &p.aPeer, &ist, &resp); !errors.Is(err, ErrLowOrder) {
			t.Errorf("response ephemeral %x: %v", lo[:4], err)
		}
		// A peer configured with a low-order static key: accepted with an
		// error, and never handshakes.
		ps, err := NewPeerStatic(&p.a, lo, PresharedKey{})
		if !errors.Is(err, ErrLowOrder) || ps.HandshakeAllowed() || ps.Public != lo {
			t.Errorf("peer %x: %v", lo[:4], err)
		}
		var msg MessageInitiation
		if err := CreateInitiation(&p.a, &ps, 1, Stamp(p.clk.now()), p.rnd, &ist, &msg); !errors.Is(err, ErrLowOrder) {
			t.Errorf("initiation to low-order peer: %v", err)
		}
		if _, _, _, err := ConsumeInitiation(&p.b, &init, func(PublicKey) *PeerStatic { return &ps }); !errors.Is(err, ErrLowOrder) {
			t.Errorf("initiation from low-order peer: %v", err)
		}
	}
}

func TestResponderStateRequired(t *testing.T) {
	p := newPair(t, 7)
	var rst ResponderState
	var resp MessageResponse
	if _, err := CreateResponse(&p.b, &p.bPeer, &rst, 1, p.rnd, &resp); !errors.Is(err, ErrInvalidState) {
		t.Fatal(err)
	}
	var ist InitiatorState
	if _, err := ConsumeResponse(&p.a, &p.aPeer, &ist, &resp); !errors.Is(err, ErrInvalidState) {
		t.Fatal(err)
	}
}

func TestShortRandom(t *testing.T) {
	p := newPair(t, 8)
	var ist InitiatorState
	var msg MessageInitiation
	err := CreateInitiation(&p.a, &p.aPeer, 1, Stamp(p.clk.now()), bytes.NewReader(make([]byte, 31)), &ist, &msg)
	if !errors.Is(err, ErrShortRandom) || ist.Pending() {
		t.Fatal(err)
	}
}

func TestKeys(t *testing.T) {
	r := newTestRand(9)
	a, _ := NewPrivateKey(r)
	b, _ := NewPrivateKey(r)
	if a[0]&7 != 0 || a[31]&0x80 != 0 || a[31]&0x40 == 0 {
		t.Fatal("not clamped")
	}
	s1, err1 := a.SharedSecret(b.PublicKey())
	s2, err2 := b.SharedSecret(a.PublicKey())
	if err1 != nil || err2 != nil || s1 != s2 {
		t.Fatal("shared secrets differ")
	}
	if !a.Equal(a) || a.Equal(b) || a.IsZero() || !(PrivateKey{}).IsZero() {
		t.Fatal("Equal/IsZero")
	}
}

func BenchmarkHandshake(b *testing.B) {
	p := newPair(b, 10)
	ts := Stamp(p.clk.now())
	b.Run("noise", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var ist InitiatorState
			var init MessageInitiation
			var resp MessageResponse
			if err := CreateInitiation(&p.a, &p.aPeer, 1, ts, p.rnd, &ist, &init); err != nil {
				b.Fatal(err)
			}
			peer, rst, _, err := ConsumeInitiation(&p.b, &init, p.lookupB)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := CreateResponse(&p.b, peer, &rst, 2, p.rnd, &resp); err != nil {
				b.Fatal(err)
			}
			if _, err := ConsumeResponse(&p.a, &p.aPeer, &ist, &resp); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wire+macs", func(b *testing.B) {
		genB := NewCookieGenerator(&p.bPeer, p.clk.now)
		checkA := NewCookieChecker(&p.a, p.clk.now, p.rnd)
		var wi [MessageInitiationSize]byte
		var wr [MessageResponseSize]byte
		b.ReportAllocs()
		for b.Loop() {
			var ist InitiatorState
			var init MessageInitiation
			var resp MessageResponse
			if err := CreateInitiation(&p.a, &p.aPeer, 1, ts, p.rnd, &ist, &init); err != nil {
				b.Fatal(err)
			}
			init.Marshal(wi[:])
			p.generatorA.AddMACs(wi[:])
			if !p.checkerB.CheckMAC1(wi[:]) || init.Unmarshal(wi[:]) != nil {
				b.Fatal("mac1")
			}
			peer, rst, _, err := ConsumeInitiation(&p.b, &init, p.lookupB)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := CreateResponse(&p.b, peer, &rst, 2, p.rnd, &resp); err != nil {
				b.Fatal(err)
			}
			resp.Marshal(wr[:])
			genB.AddMACs(wr[:])
			if !checkA.CheckMAC1(wr[:]) || resp.Unmarshal(wr[:]) != nil {
				b.Fatal("mac1")
			}
			if _, err := ConsumeResponse(&p.a, &p.aPeer, &ist, &resp); err != nil {
				b.Fatal(err)
			}
		}
	})
}
