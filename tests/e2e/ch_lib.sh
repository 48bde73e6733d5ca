# ch_lib.sh — start and stop Debian's clickhouse-server for a test or a
# benchmark (sourced after lib.sh). Everything lives under one directory:
# its own config, data, logs; it listens on 127.0.0.1 only, on ports from
# free_port; it is stopped by its pid.
#
#   ch_start DIR          start (or restart on the same data); sets CH_URL,
#                         CH_HTTP, CH_PID; registers a stop at exit
#   ch_stop               SIGTERM, wait for exit
#   ch_kill               SIGKILL (a crash), wait for exit
#   chq SQL               run SQL over HTTP as the default user, print the result
#   ch_need               skip the test (exit 77) unless clickhouse-server exists
#
# 18.16 notes (reading/clickhouse-findings.md): reset tables by DROP and
# CREATE, never TRUNCATE (removed parts come back after a restart); an XML
# comment containing two dashes stops the server at start-up.
CH_SERVER=${CH_SERVER:-/usr/sbin/clickhouse-server}
CH_PID=""
CH_HTTP=""
CH_DIR=""

ch_need() {
	[ -x "$CH_SERVER" ] || skip "clickhouse-server is not installed (Debian package clickhouse-server)"
	command -v curl >/dev/null || skip "curl is not installed"
}

_ch_write_conf() {
	local d=$1
	mkdir -p "$d/data/tmp" "$d/data/user_files" "$d/data/format_schemas" "$d/log"
	cat >"$d/config.xml" <<-XML
	<?xml version="1.0"?>
	<yandex>
	  <logger>
	    <level>warning</level>
	    <log>$d/log/server.log</log>
	    <errorlog>$d/log/server.err.log</errorlog>
	    <size>50M</size>
	    <count>1</count>
	  </logger>
	  <http_port>$CH_HTTP</http_port>
	  <tcp_port>$CH_TCP</tcp_port>
	  <listen_host>127.0.0.1</listen_host>
	  <path>$d/data/</path>
	  <tmp_path>$d/data/tmp/</tmp_path>
	  <user_files_path>$d/data/user_files/</user_files_path>
	  <format_schema_path>$d/data/format_schemas/</format_schema_path>
	  <users_config>$d/users.xml</users_config>
	  <default_profile>default</default_profile>
	  <default_database>default</default_database>
	  <timezone>UTC</timezone>
	  <mark_cache_size>268435456</mark_cache_size>
	  <max_concurrent_queries>64</max_concurrent_queries>
	</yandex>
	XML
	cat >"$d/users.xml" <<-XML
	<?xml version="1.0"?>
	<yandex>
	  <profiles>
	    <default>
	      <max_memory_usage>4000000000</max_memory_usage>
	    </default>
	  </profiles>
	  <users>
	    <default>
	      <password></password>
	      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
	      <profile>default</profile>
	      <quota>default</quota>
	    </default>
	    <ipflow>
	      <password>${CH_TEST_PASSWORD:-s3cret-pw}</password>
	      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
	      <profile>default</profile>
	      <quota>default</quota>
	    </ipflow>
	  </users>
	  <quotas>
	    <default>
	      <interval>
	        <duration>3600</duration>
	        <queries>0</queries><errors>0</errors><result_rows>0</result_rows>
	        <read_rows>0</read_rows><execution_time>0</execution_time>
	      </interval>
	    </default>
	  </quotas>
	</yandex>
	XML
}

ch_start() {
	local d=$1 i
	CH_DIR=$d
	if [ -z "$CH_HTTP" ]; then
		CH_HTTP=$(free_port tcp)
		CH_TCP=$(free_port tcp)
		on_exit ch_stop
	fi
	[ -f "$d/config.xml" ] || _ch_write_conf "$d"
	"$CH_SERVER" --config-file="$d/config.xml" >"$d/log/stdout.log" 2>&1 &
	CH_PID=$!
	CH_URL="http://127.0.0.1:$CH_HTTP"
	for i in $(seq 1 300); do
		if curl -sf "$CH_URL/ping" >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$CH_PID" 2>/dev/null; then
			echo "clickhouse-server exited at start-up:"
			tail -n 20 "$d/log/stdout.log" "$d/log/server.err.log" 2>/dev/null
			CH_PID=""
			return 1
		fi
		sleep 0.1
	done
	echo "clickhouse-server not ready after 30 s"
	return 1
}

_ch_wait_exit() {
	local i
	for i in $(seq 1 300); do
		kill -0 "$CH_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$CH_PID" 2>/dev/null
	wait "$CH_PID" 2>/dev/null
	CH_PID=""
}

ch_stop() {
	[ -n "$CH_PID" ] || return 0
	kill -TERM "$CH_PID" 2>/dev/null
	_ch_wait_exit
}

ch_kill() {
	[ -n "$CH_PID" ] || return 0
	kill -KILL "$CH_PID" 2>/dev/null
	_ch_wait_exit
}

chq() {
	curl -sS --fail-with-body "$CH_URL/" --data-binary "$1"
}
