package uapi

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func mustPrefixes(ss ...string) []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range ss {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}

var goldenState = State{
	PrivateKey: key(0x01),
	ListenPort: 51820,
	Fwmark:     0x1234,
	Peers: []PeerState{{
		PublicKey:           key(0x11),
		PresharedKey:        key(0x33),
		Endpoint:            mustAddrPort("192.0.2.1:51820"),
		PersistentKeepalive: 25,
		LastHandshake:       time.Unix(1700000000, 123456789),
		RxBytes:             1024,
		TxBytes:             2048,
		AllowedIPs:          mustPrefixes("10.0.0.0/24", "fd00::/64"),
		ProtocolVersion:     1,
	}, {
		PublicKey: key(0x22),
	}},
}

const goldenGet = `private_key=0101010101010101010101010101010101010101010101010101010101010101
listen_port=51820
fwmark=4660
public_key=1111111111111111111111111111111111111111111111111111111111111111
preshared_key=3333333333333333333333333333333333333333333333333333333333333333
protocol_version=1
endpoint=192.0.2.1:51820
last_handshake_time_sec=1700000000
last_handshake_time_nsec=123456789
tx_bytes=2048
rx_bytes=1024
persistent_keepalive_interval=25
allowed_ip=10.0.0.0/24
allowed_ip=fd00::/64
public_key=2222222222222222222222222222222222222222222222222222222222222222
preshared_key=0000000000000000000000000000000000000000000000000000000000000000
protocol_version=1
last_handshake_time_sec=0
last_handshake_time_nsec=0
tx_bytes=0
rx_bytes=0
persistent_keepalive_interval=0
errno=0

`

func TestWriteGetGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteGet(&b, goldenState); err != nil {
		t.Fatal(err)
	}
	if b.String() != goldenGet {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), goldenGet)
	}
}

func TestWriteGetEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := WriteGet(&b, State{}); err != nil {
		t.Fatal(err)
	}
	if b.String() != "errno=0\n\n" {
		t.Fatalf("got %q", b.String())
	}
	b.Reset()
	WriteGet(&b, State{Peers: []PeerState{{Endpoint: mustAddrPort("[fe80::1%eth0]:1"), ProtocolVersion: 2}}})
	if !strings.Contains(b.String(), "\nprotocol_version=2\nendpoint=[fe80::1%eth0]:1\n") {
		t.Fatalf("got %q", b.String())
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken") }

func TestWriteGetError(t *testing.T) {
	err := WriteGet(failWriter{}, goldenState)
	if errnoOf(err) != ErrnoIO {
		t.Fatalf("err = %v, want errno %d", err, ErrnoIO)
	}
}

// The settable part of a get answer, sent back as a set request, says the
// same.
func TestWriteGetRoundTrip(t *testing.T) {
	var b bytes.Buffer
	WriteGet(&b, goldenState)
	var set strings.Builder
	for line := range strings.Lines(b.String()) {
		switch k, _, _ := strings.Cut(line, "="); k {
		case "last_handshake_time_sec", "last_handshake_time_nsec", "tx_bytes", "rx_bytes", "errno":
		default:
			set.WriteString(line)
		}
	}
	c, err := ParseSet(strings.NewReader(set.String()))
	if err != nil {
		t.Fatal(err)
	}
	s := goldenState
	if *c.PrivateKey != s.PrivateKey || *c.ListenPort != s.ListenPort || *c.Fwmark != s.Fwmark || len(c.Peers) != 2 {
		t.Fatalf("%+v", c)
	}
	for i, p := range c.Peers {
		want := s.Peers[i]
		if p.PublicKey != want.PublicKey || *p.PresharedKey != want.PresharedKey ||
			*p.PersistentKeepalive != want.PersistentKeepalive || *p.ProtocolVersion != 1 {
			t.Errorf("peer %d: %+v", i, p)
		}
		if want.Endpoint.IsValid() != (p.Endpoint != nil) || p.Endpoint != nil && *p.Endpoint != want.Endpoint {
			t.Errorf("peer %d endpoint %v, want %v", i, p.Endpoint, want.Endpoint)
		}
		if len(p.AllowedIPs) != len(want.AllowedIPs) {
			t.Fatalf("peer %d allowed IPs %v", i, p.AllowedIPs)
		}
		for j, a := range p.AllowedIPs {
			if a.Remove || a.Prefix != want.AllowedIPs[j] {
				t.Errorf("peer %d allowed IP %d: %+v", i, j, a)
			}
		}
	}
}
