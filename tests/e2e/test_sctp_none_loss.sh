#!/bin/bash
# test_sctp_none_loss.sh BUILD_DIR SOURCE_DIR — reliability none under 10 %
# loss (issue 5, test 3).
#
# NetFlow v9 over SCTP with "reliability none" (PR-SCTP, RTX 0: a message
# is sent once) through udp_relay dropping 10 % each way, the capture
# replayed at twice its pace (flat out, "none" would mostly drop for want
# of room in the stack, which it counts too). Loss must be
# counted on both sides: the collector sees sequence-number gaps, ipflowd
# counts abandoned messages (an upper bound: a message whose SACK was lost
# is abandoned although it arrived), and every exported flow is either
# received or counted as dropped. On the wire (the relay's capture, read
# by tshark as SCTP) no DATA chunk of a data stream is sent twice: no
# retransmission; only stream 0 (templates, always reliable) may repeat,
# and FORWARD-TSN chunks tell the collector to move on.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/sctp_lib.sh"
need_sctp_bins
command -v tshark >/dev/null || skip "tshark not installed (Debian package tshark)"

gen -o "$T/a.pcap" -n 150000 -c 5000 --flows-per-sec 400 --inactive 2 --active 10 --truth "$T/a.flows.csv"
start_recv coll
start_relay rel "$(port_of coll)" -s 5 -u 0.10 -d 0.10 -w "$T/rel.pcap"
RP=$(port_of rel)
timeout -k 5 50 "$IPFLOWD" -r "$T/a.pcap" --speed 2 --inactive 2 --active 10 -v 9 --flush-ms 100 -S none --stats \
	-e "sctp:127.0.0.1:$(port_of coll)" --sctp-udp-port "$RP" --sctp-reliability none \
	>"$T/ipfd.out" 2>"$T/ipfd.err" || fail "ipflowd failed: $(tail -5 "$T/ipfd.err")"
sleep 0.3
stop_relay rel
stop_recv coll

check counted_both_sides "$PYTHON" - "$T/ipfd.out" "$T/coll.stats" <<-'PYEOF'
import json, re, sys
out = open(sys.argv[1]).read()
s = json.load(open(sys.argv[2]))
exported = int(re.search(r"^(\d+) flows exported in (\d+) sctp messages", out, re.M).group(1))
pk = int(re.search(r"^(\d+) packets dropped due to lack of SCTP resources", out, re.M).group(1))
m = re.search(r"primary: (\d+) abandoned \(FORWARD-TSN, (\d+) flows\), (\d+) dropped by the buffer limit \((\d+) flows\)", out)
ab, abf, lim, limf = map(int, m.groups())
print("exported", exported, "received", s["records"], "collector seq loss", s["seqLost"],
      "abandoned", ab, "(", abf, "flows), no room", lim, "(", limf, "flows)")
assert s["seqLost"] > 0 and ab > 0, "no loss seen"
assert lim < ab, "mostly dropped for want of room, not by loss: pace the replay"
assert s["seqLost"] <= pk, "the collector lost more than ipflowd counted"
assert s["records"] + abf + limf >= exported, "flows neither received nor counted"
assert s["records"] <= exported and s["decodeErrors"] == 0
PYEOF
no_retransmission() {
	tshark -r "$T/rel.pcap" -d "udp.port==$RP,sctp" -Y "udp.dstport==$RP && sctp.data_tsn" \
		-T fields -e sctp.data_sid -e sctp.data_tsn 2>/dev/null >"$T/tsn.txt"
	"$PYTHON" - "$T/tsn.txt" <<-'PYEOF'
	import collections, sys
	seen = collections.Counter()
	for line in open(sys.argv[1]):
	    f = line.rstrip("\n").split("\t")
	    if len(f) < 2 or not f[0]:
	        continue
	    for sid, tsn in zip(f[0].split(","), f[1].split(",")):
	        seen[(int(sid, 0), int(tsn, 0))] += 1
	data = {k: v for k, v in seen.items() if k[0] != 0}
	again = [k for k, v in data.items() if v > 1]
	ctrl_again = [k for k, v in seen.items() if k[0] == 0 and v > 1]
	print(len(data), "data chunks on streams > 0,", len(again), "sent twice;",
	      len(ctrl_again), "stream-0 chunks retransmitted")
	assert len(data) > 100 and not again
	PYEOF
}
check no_data_retransmission no_retransmission
check forward_tsn_sent test "$(tshark -r "$T/rel.pcap" -d "udp.port==$RP,sctp" -Y 'sctp.chunk_type == 192' 2>/dev/null | wc -l)" -gt 0
finish
