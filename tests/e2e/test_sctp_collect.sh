#!/bin/bash
# test_sctp_collect.sh BUILD_DIR SOURCE_DIR — ipflowd → ipflow-collect over
# SCTP (UDP encapsulation, RFC 6951), end to end through the real collector.
#
#  1. IPFIX with export statistics, full reliability, through udp_relay
#     dropping 10 % each way: the collector (-l sctp:) gets every message
#     ipflowd sent, none malformed, no sequence loss; its stored flows
#     (csv) equal ipflow-gen's ground truth; the templates were scoped to
#     the association and withdrawn at the end (RFC 7011 §8.1).
#  2. Partial reliability with the link cut for 1.5 s mid-stream: messages
#     in flight are abandoned (FORWARD-TSN); the collector counts the holes
#     in the stream sequence, and its IPFIX sequence-number loss (records)
#     equals the flows ipflowd counts as abandoned.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/sctp_lib.sh"
. "$(dirname "$0")/collect_lib.sh"
need_sctp_bins

gen -o "$T/c.pcap" -n 150000 -c 5000 --flows-per-sec 400 --inactive 2 --active 10 --truth "$T/c.flows.csv"

full_loss() {
	local port
	port=$(free_port udp)
	coll_start full -l "sctp:127.0.0.1:$port" -o "csv:$T/full.csv" || return 1
	start_relay rf "$port" -s 3 -u 0.10 -d 0.10
	timeout -k 5 50 "$IPFLOWD" -r "$T/c.pcap" --inactive 2 --active 10 -v 10 --export-stats --flush-ms 100 -S none \
		--stats -e "sctp:127.0.0.1:$port" --sctp-udp-port "$(port_of rf)" >"$T/full.ipfd" 2>&1 || return 1
	local sent
	sent=$(sed -n 's/^ *\([0-9]*\) flows exported in \([0-9]*\) export messages/\2/p' "$T/full.ipfd" | head -n1)
	coll_wait full msgs "$sent" || return 1
	stop_relay rf
	coll_stop full || return 1
	local line
	line=$(grep '^Totals:' "$T/full.out" | tail -n1)
	echo "ipflowd sent $sent messages; collector: $line" | cut -c 1-400
	cat "$T/rf.stats"
	[ "$(coll_val msgs "$line")" = "$sent" ] || { echo "messages differ"; return 1; }
	local k
	for k in malformed seq_lost seq_ooo pend_sets; do
		[ "$(coll_val $k "$line")" = 0 ] || { echo "$k is not 0"; return 1; }
	done
	[ "$(coll_val withdrawals "$line")" -ge 1 ] || { echo "no template withdrawal seen"; return 1; }
	flowcheck --truth "$T/c.flows.csv" --log "csv:$T/full.csv" --sums-only
}

partial_cut() {
	local port
	port=$(free_port udp)
	coll_start part -l "sctp:127.0.0.1:$port" -o "csv:$T/part.csv" || return 1
	start_relay rp "$port"
	ipflowd_bg ipfd -r "$T/c.pcap" --speed 2 --inactive 2 --active 10 -v 10 --flush-ms 100 -S none --stats \
		-e "sctp:127.0.0.1:$port" --sctp-udp-port "$(port_of rp)" --sctp-reliability partial:1000
	sleep 2
	relay rp cut
	sleep 1.5
	relay rp heal
	wait_pid ipfd 40 || return 1
	sleep 0.5
	stop_relay rp
	coll_stop part || return 1
	local line
	line=$(grep '^Totals:' "$T/part.out" | tail -n1)
	"$PYTHON" - "$T/ipfd.out" "$line" "$T/part.out" <<-'PYEOF'
	import re, sys
	out = open(sys.argv[1]).read()
	tot = dict(kv.split("=", 1) for kv in sys.argv[2].split()[1:] if "=" in kv)
	m = re.search(r"primary: (\d+) abandoned \(FORWARD-TSN, (\d+) flows\)", out)
	ab, abf = int(m.group(1)), int(m.group(2))
	holes = int(re.search(r"(\d+) messages abandoned by exporters", open(sys.argv[3]).read()).group(1))
	print("ipflowd abandoned", ab, "messages,", abf, "flows; collector: seq_lost", tot["seq_lost"],
	      "records, stream holes", holes, "messages")
	assert ab > 0, "nothing abandoned: the cut did not bite"
	assert int(tot["seq_lost"]) == abf and holes == ab and int(tot["malformed"]) == 0
	PYEOF
}

check full_reliability_under_loss full_loss
check partial_forward_tsn_counted partial_cut
finish
