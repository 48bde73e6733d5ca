#!/bin/sh
# Install what ipflow needs to build and test, from Debian 12's archive.
# Usage: scripts/deps.sh [build|test]   (as root; a no-op for what is present)
set -e
BUILD="build-essential cmake ninja-build pkg-config libpcap-dev libxxhash-dev libcmocka-dev libusrsctp-dev libzstd-dev liblz4-dev zlib1g-dev libcurl4-openssl-dev librdkafka-dev libprotobuf-c-dev protobuf-c-compiler"
TEST="clang libclang-rt-dev python3 tshark tcpreplay softflowd nfdump pmacct fprobe libfixbuf-tools clickhouse-server clickhouse-client kcat protobuf-compiler python3-protobuf iproute2 iptables time zstd"
want="$BUILD"
[ "${1:-build}" = test ] && want="$BUILD $TEST"
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: need root to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no, quietly.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
