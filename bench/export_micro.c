/* export_micro.c — encode speed of each export format, one core.
 *
 * Not built by CMake. Build and run from the source root after a Release
 * or RelWithDebInfo build:
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Isrc bench/export_micro.c \
 *      build/libipflowcore.a -lpcap -lm -o /tmp/export_micro && /tmp/export_micro
 * Records go through exporter_add into a transport that only counts, so
 * the figure is packing + encoding + header/sequence work, no syscalls. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "export/exporter.h"
#include "lib/err.h"

static int null_send(struct transport *t, const void *p, size_t len, unsigned flags)
{
	(void)p;
	(void)flags;
	t->st.msgs++;
	t->st.bytes += len;
	return ERR_OK;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	static const struct transport_ops ops = { .scheme = "null", .send = null_send };
	static const struct { int version; int v6pct; const char *name; } cases[] = {
		{ 1, 0, "v1" }, { 5, 0, "v5" }, { 7, 0, "v7" }, { 9, 0, "v9 (IPv4)" },
		{ 9, 20, "v9 (20% IPv6)" }, { 10, 0, "IPFIX (IPv4)" }, { 10, 20, "IPFIX (20% IPv6)" },
	};
	enum { N = 20000000 };
	static struct flowrec recs[1024];
	for (unsigned i = 0; i < 1024; i++) {
		struct flowrec *r = &recs[i];
		memset(r, 0, sizeof(*r));
		r->key.af = 4;
		r->key.src[0] = 10, r->key.src[3] = (uint8_t)i;
		r->key.dst[0] = 192, r->key.dst[3] = (uint8_t)(i >> 2);
		r->key.sport = (uint16_t)(1024 + i), r->key.dport = 443, r->key.proto = 6;
		r->packets = 10 + i, r->bytes = 1500 * (10 + i);
		r->first_us = 1700000000000000ull + i * 1000, r->last_us = r->first_us + 5000000;
	}
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (unsigned i = 0; i < 1024; i++)
			recs[i].key.af = (uint8_t)(i % 100 < (unsigned)cases[c].v6pct ? 6 : 4);
		struct transport t = { &ops, 28, { 0, 0, 0, 0 }, "" };
		struct exporter_cfg cfg;
		exporter_cfg_init(&cfg, cases[c].version);
		cfg.start_us = 1700000000000000ull;
		struct exporter *ex = exporter_new(&cfg, &t, NULL, 0);
		double t0 = now_s();
		for (unsigned i = 0; i < N; i++)
			exporter_add(ex, &recs[i & 1023], 1700000100000000ull + i);
		exporter_flush(ex, 1700000200000000ull);
		double dt = now_s() - t0;
		const struct exporter_stats *st = exporter_stats(ex);
		printf("%-18s %6.1f M records/s  %5.1f records/message  %6.0f MB/s\n", cases[c].name,
		       st->records / dt / 1e6, (double)st->records / st->messages, st->bytes / dt / 1e6);
		exporter_free(ex);
	}
	return 0;
}
