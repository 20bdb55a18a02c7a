package blake2s

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestMAC128ManyGuardPage puts every message right before an inaccessible
// page: a kernel reading past the end of a message (the mac8 kernel loads
// the last block by masked word loads, in place) faults.
func TestMAC128ManyGuardPage(t *testing.T) {
	page := unix.Getpagesize()
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	forEachImpl(t, func(t *testing.T) {
		for _, n := range []int{4, 52, 60, 64, 68, 116, 148, 200, 256} {
			const count = 8
			var mems [][]byte
			msgs := make([][]byte, count)
			for i := range msgs {
				mem, err := unix.Mmap(-1, 0, 2*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
				if err != nil {
					t.Skip("mmap:", err)
				}
				mems = append(mems, mem)
				if err := unix.Mprotect(mem[page:], unix.PROT_NONE); err != nil {
					t.Skip("mprotect:", err)
				}
				msgs[i] = mem[page-n : page]
				for j := range msgs[i] {
					msgs[i][j] = byte(i + j)
				}
			}
			dst := make([][Size128]byte, count)
			MAC128Many(dst, key, msgs)
			for i, m := range msgs {
				var want [Size128]byte
				MAC128(&want, key, m)
				if dst[i] != want {
					t.Errorf("length %d, message %d: %x, want %x", n, i, dst[i], want)
				}
			}
			for _, mem := range mems {
				unix.Munmap(mem)
			}
		}
	})
}
