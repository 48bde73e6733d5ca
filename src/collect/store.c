/* store.c — the file store's format, writer and readers (see store.h and
 * doc/store-format.md, which this file implements field for field). */
#include "collect/store.h"

#include <arpa/inet.h>
#include <dirent.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lz4.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "lib/buf.h"
#include "lib/bytes.h"
#include "lib/err.h"

static const uint8_t file_magic[4] = { 'I', 'P', 'F', 'S' };
static const uint8_t blk_magic[4] = { 'I', 'P', 'F', 'B' };

/* CRC-32 (ISO-HDLC, zlib's crc32) of p[0..n). */
static uint32_t crc(const uint8_t *p, size_t n)
{
	uLong c = crc32(0L, Z_NULL, 0);
	while (n) {
		uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
		c = crc32(c, p, k);
		p += k;
		n -= k;
	}
	return (uint32_t)c;
}

/* ------------------------------------------------------------ file header */

/* Field offsets of the version 1 file header. */
enum {
	H_MAGIC = 0, H_VERSION = 4, H_HDRLEN = 6, H_RECLEN = 8, H_CODEC = 10, H_FLAGS = 11,
	H_INTERVAL = 12, H_START = 16, H_RECORDS = 24, H_BLOCKS = 32, H_AF = 36, H_EXPORTER = 40,
	H_MIN = 56, H_MAX = 64, H_MAXRAW = 72, H_CRC = 76,
};

void store_hdr_put(uint8_t *out, const struct store_hdr *h)
{
	memset(out, 0, STORE_HDR_LEN);
	memcpy(out + H_MAGIC, file_magic, 4);
	poke_u16(out + H_VERSION, h->version);
	poke_u16(out + H_HDRLEN, STORE_HDR_LEN);
	poke_u16(out + H_RECLEN, h->rec_len);
	out[H_CODEC] = h->codec;
	out[H_FLAGS] = h->flags;
	poke_u32(out + H_INTERVAL, h->interval_s);
	poke_u64(out + H_START, h->start_s);
	poke_u64(out + H_RECORDS, h->records);
	poke_u32(out + H_BLOCKS, h->blocks);
	out[H_AF] = h->exporter_af;
	memcpy(out + H_EXPORTER, h->exporter, 16);
	poke_u64(out + H_MIN, h->min_us);
	poke_u64(out + H_MAX, h->max_us);
	poke_u32(out + H_MAXRAW, h->max_raw);
	poke_u32(out + H_CRC, crc(out, H_CRC));
}

int store_hdr_get(const uint8_t *p, size_t len, struct store_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (len < STORE_HDR_LEN)
		return ERR_TRUNC;
	if (memcmp(p + H_MAGIC, file_magic, 4) != 0)
		return ERR_FORMAT;
	/* The CRC covers the version 1 fields only, so that a later version
	 * that appends fields keeps this check meaningful. */
	if (peek_u32(p + H_CRC) != crc(p, H_CRC))
		return ERR_FORMAT;
	h->version = peek_u16(p + H_VERSION);
	if (h->version < STORE_VERSION_MIN || h->version > STORE_VERSION)
		return ERR_UNSUPP;
	h->header_len = peek_u16(p + H_HDRLEN);
	h->rec_len = peek_u16(p + H_RECLEN);
	h->codec = p[H_CODEC];
	h->flags = p[H_FLAGS];
	h->interval_s = peek_u32(p + H_INTERVAL);
	h->start_s = peek_u64(p + H_START);
	h->records = peek_u64(p + H_RECORDS);
	h->blocks = peek_u32(p + H_BLOCKS);
	h->exporter_af = p[H_AF];
	memcpy(h->exporter, p + H_EXPORTER, 16);
	h->min_us = peek_u64(p + H_MIN);
	h->max_us = peek_u64(p + H_MAX);
	h->max_raw = peek_u32(p + H_MAXRAW);
	if (h->header_len < STORE_HDR_LEN || h->header_len > STORE_HDR_LEN_MAX || h->rec_len < STORE_REC_LEN ||
	    h->rec_len > STORE_REC_LEN_MAX || (h->exporter_af != 4 && h->exporter_af != 6))
		return ERR_FORMAT;
	if (!store_codec_name(h->codec))
		return ERR_UNSUPP; /* a codec of a later writer: refused, counted, not misread */
	return ERR_OK;
}

/* ------------------------------------------------------------ records */

/* Field offsets of the version 1 record (doc/store-format.md, "Record"). */
enum {
	R_AF = 0, R_PROTO = 1, R_TOS = 2, R_FLAGS = 3, R_SMASK = 4, R_DMASK = 5, R_END = 6, R_DIR = 7,
	R_SPORT = 8, R_DPORT = 10, R_MINTTL = 12, R_MAXTTL = 13, R_MINLEN = 14, R_MAXLEN = 16,
	R_TMPL = 18, R_VERSION = 20, R_RSVD = 22, R_SRC = 24, R_DST = 40, R_NEXTHOP = 56,
	R_INIF = 72, R_OUTIF = 76, R_SRCAS = 80, R_DSTAS = 84, R_DOMAIN = 88, R_SAMPLING = 92,
	R_PACKETS = 96, R_BYTES = 104, R_FIRST = 112, R_LAST = 120, R_RECV = 128,
};
_Static_assert(R_RECV + 8 == STORE_REC_LEN, "record layout and STORE_REC_LEN disagree");

/* One record's bytes read at p, p + stride, p + 2 * stride, ...: stride 1
 * is the row form, stride n reads record i of a block straight from its
 * byte planes (p = planes + i), so the reader never unshuffles. */
static inline uint64_t get_be(const uint8_t *p, size_t stride, unsigned off, unsigned width)
{
	uint64_t v = 0;
	for (unsigned k = 0; k < width; k++)
		v = v << 8 | p[(off + k) * stride];
	return v;
}

static inline void get_bytes(const uint8_t *p, size_t stride, unsigned off, uint8_t *v, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		v[k] = p[(off + k) * stride];
}

static inline void rec_get(const uint8_t *p, size_t stride, struct crec *r)
{
	memset(r, 0, sizeof(*r));
	struct flowrec *f = &r->f;
	f->key.af = p[R_AF * stride];
	f->key.proto = p[R_PROTO * stride];
	f->key.tos = p[R_TOS * stride];
	f->tcp_flags = p[R_FLAGS * stride];
	f->src_mask = p[R_SMASK * stride];
	f->dst_mask = p[R_DMASK * stride];
	f->end = p[R_END * stride];
	f->key.dir = p[R_DIR * stride];
	f->key.sport = (uint16_t)get_be(p, stride, R_SPORT, 2);
	f->key.dport = (uint16_t)get_be(p, stride, R_DPORT, 2);
	f->min_ttl = p[R_MINTTL * stride];
	f->max_ttl = p[R_MAXTTL * stride];
	f->min_len = (uint16_t)get_be(p, stride, R_MINLEN, 2);
	f->max_len = (uint16_t)get_be(p, stride, R_MAXLEN, 2);
	r->tmpl_id = (uint16_t)get_be(p, stride, R_TMPL, 2);
	r->version = (uint16_t)get_be(p, stride, R_VERSION, 2);
	get_bytes(p, stride, R_SRC, f->key.src, 16);
	get_bytes(p, stride, R_DST, f->key.dst, 16);
	get_bytes(p, stride, R_NEXTHOP, f->nexthop, 16);
	f->key.ifindex = (uint32_t)get_be(p, stride, R_INIF, 4);
	f->if_out = (uint32_t)get_be(p, stride, R_OUTIF, 4);
	f->src_as = (uint32_t)get_be(p, stride, R_SRCAS, 4);
	f->dst_as = (uint32_t)get_be(p, stride, R_DSTAS, 4);
	r->domain = (uint32_t)get_be(p, stride, R_DOMAIN, 4);
	r->sampling = (uint32_t)get_be(p, stride, R_SAMPLING, 4);
	f->packets = get_be(p, stride, R_PACKETS, 8);
	f->bytes = get_be(p, stride, R_BYTES, 8);
	f->first_us = get_be(p, stride, R_FIRST, 8);
	f->last_us = get_be(p, stride, R_LAST, 8);
	r->recv_us = get_be(p, stride, R_RECV, 8);
}

void store_rec_get(const uint8_t *p, struct crec *r)
{
	rec_get(p, 1, r);
}

/* The row form with whole-width stores (the writer's hot path: one
 * record costs some 30 stores instead of 136 byte stores). */
static inline void row_put(uint8_t *p, const struct crec *r)
{
	const struct flowrec *f = &r->f;
	p[R_AF] = f->key.af;
	p[R_PROTO] = f->key.proto;
	p[R_TOS] = f->key.tos;
	p[R_FLAGS] = f->tcp_flags;
	p[R_SMASK] = f->src_mask;
	p[R_DMASK] = f->dst_mask;
	p[R_END] = (uint8_t)f->end;
	p[R_DIR] = f->key.dir;
	poke_u16(p + R_SPORT, f->key.sport);
	poke_u16(p + R_DPORT, f->key.dport);
	p[R_MINTTL] = f->min_ttl;
	p[R_MAXTTL] = f->max_ttl;
	poke_u16(p + R_MINLEN, f->min_len);
	poke_u16(p + R_MAXLEN, f->max_len);
	poke_u16(p + R_TMPL, r->tmpl_id);
	poke_u16(p + R_VERSION, r->version);
	poke_u16(p + R_RSVD, 0);
	memcpy(p + R_SRC, f->key.src, 16);
	memcpy(p + R_DST, f->key.dst, 16);
	memcpy(p + R_NEXTHOP, f->nexthop, 16);
	poke_u32(p + R_INIF, f->key.ifindex);
	poke_u32(p + R_OUTIF, f->if_out);
	poke_u32(p + R_SRCAS, f->src_as);
	poke_u32(p + R_DSTAS, f->dst_as);
	poke_u32(p + R_DOMAIN, r->domain);
	poke_u32(p + R_SAMPLING, r->sampling);
	poke_u64(p + R_PACKETS, f->packets);
	poke_u64(p + R_BYTES, f->bytes);
	poke_u64(p + R_FIRST, f->first_us);
	poke_u64(p + R_LAST, f->last_us);
	poke_u64(p + R_RECV, r->recv_us);
}

void store_rec_put(uint8_t *p, const struct crec *r)
{
	row_put(p, r);
}

/* Shuffle n rows of STORE_REC_LEN bytes (rows) into byte planes of n
 * bytes: byte j of row i goes to dst[j][i], for the planes of the 8-byte
 * groups g (planes 8g .. 8g + 7) whose bit g is set in groups; the
 * others are not written (their dst is not read).
 * Tiles of 8 rows x 8 bytes are transposed in registers (three rounds of
 * masked swaps on 64-bit words, little-endian hosts); the rest byte by
 * byte. Cost: about 2 operations per byte, against a load and a store
 * per byte for the plain loop. */
static void shuffle_rows(uint8_t *const *dst, const uint8_t *rows, size_t n, uint32_t groups)
{
	size_t i = 0;
#if defined(__SSE2__)
	/* 16 rows x 8 bytes at a time in SSE2 registers (x86-64's baseline):
	 * four rounds of unpacks, 32 for 128 bytes, where the tiles below
	 * take some 150 operations (perf: block_pack was 13 % of the v5
	 * store path). Byte c of row i + K ends as byte K of plane j + c. */
	for (; i + 16 <= n; i += 16) {
		const uint8_t *r = rows + i * STORE_REC_LEN;
		for (size_t j = 0; j < STORE_REC_LEN; j += 8) {
			if (!(groups >> (j / 8) & 1))
				continue;
			__m128i a[16], b[8], c[8], d[8];
			for (int k = 0; k < 16; k++)
				a[k] = _mm_loadl_epi64((const __m128i *)(const void *)(r + (size_t)k * STORE_REC_LEN + j));
			for (int k = 0; k < 8; k++) /* rows 2k, 2k+1: bytes 0..7 interleaved */
				b[k] = _mm_unpacklo_epi8(a[2 * k], a[2 * k + 1]);
			for (int k = 0; k < 4; k++) { /* rows 4k..4k+3: bytes 0..3, then 4..7 */
				c[2 * k] = _mm_unpacklo_epi16(b[2 * k], b[2 * k + 1]);
				c[2 * k + 1] = _mm_unpackhi_epi16(b[2 * k], b[2 * k + 1]);
			}
			for (int h = 0; h < 2; h++) /* rows 8h..8h+7: bytes (0,1) (2,3) (4,5) (6,7) */
				for (int k = 0; k < 2; k++) {
					d[4 * h + 2 * k] = _mm_unpacklo_epi32(c[4 * h + k], c[4 * h + 2 + k]);
					d[4 * h + 2 * k + 1] = _mm_unpackhi_epi32(c[4 * h + k], c[4 * h + 2 + k]);
				}
			uint8_t *const *o = dst + j;
			for (int k = 0; k < 4; k++) { /* byte 2k and 2k+1 of rows 0..15 */
				_mm_storeu_si128((__m128i *)(void *)(o[2 * k] + i), _mm_unpacklo_epi64(d[k], d[4 + k]));
				_mm_storeu_si128((__m128i *)(void *)(o[2 * k + 1] + i), _mm_unpackhi_epi64(d[k], d[4 + k]));
			}
		}
	}
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	_Static_assert(STORE_REC_LEN % 8 == 0, "rows are whole 8-byte tiles");
	for (; i + 8 <= n; i += 8) {
		const uint8_t *r = rows + i * STORE_REC_LEN;
		for (size_t j = 0; j < STORE_REC_LEN; j += 8) {
			if (!(groups >> (j / 8) & 1))
				continue;
			/* aK byte c (memory order) is row i+K, byte j+c; the swaps
			 * leave aC byte K holding that byte. */
			uint64_t a0, a1, a2, a3, a4, a5, a6, a7, t;
			memcpy(&a0, r + 0 * STORE_REC_LEN + j, 8);
			memcpy(&a1, r + 1 * STORE_REC_LEN + j, 8);
			memcpy(&a2, r + 2 * STORE_REC_LEN + j, 8);
			memcpy(&a3, r + 3 * STORE_REC_LEN + j, 8);
			memcpy(&a4, r + 4 * STORE_REC_LEN + j, 8);
			memcpy(&a5, r + 5 * STORE_REC_LEN + j, 8);
			memcpy(&a6, r + 6 * STORE_REC_LEN + j, 8);
			memcpy(&a7, r + 7 * STORE_REC_LEN + j, 8);
#define SWAP(x, y, sh, m) (t = (((x) >> (sh)) ^ (y)) & (m), (y) ^= t, (x) ^= t << (sh))
			SWAP(a0, a1, 8, 0x00FF00FF00FF00FFull);
			SWAP(a2, a3, 8, 0x00FF00FF00FF00FFull);
			SWAP(a4, a5, 8, 0x00FF00FF00FF00FFull);
			SWAP(a6, a7, 8, 0x00FF00FF00FF00FFull);
			SWAP(a0, a2, 16, 0x0000FFFF0000FFFFull);
			SWAP(a1, a3, 16, 0x0000FFFF0000FFFFull);
			SWAP(a4, a6, 16, 0x0000FFFF0000FFFFull);
			SWAP(a5, a7, 16, 0x0000FFFF0000FFFFull);
			SWAP(a0, a4, 32, 0x00000000FFFFFFFFull);
			SWAP(a1, a5, 32, 0x00000000FFFFFFFFull);
			SWAP(a2, a6, 32, 0x00000000FFFFFFFFull);
			SWAP(a3, a7, 32, 0x00000000FFFFFFFFull);
#undef SWAP
			uint8_t *const *o = dst + j;
			memcpy(o[0] + i, &a0, 8);
			memcpy(o[1] + i, &a1, 8);
			memcpy(o[2] + i, &a2, 8);
			memcpy(o[3] + i, &a3, 8);
			memcpy(o[4] + i, &a4, 8);
			memcpy(o[5] + i, &a5, 8);
			memcpy(o[6] + i, &a6, 8);
			memcpy(o[7] + i, &a7, 8);
		}
	}
#endif
	for (; i < n; i++)
		for (size_t j = 0; j < STORE_REC_LEN; j++)
			if (groups >> (j / 8) & 1)
				dst[j][i] = rows[i * STORE_REC_LEN + j];
}

/* ------------------------------------------------------------ blocks */

/* Field offsets of the block header. */
enum {
	B_MAGIC = 0, B_RAW = 4, B_COMP = 8, B_NREC = 12, B_MIN = 16, B_MAX = 24, B_PCRC = 32, B_HCRC = 36,
};
_Static_assert(B_HCRC + 4 == STORE_BLK_HDR_LEN, "block header layout and STORE_BLK_HDR_LEN disagree");

struct blk_hdr {
	uint32_t raw_len, comp_len, nrec, pcrc;
	uint64_t min_us, max_us;
};

/* ------------------------------------------------------------ planes */

/* Version 2 block payload, decompressed (doc/store-format.md, "Block"):
 * the plane map (one bit a plane, plane j at bit 7 - j % 8 of byte j / 8:
 * 1 = stored whole), one byte for each plane not stored whole (its value
 * in every record), then the whole planes of n bytes, all in plane order. */
#define PLANE_MAP_LEN(rec_len) (((size_t)(rec_len) + 7) / 8)
#define PLANE_PRE (PLANE_MAP_LEN(STORE_REC_LEN) + STORE_REC_LEN) /* room for map and values */

/* Turn n rows (rows[0 .. n * STORE_REC_LEN)) into a version 2 payload
 * in planes[-PLANE_PRE .. STORE_REC_LEN * n), with planes[STORE_REC_LEN
 * * n .. + n) as scratch: which planes vary comes from ORing every row's
 * XOR with the first (sequential 8-byte reads); only the 8-byte groups
 * that hold a varying plane are shuffled, each varying plane straight
 * into its place in the payload (the constant planes of those groups
 * into the scratch); the map and the constant planes' values (the first
 * row's bytes) go in front. *start gets the payload's first byte;
 * returns its length. */
static size_t block_pack(uint8_t *planes, const uint8_t *rows, size_t n, uint8_t **start)
{
	_Static_assert(STORE_REC_LEN % 8 == 0, "rows are whole 8-byte words");
	enum { W = STORE_REC_LEN / 8 };
	uint64_t d[W] = { 0 }, r0[W];
	memcpy(r0, rows, STORE_REC_LEN);
	for (size_t i = 1; i < n; i++) {
		uint64_t x[W];
		memcpy(x, rows + i * STORE_REC_LEN, STORE_REC_LEN);
		for (unsigned w = 0; w < W; w++)
			d[w] |= x[w] ^ r0[w];
	}
	uint8_t vary[STORE_REC_LEN]; /* byte j nonzero: plane j varies (any byte order) */
	memcpy(vary, d, STORE_REC_LEN);
	uint32_t groups = 0;
	for (unsigned w = 0; w < W; w++)
		groups |= (uint32_t)(d[w] != 0) << w;

	uint8_t map[PLANE_MAP_LEN(STORE_REC_LEN)] = { 0 };
	uint8_t val[STORE_REC_LEN];
	uint8_t *dst[STORE_REC_LEN];
	uint8_t *scratch = planes + (size_t)STORE_REC_LEN * n;
	size_t nval = 0, nvar = 0;
	for (size_t j = 0; j < STORE_REC_LEN; j++) {
		if (vary[j]) {
			map[j / 8] |= (uint8_t)(0x80u >> (j % 8));
			dst[j] = planes + nvar++ * n;
		} else {
			val[nval++] = rows[j];
			dst[j] = scratch;
		}
	}
	shuffle_rows(dst, rows, n, groups);
	uint8_t *s = planes - sizeof(map) - nval;
	memcpy(s, map, sizeof(map));
	memcpy(s + sizeof(map), val, nval);
	*start = s;
	return sizeof(map) + nval + nvar * n;
}

/* Expand a version 2 payload (raw[0..len)) of n records of rec_len bytes
 * into rec_len planes at out (rec_len * n bytes). 0, or -1 if its length
 * is not what its map says. */
static int planes_unpack(const uint8_t *raw, size_t len, size_t n, size_t rec_len, uint8_t *out)
{
	size_t ml = PLANE_MAP_LEN(rec_len), whole = 0;
	if (len < ml)
		return -1;
	for (size_t j = 0; j < rec_len; j++)
		whole += raw[j / 8] >> (7 - j % 8) & 1;
	for (size_t j = rec_len; j < ml * 8; j++)
		if (raw[j / 8] >> (7 - j % 8) & 1)
			return -1; /* a bit past the last plane */
	if (len != ml + (rec_len - whole) + whole * n)
		return -1;
	const uint8_t *val = raw + ml, *pl = raw + ml + (rec_len - whole);
	for (size_t j = 0; j < rec_len; j++) {
		if (raw[j / 8] >> (7 - j % 8) & 1) {
			memcpy(out + j * n, pl, n);
			pl += n;
		} else {
			memset(out + j * n, *val++, n);
		}
	}
	return 0;
}

/* ------------------------------------------------------------ writer */

struct store_codec {
	int codec;            /* STORE_CODEC_* */
	int accel;            /* LZ4 acceleration */
	ZSTD_CCtx *cctx;      /* zstd */
	void *lz4;            /* LZ4 state (LZ4_sizeofState bytes) */
	uint32_t block_recs;
	uint8_t *buf;    /* PLANE_PRE bytes, the block being compressed (shuffled), a scratch plane */
	uint8_t *out;    /* block header + compressed payload */
	size_t out_cap;
};

const char *store_codec_name(int codec)
{
	switch (codec) {
	case STORE_CODEC_ZSTD: return "zstd";
	case STORE_CODEC_LZ4: return "lz4";
	default: return NULL;
	}
}

/* The largest payload a raw_len-byte block can compress to. */
static size_t codec_bound(int codec, size_t raw_len)
{
	return codec == STORE_CODEC_LZ4 ? (size_t)LZ4_compressBound((int)raw_len) : ZSTD_compressBound(raw_len);
}

struct store_codec *store_codec_new(int codec, int level, uint32_t block_recs)
{
	if (block_recs < 1 || block_recs > STORE_BLOCK_MAX / STORE_REC_LEN || !store_codec_name(codec))
		return NULL;
	struct store_codec *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	size_t raw = (size_t)block_recs * STORE_REC_LEN;
	c->codec = codec;
	c->accel = level < 1 ? 1 : level > 65537 ? 65537 : level;
	c->block_recs = block_recs;
	c->out_cap = STORE_BLK_HDR_LEN + codec_bound(codec, PLANE_PRE + raw);
	c->out = malloc(c->out_cap);
	c->buf = malloc(PLANE_PRE + raw + block_recs); /* map and values, planes, scratch plane */
	if (!c->out || !c->buf)
		goto fail;
	if (codec == STORE_CODEC_LZ4) {
		/* One state for the sink's life: LZ4_compress_fast_extState
		 * resets it per block (a 16 KiB table, some 0.5 ns a record). */
		if (!(c->lz4 = malloc((size_t)LZ4_sizeofState())))
			goto fail;
		return c;
	}
	/* The fast levels (1 and below) get a 2^11-entry match table (8 KiB,
	 * in L1): the packed planes of a 128 KiB block are some 30 KiB, and the
	 * default 2^13 table cost about 7 % of the writer's time for 0.3 % in
	 * size (bench: ipflow-collect -r of the collect.sh IPFIX input). */
	c->cctx = ZSTD_createCCtx();
	if (!c->cctx ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_compressionLevel, level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_contentSizeFlag, 1)) ||
	    (level <= 1 && ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_hashLog, 11))))
		goto fail;
	return c;
fail:
	store_codec_free(c);
	return NULL;
}

void store_codec_free(struct store_codec *c)
{
	if (!c)
		return;
	ZSTD_freeCCtx(c->cctx);
	free(c->lz4);
	free(c->out);
	free(c->buf);
	free(c);
}

struct store_writer {
	int fd;
	char path[PATH_MAX];
	struct store_hdr h;      /* counts and ranges of the written blocks */
	struct store_codec *c;
	uint8_t *rows;           /* block in progress: c->block_recs rows of STORE_REC_LEN bytes */
	uint32_t n;              /* records in it */
	uint64_t bmin, bmax;     /* time range of those records */
	uint64_t off;            /* file length: end of the last whole block */
	uint64_t lost;           /* records lost to write errors */
	int failed;
};

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k == 0) {
			errno = EIO;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int pwrite_all(int fd, const uint8_t *p, size_t n, off_t off)
{
	while (n) {
		ssize_t k = pwrite(fd, p, n, off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = EIO;
			return -1;
		}
		p += k;
		n -= (size_t)k;
		off += k;
	}
	return 0;
}

struct store_writer *store_writer_create(const char *path, const struct store_hdr *h, struct store_codec *c,
                                         char *err, size_t errlen)
{
	uint8_t hb[STORE_HDR_LEN];
	struct store_writer *w = calloc(1, sizeof(*w));
	if (!w || strlen(path) >= sizeof(w->path)) {
		snprintf(err, errlen, "%s: %s", path, w ? "path too long" : "out of memory");
		free(w);
		return NULL;
	}
	w->fd = -1;
	w->rows = malloc((size_t)c->block_recs * STORE_REC_LEN);
	if (!w->rows) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	memcpy(w->path, path, strlen(path) + 1);
	w->c = c;
	w->h = *h;
	w->h.version = STORE_VERSION;
	w->h.header_len = STORE_HDR_LEN;
	w->h.rec_len = STORE_REC_LEN;
	w->h.codec = (uint8_t)c->codec;
	w->h.flags = 0;
	w->h.records = 0;
	w->h.blocks = 0;
	w->h.min_us = w->h.max_us = 0;
	w->h.max_raw = 0;
	w->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	store_hdr_put(hb, &w->h);
	if (write_all(w->fd, hb, sizeof(hb)) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(w->fd);
		unlink(path);
		w->fd = -1;
		goto fail;
	}
	w->off = STORE_HDR_LEN;
	return w;
fail:
	free(w->rows);
	free(w);
	return NULL;
}

/* Compress and write the records in progress as one block. On failure
 * the file is cut back to the previous block and the records count as lost. */
static int write_block(struct store_writer *w, char *err, size_t errlen)
{
	struct store_codec *c = w->c;
	uint8_t *b = c->out;
	uint8_t *in;
	size_t raw = block_pack(c->buf + PLANE_PRE, w->rows, w->n, &in);
	size_t clen;
	if (c->codec == STORE_CODEC_LZ4) {
		int n = LZ4_compress_fast_extState(c->lz4, (const char *)in, (char *)b + STORE_BLK_HDR_LEN, (int)raw,
		                                   (int)(c->out_cap - STORE_BLK_HDR_LEN), c->accel);
		if (n <= 0) {
			snprintf(err, errlen, "%s: lz4: compression failed", w->path);
			goto fail;
		}
		clen = (size_t)n;
	} else {
		clen = ZSTD_compress2(c->cctx, b + STORE_BLK_HDR_LEN, c->out_cap - STORE_BLK_HDR_LEN, in, raw);
		if (ZSTD_isError(clen)) {
			snprintf(err, errlen, "%s: zstd: %s", w->path, ZSTD_getErrorName(clen));
			goto fail;
		}
	}
	memcpy(b + B_MAGIC, blk_magic, 4);
	poke_u32(b + B_RAW, (uint32_t)raw);
	poke_u32(b + B_COMP, (uint32_t)clen);
	poke_u32(b + B_NREC, w->n);
	poke_u64(b + B_MIN, w->bmin);
	poke_u64(b + B_MAX, w->bmax);
	poke_u32(b + B_PCRC, crc(b + STORE_BLK_HDR_LEN, clen));
	poke_u32(b + B_HCRC, crc(b, B_HCRC));
	if (write_all(w->fd, b, STORE_BLK_HDR_LEN + clen) != 0) {
		snprintf(err, errlen, "%s: write: %s", w->path, strerror(errno));
		/* Cut the partial block off so the file stays whole. */
		if (ftruncate(w->fd, (off_t)w->off) != 0 || lseek(w->fd, (off_t)w->off, SEEK_SET) < 0)
			w->failed = 2; /* the file's end is unknown: unfit to publish */
		goto fail;
	}
	w->off += STORE_BLK_HDR_LEN + clen;
	if (w->h.blocks == 0 || w->bmin < w->h.min_us)
		w->h.min_us = w->bmin;
	if (w->h.blocks == 0 || w->bmax > w->h.max_us)
		w->h.max_us = w->bmax;
	w->h.blocks++;
	w->h.records += w->n;
	if (raw > w->h.max_raw)
		w->h.max_raw = (uint32_t)raw;
	w->n = 0;
	return ERR_OK;
fail:
	w->lost += w->n;
	w->n = 0;
	if (!w->failed)
		w->failed = 1;
	return ERR_IO;
}

int store_writer_add(struct store_writer *w, const struct crec *r, char *err, size_t errlen)
{
	if (w->failed) {
		w->lost++;
		snprintf(err, errlen, "%s: earlier write error", w->path);
		return ERR_IO;
	}
	uint64_t t = store_rec_time(r);
	if (w->n == 0 || t < w->bmin)
		w->bmin = t;
	if (w->n == 0 || t > w->bmax)
		w->bmax = t;
	row_put(w->rows + (size_t)w->n * STORE_REC_LEN, r);
	if (++w->n == w->c->block_recs)
		return write_block(w, err, errlen);
	return ERR_OK;
}

int store_writer_flush(struct store_writer *w, char *err, size_t errlen)
{
	if (w->failed || w->n == 0)
		return w->failed ? ERR_IO : ERR_OK;
	return write_block(w, err, errlen);
}

int store_writer_seal(struct store_writer *w, char *err, size_t errlen)
{
	/* A writer that failed before has said so; only a new failure is news. */
	int rc = w->failed ? ERR_OK : store_writer_flush(w, err, errlen);
	free(w->rows);
	w->rows = NULL;
	if (!w->failed)
		w->failed = 3; /* sealed: an add now loses the record */
	return rc;
}

uint32_t store_writer_pending(const struct store_writer *w)
{
	return w->n;
}

uint64_t store_writer_lost(const struct store_writer *w)
{
	return w->lost;
}

uint64_t store_writer_records(const struct store_writer *w)
{
	return w->h.records;
}

uint64_t store_writer_bytes(const struct store_writer *w)
{
	return w->off;
}

uint32_t store_writer_blocks(const struct store_writer *w)
{
	return w->h.blocks;
}

int store_writer_finish(struct store_writer *w, struct store_wres *res, char *err, size_t errlen)
{
	int rc = ERR_OK;
	uint8_t hb[STORE_HDR_LEN];
	if (err && errlen)
		err[0] = 0;
	if (!w->failed && w->n)
		(void)write_block(w, err, errlen); /* on failure the file ends at its last whole block */
	w->h.flags = STORE_F_COMPLETE;
	store_hdr_put(hb, &w->h);
	if (w->failed == 2) {
		rc = ERR_IO; /* err already says why */
	} else if (pwrite_all(w->fd, hb, sizeof(hb), 0) != 0 || fsync(w->fd) != 0) {
		snprintf(err, errlen, "%s: %s", w->path, strerror(errno));
		rc = ERR_IO;
	}
	if (close(w->fd) != 0 && rc == ERR_OK) {
		snprintf(err, errlen, "%s: close: %s", w->path, strerror(errno));
		rc = ERR_IO;
	}
	res->records = rc == ERR_OK ? w->h.records : 0;
	res->lost = w->lost + (rc == ERR_OK ? 0 : w->h.records);
	res->bytes = w->off;
	res->blocks = w->h.blocks;
	free(w->rows);
	free(w);
	return rc;
}

void store_writer_abort(struct store_writer *w)
{
	if (!w)
		return;
	close(w->fd);
	unlink(w->path);
	free(w->rows);
	free(w);
}

/* ------------------------------------------------------------ file reader */

struct store_file {
	const uint8_t *mem;      /* memory source, or NULL */
	int fd;                  /* fd source */
	uint64_t size;
	const char *name;
	struct store_sel sel;
	struct store_stats *st;
	FILE *warn;
	struct store_hdr h;
	int hdr_ok;
	int done;
	int damaged;             /* a damaged block was skipped */
	uint64_t off;            /* next block */
	uint64_t blocks_seen, recs_seen;
	ZSTD_DCtx *dctx;
	uint8_t *io;             /* fd reads land here */
	size_t io_cap;
	uint8_t *scan;           /* resync window */
	uint8_t *raw;            /* the current block, decompressed */
	size_t raw_cap;
	uint8_t *exp;            /* version 2: the current block's planes, expanded */
	size_t exp_cap;
	const uint8_t *planes;   /* the current block's planes (raw or exp) */
	uint32_t n, i;           /* records in the block, next one */
};

__attribute__((format(printf, 2, 3))) static void warnf(const struct store_file *f, const char *fmt, ...)
{
	if (!f->warn)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(f->warn, "%s: ", f->name ? f->name : "store file");
	vfprintf(f->warn, fmt, ap);
	fputc('\n', f->warn);
	va_end(ap);
}

/* n bytes of the file at off, or NULL if they are not all there (or the
 * read failed). The pointer is valid until the next get. */
static const uint8_t *src_get(struct store_file *f, uint64_t off, size_t n)
{
	if (off > f->size || f->size - off < n)
		return NULL;
	if (f->mem)
		return f->mem + off;
	if (n > f->io_cap) {
		size_t cap = f->io_cap ? f->io_cap : 4096;
		while (cap < n)
			cap *= 2;
		uint8_t *p = realloc(f->io, cap);
		if (!p)
			return NULL;
		f->io = p;
		f->io_cap = cap;
	}
	size_t got = 0;
	while (got < n) {
		ssize_t k = pread(f->fd, f->io + got, n - got, (off_t)(off + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return NULL;
		got += (size_t)k;
	}
	return f->io;
}

static struct store_file *file_new(const struct store_sel *sel, const char *name, struct store_stats *st,
                                   FILE *warn)
{
	struct store_file *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->fd = -1;
	f->name = name;
	f->st = st;
	f->warn = warn;
	if (sel)
		f->sel = *sel;
	else
		f->sel.to_us = UINT64_MAX;
	return f;
}

static void file_start(struct store_file *f)
{
	const uint8_t *p = src_get(f, 0, STORE_HDR_LEN);
	int rc = p ? store_hdr_get(p, STORE_HDR_LEN, &f->h) : ERR_TRUNC;
	f->done = 1;
	if (rc == ERR_UNSUPP) {
		f->st->files_unsupp++;
		warnf(f, "store format version %u is not supported (this reader knows %u to %u); file skipped",
		      f->h.version, STORE_VERSION_MIN, STORE_VERSION);
		return;
	}
	if (rc != ERR_OK) {
		f->st->files_bad++;
		warnf(f, "%s; file skipped",
		      rc == ERR_TRUNC ? "shorter than a store file header" : "not a store file, or its header is damaged");
		return;
	}
	if (f->h.header_len > f->size) {
		f->st->files_truncated++;
		warnf(f, "truncated inside its header; file skipped");
		return;
	}
	f->st->files++;
	f->hdr_ok = 1;
	f->done = 0;
	f->off = f->h.header_len;
}

struct store_file *store_file_open_fd(int fd, const char *name, const struct store_sel *sel,
                                      struct store_stats *st, FILE *warn)
{
	struct stat sb;
	struct store_file *f = file_new(sel, name, st, warn);
	if (!f)
		return NULL;
	f->fd = fd;
	f->size = fstat(fd, &sb) == 0 && sb.st_size > 0 ? (uint64_t)sb.st_size : 0;
	file_start(f);
	return f;
}

struct store_file *store_file_open_mem(const uint8_t *p, size_t len, const struct store_sel *sel,
                                       struct store_stats *st, FILE *warn)
{
	static const uint8_t empty[1];
	struct store_file *f = file_new(sel, NULL, st, warn);
	if (!f)
		return NULL;
	f->mem = p ? p : empty;
	f->size = p ? len : 0;
	file_start(f);
	return f;
}

const struct store_hdr *store_file_hdr(const struct store_file *f)
{
	return f->hdr_ok ? &f->h : NULL;
}

void store_file_close(struct store_file *f)
{
	if (!f)
		return;
	ZSTD_freeDCtx(f->dctx);
	free(f->io);
	free(f->scan);
	free(f->raw);
	free(f->exp);
	free(f);
}

/* Parse and check the block header at off. 1 if it is a plausible header
 * with a good CRC, 0 if not; *past_eof set if it claims more bytes than
 * the file has. */
static int blk_hdr_at(struct store_file *f, uint64_t off, struct blk_hdr *b, int *past_eof)
{
	*past_eof = 0;
	const uint8_t *p = src_get(f, off, STORE_BLK_HDR_LEN);
	if (!p) {
		*past_eof = 1;
		return 0;
	}
	if (memcmp(p + B_MAGIC, blk_magic, 4) != 0 || peek_u32(p + B_HCRC) != crc(p, B_HCRC))
		return 0;
	b->raw_len = peek_u32(p + B_RAW);
	b->comp_len = peek_u32(p + B_COMP);
	b->nrec = peek_u32(p + B_NREC);
	b->min_us = peek_u64(p + B_MIN);
	b->max_us = peek_u64(p + B_MAX);
	b->pcrc = peek_u32(p + B_PCRC);
	if (b->nrec == 0 || b->raw_len > STORE_BLOCK_MAX || b->comp_len == 0 ||
	    b->comp_len > codec_bound(f->h.codec, b->raw_len) || b->min_us > b->max_us)
		return 0;
	size_t rl = f->h.rec_len;
	if (f->h.version == 1) {
		/* every plane whole: records x rec_len */
		if (b->raw_len / rl != b->nrec || b->raw_len % rl != 0)
			return 0;
	} else {
		/* map, then between rec_len values (no plane whole) and
		 * rec_len whole planes; expanded, at most STORE_BLOCK_MAX */
		size_t ml = PLANE_MAP_LEN(rl);
		if (b->nrec > STORE_BLOCK_MAX / rl || b->raw_len < ml + rl || b->raw_len - ml > rl * b->nrec)
			return 0;
	}
	if (f->size - off - STORE_BLK_HDR_LEN < b->comp_len) {
		*past_eof = 1;
		return 0;
	}
	return 1;
}

/* The payload of the block at off with a good CRC, or NULL. */
static const uint8_t *blk_payload(struct store_file *f, uint64_t off, const struct blk_hdr *b)
{
	const uint8_t *p = src_get(f, off + STORE_BLK_HDR_LEN, b->comp_len);
	return p && crc(p, b->comp_len) == b->pcrc ? p : NULL;
}

/* After damage at bad: the offset of the next block whose header and
 * payload check out, or 0 if none. Cost: one pass over the rest of the
 * file plus a CRC per candidate magic. */
static uint64_t resync(struct store_file *f, uint64_t bad)
{
	enum { WIN = 65536 };
	uint64_t pos = bad + 1;
	if (!f->scan && !(f->scan = malloc(WIN)))
		return 0;
	while (pos + STORE_BLK_HDR_LEN <= f->size) {
		size_t n = f->size - pos < WIN ? (size_t)(f->size - pos) : WIN;
		const uint8_t *w = src_get(f, pos, n);
		if (!w)
			return 0;
		/* Copy: checking a candidate reuses the read buffer. */
		uint8_t *win = f->scan;
		memcpy(win, w, n);
		for (size_t k = 0; k + 4 <= n; k++) {
			if (win[k] != 'I' || memcmp(win + k, blk_magic, 4) != 0)
				continue;
			struct blk_hdr b;
			int past;
			if (blk_hdr_at(f, pos + k, &b, &past) && blk_payload(f, pos + k, &b))
				return pos + k;
		}
		if (n < WIN)
			break;
		pos += n - 3; /* a magic may straddle the window end */
	}
	return 0;
}

static int grow(uint8_t **p, size_t *cap, size_t n)
{
	if (n <= *cap)
		return 0;
	uint8_t *q = realloc(*p, n);
	if (!q)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

/* Load the next block that has records in the window. 1 if one is loaded
 * (f->n, f->raw), 0 at the end of the file. */
static int next_block(struct store_file *f)
{
	while (!f->done) {
		uint64_t off = f->off;
		if (off == f->size) {
			f->done = 1;
			if (!(f->h.flags & STORE_F_COMPLETE) || f->damaged)
				return 0; /* (after damage the counts cannot tell truncation apart) */
			if (f->blocks_seen < f->h.blocks) {
				f->st->files_truncated++;
				warnf(f, "truncated: %llu of %u blocks present",
				      (unsigned long long)f->blocks_seen, f->h.blocks);
			} else if (f->blocks_seen != f->h.blocks || f->recs_seen != f->h.records) {
				f->st->files_mismatch++;
				warnf(f, "holds %llu blocks and %llu records; its header says %u and %llu",
				      (unsigned long long)f->blocks_seen, (unsigned long long)f->recs_seen, f->h.blocks,
				      (unsigned long long)f->h.records);
			}
			return 0;
		}
		struct blk_hdr b;
		int past_eof;
		const uint8_t *pl = NULL;
		int ok = blk_hdr_at(f, off, &b, &past_eof);
		if (ok)
			pl = blk_payload(f, off, &b);
		if (!pl) {
			uint64_t next = resync(f, off);
			if (!next) {
				f->done = 1;
				f->st->bytes_skipped += f->size - off;
				if (past_eof) {
					f->st->files_truncated++;
					warnf(f, "truncated inside the block at offset %llu (%llu bytes left unread)",
					      (unsigned long long)off, (unsigned long long)(f->size - off));
				} else {
					f->st->blocks_bad++;
					warnf(f, "damaged block at offset %llu; no good block after it (%llu bytes skipped)",
					      (unsigned long long)off, (unsigned long long)(f->size - off));
				}
				return 0;
			}
			f->st->blocks_bad++;
			f->damaged = 1;
			f->st->bytes_skipped += next - off;
			warnf(f, "damaged block at offset %llu; %llu bytes skipped to the next good block",
			      (unsigned long long)off, (unsigned long long)(next - off));
			f->off = next;
			continue;
		}
		f->off = off + STORE_BLK_HDR_LEN + b.comp_len;
		f->blocks_seen++;
		f->recs_seen += b.nrec;
		if (b.max_us < f->sel.from_us || b.min_us >= f->sel.to_us) {
			f->st->blocks_skipped++;
			continue;
		}
		if (grow(&f->raw, &f->raw_cap, b.raw_len) != 0)
			goto nomem;
		const char *why = NULL;
		if (f->h.codec == STORE_CODEC_LZ4) {
			/* raw_len is the exact output: the safe decoder never writes past it */
			int got = LZ4_decompress_safe((const char *)pl, (char *)f->raw, (int)b.comp_len, (int)b.raw_len);
			if (got < 0)
				why = "corrupt LZ4 block";
			else if ((uint32_t)got != b.raw_len)
				why = "wrong length";
		} else {
			if (!f->dctx && !(f->dctx = ZSTD_createDCtx()))
				goto nomem;
			size_t got = ZSTD_decompressDCtx(f->dctx, f->raw, b.raw_len, pl, b.comp_len);
			if (ZSTD_isError(got))
				why = ZSTD_getErrorName(got);
			else if (got != b.raw_len)
				why = "wrong length";
		}
		if (why) {
			/* A good CRC over a bad payload: written wrong, not damaged later. */
			f->st->blocks_bad++;
			f->damaged = 1;
			warnf(f, "block at offset %llu does not decompress (%s); skipped", (unsigned long long)off, why);
			continue;
		}
		f->planes = f->raw;
		if (f->h.version >= 2) {
			size_t el = (size_t)b.nrec * f->h.rec_len;
			if (grow(&f->exp, &f->exp_cap, el) != 0)
				goto nomem;
			if (planes_unpack(f->raw, b.raw_len, b.nrec, f->h.rec_len, f->exp) != 0) {
				f->st->blocks_bad++;
				f->damaged = 1;
				warnf(f, "block at offset %llu: plane map and length disagree; skipped",
				      (unsigned long long)off);
				continue;
			}
			f->planes = f->exp;
		}
		f->st->blocks++;
		f->n = b.nrec;
		f->i = 0;
		return 1;
	}
	return 0;
nomem:
	f->done = 1;
	f->st->blocks_bad++;
	warnf(f, "out of memory reading a block; rest of file skipped");
	return 0;
}

int store_file_next(struct store_file *f, struct crec *r)
{
	for (;;) {
		if (f->i == f->n && !next_block(f))
			return ERR_END;
		size_t i = f->i++;
		rec_get(f->planes + i, f->n, r);
		f->st->records++;
		if (r->f.key.af != 4 && r->f.key.af != 6) {
			f->st->records_bad++;
			continue;
		}
		uint64_t t = store_rec_time(r);
		if (t < f->sel.from_us || t >= f->sel.to_us)
			continue;
		r->exporter_af = f->h.exporter_af;
		memcpy(r->exporter, f->h.exporter, 16);
		f->st->records_out++;
		return ERR_OK;
	}
}

int store_recover_fd(int fd, struct store_hdr *h, uint64_t *cut_bytes, char *err, size_t errlen)
{
	struct store_stats st;
	memset(&st, 0, sizeof(st));
	*cut_bytes = 0;
	struct store_file *f = store_file_open_fd(fd, NULL, NULL, &st, NULL);
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return ERR_NOMEM;
	}
	int rc = ERR_OK;
	if (!f->hdr_ok) {
		snprintf(err, errlen, "%s", st.files_unsupp ? "unknown store format version" : "no valid store file header");
		rc = ERR_FORMAT;
		goto out;
	}
	struct store_hdr nh = f->h;
	nh.records = 0;
	nh.blocks = 0;
	nh.min_us = nh.max_us = 0;
	nh.max_raw = 0;
	uint64_t off = f->h.header_len;
	for (;;) {
		struct blk_hdr b;
		int past_eof;
		if (!blk_hdr_at(f, off, &b, &past_eof) || !blk_payload(f, off, &b))
			break;
		if (nh.blocks == 0 || b.min_us < nh.min_us)
			nh.min_us = b.min_us;
		if (nh.blocks == 0 || b.max_us > nh.max_us)
			nh.max_us = b.max_us;
		if (b.raw_len > nh.max_raw)
			nh.max_raw = b.raw_len;
		nh.blocks++;
		nh.records += b.nrec;
		off += STORE_BLK_HDR_LEN + b.comp_len;
	}
	*cut_bytes = f->size - off;
	nh.flags |= STORE_F_COMPLETE;
	/* A later version's header may be longer; keep its extra bytes. */
	uint8_t hb[STORE_HDR_LEN];
	store_hdr_put(hb, &nh);
	if (nh.header_len > STORE_HDR_LEN) {
		poke_u16(hb + H_HDRLEN, nh.header_len);
		poke_u32(hb + H_CRC, crc(hb, H_CRC));
	}
	if ((*cut_bytes && ftruncate(fd, (off_t)off) != 0) || pwrite_all(fd, hb, sizeof(hb), 0) != 0 || fsync(fd) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		rc = ERR_IO;
		goto out;
	}
	*h = nh;
out:
	store_file_close(f);
	return rc;
}

/* ------------------------------------------------------------ names */

int store_day_dir(uint64_t start_s, char *out, size_t cap)
{
	struct tm tm;
	time_t t = (time_t)start_s;
	if (!gmtime_r(&t, &tm))
		return ERR_RANGE;
	int n = snprintf(out, cap, "%04d/%02d/%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	return n >= 0 && (size_t)n < cap ? ERR_OK : ERR_NOSPACE;
}

int store_file_stem(const struct store_hdr *h, char *out, size_t cap)
{
	char a[INET6_ADDRSTRLEN];
	struct tm tm;
	time_t t = (time_t)h->start_s;
	if (!inet_ntop(h->exporter_af == 6 ? AF_INET6 : AF_INET, h->exporter, a, sizeof(a)) || !gmtime_r(&t, &tm))
		return ERR_RANGE;
	for (char *c = a; *c; c++)
		if (*c == ':')
			*c = '_';
	int n = snprintf(out, cap, "flows-%s-%04d%02d%02d%02d%02d", a, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	                 tm.tm_hour, tm.tm_min);
	return n >= 0 && (size_t)n < cap ? ERR_OK : ERR_NOSPACE;
}

/* ------------------------------------------------------------ directory reader */

struct store_reader {
	struct store_sel sel;
	struct store_stats st;
	FILE *warn;
	char **paths;
	size_t npaths, cap, next;
	int fd;
	struct store_file *cur;
};

static int add_path(struct store_reader *r, const char *dir, const char *name)
{
	if (r->npaths == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		char **p = realloc(r->paths, cap * sizeof(*p));
		if (!p)
			return ERR_NOMEM;
		r->paths = p;
		r->cap = cap;
	}
	size_t a = strlen(dir), b = name ? strlen(name) : 0;
	char *s = malloc(a + b + 2);
	if (!s)
		return ERR_NOMEM;
	memcpy(s, dir, a);
	if (name) {
		s[a] = '/';
		memcpy(s + a + 1, name, b + 1);
	} else {
		s[a] = 0;
	}
	r->paths[r->npaths++] = s;
	return ERR_OK;
}

/* A directory name of exactly n digits, as a number; -1 otherwise. */
static int digits(const char *s, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return s[n] ? -1 : v;
}

static int has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && memcmp(s + a - b, suf, b) == 0;
}

/* Walk DIR/YYYY/MM/DD (depth 0..2 below path), keeping the day directories
 * that lie within a day of the window and the flows-*.ipfs files in them.
 * lo/hi: the window widened by a day, in seconds. */
static int walk(struct store_reader *r, const char *path, int depth, int ymd[3], int64_t lo, int64_t hi)
{
	static const size_t width[3] = { 4, 2, 2 };
	DIR *d = opendir(path);
	if (!d) {
		if (r->warn)
			fprintf(r->warn, "%s: %s; skipped\n", path, strerror(errno));
		return depth == 0 ? ERR_IO : ERR_OK;
	}
	int rc = ERR_OK;
	struct dirent *de;
	while (rc == ERR_OK && (de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		if (n[0] == '.')
			continue; /* ., .., .tmp-* (files being written), .lock */
		if (depth == 3) {
			if (strncmp(n, "flows-", 6) == 0 && has_suffix(n, ".ipfs"))
				rc = add_path(r, path, n);
			continue;
		}
		int v = digits(n, width[depth]);
		if (v < 0)
			continue;
		ymd[depth] = v;
		/* Prune by the span of this year / month / day (UTC). */
		struct tm a = { .tm_year = ymd[0] - 1900, .tm_mon = depth >= 1 ? ymd[1] - 1 : 0,
		                .tm_mday = depth >= 2 ? ymd[2] : 1 };
		struct tm b = a;
		if (depth == 0)
			b.tm_year++;
		else if (depth == 1)
			b.tm_mon++;
		else
			b.tm_mday++;
		int64_t t0 = (int64_t)timegm(&a), t1 = (int64_t)timegm(&b);
		if (t1 <= lo || t0 >= hi)
			continue;
		size_t pl = strlen(path), nl = strlen(n);
		char *sub = malloc(pl + nl + 2);
		if (!sub) {
			rc = ERR_NOMEM;
			break;
		}
		memcpy(sub, path, pl);
		sub[pl] = '/';
		memcpy(sub + pl + 1, n, nl + 1);
		rc = walk(r, sub, depth + 1, ymd, lo, hi);
		free(sub);
	}
	closedir(d);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct store_reader *store_reader_open(const char *path, const struct store_sel *sel, FILE *warn, char *err,
                                       size_t errlen)
{
	struct stat sb;
	struct store_reader *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->fd = -1;
	r->warn = warn;
	if (sel) {
		r->sel = *sel;
	} else {
		r->sel.to_us = UINT64_MAX;
	}
	if (stat(path, &sb) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	int rc;
	if (S_ISDIR(sb.st_mode)) {
		int ymd[3] = { 0, 0, 0 };
		int64_t lo = (int64_t)(r->sel.from_us / 1000000) - 86400;
		int64_t hi = r->sel.to_us == UINT64_MAX ? INT64_MAX : (int64_t)(r->sel.to_us / 1000000) + 86400 + 1;
		rc = walk(r, path, 0, ymd, lo, hi);
	} else {
		rc = add_path(r, path, NULL);
	}
	if (rc != ERR_OK) {
		snprintf(err, errlen, "%s: %s", path, rc == ERR_IO ? strerror(errno) : err_str(rc));
		goto fail;
	}
	if (r->npaths > 1)
		qsort(r->paths, r->npaths, sizeof(*r->paths), cmp_str);
	return r;
fail:
	store_reader_close(r);
	return NULL;
}

/* Open the next file worth reading; 0 when there is none left. */
static int open_next(struct store_reader *r)
{
	while (r->next < r->npaths) {
		const char *p = r->paths[r->next++];
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			r->st.files_bad++;
			if (r->warn)
				fprintf(r->warn, "%s: %s; skipped\n", p, strerror(errno));
			continue;
		}
		struct store_file *f = store_file_open_fd(fd, p, &r->sel, &r->st, r->warn);
		const struct store_hdr *h = f ? store_file_hdr(f) : NULL;
		if (!f && r->warn)
			fprintf(r->warn, "%s: out of memory; skipped\n", p);
		int skip = !h;
		if (h && (h->flags & STORE_F_COMPLETE) &&
		    (h->records == 0 || h->max_us < r->sel.from_us || h->min_us >= r->sel.to_us))
			skip = 2;
		if (h && r->sel.exporter_af &&
		    (h->exporter_af != r->sel.exporter_af || memcmp(h->exporter, r->sel.exporter, 16) != 0))
			skip = 2;
		if (skip) {
			if (skip == 2) {
				r->st.files--; /* opened only to be passed over */
				r->st.files_skipped++;
			}
			store_file_close(f);
			close(fd);
			continue;
		}
		r->cur = f;
		r->fd = fd;
		return 1;
	}
	return 0;
}

int store_reader_next(struct store_reader *r, struct crec *rec)
{
	for (;;) {
		if (!r->cur && !open_next(r))
			return ERR_END;
		if (store_file_next(r->cur, rec) == ERR_OK)
			return ERR_OK;
		store_file_close(r->cur);
		close(r->fd);
		r->cur = NULL;
		r->fd = -1;
	}
}

const struct store_stats *store_reader_stats(const struct store_reader *r)
{
	return &r->st;
}

void store_reader_close(struct store_reader *r)
{
	if (!r)
		return;
	store_file_close(r->cur);
	if (r->fd >= 0)
		close(r->fd);
	for (size_t i = 0; i < r->npaths; i++)
		free(r->paths[i]);
	free(r->paths);
	free(r);
}
