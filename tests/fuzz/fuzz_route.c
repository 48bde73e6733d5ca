/* fuzz_route.c — libFuzzer target: the route table loader (every format;
 * the format is recognised from the input). Any input is loaded; the
 * table must hold exactly the routes added less the replacements, every
 * diagnostic must name a line that exists, and a lookup of each byte
 * window of the input as an address must give the same route from the
 * trie and from the compiled tables (abort otherwise, so the fuzzer
 * reports it). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meter/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t fake_if(void *arg, const char *name)
{
	(void)arg;
	return name[0] == 'e' ? 2 : 0; /* no system call per name */
}

struct seen {
	unsigned max_line;
};

static void on_diag(void *arg, const char *file, unsigned line, bool warning, const char *text)
{
	struct seen *s = arg;
	(void)file;
	(void)warning;
	if (!text || line == 0)
		abort();
	if (line > s->max_line)
		s->max_line = line;
}

static bool same(const struct route *a, const struct route *b)
{
	if (!a || !b)
		return a == b;
	return a->af == b->af && a->plen == b->plen && memcmp(a->prefix, b->prefix, 16) == 0 &&
	       a->origin_as == b->origin_as && a->peer_as == b->peer_as && a->ifindex == b->ifindex;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct route_table *t = route_table_new();
	if (!t)
		return 0;
	struct seen s = { 0 };
	struct route_load_opts o = { .ifname = fake_if, .diag = on_diag, .diag_arg = &s };
	struct route_load_stats st;
	route_load_buf(t, "fuzz", data, size, &o, &st);
	size_t n = route_table_count(t, 4) + route_table_count(t, 6);
	if (n != (size_t)st.routes - st.replaced || s.max_line > st.lines || st.malformed > st.lines ||
	    st.ndiag > ROUTE_DIAG_KEEP) {
		fprintf(stderr, "inconsistent: %zu routes in the table, %u added, %u replaced, lines %u, diag line %u\n", n,
		        st.routes, st.replaced, st.lines, s.max_line);
		abort();
	}
	/* every window of the input as an address, looked up in the trie
	 * and then in the compiled tables: the same route each time */
	enum { MAXL = 1400 };
	static struct route before[2][MAXL]; /* copies: compiling may move the routes */
	static bool found[2][MAXL];
	size_t nl = 0;
	for (size_t i = 0; i + 16 <= size && nl < MAXL; i += 3, nl++)
		for (int f = 0; f < 2; f++) {
			const struct route *r = route_lookup(t, f ? 6 : 4, data + i);
			if (r && (r->af != (f ? 6 : 4) || r->plen > (f ? 128 : 32)))
				abort();
			found[f][nl] = r != NULL;
			if (r)
				before[f][nl] = *r;
		}
	if (route_table_compile(t) == 0)
		for (size_t j = 0; j < nl; j++)
			for (int f = 0; f < 2; f++)
				if (!same(route_lookup(t, f ? 6 : 4, data + j * 3), found[f][j] ? &before[f][j] : NULL)) {
					fprintf(stderr, "compiled lookup differs from the trie at offset %zu (IPv%d)\n", j * 3,
					        f ? 6 : 4);
					abort();
				}
	route_table_free(t);
	return 0;
}
