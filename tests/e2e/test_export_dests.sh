#!/usr/bin/env bash
# test_export_dests.sh BUILD_DIR SOURCE_DIR
#
# Two destinations at once (issue 3: ip flow-export destination, given
# twice; IOS allows two), for v9 and IPFIX. ipflowd exports one capture
#   run 1: to A, nfcapd on 127.0.0.1, and B, nfcapd on ::1 (an IPv6
#          collector address): each is its own export stream, so tshark,
#          reading the datagrams captured off loopback, sees A's and B's
#          sequence numbers each start at 0 and run on without a gap, each
#          stream carrying every record; both nfdumps equal the ground
#          truth and nfcapd counts no sequence error;
#   run 2: to A and C, a loopback port nobody listens on (ICMP port
#          unreachable): C's refusals are counted ("port unreachable") and
#          retried, and A still gets every record, exactly as in run 1.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/interop_lib.sh"
need_bins
need_cmd nfcapd nfdump
need_cmd tshark tshark
need_cmd dumpcap wireshark-common

gen -o "$T/in.pcap" -n 20000 -c 700 -s 15 --truth "$T/truth.csv" || fail "ipflow-gen"

# collected DIR NAME FLOWS: nfcapd's store NAME in DIR equals the truth
collected() {
	local d=$1 x=$2 n=$3
	grep -qE "Ident: 'ipflow' Flows: $n, .*Sequence Errors: 0," "$d/nf-$x.log" ||
		{ echo "nfcapd $x:"; grep Ident "$d/nf-$x.log"; return 1; }
	nfdump_records "$d/nf-$x" "$d/nf-$x.txt" || return 1
	echo "nfdump $x:"
	judge --truth "$T/truth.csv" --nfdump "$d/nf-$x.txt" --records "$n" --times
}

no_failures() {
	if awk '/flows failed due to lack of export packet/ && $1 != 0 { bad = 1 } END { exit !bad }' "$1"; then
		echo "a destination failed flows"
		return 1
	fi
}

two_streams() {
	local v=$1 d=$T/$2-streams pa pb
	pa=$(free_port udp)
	pb=$(free_port udp)
	mkdir -p "$d"
	nfcapd_start "$d/nf-a" "$pa" 127.0.0.1 || return 1
	local nfa=$NFCAPD_PID
	nfcapd_start "$d/nf-b" "$pb" ::1 || return 1
	local nfb=$NFCAPD_PID
	dumpcap_start "$d/cap.pcapng" "udp port $pa or udp port $pb" || return 1
	ipflowd_export "$d/ipflowd.out" "$T/in.pcap" -v "$v" --active 20 --inactive 5 \
		-e "udp:127.0.0.1:$pa" -e "udp:[::1]:$pb" || return 1
	wait_udp_drained "$pa"
	wait_udp_drained "$pb"
	sleep 0.3
	stop_pid "$DUMPCAP_PID"
	stop_pid "$nfa"
	stop_pid "$nfb"
	sed -n '/^Flow export/,/^Records exported/p' "$d/ipflowd.out"
	local ea eb x port
	ea=$(exported_of "$d/ipflowd.out" 1)
	eb=$(exported_of "$d/ipflowd.out" 2)
	[ -n "$ea" ] && [ "$ea" = "$eb" ] || { echo "destinations exported $ea and $eb flows"; return 1; }
	no_failures "$d/ipflowd.out" || return 1
	for x in a b; do
		collected "$d" $x "$ea" || return 1
		port=$pa
		[ $x = b ] && port=$pb
		tshark -r "$d/cap.pcapng" -d "udp.port==$port,cflow" -Y "udp.dstport==$port" -T json \
			>"$d/$x.json" 2>/dev/null || return 1
		echo "tshark $x:"
		judge --truth "$T/truth.csv" --tshark "$d/$x.json" --records "$ea" --seq-from 0 || return 1
	done
}

one_refusing() {
	local v=$1 d=$T/$2-refusing pa pc
	pa=$(free_port udp)
	pc=$(free_port udp)
	mkdir -p "$d"
	nfcapd_start "$d/nf-a" "$pa" 127.0.0.1 || return 1
	local nfa=$NFCAPD_PID
	ipflowd_export "$d/ipflowd.out" "$T/in.pcap" -v "$v" --active 20 --inactive 5 \
		-e "udp:127.0.0.1:$pa" -e "udp:127.0.0.1:$pc" || return 1
	wait_udp_drained "$pa" # nfcapd short of CPU is still behind when ipflowd ends
	stop_pid "$nfa"
	sed -n '/^Flow export/,/^Records exported/p' "$d/ipflowd.out"
	local ea ec refused
	ea=$(exported_of "$d/ipflowd.out" 1)
	ec=$(exported_of "$d/ipflowd.out" 2)
	refused=$(awk '/^  Destination\([0-9]+\) / { d++ } d == 2 && /port unreachable/ { gsub(/\(/, "", $10); print $10 }' "$d/ipflowd.out")
	[ -n "$ea" ] && [ "$ea" = "$ec" ] || { echo "destinations exported $ea and $ec flows"; return 1; }
	[ "${refused:-0}" -gt 0 ] || { echo "the refusing destination counted no port unreachable"; return 1; }
	no_failures "$d/ipflowd.out" || return 1
	collected "$d" a "$ea"
}

check v9-two-streams two_streams 9 v9
check v9-refusing one_refusing 9 v9
check ipfix-two-streams two_streams 10 ipfix
check ipfix-refusing one_refusing 10 ipfix
finish
