#!/bin/bash
# test_clickhouse_faults.sh BUILD_DIR SOURCE_DIR — the ClickHouse sink when
# the server goes away, judged against ipflow-gen's ground truth: nothing
# lost, nothing twice, every drop counted.
#
#   killed         SIGKILL mid-stream, restarted: the spool replays, the
#                  per-key sums equal the truth exactly
#   restart        the server down for a whole collector run: everything
#                  stays in the spool; the next run replays it
#   lost_answers   a proxy lets the first inserts reach the server but loses
#                  its answers: the resend finds them there (presence check
#                  by batchId) and sends nothing twice
#   slow           the server frozen (SIGSTOP) past the request timeout
#                  while inserts are in flight, then resumed
#   spool_full     a 1 MiB spool with the server down: the oldest batches go,
#                  counted, and what stayed is replayed exactly
#   no_spool       spool=none, server down: every row counted as dropped
#
# The sink runs under tests/tools/sinkfeed (decoded ipflowd IPFIX exports)
# until ipflow-collect has it.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/ch_lib.sh"
need_bins
ch_need
SINKFEED=$BUILD_DIR/sinkfeed
[ -x "$SINKFEED" ] || fail "$SINKFEED is not built"

gen -o "$T/mix.pcap" --start-time 1700000000 -n 60000 -c 500 -s 5 --truth "$T/mix.flows.csv" || fail "ipflow-gen"
ipflowd_file "$T/mix.jsonl" "$T/mix.pcap" -e "file:$T/mix.ipfix" -v 10 || fail "ipflowd"
ch_start "$T/ch" || fail "clickhouse-server did not start"
note "clickhouse-server pid $CH_PID on $CH_URL"
FAST="interval=0.2&backoff_max=0.3&timeout=2&connect_timeout=0.5"

init() { [ -n "$CH_PID" ] || ch_start "$T/ch" || return 1; "$SINKFEED" --clickhouse-init "$CH_URL/flows.$1" >/dev/null 2>"$T/init.$1.err" || { cat "$T/init.$1.err"; return 1; }; }
closed() { sed -n "s/.*closed:.* $1=\([0-9]*\).*/\1/p" "$2" | tail -n 1; }

# judge TABLE: per-key sums against the truth, and no row twice
judge() {
	chq "SELECT ipVersion, IPv6NumToString(sourceIPAddress), IPv6NumToString(destinationIPAddress),
	            sourceTransportPort, destinationTransportPort, protocolIdentifier, ipClassOfService,
	            sum(packetDeltaCount), sum(octetDeltaCount)
	     FROM flows.$1 GROUP BY ipVersion, sourceIPAddress, destinationIPAddress, sourceTransportPort,
	            destinationTransportPort, protocolIdentifier, ipClassOfService FORMAT TabSeparated" \
		>"$T/$1.keys.tsv" || return 1
	"$PYTHON" "$SRC_DIR/tests/e2e/ch_judge.py" "$T/mix.flows.csv" "$T/$1.keys.tsv" || return 1
	local dups
	dups=$(chq "SELECT count() FROM (SELECT count() AS c FROM flows.$1 GROUP BY sourceIPAddress, destinationIPAddress,
	            sourceTransportPort, destinationTransportPort, protocolIdentifier, flowStartMilliseconds,
	            flowEndMilliseconds, packetDeltaCount HAVING c > 1)")
	[ "$dups" = 0 ] || { echo "$dups rows stored twice"; return 1; }
}

# accounting LOG: taken = written + found already written + dropped + left in the spool
accounting() {
	local taken written dedup dropped left
	taken=$(closed taken "$1")
	written=$(closed written "$1")
	dedup=$(closed dedup "$1")
	dropped=$(closed dropped "$1")
	left=$(closed spooled_left "$1")
	echo "taken $taken written $written dedup $dedup dropped $dropped left $left"
	[ -n "$taken" ] && [ "$taken" = $((written + dedup + dropped + left)) ]
}

t_killed() {
	init killed || return 1
	"$SINKFEED" -o "clickhouse:$CH_URL/flows.killed?spool=$T/spool.killed&$FAST" --rate 500 "$T/mix.ipfix" \
		>"$T/killed.out" 2>"$T/killed.log" &
	local f=$!
	sleep 1.2
	ch_kill
	note "  killed clickhouse-server; rows so far: feeding"
	sleep 1
	ch_start "$T/ch" || return 1
	wait $f || { cat "$T/killed.log"; return 1; }
	grep closed: "$T/killed.log"
	judge killed || return 1
	accounting "$T/killed.log" || return 1
	[ "$(closed dropped "$T/killed.log")" = 0 ] || return 1
	[ "$(closed replayed "$T/killed.log")" -gt 0 ] || { echo "the spool was never replayed: no outage seen?"; return 1; }
}

t_restart() {
	init restart || return 1
	ch_stop
	"$SINKFEED" -o "clickhouse:$CH_URL/flows.restart?spool=$T/spool.restart&$FAST&close_timeout=0.3" "$T/mix.ipfix" \
		>"$T/restart1.out" 2>"$T/restart1.log"
	grep closed: "$T/restart1.log"
	local fed
	fed=$(sed -n 's/^fed records=\([0-9]*\).*/\1/p' "$T/restart1.out")
	[ "$(closed spooled_left "$T/restart1.log")" = "$fed" ] || { echo "not all $fed rows were spooled"; return 1; }
	ch_start "$T/ch" || return 1
	# a new run with no input: the spool left by the last one is replayed
	"$SINKFEED" -o "clickhouse:$CH_URL/flows.restart?spool=$T/spool.restart&$FAST" >"$T/restart2.out" 2>"$T/restart2.log"
	grep -E "closed:|earlier run" "$T/restart2.log"
	[ "$(closed written "$T/restart2.log")" = "$fed" ] || return 1
	[ "$(closed spooled_left "$T/restart2.log")" = 0 ] || return 1
	judge restart
}

t_lost_answers() {
	init lost || return 1
	"$PYTHON" "$SRC_DIR/tests/e2e/ch_proxy.py" "$T/proxy.port" "$CH_HTTP" 2 >"$T/proxy.out" 2>&1 &
	local p=$!
	on_exit "kill $p"
	local i
	for i in $(seq 1 50); do [ -s "$T/proxy.port" ] && break; sleep 0.1; done
	local pport
	pport=$(cat "$T/proxy.port")
	"$SINKFEED" -o "clickhouse:http://127.0.0.1:$pport/flows.lost?spool=$T/spool.lost&$FAST&batch=300&block=1" "$T/mix.ipfix" \
		>"$T/lost.out" 2>"$T/lost.log"
	kill $p
	grep closed: "$T/lost.log"
	cat "$T/proxy.out"
	[ "$(grep -c swallowed "$T/proxy.out")" = 2 ] || { echo "the proxy did not lose 2 answers"; return 1; }
	# both lost batches were found in the table, not sent again
	[ "$(closed dedup "$T/lost.log")" = 600 ] || { echo "expected the 2 x 300 rows found already written"; return 1; }
	accounting "$T/lost.log" || return 1
	judge lost
}

t_slow() {
	init slow || return 1
	"$SINKFEED" -o "clickhouse:$CH_URL/flows.slow?spool=$T/spool.slow&interval=0.2&backoff_max=0.3&timeout=0.5" \
		--rate 600 "$T/mix.ipfix" >"$T/slow.out" 2>"$T/slow.log" &
	local f=$!
	sleep 0.8
	kill -STOP "$CH_PID"
	sleep 1.5
	kill -CONT "$CH_PID"
	wait $f || return 1
	grep closed: "$T/slow.log"
	grep -q "transport/timeout" "$T/slow.log" && grep "failures:" "$T/slow.log"
	[ "$(closed errors "$T/slow.log")" -gt 0 ] || { echo "no request timed out: the freeze was not seen"; return 1; }
	accounting "$T/slow.log" || return 1
	judge slow
}

t_spool_full() {
	init full || return 1
	ch_stop
	# 155-byte rows, 2000-row batches: about 310 KB a batch, 3 fit in 1 MiB
	"$SINKFEED" -o "clickhouse:$CH_URL/flows.full?spool=$T/spool.full&spool_size=1M&batch=2000&$FAST&close_timeout=0.2&block=1" \
		--synth 20000 >"$T/full1.out" 2>"$T/full1.log"
	grep -E "closed:|dropped rows" "$T/full1.log"
	accounting "$T/full1.log" || return 1
	local left dropped
	left=$(closed spooled_left "$T/full1.log")
	dropped=$(closed dropped "$T/full1.log")
	[ "$left" = 6000 ] && [ "$dropped" = 14000 ] || { echo "expected 3 batches kept, 7 dropped"; return 1; }
	[ "$(closed spool_full "$T/full1.log")" = 14000 ] || { echo "the drops should all be spool full"; return 1; }
	ch_start "$T/ch" || return 1
	"$SINKFEED" -o "clickhouse:$CH_URL/flows.full?spool=$T/spool.full&$FAST" >/dev/null 2>"$T/full2.log"
	# the newest 3 batches are kept: records 14000..19999 of the synthetic run
	chq "SELECT count(), min(flowStartMilliseconds), max(flowStartMilliseconds) FROM flows.full FORMAT TabSeparated" \
		| tee "$T/full.tsv"
	[ "$(cat "$T/full.tsv")" = "6000	$((1700000000000 + 14000))	$((1700000000000 + 19999))" ]
}

t_no_spool() {
	init nospool || return 1
	ch_stop
	"$SINKFEED" -o "clickhouse:$CH_URL/flows.nospool?spool=none&queue=1&batch=1000&$FAST&close_timeout=0.3" \
		--synth 5000 >/dev/null 2>"$T/nospool.log"
	grep -E "closed:|dropped rows" "$T/nospool.log"
	accounting "$T/nospool.log" || return 1
	[ "$(closed dropped "$T/nospool.log")" = 5000 ] || return 1
	ch_start "$T/ch"
}

check killed t_killed
check restart t_restart
check lost_answers t_lost_answers
check slow t_slow
check spool_full t_spool_full
check no_spool t_no_spool
finish
