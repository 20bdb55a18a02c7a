package clock

import (
	"testing"
	"time"
)

func TestFakeOrderAndReset(t *testing.T) {
	c := NewFake(time.Unix(1000, 0))
	var got []int
	var at []time.Duration
	start := c.Now()
	c.AfterFunc(3*time.Second, func() { got = append(got, 3); at = append(at, c.Now().Sub(start)) })
	t1 := c.AfterFunc(1*time.Second, func() { got = append(got, 1); at = append(at, c.Now().Sub(start)) })
	t2 := c.AfterFunc(2*time.Second, func() { got = append(got, 2) })
	if !t2.Stop() || t2.Stop() {
		t.Fatal("Stop should report pending once")
	}
	t1.Reset(4 * time.Second)
	c.Advance(5 * time.Second)
	if len(got) != 2 || got[0] != 3 || got[1] != 1 {
		t.Fatalf("order %v", got)
	}
	if at[0] != 3*time.Second || at[1] != 4*time.Second {
		t.Fatalf("times %v", at)
	}
	if c.Now().Sub(start) != 5*time.Second || c.Pending() != 0 {
		t.Fatal("end state")
	}
	// A callback that reschedules itself within the window runs again.
	n := 0
	var tm Timer
	tm = c.AfterFunc(time.Second, func() { n++; tm.Reset(time.Second) })
	c.Advance(10 * time.Second)
	if n != 10 {
		t.Fatalf("periodic ran %d times", n)
	}
}
