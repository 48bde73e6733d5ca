/* test_agg.c — the aggregation caches (meter/agg.c) driven by hand: keys
 * and masks per scheme, counters summed, inactive and active expiry on
 * the cache clock, a full cache (early expiry, nothing lost), IPv6 not
 * aggregated, AS_TRANS in v8, v9 templates, show text and JSON, reload
 * (kept entries, new timeouts, a removed cache exported). Exports go to
 * a UDP socket on 127.0.0.1 that the test reads and decodes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf/conf.h"
#include "export/export.h"
#include "lib/bytes.h"
#include "meter/agg.h"

#define T0 1700000000000000ull
#define SEC 1000000ull

struct rx {
	int fd;
	unsigned port;
};

static void rx_open(struct rx *r)
{
	r->fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(r->fd >= 0);
	int big = 8 << 20;
	setsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(r->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t l = sizeof(a);
	getsockname(r->fd, (struct sockaddr *)&a, &l);
	r->port = ntohs(a.sin_port);
	fcntl(r->fd, F_SETFL, O_NONBLOCK);
}

/* What arrived, decoded: one aggregated record. */
struct got {
	unsigned version, scheme;   /* v8 agg scheme, or v9 source id */
	unsigned sampling;          /* v8 header */
	uint32_t src, dst;          /* prefixes */
	unsigned smask, dmask, tos, proto, sport, dport, in, out, src_as, dst_as;
	uint64_t flows, packets, bytes, first_us, last_us;
};

struct gotv {
	struct got *v;
	size_t n, cap;
	uint32_t seq_next[32];
};

static void rx_drain(struct rx *r, struct gotv *g)
{
	static uint8_t buf[65536];
	struct tmpl_store_mem m;
	tmpl_store_mem_init(&m, 64);
	struct tmpl_store ts = tmpl_store_mem_iface(&m);
	ssize_t len;
	while ((len = recv(r->fd, buf, sizeof(buf), 0)) > 0) {
		struct nf_iter it;
		struct nf_item item;
		int rc = nf_iter_init(&it, buf, (size_t)len, &ts);
		assert_int_equal(rc, ERR_OK);
		while ((rc = nf_iter_next(&it, &item)) == ERR_OK) {
			if (item.kind != NF_ITEM_DATA)
				continue;
			if (g->n == g->cap) {
				g->cap = g->cap ? g->cap * 2 : 256;
				g->v = realloc(g->v, g->cap * sizeof(*g->v));
			}
			struct got *o = &g->v[g->n++];
			memset(o, 0, sizeof(*o));
			o->version = it.hdr.version;
			o->scheme = it.hdr.version == 8 ? it.hdr.agg_scheme : it.hdr.domain;
			o->sampling = it.hdr.sampling;
			struct flowrec fr;
			assert_int_equal(nf_item_flowrec(&it, &item, &fr), ERR_OK);
			o->first_us = fr.first_us;
			o->last_us = fr.last_us;
			struct rec_iter ri;
			struct rec_field f;
			rec_iter_init(&ri, item.t, item.p, item.len);
			while (rec_iter_next(&ri, &f) == ERR_OK) {
				uint64_t v = f.len <= 8 ? peek_uint(f.p, f.len) : 0;
				switch (f.ie) {
				case IE_deltaFlowCount: o->flows = v; break;
				case IE_packetDeltaCount: o->packets = v; break;
				case IE_octetDeltaCount: o->bytes = v; break;
				case IE_sourceIPv4Prefix: o->src = (uint32_t)v; break;
				case IE_destinationIPv4Prefix: o->dst = (uint32_t)v; break;
				case IE_sourceIPv4PrefixLength: o->smask = (unsigned)v; break;
				case IE_destinationIPv4PrefixLength: o->dmask = (unsigned)v; break;
				case IE_ipClassOfService: o->tos = (unsigned)v; break;
				case IE_protocolIdentifier: o->proto = (unsigned)v; break;
				case IE_sourceTransportPort: o->sport = (unsigned)v; break;
				case IE_destinationTransportPort: o->dport = (unsigned)v; break;
				case IE_ingressInterface: o->in = (unsigned)v; break;
				case IE_egressInterface: o->out = (unsigned)v; break;
				case IE_bgpSourceAsNumber: o->src_as = (unsigned)v; break;
				case IE_bgpDestinationAsNumber: o->dst_as = (unsigned)v; break;
				default: break;
				}
			}
		}
		assert_int_equal(rc, ERR_END);
	}
	tmpl_store_mem_free(&m);
}

static struct conf *parse(const char *text)
{
	struct conf *c = conf_parse_text(text, strlen(text), "test", NULL, NULL);
	assert_non_null(c);
	return c;
}

static void rec(struct flowrec *r, uint32_t src, uint32_t dst, unsigned smask, uint64_t t, unsigned i)
{
	memset(r, 0, sizeof(*r));
	r->key.af = 4;
	poke_u32(r->key.src, src);
	poke_u32(r->key.dst, dst);
	r->key.sport = (uint16_t)(1000 + i % 3);
	r->key.dport = 80;
	r->key.proto = 6;
	r->key.tos = (uint8_t)(i % 2 ? 0x20 : 0);
	r->key.ifindex = 2;
	r->if_out = 5;
	r->src_mask = (uint8_t)smask;
	r->dst_mask = 0;
	r->src_as = 70000; /* 4-byte AS: v8 carries AS_TRANS */
	r->dst_as = 65001;
	r->packets = 10 + i;
	r->bytes = 1000 + i;
	r->first_us = t;
	r->last_us = t + 500000;
}

struct run {
	struct agg *ag;
	struct rt_hooks h;
	struct conf *c;
	struct rx rx;
};

static void start(struct run *r, const char *fmt)
{
	char text[4096];
	rx_open(&r->rx);
	snprintf(text, sizeof(text), fmt, r->rx.port, r->rx.port, r->rx.port);
	r->c = parse(text);
	r->ag = agg_new(NULL);
	agg_hooks(r->ag, &r->h);
	char err[256] = "";
	assert_int_equal(r->h.apply(r->h.arg, NULL, r->c, err, sizeof(err)), 0);
}

static void stop(struct run *r)
{
	agg_free(r->ag);
	conf_free(r->c);
	close(r->rx.fd);
}

/* prefix masks: the record's mask wins over a smaller minimum; v8 AS_TRANS */
static void test_source_prefix_masks(void **state)
{
	(void)state;
	struct run r;
	start(&r, "flow-sampler-map S1\n mode random one-out-of 100\n"
	          "interface e0\n ip flow ingress\n flow-sampler S1\n"
	          "ip flow-aggregation cache source-prefix\n"
	          " mask source minimum 16\n"
	          " export destination 127.0.0.1 %u\n"
	          " enabled\n");
	struct flowrec f;
	/* 10.1.2.3/8 -> mask 16 (the minimum) -> 10.1.0.0/16; 10.1.9.9 joins it */
	rec(&f, 0x0a010203, 0xc0a80001, 8, T0, 0);
	r.h.record(r.h.arg, &f, T0 + SEC);
	rec(&f, 0x0a010909, 0xc0a80002, 0, T0 + SEC, 1);
	r.h.record(r.h.arg, &f, T0 + 2 * SEC);
	/* 10.1.2.3 with a /24 route: its own entry 10.1.2.0/24 */
	rec(&f, 0x0a010203, 0xc0a80003, 24, T0 + 2 * SEC, 2);
	r.h.record(r.h.arg, &f, T0 + 3 * SEC);
	struct agg_counters c;
	assert_int_equal(agg_counters(r.ag, CONF_AGG_SRC_PREFIX, &c), 0);
	assert_int_equal(c.in_use, 2);
	assert_int_equal(c.flows_in, 3);
	char *buf = NULL;
	size_t blen = 0;
	FILE *out = open_memstream(&buf, &blen);
	r.h.show_agg(r.h.arg, out, conf_find_agg(r.c, CONF_AGG_SRC_PREFIX), false);
	r.h.show_agg(r.h.arg, out, conf_find_agg(r.c, CONF_AGG_SRC_PREFIX), true);
	fclose(out);
	assert_non_null(strstr(buf, "IP Flow Aggregation Cache source-prefix, 4096 entries"));
	assert_non_null(strstr(buf, "10.1.0.0        /16"));
	assert_non_null(strstr(buf, "\"sourceIPv4Prefix\":\"10.1.2.0\",\"sourceIPv4PrefixLength\":24"));
	free(buf);
	r.h.flush(r.h.arg, T0 + 4 * SEC);
	struct gotv g = { 0 };
	rx_drain(&r.rx, &g);
	assert_int_equal(g.n, 2);
	for (size_t i = 0; i < g.n; i++) {
		assert_int_equal(g.v[i].version, 8);
		assert_int_equal(g.v[i].scheme, NF8_SRC_PREFIX);
		assert_int_equal(g.v[i].src_as, 23456);
		assert_int_equal(g.v[i].sampling, 2u << 14 | 100); /* the main cache's random 1 out of 100 */
		assert_int_equal(g.v[i].in, 2);
		if (g.v[i].smask == 16) {
			assert_int_equal(g.v[i].src, 0x0a010000);
			assert_int_equal(g.v[i].flows, 2);
			assert_int_equal(g.v[i].packets, 21);
			assert_int_equal(g.v[i].bytes, 2001);
			assert_int_equal(g.v[i].first_us, T0);
			assert_int_equal(g.v[i].last_us, T0 + SEC + 500000);
		} else {
			assert_int_equal(g.v[i].smask, 24);
			assert_int_equal(g.v[i].src, 0x0a010200);
			assert_int_equal(g.v[i].flows, 1);
		}
	}
	free(g.v);
	stop(&r);
}

/* inactive and active timeouts on the cache clock; IPv6 counted */
static void test_timeouts(void **state)
{
	(void)state;
	struct run r;
	start(&r, "ip flow-aggregation cache protocol-port-tos\n"
	          " cache timeout inactive 10\n"
	          " cache timeout active 1\n"
	          " export destination 127.0.0.1 %u\n"
	          " enabled\n");
	struct flowrec f;
	rec(&f, 0x0a000001, 0x0a000002, 0, T0, 0); /* key A: sport 1000, tos 0 */
	r.h.record(r.h.arg, &f, T0);
	rec(&f, 0x0a000001, 0x0a000002, 0, T0, 1); /* key B: sport 1001, tos 0x20 */
	r.h.record(r.h.arg, &f, T0);
	struct flowrec v6 = f;
	v6.key.af = 6;
	r.h.record(r.h.arg, &v6, T0);
	struct agg_counters c;
	agg_tick(r.ag, T0 + 9 * SEC);
	assert_int_equal(agg_counters(r.ag, CONF_AGG_PROTOCOL_PORT_TOS, &c), 0);
	assert_int_equal(c.in_use, 2);
	assert_int_equal(c.not_ipv4, 1);
	/* A is fed every 5 s: never idle, but older than the active minute */
	for (uint64_t t = 5; t <= 55; t += 5) {
		rec(&f, 0x0a000001, 0x0a000002, 0, T0 + t * SEC, 0);
		r.h.record(r.h.arg, &f, T0 + t * SEC);
		agg_tick(r.ag, T0 + t * SEC);
	}
	agg_counters(r.ag, CONF_AGG_PROTOCOL_PORT_TOS, &c);
	assert_int_equal(c.exported[FLOW_END_IDLE], 1); /* B, at 10 s */
	assert_int_equal(c.in_use, 1);
	agg_tick(r.ag, T0 + 60 * SEC);
	agg_counters(r.ag, CONF_AGG_PROTOCOL_PORT_TOS, &c);
	assert_int_equal(c.exported[FLOW_END_ACTIVE], 1);
	assert_int_equal(c.in_use, 0);
	r.h.flush(r.h.arg, T0 + 61 * SEC);
	struct gotv g = { 0 };
	rx_drain(&r.rx, &g);
	assert_int_equal(g.n, 2);
	uint64_t flows = 0;
	for (size_t i = 0; i < g.n; i++) {
		flows += g.v[i].flows;
		assert_int_equal(g.v[i].scheme, NF8_PROTO_PORT_TOS);
		assert_int_equal(g.v[i].in, 2);
		assert_int_equal(g.v[i].out, 5);
		if (g.v[i].sport == 1000)
			assert_int_equal(g.v[i].flows, 12);
		else
			assert_int_equal(g.v[i].tos, 0x20);
	}
	assert_int_equal(flows, 13);
	free(g.v);
	stop(&r);
}

/* a full cache exports its longest-idle entry early; nothing is lost */
static void test_full_cache(void **state)
{
	(void)state;
	struct run r;
	start(&r, "ip flow-aggregation cache prefix\n"
	          " cache entries 1024\n"
	          " mask source minimum 32\n"
	          " mask destination minimum 32\n"
	          " export destination 127.0.0.1 %u\n"
	          " export version 9\n"
	          " enabled\n");
	struct flowrec f;
	const unsigned n = 3000;
	uint64_t pk = 0;
	for (unsigned i = 0; i < n; i++) {
		rec(&f, 0x0b000000 + i % 1500, 0x0c000001, 0, T0 + i * 1000, i);
		pk += f.packets;
		r.h.record(r.h.arg, &f, T0 + i * 1000);
		if (i % 100 == 0)
			agg_tick(r.ag, T0 + i * 1000);
	}
	struct agg_counters c;
	agg_counters(r.ag, CONF_AGG_PREFIX, &c);
	assert_int_equal(c.in_use, 1024);
	assert_true(c.exported[FLOW_END_EMERGENCY] > 0);
	r.h.flush(r.h.arg, T0 + 10 * SEC);
	agg_counters(r.ag, CONF_AGG_PREFIX, &c);
	assert_int_equal(c.lost, 0);
	struct gotv g = { 0 };
	rx_drain(&r.rx, &g);
	assert_int_equal(g.n, c.added);
	uint64_t flows = 0, pkts = 0;
	for (size_t i = 0; i < g.n; i++) {
		assert_int_equal(g.v[i].version, 9);
		assert_int_equal(g.v[i].scheme, 0x100 + CONF_AGG_PREFIX);
		assert_int_equal(g.v[i].smask, 32);
		assert_int_equal(g.v[i].src_as, 70000); /* v9: 4-byte AS */
		flows += g.v[i].flows;
		pkts += g.v[i].packets;
	}
	assert_int_equal(flows, n);
	assert_int_equal(pkts, pk);
	free(g.v);
	stop(&r);
}

/* reload: same entries keep the cache (and its entries); a removed cache
 * exports what it holds */
static void test_reload(void **state)
{
	(void)state;
	struct run r;
	start(&r, "ip flow-aggregation cache as\n"
	          " export destination 127.0.0.1 %u\n"
	          " enabled\n"
	          "ip flow-aggregation cache destination-prefix\n"
	          " export destination 127.0.0.1 %u\n"
	          " enabled\n");
	struct flowrec f;
	rec(&f, 0x0a000001, 0x0a000002, 0, T0, 0);
	r.h.record(r.h.arg, &f, T0);
	char text[1024];
	snprintf(text, sizeof(text),
	         "ip flow-aggregation cache as\n"
	         " cache timeout inactive 30\n"
	         " export destination 127.0.0.1 %u\n"
	         " enabled\n",
	         r.rx.port);
	struct conf *c2 = parse(text);
	char err[256] = "";
	assert_int_equal(r.h.apply(r.h.arg, r.c, c2, err, sizeof(err)), 0);
	r.h.commit(r.h.arg, true);
	conf_free(r.c);
	r.c = c2;
	struct agg_counters c;
	assert_int_equal(agg_counters(r.ag, CONF_AGG_AS, &c), 0);
	assert_int_equal(c.in_use, 1); /* kept */
	assert_int_equal(agg_counters(r.ag, CONF_AGG_DST_PREFIX, &c), -1);
	struct gotv g = { 0 };
	rx_drain(&r.rx, &g);
	assert_int_equal(g.n, 1); /* destination-prefix's entry, exported at the reload */
	assert_int_equal(g.v[0].scheme, NF8_DST_PREFIX);
	/* the new inactive timeout applies: not idle at 20 s, idle at 30 s */
	agg_tick(r.ag, T0 + 20 * SEC);
	assert_int_equal(agg_counters(r.ag, CONF_AGG_AS, &c), 0);
	assert_int_equal(c.in_use, 1);
	agg_tick(r.ag, T0 + 30 * SEC);
	agg_counters(r.ag, CONF_AGG_AS, &c);
	assert_int_equal(c.in_use, 0);
	/* a refused reload leaves everything as it was */
	struct conf *c3 = parse("ip flow-aggregation cache prefix\n enabled\n");
	assert_int_equal(r.h.apply(r.h.arg, r.c, c3, err, sizeof(err)), 0);
	r.h.commit(r.h.arg, false);
	conf_free(c3);
	assert_int_equal(agg_counters(r.ag, CONF_AGG_PREFIX, &c), -1);
	assert_int_equal(agg_counters(r.ag, CONF_AGG_AS, &c), 0);
	free(g.v);
	stop(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_source_prefix_masks),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_full_cache),
		cmocka_unit_test(test_reload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
