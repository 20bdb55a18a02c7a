// Package interop runs wgxdp against wireguard-go and against itself, as a
// user would: real daemons in network namespaces joined by a veth pair,
// configured with the real wg(8), wg-quick(8) and wgctrl, carrying pings and
// TCP through the tunnel. It holds tests only; they need root, and skip with
// a clear message without it or without wg, ip and ping.
//
// TestMain builds bin/wgxdp (./cmd/wgxdp) and the pinned wireguard-go into a
// temporary directory once per run. WGXDP_INTEROP_WGXDP and
// WGXDP_INTEROP_WIREGUARD_GO name prebuilt binaries to use instead.
package interop
