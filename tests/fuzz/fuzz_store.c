/* fuzz_store.c — libFuzzer target: the file store reader over arbitrary
 * bytes (a store file from a disk that cannot be trusted). The input is
 * read as one file, whole, with every record decoded; then again with a
 * time window taken from its last 16 bytes (block skipping) and through
 * recovery's block walk. Nothing may crash, loop or read outside the input;
 * the counters must add up. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "collect/store.h"
#include "lib/bytes.h"
#include "lib/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_all(const uint8_t *data, size_t size, const struct store_sel *sel)
{
	struct store_stats st;
	memset(&st, 0, sizeof(st));
	struct store_file *f = store_file_open_mem(data, size, sel, &st, NULL);
	if (!f)
		return;
	struct crec r;
	uint64_t n = 0;
	while (store_file_next(f, &r) == ERR_OK) {
		if (r.f.key.af != 4 && r.f.key.af != 6)
			abort(); /* bad records are counted, never returned */
		if (sel && (store_rec_time(&r) < sel->from_us || store_rec_time(&r) >= sel->to_us))
			abort();
		n++;
	}
	store_file_close(f);
	if (n != st.records_out || st.records_out + st.records_bad > st.records)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	read_all(data, size, NULL);
	if (size >= 16) {
		struct store_sel sel = { .from_us = peek_u64(data + size - 16), .to_us = peek_u64(data + size - 8) };
		read_all(data, size, &sel);
	}
	/* Recovery works on an fd: give it a memory file. */
	int fd = memfd_create("fuzz_store", 0);
	if (fd >= 0) {
		if (write(fd, data, size) == (ssize_t)size) {
			struct store_hdr h;
			uint64_t cut;
			char err[128];
			if (store_recover_fd(fd, &h, &cut, err, sizeof(err)) == ERR_OK && cut > size)
				abort();
		}
		close(fd);
	}
	return 0;
}
