#!/bin/bash
# test_agg_schemes.sh BUILD_DIR SOURCE_DIR — the twelve IOS aggregation
# caches, exported to ipflow-collect, judged against an independent
# aggregation of ipflowd's own main-cache flow log.
#
# ipflowd meters a generated capture (IPv4 and IPv6) with the flow log on
# and all twelve schemes enabled, each exporting to two destinations: a
# live ipflow-collect (UDP, -o jsonl) and a datagram recorder
# (udp2pcap.py) whose capture tshark decodes. Short aggregation timeouts,
# `mask source|destination minimum` on the prefix schemes (non-octet
# masks among them) and a 1024-entry prefix-port cache that overflows
# make entries leave several times and early; sums per key must still be
# exact. agg_judge.py aggregates the flow log per scheme (IPv4 only,
# prefixes masked by the minimums) and requires the collector's records,
# summed per key, to equal it (flows, packets, bytes, earliest start,
# latest end, to the ms), ipflowd's counters to agree, and every v8 record
# tshark decodes to be one the collector stored, field by field.
#
# Run "v8": the eleven schemes with a v8 layout in v8, bgp-nexthop-tos in
# v9 (it has none). Run "v9": all twelve in v9. tshark: no malformed
# packet or expert warning, every frame decoded, and its record count per
# v8 scheme equal to what ipflowd sent.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/collect_lib.sh"
need_bins
command -v tshark >/dev/null || fail "tshark is not installed"
JUDGE="$PYTHON $SRC_DIR/tests/e2e/agg_judge.py"

gen -o "$T/g.pcap" --start-time 1700000000 -n 60000 -c 600 -s 31 || fail "ipflow-gen"

SCHEMES="as as-tos bgp-nexthop-tos destination-prefix destination-prefix-tos prefix prefix-port prefix-tos
protocol-port protocol-port-tos source-prefix source-prefix-tos"

# minimum masks per scheme (source destination; 0 = none)
masks() {
	case $1 in
	prefix) echo "16 24" ;;
	prefix-tos) echo "12 20" ;;
	prefix-port) echo "32 29" ;;
	source-prefix) echo "16 0" ;;
	source-prefix-tos) echo "21 0" ;;
	destination-prefix) echo "0 24" ;;
	destination-prefix-tos) echo "0 13" ;;
	*) echo "0 0" ;;
	esac
}

# run NAME ALL-V9(0|1)
run() {
	local name=$1 allv9=$2 s v smin dmin
	local cport rport
	cport=$(free_port udp)
	coll_start "$name" -l "udp:127.0.0.1:$cport" -o "jsonl:$T/$name.coll.jsonl" || return 1
	"$PYTHON" "$SRC_DIR/tests/e2e/udp2pcap.py" "$T/$name.cap.pcap" "$T/$name.rport" "$T/$name.stop" &
	local rpid=$!
	on_exit "kill $rpid 2>/dev/null"
	local i
	for i in $(seq 1 100); do [ -s "$T/$name.rport" ] && break; sleep 0.05; done
	rport=$(cat "$T/$name.rport") || return 1
	: >"$T/$name.conf"
	echo "{" >"$T/$name.schemes.json"
	local sep=""
	for s in $SCHEMES; do
		v=8
		[ "$allv9" = 1 ] || [ "$s" = bgp-nexthop-tos ] && v=9
		read -r smin dmin <<<"$(masks "$s")"
		{
			echo "ip flow-aggregation cache $s"
			if [ "$s" = prefix-port ]; then # long timeouts, few entries: it fills
				echo " cache entries 1024"
				echo " cache timeout inactive 600"
			else
				echo " cache timeout inactive 4"
				echo " cache timeout active 1"
			fi
			[ "$smin" != 0 ] && echo " mask source minimum $smin"
			[ "$dmin" != 0 ] && echo " mask destination minimum $dmin"
			echo " export destination 127.0.0.1 $cport"
			echo " export destination 127.0.0.1 $rport"
			[ "$s" != bgp-nexthop-tos ] && echo " export version $v"
			echo " enabled"
			echo "exit"
		} >>"$T/$name.conf"
		printf '%s"%s": {"version": %d, "smin": %d, "dmin": %d}' "$sep" "$s" "$v" "$smin" "$dmin" >>"$T/$name.schemes.json"
		sep=", "
	done
	echo "}" >>"$T/$name.schemes.json"
	ipflowd_file "jsonl:$T/$name.main.jsonl" "$T/g.pcap" -f "$T/$name.conf" --active 60 --inactive 5 --stats ||
		return 1
	local out=$T/$name.main.jsonl.stdout
	# messages sent to the collector, by every aggregation exporter
	local sent
	sent=$(sed -n "s/^Aggregation cache .* export v[89] udp:127.0.0.1:$cport: records [0-9]* in \([0-9]*\) messages.*/\1/p" "$out" |
		awk '{ n += $1 } END { print n + 0 }')
	[ "$sent" -gt 0 ] || { echo "no aggregation export messages in --stats"; return 1; }
	coll_wait "$name" msgs "$sent" || return 1
	coll_stop "$name" || return 1
	touch "$T/$name.stop"
	wait "$rpid"
	local line k
	line=$(coll_final "$name")
	echo "ipflowd sent $sent messages to the collector; $line" | cut -c 1-240
	for k in malformed seq_lost seq_ooo pend_sets; do
		[ "$(coll_val $k "$line")" = 0 ] || { echo "collector: $k is not 0"; return 1; }
	done
	[ "$(coll_val msgs "$line")" = "$sent" ] || { echo "collector got $(coll_val msgs "$line") messages, sent $sent"; return 1; }
	grep -q "Kernel drops (all UDP listeners): 0" "$T/$name.out" || { grep "Kernel drops" "$T/$name.out"; return 1; }
	grep -q "cache full [1-9]" <(grep "^Aggregation cache prefix-port:" "$out") ||
		{ echo "prefix-port: the 1024-entry cache never filled (the test needs it to)"; grep "^Aggregation cache prefix-port:" "$out"; return 1; }
}

# tshark over what the recorder captured: no malformed packet, every frame
# decoded, per v8 scheme the records ipflowd sent; then its field values.
tshark_check() {
	local name=$1 pcap=$T/$1.cap.pcap port bad frames total
	port=$(cat "$T/$name.rport")
	bad=$(tshark -r "$pcap" -d "udp.port==$port,cflow" -V 2>/dev/null |
		grep -ciE 'malformed|expert info \((error|warning)' || true)
	frames=$(tshark -r "$pcap" -d "udp.port==$port,cflow" -Y cflow 2>/dev/null | wc -l)
	total=$(tshark -r "$pcap" 2>/dev/null | wc -l)
	echo "tshark: $frames of $total frames decoded as cflow, $bad malformed/expert lines"
	[ "$bad" = 0 ] && [ "$frames" = "$total" ] && [ "$total" -gt 0 ] || return 1
	tshark -r "$pcap" -d "udp.port==$port,cflow" -Y "cflow.version == 8" -T fields -E occurrence=a -E aggregator=, \
		-e cflow.aggmethod -e cflow.version -e cflow.flows -e cflow.packets -e cflow.octets -e cflow.srcnet \
		-e cflow.srcmask -e cflow.dstnet -e cflow.dstmask -e cflow.srcas -e cflow.dstas -e cflow.inputint \
		-e cflow.outputint -e cflow.tos -e cflow.protocol -e cflow.srcport -e cflow.dstport \
		>"$T/$name.tshark.tsv" 2>/dev/null || return 1
	# record counts per v8 scheme: the header count, summed, equals what ipflowd sent there
	local s nf8 want got
	for s in $SCHEMES; do
		case $s in
		as) nf8=1 ;; protocol-port) nf8=2 ;; source-prefix) nf8=3 ;; destination-prefix) nf8=4 ;;
		prefix) nf8=5 ;; as-tos) nf8=9 ;; protocol-port-tos) nf8=10 ;; source-prefix-tos) nf8=11 ;;
		destination-prefix-tos) nf8=12 ;; prefix-tos) nf8=13 ;; prefix-port) nf8=14 ;; *) continue ;;
		esac
		want=$(sed -n "s/^Aggregation cache $s export v8 udp:127.0.0.1:$port: records \([0-9]*\) .*/\1/p" \
			"$T/$name.main.jsonl.stdout")
		[ -n "$want" ] || continue # this run exports the scheme in v9
		got=$(tshark -r "$pcap" -d "udp.port==$port,cflow" -Y "cflow.version == 8 && cflow.aggmethod == $nf8" \
			-T fields -e cflow.count 2>/dev/null | awk '{ n += $1 } END { print n + 0 }')
		[ "$got" = "$want" ] || { echo "tshark: $s $got records, ipflowd sent $want"; return 1; }
	done
}

judge() {
	local name=$1 tsv=""
	[ -s "$T/$name.tshark.tsv" ] && tsv=$T/$name.tshark.tsv
	$JUDGE "$T/$name.main.jsonl" "$T/$name.coll.jsonl" "$T/$name.schemes.json" "$T/$name.main.jsonl.stdout" $tsv
}

t_v8() { run v8 0 && tshark_check v8 && judge v8; }
t_v9() { run v9 1 && tshark_check v9 && judge v9; }

check agg_v8 t_v8
check agg_v9 t_v9
finish
