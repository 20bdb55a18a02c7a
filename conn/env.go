package conn

import (
	"fmt"
	"os"
	"strings"

	"github.com/wgxdp/wgxdp/internal/envflag"
)

// Environment switches read by StdNetBind.Open (see StdNetBind), in the
// spellings of package envflag.
const (
	envGSO      = "WGXDP_UDP_GSO"
	envGRO      = "WGXDP_UDP_GRO"
	envBuffer   = "WGXDP_UDP_BUFFER"
	envSndBuf   = "WGXDP_UDP_SNDBUF"
	envPriority = "WGXDP_UDP_PRIORITY"
)

// bindEnv is what the environment asks of a StdNetBind whose fields are
// unset.
type bindEnv struct {
	gso, gro bool
	buffer   int // SO_RCVBUF; 0: unset
	sndBuf   int // SO_SNDBUF; 0: unset
	priority int // the priority threshold in bytes; 0: no priority socket
}

// readEnv reads the switches. On a bad value it returns the error and,
// for that switch, its default, as the Bind has always done.
func readEnv() (bindEnv, error) {
	e := bindEnv{priority: DefaultPriorityMax}
	var errs [5]error
	e.gso, errs[0] = envflag.Bool(envGSO, true)
	e.gro, errs[1] = envflag.Bool(envGRO, true)
	e.buffer, errs[2] = envflag.Size(envBuffer)
	e.sndBuf, errs[3] = envflag.Size(envSndBuf)
	e.priority, errs[4] = priorityEnv()
	for _, err := range errs {
		if err != nil {
			return e, err
		}
	}
	return e, nil
}

// priorityEnv reads WGXDP_UDP_PRIORITY: a size in bytes (0 turns the
// priority socket off), or a switch (on: DefaultPriorityMax).
func priorityEnv() (int, error) {
	s := os.Getenv(envPriority)
	if strings.TrimSpace(s) == "" {
		return DefaultPriorityMax, nil
	}
	if n, ok := envflag.ParseSize(s); ok {
		if n > MaxPriorityMax {
			return DefaultPriorityMax, fmt.Errorf("%s=%q: more than %d bytes; the priority socket is for small packets", envPriority, s, MaxPriorityMax)
		}
		return n, nil
	}
	if on, ok := envflag.ParseBool(s); ok {
		if on {
			return DefaultPriorityMax, nil
		}
		return 0, nil
	}
	return DefaultPriorityMax, fmt.Errorf("%s=%q: want a size in bytes such as 256 (0 or off: no priority socket)", envPriority, s)
}

// CheckEnv reports the first bad value among the environment switches a
// StdNetBind reads (WGXDP_UDP_GSO, WGXDP_UDP_GRO, WGXDP_UDP_BUFFER,
// WGXDP_UDP_SNDBUF, WGXDP_UDP_PRIORITY), naming the variable and what it
// accepts. The Bind itself takes the default for a bad value; a daemon
// calls CheckEnv at start to refuse it instead.
func CheckEnv() error {
	_, err := readEnv()
	return err
}
