package main

import (
	"bufio"
	"bytes"
	"io"
	"log"
	"os"
	"os/signal"

	"github.com/wgxdp/wgxdp/device"
	"golang.org/x/sys/unix"
)

// watchStats prints the device's counters (device.WriteStats) to w each
// time the process gets SIGUSR1, unless LOG_LEVEL is silent, until done is
// closed: `kill -USR1 PID` answers "where did my packets go?" without a
// restart. The same report is logged (verbose) at shutdown.
func watchStats(w io.Writer, level int, prefix string, dev *device.Device, done <-chan struct{}) {
	if level < logLevelError {
		return
	}
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, unix.SIGUSR1)
	go func() {
		defer signal.Stop(usr1)
		l := log.New(w, "INFO: "+prefix, log.Ldate|log.Ltime)
		for {
			select {
			case <-done:
				return
			case <-usr1:
				logStats(l.Printf, dev)
			}
		}
	}()
}

// logStats logs the report one line at a time.
func logStats(logf func(string, ...any), dev *device.Device) {
	var buf bytes.Buffer
	_ = dev.WriteStats(&buf)
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		logf("stats: %s", sc.Text())
	}
}
