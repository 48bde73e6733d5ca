/* test_fnf_idle.c — the flexible cache's idle and emergency expiry (the
 * lazy wheel in front of the sorted due list, fnf.c) against a model
 * that keeps every entry in a plain array and looks at all of them at
 * every event: the same records, in the same order, with the same end
 * reasons, over random traffic with packets just before their idle
 * deadline, emergency expiry, active expiry, clock jumps past the
 * wheel's span and timeouts changed in the middle (reload). Times are
 * strictly increasing, so no two entries share a last-seen time and the
 * oldest entry is always one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cache/expiry.h"
#include "cache/fnf.h"
#include "export/ie.h"
#include "lib/bytes.h"
#include "lib/err.h"

#define S 1000000ull
#define T0 (1700000000ull * S)

struct rec {
	uint32_t src;
	uint16_t sport;
	uint8_t end;
	uint64_t packets, bytes, first_us, last_us;
};

struct sink {
	struct rec *r;
	size_t n, cap;
};

static void put(struct sink *s, const struct rec *r)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->r = realloc(s->r, s->cap * sizeof(*s->r));
		assert_non_null(s->r);
	}
	s->r[s->n++] = *r;
}

static void sink_emit(void *arg, const struct genrec *g)
{
	/* fields: src, dst, sport, dport, proto, bytes, packets */
	struct rec r = {
		.src = (uint32_t)peek_uint(g->v[0].p, 4),
		.sport = (uint16_t)peek_uint(g->v[2].p, 2),
		.end = g->end,
		.packets = g->packets,
		.bytes = g->bytes,
		.first_us = g->first_us,
		.last_us = g->last_us,
	};
	put(arg, &r);
}

/* --- the model ---------------------------------------------------------------- */

#define MAXE 4096

struct ment {
	bool used;
	uint32_t src;
	uint16_t sport;
	uint64_t packets, bytes, first_us, last_us;
};

struct model {
	struct ment e[MAXE];
	uint32_t entries, in_use;
	uint64_t active_us, inactive_us;
	struct sink out;
};

static void m_emit(struct model *m, const struct ment *e, enum flow_end why)
{
	struct rec r = { e->src, e->sport, (uint8_t)why, e->packets, e->bytes, e->first_us, e->last_us };
	put(&m->out, &r);
}

static void m_sweep(struct model *m, uint64_t now)
{
	for (;;) { /* idle, oldest first */
		struct ment *o = NULL;
		for (uint32_t i = 0; i < m->entries; i++)
			if (m->e[i].used && m->e[i].last_us + m->inactive_us <= now &&
			    (!o || m->e[i].last_us < o->last_us))
				o = &m->e[i];
		if (!o)
			break;
		if (o->packets)
			m_emit(m, o, expiry_idle_reason(o->packets, o->first_us, m->active_us, o->last_us + m->inactive_us));
		o->used = false;
		m->in_use--;
	}
	for (;;) { /* active, the longest-open record first */
		struct ment *o = NULL;
		for (uint32_t i = 0; i < m->entries; i++)
			if (m->e[i].used && m->e[i].packets && m->e[i].first_us + m->active_us <= now &&
			    (!o || m->e[i].first_us < o->first_us))
				o = &m->e[i];
		if (!o)
			break;
		m_emit(m, o, FLOW_END_ACTIVE);
		o->packets = o->bytes = 0;
	}
}

static void m_packet(struct model *m, uint32_t src, uint16_t sport, uint32_t len, uint64_t t)
{
	m_sweep(m, t);
	struct ment *e = NULL;
	for (uint32_t i = 0; i < m->entries && !e; i++)
		if (m->e[i].used && m->e[i].src == src && m->e[i].sport == sport)
			e = &m->e[i];
	if (!e) {
		while (m->in_use >= expiry_emergency_at(m->entries)) {
			struct ment *o = NULL;
			for (uint32_t i = 0; i < m->entries; i++)
				if (m->e[i].used && (!o || m->e[i].last_us < o->last_us))
					o = &m->e[i];
			assert_non_null(o);
			if (!o)
				return;
			if (o->packets)
				m_emit(m, o, FLOW_END_EMERGENCY);
			o->used = false;
			m->in_use--;
		}
		uint32_t f = 0;
		while (f < m->entries && m->e[f].used)
			f++;
		assert_true(f < m->entries);
		e = &m->e[f < m->entries ? f : 0];
		memset(e, 0, sizeof(*e));
		e->used = true;
		e->src = src;
		e->sport = sport;
		m->in_use++;
	}
	if (!e->packets)
		e->first_us = t;
	e->packets++;
	e->bytes += len;
	e->last_us = t;
}

/* --- the run ------------------------------------------------------------------- */

static uint64_t rng;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static void five_tuple(struct fnf_def *d)
{
	fnf_def_init(d, 0);
	assert_int_equal(fnf_def_add(d, IE_sourceIPv4Address, 4, FNF_S_SRC4, FNF_KEY), ERR_OK);
	assert_int_equal(fnf_def_add(d, IE_destinationIPv4Address, 4, FNF_S_DST4, FNF_KEY), ERR_OK);
	assert_int_equal(fnf_def_add(d, IE_sourceTransportPort, 2, FNF_S_SPORT, FNF_KEY), ERR_OK);
	assert_int_equal(fnf_def_add(d, IE_destinationTransportPort, 2, FNF_S_DPORT, FNF_KEY), ERR_OK);
	assert_int_equal(fnf_def_add(d, IE_protocolIdentifier, 1, FNF_S_PROTO, FNF_KEY), ERR_OK);
	assert_int_equal(fnf_def_add(d, IE_octetDeltaCount, 8, FNF_S_BYTES, FNF_SUM), ERR_OK);
	assert_int_equal(fnf_def_add(d, IE_packetDeltaCount, 8, FNF_S_PACKETS, FNF_SUM), ERR_OK);
	assert_int_equal(fnf_def_finish(d), ERR_OK);
}

static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	if (x->sport != y->sport)
		return x->sport < y->sport ? -1 : 1;
	if (x->first_us != y->first_us)
		return x->first_us < y->first_us ? -1 : 1;
	return 0;
}

static void same(const struct sink *a, const struct sink *b, size_t from)
{
	if (a->n != b->n) {
		size_t k = a->n < b->n ? a->n : b->n;
		for (size_t i = from; i < k; i++)
			if (memcmp(&a->r[i], &b->r[i], sizeof(a->r[i])) != 0) {
				from = i;
				break;
			}
		fail_msg("%zu records, the model %zu (first difference at or after %zu)", a->n, b->n, from);
	}
	for (size_t i = from; i < a->n; i++) {
		const struct rec *x = &a->r[i], *y = &b->r[i];
		if (x->src != y->src || x->sport != y->sport || x->end != y->end || x->packets != y->packets ||
		    x->bytes != y->bytes || x->first_us != y->first_us || x->last_us != y->last_us)
			fail_msg("record %zu: cache %x:%u end %u pk %llu first %llu last %llu, model %x:%u end %u pk %llu "
			         "first %llu last %llu",
			         i, x->src, x->sport, x->end, (unsigned long long)x->packets,
			         (unsigned long long)(x->first_us - T0), (unsigned long long)(x->last_us - T0), y->src,
			         y->sport, y->end, (unsigned long long)y->packets, (unsigned long long)(y->first_us - T0),
			         (unsigned long long)(y->last_us - T0));
	}
}

/* One random run: keys hosts x ports, entries in the cache. */
static void run(uint64_t seed, uint32_t entries, uint32_t hosts, uint32_t ports, uint32_t npkt, uint64_t mean_gap_us)
{
	rng = seed;
	struct fnf_def d;
	five_tuple(&d);
	uint32_t act = 3 + rnd(10), inact = 1 + rnd(6);
	struct fnf_cfg cfg = { .entries = entries, .active_s = act, .inactive_s = inact, .type = CACHE_NORMAL };
	struct sink cs = { 0 };
	struct fnf_cache *c = fnf_new(&d, &cfg, sink_emit, &cs);
	assert_non_null(c);
	static struct model m;
	memset(&m, 0, sizeof(m));
	m.entries = entries;
	m.active_us = act * S;
	m.inactive_us = inact * S;
	uint64_t t = T0;
	struct cache_pkt batch[CACHE_BATCH_MAX];
	const struct cache_pkt *pv[CACHE_BATCH_MAX];
	size_t nb = 0, want = 1;
	unsigned jumps = 0, changes = 0;
	size_t checked = 0;
	for (uint32_t k = 0; k < npkt; k++) {
		uint32_t r = rnd(1000);
		if (r < 3) { /* a jump past the wheel's span */
			t += (2 + rnd(4)) * m.inactive_us + rnd(1000000);
			jumps++;
		} else if (r < 30) {
			t += rnd((uint32_t)m.inactive_us * 2);
		} else {
			t += 1 + rnd((uint32_t)(2 * mean_gap_us));
		}
		struct cache_pkt p;
		memset(&p, 0, sizeof(p));
		p.pi.af = 4;
		p.pi.proto = 17;
		uint32_t host = 1 + rnd(hosts);
		p.pi.src[0] = 10, p.pi.src[2] = (uint8_t)(host >> 8), p.pi.src[3] = (uint8_t)host;
		p.pi.dst[0] = 10, p.pi.dst[3] = 1;
		p.pi.sport = (uint16_t)(1 + rnd(ports));
		p.pi.dport = 53;
		p.pi.ip_len = 40 + rnd(1400);
		p.t_us = t;
		m_packet(&m, 0x0a000000u | host, p.pi.sport, p.pi.ip_len, t);
		batch[nb] = p;
		pv[nb] = &batch[nb];
		if (++nb == want) {
			fnf_packets(c, pv, nb, 0);
			nb = 0;
			want = 1 + rnd(CACHE_BATCH_MAX);
			r = rnd(100);
			if (r < 5) { /* the clock moves with no packet */
				t += rnd((uint32_t)m.inactive_us);
				fnf_expire(c, t);
				m_sweep(&m, t);
			} else if (r < 6) { /* reload with new timeouts */
				act = 3 + rnd(10);
				inact = 1 + rnd(6);
				fnf_set_timeouts(c, act, inact);
				m.active_us = act * S;
				m.inactive_us = inact * S;
				changes++;
			}
			same(&cs, &m.out, checked);
			checked = cs.n;
		}
	}
	if (nb)
		fnf_packets(c, pv, nb, 0);
	same(&cs, &m.out, 0);
	assert_int_equal(fnf_stats(c)->in_use, m.in_use);
	/* the exact next deadline */
	uint64_t dl = UINT64_MAX;
	for (uint32_t i = 0; i < m.entries; i++) {
		if (!m.e[i].used)
			continue;
		if (m.e[i].last_us + m.inactive_us < dl)
			dl = m.e[i].last_us + m.inactive_us;
		if (m.e[i].packets && m.e[i].first_us + m.active_us < dl)
			dl = m.e[i].first_us + m.active_us;
	}
	assert_int_equal(fnf_next_deadline(c), dl);
	/* the flush: every open record, in the table's order */
	size_t before = cs.n;
	fnf_flush(c, FLOW_END_SHUTDOWN);
	size_t open = 0;
	for (uint32_t i = 0; i < m.entries; i++)
		if (m.e[i].used && m.e[i].packets) {
			m_emit(&m, &m.e[i], FLOW_END_SHUTDOWN);
			open++;
		}
	assert_int_equal(cs.n - before, open);
	qsort(cs.r + before, open, sizeof(struct rec), rec_cmp);
	qsort(m.out.r + before, open, sizeof(struct rec), rec_cmp);
	same(&cs, &m.out, before);
	assert_int_equal(fnf_stats(c)->in_use, 0);
	/* the cache goes on after a flush */
	struct cache_pkt p = batch[0];
	p.t_us = t + 1;
	pv[0] = &p;
	fnf_packets(c, pv, 1, 0);
	assert_int_equal(fnf_stats(c)->in_use, 1);
	fnf_expire(c, t + 1 + (uint64_t)inact * S);
	assert_int_equal(cs.n, before + open + 1);
	assert_int_equal(cs.r[cs.n - 1].end, expiry_idle_reason(1, t + 1, (uint64_t)act * S, t + 1 + (uint64_t)inact * S));
	assert_int_equal(cs.r[cs.n - 1].first_us, t + 1);
	unsigned idle = 0, emerg = 0, active = 0;
	for (size_t i = 0; i < m.out.n; i++) {
		idle += m.out.r[i].end == FLOW_END_IDLE;
		emerg += m.out.r[i].end == FLOW_END_EMERGENCY;
		active += m.out.r[i].end == FLOW_END_ACTIVE;
	}
	print_message("seed %llu: %zu records (idle %u, emergency %u, active %u), %u jumps, %u timeout changes\n",
	              (unsigned long long)seed, m.out.n, idle, emerg, active, jumps, changes);
	/* every kind of expiry happened: the run tested what it says */
	assert_true(idle > 50);
	assert_true(active > 10);
	assert_true(jumps > 0 && changes > 0);
	if (entries < hosts * ports)
		assert_true(emerg > 50);
	fnf_free(c);
	free(cs.r);
	free(m.out.r);
}

/* a small cache: emergency expiry all the time, beside idle and active */
static void test_small_cache(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 4; seed++)
		run(seed * 0x9E3779B97F4A7C15ull, 64, 40, 4, 40000, 20000);
}

/* a cache that never fills: idle expiry decides, packets often just
 * before their deadline (keys seen every few inactive timeouts) */
static void test_large_cache(void **state)
{
	(void)state;
	for (uint64_t seed = 5; seed <= 8; seed++)
		run(seed * 0x9E3779B97F4A7C15ull, 2048, 100, 10, 40000, 4000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_cache),
		cmocka_unit_test(test_large_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
