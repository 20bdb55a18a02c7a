package uapi

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

const wgPath = "/usr/bin/wg"

// TestWg drives the server with the real wg(8), which only looks in
// /var/run/wireguard.
func TestWg(t *testing.T) {
	if _, err := os.Stat(wgPath); err != nil {
		t.Skipf("%s not installed", wgPath)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a socket in /var/run/wireguard")
	}
	b64 := func(k []byte) string { return base64.StdEncoding.EncodeToString(k) }
	newKey := func() *ecdh.PrivateKey {
		k, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	devKey, newDevKey, peerKey := newKey(), newKey(), newKey()
	peerPub := Key(peerKey.PublicKey().Bytes())

	// An interface name must fit IFNAMSIZ (15 characters).
	var r [4]byte
	rand.Read(r[:])
	name := fmt.Sprintf("wgxut%x", r)
	_, statErr := os.Stat(SocketDir)
	l, err := Listen(name)
	if err != nil {
		t.Fatal(err)
	}
	path := SocketPath(name)
	t.Cleanup(func() {
		os.Remove(path)
		if errors.Is(statErr, os.ErrNotExist) {
			os.Remove(SocketDir) // only if it is empty
		}
	})
	dev := &fakeDevice{state: State{
		PrivateKey: Key(devKey.Bytes()),
		ListenPort: 51820,
		Peers: []PeerState{{
			PublicKey:           peerPub,
			Endpoint:            netip.MustParseAddrPort("192.0.2.1:51820"),
			PersistentKeepalive: 25,
			LastHandshake:       time.Now().Add(-90 * time.Second),
			RxBytes:             1024,
			TxBytes:             3 << 20,
			AllowedIPs:          mustPrefixes("10.0.0.0/24", "fd00::/64"),
		}},
	}}
	serveOn(t, l, dev) // closes l at the end
	lastSets := 0

	wg := func(wantOK bool, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, wgPath, args...).CombinedOutput()
		if wantOK && err != nil {
			t.Fatalf("wg %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if !wantOK && err == nil {
			t.Fatalf("wg %s succeeded:\n%s", strings.Join(args, " "), out)
		}
		return string(out)
	}
	newSet := func() *Config {
		t.Helper()
		sets := dev.Sets()
		if len(sets) != lastSets+1 {
			t.Fatalf("%d new Set calls, want 1", len(sets)-lastSets)
		}
		lastSets = len(sets)
		return sets[len(sets)-1]
	}

	if out := wg(true, "show", "interfaces"); !strings.Contains(out, name) {
		t.Errorf("wg show interfaces: %q lacks %s", out, name)
	}
	hs := dev.state.Peers[0].LastHandshake.Unix()
	wantDump := fmt.Sprintf("%s\t%s\t51820\toff\n%s\t(none)\t192.0.2.1:51820\t10.0.0.0/24,fd00::/64\t%d\t1024\t%d\t25\n",
		b64(devKey.Bytes()), b64(devKey.PublicKey().Bytes()), b64(peerPub[:]), hs, 3<<20)
	if out := wg(true, "show", name, "dump"); out != wantDump {
		t.Errorf("wg show dump:\n%q\nwant\n%q", out, wantDump)
	}
	out := wg(true, "show", name)
	for _, want := range []string{
		"interface: " + name,
		"public key: " + b64(devKey.PublicKey().Bytes()),
		"private key: (hidden)",
		"listening port: 51820",
		"peer: " + b64(peerPub[:]),
		"endpoint: 192.0.2.1:51820",
		"allowed ips: 10.0.0.0/24, fd00::/64",
		"transfer: 1.00 KiB received, 3.00 MiB sent",
		"persistent keepalive: every 25 seconds",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("wg show lacks %q:\n%s", want, out)
		}
	}
	// 90 s before the state was made; a second may have turned since.
	if !regexp.MustCompile(`latest handshake: 1 minute, (30|31|32) seconds ago`).MatchString(out) {
		t.Errorf("wg show lacks \"latest handshake: 1 minute, 30 seconds ago\":\n%s", out)
	}
	t.Logf("wg show:\n%s", out)

	keyFile := filepath.Join(t.TempDir(), "key")
	os.WriteFile(keyFile, []byte(b64(newDevKey.Bytes())+"\n"), 0o600)
	wg(true, "set", name, "listen-port", "1234", "private-key", keyFile,
		"peer", b64(peerPub[:]), "allowed-ips", "10.0.0.0/24,fd00::/64",
		"endpoint", "127.0.0.1:5555", "persistent-keepalive", "25")
	want := &Config{
		PrivateKey: ptr(Key(newDevKey.Bytes())),
		ListenPort: ptr(uint16(1234)),
		Peers: []PeerConfig{{
			PublicKey:           peerPub,
			Endpoint:            ptr(netip.MustParseAddrPort("127.0.0.1:5555")),
			PersistentKeepalive: ptr(uint16(25)),
			ReplaceAllowedIPs:   true,
			AllowedIPs: []AllowedIPChange{
				{Prefix: netip.MustParsePrefix("10.0.0.0/24")},
				{Prefix: netip.MustParsePrefix("fd00::/64")},
			},
		}},
	}
	if got := newSet(); !reflect.DeepEqual(got, want) {
		t.Errorf("wg set:\n%+v\nwant\n%+v", got, want)
	}

	wg(true, "set", name, "peer", b64(peerPub[:]), "remove")
	if got := newSet(); !reflect.DeepEqual(got, &Config{Peers: []PeerConfig{{PublicKey: peerPub, Remove: true}}}) {
		t.Errorf("wg set remove: %+v", got)
	}

	// wg(8) checks values itself and sends nothing if one is bad...
	for _, args := range [][]string{
		{"listen-port", "notaport"},
		{"peer", b64(peerPub[:]), "persistent-keepalive", "70000"},
		{"peer", b64(peerPub[:]), "allowed-ips", "10.0.0.0/33"},
	} {
		out := wg(false, append([]string{"set", name}, args...)...)
		t.Logf("wg set %s: %s", strings.Join(args, " "), out)
		if !strings.Contains(out, args[len(args)-1]) {
			t.Errorf("wg set %s: %q does not name the bad value", strings.Join(args, " "), out)
		}
		if n := len(dev.Sets()); n != lastSets {
			t.Errorf("Set called for wg set %s", strings.Join(args, " "))
		}
	}
	// ...but glibc's getaddrinfo, which wg(8) parses ports with, takes a
	// number above 65535 modulo 65536, so "listen-port 99999" arrives as a
	// valid listen_port=34463 that no server can tell from a real one.
	out = wg(true, "set", name, "listen-port", "99999")
	if got := newSet(); got.ListenPort == nil || *got.ListenPort != 99999&0xffff {
		t.Errorf("wg set listen-port 99999: %+v", got)
	}

	// The Device's errno reaches the user as strerror.
	dev.mu.Lock()
	dev.setErr = Errorf(ErrnoPortInUse, "bind: address already in use")
	dev.mu.Unlock()
	out = wg(false, "set", name, "listen-port", "80")
	if !strings.Contains(out, "Address already in use") {
		t.Errorf("wg set with port in use: %q", out)
	}
	t.Logf("wg set listen-port 80 (in use): %s", out)
	newSet()
}
