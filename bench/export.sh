#!/usr/bin/env bash
# bench/export.sh — export speed (issue 3). A benchmark, never a test:
# see bench/README.md.
#
#   bash bench/export.sh           # or: RUNS=5 bash bench/export.sh
#
# 1. Flows encoded per second per format on one core (bench/export_micro.c:
#    exporter_add into a transport that only counts: packing, encoding,
#    headers and sequence numbers, no system calls).
# 2. End to end on the benchmark capture: ipflowd metering it and exporting
#    v9 and IPFIX over loopback UDP to nfcapd, beside softflowd doing the
#    same with the same file, each to its own nfcapd, in the same run;
#    nfcapd's count of records received against what the exporter says it
#    sent (zero loss, and nfcapd's sequence errors), and export's cost:
#    ipflowd's time with export against its time metering alone, each
#    export run paired with a metering-only run beside it, after a
#    warm-up run, in alternating order (the median of the pairs, and the
#    ratio of the medians; an even RUNS balances the order), and the same
#    export to a socket nobody reads (the sender's side alone); then perf
#    samples of one run (export_share.py).
# The exporters are pinned to one core ($CPU), the collectors to another
# (COLLECTOR_CPU, default 0). At the end of the file ipflowd exports the
# ~900 k flows still in its cache in well under a second; nfcapd keeps up
# only with a receive buffer that holds the burst, so each nfcapd asks for
# COLLECTOR_RMEM bytes (default 256 MiB) and, as root, the script raises
# net.core.rmem_max to that for the run and puts the old value back at
# exit (COLLECTOR_RMEM=0: leave the system alone, 16 MiB asked for, and
# expect losses that are the collector's, shown by its sequence errors).
. "$(dirname "$0")/lib.sh"
need nfcapd nfdump
COLLECTOR_CPU=${COLLECTOR_CPU:-0}
COLLECTOR_RMEM=${COLLECTOR_RMEM:-268435456}
build
W=$(mktemp -d "${TMPDIR:-/tmp}/ipflow-bench-export.XXXXXX")
NFPID=""
OLD_RMEM=""
SINKPID=""
trap '[ -n "$SINKPID" ] && kill $SINKPID 2>/dev/null; [ -n "$NFPID" ] && kill $NFPID 2>/dev/null; [ -n "$OLD_RMEM" ] && sysctl -qw net.core.rmem_max="$OLD_RMEM"; rm -rf "$W"' EXIT
RCVBUF=16777216
if [ "$COLLECTOR_RMEM" != 0 ]; then
	RCVBUF=$COLLECTOR_RMEM
	cur=$(cat /proc/sys/net/core/rmem_max)
	if [ "$cur" -lt "$COLLECTOR_RMEM" ]; then
		if [ "$(id -u)" = 0 ] && sysctl -qw net.core.rmem_max="$COLLECTOR_RMEM"; then
			OLD_RMEM=$cur
			echo "net.core.rmem_max raised from $cur to $COLLECTOR_RMEM for this run (restored at exit)"
		else
			echo "net.core.rmem_max is $cur: nfcapd gets at most that (run as root, or COLLECTOR_RMEM=0)"
		fi
	fi
fi

echo "== encode speed, one core (bench/export_micro.c) =="
cc -O2 -std=c11 -D_GNU_SOURCE -I"$SRC/src" "$SRC/bench/export_micro.c" "$BUILD_DIR/libipflowcore.a" \
	$(pkg-config --libs libpcap usrsctp libzstd liblz4 libcurl rdkafka libprotobuf-c) -lpthread -lm -o "$W/export_micro"
taskset -c "$CPU" "$W/export_micro"

capture
echo
echo "== end to end: $PCAP =="
echo "   $PACKETS packets, $TRUTH_KEYS flow keys; $RUNS runs each, medians; exporter on cpu $CPU, nfcapd on cpu $COLLECTOR_CPU ($RCVBUF-byte buffer)"

free_port() { python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# collector_start: nfcapd on a fresh port and directory; sets PORT, NFDIR, NFPID
collector_start() {
	PORT=$(free_port)
	NFDIR=$(mktemp -d "$W/nf.XXXXXX")
	taskset -c "$COLLECTOR_CPU" nfcapd -b 127.0.0.1 -p "$PORT" -w "$NFDIR" -B "$RCVBUF" -I bench >"$NFDIR.log" 2>&1 &
	NFPID=$!
	for _ in $(seq 100); do grep -q Startup "$NFDIR.log" && return 0; sleep 0.05; done
	echo "bench: nfcapd did not start" >&2
	exit 1
}

# collector_stop: sets GOT (records nfcapd received), SEQERR
collector_stop() {
	sleep 0.5 # the last datagrams out of the socket buffer
	kill -TERM "$NFPID"
	wait "$NFPID" 2>/dev/null || true
	NFPID=""
	# one line per file rotation (every 5 min): add them up
	GOT=$(sed -n "s/.*Ident: 'bench' Flows: \([0-9]*\),.*/\1/p" "$NFDIR.log" | awk '{ s += $1 } END { print s + 0 }')
	SEQERR=$(sed -n "s/.*Sequence Errors: \([0-9]*\),.*/\1/p" "$NFDIR.log" | awk '{ s += $1 } END { print s + 0 }')
	rm -rf "$NFDIR"
}

printf '\n%-22s %10s %10s %12s %12s %10s %s\n' "exporter" "packets/s" "wall s" "sent" "received" "seq.errors" "lost"
# a UDP socket on loopback that is never read (the kernel drops what overflows)
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
time.sleep(86400)' >"$W/sink.port" &
SINKPID=$!
for _ in $(seq 100); do [ -s "$W/sink.port" ] && break; sleep 0.05; done
SINKPORT=$(cat "$W/sink.port")

# meter_run: ipflowd metering alone; appends to meter_wall, meter_cpu, meter_user; sets mcpu
meter_run() {
	timed "$W/meter.$v.$r" "$IPFLOWD" -r "$PCAP" --entries "$ENTRIES" -S none --stats
	meter_wall="$meter_wall $WALL"
	meter_cpu="$meter_cpu $CPUS"
	meter_user="$meter_user $UTIME"
	mcpu=$CPUS
}

for v in 9 10; do
	name=v$v
	[ $v = 10 ] && name=IPFIX
	ow="" oc="" ou="" sw="" sc="" olost=0 slost=0 oseq=0 sseq=0
	meter_wall="" meter_cpu="" meter_user="" pcost="" pcost_sink=""
	for r in $(seq "$RUNS"); do
		# Metering alone beside each export run, as a pair that sees the
		# same machine (page cache, free huge pages, other load): export's
		# cost is then not the drift between the benchmark's start and
		# end. The first ipflowd run after softflowd's is slower whatever
		# it does (softflowd's memory given back, the page cache): one
		# warm-up run that is not counted, then the pair in alternating
		# order (meter first in odd runs, export first in even ones).
		timed "$W/warm.$v.$r" "$IPFLOWD" -r "$PCAP" --entries "$ENTRIES" -S none --stats
		if [ $((r % 2)) = 1 ]; then
			meter_run
		fi
		collector_start
		timed "$W/ipflowd.$v.$r" "$IPFLOWD" -r "$PCAP" --entries "$ENTRIES" -S none --stats -v "$v" -e "udp:127.0.0.1:$PORT"
		ow="$ow $WALL"
		oc="$oc $CPUS"
		ou="$ou $UTIME"
		xcpu=$CPUS
		collector_stop
		# the same export to a socket nobody reads: the sender's own work,
		# without the local collector's (its wake-ups, its core, its memory
		# traffic); the kernel drops what the full buffer cannot take
		timed "$W/sink.$v.$r" "$IPFLOWD" -r "$PCAP" --entries "$ENTRIES" -S none --stats -v "$v" -e "udp:127.0.0.1:$SINKPORT"
		scpu=$CPUS
		if [ $((r % 2)) = 0 ]; then
			meter_run
		fi
		pcost="$pcost $(awk -v a="$xcpu" -v b="$mcpu" 'BEGIN { printf "%.2f", (a - b) * 100 / b }')"
		pcost_sink="$pcost_sink $(awk -v a="$scpu" -v b="$mcpu" 'BEGIN { printf "%.2f", (a - b) * 100 / b }')"
		sent=$(awk '/ flows exported in / { print $1; exit }' "$W/ipflowd.$v.$r")
		olost=$((olost + sent - GOT))
		oseq=$((oseq + SEQERR))
		osent=$sent ogot=$GOT
		collector_start
		timed "$W/softflowd.$v.$r" softflowd -r "$PCAP" -m "$ENTRIES" -6 -v "$v" -n "127.0.0.1:$PORT" -p "$W/softflowd.pid"
		sw="$sw $WALL"
		sc="$sc $CPUS"
		collector_stop
		sent=$(awk '/^Flows exported: / { gsub(/\(/, "", $4); print $4 }' "$W/softflowd.$v.$r")
		slost=$((slost + sent - GOT))
		sseq=$((sseq + SEQERR))
		ssent=$sent sgot=$GOT
		echo "  run $r $name: ipflowd $(mpps "$PACKETS" "$(echo "$ow" | awk '{ print $NF }')") Mpps, softflowd $(mpps "$PACKETS" "$WALL") Mpps" >&2
	done
	owm=$(echo "$ow" | median)
	ocm=$(echo "$oc" | median)
	oum=$(echo "$ou" | median)
	swm=$(echo "$sw" | median)
	scm=$(echo "$sc" | median)
	mu=$(echo "$meter_user" | median)
	mw=$(echo "$meter_wall" | median)
	mc=$(echo "$meter_cpu" | median)
	printf '%-22s %9sM %10s %12s %12s %10s %s\n' "ipflowd (meter only)" "$(mpps "$PACKETS" "$mw")" "$mw" - - - -
	printf '%-22s %9sM %10s %12s %12s %10s %s\n' "ipflowd $name" "$(mpps "$PACKETS" "$owm")" "$owm" "$osent" "$ogot" "$oseq" "$olost over $RUNS runs"
	printf '%-22s %9sM %10s %12s %12s %10s %s\n' "softflowd $name" "$(mpps "$PACKETS" "$swm")" "$swm" "$ssent" "$sgot" "$sseq" "$slost over $RUNS runs"
	echo "  $name: ipflowd / softflowd end to end $(ratio "$swm" "$owm")x (target >= 5x);" \
		"export cost $(awk -v a="$owm" -v b="$mw" 'BEGIN { printf "%.1f", (a - b) * 100 / b }')% of metering wall time," \
		"$(awk -v a="$ocm" -v b="$mc" 'BEGIN { printf "%.1f", (a - b) * 100 / b }')% of its CPU time," \
		"$(awk -v a="$oum" -v b="$mu" 'BEGIN { printf "%.1f", (a - b) * 100 / b }')% of its user time;" \
		"median of each run's own pair: $(echo "$pcost" | median)% of CPU time (target < 10%)"
	echo "  export cost of CPU time, each run (its pair):$pcost %"
	echo "  the same export to a socket nobody reads: median $(echo "$pcost_sink" | median)% (each run:$pcost_sink %)"
	echo "  per CPU second: ipflowd $(mpps "$PACKETS" "$ocm") M, softflowd $(mpps "$PACKETS" "$scm") M packets, $(ratio "$scm" "$ocm")x"
	echo "  wall seconds, each run: ipflowd$ow; softflowd$sw; ipflowd meter only$meter_wall"
	echo "  CPU seconds, each run: ipflowd$oc; softflowd$sc; ipflowd meter only$meter_cpu"
done

# Export's share from perf samples of one run per format (bench/export_share.py):
# both sides in one run, so no drift between runs; the timed pairs above
# are the cross-check.
if command -v perf >/dev/null && perf record -q -o "$W/perf.probe" true 2>/dev/null; then
	echo
	echo "== export's share of ipflowd's CPU, perf samples of one run each =="
	nm --defined-only "$BUILD_DIR"/CMakeFiles/ipflowcore.dir/src/export/*.o \
		"$BUILD_DIR"/CMakeFiles/ipflowcore.dir/src/transport/*.o 2>/dev/null |
		awk '$2 ~ /^[tT]$/ { sub(/\..*/, "", $3); print $3 }' | sort -u >"$W/export.names"
	for v in 9 10; do
		name=v$v
		[ $v = 10 ] && name=IPFIX
		collector_start
		taskset -c "$CPU" perf record -q -g -o "$W/perf.$v" "$IPFLOWD" -r "$PCAP" --entries "$ENTRIES" -S none \
			-v "$v" -e "udp:127.0.0.1:$PORT" >/dev/null 2>&1 || { echo "bench: perf record failed" >&2; exit 1; }
		collector_stop
		echo "  $name:"
		perf script -i "$W/perf.$v" -F ip,sym,dso 2>/dev/null | python3 "$SRC/bench/export_share.py" "$W/export.names" |
			sed 's/^/    /'
	done
else
	echo "(perf not usable here: no sample-based export share)"
fi
