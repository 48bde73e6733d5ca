#!/bin/bash
# test_sctp_full_loss.sh BUILD_DIR SOURCE_DIR — full reliability under 10 %
# packet loss each way (issue 5, test 1).
#
# ipflowd replays a generated capture and exports IPFIX over SCTP (UDP
# encapsulation) to sctp_recv through udp_relay, which drops 10 % of the
# datagrams in each direction (seeded, so the same packets for the same
# order). Every record must arrive exactly once: the collector's flow log
# (decoded by the project's IPFIX decoder with a template store of its own
# per association) de-duplicated by message has no duplicate, and its
# per-key packet/byte sums equal ipflow-gen's ground truth (flowcheck.py).
# The relay's capture, dissected by tshark as SCTP, shows the DATA
# retransmissions that made it so, and no malformed packet; ipflowd counts
# nothing dropped.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/sctp_lib.sh"
need_sctp_bins

gen -o "$T/a.pcap" -n 200000 -c 10000 --flows-per-sec 2000 --inactive 2 --active 10 --truth "$T/a.flows.csv"
start_recv coll
start_relay rel "$(port_of coll)" -s 11 -u 0.10 -d 0.10 -w "$T/rel.pcap"
RP=$(port_of rel)
note "collector on $(port_of coll), relay on $RP (10 % loss each way)"
timeout -k 5 50 "$IPFLOWD" -r "$T/a.pcap" --inactive 2 --active 10 -v 10 --flush-ms 100 -S none --stats \
	-e "sctp:127.0.0.1:$(port_of coll)" --sctp-udp-port "$RP" --sctp-heartbeat 200 \
	>"$T/ipflowd.out" 2>"$T/ipflowd.err" || fail "ipflowd failed: $(tail -5 "$T/ipflowd.err")"
sleep 0.3
stop_relay rel
stop_recv coll

check dedup "$PYTHON" "$DEDUP" "$T/all.jsonl" "$T/coll.jsonl"
"$PYTHON" "$DEDUP" "$T/all.jsonl" "$T/coll.jsonl" >"$T/dedup.json"
check exactly_once test "$(jget "$T/dedup.json" duplicateMessages)" = 0
check truth flowcheck --truth "$T/a.flows.csv" --log "$T/all.jsonl" --sums-only
check loss_both_ways "$PYTHON" -c "
import json; s = json.load(open('$T/rel.stats'))
print(s)
assert s['droppedUp'] > 0.05 * s['up'] and s['droppedDown'] > 0.05 * s['down'], s"
check collector_clean "$PYTHON" -c "
import json; s = json.load(open('$T/coll.stats'))
print(s)
assert s['decodeErrors'] == 0 and s['skippedSets'] == 0 and s['firstNotTemplate'] == 0, s
assert s['dataOnStream0'] == 0 and s['templatesOnDataStreams'] == 0 and s['seqLost'] == 0, s"
check nothing_dropped grep -q '^0 packets dropped due to lack of SCTP resources' "$T/ipflowd.out"
check no_failed_flows grep -q ' 0 flows failed due to lack of export packet' "$T/ipflowd.out"
tshark_retrans() {
	command -v tshark >/dev/null || { echo "tshark not installed: skipped"; return 0; }
	tshark -r "$T/rel.pcap" -d "udp.port==$RP,sctp" -Y "sctp.data_tsn && ip.dst==127.0.0.1 && udp.dstport==$RP" \
		-T fields -e sctp.data_tsn 2>/dev/null | tr ',' '\n' | sort | uniq -d | wc -l >"$T/retrans"
	local bad
	bad=$(tshark -r "$T/rel.pcap" -d "udp.port==$RP,sctp" -V 2>/dev/null | grep -ci 'malformed' || true)
	echo "TSNs sent more than once: $(cat "$T/retrans"), malformed: $bad"
	[ "$(cat "$T/retrans")" -gt 0 ] && [ "$bad" = 0 ]
}
check retransmitted tshark_retrans
finish
