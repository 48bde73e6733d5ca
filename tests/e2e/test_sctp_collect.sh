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
#     plus the records it stored equals the flows ipflowd exported; what
#     ipflowd counts as abandoned bounds that loss from above.
#  3. The same with only the acknowledgements cut: ipflowd abandons
#     messages the collector has; the collector counts no loss.
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

# partial_run NAME CUT: ipflowd exports with partial reliability through a
# relay that applies CUT ("cut": both directions, "cut down": only the
# collector's acknowledgements) for 1.5 s mid-stream; prints ipflowd's and
# the collector's figures as "ab abf holes seq_lost records flows".
partial_run() {
	local name=$1 cut=$2 port
	port=$(free_port udp)
	coll_start "$name" -l "sctp:127.0.0.1:$port" -o "csv:$T/$name.csv" || return 1
	start_relay "r$name" "$port"
	ipflowd_bg "${name}_ipfd" -r "$T/c.pcap" --speed 2 --inactive 2 --active 10 -v 10 --flush-ms 100 -S none --stats \
		-e "sctp:127.0.0.1:$port" --sctp-udp-port "$(port_of "r$name")" --sctp-reliability partial:1000
	sleep 2
	relay "r$name" "$cut"
	sleep 1.5
	relay "r$name" heal
	wait_pid "${name}_ipfd" 40 || return 1
	sleep 0.5
	stop_relay "r$name"
	coll_stop "$name" || return 1
	cat "$T/r$name.stats" >&2
	"$PYTHON" - "$T/${name}_ipfd.out" "$(grep '^Totals:' "$T/$name.out" | tail -n1)" "$T/$name.out" <<-'PYEOF'
	import re, sys
	out = open(sys.argv[1]).read()
	tot = dict(kv.split("=", 1) for kv in sys.argv[2].split()[1:] if "=" in kv)
	m = re.search(r"primary: (\d+) abandoned \(FORWARD-TSN, (\d+) flows\)", out)
	flows = int(re.search(r"^ *(\d+) flows exported in", out, re.M).group(1))
	holes = int(re.search(r"(\d+) messages abandoned by exporters", open(sys.argv[3]).read()).group(1))
	assert int(tot["malformed"]) == 0, "malformed messages"
	print(m.group(1), m.group(2), holes, tot["seq_lost"], tot["records"], flows)
	PYEOF
}

# partial_case NAME CUT: partial_run, its output shown, its figures in
# AB ABF HOLES LOST RECS FLOWS.
partial_case() {
	local out
	out=$(partial_run "$1" "$2") || { echo "$out"; return 1; }
	echo "$out" | sed '$d'
	read -r AB ABF HOLES LOST RECS FLOWS <<<"$(echo "$out" | tail -n 1)"
	echo "ipflowd exported $FLOWS flows, abandoned $AB messages ($ABF flows);" \
		"collector: $RECS records, seq_lost $LOST records, stream holes $HOLES messages"
	[ -n "$FLOWS" ] || return 1
	[ "$AB" -gt 0 ] || { echo "nothing abandoned: the cut did not bite"; return 1; }
}

# Both directions cut: what was sent in the cut never arrives, so the
# collector sees holes and counts their records as sequence loss. Exact at
# the collector: records stored + records lost = flows ipflowd exported.
# ipflowd's abandoned count is an upper bound (see the next case): a
# message that arrived just before the cut, whose acknowledgement the cut
# took, is abandoned too, though the collector has it.
partial_cut() {
	partial_case part cut || return 1
	[ "$HOLES" -gt 0 ] || { echo "no stream hole counted"; return 1; }
	[ "$HOLES" -le "$AB" ] && [ "$LOST" -le "$ABF" ] || { echo "collector lost more than ipflowd abandoned"; return 1; }
	[ $((RECS + LOST)) = "$FLOWS" ] || { echo "records + seq_lost != flows exported"; return 1; }
	[ "$LOST" -gt 0 ] || { echo "holes without sequence loss"; return 1; }
}

# Only the acknowledgements cut: every message arrives, none is
# acknowledged, so ipflowd abandons messages (and says so) that the
# collector has: no hole, no loss, every flow stored.
partial_acks_cut() {
	partial_case acks "cut down" || return 1
	[ "$HOLES" = 0 ] && [ "$LOST" = 0 ] || { echo "the collector counted loss where nothing was lost"; return 1; }
	[ "$RECS" = "$FLOWS" ] || { echo "records != flows exported"; return 1; }
}

check full_reliability_under_loss full_loss
check partial_forward_tsn_counted partial_cut
check partial_abandoned_but_delivered partial_acks_cut
finish
