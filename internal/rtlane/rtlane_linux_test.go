package rtlane

import (
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func policy(t *testing.T) uint32 {
	t.Helper()
	a, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return a.Policy
}

// TestLane: Enter makes the thread SCHED_FIFO; more than Budget packets in
// a Window send it back to SCHED_OTHER for Penalty and count a demotion;
// WGXDP_RT=0 disables lanes.
func TestLane(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_SYS_NICE) for SCHED_FIFO")
	}
	done := make(chan struct{})
	go func() {
		// The lane locks this goroutine's thread for good; the thread
		// ends with the goroutine.
		defer close(done)
		var dem atomic.Uint64
		l := New(&dem, nil)
		l.Enter()
		if !l.On() {
			t.Error("Enter as root: lane off")
			return
		}
		if p := policy(t); p != unix.SCHED_FIFO {
			t.Errorf("policy %d, want SCHED_FIFO", p)
		}
		l.Account(Budget / 2)
		if !l.On() {
			t.Error("demoted under budget")
		}
		l.Account(Budget)
		if l.On() || dem.Load() != 1 {
			t.Errorf("over budget: on=%v demotions=%d", l.On(), dem.Load())
		}
		if p := policy(t); p != unix.SCHED_NORMAL {
			t.Errorf("policy %d after demotion, want SCHED_OTHER", p)
		}
		l.Enter() // within the penalty: stays off
		if l.On() {
			t.Error("back on within the penalty")
		}
		l.until = time.Now().Add(-time.Millisecond) // the penalty is over
		l.Enter()
		if !l.On() || policy(t) != unix.SCHED_FIFO {
			t.Error("not back on after the penalty")
		}
	}()
	<-done

	var zero Lane
	zero.Enter()
	if zero.On() {
		t.Error("the zero Lane turned on")
	}
	t.Setenv(Env, "0")
	if Enabled() {
		t.Error("WGXDP_RT=0: Enabled")
	}
	t.Setenv(Env, "")
	if !Enabled() {
		t.Error("default: not Enabled")
	}
}

func TestCheckEnv(t *testing.T) {
	for in, ok := range map[string]bool{"": true, "1": true, "on": true, "no": true, "FALSE": true, "maybe": false, "2": false} {
		t.Setenv(Env, in)
		if err := CheckEnv(); (err == nil) != ok || (err != nil && !strings.Contains(err.Error(), Env+"=")) {
			t.Errorf("%s=%q: CheckEnv = %v", Env, in, err)
		}
	}
}

// TestWait: Wait returns true when the fd is readable and false after
// PollTimeout when it is not.
func TestWait(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	l := New(nil, nil)
	start := time.Now()
	if l.Wait(uintptr(p[0])) {
		t.Error("empty pipe readable")
	}
	if d := time.Since(start); d < PollTimeout/2 {
		t.Errorf("Wait returned after %v, want about %v", d, PollTimeout)
	}
	unix.Write(p[1], []byte{1})
	if !l.Wait(uintptr(p[0])) {
		t.Error("pipe with a byte not readable")
	}
}

// TestWaker: a Wait on a lane whose Waker was woken ends at once, without
// data, and stays that way; each wait counts toward the budget.
func TestWaker(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	w := NewWaker()
	if w == nil {
		t.Skip("no eventfd")
	}
	defer w.Close()
	l := New(nil, w)
	go func() { time.Sleep(20 * time.Millisecond); w.Wake() }()
	start := time.Now()
	if l.Wait(uintptr(p[0])) {
		t.Error("woken Wait reported the fd readable")
	}
	if d := time.Since(start); d >= PollTimeout {
		t.Errorf("woken Wait took %v", d)
	}
	start = time.Now()
	l.Wait(uintptr(p[0]))
	if d := time.Since(start); d > PollTimeout/2 { // a missed wake takes PollTimeout
		t.Errorf("Wait after Wake took %v", d)
	}
}

// TestRest: with IdleAfter, a lane rests while no bulk traffic flows — its
// thread back to SCHED_OTHER and unlocked, its owner in the netpoller — and
// goes realtime again at the first Enter after Bulk; a penalty outlives a
// rest.
func TestRest(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_SYS_NICE) for SCHED_FIFO")
	}
	defer func(d time.Duration) { IdleAfter = d }(IdleAfter)
	IdleAfter = 50 * time.Millisecond
	policyOf := func(tid int) uint32 {
		a, err := unix.SchedGetAttr(tid, 0)
		if err != nil {
			t.Error(err)
			return 0
		}
		return a.Policy
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var dem atomic.Uint64
		l := New(&dem, nil)
		idle := func() { lastBulk.Store(int64(time.Since(epoch)) - int64(time.Hour)) }
		idle()
		l.Enter()
		if l.On() || l.started {
			t.Error("no bulk traffic: the lane did not rest")
		}
		Bulk()
		l.Enter()
		if !l.On() || policy(t) != unix.SCHED_FIFO {
			t.Error("bulk traffic: the lane is not realtime")
			return
		}
		tid := l.tid
		time.Sleep(2 * IdleAfter)
		l.Enter()
		if l.On() || l.started {
			t.Error("IdleAfter without bulk traffic: the lane is awake")
		}
		if p := policyOf(tid); p != unix.SCHED_NORMAL {
			t.Errorf("a resting lane left its thread in policy %d, want SCHED_OTHER", p)
		}
		Bulk()
		l.Enter()
		if !l.On() || policy(t) != unix.SCHED_FIFO {
			t.Error("bulk traffic again: the lane is not realtime")
		}
		l.Account(Budget + 1) // demoted for Penalty
		if l.On() || dem.Load() != 1 {
			t.Errorf("over budget: on=%v demotions=%d", l.On(), dem.Load())
			return
		}
		idle()
		l.Enter()
		Bulk()
		l.Enter()
		if l.On() || policy(t) != unix.SCHED_NORMAL {
			t.Error("back on within the penalty, across a rest")
		}
		l.until = time.Now().Add(-time.Millisecond)
		l.Enter()
		if !l.On() || policy(t) != unix.SCHED_FIFO {
			t.Error("not back on after the penalty")
		}
	}()
	<-done
}
