#!/bin/bash
# test_clickhouse_collect.sh BUILD_DIR SOURCE_DIR — the whole path:
# ipflow-gen → pcap → ipflowd (IPFIX over TCP) → ipflow-collect
# -w DIR -o clickhouse:URL -o kafka:BROKER/TOPIC → ClickHouse, the file
# store and a mock Kafka cluster at once; judged against the ground truth.
#
#   totals       per-key sums in ClickHouse equal the truth; rollups equal
#                the raw table; Kafka's FlowMessages equal the truth
#   report       ipflow report --source clickhouse: equals ipflow report -w
#   killed       ClickHouse SIGKILLed while ipflowd replays at 60x and
#                restarted: the spool replays, the sums still equal the truth
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/ch_lib.sh"
need_bins
ch_need
COLLECT=$BUILD_DIR/ipflow-collect
IPFLOW=$BUILD_DIR/ipflow
KAFKAMOCK=$BUILD_DIR/kafkamock
for b in "$COLLECT" "$IPFLOW" "$KAFKAMOCK"; do [ -x "$b" ] || fail "$b is not built"; done
SYSPY=/usr/bin/python3

gen -o "$T/mix.pcap" --start-time 1700000000 -n 60000 -c 500 -s 9 --truth "$T/mix.flows.csv" || fail "ipflow-gen"
ch_start "$T/ch" || fail "clickhouse-server did not start"
mkfifo "$T/km.in"
"$KAFKAMOCK" "$T/boot" flows <"$T/km.in" >"$T/km.log" 2>&1 &
KM=$!
exec 7>"$T/km.in"
on_exit "exec 7>&-; kill $KM; wait $KM"
for i in $(seq 1 50); do [ -s "$T/boot" ] && break; sleep 0.1; done
BOOT=$(cat "$T/boot")

# collect NAME TABLE IPFLOWD-ARGS...: ipflowd → ipflow-collect → outputs
collect() {
	local name=$1 table=$2 port cpid
	shift 2
	"$COLLECT" --clickhouse-init "$CH_URL/flows.$table" >/dev/null || return 1
	port=$(free_port tcp)
	"$COLLECT" -l "tcp:127.0.0.1:$port" -w "$T/store.$name" --stats \
		-o "clickhouse:$CH_URL/flows.$table?spool=$T/spool.$name&interval=0.3&backoff_max=0.3&connect_timeout=0.5&timeout=2" \
		${KAFKA:+-o "kafka:$BOOT/flows"} >"$T/$name.collect.out" 2>"$T/$name.collect.err" &
	cpid=$!
	for i in $(seq 1 50); do ss -ltn 2>/dev/null | grep -q ":$port " && break; sleep 0.1; done
	ipflowd_file "$T/$name.jsonl" "$T/mix.pcap" -e "tcp:127.0.0.1:$port" -v 10 "$@" || { kill $cpid; return 1; }
	sleep 1
	kill -TERM $cpid
	wait $cpid || { echo "ipflow-collect exited $?"; tail -n 20 "$T/$name.collect.err"; return 1; }
}

judge() {
	chq "SELECT ipVersion, IPv6NumToString(sourceIPAddress), IPv6NumToString(destinationIPAddress),
	            sourceTransportPort, destinationTransportPort, protocolIdentifier, ipClassOfService,
	            sum(packetDeltaCount), sum(octetDeltaCount)
	     FROM flows.$1 GROUP BY ipVersion, sourceIPAddress, destinationIPAddress, sourceTransportPort,
	            destinationTransportPort, protocolIdentifier, ipClassOfService FORMAT TabSeparated" >"$T/$1.keys.tsv" || return 1
	"$PYTHON" "$SRC_DIR/tests/e2e/ch_judge.py" "$T/mix.flows.csv" "$T/$1.keys.tsv"
}

t_totals() {
	KAFKA=1 collect a flows || return 1
	grep -iE "clickhouse|kafka" "$T/a.collect.out" "$T/a.collect.err" | head -n 12
	judge flows || return 1
	local dims="exporterIPAddress, observationDomainId, samplingInterval, ipVersion, protocolIdentifier, flowDirection, ingressInterface, egressInterface, bgpSourceAsNumber, bgpDestinationAsNumber"
	chq "SELECT toStartOfMinute(collectionTimeSeconds) AS tb, $dims, sum(octetDeltaCount), sum(packetDeltaCount), count()
	     FROM flows.flows GROUP BY tb, $dims ORDER BY tb, $dims FORMAT TabSeparated" >"$T/raw1m.tsv"
	chq "SELECT collectionTimeSeconds AS tb, $dims, sum(octetDeltaCount), sum(packetDeltaCount), sum(deltaFlowCount)
	     FROM flows.flows_1m GROUP BY tb, $dims ORDER BY tb, $dims FORMAT TabSeparated" >"$T/roll1m.tsv"
	[ -s "$T/raw1m.tsv" ] && cmp "$T/raw1m.tsv" "$T/roll1m.tsv" || { echo "1-minute rollup differs"; return 1; }
	kcat -C -b "$BOOT" -t flows -o beginning -e -q -f '%s' >"$T/flows.bin" || return 1
	protoc --python_out="$T" --proto_path="$SRC_DIR/src/collect" "$SRC_DIR/src/collect/flow.proto" || return 1
	$SYSPY "$SRC_DIR/tests/e2e/kafka_judge.py" protobuf "$T/flows.bin" "$T/mix.flows.csv" "$T"
}

t_report() {
	local k
	for k in srcaddr dstaddr addr port proto exporter; do
		"$IPFLOW" report -w "$T/store.a" --by $k --top 20 --format csv >"$T/r.$k.store" || return 1
		"$IPFLOW" report --source "clickhouse:$CH_URL/flows.flows" --by $k --top 20 --format csv >"$T/r.$k.ch" || return 1
		cmp "$T/r.$k.store" "$T/r.$k.ch" || { diff "$T/r.$k.store" "$T/r.$k.ch" | head; return 1; }
	done
	head -n 4 "$T/r.srcaddr.ch"
}

t_killed() {
	( sleep 1.5; kill -KILL "$CH_PID"; sleep 1.5; echo restart >"$T/restart.flag" ) &
	local killer=$!
	collect k killed --speed 60 &
	local c=$!
	wait $killer
	ch_kill
	ch_start "$T/ch" || return 1
	wait $c || return 1
	grep -E "spooled|replayed|rows:" "$T/k.collect.out" "$T/k.collect.err" | head -n 6
	judge killed
}

check totals t_totals
check report t_report
check killed t_killed
finish
