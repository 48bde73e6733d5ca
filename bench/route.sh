#!/usr/bin/env bash
# bench/route.sh — routing attributes speed. A benchmark, never a test:
# see bench/README.md.
#
#   bash bench/route.sh             # or: ROUTES4=500000 ROUTES6=100000 bash bench/route.sh
#
# 1. bench/route_micro.c, one core: a random table with an Internet BGP
#    table's prefix-length mix (ROUTES4 IPv4, default 1000000; ROUTES6
#    IPv6, default 200000) written in ipflow's format and loaded (lines/s,
#    memory per route), then longest-prefix lookups per second for each
#    family and records annotated per second (two lookups each).
# 2. ipflowd metering the benchmark capture (PACKETS, default here
#    2000000) alone and with --routes over the same table, in the same run
#    (RUNS each, medians): the layer's cost per packet, the table's load
#    time included and then taken out (a run over a one-packet capture
#    with the table measures it).
. "$(dirname "$0")/lib.sh"
PACKETS=${PACKETS_ROUTE:-2000000}
CONCURRENT=${CONCURRENT_ROUTE:-100000}
ROUTES4=${ROUTES4:-1000000}
ROUTES6=${ROUTES6:-200000}
build
W=$(mktemp -d "${TMPDIR:-/tmp}/ipflow-bench-route.XXXXXX")
trap 'rm -rf "$W"' EXIT

echo "== table load, lookups and annotate, one core (bench/route_micro.c) =="
cc -O2 -std=c11 -D_GNU_SOURCE -I"$SRC/src" "$SRC/bench/route_micro.c" "$BUILD_DIR/libipflowcore.a" \
	$(pkg-config --libs libpcap usrsctp libzstd liblz4 libcurl rdkafka libprotobuf-c) -lpthread -lm -o "$W/route_micro"
taskset -c "$CPU" "$W/route_micro" "$ROUTES4" "$ROUTES6" | tee "$W/micro.out"

echo "== ipflowd metering with and without a route table =="
capture
# the same kind of table as a file (the micro benchmark's generator, kept)
python3 - "$W/table" "$ROUTES4" "$ROUTES6" <<'PY'
import random, sys, ipaddress
out, n4, n6 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(7)
mix4 = [24] * 60 + [22] * 10 + [23] * 8 + [21] * 5 + [20] * 5 + [19] * 4 + [16] * 3 + [18] * 2 + [17, 12, 28]
mix6 = [48] * 5 + [32] * 2 + [40, 44, 36, 29, 64]
with open(out, "w") as f:
    for _ in range(n4):
        p = r.choice(mix4)
        net = ipaddress.ip_network((r.randint(1 << 24, (224 << 24) - 1), p), strict=False)
        f.write("%s 192.0.2.%d %d %d %d\n" % (net, r.randint(1, 254), r.randint(1, 400000), r.randint(1, 400000), r.randint(2, 9)))
    for _ in range(n6):
        p = r.choice(mix6)
        net = ipaddress.ip_network(((0x2 << 125) | r.getrandbits(125), p), strict=False)
        f.write("%s fe80::%x %d %d %d\n" % (net, r.randint(1, 65535), r.randint(1, 400000), r.randint(1, 400000), r.randint(2, 9)))
PY
"$BUILD_DIR/ipflow-gen" -q -o "$W/one.pcap" -n 1 -c 1
base=() with=() load=() cbase=() cwith=() cload=()
for i in $(seq "$RUNS"); do
	timed "$W/base.$i" "$IPFLOWD" -r "$PCAP" --entries "$ENTRIES" --stats
	base+=("$WALL") cbase+=("$CPUS")
	timed "$W/with.$i" "$IPFLOWD" -r "$PCAP" --entries "$ENTRIES" --routes "$W/table" --stats
	with+=("$WALL") cwith+=("$CPUS")
	timed "$W/load.$i" "$IPFLOWD" -r "$W/one.pcap" --routes "$W/table"
	load+=("$WALL") cload+=("$CPUS")
done
B=$(echo "${base[*]}" | median) CB=$(echo "${cbase[*]}" | median)
R=$(echo "${with[*]}" | median) CR=$(echo "${cwith[*]}" | median)
L=$(echo "${load[*]}" | median) CL=$(echo "${cload[*]}" | median)
grep -E "Records annotated|Routes:|Memory:" "$W/with.1" | sed 's/^ */  /'
echo "packets: $PACKETS; runs: $RUNS (medians; wall s / CPU s)"
echo "  metering alone:        ${B} / ${CB} s  ($(mpps "$PACKETS" "$CB") M packets per CPU s)"
echo "  with the route table:  ${R} / ${CR} s  ($(mpps "$PACKETS" "$CR") M packets per CPU s)"
echo "  table load alone:      ${L} / ${CL} s  (a one-packet capture with the table)"
awk -v b="$CB" -v r="$CR" -v l="$CL" 'BEGIN { printf "  cost of the layer, CPU: %+.1f %% with the load, %+.1f %% without it\n", (r - b) / b * 100, (r - l - b) / b * 100 }'
