/* template.c — template layout, the flowrec record writer/reader, the
 * field iterator and the minimal template store. */
#include "export/template.h"
#include "export/tmpl_enc.h"

#include <stdlib.h>
#include <string.h>

#include "lib/bytes.h"

#define AS_TRANS 23456u /* RFC 6793: a 4-byte AS in a 2-byte field */

int tmpl_init(struct tmpl *t, uint16_t id, const struct tmpl_field *f, size_t n, size_t scope)
{
	if (n > TMPL_MAX_FIELDS)
		return ERR_UNSUPP;
	if (scope > n)
		return ERR_FORMAT;
	memset(t, 0, sizeof(*t));
	t->id = id;
	t->nfields = (uint16_t)n;
	t->scope_count = (uint16_t)scope;
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		t->f[i] = f[i];
		t->f[i].off = t->varlen ? TMPL_OFF_VAR : (uint16_t)off;
		if (f[i].len == IE_VARLEN) {
			t->varlen = 1;
			off += 1;
		} else {
			off += f[i].len;
		}
		if (off > 0xffff)
			return ERR_FORMAT;
	}
	if (off == 0)
		return ERR_FORMAT; /* an empty record would never advance a reader */
	t->minlen = (uint16_t)off;
	return ERR_OK;
}

int tmpl_find(const struct tmpl *t, uint16_t ie)
{
	for (unsigned i = 0; i < t->nfields; i++)
		if (t->f[i].ie == ie && t->f[i].pen == 0)
			return (int)i;
	return -1;
}

void rec_iter_init(struct rec_iter *ri, const struct tmpl *t, const uint8_t *p, size_t len)
{
	ri->t = t;
	rbuf_init(&ri->rb, p, len);
	ri->i = 0;
}

int rec_iter_next(struct rec_iter *ri, struct rec_field *f)
{
	if (ri->i >= ri->t->nfields)
		return ERR_END;
	const struct tmpl_field *tf = &ri->t->f[ri->i];
	size_t n = tf->len;
	if (n == IE_VARLEN) { /* RFC 7011 §7: 1-byte length, or 255 then 2 bytes */
		uint8_t b;
		if (rbuf_get_u8(&ri->rb, &b) != ERR_OK)
			return ERR_TRUNC;
		n = b;
		if (b == 255) {
			uint16_t w;
			if (rbuf_get_u16(&ri->rb, &w) != ERR_OK)
				return ERR_TRUNC;
			n = w;
		}
	}
	const uint8_t *p = rbuf_take(&ri->rb, n);
	if (!p)
		return ERR_TRUNC;
	f->idx = ri->i;
	f->ie = tf->ie;
	f->pen = tf->pen;
	f->p = p;
	f->len = (uint16_t)n;
	f->scope = ri->i < ri->t->scope_count;
	ri->i++;
	return ERR_OK;
}

int tmpl_rec_len(const struct tmpl *t, const uint8_t *p, size_t avail, size_t *len)
{
	if (!t->varlen) {
		if (avail < t->minlen)
			return ERR_TRUNC;
		*len = t->minlen;
		return ERR_OK;
	}
	struct rec_iter ri;
	struct rec_field f;
	int rc;
	rec_iter_init(&ri, t, p, avail);
	while ((rc = rec_iter_next(&ri, &f)) == ERR_OK)
		;
	if (rc != ERR_END)
		return rc;
	*len = ri.rb.off;
	return ERR_OK;
}

/* ---- writer ---- */

static void put_uint(uint8_t *p, unsigned len, uint64_t v, struct rec_enc *c)
{
	if (len > 8) {
		memset(p, 0, len - 8);
		p += len - 8;
		len = 8;
	}
	if (len < 8 && v >> (len * 8)) {
		v = (1ull << (len * 8)) - 1;
		c->saturated++;
	}
	poke_uint(p, len, v);
}

static void put_addr(uint8_t *p, unsigned len, const uint8_t *a, unsigned alen)
{
	unsigned n = len < alen ? len : alen;
	memcpy(p, a, n);
	if (n < len)
		memset(p + n, 0, len - n);
}

static uint32_t sysup(uint64_t t_us, uint64_t boot_us)
{
	return t_us > boot_us ? (uint32_t)((t_us - boot_us) / 1000) : 0;
}

/* The one place that knows which flowrec field each IE carries (writing);
 * tmpl_enc.c compiles the plain ones ahead and calls this for the rest. */
void tmpl_put_field(uint8_t *p, uint16_t ie, unsigned len, const struct flowrec *r, struct rec_enc *c)
{
	uint64_t v;
	switch (ie) {
	case IE_sourceIPv4Address:
	case IE_sourceIPv6Address:
		put_addr(p, len, r->key.src, 16);
		return;
	case IE_destinationIPv4Address:
	case IE_destinationIPv6Address:
		put_addr(p, len, r->key.dst, 16);
		return;
	case IE_ipNextHopIPv4Address:
	case IE_ipNextHopIPv6Address:
		put_addr(p, len, r->nexthop, 16);
		return;
	case IE_bgpNextHopIPv4Address:
	case IE_bgpNextHopIPv6Address:
		put_addr(p, len, r->bgp_nexthop, 16);
		return;
	case IE_sourceTransportPort: v = r->key.sport; break;
	case IE_destinationTransportPort: v = r->key.dport; break;
	/* 32 is also v9's ICMP_TYPE for either family (nf9.c) */
	case IE_icmpTypeCodeIPv4: v = r->key.proto == 1 || r->key.proto == 58 ? r->key.dport : 0; break;
	case IE_icmpTypeCodeIPv6: v = r->key.proto == 58 ? r->key.dport : 0; break;
	case IE_protocolIdentifier: v = r->key.proto; break;
	case IE_ipClassOfService: v = r->key.tos; break;
	case IE_flowDirection: v = r->key.dir; break;
	case IE_ingressInterface: v = r->key.ifindex; break;
	case IE_egressInterface: v = r->if_out; break;
	case IE_ipVersion: v = r->key.af; break;
	case IE_packetDeltaCount: v = r->packets; break;
	case IE_octetDeltaCount: v = r->bytes; break;
	case IE_bgpSourceAsNumber:
	case IE_bgpDestinationAsNumber:
		v = ie == IE_bgpSourceAsNumber ? r->src_as : r->dst_as;
		if (len == 2 && v > 0xffff)
			v = AS_TRANS;
		break;
	case IE_tcpControlBits: v = r->tcp_flags; break;
	case IE_minimumTTL: v = r->min_ttl; break;
	case IE_maximumTTL: v = r->max_ttl; break;
	case IE_sourceIPv4PrefixLength:
	case IE_sourceIPv6PrefixLength: v = r->src_mask; break;
	case IE_destinationIPv4PrefixLength:
	case IE_destinationIPv6PrefixLength: v = r->dst_mask; break;
	case IE_minimumIpTotalLength: v = r->min_len; break;
	case IE_maximumIpTotalLength: v = r->max_len; break;
	case IE_flowEndReason: v = flow_end_ipfix((enum flow_end)r->end); break;
	case IE_flowStartSysUpTime: /* wraps modulo 2^32 like sysUpTime itself */
	case IE_flowEndSysUpTime:
		v = sysup(ie == IE_flowStartSysUpTime ? r->first_us : r->last_us, c->boot_us);
		if (len < 4) { /* the low bytes, as a narrower counter would wrap */
			poke_uint(p, len, v);
			return;
		}
		break; /* 4 bytes, or wider with leading zeros */
	case IE_flowStartSeconds: v = r->first_us / 1000000; break;
	case IE_flowEndSeconds: v = r->last_us / 1000000; break;
	case IE_flowStartMilliseconds: v = r->first_us / 1000; break;
	case IE_flowEndMilliseconds: v = r->last_us / 1000; break;
	case IE_flowStartMicroseconds: v = ie_ntp_from_us(r->first_us); break;
	case IE_flowEndMicroseconds: v = ie_ntp_from_us(r->last_us); break;
	case IE_flowDurationMilliseconds:
		v = r->last_us > r->first_us ? (r->last_us - r->first_us) / 1000 : 0;
		break;
	case IE_systemInitTimeMilliseconds: v = c->boot_us / 1000; break;
	case IE_samplerId:
	case IE_selectorId: v = c->sampler_id; break;
	case IE_ipv4RouterSc:
		if (len == 4) {
			poke_u32(p, c->router_sc);
			return;
		}
		v = 0;
		break;
	default: /* paddingOctets, and anything a flowrec does not carry */
		memset(p, 0, len);
		return;
	}
	put_uint(p, len, v, c);
}

int tmpl_put_flowrec(struct wbuf *w, const struct tmpl *t, const struct flowrec *r, struct rec_enc *c)
{
	if (t->varlen)
		return ERR_ARG;
	uint8_t *p = wbuf_reserve(w, t->minlen);
	if (!p)
		return ERR_NOSPACE;
	for (unsigned i = 0; i < t->nfields; i++) {
		const struct tmpl_field *f = &t->f[i];
		if (f->pen)
			memset(p + f->off, 0, f->len);
		else
			tmpl_put_field(p + f->off, f->ie, f->len, r, c);
	}
	return ERR_OK;
}

int tmpl_init_layout(struct tmpl *t, uint16_t id, const struct genrec_layout *lay, int v9, size_t *bad)
{
	struct tmpl_field f[TMPL_MAX_FIELDS];
	if (lay->n > TMPL_MAX_FIELDS)
		return ERR_UNSUPP;
	for (size_t i = 0; i < lay->n; i++) {
		const struct ie_info *ie = ie_by_id(lay->f[i].ie);
		if (!ie || (v9 && !ie->v9)) {
			if (bad)
				*bad = i;
			return ERR_UNSUPP;
		}
		uint16_t fid = v9 ? ie->v9 : ie->id;
		/* IPFIX names a record's sampler by selectorId, the scope of
		 * the sampler options (RFC 5476 selector reports, exporter.c),
		 * so a collector can join the two; samplerId (48) is v9's
		 * FLOW_SAMPLER_ID, as in Cisco's v9 sampler options */
		if (!v9 && fid == IE_samplerId)
			fid = IE_selectorId;
		f[i] = (struct tmpl_field){ fid, lay->f[i].len, 0, 0 };
	}
	int rc = tmpl_init(t, id, f, lay->n, 0);
	if (rc == ERR_OK && v9)
		t->flags = TMPL_F_V9;
	return rc;
}

/* A time value (us since 1970) in the form its IE has. */
static void put_time(uint8_t *p, uint16_t ie, unsigned len, uint64_t us, struct rec_enc *c)
{
	switch (ie) {
	case IE_flowStartSysUpTime:
	case IE_flowEndSysUpTime: /* wraps modulo 2^32 like sysUpTime itself */
		poke_uint(p, len < 4 ? len : 4, sysup(us, c->boot_us));
		if (len > 4)
			memset(p + 4, 0, len - 4);
		return;
	case IE_flowStartSeconds:
	case IE_flowEndSeconds:
	case IE_observationTimeSeconds:
		put_uint(p, len, us / 1000000, c);
		return;
	case IE_flowStartMicroseconds:
	case IE_flowEndMicroseconds:
	case IE_flowStartNanoseconds:
	case IE_flowEndNanoseconds:
	case IE_observationTimeMicroseconds: /* dateTimeMicroseconds: NTP format (RFC 7011 §6.1.9) */
	case IE_observationTimeNanoseconds:
		put_uint(p, len, ie_ntp_from_us(us), c);
		return;
	default: /* dateTimeMilliseconds, and any other time: ms since 1970 */
		put_uint(p, len, us / 1000, c);
		return;
	}
}

/* A record with variable-length fields (RFC 7011 §7): each is its
 * length (1 byte, or 255 and 2 bytes from 255 on) then v.u bytes of v.p;
 * the fixed fields are written as for a fixed template, in order. */
static int put_genrec_var(struct wbuf *w, const struct tmpl *t, const struct genrec *r, struct rec_enc *c)
{
	size_t total = 0;
	for (unsigned i = 0; i < t->nfields; i++) {
		if (t->f[i].len != IE_VARLEN) {
			total += t->f[i].len;
			continue;
		}
		uint64_t n = r->v[i].u;
		if (r->lay->f[i].kind != GENREC_BYTES || n > 0xffff || (n && !r->v[i].p))
			return ERR_ARG;
		total += (n < 255 ? 1 : 3) + n;
	}
	if (total > 0xffff)
		return ERR_ARG;
	uint8_t *p = wbuf_reserve(w, total);
	if (!p)
		return ERR_NOSPACE;
	for (unsigned i = 0; i < t->nfields; i++) {
		const struct tmpl_field *f = &t->f[i];
		const struct genrec_val *v = &r->v[i];
		if (f->len == IE_VARLEN) {
			size_t n = (size_t)v->u;
			if (n < 255) {
				*p++ = (uint8_t)n;
			} else {
				*p++ = 255;
				poke_u16(p, (uint16_t)n);
				p += 2;
			}
			if (n)
				memcpy(p, v->p, n);
			p += n;
			continue;
		}
		switch (r->lay->f[i].kind) {
		case GENREC_BYTES:
			if (v->p)
				memcpy(p, v->p, f->len);
			else
				memset(p, 0, f->len);
			break;
		case GENREC_TIME:
			put_time(p, f->ie, f->len, v->u, c);
			break;
		default:
			put_uint(p, f->len, v->u, c);
			break;
		}
		p += f->len;
	}
	return ERR_OK;
}

int tmpl_put_genrec(struct wbuf *w, const struct tmpl *t, const struct genrec *r, struct rec_enc *c)
{
	if (r->lay->n != t->nfields)
		return ERR_ARG;
	if (t->varlen)
		return put_genrec_var(w, t, r, c);
	uint8_t *p = wbuf_reserve(w, t->minlen);
	if (!p)
		return ERR_NOSPACE;
	for (unsigned i = 0; i < t->nfields; i++) {
		const struct tmpl_field *f = &t->f[i];
		const struct genrec_field *g = &r->lay->f[i];
		const struct genrec_val *v = &r->v[i];
		uint8_t *q = p + f->off;
		switch (g->kind) {
		case GENREC_BYTES:
			if (v->p)
				memcpy(q, v->p, f->len);
			else
				memset(q, 0, f->len);
			break;
		case GENREC_TIME:
			put_time(q, f->ie, f->len, v->u, c); /* the template says how (v9 types equal the IE ids) */
			break;
		default:
			put_uint(q, f->len, v->u, c);
			break;
		}
	}
	return ERR_OK;
}

int tmpl_put_values(struct wbuf *w, const struct tmpl *t, const uint64_t *vals)
{
	if (t->varlen)
		return ERR_ARG;
	uint8_t *p = wbuf_reserve(w, t->minlen);
	if (!p)
		return ERR_NOSPACE;
	struct rec_enc dummy = { 0 };
	for (unsigned i = 0; i < t->nfields; i++)
		put_uint(p + t->f[i].off, t->f[i].len, vals[i], &dummy);
	return ERR_OK;
}

/* ---- reader ---- */

static enum flow_end end_from_ipfix(uint64_t v)
{
	static const uint8_t map[] = {
		[1] = FLOW_END_IDLE, [2] = FLOW_END_ACTIVE, [3] = FLOW_END_EOF,
		[4] = FLOW_END_SHUTDOWN, [5] = FLOW_END_EMERGENCY,
	};
	return v >= 1 && v < sizeof(map) ? (enum flow_end)map[v] : FLOW_END_SHUTDOWN;
}

/* The difference is taken as signed 32-bit ms: across a sysUpTime wrap
 * it is still small, and a time a little after the header's (exporters
 * whose clocks disagree, e.g. softflowd reading a file) stays after it
 * instead of landing 49.7 days earlier. */
static uint64_t from_sysup(const struct rec_dec *c, uint32_t v)
{
	int32_t d = (int32_t)(c->sysup_ms - v);
	if (d < 0)
		return c->export_us + (uint64_t)(-(int64_t)d) * 1000;
	uint64_t back = (uint64_t)d * 1000;
	return c->export_us > back ? c->export_us - back : 0;
}

/* What a field becomes in a flowrec: the one place that knows which
 * flowrec field an IE carries (reading). FK_NONE: not mapped. */
enum fkind {
	FK_NONE = 0, FK_SRC4, FK_DST4, FK_NH4, FK_SRC6, FK_DST6, FK_NH6, FK_BNH4, FK_BNH6, FK_SPORT, FK_DPORT, FK_ICMP,
	FK_PROTO, FK_TOS, FK_DIR, FK_IN, FK_OUT, FK_PKTS, FK_BYTES, FK_SRCAS, FK_DSTAS, FK_FLAGS,
	FK_MINTTL, FK_MAXTTL, FK_SRCMASK, FK_DSTMASK, FK_MINLEN, FK_MAXLEN, FK_REASON, FK_UP_START,
	FK_UP_END, FK_INIT, FK_S_START, FK_S_END, FK_MS_START, FK_MS_END, FK_NTP_START, FK_NTP_END,
};

static enum fkind field_kind(uint16_t ie)
{
	switch (ie) {
	case IE_sourceIPv4Address:
	case IE_sourceIPv4Prefix: return FK_SRC4; /* v8 / v9 aggregation: the prefix in the address column */
	case IE_destinationIPv4Address:
	case IE_destinationIPv4Prefix: return FK_DST4;
	case IE_ipNextHopIPv4Address: return FK_NH4;
	case IE_sourceIPv6Address: return FK_SRC6;
	case IE_destinationIPv6Address: return FK_DST6;
	case IE_ipNextHopIPv6Address: return FK_NH6;
	case IE_bgpNextHopIPv4Address: return FK_BNH4;
	case IE_bgpNextHopIPv6Address: return FK_BNH6;
	case IE_sourceTransportPort: return FK_SPORT;
	case IE_destinationTransportPort: return FK_DPORT;
	case IE_icmpTypeCodeIPv4:
	case IE_icmpTypeCodeIPv6: return FK_ICMP;
	case IE_protocolIdentifier: return FK_PROTO;
	case IE_ipClassOfService: return FK_TOS;
	case IE_flowDirection: return FK_DIR;
	case IE_ingressInterface: return FK_IN;
	case IE_egressInterface: return FK_OUT;
	case IE_packetDeltaCount: return FK_PKTS;
	case IE_octetDeltaCount: return FK_BYTES;
	case IE_bgpSourceAsNumber: return FK_SRCAS;
	case IE_bgpDestinationAsNumber: return FK_DSTAS;
	case IE_tcpControlBits: return FK_FLAGS;
	case IE_minimumTTL: return FK_MINTTL;
	case IE_maximumTTL: return FK_MAXTTL;
	case IE_sourceIPv4PrefixLength:
	case IE_sourceIPv6PrefixLength: return FK_SRCMASK;
	case IE_destinationIPv4PrefixLength:
	case IE_destinationIPv6PrefixLength: return FK_DSTMASK;
	case IE_minimumIpTotalLength: return FK_MINLEN;
	case IE_maximumIpTotalLength: return FK_MAXLEN;
	case IE_flowEndReason: return FK_REASON;
	case IE_flowStartSysUpTime: return FK_UP_START;
	case IE_flowEndSysUpTime: return FK_UP_END;
	case IE_systemInitTimeMilliseconds: return FK_INIT;
	case IE_flowStartSeconds: return FK_S_START;
	case IE_flowEndSeconds: return FK_S_END;
	case IE_flowStartMilliseconds: return FK_MS_START;
	case IE_flowEndMilliseconds: return FK_MS_END;
	case IE_flowStartMicroseconds:
	case IE_flowStartNanoseconds: return FK_NTP_START;
	case IE_flowEndMicroseconds:
	case IE_flowEndNanoseconds: return FK_NTP_END;
	default: return FK_NONE;
	}
}

/* State of one record being read: what needs the whole record to settle. */
struct rdstate {
	int v6, have_icmp, up;
	uint16_t icmp;
	uint32_t up_start, up_end;
	uint64_t init_us;
};

/* Unsigned big-endian value of n bytes, the common widths unrolled
 * (this runs once per mapped field of every record). */
static inline uint64_t load_uint(const uint8_t *q, unsigned n)
{
	switch (n) {
	case 1: return q[0];
	case 2: return peek_u16(q);
	case 4: return peek_u32(q);
	case 8: return peek_u64(q);
	default: return n >= 1 && n <= 8 ? peek_uint(q, n) : 0;
	}
}

static inline __attribute__((always_inline)) void apply(struct flowrec *r, struct rdstate *st, enum fkind k,
                                                        const uint8_t *q, unsigned n)
{
	uint64_t v = k >= FK_SPORT ? load_uint(q, n) : 0;
	switch (k) {
	case FK_NONE: break;
	case FK_SRC4: if (n == 4) memcpy(r->key.src, q, 4); break;
	case FK_DST4: if (n == 4) memcpy(r->key.dst, q, 4); break;
	case FK_NH4: if (n == 4) memcpy(r->nexthop, q, 4); break;
	case FK_SRC6: if (n == 16) { memcpy(r->key.src, q, 16); st->v6 = 1; } break;
	case FK_DST6: if (n == 16) { memcpy(r->key.dst, q, 16); st->v6 = 1; } break;
	case FK_NH6: if (n == 16) memcpy(r->nexthop, q, 16); break;
	case FK_BNH4: if (n == 4) memcpy(r->bgp_nexthop, q, 4); break;
	case FK_BNH6: if (n == 16) memcpy(r->bgp_nexthop, q, 16); break;
	case FK_SPORT: r->key.sport = (uint16_t)v; break;
	case FK_DPORT: r->key.dport = (uint16_t)v; break;
	case FK_ICMP:
		if (v) {
			st->icmp = (uint16_t)v;
			st->have_icmp = 1;
		}
		break;
	case FK_PROTO: r->key.proto = (uint8_t)v; break;
	case FK_TOS: r->key.tos = (uint8_t)v; break;
	case FK_DIR: r->key.dir = (uint8_t)v; break;
	case FK_IN: r->key.ifindex = (uint32_t)v; break;
	case FK_OUT: r->if_out = (uint32_t)v; break;
	case FK_PKTS: r->packets = v; break;
	case FK_BYTES: r->bytes = v; break;
	case FK_SRCAS: r->src_as = (uint32_t)v; break;
	case FK_DSTAS: r->dst_as = (uint32_t)v; break;
	case FK_FLAGS: r->tcp_flags = (uint8_t)v; break;
	case FK_MINTTL: r->min_ttl = (uint8_t)v; break;
	case FK_MAXTTL: r->max_ttl = (uint8_t)v; break;
	case FK_SRCMASK: r->src_mask = (uint8_t)v; break;
	case FK_DSTMASK: r->dst_mask = (uint8_t)v; break;
	case FK_MINLEN: r->min_len = v > 0xffff ? 0xffff : (uint16_t)v; break;
	case FK_MAXLEN: r->max_len = v > 0xffff ? 0xffff : (uint16_t)v; break;
	case FK_REASON: r->end = (uint8_t)end_from_ipfix(v); break;
	case FK_UP_START: if (n == 4) { st->up_start = (uint32_t)v; st->up |= 1; } break;
	case FK_UP_END: if (n == 4) { st->up_end = (uint32_t)v; st->up |= 2; } break;
	case FK_INIT: if (n == 8) st->init_us = v * 1000; break;
	case FK_S_START: if (n == 4) r->first_us = v * 1000000; break;
	case FK_S_END: if (n == 4) r->last_us = v * 1000000; break;
	case FK_MS_START: if (n == 8) r->first_us = v * 1000; break;
	case FK_MS_END: if (n == 8) r->last_us = v * 1000; break;
	case FK_NTP_START: if (n == 8) r->first_us = ie_ntp_to_us(v); break;
	case FK_NTP_END: if (n == 8) r->last_us = ie_ntp_to_us(v); break;
	}
}

/* What needs the whole record: sysUpTime times (the record's own init
 * time may follow them: IPFIX systemInitTimeMilliseconds, RFC 5102), the
 * address family, ICMP type/code. */
static void finish(struct flowrec *r, const struct rdstate *st, const struct rec_dec *c)
{
	if (st->up && st->init_us) {
		if ((st->up & 1) && !r->first_us)
			r->first_us = st->init_us + (uint64_t)st->up_start * 1000;
		if ((st->up & 2) && !r->last_us)
			r->last_us = st->init_us + (uint64_t)st->up_end * 1000;
	} else if (st->up && !c->no_sysup) {
		if ((st->up & 1) && !r->first_us)
			r->first_us = from_sysup(c, st->up_start);
		if ((st->up & 2) && !r->last_us)
			r->last_us = from_sysup(c, st->up_end);
	}
	r->key.af = st->v6 ? 6 : 4;
	if (st->have_icmp && r->key.dport == 0)
		r->key.dport = st->icmp;
}

int tmpl_get_flowrec(const struct tmpl *t, const uint8_t *p, size_t len, const struct rec_dec *c,
                     struct flowrec *r)
{
	memset(r, 0, sizeof(*r));
	struct rec_iter ri;
	struct rec_field f;
	struct rdstate st = { .init_us = c->init_us };
	int rc;
	rec_iter_init(&ri, t, p, len);
	while ((rc = rec_iter_next(&ri, &f)) == ERR_OK)
		if (!f.pen && !f.scope)
			apply(r, &st, field_kind(f.ie), f.p, f.len);
	if (rc != ERR_END)
		return rc;
	finish(r, &st, c);
	return ERR_OK;
}

/* What the per-record readers below start from: a copy of a const zero
 * record, not memset. Compilers make the fixed-size memset a rep stos,
 * whose start-up cost was a quarter of tmpl_plan_flowrec's time (perf
 * annotate, bench/collect.sh v9 -o null:); the copy is nine vector
 * stores. */
static const struct flowrec flowrec_zero;

/* Plan op classes: a plain integer field (its value truncated to the
 * flowrec field's width, exactly as apply() casts it), an IPv4 / IPv6
 * next-hop address copy, and the common encodings of the times, the end
 * reason and the ICMP type/code are each done by a loop over the ops of
 * their class (no dispatch per field: a record costs a few predictable
 * loops); the rest (IPv6 addresses that set the family, saturating
 * lengths, odd widths) goes through apply(), last, in template order.
 * A template that maps two fields onto one flowrec field (where the last
 * one wins) keeps every op in apply(), in template order. */
enum {
	PC_INT = 0,   /* 4 * source width code + destination width code (codes: 1, 2, 4, 8 bytes) */
	PC_COPY4 = 16,
	PC_COPY16 = 17,
	PC_MS = 18,     /* 8-byte milliseconds into the u64 at dst (first_us, last_us) */
	PC_SEC = 19,    /* 4-byte seconds, the same */
	PC_NTP = 20,    /* 8-byte NTP timestamp (micro- or nanoseconds IEs), the same */
	PC_UP = 21,     /* 4-byte sysUpTime; dst 0: flow start, 1: flow end */
	PC_REASON = 22, /* 1-byte flowEndReason */
	PC_ICMP = 23,   /* 2-byte ICMP type/code */
	PC_APPLY = 24,
	PC_N = 25,
};
_Static_assert(PC_N + 1 <= sizeof(((struct tmpl_plan *)0)->grp) / sizeof(uint16_t), "plan groups");
_Static_assert(sizeof(struct flowrec) <= 255, "plan ops hold flowrec offsets in a byte");

static int width_code(unsigned n)
{
	switch (n) {
	case 1: return 0;
	case 2: return 1;
	case 4: return 2;
	case 8: return 3;
	default: return -1;
	}
}

#define FR(field) (uint8_t)offsetof(struct flowrec, field), (uint8_t)sizeof(((struct flowrec *)0)->field)

static void plan_class(struct tmpl_op *op, enum fkind k, unsigned len)
{
	uint8_t dst = 0, dw = 0;
	op->cls = PC_APPLY;
	op->dst = 0;
	switch (k) {
	case FK_SRC4: op->dst = (uint8_t)offsetof(struct flowrec, key.src); op->cls = len == 4 ? PC_COPY4 : PC_APPLY; return;
	case FK_DST4: op->dst = (uint8_t)offsetof(struct flowrec, key.dst); op->cls = len == 4 ? PC_COPY4 : PC_APPLY; return;
	case FK_NH4: op->dst = (uint8_t)offsetof(struct flowrec, nexthop); op->cls = len == 4 ? PC_COPY4 : PC_APPLY; return;
	case FK_NH6: op->dst = (uint8_t)offsetof(struct flowrec, nexthop); op->cls = len == 16 ? PC_COPY16 : PC_APPLY; return;
	case FK_MS_START: case FK_MS_END: case FK_NTP_START: case FK_NTP_END:
		if (len == 8) {
			op->cls = k == FK_MS_START || k == FK_MS_END ? PC_MS : PC_NTP;
			op->dst = (uint8_t)(k == FK_MS_START || k == FK_NTP_START ? offsetof(struct flowrec, first_us)
			                                                          : offsetof(struct flowrec, last_us));
		}
		return;
	case FK_S_START: case FK_S_END:
		if (len == 4) {
			op->cls = PC_SEC;
			op->dst = (uint8_t)(k == FK_S_START ? offsetof(struct flowrec, first_us) : offsetof(struct flowrec, last_us));
		}
		return;
	case FK_UP_START: case FK_UP_END:
		if (len == 4) {
			op->cls = PC_UP;
			op->dst = k == FK_UP_END;
		}
		return;
	case FK_REASON: op->cls = len == 1 ? PC_REASON : PC_APPLY; return;
	case FK_ICMP: op->cls = len == 2 ? PC_ICMP : PC_APPLY; return;
	case FK_MINLEN: /* no saturation to do from 1 or 2 bytes */
		if (len > 2)
			return;
		{ uint8_t o[] = { FR(min_len) }; dst = o[0]; dw = o[1]; break; }
	case FK_MAXLEN:
		if (len > 2)
			return;
		{ uint8_t o[] = { FR(max_len) }; dst = o[0]; dw = o[1]; break; }
	case FK_SPORT: { uint8_t o[] = { FR(key.sport) }; dst = o[0]; dw = o[1]; break; }
	case FK_DPORT: { uint8_t o[] = { FR(key.dport) }; dst = o[0]; dw = o[1]; break; }
	case FK_PROTO: { uint8_t o[] = { FR(key.proto) }; dst = o[0]; dw = o[1]; break; }
	case FK_TOS: { uint8_t o[] = { FR(key.tos) }; dst = o[0]; dw = o[1]; break; }
	case FK_DIR: { uint8_t o[] = { FR(key.dir) }; dst = o[0]; dw = o[1]; break; }
	case FK_IN: { uint8_t o[] = { FR(key.ifindex) }; dst = o[0]; dw = o[1]; break; }
	case FK_OUT: { uint8_t o[] = { FR(if_out) }; dst = o[0]; dw = o[1]; break; }
	case FK_PKTS: { uint8_t o[] = { FR(packets) }; dst = o[0]; dw = o[1]; break; }
	case FK_BYTES: { uint8_t o[] = { FR(bytes) }; dst = o[0]; dw = o[1]; break; }
	case FK_SRCAS: { uint8_t o[] = { FR(src_as) }; dst = o[0]; dw = o[1]; break; }
	case FK_DSTAS: { uint8_t o[] = { FR(dst_as) }; dst = o[0]; dw = o[1]; break; }
	case FK_FLAGS: { uint8_t o[] = { FR(tcp_flags) }; dst = o[0]; dw = o[1]; break; }
	case FK_MINTTL: { uint8_t o[] = { FR(min_ttl) }; dst = o[0]; dw = o[1]; break; }
	case FK_MAXTTL: { uint8_t o[] = { FR(max_ttl) }; dst = o[0]; dw = o[1]; break; }
	case FK_SRCMASK: { uint8_t o[] = { FR(src_mask) }; dst = o[0]; dw = o[1]; break; }
	case FK_DSTMASK: { uint8_t o[] = { FR(dst_mask) }; dst = o[0]; dw = o[1]; break; }
	default: return;
	}
	int sc = width_code(len), dc = width_code(dw);
	if (sc < 0 || dc < 0)
		return;
	op->cls = (uint8_t)(PC_INT + 4 * sc + dc);
	op->dst = dst;
}

/* The flowrec field a kind writes (kinds that share one: the v4 kind). */
static enum fkind field_written(enum fkind k)
{
	switch (k) {
	case FK_SRC6: return FK_SRC4;
	case FK_DST6: return FK_DST4;
	case FK_NH6: return FK_NH4;
	case FK_S_START: case FK_MS_START: case FK_NTP_START: return FK_S_START;
	case FK_S_END: case FK_MS_END: case FK_NTP_END: return FK_S_END;
	default: return k;
	}
}

#undef FR

int tmpl_plan_init(struct tmpl_plan *pl, const struct tmpl *t)
{
	memset(pl, 0, sizeof(*pl));
	if (t->varlen)
		return ERR_UNSUPP;
	pl->minlen = t->minlen;
	struct tmpl_op ops[TMPL_MAX_FIELDS];
	uint8_t seen[FK_NTP_END + 1] = { 0 };
	int ordered = 0;
	unsigned n = 0;
	for (unsigned i = t->scope_count; i < t->nfields; i++) {
		const struct tmpl_field *f = &t->f[i];
		enum fkind k = f->pen ? FK_NONE : field_kind(f->ie);
		if (k == FK_NONE)
			continue;
		ops[n].off = f->off;
		ops[n].len = f->len;
		ops[n].kind = (uint8_t)k;
		plan_class(&ops[n], k, f->len);
		if (seen[field_written(k)]++)
			ordered = 1;
		n++;
	}
	if (ordered)
		for (unsigned i = 0; i < n; i++)
			ops[i].cls = PC_APPLY;
	/* Group by class, template order kept within a class. */
	for (unsigned c = 0; c < PC_N; c++) {
		pl->grp[c] = pl->n;
		for (unsigned i = 0; i < n; i++)
			if (ops[i].cls == c)
				pl->op[pl->n++] = ops[i];
	}
	pl->grp[PC_N] = pl->n;
	pl->usable = 1;
	return ERR_OK;
}

int tmpl_plan_flowrec(const struct tmpl_plan *pl, const uint8_t *p, size_t len, const struct rec_dec *c,
                      struct flowrec *r)
{
	if (!pl->usable)
		return ERR_ARG;
	if (len < pl->minlen)
		return ERR_TRUNC;
	*r = flowrec_zero;
	struct rdstate st = { .init_us = c->init_us };
	uint8_t *rb = (uint8_t *)r;
	const struct tmpl_op *op = pl->op;
	/* One loop per class present (empty ones cost a compare). */
#define LOOP(cls, T, load)                                                       \
	for (unsigned i = pl->grp[cls], e = pl->grp[(cls) + 1]; i < e; i++) {     \
		T v = (T)(load(p + op[i].off));                                   \
		memcpy(rb + op[i].dst, &v, sizeof(v));                           \
	}
#define L8(q) (*(q))
#define INT_LOOPS(sc, load)                     \
	LOOP(PC_INT + 4 * (sc) + 0, uint8_t, load)  \
	LOOP(PC_INT + 4 * (sc) + 1, uint16_t, load) \
	LOOP(PC_INT + 4 * (sc) + 2, uint32_t, load) \
	LOOP(PC_INT + 4 * (sc) + 3, uint64_t, load)
	INT_LOOPS(0, L8)
	INT_LOOPS(1, peek_u16)
	INT_LOOPS(2, peek_u32)
	INT_LOOPS(3, peek_u64)
#undef INT_LOOPS
#undef L8
#undef LOOP
	for (unsigned i = pl->grp[PC_COPY4], e = pl->grp[PC_COPY4 + 1]; i < e; i++)
		memcpy(rb + op[i].dst, p + op[i].off, 4);
	for (unsigned i = pl->grp[PC_COPY16], e = pl->grp[PC_COPY16 + 1]; i < e; i++)
		memcpy(rb + op[i].dst, p + op[i].off, 16);
	for (unsigned i = pl->grp[PC_MS], e = pl->grp[PC_MS + 1]; i < e; i++) {
		uint64_t v = peek_u64(p + op[i].off) * 1000;
		memcpy(rb + op[i].dst, &v, 8);
	}
	for (unsigned i = pl->grp[PC_SEC], e = pl->grp[PC_SEC + 1]; i < e; i++) {
		uint64_t v = (uint64_t)peek_u32(p + op[i].off) * 1000000;
		memcpy(rb + op[i].dst, &v, 8);
	}
	for (unsigned i = pl->grp[PC_NTP], e = pl->grp[PC_NTP + 1]; i < e; i++) {
		uint64_t v = ie_ntp_to_us(peek_u64(p + op[i].off));
		memcpy(rb + op[i].dst, &v, 8);
	}
	for (unsigned i = pl->grp[PC_UP], e = pl->grp[PC_UP + 1]; i < e; i++) {
		uint32_t v = peek_u32(p + op[i].off);
		if (op[i].dst) {
			st.up_end = v;
			st.up |= 2;
		} else {
			st.up_start = v;
			st.up |= 1;
		}
	}
	for (unsigned i = pl->grp[PC_REASON], e = pl->grp[PC_REASON + 1]; i < e; i++)
		r->end = (uint8_t)end_from_ipfix(p[op[i].off]);
	for (unsigned i = pl->grp[PC_ICMP], e = pl->grp[PC_ICMP + 1]; i < e; i++) {
		uint16_t v = peek_u16(p + op[i].off);
		if (v) {
			st.icmp = v;
			st.have_icmp = 1;
		}
	}
	for (unsigned i = pl->grp[PC_APPLY], e = pl->grp[PC_APPLY + 1]; i < e; i++)
		apply(r, &st, (enum fkind)op[i].kind, p + op[i].off, op[i].len);
	finish(r, &st, c);
	return ERR_OK;
}

/* NetFlow v5's record (nf5.c's fixed layout, 48 bytes) in straight
 * line: what tmpl_plan_flowrec gives for that template, at a third of its
 * work (no per-class loops; v5 is what most routers still send). Kept
 * equal to it by tests/unit/test_tmpl_plan.c over random records. */
int tmpl_nf5_flowrec(const uint8_t *p, size_t len, const struct rec_dec *c, struct flowrec *r)
{
	if (len < 48)
		return ERR_TRUNC;
	*r = flowrec_zero;
	memcpy(r->key.src, p, 4);
	memcpy(r->key.dst, p + 4, 4);
	memcpy(r->nexthop, p + 8, 4);
	r->key.ifindex = peek_u16(p + 12);
	r->if_out = peek_u16(p + 14);
	r->packets = peek_u32(p + 16);
	r->bytes = peek_u32(p + 20);
	r->key.sport = peek_u16(p + 32);
	r->key.dport = peek_u16(p + 34);
	r->tcp_flags = p[37];
	r->key.proto = p[38];
	r->key.tos = p[39];
	r->src_as = peek_u16(p + 40);
	r->dst_as = peek_u16(p + 42);
	r->src_mask = p[44];
	r->dst_mask = p[45];
	struct rdstate st = { .up = 3, .up_start = peek_u32(p + 24), .up_end = peek_u32(p + 28), .init_us = c->init_us };
	finish(r, &st, c);
	return ERR_OK;
}

/* ---- minimal template store ---- */

int tmpl_store_mem_init(struct tmpl_store_mem *m, size_t cap)
{
	m->n = 0;
	m->cap = cap;
	m->slot = calloc(cap ? cap : 1, sizeof(*m->slot));
	return m->slot ? ERR_OK : ERR_NOMEM;
}

void tmpl_store_mem_free(struct tmpl_store_mem *m)
{
	if (!m)
		return;
	free(m->slot);
	m->slot = NULL;
	m->n = m->cap = 0;
}

static const struct tmpl *mem_lookup(void *ctx, uint32_t domain, uint16_t id)
{
	struct tmpl_store_mem *m = ctx;
	for (size_t i = 0; i < m->n; i++)
		if (m->slot[i].domain == domain && m->slot[i].t.id == id)
			return &m->slot[i].t;
	return NULL;
}

static int mem_add(void *ctx, uint32_t domain, const struct tmpl *t)
{
	struct tmpl_store_mem *m = ctx;
	size_t i;
	for (i = 0; i < m->n; i++)
		if (m->slot[i].domain == domain && m->slot[i].t.id == t->id)
			break;
	if (i == m->n) {
		if (m->n == m->cap)
			return ERR_FULL;
		m->n++;
	}
	m->slot[i].domain = domain;
	m->slot[i].t = *t;
	return ERR_OK;
}

static int mem_withdraw(void *ctx, uint32_t domain, uint16_t id)
{
	struct tmpl_store_mem *m = ctx;
	int found = 0;
	for (size_t i = 0; i < m->n;) {
		const struct tmpl *t = &m->slot[i].t;
		int hit = m->slot[i].domain == domain &&
		          (id >= TMPL_ID_MIN ? t->id == id
		           : id == 2 ? t->scope_count == 0
		           : id == 3 ? t->scope_count != 0 : 1);
		if (hit) {
			m->slot[i] = m->slot[--m->n];
			found = 1;
		} else {
			i++;
		}
	}
	return found ? ERR_OK : ERR_NOTFOUND;
}

struct tmpl_store tmpl_store_mem_iface(struct tmpl_store_mem *m)
{
	struct tmpl_store s = { mem_lookup, mem_add, mem_withdraw, m };
	return s;
}
