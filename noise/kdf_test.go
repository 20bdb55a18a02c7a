package noise

import (
	"bytes"
	"crypto/hmac"
	"encoding/hex"
	"hash"
	"testing"

	"github.com/wgxdp/wgxdp/crypto/blake2s"
)

// Vectors from wireguard-go's device/kdf_test.go.
func TestKDF(t *testing.T) {
	for _, v := range []struct{ key, input, t0, t1, t2 string }{
		{"746573742d6b6579", "746573742d696e707574",
			"6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633",
			"df1194df20802a4fe594cde27e92991c8cae66c366e8106aaa937a55fa371e8a",
			"fac6e2745a325f5dc5d11a5b165aad08b0ada28e7b4e666b7c077934a4d76c24"},
		{"776972656775617264", "776972656775617264",
			"491d43bbfdaa8750aaf535e334ecbfe5129967cd64635101c566d4caefda96e8",
			"1e71a379baefd8a79aa4662212fcafe19a23e2b609a3db7d6bcba8f560e3d25f",
			"31e1ae48bddfbe5de38f295e5452b1909a1b4e38e183926af3780b0c1e1f0160"},
		{"", "",
			"8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0",
			"58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e",
			"0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e"},
	} {
		key, _ := hex.DecodeString(v.key)
		in, _ := hex.DecodeString(v.input)
		var t0, t1, t2 [32]byte
		KDF3(&t0, &t1, &t2, key, in)
		if hex.EncodeToString(t0[:]) != v.t0 || hex.EncodeToString(t1[:]) != v.t1 || hex.EncodeToString(t2[:]) != v.t2 {
			t.Errorf("KDF3(%s, %s)", v.key, v.input)
		}
		t0, t1 = [32]byte{}, [32]byte{}
		KDF2(&t0, &t1, key, in)
		if hex.EncodeToString(t0[:]) != v.t0 || hex.EncodeToString(t1[:]) != v.t1 {
			t.Errorf("KDF2(%s, %s)", v.key, v.input)
		}
		t0 = [32]byte{}
		KDF1(&t0, key, in)
		if hex.EncodeToString(t0[:]) != v.t0 {
			t.Errorf("KDF1(%s, %s)", v.key, v.input)
		}
	}
}

// TestHMAC checks the hand-rolled HMAC against crypto/hmac, for keys
// shorter than, equal to and longer than the block.
func TestHMAC(t *testing.T) {
	r := newTestRand(30)
	newH := func() hash.Hash { h, _ := blake2s.New256(nil); return h }
	for _, kl := range []int{0, 1, 32, 63, 64, 65, 200} {
		for _, ml := range []int{0, 1, 64, 65, 300} {
			key := make([]byte, kl)
			msg := make([]byte, ml)
			r.Read(key)
			r.Read(msg)
			m := hmac.New(newH, key)
			m.Write(msg)
			want := m.Sum(nil)
			var got [32]byte
			HMAC2(&got, key, msg[:ml/2], msg[ml/2:])
			if !bytes.Equal(got[:], want) {
				t.Errorf("key %d msg %d: HMAC2 differs", kl, ml)
			}
			HMAC1(&got, key, msg)
			if !bytes.Equal(got[:], want) {
				t.Errorf("key %d msg %d: HMAC1 differs", kl, ml)
			}
		}
	}
}

func TestInitialValues(t *testing.T) {
	// BLAKE2s("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s") and the hash mixed with
	// the WireGuard identifier, as the kernel's handshake_init precomputes.
	if got := hex.EncodeToString(initialChainKey[:]); got != "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36" {
		t.Errorf("initial chain key %s", got)
	}
	if got := hex.EncodeToString(initialHash[:]); got != "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3" {
		t.Errorf("initial hash %s", got)
	}
}

// TestKDFAllocs: the hashing under the handshake does not allocate once
// the pool is warm (the crypto packages' own allocations aside).
func TestKDFAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	var a, b, c [32]byte
	in := make([]byte, 48)
	if n := testing.AllocsPerRun(100, func() {
		KDF3(&a, &b, &c, a[:], in)
		KDF2(&a, &b, a[:], in)
		mixKey(&a, &a, in)
		mixHash(&a, &a, in)
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

// TestHandshakeKDFAllocs: all the hashing of a full handshake, both sides
// (every KDF, HMAC, mixHash and MAC the two messages need, with their real
// input sizes), allocates nothing.
func TestHandshakeKDFAllocs(t *testing.T) {
	var ck, h, k0, k1, k2 [32]byte
	var pub PublicKey
	var mac [macSize]byte
	dh := make([]byte, 32)
	init := make([]byte, MessageInitiationSize)
	resp := make([]byte, MessageResponseSize)
	if n := testing.AllocsPerRun(100, func() {
		for range 2 { // initiator and responder do the same work
			_ = hashLabel(WGLabelMAC1, &pub)
			ck, h = initialChainKey, initialHash
			mixHash(&h, &h, pub[:])
			mixKey(&ck, &ck, dh) // e
			mixHash(&h, &h, dh)
			KDF2(&ck, &k0, ck[:], dh)   // es
			mixHash(&h, &h, init[8:56]) // encrypted static
			KDF2(&ck, &k0, ck[:], dh)   // ss
			mixHash(&h, &h, init[56:84])
			mixKey(&ck, &ck, dh) // response e
			mixHash(&h, &h, dh)
			mixKey(&ck, &ck, dh)           // ee
			mixKey(&ck, &ck, dh)           // se
			KDF3(&ck, &k0, &k1, ck[:], dh) // psk
			mixHash(&h, &h, k0[:])
			KDF2(&k1, &k2, ck[:], nil)       // transport keys
			mac128(&mac, k0[:], init[:116])  // mac1 of the initiation
			mac128(&mac, k0[:16], resp[:60]) // mac2-style, 16-byte key
		}
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
