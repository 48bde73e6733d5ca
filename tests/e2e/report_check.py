#!/usr/bin/env python3
"""report_check.py -- judge `ipflow report` against an independent
computation in Python over the same records.

The records come from a CSV written beside the store (store_feed synth
--csv) or from ipflowd's own JSON-lines flow log of the run whose export was
stored (--jsonl, with --exporter naming the exporter address). For every
query the script runs `ipflow report ... --format json` (and, for some,
csv and text), computes the expected totals and top-N rows itself, and
compares them exactly.

Semantics computed here, as doc/store-format.md states them:
  window      on the flow end time (last), [from, to)
  --addr/--port match source or destination; --port only for TCP, UDP,
              SCTP, DCCP, UDP-Lite
  both keys   addr, port, as: a flow counts under each distinct side
  port keys   0 for protocols without ports
  --unsample  packets and bytes times the sampling interval
  order       counter descending, then key ascending (IPv4 before IPv6)

usage: report_check.py --ipflow BIN --dir DIR (--csv FILE | --jsonl FILE --exporter ADDR)
                       [--suite full|basic]
"""
import argparse
import csv
import datetime
import ipaddress
import json
import subprocess
import sys

PORTED = {6, 17, 132, 33, 136}
KEYS = ["srcaddr", "dstaddr", "addr", "srcport", "dstport", "port", "proto",
        "srcas", "dstas", "as", "inif", "outif", "exporter"]
ADDR_KEYS = {"srcaddr", "dstaddr", "addr", "exporter"}
ORDERS = ["bytes", "packets", "flows"]
PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 47: "gre", 50: "esp", 58: "icmp6", 132: "sctp"}


class Rec:
    __slots__ = ("exporter", "src", "dst", "sport", "dport", "proto", "srcas", "dstas",
                 "inif", "outif", "packets", "bytes", "last", "sampling")


def load_csv(path):
    out = []
    with open(path, newline="") as f:
        for row in csv.reader(f):
            r = Rec()
            r.exporter = ipaddress.ip_address(row[0])
            r.src = ipaddress.ip_address(row[2])
            r.dst = ipaddress.ip_address(row[3])
            (r.sport, r.dport, r.proto, r.srcas, r.dstas, r.inif, r.outif, r.packets, r.bytes,
             _first, r.last, recv, r.sampling) = (int(x) for x in row[4:17])
            if r.last == 0:
                r.last = recv
            out.append(r)
    return out


def load_jsonl(path, exporter):
    out = []
    with open(path) as f:
        for line in f:
            j = json.loads(line)
            r = Rec()
            r.exporter = ipaddress.ip_address(exporter)
            if "sourceIPv6Address" in j:
                r.src = ipaddress.ip_address(j["sourceIPv6Address"])
                r.dst = ipaddress.ip_address(j["destinationIPv6Address"])
            else:
                r.src = ipaddress.ip_address(j["sourceIPv4Address"])
                r.dst = ipaddress.ip_address(j["destinationIPv4Address"])
            r.sport = j.get("sourceTransportPort", 0)
            r.dport = j.get("destinationTransportPort", 0)
            r.proto = j["protocolIdentifier"]
            r.srcas = j.get("bgpSourceAsNumber", 0)
            r.dstas = j.get("bgpDestinationAsNumber", 0)
            r.inif = j.get("ingressInterface", 0)
            r.outif = j.get("egressInterface", 0)
            r.packets = j["packetDeltaCount"]
            r.bytes = j["octetDeltaCount"]
            r.last = j["flowEndMicroseconds"]
            r.sampling = 1
            out.append(r)
    return out


def sort_key(v):
    """Key order of the report: numbers, then IPv4, then IPv6."""
    if isinstance(v, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return (v.version, int(v))
    return (0, v)


def values(r, key):
    ported = r.proto in PORTED
    if key == "srcaddr":
        return [r.src]
    if key == "dstaddr":
        return [r.dst]
    if key == "addr":
        return [r.src] if r.src == r.dst else [r.src, r.dst]
    if key == "srcport":
        return [r.sport if ported else 0]
    if key == "dstport":
        return [r.dport if ported else 0]
    if key == "port":
        a, b = (r.sport, r.dport) if ported else (0, 0)
        return [a] if a == b else [a, b]
    if key == "proto":
        return [r.proto]
    if key == "srcas":
        return [r.srcas]
    if key == "dstas":
        return [r.dstas]
    if key == "as":
        return [r.srcas] if r.srcas == r.dstas else [r.srcas, r.dstas]
    if key == "inif":
        return [r.inif]
    if key == "outif":
        return [r.outif]
    if key == "exporter":
        return [r.exporter]
    raise ValueError(key)


def parse_time(s):
    if s.isdigit():
        return int(s) * 1000000
    t = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return int(t.timestamp()) * 1000000 + t.microsecond


def matcher(args):
    """A predicate for the filter options in args (a list like argv)."""
    opts = dict(zip(args[0::2], args[1::2]))
    lo = parse_time(opts["--from"]) if "--from" in opts else 0
    hi = parse_time(opts["--to"]) if "--to" in opts else 1 << 64
    nets = {k: ipaddress.ip_network(opts[k], strict=False) for k in ("--src", "--dst", "--addr") if k in opts}
    exp = ipaddress.ip_address(opts["--exporter"]) if "--exporter" in opts else None
    port = int(opts["--port"]) if "--port" in opts else None
    proto = opts.get("--proto")
    if proto is not None:
        proto = int(proto) if proto.isdigit() else {v: k for k, v in PROTO_NAMES.items()}[proto]

    def inn(net, a):
        return a.version == net.version and a in net

    def ok(r):
        if not (lo <= r.last < hi):
            return False
        if exp is not None and r.exporter != exp:
            return False
        if proto is not None and r.proto != proto:
            return False
        if port is not None and not (r.proto in PORTED and port in (r.sport, r.dport)):
            return False
        if "--src" in nets and not inn(nets["--src"], r.src):
            return False
        if "--dst" in nets and not inn(nets["--dst"], r.dst):
            return False
        if "--addr" in nets and not (inn(nets["--addr"], r.src) or inn(nets["--addr"], r.dst)):
            return False
        return True
    return ok


def expect(recs, key, order, top, filt, unsample):
    ok = matcher(filt)
    agg = {}
    tot = [0, 0, 0]
    for r in recs:
        if not ok(r):
            continue
        m = r.sampling if unsample and r.sampling > 1 else 1
        pk, by = r.packets * m, r.bytes * m
        tot[0] += 1
        tot[1] += pk
        tot[2] += by
        for v in values(r, key):
            a = agg.setdefault(v, [0, 0, 0])
            a[0] += 1
            a[1] += pk
            a[2] += by
    idx = {"flows": 0, "packets": 1, "bytes": 2}[order]
    rows = sorted(agg.items(), key=lambda kv: (-kv[1][idx], sort_key(kv[0])))
    if top:
        rows = rows[:top]
    return tot, len(agg), rows


def scaled(v):
    """The text format's counts: exact below 100000, else 3 significant digits."""
    if v < 100000:
        return str(v)
    d, u = float(v), -1
    while d >= 999.5 and u < 5:
        d /= 1000.0
        u += 1
    unit = "KMGTPE"[u]
    if d >= 99.95:
        return "%.0f %s" % (d, unit)
    if d >= 9.995:
        return "%.1f %s" % (d, unit)
    return "%.2f %s" % (d, unit)


class Checker:
    def __init__(self, ipflow, d, recs, allow_stderr=False):
        self.ipflow, self.dir, self.recs, self.allow_stderr = ipflow, d, recs, allow_stderr
        self.runs = self.fails = 0

    def report(self, args, fmt):
        cmd = [self.ipflow, "report", "-w", self.dir, "--format", fmt] + args
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if p.returncode != 0 or (p.stderr and not self.allow_stderr):
            raise RuntimeError("%s: exit %d, stderr %r" % (" ".join(cmd), p.returncode, p.stderr[-500:]))
        return p.stdout

    def bad(self, what, args):
        self.fails += 1
        if self.fails <= 20:
            print("MISMATCH [%s]: %s" % (" ".join(args), what))

    def check(self, key, order, top, filt, unsample=False, formats=("json",)):
        args = ["--by", key, "--order", order, "--top", str(top)] + filt + (["--unsample"] if unsample else [])
        tot, nkeys, rows = expect(self.recs, key, order, top, filt, unsample)
        self.runs += 1
        if "json" in formats:
            j = json.loads(self.report(args, "json"))
            t = j["totals"]
            if (t["flows"], t["packets"], t["bytes"], t["keys"]) != (tot[0], tot[1], tot[2], nkeys):
                self.bad("totals %r, expected %r keys %d" % (t, tot, nkeys), args)
            got = [(ipaddress.ip_address(r[key]) if key in ADDR_KEYS else r[key], r["flows"], r["packets"],
                    r["bytes"], r["rank"]) for r in j["rows"]]
            want = [(k, v[0], v[1], v[2], i + 1) for i, (k, v) in enumerate(rows)]
            if got != want:
                self.bad("rows differ:\n  got  %r\n  want %r" % (got[:5], want[:5]), args)
            if j["key"] != key or j["order"] != order or j["unsample"] != unsample:
                self.bad("query echoed wrong: %r" % {k: j[k] for k in ("key", "order", "unsample")}, args)
        if "csv" in formats:
            lines = list(csv.reader(self.report(args, "csv").splitlines()))
            if lines[0] != ["rank", key, "flows", "packets", "bytes"]:
                self.bad("csv header %r" % lines[0], args)
            want = [[str(i + 1), str(k), str(v[0]), str(v[1]), str(v[2])] for i, (k, v) in enumerate(rows)]
            want.append(["total", "", str(tot[0]), str(tot[1]), str(tot[2])])
            if lines[1:] != want:
                self.bad("csv rows differ:\n  got  %r\n  want %r" % (lines[1:4], want[:3]), args)
        if "text" in formats:
            self.check_text(self.report(args, "text"), key, tot, nkeys, rows, top, args)

    def check_text(self, out, key, tot, nkeys, rows, top, args):
        lines = out.rstrip("\n").split("\n")
        try:
            blank = lines.index("")
        except ValueError:
            self.bad("text: no blank line before the table", args)
            return
        head, table = lines[:blank], lines[blank + 1:]
        if not any(("Total: %d flows, %s packets, %s bytes" % (tot[0], scaled(tot[1]), scaled(tot[2]))) in h
                   for h in head):
            self.bad("text: no totals line for %r in %r" % (tot, head), args)
        if not head[0].startswith("Top %d of %d " % (top, nkeys) if top and nkeys > top else "All %d " % nkeys):
            self.bad("text: title %r" % head[0], args)
        # Aligned: header, every row and the total line are one width.
        if len(set(len(l) for l in table)) != 1:
            self.bad("text: columns not aligned: widths %r" % sorted(set(len(l) for l in table)), args)
        if table[0].split() != ["#", key, "flows", "%", "packets", "%", "bytes", "%"]:
            self.bad("text: header %r" % table[0], args)
        if len(table) != len(rows) + 2:
            self.bad("text: %d rows, expected %d" % (len(table) - 2, len(rows)), args)
            return
        for i, (k, v) in enumerate(rows):
            line = table[i + 1]
            if key == "proto":
                kt = PROTO_NAMES.get(k, str(k))
            else:
                kt = str(k)
            def pct(a, b):
                return "%.1f%%" % (100.0 * a / b) if b else "-"
            want = [str(i + 1), kt, *scaled(v[0]).split(), pct(v[0], tot[0]), *scaled(v[1]).split(),
                    pct(v[1], tot[1]), *scaled(v[2]).split(), pct(v[2], tot[2])]
            if line.split() != want:
                self.bad("text row %d: %r, expected %r" % (i + 1, line.split(), want), args)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ipflow", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--csv")
    ap.add_argument("--jsonl")
    ap.add_argument("--exporter")
    ap.add_argument("--suite", default="full", choices=["full", "basic"])
    ap.add_argument("--allow-stderr", action="store_true", help="the store is damaged: warnings expected")
    ap.add_argument("--filter", action="append", default=[],
                    help="extra filter arguments for the basic suite, as one string")
    a = ap.parse_args()
    recs = load_csv(a.csv) if a.csv else load_jsonl(a.jsonl, a.exporter)
    if not recs:
        print("no records to judge against")
        return 1
    c = Checker(a.ipflow, a.dir, recs, a.allow_stderr)
    if a.suite == "basic":
        for key in KEYS:
            c.check(key, ORDERS[KEYS.index(key) % 3], 10, [], formats=("json", "csv"))
        for f in a.filter:
            for key in ("srcaddr", "dstport", "proto"):
                c.check(key, "bytes", 10, f.split())
    else:
        # Every key by every counter, unfiltered; the three formats for each key.
        for key in KEYS:
            for order in ORDERS:
                c.check(key, order, 10, [], formats=("json", "csv", "text") if order == "bytes" else ("json",))
        lasts = sorted(r.last for r in recs)
        t1, t2 = lasts[len(lasts) // 4] // 1000000, lasts[3 * len(lasts) // 4] // 1000000
        iso1 = datetime.datetime.fromtimestamp(t1, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        iso2 = datetime.datetime.fromtimestamp(t2 + 3600, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S+01:00")
        filters = [
            ["--proto", "tcp"],
            ["--proto", "17", "--port", "53"],
            ["--port", "443"],
            ["--src", "10.0.0.0/16"],
            ["--dst", "172.16.0.0/14"],
            ["--addr", "2001:db8::/32"],
            ["--addr", "10.1.2.0/23"],
            ["--exporter", "192.0.2.3"],
            ["--exporter", "2001:db8::4"],
            ["--from", str(t1), "--to", str(t2)],
            ["--from", iso1, "--to", iso2, "--proto", "udp"],
            ["--from", iso1, "--src", "10.2.0.0/15", "--port", "80"],
            ["--dst", "2001:db8:0:9::/64", "--proto", "tcp"],
        ]
        # Each filter with three keys, rotating so every key meets three filters.
        for i, f in enumerate(filters):
            for j in range(3):
                key = KEYS[(3 * i + j) % len(KEYS)]
                c.check(key, ORDERS[(i + j) % 3], 10, f, formats=("json", "text") if j == 0 else ("json",))
        # Sampled records scaled; every row (--top 0); a short top.
        for key in ("exporter", "srcaddr"):
            c.check(key, "bytes", 10, [], unsample=True, formats=("json", "csv", "text"))
        for key in ("proto", "exporter", "dstas"):
            c.check(key, "packets", 0, [], formats=("json", "csv", "text"))
        c.check("dstport", "flows", 3, ["--proto", "tcp"], formats=("json", "csv", "text"))
        # A window with nothing in it.
        c.check("srcaddr", "bytes", 10, ["--from", "1000000000", "--to", "1000000001"], formats=("json", "csv", "text"))
    print("%d queries judged, %d mismatches, over %d records" % (c.runs, c.fails, len(recs)))
    return 1 if c.fails else 0


if __name__ == "__main__":
    sys.exit(main())
