package curve25519

import (
	"os"
	"strconv"
	"testing"
)

// TestSharedSecretLoop is a workload that `scripts/cross.sh count` traces
// under qemu to count instructions (nothing can be timed under emulation):
// WGXDP_X25519_LOOP=N computes one X25519 shared secret (a variable-base
// scalar multiplication) N times with the active implementation. Run once
// with N and once with 0, the difference of the two traces is N shared
// secrets and nothing else. Without the variable it skips.
func TestSharedSecretLoop(t *testing.T) {
	v, ok := os.LookupEnv("WGXDP_X25519_LOOP")
	if !ok {
		t.Skip("WGXDP_X25519_LOOP not set")
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatal(err)
	}
	k := h32(t, "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4")
	p := h32(t, "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")
	var dst [32]byte
	for range n {
		if err := SharedSecret(&dst, k, p); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%s: %d shared secrets", Active(), n)
}
