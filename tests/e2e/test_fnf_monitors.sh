#!/bin/bash
# test_fnf_monitors.sh BUILD_DIR SOURCE_DIR — Flexible NetFlow monitors side
# by side, each cache type against an independent simulation of the IOS
# expiry rules, v5 export of the traditional record, and reloads.
#
#  regroup   three monitors with different keys on one interface (ip flow
#            monitor, layer2-switched, ipv6 flow monitor; normal and
#            permanent caches, short timeouts so records split) plus the
#            main cache: each monitor's records, summed per key, equal the
#            generator's truth regrouped by its key (fnf_check.py regroup);
#            the main cache's flow log is still exact (flowcheck.py).
#  expiry    the same 6-field record in a normal cache (active 10 s,
#            inactive 4 s) and a permanent one (update 7 s): the record
#            sequence of every key, read back by tshark, equals flowcheck.py's
#            simulation over the packet truth (times to the ms, counters,
#            TCP flags OR, min/max length).
#  immediate an immediate cache: one record per packet (flowcheck.py
#            --cache-type immediate); and `record netflow ipv4 original-input`
#            exported as NetFlow v5 to nfcapd: nfdump's per-key sums equal
#            the truth, tshark decodes every v5 packet.
#  reload    a paced replay reloaded four times: timeouts changed (the cache
#            and its flows stay), a record changed (its flows are exported,
#            a new cache continues), a monitor added and removed. The kept
#            monitor's per-key sums still equal the truth, and the changed
#            one's two records together count every packet once.
#  show      `show flow monitor M cache` (IOS layout and --json) and `show
#            flow monitor M` while the caches hold the flows of a capture:
#            every flow with the truth's counters and first time.
. "$(dirname "$0")/lib.sh" "$@"
need_bins
command -v tshark >/dev/null || fail "tshark not installed (Debian package tshark)"
command -v nfcapd >/dev/null && command -v nfdump >/dev/null || fail "nfcapd/nfdump not installed (Debian package nfdump)"
CHECK=$SRC_DIR/tests/e2e/fnf_check.py
IPFLOW=$BUILD_DIR/ipflow

collector() { # NAME: a loopback collector writing $T/NAME.pcap, its port in $T/NAME.port
	"$PYTHON" "$SRC_DIR/tests/e2e/udp2pcap.py" "$T/$1.pcap" "$T/$1.port" "$T/$1.stop" \
		</dev/null >/dev/null 2>"$T/$1.col.err" &
	on_exit "kill $!"
	local i
	for i in $(seq 100); do [ -s "$T/$1.port" ] && return 0; sleep 0.1; done
	echo "collector $1 did not start"
	return 1
}

wait_collector() {
	touch "$T/$1.stop"
	local i
	for i in $(seq 100); do
		pgrep -f "udp2pcap.py $T/$1.pcap" >/dev/null || return 0
		sleep 0.1
	done
	echo "collector $1 did not stop"
	return 1
}

exporter() { # NAME PORT [PROTOCOL]
	printf 'flow exporter %s\n destination 127.0.0.1\n transport udp %s\n export-protocol %s\n' "$1" "$2" "${3:-ipfix}"
}

t_regroup() {
	gen -o "$T/mix.pcap" -n 20000 -c 200 -s 31 --active 10 --inactive 4 --truth "$T/mix.flows.csv" \
		--truth-packets "$T/mix.pkts.csv" || return 1
	collector rgc || return 1
	{
		exporter XI "$(cat "$T/rgc.port")"
		cat <<-EOC
		flow record R-SRC
		 match ipv4 source address
		 collect counter bytes long
		 collect counter packets long
		flow record R-PP
		 match ipv4 protocol
		 match transport destination-port
		 collect counter bytes long
		 collect counter packets long
		flow record R-6
		 match ipv6 destination address
		 match ipv6 protocol
		 collect counter bytes long
		 collect counter packets long
		flow monitor M-SRC
		 record R-SRC
		 exporter XI
		 cache timeout active 10
		 cache timeout inactive 4
		flow monitor M-PP
		 record R-PP
		 exporter XI
		 cache type permanent
		 cache timeout update 7
		flow monitor M-6
		 record R-6
		 exporter XI
		 cache entries 256
		interface replay0
		 ipflow pcap $T/mix.pcap
		 ip flow ingress
		 ip flow monitor M-SRC input
		 ip flow monitor M-PP layer2-switched input
		 ipv6 flow monitor M-6 input
		ip flow-cache timeout active 1
		ip flow-cache timeout inactive 4
		ipflow flow-log jsonl:$T/main.jsonl
		ipflow control-socket none
		EOC
	} >"$T/rg.conf"
	timeout -k 5 120 "$IPFLOWD" -f "$T/rg.conf" --stats >"$T/rg.stats" 2>"$T/rg.err" || { cat "$T/rg.err"; return 1; }
	wait_collector rgc || return 1
	grep '^Flow' "$T/rg.stats"
	"$PYTHON" "$CHECK" regroup "$T/rg.conf" "$T/mix.pkts.csv" "$T/rgc.pcap" "$(cat "$T/rgc.port")" || return 1
	# the main cache beside them: every record exact
	flowcheck --truth-packets "$T/mix.pkts.csv" --truth "$T/mix.flows.csv" --log "$T/main.jsonl" \
		--active 60 --inactive 4 -q || return 1
	echo "main cache: flow log exact (flowcheck)"
	# the small IPv6 cache ran into emergency expiry, and said so
	grep -Eq '^Flow monitor M-6: .*emergency [1-9]' "$T/rg.stats" || { echo "M-6: no emergency expiry counted"; return 1; }
}

EXREC='flow record R-EX
 match ipv4 tos
 match ipv4 protocol
 match ipv4 source address
 match ipv4 destination address
 match transport source-port
 match transport destination-port
 collect transport tcp flags
 collect ipv4 total-length minimum
 collect ipv4 total-length maximum
 collect counter bytes long
 collect counter packets long
 collect timestamp absolute first
 collect timestamp absolute last'

t_expiry() {
	gen -o "$T/v4.pcap" -n 20000 -c 50 -s 21 --v4-only --active 10 --inactive 4 --truth "$T/v4.flows.csv" \
		--truth-packets "$T/v4.pkts.csv" || return 1
	collector exc || return 1
	{
		echo "$EXREC"
		exporter XI "$(cat "$T/exc.port")"
		cat <<-EOC
		flow monitor M-EX
		 record R-EX
		 exporter XI
		 cache timeout active 10
		 cache timeout inactive 4
		 cache entries 65536
		flow monitor M-PERM
		 record R-EX
		 exporter XI
		 cache type permanent
		 cache timeout update 7
		 cache entries 65536
		interface replay0
		 ipflow pcap $T/v4.pcap
		 ip flow monitor M-EX input
		 ip flow monitor M-PERM layer2-switched input
		ipflow control-socket none
		EOC
	} >"$T/ex.conf"
	timeout -k 5 120 "$IPFLOWD" -f "$T/ex.conf" --stats >"$T/ex.stats" 2>"$T/ex.err" || { cat "$T/ex.err"; return 1; }
	wait_collector exc || return 1
	grep '^Flow' "$T/ex.stats"
	local p
	p=$(cat "$T/exc.port")
	"$PYTHON" "$CHECK" log "$T/ex.conf" M-EX "$T/exc.pcap" "$p" >"$T/ex.normal.jsonl" || return 1
	"$PYTHON" "$CHECK" log "$T/ex.conf" M-PERM "$T/exc.pcap" "$p" >"$T/ex.perm.jsonl" || return 1
	flowcheck --truth-packets "$T/v4.pkts.csv" --truth "$T/v4.flows.csv" --log "$T/ex.normal.jsonl" \
		--active 10 --inactive 4 || return 1
	flowcheck --truth-packets "$T/v4.pkts.csv" --truth "$T/v4.flows.csv" --log "$T/ex.perm.jsonl" \
		--active 7 --cache-type permanent || return 1
}

t_immediate() {
	gen -o "$T/im.pcap" -n 3000 -c 50 -s 41 --v4-only --truth "$T/im.flows.csv" --truth-packets "$T/im.pkts.csv" ||
		return 1
	collector imc || return 1
	local p5
	p5=$(free_port udp)
	mkdir -p "$T/nf"
	nfcapd -w "$T/nf" -p "$p5" -b 127.0.0.1 -B 8000000 -t 3600 >"$T/nf.log" 2>&1 &
	local nfpid=$!
	on_exit "kill $nfpid"
	sleep 0.5
	{
		echo "$EXREC"
		exporter XI "$(cat "$T/imc.port")"
		exporter X5 "$p5" netflow-v5
		cat <<-EOC
		flow monitor M-IMM
		 record R-EX
		 exporter XI
		 cache type immediate
		flow monitor M-V5
		 record netflow ipv4 original-input
		 exporter X5
		 cache timeout inactive 15
		interface replay0
		 ipflow pcap $T/im.pcap
		 ip flow monitor M-IMM input
		 ip flow monitor M-V5 layer2-switched input
		ipflow control-socket none
		EOC
	} >"$T/im.conf"
	timeout -k 5 120 "$IPFLOWD" -f "$T/im.conf" --stats >"$T/im.stats" 2>"$T/im.err" || { cat "$T/im.err"; return 1; }
	wait_collector imc || return 1
	grep '^Flow' "$T/im.stats"
	"$PYTHON" "$CHECK" log "$T/im.conf" M-IMM "$T/imc.pcap" "$(cat "$T/imc.port")" >"$T/im.jsonl" || return 1
	[ "$(wc -l <"$T/im.jsonl")" = 3000 ] || { echo "immediate: $(wc -l <"$T/im.jsonl") records for 3000 packets"; return 1; }
	flowcheck --truth-packets "$T/im.pkts.csv" --truth "$T/im.flows.csv" --log "$T/im.jsonl" --cache-type immediate ||
		return 1
	# v5 through nfcapd/nfdump
	sleep 0.5
	kill $nfpid
	wait $nfpid 2>/dev/null
	TZ=UTC nfdump -R "$T/nf" -o json >"$T/nf.json" 2>"$T/nf.err" || { cat "$T/nf.err"; return 1; }
	"$PYTHON" "$SRC_DIR/tests/e2e/nfdump2log.py" "$T/nf.json" >"$T/nf.jsonl" || return 1
	flowcheck --truth "$T/im.flows.csv" --log "$T/nf.jsonl" --sums-only || return 1
	echo "v5 (record netflow ipv4 original-input): nfdump's per-key sums equal the truth"
}

t_reload() {
	gen -o "$T/rl.pcap" -n 30000 -c 100 -s 51 --active 10 --inactive 4 --truth "$T/rl.flows.csv" \
		--truth-packets "$T/rl.pkts.csv" || return 1
	collector rlc || return 1
	local sock=$T/rl.sock conf=$T/rl.conf p speed
	p=$(cat "$T/rlc.port")
	# paced so that the replay takes about 8 s: four reloads 1.2 s apart fall inside it
	speed=$(awk -F, 'NR == 2 { f = $1 } END { printf "%.2f", ($1 - f) / 8e6 }' "$T/rl.pkts.csv")
	# conf VARIANT: A and B differ in M-SRC's timeouts, M-PP's record and M-6's presence
	mkconf() {
		local inact act rec six
		case $1 in
		A) inact=4 act=10 rec=R-PP six= ;;
		B) inact=9 act=30 rec=R-P six=1 ;;
		esac
		exporter XI "$p"
		cat <<-EOC
		flow record R-SRC
		 match ipv4 source address
		 collect counter bytes long
		 collect counter packets long
		flow record R-PP
		 match ipv4 protocol
		 match transport destination-port
		 collect counter bytes long
		 collect counter packets long
		flow record R-P
		 match ipv4 protocol
		 collect counter bytes long
		 collect counter packets long
		flow record R-6
		 match ipv6 destination address
		 collect counter bytes long
		 collect counter packets long
		flow monitor M-SRC
		 record R-SRC
		 exporter XI
		 cache timeout active $act
		 cache timeout inactive $inact
		flow monitor M-PP
		 record $rec
		 exporter XI
		flow monitor M-6
		 record R-6
		 exporter XI
		interface replay0
		 ipflow pcap $T/rl.pcap
		 ip flow monitor M-SRC input
		 ip flow monitor M-PP layer2-switched input
		${six:+ ipv6 flow monitor M-6 input}
		ipflow control-socket $sock
		ipflow replay-speed $speed
		EOC
	}
	mkconf A >"$conf"
	"$IPFLOWD" -f "$conf" --stats >"$T/rl.stats" 2>"$T/rl.err" &
	local pid=$!
	on_exit "kill $pid"
	local i v
	for i in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	for v in B A B A; do
		sleep 1.2
		mkconf $v >"$conf"
		"$IPFLOW" -S "$sock" reload >"$T/rl.reload.$v" 2>&1 || { echo "reload $v failed:"; cat "$T/rl.reload.$v"; return 1; }
	done
	for i in $(seq 300); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
	wait $pid || { echo "ipflowd failed"; cat "$T/rl.err"; return 1; }
	wait_collector rlc || return 1
	grep '^Flow\|^Configuration' "$T/rl.stats"
	grep -q "^Configuration reloads 4 (0 refused)" "$T/rl.stats" || { echo "not four reloads"; return 1; }
	# M-SRC kept its cache through every reload: per-key sums exact
	"$PYTHON" "$CHECK" regroup "$conf" "$T/rl.pkts.csv" "$T/rlc.pcap" "$p" M-SRC || return 1
	# M-PP changed record twice each way: its records together count every IPv4 packet once
	local got want
	got=$("$PYTHON" "$CHECK" packets "$T/rlc.pcap" "$p" "$conf" R-PP R-P) || return 1
	want=$(awk -F, 'NR > 1 && $2 == 4' "$T/rl.pkts.csv" | wc -l)
	echo "M-PP through 4 record changes: $got packets in its records, $want IPv4 packets in the capture"
	[ "$got" = "$want" ] || return 1
	# M-6 came and went twice: never more than the IPv6 packets
	got=$("$PYTHON" "$CHECK" packets "$T/rlc.pcap" "$p" "$conf" R-6) || return 1
	want=$(awk -F, 'NR > 1 && $2 == 6' "$T/rl.pkts.csv" | wc -l)
	echo "M-6, applied for part of the run: $got of $want IPv6 packets"
	[ "$got" -gt 0 ] && [ "$got" -lt "$want" ] || return 1
}

t_show() {
	command -v mergecap >/dev/null || { echo "mergecap not installed (Debian package wireshark-common)"; return 1; }
	# traffic, then ten packets 1e6 s later: replayed at 1000x, the daemon
	# sits in the gap with every flow of the first part in its caches
	gen -o "$T/sh1.pcap" --start-time 1700000000 -n 3000 -c 50 -s 61 --truth-packets "$T/sh1.pkts.csv" || return 1
	gen -o "$T/sh2.pcap" --start-time 1701000000 -n 10 -c 2 -s 62 || return 1
	mergecap -F pcap -w "$T/sh.pcap" "$T/sh1.pcap" "$T/sh2.pcap" || return 1
	local sock=$T/sh.sock
	cat >"$T/sh.conf" <<-EOC
	flow record R-PROTO
	 match ipv4 protocol
	 collect counter packets long
	 collect counter bytes long
	 collect ipv4 ttl minimum
	 collect timestamp absolute first
	flow record R-V6
	 match ipv6 protocol
	 collect counter packets long
	 collect counter bytes long
	flow monitor M-PROTO
	 record R-PROTO
	 cache timeout active 604800
	 cache timeout inactive 604800
	flow monitor M-V6
	 record R-V6
	 cache type permanent
	 cache timeout update 604800
	interface replay0
	 ipflow pcap $T/sh.pcap ifindex 5
	 ip flow monitor M-PROTO input
	 ipv6 flow monitor M-V6 input
	ipflow control-socket $sock
	ipflow replay-speed 1000
	EOC
	"$IPFLOWD" -f "$T/sh.conf" >"$T/sh.out" 2>"$T/sh.err" &
	local pid=$! i
	on_exit "kill $pid"
	for i in $(seq 100); do
		"$IPFLOW" -S "$sock" show ip flow interface --json 2>/dev/null | grep -q '"received":3001' && break
		sleep 0.1
	done
	sleep 0.3
	"$IPFLOW" -S "$sock" show flow monitor M-PROTO cache >"$T/sh.txt" || return 1
	"$IPFLOW" -S "$sock" show flow monitor M-PROTO cache --json >"$T/sh.json" || return 1
	"$IPFLOW" -S "$sock" show flow monitor M-V6 cache --json >"$T/sh6.json" || return 1
	"$IPFLOW" -S "$sock" show flow monitor M-PROTO >"$T/shm.txt" || return 1
	"$IPFLOW" -S "$sock" show flow monitor M-PROTO --json >"$T/shm.json" || return 1
	kill $pid
	cat "$T/sh.txt"
	"$PYTHON" - "$T" <<-'PYEOF'
	import csv, json, re, sys, time
	T = sys.argv[1]
	rows = list(csv.DictReader(open(T + "/sh1.pkts.csv")))
	want, want6 = {}, {}
	for r in rows:
	    d = want if r["af"] == "4" else want6
	    p = int(r["proto"])
	    e = d.setdefault(p, [0, 0, None])
	    e[0] += 1
	    e[1] += int(r["ip_len"])
	    e[2] = e[2] if e[2] is not None else int(r["ts_us"]) // 1000
	bad = []
	# text: the IOS layout, key fields upper case
	txt = open(T + "/sh.txt").read()
	m = re.search(r"Current entries:\s+(\d+)", txt)
	if not m or int(m.group(1)) != len(want):
	    bad.append("current entries %s, %d protocols" % (m and m.group(1), len(want)))
	if "Cache type:" not in txt or not re.search(r"Flows added:\s+%d\b" % len(want), txt):
	    bad.append("header")
	got = {}
	for blk in txt.split("\n\n"):
	    f = dict(re.findall(r"^(\S[^:]*):\s+(.*)$", blk, re.M))
	    if "IPV4 PROTOCOL" in f:
	        t = time.strptime(f["timestamp absolute first"][:8], "%H:%M:%S")
	        got[int(f["IPV4 PROTOCOL"])] = [int(f["counter packets long"]), int(f["counter bytes long"]),
	                                        f["timestamp absolute first"]]
	for p, (pk, by, first) in want.items():
	    g = got.get(p)
	    hms = time.strftime("%H:%M:%S", time.gmtime(first // 1000)) + ".%03d" % (first % 1000)
	    if g != [pk, by, hms]:
	        bad.append("proto %d: shown %r, truth %r" % (p, g, [pk, by, hms]))
	# JSON: the same, and the cache counters
	j = json.load(open(T + "/sh.json"))
	jf = {f["ipv4 protocol"]: [f["counter packets long"], f["counter bytes long"], f["timestamp absolute first"]]
	      for f in j["flows"]}
	if jf != want:
	    bad.append("json flows %r" % jf)
	c = j["cache"]
	if (c["currentEntries"], c["flowsAdded"], c["flowsAged"], c["packets"]) != (len(want), len(want), 0, sum(v[0] for v in want.values())):
	    bad.append("json cache %r" % c)
	j6 = json.load(open(T + "/sh6.json"))
	if j6["cache"]["type"] != "permanent" or {f["ipv6 protocol"]: f["counter packets long"] for f in j6["flows"]} != {p: v[0] for p, v in want6.items()}:
	    bad.append("ipv6 permanent cache %r" % j6)
	m = json.load(open(T + "/shm.json"))
	if not m["cache"]["allocated"] or m["cache"]["entries"] != 4096 or m["record"] != "R-PROTO":
	    bad.append("show flow monitor --json %r" % m)
	if "Status:            allocated" not in open(T + "/shm.txt").read():
	    bad.append("show flow monitor: not allocated")
	print("show flow monitor M-PROTO cache: %d flows in the IOS layout and --json, equal to the truth" % len(got))
	sys.exit("; ".join(bad) if bad else 0)
	PYEOF
}

note "$E2E_NAME: work=$T"
check regroup t_regroup
check expiry t_expiry
check immediate t_immediate
check reload t_reload
check show t_show
finish
