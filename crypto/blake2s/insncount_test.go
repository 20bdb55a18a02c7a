package blake2s

import (
	"os"
	"strconv"
	"testing"
)

// TestSumLoop is a workload that `scripts/cross.sh count` traces under qemu
// to count instructions (nothing can be timed under emulation):
// WGXDP_BLAKE2S_LOOP=N hashes 1 KiB with Sum256 N times with the active
// implementation. Run once with N and once with 0, the difference of the
// two traces is N hashes and nothing else. Without the variable it skips.
func TestSumLoop(t *testing.T) {
	v, ok := os.LookupEnv("WGXDP_BLAKE2S_LOOP")
	if !ok {
		t.Skip("WGXDP_BLAKE2S_LOOP not set")
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 1024)
	for i := range data {
		data[i] = byte(i)
	}
	for range n {
		_ = Sum256(data)
	}
	t.Logf("%s: %d hashes of 1 KiB", Active(), n)
}
