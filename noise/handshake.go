package noise

import (
	"io"
	"sync"

	"github.com/wgxdp/wgxdp/crypto/chacha20poly1305"
)

// Static is our long-term identity, with the values derived from it that
// every handshake and cookie check needs.
type Static struct {
	Private PrivateKey
	Public  PublicKey

	mac1Key   [32]byte // BLAKE2s("mac1----" || Public): checks mac1 on messages to us
	cookieKey [32]byte // BLAKE2s("cookie--" || Public): seals the cookies we send
}

// NewStatic clamps private and derives the public key and the mac1 and
// cookie keys for it.
func NewStatic(private PrivateKey) Static {
	private.clamp()
	s := Static{Private: private, Public: private.PublicKey()}
	s.mac1Key = hashLabel(WGLabelMAC1, &s.Public)
	s.cookieKey = hashLabel(WGLabelCookie, &s.Public)
	return s
}

// PeerStatic is what we know of one remote peer, computed once when the
// peer is configured (and again whenever our private key changes).
type PeerStatic struct {
	Public       PublicKey
	PSK          PresharedKey
	StaticStatic [32]byte // DH(our private key, their public key)

	mac1Key   [32]byte // BLAKE2s("mac1----" || Public): mac1 on messages to them
	cookieKey [32]byte // BLAKE2s("cookie--" || Public): opens their cookie replies
	usable    bool     // StaticStatic is not all zeros
}

// NewPeerStatic precomputes the per-peer values. If remote is a low-order
// point, it returns ErrLowOrder together with a PeerStatic that is complete
// except that every handshake with it fails: wireguard-go likewise accepts
// such a peer in its configuration and refuses its handshakes, and the
// caller decides which behaviour it wants.
func NewPeerStatic(local *Static, remote PublicKey, psk PresharedKey) (PeerStatic, error) {
	p := PeerStatic{Public: remote, PSK: psk}
	p.mac1Key = hashLabel(WGLabelMAC1, &remote)
	p.cookieKey = hashLabel(WGLabelCookie, &remote)
	ss, err := local.Private.SharedSecret(remote)
	p.StaticStatic = ss
	p.usable = err == nil
	return p, err
}

// HandshakeAllowed reports whether a handshake with p can succeed (its
// static-static shared secret is not all zeros).
func (p *PeerStatic) HandshakeAllowed() bool { return p.usable }

// Keys are the transport keys one handshake yields, from this side's point
// of view.
type Keys struct {
	Send, Receive [KeySize]byte
}

// Clear zeros k.
func (k *Keys) Clear() { *k = Keys{} }

// InitiatorState is the initiator's half of a handshake between
// CreateInitiation and ConsumeResponse. Its zero value holds no handshake.
type InitiatorState struct {
	hash, chainKey [32]byte
	ephemeral      PrivateKey
	senderIndex    uint32
	created        bool
}

// SenderIndex returns the index CreateInitiation put in the message, which
// the response must carry as its receiver.
func (st *InitiatorState) SenderIndex() uint32 { return st.senderIndex }

// Pending reports whether st holds an initiation awaiting its response.
func (st *InitiatorState) Pending() bool { return st.created }

// Clear zeros st, forgetting the handshake.
func (st *InitiatorState) Clear() { *st = InitiatorState{} }

// ResponderState is the responder's half of a handshake between
// ConsumeInitiation and CreateResponse.
type ResponderState struct {
	hash, chainKey  [32]byte
	remoteEphemeral PublicKey
	remoteIndex     uint32
	consumed        bool
}

// RemoteIndex returns the initiator's sender index, which the response
// carries as its receiver.
func (st *ResponderState) RemoteIndex() uint32 { return st.remoteIndex }

// Clear zeros st.
func (st *ResponderState) Clear() { *st = ResponderState{} }

var zeroNonce [chacha20poly1305.NonceSize]byte

// scratch carries the handshake's AEAD operands (all small and of fixed
// size) and random bytes across the cipher.AEAD and io.Reader interfaces,
// so that the caller's state does not escape to the heap.
type scratch struct {
	key   [chacha20poly1305.KeySize]byte
	nonce [chacha20poly1305.NonceSizeX]byte
	ad    [32]byte
	in    [KeySize + tagSize]byte
	out   [KeySize + tagSize]byte
}

var scratches = sync.Pool{New: func() any { return new(scratch) }}

// crypt seals (or opens) in under key with ad and writes the result to dst,
// reporting whether it authenticated. nonce nil means ChaCha20-Poly1305
// with the zero nonce; otherwise XChaCha20-Poly1305 with the given 24-byte
// nonce. in is at most 48 bytes, ad at most 32. dst is untouched on failure.
func crypt(sealing bool, dst []byte, key *[32]byte, nonce, in, ad []byte) bool {
	// Operands are copied into a pooled scratch: slices passed through the
	// AEAD's indirect (dispatched) call escape, and the caller's handshake
	// state must stay on its stack. The key-array functions of our AEAD
	// allocate nothing themselves.
	s := scratches.Get().(*scratch)
	defer func() {
		*s = scratch{}
		scratches.Put(s)
	}()
	s.key = *key
	adn := copy(s.ad[:], ad)
	n := copy(s.in[:], in)
	var out []byte
	var err error
	switch {
	case nonce == nil && sealing:
		out = chacha20poly1305.SealKey(s.out[:0], &s.key, &zeroNonce, s.in[:n], s.ad[:adn])
	case nonce == nil:
		out, err = chacha20poly1305.OpenKey(s.out[:0], &s.key, &zeroNonce, s.in[:n], s.ad[:adn])
	default:
		copy(s.nonce[:], nonce)
		if sealing {
			out = chacha20poly1305.XSealKey(s.out[:0], &s.key, &s.nonce, s.in[:n], s.ad[:adn])
		} else {
			out, err = chacha20poly1305.XOpenKey(s.out[:0], &s.key, &s.nonce, s.in[:n], s.ad[:adn])
		}
	}
	if err != nil {
		return false
	}
	copy(dst, out)
	return true
}

// seal sets dst = ChaCha20-Poly1305(key, nonce 0, plaintext, ad).
func seal(dst []byte, key *[32]byte, plaintext, ad []byte) { crypt(true, dst, key, nil, plaintext, ad) }

// open sets dst to the plaintext of ciphertext if it authenticates.
func open(dst []byte, key *[32]byte, ciphertext, ad []byte) bool {
	return crypt(false, dst, key, nil, ciphertext, ad)
}

// readRandom fills b (at most 48 bytes) from rnd.
func readRandom(rnd io.Reader, b []byte) error {
	s := scratches.Get().(*scratch)
	_, err := io.ReadFull(rnd, s.in[:len(b)])
	copy(b, s.in[:len(b)])
	*s = scratch{}
	scratches.Put(s)
	if err != nil {
		return ErrShortRandom
	}
	return nil
}

// CreateInitiation starts a handshake with peer: it fills msg (all but
// MAC1 and MAC2, which are zeroed for [CookieGenerator.AddMACs]) and st. ts
// is the current time as [Stamp] gives it; the responder refuses a
// timestamp no later than the last one it accepted from us. rnd supplies the
// ephemeral key. On error st is cleared.
func CreateInitiation(local *Static, peer *PeerStatic, senderIndex uint32, ts Timestamp, rnd io.Reader, st *InitiatorState, msg *MessageInitiation) error {
	st.Clear()
	if !peer.usable {
		return ErrLowOrder
	}
	eph, err := NewPrivateKey(rnd)
	if err != nil {
		return err
	}
	st.ephemeral = eph
	setZero(eph[:])

	st.hash = initialHash
	st.chainKey = initialChainKey
	mixHash(&st.hash, &st.hash, peer.Public[:])

	*msg = MessageInitiation{Sender: senderIndex, Ephemeral: st.ephemeral.PublicKey()}
	mixKey(&st.chainKey, &st.chainKey, msg.Ephemeral[:])
	mixHash(&st.hash, &st.hash, msg.Ephemeral[:])

	// es: encrypt our static public key.
	ss, err := st.ephemeral.SharedSecret(peer.Public)
	if err != nil {
		st.Clear()
		return err
	}
	var key [32]byte
	KDF2(&st.chainKey, &key, st.chainKey[:], ss[:])
	setZero(ss[:])
	seal(msg.Static[:], &key, local.Public[:], st.hash[:])
	mixHash(&st.hash, &st.hash, msg.Static[:])

	// ss: encrypt the timestamp.
	KDF2(&st.chainKey, &key, st.chainKey[:], peer.StaticStatic[:])
	seal(msg.Timestamp[:], &key, ts[:], st.hash[:])
	setZero(key[:])
	mixHash(&st.hash, &st.hash, msg.Timestamp[:])

	st.senderIndex = senderIndex
	st.created = true
	return nil
}

// ConsumeResponse completes the handshake st started, returning the
// transport keys (the initiator sends with the first KDF output). The
// caller finds st by msg.Receiver; ConsumeResponse checks the index again.
// On success st is cleared (the ephemeral key is zeroed); on failure it is
// left as it was, so a forged response does not cancel the handshake.
func ConsumeResponse(local *Static, peer *PeerStatic, st *InitiatorState, msg *MessageResponse) (Keys, error) {
	if !st.created {
		return Keys{}, ErrInvalidState
	}
	if msg.Receiver != st.senderIndex {
		return Keys{}, ErrWrongReceiver
	}
	if !peer.usable {
		return Keys{}, ErrLowOrder
	}
	var hash, chainKey [32]byte
	defer setZero(chainKey[:])

	mixHash(&hash, &st.hash, msg.Ephemeral[:])
	mixKey(&chainKey, &st.chainKey, msg.Ephemeral[:])

	// ee
	ss, err := st.ephemeral.SharedSecret(msg.Ephemeral)
	if err != nil {
		return Keys{}, err
	}
	mixKey(&chainKey, &chainKey, ss[:])
	// se
	ss, err = local.Private.SharedSecret(msg.Ephemeral)
	if err != nil {
		return Keys{}, err
	}
	mixKey(&chainKey, &chainKey, ss[:])
	setZero(ss[:])

	// psk
	var tau, key [32]byte
	KDF3(&chainKey, &tau, &key, chainKey[:], peer.PSK[:])
	mixHash(&hash, &hash, tau[:])
	setZero(tau[:])
	ok := open(nil, &key, msg.Empty[:], hash[:])
	setZero(key[:])
	if !ok {
		return Keys{}, ErrDecrypt
	}

	var k Keys
	KDF2(&k.Send, &k.Receive, chainKey[:], nil)
	st.Clear()
	return k, nil
}

// ConsumeInitiation authenticates an initiation sent to local. It decrypts
// the initiator's static key, finds the peer with lookup (nil: the peer is
// unknown, ErrUnknownPeer) and decrypts the timestamp. It returns the
// peer, the state for CreateResponse and the timestamp; the caller must
// still refuse the initiation if the timestamp is not after the last one
// accepted from this peer (replay) or if the last accepted initiation was
// less than HandshakeInitationRate ago (flood), and only then keep the
// state. msg's mac1 (and, under load, mac2) must have been checked already.
func ConsumeInitiation(local *Static, msg *MessageInitiation, lookup func(PublicKey) *PeerStatic) (*PeerStatic, ResponderState, Timestamp, error) {
	var st ResponderState
	mixHash(&st.hash, &initialHash, local.Public[:])
	mixHash(&st.hash, &st.hash, msg.Ephemeral[:])
	mixKey(&st.chainKey, &initialChainKey, msg.Ephemeral[:])

	// es: decrypt the initiator's static public key.
	ss, err := local.Private.SharedSecret(msg.Ephemeral)
	if err != nil {
		return nil, ResponderState{}, Timestamp{}, err
	}
	var key [32]byte
	KDF2(&st.chainKey, &key, st.chainKey[:], ss[:])
	setZero(ss[:])
	var remote PublicKey
	ok := open(remote[:], &key, msg.Static[:], st.hash[:])
	if !ok {
		setZero(key[:])
		st.Clear()
		return nil, ResponderState{}, Timestamp{}, ErrDecrypt
	}
	mixHash(&st.hash, &st.hash, msg.Static[:])

	peer := lookup(remote)
	if peer == nil {
		setZero(key[:])
		st.Clear()
		return nil, ResponderState{}, Timestamp{}, ErrUnknownPeer
	}
	if !peer.usable {
		setZero(key[:])
		st.Clear()
		return nil, ResponderState{}, Timestamp{}, ErrLowOrder
	}

	// ss: decrypt the timestamp.
	KDF2(&st.chainKey, &key, st.chainKey[:], peer.StaticStatic[:])
	var ts Timestamp
	ok = open(ts[:], &key, msg.Timestamp[:], st.hash[:])
	setZero(key[:])
	if !ok {
		st.Clear()
		return nil, ResponderState{}, Timestamp{}, ErrDecrypt
	}
	mixHash(&st.hash, &st.hash, msg.Timestamp[:])

	st.remoteEphemeral = msg.Ephemeral
	st.remoteIndex = msg.Sender
	st.consumed = true
	return peer, st, ts, nil
}

// CreateResponse answers the initiation st came from: it fills msg (all
// but MAC1 and MAC2, which are zeroed) and returns the transport keys (the
// responder sends with the second KDF output). The responder must not send
// with them until the initiator has proven it has them, by the first
// transport message. st is cleared whatever the outcome.
func CreateResponse(local *Static, peer *PeerStatic, st *ResponderState, senderIndex uint32, rnd io.Reader, msg *MessageResponse) (Keys, error) {
	defer st.Clear()
	if !st.consumed {
		return Keys{}, ErrInvalidState
	}
	if !peer.usable {
		return Keys{}, ErrLowOrder
	}
	eph, err := NewPrivateKey(rnd)
	if err != nil {
		return Keys{}, err
	}
	defer setZero(eph[:])

	*msg = MessageResponse{Sender: senderIndex, Receiver: st.remoteIndex, Ephemeral: eph.PublicKey()}
	mixHash(&st.hash, &st.hash, msg.Ephemeral[:])
	mixKey(&st.chainKey, &st.chainKey, msg.Ephemeral[:])

	// ee
	ss, err := eph.SharedSecret(st.remoteEphemeral)
	if err != nil {
		return Keys{}, err
	}
	mixKey(&st.chainKey, &st.chainKey, ss[:])
	// se
	ss, err = eph.SharedSecret(peer.Public)
	if err != nil {
		return Keys{}, err
	}
	mixKey(&st.chainKey, &st.chainKey, ss[:])
	setZero(ss[:])

	// psk
	var tau, key [32]byte
	KDF3(&st.chainKey, &tau, &key, st.chainKey[:], peer.PSK[:])
	mixHash(&st.hash, &st.hash, tau[:])
	setZero(tau[:])
	seal(msg.Empty[:], &key, nil, st.hash[:])
	setZero(key[:])

	var k Keys
	KDF2(&k.Receive, &k.Send, st.chainKey[:], nil)
	return k, nil
}
