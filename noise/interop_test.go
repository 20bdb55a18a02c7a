package noise

// Interoperability with wireguard-go itself: its Device exports the four
// handshake steps (CreateMessageInitiation, ConsumeMessageInitiation,
// CreateMessageResponse, ConsumeMessageResponse), BeginSymmetricSession
// and its CookieChecker/CookieGenerator, so our messages can be fed to its
// code byte for byte, in both roles, and the resulting transport keys
// checked with a real data packet through a device on in-memory binds.

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/crypto/chacha20poly1305"
	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/conn/bindtest"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/tun/tuntest"
)

type wgSide struct {
	dev   *device.Device
	tun   *tuntest.ChannelTUN
	other conn.Bind          // the far end of the device's in-memory bind
	recv  []conn.ReceiveFunc // [0] IPv4 channel, [1] IPv6 channel
	peer  *device.Peer
}

// newWG starts a wireguard-go device with private key priv and one peer
// (remote, psk) whose allowed IP is 10.0.0.2 and whose endpoint is the
// other end of an in-memory bind.
func newWG(t *testing.T, priv PrivateKey, remote PublicKey, psk PresharedKey) *wgSide {
	t.Helper()
	binds := bindtest.NewChannelBinds()
	w := &wgSide{tun: tuntest.NewChannelTUN(), other: binds[1]}
	w.dev = device.NewDevice(w.tun.TUN(), binds[0], device.NewLogger(device.LogLevelSilent, ""))
	t.Cleanup(w.dev.Close)
	cfg := fmt.Sprintf("private_key=%s\npublic_key=%s\npreshared_key=%s\nallowed_ip=10.0.0.2/32\nendpoint=127.0.0.1:1\n",
		hex.EncodeToString(priv[:]), hex.EncodeToString(remote[:]), hex.EncodeToString(psk[:]))
	if err := w.dev.IpcSet(cfg); err != nil {
		t.Fatal(err)
	}
	if err := w.dev.Up(); err != nil {
		t.Fatal(err)
	}
	w.peer = w.dev.LookupPeer(device.NoisePublicKey(remote))
	if w.peer == nil {
		t.Fatal("wireguard-go peer missing")
	}
	fns, _, err := w.other.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.other.Close() })
	// The device sends to its configured endpoint on the IPv4 channel until
	// a packet from us moves its endpoint to the IPv6 one (bindtest's
	// receive reports that as the source).
	w.recv = fns
	return w
}

func toWire(t *testing.T, v any, size int) []byte {
	t.Helper()
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, v)
	if b.Len() != size {
		t.Fatalf("wireguard-go message is %d bytes, want %d", b.Len(), size)
	}
	return b.Bytes()
}

func fromWire(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := binary.Read(bytes.NewReader(b), binary.LittleEndian, v); err != nil {
		t.Fatal(err)
	}
}

// TestInteropWireGuardGoResponder: we initiate, wireguard-go responds.
func TestInteropWireGuardGoResponder(t *testing.T) {
	p := newPair(t, 50)
	w := newWG(t, p.b.Private, p.a.Public, p.aPeer.PSK)

	var ist InitiatorState
	_, wire := p.initiation(t, &ist, 0x1234)

	// wireguard-go's receive path checks mac1 with its CookieChecker.
	var wgChecker device.CookieChecker
	wgChecker.Init(device.NoisePublicKey(p.b.Public))
	if !wgChecker.CheckMAC1(wire[:]) {
		t.Fatal("wireguard-go rejects our mac1")
	}
	var wi device.MessageInitiation
	fromWire(t, wire[:], &wi)
	peer := w.dev.ConsumeMessageInitiation(&wi)
	if peer != w.peer {
		t.Fatal("wireguard-go did not consume our initiation")
	}
	wr, err := w.dev.CreateMessageResponse(peer)
	if err != nil {
		t.Fatal(err)
	}
	respWire := toWire(t, wr, MessageResponseSize)
	var resp MessageResponse
	if err := resp.Unmarshal(respWire); err != nil {
		t.Fatal(err)
	}
	keys, err := ConsumeResponse(&p.a, &p.aPeer, &ist, &resp)
	if err != nil {
		t.Fatalf("wireguard-go's response: %v", err)
	}
	if err := peer.BeginSymmetricSession(); err != nil {
		t.Fatal(err)
	}

	// Our first data packet confirms the session on wireguard-go's side and
	// is delivered to its TUN: our send key is its receive key.
	ping := tuntest.Ping(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"))
	sendTransport(t, w, &keys, resp.Sender, 0, ping)
	select {
	case got := <-w.tun.Inbound:
		if !bytes.Equal(got, ping) {
			t.Fatal("wireguard-go decrypted a different packet")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("wireguard-go did not deliver our packet")
	}
	// And its reply decrypts with our receive key.
	reply := tuntest.Ping(netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.1"))
	w.tun.Outbound <- reply
	got := recvTransport(t, w, 1, &keys, 0x1234)
	if !bytes.Equal(got[:len(reply)], reply) {
		t.Fatal("our decryption of wireguard-go's packet differs")
	}
}

// TestInteropWireGuardGoInitiator: wireguard-go initiates, we respond.
func TestInteropWireGuardGoInitiator(t *testing.T) {
	p := newPair(t, 51)
	w := newWG(t, p.a.Private, p.b.Public, p.bPeer.PSK)

	wi, err := w.dev.CreateMessageInitiation(w.peer)
	if err != nil {
		t.Fatal(err)
	}
	wire := toWire(t, wi, MessageInitiationSize)
	var wgGen device.CookieGenerator
	wgGen.Init(device.NoisePublicKey(p.b.Public))
	wgGen.AddMacs(wire)
	if !p.checkerB.CheckMAC1(wire) {
		t.Fatal("we reject wireguard-go's mac1")
	}
	var init MessageInitiation
	if err := init.Unmarshal(wire); err != nil {
		t.Fatal(err)
	}
	peer, rst, ts, err := ConsumeInitiation(&p.b, &init, p.lookupB)
	if err != nil {
		t.Fatalf("wireguard-go's initiation: %v", err)
	}
	if d := time.Since(ts.Time()); d < -time.Second || d > time.Minute {
		t.Fatalf("timestamp %v", ts)
	}
	var resp MessageResponse
	keys, err := CreateResponse(&p.b, peer, &rst, 0x9999, p.rnd, &resp)
	if err != nil {
		t.Fatal(err)
	}
	var respWire [MessageResponseSize]byte
	resp.Marshal(respWire[:])
	NewCookieGenerator(&p.bPeer, time.Now).AddMACs(respWire[:])
	var wgChecker device.CookieChecker
	wgChecker.Init(device.NoisePublicKey(p.a.Public))
	if !wgChecker.CheckMAC1(respWire[:]) {
		t.Fatal("wireguard-go rejects our response's mac1")
	}
	var wr device.MessageResponse
	fromWire(t, respWire[:], &wr)
	if w.dev.ConsumeMessageResponse(&wr) != w.peer {
		t.Fatal("wireguard-go did not consume our response")
	}
	if err := w.peer.BeginSymmetricSession(); err != nil {
		t.Fatal(err)
	}

	// wireguard-go, the initiator, may send at once.
	ping := tuntest.Ping(netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.1"))
	w.tun.Outbound <- ping
	got := recvTransport(t, w, 0, &keys, 0x9999)
	if !bytes.Equal(got[:len(ping)], ping) {
		t.Fatal("our decryption of wireguard-go's packet differs")
	}
	reply := tuntest.Ping(netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"))
	sendTransport(t, w, &keys, wi.Sender, 0, reply)
	select {
	case got := <-w.tun.Inbound:
		if !bytes.Equal(got, reply) {
			t.Fatal("wireguard-go decrypted a different packet")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("wireguard-go did not deliver our packet")
	}
}

// TestInteropCookies: the cookie exchange in both directions against
// wireguard-go's CookieChecker and CookieGenerator.
func TestInteropCookies(t *testing.T) {
	p := newPair(t, 52)
	src := AppendSource(nil, netip.MustParseAddrPort("[2001:db8::1]:4242"))

	// wireguard-go (B) checks and replies; we (A) generate.
	var wgChecker device.CookieChecker
	wgChecker.Init(device.NoisePublicKey(p.b.Public))
	gen := NewCookieGenerator(&p.aPeer, time.Now)
	var ist InitiatorState
	var msg MessageInitiation
	CreateInitiation(&p.a, &p.aPeer, 1, Stamp(time.Now()), p.rnd, &ist, &msg)
	var wire [MessageInitiationSize]byte
	msg.Marshal(wire[:])
	gen.AddMACs(wire[:])
	wgReply, err := wgChecker.CreateReply(wire[:], 1, src)
	if err != nil {
		t.Fatal(err)
	}
	var reply MessageCookieReply
	if err := reply.Unmarshal(toWire(t, wgReply, MessageCookieReplySize)); err != nil {
		t.Fatal(err)
	}
	if !gen.ConsumeReply(&reply) {
		t.Fatal("we refuse wireguard-go's cookie reply")
	}
	gen.AddMACs(wire[:])
	if !wgChecker.CheckMAC1(wire[:]) || !wgChecker.CheckMAC2(wire[:], src) {
		t.Fatal("wireguard-go rejects our mac1/mac2")
	}

	// We (B) check and reply; wireguard-go (A) generates.
	var wgGen device.CookieGenerator
	wgGen.Init(device.NoisePublicKey(p.b.Public))
	checker := NewCookieChecker(&p.b, time.Now, p.rnd)
	wgGen.AddMacs(wire[:])
	if !checker.CheckMAC1(wire[:]) || checker.CheckMAC2(wire[:], src) {
		t.Fatal("mac1/mac2 before the cookie")
	}
	if err := checker.CreateReply(wire[:], 1, src, &reply); err != nil {
		t.Fatal(err)
	}
	var rb [MessageCookieReplySize]byte
	reply.Marshal(rb[:])
	var wr device.MessageCookieReply
	fromWire(t, rb[:], &wr)
	if !wgGen.ConsumeReply(&wr) {
		t.Fatal("wireguard-go refuses our cookie reply")
	}
	wgGen.AddMacs(wire[:])
	if !checker.CheckMAC1(wire[:]) || !checker.CheckMAC2(wire[:], src) {
		t.Fatal("we reject wireguard-go's mac2")
	}
}

// sendTransport seals plaintext (padded as wireguard-go pads) with keys.Send
// and hands it to the device.
func sendTransport(t *testing.T, w *wgSide, keys *Keys, receiver uint32, counter uint64, plaintext []byte) {
	t.Helper()
	padded := make([]byte, PaddedLen(len(plaintext), 1420))
	copy(padded, plaintext)
	pkt := make([]byte, MessageTransportHeaderSize, MessageTransportHeaderSize+len(padded)+16)
	PutTransportHeader((*[MessageTransportHeaderSize]byte)(pkt), receiver, counter)
	aead, _ := chacha20poly1305.New(keys.Send[:])
	nonce := TransportNonce(counter)
	pkt = aead.Seal(pkt, nonce[:], padded, nil)
	if err := w.other.Send([][]byte{pkt}, bindtest.ChannelEndpoint(2)); err != nil {
		t.Fatal(err)
	}
}

// recvTransport reads the device's next transport message to receiver and
// opens it with keys.Receive.
func recvTransport(t *testing.T, w *wgSide, ch int, keys *Keys, receiver uint32) []byte {
	t.Helper()
	bufs := [][]byte{make([]byte, 2048)}
	sizes := []int{0}
	eps := []conn.Endpoint{nil}
	done := make(chan error, 1)
	go func() { _, err := w.recv[ch](bufs, sizes, eps); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("wireguard-go sent nothing")
	}
	pkt := bufs[0][:sizes[0]]
	r, c, err := ParseTransportHeader(pkt)
	if err != nil || r != receiver {
		t.Fatalf("transport header: receiver %x (want %x), %v", r, receiver, err)
	}
	aead, _ := chacha20poly1305.New(keys.Receive[:])
	nonce := TransportNonce(c)
	pt, err := aead.Open(nil, nonce[:], pkt[MessageTransportOffsetContent:], nil)
	if err != nil {
		t.Fatal("cannot open wireguard-go's packet with our receive key")
	}
	if len(pt) != PaddedLen(len(pt), 1420) {
		t.Fatalf("wireguard-go padded to %d bytes, which PaddedLen would pad further", len(pt))
	}
	return pt
}
