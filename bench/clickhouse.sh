#!/bin/bash
# bench/clickhouse.sh [BUILD_DIR] — rows/s from the collector's ClickHouse
# sink into Debian's clickhouse-server, beside a plain libcurl RowBinary
# loader (tests/tools/chload) on the same server, table and row count, in
# the same run; and two collectors side by side into one table.
#
#   bench/clickhouse.sh build-gcc          (ROWS=1000000 RUNS=3 by default)
#
# The sink runs under tests/tools/sinkfeed --synth (records made in memory,
# no decoding, so the figure is the sink: row encoding, batching, the
# sender thread, libcurl) with block=1 so that a full queue waits rather
# than drops: the rate is then what the sink gets into ClickHouse. Each
# run starts from a freshly created table (DROP + --clickhouse-init; never
# TRUNCATE on 18.16). Printed: per run rows/s and client CPU; medians; the
# sink's median as a share of the loader's (target >= 80 %); the sink's
# CPU-seconds per million rows; the server's CPU-seconds per million rows.
# Client and server share this machine's cores, as in the findings.
set -u
BUILD=$(cd "${1:-build-gcc}" && pwd) || exit 1
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/tests/e2e/lib.sh" "$BUILD" "$SRC"
. "$SRC/tests/e2e/ch_lib.sh"
ch_need
ROWS=${ROWS:-1000000}
RUNS=${RUNS:-3}
SINKFEED=$BUILD/sinkfeed
CHLOAD=$BUILD/chload
[ -x "$SINKFEED" ] && [ -x "$CHLOAD" ] || fail "build sinkfeed and chload first"

ch_start "$T/ch" || fail "clickhouse-server did not start"
echo "clickhouse-server $(chq 'SELECT version()') pid $CH_PID; $ROWS rows a run, $RUNS runs; $(nproc) cores"

reset() {
	chq "DROP TABLE IF EXISTS b.flows_1m_mv" && chq "DROP TABLE IF EXISTS b.flows_1h_mv" &&
		chq "DROP TABLE IF EXISTS b.flows_1m" && chq "DROP TABLE IF EXISTS b.flows_1h" &&
		chq "DROP TABLE IF EXISTS b.flows" || return 1
	"$SINKFEED" --clickhouse-init "$CH_URL/b.flows" >/dev/null
}
server_cpu() { awk '{ print $14 + $15 }' "/proc/$CH_PID/stat"; }
rate() { awk -v r="$1" -v w="$2" 'BEGIN { printf "%.0f", r / w }'; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
HZ=$(getconf CLK_TCK)

: >"$T/loader.rates"
: >"$T/sink.rates"
: >"$T/sink.cpu"
: >"$T/loader.cpu"
: >"$T/srv.loader"
: >"$T/srv.sink"
for run in $(seq 1 "$RUNS"); do
	# alternate the order so neither always runs on a warmer server
	for who in loader sink; do
		[ $((run % 2)) = 0 ] && who=$([ $who = loader ] && echo sink || echo loader)
		reset || fail "reset"
		s0=$(server_cpu)
		if [ $who = loader ]; then
			out=$("$CHLOAD" "$CH_URL/b.flows" "$ROWS" 100000) || fail "chload: $out"
		else
			out=$("$SINKFEED" -q --cpu --synth "$ROWS" --exporters 8 \
				-o "clickhouse:$CH_URL/b.flows?spool=$T/spool&block=1&batch=100000&queue=4" 2>"$T/sink.err") \
				|| fail "sinkfeed: $(cat "$T/sink.err")"
		fi
		s1=$(server_cpu)
		n=$(chq "SELECT count() FROM b.flows")
		[ "$n" = "$ROWS" ] || fail "$who: $n rows in the table, expected $ROWS"
		wall=$(sed -n 's/.*wall_s=\([0-9.]*\).*/\1/p' <<<"$out")
		cpu=$(sed -n 's/.*cpu_s=\([0-9.]*\).*/\1/p' <<<"$out")
		r=$(rate "$ROWS" "$wall")
		srv=$(awk -v a="$s0" -v b="$s1" -v hz="$HZ" -v n="$ROWS" 'BEGIN { printf "%.2f", (b - a) / hz / (n / 1e6) }')
		echo "$r" >>"$T/$who.rates"
		echo "$cpu" >>"$T/$who.cpu"
		echo "$srv" >>"$T/srv.$who"
		printf '  run %d %-6s %8s rows/s  wall %6.2f s  client CPU %5.2f s  server CPU/M rows %s s\n' \
			"$run" "$who" "$r" "$wall" "$cpu" "$srv"
	done
done

ml=$(median <"$T/loader.rates")
ms=$(median <"$T/sink.rates")
cpu_m=$(awk -v n="$ROWS" '{ print $1 / (n / 1e6) }' "$T/sink.cpu" | median)
lcpu_m=$(awk -v n="$ROWS" '{ print $1 / (n / 1e6) }' "$T/loader.cpu" | median)
echo "median: loader $ml rows/s, sink $ms rows/s: sink/loader $(awk -v a="$ms" -v b="$ml" 'BEGIN { printf "%.0f %%", 100 * a / b }') (target >= 80 %)"
echo "client CPU per million rows: sink $(printf '%.3f' "$cpu_m") s, loader $(printf '%.3f' "$lcpu_m") s; server CPU per million rows: sink runs $(median <"$T/srv.sink") s, loader runs $(median <"$T/srv.loader") s"

# Two collectors side by side into one table, each its own exporters and spool.
: >"$T/pair.rates"
for run in $(seq 1 "$RUNS"); do
	reset || fail "reset"
	t0=$(date +%s.%N)
	"$SINKFEED" -q --cpu --synth "$ROWS" --exporters 4 \
		-o "clickhouse:$CH_URL/b.flows?spool=$T/spoolA&block=1" >"$T/pa.out" 2>&1 &
	a=$!
	"$SINKFEED" -q --cpu --synth "$ROWS" --exporters 4 \
		-o "clickhouse:$CH_URL/b.flows?spool=$T/spoolB&block=1" >"$T/pb.out" 2>&1 &
	b=$!
	wait $a && wait $b || fail "a collector failed: $(cat "$T/pa.out" "$T/pb.out")"
	t1=$(date +%s.%N)
	n=$(chq "SELECT count() FROM b.flows")
	[ "$n" = $((2 * ROWS)) ] || fail "pair: $n rows, expected $((2 * ROWS))"
	r=$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
	echo "$r" >>"$T/pair.rates"
	echo "  run $run two collectors: $r rows/s together ($(sed -n 's/.*cpu_s=\([0-9.]*\).*/\1/p' "$T/pa.out") + $(sed -n 's/.*cpu_s=\([0-9.]*\).*/\1/p' "$T/pb.out") client CPU-s)"
done
echo "median: two collectors side by side $(median <"$T/pair.rates") rows/s into one table (one collector: $ms)"
