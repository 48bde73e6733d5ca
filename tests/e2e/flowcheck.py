#!/usr/bin/env python3
"""flowcheck.py -- judge an ipflowd flow log against ipflow-gen's ground truth.

Exact mode (file input, packet-time clock):

    flowcheck.py --truth-packets P.csv --log LOG.jsonl --active SEC --inactive SEC
                 [--cache-type normal|permanent|immediate] [--truth FLOWS.csv]

simulates the IOS expiry rules over the packet truth, independently of
ipflowd, and compares per flow key the exact sequence of exported records
(packets, bytes, flowStartMicroseconds, flowEndMicroseconds, tcpControlBits
OR, and flowEndReason and min/max IP total length where the log has them), the
totals, and with --truth the per-key sums against the generator's flow file.

Sums mode (live capture, where timing splits are not deterministic):

    flowcheck.py --truth FLOWS.csv --log LOG.jsonl --sums-only

compares only the per-key packet and byte sums.

Logs are JSON lines (default) or CSV with a header of the same IPFIX names
(--csv, or a path given as csv:PATH). Exit status: 0 equal, 1 any
difference, 2 usage or unreadable input. Python 3 standard library only.

The rules simulated (times in microseconds; t is the packet's timestamp made
non-decreasing; a record has first f and last l; A active, I inactive):
 1. before a packet at t is counted, a record with t >= l+I or t >= f+A is
    exported, reason 2 (active) if f+A < l+I else 1 (idle);
 2. the packet is added to its key's record (new record with f = t if none);
 3. TCP with FIN or RST closes the record after it is counted: reason 3;
 4. at end of input every open record is exported: reason 4;
 5. immediate cache: one record a packet, f = l = t, reason 4; permanent
    cache: only the active part of rule 1 (reason 2), then rule 4.
Whether a key's record is exported before that key's next packet depends
only on the times of that key's own packets, and its content only on f, l
and the counters, so the simulation runs per key; only rule 4 needs the
global clock (a record whose deadline the input's last packet reached was
exported by rule 1 at that packet, not by rule 4).
"""

import argparse
import csv
import gc
import json
import socket
import sys

FIN, RST = 0x01, 0x04
REASON_NAME = {1: "idle", 2: "active", 3: "end-of-flow", 4: "forced-end", 5: "lack-of-resources"}


class InputError(Exception):
    pass


# ---------------------------------------------------------------- keys

_addr_cache = {}


def addr_bytes(af, text):
    """Address text (any valid form) to packed bytes; cached."""
    k = (af, text)
    b = _addr_cache.get(k)
    if b is None:
        try:
            b = socket.inet_pton(socket.AF_INET6 if af == 6 else socket.AF_INET, text.strip())
        except (OSError, ValueError):
            raise InputError("bad IPv%d address %r" % (af, text))
        _addr_cache[k] = b
    return b


def key_str(key):
    af, src, dst, sport, dport, proto, tos = key
    fam = socket.AF_INET6 if af == 6 else socket.AF_INET
    s, d = socket.inet_ntop(fam, src), socket.inet_ntop(fam, dst)
    if af == 6:
        s, d = "[%s]" % s, "[%s]" % d
    return "%s:%d > %s:%d proto %d tos %d" % (s, sport, d, dport, proto, tos)


def is_icmp(af, proto):
    return (af == 4 and proto == 1) or (af == 6 and proto == 58)


# ---------------------------------------------------------------- truth

def open_text(path):
    try:
        return open(path, newline="")
    except OSError as e:
        raise InputError("%s: %s" % (path, e.strerror))


def header_index(path, header, names):
    idx = {}
    for n in names:
        try:
            idx[n] = header.index(n)
        except ValueError:
            raise InputError("%s: header has no column %r (header: %s)" % (path, n, ",".join(header)))
    return idx


PKT_COLS = ("ts_us", "af", "src", "dst", "sport", "dport", "proto", "tos", "ip_len", "tcp_flags")
FLOW_COLS = ("af", "src", "dst", "sport", "dport", "proto", "tos", "packets", "bytes", "first_us", "last_us")


def read_packets(path):
    """Yield (ts_us, key, ip_len, tcp_flags) in file order."""
    with open_text(path) as f:
        rd = csv.reader(f)
        header = next(rd, None)
        if header is None:
            raise InputError("%s: empty file" % path)
        ix = header_index(path, [h.strip() for h in header], PKT_COLS)
        its, iaf, isrc, idst, isp, idp, ipr, itos, ilen, ifl = (ix[c] for c in PKT_COLS)
        keys = {}
        for line, row in enumerate(rd, 2):
            if not row:
                continue
            try:
                kt = (row[iaf], row[isrc], row[idst], row[isp], row[idp], row[ipr], row[itos])
                key = keys.get(kt)
                if key is None:
                    af = int(kt[0])
                    key = (af, addr_bytes(af, kt[1]), addr_bytes(af, kt[2]),
                           int(kt[3]), int(kt[4]), int(kt[5]), int(kt[6]))
                    keys[kt] = key
                fl = row[ifl]
                yield int(row[its]), key, int(row[ilen]), (int(fl, 0) if fl else 0)
            except (IndexError, ValueError, InputError) as e:
                raise InputError("%s:%d: %s" % (path, line, e))


def read_flows(path):
    """The --truth file: key -> [packets, bytes, first_us, last_us]."""
    out = {}
    with open_text(path) as f:
        rd = csv.reader(f)
        header = next(rd, None)
        if header is None:
            raise InputError("%s: empty file" % path)
        ix = header_index(path, [h.strip() for h in header], FLOW_COLS)
        for line, row in enumerate(rd, 2):
            if not row:
                continue
            try:
                af = int(row[ix["af"]])
                key = (af, addr_bytes(af, row[ix["src"]]), addr_bytes(af, row[ix["dst"]]),
                       int(row[ix["sport"]]), int(row[ix["dport"]]), int(row[ix["proto"]]),
                       int(row[ix["tos"]]))
                v = [int(row[ix[c]]) for c in ("packets", "bytes", "first_us", "last_us")]
            except (IndexError, ValueError, InputError) as e:
                raise InputError("%s:%d: %s" % (path, line, e))
            if key in out:
                raise InputError("%s:%d: flow key %s appears twice" % (path, line, key_str(key)))
            out[key] = v
    return out


# ---------------------------------------------------------------- simulation

# A record is a list: [first_us, last_us, packets, bytes, flags, reason, min_len, max_len]
F, L, P, B, FL, R, MINL, MAXL = range(8)


def simulate(packets, active_us, inactive_us, cache_type):
    """Run the expiry rules; return (records per key, stats)."""
    recs = {}            # key -> list of closed records, in export order
    open_ = {}           # key -> open record
    clock = None
    npk = 0
    backwards = 0
    permanent = cache_type == "permanent"
    immediate = cache_type == "immediate"
    for ts, key, ln, flags in packets:
        npk += 1
        if clock is None or ts >= clock:
            clock = ts
        else:
            backwards += 1
        t = clock
        if immediate:
            recs.setdefault(key, []).append([t, t, 1, ln, flags, 4, ln, ln])
            continue
        r = open_.get(key)
        if r is not None:
            fa = r[F] + active_us
            if permanent:
                if t >= fa:
                    r[R] = 2
                    recs.setdefault(key, []).append(r)
                    r = None
            else:
                li = r[L] + inactive_us
                if t >= li or t >= fa:
                    r[R] = 2 if fa < li else 1
                    recs.setdefault(key, []).append(r)
                    r = None
        if r is None:
            r = [t, t, 1, ln, flags, 0, ln, ln]
            open_[key] = r
        else:
            r[L] = t
            r[P] += 1
            r[B] += ln
            r[FL] |= flags
            if ln < r[MINL]:
                r[MINL] = ln
            if ln > r[MAXL]:
                r[MAXL] = ln
        if not permanent and key[5] == 6 and flags & (FIN | RST):
            r[R] = 3
            recs.setdefault(key, []).append(r)
            del open_[key]
    # Rule 4, with rule 1 for deadlines the last packet already reached.
    for key, r in open_.items():
        fa = r[F] + active_us
        if permanent:
            r[R] = 2 if clock >= fa else 4
        else:
            li = r[L] + inactive_us
            r[R] = (2 if fa < li else 1) if (clock >= li or clock >= fa) else 4
        recs.setdefault(key, []).append(r)
    return recs, {"packets": npk, "backwards": backwards, "last": clock}


# ---------------------------------------------------------------- the log

def _int_slow(v):
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        raise ValueError("boolean where a number was expected")
    if isinstance(v, float):
        if v != int(v):
            raise ValueError("non-integer %r" % v)
        return int(v)
    v = str(v).strip()
    return int(v, 0) if v.startswith("0x") else int(v)


def _int(v):
    return v if type(v) is int else _int_slow(v)


class LogRecord:
    __slots__ = ("key", "packets", "bytes", "start_us", "end_us", "start_ms", "end_ms",
                 "reason", "flags", "min_len", "max_len", "line", "icmp", "dport_field")


_V4 = (4, "sourceIPv4Address", "destinationIPv4Address", "icmpTypeCodeIPv4")
_V6 = (6, "sourceIPv6Address", "destinationIPv6Address", "icmpTypeCodeIPv6")
_key_cache = {}


LOG_NAME = ["log"]   # the log's path, for messages; records keep only a line number


def loc(r):
    return "%s:%d" % (LOG_NAME[0], r.line)


def parse_record(d, n):
    """One log record (a dict of IPFIX names) on line n to a LogRecord."""
    r = LogRecord()
    r.line = n
    g = d.get
    if g("sourceIPv4Address") not in (None, ""):
        af, sk, dk, ik = _V4
    elif g("sourceIPv6Address") not in (None, ""):
        af, sk, dk, ik = _V6
    else:
        raise InputError("%s: record has neither sourceIPv4Address nor sourceIPv6Address" % loc(r))
    try:
        raw = (af, d[sk], d[dk], g("sourceTransportPort"), g("destinationTransportPort"),
               d["protocolIdentifier"], g("ipClassOfService"), g(ik))
        ent = _key_cache.get(raw)
        if ent is None:
            proto = _int(raw[5])
            sport = _int(raw[3]) or 0
            dport = _int(raw[4]) or 0
            icmp = _int(raw[7])
            dport_field = dport
            # ICMP: the flow key's dport is type*256+code (NetFlow convention).
            # A log may carry it in destinationTransportPort, in icmpTypeCode*,
            # or both; icmpTypeCode* wins when present (consistency is checked).
            if is_icmp(af, proto) and icmp is not None:
                dport = icmp
            key = (af, addr_bytes(af, str(raw[1])), addr_bytes(af, str(raw[2])),
                   sport, dport, proto, _int(raw[6]) or 0)
            ent = _key_cache[raw] = (key, icmp, dport_field)
        r.key, r.icmp, r.dport_field = ent
        r.packets = _int(d["packetDeltaCount"])
        r.bytes = _int(d["octetDeltaCount"])
        r.start_us = _int(g("flowStartMicroseconds"))
        r.end_us = _int(g("flowEndMicroseconds"))
        r.start_ms = _int(g("flowStartMilliseconds"))
        r.end_ms = _int(g("flowEndMilliseconds"))
        r.reason = _int(g("flowEndReason"))
        r.flags = _int(g("tcpControlBits")) or 0
        r.min_len = _int(g("minimumIpTotalLength"))
        r.max_len = _int(g("maximumIpTotalLength"))
    except KeyError as e:
        raise InputError("%s: record has no %s" % (loc(r), e))
    except (ValueError, TypeError) as e:
        raise InputError("%s: %s" % (loc(r), e))
    if r.packets is None or r.bytes is None:
        raise InputError("%s: empty packetDeltaCount or octetDeltaCount" % loc(r))
    return r


def read_log(path, is_csv):
    if path.startswith("csv:"):
        path, is_csv = path[4:], True
    elif path.startswith("jsonl:"):
        path = path[6:]
    LOG_NAME[0] = path
    out = []
    with open_text(path) as f:
        if is_csv:
            rd = csv.DictReader(f)
            for n, d in enumerate(rd, 2):
                out.append(parse_record(d, n))
        else:
            loads = json.loads
            for n, line in enumerate(f, 1):
                try:
                    d = loads(line)
                except ValueError as e:
                    if not line.strip():
                        continue
                    raise InputError("%s:%d: not a JSON line: %s" % (path, n, e))
                if type(d) is not dict:
                    raise InputError("%s:%d: not a JSON object" % (path, n))
                out.append(parse_record(d, n))
    return out


# ---------------------------------------------------------------- compare

class Report:
    def __init__(self, show):
        self.show = show
        self.count = 0
        self.lines = []

    def add(self, msg):
        self.count += 1
        if len(self.lines) < self.show:
            self.lines.append(msg)


def fmt_time(us):
    return "None" if us is None else "%d.%06d" % divmod(us, 1000000)


def check_consistency(log, rep):
    """Checks on the log alone: ms fields are floor(us/1000), ICMP fields agree."""
    for r in log:
        for name, us, ms in (("flowStart", r.start_us, r.start_ms), ("flowEnd", r.end_us, r.end_ms)):
            if us is not None and ms is not None and us // 1000 != ms:
                rep.add("%s: %sMilliseconds %d is not %sMicroseconds %d / 1000"
                        % (loc(r), name, ms, name, us))
        if r.start_us is None and r.start_ms is None:
            rep.add("%s: no flowStartMicroseconds or flowStartMilliseconds" % loc(r))
        if r.end_us is None and r.end_ms is None:
            rep.add("%s: no flowEndMicroseconds or flowEndMilliseconds" % loc(r))
        if r.start_us is not None and r.end_us is not None and r.end_us < r.start_us:
            rep.add("%s: flow ends (%s) before it starts (%s)" % (loc(r), fmt_time(r.end_us), fmt_time(r.start_us)))
        af, proto = r.key[0], r.key[5]
        if is_icmp(af, proto):
            if r.icmp is not None and r.dport_field not in (0, r.icmp):
                rep.add("%s: ICMP destinationTransportPort %d disagrees with icmpTypeCode %d"
                        % (loc(r), r.dport_field, r.icmp))
        elif r.icmp is not None:
            rep.add("%s: icmpTypeCode on a non-ICMP record (proto %d)" % (loc(r), proto))
        if r.packets is not None and r.packets <= 0:
            rep.add("%s: packetDeltaCount %d" % (loc(r), r.packets))


def rec_diff(exp, got):
    """Differences between an expected record and a LogRecord, as text."""
    d = []
    if exp[P] != got.packets:
        d.append("packets got %d want %d" % (got.packets, exp[P]))
    if exp[B] != got.bytes:
        d.append("bytes got %d want %d" % (got.bytes, exp[B]))
    if got.start_us is not None:
        if exp[F] != got.start_us:
            d.append("start got %s want %s" % (fmt_time(got.start_us), fmt_time(exp[F])))
    elif got.start_ms is not None and exp[F] // 1000 != got.start_ms:
        d.append("start(ms) got %d want %d" % (got.start_ms, exp[F] // 1000))
    if got.end_us is not None:
        if exp[L] != got.end_us:
            d.append("end got %s want %s" % (fmt_time(got.end_us), fmt_time(exp[L])))
    elif got.end_ms is not None and exp[L] // 1000 != got.end_ms:
        d.append("end(ms) got %d want %d" % (got.end_ms, exp[L] // 1000))
    if got.reason is not None and exp[R] != got.reason:  # Flexible NetFlow records may carry none
        d.append("reason got %s want %s" % (got.reason, "%d (%s)" % (exp[R], REASON_NAME[exp[R]])))
    if exp[FL] != got.flags:
        d.append("tcpControlBits got 0x%02x want 0x%02x" % (got.flags, exp[FL]))
    if got.min_len is not None and got.min_len != exp[MINL]:
        d.append("minimumIpTotalLength got %d want %d" % (got.min_len, exp[MINL]))
    if got.max_len is not None and got.max_len != exp[MAXL]:
        d.append("maximumIpTotalLength got %d want %d" % (got.max_len, exp[MAXL]))
    return d


def exp_str(e):
    return "[%d pkts %d B %s..%s reason %d flags 0x%02x]" % (
        e[P], e[B], fmt_time(e[F]), fmt_time(e[L]), e[R], e[FL])


def got_str(g):
    return "[%s pkts %s B %s..%s reason %s flags 0x%02x (%s)]" % (
        g.packets, g.bytes, fmt_time(g.start_us), fmt_time(g.end_us), g.reason, g.flags, loc(g))


def compare_records(expected, by_key, rep):
    for key, exp in expected.items():
        got = by_key.get(key, [])
        if not got:
            rep.add("%s: missing from the log: expected %d record(s), first %s"
                    % (key_str(key), len(exp), exp_str(exp[0])))
            continue
        for i in range(max(len(exp), len(got))):
            if i >= len(exp):
                rep.add("%s: record %d/%d is extra: %s" % (key_str(key), i + 1, len(got), got_str(got[i])))
                break
            if i >= len(got):
                rep.add("%s: log has %d record(s), expected %d; next expected %s"
                        % (key_str(key), len(got), len(exp), exp_str(exp[i])))
                break
            d = rec_diff(exp[i], got[i])
            if d:
                e = exp[i]
                why = "expected end: %s" % REASON_NAME.get(e[R], e[R])
                if i + 1 < len(exp):
                    nxt = exp[i + 1][F]
                    why += ", next packet at %s is %.6fs after the last, %.6fs after the first" % (
                        fmt_time(nxt), (nxt - e[L]) / 1e6, (nxt - e[F]) / 1e6)
                rep.add("%s: record %d (%s): %s [%s]"
                        % (key_str(key), i + 1, loc(got[i]), "; ".join(d), why))
                break   # later records of this key are usually shifted: one line a key
    for key, got in by_key.items():
        if key not in expected:
            rep.add("%s: in the log (%d record(s), first %s) but not in the truth"
                    % (key_str(key), len(got), got_str(got[0])))


def sums_of(by_key):
    out = {}
    for key, rs in by_key.items():
        first = [r.start_us for r in rs if r.start_us is not None]
        last = [r.end_us for r in rs if r.end_us is not None]
        out[key] = [sum(r.packets for r in rs), sum(r.bytes for r in rs),
                    min(first) if first else None, max(last) if last else None]
    return out


def compare_sums(truth, sums, rep, label, times=True):
    for key, t in truth.items():
        s = sums.get(key)
        if s is None:
            rep.add("%s: %s: key missing from the log (%d pkts %d B)" % (label, key_str(key), t[0], t[1]))
            continue
        d = []
        if s[0] != t[0]:
            d.append("packets got %d want %d" % (s[0], t[0]))
        if s[1] != t[1]:
            d.append("bytes got %d want %d" % (s[1], t[1]))
        if times and s[2] is not None and s[2] != t[2]:
            d.append("first got %s want %s" % (fmt_time(s[2]), fmt_time(t[2])))
        if times and s[3] is not None and s[3] != t[3]:
            d.append("last got %s want %s" % (fmt_time(s[3]), fmt_time(t[3])))
        if d:
            rep.add("%s: %s: %s" % (label, key_str(key), "; ".join(d)))
    for key, s in sums.items():
        if key not in truth:
            rep.add("%s: %s: in the log (%d pkts %d B) but not in the truth" % (label, key_str(key), s[0], s[1]))


def reasons_of(recs):
    c = {}
    for r in recs:
        c[r] = c.get(r, 0) + 1
    return " ".join("%s=%d" % (REASON_NAME.get(k, str(k)), v) for k, v in sorted(c.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--truth-packets", metavar="P.csv", help="ipflow-gen --truth-packets file")
    ap.add_argument("--truth", metavar="FLOWS.csv", help="ipflow-gen --truth file (per-key sums)")
    ap.add_argument("--log", required=True, metavar="LOG", help="ipflowd flow log (JSON lines; csv:PATH for CSV)")
    ap.add_argument("--csv", action="store_true", help="the log is CSV with a header of IPFIX names")
    ap.add_argument("--active", type=float, default=1800, metavar="SEC", help="active timeout (default 1800)")
    ap.add_argument("--inactive", type=float, default=15, metavar="SEC", help="inactive timeout (default 15)")
    ap.add_argument("--cache-type", choices=("normal", "permanent", "immediate"), default="normal")
    ap.add_argument("--sums-only", action="store_true",
                    help="compare only per-key packet/byte sums with --truth (live capture)")
    ap.add_argument("--show", type=int, default=10, metavar="N", help="mismatches to print (default 10)")
    ap.add_argument("-q", "--quiet", action="store_true", help="print only on failure")
    a = ap.parse_args(argv)
    if a.sums_only and not a.truth:
        ap.error("--sums-only needs --truth")
    if not a.sums_only and not a.truth_packets:
        ap.error("--truth-packets is required (or --sums-only with --truth)")

    # Millions of small lists and records, no reference cycles: the cyclic
    # collector would only rescan them over and over.
    gc.disable()
    out = []
    rep = Report(a.show)
    try:
        log = read_log(a.log, a.csv)
        by_key = {}
        for r in log:
            by_key.setdefault(r.key, []).append(r)
        got_pk = sum(r.packets for r in log)
        got_by = sum(r.bytes for r in log)
        check_consistency(log, rep)
        emergency = sum(1 for r in log if r.reason == 5)

        if a.sums_only:
            truth = read_flows(a.truth)
            exp_pk = sum(v[0] for v in truth.values())
            exp_by = sum(v[1] for v in truth.values())
            out.append("flowcheck (sums only): %d log records over %d keys; truth %d keys"
                       % (len(log), len(by_key), len(truth)))
            out.append("  packets expected %d got %d; bytes expected %d got %d"
                       % (exp_pk, got_pk, exp_by, got_by))
            compare_sums(truth, sums_of(by_key), rep, "sums", times=False)
        else:
            active_us = int(round(a.active * 1e6))
            inactive_us = int(round(a.inactive * 1e6))
            expected, st = simulate(read_packets(a.truth_packets), active_us, inactive_us, a.cache_type)
            exp_recs = [r for rs in expected.values() for r in rs]
            exp_pk = sum(r[P] for r in exp_recs)
            exp_by = sum(r[B] for r in exp_recs)
            out.append("flowcheck: cache %s, active %gs, inactive %gs: %d packets, %d keys"
                       % (a.cache_type, a.active, a.inactive, st["packets"], len(expected)))
            if st["backwards"]:
                out.append("  note: %d packet timestamps went backwards (clock held)" % st["backwards"])
            out.append("  records expected %d got %d; packets expected %d got %d; bytes expected %d got %d"
                       % (len(exp_recs), len(log), exp_pk, got_pk, exp_by, got_by))
            out.append("  reasons expected: %s" % reasons_of(r[R] for r in exp_recs))
            out.append("  reasons got:      %s" % reasons_of(r.reason for r in log))
            if len(exp_recs) != len(log):
                rep.add("total records: got %d, expected %d" % (len(log), len(exp_recs)))
            compare_records(expected, by_key, rep)
            if a.truth:
                truth = read_flows(a.truth)
                # The generator's two truth files must agree with each other...
                sim_sums = {k: [sum(r[P] for r in rs), sum(r[B] for r in rs), rs[0][F], rs[-1][L]]
                            for k, rs in expected.items()}
                gen = Report(a.show)
                compare_sums(truth, sim_sums, gen, "truth files disagree (generator bug?)")
                for m in gen.lines:
                    rep.add(m)
                rep.count += gen.count - len(gen.lines)
                # ...and the log must sum to the flow truth per key.
                compare_sums(truth, sums_of(by_key), rep, "per-key sums")
        if got_pk != exp_pk or got_by != exp_by:
            rep.add("totals: packets got %d expected %d; bytes got %d expected %d"
                    % (got_pk, exp_pk, got_by, exp_by))
        if emergency:
            out.append("  note: %d record(s) have flowEndReason 5 (emergency expiry): "
                       "the cache was too small for an exact comparison" % emergency)
    except InputError as e:
        print("flowcheck: %s" % e, file=sys.stderr)
        return 2

    if rep.count:
        out.append("FAIL: %d mismatch(es)%s:" % (rep.count, ", first %d" % len(rep.lines) if rep.count > len(rep.lines) else ""))
        out.extend("  - " + m for m in rep.lines)
        print("\n".join(out))
        return 1
    if not a.quiet:
        out.append("OK")
        print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
