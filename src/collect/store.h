/* store.h — the collector's file store: the on-disk format (doc/store-format.md),
 * a writer of one file and a reader of one file or of a whole data directory.
 *
 * A store file holds the records one exporter sent during one interval:
 * an 80-byte header, then blocks. A block is a 40-byte block header and a
 * compressed payload (an LZ4 block or a zstd frame, as the file header's
 * codec says) holding up to a few thousand fixed-size records,
 * byte-shuffled (all records' byte 0, then all byte 1, ...) so that the
 * compressor sees the columns.
 * Every header carries a CRC-32 (zlib) so damage is detected, counted and
 * skipped. Integers are big-endian; times are microseconds since 1970 UTC.
 *
 * Layout under a data directory (the sink "dir", sink_file.c):
 *   DIR/YYYY/MM/DD/flows-<exporter>-<YYYYMMDDhhmm>.ipfs   finished files
 *   DIR/.tmp-<pid>-<n>.ipfs                               files being written
 *   DIR/.lock                                             held by the writer
 * A file is written under its .tmp name, fsynced and renamed (no-replace),
 * so a reader sees only whole files. Readers ignore names starting with '.'.
 *
 * Memory: a writer holds one block of records (block_recs * STORE_REC_LEN
 * bytes, as rows: encoding a row is a few wide stores); the shared struct
 * store_codec holds one block shuffled into byte planes (8 x 8 tiles
 * transposed in registers) and one compressed block. Version 2 blocks
 * keep a plane whose bytes are all equal as that one byte (a map says
 * which), so the compressor sees only the planes that vary. A reader holds one block (at most STORE_BLOCK_MAX raw). */
#ifndef IPFLOW_STORE_H
#define IPFLOW_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "collect/crec.h"

#define STORE_VERSION 2           /* what the writer writes */
#define STORE_VERSION_MIN 1       /* oldest a reader reads (1: every plane stored) */
#define STORE_HDR_LEN 80          /* file header (versions 1 and 2) */
#define STORE_BLK_HDR_LEN 40      /* block header */
#define STORE_REC_LEN 136         /* version 1 record */
#define STORE_REC_LEN_MAX 4096    /* longer records (a future layout) are refused */
#define STORE_HDR_LEN_MAX 4096    /* longer file headers are refused */
#define STORE_BLOCK_MAX (16u << 20) /* largest raw block a reader accepts */
#define STORE_CODEC_ZSTD 1        /* payload: one zstd frame */
#define STORE_CODEC_LZ4 2         /* payload: one LZ4 block (raw_len known from the block header) */
#define STORE_F_COMPLETE 1        /* header flag: the writer finished the file */

/* File header fields (doc/store-format.md, "File header"). */
struct store_hdr {
	uint16_t version;     /* STORE_VERSION */
	uint16_t header_len;  /* bytes before the first block (>= STORE_HDR_LEN) */
	uint16_t rec_len;     /* bytes per record in a block (>= STORE_REC_LEN) */
	uint8_t codec;        /* STORE_CODEC_ZSTD or STORE_CODEC_LZ4 */
	uint8_t flags;        /* STORE_F_* */
	uint32_t interval_s;  /* rotation interval */
	uint64_t start_s;     /* interval start, unix seconds (multiple of interval_s) */
	uint64_t records;     /* records in the file (0 until finished) */
	uint32_t blocks;      /* blocks in the file (0 until finished) */
	uint8_t exporter_af;  /* 4 or 6 */
	uint8_t exporter[16]; /* exporter address (IPv4 in the first 4 bytes) */
	uint64_t min_us;      /* smallest record time (store_rec_time) in the file */
	uint64_t max_us;      /* largest record time */
	uint32_t max_raw;     /* largest raw (uncompressed) block length */
};

/* Encode h into out[0..STORE_HDR_LEN) with magic and CRC. */
void store_hdr_put(uint8_t *out, const struct store_hdr *h);
/* Decode a file header from p[0..len): ERR_TRUNC if len < STORE_HDR_LEN,
 * ERR_FORMAT for a bad magic, CRC or field (lengths, af), ERR_UNSUPP for
 * a version outside STORE_VERSION_MIN..STORE_VERSION or a codec this
 * reader does not know. */
int store_hdr_get(const uint8_t *p, size_t len, struct store_hdr *h);

/* The time a record is filed under for windows: its flow end time, or the
 * time it was received if the exporter sent no end time. */
static inline uint64_t store_rec_time(const struct crec *r)
{
	return r->f.last_us ? r->f.last_us : r->recv_us;
}

/* One record in its row form (STORE_REC_LEN bytes at p). The exporter
 * address is not part of a record (it is the file's); t/raw are not kept. */
void store_rec_put(uint8_t *p, const struct crec *r);
/* Decode a row of rec_len (>= STORE_REC_LEN) bytes; bytes past the
 * version 1 fields are ignored. Fills r (zeroed first) except exporter. */
void store_rec_get(const uint8_t *p, struct crec *r);

/* ------------------------------------------------------------ writer */

/* Compression state shared by the writers of one sink (one thread). */
struct store_codec;
/* codec: STORE_CODEC_LZ4 (the fastest; level: its acceleration, 1 ..
 * 65537, 1 the best ratio, higher faster) or STORE_CODEC_ZSTD (level: 1
 * is fast, 3 zstd's default; negative = faster).
 * block_recs: records per block, 1 .. STORE_BLOCK_MAX / STORE_REC_LEN.
 * NULL on allocation failure or an unknown codec. */
struct store_codec *store_codec_new(int codec, int level, uint32_t block_recs);
/* Name of a codec number ("lz4", "zstd"), or NULL if unknown. */
const char *store_codec_name(int codec);
void store_codec_free(struct store_codec *c); /* NULL-safe */

/* A file being written. Owns its fd and its block buffer. */
struct store_writer;

/* Create path (O_EXCL) and write h's header (flags 0, counts 0) to it.
 * NULL with a message in err if the file cannot be created or written. */
struct store_writer *store_writer_create(const char *path, const struct store_hdr *h, struct store_codec *c,
                                         char *err, size_t errlen);
/* Add one record; a full block is compressed and written. On a write error
 * the file is cut back to its last whole block and ERR_IO is returned with
 * err set: the records of that block are lost (store_writer_lost tells how
 * many, cumulatively) and the writer is failed: further adds return ERR_IO
 * and lose the record. */
int store_writer_add(struct store_writer *w, const struct crec *r, char *err, size_t errlen);
/* Write the block in progress, if any (ERR_IO as for add). */
int store_writer_flush(struct store_writer *w, char *err, size_t errlen);
/* Write the block in progress (as flush) and free the block buffer: the
 * writer takes no more records, and store_writer_finish() then uses
 * neither the buffer nor the shared codec, so it may run on another
 * thread. ERR_IO as for add (the block's records count as lost); a
 * writer that had failed before returns ERR_OK (nothing new). */
int store_writer_seal(struct store_writer *w, char *err, size_t errlen);
/* Records accepted but not yet in a written block. */
uint32_t store_writer_pending(const struct store_writer *w);
uint64_t store_writer_lost(const struct store_writer *w);
uint64_t store_writer_records(const struct store_writer *w); /* in written blocks */
uint64_t store_writer_bytes(const struct store_writer *w);   /* file length so far */
uint32_t store_writer_blocks(const struct store_writer *w);
/* What a finished file holds. */
struct store_wres {
	uint64_t records;     /* records in written blocks (0 if not fit to publish) */
	uint64_t lost;        /* records lost to write errors */
	uint64_t bytes;       /* file length */
	uint32_t blocks;
};
/* Finish: flush (if not failed), patch the header (counts, ranges,
 * complete flag), fsync, close. The file stays at its path; the caller
 * renames it (or unlinks it if res->records is 0). If records were lost,
 * err says why. ERR_IO with err if the header or fsync failed: the file
 * is then not fit to publish and all its records count as lost. Frees w
 * either way. */
int store_writer_finish(struct store_writer *w, struct store_wres *res, char *err, size_t errlen);
/* Close and unlink the file; NULL-safe. */
void store_writer_abort(struct store_writer *w);

/* ------------------------------------------------------------ reader */

/* What a reader met. Every skip has a counter and (with a warn stream)
 * a message naming the file and the offset. */
struct store_stats {
	uint64_t files;           /* files opened (header read) */
	uint64_t files_skipped;   /* not read: outside the window or another exporter */
	uint64_t files_bad;       /* unreadable header (damaged, not a store file) */
	uint64_t files_unsupp;    /* header of an unknown version */
	uint64_t files_truncated; /* ended inside a block, or before their block count */
	uint64_t files_mismatch;  /* whole, but blocks/records differ from the header's counts */
	uint64_t blocks;          /* blocks decoded */
	uint64_t blocks_skipped;  /* not decoded: outside the window */
	uint64_t blocks_bad;      /* damaged blocks (CRC, framing, decompression) */
	uint64_t bytes_skipped;   /* bytes passed over to find the next good block */
	uint64_t records;         /* records decoded from good blocks */
	uint64_t records_bad;     /* records with an impossible value (address family) */
	uint64_t records_out;     /* records returned (inside the window) */
};

/* Which records a reader returns: time (store_rec_time) in [from_us,
 * to_us), and, if exporter_af is 4 or 6, only that exporter's. */
struct store_sel {
	uint64_t from_us;
	uint64_t to_us;           /* UINT64_MAX: no upper bound */
	uint8_t exporter_af;      /* 0: every exporter */
	uint8_t exporter[16];
};

/* A reader of one file, from an fd (not owned) or from memory (not copied;
 * the fuzz target's way in). name prefixes warnings (may be NULL).
 * A file whose header is bad yields no records and counts in st. */
struct store_file;
struct store_file *store_file_open_fd(int fd, const char *name, const struct store_sel *sel,
                                      struct store_stats *st, FILE *warn);
struct store_file *store_file_open_mem(const uint8_t *p, size_t len, const struct store_sel *sel,
                                       struct store_stats *st, FILE *warn);
/* The header, or NULL if it was unreadable. */
const struct store_hdr *store_file_hdr(const struct store_file *f);
/* ERR_OK with *r filled, or ERR_END (damage is counted, not returned).
 * Reads nothing outside the file; memory is one block. */
int store_file_next(struct store_file *f, struct crec *r);
void store_file_close(struct store_file *f); /* NULL-safe */

/* A reader of a data directory (or a single store file): the finished files
 * whose day directory lies within a day of the window, files whose header
 * time range misses the window skipped unread. Files are read in path
 * order. NULL with err if path cannot be opened. */
struct store_reader;
struct store_reader *store_reader_open(const char *path, const struct store_sel *sel, FILE *warn, char *err,
                                       size_t errlen);
int store_reader_next(struct store_reader *r, struct crec *rec); /* ERR_OK or ERR_END */
const struct store_stats *store_reader_stats(const struct store_reader *r);
void store_reader_close(struct store_reader *r); /* NULL-safe */

/* Make a file a dead writer left (a .tmp file: header, whole blocks, maybe
 * a partial block) fit to publish: keep the blocks up to the first one
 * that does not check out, cut the rest off, write the header's counts,
 * ranges and complete flag, fsync. fd is open read-write. ERR_OK with *h
 * the new header (h->records may be 0: nothing worth keeping) and
 * *cut_bytes what was cut off; ERR_FORMAT if the header is unreadable,
 * ERR_IO with err if a system call failed. */
int store_recover_fd(int fd, struct store_hdr *h, uint64_t *cut_bytes, char *err, size_t errlen);

/* The sink that writes this format into a data directory (sink_file.c). */
struct sink_ops;
extern const struct sink_ops sink_dir_ops;

/* ------------------------------------------------------------ names */

/* "flows-<exporter>-<YYYYMMDDhhmm>" for h (IPv6 ':' written as '_'), and
 * "YYYY/MM/DD" of h->start_s (UTC). 0, or ERR_NOSPACE. */
int store_file_stem(const struct store_hdr *h, char *out, size_t cap);
int store_day_dir(uint64_t start_s, char *out, size_t cap);

#endif
