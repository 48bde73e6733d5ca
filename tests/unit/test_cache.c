/* test_cache.c — the IOS expiry rules at exact packet-time boundaries,
 * emergency expiry, each cache type, statistics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cache/cache.h"

#define S 1000000ull /* one second in us */
#define T0 (1700000000ull * S)

struct sink {
	struct flowrec rec[256];
	unsigned n;
};

static void sink_emit(void *arg, const struct flowrec *r)
{
	struct sink *s = arg;
	assert_true(s->n < 256);
	s->rec[s->n++] = *r;
}

/* A TCP/UDP packet from 10.0.0.<host> port <sport> to 10.0.1.1:80. */
static struct pkt_info pkt(uint8_t proto, uint8_t host, uint16_t sport, uint16_t len, uint8_t flags)
{
	struct pkt_info p;
	memset(&p, 0, sizeof(p));
	p.af = 4;
	p.proto = proto;
	p.src[0] = 10, p.src[3] = host;
	p.dst[0] = 10, p.dst[2] = 1, p.dst[3] = 1;
	p.sport = sport;
	p.dport = 80;
	p.ip_len = len;
	p.ttl = 64;
	p.tcp_flags = flags;
	return p;
}

static struct cache *mk(struct sink *s, uint32_t entries, uint32_t act, uint32_t inact, enum cache_type t)
{
	struct cache_cfg cfg = { .entries = entries, .active_s = act, .inactive_s = inact, .type = t };
	memset(s, 0, sizeof(*s));
	struct cache *c = cache_new(&cfg, sink_emit, s);
	assert_non_null(c);
	return c;
}

static void test_idle_boundary(void **state)
{
	struct sink s;
	struct cache *c = mk(&s, 100, 1800, 15, CACHE_NORMAL);
	struct pkt_info p = pkt(17, 1, 1000, 100, 0);
	cache_packet(c, &p, 1, 0, T0);
	cache_packet(c, &p, 1, 0, T0 + 2 * S);
	/* one microsecond before the idle deadline: still open */
	cache_expire(c, T0 + 17 * S - 1);
	assert_int_equal(s.n, 0);
	assert_int_equal(cache_next_deadline(c), T0 + 17 * S);
	cache_expire(c, T0 + 17 * S);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.rec[0].end, FLOW_END_IDLE);
	assert_int_equal(s.rec[0].packets, 2);
	assert_int_equal(s.rec[0].bytes, 200);
	assert_int_equal(s.rec[0].first_us, T0);
	assert_int_equal(s.rec[0].last_us, T0 + 2 * S);
	assert_int_equal(cache_stats(c)->in_use, 0);
	assert_int_equal(cache_stats(c)->records[FLOW_END_IDLE], 1);
	/* a packet exactly at the deadline starts a new record */
	cache_packet(c, &p, 1, 0, T0 + 40 * S);
	cache_packet(c, &p, 1, 0, T0 + 55 * S);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.rec[1].packets, 1);
	assert_int_equal(s.rec[1].first_us, T0 + 40 * S);
	cache_free(c);
}

static void test_active_delta(void **state)
{
	struct sink s;
	struct cache *c = mk(&s, 100, 60, 15, CACHE_NORMAL);
	struct pkt_info p = pkt(6, 1, 1000, 1500, 0x10);
	/* a packet every 10 s for 130 s: records at 60 s boundaries from each record's first packet */
	for (uint64_t t = 0; t <= 130; t += 10)
		cache_packet(c, &p, 1, 0, T0 + t * S);
	/* packets at 0..50 -> record 1 (closed by the packet at 60), 60..110 -> record 2 (closed at 120) */
	assert_int_equal(s.n, 2);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(s.rec[i].end, FLOW_END_ACTIVE);
		assert_int_equal(s.rec[i].packets, 6);
		assert_int_equal(s.rec[i].bytes, 9000);
		assert_int_equal(s.rec[i].first_us, T0 + i * 60 * S);
		assert_int_equal(s.rec[i].last_us, T0 + (i * 60 + 50) * S);
	}
	/* the flow stayed in the cache: one entry, not freed */
	assert_int_equal(cache_stats(c)->in_use, 1);
	assert_int_equal(cache_stats(c)->empty_reclaimed, 0);
	cache_flush(c, FLOW_END_SHUTDOWN);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.rec[2].end, FLOW_END_SHUTDOWN);
	assert_int_equal(s.rec[2].packets, 2);
	assert_int_equal(cache_stats(c)->in_use, 0);
	cache_free(c);
}

static void test_active_then_empty(void **state)
{
	struct sink s;
	struct cache *c = mk(&s, 100, 60, 15, CACHE_NORMAL);
	struct pkt_info p = pkt(17, 1, 1000, 100, 0);
	for (uint64_t t = 0; t <= 50; t += 10)
		cache_packet(c, &p, 1, 0, T0 + t * S);
	/* active deadline 60 s comes before the idle one (65 s) */
	cache_expire(c, T0 + 60 * S);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.rec[0].end, FLOW_END_ACTIVE);
	assert_int_equal(cache_stats(c)->in_use, 1);
	/* then the empty entry idles out without a record */
	cache_expire(c, T0 + 65 * S);
	assert_int_equal(s.n, 1);
	assert_int_equal(cache_stats(c)->in_use, 0);
	assert_int_equal(cache_stats(c)->empty_reclaimed, 1);
	cache_free(c);
}

static void test_both_due_reason(void **state)
{
	struct sink s;
	struct cache *c = mk(&s, 100, 60, 15, CACHE_NORMAL);
	struct pkt_info p = pkt(17, 1, 1000, 100, 0);
	struct pkt_info q = pkt(17, 2, 1000, 100, 0);
	/* flow p: f=0 l=50: active at 60 < idle at 65 -> active */
	for (uint64_t t = 0; t <= 50; t += 10)
		cache_packet(c, &p, 1, 0, T0 + t * S);
	/* flow q: f=10 l=20: idle at 35 < active at 70 -> idle */
	cache_packet(c, &q, 1, 0, T0 + 10 * S);
	cache_packet(c, &q, 1, 0, T0 + 20 * S);
	cache_expire(c, T0 + 100 * S);
	assert_int_equal(s.n, 2);
	for (unsigned i = 0; i < 2; i++) {
		if (s.rec[i].key.src[3] == 1)
			assert_int_equal(s.rec[i].end, FLOW_END_ACTIVE);
		else
			assert_int_equal(s.rec[i].end, FLOW_END_IDLE);
	}
	/* tie (f + A == l + I): idle */
	for (uint64_t t = 200; t <= 240; t += 10)
		cache_packet(c, &p, 1, 0, T0 + t * S);
	cache_packet(c, &p, 1, 0, T0 + 245 * S);
	cache_expire(c, T0 + 260 * S);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.rec[2].end, FLOW_END_IDLE);
	cache_free(c);
}

static void test_fin_rst(void **state)
{
	struct sink s;
	struct cache *c = mk(&s, 100, 1800, 15, CACHE_NORMAL);
	struct pkt_info syn = pkt(6, 1, 1000, 60, 0x02);
	struct pkt_info ack = pkt(6, 1, 1000, 40, 0x10);
	struct pkt_info fin = pkt(6, 1, 1000, 40, 0x11);
	struct pkt_info rst = pkt(6, 2, 1000, 40, 0x04);
	cache_packet(c, &syn, 1, 0, T0);
	cache_packet(c, &ack, 1, 0, T0 + 1);
	cache_packet(c, &fin, 1, 0, T0 + 2);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.rec[0].end, FLOW_END_EOF);
	assert_int_equal(s.rec[0].packets, 3);
	assert_int_equal(s.rec[0].tcp_flags, 0x13);
	assert_int_equal(s.rec[0].min_len, 40);
	assert_int_equal(s.rec[0].max_len, 60);
	/* the last ACK after FIN is a new one-packet flow */
	cache_packet(c, &ack, 1, 0, T0 + 3);
	cache_packet(c, &rst, 1, 0, T0 + 4);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.rec[1].end, FLOW_END_EOF);
	assert_int_equal(s.rec[1].key.src[3], 2);
	assert_int_equal(cache_stats(c)->in_use, 1);
	/* FIN on UDP's protocol number means nothing */
	struct pkt_info u = pkt(17, 3, 1000, 40, 0x01);
	cache_packet(c, &u, 1, 0, T0 + 5);
	assert_int_equal(s.n, 2);
	cache_free(c);
}

static void test_emergency_oldest_idle(void **state)
{
	struct sink s;
	struct cache *c = mk(&s, 10, 1800, 15, CACHE_NORMAL);
	/* 9 flows fill the cache to its 90 % mark */
	for (uint8_t h = 1; h <= 9; h++) {
		struct pkt_info p = pkt(17, h, 1000, 100, 0);
		cache_packet(c, &p, 1, 0, T0 + h);
	}
	/* touch flow 1 so flow 2 becomes the oldest idle */
	struct pkt_info p1 = pkt(17, 1, 1000, 100, 0);
	cache_packet(c, &p1, 1, 0, T0 + 20);
	assert_int_equal(s.n, 0);
	struct pkt_info p10 = pkt(17, 10, 1000, 100, 0);
	cache_packet(c, &p10, 1, 0, T0 + 21);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.rec[0].end, FLOW_END_EMERGENCY);
	assert_int_equal(s.rec[0].key.src[3], 2);
	assert_int_equal(cache_stats(c)->in_use, 9);
	assert_int_equal(cache_stats(c)->records[FLOW_END_EMERGENCY], 1);
	assert_int_equal(flow_end_ipfix(FLOW_END_EMERGENCY), 5);
	cache_free(c);
}

static void test_permanent(void **state)
{
	struct sink s;
	struct cache *c = mk(&s, 3, 60, 15, CACHE_PERMANENT);
	for (uint8_t h = 1; h <= 3; h++) {
		struct pkt_info p = pkt(6, h, 1000, 100, 0x01); /* FIN does not end a permanent flow */
		cache_packet(c, &p, 1, 0, T0);
	}
	/* long idle: nothing expires but the active timer */
	cache_expire(c, T0 + 59 * S);
	assert_int_equal(s.n, 0);
	/* a fourth flow does not fit: dropped and counted */
	struct pkt_info p4 = pkt(6, 4, 1000, 100, 0);
	cache_packet(c, &p4, 1, 0, T0 + 59 * S);
	assert_int_equal(cache_stats(c)->flows_dropped_full, 1);
	assert_int_equal(cache_stats(c)->packets_dropped_full, 1);
	assert_int_equal(cache_stats(c)->bytes_dropped_full, 100);
	cache_expire(c, T0 + 60 * S);
	assert_int_equal(s.n, 3);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(s.rec[i].end, FLOW_END_ACTIVE);
	/* entries stay, even idle for an hour */
	cache_expire(c, T0 + 3600 * S);
	assert_int_equal(cache_stats(c)->in_use, 3);
	assert_int_equal(s.n, 3);
	/* next packet: a new record with delta counters */
	struct pkt_info p1 = pkt(6, 1, 1000, 100, 0);
	cache_packet(c, &p1, 1, 0, T0 + 3600 * S);
	cache_expire(c, T0 + 3660 * S);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.rec[3].packets, 1);
	assert_int_equal(s.rec[3].first_us, T0 + 3600 * S);
	cache_free(c);
}

static void test_immediate(void **state)
{
	struct sink s;
	struct cache *c = mk(&s, 4, 60, 15, CACHE_IMMEDIATE);
	struct pkt_info p = pkt(17, 1, 1000, 123, 0);
	for (unsigned i = 0; i < 5; i++)
		cache_packet(c, &p, 7, 1, T0 + i);
	assert_int_equal(s.n, 5);
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(s.rec[i].end, FLOW_END_IMMEDIATE);
		assert_int_equal(s.rec[i].packets, 1);
		assert_int_equal(s.rec[i].bytes, 123);
		assert_int_equal(s.rec[i].first_us, T0 + i);
		assert_int_equal(s.rec[i].last_us, T0 + i);
		assert_int_equal(s.rec[i].key.ifindex, 7);
		assert_int_equal(s.rec[i].key.dir, 1);
	}
	assert_int_equal(cache_stats(c)->in_use, 0);
	cache_free(c);
}

static void test_keys_distinct(void **state)
{
	struct sink s;
	struct cache *c = mk(&s, 100, 1800, 15, CACHE_NORMAL);
	struct pkt_info p = pkt(17, 1, 1000, 100, 0);
	cache_packet(c, &p, 1, 0, T0);
	cache_packet(c, &p, 2, 0, T0);  /* other interface */
	cache_packet(c, &p, 1, 1, T0);  /* other direction */
	p.tos = 0xb8;
	cache_packet(c, &p, 1, 0, T0);  /* other ToS */
	p.af = 6;
	cache_packet(c, &p, 1, 0, T0);  /* same bytes, other family */
	assert_int_equal(cache_stats(c)->in_use, 5);
	cache_flush(c, FLOW_END_SHUTDOWN);
	assert_int_equal(s.n, 5);
	assert_int_equal(cache_stats(c)->records[FLOW_END_SHUTDOWN], 5);
	cache_free(c);
}

static void test_clock_backstep_and_stats(void **state)
{
	struct sink s;
	struct cache *c = mk(&s, 100, 1800, 15, CACHE_NORMAL);
	struct pkt_info p = pkt(6, 1, 23, 40, 0x10);
	cache_packet(c, &p, 1, 0, T0 + 10);
	cache_packet(c, &p, 1, 0, T0 + 5); /* older than the clock: counted at the clock */
	assert_int_equal(cache_stats(c)->clock_backsteps, 1);
	struct pkt_info big = pkt(17, 2, 53, 1500, 0);
	cache_packet(c, &big, 1, 0, T0 + 20);
	const struct cache_stats *st = cache_stats(c);
	assert_int_equal(st->size_hist[1], 2);  /* 40 bytes: the 64 bucket */
	assert_int_equal(st->size_hist[19], 1); /* 1500: the 1536 bucket */
	cache_flush(c, FLOW_END_SHUTDOWN);
	assert_int_equal(s.n, 2);
	/* flush order follows the (randomly seeded) hash: find the TCP record */
	const struct flowrec *tcp = s.rec[0].key.proto == 6 ? &s.rec[0] : &s.rec[1];
	assert_int_equal(tcp->key.proto, 6);
	assert_int_equal(tcp->last_us, T0 + 10);
	assert_int_equal(st->proto[PC_TCP_TELNET].flows, 1);
	assert_int_equal(st->proto[PC_TCP_TELNET].packets, 2);
	assert_int_equal(st->proto[PC_UDP_DNS].flows, 1);
	assert_int_equal(st->proto[PC_UDP_DNS].bytes, 1500);
	cache_stats_clear(c);
	assert_int_equal(cache_stats(c)->packets, 0);
	cache_free(c);
}

static void test_bad_config(void **state)
{
	struct sink s;
	struct cache_cfg cfg = { .entries = 0, .active_s = 60, .inactive_s = 15 };
	assert_null(cache_new(&cfg, sink_emit, &s));
	cfg.entries = 10;
	cfg.active_s = 0;
	assert_null(cache_new(&cfg, sink_emit, &s));
	cache_free(NULL);
}

static void test_churn(void **state)
{
	/* many flows through a small cache: every packet accounted for */
	static struct sink s;
	struct cache *c = mk(&s, 64, 1800, 1, CACHE_NORMAL);
	uint64_t pk = 0;
	for (unsigned i = 0; i < 20000; i++) {
		struct pkt_info p = pkt(17, (uint8_t)(i % 97), (uint16_t)(i % 13), 100, 0);
		cache_packet(c, &p, 1, 0, T0 + i * 1000ull);
		if (s.n > 200) {
			for (unsigned j = 0; j < s.n; j++)
				pk += s.rec[j].packets;
			s.n = 0;
		}
	}
	cache_flush(c, FLOW_END_SHUTDOWN);
	for (unsigned j = 0; j < s.n; j++)
		pk += s.rec[j].packets;
	assert_int_equal(pk, 20000);
	assert_true(cache_stats(c)->high_water <= 58);
	cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_boundary),
		cmocka_unit_test(test_active_delta),
		cmocka_unit_test(test_active_then_empty),
		cmocka_unit_test(test_both_due_reason),
		cmocka_unit_test(test_fin_rst),
		cmocka_unit_test(test_emergency_oldest_idle),
		cmocka_unit_test(test_permanent),
		cmocka_unit_test(test_immediate),
		cmocka_unit_test(test_keys_distinct),
		cmocka_unit_test(test_clock_backstep_and_stats),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
