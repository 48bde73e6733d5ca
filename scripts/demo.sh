#!/bin/sh
# The main job on a built-in default input: generate a sample capture with
# ipflow-gen, meter it with ipflowd, print the flow cache as
# "show ip cache flow" shows it, and the largest flows from the flow log.
set -e
cd "$(dirname "$0")/.."
sh scripts/deps.sh build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build
out=${IPFLOW_DEMO_DIR:-/tmp/ipflow-demo}
mkdir -p "$out"
./build/ipflow-gen -o "$out/sample.pcap" -n 200000 -c 2000 --truth "$out/sample.truth.csv"
./build/ipflowd -r "$out/sample.pcap" --active 60 --inactive 15 -o "$out/flows.jsonl" --stats
echo
echo "Flow log: $out/flows.jsonl ($(wc -l <"$out/flows.jsonl") records); ground truth: $out/sample.truth.csv"
