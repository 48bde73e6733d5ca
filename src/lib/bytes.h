/* bytes.h — network byte order loads and stores, alignment-free.
 *
 * The only place in the tree that knows how a big-endian integer sits in
 * memory. Every wire field is read or written through these (via buf.h). */
#ifndef IPFLOW_BYTES_H
#define IPFLOW_BYTES_H

#include <stdint.h>

static inline uint16_t peek_u16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t peek_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t peek_u64(const uint8_t *p)
{
	return (uint64_t)peek_u32(p) << 32 | peek_u32(p + 4);
}

static inline void poke_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void poke_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void poke_u64(uint8_t *p, uint64_t v)
{
	poke_u32(p, (uint32_t)(v >> 32));
	poke_u32(p + 4, (uint32_t)v);
}

/* Unsigned big-endian integer of 1..8 bytes (reduced-size encoding, RFC 7011 §6.2). */
static inline uint64_t peek_uint(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static inline void poke_uint(uint8_t *p, unsigned n, uint64_t v)
{
	switch (n) { /* the common widths as single stores (the encoders' hot path) */
	case 1: p[0] = (uint8_t)v; return;
	case 2: poke_u16(p, (uint16_t)v); return;
	case 4: poke_u32(p, (uint32_t)v); return;
	case 8: poke_u64(p, v); return;
	default:
		for (unsigned i = n; i-- > 0; v >>= 8)
			p[i] = (uint8_t)v;
	}
}

#endif
