#!/bin/bash
# test_clickhouse_report.sh BUILD_DIR SOURCE_DIR — `ipflow report --source
# clickhouse:URL` gives exactly what `ipflow report -w DIR` gives over the
# file store, for the same records: every key, every order, the filters,
# time windows, --unsample, --top, in CSV (exact counts) and JSON.
#
# The same decoded records go to both at once (tests/tools/sinkfeed with
# -o dir:DIR -o clickhouse:URL, one receive time per record: the flow end
# + 1 s, as when received live; the store finds files by receive day, so a
# receive time years after the flow would hide it from windowed store
# reports, which ClickHouse, filtering rows, would still count); the file
# store's report is the reference, ClickHouse must match it byte for byte.
# Time bounds are whole seconds: ClickHouse keeps milliseconds, the store
# microseconds, and a bound on a whole second splits both the same way.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/ch_lib.sh"
need_bins
ch_need
SINKFEED=$BUILD_DIR/sinkfeed
IPFLOW=$BUILD_DIR/ipflow
[ -x "$SINKFEED" ] && [ -x "$IPFLOW" ] || fail "sinkfeed / ipflow are not built"
START=1700000000

gen -o "$T/mix.pcap" --start-time $START -n 60000 -c 600 -s 7 --truth "$T/mix.flows.csv" || fail "ipflow-gen"
ipflowd_file "$T/mix.jsonl" "$T/mix.pcap" -e "file:$T/mix.ipfix" -v 10 || fail "ipflowd"
gen -o "$T/b.pcap" --start-time $START -n 20000 -c 200 -s 8 --v4-only || fail "ipflow-gen b"
ipflowd_file "$T/b.jsonl" "$T/b.pcap" -e "file:$T/b.nf5" -v 5 || fail "ipflowd b"
ch_start "$T/ch" || fail "clickhouse-server did not start"
"$SINKFEED" --clickhouse-init "$CH_URL/flows.flows" >/dev/null || fail "--clickhouse-init"
URL="$CH_URL/flows.flows"
# two exporters, one sampled 1:10, into both backends
"$SINKFEED" -o "dir:$T/store" -o "clickhouse:$URL?spool=$T/spool&interval=0.2" --exporter 192.0.2.1 \
	--flow-time "$T/mix.ipfix" >"$T/feed1.out" 2>"$T/feed1.log" || fail "feed 1: $(tail -5 "$T/feed1.log")"
"$SINKFEED" -o "dir:$T/store" -o "clickhouse:$URL?spool=$T/spool&interval=0.2" --exporter 2001:db8::7 \
	--sampling 10 --flow-time "$T/b.nf5" >"$T/feed2.out" 2>"$T/feed2.log" || fail "feed 2: $(tail -5 "$T/feed2.log")"
note "rows in ClickHouse: $(chq 'SELECT count() FROM flows.flows')"

N=0
# same NAME ARGS...: both backends, identical output
same() {
	local name=$1
	shift
	N=$((N + 1))
	"$IPFLOW" report -w "$T/store" "$@" >"$T/$name.store" 2>"$T/$name.store.err" || { cat "$T/$name.store.err"; return 1; }
	"$IPFLOW" report --source "clickhouse:$URL" "$@" >"$T/$name.ch" 2>"$T/$name.ch.err" || { cat "$T/$name.ch.err"; return 1; }
	[ -s "$T/$name.store" ] || { echo "$name: empty report"; return 1; }
	# JSON: the file store adds its own read counters ("store"); the rest must match
	if [[ " $* " == *" --format json "* ]]; then
		"$PYTHON" -c 'import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
a.pop("store", None)
sys.exit(0 if a == b and "store" not in b else 1)' "$T/$name.store" "$T/$name.ch" && return 0
		echo "$name: JSON differs"
		return 1
	fi
	# text: the store's total line also says how many files it read
	[[ " $* " == *" --format "* ]] || sed -i 's/ in [0-9]* files\?$//' "$T/$name.store"
	if ! cmp -s "$T/$name.store" "$T/$name.ch"; then
		echo "$name ($*): the ClickHouse report differs from the file store's:"
		diff "$T/$name.store" "$T/$name.ch" | head -n 10
		return 1
	fi
}

t_keys() {
	local k o
	for k in srcaddr dstaddr addr srcport dstport port proto srcas dstas as inif outif exporter; do
		for o in bytes packets flows; do
			same "k_${k}_$o" --by "$k" --order "$o" --top 15 --format csv || return 1
		done
	done
	echo "$N reports identical"
	head -n 5 "$T/k_srcaddr_bytes.ch"
}

t_filters() {
	same f_proto --by dstport --proto udp --format csv || return 1
	same f_port --by srcaddr --port 443 --format csv || return 1
	same f_src4 --by dstaddr --src 10.0.0.0/8 --format csv --top 0 || return 1
	same f_dst6 --by srcaddr --dst 2001:db8::/32 --format csv || return 1
	same f_addr --by port --addr 198.51.100.0/24 --format csv || return 1
	same f_exporter --by proto --exporter 2001:db8::7 --format csv || return 1
	same f_exporter4 --by srcaddr --exporter 192.0.2.1 --proto tcp --format csv || return 1
	same f_window --by srcaddr --from $((START + 30)) --to $((START + 90)) --format csv || return 1
	same f_window_iso --by exporter --from 2023-11-14T22:14:00Z --format csv || return 1
	same f_unsample --by exporter --unsample --format csv || return 1
	same f_unsample_as --by as --unsample --order packets --format csv || return 1
	same f_all --by proto --top 0 --format json || return 1
	same f_text --by dstaddr --top 5 || return 1
	same f_none --by srcaddr --src 203.0.113.0/24 --proto 47 --format csv || return 1
	echo "$N reports identical"
}

t_errors() {
	if "$IPFLOW" report --source "clickhouse:$CH_URL/flows.nosuchtable" >"$T/e.out" 2>&1; then
		echo "a report over a missing table succeeded"
		return 1
	fi
	cat "$T/e.out"
	grep -q "nosuchtable" "$T/e.out" || return 1
	if "$IPFLOW" report --source "clickhouse:http://u:p@127.0.0.1:$CH_HTTP/flows.flows" >"$T/e2.out" 2>&1; then
		return 1
	fi
	grep -q "not taken from the command line" "$T/e2.out"
}

check keys t_keys
check filters t_filters
check errors t_errors
finish
