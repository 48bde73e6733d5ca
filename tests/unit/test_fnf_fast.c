/* test_fnf_fast.c — the flexible cache's compiled packet path (guarded
 * member loads, gathered keys) gives exactly the records of the
 * reference path (fnf_set_generic: every field through the per-source
 * switch), for records of every shape: plain members only (gathered),
 * conditions, shared members, bucketed, saturated and widened values,
 * addresses, MACs and the values that need the generic extractors; in
 * the normal cache (idle, active, emergency, TCP end, flush), the
 * permanent one and the immediate one (record by record, in order). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cache/fnf.h"
#include "lib/err.h"

#define S 1000000ull
#define T0 (1700000000ull * S)
#define NPKT 6000
#define MAXREC (NPKT + 16)

struct rec {
	uint8_t end;
	uint64_t first_us, last_us, packets, bytes;
	uint64_t u[FNF_FIELDS_MAX];
	uint8_t b[FNF_FIELDS_MAX][16];
};

struct sink {
	struct rec *r;
	size_t n;
};

static void emit(void *arg, const struct genrec *g)
{
	struct sink *s = arg;
	assert_true(s->n < MAXREC);
	struct rec *r = &s->r[s->n++];
	memset(r, 0, sizeof(*r));
	for (unsigned i = 0; i < g->lay->n; i++) {
		if (g->lay->f[i].kind == GENREC_BYTES)
			memcpy(r->b[i], g->v[i].p, g->lay->f[i].len);
		else
			r->u[i] = g->v[i].u;
	}
	r->end = g->end;
	r->first_us = g->first_us;
	r->last_us = g->last_us;
	r->packets = g->packets;
	r->bytes = g->bytes;
}

static int rec_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct rec));
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

/* Packets from a few hosts, ports and kinds, so that records collide,
 * repeat and end every way; garbage in the padding of the struct. */
static void make_pkts(struct cache_pkt *v, size_t n)
{
	static const uint8_t protos[] = { 6, 17, 1, 58, 2, 47 };
	uint64_t t = T0;
	for (size_t i = 0; i < n; i++) {
		struct cache_pkt *p = &v[i];
		memset(p, 0xa5, sizeof(*p));
		memset(&p->pi, 0, sizeof(p->pi));
		p->pi.af = rnd(4) ? 4 : 6;
		p->pi.proto = protos[rnd(sizeof(protos))];
		for (int k = 0; k < 16; k++) {
			p->pi.src[k] = (uint8_t)(k == 3 ? rnd(6) : k < 4 || p->pi.af == 6 ? 10u + (unsigned)k : 0u);
			p->pi.dst[k] = (uint8_t)(k == 3 ? rnd(3) : k < 4 || p->pi.af == 6 ? 20u + (unsigned)k : 0u);
		}
		p->pi.sport = (uint16_t)(rnd(3) ? 1000 + rnd(3) : 0xfff0 + rnd(16));
		p->pi.dport = (uint16_t)(rnd(2) ? 80 : 443);
		p->pi.tos = (uint8_t)(rnd(3) * 0x48);
		p->pi.ttl = (uint8_t)(rnd(2) ? 64 : 5 + rnd(250));
		p->pi.tcp_flags = (uint8_t)(rnd(8) == 0 ? 0x01 : rnd(4) == 0 ? 0x04 : 0x10 | rnd(2) << 3);
		p->pi.icmp_type = (uint8_t)rnd(4);
		p->pi.icmp_code = (uint8_t)rnd(2);
		p->pi.igmp_type = (uint8_t)(0x11 + rnd(2));
		p->pi.ip_len = rnd(10) ? 40 + rnd(1500) : 70000 + rnd(100);
		p->pi.flags = (uint16_t)((rnd(2) ? PKT_F_DF : 0) | (rnd(5) ? 0 : PKT_F_MF) | (rnd(7) ? 0 : PKT_F_MULTICAST));
		p->pi.vlan = (uint16_t)rnd(3);
		p->pi.vlan_pcp = (uint8_t)rnd(2);
		p->pi.flow_label = rnd(3);
		p->pi.frag_off = (uint16_t)(rnd(4) * 8);
		p->pi.ip6_nh = p->pi.af == 6 ? p->pi.proto : 0;
		for (int k = 0; k < 6; k++) {
			p->pi.src_mac[k] = (uint8_t)(k == 5 ? rnd(2) : 2);
			p->pi.dst_mac[k] = (uint8_t)(k == 5 ? rnd(2) : 4);
		}
		t += rnd(20) ? rnd(200000) : rnd(5) * S;
		p->t_us = t;
		p->ifindex = 1 + rnd(2);
		p->dir = (uint8_t)rnd(2);
	}
}

struct fld {
	uint16_t len;
	enum fnf_src src;
	enum fnf_op op;
};

static void def_of(struct fnf_def *d, unsigned flags, const struct fld *f, size_t n)
{
	fnf_def_init(d, flags);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(fnf_def_add(d, (uint16_t)(100 + i), f[i].len, f[i].src, f[i].op), ERR_OK);
	assert_int_equal(fnf_def_finish(d), ERR_OK);
}

/* Run the packets through a cache by each path; the same records. */
static void same_records(const struct fnf_def *d, enum cache_type type, uint32_t entries, bool want_gather,
                         const struct cache_pkt *v, size_t n)
{
	struct fnf_cfg cfg = { .entries = entries, .active_s = 4, .inactive_s = 2, .type = type };
	struct sink s[2];
	struct fnf_cache *c[2];
	for (int k = 0; k < 2; k++) {
		s[k].r = calloc(MAXREC, sizeof(struct rec));
		s[k].n = 0;
		assert_non_null(s[k].r);
		c[k] = fnf_new(d, &cfg, emit, &s[k]);
		assert_non_null(c[k]);
	}
	assert_int_equal(fnf_gathered(c[1]), want_gather);
	fnf_set_generic(c[0], true);
	assert_false(fnf_gathered(c[0]));
	for (int k = 0; k < 2; k++) {
		/* batches of every size */
		for (size_t i = 0, m = 1; i < n; i += m, m = m % CACHE_BATCH_MAX + 1) {
			const struct cache_pkt *pv[CACHE_BATCH_MAX];
			size_t j;
			for (j = 0; j < m && i + j < n; j++)
				pv[j] = &v[i + j];
			fnf_packets(c[k], pv, j, 1);
		}
	}
	size_t live = s[0].n;
	assert_int_equal(s[1].n, live);
	/* in order until the flush (lists, not hashes, decide the order) */
	for (size_t i = 0; i < live; i++)
		assert_int_equal(rec_cmp(&s[0].r[i], &s[1].r[i]), 0);
	fnf_flush(c[0], FLOW_END_SHUTDOWN);
	fnf_flush(c[1], FLOW_END_SHUTDOWN);
	assert_int_equal(s[0].n, s[1].n);
	assert_true(s[0].n > 10);
	for (int k = 0; k < 2; k++)
		qsort(s[k].r + live, s[k].n - live, sizeof(struct rec), rec_cmp);
	for (size_t i = 0; i < s[0].n; i++)
		assert_int_equal(rec_cmp(&s[0].r[i], &s[1].r[i]), 0);
	assert_memory_equal(fnf_stats(c[0])->records, fnf_stats(c[1])->records, sizeof(fnf_stats(c[0])->records));
	assert_int_equal(fnf_stats(c[0])->flows_added, fnf_stats(c[1])->flows_added);
	assert_int_equal(fnf_stats(c[0])->flows_dropped_full, fnf_stats(c[1])->flows_dropped_full);
	for (int k = 0; k < 2; k++) {
		fnf_free(c[k]);
		free(s[k].r);
	}
}

static void check_def(const struct fld *f, size_t n, unsigned flags, bool want_gather)
{
	static struct cache_pkt v[NPKT];
	make_pkts(v, NPKT);
	struct fnf_def d;
	def_of(&d, flags, f, n);
	same_records(&d, CACHE_NORMAL, 4096, want_gather, v, NPKT);
	same_records(&d, CACHE_NORMAL, 24, want_gather, v, NPKT);   /* emergency expiry */
	same_records(&d, CACHE_PERMANENT, 40, want_gather, v, NPKT); /* and cache full */
	same_records(&d, CACHE_IMMEDIATE, 16, want_gather, v, 2000);
}

#define COLLECT                                                                                    \
	{ 8, FNF_S_BYTES, FNF_SUM }, { 8, FNF_S_PACKETS, FNF_SUM }, { 8, FNF_S_FIRST, FNF_FIRST },       \
	{ 8, FNF_S_LAST, FNF_LAST }, { 1, FNF_S_TCP_FLAGS, FNF_OR }, { 2, FNF_S_IPLEN_EXACT, FNF_MIN },  \
	{ 2, FNF_S_IPLEN_EXACT, FNF_MAX }, { 1, FNF_S_TTL, FNF_MIN }, { 1, FNF_S_FRAG_FLAGS, FNF_OR },  \
	{ 4, FNF_S_SRC6, FNF_FIRST }, { 6, FNF_S_MAC_SRC_IN, FNF_FIRST }, { 2, FNF_S_VLAN_OUT, FNF_LAST }, \
	{ 4, FNF_S_IF_IN, FNF_FIRST }, { 1, FNF_S_TOS, FNF_MAX }, { 1, FNF_S_SAMPLER, FNF_FIRST },      \
	{ 2, FNF_S_UDP_DPORT, FNF_LAST }, { 4, FNF_S_FLOWS, FNF_SUM }

/* the bench's record: 5-tuple and ToS, gathered */
static void test_five_tuple_tos(void **state)
{
	(void)state;
	const struct fld f[] = {
		{ 4, FNF_S_SRC4, FNF_KEY }, { 4, FNF_S_DST4, FNF_KEY }, { 2, FNF_S_SPORT, FNF_KEY },
		{ 2, FNF_S_DPORT, FNF_KEY }, { 1, FNF_S_PROTO, FNF_KEY }, { 1, FNF_S_TOS, FNF_KEY }, COLLECT,
	};
	check_def(f, sizeof(f) / sizeof(f[0]), 0, true);
}

/* conditions on the af, the protocol and the direction; IPv6 addresses, MACs */
static void test_guarded_members(void **state)
{
	(void)state;
	const struct fld f[] = {
		{ 16, FNF_S_SRC6, FNF_KEY }, { 2, FNF_S_TCP_SPORT, FNF_KEY }, { 2, FNF_S_DPORT, FNF_KEY },
		{ 6, FNF_S_MAC_DST_OUT, FNF_KEY }, { 4, FNF_S_IF_OUT, FNF_KEY }, { 1, FNF_S_PROTO, FNF_KEY },
		COLLECT,
	};
	check_def(f, sizeof(f) / sizeof(f[0]), 0, true);
}

/* more conditions than a gathered key takes: the compiled per-field path */
static void test_many_conditions(void **state)
{
	(void)state;
	const struct fld f[] = {
		{ 4, FNF_S_SRC4, FNF_KEY }, { 2, FNF_S_TCP_DPORT, FNF_KEY }, { 1, FNF_S_IGMP_TYPE, FNF_KEY },
		{ 2, FNF_S_VLAN_IN, FNF_KEY }, { 4, FNF_S_FLOW_LABEL, FNF_KEY }, COLLECT,
	};
	check_def(f, sizeof(f) / sizeof(f[0]), 0, false);
}

/* two fields of one member (port and TCP port): not gathered */
static void test_shared_member(void **state)
{
	(void)state;
	const struct fld f[] = {
		{ 2, FNF_S_SPORT, FNF_KEY }, { 2, FNF_S_TCP_SPORT, FNF_KEY }, { 1, FNF_S_PROTO, FNF_KEY }, COLLECT,
	};
	check_def(f, sizeof(f) / sizeof(f[0]), 0, false);
}

/* values the generic extractors make: buckets, shifts, two conditions,
 * widths other than the member's (saturated or widened), zeros */
static void test_generic_values(void **state)
{
	(void)state;
	const struct fld f[] = {
		{ 1, FNF_S_TTL, FNF_KEY }, { 2, FNF_S_IPLEN, FNF_KEY }, { 1, FNF_S_ICMP4_TYPE, FNF_KEY },
		{ 1, FNF_S_SPORT, FNF_KEY }, { 4, FNF_S_PROTO, FNF_KEY }, { 4, FNF_S_ZERO, FNF_KEY },
		{ 1, FNF_S_DSCP, FNF_KEY }, { 1, FNF_S_MCAST, FNF_KEY }, { 2, FNF_S_FRAG_OFF, FNF_KEY }, COLLECT,
	};
	check_def(f, sizeof(f) / sizeof(f[0]), FNF_D_BUCKET_TTL | FNF_D_BUCKET_LEN, false);
	check_def(f, sizeof(f) / sizeof(f[0]), 0, false);
}

/* plain members with the bucket flags off and on (TTL, length) */
static void test_bucket_flags(void **state)
{
	(void)state;
	const struct fld f[] = {
		{ 1, FNF_S_TTL, FNF_KEY }, { 4, FNF_S_IPLEN, FNF_KEY }, { 1, FNF_S_DIR, FNF_KEY },
		{ 1, FNF_S_VERSION, FNF_KEY }, { 1, FNF_S_PCP, FNF_KEY }, COLLECT,
	};
	check_def(f, sizeof(f) / sizeof(f[0]), 0, true);
	check_def(f, sizeof(f) / sizeof(f[0]), FNF_D_BUCKET_TTL | FNF_D_BUCKET_LEN, false);
}

/* a short prefix of an address, a MAC of the other direction */
static void test_partial_bytes(void **state)
{
	(void)state;
	const struct fld f[] = {
		{ 3, FNF_S_SRC4, FNF_KEY }, { 9, FNF_S_DST6, FNF_KEY }, { 6, FNF_S_MAC_SRC_IN, FNF_KEY }, COLLECT,
	};
	check_def(f, sizeof(f) / sizeof(f[0]), 0, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_five_tuple_tos),
		cmocka_unit_test(test_guarded_members),
		cmocka_unit_test(test_many_conditions),
		cmocka_unit_test(test_shared_member),
		cmocka_unit_test(test_generic_values),
		cmocka_unit_test(test_bucket_flags),
		cmocka_unit_test(test_partial_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
