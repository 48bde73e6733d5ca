#!/usr/bin/env python3
"""collcheck.py -- compare the records a collector stored with a reference.

    collcheck.py --ref REF --got GOT [--time-tol-ms N] [--fields a,b,...]
                 [--ref-format flowlog|nfdump|jsonl] [--got-format ...]

Both sides are reduced to records keyed by the flow key (addresses,
ports, protocol, ToS) and matched one to one: per key the records are
sorted by start time and compared in order -- packets and bytes exactly,
start and end within --time-tol-ms (default 0: exact milliseconds), and
any --fields given (IPFIX names, e.g. flowEndReason) exactly. Then the
totals. Formats:

  flowlog  ipflowd's flow log or ipflow-collect's csv: output (CSV with
           IPFIX element names; JSON lines with the same names also work)
  jsonl    ipflow-collect's JSON lines (raw record fields, derived times)
  truth    ipflow-gen --truth (one row per flow key: use with --sums)
  nfdump   `nfdump -o json` output (read with TZ=UTC: nfdump prints local time)

Exit status 0 equal, 1 different, 2 unreadable input. Python 3 standard
library only.
"""

import argparse
import csv
import datetime
import ipaddress
import json
import socket
import sys


class InputError(Exception):
    pass


def norm_addr(a):
    try:
        return ipaddress.ip_address(str(a).strip()).compressed
    except ValueError:
        raise InputError("bad address %r" % a)


def to_int(v):
    if v is None or v == "":
        return None
    return int(v, 0) if isinstance(v, str) and v.startswith("0x") else int(v)


def rec_from_names(d):
    """A record from a dict keyed by IPFIX names (flow log / collector)."""
    if d.get("sourceIPv4Address") not in (None, ""):
        s, t = d["sourceIPv4Address"], d["destinationIPv4Address"]
        icmp = d.get("icmpTypeCodeIPv4")
    elif d.get("sourceIPv6Address") not in (None, ""):
        s, t = d["sourceIPv6Address"], d["destinationIPv6Address"]
        icmp = d.get("icmpTypeCodeIPv6")
    else:
        return None  # not a flow record (options data)
    proto = to_int(d.get("protocolIdentifier")) or 0
    dport = to_int(d.get("destinationTransportPort")) or 0
    if proto in (1, 58) and to_int(icmp):
        dport = to_int(icmp)
    start = to_int(d.get("flowStartMilliseconds"))
    end = to_int(d.get("flowEndMilliseconds"))
    if start is None and d.get("flowStartMicroseconds") not in (None, ""):
        start = to_int(d["flowStartMicroseconds"]) // 1000
    if end is None and d.get("flowEndMicroseconds") not in (None, ""):
        end = to_int(d["flowEndMicroseconds"]) // 1000
    key = (norm_addr(s), norm_addr(t), to_int(d.get("sourceTransportPort")) or 0, dport, proto,
           to_int(d.get("ipClassOfService")) or 0)
    return {"key": key, "packets": to_int(d["packetDeltaCount"]), "bytes": to_int(d["octetDeltaCount"]),
            "start": start, "end": end, "raw": d}


def proto_num(p):
    """nfdump prints protocol names: back to numbers."""
    p = p.strip()
    if p.isdigit():
        return int(p)
    special = {"ICMP6": 58, "IPV6-ICMP": 58, "IPIP": 4, "ENCAP": 98}
    if p.upper() in special:
        return special[p.upper()]
    try:
        return socket.getprotobyname(p.lower())
    except OSError:
        raise InputError("unknown protocol name %r" % p)


def nfdump_time(s):
    s = s.strip()
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            t = datetime.datetime.strptime(s, fmt).replace(tzinfo=datetime.timezone.utc)
            return int(round(t.timestamp() * 1000))
        except ValueError:
            pass
    raise InputError("bad nfdump time %r" % s)


def read(path, fmt):
    out = []
    try:
        f = open(path, newline="")
    except OSError as e:
        raise InputError("%s: %s" % (path, e.strerror))
    with f:
        if fmt == "truth":
            for n, d in enumerate(csv.DictReader(f), 2):
                try:
                    key = (norm_addr(d["src"]), norm_addr(d["dst"]), int(d["sport"]), int(d["dport"]),
                           int(d["proto"]), int(d["tos"]))
                    out.append({"key": key, "packets": int(d["packets"]), "bytes": int(d["bytes"]),
                                "start": int(d["first_us"]) // 1000, "end": int(d["last_us"]) // 1000, "raw": d})
                except (KeyError, ValueError) as e:
                    raise InputError("%s:%d: %s" % (path, n, e))
            return out
        if fmt == "nfdump":
            try:
                rows = json.load(f)
            except ValueError as e:
                raise InputError("%s: not nfdump JSON: %s" % (path, e))
            for d in rows:
                if d.get("type") != "FLOW":
                    continue
                try:
                    v6 = "src6_addr" in d
                    proto = int(d["proto"])
                    dport = int(d.get("dst_port", 0))
                    if proto in (1, 58) and "icmp_type" in d:
                        dport = int(d["icmp_type"]) * 256 + int(d.get("icmp_code", 0))
                    key = (norm_addr(d["src6_addr" if v6 else "src4_addr"]),
                           norm_addr(d["dst6_addr" if v6 else "dst4_addr"]),
                           int(d.get("src_port", 0)), dport, proto, int(d.get("src_tos", 0)))
                    out.append({"key": key, "packets": int(d["in_packets"]), "bytes": int(d["in_bytes"]),
                                "start": nfdump_time(d["first"]), "end": nfdump_time(d["last"]), "raw": d})
                except (KeyError, ValueError) as e:
                    raise InputError("%s: nfdump record %r: %s" % (path, d, e))
            return out
        first = f.read(1)
        f.seek(0)
        if first == "{":
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    r = rec_from_names(json.loads(line))
                except (ValueError, KeyError) as e:
                    raise InputError("%s:%d: %s" % (path, n, e))
                if r:
                    out.append(r)
        else:
            for n, d in enumerate(csv.DictReader(f), 2):
                try:
                    r = rec_from_names(d)
                except (ValueError, KeyError) as e:
                    raise InputError("%s:%d: %s" % (path, n, e))
                if r:
                    out.append(r)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ref", required=True)
    ap.add_argument("--got", required=True)
    ap.add_argument("--ref-format", default="flowlog", choices=("flowlog", "jsonl", "nfdump", "truth"))
    ap.add_argument("--got-format", default="flowlog", choices=("flowlog", "jsonl", "nfdump"))
    ap.add_argument("--time-tol-ms", type=int, default=0)
    ap.add_argument("--no-times", action="store_true", help="do not compare start/end")
    ap.add_argument("--time-mod32", action="store_true",
                    help="compare times modulo 2^32 ms (exporters whose sysUpTime offsets only wrap agree)")
    ap.add_argument("--icmp-loose", action="store_true",
                    help="ICMP records: do not compare ports or type/code (exporters and collectors "
                         "put ICMP type/code in different fields)")
    ap.add_argument("--sums", action="store_true",
                    help="compare only per-key packet and byte sums (records may split differently)")
    ap.add_argument("--allow-clamp", action="store_true",
                    help="accept times before the exporter's start stored as that start (sysUpTime 0)")
    ap.add_argument("--fields", default="", help="IPFIX names compared exactly (both sides must have them)")
    ap.add_argument("--show", type=int, default=10)
    a = ap.parse_args(argv)
    try:
        ref = read(a.ref, a.ref_format)
        got = read(a.got, a.got_format)
    except InputError as e:
        print("collcheck: %s" % e, file=sys.stderr)
        return 2
    fields = [x for x in a.fields.split(",") if x]
    if a.icmp_loose:
        for r in ref + got:
            k = r["key"]
            if k[4] in (1, 58):
                r["key"] = k[:2] + (0, 0) + k[4:]
    by_ref, by_got = {}, {}
    for r in ref:
        by_ref.setdefault(r["key"], []).append(r)
    for r in got:
        by_got.setdefault(r["key"], []).append(r)
    bad = []
    # ipflowd's v1/v5/v7/v9 exporter clamps sysUpTime times before its own
    # start to 0: with --allow-clamp such a time decodes to the earliest
    # time stored, and is accepted there.
    base = min((r["start"] for r in got if r["start"] is not None), default=None)

    def tdiff(x, y, n):
        if x[n] is None or y[n] is None:
            return None
        if a.allow_clamp and abs(y[n] - base) <= 2 and x[n] <= y[n] + 2:
            return 0
        if a.time_mod32:
            dd = (x[n] - y[n]) % (1 << 32)
            return min(dd, (1 << 32) - dd)
        return abs(x[n] - y[n])

    def mismatch(x, y):
        d = []
        if x["packets"] != y["packets"] or x["bytes"] != y["bytes"]:
            d.append("packets/bytes %s/%s vs %s/%s" % (x["packets"], x["bytes"], y["packets"], y["bytes"]))
        if not a.no_times:
            for n in ("start", "end"):
                t = tdiff(x, y, n)
                if t is None or t > a.time_tol_ms:
                    d.append("%s %s vs %s" % (n, x[n], y[n]))
        for fl in fields:
            if str(x["raw"].get(fl, "")) != str(y["raw"].get(fl, "")):
                d.append("%s %r vs %r" % (fl, x["raw"].get(fl), y["raw"].get(fl)))
        return d

    for k, rs in (by_ref.items() if not a.sums else ()):
        gs = list(by_got.get(k, []))
        if len(gs) != len(rs):
            bad.append("%s: %d records in the reference, %d stored" % (k, len(rs), len(gs)))
            continue
        # one to one: each reference record takes the closest stored one
        # with no difference (records of a key can share counts)
        for x in sorted(rs, key=lambda r: (r["start"] or 0, r["end"] or 0)):
            best, bi = None, None
            for i, y in enumerate(gs):
                if mismatch(x, y):
                    continue
                dist = (tdiff(x, y, "start") or 0) + (tdiff(x, y, "end") or 0)
                if best is None or dist < best:
                    best, bi = dist, i
            if bi is None:
                near = min(gs, key=lambda y: abs((y["start"] or 0) - (x["start"] or 0)))
                bad.append("%s: no stored record matches %s..%s %s/%s (nearest: %s)"
                           % (k, x["start"], x["end"], x["packets"], x["bytes"], "; ".join(mismatch(x, near))))
                break
            gs.pop(bi)
    if a.sums:
        for k, rs in by_ref.items():
            x = (sum(r["packets"] for r in rs), sum(r["bytes"] for r in rs))
            y = (sum(r["packets"] for r in by_got.get(k, [])), sum(r["bytes"] for r in by_got.get(k, [])))
            if x != y:
                bad.append("%s: packets/bytes %d/%d in the reference, %d/%d stored" % (k, x[0], x[1], y[0], y[1]))
    for k in by_got:
        if k not in by_ref:
            bad.append("%s: stored (%d records) but not in the reference" % (k, len(by_got[k])))
    tp = (sum(r["packets"] for r in ref), sum(r["bytes"] for r in ref))
    gp = (sum(r["packets"] for r in got), sum(r["bytes"] for r in got))
    print("collcheck: reference %d records, %d packets, %d bytes; stored %d records, %d packets, %d bytes"
          % (len(ref), tp[0], tp[1], len(got), gp[0], gp[1]))
    if (len(ref) != len(got) and not a.sums) or tp != gp:
        bad.append("totals differ")
    if bad:
        print("FAIL: %d difference(s):" % len(bad))
        for m in bad[:a.show]:
            print("  - " + m)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
