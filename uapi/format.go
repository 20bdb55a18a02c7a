package uapi

import (
	"bufio"
	"encoding/hex"
	"io"
	"strconv"
)

// WriteGet writes the answer to "get=1" for s, ending with "errno=0" and the
// empty line, in wireguard-go's order and format: private_key (if set),
// listen_port (if nonzero), fwmark (if nonzero), then for each peer in
// s.Peers order public_key, preshared_key, protocol_version, endpoint (if
// set), last_handshake_time_sec and _nsec (0 and 0 if never), tx_bytes,
// rx_bytes, persistent_keepalive_interval and one allowed_ip line per prefix.
// Keys are lowercase hex. A ProtocolVersion of 0 is written as 1.
func WriteGet(w io.Writer, s State) error {
	bw, ok := w.(*bufio.Writer)
	if !ok {
		bw = bufio.NewWriter(w)
	}
	var scratch [24]byte
	num := func(key string, v uint64) {
		bw.WriteString(key)
		bw.WriteByte('=')
		bw.Write(strconv.AppendUint(scratch[:0], v, 10))
		bw.WriteByte('\n')
	}
	key := func(name string, k *Key) {
		bw.WriteString(name)
		bw.WriteByte('=')
		var h [2 * len(Key{})]byte
		hex.Encode(h[:], k[:])
		bw.Write(h[:])
		bw.WriteByte('\n')
	}

	if !s.PrivateKey.IsZero() {
		key("private_key", &s.PrivateKey)
	}
	if s.ListenPort != 0 {
		num("listen_port", uint64(s.ListenPort))
	}
	if s.Fwmark != 0 {
		num("fwmark", uint64(s.Fwmark))
	}
	for i := range s.Peers {
		p := &s.Peers[i]
		key("public_key", &p.PublicKey)
		key("preshared_key", &p.PresharedKey)
		version := p.ProtocolVersion
		if version == 0 {
			version = 1
		}
		bw.WriteString("protocol_version=")
		bw.WriteString(strconv.Itoa(version))
		bw.WriteByte('\n')
		if p.Endpoint.IsValid() {
			bw.WriteString("endpoint=")
			bw.WriteString(p.Endpoint.String())
			bw.WriteByte('\n')
		}
		// wireguard-go keeps the time as Unix nanoseconds, 0 for never.
		var nano int64
		if !p.LastHandshake.IsZero() {
			nano = p.LastHandshake.UnixNano()
		}
		bw.WriteString("last_handshake_time_sec=")
		bw.WriteString(strconv.FormatInt(nano/1e9, 10))
		bw.WriteString("\nlast_handshake_time_nsec=")
		bw.WriteString(strconv.FormatInt(nano%1e9, 10))
		bw.WriteByte('\n')
		num("tx_bytes", p.TxBytes)
		num("rx_bytes", p.RxBytes)
		num("persistent_keepalive_interval", uint64(p.PersistentKeepalive))
		for _, prefix := range p.AllowedIPs {
			bw.WriteString("allowed_ip=")
			bw.WriteString(prefix.String())
			bw.WriteByte('\n')
		}
	}
	bw.WriteString("errno=0\n\n")
	if err := bw.Flush(); err != nil {
		return Errorf(ErrnoIO, "failed to write output: %w", err)
	}
	return nil
}
