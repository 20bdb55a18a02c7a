package noise

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// testRand is a deterministic, concurrency-safe source of "random" bytes.
type testRand struct {
	mu sync.Mutex
	c  *rand.ChaCha8
}

func newTestRand(seed byte) *testRand {
	var s [32]byte
	s[0] = seed
	return &testRand{c: rand.NewChaCha8(s)}
}

func (r *testRand) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.c.Read(p)
}

// clock is a virtual clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// pair is two configured sides, A (initiator) and B (responder).
type pair struct {
	a, b       Static
	aPeer      PeerStatic // A's view of B
	bPeer      PeerStatic // B's view of A
	rnd        *testRand
	clk        *clock
	lookupB    func(PublicKey) *PeerStatic
	checkerB   *CookieChecker
	generatorA *CookieGenerator
}

func newPair(t testing.TB, seed byte) *pair {
	t.Helper()
	p := &pair{rnd: newTestRand(seed), clk: newClock()}
	ka, err := NewPrivateKey(p.rnd)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := NewPrivateKey(p.rnd)
	if err != nil {
		t.Fatal(err)
	}
	var psk PresharedKey
	p.rnd.Read(psk[:])
	p.a, p.b = NewStatic(ka), NewStatic(kb)
	if p.aPeer, err = NewPeerStatic(&p.a, p.b.Public, psk); err != nil {
		t.Fatal(err)
	}
	if p.bPeer, err = NewPeerStatic(&p.b, p.a.Public, psk); err != nil {
		t.Fatal(err)
	}
	p.lookupB = func(pk PublicKey) *PeerStatic {
		if pk == p.bPeer.Public {
			return &p.bPeer
		}
		return nil
	}
	p.checkerB = NewCookieChecker(&p.b, p.clk.now, p.rnd)
	p.generatorA = NewCookieGenerator(&p.aPeer, p.clk.now)
	return p
}

// initiation makes A's initiation, marshalled with MACs.
func (p *pair) initiation(t testing.TB, st *InitiatorState, idx uint32) (MessageInitiation, [MessageInitiationSize]byte) {
	t.Helper()
	var msg MessageInitiation
	if err := CreateInitiation(&p.a, &p.aPeer, idx, Stamp(p.clk.now()), p.rnd, st, &msg); err != nil {
		t.Fatal(err)
	}
	var b [MessageInitiationSize]byte
	if err := msg.Marshal(b[:]); err != nil {
		t.Fatal(err)
	}
	p.generatorA.AddMACs(b[:])
	if err := msg.Unmarshal(b[:]); err != nil {
		t.Fatal(err)
	}
	return msg, b
}
