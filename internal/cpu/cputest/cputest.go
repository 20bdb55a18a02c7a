// Package cputest holds the dispatch checks every crypto package runs on
// its Implementations/Active/UseImplementation trio.
package cputest

import (
	"slices"
	"testing"

	"github.com/wgxdp/wgxdp/internal/cpu"
)

// CheckSwitching checks that the usable implementations include "generic"
// and the active one, that WGXDP_CPU=generic selects generic, that each
// implementation can be switched to and back, and that an unknown name is
// refused.
func CheckSwitching(t *testing.T, implementations func() []string, active func() string, use func(string) (func(), error)) {
	t.Helper()
	names := implementations()
	if !slices.Contains(names, "generic") || !slices.Contains(names, active()) {
		t.Fatalf("Implementations() = %v, Active() = %q", names, active())
	}
	if c, _ := cpu.Ceiling(); c == "generic" && active() != "generic" {
		t.Errorf("%s=generic but Active() = %q", cpu.EnvVar, active())
	}
	prev := active()
	for _, n := range names {
		restore, err := use(n)
		if err != nil {
			t.Fatal(err)
		}
		if active() != n {
			t.Errorf("after UseImplementation(%q), Active() = %q", n, active())
		}
		restore()
		if active() != prev {
			t.Errorf("restore left %q, want %q", active(), prev)
		}
	}
	if _, err := use("no-such-impl"); err == nil {
		t.Error("UseImplementation of an unknown name succeeded")
	}
}
