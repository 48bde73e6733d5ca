/* test_export_set.c — the destinations of one cache (export_set.h): each
 * its own export stream (sequence numbers, templates), every record to
 * every destination, IPv6 flows in v5 counted as not exportable, and the
 * counters of "show ip flow export [template]" equal to what went out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "export/export_set.h"
#include "export_fixture.h"
#include "tcp_fixture.h"

struct stream {
	unsigned msgs, flows, opt_recs, tmpls, opt_tmpls;
	uint32_t first_seq, next_seq;
	int gaps;
};

/* Walk an IPFIX File: messages back to back, each with its length. */
static void read_ipfix_file(const char *path, struct stream *s)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static uint8_t buf[1 << 20];
	size_t len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	struct tmpl_store_mem mem;
	tmpl_store_mem_init(&mem, 8);
	struct tmpl_store ts = tmpl_store_mem_iface(&mem);
	memset(s, 0, sizeof(*s));
	for (size_t off = 0; off + 16 <= len;) {
		size_t ml = (size_t)buf[off + 2] << 8 | buf[off + 3];
		assert_true(ml >= 16 && off + ml <= len);
		struct nf_iter it;
		struct nf_item item;
		int rc = nf_iter_init(&it, buf + off, ml, &ts);
		assert_int_equal(rc, ERR_OK);
		if (s->msgs == 0)
			s->first_seq = it.hdr.seq;
		else if (it.hdr.seq != s->next_seq)
			s->gaps++;
		unsigned data = 0;
		while ((rc = nf_iter_next(&it, &item)) == ERR_OK) {
			if (item.kind == NF_ITEM_DATA) {
				data++;
				item.t->scope_count ? s->opt_recs++ : s->flows++;
			} else if (item.kind == NF_ITEM_TMPL) {
				item.t->scope_count ? s->opt_tmpls++ : s->tmpls++;
			}
		}
		assert_int_equal(rc, ERR_END);
		s->next_seq = it.hdr.seq + data;
		s->msgs++;
		off += ml;
	}
	tmpl_store_mem_free(&mem);
}

static char *show(const struct export_set *set, bool tmpl)
{
	char *text = NULL;
	size_t n = 0;
	FILE *out = open_memstream(&text, &n);
	assert_non_null(out);
	if (tmpl)
		export_set_show_template(set, out, false);
	else
		export_set_show(set, out, false);
	fclose(out);
	return text;
}

/* Two file destinations, IPFIX with export statistics: two streams, each
 * from sequence 0 without a gap, each with every record; the show
 * counters are what the files hold. */
static void test_two_streams(void **state)
{
	(void)state;
	char dir[] = "/tmp/ipflow-test-export-set.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char a[64], b[64], spec_a[80], spec_b[80], err[256];
	snprintf(a, sizeof(a), "%s/a.ipfix", dir);
	snprintf(b, sizeof(b), "%s/b.ipfix", dir);
	snprintf(spec_a, sizeof(spec_a), "file:%s", a);
	snprintf(spec_b, sizeof(spec_b), "file:%s", b);
	struct exporter_cfg cfg;
	exporter_cfg_init(&cfg, 10);
	cfg.export_stats = true;
	cfg.tmpl_refresh_pkts = 3; /* refreshes per stream: counted per destination */
	struct export_set *set = export_set_new(&cfg, "main cache");
	assert_non_null(set);
	struct transport_opts to = { 0 };
	assert_int_equal(export_set_add(set, spec_a, &to, err, sizeof(err)), 0);
	assert_int_equal(export_set_add(set, spec_b, &to, err, sizeof(err)), 0);
	assert_int_equal(export_set_count(set), 2);
	export_set_start(set, T0);
	enum { N = 500 };
	for (unsigned i = 0; i < N; i++) {
		struct flowrec r;
		fx_rec(&r, i % 4 == 3 ? 6 : 4, i);
		export_set_record(set, &r, T0 + 10000000 + i);
	}
	export_set_flush(set, T0 + 20000000);
	assert_int_equal(export_set_lost(set), 0);

	struct stream sa, sb;
	read_ipfix_file(a, &sa);
	read_ipfix_file(b, &sb);
	assert_int_equal(sa.flows, N);
	assert_int_equal(sb.flows, N);
	assert_int_equal(sa.first_seq, 0);
	assert_int_equal(sb.first_seq, 0);
	assert_int_equal(sa.gaps, 0);
	assert_int_equal(sb.gaps, 0);

	char *text = show(set, false), want[128];
	snprintf(want, sizeof(want), "    %u flows exported in %u export messages\n", N, sa.msgs);
	assert_non_null(strstr(text, want));
	assert_non_null(strstr(text, "Destination(2) file:"));
	assert_non_null(strstr(text, "    0 flows failed due to lack of export packet\n"));
	free(text);
	text = show(set, true);
	/* both destinations' data templates, options templates and records */
	assert_true(sa.tmpls > 2 && sa.tmpls == sb.tmpls); /* refreshed every 3 messages */
	snprintf(want, sizeof(want),
	         "  Template records sent = %u, option template records sent = %u, option data records sent = %u\n",
	         sa.tmpls + sb.tmpls, sa.opt_tmpls + sb.opt_tmpls, sa.opt_recs + sb.opt_recs);
	assert_non_null(strstr(text, want));
	assert_non_null(strstr(text, "  Template refresh rate = 3\n"));
	free(text);
	export_set_clear(set);
	text = show(set, false);
	assert_non_null(strstr(text, "    0 flows exported in 0 export messages\n"));
	free(text);
	export_set_free(set);
	unlink(a);
	unlink(b);
	rmdir(dir);
}

/* v5 cannot carry IPv6: those flows are counted per destination as not
 * exportable, shown, and reported as lost by the set; the rest go out. */
static void test_v5_not_exportable(void **state)
{
	(void)state;
	char dir[] = "/tmp/ipflow-test-export-set.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char a[64], spec[80], err[256];
	snprintf(a, sizeof(a), "%s/a.v5", dir);
	snprintf(spec, sizeof(spec), "file:%s", a);
	struct exporter_cfg cfg;
	exporter_cfg_init(&cfg, 5);
	struct export_set *set = export_set_new(&cfg, "main cache");
	struct transport_opts to = { 0 };
	assert_int_equal(export_set_add(set, spec, &to, err, sizeof(err)), 0);
	export_set_start(set, T0);
	for (unsigned i = 0; i < 100; i++) {
		struct flowrec r;
		fx_rec(&r, i % 4 == 3 ? 6 : 4, i);
		export_set_record(set, &r, T0 + 10000000);
	}
	export_set_flush(set, T0 + 10000000);
	assert_int_equal(export_set_lost(set), 25);
	char *text = show(set, false);
	assert_non_null(strstr(text, "    75 flows exported in 3 export messages\n"));
	assert_non_null(strstr(text, "    25 flows not exportable in this version (IPv6 in v1/v5/v7)\n"));
	free(text);
	export_set_free(set);
	unlink(a);
	rmdir(dir);
}

/* A TCP destination removed (reload) while its collector stalls: what it
 * still queues when its drain time is up is lost, and counted (in
 * export_set_lost, and in the show output's removed line), not thrown
 * away silently at close. */
static void test_removed_tcp_losses_counted(void **state)
{
	(void)state;
	char spec[64];
	int ls = fx_tcp_listener(spec, sizeof(spec));
	struct exporter_cfg c;
	exporter_cfg_init(&c, 10);
	struct export_set *s = export_set_new(&c, "main");
	char err[256];
	struct transport_opts to = { 0 };
	assert_int_equal(export_set_add(s, spec, &to, err, sizeof(err)), 0);
	int cs = accept(ls, NULL, NULL); /* the collector: connected, never reads */
	assert_true(cs >= 0);
	uint64_t now = 1700000000000000ull;
	export_set_start(s, now);
	struct flowrec r;
	memset(&r, 0, sizeof(r));
	r.key.af = 4;
	r.packets = 1;
	r.bytes = 100;
	r.first_us = r.last_us = now;
	for (int i = 0; i < 200000; i++) {
		r.key.sport = (uint16_t)i;
		r.key.dport = (uint16_t)(i >> 16);
		export_set_record(s, &r, now);
		if (i % 1000 == 0)
			export_set_tick(s, now);
	}
	export_set_tick(s, now);
	assert_int_equal(export_set_lost(s), 0); /* all queued (the queue holds 16 MiB) */
	export_set_set_drain(s, 300);
	export_set_remove(s, 0, now);
	assert_int_equal(export_set_retiring(s), 1); /* it holds data: it drains */
	export_set_tick(s, now);
	assert_int_equal(export_set_retiring(s), 1); /* in the background, not yet its time */
	usleep(400000);
	export_set_tick(s, now); /* past its drain time (wall clock): closed */
	assert_int_equal(export_set_retiring(s), 0);
	uint64_t lost = export_set_lost(s);
	assert_true(lost > 0);
	char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	export_set_show(s, f, false);
	fclose(f);
	char want[128];
	snprintf(want, sizeof(want), "(%llu flows) lost by their transports", (unsigned long long)lost);
	if (!strstr(buf, want))
		fail_msg("show output lacks '%s':\n%s", want, buf);
	/* clear ip flow export: the show starts again from zero (the removed
	 * destinations' line too); the loss total stays since start */
	export_set_clear(s);
	f = fmemopen(buf, sizeof(buf), "w");
	export_set_show(s, f, false);
	fclose(f);
	if (strstr(buf, "Removed destinations"))
		fail_msg("removed counters survived clear:\n%s", buf);
	f = fmemopen(buf, sizeof(buf), "w");
	export_set_show(s, f, true);
	fclose(f);
	if (!strstr(buf, "\"removed\":{\"records\":0,\"messages\":0,\"flowsFailed\":0,\"transportDrops\":0,"
	                 "\"transportDropFlows\":0,"))
		fail_msg("removed counters survived clear (JSON):\n%s", buf);
	/* The exporters a reload removed elsewhere (transport_retire) are in
	 * the JSON too: one retired here while it holds data, closed at its
	 * (short) deadline with what it held lost. */
	{
		char spec2[64];
		int ls2 = fx_tcp_listener(spec2, sizeof(spec2)), cs2;
		struct transport *t2 = fx_busy_transport(spec2, ls2, &cs2);
		const struct transport_retired before = *transport_retired_stats();
		transport_retire(t2, 50);
		transport_retire_drain();
		const struct transport_retired *after = transport_retired_stats();
		assert_int_equal(after->closed, before.closed + 1);
		assert_int_equal(after->timed_out, before.timed_out + 1);
		assert_true(after->lost_msgs > before.lost_msgs);
		assert_int_equal(after->lost_recs - before.lost_recs, 30 * (after->lost_msgs - before.lost_msgs));
		f = fmemopen(buf, sizeof(buf), "w");
		export_set_show(s, f, true);
		fclose(f);
		snprintf(want, sizeof(want),
		         "\"removedExporters\":{\"draining\":0,\"closed\":%llu,\"closedWithData\":%llu,"
		         "\"lostMessages\":%llu,\"lostFlows\":%llu}}",
		         (unsigned long long)after->closed, (unsigned long long)after->timed_out,
		         (unsigned long long)after->lost_msgs, (unsigned long long)after->lost_recs);
		if (!strstr(buf, want))
			fail_msg("JSON show lacks '%s':\n%s", want, buf);
		close(cs2);
		close(ls2);
	}
	assert_int_equal(export_set_lost(s), lost);
	export_set_free(s);
	close(cs);
	close(ls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_streams),
		cmocka_unit_test(test_removed_tcp_losses_counted),
		cmocka_unit_test(test_v5_not_exportable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
