package device

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	wgconn "golang.zx2c4.com/wireguard/conn"
	wgdevice "golang.zx2c4.com/wireguard/device"
	wgtuntest "golang.zx2c4.com/wireguard/tun/tuntest"

	"github.com/wgxdp/wgxdp/conn"
	"github.com/wgxdp/wgxdp/noise"
	"github.com/wgxdp/wgxdp/tun/tuntest"
	"github.com/wgxdp/wgxdp/uapi"
)

// wgGo is a wireguard-go device (the pinned reference) on real UDP.
type wgGo struct {
	dev  *wgdevice.Device
	tun  *wgtuntest.ChannelTUN
	sk   noise.PrivateKey
	port uint16
}

func newWgGo(t *testing.T) *wgGo {
	w := &wgGo{tun: wgtuntest.NewChannelTUN(), sk: mustKey(t)}
	level := wgdevice.LogLevelSilent
	if os.Getenv("WGXDP_TEST_LOG") != "" {
		level = wgdevice.LogLevelVerbose
	}
	w.dev = wgdevice.NewDevice(w.tun.TUN(), wgconn.NewDefaultBind(), wgdevice.NewLogger(level, "wireguard-go: "))
	t.Cleanup(w.dev.Close)
	if err := w.dev.IpcSet("private_key=" + hex.EncodeToString(w.sk[:]) + "\nlisten_port=0\n"); err != nil {
		t.Fatal(err)
	}
	if err := w.dev.Up(); err != nil {
		t.Fatal(err)
	}
	cfg, err := w.dev.IpcGet()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(cfg, "\n") {
		if v, ok := strings.CutPrefix(line, "listen_port="); ok {
			p, _ := strconv.Atoi(v)
			w.port = uint16(p)
		}
	}
	if w.port == 0 {
		t.Fatal("wireguard-go has no port")
	}
	return w
}

// TestInteropWireguardGo runs our device against wireguard-go's own over
// real UDP on 127.0.0.1, handshakes started from each side, packets both
// ways compared byte for byte.
func TestInteropWireguardGo(t *testing.T) {
	for _, initiator := range []string{"wgxdp", "wireguard-go"} {
		t.Run("initiator="+initiator, func(t *testing.T) {
			checkGoroutines(t)
			w := newWgGo(t)
			ours := &node{sk: mustKey(t), ip4: netip.MustParseAddr("10.0.0.1"), ip6: netip.MustParseAddr("fd00::1")}
			ours.pk = ours.sk.PublicKey()
			ours.tun = tuntest.New("wgx0", 1420)
			bind := conn.NewStdNetBind()
			d, err := New(Config{Bind: bind, TUN: ours.tun})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			ours.dev = d
			k := uapi.Key(ours.sk)
			wpk := w.sk.PublicKey()
			var zero uint16
			pc := uapi.PeerConfig{PublicKey: uapi.Key(wpk), AllowedIPs: []uapi.AllowedIPChange{
				{Prefix: netip.MustParsePrefix("10.0.0.2/32")}, {Prefix: netip.MustParsePrefix("fd00::2/128")}}}
			if initiator == "wgxdp" {
				ep := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), w.port)
				pc.Endpoint = &ep
			}
			if err := d.Set(&uapi.Config{PrivateKey: &k, ListenPort: &zero, Peers: []uapi.PeerConfig{pc}}); err != nil {
				t.Fatal(err)
			}
			if err := d.Up(); err != nil {
				t.Fatal(err)
			}
			wcfg := fmt.Sprintf("public_key=%s\nallowed_ip=10.0.0.1/32\nallowed_ip=fd00::1/128\n", hex.EncodeToString(ours.pk[:]))
			if initiator == "wireguard-go" {
				wcfg += fmt.Sprintf("endpoint=127.0.0.1:%d\n", d.ListenPort())
			}
			if err := w.dev.IpcSet(wcfg); err != nil {
				t.Fatal(err)
			}
			wip4, wip6 := netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("fd00::2")
			toThem := func(p []byte) {
				t.Helper()
				ours.tun.Inbound <- p
				select {
				case got := <-w.tun.Inbound:
					if !bytes.Equal(got, p) {
						t.Fatalf("wireguard-go got %x, want %x", got, p)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("wireguard-go received nothing (our stats %+v)", d.Stats())
				}
			}
			toUs := func(p []byte) {
				t.Helper()
				w.tun.Outbound <- p
				got := recvPacket(t, ours, 5*time.Second)
				if !bytes.Equal(got, p) {
					t.Fatalf("we got %x, want %x", got, p)
				}
			}
			if initiator == "wgxdp" {
				toThem(ipv4UDP(ours.ip4, wip4, []byte("hello wireguard-go")))
				toUs(ipv4UDP(wip4, ours.ip4, []byte("hello wgxdp")))
			} else {
				toUs(ipv4UDP(wip4, ours.ip4, []byte("hello wgxdp")))
				toThem(ipv4UDP(ours.ip4, wip4, []byte("hello wireguard-go")))
			}
			for i := range 100 {
				n := i * 13 % 1400
				payload := bytes.Repeat([]byte{byte(i)}, n)
				if i%2 == 0 {
					toThem(ipv6UDP(ours.ip6, wip6, payload))
					toUs(ipv6UDP(wip6, ours.ip6, payload))
				} else {
					toThem(ipv4UDP(ours.ip4, wip4, payload))
					toUs(ipv4UDP(wip4, ours.ip4, payload))
				}
			}
			st := d.Get()
			if st.Peers[0].LastHandshake.IsZero() || st.Peers[0].RxBytes == 0 || st.Peers[0].TxBytes == 0 {
				t.Fatalf("our view of wireguard-go: %+v", st.Peers[0])
			}
			if s := d.Stats(); s.DropDecrypt+s.DropReplay+s.DropMalformed+s.DropHandshakeInvalid != 0 {
				t.Fatalf("drops: %+v", s)
			}
		})
	}
}
