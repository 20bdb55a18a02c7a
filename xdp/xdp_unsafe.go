package xdp

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// getMmapOffsets reads where the four rings' indices and descriptors sit
// in their mmap regions.
func getMmapOffsets(fd int) (unix.XDPMmapOffsets, error) {
	var off unix.XDPMmapOffsets
	l := uint32(unsafe.Sizeof(off))
	_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_XDP, unix.XDP_MMAP_OFFSETS,
		uintptr(unsafe.Pointer(&off)), uintptr(unsafe.Pointer(&l)), 0)
	if errno != 0 {
		return off, fmt.Errorf("xdp: getsockopt XDP_MMAP_OFFSETS: %w", errno)
	}
	return off, nil
}

// getStatistics reads the kernel's counters of the socket: drops for a
// full rx ring or an empty fill ring, invalid descriptors.
func getStatistics(fd int) (unix.XDPStatistics, error) {
	var st unix.XDPStatistics
	l := uint32(unsafe.Sizeof(st))
	_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_XDP, unix.XDP_STATISTICS,
		uintptr(unsafe.Pointer(&st)), uintptr(unsafe.Pointer(&l)), 0)
	if errno != 0 {
		return st, fmt.Errorf("xdp: getsockopt XDP_STATISTICS: %w", errno)
	}
	return st, nil
}

// registerUmem registers mem as the socket's UMEM with frames of
// frameSize bytes and no extra headroom, and with txMetaLen bytes of TX
// metadata in front of each TX packet if that is not 0. flags are further
// XDP_UMEM_* flags.
func registerUmem(fd int, mem []byte, frameSize int, txMetaLen int, flags uint32) error {
	reg := unix.XDPUmemReg{
		Addr:            uint64(uintptr(unsafe.Pointer(&mem[0]))),
		Len:             uint64(len(mem)),
		Size:            uint32(frameSize),
		Flags:           flags,
		Tx_metadata_len: uint32(txMetaLen),
	}
	if txMetaLen != 0 {
		reg.Flags |= unix.XDP_UMEM_TX_METADATA_LEN
	}
	_, _, errno := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_XDP, unix.XDP_UMEM_REG,
		uintptr(unsafe.Pointer(&reg)), unsafe.Sizeof(reg), 0)
	if errno != 0 {
		return fmt.Errorf("xdp: setsockopt XDP_UMEM_REG (%d bytes; RLIMIT_MEMLOCK?): %w", len(mem), errno)
	}
	return nil
}

// mapRing mmaps one ring of n entries of entrySize bytes at page offset
// pgoff and points r's indices into it.
func mapRing(r *ring, fd int, off unix.XDPRingOffset, pgoff int64, n, entrySize uint32) error {
	size := int(off.Desc) + int(n*entrySize)
	mem, err := unix.Mmap(fd, pgoff, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("xdp: mmap ring at %#x: %w", pgoff, err)
	}
	r.mem = mem
	r.producer = (*atomic.Uint32)(unsafe.Pointer(&mem[off.Producer]))
	r.consumer = (*atomic.Uint32)(unsafe.Pointer(&mem[off.Consumer]))
	r.flags = (*atomic.Uint32)(unsafe.Pointer(&mem[off.Flags]))
	r.mask = n - 1
	r.size = n
	r.desc = unsafe.Pointer(&mem[off.Desc])
	return nil
}

// addrs views an address ring's descriptors (fill, completion).
func (r *ring) addrs() []uint64 {
	return unsafe.Slice((*uint64)(r.desc), r.size)
}

// descs views a packet ring's descriptors (rx, tx).
func (r *ring) descs() []unix.XDPDesc {
	return unsafe.Slice((*unix.XDPDesc)(r.desc), r.size)
}

const sizeofDesc = uint32(unsafe.Sizeof(unix.XDPDesc{}))

// kick is sendto(fd, NULL, 0, MSG_DONTWAIT): it makes the kernel process
// the tx ring (copy mode always needs it).
func kick(fd int) error {
	_, _, errno := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// wakeRx is recvfrom(fd, NULL, 0, MSG_DONTWAIT): it tells the kernel the
// fill ring has frames again.
func wakeRx(fd int) {
	unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
}

// rxQueues returns the interface's receive queue count from ethtool's
// channels (rx or combined), or 1 if the driver does not say.
func rxQueues(ifname string) int {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 1
	}
	defer unix.Close(fd)
	// struct ethtool_channels: cmd, max_rx, max_tx, max_other,
	// max_combined, rx_count, tx_count, other_count, combined_count.
	var ch [9]uint32
	ch[0] = unix.ETHTOOL_GCHANNELS
	var ifr struct {
		name [unix.IFNAMSIZ]byte
		data unsafe.Pointer
		_    [16]byte
	}
	copy(ifr.name[:unix.IFNAMSIZ-1], ifname)
	ifr.data = unsafe.Pointer(&ch)
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr)))
	if errno != 0 {
		return 1
	}
	return max(1, int(ch[5]), int(ch[8]))
}
