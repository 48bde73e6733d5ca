/* test_collect_sink.c — the sink table and the JSON lines / CSV sinks:
 * exact text for every value type, names (catalog, enterprise "ePEN:N",
 * v9 scope names, unknown "ieN", duplicates "#2", padding left out),
 * JSON string escaping and invalid UTF-8, derived times and sampling,
 * CSV columns, short raw records, the null sink and unknown schemes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include <math.h>
#include <string.h>
#include <unistd.h>

#include "collect/sink.h"
#include "export/ie.h"
#include "lib/bytes.h"

static char path[] = "/tmp/ipflow-test-sink.XXXXXX";

static char *slurp(const char *p)
{
	FILE *f = fopen(p, "rb");
	assert_non_null(f);
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static char *one(const char *scheme, const struct crec *r)
{
	char spec[128], err[256];
	snprintf(spec, sizeof(spec), "%s:%s", scheme, path);
	struct sink *s = sink_open(spec, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(sink_write(s, r), 0);
	assert_int_equal(s->st.records, 1);
	sink_close(s);
	return slurp(path);
}

static void base(struct crec *r, const struct tmpl *t, const uint8_t *raw, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->exporter[0] = 192, r->exporter[1] = 0, r->exporter[2] = 2, r->exporter[3] = 1;
	r->exporter_af = 4;
	r->version = 10;
	r->domain = 7;
	r->tmpl_id = t ? t->id : 0;
	r->sampling = 1;
	r->t = t;
	r->raw = raw;
	r->rawlen = len;
	r->f.end = FLOW_END_MAX;
}

#define F(ie, len) { ie, len, 0, 0 }

static void test_json_types(void **state)
{
	(void)state;
	static const struct tmpl_field f[] = {
		F(IE_sourceIPv4Address, 4), F(IE_sourceIPv6Address, 16), F(IE_sourceMacAddress, 6),
		F(IE_octetDeltaCount, 4),     /* reduced size: the collector's value is shown */
		F(IE_paddingOctets, 3),       /* left out */
		F(IE_interfaceName, IE_VARLEN),
		{ 12235, 2, 9, 0 },           /* enterprise 9 */
		F(999, 2),                    /* not in the catalog */
		F(IE_flowStartMilliseconds, 8), F(IE_flowStartSeconds, 4),
		F(IE_flowEndMicroseconds, 8),
		F(IE_protocolIdentifier, 1), F(IE_protocolIdentifier, 1), /* duplicate */
		F(IE_samplingInterval, 4),
	};
	struct tmpl t;
	assert_int_equal(tmpl_init(&t, 300, f, sizeof(f) / sizeof(f[0]), 0), ERR_OK);
	uint8_t raw[128];
	size_t n = 0;
	uint8_t a4[4] = { 10, 0, 0, 1 };
	memcpy(raw + n, a4, 4), n += 4;
	memset(raw + n, 0, 16), raw[n] = 0x20, raw[n + 1] = 0x01, raw[n + 2] = 0x0d, raw[n + 3] = 0xb8,
		raw[n + 15] = 5, n += 16;
	uint8_t mac[6] = { 0, 0x1b, 0x21, 0xaa, 0xbb, 0xcc };
	memcpy(raw + n, mac, 6), n += 6;
	poke_u32(raw + n, 1234), n += 4;
	memset(raw + n, 0xee, 3), n += 3;
	raw[n++] = 5;
	memcpy(raw + n, "eth\"0", 5), n += 5;
	poke_u16(raw + n, 0xbeef), n += 2;
	poke_u16(raw + n, 0x0102), n += 2;
	poke_u64(raw + n, 1700000000123ull), n += 8;
	poke_u32(raw + n, 1700000000), n += 4;
	poke_u64(raw + n, ie_ntp_from_us(1700000000654321ull)), n += 8;
	raw[n++] = 6;
	raw[n++] = 17;
	poke_u32(raw + n, 0), n += 4;
	struct crec r;
	base(&r, &t, raw, n);
	r.f.bytes = 5678; /* e.g. unsampled */
	r.f.first_us = 1u;
	r.sampling = 8;
	const char *want =
		"{\"exporterIPv4Address\":\"192.0.2.1\",\"observationDomainId\":7,\"templateId\":300,\"netflowVersion\":10,"
		"\"sourceIPv4Address\":\"10.0.0.1\",\"sourceIPv6Address\":\"2001:db8::5\","
		"\"sourceMacAddress\":\"00:1b:21:aa:bb:cc\",\"octetDeltaCount\":5678,"
		"\"interfaceName\":\"eth\\\"0\",\"e9:12235\":\"0xbeef\",\"ie999\":\"0x0102\","
		"\"flowStartMilliseconds\":1700000000123,\"flowStartSeconds\":1700000000,"
		"\"flowEndMicroseconds\":1700000000654321,\"protocolIdentifier\":6,\"protocolIdentifier#2\":17,"
		"\"samplingInterval\":0}\n";
	assert_string_equal(one("jsonl", &r), want);
}

static void test_json_strings_and_floats(void **state)
{
	(void)state;
	static const struct tmpl_field f[] = {
		F(IE_applicationName, IE_VARLEN), F(IE_VRFname, IE_VARLEN), F(IE_wlanSSID, 8),
		F(IE_applicationId, IE_VARLEN),
	};
	struct tmpl t;
	assert_int_equal(tmpl_init(&t, 301, f, 4, 0), ERR_OK);
	uint8_t raw[128];
	size_t n = 0;
	static const uint8_t s1[] = { 'a', '\\', '\n', 0x01, 0xc3, 0xa9 }; /* ends in "é" */
	raw[n++] = sizeof(s1);
	memcpy(raw + n, s1, sizeof(s1)), n += sizeof(s1);
	static const uint8_t s2[] = { 'x', 0xff, 'y' }; /* not UTF-8 */
	raw[n++] = sizeof(s2);
	memcpy(raw + n, s2, sizeof(s2)), n += sizeof(s2);
	memcpy(raw + n, "lab\0\0\0\0\0", 8), n += 8; /* NUL padded */
	raw[n++] = 255; /* 3-byte varlen prefix (RFC 7011 §7) */
	poke_u16(raw + n, 2), n += 2;
	raw[n++] = 0x03, raw[n++] = 0x50;
	struct crec r;
	base(&r, &t, raw, n);
	r.tmpl_id = 301;
	const char *want =
		"{\"exporterIPv4Address\":\"192.0.2.1\",\"observationDomainId\":7,\"templateId\":301,\"netflowVersion\":10,"
		"\"applicationName\":\"a\\\\\\u000a\\u0001\xc3\xa9\",\"VRFname\":\"0x78ff79\",\"wlanSSID\":\"lab\","
		"\"applicationId\":\"0x0350\"}\n";
	assert_string_equal(one("jsonl", &r), want);
}

static void test_json_v9_and_derived(void **state)
{
	(void)state;
	/* a v9 options record: scope types are named, not looked up as IEs */
	static const struct tmpl_field fo[] = { { 1, 4, 0, 0 }, { 2, 2, 0, 0 }, { 9, 4, 0, 0 }, F(34, 4) };
	struct tmpl t;
	assert_int_equal(tmpl_init(&t, 256, fo, 4, 3), ERR_OK);
	t.flags = TMPL_F_V9;
	uint8_t raw[32] = { 1, 2, 3, 4, 0, 9, 0, 0, 0, 1, 0, 0, 0, 100 };
	struct crec r;
	base(&r, &t, raw, 14);
	r.version = 9;
	const char *want =
		"{\"exporterIPv4Address\":\"192.0.2.1\",\"observationDomainId\":7,\"templateId\":256,\"netflowVersion\":9,"
		"\"scopeSystem\":\"0x01020304\",\"scopeInterface\":\"0x0009\",\"scope9\":\"0x00000001\","
		"\"samplingInterval\":100}\n";
	assert_string_equal(one("jsonl", &r), want);
	/* a v9 data record with sysUpTime times: absolute times derived; the rate too */
	static const struct tmpl_field fd[] = { F(8, 4), F(2, 4), F(22, 4), F(21, 4) };
	assert_int_equal(tmpl_init(&t, 257, fd, 4, 0), ERR_OK);
	t.flags = TMPL_F_V9;
	uint8_t raw2[16] = { 10, 1, 1, 1, 0, 0, 0, 5, 0, 0, 1, 0, 0, 0, 2, 0 };
	base(&r, &t, raw2, 16);
	r.version = 9;
	r.f.packets = 500;
	r.f.first_us = 1700000000001000ull;
	r.f.last_us = 1700000000002999ull;
	r.sampling = 100;
	want = "{\"exporterIPv4Address\":\"192.0.2.1\",\"observationDomainId\":7,\"templateId\":257,\"netflowVersion\":9,"
	       "\"sourceIPv4Address\":\"10.1.1.1\",\"packetDeltaCount\":500,\"flowStartSysUpTime\":256,"
	       "\"flowEndSysUpTime\":512,\"flowStartMilliseconds\":1700000000001,\"flowEndMilliseconds\":1700000000002,"
	       "\"samplingInterval\":100}\n";
	assert_string_equal(one("jsonl", &r), want);
	/* a raw record shorter than its template: the fields that fit, no more */
	base(&r, &t, raw2, 6);
	r.version = 9;
	want = "{\"exporterIPv4Address\":\"192.0.2.1\",\"observationDomainId\":7,\"templateId\":257,\"netflowVersion\":9,"
	       "\"sourceIPv4Address\":\"10.1.1.1\"}\n";
	assert_string_equal(one("jsonl", &r), want);
}

static void test_json_floats_bools_signed(void **state)
{
	(void)state;
	/* no float/boolean/signed IEs needed from the catalog: build rows by id */
	const struct ie_info *fl = NULL, *bo = NULL, *sg = NULL;
	for (size_t i = 0; i < ie_count(); i++) {
		const struct ie_info *e = ie_at(i);
		if (!fl && e->type == IE_T_F64)
			fl = e;
		if (!bo && e->type == IE_T_BOOL)
			bo = e;
		if (!sg && (e->type == IE_T_I32 || e->type == IE_T_I64 || e->type == IE_T_I16 || e->type == IE_T_I8))
			sg = e;
	}
	struct tmpl_field f[3];
	size_t nf = 0;
	if (fl)
		f[nf++] = (struct tmpl_field){ fl->id, 8, 0, 0 };
	if (bo)
		f[nf++] = (struct tmpl_field){ bo->id, 1, 0, 0 };
	if (sg)
		f[nf++] = (struct tmpl_field){ sg->id, 2, 0, 0 };
	if (!nf)
		return; /* the catalog has none of these types: nothing to test here */
	struct tmpl t;
	assert_int_equal(tmpl_init(&t, 302, f, nf, 0), ERR_OK);
	uint8_t raw[16];
	size_t n = 0;
	if (fl) {
		double d = NAN;
		uint64_t b;
		memcpy(&b, &d, 8);
		poke_u64(raw + n, b), n += 8;
	}
	if (bo)
		raw[n++] = 2;
	if (sg)
		poke_u16(raw + n, 0xfffe), n += 2;
	struct crec r;
	base(&r, &t, raw, n);
	const char *s = one("jsonl", &r);
	if (fl)
		assert_non_null(strstr(s, ":null"));
	if (bo)
		assert_non_null(strstr(s, ":false"));
	if (sg)
		assert_non_null(strstr(s, ":-2"));
}

/* Decimal formatting at the edges (the fast path splits at 2^32 and 10^8). */
static void test_numbers(void **state)
{
	(void)state;
	static const struct tmpl_field f[] = { F(IE_octetDeltaCount, 8) };
	struct tmpl t;
	assert_int_equal(tmpl_init(&t, 303, f, 1, 0), ERR_OK);
	static const struct { uint64_t v; const char *s; } cases[] = {
		{ 0, "0" }, { 9, "9" }, { 10, "10" }, { 99, "99" }, { 100, "100" }, { 4294967295u, "4294967295" },
		{ 4294967296ull, "4294967296" }, { 100000000ull, "100000000" }, { 10000000000000000ull, "10000000000000000" },
		{ 18446744073709551615ull, "18446744073709551615" }, { 1700000000654321ull, "1700000000654321" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t raw[8] = { 0 };
		struct crec r;
		base(&r, &t, raw, 8);
		r.f.bytes = cases[i].v;
		char want[256];
		snprintf(want, sizeof(want),
		         "{\"exporterIPv4Address\":\"192.0.2.1\",\"observationDomainId\":7,\"templateId\":303,"
		         "\"netflowVersion\":10,\"octetDeltaCount\":%s}\n", cases[i].s);
		assert_string_equal(one("jsonl", &r), want);
	}
}

static void test_csv_and_null(void **state)
{
	(void)state;
	struct crec r;
	base(&r, NULL, NULL, 0);
	r.version = 5;
	r.domain = 0x0102;
	r.sampling = 10;
	r.f.key.af = 4;
	r.f.key.src[0] = 10, r.f.key.src[3] = 1;
	r.f.key.dst[0] = 10, r.f.key.dst[3] = 2;
	r.f.key.proto = 17;
	r.f.packets = 3;
	r.f.bytes = 300;
	r.f.first_us = 1700000000000000ull;
	r.f.last_us = 1700000001000000ull;
	char *s = one("csv", &r);
	char *nl = strchr(s, '\n');
	assert_non_null(nl);
	*nl = 0;
	static const char hdr[] = "exporter,netflowVersion,observationDomainId,templateId,samplingInterval,sourceIPv4Address,";
	assert_true(strncmp(s, hdr, sizeof(hdr) - 1) == 0);
	assert_non_null(strstr(s, ",flowEndReason"));
	char *row = nl + 1;
	static const char lead[] = "192.0.2.1,5,258,0,10,10.0.0.1,,10.0.0.2,";
	assert_true(strncmp(row, lead, sizeof(lead) - 1) == 0);
	assert_non_null(strstr(row, ",3,300,1700000000000,1700000001000,"));
	assert_true(row[strlen(row) - 2] == ','); /* flowEndReason unknown: empty */
	/* options records have no CSV columns */
	struct tmpl t;
	static const struct tmpl_field fo[] = { F(IE_observationDomainId, 4), F(IE_samplingInterval, 4) };
	assert_int_equal(tmpl_init(&t, 400, fo, 2, 1), ERR_OK);
	uint8_t raw[8] = { 0 };
	base(&r, &t, raw, 8);
	char err[256], spec[128];
	snprintf(spec, sizeof(spec), "csv:%s", path);
	struct sink *k = sink_open(spec, err, sizeof(err));
	assert_non_null(k);
	sink_write(k, &r);
	assert_int_equal(k->st.records, 0);
	sink_close(k);
	/* null: counts */
	k = sink_open("null:", err, sizeof(err));
	assert_non_null(k);
	for (int i = 0; i < 5; i++)
		sink_write(k, &r);
	assert_int_equal(k->st.records, 5);
	assert_int_equal(k->st.written, 5);
	sink_tick(k, 0);
	sink_close(k);
	sink_close(NULL);
	/* unknown schemes and the store not built in */
	assert_null(sink_open("kafkaX:foo", err, sizeof(err)));
	assert_null(sink_open("nocolon", err, sizeof(err)));
	assert_null(sink_open("jsonl:", err, sizeof(err)));
	assert_null(sink_open("jsonl:/nonexistent-dir/x", err, sizeof(err)));
	/* merged with the file store: dir: exists; a directory that cannot be made fails */
	assert_null(sink_open("dir:/proc/nonexistent/x", err, sizeof(err)));
	assert_true(strlen(err) > 0);
}

/* A failing write (a full device) is counted, never silent. */
static void test_write_errors(void **state)
{
	(void)state;
	if (access("/dev/full", W_OK) != 0)
		return;
	char err[256];
	struct sink *k = sink_open("jsonl:/dev/full", err, sizeof(err));
	assert_non_null(k);
	struct crec r;
	base(&r, NULL, NULL, 0);
	for (int i = 0; i < 3; i++)
		sink_write(k, &r);
	sink_tick(k, 0);
	assert_int_equal(k->st.dropped, 3);
	assert_true(k->st.errors >= 1);
	assert_true(k->err[0] != 0);
	sink_close(k);
}

int main(void)
{
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_types),
		cmocka_unit_test(test_json_strings_and_floats),
		cmocka_unit_test(test_json_v9_and_derived),
		cmocka_unit_test(test_json_floats_bools_signed),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_csv_and_null),
		cmocka_unit_test(test_write_errors),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(path);
	return rc;
}
