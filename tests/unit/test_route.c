/* test_route.c — the routing table and its loaders: longest-prefix match
 * equals a brute-force scan over random tables (IPv4 and IPv6); each
 * file format (ipflow, ip route, birdc show route [all], BIRD 1) gives
 * the routes it lists; malformed lines are counted and named by line
 * number without stopping the rest; annotate fills the record; the
 * bgpNextHop fields (IE 18/63) go through the one record writer/reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf/apply.h"
#include "export/template.h"
#include "meter/route.h"

/* --- brute force ----------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static bool bits_match(const uint8_t *a, const uint8_t *b, unsigned plen)
{
	unsigned full = plen / 8, rest = plen % 8;
	if (memcmp(a, b, full) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t m = (uint8_t)(0xff << (8 - rest));
	return (a[full] & m) == (b[full] & m);
}

static void clear_past(uint8_t *a, unsigned plen, unsigned alen)
{
	for (unsigned i = 0; i < alen; i++) {
		unsigned lo = i * 8;
		if (lo >= plen)
			a[i] = 0;
		else if (plen - lo < 8)
			a[i] &= (uint8_t)(0xff << (8 - (plen - lo)));
	}
}

/* The last route given for the longest matching prefix. */
/* a's first r->plen bits become r's prefix; the rest stay as they are */
static void put_inside(const struct route *r, uint8_t *a)
{
	for (unsigned b = 0; b < 16; b++) {
		unsigned lo = b * 8;
		if (lo + 8 <= r->plen)
			a[b] = r->prefix[b];
		else if (lo < r->plen) {
			uint8_t m = (uint8_t)(0xff << (8 - (r->plen - lo)));
			a[b] = (uint8_t)((r->prefix[b] & m) | (a[b] & ~m));
		}
	}
}

static const struct route *brute(const struct route *rs, size_t n, int af, const uint8_t *addr)
{
	const struct route *best = NULL;
	for (size_t i = 0; i < n; i++) {
		if (rs[i].af != af || !bits_match(rs[i].prefix, addr, rs[i].plen))
			continue;
		if (!best || rs[i].plen >= best->plen)
			best = &rs[i];
	}
	return best;
}

static void lpm_vs_brute_c(int af, size_t nroutes, size_t nlook, bool compiled, bool cluster)
{
	unsigned alen = af == 4 ? 4 : 16, maxp = af == 4 ? 32 : 128;
	struct route *rs = calloc(nroutes, sizeof(*rs));
	assert_non_null(rs);
	struct route_table *t = route_table_new();
	assert_non_null(t);
	/* prefixes nest: a tenth are drawn inside an earlier one, so long
	 * chains and splits happen; some repeat exactly (replacements) */
	for (size_t i = 0; i < nroutes; i++) {
		struct route *r = &rs[i];
		r->af = (uint8_t)af;
		if (i > 8 && rnd() % 10 == 0) {
			*r = rs[rnd() % i];
			if (rnd() % 3) { /* a longer prefix inside it */
				unsigned old = r->plen, more = (unsigned)(rnd() % (maxp - old + 1));
				for (unsigned b = 0; b < alen; b++) {
					uint8_t keep = b * 8 + 8 <= old ? 0xff : b * 8 < old ? (uint8_t)(0xff << (8 - (old - b * 8))) : 0;
					r->prefix[b] = (uint8_t)((r->prefix[b] & keep) | ((uint8_t)rnd() & ~keep));
				}
				r->plen = (uint8_t)(old + more);
			}
		} else {
			for (unsigned b = 0; b < alen; b++)
				r->prefix[b] = (uint8_t)rnd();
			if (af == 6 && (cluster || rnd() % 2)) /* a common /16 so paths share nodes */
				r->prefix[0] = 0x20, r->prefix[1] = 0x01;
			r->plen = (uint8_t)(rnd() % (maxp + 1));
		}
		clear_past(r->prefix, r->plen, 16);
		r->origin_as = (uint32_t)i + 1; /* identifies the line */
		r->peer_as = (uint32_t)rnd();
		assert_int_equal(route_table_add(t, r, NULL), 0);
	}
	if (compiled)
		assert_int_equal(route_table_compile(t), 0);
	size_t hits = 0;
	for (size_t j = 0; j < nlook; j++) {
		uint8_t a[16] = { 0 };
		for (unsigned b = 0; b < alen; b++)
			a[b] = (uint8_t)rnd();
		if (j % 2) /* half the addresses inside a route, past its prefix bits random */
			put_inside(&rs[rnd() % nroutes], a);
		const struct route *want = brute(rs, nroutes, af, a);
		const struct route *got = route_lookup(t, af, a);
		if (!want) {
			assert_null(got);
			continue;
		}
		hits++;
		assert_non_null(got);
		assert_int_equal(got->plen, want->plen);
		assert_memory_equal(got->prefix, want->prefix, 16);
		assert_int_equal(got->origin_as, want->origin_as);
		assert_int_equal(got->peer_as, want->peer_as);
	}
	assert_true(hits > nlook / 2);
	route_table_free(t);
	free(rs);
}

static void lpm_vs_brute(int af, size_t nroutes, size_t nlook, bool compiled)
{
	lpm_vs_brute_c(af, nroutes, nlook, compiled, false);
}

static void test_lpm_v4(void **state)
{
	(void)state;
	for (int round = 0; round < 6; round++) /* the trie, and the compiled tables */
		lpm_vs_brute(4, 3000, 20000, round % 2);
	lpm_vs_brute(4, 20, 5000, false); /* small tables: mostly misses and /0 */
	lpm_vs_brute(4, 20, 5000, true);
}

static void test_lpm_v6(void **state)
{
	(void)state;
	for (int round = 0; round < 6; round++)
		lpm_vs_brute(6, 3000, 20000, round % 2);
	lpm_vs_brute(6, 20, 5000, true);
	/* one /16 with more than 4096 longer routes: its second level */
	lpm_vs_brute_c(6, 9000, 12000, true, true);
}

static void test_lpm_edges(void **state)
{
	(void)state;
	struct route_table *t = route_table_new();
	struct route r = { .af = 4, .plen = 0, .origin_as = 1 };
	uint8_t a[16] = { 10, 1, 2, 3 };
	assert_null(route_lookup(t, 4, a));
	assert_int_equal(route_table_add(t, &r, NULL), 0); /* default route */
	assert_int_equal(route_lookup(t, 4, a)->origin_as, 1);
	assert_null(route_lookup(t, 6, a)); /* the other family is separate */
	/* a host route and a prefix given with host bits set (cleared) */
	struct route h = { .af = 4, .plen = 32, .prefix = { 10, 1, 2, 3 }, .origin_as = 2 };
	struct route p = { .af = 4, .plen = 8, .prefix = { 10, 9, 9, 9 }, .origin_as = 3 };
	assert_int_equal(route_table_add(t, &h, NULL), 0);
	assert_int_equal(route_table_add(t, &p, NULL), 0);
	assert_int_equal(route_lookup(t, 4, a)->origin_as, 2);
	uint8_t b[4] = { 10, 1, 2, 4 };
	const struct route *got = route_lookup(t, 4, b);
	assert_int_equal(got->origin_as, 3);
	assert_int_equal(got->prefix[1], 0);
	bool rep = false;
	p.origin_as = 4;
	assert_int_equal(route_table_add(t, &p, &rep), 0);
	assert_true(rep);
	assert_int_equal(route_lookup(t, 4, b)->origin_as, 4);
	assert_int_equal(route_table_count(t, 4), 3);
	/* compiled, then an add: the add is seen (the tables are dropped) */
	assert_int_equal(route_table_compile(t), 0);
	assert_int_equal(route_lookup(t, 4, a)->origin_as, 2);
	assert_int_equal(route_lookup(t, 4, b)->origin_as, 4);
	struct route q = { .af = 4, .plen = 30, .prefix = { 10, 1, 2, 4 }, .origin_as = 5 };
	assert_int_equal(route_table_add(t, &q, NULL), 0);
	assert_int_equal(route_lookup(t, 4, b)->origin_as, 5);
	assert_int_equal(route_table_compile(t), 0);
	assert_int_equal(route_lookup(t, 4, b)->origin_as, 5);
	assert_int_equal(route_lookup(t, 4, a)->origin_as, 2);
	struct route bad = { .af = 4, .plen = 33 };
	assert_int_equal(route_table_add(t, &bad, NULL), -1);
	bad.af = 5;
	bad.plen = 8;
	assert_int_equal(route_table_add(t, &bad, NULL), -1);
	route_table_free(t);
	route_table_free(NULL);
}

/* --- loaders --------------------------------------------------------------- */

static uint32_t fake_if(void *arg, const char *name)
{
	(void)arg;
	if (strcmp(name, "eth0") == 0)
		return 2;
	if (strcmp(name, "eth1") == 0)
		return 3;
	if (strcmp(name, "lo") == 0)
		return 1;
	return 0;
}

struct diags {
	unsigned n, warn;
	unsigned line[32];
};

static void on_diag(void *arg, const char *file, unsigned line, bool warning, const char *text)
{
	struct diags *d = arg;
	(void)file;
	(void)text;
	if (warning) {
		d->warn++;
		return;
	}
	if (d->n < 32)
		d->line[d->n] = line;
	d->n++;
}

static struct route_table *load(const char *text, struct route_load_stats *st, struct diags *d)
{
	struct route_table *t = route_table_new();
	struct route_load_opts o = { .ifname = fake_if, .diag = on_diag, .diag_arg = d };
	memset(d, 0, sizeof(*d));
	route_load_buf(t, "test", text, strlen(text), &o, st);
	return t;
}

static const struct route *look(const struct route_table *t, const char *addr)
{
	uint8_t a[16];
	int af = strchr(addr, ':') ? 6 : 4;
	assert_int_equal(inet_pton(af == 6 ? AF_INET6 : AF_INET, addr, a), 1);
	return route_lookup(t, af, a);
}

static void assert_addr(const uint8_t *a, const char *want)
{
	char s[64];
	bool v6 = strchr(want, ':') != NULL;
	inet_ntop(v6 ? AF_INET6 : AF_INET, a, s, sizeof(s));
	assert_string_equal(s, want);
}

static void test_fmt_ipflow(void **state)
{
	(void)state;
	const char *f = "# ipflow route table\n"
	                "\n"
	                "10.0.0.0/8      192.0.2.1  65001  65100  eth0\n"
	                "10.1.0.0/16     192.0.2.2  4200000000 65100 3 198.51.100.7   # a comment\n"
	                "10.1.2.3        -          1.10   -      -\n"
	                "2001:db8::/32   2001:db8::1 65010 65011 eth1 2001:db8:ffff::1\r\n"
	                "0.0.0.0/0       192.0.2.254 AS64512 64513 wlan9\n";
	struct route_load_stats st;
	struct diags d;
	struct route_table *t = load(f, &st, &d);
	assert_int_equal(st.fmt, ROUTE_FMT_IPFLOW);
	assert_int_equal(st.malformed, 0);
	assert_int_equal(st.routes, 5);
	assert_int_equal(st.unknown_if, 1); /* wlan9: kept with ifindex 0, a warning */
	assert_int_equal(d.warn, 1);
	assert_int_equal(route_table_count(t, 4), 4);
	assert_int_equal(route_table_count(t, 6), 1);
	const struct route *r = look(t, "10.200.0.1");
	assert_int_equal(r->plen, 8);
	assert_int_equal(r->origin_as, 65001);
	assert_int_equal(r->peer_as, 65100);
	assert_int_equal(r->ifindex, 2);
	assert_addr(r->nexthop, "192.0.2.1");
	r = look(t, "10.1.9.9");
	assert_int_equal(r->plen, 16);
	assert_int_equal(r->origin_as, 4200000000u);
	assert_int_equal(r->ifindex, 3);
	assert_addr(r->bgp_nexthop, "198.51.100.7");
	r = look(t, "10.1.2.3");
	assert_int_equal(r->plen, 32);
	assert_int_equal(r->origin_as, 65546); /* asdot 1.10 */
	assert_int_equal(r->peer_as, 0);
	assert_addr(r->nexthop, "0.0.0.0");
	r = look(t, "2001:db8:1::5");
	assert_int_equal(r->plen, 32);
	assert_int_equal(r->ifindex, 3);
	assert_addr(r->bgp_nexthop, "2001:db8:ffff::1");
	r = look(t, "192.168.1.1");
	assert_int_equal(r->plen, 0);
	assert_int_equal(r->origin_as, 64512);
	assert_int_equal(r->ifindex, 0);
	assert_null(look(t, "2001:db9::1"));
	route_table_free(t);
}

/* A prefix given on several lines: the last line wins, wherever the
 * lines are in the file (the loader sorts the routes before adding them,
 * and the sort must keep the lines' order among equal prefixes). 200
 * IPv4 /24s and 200 IPv6 /48s, 6000 lines drawn from them at random, the
 * origin AS of each line its line number. */
static void test_last_line_wins(void **state)
{
	(void)state;
	enum { POOL = 200, LINES = 6000 };
	static char text[LINES * 64];
	unsigned last[2][POOL] = { { 0 } };
	size_t len = 0;
	for (unsigned line = 1; line <= LINES; line++) {
		unsigned v6 = rnd() % 2, k = (unsigned)(rnd() % POOL);
		if (v6)
			len += (size_t)snprintf(text + len, sizeof(text) - len, "2001:db8:%x::/48 - %u - -\n", k, line);
		else
			len += (size_t)snprintf(text + len, sizeof(text) - len, "10.%u.%u.0/24 - %u - -\n", k / 100, k % 100,
			                        line);
		last[v6][k] = line;
	}
	struct route_load_stats st;
	struct diags d;
	struct route_table *t = load(text, &st, &d);
	assert_int_equal(st.malformed, 0);
	assert_int_equal(st.routes, LINES);
	unsigned distinct = 0;
	for (unsigned f = 0; f < 2; f++)
		for (unsigned k = 0; k < POOL; k++) {
			if (!last[f][k])
				continue;
			distinct++;
			char a[64];
			if (f)
				snprintf(a, sizeof(a), "2001:db8:%x::1", k);
			else
				snprintf(a, sizeof(a), "10.%u.%u.1", k / 100, k % 100);
			const struct route *r = look(t, a);
			assert_non_null(r);
			assert_int_equal(r->origin_as, last[f][k]);
		}
	assert_int_equal(st.replaced, LINES - distinct);
	route_table_free(t);
}

/* The loader (which sorts the lines before adding them) gives the table
 * that adding the same routes in line order gives: 30000 lines of random
 * prefixes, every length, both families, nested and repeated, looked up
 * at random addresses and at addresses inside the routes. */
static void test_load_equals_line_order(void **state)
{
	(void)state;
	enum { LINES = 30000 };
	static struct route rs[LINES];
	static char text[LINES * 80];
	size_t len = 0;
	struct route_table *direct = route_table_new();
	assert_non_null(direct);
	for (size_t i = 0; i < LINES; i++) {
		struct route *r = &rs[i];
		memset(r, 0, sizeof(*r));
		if (i > 0 && rnd() % 8 == 0) { /* a repeat, or a prefix inside an earlier one */
			*r = rs[rnd() % i];
			if (rnd() % 2 && r->plen < (r->af == 4 ? 32 : 128))
				r->plen = (uint8_t)(r->plen + 1 + rnd() % ((r->af == 4 ? 32u : 128u) - r->plen));
		} else {
			r->af = rnd() % 3 ? 4 : 6;
			for (unsigned b = 0; b < 16; b++)
				r->prefix[b] = (uint8_t)rnd();
			if (r->af == 6 && rnd() % 2)
				r->prefix[0] = 0x20, r->prefix[1] = 0x01;
			r->plen = (uint8_t)(rnd() % ((r->af == 4 ? 32u : 128u) + 1));
		}
		clear_past(r->prefix, r->plen, r->af == 4 ? 4 : 16);
		r->origin_as = (uint32_t)i + 1;
		char a[64];
		inet_ntop(r->af == 4 ? AF_INET : AF_INET6, r->prefix, a, sizeof(a));
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s/%u - %u - -\n", a, r->plen, r->origin_as);
		assert_int_equal(route_table_add(direct, r, NULL), 0);
	}
	struct route_load_stats st;
	struct diags d;
	struct route_table *t = load(text, &st, &d);
	assert_int_equal(st.malformed, 0);
	assert_int_equal(st.routes, LINES);
	assert_int_equal(route_table_count(t, 4), route_table_count(direct, 4));
	assert_int_equal(route_table_count(t, 6), route_table_count(direct, 6));
	for (unsigned j = 0; j < 40000; j++) {
		int af = j % 3 ? 4 : 6;
		uint8_t a[16];
		for (unsigned b = 0; b < 16; b++)
			a[b] = (uint8_t)rnd();
		if (j % 2) { /* inside a route, past its prefix random */
			const struct route *r = &rs[rnd() % LINES];
			af = r->af;
			put_inside(r, a);
		}
		const struct route *x = route_lookup(t, af, a), *y = route_lookup(direct, af, a);
		assert_int_equal(x != NULL, y != NULL);
		if (!x)
			continue;
		assert_int_equal(x->plen, y->plen);
		assert_memory_equal(x->prefix, y->prefix, 16);
		assert_int_equal(x->origin_as, y->origin_as);
	}
	route_table_free(t);
	route_table_free(direct);
}

static void test_fmt_iproute(void **state)
{
	(void)state;
	const char *f = "default via 192.168.1.1 dev eth0 proto dhcp src 192.168.1.5 metric 100\n"
	                "10.0.0.0/8 via 10.9.9.9 dev eth1 proto static\n"
	                "192.168.1.0/24 dev eth0 proto kernel scope link src 192.168.1.5\n"
	                "blackhole 10.66.0.0/16 proto static\n"
	                "172.16.0.0/12 proto static metric 20\n"
	                "\tnexthop via 192.168.1.2 dev eth0 weight 1\n"
	                "\tnexthop via 192.168.1.3 dev eth1 weight 1\n"
	                "local 192.168.1.5 dev eth0 table local proto kernel scope host src 192.168.1.5\n"
	                "broadcast 192.168.1.255 dev eth0 table local proto kernel scope link src 192.168.1.5\n"
	                "10.77.0.0/16 via 10.9.9.1 dev eth1 table 100\n";
	struct route_load_stats st;
	struct diags d;
	struct route_table *t = load(f, &st, &d);
	assert_int_equal(st.fmt, ROUTE_FMT_IPROUTE);
	assert_int_equal(st.malformed, 0);
	assert_int_equal(st.routes, 5);
	assert_int_equal(st.skipped, 3); /* local, broadcast, table 100 */
	const struct route *r = look(t, "8.8.8.8");
	assert_int_equal(r->plen, 0);
	assert_addr(r->nexthop, "192.168.1.1");
	assert_int_equal(r->ifindex, 2);
	r = look(t, "10.2.3.4");
	assert_int_equal(r->plen, 8);
	assert_addr(r->nexthop, "10.9.9.9");
	assert_int_equal(r->ifindex, 3);
	assert_int_equal(r->origin_as, 0);
	r = look(t, "192.168.1.5"); /* local table entries are not routes */
	assert_int_equal(r->plen, 24);
	assert_addr(r->nexthop, "0.0.0.0");
	r = look(t, "10.66.1.1");
	assert_int_equal(r->plen, 16);
	r = look(t, "172.20.0.1"); /* multipath: the first next hop */
	assert_int_equal(r->plen, 12);
	assert_addr(r->nexthop, "192.168.1.2");
	assert_int_equal(r->ifindex, 2);
	assert_int_equal(look(t, "10.77.1.1")->plen, 8); /* table 100 skipped */
	route_table_free(t);

	const char *f6 = "::1 dev lo proto kernel metric 256 pref medium\n"
	                 "2001:db8:1::/64 dev eth0 proto kernel metric 256 expires 86000sec pref medium\n"
	                 "fe80::/64 dev eth0 proto kernel metric 256 pref medium\n"
	                 "default via fe80::1 dev eth1 proto ra metric 1024 expires 1799sec hoplimit 64 pref medium\n";
	t = load(f6, &st, &d);
	assert_int_equal(st.fmt, ROUTE_FMT_IPROUTE);
	assert_int_equal(st.malformed, 0);
	assert_int_equal(route_table_count(t, 6), 4);
	assert_int_equal(route_table_count(t, 4), 0);
	r = look(t, "2001:db8:2::1");
	assert_int_equal(r->plen, 0);
	assert_addr(r->nexthop, "fe80::1");
	assert_int_equal(r->ifindex, 3);
	r = look(t, "2001:db8:1::99");
	assert_int_equal(r->plen, 64);
	assert_int_equal(r->ifindex, 2);
	assert_int_equal(look(t, "::1")->plen, 128);
	route_table_free(t);
}

static void test_fmt_bird(void **state)
{
	(void)state;
	/* BIRD 2 `show route all`: two routes for 10.0.0.0/8, the primary second */
	const char *f = "BIRD 2.0.8 ready.\n"
	                "Table master4:\n"
	                "10.0.0.0/8           unicast [bgp2 2024-01-01 from 192.0.2.2] (100) [AS65009i]\n"
	                "\tvia 192.0.2.2 on eth1\n"
	                "\tType: BGP univ\n"
	                "\tBGP.origin: IGP\n"
	                "\tBGP.as_path: 65002 65005 65009\n"
	                "\tBGP.next_hop: 192.0.2.2\n"
	                "                     unicast [bgp1 2024-01-01 from 192.0.2.1] * (100) [AS65003i]\n"
	                "\tvia 192.0.2.1 on eth0\n"
	                "\tType: BGP univ\n"
	                "\tBGP.as_path: 65001 {65002 65003}\n"
	                "\tBGP.next_hop: 198.51.100.1\n"
	                "\tBGP.local_pref: 100\n"
	                "192.168.0.0/16       unicast [static1 2024-01-01] * (200)\n"
	                "\tdev eth1\n"
	                "\tType: static univ\n"
	                "203.0.113.0/24       unicast [bgp1 12:00:00.000] * (100) [AS4200000001i]\n"
	                "\tvia 192.0.2.1 on eth0 weight 1\n"
	                "\tvia 192.0.2.9 on eth1 weight 1\n"
	                "\n"
	                "Table master6:\n"
	                "2001:db8::/32        unicast [bgp6 2024-01-01] * (100) [AS65020i]\n"
	                "\tvia 2001:db8:ff::1 on eth0\n"
	                "\tBGP.as_path: 65019 65020\n"
	                "\tBGP.next_hop: 2001:db8:ff::1 fe80::1\n";
	struct route_load_stats st;
	struct diags d;
	struct route_table *t = load(f, &st, &d);
	assert_int_equal(st.fmt, ROUTE_FMT_BIRD);
	assert_int_equal(st.malformed, 0);
	assert_int_equal(st.routes, 4);
	const struct route *r = look(t, "10.1.1.1"); /* the primary (*) route */
	assert_int_equal(r->plen, 8);
	assert_int_equal(r->origin_as, 65003); /* last AS of the path (inside its set) */
	assert_int_equal(r->peer_as, 65001);   /* first */
	assert_addr(r->nexthop, "192.0.2.1");
	assert_addr(r->bgp_nexthop, "198.51.100.1");
	assert_int_equal(r->ifindex, 2);
	r = look(t, "192.168.3.3");
	assert_int_equal(r->plen, 16);
	assert_int_equal(r->ifindex, 3);
	assert_int_equal(r->origin_as, 0);
	assert_addr(r->nexthop, "0.0.0.0");
	r = look(t, "203.0.113.9"); /* no path: [ASn] is the origin; first next hop */
	assert_int_equal(r->origin_as, 4200000001u);
	assert_int_equal(r->peer_as, 0);
	assert_addr(r->nexthop, "192.0.2.1");
	r = look(t, "2001:db8:5::1");
	assert_int_equal(r->plen, 32);
	assert_int_equal(r->origin_as, 65020);
	assert_int_equal(r->peer_as, 65019);
	assert_addr(r->bgp_nexthop, "2001:db8:ff::1");
	route_table_free(t);

	/* BIRD 1 `show route`: next hop on the route line */
	const char *f1 = "0.0.0.0/0          via 192.0.2.254 on eth0 [kernel1 2024-01-01] * (10)\n"
	                 "198.18.0.0/15      via 192.0.2.7 on eth1 [bgp1 2024-01-01] * (100) [AS65077i]\n"
	                 "                   via 192.0.2.8 on eth0 [bgp2 2024-01-01] (100) [AS65078i]\n"
	                 "198.51.100.0/24    via 192.0.2.7 on eth1 [bgp1 2024-01-01] (100) [AS65077i]\n"
	                 "                   via 192.0.2.8 on eth0 [bgp2 2024-01-01] * (100) [AS65078i]\n";
	t = load(f1, &st, &d);
	assert_int_equal(st.fmt, ROUTE_FMT_BIRD);
	assert_int_equal(st.malformed, 0);
	assert_int_equal(st.routes, 3);
	r = look(t, "198.51.100.1"); /* the primary is the second route */
	assert_int_equal(r->origin_as, 65078);
	assert_addr(r->nexthop, "192.0.2.8");
	assert_int_equal(r->ifindex, 2);
	r = look(t, "198.19.1.1");
	assert_int_equal(r->plen, 15);
	assert_int_equal(r->origin_as, 65077);
	assert_addr(r->nexthop, "192.0.2.7");
	assert_int_equal(r->ifindex, 3);
	assert_int_equal(look(t, "1.1.1.1")->ifindex, 2);
	route_table_free(t);
}

static void test_malformed(void **state)
{
	(void)state;
	char big[ROUTE_LINE_MAX + 100];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	char f[sizeof(big) + 1024];
	snprintf(f, sizeof(f),
	         "10.0.0.0/8 192.0.2.1 1 2 eth0\n"       /* 1 ok */
	         "10.0.0.0/33 192.0.2.1 1 2 eth0\n"      /* 2 bad length */
	         "10.1.0.0/16 2001:db8::1 1 2 eth0\n"    /* 3 next hop of the other family */
	         "10.2.0.0/16 192.0.2.1 x 2 eth0\n"      /* 4 bad AS */
	         "10.3.0.0/16 192.0.2.1 1 4294967296 0\n" /* 5 AS too large */
	         "10.4.0.0/16 192.0.2.1 1 2\n"           /* 6 too few words */
	         "%s\n"                                  /* 7 too long */
	         "10.5.0.0/16 192.0.2.1 1 2 eth0\n"      /* 8 ok */
	         "banana/16 192.0.2.1 1 2 eth0\n"        /* 9 bad prefix */
	         "10.6.0.0/16 192.0.2.1 1 2 eth0 1.2.3\n" /* 10 bad BGP next hop */
	         "10.7.0.0/16 192.0.2.1 1.99999 2 eth0\n" /* 11 bad asdot */
	         "10.8.0.0/16 192.0.2.1 1 2 eth0",      /* 12 ok, no final newline */
	         big);
	struct route_load_stats st;
	struct diags d;
	struct route_table *t = load(f, &st, &d);
	assert_int_equal(st.lines, 12);
	assert_int_equal(st.routes, 3);
	assert_int_equal(st.malformed, 9);
	assert_int_equal(d.n, 9);
	static const unsigned want[] = { 2, 3, 4, 5, 6, 7, 9, 10, 11 };
	for (unsigned i = 0; i < 9; i++)
		assert_int_equal(d.line[i], want[i]);
	assert_int_equal(st.ndiag, ROUTE_DIAG_KEEP);
	assert_int_equal(st.diag[0].line, 2);
	assert_non_null(look(t, "10.8.1.1"));
	assert_int_equal(look(t, "10.8.1.1")->plen, 16);
	assert_int_equal(look(t, "10.4.1.1")->plen, 8);
	route_table_free(t);

	/* ip route and bird lines that cannot be read */
	const char *g = "default via 192.168.1.1 dev eth0\n"
	                "10.0.0.0/8 via banana dev eth0\n"
	                "nonsense words here\n"
	                "10.1.0.0/16 dev eth1\n";
	t = load(g, &st, &d);
	assert_int_equal(st.fmt, ROUTE_FMT_IPROUTE);
	assert_int_equal(st.malformed, 2);
	assert_int_equal(d.line[0], 2);
	assert_int_equal(d.line[1], 3);
	assert_int_equal(st.routes, 2);
	route_table_free(t);
	const char *b = "BIRD 2.0.8 ready.\n"
	                "10.0.0.0/8 unicast [bgp1 x] * (100)\n"
	                "\tBGP.as_path: 65001 foo\n"
	                "10.0.0.0/99 unicast [bgp1 x] * (100)\n"
	                "10.1.0.0/16 unicast [bgp1 x] * (100)\n"
	                "\tvia 192.0.2.1 on eth0\n";
	t = load(b, &st, &d);
	assert_int_equal(st.fmt, ROUTE_FMT_BIRD);
	assert_int_equal(st.malformed, 2);
	assert_int_equal(d.line[0], 3);
	assert_int_equal(d.line[1], 4);
	assert_non_null(look(t, "10.1.2.3"));
	route_table_free(t);

	/* NUL byte inside a line */
	const char nul[] = "10.0.0.0/8 192.0.2.1 1 2 eth0\n10.1.0.0/16 1\0.2.3.4 1 2 eth0\n";
	t = route_table_new();
	struct route_load_opts o = { .ifname = fake_if };
	route_load_buf(t, "nul", nul, sizeof(nul) - 1, &o, &st);
	assert_int_equal(st.malformed, 1);
	assert_int_equal(st.routes, 1);
	route_table_free(t);
}

static void test_load_file(void **state)
{
	(void)state;
	char path[] = "/tmp/test_route.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	/* more than a read chunk, so lines cross chunk boundaries */
	for (int i = 0; i < 20000; i++)
		fprintf(f, "10.%d.%d.0/24 192.0.2.1 %d 7 2\n", i / 256, i % 256, i + 1);
	fclose(f);
	struct route_table *t = NULL;
	struct route_load_stats st;
	char err[256];
	assert_int_equal(route_load_file(path, NULL, &t, &st, err, sizeof(err)), 0);
	assert_int_equal(st.routes, 20000);
	assert_int_equal(st.malformed, 0);
	assert_int_equal(look(t, "10.78.31.200")->origin_as, 78 * 256 + 31 + 1);
	route_table_free(t);
	unlink(path);
	assert_int_equal(route_load_file(path, NULL, &t, &st, err, sizeof(err)), -1);
	assert_null(t);
	assert_non_null(strstr(err, path));
}

static void test_annotate(void **state)
{
	(void)state;
	struct route_load_stats st;
	struct diags d;
	struct route_table *t = load("10.0.0.0/8 192.0.2.1 65001 65100 eth0 198.51.100.1\n"
	                             "10.1.0.0/16 192.0.2.2 65002 65200 eth1\n",
	                             &st, &d);
	struct flowrec r;
	memset(&r, 0, sizeof(r));
	r.key.af = 4;
	inet_pton(AF_INET, "10.1.2.3", r.key.src);
	inet_pton(AF_INET, "10.9.9.9", r.key.dst);
	assert_int_equal(route_annotate(t, false, &r), 3);
	assert_int_equal(r.src_as, 65002);
	assert_int_equal(r.dst_as, 65001);
	assert_int_equal(r.src_mask, 16);
	assert_int_equal(r.dst_mask, 8);
	assert_addr(r.nexthop, "192.0.2.1");
	assert_addr(r.bgp_nexthop, "198.51.100.1");
	assert_int_equal(r.if_out, 2);
	assert_int_equal(route_annotate(t, true, &r), 3);
	assert_int_equal(r.src_as, 65200);
	assert_int_equal(r.dst_as, 65100);
	inet_pton(AF_INET, "11.0.0.1", r.key.dst); /* no route: zeros, if_out as metered */
	r.if_out = 9;
	assert_int_equal(route_annotate(t, false, &r), 1);
	assert_int_equal(r.dst_as, 0);
	assert_int_equal(r.dst_mask, 0);
	assert_addr(r.nexthop, "0.0.0.0");
	assert_int_equal(r.if_out, 9);
	route_table_free(t);
}

/* bgpNextHop (IE 18 / 63) through the record writer and reader */
static void test_bgp_nexthop_fields(void **state)
{
	(void)state;
	const struct tmpl_field f4[] = { { IE_sourceIPv4Address, 4, 0, 0 }, { IE_bgpNextHopIPv4Address, 4, 0, 0 },
	                                 { IE_ipNextHopIPv4Address, 4, 0, 0 }, { IE_bgpSourceAsNumber, 4, 0, 0 } };
	const struct tmpl_field f6[] = { { IE_sourceIPv6Address, 16, 0, 0 }, { IE_bgpNextHopIPv6Address, 16, 0, 0 } };
	struct tmpl t4, t6;
	assert_int_equal(tmpl_init(&t4, 256, f4, 4, 0), 0);
	assert_int_equal(tmpl_init(&t6, 257, f6, 2, 0), 0);
	struct flowrec r, back;
	memset(&r, 0, sizeof(r));
	r.key.af = 4;
	inet_pton(AF_INET, "10.0.0.1", r.key.src);
	inet_pton(AF_INET, "198.51.100.1", r.bgp_nexthop);
	inet_pton(AF_INET, "192.0.2.1", r.nexthop);
	r.src_as = 65001;
	uint8_t buf[256];
	struct wbuf w;
	wbuf_init(&w, buf, sizeof(buf));
	struct rec_enc enc = { 0 };
	assert_int_equal(tmpl_put_flowrec(&w, &t4, &r, &enc), 0);
	assert_int_equal(w.len, 16);
	assert_int_equal(buf[4], 198);
	struct rec_dec dec = { 0 };
	assert_int_equal(tmpl_get_flowrec(&t4, buf, w.len, &dec, &back), 0);
	assert_memory_equal(back.bgp_nexthop, r.bgp_nexthop, 16);
	assert_memory_equal(back.nexthop, r.nexthop, 16);
	assert_int_equal(back.src_as, 65001);
	struct tmpl_plan pl;
	assert_int_equal(tmpl_plan_init(&pl, &t4), 0);
	memset(&back, 0, sizeof(back));
	assert_int_equal(tmpl_plan_flowrec(&pl, buf, w.len, &dec, &back), 0);
	assert_memory_equal(back.bgp_nexthop, r.bgp_nexthop, 16);

	memset(&r, 0, sizeof(r));
	r.key.af = 6;
	inet_pton(AF_INET6, "2001:db8::1", r.key.src);
	inet_pton(AF_INET6, "2001:db8:ff::1", r.bgp_nexthop);
	wbuf_init(&w, buf, sizeof(buf));
	assert_int_equal(tmpl_put_flowrec(&w, &t6, &r, &enc), 0);
	assert_int_equal(tmpl_get_flowrec(&t6, buf, w.len, &dec, &back), 0);
	assert_memory_equal(back.bgp_nexthop, r.bgp_nexthop, 16);
}

/* --- the layer: start, reload, refusals, unchanged file, peer-as ------------ */

static void write_file(const char *path, const char *text)
{
	char tmp[300];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_true(n > 0 && (size_t)n < sizeof(tmp));
	FILE *f = fopen(tmp, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(rename(tmp, path), 0); /* a new file, as editors and cp+mv make */
}

static uint32_t dst_as_of(const struct rt_hooks *h, const char *dst)
{
	struct flowrec r;
	memset(&r, 0, sizeof(r));
	r.key.af = 4;
	inet_pton(AF_INET, "192.168.0.1", r.key.src);
	inet_pton(AF_INET, dst, r.key.dst);
	h->annotate(h->arg, &r);
	return r.dst_as;
}

static char *show(struct route_layer *rl)
{
	static char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	route_layer_show(rl, f, false);
	fclose(f);
	return buf;
}

static void test_layer(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_route_layer.XXXXXX", path[300], err[512];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/routes", dir);
	write_file(path, "10.0.0.0/8 192.0.2.1 65001 65101 2\n");
	struct route_layer *rl = route_layer_new();
	struct rt_hooks h;
	route_layer_hooks(rl, &h);
	assert_non_null(h.apply);
	assert_non_null(h.annotate);
	assert_non_null(h.show_route);
	struct conf *none = conf_new(), *c = conf_new(), *peer = conf_new();
	snprintf(c->host.routes, sizeof(c->host.routes), "%s", path);
	snprintf(peer->host.routes, sizeof(peer->host.routes), "%s", path);
	peer->export.vopts = CONF_VOPT_PEER_AS;

	/* no table: records untouched */
	assert_int_equal(h.apply(h.arg, NULL, none, err, sizeof(err)), 0);
	struct flowrec r;
	memset(&r, 0, sizeof(r));
	r.key.af = 4;
	r.dst_as = 7;
	h.annotate(h.arg, &r);
	assert_int_equal(r.dst_as, 7);
	/* reload to a table */
	assert_int_equal(h.apply(h.arg, none, c, err, sizeof(err)), 0);
	assert_int_equal(dst_as_of(&h, "10.1.1.1"), 0); /* prepared, not yet running */
	h.commit(h.arg, true);
	assert_int_equal(dst_as_of(&h, "10.1.1.1"), 65001);
	/* a changed file */
	write_file(path, "10.0.0.0/8 192.0.2.1 65002 65102 2\n");
	assert_int_equal(h.apply(h.arg, c, c, err, sizeof(err)), 0);
	h.commit(h.arg, true);
	assert_int_equal(dst_as_of(&h, "10.1.1.1"), 65002);
	/* unchanged: kept; peer-as switches the AS fields */
	assert_int_equal(h.apply(h.arg, c, peer, err, sizeof(err)), 0);
	h.commit(h.arg, true);
	assert_int_equal(dst_as_of(&h, "10.1.1.1"), 65102);
	assert_non_null(strstr(show(rl), "Reloads with the file unchanged (table kept): 1"));
	/* a later step of the reload fails: the prepared table is dropped */
	write_file(path, "10.0.0.0/8 192.0.2.1 65003 65103 2\n");
	assert_int_equal(h.apply(h.arg, peer, c, err, sizeof(err)), 0);
	h.commit(h.arg, false);
	assert_int_equal(dst_as_of(&h, "10.1.1.1"), 65102);
	/* only malformed lines, then no file: refused, the table stays */
	write_file(path, "bad\nworse line\n");
	assert_int_equal(h.apply(h.arg, peer, c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "2 malformed lines and not one route"));
	unlink(path);
	assert_int_equal(h.apply(h.arg, peer, c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
	assert_int_equal(dst_as_of(&h, "10.1.1.1"), 65102);
	char *out = show(rl);
	assert_non_null(strstr(out, "Loads: 2; reloads refused: 2"));
	assert_non_null(strstr(out, "AS fields carry: peer AS"));
	assert_non_null(strstr(out, "Routes: 1 IPv4, 0 IPv6"));
	/* `no ipflow route-table`: records are left as they are again */
	assert_int_equal(h.apply(h.arg, c, none, err, sizeof(err)), 0);
	h.commit(h.arg, true);
	memset(&r, 0, sizeof(r));
	r.key.af = 4;
	inet_pton(AF_INET, "10.1.1.1", r.key.dst);
	r.dst_as = 9;
	h.annotate(h.arg, &r);
	assert_int_equal(r.dst_as, 9);
	assert_non_null(strstr(show(rl), "Route table: none loaded"));
	/* at start an unreadable file fails */
	struct route_layer *rl2 = route_layer_new();
	struct rt_hooks h2;
	route_layer_hooks(rl2, &h2);
	assert_int_equal(h2.apply(h2.arg, NULL, c, err, sizeof(err)), -1);
	route_layer_free(rl2);
	route_layer_free(rl);
	route_layer_free(NULL);
	conf_free(none);
	conf_free(c);
	conf_free(peer);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lpm_v4),
		cmocka_unit_test(test_lpm_v6),
		cmocka_unit_test(test_lpm_edges),
		cmocka_unit_test(test_fmt_ipflow),
		cmocka_unit_test(test_last_line_wins),
		cmocka_unit_test(test_load_equals_line_order),
		cmocka_unit_test(test_fmt_iproute),
		cmocka_unit_test(test_fmt_bird),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_annotate),
		cmocka_unit_test(test_bgp_nexthop_fields),
		cmocka_unit_test(test_layer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
