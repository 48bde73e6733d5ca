#!/usr/bin/env bash
# test_interop_fixbuf.sh BUILD_DIR SOURCE_DIR
#
# libfixbuf judges our IPFIX (issue 3): its ipfixDump reads
#  - an IPFIX File written by ipflowd -e file:PATH (RFC 5655), with export
#    statistics options records, with ms and with us timestamps;
#  - the byte stream of an IPFIX-over-TCP session (ipflowd -e tcp:...,
#    RFC 7011 §10.4), received by a loopback TCP listener and piped to
#    ipfixDump as it arrives (libfixbuf frames the stream by the message
#    length fields, as a TCP collector does).
# libfixbuf must print no warning or error (it warns on any message out
# of sequence: RFC 7011 §3.1 counts every data record, options ones too),
# count every message and data record ipflowd reports sent, and its flow
# records must equal the ground truth per key.
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/interop_lib.sh"
need_bins
need_cmd ipfixDump libfixbuf-tools

gen -o "$T/in.pcap" -n 60000 -c 2000 -s 14 --truth "$T/truth.csv" || fail "ipflow-gen"

# judge_dump NAME: ipfixDump's output in $T/NAME.dump, stderr in NAME.err
judge_dump() {
	local name=$1 msgs opts stats
	if grep -E . "$T/$name.err"; then
		echo "libfixbuf complained (above)"
		return 1
	fi
	msgs=$(awk '/flows exported in/ { print $5; exit }' "$T/$name.ipflowd")
	opts=$(grep -cE 'count: +[0-9]+ +tid: +258 ' "$T/$name.dump" || true)
	stats=$(grep -E '^\*\*\* File Stats' "$T/$name.dump")
	echo "ipfixDump: $stats; ipflowd: $msgs messages, $EXPORTED flows"
	echo "$stats" | grep -qE "File Stats: $msgs Messages, $((EXPORTED + opts)) Data Records" ||
		{ echo "libfixbuf did not see every message and record"; return 1; }
	judge --truth "$T/truth.csv" --ipfixdump "$T/$name.dump" --records "$EXPORTED"
}

one_file() {
	local name=$1
	shift
	ipflowd_export "$T/$name.ipflowd" "$T/in.pcap" -e "file:$T/$name.ipfix" -v 10 --active 20 --inactive 5 "$@" || return 1
	ipfixDump --in "$T/$name.ipfix" >"$T/$name.dump" 2>"$T/$name.err"
	judge_dump "$name"
}

one_tcp() {
	local name=$1 port
	shift
	port=$(free_port tcp)
	# one connection, copied to stdout as it arrives, into ipfixDump
	"$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
open(sys.argv[2], "w").close()
c, _ = s.accept()
out = sys.stdout.buffer
while True:
    b = c.recv(1 << 16)
    if not b:
        break
    out.write(b)
    out.flush()
' "$port" "$T/$name.ready" | ipfixDump --in - >"$T/$name.dump" 2>"$T/$name.err" &
	local pid=$!
	on_exit "kill $pid"
	local i
	for ((i = 0; i < 100; i++)); do [ -e "$T/$name.ready" ] && break; sleep 0.05; done
	ipflowd_export "$T/$name.ipflowd" "$T/in.pcap" -e "tcp:127.0.0.1:$port" -v 10 --active 20 --inactive 5 "$@" || return 1
	wait "$pid"
	judge_dump "$name"
}

check file one_file file --export-stats
check file-usec one_file file-us --ipfix-usec
check tcp one_tcp tcp --export-stats
finish
