/* store_bench.c — file store speed on one core: records written through
 * the dir sink and read back by the store reader, and bytes per record.
 * Built and driven by bench/store.sh (not by CMake).
 *
 *   store_bench write DIR SOURCE N [SPEC-OPTIONS]   e.g. ",level=1,block=128"
 *   store_bench read DIR
 *   store_bench rows OUT SOURCE N        raw 136-byte rows (and OUT.shuf, byte-shuffled
 *                                        per 963-record block) for zstd -b
 * SOURCE: "fixture" (tests/unit/store_fixture.h, 5 exporters) or an IPFIX
 * file from ipflowd -e file:PATH (its records, repeated with later
 * receive times until N). Records are made before the clock starts. Each
 * run prints one line: "<what> <records> <seconds> <records/s> [bytes/record]". */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <ftw.h>
#include <unistd.h>

#include "collect/sink.h"
#include "collect/store.h"
#include "export/export.h"
#include "lib/bytes.h"
#include "lib/err.h"
#include "store_fixture.h"

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Records of an IPFIX file, as the collector would hand them over. */
static size_t load_ipfix(const char *path, struct crec **out)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = malloc((size_t)len);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fclose(f);
		return 0;
	}
	fclose(f);
	struct tmpl_store_mem mem;
	tmpl_store_mem_init(&mem, 64);
	struct tmpl_store ts = tmpl_store_mem_iface(&mem);
	size_t n = 0, cap = 1 << 16;
	struct crec *v = malloc(cap * sizeof(*v));
	for (size_t off = 0; off + 4 <= (size_t)len;) {
		size_t ml = peek_u16(buf + off + 2);
		if (ml < 16 || off + ml > (size_t)len)
			break;
		struct nf_iter it;
		struct nf_item item;
		int r = nf_iter_init(&it, buf + off, ml, &ts);
		while (r == ERR_OK && (r = nf_iter_next(&it, &item)) == ERR_OK) {
			if (item.kind != NF_ITEM_DATA || item.t->scope_count)
				continue;
			if (n == cap)
				v = realloc(v, (cap *= 2) * sizeof(*v));
			struct crec *c = &v[n];
			memset(c, 0, sizeof(*c));
			if (nf_item_flowrec(&it, &item, &c->f) != ERR_OK)
				continue;
			c->exporter_af = 4;
			c->exporter[0] = 198;
			c->exporter[1] = 51;
			c->exporter[2] = 100;
			c->exporter[3] = 7;
			c->version = 10;
			c->domain = it.hdr.domain;
			c->tmpl_id = item.t->id;
			c->sampling = 1;
			c->recv_us = it.hdr.export_us;
			n++;
		}
		off += ml;
	}
	tmpl_store_mem_free(&mem);
	free(buf);
	*out = v;
	return n;
}

/* n records of source; receive times rise at 100k records a second. */
static struct crec *make(const char *source, size_t n)
{
	struct crec *v = malloc(n * sizeof(*v));
	if (!v)
		return NULL;
	uint64_t t0 = 1700000000ull * 1000000u;
	if (strcmp(source, "fixture") == 0) {
		for (size_t i = 0; i < n; i++)
			fx_crec(&v[i], 1, i, t0 + i * 10, (unsigned)(i / 7 % 5));
		return v;
	}
	struct crec *base;
	size_t nb = load_ipfix(source, &base);
	if (nb == 0) {
		fprintf(stderr, "store_bench: no records in %s\n", source);
		free(v);
		return NULL;
	}
	uint64_t span = base[nb - 1].recv_us - base[0].recv_us + 1000000u;
	for (size_t i = 0; i < n; i++) {
		v[i] = base[i % nb];
		uint64_t shift = (uint64_t)(i / nb) * span;
		v[i].recv_us += shift;
		v[i].f.first_us += shift;
		v[i].f.last_us += shift;
	}
	free(base);
	return v;
}

static uint64_t du_bytes;
static int du_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)p;
	(void)ftw;
	if (flag == FTW_F)
		du_bytes += (uint64_t)sb->st_size;
	return 0;
}

int main(int argc, char **argv)
{
	char err[512];
	if (argc >= 5 && strcmp(argv[1], "write") == 0) {
		size_t n = strtoull(argv[4], NULL, 10);
		struct crec *v = make(argv[3], n);
		if (!v)
			return 1;
		char spec[4096];
		snprintf(spec, sizeof(spec), "dir:%s%s", argv[2], argc > 5 ? argv[5] : "");
		double t = now_s(), c = cpu_s();
		struct sink *s = sink_open(spec, err, sizeof(err));
		if (!s) {
			fprintf(stderr, "store_bench: %s\n", err);
			return 1;
		}
		uint64_t tick = 0;
		for (size_t i = 0; i < n; i++) {
			if (v[i].recv_us / 1000000u != tick) {
				tick = v[i].recv_us / 1000000u;
				sink_tick(s, tick * 1000000u);
			}
			sink_write(s, &v[i]);
		}
		do /* until the worker has finished every file */
			sink_tick(s, UINT64_MAX / 2);
		while (s->st.records != s->st.written + s->st.dropped && usleep(200) == 0);
		struct sink_stats st = s->st;
		sink_close(s);
		t = now_s() - t;
		c = cpu_s() - c;
		du_bytes = 0;
		nftw(argv[2], du_one, 16, FTW_PHYS);
		if (st.written != n) {
			fprintf(stderr, "store_bench: wrote %llu of %zu\n", (unsigned long long)st.written, n);
			return 1;
		}
		printf("write %zu %.4f %.0f %.2f %.0f\n", n, t, (double)n / t, (double)du_bytes / (double)n, (double)n / c);
		free(v);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "read") == 0) {
		double t = now_s(), c = cpu_s();
		struct store_reader *r = store_reader_open(argv[2], NULL, NULL, err, sizeof(err));
		if (!r) {
			fprintf(stderr, "store_bench: %s\n", err);
			return 1;
		}
		struct crec rec;
		uint64_t n = 0, bytes = 0;
		while (store_reader_next(r, &rec) == ERR_OK) {
			n++;
			bytes += rec.f.bytes;
		}
		store_reader_close(r);
		t = now_s() - t;
		c = cpu_s() - c;
		printf("read %llu %.4f %.0f %.0f (%llu)\n", (unsigned long long)n, t, (double)n / t, (double)n / c,
		       (unsigned long long)bytes);
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "rows") == 0) {
		size_t n = strtoull(argv[4], NULL, 10), per = 963;
		struct crec *v = make(argv[3], n);
		if (!v)
			return 1;
		uint8_t *rows = malloc(n * STORE_REC_LEN), *shuf = malloc(n * STORE_REC_LEN);
		for (size_t i = 0; i < n; i++)
			store_rec_put(rows + i * STORE_REC_LEN, &v[i]);
		for (size_t b = 0; b < n; b += per) {
			size_t k = n - b < per ? n - b : per;
			for (size_t i = 0; i < k; i++)
				for (size_t j = 0; j < STORE_REC_LEN; j++)
					shuf[b * STORE_REC_LEN + j * k + i] = rows[(b + i) * STORE_REC_LEN + j];
		}
		char p[4096];
		snprintf(p, sizeof(p), "%s.shuf", argv[2]);
		FILE *a = fopen(argv[2], "wb"), *b = fopen(p, "wb");
		if (!a || !b || fwrite(rows, STORE_REC_LEN, n, a) != n || fwrite(shuf, STORE_REC_LEN, n, b) != n)
			return 1;
		fclose(a);
		fclose(b);
		printf("rows %zu\n", n);
		return 0;
	}
	fprintf(stderr, "usage: store_bench write DIR SOURCE N [OPTS] | read DIR | rows OUT SOURCE N\n");
	return 2;
}
