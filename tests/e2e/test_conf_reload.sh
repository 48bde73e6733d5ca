#!/bin/bash
# test_conf_reload.sh BUILD_DIR SOURCE_DIR — configuration reloads under
# traffic lose nothing.
#
# ipflowd replays a generated pcap paced on the wall clock (--speed) and
# exports NetFlow v9 to two nfcapd collectors; while it runs, its
# configuration file is rewritten and reloaded many times (by
# `ipflow reload` and by SIGHUP), alternating the destination between the
# two collectors and changing the cache timeouts and template rates. One
# reload in the middle is a file with errors: it is refused with file,
# line and column, and the running configuration (show running-config)
# stays as it was; another is valid but cannot be applied (an output
# that cannot be opened) and is refused the same way. At the end the records both collectors received,
# decoded by nfdump, add up per flow key to the generator's ground truth
# (flowcheck.py --sums-only), and `debug ip flow export` streamed the
# packets sent to both.
. "$(dirname "$0")/lib.sh" "$@"
need_bins
IPFLOW=$BUILD_DIR/ipflow
command -v nfcapd >/dev/null && command -v nfdump >/dev/null || fail "nfcapd/nfdump not installed (Debian package nfdump)"

PA=$(free_port udp)
PB=$(free_port udp)
SOCK=$T/ctl.sock
CONF=$T/ipflow.conf

start_nfcapd() { # DIR PORT
	mkdir -p "$1"
	nfcapd -w "$1" -p "$2" -b 127.0.0.1 -B 8000000 -t 3600 >"$1.log" 2>&1 &
	echo $! >"$1.pid"
	on_exit "kill $(cat "$1.pid")"
}

conf_a() {
	cat >"$CONF" <<-EOC
	! reload test: collector A
	ip flow-export version 9
	ip flow-export destination 127.0.0.1 $PA
	ip flow-export template refresh-rate 20
	ip flow-cache timeout active 1
	ip flow-cache timeout inactive 15
	ipflow control-socket $SOCK
	EOC
}

conf_b() {
	cat >"$CONF" <<-EOC
	! reload test: collector B, other timeouts and template rates
	ip flow-export version 9
	ip flow-export destination 127.0.0.1 $PB
	ip flow-export template refresh-rate 5
	ip flow-export template timeout-rate 1
	ip flow-cache timeout active 90 seconds
	ip flow-cache timeout inactive 10
	ipflow control-socket $SOCK
	EOC
}

conf_bad() {
	cat >"$CONF" <<-EOC
	ip flow-export version 9
	ip flow-export destination 127.0.0.1
	ip flow-cache timeout inactve 10
	ipflow control-socket $SOCK
	EOC
}

t_reload_under_traffic() {
	gen -o "$T/r.pcap" --start-time 1700000000 --truth "$T/r.flows.csv" -n 40000 -c 300 -s 7 --v4-only || return 1
	start_nfcapd "$T/nfa" "$PA"
	start_nfcapd "$T/nfb" "$PB"
	sleep 0.5
	conf_a
	# 115 s of traffic at 10x: about 12 s
	"$IPFLOWD" -f "$CONF" -r "$T/r.pcap" --speed 10 --stats >"$T/ipflowd.out" 2>"$T/ipflowd.err" &
	local pid=$!
	on_exit "kill $pid"
	local i
	for i in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
	[ -S "$SOCK" ] || { echo "no control socket"; cat "$T/ipflowd.err"; return 1; }
	timeout 60 "$IPFLOW" -S "$SOCK" debug ip flow export >"$T/debug.log" 2>&1 &
	on_exit "kill $!"
	local ok=0 hup=0 refused=0
	for i in $(seq 1 200); do
		kill -0 $pid 2>/dev/null || break
		if [ $i = 7 ]; then
			# a file with errors: refused, the old configuration keeps running
			local before
			before=$("$IPFLOW" -S "$SOCK" show running-config)
			conf_bad
			if "$IPFLOW" -S "$SOCK" reload >"$T/bad.out" 2>&1; then
				echo "a configuration with errors was accepted"; cat "$T/bad.out"; return 1
			fi
			grep -q "$CONF:2:37: error: % Incomplete command: expected port" "$T/bad.out" &&
				grep -q "$CONF:3:23: error: % Invalid input detected at 'inactve'" "$T/bad.out" &&
				grep -q "Reload refused" "$T/bad.out" || { echo "refusal without the expected messages:"; cat "$T/bad.out"; return 1; }
			[ "$("$IPFLOW" -S "$SOCK" show running-config)" = "$before" ] ||
				{ echo "running-config changed after a refused reload"; return 1; }
			refused=1
		fi
		if [ $i = 12 ]; then
			# valid, but cannot be applied (the file output cannot be opened):
			# refused at apply time, nothing of it applied
			local before
			before=$("$IPFLOW" -S "$SOCK" show running-config)
			conf_b
			echo "ip flow-export file $T/no/such/dir/out.v9" >>"$CONF"
			if "$IPFLOW" -S "$SOCK" reload >"$T/noapply.out" 2>&1; then
				echo "an unappliable configuration was accepted"; cat "$T/noapply.out"; return 1
			fi
			grep -q "Reload failed: .*no/such/dir.*the running configuration is unchanged" "$T/noapply.out" ||
				{ cat "$T/noapply.out"; return 1; }
			[ "$("$IPFLOW" -S "$SOCK" show running-config)" = "$before" ] ||
				{ echo "running-config changed after a failed reload"; return 1; }
			refused=$((refused + 1))
		fi
		if [ $((i % 2)) = 0 ]; then conf_b; else conf_a; fi
		if [ $((i % 3)) = 0 ]; then
			kill -HUP $pid 2>/dev/null && hup=$((hup + 1))
		else
			local out
			out=$("$IPFLOW" -S "$SOCK" reload 2>&1) || { serving $pid "$SOCK" || break; echo "reload $i failed: $out"; return 1; }
			ok=$((ok + 1))
		fi
		sleep 0.3
	done
	wait $pid || { echo "ipflowd exited $?"; tail "$T/ipflowd.err"; return 1; }
	echo "reloads: $ok by ipflow reload, $hup by SIGHUP, $refused refused"
	[ $ok -ge 10 ] && [ $hup -ge 5 ] || { echo "too few reloads happened"; return 1; }
	grep -E "^Configuration reloads [0-9]+ \(2 refused\)" "$T/ipflowd.out" || { echo "no reload count in --stats"; tail "$T/ipflowd.out"; return 1; }
	sleep 1
	kill "$(cat "$T/nfa.pid")" "$(cat "$T/nfb.pid")"
	sleep 1
	local d
	for d in nfa nfb; do
		TZ=UTC nfdump -R "$T/$d" -o json >"$T/$d.json" 2>"$T/$d.nfdump.err" || { cat "$T/$d.nfdump.err"; return 1; }
	done
	"$PYTHON" "$SRC_DIR/tests/e2e/nfdump2log.py" "$T/nfa.json" "$T/nfb.json" >"$T/collected.jsonl" || return 1
	echo "collector A $(grep -c '"FLOW"' "$T/nfa.json") records, B $(grep -c '"FLOW"' "$T/nfb.json")"
	[ "$(grep -c '"FLOW"' "$T/nfa.json")" -gt 0 ] && [ "$(grep -c '"FLOW"' "$T/nfb.json")" -gt 0 ] ||
		{ echo "one collector got nothing: the destination did not move"; return 1; }
	flowcheck --truth "$T/r.flows.csv" --log "$T/collected.jsonl" --sums-only || return 1
	grep -q "IPFLOW: Sending export pak to udp:127.0.0.1:$PA: version v9" "$T/debug.log" &&
		grep -q "IPFLOW: Sending export pak to udp:127.0.0.1:$PB: version v9" "$T/debug.log" ||
		{ echo "debug ip flow export did not show both destinations:"; head "$T/debug.log"; return 1; }
	echo "debug ip flow export: $(grep -c 'Sending export pak' "$T/debug.log") packets"
}

note "$E2E_NAME: work=$T"
check reload_under_traffic t_reload_under_traffic
finish
