#!/bin/bash
# test_psamp.sh BUILD_DIR SOURCE_DIR — IPFIX packet-section export (IE 315,
# record datalinksectiondump), judged by psamp_check.py (its own pcap
# reader, IPFIX parser and header walk), tshark and ipflow-collect.
#
#  l2        every frame of a generated mix (VLAN, QinQ, MPLS, IPv4 options,
#            IPv6 extension headers, GRE, fragments, ESP...), deterministic
#            1 out of 7: exactly floor(frames/7) records, frames 7, 14, ...,
#            each section the frame's first bytes with the length of the
#            rule, the original length, interfaces, sampling and time right;
#            tshark decodes every message with no expert error or malformed
#            packet and shows the same sections; ipflow-collect decodes every
#            record (malformed 0) with the same sections; --stats counts
#            equal the judge's.
#  af        `ip flow monitor` and `ipv6 flow monitor` side by side on one
#            interface (1 out of 5 of the IPv4 frames, 1 out of 3 of the
#            IPv6 ones, to two exporters), next to the main cache and an
#            FNF monitor on the same interface: each judged on its own
#            traffic; the main cache still meters every packet.
#  random    random 1 out of 100: exactly one record per window of 100
#            frames, each one of its window's frames, at varying positions.
#  unsampled no sampler: every frame (interval 1, algorithm 0); a second
#            exporter without destination: its records counted as not sent.
#  refuse    a netflow-v9 or v5 exporter, cache type normal, and a sampler
#            coarser than 1 out of 32000 are refused at configuration time
#            with a message naming them.
#  reload    in a paced replay's gap, a reload to a netflow-v9 exporter is
#            refused (nothing changes), then the sampler goes from 1 out of
#            7 to 1 out of 3: the frames before judged at 7, those after at
#            3, one IPFIX stream without a sequence gap (ipflow-collect),
#            the counters carried across.
#  show      `show flow monitor P` (text and --json) while a paced replay
#            sits in a gap: the counters of the frames read so far; an FNF
#            monitor's show still answered by the FNF layer.
. "$(dirname "$0")/lib.sh" "$@"
need_bins
command -v tshark >/dev/null || fail "tshark not installed (Debian package tshark)"
CHECK=$SRC_DIR/tests/e2e/psamp_check.py
IPFLOW=$BUILD_DIR/ipflow
COLLECT=$BUILD_DIR/ipflow-collect

collector() { # NAME: a loopback collector writing $T/NAME.pcap (not an input's name), its port in $T/NAME.port
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

# peers NAME: tshark and ipflow-collect over collector NAME's capture: no
# malformed message, no error, no sequence gap; tshark's sections in
# $T/NAME.ts.hex, ipflow-collect's records in $T/NAME.coll.jsonl
peers() {
	local name=$1 port
	port=$(cat "$T/$name.port")
	"$PYTHON" "$CHECK" strip-eth "$T/$name.pcap" "$T/$name.raw.pcap" || return 1
	local ts=(tshark -n -r "$T/$name.raw.pcap" --disable-protocol eth -d "udp.port==$port,cflow")
	local bad
	bad=$("${ts[@]}" -Y '_ws.malformed || _ws.expert.severity >= error' 2>/dev/null | wc -l)
	[ "$bad" = 0 ] || { echo "tshark: $bad messages malformed or with errors"; "${ts[@]}" -z expert -q 2>/dev/null | head; return 1; }
	"${ts[@]}" -T fields -E aggregator='|' -e cflow.data_link_frame_section 2>/dev/null | tr '|' '\n' >"$T/$name.ts.hex"
	"$COLLECT" -r "$T/$name.pcap" "$port" -o "jsonl:$T/$name.coll.jsonl" --stats >"$T/$name.coll.out" 2>&1 ||
		{ echo "ipflow-collect -r failed"; tail "$T/$name.coll.out"; return 1; }
	local tot
	tot=$(grep '^Totals:' "$T/$name.coll.out" | tail -n 1)
	echo "ipflow-collect: $tot" | cut -c1-200
	for k in malformed seq_lost seq_ooo pend_left; do
		[ "$(echo "$tot" | tr ' ' '\n' | sed -n "s/^$k=//p")" = 0 ] || { echo "ipflow-collect: $k not 0"; return 1; }
	done
}

# judge NAME INPUT ARGS...: peers, then psamp_check of collector NAME's
# capture against INPUT, with tshark's and ipflow-collect's sections
judge() {
	local name=$1
	peers "$name" || return 1
	"$PYTHON" "$CHECK" "$T/$2" "$T/$name.pcap" "$(cat "$T/$name.port")" "${@:3}" --tshark "$T/$name.ts.hex" \
		--collect-jsonl "$T/$name.coll.jsonl"
}

# stat_val STATS MONITOR KEY: a number from the --stats line of a monitor
stat_val() {
	sed -n "s/^Packet-section monitor $2: .*$3 \([0-9]*\).*/\1/p" "$1"
}

t_l2() {
	gen -o "$T/mix.pcap" -n 20000 -c 200 -s 11 || return 1
	collector l2 || return 1
	{
		exporter X "$(cat "$T/l2.port")"
		cat <<-EOC
		sampler S7
		 mode deterministic 1 out-of 7
		flow monitor P
		 record datalinksectiondump
		 exporter X
		 cache type immediate
		interface replay0
		 ipflow pcap $T/mix.pcap ifindex 5
		 ip flow monitor P sampler S7 layer2-switched input
		ipflow control-socket none
		EOC
	} >"$T/l2.conf"
	timeout -k 5 120 "$IPFLOWD" -f "$T/l2.conf" --stats >"$T/l2.stats" 2>"$T/l2.err" || { cat "$T/l2.err"; return 1; }
	wait_collector l2 || return 1
	grep '^Packet-section' "$T/l2.stats"
	judge l2 mix.pcap --n 7 --traffic l2 --ifindex 5 --min-kinds 12 || return 1
	[ "$(stat_val "$T/l2.stats" P frames)" = 20000 ] && [ "$(stat_val "$T/l2.stats" P sampled)" = 2857 ] &&
		[ "$(stat_val "$T/l2.stats" P 'records exported')" = 2857 ] &&
		[ "$(stat_val "$T/l2.stats" P 'records not exported')" = 0 ] || { echo "--stats counts wrong"; return 1; }
}

t_af() {
	gen -o "$T/af.pcap" -n 12000 -c 150 -s 12 --truth "$T/af.flows.csv" || return 1
	collector a4 || return 1
	collector a6 || return 1
	{
		exporter X4 "$(cat "$T/a4.port")"
		exporter X6 "$(cat "$T/a6.port")"
		cat <<-EOC
		sampler S5
		 mode deterministic 1 out-of 5
		sampler S3
		 mode deterministic 1 out-of 3
		flow record R-PROTO
		 match ipv4 protocol
		 collect counter packets long
		flow monitor P4
		 record datalinksectiondump
		 exporter X4
		flow monitor P6
		 record datalinksectiondump
		 exporter X6
		flow monitor M-PROTO
		 record R-PROTO
		 exporter X4
		interface replay0
		 ipflow pcap $T/af.pcap ifindex 9
		 ip flow ingress
		 ip flow monitor P4 sampler S5 input
		 ipv6 flow monitor P6 sampler S3 input
		 ip flow monitor M-PROTO layer2-switched input
		ipflow flow-log jsonl:$T/af.main.jsonl
		ipflow control-socket none
		EOC
	} >"$T/af.conf"
	timeout -k 5 120 "$IPFLOWD" -f "$T/af.conf" --stats >"$T/af.stats" 2>"$T/af.err" || { cat "$T/af.err"; return 1; }
	wait_collector a4 || return 1
	wait_collector a6 || return 1
	grep -E '^(Packet-section|Flow monitor)' "$T/af.stats"
	# X4 also carries M-PROTO's records (the FNF layer's stream, another domain): judged aside
	judge a4 af.pcap --n 5 --traffic ip --ifindex 9 --min-kinds 8 || return 1
	judge a6 af.pcap --n 3 --traffic ipv6 --ifindex 9 --min-kinds 5 || return 1
	# the main cache and the FNF monitor beside them still count every packet
	local total fnf
	total=$("$PYTHON" -c 'import csv,sys; print(sum(int(r["packets"]) for r in csv.DictReader(open(sys.argv[1]))))' "$T/af.flows.csv")
	fnf=$(sed -n 's/^Flow monitor M-PROTO: packets \([0-9]*\),.*/\1/p' "$T/af.stats")
	main=$("$PYTHON" -c 'import json,sys; print(sum(json.loads(l)["packetDeltaCount"] for l in open(sys.argv[1])))' "$T/af.main.jsonl")
	echo "truth packets $total, main cache $main, FNF IPv4 monitor $fnf"
	[ "$main" = "$total" ] || { echo "the main cache lost packets"; return 1; }
	[ -n "$fnf" ] && [ "$fnf" -gt 0 ] || return 1
}

t_random() {
	gen -o "$T/rnd.pcap" -n 20000 -c 200 -s 13 || return 1
	collector rndc || return 1
	{
		exporter X "$(cat "$T/rndc.port")"
		cat <<-EOC
		sampler R
		 mode random 1 out-of 100
		flow monitor P
		 record datalinksectiondump
		 exporter X
		interface replay0
		 ipflow pcap $T/rnd.pcap ifindex 3
		 ip flow monitor P sampler R layer2-switched input
		ipflow control-socket none
		EOC
	} >"$T/rnd.conf"
	timeout -k 5 120 "$IPFLOWD" -f "$T/rnd.conf" --stats >"$T/rnd.stats" 2>"$T/rnd.err" || { cat "$T/rnd.err"; return 1; }
	wait_collector rndc || return 1
	judge rndc rnd.pcap --n 100 --traffic l2 --ifindex 3 --algo 2 --random || return 1
}

t_unsampled() {
	gen -o "$T/all.pcap" -n 3000 -c 50 -s 14 || return 1
	collector allc || return 1
	{
		exporter X "$(cat "$T/allc.port")"
		printf 'flow exporter NOWHERE\n export-protocol ipfix\n'
		cat <<-EOC
		flow monitor P
		 record datalinksectiondump
		 exporter X
		 exporter NOWHERE
		interface replay0
		 ipflow pcap $T/all.pcap ifindex 4
		 ip flow monitor P layer2-switched input
		ipflow control-socket none
		EOC
	} >"$T/all.conf"
	timeout -k 5 120 "$IPFLOWD" -f "$T/all.conf" --stats >"$T/all.stats" 2>"$T/all.err" || { cat "$T/all.err"; return 1; }
	wait_collector allc || return 1
	grep '^Packet-section' "$T/all.stats"
	judge allc all.pcap --n 1 --traffic l2 --ifindex 4 --algo 0 --min-kinds 10 || return 1
	# NOWHERE took every record and counted it as not sent
	grep -q '^Packet-section exporter NOWHERE (no destination): records 0 in 0 messages.*no destination 3000$' \
		"$T/all.stats" || { echo "NOWHERE: not counted"; return 1; }
	[ "$(stat_val "$T/all.stats" P 'records exported')" = 3000 ] &&
		[ "$(stat_val "$T/all.stats" P 'records not exported')" = 3000 ] || return 1
}

t_refuse() {
	gen -o "$T/ref.pcap" -n 10 -c 2 -s 15 || return 1
	local mon="flow monitor P
 record datalinksectiondump
 exporter X"
	local base="interface replay0
 ipflow pcap $T/ref.pcap
 ip flow monitor P sampler S input
ipflow control-socket none"
	try() { # WANT-TEXT CONFIG...: ipflowd must refuse it, saying WANT-TEXT
		printf '%s\n' "${@:2}" >"$T/ref.conf"
		if timeout -k 5 30 "$IPFLOWD" -f "$T/ref.conf" >"$T/ref.out" 2>"$T/ref.err"; then
			echo "accepted:"; cat "$T/ref.conf"; return 1
		fi
		grep -q -- "$1" "$T/ref.err" || { echo "want '$1', got:"; cat "$T/ref.err"; return 1; }
		echo "refused: $(grep -- "$1" "$T/ref.err" | head -n 1)"
	}
	local s8='sampler S
 mode deterministic 1 out-of 8'
	try "needs export-protocol ipfix" "$s8" "$(exporter X 9 netflow-v9)" "$mon" "$base" || return 1
	try "not datalinksectiondump; use export-protocol ipfix" "$s8" "$(exporter X 9 netflow-v5)" "$mon" "$base" || return 1 # the parser's own check
	try "needs cache type immediate" "$s8" "$(exporter X 9)" "$mon" " cache type normal" "$base" || return 1
	try "1 out of 32000 at the coarsest" 'sampler S
 mode deterministic 1 out-of 32001' "$(exporter X 9)" "$mon" "$base" || return 1
	# and the same with ipfix, immediate and 1 out of 32000 runs
	printf '%s\n' 'sampler S
 mode deterministic 1 out-of 32000' "$(exporter X 9)" "$mon" " cache type immediate" "$base" >"$T/ref.conf"
	timeout -k 5 30 "$IPFLOWD" -f "$T/ref.conf" >"$T/ref.out" 2>"$T/ref.err" || { echo "refused:"; cat "$T/ref.err"; return 1; }
}

t_show() {
	command -v mergecap >/dev/null || { echo "mergecap not installed (Debian package wireshark-common)"; return 1; }
	# traffic, then ten packets 1e6 s later: replayed at 1000x, the daemon
	# sits in the gap with the first part's frames counted
	gen -o "$T/sh1.pcap" --start-time 1700000000 -n 3000 -c 50 -s 61 || return 1
	gen -o "$T/sh2.pcap" --start-time 1701000000 -n 10 -c 2 -s 62 || return 1
	mergecap -F pcap -w "$T/sh.pcap" "$T/sh1.pcap" "$T/sh2.pcap" || return 1
	collector shc || return 1
	local sock=$T/sh.sock
	{
		exporter X "$(cat "$T/shc.port")"
		cat <<-EOC
		sampler S7
		 mode deterministic 1 out-of 7
		flow record R-PROTO
		 match ipv4 protocol
		 collect counter packets long
		flow monitor P
		 description sections
		 record datalinksectiondump
		 exporter X
		flow monitor M-PROTO
		 record R-PROTO
		interface replay0
		 ipflow pcap $T/sh.pcap ifindex 5
		 ip flow monitor P sampler S7 layer2-switched input
		 ip flow monitor M-PROTO input
		ipflow control-socket $sock
		ipflow replay-speed 1000
		EOC
	} >"$T/sh.conf"
	"$IPFLOWD" -f "$T/sh.conf" >"$T/sh.out" 2>"$T/sh.err" &
	local pid=$! i
	on_exit "kill $pid"
	for i in $(seq 100); do
		"$IPFLOW" -S "$sock" show flow monitor P --json 2>/dev/null | grep -q '"frames":3000' && break
		sleep 0.1
	done
	"$IPFLOW" -S "$sock" show flow monitor P >"$T/sh.txt" || return 1
	"$IPFLOW" -S "$sock" show flow monitor P --json >"$T/sh.json" || return 1
	"$IPFLOW" -S "$sock" show flow monitor P cache >"$T/shc.txt" || return 1
	"$IPFLOW" -S "$sock" show flow monitor M-PROTO >"$T/shf.txt" || return 1
	"$IPFLOW" -S "$sock" show flow exporter X >"$T/shx.txt" || return 1
	kill "$pid"
	cat "$T/sh.txt" "$T/sh.json" "$T/shf.txt" "$T/shx.txt"
	"$PYTHON" - "$T/sh.json" <<-'PYEOF' || return 1
	import json, sys
	j = json.load(open(sys.argv[1]))
	want = {"frames": 3000, "sampled": 428, "recordsExported": 428, "recordsLost": 0}
	bad = {k: (j.get(k), v) for k, v in want.items() if j.get(k) != v}
	a = j["attachments"]
	if len(a) != 1 or a[0]["ifIndex"] != 5 or a[0]["oneOutOf"] != 7 or a[0]["taken"] != 428:
	    bad["attachments"] = a
	if j["record"] != "datalinksectiondump" or j["cache"]["type"] != "immediate":
	    bad["record/cache"] = (j["record"], j["cache"])
	if bad:
	    sys.exit("show flow monitor P --json: %s" % bad)
	print("show --json: 3000 frames, 428 sampled and exported")
	PYEOF
	grep -Eq '^ +Frames seen: +3000$' "$T/sh.txt" && grep -Eq '^ +Sampled: +428$' "$T/sh.txt" &&
		grep -Eq '^ +Records exported: +428$' "$T/sh.txt" && grep -q 'sampler S7, deterministic 1 out of 7' "$T/sh.txt" &&
		grep -Eq '^ +Sampled: +428$' "$T/shc.txt" || { echo "show flow monitor P: counters wrong"; return 1; }
	grep -q 'Flow Record: *R-PROTO' "$T/shf.txt" && grep -q 'Size:' "$T/shf.txt" ||
		{ echo "the FNF monitor's show is not the FNF layer's"; return 1; }
	grep -q 'Packet-section stream of X (udp:127.0.0.1:[0-9]*): records 428 in' "$T/shx.txt" &&
		grep -q 'in use by packet-section monitors' "$T/shx.txt" ||
		{ echo "show flow exporter X: no packet-section stream"; return 1; }
}

t_reload() {
	command -v mergecap >/dev/null || { echo "mergecap not installed (Debian package wireshark-common)"; return 1; }
	# two parts 100000 s apart, replayed at 20000x: the daemon waits 5 s
	# between them, and is reloaded there from 1 out of 7 to 1 out of 3
	gen -o "$T/rl1.pcap" --start-time 1700000000 -n 3000 -c 50 -s 71 || return 1
	gen -o "$T/rl2.pcap" --start-time 1700100000 -n 3000 -c 50 -s 72 || return 1
	mergecap -F pcap -w "$T/rl.pcap" "$T/rl1.pcap" "$T/rl2.pcap" || return 1
	collector rlc || return 1
	local sock=$T/rl.sock
	mkconf() { # N [PROTOCOL]
		exporter X "$(cat "$T/rlc.port")" "${2:-ipfix}"
		cat <<-EOC
		sampler S
		 mode deterministic 1 out-of $1
		flow monitor P
		 record datalinksectiondump
		 exporter X
		interface replay0
		 ipflow pcap $T/rl.pcap ifindex 6
		 ip flow monitor P sampler S layer2-switched input
		ipflow control-socket $sock
		ipflow replay-speed 20000
		EOC
	}
	mkconf 7 >"$T/rl.conf"
	"$IPFLOWD" -f "$T/rl.conf" --stats >"$T/rl.stats" 2>"$T/rl.err" &
	local pid=$! i
	on_exit "kill $pid"
	for i in $(seq 100); do
		"$IPFLOW" -S "$sock" show flow monitor P --json 2>/dev/null | grep -q '"frames":3000' && break
		sleep 0.05
	done
	"$IPFLOW" -S "$sock" show flow monitor P --json | grep -q '"frames":3000,"sampled":428' ||
		{ echo "not in the gap with 3000 frames"; return 1; }
	# a reload the layer refuses (netflow-v9) leaves the running one as it is
	mkconf 3 netflow-v9 >"$T/rl.conf"
	if "$IPFLOW" -S "$sock" reload >"$T/rl.bad" 2>&1; then echo "a v9 exporter was accepted"; return 1; fi
	grep -q "needs export-protocol ipfix" "$T/rl.bad" || { cat "$T/rl.bad"; return 1; }
	echo "refused: $(grep -o '% Flow Monitor.*' "$T/rl.bad" | head -n 1)"
	mkconf 3 >"$T/rl.conf"
	"$IPFLOW" -S "$sock" reload || { echo "reload failed"; return 1; }
	wait "$pid" || { echo "ipflowd failed"; cat "$T/rl.err"; return 1; }
	wait_collector rlc || return 1
	grep '^Packet-section' "$T/rl.stats"
	# the counters went on across the reload: 428 + 1000
	[ "$(stat_val "$T/rl.stats" P frames)" = 6000 ] && [ "$(stat_val "$T/rl.stats" P sampled)" = 1428 ] &&
		[ "$(stat_val "$T/rl.stats" P 'records exported')" = 1428 ] || { echo "--stats counts wrong"; return 1; }
	peers rlc || return 1
	local port
	port=$(cat "$T/rlc.port")
	"$PYTHON" "$CHECK" "$T/rl1.pcap" "$T/rlc.pcap" "$port" --interval 7 --n 7 --traffic l2 --ifindex 6 || return 1
	"$PYTHON" "$CHECK" "$T/rl2.pcap" "$T/rlc.pcap" "$port" --interval 3 --n 3 --traffic l2 --ifindex 6 || return 1
}

check l2 t_l2
check af t_af
check random t_random
check unsampled t_unsampled
check refuse t_refuse
check show t_show
check reload t_reload
finish
