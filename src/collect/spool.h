/* spool.h — a bounded on-disk queue of batches, oldest first.
 *
 * Sinks that talk to a server (sink_clickhouse.c) park the batches the
 * server did not take here and replay them in order when it is back; the
 * spool survives a restart of the collector. One directory, one file per
 * batch, named by a 64-bit sequence number (16 hex digits + ".spl"), so
 * the order is the file names' order. A batch is written to a ".tmp" file,
 * fsync'd and renamed, so a crash leaves either the whole batch or none
 * (stale .tmp files are removed at open).
 *
 * File layout (big-endian), SPOOL_HDR_LEN bytes of header, then payload:
 *   0  magic "IPFLSPL1"
 *   8  u32 rows         rows the payload holds (the sink's unit of loss)
 *  12  u32 flags        sink-defined
 *  16  u64 batch_id     sink-defined (ClickHouse: the batch's dedup id)
 *  24  u64 meta         sink-defined (ClickHouse: time range of the rows)
 *  32  u32 payload_len
 *  36  u32 crc          CRC-32 (zlib) of bytes 0..35 and the payload
 *
 * Bounds: the files' total size stays at or below max_bytes. When a put
 * would pass it, the oldest batches are deleted first and counted in
 * dropped_batches / dropped_rows: newer data is worth more to an operator
 * than the oldest. A batch larger than max_bytes alone is refused
 * (ERR_FULL) and counted the same way. A file that fails its checks on
 * read is deleted and counted in corrupt (its rows, if the header could be
 * read, in corrupt_rows).
 *
 * One process owns a directory at a time (flock on DIR/LOCK); open fails
 * if another holds it. Not thread-safe: one thread drives a spool.
 * Ownership: spool_open's result belongs to the caller (spool_close).
 * spool_peek fills an item whose data the caller frees (spool_item_free). */
#ifndef IPFLOW_SPOOL_H
#define IPFLOW_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#define SPOOL_HDR_LEN 40
#define SPOOL_MAX_PAYLOAD 0x7fffffffu
#define SPOOL_DEFAULT_BYTES (1ull << 30) /* 1 GiB */

struct spool_stats {
	uint64_t batches;          /* batches in the spool now */
	uint64_t rows;             /* rows in the spool now */
	uint64_t bytes;            /* bytes of files in the spool now */
	uint64_t max_bytes;        /* the bound */
	uint64_t put_batches;      /* batches written since open */
	uint64_t popped_batches;   /* batches taken out (replayed) since open */
	uint64_t dropped_batches;  /* oldest deleted to make room, or too big */
	uint64_t dropped_rows;
	uint64_t corrupt;          /* files that failed their checks, deleted */
	uint64_t corrupt_rows;
	uint64_t io_errors;        /* writes/reads/unlinks that failed */
};

struct spool_item {
	uint64_t seq;       /* out (peek): position in the spool */
	uint64_t batch_id;
	uint64_t meta;
	uint32_t rows;
	uint32_t flags;
	uint8_t *data;      /* payload; peek: malloc'd, free with spool_item_free */
	size_t len;
};

struct spool;

/* Open (creating DIR and missing parents, mode 0750) and index the spool in DIR,
 * bounded to max_bytes (0 = SPOOL_DEFAULT_BYTES). If the files already
 * there exceed the bound, the oldest are dropped and counted. NULL with a
 * message in err on failure (not a directory, no permission, locked). */
struct spool *spool_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen);
void spool_close(struct spool *sp); /* NULL-safe; files stay on disk */

/* Append one batch (it->data, it->len; seq ignored). Makes room by dropping
 * the oldest batches. ERR_FULL if the batch alone is larger than the bound,
 * ERR_IO if it could not be written (errno kept), ERR_ARG if too long. */
int spool_put(struct spool *sp, const struct spool_item *it);

/* Load the oldest batch into *it (data malloc'd). ERR_END if the spool is
 * empty; files that fail their checks are deleted, counted, and skipped.
 * ERR_NOMEM / ERR_IO leave the batch in place. */
int spool_peek(struct spool *sp, struct spool_item *it);

/* Delete the oldest batch (the one peek returned). ERR_END if empty. */
int spool_pop(struct spool *sp);

void spool_item_free(struct spool_item *it); /* frees data; NULL-safe */

void spool_get_stats(const struct spool *sp, struct spool_stats *st);
const char *spool_dir(const struct spool *sp);

/* Parse one spool file's bytes: header checks (magic, lengths, CRC) and
 * it->data pointing into p. ERR_TRUNC if shorter than its header says,
 * ERR_FORMAT for a bad magic, trailing bytes or CRC. Reads nothing outside
 * p[0..len). This is the spool's reader of outside bytes (fuzzed). */
int spool_parse(const uint8_t *p, size_t len, struct spool_item *it);

/* Write the header for it (payload it->data/len) into hdr. */
void spool_build_hdr(uint8_t hdr[SPOOL_HDR_LEN], const struct spool_item *it);

#endif
