//go:build amd64 && gc && !purego

package chacha20poly1305

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/klauspost/cpuid/v2"
	"github.com/wgxdp/wgxdp/internal/cpu"
)

func hasAVX2Features() bool { return cpuid.CPU.Supports(cpuid.AVX2, cpuid.BMI2, cpuid.ADX) }

// TestAVX2Default checks that a CPU with AVX2, BMI2 and ADX gets the avx2
// implementation unless WGXDP_CPU caps it lower.
func TestAVX2Default(t *testing.T) {
	if !hasAVX2Features() {
		t.Skip("CPU lacks AVX2, BMI2 or ADX")
	}
	want := "avx2"
	if ceil, _ := cpu.Ceiling(); ceil == "generic" {
		want = "generic"
	}
	if Active() != want {
		t.Errorf("Active() = %q, want %q (WGXDP_CPU=%q)", Active(), want, os.Getenv(cpu.EnvVar))
	}
}

// TestAVX2Env runs this test binary under each WGXDP_CPU setting and checks
// which implementation the package picks at start.
func TestAVX2Env(t *testing.T) {
	if os.Getenv("WGXDP_REPORT_ACTIVE") != "" {
		os.Stdout.WriteString("active=" + Active() + "\n")
		return
	}
	if !hasAVX2Features() {
		t.Skip("CPU lacks AVX2, BMI2 or ADX")
	}
	for env, want := range map[string]string{"": "avx2", "generic": "generic", "avx2": "avx2", "avx512": "avx2"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAVX2Env$", "-test.count=1")
		cmd.Env = append(os.Environ(), "WGXDP_REPORT_ACTIVE=1", cpu.EnvVar+"="+env)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s=%q: %v\n%s", cpu.EnvVar, env, err, out)
		}
		if !strings.Contains(string(out), "active="+want+"\n") {
			t.Errorf("%s=%q: want active=%s, got\n%s", cpu.EnvVar, env, want, out)
		}
	}
}
