# wgxdp — see README.md. `make test` is what CI runs (.ci/run).
SHELL   := /bin/bash
.SHELLFLAGS := -eo pipefail -c
GO      ?= go
BIN     := bin
PKGS    := ./...
# Packages whose state is shared between goroutines: run under -race.
RACE_PKGS := ./clock/ ./device/ ./allowedips/ ./ratelimiter/ ./replay/ ./uapi/ ./conn/... ./tun/... ./noise/ ./gro/ ./fqcodel/ ./dataplane/ ./xdp/ ./internal/rtlane/ ./cmd/wgxdp/

.PHONY: all build test test-short lint deps bench demo clean wireguard-go asm asm-check cross cross-count

all: build

build:
	$(GO) build -o $(BIN)/wgxdp ./cmd/wgxdp
	$(GO) build -o $(BIN)/wgxdp-bench ./cmd/wgxdp-bench

# The pinned reference peer, built from the Go tool dependency in go.mod.
wireguard-go:
	$(GO) build -o $(BIN)/wireguard-go golang.zx2c4.com/wireguard

# System packages the integration tests need (root, Debian).
deps:
	@./scripts/deps.sh

# Regenerate the amd64 assembly from the avo programs (their own module).
asm:
	@set -e; cd asm/amd64/_gen; for g in */; do [ "$$g" = internal/ ] && continue; echo "avo: $${g%/}"; $(GO) run ./$${g%/}; done

# arm64 and MIPS assembly under qemu-user (installs qemu-user-static when root).
cross:
	@./scripts/cross.sh

# Instructions per byte of a 1420-byte Seal under qemu (see asm/*/README.md).
cross-count:
	@./scripts/cross.sh count

# Fail when the committed assembly differs from a fresh generation.
asm-check: asm
	@git diff --exit-code --stat -- asm/amd64 || { echo "asm/amd64 differs from its generators: run 'make asm' and commit"; exit 1; }

lint:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

test: deps lint asm-check build wireguard-go
	$(GO) test -count=1 -timeout 15m $$($(GO) list ./... | grep -v /tests/interop)
	$(GO) test -count=1 -race -timeout 15m $(RACE_PKGS)
	WGXDP_CPU=generic $(GO) test -count=1 -timeout 5m ./crypto/... ./noise/
	# Timing-sensitive tests alone, so other packages do not starve them.
	WGXDP_FLOOD_STRICT=1 $(GO) test -count=1 -run 'TestHandshakeFlood' -v ./device/ | grep -E '^(---|ok|FAIL)|flood_test'
	$(GO) test -count=1 -timeout 10m ./tests/interop/
	./scripts/cross.sh

test-short: lint
	$(GO) test -short -count=1 $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 500ms ./crypto/... ./noise/ ./replay/ ./allowedips/ ./gro/ ./dataplane/

demo: build wireguard-go
	@./scripts/demo.sh

clean:
	rm -rf $(BIN)
