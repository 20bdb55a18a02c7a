package tun

import "os"

// File returns the file of the TUN's fd, so that the daemon can hand it to
// the process it starts in the background (as wireguard-go's
// tun.Device.File). The Device still owns the file. Note that
// (*os.File).Fd, which os/exec calls on it, puts the fd in blocking mode;
// CreateFromFD in the receiving process makes it non-blocking again.
func (t *linuxTUN) File() *os.File { return t.file }
