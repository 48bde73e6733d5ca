#!/usr/bin/env python3
"""agg_judge.py MAIN.jsonl COLLECTED.jsonl SCHEMES.json STATS.txt [TSHARK.tsv]

Judges ipflowd's aggregation caches against an independent computation:
MAIN.jsonl is ipflowd's main-cache flow log; this script aggregates it by
each scheme's key (IOS keys; prefixes masked by max(flow mask, the
configured minimum)) and sums flows, packets and bytes, earliest start and
latest end. COLLECTED.jsonl is what ipflow-collect stored from the
aggregation exports (v8 and v9); its records, summed per scheme and key
(an entry may leave several times: timeouts, full cache), must equal the
computation exactly. SCHEMES.json: {scheme: {"version": 8|9|[8, 9], "smin": N,
"dmin": N}} (a list: the cache exported both, e.g. across a reload). STATS.txt: ipflowd --stats (flows aggregated, IPv6 not
aggregated and records exported per scheme must agree). TSHARK.tsv, if
given: tshark's own decode of the v8 packets (one line per frame:
aggmethod then the per-record field lists); each v8 record tshark reads
must be one the collector stored (multiset equality per scheme)."""
import collections
import ipaddress
import json
import re
import sys

ORDER = ["as", "as-tos", "bgp-nexthop-tos", "destination-prefix", "destination-prefix-tos", "prefix",
         "prefix-port", "prefix-tos", "protocol-port", "protocol-port-tos", "source-prefix", "source-prefix-tos"]
NF8 = {"as": 1, "protocol-port": 2, "source-prefix": 3, "destination-prefix": 4, "prefix": 5, "as-tos": 9,
       "protocol-port-tos": 10, "source-prefix-tos": 11, "destination-prefix-tos": 12, "prefix-tos": 13,
       "prefix-port": 14}
KEYS = {
    "as": "srcas dstas in out",
    "as-tos": "srcas dstas in out tos",
    "bgp-nexthop-tos": "srcas dstas in out tos nh",
    "destination-prefix": "dpfx dstas out",
    "destination-prefix-tos": "dpfx dstas out tos",
    "prefix": "spfx dpfx srcas dstas in out",
    "prefix-tos": "spfx dpfx srcas dstas in out tos",
    "prefix-port": "spfx dpfx tos proto ports in out",
    "protocol-port": "proto ports",
    "protocol-port-tos": "proto tos ports in out",
    "source-prefix": "spfx srcas in",
    "source-prefix-tos": "spfx srcas in tos",
}


def masked(addr, bits):
    v = int(ipaddress.IPv4Address(addr))
    m = (0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF if bits else 0
    return str(ipaddress.IPv4Address(v & m))


def as16(asn, cfg):
    """v8's AS fields have 16 bits: a 4-byte AS goes as AS_TRANS (RFC 6793),
    so aggregates of different 4-byte ASes share one v8 key."""
    if cfg["version"] == 8 and asn > 0xFFFF:
        return 23456
    return asn


def key_main(s, r, cfg):
    k = []
    for c in KEYS[s].split():
        if c == "spfx":
            b = max(r.get("sourceIPv4PrefixLength", 0), cfg.get("smin", 0))
            k += [masked(r["sourceIPv4Address"], b), b]
        elif c == "dpfx":
            b = max(r.get("destinationIPv4PrefixLength", 0), cfg.get("dmin", 0))
            k += [masked(r["destinationIPv4Address"], b), b]
        elif c == "srcas":
            k.append(as16(r.get("bgpSourceAsNumber", 0), cfg))
        elif c == "dstas":
            k.append(as16(r.get("bgpDestinationAsNumber", 0), cfg))
        elif c == "in":
            k.append(r.get("ingressInterface", 0))
        elif c == "out":
            k.append(r.get("egressInterface", 0))
        elif c == "tos":
            k.append(r.get("ipClassOfService", 0))
        elif c == "proto":
            k.append(r["protocolIdentifier"])
        elif c == "ports":
            k += [r.get("sourceTransportPort", 0), r.get("destinationTransportPort", 0)]
        elif c == "nh":
            k.append(r.get("bgpNextHopIPv4Address", "0.0.0.0"))
    return tuple(k)


def key_coll(s, r):
    k = []
    for c in KEYS[s].split():
        if c == "spfx":
            k += [r["sourceIPv4Prefix"], r["sourceIPv4PrefixLength"]]
        elif c == "dpfx":
            k += [r["destinationIPv4Prefix"], r["destinationIPv4PrefixLength"]]
        elif c == "srcas":
            k.append(r["bgpSourceAsNumber"])
        elif c == "dstas":
            k.append(r["bgpDestinationAsNumber"])
        elif c == "in":
            k.append(r["ingressInterface"])
        elif c == "out":
            k.append(r["egressInterface"])
        elif c == "tos":
            k.append(r["ipClassOfService"])
        elif c == "proto":
            k.append(r["protocolIdentifier"])
        elif c == "ports":
            k += [r["sourceTransportPort"], r["destinationTransportPort"]]
        elif c == "nh":
            k.append(r["bgpNextHopIPv4Address"])
    return tuple(k)


def scheme_of(r):
    od = r["observationDomainId"]
    if r["netflowVersion"] == 8:
        inv = {v: k for k, v in NF8.items()}
        return inv.get(od >> 16)
    if r["netflowVersion"] == 9 and 0x100 <= od < 0x100 + len(ORDER):
        return ORDER[od - 0x100]
    return None


def add(d, k, flows, pk, by, first, last):
    a = d.get(k)
    if a is None:
        d[k] = [flows, pk, by, first, last]
    else:
        a[0] += flows
        a[1] += pk
        a[2] += by
        a[3] = min(a[3], first)
        a[4] = max(a[4], last)


def main():
    main_log, coll_log, schemes_f, stats_f = sys.argv[1:5]
    tsv = sys.argv[5] if len(sys.argv) > 5 else None
    schemes = json.load(open(schemes_f))
    stats = open(stats_f).read()
    flows = [json.loads(l) for l in open(main_log) if l.strip()]
    v4 = [r for r in flows if "sourceIPv4Address" in r]
    v6 = len(flows) - len(v4)
    want = {s: {} for s in schemes}
    for s, cfg in schemes.items():
        for r in v4:
            add(want[s], key_main(s, r, cfg), 1, r["packetDeltaCount"], r["octetDeltaCount"],
                r["flowStartMilliseconds"], r["flowEndMilliseconds"])
    got = {s: {} for s in schemes}
    nrec = collections.Counter()
    versions = collections.defaultdict(set)
    coll = [json.loads(l) for l in open(coll_log) if l.strip()]
    for r in coll:
        s = scheme_of(r)
        if s not in schemes:
            print("a collected record of no configured scheme:", r)
            return 1
        nrec[s] += 1
        versions[s].add(r["netflowVersion"])
        add(got[s], key_coll(s, r), r["deltaFlowCount"], r["packetDeltaCount"], r["octetDeltaCount"],
            r["flowStartMilliseconds"], r["flowEndMilliseconds"])
    bad = 0
    for s, cfg in schemes.items():
        wantv = set(cfg["version"]) if isinstance(cfg["version"], list) else {cfg["version"]}
        if versions[s] != wantv:
            print("%s: collected versions %s, want %s" % (s, sorted(versions[s]), sorted(wantv)))
            bad += 1
        w, g = want[s], got[s]
        diff = [k for k in set(w) | set(g) if w.get(k) != g.get(k)]
        m = re.search(r"^Aggregation cache %s: flows aggregated (\d+), not aggregated \(IPv6\) (\d+), "
                      r"entries added (\d+), records exported (\d+) .*cache full (\d+)" % re.escape(s), stats, re.M)
        if not m:
            print("%s: no --stats line" % s)
            bad += 1
            continue
        agg_in, agg_v6, added, exported, full = map(int, m.groups())
        if agg_in != len(v4) or agg_v6 != v6:
            print("%s: ipflowd aggregated %d (IPv6 %d); the flow log has %d IPv4, %d IPv6" % (s, agg_in, agg_v6, len(v4), v6))
            bad += 1
        if exported != nrec[s]:
            print("%s: ipflowd exported %d records, the collector stored %d" % (s, exported, nrec[s]))
            bad += 1
        if diff:
            print("%s: %d of %d keys differ, e.g.:" % (s, len(diff), len(w)))
            for k in sorted(diff, key=str)[:5]:
                print("   key %s: computed %s, collected %s" % (k, w.get(k), g.get(k)))
            bad += 1
        else:
            print("ok %-24s v%s: %d flows -> %d keys, %d records collected (cache full %d), all equal"
                  % (s, "/".join(map(str, sorted(wantv))), len(v4), len(w), nrec[s], full))
    if tsv:
        bad += judge_tshark(tsv, coll, schemes)
    return 1 if bad else 0


# tshark field order in TSHARK.tsv (after cflow.aggmethod and cflow.version)
TS = ["cflow.flows", "cflow.packets", "cflow.octets", "cflow.srcnet", "cflow.srcmask", "cflow.dstnet",
      "cflow.dstmask", "cflow.srcas", "cflow.dstas", "cflow.inputint", "cflow.outputint", "cflow.tos",
      "cflow.protocol", "cflow.srcport", "cflow.dstport"]
JS = ["deltaFlowCount", "packetDeltaCount", "octetDeltaCount", "sourceIPv4Prefix", "sourceIPv4PrefixLength",
      "destinationIPv4Prefix", "destinationIPv4PrefixLength", "bgpSourceAsNumber", "bgpDestinationAsNumber",
      "ingressInterface", "egressInterface", "ipClassOfService", "protocolIdentifier", "sourceTransportPort",
      "destinationTransportPort"]


def norm(v):
    v = v.strip()
    if v.startswith("0x"):
        return str(int(v, 16))
    return v


def as_tshark_reads(s, v):
    """What tshark 4.0's cflow dissector shows for a record we wrote with
    the values v. Our layouts are Cisco's (pmacct and flow-tools read them
    the same); tshark reads two places the other way round: in the
    two-prefix schemes it takes the source mask first (Cisco: destination
    mask first), and in AS-ToS it takes ToS, pad and reserved right after
    the ASes (Cisco: the interfaces first, then ToS). Every other field,
    and every record size and count, agrees."""
    v = dict(v)
    if s in ("prefix", "prefix-tos", "prefix-port"):
        v["cflow.srcmask"], v["cflow.dstmask"] = v["cflow.dstmask"], v["cflow.srcmask"]
    if s == "as-tos":
        inp, tos = v["cflow.inputint"], v["cflow.tos"]
        v["cflow.tos"] = (inp >> 8) & 0xFF      # offset 24: the input interface's high byte
        v["cflow.inputint"] = tos << 8          # offset 28: ToS, pad
        v["cflow.outputint"] = 0                # offset 30: reserved
    return v


def judge_tshark(tsv, coll, schemes):
    inv = {v: k for k, v in NF8.items()}
    ts = collections.defaultdict(collections.Counter)
    for line in open(tsv):
        cols = line.rstrip("\n").split("\t")
        if len(cols) < 2 or cols[1] != "8":
            continue
        s = inv.get(int(norm(cols[0])))
        lists = [c.split(",") if c else [] for c in cols[2:]]
        n = len(lists[0])
        present = [i for i, l in enumerate(lists) if l]
        for i in present:
            if len(lists[i]) != n:
                print("tshark: field %s has %d values for %d records" % (TS[i], len(lists[i]), n))
                return 1
        for j in range(n):
            ts[s][tuple((TS[i], norm(lists[i][j])) for i in present)] += 1
    cl = collections.defaultdict(collections.Counter)
    for r in coll:
        if r["netflowVersion"] != 8:
            continue
        s = inv[r["observationDomainId"] >> 16]
        names = [t for t, _ in next(iter(ts[s]))] if ts[s] else []
        v = as_tshark_reads(s, {t: r.get(JS[TS.index(t)], 0) for t in TS})
        cl[s][tuple((t, str(v[t])) for t in names)] += 1
    bad = 0
    for s in sorted(set(ts) | set(cl), key=str):
        if ts[s] != cl[s]:
            print("tshark %s: %d records decoded, the collector has %d; they differ, e.g. %s"
                  % (s, sum(ts[s].values()), sum(cl[s].values()), list((ts[s] - cl[s]).items())[:2] or
                     list((cl[s] - ts[s]).items())[:2]))
            bad += 1
        else:
            print("ok tshark %-18s %d v8 records, field by field as collected" % (s, sum(ts[s].values())))
    v8 = [s for s, c in schemes.items() if c["version"] == 8 or (isinstance(c["version"], list) and 8 in c["version"])]
    for s in v8:
        if not ts.get(s):
            print("tshark decoded no %s record" % s)
            bad += 1
    return bad


if __name__ == "__main__":
    sys.exit(main())
