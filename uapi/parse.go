package uapi

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// Bounds on what one request may hold. They are read when a request starts,
// so a change applies to requests that start afterwards. Exceeding
// MaxLineLength or MaxRequestBytes is answered with ErrnoIO (the stream is
// then abandoned, as wireguard-go's line scanner does); exceeding MaxPeers or
// MaxAllowedIPs with ErrnoInvalid, as wireguard-go answers "too many peers".
var (
	// MaxLineLength is the longest line, without its '\n', in bytes. The
	// longest line wg(8) sends is an endpoint of well under 100 bytes.
	MaxLineLength = 4096
	// MaxRequestBytes bounds one request, counting every line.
	MaxRequestBytes int64 = 256 << 20
	// MaxPeers bounds the public_key sections in one set request (the
	// number of peers wireguard-go allows on a device).
	MaxPeers = 1 << 16
	// MaxAllowedIPs bounds the allowed_ip lines in one set request.
	MaxAllowedIPs = 1 << 20
)

var (
	errLineTooLong   = errors.New("line too long")
	errRequestTooBig = errors.New("request too large")
	errTooMany       = errors.New("too many")
)

// ParseSet parses the body of a "set=1" request: the lines after "set=1" up
// to and including the empty line that ends it. As in wireguard-go, the end
// of the input also ends the request, so a configuration in a string needs no
// empty line. If r is a *bufio.Reader, ParseSet reads no further than the
// empty line, so more requests can follow on it; any other reader may be read
// beyond it.
//
// On error the result is nil and the error is an *Error with the errno
// wireguard-go would answer. ParseSet then still reads (without keeping) the
// rest of the request up to its empty line, so the stream stays in step,
// unless that meets a read error or a bound on line or request size. The
// error is about the first bad line, or else about the read or the bound.
//
// The Config holds exactly what the request said. Keys are not clamped.
// Prefixes are masked (10.0.0.1/24 becomes 10.0.0.0/24), as the allowed-IPs
// table stores them. A replace_allowed_ips line drops the allowed_ip lines
// before it in the same peer section, so applying ReplaceAllowedIPs first and
// then AllowedIPs in order gives what wireguard-go gives applying the lines
// in order.
func ParseSet(r io.Reader) (*Config, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	c, _, err := parseSet(br, false)
	return c, err
}

// parseSet parses one set request from br. If strict, the request must end
// with an empty line; otherwise the end of the input ends it too. inStep
// reports whether br stands just after the request's empty line, so that the
// next request can be read from it.
func parseSet(br *bufio.Reader, strict bool) (c *Config, inStep bool, err error) {
	p := parser{
		c:        new(Config),
		maxLine:  MaxLineLength,
		maxBytes: MaxRequestBytes,
		maxPeers: MaxPeers,
		maxIPs:   MaxAllowedIPs,
	}
	var first error // the first bad line; later lines are read and dropped
	var total int64
	for {
		line, rerr := readLine(br, p.maxLine)
		total += int64(len(line)) + 1
		if first != nil && (rerr != nil || total > p.maxBytes) {
			// The request cannot be read to its end, but the answer is
			// about its first bad line, as in wireguard-go.
			return nil, false, first
		}
		switch {
		case rerr == errLineTooLong:
			return nil, false, Errorf(ErrnoIO, "failed to read input: %w (over %d bytes)", errLineTooLong, p.maxLine)
		case total > p.maxBytes:
			return nil, false, Errorf(ErrnoIO, "failed to read input: %w (over %d bytes)", errRequestTooBig, p.maxBytes)
		case rerr == io.EOF && !strict:
			if line = strings.TrimSuffix(line, "\r"); line != "" {
				if err := p.line(line); err != nil {
					return nil, false, err
				}
			}
			return p.c, false, nil
		case rerr == io.EOF:
			return nil, false, Errorf(ErrnoIO, "failed to read input: %w before the empty line", io.ErrUnexpectedEOF)
		case rerr != nil:
			return nil, false, Errorf(ErrnoIO, "failed to read input: %w", rerr)
		}
		// Like bufio.ScanLines in wireguard-go, drop one trailing '\r'.
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			if first != nil {
				return nil, true, first
			}
			return p.c, true, nil
		}
		if first == nil {
			first = p.line(line)
		}
	}
}

// readLine returns the next line without its '\n'. At the end of the input it
// returns what is left and io.EOF. A line longer than max bytes is
// errLineTooLong, with the rest of it left unread: beyond br's own buffer,
// readLine gathers at most max bytes.
func readLine(br *bufio.Reader, max int) (string, error) {
	var long []byte // a line longer than br's buffer
	for {
		frag, err := br.ReadSlice('\n')
		if err == nil {
			frag = frag[:len(frag)-1]
		}
		if len(long)+len(frag) > max {
			return "", errLineTooLong
		}
		if err == bufio.ErrBufferFull {
			long = append(long, frag...)
			continue
		}
		if long != nil {
			return string(append(long, frag...)), err
		}
		return string(frag), err
	}
}

type parser struct {
	c        *Config
	peer     *PeerConfig // the section being parsed; nil in the device section
	nIPs     int
	maxLine  int
	maxBytes int64
	maxPeers int
	maxIPs   int
}

// line parses one non-empty line into p.c.
func (p *parser) line(line string) error {
	key, value, ok := strings.Cut(line, "=")
	if !ok {
		return Errorf(ErrnoProtocol, "failed to parse line %q", line)
	}
	if key == "public_key" {
		k, err := parseKey(value)
		if err != nil {
			return Errorf(ErrnoInvalid, "failed to get peer by public key: %w", err)
		}
		if len(p.c.Peers) >= p.maxPeers {
			return Errorf(ErrnoInvalid, "failed to create new peer: %w peers (over %d in one request)", errTooMany, p.maxPeers)
		}
		p.c.Peers = append(p.c.Peers, PeerConfig{PublicKey: k})
		p.peer = &p.c.Peers[len(p.c.Peers)-1]
		return nil
	}
	if p.peer == nil {
		return p.deviceLine(key, value)
	}
	return p.peerLine(key, value)
}

func (p *parser) deviceLine(key, value string) error {
	c := p.c
	switch key {
	case "private_key":
		k, err := parseKey(value)
		if err != nil {
			return Errorf(ErrnoInvalid, "failed to set private_key: %w", err)
		}
		c.PrivateKey = &k
	case "listen_port":
		port, err := strconv.ParseUint(value, 10, 16)
		if err != nil {
			return Errorf(ErrnoInvalid, "failed to parse listen_port: %w", err)
		}
		v := uint16(port)
		c.ListenPort = &v
	case "fwmark":
		mark, err := strconv.ParseUint(value, 10, 32)
		if err != nil {
			return Errorf(ErrnoInvalid, "invalid fwmark: %w", err)
		}
		v := uint32(mark)
		c.Fwmark = &v
	case "replace_peers":
		if value != "true" {
			return Errorf(ErrnoInvalid, "failed to set replace_peers, invalid value: %q", value)
		}
		c.ReplacePeers = true
	default:
		return Errorf(ErrnoInvalid, "invalid UAPI device key: %q", key)
	}
	return nil
}

func (p *parser) peerLine(key, value string) error {
	peer := p.peer
	switch key {
	case "update_only":
		if value != "true" {
			return Errorf(ErrnoInvalid, "failed to set update only, invalid value: %q", value)
		}
		peer.UpdateOnly = true
	case "remove":
		if value != "true" {
			return Errorf(ErrnoInvalid, "failed to set remove, invalid value: %q", value)
		}
		peer.Remove = true
	case "preshared_key":
		k, err := parseKey(value)
		if err != nil {
			return Errorf(ErrnoInvalid, "failed to set preshared key: %w", err)
		}
		peer.PresharedKey = &k
	case "endpoint":
		// wg(8) resolves names itself; like wireguard-go's StdNetBind we
		// take only a literal address and port.
		ap, err := netip.ParseAddrPort(value)
		if err != nil {
			return Errorf(ErrnoInvalid, "failed to set endpoint %q: %w", value, err)
		}
		peer.Endpoint = &ap
	case "persistent_keepalive_interval":
		secs, err := strconv.ParseUint(value, 10, 16)
		if err != nil {
			return Errorf(ErrnoInvalid, "failed to set persistent keepalive interval: %w", err)
		}
		v := uint16(secs)
		peer.PersistentKeepalive = &v
	case "replace_allowed_ips":
		if value != "true" {
			return Errorf(ErrnoInvalid, "failed to replace allowedips, invalid value: %q", value)
		}
		peer.ReplaceAllowedIPs = true
		p.nIPs -= len(peer.AllowedIPs)
		peer.AllowedIPs = nil
	case "allowed_ip":
		remove := strings.HasPrefix(value, "-")
		prefix, err := netip.ParsePrefix(strings.TrimPrefix(value, "-"))
		if err != nil {
			return Errorf(ErrnoInvalid, "failed to set allowed ip: %w", err)
		}
		if p.nIPs >= p.maxIPs {
			return Errorf(ErrnoInvalid, "failed to set allowed ip: %w allowed IPs (over %d in one request)", errTooMany, p.maxIPs)
		}
		p.nIPs++
		peer.AllowedIPs = append(peer.AllowedIPs, AllowedIPChange{Prefix: prefix.Masked(), Remove: remove})
	case "protocol_version":
		if value != "1" {
			return Errorf(ErrnoInvalid, "invalid protocol version: %q", value)
		}
		v := 1
		peer.ProtocolVersion = &v
	default:
		return Errorf(ErrnoInvalid, "invalid UAPI peer key: %q", key)
	}
	return nil
}

// parseKey decodes 64 hex digits (either case), as wireguard-go's
// loadExactHex does.
func parseKey(s string) (Key, error) {
	var k Key
	if len(s) != 2*len(k) {
		return Key{}, fmt.Errorf("key is %d characters, want %d hex digits", len(s), 2*len(k))
	}
	if _, err := hex.Decode(k[:], []byte(s)); err != nil {
		return Key{}, err
	}
	return k, nil
}
