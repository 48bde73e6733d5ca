/* test_export_ie.c — the field catalog: order, uniqueness, lookups, the
 * elements the exporters rely on, and the value formatter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "export/ie.h"

static void test_sorted_unique(void **state)
{
	(void)state;
	assert_true(ie_count() >= 200);
	for (size_t i = 0; i < ie_count(); i++) {
		const struct ie_info *e = ie_at(i);
		if (i)
			assert_true(ie_at(i - 1)->id < e->id);
		assert_ptr_equal(ie_by_id(e->id), e);
		assert_ptr_equal(ie_by_name(e->name), e);
		assert_true(e->type < IE_T_MAX_);
		assert_true(e->len == IE_VARLEN || ie_len_ok((enum ie_type)e->type, e->len));
		if (e->v9)
			assert_ptr_equal(ie_by_v9(e->v9), e);
	}
	assert_null(ie_at(ie_count()));
	assert_null(ie_by_id(0));
	assert_null(ie_by_id(65));
	assert_null(ie_by_name("noSuchElement"));
	assert_null(ie_by_v9(0));
}

/* The elements the brief names, with their IANA ids and types. */
static void test_required(void **state)
{
	(void)state;
	static const struct { uint16_t id; const char *name; enum ie_type t; } req[] = {
		{ 1, "octetDeltaCount", IE_T_U64 }, { 2, "packetDeltaCount", IE_T_U64 },
		{ 8, "sourceIPv4Address", IE_T_IPV4 }, { 27, "sourceIPv6Address", IE_T_IPV6 },
		{ 21, "flowEndSysUpTime", IE_T_U32 }, { 22, "flowStartSysUpTime", IE_T_U32 },
		{ 25, "minimumIpTotalLength", IE_T_U64 }, { 26, "maximumIpTotalLength", IE_T_U64 },
		{ 32, "icmpTypeCodeIPv4", IE_T_U16 }, { 139, "icmpTypeCodeIPv6", IE_T_U16 },
		{ 34, "samplingInterval", IE_T_U32 }, { 35, "samplingAlgorithm", IE_T_U8 },
		{ 41, "exportedMessageTotalCount", IE_T_U64 },
		{ 42, "exportedFlowRecordTotalCount", IE_T_U64 },
		{ 52, "minimumTTL", IE_T_U8 }, { 53, "maximumTTL", IE_T_U8 },
		{ 56, "sourceMacAddress", IE_T_MAC }, { 61, "flowDirection", IE_T_U8 },
		{ 82, "interfaceName", IE_T_STRING }, { 136, "flowEndReason", IE_T_U8 },
		{ 144, "exportingProcessId", IE_T_U32 }, { 149, "observationDomainId", IE_T_U32 },
		{ 152, "flowStartMilliseconds", IE_T_DT_MS }, { 153, "flowEndMilliseconds", IE_T_DT_MS },
		{ 154, "flowStartMicroseconds", IE_T_DT_US }, { 155, "flowEndMicroseconds", IE_T_DT_US },
		{ 315, "dataLinkFrameSection", IE_T_OCTETS },
	};
	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		const struct ie_info *e = ie_by_id(req[i].id);
		assert_non_null(e);
		assert_string_equal(e->name, req[i].name);
		assert_int_equal(e->type, req[i].t);
	}
	assert_int_equal(IE_flowEndReason, 136);
	assert_string_equal(ie_type_name(IE_T_DT_MS), "dateTimeMilliseconds");
	/* every v9 type 1..104 that RFC 3954 defines maps back */
	for (uint16_t t = 1; t <= 42; t++)
		assert_non_null(ie_by_v9(t));
	assert_int_equal(ie_by_id(15)->len, 4);
	assert_int_equal(ie_by_id(82)->len, IE_VARLEN);
}

static void fmt(uint16_t id, const void *p, size_t n, const char *want)
{
	char out[128];
	int r = ie_format(out, sizeof(out), ie_by_id(id), p, n);
	assert_string_equal(out, want);
	assert_int_equal(r, (int)strlen(want));
}

static void test_format(void **state)
{
	(void)state;
	fmt(8, "\xc0\xa8\x01\x02", 4, "192.168.1.2");
	fmt(27, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16, "2001:db8::1");
	fmt(1, "\0\0\0\0\0\0\x01\x00", 8, "256");
	fmt(1, "\x01\x00", 2, "256"); /* reduced-size encoding */
	fmt(7, "\x01\xbb", 2, "443");
	fmt(56, "\x00\x11\x22\xaa\xbb\xcc", 6, "00:11:22:aa:bb:cc");
	fmt(82, "eth0\n", 5, "eth0\\x0a");
	fmt(152, "\x00\x00\x01\x8b\xcf\xe5\x68\x00", 8, "2023-11-14T22:13:20.000Z");
	fmt(150, "\x65\x53\xf1\x00", 4, "2023-11-14T22:13:20Z");
	fmt(315, "\xde\xad", 2, "0xdead");
	fmt(8, "\x01\x02", 2, "0x0102"); /* wrong length: shown raw */
	char out[8];
	int r = ie_format(out, sizeof(out), ie_by_id(27), (const uint8_t *)"\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	assert_int_equal(r, 11);
	assert_string_equal(out, "2001:db");
	r = ie_format(out, sizeof(out), NULL, (const uint8_t *)"\x01\x02", 2);
	assert_string_equal(out, "0x0102");
	uint8_t ntp[8];
	uint64_t us = 1700000000123456ull, v = ie_ntp_from_us(us);
	for (int i = 0; i < 8; i++)
		ntp[i] = (uint8_t)(v >> (56 - 8 * i));
	fmt(154, ntp, 8, "2023-11-14T22:13:20.123456Z");
}

static void test_ntp(void **state)
{
	(void)state;
	for (uint64_t us = 1600000000000000ull; us < 1600000000000000ull + 3000000; us += 997)
		assert_int_equal(ie_ntp_to_us(ie_ntp_from_us(us)), us);
	assert_int_equal(ie_ntp_from_us(0) >> 32, 2208988800u);
}

static void test_len_ok(void **state)
{
	(void)state;
	assert_true(ie_len_ok(IE_T_U64, 1));
	assert_true(ie_len_ok(IE_T_U64, 8));
	assert_false(ie_len_ok(IE_T_U64, 9));
	assert_false(ie_len_ok(IE_T_U16, 3));
	assert_false(ie_len_ok(IE_T_IPV4, 3));
	assert_true(ie_len_ok(IE_T_F64, 4));
	assert_true(ie_len_ok(IE_T_STRING, 0));
	assert_false(ie_len_ok(IE_T_MAX_, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sorted_unique),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_ntp),
		cmocka_unit_test(test_len_ok),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
