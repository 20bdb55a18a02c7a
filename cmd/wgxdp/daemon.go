package main

// Going to the background follows wireguard-go's main.go: the parent makes
// the interface and the UAPI socket, so both exist when it returns, and
// starts itself again with their fds as 3 and 4 (WG_TUN_FD, WG_UAPI_FD) and
// WG_PROCESS_FOREGROUND=1. Unlike wireguard-go, the child gets its own
// session (setsid) and a pipe on fd 5 (WGXDP_READY_FD) on which it says
// whether it started; the parent returns 0 only when it has, and otherwise
// prints the child's error and returns 1.

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wgxdp/wgxdp/device"
	"github.com/wgxdp/wgxdp/tun"
	"github.com/wgxdp/wgxdp/uapi"
)

// envReadyFD names the pipe on which the background daemon tells its
// parent that it is serving ("ok") or why it failed ("error: ...").
const envReadyFD = "WGXDP_READY_FD"

// readyTimeout bounds how long the parent waits for the daemon.
var readyTimeout = 10 * time.Second

// daemonize starts the background daemon and returns the parent's exit
// code once it reports. It owns tdev and uapiFile, whose fds it hands on.
func daemonize(ifname string, tdev tun.Device, uapiFile *os.File, logger *device.Logger, level int) int {
	socket := uapi.SocketPath(ifname)
	fail := func(format string, args ...any) int {
		logger.Errorf(format, args...)
		if os.Getenv(envUAPIFD) == "" {
			os.Remove(socket) // we made it
		}
		return exitSetupFailed
	}
	tf, ok := tdev.(interface{ File() *os.File })
	if !ok {
		return fail("Failed to daemonize: the TUN device has no file to hand on")
	}
	path, err := os.Executable()
	if err != nil {
		return fail("Failed to determine executable: %v", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fail("Failed to daemonize: %v", err)
	}
	defer r.Close()

	cmd := &exec.Cmd{
		Path:        path,
		Args:        os.Args,
		Env:         childEnv(os.Environ()),
		Dir:         "/",
		ExtraFiles:  []*os.File{tf.File(), uapiFile, w}, // fds 3, 4, 5
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	// As wireguard-go: the daemon's output goes to ours only if LOG_LEVEL
	// asks for some; otherwise (nil) to /dev/null.
	if os.Getenv(envLogLevel) != "" && level != logLevelSilent {
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return fail("Failed to daemonize: %v", err)
	}

	msg, err := readReady(r, readyTimeout)
	if err == nil && msg == "ok" {
		logger.Verbosef("Daemon started (pid %d)", cmd.Process.Pid)
		cmd.Process.Release()
		return exitSetupSuccess
	}
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		cmd.Process.Kill()
		cmd.Wait()
		return fail("Daemon (pid %d) did not start within %v; killed it", cmd.Process.Pid, readyTimeout)
	case err != nil:
		// The pipe closed without a word: the daemon died.
		werr := cmd.Wait()
		return fail("Daemon (pid %d) died while starting: %v", cmd.Process.Pid, werr)
	}
	cmd.Wait()
	return fail("Daemon failed to start: %s", strings.TrimPrefix(msg, "error: "))
}

// childEnv is env with the daemon's variables set and any inherited ones
// replaced.
func childEnv(env []string) []string {
	out := make([]string, 0, len(env)+4)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case envTUNFD, envUAPIFD, envForeground, envReadyFD:
			continue
		}
		out = append(out, kv)
	}
	return append(out, envTUNFD+"=3", envUAPIFD+"=4", envForeground+"=1", envReadyFD+"=5")
}

// readReady reads the daemon's one-line report.
func readReady(r *os.File, timeout time.Duration) (string, error) {
	if err := r.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(line, "\n"), nil
}

// readyPipe is the daemon's end of the pipe to its parent; nil when there
// is no parent waiting.
type readyPipe struct{ f *os.File }

// takeReadyPipe takes the pipe named by WGXDP_READY_FD, if any, and removes
// the variable from the environment.
func takeReadyPipe() *readyPipe {
	s, ok := os.LookupEnv(envReadyFD)
	if !ok {
		return nil
	}
	os.Unsetenv(envReadyFD)
	fd, err := strconv.ParseUint(s, 10, 31)
	if err != nil {
		return nil
	}
	return &readyPipe{f: os.NewFile(uintptr(fd), "ready")}
}

// report tells the parent that the daemon is serving (err == nil) or why
// it is not, and closes the pipe. Later calls do nothing.
func (p *readyPipe) report(err error) {
	if p == nil || p.f == nil {
		return
	}
	if err != nil {
		fmt.Fprintf(p.f, "error: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
	} else {
		fmt.Fprintln(p.f, "ok")
	}
	p.f.Close()
	p.f = nil
}
