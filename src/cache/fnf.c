/* fnf.c — the flexible flow cache of a Flexible NetFlow monitor; see
 * fnf.h for the rules and their cost. The hash table, pool, lists and
 * sweep mirror cache.c, over entries whose size comes from the record. */
#include "cache/fnf.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cache/expiry.h"
#include "lib/bytes.h"
#include "lib/err.h"
#include "lib/hash.h"

#define NIL 0u /* entry 0 of the pool is never used */
#define HASH_BITS 0x7fffffffu /* the key hash in struct fent's hash */
#define HASH_DUE 0x80000000u  /* the entry is on the due list, not in the wheel */
#define WHEEL_SLOTS 20u       /* idle wheel buckets: 16 per inactive timeout, and room */

/* Head of every pool entry: what a packet of an open record reads and
 * writes, first (with a short key and the per-packet accumulators after
 * it, one cache line). The packed key (keyr bytes), the accumulators
 * (acc_len bytes) and the tail (struct ftail) follow it. 40 bytes, a
 * multiple of 8, so the accumulators are 8-byte aligned. */
struct fent {
	uint32_t hash;   /* folded key hash (31 bits) | HASH_DUE */
	uint32_t hnext;  /* hash chain, or free-list link */
	uint32_t lprev;  /* idle wheel bucket or due list (see "expiry") */
	uint32_t lnext;
	uint64_t packets;
	uint64_t bytes;
	uint64_t last_us;
};

/* What a record's start and its expiry use. */
struct ftail {
	uint64_t first_us;
	uint32_t aprev;  /* open-record list (oldest first): active expiry */
	uint32_t anext;
};

struct dlist {
	uint32_t head;
	uint32_t tail;
};

/* The definition compiled for the per-packet path: what each key field
 * packs, what each record start sets, what each packet updates. */
struct kop {
	uint8_t src;
	uint8_t len;
	uint8_t bytes;  /* an address or MAC: copied */
	uint16_t off;
};

/* How the per-packet path reads a packet value (fnf_new compiles each
 * field into one): a guarded load of a struct cache_pkt member of its
 * natural width, or, for the values that need more than that (buckets,
 * shifts, two conditions, saturation), the generic num_of()/bytes_of().
 * The guard is the condition under which the value is the member's and
 * not 0: the byte at goff equals gval (gneg: differs), or none. */
enum {
	V_GEN = 0,   /* num_of / bytes_of (key: put_sat / put_bytes) */
	V_U8, V_U16, V_U32, /* numbers: a member of that width (key: stored as len == width) */
	V_B4, V_B6, V_B16, V_BN, /* bytes: len bytes of a member (key only) */
	V_ZERO,      /* bytes: always zero (key only) */
};
#define GUARD_NONE 0xffffu

struct vop {
	uint8_t kind;   /* V_* */
	uint8_t len;    /* key: encoded length */
	uint16_t off;   /* key: offset in the key; collect: byte offset in the accumulators */
	uint16_t poff;  /* the member's offset in struct cache_pkt */
	uint16_t goff;  /* guard byte's offset in struct cache_pkt, or GUARD_NONE */
	uint8_t gval;
	uint8_t gneg;
	uint8_t src;    /* enum fnf_src (V_GEN) */
	uint8_t op;     /* collect: enum fnf_op */
};

#define GATHER_WORDS 8
#define GATHER_GUARDS 3

struct aop {
	uint8_t src;
	uint8_t op;     /* FNF_SUM .. FNF_OR (FNF_FIRST: set at the start only) */
	uint8_t bytes;  /* start: copy bytes_size(src) bytes */
	uint16_t off;   /* byte offset in the accumulators */
};

struct fnf_cache {
	struct fnf_def d;
	struct kop kop[FNF_FIELDS_MAX];   /* key fields */
	struct aop sop[FNF_FIELDS_MAX];   /* collect fields with an accumulator: set at a record's start */
	struct aop uop[FNF_FIELDS_MAX];   /* numeric ones that change per packet (not FNF_FIRST) */
	uint8_t nkop, nsop, nuop;
	struct vop kv[FNF_FIELDS_MAX];    /* kop compiled for the packet path */
	struct vop uv[FNF_FIELDS_MAX];    /* uop compiled */
	bool generic;                     /* fnf_set_generic: the reference path */
	uint64_t sweep_at;                /* no record is due before this (cache time) */
	uint8_t key_words;                /* keyr / 8: keys are compared and hashed zero-padded */
	struct fnf_cfg cfg;
	uint64_t active_us;
	uint64_t inactive_us;
	uint64_t seed;
	fnf_emit_fn emit;
	void *emit_arg;
	uint8_t *pool;          /* (entries + 1) * stride bytes */
	uint32_t *bucket;
	size_t pool_bytes;
	size_t bucket_bytes;
	size_t pool_map, bucket_map; /* lengths mapped */
	size_t stride;          /* bytes per entry */
	size_t toff;            /* offset of an entry's struct ftail */
	uint16_t keyr;          /* key bytes rounded up to 8 (gathered: 8 per word) */
	uint16_t kroom;         /* key room in an entry: the larger of the two forms */
	/* Gathered keys (fnf_new picks them when every key field is a plain
	 * member, no two share a byte, and at most GATHER_GUARDS conditions
	 * and GATHER_WORDS words are involved): the key an entry stores is
	 * not the wire form but GATHER_WORDS-or-fewer 8-byte words of struct
	 * cache_pkt, each masked to the bytes of its fields, the mask chosen
	 * by which field conditions hold (a failed one zeroes its field). It
	 * is one-to-one with the wire key (fields do not share bytes; a
	 * member and its wire form are one-to-one; a failed condition is 0
	 * in both), so records are the same; the wire form is made when a
	 * record is emitted (wire_key). Per packet: a compare per condition
	 * and a load, AND and store per word. */
	bool gather;
	uint8_t nword, nguard;
	uint16_t woff[GATHER_WORDS];              /* each word's offset in struct cache_pkt */
	uint64_t wmask[GATHER_WORDS][1u << GATHER_GUARDS]; /* by condition state */
	uint64_t wown[GATHER_WORDS];              /* the bytes each word holds, all conditions true */
	/* where each key field's member bytes sit in a gathered key, when
	 * they are contiguous there (kdirect): wire_key reads them in place */
	bool kdirect;
	uint8_t kpos[FNF_FIELDS_MAX];
	struct { uint16_t goff; uint8_t gval, gneg; } guard[GATHER_GUARDS];
	uint32_t nbucket_mask;
	uint32_t free_head;
	uint32_t emergency_at;
	bool clock_set;
	struct dlist due;       /* normal cache: the idle entries next due, by last-seen */
	uint32_t *wheel;        /* WHEEL_SLOTS bucket heads (normal cache) */
	uint64_t wg_us;         /* a bucket's width */
	uint64_t wb;            /* absolute number of the oldest bucket still in the wheel */
	uint32_t wn;            /* entries in the wheel */
	struct wsort { uint64_t k; uint32_t i; } *wsort; /* entries room: a bucket being sorted */
	struct dlist act;
	struct fnf_stats st;
	uint8_t *scratch;       /* CACHE_BATCH_MAX keys, then one entry (immediate cache) */
};

/* --- definitions ---------------------------------------------------------- */

static const uint8_t zero16[16];

/* Natural byte size of a bytes source; 0 for numbers and record sources. */
static unsigned bytes_size(enum fnf_src s)
{
	switch (s) {
	case FNF_S_ZERO: return 16;
	case FNF_S_SRC4: case FNF_S_DST4: return 4;
	case FNF_S_SRC6: case FNF_S_DST6: return 16;
	case FNF_S_MAC_SRC_IN: case FNF_S_MAC_SRC_OUT: case FNF_S_MAC_DST_IN: case FNF_S_MAC_DST_OUT: return 6;
	default: return 0;
	}
}

static bool record_src(enum fnf_src s)
{
	return s >= FNF_S_PACKETS && s < FNF_S_MAX_;
}

void fnf_def_init(struct fnf_def *d, unsigned flags)
{
	memset(d, 0, sizeof(*d));
	d->flags = flags & (FNF_D_BUCKET_TTL | FNF_D_BUCKET_LEN);
}

int fnf_def_add(struct fnf_def *d, uint16_t ie, uint16_t len, enum fnf_src src, enum fnf_op op)
{
	if (d->n == FNF_FIELDS_MAX)
		return ERR_FULL;
	if ((unsigned)src >= FNF_S_MAX_ || (unsigned)op >= FNF_OP_MAX_ || len == 0)
		return ERR_ARG;
	unsigned bs = bytes_size(src);
	if (bs ? len > bs : len > 8)
		return ERR_ARG;
	if (bs && op != FNF_KEY && op != FNF_FIRST)
		return ERR_ARG; /* addresses and MACs are kept from the first packet */
	if (op == FNF_KEY) {
		if (record_src(src) || d->n != d->nkey)
			return ERR_ARG;
		if (d->key_len + len > FNF_KEY_MAX)
			return ERR_FULL;
		d->f[d->n] = (struct fnf_field){ ie, len, (uint8_t)src, (uint8_t)op, d->key_len };
		d->key_len = (uint16_t)(d->key_len + len);
		d->nkey++;
	} else {
		uint16_t off = 0;
		if (!record_src(src)) {
			off = d->acc_len;
			d->acc_len = (uint16_t)(d->acc_len + (bs ? (bs + 7u) / 8u * 8u : 8u));
		}
		d->f[d->n] = (struct fnf_field){ ie, len, (uint8_t)src, (uint8_t)op, off };
	}
	d->n++;
	return ERR_OK;
}

int fnf_def_finish(struct fnf_def *d)
{
	if (d->nkey == 0)
		return ERR_ARG;
	bool sport = false, dport = false;
	d->lay.n = d->n;
	for (unsigned i = 0; i < d->n; i++) {
		const struct fnf_field *f = &d->f[i];
		uint8_t kind = GENREC_UINT;
		if (f->op == FNF_KEY || bytes_size((enum fnf_src)f->src))
			kind = GENREC_BYTES;
		else if (f->src == FNF_S_FIRST || f->src == FNF_S_LAST)
			kind = GENREC_TIME;
		d->lay.f[i] = (struct genrec_field){ f->ie, f->len, kind };
		if (f->op == FNF_KEY) {
			sport |= f->src == FNF_S_SPORT || f->src == FNF_S_TCP_SPORT;
			dport |= f->src == FNF_S_DPORT || f->src == FNF_S_TCP_DPORT;
		}
	}
	d->flags = (d->flags & ~(unsigned)FNF_D_TCP_END) | (sport && dport ? FNF_D_TCP_END : 0);
	return ERR_OK;
}

bool fnf_def_equal(const struct fnf_def *a, const struct fnf_def *b)
{
	if (a->n != b->n || a->nkey != b->nkey || a->flags != b->flags)
		return false;
	for (unsigned i = 0; i < a->n; i++) {
		const struct fnf_field *x = &a->f[i], *y = &b->f[i];
		if (x->ie != y->ie || x->len != y->len || x->src != y->src || x->op != y->op)
			return false;
	}
	return true;
}

/* Catalyst FNF TTL map: 0-10 → 10, 11-25 → 25, 26-50 → 50, 51-100 → 100,
 * 101-150 → 150, 151-255 → 255. */
uint8_t fnf_bucket_ttl(uint8_t ttl)
{
	static const uint8_t top[] = { 10, 25, 50, 100, 150, 255 };
	for (size_t i = 0; i < sizeof(top) - 1; i++)
		if (ttl <= top[i])
			return top[i];
	return 255;
}

/* Catalyst FNF packet length map: 0-64 → 64, 65-128 → 128, 129-256 →
 * 256, 257-512 → 512, 513-756 → 756, 757-1500 → 1500, 1501-4000 → 4000,
 * above → 8192. */
uint32_t fnf_bucket_len(uint32_t len)
{
	static const uint16_t top[] = { 64, 128, 256, 512, 756, 1500, 4000 };
	for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
		if (len <= top[i])
			return top[i];
	return 8192;
}

/* --- packet values -------------------------------------------------------- */

static inline __attribute__((always_inline)) const uint8_t *bytes_of(const struct cache_pkt *p, enum fnf_src s)
{
	const struct pkt_info *pi = &p->pi;
	bool in = p->dir == 0;
	switch (s) {
	case FNF_S_SRC4: return pi->af == 4 ? pi->src : zero16;
	case FNF_S_DST4: return pi->af == 4 ? pi->dst : zero16;
	case FNF_S_SRC6: return pi->af == 6 ? pi->src : zero16;
	case FNF_S_DST6: return pi->af == 6 ? pi->dst : zero16;
	case FNF_S_MAC_SRC_IN: return in ? pi->src_mac : zero16;
	case FNF_S_MAC_SRC_OUT: return in ? zero16 : pi->src_mac;
	case FNF_S_MAC_DST_IN: return in ? pi->dst_mac : zero16;
	case FNF_S_MAC_DST_OUT: return in ? zero16 : pi->dst_mac;
	default: return zero16;
	}
}

/* Per field per packet: inlined where used (one dispatch per field). */
static inline __attribute__((always_inline)) uint64_t num_of(const struct cache_pkt *p, enum fnf_src s,
                                                            unsigned flags, uint8_t sampler)
{
	const struct pkt_info *pi = &p->pi;
	bool in = p->dir == 0;
	switch (s) {
	case FNF_S_VLAN_IN: return in ? pi->vlan : 0;
	case FNF_S_VLAN_OUT: return in ? 0 : pi->vlan;
	case FNF_S_PCP: return pi->vlan_pcp;
	case FNF_S_TOS: return pi->tos;
	case FNF_S_DSCP: return pi->tos >> 2;
	case FNF_S_PREC: return pi->tos >> 5;
	case FNF_S_PROTO: return pi->proto;
	case FNF_S_FRAG_FLAGS: /* RFC 7012 fragmentFlags: bit 1 DF, bit 2 MF */
		return (pi->flags & PKT_F_DF ? 0x40u : 0) | (pi->flags & PKT_F_MF ? 0x20u : 0);
	case FNF_S_FRAG_OFF: return pi->frag_off >> 3;
	case FNF_S_MCAST: /* RFC 7012 isMulticast */
		return !(pi->flags & PKT_F_MULTICAST) ? 0 : pi->af == 4 ? 0x80 : 0x1f;
	case FNF_S_IPLEN: return flags & FNF_D_BUCKET_LEN ? fnf_bucket_len(pi->ip_len) : pi->ip_len;
	case FNF_S_IPLEN_EXACT: return pi->ip_len;
	case FNF_S_PAYLEN6: return pi->af == 6 && pi->ip_len >= 40 ? pi->ip_len - 40 : 0;
	case FNF_S_TTL: return flags & FNF_D_BUCKET_TTL ? fnf_bucket_ttl(pi->ttl) : pi->ttl;
	case FNF_S_TTL_EXACT: return pi->ttl;
	case FNF_S_VERSION: return pi->af;
	case FNF_S_FLOW_LABEL: return pi->af == 6 ? pi->flow_label : 0;
	case FNF_S_NEXT_HDR: return pi->af == 6 ? pi->ip6_nh : 0;
	case FNF_S_FWD_STATUS: return in ? 0 : 0x40; /* RFC 7270: unknown / forwarded */
	case FNF_S_SPORT: return pi->sport;
	case FNF_S_DPORT: return pi->dport;
	case FNF_S_TCP_SPORT: return pi->proto == 6 ? pi->sport : 0;
	case FNF_S_TCP_DPORT: return pi->proto == 6 ? pi->dport : 0;
	case FNF_S_TCP_FLAGS: return pi->proto == 6 ? pi->tcp_flags : 0;
	case FNF_S_UDP_SPORT: return pi->proto == 17 ? pi->sport : 0;
	case FNF_S_UDP_DPORT: return pi->proto == 17 ? pi->dport : 0;
	case FNF_S_ICMP4_TYPE: return pi->af == 4 && pi->proto == 1 ? pi->icmp_type : 0;
	case FNF_S_ICMP4_CODE: return pi->af == 4 && pi->proto == 1 ? pi->icmp_code : 0;
	case FNF_S_ICMP6_TYPE: return pi->af == 6 && pi->proto == 58 ? pi->icmp_type : 0;
	case FNF_S_ICMP6_CODE: return pi->af == 6 && pi->proto == 58 ? pi->icmp_code : 0;
	case FNF_S_IGMP_TYPE: return pi->proto == 2 ? pi->igmp_type : 0;
	case FNF_S_IF_IN: return in ? p->ifindex : 0;
	case FNF_S_IF_OUT: return in ? 0 : p->ifindex;
	case FNF_S_DIR: return p->dir;
	case FNF_S_SAMPLER: return sampler;
	case FNF_S_FLOWS: return 1;
	default: return 0;
	}
}

/* Big-endian v in len bytes, saturating (a key value wider than its
 * field). The common widths are direct stores: this runs per key field
 * per packet. */
static inline void put_sat(uint8_t *p, unsigned len, uint64_t v)
{
	switch (len) {
	case 1:
		p[0] = v > 0xff ? 0xff : (uint8_t)v;
		return;
	case 2:
		poke_u16(p, v > 0xffff ? 0xffff : (uint16_t)v);
		return;
	case 4:
		poke_u32(p, v > 0xffffffffu ? 0xffffffffu : (uint32_t)v);
		return;
	case 8:
		poke_u64(p, v);
		return;
	default:
		if (v >> (len * 8))
			v = (1ull << (len * 8)) - 1;
		poke_uint(p, len, v);
		return;
	}
}

/* n bytes of an address or MAC (fixed sizes inline). */
static inline void put_bytes(uint8_t *p, const uint8_t *src, unsigned n)
{
	switch (n) {
	case 4: memcpy(p, src, 4); return;
	case 6: memcpy(p, src, 6); return;
	case 16: memcpy(p, src, 16); return;
	default: memcpy(p, src, n); return;
	}
}

/* --- the compiled packet path ---------------------------------------------- */

#define PO(m) ((uint16_t)offsetof(struct cache_pkt, m))

/* The plain member and guard of source s, if it has one: width 1, 2 or 4
 * (numbers) or the member's byte size (bytes); 0 when s needs num_of or
 * bytes_of. flags: FNF_D_BUCKET_*. */
static unsigned plain_of(enum fnf_src s, unsigned flags, uint16_t *poff, uint16_t *goff, uint8_t *gval,
                         uint8_t *gneg)
{
	*goff = GUARD_NONE;
	*gval = 0;
	*gneg = 0;
#define G(m, v, neg) (*goff = PO(m), *gval = (uint8_t)(v), *gneg = (neg))
	switch (s) {
	case FNF_S_SRC4: G(pi.af, 4, 0); *poff = PO(pi.src); return 4;
	case FNF_S_DST4: G(pi.af, 4, 0); *poff = PO(pi.dst); return 4;
	case FNF_S_SRC6: G(pi.af, 6, 0); *poff = PO(pi.src); return 16;
	case FNF_S_DST6: G(pi.af, 6, 0); *poff = PO(pi.dst); return 16;
	case FNF_S_MAC_SRC_IN: G(dir, 0, 0); *poff = PO(pi.src_mac); return 6;
	case FNF_S_MAC_SRC_OUT: G(dir, 0, 1); *poff = PO(pi.src_mac); return 6;
	case FNF_S_MAC_DST_IN: G(dir, 0, 0); *poff = PO(pi.dst_mac); return 6;
	case FNF_S_MAC_DST_OUT: G(dir, 0, 1); *poff = PO(pi.dst_mac); return 6;
	case FNF_S_VLAN_IN: G(dir, 0, 0); *poff = PO(pi.vlan); return 2;
	case FNF_S_VLAN_OUT: G(dir, 0, 1); *poff = PO(pi.vlan); return 2;
	case FNF_S_PCP: *poff = PO(pi.vlan_pcp); return 1;
	case FNF_S_TOS: *poff = PO(pi.tos); return 1;
	case FNF_S_PROTO: *poff = PO(pi.proto); return 1;
	case FNF_S_IPLEN:
		if (flags & FNF_D_BUCKET_LEN)
			return 0;
		*poff = PO(pi.ip_len);
		return 4;
	case FNF_S_IPLEN_EXACT: *poff = PO(pi.ip_len); return 4;
	case FNF_S_TTL:
		if (flags & FNF_D_BUCKET_TTL)
			return 0;
		*poff = PO(pi.ttl);
		return 1;
	case FNF_S_TTL_EXACT: *poff = PO(pi.ttl); return 1;
	case FNF_S_VERSION: *poff = PO(pi.af); return 1;
	case FNF_S_FLOW_LABEL: G(pi.af, 6, 0); *poff = PO(pi.flow_label); return 4;
	case FNF_S_NEXT_HDR: G(pi.af, 6, 0); *poff = PO(pi.ip6_nh); return 1;
	case FNF_S_SPORT: *poff = PO(pi.sport); return 2;
	case FNF_S_DPORT: *poff = PO(pi.dport); return 2;
	case FNF_S_TCP_SPORT: G(pi.proto, 6, 0); *poff = PO(pi.sport); return 2;
	case FNF_S_TCP_DPORT: G(pi.proto, 6, 0); *poff = PO(pi.dport); return 2;
	case FNF_S_TCP_FLAGS: G(pi.proto, 6, 0); *poff = PO(pi.tcp_flags); return 1;
	case FNF_S_UDP_SPORT: G(pi.proto, 17, 0); *poff = PO(pi.sport); return 2;
	case FNF_S_UDP_DPORT: G(pi.proto, 17, 0); *poff = PO(pi.dport); return 2;
	case FNF_S_IGMP_TYPE: G(pi.proto, 2, 0); *poff = PO(pi.igmp_type); return 1;
	case FNF_S_IF_IN: G(dir, 0, 0); *poff = PO(ifindex); return 4;
	case FNF_S_IF_OUT: G(dir, 0, 1); *poff = PO(ifindex); return 4;
	case FNF_S_DIR: *poff = PO(dir); return 1;
	default: return 0;
	}
#undef G
}

/* Compile one field: a key field (len its encoded length) or a per-packet
 * collect field (op). */
static struct vop compile_val(enum fnf_src s, unsigned len, bool key, enum fnf_op op, uint16_t off,
                              unsigned flags)
{
	struct vop v = { .kind = V_GEN, .len = (uint8_t)len, .off = off, .goff = GUARD_NONE,
	                 .src = (uint8_t)s, .op = (uint8_t)op };
	unsigned bs = bytes_size(s);
	if (key && s == FNF_S_ZERO) {
		v.kind = V_ZERO;
		return v;
	}
	uint16_t poff, goff;
	uint8_t gval, gneg;
	unsigned w = plain_of(s, flags, &poff, &goff, &gval, &gneg);
	if (!w)
		return v;
	if (bs) {
		if (!key)
			return v; /* bytes are collected once, at a record's start */
		v.kind = len == 4 ? V_B4 : len == 6 ? V_B6 : len == 16 ? V_B16 : V_BN;
	} else {
		/* a key stores the member as it is only when it has the field's
		 * width (no saturation, no widening); a collect is 8 bytes */
		if (key && len != w)
			return v;
		v.kind = w == 1 ? V_U8 : w == 2 ? V_U16 : V_U32;
	}
	v.poff = poff;
	v.goff = goff;
	v.gval = gval;
	v.gneg = gneg;
	return v;
}

static inline __attribute__((always_inline)) bool guard_ok(const struct vop *o, const uint8_t *pb)
{
	return o->goff == GUARD_NONE || ((pb[o->goff] == o->gval) != o->gneg);
}

/* A number of a compiled field (V_U8/16/32; V_GEN through num_of). */
static inline __attribute__((always_inline)) uint64_t val_of(const struct vop *o, const struct cache_pkt *p,
                                                             unsigned flags, uint8_t sampler)
{
	const uint8_t *pb = (const uint8_t *)p;
	uint64_t v;
	switch (o->kind) {
	case V_U8: v = pb[o->poff]; break;
	case V_U16: { uint16_t x; memcpy(&x, pb + o->poff, 2); v = x; break; }
	case V_U32: { uint32_t x; memcpy(&x, pb + o->poff, 4); v = x; break; }
	default: return num_of(p, (enum fnf_src)o->src, flags, sampler);
	}
	return guard_ok(o, pb) ? v : 0;
}

/* --- gathered keys (see struct fnf_cache) ---------------------------------- */

/* The member bytes key field o reads: its width for numbers, its length
 * for bytes. */
static unsigned gather_width(const struct vop *o)
{
	switch (o->kind) {
	case V_U8: return 1;
	case V_U16: return 2;
	case V_U32: return 4;
	case V_B4: case V_B6: case V_B16: case V_BN: return o->len;
	default: return 0;
	}
}

static void gather_plan(struct fnf_cache *c)
{
	enum { S = sizeof(struct cache_pkt) };
	int8_t owner[S];  /* key field whose byte it is, -1 none */
	int8_t word[S];   /* word holding it */
	int8_t gidx[FNF_FIELDS_MAX];
	c->gather = false;
	c->nword = c->nguard = 0;
	memset(owner, -1, sizeof(owner));
	memset(word, -1, sizeof(word));
	if (S < 8)
		return;
	for (unsigned i = 0; i < c->nkop; i++) {
		const struct vop *o = &c->kv[i];
		unsigned w = gather_width(o);
		if (!w || o->poff + w > S)
			return;
		for (unsigned b = o->poff; b < o->poff + w; b++) {
			if (owner[b] >= 0)
				return; /* two fields share a member byte */
			owner[b] = (int8_t)i;
		}
		gidx[i] = -1;
		if (o->goff == GUARD_NONE)
			continue;
		unsigned g;
		for (g = 0; g < c->nguard; g++)
			if (c->guard[g].goff == o->goff && c->guard[g].gval == o->gval && c->guard[g].gneg == o->gneg)
				break;
		if (g == c->nguard) {
			if (c->nguard == GATHER_GUARDS)
				return;
			c->guard[g].goff = o->goff;
			c->guard[g].gval = o->gval;
			c->guard[g].gneg = o->gneg;
			c->nguard++;
		}
		gidx[i] = (int8_t)g;
	}
	unsigned nw = 0;
	for (unsigned b = 0; b < S; b++) {
		if (owner[b] < 0 || word[b] >= 0)
			continue;
		if (nw == GATHER_WORDS)
			return;
		unsigned wo = b + 8 <= S ? b : S - 8;
		c->woff[nw] = (uint16_t)wo;
		for (unsigned x = wo; x < wo + 8; x++)
			if (owner[x] >= 0 && word[x] < 0)
				word[x] = (int8_t)nw;
		nw++;
	}
	for (unsigned j = 0; j < nw; j++) {
		for (unsigned st = 0; st < (1u << GATHER_GUARDS); st++) {
			uint8_t m[8] = { 0 };
			for (unsigned x = 0; x < 8; x++) {
				unsigned b = c->woff[j] + x;
				if (word[b] != (int8_t)j)
					continue;
				int g = gidx[owner[b]];
				if (g < 0 || (st >> g & 1))
					m[x] = 0xff;
			}
			memcpy(&c->wmask[j][st], m, 8);
		}
		c->wown[j] = c->wmask[j][(1u << GATHER_GUARDS) - 1];
	}
	c->nword = (uint8_t)nw;
	c->gather = true;
	/* each field's bytes, in the words that hold them, in order? */
	c->kdirect = true;
	for (unsigned i = 0; i < c->nkop && c->kdirect; i++) {
		const struct vop *o = &c->kv[i];
		unsigned w = gather_width(o);
		int pos0 = -1;
		for (unsigned b = o->poff; b < o->poff + w; b++) {
			int j = word[b];
			int pos = 8 * j + (int)(b - c->woff[j]);
			if (b == o->poff)
				pos0 = pos;
			else if (pos != pos0 + (int)(b - o->poff))
				c->kdirect = false;
		}
		c->kpos[i] = (uint8_t)pos0;
	}
}

static inline __attribute__((always_inline)) void key_gather(const struct fnf_cache *c, uint8_t *k,
                                                             const struct cache_pkt *p)
{
	const uint8_t *pb = (const uint8_t *)p;
	unsigned st = 0;
	for (unsigned g = 0; g < c->nguard; g++)
		st |= (unsigned)((pb[c->guard[g].goff] == c->guard[g].gval) != c->guard[g].gneg) << g;
	for (unsigned j = 0; j < c->nword; j++) {
		uint64_t x;
		memcpy(&x, pb + c->woff[j], 8);
		x &= c->wmask[j][st];
		memcpy(k + 8 * j, &x, 8);
	}
}

/* The wire form of a stored key: k itself, or (gathered) made in buf
 * (FNF_KEY_MAX bytes): the words put back where they came from in a
 * zeroed struct cache_pkt, each field then stored from its member as
 * the compiled path stores it (its condition was applied when the key
 * was gathered). */
/* Key field o's member value at m (host order, as in struct cache_pkt)
 * into its wire form in the key buf. */
static inline void wire_field(const struct vop *o, uint8_t *buf, const uint8_t *m)
{
	uint8_t *d = buf + o->off;
	switch (o->kind) {
	case V_U8: *d = *m; break;
	case V_U16: { uint16_t x; memcpy(&x, m, 2); poke_u16(d, x); break; }
	case V_U32: { uint32_t x; memcpy(&x, m, 4); poke_u32(d, x); break; }
	default: memcpy(d, m, o->len); break;
	}
}

static const uint8_t *wire_key(const struct fnf_cache *c, const uint8_t *k, uint8_t *buf)
{
	if (!c->gather)
		return k;
	if (c->kdirect) { /* the members' bytes in place in k (gather_plan) */
		memset(buf, 0, c->d.key_len);
		for (unsigned i = 0; i < c->nkop; i++)
			wire_field(&c->kv[i], buf, k + c->kpos[i]);
		return buf;
	}
	union {
		struct cache_pkt p;
		uint8_t b[sizeof(struct cache_pkt)];
	} u;
	memset(&u, 0, sizeof(u));
	for (unsigned j = 0; j < c->nword; j++) {
		uint64_t x, y;
		memcpy(&x, u.b + c->woff[j], 8);
		memcpy(&y, k + 8 * j, 8);
		x = (x & ~c->wown[j]) | (y & c->wown[j]);
		memcpy(u.b + c->woff[j], &x, 8);
	}
	memset(buf, 0, c->d.key_len);
	for (unsigned i = 0; i < c->nkop; i++)
		wire_field(&c->kv[i], buf, u.b + c->kv[i].poff);
	return buf;
}

/* --- intrusive lists over pool indices ----------------------------------- */

static inline struct fent *E(const struct fnf_cache *c, uint32_t i)
{
	return (struct fent *)(void *)(c->pool + (size_t)i * c->stride);
}

static inline uint8_t *key_at(const struct fnf_cache *c, uint32_t i)
{
	return (uint8_t *)E(c, i) + sizeof(struct fent);
}

static inline uint64_t *acc_at(const struct fnf_cache *c, uint32_t i)
{
	return (uint64_t *)(void *)(key_at(c, i) + c->kroom);
}

static inline struct ftail *TL(const struct fnf_cache *c, uint32_t i)
{
	return (struct ftail *)(void *)(c->pool + (size_t)i * c->stride + c->toff);
}

#define DLIST_FNS(name, A, prev, next)                                                 \
	static void name##_append(struct fnf_cache *c, struct dlist *l, uint32_t i)    \
	{                                                                              \
		A(c, i)->prev = l->tail;                                               \
		A(c, i)->next = NIL;                                                   \
		if (l->tail)                                                           \
			A(c, l->tail)->next = i;                                       \
		else                                                                   \
			l->head = i;                                                   \
		l->tail = i;                                                           \
	}                                                                              \
	static void name##_remove(struct fnf_cache *c, struct dlist *l, uint32_t i)    \
	{                                                                              \
		uint32_t p_ = A(c, i)->prev, n_ = A(c, i)->next;                       \
		if (p_)                                                                \
			A(c, p_)->next = n_;                                           \
		else                                                                   \
			l->head = n_;                                                  \
		if (n_)                                                                \
			A(c, n_)->prev = p_;                                           \
		else                                                                   \
			l->tail = p_;                                                  \
		A(c, i)->prev = A(c, i)->next = NIL;                                   \
	}

DLIST_FNS(due, E, lprev, lnext)
DLIST_FNS(act, TL, aprev, anext)

/* --- idle expiry: a lazy wheel in front of a sorted due list ---------------
 *
 * The normal cache expires a record inactive_us after its last packet,
 * exactly, and emergency expiry takes the entry seen longest ago. A list
 * kept in last-seen order does both, but costs every packet a move to
 * the list's tail: two random neighbours written. Here a packet only
 * stores its time (last_us). Every entry is either
 *   - in the wheel: WHEEL_SLOTS unordered buckets of wg_us (1/16 of the
 *     inactive timeout), absolute bucket wb the oldest; an entry sits in
 *     the bucket of the last-seen time it had when it was put there (it
 *     may have been seen since: then it is "stale"), or
 *   - on the due list (HASH_DUE set): every entry whose last-seen time is
 *     before wb * wg_us, sorted by last-seen time, none stale (a packet
 *     takes its entry off the due list).
 * When the clock reaches bucket wb's first possible deadline (wb * wg_us
 * + inactive_us), the bucket is emptied: a stale entry moves to the
 * bucket of its time, the others are sorted and appended to the due
 * list (their times are all later than the list's), and wb moves on.
 * Records then expire from the due list's head as from a last-seen list
 * (the same deadlines; entries seen at the same microsecond in pool
 * order), and an entry is sorted about once per inactive timeout of its
 * life instead of moved at every packet. Emergency expiry takes the due
 * list's head, emptying buckets early when the list is empty. A new
 * inactive timeout (new bucket widths) empties the whole wheel into the
 * due list (wheel_to_due).
 *
 * The wheel never wraps: when a sweep ends, every bucket due by the
 * clock has been emptied, so wb * wg_us + inactive_us > now, and every
 * time in the cache is at most now: within 17 buckets of wb. A stale
 * entry's new bucket, while the next sweep empties buckets, is within
 * that span too (wb only grows; no entry was seen after the last
 * packet), and so is a new entry's after the sweep its packet runs. A
 * clock that jumps far ahead only makes every bucket due. */

static uint64_t bucket_of(const struct fnf_cache *c, uint64_t t)
{
	return t / c->wg_us;
}

static void wheel_push(struct fnf_cache *c, uint32_t i, uint64_t b)
{
	uint32_t *h = &c->wheel[b % WHEEL_SLOTS];
	struct fent *e = E(c, i);
	e->lprev = NIL;
	e->lnext = *h;
	if (*h)
		E(c, *h)->lprev = i;
	*h = i;
}

/* Put entry i, last seen at t (the cache's clock: no entry is later), in
 * the idle structure. */
static void idle_insert(struct fnf_cache *c, uint32_t i, uint64_t t)
{
	uint64_t b = bucket_of(c, t);
	if (b < c->wb) { /* buckets were emptied early: t is the latest time of all */
		if (!c->due.head && t + c->inactive_us < c->sweep_at)
			c->sweep_at = t + c->inactive_us;
		E(c, i)->hash |= HASH_DUE;
		due_append(c, &c->due, i);
		return;
	}
	if (!c->wn) {
		c->wb = b;
		if (b * c->wg_us + c->inactive_us < c->sweep_at)
			c->sweep_at = b * c->wg_us + c->inactive_us;
	}
	wheel_push(c, i, b);
	c->wn++;
}

static void idle_remove(struct fnf_cache *c, uint32_t i)
{
	struct fent *e = E(c, i);
	if (e->hash & HASH_DUE) {
		e->hash &= HASH_BITS;
		due_remove(c, &c->due, i);
		return;
	}
	uint32_t pr = e->lprev, nx = e->lnext;
	if (pr) {
		E(c, pr)->lnext = nx;
	} else { /* a bucket's head: which one */
		unsigned s = 0;
		while (s < WHEEL_SLOTS && c->wheel[s] != i)
			s++;
		if (s < WHEEL_SLOTS)
			c->wheel[s] = nx;
	}
	if (nx)
		E(c, nx)->lprev = pr;
	e->lprev = e->lnext = NIL;
	c->wn--;
}

static int wsort_cmp(const void *a, const void *b)
{
	const struct wsort *x = a, *y = b;
	if (x->k != y->k)
		return x->k < y->k ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* Sort the n entries in c->wsort and append them to the due list. */
static void due_append_sorted(struct fnf_cache *c, size_t n)
{
	if (n > 1)
		qsort(c->wsort, n, sizeof(*c->wsort), wsort_cmp);
	if (n && !c->due.head && c->wsort[0].k + c->inactive_us < c->sweep_at)
		c->sweep_at = c->wsort[0].k + c->inactive_us;
	for (size_t j = 0; j < n; j++) {
		uint32_t i = c->wsort[j].i;
		E(c, i)->hash |= HASH_DUE;
		due_append(c, &c->due, i);
	}
}

/* Empty bucket wb: stale entries to their buckets, the rest sorted onto
 * the due list; then wb moves on to the next bucket that holds any. */
static void wheel_advance(struct fnf_cache *c)
{
	uint32_t *h = &c->wheel[c->wb % WHEEL_SLOTS];
	uint64_t end = (c->wb + 1) * c->wg_us;
	size_t n = 0;
	uint32_t i = *h;
	*h = NIL;
	while (i) {
		struct fent *e = E(c, i);
		uint32_t nx = e->lnext;
		if (nx)
			__builtin_prefetch(E(c, nx));
		if (e->last_us >= end) {
			wheel_push(c, i, bucket_of(c, e->last_us)); /* within the span (see above) */
		} else {
			c->wsort[n].k = e->last_us;
			c->wsort[n++].i = i;
		}
		i = nx;
	}
	c->wn -= (uint32_t)n;
	due_append_sorted(c, n);
	c->wb++;
	while (c->wn && !c->wheel[c->wb % WHEEL_SLOTS])
		c->wb++;
}

/* Everything in the wheel onto the due list; wb past the clock. */
static void wheel_to_due(struct fnf_cache *c)
{
	size_t n = 0;
	for (unsigned s = 0; s < WHEEL_SLOTS; s++) {
		for (uint32_t i = c->wheel[s]; i; i = E(c, i)->lnext) {
			c->wsort[n].k = E(c, i)->last_us;
			c->wsort[n++].i = i;
		}
		c->wheel[s] = NIL;
	}
	c->wn = 0;
	due_append_sorted(c, n);
	c->wb = bucket_of(c, c->st.now_us) + 1;
}

/* The entry seen longest ago (emergency expiry), NIL if none. */
static uint32_t idle_oldest(struct fnf_cache *c)
{
	while (!c->due.head && c->wn)
		wheel_advance(c);
	return c->due.head;
}

/* A packet at t for entry i, which was in the idle structure. */
static inline void idle_touch(struct fnf_cache *c, uint32_t i, uint64_t t)
{
	if (E(c, i)->hash & HASH_DUE) {
		idle_remove(c, i);
		idle_insert(c, i, t);
	}
}

/* --- construction -------------------------------------------------------- */

/* Zeroed memory backed as it is first touched. A table of 1 MiB or more
 * is mapped on a 2 MiB boundary and rounded up to whole 2 MiB pages, on
 * huge pages where allowed: the hash table and the pool are read at
 * random, one TLB entry per 2 MiB instead of per 4 KiB. *maplen: the
 * length mapped (for munmap). */
#define HUGE_SZ ((size_t)2 << 20)
static void *map_zeroed(size_t len, size_t *maplen)
{
	*maplen = len;
	if (len < HUGE_SZ / 2) {
		void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	size_t want = (len + HUGE_SZ - 1) / HUGE_SZ * HUGE_SZ;
	uint8_t *p = mmap(NULL, want + HUGE_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	uintptr_t a = ((uintptr_t)p + HUGE_SZ - 1) & ~(uintptr_t)(HUGE_SZ - 1);
	uint8_t *q = (uint8_t *)a;
	if (q > p)
		munmap(p, (size_t)(q - p));
	size_t tail = (size_t)(p + want + HUGE_SZ - (q + want));
	if (tail)
		munmap(q + want, tail);
#ifdef MADV_HUGEPAGE
	madvise(q, want, MADV_HUGEPAGE);
#endif
	*maplen = want;
	return q;
}

struct fnf_cache *fnf_new(const struct fnf_def *d, const struct fnf_cfg *cfg, fnf_emit_fn emit, void *arg)
{
	if (!d || !cfg || !emit || d->nkey == 0 || d->lay.n != d->n || cfg->entries < 1 ||
	    cfg->entries > CACHE_ENTRIES_MAX || cfg->active_s < 1 || cfg->inactive_s < 1 ||
	    cfg->type > CACHE_IMMEDIATE) {
		errno = EINVAL;
		return NULL;
	}
	struct fnf_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->d = *d;
	c->cfg = *cfg;
	c->emit = emit;
	c->emit_arg = arg;
	c->seed = hash_random_seed();
	fnf_set_timeouts(c, cfg->active_s, cfg->inactive_s);
	c->keyr = (uint16_t)((d->key_len + 7u) / 8u * 8u);
	c->key_words = (uint8_t)(c->keyr / 8u);
	for (unsigned i = 0; i < d->n; i++) {
		const struct fnf_field *f = &d->f[i];
		enum fnf_src src = (enum fnf_src)f->src;
		uint8_t bs = (uint8_t)bytes_size(src);
		if (f->op == FNF_KEY) {
			c->kop[c->nkop++] = (struct kop){ f->src, (uint8_t)f->len, bs != 0, f->off };
			continue;
		}
		if (record_src(src))
			continue;
		c->sop[c->nsop++] = (struct aop){ f->src, f->op, bs, f->off };
		if (!bs && f->op != FNF_FIRST)
			c->uop[c->nuop++] = (struct aop){ f->src, f->op, 0, f->off };
	}
	for (unsigned i = 0; i < c->nkop; i++)
		c->kv[i] = compile_val((enum fnf_src)c->kop[i].src, c->kop[i].len, true, FNF_KEY, c->kop[i].off,
		                       d->flags);
	for (unsigned i = 0; i < c->nuop; i++)
		c->uv[i] = compile_val((enum fnf_src)c->uop[i].src, 8, false, (enum fnf_op)c->uop[i].op,
		                       c->uop[i].off, d->flags);
	c->kroom = c->keyr;
	gather_plan(c);
	if (c->gather) {
		if (c->nword * 8u > c->kroom)
			c->kroom = (uint16_t)(c->nword * 8u);
		c->keyr = (uint16_t)(c->nword * 8u);
		c->key_words = c->nword;
	}
	c->toff = sizeof(struct fent) + c->kroom + d->acc_len;
	c->stride = c->toff + sizeof(struct ftail);
	uint32_t nb = 1;
	while (nb < cfg->entries)
		nb <<= 1;
	c->nbucket_mask = nb - 1;
	/* the immediate cache needs no table: one scratch entry is its whole pool */
	size_t entries = cfg->type == CACHE_IMMEDIATE ? 1 : cfg->entries;
	c->pool_bytes = (entries + 1) * c->stride;
	c->bucket_bytes = cfg->type == CACHE_IMMEDIATE ? sizeof(uint32_t) : (size_t)nb * sizeof(uint32_t);
	c->pool = map_zeroed(c->pool_bytes, &c->pool_map);
	c->bucket = map_zeroed(c->bucket_bytes, &c->bucket_map);
	c->scratch = calloc(CACHE_BATCH_MAX, c->kroom ? c->kroom : 8);
	if (cfg->type == CACHE_NORMAL) {
		c->wheel = calloc(WHEEL_SLOTS, sizeof(*c->wheel));
		c->wsort = malloc((size_t)cfg->entries * sizeof(*c->wsort)); /* touched as used */
	}
	if (!c->pool || !c->bucket || !c->scratch || (cfg->type == CACHE_NORMAL && (!c->wheel || !c->wsort))) {
		fnf_free(c);
		errno = ENOMEM;
		return NULL;
	}
	c->emergency_at = expiry_emergency_at(cfg->entries);
	return c;
}

void fnf_free(struct fnf_cache *c)
{
	if (!c)
		return;
	if (c->pool)
		munmap(c->pool, c->pool_map);
	if (c->bucket)
		munmap(c->bucket, c->bucket_map);
	free(c->scratch);
	free(c->wheel);
	free(c->wsort);
	free(c);
}

void fnf_set_timeouts(struct fnf_cache *c, uint32_t active_s, uint32_t inactive_s)
{
	c->cfg.active_s = active_s;
	c->cfg.inactive_s = inactive_s;
	c->active_us = (uint64_t)active_s * 1000000u;
	c->inactive_us = (uint64_t)inactive_s * 1000000u;
	uint64_t g = (c->inactive_us + 15u) / 16u;
	bool moved = c->wheel && c->wg_us && g != c->wg_us;
	c->wg_us = g;
	if (moved)
		wheel_to_due(c); /* the buckets' width changes: nothing stays in them */
	c->sweep_at = 0; /* deadlines moved: the next sweep looks */
}

void fnf_set_generic(struct fnf_cache *c, bool on)
{
	c->generic = on;
	if (on && c->gather) {
		/* back to wire-form keys (room for them was kept) */
		c->gather = false;
		c->keyr = (uint16_t)((c->d.key_len + 7u) / 8u * 8u);
		c->key_words = (uint8_t)(c->keyr / 8u);
	}
}

bool fnf_gathered(const struct fnf_cache *c)
{
	return c->gather;
}

const struct fnf_def *fnf_def_of(const struct fnf_cache *c)
{
	return &c->d;
}

const struct fnf_cfg *fnf_config(const struct fnf_cache *c)
{
	return &c->cfg;
}

const struct fnf_stats *fnf_stats(const struct fnf_cache *c)
{
	return &c->st;
}

void fnf_stats_clear(struct fnf_cache *c)
{
	uint32_t in_use = c->st.in_use;
	uint64_t now = c->st.now_us;
	memset(&c->st, 0, sizeof(c->st));
	c->st.in_use = in_use;
	c->st.high_water = in_use;
	c->st.now_us = now;
	c->st.cleared_us = now;
}

size_t fnf_entry_size(const struct fnf_cache *c)
{
	return c->stride;
}

size_t fnf_memory(const struct fnf_cache *c)
{
	size_t m = c->pool_bytes + c->bucket_bytes;
	if (c->wsort) /* reserved, touched as buckets are sorted */
		m += (size_t)c->cfg.entries * sizeof(*c->wsort) + WHEEL_SLOTS * sizeof(*c->wheel);
	return m;
}

/* --- pool ----------------------------------------------------------------- */

static uint32_t entry_alloc(struct fnf_cache *c)
{
	uint32_t i = c->free_head;
	if (i != NIL) {
		c->free_head = E(c, i)->hnext;
	} else {
		/* no entry was ever freed: entries 1..in_use are the ones in use */
		if (c->st.in_use >= c->cfg.entries)
			return NIL;
		i = c->st.in_use + 1;
	}
	c->st.in_use++;
	if (c->st.in_use > c->st.high_water)
		c->st.high_water = c->st.in_use;
	return i;
}

static void entry_release(struct fnf_cache *c, uint32_t i)
{
	struct fent *e = E(c, i);
	uint32_t *pp = &c->bucket[e->hash & c->nbucket_mask];
	while (*pp != i)
		pp = &E(c, *pp)->hnext;
	*pp = e->hnext;
	if (c->cfg.type == CACHE_NORMAL)
		idle_remove(c, i);
	if (e->packets)
		act_remove(c, &c->act, i);
	e->hnext = c->free_head;
	c->free_head = i;
	c->st.in_use--;
}

/* --- records ---------------------------------------------------------------- */

/* The record of entry e (key k, accumulators a) as a genrec; vals has
 * room for d->n values. */
static void make_genrec(const struct fnf_cache *c, const struct fent *e, uint64_t first_us, const uint8_t *k,
                        const uint64_t *a, struct genrec_val *vals, struct genrec *r)
{
	const struct fnf_def *d = &c->d;
	for (unsigned i = 0; i < d->n; i++) {
		const struct fnf_field *f = &d->f[i];
		struct genrec_val *v = &vals[i];
		v->p = NULL;
		v->u = 0;
		if (f->op == FNF_KEY) {
			v->p = k + f->off;
			continue;
		}
		switch (f->src) {
		case FNF_S_PACKETS: v->u = e->packets; break;
		case FNF_S_BYTES: v->u = e->bytes; break;
		case FNF_S_FLOWS: v->u = 1; break;
		case FNF_S_FIRST: v->u = first_us; break;
		case FNF_S_LAST: v->u = e->last_us; break;
		default:
			if (bytes_size((enum fnf_src)f->src))
				v->p = (const uint8_t *)a + f->off;
			else
				v->u = a[f->off / 8];
			break;
		}
	}
	r->lay = &d->lay;
	r->v = vals;
	r->first_us = first_us;
	r->last_us = e->last_us;
	r->packets = e->packets;
	r->bytes = e->bytes;
}

static void emit_entry(struct fnf_cache *c, uint32_t i, enum flow_end why)
{
	struct genrec_val vals[FNF_FIELDS_MAX];
	struct genrec r;
	uint8_t wk[FNF_KEY_MAX];
	make_genrec(c, E(c, i), TL(c, i)->first_us, wire_key(c, key_at(c, i), wk), acc_at(c, i), vals, &r);
	r.end = (uint8_t)why;
	c->st.records[why]++;
	c->emit(c->emit_arg, &r);
}

/* Export entry i's open record; the entry stays, empty. */
static void entry_export(struct fnf_cache *c, uint32_t i, enum flow_end why)
{
	struct fent *e = E(c, i);
	act_remove(c, &c->act, i);
	emit_entry(c, i, why);
	e->packets = 0;
	e->bytes = 0;
}

static void entry_end(struct fnf_cache *c, uint32_t i, enum flow_end why)
{
	if (E(c, i)->packets)
		entry_export(c, i, why);
	else
		c->st.empty_reclaimed++;
	entry_release(c, i);
}

/* First packet of a record: the accumulators start from its values. */
static void rec_start(const struct fnf_cache *c, uint32_t ei, const struct cache_pkt *p, uint8_t sampler,
                      uint64_t t)
{
	struct fent *e = E(c, ei);
	uint64_t *a = acc_at(c, ei);
	e->packets = 0;
	e->bytes = 0;
	TL(c, ei)->first_us = t;
	for (unsigned i = 0; i < c->nsop; i++) {
		const struct aop *o = &c->sop[i];
		if (o->bytes)
			memcpy((uint8_t *)a + o->off, bytes_of(p, (enum fnf_src)o->src), o->bytes);
		else
			a[o->off / 8] = o->op == FNF_SUM ? 0 : num_of(p, (enum fnf_src)o->src, c->d.flags, sampler);
	}
}

static inline __attribute__((always_inline)) void acc_op(uint64_t *x, uint8_t op, uint64_t v)
{
	switch (op) {
	case FNF_SUM: *x += v; break;
	case FNF_MIN: if (v < *x) *x = v; break;
	case FNF_MAX: if (v > *x) *x = v; break;
	case FNF_LAST: *x = v; break;
	case FNF_OR: *x |= v; break;
	default: break;
	}
}

/* Count one packet into the record. */
static inline __attribute__((always_inline)) void rec_add(const struct fnf_cache *c, struct fent *e, uint64_t *a, const struct cache_pkt *p,
                    uint8_t sampler, uint64_t t)
{
	e->packets++;
	e->bytes += p->pi.ip_len;
	e->last_us = t;
	if (c->generic) {
		for (unsigned i = 0; i < c->nuop; i++) {
			const struct aop *o = &c->uop[i];
			acc_op(&a[o->off / 8], o->op, num_of(p, (enum fnf_src)o->src, c->d.flags, sampler));
		}
		return;
	}
	for (unsigned i = 0; i < c->nuop; i++) {
		const struct vop *o = &c->uv[i];
		acc_op(&a[o->off / 8], o->op, val_of(o, p, c->d.flags, sampler));
	}
}

/* The packet's key into k (keyr bytes: the pad after key_len is zero),
 * by the compiled fields: a guarded load and store each. */
static inline __attribute__((always_inline)) void key_pack_fast(const struct fnf_cache *c, uint8_t *k,
                                                                const struct cache_pkt *p, uint8_t sampler)
{
	const uint8_t *pb = (const uint8_t *)p;
	memset(k + c->keyr - 8, 0, 8);
	for (unsigned i = 0; i < c->nkop; i++) {
		const struct vop *o = &c->kv[i];
		uint8_t *d = k + o->off;
		bool ok = guard_ok(o, pb);
		const uint8_t *m = ok ? pb + o->poff : zero16;
		switch (o->kind) {
		case V_U8:
			*d = ok ? pb[o->poff] : 0;
			break;
		case V_U16: {
			uint16_t x;
			memcpy(&x, pb + o->poff, 2);
			poke_u16(d, ok ? x : 0);
			break;
		}
		case V_U32: {
			uint32_t x;
			memcpy(&x, pb + o->poff, 4);
			poke_u32(d, ok ? x : 0);
			break;
		}
		case V_B4: memcpy(d, m, 4); break;
		case V_B6: memcpy(d, m, 6); break;
		case V_B16: memcpy(d, m, 16); break;
		case V_BN: memcpy(d, m, o->len); break;
		case V_ZERO: memset(d, 0, o->len); break;
		default:
			if (bytes_size((enum fnf_src)o->src))
				put_bytes(d, bytes_of(p, (enum fnf_src)o->src), o->len);
			else
				put_sat(d, o->len, num_of(p, (enum fnf_src)o->src, c->d.flags, sampler));
			break;
		}
	}
}

/* The reference path: each field through bytes_of / num_of. */
static void key_pack(const struct fnf_cache *c, uint8_t *k, const struct cache_pkt *p, uint8_t sampler)
{
	memset(k + c->keyr - 8, 0, 8);
	for (unsigned i = 0; i < c->nkop; i++) {
		const struct kop *o = &c->kop[i];
		if (o->bytes)
			put_bytes(k + o->off, bytes_of(p, (enum fnf_src)o->src), o->len);
		else
			put_sat(k + o->off, o->len, num_of(p, (enum fnf_src)o->src, c->d.flags, sampler));
	}
}

static uint32_t key_hash(const struct fnf_cache *c, const uint8_t *k)
{
	uint64_t h = hash_bytes(k, c->keyr, c->seed);
	return (uint32_t)(h ^ (h >> 32)) & HASH_BITS;
}

/* Keys are keyr bytes, zero-padded and 8-byte aligned: compared a word at
 * a time (memcpy loads: no aliasing assumptions). */
static inline bool key_eq_n(const uint8_t *a, const uint8_t *b, unsigned words)
{
	uint64_t diff = 0;
	for (unsigned i = 0; i < words; i++) {
		uint64_t x, y;
		memcpy(&x, a + 8 * i, 8);
		memcpy(&y, b + 8 * i, 8);
		diff |= x ^ y;
	}
	return diff == 0;
}

/* --- expiry ---------------------------------------------------------------- */

/* Records leave the due and active lists' heads in deadline order, and
 * a head only gets a later deadline (a later entry, or a refreshed one,
 * takes its place) unless a list was empty, the wheel gains its first
 * entry or the timeouts change: so nothing is due, and no bucket needs
 * emptying, before sweep_at (next_look when the last sweep ended,
 * lowered by those three cases, reset by fnf_set_timeouts). A packet
 * then costs one comparison, not a look at the lists. */
static void sweep_lists(struct fnf_cache *c);
static uint64_t next_look(const struct fnf_cache *c);

static inline __attribute__((always_inline)) void sweep(struct fnf_cache *c)
{
	if (c->st.now_us >= c->sweep_at)
		sweep_lists(c);
}

static void sweep_lists(struct fnf_cache *c)
{
	uint64_t now = c->st.now_us;
	bool any = false;
	if (c->cfg.type == CACHE_NORMAL) {
		/* buckets whose first deadline has come join the due list (all
		 * of the due list is older than any of them) */
		while (c->wn && c->wb * c->wg_us + c->inactive_us <= now)
			wheel_advance(c);
		while (c->due.head) {
			uint32_t i = c->due.head;
			struct fent *e = E(c, i);
			uint64_t idle_at = e->last_us + c->inactive_us;
			if (idle_at > now)
				break;
			entry_end(c, i, expiry_idle_reason(e->packets, TL(c, i)->first_us, c->active_us, idle_at));
			any = true;
		}
	}
	while (c->act.head) {
		uint32_t i = c->act.head;
		if (TL(c, i)->first_us + c->active_us > now)
			break;
		entry_export(c, i, FLOW_END_ACTIVE);
		any = true;
	}
	if (any)
		c->st.ager_polls++;
	c->sweep_at = next_look(c);
}

static void clock_advance(struct fnf_cache *c, uint64_t t)
{
	if (!c->clock_set) {
		c->clock_set = true;
		c->st.now_us = t;
		c->st.cleared_us = t;
		return;
	}
	if (t < c->st.now_us) {
		c->st.clock_backsteps++;
		return;
	}
	c->st.now_us = t;
}

void fnf_expire(struct fnf_cache *c, uint64_t now_us)
{
	clock_advance(c, now_us);
	if (c->cfg.type != CACHE_IMMEDIATE)
		sweep(c);
}

/* When the cache must next be looked at: the due list's head deadline,
 * the wheel's next bucket's first deadline, the active list's head
 * deadline. */
static uint64_t next_look(const struct fnf_cache *c)
{
	uint64_t d = UINT64_MAX;
	if (c->cfg.type == CACHE_NORMAL) {
		if (c->due.head)
			d = E(c, c->due.head)->last_us + c->inactive_us;
		if (c->wn && c->wb * c->wg_us + c->inactive_us < d)
			d = c->wb * c->wg_us + c->inactive_us;
	}
	if (c->act.head) {
		uint64_t a = TL(c, c->act.head)->first_us + c->active_us;
		if (a < d)
			d = a;
	}
	return d;
}

/* Exact, for tests and show: the wheel's entries are looked at one by one. */
uint64_t fnf_next_deadline(const struct fnf_cache *c)
{
	uint64_t d = UINT64_MAX;
	if (c->cfg.type == CACHE_NORMAL) {
		if (c->due.head)
			d = E(c, c->due.head)->last_us + c->inactive_us;
		for (unsigned s = 0; s < WHEEL_SLOTS; s++)
			for (uint32_t i = c->wheel[s]; i; i = E(c, i)->lnext)
				if (E(c, i)->last_us + c->inactive_us < d)
					d = E(c, i)->last_us + c->inactive_us;
	}
	if (c->act.head) {
		uint64_t a = TL(c, c->act.head)->first_us + c->active_us;
		if (a < d)
			d = a;
	}
	return d;
}

void fnf_flush(struct fnf_cache *c, enum flow_end why)
{
	if (c->cfg.type == CACHE_IMMEDIATE)
		return;
	/* Everything goes, as in cache_flush: each entry is exported and freed
	 * in place, and the lists are emptied at the end, instead of unlinking
	 * two lists per entry (random neighbours). Same order and counts as
	 * entry_end one by one; the entry a few buckets ahead is prefetched. */
	enum { AHEAD = 8 };
	for (uint32_t b = 0; b <= c->nbucket_mask; b++) {
		if (b + AHEAD <= c->nbucket_mask) {
			uint32_t a = c->bucket[b + AHEAD];
			if (a) {
				__builtin_prefetch(E(c, a));
				__builtin_prefetch((const char *)E(c, a) + 64);
			}
		}
		uint32_t i = c->bucket[b];
		c->bucket[b] = NIL;
		while (i) {
			struct fent *e = E(c, i);
			uint32_t next = e->hnext;
			if (e->packets) {
				emit_entry(c, i, why);
				e->packets = 0;
				e->bytes = 0;
			} else {
				c->st.empty_reclaimed++;
			}
			e->hash &= HASH_BITS;
			e->lprev = e->lnext = NIL;
			TL(c, i)->aprev = TL(c, i)->anext = NIL;
			e->hnext = c->free_head;
			c->free_head = i;
			c->st.in_use--;
			i = next;
		}
	}
	c->due.head = c->due.tail = NIL;
	c->act.head = c->act.tail = NIL;
	if (c->wheel)
		memset(c->wheel, 0, WHEEL_SLOTS * sizeof(*c->wheel));
	c->wn = 0;
	c->sweep_at = UINT64_MAX;
}

void fnf_foreach(const struct fnf_cache *c, size_t max, void (*fn)(void *arg, const struct genrec *r), void *arg)
{
	size_t n = 0;
	for (uint32_t i = c->act.head; i && (!max || n < max); i = TL(c, i)->anext, n++) {
		struct genrec_val vals[FNF_FIELDS_MAX];
		struct genrec r;
		uint8_t wk[FNF_KEY_MAX];
		make_genrec(c, E(c, i), TL(c, i)->first_us, wire_key(c, key_at(c, i), wk), acc_at(c, i), vals, &r);
		r.end = FLOW_END_MAX;
		fn(arg, &r);
	}
}

/* --- metering --------------------------------------------------------------- */

static void packet_keyed(struct fnf_cache *c, const struct cache_pkt *p, const uint8_t *k, uint32_t h32,
                         uint8_t sampler)
{
	clock_advance(c, p->t_us);
	uint64_t t = c->st.now_us;
	c->st.packets++;
	c->st.bytes += p->pi.ip_len;

	if (c->cfg.type == CACHE_IMMEDIATE) {
		/* entry 1 of the one-entry pool is the scratch record */
		struct fent *e = E(c, 1);
		memcpy(key_at(c, 1), k, c->keyr);
		rec_start(c, 1, p, sampler, t);
		rec_add(c, e, acc_at(c, 1), p, sampler, t);
		c->st.flows_added++;
		emit_entry(c, 1, FLOW_END_IMMEDIATE);
		return;
	}

	sweep(c);

	/* the pool and its geometry in locals: stores into entries could
	 * otherwise alias the cache's own fields and reload them */
	uint8_t *const pool = c->pool;
	const size_t stride = c->stride;
	const unsigned kw = c->key_words;
#define EP(x) ((struct fent *)(void *)(pool + (size_t)(x) * stride))
	uint32_t *head = &c->bucket[h32 & c->nbucket_mask];
	uint32_t i;
	for (i = *head; i; i = EP(i)->hnext) {
		struct fent *e = EP(i);
		if (((e->hash ^ h32) & HASH_BITS) == 0 && key_eq_n((const uint8_t *)(e + 1), k, kw))
			break;
	}
	if (i && c->cfg.type == CACHE_NORMAL && EP(i)->packets) {
		/* the common case: a packet of an open record of the normal
		 * cache. Its time is all the idle expiry needs (see "idle
		 * expiry"), unless the entry was on the due list (a deadline
		 * that moves on only gets later: sweep_at stays right). */
		struct fent *e = EP(i);
		rec_add(c, e, (uint64_t *)(void *)((uint8_t *)(e + 1) + c->kroom), p, sampler, t);
		if (__builtin_expect(e->hash & HASH_DUE, 0))
			idle_touch(c, i, t);
		if ((c->d.flags & FNF_D_TCP_END) && expiry_tcp_end(p->pi.proto, p->pi.tcp_flags))
			entry_end(c, i, FLOW_END_EOF);
		return;
	}
#undef EP
	if (!i) {
		if (c->cfg.type == CACHE_NORMAL) {
			uint32_t old;
			while (c->st.in_use >= c->emergency_at && (old = idle_oldest(c)))
				entry_end(c, old, FLOW_END_EMERGENCY);
		}
		i = entry_alloc(c);
		if (!i) {
			c->st.flows_dropped_full++;
			c->st.packets_dropped_full++;
			c->st.bytes_dropped_full += p->pi.ip_len;
			return;
		}
		struct fent *e = E(c, i);
		memset(e, 0, sizeof(*e));
		memset(TL(c, i), 0, sizeof(struct ftail));
		memcpy(key_at(c, i), k, c->keyr);
		e->hash = h32;
		e->hnext = *head;
		*head = i;
		if (c->cfg.type == CACHE_NORMAL) {
			e->last_us = t;
			idle_insert(c, i, t);
		}
	}
	struct fent *e = E(c, i);
	if (e->packets == 0) {
		rec_start(c, i, p, sampler, t);
		act_append(c, &c->act, i);
		if (c->act.head == i && t + c->active_us < c->sweep_at)
			c->sweep_at = t + c->active_us;
		c->st.flows_added++;
	}
	rec_add(c, e, acc_at(c, i), p, sampler, t);
	if (c->cfg.type == CACHE_NORMAL) {
		idle_touch(c, i, t);
		if ((c->d.flags & FNF_D_TCP_END) && expiry_tcp_end(p->pi.proto, p->pi.tcp_flags))
			entry_end(c, i, FLOW_END_EOF);
	}
}

void fnf_packets(struct fnf_cache *c, const struct cache_pkt *const *v, size_t n, uint8_t sampler)
{
	uint32_t h[CACHE_BATCH_MAX];
	if (n > CACHE_BATCH_MAX)
		abort(); /* a caller bug */
	size_t ks = c->keyr ? c->keyr : 8;
	/* Stage 1: keys and hashes; prefetch the bucket heads. */
	for (size_t j = 0; j < n; j++) {
		uint8_t *k = c->scratch + j * ks;
		if (c->gather)
			key_gather(c, k, v[j]);
		else if (c->generic)
			key_pack(c, k, v[j], sampler);
		else
			key_pack_fast(c, k, v[j], sampler);
		if (c->cfg.type != CACHE_IMMEDIATE) {
			h[j] = key_hash(c, k);
			__builtin_prefetch(&c->bucket[h[j] & c->nbucket_mask]);
		} else {
			h[j] = 0;
		}
	}
	if (c->cfg.type != CACHE_IMMEDIATE) {
		/* Stage 2: prefetch each chain's first entry (a hint only). */
		for (size_t j = 0; j < n; j++) {
			uint32_t e = c->bucket[h[j] & c->nbucket_mask];
			if (e) {
				__builtin_prefetch(E(c, e));
				__builtin_prefetch((const char *)E(c, e) + 64);
			}
		}
	}
	/* Stage 3: meter in order. */
	for (size_t j = 0; j < n; j++)
		packet_keyed(c, v[j], c->scratch + j * ks, h[j], sampler);
}
