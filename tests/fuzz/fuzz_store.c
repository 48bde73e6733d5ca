/* fuzz_store.c — libFuzzer target: the file store reader over arbitrary
 * bytes (a store file from a disk that cannot be trusted). The input is
 * read as one file, whole, with every record decoded; then again with a
 * time window taken from its last 16 bytes (block skipping) and through
 * recovery's block walk. A copy whose header and block CRCs are made right
 * is read too, so that mutations reach the decompressor and the record
 * decoder instead of stopping at a CRC. Nothing may crash, loop or read
 * outside the input; the counters must add up. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

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

/* Rewrite the CRCs of the header and of each block that the lengths
 * frame, as if a writer had produced these bytes. */
static void fix_crcs(uint8_t *p, size_t size)
{
	if (size < STORE_HDR_LEN)
		return;
	poke_u32(p + 76, (uint32_t)crc32(0, p, 76));
	size_t off = peek_u16(p + 6);
	while (off + STORE_BLK_HDR_LEN <= size) {
		uint8_t *b = p + off;
		size_t clen = peek_u32(b + 8);
		if (clen > size - off - STORE_BLK_HDR_LEN)
			clen = size - off - STORE_BLK_HDR_LEN;
		poke_u32(b + 32, (uint32_t)crc32(0, b + STORE_BLK_HDR_LEN, (uInt)clen));
		poke_u32(b + 36, (uint32_t)crc32(0, b, 36));
		off += STORE_BLK_HDR_LEN + clen;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	read_all(data, size, NULL);
	uint8_t *fixed = malloc(size ? size : 1);
	if (fixed) {
		memcpy(fixed, data, size);
		fix_crcs(fixed, size);
		read_all(fixed, size, NULL);
		free(fixed);
	}
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
