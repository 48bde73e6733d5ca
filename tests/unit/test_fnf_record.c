/* test_fnf_record.c — the configuration's flow record fields as flexible
 * cache fields: every field of the catalog (conf_fields.c) is metered,
 * with a length its IE allows and a NetFlow v9 type; the built-in records;
 * the errors a record can give. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "export/ie.h"
#include "lib/err.h"
#include "meter/fnf_record.h"

static void test_every_field_mapped(void **state)
{
	for (size_t i = 0; i < conf_field_count; i++) {
		const struct conf_field_def *cf = &conf_field_table[i];
		const struct fnf_field_map *m = fnf_field_map(cf->words);
		if (!m)
			fail_msg("'%s' has no metering", cf->words);
		const struct ie_info *ie = ie_by_id(cf->ie);
		assert_non_null(ie);
		if (!ie_len_ok((enum ie_type)ie->type, m->len))
			fail_msg("'%s': length %u not allowed for %s (%s)", cf->words, m->len, ie->name,
			         ie_type_name((enum ie_type)ie->type));
		if (!ie->v9)
			fail_msg("'%s': %s has no NetFlow v9 type", cf->words, ie->name);
		/* as a key when allowed, always as a collect field */
		struct fnf_def d;
		fnf_def_init(&d, 0);
		if (cf->key_ok) {
			assert_int_equal(fnf_def_add(&d, cf->ie, m->len, (enum fnf_src)m->src, FNF_KEY), ERR_OK);
		} else {
			/* the parser refuses collect-only fields as keys; the cache itself
			 * refuses the record's own counters and times */
			assert_int_equal(fnf_def_add(&d, IE_protocolIdentifier, 1, FNF_S_PROTO, FNF_KEY), ERR_OK);
			if (m->src >= FNF_S_PACKETS)
				assert_int_equal(fnf_def_add(&d, cf->ie, m->len, (enum fnf_src)m->src, FNF_KEY), ERR_ARG);
		}
		if (fnf_def_add(&d, cf->ie, m->len, (enum fnf_src)m->src, (enum fnf_op)m->op) != ERR_OK)
			fail_msg("'%s' cannot be collected", cf->words);
		assert_int_equal(fnf_def_finish(&d), ERR_OK);
	}
	assert_null(fnf_field_map("ipv4 nonsense"));
}

static struct conf *parse(const char *text)
{
	struct conf *c = conf_parse_text(text, strlen(text), "t.conf", NULL, NULL);
	assert_non_null(c);
	return c;
}

static void test_builtins(void **state)
{
	static const char *const names[] = {
		CONF_RECORD_NETFLOW_ORIGINAL, CONF_RECORD_NETFLOW_IPV4_ORIG_IN, CONF_RECORD_NETFLOW_IPV4_ORIG_OUT,
		CONF_RECORD_NETFLOW_IPV6_ORIG_IN, CONF_RECORD_NETFLOW_IPV6_ORIG_OUT,
	};
	struct conf *c = parse("!\n");
	char err[256];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct fnf_def d;
		assert_true(fnf_record_builtin(names[i]));
		assert_int_equal(fnf_record_def(c, names[i], &d, err, sizeof(err)), 0);
		assert_true(d.nkey >= 8);
		/* the words for show follow the definition */
		for (size_t k = 0; k < d.n; k++) {
			const char *w = fnf_record_words(c, names[i], k);
			assert_non_null(w);
			const struct fnf_field_map *m = fnf_field_map(w);
			assert_non_null(m);
			assert_int_equal(m->src, d.f[k].src);
		}
		assert_null(fnf_record_words(c, names[i], d.n));
		assert_true(d.flags & FNF_D_TCP_END); /* the traditional key holds both ports */
	}
	/* original-input: interface input is a key, output collected; -output the other way */
	struct fnf_def in, out;
	assert_int_equal(fnf_record_def(c, CONF_RECORD_NETFLOW_IPV4_ORIG_IN, &in, err, sizeof(err)), 0);
	assert_int_equal(fnf_record_def(c, CONF_RECORD_NETFLOW_IPV4_ORIG_OUT, &out, err, sizeof(err)), 0);
	bool in_key = false, out_key = false;
	for (unsigned k = 0; k < in.nkey; k++)
		in_key |= in.f[k].src == FNF_S_IF_IN;
	for (unsigned k = 0; k < out.nkey; k++)
		out_key |= out.f[k].src == FNF_S_IF_OUT;
	assert_true(in_key && out_key);
	assert_false(fnf_record_builtin("R1"));
	conf_free(c);
}

static void test_records_and_errors(void **state)
{
	struct conf *c = parse("flow record R\n match ipv4 source address\n match transport source-port\n"
	                       " collect counter bytes\n collect timestamp sys-uptime first\n ipflow bucket ttl\n"
	                       "flow record EMPTY\n collect counter packets\n");
	struct fnf_def d;
	char err[256];
	assert_int_equal(fnf_record_def(c, "R", &d, err, sizeof(err)), 0);
	assert_int_equal(d.n, 4);
	assert_int_equal(d.nkey, 2);
	assert_int_equal(d.key_len, 6);
	assert_int_equal(d.f[2].ie, IE_octetDeltaCount);
	assert_int_equal(d.f[2].len, 4);
	assert_int_equal(d.lay.f[3].kind, GENREC_TIME);
	assert_int_equal(d.flags & FNF_D_BUCKET_TTL, FNF_D_BUCKET_TTL);
	assert_false(d.flags & FNF_D_TCP_END); /* one port only */
	assert_string_equal(fnf_record_words(c, "R", 1), "transport source-port");
	assert_string_equal(fnf_record_words(c, "R", 3), "timestamp sys-uptime first");
	assert_null(fnf_record_words(c, "NOPE", 0));
	assert_int_equal(fnf_record_def(c, "EMPTY", &d, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "% Flow Record EMPTY has no match fields"));
	assert_int_equal(fnf_record_def(c, "NOPE", &d, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "% Flow Record NOPE does not exist"));
	conf_free(c);
	/* a key too large for the cache */
	char text[4096] = "flow record BIG\n";
	static const char *const v6[] = { "ipv6 source address", "ipv6 destination address" };
	for (int i = 0; i < 2; i++) {
		strcat(text, " match ");
		strcat(text, v6[i]);
		strcat(text, "\n");
	}
	c = parse(text);
	assert_int_equal(fnf_record_def(c, "BIG", &d, err, sizeof(err)), 0);
	assert_int_equal(d.key_len, 32);
	conf_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_field_mapped),
		cmocka_unit_test(test_builtins),
		cmocka_unit_test(test_records_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
