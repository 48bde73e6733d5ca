/* test_export_exporter.c — packing to the MTU, template and options
 * refresh by packets and by time, flush timer, deadlines, failures and
 * configuration checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "export_fixture.h"

/* Items of one captured message. */
struct msg_items {
	unsigned tmpls, opt_tmpls, data, opt_data;
	struct nf_hdr hdr;
	int rc;
};

static struct msg_items items_of(const struct memtp_msg *msg, struct tmpl_store *ts)
{
	struct msg_items x = { 0 };
	struct nf_iter it;
	struct nf_item item;
	int rc = nf_iter_init(&it, msg->p, msg->len, ts);
	x.hdr = it.hdr;
	while (rc == ERR_OK && (rc = nf_iter_next(&it, &item)) == ERR_OK) {
		if (item.kind == NF_ITEM_TMPL)
			item.t->scope_count ? x.opt_tmpls++ : x.tmpls++;
		else if (item.kind == NF_ITEM_DATA)
			item.t->scope_count ? x.opt_data++ : x.data++;
	}
	x.rc = rc;
	return x;
}

/* No message over the MTU, for every format and MTU from 576 to 9000;
 * messages hold exactly as many records as fit. */
static void test_mtu_limits(void **state)
{
	(void)state;
	static const int versions[] = { 1, 5, 7, 9, 10 };
	static const unsigned mtus[] = { 576, 577, 578, 579, 1000, 1280, 1500, 4000, 8999, 9000 };
	static const size_t overheads[] = { 28, 48 };
	for (size_t v = 0; v < 5; v++)
	for (size_t k = 0; k < sizeof(mtus) / sizeof(mtus[0]); k++)
	for (size_t o = 0; o < 2; o++) {
		struct memtp *tp = memtp_new(overheads[o]);
		struct exporter_cfg cfg;
		exporter_cfg_init(&cfg, versions[v]);
		cfg.start_us = T0;
		cfg.mtu = mtus[k];
		cfg.export_stats = versions[v] >= 9;
		char err[256];
		struct exporter *ex = exporter_new(&cfg, &tp->base, err, sizeof(err));
		assert_non_null(ex);
		struct flowrec r;
		unsigned n = 1000;
		for (unsigned i = 0; i < n; i++) {
			fx_rec(&r, versions[v] >= 9 && i % 2 ? 6 : 4, i);
			assert_int_equal(exporter_add(ex, &r, T0 + 10000000), ERR_OK);
		}
		exporter_flush(ex, T0 + 10000000);
		size_t cap = mtus[k] - overheads[o];
		const struct nf_codec *c = nf_codec_by_version(versions[v]);
		struct tmpl_store_mem mem;
		tmpl_store_mem_init(&mem, 8);
		struct tmpl_store ts = tmpl_store_mem_iface(&mem);
		unsigned total = 0;
		for (size_t m = 0; m < tp->n; m++) {
			assert_true(tp->msg[m].len <= cap);
			struct msg_items x = items_of(&tp->msg[m], &ts);
			assert_int_equal(x.rc, ERR_END);
			total += x.data;
			if (m + 1 == tp->n)
				continue;
			if (!c->sets) { /* exact: min(format max, what fits) */
				size_t fit = (cap - c->hdr_len) / c->fixed->minlen;
				assert_int_equal(x.data, fit < c->max_recs ? fit : c->max_recs);
			} else { /* full: the largest record (IPFIX IPv6, 115 bytes) + set header + pad would not fit */
				assert_true(tp->msg[m].len + 4 + 115 + 3 > cap);
			}
		}
		assert_int_equal(total, n);
		assert_int_equal(exporter_stats(ex)->records, n);
		tmpl_store_mem_free(&mem);
		exporter_free(ex);
		transport_close(&tp->base);
	}
}

/* IPFIX with all-IPv4 records (80 bytes) at MTU 1500: 16 + 4 + k * 80 <= 1472
 * → 18 a message (the first also carries the template set). */
static void test_exact_ipfix_count(void **state)
{
	(void)state;
	struct memtp *tp = memtp_new(28);
	struct exporter_cfg cfg;
	exporter_cfg_init(&cfg, 10);
	cfg.start_us = T0;
	struct exporter *ex = exporter_new(&cfg, &tp->base, NULL, 0);
	struct flowrec r;
	for (unsigned i = 0; i < 100; i++) {
		fx_rec(&r, 4, i);
		exporter_add(ex, &r, T0);
	}
	exporter_flush(ex, T0);
	struct tmpl_store_mem mem;
	tmpl_store_mem_init(&mem, 8);
	struct tmpl_store ts = tmpl_store_mem_iface(&mem);
	/* first: 16 + (4 + 2 * 104) template set + 4 + k * 80 <= 1472 → k = 15 */
	assert_int_equal(items_of(&tp->msg[0], &ts).data, 15);
	assert_int_equal(items_of(&tp->msg[1], &ts).data, 18);
	assert_int_equal(tp->msg[1].len, 16 + 4 + 18 * 80);
	tmpl_store_mem_free(&mem);
	exporter_free(ex);
	transport_close(&tp->base);
}

/* v9 refresh-rate 5: templates in messages 1, 6, 11, ... */
static void test_template_refresh_packets(void **state)
{
	(void)state;
	static const int versions[] = { 9, 10 };
	for (size_t v = 0; v < 2; v++) {
		struct memtp *tp = memtp_new(28);
		struct exporter_cfg cfg;
		exporter_cfg_init(&cfg, versions[v]);
		cfg.start_us = T0;
		cfg.tmpl_refresh_pkts = 5;
		struct exporter *ex = exporter_new(&cfg, &tp->base, NULL, 0);
		struct flowrec r;
		for (unsigned i = 0; i < 12; i++) { /* one record a message */
			fx_rec(&r, 4, i);
			exporter_add(ex, &r, T0 + i);
			exporter_flush(ex, T0 + i);
		}
		assert_int_equal(tp->n, 12);
		struct tmpl_store_mem mem;
		tmpl_store_mem_init(&mem, 8);
		struct tmpl_store ts = tmpl_store_mem_iface(&mem);
		for (size_t m = 0; m < tp->n; m++) {
			struct msg_items x = items_of(&tp->msg[m], &ts);
			assert_int_equal(x.tmpls, m % 5 == 0 ? 2 : 0);
			assert_int_equal(x.data, 1);
			assert_int_equal(tp->msg[m].flags & 0xff, m % 5 == 0 ? TRANSPORT_F_CTRL : 0);
			assert_int_equal(TRANSPORT_RECS_OF(tp->msg[m].flags), 1); /* its flow records, for drop counts */
		}
		assert_int_equal(exporter_stats(ex)->templates, 6);
		tmpl_store_mem_free(&mem);
		exporter_free(ex);
		transport_close(&tp->base);
	}
}

/* Timeout refresh: with data flowing, templates ride the next message
 * after the timeout; idle, exporter_tick sends a template-only message. */
static void test_template_refresh_time(void **state)
{
	(void)state;
	struct memtp *tp = memtp_new(28);
	struct exporter_cfg cfg;
	exporter_cfg_init(&cfg, 9);
	cfg.start_us = T0;
	cfg.tmpl_refresh_pkts = 600;
	cfg.tmpl_timeout_s = 60;
	struct exporter *ex = exporter_new(&cfg, &tp->base, NULL, 0);
	struct flowrec r;
	fx_rec(&r, 4, 1);
	exporter_add(ex, &r, T0);
	exporter_flush(ex, T0);
	assert_int_equal(exporter_next_deadline(ex), T0 + 60000000);
	exporter_add(ex, &r, T0 + 59000000);
	exporter_flush(ex, T0 + 59000000);
	exporter_tick(ex, T0 + 59999999);
	assert_int_equal(tp->n, 2);
	exporter_tick(ex, T0 + 60000000); /* idle: template-only message */
	assert_int_equal(tp->n, 3);
	exporter_add(ex, &r, T0 + 100000000);
	exporter_flush(ex, T0 + 100000000);
	exporter_add(ex, &r, T0 + 121000000); /* due again: in the data message */
	exporter_flush(ex, T0 + 121000000);
	struct tmpl_store_mem mem;
	tmpl_store_mem_init(&mem, 8);
	struct tmpl_store ts = tmpl_store_mem_iface(&mem);
	static const unsigned tmpls[] = { 2, 0, 2, 0, 2 }, data[] = { 1, 1, 0, 1, 1 };
	assert_int_equal(tp->n, 5);
	for (size_t m = 0; m < tp->n; m++) {
		struct msg_items x = items_of(&tp->msg[m], &ts);
		assert_int_equal(x.tmpls, tmpls[m]);
		assert_int_equal(x.data, data[m]);
		assert_int_equal(x.hdr.seq, m); /* v9: packets */
	}
	tmpl_store_mem_free(&mem);
	exporter_free(ex);
	transport_close(&tp->base);
}

/* Timeout with a message open: the templates join it. */
static void test_template_timeout_open_message(void **state)
{
	(void)state;
	struct memtp *tp = memtp_new(28);
	struct exporter_cfg cfg;
	exporter_cfg_init(&cfg, 10);
	cfg.start_us = T0;
	cfg.tmpl_timeout_s = 10;
	cfg.flush_ms = 60000;
	struct exporter *ex = exporter_new(&cfg, &tp->base, NULL, 0);
	struct flowrec r;
	fx_rec(&r, 6, 1);
	exporter_add(ex, &r, T0);
	exporter_flush(ex, T0);
	exporter_add(ex, &r, T0 + 9000000);
	exporter_tick(ex, T0 + 10000000);
	assert_int_equal(tp->n, 1); /* still open, templates added */
	exporter_add(ex, &r, T0 + 10000001);
	exporter_flush(ex, T0 + 10000001);
	struct tmpl_store_mem mem;
	tmpl_store_mem_init(&mem, 8);
	struct tmpl_store ts = tmpl_store_mem_iface(&mem);
	items_of(&tp->msg[0], &ts);
	struct msg_items x = items_of(&tp->msg[1], &ts);
	assert_int_equal(x.rc, ERR_END);
	assert_int_equal(x.tmpls, 2);
	assert_int_equal(x.data, 2);
	assert_int_equal(x.hdr.seq, 1);
	tmpl_store_mem_free(&mem);
	exporter_free(ex);
	transport_close(&tp->base);
}

/* export-stats: options template + a record of totals so far. */
static void test_options_stats(void **state)
{
	(void)state;
	static const int versions[] = { 9, 10 };
	for (size_t v = 0; v < 2; v++) {
		struct memtp *tp = memtp_new(28);
		struct exporter_cfg cfg;
		exporter_cfg_init(&cfg, versions[v]);
		cfg.start_us = T0;
		cfg.domain = 4242;
		cfg.exporting_pid = 99;
		cfg.export_stats = true;
		cfg.opt_refresh_pkts = 3;
		struct exporter *ex = exporter_new(&cfg, &tp->base, NULL, 0);
		struct flowrec r;
		for (unsigned i = 0; i < 4; i++) {
			for (unsigned k = 0; k < 10; k++) {
				fx_rec(&r, 4, k);
				exporter_add(ex, &r, T0 + i);
			}
			exporter_flush(ex, T0 + i);
		}
		assert_int_equal(tp->n, 4);
		struct tmpl_store_mem mem;
		tmpl_store_mem_init(&mem, 8);
		struct tmpl_store ts = tmpl_store_mem_iface(&mem);
		uint32_t seq = 0;
		for (size_t m = 0; m < tp->n; m++) {
			struct nf_iter it;
			struct nf_item item;
			unsigned opt = 0, data = 0;
			assert_int_equal(nf_iter_init(&it, tp->msg[m].p, tp->msg[m].len, &ts), ERR_OK);
			if (versions[v] == 10)
				assert_int_equal(it.hdr.seq, seq);
			while (nf_iter_next(&it, &item) == ERR_OK) {
				if (item.kind != NF_ITEM_DATA)
					continue;
				if (!item.t->scope_count) {
					data++;
					continue;
				}
				opt++;
				struct rec_iter ri;
				struct rec_field f;
				rec_iter_init(&ri, item.t, item.p, item.len);
				while (rec_iter_next(&ri, &f) == ERR_OK) {
					uint64_t val = peek_uint(f.p, f.len);
					if (f.scope && f.ie == IE_exportingProcessId && versions[v] == 10)
						assert_int_equal(val, 99);
					else if (f.scope)
						assert_int_equal(val, 4242);
					else if (f.ie == IE_exportedMessageTotalCount)
						assert_int_equal(val, m); /* messages before this one */
					else if (f.ie == IE_exportedFlowRecordTotalCount)
						assert_int_equal(val, 10 * m);
				}
			}
			assert_int_equal(opt, m % 3 == 0 ? 1 : 0);
			assert_int_equal(data, 10);
			seq += data + opt; /* IPFIX: options data records count */
		}
		assert_int_equal(exporter_stats(ex)->options_records, 2);
		assert_int_equal(exporter_stats(ex)->options_templates, 2);
		tmpl_store_mem_free(&mem);
		exporter_free(ex);
		transport_close(&tp->base);
	}
}

/* Sampled export (cfg.sampler[]): every flow record names the sampler of
 * its interface and direction (0 for an unsampled one), and one options
 * record per sampler (v9: FLOW_SAMPLER_*; IPFIX: the PSAMP selector
 * report of its algorithm) goes at the options refresh rules, beside the
 * export statistics, under template ids of their own. */
static void test_sampler_options(void **state)
{
	(void)state;
	static const int versions[] = { 9, 10 };
	for (size_t v = 0; v < 2; v++)
	for (int rnd = 0; rnd < 2; rnd++) {
		struct memtp *tp = memtp_new(28);
		struct exporter_cfg cfg;
		exporter_cfg_init(&cfg, versions[v]);
		cfg.start_us = T0;
		cfg.domain = 4242;
		cfg.export_stats = true;
		cfg.opt_refresh_pkts = 3;
		/* A: the fixture's flows (ifIndex 3 egress); B: another interface */
		cfg.sampler[0] = (struct exporter_sampler){ 3, 1, 7, 100, rnd };
		cfg.sampler[1] = (struct exporter_sampler){ 9, 0, 8, 50, !rnd };
		cfg.sampler[2] = (struct exporter_sampler){ 9, 1, 8, 50, !rnd }; /* B again: one record */
		cfg.nsampler = 3;
		struct exporter *ex = exporter_new(&cfg, &tp->base, NULL, 0);
		assert_non_null(ex);
		struct flowrec r;
		for (unsigned i = 0; i < 4; i++) {
			for (unsigned k = 0; k < 10; k++) {
				fx_rec(&r, k % 2 ? 6 : 4, k);
				if (k % 5 == 4)
					r.key.ifindex = 4; /* unsampled */
				assert_int_equal(exporter_add(ex, &r, T0 + i), ERR_OK);
			}
			exporter_flush(ex, T0 + i);
		}
		assert_int_equal(tp->n, 4);
		struct tmpl_store_mem mem;
		tmpl_store_mem_init(&mem, 8);
		struct tmpl_store ts = tmpl_store_mem_iface(&mem);
		unsigned samp_recs = 0;
		for (size_t m = 0; m < tp->n; m++) {
			struct nf_iter it;
			struct nf_item item;
			unsigned samp = 0, data = 0, ids[2] = { 0, 0 }, zero = 0;
			assert_int_equal(nf_iter_init(&it, tp->msg[m].p, tp->msg[m].len, &ts), ERR_OK);
			while (nf_iter_next(&it, &item) == ERR_OK) {
				if (item.kind != NF_ITEM_DATA)
					continue;
				struct rec_iter ri;
				struct rec_field f;
				uint16_t id_ie = versions[v] == 9 ? IE_samplerId : IE_selectorId;
				if (!item.t->scope_count) {
					data++;
					assert_true(item.t->id == 260 || item.t->id == 261);
					unsigned found = 0;
					rec_iter_init(&ri, item.t, item.p, item.len);
					while (rec_iter_next(&ri, &f) == ERR_OK)
						if (f.ie == id_ie) {
							uint64_t id = peek_uint(f.p, f.len);
							assert_true(id == 7 || id == 0);
							zero += id == 0;
							found++;
						}
					assert_int_equal(found, 1);
					continue;
				}
				if (item.t->id == 258)
					continue; /* export statistics: test_options_stats */
				samp++;
				uint64_t vals[8] = { 0 };
				unsigned seen = 0;
				rec_iter_init(&ri, item.t, item.p, item.len);
				while (rec_iter_next(&ri, &f) == ERR_OK && seen < 8) {
					uint64_t val = peek_uint(f.p, f.len);
					vals[seen++] = val;
					if (versions[v] == 9 && f.scope)
						assert_int_equal(val, 4242);
				}
				assert_int_equal(seen, 4);
				/* v9: scope, id, mode, interval; IPFIX: id, algorithm, two parameters */
				uint64_t id = versions[v] == 9 ? vals[1] : vals[0];
				assert_true(id == 7 || id == 8);
				ids[id - 7]++;
				bool r7 = id == 7 ? rnd : !rnd;
				uint64_t n = id == 7 ? 100 : 50;
				if (versions[v] == 9) {
					assert_int_equal(item.t->id, 259);
					assert_int_equal(vals[2], r7 ? 2 : 0);
					assert_int_equal(vals[3], n);
				} else {
					assert_int_equal(item.t->id, r7 ? 262 : 259);
					assert_int_equal(vals[1], r7 ? 3 : 1);
					assert_int_equal(vals[2], 1);               /* interval / size */
					assert_int_equal(vals[3], r7 ? n : n - 1);  /* population / space */
				}
			}
			assert_int_equal(samp, m % 3 == 0 ? 2 : 0);
			if (samp)
				assert_true(ids[0] == 1 && ids[1] == 1);
			assert_int_equal(data, 10);
			assert_int_equal(zero, 2);
			samp_recs += samp;
		}
		/* export statistics and sampler: one + two options records each time */
		assert_int_equal(exporter_stats(ex)->options_records, samp_recs + samp_recs / 2);
		assert_true(exporter_tmpl_next(ex) > 262 || (versions[v] == 9 && exporter_tmpl_next(ex) > 261));
		tmpl_store_mem_free(&mem);
		exporter_free(ex);
		transport_close(&tp->base);
	}
	/* a v9 samplerId is one byte; an id of 0 names no sampler; one id, one rate */
	struct memtp *tp = memtp_new(28);
	struct exporter_cfg cfg;
	exporter_cfg_init(&cfg, 9);
	cfg.sampler[0] = (struct exporter_sampler){ 1, 0, 256, 10, false };
	cfg.nsampler = 1;
	char err[128];
	assert_null(exporter_new(&cfg, &tp->base, err, sizeof(err)));
	cfg.sampler[0].id = 0;
	assert_null(exporter_new(&cfg, &tp->base, err, sizeof(err)));
	cfg.sampler[0].id = 5;
	cfg.sampler[1] = (struct exporter_sampler){ 2, 0, 5, 20, false };
	cfg.nsampler = 2;
	assert_null(exporter_new(&cfg, &tp->base, err, sizeof(err)));
	cfg.sampler[1].n = 10;
	struct exporter *ex = exporter_new(&cfg, &tp->base, err, sizeof(err));
	assert_non_null(ex);
	exporter_free(ex);
	transport_close(&tp->base);

	/* a generic exporter (Flexible NetFlow) sends the sampler options and
	 * its own layouts, numbered after the options templates */
	tp = memtp_new(28);
	exporter_cfg_init(&cfg, 10);
	cfg.start_us = T0;
	cfg.flags = EXPORTER_F_GENERIC;
	cfg.sampler[0] = (struct exporter_sampler){ 0, 0, 3, 64, true };
	cfg.nsampler = 1;
	ex = exporter_new(&cfg, &tp->base, err, sizeof(err));
	assert_non_null(ex);
	struct genrec_layout lay = { .n = 2 };
	lay.f[0] = (struct genrec_field){ IE_samplerId, 1, GENREC_UINT };
	lay.f[1] = (struct genrec_field){ IE_packetDeltaCount, 8, GENREC_UINT };
	int h = exporter_add_tmpl(ex, &lay, err, sizeof(err));
	assert_int_equal(h, 0);
	assert_int_equal(exporter_tmpl(ex, h)->id, 263);
	/* the layout's sampler field is selectorId in IPFIX, the options' scope */
	assert_int_equal(exporter_tmpl(ex, h)->f[0].ie, IE_selectorId);
	struct genrec_val gv[2] = { { .u = 3 }, { .u = 5 } };
	struct genrec g = { .lay = &lay, .v = gv };
	assert_int_equal(exporter_add_genrec(ex, h, &g, T0), ERR_OK);
	exporter_flush(ex, T0);
	assert_int_equal(tp->n, 1);
	struct tmpl_store_mem mem;
	tmpl_store_mem_init(&mem, 8);
	struct tmpl_store ts = tmpl_store_mem_iface(&mem);
	struct msg_items x = items_of(&tp->msg[0], &ts);
	assert_int_equal(x.rc, ERR_END);
	assert_int_equal(x.tmpls, 1);     /* the layout only: no built-in flow templates */
	assert_int_equal(x.opt_tmpls, 1); /* the random sampler's */
	assert_int_equal(x.opt_data, 1);
	assert_int_equal(x.data, 1);
	tmpl_store_mem_free(&mem);
	exporter_free(ex);
	transport_close(&tp->base);
}

/* A half-full message leaves at flush_ms after its first record. */
static void test_flush_timer(void **state)
{
	(void)state;
	struct memtp *tp = memtp_new(28);
	struct exporter_cfg cfg;
	exporter_cfg_init(&cfg, 5);
	cfg.start_us = T0;
	cfg.flush_ms = 250;
	struct exporter *ex = exporter_new(&cfg, &tp->base, NULL, 0);
	assert_int_equal(exporter_next_deadline(ex), UINT64_MAX);
	struct flowrec r;
	fx_rec(&r, 4, 1);
	exporter_add(ex, &r, T0 + 1000000);
	exporter_add(ex, &r, T0 + 1200000);
	assert_int_equal(exporter_next_deadline(ex), T0 + 1250000);
	exporter_tick(ex, T0 + 1249999);
	assert_int_equal(tp->n, 0);
	exporter_tick(ex, T0 + 1250000);
	assert_int_equal(tp->n, 1);
	assert_int_equal(exporter_next_deadline(ex), UINT64_MAX);
	exporter_tick(ex, T0 + 9000000); /* nothing open: nothing sent */
	assert_int_equal(tp->n, 1);
	exporter_free(ex);
	transport_close(&tp->base);
}

/* A failed send counts its flows and the message; sequence still advances. */
static void test_send_failure(void **state)
{
	(void)state;
	struct memtp *tp = memtp_new(28);
	struct exporter *ex = fx_exporter(5, tp, 0);
	struct flowrec r;
	fx_rec(&r, 4, 1);
	tp->fail = 1;
	for (unsigned i = 0; i < 35; i++)
		exporter_add(ex, &r, T0);
	exporter_flush(ex, T0);
	const struct exporter_stats *st = exporter_stats(ex);
	assert_int_equal(st->send_errors, 1);
	assert_int_equal(st->flows_failed, 30);
	assert_int_equal(st->records, 5);
	assert_int_equal(st->messages, 1);
	assert_int_equal(tp->n, 1);
	struct nf_iter it;
	assert_int_equal(nf_iter_init(&it, tp->msg[0].p, tp->msg[0].len, NULL), ERR_OK);
	assert_int_equal(it.hdr.seq, 30);
	exporter_free(ex);
	transport_close(&tp->base);
}

static void test_config_checks(void **state)
{
	(void)state;
	struct memtp *tp = memtp_new(28);
	struct exporter_cfg cfg;
	char err[256];
	static const struct { int version; size_t off; unsigned bad; } cases[] = {
		{ 9, offsetof(struct exporter_cfg, tmpl_refresh_pkts), 0 },
		{ 9, offsetof(struct exporter_cfg, tmpl_refresh_pkts), 601 },
		{ 9, offsetof(struct exporter_cfg, tmpl_timeout_s), 216001 },
		{ 10, offsetof(struct exporter_cfg, tmpl_timeout_s), 0 },
		{ 5, offsetof(struct exporter_cfg, mtu), 575 },
		{ 5, offsetof(struct exporter_cfg, flush_ms), 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		exporter_cfg_init(&cfg, cases[i].version);
		memcpy((char *)&cfg + cases[i].off, &cases[i].bad, sizeof(unsigned));
		assert_null(exporter_new(&cfg, &tp->base, err, sizeof(err)));
		assert_non_null(strstr(err, "out of range"));
	}
	exporter_cfg_init(&cfg, 8);
	assert_null(exporter_new(&cfg, &tp->base, err, sizeof(err)));
	exporter_cfg_init(&cfg, 5);
	cfg.export_stats = true;
	assert_null(exporter_new(&cfg, &tp->base, err, sizeof(err)));
	exporter_cfg_init(&cfg, 9);
	assert_null(exporter_new(&cfg, NULL, err, sizeof(err)));
	transport_close(&tp->base);
}

/* The file transport writes IPFIX messages back to back (RFC 5655). */
static void test_file_transport(void **state)
{
	(void)state;
	char path[] = "/tmp/ipflow_export_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	char spec[64], err[256];
	snprintf(spec, sizeof(spec), "file:%s", path);
	struct transport *t = transport_open(spec, NULL, err, sizeof(err));
	assert_non_null(t);
	struct exporter_cfg cfg;
	exporter_cfg_init(&cfg, 10);
	cfg.start_us = T0;
	struct exporter *ex = exporter_new(&cfg, t, err, sizeof(err));
	struct flowrec r;
	for (unsigned i = 0; i < 50; i++) {
		fx_rec(&r, i % 2 ? 6 : 4, i);
		exporter_add(ex, &r, T0 + 10000000);
	}
	exporter_flush(ex, T0 + 10000000);
	uint64_t msgs = exporter_stats(ex)->messages, bytes = exporter_stats(ex)->bytes;
	exporter_free(ex);
	transport_close(t);
	FILE *f = fopen(path, "rb");
	static uint8_t buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	unlink(path);
	assert_int_equal(n, bytes);
	struct tmpl_store_mem mem;
	tmpl_store_mem_init(&mem, 8);
	struct tmpl_store ts = tmpl_store_mem_iface(&mem);
	size_t off = 0, count = 0;
	unsigned recs = 0;
	while (off < n) {
		uint16_t len = peek_u16(buf + off + 2);
		struct memtp_msg m = { buf + off, len, 0 };
		struct msg_items x = items_of(&m, &ts);
		assert_int_equal(x.rc, ERR_END);
		recs += x.data;
		off += len;
		count++;
	}
	assert_int_equal(count, msgs);
	assert_int_equal(recs, 50);
	tmpl_store_mem_free(&mem);
	assert_null(transport_open("file:/nonexistent/dir/x", NULL, err, sizeof(err)));
	assert_null(transport_open("tcpx:1.2.3.4:5", NULL, err, sizeof(err)));
}

/* The id of the first template of each template and options template set
 * of msg (v9 or IPFIX) into ids[]; returns the count. */
static size_t defined_ids(const struct memtp_msg *m, int v, uint16_t *ids, size_t max)
{
	size_t n = 0;
	unsigned tset = v == 9 ? 0 : 2, oset = v == 9 ? 1 : 3;
	for (size_t o = v == 9 ? 20 : 16; o + 4 <= m->len;) {
		unsigned sid = (unsigned)m->p[o] << 8 | m->p[o + 1], sl = (unsigned)m->p[o + 2] << 8 | m->p[o + 3];
		if (sl < 4)
			break;
		if ((sid == tset || sid == oset) && n < max)
			ids[n++] = (uint16_t)(m->p[o + 4] << 8 | m->p[o + 5]); /* the set's first template */
		o += sl;
	}
	return n;
}

/* A reload that adds a sampler table to a Flexible NetFlow exporter: the
 * new exporter continues the old one's session (exporter_set_tmpl_base)
 * and none of its templates, the sampler options template included, may
 * take an id the session already used (RFC 7011 §8). */
static void test_generic_sampler_ids_on_continued_session(void **state)
{
	(void)state;
	for (int v = 9; v <= 10; v++) {
		struct memtp *tp = memtp_new(28);
		static const struct genrec_layout lay = { 2, { { IE_packetDeltaCount, 8, GENREC_UINT },
		                                               { IE_samplerId, 1, GENREC_UINT } } };
		struct genrec_val val[2] = { { .u = 5 }, { .u = 1 } };
		struct genrec r = { &lay, val, 0, 1, 1, 5, 100 };
		struct exporter_cfg c;
		exporter_cfg_init(&c, v);
		c.flags = EXPORTER_F_GENERIC;
		char err[256];
		struct exporter *a = exporter_new(&c, &tp->base, err, sizeof(err));
		assert_non_null(a);
		int h = exporter_add_tmpl(a, &lay, err, sizeof(err));
		assert_true(h >= 0);
		uint16_t used = exporter_tmpl(a, h)->id;
		assert_int_equal(exporter_add_genrec(a, h, &r, T0 + 1000000), ERR_OK);
		exporter_flush(a, T0 + 1000000);
		c.nsampler = 1;
		c.sampler[0] = (struct exporter_sampler){ 3, 0, 1, 10, false };
		struct exporter *b = exporter_new(&c, &tp->base, err, sizeof(err));
		assert_non_null(b);
		exporter_set_tmpl_base(b, exporter_tmpl_next(a));
		h = exporter_add_tmpl(b, &lay, err, sizeof(err));
		assert_true(h >= 0);
		assert_true(exporter_tmpl(b, h)->id > used);
		size_t before = tp->n;
		assert_int_equal(exporter_add_genrec(b, h, &r, T0 + 2000000), ERR_OK);
		exporter_flush(b, T0 + 2000000);
		assert_true(tp->n > before);
		size_t nopt = 0;
		for (size_t k = before; k < tp->n; k++) {
			uint16_t ids[16];
			size_t n = defined_ids(&tp->msg[k], v, ids, 16);
			for (size_t j = 0; j < n; j++) {
				if (ids[j] <= used)
					fail_msg("v%d: the continued session redefines template id %u (the old layout had %u)", v,
					         ids[j], used);
				nopt++;
			}
		}
		assert_true(nopt >= 2); /* the layout and the sampler options template */
		exporter_free(a);
		exporter_free(b);
		memtp_close(&tp->base);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mtu_limits),
		cmocka_unit_test(test_generic_sampler_ids_on_continued_session),
		cmocka_unit_test(test_exact_ipfix_count),
		cmocka_unit_test(test_template_refresh_packets),
		cmocka_unit_test(test_template_refresh_time),
		cmocka_unit_test(test_template_timeout_open_message),
		cmocka_unit_test(test_options_stats),
		cmocka_unit_test(test_sampler_options),
		cmocka_unit_test(test_flush_timer),
		cmocka_unit_test(test_send_failure),
		cmocka_unit_test(test_config_checks),
		cmocka_unit_test(test_file_transport),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
