package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// PingOptions shape a ping(8) run from A to B.
type PingOptions struct {
	Count    int           // echo requests; 20 if zero
	Interval time.Duration // between requests; 100 ms if zero (ping -i takes ≥ 2 ms as root)
	Size     int           // -s payload bytes; ping's default (56) if zero
}

func (o *PingOptions) defaults() {
	if o.Count <= 0 {
		o.Count = 20
	}
	if o.Interval <= 0 {
		o.Interval = 100 * time.Millisecond
	}
}

// PingResult is the round trips of a ping run, in milliseconds.
type PingResult struct {
	Sent        int       `json:"sent"`
	Received    int       `json:"received"`
	LossPercent float64   `json:"loss_percent"`
	Min         float64   `json:"min_ms"`
	P50         float64   `json:"p50_ms"`
	P90         float64   `json:"p90_ms"`
	P99         float64   `json:"p99_ms"`
	Max         float64   `json:"max_ms"`
	Mean        float64   `json:"mean_ms"`
	RTTs        []float64 `json:"rtts_ms"` // in the order they came
}

var (
	rttRE  = regexp.MustCompile(`time=([0-9.]+) ms`)
	statRE = regexp.MustCompile(`(\d+) packets transmitted, (\d+) received`)
)

// ParsePing reads ping(8)'s output: the time= of each reply and the
// transmitted/received summary.
func ParsePing(out string) (PingResult, error) {
	var r PingResult
	for _, m := range rttRE.FindAllStringSubmatch(out, -1) {
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return r, fmt.Errorf("ping: bad time %q", m[1])
		}
		r.RTTs = append(r.RTTs, v)
	}
	m := statRE.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("ping printed no summary: %s", tail(out, 5))
	}
	r.Sent, _ = strconv.Atoi(m[1])
	r.Received, _ = strconv.Atoi(m[2])
	if r.Sent > 0 {
		r.LossPercent = 100 * float64(r.Sent-r.Received) / float64(r.Sent)
	}
	if len(r.RTTs) == 0 {
		return r, fmt.Errorf("ping: no replies to %d requests", r.Sent)
	}
	s := slices.Sorted(slices.Values(r.RTTs))
	r.Min, r.Max = s[0], s[len(s)-1]
	r.P50, r.P90, r.P99 = Percentile(s, 50), Percentile(s, 90), Percentile(s, 99)
	sum := 0.0
	for _, v := range s {
		sum += v
	}
	r.Mean = sum / float64(len(s))
	return r, nil
}

// Percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of sorted,
// which must not be empty: the smallest value with at least p% of the
// values at or below it.
func Percentile(sorted []float64, p float64) float64 {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// Ping pings p.Server from p.Client and returns the round trips. Lost
// replies are counted, not an error, unless none came back.
func Ping(ctx context.Context, p *Pair, o PingOptions) (PingResult, error) {
	o.defaults()
	args := []string{"-n", "-c", strconv.Itoa(o.Count), "-i", strconv.FormatFloat(o.Interval.Seconds(), 'f', -1, 64), "-W", "2"}
	if o.Size > 0 {
		args = append(args, "-s", strconv.Itoa(o.Size))
	}
	args = append(args, p.Server.String())
	timeout := time.Duration(o.Count)*o.Interval + 10*time.Second
	out, err := p.exec(ctx, p.A, timeout, nil, "ping", args...)
	r, perr := ParsePing(out)
	if perr != nil {
		// ping exits 1 when a reply is missing; that alone is no error.
		return r, fmt.Errorf("%s: %w", p.Kind, errors.Join(perr, err))
	}
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	return r, p.Check()
}

// LoadOptions shape PingUnderLoad: an iperf3 TCP load from A to B and
// pings from A to B in its middle.
type LoadOptions struct {
	TCP TCPOptions
	// Ping.Count, if zero, is as many as fit in the load's duration less
	// Warmup at each end.
	Ping PingOptions
	// Warmup is how long the load runs before the first ping (slow start);
	// a fifth of the duration, at most 1 s, if zero.
	Warmup time.Duration
}

// PingUnderLoad pings p.Server from p.Client while an iperf3 TCP run
// saturates the path the same way, so the round trips include the queues
// that fill under load (bufferbloat). It returns the pings and the load's
// throughput.
func PingUnderLoad(ctx context.Context, p *Pair, o LoadOptions) (PingResult, TCPResult, error) {
	if o.TCP.Duration <= 0 {
		o.TCP.Duration = 5 * time.Second
	}
	d := time.Duration(wholeSeconds(o.TCP.Duration)) * time.Second
	if o.Warmup <= 0 {
		o.Warmup = min(time.Second, d/5)
	}
	if o.Ping.Interval <= 0 {
		o.Ping.Interval = 100 * time.Millisecond
	}
	if o.Ping.Count <= 0 {
		o.Ping.Count = max(3, int((d-2*o.Warmup)/o.Ping.Interval))
	}
	run, err := p.startIperf(ctx, o.TCP)
	if err != nil {
		return PingResult{}, TCPResult{}, err
	}
	select {
	case <-time.After(o.Warmup):
	case <-ctx.Done():
	}
	pr, perr := Ping(ctx, p, o.Ping)
	tr, terr := run.wait(ctx)
	if err := errors.Join(perr, terr); err != nil {
		return pr, tr, err
	}
	return pr, tr, nil
}
