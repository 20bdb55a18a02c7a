// Package uapi is the wg(8) text protocol: parse, format, serve on the unix
// socket.
//
// The protocol is the cross-platform userspace API of
// https://www.wireguard.com/xplatform/ as wireguard-go speaks it. A client
// connects to /var/run/wireguard/IFNAME.sock and sends requests, each a line
// "get=1" or "set=1" followed by key=value lines and ended by an empty line.
// The answer to get is the device's state as key=value lines; both end with
// "errno=N" and an empty line, where N is 0 or a negative Linux errno that
// wg(8) prints with strerror.
//
// # Applying a set request
//
// wireguard-go applies a set request line by line as it reads it, so a bad
// line leaves the lines before it applied. This package is stricter: the
// server reads and checks the whole request (up to its empty line) first and
// hands the Device one [Config] only if every line was valid. A bad request
// therefore changes nothing at all, which satisfies the promise wg(8) users
// rely on ("nothing beyond the lines already applied changes"). Errors that
// only show when applying (a port in use, say) are the Device's to report;
// how much of a Config it has applied by then is its contract, not ours.
// A client that hangs up before the empty line changes nothing either.
//
// To give what wireguard-go gives, Device.Set applies a Config in this
// order: the private key (a zero Key removes it), listen port, fwmark,
// ReplacePeers; then each PeerConfig in order, which can name the same peer
// more than once: a section whose key is the device's own public key is
// ignored; Remove removes the peer and ignores the rest of the section;
// UpdateOnly skips the section if the peer does not exist yet; otherwise the
// peer is created if need be and gets PresharedKey, Endpoint,
// PersistentKeepalive, then ReplaceAllowedIPs, then AllowedIPs in order.
//
// # Bounds
//
// Lines, requests, peers per request and allowed IPs per request are bounded
// by [MaxLineLength], [MaxRequestBytes], [MaxPeers] and [MaxAllowedIPs], so a
// broken client cannot make the daemon hold unbounded memory. Each server
// connection is served by its own goroutine and no lock is held while
// reading from or writing to a client, so a slow or hung client delays only
// itself.
package uapi
