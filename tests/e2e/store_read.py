#!/usr/bin/env python3
"""store_read.py -- an independent reader of the ipflow file store, written
from doc/store-format.md alone (zlib's CRC-32 from Python, zstd and LZ4
through libzstd and liblz4 by ctypes). The tests use it to check that the document and the C
reader agree: on whole stores and on damaged ones.

usage: store_read.py PATH [--csv OUT]
  PATH: a data directory (DIR/YYYY/MM/DD/flows-*.ipfs) or one file.
Prints one JSON object: the reader's counters and the totals; --csv writes
every record read as a row in store_feed's CSV layout.
"""
import ctypes
import ctypes.util
import ipaddress
import json
import os
import struct
import sys
import zlib

HDR_LEN, BLK_HDR_LEN, REC_LEN, BLOCK_MAX = 80, 40, 136, 16 << 20

_zstd = ctypes.CDLL(ctypes.util.find_library("zstd") or "libzstd.so.1")
_zstd.ZSTD_decompress.restype = ctypes.c_size_t
_zstd.ZSTD_decompress.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t]
_zstd.ZSTD_isError.argtypes = [ctypes.c_size_t]
_zstd.ZSTD_compressBound.restype = ctypes.c_size_t
_zstd.ZSTD_compressBound.argtypes = [ctypes.c_size_t]

_lz4 = ctypes.CDLL(ctypes.util.find_library("lz4") or "liblz4.so.1")
_lz4.LZ4_decompress_safe.restype = ctypes.c_int
_lz4.LZ4_decompress_safe.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
_lz4.LZ4_compressBound.restype = ctypes.c_int
_lz4.LZ4_compressBound.argtypes = [ctypes.c_int]

CODEC_ZSTD, CODEC_LZ4 = 1, 2


def unlz4(payload, raw_len):
    out = ctypes.create_string_buffer(raw_len or 1)
    n = _lz4.LZ4_decompress_safe(payload, out, len(payload), raw_len)
    if n != raw_len:
        return None
    return out.raw[:raw_len]


def bound(codec, raw_len):
    return _lz4.LZ4_compressBound(raw_len) if codec == CODEC_LZ4 else _zstd.ZSTD_compressBound(raw_len)


def unzstd(payload, raw_len):
    out = ctypes.create_string_buffer(raw_len or 1)
    n = _zstd.ZSTD_decompress(out, raw_len, payload, len(payload))
    if _zstd.ZSTD_isError(n) or n != raw_len:
        return None
    return out.raw[:raw_len]


def crc(b):
    return zlib.crc32(b) & 0xffffffff


class Stats(dict):
    def __missing__(self, k):
        return 0


def parse_header(b):
    if len(b) < HDR_LEN or b[0:4] != b"IPFS" or struct.unpack(">I", b[76:80])[0] != crc(b[0:76]):
        return None, "bad"
    (ver, hlen, rlen, codec, flags, interval, start, records, blocks, af) = struct.unpack(">HHHBBIQQIB", b[4:37])
    if ver not in (1, 2):
        return None, "unsupported"
    exporter = b[40:56]
    tmin, tmax, maxraw = struct.unpack(">QQI", b[56:76])
    if hlen < HDR_LEN or rlen < REC_LEN or af not in (4, 6):
        return None, "bad"
    if codec not in (CODEC_ZSTD, CODEC_LZ4):
        return None, "unsupported"
    addr = ipaddress.ip_address(exporter[:4] if af == 4 else exporter)
    return dict(version=ver, header_len=hlen, rec_len=rlen, codec=codec, flags=flags, records=records, blocks=blocks, exporter=addr,
                start=start, interval=interval), None


def expand_planes(raw, n, rec_len):
    """Version 2 payload -> the rec_len planes of n bytes, or None."""
    ml = (rec_len + 7) // 8
    if len(raw) < ml:
        return None
    whole = [j for j in range(ml * 8) if raw[j // 8] & (0x80 >> (j % 8))]
    if any(j >= rec_len for j in whole) or len(raw) != ml + (rec_len - len(whole)) + len(whole) * n:
        return None
    vals, planes = raw[ml:ml + rec_len - len(whole)], raw[ml + rec_len - len(whole):]
    out, vi, pi = bytearray(), 0, 0
    for j in range(rec_len):
        if j in whole:
            out += planes[pi * n:(pi + 1) * n]
            pi += 1
        else:
            out += bytes([vals[vi]]) * n
            vi += 1
    return bytes(out)


def block_at(b, off, rec_len, version=1, codec=CODEC_ZSTD):
    """(records, planes, next offset) of a good block at off, else None."""
    if off + BLK_HDR_LEN > len(b) or b[off:off + 4] != b"IPFB":
        return None
    h = b[off:off + BLK_HDR_LEN]
    raw_len, comp_len, n, tmin, tmax, pcrc, hcrc = struct.unpack(">IIIQQII", h[4:40])
    if hcrc != crc(h[0:36]):
        return None
    if version == 1:
        size_ok = raw_len == n * rec_len
    else:
        ml = (rec_len + 7) // 8
        size_ok = n * rec_len <= BLOCK_MAX and ml + rec_len <= raw_len <= ml + n * rec_len
    if (n == 0 or raw_len > BLOCK_MAX or not size_ok or comp_len == 0
            or comp_len > bound(codec, raw_len) or tmin > tmax):
        return None
    end = off + BLK_HDR_LEN + comp_len
    if end > len(b):
        return None
    payload = b[off + BLK_HDR_LEN:end]
    if crc(payload) != pcrc:
        return None
    raw = (unlz4 if codec == CODEC_LZ4 else unzstd)(payload, raw_len)
    if raw is not None and version >= 2:
        raw = expand_planes(raw, n, rec_len)
    if raw is None:
        return None
    return n, raw, end


def records_of(raw, n, rec_len):
    for i in range(n):
        row = bytes(raw[j * n + i] for j in range(REC_LEN))
        yield row


def decode(row, exporter):
    af, proto = row[0], row[1]
    sport, dport = struct.unpack(">HH", row[8:12])
    addr = (lambda a: ipaddress.ip_address(a[:4] if af == 4 else a))
    inif, outif, srcas, dstas, domain, sampling = struct.unpack(">IIIIII", row[72:96])
    packets, byts, first, last, recv = struct.unpack(">QQQQQ", row[96:136])
    return dict(af=af, proto=proto, sport=sport, dport=dport, src=addr(row[24:40]), dst=addr(row[40:56]),
                inif=inif, outif=outif, srcas=srcas, dstas=dstas, sampling=sampling, packets=packets,
                bytes=byts, first=first, last=last, recv=recv, exporter=exporter)


def read_file(path, st, out):
    with open(path, "rb") as f:
        b = f.read()
    h, why = parse_header(b)
    if h is None:
        st["files_unsupported" if why == "unsupported" else "files_bad"] += 1
        return
    st["files"] += 1
    off, seen, damaged = h["header_len"], 0, False
    if off > len(b):
        st["files_truncated"] += 1
        return
    while off < len(b):
        blk = block_at(b, off, h["rec_len"], h["version"], h["codec"])
        if blk is None:
            # Look for the next offset where a good block starts.
            nxt = off + 1
            found = None
            while True:
                nxt = b.find(b"IPFB", nxt)
                if nxt < 0:
                    break
                if block_at(b, nxt, h["rec_len"], h["version"], h["codec"]) is not None:
                    found = nxt
                    break
                nxt += 1
            if found is None:
                # Truncated if the damaged block claims to run past the end.
                past = off + BLK_HDR_LEN > len(b)
                if not past and b[off:off + 4] == b"IPFB":
                    comp_len = struct.unpack(">I", b[off + 8:off + 12])[0]
                    past = off + BLK_HDR_LEN + comp_len > len(b)
                st["files_truncated" if past else "blocks_bad"] += 1
                return
            st["blocks_bad"] += 1
            damaged = True
            off = found
            continue
        n, raw, off = blk
        seen += 1
        st["blocks"] += 1
        for row in records_of(raw, n, h["rec_len"]):
            st["records"] += 1
            r = decode(row, h["exporter"])
            if r["af"] not in (4, 6):
                st["records_bad"] += 1
                continue
            out.append(r)
    if h["flags"] & 1 and seen < h["blocks"] and not damaged:
        st["files_truncated"] += 1


def walk(path):
    if os.path.isfile(path):
        return [path]
    files = []
    for root, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel = os.path.relpath(root, path)
        depth = 0 if rel == "." else rel.count(os.sep) + 1
        if depth != 3:
            continue
        files += [os.path.join(root, n) for n in names if n.startswith("flows-") and n.endswith(".ipfs")]
    return sorted(files)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    st, recs = Stats(), []
    for p in walk(sys.argv[1]):
        read_file(p, st, recs)
    if "--csv" in sys.argv:
        with open(sys.argv[sys.argv.index("--csv") + 1], "w") as f:
            for r in recs:
                f.write("%s,%d,%s,%s,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d\n" % (
                    r["exporter"], r["af"], r["src"], r["dst"], r["sport"], r["dport"], r["proto"], r["srcas"],
                    r["dstas"], r["inif"], r["outif"], r["packets"], r["bytes"], r["first"], r["last"],
                    r["recv"], r["sampling"]))
    st["flows"] = len(recs)
    st["packets"] = sum(r["packets"] for r in recs)
    st["bytes"] = sum(r["bytes"] for r in recs)
    print(json.dumps(dict(st), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
