#!/bin/bash
# test_psamp_live.sh BUILD_DIR SOURCE_DIR — packet sections (IE 315) on a
# live interface, input and output.
#
# Two network namespaces made for this run joined by a veth pair with
# 192.0.2.1/24 (a) and 192.0.2.2/24 (b), IPv6 off. ipflowd in b meters
# the b end with a packet-section monitor on input (deterministic 1 out
# of 2) and another on output (no sampler), both exporting IPFIX to a
# collector on b's loopback (so the export never crosses the veth). UDP
# datagrams of distinct sizes go a -> b and b -> a to listeners on port
# 9999. The records must be exactly: the 2nd, 4th, ... datagram a -> b
# with ingressInterface the veth's ifIndex, and every datagram b -> a
# with egressInterface; each section the 42 bytes up to the end of the
# UDP header, rebuilt here from what was sent (MACs, addresses, protocol,
# port, UDP length), dataLinkFrameSize the frame's length; tshark decodes
# every message with no error.
#
# Needs root and `ip netns` (Debian package iproute2); exit 77 otherwise.
# Nothing leaves the namespaces; both are deleted on exit.
. "$(dirname "$0")/lib.sh" "$@"

command -v tshark >/dev/null || fail "tshark not installed (Debian package tshark)"
need_bins
N_IN=${N_IN:-21}
N_OUT=${N_OUT:-13}
veth_pair ipps
PID=
on_exit '[ -n "$PID" ] && kill -KILL $PID'
IFX=$(inb cat "/sys/class/net/$VETH_B/ifindex")
MAC_A=$(ina cat "/sys/class/net/$VETH_A/address")
MAC_B=$(inb cat "/sys/class/net/$VETH_B/address")

# the collector on b's loopback
ip netns exec "$NS_B" "$PYTHON" "$SRC_DIR/tests/e2e/udp2pcap.py" "$T/col.pcap" "$T/col.port" "$T/col.stop" \
	</dev/null >/dev/null 2>"$T/col.err" &
COL=$!
on_exit "kill $COL"
for _ in $(seq 100); do [ -s "$T/col.port" ] && break; sleep 0.1; done
[ -s "$T/col.port" ] || fail "the collector did not start"
PORT=$(cat "$T/col.port")

cat >"$T/live.conf" <<EOF
sampler S2
 mode deterministic 1 out-of 2
flow exporter X
 destination 127.0.0.1
 transport udp $PORT
 export-protocol ipfix
flow monitor PI
 record datalinksectiondump
 exporter X
flow monitor PO
 record datalinksectiondump
 exporter X
interface $VETH_B
 ip flow monitor PI sampler S2 input
 ip flow monitor PO output
ipflow control-socket $T/ctl.sock
EOF
ip netns exec "$NS_B" "$IPFLOWD" -f "$T/live.conf" --stats >"$T/ipflowd.out" 2>"$T/ipflowd.err" &
PID=$!
for _ in $(seq 100); do
	kill -0 "$PID" 2>/dev/null || { cat "$T/ipflowd.err" >&2; PID=; fail "ipflowd exited at start"; }
	[ -S "$T/ctl.sock" ] && break
	sleep 0.1
done
sleep 0.5 # the captures are open before the control socket; let them settle

listen='import socket, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 9999)); time.sleep(30)'
send='import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[2])):
    s.sendto(b"x" * (int(sys.argv[3]) + i), (sys.argv[1], 9999))
    time.sleep(0.01)'
ip netns exec "$NS_A" "$PYTHON" -c "$listen" &
on_exit "kill $!"
ip netns exec "$NS_B" "$PYTHON" -c "$listen" &
on_exit "kill $!"
sleep 0.3
ina "$PYTHON" -c "$send" 192.0.2.2 "$N_IN" 10 || fail "send a -> b"
inb "$PYTHON" -c "$send" 192.0.2.1 "$N_OUT" 300 || fail "send b -> a"
sleep 0.5

t_sections() {
	kill -TERM "$PID"
	wait "$PID" || { echo "ipflowd exited $? after SIGTERM"; cat "$T/ipflowd.err"; PID=; return 1; }
	PID=
	touch "$T/col.stop"
	wait "$COL"
	grep '^Packet-section' "$T/ipflowd.out"
	"$PYTHON" "$SRC_DIR/tests/e2e/psamp_check.py" strip-eth "$T/col.pcap" "$T/raw.pcap" || return 1
	local bad
	bad=$(tshark -n -r "$T/raw.pcap" --disable-protocol eth -d "udp.port==$PORT,cflow" \
		-Y '_ws.malformed || _ws.expert.severity >= error' 2>/dev/null | wc -l)
	[ "$bad" = 0 ] || { echo "tshark: $bad messages malformed or with errors"; return 1; }
	"$PYTHON" - "$SRC_DIR/tests/e2e" "$T/col.pcap" "$PORT" "$IFX" "$MAC_A" "$MAC_B" "$N_IN" "$N_OUT" <<-'PYEOF'
	import socket, struct, sys
	sys.path.insert(0, sys.argv[1])
	import psamp_check as pc
	col, port, ifx = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
	mac_a, mac_b = (bytes.fromhex(m.replace(":", "")) for m in sys.argv[5:7])
	n_in, n_out = int(sys.argv[7]), int(sys.argv[8])
	errors = []
	_, frames = pc.read_pcap(col)
	recs = pc.parse_ipfix(frames, port, errors.append)
	def frame(dst, src, sip, dip, n):  # what the section must be: Ethernet, IPv4 header fields we know, UDP
	    return dst, src, socket.inet_aton(sip), socket.inet_aton(dip), 8 + n
	# a -> b: the 2nd, 4th, ... datagram (payload 10 + i); b -> a: all (300 + i)
	want_in = [frame(mac_b, mac_a, "192.0.2.1", "192.0.2.2", 10 + i) for i in range(1, n_in, 2)]
	want_out = [frame(mac_a, mac_b, "192.0.2.2", "192.0.2.1", 300 + i) for i in range(n_out)]
	got_in = [r for r in recs if pc.num(r[10]) == ifx]
	got_out = [r for r in recs if pc.num(r[14]) == ifx]
	if len(got_in) + len(got_out) != len(recs):
	    errors.append("%d records with neither interface" % (len(recs) - len(got_in) - len(got_out)))
	for name, got, want, n in (("input", got_in, want_in, 2), ("output", got_out, want_out, 1)):
	    if len(got) != len(want):
	        errors.append("%s: %d records, want %d" % (name, len(got), len(want)))
	        continue
	    for k, (r, (dst, src, sip, dip, ulen)) in enumerate(zip(got, want)):
	        s = r[315]
	        ok = (len(s) == 42 and s[0:6] == dst and s[6:12] == src and s[12:14] == b"\x08\x00" and
	              s[14] == 0x45 and s[23] == 17 and s[26:30] == sip and s[30:34] == dip and
	              struct.unpack("!H", s[36:38])[0] == 9999 and struct.unpack("!H", s[38:40])[0] == ulen)
	        if not ok:
	            errors.append("%s record %d: section %s" % (name, k, s.hex()))
	        if pc.num(r[312]) != 34 + ulen:
	            errors.append("%s record %d: dataLinkFrameSize %d, want %d" % (name, k, pc.num(r[312]), 34 + ulen))
	        other = 14 if name == "input" else 10
	        if pc.num(r[other]) != 0 or pc.num(r[34]) != n:
	            errors.append("%s record %d: other interface %d, interval %d" % (name, k, pc.num(r[other]), pc.num(r[34])))
	    print("%s: %d records, each the 42 bytes of its datagram's frame" % (name, len(got)))
	if errors:
	    sys.exit("; ".join(errors[:10]))
	PYEOF
}

check sections t_sections
finish
