#!/bin/bash
# bench/store.sh [BUILD_DIR] — the file store on one core: records per second
# written through the dir sink (encode, shuffle, zstd, write, fsync, rename)
# and read back by the store reader, and bytes per record on disk; beside
# zstd's own speed and size on the same record bytes, unshuffled and
# shuffled (zstd -b, in the same run). Median of RUNS (5) runs each.
#
# Two inputs: "fixture" (tests/unit/store_fixture.h: fields drawn at random
# from pools, 5 exporters — harder to compress than real traffic) and
# "ipfix" (ipflowd's IPFIX export of an ipflow-gen capture, decoded: the
# records a collector would store, repeated to N).
#
# Environment: N records per run (2000000), RUNS (5), OPTS sink options
# (",level=1,block=128" = the defaults), KEEP=1 keeps the work directory.
set -eu
cd "$(dirname "$0")/.."
B=$(cd "${1:-build-gcc}" && pwd)
N=${N:-2000000}
RUNS=${RUNS:-5}
OPTS=${OPTS:-}
W=$(mktemp -d "${TMPDIR:-/tmp}/ipflow-bench-store.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$W"' EXIT
command -v zstd >/dev/null || { echo "bench/store.sh: zstd (the CLI) is needed" >&2; exit 1; }

libs=$(pkg-config --libs libpcap usrsctp libzstd liblz4 zlib libcurl rdkafka libprotobuf-c)
cc -O2 -std=c11 -D_GNU_SOURCE -Isrc -Itests/unit bench/store_bench.c "$B/libipflowcore.a" $libs -lpthread -lm \
	-o "$W/store_bench"

"$B/ipflow-gen" -q -o "$W/mix.pcap" -n 1000000 -c 5000 -s 7 --start-time 1700000000
"$B/ipflowd" -q -r "$W/mix.pcap" -v 10 -e "file:$W/mix.ipfix"

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "file store, $N records a run, median of $RUNS runs (one core; $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
printf "%-8s %12s %12s %9s | %14s %9s | %14s %9s\n" input "write rec/s" "read rec/s" "B/record" \
	"zstd-1 rows/s" "B/record" "zstd-1 shuf/s" "B/record"
for src in fixture ipfix; do
	s=$src
	[ $src = ipfix ] && s=$W/mix.ipfix
	: >"$W/w" && : >"$W/r" && : >"$W/b" && : >"$W/wc" && : >"$W/rc"
	for i in $(seq "$RUNS"); do
		rm -rf "$W/d"
		"$W/store_bench" write "$W/d" "$s" "$N" "$OPTS" >"$W/out"
		awk '{ print $4 }' "$W/out" >>"$W/w"
		awk '{ print $5 }' "$W/out" >>"$W/b"
		awk '{ print $6 }' "$W/out" >>"$W/wc"
		sync
		"$W/store_bench" read "$W/d" >"$W/out"
		awk '{ print $4 }' "$W/out" >>"$W/r"
		awk '{ print $5 }' "$W/out" >>"$W/rc"
	done
	# zstd alone on the same bytes, cut into the store's blocks (963 rows,
	# each compressed on its own): the rows as the store encodes them, and
	# shuffled per block as it compresses them.
	"$W/store_bench" rows "$W/rows" "$s" "$N" >/dev/null
	zb() { zstd -b1 -i3 -B130968 "$1" 2>&1 | tr '\r' '\n' | grep 'MB/s,' | tail -1; }
	zr=$(zb "$W/rows")
	zs=$(zb "$W/rows.shuf")
	# " =-rows : 272000000 -> 63443201 (x4.287),  410.5 MB/s,  1523.4 MB/s"
	zr_speed=$(echo "$zr" | sed -n 's/.*), *\([0-9.]*\) MB\/s.*/\1/p')
	zs_speed=$(echo "$zs" | sed -n 's/.*), *\([0-9.]*\) MB\/s.*/\1/p')
	zr_size=$(echo "$zr" | sed -n 's/.*-> *\([0-9]*\) .*/\1/p')
	zs_size=$(echo "$zs" | sed -n 's/.*-> *\([0-9]*\) .*/\1/p')
	w=$(median <"$W/w")
	r=$(median <"$W/r")
	b=$(median <"$W/b")
	wc=$(median <"$W/wc")
	rc=$(median <"$W/rc")
	awk -v src=$src -v w="$w" -v r="$r" -v b="$b" -v wc="$wc" -v rc="$rc" -v zrs="$zr_speed" -v zss="$zs_speed" -v zrb="$zr_size" \
		-v zsb="$zs_size" -v n="$N" 'BEGIN {
		zr = zrs * 1e6 / 136; zs = zss * 1e6 / 136
		printf "%-8s %12.0f %12.0f %9.2f | %14.0f %9.2f | %14.0f %9.2f\n", src, w, r, b, zr, zrb / n, zs, zsb / n
		printf "%-8s per CPU second: write %.0f, read %.0f records\n", "", wc, rc
		printf "%-8s write = %.2f x zstd -1 alone on the shuffled rows; %.2f x its bytes/record (%.2f x unshuffled)\n",
			"", w / zs, b / (zsb / n), b / (zrb / n)
	}'
done
# Peer on disk size: nfcapd (nfdump 1.7) storing the same IPFIX export,
# sent over loopback UDP at 50 x capture speed (so it loses nothing), with
# its LZO (-z) and LZ4 (-y) compression; the store gets the same records.
fbytes() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
if command -v nfcapd >/dev/null && command -v nfdump >/dev/null; then
	for z in -z -y; do
		rm -rf "$W/nf" && mkdir "$W/nf"
		port=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		nfcapd $z -B 8000000 -b 127.0.0.1 -p "$port" -w "$W/nf" -t 3600 -P "$W/nf.pid" >/dev/null 2>&1 &
		sleep 1
		"$B/ipflowd" -q -r "$W/mix.pcap" -v 10 --speed 50 -e "udp:127.0.0.1:$port"
		sleep 1
		kill "$(cat "$W/nf.pid")"
		wait 2>/dev/null || true
		nfl=$(nfdump -R "$W/nf" -q -N -o csv -s proto/flows 2>/dev/null | awk -F, '$6 ~ /^[0-9]+$/ { s += $6 } END { print s + 0 }')
		nfb=$(fbytes "$W/nf")
		rm -rf "$W/d"
		"$W/store_bench" write "$W/d" "$W/mix.ipfix" "$nfl" "$OPTS" >/dev/null
		ours=$(fbytes "$W/d")
		awk -v z="$z" -v n="$nfl" -v nb="$nfb" -v ob="$ours" 'BEGIN {
			printf "nfcapd %s: %d flows, %.2f B/record; the store: %.2f B/record (%.2f x nfcapd)\n", z, n, nb / n, ob / n, ob / nb }'
	done
else
	echo "nfcapd/nfdump not installed: no peer size figure"
fi
echo "rerun: bench/store.sh ${1:-build-gcc}   (N=$N RUNS=$RUNS OPTS='$OPTS')"
