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
# again at once. Ctrl-C (or SIGTERM, SIGHUP) stops it at once: it removes
# everything, says "Interrupted" and exits 128+signal. Each network step has
# a timeout of seconds, so a broken step fails fast and shows the logs.
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

# show NS CMD...: show CMD as run in namespace NS.
show() {
	local ns=$1; shift
	local label=A; [ "$ns" = "$ns_b" ] && label=B
	printf '    [%s] $ %s\n' "$label" "$*"
}

# inns NS CMD...: run CMD in namespace NS, showing it first.
inns() {
	show "$@"
	ip netns exec "$@"
}

# The rest is one brace group, so that bash reads it all before running any of
# it: bash 5.2 can run a pending trap while it parses a command substitution
# and then fails ("interrupt trap: unexpected EOF while looking for matching
# `)'"), so a signal must never find it parsing.
{

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
# What this run made, for cleanup: only these are removed.
made_ns=()   # namespaces it added
socks=()     # UAPI sockets of the daemons it started
pids=()      # processes it started, by PID
child=       # the command run() waits for, if any
interrupted=
# The demo's own stdout and stderr, for cleanup: a signal can come while a
# function's output goes to a file (run ... >log).
exec {stdout}>&1 {stderr}>&2

# alive PID: the process exists and is not a zombie (the daemons are not our
# children; init reaps them).
alive() {
	[ -r "/proc/$1/stat" ] || return 1
	local stat; read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
	stat=${stat##*) }
	[ "${stat:0:1}" != Z ]
}

# cleanup RC: run by the EXIT trap with the exit status.
# shellcheck disable=SC2317 # run by a trap
cleanup() {
	local rc=$1 pid ns f i new
	set +eu
	# A second Ctrl-C must not cut the cleanup short; it takes seconds at most.
	trap '' INT TERM HUP
	trap - EXIT
	exec 1>&"$stdout" 2>&"$stderr"
	if [ -n "$interrupted" ]; then
		rc=$interrupted
		printf '\n\033[1m==> Interrupted\033[0m\n'
	elif [ "$rc" != 0 ]; then
		printf '\n\033[1m==> The demo FAILED (exit %d). Daemon logs:\033[0m\n' "$rc"
		for f in "$tmp"/*.log; do
			[ -s "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }
		done
	fi
	printf '\n\033[1m==> Cleaning up\033[0m\n'
	# Everything still running in our namespaces is ours too: a daemon whose
	# start was interrupted before its PID was noted.
	[ -n "$child" ] && pids+=("$child")
	for ns in "${made_ns[@]}"; do
		ip netns pids "$ns" >"$tmp/pids" 2>/dev/null
		mapfile -t new <"$tmp/pids"
		for pid in "${new[@]}"; do
			[[ " ${pids[*]} " == *" $pid "* ]] || pids+=("$pid")
		done
	done
	# Stop what we started, by PID: first politely, then not.
	for pid in "${pids[@]}"; do
		alive "$pid" && kill -TERM "$pid" 2>/dev/null && note "stopped pid $pid"
	done
	for ((i = 0; i < 50; i++)); do
		local any=0
		for pid in "${pids[@]}"; do alive "$pid" && any=1; done
		[ "$any" = 0 ] && break
		sleep 0.1
	done
	for pid in "${pids[@]}"; do
		alive "$pid" && { kill -KILL "$pid" 2>/dev/null; note "killed pid $pid"; }
	done
	for f in "${socks[@]}"; do
		rm -f "$f"
	done
	for ns in "${made_ns[@]}"; do
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
# On a signal, stop at once and clean up (the EXIT trap), exiting 128+signal.
# Long commands go through run() so that the trap is not held back until they
# end: bash runs it only once a foreground command is over, and not at all if
# that command (ping, say) catches SIGINT itself and exits 0. A signal that
# comes as cleanup starts, before it ignores them, is only noted.
# shellcheck disable=SC2317 # run by a trap
interrupt() {
	interrupted=$1
	[ -n "${cleaning:-}" ] || exit "$1"
}
tmp=$(mktemp -d /tmp/wgxdp-demo.XXXXXX)
trap 'cleaning=1 cleanup "$?"' EXIT
trap 'interrupt 129' HUP
trap 'interrupt 130' INT
trap 'interrupt 143' TERM
# From here on, no $(...) outside cleanup (which ignores signals): bash 5.2
# runs a trap that became pending during one command substitution while it
# parses the next one in the same command, and the trap then fails to parse
# ("interrupt trap: unexpected EOF while looking for matching `)'"). Output
# goes through files and read instead.

# run CMD...: run CMD in the background and wait for it, so that a signal
# interrupts the wait and the demo at once. Its stdin is /dev/null.
run() {
	local rc=0
	"$@" </dev/null {stdout}>&- {stderr}>&- &
	child=$!
	wait "$child" || rc=$?
	child=
	return "$rc"
}

# --- 1. The wire --------------------------------------------------------------

say "Two network namespaces joined by a veth pair (the 'wire')"
ip netns add "$ns_a" && made_ns+=("$ns_a")
ip netns add "$ns_b" && made_ns+=("$ns_b")
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
	local label=A sock=/var/run/wireguard/$2.sock new
	[ "$ns" = "$ns_b" ] && label=B
	printf '    [%s] $ LOG_LEVEL=verbose %s >%s\n' "$label" "$*" "${log##*/}"
	socks+=("$sock")
	run timeout 10 env LOG_LEVEL=verbose ip netns exec "$ns" "$@" >"$log" 2>&1 ||
		die "$* failed or did not start within 10 s; its log ${log##*/} is shown below"
	ip netns pids "$ns" >"$tmp/pids"
	mapfile -t new <"$tmp/pids"
	[ "${#new[@]}" -gt 0 ] || die "$* left no process in $ns"
	pids+=("${new[@]}")
	[ -S "$sock" ] || die "$* made no socket $sock; its log ${log##*/} is shown below"
	note "running as pid ${new[*]}; its socket is $sock"
}

say "Start wgxdp in A and wireguard-go in B (each forks into the background)"
start "$ns_a" "$tmp/wgxdp.log" "$WGXDP" "$wg_a"
start "$ns_b" "$tmp/wireguard-go.log" "$WIREGUARD_GO" "$wg_b"
"$WGXDP" --version >"$tmp/wgxdp.version"
"$WIREGUARD_GO" --version >"$tmp/wireguard-go.version"
read -r version_a <"$tmp/wgxdp.version"
read -r _ version_b _ <"$tmp/wireguard-go.version"
note "$version_a and wireguard-go $version_b"

# --- 3. Keys and configuration -------------------------------------------------

say "Generate a key pair for each side"
wg genkey >"$tmp/a.key"
wg genkey >"$tmp/b.key"
wg pubkey <"$tmp/a.key" >"$tmp/a.pub"
wg pubkey <"$tmp/b.key" >"$tmp/b.pub"
read -r pub_a <"$tmp/a.pub"
read -r pub_b <"$tmp/b.pub"
read -r key_b <"$tmp/b.key"
note "A (wgxdp)        public key $pub_a"
note "B (wireguard-go) public key $pub_b"

say "Configure A with 'wg set' and B with 'wg setconf'"
inns "$ns_a" wg set "$wg_a" private-key "$tmp/a.key" listen-port 51820 \
	peer "$pub_b" endpoint 10.200.0.2:51821 allowed-ips 10.201.0.2/32,fd00:201::2/128
cat >"$tmp/b.conf" <<EOF
[Interface]
PrivateKey = $key_b
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
	local out=$tmp/ping.out
	show "$@" >"$out"
	run ip netns exec "$@" >>"$out" 2>&1 || { cat "$out"; die "ping failed (no answer within its -W/-w timeout): is the tunnel up? see the daemon logs below"; }
	sed -n '1p;/packets transmitted/p;/rtt/p' "$out" | sed '2,$s/^/        /'
}
ping_ok "$ns_a" ping -c 3 -i 0.2 -W 2 10.201.0.2
ping_ok "$ns_b" ping -c 3 -i 0.2 -W 2 10.201.0.1
ping_ok "$ns_a" ping -6 -c 3 -i 0.2 -W 2 fd00:201::2
ping_ok "$ns_b" ping -6 -c 3 -i 0.2 -W 2 fd00:201::1

# --- 5. Bulk data --------------------------------------------------------------

if command -v iperf3 >/dev/null; then
	say "Move 20 MB each way with iperf3 (TCP over the tunnel)"
	ip netns exec "$ns_b" iperf3 -s -B 10.201.0.2 </dev/null >"$tmp/iperf3-server.log" 2>&1 {stdout}>&- {stderr}>&- &
	server=$!
	pids+=("$server")
	# Wait up to 5 s for it to listen; give up at once if it exits.
	listening=
	for ((i = 0; i < 50; i++)); do
		alive "$server" || break
		if ip netns exec "$ns_b" ss -Hltn 'src 10.201.0.2 and sport = :5201' | grep -q .; then
			listening=1
			break
		fi
		sleep 0.1
	done
	if [ -z "$listening" ]; then
		alive "$server" || note "the iperf3 server (pid $server) exited"
		die "the iperf3 server is not listening on 10.201.0.2:5201 in B; its log iperf3-server.log is shown below"
	fi
	note "iperf3 server listening on 10.201.0.2:5201 in B (pid $server)"
	# Fail within seconds if the tunnel breaks: 3 s to connect, 5 s without
	# progress, 60 s in all.
	# (iperf3 takes --rcv-timeout only when the client receives, with -R.)
	iperf() {
		local out=$tmp/iperf3-client.out stall=--snd-timeout
		[ "${1:-}" = -R ] && stall=--rcv-timeout
		run timeout -k 2 60 ip netns exec "$ns_a" iperf3 -c 10.201.0.2 -n 20M -f m \
			--connect-timeout 3000 "$stall" 5000 "$@" >"$out" 2>&1 ||
			{ cat "$out"; die "iperf3 failed (or timed out); the logs are shown below"; }
		grep -E 'sender|receiver' "$out" | sed 's/^/        /'
	}
	note "A (wgxdp) sends to B (wireguard-go):"
	iperf
	note "B (wireguard-go) sends to A (wgxdp):"
	iperf -R
	note "(Throughput here is two userspace daemons sharing 2 CPUs; 'make bench' compares them properly.)"
else
	say "Move data with flood pings (iperf3 is not installed; 'make deps' installs it)"
	ping_ok "$ns_a" ping -q -f -c 5000 -s 1372 -W 2 -w 10 10.201.0.2
	ping_ok "$ns_b" ping -q -f -c 5000 -s 1372 -W 2 -w 10 10.201.0.1
fi

# --- 6. Show -------------------------------------------------------------------

say "What wg(8) says on each side"
inns "$ns_a" wg show "$wg_a" | sed '1!s/^/        /'
inns "$ns_b" wg show "$wg_b" | sed '1!s/^/        /'

exit
}
