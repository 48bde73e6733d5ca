# bench/sinks.sh — sourced by bench/agg.sh and bench/fnf.sh after they set
# T (their work directory): UDP sinks the exporters send to, and the
# clean-up that stops them and removes T (KEEP=1 keeps it).
SINKS=()
cleanup() {
	local p
	for p in "${SINKS[@]}"; do kill "$p" 2>/dev/null || true; done
	[ "${KEEP:-0}" = 1 ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT

sink() { # sink NAME: a UDP socket on loopback that is never read; its port in $T/NAME.port
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
open(sys.argv[1], "w").write("%d\n" % s.getsockname()[1])
time.sleep(86400)' "$T/$1.port" &
	SINKS+=($!)
	local i
	for i in $(seq 100); do [ -s "$T/$1.port" ] && return 0; sleep 0.05; done
	echo "sink $1 did not start" >&2
	exit 1
}
