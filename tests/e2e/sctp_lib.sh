# sctp_lib.sh — helpers for the SCTP/TCP export tests (sourced after lib.sh).
#
#   start_recv NAME [ARGS...]    sctp_recv on a free loopback port; its files are
#                                $T/NAME.{port,jsonl,msgs,stats,err}; pid in PID_NAME
#   stop_recv NAME               SIGTERM it and wait (it writes NAME.stats)
#   start_relay NAME PORT [ARGS] udp_relay in front of loopback PORT; its port in
#                                $T/NAME.port, counters in NAME.stats; commands with
#   relay NAME CMD...            ("loss U D", "cut", "heal", "quit")
#   port_of NAME                 the port in $T/NAME.port
#   jget FILE KEY[.KEY...]       a value from a JSON file (or "-" for stdin)
#   show_json SOCK CMD...        ipflow -S SOCK CMD --json
#   msg_times NAME               unix ms of every data message NAME received
SCTP_RECV=${SCTP_RECV:-$BUILD_DIR/sctp_recv}
UDP_RELAY=${UDP_RELAY:-$BUILD_DIR/udp_relay}
IPFLOW=${IPFLOW:-$BUILD_DIR/ipflow}
DEDUP=$SRC_DIR/tests/e2e/dedup_logs.py

need_sctp_bins() {
	need_bins
	local b
	for b in "$SCTP_RECV" "$UDP_RELAY" "$IPFLOW"; do
		[ -x "$b" ] || fail "$b is not built"
	done
}

wait_file() { # FILE [tries of 50 ms]
	local i
	for ((i = 0; i < ${2:-100}; i++)); do
		[ -s "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

port_of() { head -n1 "$T/$1.port"; }

start_recv() {
	local name=$1
	shift
	rm -f "$T/$name.port"
	"$SCTP_RECV" -l 127.0.0.1:0 -p "$T/$name.port" -o "$T/$name.jsonl" -m "$T/$name.msgs" \
		-s "$T/$name.stats" "$@" 2>"$T/$name.err" &
	eval "PID_$name=$!"
	on_exit "kill -KILL $! 2>/dev/null"
	wait_file "$T/$name.port" || fail "sctp_recv $name did not start: $(cat "$T/$name.err")"
}

stop_recv() {
	local pid
	eval "pid=\${PID_$1:-}"
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	eval "PID_$1="
}

start_relay() {
	local name=$1 port=$2 fd
	shift 2
	rm -f "$T/$name.port" "$T/$name.ctl"
	mkfifo "$T/$name.ctl"
	"$UDP_RELAY" -l 0 -t "127.0.0.1:$port" -p "$T/$name.port" -S "$T/$name.stats" "$@" \
		<"$T/$name.ctl" 2>"$T/$name.err" &
	eval "PID_$name=$!"
	on_exit "kill -KILL $! 2>/dev/null"
	exec {fd}>"$T/$name.ctl"
	eval "FD_$name=$fd"
	wait_file "$T/$name.port" || fail "udp_relay $name did not start: $(cat "$T/$name.err")"
}

relay() {
	local name=$1 fd
	shift
	eval "fd=\$FD_$name"
	echo "$*" >&"$fd"
}

stop_relay() {
	local pid
	eval "pid=\${PID_$1:-}"
	[ -n "$pid" ] || return 0
	relay "$1" quit
	wait "$pid" 2>/dev/null
	eval "PID_$1="
}

jget() {
	"$PYTHON" -c '
import json, sys
src = sys.stdin if sys.argv[1] == "-" else open(sys.argv[1])
v = json.load(src)
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(str(v).lower() if isinstance(v, bool) else v)' "$@"
}

show_json() {
	local sock=$1
	shift
	"$IPFLOW" -S "$sock" "$@" --json
}

# unix ms of every data message (stream > 0) NAME received, one a line
msg_times() { awk -F'\t' '$3 != "" && $3 !~ /^#/ && $3 > 0 { print $13 }' "$T/$1.msgs"; }

# ipflowd in the background: ipflowd_bg NAME ARGS... (stdout NAME.out, stderr NAME.err, pid PID_NAME)
ipflowd_bg() {
	local name=$1
	shift
	"$IPFLOWD" "$@" >"$T/$name.out" 2>"$T/$name.err" &
	eval "PID_$name=$!"
	on_exit "kill -KILL $! 2>/dev/null"
}

wait_pid() { # NAME [seconds]: wait for a background process to end by itself
	local pid i
	eval "pid=\${PID_$1:-}"
	for ((i = 0; i < ${2:-60} * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid"; return $?; }
		sleep 0.1
	done
	echo "$1 (pid $pid) still running after ${2:-60} s"
	return 124
}

wait_sock() { # SOCK: until ipflowd answers on its control socket
	local i
	for ((i = 0; i < 100; i++)); do
		"$IPFLOW" -S "$1" show ip flow export >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}
