#!/usr/bin/env python3
"""colljudge.py -- judge what an independent collector decoded against
ipflow-gen's ground truth.

    colljudge.py --truth FLOWS.csv (--nfdump F | --pmacct F | --tshark F)
                 [--v4-only] [--records N] [--times] [--version V]

Inputs, each written by the peer itself (the test only runs it):
  --nfdump F  lines of  TZ=UTC nfdump -q -N -6 -o 'fmt:%pr|%sa|%da|%sp|%dp|%tos|%pkt|%byt|%ts|%te'
              (%ts/%te, not %tsr/%ter: nfdump 1.7.1's %ter drops the hundreds
              digit of the milliseconds)
  --pmacct F  nfacctd print plugin CSV (aggregate src_host, dst_host, src_port,
              dst_port, proto, tos; print_num_protos true)
  --tshark F  tshark -T json output of the captured export datagrams
  --ipfixdump F  libfixbuf's ipfixDump output (data records with their IEs)

Checks, each one a line of the report:
  * per flow key (af, src, dst, sport, dport, proto, tos) the packets and bytes
    summed over the collector's records equal the truth exactly, and no key is
    missing or invented (--v4-only: the truth's IPv6 keys are left out, as
    v5/v7 cannot carry them);
  * --records N: the collector decoded exactly N flow records;
  * --seq-from N (tshark): the stream's first sequence number is N;
  * --times (nfdump): per key, the earliest record start and the latest record
    end equal the truth's first and last packet times, to the millisecond
    (truncated, as the exporter writes them);
  * tshark only: no datagram carries an expert info (any severity) or a
    malformed mark; every datagram's header count equals the records tshark
    decoded in it, and the header sequence numbers run on without a gap
    (v5/v7 count flows, v9 datagrams, IPFIX data records: RFC 3954 §5.1,
    RFC 7011 §3.1), which proves no datagram was lost on the way.

Exit status 0 when every check holds, 1 otherwise, 2 on unreadable input.
Python 3 standard library only.
"""

import argparse
import csv
import datetime
import ipaddress
import json
import sys


class InputError(Exception):
    pass


def norm_addr(text):
    """(af, packed) for an address in any textual form."""
    try:
        a = ipaddress.ip_address(text.strip())
    except ValueError:
        raise InputError("bad address %r" % text)
    return (a.version, a.packed)


def is_icmp(proto):
    return proto in (1, 58)


def read_truth(path, v4_only):
    keys, skipped = {}, 0
    with open(path, newline="") as f:
        rd = csv.DictReader(f)
        for row in rd:
            af, src = norm_addr(row["src"])
            _, dst = norm_addr(row["dst"])
            if v4_only and af != 4:
                skipped += 1
                continue
            k = (af, src, dst, int(row["sport"]), int(row["dport"]), int(row["proto"]), int(row["tos"]))
            keys[k] = [int(row["packets"]), int(row["bytes"]), int(row["first_us"]), int(row["last_us"])]
    return keys, skipped


class Sums:
    """Per-key sums of what a collector decoded."""

    def __init__(self):
        self.keys = {}
        self.records = 0

    def add(self, src, dst, sport, dport, proto, tos, pkts, octs, t0_ms=None, t1_ms=None):
        af, s = norm_addr(src)
        _, d = norm_addr(dst)
        k = (af, s, d, sport, dport, proto, tos)
        v = self.keys.get(k)
        if v is None:
            v = self.keys[k] = [0, 0, None, None]
        v[0] += pkts
        v[1] += octs
        if t0_ms is not None:
            v[2] = t0_ms if v[2] is None else min(v[2], t0_ms)
            v[3] = t1_ms if v[3] is None else max(v[3], t1_ms)
        self.records += 1


def icmp_port(text):
    """nfdump prints an ICMP type/code destination port as 'T.C'."""
    if "." in text:
        t, c = text.split(".", 1)
        return int(t) * 256 + int(c)
    return int(text)


def utc_ms(text, path, n):
    """'2023-11-14 22:13:20.001' (UTC) to ms since the epoch."""
    try:
        d = datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise InputError("%s:%d: bad time %r" % (path, n, text))
    return int(d.timestamp()) * 1000 + d.microsecond // 1000


def read_nfdump(path, sums):
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            p = [x.strip() for x in line.split("|")]
            if len(p) != 10:
                raise InputError("%s:%d: expected 10 fields, got %r" % (path, n, line))
            proto = int(p[0])
            dport = icmp_port(p[4]) if is_icmp(proto) else int(p[4])
            t0 = utc_ms(p[8], path, n)
            t1 = utc_ms(p[9], path, n)
            sums.add(p[1], p[2], int(p[3]), dport, proto, int(p[5]), int(p[6]), int(p[7]), t0, t1)


def read_pmacct(path, sums):
    with open(path, newline="") as f:
        rd = csv.DictReader(f)
        for row in rd:
            sums.add(row["SRC_IP"], row["DST_IP"], int(row["SRC_PORT"]), int(row["DST_PORT"]),
                     int(row["PROTOCOL"]), int(row["TOS"]), int(row["PACKETS"]), int(row["BYTES"]))


def tshark_flows(node, out):
    """Collect every decoded data record under node, in order."""
    if isinstance(node, dict):
        for k, v in node.items():
            # v9/IPFIX records are "Flow N", v1/v5/v7 ones "pdu N/M"
            if (k.startswith("Flow ") or k.startswith("pdu ")) and isinstance(v, dict):
                out.append(v)
            elif isinstance(v, (dict, list)):
                tshark_flows(v, out)
    elif isinstance(node, list):
        for v in node:
            tshark_flows(v, out)


def count_named(node, prefix):
    n = 0
    if isinstance(node, dict):
        for k, v in node.items():
            if k.startswith(prefix):
                n += 1
            if isinstance(v, (dict, list)):
                n += count_named(v, prefix)
    return n


def expert_text(node):
    """The messages of tshark's expert infos under node."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "_ws.expert.message":
                out.append(str(v))
            elif isinstance(v, (dict, list)):
                out.append(expert_text(v))
    elif isinstance(node, list):
        out += [expert_text(v) for v in node]
    return "; ".join(x for x in out if x)


def traceroute_guesses(node):
    """The marks (as count_named counts them: the expert key and each of its
    _ws.expert.* fields) of tshark's traceroute port guesses under node."""
    n = 0
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "_ws.expert" and isinstance(v, dict) and \
                    str(v.get("_ws.expert.message", "")).startswith("Possible traceroute: hop #"):
                n += 1 + count_named(v, "_ws.expert")
            elif isinstance(v, (dict, list)):
                n += traceroute_guesses(v)
    elif isinstance(node, list):
        n += sum(traceroute_guesses(v) for v in node)
    return n


def read_tshark(path, sums, rep, seq_from=None):
    """Returns the list of problems found in the datagram headers."""
    try:
        with open(path) as f:
            pkts = json.load(f)
    except ValueError as e:
        raise InputError("%s: not tshark JSON: %s" % (path, e))
    problems = []
    expect_seq = None
    for i, p in enumerate(pkts, 1):
        layers = p.get("_source", {}).get("layers", {})
        marks = count_named(layers, "_ws.expert") + count_named(layers, "_ws.malformed")
        # tshark's UDP dissector guesses "Possible traceroute" from a port in
        # 33435-33464; the exporter's source port is the kernel's pick and
        # sometimes lands there. That says nothing of the export: not counted.
        marks -= traceroute_guesses(layers.get("udp", {}))
        if marks:
            problems.append("datagram %d: %d expert info or malformed marks: %s" % (i, marks, expert_text(layers)))
        cf = layers.get("cflow")
        if cf is None:
            problems.append("datagram %d: tshark did not decode it as NetFlow/IPFIX" % i)
            continue
        if isinstance(cf, list):
            problems.append("datagram %d: %d export messages in one datagram" % (i, len(cf)))
            continue
        ver = int(cf["cflow.version"])
        seq = int(cf.get("cflow.sequence", "0"))
        flows = []
        tshark_flows(cf, flows)
        data = [fl for fl in flows if "cflow.packets" in fl]
        opt = len(flows) - len(data)
        tmpls = count_named(cf, "Template (Id") + count_named(cf, "Options Template (Id")
        if ver in (1, 5, 7, 9):
            have = len(flows) + tmpls
            want = int(cf["cflow.count"])
            if have != want:
                problems.append("datagram %d: header count %d, tshark decoded %d records" % (i, want, have))
        if ver != 1:
            if expect_seq is None and seq_from is not None and seq != seq_from:
                problems.append("datagram %d: first sequence %d, expected %d" % (i, seq, seq_from))
            if expect_seq is not None and seq != expect_seq:
                problems.append("datagram %d: sequence %d, expected %d (lost or repeated datagrams)"
                                % (i, seq, expect_seq))
            step = {5: len(flows), 7: len(flows), 9: 1, 10: len(flows)}[ver]
            expect_seq = (seq + step) & 0xFFFFFFFF
        rep["datagrams"] = rep.get("datagrams", 0) + 1
        rep["options records"] = rep.get("options records", 0) + opt
        rep["template records"] = rep.get("template records", 0) + tmpls
        for fl in data:
            v6 = "cflow.srcaddrv6" in fl
            src = fl["cflow.srcaddrv6" if v6 else "cflow.srcaddr"]
            dst = fl["cflow.dstaddrv6" if v6 else "cflow.dstaddr"]
            proto = int(fl["cflow.protocol"])
            dport = int(fl.get("cflow.dstport", "0"))
            tos = int(fl.get("cflow.tos", "0"), 0)
            sums.add(src, dst, int(fl.get("cflow.srcport", "0")), dport, proto, tos,
                     int(fl["cflow.packets"]), int(fl["cflow.octets"]))
    return problems


IPFIXDUMP_FIELDS = {8: "src", 27: "src", 12: "dst", 28: "dst", 7: "sport", 11: "dport",
                    4: "proto", 5: "tos", 2: "pkts", 1: "octs"}


def read_ipfixdump(path, sums, rep):
    """ipfixDump prints each data record as '--- data record N ---' and
    then one '(IE) name : value' line per field."""
    rec = None

    def done(r):
        if r is None:
            return
        if "pkts" not in r:
            rep["options records"] = rep.get("options records", 0) + 1
            return
        sums.add(r["src"], r["dst"], int(r.get("sport", 0)), int(r.get("dport", 0)), int(r["proto"]),
                 int(r.get("tos", 0)), int(r["pkts"]), int(r["octs"]))

    with open(path) as f:
        for line in f:
            t = line.strip()
            if t.startswith("--- "):
                done(rec)
                rec = {} if t.startswith("--- data record") else None
                continue
            if rec is None or not t.startswith("("):
                continue
            ie, _, rest = t[1:].partition(")")
            name, _, val = rest.partition(" : ")
            k = IPFIXDUMP_FIELDS.get(int(ie)) if ie.isdigit() else None
            if k:
                rec[k] = val.strip()
        done(rec)


def key_str(k):
    af, s, d, sp, dp, pr, tos = k
    return "%s:%d > %s:%d proto %d tos %d" % (ipaddress.ip_address(s), sp, ipaddress.ip_address(d), dp, pr, tos)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--truth", required=True)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--nfdump")
    src.add_argument("--pmacct")
    src.add_argument("--tshark")
    src.add_argument("--ipfixdump")
    ap.add_argument("--v4-only", action="store_true")
    ap.add_argument("--records", type=int)
    ap.add_argument("--times", action="store_true")
    ap.add_argument("--seq-from", type=int, help="tshark: the first datagram's sequence number")
    a = ap.parse_args()

    try:
        truth, skipped = read_truth(a.truth, a.v4_only)
        sums = Sums()
        rep = {}
        problems = []
        if a.nfdump:
            read_nfdump(a.nfdump, sums)
        elif a.pmacct:
            read_pmacct(a.pmacct, sums)
        elif a.ipfixdump:
            read_ipfixdump(a.ipfixdump, sums, rep)
        else:
            problems += read_tshark(a.tshark, sums, rep, a.seq_from)
    except (OSError, InputError, KeyError) as e:
        print("colljudge: %s" % e, file=sys.stderr)
        return 2

    tp = sum(v[0] for v in truth.values())
    tb = sum(v[1] for v in truth.values())
    cp = sum(v[0] for v in sums.keys.values())
    cb = sum(v[1] for v in sums.keys.values())
    print("truth:     %d keys, %d packets, %d bytes%s" % (len(truth), tp, tb,
          " (%d IPv6 keys left out)" % skipped if a.v4_only else ""))
    print("collector: %d keys, %d records, %d packets, %d bytes" % (len(sums.keys), sums.records, cp, cb))
    for k in sorted(rep):
        print("           %d %s" % (rep[k], k))

    bad = 0
    shown = 0
    for k, v in truth.items():
        s = sums.keys.get(k)
        why = None
        if s is None:
            why = "missing"
        elif s[0] != v[0] or s[1] != v[1]:
            why = "packets %d bytes %d, truth %d %d" % (s[0], s[1], v[0], v[1])
        elif a.times and (s[2] != v[2] // 1000 or s[3] != v[3] // 1000):
            why = "first/last %s/%s ms, truth %d/%d" % (s[2], s[3], v[2] // 1000, v[3] // 1000)
        if why:
            bad += 1
            if shown < 10:
                print("  key %s: %s" % (key_str(k), why))
                shown += 1
    extra = [k for k in sums.keys if k not in truth]
    for k in extra[:10]:
        print("  key %s: not in the truth (%d packets)" % (key_str(k), sums.keys[k][0]))
    for p in problems[:10]:
        print("  " + p)
    ok = bad == 0 and not extra and not problems
    if a.records is not None and sums.records != a.records:
        print("  records: collector decoded %d, exporter sent %d" % (sums.records, a.records))
        ok = False
    print("%s: %d keys differ, %d extra, %d header problems%s" % (
        "EQUAL" if ok else "DIFFERENT", bad, len(extra), len(problems),
        ", times checked" if a.times else ""))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
