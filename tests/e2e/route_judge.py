#!/usr/bin/env python3
"""route_judge.py — the independent side of test_route.sh.

  route_judge.py tables TRUTH.csv DIR
      Build route tables covering (most of) the addresses of the
      generator's flows: DIR/A.json and DIR/B.json (the tables as ipflowd
      must see them), each rendered in ipflow's format (X.ipflow) and as
      `birdc show route all` output (X.bird, with non-primary decoy routes
      that must be ignored). B has the prefixes of A with other AS
      numbers, next hops and interfaces.

  route_judge.py check TABLE.json RECORDS --version 5|9|10 [--peer] [--bgp-nh]
                 [--truth TRUTH.csv] [--count N]
      RECORDS: ipflow-collect's jsonl, tshark -T json output (--tshark), or
      nfdump -o json output (--nfdump).
      Every record must carry exactly what a longest-prefix match over
      TABLE computed here gives: AS numbers (origin, or peer with --peer;
      AS_TRANS 23456 for 4-byte ASes in v5 and v7), prefix lengths, next hop,
      output interface, and with --bgp-nh the BGP next hop. With --truth,
      the records' packets add up to the generator's, and they cover
      every (src, dst, proto) of it (v5, v7: IPv4 only).

  route_judge.py reload A.json B.json RECORDS --truth TRUTH.csv
      Records in arrival order: each must be what A gives or what B gives
      (never a mix); all A records come before all B records, and both
      occur; packets add up to the truth.
"""
import csv
import ipaddress
import json
import random
import socket
import sys

AS_TRANS = 23456


def load_truth(path):
    with open(path) as f:
        return list(csv.DictReader(f))


# --- tables ------------------------------------------------------------------

def make_tables(truth_path, outdir):
    rows = load_truth(truth_path)
    rnd = random.Random(4242)
    addrs4, addrs6 = set(), set()
    for r in rows:
        for a in (r["src"], r["dst"]):
            (addrs6 if ":" in a else addrs4).add(ipaddress.ip_address(a))
    nets = {}

    def add(net):
        nets[ipaddress.ip_network(net, strict=False)] = True

    # IPv4: the low half of 10/8 as one route, some /16s and /24s of either
    # half, some host routes; the servers' /24s; a good share left unrouted
    add("10.0.0.0/9")
    a4 = sorted(addrs4)
    for a in rnd.sample(a4, min(len(a4), 40)):
        add("%s/16" % a)
    for a in rnd.sample(a4, min(len(a4), 25)):
        add("%s/24" % a)
    for a in rnd.sample(a4, min(len(a4), 8)):
        add("%s/32" % a)
    add("203.0.113.0/24")
    add("198.51.100.0/22")
    # IPv6: the documentation /32, some /48, /64 and host routes
    add("2001:db8::/32")
    a6 = sorted(addrs6)
    for a in rnd.sample(a6, min(len(a6), 20)):
        add("%s/48" % a)
    for a in rnd.sample(a6, min(len(a6), 15)):
        add("%s/64" % a)
    for a in rnd.sample(a6, min(len(a6), 5)):
        add("%s/128" % a)

    lo = socket.if_nametoindex("lo")

    def rand_as():
        return rnd.choice([rnd.randint(1, 64000), rnd.randint(65536, 4200000000)])

    def host(net, k):
        n = ipaddress.ip_network("192.0.2.0/24" if net.version == 4 else "2001:db8:ffff::/64")
        return str(n[k % 250 + 1])

    for name, salt in (("A", 0), ("B", 1)):
        routes = []
        for i, net in enumerate(sorted(nets, key=lambda n: (n.version, int(n.network_address), n.prefixlen))):
            origin, peer = rand_as(), rand_as()
            nh = host(net, i * 3 + salt)
            bgp = host(net, i * 7 + 100 + salt) if rnd.random() < 0.7 else None
            routes.append({"prefix": str(net), "af": net.version, "plen": net.prefixlen,
                           "nexthop": nh, "origin": origin, "peer": peer,
                           "ifindex": rnd.randint(2, 60), "bgp": bgp})
        with open("%s/%s.json" % (outdir, name), "w") as f:
            json.dump(routes, f)
        with open("%s/%s.ipflow" % (outdir, name), "w") as f:
            f.write("# ipflow route table %s: PREFIX NEXTHOP ORIGIN-AS PEER-AS IFINDEX [BGP-NEXTHOP]\n\n" % name)
            for r in routes:
                f.write("%-28s %-20s %10d %10d %3d %s\n" % (r["prefix"], r["nexthop"], r["origin"], r["peer"],
                                                           r["ifindex"], r["bgp"] or "-"))
        # the same table as birdc show route all: interface lo (resolved
        # by name), a decoy non-primary route before the primary one
        bird = [dict(r, ifindex=lo) for r in routes]
        with open("%s/%s.bird.json" % (outdir, name), "w") as f:
            json.dump(bird, f)
        with open("%s/%s.bird" % (outdir, name), "w") as f:
            f.write("BIRD 2.0.12 ready.\n")
            for fam, table in ((4, "master4"), (6, "master6")):
                f.write("Table %s:\n" % table)
                for r in (x for x in bird if x["af"] == fam):
                    f.write("%-20s unicast [decoy 2024-01-01 from %s] (90) [AS64999i]\n" % (r["prefix"], r["nexthop"]))
                    f.write("\tvia %s on lo\n" % host(ipaddress.ip_network(r["prefix"]), 249))
                    f.write("\tType: BGP univ\n\tBGP.as_path: 64998 64999\n")
                    f.write("                     unicast [bgp1 2024-01-01 from %s] * (100) [AS%di]\n"
                            % (r["nexthop"], r["origin"]))
                    f.write("\tvia %s on lo\n" % r["nexthop"])
                    f.write("\tType: BGP univ\n\tBGP.origin: IGP\n")
                    f.write("\tBGP.as_path: %d 64600 %d\n" % (r["peer"], r["origin"]))
                    if r["bgp"]:
                        f.write("\tBGP.next_hop: %s\n" % r["bgp"])
                    f.write("\tBGP.local_pref: 100\n")
                f.write("\n")


# --- longest-prefix match (brute force over the table) -----------------------

class Table:
    def __init__(self, path):
        with open(path) as f:
            self.routes = json.load(f)
        for r in self.routes:
            r["net"] = ipaddress.ip_network(r["prefix"])

    def lpm(self, addr):
        a = ipaddress.ip_address(addr)
        best = None
        for r in self.routes:
            if r["net"].version == a.version and a in r["net"]:
                if best is None or r["plen"] > best["plen"]:
                    best = r
        return best


def zero(v6):
    return "::" if v6 else "0.0.0.0"


def norm_addr(s):
    return str(ipaddress.ip_address(s))


def expected(t, src, dst, version, peer, bgp_nh):
    v6 = ":" in src
    s, d = t.lpm(src), t.lpm(dst)

    def asn(r):
        if not r:
            return 0
        v = r["peer"] if peer else r["origin"]
        return AS_TRANS if version in (5, 7) and v > 0xffff else v

    e = {"src_as": asn(s), "dst_as": asn(d), "src_mask": s["plen"] if s else 0,
         "dst_mask": d["plen"] if d else 0, "nexthop": d["nexthop"] if d else zero(v6),
         "if_out": d["ifindex"] if d else 0}
    if bgp_nh:
        e["bgp"] = (d["bgp"] or zero(v6)) if d else zero(v6)
    return e, (s is not None) + (d is not None)


def from_collector(rec):
    v6 = "sourceIPv6Address" in rec
    g = (lambda k4, k6: rec.get(k6 if v6 else k4))
    out = {"src": g("sourceIPv4Address", "sourceIPv6Address"), "dst": g("destinationIPv4Address", "destinationIPv6Address"),
           "proto": rec.get("protocolIdentifier"), "packets": rec.get("packetDeltaCount"),
           "src_as": rec.get("bgpSourceAsNumber"), "dst_as": rec.get("bgpDestinationAsNumber"),
           "src_mask": g("sourceIPv4PrefixLength", "sourceIPv6PrefixLength"),
           "dst_mask": g("destinationIPv4PrefixLength", "destinationIPv6PrefixLength"),
           "nexthop": g("ipNextHopIPv4Address", "ipNextHopIPv6Address"), "if_out": rec.get("egressInterface"),
           "bgp": g("bgpNextHopIPv4Address", "bgpNextHopIPv6Address")}
    return out


def tshark_records(path):
    """Every flow record of tshark -T json --no-duplicate-keys output, in order."""
    with open(path) as f:
        frames = json.load(f)
    out = []

    def first(v):
        return v[0] if isinstance(v, list) else v

    def walk(o):
        if isinstance(o, dict):
            if "cflow.srcaddr" in o or "cflow.srcaddrv6" in o:
                v6 = "cflow.srcaddrv6" in o
                g = (lambda k4, k6: first(o.get(k6 if v6 else k4)))
                num = (lambda k: None if first(o.get(k)) is None else int(first(o.get(k)), 0))
                out.append({"src": g("cflow.srcaddr", "cflow.srcaddrv6"), "dst": g("cflow.dstaddr", "cflow.dstaddrv6"),
                            "proto": num("cflow.protocol"), "packets": num("cflow.packets"),
                            "src_as": num("cflow.srcas"), "dst_as": num("cflow.dstas"),
                            "src_mask": int(g("cflow.srcmask", "cflow.srcmaskv6"), 0),
                            "dst_mask": int(g("cflow.dstmask", "cflow.dstmaskv6"), 0),
                            "nexthop": g("cflow.nexthop", "cflow.nexthopv6"), "if_out": num("cflow.outputint"),
                            "bgp": g("cflow.bgpnexthop", "cflow.bgpnexthopv6")})
                return
            for k, v in o.items():
                if isinstance(v, list) and k.startswith("Flow"):
                    for x in v:
                        walk(x)
                else:
                    walk(v)
        elif isinstance(o, list):
            for x in o:
                walk(x)

    for fr in frames:
        walk(fr.get("_source", {}).get("layers", {}).get("cflow", {}))
    return out


def nfdump_records(path):
    """nfdump -o json: a field nfdump leaves out is zero."""
    with open(path) as f:
        txt = f.read().strip()
    out = []
    for r in (json.loads(txt) if txt else []):
        if r.get("type") != "FLOW":
            continue
        v6 = "src6_addr" in r
        z = zero(v6)
        out.append({"src": r.get("src6_addr" if v6 else "src4_addr"), "dst": r.get("dst6_addr" if v6 else "dst4_addr"),
                    "proto": r.get("proto"), "packets": r.get("in_packets"),
                    "src_as": r.get("src_as", 0), "dst_as": r.get("dst_as", 0),
                    "src_mask": r.get("src_mask", 0), "dst_mask": r.get("dst_mask", 0),
                    "nexthop": r.get("ip6_next_hop" if v6 else "ip4_next_hop", z),
                    "if_out": r.get("output_snmp", 0),
                    "bgp": r.get("bgp6_next_hop" if v6 else "bgp4_next_hop", z)})
    return out


def load_records(path, tshark, nfdump=False):
    if nfdump:
        return nfdump_records(path)
    if tshark:
        return tshark_records(path)
    with open(path) as f:
        return [from_collector(json.loads(line)) for line in f if line.strip()]


def compare(r, e):
    bad = []
    for k, want in e.items():
        got = r.get(k)
        if k in ("nexthop", "bgp"):
            if got is None or norm_addr(got) != norm_addr(want):
                bad.append("%s %s, want %s" % (k, got, want))
        elif got != want:
            bad.append("%s %s, want %s" % (k, got, want))
    return bad


def check_truth(recs, truth_path, v4_only):
    truth = [t for t in load_truth(truth_path) if not (v4_only and t["af"] != "4")]
    want_pk = sum(int(t["packets"]) for t in truth)
    got_pk = sum(r["packets"] or 0 for r in recs)
    keys_t = {(norm_addr(t["src"]), norm_addr(t["dst"]), int(t["proto"])) for t in truth}
    keys_r = {(norm_addr(r["src"]), norm_addr(r["dst"]), r["proto"]) for r in recs}
    errs = []
    if want_pk != got_pk:
        errs.append("packets: records %d, truth %d" % (got_pk, want_pk))
    if keys_t != keys_r:
        errs.append("flow keys differ: %d only in truth, %d only in records" % (len(keys_t - keys_r), len(keys_r - keys_t)))
    return errs


def cmd_check(argv):
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("table")
    p.add_argument("records")
    p.add_argument("--version", type=int, required=True)  # 5, 7, 9, 10
    p.add_argument("--peer", action="store_true")
    p.add_argument("--bgp-nh", action="store_true")
    p.add_argument("--tshark", action="store_true")
    p.add_argument("--nfdump", action="store_true")
    p.add_argument("--truth")
    p.add_argument("--count", type=int)
    a = p.parse_args(argv)
    t = Table(a.table)
    recs = load_records(a.records, a.tshark, a.nfdump)
    errs = []
    matched = [0, 0, 0]
    for i, r in enumerate(recs):
        e, m = expected(t, r["src"], r["dst"], a.version, a.peer, a.bgp_nh)
        if a.nfdump and a.version in (5, 7):
            # nfdump 1.7.1 keeps no prefix lengths from v5/v7 records (it
            # reports 0; the bytes are right: tshark and ipflow-collect
            # read them at offsets 44/45)
            del e["src_mask"], e["dst_mask"]
        matched[m] += 1
        bad = compare(r, e)
        if bad:
            errs.append("record %d %s -> %s: %s" % (i, r["src"], r["dst"], "; ".join(bad)))
    if a.truth:
        errs += check_truth(recs, a.truth, a.version in (5, 7))
    if a.count is not None and a.count != len(recs):
        errs.append("%d records, want %d" % (len(recs), a.count))
    # the table must matter: records with both, one and no side routed
    if not (matched[2] and matched[1] and matched[0]):
        errs.append("the table covers too much or too little: %s records with 0/1/2 sides routed" % matched)
    for e in errs[:20]:
        print(e)
    print("%d records (%d both sides routed, %d one, %d none), %d errors" % (len(recs), matched[2], matched[1],
                                                                         matched[0], len(errs)))
    return 1 if errs else 0


def cmd_reload(argv):
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("records")
    p.add_argument("--truth", required=True)
    p.add_argument("--version", type=int, default=9)
    p.add_argument("--bgp-nh", action="store_true")
    a = p.parse_args(argv)
    ta, tb = Table(a.a), Table(a.b)
    recs = load_records(a.records, False)
    seq, errs = [], []
    for i, r in enumerate(recs):
        ea, m = expected(ta, r["src"], r["dst"], a.version, False, a.bgp_nh)
        eb, _ = expected(tb, r["src"], r["dst"], a.version, False, a.bgp_nh)
        oka, okb = not compare(r, ea), not compare(r, eb)
        if oka and okb:
            continue  # no side routed: the same under both tables
        if not oka and not okb:
            errs.append("record %d %s -> %s matches neither table: A: %s; B: %s"
                        % (i, r["src"], r["dst"], "; ".join(compare(r, ea)), "; ".join(compare(r, eb))))
            continue
        seq.append("A" if oka else "B")
    s = "".join(seq)
    na, nb = s.count("A"), s.count("B")
    if not na or not nb:
        errs.append("records under A: %d, under B: %d (want both)" % (na, nb))
    if "BA" in s:
        errs.append("a record under A after one under B (position %d)" % s.index("BA"))
    errs += check_truth(recs, a.truth, a.version in (5, 7))
    for e in errs[:20]:
        print(e)
    print("%d records: %d under table A, then %d under B; %d errors" % (len(recs), na, nb, len(errs)))
    return 1 if errs else 0


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "tables":
        make_tables(sys.argv[2], sys.argv[3])
        return 0
    if cmd == "check":
        return cmd_check(sys.argv[2:])
    if cmd == "reload":
        return cmd_reload(sys.argv[2:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
