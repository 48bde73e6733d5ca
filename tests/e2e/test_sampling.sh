#!/bin/bash
# test_sampling.sh BUILD_DIR SOURCE_DIR — sampled NetFlow of the main
# cache, judged against ipflow-gen's ground truth, tshark and the
# collector.
#
# One generated capture of 300k packets (IPv4 and IPv6). For each run,
# ipflowd -r PCAP --sample 100 --sampler MODE -v V exports over UDP to
# udp2pcap.py (every datagram into a pcap); tshark decodes that pcap and
# ipflow-collect -r reads it with --unsample. Judged:
#  - ipflowd's counters: packets offered = the truth's packets, sampled
#    = floor or ceil of n/100 (random: one per window of 100, at a random
#    place; deterministic: exactly every 100th, so floor(n/100)), not
#    sampled = offered - sampled exactly, and the cache metered exactly
#    the sampled packets;
#  - tshark: no malformed packet, every datagram decoded; the rate where
#    the format puts it: v5 header (mode bits, interval), v9 sampler
#    options (FLOW_SAMPLER_ID/MODE/RANDOM_INTERVAL), IPFIX PSAMP selector
#    report (selectorAlgorithm and its parameters); every v9/IPFIX flow
#    record names the sampler;
#  - the collector: every record scaled by the learnt rate (packets =
#    100 x the sampled packets exactly) and the unsampled packet and byte
#    totals within 4 sigma of the truth, sigma computed here from the
#    truth's packet sizes as for Bernoulli(1/100) selection (an upper
#    bound for one-per-window selection, whose variance is smaller);
#    v5 carries IPv4 only: judged against the IPv4 part of the truth.
#  - reload: a paced replay whose configuration file changes the
#    sampler's rate mid-run; the exports and the counters follow;
#  - two interfaces, one sampled and one not: only the sampled one's
#    flows are scaled (each record names its interface's sampler);
#  - a Flexible NetFlow monitor with its own deterministic sampler meters
#    exactly every 50th packet of its traffic beside the main cache's.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/collect_lib.sh"
need_bins
command -v tshark >/dev/null || fail "tshark is not installed (apt-get install tshark)"

N=100
PKTS=300000
gen -o "$T/in.pcap" --start-time 1700000000 -n $PKTS -c 2000 -s 21 \
	--truth "$T/truth.csv" --truth-packets "$T/truth.pk.csv" || fail "ipflow-gen"

# export NAME VERSION MODE [IPFLOWD-ARGS...]: ipflowd into udp2pcap, then
# the collector over the pcap. Leaves $T/NAME.{pcap,stdout,csv,port}.
export_run() {
	local name=$1 v=$2 mode=$3 port i
	shift 3
	"$PYTHON" "$SRC_DIR/tests/e2e/udp2pcap.py" "$T/$name.pcap" "$T/$name.port" "$T/$name.stop" &
	local upid=$!
	on_exit "kill $upid"
	for i in $(seq 1 100); do [ -f "$T/$name.port" ] && break; sleep 0.05; done
	port=$(cat "$T/$name.port") || return 1
	timeout -k 5 120 "$IPFLOWD" -r "$T/in.pcap" -e "udp:127.0.0.1:$port" -v "$v" \
		--sample $N --sampler "$mode" --stats "$@" >"$T/$name.stdout" 2>"$T/$name.err" ||
		{ echo "ipflowd exited $?"; tail "$T/$name.err"; return 1; }
	touch "$T/$name.stop"
	wait $upid
	"$COLLECT" -r "$T/$name.pcap" "$port" --unsample -o "csv:$T/$name.csv" --stats \
		>"$T/$name.coll" 2>"$T/$name.collerr" || { echo "ipflow-collect -r failed"; tail "$T/$name.collerr"; return 1; }
}

# judge NAME MODE AF: ipflowd's counters, the collector's totals, tshark.
judge() {
	local name=$1 mode=$2 af=$3 port
	port=$(cat "$T/$name.port")
	tshark -r "$T/$name.pcap" -d "udp.port==$port,cflow" -V >"$T/$name.tshark" 2>&1 || return 1
	local bad total decoded
	bad=$(grep -ciE 'malformed|expert info \((error|warning)' "$T/$name.tshark" || true)
	total=$(tshark -r "$T/$name.pcap" 2>/dev/null | wc -l)
	decoded=$(tshark -r "$T/$name.pcap" -d "udp.port==$port,cflow" -Y cflow 2>/dev/null | wc -l)
	echo "tshark: $decoded of $total datagrams decoded, $bad malformed/expert lines"
	[ "$bad" = 0 ] && [ "$total" -gt 0 ] && [ "$decoded" = "$total" ] || return 1
	# the sent datagrams all arrived
	local sent
	sent=$(sed -n 's/^ *[0-9]* flows exported in \([0-9]*\) udp datagrams.*/\1/p' "$T/$name.stdout" | head -n 1)
	[ "$sent" = "$total" ] || { echo "ipflowd sent ${sent:-?} datagrams, $total captured"; return 1; }
	tshark -r "$T/$name.pcap" -d "udp.port==$port,cflow" -T fields -E occurrence=a -E aggregator=, \
		-e cflow.samplingmode -e cflow.samplerate -e cflow.sampler_id -e cflow.sampler_mode \
		-e cflow.sampler_random_interval -e cflow.selector_id -e cflow.selector_algorithm \
		-e cflow.sampling_packet_interval -e cflow.sampling_packet_space -e cflow.sampling_size \
		-e cflow.sampling_population -e cflow.srcaddr -e cflow.srcaddrv6 >"$T/$name.fields" 2>/dev/null || return 1
	"$PYTHON" - "$T/truth.pk.csv" "$T/$name.stdout" "$T/$name.csv" "$T/$name.fields" "$name" "$mode" "$af" $N <<-'PYEOF'
	import csv, math, re, sys
	truth, stdout, got, fields, name, mode, af, n = sys.argv[1:9]
	n = int(n)
	# one row per packet: the Bernoulli(1/n) variance of an estimated
	# total is (n - 1) sum(x^2), x = 1 for packets, ip_len for bytes
	pk = [(r["af"], int(r["ip_len"])) for r in csv.DictReader(open(truth))]
	tot_p = len(pk)
	sel = [b for a, b in pk if af == "all" or a == af]
	sel_p, sel_b = len(sel), sum(sel)
	s2 = sum(b * b for b in sel)
	errs = []
	st = open(stdout).read()
	m = re.search(r"Main-cache sampling: (\d+) packets offered, (\d+) sampled, (\d+) not sampled", st)
	if not m:
	    sys.exit("no sampling line in ipflowd --stats")
	off, smp, nots = map(int, m.groups())
	print("ipflowd: offered %d sampled %d not sampled %d (truth %d packets)" % (off, smp, nots, tot_p))
	if off != tot_p:
	    errs.append("offered %d != truth packets %d" % (off, tot_p))
	if nots != off - smp:
	    errs.append("not sampled %d != offered - sampled %d" % (nots, off - smp))
	want = [tot_p // n] if mode == "deterministic" else [tot_p // n, -(-tot_p // n)]
	if smp not in want:
	    errs.append("sampled %d not in %s" % (smp, want))
	if "Sampled NetFlow: %s 1 out of %d packets" % (mode, n) not in st:
	    errs.append("show ip cache flow has no 'Sampled NetFlow: %s 1 out of %d' line" % (mode, n))
	m = re.search(r"Records exported \d+ .*, packets (\d+), bytes", st)
	if not m or int(m.group(1)) != smp:
	    errs.append("the cache metered %s packets, not the %d sampled" % (m and m.group(1), smp))
	recs = list(csv.DictReader(open(got)))
	gp = sum(int(r["packetDeltaCount"]) for r in recs)
	gb = sum(int(r["octetDeltaCount"]) for r in recs)
	rates = set(r["samplingInterval"] for r in recs)
	if rates != {str(n)}:
	    errs.append("collector rates %s, want {%d}" % (rates, n))
	if any(int(r["packetDeltaCount"]) % n for r in recs):
	    errs.append("a record's packets are not a multiple of the rate")
	sig_p = math.sqrt((n - 1) * sel_p)  # sum(1^2) = sel_p
	sig_b = math.sqrt((n - 1) * s2)
	print("collector: %d records, %d packets (truth %d, 4 sigma %.0f), %d bytes (truth %d, 4 sigma %.0f)"
	      % (len(recs), gp, sel_p, 4 * sig_p, gb, sel_b, 4 * sig_b))
	if abs(gp - sel_p) > 4 * sig_p:
	    errs.append("packets %d outside %d +- %.0f" % (gp, sel_p, 4 * sig_p))
	if abs(gb - sel_b) > 4 * sig_b:
	    errs.append("bytes %d outside %d +- %.0f" % (gb, sel_b, 4 * sig_b))
	if af == "all" and gp != smp * n:
	    errs.append("collector packets %d != %d sampled x %d" % (gp, smp, n))
	# the rate as tshark reads it, frame by frame
	cols = ["smode", "srate", "sid", "samp_mode", "rint", "selid", "alg", "pint", "pspace", "size", "pop",
	        "src4", "src6"]
	vals = {c: [] for c in cols}
	for line in open(fields):
	    for c, v in zip(cols, line.rstrip("\n").split("\t")):
	        vals[c] += [x for x in v.split(",") if x]
	nflows = len(vals["src4"]) + len(vals["src6"])
	if nflows != len(recs):
	    errs.append("tshark sees %d flow records, the collector %d" % (nflows, len(recs)))
	def one(c, want):
	    got = set(vals[c])
	    if got != {str(want)}:
	        errs.append("tshark %s: %s, want %s" % (c, sorted(got), want))
	if name.startswith("v5"):
	    one("srate", n)
	    one("smode", 2 if mode == "random" else 1)
	elif name.startswith("v9"):
	    one("rint", n)
	    one("samp_mode", 2 if mode == "random" else 0)
	    # FLOW_SAMPLER_ID: once per options record, once per flow record
	    if len(vals["sid"]) < nflows + 1 or set(vals["sid"]) != {"1"}:
	        errs.append("v9: %d FLOW_SAMPLER_ID values %s for %d flows" % (len(vals["sid"]), set(vals["sid"]), nflows))
	else:
	    one("alg", 3 if mode == "random" else 1)
	    if mode == "random":
	        one("size", 1)
	        one("pop", n)
	    else:
	        one("pint", 1)
	        one("pspace", n - 1)
	    if len(vals["selid"]) < nflows + 1 or set(vals["selid"]) != {"1"}:
	        errs.append("IPFIX: %d selectorId values %s for %d flows" % (len(vals["selid"]), set(vals["selid"]), nflows))
	print("tshark: %d flow records; rate fields: %s" % (nflows, {c: sorted(set(vals[c])) for c in cols[:11] if vals[c]}))
	if errs:
	    sys.exit("; ".join(errs))
	PYEOF
}

# start_u2p NAME: udp2pcap.py into $T/NAME.pcap; its port in $T/NAME.port.
start_u2p() {
	"$PYTHON" "$SRC_DIR/tests/e2e/udp2pcap.py" "$T/$1.pcap" "$T/$1.port" "$T/$1.stop" &
	eval "U2P_$1=$!"
	on_exit "kill $!"
	local i
	for i in $(seq 1 100); do [ -f "$T/$1.port" ] && return 0; sleep 0.05; done
	echo "udp2pcap did not start"
	return 1
}
stop_u2p() { touch "$T/$1.stop"; eval "wait \$U2P_$1"; }

# A paced replay whose file changes the rate from 1:100 to 1:10 mid-run
# (ipflow reload): show ip cache flow --json reports each rate while it
# runs; the v9 export carries 100 and then 10 in its options, every
# record scaled by the rate its packets were sampled at (the flows in the
# cache at the change leave under the old rate); the counters stay exact.
reload_conf() { # RATE PORT
	cat >"$T/rl.conf" <<-EOC
	flow-sampler-map S1
	 mode random one-out-of $1
	interface replay0
	 ipflow pcap $T/rl.pcap
	 ip flow ingress
	 flow-sampler S1
	ip flow-export version 9
	ip flow-export destination 127.0.0.1 $2
	ip flow-export template options sampler
	ip flow-cache timeout active 1
	ipflow replay-speed 20
	ipflow control-socket $T/rl.sock
	EOC
}
t_reload() {
	gen -o "$T/rl.pcap" --start-time 1700000000 -n 60000 -c 300 -s 7 --truth-packets "$T/rl.pk.csv" || return 1
	start_u2p rlx || return 1
	local port i
	port=$(cat "$T/rlx.port")
	reload_conf 100 "$port"
	"$IPFLOWD" -f "$T/rl.conf" --stats >"$T/rl.stdout" 2>"$T/rl.err" &
	local pid=$!
	on_exit "kill $pid"
	for i in $(seq 50); do [ -S "$T/rl.sock" ] && break; sleep 0.1; done
	[ -S "$T/rl.sock" ] || { echo "no control socket"; cat "$T/rl.err"; return 1; }
	sleep 1.5
	"$BUILD_DIR/ipflow" -S "$T/rl.sock" show ip cache flow --json >"$T/rl.before.json" || return 1
	"$BUILD_DIR/ipflow" -S "$T/rl.sock" show ip cache flow >"$T/rl.before.txt" || return 1
	reload_conf 10 "$port"
	"$BUILD_DIR/ipflow" -S "$T/rl.sock" reload || { echo "reload refused"; return 1; }
	sleep 1
	"$BUILD_DIR/ipflow" -S "$T/rl.sock" show ip cache flow --json >"$T/rl.after.json" || return 1
	wait $pid || { echo "ipflowd exited $?"; tail "$T/rl.err"; return 1; }
	stop_u2p rlx
	grep "Sampled NetFlow" "$T/rl.before.txt" || { echo "show ip cache flow: no sampling line"; return 1; }
	"$COLLECT" -r "$T/rlx.pcap" "$port" --unsample -o "csv:$T/rl.csv" >/dev/null 2>"$T/rl.collerr" || return 1
	"$PYTHON" - "$T/rl.before.json" "$T/rl.after.json" "$T/rl.stdout" "$T/rl.csv" "$T/rl.pk.csv" <<-'PYEOF'
	import csv, json, math, re, sys
	b, a = (json.load(open(f))["sampling"] for f in sys.argv[1:3])
	print("before:", b, "\nafter: ", a)
	errs = []
	if (b["rate"], b["mode"], a["rate"], a["mode"]) != (100, "random", 10, "random"):
	    errs.append("rates before/after %s/%s, want 100/10" % (b["rate"], a["rate"]))
	for x in (a, b):
	    if x["notSampled"] != x["offered"] - x["sampled"]:
	        errs.append("notSampled != offered - sampled in %s" % x)
	if not (0 < b["offered"] < a["offered"]):
	    errs.append("the reload came too late or the counters went back")
	st = open(sys.argv[3]).read()
	m = re.search(r"Main-cache sampling: (\d+) packets offered, (\d+) sampled, (\d+) not sampled", st)
	off, smp, nots = map(int, m.groups())
	pk = [int(r["ip_len"]) for r in csv.DictReader(open(sys.argv[5]))]
	if off != len(pk) or nots != off - smp:
	    errs.append("final counters %s for %d packets" % (m.groups(), len(pk)))
	recs = list(csv.DictReader(open(sys.argv[4])))
	rates = sorted(set(int(r["samplingInterval"]) for r in recs))
	if rates != [10, 100]:
	    errs.append("record rates %s, want [10, 100]" % rates)
	if any(int(r["packetDeltaCount"]) % int(r["samplingInterval"]) for r in recs):
	    errs.append("a record not scaled by its rate")
	# each record's packets / its rate are the sampled packets: all of them
	raw = sum(int(r["packetDeltaCount"]) // int(r["samplingInterval"]) for r in recs)
	if raw != smp:
	    errs.append("records hold %d sampled packets, ipflowd sampled %d" % (raw, smp))
	gp = sum(int(r["packetDeltaCount"]) for r in recs)
	gb = sum(int(r["octetDeltaCount"]) for r in recs)
	sp, sb = 4 * math.sqrt(99 * len(pk)), 4 * math.sqrt(99 * sum(x * x for x in pk))
	print("unsampled: %d packets (truth %d +- %.0f), %d bytes (truth %d +- %.0f)" % (gp, len(pk), sp, gb, sum(pk), sb))
	if abs(gp - len(pk)) > sp or abs(gb - sum(pk)) > sb:
	    errs.append("unsampled totals outside 4 sigma")
	if errs:
	    sys.exit("; ".join(errs))
	PYEOF
}

# A Flexible NetFlow monitor with its own deterministic 1:50 sampler
# beside the main cache's random 1:10: the monitor meters exactly every
# 50th IPv4 packet, the main cache 1 in 10 of all.
t_fnf() {
	start_u2p fnf || return 1
	start_u2p fmain || return 1
	cat >"$T/fnf.conf" <<-EOC
	sampler SF
	 mode deterministic 1 out-of 50
	flow-sampler-map SM
	 mode random one-out-of 10
	flow record RP
	 match ipv4 protocol
	 collect flow sampler
	 collect counter bytes long
	 collect counter packets long
	flow exporter XF
	 destination 127.0.0.1
	 transport udp $(cat "$T/fnf.port")
	 export-protocol ipfix
	 option sampler-table
	flow monitor MP
	 record RP
	 exporter XF
	interface replay0
	 ipflow pcap $T/in.pcap
	 ip flow ingress
	 flow-sampler SM
	 ip flow monitor MP sampler SF input
	ip flow-export version 10
	ip flow-export destination 127.0.0.1 $(cat "$T/fmain.port")
	ipflow control-socket none
	EOC
	timeout -k 5 120 "$IPFLOWD" -f "$T/fnf.conf" --stats >"$T/fnf.stdout" 2>"$T/fnf.err" ||
		{ echo "ipflowd exited $?"; tail "$T/fnf.err"; return 1; }
	stop_u2p fnf
	stop_u2p fmain
	"$COLLECT" -r "$T/fnf.pcap" "$(cat "$T/fnf.port")" -o "csv:$T/fnf.csv" >/dev/null 2>&1 || return 1
	"$COLLECT" -r "$T/fnf.pcap" "$(cat "$T/fnf.port")" --unsample -o "csv:$T/fnfu.csv" >/dev/null 2>&1 || return 1
	# the monitor's exporter sends its sampler table (option sampler-table):
	# tshark sees the options record with the rate
	tshark -r "$T/fnf.pcap" -d "udp.port==$(cat "$T/fnf.port"),cflow" -V 2>/dev/null |
		grep -qiE 'SamplingPacketInterval|samplingPacketSpace|Sampling Packet Space' ||
		{ echo "no sampler options record from the monitor's exporter"; return 1; }
	"$COLLECT" -r "$T/fmain.pcap" "$(cat "$T/fmain.port")" --unsample -o "csv:$T/fmain.csv" >/dev/null 2>&1 || return 1
	"$PYTHON" - "$T/truth.pk.csv" "$T/fnf.csv" "$T/fmain.csv" "$T/fnf.stdout" "$T/fnfu.csv" <<-'PYEOF'
	import csv, re, sys
	pk = list(csv.DictReader(open(sys.argv[1])))
	n4 = sum(1 for r in pk if r["af"] == "4")
	mon = list(csv.DictReader(open(sys.argv[2])))
	mp = sum(int(r["packetDeltaCount"]) for r in mon)
	main = list(csv.DictReader(open(sys.argv[3])))
	monu = list(csv.DictReader(open(sys.argv[5])))
	st = open(sys.argv[4]).read()
	m = re.search(r"Main-cache sampling: (\d+) packets offered, (\d+) sampled", st)
	smp = int(m.group(2))
	print("monitor: %d packets of %d IPv4 (want %d); main cache: %d sampled of %d" % (mp, n4, n4 // 50, smp, len(pk)))
	errs = []
	if mp != n4 // 50:
	    errs.append("the monitor metered %d packets, want %d" % (mp, n4 // 50))
	if smp not in (len(pk) // 10, -(-len(pk) // 10)):
	    errs.append("main cache sampled %d" % smp)
	if sum(int(r["packetDeltaCount"]) for r in main) != 10 * smp or {r["samplingInterval"] for r in main} != {"10"}:
	    errs.append("main-cache records not at rate 10")
	mu = sum(int(r["packetDeltaCount"]) for r in monu)
	if mu != 50 * mp or {r["samplingInterval"] for r in monu} != {"50"}:
	    errs.append("monitor records unsampled to %d packets (want %d), intervals %s" %
	                (mu, 50 * mp, sorted({r["samplingInterval"] for r in monu})))
	if errs:
	    sys.exit("; ".join(errs))
	PYEOF
}

# A sampled Flexible NetFlow monitor with the traditional record, exported
# as v5: the v5 header carries the monitor's sampling rate (mode and
# interval), so the collector scales the flows back up.
t_fnf_v5() {
	start_u2p fnf5 || return 1
	cat >"$T/fnf5.conf" <<-EOC
	sampler SF
	 mode deterministic 1 out-of 40
	flow exporter X5
	 destination 127.0.0.1
	 transport udp $(cat "$T/fnf5.port")
	 export-protocol netflow-v5
	flow monitor M5
	 record netflow ipv4 original-input
	 exporter X5
	interface replay0
	 ipflow pcap $T/in.pcap
	 ip flow monitor M5 sampler SF input
	ipflow control-socket none
	EOC
	timeout -k 5 120 "$IPFLOWD" -f "$T/fnf5.conf" --stats >"$T/fnf5.stdout" 2>"$T/fnf5.err" ||
		{ echo "ipflowd exited $?"; tail "$T/fnf5.err"; return 1; }
	stop_u2p fnf5
	tshark -r "$T/fnf5.pcap" -d "udp.port==$(cat "$T/fnf5.port"),cflow" -V 2>/dev/null |
		grep -qE 'SampleRate: 40$|SamplingInterval: 40$' ||
		{ echo "the v5 header does not say 1 out of 40:"; tshark -r "$T/fnf5.pcap" \
			-d "udp.port==$(cat "$T/fnf5.port"),cflow" -V 2>/dev/null | grep -i sampl | head -3; return 1; }
	"$COLLECT" -r "$T/fnf5.pcap" "$(cat "$T/fnf5.port")" -o "csv:$T/fnf5.csv" >/dev/null 2>&1 || return 1
	"$COLLECT" -r "$T/fnf5.pcap" "$(cat "$T/fnf5.port")" --unsample -o "csv:$T/fnf5u.csv" >/dev/null 2>&1 || return 1
	"$PYTHON" - "$T/truth.pk.csv" "$T/fnf5.csv" "$T/fnf5u.csv" <<-'PYEOF'
	import csv, sys
	pk = list(csv.DictReader(open(sys.argv[1])))
	n4 = sum(1 for r in pk if r["af"] == "4")
	raw = list(csv.DictReader(open(sys.argv[2])))
	un = list(csv.DictReader(open(sys.argv[3])))
	p = sum(int(r["packetDeltaCount"]) for r in raw)
	u = sum(int(r["packetDeltaCount"]) for r in un)
	print("v5 monitor: %d packets of %d IPv4 (want %d), unsampled %d" % (p, n4, n4 // 40, u))
	if p != n4 // 40 or u != 40 * p or {r["samplingInterval"] for r in un} != {"40"}:
	    sys.exit("v5 monitor records: %d packets, unsampled %d, intervals %s" % (p, u, sorted({r["samplingInterval"] for r in un})))
	PYEOF
}

# A Flexible NetFlow monitor's sampler changed by a reload (1:10 -> 1:100)
# while its cache holds flows sampled at 1:10 (long timeouts, few keys):
# the reload must export those flows first, under the old sampler table,
# so the collector's unsampled totals equal the truth (deterministic
# sampling: exact to a few packets); counted at the new rate they would
# come out several times too high.
fnf_reload_conf() { # RATE PORT
	cat >"$T/frl.conf" <<-EOC
	sampler SF
	 mode deterministic 1 out-of $1
	flow record RP
	 match ipv4 protocol
	 collect flow sampler
	 collect counter bytes long
	 collect counter packets long
	flow exporter XF
	 destination 127.0.0.1
	 transport udp $2
	 export-protocol ipfix
	 option sampler-table
	flow monitor MP
	 record RP
	 exporter XF
	 cache timeout active 600
	 cache timeout inactive 600
	interface replay0
	 ipflow pcap $T/frl.pcap
	 ip flow monitor MP sampler SF input
	ipflow replay-speed 20
	ipflow control-socket $T/frl.sock
	EOC
}
t_fnf_reload() {
	gen -o "$T/frl.pcap" --start-time 1700000000 -n 60000 -c 300 -s 9 --truth-packets "$T/frl.pk.csv" || return 1
	start_u2p frlx || return 1
	local port i
	port=$(cat "$T/frlx.port")
	fnf_reload_conf 10 "$port"
	"$IPFLOWD" -f "$T/frl.conf" --stats >"$T/frl.stdout" 2>"$T/frl.err" &
	local pid=$!
	on_exit "kill $pid"
	for i in $(seq 50); do [ -S "$T/frl.sock" ] && break; sleep 0.1; done
	[ -S "$T/frl.sock" ] || { echo "no control socket"; cat "$T/frl.err"; return 1; }
	sleep 1.5
	fnf_reload_conf 100 "$port"
	"$BUILD_DIR/ipflow" -S "$T/frl.sock" reload || { echo "reload refused"; return 1; }
	wait $pid || { echo "ipflowd exited $?"; tail "$T/frl.err"; return 1; }
	stop_u2p frlx
	"$COLLECT" -r "$T/frlx.pcap" "$port" --unsample -o "csv:$T/frl.csv" >/dev/null 2>"$T/frl.collerr" || return 1
	"$PYTHON" - "$T/frl.csv" "$T/frl.pk.csv" <<-'PYEOF'
	import csv, sys
	recs = list(csv.DictReader(open(sys.argv[1])))
	n4 = sum(1 for r in csv.DictReader(open(sys.argv[2])) if r["af"] == "4")
	rates = sorted(set(int(r["samplingInterval"]) for r in recs))
	got = sum(int(r["packetDeltaCount"]) for r in recs)
	print("records %d at rates %s: %d packets unsampled, truth %d IPv4 packets" % (len(recs), rates, got, n4))
	errs = []
	if rates != [10, 100]:
	    errs.append("record rates %s, want [10, 100]" % rates)
	# deterministic: each segment is exact to one sampling window per key
	if abs(got - n4) > 0.01 * n4 + 1000:
	    errs.append("unsampled total %d, truth %d" % (got, n4))
	if errs:
	    sys.exit("; ".join(errs))
	PYEOF
}

# Two interfaces, one sampled 1:100 and one not: each record names the
# sampler of its interface (or none), so the collector scales only the
# sampled interface's flows: the unsampled one's packets and bytes are
# exactly its truth, the sampled one's exactly 100 x what was sampled.
t_two_interfaces() {
	local v=$1 port
	gen -o "$T/b.pcap" --start-time 1700000000 -n 20000 -c 200 -s 22 --truth "$T/b.flows.csv" || return 1
	start_u2p two$v || return 1
	port=$(cat "$T/two$v.port")
	cat >"$T/two$v.conf" <<-EOC
	flow-sampler-map S1
	 mode random one-out-of $N
	interface a
	 ipflow pcap $T/in.pcap ifindex 1
	 ip flow ingress
	 flow-sampler S1
	interface b
	 ipflow pcap $T/b.pcap ifindex 2
	 ip flow ingress
	ip flow-export version $v
	ip flow-export destination 127.0.0.1 $port
	ipflow control-socket none
	EOC
	timeout -k 5 120 "$IPFLOWD" -f "$T/two$v.conf" --stats >"$T/two$v.stdout" 2>"$T/two$v.err" ||
		{ echo "ipflowd exited $?"; tail "$T/two$v.err"; return 1; }
	stop_u2p two$v
	"$COLLECT" -r "$T/two$v.pcap" "$port" --unsample -o "csv:$T/two$v.csv" >/dev/null 2>&1 || return 1
	"$PYTHON" - "$T/two$v.csv" "$T/b.flows.csv" "$T/two$v.stdout" $N <<-'PYEOF'
	import csv, re, sys
	recs = list(csv.DictReader(open(sys.argv[1])))
	tb = list(csv.DictReader(open(sys.argv[2])))
	st = open(sys.argv[3]).read()
	n = int(sys.argv[4])
	smp = int(re.search(r"Main-cache sampling: \d+ packets offered, (\d+) sampled", st).group(1))
	errs = []
	by = {}
	for r in recs:
	    k = r["ingressInterface"]
	    p, b, rate = by.get(k, (0, 0, set()))
	    by[k] = (p + int(r["packetDeltaCount"]), b + int(r["octetDeltaCount"]), rate | {r["samplingInterval"]})
	print({k: (p, b, sorted(r)) for k, (p, b, r) in by.items()})
	wp, wb = sum(int(r["packets"]) for r in tb), sum(int(r["bytes"]) for r in tb)
	if by.get("2", (0, 0, 0)) != (wp, wb, {"1"}):
	    errs.append("interface 2 (unsampled): %s, want (%d, %d, {'1'})" % (by.get("2"), wp, wb))
	if by.get("1", (0, 0, 0))[0] != n * smp or by["1"][2] != {str(n)}:
	    errs.append("interface 1 (1:%d): %s, want %d packets" % (n, by.get("1"), n * smp))
	if errs:
	    sys.exit("; ".join(errs))
	PYEOF
}

t_v9_random() { export_run v9r 9 random && judge v9r random all; }
t_v9_deterministic() { export_run v9d 9 deterministic && judge v9d deterministic all; }
t_ipfix_random() { export_run ipfixr 10 random && judge ipfixr random all; }
t_ipfix_deterministic() { export_run ipfixd 10 deterministic && judge ipfixd deterministic all; }
t_v5_random() { export_run v5r 5 random && judge v5r random 4; }
t_v5_deterministic() { export_run v5d 5 deterministic && judge v5d deterministic 4; }

check v9_random t_v9_random
check v9_deterministic t_v9_deterministic
check ipfix_random t_ipfix_random
check ipfix_deterministic t_ipfix_deterministic
check v5_random t_v5_random
check v5_deterministic t_v5_deterministic
check reload t_reload
check two_interfaces_v9 t_two_interfaces 9
check two_interfaces_ipfix t_two_interfaces 10
check fnf_monitor t_fnf
check fnf_monitor_v5 t_fnf_v5
check fnf_reload t_fnf_reload
finish
