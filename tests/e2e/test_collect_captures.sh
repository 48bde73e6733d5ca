#!/bin/bash
# test_collect_captures.sh BUILD_DIR SOURCE_DIR — the collector's regression
# corpus: real export captures from about 30 vendors.
#
# The table in ../shared/captures/README.md (relative to the source tree)
# gives, for every capture, its messages and the data + options-data
# records and templates an independent decoder (tshark) agreed on. Each
# file is read with `ipflow-collect -r FILE --stats`; the counters must
# equal the table (records = records + options records, templates = the
# distinct templates learnt), no message may be malformed except in the
# `*_invalid*` files, which must report an error — a malformed message, or
# (nf9_invalid01, whose only fault is a header count of flow records
# alone, as softflowd sends) a v9 count mismatch — and still decode their
# valid part. Then the JSON lines output must hold one line per record
# (with --options: per options record too), each a JSON object naming its
# exporter, domain and template; the CSV output one row per data record;
# and the IPFIX File form of the ipfixcol2 example must decode like its
# pcap. Every file also runs through the ASan build when the suite does.
#
# A missing corpus is a FAIL (not a skip): the corpus is part of the test.
. "$(dirname "$0")/lib.sh" "$@"

COLLECT=${IPFLOW_COLLECT:-$BUILD_DIR/ipflow-collect}
[ -x "$COLLECT" ] || fail "$COLLECT is not built"
CAPS=${CAPTURES_DIR:-$SRC_DIR/../shared/captures}
README=$CAPS/README.md
[ -f "$README" ] || fail "capture corpus not found: $README (expected at SOURCE_DIR/../shared/captures)"

# The table rows: | file | version:messages | records | templates |
mapfile -t ROWS < <(sed -n 's/^| \([^ |]*\.pcap\) | [a-z0-9]*:\([0-9]*\) | *\([0-9]*\) | *\([0-9]*\) |$/\1 \2 \3 \4/p' "$README")
[ "${#ROWS[@]}" -ge 40 ] || fail "only ${#ROWS[@]} rows read from $README's table"
note "${#ROWS[@]} captures in $README"

# totals FILE ARGS...: print the Totals line of ipflow-collect -r FILE --stats.
totals() {
	local f=$1
	shift
	timeout -k 5 60 "$COLLECT" -q -r "$f" --stats "$@" 2>"$T/err" | grep '^Totals:' \
		|| { echo "no Totals line for $f; stderr:"; cat "$T/err"; return 1; }
}

val() { # val NAME TOTALS-LINE
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

t_counts() {
	local row f msgs recs tmpls line bad=0 got_m got_r got_t mal cnt
	for row in "${ROWS[@]}"; do
		read -r f msgs recs tmpls <<<"$row"
		[ -f "$CAPS/vendors/$f" ] || { echo "missing capture $f"; bad=$((bad + 1)); continue; }
		mkdir -p "$T/out"
		line=$(totals "$CAPS/vendors/$f" --options -o "jsonl:$T/out/$f.jsonl" -o "csv:$T/out/$f.csv") ||
			{ bad=$((bad + 1)); continue; }
		echo "$line" >"$T/out/$f.totals"
		got_m=$(val msgs "$line")
		got_r=$(($(val records "$line") + $(val opt_records "$line")))
		got_t=$(val tmpl_new "$line")
		mal=$(val malformed "$line")
		cnt=$(val v9_count_mismatch "$line")
		local why=""
		[ "$got_m" = "$msgs" ] || why="$why messages $got_m (want $msgs)"
		[ "$got_r" = "$recs" ] || why="$why records $got_r (want $recs)"
		[ "$got_t" = "$tmpls" ] || why="$why templates $got_t (want $tmpls)"
		case $f in
		*_invalid*) [ "$mal" -gt 0 ] || [ "$cnt" -gt 0 ] || why="$why no error reported for an invalid capture" ;;
		*) [ "$mal" = 0 ] || why="$why $mal malformed messages" ;;
		esac
		if [ -n "$why" ]; then
			echo "FAIL $f:$why"
			bad=$((bad + 1))
		else
			echo "ok   $f: $got_m messages, $got_r records, $got_t templates, $mal malformed, $cnt v9 count mismatches"
		fi
	done
	[ $bad = 0 ]
}

# Every record is one JSON object with its origin (options records too,
# with --options); CSV rows are the data records. (The outputs of
# t_counts' runs.)
t_outputs() {
	local row f msgs recs tmpls line bad=0 data opt lines
	mkdir -p "$T/out"
	for row in "${ROWS[@]}"; do
		read -r f msgs recs tmpls <<<"$row"
		line=$(cat "$T/out/$f.totals" 2>/dev/null) || { echo "no run of $f"; bad=$((bad + 1)); continue; }
		data=$(val records "$line")
		opt=$(val opt_records "$line")
		lines=$(wc -l <"$T/out/$f.jsonl")
		if [ "$lines" != $((data + opt)) ]; then
			echo "FAIL $f: $lines JSON lines, want $data records + $opt options records"
			bad=$((bad + 1))
		fi
		if [ "$(($(wc -l <"$T/out/$f.csv") - 1))" != "$data" ]; then
			echo "FAIL $f: $(wc -l <"$T/out/$f.csv") CSV lines, want a header and $data rows"
			bad=$((bad + 1))
		fi
	done
	"$PYTHON" - "$T"/out/*.jsonl <<-'EOF' || bad=$((bad + 1))
	import json, sys
	for path in sys.argv[1:]:
	    for n, line in enumerate(open(path, encoding="utf-8"), 1):
	        try:
	            d = json.loads(line)
	            assert isinstance(d, dict), "not an object"
	            assert "exporterIPv4Address" in d or "exporterIPv6Address" in d, "no exporter"
	            for k in ("observationDomainId", "templateId", "netflowVersion"):
	                assert isinstance(d[k], int), "no " + k
	        except (ValueError, AssertionError, KeyError) as e:
	            sys.exit("%s:%d: %s" % (path, n, e))
	EOF
	echo "JSON and CSV outputs agree with the counters for ${#ROWS[@]} captures"
	[ $bad = 0 ]
}

# Enterprise fields keep their number; IPFIX varlen and v9 (H3C) varlen
# strings come out as text; a v5 record has its derived times.
t_fields() {
	"$COLLECT" -q -r "$CAPS/vendors/ipfix_netscaler_varlen.pcap" -o "jsonl:$T/ns.jsonl" || return 1
	grep -q '"e5951:129":' "$T/ns.jsonl" || { echo "no enterprise key e5951:129 in NetScaler records"; return 1; }
	"$COLLECT" -q -r "$CAPS/vendors/nf9_h3c_netstream_varstring.pcap" -o "jsonl:$T/h3c.jsonl" || return 1
	grep -q '"VRFname":""' "$T/h3c.jsonl" || { echo "H3C varlen VRFname not decoded"; cat "$T/h3c.jsonl"; return 1; }
	"$COLLECT" -q -r "$CAPS/vendors/nf9_cisco_asr9k_opt256.pcap" --options -o "jsonl:$T/opt.jsonl" || return 1
	grep -q '"interfaceDescription":"TenGigE0_0_1_0"' "$T/opt.jsonl" || { echo "options string missing"; return 1; }
	grep -q '"scopeSystem":' "$T/opt.jsonl" || { echo "v9 scope field not named"; return 1; }
	"$COLLECT" -q -r "$CAPS/vendors/nf5_mikrotik.pcap" -o "jsonl:$T/v5.jsonl" || return 1
	[ "$(grep -c '"flowStartMilliseconds":[0-9]' "$T/v5.jsonl")" = 30 ] || { echo "v5 records without flowStartMilliseconds"; return 1; }
	echo "enterprise, varlen, options and derived time fields present"
}

# The IPFIX File form of the ipfixcol2 example decodes like its pcap.
t_ipfix_file() {
	local a b
	a=$(totals "$CAPS/vendors/example_flows.pcap" -o null:) || return 1
	b=$(totals "$CAPS/vendors/example_flows.ipfix" -o null:) || return 1
	for k in msgs records tmpl_new malformed; do
		[ "$(val $k "$a")" = "$(val $k "$b")" ] || { echo "$k: pcap $(val $k "$a"), IPFIX File $(val $k "$b")"; return 1; }
	done
	echo "IPFIX File: $(val records "$b") records, as the pcap"
}

# Ports: given ports select datagrams; others are counted, not decoded.
t_ports() {
	local out
	out=$("$COLLECT" -q -r "$CAPS/vendors/netflowv9.pcap" 2055 --stats -o null:) || return 1
	echo "$out" | grep -q 'export messages.*other ports or not export 10' || { echo "$out" | head -3; return 1; }
	out=$("$COLLECT" -q -r "$CAPS/vendors/netflowv9.pcap" 2055,2057 --stats -o null:) || return 1
	echo "$out" | grep -q '10 export messages' || { echo "$out" | head -3; return 1; }
	echo "port selection ok"
}

check counts t_counts
check outputs t_outputs
check fields t_fields
check ipfix_file t_ipfix_file
check ports t_ports
finish
