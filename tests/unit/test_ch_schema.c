/* test_ch_schema.c — the ClickHouse column table, RowBinary rows, DDL and
 * URL options: a row written and read back field by field (IPv4 mapped
 * into ::ffff:, IPv6 as is, little-endian integers, the time in seconds);
 * the DDL for 18.16 carries no codec/TTL/dedup setting and the DDL for a
 * current server does; bad names never reach SQL; URL parsing refuses
 * credentials in the URL, reads them from a file and the environment,
 * and checks every option's range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "collect/ch_http.h"
#include "collect/ch_schema.h"
#include "lib/err.h"

static uint64_t col(const uint64_t *vals, const char *name)
{
	int i = ch_col_index(name);
	assert_true(i >= 0);
	return vals[i];
}

static const uint8_t *col_addr(uint8_t addr[][16], const char *name)
{
	int i = ch_col_index(name);
	assert_true(i >= 0);
	return addr[i];
}

static void test_row_v4(void **state)
{
	(void)state;
	struct crec r;
	memset(&r, 0, sizeof(r));
	inet_pton(AF_INET, "192.0.2.7", r.exporter);
	r.exporter_af = 4;
	r.version = 10;
	r.domain = 77;
	r.tmpl_id = 300;
	r.sampling = 100;
	r.recv_us = 1700000000123456ull;
	r.f.key.af = 4;
	inet_pton(AF_INET, "10.1.2.3", r.f.key.src);
	inet_pton(AF_INET, "198.51.100.9", r.f.key.dst);
	inet_pton(AF_INET, "10.0.0.1", r.f.nexthop);
	r.f.key.sport = 40000;
	r.f.key.dport = 443;
	r.f.key.proto = 6;
	r.f.key.tos = 0x28;
	r.f.key.dir = 1;
	r.f.key.ifindex = 5;
	r.f.if_out = 6;
	r.f.packets = 12;
	r.f.bytes = 0x1122334455ull;
	r.f.first_us = 1699999990500999ull;
	r.f.last_us = 1699999999001000ull;
	r.f.tcp_flags = 0x1b;
	r.f.src_as = 64500;
	r.f.dst_as = 4200000000u;
	r.f.src_mask = 24;
	r.f.dst_mask = 16;
	r.f.min_ttl = 3;
	r.f.max_ttl = 64;
	r.f.min_len = 40;
	r.f.max_len = 1500;
	r.f.end = FLOW_END_EOF;

	size_t n = ch_row_size();
	assert_int_equal(n, 155); /* doc/clickhouse.md says so */
	uint8_t *row = malloc(n + 1);
	row[n] = 0xee; /* the writer stays inside its row */
	ch_row_put(row, &r, 0xabcdef0123456789ull);
	assert_int_equal(row[n], 0xee);
	uint64_t vals[64];
	uint8_t addr[64][16];
	assert_true(ch_ncols <= 64);
	ch_row_get(row, vals, addr);
	assert_int_equal(col(vals, "collectionTimeSeconds"), 1700000000);
	assert_int_equal(col(vals, "observationDomainId"), 77);
	assert_int_equal(col(vals, "exportVersion"), 10);
	assert_int_equal(col(vals, "templateId"), 300);
	assert_int_equal(col(vals, "samplingInterval"), 100);
	assert_int_equal(col(vals, "flowStartMilliseconds"), 1699999990500ull);
	assert_int_equal(col(vals, "flowEndMilliseconds"), 1699999999001ull);
	assert_int_equal(col(vals, "ipVersion"), 4);
	assert_int_equal(col(vals, "sourceTransportPort"), 40000);
	assert_int_equal(col(vals, "destinationTransportPort"), 443);
	assert_int_equal(col(vals, "protocolIdentifier"), 6);
	assert_int_equal(col(vals, "ipClassOfService"), 0x28);
	assert_int_equal(col(vals, "tcpControlBits"), 0x1b);
	assert_int_equal(col(vals, "flowDirection"), 1);
	assert_int_equal(col(vals, "ingressInterface"), 5);
	assert_int_equal(col(vals, "egressInterface"), 6);
	assert_int_equal(col(vals, "bgpSourceAsNumber"), 64500);
	assert_int_equal(col(vals, "bgpDestinationAsNumber"), 4200000000u);
	assert_int_equal(col(vals, "sourceIPPrefixLength"), 24);
	assert_int_equal(col(vals, "destinationIPPrefixLength"), 16);
	assert_int_equal(col(vals, "minimumTTL"), 3);
	assert_int_equal(col(vals, "maximumTTL"), 64);
	assert_int_equal(col(vals, "minimumIpTotalLength"), 40);
	assert_int_equal(col(vals, "maximumIpTotalLength"), 1500);
	assert_int_equal(col(vals, "flowEndReason"), 3); /* endOfFlowDetected */
	assert_int_equal(col(vals, "octetDeltaCount"), 0x1122334455ull);
	assert_int_equal(col(vals, "packetDeltaCount"), 12);
	assert_int_equal(col(vals, "batchId"), 0xabcdef0123456789ull);
	/* IPv4 mapped: ::ffff:a.b.c.d, never zeros */
	static const uint8_t src[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3 };
	static const uint8_t exp[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7 };
	static const uint8_t nh[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1 };
	assert_memory_equal(col_addr(addr, "sourceIPAddress"), src, 16);
	assert_memory_equal(col_addr(addr, "exporterIPAddress"), exp, 16);
	assert_memory_equal(col_addr(addr, "ipNextHopIPAddress"), nh, 16);
	/* little-endian on the wire: the first column's bytes */
	assert_int_equal(row[0], 1700000000u & 0xff);
	assert_int_equal(row[3], 1700000000u >> 24);
	free(row);
}

static void test_row_v6(void **state)
{
	(void)state;
	struct crec r;
	memset(&r, 0, sizeof(r));
	inet_pton(AF_INET6, "2001:db8::99", r.exporter);
	r.exporter_af = 6;
	r.recv_us = 1000000;
	r.f.key.af = 6;
	inet_pton(AF_INET6, "2001:db8:1::1", r.f.key.src);
	inet_pton(AF_INET6, "2001:db8:2::2", r.f.key.dst);
	r.f.end = 200; /* out of range: forcedEnd */
	uint8_t row[256];
	ch_row_put(row, &r, 1);
	uint64_t vals[64];
	uint8_t addr[64][16];
	ch_row_get(row, vals, addr);
	assert_int_equal(col(vals, "ipVersion"), 6);
	assert_int_equal(col(vals, "flowEndReason"), 4);
	assert_memory_equal(col_addr(addr, "sourceIPAddress"), r.f.key.src, 16);
	assert_memory_equal(col_addr(addr, "destinationIPAddress"), r.f.key.dst, 16);
	assert_memory_equal(col_addr(addr, "exporterIPAddress"), r.exporter, 16);
	assert_int_equal(ch_row_day(&r), 0);
	r.recv_us = 86400ull * 1000000 * 19676 + 5;
	assert_int_equal(ch_row_day(&r), 19676);
}

static int has(char **s, size_t n, const char *needle)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(s[i], needle))
			return 1;
	return 0;
}

static void test_ddl(void **state)
{
	(void)state;
	struct ch_ddl_opts o = { .db = "netflow", .table = "flows" };
	char **s;
	size_t n;
	ch_features_for(18, 16, &o.feat);
	assert_int_equal(o.feat.codecs + o.feat.ttl + o.feat.dedup_token, 0);
	assert_int_equal(ch_ddl(&o, &s, &n), ERR_OK);
	assert_int_equal(n, 6);
	assert_string_equal(s[0], "CREATE DATABASE IF NOT EXISTS netflow");
	assert_non_null(strstr(s[1], "CREATE TABLE IF NOT EXISTS netflow.flows ("));
	assert_non_null(strstr(s[1], "ENGINE = MergeTree"));
	assert_non_null(strstr(s[1], "PARTITION BY toYYYYMMDD(collectionTimeSeconds)"));
	assert_non_null(strstr(s[1], "ORDER BY (toStartOfFiveMinute(collectionTimeSeconds), exporterIPAddress"));
	assert_non_null(strstr(s[1], "sourceIPAddress FixedString(16)"));
	assert_non_null(strstr(s[2], "netflow.flows_1m"));
	assert_non_null(strstr(s[2], "SummingMergeTree((octetDeltaCount, packetDeltaCount, deltaFlowCount))"));
	assert_non_null(strstr(s[3], "MATERIALIZED VIEW IF NOT EXISTS netflow.flows_1m_mv TO netflow.flows_1m"));
	assert_non_null(strstr(s[3], "toStartOfMinute(collectionTimeSeconds) AS collectionTimeSeconds"));
	assert_non_null(strstr(s[5], "toStartOfHour(collectionTimeSeconds)"));
	assert_false(has(s, n, "CODEC"));
	assert_false(has(s, n, "TTL collectionTimeSeconds"));
	assert_false(has(s, n, "deduplication"));
	ch_ddl_free(s, n);
	/* TTL asked of 18.16: refused, not silently dropped */
	o.ttl_days = 30;
	assert_int_equal(ch_ddl(&o, &s, &n), ERR_UNSUPP);
	assert_null(s);

	/* a current server: codecs, TTL (rollups longer), dedup window */
	ch_features_for(24, 3, &o.feat);
	assert_true(o.feat.codecs && o.feat.ttl && o.feat.dedup_token);
	assert_int_equal(ch_ddl(&o, &s, &n), ERR_OK);
	assert_non_null(strstr(s[1], "collectionTimeSeconds DateTime('UTC') CODEC(DoubleDelta, ZSTD(1))"));
	assert_non_null(strstr(s[1], "TTL collectionTimeSeconds + INTERVAL 30 DAY"));
	assert_non_null(strstr(s[1], "non_replicated_deduplication_window = 1000"));
	assert_non_null(strstr(s[2], "INTERVAL 120 DAY"));
	assert_non_null(strstr(s[4], "INTERVAL 480 DAY"));
	ch_ddl_free(s, n);
	ch_features_for(21, 8, &o.feat);
	assert_true(o.feat.codecs && !o.feat.dedup_token);

	/* names that could smuggle SQL never reach it */
	const char *bad[] = { "", "a-b", "x;DROP", "1abc", "a.b", "a b", "ä",
	                      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ch_ddl_opts b = { .db = bad[i], .table = "flows" };
		assert_int_equal(ch_ddl(&b, &s, &n), ERR_ARG);
		b.db = "ok";
		b.table = bad[i];
		assert_int_equal(ch_ddl(&b, &s, &n), ERR_ARG);
	}
	char sql[4096];
	assert_int_equal(ch_insert_sql("db", "t", sql, sizeof(sql)), ERR_OK);
	assert_non_null(strstr(sql, "INSERT INTO db.t (collectionTimeSeconds, exporterIPAddress, "));
	assert_non_null(strstr(sql, "batchId) FORMAT RowBinary"));
	assert_int_equal(ch_insert_sql("db", "t", sql, 40), ERR_NOSPACE);
}

static void test_version(void **state)
{
	(void)state;
	int a, b;
	assert_int_equal(ch_parse_version("18.16.1", &a, &b), ERR_OK);
	assert_int_equal(a, 18);
	assert_int_equal(b, 16);
	assert_int_equal(ch_parse_version("24.3.2.23", &a, &b), ERR_OK);
	assert_int_equal(a, 24);
	assert_int_equal(b, 3);
	assert_int_equal(ch_parse_version("", &a, &b), ERR_FORMAT);
	assert_int_equal(ch_parse_version("Code: 516", &a, &b), ERR_FORMAT);
	assert_int_equal(ch_parse_version("18", &a, &b), ERR_FORMAT);
	assert_int_equal(ch_parse_version("18.", &a, &b), ERR_FORMAT);
}

static void test_url(void **state)
{
	(void)state;
	struct ch_cfg c;
	char err[512];
	unsetenv("CLICKHOUSE_USER");
	unsetenv("CLICKHOUSE_PASSWORD");
	assert_int_equal(ch_cfg_parse("http://db1.example:8124/netflow.flows", 1, &c, err, sizeof(err)), ERR_OK);
	assert_string_equal(c.base, "http://db1.example:8124/");
	assert_string_equal(c.db, "netflow");
	assert_string_equal(c.table, "flows");
	assert_int_equal(c.batch_rows, 100000);
	assert_int_equal(c.interval_ms, 2000);
	assert_int_equal(c.spool_bytes, 1ull << 30);
	assert_string_equal(c.spool, "/var/spool/ipflow/clickhouse-8124-netflow.flows");
	assert_string_equal(c.user, "");
	assert_int_equal(ch_cfg_parse("https://[2001:db8::1]/n.f?batch=5000&interval=0.5&gzip=1&spool_size=64M&"
	                              "spool=none&queue=8",
	                              1, &c, err, sizeof(err)),
	                 ERR_OK);
	assert_string_equal(c.base, "https://[2001:db8::1]:8443/");
	assert_int_equal(c.batch_rows, 5000);
	assert_int_equal(c.interval_ms, 500);
	assert_int_equal(c.gzip, 1);
	assert_int_equal(c.spool_bytes, 64ull << 20);
	assert_string_equal(c.spool, "");
	assert_int_equal(c.queue, 8);
	/* DB alone is fine for init and reports, not for the sink */
	assert_int_equal(ch_cfg_parse("http://h/netflow", 0, &c, err, sizeof(err)), ERR_OK);
	assert_int_equal(ch_cfg_parse("http://h/netflow", 1, &c, err, sizeof(err)), ERR_FORMAT);

	const char *bad[] = {
		"http://user:pw@h/db.t", "ftp://h/db.t", "http://h", "http://h:0/db.t", "http://h:99999/db.t",
		"http://h/db.t;x", "http://h/db.t?batch=0", "http://h/db.t?batch=2000000", "http://h/db.t?batch=12x",
		"http://h/db.t?nope=1", "http://h/db.t?batch", "http://[::1/db.t", "http://h/db.t?spool_size=1Q",
		"http://h/db.t?interval=-1", "http://h/db.t?gzip=2",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_not_equal(ch_cfg_parse(bad[i], 1, &c, err, sizeof(err)), ERR_OK);
		assert_true(strlen(err) > 0);
	}
	assert_int_not_equal(ch_cfg_parse("http://u:p@h/db.t", 1, &c, err, sizeof(err)), ERR_OK);
	assert_non_null(strstr(err, "not taken from the command line"));

	/* credentials: environment, then a file that overrides it */
	setenv("CLICKHOUSE_USER", "envuser", 1);
	setenv("CLICKHOUSE_PASSWORD", "envpw", 1);
	assert_int_equal(ch_cfg_parse("http://h/db.t", 1, &c, err, sizeof(err)), ERR_OK);
	assert_string_equal(c.user, "envuser");
	assert_string_equal(c.pass, "envpw");
	char path[] = "/tmp/test_ch_creds.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char text[] = "# ipflow\nuser=ipflow\n\npassword=p=w:x\n";
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	char url[256];
	snprintf(url, sizeof(url), "http://h/db.t?credentials=%s", path);
	assert_int_equal(ch_cfg_parse(url, 1, &c, err, sizeof(err)), ERR_OK);
	assert_string_equal(c.user, "ipflow");
	assert_string_equal(c.pass, "p=w:x");
	/* a malformed file is refused with its line */
	FILE *f = fopen(path, "w");
	fputs("user=a\nsecret=b\n", f);
	fclose(f);
	assert_int_equal(ch_cfg_parse(url, 1, &c, err, sizeof(err)), ERR_FORMAT);
	assert_non_null(strstr(err, ":2:"));
	unlink(path);
	assert_int_equal(ch_cfg_parse(url, 1, &c, err, sizeof(err)), ERR_IO);
	unsetenv("CLICKHOUSE_USER");
	unsetenv("CLICKHOUSE_PASSWORD");
}

static void test_gzip(void **state)
{
	(void)state;
	uint8_t in[10000];
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i % 7);
	uint8_t *out;
	size_t len;
	assert_int_equal(ch_gzip(in, sizeof(in), &out, &len), ERR_OK);
	assert_true(len > 18 && len < sizeof(in) / 10);
	assert_int_equal(out[0], 0x1f); /* RFC 1952 magic */
	assert_int_equal(out[1], 0x8b);
	/* and it inflates back to the input (zlib, gzip wrapper) */
	uint8_t back[sizeof(in) + 16];
	z_stream z;
	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = out;
	z.avail_in = (uInt)len;
	z.next_out = back;
	z.avail_out = sizeof(back);
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	assert_int_equal(z.total_out, sizeof(in));
	inflateEnd(&z);
	assert_memory_equal(back, in, sizeof(in));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_row_v4), cmocka_unit_test(test_row_v6), cmocka_unit_test(test_ddl),
		cmocka_unit_test(test_version), cmocka_unit_test(test_url),   cmocka_unit_test(test_gzip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
