/* test_collect_session.c — the collector's session layer: templates per
 * exporter / domain / transport session, template lifetime and
 * withdrawal, the pending buffer and its bounds, sequence tracking per
 * format (wrap-around, late messages, restarts), sampling, limits,
 * isolation between exporters, persistence round trips, and every
 * truncation of messages and of the templates file. Messages are built
 * field by field with msgbuild.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect/session.h"
#include "lib/log.h"
#include "msgbuild.h"

#define T0 1700000000000000ull
#define SEC 1000000ull
#define GOT_MAX 512

struct got {
	size_t n;
	struct crec r[GOT_MAX];
};

static void out(void *arg, const struct crec *r)
{
	struct got *g = arg;
	if (g->n < GOT_MAX) {
		g->r[g->n] = *r;
		g->r[g->n].t = NULL; /* valid during the call only */
		g->r[g->n].raw = NULL;
	}
	g->n++;
}

static struct coll *mk(const struct coll_cfg *cfg, struct got *g)
{
	struct coll_cfg def;
	char err[256];
	if (!cfg) {
		coll_cfg_init(&def);
		cfg = &def;
	}
	struct coll *c = coll_new(cfg, err, sizeof(err));
	assert_non_null(c);
	memset(g, 0, sizeof(*g));
	coll_set_output(c, out, g);
	return c;
}

static void feed_from(struct coll *c, const void *p, size_t len, const char *addr, uint32_t session, uint64_t now)
{
	struct lsn_msg m = { .p = p, .len = len, .recv_us = now, .session = session,
	                     .transport = session ? LSN_T_TCP : LSN_T_UDP };
	if (strchr(addr, ':')) {
		assert_int_equal(inet_pton(AF_INET6, addr, m.peer.addr), 1);
		m.peer.af = 6;
	} else {
		assert_int_equal(inet_pton(AF_INET, addr, m.peer.addr), 1);
		m.peer.af = 4;
	}
	coll_message(c, &m, now);
}

static void feed(struct coll *c, const struct mb *m, uint32_t session, uint64_t now)
{
	feed_from(c, m->buf, m->len, "192.0.2.1", session, now);
}

static struct coll_stats totals(const struct coll *c)
{
	struct coll_stats st;
	coll_totals(c, &st);
	return st;
}

/* ---- message builders ---- */

/* IPFIX template: src, dst, packetDeltaCount/4, octetDeltaCount/4, proto: 17 bytes */
static void ipfix_tmpl(struct mb *m, uint16_t id)
{
	mb_set_begin(m, 2);
	mb_u16(m, id); mb_u16(m, 5);
	mb_u16(m, 8); mb_u16(m, 4);
	mb_u16(m, 12); mb_u16(m, 4);
	mb_u16(m, 2); mb_u16(m, 4);
	mb_u16(m, 1); mb_u16(m, 4);
	mb_u16(m, 4); mb_u16(m, 1);
	mb_set_end(m, 1);
}

static void ipfix_data(struct mb *m, uint16_t id, unsigned n, unsigned base)
{
	mb_set_begin(m, id);
	for (unsigned i = 0; i < n; i++) {
		mb_ipv4(m, 10, 0, 0, (uint8_t)(base + i));
		mb_ipv4(m, 192, 168, 0, 1);
		mb_u32(m, base + i + 1);
		mb_u32(m, 100 * (base + i + 1));
		mb_u8(m, 6);
	}
	mb_set_end(m, 1);
}

static void ipfix_withdraw(struct mb *m, uint16_t set, uint16_t id)
{
	mb_set_begin(m, set);
	mb_u16(m, id); mb_u16(m, 0);
	mb_set_end(m, 1);
}

/* v9 template 256: src/4, packets/4, bytes/4, samplerId/1 (13 bytes) */
static void v9_tmpl(struct mb *m)
{
	mb_set_begin(m, 0);
	mb_u16(m, 256); mb_u16(m, 4);
	mb_u16(m, 8); mb_u16(m, 4);
	mb_u16(m, 2); mb_u16(m, 4);
	mb_u16(m, 1); mb_u16(m, 4);
	mb_u16(m, 48); mb_u16(m, 1);
	mb_set_end(m, 4);
}

static void v9_data(struct mb *m, unsigned n, uint8_t sampler)
{
	mb_set_begin(m, 256);
	for (unsigned i = 0; i < n; i++) {
		mb_ipv4(m, 10, 9, 0, (uint8_t)i);
		mb_u32(m, 2);
		mb_u32(m, 300);
		mb_u8(m, sampler);
	}
	mb_set_end(m, 4);
}

/* v9 options template 300: scope System/4; samplerId/1, samplerRandomInterval/4 */
static void v9_sampler(struct mb *m, uint8_t id, uint32_t interval)
{
	mb_set_begin(m, 1);
	mb_u16(m, 300); mb_u16(m, 4); mb_u16(m, 8);
	mb_u16(m, 1); mb_u16(m, 4);
	mb_u16(m, 48); mb_u16(m, 1);
	mb_u16(m, 50); mb_u16(m, 4);
	mb_set_end(m, 4);
	mb_set_begin(m, 300);
	mb_u32(m, 0);
	mb_u8(m, id);
	mb_u32(m, interval);
	mb_set_end(m, 4);
}

static void v5_msg(struct mb *m, uint16_t count, uint32_t seq, uint8_t engine_id, uint16_t sampling)
{
	mb_init(m);
	mb_u16(m, 5); mb_u16(m, count);
	mb_u32(m, 60000);                /* sysUptime */
	mb_u32(m, 1700000000); mb_u32(m, 0);
	mb_u32(m, seq);
	mb_u8(m, 1); mb_u8(m, engine_id);
	mb_u16(m, sampling);
	for (unsigned i = 0; i < count; i++) {
		mb_ipv4(m, 10, 5, 0, (uint8_t)i); mb_ipv4(m, 10, 6, 0, 1); mb_ipv4(m, 0, 0, 0, 0);
		mb_u16(m, 1); mb_u16(m, 2);
		mb_u32(m, 3); mb_u32(m, 400);  /* dPkts, dOctets */
		mb_u32(m, 1000); mb_u32(m, 2000);
		mb_u16(m, 1000); mb_u16(m, 80);
		mb_u8(m, 0); mb_u8(m, 0x18); mb_u8(m, 6); mb_u8(m, 0);
		mb_u16(m, 0); mb_u16(m, 0); mb_u8(m, 24); mb_u8(m, 24); mb_u16(m, 0);
	}
}

/* ---- tests ---- */

static void test_ipfix_basic(void **state)
{
	(void)state;
	struct got g;
	struct coll *c = mk(NULL, &g);
	struct mb m;
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000000, 0, 7);
	ipfix_tmpl(&m, 256);
	ipfix_data(&m, 256, 3, 1);
	mb_ipfix_end(&m);
	feed(c, &m, 0, T0);
	assert_int_equal(g.n, 3);
	const struct crec *r = &g.r[1];
	uint8_t src[4] = { 10, 0, 0, 2 }, exp[4] = { 192, 0, 2, 1 };
	assert_memory_equal(r->f.key.src, src, 4);
	assert_int_equal(r->f.packets, 3);
	assert_int_equal(r->f.bytes, 300);
	assert_int_equal(r->f.key.proto, 6);
	assert_int_equal(r->version, 10);
	assert_int_equal(r->domain, 7);
	assert_int_equal(r->tmpl_id, 256);
	assert_int_equal(r->sampling, 1);
	assert_int_equal(r->exporter_af, 4);
	assert_memory_equal(r->exporter, exp, 4);
	assert_int_equal(r->recv_us, T0);
	assert_int_equal(r->f.end, FLOW_END_MAX); /* the record carries no flowEndReason */
	struct coll_stats st = totals(c);
	assert_int_equal(st.msgs, 1);
	assert_int_equal(st.records, 3);
	assert_int_equal(st.templates, 1);
	assert_int_equal(st.tmpl_new, 1);
	assert_int_equal(st.malformed, 0);
	assert_int_equal(coll_template_count(c), 1);
	/* the same template again: a refresh, not a new one */
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000001, 3, 7);
	ipfix_tmpl(&m, 256);
	mb_ipfix_end(&m);
	feed(c, &m, 0, T0 + SEC);
	st = totals(c);
	assert_int_equal(st.templates, 2);
	assert_int_equal(st.tmpl_new, 1);
	assert_int_equal(st.tmpl_changed, 0);
	coll_free(c);
}

static void test_pending_same_message(void **state)
{
	(void)state;
	struct got g;
	struct coll *c = mk(NULL, &g);
	struct mb m;
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000000, 0, 0);
	ipfix_data(&m, 256, 3, 1); /* before its template */
	ipfix_tmpl(&m, 256);
	ipfix_data(&m, 256, 2, 10);
	mb_ipfix_end(&m);
	feed(c, &m, 0, T0);
	assert_int_equal(g.n, 5);
	assert_int_equal(g.r[0].f.packets, 2); /* held set first, in arrival order */
	struct coll_stats st = totals(c);
	assert_int_equal(st.pend_sets, 1);
	assert_int_equal(st.pend_decoded, 1);
	assert_int_equal(st.pend_records, 3);
	assert_int_equal(st.records, 5);
	assert_int_equal(coll_pending_bytes(c), 0);
	coll_free(c);
}

static void test_pending_later_and_expiry(void **state)
{
	(void)state;
	struct got g;
	struct coll_cfg cfg;
	coll_cfg_init(&cfg);
	cfg.pending_s = 10;
	struct coll *c = mk(&cfg, &g);
	struct mb m;
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000000, 0, 0);
	ipfix_data(&m, 256, 3, 1);
	ipfix_data(&m, 257, 2, 1);
	mb_ipfix_end(&m);
	feed(c, &m, 0, T0);
	assert_int_equal(g.n, 0);
	assert_int_equal(coll_pending_bytes(c), coll_pending_charge(3 * 17) + coll_pending_charge(2 * 17));
	coll_tick(c, T0 + 5 * SEC); /* not yet */
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000005, 5, 0);
	ipfix_tmpl(&m, 256);
	mb_ipfix_end(&m);
	feed(c, &m, 0, T0 + 5 * SEC);
	assert_int_equal(g.n, 3);
	coll_tick(c, T0 + 10 * SEC); /* the 257 set is 10 s old: expired */
	struct coll_stats st = totals(c);
	assert_int_equal(st.pend_expired, 1);
	assert_int_equal(st.pend_bytes_lost, 2 * 17);
	assert_int_equal(coll_pending_bytes(c), 0);
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000011, 5, 0);
	ipfix_tmpl(&m, 257);
	mb_ipfix_end(&m);
	feed(c, &m, 0, T0 + 11 * SEC);
	assert_int_equal(g.n, 3); /* nothing left to decode */
	/* held at the end: counted as left */
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000012, 5, 0);
	ipfix_data(&m, 999, 1, 1);
	mb_ipfix_end(&m);
	feed(c, &m, 0, T0 + 12 * SEC);
	coll_finish(c, T0 + 12 * SEC);
	st = totals(c);
	assert_int_equal(st.pend_left, 1);
	assert_int_equal(st.pend_sets, 3);
	coll_free(c);
}

static void test_pending_bounds(void **state)
{
	(void)state;
	struct got g;
	struct coll_cfg cfg;
	coll_cfg_init(&cfg);
	size_t lim = 2 * coll_pending_charge(51) + 10; /* two 51-byte sets fit, three do not */
	cfg.pending_bytes = lim;
	struct coll *c = mk(&cfg, &g);
	struct mb m;
	for (unsigned k = 0; k < 3; k++) {
		mb_init(&m);
		mb_ipfix_begin(&m, 1700000000, 0, 0);
		ipfix_data(&m, 300, 3, 10 * k);
		mb_ipfix_end(&m);
		feed(c, &m, 0, T0 + k);
		assert_true(coll_pending_bytes(c) <= lim);
	}
	struct coll_stats st = totals(c);
	assert_int_equal(st.pend_dropped, 1); /* the oldest went */
	assert_int_equal(coll_pending_bytes(c), 2 * coll_pending_charge(51));
	/* a set larger than the whole buffer is dropped at once */
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000000, 0, 0);
	ipfix_data(&m, 300, 20, 0);
	mb_ipfix_end(&m);
	feed(c, &m, 0, T0 + 3);
	st = totals(c);
	assert_int_equal(st.pend_dropped, 2);
	assert_int_equal(coll_pending_bytes(c), 2 * coll_pending_charge(51));
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000000, 0, 0);
	ipfix_tmpl(&m, 300);
	mb_ipfix_end(&m);
	feed(c, &m, 0, T0 + 4);
	assert_int_equal(g.n, 6);
	assert_int_equal(g.r[0].f.packets, 11); /* set k=1 (base 10) first: k=0 was pushed out */
	/* no pending buffer at all */
	coll_free(c);
	cfg.pending_bytes = 0;
	c = mk(&cfg, &g);
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000000, 0, 0);
	ipfix_data(&m, 300, 3, 0);
	ipfix_tmpl(&m, 300);
	mb_ipfix_end(&m);
	feed(c, &m, 0, T0);
	assert_int_equal(g.n, 0);
	assert_int_equal(totals(c).pend_dropped, 1);
	coll_free(c);
}

/* Many tiny sets for templates never sent: the buffer stays within its
 * bound, bookkeeping included, and holding them costs O(1) each. */
static void test_pending_flood(void **state)
{
	(void)state;
	struct got g;
	struct coll *c = mk(NULL, &g);
	struct coll_cfg cfg;
	coll_cfg_init(&cfg);
	struct mb m;
	for (unsigned k = 0; k < 20; k++) {
		mb_init(&m);
		mb_ipfix_begin(&m, 1700000000, 0, 0);
		for (unsigned i = 0; i < 8000; i++) {
			mb_set_begin(&m, (uint16_t)(256 + i % 60000));
			mb_u32(&m, i);
			mb_set_end(&m, 1);
		}
		mb_ipfix_end(&m);
		feed(c, &m, 0, T0 + k);
		assert_true(coll_pending_bytes(c) <= cfg.pending_bytes);
	}
	struct coll_stats st = totals(c);
	assert_int_equal(st.pend_sets, 160000);
	assert_true(st.pend_dropped > 0);
	assert_int_equal(st.pend_sets - st.pend_dropped,
	                 coll_pending_bytes(c) / coll_pending_charge(4));
	coll_free(c);
}

static void test_template_lifetime(void **state)
{
	(void)state;
	struct got g;
	struct coll_cfg cfg;
	coll_cfg_init(&cfg);
	cfg.tmpl_lifetime_s = 100;
	struct coll *c = mk(&cfg, &g);
	struct mb t, d;
	mb_init(&t);
	mb_ipfix_begin(&t, 1700000000, 0, 0);
	ipfix_tmpl(&t, 256);
	mb_ipfix_end(&t);
	mb_init(&d);
	mb_ipfix_begin(&d, 1700000000, 0, 0);
	ipfix_data(&d, 256, 1, 0);
	mb_ipfix_end(&d);
	feed(c, &t, 0, T0);
	feed(c, &d, 0, T0 + 50 * SEC);
	assert_int_equal(g.n, 1);
	feed(c, &t, 0, T0 + 90 * SEC); /* refreshed: lives until 190 s */
	feed(c, &d, 0, T0 + 180 * SEC);
	assert_int_equal(g.n, 2);
	assert_int_equal(totals(c).tmpl_expired, 0);
	feed(c, &d, 0, T0 + 191 * SEC); /* expired on lookup: held instead */
	assert_int_equal(g.n, 2);
	struct coll_stats st = totals(c);
	assert_int_equal(st.tmpl_expired, 1);
	assert_int_equal(st.pend_sets, 1);
	assert_int_equal(coll_template_count(c), 0);
	feed(c, &t, 0, T0 + 192 * SEC); /* the template again decodes what was held */
	assert_int_equal(g.n, 3);
	assert_int_equal(totals(c).tmpl_new, 2);
	/* expiry by the tick, with no data asking */
	coll_tick(c, T0 + 293 * SEC);
	assert_int_equal(coll_template_count(c), 0);
	assert_int_equal(totals(c).tmpl_expired, 2);
	coll_free(c);
	/* lifetime 0: forever; and TCP session templates never expire */
	cfg.tmpl_lifetime_s = 0;
	c = mk(&cfg, &g);
	feed(c, &t, 0, T0);
	feed(c, &d, 0, T0 + 1000000 * SEC);
	assert_int_equal(g.n, 1);
	coll_free(c);
	cfg.tmpl_lifetime_s = 100;
	c = mk(&cfg, &g);
	feed(c, &t, 5, T0);
	coll_tick(c, T0 + 1000 * SEC);
	feed(c, &d, 5, T0 + 1000 * SEC);
	assert_int_equal(g.n, 1);
	coll_free(c);
}

static void test_withdrawal_and_sessions(void **state)
{
	(void)state;
	struct got g;
	struct coll *c = mk(NULL, &g);
	struct mb m;
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000000, 0, 0);
	ipfix_tmpl(&m, 256);
	ipfix_tmpl(&m, 257);
	ipfix_data(&m, 256, 1, 0);
	mb_ipfix_end(&m);
	feed(c, &m, 11, T0); /* TCP session 11 */
	assert_int_equal(g.n, 1);
	/* the same data on another session, or over UDP: no template there */
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000000, 0, 0);
	ipfix_data(&m, 256, 1, 0);
	mb_ipfix_end(&m);
	feed(c, &m, 12, T0);
	feed(c, &m, 0, T0);
	assert_int_equal(g.n, 1);
	/* withdraw 256 (RFC 7011 §8.1) */
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000000, 1, 0);
	ipfix_withdraw(&m, 2, 256);
	ipfix_data(&m, 256, 1, 0);
	mb_ipfix_end(&m);
	feed(c, &m, 11, T0);
	assert_int_equal(g.n, 1);
	struct coll_stats st = totals(c);
	assert_int_equal(st.withdrawals, 1);
	assert_int_equal(coll_template_count(c), 1);
	/* withdraw all templates: id 2 in a template set */
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000000, 1, 0);
	ipfix_tmpl(&m, 256);
	ipfix_withdraw(&m, 2, 2);
	mb_ipfix_end(&m);
	feed(c, &m, 11, T0);
	st = totals(c);
	assert_int_equal(st.withdrawals, 3);
	assert_int_equal(coll_template_count(c), 0);
	/* the session ends: its streams go, their counts stay in the totals */
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000000, 1, 0);
	ipfix_tmpl(&m, 256);
	mb_ipfix_end(&m);
	feed(c, &m, 11, T0);
	assert_int_equal(coll_template_count(c), 1);
	struct lsn_peer p = { .af = 4 };
	inet_pton(AF_INET, "192.0.2.1", p.addr);
	uint64_t before = totals(c).msgs;
	coll_session_end(c, &p, 11);
	assert_int_equal(coll_template_count(c), 0);
	st = totals(c);
	assert_int_equal(st.msgs, before);
	assert_int_equal(st.records, 2); /* the set held after the withdrawal decoded when 256 came back */
	assert_int_equal(st.pend_decoded, 1);
	coll_session_end(c, &p, 999); /* unknown session: nothing */
	coll_free(c);
}

static void test_seq_v5(void **state)
{
	(void)state;
	struct got g;
	struct coll *c = mk(NULL, &g);
	struct mb m;
	v5_msg(&m, 30, 0, 1, 0);
	feed(c, &m, 0, T0);
	v5_msg(&m, 30, 30, 1, 0);
	feed(c, &m, 0, T0);
	assert_int_equal(totals(c).seq_lost, 0);
	v5_msg(&m, 10, 90, 1, 0); /* 30 flows (60..89) missing */
	feed(c, &m, 0, T0);
	assert_int_equal(totals(c).seq_lost, 30);
	v5_msg(&m, 30, 60, 1, 0); /* they arrive late */
	feed(c, &m, 0, T0);
	struct coll_stats st = totals(c);
	assert_int_equal(st.seq_ooo, 1);
	assert_int_equal(st.seq_late, 30);
	v5_msg(&m, 5, 100, 1, 0); /* expected stayed at 100 */
	feed(c, &m, 0, T0);
	st = totals(c);
	assert_int_equal(st.seq_lost, 30);
	assert_int_equal(st.seq_ooo, 1);
	assert_int_equal(st.records, 105);
	/* wrap-around modulo 2^32, on another engine (another stream) */
	v5_msg(&m, 30, 0xfffffff0u, 2, 0);
	feed(c, &m, 0, T0);
	v5_msg(&m, 30, 0x0eu, 2, 0);
	feed(c, &m, 0, T0);
	v5_msg(&m, 1, 0x2cu, 2, 0);
	feed(c, &m, 0, T0);
	st = totals(c);
	assert_int_equal(st.seq_lost, 30);
	assert_int_equal(st.seq_ooo, 1);
	assert_int_equal(st.seq_resets, 0);
	/* far behind the expected value: an exporter restart, counting restarts */
	v5_msg(&m, 30, 0x2du - SEQ_WINDOW - 1, 2, 0);
	feed(c, &m, 0, T0);
	v5_msg(&m, 30, 0x2du - SEQ_WINDOW - 1 + 30, 2, 0);
	feed(c, &m, 0, T0);
	st = totals(c);
	assert_int_equal(st.seq_resets, 1);
	assert_int_equal(st.seq_lost, 30);
	assert_int_equal(g.r[0].domain, 1u << 8 | 1); /* engine type << 8 | engine id */
	coll_free(c);
}

static void v9_hdr_msg(struct mb *m, uint32_t seq)
{
	mb_init(m);
	mb_v9_hdr(m, 2, 1000, 1700000000, seq, 3);
	v9_tmpl(m);
	v9_data(m, 1, 0);
}

static void test_seq_v9(void **state)
{
	(void)state;
	struct got g;
	struct coll *c = mk(NULL, &g);
	struct mb m;
	uint32_t seqs[] = { 0xfffffffdu, 0xfffffffeu, 0xffffffffu, 0, 2, 1, 3 };
	for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		v9_hdr_msg(&m, seqs[i]);
		feed(c, &m, 0, T0);
	}
	struct coll_stats st = totals(c);
	/* through the wrap with no loss; then 1 missing, and arriving late */
	assert_int_equal(st.seq_ooo, 1);
	assert_int_equal(st.seq_late, 1);
	assert_int_equal(st.seq_lost, 1);
	assert_int_equal(st.seq_resets, 0);
	assert_int_equal(st.records, 7);
	assert_int_equal(st.malformed, 0);
	assert_int_equal(st.v9_count_mismatch, 0);
	coll_free(c);
}

static void test_seq_ipfix(void **state)
{
	(void)state;
	struct got g;
	struct coll *c = mk(NULL, &g);
	struct mb m;
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000000, 0, 0);
	ipfix_tmpl(&m, 256);
	ipfix_data(&m, 256, 3, 0);
	mb_ipfix_end(&m);
	feed(c, &m, 0, T0);
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000000, 3, 0);
	ipfix_data(&m, 256, 2, 0);
	mb_ipfix_end(&m);
	feed(c, &m, 0, T0);
	assert_int_equal(totals(c).seq_lost, 0);
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000000, 10, 0); /* 5 records missing */
	ipfix_data(&m, 256, 1, 0);
	ipfix_data(&m, 999, 4, 0); /* unknown template: record count unknown */
	mb_ipfix_end(&m);
	feed(c, &m, 0, T0);
	assert_int_equal(totals(c).seq_lost, 5);
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000000, 40, 0); /* resynchronised, not judged */
	ipfix_data(&m, 256, 1, 0);
	mb_ipfix_end(&m);
	feed(c, &m, 0, T0);
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000000, 41, 0);
	ipfix_data(&m, 256, 1, 0);
	mb_ipfix_end(&m);
	feed(c, &m, 0, T0);
	struct coll_stats st = totals(c);
	assert_int_equal(st.seq_lost, 5);
	assert_int_equal(st.seq_ooo, 0);
	/* another domain is another sequence */
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000000, 77777, 1);
	ipfix_tmpl(&m, 256);
	ipfix_data(&m, 256, 1, 0);
	mb_ipfix_end(&m);
	feed(c, &m, 0, T0);
	assert_int_equal(totals(c).seq_lost, 5);
	coll_free(c);
}

/* softflowd's IPFIX: the sequence counts the message's own flow records
 * (and no options data). Recognised on the second message; a real gap
 * is still a loss under that reading. */
static void test_seq_exporter_quirk(void **state)
{
	(void)state;
	struct got g;
	struct coll *c = mk(NULL, &g);
	struct mb m;
	uint32_t seq = 0;
	unsigned counts[] = { 3, 5, 2, 2, 7, 1, 4 };
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		seq += counts[i];
		if (i == 5)
			seq += 10; /* 10 flow records lost before message 5 */
		mb_init(&m);
		mb_ipfix_begin(&m, 1700000000, seq, 0);
		if (i == 0) {
			ipfix_tmpl(&m, 256);
			mb_set_begin(&m, 3); /* an options template and record, not counted by the exporter */
			mb_u16(&m, 260); mb_u16(&m, 2); mb_u16(&m, 1);
			mb_u16(&m, 149); mb_u16(&m, 4);
			mb_u16(&m, 41); mb_u16(&m, 8);
			mb_set_end(&m, 1);
			mb_set_begin(&m, 260);
			mb_u32(&m, 0); mb_u64(&m, 99);
			mb_set_end(&m, 1);
		}
		ipfix_data(&m, 256, counts[i], 0);
		mb_ipfix_end(&m);
		feed(c, &m, 0, T0);
	}
	struct coll_stats st = totals(c);
	assert_int_equal(st.records, 24);
	assert_int_equal(st.seq_lost, 10);
	assert_int_equal(st.seq_ooo, 0);
	assert_true(st.seq_quirk >= 1);
	coll_free(c);
}

/* IPFIX flowStart/EndSysUpTime count from systemInitTimeMilliseconds
 * (RFC 5102): learnt from options data, or in the record itself; without
 * it they give no time rather than an invented one. */
static void ipfix_sysup_data(struct mb *m, uint32_t start, uint32_t end)
{
	mb_set_begin(m, 2);
	mb_u16(m, 270); mb_u16(m, 4);
	mb_u16(m, 8); mb_u16(m, 4);
	mb_u16(m, 2); mb_u16(m, 4);
	mb_u16(m, 22); mb_u16(m, 4);
	mb_u16(m, 21); mb_u16(m, 4);
	mb_set_end(m, 1);
	mb_set_begin(m, 270);
	mb_ipv4(m, 10, 2, 2, 2); mb_u32(m, 1); mb_u32(m, start); mb_u32(m, end);
	mb_set_end(m, 1);
}

static void test_ipfix_init_time(void **state)
{
	(void)state;
	struct got g;
	struct coll *c = mk(NULL, &g);
	struct mb m;
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000000, 0, 0);
	ipfix_sysup_data(&m, 5000, 6000);
	mb_ipfix_end(&m);
	feed(c, &m, 0, T0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].f.first_us, 0); /* unknown, not made up */
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000000, 1, 0);
	mb_set_begin(&m, 3);
	mb_u16(&m, 271); mb_u16(&m, 2); mb_u16(&m, 1);
	mb_u16(&m, 149); mb_u16(&m, 4);
	mb_u16(&m, 160); mb_u16(&m, 8);
	mb_set_end(&m, 1);
	mb_set_begin(&m, 271);
	mb_u32(&m, 0); mb_u64(&m, 1600000000000ull); /* booted 2020-09-13 */
	mb_set_end(&m, 1);
	ipfix_sysup_data(&m, 3000000000u, 3000000500u); /* 34.7 days up: no wrap */
	mb_ipfix_end(&m);
	feed(c, &m, 0, T0);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.r[1].f.first_us, (1600000000000ull + 3000000000ull) * 1000);
	assert_int_equal(g.r[1].f.last_us, (1600000000000ull + 3000000500ull) * 1000);
	coll_free(c);
}

static void test_sampling(void **state)
{
	(void)state;
	struct got g;
	struct coll_cfg cfg;
	coll_cfg_init(&cfg);
	cfg.unsample = true;
	struct coll *c = mk(&cfg, &g);
	struct mb m;
	mb_init(&m);
	mb_v9_hdr(&m, 4, 1000, 1700000000, 0, 0);
	v9_sampler(&m, 5, 100);
	v9_tmpl(&m);
	v9_data(&m, 1, 5); /* sampler 5: 1 in 100 */
	v9_data(&m, 1, 7); /* sampler 7: unknown */
	feed(c, &m, 0, T0);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.r[0].sampling, 100);
	assert_int_equal(g.r[0].f.packets, 200);
	assert_int_equal(g.r[0].f.bytes, 30000);
	assert_int_equal(g.r[1].sampling, 1);
	assert_int_equal(g.r[1].f.packets, 2);
	assert_int_equal(totals(c).opt_records, 1);
	/* v5: the header's sampling_interval (mode 1, interval 50) */
	v5_msg(&m, 2, 0, 1, 1u << 14 | 50);
	feed(c, &m, 0, T0);
	assert_int_equal(g.r[2].sampling, 50);
	assert_int_equal(g.r[2].f.packets, 150);
	/* IPFIX: samplingPacketInterval 1 / Space 9 for selector 3 = 1 in 10 */
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000000, 0, 0);
	mb_set_begin(&m, 3);
	mb_u16(&m, 400); mb_u16(&m, 3); mb_u16(&m, 1);
	mb_u16(&m, 302); mb_u16(&m, 8);
	mb_u16(&m, 305); mb_u16(&m, 4);
	mb_u16(&m, 306); mb_u16(&m, 4);
	mb_set_end(&m, 1);
	mb_set_begin(&m, 400);
	mb_u64(&m, 3); mb_u32(&m, 1); mb_u32(&m, 9);
	mb_set_end(&m, 1);
	mb_set_begin(&m, 2);
	mb_u16(&m, 401); mb_u16(&m, 3);
	mb_u16(&m, 8); mb_u16(&m, 4);
	mb_u16(&m, 2); mb_u16(&m, 4);
	mb_u16(&m, 302); mb_u16(&m, 1); /* reduced size */
	mb_set_end(&m, 1);
	mb_set_begin(&m, 401);
	mb_ipv4(&m, 10, 1, 1, 1); mb_u32(&m, 4); mb_u8(&m, 3);
	mb_set_end(&m, 1);
	mb_ipfix_end(&m);
	feed(c, &m, 0, T0);
	assert_int_equal(g.n, 5);
	assert_int_equal(g.r[4].sampling, 10);
	assert_int_equal(g.r[4].f.packets, 40);
	coll_free(c);
	/* without --unsample the rate is reported, the counts stay */
	cfg.unsample = false;
	c = mk(&cfg, &g);
	mb_init(&m);
	mb_v9_hdr(&m, 4, 1000, 1700000000, 0, 0);
	v9_sampler(&m, 5, 100);
	v9_tmpl(&m);
	v9_data(&m, 1, 5);
	feed(c, &m, 0, T0);
	assert_int_equal(g.r[0].sampling, 100);
	assert_int_equal(g.r[0].f.packets, 2);
	coll_free(c);
}

static void test_limits_and_isolation(void **state)
{
	(void)state;
	struct got g;
	struct coll_cfg cfg;
	coll_cfg_init(&cfg);
	cfg.max_templates = 1;
	cfg.max_exporters = 2;
	cfg.max_streams = 1;
	struct coll *c = mk(&cfg, &g);
	struct mb m;
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000000, 0, 0);
	ipfix_tmpl(&m, 256);
	ipfix_tmpl(&m, 257); /* refused: one template at most */
	mb_ipfix_end(&m);
	feed_from(c, m.buf, m.len, "192.0.2.1", 0, T0);
	struct coll_stats st = totals(c);
	assert_int_equal(st.bad[COLL_E_TMPL_LIMIT], 1);
	assert_int_equal(st.malformed, 1);
	assert_int_equal(coll_template_count(c), 1);
	/* a second domain from the same exporter: max_streams */
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000000, 0, 9);
	mb_ipfix_end(&m);
	feed_from(c, m.buf, m.len, "192.0.2.1", 0, T0);
	assert_int_equal(totals(c).bad[COLL_E_STREAMS], 1);
	/* a garbage message from a second exporter touches nothing of the first */
	static const uint8_t junk[] = { 0, 10, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 2, 0, 99 };
	feed_from(c, junk, sizeof(junk), "2001:db8::1", 0, T0);
	static const uint8_t junk2[] = { 0x47, 0x45, 0x54, 0x20 };
	feed_from(c, junk2, sizeof(junk2), "2001:db8::1", 0, T0);
	/* a third exporter: the table holds two */
	feed_from(c, junk, sizeof(junk), "198.51.100.7", 0, T0);
	st = totals(c);
	assert_int_equal(st.bad[COLL_E_EXPORTERS], 1);
	assert_int_equal(st.bad[COLL_E_UNKNOWN_VERSION], 1);
	assert_int_equal(st.bad[NF_E_SET_LEN], 1);
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000000, 0, 0);
	ipfix_data(&m, 256, 2, 0);
	mb_ipfix_end(&m);
	feed_from(c, m.buf, m.len, "192.0.2.1", 0, T0);
	assert_int_equal(g.n, 2);
	FILE *f = tmpfile();
	assert_non_null(f);
	coll_show(c, f); /* prints every counter without crashing */
	assert_true(ftell(f) > 0);
	fclose(f);
	coll_free(c);
}

static void test_v9_quirks(void **state)
{
	(void)state;
	struct got g;
	struct coll *c = mk(NULL, &g);
	struct mb m;
	/* count = flowsets (2) instead of records (1 template + 3 data) */
	mb_init(&m);
	mb_v9_hdr(&m, 2, 1000, 1700000000, 0, 0);
	v9_tmpl(&m);
	v9_data(&m, 3, 0);
	feed(c, &m, 0, T0);
	struct coll_stats st = totals(c);
	assert_int_equal(st.v9_count_mismatch, 1);
	assert_int_equal(st.malformed, 0);
	/* count matching nothing: reported, still decoded */
	mb_init(&m);
	mb_v9_hdr(&m, 99, 1000, 1700000000, 1, 0);
	v9_data(&m, 3, 0);
	feed(c, &m, 0, T0);
	st = totals(c);
	assert_int_equal(st.bad[COLL_E_V9_COUNT], 1);
	assert_int_equal(st.malformed, 1);
	assert_int_equal(g.n, 6);
	/* zero fill after the last set (Palo Alto, Cisco ACI): not an error */
	mb_init(&m);
	mb_v9_hdr(&m, 3, 1000, 1700000000, 2, 0);
	v9_data(&m, 3, 0);
	mb_zeros(&m, 64);
	feed(c, &m, 0, T0);
	st = totals(c);
	assert_int_equal(st.malformed, 1);
	assert_int_equal(g.n, 9);
	/* v5 count above the maximum: the records present, then the error */
	v5_msg(&m, 30, 0, 0, 0);
	m.buf[3] = 200;
	feed(c, &m, 0, T0);
	st = totals(c);
	assert_int_equal(g.n, 39);
	assert_int_equal(st.bad[NF_E_COUNT], 1);
	/* v5 count past the datagram */
	v5_msg(&m, 30, 30, 0, 0);
	m.len -= 48 * 2 + 5;
	feed(c, &m, 0, T0);
	assert_int_equal(g.n, 39 + 27);
	assert_int_equal(totals(c).bad[NF_E_RECS_SHORT], 1);
	coll_free(c);
}

/* Every prefix of a valid message: decoded records are a prefix of the
 * full run, and an error is counted whenever records are missing. */
static void truncations(const struct mb *full, unsigned want)
{
	for (size_t cut = 0; cut <= full->len; cut++) {
		struct got g;
		struct coll *c = mk(NULL, &g);
		uint8_t *p = malloc(cut ? cut : 1); /* exact size: ASan sees any overread */
		assert_non_null(p);
		memcpy(p, full->buf, cut);
		feed_from(c, p, cut, "192.0.2.1", 0, T0);
		struct coll_stats st = totals(c);
		assert_true(g.n <= want);
		assert_int_equal(st.msgs, 1);
		if (cut == full->len) {
			assert_int_equal(g.n, want);
			assert_int_equal(st.malformed, 0);
		} else if (g.n < want) {
			/* v9 trailing bytes shorter than a record are padding (RFC 3954 §5.3) */
			assert_true(st.malformed == 1 || (full->buf[1] == 9 && st.records + 1 >= want));
		}
		coll_free(c);
		free(p);
	}
}

static void test_truncations(void **state)
{
	(void)state;
	struct mb m;
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000000, 0, 0);
	ipfix_tmpl(&m, 256);
	ipfix_data(&m, 256, 3, 0);
	mb_ipfix_end(&m);
	/* an IPFIX message cut short is short of its own length: always an error */
	truncations(&m, 3);
	mb_init(&m);
	mb_v9_hdr(&m, 5, 1000, 1700000000, 0, 0);
	v9_sampler(&m, 1, 10);
	v9_tmpl(&m);
	v9_data(&m, 2, 1);
	truncations(&m, 2);
	v5_msg(&m, 3, 0, 0, 0);
	truncations(&m, 3);
}

/* ---- persistence ---- */

static char *mk_tmpdir(void)
{
	char tmpl[] = "/tmp/ipflow-test-collect.XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static void rm_tmpdir(char *d)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/templates.bin", d);
	unlink(p);
	snprintf(p, sizeof(p), "%s/templates.bin.tmp", d);
	unlink(p);
	rmdir(d);
	free(d);
}

static size_t read_file(const char *path, uint8_t **out)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	*out = malloc((size_t)n + 1);
	assert_int_equal(fread(*out, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return (size_t)n;
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

static void test_persistence(void **state)
{
	(void)state;
	char *dir = mk_tmpdir();
	struct coll_cfg cfg;
	coll_cfg_init(&cfg);
	cfg.tmpl_dir = dir;
	struct got g;
	struct coll *c = mk(&cfg, &g);
	struct mb m;
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000000, 0, 4);
	ipfix_tmpl(&m, 256);
	mb_ipfix_end(&m);
	feed_from(c, m.buf, m.len, "2001:db8::9", 0, T0);
	mb_init(&m);
	mb_v9_hdr(&m, 3, 1000, 1700000000, 0, 8);
	v9_sampler(&m, 5, 64);
	v9_tmpl(&m);
	feed(c, &m, 0, T0);
	mb_init(&m); /* an IPFIX init time (options data) */
	mb_ipfix_begin(&m, 1700000000, 0, 4);
	mb_set_begin(&m, 3);
	mb_u16(&m, 271); mb_u16(&m, 2); mb_u16(&m, 1);
	mb_u16(&m, 149); mb_u16(&m, 4);
	mb_u16(&m, 160); mb_u16(&m, 8);
	mb_set_end(&m, 1);
	mb_set_begin(&m, 271);
	mb_u32(&m, 4); mb_u64(&m, 1690000000000ull);
	mb_set_end(&m, 1);
	mb_ipfix_end(&m);
	feed_from(c, m.buf, m.len, "2001:db8::9", 0, T0);
	mb_init(&m); /* a TCP session's template: not persisted */
	mb_ipfix_begin(&m, 1700000000, 0, 4);
	ipfix_tmpl(&m, 500);
	mb_ipfix_end(&m);
	feed(c, &m, 3, T0);
	assert_int_equal(coll_template_count(c), 5);
	coll_finish(c, T0);
	coll_free(c);

	cfg.unsample = true;
	c = mk(&cfg, &g);
	assert_int_equal(coll_loaded_templates(c), 4); /* IPFIX 256 and 271, v9 256 and options 300 */
	assert_int_equal(totals(c).templates, 0);     /* loaded is not received */
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000100, 0, 4);
	ipfix_data(&m, 256, 2, 0);
	mb_ipfix_end(&m);
	feed_from(c, m.buf, m.len, "2001:db8::9", 0, T0 + 100 * SEC);
	mb_init(&m);
	mb_v9_hdr(&m, 1, 2000, 1700000100, 1, 8);
	v9_data(&m, 1, 5);
	feed(c, &m, 0, T0 + 100 * SEC);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.r[0].exporter_af, 6);
	assert_int_equal(g.r[2].sampling, 64); /* the sampler rate came back too */
	assert_int_equal(g.r[2].f.packets, 128);
	assert_int_equal(totals(c).pend_sets, 0);
	mb_init(&m); /* the init time came back too */
	mb_ipfix_begin(&m, 1700000100, 2, 4);
	ipfix_sysup_data(&m, 1000, 2000);
	mb_ipfix_end(&m);
	feed_from(c, m.buf, m.len, "2001:db8::9", 0, T0 + 100 * SEC);
	assert_int_equal(g.n, 4);
	assert_int_equal(g.r[3].f.first_us, (1690000000000ull + 1000) * 1000);
	coll_free(c);

	/* every truncation and a flipped byte in every position: refused whole */
	char path[512];
	snprintf(path, sizeof(path), "%s/templates.bin", dir);
	uint8_t *img;
	size_t n = read_file(path, &img);
	assert_true(n > 32);
	for (size_t cut = 0; cut < n; cut++) {
		char err[256];
		coll_cfg_init(&cfg);
		c = mk(&cfg, &g);
		assert_int_equal(coll_persist_parse(c, img, cut, T0, err, sizeof(err)), -1);
		assert_int_equal(coll_template_count(c), 0);
		coll_free(c);
	}
	for (size_t k = 0; k < n; k++) {
		char err[256];
		img[k] ^= 0x40;
		c = mk(&cfg, &g);
		assert_int_equal(coll_persist_parse(c, img, n, T0, err, sizeof(err)), -1);
		assert_int_equal(coll_template_count(c), 0);
		coll_free(c);
		img[k] ^= 0x40;
	}
	/* a damaged file on disk: started without templates, never half-loaded */
	img[n / 2] ^= 1;
	write_file(path, img, n);
	cfg.tmpl_dir = dir;
	c = mk(&cfg, &g);
	assert_int_equal(coll_loaded_templates(c), 0);
	assert_int_equal(coll_template_count(c), 0);
	coll_free(c);
	free(img);
	rm_tmpdir(dir);
}

int main(void)
{
	log_level_cur = LOG_LVL_ERR; /* the malformed inputs are meant */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipfix_basic),
		cmocka_unit_test(test_pending_same_message),
		cmocka_unit_test(test_pending_later_and_expiry),
		cmocka_unit_test(test_pending_bounds),
		cmocka_unit_test(test_pending_flood),
		cmocka_unit_test(test_template_lifetime),
		cmocka_unit_test(test_withdrawal_and_sessions),
		cmocka_unit_test(test_seq_v5),
		cmocka_unit_test(test_seq_v9),
		cmocka_unit_test(test_seq_ipfix),
		cmocka_unit_test(test_seq_exporter_quirk),
		cmocka_unit_test(test_ipfix_init_time),
		cmocka_unit_test(test_sampling),
		cmocka_unit_test(test_limits_and_isolation),
		cmocka_unit_test(test_v9_quirks),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_persistence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
