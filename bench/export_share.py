#!/usr/bin/env python3
"""bench/export_share.py NAMES < perf-script-output

Export's share of one ipflowd run's CPU, from `perf record -g` samples
(read as `perf script -F ip,sym,dso`): a sample is export's when its leaf
is a function of ipflowd's export or transport code (NAMES: one function
name a line, from nm over those objects) or when its kernel call chain is
in a send system call. Of the send samples, those in the loopback receive
path (net_rx_action under the send: the kernel delivering the datagram to
the local collector's socket and waking it, work a remote collector's
host would do) are shown apart. One run gives both sides, so the figure
does not depend on the drift between two runs on a shared machine.
"""
import sys

names = set(l.strip() for l in open(sys.argv[1]) if l.strip())
SEND = {"__x64_sys_sendto", "__x64_sys_sendmsg", "__x64_sys_sendmmsg"}
RECV = {"net_rx_action", "process_backlog", "__netif_receive_skb_one_core"}


def samples(f):
    cur = []
    for line in f:
        line = line.strip()
        if not line:
            if cur:
                yield cur
            cur = []
            continue
        parts = line.split(None, 1)
        if len(parts) < 2:
            continue
        sym, _, dso = parts[1].rpartition(" (")
        cur.append((sym, dso.rstrip(")")))
    if cur:
        yield cur


total = user = send = loop = 0
for s in samples(sys.stdin):
    total += 1
    syms = {sym for sym, _ in s}
    leaf, dso = s[0]
    if "ipflowd" in dso and leaf.split(".")[0] in names:
        user += 1
    elif syms & SEND:
        send += 1
        if syms & RECV:
            loop += 1
if not total:
    sys.exit("export_share: no samples")
meter = total - user - send
pc = lambda n: 100.0 * n / meter if meter else 0.0
print("samples %d: export code %.1f%%, send system calls %.1f%% (of which the loopback "
      "delivery to the local collector %.1f%%) of all" % (
          total, 100.0 * user / total, 100.0 * send / total, 100.0 * loop / total))
print("export cost against metering's own samples: %.1f%% with the loopback delivery, "
      "%.1f%% without it (target < 10%%)" % (pc(user + send), pc(user + send - loop)))
