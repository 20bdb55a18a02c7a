package xdp

import (
	"os"
	"testing"
)

// TestMain turns conn's priority sockets off: the tests here count the
// receive functions of the UDP sockets beside the XSKs (one per family),
// and conn's own tests cover the priority sockets.
func TestMain(m *testing.M) {
	os.Setenv("WGXDP_UDP_PRIORITY", "0")
	os.Exit(m.Run())
}
