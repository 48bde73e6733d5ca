/* test_report.c — the report engine: parsers (times, prefixes, protocols,
 * every prefix of valid input), the filter's semantics, aggregation (both-
 * side keys, unsampling, ties, the key limit), top-N selection against a
 * full sort, and the three output formats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bytes.h"
#include "lib/err.h"
#include "report/report.h"
#include "store_fixture.h"

#define SEC 1000000ull

static void test_parse_time(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		uint64_t us;
	} ok[] = {
		{ "1700000000", 1700000000 * SEC },
		{ "0", 0 },
		{ "2023-11-14T22:13:20Z", 1700000000 * SEC },
		{ "2023-11-14T22:13:20", 1700000000 * SEC },
		{ "2023-11-14 22:13:20", 1700000000 * SEC },
		{ "2023-11-14T22:13", 1699999980 * SEC },
		{ "2023-11-14", 1699920000 * SEC },
		{ "2023-11-14T23:13:20+01:00", 1700000000 * SEC },
		{ "2023-11-14T21:13:20-0100", 1700000000 * SEC },
		{ "2023-11-14T22:13:20.25Z", 1700000000 * SEC + 250000 },
		{ "2023-11-14T22:13:20.1234567Z", 1700000000 * SEC + 123456 },
		{ "2024-02-29T00:00:00Z", 1709164800 * SEC },
		{ "1970-01-01T00:00:00Z", 0 },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint64_t us = 1;
		if (report_parse_time(ok[i].s, &us) != ERR_OK)
			fail_msg("'%s' refused", ok[i].s);
		if (us != ok[i].us)
			fail_msg("'%s' = %llu, want %llu", ok[i].s, (unsigned long long)us, (unsigned long long)ok[i].us);
	}
	static const char *const bad[] = {
		"", "yesterday", "2023-02-29", "2023-04-31T00:00", "2023-13-01", "2023-11-14T24:00", "2023-11-14T22:60",
		"2023-11-14T", "2023-11-14T22", "2023-11-14T22:13:20.", "2023-11-14T22:13:20+1", "2023-11-14T22:13:20Zx",
		"1969-12-31T23:59:59Z", "-5", "12345678901234", "2023/11/14", "1700000000.5",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t us;
		if (report_parse_time(bad[i], &us) == ERR_OK)
			fail_msg("'%s' accepted", bad[i]);
	}
	/* Every prefix of a valid time parses or is refused, never more. */
	const char *full = "2023-11-14T22:13:20.25+01:30";
	char buf[64];
	for (size_t n = 0; n <= strlen(full); n++) {
		uint64_t us;
		memcpy(buf, full, n);
		buf[n] = 0;
		int rc = report_parse_time(buf, &us);
		assert_true(rc == ERR_OK || rc == ERR_FORMAT);
	}
}

static void test_parse_prefix_proto(void **state)
{
	(void)state;
	struct report_prefix p;
	assert_int_equal(report_parse_prefix("10.1.2.3/8", &p), ERR_OK);
	assert_int_equal(p.af, 4);
	assert_int_equal(p.len, 8);
	static const uint8_t ten[16] = { 10 };
	assert_memory_equal(p.addr, ten, 16); /* host bits cleared */
	assert_int_equal(report_parse_prefix("192.0.2.1", &p), ERR_OK);
	assert_int_equal(p.len, 32);
	assert_int_equal(report_parse_prefix("2001:db8::1/33", &p), ERR_OK);
	assert_int_equal(p.af, 6);
	assert_int_equal(p.len, 33);
	assert_int_equal(p.addr[4], 0);
	assert_int_equal(report_parse_prefix("::/0", &p), ERR_OK);
	assert_int_equal(p.len, 0);
	static const char *const bad[] = { "", "/8", "10.0.0.0/", "10.0.0.0/33", "::/129", "1.2.3", "10.0.0.0/8x",
		                               "10.0.0.0/-1", "host.example", "10.0.0.0/0008" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (report_parse_prefix(bad[i], &p) == ERR_OK)
			fail_msg("prefix '%s' accepted", bad[i]);
	int16_t pr;
	assert_int_equal(report_parse_proto("tcp", &pr), ERR_OK);
	assert_int_equal(pr, 6);
	assert_int_equal(report_parse_proto("UDP", &pr), ERR_OK);
	assert_int_equal(pr, 17);
	assert_int_equal(report_parse_proto("ipv6-icmp", &pr), ERR_OK);
	assert_int_equal(pr, 58);
	assert_int_equal(report_parse_proto("255", &pr), ERR_OK);
	assert_int_equal(pr, 255);
	assert_int_equal(report_parse_proto("256", &pr), ERR_FORMAT);
	assert_int_equal(report_parse_proto("", &pr), ERR_FORMAT);
	assert_int_equal(report_parse_proto("tc", &pr), ERR_FORMAT);
	assert_int_equal(report_key_by_name("dstas"), RK_DSTAS);
	assert_int_equal(report_key_by_name("bogus"), -1);
	assert_int_equal(report_order_by_name("flows"), RO_FLOWS);
	assert_int_equal(report_fmt_by_name("json"), RF_JSON);
	assert_int_equal(report_fmt_by_name("xml"), -1);
}

/* A record from parts: v4 addresses a.b.c.d given as 32-bit numbers. */
static struct crec rec4(uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp, uint8_t proto, uint64_t pk,
                        uint64_t by, uint64_t last_s)
{
	struct crec r;
	memset(&r, 0, sizeof(r));
	r.f.key.af = 4;
	r.f.key.src[0] = (uint8_t)(src >> 24);
	r.f.key.src[1] = (uint8_t)(src >> 16);
	r.f.key.src[2] = (uint8_t)(src >> 8);
	r.f.key.src[3] = (uint8_t)src;
	r.f.key.dst[0] = (uint8_t)(dst >> 24);
	r.f.key.dst[1] = (uint8_t)(dst >> 16);
	r.f.key.dst[2] = (uint8_t)(dst >> 8);
	r.f.key.dst[3] = (uint8_t)dst;
	r.f.key.sport = sp;
	r.f.key.dport = dp;
	r.f.key.proto = proto;
	r.f.packets = pk;
	r.f.bytes = by;
	r.f.last_us = last_s * SEC;
	r.exporter_af = 4;
	r.exporter[0] = 192;
	r.exporter[3] = 1;
	r.sampling = 1;
	return r;
}

static void test_match(void **state)
{
	(void)state;
	struct report_query q;
	report_query_init(&q);
	struct crec tcp = rec4(0x0a000001, 0xc0a80001, 40000, 443, 6, 1, 100, 1000);
	struct crec icmp = rec4(0x0a000001, 0xc0a80001, 0, 443, 1, 1, 100, 1000); /* dport = type/code 1.187 */
	assert_true(report_match(&q, &tcp));
	q.port = 443;
	assert_true(report_match(&q, &tcp));
	assert_false(report_match(&q, &icmp)); /* ports only where the protocol has them */
	q.port = -1;
	assert_int_equal(report_parse_prefix("192.168.0.0/16", &q.addr), ERR_OK);
	assert_true(report_match(&q, &tcp)); /* the destination side */
	assert_int_equal(report_parse_prefix("192.168.0.0/16", &q.src), ERR_OK);
	assert_false(report_match(&q, &tcp));
	report_query_init(&q);
	assert_int_equal(report_parse_prefix("::/0", &q.src), ERR_OK);
	assert_false(report_match(&q, &tcp)); /* an IPv6 prefix never matches IPv4 */
	report_query_init(&q);
	q.from_us = 1000 * SEC;
	q.to_us = 1001 * SEC;
	assert_true(report_match(&q, &tcp));
	q.from_us = 1000 * SEC + 1;
	assert_false(report_match(&q, &tcp));
	q.from_us = 0;
	q.to_us = 1000 * SEC; /* [from, to): the end is out */
	assert_false(report_match(&q, &tcp));
	/* No end time: the receive time counts. */
	report_query_init(&q);
	tcp.f.last_us = 0;
	tcp.recv_us = 5 * SEC;
	q.to_us = 6 * SEC;
	assert_true(report_match(&q, &tcp));
	report_query_init(&q);
	q.exporter_af = 4;
	q.exporter[0] = 192;
	q.exporter[3] = 2;
	assert_false(report_match(&q, &icmp));
	q.exporter[3] = 1;
	assert_true(report_match(&q, &icmp));
	q.proto = 6;
	assert_false(report_match(&q, &icmp));
}

static struct report_result run(const struct report_query *q, const struct crec *r, size_t n)
{
	struct report_agg *a = report_agg_new(q, 1000000);
	assert_non_null(a);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(report_agg_add(a, &r[i]), ERR_OK);
	struct report_result res;
	assert_int_equal(report_agg_result(a, &res), ERR_OK);
	report_agg_free(a);
	return res;
}

static void test_aggregate(void **state)
{
	(void)state;
	struct crec r[] = {
		rec4(0x0a000001, 0x0a000002, 1000, 80, 6, 10, 1000, 1),
		rec4(0x0a000002, 0x0a000001, 80, 1000, 6, 20, 500, 1),
		rec4(0x0a000003, 0x0a000003, 53, 53, 17, 1, 100, 1), /* src == dst, sport == dport */
		rec4(0x0a000004, 0x0a000001, 0, 0x0800, 1, 5, 1000, 1),
	};
	r[3].sampling = 10;
	struct report_query q;
	report_query_init(&q);
	q.key = RK_ADDR;
	q.top = 0;
	struct report_result res = run(&q, r, 4);
	assert_int_equal(res.flows, 4);
	assert_int_equal(res.packets, 36);
	assert_int_equal(res.bytes, 2600);
	assert_int_equal(res.keys, 4);
	assert_int_equal(res.nrows, 4);
	/* 10.0.0.1: flows 0,1,3 = 2500 bytes; 10.0.0.2 and 10.0.0.4 tie at
	 * 1500 / 1000 ... ordered by bytes, then address. */
	assert_int_equal(res.rows[0].k.b[3], 1);
	assert_int_equal(res.rows[0].bytes, 2500);
	assert_int_equal(res.rows[0].flows, 3);
	assert_int_equal(res.rows[1].k.b[3], 2);
	assert_int_equal(res.rows[1].bytes, 1500);
	assert_int_equal(res.rows[2].k.b[3], 4); /* 1000 bytes, before 10.0.0.3 (100) */
	assert_int_equal(res.rows[3].k.b[3], 3);
	assert_int_equal(res.rows[3].flows, 1); /* src == dst: once */
	report_result_free(&res);

	/* Ties broken by key: order by flows, every address has 1-3. */
	q.order = RO_PACKETS;
	q.key = RK_PORT;
	res = run(&q, r, 4);
	/* ports: 1000 (30 pk), 80 (30 pk), 53 (1), 0 (ICMP: 5) */
	assert_int_equal(res.nrows, 4);
	assert_int_equal(peek_u32(res.rows[0].k.b), 80);   /* tie at 30 packets: 80 < 1000 */
	assert_int_equal(peek_u32(res.rows[1].k.b), 1000);
	assert_int_equal(peek_u32(res.rows[2].k.b), 0);
	assert_int_equal(res.rows[2].packets, 5);
	assert_int_equal(peek_u32(res.rows[3].k.b), 53);
	assert_int_equal(res.rows[3].flows, 1);
	report_result_free(&res);

	/* --unsample scales packets and bytes, not flows. */
	q.key = RK_PROTO;
	q.order = RO_BYTES;
	q.unsample = true;
	res = run(&q, r, 4);
	assert_int_equal(res.bytes, 1600 + 10000);
	assert_int_equal(res.packets, 31 + 50);
	assert_int_equal(res.flows, 4);
	assert_int_equal(peek_u32(res.rows[0].k.b), 1);
	assert_int_equal(res.rows[0].bytes, 10000);
	report_result_free(&res);

	/* The key limit is an error, not growth. */
	struct report_agg *a = report_agg_new(&q, 2);
	q.key = RK_SRCADDR;
	report_agg_free(a);
	a = report_agg_new(&q, 2);
	assert_int_equal(report_agg_add(a, &r[0]), ERR_OK);
	assert_int_equal(report_agg_add(a, &r[1]), ERR_OK);
	assert_int_equal(report_agg_add(a, &r[0]), ERR_OK); /* a known key is fine */
	assert_int_equal(report_agg_add(a, &r[2]), ERR_FULL);
	report_agg_free(a);
}

/* Top N by the heap equals the first N of a full sort, for every key,
 * order and several N, over fixture records (many ties in flows). */
static void test_topn(void **state)
{
	(void)state;
	enum { N = 5000 };
	static struct crec r[N];
	for (unsigned i = 0; i < N; i++)
		fx_crec(&r[i], 21, i, 1700000000 * SEC + i * SEC, i % 6);
	for (int k = 0; k < RK_MAX_; k++) {
		for (int o = 0; o < RO_MAX_; o++) {
			struct report_query q;
			report_query_init(&q);
			q.key = (enum report_key)k;
			q.order = (enum report_order)o;
			q.top = 0;
			struct report_result all = run(&q, r, N);
			assert_int_equal(all.nrows, all.keys);
			for (size_t i = 1; i < all.nrows; i++) {
				const struct report_row *x = &all.rows[i - 1], *y = &all.rows[i];
				uint64_t mx = o == RO_FLOWS ? x->flows : o == RO_PACKETS ? x->packets : x->bytes;
				uint64_t my = o == RO_FLOWS ? y->flows : o == RO_PACKETS ? y->packets : y->bytes;
				assert_true(mx > my || (mx == my && memcmp(&x->k, &y->k, sizeof(x->k)) < 0));
			}
			static const uint32_t tops[] = { 1, 2, 7, 10, 100 };
			for (size_t t = 0; t < 5; t++) {
				q.top = tops[t];
				struct report_result part = run(&q, r, N);
				size_t want = q.top < all.nrows ? q.top : all.nrows;
				assert_int_equal(part.nrows, want);
				for (size_t i = 0; i < want; i++) {
					assert_memory_equal(&part.rows[i].k, &all.rows[i].k, sizeof(all.rows[i].k));
					assert_int_equal(part.rows[i].flows, all.rows[i].flows);
					assert_int_equal(part.rows[i].packets, all.rows[i].packets);
					assert_int_equal(part.rows[i].bytes, all.rows[i].bytes);
				}
				assert_int_equal(part.bytes, all.bytes);
				report_result_free(&part);
			}
			report_result_free(&all);
		}
	}
}

__attribute__((noinline)) static char *print(enum report_fmt fmt, const struct report_query *q, const struct report_result *res,
                   const struct store_stats *st)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	report_print(m, fmt, q, res, st);
	fclose(m);
	return text;
}

static void test_print(void **state)
{
	(void)state;
	enum { N = 3000 };
	static struct crec r[N];
	for (unsigned i = 0; i < N; i++)
		fx_crec(&r[i], 22, i, 1700000000 * SEC + i * SEC, i % 4);
	struct report_query q;
	report_query_init(&q);
	q.key = RK_SRCADDR;
	q.from_us = 1700000000 * SEC;
	q.to_us = 1700003600 * SEC;
	q.proto = 6;
	struct report_result res = run(&q, r, N);
	struct store_stats st = { .files = 4, .blocks_bad = 2 };
	char *t = print(RF_TEXT, &q, &res, &st);
	assert_non_null(strstr(t, "Top 10 of "));
	assert_non_null(strstr(t, "source address values by bytes, flows ending 2023-11-14T22:13:20Z .. 2023-11-14T23:13:20Z\n"));
	assert_non_null(strstr(t, "Filter: proto tcp\n"));
	assert_non_null(strstr(t, " in 4 files\n"));
	assert_non_null(strstr(t, "2 damaged blocks"));
	/* The table: header, 10 rows, total; all one width. */
	char *tab = strstr(t, "\n\n");
	assert_non_null(tab);
	tab += 2;
	size_t width = strcspn(tab, "\n"), lines = 0;
	for (char *l = tab; *l; l += strcspn(l, "\n") + 1, lines++)
		assert_int_equal(strcspn(l, "\n"), width);
	assert_int_equal(lines, 12);
	free(t);

	t = print(RF_CSV, &q, &res, &st);
	assert_true(strncmp(t, "rank,srcaddr,flows,packets,bytes\n1,", 35) == 0);
	char tot[128];
	snprintf(tot, sizeof(tot), "\ntotal,,%llu,%llu,%llu\n", (unsigned long long)res.flows,
	         (unsigned long long)res.packets, (unsigned long long)res.bytes);
	assert_non_null(strstr(t, tot));
	free(t);

	t = print(RF_JSON, &q, &res, &st);
	assert_true(strncmp(t, "{\"key\":\"srcaddr\",\"order\":\"bytes\",\"top\":10,\"from\":\"2023-11-14T22:13:20Z\"", 70) == 0);
	assert_non_null(strstr(t, "\"filter\":{\"proto\":6}"));
	assert_non_null(strstr(t, "\"blocks_bad\":2"));
	assert_non_null(strstr(t, "\"rows\":[{\"rank\":1,\"srcaddr\":\""));
	assert_int_equal(t[strlen(t) - 1], '\n');
	free(t);
	report_result_free(&res);

	/* Nothing matched: still a table, shares shown as "-". */
	q.proto = 99;
	res = run(&q, r, N);
	t = print(RF_TEXT, &q, &res, NULL);
	assert_non_null(strstr(t, "All 0 source address values"));
	assert_non_null(strstr(t, "Total: 0 flows, 0 packets, 0 bytes\n"));
	free(t);
	t = print(RF_JSON, &q, &res, NULL);
	assert_non_null(strstr(t, "\"rows\":[]}"));
	free(t);
	report_result_free(&res);

	/* Scaled counts: three digits. */
	struct report_row row = { .flows = 99999, .packets = 100000, .bytes = 123456789012ull };
	struct report_result one = { .rows = &row, .nrows = 1, .keys = 1, .flows = 99999, .packets = 100000,
		                         .bytes = 123456789012ull };
	report_query_init(&q);
	q.key = RK_PROTO;
	row.k.b[3] = 6;
	t = print(RF_TEXT, &q, &one, NULL);
	assert_non_null(strstr(t, "tcp"));
	assert_non_null(strstr(t, "99999"));
	assert_non_null(strstr(t, "100 K"));
	assert_non_null(strstr(t, "123 G"));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_parse_prefix_proto),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_aggregate),
		cmocka_unit_test(test_topn),
		cmocka_unit_test(test_print),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
