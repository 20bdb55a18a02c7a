package bench

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wgxdp/wgxdp/internal/netns"
)

func TestParseKinds(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string // labels
		err  string
	}{
		{"wgxdp,wireguard-go,veth", []string{"wgxdp", "wireguard-go", "veth"}, ""},
		{" wgxdp , veth ", []string{"wgxdp", "veth"}, ""},
		{"wgxdp,wgxdp:WGXDP_TUN_OFFLOAD=0,GOMAXPROCS=1,wireguard-go",
			[]string{"wgxdp", "wgxdp:WGXDP_TUN_OFFLOAD=0,GOMAXPROCS=1", "wireguard-go"}, ""},
		{"wireguard-go:GOGC=off", []string{"wireguard-go:GOGC=off"}, ""},
		{"wgxdp:A=x=y", []string{"wgxdp:A=x=y"}, ""},
		{"wgxdp,wgxdp:WGXDP_XDP=@veth,wireguard-go", []string{"wgxdp", "wgxdp:WGXDP_XDP=@veth", "wireguard-go"}, ""},
		{"", nil, "pair kind"},
		{"kernel", nil, "want wgxdp"},
		{"veth:A=1", nil, "veth runs no daemon"},
		{"wgxdp:notenv", nil, "not KEY=VALUE"},
		{"wgxdp:=1", nil, "not KEY=VALUE"},
		{"wgxdp,A=1", nil, "want wgxdp"},
		{"wgxdp,wgxdp", nil, "given twice"},
	} {
		kinds, err := ParseKinds(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseKinds(%q) = %v, %v; want error with %q", tc.in, kinds, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseKinds(%q): %v", tc.in, err)
			continue
		}
		var got []string
		for _, k := range kinds {
			got = append(got, k.String())
			// A label reads back as the same Kind.
			if k2, err := ParseKind(k.String()); err != nil || !reflect.DeepEqual(k, k2) {
				t.Errorf("ParseKind(%q) = %+v, %v; want %+v", k.String(), k2, err, k)
			}
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseKinds(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParsePing(t *testing.T) {
	out := `PING 10.241.0.2 (10.241.0.2) 56(84) bytes of data.
64 bytes from 10.241.0.2: icmp_seq=1 ttl=64 time=0.512 ms
64 bytes from 10.241.0.2: icmp_seq=2 ttl=64 time=1.50 ms
64 bytes from 10.241.0.2: icmp_seq=4 ttl=64 time=0.250 ms

--- 10.241.0.2 ping statistics ---
4 packets transmitted, 3 received, 25% packet loss, time 302ms
rtt min/avg/max/mdev = 0.250/0.754/1.500/0.540 ms
`
	r, err := ParsePing(out)
	if err != nil {
		t.Fatal(err)
	}
	want := PingResult{Sent: 4, Received: 3, LossPercent: 25, Min: 0.25, P50: 0.512, P90: 1.5, P99: 1.5, Max: 1.5,
		Mean: (0.512 + 1.5 + 0.25) / 3, RTTs: []float64{0.512, 1.5, 0.25}}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("ParsePing = %+v\nwant %+v", r, want)
	}
	if _, err := ParsePing("3 packets transmitted, 0 received, 100% packet loss"); err == nil {
		t.Error("no replies: no error")
	}
	if _, err := ParsePing("ping: connect: Network is unreachable"); err == nil {
		t.Error("no summary: no error")
	}
}

func TestPercentile(t *testing.T) {
	s := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct{ p, want float64 }{{1, 1}, {10, 1}, {11, 2}, {50, 5}, {90, 9}, {99, 10}, {100, 10}} {
		if got := Percentile(s, tc.p); got != tc.want {
			t.Errorf("Percentile(1..10, %v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := Percentile([]float64{7}, 99); got != 7 {
		t.Errorf("Percentile([7], 99) = %v", got)
	}
}

func TestParseIperfTCP(t *testing.T) {
	// Trimmed from iperf 3.12's client output, with a warning in front.
	out := `iperf3: warning: something
{
	"start": {"version": "iperf 3.12"},
	"end": {
		"streams": [],
		"sum_sent": {"start": 0, "end": 1.001, "seconds": 1.001, "bytes": 1780350976, "bits_per_second": 14222938363.1, "retransmits": 7, "sender": true},
		"sum_received": {"start": 0, "end": 1.005, "seconds": 1.005, "bytes": 1777729536, "bits_per_second": 14137730926.7, "sender": true},
		"cpu_utilization_percent": {"host_total": 60.5, "remote_total": 40.25},
		"sender_tcp_congestion": "cubic",
		"receiver_tcp_congestion": "cubic"
	}
}
`
	r, err := ParseIperfTCP(out)
	if err != nil {
		t.Fatal(err)
	}
	want := TCPResult{Seconds: 1.005, ReceiverBitsPerSec: 14137730926.7, SenderBitsPerSec: 14222938363.1, Retransmits: 7,
		SenderCongestion: "cubic", ReceiverCongestion: "cubic", SenderCPUPercent: 60.5, ReceiverCPUPercent: 40.25}
	if r != want {
		t.Errorf("ParseIperfTCP = %+v\nwant %+v", r, want)
	}
	for _, bad := range []string{
		"iperf3: error - unable to connect to server",
		`{"start": {}, "end": {}, "error": "unable to connect to server: Connection refused"}`,
		`{"start": {}, "end": {}}`,
		`{"end": `,
	} {
		if _, err := ParseIperfTCP(bad); err == nil {
			t.Errorf("ParseIperfTCP(%q): no error", bad)
		}
	}
}

// TestVethPair runs every measurement over the veth Kind, then a TCP run
// through a tbf bottleneck (the bufferbloat setup), and checks that the
// figures are sane and nothing is left behind.
func TestVethPair(t *testing.T) {
	if testing.Short() {
		t.Skip("starts network namespaces and iperf3: skipped with -short")
	}
	if err := Available(); err != nil {
		t.Skip(err)
	}
	const prefix = "wgxbt-"
	netns.Sweep(prefix)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := StartPair(ctx, Kind{Impl: Veth}, Options{Prefix: prefix, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{p.A.Path(), p.B.Path()}
	defer func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
		for _, n := range names {
			if _, err := os.Stat(n); err == nil {
				t.Errorf("%s left behind", n)
			}
		}
	}()

	tcp, err := IperfTCP(ctx, p, TCPOptions{Duration: time.Second, Streams: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tcp: %+v", tcp)
	if tcp.ReceiverBitsPerSec < 50e6 || tcp.Streams != 2 {
		t.Errorf("tcp over veth: %+v", tcp)
	}
	udp, err := UDPFlood(ctx, p, UDPOptions{Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("udp: %+v", udp)
	if udp.Received == 0 || udp.Received > udp.Sent || udp.ReceivedPPS <= 0 || udp.Payload != 64 {
		t.Errorf("udp over veth: %+v", udp)
	}
	ping, err := Ping(ctx, p, PingOptions{Count: 3, Interval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if ping.Sent != 3 || len(ping.RTTs) == 0 || ping.P50 <= 0 || ping.P99 < ping.P50 {
		t.Errorf("ping over veth: %+v", ping)
	}

	// A 20 Mbit/s bottleneck with a deep buffer and cubic: TCP fills the
	// buffer, so the pings under load wait behind it.
	if err := p.SetQdisc(ctx, "tbf", "rate", "20mbit", "burst", "16kb", "limit", "1mb"); err != nil {
		t.Fatal(err)
	}
	pl, load, err := PingUnderLoad(ctx, p, LoadOptions{TCP: TCPOptions{Duration: 2 * time.Second, Congestion: "cubic"},
		Ping: PingOptions{Interval: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("under load: ping %+v, tcp %+v", pl, load)
	if load.ReceiverBitsPerSec > 25e6 || load.SenderCongestion != "cubic" {
		t.Errorf("tcp through a 20 Mbit/s tbf with cubic: %+v", load)
	}
	if pl.P50 < 10*ping.P50 {
		t.Errorf("ping p50 under load %.3f ms, idle %.3f ms: no queue built up behind the bottleneck", pl.P50, ping.P50)
	}
}

func TestParseStatCPU(t *testing.T) {
	// utime 250, stime 50 ticks; a command name with ") (" in it.
	line := "4242 (wg (x) y) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 50 0 0 20 0 6 0 100 0 0"
	got, err := parseStatCPU(line)
	if err != nil || got != 3*time.Second {
		t.Fatalf("parseStatCPU = %v, %v; want 3s", got, err)
	}
	for _, bad := range []string{"", "1 (x) S 1 2", "1 (x) S 1 2 3 4 5 6 7 8 9 10 x 5"} {
		if _, err := parseStatCPU(bad); err == nil {
			t.Errorf("parseStatCPU(%q) did not fail", bad)
		}
	}
	if c, err := ProcessCPU(os.Getpid()); err != nil || c < 0 {
		t.Fatalf("ProcessCPU(self) = %v, %v", c, err)
	}
}
