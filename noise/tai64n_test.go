package noise

import (
	"encoding/hex"
	"testing"
	"time"
)

func TestStamp(t *testing.T) {
	ts := Stamp(time.Unix(0, 0))
	if got := hex.EncodeToString(ts[:]); got != "400000000000000a00000000" {
		t.Fatal(got)
	}
	ts = Stamp(time.Unix(1, 0x1000000-1)) // below 2^24 ns: whitened to 0
	if got := hex.EncodeToString(ts[:]); got != "400000000000000b00000000" {
		t.Fatal(got)
	}
	ts = Stamp(time.Unix(1, 0x3123456)) // rounded down to 0x3000000
	if got := hex.EncodeToString(ts[:]); got != "400000000000000b03000000" {
		t.Fatal(got)
	}
	if !ts.Time().Equal(time.Unix(1, 0x3000000)) {
		t.Fatal(ts.Time())
	}
}

func TestStampOrdering(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := Stamp(base)
	for _, d := range []time.Duration{
		time.Nanosecond, 16 * time.Millisecond, // inside one whitening step: equal
	} {
		if s := Stamp(base.Add(d)); s != prev || s.After(prev) {
			t.Errorf("+%v: %v not equal to %v", d, s, prev)
		}
	}
	for _, d := range []time.Duration{17 * time.Millisecond, time.Second, time.Hour} {
		s := Stamp(base.Add(d))
		if !s.After(prev) || prev.After(s) {
			t.Errorf("+%v: %v not after %v", d, s, prev)
		}
	}
	if Stamp(base.Add(-time.Second)).After(prev) {
		t.Error("earlier stamp is After")
	}
}
