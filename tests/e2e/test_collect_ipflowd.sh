#!/bin/bash
# test_collect_ipflowd.sh BUILD_DIR SOURCE_DIR — ipflowd exports a
# generated capture to ipflow-collect on loopback, in every format, over
# UDP and TCP; what the collector stores must equal the ground truth.
#
# For each run: ipflowd -r PCAP -e udp|tcp:127.0.0.1:PORT -v V, with its own
# flow log beside it; the collector receives with -o csv:PATH. Judged:
#  - the collector got every message ipflowd says it sent, with no kernel
#    drop, no malformed message and no sequence gap;
#  - per flow key the packet and byte sums equal ipflow-gen's truth
#    (flowcheck.py --sums-only): nothing lost, nothing doubled;
#  - record by record the stored flows equal ipflowd's own flow log
#    (collcheck.py): counts exactly, times to the format's precision
#    (v1/v5/v7: 1 ms; v9: 1 s, its header's unit; IPFIX: exact ms;
#    IPFIX with --ipfix-usec: exact, and then flowcheck's exact mode, which
#    re-simulates the expiry rules, passes too).
# Formats: v1, v5, v7 (IPv4-only capture: they carry no IPv6), v9 and
# IPFIX (IPv4 and IPv6) over UDP; IPFIX and IPFIX-us over TCP (one
# transport session; closed by the peer at the end); v9 over IPv6
# loopback; two exporters (source ids 1 and 2) into two UDP ports and a
# TCP port of one collector at once. v9 over TCP has no framing (RFC 3954
# has no message length): the collector must refuse it and count it.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/collect_lib.sh"
need_bins
COLLCHECK="$PYTHON $SRC_DIR/tests/e2e/collcheck.py"

START=1700000000
gen -o "$T/v4.pcap" --start-time $START -n 30000 -c 300 -s 11 --v4-only \
	--truth "$T/v4.flows.csv" --truth-packets "$T/v4.pk.csv" || fail "ipflow-gen"
gen -o "$T/mix.pcap" --start-time $START -n 30000 -c 300 -s 12 \
	--truth "$T/mix.flows.csv" --truth-packets "$T/mix.pk.csv" || fail "ipflow-gen"

# run NAME PCAP-BASE TRANSPORT VERSION [IPFLOWD-ARGS...]: export and collect.
run() {
	local name=$1 base=$2 tp=$3 v=$4 port host=127.0.0.1 lhost=127.0.0.1
	shift 4
	if [ "$tp" = udp6 ]; then
		tp=udp host='[::1]' lhost='[::1]'
	fi
	port=$(free_port "$tp")
	coll_start "$name" -l "$tp:$lhost:$port" -o "csv:$T/$name.csv" -w "$T/$name.store" || return 1
	ipflowd_file "csv:$T/$name.ref.csv" "$T/$base.pcap" -e "$tp:$host:$port" -v "$v" --stats "$@" || return 1
	local sent
	sent=$(sed -n 's/^ *\([0-9]*\) flows exported in \([0-9]*\) .*/\2/p' "$T/$name.ref.csv.stdout" | head -n 1)
	[ -n "$sent" ] || { echo "no message count in ipflowd --stats"; return 1; }
	coll_wait "$name" msgs "$sent" || return 1
	coll_stop "$name" || return 1
	local line
	line=$(coll_final "$name")
	echo "ipflowd sent $sent messages; collector: $line" | cut -c 1-300
	local k
	for k in malformed seq_lost seq_ooo pend_sets; do
		[ "$(coll_val $k "$line")" = 0 ] || { echo "$k is not 0"; return 1; }
	done
	[ "$(coll_val msgs "$line")" = "$sent" ] || { echo "messages: got $(coll_val msgs "$line"), sent $sent"; return 1; }
	grep -q "Kernel drops (all UDP listeners): 0" "$T/$name.out" || { grep "Kernel drops" "$T/$name.out"; return 1; }
	flowcheck --truth "$T/$base.flows.csv" --log "csv:$T/$name.csv" --sums-only || return 1
	# the file store beside it: final counters at exit (every file
	# published), and the report over it reads every record
	local n srec
	n=$(($(wc -l <"$T/$name.csv") - 1))
	srec=$(grep "records taken" "$T/$name.out" | tail -n 1)
	[ "$(echo $srec)" = "$n records taken, $n written, 0 dropped, 0 in 0 open files" ] ||
		{ echo "file store: '$srec', want all $n written"; return 1; }
	"$BUILD_DIR/ipflow" report -w "$T/$name.store" --format json >"$T/$name.report.json" || return 1
	"$PYTHON" -c 'import json,sys; t=json.load(open(sys.argv[1]))["totals"]["flows"]; sys.exit(0 if t == int(sys.argv[2]) else "report: %d flows, the collector %s" % (t, sys.argv[2]))' \
		"$T/$name.report.json" "$n" || return 1
}

# judge NAME TOLERANCE-MS: record by record against ipflowd's own flow log.
judge() {
	$COLLCHECK --ref "$T/$1.ref.csv" --got "$T/$1.csv" --time-tol-ms "$2" \
		${3:+--fields "$3"}
}

t_v1() { run v1 v4 udp 1 && judge v1 1; }
t_v5() { run v5 v4 udp 5 && judge v5 1; }
t_v7() { run v7 v4 udp 7 && judge v7 1; }
t_v9() { run v9 mix udp 9 && judge v9 1000 flowEndReason; }
t_ipfix() { run ipfix mix udp 10 && judge ipfix 0 flowEndReason,tcpControlBits; }
t_ipfix_us_udp() {
	run ipfix_us mix udp 10 --ipfix-usec && judge ipfix_us 0 flowEndReason &&
		flowcheck --truth-packets "$T/mix.pk.csv" --truth "$T/mix.flows.csv" --log "csv:$T/ipfix_us.csv"
}
t_ipfix_tcp() {
	run ipfix_tcp mix tcp 10 && judge ipfix_tcp 0 flowEndReason || return 1
	grep -q "accepted 1, refused 0; closed by peer 1" "$T/ipfix_tcp.out" || { grep Listener "$T/ipfix_tcp.out"; return 1; }
}
t_ipfix_us_tcp() {
	run ipfix_us_tcp mix tcp 10 --ipfix-usec && judge ipfix_us_tcp 0 flowEndReason &&
		flowcheck --truth-packets "$T/mix.pk.csv" --truth "$T/mix.flows.csv" --log "csv:$T/ipfix_us_tcp.csv"
}
t_v9_ipv6() {
	run v9_6 mix udp6 9 && judge v9_6 1000 || return 1
	grep -q "^Exporter ::1 " "$T/v9_6.out" || { grep Exporter "$T/v9_6.out"; return 1; }
}

# v9 over TCP cannot be framed: refused, counted, nothing decoded.
t_v9_tcp_refused() {
	local port
	port=$(tcp_port)
	coll_start v9tcp -l "tcp:127.0.0.1:$port" -o "csv:$T/v9tcp.csv" || return 1
	gen -o "$T/small.pcap" --start-time $START -n 2000 -c 50 -s 13 --v4-only || return 1
	# ipflowd keeps reconnecting and would drain for seconds at exit: stop it
	timeout -s KILL 2 "$IPFLOWD" -r "$T/small.pcap" -e "tcp:127.0.0.1:$port" -v 9 >/dev/null 2>&1
	coll_wait v9tcp msgs 0 || return 1
	coll_stop v9tcp || return 1
	grep -q "not IPFIX" "$T/v9tcp.err" || { echo "no log line naming the reason"; cat "$T/v9tcp.err"; return 1; }
	local bad
	bad=$(sed -n 's/.*not IPFIX \([0-9]*\).*/\1/p' "$T/v9tcp.out" | tail -n 1)
	[ "${bad:-0}" -ge 1 ] || { grep Listener "$T/v9tcp.out"; return 1; }
	[ "$(coll_val records "$(coll_final v9tcp)")" = 0 ] || return 1
	echo "v9 over TCP refused on $bad connection(s)"
}

# Two exporters (distinct source ids) into three listeners of one collector.
t_many_listeners() {
	local p1 p2 p3
	p1=$(udp_port)
	p2=$(udp_port)
	p3=$(tcp_port)
	coll_start many -l "udp:127.0.0.1:$p1" -l "udp:127.0.0.1:$p2" -l "tcp:127.0.0.1:$p3" \
		-o "csv:$T/many.csv" || return 1
	ipflowd_file "csv:$T/many_a.csv" "$T/mix.pcap" -e "udp:127.0.0.1:$p1" -v 9 --source-id 1 --stats &
	local a=$!
	ipflowd_file "csv:$T/many_b.csv" "$T/mix.pcap" -e "udp:127.0.0.1:$p2" -e "tcp:127.0.0.1:$p3" -v 10 \
		--source-id 2 --stats &
	local b=$!
	wait $a || return 1
	wait $b || return 1
	local want
	want=$(($(sed -n 's/^ *[0-9]* flows exported in \([0-9]*\) .*/\1/p' "$T/many_a.csv.stdout" "$T/many_b.csv.stdout" | paste -sd+)))
	coll_wait many msgs "$want" || return 1
	coll_stop many || return 1
	local line
	line=$(coll_final many)
	for k in malformed seq_lost seq_ooo; do
		[ "$(coll_val $k "$line")" = 0 ] || { echo "$k is not 0: $line"; return 1; }
	done
	# the v9 domain once, the IPFIX domain twice (UDP, and the TCP session,
	# whose stream ended with the connection: its counts stay in the totals)
	local recs n
	recs=$(coll_val records "$line")
	n=$(($(wc -l <"$T/many_a.csv") - 1 + 2 * ($(wc -l <"$T/many_b.csv") - 1)))
	[ "$recs" = "$n" ] || { echo "records $recs, want $n"; return 1; }
	grep -q "^  v9 source id 1$" "$T/many.out" && grep -q "^  IPFIX domain 2$" "$T/many.out" ||
		{ grep "^  [vI]" "$T/many.out" | head; return 1; }
	echo "$want messages from 2 exporters on 3 listeners: $recs records"
}

check v1 t_v1
check v5 t_v5
check v7 t_v7
check v9 t_v9
check ipfix t_ipfix
check ipfix_us_udp t_ipfix_us_udp
check ipfix_tcp t_ipfix_tcp
check ipfix_us_tcp t_ipfix_us_tcp
check v9_ipv6 t_v9_ipv6
check v9_tcp_refused t_v9_tcp_refused
check many_listeners t_many_listeners
finish
