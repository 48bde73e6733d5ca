#!/usr/bin/env python3
"""nfdump2log.py FILE.json... -- nfdump -o json output (run with TZ=UTC) as
flowcheck.py log lines (JSON, IPFIX names), one per flow record. nfdump 1.7
reads no icmpTypeCodeIPv6, so ICMPv6 keys cannot be judged this way."""
import calendar, json, sys, time

def ms(t):
    base, _, frac = t.partition(".")
    return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) * 1000 + int((frac or "0").ljust(3, "0")[:3])

for path in sys.argv[1:]:
    txt = open(path).read().strip()
    if not txt:
        continue
    for r in json.loads(txt):
        if r.get("type") != "FLOW":
            continue
        d = {"protocolIdentifier": r["proto"], "ipClassOfService": r.get("src_tos", 0),
             "packetDeltaCount": r["in_packets"], "octetDeltaCount": r["in_bytes"],
             "sourceTransportPort": r.get("src_port", 0), "destinationTransportPort": r.get("dst_port", 0),
             "flowStartMilliseconds": ms(r["first"]), "flowEndMilliseconds": ms(r["last"])}
        if "src4_addr" in r:
            d["sourceIPv4Address"], d["destinationIPv4Address"] = r["src4_addr"], r["dst4_addr"]
        else:
            d["sourceIPv6Address"], d["destinationIPv6Address"] = r["src6_addr"], r["dst6_addr"]
        if r["proto"] in (1, 58) and "icmp_type" in r:
            d["destinationTransportPort"] = r["icmp_type"] * 256 + r.get("icmp_code", 0)
        print(json.dumps(d))
