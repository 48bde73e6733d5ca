/* fuzz_route.c — libFuzzer target: the route table loader (every format;
 * the format is recognised from the input). Any input is loaded; the
 * table must hold exactly the routes added less the replacements, every
 * diagnostic must name a line that exists, and a lookup of each byte
 * window of the input as an address must not fail (abort otherwise, so
 * the fuzzer reports it). */
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
	for (size_t i = 0; i + 16 <= size && i < 4096; i += 3) {
		const struct route *r4 = route_lookup(t, 4, data + i);
		const struct route *r6 = route_lookup(t, 6, data + i);
		if ((r4 && (r4->af != 4 || r4->plen > 32)) || (r6 && (r6->af != 6 || r6->plen > 128)))
			abort();
	}
	route_table_free(t);
	return 0;
}
