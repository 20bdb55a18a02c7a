// Package cpu holds the dispatch tables that pick one implementation of each
// crypto primitive at start, by the CPU's features and the WGXDP_CPU switch.
//
// Every implementation belongs to a level: "generic" (portable Go, always
// usable) and, per architecture, levels such as "avx2" and "avx512" on amd64
// or "neon" on arm64. Levels are ordered; WGXDP_CPU=LEVEL is a ceiling: the
// fastest usable implementation at or below that level is chosen.
// WGXDP_CPU=generic turns all assembly off.
package cpu

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/klauspost/cpuid/v2"
)

// Levels lists, per GOARCH, the implementation levels from slowest to fastest.
var Levels = map[string][]string{
	"amd64":  {"generic", "avx2", "avx512"},
	"arm64":  {"generic", "neon"},
	"mips":   {"generic", "mips32"},
	"mipsle": {"generic", "mips32"},
}

// EnvVar is the environment variable that caps the implementation level.
const EnvVar = "WGXDP_CPU"

func levels() []string {
	if l, ok := Levels[runtime.GOARCH]; ok {
		return l
	}
	return []string{"generic"}
}

func rank(level string) int {
	for i, l := range levels() {
		if l == level {
			return i
		}
	}
	return -1
}

var (
	ceilOnce sync.Once
	ceil     int
	ceilErr  error
)

// Ceiling returns the highest level allowed by WGXDP_CPU (all levels when it
// is unset) and an error describing a bad value, in which case all levels are
// allowed and the caller may log the error. It reads WGXDP_CPU once.
func Ceiling() (string, error) {
	ceilOnce.Do(func() {
		ceil, ceilErr = parseCeiling(os.Getenv(EnvVar))
	})
	return levels()[ceil], ceilErr
}

// CheckEnv reports a bad WGXDP_CPU as Ceiling does, reading it afresh: for
// a daemon that refuses to start with one.
func CheckEnv() error {
	_, err := parseCeiling(os.Getenv(EnvVar))
	return err
}

// parseCeiling returns the rank of WGXDP_CPU's level: the highest for "",
// auto and native, and for a bad value, with an error.
func parseCeiling(s string) (int, error) {
	top := len(levels()) - 1
	v := strings.TrimSpace(strings.ToLower(s))
	if v == "" || v == "auto" || v == "native" {
		return top, nil
	}
	r := rank(v)
	if r < 0 {
		return top, fmt.Errorf("%s=%q: want one of %s or auto (the levels on %s)", EnvVar, s, strings.Join(levels(), ", "), runtime.GOARCH)
	}
	return r, nil
}

// Impl is one implementation of a primitive.
type Impl[F any] struct {
	Name     string            // e.g. "generic", "avx2-8x"
	Level    string            // one of Levels[GOARCH]
	Features []cpuid.FeatureID // all must be present
	Fn       F                 // the implementation
}

// Supported reports whether the CPU has every feature the implementation needs.
func (i *Impl[F]) Supported() bool {
	return rank(i.Level) >= 0 && cpuid.CPU.Supports(i.Features...)
}

// Table is a primitive's list of implementations. The zero value is empty;
// register the portable Go version first.
type Table[F any] struct {
	Primitive string
	impls     []Impl[F]
}

// Register adds an implementation. Call from init functions only.
func (t *Table[F]) Register(i Impl[F]) { t.impls = append(t.impls, i) }

// Usable returns every registered implementation this CPU can run,
// regardless of WGXDP_CPU (tests run them all).
func (t *Table[F]) Usable() []Impl[F] {
	var out []Impl[F]
	for _, i := range t.impls {
		if i.Supported() {
			out = append(out, i)
		}
	}
	return out
}

// Names returns the names of the usable implementations, in registration
// order (what a package's Implementations reports).
func (t *Table[F]) Names() []string {
	var names []string
	for _, i := range t.Usable() {
		names = append(names, i.Name)
	}
	return names
}

// Allowed returns the names of the usable implementations at or below the
// WGXDP_CPU ceiling, in registration order: what a benchmark of the
// variants the daemon may run measures.
func (t *Table[F]) Allowed() []string {
	c, _ := Ceiling()
	cr := rank(c)
	var names []string
	for _, i := range t.Usable() {
		if rank(i.Level) <= cr {
			names = append(names, i.Name)
		}
	}
	return names
}

// Find returns the usable implementation called name, or an error that
// lists the usable ones (for a package's UseImplementation).
func (t *Table[F]) Find(name string) (Impl[F], error) {
	for _, i := range t.Usable() {
		if i.Name == name {
			return i, nil
		}
	}
	return Impl[F]{}, fmt.Errorf("%s: no usable implementation %q (usable: %s)", t.Primitive, name, strings.Join(t.Names(), ", "))
}

// All returns every registered implementation, usable or not.
func (t *Table[F]) All() []Impl[F] { return append([]Impl[F](nil), t.impls...) }

// Generic returns the implementation of level "generic".
func (t *Table[F]) Generic() Impl[F] {
	for _, i := range t.impls {
		if i.Level == "generic" {
			return i
		}
	}
	panic("cpu: " + t.Primitive + " has no generic implementation")
}

// Select returns the best usable implementation at or below the WGXDP_CPU
// ceiling: the highest level wins, and among equals the later registration.
func (t *Table[F]) Select() Impl[F] {
	c, _ := Ceiling()
	cr := rank(c)
	best := -1
	for n, i := range t.impls {
		if !i.Supported() || rank(i.Level) > cr {
			continue
		}
		if best < 0 || rank(i.Level) >= rank(t.impls[best].Level) {
			best = n
		}
	}
	if best < 0 {
		return t.Generic()
	}
	return t.impls[best]
}

// Features returns the names of the CPU features relevant to wgxdp's kernels.
func Features() []string {
	var out []string
	for _, f := range []cpuid.FeatureID{cpuid.SSE2, cpuid.SSSE3, cpuid.AVX, cpuid.AVX2, cpuid.BMI2, cpuid.ADX,
		cpuid.AVX512F, cpuid.AVX512VL, cpuid.AVX512BW, cpuid.AVX512IFMA, cpuid.VAES, cpuid.ASIMD} {
		if cpuid.CPU.Supports(f) {
			out = append(out, f.String())
		}
	}
	return out
}
