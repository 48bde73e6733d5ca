#!/usr/bin/env bash
# bench/meter.sh — metering speed, memory and accounting of ipflowd beside
# Debian's softflowd, on the same generated capture, in the same run
# (issue 2). A benchmark, never a test: see bench/README.md.
#
#   bash bench/meter.sh            # or: RUNS=5 PACKETS=2000000 bash bench/meter.sh
#
# Both read the pcap through libpcap from the page cache, pinned to one
# core, with caches big enough for every flow (ipflowd --entries, softflowd
# -m), softflowd tracking IPv6 too (-6) and exporting nothing (no -n), as
# ipflowd exports nothing here. Prints per program the median packets/s,
# peak RSS, memory per flow entry, the ratio, and whether each program's
# accounting equals the generator's ground truth.
. "$(dirname "$0")/lib.sh"
build
capture
echo "capture: $PCAP"
echo "truth:   $PACKETS packets, $TRUTH_KEYS flow keys, $TRUTH_PKTS packets and $TRUTH_BYTES IP bytes in them"
echo "runs:    $RUNS of each, pinned to cpu $CPU; medians"
W=$(mktemp -d "${TMPDIR:-/tmp}/ipflow-bench-meter.XXXXXX")
trap 'rm -rf "$W"' EXIT

ours_wall="" ours_rss="" sf_wall="" sf_rss=""
for r in $(seq "$RUNS"); do
	timed "$W/ipflowd.$r" "$IPFLOWD" -r "$PCAP" --entries "$ENTRIES" --stats -S none
	ours_wall="$ours_wall $WALL"
	ours_cpu="${ours_cpu:-} $CPUS"
	ours_rss="$ours_rss $RSS"
	timed "$W/softflowd.$r" softflowd -r "$PCAP" -m "$ENTRIES" -6 -p "$W/softflowd.pid"
	sf_wall="$sf_wall $WALL"
	sf_cpu="${sf_cpu:-} $CPUS"
	sf_rss="$sf_rss $RSS"
	echo "  run $r: ipflowd $(mpps "$PACKETS" "$(echo "$ours_wall" | awk '{ print $NF }')") Mpps, softflowd $(mpps "$PACKETS" "$WALL") Mpps"
done
ow=$(echo "$ours_wall" | median)
sw=$(echo "$sf_wall" | median)
oc=$(echo "$ours_cpu" | median)
sc=$(echo "$sf_cpu" | median)
orss=$(echo "$ours_rss" | median)
srss=$(echo "$sf_rss" | median)

# Memory per flow entry. ipflowd: its cache is a preallocated pool plus a
# bucket array ("IP Flow Switching Cache, N bytes" for --entries), touched
# only as entries are used; per flow in use, the RSS above a 1-flow run.
o1=$W/ipflowd.1
cache_bytes=$(awk '/^IP Flow Switching Cache, / { print $5 }' "$o1")
in_use=$(awk '/ active, .* inactive, .* added/ { print $1 }' "$o1")
"$BUILD_DIR/ipflow-gen" -q -o "$W/one.pcap" -n 1 -c 1 -s 1
timed "$W/ipflowd.base" "$IPFLOWD" -r "$W/one.pcap" --entries "$ENTRIES" -S none
base_rss=$RSS
sf_flows=$(awk '/^Flows expired: / { print $3 }' "$W/softflowd.1")
timed "$W/softflowd.base" softflowd -r "$W/one.pcap" -m "$ENTRIES" -6 -p "$W/softflowd.pid"
sf_base=$RSS

# Accounting. ipflowd: totals, and per flow key (flowcheck.py) the
# packets and bytes summed over its records equal the truth.
read -r ours_recs ours_pkts ours_bytes < <(awk '/^Records exported / { print $3, $12, $14 }' "$o1" | tr -d ',')
exact=skipped
if [ "${EXACT:-1}" = 1 ]; then
	"$IPFLOWD" -r "$PCAP" --entries "$ENTRIES" -S none -q -o "csv:$W/flows.csv"
	if python3 "$SRC/tests/e2e/flowcheck.py" --truth "$TRUTH" --log "csv:$W/flows.csv" --sums-only >"$W/flowcheck" 2>&1; then
		exact="equal per key ($(tail -n 1 "$W/flowcheck"))"
	else
		exact="DIFFERENT: $(tail -n 3 "$W/flowcheck" | tr '\n' ' ')"
	fi
	rm -f "$W/flows.csv"
fi
s1=$W/softflowd.1
sf_pkts=$(awk '/^Packets processed: / { print $3 }' "$s1")
sf_ign=$(awk '/^Ignored packets: / { print $3 }' "$s1")
sf_bytes=$(awk '/^Per-protocol statistics/ { on = 1; next } on && /\):/ { s += $3 } END { printf "%.0f", s }' "$s1")
sf_recs=$(awk '/^Flows exported: / { gsub(/\(/, "", $4); print $4 }' "$s1")

echo
printf '%-10s %12s %10s %12s %14s %s\n' program "packets/s" "peak RSS" "bytes/flow" "flow records" "accounting (truth: $TRUTH_PKTS packets, $TRUTH_BYTES bytes)"
printf '%-10s %12s %8s M %12s %14s packets %s (%+d), bytes %s (%+d)\n' ipflowd "$(mpps "$PACKETS" "$ow")M" \
	"$((orss / 1024))" "$(awk -v c="$cache_bytes" -v e="$ENTRIES" 'BEGIN { printf "%.0f", c / e }')" "$ours_recs" \
	"$ours_pkts" "$((ours_pkts - TRUTH_PKTS))" "$ours_bytes" "$((ours_bytes - TRUTH_BYTES))"
printf '%-10s %12s %8s M %12s %14s packets %s (%+d; %s ignored), bytes %s (%+d)\n' softflowd "$(mpps "$PACKETS" "$sw")M" \
	"$((srss / 1024))" "$(awk -v r="$srss" -v b="$sf_base" -v f="$sf_flows" 'BEGIN { printf "%.0f", (r - b) * 1024 / f }')" \
	"$sf_recs" "$sf_pkts" "$((sf_pkts - TRUTH_PKTS))" "$sf_ign" "$sf_bytes" "$((sf_bytes - TRUTH_BYTES))"
echo
echo "ipflowd / softflowd packets/s: $(ratio "$sw" "$ow")x by wall time   (target >= 5x)"
echo "  per CPU second (user + sys; steadier on a shared machine): ipflowd $(mpps "$PACKETS" "$oc") M, softflowd $(mpps "$PACKETS" "$sc") M, $(ratio "$sc" "$oc")x"
echo "ipflowd cache: $cache_bytes bytes for $ENTRIES entries = $(awk -v c="$cache_bytes" -v e="$ENTRIES" 'BEGIN { printf "%.1f", c / e }') bytes/entry (target <= 192);" \
	"RSS above a 1-flow run / $in_use flows in use = $(awk -v r="$orss" -v b="$base_rss" -v f="$in_use" 'BEGIN { printf "%.0f", (r - b) * 1024 / f }') bytes/flow"
echo "softflowd: RSS above a 1-flow run / $sf_flows flows = $(awk -v r="$srss" -v b="$sf_base" -v f="$sf_flows" 'BEGIN { printf "%.0f", (r - b) * 1024 / f }') bytes/flow (bidirectional flows: one per key pair)"
echo "ipflowd per-key accounting: $exact"
echo "wall seconds, each run: ipflowd$ours_wall; softflowd$sf_wall"
echo "CPU seconds, each run: ipflowd$ours_cpu; softflowd$sf_cpu"
