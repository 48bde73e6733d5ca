#!/bin/bash
# test_collect_restart.sh BUILD_DIR SOURCE_DIR — the collector is killed
# (SIGKILL) in the middle of a stream and started again: the templates it
# persisted (--template-dir) let the data after the restart decode at
# once, and what it wrote before the kill is whole.
#
# ipflowd's v9 and IPFIX export of a generated capture is recorded once
# (udpmsgs.py), templates only in its first message (v9: refresh every
# 600 packets / 3600 min; IPFIX: none). Then per format:
#  1. ipflow-collect --template-dir D receives the first half; once its
#     output holds every record of it and D/templates.bin exists, it is
#     killed with SIGKILL;
#  2. the output of run 1 is readable to its last line (one row per
#     record counted), the templates file is there;
#  3. a new ipflow-collect on D logs the templates it loaded and receives
#     the second half, which carries no template: nothing may be held for
#     a template, and the records of both runs together must equal
#     ipflowd's own flow log record by record and the ground truth per key;
#  4. the same second half without --template-dir decodes nothing (every
#     set held, then dropped at exit): the persistence is what made 3 work.
# Also offline: -r on the first half of a capture, then -r on the second
# with the same directory; and a damaged templates file is reported and
# ignored, never half-loaded, never a crash.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/collect_lib.sh"
need_bins
COLLCHECK="$PYTHON $SRC_DIR/tests/e2e/collcheck.py"
UDPMSGS="$PYTHON $SRC_DIR/tests/e2e/udpmsgs.py"

gen -o "$T/mix.pcap" --start-time 1700000000 -n 40000 -c 400 -s 31 \
	--truth "$T/mix.flows.csv" || fail "ipflow-gen"

# record V ARGS...: ipflowd's export of mix.pcap as $T/exp$V.pcap, its flow log $T/ref$V.csv
record() {
	local v=$1 pid port n i
	shift
	$UDPMSGS record "$T/port$v" "$T/exp$v.pcap" --idle 1.5 >"$T/rec$v.count" &
	pid=$!
	for i in $(seq 1 50); do [ -s "$T/port$v" ] && break; sleep 0.1; done
	port=$(cat "$T/port$v")
	ipflowd_file "csv:$T/ref$v.csv" "$T/mix.pcap" -e "udp:127.0.0.1:$port" -v "$v" --stats "$@" || return 1
	wait $pid
	n=$(cat "$T/rec$v.count")
	local sent
	sent=$(sed -n 's/^ *[0-9]* flows exported in \([0-9]*\) .*/\1/p' "$T/ref$v.csv.stdout" | head -n 1)
	[ "$n" = "$sent" ] || { echo "recorded $n of $sent messages"; return 1; }
	echo "$n messages recorded"
}

rows() { echo $(($(wc -l <"$1") - 1)); }

t_restart() { # V
	local v=$1 total half port line recs1
	total=$($UDPMSGS count "$T/exp$v.pcap")
	half=$((total / 2))
	rm -rf "$T/tdir$v"
	port=$(udp_port)
	coll_start "r${v}a" -l "udp:127.0.0.1:$port" --template-dir "$T/tdir$v" -o "csv:$T/r${v}a.csv" || return 1
	$UDPMSGS send "$T/exp$v.pcap" "127.0.0.1:$port" --last $half >/dev/null || return 1
	coll_wait "r${v}a" msgs $half || return 1
	line=$(coll_totals "r${v}a")
	recs1=$(coll_val records "$line")
	local i
	for i in $(seq 1 50); do # the sink flushes and the templates file is written within a second
		[ -s "$T/tdir$v/templates.bin" ] && [ -s "$T/r${v}a.csv" ] && [ "$(rows "$T/r${v}a.csv")" = "$recs1" ] && break
		sleep 0.1
	done
	kill -KILL "$(coll_pid "r${v}a")"
	wait "$(coll_pid "r${v}a")" 2>/dev/null
	[ -s "$T/tdir$v/templates.bin" ] || { echo "no templates file after run 1"; return 1; }
	[ "$(rows "$T/r${v}a.csv")" = "$recs1" ] || { echo "run 1 output has $(rows "$T/r${v}a.csv") rows, $recs1 records counted"; return 1; }
	tail -c 1 "$T/r${v}a.csv" | od -c | grep -q '\\n' || { echo "run 1 output does not end with a whole line"; return 1; }
	echo "run 1: $half of $total messages, $recs1 records, killed"

	coll_start "r${v}b" -l "udp:127.0.0.1:$port" --template-dir "$T/tdir$v" -o "csv:$T/r${v}b.csv" || return 1
	grep -q "templates loaded from" "$T/r${v}b.err" || { cat "$T/r${v}b.err"; return 1; }
	$UDPMSGS send "$T/exp$v.pcap" "127.0.0.1:$port" --first $half >/dev/null || return 1
	coll_wait "r${v}b" msgs $((total - half)) || return 1
	coll_stop "r${v}b" || return 1
	line=$(coll_final "r${v}b")
	echo "run 2: $line" | cut -c 1-200
	for k in pend_sets malformed seq_lost; do
		[ "$(coll_val $k "$line")" = 0 ] || { echo "run 2: $k is not 0"; return 1; }
	done
	[ "$(coll_val templates "$line")" = 0 ] || { echo "run 2 received templates: the test is void"; return 1; }
	# both runs together are ipflowd's export, exactly
	{ cat "$T/r${v}a.csv"; tail -n +2 "$T/r${v}b.csv"; } >"$T/r${v}.csv"
	local tol=0
	[ "$v" = 9 ] && tol=1000
	$COLLCHECK --ref "$T/ref$v.csv" --got "$T/r${v}.csv" --time-tol-ms $tol --allow-clamp || return 1
	flowcheck --truth "$T/mix.flows.csv" --log "csv:$T/r${v}.csv" --sums-only -q || return 1

	# control: the same second half, no templates directory
	coll_start "r${v}c" -l "udp:127.0.0.1:$port" -o "csv:$T/r${v}c.csv" || return 1
	$UDPMSGS send "$T/exp$v.pcap" "127.0.0.1:$port" --first $half >/dev/null || return 1
	coll_wait "r${v}c" msgs $((total - half)) || return 1
	coll_stop "r${v}c" || return 1
	line=$(coll_final "r${v}c")
	[ "$(coll_val records "$line")" = 0 ] && [ "$(coll_val pend_left "$line")" -gt 0 ] ||
		{ echo "without persisted templates: $line"; return 1; }
	echo "without the templates file: 0 records, $(coll_val pend_left "$line") sets held to the end"
}

# Offline: two halves of a capture file through -r, one directory.
t_offline() {
	local n half
	n=$($UDPMSGS count "$T/exp9.pcap")
	half=$((n / 2))
	editcap -r "$T/exp9.pcap" "$T/h1.pcap" "1-$half" >/dev/null 2>&1 &&
		editcap -r "$T/exp9.pcap" "$T/h2.pcap" "$((half + 1))-$n" >/dev/null 2>&1 ||
		{ echo "editcap failed"; return 1; }
	"$COLLECT" -q -r "$T/h1.pcap" --template-dir "$T/off" -o "csv:$T/h1.csv" || return 1
	local line
	line=$("$COLLECT" -q -r "$T/h2.pcap" --template-dir "$T/off" -o "csv:$T/h2.csv" --stats | grep '^Totals:')
	[ "$(coll_val pend_sets "$line")" = 0 ] && [ "$(coll_val templates "$line")" = 0 ] || { echo "$line"; return 1; }
	{ cat "$T/h1.csv"; tail -n +2 "$T/h2.csv"; } >"$T/h.csv"
	$COLLCHECK --ref "$T/ref9.csv" --got "$T/h.csv" --time-tol-ms 1000 --allow-clamp
}

# A damaged templates file: reported, ignored, the data held and counted.
t_damaged() {
	[ -s "$T/off/templates.bin" ] || { echo "needs t_offline's directory"; return 1; }
	cp -r "$T/off" "$T/bad"
	printf '\377' | dd of="$T/bad/templates.bin" bs=1 seek=40 conv=notrunc 2>/dev/null
	local out
	out=$("$COLLECT" -r "$T/h2.pcap" --template-dir "$T/bad" -o null: --stats 2>"$T/bad.err") ||
		{ cat "$T/bad.err"; return 1; }
	grep -q "checksum mismatch" "$T/bad.err" || { cat "$T/bad.err"; return 1; }
	local line
	line=$(echo "$out" | grep '^Totals:')
	[ "$(coll_val records "$line")" = 0 ] && [ "$(coll_val pend_left "$line")" -gt 0 ] || { echo "$line"; return 1; }
	echo "damaged file refused: $(head -n 1 "$T/bad.err")"
}

check record_v9 record 9 --template-refresh 600 --template-timeout 3600
check record_ipfix record 10
check restart_v9 t_restart 9
check restart_ipfix t_restart 10
check offline t_offline
check damaged t_damaged
finish
