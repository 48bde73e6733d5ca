#!/usr/bin/env bash
# test_interop_nfdump.sh BUILD_DIR SOURCE_DIR
#
# nfdump judges our export (issue 3): generator -> ipflowd -> nfcapd over
# loopback UDP, for NetFlow v5, v7, v9 and IPFIX (v9/IPFIX with export
# statistics options records and also to an IPv6 collector address;
# IPFIX with ms and with us timestamps).
# nfdump's records must equal the ground truth exactly: per flow key the
# packets and bytes, and the first and last packet times to the ms; the
# records nfdump holds are exactly those ipflowd reports sent, and
# nfcapd counted no sequence error, so nothing was lost on the way. For
# v5/v7 the IPv6 flows are counted as not exportable, never dropped
# silently: exported + not exportable = every record the cache made.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/interop_lib.sh"
need_bins
need_cmd nfcapd nfdump
need_cmd nfdump nfdump

gen -o "$T/in.pcap" -n 80000 -c 2500 -s 11 --truth "$T/truth.csv" || fail "ipflow-gen"

# one_version NAME VERSION COLLECTOR_ADDR [IPFLOWD ARGS...]
one_version() {
	local name=$1 v=$2 addr=$3 port spec v4=
	shift 3
	port=$(free_port udp)
	spec="udp:$addr:$port"
	case $addr in *:*) spec="udp:[$addr]:$port" ;; esac
	nfcapd_start "$T/nf-$name" "$port" "$addr" || return 1
	ipflowd_export "$T/$name.ipflowd" "$T/in.pcap" -e "$spec" -v "$v" --active 20 --inactive 5 "$@" || return 1
	wait_udp_drained "$port"
	stop_pid "$NFCAPD_PID"
	grep -E "Ident: 'ipflow'" "$T/nf-$name.log"
	grep -qE "Ident: 'ipflow' Flows: $EXPORTED, .*Sequence Errors: 0, Bad Packets: 0" "$T/nf-$name.log" ||
		{ echo "nfcapd did not count $EXPORTED flows with no sequence error"; return 1; }
	nfdump_records "$T/nf-$name" "$T/nf-$name.txt" || return 1
	if [ "$v" = 5 ] || [ "$v" = 7 ]; then
		v4=--v4-only
		local made nx
		made=$(awk '/^Records exported/ { print $3 }' "$T/$name.ipflowd")
		nx=$(awk '/flows not exportable in this version/ { print $1 }' "$T/$name.ipflowd")
		echo "cache made $made records: $EXPORTED exported, $nx IPv6 not exportable in v$v"
		[ "$nx" -gt 0 ] && [ $((EXPORTED + nx)) = "$made" ] || { echo "records unaccounted for"; return 1; }
	fi
	judge --truth "$T/truth.csv" --nfdump "$T/nf-$name.txt" --records "$EXPORTED" ${NOTIMES:---times} $v4
}

check v5 one_version v5 5 127.0.0.1
check v7 one_version v7 7 127.0.0.1
check v9 one_version v9 9 127.0.0.1 --export-stats
check v9-ipv6-collector one_version v9-v6 9 ::1
# IPFIX without export statistics: nfdump 1.7.1 advances its expected
# sequence number for flow records only, not for options data records,
# although RFC 7011 §3.1 counts every data record (as we do; tshark and
# libfixbuf judge that in test_interop_tshark / test_interop_fixbuf).
check ipfix one_version ipfix 10 127.0.0.1
# nfdump 1.7.1 reads no flowStart/EndMicroseconds (IEs 154/155): its
# times are 0 there, so only the counts are judged (tshark reads them).
NOTIMES=" " check ipfix-usec one_version ipfix-us 10 127.0.0.1 --ipfix-usec
finish
