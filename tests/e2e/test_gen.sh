#!/usr/bin/env bash
# test_gen.sh BUILD_DIR SOURCE_DIR — end-to-end checks of ipflow-gen.
#
# The generator is judged without ipflow's decoder: by tshark (when
# installed) and by a small python3 script (standard library only) that
# reads the pcap and the two truth files. Checks:
#   1. determinism: same arguments => byte-identical pcap and truth files,
#      also through -o -; another seed gives other bytes;
#   2. tshark reads the files with no malformed packet, every encapsulation
#      and protocol of the mix occurs in its frames, and its own per-packet
#      view (addresses, ports, protocol, ToS, IP length, TCP
#      flags, time) equals the packet truth row for row;
#   3. the packet truth sums exactly to the flow truth (packets, bytes,
#      first/last per key; rows sorted; keys unique);
#   4. pcap records == -n, timestamps non-decreasing and equal to the
#      packet truth, sum of ip_len == truth bytes;
#   5. --snaplen 96 cuts incl_len to <= 96 and keeps orig_len;
#   6. the mix holds, relative to --active/--inactive: keys under 1 s, keys
#      with an idle gap over the inactive timeout, keys longer than the
#      active timeout, FIN and RST endings, fragments, IPv6, every protocol;
#   7. --v4-only, --flows-per-sec and -c 1000000 work.
set -euo pipefail

BUILD=${1:?usage: test_gen.sh BUILD_DIR SOURCE_DIR}
GEN=$BUILD/ipflow-gen
[ -x "$GEN" ] || { echo "FAIL: no $GEN" >&2; exit 1; }

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

cat >"$T/check.py" <<'PY'
import collections, csv, ipaddress, struct, sys

def die(msg):
    sys.exit("FAIL: " + msg)

def read_pcap(path, want_snap=None):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        die(f"{path}: no pcap header")
    magic, vmaj, vmin, zone, sigfigs, snap, link = struct.unpack("<IHHiIII", data[:24])
    if (magic, vmaj, vmin, link) != (0xA1B2C3D4, 2, 4, 1):
        die(f"{path}: header {magic:#x} {vmaj}.{vmin} link {link}")
    if want_snap is not None and snap != want_snap:
        die(f"{path}: snaplen {snap} != {want_snap}")
    recs, off = [], 24
    while off < len(data):
        if off + 16 > len(data):
            die(f"{path}: truncated record header")
        sec, usec, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        if usec >= 1000000 or incl > orig or incl > snap or off + 16 + incl > len(data):
            die(f"{path}: bad record at {off}")
        recs.append((sec * 1000000 + usec, incl, orig, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    return recs

def read_csv(path, header):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or ",".join(rows[0]) != header:
        die(f"{path}: header {rows[0] if rows else None}")
    return rows[1:]

FLOW_HDR = "af,src,dst,sport,dport,proto,tos,packets,bytes,first_us,last_us"
PKT_HDR = "ts_us,af,src,dst,sport,dport,proto,tos,ip_len,tcp_flags"

def cmd_truth(pcap, flows_csv, pkts_csv, n):
    """Checks 3 and 4."""
    n = int(n)
    recs = read_pcap(pcap, 65535)
    flows = read_csv(flows_csv, FLOW_HDR)
    pkts = read_csv(pkts_csv, PKT_HDR)
    if len(recs) != n or len(pkts) != n:
        die(f"{len(recs)} records, {len(pkts)} packet rows, -n {n}")
    agg = {}
    last = 0
    for i, (r, p) in enumerate(zip(recs, pkts)):
        ts = int(p[0])
        if ts != r[0]:
            die(f"packet {i}: pcap time {r[0]} != truth {ts}")
        if ts < last:
            die(f"packet {i}: time goes back")
        last = ts
        if r[1] != r[2]:
            die(f"packet {i}: cut without --snaplen")
        ip_len = int(p[8])
        if not 20 <= ip_len <= 1500 or r[2] < ip_len + 14:
            die(f"packet {i}: ip_len {ip_len}, frame {r[2]}")
        key = tuple(p[1:8])
        a = agg.get(key)
        if a is None:
            agg[key] = [1, ip_len, ts, ts]
        else:
            a[0] += 1
            a[1] += ip_len
            a[3] = ts
    if len(flows) != len(agg):
        die(f"{len(flows)} flow rows, {len(agg)} keys in the packet rows")
    seen = set()
    prev = None
    for row in flows:
        key = tuple(row[:7])
        if key in seen:
            die(f"key twice: {key}")
        seen.add(key)
        want = agg.get(key)
        got = [int(x) for x in row[7:]]
        if want != got:
            die(f"key {key}: flow truth {got} != packet sums {want}")
        order = (got[2], ",".join(row[:7]).encode())
        if prev is not None and order <= prev:
            die(f"flow rows out of order at {key}")
        prev = order
    total = sum(int(p[8]) for p in pkts)
    if total != sum(int(r[8]) for r in flows):
        die("byte sums differ")
    print(f"   {n} packets, {len(flows)} keys, {total} IP bytes: sums exact")

PROTO = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "igmp": 2, "gre": 47, "esp": 50}

def cmd_tshark(fields_txt, pkts_csv):
    """Check 2: tshark's view of every packet equals its truth row."""
    pkts = read_csv(pkts_csv, PKT_HDR)
    with open(fields_txt) as f:
        lines = f.read().splitlines()
    if len(lines) != len(pkts):
        die(f"tshark shows {len(lines)} packets, truth {len(pkts)}")
    for i, (line, p) in enumerate(zip(lines, pkts)):
        (t, protos, s4, d4, s6, d6, p4, nxt6, len4, plen6, ds4, tc6, tsp, tdp, usp, udp,
         it, ic, i6t, i6c, tfl, foff4, foff6) = line.split("|")
        layers = protos.split(":")
        outer = next(x for x in layers if x in ("ip", "ipv6"))
        v6 = outer == "ipv6"
        rest = layers[layers.index(outer) + 1:]
        rest = [x for x in rest if not x.startswith("ipv6.")]
        later = int(foff6 or 0) != 0 if v6 else int(foff4 or 0) != 0
        if rest and rest[0] in PROTO and not later:
            proto = PROTO[rest[0]]
        else:
            proto = int(nxt6 if v6 else p4)
        sport = dport = 0
        if proto in (6, 17) and not later:
            sport, dport = (int(tsp), int(tdp)) if proto == 6 else (int(usp), int(udp))
        elif proto == 1:
            dport = int(it) * 256 + int(ic)
        elif proto == 58:
            dport = int(i6t) * 256 + int(i6c)
        sec, frac = t.split(".")
        ts = int(sec) * 1000000 + int(frac[:6])
        got = [ts, 6 if v6 else 4, ipaddress.ip_address(s6 if v6 else s4),
               ipaddress.ip_address(d6 if v6 else d4), sport, dport, proto,
               int(tc6 if v6 else ds4, 16),
               int(plen6) + 40 if v6 else int(len4),
               int(tfl, 16) & 0xFF if proto == 6 else 0]
        want = [int(p[0]), int(p[1]), ipaddress.ip_address(p[2]), ipaddress.ip_address(p[3]),
                int(p[4]), int(p[5]), int(p[6]), int(p[7]), int(p[8]), int(p[9])]
        if got != want:
            die(f"frame {i + 1}: tshark {got} != truth {want}")
    print(f"   tshark agrees with the truth on all {len(pkts)} packets")

def cmd_layers(fields_txt):
    """Check 2: every encapsulation and protocol of the mix occurs."""
    c = collections.Counter()
    with open(fields_txt) as f:
        for line in f:
            c.update(set(line.split("|")[1].split(":")))
    need = ["vlan", "ieee8021ad", "mpls", "ipv6.hopopts", "ipv6.routing", "ipv6.dstopts",
            "ipv6.fraghdr", "tcp", "udp", "dns", "http", "tls", "icmp", "icmpv6", "igmp",
            "gre", "esp"]
    missing = [x for x in need if not c[x]]
    if missing:
        die(f"no frame has {missing}")
    print("   frames with " + ", ".join(f"{x} {c[x]}" for x in need))

def cmd_snap(full, cut, snap):
    """Check 5."""
    snap = int(snap)
    a, b = read_pcap(full, 65535), read_pcap(cut, snap)
    if len(a) != len(b):
        die("snaplen changed the packet count")
    for i, (x, y) in enumerate(zip(a, b)):
        if y[2] != x[2] or y[1] != min(x[2], snap) or y[3] != x[3][:snap] or y[0] != x[0]:
            die(f"record {i}: full {x[:3]} cut {y[:3]}")
    cut_n = sum(1 for y in b if y[1] < y[2])
    if not cut_n:
        die("no frame was cut")
    print(f"   {cut_n} of {len(b)} frames cut to <= {snap} bytes, orig_len kept")

def cmd_mix(flows_csv, pkts_csv, active, inactive):
    """Check 6."""
    act, ina = float(active) * 1e6, float(inactive) * 1e6
    flows = read_csv(flows_csv, FLOW_HDR)
    times = collections.defaultdict(list)
    flags = collections.defaultdict(int)
    for p in read_csv(pkts_csv, PKT_HDR):
        key = tuple(p[1:8])
        times[key].append(int(p[0]))
        flags[key] |= int(p[9])
    c = collections.Counter()
    for key, ts in times.items():
        dur = ts[-1] - ts[0]
        c["short"] += len(ts) > 1 and dur < 1e6
        c["gap"] += any(b - a > ina for a, b in zip(ts, ts[1:]))
        c["long"] += dur > act
        c["fin"] += bool(flags[key] & 1)
        c["rst"] += bool(flags[key] & 4)
        c["frag"] += key[5] == "17" and key[3] == "0"
        c["v6"] += key[0] == "6"
        c["tos"] += key[6] != "0"
        c["proto " + key[5]] += 1
    need = ["short", "gap", "long", "fin", "rst", "frag", "v6", "tos"] + [
        "proto " + x for x in ("1", "2", "6", "17", "47", "50", "58")]
    missing = [x for x in need if not c[x]]
    if missing:
        die(f"mix lacks {missing}: {dict(c)}")
    print("   " + ", ".join(f"{x} {c[x]}" for x in need))

def cmd_v4only(flows_csv):
    flows = read_csv(flows_csv, FLOW_HDR)
    if not flows or any(r[0] != "4" for r in flows):
        die("--v4-only wrote IPv6 keys (or nothing)")
    print(f"   {len(flows)} keys, all IPv4")

def cmd_count(pcap, n):
    got = len(read_pcap(pcap))
    if got != int(n):
        die(f"{pcap}: {got} records, wanted {n}")
    print(f"   {got} records")

globals()["cmd_" + sys.argv[1].replace("-", "_")](*sys.argv[2:])
PY
check() { python3 "$T/check.py" "$@" || exit 1; }

# Traffic shaped for short timeouts so that every timing class shows.
ARGS=(-q -n 20000 -c 60 -s 42 --active 20 --inactive 2)

step "1. determinism"
"$GEN" "${ARGS[@]}" -o "$T/a.pcap" --truth "$T/a.flows" --truth-packets "$T/a.pkts"
"$GEN" "${ARGS[@]}" -o "$T/b.pcap" --truth "$T/b.flows" --truth-packets "$T/b.pkts"
"$GEN" "${ARGS[@]}" -o - >"$T/c.pcap"
cmp "$T/a.pcap" "$T/b.pcap" || fail "two runs differ"
cmp "$T/a.flows" "$T/b.flows" || fail "two flow truths differ"
cmp "$T/a.pkts" "$T/b.pkts" || fail "two packet truths differ"
cmp "$T/a.pcap" "$T/c.pcap" || fail "-o - differs from a file"
"$GEN" "${ARGS[@]}" -s 43 -o "$T/d.pcap"
cmp -s "$T/a.pcap" "$T/d.pcap" && fail "seeds 42 and 43 gave the same bytes"
echo "   identical; another seed differs"

step "2. tshark"
# a.pcap has the timing mix; e.pcap many short-lived sessions, so that
# every header variant shows.
"$GEN" -q -n 20000 -c 3000 -s 7 -o "$T/e.pcap" --truth-packets "$T/e.pkts"
if command -v tshark >/dev/null 2>&1; then
	for f in a e; do
		tshark -r "$T/$f.pcap" -Y _ws.malformed >"$T/malformed" 2>/dev/null ||
			fail "tshark could not read $f.pcap"
		[ ! -s "$T/malformed" ] || { head "$T/malformed" >&2; fail "malformed packets in $f.pcap"; }
		tshark -r "$T/$f.pcap" -q -z io,phs >"$T/phs" 2>/dev/null || fail "tshark -z io,phs"
		grep -q "Protocol Hierarchy Statistics" "$T/phs" || fail "no protocol hierarchy"
		tshark -r "$T/$f.pcap" -o ip.defragment:FALSE -o ipv6.defragment:FALSE \
			-T fields -E separator='|' -E occurrence=f \
			-e frame.time_epoch -e frame.protocols -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst \
			-e ip.proto -e ipv6.fraghdr.nxt -e ip.len -e ipv6.plen -e ip.dsfield -e ipv6.tclass \
			-e tcp.srcport -e tcp.dstport -e udp.srcport -e udp.dstport -e icmp.type -e icmp.code \
			-e icmpv6.type -e icmpv6.code -e tcp.flags -e ip.frag_offset -e ipv6.fraghdr.offset \
			>"$T/$f.fields" 2>/dev/null || fail "tshark -T fields"
		check tshark "$T/$f.fields" "$T/$f.pkts"
	done
	echo "   no malformed packets"
	check layers "$T/e.fields"
else
	echo "   SKIP: tshark not installed"
fi

step "3-4. truth sums, record count, timestamps, bytes"
check truth "$T/a.pcap" "$T/a.flows" "$T/a.pkts" 20000

step "5. --snaplen 96"
"$GEN" "${ARGS[@]}" --snaplen 96 -o "$T/s.pcap" --truth "$T/s.flows"
check snap "$T/a.pcap" "$T/s.pcap" 96
cmp "$T/a.flows" "$T/s.flows" || fail "--snaplen changed the truth"

step "6. mix relative to --active 20 --inactive 2"
check mix "$T/a.flows" "$T/a.pkts" 20 2

step "7. --v4-only, --flows-per-sec, -c 1000000"
"$GEN" -q -n 3000 -c 100 --v4-only -o "$T/v4.pcap" --truth "$T/v4.flows" --truth-packets "$T/v4.pkts"
check v4only "$T/v4.flows"
check truth "$T/v4.pcap" "$T/v4.flows" "$T/v4.pkts" 3000
"$GEN" -q -n 3000 -c 20 --flows-per-sec 50 -o "$T/r.pcap" --truth "$T/r.flows" --truth-packets "$T/r.pkts"
check truth "$T/r.pcap" "$T/r.flows" "$T/r.pkts" 3000
"$GEN" -q -n 2000 -c 1000000 -o "$T/m.pcap"
check count "$T/m.pcap" 2000
"$GEN" -o "$T/x.pcap" -n 10 2>"$T/summary"
grep -q "10 packets" "$T/summary" || fail "no summary on stderr"
if "$GEN" -n 10 2>/dev/null || "$GEN" -o "$T/y.pcap" -n abc 2>/dev/null ||
	"$GEN" -o "$T/y.pcap" --inactive 0 2>/dev/null; then
	fail "bad arguments accepted"
fi

echo "PASS"
