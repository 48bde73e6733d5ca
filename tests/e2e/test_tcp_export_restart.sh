#!/bin/bash
# test_tcp_export_restart.sh BUILD_DIR SOURCE_DIR — IPFIX over TCP, the
# collector restarts mid-stream (issue 5, test 8).
#
# ipflowd exports IPFIX over TCP (RFC 7011 §10.4) to sctp_recv -T (IPFIX
# framed by its length field, a template store per connection). 2 s into
# a paced replay the collector shuts down in order (it half-closes and
# reads what it was sent until ipflowd closes its side) and a new one takes
# the port 2 s later. ipflowd must notice, queue meanwhile, reconnect with
# backoff and open the new session with its templates (the new collector
# knows none: data before them would not decode). Nothing is lost: both
# collectors' logs, de-duplicated by message, equal the ground truth; a
# message cut by the old connection is sent again whole and counted.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/sctp_lib.sh"
need_sctp_bins

gen -o "$T/c.pcap" -n 150000 -c 5000 --flows-per-sec 400 --inactive 2 --active 10 --truth "$T/c.flows.csv"
PORT=$(free_port tcp)
start_tcp() { # NAME
	"$SCTP_RECV" -T "127.0.0.1:$PORT" -p "$T/$1.port" -o "$T/$1.jsonl" -m "$T/$1.msgs" -s "$T/$1.stats" \
		2>"$T/$1.err" &
	eval "PID_$1=$!"
	on_exit "kill -KILL $! 2>/dev/null"
	wait_file "$T/$1.port" || fail "collector $1 did not start: $(cat "$T/$1.err")"
}
start_tcp a
ipflowd_bg ipfd -r "$T/c.pcap" --speed 2 --inactive 2 --active 10 -v 10 --flush-ms 100 -S "$T/ctl.sock" --stats \
	-e "tcp:127.0.0.1:$PORT"
wait_sock "$T/ctl.sock" || fail "ipflowd has no control socket: $(tail -3 "$T/ipfd.err")"
sleep 2
stop_recv a
note "collector a stopped"
sleep 2
start_tcp b
note "collector b started on the same port"
wait_pid ipfd 40 || fail "ipflowd did not finish: $(tail -5 "$T/ipfd.err")"
sleep 0.3
stop_recv b

check sessions "$PYTHON" - "$T/a.stats" "$T/b.stats" <<-'PYEOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
print("a:", a)
print("b:", b)
for s in (a, b):
    assert s["tcpConnections"] == 1 and s["tcpMessages"] > 10, s
    # each session opened with its templates, and nothing failed to decode
    assert s["firstNotTemplate"] == 0 and s["skippedSets"] == 0 and s["decodeErrors"] == 0, s
    assert s["templates"] >= 2, s
PYEOF
"$PYTHON" "$DEDUP" "$T/all.jsonl" "$T/a.jsonl" "$T/b.jsonl" >"$T/dedup.json"
check nothing_lost flowcheck --truth "$T/c.flows.csv" --log "$T/all.jsonl" --sums-only
check counted "$PYTHON" - "$T/ipfd.out" "$T/dedup.json" <<-'PYEOF'
import json, re, sys
out = open(sys.argv[1]).read()
d = json.load(open(sys.argv[2]))
m = re.search(r"(\d+) flows exported in (\d+) export messages\n\s+(\d+) flows failed", out)
print(m.group(0).replace("\n", " "), d)
assert int(m.group(3)) == 0 and d["duplicateMessages"] <= 1
PYEOF
finish
