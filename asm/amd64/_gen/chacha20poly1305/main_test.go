package main

import (
	"testing"

	"github.com/wgxdp/wgxdp/asm/amd64/_gen/internal/gentest"
)

// TestGenerated regenerates the assembly and its Go declarations and fails
// if they differ from the committed files in asm/amd64 (make asm-check).
func TestGenerated(t *testing.T) { gentest.CheckGenerated(t, "chacha20poly1305") }
