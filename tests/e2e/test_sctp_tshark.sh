#!/bin/bash
# test_sctp_tshark.sh BUILD_DIR SOURCE_DIR — tshark, an independent
# decoder, judges the wire (issue 5, test 7).
#
# IPFIX with export statistics over SCTP with two data streams, through
# udp_relay, which records every datagram and cuts the link for 1.5 s in
# the middle of the stream. tshark dissects the capture as SCTP over UDP
# (-d udp.port==P,sctp) and the DATA payloads as IPFIX (-d
# sctp.port==P,cflow):
#   - stream 0 carries only template sets (2), options template sets (3)
#     and options data (set 258); streams 1 and 2 carry only data sets of
#     the flow templates (256 IPv4, 257 IPv6), and both are used;
#   - full reliability: no FORWARD-TSN chunk at all, and every record
#     arrives (ground truth);
#   - partial reliability: the messages in flight during the cut are
#     retransmitted at most three times, then abandoned: FORWARD-TSN
#     chunks appear, and every flow the collector is missing is one ipflowd
#     counts as abandoned (a message abandoned after it arrived is counted
#     too: the sender cannot tell).
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/sctp_lib.sh"
need_sctp_bins
command -v tshark >/dev/null || skip "tshark not installed (Debian package tshark)"

gen -o "$T/c.pcap" -n 150000 -c 5000 --flows-per-sec 400 --inactive 2 --active 10 --truth "$T/c.flows.csv"

run() { # TAG RELIABILITY
	local tag=$1 rel=$2
	start_recv "coll_$tag"
	start_relay "rel_$tag" "$(port_of "coll_$tag")" -w "$T/$tag.pcap"
	ipflowd_bg "ipfd_$tag" -r "$T/c.pcap" --speed 2 --inactive 2 --active 10 -v 10 --export-stats --flush-ms 100 \
		-S none --stats -e "sctp:127.0.0.1:$(port_of "coll_$tag")" --sctp-udp-port "$(port_of "rel_$tag")" \
		--sctp-streams 2 --sctp-reliability "$rel"
	sleep 2
	relay "rel_$tag" cut
	sleep 1.5
	relay "rel_$tag" heal
	wait_pid "ipfd_$tag" 40 || fail "ipflowd ($tag) did not finish: $(tail -5 "$T/ipfd_$tag.err")"
	sleep 0.3
	stop_relay "rel_$tag"
	stop_recv "coll_$tag"
}

streams_ok() { # TAG
	local tag=$1 rp cp
	rp=$(port_of "rel_$tag")
	cp=$(port_of "coll_$tag")
	tshark -r "$T/$tag.pcap" -d "udp.port==$rp,sctp" -d "sctp.port==$cp,cflow" -Y "cflow && udp.dstport==$rp" \
		-T fields -e sctp.data_sid -e cflow.flowset_id 2>/dev/null >"$T/$tag.sets"
	"$PYTHON" - "$T/$tag.sets" <<-'PYEOF'
	import sys
	ctrl_ok = {2, 3, 258}
	data_ok = {256, 257}
	checked = mixed = ctrl = 0
	used = set()
	for line in open(sys.argv[1]):
	    f = line.rstrip("\n").split("\t")
	    sids = {int(x, 0) for x in f[0].split(",") if x}
	    sets = {int(x, 0) for x in f[1].split(",") if x} if len(f) > 1 else set()
	    if len(sids) != 1:
	        mixed += 1   # chunks of several streams bundled in one packet: not attributable
	        continue
	    sid = sids.pop()
	    used.add(sid)
	    checked += 1
	    if sid == 0:
	        ctrl += 1
	        assert sets <= ctrl_ok, ("stream 0 carries", sets)
	    else:
	        assert sets <= data_ok, ("stream %d carries" % sid, sets)
	print(checked, "IPFIX packets checked,", ctrl, "on stream 0,", mixed, "bundled across streams; streams", sorted(used))
	assert checked > 100 and ctrl >= 1 and {0, 1, 2} <= used and mixed * 20 < checked
	PYEOF
}
fwd_tsn() { tshark -r "$T/$1.pcap" -d "udp.port==$(port_of "rel_$1"),sctp" -Y 'sctp.chunk_type == 192' 2>/dev/null | wc -l; }

run full full
run part partial:1000
check full_streams streams_ok full
check part_streams streams_ok part
n_full=$(fwd_tsn full)
n_part=$(fwd_tsn part)
note "FORWARD-TSN chunks: full $n_full, partial $n_part"
check full_no_forward_tsn test "$n_full" = 0
check part_forward_tsn test "$n_part" -gt 0
"$PYTHON" "$DEDUP" "$T/full.jsonl" "$T/coll_full.jsonl" >/dev/null
check full_everything flowcheck --truth "$T/c.flows.csv" --log "$T/full.jsonl" --sums-only
check part_abandoned_is_missing "$PYTHON" - "$T/ipfd_part.out" "$T/coll_part.stats" <<-'PYEOF'
import json, re, sys
out = open(sys.argv[1]).read()
exported = int(re.search(r"^(\d+) flows exported in \d+ sctp messages", out, re.M).group(1))
m = re.search(r"primary: (\d+) abandoned \(FORWARD-TSN, (\d+) flows\), (\d+) dropped by the buffer limit \((\d+) flows\)", out)
ab, abf, lim, limf = map(int, m.groups())
s = json.load(open(sys.argv[2]))
print("exported", exported, "received", s["records"], "abandoned", ab, "messages", abf, "flows; limit drops", lim,
      "; collector stream gaps", s["streamGaps"])
assert ab > 0 and lim == 0
# Every missing flow is one the exporter counted abandoned. The converse
# need not hold: a message abandoned (its lifetime up) after it had
# arrived, its SACK still on the way, is delivered all the same; the
# sender cannot know (RFC 3758), so it counts it. Seen once under load:
# 2 abandoned (29 flows), 1 hole, 15 flows missing.
missing = exported - s["records"]
assert 0 <= missing <= abf, "flows missing beyond the abandoned ones: lost uncounted"
assert s["streamGaps"] <= ab, "the collector's stream-sequence holes exceed the abandoned count"
assert (missing == 0) == (s["streamGaps"] == 0), "holes without missing flows, or missing flows without a hole"
PYEOF
finish
