package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGenerated regenerates the assembly and its Go declarations into a
// scratch directory and fails if they differ from the committed files in
// asm/amd64. It is `make asm-check`.
func TestGenerated(t *testing.T) {
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
	for _, name := range []string{"blake2s_amd64.s", "blake2s_amd64.go"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("..", "..", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("asm/amd64/%s is stale: run `cd asm/amd64/_gen && go run ./blake2s`", name)
		}
	}
}
