#!/bin/bash
# test_agg_reload.sh BUILD_DIR SOURCE_DIR — aggregation caches changed by
# reloads under traffic lose nothing, and answer `show ip cache flow
# aggregation`.
#
# ipflowd replays a generated pcap paced on the wall clock (--speed) with
# the flow log on; its configuration is rewritten and reloaded many times
# (ipflow reload and SIGHUP), alternating between:
#   A: prefix (v8, to collector 1, inactive 5 s), protocol-port (v8, to
#      collector 1), source-prefix enabled
#   B: prefix (v9, to collector 2, other timeouts), protocol-port unchanged,
#      source-prefix disabled, as added
# prefix and protocol-port run throughout: their records, from both
# collectors, summed per key must equal an independent aggregation of the
# whole flow log (agg_judge.py), so a reload neither loses nor doubles an
# entry (prefix changes exporters and version: what it held leaves through
# the old ones). source-prefix and as come and go: every time one goes its
# entries are exported first, so what the collectors got of them is
# checked to be whole flows of the log (never more than it has). While it
# runs, `show ip cache flow aggregation prefix` answers in text and JSON.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/collect_lib.sh"
need_bins
IPFLOW=$BUILD_DIR/ipflow
SOCK=$T/ctl.sock
CONF=$T/ipflow.conf

conf_a() {
	cat >"$CONF" <<-EOC
	ip flow-aggregation cache prefix
	 cache timeout inactive 5
	 mask source minimum 16
	 mask destination minimum 24
	 export destination 127.0.0.1 $P1
	 enabled
	ip flow-aggregation cache protocol-port
	 export destination 127.0.0.1 $P1
	 enabled
	ip flow-aggregation cache source-prefix
	 mask source minimum 20
	 export destination 127.0.0.1 $P1
	 enabled
	ipflow control-socket $SOCK
	EOC
}

conf_b() {
	cat >"$CONF" <<-EOC
	ip flow-aggregation cache prefix
	 cache timeout inactive 8
	 cache timeout active 1
	 mask source minimum 16
	 mask destination minimum 24
	 export destination 127.0.0.1 $P2
	 export version 9
	 enabled
	ip flow-aggregation cache protocol-port
	 export destination 127.0.0.1 $P1
	 enabled
	ip flow-aggregation cache source-prefix
	 mask source minimum 20
	 export destination 127.0.0.1 $P1
	ip flow-aggregation cache as
	 export destination 127.0.0.1 $P2
	 enabled
	ipflow control-socket $SOCK
	EOC
}

t_reload() {
	gen -o "$T/r.pcap" --start-time 1700000000 -n 40000 -c 300 -s 17 || return 1
	P1=$(free_port udp)
	P2=$(free_port udp)
	coll_start c1 -l "udp:127.0.0.1:$P1" -o "jsonl:$T/c1.jsonl" || return 1
	coll_start c2 -l "udp:127.0.0.1:$P2" -o "jsonl:$T/c2.jsonl" || return 1
	conf_a
	"$IPFLOWD" -f "$CONF" -r "$T/r.pcap" -o "jsonl:$T/main.jsonl" --speed 12 --stats >"$T/ipflowd.out" 2>"$T/ipflowd.err" &
	local pid=$!
	on_exit "kill $pid 2>/dev/null"
	local i
	for i in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
	[ -S "$SOCK" ] || { echo "no control socket"; cat "$T/ipflowd.err"; return 1; }
	local ok=0 hup=0 shown=0
	for i in $(seq 1 200); do
		kill -0 $pid 2>/dev/null || break
		if [ $((i % 2)) = 0 ]; then conf_b; else conf_a; fi
		if [ $((i % 3)) = 0 ]; then
			kill -HUP $pid 2>/dev/null && hup=$((hup + 1))
		else
			local out
			out=$("$IPFLOW" -S "$SOCK" reload 2>&1) || { serving $pid "$SOCK" || break; echo "reload $i failed: $out"; return 1; }
			ok=$((ok + 1))
		fi
		if [ $i = 5 ]; then
			"$IPFLOW" -S "$SOCK" show ip cache flow aggregation prefix >"$T/show.txt" 2>&1 &&
				"$IPFLOW" -S "$SOCK" show ip cache flow aggregation prefix --json >"$T/show.json" 2>&1 &&
				"$IPFLOW" -S "$SOCK" show ip cache flow aggregation destination-prefix >"$T/show.none.txt" 2>&1 ||
				{ serving $pid "$SOCK" || break; echo "show failed"; cat "$T/show.txt"; return 1; }
			shown=1
		fi
		sleep 0.3
	done
	wait $pid || { echo "ipflowd exited $?"; tail "$T/ipflowd.err"; return 1; }
	echo "reloads: $ok by ipflow reload, $hup by SIGHUP"
	[ $ok -ge 6 ] && [ $hup -ge 3 ] && [ $shown = 1 ] || { echo "too few reloads happened"; return 1; }
	grep -q "^IP Flow Aggregation Cache prefix, 4096 entries" "$T/show.txt" && grep -q "Src Prefix" "$T/show.txt" ||
		{ echo "show text:"; head "$T/show.txt"; return 1; }
	"$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["scheme"] == "prefix" and d["cacheAllocated"], d; assert all("sourceIPv4Prefix" in f for f in d["flows"])' "$T/show.json" ||
		{ head -c 400 "$T/show.json"; return 1; }
	grep -q "not configured" "$T/show.none.txt" || { cat "$T/show.none.txt"; return 1; }
	# everything sent has arrived
	local s1 s2
	s1=$(sed -n "s/^Aggregation cache .* export v[89] udp:127.0.0.1:$P1: records [0-9]* in \([0-9]*\) messages.*/\1/p" "$T/ipflowd.out" | head -n 1)
	sleep 1
	coll_stop c1 && coll_stop c2 || return 1
	local k line
	for k in c1 c2; do
		line=$(coll_final $k)
		for f in malformed seq_lost seq_ooo; do
			[ "$(coll_val $f "$line")" = 0 ] || { echo "$k: $f is not 0: $line"; return 1; }
		done
		[ "$(coll_val records "$line")" -gt 0 ] || { echo "$k got nothing: the destination did not move"; return 1; }
	done
	: "${s1:=0}"
	cat "$T/c1.jsonl" "$T/c2.jsonl" >"$T/all.jsonl"
	# the schemes that ran throughout: exact against the flow log
	"$PYTHON" - "$T/all.jsonl" "$T/ab.jsonl" <<-'PY'
	import json, sys
	keep = {(8, 5 << 16), (9, 0x100 + 5), (8, 2 << 16)}
	with open(sys.argv[2], "w") as out:
	    for l in open(sys.argv[1]):
	        r = json.loads(l)
	        if (r["netflowVersion"], r["observationDomainId"]) in keep:
	            out.write(l)
	PY
	echo '{"prefix": {"version": [8, 9], "smin": 16, "dmin": 24}, "protocol-port": {"version": 8}}' >"$T/schemes.json"
	"$PYTHON" "$SRC_DIR/tests/e2e/agg_judge.py" "$T/main.jsonl" "$T/ab.jsonl" "$T/schemes.json" "$T/ipflowd.out" || return 1
	# the ones that came and went: records of them arrived, each flow at most once
	"$PYTHON" - "$T/all.jsonl" "$T/main.jsonl" <<-'PY'
	import json, sys
	v4 = sum(1 for l in open(sys.argv[2]) if "sourceIPv4Address" in l)
	n = {"source-prefix": 0, "as": 0}
	for l in open(sys.argv[1]):
	    r = json.loads(l)
	    if r["netflowVersion"] == 8 and r["observationDomainId"] >> 16 == 3:
	        n["source-prefix"] += r["deltaFlowCount"]
	    if r["netflowVersion"] == 8 and r["observationDomainId"] >> 16 == 1:
	        n["as"] += r["deltaFlowCount"]
	print("flows aggregated while enabled: %s of %d IPv4 flows" % (n, v4))
	sys.exit(0 if all(0 < v < v4 for v in n.values()) else 1)
	PY
}

check agg_reload t_reload
finish
