#!/usr/bin/env python3
"""nfdump2log.py -- nfdump's JSON output (nfdump -o json) as a flow log of
IPFIX names (one JSON object a line), so flowcheck.py can judge what
nfcapd, an independent collector, received.

    TZ=UTC nfdump -R DIR -o json | nfdump2log.py > LOG.jsonl

ICMP type and code go to icmpTypeCodeIPv4/IPv6 (type * 256 + code), the
NetFlow convention flowcheck uses. Python 3 standard library only.
"""
import datetime
import json
import sys


def epoch_ms(text):
    """nfdump's "2023-11-14T22:13:20.347" (printed in UTC: run it with TZ=UTC)."""
    d = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp() * 1000 + 0.5)


def main():
    text = sys.stdin.read().strip()
    recs = json.loads(text) if text else []
    n = 0
    for r in recs:
        if r.get("type") != "FLOW":
            continue
        v6 = "src6_addr" in r
        o = {
            ("sourceIPv6Address" if v6 else "sourceIPv4Address"): r["src6_addr" if v6 else "src4_addr"],
            ("destinationIPv6Address" if v6 else "destinationIPv4Address"): r["dst6_addr" if v6 else "dst4_addr"],
            "sourceTransportPort": r.get("src_port", 0),
            "destinationTransportPort": r.get("dst_port", 0),
            "protocolIdentifier": r["proto"],
            "ipClassOfService": r.get("src_tos", 0),
            "packetDeltaCount": r["in_packets"],
            "octetDeltaCount": r["in_bytes"],
            "flowStartMilliseconds": epoch_ms(r["first"]),
            "flowEndMilliseconds": epoch_ms(r["last"]),
        }
        if "icmp_type" in r:
            o["icmpTypeCodeIPv6" if v6 else "icmpTypeCodeIPv4"] = r["icmp_type"] * 256 + r.get("icmp_code", 0)
        print(json.dumps(o))
        n += 1
    print(n, "records", file=sys.stderr)


if __name__ == "__main__":
    main()
