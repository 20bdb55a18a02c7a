#!/usr/bin/env bash
# demo.sh: wgxdp and wireguard-go, side by side, talking WireGuard to each other.
#
# Run as root with `make demo` (which builds bin/wgxdp and bin/wireguard-go
# first), or directly: scripts/demo.sh. It makes two network namespaces
# joined by a veth pair, so no packet leaves them:
#
#   namespace A                                  namespace B
#   wgxdp      10.201.0.1/24 fd00:201::1/64      wireguard-go 10.201.0.2/24 fd00:201::2/64
#      |  (WireGuard over UDP)                      |
#   veth       10.200.0.1/24  <--------------->  veth         10.200.0.2/24
#
# It starts a daemon in each, configures both with wg(8), pings across over
# IPv4 and IPv6 in both directions, moves 20 MB each way with iperf3 (or
# floods pings if iperf3 is missing), shows `wg show` on both sides and then
# removes everything it made, whether it succeeded or not. It can be run
# again at once.
#
# Environment: WGXDP and WIREGUARD_GO override the binaries' paths; set
# KEEP_LOGS=1 to keep the daemons' logs.

set -euo pipefail
umask 077 # private keys are written to files

root=$(cd "$(dirname "$0")/.." && pwd)
WGXDP=${WGXDP:-$root/bin/wgxdp}
WIREGUARD_GO=${WIREGUARD_GO:-$root/bin/wireguard-go}

step=0
say()  { printf '\n\033[1m==> [%d] %s\033[0m\n' "$((step += 1))" "$*"; }
note() { printf '    %s\n' "$*"; }
die()  { printf '\ndemo: %s\n' "$*" >&2; exit 1; }

# inns NS CMD...: run CMD in namespace NS, showing it first.
inns() {
	local ns=$1; shift
	local label=A; [ "$ns" = "$ns_b" ] && label=B
	printf '    [%s] $ %s\n' "$label" "$*"
	ip netns exec "$ns" "$@"
}

# --- Preconditions ----------------------------------------------------------

[ "$(id -u)" = 0 ] || die "must run as root (it creates network namespaces and TUN devices)"
for tool in ip wg ping; do
	command -v "$tool" >/dev/null || die "$tool not found; install it (make deps)"
done
[ -x "$WGXDP" ] || die "$WGXDP not found; run 'make build' (or 'make demo')"
[ -x "$WIREGUARD_GO" ] || die "$WIREGUARD_GO not found; run 'make wireguard-go' (or 'make demo')"

# Names unique to this run: interface sockets live in /var/run/wireguard,
# which all namespaces share.
suffix=$(od -An -N2 -tx2 /dev/urandom | tr -d ' \n')
ns_a=wgxdp-demo-a-$suffix
ns_b=wgxdp-demo-b-$suffix
veth_a=veth-a$suffix
veth_b=veth-b$suffix
wg_a=wgxdp$suffix
wg_b=wggo$suffix
tmp=$(mktemp -d /tmp/wgxdp-demo.XXXXXX)
pids=()

# alive PID: the process exists and is not a zombie (the daemons are not our
# children; init reaps them).
alive() {
	[ -r "/proc/$1/stat" ] || return 1
	local stat; stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat:0:1}" != Z ]
}

cleanup() {
	local rc=$? pid i
	set +e
	trap - EXIT INT TERM
	if [ "$rc" = 130 ] || [ "$rc" = 143 ]; then
		printf '\n\033[1m==> Interrupted\033[0m\n'
	elif [ "$rc" != 0 ]; then
		printf '\n\033[1m==> The demo FAILED (exit %d). Daemon logs:\033[0m\n' "$rc"
		for f in "$tmp"/*.log; do
			[ -s "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }
		done
	fi
	printf '\n\033[1m==> Cleaning up\033[0m\n'
	# Stop what we started, by PID: first politely, then not.
	for pid in "${pids[@]}"; do
		alive "$pid" && kill -TERM "$pid" 2>/dev/null && note "stopped pid $pid"
	done
	for i in $(seq 50); do
		local any=0
		for pid in "${pids[@]}"; do alive "$pid" && any=1; done
		[ "$any" = 0 ] && break
		sleep 0.1
	done
	for pid in "${pids[@]}"; do
		alive "$pid" && { kill -KILL "$pid" 2>/dev/null; note "killed pid $pid"; }
	done
	rm -f "/var/run/wireguard/$wg_a.sock" "/var/run/wireguard/$wg_b.sock"
	for ns in "$ns_a" "$ns_b"; do
		ip netns del "$ns" 2>/dev/null && note "deleted namespace $ns"
	done
	if [ "${KEEP_LOGS:-}" = 1 ]; then
		note "logs kept in $tmp"
	else
		rm -rf "$tmp"
	fi
	[ "$rc" = 0 ] && printf '\nDemo finished: nothing is left behind.\n'
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. The wire --------------------------------------------------------------

say "Two network namespaces joined by a veth pair (the 'wire')"
ip netns add "$ns_a"
ip netns add "$ns_b"
note "created namespaces $ns_a (A) and $ns_b (B)"
ip link add "$veth_a" netns "$ns_a" type veth peer name "$veth_b" netns "$ns_b"
inns "$ns_a" ip link set lo up
inns "$ns_b" ip link set lo up
inns "$ns_a" ip addr add 10.200.0.1/24 dev "$veth_a"
inns "$ns_b" ip addr add 10.200.0.2/24 dev "$veth_b"
inns "$ns_a" ip link set "$veth_a" up
inns "$ns_b" ip link set "$veth_b" up

# --- 2. The daemons -------------------------------------------------------------

# start NS LOG BIN IFNAME: start a daemon as wg-quick does: it returns once
# the interface and its socket exist. Its pid is the only one in NS.
start() {
	local ns=$1 log=$2; shift 2
	printf '    [%s] $ LOG_LEVEL=verbose %s >%s\n' "$([ "$ns" = "$ns_a" ] && echo A || echo B)" "$*" "$(basename "$log")"
	LOG_LEVEL=verbose ip netns exec "$ns" "$@" >"$log" 2>&1 || die "$* failed"
	local pid
	pid=$(ip netns pids "$ns")
	[ -n "$pid" ] || die "$* left no process in $ns"
	pids+=($pid)
	note "running as pid $pid; its socket is $(ls "/var/run/wireguard/$2.sock")"
}

say "Start wgxdp in A and wireguard-go in B (each forks into the background)"
start "$ns_a" "$tmp/wgxdp.log" "$WGXDP" "$wg_a"
start "$ns_b" "$tmp/wireguard-go.log" "$WIREGUARD_GO" "$wg_b"
note "$("$WGXDP" --version | head -n 1) and wireguard-go $("$WIREGUARD_GO" --version | head -n 1 | cut -d' ' -f2)"

# --- 3. Keys and configuration -------------------------------------------------

say "Generate a key pair for each side"
wg genkey >"$tmp/a.key"
wg genkey >"$tmp/b.key"
pub_a=$(wg pubkey <"$tmp/a.key")
pub_b=$(wg pubkey <"$tmp/b.key")
note "A (wgxdp)        public key $pub_a"
note "B (wireguard-go) public key $pub_b"

say "Configure A with 'wg set' and B with 'wg setconf'"
inns "$ns_a" wg set "$wg_a" private-key "$tmp/a.key" listen-port 51820 \
	peer "$pub_b" endpoint 10.200.0.2:51821 allowed-ips 10.201.0.2/32,fd00:201::2/128
cat >"$tmp/b.conf" <<EOF
[Interface]
PrivateKey = $(cat "$tmp/b.key")
ListenPort = 51821

[Peer]
PublicKey = $pub_a
Endpoint = 10.200.0.1:51820
AllowedIPs = 10.201.0.1/32, fd00:201::1/128
EOF
note "B's config file (private key elided):"
sed 's/^PrivateKey = .*/PrivateKey = (elided)/; s/^/        /' "$tmp/b.conf"
inns "$ns_b" wg setconf "$wg_b" "$tmp/b.conf"

say "Give the tunnel interfaces their inner addresses and bring them up"
inns "$ns_a" ip addr add 10.201.0.1/24 dev "$wg_a"
inns "$ns_a" ip addr add fd00:201::1/64 dev "$wg_a" nodad
inns "$ns_a" ip link set "$wg_a" up
inns "$ns_b" ip addr add 10.201.0.2/24 dev "$wg_b"
inns "$ns_b" ip addr add fd00:201::2/64 dev "$wg_b" nodad
inns "$ns_b" ip link set "$wg_b" up

# --- 4. Ping -------------------------------------------------------------------

say "Ping through the tunnel, both ways, IPv4 and IPv6 (the first one shakes hands)"
ping_ok() {
	local out
	out=$(inns "$@" 2>&1) || { echo "$out"; die "ping failed"; }
	echo "$out" | sed -n '1p;/packets transmitted/p;/rtt/p' | sed '2,$s/^/        /'
}
ping_ok "$ns_a" ping -c 3 -i 0.2 -W 2 10.201.0.2
ping_ok "$ns_b" ping -c 3 -i 0.2 -W 2 10.201.0.1
ping_ok "$ns_a" ping -6 -c 3 -i 0.2 -W 2 fd00:201::2
ping_ok "$ns_b" ping -6 -c 3 -i 0.2 -W 2 fd00:201::1

# --- 5. Bulk data --------------------------------------------------------------

if command -v iperf3 >/dev/null; then
	say "Move 20 MB each way with iperf3 (TCP over the tunnel)"
	ip netns exec "$ns_b" iperf3 -s -B 10.201.0.2 >"$tmp/iperf3-server.log" 2>&1 &
	pids+=($!)
	for i in $(seq 50); do
		ip netns exec "$ns_b" ss -Hltn 'sport = :5201' | grep -q . && break
		sleep 0.1
	done
	note "iperf3 server listening on 10.201.0.2:5201 in B (pid ${pids[-1]})"
	iperf() {
		local out
		out=$(inns "$ns_a" iperf3 -c 10.201.0.2 -n 20M -f m "$@" 2>&1) || { echo "$out"; die "iperf3 failed"; }
		echo "$out" | grep -E 'sender|receiver' | sed 's/^/        /'
	}
	note "A (wgxdp) sends to B (wireguard-go):"
	iperf
	note "B (wireguard-go) sends to A (wgxdp):"
	iperf -R
	note "(Throughput here is two userspace daemons sharing 2 CPUs; 'make bench' compares them properly.)"
else
	say "Move data with flood pings (iperf3 is not installed; 'make deps' installs it)"
	ping_ok "$ns_a" ping -q -f -c 5000 -s 1372 -W 2 10.201.0.2
	ping_ok "$ns_b" ping -q -f -c 5000 -s 1372 -W 2 10.201.0.1
fi

# --- 6. Show -------------------------------------------------------------------

say "What wg(8) says on each side"
inns "$ns_a" wg show "$wg_a" | sed '1!s/^/        /'
inns "$ns_b" wg show "$wg_b" | sed '1!s/^/        /'
