package tun

// The link-state listener, after wireguard-go's routineNetlinkListener
// (tun/tun_linux.go, MIT, Copyright (C) 2017-2025 WireGuard LLC). It
// reports transitions rather than every message: EventUp when the
// interface starts running, EventDown when it stops, EventMTUUpdate when
// the MTU changes, and EventDown (if up) + EventDeleted when it is deleted.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// subscribeLinks opens a netlink socket on RTMGRP_LINK in the calling
// thread's network namespace, registered with the poller so that closing
// the file unblocks the listener.
func subscribeLinks() (*os.File, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("tun: netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: unix.RTMGRP_LINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tun: netlink bind: %w", err)
	}
	return os.NewFile(uintptr(fd), "rtnetlink"), nil
}

// linkMsg is what the listener needs of an RTM_NEWLINK/RTM_DELLINK.
type linkMsg struct {
	deleted bool
	running bool
	mtu     int // 0 if the message has no IFLA_MTU
}

// parseLinkMsgs returns the link messages about interface index in buf.
func parseLinkMsgs(buf []byte, index int32) ([]linkMsg, error) {
	msgs, err := syscall.ParseNetlinkMessage(buf)
	if err != nil {
		return nil, err
	}
	var out []linkMsg
	for i := range msgs {
		m := &msgs[i]
		if m.Header.Type != unix.RTM_NEWLINK && m.Header.Type != unix.RTM_DELLINK {
			continue
		}
		if len(m.Data) < unix.SizeofIfInfomsg {
			continue
		}
		// struct ifinfomsg: family u8, pad u8, type u16, index s32, flags u32, change u32
		if int32(binary.NativeEndian.Uint32(m.Data[4:8])) != index {
			continue
		}
		lm := linkMsg{
			deleted: m.Header.Type == unix.RTM_DELLINK,
			running: binary.NativeEndian.Uint32(m.Data[8:12])&unix.IFF_RUNNING != 0,
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(m)
		if err == nil {
			for _, a := range attrs {
				if a.Attr.Type == unix.IFLA_MTU && len(a.Value) >= 4 {
					lm.mtu = int(binary.NativeEndian.Uint32(a.Value))
				}
			}
		}
		out = append(out, lm)
	}
	return out, nil
}

// emit delivers ev unless the device is closing.
func (t *linuxTUN) emit(ev Event) bool {
	select {
	case t.events <- ev:
		return true
	case <-t.done:
		return false
	}
}

// listen turns link messages about our interface into events until Close
// or deletion. st is the state already reported.
func (t *linuxTUN) listen(st linkState) {
	defer t.wg.Done()
	rc, err := t.nl.SyscallConn()
	if err != nil {
		return
	}
	buf := make([]byte, 1<<16)
	var (
		n    int
		rerr error
	)
	readFn := func(fd uintptr) bool {
		for {
			n, rerr = unix.Read(int(fd), buf)
			if rerr != unix.EINTR {
				return rerr != unix.EAGAIN
			}
		}
	}
	// apply reports the change from st to next; it returns false to stop.
	apply := func(next linkState) bool {
		if next.running != st.running {
			ev := EventDown
			if next.running {
				ev = EventUp
			}
			st.running = next.running
			if !t.emit(ev) {
				return false
			}
		}
		if next.mtu != 0 && next.mtu != st.mtu {
			st.mtu = next.mtu
			return t.emit(EventMTUUpdate)
		}
		return true
	}
	// gone handles our interface leaving this namespace: deleted, or
	// moved to another namespace (the fd still names it), where this
	// subscription cannot follow it.
	gone := func() {
		if st.running && !t.emit(EventDown) {
			return
		}
		st.running = false
		if _, err := t.Name(); errors.Is(err, ErrDeleted) || errors.Is(err, unix.ENODEV) {
			t.emit(EventDeleted)
		}
	}
	for {
		if err := rc.Read(readFn); err != nil {
			return // closed
		}
		switch {
		case rerr == unix.ENOBUFS:
			// Messages were lost: read the state instead.
			name, err := t.Name()
			if err != nil {
				gone()
				return
			}
			next, err := t.state(name)
			if err != nil {
				gone()
				return
			}
			if !apply(next) {
				return
			}
			continue
		case rerr != nil:
			return
		}
		msgs, err := parseLinkMsgs(buf[:n], t.index)
		if err != nil {
			continue
		}
		for _, m := range msgs {
			if m.deleted {
				gone()
				return
			}
			if !apply(linkState{running: m.running, mtu: m.mtu}) {
				return
			}
		}
	}
}
