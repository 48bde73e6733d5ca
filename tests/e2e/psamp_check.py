#!/usr/bin/env python3
"""psamp_check.py — judge IPFIX packet-section export (IE 315) against the
input capture, independently of ipflowd's code.

  psamp_check.py INPUT.pcap COLLECTED.pcap PORT --n N --traffic l2|ip|ipv6
                 --ifindex I [--dir in|out] [--algo A] [--min-kinds K]
  psamp_check.py strip-eth COLLECTED.pcap RAW.pcap   (for tshark, see strip_eth)

INPUT.pcap is what ipflowd read; COLLECTED.pcap is what the collector
(udp2pcap.py) received on PORT. This script has its own pcap reader, its
own IPFIX message parser (templates, variable-length fields, RFC 7011) and
its own walk of the headers (Ethernet, 802.1Q/QinQ, MPLS, IPv4, IPv6
extension headers, GRE, IP-in-IP) giving the section length by the rule:
up to the end of the innermost transport header, 160 bytes when that does
not end within 160 bytes (or there is none), the whole frame when shorter.

Checked: the deterministic sampler took exactly frames N, 2N, 3N... of the
attachment's traffic (every frame for l2, IPv4 frames for ip, IPv6 for
ipv6), so len(records) == floor(frames / N), in order; each record's
dataLinkFrameSection equals the first bytes of its frame with the length
the rule gives; dataLinkFrameSize is the frame's original length;
ingress/egressInterface, samplingInterval, samplingAlgorithm and
observationTimeMicroseconds (NTP, to the microsecond) are right; IPFIX
sequence numbers count the data records. Prints the mix of encapsulations
among the sampled frames (--min-kinds: fail when fewer kinds were seen)."""
import argparse
import struct
import sys

IE = {"time": 324, "in": 10, "out": 14, "interval": 34, "algo": 35, "size": 312, "section": 315}


def read_pcap(path):
    with open(path, "rb") as f:
        d = f.read()
    magic = struct.unpack("<I", d[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        e = ">"
    else:
        raise SystemExit("%s: not a pcap file" % path)
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    lt = struct.unpack(e + "I", d[20:24])[0]
    out, o = [], 24
    while o + 16 <= len(d):
        sec, frac, incl, orig = struct.unpack(e + "IIII", d[o:o + 16])
        o += 16
        us = sec * 1000000 + (frac // 1000 if nano else frac)
        out.append((us, d[o:o + incl], orig))
        o += incl
    return lt, out


def u16(b, o):
    return struct.unpack("!H", b[o:o + 2])[0]


def u32(b, o):
    return struct.unpack("!I", b[o:o + 4])[0]


class Walk:
    """The header walk of one frame: the end of its innermost transport
    header (None if none) and the kinds of headers met."""

    def __init__(self, b):
        self.b = b
        self.kinds = set()
        self.af = None
        try:
            self.end = self.eth(0, 0)
        except (IndexError, struct.error):
            self.end = None

    def need(self, n):
        if n > len(self.b):
            raise IndexError

    def eth(self, o, depth):
        b = self.b
        self.need(o + 14)
        et, o = u16(b, o + 12), o + 14
        tags = 0
        while et in (0x8100, 0x88A8, 0x9100):
            self.need(o + 4)
            self.kinds.add("qinq" if tags else "vlan")
            et, o, tags = u16(b, o + 2), o + 4, tags + 1
            if tags > 4:
                return None
        if et in (0x8847, 0x8848):
            self.kinds.add("mpls")
            for _ in range(8):
                self.need(o + 4)
                e, o = u32(b, o), o + 4
                if e & 0x100:
                    break
            else:
                return None
            self.need(o + 1)
            v = b[o] >> 4
            et = 0x0800 if v == 4 else 0x86DD if v == 6 else None
        if et == 0x0800:
            return self.ip4(o, depth)
        if et == 0x86DD:
            return self.ip6(o, depth)
        self.kinds.add("not-ip")
        return None

    def ip4(self, o, depth):
        b = self.b
        self.need(o + 20)
        if self.af is None:
            self.af = 4
        if depth:
            self.kinds.add("inner-ipv4")
        ihl = (b[o] & 15) * 4
        frag = u16(b, o + 6)
        if frag & 0x3FFF:
            self.kinds.add("fragment")
        if frag & 0x1FFF:
            return None
        if ihl > 20:
            self.kinds.add("ipv4-options")
        return self.ulp(o + ihl, b[o + 9], depth)

    def ip6(self, o, depth):
        b = self.b
        self.need(o + 40)
        if self.af is None:
            self.af = 6
        if depth:
            self.kinds.add("inner-ipv6")
        nh, p = b[o + 6], o + 40
        while nh in (0, 43, 60, 135, 44, 51):
            self.kinds.add("ipv6-ext")
            self.need(p + 8)
            if nh == 44:
                self.kinds.add("fragment")
                if u16(b, p + 2) & 0xFFF8:
                    return None
                nh, p = b[p], p + 8
            elif nh == 51:
                nh, p = b[p], p + (b[p + 1] + 2) * 4
            else:
                nh, p = b[p], p + (b[p + 1] + 1) * 8
        return self.ulp(p, nh, depth)

    def ulp(self, p, proto, depth):
        b = self.b
        if proto == 6:
            self.need(p + 13)
            self.kinds.add("tcp")
            return p + (b[p + 12] >> 4) * 4
        if proto in (17, 1, 58, 2):
            self.kinds.add({17: "udp", 1: "icmp", 58: "icmpv6", 2: "igmp"}[proto])
            return p + 8
        if proto == 132:
            self.kinds.add("sctp")
            return p + 12
        if depth >= 4:
            return None
        if proto == 47:
            self.kinds.add("gre")
            self.need(p + 4)
            flags, et = u16(b, p), u16(b, p + 2)
            if flags & 0x4007:
                return None
            q = p + 4 + 4 * sum(1 for m in (0x8000, 0x2000, 0x1000) if flags & m)
            if et in (0x0800, 0x86DD):
                self.need(q + 1)
                v = b[q] >> 4
                return self.ip4(q, depth + 1) if v == 4 else self.ip6(q, depth + 1) if v == 6 else None
            if et == 0x6558:
                return self.eth(q, depth + 1)
            return None
        if proto == 4:
            self.kinds.add("ip-in-ip")
            return self.ip4(p, depth + 1)
        if proto == 41:
            self.kinds.add("ip-in-ip")
            return self.ip6(p, depth + 1)
        self.kinds.add("proto-%d" % proto)
        return None


def section_len(w):
    n = w.end if w.end and w.end <= 160 else 160
    return min(n, len(w.b))


def parse_ipfix(frames, port, fail):
    """Data records as dicts {ie: bytes} in arrival order."""
    tmpls, recs, seq_next = {}, [], {}
    for _, f, _ in frames:
        if len(f) < 42 or u16(f, 12) != 0x0800 or f[23] != 17 or u16(f, 36) != port:
            continue
        ihl = (f[14] & 15) * 4
        m = f[14 + ihl + 8:]
        if len(m) < 16 or u16(m, 0) != 10 or u16(m, 2) != len(m):
            fail("not a whole IPFIX message (%d bytes)" % len(m))
            continue
        seq, dom = u32(m, 8), (u16(f, 14 + ihl), u32(m, 12))  # a stream: source port and domain
        if dom in seq_next and seq != seq_next[dom]:
            fail("port %u domain %u: sequence %u, want %u" % (dom + (seq, seq_next[dom])))
        seq_next[dom] = seq
        o = 16
        while o + 4 <= len(m):
            sid, slen = u16(m, o), u16(m, o + 2)
            if slen < 4 or o + slen > len(m):
                fail("set length %d at %d" % (slen, o))
                break
            body, o = m[o + 4:o + slen], o + slen
            if sid == 2:
                q = 0
                while q + 4 <= len(body):
                    tid, n = u16(body, q), u16(body, q + 2)
                    q += 4
                    fl = []
                    for _ in range(n):
                        ie, ln = u16(body, q), u16(body, q + 2)
                        q += 4
                        if ie & 0x8000:
                            q += 4
                        fl.append((ie & 0x7FFF, ln))
                    tmpls[(dom, tid)] = fl
            elif sid >= 256:
                fl = tmpls.get((dom, sid))
                if fl is None:
                    fail("data set %d before its template" % sid)
                    continue
                q = 0
                minlen = sum(1 if ln == 65535 else ln for _, ln in fl)
                while len(body) - q >= minlen:
                    r = {}
                    for ie, ln in fl:
                        if ln == 65535:
                            ln, q = body[q], q + 1
                            if ln == 255:
                                ln, q = u16(body, q), q + 2
                        r[ie] = body[q:q + ln]
                        q += ln
                    if q > len(body):
                        fail("record runs past its set")
                        break
                    recs.append(r)
                    seq_next[dom] += 1
    return recs


def num(b):
    return int.from_bytes(b, "big")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("collected")
    ap.add_argument("port", type=int)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--traffic", choices=("l2", "ip", "ipv6"), required=True)
    ap.add_argument("--ifindex", type=int, required=True)
    ap.add_argument("--dir", choices=("in", "out"), default="in")
    ap.add_argument("--algo", type=int, default=1)
    ap.add_argument("--min-kinds", type=int, default=0)
    ap.add_argument("--interval", type=int, help="judge only the records with this samplingInterval")
    ap.add_argument("--random", action="store_true",
                    help="random 1-out-of-N: exactly one record per window of N frames, any frame of it")
    ap.add_argument("--tshark", help="tshark's dataLinkFrameSection values, hex, one a line, in order")
    ap.add_argument("--collect-jsonl", help="ipflow-collect's jsonl output of the same capture")
    a = ap.parse_args()
    errors = []

    def fail(msg):
        if len(errors) < 20:
            print("FAIL:", msg)
        errors.append(msg)

    lt, frames = read_pcap(a.input)
    if lt != 1:
        raise SystemExit("input link type %d: only Ethernet is judged here" % lt)
    walks = [(us, Walk(b), orig) for us, b, orig in frames]
    if a.traffic == "ip":
        walks = [x for x in walks if x[1].af == 4]
    elif a.traffic == "ipv6":
        walks = [x for x in walks if x[1].af == 6]
    want = walks[a.n - 1::a.n]
    _, col = read_pcap(a.collected)
    recs = [r for r in parse_ipfix(col, a.port, fail) if IE["section"] in r]  # other monitors' records aside
    if a.interval is not None:
        recs = [r for r in recs if num(r[IE["interval"]]) == a.interval]
    if a.random:
        # the frame of window k that the record of window k is: same time
        # and same first bytes (then judged like the others below)
        picks, pos = [], {}
        for k, r in enumerate(recs[:len(want)]):
            win = walks[k * a.n:(k + 1) * a.n]
            t = num(r.get(IE["time"], b""))
            us = ((t >> 32) - 2208988800) * 1000000 + (((t & 0xFFFFFFFF) * 1000000 + (1 << 31)) >> 32)
            sec = r.get(IE["section"], b"")
            m = [j for j, x in enumerate(win) if abs(x[0] - us) <= 1 and x[1].b[:len(sec)] == sec]
            if not m:
                fail("record %d: no frame of window %d has its time and bytes" % (k, k))
                m = [a.n - 1]
            picks.append(win[m[0]])
            pos[m[0]] = pos.get(m[0], 0) + 1
        want = picks + want[len(picks):]
        print("random: positions taken in the window: %d distinct of %d" % (len(pos), a.n))
        if len(recs) >= 50 and len(pos) < 10:
            fail("random sampling took only %d distinct window positions" % len(pos))
    if len(recs) != len(want):
        fail("%d records, want %d (%d frames of the traffic, 1 out of %d)" % (len(recs), len(want), len(walks), a.n))
    kinds, shape = {}, {"l4-end": 0, "capped-160": 0, "whole-frame": 0}
    for i, (r, (us, w, orig)) in enumerate(zip(recs, want)):
        missing = [k for k, ie in IE.items() if ie not in r]
        if missing:
            fail("record %d lacks %s" % (i, missing))
            continue
        n = section_len(w)
        sec = r[IE["section"]]
        if len(sec) != n:
            fail("record %d: section of %d bytes, want %d (frame %d bytes, l4 end %s, kinds %s)"
                 % (i, len(sec), n, len(w.b), w.end, sorted(w.kinds)))
        elif sec != w.b[:n]:
            fail("record %d: section differs from the frame's first %d bytes" % (i, n))
        if num(r[IE["size"]]) != min(orig, 65535):
            fail("record %d: dataLinkFrameSize %d, want %d" % (i, num(r[IE["size"]]), orig))
        ifin, ifout = (a.ifindex, 0) if a.dir == "in" else (0, a.ifindex)
        if num(r[IE["in"]]) != ifin or num(r[IE["out"]]) != ifout:
            fail("record %d: interfaces %d/%d, want %d/%d" % (i, num(r[IE["in"]]), num(r[IE["out"]]), ifin, ifout))
        if num(r[IE["interval"]]) != a.n or num(r[IE["algo"]]) != a.algo:
            fail("record %d: sampling %d/%d, want %d/%d" % (i, num(r[IE["interval"]]), num(r[IE["algo"]]), a.n, a.algo))
        t = num(r[IE["time"]])
        got = ((t >> 32) - 2208988800) * 1000000 + (((t & 0xFFFFFFFF) * 1000000 + (1 << 31)) >> 32)
        if abs(got - us) > 1:
            fail("record %d: observation time %d us, want %d" % (i, got, us))
        for k in w.kinds:
            kinds[k] = kinds.get(k, 0) + 1
        shape["l4-end" if w.end and w.end <= 160 and n == w.end else
              "whole-frame" if n == len(w.b) else "capped-160"] += 1
    mine = [r.get(IE["section"], b"") for r in recs]
    if a.tshark:
        with open(a.tshark) as f:
            ts = [bytes.fromhex(x.strip()) for x in f if x.strip()]
        if ts != mine:
            bad = next((i for i, (x, y) in enumerate(zip(ts, mine)) if x != y), min(len(ts), len(mine)))
            fail("tshark: %d sections, %d parsed here; first difference at record %d" % (len(ts), len(mine), bad))
        else:
            print("tshark: the same %d sections" % len(ts))
    if a.collect_jsonl:
        import json
        cs, other = [], 0
        with open(a.collect_jsonl) as f:
            for line in f:
                j = json.loads(line)
                v = j.get("dataLinkFrameSection")
                if v is None:
                    continue  # another monitor's record
                cs.append(bytes.fromhex(v[2:] if v.startswith("0x") else v))
                if j.get("dataLinkFrameSize") is None or j.get("ingressInterface") is None:
                    other += 1
        if cs != mine or other:
            fail("ipflow-collect: %d sections (%d records without the fields), %d parsed here" % (len(cs), other, len(mine)))
        else:
            print("ipflow-collect: the same %d sections" % len(cs))
    print("records %d = floor(%d frames / %d); sections: %s" % (len(recs), len(walks), a.n,
          ", ".join("%s %d" % kv for kv in shape.items())))
    print("sampled frames by header kind: " + ", ".join("%s %d" % kv for kv in sorted(kinds.items())))
    if len(kinds) < a.min_kinds:
        fail("only %d header kinds among the sampled frames, want %d" % (len(kinds), a.min_kinds))
    if errors:
        print("%d errors" % len(errors))
        return 1
    print("all %d sections equal the frames' first bytes by the size rule" % len(recs))
    return 0


def strip_eth(src, dst):
    """Rewrite a collector capture as raw IPv4 (LINKTYPE_RAW), so that
    tshark run with Ethernet disabled decodes the IPFIX messages without
    dissecting the Ethernet frames inside their sections (cut frames that
    would rightly be reported as short)."""
    _, frames = read_pcap(src)
    with open(dst, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        for us, b, orig in frames:
            b = b[14:]
            f.write(struct.pack("<IIII", us // 1000000, us % 1000000, len(b), len(b)) + b)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "strip-eth":
        sys.exit(strip_eth(sys.argv[2], sys.argv[3]))
    sys.exit(main())
