package uapi

import (
	"net/netip"
	"time"
)

// Key is a 32-byte WireGuard key (private, public or preshared).
type Key [32]byte

// IsZero reports whether every byte is zero.
func (k Key) IsZero() bool { return k == Key{} }

// Config is one parsed "set=1" request. Nil pointers mean "not given".
// Peers are in request order.
type Config struct {
	PrivateKey   *Key
	ListenPort   *uint16
	Fwmark       *uint32 // 0 clears the mark
	ReplacePeers bool
	Peers        []PeerConfig
}

// PeerConfig is one "public_key=" section of a set request.
type PeerConfig struct {
	PublicKey           Key
	Remove              bool
	UpdateOnly          bool
	PresharedKey        *Key // all-zero clears it
	Endpoint            *netip.AddrPort
	PersistentKeepalive *uint16 // seconds; 0 turns it off
	ReplaceAllowedIPs   bool
	AllowedIPs          []AllowedIPChange // in request order
	ProtocolVersion     *int
}

// AllowedIPChange adds a prefix, or removes it when Remove is set
// ("allowed_ip=-10.0.0.0/24").
type AllowedIPChange struct {
	Prefix netip.Prefix
	Remove bool
}

// State is the answer to "get=1".
type State struct {
	PrivateKey Key // zero: none set
	ListenPort uint16
	Fwmark     uint32
	Peers      []PeerState
}

// PeerState is one peer in a get answer.
type PeerState struct {
	PublicKey           Key
	PresharedKey        Key
	Endpoint            netip.AddrPort // zero: none
	PersistentKeepalive uint16
	LastHandshake       time.Time // zero: never
	RxBytes, TxBytes    uint64
	AllowedIPs          []netip.Prefix
	ProtocolVersion     int
}

// Device is what the UAPI server configures: the device package implements it.
type Device interface {
	// Get returns a snapshot of the configuration and counters.
	Get() State
	// Set applies a parsed request. It returns an *Error carrying the
	// errno wg(8) reports.
	Set(c *Config) error
}
