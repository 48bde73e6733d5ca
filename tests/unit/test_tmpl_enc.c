/* test_tmpl_enc.c — the compiled flowrec writer (tmpl_enc) writes exactly
 * the bytes tmpl_put_flowrec writes, and counts the same saturations: for
 * every built-in template (v1, v5, v7 fixed layouts; v9 and IPFIX IPv4
 * and IPv6, milliseconds and microseconds) and for random templates of
 * catalog fields at random lengths, over random records whose values
 * straddle every width. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "export/export.h"
#include "export/ie.h"
#include "export/tmpl_enc.h"
#include "lib/err.h"

static uint64_t rng = 88172645463325252ULL;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* a value that is small, near a width's edge, or anything */
static uint64_t val(void)
{
	static const uint64_t edge[] = { 0, 1, 0xff, 0x100, 0xffff, 0x10000, 0xffffffffull, 0x100000000ull, ~0ull };
	switch (rnd() % 4) {
	case 0: return edge[rnd() % (sizeof(edge) / sizeof(edge[0]))];
	case 1: return rnd() & 0xffff;
	default: return rnd() >> (rnd() % 64);
	}
}

static void random_rec(struct flowrec *r)
{
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < 16; i++) {
		r->key.src[i] = (uint8_t)rnd();
		r->key.dst[i] = (uint8_t)rnd();
		r->nexthop[i] = (uint8_t)rnd();
		r->bgp_nexthop[i] = (uint8_t)rnd();
	}
	r->key.sport = (uint16_t)val();
	r->key.dport = (uint16_t)val();
	r->key.af = rnd() & 1 ? 4 : 6;
	static const uint8_t protos[] = { 1, 6, 17, 58, 47 };
	r->key.proto = protos[rnd() % 5];
	r->key.tos = (uint8_t)rnd();
	r->key.dir = rnd() & 1;
	r->key.ifindex = (uint32_t)val();
	r->packets = val();
	r->bytes = val();
	r->first_us = 1700000000000000ull + (rnd() % 1000000000000ull);
	r->last_us = r->first_us + rnd() % 100000000ull;
	r->if_out = (uint32_t)val();
	r->src_as = (uint32_t)val();
	r->dst_as = (uint32_t)val();
	r->tcp_flags = (uint8_t)rnd();
	r->min_ttl = (uint8_t)rnd();
	r->max_ttl = (uint8_t)rnd();
	r->src_mask = (uint8_t)(rnd() % 129);
	r->dst_mask = (uint8_t)(rnd() % 129);
	r->end = (uint8_t)(rnd() % FLOW_END_MAX);
	r->min_len = (uint16_t)val();
	r->max_len = (uint16_t)val();
}

static void same_bytes(const struct tmpl *t, int nrec)
{
	struct tmpl_enc e;
	assert_int_equal(tmpl_enc_init(&e, t), ERR_OK);
	uint8_t a[70000], b[70000];
	for (int i = 0; i < nrec; i++) {
		struct flowrec r;
		random_rec(&r);
		struct wbuf wa, wb;
		wbuf_init(&wa, a, sizeof(a));
		wbuf_init(&wb, b, sizeof(b));
		memset(a, 0xa5, sizeof(a));
		memset(b, 0x5a, sizeof(b));
		struct rec_enc ca = { .boot_us = 1699999990000000ull, .router_sc = 0x0a000001 }, cb = ca;
		assert_int_equal(tmpl_put_flowrec(&wa, t, &r, &ca), ERR_OK);
		assert_int_equal(tmpl_enc_put(&wb, &e, &r, &cb), ERR_OK);
		assert_int_equal(wa.len, wb.len);
		assert_int_equal(wa.len, t->minlen);
		if (memcmp(a, b, wa.len) != 0) {
			size_t off = 0;
			while (a[off] == b[off])
				off++;
			unsigned fi = 0;
			while (fi + 1 < t->nfields && t->f[fi + 1].off <= off)
				fi++;
			fail_msg("template %u: record %d differs at byte %zu (field %u: IE %u, length %u, pen %u)", t->id, i,
			         off, fi, t->f[fi].ie, t->f[fi].len, t->f[fi].pen);
		}
		assert_int_equal(ca.saturated, cb.saturated);
	}
	/* no room: nothing written, as tmpl_put_flowrec */
	uint8_t small[4];
	struct wbuf w;
	wbuf_init(&w, small, t->minlen > 1 ? t->minlen - 1u : 0);
	struct flowrec r;
	random_rec(&r);
	struct rec_enc c = { 0 };
	assert_int_equal(tmpl_enc_put(&w, &e, &r, &c), ERR_NOSPACE);
	assert_int_equal(w.len, 0);
}

static void test_builtin(void **state)
{
	(void)state;
	const struct nf_codec *fixed[] = { &nf1_codec, &nf5_codec, &nf7_codec };
	for (size_t i = 0; i < 3; i++)
		same_bytes(fixed[i]->fixed, 3000);
	const struct nf_codec *sets[] = { &nf9_codec, &ipfix_codec };
	for (size_t i = 0; i < 2; i++)
		for (unsigned fl = 0; fl <= NF_F_TIME_US; fl++) {
			struct tmpl t4, t6, opt;
			assert_int_equal(sets[i]->build_tmpls(&t4, &t6, &opt, fl), ERR_OK);
			same_bytes(&t4, 3000);
			same_bytes(&t6, 3000);
		}
}

static void test_random_templates(void **state)
{
	(void)state;
	static const uint16_t ies[] = {
		IE_sourceIPv4Address, IE_sourceIPv6Address, IE_destinationIPv4Address, IE_destinationIPv6Address,
		IE_ipNextHopIPv4Address, IE_ipNextHopIPv6Address, IE_sourceTransportPort, IE_destinationTransportPort,
		IE_icmpTypeCodeIPv4, IE_icmpTypeCodeIPv6, IE_protocolIdentifier, IE_ipClassOfService, IE_flowDirection,
		IE_ingressInterface, IE_egressInterface, IE_ipVersion, IE_packetDeltaCount, IE_octetDeltaCount,
		IE_bgpSourceAsNumber, IE_bgpDestinationAsNumber, IE_tcpControlBits, IE_minimumTTL, IE_maximumTTL,
		IE_sourceIPv4PrefixLength, IE_destinationIPv6PrefixLength, IE_minimumIpTotalLength,
		IE_maximumIpTotalLength, IE_flowEndReason, IE_flowStartSysUpTime, IE_flowEndSysUpTime,
		IE_flowStartSeconds, IE_flowEndMilliseconds, IE_flowStartMicroseconds, IE_flowDurationMilliseconds,
		IE_systemInitTimeMilliseconds, IE_ipv4RouterSc, IE_paddingOctets,
	};
	static const uint16_t lens[] = { 1, 2, 3, 4, 6, 8, 12, 16 };
	for (int k = 0; k < 400; k++) {
		struct tmpl_field f[40];
		size_t n = 1 + rnd() % 40;
		for (size_t i = 0; i < n; i++) {
			f[i] = (struct tmpl_field){ .ie = ies[rnd() % (sizeof(ies) / sizeof(ies[0]))],
			                            .len = lens[rnd() % 8], .pen = rnd() % 10 == 0 ? 9 : 0 };
		}
		struct tmpl t;
		assert_int_equal(tmpl_init(&t, 300, f, n, 0), ERR_OK);
		same_bytes(&t, 50);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin),
		cmocka_unit_test(test_random_templates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
