package noise

import "encoding/binary"

// The wire formats. Every message starts with its type as a little-endian
// uint32 (a type byte and three zero bytes); Unmarshal compares all four
// bytes, as wireguard-go does, and requires the exact length. Marshal and
// Unmarshal do not allocate.

// MessageInitiation is the first handshake message (type 1, 148 bytes).
type MessageInitiation struct {
	Sender    uint32
	Ephemeral PublicKey
	Static    [KeySize + tagSize]byte
	Timestamp [TimestampSize + tagSize]byte
	MAC1      [macSize]byte
	MAC2      [macSize]byte
}

// MessageResponse is the second handshake message (type 2, 92 bytes).
type MessageResponse struct {
	Sender    uint32
	Receiver  uint32
	Ephemeral PublicKey
	Empty     [tagSize]byte
	MAC1      [macSize]byte
	MAC2      [macSize]byte
}

// MessageCookieReply answers a handshake message under load (type 3, 64
// bytes).
type MessageCookieReply struct {
	Receiver uint32
	Nonce    [nonceSizeX]byte
	Cookie   [macSize + tagSize]byte
}

// MessageType returns the type of the message in b (its first four bytes as
// a little-endian uint32), or 0 if b is shorter than four bytes.
func MessageType(b []byte) uint32 {
	if len(b) < 4 {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

// header checks b's length and type.
func header(b []byte, size int, typ uint32) bool {
	return len(b) == size && binary.LittleEndian.Uint32(b) == typ
}

// Marshal writes m into b, which must be exactly MessageInitiationSize long.
func (m *MessageInitiation) Marshal(b []byte) error {
	if len(b) != MessageInitiationSize {
		return ErrBadMessage
	}
	binary.LittleEndian.PutUint32(b[0:], MessageInitiationType)
	binary.LittleEndian.PutUint32(b[4:], m.Sender)
	copy(b[8:40], m.Ephemeral[:])
	copy(b[40:88], m.Static[:])
	copy(b[88:116], m.Timestamp[:])
	copy(b[116:132], m.MAC1[:])
	copy(b[132:148], m.MAC2[:])
	return nil
}

// Unmarshal reads m from b, checking its length and type.
func (m *MessageInitiation) Unmarshal(b []byte) error {
	if !header(b, MessageInitiationSize, MessageInitiationType) {
		return ErrBadMessage
	}
	m.Sender = binary.LittleEndian.Uint32(b[4:])
	copy(m.Ephemeral[:], b[8:40])
	copy(m.Static[:], b[40:88])
	copy(m.Timestamp[:], b[88:116])
	copy(m.MAC1[:], b[116:132])
	copy(m.MAC2[:], b[132:148])
	return nil
}

// Marshal writes m into b, which must be exactly MessageResponseSize long.
func (m *MessageResponse) Marshal(b []byte) error {
	if len(b) != MessageResponseSize {
		return ErrBadMessage
	}
	binary.LittleEndian.PutUint32(b[0:], MessageResponseType)
	binary.LittleEndian.PutUint32(b[4:], m.Sender)
	binary.LittleEndian.PutUint32(b[8:], m.Receiver)
	copy(b[12:44], m.Ephemeral[:])
	copy(b[44:60], m.Empty[:])
	copy(b[60:76], m.MAC1[:])
	copy(b[76:92], m.MAC2[:])
	return nil
}

// Unmarshal reads m from b, checking its length and type.
func (m *MessageResponse) Unmarshal(b []byte) error {
	if !header(b, MessageResponseSize, MessageResponseType) {
		return ErrBadMessage
	}
	m.Sender = binary.LittleEndian.Uint32(b[4:])
	m.Receiver = binary.LittleEndian.Uint32(b[8:])
	copy(m.Ephemeral[:], b[12:44])
	copy(m.Empty[:], b[44:60])
	copy(m.MAC1[:], b[60:76])
	copy(m.MAC2[:], b[76:92])
	return nil
}

// Marshal writes m into b, which must be exactly MessageCookieReplySize
// long.
func (m *MessageCookieReply) Marshal(b []byte) error {
	if len(b) != MessageCookieReplySize {
		return ErrBadMessage
	}
	binary.LittleEndian.PutUint32(b[0:], MessageCookieReplyType)
	binary.LittleEndian.PutUint32(b[4:], m.Receiver)
	copy(b[8:32], m.Nonce[:])
	copy(b[32:64], m.Cookie[:])
	return nil
}

// Unmarshal reads m from b, checking its length and type.
func (m *MessageCookieReply) Unmarshal(b []byte) error {
	if !header(b, MessageCookieReplySize, MessageCookieReplyType) {
		return ErrBadMessage
	}
	m.Receiver = binary.LittleEndian.Uint32(b[4:])
	copy(m.Nonce[:], b[8:32])
	copy(m.Cookie[:], b[32:64])
	return nil
}

// PutTransportHeader writes the 16-byte header of a transport message: its
// type, the receiver's index and the counter (which is also the AEAD
// nonce).
func PutTransportHeader(b *[MessageTransportHeaderSize]byte, receiver uint32, counter uint64) {
	binary.LittleEndian.PutUint32(b[0:], MessageTransportType)
	binary.LittleEndian.PutUint32(b[MessageTransportOffsetReceiver:], receiver)
	binary.LittleEndian.PutUint64(b[MessageTransportOffsetCounter:], counter)
}

// ParseTransportHeader reads the receiver index and counter of the transport
// message b. It fails unless b is at least MessageKeepaliveSize long (header
// and tag) and of type 4.
func ParseTransportHeader(b []byte) (receiver uint32, counter uint64, err error) {
	if len(b) < MessageKeepaliveSize || binary.LittleEndian.Uint32(b) != MessageTransportType {
		return 0, 0, ErrBadMessage
	}
	return binary.LittleEndian.Uint32(b[MessageTransportOffsetReceiver:]),
		binary.LittleEndian.Uint64(b[MessageTransportOffsetCounter:]), nil
}

// TransportNonce returns the 12-byte ChaCha20-Poly1305 nonce for counter:
// four zero bytes then the counter, little-endian.
func TransportNonce(counter uint64) (n [12]byte) {
	binary.LittleEndian.PutUint64(n[4:], counter)
	return n
}
