#!/bin/sh
# Installs what the integration tests use, when missing and when we can
# (root on Debian). Without root the tests that need these skip.
set -e
need=""
command -v wg >/dev/null 2>&1 || need="$need wireguard-tools"
command -v ip >/dev/null 2>&1 || need="$need iproute2"
command -v ping >/dev/null 2>&1 || need="$need iputils-ping"
command -v iperf3 >/dev/null 2>&1 || need="$need iperf3"
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "deps: missing$need (not root or no apt-get): tests that need them will skip" >&2
	exit 0
fi
echo "deps: installing$need" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends $need >/dev/null
