/* test_nf8.c — NetFlow v8: every router aggregation scheme encoded by the
 * exporter and decoded back (header, per-scheme layout and packet limit,
 * every field value, the flowrec columns), truncated and bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collect/session.h"
#include "export/export.h"
#include "export/exporter.h"
#include "lib/bytes.h"
#include "msgbuild.h"

#define T0 1700000000000000ull

static const unsigned all_schemes[] = { 1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 14 };
static const unsigned want_len[] = { 28, 28, 32, 32, 40, 32, 32, 32, 32, 40, 40 };
static const unsigned want_max[] = { 51, 51, 44, 44, 35, 44, 44, 44, 44, 35, 35 };

/* The value record i carries in field f (addresses as 4 bytes). */
static uint64_t val(uint16_t ie, unsigned i)
{
	switch (ie) {
	case IE_deltaFlowCount: return 3 + i;
	case IE_packetDeltaCount: return 100 + i;
	case IE_octetDeltaCount: return 40000 + i;
	case IE_bgpSourceAsNumber: return 64512 + i % 7;
	case IE_bgpDestinationAsNumber: return 65001 - i % 5;
	case IE_ingressInterface: return 1 + i % 9;
	case IE_egressInterface: return 20 + i % 3;
	case IE_protocolIdentifier: return i % 2 ? 6 : 17;
	case IE_ipClassOfService: return (i * 4) & 0xfc;
	case IE_sourceTransportPort: return 1024 + i;
	case IE_destinationTransportPort: return 53 + i % 4;
	case IE_sourceIPv4PrefixLength: return 8 + i % 17;
	case IE_destinationIPv4PrefixLength: return 16 + i % 9;
	case IE_sourceIPv4Prefix: return 0x0a000000u | (i << 8);
	case IE_destinationIPv4Prefix: return 0xc0a80000u | (i << 4);
	default: return 0;
	}
}

static void layout_of(const struct tmpl *t, struct genrec_layout *lay)
{
	memset(lay, 0, sizeof(*lay));
	lay->n = t->nfields;
	for (unsigned k = 0; k < t->nfields; k++) {
		lay->f[k].ie = t->f[k].ie;
		lay->f[k].len = t->f[k].len;
		lay->f[k].kind = t->f[k].ie == IE_flowStartSysUpTime || t->f[k].ie == IE_flowEndSysUpTime ? GENREC_TIME
		               : t->f[k].ie == IE_sourceIPv4Prefix || t->f[k].ie == IE_destinationIPv4Prefix ? GENREC_BYTES
		               : GENREC_UINT;
	}
}

static void roundtrip(unsigned scheme, unsigned idx)
{
	const struct tmpl *t = nf8_tmpl(scheme);
	assert_non_null(t);
	assert_int_equal(t->minlen, want_len[idx]);
	assert_int_equal(nf8_max_recs(scheme), want_max[idx]);
	/* offsets contiguous, record length the sum */
	unsigned off = 0;
	for (unsigned k = 0; k < t->nfields; k++) {
		if (t->f[k].off != off)
			print_error("scheme %u field %u\n", scheme, k);
		assert_int_equal(t->f[k].off, off);
		off += t->f[k].len;
	}
	assert_int_equal(off, t->minlen);

	struct memtp *tp = memtp_new(28);
	struct exporter_cfg cfg;
	exporter_cfg_init(&cfg, 8);
	cfg.start_us = T0;
	cfg.agg_scheme = (uint8_t)scheme;
	cfg.engine_type = 1;
	cfg.engine_id = 2;
	cfg.sampling_interval = 100;
	cfg.sampling_mode = 1;
	char err[200];
	struct exporter *ex = exporter_new(&cfg, &tp->base, err, sizeof(err));
	assert_non_null(ex);
	struct genrec_layout lay;
	layout_of(t, &lay);
	int h = exporter_add_tmpl(ex, &lay, err, sizeof(err));
	assert_true(h >= 0);
	const unsigned n = 200;
	for (unsigned i = 0; i < n; i++) {
		struct genrec_val v[GENREC_FIELDS_MAX];
		uint8_t addr[2][4];
		memset(v, 0, sizeof(v));
		for (unsigned k = 0; k < t->nfields; k++) {
			uint16_t ie = t->f[k].ie;
			if (ie == IE_flowStartSysUpTime)
				v[k].u = T0 + 1000000 + 1000ull * i;
			else if (ie == IE_flowEndSysUpTime)
				v[k].u = T0 + 3000000 + 1000ull * i;
			else if (ie == IE_sourceIPv4Prefix || ie == IE_destinationIPv4Prefix) {
				uint8_t *a = addr[ie == IE_destinationIPv4Prefix];
				poke_u32(a, (uint32_t)val(ie, i));
				v[k].p = a;
			} else
				v[k].u = val(ie, i);
		}
		struct genrec g = { .lay = &lay, .v = v };
		assert_int_equal(exporter_add_genrec(ex, h, &g, T0 + 10000000), ERR_OK);
	}
	exporter_flush(ex, T0 + 10000000);
	assert_int_equal(exporter_stats(ex)->records, n);
	assert_int_equal(exporter_stats(ex)->saturated, 0);
	/* every message full but the last, at the scheme's limit */
	unsigned per = nf8_max_recs(scheme);
	assert_int_equal(tp->n, (n + per - 1) / per);

	unsigned i = 0;
	uint32_t seq = 0;
	for (size_t m = 0; m < tp->n; m++) {
		assert_int_equal(tp->msg[m].len, 28 + t->minlen * (m + 1 < tp->n ? per : n - (tp->n - 1) * per));
		struct nf_iter it;
		struct nf_item item;
		assert_int_equal(nf_iter_init(&it, tp->msg[m].p, tp->msg[m].len, NULL), ERR_OK);
		assert_int_equal(it.hdr.version, 8);
		assert_int_equal(it.hdr.agg_scheme, scheme);
		assert_int_equal(it.hdr.agg_version, 2);
		assert_int_equal(it.hdr.engine_type, 1);
		assert_int_equal(it.hdr.engine_id, 2);
		assert_int_equal(it.hdr.sampling, 1u << 14 | 100);
		assert_int_equal(it.hdr.seq, seq);
		assert_int_equal(it.hdr.domain, scheme << 16 | 1 << 8 | 2);
		seq += it.hdr.count;
		int rc;
		while ((rc = nf_iter_next(&it, &item)) == ERR_OK) {
			assert_int_equal(item.kind, NF_ITEM_DATA);
			assert_ptr_equal(item.t, t);
			struct rec_iter ri;
			struct rec_field f;
			rec_iter_init(&ri, item.t, item.p, item.len);
			while (rec_iter_next(&ri, &f) == ERR_OK) {
				uint64_t got = f.len <= 8 ? peek_uint(f.p, f.len) : 0;
				if (f.ie == IE_paddingOctets)
					assert_int_equal(got, 0);
				else if (f.ie == IE_flowStartSysUpTime)
					assert_int_equal(got, 1000 + i);
				else if (f.ie == IE_flowEndSysUpTime)
					assert_int_equal(got, 3000 + i);
				else
					assert_int_equal(got, val(f.ie, i));
			}
			/* the collector's columns */
			struct flowrec r;
			assert_int_equal(nf_item_flowrec(&it, &item, &r), ERR_OK);
			assert_int_equal(r.packets, 100 + i);
			assert_int_equal(r.bytes, 40000 + i);
			assert_int_equal(r.first_us, T0 + 1000000 + 1000ull * i);
			assert_int_equal(r.last_us, T0 + 3000000 + 1000ull * i);
			if (tmpl_find(t, IE_sourceIPv4Prefix) >= 0) {
				assert_int_equal(peek_u32(r.key.src), val(IE_sourceIPv4Prefix, i));
				assert_int_equal(r.src_mask, val(IE_sourceIPv4PrefixLength, i));
			}
			if (tmpl_find(t, IE_destinationIPv4Prefix) >= 0) {
				assert_int_equal(peek_u32(r.key.dst), val(IE_destinationIPv4Prefix, i));
				assert_int_equal(r.dst_mask, val(IE_destinationIPv4PrefixLength, i));
			}
			if (tmpl_find(t, IE_ipClassOfService) >= 0)
				assert_int_equal(r.key.tos, val(IE_ipClassOfService, i));
			if (tmpl_find(t, IE_sourceTransportPort) >= 0)
				assert_int_equal(r.key.sport, val(IE_sourceTransportPort, i));
			if (tmpl_find(t, IE_bgpSourceAsNumber) >= 0)
				assert_int_equal(r.src_as, val(IE_bgpSourceAsNumber, i));
			if (tmpl_find(t, IE_egressInterface) >= 0)
				assert_int_equal(r.if_out, val(IE_egressInterface, i));
			i++;
		}
		assert_int_equal(rc, ERR_END);
	}
	assert_int_equal(i, n);

	/* truncated: every shorter length decodes the whole records there and
	 * then fails, never reads past the end */
	size_t full = tp->msg[0].len;
	for (size_t len = 0; len < full; len++) {
		uint8_t *cp = malloc(len ? len : 1);
		memcpy(cp, tp->msg[0].p, len);
		struct nf_iter it;
		struct nf_item item;
		int rc = nf_iter_init(&it, cp, len, NULL);
		unsigned got = 0;
		while (rc == ERR_OK && (rc = nf_iter_next(&it, &item)) == ERR_OK)
			got++;
		assert_int_not_equal(rc, ERR_END);
		if (len >= 28)
			assert_int_equal(got, (len - 28) / t->minlen);
		free(cp);
	}
	exporter_free(ex);
	transport_close(&tp->base);
}

static void test_schemes(void **state)
{
	(void)state;
	for (unsigned k = 0; k < sizeof(all_schemes) / sizeof(all_schemes[0]); k++)
		roundtrip(all_schemes[k], k);
}

/* Where each key field sits, byte offset in the record, as Cisco lays the
 * records out (pmacct's nfacctd and flow-tools read the same). */
static void test_layout(void **state)
{
	(void)state;
	static const struct { unsigned scheme, off; uint16_t ie; } pin[] = {
		{ 1, 20, IE_bgpSourceAsNumber }, { 1, 22, IE_bgpDestinationAsNumber }, { 1, 24, IE_ingressInterface },
		{ 1, 26, IE_egressInterface },
		{ 2, 20, IE_protocolIdentifier }, { 2, 24, IE_sourceTransportPort }, { 2, 26, IE_destinationTransportPort },
		{ 3, 20, IE_sourceIPv4Prefix }, { 3, 24, IE_sourceIPv4PrefixLength }, { 3, 26, IE_bgpSourceAsNumber },
		{ 3, 28, IE_ingressInterface },
		{ 4, 20, IE_destinationIPv4Prefix }, { 4, 24, IE_destinationIPv4PrefixLength },
		{ 4, 26, IE_bgpDestinationAsNumber }, { 4, 28, IE_egressInterface },
		{ 5, 20, IE_sourceIPv4Prefix }, { 5, 24, IE_destinationIPv4Prefix }, { 5, 28, IE_destinationIPv4PrefixLength },
		{ 5, 29, IE_sourceIPv4PrefixLength }, { 5, 32, IE_bgpSourceAsNumber }, { 5, 34, IE_bgpDestinationAsNumber },
		{ 5, 36, IE_ingressInterface }, { 5, 38, IE_egressInterface },
		{ 9, 20, IE_bgpSourceAsNumber }, { 9, 22, IE_bgpDestinationAsNumber }, { 9, 24, IE_ingressInterface },
		{ 9, 26, IE_egressInterface }, { 9, 28, IE_ipClassOfService },
		{ 10, 20, IE_protocolIdentifier }, { 10, 21, IE_ipClassOfService }, { 10, 24, IE_sourceTransportPort },
		{ 10, 26, IE_destinationTransportPort }, { 10, 28, IE_ingressInterface }, { 10, 30, IE_egressInterface },
		{ 11, 20, IE_sourceIPv4Prefix }, { 11, 24, IE_sourceIPv4PrefixLength }, { 11, 25, IE_ipClassOfService },
		{ 11, 26, IE_bgpSourceAsNumber }, { 11, 28, IE_ingressInterface },
		{ 12, 20, IE_destinationIPv4Prefix }, { 12, 24, IE_destinationIPv4PrefixLength },
		{ 12, 25, IE_ipClassOfService }, { 12, 26, IE_bgpDestinationAsNumber }, { 12, 28, IE_egressInterface },
		{ 13, 28, IE_destinationIPv4PrefixLength }, { 13, 29, IE_sourceIPv4PrefixLength },
		{ 13, 30, IE_ipClassOfService }, { 13, 32, IE_bgpSourceAsNumber }, { 13, 36, IE_ingressInterface },
		{ 14, 28, IE_destinationIPv4PrefixLength }, { 14, 29, IE_sourceIPv4PrefixLength },
		{ 14, 30, IE_ipClassOfService }, { 14, 31, IE_protocolIdentifier }, { 14, 32, IE_sourceTransportPort },
		{ 14, 34, IE_destinationTransportPort }, { 14, 36, IE_ingressInterface }, { 14, 38, IE_egressInterface },
	};
	for (size_t k = 0; k < sizeof(pin) / sizeof(pin[0]); k++) {
		const struct tmpl *t = nf8_tmpl(pin[k].scheme);
		int i = tmpl_find(t, pin[k].ie);
		if (i < 0 || t->f[i].off != pin[k].off)
			print_error("scheme %u IE %u: offset %d, want %u\n", pin[k].scheme, pin[k].ie, i < 0 ? -1 : t->f[i].off,
			            pin[k].off);
		assert_true(i >= 0);
		assert_int_equal(t->f[i].off, pin[k].off);
		/* the common part */
		assert_int_equal(t->f[0].ie, IE_deltaFlowCount);
		assert_int_equal(t->f[3].ie, IE_flowStartSysUpTime);
		assert_int_equal(t->f[4].ie, IE_flowEndSysUpTime);
	}
}

static void test_bad_scheme(void **state)
{
	(void)state;
	/* a header naming a scheme without a layout (Catalyst 6, unknown 15) */
	static const unsigned bad[] = { 0, 6, 7, 8, 15, 255 };
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		uint8_t m[28 + 40] = { 0, 8, 0, 1 };
		m[22] = (uint8_t)bad[k];
		m[23] = 2;
		struct nf_iter it;
		assert_int_equal(nf_iter_init(&it, m, sizeof(m), NULL), ERR_UNSUPP);
		assert_int_equal(nf_iter_ecode(&it), NF_E_V8_SCHEME);
		assert_null(nf8_tmpl(bad[k]));
	}
	/* an exporter refuses a scheme without a layout */
	struct memtp *tp = memtp_new(28);
	struct exporter_cfg cfg;
	exporter_cfg_init(&cfg, 8);
	cfg.agg_scheme = 6;
	char err[200];
	assert_null(exporter_new(&cfg, &tp->base, err, sizeof(err)));
	transport_close(&tp->base);
}

static void test_count_too_big(void **state)
{
	(void)state;
	/* count 52 in an AS packet holding 52 records: the 52 come out, then the error */
	size_t len = 28 + 52 * 28;
	uint8_t *m = calloc(1, len);
	m[1] = 8;
	m[3] = 52;
	m[22] = 1;
	m[23] = 2;
	struct nf_iter it;
	struct nf_item item;
	int rc = nf_iter_init(&it, m, len, NULL);
	assert_int_equal(rc, ERR_OK);
	unsigned got = 0;
	while ((rc = nf_iter_next(&it, &item)) == ERR_OK)
		got++;
	assert_int_equal(got, 52);
	assert_int_equal(nf_iter_ecode(&it), NF_E_COUNT);
	free(m);
}

/* The collector: each scheme a stream of its own (sequence judged per
 * cache), the header's sampling interval applied with --unsample, the
 * prefixes in the address columns. */
struct cgot {
	size_t n;
	struct crec r[64];
};

static void cout(void *arg, const struct crec *r)
{
	struct cgot *g = arg;
	if (g->n < 64) {
		g->r[g->n] = *r;
		g->r[g->n].t = NULL;
		g->r[g->n].raw = NULL;
	}
	g->n++;
}

static void test_collector(void **state)
{
	(void)state;
	struct coll_cfg ccfg;
	coll_cfg_init(&ccfg);
	ccfg.unsample = true;
	char err[200];
	struct coll *c = coll_new(&ccfg, err, sizeof(err));
	assert_non_null(c);
	struct cgot g = { 0 };
	coll_set_output(c, cout, &g);
	static const unsigned sch[2] = { NF8_PREFIX, NF8_SRC_PREFIX };
	struct memtp *tp[2];
	struct exporter *ex[2];
	int h[2];
	struct genrec_layout lay[2];
	for (int k = 0; k < 2; k++) {
		tp[k] = memtp_new(28);
		struct exporter_cfg cfg;
		exporter_cfg_init(&cfg, 8);
		cfg.start_us = T0;
		cfg.agg_scheme = (uint8_t)sch[k];
		cfg.sampling_interval = 100;
		cfg.sampling_mode = 2;
		cfg.flush_ms = 1;
		ex[k] = exporter_new(&cfg, &tp[k]->base, err, sizeof(err));
		assert_non_null(ex[k]);
		layout_of(nf8_tmpl(sch[k]), &lay[k]);
		h[k] = exporter_add_tmpl(ex[k], &lay[k], err, sizeof(err));
		assert_true(h[k] >= 0);
	}
	/* three messages per scheme, interleaved as one exporter sends them */
	for (unsigned m = 0; m < 3; m++)
		for (int k = 0; k < 2; k++) {
			const struct tmpl *t = nf8_tmpl(sch[k]);
			struct genrec_val v[GENREC_FIELDS_MAX];
			uint8_t a[2][4];
			memset(v, 0, sizeof(v));
			for (unsigned f = 0; f < t->nfields; f++) {
				uint16_t ie = t->f[f].ie;
				if (ie == IE_flowStartSysUpTime || ie == IE_flowEndSysUpTime)
					v[f].u = T0 + 1000000;
				else if (ie == IE_sourceIPv4Prefix || ie == IE_destinationIPv4Prefix) {
					poke_u32(a[ie == IE_destinationIPv4Prefix], (uint32_t)val(ie, m));
					v[f].p = a[ie == IE_destinationIPv4Prefix];
				} else
					v[f].u = val(ie, m);
			}
			struct genrec gr = { .lay = &lay[k], .v = v };
			assert_int_equal(exporter_add_genrec(ex[k], h[k], &gr, T0 + 2000000), ERR_OK);
			exporter_flush(ex[k], T0 + 2000000);
			struct memtp_msg *mm = &tp[k]->msg[tp[k]->n - 1];
			struct lsn_msg lm = { .p = mm->p, .len = mm->len, .recv_us = T0, .transport = LSN_T_UDP };
			lm.peer.af = 4;
			lm.peer.addr[0] = 127;
			lm.peer.addr[3] = 1;
			coll_message(c, &lm, T0);
		}
	struct coll_stats st;
	coll_totals(c, &st);
	assert_int_equal(st.records, 6);
	assert_int_equal(st.malformed, 0);
	assert_int_equal(st.seq_lost, 0);
	assert_int_equal(st.seq_ooo, 0);
	assert_int_equal(g.n, 6);
	for (unsigned i = 0; i < 6; i++) {
		const struct crec *r = &g.r[i];
		unsigned k = i % 2, m = i / 2;
		assert_int_equal(r->version, 8);
		assert_int_equal(r->domain, sch[k] << 16);
		assert_int_equal(r->sampling, 100);
		assert_int_equal(r->f.packets, 100 * val(IE_packetDeltaCount, m));
		assert_int_equal(peek_u32(r->f.key.src), val(IE_sourceIPv4Prefix, m));
		assert_int_equal(r->f.src_mask, val(IE_sourceIPv4PrefixLength, m));
		if (sch[k] == NF8_PREFIX) {
			assert_int_equal(peek_u32(r->f.key.dst), val(IE_destinationIPv4Prefix, m));
			assert_int_equal(r->f.dst_mask, val(IE_destinationIPv4PrefixLength, m));
		}
	}
	for (int k = 0; k < 2; k++) {
		exporter_free(ex[k]);
		transport_close(&tp[k]->base);
	}
	coll_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schemes),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_bad_scheme),
		cmocka_unit_test(test_count_too_big),
		cmocka_unit_test(test_collector),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
