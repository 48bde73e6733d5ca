#!/bin/bash
# bench/fnf.sh [BUILD_DIR] — what one Flexible NetFlow monitor costs beside
# the main cache (issue 7: main + two aggregation caches + one FNF monitor
# at most +30 % over the main cache alone; this measures the FNF part).
#
# One generated capture, metered by ipflowd -r (file, packet time, as fast
# as it goes) in two configurations, interleaved RUNS times each:
#   main     the main cache (ip flow ingress), v9 export to a loopback sink
#   main+fnf the same, plus one monitor on the interface's IPv4 packets with
#            a typical record (5-tuple, ToS, TCP flags, 64-bit counters,
#            absolute first/last), IPFIX export to a second sink
# The sinks are UDP sockets nobody reads (the kernel drops what overflows;
# the sender sees no error). Reported: medians of wall and user+sys CPU
# time, packets per second, and main+fnf / main. With BASE=path/to/ipflowd
# (another build, e.g. the commit before FNF), its main-only run is
# measured in the same rounds: the main cache's own speed, before/after.
#
# Environment: PACKETS (2000000), CONC sessions at once (20000), RUNS (5),
# SEED (1), KEEP=1 keeps the work directory. Needs python3 for the sinks.
set -eu
BUILD=${1:-build-gcc}
IPFLOWD=$BUILD/ipflowd
GEN=$BUILD/ipflow-gen
PACKETS=${PACKETS:-2000000}
CONC=${CONC:-20000}
RUNS=${RUNS:-5}
SEED=${SEED:-1}
[ -x "$IPFLOWD" ] && [ -x "$GEN" ] || { echo "build $BUILD first (ipflowd, ipflow-gen)" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/ipflow-bench-fnf.XXXXXX")
. "$(dirname "$0")/sinks.sh"

echo "generating $PACKETS packets, $CONC sessions at once (seed $SEED) ..."
"$GEN" -q -o "$T/bench.pcap" -n "$PACKETS" -c "$CONC" -s "$SEED"
sink main
sink fnf
PM=$(cat "$T/main.port")
PF=$(cat "$T/fnf.port")
cat >"$T/main.conf" <<EOF
ip flow-cache entries 262144
ip flow-export version 9
ip flow-export destination 127.0.0.1 $PM
interface bench0
 ipflow pcap $T/bench.pcap
 ip flow ingress
ipflow control-socket none
EOF
cat "$T/main.conf" - >"$T/fnf.conf" <<EOF
flow record R
 match ipv4 source address
 match ipv4 destination address
 match transport source-port
 match transport destination-port
 match ipv4 protocol
 match ipv4 tos
 collect transport tcp flags
 collect counter bytes long
 collect counter packets long
 collect timestamp absolute first
 collect timestamp absolute last
flow exporter X
 destination 127.0.0.1
 transport udp $PF
 export-protocol ipfix
flow monitor M
 record R
 exporter X
 cache entries 262144
interface bench0
 ip flow monitor M input
EOF

# one NAME BINARY CONF: a run; appends "wall cpu" to $T/NAME.times
one() {
	/usr/bin/time -f "%e %U %S" -o "$T/t" "$2" -f "$3" --stats >"$T/$1.out" 2>"$T/$1.err" ||
		{ echo "$1 failed:"; cat "$T/$1.err"; exit 1; }
	awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' "$T/t" >>"$T/$1.times"
}

for r in $(seq "$RUNS"); do
	one main "$IPFLOWD" "$T/main.conf"
	one fnf "$IPFLOWD" "$T/fnf.conf"
	[ -n "${BASE:-}" ] && one base "$BASE" "$T/main.conf"
	echo "round $r/$RUNS done"
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
report() { # NAME LABEL
	local w c
	w=$(cut -d' ' -f1 "$T/$1.times" | median)
	c=$(cut -d' ' -f2 "$T/$1.times" | median)
	printf "%-34s wall %7.3f s  cpu %7.3f s  %6.2f Mpps (cpu)\n" "$2" "$w" "$c" \
		"$(awk -v n="$PACKETS" -v c="$c" 'BEGIN { print n / c / 1e6 }')"
	echo "$w $c" >"$T/$1.med"
}
echo
echo "ipflowd -r, $PACKETS packets, medians of $RUNS runs:"
report main "main cache"
report fnf "main cache + 1 FNF monitor"
[ -n "${BASE:-}" ] && report base "main cache, BASE build"
read -r mw mc <"$T/main.med"
read -r fw fc <"$T/fnf.med"
awk -v mw="$mw" -v mc="$mc" -v fw="$fw" -v fc="$fc" 'BEGIN {
	printf "main+fnf / main: wall %.3f, cpu %.3f (the FNF monitor costs %+.1f %% cpu)\n", fw / mw, fc / mc, (fc / mc - 1) * 100 }'
if [ -n "${BASE:-}" ]; then
	read -r bw bc <"$T/base.med"
	awk -v mw="$mw" -v mc="$mc" -v bw="$bw" -v bc="$bc" 'BEGIN {
		printf "main (this build) / main (BASE): wall %.3f, cpu %.3f\n", mw / bw, mc / bc }'
fi
grep '^Flow monitor\|^Records exported' "$T/fnf.out"
