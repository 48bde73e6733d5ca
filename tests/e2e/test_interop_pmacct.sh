#!/usr/bin/env bash
# test_interop_pmacct.sh BUILD_DIR SOURCE_DIR
#
# pmacct judges our export (issue 3): generator -> ipflowd -> nfacctd over
# loopback UDP, for NetFlow v5, v9 and IPFIX. nfacctd's print plugin
# aggregates by (src, dst, ports, protocol, ToS) and writes CSV when it
# exits; its per-key packets and bytes must equal the ground truth exactly
# (v5: the IPv4 keys; IPv6 flows are counted as not exportable). nfacctd
# is given a 16 MiB socket buffer and a 64 MiB plugin pipe, and must log
# no "missing data" (its own loss detection between core and plugin).
. "$(dirname "$0")/lib.sh" "$@"
. "$(dirname "$0")/interop_lib.sh"
need_bins
need_cmd nfacctd pmacct

gen -o "$T/in.pcap" -n 80000 -c 2500 -s 12 --truth "$T/truth.csv" || fail "ipflow-gen"

# one_version NAME VERSION [IPFLOWD ARGS...]
one_version() {
	local name=$1 v=$2 port d=$T/pm-$1 v4=
	shift 2
	port=$(free_port udp)
	mkdir -p "$d"
	cat >"$d/nfacctd.conf" <<-CONF
	daemonize: false
	nfacctd_ip: 127.0.0.1
	nfacctd_port: $port
	nfacctd_pipe_size: 16777216
	pidfile: $d/nfacctd.pid
	logfile: $d/nfacctd.log
	plugins: print[p]
	aggregate[p]: src_host, dst_host, src_port, dst_port, proto, tos
	print_output[p]: csv
	print_num_protos[p]: true
	print_output_file[p]: $d/flows.csv
	print_refresh_time[p]: 3600
	plugin_pipe_size[p]: 67108864
	plugin_buffer_size[p]: 65536
	CONF
	nfacctd -f "$d/nfacctd.conf" >"$d/stdout" 2>&1 &
	local pid=$!
	on_exit "stop_pid $pid"
	wait_for "$d/nfacctd.log" "waiting for NetFlow/IPFIX data" || return 1
	ipflowd_export "$d/ipflowd.out" "$T/in.pcap" -e "udp:127.0.0.1:$port" -v "$v" --active 20 --inactive 5 "$@" || return 1
	# SIGINT: nfacctd purges its cache to the CSV and exits — but not what
	# still waits in its socket, so first let it read every datagram, and
	# give its core a moment to hand the last ones to the print plugin
	udp_drained "$port" || return 1
	sleep 1
	kill -INT "$pid"
	wait "$pid" 2>/dev/null
	grep -q "Purging cache - END" "$d/nfacctd.log" || { echo "nfacctd did not write its cache:"; tail "$d/nfacctd.log"; return 1; }
	if grep -i "missing data" "$d/nfacctd.log"; then
		echo "nfacctd lost data between its core and the plugin"
		return 1
	fi
	[ "$v" = 5 ] && v4=--v4-only
	judge --truth "$T/truth.csv" --pmacct "$d/flows.csv" $v4
}

check v5 one_version v5 5
check v9 one_version v9 9 --export-stats
check ipfix one_version ipfix 10 --export-stats
finish
