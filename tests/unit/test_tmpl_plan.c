/* test_tmpl_plan.c — the compiled record reader (tmpl_plan_flowrec, which
 * groups a template's fields by how they are stored) against the
 * field-walking one (tmpl_get_flowrec): the same flowrec, byte for byte,
 * for templates of every mapped IE at every width, for templates that map
 * two fields onto one flowrec field (the last one wins: template order
 * must hold), and for truncated records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "export/export.h"
#include "export/ie.h"
#include "export/template.h"
#include "lib/err.h"

/* The IEs a flowrec carries (template.c field_kind), and some it does not. */
static const uint16_t ies[] = {
	IE_sourceIPv4Address, IE_destinationIPv4Address, IE_ipNextHopIPv4Address, IE_sourceIPv6Address,
	IE_destinationIPv6Address, IE_ipNextHopIPv6Address, IE_sourceTransportPort, IE_destinationTransportPort,
	IE_icmpTypeCodeIPv4, IE_icmpTypeCodeIPv6, IE_protocolIdentifier, IE_ipClassOfService, IE_flowDirection,
	IE_ingressInterface, IE_egressInterface, IE_packetDeltaCount, IE_octetDeltaCount, IE_bgpSourceAsNumber,
	IE_bgpDestinationAsNumber, IE_tcpControlBits, IE_minimumTTL, IE_maximumTTL, IE_sourceIPv4PrefixLength,
	IE_sourceIPv6PrefixLength, IE_destinationIPv4PrefixLength, IE_destinationIPv6PrefixLength,
	IE_minimumIpTotalLength, IE_maximumIpTotalLength, IE_flowEndReason, IE_flowStartSysUpTime,
	IE_flowEndSysUpTime, IE_systemInitTimeMilliseconds, IE_flowStartSeconds, IE_flowEndSeconds,
	IE_flowStartMilliseconds, IE_flowEndMilliseconds, IE_flowStartMicroseconds, IE_flowEndNanoseconds,
	IE_flowStartNanoseconds, IE_flowEndMicroseconds, 1 /* octetDeltaCount's neighbour: not mapped */, 300,
};

static uint64_t rng = 88172645463325252ull;
static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

/* Both readers over one template and record; the plan must be usable. */
static void same(const struct tmpl_field *f, size_t n, const uint8_t *rec, size_t len, const struct rec_dec *c)
{
	static struct tmpl t;
	static struct tmpl_plan pl;
	if (tmpl_init(&t, 256, f, n, 0) != ERR_OK)
		return;
	assert_int_equal(tmpl_plan_init(&pl, &t), ERR_OK);
	struct flowrec a, b;
	memset(&a, 0x5a, sizeof(a));
	memset(&b, 0xa5, sizeof(b));
	int ra = tmpl_get_flowrec(&t, rec, len, c, &a);
	int rb = tmpl_plan_flowrec(&pl, rec, len, c, &b);
	assert_int_equal(ra, rb);
	if (ra == ERR_OK)
		assert_memory_equal(&a, &b, sizeof(a));
}

static void test_random_templates(void **state)
{
	(void)state;
	static const uint16_t widths[] = { 1, 2, 4, 8, 16, 3, 0, 5 };
	uint8_t rec[TMPL_MAX_FIELDS * 16];
	for (unsigned round = 0; round < 20000; round++) {
		struct tmpl_field f[TMPL_MAX_FIELDS];
		size_t n = 1 + next() % 24;
		for (size_t i = 0; i < n; i++) {
			f[i].ie = ies[next() % (sizeof(ies) / sizeof(ies[0]))];
			/* mostly the usual widths, sometimes an odd one */
			f[i].len = next() % 4 ? widths[next() % 5] : widths[next() % 8];
			f[i].pen = next() % 50 == 0 ? 9 : 0;
			f[i].off = 0;
		}
		for (size_t i = 0; i < sizeof(rec); i++)
			rec[i] = (uint8_t)next();
		struct rec_dec c = { .export_us = 1700000000000000ull, .sysup_ms = next(),
		                     .init_us = next() % 2 ? 0 : 1690000000000000ull, .no_sysup = (uint8_t)(next() % 2) };
		size_t len = 0;
		for (size_t i = 0; i < n; i++)
			len += f[i].len;
		same(f, n, rec, len, &c);
		if (len)
			same(f, n, rec, len - 1, &c); /* truncated: both ERR_TRUNC */
	}
}

/* The cases the grouping must not reorder: two IEs onto one field. */
static void test_last_one_wins(void **state)
{
	(void)state;
	uint8_t rec[64];
	for (unsigned i = 0; i < sizeof(rec); i++)
		rec[i] = (uint8_t)(i * 37 + 1);
	struct rec_dec c = { .export_us = 1700000000000000ull, .sysup_ms = 100000 };
	const struct tmpl_field cases[][3] = {
		{ { IE_packetDeltaCount, 4, 0, 0 }, { IE_packetDeltaCount, 8, 0, 0 }, { IE_protocolIdentifier, 1, 0, 0 } },
		{ { IE_packetDeltaCount, 8, 0, 0 }, { IE_packetDeltaCount, 3, 0, 0 }, { IE_protocolIdentifier, 1, 0, 0 } },
		{ { IE_sourceIPv6Address, 16, 0, 0 }, { IE_sourceIPv4Address, 4, 0, 0 }, { IE_protocolIdentifier, 1, 0, 0 } },
		{ { IE_sourceIPv4Address, 4, 0, 0 }, { IE_sourceIPv6Address, 16, 0, 0 }, { IE_protocolIdentifier, 1, 0, 0 } },
		{ { IE_ipNextHopIPv6Address, 16, 0, 0 }, { IE_ipNextHopIPv4Address, 4, 0, 0 }, { IE_tcpControlBits, 1, 0, 0 } },
		{ { IE_flowStartSeconds, 4, 0, 0 }, { IE_flowStartMilliseconds, 8, 0, 0 }, { IE_flowEndSeconds, 4, 0, 0 } },
		{ { IE_destinationTransportPort, 2, 0, 0 }, { IE_icmpTypeCodeIPv4, 2, 0, 0 }, { IE_minimumIpTotalLength, 4, 0, 0 } },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		size_t len = 0;
		for (int i = 0; i < 3; i++)
			len += cases[k][i].len;
		same(cases[k], 3, rec, len, &c);
	}
	/* And the plain result is what the bytes say (not just equal). */
	const struct tmpl_field f[] = { { IE_packetDeltaCount, 4, 0, 0 }, { IE_packetDeltaCount, 8, 0, 0 } };
	static struct tmpl t;
	static struct tmpl_plan pl;
	assert_int_equal(tmpl_init(&t, 256, f, 2, 0), ERR_OK);
	assert_int_equal(tmpl_plan_init(&pl, &t), ERR_OK);
	const uint8_t r2[12] = { 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 1, 2 };
	struct flowrec fr;
	assert_int_equal(tmpl_plan_flowrec(&pl, r2, sizeof(r2), &c, &fr), ERR_OK);
	assert_int_equal(fr.packets, 0x102);
}

/* NetFlow v5's straight-line reader (nf5_codec.fixed_flowrec) against
 * the plan of its fixed template: byte for byte, over random records and
 * header times (sysUpTime either side of First/Last, an init time or
 * none), and ERR_TRUNC for every shorter record. */
static void test_nf5_direct(void **state)
{
	(void)state;
	static struct tmpl_plan pl;
	assert_non_null(nf5_codec.fixed_flowrec);
	assert_int_equal(tmpl_plan_init(&pl, nf5_codec.fixed), ERR_OK);
	uint8_t rec[48];
	for (unsigned round = 0; round < 50000; round++) {
		for (size_t i = 0; i < sizeof(rec); i++)
			rec[i] = (uint8_t)next();
		struct rec_dec c = { .export_us = 1700000000000000ull + next(), .sysup_ms = next(),
		                     .init_us = next() % 4 ? 0 : 1690000000000000ull, .no_sysup = (uint8_t)(next() % 8 == 0) };
		if (round % 3 == 0) /* First/Last just before the header's sysUpTime, as a router sends */
			c.sysup_ms = (uint32_t)(((uint32_t)rec[28] << 24 | (uint32_t)rec[29] << 16 | (uint32_t)rec[30] << 8 | rec[31]) +
			                        next() % 100000);
		struct flowrec a, b;
		memset(&a, 0x5a, sizeof(a));
		memset(&b, 0xa5, sizeof(b));
		assert_int_equal(tmpl_plan_flowrec(&pl, rec, sizeof(rec), &c, &a), ERR_OK);
		assert_int_equal(nf5_codec.fixed_flowrec(rec, sizeof(rec), &c, &b), ERR_OK);
		assert_memory_equal(&a, &b, sizeof(a));
	}
	struct rec_dec c = { .export_us = 1700000000000000ull, .sysup_ms = 100000 };
	struct flowrec b;
	for (size_t len = 0; len < sizeof(rec); len++)
		assert_int_equal(nf5_codec.fixed_flowrec(rec, len, &c, &b), ERR_TRUNC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nf5_direct),
		cmocka_unit_test(test_random_templates),
		cmocka_unit_test(test_last_one_wins),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
