#!/usr/bin/env python3
"""ch_judge.py — compare per-flow-key sums read back from ClickHouse with
ipflow-gen's ground truth (--truth CSV: af,src,dst,sport,dport,proto,tos,
packets,bytes,first_us,last_us).

  ch_judge.py TRUTH.csv CH.tsv

CH.tsv: one line per key, tab separated: ipVersion, IPv6NumToString(src),
IPv6NumToString(dst), sport, dport, proto, tos, sum(packets), sum(bytes).
IPv4 rows must come back v4-mapped (::ffff:a.b.c.d); a row of zeros where
an address should be is reported. Exit 0 if every key and both totals
agree exactly."""
import csv
import ipaddress
import sys

truth = {}
tp = tb = 0
with open(sys.argv[1]) as f:
    for r in csv.DictReader(f):
        k = (int(r["af"]), ipaddress.ip_address(r["src"]), ipaddress.ip_address(r["dst"]),
             int(r["sport"]), int(r["dport"]), int(r["proto"]), int(r["tos"]))
        p, b = truth.get(k, (0, 0))
        truth[k] = (p + int(r["packets"]), b + int(r["bytes"]))
        tp += int(r["packets"])
        tb += int(r["bytes"])


def addr(ver, s):
    a = ipaddress.ip_address(s)
    if ver == 4:
        if a.ipv4_mapped is None:
            raise ValueError("IPv4 row with address %s, not ::ffff:a.b.c.d" % s)
        return a.ipv4_mapped
    return a


got = {}
cp = cb = 0
bad = []
with open(sys.argv[2]) as f:
    for line in f:
        v = line.rstrip("\n").split("\t")
        ver = int(v[0])
        try:
            k = (ver, addr(ver, v[1]), addr(ver, v[2]), int(v[3]), int(v[4]), int(v[5]), int(v[6]))
        except ValueError as e:
            bad.append(str(e))
            continue
        got[k] = (int(v[7]), int(v[8]))
        cp += int(v[7])
        cb += int(v[8])

diff = 0
for k in sorted(set(truth) | set(got), key=str):
    if truth.get(k) != got.get(k):
        if diff < 10:
            print("key %s: truth %s, clickhouse %s" % (k, truth.get(k), got.get(k)))
        diff += 1
for b in bad[:10]:
    print(b)
print("keys: truth %d, clickhouse %d, differing %d; packets %d/%d, bytes %d/%d"
      % (len(truth), len(got), diff, cp, tp, cb, tb))
sys.exit(0 if diff == 0 and not bad and cp == tp and cb == tb else 1)
