#!/bin/bash
# test_conf_reload_sctp.sh BUILD_DIR SOURCE_DIR — a reload that changes an
# SCTP destination's sub-mode (reliability full → none → partial
# buffer-limit 200 → full with a backup) applies it, and loses nothing.
#
# ipflowd replays a generated pcap paced on the wall clock and exports
# IPFIX over SCTP to ipflow-collect, configured by a file; while it runs,
# the file's `reliability` and `backup` lines change and `ipflow reload`
# applies them: `show ip flow export sctp --json` shows each new mode (the
# destination is replaced: the old association drains what it holds, a
# new one opens with the new settings). Every record ipflowd exported
# either reaches the collector or is a hole the collector counts in the
# IPFIX sequence numbers (reliability none and partial may drop, counted);
# when all arrived, the stored flows add up to the generator's ground truth.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/sctp_lib.sh"
. "$(dirname "$0")/collect_lib.sh"
need_sctp_bins
IPFLOW=$BUILD_DIR/ipflow

gen -o "$T/r.pcap" --start-time 1700000000 -n 40000 -c 300 -s 7 --truth "$T/r.flows.csv"

P=$(free_port udp)
PB=$(free_port udp)
SOCK=$T/ctl.sock
CONF=$T/ipflow.conf

conf() { # RELIABILITY-LINE [BACKUP-LINES]
	{
		echo "ip flow-export version 10"
		echo "ip flow-export destination 127.0.0.1 $P sctp"
		echo " $1"
		[ -n "${2:-}" ] && printf ' %s\n' "$2" " backup mode fail-over"
		echo "ip flow-cache timeout active 10 seconds"
		echo "ip flow-cache timeout inactive 10"
		echo "ipflow control-socket $SOCK"
	} >"$CONF"
}

rel_now() { show_json "$SOCK" show ip flow export sctp | jget - destinations.0.reliability; }

t_reload_sctp_submode() {
	coll_start c -l "sctp:127.0.0.1:$P" -o "csv:$T/c.csv" || return 1
	conf "reliability full"
	ipflowd_bg ipfd -f "$CONF" -r "$T/r.pcap" --speed 15 --flush-ms 100 --stats
	wait_sock "$SOCK" || { cat "$T/ipfd.err"; return 1; }
	[ "$(rel_now)" = full ] || { echo "not full at start: $(rel_now)"; return 1; }
	sleep 1
	conf "reliability none"
	"$IPFLOW" -S "$SOCK" reload || return 1
	[ "$(rel_now)" = none ] || { echo "reload to none not applied: $(rel_now)"; return 1; }
	sleep 1
	conf "reliability partial buffer-limit 200"
	"$IPFLOW" -S "$SOCK" reload || return 1
	[ "$(rel_now)" = partial ] || { echo "reload to partial not applied: $(rel_now)"; return 1; }
	[ "$(show_json "$SOCK" show ip flow export sctp | jget - destinations.0.bufferLimit)" = 200 ] ||
		{ echo "buffer-limit not 200"; return 1; }
	sleep 1
	conf "reliability full" "backup destination 127.0.0.1 $PB"
	"$IPFLOW" -S "$SOCK" reload || return 1
	local j
	j=$(show_json "$SOCK" show ip flow export sctp)
	[ "$(echo "$j" | jget - destinations.0.reliability)" = full ] &&
		[ "$(echo "$j" | jget - destinations.0.backup.port)" = "$PB" ] ||
		{ echo "reload to full with a backup not applied: $j"; return 1; }
	wait_pid ipfd 60 || { tail "$T/ipfd.err"; return 1; }
	grep -E "^Configuration reloads 3 \(0 refused\)" "$T/ipfd.out" || { echo "no reload count"; return 1; }
	local recs line got lost
	recs=$(sed -n 's/^Records exported \([0-9]*\) .*/\1/p' "$T/ipfd.out")
	xlost=$(sed -n 's/^Records lost by export \([0-9]*\) .*/\1/p' "$T/ipfd.out")
	[ -n "$xlost" ] || { echo "no export loss line"; return 1; }
	for i in $(seq 1 100); do
		line=$(coll_totals c)
		got=$(coll_val records "$line")
		lost=$(coll_val seq_lost "$line")
		[ $((got + lost + xlost)) -ge "$recs" ] && break
		sleep 0.2
	done
	coll_stop c || return 1
	echo "ipflowd exported $recs records and counts $xlost lost; the collector stored $got and counts $lost lost by sequence number"
	# none and partial may drop what the stack cannot take at once; nothing
	# is lost unseen: every record arrived, or is a hole in the IPFIX
	# sequence numbers, or ipflowd counted it lost (a hole at the very end
	# of a replaced association has no later record to show it)
	[ $((got + lost + xlost)) -ge "$recs" ] && [ "$got" -le "$recs" ] || { echo "records unaccounted for"; return 1; }
	# the old associations closed gracefully: drained, not aborted
	if grep -q "association lost" "$T/ipfd.err"; then
		echo "an old association was aborted at the switch:"; grep "association lost" "$T/ipfd.err"; return 1
	fi
	[ "$(coll_val malformed "$line")" = 0 ] || return 1
	if [ "$got" = "$recs" ]; then
		flowcheck --truth "$T/r.flows.csv" --log "csv:$T/c.csv" --sums-only
	fi
}

check reload_sctp_submode t_reload_sctp_submode
finish
