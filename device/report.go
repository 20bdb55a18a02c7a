package device

import (
	"fmt"
	"io"
	"math/bits"
	"reflect"
	"sort"
	"sync/atomic"

	"github.com/wgxdp/wgxdp/conn"
)

// WriteStats writes the device's counters and each peer's egress queue
// counters to w, one "name value" pair per line, zero counters left out —
// what the daemon prints on SIGUSR1 and at shutdown. It takes the
// configuration lock for reading and each peer's egress lock briefly.
func (d *Device) WriteStats(w io.Writer) error {
	s := d.Stats()
	v := reflect.ValueOf(s)
	t := v.Type()
	line := ""
	for i := range t.NumField() {
		if n := v.Field(i).Uint(); n != 0 {
			line += fmt.Sprintf(" %s=%d", t.Field(i).Name, n)
		}
	}
	if line == "" {
		line = " (all zero)"
	}
	if _, err := fmt.Fprintf(w, "device:%s\n", line); err != nil {
		return err
	}
	if b, ok := d.cfg.Bind.(interface{ OffloadStats() conn.OffloadStats }); ok {
		o := b.OffloadStats()
		if _, err := fmt.Fprintf(w, "udp: datagrams=%d priority=%d (sockets v4 %v v6 %v, realtime demotions %d) gro_datagrams=%d gro_segments=%d gso_sends=%d gso_segments=%d\n",
			o.Datagrams, o.PriorityDatagrams, o.Priority4, o.Priority6, o.RealtimeDemotions, o.GRODatagrams, o.GROSegments, o.GSOSends, o.GSOSegments); err != nil {
			return err
		}
	}
	if e, ok := d.cfg.TUN.(interface{ ExpressStats() (uint64, uint64) }); ok {
		if read, dem := e.ExpressStats(); read > 0 {
			if _, err := fmt.Fprintf(w, "tun: express read=%d realtime demotions=%d\n", read, dem); err != nil {
				return err
			}
		}
	}
	for k := range d.sojourn {
		n, p50, p99, top := d.sojourn[k].summary()
		if n == 0 {
			continue
		}
		// Time in the socket's receive buffer, kernel stamp to read: the
		// receive queue, and how long the goroutine took to be scheduled.
		if _, err := fmt.Fprintf(w, "receive %d: datagrams=%d sojourn p50<%dus p99<%dus max<%dus\n", k, n, p50, p99, top); err != nil {
			return err
		}
	}
	d.mu.RLock()
	peers := make([]*Peer, 0, len(d.peers))
	for _, p := range d.peers {
		peers = append(peers, p)
	}
	d.mu.RUnlock()
	sort.Slice(peers, func(i, j int) bool { return peers[i].String() < peers[j].String() })
	for _, p := range peers {
		e := p.EgressStats()
		rx, tx := p.Stats()
		if _, err := fmt.Fprintf(w, "%v: rx_bytes=%d tx_bytes=%d egress express=%d direct=%d enqueued=%d dequeued=%d codel_dropped=%d overlimit_dropped=%d ecn_marked=%d backlog=%d\n",
			p, rx, tx, p.eg.express.Load(), p.DirectPackets(), e.EnqueuedPackets, e.DequeuedPackets, e.CoDelDroppedPackets, e.OverlimitDroppedPackets, e.ECNMarked, e.BacklogPackets); err != nil {
			return err
		}
	}
	return nil
}

// sojournHist counts receive-buffer sojourn times in powers of two of
// microseconds: bucket i holds times below 2^i µs (bucket 0: under 1 µs).
// One receive goroutine adds; the report reads.
type sojournHist struct {
	b [24]atomic.Uint64
}

func (h *sojournHist) add(ns int64) {
	us := uint64(max(ns, 0)) / 1000
	h.b[min(bits.Len64(us), len(h.b)-1)].Add(1)
}

// summary returns the count and the upper bounds (µs) of the buckets
// holding the 50th and 99th percentiles and the largest time.
func (h *sojournHist) summary() (n, p50, p99, top uint64) {
	var c [len(sojournHist{}.b)]uint64
	for i := range c {
		c[i] = h.b[i].Load()
		n += c[i]
	}
	if n == 0 {
		return 0, 0, 0, 0
	}
	var acc uint64
	for i, v := range c {
		if v == 0 {
			continue
		}
		acc += v
		bound := uint64(1) << i
		if p50 == 0 && acc*2 >= n {
			p50 = bound
		}
		if p99 == 0 && acc*100 >= n*99 {
			p99 = bound
		}
		top = bound
	}
	return n, p50, p99, top
}
