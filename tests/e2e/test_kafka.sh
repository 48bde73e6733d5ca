#!/bin/bash
# test_kafka.sh BUILD_DIR SOURCE_DIR — the Kafka sink against librdkafka's
# mock cluster (tests/tools/kafkamock; no broker is packaged in Debian),
# read back by an independent consumer (kcat) and judged against
# ipflow-gen's ground truth.
#
#   protobuf   length-delimited goflow2 FlowMessages: parsed by hand with
#              goflow2's field numbers and by Google's protobuf library
#              (protoc --python_out); per-key sums equal the truth
#   json       goflow2's JSON rendering, same judgement
#   no_broker  a broker that is not there: every record counted as dropped
#              at close, none lost silently
#
# The sink runs under tests/tools/sinkfeed until ipflow-collect has it.
. "$(dirname "$0")/lib.sh" "$@"
need_bins
SINKFEED=$BUILD_DIR/sinkfeed
KAFKAMOCK=$BUILD_DIR/kafkamock
[ -x "$SINKFEED" ] && [ -x "$KAFKAMOCK" ] || fail "sinkfeed / kafkamock are not built"
command -v kcat >/dev/null || skip "kcat is not installed (Debian package kcat)"
SYSPY=/usr/bin/python3   # Debian's, for python3-protobuf
command -v protoc >/dev/null && $SYSPY -c 'import google.protobuf' 2>/dev/null \
	|| skip "protoc / python3-protobuf are not installed (Debian packages protobuf-compiler, python3-protobuf)"

gen -o "$T/mix.pcap" --start-time 1700000000 -n 40000 -c 400 -s 6 --truth "$T/mix.flows.csv" || fail "ipflow-gen"
ipflowd_file "$T/mix.jsonl" "$T/mix.pcap" -e "file:$T/mix.ipfix" -v 10 || fail "ipflowd"

mkfifo "$T/km.in"
"$KAFKAMOCK" "$T/boot" flows flowsjson <"$T/km.in" >"$T/km.log" 2>&1 &
KM=$!
exec 7>"$T/km.in"
on_exit "exec 7>&-; kill $KM; wait $KM"
for i in $(seq 1 50); do [ -s "$T/boot" ] && break; sleep 0.1; done
BOOT=$(cat "$T/boot")
[ -n "$BOOT" ] || fail "the mock cluster did not start: $(cat "$T/km.log")"
note "mock Kafka cluster at $BOOT"

closed() { sed -n "s/.*kafka sink.*closed:.* $1=\([0-9]*\).*/\1/p" "$2" | tail -n 1; }

# consume TOPIC FMT OUT: every message of TOPIC from the beginning
consume() {
	kcat -C -b "$BOOT" -t "$1" -o beginning -e -q -f "$2" >"$3" 2>"$3.err"
}

t_protobuf() {
	"$SINKFEED" -o "kafka:$BOOT/flows" "$T/mix.ipfix" >"$T/pb.out" 2>"$T/pb.log" || { cat "$T/pb.log"; return 1; }
	grep closed: "$T/pb.log"
	local fed
	fed=$(sed -n 's/^fed records=\([0-9]*\).*/\1/p' "$T/pb.out")
	[ "$(closed written "$T/pb.log")" = "$fed" ] || { echo "delivered != fed ($fed)"; return 1; }
	[ "$(closed dropped "$T/pb.log")" = 0 ] || return 1
	consume flows '%s' "$T/flows.bin" || { cat "$T/flows.bin.err"; return 1; }
	protoc --python_out="$T" --proto_path="$SRC_DIR/src/collect" "$SRC_DIR/src/collect/flow.proto" || return 1
	$SYSPY "$SRC_DIR/tests/e2e/kafka_judge.py" protobuf "$T/flows.bin" "$T/mix.flows.csv" "$T" || return 1
	# one message per record
	local n
	n=$(kcat -C -b "$BOOT" -t flows -o beginning -e -q -f '%o\n' | wc -l)
	[ "$n" = "$fed" ] || { echo "$n messages for $fed records"; return 1; }
	# the key is the exporter address (4 bytes, 192.0.2.1)
	[ "$(kcat -C -b "$BOOT" -t flows -o beginning -c 1 -e -q -f '%k' | od -An -tx1 | tr -d ' \n')" = c0000201 ]
}

t_json() {
	"$SINKFEED" -o "kafka:$BOOT/flowsjson?format=json" "$T/mix.ipfix" >"$T/js.out" 2>"$T/js.log" || return 1
	grep closed: "$T/js.log"
	[ "$(closed dropped "$T/js.log")" = 0 ] || return 1
	consume flowsjson '%s\n' "$T/flows.json" || return 1
	head -c 400 "$T/flows.json"
	echo
	$SYSPY "$SRC_DIR/tests/e2e/kafka_judge.py" json "$T/flows.json" "$T/mix.flows.csv" || return 1
	grep -q '"type":"IPFIX"' "$T/flows.json" && grep -q '"sampler_address":"192.0.2.1"' "$T/flows.json"
}

t_no_broker() {
	local port
	port=$(free_port tcp)
	"$SINKFEED" -o "kafka:127.0.0.1:$port/flows?timeout=1&close_timeout=0.5" --synth 2000 >"$T/nb.out" 2>"$T/nb.log"
	grep closed: "$T/nb.log"
	[ "$(closed written "$T/nb.log")" = 0 ] || return 1
	[ "$(closed dropped "$T/nb.log")" = 2000 ] || { echo "not every undelivered record was counted"; return 1; }
}

t_queue_full() {
	local port
	port=$(free_port tcp)
	"$SINKFEED" -o "kafka:127.0.0.1:$port/flows?queue=100&timeout=1&close_timeout=0.3" --synth 1000 \
		>"$T/qf.out" 2>"$T/qf.log"
	grep closed: "$T/qf.log"
	[ "$(closed queue_full "$T/qf.log")" = 900 ] && [ "$(closed dropped "$T/qf.log")" = 1000 ]
}

check protobuf t_protobuf
check json t_json
check no_broker t_no_broker
check queue_full t_queue_full
finish
