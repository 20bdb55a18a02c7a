package noise

import (
	"crypto/rand"
	"crypto/subtle"
	"io"
	"sync"
	"time"
)

// Both handshake messages end in mac1 then mac2, 16 bytes each.
//
//	mac1 = MAC(HASH("mac1----" || receiver's public key), msg[:len-32])
//	mac2 = MAC(cookie, msg[:len-16])
//	cookie = MAC(secret, source address)  (the responder's, rotated every 2 min)
//
// The source address is whatever bytes the caller uses to name the sender;
// to be interchangeable with wireguard-go it must be what its
// Endpoint.DstToBytes returns, netip.AddrPort.MarshalBinary: the 4- or
// 16-byte address (plus any IPv6 zone), then the port little-endian. See
// AppendSource.

// macOffsets returns where mac1 and mac2 start in msg, or false if msg is
// too short to hold them.
func macOffsets(msg []byte) (smac1, smac2 int, ok bool) {
	if len(msg) < 2*macSize {
		return 0, 0, false
	}
	smac2 = len(msg) - macSize
	return smac2 - macSize, smac2, true
}

// CookieChecker checks mac1 and mac2 on handshake messages sent to us and
// makes cookie replies. It is safe for concurrent use; handshake workers
// share one. Initialise it with Init or NewCookieChecker before use; Init
// again when our private key changes.
type CookieChecker struct {
	mu        sync.RWMutex
	now       func() time.Time
	rnd       io.Reader
	mac1Key   [32]byte
	cookieKey [32]byte

	secret    [32]byte
	secretSet time.Time
	hasSecret bool
}

// NewCookieChecker returns a CookieChecker for local's public key.
func NewCookieChecker(local *Static, now func() time.Time, rnd io.Reader) *CookieChecker {
	c := new(CookieChecker)
	c.Init(local, now, rnd)
	return c
}

// Init (re)keys c for local's public key and forgets the cookie secret.
// now is the clock (nil: time.Now); rnd supplies the secret and the reply
// nonces (nil: crypto/rand.Reader) and must be safe for concurrent use,
// since replies are made under a read lock.
func (c *CookieChecker) Init(local *Static, now func() time.Time, rnd io.Reader) {
	if now == nil {
		now = time.Now
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now, c.rnd = now, rnd
	c.mac1Key = local.mac1Key
	c.cookieKey = local.cookieKey
	c.secret = [32]byte{}
	c.hasSecret = false
}

// clock and random fall back to the system's when c was never Init'ed, so
// a zero CookieChecker refuses everything instead of panicking.
func (c *CookieChecker) clock() time.Time {
	if c.now == nil {
		return time.Now()
	}
	return c.now()
}

func (c *CookieChecker) random() io.Reader {
	if c.rnd == nil {
		return rand.Reader
	}
	return c.rnd
}

// CheckMAC1 reports whether msg (a whole handshake message) carries a valid
// mac1 for us.
func (c *CookieChecker) CheckMAC1(msg []byte) bool {
	smac1, smac2, ok := macOffsets(msg)
	if !ok {
		return false
	}
	var mac1 [macSize]byte
	c.mu.RLock()
	mac128(&mac1, c.mac1Key[:], msg[:smac1])
	c.mu.RUnlock()
	return subtle.ConstantTimeCompare(mac1[:], msg[smac1:smac2]) == 1
}

// CheckMAC2 reports whether msg carries a valid mac2 for a cookie we gave
// src within the last CookieRefreshTime.
func (c *CookieChecker) CheckMAC2(msg, src []byte) bool {
	_, smac2, ok := macOffsets(msg)
	if !ok {
		return false
	}
	var cookie, mac2 [macSize]byte
	c.mu.RLock()
	if !c.hasSecret || c.clock().Sub(c.secretSet) > CookieRefreshTime {
		c.mu.RUnlock()
		return false
	}
	mac128(&cookie, c.secret[:], src)
	c.mu.RUnlock()
	mac128(&mac2, cookie[:], msg[:smac2])
	setZero(cookie[:])
	return subtle.ConstantTimeCompare(mac2[:], msg[smac2:]) == 1
}

// CreateReply fills out with a cookie reply to msg (whose mac1 the caller
// has checked), from src, whose sender index is recv. It draws a new cookie
// secret first if the current one is older than CookieRefreshTime.
func (c *CookieChecker) CreateReply(msg []byte, recv uint32, src []byte, out *MessageCookieReply) error {
	smac1, smac2, ok := macOffsets(msg)
	if !ok {
		return ErrBadMessage
	}
	c.mu.RLock()
	if !c.hasSecret || c.clock().Sub(c.secretSet) > CookieRefreshTime {
		c.mu.RUnlock()
		c.mu.Lock()
		// Another worker may have refreshed it meanwhile.
		if !c.hasSecret || c.clock().Sub(c.secretSet) > CookieRefreshTime {
			if err := readRandom(c.random(), c.secret[:]); err != nil {
				c.hasSecret = false
				c.mu.Unlock()
				return err
			}
			c.secretSet = c.clock()
			c.hasSecret = true
		}
		c.mu.Unlock()
		c.mu.RLock()
	}
	defer c.mu.RUnlock()

	var cookie [macSize]byte
	mac128(&cookie, c.secret[:], src)

	out.Receiver = recv
	if err := readRandom(c.random(), out.Nonce[:]); err != nil {
		return err
	}
	crypt(true, out.Cookie[:], &c.cookieKey, out.Nonce[:], cookie[:], msg[smac1:smac2])
	setZero(cookie[:])
	return nil
}

// CookieGenerator adds mac1 and mac2 to the handshake messages we send to
// one peer and keeps the cookie that peer last gave us. It is safe for
// concurrent use. Initialise it with Init or NewCookieGenerator before use.
type CookieGenerator struct {
	mu        sync.Mutex
	now       func() time.Time
	mac1Key   [32]byte
	cookieKey [32]byte

	cookie      [macSize]byte
	cookieSet   time.Time
	hasCookie   bool
	lastMAC1    [macSize]byte
	hasLastMAC1 bool
}

// NewCookieGenerator returns a CookieGenerator for messages to peer.
func NewCookieGenerator(peer *PeerStatic, now func() time.Time) *CookieGenerator {
	g := new(CookieGenerator)
	g.Init(peer, now)
	return g
}

// Init (re)keys g for peer's public key and forgets any cookie. now is the
// clock (nil: time.Now).
func (g *CookieGenerator) Init(peer *PeerStatic, now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.now = now
	g.mac1Key = peer.mac1Key
	g.cookieKey = peer.cookieKey
	g.cookie = [macSize]byte{}
	g.hasCookie = false
	g.lastMAC1 = [macSize]byte{}
	g.hasLastMAC1 = false
}

func (g *CookieGenerator) clock() time.Time {
	if g.now == nil {
		return time.Now()
	}
	return g.now()
}

// AddMACs writes mac1 into msg (a whole marshalled handshake message), and
// mac2 if we hold a cookie younger than CookieRefreshTime (otherwise mac2
// is left as it is: zeros from Create*). It does nothing to a message too
// short to hold the MACs.
func (g *CookieGenerator) AddMACs(msg []byte) {
	smac1, smac2, ok := macOffsets(msg)
	if !ok {
		return
	}
	var mac [macSize]byte
	g.mu.Lock()
	defer g.mu.Unlock()
	mac128(&mac, g.mac1Key[:], msg[:smac1])
	copy(msg[smac1:smac2], mac[:])
	g.lastMAC1 = mac
	g.hasLastMAC1 = true

	if !g.hasCookie || g.clock().Sub(g.cookieSet) > CookieRefreshTime {
		return
	}
	mac128(&mac, g.cookie[:], msg[:smac2])
	copy(msg[smac2:], mac[:])
}

// ConsumeReply opens a cookie reply and keeps its cookie, reporting whether
// it was genuine. A reply is accepted only as the answer to the last mac1
// we sent, and only once: unlike wireguard-go, which accepts any number of
// replies to the same mac1, this follows the Linux kernel
// (wg_cookie_message_consume clears have_sent_mac1), so a replayed reply
// cannot extend a cookie's life.
func (g *CookieGenerator) ConsumeReply(reply *MessageCookieReply) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.hasLastMAC1 {
		return false
	}
	var cookie [macSize]byte
	if !crypt(false, cookie[:], &g.cookieKey, reply.Nonce[:], reply.Cookie[:], g.lastMAC1[:]) {
		return false
	}
	g.cookie = cookie
	g.cookieSet = g.clock()
	g.hasCookie = true
	g.hasLastMAC1 = false
	return true
}
