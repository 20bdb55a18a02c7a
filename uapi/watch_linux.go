package uapi

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// watchPollInterval is how often WatchRemoval looks when inotify is not
// available.
var watchPollInterval = time.Second

// WatchRemoval returns a channel that is closed when the file at path is
// removed, renamed away or replaced by another file, which is how a user
// tells wireguard-go to exit (rm /var/run/wireguard/wg0.sock). It stops
// watching when done is closed; the channel is then never closed. If path
// does not exist to begin with, the channel is closed at once.
//
// It uses inotify, as wireguard-go does, and looks every second instead if
// inotify is not available.
func WatchRemoval(path string, done <-chan struct{}) <-chan struct{} {
	removed := make(chan struct{})
	orig, err := os.Lstat(path)
	if isNotExist(err) {
		close(removed)
		return removed
	}
	// fire closes removed unless done was closed first: a removal seen
	// after done (the file may vanish as the watcher stops) is not reported.
	fire := func() {
		select {
		case <-done:
		default:
			close(removed)
		}
	}
	go func() {
		if watchInotify(path, orig, done) {
			fire()
			return
		}
		select {
		case <-done:
			return
		default:
		}
		if watchPoll(path, orig, done) {
			fire()
		}
	}()
	return removed
}

// gone reports whether path no longer names orig. An error other than "does
// not exist" (a permission change, say) does not count.
func gone(path string, orig os.FileInfo) bool {
	fi, err := os.Lstat(path)
	if err != nil {
		return isNotExist(err)
	}
	return orig != nil && !os.SameFile(fi, orig)
}

func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// watchInotify waits for path to go. It reports true when it has, and false
// when done is closed or inotify fails before either; then the caller polls.
func watchInotify(path string, orig os.FileInfo, done <-chan struct{}) bool {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return false
	}
	// An unlink shows as IN_ATTRIB (the link count falls): the socket keeps
	// the inode alive, so IN_DELETE_SELF comes only when it closes.
	if _, err := unix.InotifyAddWatch(fd, path, unix.IN_ATTRIB|unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_DONT_FOLLOW); err != nil {
		unix.Close(fd)
		return isNotExist(err) || gone(path, orig)
	}
	// A non-blocking descriptor goes to Go's poller, so Close from another
	// goroutine wakes a blocked Read.
	f := os.NewFile(uintptr(fd), "inotify")
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-done:
		case <-stop:
		}
		f.Close()
	}()
	var buf [4096]byte
	for {
		// Look first: the file may have gone before the watch was added,
		// and any event (chmod, touch) is only a reason to look again.
		if gone(path, orig) {
			return true
		}
		if _, err := f.Read(buf[:]); err != nil {
			return false
		}
	}
}

func watchPoll(path string, orig os.FileInfo, done <-chan struct{}) bool {
	t := time.NewTicker(watchPollInterval)
	defer t.Stop()
	for {
		if gone(path, orig) {
			return true
		}
		select {
		case <-done:
			return false
		case <-t.C:
		}
	}
}
