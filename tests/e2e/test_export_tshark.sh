#!/usr/bin/env bash
# test_export_tshark.sh BUILD_DIR SOURCE_DIR
#
# Independent decoders judge our export messages: tshark's cflow dissector
# must decode every v5, v9 and IPFIX datagram written by test_export_pcap
# (UDP/2055 in a pcap) with no malformed packet or expert error, and find
# every flow; libfixbuf's ipfixDump, if installed, must read the IPFIX File
# and count every data record. Skips (exit 0) when tshark is missing.
set -euo pipefail
build=${1:?BUILD_DIR}
src=${2:?SOURCE_DIR}
gen="$build/test_export_pcap"
if ! command -v tshark >/dev/null; then
	echo "SKIP: tshark not installed (apt-get install tshark)"
	exit 0
fi
[ -x "$gen" ] || { echo "FAIL: $gen not built"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$gen" "$tmp"

fails=0
check() { # name pcap expected_flows
	local name=$1 pcap=$2 want=$3 bad flows frames
	bad=$(tshark -r "$pcap" -d udp.port==2055,cflow -V 2>/dev/null |
		grep -ciE 'malformed|expert info \((error|warning)' || true)
	frames=$(tshark -r "$pcap" -d udp.port==2055,cflow -Y cflow 2>/dev/null | wc -l)
	flows=$(tshark -r "$pcap" -d udp.port==2055,cflow -T fields -E occurrence=a -E aggregator=, \
		-e cflow.srcaddr -e cflow.srcaddrv6 2>/dev/null | tr ',\t' '\n\n' | grep -c . || true)
	total=$(tshark -r "$pcap" 2>/dev/null | wc -l)
	if [ "$bad" -ne 0 ] || [ "$flows" -ne "$want" ] || [ "$frames" -ne "$total" ]; then
		echo "FAIL $name: $bad malformed/expert lines, $flows flows (want $want), $frames/$total frames decoded"
		fails=$((fails + 1))
	else
		echo "ok   $name: $total messages, $flows flows, no malformed packet"
	fi
}
check v5 "$tmp/v5.pcap" 100
check v9 "$tmp/v9.pcap" 100
check ipfix "$tmp/ipfix.pcap" 100
check ipfix-us "$tmp/ipfix_us.pcap" 100

if command -v ipfixDump >/dev/null; then
	out=$(ipfixDump --in "$tmp/ipfix.ipfix" 2>&1 | tail -n 1)
	# 100 flows + one export-statistics options record every 2 messages
	if echo "$out" | grep -qE 'File Stats: [0-9]+ Messages, 10[0-9] Data Records'; then
		echo "ok   ipfixDump: $out"
	else
		echo "FAIL ipfixDump: $out"
		fails=$((fails + 1))
	fi
else
	echo "skip ipfixDump: not installed (apt-get install libfixbuf-tools)"
fi
echo "$((4 + 1 - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
