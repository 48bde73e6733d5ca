/* fuzz_spool.c — libFuzzer target: the spool's file reader. Each input is
 * parsed as one spool file by spool_parse(), then put on disk as the only
 * batch of a spool directory and read back through spool_open/spool_peek,
 * the path a collector takes at restart over files it did not write in
 * this run. A valid file must come back byte for byte; anything else must
 * be counted as corrupt and removed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/spool.h"
#include "lib/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void cleanup(void)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/LOCK", dir);
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spool_item it;
	int prc = spool_parse(data, size, &it);
	if (prc == ERR_OK && (it.data < data || it.data + it.len > data + size))
		abort();

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/fuzz_spool.%d", (int)getpid());
		atexit(cleanup);
	}
	char err[256], path[128];
	struct spool *sp = spool_open(dir, 0, err, sizeof(err));
	if (!sp)
		abort();
	snprintf(path, sizeof(path), "%s/%016llx.spl", dir, 5ull);
	FILE *f = fopen(path, "wb");
	if (!f)
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	spool_close(sp);

	sp = spool_open(dir, 0, err, sizeof(err));
	if (!sp)
		abort();
	struct spool_item got;
	int rc = spool_peek(sp, &got);
	struct spool_stats st;
	spool_get_stats(sp, &st);
	if (prc == ERR_OK) {
		if (rc != ERR_OK || got.len != it.len || (it.len && memcmp(got.data, it.data, it.len)))
			abort();
		spool_item_free(&got);
		if (spool_pop(sp) != ERR_OK)
			abort();
	} else if (rc != ERR_END || st.corrupt != 1) {
		abort();
	}
	spool_close(sp);
	unlink(path);
	return 0;
}
