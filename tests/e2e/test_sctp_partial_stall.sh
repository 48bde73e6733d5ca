#!/bin/bash
# test_sctp_partial_stall.sh BUILD_DIR SOURCE_DIR — partial reliability with
# buffer-limit 50 and a collector that stops reading (issue 5, test 2).
#
# NetFlow v9 over SCTP, "reliability partial buffer-limit 50": 3 s into a
# paced replay sctp_recv stops reading (SIGUSR1) for 3 s, so its receive
# window (64 KB) fills and stays shut. Meanwhile ipflowd must keep at most
# 50 messages (the show command's queue, sampled every 0.3 s) and its
# memory must not grow with what it drops; every message it drops is
# counted ("packets dropped due to lack of SCTP resources", with their
# flows). After the collector resumes, the sequence-number loss it sees
# (v9 counts export packets) equals ipflowd's drop count exactly, and the
# records it got plus the flows ipflowd dropped are all the flows exported.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/sctp_lib.sh"
need_sctp_bins

gen -o "$T/c.pcap" -n 150000 -c 5000 --flows-per-sec 400 --inactive 2 --active 10 --truth "$T/c.flows.csv"
start_recv coll -r 65536
ipflowd_bg ipfd -r "$T/c.pcap" --speed 1 --inactive 2 --active 10 -v 9 --flush-ms 100 -S "$T/ctl.sock" --stats \
	-e "sctp:127.0.0.1:$(port_of coll)" --sctp-reliability partial:50
wait_sock "$T/ctl.sock" || fail "ipflowd has no control socket: $(tail -3 "$T/ipfd.err")"
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$PID_ipfd/status"; }
sleep 3
kill -USR1 "$PID_coll"
note "collector stopped reading"
: >"$T/samples"
for i in $(seq 1 10); do
	sleep 0.3
	q=$(show_json "$T/ctl.sock" show ip flow export sctp | jget - destinations.0.queuedMessages)
	echo "$q $(rss)" >>"$T/samples"
done
kill -USR2 "$PID_coll"
note "collector reads again"
wait_pid ipfd 40 || fail "ipflowd did not finish: $(tail -5 "$T/ipfd.err")"
sleep 0.5
stop_recv coll

cat "$T/samples"
check queue_within_limit awk 'NF != 2 || $1 > 50 { bad = 1 } END { exit bad || NR != 10 }' "$T/samples"
check memory_bounded awk 'NR == 1 { first = $2 } { if ($2 > max) max = $2 }
	END { print "RSS kB first", first, "max", max; exit (first == "" || max - first > 4096) }' "$T/samples"
drops=$(sed -n 's/^\([0-9]*\) packets dropped due to lack of SCTP resources$/\1/p' "$T/ipfd.out" | head -n1)
check drops_counted test "${drops:-0}" -gt 0
check seq_loss_equals_drops "$PYTHON" - "$T/coll.stats" "$drops" <<-'PYEOF'
import json, sys
s = json.load(open(sys.argv[1]))
print("collector sequence loss", s["seqLost"], "exporter drops", sys.argv[2], s)
assert s["seqLost"] == int(sys.argv[2]), s
assert s["decodeErrors"] == 0 and s["skippedSets"] == 0, s
PYEOF
check flows_accounted "$PYTHON" - "$T/ipfd.out" "$T/coll.stats" <<-'PYEOF'
import json, re, sys
out = open(sys.argv[1]).read()
exported = int(re.search(r"^(\d+) flows exported in \d+ sctp messages", out, re.M).group(1))
m = re.search(r"primary: \d+ abandoned \(FORWARD-TSN, (\d+) flows\), \d+ dropped by the buffer limit \((\d+) flows\)", out)
dropped = int(m.group(1)) + int(m.group(2))
got = json.load(open(sys.argv[2]))["records"]
print("exported", exported, "received", got, "dropped", dropped)
assert got + dropped == exported and dropped > 0
PYEOF
finish
