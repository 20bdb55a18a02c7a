package device

import (
	"fmt"
	"io"
	"reflect"
	"sort"
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
		if _, err := fmt.Fprintf(w, "%v: rx_bytes=%d tx_bytes=%d egress direct=%d enqueued=%d dequeued=%d codel_dropped=%d overlimit_dropped=%d ecn_marked=%d backlog=%d\n",
			p, rx, tx, p.DirectPackets(), e.EnqueuedPackets, e.DequeuedPackets, e.CoDelDroppedPackets, e.OverlimitDroppedPackets, e.ECNMarked, e.BacklogPackets); err != nil {
			return err
		}
	}
	return nil
}
