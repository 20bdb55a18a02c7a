package uapi

import (
	"bufio"
	"errors"
	"io"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// Keys for tests: hexKey(b) is 32 bytes of b.
func key(b byte) Key {
	var k Key
	for i := range k {
		k[i] = b
	}
	return k
}

func hexKey(b byte) string {
	const digits = "0123456789abcdef"
	s := string([]byte{digits[b>>4], digits[b&0xf]})
	return strings.Repeat(s, 32)
}

func ptr[T any](v T) *T { return &v }

var (
	pub1 = hexKey(0x11)
	pub2 = hexKey(0x22)
)

var parseTests = []struct {
	name  string
	in    string
	want  *Config
	errno int
}{
	{"empty", "\n", &Config{}, 0},
	{"empty at EOF", "", &Config{}, 0},
	{"private_key", "private_key=" + hexKey(0xa8) + "\n\n", &Config{PrivateKey: ptr(key(0xa8))}, 0},
	{"private_key upper case", "private_key=" + strings.ToUpper(hexKey(0xab)) + "\n\n", &Config{PrivateKey: ptr(key(0xab))}, 0},
	{"private_key zero removes", "private_key=" + hexKey(0) + "\n\n", &Config{PrivateKey: ptr(Key{})}, 0},
	{"private_key short", "private_key=" + hexKey(1)[:63] + "\n\n", nil, ErrnoInvalid},
	{"private_key odd", "private_key=" + hexKey(1)[:62] + "\n\n", nil, ErrnoInvalid},
	{"private_key long", "private_key=" + hexKey(1) + "00\n\n", nil, ErrnoInvalid},
	{"private_key not hex", "private_key=" + hexKey(1)[:62] + "zz\n\n", nil, ErrnoInvalid},
	{"private_key empty", "private_key=\n\n", nil, ErrnoInvalid},
	{"private_key base64", "private_key=yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n\n", nil, ErrnoInvalid},
	{"listen_port", "listen_port=51820\n\n", &Config{ListenPort: ptr(uint16(51820))}, 0},
	{"listen_port 0", "listen_port=0\n\n", &Config{ListenPort: ptr(uint16(0))}, 0},
	{"listen_port max", "listen_port=65535\n\n", &Config{ListenPort: ptr(uint16(65535))}, 0},
	{"listen_port leading zeros", "listen_port=080\n\n", &Config{ListenPort: ptr(uint16(80))}, 0},
	{"listen_port too big", "listen_port=65536\n\n", nil, ErrnoInvalid},
	{"listen_port negative", "listen_port=-1\n\n", nil, ErrnoInvalid},
	{"listen_port plus", "listen_port=+1\n\n", nil, ErrnoInvalid},
	{"listen_port space", "listen_port= 1\n\n", nil, ErrnoInvalid},
	{"listen_port word", "listen_port=abc\n\n", nil, ErrnoInvalid},
	{"listen_port empty", "listen_port=\n\n", nil, ErrnoInvalid},
	{"fwmark", "fwmark=4294967295\n\n", &Config{Fwmark: ptr(uint32(4294967295))}, 0},
	{"fwmark 0 clears", "fwmark=0\n\n", &Config{Fwmark: ptr(uint32(0))}, 0},
	{"fwmark too big", "fwmark=4294967296\n\n", nil, ErrnoInvalid},
	{"fwmark hex", "fwmark=0x10\n\n", nil, ErrnoInvalid},
	{"replace_peers", "replace_peers=true\n\n", &Config{ReplacePeers: true}, 0},
	{"replace_peers false", "replace_peers=false\n\n", nil, ErrnoInvalid},
	{"replace_peers True", "replace_peers=True\n\n", nil, ErrnoInvalid},
	{"unknown device key", "listen-port=1\n\n", nil, ErrnoInvalid},
	{"empty key", "=1\n\n", nil, ErrnoInvalid},
	{"key with space", "listen_port =1\n\n", nil, ErrnoInvalid},
	{"peer key in device section", "endpoint=1.2.3.4:5\n\n", nil, ErrnoInvalid},
	{"allowed_ip before public_key", "allowed_ip=10.0.0.0/8\n\n", nil, ErrnoInvalid},
	{"get key in set", "last_handshake_time_sec=0\n\n", nil, ErrnoInvalid},
	{"no equals", "private_key\n\n", nil, ErrnoProtocol},
	{"no equals in peer", "public_key=" + pub1 + "\nremove\n\n", nil, ErrnoProtocol},
	{"garbage", "\x00\xff\x01\n\n", nil, ErrnoProtocol},
	{"first error wins", "nonsense\nlisten_port=99999\n\n", nil, ErrnoProtocol},
	{"first error wins 2", "listen_port=99999\nnonsense\n\n", nil, ErrnoInvalid},

	{"peer", "public_key=" + pub1 + "\n\n", &Config{Peers: []PeerConfig{{PublicKey: key(0x11)}}}, 0},
	{"peer zero key", "public_key=" + hexKey(0) + "\n\n", &Config{Peers: []PeerConfig{{}}}, 0},
	{"public_key bad", "public_key=" + pub1[:60] + "\n\n", nil, ErrnoInvalid},
	{"public_key empty", "public_key=\n\n", nil, ErrnoInvalid},
	{"remove", "public_key=" + pub1 + "\nremove=true\n\n",
		&Config{Peers: []PeerConfig{{PublicKey: key(0x11), Remove: true}}}, 0},
	{"remove false", "public_key=" + pub1 + "\nremove=false\n\n", nil, ErrnoInvalid},
	{"update_only", "public_key=" + pub1 + "\nupdate_only=true\n\n",
		&Config{Peers: []PeerConfig{{PublicKey: key(0x11), UpdateOnly: true}}}, 0},
	{"update_only 1", "public_key=" + pub1 + "\nupdate_only=1\n\n", nil, ErrnoInvalid},
	{"preshared_key", "public_key=" + pub1 + "\npreshared_key=" + hexKey(0x33) + "\n\n",
		&Config{Peers: []PeerConfig{{PublicKey: key(0x11), PresharedKey: ptr(key(0x33))}}}, 0},
	{"preshared_key zero", "public_key=" + pub1 + "\npreshared_key=" + hexKey(0) + "\n\n",
		&Config{Peers: []PeerConfig{{PublicKey: key(0x11), PresharedKey: ptr(Key{})}}}, 0},
	{"preshared_key bad", "public_key=" + pub1 + "\npreshared_key=00\n\n", nil, ErrnoInvalid},
	{"endpoint v4", "public_key=" + pub1 + "\nendpoint=192.0.2.1:51820\n\n",
		&Config{Peers: []PeerConfig{{PublicKey: key(0x11), Endpoint: ptr(netip.MustParseAddrPort("192.0.2.1:51820"))}}}, 0},
	{"endpoint v6", "public_key=" + pub1 + "\nendpoint=[2001:db8::1]:1\n\n",
		&Config{Peers: []PeerConfig{{PublicKey: key(0x11), Endpoint: ptr(netip.MustParseAddrPort("[2001:db8::1]:1"))}}}, 0},
	{"endpoint v6 zone", "public_key=" + pub1 + "\nendpoint=[fe80::1%eth0]:1\n\n",
		&Config{Peers: []PeerConfig{{PublicKey: key(0x11), Endpoint: ptr(netip.MustParseAddrPort("[fe80::1%eth0]:1"))}}}, 0},
	{"endpoint v6 no brackets", "public_key=" + pub1 + "\nendpoint=2001:db8::1:1\n\n", nil, ErrnoInvalid},
	{"endpoint hostname", "public_key=" + pub1 + "\nendpoint=example.com:51820\n\n", nil, ErrnoInvalid},
	{"endpoint no port", "public_key=" + pub1 + "\nendpoint=192.0.2.1\n\n", nil, ErrnoInvalid},
	{"endpoint port too big", "public_key=" + pub1 + "\nendpoint=192.0.2.1:65536\n\n", nil, ErrnoInvalid},
	{"endpoint empty", "public_key=" + pub1 + "\nendpoint=\n\n", nil, ErrnoInvalid},
	{"keepalive", "public_key=" + pub1 + "\npersistent_keepalive_interval=25\n\n",
		&Config{Peers: []PeerConfig{{PublicKey: key(0x11), PersistentKeepalive: ptr(uint16(25))}}}, 0},
	{"keepalive off", "public_key=" + pub1 + "\npersistent_keepalive_interval=0\n\n",
		&Config{Peers: []PeerConfig{{PublicKey: key(0x11), PersistentKeepalive: ptr(uint16(0))}}}, 0},
	{"keepalive max", "public_key=" + pub1 + "\npersistent_keepalive_interval=65535\n\n",
		&Config{Peers: []PeerConfig{{PublicKey: key(0x11), PersistentKeepalive: ptr(uint16(65535))}}}, 0},
	{"keepalive too big", "public_key=" + pub1 + "\npersistent_keepalive_interval=65536\n\n", nil, ErrnoInvalid},
	{"keepalive word", "public_key=" + pub1 + "\npersistent_keepalive_interval=off\n\n", nil, ErrnoInvalid},
	{"replace_allowed_ips", "public_key=" + pub1 + "\nreplace_allowed_ips=true\n\n",
		&Config{Peers: []PeerConfig{{PublicKey: key(0x11), ReplaceAllowedIPs: true}}}, 0},
	{"replace_allowed_ips false", "public_key=" + pub1 + "\nreplace_allowed_ips=false\n\n", nil, ErrnoInvalid},
	{"allowed_ip", "public_key=" + pub1 + "\nallowed_ip=10.0.0.0/24\nallowed_ip=fd00::/64\nallowed_ip=-10.1.0.0/16\nallowed_ip=10.2.3.4/8\n\n",
		&Config{Peers: []PeerConfig{{PublicKey: key(0x11), AllowedIPs: []AllowedIPChange{
			{Prefix: netip.MustParsePrefix("10.0.0.0/24")},
			{Prefix: netip.MustParsePrefix("fd00::/64")},
			{Prefix: netip.MustParsePrefix("10.1.0.0/16"), Remove: true},
			{Prefix: netip.MustParsePrefix("10.0.0.0/8")},
		}}}}, 0},
	{"replace_allowed_ips drops earlier", "public_key=" + pub1 + "\nallowed_ip=10.0.0.0/24\nreplace_allowed_ips=true\nallowed_ip=10.9.0.0/16\n\n",
		&Config{Peers: []PeerConfig{{PublicKey: key(0x11), ReplaceAllowedIPs: true, AllowedIPs: []AllowedIPChange{
			{Prefix: netip.MustParsePrefix("10.9.0.0/16")},
		}}}}, 0},
	{"allowed_ip no length", "public_key=" + pub1 + "\nallowed_ip=10.0.0.0\n\n", nil, ErrnoInvalid},
	{"allowed_ip length too big", "public_key=" + pub1 + "\nallowed_ip=10.0.0.0/33\n\n", nil, ErrnoInvalid},
	{"allowed_ip v6 length too big", "public_key=" + pub1 + "\nallowed_ip=::/129\n\n", nil, ErrnoInvalid},
	{"allowed_ip zone", "public_key=" + pub1 + "\nallowed_ip=fe80::%eth0/64\n\n", nil, ErrnoInvalid},
	{"allowed_ip dash only", "public_key=" + pub1 + "\nallowed_ip=-\n\n", nil, ErrnoInvalid},
	{"allowed_ip double dash", "public_key=" + pub1 + "\nallowed_ip=--10.0.0.0/8\n\n", nil, ErrnoInvalid},
	{"allowed_ip empty", "public_key=" + pub1 + "\nallowed_ip=\n\n", nil, ErrnoInvalid},
	{"protocol_version", "public_key=" + pub1 + "\nprotocol_version=1\n\n",
		&Config{Peers: []PeerConfig{{PublicKey: key(0x11), ProtocolVersion: ptr(1)}}}, 0},
	{"protocol_version 2", "public_key=" + pub1 + "\nprotocol_version=2\n\n", nil, ErrnoInvalid},
	{"protocol_version 01", "public_key=" + pub1 + "\nprotocol_version=01\n\n", nil, ErrnoInvalid},
	{"device key in peer section", "public_key=" + pub1 + "\nlisten_port=1\n\n", nil, ErrnoInvalid},
	{"private_key in peer section", "public_key=" + pub1 + "\nprivate_key=" + hexKey(1) + "\n\n", nil, ErrnoInvalid},
	{"unknown peer key", "public_key=" + pub1 + "\nrx_bytes=1\n\n", nil, ErrnoInvalid},

	{"everything", "private_key=" + hexKey(1) + "\nlisten_port=1234\nfwmark=7\nreplace_peers=true\n" +
		"public_key=" + pub1 + "\npreshared_key=" + hexKey(3) + "\nprotocol_version=1\nendpoint=[::1]:5555\n" +
		"persistent_keepalive_interval=25\nreplace_allowed_ips=true\nallowed_ip=10.0.0.0/24\n" +
		"public_key=" + pub2 + "\nupdate_only=true\nremove=true\n\n",
		&Config{
			PrivateKey: ptr(key(1)), ListenPort: ptr(uint16(1234)), Fwmark: ptr(uint32(7)), ReplacePeers: true,
			Peers: []PeerConfig{{
				PublicKey: key(0x11), PresharedKey: ptr(key(3)), ProtocolVersion: ptr(1),
				Endpoint: ptr(netip.MustParseAddrPort("[::1]:5555")), PersistentKeepalive: ptr(uint16(25)),
				ReplaceAllowedIPs: true, AllowedIPs: []AllowedIPChange{{Prefix: netip.MustParsePrefix("10.0.0.0/24")}},
			}, {PublicKey: key(0x22), UpdateOnly: true, Remove: true}},
		}, 0},
	{"same peer twice", "public_key=" + pub1 + "\nremove=true\npublic_key=" + pub1 + "\n\n",
		&Config{Peers: []PeerConfig{{PublicKey: key(0x11), Remove: true}, {PublicKey: key(0x11)}}}, 0},
	{"last value wins", "listen_port=1\nlisten_port=2\n\n", &Config{ListenPort: ptr(uint16(2))}, 0},
	{"crlf", "listen_port=1\r\nfwmark=2\r\n\r\n", &Config{ListenPort: ptr(uint16(1)), Fwmark: ptr(uint32(2))}, 0},
	{"no final newline", "listen_port=1", &Config{ListenPort: ptr(uint16(1))}, 0},
	{"bad line at EOF", "listen_port=x", nil, ErrnoInvalid},
	{"stops at empty line", "listen_port=1\n\nnonsense\n", &Config{ListenPort: ptr(uint16(1))}, 0},
	{"line too long", "listen_port=" + strings.Repeat("1", MaxLineLength) + "\n\n", nil, ErrnoIO},
	{"line at limit", "listen_port=" + strings.Repeat("0", MaxLineLength-len("listen_port=1")) + "1\n\n",
		&Config{ListenPort: ptr(uint16(1))}, 0},
}

func TestParseSet(t *testing.T) {
	for _, tt := range parseTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSet(strings.NewReader(tt.in))
			if errno := errnoOf(err); errno != tt.errno {
				t.Fatalf("errno %d (%v), want %d", errno, err, tt.errno)
			}
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("error %T is not an *Error", err)
				}
				if got != nil {
					t.Fatalf("config %+v returned with error", got)
				}
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// A bad request is read to its empty line, so the next one can follow.
func TestParseSetStaysInStep(t *testing.T) {
	br := bufio.NewReaderSize(strings.NewReader("nonsense\nlisten_port=99999\n"+strings.Repeat("x", 5000)+"\n\nget=1\n"), 16)
	_, err := ParseSet(br)
	if errnoOf(err) != ErrnoProtocol {
		t.Fatalf("err = %v, want errno %d", err, ErrnoProtocol)
	}
	rest, _ := io.ReadAll(br)
	// The long line was past the first error but is still too long to
	// read: the request is abandoned there.
	if !strings.HasSuffix(string(rest), "x\n\nget=1\n") || len(rest) > 5000 {
		t.Fatalf("rest %q", rest)
	}

	br = bufio.NewReader(strings.NewReader("nonsense\nlisten_port=99999\n\nget=1\n"))
	if _, err := ParseSet(br); errnoOf(err) != ErrnoProtocol {
		t.Fatalf("err = %v", err)
	}
	if rest, _ := io.ReadAll(br); string(rest) != "get=1\n" {
		t.Fatalf("rest %q", rest)
	}
}

// Long lines are gathered across a small bufio buffer.
func TestParseSetSmallBuffer(t *testing.T) {
	in := "public_key=" + pub1 + "\nendpoint=[fe80::1%eth0]:51820\n\n"
	br := bufio.NewReaderSize(strings.NewReader(in), 16)
	c, err := ParseSet(br)
	if err != nil {
		t.Fatal(err)
	}
	if c.Peers[0].PublicKey != key(0x11) || c.Peers[0].Endpoint.String() != "[fe80::1%eth0]:51820" {
		t.Fatalf("%+v", c.Peers[0])
	}
}

func TestParseSetStrict(t *testing.T) {
	for _, in := range []string{"", "listen_port=1\n", "listen_port=1", "public_key=" + pub1 + "\nallowed_ip=10.0.0.0/8\n"} {
		c, inStep, err := parseSet(bufio.NewReader(strings.NewReader(in)), true)
		if c != nil || inStep || errnoOf(err) != ErrnoIO || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%q: %v %v %v, want errno %d and ErrUnexpectedEOF", in, c, inStep, err, ErrnoIO)
		}
	}
	c, inStep, err := parseSet(bufio.NewReader(strings.NewReader("listen_port=1\n\n")), true)
	if err != nil || !inStep || *c.ListenPort != 1 {
		t.Errorf("%v %v %v", c, inStep, err)
	}
}

func withLimits(t testing.TB, line int, bytes int64, peers, ips int) {
	t.Helper()
	l, b, p, i := MaxLineLength, MaxRequestBytes, MaxPeers, MaxAllowedIPs
	MaxLineLength, MaxRequestBytes, MaxPeers, MaxAllowedIPs = line, bytes, peers, ips
	t.Cleanup(func() { MaxLineLength, MaxRequestBytes, MaxPeers, MaxAllowedIPs = l, b, p, i })
}

func TestParseSetLimits(t *testing.T) {
	withLimits(t, 100, 1000, 2, 3)
	peers := func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString("public_key=" + hexKey(byte(i)) + "\n")
		}
		return b.String()
	}
	ips := func(n int) string {
		return "public_key=" + pub1 + "\n" + strings.Repeat("allowed_ip=10.0.0.0/8\n", n)
	}
	tests := []struct {
		name  string
		in    string
		errno int
	}{
		{"peers at limit", peers(2) + "\n", 0},
		{"too many peers", peers(3) + "\n", ErrnoInvalid},
		{"ips at limit", ips(3) + "\n", 0},
		{"too many ips", ips(4) + "\n", ErrnoInvalid},
		{"replace frees ips", ips(3) + "replace_allowed_ips=true\n" + strings.Repeat("allowed_ip=10.0.0.0/8\n", 3) + "\n", 0},
		{"too many ips over peers", ips(2) + "public_key=" + pub2 + "\nallowed_ip=::/0\nallowed_ip=::/0\n\n", ErrnoInvalid},
		{"line at limit", "fwmark=" + strings.Repeat("0", 92) + "1\n\n", 0},
		{"line over limit", "fwmark=" + strings.Repeat("0", 93) + "1\n\n", ErrnoIO},
		{"request at limit", strings.Repeat("fwmark=1\n", 111) + "\n", 0},
		{"request too big", strings.Repeat("fwmark=1\n", 112) + "\n", ErrnoIO},
		{"request too big after error", "bad\n" + strings.Repeat("fwmark=1\n", 111) + "\n", ErrnoProtocol},
		{"line too long after error", "bad\nfwmark=" + strings.Repeat("0", 93) + "1\n\n", ErrnoProtocol},
	}
	for _, tt := range tests {
		_, err := ParseSet(strings.NewReader(tt.in))
		if errno := errnoOf(err); errno != tt.errno {
			t.Errorf("%s: errno %d (%v), want %d", tt.name, errno, err, tt.errno)
		}
	}
}

func TestErrnoOf(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("x"), ErrnoUnknown},
		{&Error{Errno: ErrnoPortInUse}, ErrnoPortInUse},
		{&Error{Errno: 22}, -22},
		{&Error{}, ErrnoUnknown},
		{(*Error)(nil), ErrnoUnknown},
		{errorsJoin(Errorf(ErrnoIO, "x")), ErrnoIO},
	}
	for _, tt := range tests {
		if got := errnoOf(tt.err); got != tt.want {
			t.Errorf("errnoOf(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func errorsJoin(err error) error { return errors.Join(errors.New("context"), err) }
