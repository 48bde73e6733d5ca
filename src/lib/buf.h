/* buf.h — bounded reader and writer (habit 2 of DESIGN.md).
 *
 * struct rbuf reads from a caller-owned byte range with an explicit
 * remaining length: every get checks what remains and returns ERR_TRUNC
 * (leaving the reader where it was) if the field does not fit.
 * struct wbuf writes into a caller-owned buffer of fixed capacity: every
 * put checks capacity and returns ERR_NOSPACE; wbuf_mark()/wbuf_rollback()
 * give reserve-then-commit for packing records to an MTU, and poke patches
 * lengths written last.
 *
 * All functions are inline: they sit on the per-packet path. Neither type
 * owns its memory. */
#ifndef IPFLOW_BUF_H
#define IPFLOW_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/bytes.h"
#include "lib/err.h"

struct rbuf {
	const uint8_t *p;
	size_t len;
	size_t off;
};

static inline void rbuf_init(struct rbuf *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
}

static inline size_t rbuf_left(const struct rbuf *r)
{
	return r->len - r->off;
}

static inline const uint8_t *rbuf_cur(const struct rbuf *r)
{
	return r->p + r->off;
}

/* Pointer to the next n bytes, consumed; NULL if fewer remain. */
static inline const uint8_t *rbuf_take(struct rbuf *r, size_t n)
{
	if (n > r->len - r->off)
		return NULL;
	const uint8_t *p = r->p + r->off;
	r->off += n;
	return p;
}

static inline int rbuf_skip(struct rbuf *r, size_t n)
{
	return rbuf_take(r, n) ? ERR_OK : ERR_TRUNC;
}

static inline int rbuf_get_u8(struct rbuf *r, uint8_t *v)
{
	const uint8_t *p = rbuf_take(r, 1);
	if (!p)
		return ERR_TRUNC;
	*v = p[0];
	return ERR_OK;
}

static inline int rbuf_get_u16(struct rbuf *r, uint16_t *v)
{
	const uint8_t *p = rbuf_take(r, 2);
	if (!p)
		return ERR_TRUNC;
	*v = peek_u16(p);
	return ERR_OK;
}

static inline int rbuf_get_u32(struct rbuf *r, uint32_t *v)
{
	const uint8_t *p = rbuf_take(r, 4);
	if (!p)
		return ERR_TRUNC;
	*v = peek_u32(p);
	return ERR_OK;
}

static inline int rbuf_get_u64(struct rbuf *r, uint64_t *v)
{
	const uint8_t *p = rbuf_take(r, 8);
	if (!p)
		return ERR_TRUNC;
	*v = peek_u64(p);
	return ERR_OK;
}

/* Unsigned big-endian of n (1..8) bytes. */
static inline int rbuf_get_uint(struct rbuf *r, unsigned n, uint64_t *v)
{
	const uint8_t *p = (n >= 1 && n <= 8) ? rbuf_take(r, n) : NULL;
	if (!p)
		return n >= 1 && n <= 8 ? ERR_TRUNC : ERR_ARG;
	*v = peek_uint(p, n);
	return ERR_OK;
}

static inline int rbuf_get_bytes(struct rbuf *r, void *dst, size_t n)
{
	const uint8_t *p = rbuf_take(r, n);
	if (!p)
		return ERR_TRUNC;
	memcpy(dst, p, n);
	return ERR_OK;
}

/* Peek at offset off from the current position, without consuming. */
static inline int rbuf_peek_u8(const struct rbuf *r, size_t off, uint8_t *v)
{
	if (off >= rbuf_left(r))
		return ERR_TRUNC;
	*v = r->p[r->off + off];
	return ERR_OK;
}

static inline int rbuf_peek_u16(const struct rbuf *r, size_t off, uint16_t *v)
{
	if (off > rbuf_left(r) || rbuf_left(r) - off < 2)
		return ERR_TRUNC;
	*v = peek_u16(r->p + r->off + off);
	return ERR_OK;
}

/* A sub-reader over the next n bytes, consumed from r. */
static inline int rbuf_sub(struct rbuf *r, size_t n, struct rbuf *sub)
{
	const uint8_t *p = rbuf_take(r, n);
	if (!p)
		return ERR_TRUNC;
	rbuf_init(sub, p, n);
	return ERR_OK;
}

struct wbuf {
	uint8_t *p;
	size_t cap;
	size_t len;
};

static inline void wbuf_init(struct wbuf *w, void *p, size_t cap)
{
	w->p = p;
	w->cap = cap;
	w->len = 0;
}

static inline size_t wbuf_left(const struct wbuf *w)
{
	return w->cap - w->len;
}

/* Reserve n bytes at the end; returns a pointer to them or NULL if no room. */
static inline uint8_t *wbuf_reserve(struct wbuf *w, size_t n)
{
	if (n > w->cap - w->len)
		return NULL;
	uint8_t *p = w->p + w->len;
	w->len += n;
	return p;
}

static inline int wbuf_put_u8(struct wbuf *w, uint8_t v)
{
	uint8_t *p = wbuf_reserve(w, 1);
	if (!p)
		return ERR_NOSPACE;
	p[0] = v;
	return ERR_OK;
}

static inline int wbuf_put_u16(struct wbuf *w, uint16_t v)
{
	uint8_t *p = wbuf_reserve(w, 2);
	if (!p)
		return ERR_NOSPACE;
	poke_u16(p, v);
	return ERR_OK;
}

static inline int wbuf_put_u32(struct wbuf *w, uint32_t v)
{
	uint8_t *p = wbuf_reserve(w, 4);
	if (!p)
		return ERR_NOSPACE;
	poke_u32(p, v);
	return ERR_OK;
}

static inline int wbuf_put_u64(struct wbuf *w, uint64_t v)
{
	uint8_t *p = wbuf_reserve(w, 8);
	if (!p)
		return ERR_NOSPACE;
	poke_u64(p, v);
	return ERR_OK;
}

static inline int wbuf_put_uint(struct wbuf *w, unsigned n, uint64_t v)
{
	if (n < 1 || n > 8)
		return ERR_ARG;
	uint8_t *p = wbuf_reserve(w, n);
	if (!p)
		return ERR_NOSPACE;
	poke_uint(p, n, v);
	return ERR_OK;
}

static inline int wbuf_put_bytes(struct wbuf *w, const void *src, size_t n)
{
	uint8_t *p = wbuf_reserve(w, n);
	if (!p)
		return ERR_NOSPACE;
	if (n)
		memcpy(p, src, n);
	return ERR_OK;
}

/* Patch a 16/32-bit value already written at absolute offset off. */
static inline int wbuf_poke_u16(struct wbuf *w, size_t off, uint16_t v)
{
	if (off > w->len || w->len - off < 2)
		return ERR_RANGE;
	poke_u16(w->p + off, v);
	return ERR_OK;
}

static inline int wbuf_poke_u32(struct wbuf *w, size_t off, uint32_t v)
{
	if (off > w->len || w->len - off < 4)
		return ERR_RANGE;
	poke_u32(w->p + off, v);
	return ERR_OK;
}

/* Reserve/commit: remember the length, write, and roll back on failure. */
static inline size_t wbuf_mark(const struct wbuf *w)
{
	return w->len;
}

static inline void wbuf_rollback(struct wbuf *w, size_t mark)
{
	if (mark < w->len)
		w->len = mark;
}

#endif
