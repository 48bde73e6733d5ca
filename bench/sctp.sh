#!/bin/bash
# bench/sctp.sh [BUILD_DIR] — export speed over SCTP (full reliability)
# beside UDP, on loopback, in the same run; and the time to fail over.
#
# 1. Throughput. One generated capture, metered with an immediate cache
#    (one record a packet, so export is the work), exported as IPFIX by
#    ipflowd to (a) UDP, received by nfcapd, and (b) SCTP over UDP
#    encapsulation, full reliability, received by sctp_recv (the project's
#    SCTP listener and decoder). ROUNDS rounds alternate the two; each
#    reports records/s over ipflowd's whole run (start to exit, drain
#    included). Medians are printed with their ratio (target: SCTP >= 0.5
#    of UDP), and the records each collector got (SCTP must lose none; UDP
#    may drop at the receiver, counted here, not hidden).
# 2. Fail-over. A paced replay to a primary behind udp_relay and a backup;
#    the relay is killed; the time from the kill to the first data message
#    at the backup, FO_ROUNDS times, default settings (heartbeat 500 ms,
#    fail-over 25 ms) and with --sctp-heartbeat 100; medians.
#
# Environment: PACKETS (default 1000000), ROUNDS (5), FO_ROUNDS (3), MTU
# (default 1500: messages of one MTU, as a router sends them).
set -u
BUILD=$(cd "${1:-build-gcc}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
PACKETS=${PACKETS:-1000000}
ROUNDS=${ROUNDS:-5}
FO_ROUNDS=${FO_ROUNDS:-3}
MTU=${MTU:-1500}
T=$(mktemp -d /tmp/ipflow-bench-sctp.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
for b in ipflowd ipflow-gen sctp_recv udp_relay; do
	[ -x "$BUILD/$b" ] || { echo "bench: $BUILD/$b not built" >&2; exit 1; }
done
command -v nfcapd >/dev/null && command -v nfdump >/dev/null || { echo "bench: needs nfdump (nfcapd)" >&2; exit 1; }
port() { python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
wait_file() { for i in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.05; done; return 1; }

echo "generating $PACKETS packets..."
"$BUILD/ipflow-gen" -q -o "$T/b.pcap" -n "$PACKETS" -c 20000 --v4-only || exit 1
echo "host: $(nproc) CPUs, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg); ipflowd -r (flat out) --cache-type immediate -v 10 --mtu $MTU"

: >"$T/udp.rates"
: >"$T/sctp.rates"
: >"$T/ratios"
for r in $(seq "$ROUNDS"); do
	# UDP to nfcapd
	up=$(port)
	rm -rf "$T/nf" && mkdir -p "$T/nf"
	nfcapd -b 127.0.0.1 -p "$up" -w "$T/nf" -t 3600 -B 16777216 >"$T/nf.log" 2>&1 &
	nfpid=$!
	PIDS+=("$nfpid")
	sleep 0.5
	t0=$(now)
	"$BUILD/ipflowd" -r "$T/b.pcap" --cache-type immediate -v 10 --mtu "$MTU" -S none -e "udp:127.0.0.1:$up" --stats \
		>"$T/udp.out" 2>"$T/udp.err" || { echo "ipflowd (udp) failed"; cat "$T/udp.err"; exit 1; }
	t1=$(now)
	sleep 0.5
	kill -TERM "$nfpid"; wait "$nfpid" 2>/dev/null
	recs=$(sed -n 's/^ *\([0-9]*\) flows exported in [0-9]* udp datagrams/\1/p' "$T/udp.out" | head -n1)
	got=$(nfdump -R "$T/nf" -I 2>/dev/null | awk '/^Flows:/ { print $2; exit }')
	rate=$(awk -v n="$recs" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
	echo "$rate" >>"$T/udp.rates"
	echo "round $r: UDP  $recs records in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s = $rate rec/s; nfcapd got ${got:-?}"
	# SCTP to sctp_recv
	rm -f "$T/sp"
	"$BUILD/sctp_recv" -l 127.0.0.1:0 -p "$T/sp" -s "$T/sr.stats" 2>"$T/sr.err" &
	spid=$!
	PIDS+=("$spid")
	wait_file "$T/sp" || { echo "sctp_recv did not start"; exit 1; }
	sp=$(cat "$T/sp")
	t0=$(now)
	"$BUILD/ipflowd" -r "$T/b.pcap" --cache-type immediate -v 10 --mtu "$MTU" -S none -e "sctp:127.0.0.1:$sp" --stats \
		>"$T/sctp.out" 2>"$T/sctp.err" || { echo "ipflowd (sctp) failed"; cat "$T/sctp.err"; exit 1; }
	t1=$(now)
	sleep 0.3
	kill -TERM "$spid"; wait "$spid" 2>/dev/null
	recs=$(sed -n 's/^\([0-9]*\) flows exported in [0-9]* sctp messages./\1/p' "$T/sctp.out" | head -n1)
	dropped=$(sed -n 's/^\([0-9]*\) packets dropped due to lack of SCTP resources/\1/p' "$T/sctp.out" | head -n1)
	got=$(python3 -c "import json; print(json.load(open('$T/sr.stats'))['records'])")
	rate=$(awk -v n="$recs" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
	echo "$rate" >>"$T/sctp.rates"
	awk -v a="$rate" -v b="$(tail -n1 "$T/udp.rates")" 'BEGIN { printf "%.3f\n", a / b }' >>"$T/ratios"
	echo "round $r: SCTP $recs records in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s = $rate rec/s; sctp_recv got $got (lost $((recs - got)), dropped $dropped)"
	[ "$got" = "$recs" ] || echo "round $r: SCTP LOST RECORDS"
done
mu=$(median <"$T/udp.rates")
ms=$(median <"$T/sctp.rates")
echo
echo "median over $ROUNDS rounds: UDP $mu rec/s, SCTP (full reliability) $ms rec/s, SCTP/UDP $(awk -v a="$ms" -v b="$mu" 'BEGIN { printf "%.2f", a / b }')" \
	"(median of the per-round ratios $(median <"$T/ratios"), range $(sort -g "$T/ratios" | head -n1)-$(sort -g "$T/ratios" | tail -n1))"

# --- fail-over time ---
fo_run() { # EXTRA_FLAGS...
	local pp bp rp t_kill first
	rm -f "$T/pp" "$T/bp" "$T/rp" "$T/b.msgs"
	"$BUILD/sctp_recv" -l 127.0.0.1:0 -p "$T/pp" 2>/dev/null & PIDS+=("$!")
	local ppid=$!
	"$BUILD/sctp_recv" -l 127.0.0.1:0 -p "$T/bp" -m "$T/b.msgs" 2>/dev/null & PIDS+=("$!")
	local bpid=$!
	wait_file "$T/pp"; wait_file "$T/bp"
	pp=$(cat "$T/pp"); bp=$(cat "$T/bp")
	"$BUILD/udp_relay" -l 0 -t "127.0.0.1:$pp" -p "$T/rp" </dev/null 2>/dev/null & PIDS+=("$!")
	local rpid=$!
	wait_file "$T/rp"; rp=$(cat "$T/rp")
	"$BUILD/ipflowd" -r "$T/c.pcap" --speed 1 --inactive 2 --active 10 -v 10 --flush-ms 100 -S none \
		-e "sctp:127.0.0.1:$pp" --sctp-udp-port "$rp" --sctp-backup "127.0.0.1:$bp" "$@" >/dev/null 2>&1 &
	local ipid=$!
	PIDS+=("$ipid")
	sleep 3
	t_kill=$(date +%s%3N)
	kill -KILL "$rpid"
	sleep 4
	first=$(awk -F'\t' '$3 != "" && $3 !~ /^#/ && $3 > 0 { print $13 }' "$T/b.msgs" | sort -n | head -n1)
	kill -KILL "$ipid" "$ppid" "$bpid" 2>/dev/null
	wait "$ipid" "$ppid" "$bpid" 2>/dev/null
	echo $((first - t_kill))
}
[ "$FO_ROUNDS" -gt 0 ] || exit 0
"$BUILD/ipflow-gen" -q -o "$T/c.pcap" -n 150000 -c 5000 --flows-per-sec 400 --inactive 2 --active 10 || exit 1
: >"$T/fo1"
: >"$T/fo2"
for r in $(seq "$FO_ROUNDS"); do
	a=$(fo_run)
	b=$(fo_run --sctp-heartbeat 100)
	echo "fail-over round $r: ${a} ms (defaults: heartbeat 500 ms, fail-over 25 ms), ${b} ms (heartbeat 100 ms)"
	echo "$a" >>"$T/fo1"
	echo "$b" >>"$T/fo2"
done
echo "median fail-over time (kill of the primary's path to the first data at the backup):" \
	"$(median <"$T/fo1") ms with defaults, $(median <"$T/fo2") ms with heartbeat 100 ms"
