package noise

import "time"

// Identifiers mixed into the handshake and the cookie keys.
const (
	NoiseConstruction = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
	WGIdentifier      = "WireGuard v1 zx2c4 Jason@zx2c4.com"
	WGLabelMAC1       = "mac1----"
	WGLabelCookie     = "cookie--"
)

// Message types: the first byte of every message, followed by three zero
// bytes (read together as a little-endian uint32, as wireguard-go does).
const (
	MessageInitiationType  = 1
	MessageResponseType    = 2
	MessageCookieReplyType = 3
	MessageTransportType   = 4
)

// Sizes of the messages on the wire.
const (
	MessageInitiationSize      = 148 // handshake initiation
	MessageResponseSize        = 92  // handshake response
	MessageCookieReplySize     = 64  // cookie reply
	MessageTransportHeaderSize = 16  // type, receiver, counter: what precedes the content
	MessageTransportOverhead   = 32  // header and Poly1305 tag
	MessageKeepaliveSize       = 32  // a transport message with no content
	MessageHandshakeSize       = MessageInitiationSize
)

// Offsets in a transport message.
const (
	MessageTransportOffsetReceiver = 4
	MessageTransportOffsetCounter  = 8
	MessageTransportOffsetContent  = 16
)

// Sizes of keys and of the fixed fields.
const (
	KeySize       = 32 // public, private and preshared keys; the transport keys
	TimestampSize = 12 // TAI64N
	tagSize       = 16 // Poly1305
	macSize       = 16 // BLAKE2s-128
	nonceSizeX    = 24 // XChaCha20-Poly1305
)

// PaddingMultiple is the multiple transport plaintexts are padded to.
const PaddingMultiple = 16

// Protocol timing, from the WireGuard paper (section 6) as wireguard-go
// spells it (device/constants.go).
const (
	RekeyAfterMessages     = 1 << 60
	RejectAfterMessages    = 1<<64 - 1<<13 - 1
	RekeyAfterTime         = 120 * time.Second
	RejectAfterTime        = 180 * time.Second
	RekeyAttemptTime       = 90 * time.Second
	RekeyTimeout           = 5 * time.Second
	MaxTimerHandshakes     = 90 / 5 // RekeyAttemptTime / RekeyTimeout
	KeepaliveTimeout       = 10 * time.Second
	CookieRefreshTime      = 120 * time.Second
	HandshakeInitationRate = time.Second / 50 // at most 50 initiations a second per peer (wireguard-go's spelling)
	UnderLoadAfterTime     = time.Second      // how long a device stays under load once it was
)
