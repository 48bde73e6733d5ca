#!/bin/bash
# test_report.sh BUILD_DIR SOURCE_DIR — the file store and `ipflow report`
# end to end, judged by independent computations and peers:
#
#   synth       fixture records of 5 exporters (one sampled) through the dir
#               sink; every report key x order, 13 filters, windows, the three
#               formats and --unsample recomputed in Python from the records
#               (report_check.py); the store read back by store_read.py, an
#               independent reader written from doc/store-format.md
#   ipfix       ipflowd's IPFIX export of a generated pcap, decoded and stored;
#               reports recomputed from ipflowd's own flow log
#   nfdump      the same NetFlow v5 export to nfcapd and to the store: for every
#               key both tools have, nfdump's full statistics (-n 0) equal ours
#   kill9       a writer killed with -9: only .tmp files, invisible to reports;
#               the next writer publishes them and nothing written is lost
#   damage      flipped bytes, a truncated file, a bad header, a foreign file:
#               counted, named on stderr, the rest reported; the totals equal
#               what store_read.py finds intact
#   enospc      a full file system (tmpfs in a private mount namespace):
#               errors and drops counted, taken = written + dropped, every
#               written record readable
#   usage       bad arguments: exit 2 with a message; a missing directory or
#               more distinct keys than --max-keys: 1
. "$(dirname "$0")/lib.sh" "$@"
need_bins
IPFLOW=$BUILD_DIR/ipflow
FEED=$BUILD_DIR/store_feed
CHECK=$SRC_DIR/tests/e2e/report_check.py
SREAD=$SRC_DIR/tests/e2e/store_read.py
for b in "$IPFLOW" "$FEED"; do [ -x "$b" ] || fail "$b is not built"; done
START=1700000000

# feed SPEC ARGS...: store_feed synth, its summary line into $T/feed.out.
feed() { "$FEED" synth "$@" >"$T/feed.out" 2>"$T/feed.err" || { cat "$T/feed.err"; return 1; }; cat "$T/feed.out"; }
# field NAME: a key=value from the last feed summary.
field() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" "$T/feed.out"; }
json() { "$PYTHON" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

t_synth() {
	feed "dir:$T/s,interval=300,block=16" --records 6000 --rate 6 --exporters 5 --start $START \
		--csv "$T/s.csv" || return 1
	[ "$(field written)" = 6000 ] || { echo "written $(field written) of 6000"; return 1; }
	# Layout: 5 exporters x 4 intervals of 300 s (1000 s of records from
	# 22:13:20: the intervals of 22:10, 22:15, 22:20 and 22:25).
	local n
	n=$(find "$T/s" -name 'flows-*.ipfs' | wc -l)
	[ "$n" = 20 ] || { echo "$n files, expected 20"; find "$T/s" | head; return 1; }
	[ -f "$T/s/2023/11/14/flows-192.0.2.1-202311142210.ipfs" ] || { echo "file name/layout wrong:"; find "$T/s" | head; return 1; }
	[ -f "$T/s/2023/11/14/flows-2001_db8__2-202311142225.ipfs" ] || { echo "IPv6 file name wrong"; return 1; }
	"$PYTHON" "$CHECK" --ipflow "$IPFLOW" --dir "$T/s" --csv "$T/s.csv" || return 1
	# The independent reader finds exactly the records that were fed.
	"$PYTHON" "$SREAD" "$T/s" --csv "$T/s.read.csv" >"$T/s.read.json" || return 1
	cmp <(sort "$T/s.csv") <(sort "$T/s.read.csv") || { echo "store_read.py disagrees with the records fed"; return 1; }
	cat "$T/s.read.json"
	# The default codec is LZ4 (codec byte 2); codec=zstd writes zstd
	# (1): the same records, read back by both readers.
	feed "dir:$T/z,interval=300,block=16,codec=zstd" --records 6000 --rate 6 --exporters 5 --start $START \
		--csv "$T/z.csv" || return 1
	"$PYTHON" - "$T/s" 2 "$T/z" 1 <<-'PYEOF' || return 1
	import glob, sys
	for d, want in ((sys.argv[1], int(sys.argv[2])), (sys.argv[3], int(sys.argv[4]))):
	    got = {open(f, "rb").read(11)[10] for f in glob.glob(d + "/*/*/*/flows-*.ipfs")}
	    if got != {want}:
	        sys.exit("%s: codec bytes %s, want %d" % (d, sorted(got), want))
	PYEOF
	"$PYTHON" "$CHECK" --ipflow "$IPFLOW" --dir "$T/z" --csv "$T/z.csv" --suite basic || return 1
	"$PYTHON" "$SREAD" "$T/z" --csv "$T/z.read.csv" >/dev/null || return 1
	cmp <(sort "$T/z.csv") <(sort "$T/z.read.csv") || { echo "store_read.py disagrees on the zstd store"; return 1; }
	# A directory that holds both (a restart with another codec): every
	# file read by its own codec, the totals those of both.
	mkdir -p "$T/mix" && cp -a "$T/s/." "$T/mix/" && cp -a "$T/z/2023" "$T/mix/z2023" || return 1
	mv "$T/mix/z2023/11/14" "$T/mix/2023/11/14z" && rmdir -p "$T/mix/z2023/11" 2>/dev/null
	local f
	for f in "$T/mix/2023/11/14z"/*.ipfs; do mv "$f" "$T/mix/2023/11/14/$(basename "$f" .ipfs).1.ipfs" || return 1; done
	rmdir "$T/mix/2023/11/14z" || return 1
	local both
	both=$("$IPFLOW" report -w "$T/mix" --format json | json 'd["totals"]["flows"]') || return 1
	[ "$both" = 12000 ] || { echo "report over lz4 and zstd files: $both flows, want 12000"; return 1; }
}

t_ipfix() {
	gen -o "$T/mix.pcap" -n 100000 -c 500 -s 3 --start-time $START || return 1
	ipflowd_file "$T/ipfix.jsonl" "$T/mix.pcap" -v 10 -e "file:$T/x.ipfix" || return 1
	"$FEED" decode "dir:$T/x" --exporter 198.51.100.7 "$T/x.ipfix" >"$T/feed.out" 2>"$T/feed.err" ||
		{ cat "$T/feed.err"; return 1; }
	local want
	want=$(wc -l <"$T/ipfix.jsonl")
	[ "$(field written)" = "$want" ] || { echo "stored $(field written) of $want records"; return 1; }
	"$PYTHON" "$CHECK" --ipflow "$IPFLOW" --dir "$T/x" --jsonl "$T/ipfix.jsonl" --exporter 198.51.100.7 \
		--suite basic --filter "--proto tcp" --filter "--addr 10.0.0.0/8" --filter "--exporter 198.51.100.7"
}

t_nfdump() {
	command -v nfcapd >/dev/null && command -v nfdump >/dev/null || { echo "nfcapd/nfdump not installed (scripts/deps.sh test)"; return 1; }
	gen -o "$T/v4.pcap" -n 100000 -c 500 -s 4 --start-time $START --v4-only || return 1
	local port
	port=$(free_port udp)
	mkdir -p "$T/nf"
	nfcapd -b 127.0.0.1 -p "$port" -w "$T/nf" -t 3600 -P "$T/nfcapd.pid" >"$T/nfcapd.log" 2>&1 &
	local pid=$!
	on_exit "kill $pid"
	local i
	for i in $(seq 50); do [ -s "$T/nfcapd.pid" ] && break; sleep 0.1; done
	sleep 0.3
	ipflowd_file "$T/v5.jsonl" "$T/v4.pcap" -v 5 -e "udp:127.0.0.1:$port" -e "file:$T/v5.bin" || return 1
	sleep 0.5
	kill "$pid"
	wait "$pid" 2>/dev/null
	"$FEED" decode "dir:$T/n" --exporter 127.0.0.1 "$T/v5.bin" >"$T/feed.out" 2>"$T/feed.err" || { cat "$T/feed.err"; return 1; }
	"$PYTHON" - "$IPFLOW" "$T/n" "$T/nf" "$(wc -l <"$T/v5.jsonl")" <<-'PYEOF'
	import csv, subprocess, sys
	ipflow, store, nfdir, want = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
	# nfdump statistic = our key, and a filter where the semantics differ:
	# nfdump gives ICMP type/code as a port, we give portless protocols 0.
	pairs = [("srcip", "srcaddr", None), ("dstip", "dstaddr", None), ("ip", "addr", None),
	         ("proto", "proto", None), ("srcport", "srcport", "tcp"), ("dstport", "dstport", "udp"),
	         ("srcas", "srcas", None), ("dstas", "dstas", None), ("inif", "inif", None), ("outif", "outif", None)]
	fails = 0
	def nf(stat, proto):
	    cmd = ["nfdump", "-R", nfdir, "-q", "-N", "-o", "csv", "-n", "0", "-s", stat + "/bytes"]
	    if proto:
	        cmd.insert(3, "proto " + proto)
	    rows = {}
	    lines = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()
	    for r in csv.reader(lines):
	        if len(r) >= 11 and r[0] != "ts" and r[4] != "val":
	            rows[r[4].strip()] = (int(r[5]), int(r[7]), int(r[9]))
	    return rows
	def ours(key, proto):
	    cmd = [ipflow, "report", "-w", store, "--by", key, "--top", "0", "--format", "csv"]
	    if proto:
	        cmd += ["--proto", proto]
	    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()
	    rows = {r[1]: (int(r[2]), int(r[3]), int(r[4])) for r in csv.reader(out[1:]) if r[0] != "total"}
	    tot = [r for r in csv.reader(out) if r[0] == "total"][0]
	    return rows, (int(tot[2]), int(tot[3]), int(tot[4]))
	rows, tot = ours("proto", None)
	if tot[0] != want:
	    print("store holds %d flows, ipflowd exported %d" % (tot[0], want)); sys.exit(1)
	summ = subprocess.run(["nfdump", "-R", nfdir, "-q", "-N", "-o", "csv", "-s", "proto/bytes"], capture_output=True, text=True).stdout
	for stat, key, proto in pairs:
	    a, b = nf(stat, proto), ours(key, proto)[0]
	    if sum(v[0] for v in a.values()) == 0:
	        print("nfdump has no flows for %s" % stat); fails += 1; continue
	    if a != b:
	        fails += 1
	        diff = sorted(set(a.items()) ^ set(b.items()))[:6]
	        print("%s/%s differ (%d nfdump rows, %d ours): %r" % (stat, key, len(a), len(b), diff))
	    else:
	        print("%-8s %5d values equal (nfdump -s %s%s)" % (key, len(a), stat, " proto " + proto if proto else ""))
	sys.exit(1 if fails else 0)
	PYEOF
}

t_kill9() {
	local d=$T/k
	"$FEED" synth "dir:$d,interval=86400,flush=1,block=4" --records 3000 --rate 100 --start $START \
		--csv "$T/k.csv" --hold >"$T/k.out" 2>"$T/k.err" &
	local pid=$! i
	on_exit "kill -9 $pid"
	for i in $(seq 200); do grep -q held "$T/k.out" && break; sleep 0.1; done
	grep -q "held records=3000" "$T/k.out" || { echo "writer did not get to hold"; cat "$T/k.err"; return 1; }
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	local tmp vis
	tmp=$(find "$d" -maxdepth 1 -name '.tmp-*' | wc -l)
	vis=$(find "$d" -name 'flows-*.ipfs' | wc -l)
	[ "$tmp" = 5 ] && [ "$vis" = 0 ] || { echo "after kill -9: $tmp .tmp files, $vis visible (want 5, 0)"; return 1; }
	local flows
	flows=$("$IPFLOW" report -w "$d" --format json | json 'd["totals"]["flows"]') || return 1
	[ "$flows" = 0 ] || { echo "a report saw $flows flows of unfinished files"; return 1; }
	# The next writer publishes them.
	"$FEED" synth "dir:$d" --records 0 >"$T/k2.out" 2>"$T/k2.err" || { cat "$T/k2.err"; return 1; }
	grep -c "recovered .*left by an earlier run: .* records" "$T/k2.err" | grep -qx 5 ||
		{ echo "recovery not logged for 5 files:"; cat "$T/k2.err"; return 1; }
	grep -q "5 files recovered (3000 records)" "$T/k2.err" || { cat "$T/k2.err"; return 1; }
	[ "$(find "$d" -maxdepth 1 -name '.tmp-*' | wc -l)" = 0 ] || { echo ".tmp files left after recovery"; return 1; }
	"$PYTHON" "$CHECK" --ipflow "$IPFLOW" --dir "$d" --csv "$T/k.csv" --suite basic
}

t_damage() {
	[ -d "$T/s" ] || { echo "no store from t_synth"; return 1; }
	local d=$T/dmg
	cp -a "$T/s" "$d"
	local files
	mapfile -t files < <(find "$d" -name 'flows-*.ipfs' | sort)
	"$PYTHON" - "${files[0]}" "${files[1]}" "${files[2]}" "${files[3]}" <<-'PYEOF'
	import os, sys
	a, b, c, e = sys.argv[1:5]
	def patch(p, off, x):
	    with open(p, "r+b") as f:
	        f.seek(off); v = f.read(1); f.seek(off); f.write(bytes([v[0] ^ x]))
	sz = os.path.getsize(a)
	patch(a, sz // 2, 0x10)                   # a byte in the middle: one block lost
	patch(a, sz // 3, 0x01)
	os.truncate(b, os.path.getsize(b) * 2 // 3)  # cut inside a block
	patch(c, 20, 0xff)                        # the header: the file is unreadable
	with open(e, "r+b") as f:                 # an unknown version, with a good CRC
	    import struct, zlib
	    h = bytearray(f.read(80)); h[4:6] = struct.pack(">H", 9)
	    h[76:80] = struct.pack(">I", zlib.crc32(bytes(h[:76])) & 0xffffffff); f.seek(0); f.write(h)
	PYEOF
	echo "not a store file" >"$(dirname "${files[0]}")/flows-foreign-1.ipfs"
	"$IPFLOW" report -w "$d" --format json >"$T/dmg.json" 2>"$T/dmg.err" || { echo "report failed"; cat "$T/dmg.err"; return 1; }
	cat "$T/dmg.err"
	"$PYTHON" "$SREAD" "$d" --csv "$T/dmg.csv" >"$T/dmg.read.json" || return 1
	"$PYTHON" - "$T/dmg.json" "$T/dmg.read.json" <<-'PYEOF' || return 1
	import json, sys
	rep, ind = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
	st = rep["store"]
	print("report store counters:", st)
	print("store_read.py:", ind)
	ok = st["blocks_bad"] >= 1 and st["files_truncated"] >= 1 and st["files_bad"] == 2 and st["files_unsupported"] == 1
	for k in ("files", "files_bad", "files_unsupported", "files_truncated", "blocks_bad", "records"):
	    if st[k] != ind.get(k, 0):
	        print("%s: report %d, store_read.py %d" % (k, st[k], ind.get(k, 0))); ok = False
	t = rep["totals"]
	if (t["flows"], t["packets"], t["bytes"]) != (ind["flows"], ind["packets"], ind["bytes"]):
	    print("totals differ from what store_read.py finds intact"); ok = False
	if not 0 < t["flows"] < 6000:
	    print("implausible total %d" % t["flows"]); ok = False
	sys.exit(0 if ok else 1)
	PYEOF
	local f
	for f in "${files[0]}" "${files[1]}" "${files[2]}" "${files[3]}"; do
		grep -qF "$f" "$T/dmg.err" || { echo "stderr does not name $f"; return 1; }
	done
	grep -q "flows-foreign-1.ipfs: shorter than a store file header; file skipped" "$T/dmg.err" || return 1
	"$IPFLOW" report -w "$d" 2>/dev/null | grep -q "^Skipped: 2 unreadable files, 1 of an unknown version, 1 truncated, " ||
		{ echo "text output lacks the Skipped line"; return 1; }
	# Every report over what is left is still right.
	"$PYTHON" "$CHECK" --ipflow "$IPFLOW" --dir "$d" --csv "$T/dmg.csv" --suite basic --allow-stderr
}

t_enospc() {
	command -v unshare >/dev/null || { echo "unshare (util-linux) missing"; return 1; }
	mkdir -p "$T/full"
	# A private mount namespace: the tmpfs disappears with the process.
	unshare -m bash -c "mount -t tmpfs -o size=192k tmpfs '$T/full' &&
		'$FEED' synth 'dir:$T/full/d,interval=60,block=8,flush=0' --records 20000 --rate 100 --start $START \
			>'$T/full.out' 2>'$T/full.err'; rc=\$?;
		'$IPFLOW' report -w '$T/full/d' --format json >'$T/full.json' 2>'$T/full.rerr' || rc=9;
		find '$T/full/d' -name '.tmp-*' | wc -l >'$T/full.tmp'; exit \$rc" ||
		{ echo "run in the namespace failed"; cat "$T/full.err" "$T/full.rerr"; return 1; }
	cat "$T/full.out"
	grep -m2 "No space left on device" "$T/full.err" || { echo "no ENOSPC seen"; tail "$T/full.err"; return 1; }
	"$PYTHON" - "$T/full.out" "$T/full.json" "$T/full.tmp" <<-'PYEOF'
	import json, re, sys
	s = dict(re.findall(r"(\w+)=(\d+)", open(sys.argv[1]).read()))
	s = {k: int(v) for k, v in s.items()}
	rep = json.load(open(sys.argv[2]))
	ok = True
	if s["records"] != 20000 or s["records"] != s["written"] + s["dropped"]:
	    print("taken %d != written %d + dropped %d" % (s["records"], s["written"], s["dropped"])); ok = False
	if not (s["dropped"] > 0 and s["errors"] > 0 and s["written"] > 0):
	    print("expected drops, errors and some records written: %r" % s); ok = False
	if rep["totals"]["flows"] != s["written"]:
	    print("report reads %d flows, the sink wrote %d" % (rep["totals"]["flows"], s["written"])); ok = False
	bad = {k: v for k, v in rep["store"].items() if k in ("files_bad", "files_truncated", "blocks_bad", "files_mismatch") and v}
	if bad:
	    print("damage after a full disk: %r" % bad); ok = False
	if open(sys.argv[3]).read().strip() != "0":
	    print(".tmp files left behind"); ok = False
	print("records %(records)d = written %(written)d + dropped %(dropped)d; %(errors)d errors" % s)
	sys.exit(0 if ok else 1)
	PYEOF
}

t_usage() {
	local rc
	"$IPFLOW" report >/dev/null 2>"$T/u.err"; rc=$?
	[ $rc = 2 ] && grep -q -- "-w DIR is required" "$T/u.err" || { echo "no -w: exit $rc"; return 1; }
	local a
	for a in "--by nosuch" "--order bits" "--format xml" "--from yesterday" "--from 2024-02-30" "--src 10.0.0.0/33" \
		"--port 70000" "--proto nosuch" "--top -1" "--exporter 10.0.0.0/8" "--from 2000 --to 1000" "extra"; do
		# shellcheck disable=SC2086
		"$IPFLOW" report -w "$T" $a >/dev/null 2>"$T/u.err"; rc=$?
		[ $rc = 2 ] && [ -s "$T/u.err" ] || { echo "'$a': exit $rc, stderr '$(cat "$T/u.err")'"; return 1; }
	done
	"$IPFLOW" report -w "$T/nonexistent" >/dev/null 2>"$T/u.err"; rc=$?
	[ $rc = 1 ] && grep -q "nonexistent: No such file" "$T/u.err" || { echo "missing dir: exit $rc"; return 1; }
	if [ -d "$T/s" ]; then
		"$IPFLOW" report -w "$T/s" --max-keys 3 >/dev/null 2>"$T/u.err"; rc=$?
		[ $rc = 1 ] && grep -q "more than 3 distinct srcaddr values (raise --max-keys)" "$T/u.err" ||
			{ echo "--max-keys 3: exit $rc, '$(cat "$T/u.err")'"; return 1; }
	fi
	"$IPFLOW" report --help | grep -q -- "--unsample" || return 1
	"$IPFLOW" --help 2>&1 | grep -q "ipflow report" || { echo "ipflow --help does not mention report"; return 1; }
}

check synth t_synth
check ipfix t_ipfix
check nfdump t_nfdump
check kill9 t_kill9
check damage t_damage
check enospc t_enospc
check usage t_usage
finish
