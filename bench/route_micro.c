/* route_micro.c — routing attributes speed, one core: loading a
 * full-table-sized route file, longest-prefix lookups per second (IPv4,
 * IPv6), and records annotated per second (two lookups each).
 *
 * Not built by CMake. Build and run from the source root after a Release
 * or RelWithDebInfo build (bench/route.sh does this):
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Isrc bench/route_micro.c \
 *      build/libipflowcore.a -lpcap -lm -o /tmp/route_micro && /tmp/route_micro [N4 N6]
 * The table is random with the prefix-length mix of an Internet BGP table
 * (about 60 % /24, then /22, /23, /21, /20 ...; IPv6 mostly /48 and /32);
 * half the looked-up addresses fall inside a random route, the rest are
 * random, and the order is random, so most lookups miss the CPU caches
 * as they would on real traffic against a full table. ROUTE_CLUSTER6=1
 * puts the IPv6 routes into four /16s, as real tables crowd (2a00::/16).
 * Rates are per CPU
 * second of this process (a busy machine slows the wall clock, not this). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "meter/route.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: steadier than wall time on a shared machine */
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = 0;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static unsigned plen4(void)
{
	static const struct { unsigned plen, pct; } mix[] = {
		{ 24, 60 }, { 22, 10 }, { 23, 8 }, { 21, 5 }, { 20, 5 }, { 19, 4 }, { 16, 3 }, { 18, 2 }, { 17, 1 },
		{ 12, 1 }, { 28, 1 },
	};
	unsigned x = (unsigned)(rnd() % 100);
	for (size_t i = 0; i < sizeof(mix) / sizeof(mix[0]); i++) {
		if (x < mix[i].pct)
			return mix[i].plen;
		x -= mix[i].pct;
	}
	return 24;
}

static unsigned plen6(void)
{
	static const unsigned p[] = { 48, 48, 48, 48, 48, 32, 32, 40, 44, 36, 29, 64 };
	return p[rnd() % (sizeof(p) / sizeof(p[0]))];
}

static int cluster6; /* ROUTE_CLUSTER6=1: IPv6 routes in four /16s */

static void random_route(struct route *r, int af)
{
	memset(r, 0, sizeof(*r));
	r->af = (uint8_t)af;
	if (af == 4) {
		uint32_t a = (uint32_t)(rnd() % ((224u << 24) - (1u << 24))) + (1u << 24);
		r->prefix[0] = (uint8_t)(a >> 24), r->prefix[1] = (uint8_t)(a >> 16);
		r->prefix[2] = (uint8_t)(a >> 8), r->prefix[3] = (uint8_t)a;
		r->plen = (uint8_t)plen4();
		r->nexthop[0] = 192, r->nexthop[3] = (uint8_t)rnd();
	} else {
		for (int i = 0; i < 16; i++)
			r->prefix[i] = (uint8_t)rnd();
		r->prefix[0] = (uint8_t)(0x20 | (r->prefix[0] & 0x1f)); /* 2000::/3 */
		if (cluster6) /* real tables crowd into a few /16s (2a00::/16, 2001::/16, ...) */
			r->prefix[0] = 0x2a, r->prefix[1] = (uint8_t)(rnd() % 4);
		r->plen = (uint8_t)plen6();
		r->nexthop[0] = 0xfe, r->nexthop[1] = 0x80, r->nexthop[15] = (uint8_t)rnd();
	}
	r->origin_as = (uint32_t)(rnd() % 400000 + 1);
	r->peer_as = (uint32_t)(rnd() % 400000 + 1);
	r->ifindex = (uint32_t)(rnd() % 8 + 2);
}

/* An address inside r (bits past the prefix random). */
static void inside(const struct route *r, uint8_t *a)
{
	unsigned alen = r->af == 4 ? 4 : 16;
	for (unsigned b = 0; b < alen; b++) {
		uint8_t x = (uint8_t)rnd();
		unsigned lo = b * 8;
		if (lo + 8 <= r->plen)
			x = r->prefix[b];
		else if (lo < r->plen) {
			uint8_t m = (uint8_t)(0xff << (8 - (r->plen - lo)));
			x = (uint8_t)((r->prefix[b] & m) | (x & ~m));
		}
		a[b] = x;
	}
}

static void fmt_addr(char *s, size_t n, int af, const uint8_t *a)
{
	if (af == 4)
		snprintf(s, n, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	else
		snprintf(s, n, "%x:%x:%x:%x:%x:%x:%x:%x", a[0] << 8 | a[1], a[2] << 8 | a[3], a[4] << 8 | a[5],
		         a[6] << 8 | a[7], a[8] << 8 | a[9], a[10] << 8 | a[11], a[12] << 8 | a[13], a[14] << 8 | a[15]);
}

int main(int argc, char **argv)
{
	size_t n4 = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	size_t n6 = argc > 2 ? strtoul(argv[2], NULL, 10) : 200000;
	cluster6 = getenv("ROUTE_CLUSTER6") && atoi(getenv("ROUTE_CLUSTER6"));
	enum { NLOOK = 4000000 };
	struct route *rs = malloc((n4 + n6) * sizeof(*rs));
	if (!rs)
		return 1;
	for (size_t i = 0; i < n4 + n6; i++)
		random_route(&rs[i], i < n4 ? 4 : 6);

	/* 1. the file: written in ipflow's format, loaded and parsed */
	char path[] = "/tmp/route_micro.XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f)
		return 1;
	for (size_t i = 0; i < n4 + n6; i++) {
		char p[64], nh[64];
		fmt_addr(p, sizeof(p), rs[i].af, rs[i].prefix);
		fmt_addr(nh, sizeof(nh), rs[i].af, rs[i].nexthop);
		fprintf(f, "%s/%u %s %u %u %u\n", p, rs[i].plen, nh, rs[i].origin_as, rs[i].peer_as, rs[i].ifindex);
	}
	fclose(f);
	long rss0 = rss_kib();
	struct route_table *t = NULL;
	struct route_load_stats st;
	char err[256];
	double t0 = now_s();
	if (route_load_file(path, NULL, &t, &st, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	double t1 = now_s();
	unlink(path);
	long rss1 = rss_kib();
	printf("table: %zu IPv4 + %zu IPv6 routes (%u lines, %u repeated prefixes, %u malformed)\n",
	       route_table_count(t, 4), route_table_count(t, 6), st.lines, st.replaced, st.malformed);
	size_t nroutes = route_table_count(t, 4) + route_table_count(t, 6);
	printf("load:  %.2f s, %.2f M lines/s; table %.1f MiB (%.0f B per route; RSS grew %.1f MiB, the loader's peak)\n",
	       t1 - t0, st.lines / (t1 - t0) / 1e6, route_table_memory(t) / 1048576.0,
	       (double)route_table_memory(t) / (double)nroutes, (rss1 - rss0) / 1024.0);

	/* 2. lookups: addresses prepared first, then timed */
	uint8_t *addr = malloc((size_t)NLOOK * 16);
	if (!addr)
		return 1;
	for (int af = 4; af <= 6; af += 2) {
		size_t lo = af == 4 ? 0 : n4, cnt = af == 4 ? n4 : n6;
		if (!cnt)
			continue;
		for (size_t j = 0; j < NLOOK; j++) {
			uint8_t *a = addr + j * 16;
			if (j % 2) {
				inside(&rs[lo + rnd() % cnt], a);
			} else {
				for (int b = 0; b < 16; b++)
					a[b] = (uint8_t)rnd();
				if (af == 6)
					a[0] = (uint8_t)(0x20 | (a[0] & 0x1f));
				if (af == 6 && cluster6)
					a[0] = 0x2a, a[1] = (uint8_t)(rnd() % 4);
			}
		}
		size_t hits = 0;
		double best = 1e9;
		for (int run = 0; run < 3; run++) {
			hits = 0;
			double a0 = now_s();
			for (size_t j = 0; j < NLOOK; j++)
				hits += route_lookup(t, af, addr + j * 16) != NULL;
			double d = now_s() - a0;
			if (d < best)
				best = d;
		}
		printf("IPv%d lookups: %.2f M/s (%.0f ns each; %.0f %% matched a route; best of 3 x %d)\n", af,
		       NLOOK / best / 1e6, best / NLOOK * 1e9, 100.0 * hits / NLOOK, NLOOK);
	}

	/* 3. annotate: records with both addresses looked up, IPv4 */
	enum { NREC = 1 << 16 };
	struct flowrec *rec = calloc(NREC, sizeof(*rec));
	if (!rec)
		return 1;
	for (size_t j = 0; j < NREC; j++) {
		rec[j].key.af = 4;
		inside(&rs[rnd() % (n4 ? n4 : 1)], rec[j].key.src);
		inside(&rs[rnd() % (n4 ? n4 : 1)], rec[j].key.dst);
	}
	double a0 = now_s();
	uint64_t sum = 0;
	size_t nann = 0;
	for (int round = 0; round < 60; round++)
		for (size_t j = 0; j < NREC; j++, nann++)
			sum += route_annotate(t, false, &rec[j]);
	double d = now_s() - a0;
	printf("annotate: %.2f M records/s (2 lookups each; %zu records, check %llu)\n", nann / d / 1e6, nann,
	       (unsigned long long)sum);
	route_table_free(t);
	free(rs);
	free(addr);
	free(rec);
	return 0;
}
