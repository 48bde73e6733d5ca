# lib.sh — shared helpers for the end-to-end tests (sourced, not run).
#
#   . "$(dirname "$0")/lib.sh" "$@"      # $1 = BUILD_DIR, $2 = SOURCE_DIR
#
# Sets IPFLOWD, IPFLOW_GEN, FLOWCHECK, SRC_DIR, BUILD_DIR, and T (a fresh
# temporary directory removed on exit unless KEEP=1). Functions:
#   fail MSG...          print FAIL and exit 1 (runs the clean-up trap)
#   skip MSG...          print SKIP and exit 77
#   note MSG...          print a progress line with the elapsed time
#   on_exit CMD...       run CMD at exit (last registered runs first)
#   need_bins            fail unless ipflowd and ipflow-gen are built
#   check NAME CMD...    run one sub-check; record pass/fail, keep going
#   finish               print "N passed, N failed" and exit 0/1
#   gen ARGS...          run ipflow-gen -q ARGS (fails the test on error)
#   ipflowd_file LOG PCAP ARGS...   ipflowd -r PCAP -o LOG ARGS, with a timeout
#   free_port [udp|tcp]  a free loopback port, picked by the kernel
set -u

BUILD_DIR=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "FAIL: no build dir '${1:-build}'" >&2; exit 1; }
SRC_DIR=$(cd "${2:-$(dirname "${BASH_SOURCE[0]}")/../..}" && pwd)
IPFLOWD=${IPFLOWD:-$BUILD_DIR/ipflowd}
IPFLOW_GEN=${IPFLOW_GEN:-$BUILD_DIR/ipflow-gen}
FLOWCHECK=$SRC_DIR/tests/e2e/flowcheck.py
PYTHON=${PYTHON:-python3}
E2E_NAME=$(basename "$0" .sh)
E2E_START=$(date +%s.%N)
E2E_PASS=0
E2E_FAIL=0
E2E_FAILED=""

_E2E_EXIT_HOOKS=()
on_exit() { _E2E_EXIT_HOOKS=("$*" "${_E2E_EXIT_HOOKS[@]}"); }
_e2e_cleanup() {
	local rc=$? h
	trap - EXIT INT TERM
	for h in "${_E2E_EXIT_HOOKS[@]}"; do
		eval "$h" >/dev/null 2>&1 || true
	done
	if [ -n "${T:-}" ] && [ -d "$T" ]; then
		if [ "${KEEP:-0}" = 1 ] || { [ "$rc" != 0 ] && [ "${KEEP_ON_FAIL:-0}" = 1 ]; }; then
			echo "$E2E_NAME: kept $T" >&2
		else
			rm -rf "$T"
		fi
	fi
	exit "$rc"
}
trap _e2e_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

T=$(mktemp -d "${TMPDIR:-/tmp}/ipflow-$E2E_NAME.XXXXXX") || { echo "FAIL: mktemp" >&2; exit 1; }

elapsed() { awk -v s="$E2E_START" -v e="$(date +%s.%N)" 'BEGIN { printf "%6.1fs", e - s }'; }
note() { echo "[$(elapsed)] $*"; }
fail() { echo "FAIL: $E2E_NAME: $*" >&2; exit 1; }
skip() { echo "SKIP: $E2E_NAME: $*" >&2; exit 77; }

need_bins() {
	local b
	for b in "$IPFLOWD" "$IPFLOW_GEN"; do
		[ -x "$b" ] || fail "$b is not built (build the tree first: cmake -B build -G Ninja && ninja -C build)"
	done
	command -v "$PYTHON" >/dev/null || fail "$PYTHON not found (Debian package python3)"
}

# check NAME CMD...: one sub-check. Its output goes to $T/NAME.out and is
# shown (tail) only on failure; the test continues either way.
check() {
	local name=$1 t0 rc
	shift
	t0=$(date +%s.%N)
	"$@" >"$T/$name.out" 2>&1
	rc=$?
	local dt
	dt=$(awk -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1fs", e - s }')
	if [ $rc = 0 ]; then
		E2E_PASS=$((E2E_PASS + 1))
		note "ok   $name ($dt)"
		if [ "${VERBOSE:-0}" = 1 ]; then sed 's/^/       /' "$T/$name.out"; fi
	else
		E2E_FAIL=$((E2E_FAIL + 1))
		E2E_FAILED="$E2E_FAILED $name"
		note "FAIL $name ($dt, exit $rc)"
		tail -n 40 "$T/$name.out" | sed 's/^/       /'
	fi
	return 0
}

finish() {
	note "$E2E_NAME: done"
	echo "$E2E_PASS passed, $E2E_FAIL failed"
	if [ "$E2E_FAIL" != 0 ]; then
		echo "FAIL: $E2E_NAME:$E2E_FAILED" >&2
		exit 1
	fi
	exit 0
}

gen() {
	"$IPFLOW_GEN" -q "$@" || { echo "ipflow-gen $* failed (exit $?)"; return 1; }
}

# ipflowd_file LOG PCAP [ARGS...]: meter a file to LOG; stderr to LOG.err,
# stdout to LOG.stdout. Killed after IPFLOWD_TIMEOUT seconds (default 120).
ipflowd_file() {
	local log=$1 pcap=$2 rc
	shift 2
	timeout -k 5 "${IPFLOWD_TIMEOUT:-120}" "$IPFLOWD" -r "$pcap" -o "$log" "$@" \
		>"${log#*:}.stdout" 2>"${log#*:}.err"
	rc=$?
	if [ $rc != 0 ]; then
		echo "ipflowd -r $pcap -o $log $* exited $rc; stderr:"
		tail -n 20 "${log#*:}.err"
		return 1
	fi
}

flowcheck() { "$PYTHON" "$FLOWCHECK" "$@"; }

# free_port [udp|tcp]: print a loopback port that is free now (the kernel
# picks it), so tests running side by side never collide on a fixed port.
free_port() {
	"$PYTHON" - "${1:-udp}" <<-'PYEOF'
	import socket, sys
	kind = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
	s = socket.socket(socket.AF_INET, kind)
	s.bind(("127.0.0.1", 0))
	print(s.getsockname()[1])
	PYEOF
}

# veth_pair TAG [MTU]: two network namespaces made for this run, joined by
# a veth pair with 192.0.2.1/24 (a) and 192.0.2.2/24 (b), IPv6 off, their
# loopbacks up; deleted at exit (with the pair). Sets NS_A NS_B VETH_A
# VETH_B; ina/inb run a command in a or b. Skips without root or `ip`.
veth_pair() {
	local tag=$1 mtu=${2:-} ns
	[ "$(id -u)" = 0 ] || skip "needs root to create network namespaces (uid $(id -u))"
	command -v ip >/dev/null || skip "no 'ip' command (Debian package iproute2)"
	NS_A=$tag-$$-a
	NS_B=$tag-$$-b
	VETH_A=$tag$$a # interface names: at most 15 characters
	VETH_B=$tag$$b
	on_exit 'ip netns del $NS_A; ip netns del $NS_B'
	ip netns add "$NS_A" 2>"$T/netns.err" || skip "ip netns add failed: $(cat "$T/netns.err")"
	ip netns add "$NS_B" 2>"$T/netns.err" || fail "ip netns add $NS_B: $(cat "$T/netns.err")"
	ip link add "$VETH_A" netns "$NS_A" type veth peer name "$VETH_B" netns "$NS_B" ||
		fail "could not create the veth pair"
	for ns in "$NS_A" "$NS_B"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 ||
			fail "sysctl in $ns"
		ip netns exec "$ns" ip link set lo up
	done
	ina sysctl -qw "net.ipv6.conf.$VETH_A.disable_ipv6=1"
	inb sysctl -qw "net.ipv6.conf.$VETH_B.disable_ipv6=1"
	ina ip link set "$VETH_A" ${mtu:+mtu "$mtu"} up
	inb ip link set "$VETH_B" ${mtu:+mtu "$mtu"} up
	ina ip addr add 192.0.2.1/24 dev "$VETH_A"
	inb ip addr add 192.0.2.2/24 dev "$VETH_B"
}
ina() { ip netns exec "$NS_A" "$@"; }
inb() { ip netns exec "$NS_B" "$@"; } # never in the background: a function there runs in a subshell

# serving PID SOCK: ipflowd PID still takes commands on its control socket.
# At the end of a file it removes the socket as it shuts down, a while
# before the process is gone (longer under the sanitizers): a command
# refused then is the end of the run, not a failure.
serving() { kill -0 "$1" 2>/dev/null && [ -S "$2" ]; }
