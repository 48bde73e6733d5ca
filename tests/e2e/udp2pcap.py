#!/usr/bin/env python3
"""udp2pcap.py OUT.pcap PORTFILE STOPFILE [RAW] — a loopback UDP collector for the
e2e tests: binds 127.0.0.1 on a port the kernel picks (written to
PORTFILE), and writes every datagram it receives into OUT.pcap as an
Ethernet/IPv4/UDP frame to that port (checksums zero), in arrival order,
so tshark, nfdump and friends can decode what was sent. Exits once
STOPFILE exists and nothing arrived for 0.5 s (or after 300 s). With RAW,
the datagrams are also written back to back to that file (for IPFIX, an
IPFIX File, RFC 5655, that libfixbuf's ipfixDump reads)."""
import os
import select
import socket
import struct
import sys
import time


def main():
    out, portfile, stopfile = sys.argv[1:4]
    raw = open(sys.argv[4], "wb") if len(sys.argv) > 4 else None
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        tmp = portfile + ".tmp"
        with open(tmp, "w") as p:
            p.write("%d\n" % port)
        os.rename(tmp, portfile)
        start = time.time()
        last = time.time()
        while time.time() - start < 300:
            r, _, _ = select.select([s], [], [], 0.1)
            if r:
                data, (host, sport) = s.recvfrom(65535)
                last = time.time()
                udp = struct.pack("!HHHH", sport, port, 8 + len(data), 0)
                ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 8 + len(data), 0, 0, 64, 17, 0,
                                 socket.inet_aton(host), socket.inet_aton("127.0.0.1"))
                frame = b"\x00" * 12 + b"\x08\x00" + ip + udp + data
                t = time.time()
                f.write(struct.pack("<IIII", int(t), int((t % 1) * 1e6), len(frame), len(frame)))
                f.write(frame)
                if raw:
                    raw.write(data)
                continue
            if os.path.exists(stopfile) and time.time() - last > 0.5:
                break
    if raw:
        raw.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
