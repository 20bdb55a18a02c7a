package noise

// PaddedLen returns the length a transport plaintext of n bytes is padded
// to before encryption: up to a multiple of PaddingMultiple, but not beyond
// the MTU (mtu 0 means no limit). A keepalive (n 0) stays 0. n is taken
// modulo the MTU first when larger, as wireguard-go's calculatePaddingSize
// does for GSO-sized packets.
func PaddedLen(n, mtu int) int {
	if n < 0 {
		return 0
	}
	return n + paddingSize(n, mtu)
}

// paddingSize is wireguard-go's calculatePaddingSize (device/send.go).
func paddingSize(packetSize, mtu int) int {
	lastUnit := packetSize
	if mtu <= 0 {
		return ((lastUnit + PaddingMultiple - 1) &^ (PaddingMultiple - 1)) - lastUnit
	}
	if lastUnit > mtu {
		lastUnit %= mtu
	}
	padded := (lastUnit + PaddingMultiple - 1) &^ (PaddingMultiple - 1)
	if padded > mtu {
		padded = mtu
	}
	return padded - lastUnit
}
