# collect_lib.sh — helpers for the collector's end-to-end tests (sourced
# after lib.sh). Sets COLLECT. Functions:
#
#   coll_start NAME ARGS...   run ${COLLECT_PREFIX} ipflow-collect ARGS --stats in the background;
#                             stdout (counters) to $T/NAME.out, stderr to $T/NAME.err;
#                             its pid in COLL_PID_NAME; killed at exit
#   coll_totals NAME          ask it for its counters (SIGUSR1), print the last Totals line
#   coll_wait NAME KEY N [S]  wait up to S s (default 20) until Totals KEY >= N
#   coll_stop NAME            SIGTERM, wait; its final counters end $T/NAME.out
#   coll_val KEY LINE         the value of KEY=... in a Totals line
#   udp_port / tcp_port       free loopback ports

COLLECT=${IPFLOW_COLLECT:-$BUILD_DIR/ipflow-collect}
[ -x "$COLLECT" ] || fail "$COLLECT is not built"

udp_port() { free_port udp; }
tcp_port() { free_port tcp; }

coll_start() {
	local name=$1
	shift
	# COLLECT_PREFIX: e.g. "ip netns exec NS" (which execs: $! stays the collector)
	${COLLECT_PREFIX:-} "$COLLECT" "$@" --stats >"$T/$name.out" 2>"$T/$name.err" &
	local pid=$!
	eval "COLL_PID_$name=$pid"
	on_exit "kill -KILL $pid"
	# ready when it logged its listeners (or died)
	local i
	for i in $(seq 1 100); do
		grep -q "listening on" "$T/$name.err" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || { echo "ipflow-collect $* exited:"; cat "$T/$name.err"; return 1; }
		sleep 0.05
	done
	echo "ipflow-collect $* did not start"
	return 1
}

coll_pid() { eval "echo \${COLL_PID_$1}"; }

coll_totals() {
	local pid n
	pid=$(coll_pid "$1")
	n=$(grep -c '^Totals:' "$T/$1.out" 2>/dev/null)
	kill -USR1 "$pid" 2>/dev/null || return 1
	local i
	for i in $(seq 1 100); do
		[ "$(grep -c '^Totals:' "$T/$1.out" 2>/dev/null)" -gt "${n:-0}" ] && break
		sleep 0.05
	done
	grep '^Totals:' "$T/$1.out" | tail -n 1
}

coll_val() {
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

coll_wait() {
	local name=$1 key=$2 want=$3 secs=${4:-20} line v i
	for i in $(seq 1 $((secs * 5))); do
		line=$(coll_totals "$name")
		v=$(coll_val "$key" "$line")
		[ -n "$v" ] && [ "$v" -ge "$want" ] && return 0
		sleep 0.2
	done
	echo "timeout: $name $key=${v:-?} after ${secs}s, want $want"
	return 1
}

coll_stop() {
	local pid
	pid=$(coll_pid "$1")
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	local rc=$?
	[ $rc = 0 ] || { echo "ipflow-collect ($1) exited $rc:"; tail -n 20 "$T/$1.err"; return 1; }
}

# The final Totals line of a stopped collector.
coll_final() { grep '^Totals:' "$T/$1.out" | tail -n 1; }

# --- peers (test_collect_peers.sh, test_collect_pmacct.sh) ---------------

# peer_inputs: $T/slow.pcap (IPv4, with truth $T/flows.csv) and $T/in.pcap,
# the same squashed 10x in time: peers that pace to the capture clock then
# finish in about a second.
peer_inputs() {
	gen -o "$T/slow.pcap" --start-time 1700000000 -n 40000 -c 8000 -s 21 --v4-only \
		--truth "$T/flows.csv" || return 1
	# squash capture time 10x (pacing peers replay at the capture's own pace)
	"$PYTHON" - "$T/slow.pcap" "$T/in.pcap" <<-'EOF' || return 1
		import struct, sys
		b = open(sys.argv[1], "rb").read()
		assert b[:4] == b"\xd4\xc3\xb2\xa1", "little-endian classic pcap expected"
		out, off, t0 = bytearray(b[:24]), 24, None
		while off + 16 <= len(b):
		    s, u, cl, ol = struct.unpack("<IIII", b[off:off + 16])
		    t = s * 1000000 + u
		    t0 = t if t0 is None else t0
		    t = t0 + (t - t0) // 10
		    out += struct.pack("<IIII", t // 1000000, t % 1000000, cl, ol) + b[off + 16:off + 16 + cl]
		    off += 16 + cl
		open(sys.argv[2], "wb").write(out)
		EOF

}

NFPID=
# nfcapd_start NAME [REPEAT-PORT]: nfcapd on a free port into $T/NAME.nfd
nfcapd_start() {
	local name=$1 rep=${2:-}
	mkdir -p "$T/$name.nfd"
	NFPORT=$(udp_port)
	${NETNS:+ip netns exec $NETNS} nfcapd -w "$T/$name.nfd" -p "$NFPORT" -b 127.0.0.1 -B 8388608 \
		${rep:+-R 127.0.0.1/$rep} >"$T/$name.nfcapd.log" 2>&1 &
	NFPID=$!
	on_exit "kill -KILL $NFPID"
	local i
	for i in $(seq 1 50); do
		grep -q "Startup" "$T/$name.nfcapd.log" 2>/dev/null && break
		sleep 0.1
	done
	sleep 0.2
}

nfcapd_stop() {
	# what nfcapd still has to read first (short of CPU, it lags the sender)
	local i q
	for ((i = 0; i < 400; i++)); do
		q=$(${NETNS:+ip netns exec $NETNS} ss -Hnul "sport = :$NFPORT" 2>/dev/null | awk '{ s += $2 } END { print s + 0 }')
		[ "$q" = 0 ] && break
		sleep 0.05
	done
	kill -TERM "$NFPID" 2>/dev/null
	wait "$NFPID" 2>/dev/null
	NFPID=
}

# judge NAME RECORDS-SENT [COLLCHECK-ARGS]: ipflow-collect's store against nfdump's.
judge() {
	local name=$1 sent=$2 line recs
	shift 2
	line=$(coll_final "$name")
	for k in malformed seq_lost pend_left; do
		[ "$(coll_val $k "$line")" = 0 ] || { echo "$k is not 0: $line"; return 1; }
	done
	grep -q "Kernel drops (all UDP listeners): 0" "$T/$name.out" || { grep "Kernel drops" "$T/$name.out"; return 1; }
	recs=$(coll_val records "$line")
	nfdump -R "$T/$name.nfd" -o json >"$T/$name.nfdump.json" 2>"$T/$name.nfdump.err" ||
		{ cat "$T/$name.nfdump.err"; return 1; }
	nfdump -R "$T/$name.nfd" -I >"$T/$name.nfdump.stat" 2>&1
	local nflows
	nflows=$(sed -n 's/^Flows: *//p' "$T/$name.nfdump.stat")
	echo "exporter sent $sent records; ipflow-collect stored $recs; nfdump reads $nflows"
	[ "$recs" = "$sent" ] && [ "$nflows" = "$sent" ] || return 1
	# times: nfdump derives v9 ones from the header's whole seconds. ICMP
	# type/code: pmacct's v9 sends them in the destination port and 0 in
	# the ICMP type field; nfdump shows the latter, ipflow-collect the
	# value that is there: not compared.
	$COLLCHECK --ref "$T/$name.nfdump.json" --ref-format nfdump --got "$T/$name.csv" --time-tol-ms 1000 --icmp-loose "$@"
}

