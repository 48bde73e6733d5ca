#!/bin/bash
# test_sctp_two_primaries.sh BUILD_DIR SOURCE_DIR — two primary export
# destinations, each with a backup, one SCTP and one UDP (issue 5, test 6).
#
# ipflowd exports IPFIX to (1) an SCTP collector (sctp_recv behind
# udp_relay) with an SCTP backup in redundant mode and (2) a UDP collector
# (nfcapd, an independent collector) with a UDP backup (also nfcapd) in
# fail-over mode. Midway the SCTP primary's relay is killed: destination 1
# fails over, destination 2 must not notice. Each destination gets
# everything: the SCTP pair's logs merged and de-duplicated, and what
# nfcapd stored (read back with nfdump), both equal ipflow-gen's ground
# truth; the UDP backup is never used.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/sctp_lib.sh"
need_sctp_bins
command -v nfcapd >/dev/null && command -v nfdump >/dev/null || skip "nfdump not installed (Debian package nfdump)"

gen -o "$T/c.pcap" -n 150000 -c 5000 --flows-per-sec 400 --inactive 2 --active 10 --truth "$T/c.flows.csv"
start_recv p1
start_relay r1 "$(port_of p1)"
start_recv b1
start_nfcapd() { # NAME
	mkdir -p "$T/$1"
	local port
	port=$(free_port udp)
	nfcapd -b 127.0.0.1 -p "$port" -w "$T/$1" -t 3600 -B 16777216 >"$T/$1.log" 2>&1 &
	eval "PID_$1=$!"
	on_exit "kill -KILL $! 2>/dev/null"
	echo "$port" >"$T/$1.port"
}
start_nfcapd u1
start_nfcapd u2
sleep 0.5
ipflowd_bg ipfd -r "$T/c.pcap" --speed 2 --inactive 2 --active 10 -v 10 --flush-ms 100 -S "$T/ctl.sock" --stats \
	-e "sctp:127.0.0.1:$(port_of p1)" --sctp-udp-port "$(port_of r1)" \
	--sctp-backup "127.0.0.1:$(port_of b1)" --sctp-backup-mode redundant --sctp-heartbeat 100 \
	-e "udp:127.0.0.1:$(port_of u1)" --sctp-backup "127.0.0.1:$(port_of u2)" --sctp-backup-mode fail-over
wait_sock "$T/ctl.sock" || fail "ipflowd has no control socket: $(tail -3 "$T/ipfd.err")"
sleep 2
kill -KILL "$PID_r1"
note "SCTP primary's relay killed"
wait_pid ipfd 40 || fail "ipflowd did not finish: $(tail -5 "$T/ipfd.err")"
sleep 0.5
stop_recv p1
stop_recv b1
for n in u1 u2; do
	eval "kill -TERM \$PID_$n"
	eval "wait \$PID_$n"
done

"$PYTHON" "$DEDUP" "$T/sctp.jsonl" "$T/p1.jsonl" "$T/b1.jsonl" >"$T/dedup.json"
check sctp_everything flowcheck --truth "$T/c.flows.csv" --log "$T/sctp.jsonl" --sums-only
check sctp_failed_over grep -q '^    fail-overs: 1$' "$T/ipfd.out"
TZ=UTC nfdump -R "$T/u1" -o json >"$T/u1.json" 2>/dev/null
"$PYTHON" "$SRC_DIR/tests/e2e/nfdump2log.py" "$T/u1.json" >"$T/udp.jsonl"
check udp_everything flowcheck --truth "$T/c.flows.csv" --log "$T/udp.jsonl" --sums-only
TZ=UTC nfdump -R "$T/u2" -o json >"$T/u2.json" 2>/dev/null
n2=$("$PYTHON" "$SRC_DIR/tests/e2e/nfdump2log.py" "$T/u2.json" 2>/dev/null | grep -c . || true)
check udp_backup_unused test "${n2:-0}" = 0
check udp_nothing_failed "$PYTHON" - "$T/ipfd.out" <<-'PYEOF'
import re, sys
out = open(sys.argv[1]).read()
m = re.search(r"Destination\(2\) udp:\S+\n\s+(\d+) flows exported in \d+ udp datagrams\n\s+(\d+) flows failed", out)
print(m.group(0))
assert int(m.group(2)) == 0
PYEOF
finish
