// Package noise implements WireGuard's handshake: the Noise_IKpsk2 pattern
// over Curve25519, ChaCha20-Poly1305 and BLAKE2s, the cookie (mac1/mac2)
// messages that protect it under load, and the wire formats of the four
// WireGuard messages.
//
// The package is pure: it does no I/O, keeps no peer table, starts no
// goroutines and reads neither the clock nor the system's randomness. The
// caller passes time (as a [Timestamp], or a now func for the cookie types)
// and an io.Reader of random bytes, and owns all state between messages.
// That keeps the protocol testable in virtual time and leaves every
// policy decision (index allocation, replay and flood limits, when to
// rekey) to package device.
//
// # The handshake
//
// Each side has a long-term [Static] key pair; for every configured peer
// the caller precomputes a [PeerStatic] once (the static-static
// Diffie-Hellman result and the peer's cookie keys). A handshake then runs
// in two messages:
//
//	initiator                                  responder
//	CreateInitiation(st) ── MessageInitiation ──▶ ConsumeInitiation → peer, rs, ts
//	                                               (caller: ts newer than the
//	                                                last one? not flooding?)
//	ConsumeResponse(st) ◀── MessageResponse ───── CreateResponse(rs) → Keys
//	  → Keys
//
// Both sides mix every public value into a running transcript hash and
// every Diffie-Hellman result (ephemeral-static, static-static,
// ephemeral-ephemeral, static-ephemeral) and the preshared key into a
// chaining key. The initiation carries the initiator's static public key
// and a TAI64N timestamp, each sealed under a key from the chain; the
// response carries only an empty AEAD tag that authenticates the whole
// transcript. Both then split the final chaining key into two transport
// [Keys]: the initiator sends with the first and receives with the second,
// the responder the other way round.
//
// The handshake functions neither set nor check the mac1 and mac2 fields
// (CreateInitiation and CreateResponse zero them): the sender calls
// [CookieGenerator.AddMACs] on the marshalled bytes, and the receiver checks
// them with a [CookieChecker] before it spends a Diffie-Hellman on the
// message. The sender index travels outside the Noise transcript; only mac1
// protects it.
//
// # Cookies
//
// Every handshake message ends in mac1 (keyed by a hash of the receiver's
// public key, so only someone who knows that key can make the receiver
// work) and mac2. A receiver under load answers a message without a valid
// mac2 by a [MessageCookieReply] instead of a response: a cookie (a MAC of
// the sender's address under a secret that changes every
// [CookieRefreshTime]) sealed with XChaCha20-Poly1305 and bound to the mac1
// it answers. The sender's next message then carries mac2, a MAC keyed by
// that cookie, which proves it can receive at its source address.
//
// # Provenance
//
// The wire behaviour follows wireguard-go (golang.zx2c4.com/wireguard,
// device/noise-protocol.go, noise-helpers.go, cookie.go and tai64n/,
// Copyright (C) 2017-2025 WireGuard LLC, MIT licence) byte for byte; the
// structure, not the bytes, is ours. Where this package differs in local
// policy it says so at the function concerned.
package noise
