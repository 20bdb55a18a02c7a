#!/usr/bin/env bash
# Cross-architecture tests of the arm64 and MIPS assembly under qemu-user
# (`make cross`). For GOARCH=arm64, mips and mipsle (softfloat) it vets the
# crypto and asm packages, runs the crypto test suites with the assembly
# (the default level) and again with WGXDP_CPU=generic (the portable code:
# qemu-user passes the environment through), and fuzzes FuzzSealOpen for a
# few seconds.
#
#	scripts/cross.sh [ARCH...]    test the given arches (default: all three)
#	scripts/cross.sh count        instructions per byte of a 1420-byte Seal;
#	                              on arm64 also per BLAKE2s-256 of 1 KiB and
#	                              per X25519 shared secret
#
# Environment: GO (default go), CROSS_FUZZTIME (default 1000x: a count, not a
# duration — a time limit makes the fuzz coordinator fail with "context
# deadline exceeded" when an emulated worker is slow to stop; 0 skips the
# fuzz runs). The fuzz engine re-executes the test binary itself, which only works
# with binfmt_misc; as root the script registers qemu for the three arches,
# otherwise it skips fuzzing with a message.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${CROSS_FUZZTIME:-1000x}

qemu_for() {
	case $1 in
	arm64) echo aarch64 ;;
	mips) echo mips ;;
	mipsle) echo mipsel ;;
	*) echo "cross: unknown arch $1 (have arm64, mips, mipsle)" >&2; exit 2 ;;
	esac
}

# ensure_qemu installs qemu-user-static (and binfmt-support, for fuzzing)
# when a qemu is missing: as root on Debian, else it says why it cannot.
ensure_qemu() {
	local missing=0 a
	for a in aarch64 mips mipsel; do
		command -v "qemu-$a-static" >/dev/null 2>&1 || missing=1
	done
	[ $missing = 0 ] && return 0
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
		echo "cross: SKIP: qemu-user-static is not installed and we are not root on Debian to install it" >&2
		exit 0
	fi
	echo "cross: installing qemu-user-static" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends qemu-user-static binfmt-support >/dev/null
}

# binfmt_ok arch reports whether the kernel runs arch's binaries through
# qemu (needed by the fuzz engine), registering qemu when it can.
binfmt_ok() {
	local q
	q=$(qemu_for "$1")
	[ -e "/proc/sys/fs/binfmt_misc/qemu-$q" ] && grep -q enabled "/proc/sys/fs/binfmt_misc/qemu-$q" && return 0
	[ "$(id -u)" = 0 ] || return 1
	if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
		mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || return 1
	fi
	if ! command -v update-binfmts >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends binfmt-support >/dev/null 2>&1 || return 1
	fi
	update-binfmts --enable "qemu-$q" >/dev/null 2>&1 || return 1
	[ -e "/proc/sys/fs/binfmt_misc/qemu-$q" ]
}

# env_for arch prints the go environment for arch.
env_for() {
	case $1 in
	arm64) echo "GOARCH=arm64" ;;
	mips | mipsle) echo "GOARCH=$1 GOMIPS=softfloat" ;;
	esac
}

run() {
	echo "+ $*" >&2
	env "$@"
}

cross_test() {
	local arch=$1 q
	q=qemu-$(qemu_for "$arch")-static
	# shellcheck disable=SC2046
	set -- $(env_for "$arch")
	echo "=== $arch ($*, $q)" >&2
	run "$@" "$GO" vet ./crypto/... ./asm/...
	# The assembly (the default level), then the portable code. Not -short:
	# TestAllocs skips under -short, and the full suites take seconds here.
	run "$@" "$GO" test -count=1 -exec "$q" ./crypto/...
	run "$@" WGXDP_CPU=generic "$GO" test -count=1 -exec "$q" ./crypto/...
	if [ "$FUZZTIME" = 0 ]; then
		echo "cross: $arch: fuzzing skipped (CROSS_FUZZTIME=0)" >&2
	elif binfmt_ok "$arch"; then
		run "$@" "$GO" test -count=1 -run '^$' -fuzz '^FuzzSealOpen$' -fuzztime "$FUZZTIME" -parallel 2 ./crypto/chacha20poly1305/
	else
		echo "cross: $arch: fuzzing SKIPPED: the fuzz engine needs binfmt_misc for $q (run as root to register it)" >&2
	fi
}

# count_one arch level [workload] traces a loop test with N iterations and
# with none and prints the instructions per iteration (and per byte) executed
# in the workload's path (the crypto and asm packages, crypto/subtle,
# memmove, memclr): runtime noise (sysmon, the scheduler) is left out by
# symbol, and asynchronous preemption is off. Workloads: seal (default;
# TestSealLoop, a 1420-byte Seal), blake2s (TestSumLoop, Sum256 of 1 KiB),
# x25519 (TestSharedSecretLoop, one SharedSecret).
count_one() {
	local arch=$1 level=$2 work=${3:-seal} n q bin dir c0 cn pkg test var bytes what
	case $work in
	seal) pkg=chacha20poly1305 test=TestSealLoop var=WGXDP_SEAL_LOOP bytes=1420 n=20 what=Seal ;;
	blake2s) pkg=blake2s test=TestSumLoop var=WGXDP_BLAKE2S_LOOP bytes=1024 n=20 what="Sum256(1 KiB)" ;;
	x25519) pkg=curve25519 test=TestSharedSecretLoop var=WGXDP_X25519_LOOP bytes=0 n=3 what=SharedSecret ;;
	esac
	q=qemu-$(qemu_for "$arch")-static
	dir=$(mktemp -d)
	bin=$dir/$pkg.test
	# shellcheck disable=SC2046
	env $(env_for "$arch") "$GO" test -c -o "$bin" "./crypto/$pkg/"
	for k in 0 $n; do
		# One trace line per executed instruction (-singlestep: one
		# instruction per translation block; nochain: every block logged),
		# the symbol last on the line; streamed, never written to disk.
		env WGXDP_CPU="$level" "$var=$k" GOMAXPROCS=1 GOGC=off GODEBUG=asyncpreemptoff=1 \
			"$q" -singlestep -d exec,nochain -D /dev/stderr "$bin" -test.run "^$test\$" 2>&1 >/dev/null |
			awk '$NF ~ /wgxdp|crypto\/|runtime\.mem(move|clr)/ {c++} END {print c+0}' >"$dir/count$k"
	done
	c0=$(cat "$dir/count0")
	cn=$(cat "$dir/count$n")
	rm -rf "$dir"
	awk -v a="$arch" -v l="$level" -v c0="$c0" -v cn="$cn" -v n=$n -v b="$bytes" -v w="$what" \
		'BEGIN {printf "%-7s %-8s %9d instructions per %s", a, l, (cn-c0)/n, w; if (b > 0) printf "  %6.2f per byte", (cn-c0)/n/b; printf "\n"}'
}

ensure_qemu
if [ "${1:-}" = count ]; then
	count_one arm64 neon
	count_one arm64 generic
	count_one arm64 neon blake2s
	count_one arm64 generic blake2s
	count_one arm64 neon x25519
	count_one arm64 generic x25519
	count_one mipsle mips32
	count_one mipsle generic
	count_one mips mips32
	count_one mips generic
	exit 0
fi
[ $# = 0 ] && set -- arm64 mips mipsle
for arch in "$@"; do
	cross_test "$arch"
done
echo "cross: all passed ($*)" >&2
