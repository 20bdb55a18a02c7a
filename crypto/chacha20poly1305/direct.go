package chacha20poly1305

// The functions below are the AEAD without the cipher.AEAD interface: a
// caller that keeps its key in an array (the WireGuard handshake, cookies)
// seals and opens without allocating, where New/NewX would put the key on
// the heap once per call. They follow Seal/Open's append semantics.

// SealKey appends the sealed plaintext to dst, as New(key).Seal would.
func SealKey(dst []byte, key *[KeySize]byte, nonce *[NonceSize]byte, plaintext, additionalData []byte) []byte {
	return seal(key, *nonce, dst, plaintext, additionalData)
}

// OpenKey appends the opened ciphertext to dst, as New(key).Open would.
func OpenKey(dst []byte, key *[KeySize]byte, nonce *[NonceSize]byte, ciphertext, additionalData []byte) ([]byte, error) {
	return open(key, *nonce, dst, ciphertext, additionalData)
}

// XSealKey appends the sealed plaintext to dst, as NewX(key).Seal would.
func XSealKey(dst []byte, key *[KeySize]byte, nonce *[NonceSizeX]byte, plaintext, additionalData []byte) []byte {
	x := xaead{key: *key}
	k, n := x.subkey(nonce[:])
	return seal(&k, n, dst, plaintext, additionalData)
}

// XOpenKey appends the opened ciphertext to dst, as NewX(key).Open would.
func XOpenKey(dst []byte, key *[KeySize]byte, nonce *[NonceSizeX]byte, ciphertext, additionalData []byte) ([]byte, error) {
	x := xaead{key: *key}
	k, n := x.subkey(nonce[:])
	return open(&k, n, dst, ciphertext, additionalData)
}
