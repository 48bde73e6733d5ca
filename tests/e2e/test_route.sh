#!/bin/bash
# test_route.sh BUILD_DIR SOURCE_DIR — routing attributes end to end.
#
# A generated pcap and route tables built from its addresses by
# route_judge.py (nested prefixes from /9 to host routes, IPv4 and IPv6,
# 2- and 4-byte AS numbers, a good share of addresses left unrouted), in
# ipflow's own format and as `birdc show route all` output with decoy
# non-primary routes. ipflowd meters the pcap with the table and exports
# v5, v7, v9 (peer-as bgp-nexthop, bird table) and IPFIX (bgp-nexthop) to a
# loopback collector capturing the datagrams and to nfcapd; ipflow-collect
# and tshark each decode the capture, nfdump nfcapd's files, and every
# record they give must carry exactly
# the AS numbers (AS_TRANS for 4-byte ones in v5 and v7), prefix lengths, next
# hop, output interface and BGP next hop that an independent brute-force
# longest-prefix match in python computes for its addresses; packets add
# up to the generator's ground truth and tshark finds no malformed packet.
# Reload: ipflowd replays the pcap paced; the table file is replaced by
# another (bird format, other values) and reloaded: records switch from
# the old table's values to the new one's, never back; a table file with
# only malformed lines and a missing file are refused (old table kept,
# counted in `show ip route summary`).
. "$(dirname "$0")/lib.sh" "$@"
need_bins
IPFLOW=$BUILD_DIR/ipflow
COLLECT=$BUILD_DIR/ipflow-collect
JUDGE=$SRC_DIR/tests/e2e/route_judge.py
command -v tshark >/dev/null || fail "tshark not installed (Debian package tshark)"
command -v nfcapd >/dev/null && command -v nfdump >/dev/null || fail "nfcapd/nfdump not installed (Debian package nfdump)"
[ -x "$COLLECT" ] || fail "$COLLECT is not built"

# collector NAME: a loopback UDP collector writing $T/NAME.pcap; its port in $T/NAME.port
collector() {
	"$PYTHON" "$SRC_DIR/tests/e2e/udp2pcap.py" "$T/$1.pcap" "$T/$1.port" "$T/$1.stop" \
		</dev/null >/dev/null 2>"$T/$1.col.err" &
	local pid=$!
	eval "COLPID_$1=$pid"
	on_exit "kill $pid"
	local i
	for i in $(seq 100); do [ -s "$T/$1.port" ] && return 0; sleep 0.1; done
	echo "collector $1 did not start"
	cat "$T/$1.col.err"
	return 1
}

wait_collector() {
	touch "$T/$1.stop"
	local pid i
	pid=$(eval "echo \$COLPID_$1")
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	echo "collector $1 did not stop"
	return 1
}

# decode NAME [IGNORE]: the capture through ipflow-collect (jsonl) and
# tshark (json), and tshark's verdict on malformed packets (expert lines
# matching the regex IGNORE left out)
decode() {
	local n=$1 ignore=${2:-^$} port bad
	port=$(cat "$T/$n.port")
	"$COLLECT" -r "$T/$n.pcap" -o "jsonl:$T/$n.jsonl" --stats >"$T/$n.coll.out" 2>"$T/$n.coll.err" ||
		{ echo "ipflow-collect -r failed"; cat "$T/$n.coll.err"; return 1; }
	tshark -r "$T/$n.pcap" -d "udp.port==$port,cflow" -T json --no-duplicate-keys >"$T/$n.tshark.json" 2>/dev/null ||
		{ echo "tshark failed"; return 1; }
	bad=$(tshark -r "$T/$n.pcap" -d "udp.port==$port,cflow" -V 2>/dev/null |
		grep -iE 'malformed|expert info \((error|warning)' | grep -cvE "$ignore" || true)
	[ "$bad" = 0 ] || { echo "tshark: $bad malformed/expert lines"; return 1; }
}

# flow records the run's destination sent (--stats: "N flows exported in M udp datagrams")
exported() { sed -n 's/^ *\([0-9]*\) flows exported in .*/\1/p' "$T/$1.stats" | head -n 1; }

# export NAME TABLE VERSION-LINE: meter the pcap with TABLE, export to a
# capturing collector and to nfcapd (each its own stream)
export_run() {
	local n=$1 table=$2 vline=$3 nfport nfpid
	collector "$n" || return 1
	nfport=$(free_port udp)
	mkdir -p "$T/$n.nf"
	nfcapd -w "$T/$n.nf" -p "$nfport" -b 127.0.0.1 -B 8000000 -t 3600 >"$T/$n.nfcapd.log" 2>&1 &
	nfpid=$!
	on_exit "kill $nfpid"
	sleep 0.3
	cat >"$T/$n.conf" <<-EOC
	$vline
	ip flow-export destination 127.0.0.1 $(cat "$T/$n.port")
	ip flow-export destination 127.0.0.1 $nfport
	ipflow route-table $table
	EOC
	timeout 120 "$IPFLOWD" -f "$T/$n.conf" -r "$T/in.pcap" --stats >"$T/$n.stats" 2>"$T/$n.err" ||
		{ echo "ipflowd failed"; cat "$T/$n.err"; return 1; }
	wait_collector "$n" && decode "$n" || return 1
	sleep 0.3
	kill "$nfpid" && wait "$nfpid" 2>/dev/null
	TZ=UTC nfdump -R "$T/$n.nf" -o json >"$T/$n.nfdump.json" 2>"$T/$n.nfdump.err" ||
		{ echo "nfdump failed"; cat "$T/$n.nfdump.err"; return 1; }
}

judge() { # NAME TABLE.json ARGS...: both decoders' records
	local n=$1 tj=$2 cnt
	shift 2
	cnt=$(exported "$n")
	[ -n "$cnt" ] && [ "$cnt" -gt 0 ] || { echo "no export count in --stats"; return 1; }
	echo "== ipflow-collect"
	"$PYTHON" "$JUDGE" check "$tj" "$T/$n.jsonl" --truth "$T/in.flows.csv" --count "$cnt" "$@" || return 1
	echo "== tshark"
	"$PYTHON" "$JUDGE" check "$tj" "$T/$n.tshark.json" --tshark --truth "$T/in.flows.csv" --count "$cnt" "$@" || return 1
	echo "== nfdump"
	"$PYTHON" "$JUDGE" check "$tj" "$T/$n.nfdump.json" --nfdump --truth "$T/in.flows.csv" --count "$cnt" "$@"
}

note "$E2E_NAME: work=$T"
gen -o "$T/in.pcap" -n 6000 -c 300 -s 5 --truth "$T/in.flows.csv" || fail "ipflow-gen"
"$PYTHON" "$JUDGE" tables "$T/in.flows.csv" "$T" || fail "route tables"

t_v5() {
	export_run v5 "$T/A.ipflow" "ip flow-export version 5" || return 1
	grep -q "Route table $T/A.ipflow (ipflow format)" "$T/v5.stats" || { echo "no route summary in --stats"; return 1; }
	judge v5 "$T/A.json" --version 5
}

t_v7() {
	export_run v7 "$T/B.ipflow" "ip flow-export version 7" || return 1
	judge v7 "$T/B.json" --version 7
}

t_v9_bird_peer() {
	export_run v9 "$T/A.bird" "ip flow-export version 9 peer-as bgp-nexthop" || return 1
	grep -q "Route table $T/A.bird (birdc show route format)" "$T/v9.stats" || { echo "not read as bird output"; return 1; }
	grep -q "Malformed lines: 0" "$T/v9.stats" || { grep -A3 "Route table" "$T/v9.stats"; return 1; }
	judge v9 "$T/A.bird.json" --version 9 --peer --bgp-nh
}

t_ipfix() {
	export_run ipfix "$T/B.ipflow" "ip flow-export version 10 bgp-nexthop" || return 1
	judge ipfix "$T/B.json" --version 10 --bgp-nh
}

# The judge must be able to fail: the v9 records against the other table.
t_judge_fails() {
	if "$PYTHON" "$JUDGE" check "$T/B.bird.json" "$T/v9.jsonl" --version 9 --peer --bgp-nh >"$T/neg.out"; then
		echo "records judged against the wrong table passed"
		return 1
	fi
	grep -q "errors" "$T/neg.out"
}

t_reload() {
	local sock=$T/ctl.sock tab=$T/live.routes dur speed
	cp "$T/A.ipflow" "$tab"
	collector rl || return 1
	cat >"$T/rl.conf" <<-EOC
	ip flow-export version 9 bgp-nexthop
	ip flow-export destination 127.0.0.1 $(cat "$T/rl.port")
	ip flow-cache timeout inactive 2
	ip flow-cache timeout active 1
	ipflow route-table $tab
	ipflow control-socket $sock
	EOC
	# the capture's span played in about 8 s
	dur=$(awk -F, 'NR > 1 { if (!lo || $10 < lo) lo = $10; if ($11 > hi) hi = $11 } END { printf "%d", (hi - lo) / 1e6 }' "$T/in.flows.csv")
	speed=$(awk -v d="$dur" 'BEGIN { s = d / 8; printf "%.2f", s < 1 ? 1 : s }')
	"$IPFLOWD" -f "$T/rl.conf" -r "$T/in.pcap" --speed "$speed" --stats >"$T/rl.stats" 2>"$T/rl.err" &
	local pid=$! i
	on_exit "kill $pid"
	for i in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	[ -S "$sock" ] || { echo "no control socket"; cat "$T/rl.err"; return 1; }
	"$IPFLOW" -S "$sock" show ip route summary >"$T/sum0.out" || { cat "$T/sum0.out"; return 1; }
	grep -q "Loads: 1; reloads refused: 0" "$T/sum0.out" || { cat "$T/sum0.out"; return 1; }
	sleep 3
	cp "$T/B.bird" "$tab.new" && mv "$tab.new" "$tab"
	"$IPFLOW" -S "$sock" reload >"$T/rl1.out" 2>&1 || { echo "reload to table B failed"; cat "$T/rl1.out"; return 1; }
	"$IPFLOW" -S "$sock" show ip route summary >"$T/sum1.out"
	grep -q "birdc show route format" "$T/sum1.out" && grep -q "Loads: 2; reloads refused: 0" "$T/sum1.out" ||
		{ cat "$T/sum1.out"; return 1; }
	# show ip cache verbose flow: flows still in the cache show the AS
	# numbers and masks their export will carry (table B, origin AS)
	"$IPFLOW" -S "$sock" show ip cache verbose flow >"$T/cv.out" || { cat "$T/cv.out"; return 1; }
	"$PYTHON" - "$T/B.bird.json" "$T/cv.out" <<-'PY' || { head -20 "$T/cv.out"; return 1; }
	import ipaddress, json, sys
	rs = [(ipaddress.ip_network(r["prefix"]), r["origin"]) for r in json.load(open(sys.argv[1]))]
	def lpm(a):
	    a = ipaddress.ip_address(a)
	    best = None
	    for n, o in rs:
	        if n.version == a.version and a in n and (best is None or n.prefixlen > best[0].prefixlen):
	            best = (n, o)
	    return (best[1], best[0].prefixlen) if best else (0, 0)
	lines = [l.split() for l in open(sys.argv[2]) if l.strip()]
	i = next(k for k, l in enumerate(lines) if l and l[0] == "Port") + 1
	n = hits = 0
	while i + 1 < len(lines) and not lines[i][0].startswith("("):
	    one, two = lines[i], lines[i + 1]
	    i += 2
	    got = (int(two[2]), int(two[1][1:]), int(two[5]), int(two[4][1:]))
	    want = lpm(one[1]) + lpm(one[3])
	    want = (want[0], want[1], want[2], want[3])
	    if got != want:
	        sys.exit("cached flow %s -> %s: AS/mask %s, the table gives %s" % (one[1], one[3], got, want))
	    n += 1
	    hits += got[0] != 0 or got[2] != 0
	if hits < 3:
	    sys.exit("only %d of %d cached flows with an AS" % (hits, n))
	print("show ip cache verbose flow: %d cached flows, %d with table B's AS numbers and masks" % (n, hits))
	PY
	# show ip route ADDRESS: a host inside each of a few B routes gets B's values
	local q nq=0
	while read -r q; do
		set -- $q
		nq=$((nq + 1))
		"$IPFLOW" -S "$sock" show ip route "$1" >"$T/sr.out" || { cat "$T/sr.out"; return 1; }
		grep -q "Routing entry for $2 " "$T/sr.out" && grep -q "Origin AS $3, peer AS $4;" "$T/sr.out" ||
			{ echo "show ip route $1: want $2 AS $3/$4"; cat "$T/sr.out"; return 1; }
	done < <("$PYTHON" - "$T/B.bird.json" <<-'PY'
	import ipaddress, json, sys
	rs = json.load(open(sys.argv[1]))
	nets = [ipaddress.ip_network(r["prefix"]) for r in rs]
	for r in rs[::9]:
	    n = ipaddress.ip_network(r["prefix"])
	    a = n[-1]  # the last address: no longer route in B may cover it
	    if any(m != n and m.version == n.version and a in m and m.prefixlen > n.prefixlen for m in nets):
	        continue
	    print(a, r["prefix"], r["origin"], r["peer"])
	PY
	)
	[ "$nq" -ge 3 ] || { echo "only $nq show ip route checks"; return 1; }
	echo "show ip route: $nq addresses answered with table B's route"
	sleep 1
	# only malformed lines: refused, B stays
	printf '10.0.0.0/99 x y z\nnot a route\n' >"$T/bad.routes" && mv "$T/bad.routes" "$tab"
	if "$IPFLOW" -S "$sock" reload >"$T/rl2.out" 2>&1; then echo "a table of malformed lines was accepted"; return 1; fi
	grep -q "Reload failed: route table $tab: 2 malformed lines and not one route" "$T/rl2.out" ||
		{ cat "$T/rl2.out"; return 1; }
	grep -q "$tab:1: " "$T/rl.err" && grep -q "$tab:2: " "$T/rl.err" ||
		{ echo "malformed lines not reported with file:line"; cat "$T/rl.err"; return 1; }
	# a missing file: refused, B stays
	rm -f "$tab"
	if "$IPFLOW" -S "$sock" reload >"$T/rl3.out" 2>&1; then echo "a missing table was accepted"; return 1; fi
	grep -q "Reload failed: route table $tab: No such file" "$T/rl3.out" || { cat "$T/rl3.out"; return 1; }
	kill -HUP "$pid" # the same through SIGHUP
	sleep 0.3
	"$IPFLOW" -S "$sock" show ip route summary >"$T/sum2.out"
	grep -q "birdc show route format" "$T/sum2.out" && grep -q "Loads: 2; reloads refused: 3" "$T/sum2.out" ||
		{ cat "$T/sum2.out"; return 1; }
	for i in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	wait "$pid" || { echo "ipflowd exited $?"; cat "$T/rl.err"; return 1; }
	wait_collector rl && decode rl || return 1
	"$PYTHON" "$JUDGE" reload "$T/A.json" "$T/B.bird.json" "$T/rl.jsonl" --truth "$T/in.flows.csv" --bgp-nh
}

# This host's own tables as `ip route` prints them: every line read, the
# routes of the main table counted as python counts them.
t_host_ip_route() {
	{ ip route show table all; ip -6 route show table all; } >"$T/host.routes" 2>/dev/null
	[ -s "$T/host.routes" ] || { echo "ip route printed nothing"; return 1; }
	"$IPFLOWD" -r "$T/in.pcap" --routes "$T/host.routes" -e "file:$T/host.out" --stats >"$T/host.stats" 2>"$T/host.err" ||
		{ cat "$T/host.err"; return 1; }
	grep -q "Malformed lines: 0;" "$T/host.stats" || { grep -A4 "^Route table" "$T/host.stats"; return 1; }
	local want got
	want=$("$PYTHON" - "$T/host.routes" <<-'PY'
	import ipaddress, sys
	skip = {"local", "broadcast", "multicast", "anycast", "throw", "nat"}
	seen, fam = set(), 4
	for line in open(sys.argv[1]):
	    w = line.split()
	    if not w or line[0] in " \t" or w[0] in skip:
	        continue
	    if "table" in w and w[w.index("table") + 1] not in ("main", "254"):
	        continue
	    if w[0] in ("unicast", "blackhole", "unreachable", "prohibit"):
	        w = w[1:]
	    if w[0] == "default":
	        if "via" in w:
	            fam = ipaddress.ip_address(w[w.index("via") + 1]).version
	        net = ipaddress.ip_network("0.0.0.0/0" if fam == 4 else "::/0")
	    else:
	        net = ipaddress.ip_network(w[0], strict=False)
	        fam = net.version
	    seen.add(net)
	print("%d %d" % (sum(n.version == 4 for n in seen), sum(n.version == 6 for n in seen)))
	PY
	)
	got=$(sed -n 's/^  Routes: \([0-9]*\) IPv4, \([0-9]*\) IPv6.*/\1 \2/p' "$T/host.stats")
	echo "routes IPv4 IPv6: ipflowd $got, python $want"
	[ "$got" = "$want" ]
}

# A reload that adds bgp-nexthop: the v9 templates gain bgpNextHop (IE 18
# / 63); records after it carry the field, never the other way round, and
# tshark decodes the whole stream (both template layouts) cleanly.
t_reload_bgp_nexthop() {
	local sock=$T/ctl2.sock i
	collector bn || return 1
	cat >"$T/bn.conf" <<-EOC
	ip flow-export version 9
	ip flow-export destination 127.0.0.1 $(cat "$T/bn.port")
	ip flow-cache timeout inactive 2
	ipflow route-table $T/A.ipflow
	ipflow control-socket $sock
	EOC
	# the capture's span played in about 5 s; the reload after 2
	local speed
	speed=$(awk -F, 'NR > 1 { if (!lo || $10 < lo) lo = $10; if ($11 > hi) hi = $11 } END { s = (hi - lo) / 1e6 / 5; printf "%.2f", s < 1 ? 1 : s }' "$T/in.flows.csv")
	"$IPFLOWD" -f "$T/bn.conf" -r "$T/in.pcap" --speed "$speed" >"$T/bn.stats" 2>"$T/bn.err" &
	local pid=$!
	on_exit "kill $pid"
	for i in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	sleep 2
	sed -i 's/^ip flow-export version 9$/ip flow-export version 9 bgp-nexthop/' "$T/bn.conf"
	"$IPFLOW" -S "$sock" reload >"$T/bn.reload" 2>&1 || { cat "$T/bn.reload"; return 1; }
	wait "$pid" || { echo "ipflowd exited $?"; cat "$T/bn.err"; return 1; }
	# the reload replaces the exporter (a template setting changed), whose
	# package sequence starts again at 0: tshark's one sequence warning
	# there is expected (apply/exporter behaviour, not the routing layer's)
	wait_collector bn && decode bn 'Unexpected flow sequence for domain ID 0 \(expected [0-9]+, got 0\)' || return 1
	[ "$(tshark -r "$T/bn.pcap" -d "udp.port==$(cat "$T/bn.port"),cflow" -V 2>/dev/null |
		grep -c 'Expert Info.*Unexpected flow sequence')" -le 1 ] || { echo "more than one sequence restart"; return 1; }
	"$PYTHON" - "$T/bn.jsonl" <<-'PY'
	import json, sys
	recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
	seq = "".join("B" if "bgpNextHopIPv4Address" in r or "bgpNextHopIPv6Address" in r else "n" for r in recs)
	print("%d records: %d without bgpNextHop, then %d with" % (len(recs), seq.count("n"), seq.count("B")))
	sys.exit(1 if "Bn" in seq or "n" not in seq or "B" not in seq else 0)
	PY
}

check v5_ipflow_table t_v5
check v7_ipflow_table t_v7
check v9_bird_table_peer_as t_v9_bird_peer
check ipfix_bgp_nexthop t_ipfix
check judge_can_fail t_judge_fails
check host_ip_route_output t_host_ip_route
check reload_changes_values t_reload
check reload_adds_bgp_nexthop t_reload_bgp_nexthop
finish
