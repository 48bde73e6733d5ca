# bench/lib.sh — shared by bench/meter.sh and bench/export.sh (sourced).
#
# Environment (all optional):
#   BUILD_DIR   ipflow build to measure (default: build-bench, configured
#               Release and built on first use)
#   BENCH_DIR   where the generated capture is kept (default /tmp/ipflow-bench)
#   PACKETS     packets in the capture (10000000)
#   CONCURRENT  ipflow-gen sessions at once (500000: about 1 M flow keys)
#   RUNS        timed runs of each program (3; medians are reported)
#   CPU         the core every timed program is pinned to (1)
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$SRC/build-bench}
BENCH_DIR=${BENCH_DIR:-/tmp/ipflow-bench}
PACKETS=${PACKETS:-10000000}
CONCURRENT=${CONCURRENT:-500000}
RUNS=${RUNS:-3}
CPU=${CPU:-1}
ENTRIES=${ENTRIES:-2097152}

need() { command -v "$1" >/dev/null || { echo "bench: $1 not installed (apt-get install $2)" >&2; exit 1; }; }
need softflowd softflowd
need taskset util-linux
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }

build() {
	if [ ! -x "$BUILD_DIR/ipflowd" ] || [ ! -x "$BUILD_DIR/ipflow-gen" ]; then
		echo "building a Release tree in $BUILD_DIR" >&2
		cmake -S "$SRC" -B "$BUILD_DIR" -G Ninja -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Release >/dev/null
	fi
	cmake --build "$BUILD_DIR" -j2 --target ipflowd ipflow-gen ipflowcore >/dev/null
	IPFLOWD=$BUILD_DIR/ipflowd
}

# The benchmark capture and its ground truth, generated once per size.
capture() {
	mkdir -p "$BENCH_DIR"
	PCAP=$BENCH_DIR/bench-$PACKETS-$CONCURRENT.pcap
	TRUTH=$BENCH_DIR/bench-$PACKETS-$CONCURRENT.truth.csv
	if [ ! -s "$PCAP" ] || [ ! -s "$TRUTH" ]; then
		echo "generating $PCAP ($PACKETS packets)" >&2
		"$BUILD_DIR/ipflow-gen" -q -o "$PCAP.tmp" -n "$PACKETS" -c "$CONCURRENT" -s 1 --truth "$TRUTH"
		mv "$PCAP.tmp" "$PCAP"
	fi
	TRUTH_KEYS=$(($(wc -l <"$TRUTH") - 1))
	read -r TRUTH_PKTS TRUTH_BYTES < <(awk -F, 'NR > 1 { p += $8; b += $9 } END { printf "%.0f %.0f\n", p, b }' "$TRUTH")
	cat "$PCAP" >/dev/null # into the page cache: every run reads it from memory
}

# timed OUT CMD...: run CMD pinned to $CPU under /usr/bin/time -v; stdout
# to OUT, the time report to OUT.time. Sets WALL (s), CPUS (user+sys s), UTIME (user s), RSS (KiB).
timed() {
	local out=$1
	shift
	/usr/bin/time -v -o "$out.time" taskset -c "$CPU" "$@" >"$out" 2>"$out.err" || {
		echo "bench: $* failed:" >&2
		tail -n 5 "$out.err" >&2
		exit 1
	}
	WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, a, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + a[i]; print s }' "$out.time")
	CPUS=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { print u + s }' "$out.time")
	UTIME=$(awk -F': ' '/User time/ { print $2 }' "$out.time")
	RSS=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$out.time")
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
mpps() { awk -v p="$1" -v s="$2" 'BEGIN { printf "%.3f", (s > 0 ? p / s / 1e6 : 0) }'; }
