package cpu

import (
	"runtime"
	"testing"

	"github.com/klauspost/cpuid/v2"
)

func TestSelectHonoursCeiling(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("level names below are amd64's")
	}
	var tab Table[string]
	tab.Register(Impl[string]{Name: "generic", Level: "generic", Fn: "g"})
	tab.Register(Impl[string]{Name: "fast", Level: "avx2", Fn: "a"})
	tab.Register(Impl[string]{Name: "impossible", Level: "avx512", Features: []cpuid.FeatureID{cpuid.AVX512F, cpuid.AMXTILE, cpuid.AVX512FP16}, Fn: "x"})
	usable := tab.Usable()
	for _, u := range usable {
		if u.Name == "impossible" && !cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AMXTILE, cpuid.AVX512FP16) {
			t.Fatal("unsupported implementation listed as usable")
		}
	}
	c, err := Ceiling()
	if err != nil {
		t.Logf("WGXDP_CPU: %v", err)
	}
	got := tab.Select().Name
	switch c {
	case "generic":
		if got != "generic" {
			t.Fatalf("ceiling generic selected %s", got)
		}
	default:
		if got == "impossible" {
			t.Fatal("selected an implementation the CPU lacks")
		}
	}
	if tab.Generic().Name != "generic" {
		t.Fatal("Generic")
	}
}

func TestCheckEnv(t *testing.T) {
	l := levels()
	for in, ok := range map[string]bool{"": true, "auto": true, "native": true, "Generic": true, l[len(l)-1]: true, "bogus": false, "sse9": false} {
		t.Setenv(EnvVar, in)
		if err := CheckEnv(); (err == nil) != ok {
			t.Errorf("%s=%q: CheckEnv = %v", EnvVar, in, err)
		}
	}
	if runtime.GOARCH == "amd64" {
		t.Setenv(EnvVar, "neon")
		if err := CheckEnv(); err == nil {
			t.Error("WGXDP_CPU=neon accepted on amd64")
		}
	}
}

func TestAllowed(t *testing.T) {
	var tab Table[string]
	tab.Register(Impl[string]{Name: "generic", Level: "generic", Fn: "g"})
	l := levels()
	tab.Register(Impl[string]{Name: "top", Level: l[len(l)-1], Fn: "t"})
	c, _ := Ceiling()
	allowed := tab.Allowed()
	if len(allowed) == 0 || allowed[0] != "generic" {
		t.Fatalf("Allowed = %v, want generic first", allowed)
	}
	for _, name := range allowed {
		if name == "top" && (c != l[len(l)-1] || !tab.impls[1].Supported()) {
			t.Errorf("Allowed = %v under ceiling %s", allowed, c)
		}
	}
}
