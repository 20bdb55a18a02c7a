package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/wgxdp/wgxdp/internal/netns"
)

// TCPOptions shape an iperf3 TCP run from A to B.
type TCPOptions struct {
	Duration   time.Duration // -t, whole seconds (rounded up); 5 s if zero
	Streams    int           // -P; 1 if zero
	Congestion string        // -C, e.g. "cubic" or "bbr"; the system's default if empty
	Omit       time.Duration // -O: leading time left out of the result (whole seconds)
}

// TCPResult is what an iperf3 TCP run reports, from its client's JSON.
type TCPResult struct {
	Streams            int     `json:"streams"`
	Seconds            float64 `json:"seconds"`
	ReceiverBitsPerSec float64 `json:"receiver_bits_per_second"` // what arrived: the figure that counts
	SenderBitsPerSec   float64 `json:"sender_bits_per_second"`
	Retransmits        int64   `json:"retransmits"`
	SenderCongestion   string  `json:"sender_congestion,omitempty"`
	ReceiverCongestion string  `json:"receiver_congestion,omitempty"`
	// The iperf3 processes' own CPU use, as iperf3 reports it.
	SenderCPUPercent   float64 `json:"sender_cpu_percent"`
	ReceiverCPUPercent float64 `json:"receiver_cpu_percent"`
}

// iperfJSON is the part of `iperf3 -J` output the harness reads.
type iperfJSON struct {
	Error string `json:"error"`
	End   struct {
		SumSent struct {
			Seconds       float64 `json:"seconds"`
			BitsPerSecond float64 `json:"bits_per_second"`
			Retransmits   int64   `json:"retransmits"`
		} `json:"sum_sent"`
		SumReceived struct {
			Seconds       float64 `json:"seconds"`
			BitsPerSecond float64 `json:"bits_per_second"`
		} `json:"sum_received"`
		CPU struct {
			HostTotal   float64 `json:"host_total"`
			RemoteTotal float64 `json:"remote_total"`
		} `json:"cpu_utilization_percent"`
		SenderCongestion   string `json:"sender_tcp_congestion"`
		ReceiverCongestion string `json:"receiver_tcp_congestion"`
	} `json:"end"`
}

// ParseIperfTCP reads the JSON an iperf3 TCP client printed with -J. It
// skips anything before the first '{' (a warning on stderr).
func ParseIperfTCP(out string) (TCPResult, error) {
	i := strings.IndexByte(out, '{')
	if i < 0 {
		return TCPResult{}, fmt.Errorf("iperf3 printed no JSON: %s", tail(out, 5))
	}
	var j iperfJSON
	if err := json.NewDecoder(strings.NewReader(out[i:])).Decode(&j); err != nil {
		return TCPResult{}, fmt.Errorf("iperf3 JSON: %w", err)
	}
	if j.Error != "" {
		return TCPResult{}, fmt.Errorf("iperf3: %s", j.Error)
	}
	e := j.End
	if e.SumReceived.Seconds <= 0 {
		return TCPResult{}, errors.New("iperf3 JSON has no receiver summary")
	}
	return TCPResult{
		Seconds:            e.SumReceived.Seconds,
		ReceiverBitsPerSec: e.SumReceived.BitsPerSecond,
		SenderBitsPerSec:   e.SumSent.BitsPerSecond,
		Retransmits:        e.SumSent.Retransmits,
		SenderCongestion:   e.SenderCongestion,
		ReceiverCongestion: e.ReceiverCongestion,
		SenderCPUPercent:   e.CPU.HostTotal,
		ReceiverCPUPercent: e.CPU.RemoteTotal,
	}, nil
}

// wholeSeconds rounds d up to whole seconds, as iperf3's -t and -O take.
func wholeSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

// iperfRun is an iperf3 client running against its one-off server.
type iperfRun struct {
	p       *Pair
	server  *netns.Process
	client  *netns.Process
	o       TCPOptions
	timeout time.Duration
}

// startIperf starts a one-off iperf3 server on B, waits until it listens,
// and starts the client on A.
func (p *Pair) startIperf(ctx context.Context, o TCPOptions) (*iperfRun, error) {
	if o.Duration <= 0 {
		o.Duration = 5 * time.Second
	}
	if o.Streams <= 0 {
		o.Streams = 1
	}
	port := strconv.Itoa(p.nextPort())
	srv, err := p.start(p.B, nil, "iperf3", "-s", "-1", "-B", p.Server.String(), "-p", port)
	if err != nil {
		return nil, err
	}
	if err := p.waitListen(ctx, srv, port); err != nil {
		srv.Stop(time.Second)
		return nil, err
	}
	args := []string{"-c", p.Server.String(), "-p", port, "-J", "--connect-timeout", "5000",
		"-t", strconv.Itoa(wholeSeconds(o.Duration)), "-P", strconv.Itoa(o.Streams)}
	if o.Omit > 0 {
		args = append(args, "-O", strconv.Itoa(wholeSeconds(o.Omit)))
	}
	if o.Congestion != "" {
		args = append(args, "-C", o.Congestion)
	}
	cl, err := p.start(p.A, nil, "iperf3", args...)
	if err != nil {
		srv.Stop(time.Second)
		return nil, err
	}
	return &iperfRun{p: p, server: srv, client: cl, o: o, timeout: o.Duration + o.Omit + 20*time.Second}, nil
}

// wait waits for the client, then for the server to go, and parses the
// client's JSON.
func (r *iperfRun) wait(ctx context.Context) (TCPResult, error) {
	// iperf3 -J reports its errors in the JSON, which is parsed below.
	out, err := r.p.wait(ctx, r.client, r.timeout, false)
	select { // a one-off server exits after its test
	case <-r.server.Done():
	case <-time.After(3 * time.Second):
		r.server.Stop(time.Second)
	}
	res, perr := ParseIperfTCP(out)
	if perr != nil {
		return TCPResult{}, fmt.Errorf("%s: iperf3 -P %d: %w", r.p.Kind, r.o.Streams, errors.Join(perr, err))
	}
	res.Streams = r.o.Streams
	return res, r.p.Check()
}

// IperfTCP runs iperf3 over TCP from p.Client to p.Server and returns the
// receiver's figure with the rest of iperf3's summary. It is bounded by
// the duration plus 20 s, and by ctx.
func IperfTCP(ctx context.Context, p *Pair, o TCPOptions) (TCPResult, error) {
	r, err := p.startIperf(ctx, o)
	if err != nil {
		return TCPResult{}, err
	}
	return r.wait(ctx)
}

// waitListen waits until a TCP socket listens on port in B, or srv exits.
func (p *Pair) waitListen(ctx context.Context, srv *netns.Process, port string) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		out, err := exec.CommandContext(cctx, "ip", "netns", "exec", p.B.Name, "ss", "-Hltn", "sport = :"+port).Output()
		cancel()
		if err == nil && strings.TrimSpace(string(out)) != "" {
			return nil
		}
		if srv.Exited() || ctx.Err() != nil || time.Now().After(deadline) {
			return fmt.Errorf("%s: iperf3 server on port %s is not listening (exited %v; %v)", p.Kind, port, srv.Exited(), ctx.Err())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
