#!/bin/bash
# test_agg_routes.sh BUILD_DIR SOURCE_DIR — aggregation caches over routed
# flows: the routing layer fills AS numbers, prefix lengths and BGP next
# hops from a route table, and the AS, prefix and BGP-next-hop schemes key
# on those real values.
#
# route_judge.py builds a table from the generator's addresses (nested
# prefixes, 2- and 4-byte ASes, some addresses unrouted). ipflowd meters
# the capture with the table, writes its main-cache flow log and exports
# six aggregation caches (as, as-tos, prefix, destination-prefix,
# source-prefix-tos in v8; bgp-nexthop-tos in v9) to ipflow-collect.
# Judged twice, independently: the flow log's routing attributes equal a
# brute-force longest-prefix match over the table (route_judge.py), and the
# collector's aggregates, summed per key, equal agg_judge.py's aggregation
# of that flow log, with the prefixes masked by the routes' own lengths
# (no `mask minimum`). The aggregates must carry real AS numbers, masks and
# next hops (not the zeros of an unrouted run).
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/collect_lib.sh"
need_bins

gen -o "$T/in.pcap" --start-time 1700000000 -n 20000 -c 300 -s 5 --truth "$T/in.flows.csv" || fail "ipflow-gen"
"$PYTHON" "$SRC_DIR/tests/e2e/route_judge.py" tables "$T/in.flows.csv" "$T" || fail "route tables"

SCHEMES="as as-tos prefix destination-prefix source-prefix-tos bgp-nexthop-tos"

t_agg_routes() {
	local port s v sep=""
	port=$(free_port udp)
	coll_start c -l "udp:127.0.0.1:$port" -o "jsonl:$T/coll.jsonl" || return 1
	echo "ipflow route-table $T/A.ipflow" >"$T/r.conf"
	echo "ip flow-export version 9 bgp-nexthop" >>"$T/r.conf"
	echo "{" >"$T/schemes.json"
	for s in $SCHEMES; do
		v=8
		[ "$s" = bgp-nexthop-tos ] && v=9
		{
			echo "ip flow-aggregation cache $s"
			echo " cache timeout inactive 5"
			echo " cache timeout active 1"
			echo " export destination 127.0.0.1 $port"
			[ "$v" = 8 ] && echo " export version 8"
			echo " enabled"
			echo "exit"
		} >>"$T/r.conf"
		printf '%s"%s": {"version": %d, "smin": 0, "dmin": 0}' "$sep" "$s" "$v" >>"$T/schemes.json"
		sep=", "
	done
	echo "}" >>"$T/schemes.json"
	ipflowd_file "jsonl:$T/main.jsonl" "$T/in.pcap" -f "$T/r.conf" --active 60 --inactive 5 --stats || return 1
	local out=$T/main.jsonl.stdout sent line
	grep -q "Route table $T/A.ipflow" "$out" || { echo "no route table in --stats"; return 1; }
	sent=$(sed -n "s/^Aggregation cache .* export v[89] udp:127.0.0.1:$port: records [0-9]* in \([0-9]*\) messages.*/\1/p" "$out" |
		awk '{ n += $1 } END { print n + 0 }')
	[ "$sent" -gt 0 ] || { echo "no aggregation export messages in --stats"; return 1; }
	coll_wait c msgs "$sent" || return 1
	coll_stop c || return 1
	line=$(coll_final c)
	[ "$(coll_val malformed "$line")" = 0 ] && [ "$(coll_val seq_lost "$line")" = 0 ] ||
		{ echo "collector: $line"; return 1; }
	echo "== the flow log's routing attributes against a brute-force LPM"
	"$PYTHON" "$SRC_DIR/tests/e2e/route_judge.py" check "$T/A.json" "$T/main.jsonl" --version 10 --bgp-nh \
		--truth "$T/in.flows.csv" || return 1
	echo "== the aggregates against the flow log's aggregation"
	"$PYTHON" "$SRC_DIR/tests/e2e/agg_judge.py" "$T/main.jsonl" "$T/coll.jsonl" "$T/schemes.json" "$out" || return 1
	# the run is only worth something if the routes reached the aggregates
	"$PYTHON" - "$T/coll.jsonl" <<-'PY'
	import json, sys
	n = nas = nmask = nnh = 0
	for l in open(sys.argv[1]):
	    r = json.loads(l)
	    n += 1
	    nas += bool(r.get("bgpSourceAsNumber") or r.get("bgpDestinationAsNumber"))
	    nmask += bool(r.get("sourceIPv4PrefixLength") or r.get("destinationIPv4PrefixLength"))
	    nnh += r.get("bgpNextHopIPv4Address", "0.0.0.0") != "0.0.0.0"
	print("collected %d aggregate records: %d with AS numbers, %d with masks, %d with a BGP next hop" % (n, nas, nmask, nnh))
	sys.exit(0 if n and nas > n // 4 and nmask > n // 4 and nnh > 0 else 1)
	PY
}

check agg_routes t_agg_routes
finish
