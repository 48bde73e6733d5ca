#!/usr/bin/env python3
"""udpmsgs.py -- record export datagrams to a pcap, and send them again.

    udpmsgs.py record PORTFILE OUT.pcap [--idle SEC]
        bind a UDP socket on 127.0.0.1 (port picked by the kernel, written
        to PORTFILE), write every datagram received to OUT.pcap (Ethernet,
        IPv4, UDP to port 2055, one frame per datagram, in order) until
        nothing came for --idle seconds (default 2) after the first, or
        SIGTERM. Prints the count.

    udpmsgs.py send IN.pcap HOST:PORT [--first I] [--last J] [--pps N]
        send the UDP payloads of frames I..J-1 (0-based; default all) of
        IN.pcap (classic pcap, Ethernet/IPv4/UDP) to HOST:PORT, at most N
        datagrams a second (default: 2000). Prints the count.

    udpmsgs.py count IN.pcap
        print the number of frames.

Python 3 standard library only.
"""

import argparse
import signal
import socket
import struct
import sys
import time


def read_payloads(path):
    b = open(path, "rb").read()
    if b[:4] != b"\xd4\xc3\xb2\xa1":
        sys.exit("%s: not a little-endian classic pcap" % path)
    off, out = 24, []
    while off + 16 <= len(b):
        cl = struct.unpack("<I", b[off + 8:off + 12])[0]
        fr = b[off + 16:off + 16 + cl]
        off += 16 + cl
        ihl = (fr[14] & 15) * 4
        u = 14 + ihl
        ulen = struct.unpack(">H", fr[u + 4:u + 6])[0]
        out.append(fr[u + 8:u + ulen])
    return out


def record(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for opt in (33, socket.SO_RCVBUF):  # SO_RCVBUFFORCE when privileged
        try:
            s.setsockopt(socket.SOL_SOCKET, opt, 64 << 20)
            break
        except OSError:
            pass
    s.bind(("127.0.0.1", 0))
    with open(a.portfile, "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    out = open(a.out, "wb")
    out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    stop = []
    signal.signal(signal.SIGTERM, lambda *x: stop.append(1))
    n, t0 = 0, time.time()
    s.settimeout(0.2)
    last = None
    while not stop:
        try:
            d = s.recv(65536)
        except socket.timeout:
            if last is not None and time.time() - last > a.idle:
                break
            continue
        last = time.time()
        udp = struct.pack(">HHHH", 40000, 2055, 8 + len(d), 0) + d
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                         bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
        fr = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip + udp
        ts = t0 + n * 1e-3
        out.write(struct.pack("<IIII", int(ts), int((ts % 1) * 1e6), len(fr), len(fr)) + fr)
        n += 1
    out.close()
    print(n)


def send(a):
    msgs = read_payloads(a.pcap)
    host, port = a.dest.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    last = len(msgs) if a.last is None else a.last
    gap = 1.0 / a.pps
    n = 0
    t = time.time()
    for m in msgs[a.first:last]:
        s.sendto(m, (host, int(port)))
        n += 1
        t += gap
        d = t - time.time()
        if d > 0:
            time.sleep(d)
    print(n)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("portfile")
    r.add_argument("out")
    r.add_argument("--idle", type=float, default=2.0)
    s = sub.add_parser("send")
    s.add_argument("pcap")
    s.add_argument("dest")
    s.add_argument("--first", type=int, default=0)
    s.add_argument("--last", type=int)
    s.add_argument("--pps", type=float, default=2000)
    c = sub.add_parser("count")
    c.add_argument("pcap")
    a = ap.parse_args()
    if a.cmd == "record":
        record(a)
    elif a.cmd == "send":
        send(a)
    else:
        print(len(read_payloads(a.pcap)))


if __name__ == "__main__":
    main()
