/* test_spool.c — the on-disk batch spool: order kept across a reopen
 * (collector restart), the bound holds with the oldest dropped and
 * counted, a batch bigger than the bound is refused and counted, stale
 * .tmp files and corrupt files are removed and counted, the directory
 * lock keeps a second process out, and the file reader refuses every
 * truncation and every flipped byte of a valid file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect/spool.h"
#include "lib/err.h"

static char *mkdir_tmp(void)
{
	char tmpl[] = "/tmp/test_spool.XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static void rm_rf(const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* Batch k: rows k+1, payload of (k % 50) * 100 + 10 bytes of value k. */
static void put_k(struct spool *sp, unsigned k, size_t len)
{
	uint8_t *buf = malloc(len);
	assert_non_null(buf);
	memset(buf, (int)(k & 0xff), len);
	struct spool_item it = { .batch_id = 1000 + k, .meta = (uint64_t)k << 32 | 7, .rows = k + 1,
	                         .flags = 3, .data = buf, .len = len };
	assert_int_equal(spool_put(sp, &it), ERR_OK);
	free(buf);
}

static void expect_k(struct spool *sp, unsigned k, size_t len)
{
	struct spool_item it;
	assert_int_equal(spool_peek(sp, &it), ERR_OK);
	assert_int_equal(it.batch_id, 1000 + k);
	assert_int_equal(it.meta, (uint64_t)k << 32 | 7);
	assert_int_equal(it.rows, k + 1);
	assert_int_equal(it.flags, 3);
	assert_int_equal(it.len, len);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(it.data[i], k & 0xff);
	spool_item_free(&it);
	assert_int_equal(spool_pop(sp), ERR_OK);
}

static void test_order_and_restart(void **state)
{
	(void)state;
	char *dir = mkdir_tmp();
	char err[256];
	struct spool *sp = spool_open(dir, 0, err, sizeof(err));
	assert_non_null(sp);
	for (unsigned k = 0; k < 10; k++)
		put_k(sp, k, 100 + k);
	expect_k(sp, 0, 100);
	expect_k(sp, 1, 101);
	spool_close(sp);

	/* "restart": a new open sees the 8 left, in order, and appends after */
	sp = spool_open(dir, 0, err, sizeof(err));
	assert_non_null(sp);
	struct spool_stats st;
	spool_get_stats(sp, &st);
	assert_int_equal(st.batches, 8);
	assert_int_equal(st.rows, 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10);
	assert_int_equal(st.bytes, 8 * SPOOL_HDR_LEN + 102 + 103 + 104 + 105 + 106 + 107 + 108 + 109);
	put_k(sp, 10, 5);
	for (unsigned k = 2; k < 10; k++)
		expect_k(sp, k, 100 + k);
	expect_k(sp, 10, 5);
	struct spool_item it;
	assert_int_equal(spool_peek(sp, &it), ERR_END);
	assert_int_equal(spool_pop(sp), ERR_END);
	spool_get_stats(sp, &st);
	assert_int_equal(st.batches, 0);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.dropped_batches, 0);
	spool_close(sp);
	rm_rf(dir);
	free(dir);
}

static void test_bound_drops_oldest(void **state)
{
	(void)state;
	char *dir = mkdir_tmp();
	char err[256];
	/* room for exactly 3 batches of 1000 payload bytes */
	uint64_t max = 3 * (SPOOL_HDR_LEN + 1000);
	struct spool *sp = spool_open(dir, max, err, sizeof(err));
	assert_non_null(sp);
	for (unsigned k = 0; k < 7; k++)
		put_k(sp, k, 1000);
	struct spool_stats st;
	spool_get_stats(sp, &st);
	assert_int_equal(st.batches, 3);
	assert_true(st.bytes <= max);
	assert_int_equal(st.dropped_batches, 4);
	assert_int_equal(st.dropped_rows, 1 + 2 + 3 + 4);

	/* bigger than the bound on its own: refused and counted */
	uint8_t *big = calloc(1, (size_t)max);
	assert_non_null(big);
	struct spool_item it = { .batch_id = 9, .rows = 77, .data = big, .len = (size_t)max };
	assert_int_equal(spool_put(sp, &it), ERR_FULL);
	free(big);
	spool_get_stats(sp, &st);
	assert_int_equal(st.dropped_batches, 5);
	assert_int_equal(st.dropped_rows, 1 + 2 + 3 + 4 + 77);
	assert_int_equal(st.batches, 3);
	spool_close(sp);

	/* reopened with a smaller bound: the oldest go, counted */
	sp = spool_open(dir, SPOOL_HDR_LEN + 1000, err, sizeof(err));
	assert_non_null(sp);
	spool_get_stats(sp, &st);
	assert_int_equal(st.batches, 1);
	assert_int_equal(st.dropped_batches, 2);
	assert_int_equal(st.dropped_rows, 5 + 6);
	expect_k(sp, 6, 1000);
	spool_close(sp);
	rm_rf(dir);
	free(dir);
}

static void write_file(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	fclose(f);
}

static void test_corrupt_and_tmp(void **state)
{
	(void)state;
	char *dir = mkdir_tmp();
	char err[256], path[512];
	struct spool *sp = spool_open(dir, 0, err, sizeof(err));
	assert_non_null(sp);
	put_k(sp, 0, 64);
	put_k(sp, 1, 64);
	put_k(sp, 2, 64);
	spool_close(sp);

	/* flip a payload byte of batch 1 (file 1), leave a stale .tmp, a foreign file */
	snprintf(path, sizeof(path), "%s/%016llx.spl", dir, 1ull);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	uint8_t b = 0x55;
	assert_int_equal(pwrite(fd, &b, 1, SPOOL_HDR_LEN + 10), 1);
	close(fd);
	snprintf(path, sizeof(path), "%s/%016llx.tmp", dir, 3ull);
	write_file(path, "half", 4);
	snprintf(path, sizeof(path), "%s/README", dir);
	write_file(path, "not a batch", 11);

	sp = spool_open(dir, 0, err, sizeof(err));
	assert_non_null(sp);
	snprintf(path, sizeof(path), "%s/%016llx.tmp", dir, 3ull);
	assert_int_equal(access(path, F_OK), -1); /* removed at open */
	expect_k(sp, 0, 64);
	expect_k(sp, 2, 64); /* 1 failed its CRC: skipped */
	struct spool_stats st;
	spool_get_stats(sp, &st);
	assert_int_equal(st.corrupt, 1);
	assert_int_equal(st.corrupt_rows, 2);
	assert_int_equal(st.batches, 0);
	spool_close(sp);
	rm_rf(dir);
	free(dir);
}

static void test_lock(void **state)
{
	(void)state;
	char *dir = mkdir_tmp();
	char err[256];
	struct spool *a = spool_open(dir, 0, err, sizeof(err));
	assert_non_null(a);
	/* flock is per open file description: a second open is refused */
	struct spool *b = spool_open(dir, 0, err, sizeof(err));
	assert_null(b);
	assert_non_null(strstr(err, "in use"));
	spool_close(a);
	b = spool_open(dir, 0, err, sizeof(err));
	assert_non_null(b);
	spool_close(b);
	spool_close(NULL);

	/* missing parents are made */
	char deep[512];
	snprintf(deep, sizeof(deep), "%s/a/b/c", dir);
	b = spool_open(deep, 0, err, sizeof(err));
	assert_non_null(b);
	spool_close(b);

	/* a path that is a file, not a directory */
	char path[512];
	snprintf(path, sizeof(path), "%s/file", dir);
	write_file(path, "x", 1);
	assert_null(spool_open(path, 0, err, sizeof(err)));
	assert_true(strlen(err) > 0);
	rm_rf(dir);
	free(dir);
}

/* The reader: every strict prefix of a valid file is ERR_TRUNC, every
 * single-byte change is refused, a trailing byte is refused. */
static void test_parse_truncated_and_flipped(void **state)
{
	(void)state;
	uint8_t payload[37];
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	struct spool_item in = { .batch_id = 42, .meta = 43, .rows = 44, .flags = 1, .data = payload,
	                         .len = sizeof(payload) };
	uint8_t file[SPOOL_HDR_LEN + sizeof(payload) + 1];
	spool_build_hdr(file, &in);
	memcpy(file + SPOOL_HDR_LEN, payload, sizeof(payload));
	size_t flen = SPOOL_HDR_LEN + sizeof(payload);
	struct spool_item out;
	assert_int_equal(spool_parse(file, flen, &out), ERR_OK);
	assert_int_equal(out.batch_id, 42);
	assert_int_equal(out.meta, 43);
	assert_int_equal(out.rows, 44);
	assert_int_equal(out.len, sizeof(payload));
	assert_memory_equal(out.data, payload, sizeof(payload));
	for (size_t n = 0; n < flen; n++) {
		int rc = spool_parse(file, n, &out);
		/* a prefix is short, except a cut in the magic that still mismatches */
		assert_true(rc == ERR_TRUNC || (n < 8 && rc == ERR_FORMAT));
		assert_int_not_equal(rc, ERR_OK);
	}
	for (size_t i = 0; i < flen; i++) {
		file[i] ^= 0x01;
		assert_int_not_equal(spool_parse(file, flen, &out), ERR_OK);
		file[i] ^= 0x01;
	}
	file[flen] = 0;
	assert_int_equal(spool_parse(file, flen + 1, &out), ERR_FORMAT);
	assert_int_equal(spool_parse(file, flen, &out), ERR_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_restart),
		cmocka_unit_test(test_bound_drops_oldest),
		cmocka_unit_test(test_corrupt_and_tmp),
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_parse_truncated_and_flipped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
