#!/bin/bash
# test_collect_pmacct.sh BUILD_DIR SOURCE_DIR — pmacct's nfprobe as the
# exporter, nfcapd/nfdump as the judge (the method of test_collect_peers.sh).
#
# pmacctd reads the generator's capture (pcap_savefile) and exports with
# its nfprobe plugin in v5, v9 and IPFIX to nfcapd, which repeats every
# datagram to ipflow-collect (-R). Judged: what ipflow-collect stored =
# what nfdump reads back (records, and record by record: key, packets,
# bytes exactly, times within 1 s), with no malformed message, no
# sequence gap and no kernel drop. pmacct prints no export count: nfcapd's
# file is the count. (pmacctd sleeps a fixed few seconds before it exits:
# about 7 s a run.)
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/collect_lib.sh"
need_bins
for b in pmacctd nfcapd nfdump; do
	command -v $b >/dev/null || fail "$b not installed (scripts/deps.sh test)"
done
COLLCHECK="$PYTHON $SRC_DIR/tests/e2e/collcheck.py"
export TZ=UTC
peer_inputs || fail "could not make the inputs"

# pmacctd reads the capture as fast as it can and exits, exporting all.
t_pmacct() { # VERSION
	local name=pm$1 cport
	cport=$(udp_port)
	coll_start "$name" -l "udp:127.0.0.1:$cport" -o "csv:$T/$name.csv" || return 1
	nfcapd_start "$name" "$cport"
	cat >"$T/$name.conf" <<-EOF
	daemonize: false
	pcap_savefile: $T/in.pcap
	plugins: nfprobe
	nfprobe_receiver: 127.0.0.1:$NFPORT
	nfprobe_version: $1
	EOF
	timeout -k 5 60 pmacctd -f "$T/$name.conf" >"$T/$name.pmacctd.log" 2>&1 || { tail "$T/$name.pmacctd.log"; return 1; }
	# pmacct prints no export count: the records are what nfcapd got, judged below
	local i prev=-1 n
	for i in $(seq 1 50); do
		n=$(coll_val msgs "$(coll_totals "$name")")
		[ "$n" = "$prev" ] && [ "$n" -gt 0 ] && break
		prev=$n
		sleep 0.3
	done
	nfcapd_stop
	coll_stop "$name" || return 1
	local nflows
	nflows=$(nfdump -R "$T/$name.nfd" -I 2>/dev/null | sed -n 's/^Flows: *//p')
	[ -n "$nflows" ] && [ "$nflows" -gt 1000 ] || { echo "nfcapd stored ${nflows:-no} flows"; return 1; }
	judge "$name" "$nflows"
}

check pmacct_v5 t_pmacct 5
check pmacct_v9 t_pmacct 9
check pmacct_ipfix t_pmacct 10
finish
