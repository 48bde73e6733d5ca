#!/bin/bash
# test_fnf_live.sh BUILD_DIR SOURCE_DIR — Flexible NetFlow monitors on a live
# interface, input and output side by side.
#
# Two network namespaces made for this run joined by a veth pair with
# 192.0.2.1/24 (a) and 192.0.2.2/24 (b), IPv6 off. ipflowd meters the b end
# with one monitor on input and another on output, and no `ip flow
# ingress` (so the main cache meters nothing: the interface is captured
# for the monitors alone). UDP datagrams go a → b (b's input) and b → a
# (b's output) to listeners on port 9999. Then `show flow monitor M cache
# --json` must show, for each direction, exactly those datagrams: the
# packet count, the direction, the interface as input or output (the
# other one 0), and the frame's source MAC as an input or output value.
# A third monitor (layer2-switched input, 1 s inactive timeout) exports
# IPFIX out of the same interface to a collector in a: the messages
# arrive, and the capture filter keeps them out of MO.
#
# Needs root and `ip netns` (Debian package iproute2); exit 77 otherwise.
# Nothing leaves the namespaces; both are deleted on exit.
. "$(dirname "$0")/lib.sh" "$@"

need_bins
IPFLOW=$BUILD_DIR/ipflow
N_IN=${N_IN:-17}
N_OUT=${N_OUT:-23}
veth_pair ipfn
PID=
on_exit '[ -n "$PID" ] && kill -KILL $PID'
IFX=$(inb cat "/sys/class/net/$VETH_B/ifindex")
MAC_A=$(ina cat "/sys/class/net/$VETH_A/address")
MAC_B=$(inb cat "/sys/class/net/$VETH_B/address")

cat >"$T/live.conf" <<EOF
flow record R
 match ipv4 source address
 match ipv4 destination address
 match ipv4 protocol
 match transport destination-port
 match interface input
 match interface output
 match flow direction
 collect datalink mac source address input
 collect datalink mac source address output
 collect counter packets long
 collect counter bytes long
flow exporter X
 destination 192.0.2.1
 transport udp 9995
 export-protocol ipfix
flow monitor MI
 record R
flow monitor MO
 record R
flow monitor ML
 record R
 exporter X
 cache timeout inactive 1
interface $VETH_B
 ip flow monitor MI input
 ip flow monitor MO output
 ip flow monitor ML layer2-switched input
ipflow control-socket $T/ctl.sock
EOF
# `ip netns exec` execs: $! is ipflowd (a shell function in the background would be a subshell)
ip netns exec "$NS_B" "$IPFLOWD" -f "$T/live.conf" >"$T/ipflowd.out" 2>"$T/ipflowd.err" &
PID=$!
for _ in $(seq 100); do
	kill -0 "$PID" 2>/dev/null || { cat "$T/ipflowd.err" >&2; PID=; fail "ipflowd exited at start"; }
	[ -S "$T/ctl.sock" ] && break
	sleep 0.1
done
sleep 0.5 # the captures are open before the control socket; let them settle

# listeners on both sides, then the datagrams
listen='import socket, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 9999)); time.sleep(30)'
send='import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[2])):
    s.sendto(b"x" * (10 + i), (sys.argv[1], 9999))
    time.sleep(0.01)'
ip netns exec "$NS_A" "$PYTHON" -c "$listen" &
on_exit "kill $!"
# ML's collector in a: counts the IPFIX messages that arrive
ip netns exec "$NS_A" "$PYTHON" -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 9995)); s.settimeout(30); n = 0
while True:
    try:
        s.recv(65535)
    except OSError:
        break
    n += 1
    open(sys.argv[1], "w").write("%d\n" % n)' "$T/collected" &
on_exit "kill $!"
ip netns exec "$NS_B" "$PYTHON" -c "$listen" &
on_exit "kill $!"
sleep 0.3
ina "$PYTHON" -c "$send" 192.0.2.2 "$N_IN" || fail "send a -> b"
inb "$PYTHON" -c "$send" 192.0.2.1 "$N_OUT" || fail "send b -> a"
sleep 2.5 # ML's flows go idle (1 s) and are exported out of b's veth

t_show() {
	"$IPFLOW" -S "$T/ctl.sock" show flow monitor MI cache --json >"$T/mi.json" || return 1
	"$IPFLOW" -S "$T/ctl.sock" show flow monitor MO cache --json >"$T/mo.json" || return 1
	"$IPFLOW" -S "$T/ctl.sock" show ip cache flow --json >"$T/main.json" || return 1
	"$PYTHON" - "$T" "$IFX" "$MAC_A" "$MAC_B" "$N_IN" "$N_OUT" <<-'PYEOF'
	import json, sys
	T, ifx, mac_a, mac_b, n_in, n_out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
	bad = []
	def flows(name):
	    return [f for f in json.load(open("%s/%s.json" % (T, name)))["flows"] if f["transport destination-port"] == 9999]
	want = {
	    "mi": {"ipv4 source address": "192.0.2.1", "ipv4 destination address": "192.0.2.2", "ipv4 protocol": 17,
	           "interface input": ifx, "interface output": 0, "flow direction": 0,
	           "datalink mac source address input": mac_a, "datalink mac source address output": "00:00:00:00:00:00",
	           "counter packets long": n_in, "counter bytes long": sum(28 + 10 + i for i in range(n_in))},
	    "mo": {"ipv4 source address": "192.0.2.2", "ipv4 destination address": "192.0.2.1", "ipv4 protocol": 17,
	           "interface input": 0, "interface output": ifx, "flow direction": 1,
	           "datalink mac source address input": "00:00:00:00:00:00", "datalink mac source address output": mac_b,
	           "counter packets long": n_out, "counter bytes long": sum(28 + 10 + i for i in range(n_out))},
	}
	for name, w in want.items():
	    f = flows(name)
	    if len(f) != 1:
	        bad.append("%s: %d flows to port 9999: %r" % (name, len(f), f))
	        continue
	    diff = {k: (f[0].get(k), v) for k, v in w.items() if f[0].get(k) != v}
	    if diff:
	        bad.append("%s: (shown, expected) %r" % (name, diff))
	    else:
	        print("%s: %d datagrams, direction %d, interface %s %d, MAC %s: as sent" % (
	            name, f[0]["counter packets long"], f[0]["flow direction"],
	            "input" if name == "mi" else "output", ifx, w["datalink mac source address input" if name == "mi" else
	                                                           "datalink mac source address output"]))
	# ML exported its records out of this interface; the capture leaves our own export out
	try:
	    got = int(open(T + "/collected").read())
	except (OSError, ValueError):
	    got = 0
	mo = json.load(open(T + "/mo.json"))["flows"]
	own = [f for f in mo if f["transport destination-port"] == 9995]
	if not got:
	    bad.append("no export message reached ML's collector")
	elif own:
	    bad.append("MO metered our own export messages: %r" % own)
	else:
	    print("%d export messages left through the interface, none metered" % got)
	main = json.load(open(T + "/main.json"))["cache"]
	if main["packets"] != 0:
	    bad.append("the main cache metered %d packets without ip flow ingress" % main["packets"])
	sys.exit("; ".join(bad) if bad else 0)
	PYEOF
}

check show t_show
kill -TERM "$PID"
wait "$PID" || fail "ipflowd exited $? after SIGTERM"
PID=
finish
