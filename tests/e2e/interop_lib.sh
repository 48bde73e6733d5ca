# interop_lib.sh — helpers for the tests judged by independent collectors
# (sourced after lib.sh). Every daemon started here is registered with
# on_exit, listens on loopback only, on a port the kernel picked.
#
#   need_cmd CMD PKG          fail unless CMD is installed (Debian package PKG)
#   wait_for FILE REGEX [S]   wait up to S seconds (10) for REGEX in FILE
#   stop_pid PID              SIGTERM, then wait for it (its exit flushes files)
#   nfcapd_start DIR PORT [ADDR]     nfcapd into DIR; sets NFCAPD_PID
#   nfdump_records DIR OUT    every record nfcapd stored, one line each, in
#                             colljudge.py's --nfdump layout
#   dumpcap_start FILE FILTER        live capture on lo; sets DUMPCAP_PID
#   ipflowd_export OUT PCAP ARGS...  ipflowd -r PCAP ARGS --stats -S none, stdout
#                             to OUT; EXPORTED is the flows it reports sent
#   exported_of OUT [N]       flows the Nth destination (1) reports sent
#   judge ARGS...             colljudge.py ARGS
COLLJUDGE=$SRC_DIR/tests/e2e/colljudge.py

need_cmd() {
	command -v "$1" >/dev/null || fail "$1 not installed (apt-get install $2; scripts/deps.sh test)"
}

wait_for() {
	local file=$1 re=$2 s=${3:-10} i
	for ((i = 0; i < s * 20; i++)); do
		grep -qE "$re" "$file" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "timed out after ${s}s waiting for /$re/ in $file:"
	tail -n 20 "$file" 2>/dev/null
	return 1
}

# wait_udp_drained PORT [SECONDS]: until the UDP socket bound to PORT has
# nothing left to read (a collector that was short of CPU is still behind
# when the exporter ends; stopping it then would lose what it holds).
wait_udp_drained() {
	local port=$1 s=${2:-20} i q
	for ((i = 0; i < s * 20; i++)); do
		q=$(ss -Hnul "sport = :$port" 2>/dev/null | awk '{ s += $2 } END { print s + 0 }')
		[ "$q" = 0 ] && return 0
		sleep 0.05
	done
	echo "UDP port $port still holds $q bytes after ${s}s"
	return 0
}

stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# nfcapd with a 16 MiB socket buffer (the kernel grants up to rmem_max) so a
# file replay's burst of datagrams is not dropped; the test proves that
# with the sequence numbers and the record count, not by hoping.
nfcapd_start() {
	local dir=$1 port=$2 addr=${3:-127.0.0.1} fam=-4
	case $addr in *:*) fam=-6 ;; esac
	mkdir -p "$dir"
	nfcapd $fam -b "$addr" -p "$port" -w "$dir" -B 16777216 -P "$dir.pid" -I ipflow >"$dir.log" 2>&1 &
	NFCAPD_PID=$!
	on_exit "stop_pid $NFCAPD_PID"
	wait_for "$dir.log" "Startup" || return 1
}

nfdump_records() {
	TZ=UTC nfdump -R "$1" -q -N -6 -o 'fmt:%pr|%sa|%da|%sp|%dp|%tos|%pkt|%byt|%ts|%te' >"$2"
}

dumpcap_start() {
	local file=$1 filter=$2
	dumpcap -q -i lo -f "$filter" -B 64 -w "$file" >"$file.log" 2>&1 &
	DUMPCAP_PID=$!
	on_exit "stop_pid $DUMPCAP_PID"
	wait_for "$file.log" "^File: " || return 1
}

exported_of() {
	awk -v n="${2:-1}" '/^  Destination\([0-9]+\) / { d++ } d == n && / flows exported in / { print $1; exit }' "$1"
}

ipflowd_export() {
	local out=$1 pcap=$2 rc
	shift 2
	timeout -k 5 "${IPFLOWD_TIMEOUT:-120}" "$IPFLOWD" -r "$pcap" -S none --stats "$@" >"$out" 2>"$out.err"
	rc=$?
	if [ $rc != 0 ]; then
		echo "ipflowd -r $pcap $* exited $rc:"
		tail -n 20 "$out.err"
		return 1
	fi
	EXPORTED=$(exported_of "$out")
	[ -n "$EXPORTED" ] || { echo "no export counters in $out"; return 1; }
}

judge() { "$PYTHON" "$COLLJUDGE" "$@"; }

# udp_drained PORT [SECONDS]: wait until no datagram waits in the receive
# queue of the UDP socket bound to 127.0.0.1:PORT (/proc/net/udp), so a
# collector stopped next has read everything sent to it. 1 if it never
# empties within SECONDS (default 30).
udp_drained() {
	local hex i
	hex=$(printf '%04X' "$1")
	for i in $(seq $((${2:-30} * 10))); do
		awk -v p=":$hex" '$2 ~ p"$" { split($5, q, ":"); if (q[2] !~ /^0+$/) busy = 1 }
			END { exit busy }' /proc/net/udp && return 0
		sleep 0.1
	done
	echo "UDP port $1: receive queue not drained after ${2:-30} s"
	return 1
}
