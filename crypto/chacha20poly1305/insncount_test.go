package chacha20poly1305

import (
	"os"
	"strconv"
	"testing"
)

// TestSealLoop is the workload that `scripts/cross.sh count` traces under
// qemu to count instructions per byte (nothing can be timed under
// emulation): WGXDP_SEAL_LOOP=N seals a 1420-byte packet N times with the
// active implementation. Run once with N and once with 0, the difference of
// the two traces is N seals and nothing else. Without the variable it skips.
func TestSealLoop(t *testing.T) {
	v, ok := os.LookupEnv("WGXDP_SEAL_LOOP")
	if !ok {
		t.Skip("WGXDP_SEAL_LOOP not set")
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := New(benchKey[:])
	buf := make([]byte, 1420+Overhead)
	nonce := wgNonce(1)
	for range n {
		a.Seal(buf[:0], nonce[:], buf[:1420], nil)
	}
	t.Logf("%s: %d seals", Active(), n)
}
