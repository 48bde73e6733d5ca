/* tmpl_enc.c — see tmpl_enc.h. */
#include "export/tmpl_enc.h"

#include <stddef.h>
#include <string.h>

#include "lib/bytes.h"
#include "lib/err.h"

enum {
	K_CALL = 0, /* the per-field writer */
	K_ZERO,     /* enterprise fields: zeros */
	K_COPY4,    /* 4 address bytes */
	K_COPY16,   /* 16 address bytes */
	K_U8,       /* 1-byte member into 1 byte */
	K_U16,      /* 2 into 2 */
	K_U32,      /* 4 into 4 */
	K_U64,      /* 8 into 8 */
	K_U64_4,    /* 8 into 4, saturating */
	K_SYSUP_F,  /* flowStartSysUpTime in 4 bytes (wraps modulo 2^32) */
	K_SYSUP_L,  /* flowEndSysUpTime in 4 */
	K_MS_F,     /* flowStartMilliseconds in 8 */
	K_MS_L,     /* flowEndMilliseconds in 8 */
	K_END,      /* flowEndReason in 1 */
	K_ICMP4,    /* icmpTypeCodeIPv4 in 2 (also v9's ICMP_TYPE for ICMPv6) */
	K_ICMP6,    /* icmpTypeCodeIPv6 in 2 */
	K_MAX
};
_Static_assert(K_MAX <= TMPL_ENC_KINDS, "tmpl_enc kinds");

#define M(f) offsetof(struct flowrec, f)

/* Plain members: IE → (member, its width). Everything else goes to the
 * per-field writer. */
static int plain(uint16_t ie, uint16_t *src, unsigned *width)
{
	switch (ie) {
	case IE_sourceIPv4Address:
	case IE_sourceIPv6Address: *src = M(key.src), *width = 16; return 1;
	case IE_destinationIPv4Address:
	case IE_destinationIPv6Address: *src = M(key.dst), *width = 16; return 1;
	case IE_ipNextHopIPv4Address:
	case IE_ipNextHopIPv6Address: *src = M(nexthop), *width = 16; return 1;
	case IE_sourceTransportPort: *src = M(key.sport), *width = 2; return 1;
	case IE_destinationTransportPort: *src = M(key.dport), *width = 2; return 1;
	case IE_protocolIdentifier: *src = M(key.proto), *width = 1; return 1;
	case IE_ipClassOfService: *src = M(key.tos), *width = 1; return 1;
	case IE_flowDirection: *src = M(key.dir), *width = 1; return 1;
	case IE_ingressInterface: *src = M(key.ifindex), *width = 4; return 1;
	case IE_egressInterface: *src = M(if_out), *width = 4; return 1;
	case IE_ipVersion: *src = M(key.af), *width = 1; return 1;
	case IE_packetDeltaCount: *src = M(packets), *width = 8; return 1;
	case IE_octetDeltaCount: *src = M(bytes), *width = 8; return 1;
	case IE_tcpControlBits: *src = M(tcp_flags), *width = 1; return 1;
	case IE_minimumTTL: *src = M(min_ttl), *width = 1; return 1;
	case IE_maximumTTL: *src = M(max_ttl), *width = 1; return 1;
	case IE_sourceIPv4PrefixLength:
	case IE_sourceIPv6PrefixLength: *src = M(src_mask), *width = 1; return 1;
	case IE_destinationIPv4PrefixLength:
	case IE_destinationIPv6PrefixLength: *src = M(dst_mask), *width = 1; return 1;
	case IE_minimumIpTotalLength: *src = M(min_len), *width = 2; return 1;
	case IE_maximumIpTotalLength: *src = M(max_len), *width = 2; return 1;
	default: return 0;
	}
}

static uint8_t kind_of(unsigned width, unsigned len)
{
	if (width == 16)
		return len == 4 ? K_COPY4 : len == 16 ? K_COPY16 : K_CALL;
	if (width == len)
		return width == 1 ? K_U8 : width == 2 ? K_U16 : width == 4 ? K_U32 : K_U64;
	if (width == 8 && len == 4)
		return K_U64_4;
	return K_CALL; /* reduced or widened sizes: the general writer */
}

int tmpl_enc_init(struct tmpl_enc *e, const struct tmpl *t)
{
	if (t->varlen || t->nfields > TMPL_MAX_FIELDS)
		return ERR_ARG;
	e->n = t->nfields;
	e->reclen = t->minlen;
	struct tmpl_enc_op ops[TMPL_MAX_FIELDS];
	for (unsigned i = 0; i < t->nfields; i++) {
		const struct tmpl_field *f = &t->f[i];
		struct tmpl_enc_op *o = &ops[i];
		*o = (struct tmpl_enc_op){ .off = f->off, .len = f->len, .ie = f->ie, .kind = K_CALL };
		unsigned width;
		if (f->pen)
			o->kind = K_ZERO;
		else if (plain(f->ie, &o->src, &width))
			o->kind = kind_of(width, f->len);
		else if ((f->ie == IE_bgpSourceAsNumber || f->ie == IE_bgpDestinationAsNumber) && f->len == 4)
			/* 4-byte AS numbers as they are (AS_TRANS is for 2 bytes) */
			o->kind = K_U32, o->src = f->ie == IE_bgpSourceAsNumber ? M(src_as) : M(dst_as);
		else if (f->len == 4 && (f->ie == IE_flowStartSysUpTime || f->ie == IE_flowEndSysUpTime))
			o->kind = f->ie == IE_flowStartSysUpTime ? K_SYSUP_F : K_SYSUP_L;
		else if (f->len == 8 && (f->ie == IE_flowStartMilliseconds || f->ie == IE_flowEndMilliseconds))
			o->kind = f->ie == IE_flowStartMilliseconds ? K_MS_F : K_MS_L;
		else if (f->len == 1 && f->ie == IE_flowEndReason)
			o->kind = K_END;
		else if (f->len == 2 && f->ie == IE_icmpTypeCodeIPv4)
			o->kind = K_ICMP4;
		else if (f->len == 2 && f->ie == IE_icmpTypeCodeIPv6)
			o->kind = K_ICMP6;
	}
	/* group by kind, in template order within a group */
	unsigned n = 0;
	for (unsigned k = 0; k < TMPL_ENC_KINDS; k++) {
		for (unsigned i = 0; i < t->nfields; i++)
			if (ops[i].kind == k)
				e->op[n++] = ops[i];
		e->end[k] = (uint16_t)n;
	}
	return ERR_OK;
}

/* for (each op of kind k) BODY, with q the field, s the member */
#define GROUP(k, BODY)                                                        \
	for (; o < e->op + e->end[k]; o++) {                                      \
		uint8_t *q = p + o->off;                                              \
		const uint8_t *s = b + o->src;                                        \
		(void)s;                                                              \
		BODY;                                                                 \
	}

int tmpl_enc_put(struct wbuf *w, const struct tmpl_enc *e, const struct flowrec *r, struct rec_enc *c)
{
	uint8_t *p = wbuf_reserve(w, e->reclen);
	if (!p)
		return ERR_NOSPACE;
	const uint8_t *b = (const uint8_t *)r;
	const struct tmpl_enc_op *o = e->op;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;
	GROUP(K_CALL, tmpl_put_field(q, o->ie, o->len, r, c))
	GROUP(K_ZERO, memset(q, 0, o->len))
	GROUP(K_COPY4, memcpy(q, s, 4))
	GROUP(K_COPY16, memcpy(q, s, 16))
	GROUP(K_U8, q[0] = s[0])
	GROUP(K_U16, memcpy(&v16, s, 2); poke_u16(q, v16))
	GROUP(K_U32, memcpy(&v32, s, 4); poke_u32(q, v32))
	GROUP(K_U64, memcpy(&v64, s, 8); poke_u64(q, v64))
	GROUP(K_U64_4, memcpy(&v64, s, 8); if (v64 > 0xffffffffu) { v64 = 0xffffffffu; c->saturated++; }
	      poke_u32(q, (uint32_t)v64))
	GROUP(K_SYSUP_F, poke_u32(q, r->first_us > c->boot_us ? (uint32_t)((r->first_us - c->boot_us) / 1000) : 0))
	GROUP(K_SYSUP_L, poke_u32(q, r->last_us > c->boot_us ? (uint32_t)((r->last_us - c->boot_us) / 1000) : 0))
	GROUP(K_MS_F, poke_u64(q, r->first_us / 1000))
	GROUP(K_MS_L, poke_u64(q, r->last_us / 1000))
	GROUP(K_END, q[0] = flow_end_ipfix((enum flow_end)r->end))
	GROUP(K_ICMP4, poke_u16(q, r->key.proto == 1 || r->key.proto == 58 ? r->key.dport : 0))
	GROUP(K_ICMP6, poke_u16(q, r->key.proto == 58 ? r->key.dport : 0))
	return ERR_OK;
}
