#!/bin/bash
# test_meter_live.sh BUILD_DIR SOURCE_DIR — ipflowd on a live interface.
#
# Two network namespaces made for this run (ipft-PID-a/b) joined by a
# veth pair with 192.0.2.1/24 and 192.0.2.2/24 (TEST-NET-1, only inside the
# namespaces; IPv6 is disabled on them so the kernel sends nothing of its
# own). ipflowd meters the veth end in namespace b; tcpreplay sends a
# generated IPv4 capture into the end in namespace a at a modest rate; then
# SIGTERM makes ipflowd flush its cache. The per-key packet and byte sums of
# the log must equal the generator's flow truth exactly (on the wall clock
# timeouts may split flows differently from the file's timing, so the record
# sequence is not checked here; test_meter_truth.sh does that).
#
# Needs root, `ip netns` and tcpreplay (Debian packages iproute2, tcpreplay).
# Exit 77 when not root or namespaces cannot be made. Nothing leaves the two
# namespaces; both are deleted on exit, on failure too.
#
# Environment: LIVE_PACKETS (default 5000), LIVE_PPS (default 2000), KEEP=1.
. "$(dirname "$0")/lib.sh" "$@"

need_bins
command -v tcpreplay >/dev/null || fail "tcpreplay not installed (Debian package tcpreplay)"

PACKETS=${LIVE_PACKETS:-5000}
PPS=${LIVE_PPS:-2000}
veth_pair ipft 9000
PID=
on_exit '[ -n "$PID" ] && kill -KILL $PID'
note "namespaces $NS_A / $NS_B, veth $VETH_A / $VETH_B, work $T"
if command -v ethtool >/dev/null; then   # one frame in, one packet metered
	inb ethtool -K "$VETH_B" gro off lro off >/dev/null 2>&1 || true
fi

# The input: IPv4 only, a few thousand packets.
note "generating $PACKETS packets"
gen -o "$T/live.pcap" -n "$PACKETS" -c 100 -s 11 --v4-only --truth "$T/live.flows.csv" \
	--truth-packets "$T/live.pk.csv" || fail "ipflow-gen failed"
# tcpreplay sends the frames as they are: they must be Ethernet frames.
LINKTYPE=$("$PYTHON" -c '
import struct, sys
h = open(sys.argv[1], "rb").read(24)
if h[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"): print(struct.unpack("<I", h[20:24])[0])
elif h[:4] in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"): print(struct.unpack(">I", h[20:24])[0])
else: print("pcapng")' "$T/live.pcap")
if [ "$LINKTYPE" != 1 ] && [ "$LINKTYPE" != pcapng ]; then
	command -v tcprewrite >/dev/null || fail "capture has link type $LINKTYPE and tcprewrite is missing"
	note "link type $LINKTYPE: rewriting to Ethernet with tcprewrite"
	tcprewrite --dlt=enet --enet-smac=02:00:00:00:00:01 --enet-dmac=02:00:00:00:00:02 \
		-i "$T/live.pcap" -o "$T/live.eth.pcap" || fail "tcprewrite failed"
	mv "$T/live.eth.pcap" "$T/live.pcap"
fi

# ipflowd on the b end. `ip netns exec` execs, so $! is ipflowd itself
# (called directly: a shell function in the background would be a subshell).
CTL=()
if "$IPFLOWD" --help 2>&1 | grep -q -- '--control'; then
	CTL=(--control "$T/ctl.sock")   # not the system-wide default socket
fi
ip netns exec "$NS_B" "$IPFLOWD" -i "$VETH_B" -o "$T/live.jsonl" "${CTL[@]}" \
	>"$T/ipflowd.out" 2>"$T/ipflowd.err" &
PID=$!

# Ready when ipflowd holds a packet socket: one of its fds is a socket
# listed in /proc/PID/net/packet (the packet sockets of its namespace).
ready=0
for _ in $(seq 1 100); do
	kill -0 "$PID" 2>/dev/null || { cat "$T/ipflowd.err" >&2; PID=; fail "ipflowd exited at start"; }
	inodes=" $(awk 'NR > 1 { printf "%s ", $9 }' "/proc/$PID/net/packet" 2>/dev/null)"
	for l in $(find "/proc/$PID/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null); do
		i=${l#socket:[}
		i=${i%]}
		case $inodes in *" $i "*) ready=1 ;; esac
	done
	[ $ready = 1 ] && break
	sleep 0.1
done
[ $ready = 1 ] || note "warning: no packet socket seen in ipflowd after 10 s; going on"
sleep 0.5

note "replaying into $VETH_A at $PPS packets/s"
ina tcpreplay -i "$VETH_A" --pps="$PPS" "$T/live.pcap" >"$T/tcpreplay.out" 2>&1 \
	|| { cat "$T/tcpreplay.out" >&2; fail "tcpreplay failed"; }
sent=$(sed -n 's/^Actual: \([0-9]*\) packets.*/\1/p' "$T/tcpreplay.out")
failed=$(sed -n 's/.*Failed packets: *\([0-9]*\).*/\1/p' "$T/tcpreplay.out")
note "tcpreplay: sent ${sent:-?}, failed ${failed:-?}"
[ "${failed:-0}" = 0 ] || { cat "$T/tcpreplay.out" >&2; fail "tcpreplay could not send $failed packets"; }

sleep 1
kill -TERM "$PID"
for _ in $(seq 1 100); do
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$PID" 2>/dev/null; then
	fail "ipflowd did not exit within 10 s of SIGTERM"
fi
wait "$PID"
rc=$?
PID=
[ $rc = 0 ] || { cat "$T/ipflowd.err" >&2; fail "ipflowd exited $rc after SIGTERM"; }
[ -s "$T/live.jsonl" ] || { cat "$T/ipflowd.err" >&2; fail "empty flow log"; }

check live_sums flowcheck --truth "$T/live.flows.csv" --log "$T/live.jsonl" --sums-only
finish
