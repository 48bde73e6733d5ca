#!/bin/bash
# test_fnf_fields.sh BUILD_DIR SOURCE_DIR — Flexible NetFlow records with
# every field of the Catalyst FNF table, exported as NetFlow v9 and IPFIX,
# judged by tshark, libfixbuf's ipfixDump and an independent computation.
#
# A generated capture (IPv4 and IPv6; plain, 802.1Q, QinQ and MPLS
# framing; TCP, UDP, ICMP, ICMPv6, IGMP, GRE, ESP; fragments, options,
# extension headers, multicast) is replayed by ipflowd twice, each time
# with three monitors side by side on one interface (ip flow monitor,
# ip flow monitor ... layer2-switched and ipv6 flow monitor), each
# exporting to a netflow-v9 and an IPFIX exporter on loopback collectors
# (tests/e2e/udp2pcap.py). The records are fixtures tests/data/fnf/
# fields1.conf.in (IPv4 datalink/L3/collect fields, transport keys, IPv6)
# and fields2.conf.in (the key-capable fields as keys, the TTL/length
# buckets). Checks: tshark decodes every export message with no malformed
# packet or expert error; every template carries the IEs of its record;
# every record's values, as tshark and ipfixDump read them, equal what
# tests/e2e/fnf_check.py computes from the generator's packet truth and
# tshark's decode of the input; the --stats counters account for every
# packet. Timeouts are longer than the capture, so each key is one record
# (records keyed on both ports may end at FIN/RST: their sums are compared).
. "$(dirname "$0")/lib.sh" "$@"
need_bins
command -v tshark >/dev/null || fail "tshark not installed (Debian package tshark)"
command -v ipfixDump >/dev/null || fail "ipfixDump not installed (Debian package libfixbuf-tools)"
CHECK=$SRC_DIR/tests/e2e/fnf_check.py
IFINDEX=7

# collector NAME [RAW]: a loopback collector writing $T/NAME.pcap (and the
# raw messages to $T/RAW); its port, picked by the kernel, in $T/NAME.port
collector() {
	"$PYTHON" "$SRC_DIR/tests/e2e/udp2pcap.py" "$T/$1.pcap" "$T/$1.port" "$T/$1.stop" ${2:+"$T/$2"} \
		</dev/null >/dev/null 2>"$T/$1.col.err" &
	on_exit "kill $!"
	local i
	for i in $(seq 100); do [ -s "$T/$1.port" ] && return 0; sleep 0.1; done
	echo "collector $1 did not start"
	cat "$T/$1.col.err"
	return 1
}

# wait_collector NAME: tell it to stop once idle, and wait for it
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

note "$E2E_NAME: work=$T"
gen -o "$T/in.pcap" -n 6000 -c 600 -s 11 --truth "$T/in.flows.csv" --truth-packets "$T/in.pkts.csv" ||
	fail "ipflow-gen"

run() { # run N: ipflowd on fixture N, both exporters' streams captured
	local n=$1 p9 pi
	collector r$n.v9 && collector r$n.ipfix r$n.ipfix || return 1
	p9=$(cat "$T/r$n.v9.port")
	pi=$(cat "$T/r$n.ipfix.port")
	sed "s|@PCAP@|$T/in.pcap|; s|@PORT9@|$p9|; s|@PORTI@|$pi|" "$SRC_DIR/tests/data/fnf/fields$n.conf.in" >"$T/r$n.conf"
	echo "$p9" >"$T/r$n.p9"
	echo "$pi" >"$T/r$n.pi"
	timeout -k 5 120 "$IPFLOWD" -f "$T/r$n.conf" --stats >"$T/r$n.stats" 2>"$T/r$n.err" ||
		{ echo "ipflowd failed:"; cat "$T/r$n.err"; return 1; }
	wait_collector r$n.v9 && wait_collector r$n.ipfix || return 1
	# every monitor metered every packet of its family; nothing was lost on the way
	local v4 v6
	v4=$(awk -F, 'NR > 1 && $2 == 4' "$T/in.pkts.csv" | wc -l)
	v6=$(awk -F, 'NR > 1 && $2 == 6' "$T/in.pkts.csv" | wc -l)
	local bad=0 line mon pk want
	while read -r line; do
		mon=$(echo "$line" | sed -E 's/^Flow monitor ([^:]+):.*/\1/')
		pk=$(echo "$line" | sed -E 's/.* packets ([0-9]+),.*/\1/')
		want=$v4
		grep -q "ipv6 flow monitor $mon " "$T/r$n.conf" && want=$v6
		[ "$pk" = "$want" ] || { echo "$mon metered $pk packets, the capture has $want of its family"; bad=1; }
		echo "$line" | grep -q "flows not added (cache full) 0 (0 packets), records not exported 0" ||
			{ echo "losses: $line"; bad=1; }
	done < <(grep '^Flow monitor' "$T/r$n.stats")
	[ "$(grep -c '^Flow monitor' "$T/r$n.stats")" = 3 ] || { echo "not three monitors:"; cat "$T/r$n.stats"; bad=1; }
	grep '^Flow exporter' "$T/r$n.stats" | grep -v "failed 0, not exportable 0, send errors 0, no destination 0" &&
		{ echo "exporter losses"; bad=1; }
	grep '^Flow monitor\|^Flow exporter' "$T/r$n.stats"
	return $bad
}

tshark_clean() { # tshark_clean N: every message decodes, nothing malformed
	local n=$1 f port bad=0 frames cflow errs
	for f in v9 ipfix; do
		port=$(cat "$T/r$n.$( [ $f = v9 ] && echo p9 || echo pi )")
		frames=$(tshark -n -r "$T/r$n.$f.pcap" 2>/dev/null | wc -l)
		cflow=$(tshark -n -r "$T/r$n.$f.pcap" -d "udp.port==$port,cflow" -Y cflow 2>/dev/null | wc -l)
		errs=$(tshark -n -r "$T/r$n.$f.pcap" -d "udp.port==$port,cflow" -V 2>/dev/null |
			grep -ciE 'malformed|expert info \((error|warning)' || true)
		echo "run $n $f: $frames messages, $cflow decoded as NetFlow/IPFIX, $errs malformed/expert lines"
		[ "$frames" -gt 10 ] && [ "$cflow" = "$frames" ] && [ "$errs" = 0 ] || bad=1
	done
	return $bad
}

values() { # values N: every field's value, by tshark (v9, IPFIX) and ipfixDump (IPFIX)
	local n=$1
	"$PYTHON" "$CHECK" fields "$T/r$n.conf" "$T/in.pcap" "$T/in.pkts.csv" $IFINDEX \
		"$T/r$n.v9.pcap" "$(cat "$T/r$n.p9")" "$T/r$n.ipfix.pcap" "$(cat "$T/r$n.pi")" "$T/r$n.ipfix"
}

dump_clean() { # dump_clean N: ipfixDump reads the whole IPFIX stream
	local n=$1 out
	out=$(ipfixDump --in "$T/r$n.ipfix" 2>&1 | tail -n 1)
	echo "run $n: $out"
	echo "$out" | grep -qE '^\*\*\* File Stats: [0-9]+ Messages, [0-9]+ Data Records' || return 1
	ipfixDump --in "$T/r$n.ipfix" 2>&1 | grep -qi "error\|warning" && return 1
	return 0
}

check run1 run 1
check run1_tshark tshark_clean 1
check run1_values values 1
check run1_ipfixdump dump_clean 1
check run2 run 2
check run2_tshark tshark_clean 2
check run2_values values 2
check run2_ipfixdump dump_clean 2
finish
