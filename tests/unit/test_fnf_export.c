/* test_fnf_export.c — records of any layout on the wire: the layout
 * template, the generic record writer (every value kind, saturation,
 * no-space rollback), generic v9 and IPFIX exporters (record templates
 * only, ids, refresh, counter splitting) decoded by our own decoders, and
 * the v5 mapping of a traditional record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "export_fixture.h"
#include "lib/bytes.h"

/* A layout with each kind of value. */
enum { L_SRC, L_DPORT, L_BYTES, L_PKTS, L_UP_FIRST, L_UP_LAST, L_MS_FIRST, L_SEC_LAST, L_US_FIRST, L_TTL, L_N };

static void layout(struct genrec_layout *l, uint16_t bytes_len)
{
	static const struct genrec_field f[L_N] = {
		{ IE_sourceIPv4Address, 4, GENREC_BYTES },
		{ IE_destinationTransportPort, 2, GENREC_BYTES },
		{ IE_octetDeltaCount, 4, GENREC_UINT },
		{ IE_packetDeltaCount, 8, GENREC_UINT },
		{ IE_flowStartSysUpTime, 4, GENREC_TIME },
		{ IE_flowEndSysUpTime, 4, GENREC_TIME },
		{ IE_flowStartMilliseconds, 8, GENREC_TIME },
		{ IE_flowEndSeconds, 4, GENREC_TIME },
		{ IE_flowStartMicroseconds, 8, GENREC_TIME },
		{ IE_minimumTTL, 1, GENREC_UINT },
	};
	memset(l, 0, sizeof(*l));
	l->n = L_N;
	memcpy(l->f, f, sizeof(f));
	l->f[L_BYTES].len = bytes_len;
}

static const uint8_t src[4] = { 10, 9, 8, 7 };
static const uint8_t dport[2] = { 0x01, 0xbb };

static void values(struct genrec_val *v, struct genrec *r, const struct genrec_layout *l, uint64_t bytes, uint64_t pkts)
{
	memset(v, 0, sizeof(*v) * L_N);
	v[L_SRC].p = src;
	v[L_DPORT].p = dport;
	v[L_BYTES].u = bytes;
	v[L_PKTS].u = pkts;
	v[L_UP_FIRST].u = T0 + 1500000;
	v[L_UP_LAST].u = T0 + 2500999;
	v[L_MS_FIRST].u = T0 + 1500000;
	v[L_SEC_LAST].u = T0 + 2500999;
	v[L_US_FIRST].u = T0 + 1500123;
	v[L_TTL].u = 300; /* saturates in 1 byte */
	memset(r, 0, sizeof(*r));
	r->lay = l;
	r->v = v;
	r->end = FLOW_END_IDLE;
	r->packets = pkts;
	r->bytes = bytes;
}

static void test_layout_template(void **state)
{
	struct genrec_layout l;
	layout(&l, 4);
	struct tmpl t;
	size_t bad = 99;
	assert_int_equal(tmpl_init_layout(&t, 300, &l, 1, &bad), ERR_OK);
	assert_int_equal(t.id, 300);
	assert_int_equal(t.nfields, L_N);
	assert_int_equal(t.flags, TMPL_F_V9);
	assert_int_equal(t.minlen, 4 + 2 + 4 + 8 + 4 + 4 + 8 + 4 + 8 + 1);
	assert_int_equal(t.f[L_PKTS].ie, IE_packetDeltaCount);
	/* an IE without a v9 type: refused for v9, fine for IPFIX */
	l.f[L_TTL].ie = IE_dataLinkFrameSize;
	l.f[L_TTL].len = 2;
	assert_int_equal(tmpl_init_layout(&t, 300, &l, 1, &bad), ERR_UNSUPP);
	assert_int_equal(bad, L_TTL);
	assert_int_equal(tmpl_init_layout(&t, 300, &l, 0, &bad), ERR_OK);
	/* an IE not in the catalog */
	l.f[L_TTL].ie = 4095;
	assert_int_equal(tmpl_init_layout(&t, 300, &l, 0, &bad), ERR_UNSUPP);
}

static void test_put_genrec(void **state)
{
	struct genrec_layout l;
	layout(&l, 4);
	struct tmpl t;
	assert_int_equal(tmpl_init_layout(&t, 300, &l, 0, NULL), ERR_OK);
	struct genrec_val v[L_N];
	struct genrec r;
	values(v, &r, &l, 5000000000ull, 7);
	uint8_t buf[256];
	struct wbuf w;
	wbuf_init(&w, buf, sizeof(buf));
	struct rec_enc enc = { .boot_us = T0 };
	assert_int_equal(tmpl_put_genrec(&w, &t, &r, &enc), ERR_OK);
	assert_int_equal(w.len, t.minlen);
	assert_int_equal(enc.saturated, 2); /* 5e9 in 4 bytes, TTL 300 in 1 */
	struct rec_iter ri;
	struct rec_field f;
	uint64_t got[L_N] = { 0 };
	rec_iter_init(&ri, &t, buf, w.len);
	for (unsigned i = 0; i < L_N; i++) {
		assert_int_equal(rec_iter_next(&ri, &f), ERR_OK);
		got[i] = peek_uint(f.p, f.len);
	}
	assert_int_equal(rec_iter_next(&ri, &f), ERR_END);
	assert_int_equal(got[L_SRC], 0x0a090807);
	assert_int_equal(got[L_DPORT], 443);
	assert_int_equal(got[L_BYTES], 0xffffffffu);
	assert_int_equal(got[L_PKTS], 7);
	assert_int_equal(got[L_UP_FIRST], 1500);   /* ms since the exporter's start */
	assert_int_equal(got[L_UP_LAST], 2500);
	assert_int_equal(got[L_MS_FIRST], (T0 + 1500000) / 1000);
	assert_int_equal(got[L_SEC_LAST], (T0 + 2500999) / 1000000);
	assert_int_equal(ie_ntp_to_us(got[L_US_FIRST]), T0 + 1500123);
	assert_int_equal(got[L_TTL], 255);
	/* a record that does not fit leaves the writer as it was */
	wbuf_init(&w, buf, t.minlen - 1);
	assert_int_equal(tmpl_put_genrec(&w, &t, &r, &enc), ERR_NOSPACE);
	assert_int_equal(w.len, 0);
	/* layout and template disagree */
	struct genrec_layout l2 = l;
	l2.n--;
	r.lay = &l2;
	wbuf_init(&w, buf, sizeof(buf));
	assert_int_equal(tmpl_put_genrec(&w, &t, &r, &enc), ERR_ARG);
}

struct decoded {
	unsigned msgs, tmpls, opt_tmpls, data, opt_data;
	uint16_t ids[8];
	unsigned nids;
	uint64_t bytes_sum, pkts_sum;
	uint64_t first_up[64];
};

static void decode_all(struct memtp *tp, struct decoded *d)
{
	struct tmpl_store_mem m;
	assert_int_equal(tmpl_store_mem_init(&m, 16), ERR_OK);
	struct tmpl_store ts = tmpl_store_mem_iface(&m);
	memset(d, 0, sizeof(*d));
	for (size_t k = 0; k < tp->n; k++) {
		struct nf_iter it;
		struct nf_item item;
		int rc = nf_iter_init(&it, tp->msg[k].p, tp->msg[k].len, &ts);
		assert_int_equal(rc, ERR_OK);
		d->msgs++;
		while ((rc = nf_iter_next(&it, &item)) == ERR_OK) {
			if (item.kind == NF_ITEM_TMPL) {
				if (item.t->scope_count) {
					d->opt_tmpls++;
				} else {
					d->tmpls++;
					if (d->nids < 8)
						d->ids[d->nids++] = item.t->id;
				}
			} else if (item.kind == NF_ITEM_DATA && item.t->scope_count) {
				d->opt_data++;
			} else if (item.kind == NF_ITEM_DATA) {
				struct rec_iter ri;
				struct rec_field f;
				rec_iter_init(&ri, item.t, item.p, item.len);
				while (rec_iter_next(&ri, &f) == ERR_OK) {
					if (f.ie == IE_octetDeltaCount)
						d->bytes_sum += peek_uint(f.p, f.len);
					if (f.ie == IE_packetDeltaCount)
						d->pkts_sum += peek_uint(f.p, f.len);
					if (f.ie == IE_flowStartSysUpTime && d->data < 64)
						d->first_up[d->data] = peek_uint(f.p, f.len);
				}
				d->data++;
			}
		}
		assert_int_equal(rc, ERR_END);
	}
	tmpl_store_mem_free(&m);
}

static struct exporter *generic(int version, struct memtp *tp, unsigned mtu, bool stats)
{
	struct exporter_cfg cfg;
	exporter_cfg_init(&cfg, version);
	cfg.start_us = T0;
	cfg.flags = EXPORTER_F_GENERIC;
	cfg.export_stats = stats;
	if (mtu)
		cfg.mtu = mtu;
	char err[256];
	struct exporter *ex = exporter_new(&cfg, &tp->base, err, sizeof(err));
	assert_non_null(ex);
	return ex;
}

static void generic_formats(int version)
{
	struct memtp *tp = memtp_new(28);
	struct exporter *ex = generic(version, tp, 0, true);
	struct genrec_layout la, lb;
	layout(&la, 8);
	layout(&lb, 4);
	lb.n = L_UP_FIRST + 1; /* a second, shorter layout */
	char err[256];
	int ha = exporter_add_tmpl(ex, &la, err, sizeof(err));
	int hb = exporter_add_tmpl(ex, &lb, err, sizeof(err));
	assert_int_equal(ha, 0);
	assert_int_equal(hb, 1);
	assert_int_equal(exporter_tmpl(ex, ha)->id, 259);
	assert_int_equal(exporter_tmpl(ex, hb)->id, 260);
	assert_null(exporter_tmpl(ex, 2));
	struct genrec_val v[L_N];
	struct genrec r;
	for (unsigned i = 0; i < 100; i++) {
		values(v, &r, i % 2 ? &lb : &la, 1000 + i, 1);
		assert_int_equal(exporter_add_genrec(ex, i % 2 ? hb : ha, &r, T0 + 10000000), ERR_OK);
	}
	/* a flowrec has no template in a generic exporter; a bad handle */
	struct flowrec fr;
	fx_rec(&fr, 4, 1);
	assert_int_equal(exporter_add(ex, &fr, T0), ERR_ARG);
	assert_int_equal(exporter_add_genrec(ex, 5, &r, T0), ERR_ARG);
	exporter_flush(ex, T0 + 10000000);
	struct decoded d;
	decode_all(tp, &d);
	assert_int_equal(d.data, 100);
	assert_int_equal(d.nids, 2); /* the record templates, once: no built-in flow templates */
	assert_int_equal(d.ids[0], 259);
	assert_int_equal(d.ids[1], 260);
	assert_int_equal(d.opt_tmpls, 1);
	assert_int_equal(d.opt_data, 1);
	assert_int_equal(d.bytes_sum, 100 * 1000 + 99 * 100 / 2);
	assert_int_equal(d.pkts_sum, 100);
	assert_int_equal(d.first_up[0], 1500);
	assert_int_equal(exporter_stats(ex)->flows, 100);
	assert_int_equal(exporter_stats(ex)->records, 100);
	assert_int_equal(exporter_stats(ex)->templates, 2);
	exporter_free(ex);
	memtp_close(&tp->base);
}

static void test_generic_v9(void **state)
{
	generic_formats(9);
}

static void test_generic_ipfix(void **state)
{
	generic_formats(10);
}

/* A new exporter on an old one's transport continues its template ids:
 * no id is redefined on a session; ids wrap past 65535 to the first free. */
static void test_template_ids(void **state)
{
	struct memtp *tp = memtp_new(28);
	struct exporter *a = generic(10, tp, 0, false);
	struct genrec_layout l;
	layout(&l, 8);
	char err[256];
	assert_int_equal(exporter_tmpl_next(a), 259);
	assert_int_equal(exporter_add_tmpl(a, &l, err, sizeof(err)), 0);
	assert_int_equal(exporter_add_tmpl(a, &l, err, sizeof(err)), 1);
	assert_int_equal(exporter_tmpl_next(a), 261);
	struct exporter *b = generic(10, tp, 0, false);
	exporter_set_tmpl_base(b, exporter_tmpl_next(a));
	assert_int_equal(exporter_add_tmpl(b, &l, err, sizeof(err)), 0);
	assert_int_equal(exporter_tmpl(b, 0)->id, 261);
	exporter_free(b);
	b = generic(10, tp, 0, false);
	exporter_set_tmpl_base(b, 65535);
	assert_int_equal(exporter_add_tmpl(b, &l, err, sizeof(err)), 0);
	assert_int_equal(exporter_add_tmpl(b, &l, err, sizeof(err)), 1);
	assert_int_equal(exporter_tmpl(b, 0)->id, 65535);
	assert_int_equal(exporter_tmpl(b, 1)->id, 259);
	exporter_set_tmpl_base(b, 7); /* below 256: the default */
	assert_int_equal(exporter_tmpl_next(b), 259);
	exporter_free(a);
	exporter_free(b);
	memtp_close(&tp->base);
}

/* A 32-bit byte counter over 2^32 is split: no byte is lost. */
static void test_split_counters(void **state)
{
	struct memtp *tp = memtp_new(28);
	struct exporter *ex = generic(10, tp, 0, false);
	struct genrec_layout l;
	layout(&l, 4);
	char err[256];
	int h = exporter_add_tmpl(ex, &l, err, sizeof(err));
	assert_true(h >= 0);
	struct genrec_val v[L_N];
	struct genrec r;
	uint64_t big = 3 * 0xffffffffull + 5;
	values(v, &r, &l, big, 1000);
	assert_int_equal(exporter_add_genrec(ex, h, &r, T0), ERR_OK);
	exporter_flush(ex, T0);
	struct decoded d;
	decode_all(tp, &d);
	assert_int_equal(d.data, 4);
	assert_int_equal(d.bytes_sum, big);
	assert_int_equal(d.pkts_sum, 1000);
	assert_int_equal(exporter_stats(ex)->split_records, 3);
	assert_int_equal(exporter_stats(ex)->flows, 1);
	exporter_free(ex);
	memtp_close(&tp->base);
}

/* Templates refresh like the built-in ones (v9: every 20 messages). */
static void test_template_refresh_and_mtu(void **state)
{
	struct memtp *tp = memtp_new(28);
	struct exporter *ex = generic(9, tp, 0, false);
	struct genrec_layout l;
	layout(&l, 8);
	char err[256];
	int h = exporter_add_tmpl(ex, &l, err, sizeof(err));
	struct genrec_val v[L_N];
	struct genrec r;
	values(v, &r, &l, 100, 1);
	for (unsigned i = 0; i < 40 * 30; i++)
		exporter_add_genrec(ex, h, &r, T0);
	exporter_flush(ex, T0);
	struct decoded d;
	decode_all(tp, &d);
	assert_int_equal(d.data, 40 * 30);
	assert_true(d.msgs >= 20);
	assert_int_equal(exporter_stats(ex)->templates, (d.msgs + 19) / 20);
	exporter_free(ex);
	memtp_close(&tp->base);
	/* an MTU too small for the templates and one record */
	tp = memtp_new(28);
	ex = generic(9, tp, 576, false);
	struct genrec_layout big;
	memset(&big, 0, sizeof(big));
	for (unsigned i = 0; i < 25; i++)
		big.f[big.n++] = (struct genrec_field){ IE_sourceIPv6Address, 16, GENREC_BYTES };
	/* 20 + (4 + 104) + (4 + 400) = 532 fit 576 - 28; a second template (+104) does not */
	assert_true(exporter_add_tmpl(ex, &big, err, sizeof(err)) >= 0);
	assert_int_equal(exporter_add_tmpl(ex, &big, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "mtu 576 too small"));
	exporter_free(ex);
	memtp_close(&tp->base);
	/* v9 names the IE it cannot carry */
	tp = memtp_new(28);
	ex = generic(9, tp, 0, false);
	layout(&l, 4);
	l.f[1] = (struct genrec_field){ IE_dataLinkFrameSize, 2, GENREC_UINT };
	assert_int_equal(exporter_add_tmpl(ex, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "dataLinkFrameSize (IE 312) has no NetFlow v9 field type"));
	exporter_free(ex);
	memtp_close(&tp->base);
}

/* A traditional record to a v5 exporter: mapped to a v5 flow record. */
static void test_v5_mapping(void **state)
{
	struct memtp *tp = memtp_new(28);
	struct exporter_cfg cfg;
	exporter_cfg_init(&cfg, 5);
	cfg.start_us = T0;
	cfg.flags = EXPORTER_F_GENERIC;
	char err[256];
	struct exporter *ex = exporter_new(&cfg, &tp->base, err, sizeof(err));
	assert_non_null(ex);
	struct genrec_layout l;
	memset(&l, 0, sizeof(l));
	static const struct genrec_field f[] = {
		{ IE_ipClassOfService, 1, GENREC_BYTES }, { IE_protocolIdentifier, 1, GENREC_BYTES },
		{ IE_sourceIPv4Address, 4, GENREC_BYTES }, { IE_destinationIPv4Address, 4, GENREC_BYTES },
		{ IE_sourceTransportPort, 2, GENREC_BYTES }, { IE_destinationTransportPort, 2, GENREC_BYTES },
		{ IE_ingressInterface, 4, GENREC_BYTES }, { IE_tcpControlBits, 1, GENREC_UINT },
		{ IE_egressInterface, 4, GENREC_UINT }, { IE_octetDeltaCount, 4, GENREC_UINT },
		{ IE_packetDeltaCount, 4, GENREC_UINT }, { IE_flowStartSysUpTime, 4, GENREC_TIME },
		{ IE_flowEndSysUpTime, 4, GENREC_TIME },
	};
	l.n = sizeof(f) / sizeof(f[0]);
	memcpy(l.f, f, sizeof(f));
	int h = exporter_add_tmpl(ex, &l, err, sizeof(err));
	assert_true(h >= 0);
	static const uint8_t tos = 0x28, proto = 6, s4[4] = { 10, 0, 0, 1 }, d4[4] = { 192, 0, 2, 9 },
	                     sp[2] = { 0x30, 0x39 }, dp[2] = { 0, 80 }, ifin[4] = { 0, 0, 0, 3 };
	struct genrec_val v[13] = {
		{ 0, &tos }, { 0, &proto }, { 0, s4 }, { 0, d4 }, { 0, sp }, { 0, dp }, { 0, ifin },
		{ 0x1b, NULL }, { 7, NULL }, { 5000000000ull, NULL }, { 12, NULL },
		{ T0 + 2000000, NULL }, { T0 + 3500000, NULL },
	};
	struct genrec r = { .lay = &l, .v = v, .end = FLOW_END_IDLE, .packets = 12, .bytes = 5000000000ull };
	assert_int_equal(exporter_add_genrec(ex, h, &r, T0 + 4000000), ERR_OK);
	exporter_flush(ex, T0 + 4000000);
	/* 5e9 bytes do not fit v5's 32 bits: two records, the counts shared out */
	uint64_t bytes = 0, pkts = 0;
	unsigned recs = 0;
	for (size_t k = 0; k < tp->n; k++) {
		struct nf_iter it;
		struct nf_item item;
		assert_int_equal(nf_iter_init(&it, tp->msg[k].p, tp->msg[k].len, NULL), ERR_OK);
		assert_int_equal(it.hdr.version, 5);
		while (nf_iter_next(&it, &item) == ERR_OK) {
			struct flowrec fr;
			assert_int_equal(nf_item_flowrec(&it, &item, &fr), ERR_OK);
			assert_memory_equal(fr.key.src, s4, 4);
			assert_memory_equal(fr.key.dst, d4, 4);
			assert_int_equal(fr.key.sport, 12345);
			assert_int_equal(fr.key.dport, 80);
			assert_int_equal(fr.key.proto, 6);
			assert_int_equal(fr.key.tos, 0x28);
			assert_int_equal(fr.key.ifindex, 3);
			assert_int_equal(fr.if_out, 7);
			assert_int_equal(fr.tcp_flags, 0x1b);
			assert_int_equal(fr.first_us, T0 + 2000000);
			assert_int_equal(fr.last_us, T0 + 3500000);
			bytes += fr.bytes;
			pkts += fr.packets;
			recs++;
		}
	}
	assert_int_equal(recs, 2);
	assert_int_equal(bytes, 5000000000ull);
	assert_int_equal(pkts, 12);
	assert_int_equal(exporter_stats(ex)->flows, 1);
	exporter_free(ex);
	memtp_close(&tp->base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_template),
		cmocka_unit_test(test_put_genrec),
		cmocka_unit_test(test_generic_v9),
		cmocka_unit_test(test_generic_ipfix),
		cmocka_unit_test(test_template_ids),
		cmocka_unit_test(test_split_counters),
		cmocka_unit_test(test_template_refresh_and_mtu),
		cmocka_unit_test(test_v5_mapping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
