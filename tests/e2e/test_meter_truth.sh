#!/bin/bash
# test_meter_truth.sh BUILD_DIR SOURCE_DIR — ipflowd's flow log against
# ipflow-gen's exact ground truth.
#
# Every run meters a generated pcap with `ipflowd -r` (packet time, so
# deterministic) and has flowcheck.py re-simulate the IOS expiry rules over
# the packet truth: per flow key the exact sequence of records (packets,
# bytes, start, end, flowEndReason, tcpControlBits), the totals, and the
# per-key sums against the flow truth. Runs: the default mix with ipflowd's
# default timeouts, CSV and stdout logs, determinism, short timeouts that
# split flows often, the permanent and immediate caches, an IPv6-only
# capture cut out of a mix by tshark, a --snaplen 96 capture, a large cache
# (--entries sized so emergency expiry never happens), and --stats.
#
# Environment: KEEP=1 keeps the work directory; VERBOSE=1 shows every
# flowcheck summary; IPFLOWD / IPFLOW_GEN override the binaries.
. "$(dirname "$0")/lib.sh" "$@"
need_bins

START=1700000000   # --start-time: fixed, so the inputs are the same every run

# mk NAME GEN-ARGS...: generate $T/NAME.pcap with both truth files.
mk() {
	local name=$1
	shift
	[ -s "$T/$name.pcap" ] && return 0
	gen -o "$T/$name.pcap" --start-time $START --truth "$T/$name.flows.csv" \
		--truth-packets "$T/$name.pk.csv" "$@" || return 1
	[ -s "$T/$name.pk.csv" ] || { echo "ipflow-gen wrote no packet truth"; return 1; }
}

# judge NAME LOG FLOWCHECK-ARGS...: flowcheck LOG against NAME's truth.
judge() {
	local name=$1 log=$2
	shift 2
	flowcheck --truth-packets "$T/$name.pk.csv" --truth "$T/$name.flows.csv" --log "$log" "$@"
}

# ------------------------------------------------------------------ runs

# The default mix (IPv4 and IPv6, TCP/UDP/ICMP, fragments, ...) with
# ipflowd's default timeouts: inactive 15 s, active 30 min.
t_default() {
	mk mix -n 200000 -c 1000 -s 1 || return 1
	ipflowd_file "$T/mix.jsonl" "$T/mix.pcap" || return 1
	judge mix "$T/mix.jsonl" --active 1800 --inactive 15
}

# The same run written as CSV (-o csv:PATH).
t_csv_log() {
	mk mix -n 200000 -c 1000 -s 1 || return 1
	ipflowd_file "csv:$T/mix.csv" "$T/mix.pcap" || return 1
	judge mix "csv:$T/mix.csv" --active 1800 --inactive 15
}

# File input runs on packet time: a second run gives the same records
# (compared as sorted lines, so the order of same-instant exports may vary).
t_deterministic() {
	[ -s "$T/mix.jsonl" ] || { echo "no log from t_default"; return 1; }
	ipflowd_file "$T/mix2.jsonl" "$T/mix.pcap" || return 1
	if ! cmp -s <(sort "$T/mix.jsonl") <(sort "$T/mix2.jsonl"); then
		echo "two runs over the same file gave different logs:"
		diff <(sort "$T/mix.jsonl") <(sort "$T/mix2.jsonl") | head -n 10
		return 1
	fi
	echo "$(wc -l <"$T/mix.jsonl") records, identical"
}

# Short timeouts, with the generator told about them so that gaps around
# the inactive timeout and flows longer than the active timeout are common.
t_short_timeouts() {
	mk short -n 200000 -c 500 -s 2 --active 60 --inactive 5 || return 1
	ipflowd_file "$T/short.jsonl" "$T/short.pcap" --active 60 --inactive 5 --cache-type normal || return 1
	judge short "$T/short.jsonl" --active 60 --inactive 5 --cache-type normal
}

t_permanent() {
	mk short -n 200000 -c 500 -s 2 --active 60 --inactive 5 || return 1
	ipflowd_file "$T/perm.jsonl" "$T/short.pcap" --active 60 --inactive 5 --cache-type permanent || return 1
	judge short "$T/perm.jsonl" --active 60 --inactive 5 --cache-type permanent
}

t_immediate() {
	mk imm -n 30000 -c 200 -s 3 || return 1
	ipflowd_file "$T/imm.jsonl" "$T/imm.pcap" --cache-type immediate || return 1
	judge imm "$T/imm.jsonl" --cache-type immediate
}

# The log on stdout (-o -).
t_stdout_log() {
	mk imm -n 30000 -c 200 -s 3 || return 1
	timeout -k 5 120 "$IPFLOWD" -r "$T/imm.pcap" -o - --active 60 --inactive 5 \
		>"$T/stdout.jsonl" 2>"$T/stdout.err" || { echo "ipflowd -o - failed:"; tail "$T/stdout.err"; return 1; }
	judge imm "$T/stdout.jsonl" --active 60 --inactive 5
}

# IPv6 only: tshark picks the frames whose outermost IP header is IPv6
# from a mix; the truth keeps the af=6 rows. tshark and the generator must
# agree on the count, then ipflowd is judged on that capture.
t_ipv6() {
	command -v tshark >/dev/null || { echo "tshark not installed (Debian package tshark)"; return 1; }
	mk six -n 150000 -c 600 -s 4 --active 60 --inactive 5 || return 1
	tshark -n -r "$T/six.pcap" -T fields -e frame.protocols >"$T/six.protos" 2>"$T/six.tshark.err" \
		|| { echo "tshark failed:"; tail "$T/six.tshark.err"; return 1; }
	"$PYTHON" - "$T" <<-'EOF' || return 1
	import csv, struct, sys
	T = sys.argv[1]
	# frame i is kept if the first of ip/ipv6 in its protocol stack is ipv6
	keep = set()
	for i, line in enumerate(open(T + "/six.protos")):
	    first = next((p for p in line.strip().split(":") if p in ("ip", "ipv6")), None)
	    if first == "ipv6":
	        keep.add(i)
	raw = open(T + "/six.pcap", "rb").read()
	magic = raw[:4]
	if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
	    e = "<"
	elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
	    e = ">"
	else:
	    sys.exit("six.pcap is not a classic pcap file (magic %s)" % magic.hex())
	out, off, i = [raw[:24]], 24, 0
	while off + 16 <= len(raw):
	    caplen = struct.unpack(e + "I", raw[off + 8:off + 12])[0]
	    if i in keep:
	        out.append(raw[off:off + 16 + caplen])
	    off += 16 + caplen
	    i += 1
	open(T + "/v6.pcap", "wb").write(b"".join(out))
	for src, dst in (("six.pk.csv", "v6.pk.csv"), ("six.flows.csv", "v6.flows.csv")):
	    rows = list(csv.reader(open(T + "/" + src, newline="")))
	    af = rows[0].index("af")
	    with open(T + "/" + dst, "w", newline="") as f:
	        w = csv.writer(f)
	        w.writerow(rows[0])
	        w.writerows(r for r in rows[1:] if r and r[af] == "6")
	n6 = sum(1 for _ in open(T + "/v6.pk.csv")) - 1
	print("frames %d, outer IPv6 by tshark %d, af=6 rows in the truth %d" % (i, len(keep), n6))
	if n6 == 0:
	    sys.exit("the mix has no IPv6 packets")
	if n6 != len(keep):
	    sys.exit("tshark and the truth disagree on the number of IPv6 packets")
	EOF
	ipflowd_file "$T/v6.jsonl" "$T/v6.pcap" --active 60 --inactive 5 || return 1
	judge v6 "$T/v6.jsonl" --active 60 --inactive 5
}

# A capture cut at 96 bytes: bytes still count the IP length, ports still
# come from the headers that fit.
t_snaplen() {
	mk snap -n 100000 -c 500 -s 5 --snaplen 96 || return 1
	ipflowd_file "$T/snap.jsonl" "$T/snap.pcap" || return 1
	judge snap "$T/snap.jsonl" --active 1800 --inactive 15
}

# Many concurrent flows, with --entries at least twice the number of keys
# (emergency expiry starts at 90 % full, so it can never trigger).
t_large_cache() {
	mk large -n 400000 -c 100000 -s 6 --active 60 --inactive 5 || return 1
	local keys entries=65536
	keys=$(($(wc -l <"$T/large.flows.csv") - 1))
	while [ $entries -lt $((2 * keys)) ]; do entries=$((entries * 2)); done
	echo "$keys keys, --entries $entries"
	ipflowd_file "$T/large.jsonl" "$T/large.pcap" --active 60 --inactive 5 --entries $entries || return 1
	judge large "$T/large.jsonl" --active 60 --inactive 5
}

# --stats: the `show ip cache flow` layout, with totals that match the log.
t_stats() {
	mk short -n 200000 -c 500 -s 2 --active 60 --inactive 5 || return 1
	ipflowd_file "$T/stats.jsonl" "$T/short.pcap" --active 60 --inactive 5 --stats || return 1
	cat "$T/stats.jsonl.stdout" "$T/stats.jsonl.err" >"$T/stats.txt"
	judge short "$T/stats.jsonl" --active 60 --inactive 5 -q || return 1
	"$PYTHON" - "$T/stats.txt" "$T/stats.jsonl" <<-'EOF'
	import json, re, sys
	text = open(sys.argv[1]).read()
	recs = pkts = 0
	for line in open(sys.argv[2]):
	    if line.strip():
	        recs += 1
	        pkts += json.loads(line)["packetDeltaCount"]
	bad = []
	for h in ("IP packet size distribution", "Protocol", "SrcIf"):
	    if not re.search(r"^\s*" + re.escape(h), text, re.M):
	        bad.append("no %r header" % h)
	m = re.search(r"IP packet size distribution \((\d+) total packets\)", text)
	if not m:
	    bad.append("no 'IP packet size distribution (N total packets)' line")
	elif int(m.group(1)) != pkts:
	    bad.append("size distribution counts %s packets, the log %d" % (m.group(1), pkts))
	# The first table is the cache as the input ended; the last one is
	# taken after the flows left in the cache were exported, so its total
	# is every record the log holds.
	tot = re.findall(r"^\s*Total:?\s+(\d+)", text, re.M)
	m = re.search(r"^After exporting the flows left in the cache:$", text, re.M)
	if len(tot) < 2 or not m:
	    bad.append("no 'Total:' row after the final flush")
	elif int(tot[-1]) != recs:
	    bad.append("Total: row counts %s flows, the log has %d records" % (tot[-1], recs))
	print("log: %d records, %d packets" % (recs, pkts))
	if bad:
	    print("--stats output:\n" + text[:3000])
	    sys.exit("; ".join(bad))
	print("stats layout and totals agree")
	EOF
}

note "$E2E_NAME: ipflowd=$IPFLOWD ipflow-gen=$IPFLOW_GEN work=$T"
check default t_default
check csv_log t_csv_log
check deterministic t_deterministic
check short_timeouts t_short_timeouts
check permanent t_permanent
check immediate t_immediate
check stdout_log t_stdout_log
check ipv6 t_ipv6
check snaplen t_snaplen
check large_cache t_large_cache
check stats t_stats
finish
