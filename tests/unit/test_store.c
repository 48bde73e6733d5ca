/* test_store.c — the file store: format round trips, the dir sink's
 * rotation, atomic publication, crash recovery, write errors (a full
 * file-size limit standing in for a full disk), and damaged files (bad
 * headers, flipped bits, truncation at every offset) counted and skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <lz4.h>
#include <zstd.h>

#include "collect/sink.h"
#include "collect/store.h"
#include "lib/bytes.h"
#include "lib/err.h"
#include "store_fixture.h"

#define T0 (1700000000ull * 1000000ull) /* 2023-11-14T22:13:20Z */
#define SEC 1000000ull

/* ------------------------------------------------------------ helpers */

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static char *mkdir_tmp(void)
{
	char tmpl[] = "/tmp/test_store.XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static void rm_tree(char *d)
{
	nftw(d, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(d);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

static void spit(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

/* All records a reader returns for path (NULL sel: everything). */
static struct crec *read_all(const char *path, const struct store_sel *sel, size_t *n, struct store_stats *st)
{
	char err[256];
	struct store_reader *r = store_reader_open(path, sel, NULL, err, sizeof(err));
	assert_non_null(r);
	size_t cap = 1024;
	struct crec *v = malloc(cap * sizeof(*v));
	*n = 0;
	while (store_reader_next(r, &v[*n]) == ERR_OK) {
		if (++*n == cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof(*v));
			assert_non_null(v);
		}
	}
	if (st)
		*st = *store_reader_stats(r);
	store_reader_close(r);
	return v;
}

/* Order records by their stored bytes, to compare two sets. */
static int cmp_crec(const void *a, const void *b)
{
	const struct crec *x = a, *y = b;
	uint8_t p[STORE_REC_LEN], q[STORE_REC_LEN];
	store_rec_put(p, x);
	store_rec_put(q, y);
	int c = memcmp(p, q, sizeof(p));
	if (c)
		return c;
	c = (int)x->exporter_af - (int)y->exporter_af;
	return c ? c : memcmp(x->exporter, y->exporter, 16);
}

static void assert_same_set(struct crec *a, size_t na, struct crec *b, size_t nb)
{
	assert_int_equal(na, nb);
	qsort(a, na, sizeof(*a), cmp_crec);
	qsort(b, nb, sizeof(*b), cmp_crec);
	for (size_t i = 0; i < na; i++)
		if (!fx_crec_equal(&a[i], &b[i]))
			fail_msg("record %zu differs after the round trip", i);
}

/* Names in dir (not recursive) starting with prefix. */
static int count_names(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *de;
	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

/* Finished store files below dir (recursive), their paths into out. */
static int find_files(const char *dir, char out[][PATH_MAX], int max)
{
	int n = 0;
	DIR *d = opendir(dir);
	struct dirent *de;
	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char p[PATH_MAX];
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		struct stat sb;
		if (stat(p, &sb) != 0)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			n += find_files(p, out + n, max - n);
		} else if (n < max && strstr(de->d_name, ".ipfs")) {
			memcpy(out[n++], p, sizeof(p));
		}
	}
	closedir(d);
	return n;
}

static struct sink *open_sink(const char *dir, const char *opts)
{
	char spec[PATH_MAX + 128], err[256];
	snprintf(spec, sizeof(spec), "dir:%s%s", dir, opts);
	struct sink *s = sink_open(spec, err, sizeof(err));
	if (!s)
		fail_msg("sink_open(%s): %s", spec, err);
	return s;
}

/* Tick at now until the sink has accounted for every record it took as
 * written or dropped (a worker thread finishes the files). */
static void settle(struct sink *s, uint64_t now)
{
	for (int i = 0; i < 10000; i++) {
		sink_tick(s, now);
		if (s->st.records == s->st.written + s->st.dropped)
			return;
		usleep(1000);
	}
	fail_msg("the sink left records unaccounted for 10 s");
}

/* Tick at now until n finished files are visible below dir. */
static void wait_files(struct sink *s, uint64_t now, const char *dir, int n)
{
	static char files[256][PATH_MAX];
	for (int i = 0; i < 10000; i++) {
		sink_tick(s, now);
		if (find_files(dir, files, 256) >= n)
			return;
		usleep(1000);
	}
	fail_msg("fewer than %d files published after 10 s", n);
}

/* The codecs a test runs with (cmocka prestate). */
static int codec_lz4 = STORE_CODEC_LZ4, codec_zstd = STORE_CODEC_ZSTD;

/* One file written with the store writer directly: n records of seed in
 * blocks of per_block, from exporter 0, compressed with codec. */
static void write_file(const char *path, unsigned n, uint32_t per_block, struct crec *orig, int codec)
{
	char err[256];
	struct store_codec *c = store_codec_new(codec, 1, per_block);
	assert_non_null(c);
	struct store_hdr h = { .interval_s = 300, .start_s = T0 / SEC - (T0 / SEC) % 300 };
	fx_exporter(0, h.exporter, &h.exporter_af);
	struct store_writer *w = store_writer_create(path, &h, c, err, sizeof(err));
	assert_non_null(w);
	for (unsigned i = 0; i < n; i++) {
		fx_crec(&orig[i], 7, i, T0 + i * SEC, 0);
		assert_int_equal(store_writer_add(w, &orig[i], err, sizeof(err)), ERR_OK);
	}
	struct store_wres res;
	assert_int_equal(store_writer_finish(w, &res, err, sizeof(err)), ERR_OK);
	assert_int_equal(res.records, n);
	assert_int_equal(res.lost, 0);
	assert_int_equal(res.blocks, (n + per_block - 1) / per_block);
	store_codec_free(c);
}

/* Read a file image from memory; returns records, fills st. Checks that
 * every record returned is the original at the same index or later (a
 * damaged block drops records, never alters them). */
static size_t read_image(const uint8_t *p, size_t len, const struct crec *orig, size_t norig, struct store_stats *st)
{
	memset(st, 0, sizeof(*st));
	struct store_file *f = store_file_open_mem(p, len, NULL, st, NULL);
	assert_non_null(f);
	struct crec r;
	size_t n = 0, at = 0;
	while (store_file_next(f, &r) == ERR_OK) {
		while (at < norig && !fx_crec_equal(&r, &orig[at]))
			at++;
		if (at == norig)
			fail_msg("record %zu read from a damaged file is not one that was written", n);
		at++;
		n++;
	}
	store_file_close(f);
	return n;
}

/* ------------------------------------------------------------ format */

static void test_header(void **state)
{
	(void)state;
	struct store_hdr h = { .version = STORE_VERSION, .rec_len = STORE_REC_LEN, .codec = STORE_CODEC_ZSTD,
	                       .flags = STORE_F_COMPLETE, .interval_s = 300, .start_s = 1700000100, .records = 12345,
	                       .blocks = 7, .exporter_af = 6, .min_us = 5, .max_us = 1u << 30, .max_raw = 99999 };
	for (int i = 0; i < 16; i++)
		h.exporter[i] = (uint8_t)(i * 17);
	uint8_t b[STORE_HDR_LEN];
	struct store_hdr g;
	store_hdr_put(b, &h);
	assert_int_equal(store_hdr_get(b, sizeof(b), &g), ERR_OK);
	h.header_len = STORE_HDR_LEN;
	assert_memory_equal(&g, &h, sizeof(g));
	/* Every shorter prefix is truncated. */
	for (size_t n = 0; n < sizeof(b); n++)
		assert_int_equal(store_hdr_get(b, n, &g), ERR_TRUNC);
	/* Every single-bit flip is caught (magic, CRC). */
	for (size_t bit = 0; bit < sizeof(b) * 8; bit++) {
		b[bit / 8] ^= (uint8_t)(1u << bit % 8);
		assert_int_equal(store_hdr_get(b, sizeof(b), &g), ERR_FORMAT);
		b[bit / 8] ^= (uint8_t)(1u << bit % 8);
	}
	/* Every version from the oldest on is read; a later one, or 0, with a
	 * good CRC, is refused as unsupported. */
	for (unsigned v = 0; v <= STORE_VERSION + 1; v++) {
		poke_u16(b + 4, (uint16_t)v);
		poke_u32(b + 76, (uint32_t)crc32(0, b, 76));
		assert_int_equal(store_hdr_get(b, sizeof(b), &g),
		                 v >= STORE_VERSION_MIN && v <= STORE_VERSION ? ERR_OK : ERR_UNSUPP);
	}
	/* Codecs 1 (zstd) and 2 (LZ4) are read; another, with a good CRC, is
	 * a later writer's: refused as unsupported, not misread. */
	for (unsigned k = 0; k < 256; k++) {
		store_hdr_put(b, &h);
		b[10] = (uint8_t)k;
		poke_u32(b + 76, (uint32_t)crc32(0, b, 76));
		assert_int_equal(store_hdr_get(b, sizeof(b), &g), k == 1 || k == 2 ? ERR_OK : ERR_UNSUPP);
	}
	/* Records shorter than version 1's, with a good CRC: refused. */
	store_hdr_put(b, &h);
	poke_u16(b + 8, STORE_REC_LEN - 1);
	poke_u32(b + 76, (uint32_t)crc32(0, b, 76));
	assert_int_equal(store_hdr_get(b, sizeof(b), &g), ERR_FORMAT);
}

static void test_record(void **state)
{
	(void)state;
	for (unsigned i = 0; i < 2000; i++) {
		struct crec a, b;
		uint8_t row[STORE_REC_LEN];
		fx_crec(&a, 3, i, T0 + i, i % 5);
		store_rec_put(row, &a);
		store_rec_get(row, &b);
		b.exporter_af = a.exporter_af;
		memcpy(b.exporter, a.exporter, 16);
		assert_true(fx_crec_equal(&a, &b));
	}
	/* Widest values survive. */
	struct crec a, b;
	uint8_t row[STORE_REC_LEN];
	memset(&a, 0xff, sizeof(a));
	a.t = NULL;
	a.raw = NULL;
	a.rawlen = 0;
	store_rec_put(row, &a);
	store_rec_get(row, &b);
	b.exporter_af = a.exporter_af;
	memcpy(b.exporter, a.exporter, 16);
	assert_true(fx_crec_equal(&a, &b));
}

static void test_file_roundtrip(void **state)
{
	int codec = *(int *)*state;
	char *dir = mkdir_tmp(), path[PATH_MAX];
	enum { N = 1050 };
	static struct crec orig[N];
	snprintf(path, sizeof(path), "%s/one.ipfs", dir);
	write_file(path, N, 100, orig, codec);

	size_t len;
	uint8_t *img = slurp(path, &len);
	struct store_stats st;
	assert_int_equal(read_image(img, len, orig, N, &st), N);
	assert_int_equal(st.files, 1);
	assert_int_equal(st.blocks, 11);
	assert_int_equal(st.blocks_bad + st.files_bad + st.files_truncated + st.files_mismatch, 0);
	struct store_hdr h;
	assert_int_equal(store_hdr_get(img, len, &h), ERR_OK);
	assert_int_equal(h.records, N);
	assert_int_equal(h.blocks, 11);
	assert_true(h.flags & STORE_F_COMPLETE);
	assert_int_equal(h.codec, codec);
	/* Version 2: the largest payload is the plane map, a byte per plane
	 * kept as one value and 100 bytes per plane kept whole. */
	assert_int_equal(h.version, 2);
	assert_true(h.max_raw >= 17 + STORE_REC_LEN && h.max_raw <= 17 + 100 * STORE_REC_LEN);
	uint64_t lo = UINT64_MAX, hi = 0;
	for (unsigned i = 0; i < N; i++) {
		uint64_t t = store_rec_time(&orig[i]);
		lo = t < lo ? t : lo;
		hi = t > hi ? t : hi;
	}
	assert_int_equal(h.min_us, lo);
	assert_int_equal(h.max_us, hi);

	/* A single file given as the path: the reader takes it alone. */
	size_t n;
	struct crec *got = read_all(path, NULL, &n, &st);
	assert_int_equal(n, N);
	for (unsigned i = 0; i < N; i++)
		assert_true(fx_crec_equal(&got[i], &orig[i])); /* in write order */
	free(got);

	/* A window returns exactly the records whose time is inside it, and
	 * skips the blocks wholly outside without decoding them. */
	uint64_t from = lo + (hi - lo) / 3, to = lo + (hi - lo) / 2;
	struct store_sel sel = { .from_us = from, .to_us = to };
	got = read_all(path, &sel, &n, &st);
	size_t want = 0;
	for (unsigned i = 0; i < N; i++) {
		uint64_t t = store_rec_time(&orig[i]);
		want += t >= from && t < to;
	}
	assert_int_equal(n, want);
	for (size_t i = 0; i < n; i++) {
		uint64_t t = store_rec_time(&got[i]);
		assert_true(t >= from && t < to);
	}
	assert_true(st.blocks_skipped > 0);
	free(got);

	/* Another exporter's selection skips the file by its header. */
	struct store_sel other = { .to_us = UINT64_MAX, .exporter_af = 4, .exporter = { 198, 51, 100, 1 } };
	got = read_all(path, &other, &n, &st);
	assert_int_equal(n, 0);
	assert_int_equal(st.files_skipped, 1);
	free(got);
	free(img);
	rm_tree(dir);
}

/* A block built here from the document, not by the writer: header with
 * both CRCs around the zstd frame of raw[0..rawlen). Returns its length. */
static size_t build_block(uint8_t *out, const uint8_t *raw, size_t rawlen, uint32_t nrec, uint64_t tmin,
                          uint64_t tmax)
{
	size_t clen = ZSTD_compress(out + 40, ZSTD_compressBound(rawlen), raw, rawlen, 3);
	assert_false(ZSTD_isError(clen));
	memcpy(out, "IPFB", 4);
	poke_u32(out + 4, (uint32_t)rawlen);
	poke_u32(out + 8, (uint32_t)clen);
	poke_u32(out + 12, nrec);
	poke_u64(out + 16, tmin);
	poke_u64(out + 24, tmax);
	poke_u32(out + 32, (uint32_t)crc32(0, out + 40, (uInt)clen));
	poke_u32(out + 36, (uint32_t)crc32(0, out, 36));
	return 40 + clen;
}

/* LZ4 payloads with good CRCs that are not what their block header says:
 * one that is not LZ4 at all, one that decompresses to a byte less than
 * raw_len, one that would decompress to more. Each block is counted bad
 * and skipped; the good block after them is read. */
static void test_lz4_bad_payload(void **state)
{
	(void)state;
	enum { PER = 40 };
	static struct crec orig[PER];
	static uint8_t img[80 + 4 * (40 + 2 * PER * STORE_REC_LEN)], planes[PER * STORE_REC_LEN + 1];
	static char comp[2 * PER * STORE_REC_LEN];
	struct store_hdr h = { .version = 1, .rec_len = STORE_REC_LEN, .codec = STORE_CODEC_LZ4,
	                       .flags = STORE_F_COMPLETE, .interval_s = 300, .start_s = T0 / SEC - (T0 / SEC) % 300,
	                       .records = 4 * PER, .blocks = 4, .max_raw = PER * STORE_REC_LEN };
	fx_exporter(0, h.exporter, &h.exporter_af);
	for (unsigned i = 0; i < PER; i++) {
		uint8_t row[STORE_REC_LEN];
		fx_crec(&orig[i], 13, i, T0, 0);
		store_rec_put(row, &orig[i]);
		for (unsigned j = 0; j < STORE_REC_LEN; j++)
			planes[j * PER + i] = row[j];
	}
	h.min_us = h.max_us = store_rec_time(&orig[0]);
	const size_t raw = PER * STORE_REC_LEN;
	size_t off = 80;
	for (int kind = 0; kind < 4; kind++) {
		/* 0: a literal run longer than the payload; 1: one byte short;
		 * 2: one byte long; 3: right */
		int clen;
		if (kind == 0) {
			memset(comp, 0xff, 16);
			clen = 16;
		} else {
			clen = LZ4_compress_default((const char *)planes, comp, (int)(raw + (kind == 2) - (kind == 1)),
			                            (int)sizeof(comp));
			assert_true(clen > 0);
		}
		uint8_t *o = img + off;
		memcpy(o, "IPFB", 4);
		poke_u32(o + 4, (uint32_t)raw);
		poke_u32(o + 8, (uint32_t)clen);
		poke_u32(o + 12, PER);
		poke_u64(o + 16, h.min_us);
		poke_u64(o + 24, h.max_us);
		memcpy(o + 40, comp, (size_t)clen);
		poke_u32(o + 32, (uint32_t)crc32(0, o + 40, (uInt)clen));
		poke_u32(o + 36, (uint32_t)crc32(0, o, 36));
		off += 40 + (size_t)clen;
	}
	store_hdr_put(img, &h);
	struct store_stats st;
	assert_int_equal(read_image(img, off, orig, PER, &st), PER);
	assert_int_equal(st.blocks, 1);
	assert_int_equal(st.blocks_bad, 3);
}

/* Files of version 1 (every plane stored whole), as an older ipflow wrote
 * them, are still read: a file built here by the version 1 rules reads
 * back record for record. */
static void test_version1_file(void **state)
{
	(void)state;
	enum { N = 300, PER = 128 };
	static struct crec orig[N];
	static uint8_t img[80 + 3 * (40 + (PER * STORE_REC_LEN) + 4096)], planes[PER * STORE_REC_LEN];
	struct store_hdr h = { .version = 1, .rec_len = STORE_REC_LEN, .codec = STORE_CODEC_ZSTD,
	                       .flags = STORE_F_COMPLETE, .interval_s = 300, .start_s = T0 / SEC - (T0 / SEC) % 300,
	                       .records = N, .blocks = 3, .max_raw = PER * STORE_REC_LEN };
	fx_exporter(0, h.exporter, &h.exporter_af);
	size_t off = 80;
	for (unsigned b0 = 0; b0 < N; b0 += PER) {
		unsigned n = N - b0 < PER ? N - b0 : PER;
		uint64_t lo = UINT64_MAX, hi = 0;
		for (unsigned i = 0; i < n; i++) {
			uint8_t row[STORE_REC_LEN];
			fx_crec(&orig[b0 + i], 11, b0 + i, T0 + (b0 + i) * SEC, 0);
			store_rec_put(row, &orig[b0 + i]);
			for (unsigned j = 0; j < STORE_REC_LEN; j++)
				planes[j * n + i] = row[j];
			uint64_t t = store_rec_time(&orig[b0 + i]);
			lo = t < lo ? t : lo;
			hi = t > hi ? t : hi;
		}
		off += build_block(img + off, planes, (size_t)n * STORE_REC_LEN, n, lo, hi);
	}
	h.min_us = store_rec_time(&orig[0]);
	h.max_us = h.min_us;
	for (unsigned i = 0; i < N; i++) {
		uint64_t t = store_rec_time(&orig[i]);
		h.min_us = t < h.min_us ? t : h.min_us;
		h.max_us = t > h.max_us ? t : h.max_us;
	}
	store_hdr_put(img, &h);
	struct store_stats st;
	assert_int_equal(read_image(img, off, orig, N, &st), N);
	assert_int_equal(st.blocks, 3);
	assert_int_equal(st.blocks_bad + st.files_bad + st.files_truncated + st.files_mismatch, 0);
	/* The same payload under a version 2 header is not a plane map that
	 * fits its length: each block is counted bad, nothing misread. */
	h.version = 2;
	store_hdr_put(img, &h);
	assert_int_equal(read_image(img, off, orig, N, &st), 0);
	assert_int_equal(st.blocks_bad, 3);
}

/* Version 2 plane maps: a block of identical records keeps every plane
 * as one byte, a block of one record too; a map with a bit past the last
 * plane, or whose whole planes do not add up to the payload, is bad. */
static void test_plane_map(void **state)
{
	(void)state;
	char *dir = mkdir_tmp(), path[PATH_MAX], err[256];
	enum { N = 500 };
	static struct crec orig[N];
	snprintf(path, sizeof(path), "%s/same.ipfs", dir);
	struct store_codec *c = store_codec_new(STORE_CODEC_LZ4, 1, 200);
	assert_non_null(c);
	struct store_hdr h = { .interval_s = 300, .start_s = T0 / SEC - (T0 / SEC) % 300 };
	fx_exporter(0, h.exporter, &h.exporter_af);
	struct store_writer *w = store_writer_create(path, &h, c, err, sizeof(err));
	assert_non_null(w);
	fx_crec(&orig[0], 5, 0, T0, 0);
	for (unsigned i = 0; i < N; i++) {
		orig[i] = orig[0];
		if (i == N - 1) /* the last block: one record */
			orig[i].f.packets = 77;
		assert_int_equal(store_writer_add(w, &orig[i], err, sizeof(err)), ERR_OK);
		if (i == N - 2)
			assert_int_equal(store_writer_flush(w, err, sizeof(err)), ERR_OK);
	}
	struct store_wres res;
	assert_int_equal(store_writer_finish(w, &res, err, sizeof(err)), ERR_OK);
	store_codec_free(c);
	size_t len;
	uint8_t *img = slurp(path, &len);
	struct store_stats st;
	assert_int_equal(read_image(img, len, orig, N, &st), N);
	assert_int_equal(st.blocks, 4);
	struct store_hdr g;
	assert_int_equal(store_hdr_get(img, len, &g), ERR_OK);
	assert_int_equal(g.max_raw, 17 + STORE_REC_LEN); /* every block: map and one byte a plane */
	free(img);

	/* Hand-built version 2 blocks of 2 records with one whole plane. */
	static uint8_t b2[80 + 2 * (40 + 512)];
	uint8_t raw[17 + STORE_REC_LEN + 2];
	struct crec two[2];
	fx_crec(&two[0], 5, 1, T0, 0);
	two[1] = two[0];
	two[1].f.key.proto = (uint8_t)(two[0].f.key.proto + 1); /* plane 1 varies */
	uint8_t row[STORE_REC_LEN];
	store_rec_put(row, &two[0]);
	memset(raw, 0, sizeof(raw));
	raw[0] = 0x40; /* plane 1 */
	for (unsigned j = 0, k = 17; j < STORE_REC_LEN; j++)
		if (j != 1)
			raw[k++] = row[j];
	raw[17 + STORE_REC_LEN - 1] = two[0].f.key.proto;
	raw[17 + STORE_REC_LEN] = two[1].f.key.proto;
	struct store_hdr hh = { .version = 2, .rec_len = STORE_REC_LEN, .codec = STORE_CODEC_ZSTD, .interval_s = 300,
	                        .start_s = h.start_s, .exporter_af = h.exporter_af };
	memcpy(hh.exporter, h.exporter, 16);
	store_hdr_put(b2, &hh);
	uint64_t t = store_rec_time(&two[0]);
	size_t off = 80 + build_block(b2 + 80, raw, sizeof(raw) - 1, 2, t, t);
	assert_int_equal(read_image(b2, off, two, 2, &st), 2);
	assert_int_equal(st.blocks_bad, 0);
	/* A bit for a plane past the last one (136..143): bad. */
	raw[16] = 0x01;
	off = 80 + build_block(b2 + 80, raw, sizeof(raw) - 1, 2, t, t);
	assert_int_equal(read_image(b2, off, two, 2, &st), 0);
	assert_int_equal(st.blocks_bad, 1);
	/* One whole plane too many for the length: bad. */
	raw[16] = 0;
	raw[0] = 0x60;
	off = 80 + build_block(b2 + 80, raw, sizeof(raw) - 1, 2, t, t);
	assert_int_equal(read_image(b2, off, two, 2, &st), 0);
	assert_int_equal(st.blocks_bad, 1);
	rm_tree(dir);
}

/* ------------------------------------------------------------ the dir sink */

/* Records of 3 exporters over 5 intervals of 60 s, received every 50 ms,
 * the clock ticking each second: one file per exporter per interval, each
 * holding exactly the records received in it; all read back equal. */
static void test_sink_rotation(void **state)
{
	(void)state;
	char *dir = mkdir_tmp();
	struct sink *s = open_sink(dir, ",interval=60,block=8,flush=0");
	uint64_t start = (T0 / SEC / 60 + 1) * 60 * SEC; /* an interval boundary */
	enum { N = 300 * 20 };
	static struct crec in[N];
	for (unsigned i = 0; i < N; i++) {
		uint64_t t = start + (uint64_t)i * 50000; /* 50 ms apart: lands on every boundary */
		if (i % 20 == 0)
			sink_tick(s, t);
		fx_crec(&in[i], 11, i, t, i % 3);
		assert_int_equal(sink_write(s, &in[i]), ERR_OK);
	}
	/* Before the last interval ends, its files are not visible yet. */
	static char files[64][PATH_MAX];
	wait_files(s, start + (uint64_t)(N - 1) * 50000, dir, 4 * 3);
	assert_int_equal(find_files(dir, files, 64), 4 * 3);
	assert_int_equal(count_names(dir, ".tmp-"), 3);
	settle(s, start + 300 * SEC);
	assert_int_equal(count_names(dir, ".tmp-"), 0);
	assert_int_equal(s->st.records, N);
	assert_int_equal(s->st.written, N);
	assert_int_equal(s->st.dropped + s->st.errors, 0);
	char *text = NULL;
	size_t tlen = 0;
	FILE *mem = open_memstream(&text, &tlen);
	s->ops->show(s, mem);
	fclose(mem);
	assert_non_null(strstr(text, "6000 records taken, 6000 written, 0 dropped"));
	assert_non_null(strstr(text, "15 files"));
	free(text);
	sink_close(s);

	int nf = find_files(dir, files, 64);
	assert_int_equal(nf, 5 * 3);
	for (int k = 0; k < nf; k++) {
		size_t len;
		uint8_t *img = slurp(files[k], &len);
		struct store_hdr h;
		assert_int_equal(store_hdr_get(img, len, &h), ERR_OK);
		assert_int_equal(h.interval_s, 60);
		assert_int_equal(h.start_s % 60, 0);
		char stem[128], day[32], want[PATH_MAX];
		assert_int_equal(store_file_stem(&h, stem, sizeof(stem)), ERR_OK);
		assert_int_equal(store_day_dir(h.start_s, day, sizeof(day)), ERR_OK);
		snprintf(want, sizeof(want), "%s/%s/%s.ipfs", dir, day, stem);
		assert_string_equal(files[k], want);
		struct store_stats st;
		memset(&st, 0, sizeof(st));
		struct store_file *f = store_file_open_mem(img, len, NULL, &st, NULL);
		struct crec r;
		uint64_t n = 0;
		while (store_file_next(f, &r) == ERR_OK) {
			assert_true(r.recv_us >= h.start_s * SEC && r.recv_us < (h.start_s + 60) * SEC);
			assert_int_equal(r.exporter_af, h.exporter_af);
			n++;
		}
		store_file_close(f);
		assert_int_equal(n, 20 * 60 / 3);
		assert_int_equal(n, h.records);
		free(img);
	}
	/* Names: an IPv4 and an IPv6 exporter (':' as '_'). */
	assert_non_null(strstr(files[0], "/2023/11/14/flows-"));
	int v4 = 0, v6 = 0;
	for (int k = 0; k < nf; k++) {
		v4 += strstr(files[k], "flows-192.0.2.1-") != NULL;
		v6 += strstr(files[k], "flows-2001_db8__2-") != NULL;
	}
	assert_int_equal(v4, 5);
	assert_int_equal(v6, 5);

	size_t n;
	struct store_stats st;
	struct crec *got = read_all(dir, NULL, &n, &st);
	assert_int_equal(st.files, 15);
	assert_same_set(got, n, in, N);
	free(got);

	/* The directory reader's window and exporter selection. */
	struct store_sel sel = { .from_us = start + 100 * SEC, .to_us = start + 130 * SEC };
	fx_exporter(1, sel.exporter, &sel.exporter_af);
	got = read_all(dir, &sel, &n, &st);
	size_t want = 0;
	for (unsigned i = 0; i < N; i++) {
		uint64_t t = store_rec_time(&in[i]);
		/* (in[] is sorted now: pick exporter 1 by address) */
		want += memcmp(in[i].exporter, sel.exporter, 16) == 0 && t >= sel.from_us && t < sel.to_us;
	}
	assert_true(want > 0);
	assert_int_equal(n, want);
	assert_true(st.files_skipped >= 10); /* the other exporters' files, by header */
	free(got);
	rm_tree(dir);
}

/* A file still being written is invisible: readers find neither it nor
 * its records until the interval ends; then all at once. */
static void test_sink_atomic(void **state)
{
	(void)state;
	char *dir = mkdir_tmp();
	struct sink *s = open_sink(dir, ",interval=300,block=4,flush=1");
	struct crec r;
	for (unsigned i = 0; i < 500; i++) {
		fx_crec(&r, 5, i, T0 + i * 10000, 0);
		sink_write(s, &r);
	}
	sink_tick(s, T0 + 20 * SEC); /* blocks are flushed into the .tmp file */
	assert_int_equal(count_names(dir, ".tmp-"), 1);
	size_t n;
	struct store_stats st;
	struct crec *got = read_all(dir, NULL, &n, &st);
	assert_int_equal(n, 0);
	assert_int_equal(st.files + st.files_bad, 0);
	free(got);
	settle(s, T0 + 300 * SEC);
	got = read_all(dir, NULL, &n, &st);
	assert_int_equal(n, 500);
	free(got);
	sink_close(s);
	rm_tree(dir);
}

/* kill -9 of a writer leaves only .tmp files, which readers ignore; the
 * next writer publishes their whole blocks (the partial one cut off) and
 * removes a .tmp without a header. */
static void test_sink_crash_recovery(void **state)
{
	(void)state;
	char *dir = mkdir_tmp();
	enum { N = 100 };
	static struct crec in[N];
	for (unsigned i = 0; i < N; i++)
		fx_crec(&in[i], 9, i, T0 + i * 1000, 2);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sink *s = open_sink(dir, ",interval=300,block=4,flush=1");
		for (unsigned i = 0; i < N; i++)
			sink_write(s, &in[i]);
		sink_tick(s, T0 + 5 * SEC); /* the last partial block goes to the .tmp */
		struct crec late;
		for (unsigned i = 0; i < 5; i++) {
			fx_crec(&late, 99, i, T0 + 6 * SEC, 2);
			sink_write(s, &late); /* pending in memory: lost by the kill */
		}
		raise(SIGKILL);
		_exit(1);
	}
	int ws;
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
	assert_int_equal(count_names(dir, ".tmp-"), 1);
	size_t n;
	struct store_stats st;
	struct crec *got = read_all(dir, NULL, &n, &st);
	assert_int_equal(n, 0);
	free(got);

	/* A torn write at the end of the .tmp: half of a block header. */
	DIR *d = opendir(dir);
	struct dirent *de;
	char tmp[PATH_MAX] = "";
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, ".tmp-", 5) == 0)
			snprintf(tmp, sizeof(tmp), "%s/%s", dir, de->d_name);
	closedir(d);
	int fd = open(tmp, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "IPFB\0\0\0\0\0\0\0\0\0\0", 14), 14);
	close(fd);
	/* And a .tmp that never got a header. */
	char junk[PATH_MAX];
	snprintf(junk, sizeof(junk), "%s/.tmp-1-1.ipfs", dir);
	spit(junk, (const uint8_t *)"IPF", 3);

	struct sink *s = open_sink(dir, ",interval=300");
	assert_int_equal(count_names(dir, ".tmp-"), 0);
	char *text = NULL;
	size_t tlen = 0;
	FILE *mem = open_memstream(&text, &tlen);
	s->ops->show(s, mem);
	fclose(mem);
	assert_non_null(strstr(text, "1 files recovered (100 records) and 1 removed"));
	free(text);
	sink_close(s);
	got = read_all(dir, NULL, &n, &st);
	assert_int_equal(st.files_truncated + st.blocks_bad + st.files_mismatch, 0);
	assert_same_set(got, n, in, N);
	free(got);
	rm_tree(dir);
}

/* A second writer on the same directory is refused. */
static void test_sink_lock_and_spec(void **state)
{
	(void)state;
	char *dir = mkdir_tmp(), spec[PATH_MAX + 64], err[256];
	struct sink *a = open_sink(dir, "");
	snprintf(spec, sizeof(spec), "dir:%s", dir);
	assert_null(sink_open(spec, err, sizeof(err)));
	assert_non_null(strstr(err, "in use"));
	sink_close(a);
	struct sink *b = open_sink(dir, ",interval=60,block=4,codec=zstd,level=3,max_open=2,flush=0");
	sink_close(b);
	b = open_sink(dir, ",codec=lz4,accel=1");
	sink_close(b);
	static const char *const bad[] = {
		"dir:", "dir:,interval=60", "dir:/tmp/x,interval=0", "dir:/tmp/x,interval=86401", "dir:/tmp/x,bogus=1",
		"dir:/tmp/x,interval=", "dir:/tmp/x,interval=5x", "dir:/tmp/x,block=3", "dir:/tmp/x,level=20",
		"nosuch:/tmp/x", "dir:/tmp/x,interval", "dir:/tmp/x,codec=lz5", "dir:/tmp/x,codec=", "dir:/tmp/x,codec",
		"dir:/tmp/x,codec=zstdx", "dir:/tmp/x,accel=0", "dir:/tmp/x,accel=65538",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (sink_open(bad[i], err, sizeof(err)))
			fail_msg("sink_open(%s) accepted a bad spec", bad[i]);
		assert_true(err[0] != 0);
	}
	rm_tree(dir);
}

/* More exporters at once than max_open: the least recently used file is
 * finished early, the next one gets a suffix; nothing is lost. */
static void test_sink_evict(void **state)
{
	(void)state;
	char *dir = mkdir_tmp();
	struct sink *s = open_sink(dir, ",interval=300,max_open=2,block=4");
	enum { N = 900 };
	static struct crec in[N];
	for (unsigned i = 0; i < N; i++) {
		fx_crec(&in[i], 13, i, T0 + i * 1000, (i / 10) % 3);
		assert_int_equal(sink_write(s, &in[i]), ERR_OK);
	}
	sink_close(s);
	char files[256][PATH_MAX];
	int nf = find_files(dir, files, 256);
	assert_true(nf > 3);
	int suffixed = 0;
	for (int k = 0; k < nf; k++)
		suffixed += strstr(files[k], ".1.ipfs") != NULL;
	assert_true(suffixed >= 3);
	size_t n;
	struct crec *got = read_all(dir, NULL, &n, NULL);
	assert_same_set(got, n, in, N);
	free(got);
	rm_tree(dir);
}

/* Write errors: with the file-size limit (RLIMIT_FSIZE, EFBIG) standing
 * in for a full disk, the block that does not fit and the rest of that
 * interval's records are dropped and counted; the whole blocks before it
 * are published; the next interval writes again. */
static void test_sink_disk_full(void **state)
{
	(void)state;
	char *dir = mkdir_tmp();
	struct rlimit old, lim;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_IGN);
	struct sink *s = open_sink(dir, ",interval=60,block=4,flush=0");
	uint64_t start = (T0 / SEC / 60 + 1) * 60 * SEC;
	lim = old;
	lim.rlim_cur = 4096;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	enum { N = 2000 };
	static struct crec in[2 * N];
	unsigned ok1 = 0;
	for (unsigned i = 0; i < N; i++) {
		fx_crec(&in[i], 17, i, start + i * 1000, 0);
		ok1 += sink_write(s, &in[i]) == ERR_OK;
	}
	assert_true(s->st.errors >= 1);
	assert_true(s->st.dropped > 0);
	assert_true(ok1 < N);
	assert_non_null(strstr(s->err, "File too large"));
	settle(s, start + (N - 1) * 1000);
	/* The next interval tries again (a new file: the limit is per file, so
	 * a small one fits even now). */
	uint64_t written1 = s->st.written, dropped1 = s->st.dropped;
	struct crec r;
	fx_crec(&r, 18, 0, start + 60 * SEC, 0);
	assert_true(written1 > 0); /* the whole blocks before the error were published */
	sink_tick(s, start + 60 * SEC);
	assert_int_equal(sink_write(s, &r), ERR_OK);
	settle(s, start + 120 * SEC);
	assert_int_equal(s->st.written, written1 + 1);
	assert_int_equal(s->st.dropped, dropped1);
	/* Space again: the interval after writes everything. */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	for (unsigned i = 0; i < N; i++) {
		fx_crec(&in[N + i], 19, i, start + 120 * SEC + i * 1000, 0);
		assert_int_equal(sink_write(s, &in[N + i]), ERR_OK);
	}
	settle(s, start + 180 * SEC); /* finishes the third interval's file */
	signal(SIGXFSZ, SIG_DFL);
	/* Accounting is exact: taken = written + dropped, nothing in flight. */
	struct sink_stats ss = s->st;
	assert_int_equal(ss.records, 2 * N + 1);
	assert_int_equal(ss.records, ss.written + ss.dropped);
	assert_true(ss.written > N && ss.written < 2 * N);
	sink_close(s);
	size_t n;
	struct store_stats st;
	struct crec *got = read_all(dir, NULL, &n, &st);
	assert_int_equal(st.blocks_bad + st.files_truncated + st.files_bad, 0);
	/* What the sink says it wrote is what is on disk: the first interval's
	 * whole blocks, and the third interval whole. */
	assert_int_equal(n, ss.written);
	assert_same_set(got + (n - N), N, in + N, N);
	free(got);
	rm_tree(dir);
}

/* ------------------------------------------------------------ damage */

static void test_damage(void **state)
{
	int codec = *(int *)*state;
	char *dir = mkdir_tmp(), path[PATH_MAX];
	enum { N = 500, PER = 50 };
	static struct crec orig[N];
	snprintf(path, sizeof(path), "%s/d.ipfs", dir);
	write_file(path, N, PER, orig, codec);
	size_t len;
	uint8_t *img = slurp(path, &len);
	uint8_t *cp = malloc(len);
	struct store_stats st;

	/* Block offsets, walked from the block headers. */
	size_t off[N / PER + 1], nb = 0;
	for (size_t o = STORE_HDR_LEN; o < len; o += STORE_BLK_HDR_LEN + peek_u32(img + o + 8))
		off[nb++] = o;
	assert_int_equal(nb, N / PER);

	/* One byte of block 3's payload changed: that block is skipped. */
	memcpy(cp, img, len);
	cp[off[3] + STORE_BLK_HDR_LEN + 5] ^= 0x40;
	assert_int_equal(read_image(cp, len, orig, N, &st), N - PER);
	assert_int_equal(st.blocks_bad, 1);
	assert_int_equal(st.bytes_skipped, off[4] - off[3]);

	/* Block 6's length field changed: found again at block 7. */
	memcpy(cp, img, len);
	cp[off[6] + 9] ^= 0x01;
	assert_int_equal(read_image(cp, len, orig, N, &st), N - PER);
	assert_int_equal(st.blocks_bad, 1);

	/* The last block's payload damaged: nothing after it to find. */
	memcpy(cp, img, len);
	cp[len - 1] ^= 0xff;
	assert_int_equal(read_image(cp, len, orig, N, &st), N - PER);
	assert_int_equal(st.blocks_bad, 1);

	/* The file header damaged: the file is skipped whole. */
	memcpy(cp, img, len);
	cp[30] ^= 0x02;
	assert_int_equal(read_image(cp, len, orig, N, &st), 0);
	assert_int_equal(st.files_bad, 1);

	/* Not a store file at all, and an empty one. */
	assert_int_equal(read_image((const uint8_t *)"hello, world", 12, orig, N, &st), 0);
	assert_int_equal(st.files_bad, 1);
	assert_int_equal(read_image(NULL, 0, orig, N, &st), 0);
	assert_int_equal(st.files_bad, 1);

	/* Truncated at every offset within 48 bytes of a block boundary (the
	 * headers) and at every 13th elsewhere: the whole blocks before the cut
	 * are read, the cut is counted, never a crash or a read past the end. */
	for (size_t cut = 0; cut < len; cut++) {
		int near = cut < STORE_HDR_LEN + 48;
		for (size_t k = 0; k < nb && !near; k++)
			near = cut + 48 >= off[k] && cut <= off[k] + 48;
		if (!near && cut % 13)
			continue;
		size_t whole = 0;
		while (whole < nb && (whole + 1 < nb ? off[whole + 1] : len) <= cut)
			whole++;
		uint8_t *t = malloc(cut ? cut : 1); /* exactly cut bytes: ASan sees any overread */
		memcpy(t, img, cut);
		size_t got = read_image(t, cut, orig, N, &st);
		free(t);
		if (cut < STORE_HDR_LEN) {
			assert_int_equal(got, 0);
			assert_int_equal(st.files_bad, 1);
			continue;
		}
		assert_int_equal(got, whole * PER);
		assert_int_equal(st.files_truncated, 1);
	}

	/* Every bit of the headers and every 53rd bit elsewhere flipped in
	 * turn: never more than was written, records read are the ones written,
	 * and any loss is counted. */
	for (size_t bit = 0; bit < len * 8; bit++) {
		int hdr = bit / 8 < STORE_HDR_LEN;
		for (size_t k = 0; k < nb && !hdr; k++)
			hdr = bit / 8 >= off[k] && bit / 8 < off[k] + STORE_BLK_HDR_LEN;
		if (!hdr && bit % 53)
			continue;
		memcpy(cp, img, len);
		cp[bit / 8] ^= (uint8_t)(1u << bit % 8);
		size_t got = read_image(cp, len, orig, N, &st);
		assert_true(got <= N);
		if (got < N)
			assert_true(st.blocks_bad + st.files_bad + st.files_truncated + st.records_bad > 0);
	}

	/* The header's block count too high: reported as truncated. */
	memcpy(cp, img, len);
	poke_u32(cp + 32, (uint32_t)nb + 1);
	poke_u32(cp + 76, (uint32_t)crc32(0, cp, 76));
	assert_int_equal(read_image(cp, len, orig, N, &st), N);
	assert_int_equal(st.files_truncated, 1);
	/* Its record count wrong: reported as a mismatch. */
	memcpy(cp, img, len);
	poke_u64(cp + 24, N + 1);
	poke_u32(cp + 76, (uint32_t)crc32(0, cp, 76));
	assert_int_equal(read_image(cp, len, orig, N, &st), N);
	assert_int_equal(st.files_mismatch, 1);

	/* Warnings name the file and the offset. */
	memcpy(cp, img, len);
	cp[off[2] + STORE_BLK_HDR_LEN] ^= 1;
	spit(path, cp, len);
	char *text = NULL, err[256];
	size_t tlen = 0;
	FILE *mem = open_memstream(&text, &tlen);
	struct store_reader *r = store_reader_open(path, NULL, mem, err, sizeof(err));
	struct crec rec;
	size_t k = 0;
	while (store_reader_next(r, &rec) == ERR_OK)
		k++;
	store_reader_close(r);
	fclose(mem);
	assert_int_equal(k, N - PER);
	char want[PATH_MAX + 64];
	snprintf(want, sizeof(want), "%s: damaged block at offset %zu", path, off[2]);
	assert_non_null(strstr(text, want));
	free(text);
	free(cp);
	free(img);
	rm_tree(dir);
}

/* Other names in a data directory are left alone; day directories far
 * from the window are not entered. */
static void test_dir_walk(void **state)
{
	(void)state;
	char *dir = mkdir_tmp(), p[PATH_MAX];
	struct sink *s = open_sink(dir, ",interval=300");
	struct crec in[2];
	fx_crec(&in[0], 1, 0, T0, 0);
	fx_crec(&in[1], 1, 1, T0 + 3 * 86400 * SEC, 0);
	sink_write(s, &in[0]);
	sink_write(s, &in[1]);
	sink_close(s);
	snprintf(p, sizeof(p), "%s/notes.txt", dir);
	spit(p, (const uint8_t *)"x", 1);
	snprintf(p, sizeof(p), "%s/2023/11/14/README", dir);
	spit(p, (const uint8_t *)"x", 1);
	snprintf(p, sizeof(p), "%s/2023/11/14/flows-bogus-1.ipfs", dir);
	spit(p, (const uint8_t *)"not a store file", 16);
	snprintf(p, sizeof(p), "%s/20231", dir);
	mkdir(p, 0755);
	size_t n;
	struct store_stats st;
	struct crec *got = read_all(dir, NULL, &n, &st);
	assert_int_equal(n, 2);
	assert_int_equal(st.files, 2);
	assert_int_equal(st.files_bad, 1); /* the bogus .ipfs, counted */
	free(got);
	struct store_sel sel = { .from_us = T0 + 2 * 86400 * SEC, .to_us = UINT64_MAX };
	got = read_all(dir, &sel, &n, &st);
	assert_int_equal(n, 1);
	assert_int_equal(st.files + st.files_skipped + st.files_bad, 1); /* 2023/11/14 not entered */
	free(got);
	rm_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_record),
		cmocka_unit_test_prestate(test_file_roundtrip, &codec_lz4),
		cmocka_unit_test_prestate(test_file_roundtrip, &codec_zstd),
		cmocka_unit_test(test_lz4_bad_payload),
		cmocka_unit_test(test_version1_file),
		cmocka_unit_test(test_plane_map),
		cmocka_unit_test(test_sink_rotation),
		cmocka_unit_test(test_sink_atomic),
		cmocka_unit_test(test_sink_crash_recovery),
		cmocka_unit_test(test_sink_lock_and_spec),
		cmocka_unit_test(test_sink_evict),
		cmocka_unit_test(test_sink_disk_full),
		cmocka_unit_test_prestate(test_damage, &codec_lz4),
		cmocka_unit_test_prestate(test_damage, &codec_zstd),
		cmocka_unit_test(test_dir_walk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
