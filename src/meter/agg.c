/* agg.c — the IOS aggregation caches (see agg.h). */
#include "meter/agg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export/export.h"
#include "export/exporter.h"
#include "lib/bytes.h"
#include "lib/hash.h"
#include "lib/log.h"
#include "transport/dest.h"

#define DRAIN_MS 10000
#define SHOW_MAX 1000
#define AS_TRANS 23456

/* Key components, per scheme. */
enum {
	K_SRCPFX = 1, K_DSTPFX = 2, K_SRCAS = 4, K_DSTAS = 8, K_IN = 16, K_OUT = 32,
	K_TOS = 64, K_PROTO = 128, K_PORTS = 256, K_NH = 512,
};

static const struct scheme_def {
	unsigned key;
	uint8_t nf8;         /* v8 aggregation (NF8_*), 0: v9 only */
} sdef[CONF_AGG_SCHEME_MAX] = {
	[CONF_AGG_AS] = { K_SRCAS | K_DSTAS | K_IN | K_OUT, NF8_AS },
	[CONF_AGG_AS_TOS] = { K_SRCAS | K_DSTAS | K_IN | K_OUT | K_TOS, NF8_AS_TOS },
	[CONF_AGG_BGP_NEXTHOP_TOS] = { K_SRCAS | K_DSTAS | K_IN | K_OUT | K_TOS | K_NH, 0 },
	[CONF_AGG_DST_PREFIX] = { K_DSTPFX | K_DSTAS | K_OUT, NF8_DST_PREFIX },
	[CONF_AGG_DST_PREFIX_TOS] = { K_DSTPFX | K_DSTAS | K_OUT | K_TOS, NF8_DST_PREFIX_TOS },
	[CONF_AGG_PREFIX] = { K_SRCPFX | K_DSTPFX | K_SRCAS | K_DSTAS | K_IN | K_OUT, NF8_PREFIX },
	[CONF_AGG_PREFIX_PORT] = { K_SRCPFX | K_DSTPFX | K_TOS | K_PROTO | K_PORTS | K_IN | K_OUT, NF8_PREFIX_PORT },
	[CONF_AGG_PREFIX_TOS] = { K_SRCPFX | K_DSTPFX | K_SRCAS | K_DSTAS | K_IN | K_OUT | K_TOS, NF8_PREFIX_TOS },
	[CONF_AGG_PROTOCOL_PORT] = { K_PROTO | K_PORTS, NF8_PROTO_PORT },
	[CONF_AGG_PROTOCOL_PORT_TOS] = { K_PROTO | K_TOS | K_PORTS | K_IN | K_OUT, NF8_PROTO_PORT_TOS },
	[CONF_AGG_SRC_PREFIX] = { K_SRCPFX | K_SRCAS | K_IN, NF8_SRC_PREFIX },
	[CONF_AGG_SRC_PREFIX_TOS] = { K_SRCPFX | K_SRCAS | K_IN | K_TOS, NF8_SRC_PREFIX_TOS },
};

/* An aggregation key: the components the scheme lacks stay zero. Plain
 * bytes so hashing and comparison are memcmp-exact (no padding). */
struct akey {
	uint8_t src[4], dst[4], nh[4];
	uint32_t src_as, dst_as, in, out;
	uint16_t sport, dport;
	uint8_t smask, dmask, tos, proto;
};
_Static_assert(sizeof(struct akey) == 36, "struct akey has padding");

#define NIL 0u

struct aent {
	struct akey k;
	uint64_t flows, packets, bytes, first_us, last_us;
	uint64_t created, touched; /* cache clock: active / inactive deadlines */
	uint32_t hnext;            /* hash chain; free list */
	uint32_t bucket;           /* its bucket: expiry unlinks without hashing again */
	uint32_t iprev, inext;     /* idle order (touched) */
	uint32_t aprev, anext;     /* age order (created) */
};

struct dq { uint32_t head, tail; };

/* One destination's stream. */
struct axp {
	char spec[CONF_HOST_MAX + 32];
	struct transport *t;
	struct exporter *ex;
	int h;                 /* the scheme's layout in ex */
};

struct acache {
	enum conf_agg_scheme scheme;
	struct conf_agg conf;
	int version;           /* 8 or 9, in effect */
	uint32_t entries, active_s, inactive_s;
	uint8_t smin, dmin;    /* mask minimums */
	struct aent *e;        /* e[1..entries]; e[0] unused (NIL) */
	uint32_t *bucket;
	uint32_t bmask;
	uint32_t free;
	struct dq idle, age;
	uint64_t seed;
	struct agg_counters c;
	struct genrec_layout lay;
	struct axp *xp;
	size_t nxp;
	bool reused, xp_reused;
	bool isnew;            /* made by the prepare being committed */
};

struct state {
	struct acache *cache[CONF_AGG_MAX];
	size_t n;
};

struct prepared;

/* Where each stream's sequence numbers stopped: a cache that comes back
 * to a destination in a version (a reload moved it away, or disabled it)
 * continues its stream, as a router's aggregation cache does. */
#define SEQMEM_MAX 64
struct seqmem {
	uint8_t scheme, version;
	char spec[CONF_HOST_MAX + 32];
	uint32_t next;
};

struct agg {
	struct rt *rt;
	struct seqmem seq[SEQMEM_MAX];
	size_t nseq;
	struct state *cur;
	struct prepared *next;      /* a reload's prepared state until commit */
	bool ticked;
	bool started;
	uint64_t start_us;
	uint32_t sampling;
	uint64_t now;
};

/* --- the layouts ------------------------------------------------------ */

static uint8_t kind_of(uint16_t ie)
{
	switch (ie) {
	case IE_flowStartSysUpTime: case IE_flowEndSysUpTime: return GENREC_TIME;
	case IE_sourceIPv4Prefix: case IE_destinationIPv4Prefix: case IE_bgpNextHopIPv4Address: return GENREC_BYTES;
	default: return GENREC_UINT;
	}
}

static void lay_add(struct genrec_layout *l, uint16_t ie, uint16_t len)
{
	l->f[l->n++] = (struct genrec_field){ ie, len, kind_of(ie) };
}

/* v8: the scheme's fixed record; v9: the same fields (no padding), 4-byte
 * ASes and interfaces, 8-byte counters, and the BGP next hop where keyed. */
static void build_layout(struct acache *a)
{
	struct genrec_layout *l = &a->lay;
	memset(l, 0, sizeof(*l));
	if (a->version == 8) {
		const struct tmpl *t = nf8_tmpl(sdef[a->scheme].nf8);
		for (unsigned i = 0; i < t->nfields; i++)
			lay_add(l, t->f[i].ie, t->f[i].len);
		return;
	}
	unsigned k = sdef[a->scheme].key;
	lay_add(l, IE_deltaFlowCount, 4);
	lay_add(l, IE_packetDeltaCount, 8);
	lay_add(l, IE_octetDeltaCount, 8);
	lay_add(l, IE_flowStartSysUpTime, 4);
	lay_add(l, IE_flowEndSysUpTime, 4);
	if (k & K_SRCPFX) {
		lay_add(l, IE_sourceIPv4Prefix, 4);
		lay_add(l, IE_sourceIPv4PrefixLength, 1);
	}
	if (k & K_DSTPFX) {
		lay_add(l, IE_destinationIPv4Prefix, 4);
		lay_add(l, IE_destinationIPv4PrefixLength, 1);
	}
	if (k & K_NH)
		lay_add(l, IE_bgpNextHopIPv4Address, 4);
	if (k & K_TOS)
		lay_add(l, IE_ipClassOfService, 1);
	if (k & K_PROTO)
		lay_add(l, IE_protocolIdentifier, 1);
	if (k & K_PORTS) {
		lay_add(l, IE_sourceTransportPort, 2);
		lay_add(l, IE_destinationTransportPort, 2);
	}
	if (k & K_SRCAS)
		lay_add(l, IE_bgpSourceAsNumber, 4);
	if (k & K_DSTAS)
		lay_add(l, IE_bgpDestinationAsNumber, 4);
	if (k & K_IN)
		lay_add(l, IE_ingressInterface, 4);
	if (k & K_OUT)
		lay_add(l, IE_egressInterface, 4);
}

/* --- the cache -------------------------------------------------------- */

#define DQ_UNLINK(a, q, P, N, x)                                        \
	do {                                                                \
		struct aent *e_ = &(a)->e[x];                                   \
		if (e_->P) (a)->e[e_->P].N = e_->N; else (q)->head = e_->N;    \
		if (e_->N) (a)->e[e_->N].P = e_->P; else (q)->tail = e_->P;    \
		e_->P = e_->N = NIL;                                            \
	} while (0)

#define DQ_PUSH(a, q, P, N, x)                                          \
	do {                                                                \
		struct aent *e_ = &(a)->e[x];                                   \
		e_->P = (q)->tail;                                              \
		e_->N = NIL;                                                    \
		if ((q)->tail) (a)->e[(q)->tail].N = (x); else (q)->head = (x); \
		(q)->tail = (x);                                                \
	} while (0)

static uint32_t bucket_of(const struct acache *a, const struct akey *k)
{
	return (uint32_t)hash_bytes(k, sizeof(*k), a->seed) & a->bmask;
}

static void acache_free(struct acache *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nxp; i++) {
		exporter_free(a->xp[i].ex);
		transport_close(a->xp[i].t);
	}
	free(a->xp);
	free(a->e);
	free(a->bucket);
	free(a);
}

static int acache_alloc(struct acache *a)
{
	uint32_t nb = 1;
	while (nb < a->entries * 2u && nb < (1u << 30))
		nb <<= 1;
	a->e = calloc((size_t)a->entries + 1, sizeof(*a->e));
	a->bucket = calloc(nb, sizeof(*a->bucket));
	if (!a->e || !a->bucket)
		return -1;
	a->bmask = nb - 1;
	for (uint32_t i = 1; i <= a->entries; i++)
		a->e[i].hnext = i < a->entries ? i + 1 : NIL;
	a->free = 1;
	a->seed = hash_random_seed();
	return 0;
}

static void export_entry(struct agg *ag, struct acache *a, uint32_t x, enum flow_end why)
{
	struct aent *e = &a->e[x];
	struct genrec_val v[GENREC_FIELDS_MAX];
	const struct genrec_layout *l = &a->lay;
	for (unsigned i = 0; i < l->n; i++) {
		uint64_t u = 0;
		const uint8_t *p = NULL;
		switch (l->f[i].ie) {
		case IE_deltaFlowCount: u = e->flows; break;
		case IE_packetDeltaCount: u = e->packets; break;
		case IE_octetDeltaCount: u = e->bytes; break;
		case IE_flowStartSysUpTime: u = e->first_us; break;
		case IE_flowEndSysUpTime: u = e->last_us; break;
		case IE_sourceIPv4Prefix: p = e->k.src; break;
		case IE_destinationIPv4Prefix: p = e->k.dst; break;
		case IE_bgpNextHopIPv4Address: p = e->k.nh; break;
		case IE_sourceIPv4PrefixLength: u = e->k.smask; break;
		case IE_destinationIPv4PrefixLength: u = e->k.dmask; break;
		case IE_ipClassOfService: u = e->k.tos; break;
		case IE_protocolIdentifier: u = e->k.proto; break;
		case IE_sourceTransportPort: u = e->k.sport; break;
		case IE_destinationTransportPort: u = e->k.dport; break;
		case IE_bgpSourceAsNumber: u = e->k.src_as; break;
		case IE_bgpDestinationAsNumber: u = e->k.dst_as; break;
		case IE_ingressInterface: u = e->k.in; break;
		case IE_egressInterface: u = e->k.out; break;
		default: break; /* paddingOctets */
		}
		/* 2-byte AS numbers: AS_TRANS for a 4-byte AS (RFC 6793) */
		if ((l->f[i].ie == IE_bgpSourceAsNumber || l->f[i].ie == IE_bgpDestinationAsNumber) && l->f[i].len == 2 &&
		    u > 0xffff)
			u = AS_TRANS;
		v[i].u = u;
		v[i].p = p;
	}
	struct genrec g = { .lay = l, .v = v, .end = (uint8_t)why, .first_us = e->first_us, .last_us = e->last_us,
	                    .packets = e->packets, .bytes = e->bytes };
	if (!a->nxp)
		a->c.lost++;
	for (size_t i = 0; i < a->nxp; i++)
		if (exporter_add_genrec(a->xp[i].ex, a->xp[i].h, &g, ag->now) != ERR_OK)
			a->c.lost++;
	a->c.exported[why < 6 ? why : FLOW_END_SHUTDOWN]++;
}

/* Export entry x and give it back. */
static void expire(struct agg *ag, struct acache *a, uint32_t x, enum flow_end why)
{
	export_entry(ag, a, x, why);
	struct aent *e = &a->e[x];
	uint32_t *pp = &a->bucket[e->bucket];
	while (*pp != x)
		pp = &a->e[*pp].hnext;
	*pp = e->hnext;
	DQ_UNLINK(a, &a->idle, iprev, inext, x);
	DQ_UNLINK(a, &a->age, aprev, anext, x);
	e->hnext = a->free;
	a->free = x;
	a->c.in_use--;
}

static void sweep(struct agg *ag, struct acache *a, uint64_t now)
{
	uint64_t in = (uint64_t)a->inactive_s * 1000000, ac = (uint64_t)a->active_s * 1000000;
	while (a->idle.head && now >= a->e[a->idle.head].touched && now - a->e[a->idle.head].touched >= in)
		expire(ag, a, a->idle.head, FLOW_END_IDLE);
	while (a->age.head && now >= a->e[a->age.head].created && now - a->e[a->age.head].created >= ac)
		expire(ag, a, a->age.head, FLOW_END_ACTIVE);
}

static void flush_all(struct agg *ag, struct acache *a)
{
	while (a->age.head)
		expire(ag, a, a->age.head, FLOW_END_SHUTDOWN);
}

static inline void masked(uint8_t out[4], const uint8_t in[4], unsigned bits)
{
	uint32_t m = bits >= 32 ? 0xffffffffu : bits ? ~(0xffffffffu >> bits) : 0;
	poke_u32(out, peek_u32(in) & m);
}

static void key_of(const struct acache *a, const struct flowrec *r, struct akey *k)
{
	unsigned s = sdef[a->scheme].key;
	memset(k, 0, sizeof(*k));
	if (s & K_SRCPFX) {
		k->smask = r->src_mask > a->smin ? r->src_mask : a->smin;
		if (k->smask > 32)
			k->smask = 32;
		masked(k->src, r->key.src, k->smask);
	}
	if (s & K_DSTPFX) {
		k->dmask = r->dst_mask > a->dmin ? r->dst_mask : a->dmin;
		if (k->dmask > 32)
			k->dmask = 32;
		masked(k->dst, r->key.dst, k->dmask);
	}
	if (s & K_NH)
		memcpy(k->nh, r->bgp_nexthop, 4);
	if (s & K_SRCAS)
		k->src_as = r->src_as;
	if (s & K_DSTAS)
		k->dst_as = r->dst_as;
	if (s & K_IN)
		k->in = r->key.ifindex;
	if (s & K_OUT)
		k->out = r->if_out;
	if (s & K_TOS)
		k->tos = r->key.tos;
	if (s & K_PROTO)
		k->proto = r->key.proto;
	if (s & K_PORTS) {
		k->sport = r->key.sport;
		k->dport = r->key.dport;
	}
}

static void add_record(struct agg *ag, struct acache *a, const struct flowrec *r, uint64_t now)
{
	if (r->key.af != 4) {
		a->c.not_ipv4++;
		return;
	}
	struct akey k;
	key_of(a, r, &k);
	uint32_t b = bucket_of(a, &k);
	uint32_t x = a->bucket[b];
	while (x && memcmp(&a->e[x].k, &k, sizeof(k)) != 0)
		x = a->e[x].hnext;
	if (!x) {
		if (!a->free) /* full: the longest-idle entry leaves early, counted */
			expire(ag, a, a->idle.head, FLOW_END_EMERGENCY);
		x = a->free;
		struct aent *e = &a->e[x];
		a->free = e->hnext;
		memset(e, 0, sizeof(*e));
		e->k = k;
		e->first_us = r->first_us;
		e->last_us = r->last_us;
		e->created = now;
		e->hnext = a->bucket[b];
		e->bucket = b;
		a->bucket[b] = x;
		DQ_PUSH(a, &a->age, aprev, anext, x);
		a->c.added++;
		a->c.in_use++;
	} else {
		DQ_UNLINK(a, &a->idle, iprev, inext, x);
	}
	struct aent *e = &a->e[x];
	e->touched = now;
	DQ_PUSH(a, &a->idle, iprev, inext, x);
	e->flows++;
	e->packets += r->packets;
	e->bytes += r->bytes;
	if (r->first_us < e->first_us)
		e->first_us = r->first_us;
	if (r->last_us > e->last_us)
		e->last_us = r->last_us;
	a->c.flows_in++;
}

/* --- exporters ------------------------------------------------------- */

/* The v8 header's sampling field, v5's encoding: mode (1 deterministic,
 * 2 random) << 14 | interval, of the main cache's sampler (conf_main_sampling);
 * 0 unsampled. */
static void main_sampling(const struct conf *c, struct exporter_cfg *cfg)
{
	uint32_t n = conf_main_sampling(c);
	if (n <= 1)
		return;
	bool rnd = false;
	for (size_t i = 0; i < c->niface; i++) {
		const struct conf_iface *f = &c->iface[i];
		const struct conf_sampler *s;
		if ((f->ingress || f->egress) && f->sampler[0] && (s = conf_find_sampler(c, f->sampler)) && s->one_out_of) {
			rnd = s->mode == CONF_SAMPLER_RANDOM;
			break;
		}
	}
	exporter_header_sampling(cfg, n, rnd);
}

static int effective_version(const struct conf_agg *ca)
{
	int v = conf_export_version(&ca->export, true);
	return sdef[ca->scheme].nf8 ? v : 9;
}

static int open_exporters(struct agg *ag, const struct conf *c, struct acache *a, char *err, size_t errlen)
{
	const struct conf_export *ce = &a->conf.export;
	if (!ce->ndest)
		return 0;
	a->xp = calloc(ce->ndest, sizeof(*a->xp));
	if (!a->xp) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < ce->ndest; i++) {
		struct axp *x = &a->xp[a->nxp];
		char e2[256];
		if (apply_dest_spec(&ce->dest[i], x->spec, sizeof(x->spec)) != 0) {
			snprintf(err, errlen, "aggregation cache %s: destination too long", conf_agg_scheme_name[a->scheme]);
			return -1;
		}
		struct transport_opts o = { 0 };
		struct sctp_dest_opts so;
		o.source = ce->source[0] ? conf_linux_name(c, ce->source) : NULL;
		o.block_ms = apply_file_mode(c) ? 10000 : 0; /* a replay can wait for a TCP/SCTP queue; live traffic cannot */
		o.mtu = (ce->set & CONF_EX_MTU) ? ce->mtu : 1500;
		apply_sctp_settings(&ce->dest[i], x->spec, &so, &o); /* the destination's SCTP sub-mode */
		x->t = transport_open(x->spec, &o, e2, sizeof(e2));
		if (!x->t) {
			snprintf(err, errlen, "aggregation cache %s: %s: %s", conf_agg_scheme_name[a->scheme], x->spec, e2);
			return -1;
		}
		a->nxp++;
		struct exporter_cfg cfg;
		struct conf_export tmp = *ce;
		tmp.set |= CONF_EX_VERSION;
		tmp.version = a->version;
		apply_exporter_cfg(&tmp, true, &cfg);
		if (!(ce->set & CONF_EX_SOURCE_ID))
			cfg.domain = 0x100u + (unsigned)a->scheme; /* a v9 stream of its own per cache */
		if (a->version == 8) {
			cfg.agg_scheme = sdef[a->scheme].nf8;
			main_sampling(c, &cfg);
		} else {
			cfg.flags |= EXPORTER_F_GENERIC;
		}
		x->ex = exporter_new(&cfg, x->t, e2, sizeof(e2));
		if (!x->ex || (x->h = exporter_add_tmpl(x->ex, &a->lay, e2, sizeof(e2))) < 0) {
			snprintf(err, errlen, "aggregation cache %s: %s: %s", conf_agg_scheme_name[a->scheme], x->spec, e2);
			return -1;
		}
		if (ag->started)
			exporter_set_start(x->ex, ag->start_us);
	}
	return 0;
}

static struct seqmem *seq_slot(struct agg *ag, const struct acache *a, const char *spec, bool add)
{
	for (size_t i = 0; i < ag->nseq; i++)
		if (ag->seq[i].scheme == a->scheme && ag->seq[i].version == a->version && strcmp(ag->seq[i].spec, spec) == 0)
			return &ag->seq[i];
	if (!add)
		return NULL;
	struct seqmem *m = &ag->seq[ag->nseq < SEQMEM_MAX ? ag->nseq++ : SEQMEM_MAX - 1]; /* full: the last reused */
	m->scheme = (uint8_t)a->scheme;
	m->version = (uint8_t)a->version;
	snprintf(m->spec, sizeof(m->spec), "%s", spec);
	return m;
}

/* New exporters take up their stream where an earlier one stopped. */
static void seq_restore(struct agg *ag, struct acache *a)
{
	for (size_t i = 0; i < a->nxp; i++) {
		struct seqmem *m = seq_slot(ag, a, a->xp[i].spec, false);
		if (m && a->xp[i].ex)
			exporter_set_seq(a->xp[i].ex, m->next);
	}
}

static void close_exporters(struct agg *ag, struct acache *a)
{
	for (size_t i = 0; i < a->nxp; i++) {
		struct axp *x = &a->xp[i];
		if (x->ex) {
			exporter_tick(x->ex, ag->now);
			exporter_flush(x->ex, ag->now);
			seq_slot(ag, a, x->spec, true)->next = exporter_seq_next(x->ex);
			exporter_free(x->ex);
		}
		transport_retire(x->t, DRAIN_MS);
	}
	free(a->xp);
	a->xp = NULL;
	a->nxp = 0;
}

/* --- states ---------------------------------------------------------- */

static struct acache *find_cache(const struct state *s, enum conf_agg_scheme k)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (s->cache[i]->scheme == k)
			return s->cache[i];
	return NULL;
}

static void set_params(struct acache *a, const struct conf_agg *ca)
{
	a->conf = *ca;
	a->active_s = conf_cache_active(&ca->cache);
	a->inactive_s = conf_cache_inactive(&ca->cache);
	a->smin = ca->mask_src_min;
	a->dmin = ca->mask_dst_min;
}

static bool same_export(const struct conf_export *x, const struct conf_export *y)
{
	return memcmp(x, y, sizeof(*x)) == 0;
}

/* Free what a prepared state made (not what it carries over). */
static void state_drop_new(struct state *s, struct state *old)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		struct acache *a = s->cache[i];
		if (!a->reused) /* a carried-over cache is the running one's */
			acache_free(a);
	}
	for (size_t i = 0; old && i < old->n; i++)
		old->cache[i]->reused = false;
	free(s);
}

/* A new state for c. A reused cache is the old object itself: its new
 * exporters (if its export changed) wait in a shadow until commit. */
struct shadow {
	struct acache *cache;   /* the reused cache */
	struct acache *fresh;   /* holds the new exporters and parameters */
};

struct prepared {
	struct state *s;
	struct shadow sh[CONF_AGG_MAX];
	size_t nsh;
};

static void prepared_drop(struct prepared *p, struct state *old)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nsh; i++)
		acache_free(p->sh[i].fresh);
	state_drop_new(p->s, old);
	free(p);
}

static struct prepared *prepare(struct agg *ag, const struct conf *c, struct state *old, char *err, size_t errlen)
{
	struct prepared *p = calloc(1, sizeof(*p));
	struct state *ns = calloc(1, sizeof(*ns));
	if (!p || !ns) {
		free(p);
		free(ns);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->s = ns;
	for (size_t i = 0; i < c->nagg; i++) {
		const struct conf_agg *ca = &c->agg[i];
		if (!ca->enabled)
			continue;
		uint32_t entries = conf_cache_entries(&ca->cache, CONF_AGG_ENTRIES_DEFAULT);
		struct acache *o = find_cache(old, ca->scheme);
		if (o && !o->reused && o->entries == entries) {
			o->reused = true;
			ns->cache[ns->n++] = o;
			/* parameters and exporters go in a shadow, switched at commit */
			struct acache *f = calloc(1, sizeof(*f));
			if (!f) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			p->sh[p->nsh++] = (struct shadow){ o, f };
			f->scheme = ca->scheme;
			f->version = effective_version(ca);
			set_params(f, ca);
			build_layout(f);
			if ((!same_export(&o->conf.export, &ca->export) || f->version != o->version) &&
			    open_exporters(ag, c, f, err, errlen) != 0)
				goto fail;
			f->xp_reused = same_export(&o->conf.export, &ca->export) && f->version == o->version;
			continue;
		}
		struct acache *a = calloc(1, sizeof(*a));
		if (!a) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		ns->cache[ns->n++] = a;
		a->isnew = true;
		a->scheme = ca->scheme;
		a->entries = entries;
		a->version = effective_version(ca);
		set_params(a, ca);
		if (acache_alloc(a) != 0) {
			snprintf(err, errlen, "aggregation cache %s: cannot allocate %u entries: %s",
			         conf_agg_scheme_name[a->scheme], entries, strerror(errno));
			goto fail;
		}
		build_layout(a);
		if (open_exporters(ag, c, a, err, errlen) != 0)
			goto fail;
		if (a->version != conf_export_version(&ca->export, true))
			log_note("aggregation cache %s exports version 9: version 8 has no layout for it",
			         conf_agg_scheme_name[a->scheme]);
	}
	return p;
fail:
	prepared_drop(p, old);
	return NULL;
}

static void commit(struct agg *ag, struct prepared *p)
{
	struct state *old = ag->cur, *ns = p->s;
	/* 1. caches going away: entries out through their own exporters */
	for (size_t i = 0; old && i < old->n; i++) {
		struct acache *a = old->cache[i];
		if (a->reused)
			continue;
		flush_all(ag, a);
		close_exporters(ag, a);
		log_info("aggregation cache %s removed, disabled or resized: its entries were exported",
		         conf_agg_scheme_name[a->scheme]);
		acache_free(a);
	}
	/* 2. carried-over caches: new parameters; new exporters if the export changed */
	for (size_t i = 0; i < p->nsh; i++) {
		struct acache *a = p->sh[i].cache, *f = p->sh[i].fresh;
		if (!f->xp_reused) {
			/* what the cache holds was aggregated under the old export: it
			 * leaves through the old exporters before they close */
			flush_all(ag, a);
			close_exporters(ag, a);
			a->xp = f->xp;
			a->nxp = f->nxp;
			f->xp = NULL;
			f->nxp = 0;
			a->version = f->version;
			a->lay = f->lay;
			seq_restore(ag, a);
		}
		set_params(a, &f->conf);
		a->reused = false;
		acache_free(f);
	}
	for (size_t i = 0; i < ns->n; i++) {
		if (ns->cache[i]->isnew)
			seq_restore(ag, ns->cache[i]); /* a new cache: its streams may have run before */
		ns->cache[i]->isnew = false;
		ns->cache[i]->reused = false;
	}
	free(old);
	ag->cur = ns;
	free(p);
}

/* --- hooks ----------------------------------------------------------- */

/* sysUptime 0 of every exporter: the main cache's first packet (without
 * a pipeline, tests: the first time seen). */
static void start_clock(struct agg *ag, uint64_t now)
{
	if (ag->started)
		return;
	struct meter *m = ag->rt ? rt_meter(ag->rt) : NULL;
	ag->started = true;
	ag->start_us = m ? cache_stats(meter_cache(m))->cleared_us : now;
	for (size_t i = 0; ag->cur && i < ag->cur->n; i++)
		for (size_t k = 0; k < ag->cur->cache[i]->nxp; k++)
			exporter_set_start(ag->cur->cache[i]->xp[k].ex, ag->start_us);
}

static void h_record(void *arg, const struct flowrec *r, uint64_t now)
{
	struct agg *ag = arg;
	const struct state *s = ag->cur;
	if (!s || !s->n)
		return;
	start_clock(ag, r->first_us < now ? r->first_us : now);
	if (now > ag->now)
		ag->now = now;
	for (size_t i = 0; i < s->n; i++)
		add_record(ag, s->cache[i], r, ag->now);
}

static void tick(void *arg, uint64_t now)
{
	struct agg *ag = arg;
	const struct state *s = ag->cur;
	if (!s || !s->n)
		return;
	start_clock(ag, now);
	if (now > ag->now)
		ag->now = now;
	for (size_t i = 0; i < s->n; i++) {
		struct acache *a = s->cache[i];
		sweep(ag, a, ag->now);
		for (size_t k = 0; k < a->nxp; k++) {
			transport_poll(a->xp[k].t);
			if (exporter_next_deadline(a->xp[k].ex) <= ag->now)
				exporter_tick(a->xp[k].ex, ag->now);
		}
	}
}

void agg_tick(struct agg *ag, uint64_t now)
{
	tick(ag, now);
}

static void h_flush(void *arg, uint64_t now)
{
	struct agg *ag = arg;
	const struct state *s = ag->cur;
	if (!s)
		return;
	start_clock(ag, now);
	if (now > ag->now)
		ag->now = now;
	for (size_t i = 0; i < s->n; i++) {
		struct acache *a = s->cache[i];
		sweep(ag, a, ag->now);
		flush_all(ag, a);
		for (size_t k = 0; k < a->nxp; k++) {
			exporter_tick(a->xp[k].ex, ag->now);
			exporter_flush(a->xp[k].ex, ag->now);
			transport_drain(a->xp[k].t, DRAIN_MS);
		}
	}
}

static int h_apply(void *arg, const struct conf *old, const struct conf *cur, char *err, size_t errlen)
{
	struct agg *ag = arg;
	struct meter *m = ag->rt ? rt_meter(ag->rt) : NULL;
	if (!ag->ticked && m) {
		if (meter_add_tick(m, tick, ag) != 0) {
			snprintf(err, errlen, "the meter has no room for the aggregation caches");
			return -1;
		}
		ag->ticked = true;
	}
	prepared_drop(ag->next, ag->cur);
	ag->next = NULL;
	struct prepared *p = prepare(ag, cur, ag->cur, err, errlen);
	if (!p)
		return -1;
	if (!old) {
		commit(ag, p);
		for (size_t i = 0; i < ag->cur->n; i++) {
			const struct acache *a = ag->cur->cache[i];
			log_info("aggregation cache %s: %u entries, export version %d to %zu destination%s",
			         conf_agg_scheme_name[a->scheme], a->entries, a->version, a->nxp, a->nxp == 1 ? "" : "s");
		}
		return 0;
	}
	ag->next = p;
	return 0;
}

static void h_commit(void *arg, bool ok)
{
	struct agg *ag = arg;
	struct prepared *p = ag->next;
	if (!p)
		return;
	ag->next = NULL;
	if (ok)
		commit(ag, p);
	else
		prepared_drop(p, ag->cur);
}

/* --- show ------------------------------------------------------------ */

static void ipv4_text(char *buf, size_t len, const uint8_t a[4])
{
	snprintf(buf, len, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
}

static void show_text(FILE *out, const struct acache *a)
{
	unsigned k = sdef[a->scheme].key;
	const struct agg_counters *c = &a->c;
	fprintf(out, "IP Flow Aggregation Cache %s, %u entries, export version %d to %zu destination%s\n",
	        conf_agg_scheme_name[a->scheme], a->entries, a->version, a->nxp, a->nxp == 1 ? "" : "s");
	fprintf(out, "  %u active, %u inactive, %llu added\n", c->in_use, a->entries - c->in_use,
	        (unsigned long long)c->added);
	fprintf(out, "  Timeouts: active %u s, inactive %u s", a->active_s, a->inactive_s);
	if (a->smin)
		fprintf(out, "; mask source minimum %u", a->smin);
	if (a->dmin)
		fprintf(out, "; mask destination minimum %u", a->dmin);
	fputc('\n', out);
	fprintf(out, "  Flows aggregated %llu, not aggregated (IPv6) %llu\n", (unsigned long long)c->flows_in,
	        (unsigned long long)c->not_ipv4);
	fprintf(out, "  Entries exported: idle %llu, active %llu, cache full %llu, forced %llu; records not sent %llu\n\n",
	        (unsigned long long)c->exported[FLOW_END_IDLE], (unsigned long long)c->exported[FLOW_END_ACTIVE],
	        (unsigned long long)c->exported[FLOW_END_EMERGENCY], (unsigned long long)c->exported[FLOW_END_SHUTDOWN],
	        (unsigned long long)c->lost);
	if (k & K_IN)
		fprintf(out, "%-8s ", "Src If");
	if (k & K_SRCPFX)
		fprintf(out, "%-15s %-4s ", "Src Prefix", "Msk");
	if (k & K_SRCAS)
		fprintf(out, "%-6s ", "Src AS");
	if (k & K_OUT)
		fprintf(out, "%-8s ", "Dst If");
	if (k & K_DSTPFX)
		fprintf(out, "%-15s %-4s ", "Dst Prefix", "Msk");
	if (k & K_DSTAS)
		fprintf(out, "%-6s ", "Dst AS");
	if (k & K_NH)
		fprintf(out, "%-15s ", "BGP NextHop");
	if (k & K_TOS)
		fprintf(out, "%-3s ", "TOS");
	if (k & K_PROTO)
		fprintf(out, "%-3s ", "Pr");
	if (k & K_PORTS)
		fprintf(out, "%-5s %-5s ", "SrcP", "DstP");
	fprintf(out, "%10s %12s %14s\n", "Flows", "Pkts", "Bytes");
	unsigned shown = 0;
	for (uint32_t x = a->age.head; x && shown < SHOW_MAX; x = a->e[x].anext, shown++) {
		const struct aent *e = &a->e[x];
		char b[20];
		if (k & K_IN)
			fprintf(out, "%-8u ", e->k.in);
		if (k & K_SRCPFX) {
			ipv4_text(b, sizeof(b), e->k.src);
			fprintf(out, "%-15s /%-3u ", b, e->k.smask);
		}
		if (k & K_SRCAS)
			fprintf(out, "%-6u ", e->k.src_as);
		if (k & K_OUT)
			fprintf(out, "%-8u ", e->k.out);
		if (k & K_DSTPFX) {
			ipv4_text(b, sizeof(b), e->k.dst);
			fprintf(out, "%-15s /%-3u ", b, e->k.dmask);
		}
		if (k & K_DSTAS)
			fprintf(out, "%-6u ", e->k.dst_as);
		if (k & K_NH) {
			ipv4_text(b, sizeof(b), e->k.nh);
			fprintf(out, "%-15s ", b);
		}
		if (k & K_TOS)
			fprintf(out, "%02X  ", e->k.tos);
		if (k & K_PROTO)
			fprintf(out, "%02X  ", e->k.proto);
		if (k & K_PORTS)
			fprintf(out, "%04X  %04X  ", e->k.sport, e->k.dport);
		fprintf(out, "%10llu %12llu %14llu\n", (unsigned long long)e->flows, (unsigned long long)e->packets,
		        (unsigned long long)e->bytes);
	}
	if (c->in_use > shown)
		fprintf(out, "(%u more entries not shown)\n", c->in_use - shown);
}

static void show_json(FILE *out, const struct acache *a)
{
	unsigned k = sdef[a->scheme].key;
	const struct agg_counters *c = &a->c;
	fprintf(out, "{\"scheme\":\"%s\",\"configured\":true,\"enabled\":true,\"entries\":%u,\"activeTimeout\":%u,"
	             "\"inactiveTimeout\":%u,\"exportVersion\":%d,\"destinations\":%zu,\"cacheAllocated\":true,"
	             "\"maskSourceMinimum\":%u,\"maskDestinationMinimum\":%u,\"active\":%u,\"added\":%llu,"
	             "\"flowsAggregated\":%llu,\"notAggregatedIPv6\":%llu,\"exportedIdle\":%llu,\"exportedActive\":%llu,"
	             "\"exportedCacheFull\":%llu,\"exportedForced\":%llu,\"recordsNotSent\":%llu,\"flows\":[",
	        conf_agg_scheme_name[a->scheme], a->entries, a->active_s, a->inactive_s, a->version, a->nxp, a->smin,
	        a->dmin, c->in_use, (unsigned long long)c->added, (unsigned long long)c->flows_in,
	        (unsigned long long)c->not_ipv4, (unsigned long long)c->exported[FLOW_END_IDLE],
	        (unsigned long long)c->exported[FLOW_END_ACTIVE], (unsigned long long)c->exported[FLOW_END_EMERGENCY],
	        (unsigned long long)c->exported[FLOW_END_SHUTDOWN], (unsigned long long)c->lost);
	unsigned shown = 0;
	for (uint32_t x = a->age.head; x && shown < SHOW_MAX; x = a->e[x].anext, shown++) {
		const struct aent *e = &a->e[x];
		char b[20];
		fprintf(out, "%s{", shown ? "," : "");
		if (k & K_SRCPFX) {
			ipv4_text(b, sizeof(b), e->k.src);
			fprintf(out, "\"sourceIPv4Prefix\":\"%s\",\"sourceIPv4PrefixLength\":%u,", b, e->k.smask);
		}
		if (k & K_DSTPFX) {
			ipv4_text(b, sizeof(b), e->k.dst);
			fprintf(out, "\"destinationIPv4Prefix\":\"%s\",\"destinationIPv4PrefixLength\":%u,", b, e->k.dmask);
		}
		if (k & K_NH) {
			ipv4_text(b, sizeof(b), e->k.nh);
			fprintf(out, "\"bgpNextHopIPv4Address\":\"%s\",", b);
		}
		if (k & K_TOS)
			fprintf(out, "\"ipClassOfService\":%u,", e->k.tos);
		if (k & K_PROTO)
			fprintf(out, "\"protocolIdentifier\":%u,", e->k.proto);
		if (k & K_PORTS)
			fprintf(out, "\"sourceTransportPort\":%u,\"destinationTransportPort\":%u,", e->k.sport, e->k.dport);
		if (k & K_SRCAS)
			fprintf(out, "\"bgpSourceAsNumber\":%u,", e->k.src_as);
		if (k & K_DSTAS)
			fprintf(out, "\"bgpDestinationAsNumber\":%u,", e->k.dst_as);
		if (k & K_IN)
			fprintf(out, "\"ingressInterface\":%u,", e->k.in);
		if (k & K_OUT)
			fprintf(out, "\"egressInterface\":%u,", e->k.out);
		fprintf(out, "\"deltaFlowCount\":%llu,\"packetDeltaCount\":%llu,\"octetDeltaCount\":%llu,"
		             "\"flowStartMilliseconds\":%llu,\"flowEndMilliseconds\":%llu}",
		        (unsigned long long)e->flows, (unsigned long long)e->packets, (unsigned long long)e->bytes,
		        (unsigned long long)(e->first_us / 1000), (unsigned long long)(e->last_us / 1000));
	}
	fputs("]}\n", out);
}

static void h_show_agg(void *arg, FILE *out, const struct conf_agg *ca, bool json)
{
	struct agg *ag = arg;
	const struct acache *a = find_cache(ag->cur, ca->scheme);
	if (!a) {
		if (json)
			fprintf(out, "{\"scheme\":\"%s\",\"configured\":true,\"enabled\":%s,\"cacheAllocated\":false}\n",
			        conf_agg_scheme_name[ca->scheme], ca->enabled ? "true" : "false");
		else
			fprintf(out, "IP Flow Aggregation Cache %s is %s: no cache allocated\n", conf_agg_scheme_name[ca->scheme],
			        ca->enabled ? "enabled" : "disabled");
		return;
	}
	if (json)
		show_json(out, a);
	else
		show_text(out, a);
}

static void h_finish(void *arg, FILE *stats)
{
	struct agg *ag = arg;
	const struct state *s = ag->cur;
	if (!stats || !s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		const struct acache *a = s->cache[i];
		const struct agg_counters *c = &a->c;
		fprintf(stats, "Aggregation cache %s: flows aggregated %llu, not aggregated (IPv6) %llu, entries added %llu, "
		               "records exported %llu (idle %llu, active %llu, cache full %llu, forced %llu), not sent %llu\n",
		        conf_agg_scheme_name[a->scheme], (unsigned long long)c->flows_in, (unsigned long long)c->not_ipv4,
		        (unsigned long long)c->added,
		        (unsigned long long)(c->exported[FLOW_END_IDLE] + c->exported[FLOW_END_ACTIVE] +
		                             c->exported[FLOW_END_EMERGENCY] + c->exported[FLOW_END_SHUTDOWN]),
		        (unsigned long long)c->exported[FLOW_END_IDLE], (unsigned long long)c->exported[FLOW_END_ACTIVE],
		        (unsigned long long)c->exported[FLOW_END_EMERGENCY], (unsigned long long)c->exported[FLOW_END_SHUTDOWN],
		        (unsigned long long)c->lost);
		for (size_t k = 0; k < a->nxp; k++) {
			const struct exporter_stats *st = exporter_stats(a->xp[k].ex);
			fprintf(stats, "Aggregation cache %s export v%d %s: records %llu in %llu messages, failed %llu, "
			               "saturated %llu, send errors %llu\n",
			        conf_agg_scheme_name[a->scheme], a->version, a->xp[k].spec, (unsigned long long)st->records,
			        (unsigned long long)st->messages, (unsigned long long)st->flows_failed,
			        (unsigned long long)st->saturated, (unsigned long long)st->send_errors);
		}
	}
}

/* --- life cycle ------------------------------------------------------ */

struct agg *agg_new(struct rt *rt)
{
	struct agg *ag = calloc(1, sizeof(*ag));
	if (ag)
		ag->rt = rt;
	return ag;
}

void agg_free(struct agg *ag)
{
	if (!ag)
		return;
	prepared_drop(ag->next, ag->cur);
	for (size_t i = 0; ag->cur && i < ag->cur->n; i++)
		acache_free(ag->cur->cache[i]);
	free(ag->cur);
	free(ag);
}

void agg_hooks(struct agg *ag, struct rt_hooks *h)
{
	memset(h, 0, sizeof(*h));
	h->apply = h_apply;
	h->commit = h_commit;
	h->show_agg = h_show_agg;
	h->finish = h_finish;
	h->record = h_record;
	h->flush = h_flush;
	h->arg = ag;
}

int agg_counters(const struct agg *ag, enum conf_agg_scheme s, struct agg_counters *out)
{
	const struct acache *a = find_cache(ag->cur, s);
	if (!a)
		return -1;
	*out = a->c;
	return 0;
}
