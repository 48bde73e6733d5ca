#!/usr/bin/env python3
"""fnf_check.py — the independent judge of the Flexible NetFlow e2e tests.

  fnf_check.py fields CONF INPUT.pcap TRUTH_PACKETS.csv IFINDEX OUT.v9.pcap PORT9 OUT.ipfix.pcap PORTI [OUT.ipfix]

What every monitor of CONF must have exported is computed here from two
decoders that are not ipflowd's: the generator's per-packet truth (addresses,
ports, protocol, ToS, IP length, TCP flags, time) and tshark's decode of the
input pcap (MACs, VLAN tag and priority, TTL / hop limit, IPv6 flow label and
first next header, fragment flags and offset, IGMP type). Packets are grouped
by each record's match fields and its collect fields combined as the
configuration language says (counters summed, minimum / maximum, flags ORed,
first / last timestamps, other fields from the record's first packet); the
Catalyst TTL and packet-length maps apply when the record says `ipflow bucket`.
What was exported is read back from the collector captures by tshark (the
netflow-v9 and the IPFIX stream), and the IPFIX stream also by libfixbuf's
ipfixDump (OUT.ipfix, the same messages as an IPFIX File), field by field in
template order. Every
monitor's records must equal the expected ones exactly (records whose key
holds both transport ports may be split by TCP FIN/RST: for those the
per-key sums, minima, maxima and ORs must match). Also: every template's
field types are the IEs the record's fields map to, and no tshark
malformed-packet or expert error appears (checked by the shell test).

  fnf_check.py regroup CONF TRUTH_PACKETS.csv OUT.ipfix.pcap PORTI [MONITOR...]

Two (or more) monitors with different keys on one input: each one's records,
summed per key, equal the generator's truth regrouped by that key (IPv4
monitors see the IPv4 packets, IPv6 monitors the IPv6 ones).

  fnf_check.py log CONF MONITOR OUT.ipfix.pcap PORTI > LOG.jsonl

The records of one monitor, as tshark decodes them, as JSON lines with IANA
names: the flow log flowcheck.py judges (exact IOS expiry over the packet
truth).
"""
import csv
import datetime
import ipaddress
import json
import subprocess
import sys
from collections import defaultdict

ZERO4 = "0.0.0.0"
ZERO6 = "::"
ZMAC = "00:00:00:00:00:00"

# words -> (IPFIX IE, kind, value(packet, ctx), collect op)
# kind: 'a' address, 'm' MAC, 'n' number, 't' timestamp ms, 'u' sysUpTime ms
OR, FIRST, LAST, MIN, MAX, SUM = "or", "first", "last", "min", "max", "sum"


def v4(p, x, z=ZERO4):
    return x if p["af"] == 4 else z


def v6(p, x, z=ZERO6):
    return x if p["af"] == 6 else z


def mcast(p):
    if p["af"] == 4:
        return 0x80 if ipaddress.ip_address(p["dst"]).is_multicast else 0
    return 0x1F if ipaddress.ip_address(p["dst"]).is_multicast else 0


def ttl_bucket(t):
    for top in (10, 25, 50, 100, 150):
        if t <= top:
            return top
    return 255


def len_bucket(n):
    for top in (64, 128, 256, 512, 756, 1500, 4000):
        if n <= top:
            return top
    return 8192


def icmp(p, proto, af, part):
    if p["proto"] != proto or p["af"] != af:
        return 0
    return p["dport"] >> 8 if part == 0 else p["dport"] & 0xFF


MODEL = {
    "datalink dot1q priority": (244, "n", lambda p, c: p["pcp"], FIRST),
    "datalink dot1q vlan input": (243, "n", lambda p, c: p["vlan"], FIRST),
    "datalink dot1q vlan output": (59, "n", lambda p, c: 0, FIRST),
    "datalink mac source address input": (56, "m", lambda p, c: p["smac"], FIRST),
    "datalink mac source address output": (81, "m", lambda p, c: ZMAC, FIRST),
    "datalink mac destination address input": (80, "m", lambda p, c: p["dmac"], FIRST),
    "datalink mac destination address output": (57, "m", lambda p, c: ZMAC, FIRST),
    "ipv4 source address": (8, "a", lambda p, c: v4(p, p["src"]), FIRST),
    "ipv4 destination address": (12, "a", lambda p, c: v4(p, p["dst"]), FIRST),
    "ipv4 source mask": (9, "n", lambda p, c: 0, FIRST),
    "ipv4 destination mask": (13, "n", lambda p, c: 0, FIRST),
    "ipv4 source prefix": (44, "a", lambda p, c: ZERO4, FIRST),
    "ipv4 destination prefix": (45, "a", lambda p, c: ZERO4, FIRST),
    "ipv4 dscp": (195, "n", lambda p, c: p["tos"] >> 2, FIRST),
    "ipv4 precedence": (196, "n", lambda p, c: p["tos"] >> 5, FIRST),
    "ipv4 tos": (5, "n", lambda p, c: p["tos"], FIRST),
    "ipv4 protocol": (4, "n", lambda p, c: p["proto"], FIRST),
    "ipv4 fragmentation flags": (197, "n", lambda p, c: p["fragflags"], OR),
    "ipv4 fragmentation offset": (88, "n", lambda p, c: p["fragoff"], MAX),
    "ipv4 is-multicast": (206, "n", lambda p, c: mcast(p), OR),
    "ipv4 total-length": (190, "n", lambda p, c: len_bucket(p["len"]) if c["blen"] else p["len"], FIRST),
    "ipv4 total-length minimum": (25, "n", lambda p, c: p["len"], MIN),
    "ipv4 total-length maximum": (26, "n", lambda p, c: p["len"], MAX),
    "ipv4 ttl": (192, "n", lambda p, c: ttl_bucket(p["ttl"]) if c["bttl"] else p["ttl"], FIRST),
    "ipv4 ttl minimum": (52, "n", lambda p, c: p["ttl"], MIN),
    "ipv4 ttl maximum": (53, "n", lambda p, c: p["ttl"], MAX),
    "ipv4 version": (60, "n", lambda p, c: p["af"], FIRST),
    "ipv6 source address": (27, "a", lambda p, c: v6(p, p["src"]), FIRST),
    "ipv6 destination address": (28, "a", lambda p, c: v6(p, p["dst"]), FIRST),
    "ipv6 source mask": (29, "n", lambda p, c: 0, FIRST),
    "ipv6 destination mask": (30, "n", lambda p, c: 0, FIRST),
    "ipv6 dscp": (195, "n", lambda p, c: p["tos"] >> 2, FIRST),
    "ipv6 precedence": (196, "n", lambda p, c: p["tos"] >> 5, FIRST),
    "ipv6 traffic-class": (5, "n", lambda p, c: p["tos"], FIRST),
    "ipv6 flow-label": (31, "n", lambda p, c: v6(p, p["flow"], 0), FIRST),
    "ipv6 hop-limit": (192, "n", lambda p, c: ttl_bucket(p["ttl"]) if c["bttl"] else p["ttl"], FIRST),
    "ipv6 hop-limit minimum": (52, "n", lambda p, c: p["ttl"], MIN),
    "ipv6 hop-limit maximum": (53, "n", lambda p, c: p["ttl"], MAX),
    "ipv6 next-header": (193, "n", lambda p, c: v6(p, p["nh"], 0), FIRST),
    "ipv6 protocol": (4, "n", lambda p, c: p["proto"], FIRST),
    "ipv6 is-multicast": (206, "n", lambda p, c: mcast(p), OR),
    "ipv6 total-length": (224, "n", lambda p, c: len_bucket(p["len"]) if c["blen"] else p["len"], FIRST),
    "ipv6 total-length minimum": (25, "n", lambda p, c: p["len"], MIN),
    "ipv6 total-length maximum": (26, "n", lambda p, c: p["len"], MAX),
    "ipv6 payload-length": (191, "n", lambda p, c: p["len"] - 40 if p["af"] == 6 else 0, FIRST),
    "ipv6 version": (60, "n", lambda p, c: p["af"], FIRST),
    "routing forwarding-status": (89, "n", lambda p, c: 0, FIRST),  # input: unknown (RFC 7270)
    "routing next-hop address ipv4": (15, "a", lambda p, c: ZERO4, FIRST),
    "routing next-hop address ipv6": (62, "a", lambda p, c: ZERO6, FIRST),
    "routing next-hop address ipv4 bgp": (18, "a", lambda p, c: ZERO4, FIRST),
    "routing source as": (16, "n", lambda p, c: 0, FIRST),
    "routing destination as": (17, "n", lambda p, c: 0, FIRST),
    "transport source-port": (7, "n", lambda p, c: p["sport"], FIRST),
    "transport destination-port": (11, "n", lambda p, c: p["dport"], FIRST),
    "transport tcp source-port": (182, "n", lambda p, c: p["sport"] if p["proto"] == 6 else 0, FIRST),
    "transport tcp destination-port": (183, "n", lambda p, c: p["dport"] if p["proto"] == 6 else 0, FIRST),
    "transport tcp flags": (6, "n", lambda p, c: p["flags"] if p["proto"] == 6 else 0, OR),
    "transport udp source-port": (180, "n", lambda p, c: p["sport"] if p["proto"] == 17 else 0, FIRST),
    "transport udp destination-port": (181, "n", lambda p, c: p["dport"] if p["proto"] == 17 else 0, FIRST),
    "transport icmp ipv4 type": (176, "n", lambda p, c: icmp(p, 1, 4, 0), FIRST),
    "transport icmp ipv4 code": (177, "n", lambda p, c: icmp(p, 1, 4, 1), FIRST),
    "transport icmp ipv6 type": (178, "n", lambda p, c: icmp(p, 58, 6, 0), FIRST),
    "transport icmp ipv6 code": (179, "n", lambda p, c: icmp(p, 58, 6, 1), FIRST),
    "transport igmp type": (33, "n", lambda p, c: p["igmp"] if p["proto"] == 2 else 0, FIRST),
    "interface input": (10, "n", lambda p, c: c["ifindex"], FIRST),
    "interface output": (14, "n", lambda p, c: 0, FIRST),
    "flow direction": (61, "n", lambda p, c: 0, FIRST),
    "flow sampler": (48, "n", lambda p, c: 0, FIRST),
    "counter bytes": (1, "n", lambda p, c: p["len"], SUM),
    "counter bytes long": (1, "n", lambda p, c: p["len"], SUM),
    "counter packets": (2, "n", lambda p, c: 1, SUM),
    "counter packets long": (2, "n", lambda p, c: 1, SUM),
    "counter flows": (3, "n", lambda p, c: 1, "one"),
    "timestamp sys-uptime first": (22, "u", lambda p, c: (p["ts"] - c["t0"]) // 1000, FIRST),
    "timestamp sys-uptime last": (21, "u", lambda p, c: (p["ts"] - c["t0"]) // 1000, LAST),
    "timestamp absolute first": (152, "t", lambda p, c: p["ts"] // 1000, FIRST),
    "timestamp absolute last": (153, "t", lambda p, c: p["ts"] // 1000, LAST),
}


def parse_conf(path):
    """records {name: {match, collect, bucket}}, monitors {name: record},
    attachments [(monitor, af)]."""
    recs, mons, atts = {}, {}, []
    cur = None
    for raw in open(path):
        line = raw.rstrip("\n")
        w = line.split()
        if not w or w[0] == "!":
            continue
        if line.startswith("flow record "):
            cur = recs.setdefault(w[2], {"match": [], "collect": [], "bttl": False, "blen": False})
        elif line.startswith("flow monitor "):
            cur = None
            mon = w[2]
            mons[mon] = None
        elif line.startswith(" match ") and cur is not None:
            cur["match"].append(line[7:].strip())
        elif line.startswith(" collect ") and cur is not None:
            cur["collect"].append(line[9:].strip())
        elif line.startswith(" ipflow bucket ") and cur is not None:
            cur["bttl" if w[2] == "ttl" else "blen"] = True
        elif line.startswith(" record ") and mons and list(mons)[-1] is not None:
            mons[list(mons)[-1]] = line[8:].strip()
        elif w[:3] in (["ip", "flow", "monitor"], ["ipv6", "flow", "monitor"]):
            atts.append((w[3], 6 if w[0] == "ipv6" else 4))
        elif not line.startswith(" "):
            cur = None
    return recs, mons, atts


def tshark_json(pcap, port):
    out = subprocess.run(["tshark", "-n", "-r", pcap, "-d", "udp.port==%s,cflow" % port, "-T", "json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out, object_pairs_hook=lambda pairs: pairs)


def abs_ms(s):
    # "Nov 14, 2023 22:13:20.678000000 UTC"
    date, frac = s.replace(" UTC", "").rsplit(".", 1)
    t = datetime.datetime.strptime(date, "%b %d, %Y %H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return int(t.timestamp()) * 1000 + int(frac[:3])


def flatten(flow):
    """A tshark flow record as (name, value) pairs, one per template field."""
    out = []
    for k, v in flow:
        if k == "cflow.timedelta":
            continue
        if k == "cflow.timedelta_tree":
            out += list(v)
            continue
        if k.endswith("_tree"):
            continue
        if k == "Forwarding Status":
            st = int(v[0][1], 0)
            reason = int(v[1][1], 0) if len(v) > 1 else 0
            out.append(("cflow.forwarding_status", str(st << 6 | reason)))
            continue
        if isinstance(v, list):
            raise SystemExit("unexpected subtree %r in a flow record" % k)
        out.append((k, v))
    return out


def dump_ms(s):
    # ipfixDump: "2023-11-14 22:13:20.678"
    t = datetime.datetime.strptime(s, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc)
    return int(t.timestamp()) * 1000 + t.microsecond // 1000


def typed(kind, name, s):
    if name == "ipfixDump":
        if kind in "am":
            return typed(kind, "", s)
        return dump_ms(s) if kind == "t" else int(s, 0)
    if kind == "a":
        return str(ipaddress.ip_address(s))
    if kind == "m":
        return s.lower()
    if kind == "t":
        return abs_ms(s)
    if kind == "u":  # v9: seconds since sysUpTime 0; IPFIX (no systemInitTime sent): 1970 + the value
        return abs_ms(s) if s.endswith("UTC") else round(float(s) * 1000)
    return int(s, 0)


def exported(pcap, port):
    """{template: [field types]} and [(template, [(name, value text)])].
    A template id that a reconfiguration redefines with other fields is a
    new template here (id + 65536 * n), so each flow is read by the template
    in force when it came."""
    tmpls, flows = {}, []
    cur = {}

    def define(tid, ies):
        key = cur.get(tid, tid)
        if key in tmpls and tmpls[key] != ies:
            key = tid + 65536 * (1 + sum(1 for k in tmpls if k % 65536 == tid))
        tmpls[key] = ies
        cur[tid] = key

    def walk(obj):
        for k, v in obj:
            if not isinstance(v, list):
                continue
            if k.startswith("Template (Id = "):
                ies = []
                for fk, f in v:
                    if fk.startswith("Field ("):
                        f = dict(f)
                        ies.append(int(f.get("cflow.template_field_type", f.get("cflow.template_ipfix_field_type"))))
                define(int(dict(v)["cflow.template_id"]), ies)
            elif (k.startswith("FlowSet") or k.startswith("Set ")) and any(kk == "cflow.flowset_id" for kk, _ in v):
                fid = int(dict(v)["cflow.flowset_id"])
                for fk, f in v:
                    if fk.startswith("Flow ") and isinstance(f, list):
                        flows.append((cur.get(fid, fid), flatten(f)))
                walk(v)
            else:
                walk(v)

    for pkt in tshark_json(pcap, port):
        layers = dict(pkt)["_source"]
        for lk, lv in layers:
            if lk == "layers":
                for ck, cv in lv:
                    if ck == "cflow":
                        walk(cv)
    return tmpls, flows


def exported_dump(raw):
    """The same from ipfixDump's reading of an IPFIX File."""
    out = subprocess.run(["ipfixDump", "--in", raw], check=True, capture_output=True, text=True).stdout
    tmpls, flows = {}, []
    mode, cur = None, None
    for line in out.splitlines():
        w = line.split()
        if line.startswith("--- template record") or line.startswith("--- options template record"):
            mode, cur = "t", None
        elif line.startswith("--- data record"):
            mode, cur = "d", None
        elif line.startswith("---") or line.startswith("***"):
            mode, cur = None, None
        elif mode == "t" and w[:1] == ["tid:"]:
            cur = int(w[1])
            tmpls[cur] = []
        elif mode == "t" and w[:1] == ["ent:"] and cur is not None:
            tmpls[cur].append(int(w[3]))
        elif mode == "d" and w[:1] == ["count:"]:
            cur = []
            flows.append((int(w[3]), cur))
        elif mode == "d" and line.startswith("\t(") and cur is not None:
            cur.append(("ipfixDump", line.split(" : ", 1)[1].strip() if " : " in line else ""))
    return tmpls, flows


def packets(truth_csv, pcap):
    fields = ["eth.src", "eth.dst", "vlan.id", "vlan.priority", "ieee8021ad.id", "ieee8021ad.priority",
              "ip.ttl", "ipv6.hlim", "ip.flags.df", "ip.flags.mf", "ip.frag_offset", "ipv6.fraghdr.more",
              "ipv6.fraghdr.offset", "ipv6.flow", "ipv6.nxt", "igmp.type"]
    cmd = ["tshark", "-n", "-r", pcap, "-T", "fields", "-E", "occurrence=f", "-E", "separator=\t"]
    for f in fields:
        cmd += ["-e", f]
    rows = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()
    truth = list(csv.DictReader(open(truth_csv)))
    if len(rows) != len(truth):
        raise SystemExit("tshark sees %d frames, the truth %d" % (len(rows), len(truth)))
    out = []
    for t, row in zip(truth, rows):
        x = dict(zip(fields, row.split("\t")))
        num = lambda k, d=0: int(x[k], 0) if x.get(k) else d
        af = int(t["af"])
        p = {
            "ts": int(t["ts_us"]), "af": af, "src": str(ipaddress.ip_address(t["src"])),
            "dst": str(ipaddress.ip_address(t["dst"])), "sport": int(t["sport"]), "dport": int(t["dport"]),
            "proto": int(t["proto"]), "tos": int(t["tos"]), "len": int(t["ip_len"]), "flags": int(t["tcp_flags"]),
            "smac": x["eth.src"].lower(), "dmac": x["eth.dst"].lower(),
            "vlan": num("ieee8021ad.id") if x.get("ieee8021ad.id") else num("vlan.id"),
            "pcp": num("ieee8021ad.priority") if x.get("ieee8021ad.id") else num("vlan.priority"),
            "ttl": num("ip.ttl") if af == 4 else num("ipv6.hlim"),
            "flow": num("ipv6.flow"), "nh": num("ipv6.nxt"), "igmp": num("igmp.type"),
        }
        if af == 4:
            p["fragflags"] = (0x40 if num("ip.flags.df") else 0) | (0x20 if num("ip.flags.mf") else 0)
            p["fragoff"] = num("ip.frag_offset")
        else:
            p["fragflags"] = 0x20 if num("ipv6.fraghdr.more") else 0
            p["fragoff"] = num("ipv6.fraghdr.offset")
        out.append(p)
    return out


def combine(op, a, b):
    if op == OR:
        return a | b
    if op == LAST:
        return b
    if op == MIN:
        return min(a, b)
    if op == MAX:
        return max(a, b)
    if op == SUM:
        return a + b
    return a  # first; "one" (counter flows) stays 1


def expected(rec, pkts, ctx):
    groups = {}
    order = []
    for p in pkts:
        key = tuple(MODEL[w][2](p, ctx) for w in rec["match"])
        vals = [MODEL[w][2](p, ctx) for w in rec["collect"]]
        if key not in groups:
            groups[key] = vals
            order.append(key)
        else:
            g = groups[key]
            for i, w in enumerate(rec["collect"]):
                g[i] = combine(MODEL[w][3], g[i], vals[i])
    return {k: tuple(groups[k]) for k in order}


def aggregate(rec, records):
    """Per key: the collect fields of the records combined as one record."""
    out = {}
    nk = len(rec["match"])
    for r in records:
        key, vals = tuple(r[:nk]), list(r[nk:])
        if key in out:
            old = out[key]
            vals = [combine(MODEL[w][3], old[i], vals[i]) for i, w in enumerate(rec["collect"])]
        out[key] = vals
    return {k: tuple(v) for k, v in out.items()}


def both_ports(rec):
    k = set(rec["match"])
    return ({"transport source-port", "transport tcp source-port"} & k) and \
        ({"transport destination-port", "transport tcp destination-port"} & k)


def ipfix_ies(ies):
    """The IEs of a record's IPFIX template: `flow sampler` is selectorId
    (302) there, the scope of the sampler options (RFC 5476), and samplerId
    (48) in v9, as Cisco's FLOW_SAMPLER_ID options."""
    return [302 if i == 48 else i for i in ies]


def check_fields(conf, pcap, truth, ifindex, outs):
    recs, mons, atts = parse_conf(conf)
    pkts = packets(truth, pcap)
    base = {"ifindex": int(ifindex), "t0": pkts[0]["ts"]}
    bad = []
    # the input must give every field something other than zero to carry
    cover = {
        "802.1Q/QinQ": sum(p["vlan"] != 0 for p in pkts), "802.1p priority": sum(p["pcp"] != 0 for p in pkts),
        "IPv4 fragments": sum(p["af"] == 4 and (p["fragflags"] & 0x20 or p["fragoff"]) != 0 for p in pkts),
        "IPv6 fragments": sum(p["af"] == 6 and (p["fragflags"] & 0x20 or p["fragoff"]) != 0 for p in pkts),
        "IGMP": sum(p["proto"] == 2 for p in pkts), "ICMP": sum(p["proto"] == 1 for p in pkts),
        "ICMPv6": sum(p["proto"] == 58 for p in pkts), "multicast": sum(mcast(p) != 0 for p in pkts),
        "ToS/traffic class": sum(p["tos"] != 0 for p in pkts), "flow labels": sum(p["flow"] != 0 for p in pkts),
        "IPv6 extension headers": sum(p["af"] == 6 and p["nh"] != p["proto"] for p in pkts),
        "TCP": sum(p["proto"] == 6 for p in pkts), "UDP": sum(p["proto"] == 17 for p in pkts),
    }
    print("input: %d packets; %s" % (len(pkts), ", ".join("%s %d" % kv for kv in cover.items())))
    bad += ["the input has no %s: a field would go untested" % k for k, v in cover.items() if not v]
    for out_pcap, port, proto in outs:
        tmpls, flows = exported_dump(out_pcap) if port is None else exported(out_pcap, port)
        by_tmpl = defaultdict(list)
        for tid, vals in flows:
            by_tmpl[tid].append(vals)
        used = set()
        for mon, af in atts:
            rec = recs[mons[mon]]
            words = rec["match"] + rec["collect"]
            want_ies = [MODEL[w][0] for w in words]
            if proto != "v9":
                want_ies = ipfix_ies(want_ies)
            tid = [t for t, ies in tmpls.items() if ies == want_ies and t not in used]
            if not tid:
                bad.append("%s %s: no template with the IEs %r (templates %r)" % (proto, mon, want_ies, tmpls))
                continue
            tid = tid[0]
            used.add(tid)
            ctx = dict(base, bttl=rec["bttl"], blen=rec["blen"])
            if proto == "v9":
                # sysUpTime 0 is the exporter's start rounded down to the
                # v9 header's resolution, a whole second (exporter.c boot_of)
                ctx["t0"] -= ctx["t0"] % 1000000
            want = expected(rec, [p for p in pkts if p["af"] == af], ctx)
            got = []
            for vals in by_tmpl[tid]:
                if len(vals) != len(words):
                    bad.append("%s %s: a record of %d fields, the template has %d" % (proto, mon, len(vals), len(words)))
                    break
                got.append(tuple(typed(MODEL[w][1], n, s) for w, (n, s) in zip(words, vals)))
            split = both_ports(rec)
            if split:
                gotk = aggregate(rec, got)
            else:
                gotk = {}
                twice = []
                for r in got:
                    k = tuple(r[:len(rec["match"])])
                    if k in gotk:
                        twice.append(k)
                    gotk[k] = tuple(r[len(rec["match"]):])
                if twice:
                    bad.append("%s %s: %d keys exported more than once (e.g. %r)" % (proto, mon, len(twice), twice[0]))
                    continue
            missing = [k for k in want if k not in gotk]
            extra = [k for k in gotk if k not in want]
            wrong = [(k, dict(zip(rec["collect"], want[k])), dict(zip(rec["collect"], gotk[k])))
                     for k in want if k in gotk and want[k] != gotk[k]]
            if missing or extra or wrong:
                bad.append("%s %s: %d keys expected, %d exported; %d missing (e.g. %r), %d unexpected (e.g. %r), "
                           "%d with other values (e.g. %r)" % (proto, mon, len(want), len(gotk), len(missing),
                                                              missing[:1], len(extra), extra[:1], len(wrong), wrong[:1]))
            else:
                print("%-15s %-7s %5d records (%d keys%s), %2d fields each: equal to the independent computation"
                      % (proto, mon, len(got), len(want), ", split by FIN/RST summed" if split else "", len(words)))
    return bad


def check_regroup(conf, truth, pcap, port, only=None):
    recs, mons, atts = parse_conf(conf)
    if only:
        atts = [a for a in atts if a[0] in only]
    rows = list(csv.DictReader(open(truth)))
    tmpls, flows = exported(pcap, port)
    bad = []
    name_of = {"ipv4 source address": "src", "ipv4 destination address": "dst", "ipv6 source address": "src",
               "ipv6 destination address": "dst", "transport source-port": "sport",
               "transport destination-port": "dport", "ipv4 protocol": "proto", "ipv6 protocol": "proto",
               "ipv4 tos": "tos", "ipv6 traffic-class": "tos"}
    for mon, af in atts:
        rec = recs[mons[mon]]
        words = rec["match"] + rec["collect"]
        ies = ipfix_ies([MODEL[w][0] for w in words])
        tids = [t for t, v in tmpls.items() if v == ies]  # several after a reconfiguration
        if not tids:
            bad.append("%s: no template" % mon)
            continue
        ib, ip = rec["collect"].index("counter bytes long"), rec["collect"].index("counter packets long")
        want = defaultdict(lambda: [0, 0])
        for r in rows:
            if int(r["af"]) != af:
                continue
            k = []
            for w in rec["match"]:
                v = r[name_of[w]]
                k.append(str(ipaddress.ip_address(v)) if "address" in w else int(v))
            want[tuple(k)][0] += int(r["ip_len"])
            want[tuple(k)][1] += 1
        got = defaultdict(lambda: [0, 0])
        nk = len(rec["match"])
        for tid, vals in flows:
            if tid not in tids:
                continue
            t = [typed(MODEL[w][1], n, s) for w, (n, s) in zip(words, vals)]
            got[tuple(t[:nk])][0] += t[nk + ib]
            got[tuple(t[:nk])][1] += t[nk + ip]
        if dict(want) != dict(got):
            diff = [k for k in set(want) | set(got) if want.get(k) != got.get(k)]
            bad.append("%s: %d keys in the truth, %d exported, %d differ (e.g. %r: truth %r, exported %r)"
                       % (mon, len(want), len(got), len(diff), diff[0], want.get(diff[0]), got.get(diff[0])))
        else:
            print("%-8s keyed by %-60s %5d keys, %7d packets, %9d bytes: equal to the truth regrouped"
                  % (mon, ", ".join(rec["match"]), len(want), sum(v[1] for v in want.values()),
                     sum(v[0] for v in want.values())))
    return bad


IANA = {4: "protocolIdentifier", 5: "ipClassOfService", 6: "tcpControlBits", 7: "sourceTransportPort",
        8: "sourceIPv4Address", 10: "ingressInterface", 11: "destinationTransportPort",
        12: "destinationIPv4Address", 1: "octetDeltaCount", 2: "packetDeltaCount", 25: "minimumIpTotalLength",
        26: "maximumIpTotalLength", 152: "flowStartMilliseconds", 153: "flowEndMilliseconds",
        27: "sourceIPv6Address", 28: "destinationIPv6Address"}


def monitor_records(conf, mon, pcap, port):
    """The words of monitor mon's record and its records (typed values)."""
    recs, mons, atts = parse_conf(conf)
    rec = recs[mons[mon]]
    words = rec["match"] + rec["collect"]
    ies = ipfix_ies([MODEL[w][0] for w in words])
    tmpls, flows = exported(pcap, port)
    tids = sorted(t for t, v in tmpls.items() if v == ies)
    # monitors with the same fields: the exporter numbers their templates in configuration order
    same = [m for m in mons if m in [a[0] for a in atts] and mons[m] in recs and
            [MODEL[w][0] for w in recs[mons[m]]["match"] + recs[mons[m]]["collect"]] == ies]
    if len(tids) != len(same):
        raise SystemExit("%s: %d templates with its fields for %d monitors (%r)" % (mon, len(tids), len(same), tmpls))
    tid = tids[same.index(mon)]
    return words, [[typed(MODEL[w][1], n, s) for w, (n, s) in zip(words, vals)] for t, vals in flows if t == tid]


def log(conf, mon, pcap, port):
    words, recs = monitor_records(conf, mon, pcap, port)
    for r in recs:
        print(json.dumps({IANA[MODEL[w][0]]: v for w, v in zip(words, r) if MODEL[w][0] in IANA}))
    return []


def main():
    if sys.argv[1] == "fields":
        conf, pcap, truth, ifindex, v9, p9, ipfix, pi = sys.argv[2:10]
        outs = [(v9, p9, "v9"), (ipfix, pi, "IPFIX")]
        if len(sys.argv) > 10:
            outs.append((sys.argv[10], None, "IPFIX/ipfixDump"))
        bad = check_fields(conf, pcap, truth, ifindex, outs)
    elif sys.argv[1] == "packets":
        # packets OUT.pcap PORT CONF RECORD...: packets counted by the records' templates
        pcap, port, conf = sys.argv[2:5]
        recs = parse_conf(conf)[0]
        want = [[MODEL[w][0] for w in recs[r]["match"] + recs[r]["collect"]] for r in sys.argv[5:]]
        want += [ipfix_ies(w) for w in want]  # the capture may be v9 or IPFIX
        tmpls, flows = exported(pcap, port)
        total = 0
        for tid, vals in flows:
            if tmpls.get(tid) in want:
                ies = tmpls[tid]
                total += sum(int(vals[i][1], 0) for i, ie in enumerate(ies) if ie == 2)
        print(total)
        bad = []
    elif sys.argv[1] == "log":
        bad = log(*sys.argv[2:6])
    elif sys.argv[1] == "regroup":
        conf, truth, ipfix, pi = sys.argv[2:6]
        bad = check_regroup(conf, truth, ipfix, pi, sys.argv[6:])
    else:
        raise SystemExit(__doc__)
    if bad:
        print("\n".join(bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
