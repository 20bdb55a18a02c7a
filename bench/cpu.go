package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture since 2.6.
const clockTicks = 100

// DaemonCPU returns the CPU time (user + system, all threads) that the
// pair's two daemons have used since they started; ok is false for a pair
// without daemons (veth) or if /proc cannot tell. The difference around a
// run, divided by the bytes moved, is the CPU each byte cost the daemons:
// a figure that other load on the machine disturbs far less than
// throughput.
func (p *Pair) DaemonCPU() (cpu time.Duration, ok bool) {
	if p.DaemonA == nil || p.DaemonB == nil {
		return 0, false
	}
	for _, d := range []int{p.DaemonA.PID, p.DaemonB.PID} {
		c, err := ProcessCPU(d)
		if err != nil {
			return 0, false
		}
		cpu += c
	}
	return cpu, true
}

// ProcessCPU reads utime + stime of process pid from /proc/PID/stat.
func ProcessCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// parseStatCPU takes utime and stime (fields 14 and 15) from a
// /proc/PID/stat line; the command name, field 2, may hold spaces and
// parentheses, so fields are counted from its last ')'.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("bench: /proc stat %q: no command name", stat)
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("bench: /proc stat %q: too few fields", stat)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bench: /proc stat time %q", s)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}
