#!/bin/sh
# The main job on a built-in default input: generate a sample capture with
# ipflow-gen, meter it with ipflowd and export it as IPFIX to ipflow-collect
# on loopback; print the flow cache as "show ip cache flow" shows it, the
# export counters ("show ip flow export"), the collector's counters, and
# the top talkers from the collector's file store (ipflow report).
set -e
cd "$(dirname "$0")/.."
sh scripts/deps.sh build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build
out=${IPFLOW_DEMO_DIR:-/tmp/ipflow-demo}
port=${IPFLOW_DEMO_PORT:-4739}
rm -rf "$out/store"
mkdir -p "$out"
./build/ipflow-gen -o "$out/sample.pcap" -n 200000 -c 2000 --truth "$out/sample.truth.csv"

# the collector: IPFIX/NetFlow on UDP 127.0.0.1:$port, flows into the file store
./build/ipflow-collect -l "udp:127.0.0.1:$port" -w "$out/store" --stats >"$out/collect.txt" 2>&1 &
collector=$!
trap 'kill $collector 2>/dev/null || true' EXIT
sleep 0.3
kill -0 $collector 2>/dev/null || { cat "$out/collect.txt"; exit 1; }

# the exporter: meter the file on packet time, export IPFIX, keep a flow log
./build/ipflowd -r "$out/sample.pcap" --active 60 --inactive 15 -e "udp:127.0.0.1:$port" -v 10 \
	-o "$out/flows.jsonl" --stats -S none

sleep 0.5
kill -TERM $collector
wait $collector || true
trap - EXIT
echo
echo "=== ipflow-collect (udp:127.0.0.1:$port, store $out/store)"
cat "$out/collect.txt"
echo
echo "=== ipflow report -w $out/store --by srcaddr --top 10"
./build/ipflow report -w "$out/store" --by srcaddr --top 10
echo
echo "=== ipflow report -w $out/store --by proto"
./build/ipflow report -w "$out/store" --by proto --top 10
echo
echo "Flow log: $out/flows.jsonl ($(wc -l <"$out/flows.jsonl") records); ground truth: $out/sample.truth.csv"
