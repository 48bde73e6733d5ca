#!/bin/bash
# test_clickhouse.sh BUILD_DIR SOURCE_DIR — the ClickHouse sink against
# Debian's clickhouse-server (started here: own config and data under $T,
# 127.0.0.1, free ports, stopped by pid) and ipflow-gen's ground truth.
#
# ipflow-gen → pcap → ipflowd (IPFIX or v5 export file) → the collector's
# sink (driven by tests/tools/sinkfeed until ipflow-collect has it) →
# ClickHouse. Checks: --clickhouse-init creates what doc/clickhouse.md
# says and runs twice; per-key sums and totals in ClickHouse equal the
# ground truth exactly (IPFIX with IPv4 and IPv6, gzip'd bodies, and
# NetFlow v5); IPv4
# is stored v4-mapped, never as zeros; the 1-minute and 1-hour rollups
# agree with the raw table; credentials from a file and from the
# environment, never from the URL; two collectors side by side into one
# table keep their exporters' totals apart.
#
# Faults (server killed, restarted, slow, answers lost) are in
# test_clickhouse_faults.sh.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/ch_lib.sh"
need_bins
ch_need
SINKFEED=$BUILD_DIR/sinkfeed
[ -x "$SINKFEED" ] || fail "$SINKFEED is not built"
# The mix starts 2 minutes before a UTC midnight (2023-11-15) and is fed
# with --flow-time, so its rows span minutes, an hour and two day
# partitions: batches must split at the day.
START=1700006280

gen -o "$T/mix.pcap" --start-time $START -n 60000 -c 500 -s 3 --truth "$T/mix.flows.csv" || fail "ipflow-gen"
ipflowd_file "$T/mix.jsonl" "$T/mix.pcap" -e "file:$T/mix.ipfix" -v 10 || fail "ipflowd IPFIX"
gen -o "$T/v4.pcap" --start-time $START -n 30000 -c 300 -s 4 --v4-only --truth "$T/v4.flows.csv" || fail "ipflow-gen v4"
ipflowd_file "$T/v4.jsonl" "$T/v4.pcap" -e "file:$T/v4.nf5" -v 5 || fail "ipflowd v5"
ch_start "$T/ch" || fail "clickhouse-server did not start"
note "clickhouse-server pid $CH_PID on $CH_URL"

init() { "$SINKFEED" --clickhouse-init "$CH_URL/flows.$1" >"$T/init.$1.out" 2>&1 || { cat "$T/init.$1.out"; return 1; }; }

# feed TABLE OPTS FILE...: sinkfeed into flows.TABLE; log in $T/feed.TABLE.log
feed() {
	local table=$1 opts=$2
	shift 2
	"$SINKFEED" -o "clickhouse:$CH_URL/flows.$table?spool=$T/spool.$table&interval=0.3$opts" "$@" \
		>"$T/feed.$table.out" 2>"$T/feed.$table.log"
}

# closed NAME LOG: a counter from the sink's closing line
closed() { sed -n "s/.*closed:.* $1=\([0-9]*\).*/\1/p" "$2" | tail -n 1; }

# perkey TABLE TRUTH: per-key sums read back, judged against the truth
perkey() {
	chq "SELECT ipVersion, IPv6NumToString(sourceIPAddress), IPv6NumToString(destinationIPAddress),
	            sourceTransportPort, destinationTransportPort, protocolIdentifier, ipClassOfService,
	            sum(packetDeltaCount), sum(octetDeltaCount)
	     FROM flows.$1 GROUP BY ipVersion, sourceIPAddress, destinationIPAddress, sourceTransportPort,
	            destinationTransportPort, protocolIdentifier, ipClassOfService FORMAT TabSeparated" \
		>"$T/$1.keys.tsv" || return 1
	"$PYTHON" "$SRC_DIR/tests/e2e/ch_judge.py" "$2" "$T/$1.keys.tsv"
}

t_init() {
	init flows || return 1
	init flows || { echo "a second --clickhouse-init failed"; return 1; }
	local tables
	tables=$(chq "SELECT name, engine FROM system.tables WHERE database = 'flows' ORDER BY name FORMAT TabSeparated")
	echo "$tables"
	for want in "flows	MergeTree" "flows_1h	SummingMergeTree" "flows_1h_mv	MaterializedView" \
		"flows_1m	SummingMergeTree" "flows_1m_mv	MaterializedView"; do
		grep -qx "$want" <<<"$tables" || { echo "missing: $want"; return 1; }
	done
	# the raw table's columns, in order, as doc/clickhouse.md lists them
	chq "SELECT name, type FROM system.columns WHERE database = 'flows' AND table = 'flows' FORMAT TabSeparated" \
		| tr '\t' ' ' >"$T/cols.txt"
	sed -n 's/^| `\([A-Za-z]*\)` | `\([^`]*\)` |.*/\1 \2/p' "$SRC_DIR/doc/clickhouse.md" >"$T/cols.doc"
	[ -s "$T/cols.doc" ] || { echo "no column table in doc/clickhouse.md"; return 1; }
	sed "s/\\\\'/'/g" "$T/cols.txt" | diff - "$T/cols.doc" || { echo "columns differ from doc/clickhouse.md"; return 1; }
	local key
	key=$(chq "SELECT sorting_key, partition_key FROM system.tables WHERE database = 'flows' AND name = 'flows'" 2>/dev/null) \
		|| key=$(chq "SHOW CREATE TABLE flows.flows")
	echo "$key"
	grep -q "toStartOfFiveMinute(collectionTimeSeconds)" <<<"$key" || { echo "no time bucket in ORDER BY"; return 1; }
	grep -q "toYYYYMMDD(collectionTimeSeconds)" <<<"$key" || { echo "not partitioned by day"; return 1; }
}

t_ipfix_truth() {
	init ipfix || return 1
	feed ipfix "" --flow-time "$T/mix.ipfix" || { cat "$T/feed.ipfix.log"; return 1; }
	cat "$T/feed.ipfix.out"
	perkey ipfix "$T/mix.flows.csv" || return 1
	local fed rows
	fed=$(sed -n 's/^fed records=\([0-9]*\).*/\1/p' "$T/feed.ipfix.out")
	rows=$(chq "SELECT count() FROM flows.ipfix")
	[ "$fed" = "$rows" ] || { echo "fed $fed records, table has $rows rows"; return 1; }
	[ "$(closed written "$T/feed.ipfix.log")" = "$fed" ] || { echo "sink says written != fed"; return 1; }
	[ "$(closed dropped "$T/feed.ipfix.log")" = 0 ] || return 1
	# both address families present, and exporter / version / domain carried
	chq "SELECT ipVersion, count(), any(IPv6NumToString(exporterIPAddress)), any(exportVersion), any(templateId) > 255
	     FROM flows.ipfix GROUP BY ipVersion ORDER BY ipVersion FORMAT TabSeparated" | tee "$T/fam.tsv"
	[ "$(wc -l <"$T/fam.tsv")" = 2 ] || { echo "expected IPv4 and IPv6 rows"; return 1; }
	grep -q "	::ffff:192.0.2.1	10	1$" "$T/fam.tsv" || { echo "exporter/version/template wrong"; return 1; }
	# flow times as exported (ms), within the capture's hour
	chq "SELECT min(flowStartMilliseconds) >= ${START}000, max(flowEndMilliseconds) < ${START}000 + 3600000,
	     countIf(flowEndMilliseconds < flowStartMilliseconds) FROM flows.ipfix FORMAT TabSeparated" | tee "$T/times.tsv"
	[ "$(cat "$T/times.tsv")" = "1	1	0" ] || return 1
	# two day partitions, and no part holds rows of both days
	chq "SELECT partition, count() FROM system.parts WHERE database = 'flows' AND table = 'ipfix' AND active
	     GROUP BY partition ORDER BY partition FORMAT TabSeparated" | tee "$T/parts.tsv"
	[ "$(cut -f1 "$T/parts.tsv" | tr '\n' ' ')" = "20231114 20231115 " ] || { echo "expected two day partitions"; return 1; }
}

# gzip=1: bodies sent compressed (Content-Encoding: gzip); a body the
# server could not read would fail the insert and leave rows in the spool
t_gzip() {
	init gz || return 1
	feed gz "&gzip=1&batch=500" "$T/mix.ipfix" || { cat "$T/feed.gz.log"; return 1; }
	grep closed: "$T/feed.gz.log"
	[ "$(closed spooled_left "$T/feed.gz.log")" = 0 ] && [ "$(closed errors "$T/feed.gz.log")" = 0 ] || return 1
	perkey gz "$T/mix.flows.csv"
}

t_v5_truth() {
	init nf5 || return 1
	feed nf5 "" --exporter 203.0.113.9 "$T/v4.nf5" || { cat "$T/feed.nf5.log"; return 1; }
	perkey nf5 "$T/v4.flows.csv" || return 1
	chq "SELECT any(exportVersion), uniqExact(exporterIPAddress), any(IPv6NumToString(exporterIPAddress)) FROM flows.nf5" \
		| tee "$T/v5.tsv"
	[ "$(cat "$T/v5.tsv")" = "5	1	::ffff:203.0.113.9" ] || return 1
}

# Plain-text IPv4 into FixedString(16) silently stores zeros; RowBinary
# must carry ::ffff:a.b.c.d. No IPv4 row may have a zero or unmapped address.
t_v4_mapped() {
	[ -n "$(chq "EXISTS TABLE flows.ipfix")" ] || return 1
	local r
	r=$(chq "SELECT countIf(substring(sourceIPAddress, 1, 12) != unhex('00000000000000000000FFFF')),
	                countIf(substring(destinationIPAddress, 1, 12) != unhex('00000000000000000000FFFF')),
	                countIf(sourceIPAddress = toFixedString(unhex('00000000000000000000FFFF00000000'), 16)),
	                count()
	         FROM flows.ipfix WHERE ipVersion = 4 FORMAT TabSeparated")
	echo "unmapped src, unmapped dst, zero src, v4 rows: $r"
	[ "$(cut -f1-3 <<<"$r")" = "0	0	0" ] && [ "$(cut -f4 <<<"$r")" -gt 0 ]
}

# rollup TABLE SUFFIX FUNC: the rollup equals the raw table aggregated the same way
rollup_eq() {
	local t=$1 sfx=$2 fn=$3 dims="exporterIPAddress, observationDomainId, samplingInterval, ipVersion, protocolIdentifier, flowDirection, ingressInterface, egressInterface, bgpSourceAsNumber, bgpDestinationAsNumber"
	chq "SELECT $fn(collectionTimeSeconds) AS tb, $dims, sum(octetDeltaCount), sum(packetDeltaCount), count()
	     FROM flows.$t GROUP BY tb, $dims ORDER BY tb, $dims FORMAT TabSeparated" >"$T/raw$sfx.tsv" || return 1
	chq "SELECT collectionTimeSeconds AS tb, $dims, sum(octetDeltaCount), sum(packetDeltaCount), sum(deltaFlowCount)
	     FROM flows.$t$sfx GROUP BY tb, $dims ORDER BY tb, $dims FORMAT TabSeparated" >"$T/roll$sfx.tsv" || return 1
	echo "$sfx: $(wc -l <"$T/raw$sfx.tsv") groups, $(cut -f1 "$T/raw$sfx.tsv" | sort -u | wc -l) time buckets"
	[ -s "$T/raw$sfx.tsv" ] && diff "$T/raw$sfx.tsv" "$T/roll$sfx.tsv" | head -n 5 && cmp -s "$T/raw$sfx.tsv" "$T/roll$sfx.tsv"
}

t_rollups() {
	rollup_eq ipfix _1m toStartOfMinute || return 1
	rollup_eq ipfix _1h toStartOfHour || return 1
	[ "$(cut -f1 "$T/raw_1m.tsv" | sort -u | wc -l)" -ge 3 ] || { echo "the data should span several minutes"; return 1; }
	[ "$(cut -f1 "$T/raw_1h.tsv" | sort -u | wc -l)" -ge 2 ] || { echo "the data should span two hours"; return 1; }
	# force merges: SummingMergeTree collapses rows, sums stay the same
	chq "OPTIMIZE TABLE flows.ipfix_1m FINAL" && chq "OPTIMIZE TABLE flows.ipfix_1h FINAL" || return 1
	rollup_eq ipfix _1m toStartOfMinute || return 1
	rollup_eq ipfix _1h toStartOfHour
}

t_credentials() {
	init creds || return 1
	# a URL with user:password is refused before anything is sent
	if "$SINKFEED" -o "clickhouse:http://ipflow:pw@127.0.0.1:$CH_HTTP/flows.creds" >"$T/url.out" 2>&1; then
		echo "user:password@ in the URL was accepted"
		return 1
	fi
	grep -q "not taken from the command line" "$T/url.out" || { cat "$T/url.out"; return 1; }
	# file
	printf 'user=ipflow\npassword=%s\n' "s3cret-pw" >"$T/creds"
	chmod 600 "$T/creds"
	feed creds "&credentials=$T/creds" --synth 1000 || { cat "$T/feed.creds.log"; return 1; }
	[ "$(closed written "$T/feed.creds.log")" = 1000 ] || { cat "$T/feed.creds.log"; return 1; }
	# environment
	CLICKHOUSE_USER=ipflow CLICKHOUSE_PASSWORD=s3cret-pw feed creds "" --synth 500 || return 1
	[ "$(closed written "$T/feed.creds.log")" = 500 ] || { cat "$T/feed.creds.log"; return 1; }
	# a wrong password: the server refuses, rows go to the spool, counted
	CLICKHOUSE_USER=ipflow CLICKHOUSE_PASSWORD=wrong feed creds "&close_timeout=0.5&backoff_max=0.2" --synth 300
	grep -q "server error" "$T/feed.creds.log" || { cat "$T/feed.creds.log"; return 1; }
	[ "$(closed spooled_left "$T/feed.creds.log")" = 300 ] || { cat "$T/feed.creds.log"; return 1; }
	[ "$(chq "SELECT count() FROM flows.creds")" = 1500 ]
}

# Two collectors side by side, one table: exporters split between them
# (as doc/clickhouse.md advises), each its own spool; totals per exporter exact.
t_two_collectors() {
	init pair || return 1
	"$SINKFEED" -o "clickhouse:$CH_URL/flows.pair?spool=$T/spool.pairA&interval=0.3" --exporter 192.0.2.10 \
		"$T/mix.ipfix" >"$T/pairA.out" 2>"$T/pairA.log" &
	local a=$!
	"$SINKFEED" -o "clickhouse:$CH_URL/flows.pair?spool=$T/spool.pairB&interval=0.3" --exporter 2001:db8::20 \
		"$T/v4.nf5" >"$T/pairB.out" 2>"$T/pairB.log" &
	local b=$!
	wait $a || return 1
	wait $b || return 1
	# the same spool directory cannot be shared: the second is refused
	local fa fb
	fa=$(sed -n 's/^fed records=[0-9]* packets=\([0-9]*\) bytes=\([0-9]*\)/\1\t\2/p' "$T/pairA.out")
	fb=$(sed -n 's/^fed records=[0-9]* packets=\([0-9]*\) bytes=\([0-9]*\)/\1\t\2/p' "$T/pairB.out")
	chq "SELECT IPv6NumToString(exporterIPAddress), sum(packetDeltaCount), sum(octetDeltaCount) FROM flows.pair
	     GROUP BY exporterIPAddress ORDER BY exporterIPAddress FORMAT TabSeparated" | tee "$T/pair.tsv"
	printf '2001:db8::20\t%s\n::ffff:192.0.2.10\t%s\n' "$fb" "$fa" | sort >"$T/pair.want"
	sort "$T/pair.tsv" | diff - "$T/pair.want"
}

t_spool_locked() {
	init lockt || return 1
	mkdir -p "$T/spool.lock"
	"$SINKFEED" -o "clickhouse:$CH_URL/flows.lockt?spool=$T/spool.lock" --rate 2000 --synth 4000 \
		>/dev/null 2>"$T/lockA.log" &
	local a=$!
	sleep 0.5
	if "$SINKFEED" -o "clickhouse:$CH_URL/flows.lockt?spool=$T/spool.lock" --synth 1 >"$T/lockB.out" 2>&1; then
		echo "a second collector opened a spool in use"
		wait $a
		return 1
	fi
	cat "$T/lockB.out"
	grep -q "in use by another process" "$T/lockB.out" || return 1
	wait $a
}

check init t_init
check ipfix_truth t_ipfix_truth
check gzip t_gzip
check v5_truth t_v5_truth
check v4_mapped t_v4_mapped
check rollups t_rollups
check credentials t_credentials
check two_collectors t_two_collectors
check spool_locked t_spool_locked
finish
