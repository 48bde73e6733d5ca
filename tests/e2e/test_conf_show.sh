#!/bin/bash
# test_conf_show.sh BUILD_DIR SOURCE_DIR — the configuration commands of
# the control socket, ipflowd -t, and daemon mode.
#
# A pcap with a long gap (ipflow-gen traffic, then ten packets 1e6 s
# later, merged by mergecap) is replayed at 1000x with timeouts longer
# than the test, so once the first part is read the daemon sits still
# and its state is deterministic. Then: golden outputs of show
# running-config, show ip flow interface, show flow monitor [cache], show
# flow exporter and show ip cache flow aggregation; --json of each parsed
# by python and checked against the configuration and the capture; the
# running-config fed back to `ipflowd -t`. -t accepts the fixtures and
# refuses a broken file with file:line:col. --daemon: the parent returns
# when the daemon is ready, the pid file names it, it runs as --user,
# the socket is 0660 with --group, SIGTERM removes the pid file.
. "$(dirname "$0")/lib.sh" "$@"
need_bins
IPFLOW=$BUILD_DIR/ipflow
GOLD=$SRC_DIR/tests/data/conf/golden
command -v mergecap >/dev/null || fail "mergecap not installed (Debian package wireshark-common)"

mkpcap() {
	[ -s "$T/g.pcap" ] && return 0
	gen -o "$T/p1.pcap" --start-time 1700000000 --truth "$T/p1.flows.csv" -n 3000 -c 50 -s 3 --v4-only || return 1
	gen -o "$T/p2.pcap" --start-time 1701000000 -n 10 -c 2 -s 4 --v4-only || return 1
	mergecap -F pcap -w "$T/g.pcap" "$T/p1.pcap" "$T/p2.pcap" || return 1
}

# Wait until the first part of the pcap is metered (3000 packets read,
# plus the first of the second part, read ahead by the pacing).
wait_metered() {
	local i
	for i in $(seq 100); do
		"$IPFLOW" -S "$1" show ip flow interface --json 2>/dev/null | grep -q '"received":3001' && { sleep 0.3; return 0; }
		sleep 0.1
	done
	echo "the replay did not reach the gap"
	return 1
}

t_golden() {
	mkpcap || return 1
	# the flow exporter's collector: loopback, a port the kernel picks
	"$PYTHON" "$SRC_DIR/tests/e2e/udp2pcap.py" "$T/fnf.pcap" "$T/fnf.port" "$T/fnf.stop" &
	local cpid=$!
	on_exit "kill $cpid"
	local i
	for i in $(seq 50); do [ -s "$T/fnf.port" ] && break; sleep 0.1; done
	local port
	port=$(cat "$T/fnf.port") || return 1
	sed "s|@T@|$T|g; s|@PORT@|$port|g" "$GOLD/show.conf.in" >"$T/show.conf"
	"$IPFLOWD" -f "$T/show.conf" >"$T/d.out" 2>"$T/d.err" &
	local pid=$!
	on_exit "kill $pid"
	wait_metered "$T/ctl.sock" || return 1
	local bad=0 c name
	while IFS='|' read -r name c; do
		"$IPFLOW" -S "$T/ctl.sock" $c >"$T/$name.txt" 2>&1 || { echo "$c failed"; bad=1; }
		# the port is the kernel's; how many messages carried the records depends on the pacing
		sed -i -E "s|$T|@T@|g; s|(Destination Port: +)$port\$|\1@PORT@|; s|^( transport udp )$port\$|\1@PORT@|; s|^( export destination 127\.0\.0\.1 )$port\$|\1@PORT@|; \
			s/^( +(Packets|Bytes|Templates) sent: +)[0-9]+\$/\1N/" "$T/$name.txt"
		if ! diff -u "$GOLD/$name.txt" "$T/$name.txt"; then
			echo "^ $c differs from $GOLD/$name.txt"
			bad=1
		fi
	done <<-EOC
	show_running|show running-config
	show_interface|show ip flow interface
	show_monitor|show flow monitor M1
	show_monitor_cache|show flow monitor M1 cache
	show_exporter|show flow exporter X1
	show_agg_prefix|show ip cache flow aggregation prefix
	show_agg_as|show ip cache flow aggregation as
	show_template|show ip flow export template
	EOC
	# an unknown monitor is an error with the router's message
	if "$IPFLOW" -S "$T/ctl.sock" show flow monitor NOPE >"$T/nope.txt" 2>&1; then
		echo "show flow monitor NOPE succeeded"; bad=1
	fi
	grep -q "Flow Monitor 'NOPE' does not exist" "$T/nope.txt" || { cat "$T/nope.txt"; bad=1; }
	echo "$port" >"$T/port"
	# --json on every show, parsed
	local q
	for q in "show running-config" "show ip flow interface" "show flow monitor M1" "show flow monitor M1 cache" \
		"show flow exporter X1" \
		"show ip cache flow aggregation prefix" "show ip cache flow aggregation as" "show ip flow export" \
		"show ip flow export template" "show ip cache flow"; do
		"$IPFLOW" -S "$T/ctl.sock" $q --json >"$T/json.$(echo "$q" | tr ' ' _)" || { echo "$q --json failed"; bad=1; }
	done
	"$PYTHON" - "$T" <<-'PYEOF' || bad=1
	import csv, json, sys
	T = sys.argv[1]
	j = lambda q: json.load(open(T + "/json." + q.replace(" ", "_")))
	bad = []
	rc = j("show running-config")["runningConfig"]
	open(T + "/running.conf", "w").write(rc)
	itf = j("show ip flow interface")["interfaces"]
	if [i["name"] for i in itf] != ["replay0"] or not itf[0]["ingress"] or itf[0]["egress"]:
	    bad.append("interfaces: %r" % itf)
	cap = itf[0]["captures"][0]
	if cap["ifIndex"] != 3 or cap["received"] != 3001:
	    bad.append("capture: %r" % cap)
	if itf[0]["monitors"] != [{"monitor": "M1", "traffic": "ipv4", "direction": "input", "sampler": "S1"}]:
	    bad.append("monitors: %r" % itf[0]["monitors"])
	m = j("show flow monitor M1")
	if m["record"] != "R1" or m["exporters"] != ["X1"] or m["cache"]["entries"] != 1024 or m["cache"]["activeTimeout"] != 120:
	    bad.append("monitor: %r" % m)
	x = j("show flow exporter X1")
	port = int(open(T + "/port").read())
	if (x["destination"], x["port"], x["transport"], x["exportProtocol"]) != ("127.0.0.1", port, "UDP", "IPFIX (Version 10)"):
	    bad.append("exporter: %r" % x)
	if not x["inUse"] or x["users"] != ["M1"] or x["recordsFailed"] or x["sendErrors"] or x["notSent"]:
	    bad.append("exporter state: %r" % x)
	mc = j("show flow monitor M1 cache")["cache"]
	if mc["flowsAdded"] != mc["flowsAged"] + mc["currentEntries"]:
	    bad.append("monitor cache: %r" % mc)
	if x["recordsAdded"] != mc["flowsAged"]:
	    bad.append("exporter took %d records, the monitor aged %d" % (x["recordsAdded"], mc["flowsAged"]))
	a = j("show ip cache flow aggregation prefix")
	if not a["configured"] or not a["enabled"] or a["entries"] != 2048 or a["exportVersion"] != 9:
	    bad.append("aggregation prefix: %r" % a)
	if j("show ip cache flow aggregation as")["configured"]:
	    bad.append("aggregation as reported as configured")
	e = j("show ip flow export")
	if e["version"] != 9 or [d["destination"] for d in e["destinations"]] != ["file:%s/out.v9" % T] or e["destinations"][0]["flowsFailed"]:
	    bad.append("export: %r" % e)
	t = j("show ip flow export template")
	if not t["optionExportStats"] or t["templateTimeoutMinutes"] != 30:
	    bad.append("template: %r" % t)
	# the cache holds every flow of the first part that has not ended:
	# packets metered = the truth's packets
	truth = sum(int(r["packets"]) for r in csv.DictReader(open(T + "/p1.flows.csv")))
	if mc["packets"] != truth // 10:  # M1 meters every 10th IPv4 packet of the interface (sampler S1)
	    bad.append("monitor M1 metered %d packets, want %d of the truth's %d" % (mc["packets"], truth // 10, truth))
	cc = j("show ip cache flow")["cache"]
	if cc["packets"] != truth or cc["activeTimeout"] != 604800 or cc["inactiveTimeout"] != 604800:
	    bad.append("cache: %d packets metered, truth %d; timeouts %r/%r" % (cc["packets"], truth, cc["activeTimeout"], cc["inactiveTimeout"]))
	# records exported so far: those ended by FIN/RST (the timeouts are longer than the test)
	if e["destinations"][0]["flows"] != cc["expired"]["end-of-flow"]:
	    bad.append("export counted %d flows, the cache expired %d" % (e["destinations"][0]["flows"], cc["expired"]["end-of-flow"]))
	print("interfaces, monitor, exporter, aggregation, export, template, cache (%d packets): checked" % truth)
	if bad:
	    sys.exit("; ".join(bad))
	PYEOF
	# the running-config is a configuration ipflowd accepts
	"$IPFLOWD" -t -f "$T/running.conf" >"$T/rc.t" 2>&1 || { echo "running-config refused by -t:"; cat "$T/rc.t"; bad=1; }
	kill $pid
	wait $pid
	return $bad
}

t_check_only() {
	local f bad=0
	for f in "$SRC_DIR"/tests/data/conf/*.conf "$SRC_DIR"/contrib/ipflow.conf; do
		"$IPFLOWD" -t -f "$f" >"$T/t.out" 2>&1 || { echo "ipflowd -t refused $f:"; cat "$T/t.out"; bad=1; }
		grep -q "test is successful" "$T/t.out" || bad=1
	done
	printf 'ip flow-export version 9\ninterface eth0\n ip flow ingres\n ip flw egress\n' >"$T/bad.conf"
	if "$IPFLOWD" -t -f "$T/bad.conf" >"$T/bad.out" 2>&1; then
		echo "ipflowd -t accepted a broken file"; bad=1
	fi
	grep -q "$T/bad.conf:4:5: error: % Invalid input detected at 'flw' in interface mode" "$T/bad.out" &&
		grep -q "test failed" "$T/bad.out" || { cat "$T/bad.out"; bad=1; }
	# a missing interface is a warning at check time
	printf 'interface nosuchif9\n ip flow ingress\n' >"$T/missing.conf"
	"$IPFLOWD" -t -f "$T/missing.conf" >"$T/missing.out" 2>&1 || { cat "$T/missing.out"; bad=1; }
	grep -q "interface nosuchif9 does not exist on this host" "$T/missing.out" || { cat "$T/missing.out"; bad=1; }
	# ... and an error when capture starts on it
	if timeout 10 "$IPFLOWD" -f "$T/missing.conf" -S none >"$T/missing.run" 2>&1; then
		echo "capture on a missing interface started"; bad=1
	fi
	grep -q "nosuchif9" "$T/missing.run" || { cat "$T/missing.run"; bad=1; }
	# flags win over the file: -e replaces its destination, --inactive its timeout
	printf 'ip flow-export destination 192.0.2.1 9999\nip flow-cache timeout inactive 30\n' >"$T/f.conf"
	mkpcap || return 1
	"$IPFLOWD" -f "$T/f.conf" -r "$T/p1.pcap" -e "file:$T/flag.out" --inactive 7 -S none --stats >"$T/flags.out" 2>&1 ||
		{ cat "$T/flags.out"; bad=1; }
	grep -q "Destination(1)  file:$T/flag.out" "$T/flags.out" || { echo "-e did not replace the file's destination"; bad=1; }
	grep -q "udp:192.0.2.1:9999" "$T/flags.out" && { echo "the file's destination stayed"; bad=1; }
	return $bad
}

t_daemon() {
	mkpcap || return 1
	local run=$T/run
	mkdir -p "$run"
	chmod 777 "$run"
	chmod 711 "$T" # the daemon, as nobody, removes its pid file and socket in $run
	sed "s|@T@|$T|g; s|@PORT@|$(free_port)|g" "$GOLD/show.conf.in" | grep -v control-socket >"$T/daemon.conf"
	cp "$T/g.pcap" "$run/g.pcap"
	sed -i "s|$T/g.pcap|$run/g.pcap|; s|$T/out.v9|$run/out.v9|" "$T/daemon.conf"
	timeout 20 "$IPFLOWD" -f "$T/daemon.conf" --daemon --pid-file "$run/ipflowd.pid" --user nobody --group nogroup \
		-S "$run/ctl.sock" >"$T/daemon.out" 2>&1 || { echo "--daemon failed:"; cat "$T/daemon.out"; return 1; }
	[ -s "$run/ipflowd.pid" ] || { echo "no pid file"; return 1; }
	local pid
	pid=$(cat "$run/ipflowd.pid")
	on_exit "kill $pid"
	kill -0 "$pid" || { echo "daemon $pid not running"; return 1; }
	local uid
	uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
	[ "$uid" = "$(id -u nobody)" ] || { echo "daemon runs as uid $uid, not nobody"; return 1; }
	local mode grp
	mode=$(stat -c %a "$run/ctl.sock")
	grp=$(stat -c %G "$run/ctl.sock")
	[ "$mode" = 660 ] && [ "$grp" = nogroup ] || { echo "control socket mode $mode group $grp"; return 1; }
	wait_metered "$run/ctl.sock" || return 1
	"$IPFLOW" -S "$run/ctl.sock" show running-config | grep -q "ipflow user nobody" || { echo "no user in running-config"; return 1; }
	# a second daemon with the same pid file refuses to start
	if timeout 10 "$IPFLOWD" -f "$T/daemon.conf" --daemon --pid-file "$run/ipflowd.pid" -S none >"$T/second.out" 2>&1; then
		echo "a second daemon started over the pid file"; return 1
	fi
	grep -q "already running as process $pid" "$T/second.out" || { cat "$T/second.out"; return 1; }
	kill "$pid"
	local i
	for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && { echo "daemon did not stop on SIGTERM"; return 1; }
	[ -e "$run/ipflowd.pid" ] && { echo "pid file left behind"; return 1; }
	[ -s "$run/out.v9" ] || { echo "the daemon exported nothing at exit"; return 1; }
	echo "daemon $pid ran as nobody, socket 0660 nogroup, stopped cleanly"
}

note "$E2E_NAME: work=$T"
check golden t_golden
check check_only t_check_only
check daemon t_daemon
finish
