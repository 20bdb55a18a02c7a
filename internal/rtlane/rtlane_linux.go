// Package rtlane runs a goroutine's thread at realtime priority, within a
// budget: the express lanes of the data path (the priority UDP socket's
// receiver, the TUN's express queue reader) use it so that small packets
// are handled as soon as they arrive even when every CPU is busy with bulk
// traffic.
//
// Why: on two saturated cores, a datagram sat in an empty socket for p50
// 0.25 ms but p99 8–16 ms before its reader ran, whatever GOMAXPROCS was;
// with the reader's thread SCHED_FIFO and waiting in poll(2) on that
// thread, p99 fell under 0.5 ms. The Go netpoller cannot give that: it
// wakes a goroutine, which then waits for a P and a thread like any other.
//
// A Lane belongs to one goroutine. Enter (at the start of each read) locks
// the goroutine to its thread and makes the thread SCHED_FIFO priority 1,
// the lowest realtime priority; Wait blocks in poll(2) on that thread;
// Account charges the packets taken. Over Budget packets in a Window (a
// flood of small packets) the thread goes back to SCHED_OTHER for
// Penalty, then tries again — realtime threads could otherwise starve
// everything else. The kernel's RT throttling (sched_rt_runtime_us, 95%
// by default) stays as the last line.
//
// It needs CAP_SYS_NICE (root has it) or RLIMIT_RTPRIO ≥ 1; without it the
// Lane stays off and its user waits in the netpoller as before.
// WGXDP_RT=0 turns every lane off.
package rtlane

import (
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wgxdp/wgxdp/internal/envflag"
)

// Env turns the lanes off when "0" (or off, false, no; package envflag).
const Env = "WGXDP_RT"

// Window and Budget: at most 500 packets per 10 ms (50k/s) at realtime
// priority — at a few µs each (decryption, a TUN write or a send, the
// kernel's work behind it), at most a fraction of a CPU per lane. The
// sparse traffic the lanes are for is far below: the ACKs of a 1.2 Gbit/s
// TCP flow through the tunnel came at ~2.7k/s, pings at 100/s. New copies
// them, so tests may lower them before making lanes.
var (
	Window = 10 * time.Millisecond
	Budget = 500
	// IdleAfter, when above zero, rests a lane whose process has carried
	// no bulk traffic (Bulk) for that long: its thread goes back to
	// SCHED_OTHER and is unlocked, and its owner waits in the netpoller,
	// as without lanes, until bulk traffic comes again. Zero: lanes never
	// rest. New copies it; the daemon sets it (its data path calls Bulk).
	//
	// Why: on an idle machine the lanes only cost. Measured on this
	// 2-vCPU VM, ping through an idle tunnel (200 pings, 4 runs each):
	// p50 0.96–1.21 ms, p90 2.6–3.1 ms with the lanes realtime; 0.73–0.93,
	// 1.1–1.8 with WGXDP_RT=0; with the lanes' threads locked and polling
	// but SCHED_OTHER, in between. Likely causes (not measured apart): a
	// realtime thread is woken on the CPU it last ran on, idle or not,
	// where the kernel may put an ordinary one on the CPU that woke it;
	// and a goroutine locked to its thread needs that very thread woken.
	// Lanes pay for themselves only while bulk traffic keeps the CPUs
	// busy, which is when they are needed.
	IdleAfter time.Duration
)

// lastBulk is when the process last carried bulk traffic (Bulk), in
// nanoseconds since epoch (a monotonic clock's reading).
var (
	epoch    = time.Now()
	lastBulk atomic.Int64
)

// Bulk tells the lanes that bulk traffic is flowing, so they stay awake
// (IdleAfter). The data path calls it for each batch that did not come
// through an express lane; it stores at most once a millisecond.
func Bulk() {
	now := int64(time.Since(epoch))
	if now-lastBulk.Load() >= int64(time.Millisecond) {
		lastBulk.Store(now)
	}
}

// resting reports whether lanes made with idleAfter rest now.
func resting(idleAfter time.Duration) bool {
	return idleAfter > 0 && int64(time.Since(epoch))-lastBulk.Load() > int64(idleAfter)
}

const (
	// Penalty is how long a lane over budget stays SCHED_OTHER.
	Penalty = time.Second
	// PollTimeout bounds each Wait, so that a Close that waits for a read
	// in progress never waits longer.
	PollTimeout = 100 * time.Millisecond
	// DefaultIdleAfter is the IdleAfter the daemon uses: a second
	// without bulk traffic.
	DefaultIdleAfter = time.Second
	// ExtraProcs is how many Ps a daemon with lanes should add to
	// GOMAXPROCS: a lane woken in poll(2) needs an idle P to run at once
	// (one per lane — two priority sockets, the TUN's express queue — and
	// a spare).
	ExtraProcs = 4
)

// Enabled reports whether the environment allows lanes. A bad WGXDP_RT
// counts as unset (on); CheckEnv reports it.
func Enabled() bool {
	on, _ := envflag.Bool(Env, true)
	return on
}

// CheckEnv reports a bad WGXDP_RT, naming the variable and the spellings
// it accepts (package envflag's).
func CheckEnv() error {
	_, err := envflag.Bool(Env, true)
	return err
}

// Permitted reports whether this process may likely make threads
// realtime: it runs as root or has an RLIMIT_RTPRIO. (Root without
// CAP_SYS_NICE, in a container, is refused by Enter, which then leaves
// the lane off.)
func Permitted() bool {
	if unix.Geteuid() == 0 {
		return true
	}
	var rl unix.Rlimit
	return unix.Getrlimit(unix.RLIMIT_RTPRIO, &rl) == nil && rl.Cur >= 1
}

// Lane is one goroutine's realtime state. The zero Lane is off for good;
// New makes one that turns on at its first Enter.
type Lane struct {
	want    bool // asked for and not refused
	started bool // first Enter done
	on      bool // the thread is SCHED_FIFO now
	until   time.Time
	window  time.Time
	count   int
	// span, budget and idleAfter are Window, Budget and IdleAfter when
	// the lane was made.
	span      time.Duration
	budget    int
	idleAfter time.Duration
	// demotions counts the times the budget sent the thread back to
	// SCHED_OTHER; shared with the lane's owner for its statistics.
	demotions *atomic.Uint64
	// wake ends Waits early (nil: none).
	wake *Waker
	// tid is the thread the lane made realtime, and here says whether the
	// current read (since Enter) runs on it: a lane changes nothing on
	// another thread (a second goroutine reading the same queue).
	tid  int
	here bool
}

// New returns a lane that counts its demotions in demotions (nil: not
// counted) and whose Waits wake ends (nil: only their timeout).
func New(demotions *atomic.Uint64, wake *Waker) Lane {
	if demotions == nil {
		demotions = new(atomic.Uint64)
	}
	return Lane{want: true, demotions: demotions, wake: wake, span: Window, budget: Budget, idleAfter: IdleAfter}
}

// On reports whether the current read runs on the lane's thread (checked
// by Enter) at realtime priority: the owner then waits with Wait rather
// than in the netpoller.
func (l *Lane) On() bool { return l.on && l.here }

// Enter runs at the start of each read, on the reading goroutine. The
// first call locks the goroutine to its thread and asks for SCHED_FIFO;
// later calls end a penalty that is over, and, with IdleAfter, rest the
// lane while no bulk traffic flows (the thread back to SCHED_OTHER and
// unlocked) and wake it again when it does.
func (l *Lane) Enter() {
	l.here = false
	if !l.want {
		return
	}
	if resting(l.idleAfter) {
		l.rest()
		return
	}
	if !l.started {
		l.started = true
		runtime.LockOSThread()
		l.tid, l.here = unix.Gettid(), true
		if time.Now().Before(l.until) {
			return // a penalty from before a rest is not over
		}
		if setFIFO(true) != nil {
			l.want = false // not permitted: the netpoller, as without
			l.started, l.here = false, false
			runtime.UnlockOSThread()
			return
		}
		l.on, l.window, l.count = true, time.Now(), 0
		return
	}
	l.here = unix.Gettid() == l.tid
	if !l.on && l.here && time.Now().After(l.until) && setFIFO(true) == nil {
		l.on = true
		l.window, l.count = time.Now(), 0
	}
}

// rest undoes the lane's hold on its thread, if the caller is the
// goroutine holding it: SCHED_OTHER, then unlocked (a realtime thread
// must not go back to the runtime's pool; if the policy cannot be reset,
// the thread stays locked). Another goroutine's call changes nothing.
func (l *Lane) rest() {
	if !l.started || unix.Gettid() != l.tid {
		return
	}
	if l.on {
		if setFIFO(false) != nil {
			return
		}
		l.on = false
	}
	l.started, l.tid = false, 0
	runtime.UnlockOSThread()
}

// Account charges n packets to the current window and leaves realtime
// priority when the window's budget is spent.
func (l *Lane) Account(n int) {
	if !l.on || !l.here {
		return
	}
	now := time.Now()
	if now.Sub(l.window) >= l.span {
		l.window, l.count = now, 0
	}
	l.count += n
	if l.count > l.budget && setFIFO(false) == nil {
		l.on = false
		l.until = now.Add(Penalty)
		l.demotions.Add(1)
	}
}

// Wait blocks this thread until fd is readable, the lane's Waker is
// woken (Close), or PollTimeout passes, and reports whether fd may be read.
// Each wait counts toward the budget like a packet, so a lane that keeps
// waking without data (an fd stuck in an error state) is demoted like a
// flood.
func (l *Lane) Wait(fd uintptr) bool {
	pfd := [2]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: -1}}
	if l.wake != nil {
		pfd[1] = unix.PollFd{Fd: int32(l.wake.fd), Events: unix.POLLIN}
	}
	for {
		n, err := unix.Poll(pfd[:], int(PollTimeout/time.Millisecond))
		if err == unix.EINTR {
			continue
		}
		l.Account(1)
		if err != nil || n == 0 || pfd[1].Revents != 0 {
			return false
		}
		return pfd[0].Revents != 0
	}
}

// A Waker ends the Waits of the lanes given it (Close calls Wake before it
// closes their fds, so that it does not wait out PollTimeout): an eventfd
// that stays readable once woken.
type Waker struct{ fd int }

// NewWaker returns a Waker, or nil if the kernel has no eventfd (Waits
// then end by their timeout).
func NewWaker() *Waker {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil
	}
	return &Waker{fd: fd}
}

// Wake ends every Wait on w, now and later.
func (w *Waker) Wake() {
	if w != nil {
		var one = [8]byte{1}
		unix.Write(w.fd, one[:])
	}
}

// Close releases w, after Wake and once no Wait can start on it.
func (w *Waker) Close() {
	if w != nil {
		unix.Close(w.fd)
	}
}

// setFIFO sets the calling thread's policy: SCHED_FIFO priority 1, or
// SCHED_OTHER.
func setFIFO(on bool) error {
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr}
	if on {
		attr.Policy, attr.Priority = unix.SCHED_FIFO, 1
	}
	return unix.SchedSetAttr(0, &attr, 0)
}
