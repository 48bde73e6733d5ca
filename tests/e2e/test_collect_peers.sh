#!/bin/bash
# test_collect_peers.sh BUILD_DIR SOURCE_DIR — real exporters as peers,
# nfcapd/nfdump as the judge.
#
# The generator's capture (IPv4, squashed in time so the peers that pace
# to the capture clock finish in about a second) is metered and exported
# by real exporters; nfcapd and ipflow-collect receive the same datagrams
# — nfcapd repeats every datagram it gets to ipflow-collect (-R), or the
# exporter sends to both (fprobe's mirror destinations) — and what each
# stores is compared:
#  - the number of records the exporter says it sent = what ipflow-collect
#    stored = what nfdump reads back, with no malformed message, no
#    sequence gap and no kernel drop;
#  - record by record (flow key, packets, bytes exactly; times within the
#    2 s that nfdump's CSV seconds and v9 headers allow) equal to nfdump's.
# Peers here: softflowd -r (v5, v9, IPFIX; and IPFIX over TCP, -P tcp,
# straight to ipflow-collect: its per-key sums must equal the UDP run's)
# and fprobe (v5) — which
# can only capture live, so it meters a veth in a network namespace this
# test makes, fed by tcpreplay. (The peers' own metering is not the
# generator's truth — fprobe joins fragments to their flow, counts its
# own bytes and drops its cache at exit — so only what they export is
# judged here; ipflowd's export is judged against the truth in
# test_collect_ipflowd.sh.)
#
# A missing peer is a FAIL: they are Debian packages (scripts/deps.sh).
# Namespaces (fprobe) need root: without it that check is skipped, said so.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/collect_lib.sh"
need_bins
for b in softflowd nfcapd nfdump fprobe tcpreplay; do
	command -v $b >/dev/null || fail "$b not installed (scripts/deps.sh test)"
done
COLLCHECK="$PYTHON $SRC_DIR/tests/e2e/collcheck.py"
export TZ=UTC

peer_inputs || fail "could not make the inputs"

# softflowd -r reads the capture and exits at its end, exporting every
# flow. Its control socket must be off (-c none): with one, softflowd 1.1
# waits in accept() and reads a packet per control connection.
softflowd_run() {
	local name=$1
	shift
	timeout -k 5 60 softflowd -r "$T/in.pcap" -d -c none -p "$T/$name.pid" "$@" >"$T/$name.softflowd.log" 2>&1 ||
		{ echo "softflowd failed:"; tail "$T/$name.softflowd.log"; return 1; }
	SF_RECS=$(sed -n 's/^Flows exported: [0-9]* (\([0-9]*\) records) in \([0-9]*\) packets.*/\1/p' "$T/$name.softflowd.log" | tail -n 1)
	SF_MSGS=$(sed -n 's/^Flows exported: [0-9]* ([0-9]* records) in \([0-9]*\) packets.*/\1/p' "$T/$name.softflowd.log" | tail -n 1)
	[ -n "$SF_RECS" ] || { echo "softflowd printed no export count"; tail "$T/$name.softflowd.log"; return 1; }
}

# softflowd -r stamps v9 headers with the wall clock's uptime (tens of ms)
# and flows with the capture's (about 30 days): the difference is more
# than any flow's age, and reads as a sysUpTime wrap to ipflow-collect
# (modulo 2^32 ms, the nearer reading) but as 30 days in the future to
# nfdump. The two agree modulo 2^32 ms: compared so for v9.
t_softflowd() { # VERSION
	local name=sf$1 cport mod=""
	[ "$1" = 9 ] && mod=--time-mod32
	cport=$(udp_port)
	coll_start "$name" -l "udp:127.0.0.1:$cport" -o "csv:$T/$name.csv" || return 1
	nfcapd_start "$name" "$cport"
	softflowd_run "$name" -n "127.0.0.1:$NFPORT" -v "$1" || return 1
	coll_wait "$name" msgs "$SF_MSGS" || return 1
	sleep 0.3
	nfcapd_stop
	coll_stop "$name" || return 1
	judge "$name" "$SF_RECS" $mod
}

# softflowd's IPFIX over TCP straight to ipflow-collect (nfcapd has no TCP).
t_softflowd_tcp() {
	[ -s "$T/sf10.csv" ] || { echo "needs the softflowd IPFIX UDP run"; return 1; }
	local port
	port=$(tcp_port)
	coll_start sftcp -l "tcp:127.0.0.1:$port" -o "csv:$T/sftcp.csv" || return 1
	softflowd_run sftcp -n "127.0.0.1:$port" -v 10 -P tcp || return 1
	coll_wait sftcp records "$SF_RECS" || return 1
	coll_stop sftcp || return 1
	local line
	line=$(coll_final sftcp)
	[ "$(coll_val malformed "$line")" = 0 ] && [ "$(coll_val seq_lost "$line")" = 0 ] || { echo "$line"; return 1; }
	grep -q "accepted 1," "$T/sftcp.out" || { grep Listener "$T/sftcp.out"; return 1; }
	$COLLCHECK --ref "$T/sf10.csv" --got "$T/sftcp.csv" --sums
}

# fprobe captures live only: a namespace pair, tcpreplay into one end,
# fprobe on the other exporting to both collectors (mirror).
t_fprobe() {
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for network namespaces"; return 0; }
	local A=ipfct$$a B=ipfct$$b NA=ipflowcoll-$$-a NB=ipflowcoll-$$-b
	on_exit "ip netns del $NA; ip netns del $NB"
	ip netns add "$NA" && ip netns add "$NB" || return 1
	ip link add "$A" netns "$NA" type veth peer name "$B" netns "$NB" || return 1
	local ns
	for ns in "$NA" "$NB"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
		ip netns exec "$ns" ip link set lo up
	done
	ip netns exec "$NA" ip link set "$A" mtu 9000 up
	ip netns exec "$NB" ip link set "$B" mtu 9000 up
	ip netns exec "$NB" ethtool -K "$B" gro off lro off >/dev/null 2>&1 || true
	local cport
	cport=$(udp_port)
	COLLECT_PREFIX="ip netns exec $NB" coll_start fp -l "udp:127.0.0.1:$cport" -o "csv:$T/fp.csv" || return 1
	NETNS=$NB nfcapd_start fp
	ip netns exec "$NB" fprobe -i "$B" -l 2 -s 1 -d 2 -e 10 -q 10000 \
		"127.0.0.1:$cport/127.0.0.1/m" "127.0.0.1:$NFPORT/127.0.0.1/m" >"$T/fprobe.log" 2>&1 &
	local fpid=$!
	on_exit "kill -KILL $fpid"
	sleep 1
	gen -o "$T/fp.pcap" --start-time 1700000000 -n 8000 -c 500 -s 22 --v4-only --truth "$T/fp.flows.csv" || return 1
	ip netns exec "$NA" tcpreplay -i "$A" --pps=4000 "$T/fp.pcap" >"$T/tcpreplay.out" 2>&1 ||
		{ cat "$T/tcpreplay.out"; return 1; }
	sleep 4 # idle flows expire (fprobe drops what is still in its cache at exit)
	kill -TERM $fpid
	wait $fpid
	sleep 1
	nfcapd_stop
	coll_stop fp || return 1
	local nflows
	nflows=$(nfdump -R "$T/fp.nfd" -I 2>/dev/null | sed -n 's/^Flows: *//p')
	[ "${nflows:-0}" -gt 100 ] || { echo "nfcapd stored ${nflows:-no} flows"; return 1; }
	judge fp "$nflows"
}

check softflowd_v5 t_softflowd 5
check softflowd_v9 t_softflowd 9
check softflowd_ipfix t_softflowd 10
check softflowd_ipfix_tcp t_softflowd_tcp
check fprobe_v5 t_fprobe
finish
