#!/usr/bin/env bash
# test_interop_tshark.sh BUILD_DIR SOURCE_DIR
#
# tshark judges every export datagram of every format (issue 3), captured
# live off loopback by dumpcap while ipflowd exports a generated capture
# as NetFlow v1, v5, v7, v9 and IPFIX (v9/IPFIX with export statistics,
# IPFIX also with us timestamps, and over IPv6). For each format:
#  - tshark's cflow dissector finds no malformed packet and no expert
#    info of any severity in any datagram;
#  - every datagram's header count equals the records tshark decoded in
#    it, and the sequence numbers run on without a gap (v5/v7 flows, v9
#    datagrams, IPFIX data records incl. options records: RFC 7011 §3.1);
#  - tshark decoded exactly the flow records ipflowd reports sent, and per
#    flow key their packets and bytes equal the ground truth;
#  - dumpcap dropped nothing and captured every datagram ipflowd sent.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/interop_lib.sh"
need_bins
need_cmd tshark tshark
need_cmd dumpcap wireshark-common

gen -o "$T/in.pcap" -n 25000 -c 800 -s 13 --truth "$T/truth.csv" || fail "ipflow-gen"

# A sink so the datagrams are received (no ICMP port unreachable).
sink_start() {
	"$PYTHON" -c '
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind((sys.argv[1], int(sys.argv[2])))
open(sys.argv[3], "w").close()
while True:
    s.recv(65535)
' "$1" "$2" "$3" &
	SINK_PID=$!
	on_exit "kill $SINK_PID"
	local i
	for ((i = 0; i < 100; i++)); do [ -e "$3" ] && return 0; sleep 0.05; done
	echo "sink did not start"
	return 1
}

# one_format NAME VERSION ADDR [IPFLOWD ARGS...]
one_format() {
	local name=$1 v=$2 addr=$3 port spec cap=$T/$1.pcapng v4= sent
	shift 3
	port=$(free_port udp)
	spec="udp:$addr:$port"
	case $addr in *:*) spec="udp:[$addr]:$port" ;; esac
	sink_start "$addr" "$port" "$T/$name.sink" || return 1
	dumpcap_start "$cap" "udp port $port" || return 1
	ipflowd_export "$T/$name.ipflowd" "$T/in.pcap" -e "$spec" -v "$v" --active 20 --inactive 5 "$@" || return 1
	sent=$(awk '/flows exported in/ { print $5; exit }' "$T/$name.ipflowd")
	sleep 0.3
	stop_pid "$DUMPCAP_PID"
	kill "$SINK_PID"
	grep -E "^Packets received/dropped" "$cap.log"
	grep -qE "received/dropped on interface .*: $sent/0 " "$cap.log" ||
		{ echo "dumpcap did not capture the $sent datagrams ipflowd sent, without drop"; return 1; }
	# one pass: the JSON holds the records and any expert info or malformed mark
	tshark -r "$cap" -d "udp.port==$port,cflow" -T json >"$T/$name.json" 2>/dev/null || return 1
	case $v in 1 | 5 | 7) v4=--v4-only ;; esac
	judge --truth "$T/truth.csv" --tshark "$T/$name.json" --records "$EXPORTED" $v4
}

check v1 one_format v1 1 127.0.0.1
check v5 one_format v5 5 127.0.0.1
check v7 one_format v7 7 127.0.0.1
check v9 one_format v9 9 127.0.0.1 --export-stats --template-refresh 5
check ipfix one_format ipfix 10 127.0.0.1 --export-stats --template-refresh 5
check ipfix-usec-ipv6 one_format ipfix-us6 10 ::1 --ipfix-usec
finish
