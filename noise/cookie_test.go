package noise

import (
	"net/netip"
	"sync"
	"testing"
	"time"
)

// TestCookieFlow: B is under load and answers A's initiation with a cookie
// reply; A's next initiation carries a mac2 B accepts, until the cookie is
// older than CookieRefreshTime.
func TestCookieFlow(t *testing.T) {
	p := newPair(t, 40)
	src := AppendSource(nil, netip.MustParseAddrPort("192.0.2.1:51820"))
	if len(src) != 6 || src[4] != 0x6c || src[5] != 0xca { // port little-endian, as wireguard-go
		t.Fatalf("source bytes % x", src)
	}

	var ist InitiatorState
	_, wire := p.initiation(t, &ist, 0x42)
	if !p.checkerB.CheckMAC1(wire[:]) {
		t.Fatal("mac1")
	}
	if [macSize]byte(wire[MessageInitiationSize-macSize:]) != ([macSize]byte{}) {
		t.Fatal("mac2 set without a cookie")
	}
	if p.checkerB.CheckMAC2(wire[:], src) {
		t.Fatal("mac2 accepted with no cookie secret")
	}

	var reply MessageCookieReply
	if err := p.checkerB.CreateReply(wire[:], 0x42, src, &reply); err != nil {
		t.Fatal(err)
	}
	if reply.Receiver != 0x42 {
		t.Fatal("reply receiver")
	}
	var rb [MessageCookieReplySize]byte
	reply.Marshal(rb[:])
	var reply2 MessageCookieReply
	if err := reply2.Unmarshal(rb[:]); err != nil {
		t.Fatal(err)
	}
	if !p.generatorA.ConsumeReply(&reply2) {
		t.Fatal("cookie reply refused")
	}
	if p.generatorA.ConsumeReply(&reply2) {
		t.Fatal("cookie reply accepted twice for one mac1")
	}

	p.clk.advance(time.Second)
	_, wire = p.initiation(t, &ist, 0x43)
	if !p.checkerB.CheckMAC1(wire[:]) || !p.checkerB.CheckMAC2(wire[:], src) {
		t.Fatal("initiation after the cookie fails mac1/mac2")
	}
	// mac2 is bound to the source address.
	other := AppendSource(nil, netip.MustParseAddrPort("192.0.2.1:51821"))
	if p.checkerB.CheckMAC2(wire[:], other) {
		t.Fatal("mac2 valid from another source")
	}
	// and to the message.
	bad := wire
	bad[20] ^= 1
	if p.checkerB.CheckMAC2(bad[:], src) {
		t.Fatal("mac2 valid on a tampered message")
	}

	// After two minutes the cookie is stale: A stops sending mac2.
	p.clk.advance(CookieRefreshTime)
	_, wire = p.initiation(t, &ist, 0x44)
	if [macSize]byte(wire[MessageInitiationSize-macSize:]) != ([macSize]byte{}) {
		t.Fatal("stale cookie used")
	}
	// and B's secret is stale too: it refuses even a fresh mac2 until it
	// makes a new reply (which rotates the secret).
	if p.checkerB.CheckMAC2(wire[:], src) {
		t.Fatal("mac2 valid with a stale secret")
	}
	if err := p.checkerB.CreateReply(wire[:], 0x44, src, &reply); err != nil {
		t.Fatal(err)
	}
	if !p.generatorA.ConsumeReply(&reply) {
		t.Fatal("fresh reply refused")
	}
	_, wire = p.initiation(t, &ist, 0x45)
	if !p.checkerB.CheckMAC2(wire[:], src) {
		t.Fatal("mac2 after rotation")
	}
}

func TestCookieReplyRequiresMAC1(t *testing.T) {
	p := newPair(t, 41)
	src := []byte{10, 0, 0, 1, 0, 1}
	var ist InitiatorState
	_, wire := p.initiation(t, &ist, 1)
	var reply MessageCookieReply
	if err := p.checkerB.CreateReply(wire[:], 1, src, &reply); err != nil {
		t.Fatal(err)
	}
	// A generator that never sent a mac1 accepts nothing.
	fresh := NewCookieGenerator(&p.aPeer, p.clk.now)
	if fresh.ConsumeReply(&reply) {
		t.Fatal("reply accepted without a mac1 sent")
	}
	// A reply bound to an older mac1 is refused once a newer one was sent.
	_, _ = p.initiation(t, &ist, 2)
	if p.generatorA.ConsumeReply(&reply) {
		t.Fatal("reply to an old mac1 accepted")
	}
	// A tampered reply is refused.
	_, wire = p.initiation(t, &ist, 3)
	p.checkerB.CreateReply(wire[:], 3, src, &reply)
	reply.Cookie[0] ^= 1
	if p.generatorA.ConsumeReply(&reply) {
		t.Fatal("tampered reply accepted")
	}
	reply.Cookie[0] ^= 1
	if !p.generatorA.ConsumeReply(&reply) {
		t.Fatal("genuine reply refused")
	}
}

func TestCookieShortMessages(t *testing.T) {
	p := newPair(t, 42)
	for n := range 2 * macSize {
		b := make([]byte, n)
		p.generatorA.AddMACs(b) // must not panic
		if p.checkerB.CheckMAC1(b) || p.checkerB.CheckMAC2(b, nil) {
			t.Fatal("short message accepted")
		}
		var r MessageCookieReply
		if err := p.checkerB.CreateReply(b, 0, nil, &r); err == nil {
			t.Fatal("reply to a short message")
		}
	}
	// The smallest message that holds both MACs works.
	b := make([]byte, 2*macSize)
	p.generatorA.AddMACs(b)
	if !p.checkerB.CheckMAC1(b) {
		t.Fatal("mac1 over an empty body")
	}
}

// TestCookieCheckerConcurrent runs checks and replies from several
// goroutines across secret rotations (for -race).
func TestCookieCheckerConcurrent(t *testing.T) {
	p := newPair(t, 43)
	var ist InitiatorState
	_, wire := p.initiation(t, &ist, 1)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := []byte{byte(g)}
			for i := range 200 {
				if !p.checkerB.CheckMAC1(wire[:]) {
					t.Error("mac1")
					return
				}
				p.checkerB.CheckMAC2(wire[:], src)
				var r MessageCookieReply
				if err := p.checkerB.CreateReply(wire[:], 1, src, &r); err != nil {
					t.Error(err)
					return
				}
				if g == 0 && i%50 == 0 {
					p.clk.advance(CookieRefreshTime / 2)
				}
			}
		}()
	}
	wg.Wait()
}

func TestCookieZeroValue(t *testing.T) {
	var c CookieChecker
	var g CookieGenerator
	msg := make([]byte, MessageInitiationSize)
	g.AddMACs(msg)
	var r MessageCookieReply
	// Uninitialised, they must not panic (they act as if keyed by zeros).
	if c.CheckMAC2(msg, nil) || c.CreateReply(msg, 1, nil, &r) != nil {
		t.Fatal("zero values")
	}
	g.ConsumeReply(&r)
}
