package noise

import "net/netip"

// AppendSource appends the bytes that name src in a cookie, the same bytes
// wireguard-go's StdNetEndpoint.DstToBytes gives (netip.AddrPort's binary
// form: the address, 4 or 16 bytes plus any zone, then the port
// little-endian), so that cookies are computed the same way.
func AppendSource(dst []byte, src netip.AddrPort) []byte {
	b, err := src.AppendBinary(dst)
	if err != nil { // AppendBinary never fails today
		return dst
	}
	return b
}
