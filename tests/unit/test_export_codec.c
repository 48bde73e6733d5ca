/* test_export_codec.c — wire formats: round trips for every format and
 * field, golden messages built with msgbuild.h, counter splitting,
 * sequence numbers, and the decoders on truncated and malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "export_fixture.h"

static void expect_fields(const struct flowrec *a, const struct flowrec *b, unsigned mask)
{
	unsigned alen = a->key.af == 6 ? 16 : 4;
	if (mask & FX_KEY) {
		assert_int_equal(a->key.af, b->key.af);
		assert_memory_equal(a->key.src, b->key.src, alen);
		assert_memory_equal(a->key.dst, b->key.dst, alen);
		assert_int_equal(a->key.sport, b->key.sport);
		assert_int_equal(a->key.dport, b->key.dport);
		assert_int_equal(a->key.proto, b->key.proto);
		assert_int_equal(a->key.tos, b->key.tos);
		assert_int_equal(a->tcp_flags, b->tcp_flags);
	}
	if (mask & FX_IF) {
		assert_int_equal(a->key.ifindex, b->key.ifindex);
		assert_int_equal(a->if_out, b->if_out);
	}
	if (mask & FX_NH)
		assert_memory_equal(a->nexthop, b->nexthop, alen);
	if (mask & FX_COUNT) {
		assert_int_equal(a->packets, b->packets);
		assert_int_equal(a->bytes, b->bytes);
	}
	if (mask & FX_TIME) {
		assert_int_equal(a->first_us, b->first_us);
		assert_int_equal(a->last_us, b->last_us);
	}
	if (mask & FX_AS) {
		assert_int_equal(a->src_as, b->src_as);
		assert_int_equal(a->dst_as, b->dst_as);
	}
	if (mask & FX_MASK) {
		assert_int_equal(a->src_mask, b->src_mask);
		assert_int_equal(a->dst_mask, b->dst_mask);
	}
	if (mask & FX_EXTRA) {
		assert_int_equal(a->min_ttl, b->min_ttl);
		assert_int_equal(a->max_ttl, b->max_ttl);
		assert_int_equal(a->min_len, b->min_len);
		assert_int_equal(a->max_len, b->max_len);
		assert_int_equal(a->key.dir, b->key.dir);
		assert_int_equal(a->end, b->end);
	}
}

/* Encode n records (alternating families if af == 0) and decode them. */
static void roundtrip(int version, int af, unsigned flags, unsigned mask, unsigned n)
{
	struct memtp *tp = memtp_new(28);
	struct exporter_cfg cfg;
	exporter_cfg_init(&cfg, version);
	cfg.start_us = T0;
	cfg.flags = flags;
	struct exporter *ex = exporter_new(&cfg, &tp->base, NULL, 0);
	assert_non_null(ex);
	struct flowrec *in = calloc(n, sizeof(*in));
	for (unsigned i = 0; i < n; i++) {
		fx_rec(&in[i], af ? af : (i % 3 == 2 ? 6 : 4), i);
		assert_int_equal(exporter_add(ex, &in[i], T0 + 100000000), ERR_OK);
	}
	exporter_flush(ex, T0 + 100000000);
	struct fx_decoded d = { 0 };
	fx_decode_all(tp, &d);
	assert_int_equal(d.rc, ERR_OK);
	assert_int_equal(d.n, n);
	for (unsigned i = 0; i < n; i++)
		expect_fields(&in[i], &d.rec[i], mask);
	assert_int_equal(exporter_stats(ex)->records, n);
	assert_int_equal(exporter_stats(ex)->flows_failed, 0);
	fx_decoded_free(&d);
	free(in);
	exporter_free(ex);
	transport_close(&tp->base);
}

static void test_roundtrip_v1(void **state) { (void)state; roundtrip(1, 4, 0, FX_V1, 100); }
static void test_roundtrip_v5(void **state) { (void)state; roundtrip(5, 4, 0, FX_V5, 100); }
static void test_roundtrip_v7(void **state) { (void)state; roundtrip(7, 4, 0, FX_V5, 100); }
static void test_roundtrip_v9_v4(void **state) { (void)state; roundtrip(9, 4, 0, FX_ALL, 100); }
static void test_roundtrip_v9_v6(void **state) { (void)state; roundtrip(9, 6, 0, FX_ALL, 100); }
static void test_roundtrip_v9_mixed(void **state) { (void)state; roundtrip(9, 0, 0, FX_ALL, 200); }
static void test_roundtrip_ipfix_v4(void **state) { (void)state; roundtrip(10, 4, 0, FX_ALL, 100); }
static void test_roundtrip_ipfix_v6(void **state) { (void)state; roundtrip(10, 6, 0, FX_ALL, 100); }
static void test_roundtrip_ipfix_mixed(void **state) { (void)state; roundtrip(10, 0, 0, FX_ALL, 200); }
static void test_roundtrip_ipfix_us(void **state)
{
	(void)state;
	roundtrip(10, 0, EXPORTER_F_TIME_US, FX_ALL, 50);
}

/* Every end reason survives v9/IPFIX except "immediate" (forcedEnd, like shutdown). */
static void test_end_reasons(void **state)
{
	(void)state;
	for (int e = 0; e < FLOW_END_MAX; e++) {
		struct memtp *tp = memtp_new(28);
		struct exporter *ex = fx_exporter(10, tp, 0);
		struct flowrec r;
		fx_rec(&r, 4, 1);
		r.end = (uint8_t)e;
		exporter_add(ex, &r, T0);
		exporter_flush(ex, T0);
		struct fx_decoded d = { 0 };
		fx_decode_all(tp, &d);
		assert_int_equal(d.n, 1);
		assert_int_equal(d.rec[0].end, e == FLOW_END_IMMEDIATE ? FLOW_END_SHUTDOWN : e);
		fx_decoded_free(&d);
		exporter_free(ex);
		transport_close(&tp->base);
	}
}

/* ICMP: dport carries type*256+code; icmpTypeCode goes out too. */
static void test_icmp(void **state)
{
	(void)state;
	struct memtp *tp = memtp_new(28);
	struct exporter *ex = fx_exporter(10, tp, 0);
	struct flowrec r;
	fx_rec(&r, 4, 1);
	r.key.proto = 1;
	r.key.sport = 0;
	r.key.dport = 8 * 256 + 0;
	exporter_add(ex, &r, T0);
	exporter_flush(ex, T0);
	struct fx_decoded d = { 0 };
	fx_decode_all(tp, &d);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.rec[0].key.dport, 2048);
	fx_decoded_free(&d);
	exporter_free(ex);
	transport_close(&tp->base);
}

/* Times survive every format to the ms when nothing is whole: the
 * exporter starts and sends at odd microseconds, and a record ends after
 * the whole second a v9 header names (its sysUptime is that second's). A
 * collector computes header time - sysUptime + flowStartSysUpTime, so the
 * header clock must be aligned with the sysUptime base (exporter.h). */
static void times_unaligned(int version)
{
	const uint64_t start = T0 + 123457, send = T0 + 7891234;
	struct memtp *tp = memtp_new(28);
	struct exporter_cfg cfg;
	exporter_cfg_init(&cfg, version);
	cfg.start_us = start;
	struct exporter *ex = exporter_new(&cfg, &tp->base, NULL, 0);
	assert_non_null(ex);
	struct flowrec in[3];
	const uint64_t first[3] = { start, start + 999, T0 + 2000001 };
	const uint64_t last[3] = { start + 1, T0 + 7000999, send - 1 }; /* 7.000999, 7.891233 */
	for (int i = 0; i < 3; i++) {
		fx_rec(&in[i], 4, (unsigned)i);
		in[i].first_us = first[i];
		in[i].last_us = last[i];
		assert_int_equal(exporter_add(ex, &in[i], send), ERR_OK);
	}
	exporter_flush(ex, send);
	struct fx_decoded d = { 0 };
	fx_decode_all(tp, &d);
	assert_int_equal(d.rc, ERR_OK);
	assert_int_equal(d.n, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(d.rec[i].first_us / 1000, first[i] / 1000);
		assert_int_equal(d.rec[i].last_us / 1000, last[i] / 1000);
	}
	fx_decoded_free(&d);
	exporter_free(ex);
	transport_close(&tp->base);
}

static void test_times_unaligned_v1(void **state) { (void)state; times_unaligned(1); }
static void test_times_unaligned_v5(void **state) { (void)state; times_unaligned(5); }
static void test_times_unaligned_v7(void **state) { (void)state; times_unaligned(7); }
static void test_times_unaligned_v9(void **state) { (void)state; times_unaligned(9); }
static void test_times_unaligned_ipfix(void **state) { (void)state; times_unaligned(10); }

/* The ICMP type/code field itself (not only the port it mirrors): v9
 * carries it in ICMP_TYPE (32) for both families, IPFIX in
 * icmpTypeCodeIPv4 (32) / icmpTypeCodeIPv6 (139). */
static void icmp_field(int version, int af, uint16_t want_ie)
{
	struct memtp *tp = memtp_new(28);
	struct exporter *ex = fx_exporter(version, tp, 0);
	struct flowrec r;
	fx_rec(&r, af, 1);
	r.key.proto = af == 4 ? 1 : 58;
	r.key.sport = 0;
	r.key.dport = af == 4 ? 3 * 256 + 13 : 1 * 256 + 4;
	exporter_add(ex, &r, T0);
	exporter_flush(ex, T0);
	assert_int_equal(tp->n, 1);
	struct tmpl_store_mem mem;
	tmpl_store_mem_init(&mem, 4);
	struct tmpl_store ts = tmpl_store_mem_iface(&mem);
	struct nf_iter it;
	struct nf_item item;
	int rc = nf_iter_init(&it, tp->msg[0].p, tp->msg[0].len, &ts), found = 0;
	while (rc == ERR_OK && (rc = nf_iter_next(&it, &item)) == ERR_OK) {
		if (item.kind != NF_ITEM_DATA)
			continue;
		struct rec_iter ri;
		struct rec_field f;
		rec_iter_init(&ri, item.t, item.p, item.len);
		while (rec_iter_next(&ri, &f) == ERR_OK) {
			assert_false(f.ie == 139 && want_ie == 32); /* one ICMP field only */
			if (f.ie == want_ie) {
				assert_int_equal(f.len, 2);
				assert_int_equal(f.p[0] << 8 | f.p[1], r.key.dport);
				found = 1;
			}
		}
	}
	assert_int_equal(rc, ERR_END);
	assert_true(found);
	tmpl_store_mem_free(&mem);
	exporter_free(ex);
	transport_close(&tp->base);
}

static void test_icmp_field_v9(void **state)
{
	(void)state;
	icmp_field(9, 4, 32);
	icmp_field(9, 6, 32);
}

static void test_icmp_field_ipfix(void **state)
{
	(void)state;
	icmp_field(10, 4, 32);
	icmp_field(10, 6, 139);
}

static void test_v6_not_exportable(void **state)
{
	(void)state;
	static const int versions[] = { 1, 5, 7 };
	for (size_t v = 0; v < 3; v++) {
		struct memtp *tp = memtp_new(28);
		struct exporter *ex = fx_exporter(versions[v], tp, 0);
		struct flowrec r;
		fx_rec(&r, 6, 1);
		assert_int_equal(exporter_add(ex, &r, T0), ERR_UNSUPP);
		fx_rec(&r, 4, 1);
		assert_int_equal(exporter_add(ex, &r, T0), ERR_OK);
		exporter_flush(ex, T0);
		const struct exporter_stats *st = exporter_stats(ex);
		assert_int_equal(st->flows, 2);
		assert_int_equal(st->not_exportable, 1);
		assert_int_equal(st->records, 1);
		exporter_free(ex);
		transport_close(&tp->base);
	}
}

/* v5 counters are 32 bits: a bigger flow is split, the sums kept. */
static void test_split_counters(void **state)
{
	(void)state;
	static const int versions[] = { 1, 5, 7 };
	for (size_t v = 0; v < 3; v++) {
		struct memtp *tp = memtp_new(28);
		struct exporter *ex = fx_exporter(versions[v], tp, 0);
		struct flowrec r;
		fx_rec(&r, 4, 1);
		r.packets = 5000000000ull;      /* 2 pieces by packets */
		r.bytes = 3 * 4294967295ull + 7; /* 4 pieces by bytes */
		assert_int_equal(exporter_add(ex, &r, T0 + 100000000), ERR_OK);
		exporter_flush(ex, T0 + 100000000);
		struct fx_decoded d = { 0 };
		fx_decode_all(tp, &d);
		assert_int_equal(d.n, 4);
		uint64_t p = 0, b = 0;
		for (size_t i = 0; i < d.n; i++) {
			p += d.rec[i].packets;
			b += d.rec[i].bytes;
			assert_true(d.rec[i].bytes <= 0xffffffffu);
			expect_fields(&r, &d.rec[i], FX_KEY | FX_TIME);
		}
		assert_int_equal(p, r.packets);
		assert_int_equal(b, r.bytes);
		assert_int_equal(exporter_stats(ex)->split_records, 3);
		assert_int_equal(exporter_stats(ex)->records, 4);
		fx_decoded_free(&d);
		exporter_free(ex);
		transport_close(&tp->base);
	}
	/* v9/IPFIX carry 64-bit counters: no split */
	struct memtp *tp = memtp_new(28);
	struct exporter *ex = fx_exporter(9, tp, 0);
	struct flowrec r;
	fx_rec(&r, 4, 1);
	r.bytes = 1ull << 40;
	exporter_add(ex, &r, T0);
	exporter_flush(ex, T0);
	struct fx_decoded d = { 0 };
	fx_decode_all(tp, &d);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.rec[0].bytes, 1ull << 40);
	assert_int_equal(exporter_stats(ex)->split_records, 0);
	fx_decoded_free(&d);
	exporter_free(ex);
	transport_close(&tp->base);
}

/* 4-byte AS in v5's 2-byte field: AS_TRANS; ifIndex > 65535 saturates, counted. */
static void test_v5_narrow_fields(void **state)
{
	(void)state;
	struct memtp *tp = memtp_new(28);
	struct exporter *ex = fx_exporter(5, tp, 0);
	struct flowrec r;
	fx_rec(&r, 4, 1);
	r.src_as = 4200000000u;
	r.key.ifindex = 70000;
	exporter_add(ex, &r, T0);
	exporter_flush(ex, T0);
	struct fx_decoded d = { 0 };
	fx_decode_all(tp, &d);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.rec[0].src_as, 23456);
	assert_int_equal(d.rec[0].dst_as, r.dst_as);
	assert_int_equal(d.rec[0].key.ifindex, 65535);
	assert_int_equal(exporter_stats(ex)->saturated, 1);
	fx_decoded_free(&d);
	exporter_free(ex);
	transport_close(&tp->base);
}

/* Header sequence numbers: v5 counts flows, v9 packets, IPFIX data records. */
static void test_sequence_numbers(void **state)
{
	(void)state;
	static const struct { int version; unsigned per_msg; } cases[] = {
		{ 5, 30 }, { 7, 27 /* 28 would need 1480 bytes: more than 1500 - 28 */ }, { 9, 0 }, { 10, 0 },
	};
	for (size_t c = 0; c < 4; c++) {
		struct memtp *tp = memtp_new(28);
		struct exporter *ex = fx_exporter(cases[c].version, tp, 0);
		struct flowrec r;
		for (unsigned i = 0; i < 200; i++) {
			fx_rec(&r, 4, i);
			exporter_add(ex, &r, T0);
		}
		exporter_flush(ex, T0);
		assert_true(tp->n >= 3);
		uint32_t expect = 0;
		struct tmpl_store_mem mem;
		tmpl_store_mem_init(&mem, 8);
		struct tmpl_store ts = tmpl_store_mem_iface(&mem);
		for (size_t m = 0; m < tp->n; m++) {
			struct nf_iter it;
			struct nf_item item;
			assert_int_equal(nf_iter_init(&it, tp->msg[m].p, tp->msg[m].len, &ts), ERR_OK);
			assert_int_equal(it.hdr.seq, expect);
			unsigned data = 0, recs = 0;
			int rc;
			while ((rc = nf_iter_next(&it, &item)) == ERR_OK) {
				if (item.kind == NF_ITEM_DATA)
					data++;
				if (item.kind == NF_ITEM_DATA || item.kind == NF_ITEM_TMPL)
					recs++;
			}
			assert_int_equal(rc, ERR_END);
			if (cases[c].version != 10)
				assert_int_equal(it.hdr.count, recs); /* v9: templates count too */
			if (cases[c].per_msg && m + 1 < tp->n)
				assert_int_equal(data, cases[c].per_msg);
			expect += cases[c].version == 9 ? 1 : data;
		}
		tmpl_store_mem_free(&mem);
		exporter_free(ex);
		transport_close(&tp->base);
	}
}

/* ---- golden messages, built from the RFC layouts ---- */

static void test_golden_v5(void **state)
{
	(void)state;
	struct memtp *tp = memtp_new(28);
	struct exporter_cfg cfg;
	exporter_cfg_init(&cfg, 5);
	cfg.start_us = T0;
	cfg.engine_type = 1;
	cfg.engine_id = 2;
	cfg.sampling_mode = 1;
	cfg.sampling_interval = 100;
	struct exporter *ex = exporter_new(&cfg, &tp->base, NULL, 0);
	struct flowrec r;
	fx_rec(&r, 4, 1);
	exporter_add(ex, &r, T0 + 60000000 + 250000);
	exporter_flush(ex, T0 + 60000000 + 250000);
	assert_int_equal(tp->n, 1);

	struct mb m;
	mb_init(&m);
	mb_u16(&m, 5);             /* version */
	mb_u16(&m, 1);             /* count */
	mb_u32(&m, 60250);         /* SysUptime ms */
	mb_u32(&m, 1700000060);    /* unix_secs */
	mb_u32(&m, 250000000);     /* unix_nsecs */
	mb_u32(&m, 0);             /* flow_sequence */
	mb_u8(&m, 1);              /* engine_type */
	mb_u8(&m, 2);              /* engine_id */
	mb_u16(&m, 0x4000 | 100);  /* sampling_interval: mode 1, 1 in 100 */
	mb_ipv4(&m, 10, 1, 0, 1);  /* srcaddr */
	mb_ipv4(&m, 192, 168, 7, 9);  /* dstaddr */
	mb_ipv4(&m, 172, 16, 0, 1);   /* nexthop */
	mb_u16(&m, 3);             /* input */
	mb_u16(&m, 7);             /* output */
	mb_u32(&m, 11);            /* dPkts */
	mb_u32(&m, 16500);         /* dOctets */
	mb_u32(&m, 5001);          /* First */
	mb_u32(&m, 7346);          /* Last */
	mb_u16(&m, 1025);          /* srcport */
	mb_u16(&m, 443);           /* dstport */
	mb_u8(&m, 0);              /* pad1 */
	mb_u8(&m, 0x1b);           /* tcp_flags */
	mb_u8(&m, 6);              /* prot */
	mb_u8(&m, 0x2e);           /* tos */
	mb_u16(&m, 64512);         /* src_as */
	mb_u16(&m, 65001);         /* dst_as */
	mb_u8(&m, 24);             /* src_mask */
	mb_u8(&m, 16);             /* dst_mask */
	mb_u16(&m, 0);             /* pad2 */
	assert_int_equal(tp->msg[0].len, m.len);
	assert_memory_equal(tp->msg[0].p, m.buf, m.len);
	exporter_free(ex);
	transport_close(&tp->base);
}

/* (IE id, length) of the IPv4 templates, straight from the IANA numbers. */
static const uint16_t v9_t4[][2] = {
	{ 8, 4 }, { 12, 4 }, { 15, 4 }, { 7, 2 }, { 11, 2 }, { 4, 1 }, { 5, 1 }, { 6, 1 },
	{ 10, 4 }, { 14, 4 }, { 2, 8 }, { 1, 8 }, { 22, 4 }, { 21, 4 }, { 16, 4 }, { 17, 4 },
	{ 9, 1 }, { 13, 1 }, { 52, 1 }, { 53, 1 }, { 25, 2 }, { 26, 2 }, { 61, 1 }, { 136, 1 },
	{ 32, 2 },
};

static void mb_v4_record(struct mb *m, int ipfix)
{
	mb_ipv4(m, 10, 1, 0, 1);
	mb_ipv4(m, 192, 168, 7, 9);
	mb_ipv4(m, 172, 16, 0, 1);
	mb_u16(m, 1025);
	mb_u16(m, 443);
	mb_u8(m, 6);
	mb_u8(m, 0x2e);
	if (ipfix)
		mb_u16(m, 0x1b); /* tcpControlBits: 2 bytes in IPFIX (RFC 7125) */
	else
		mb_u8(m, 0x1b);
	mb_u32(m, 3);
	mb_u32(m, 7);
	mb_u64(m, 11);
	mb_u64(m, 16500);
	if (ipfix) {
		mb_u64(m, T0 / 1000 + 5001);        /* flowStartMilliseconds */
		mb_u64(m, T0 / 1000 + 5001 + 2345); /* flowEndMilliseconds */
	} else {
		mb_u32(m, 5001);                    /* flowStartSysUpTime */
		mb_u32(m, 7346);                    /* flowEndSysUpTime */
	}
	mb_u32(m, 64512);
	mb_u32(m, 65001);
	mb_u8(m, 24);
	mb_u8(m, 16);
	mb_u8(m, 60);
	mb_u8(m, 64);
	mb_u16(m, 40);
	mb_u16(m, 1500);
	mb_u8(m, 1);   /* flowDirection egress */
	mb_u8(m, 3);   /* flowEndReason endOfFlowDetected */
	mb_u16(m, 0);  /* icmpTypeCodeIPv4 */
}

/* The IPv6 template differs in the address/mask/icmp IEs (v9 keeps
 * ICMP_TYPE, 32, for ICMPv6: RFC 3954 has no other; IPFIX uses 139). */
static uint16_t v6_ie(uint16_t ie, int ipfix)
{
	if (ie == 32)
		return ipfix ? 139 : 32;
	switch (ie) {
	case 8: return 27;
	case 12: return 28;
	case 15: return 62;
	case 9: return 29;
	case 13: return 30;
	default: return ie;
	}
}

static void mb_templates(struct mb *m, int ipfix)
{
	for (uint16_t t = 256; t <= 257; t++) {
		mb_u16(m, t);
		mb_u16(m, 25);
		for (size_t i = 0; i < 25; i++) {
			uint16_t ie = t == 257 ? v6_ie(v9_t4[i][0], ipfix) : v9_t4[i][0];
			uint16_t len = v9_t4[i][1];
			if (len == 4 && t == 257 && (ie == 27 || ie == 28 || ie == 62))
				len = 16;
			if (ipfix && ie == 6)
				len = 2;
			if (ipfix && ie == 22)
				ie = 152, len = 8;
			if (ipfix && ie == 21)
				ie = 153, len = 8;
			mb_u16(m, ie);
			mb_u16(m, len);
		}
	}
}

static void test_golden_v9(void **state)
{
	(void)state;
	struct memtp *tp = memtp_new(28);
	struct exporter *ex = fx_exporter(9, tp, 0);
	struct flowrec r;
	fx_rec(&r, 4, 1);
	exporter_add(ex, &r, T0 + 60000000);
	exporter_flush(ex, T0 + 60000000);
	assert_int_equal(tp->n, 1);
	struct mb m;
	mb_init(&m);
	mb_v9_hdr(&m, 3, 60000, 1700000060, 0, 77);
	mb_set_begin(&m, 0);
	mb_templates(&m, 0);
	mb_set_end(&m, 4);
	mb_set_begin(&m, 256);
	mb_v4_record(&m, 0);
	mb_set_end(&m, 4); /* 71-byte record: 1 byte of padding */
	assert_int_equal(tp->msg[0].len, m.len);
	assert_memory_equal(tp->msg[0].p, m.buf, m.len);
	exporter_free(ex);
	transport_close(&tp->base);
}

static void test_golden_ipfix(void **state)
{
	(void)state;
	struct memtp *tp = memtp_new(28);
	struct exporter *ex = fx_exporter(10, tp, 0);
	struct flowrec r;
	fx_rec(&r, 4, 1);
	exporter_add(ex, &r, T0 + 60000000);
	exporter_add(ex, &r, T0 + 60000000);
	exporter_flush(ex, T0 + 60000000);
	assert_int_equal(tp->n, 1);
	struct mb m;
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000060, 0, 77);
	mb_set_begin(&m, 2);
	mb_templates(&m, 1);
	mb_set_end(&m, 1);
	mb_set_begin(&m, 256);
	mb_v4_record(&m, 1);
	mb_v4_record(&m, 1);
	mb_set_end(&m, 1); /* IPFIX: no padding */
	mb_ipfix_end(&m);
	assert_int_equal(tp->msg[0].len, m.len);
	assert_memory_equal(tp->msg[0].p, m.buf, m.len);
	exporter_free(ex);
	transport_close(&tp->base);
}

/* ---- decoders on foreign and malformed input ---- */

static int decode_buf(const uint8_t *p, size_t len, const struct tmpl_store *ts, unsigned *data,
                      struct nf_iter *it)
{
	struct nf_item item;
	int rc = nf_iter_init(it, p, len, ts);
	*data = 0;
	while (rc == ERR_OK && (rc = nf_iter_next(it, &item)) == ERR_OK)
		if (item.kind == NF_ITEM_DATA)
			(*data)++;
	return rc;
}

/* Variable-length and enterprise fields, padding, withdrawal, unknown sets. */
static void test_ipfix_decoder_features(void **state)
{
	(void)state;
	struct tmpl_store_mem mem;
	tmpl_store_mem_init(&mem, 8);
	struct tmpl_store ts = tmpl_store_mem_iface(&mem);
	struct mb m;
	mb_init(&m);
	mb_ipfix_begin(&m, 1700000000, 5, 1);
	mb_set_begin(&m, 2);
	mb_u16(&m, 300); mb_u16(&m, 4);
	mb_u16(&m, 8); mb_u16(&m, 4);           /* sourceIPv4Address */
	mb_u16(&m, 82); mb_u16(&m, 65535);      /* interfaceName, varlen */
	mb_u16(&m, 0x8000 | 99); mb_u16(&m, 2); mb_u32(&m, 9999); /* enterprise field */
	mb_u16(&m, 2); mb_u16(&m, 4);           /* packetDeltaCount, reduced size */
	mb_set_end(&m, 1);
	mb_set_begin(&m, 300);
	mb_ipv4(&m, 1, 2, 3, 4);
	mb_u8(&m, 3); mb_bytes(&m, "eth", 3);
	mb_u16(&m, 0xabcd);
	mb_u32(&m, 42);
	mb_ipv4(&m, 5, 6, 7, 8);
	mb_u8(&m, 255); mb_u16(&m, 300); mb_zeros(&m, 300); /* 3-byte varlen length */
	mb_u16(&m, 1);
	mb_u32(&m, 43);
	mb_zeros(&m, 3); /* padding, shorter than a record */
	mb_set_end(&m, 1);
	mb_set_begin(&m, 999); /* no template: skipped */
	mb_u32(&m, 0);
	mb_set_end(&m, 1);
	mb_set_begin(&m, 2); /* withdrawal of 300 */
	mb_u16(&m, 300); mb_u16(&m, 0);
	mb_set_end(&m, 1);
	mb_ipfix_end(&m);

	struct nf_iter it;
	struct nf_item item;
	assert_int_equal(nf_iter_init(&it, m.buf, m.len, &ts), ERR_OK);
	assert_int_equal(it.hdr.seq, 5);
	assert_int_equal(nf_iter_next(&it, &item), ERR_OK);
	assert_int_equal(item.kind, NF_ITEM_TMPL);
	assert_true(item.t->varlen);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(nf_iter_next(&it, &item), ERR_OK);
		assert_int_equal(item.kind, NF_ITEM_DATA);
		struct flowrec r;
		assert_int_equal(nf_item_flowrec(&it, &item, &r), ERR_OK);
		assert_int_equal(r.packets, 42 + k);
		assert_int_equal(r.key.src[0], k ? 5 : 1);
		struct rec_iter ri;
		struct rec_field f;
		rec_iter_init(&ri, item.t, item.p, item.len);
		assert_int_equal(rec_iter_next(&ri, &f), ERR_OK);
		assert_int_equal(rec_iter_next(&ri, &f), ERR_OK);
		assert_int_equal(f.ie, 82);
		assert_int_equal(f.len, k ? 300 : 3);
		assert_int_equal(rec_iter_next(&ri, &f), ERR_OK);
		assert_int_equal(f.pen, 9999);
		assert_int_equal(f.ie, 99);
		assert_int_equal(rec_iter_next(&ri, &f), ERR_OK);
		assert_int_equal(rec_iter_next(&ri, &f), ERR_END);
	}
	assert_int_equal(nf_iter_next(&it, &item), ERR_OK);
	assert_int_equal(item.kind, NF_ITEM_SKIPPED_SET);
	assert_int_equal(item.set_id, 999);
	assert_int_equal(nf_iter_next(&it, &item), ERR_OK);
	assert_int_equal(item.kind, NF_ITEM_WITHDRAW);
	assert_int_equal(item.tmpl_id, 300);
	assert_null(ts.lookup(ts.ctx, 1, 300));
	assert_int_equal(nf_iter_next(&it, &item), ERR_END);
	assert_int_equal(nf_iter_next(&it, &item), ERR_END);
	tmpl_store_mem_free(&mem);
}

static void test_v9_options_decode(void **state)
{
	(void)state;
	struct tmpl_store_mem mem;
	tmpl_store_mem_init(&mem, 8);
	struct tmpl_store ts = tmpl_store_mem_iface(&mem);
	struct mb m;
	mb_init(&m);
	mb_v9_hdr(&m, 2, 1000, 1700000000, 9, 3);
	mb_set_begin(&m, 1);
	mb_u16(&m, 260); mb_u16(&m, 4); mb_u16(&m, 8); /* scope 4 bytes, options 8 bytes */
	mb_u16(&m, 2); mb_u16(&m, 2);   /* scope: interface, 2 bytes */
	mb_u16(&m, 34); mb_u16(&m, 4);  /* SAMPLING_INTERVAL */
	mb_u16(&m, 35); mb_u16(&m, 1);  /* SAMPLING_ALGORITHM */
	mb_set_end(&m, 4);
	mb_set_begin(&m, 260);
	mb_u16(&m, 5); mb_u32(&m, 100); mb_u8(&m, 2);
	mb_set_end(&m, 4);
	unsigned data;
	struct nf_iter it;
	assert_int_equal(decode_buf(m.buf, m.len, &ts, &data, &it), ERR_END);
	assert_int_equal(data, 1);
	const struct tmpl *t = ts.lookup(ts.ctx, 3, 260);
	assert_non_null(t);
	assert_int_equal(t->scope_count, 1);
	assert_int_equal(t->nfields, 3);
	assert_int_equal(t->minlen, 7);
	tmpl_store_mem_free(&mem);
}

struct bad_case {
	const char *name;
	int ecode;
};

static void test_malformed(void **state)
{
	(void)state;
	struct tmpl_store_mem mem;
	tmpl_store_mem_init(&mem, 8);
	struct tmpl_store ts = tmpl_store_mem_iface(&mem);
	struct mb m;
	unsigned data;
	struct nf_iter it;

	mb_init(&m); /* set length below 4 */
	mb_ipfix_begin(&m, 1, 0, 0);
	mb_u16(&m, 2); mb_u16(&m, 3);
	mb_ipfix_end(&m);
	assert_int_equal(decode_buf(m.buf, m.len, &ts, &data, &it), ERR_FORMAT);
	assert_int_equal(nf_iter_ecode(&it), NF_E_SET_LEN);

	mb_init(&m); /* set length past the message */
	mb_ipfix_begin(&m, 1, 0, 0);
	mb_u16(&m, 2); mb_u16(&m, 40); mb_u32(&m, 0);
	mb_ipfix_end(&m);
	assert_int_equal(decode_buf(m.buf, m.len, &ts, &data, &it), ERR_FORMAT);
	assert_int_equal(nf_iter_ecode(&it), NF_E_SET_LEN);

	mb_init(&m); /* template id < 256 */
	mb_ipfix_begin(&m, 1, 0, 0);
	mb_set_begin(&m, 2); mb_u16(&m, 100); mb_u16(&m, 1); mb_u16(&m, 8); mb_u16(&m, 4); mb_set_end(&m, 1);
	mb_ipfix_end(&m);
	assert_int_equal(decode_buf(m.buf, m.len, &ts, &data, &it), ERR_FORMAT);
	assert_int_equal(nf_iter_ecode(&it), NF_E_TMPL_ID);
	assert_string_equal(nf_iter_err(&it), "template id below 256");

	mb_init(&m); /* options template with scope count 0 */
	mb_ipfix_begin(&m, 1, 0, 0);
	mb_set_begin(&m, 3); mb_u16(&m, 300); mb_u16(&m, 1); mb_u16(&m, 0); mb_u16(&m, 8); mb_u16(&m, 4);
	mb_set_end(&m, 1);
	mb_ipfix_end(&m);
	assert_int_equal(decode_buf(m.buf, m.len, &ts, &data, &it), ERR_FORMAT);
	assert_int_equal(nf_iter_ecode(&it), NF_E_TMPL_BAD);

	mb_init(&m); /* IPFIX length past the datagram */
	mb_ipfix_begin(&m, 1, 0, 0);
	mb_ipfix_end(&m);
	m.buf[3] = 200;
	assert_int_equal(decode_buf(m.buf, m.len, &ts, &data, &it), ERR_TRUNC);
	assert_int_equal(nf_iter_ecode(&it), NF_E_MSG_LEN);

	mb_init(&m); /* v5 count above 30 */
	mb_u16(&m, 5); mb_u16(&m, 31); mb_zeros(&m, 20 + 31 * 48);
	assert_int_equal(decode_buf(m.buf, m.len, &ts, &data, &it), ERR_FORMAT);
	assert_int_equal(nf_iter_ecode(&it), NF_E_COUNT);

	mb_init(&m); /* unknown version */
	mb_u16(&m, 8); mb_zeros(&m, 40);
	assert_int_equal(decode_buf(m.buf, m.len, &ts, &data, &it), ERR_UNSUPP);

	mb_init(&m); /* v9: 3 stray bytes after the last set (zeros would be fill) */
	mb_v9_hdr(&m, 0, 0, 0, 0, 0);
	mb_u8(&m, 1); mb_u8(&m, 2); mb_u8(&m, 3);
	assert_int_equal(decode_buf(m.buf, m.len, &ts, &data, &it), ERR_TRUNC);
	assert_int_equal(nf_iter_ecode(&it), NF_E_SET_SHORT);

	mb_init(&m); /* v9 template flowset: field list past the set */
	mb_v9_hdr(&m, 1, 0, 0, 0, 0);
	mb_set_begin(&m, 0); mb_u16(&m, 256); mb_u16(&m, 3); mb_u16(&m, 8); mb_u16(&m, 4); mb_set_end(&m, 4);
	assert_int_equal(decode_buf(m.buf, m.len, &ts, &data, &it), ERR_TRUNC);
	assert_int_equal(nf_iter_ecode(&it), NF_E_TMPL_SHORT);
	tmpl_store_mem_free(&mem);
}

/* Every cut of a valid message: an error or END, never a read past the cut
 * (the cut is copied into an exact-size heap block for ASan). */
static void truncate_all(int version, int af)
{
	struct memtp *tp = memtp_new(28);
	struct exporter_cfg cfg;
	exporter_cfg_init(&cfg, version);
	cfg.start_us = T0;
	cfg.export_stats = version >= 9;
	struct exporter *ex = exporter_new(&cfg, &tp->base, NULL, 0);
	assert_non_null(ex);
	struct flowrec r;
	for (unsigned i = 0; i < 5; i++) {
		fx_rec(&r, af == 0 ? (i & 1 ? 6 : 4) : af, i);
		exporter_add(ex, &r, T0);
	}
	exporter_flush(ex, T0);
	assert_int_equal(tp->n, 1);
	const struct memtp_msg *msg = &tp->msg[0];
	struct tmpl_store_mem mem;
	tmpl_store_mem_init(&mem, 8);
	struct tmpl_store ts = tmpl_store_mem_iface(&mem);
	unsigned full, data;
	struct nf_iter it;
	assert_int_equal(decode_buf(msg->p, msg->len, &ts, &full, &it), ERR_END);
	assert_int_equal(full, version >= 9 ? 6 : 5);
	for (size_t cut = 0; cut < msg->len; cut++) {
		tmpl_store_mem_free(&mem);
		tmpl_store_mem_init(&mem, 8);
		ts = tmpl_store_mem_iface(&mem);
		uint8_t *p = malloc(cut ? cut : 1);
		memcpy(p, msg->p, cut);
		int rc = decode_buf(p, cut, &ts, &data, &it);
		assert_true(rc == ERR_END || rc < 0);
		assert_true(data <= full);
		if (version != 9) /* v9 has no length field: a cut at a set end is a valid message */
			assert_int_not_equal(rc, ERR_END);
		free(p);
	}
	tmpl_store_mem_free(&mem);
	exporter_free(ex);
	transport_close(&tp->base);
}

static void test_truncated_v1(void **state) { (void)state; truncate_all(1, 4); }
static void test_truncated_v5(void **state) { (void)state; truncate_all(5, 4); }
static void test_truncated_v7(void **state) { (void)state; truncate_all(7, 4); }
static void test_truncated_v9(void **state) { (void)state; truncate_all(9, 0); }
static void test_truncated_ipfix(void **state) { (void)state; truncate_all(10, 0); }

/* The fixed layouts' hand-written offsets agree with tmpl_init's. */
static void test_fixed_layouts(void **state)
{
	(void)state;
	static const int versions[] = { 1, 5, 7 };
	for (size_t v = 0; v < 3; v++) {
		const struct tmpl *f = nf_codec_by_version(versions[v])->fixed;
		struct tmpl t;
		assert_int_equal(tmpl_init(&t, f->id, f->f, f->nfields, 0), ERR_OK);
		assert_int_equal(t.minlen, f->minlen);
		for (unsigned i = 0; i < t.nfields; i++)
			assert_int_equal(t.f[i].off, f->f[i].off);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_v1),
		cmocka_unit_test(test_roundtrip_v5),
		cmocka_unit_test(test_roundtrip_v7),
		cmocka_unit_test(test_roundtrip_v9_v4),
		cmocka_unit_test(test_roundtrip_v9_v6),
		cmocka_unit_test(test_roundtrip_v9_mixed),
		cmocka_unit_test(test_roundtrip_ipfix_v4),
		cmocka_unit_test(test_roundtrip_ipfix_v6),
		cmocka_unit_test(test_roundtrip_ipfix_mixed),
		cmocka_unit_test(test_roundtrip_ipfix_us),
		cmocka_unit_test(test_end_reasons),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_times_unaligned_v1),
		cmocka_unit_test(test_times_unaligned_v5),
		cmocka_unit_test(test_times_unaligned_v7),
		cmocka_unit_test(test_times_unaligned_v9),
		cmocka_unit_test(test_times_unaligned_ipfix),
		cmocka_unit_test(test_icmp_field_v9),
		cmocka_unit_test(test_icmp_field_ipfix),
		cmocka_unit_test(test_v6_not_exportable),
		cmocka_unit_test(test_split_counters),
		cmocka_unit_test(test_v5_narrow_fields),
		cmocka_unit_test(test_sequence_numbers),
		cmocka_unit_test(test_golden_v5),
		cmocka_unit_test(test_golden_v9),
		cmocka_unit_test(test_golden_ipfix),
		cmocka_unit_test(test_ipfix_decoder_features),
		cmocka_unit_test(test_v9_options_decode),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_truncated_v1),
		cmocka_unit_test(test_truncated_v5),
		cmocka_unit_test(test_truncated_v7),
		cmocka_unit_test(test_truncated_v9),
		cmocka_unit_test(test_truncated_ipfix),
		cmocka_unit_test(test_fixed_layouts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
