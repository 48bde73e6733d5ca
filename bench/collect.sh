#!/bin/bash
# bench/collect.sh — ipflow-collect's speed beside nfcapd, same datagrams,
# same run. Not a test: prints figures.
#
#   bench/collect.sh [BUILD_DIR] [RECORDS] [RUNS]     (defaults: build-gcc 2000000 3)
#
# Input: ipflow-gen writes a capture of RECORDS packets (IPv4, 96-byte
# snap length); ipflowd meters it with the immediate cache (one packet,
# one flow record) and exports v5, v9 and IPFIX messages (1500-byte MTU)
# to files (-e file:). bench/collect_send.c sends each file's messages
# once over loopback UDP, as fast as the receiver drains its socket and
# never past 4 MiB queued, so nothing is dropped for lack of buffer and
# the receiver always has a backlog: the figure is the receiver's own
# speed. Receivers, each pinned to one core (taskset) while the sender
# runs on another:
#   nfcapd -w DIR                        nfdump's collector, its default: binary files, uncompressed
#   nfcapd -y -w DIR                     the same, LZ4-compressed files (nfcapd's fast compressor)
#   recv_floor                           the floor: takes the datagrams off the socket as
#                                        ipflow-collect does (recvmmsg) and nothing else; its
#                                        CPU time is the kernel's receive path alone, which no
#                                        collector's code can remove (bench/recv_floor.c)
#   ipflow-collect -o null:              decode only (every record mapped and counted)
#   ipflow-collect -w DIR                decode and store: the default file store (LZ4)
#   ipflow-collect -w DIR,codec=zstd     the same, zstd level 1 (smaller files)
#   ipflow-collect -o jsonl:FILE         decode and write JSON lines (every field)
#   ipflow-collect -o csv:FILE           decode and write CSV (normalised fields)
# KINDS picks them (default "nfcapd nfcapd-lz4 null dir dir-zstd"; add csv jsonl).
# BASE=OTHER_BUILD_DIR adds "base-null base-dir": another build's
# ipflow-collect (an older commit, say) in the same run, its store read
# by this build's `ipflow report`.
# Each is run RUNS times per format, in rounds that run each receiver
# once; the median is printed: records per
# second of wall time (while the sender ran) and per CPU second of the
# receiver (perf stat task-clock, all threads), peak RSS (VmHWM), bytes per record
# on disk, and whether every record arrived and was stored — counted from
# what is on disk where there is a store (nfdump -I over nfcapd's files,
# `ipflow report -w DIR --format json` over ipflow's), else from
# ipflow-collect's own counters. Like is compared with like: the ratio is
# against nfcapd's compressed store (-y, LZ4) in the same run, and in the
# last column against nfcapd's default (uncompressed).
#
# Needs: nfcapd/nfdump, perf, taskset, cc (Debian: nfdump, linux-perf,
# util-linux, build-essential). The inputs are cached in
# ${BENCH_DIR:-/tmp/ipflow-bench-collect}.
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build-gcc}
BASE=${BASE:-}
KINDS=${KINDS:-floor nfcapd nfcapd-lz4 null dir dir-zstd${BASE:+ base-null base-dir}}
N=${2:-2000000}
RUNS=${3:-3}
BENCH=${BENCH_DIR:-/tmp/ipflow-bench-collect}
mkdir -p "$BENCH"
for b in nfcapd nfdump perf taskset cc "$BUILD/ipflow-collect" "$BUILD/ipflowd" "$BUILD/ipflow-gen"; do
	command -v "$b" >/dev/null || { echo "collect.sh: $b missing" >&2; exit 1; }
done
W=$(mktemp -d /tmp/ipflow-bench-collect-run.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -KILL $p 2>/dev/null; done; rm -rf "$W"' EXIT
CORES=$(nproc)
RCORE=$((CORES > 1 ? 1 : 0))
SCORE=0

cc -O2 -o "$W/send" bench/collect_send.c || exit 1
cc -O2 -o "$W/floor" bench/recv_floor.c || exit 1

PCAP=$BENCH/in-$N.pcap
if [ ! -s "$PCAP" ]; then
	echo "generating $N packets ..."
	"$BUILD/ipflow-gen" -q -o "$PCAP" -n "$N" -c 20000 -s 7 --v4-only --snaplen 96 || exit 1
fi
for v in 5 9 10; do
	f=$BENCH/exp-$N.v$v
	if [ ! -s "$f" ] || [ "$f" -ot "$BUILD/ipflowd" ]; then
		echo "exporting v$v ..."
		"$BUILD/ipflowd" -r "$PCAP" --cache-type immediate -e "file:$f" -v $v --stats >"$f.stats" 2>&1 || exit 1
	fi
done

port() { python3 -c 'import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# The receiver's CPU time: perf stat's task-clock (the scheduler's own
# count, in ns, of every thread, shutdown included), not the 10 ms ticks
# of getrusage, which miss most of a receiver that sleeps between bursts.
TIMER="perf stat -x, -o $W/perf -e task-clock --"

# run_one KIND FORMAT: one receiver run; prints "records wall_s cpu_s rss_kb lost"
run_one() {
	local kind=$1 v=$2 p rpid line recs sent secs
	local file=$BENCH/exp-$N.v$v
	local want
	want=$(sed -n 's/^ *\([0-9]*\) flows exported in.*/\1/p' "$file.stats" | head -n 1)
	p=$(port)
	rm -rf "$W/nfd" "$W/store"
	case $kind in
	floor)
		$TIMER taskset -c $RCORE "$W/floor" "$p" 67108864 >"$W/rx.out" 2>&1 &
		;;
	nfcapd | nfcapd-lz4)
		local z=
		[ "$kind" = nfcapd-lz4 ] && z=-y
		mkdir -p "$W/nfd"
		$TIMER taskset -c $RCORE nfcapd $z -w "$W/nfd" -p "$p" -b 127.0.0.1 -B 67108864 \
			>"$W/rx.out" 2>&1 &
		;;
	*)
		local sink=(-o null:) bin=$BUILD/ipflow-collect
		case $kind in base-*) bin=$BASE/ipflow-collect ;; esac
		[ "$kind" = jsonl ] && sink=(-o "jsonl:$W/out.jsonl")
		[ "$kind" = csv ] && sink=(-o "csv:$W/out.csv")
		[ "${kind#base-}" = dir ] && sink=(-w "$W/store")
		[ "$kind" = dir-zstd ] && sink=(-w "$W/store,codec=zstd")
		$TIMER taskset -c $RCORE "$bin" -q -l "udp:127.0.0.1:$p" \
			--rcvbuf 67108864 "${sink[@]}" --stats >"$W/rx.out" 2>&1 &
		;;
	esac
	local tpid=$!
	PIDS+=("$tpid")
	sleep 0.5
	rpid=$(pgrep -P "$tpid" | head -n 1)
	line=$(taskset -c $SCORE "$W/send" "$file" "$p" 4194304) || return 1
	secs=${line##* }
	local rss
	rss=$(awk '/^VmHWM:/ {print $2}' "/proc/$rpid/status")
	kill -TERM "$rpid"
	wait "$tpid"
	local cpu
	cpu=$(awk -F, '$3 == "task-clock" || $3 ~ /^task-clock/ {print $1 / 1000}' "$W/perf")
	local disk=0
	if [ "$kind" = floor ]; then
		# every datagram taken: the records in them all were
		recs=0
		[ "$(awk '{print $2}' "$W/rx.out")" = "$(echo "$line" | awk '{print $2}')" ] && recs=$want
	elif [ "${kind%-lz4}" = nfcapd ]; then
		recs=$(nfdump -R "$W/nfd" -I 2>/dev/null | sed -n 's/^Flows: *//p')
		disk=$(du -sb "$W/nfd" | cut -f1)
	elif [ "${kind#base-}" = dir ] || [ "$kind" = dir-zstd ]; then
		recs=$("$BUILD/ipflow" report -w "$W/store" --format json 2>/dev/null |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["totals"]["flows"])')
		disk=$(du -sb "$W/store" | cut -f1)
	else
		recs=$(sed -n 's/^Totals: .* records=\([0-9]*\) .*/\1/p' "$W/rx.out")
		local kd
		kd=$(sed -n 's/^Kernel drops (all UDP listeners): //p' "$W/rx.out")
		[ "${kd:-0}" = 0 ] || recs="$recs(kernel drops $kd)"
	fi
	[ -f "$W/out.jsonl" ] && disk=$(stat -c %s "$W/out.jsonl")
	[ -f "$W/out.csv" ] && disk=$(stat -c %s "$W/out.csv")
	rm -rf "$W/out.jsonl" "$W/out.csv" "$W/nfd" "$W/store"
	echo "${recs:-0} $secs ${cpu:-0} ${rss:-0} $want $disk"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

printf '\n%s records per format, %s runs each, receiver on core %s, sender on core %s (%s cores, load %s)\n' \
	"$N" "$RUNS" "$RCORE" "$SCORE" "$CORES" "$(cut -d' ' -f1 /proc/loadavg)"
printf '%-8s %-18s %10s %12s %12s %10s %7s %8s %8s %s\n' format receiver records "rec/s wall" "rec/s CPU" "peak RSS" "B/rec" "vs -y" "vs nfcapd" "all stored"
for v in 5 9 10; do
	declare -A CPU=()
	# Rounds: every receiver once per round, so a change in the machine's
	# load (shared, noisy) falls on all of them alike, not on one.
	for kind in $KINDS; do : >"$W/res.$kind"; done
	for r in $(seq 1 "$RUNS"); do
		for kind in $KINDS; do
			run_one "$kind" "$v" >>"$W/res.$kind" || { echo "run failed ($kind v$v)"; exit 1; }
		done
	done
	for kind in $KINDS; do
		cp "$W/res.$kind" "$W/res"
		want=$(awk '{print $5}' "$W/res" | head -n 1)
		recs=$(awk '{print $1}' "$W/res" | sort | uniq | paste -sd/)
		wall=$(awk '{print $1 / $2}' "$W/res" | median)
		cpu=$(awk '{print ($3 > 0) ? $1 / $3 : 0}' "$W/res" | median)
		rss=$(awk '{print $4}' "$W/res" | median)
		bpr=$(awk '{print ($1 > 0) ? $6 / $1 : 0}' "$W/res" | median)
		CPU[$kind]=$cpu
		ok=yes
		[ "$recs" = "$want" ] || ok="NO: got $recs of $want"
		case $kind in
		floor) name="kernel receive" ;;
		nfcapd) name="nfcapd" ;;
		nfcapd-lz4) name="nfcapd -y (LZ4)" ;;
		null) name="ipflow -o null:" ;;
		dir) name="ipflow -w (LZ4)" ;;
		dir-zstd) name="ipflow -w zstd" ;;
		base-null) name="BASE -o null:" ;;
		base-dir) name="BASE -w" ;;
		csv) name="ipflow -o csv:" ;;
		jsonl) name="ipflow -o jsonl:" ;;
		esac
		rz=$(awk -v a="$cpu" -v b="${CPU[nfcapd-lz4]:-0}" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else printf "-" }')
		rp=$(awk -v a="$cpu" -v b="${CPU[nfcapd]:-0}" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else printf "-" }')
		printf '%-8s %-18s %10s %12.0f %12.0f %7d KB %7.1f %8s %8s %s\n' \
			"$([ $v = 10 ] && echo IPFIX || echo v$v)" "$name" "$want" "$wall" "$cpu" "$rss" "$bpr" "$rz" "$rp" "$ok"
	done
	awk -v f="${CPU[floor]:-0}" -v y="${CPU[nfcapd-lz4]:-0}" -v d="${CPU[nfcapd]:-0}" 'BEGIN {
		if (f > 0 && y > 0 && d > 0)
			printf "%-8s the kernel'"'"'s receive alone allows at most %.2fx nfcapd -y, %.2fx nfcapd (3x needs %.0f and %.0f rec/s CPU)\n", "", f / y, f / d, 3 * y, 3 * d
	}'
	unset CPU
done
