/* test_conf.c — the configuration parser, model and writer: every
 * fixture in tests/data/conf (the documented Cisco examples) gives the
 * expected model and round-trips through `show running-config`; every
 * error class gives its message at the right line and column; the
 * router's rules; abbreviations, `no` forms, sub-mode exits; every
 * truncation of every fixture line is handled. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "conf/conf.h"
#include "export/ie.h"

/* --- diagnostics captured for assertions -------------------------------- */

struct diag_rec {
	enum conf_level level;
	uint32_t line, col;
	char word[64];
	char text[512];
};

static struct diag_rec diags[256];
static size_t ndiags;

static void capture(void *arg, const struct conf_diag *d)
{
	(void)arg;
	if (getenv("CONF_TEST_VERBOSE"))
		conf_diag_print(stderr, d);
	if (ndiags == 256)
		return;
	struct diag_rec *r = &diags[ndiags++];
	r->level = d->level;
	r->line = d->line;
	r->col = d->col;
	snprintf(r->word, sizeof(r->word), "%s", d->word);
	snprintf(r->text, sizeof(r->text), "%s", d->text);
}

static size_t count_level(enum conf_level lv)
{
	size_t n = 0;
	for (size_t i = 0; i < ndiags; i++)
		n += diags[i].level == lv;
	return n;
}

static const struct diag_rec *first_error(void)
{
	for (size_t i = 0; i < ndiags; i++)
		if (diags[i].level == CONF_ERROR)
			return &diags[i];
	return NULL;
}

static struct conf *parse(const char *text)
{
	ndiags = 0;
	return conf_parse_text(text, strlen(text), "t.conf", capture, NULL);
}

/* Parse text that must fail with one error at line:col on `word`
 * whose message contains `frag`. */
static void expect_error(const char *text, uint32_t line, uint32_t col, const char *word, const char *frag)
{
	struct conf *c = parse(text);
	if (c) {
		fprintf(stderr, "accepted: %s\n", text);
		conf_free(c);
		fail();
	}
	const struct diag_rec *e = first_error();
	assert_non_null(e);
	if (e->line != line || e->col != col || strcmp(e->word, word) != 0 || !strstr(e->text, frag)) {
		fprintf(stderr, "for: %s\ngot %u:%u '%s': %s\nwant %u:%u '%s': ...%s...\n", text, e->line, e->col,
		        e->word, e->text, line, col, word, frag);
		fail();
	}
}

/* --- fixtures ----------------------------------------------------------- */

static char *fixture_path(const char *name)
{
	/* __FILE__ is .../tests/unit/test_conf.c */
	static char path[1024];
	const char *f = __FILE__;
	const char *u = strstr(f, "tests/unit/");
	assert_non_null(u);
	snprintf(path, sizeof(path), "%.*stests/data/conf/%s", (int)(u - f), f, name);
	return path;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = NULL;
	size_t cap = 0;
	FILE *m = open_memstream(&buf, &cap);
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		fwrite(tmp, 1, n, m);
	fclose(f);
	fclose(m);
	*len = cap;
	return buf;
}

static char *written(const struct conf *c, size_t *len)
{
	char *buf = NULL;
	size_t cap = 0;
	FILE *m = open_memstream(&buf, &cap);
	conf_write(m, c);
	fclose(m);
	*len = cap;
	return buf;
}

/* Parse a fixture (no errors), print it, parse the print: equal models,
 * and printing again gives the same text. */
static struct conf *load_fixture(const char *name)
{
	ndiags = 0;
	struct conf_parser *p = conf_parser_new(capture, NULL);
	assert_non_null(p);
	assert_int_equal(conf_parse_file(p, fixture_path(name)), 0);
	struct conf *c = conf_parser_finish(p);
	if (!c) {
		for (size_t i = 0; i < ndiags; i++)
			fprintf(stderr, "%s:%u:%u: %s\n", name, diags[i].line, diags[i].col, diags[i].text);
		fail_msg("fixture %s rejected", name);
	}
	size_t n1, n2;
	char *t1 = written(c, &n1);
	struct conf *c2 = parse(t1);
	if (!c2)
		fail_msg("running-config of %s does not parse:\n%s", name, t1);
	assert_int_equal(count_level(CONF_ERROR), 0);
	if (!conf_equal(c, c2))
		fail_msg("running-config of %s parses to another model:\n%s", name, t1);
	char *t2 = written(c2, &n2);
	assert_string_equal(t1, t2);
	free(t1);
	free(t2);
	conf_free(c2);
	/* reload diagnostics of the fixture itself for the caller */
	ndiags = 0;
	p = conf_parser_new(capture, NULL);
	conf_parse_file(p, fixture_path(name));
	conf_free(conf_parser_finish(p));
	return c;
}

static void test_nf9_export(void **state)
{
	struct conf *c = load_fixture("nf9_export.conf");
	assert_int_equal(c->niface, 1);
	assert_string_equal(c->iface[0].name, "Ethernet0/0");
	assert_true(c->iface[0].ingress && c->iface[0].egress);
	assert_int_equal(conf_export_version(&c->export, false), 9);
	assert_int_equal(c->export.ndest, 1);
	assert_string_equal(c->export.dest[0].host, "172.16.10.2");
	assert_int_equal(c->export.dest[0].port, 99);
	assert_int_equal(c->export.dest[0].proto, CONF_UDP);
	assert_int_equal(c->export.tmpl_refresh, 15);
	assert_int_equal(c->export.tmpl_timeout_min, 90);
	assert_true(c->export.opt_export_stats);
	assert_int_equal(c->export.opt_refresh, 25);
	assert_int_equal(c->export.opt_timeout_min, 120);
	assert_int_equal(count_level(CONF_NOTE), 1); /* ip address */
	conf_free(c);
}

static void test_nf9_bgp(void **state)
{
	struct conf *c = load_fixture("nf9_bgp_two_dest.conf");
	assert_string_equal(c->export.source, "Ethernet0/0");
	assert_int_equal(c->export.vopts, CONF_VOPT_ORIGIN_AS | CONF_VOPT_BGP_NEXTHOP);
	assert_int_equal(c->export.ndest, 2);
	assert_string_equal(c->export.dest[1].host, "172.16.10.3");
	assert_int_equal(conf_cache_entries(&c->cache, 0), 131072);
	assert_int_equal(conf_cache_active(&c->cache), 300);
	assert_int_equal(conf_cache_inactive(&c->cache), 20);
	assert_int_equal(c->niface, 2);
	assert_false(c->iface[1].ingress);
	assert_true(c->iface[1].egress);
	assert_int_equal(count_level(CONF_WARNING), 0);
	conf_free(c);
}

static void test_nf5(void **state)
{
	struct conf *c = load_fixture("nf5_peer_as.conf");
	assert_int_equal(conf_export_version(&c->export, false), 5);
	assert_int_equal(c->export.vopts, CONF_VOPT_PEER_AS);
	assert_true(c->iface[0].ingress);
	conf_free(c);
}

static void test_sctp_fixtures(void **state)
{
	struct conf *c = load_fixture("sctp_one.conf");
	assert_int_equal(c->export.dest[0].proto, CONF_SCTP);
	assert_int_equal(c->export.dest[0].port, 78);
	assert_int_equal(c->export.dest[0].sctp.reliability, CONF_REL_FULL);
	assert_false(c->export.dest[0].sctp.backup);
	assert_int_equal(c->export.dest[0].sctp.failover_ms, 25);
	assert_int_equal(c->export.dest[0].sctp.restore_s, 25);
	assert_true(c->iface[0].ingress); /* the sub-mode ended at `interface` */
	conf_free(c);

	c = load_fixture("sctp_partial.conf");
	assert_int_equal(c->export.dest[0].sctp.reliability, CONF_REL_PARTIAL);
	assert_int_equal(c->export.dest[0].sctp.buffer_limit, 100);
	conf_free(c);

	c = load_fixture("sctp_none.conf");
	assert_int_equal(c->export.dest[0].sctp.reliability, CONF_REL_NONE);
	conf_free(c);

	c = load_fixture("sctp_backup_redundant.conf");
	assert_true(c->export.dest[0].sctp.backup);
	assert_string_equal(c->export.dest[0].sctp.backup_host, "172.16.10.3");
	assert_int_equal(c->export.dest[0].sctp.backup_port, 78);
	assert_int_equal(c->export.dest[0].sctp.backup_mode, CONF_BACKUP_REDUNDANT);
	conf_free(c);

	c = load_fixture("sctp_backup_failover.conf");
	assert_int_equal(c->export.dest[0].sctp.backup_mode, CONF_BACKUP_FAILOVER);
	assert_int_equal(c->export.dest[0].sctp.failover_ms, 1000);
	assert_int_equal(c->export.dest[0].sctp.restore_s, 1200);
	conf_free(c);

	c = load_fixture("sctp_two_backups.conf");
	assert_int_equal(c->export.ndest, 2);
	assert_int_equal(c->export.dest[0].sctp.backup_mode, CONF_BACKUP_REDUNDANT);
	assert_int_equal(c->export.dest[0].sctp.failover_ms, 25);
	/* the second sub-mode attached to the second destination */
	assert_string_equal(c->export.dest[1].sctp.backup_host, "172.16.30.3");
	assert_int_equal(c->export.dest[1].sctp.failover_ms, 1500);
	assert_int_equal(c->export.dest[1].sctp.backup_mode, CONF_BACKUP_FAILOVER);
	conf_free(c);

	c = load_fixture("sctp_full_partial.conf");
	assert_int_equal(c->export.dest[0].sctp.reliability, CONF_REL_FULL);
	assert_int_equal(c->export.dest[1].sctp.reliability, CONF_REL_PARTIAL);
	assert_int_equal(c->export.dest[1].sctp.buffer_limit, 35000);
	conf_free(c);

	c = load_fixture("sctp_agg_source_prefix.conf");
	assert_int_equal(c->nagg, 1);
	const struct conf_agg *a = conf_find_agg(c, CONF_AGG_SRC_PREFIX);
	assert_non_null(a);
	assert_true(a->enabled);
	assert_int_equal(conf_cache_entries(&a->cache, 0), 1024);
	assert_int_equal(conf_cache_active(&a->cache), 120);
	assert_int_equal(conf_cache_inactive(&a->cache), 30);
	assert_int_equal(a->mask_src_min, 24);
	assert_int_equal(a->export.ndest, 1);
	assert_int_equal(a->export.dest[0].proto, CONF_SCTP);
	assert_int_equal(a->export.dest[0].sctp.reliability, CONF_REL_PARTIAL);
	assert_int_equal(a->export.dest[0].sctp.buffer_limit, 50);
	assert_string_equal(a->export.dest[0].sctp.backup_host, "172.16.10.3");
	assert_int_equal(a->export.dest[0].sctp.restore_s, 60);
	assert_int_equal(conf_export_version(&a->export, true), 8);
	assert_int_equal(c->export.ndest, 0); /* nothing leaked into the main cache */
	conf_free(c);
}

static void test_agg_fixtures(void **state)
{
	struct conf *c = load_fixture("agg_as.conf");
	const struct conf_agg *a = conf_find_agg(c, CONF_AGG_AS);
	assert_non_null(a);
	assert_int_equal(conf_cache_entries(&a->cache, 0), 2046);
	assert_int_equal(conf_cache_inactive(&a->cache), 200);
	assert_int_equal(conf_cache_active(&a->cache), 45 * 60);
	assert_string_equal(a->export.dest[0].host, "209.165.200.225");
	assert_int_equal(a->export.dest[0].port, 9991);
	assert_true(a->enabled);
	conf_free(c);

	c = load_fixture("agg_prefixes.conf");
	assert_int_equal(c->nagg, 5);
	a = conf_find_agg(c, CONF_AGG_DST_PREFIX);
	assert_int_equal(a->mask_dst_min, 32);
	assert_int_equal(a->mask_src_min, 0);
	a = conf_find_agg(c, CONF_AGG_PREFIX);
	assert_int_equal(a->mask_src_min, 16);
	assert_int_equal(a->mask_dst_min, 24);
	a = conf_find_agg(c, CONF_AGG_PREFIX_TOS);
	assert_int_equal(conf_export_version(&a->export, true), 9);
	assert_int_equal(a->export.tmpl_refresh, 10);
	assert_int_equal(a->export.tmpl_timeout_min, 60);
	a = conf_find_agg(c, CONF_AGG_PROTOCOL_PORT);
	assert_int_equal(a->export.ndest, 2);
	a = conf_find_agg(c, CONF_AGG_BGP_NEXTHOP_TOS);
	assert_false(a->enabled);
	assert_null(conf_find_agg(c, CONF_AGG_AS));
	conf_free(c);
}

static void test_fnf_fixtures(void **state)
{
	struct conf *c = load_fixture("fnf_basic.conf");
	const struct conf_record *r = conf_find_record(c, "FLOW-RECORD-1");
	assert_non_null(r);
	assert_string_equal(r->description, "Used for basic traffic analysis");
	assert_int_equal(r->nmatch, 5);
	assert_int_equal(r->ncollect, 4);
	assert_int_equal(conf_field_table[r->match[0]].ie, IE_destinationIPv4Address);
	assert_int_equal(conf_field_table[r->match[1]].ie, IE_sourceIPv4Address);
	assert_int_equal(conf_field_table[r->match[4]].ie, IE_protocolIdentifier);
	assert_int_equal(conf_field_table[r->collect[0]].ie, IE_octetDeltaCount);
	assert_int_equal(conf_field_table[r->collect[3]].ie, IE_flowEndSysUpTime);
	const struct conf_exporter *x = conf_find_exporter(c, "EXPORTER-1");
	assert_non_null(x);
	assert_string_equal(x->destination, "172.16.10.2");
	assert_string_equal(x->source, "Ethernet0/0");
	assert_int_equal(x->transport, CONF_UDP);
	assert_int_equal(x->port, 90);
	assert_int_equal(x->protocol, CONF_FNF_V9);
	assert_int_equal(x->template_timeout_s, 120);
	assert_int_equal(x->options, CONF_OPT_EXPORTER_STATS);
	assert_int_equal(x->option_timeout_s[0], 300);
	assert_int_equal(x->ttl, 255);
	const struct conf_monitor *m = conf_find_monitor(c, "FLOW-MONITOR-1");
	assert_non_null(m);
	assert_string_equal(m->record, "FLOW-RECORD-1");
	assert_int_equal(m->nexporter, 1);
	assert_int_equal(conf_cache_active(&m->cache), 60);
	assert_int_equal(conf_cache_inactive(&m->cache), 30);
	assert_int_equal(conf_cache_entries(&m->cache, CONF_MON_ENTRIES_DEFAULT), 8192);
	assert_int_equal(c->iface[0].nmon, 1);
	assert_string_equal(c->iface[0].mon[0].monitor, "FLOW-MONITOR-1");
	assert_int_equal(c->iface[0].mon[0].traffic, CONF_TR_IPV4);
	assert_int_equal(c->iface[0].mon[0].dir, 0);
	assert_false(c->iface[0].ingress);
	conf_free(c);

	c = load_fixture("fnf_sampler_v6.conf");
	const struct conf_sampler *s = conf_find_sampler(c, "SAMPLER-1");
	assert_int_equal(s->mode, CONF_SAMPLER_RANDOM);
	assert_int_equal(s->one_out_of, 100);
	assert_string_equal(s->description, "One packet in a hundred");
	s = conf_find_sampler(c, "SAMPLER-2");
	assert_int_equal(s->mode, CONF_SAMPLER_DETERMINISTIC);
	assert_int_equal(s->one_out_of, 2);
	x = conf_find_exporter(c, "EXPORTER-IPFIX");
	assert_int_equal(x->protocol, CONF_FNF_IPFIX);
	assert_int_equal(x->port, 4739);
	assert_int_equal(x->options, CONF_OPT_INTERFACE_TABLE | CONF_OPT_SAMPLER_TABLE);
	assert_int_equal(x->option_timeout_s[2], 120);
	assert_int_equal(x->dscp, 46);
	assert_int_equal(x->ttl, 64);
	assert_int_equal(conf_find_exporter(c, "EXPORTER-SCTP")->transport, CONF_SCTP);
	m = conf_find_monitor(c, "FLOW-MONITOR-4");
	assert_string_equal(m->record, CONF_RECORD_NETFLOW_IPV4_ORIG_IN);
	assert_int_equal(m->nexporter, 2);
	m = conf_find_monitor(c, "FLOW-MONITOR-6");
	assert_int_equal(m->cache.type, CONF_CACHE_PERMANENT);
	assert_int_equal(m->cache.update_s, 60);
	assert_int_equal(conf_find_monitor(c, "FLOW-MONITOR-IMM")->cache.type, CONF_CACHE_IMMEDIATE);
	r = conf_find_record(c, "FLOW-RECORD-V6");
	assert_int_equal(conf_field_table[r->collect[2]].ie, IE_minimumTTL);
	assert_int_equal(conf_field_table[r->collect[4]].ie, IE_flowStartMilliseconds);
	const struct conf_iface *f = &c->iface[0];
	assert_int_equal(f->nmon, 3);
	assert_string_equal(f->mon[0].sampler, "SAMPLER-1");
	assert_int_equal(f->mon[1].dir, 1);
	assert_int_equal(f->mon[2].traffic, CONF_TR_IPV6);
	assert_int_equal(c->iface[1].mon[0].traffic, CONF_TR_L2);
	conf_free(c);

	c = load_fixture("fnf_v5.conf");
	assert_int_equal(conf_find_exporter(c, "EXPORTER-V5")->protocol, CONF_FNF_V5);
	conf_free(c);
}

static void test_router_paste(void **state)
{
	struct conf *c = load_fixture("router_paste.conf");
	assert_int_equal(count_level(CONF_ERROR), 0);
	assert_true(count_level(CONF_NOTE) >= 20);
	assert_int_equal(c->niface, 2);
	assert_string_equal(c->iface[0].description, "uplink to the core");
	assert_true(c->iface[0].ingress && c->iface[0].egress);
	assert_false(c->iface[1].ingress);
	/* the banner's text was not read as a command */
	assert_int_equal(c->export.ndest, 1);
	assert_string_equal(c->export.dest[0].host, "192.0.2.10");
	assert_int_equal(conf_cache_active(&c->cache), 60);
	conf_free(c);
}

static void test_ipflow_host(void **state)
{
	struct conf *c = load_fixture("ipflow_host.conf");
	const struct conf_host *h = &c->host;
	assert_string_equal(h->ctl_path, "/run/ipflow/ipflowd.sock");
	assert_string_equal(h->ctl_group, "ipflow");
	assert_string_equal(h->pid_file, "/run/ipflow/ipflowd.pid");
	assert_string_equal(h->user, "ipflow");
	assert_true(h->syslog);
	assert_string_equal(h->flowlog, "jsonl:/var/log/ipflow/flows.jsonl");
	assert_int_equal(h->snaplen, 128);
	assert_string_equal(h->filter, "not port 22");
	assert_true(h->speed == 2.5);
	assert_string_equal(conf_linux_name(c, "GigabitEthernet3/1"), "eth0");
	assert_string_equal(conf_linux_name(c, "eth1"), "eth1");
	assert_string_equal(c->iface[1].pcap, "/var/lib/ipflow/sample.pcap");
	assert_int_equal(c->iface[1].ifindex, 7);
	assert_int_equal(conf_cache_active(&c->cache), 90);
	assert_int_equal(conf_cache_inactive(&c->cache), 5);
	assert_int_equal(c->export.version, 10);
	assert_int_equal(c->export.dest[1].proto, CONF_TCP);
	assert_string_equal(c->export.file[0], "/var/lib/ipflow/export.ipfix");
	assert_int_equal(c->export.mtu, 9000);
	assert_int_equal(c->export.source_id, 42);
	assert_int_equal(c->export.engine_type, 1);
	assert_int_equal(c->export.engine_id, 2);
	assert_int_equal(c->export.flush_ms, 250);
	assert_true(c->export.usec);
	/* inactive 5 is outside the router's 10-600; the second destination
	 * to 127.0.0.1 gets the router's warning */
	assert_int_equal(count_level(CONF_WARNING), 2);
	bool same = false;
	for (size_t i = 0; i < ndiags; i++)
		if (strstr(diags[i].text, "%Warning: Second destination address is the same as previous address 127.0.0.1"))
			same = diags[i].line == 25;
	assert_true(same);
	conf_free(c);
}

/* Every field of the FNF catalog maps to a row of ie.def, and every
 * phrase parses and prints back. */
static void test_field_catalog(void **state)
{
	for (size_t i = 0; i < conf_field_count; i++) {
		assert_non_null(ie_by_id(conf_field_table[i].ie));
		char text[256];
		snprintf(text, sizeof(text), "flow record R\n %s %s\n", conf_field_table[i].key_ok ? "match" : "collect",
		         conf_field_table[i].words);
		struct conf *c = parse(text);
		if (!c)
			fail_msg("field '%s' rejected: %s", conf_field_table[i].words, first_error()->text);
		assert_int_equal(c->record[0].nmatch + c->record[0].ncollect, 1);
		uint16_t k = c->record[0].nmatch ? c->record[0].match[0] : c->record[0].collect[0];
		assert_int_equal(k, i);
		conf_free(c);
	}
}

/* --- error classes ------------------------------------------------------ */

static void test_errors(void **state)
{
	/* an unknown keyword: its column, the word, and what was expected */
	expect_error("ip flow-export destination 10.0.0.1 99\nip flow-export bogus 1\n", 2, 16, "bogus",
	             "% Invalid input detected at 'bogus': expected destination, source, version, template");
	/* the wrong transport */
	expect_error("ip flow-export destination 10.0.0.1 99 quic\n", 1, 40, "quic", "expected udp, sctp or tcp");
	/* incomplete: at the end of the line */
	expect_error("ip flow-export destination 10.0.0.1\n", 1, 36, "", "% Incomplete command: expected port");
	expect_error("ip flow-cache timeout\n", 1, 22, "", "% Incomplete command: expected active or inactive");
	/* ambiguous abbreviation */
	expect_error("ip flow-export template options t 5\n", 1, 33, "t",
	             "% Ambiguous command: 't' could be timeout-rate or timeout");
	expect_error("ip flow-export t\n", 1, 16, "t", "could be template or timestamps");
	/* out of range: ipflow's range, and the router's beside it */
	expect_error("ip flow-cache timeout inactive 0\n", 1, 32, "0",
	             "expected inactive timeout (seconds), a number from 1 to 604800 (the router's range is 10-600)");
	expect_error("ip flow-export destination 10.0.0.1 70000\n", 1, 37, "70000",
	             "expected port, a number from 1 to 65535");
	expect_error("ip flow-export template refresh-rate 601\n", 1, 38, "601", "from 0 to 600");
	expect_error("ip flow-export destination 10.0.0.1 78 sctp\n reliability partial buffer-limit 35001\n", 2, 35,
	             "35001", "buffer limit, a number from 1 to 35000");
	expect_error("ip flow-export destination 10.0.0.1 78 sctp\n backup fail-over 3601\n", 2, 19, "3601",
	             "from 0 to 3600");
	/* trailing junk */
	expect_error("ip flow-export version 9 junk\n", 1, 26, "junk", "expected origin-as, peer-as or bgp-nexthop");
	expect_error("ip flow-cache entries 4096 more\n", 1, 28, "more", "expected end of line");
	/* a word that is not a number */
	expect_error("ip flow-cache entries lots\n", 1, 23, "lots", "expected number of entries");
	/* a host name with characters no host has */
	expect_error("ip flow-export destination 10.0.0.1/24 99\n", 1, 28, "10.0.0.1/24", "an address or host name");
	/* version 8 is for aggregation caches, 5 for the main one only */
	expect_error("ip flow-export version 8\n", 1, 24, "8", "version 8 is for aggregation caches");
	expect_error("ip flow-aggregation cache as\n export version 5\n", 2, 17, "5", "expected 8 or 9");
	expect_error("ip flow-export version 1 origin-as\n", 1, 26, "origin-as", "apply to versions 5 and 9");
	expect_error("ip flow-export version 9 origin-as peer-as\n", 1, 36, "peer-as", "exclude each other");
	/* an unknown command in global mode, and under an interface */
	expect_error("frobnicate now\n", 1, 1, "frobnicate", "in global mode: expected");
	expect_error("interface eth0\n ip flow ingrss\n", 2, 10, "ingrss", "expected ingress, egress or monitor");
	expect_error("interface eth0\n ip flw ingress\n", 2, 5, "flw", "in interface mode");
	expect_error("ip flw-export destination 1.2.3.4 5\n", 1, 4, "flw-export", "expected flow-export");
	/* an unknown aggregation scheme */
	expect_error("ip flow-aggregation cache as-port\n", 1, 27, "as-port", "(an aggregation scheme)");
	/* SCTP sub-mode commands need an SCTP destination */
	expect_error("ip flow-export destination 10.0.0.1 99 udp\n reliability full\n", 2, 2, "reliability",
	             "in global mode");
	/* lines the parser refuses whole */
	{
		char big[CONF_LINE_MAX + 16];
		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = 0;
		struct conf *c = parse(big);
		assert_null(c);
		assert_string_equal(first_error()->text, "line too long (4111 bytes; at most 4096)");
		ndiags = 0;
		c = conf_parse_text("ip flow\0-export\n", 16, "t.conf", capture, NULL);
		assert_null(c);
		assert_string_equal(first_error()->text, "NUL byte in the line");
		c = parse("ip flow-export version 9\x01\n");
		assert_null(c);
		assert_non_null(strstr(first_error()->text, "control character 0x01 at column 25"));
		c = parse("banner motd ^C\nnever closed\n");
		assert_null(c);
		assert_non_null(strstr(first_error()->text, "banner not closed"));
	}
	/* every error is reported, not just the first */
	struct conf *c = parse("ip flow-cache entries 0\nip flow-export version 4\ninterface e0\n ip flow sideways\n");
	assert_null(c);
	assert_int_equal(count_level(CONF_ERROR), 3);
	assert_int_equal(diags[0].line, 1);
	assert_int_equal(diags[1].line, 2);
	assert_int_equal(diags[2].line, 4);
}

/* --- the router's rules ------------------------------------------------- */

static void test_router_rules(void **state)
{
	/* second destination with the same address: the router's warning */
	struct conf *c = parse("ip flow-export destination 10.0.0.1 99\nip flow-export destination 10.0.0.1 100\n");
	assert_non_null(c);
	assert_int_equal(c->export.ndest, 2);
	assert_int_equal(count_level(CONF_WARNING), 1);
	assert_string_equal(diags[0].text, "%Warning: Second destination address is the same as previous address 10.0.0.1");
	assert_int_equal(diags[0].line, 2);
	conf_free(c);
	/* the same destination again is the same destination (its sub-mode) */
	c = parse("ip flow-export destination 10.0.0.1 78 sctp\nip flow-export destination 10.0.0.1 78 sctp\n"
	          " reliability none\n");
	assert_non_null(c);
	assert_int_equal(c->export.ndest, 1);
	assert_int_equal(c->export.dest[0].sctp.reliability, CONF_REL_NONE);
	conf_free(c);
	/* a third destination is refused */
	expect_error("ip flow-export destination 10.0.0.1 99\nip flow-export destination 10.0.0.2 99\n"
	             "ip flow-export destination 10.0.0.3 99\n",
	             3, 28, "10.0.0.3", "%Only 2 export destinations are supported");
	/* ... also in an aggregation cache */
	expect_error("ip flow-aggregation cache prefix\n export destination 10.0.0.1 99\n export destination 10.0.0.2 99\n"
	             " export destination 10.0.0.3 99\n",
	             4, 21, "10.0.0.3", "%Only 2 export destinations");
	/* one monitor per traffic type and direction on an interface */
	const char *fnf = "flow record R\n match ipv4 source address\nflow monitor M1\n record R\n"
	                  "flow monitor M2\n record R\n";
	char text[1024];
	snprintf(text, sizeof(text), "%sinterface e0\n ip flow monitor M1 input\n ip flow monitor M2 input\n", fnf);
	expect_error(text, 9, 18, "M2", "only one monitor per traffic type is allowed: M1 already monitors ipv4 input on e0");
	snprintf(text, sizeof(text),
	         "%sinterface e0\n ip flow monitor M1 input\n ip flow monitor M2 output\n ipv6 flow monitor M2 input\n", fnf);
	c = parse(text);
	assert_non_null(c);
	assert_int_equal(c->iface[0].nmon, 3);
	conf_free(c);
	/* references must exist when made */
	expect_error("interface e0\n ip flow monitor NOPE input\n", 2, 18, "NOPE", "% Flow Monitor NOPE does not exist");
	expect_error("flow monitor M\n record NOPE\n", 2, 9, "NOPE", "flow record NOPE does not exist");
	expect_error("flow monitor M\n exporter NOPE\n", 2, 11, "NOPE", "flow exporter NOPE does not exist");
	snprintf(text, sizeof(text), "%sinterface e0\n ip flow monitor M1 sampler S9 input\n", fnf);
	expect_error(text, 8, 29, "S9", "% Sampler S9 does not exist");
	/* v5 carries only the traditional record */
	expect_error("flow record R\n match ipv4 source address\nflow exporter X\n export-protocol netflow-v5\n"
	             "flow monitor M\n record R\n exporter X\n",
	             7, 11, "X", "netflow-v5, which can carry only the netflow-original record (netflow ipv4 "
	             "original-input/output), not R; use export-protocol netflow-v9 or ipfix");
	expect_error("flow record R\n match ipv4 source address\nflow exporter X\n export-protocol netflow-v5\n"
	             "flow monitor M\n exporter X\n record R\n",
	             7, 9, "R", "netflow-v5");
	/* ... also when the exporter becomes v5 after the monitor uses it */
	expect_error("flow record R\n match ipv4 source address\nflow exporter X\nflow monitor M\n record R\n exporter X\n"
	             "flow exporter X\n export-protocol netflow-v5\n",
	             8, 18, "netflow-v5", "% Flow Monitor M: exporter X exports netflow-v5, which can carry only");
	/* ... and v5 carries no IPv6: not as ipv6 flow monitor, whichever comes first */
	expect_error("flow exporter X\n export-protocol netflow-v5\nflow monitor M\n record netflow ipv4 original-input\n"
	             " exporter X\ninterface e0\n ipv6 flow monitor M input\n",
	             7, 20, "M", "exporter X exports netflow-v5, which cannot carry IPv6 flows");
	expect_error("flow exporter X\nflow monitor M\n record netflow ipv4 original-input\n exporter X\n"
	             "interface e0\n ipv6 flow monitor M input\nflow exporter X\n export-protocol netflow-v5\n",
	             8, 18, "netflow-v5", "interface e0 applies it as ipv6 flow monitor");
	/* the traditional record over v5 is fine */
	c = parse("flow exporter X\n export-protocol netflow-v5\nflow monitor M\n record netflow ipv4 original-input\n"
	          " exporter X\ninterface e0\n ip flow monitor M input\n");
	assert_non_null(c);
	conf_free(c);
	/* record option: bucketed TTL and length, round trip through the writer */
	c = parse("flow record R\n match ipv4 ttl\n ipflow bucket ttl\n ipflow bucket packet-length\n"
	          " no ipflow bucket packet-length\n ipflow bucket pa\n");
	assert_non_null(c);
	assert_int_equal(c->record[0].options, CONF_REC_BUCKET_TTL | CONF_REC_BUCKET_LEN);
	{
		char *buf = NULL;
		size_t blen = 0;
		FILE *f = open_memstream(&buf, &blen);
		conf_write(f, c);
		fclose(f);
		assert_non_null(strstr(buf, " ipflow bucket ttl\n ipflow bucket packet-length\n"));
		struct conf *c2 = parse(buf);
		assert_non_null(c2);
		assert_true(conf_equal(c, c2));
		conf_free(c2);
		free(buf);
	}
	conf_free(c);
	expect_error("flow record R\n ipflow bucket hops\n", 2, 16, "hops", "");
	/* a collect-only field as a key; a field twice */
	expect_error("flow record R\n match counter bytes\n", 2, 8, "counter", "cannot be a match (key) field");
	expect_error("flow record R\n match ipv4 protocol\n collect ipv4 protocol\n", 3, 10, "ipv4",
	             "already a match field");
	/* a mask the scheme has no prefix for */
	expect_error("ip flow-aggregation cache source-prefix\n mask destination minimum 24\n", 2, 7, "destination",
	             "the source-prefix scheme has no destination prefix");
	/* the backup must differ from the primary */
	expect_error("ip flow-export destination 10.0.0.1 78 sctp\n backup destination 10.0.0.1 78\n", 2, 21, "10.0.0.1",
	             "must differ from the primary");
	/* an object in use cannot be removed */
	snprintf(text, sizeof(text), "%sinterface e0\n ip flow monitor M1 input\nno flow monitor M1\n", fnf);
	expect_error(text, 9, 17, "M1", "flow monitor M1 is in use");
}

/* --- abbreviations, no forms, sub-modes --------------------------------- */

static void test_abbrev_no_modes(void **state)
{
	struct conf *c = parse("ip flow-exp dest 10.0.0.1 99\nip flow-ca ti ac 5\nip flow-ca tim ina 30\n"
	                       "ip flow-export ver 5 pe\nip flow-agg ca protocol-port-t\n ena\n");
	assert_non_null(c);
	assert_int_equal(c->export.ndest, 1);
	assert_int_equal(conf_cache_active(&c->cache), 300);
	assert_int_equal(conf_cache_inactive(&c->cache), 30);
	assert_int_equal(c->export.version, 5);
	assert_int_equal(c->export.vopts, CONF_VOPT_PEER_AS);
	/* "proto" abbreviates protocol-port and protocol-port-tos: ambiguous?
	 * No: it is a prefix of both, so it must be refused. */
	conf_free(c);
	(void)c;
	expect_error("ip flow-agg ca proto\n", 1, 16, "proto", "could be protocol-port or protocol-port-tos");
	/* an exact keyword wins over a longer one it prefixes */
	c = parse("ip flow-aggregation cache prefix\n enabled\n");
	assert_non_null(c);
	assert_int_equal(c->agg[0].scheme, CONF_AGG_PREFIX);
	conf_free(c);
	/* keywords are case-insensitive, as on a router */
	c = parse("IP FLOW-EXPORT VERSION 9\n");
	assert_non_null(c);
	assert_int_equal(c->export.version, 9);
	conf_free(c);

	/* no forms reset to the default or remove */
	c = parse("ip flow-export destination 10.0.0.1 99\nip flow-export destination 10.0.0.2 98\n"
	          "ip flow-export version 5\nip flow-cache timeout active 5\n"
	          "no ip flow-export destination 10.0.0.1 99\nno ip flow-export version\nno ip flow-cache timeout active\n"
	          "interface e0\n ip flow ingress\n ip flow egress\n no ip flow ingress\n");
	assert_non_null(c);
	assert_int_equal(c->export.ndest, 1);
	assert_string_equal(c->export.dest[0].host, "10.0.0.2");
	assert_int_equal(conf_export_version(&c->export, false), 9);
	assert_int_equal(conf_cache_active(&c->cache), CONF_ACTIVE_DEFAULT_S);
	assert_false(c->iface[0].ingress);
	assert_true(c->iface[0].egress);
	struct conf *fresh = parse("ip flow-export destination 10.0.0.2 98\ninterface e0\n ip flow egress\n");
	assert_true(conf_equal(c, fresh)); /* removal leaves no trace in the model */
	conf_free(fresh);
	conf_free(c);
	c = parse("ip flow-export destination 10.0.0.1 78 sctp\n reliability none\n backup destination 10.0.0.2 78\n"
	          " no reliability\n no backup destination\n");
	assert_non_null(c);
	assert_int_equal(c->export.dest[0].sctp.reliability, CONF_REL_FULL);
	assert_false(c->export.dest[0].sctp.backup);
	conf_free(c);

	/* exit leaves a sub-mode; a sub-mode command after it is an error */
	expect_error("ip flow-aggregation cache as\n exit\n enabled\n", 3, 2, "enabled", "in global mode");
	/* a global command ends any sub-mode without exit */
	c = parse("ip flow-aggregation cache as\n enabled\nip flow-export version 9\ninterface e0\n ip flow ingress\n");
	assert_non_null(c);
	assert_int_equal(c->export.version, 9);
	assert_true(c->agg[0].enabled);
	conf_free(c);
	/* an interface name split as IOS allows */
	c = parse("interface GigabitEthernet 0/1\n ip flow ingress\n");
	assert_non_null(c);
	assert_string_equal(c->iface[0].name, "GigabitEthernet0/1");
	conf_free(c);
	/* an ipflow line after an interface is a global one: the interface
	 * mode knows only "ipflow pcap" */
	c = parse("interface e0\n ip flow ingress\nipflow flow-log /tmp/x.jsonl\n");
	assert_non_null(c);
	assert_string_equal(c->host.flowlog, "/tmp/x.jsonl");
	conf_free(c);
	/* comments and blank lines anywhere */
	c = parse("! a comment\n\n   \n# also a comment\nip flow-export version 9\n");
	assert_non_null(c);
	conf_free(c);
}

/* Flag-made lines (conf_parser_source(.., flags = true)) get no router-
 * range warnings, and the names the flags are reported under. */
static void test_flag_source(void **state)
{
	ndiags = 0;
	struct conf_parser *p = conf_parser_new(capture, NULL);
	conf_parser_source(p, "command line", 0, true);
	const char *l = "ip flow-cache timeout inactive 5";
	assert_int_equal(conf_parse_line(p, l, strlen(l)), 0);
	struct conf *c = conf_parser_finish(p);
	assert_non_null(c);
	assert_int_equal(ndiags, 0);
	assert_int_equal(c->cache.inactive_s, 5);
	conf_free(c);
	c = parse("ip flow-cache timeout inactive 5\n");
	assert_non_null(c);
	assert_int_equal(count_level(CONF_WARNING), 1);
	assert_non_null(strstr(diags[0].text, "outside the router's range 10-600"));
	conf_free(c);
}

/* Every prefix of every fixture line, and every line cut anywhere, is
 * either accepted or rejected with an error: no crash, no hang, no
 * out-of-bounds read (ASan build). */
static void test_truncated(void **state)
{
	static const char *const names[] = {
		"nf9_export.conf", "sctp_agg_source_prefix.conf", "fnf_sampler_v6.conf", "router_paste.conf",
		"ipflow_host.conf", "agg_prefixes.conf",
	};
	for (size_t f = 0; f < sizeof(names) / sizeof(names[0]); f++) {
		size_t len;
		char *text = slurp(fixture_path(names[f]), &len);
		for (size_t cut = 0; cut <= len; cut += 7) {
			ndiags = 0;
			struct conf *c = conf_parse_text(text, cut, "cut.conf", NULL, NULL);
			if (c) { /* what a cut file gives round-trips too */
				size_t n;
				char *t = written(c, &n);
				struct conf *c2 = conf_parse_text(t, n, "rc", NULL, NULL);
				if (!c2 || !conf_equal(c, c2))
					fail_msg("%s cut at %zu does not round-trip:\n%s", names[f], cut, t);
				conf_free(c2);
				free(t);
			}
			conf_free(c);
		}
		free(text);
	}
}

/* Main-cache sampling (flow-sampler), the flow-sampler-map form of a
 * sampler, the packet-section record and the routing table; the written
 * configuration parses back the same. */
static void test_sampling_routes(void **state)
{
	(void)state;
	const char *text = "flow-sampler-map S1\n mode random one-out-of 100\n"
	                   "sampler S2\n mode deterministic 1 out-of 8\n"
	                   "flow monitor P\n record datalinksectiondump\n"
	                   "interface e0\n ip flow ingress\n flow-sampler S1\n"
	                   "flow exporter X\n"
	                   "interface e1\n ip flow monitor P sampler S2 input\n"
	                   "ipflow route-table /etc/ipflow/routes\n";
	struct conf *c = parse(text);
	assert_non_null(c);
	assert_int_equal(c->nsampler, 2);
	assert_int_equal(c->sampler[0].mode, CONF_SAMPLER_RANDOM);
	assert_int_equal(c->sampler[0].one_out_of, 100);
	assert_int_equal(c->sampler[1].mode, CONF_SAMPLER_DETERMINISTIC);
	assert_string_equal(c->iface[0].sampler, "S1");
	assert_int_equal(c->nexporter, 1); /* "flow exporter" under an interface is the global command */
	assert_string_equal(c->monitor[0].record, CONF_RECORD_PACKET_SECTION);
	assert_string_equal(c->host.routes, "/etc/ipflow/routes");
	assert_int_equal(conf_main_sampling(c), 100);
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	conf_write(m, c);
	fclose(m);
	struct conf *c2 = parse(out);
	assert_non_null(c2);
	assert_string_equal(c2->iface[0].sampler, "S1");
	assert_int_equal(c2->sampler[0].one_out_of, 100);
	assert_string_equal(c2->host.routes, "/etc/ipflow/routes");
	assert_string_equal(c2->monitor[0].record, CONF_RECORD_PACKET_SECTION);
	free(out);
	conf_free(c2);
	conf_free(c);
	expect_error("interface e0\n flow-sampler NOPE\n", 2, 15, "NOPE", "% Sampler NOPE does not exist");
	expect_error("sampler S\n mode random 1 out-of 10\ninterface e0\n flow-sampler S\nno sampler S\n", 5, 12, "S",
	             "in use");
	c = parse("interface e0\n ip flow ingress\n");
	assert_int_equal(conf_main_sampling(c), 1);
	conf_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nf9_export),      cmocka_unit_test(test_nf9_bgp),
		cmocka_unit_test(test_nf5),             cmocka_unit_test(test_sctp_fixtures),
		cmocka_unit_test(test_agg_fixtures),    cmocka_unit_test(test_fnf_fixtures),
		cmocka_unit_test(test_router_paste),    cmocka_unit_test(test_ipflow_host),
		cmocka_unit_test(test_field_catalog),   cmocka_unit_test(test_errors),
		cmocka_unit_test(test_router_rules),    cmocka_unit_test(test_abbrev_no_modes),
		cmocka_unit_test(test_flag_source),     cmocka_unit_test(test_truncated), cmocka_unit_test(test_sampling_routes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
