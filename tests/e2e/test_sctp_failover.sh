#!/bin/bash
# test_sctp_failover.sh BUILD_DIR SOURCE_DIR — the primary collector dies
# mid-stream, full reliability, in fail-over mode and in redundant mode
# (issue 5, test 4).
#
# The primary sctp_recv sits behind udp_relay; 4 s into a paced replay the
# relay is killed with SIGKILL, so the primary's host goes silent (nothing
# answers, as when a machine dies; the collector process keeps the log of
# what it had received). ipflowd must move to the backup within the
# fail-over time plus SCTP's detection (heartbeats 100 ms, RTO 100-500 ms,
# three retransmissions): the first data at the backup follows the kill by
# less than FAILOVER_BOUND_MS. No record may be lost: the two collectors'
# logs merged and de-duplicated by message equal ipflow-gen's ground truth
# (duplicates are allowed: a message the primary got but had not
# acknowledged). The show command counts the fail-over; in redundant mode
# the backup association was up (with its templates) before the kill, in
# fail-over mode it came up after.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/sctp_lib.sh"
need_sctp_bins
FAILOVER_BOUND_MS=${FAILOVER_BOUND_MS:-3000}

gen -o "$T/c.pcap" -n 150000 -c 5000 --flows-per-sec 400 --inactive 2 --active 10 --truth "$T/c.flows.csv"

run_mode() { # TAG MODE
	local tag=$1 mode=$2 t_kill
	start_recv "prim_$tag"
	start_relay "prel_$tag" "$(port_of "prim_$tag")"
	start_recv "back_$tag"
	ipflowd_bg "ipfd_$tag" -r "$T/c.pcap" --speed 1 --inactive 2 --active 10 -v 10 --flush-ms 100 \
		-S "$T/ctl_$tag.sock" --stats \
		-e "sctp:127.0.0.1:$(port_of "prim_$tag")" --sctp-udp-port "$(port_of "prel_$tag")" \
		--sctp-backup "127.0.0.1:$(port_of "back_$tag")" --sctp-backup-mode "$mode" \
		--sctp-fail-over 25 --sctp-restore-time 600 --sctp-heartbeat 100
	wait_sock "$T/ctl_$tag.sock" || fail "ipflowd ($mode) has no control socket: $(tail -3 "$T/ipfd_$tag.err")"
	sleep 4
	t_kill=$(date +%s%3N)
	eval "kill -KILL \$PID_prel_$tag"
	note "$mode: primary's relay killed at $t_kill"
	sleep 3
	show_json "$T/ctl_$tag.sock" show ip flow export sctp verbose >"$T/show_$tag.json" 2>&1
	wait_pid "ipfd_$tag" 40 || fail "ipflowd ($mode) did not finish: $(tail -5 "$T/ipfd_$tag.err")"
	stop_recv "prim_$tag"
	stop_recv "back_$tag"
	echo "$t_kill" >"$T/kill_$tag"
}

check_mode() { # TAG MODE
	local tag=$1 mode=$2
	"$PYTHON" "$DEDUP" "$T/all_$tag.jsonl" "$T/prim_$tag.jsonl" "$T/back_$tag.jsonl" >"$T/dedup_$tag.json"
	check "${tag}_no_record_lost" flowcheck --truth "$T/c.flows.csv" --log "$T/all_$tag.jsonl" --sums-only
	check "${tag}_show_counts" "$PYTHON" - "$T/show_$tag.json" <<-'PYEOF'
	import json, sys
	d = json.load(open(sys.argv[1]))["destinations"][0]
	print(json.dumps(d))
	assert d["failOvers"] == 1 and d["active"] == "backup", d
	assert d["backup"]["status"] == "connected", d
	PYEOF
	check "${tag}_stats_text" grep -q '^    fail-overs: 1$' "$T/ipfd_$tag.out"
	local t_kill first up
	t_kill=$(cat "$T/kill_$tag")
	first=$(msg_times "back_$tag" | sort -n | head -n1)
	up=$(awk -F'\t' '$3 == "#up" { print $13; exit }' "$T/back_$tag.msgs")
	note "$mode: first data at the backup $((first - t_kill)) ms after the kill; backup association up at $((up - t_kill)) ms"
	echo "$mode $((first - t_kill))" >>"$T/failover_ms"
	check "${tag}_within_bound" test $((first - t_kill)) -le "$FAILOVER_BOUND_MS" -a $((first - t_kill)) -ge 0
	if [ "$mode" = redundant ]; then
		check "${tag}_backup_open_before" test "$up" -lt "$t_kill"
		check "${tag}_backup_had_templates" awk -F'\t' -v k="$t_kill" \
			'$3 == "0" && $9 > 0 && $13 < k { ok = 1 } END { exit !ok }' "$T/back_$tag.msgs"
	else
		check "${tag}_backup_opened_at_failover" test "$up" -gt "$t_kill"
	fi
	check "${tag}_dup_info" "$PYTHON" -c "import json; print(json.load(open('$T/dedup_$tag.json')))"
}

run_mode fo fail-over
run_mode red redundant
check_mode fo fail-over
check_mode red redundant
cat "$T/failover_ms"
finish
