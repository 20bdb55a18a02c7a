package uapi

// Differential tests: wireguard-go (a tool dependency of the module) is the
// reference for which requests are accepted and which errno a bad one gets.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/tun"
)

// downTUN is a TUN device that never comes up.
type downTUN struct {
	events chan tun.Event
	closed chan struct{}
	once   sync.Once
}

func (t *downTUN) File() *os.File { return nil }
func (t *downTUN) Read([][]byte, []int, int) (int, error) {
	<-t.closed
	return 0, os.ErrClosed
}
func (t *downTUN) Write(bufs [][]byte, _ int) (int, error) { return len(bufs), nil }
func (t *downTUN) MTU() (int, error)                       { return 1420, nil }
func (t *downTUN) Name() (string, error)                   { return "down", nil }
func (t *downTUN) Events() <-chan tun.Event                { return t.events }
func (t *downTUN) BatchSize() int                          { return 1 }
func (t *downTUN) Close() error {
	t.once.Do(func() {
		close(t.closed)
		close(t.events)
	})
	return nil
}

// newWireguardGo returns a wireguard-go device that stays down, so that
// setting the port or fwmark binds nothing and cannot fail, and no packet is
// sent.
func newWireguardGo(tb testing.TB) *device.Device {
	t := &downTUN{events: make(chan tun.Event), closed: make(chan struct{})}
	d := device.NewDevice(t, conn.NewStdNetBind(),
		device.NewLogger(device.LogLevelSilent, ""))
	tb.Cleanup(d.Close)
	return d
}

// wireguardGoErrno is the errno wireguard-go answers to a set request with
// body in.
func wireguardGoErrno(d *device.Device, in string) int {
	err := d.IpcSet(in)
	d.RemoveAllPeers()
	if err == nil {
		return 0
	}
	var e *device.IPCError
	if !errors.As(err, &e) {
		return ErrnoUnknown
	}
	return int(e.ErrorCode())
}

// comparable reports whether in stays within what both implementations
// read the same way: our bounds are tighter than wireguard-go's.
func comparable(in string, err error) bool {
	if errors.Is(err, errLineTooLong) || errors.Is(err, errRequestTooBig) || errors.Is(err, errTooMany) {
		return false
	}
	body, _, _ := strings.Cut(in, "\n\n")
	for line := range strings.SplitSeq(body, "\n") {
		if len(line) > MaxLineLength {
			return false
		}
	}
	return true
}

func TestParseSetMatchesWireguardGo(t *testing.T) {
	d := newWireguardGo(t)
	for _, tt := range parseTests {
		_, err := ParseSet(strings.NewReader(tt.in))
		if !comparable(tt.in, err) {
			continue
		}
		if got, want := errnoOf(err), wireguardGoErrno(d, tt.in); got != want {
			t.Errorf("%s: errno %d (%v), wireguard-go %d", tt.name, got, err, want)
		}
	}
}

// WriteGet writes what wireguard-go's get writes for the same state.
func TestWriteGetMatchesWireguardGo(t *testing.T) {
	d := newWireguardGo(t)
	priv := key(0x48) // clamped: wireguard-go would clamp it
	priv[31] = 0x48 &^ 0x80
	priv[0] = 0x48
	cfg := "private_key=" + fmt.Sprintf("%x", priv[:]) + "\nlisten_port=51820\nfwmark=42\n" +
		"public_key=" + pub1 + "\npreshared_key=" + hexKey(0x33) + "\nendpoint=[2001:db8::1]:51820\n" +
		"persistent_keepalive_interval=25\nallowed_ip=10.0.0.0/24\n"
	if err := d.IpcSet(cfg); err != nil {
		t.Fatal(err)
	}
	want, err := d.IpcGet()
	if err != nil {
		t.Fatal(err)
	}
	want += "errno=0\n\n"
	s := State{
		PrivateKey: priv, ListenPort: 51820, Fwmark: 42,
		Peers: []PeerState{{
			PublicKey: key(0x11), PresharedKey: key(0x33), ProtocolVersion: 1,
			Endpoint:            mustAddrPort("[2001:db8::1]:51820"),
			PersistentKeepalive: 25,
			AllowedIPs:          mustPrefixes("10.0.0.0/24"),
		}},
	}
	var got bytes.Buffer
	if err := WriteGet(&got, s); err != nil {
		t.Fatal(err)
	}
	if got.String() != want {
		t.Fatalf("got\n%s\nwireguard-go\n%s", got.String(), want)
	}
}

// formatSet writes c as a set request body.
func formatSet(c *Config) string {
	var b strings.Builder
	if c.PrivateKey != nil {
		fmt.Fprintf(&b, "private_key=%x\n", c.PrivateKey[:])
	}
	if c.ListenPort != nil {
		fmt.Fprintf(&b, "listen_port=%d\n", *c.ListenPort)
	}
	if c.Fwmark != nil {
		fmt.Fprintf(&b, "fwmark=%d\n", *c.Fwmark)
	}
	if c.ReplacePeers {
		b.WriteString("replace_peers=true\n")
	}
	for _, p := range c.Peers {
		fmt.Fprintf(&b, "public_key=%x\n", p.PublicKey[:])
		if p.Remove {
			b.WriteString("remove=true\n")
		}
		if p.UpdateOnly {
			b.WriteString("update_only=true\n")
		}
		if p.PresharedKey != nil {
			fmt.Fprintf(&b, "preshared_key=%x\n", p.PresharedKey[:])
		}
		if p.Endpoint != nil {
			fmt.Fprintf(&b, "endpoint=%s\n", p.Endpoint)
		}
		if p.PersistentKeepalive != nil {
			fmt.Fprintf(&b, "persistent_keepalive_interval=%d\n", *p.PersistentKeepalive)
		}
		if p.ProtocolVersion != nil {
			fmt.Fprintf(&b, "protocol_version=%d\n", *p.ProtocolVersion)
		}
		if p.ReplaceAllowedIPs {
			b.WriteString("replace_allowed_ips=true\n")
		}
		for _, a := range p.AllowedIPs {
			sign := ""
			if a.Remove {
				sign = "-"
			}
			fmt.Fprintf(&b, "allowed_ip=%s%s\n", sign, a.Prefix)
		}
	}
	b.WriteString("\n")
	return b.String()
}

func FuzzParseSet(f *testing.F) {
	for _, tt := range parseTests {
		f.Add(tt.in)
	}
	f.Add("public_key=" + pub1 + "\nallowed_ip=-10.0.0.0/8\n\n")
	// Small bounds, so that fuzzing reaches them.
	withLimits(f, 200, 1<<14, 4, 8)
	d := newWireguardGo(f)
	f.Fuzz(func(t *testing.T, in string) {
		c, err := ParseSet(strings.NewReader(in))
		if err != nil {
			if c != nil {
				t.Fatal("config with error")
			}
			var e *Error
			if !errors.As(err, &e) || e.Errno >= 0 {
				t.Fatalf("error %v is not an *Error with a negative errno", err)
			}
		} else {
			nIPs := 0
			for _, p := range c.Peers {
				nIPs += len(p.AllowedIPs)
			}
			if len(c.Peers) > MaxPeers || nIPs > MaxAllowedIPs {
				t.Fatalf("%d peers, %d allowed IPs: over the bounds", len(c.Peers), nIPs)
			}
			// What was accepted says the same when written back.
			again, err := ParseSet(strings.NewReader(formatSet(c)))
			if err != nil || !reflect.DeepEqual(c, again) {
				t.Fatalf("round trip: %v\n%+v\n%+v", err, c, again)
			}
		}
		if comparable(in, err) {
			if got, want := errnoOf(err), wireguardGoErrno(d, in); got != want {
				t.Fatalf("errno %d (%v), wireguard-go %d", got, err, want)
			}
		}
	})
}
