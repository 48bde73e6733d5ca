#!/usr/bin/env bash
# test_export_ownfilter.sh BUILD_DIR SOURCE_DIR
#
# A live ipflowd leaves its own export traffic out of what it meters
# (issue 2: "by default its own export traffic is excluded"), for a UDP
# and a TCP destination alike. In a network namespace made for this run
# (loopback only), ipflowd A meters lo and exports v9 to a UDP and a TCP
# collector on lo while a sender puts UDP datagrams on lo; ipflowd B
# meters lo beside it and exports nothing. B's log holds flows to both
# collector ports (the export traffic was there to be seen); A's log holds
# the sender's flows and none to or from either collector port.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/interop_lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root to create a network namespace"
command -v ip >/dev/null || skip "no 'ip' command (Debian package iproute2)"
need_bins

NS=ipflowtest-$$-own
A= B= SINKS=
on_exit 'ip netns del $NS'
on_exit '[ -n "$SINKS" ] && kill $SINKS'
on_exit '[ -n "$B" ] && kill -KILL $B'
on_exit '[ -n "$A" ] && kill -KILL $A'
ip netns add "$NS" 2>"$T/netns.err" || skip "ip netns add failed: $(cat "$T/netns.err")"
ip netns exec "$NS" ip link set lo up || fail "lo up in $NS"
inns() { ip netns exec "$NS" "$@"; } # not in the background: $! would be a subshell

PU=40001 PT=40002 PS=40003 # fixed ports are safe here: the namespace is this test's alone
ip netns exec "$NS" "$PYTHON" -c '
import socket, sys, threading
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", int(sys.argv[1])))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", int(sys.argv[2])))
t.listen(4)
got = {"udp": 0, "tcp": 0}
def tcp():
    while True:
        c, _ = t.accept()
        while True:
            b = c.recv(65536)
            if not b:
                break
            got["tcp"] += len(b)
            open(sys.argv[3], "w").write("%d %d\n" % (got["udp"], got["tcp"]))
threading.Thread(target=tcp, daemon=True).start()
open(sys.argv[3], "w").write("0 0\n")
while True:
    got["udp"] += len(u.recv(65536))
    open(sys.argv[3], "w").write("%d %d\n" % (got["udp"], got["tcp"]))
' $PU $PT "$T/sinks" &
SINKS=$!
wait_for "$T/sinks" . || fail "collectors did not start"

ip netns exec "$NS" "$IPFLOWD" -i lo -o "$T/a.jsonl" -S "$T/a.sock" -v 9 --inactive 1 --active 2 --flush-ms 200 \
	-e "udp:127.0.0.1:$PU" -e "tcp:127.0.0.1:$PT" >"$T/a.out" 2>"$T/a.err" &
A=$!
ip netns exec "$NS" "$IPFLOWD" -i lo -o "$T/b.jsonl" -S "$T/b.sock" --inactive 1 --active 2 >"$T/b.out" 2>"$T/b.err" &
B=$!
sleep 1.5
kill -0 $A && kill -0 $B || fail "ipflowd exited at start: $(cat "$T/a.err" "$T/b.err")"

note "sending UDP datagrams on lo for 4 s"
inns "$PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(200):
    s.sendto(b"x" * 100, ("127.0.0.1", int(sys.argv[1]) + i % 10))
    time.sleep(0.02)
' $PS
sleep 2.5
stop_pid $A
A=
stop_pid $B
B=
note "collectors received (udp tcp bytes): $(cat "$T/sinks")"

ports() { # LOG PROTO PORT: records of LOG to or from PORT with PROTO
	"$PYTHON" -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("protocolIdentifier") == int(sys.argv[2]) and int(sys.argv[3]) in (r.get("sourceTransportPort"), r.get("destinationTransportPort")):
        n += 1
print(n)' "$@"
}
exported() {
	read -r u t <"$T/sinks"
	echo "collectors got $u UDP and $t TCP bytes"
	[ "$u" -gt 0 ] && [ "$t" -gt 0 ]
}
sender_metered() {
	local n
	n=$(ports "$T/a.jsonl" 17 $PS)
	echo "ipflowd A logged $n records of the sender's first port"
	[ "$n" -gt 0 ]
}
visible() {
	local u t
	u=$(ports "$T/b.jsonl" 17 $PU)
	t=$(ports "$T/b.jsonl" 6 $PT)
	echo "ipflowd B (no export) logged $u records to the UDP collector, $t of the TCP session"
	[ "$u" -gt 0 ] && [ "$t" -gt 0 ]
}
excluded() {
	local u t
	u=$(ports "$T/a.jsonl" 17 $PU)
	t=$(ports "$T/a.jsonl" 6 $PT)
	echo "ipflowd A logged $u records of its UDP export, $t of its TCP export"
	[ "$u" = 0 ] && [ "$t" = 0 ]
}
check exported exported
check sender_metered sender_metered
check export_visible_on_lo visible
check own_export_excluded excluded
finish
