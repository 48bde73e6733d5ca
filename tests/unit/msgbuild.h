/* msgbuild.h — build export messages in test code, field by field from
 * the RFC layouts, so golden packets are readable code, not hex; and a
 * memory transport that captures what an exporter sends.
 *
 *   struct mb m;
 *   mb_init(&m);
 *   mb_ipfix_begin(&m, export_s, seq, domain);   // length poked at end
 *     mb_set_begin(&m, 2);                        // set id; length poked at end
 *       mb_u16(&m, 256); mb_u16(&m, 2);           // template id, field count
 *       mb_u16(&m, 8); mb_u16(&m, 4);             // sourceIPv4Address, 4
 *       ...
 *     mb_set_end(&m, 1);                          // pad to 1 (IPFIX) or 4 (v9)
 *   mb_ipfix_end(&m);
 *
 * Everything is static inline: the header is shared by several tests.
 * Deliberately independent of src/export: numbers come from the RFCs. */
#ifndef IPFLOW_TEST_MSGBUILD_H
#define IPFLOW_TEST_MSGBUILD_H

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "transport/transport.h"

struct mb {
	uint8_t buf[65536];
	size_t len;
	size_t open[8]; /* offsets of length fields to poke */
	int depth;
};

static inline void mb_init(struct mb *m)
{
	m->len = 0;
	m->depth = 0;
}

static inline void mb_u8(struct mb *m, uint8_t v)
{
	assert(m->len + 1 <= sizeof(m->buf));
	m->buf[m->len++] = v;
}

static inline void mb_u16(struct mb *m, uint16_t v)
{
	mb_u8(m, (uint8_t)(v >> 8));
	mb_u8(m, (uint8_t)v);
}

static inline void mb_u32(struct mb *m, uint32_t v)
{
	mb_u16(m, (uint16_t)(v >> 16));
	mb_u16(m, (uint16_t)v);
}

static inline void mb_u64(struct mb *m, uint64_t v)
{
	mb_u32(m, (uint32_t)(v >> 32));
	mb_u32(m, (uint32_t)v);
}

static inline void mb_bytes(struct mb *m, const void *p, size_t n)
{
	assert(m->len + n <= sizeof(m->buf));
	memcpy(m->buf + m->len, p, n);
	m->len += n;
}

static inline void mb_zeros(struct mb *m, size_t n)
{
	while (n--)
		mb_u8(m, 0);
}

static inline void mb_ipv4(struct mb *m, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	mb_u8(m, a);
	mb_u8(m, b);
	mb_u8(m, c);
	mb_u8(m, d);
}

/* A 16-bit length field counting from `start` to the end of what follows. */
static inline void mb_push(struct mb *m, size_t start)
{
	assert(m->depth < 8);
	m->open[m->depth++] = start;
}

static inline void mb_pop_len(struct mb *m, size_t len_field_off)
{
	size_t start = m->open[--m->depth];
	size_t n = m->len - start;
	m->buf[len_field_off] = (uint8_t)(n >> 8);
	m->buf[len_field_off + 1] = (uint8_t)n;
}

/* IPFIX message header (RFC 7011 §3.1); length poked by mb_ipfix_end. */
static inline void mb_ipfix_begin(struct mb *m, uint32_t export_s, uint32_t seq, uint32_t domain)
{
	mb_push(m, m->len);
	mb_u16(m, 10);
	mb_u16(m, 0);
	mb_u32(m, export_s);
	mb_u32(m, seq);
	mb_u32(m, domain);
}

static inline void mb_ipfix_end(struct mb *m)
{
	mb_pop_len(m, m->open[m->depth - 1] + 2);
}

/* NetFlow v9 header (RFC 3954 §5.1). */
static inline void mb_v9_hdr(struct mb *m, uint16_t count, uint32_t sysup, uint32_t secs, uint32_t seq,
                             uint32_t source)
{
	mb_u16(m, 9);
	mb_u16(m, count);
	mb_u32(m, sysup);
	mb_u32(m, secs);
	mb_u32(m, seq);
	mb_u32(m, source);
}

/* Set / FlowSet header: id and a length poked by mb_set_end, after
 * padding to `align` bytes. */
static inline void mb_set_begin(struct mb *m, uint16_t id)
{
	mb_push(m, m->len);
	mb_u16(m, id);
	mb_u16(m, 0);
}

static inline void mb_set_end(struct mb *m, size_t align)
{
	size_t start = m->open[m->depth - 1];
	while (align > 1 && (m->len - start) % align)
		mb_u8(m, 0);
	mb_pop_len(m, start + 2);
}

/* ---- memory transport: captures every message sent ---- */

struct memtp_msg {
	uint8_t *p;
	size_t len;
	unsigned flags;
};

struct memtp {
	struct transport base;
	size_t n, cap;
	struct memtp_msg *msg;
	int fail; /* > 0: fail that many next sends */
};

static inline int memtp_send(struct transport *t, const void *p, size_t len, unsigned flags)
{
	struct memtp *m = (struct memtp *)t;
	if (m->fail > 0) {
		m->fail--;
		t->st.errors++;
		return ERR_IO;
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->msg = realloc(m->msg, m->cap * sizeof(*m->msg));
		assert(m->msg);
	}
	m->msg[m->n].p = malloc(len ? len : 1);
	assert(m->msg[m->n].p);
	memcpy(m->msg[m->n].p, p, len);
	m->msg[m->n].len = len;
	m->msg[m->n].flags = flags;
	m->n++;
	t->st.msgs++;
	t->st.bytes += len;
	return ERR_OK;
}

static inline void memtp_clear(struct memtp *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->msg[i].p);
	m->n = 0;
}

static inline void memtp_close(struct transport *t)
{
	struct memtp *m = (struct memtp *)t;
	memtp_clear(m);
	free(m->msg);
	free(m);
}

/* overhead: as a UDP/IPv4 transport (28) unless told otherwise. */
static inline struct memtp *memtp_new(size_t overhead)
{
	static const struct transport_ops ops = { .scheme = "mem", .send = memtp_send, .close = memtp_close };
	struct memtp *m = calloc(1, sizeof(*m));
	assert(m);
	m->base.ops = &ops;
	m->base.overhead = overhead;
	return m;
}

#endif
