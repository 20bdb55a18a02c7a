// Package gentest holds the check every generator's test runs: regenerate
// into a scratch directory and compare with the committed files.
package gentest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// CheckGenerated builds the generator in the current directory
// (asm/amd64/_gen/NAME), runs it into a scratch directory and fails if
// NAME_amd64.s or NAME_amd64.go differ from the committed files in
// asm/amd64. It is `make asm-check`.
func CheckGenerated(t *testing.T, name string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin", "gen")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// The generator writes to ../, like `go run` from asm/amd64/_gen.
	cmd := exec.Command(bin)
	cmd.Dir = filepath.Join(dir, "bin")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generator: %v\n%s", err, out)
	}
	for _, file := range []string{name + "_amd64.s", name + "_amd64.go"} {
		got, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("..", "..", file))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("asm/amd64/%s is stale: run `cd asm/amd64/_gen && go run ./%s`", file, name)
		}
	}
}
