/* session.c — exporters, streams, template stores, sequence tracking,
 * sampling and the pending-data buffer; see session.h. */
#include "collect/session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bytes.h"
#include "lib/hash.h"
#include "lib/log.h"

#define SAMPLERS_MAX 16
#define PEND_BUCKET_BITS 6
#define PEND_BUCKETS (1u << PEND_BUCKET_BITS)
#define SAVE_EVERY_US 1000000u

/* IEs the sampling logic reads that the catalog may not name. */
enum {
	IE_ID_SAMPLING_INTERVAL = 34, IE_ID_SAMPLER_ID = 48, IE_ID_SAMPLER_RINTERVAL = 50,
	IE_ID_SELECTOR_ID = 302, IE_ID_PKT_INTERVAL = 305, IE_ID_PKT_SPACE = 306,
	IE_ID_SAMPLING_SIZE = 309, IE_ID_SAMPLING_POP = 310,
};

/* A template as the collector keeps it: the decoders' struct tmpl plus
 * when it was last seen and where its sampling fields are. */
struct ctmpl {
	struct tmpl t;
	uint64_t seen_us;
	int16_t i_sampler;  /* samplerId or selectorId */
	int16_t i_interval; /* samplingInterval or samplerRandomInterval */
	int16_t i_pint, i_pspace, i_size, i_pop;
	int16_t i_init;     /* systemInitTimeMilliseconds */
	bool has_reason;    /* flowEndReason present */
	bool has_rate;      /* a sampling rate field present */
	struct tmpl_plan plan; /* compiled reader (fixed-length templates) */
};

/* A data set held until its template comes. */
struct pend {
	struct pend *s_next;          /* stream FIFO */
	struct pend *g_next, *g_prev; /* global arrival order */
	struct cstream *st;
	uint64_t at_us;
	uint64_t recv_us;
	struct rec_dec dec;
	uint16_t tmpl_id;
	size_t len;
	uint8_t data[];
};

/* What a records sequence number counts (export.h NF_SEQ_RECORDS):
 * RFC 7011 §3.1 / the v5 layout say the data records sent before this
 * message; some exporters count the message's own records too (softflowd's
 * IPFIX), or leave options data records out. */
enum { SEQM_RFC = 0, SEQM_FLOWS, SEQM_INCL, SEQM_INCL_FLOWS, SEQM_N };
#define SEQ_SWITCH_STREAK 4 /* messages a model must predict before the stream adopts it */

struct cexp;

struct cstream {
	struct cexp *ex;
	struct cstream *next;
	const struct nf_codec *codec;
	uint16_t version;
	uint32_t domain;
	uint32_t session;
	struct ctmpl **tab;           /* open addressing on template id; NULL = empty */
	unsigned tcap, tn;
	uint32_t tmul;                /* odd, random: template ids come from the network */
	uint32_t seq_next;            /* per model: the next normalised sequence value expected */
	uint8_t seq_valid;
	uint8_t seq_model;            /* SEQM_*: how this exporter counts (see seq_update) */
	uint32_t seq_mnext[SEQM_N];
	uint8_t seq_streak[SEQM_N];   /* consecutive messages each model predicted */
	uint8_t seq_judged;           /* messages judged so far (saturates) */
	uint8_t boot_valid;
	int64_t boot_ms;              /* v9: exporter boot time, ms since 1970 (see v9_export_us) */
	uint64_t init_ms;             /* IPFIX: systemInitTimeMilliseconds from options data; 0 unknown */
	unsigned nsamp;
	struct { uint64_t id; uint32_t rate; } samp[SAMPLERS_MAX];
	struct pbucket { struct pend *head, *tail; } *pb; /* PEND_BUCKETS, made on first use */
	size_t npend;                 /* sets held */
	struct tmpl_plan fplan;       /* v1/v5/v7/v8: the fixed layout, compiled */
	bool fixed_reason;            /* ... and it has flowEndReason */
	struct coll_stats st;
};

struct cexp {
	struct cexp *hnext;
	uint8_t addr[16];
	uint8_t af;
	uint16_t last_port;
	uint8_t last_transport;
	unsigned nstreams;
	struct cstream *streams;
	struct coll_stats st;         /* header-level errors, and streams that ended */
	struct log_rl rl;
};

struct coll {
	struct coll_cfg cfg;
	coll_out_fn out;
	void *out_arg;
	struct cexp **htab;
	unsigned hcap, nexp;
	uint64_t seed;
	size_t ntmpl;
	struct pend *g_head, *g_tail;
	size_t pend_bytes;
	struct coll_stats orphan;     /* what no exporter could be charged with */
	bool dirty;
	uint64_t last_save_us;
	size_t loaded;
	char path[PATH_MAX];
	struct cexp *last_ex;
	struct cstream *last_st;
	struct log_rl rl;
};

static const char *const reason_msg[COLL_E_MAX_] = {
	[COLL_E_UNKNOWN_VERSION] = "unknown export version (not 1, 5, 7, 8, 9 or 10)",
	[COLL_E_EXPORTERS] = "exporter table full (--max-exporters)",
	[COLL_E_STREAMS] = "too many observation domains from this exporter (--max-streams)",
	[COLL_E_TMPL_LIMIT] = "template refused: template limit reached (--max-templates)",
	[COLL_E_TMPL_UNSUPP] = "template with more than 128 fields, not kept",
	[COLL_E_RESERVED_SET] = "set with a reserved id, skipped",
	[COLL_E_RECORD] = "data record fields could not be read",
	[COLL_E_V9_COUNT] = "v9 header count is neither the records nor the flowsets sent",
};

const char *coll_reason_str(int reason)
{
	if (reason > 0 && reason < NF_E_MAX_)
		return nf_err_str(reason);
	if (reason >= NF_E_MAX_ && reason < COLL_E_MAX_ && reason_msg[reason])
		return reason_msg[reason];
	return "unknown";
}

void coll_cfg_init(struct coll_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->tmpl_lifetime_s = 3 * 1800;
	cfg->pending_bytes = 4u << 20;
	cfg->pending_s = 60;
	cfg->max_exporters = 4096;
	cfg->max_streams = 256;
	cfg->max_templates = 16384;
}

static void stats_add(struct coll_stats *a, const struct coll_stats *b)
{
#define COLL_X(name, text) a->name += b->name;
	COLL_STATS(COLL_X)
#undef COLL_X
	for (int i = 0; i < COLL_E_MAX_; i++)
		a->bad[i] += b->bad[i];
}

static const char *addr_str(uint8_t af, const uint8_t *a, char *buf, size_t len)
{
	if (!inet_ntop(af == 6 ? AF_INET6 : AF_INET, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

/* ---- template table of a stream (linear probing, backward-shift delete) ---- */

/* Home slot of a template id: multiplicative hashing with the stream's
 * random odd multiplier, top bits (cap is a power of two), so a sender
 * cannot choose ids that pile onto one slot. */
static unsigned tslot(const struct cstream *s, uint16_t id, unsigned cap)
{
	unsigned bits = 0;
	while ((1u << bits) < cap)
		bits++;
	return bits ? (unsigned)(((uint32_t)id * s->tmul) >> (32 - bits)) : 0;
}

static struct ctmpl *tab_get(const struct cstream *s, uint16_t id)
{
	if (!s->tcap)
		return NULL;
	for (unsigned i = tslot(s, id, s->tcap);; i = (i + 1) & (s->tcap - 1)) {
		struct ctmpl *ct = s->tab[i];
		if (!ct)
			return NULL;
		if (ct->t.id == id)
			return ct;
	}
}

static int tab_grow(struct cstream *s)
{
	unsigned ncap = s->tcap ? s->tcap * 2 : 8;
	struct ctmpl **n = calloc(ncap, sizeof(*n));
	if (!n)
		return ERR_NOMEM;
	for (unsigned i = 0; i < s->tcap; i++) {
		struct ctmpl *ct = s->tab[i];
		if (!ct)
			continue;
		unsigned j = tslot(s, ct->t.id, ncap);
		while (n[j])
			j = (j + 1) & (ncap - 1);
		n[j] = ct;
	}
	free(s->tab);
	s->tab = n;
	s->tcap = ncap;
	return ERR_OK;
}

/* Insert ct (its id must be absent). */
static int tab_put(struct cstream *s, struct ctmpl *ct)
{
	if ((s->tn + 1) * 2 > s->tcap && tab_grow(s) != ERR_OK)
		return ERR_NOMEM;
	unsigned i = tslot(s, ct->t.id, s->tcap);
	while (s->tab[i])
		i = (i + 1) & (s->tcap - 1);
	s->tab[i] = ct;
	s->tn++;
	return ERR_OK;
}

/* Remove the entry at slot i, shifting followers back (no tombstones). */
static void tab_del_at(struct cstream *s, unsigned i)
{
	unsigned mask = s->tcap - 1;
	s->tab[i] = NULL;
	s->tn--;
	for (unsigned j = (i + 1) & mask; s->tab[j]; j = (j + 1) & mask) {
		unsigned home = tslot(s, s->tab[j]->t.id, s->tcap);
		/* move j back to i if its home is not in (i, j] cyclically */
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			s->tab[i] = s->tab[j];
			s->tab[j] = NULL;
			i = j;
		}
	}
}

static void tmpl_gone(struct coll *c, struct cstream *s, unsigned slot)
{
	free(s->tab[slot]);
	tab_del_at(s, slot);
	c->ntmpl--;
	if (s->session == 0)
		c->dirty = true;
}

static int tab_find_slot(const struct cstream *s, uint16_t id)
{
	if (!s->tcap)
		return -1;
	for (unsigned i = tslot(s, id, s->tcap);; i = (i + 1) & (s->tcap - 1)) {
		if (!s->tab[i])
			return -1;
		if (s->tab[i]->t.id == id)
			return (int)i;
	}
}

/* ---- exporters and streams ---- */

static uint64_t exp_hash(const struct coll *c, uint8_t af, const uint8_t *addr)
{
	return hash_bytes(addr, af == 6 ? 16 : 4, c->seed ^ af);
}

static int exp_grow(struct coll *c)
{
	unsigned ncap = c->hcap ? c->hcap * 2 : 64;
	struct cexp **n = calloc(ncap, sizeof(*n));
	if (!n)
		return ERR_NOMEM;
	for (unsigned i = 0; i < c->hcap; i++) {
		struct cexp *e = c->htab[i], *next;
		for (; e; e = next) {
			next = e->hnext;
			unsigned j = (unsigned)exp_hash(c, e->af, e->addr) & (ncap - 1);
			e->hnext = n[j];
			n[j] = e;
		}
	}
	free(c->htab);
	c->htab = n;
	c->hcap = ncap;
	return ERR_OK;
}

static struct cexp *exp_get(struct coll *c, uint8_t af, const uint8_t *addr, bool create)
{
	size_t alen = af == 6 ? 16 : 4;
	if (c->last_ex && c->last_ex->af == af && memcmp(c->last_ex->addr, addr, alen) == 0)
		return c->last_ex;
	if (c->hcap) {
		unsigned b = (unsigned)exp_hash(c, af, addr) & (c->hcap - 1);
		for (struct cexp *e = c->htab[b]; e; e = e->hnext)
			if (e->af == af && memcmp(e->addr, addr, alen) == 0)
				return c->last_ex = e;
	}
	if (!create || c->nexp >= c->cfg.max_exporters)
		return NULL;
	if (c->nexp + 1 > c->hcap && exp_grow(c) != ERR_OK)
		return NULL;
	struct cexp *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->af = af;
	memcpy(e->addr, addr, alen);
	unsigned b = (unsigned)exp_hash(c, af, addr) & (c->hcap - 1);
	e->hnext = c->htab[b];
	c->htab[b] = e;
	c->nexp++;
	return c->last_ex = e;
}

static struct cstream *stream_find(struct coll *c, struct cexp *e, uint16_t version, uint32_t domain,
                                   uint32_t session, bool create)
{
	struct cstream *s = c->last_st;
	if (s && s->ex == e && s->version == version && s->domain == domain && s->session == session)
		return s;
	for (s = e->streams; s; s = s->next)
		if (s->version == version && s->domain == domain && s->session == session)
			return c->last_st = s;
	const struct nf_codec *codec = nf_codec_by_version(version);
	if (!create || !codec || e->nstreams >= c->cfg.max_streams)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->ex = e;
	s->codec = codec;
	s->tmul = (uint32_t)(c->seed >> 32) | 1u;
	if (codec->fixed) {
		(void)tmpl_plan_init(&s->fplan, codec->fixed);
		s->fixed_reason = tmpl_find(codec->fixed, IE_flowEndReason) >= 0;
	}
	s->version = version;
	s->domain = domain;
	s->session = session;
	s->next = e->streams;
	e->streams = s;
	e->nstreams++;
	return c->last_st = s;
}

struct cstream *coll_stream_get(struct coll *c, uint8_t af, const uint8_t *addr, uint16_t version,
                                uint32_t domain, uint32_t session, bool create)
{
	if (af != 4 && af != 6)
		return NULL;
	struct cexp *e = exp_get(c, af, addr, create);
	return e ? stream_find(c, e, version, domain, session, create) : NULL;
}

uint64_t coll_stream_init_ms(const struct cstream *s)
{
	return s->init_ms;
}

void coll_stream_set_init_ms(struct cstream *s, uint64_t init_ms)
{
	s->init_ms = init_ms;
}

const struct coll_stats *coll_stream_stats(const struct cstream *s)
{
	return &s->st;
}

const struct tmpl *coll_stream_tmpl(const struct cstream *s, uint16_t id)
{
	const struct ctmpl *ct = tab_get(s, id);
	return ct ? &ct->t : NULL;
}

uint32_t coll_stream_sampler(const struct cstream *s, uint64_t id)
{
	for (unsigned i = 0; i < s->nsamp; i++)
		if (s->samp[i].id == id)
			return s->samp[i].rate;
	return 0;
}

/* Set a sampler's rate; the table keeps SAMPLERS_MAX (the oldest goes). */
int coll_stream_set_sampler(struct cstream *s, uint64_t id, uint32_t rate)
{
	for (unsigned i = 0; i < s->nsamp; i++)
		if (s->samp[i].id == id) {
			s->samp[i].rate = rate;
			return ERR_OK;
		}
	if (s->nsamp == SAMPLERS_MAX) {
		memmove(&s->samp[0], &s->samp[1], sizeof(s->samp[0]) * (SAMPLERS_MAX - 1));
		s->nsamp--;
	}
	s->samp[s->nsamp].id = id;
	s->samp[s->nsamp].rate = rate;
	s->nsamp++;
	return ERR_OK;
}

/* ---- templates ---- */

static void ctmpl_index(struct ctmpl *ct)
{
	ct->i_sampler = ct->i_interval = ct->i_pint = ct->i_pspace = ct->i_size = ct->i_pop = ct->i_init = -1;
	bool v9 = ct->t.flags & TMPL_F_V9;
	(void)tmpl_plan_init(&ct->plan, &ct->t); /* varlen: plan.usable 0 */
	ct->has_rate = false;
	ct->has_reason = tmpl_find(&ct->t, IE_flowEndReason) >= (int)ct->t.scope_count;
	for (unsigned i = 0; i < ct->t.nfields; i++) {
		const struct tmpl_field *f = &ct->t.f[i];
		if (f->pen || (v9 && i < ct->t.scope_count))
			continue; /* v9 scope fields are scope types, not IEs */
		int16_t *slot = NULL;
		switch (f->ie) {
		case IE_ID_SAMPLER_ID:
		case IE_ID_SELECTOR_ID: slot = &ct->i_sampler; break;
		case IE_ID_SAMPLING_INTERVAL:
		case IE_ID_SAMPLER_RINTERVAL: slot = &ct->i_interval; break;
		case IE_ID_PKT_INTERVAL: slot = &ct->i_pint; break;
		case IE_ID_PKT_SPACE: slot = &ct->i_pspace; break;
		case IE_ID_SAMPLING_SIZE: slot = &ct->i_size; break;
		case IE_ID_SAMPLING_POP: slot = &ct->i_pop; break;
		case IE_systemInitTimeMilliseconds: slot = &ct->i_init; break;
		default: break;
		}
		if (slot && *slot < 0)
			*slot = (int16_t)i;
	}
	ct->has_rate = ct->i_sampler >= 0 || ct->i_interval >= 0 || ct->i_pint >= 0 || ct->i_size >= 0;
}

static bool same_layout(const struct tmpl *a, const struct tmpl *b)
{
	if (a->nfields != b->nfields || a->scope_count != b->scope_count || a->flags != b->flags)
		return false;
	for (unsigned i = 0; i < a->nfields; i++)
		if (a->f[i].ie != b->f[i].ie || a->f[i].len != b->f[i].len || a->f[i].pen != b->f[i].pen)
			return false;
	return true;
}

static int add_tmpl(struct coll *c, struct cstream *s, const struct tmpl *t, uint64_t now_us, bool received)
{
	struct ctmpl *ct = tab_get(s, t->id);
	if (received) {
		s->st.templates++;
		if (t->scope_count)
			s->st.opt_templates++;
	}
	if (ct) {
		if (!same_layout(&ct->t, t)) {
			s->st.tmpl_changed++;
			ct->t = *t;
			ctmpl_index(ct);
			if (s->session == 0)
				c->dirty = true;
		}
		ct->seen_us = now_us;
		return ERR_OK;
	}
	if (c->ntmpl >= c->cfg.max_templates)
		return ERR_FULL;
	ct = malloc(sizeof(*ct));
	if (!ct)
		return ERR_NOMEM;
	ct->t = *t;
	ct->seen_us = now_us;
	ctmpl_index(ct);
	if (tab_put(s, ct) != ERR_OK) {
		free(ct);
		return ERR_NOMEM;
	}
	if (received)
		s->st.tmpl_new++;
	c->ntmpl++;
	if (s->session == 0)
		c->dirty = true;
	return ERR_OK;
}

int coll_stream_add_tmpl(struct coll *c, struct cstream *s, const struct tmpl *t, uint64_t now_us)
{
	return add_tmpl(c, s, t, now_us, true);
}

int coll_stream_load_tmpl(struct coll *c, struct cstream *s, const struct tmpl *t, uint64_t seen_us)
{
	return add_tmpl(c, s, t, seen_us, false);
}

static bool tmpl_expired(const struct coll *c, const struct cstream *s, const struct ctmpl *ct, uint64_t now)
{
	uint64_t life = (uint64_t)c->cfg.tmpl_lifetime_s * 1000000u;
	return s->session == 0 && life && now > ct->seen_us && now - ct->seen_us > life;
}

/* ---- the decode context: the template store the decoders see ---- */

struct dctx {
	struct coll *c;
	struct cstream *s;
	uint64_t now;
	int refused; /* the store refused a template: reason */
};

static const struct tmpl *st_lookup(void *ctx, uint32_t domain, uint16_t id)
{
	struct dctx *d = ctx;
	(void)domain; /* d->s is the stream of the header's domain */
	int slot = tab_find_slot(d->s, id);
	if (slot < 0)
		return NULL;
	struct ctmpl *ct = d->s->tab[slot];
	if (tmpl_expired(d->c, d->s, ct, d->now)) {
		d->s->st.tmpl_expired++;
		tmpl_gone(d->c, d->s, (unsigned)slot);
		return NULL;
	}
	return &ct->t;
}

static int st_add(void *ctx, uint32_t domain, const struct tmpl *t)
{
	struct dctx *d = ctx;
	(void)domain;
	int rc = coll_stream_add_tmpl(d->c, d->s, t, d->now);
	if (rc != ERR_OK)
		d->refused = COLL_E_TMPL_LIMIT;
	return rc;
}

static int st_withdraw(void *ctx, uint32_t domain, uint16_t id)
{
	struct dctx *d = ctx;
	struct cstream *s = d->s;
	int found = 0;
	(void)domain;
	if (id >= TMPL_ID_MIN) {
		int slot = tab_find_slot(s, id);
		if (slot >= 0) {
			tmpl_gone(d->c, s, (unsigned)slot);
			found = 1;
		}
	} else {
		/* RFC 7011 §8.1: id 2 in a template set withdraws every template,
		 * id 3 in an options template set every options template. */
		for (unsigned i = 0; i < s->tcap;) {
			struct ctmpl *ct = s->tab[i];
			if (ct && (id == 2 ? ct->t.scope_count == 0 : ct->t.scope_count != 0)) {
				tmpl_gone(d->c, s, i);
				found++;
				continue; /* the slot now holds a shifted entry, or is empty */
			}
			i++;
		}
	}
	s->st.withdrawals += found ? (unsigned)found : 0;
	return found ? ERR_OK : ERR_NOTFOUND;
}

/* ---- records ---- */

/* Field idx of record (p, len) laid out by t: pointer and length. */
static bool rec_field(const struct tmpl *t, const uint8_t *p, size_t len, int idx, const uint8_t **fp,
                      size_t *flen)
{
	const struct tmpl_field *f = &t->f[idx];
	if (f->off != TMPL_OFF_VAR && f->len != IE_VARLEN) {
		if ((size_t)f->off + f->len > len)
			return false;
		*fp = p + f->off;
		*flen = f->len;
		return true;
	}
	struct rec_iter ri;
	struct rec_field rf;
	rec_iter_init(&ri, t, p, len);
	while (rec_iter_next(&ri, &rf) == ERR_OK)
		if (rf.idx == idx) {
			*fp = rf.p;
			*flen = rf.len;
			return true;
		}
	return false;
}

static bool rec_uint(const struct tmpl *t, const uint8_t *p, size_t len, int idx, uint64_t *v)
{
	const uint8_t *fp;
	size_t n;
	if (idx < 0 || !rec_field(t, p, len, idx, &fp, &n) || n < 1 || n > 8)
		return false;
	*v = peek_uint(fp, (unsigned)n);
	return true;
}

/* The rate an (options) record states, 0 if none. */
static uint32_t rec_rate(const struct ctmpl *ct, const uint8_t *p, size_t len)
{
	const struct tmpl *t = &ct->t;
	uint64_t a, b;
	if (rec_uint(t, p, len, ct->i_interval, &a) && a > 0)
		return a > UINT32_MAX ? UINT32_MAX : (uint32_t)a;
	if (rec_uint(t, p, len, ct->i_pint, &a) && rec_uint(t, p, len, ct->i_pspace, &b) && a > 0) {
		uint64_t r = (a + b) / a; /* RFC 5476: interval selected out of interval + space */
		return r > UINT32_MAX ? UINT32_MAX : (uint32_t)r;
	}
	if (rec_uint(t, p, len, ct->i_size, &a) && rec_uint(t, p, len, ct->i_pop, &b) && a > 0) {
		uint64_t r = b / a;
		return r == 0 ? 1 : r > UINT32_MAX ? UINT32_MAX : (uint32_t)r;
	}
	return 0;
}

static void learn_sampling(struct coll *c, struct cstream *s, const struct ctmpl *ct, const uint8_t *p,
                           size_t len)
{
	uint64_t init;
	if (rec_uint(&ct->t, p, len, ct->i_init, &init) && init && init != s->init_ms) {
		s->init_ms = init; /* RFC 5102: what flowStart/EndSysUpTime count from */
		if (s->session == 0)
			c->dirty = true;
	}
	uint32_t rate = rec_rate(ct, p, len);
	if (!rate)
		return;
	uint64_t id = 0;
	(void)rec_uint(&ct->t, p, len, ct->i_sampler, &id);
	if (coll_stream_sampler(s, id) != rate) {
		coll_stream_set_sampler(s, id, rate);
		if (s->session == 0)
			c->dirty = true;
	}
}

static uint32_t data_rate(const struct cstream *s, const struct ctmpl *ct, const uint8_t *p, size_t len,
                          uint32_t hdr_rate)
{
	uint32_t r;
	if (ct && ct->has_rate) {
		if ((r = rec_rate(ct, p, len)) != 0)
			return r;
		uint64_t id;
		if (rec_uint(&ct->t, p, len, ct->i_sampler, &id) && (r = coll_stream_sampler(s, id)) != 0)
			return r;
	}
	if ((r = coll_stream_sampler(s, 0)) != 0)
		return r;
	return hdr_rate ? hdr_rate : 1;
}

static uint64_t scale(uint64_t v, uint32_t k)
{
	return v > UINT64_MAX / k ? UINT64_MAX : v * k;
}

static void bad(struct coll *c, struct cexp *e, struct coll_stats *st, int reason, const char *what)
{
	st->bad[reason]++;
	if (e && log_level_cur >= LOG_LVL_WARN && log_ratelimit(&e->rl)) {
		char a[64];
		log_warn("exporter %s: %s: %s", addr_str(e->af, e->addr, a, sizeof(a)), what,
		         coll_reason_str(reason));
	} else if (!e && log_level_cur >= LOG_LVL_WARN && log_ratelimit(&c->rl)) {
		log_warn("%s: %s", what, coll_reason_str(reason));
	}
}

struct msgctx {
	struct rec_dec dec;
	uint64_t recv_us;
	uint32_t hdr_rate;
};

static void emit(struct coll *c, struct cstream *s, const struct tmpl *t, const struct ctmpl *ct,
                 const uint8_t *p, size_t len, const struct msgctx *mc)
{
	struct crec r;
	if (t->scope_count) {
		s->st.opt_records++;
		if (ct)
			learn_sampling(c, s, ct, p, len);
		if (!c->cfg.options_out || !c->out)
			return;
		memset(&r.f, 0, sizeof(r.f));
		r.sampling = 1;
	} else {
		struct rec_dec dec = mc->dec;
		if (dec.no_sysup)
			dec.init_us = s->init_ms * 1000; /* as learnt so far, this message included */
		const struct tmpl_plan *pl = ct ? &ct->plan : s->codec->fixed == t ? &s->fplan : NULL;
		int rc = !ct && s->codec->fixed_flowrec && s->codec->fixed == t
		             ? s->codec->fixed_flowrec(p, len, &dec, &r.f)
		         : pl && pl->usable ? tmpl_plan_flowrec(pl, p, len, &dec, &r.f)
		                            : tmpl_get_flowrec(t, p, len, &dec, &r.f);
		if (rc != ERR_OK) {
			bad(c, s->ex, &s->st, COLL_E_RECORD, "data record");
			return;
		}
		s->st.records++;
		if (ct ? !ct->has_reason : s->codec->fixed == t ? !s->fixed_reason : tmpl_find(t, IE_flowEndReason) < 0)
			r.f.end = FLOW_END_MAX; /* unknown, not "idle" */
		r.sampling = data_rate(s, ct, p, len, mc->hdr_rate);
		if (c->cfg.unsample && r.sampling > 1) {
			r.f.packets = scale(r.f.packets, r.sampling);
			r.f.bytes = scale(r.f.bytes, r.sampling);
		}
		if (!c->out)
			return;
	}
	memcpy(r.exporter, s->ex->addr, 16);
	r.exporter_af = s->ex->af;
	r.version = s->version;
	r.domain = s->domain;
	r.tmpl_id = s->codec->sets ? t->id : 0;
	r.recv_us = mc->recv_us;
	r.t = t;
	r.raw = p;
	r.rawlen = len;
	c->out(c->out_arg, &r);
}

/* Records of a held data set, now that its template is here. */
static unsigned decode_set(struct coll *c, struct cstream *s, const struct ctmpl *ct, const uint8_t *body,
                           size_t len, const struct msgctx *mc)
{
	struct rbuf b;
	unsigned n = 0;
	rbuf_init(&b, body, len);
	while (rbuf_left(&b) >= ct->t.minlen) { /* shorter: padding (RFC 7011 §3.3.1) */
		size_t rl;
		if (tmpl_rec_len(&ct->t, rbuf_cur(&b), rbuf_left(&b), &rl) != ERR_OK) {
			s->st.malformed++;
			bad(c, s->ex, &s->st, NF_E_REC_SHORT, "held data set");
			break;
		}
		emit(c, s, &ct->t, ct, rbuf_cur(&b), rl, mc);
		rbuf_skip(&b, rl);
		n++;
	}
	return n;
}

/* ---- pending buffer ----
 *
 * Every held set is on two lists: the collector's, in arrival order (for
 * the age and size bounds), and one of its stream's PEND_BUCKETS
 * buckets, chosen by the template id through the stream's random
 * multiplier, also in arrival order (so a template's arrival walks only
 * its bucket, and a sender cannot put every set in one). The oldest set
 * of the collector is the oldest of its bucket too. */

static unsigned pend_bucket(const struct cstream *s, uint16_t id)
{
	return (unsigned)(((uint32_t)id * s->tmul) >> (32 - PEND_BUCKET_BITS));
}

static void pend_unlink_global(struct coll *c, struct pend *p)
{
	if (p->g_prev)
		p->g_prev->g_next = p->g_next;
	else
		c->g_head = p->g_next;
	if (p->g_next)
		p->g_next->g_prev = p->g_prev;
	else
		c->g_tail = p->g_prev;
	c->pend_bytes -= sizeof(*p) + p->len;
	p->st->npend--;
}

static void pend_drop_oldest(struct coll *c, bool expired)
{
	struct pend *p = c->g_head;
	struct cstream *s = p->st;
	struct pbucket *b = &s->pb[pend_bucket(s, p->tmpl_id)];
	pend_unlink_global(c, p);
	b->head = p->s_next; /* p is its bucket's oldest */
	if (!b->head)
		b->tail = NULL;
	if (expired)
		s->st.pend_expired++;
	else
		s->st.pend_dropped++;
	s->st.pend_bytes_lost += p->len;
	free(p);
}

static void pend_add(struct coll *c, struct cstream *s, uint16_t id, const uint8_t *body, size_t len,
                     const struct msgctx *mc, uint64_t now)
{
	size_t charge = sizeof(struct pend) + len; /* the bound counts the bookkeeping too */
	s->st.pend_sets++;
	if (charge > c->cfg.pending_bytes || (!s->pb && !(s->pb = calloc(PEND_BUCKETS, sizeof(*s->pb))))) {
		s->st.pend_dropped++;
		s->st.pend_bytes_lost += len;
		return;
	}
	while (c->g_head && c->pend_bytes + charge > c->cfg.pending_bytes)
		pend_drop_oldest(c, false);
	struct pend *p = malloc(sizeof(*p) + len);
	if (!p) {
		s->st.pend_dropped++;
		s->st.pend_bytes_lost += len;
		return;
	}
	p->s_next = NULL;
	p->st = s;
	p->at_us = now;
	p->recv_us = mc->recv_us;
	p->dec = mc->dec;
	p->tmpl_id = id;
	p->len = len;
	memcpy(p->data, body, len);
	struct pbucket *b = &s->pb[pend_bucket(s, id)];
	if (b->tail)
		b->tail->s_next = p;
	else
		b->head = p;
	b->tail = p;
	p->g_next = NULL;
	p->g_prev = c->g_tail;
	if (c->g_tail)
		c->g_tail->g_next = p;
	else
		c->g_head = p;
	c->g_tail = p;
	c->pend_bytes += charge;
	s->npend++;
}

/* Template id of stream s has arrived: decode its held sets, oldest first. */
static void pend_replay(struct coll *c, struct cstream *s, uint16_t id)
{
	const struct ctmpl *ct = tab_get(s, id);
	if (!ct || !s->pb)
		return;
	struct pbucket *b = &s->pb[pend_bucket(s, id)];
	struct pend *prev = NULL;
	for (struct pend **pp = &b->head; *pp;) {
		struct pend *p = *pp;
		if (p->tmpl_id != id) {
			prev = p;
			pp = &p->s_next;
			continue;
		}
		*pp = p->s_next;
		if (b->tail == p)
			b->tail = prev;
		pend_unlink_global(c, p);
		struct msgctx mc = { p->dec, p->recv_us, 0 };
		unsigned n = decode_set(c, s, ct, p->data, p->len, &mc);
		s->st.pend_decoded++;
		s->st.pend_records += n;
		free(p);
	}
}

static void pend_drop_stream(struct coll *c, struct cstream *s, bool at_end)
{
	for (unsigned k = 0; s->pb && s->npend && k < PEND_BUCKETS; k++) {
		struct pbucket *b = &s->pb[k];
		while (b->head) {
			struct pend *p = b->head;
			b->head = p->s_next;
			pend_unlink_global(c, p);
			if (at_end)
				s->st.pend_left++;
			else
				s->st.pend_dropped++;
			s->st.pend_bytes_lost += p->len;
			free(p);
		}
		b->tail = NULL;
	}
}

/* ---- sequence numbers ---- */

/* Judge one message's sequence number. units: the data records (or
 * packets) it carries; flows: its non-options data records; known: false
 * if some could not be decoded yet (the count is unknown: resynchronise).
 *
 * For NF_SEQ_RECORDS the stream tracks the four counting models side by
 * side (normalised value = seq, minus the message's own count for the
 * inclusive ones); it judges by its current model (the RFC's at first),
 * and adopts another when that one predicted the last SEQ_SWITCH_STREAK
 * messages exactly while the current one failed (counted in seq_quirk;
 * the message that shows it is not judged lost). */
static void seq_update(struct cstream *s, uint32_t seq, uint32_t units, uint32_t flows, bool known)
{
	if (s->codec->seq == NF_SEQ_NONE)
		return;
	uint32_t norm[SEQM_N] = { seq, seq, seq - units, seq - flows };
	uint32_t cnt[SEQM_N] = { units, flows, units, flows };
	unsigned nm = s->codec->seq == NF_SEQ_RECORDS ? SEQM_N : 1;
	if (nm == 1)
		s->seq_model = SEQM_RFC;
	for (unsigned k = 0; k < nm; k++) {
		bool hit = s->seq_valid && norm[k] == s->seq_mnext[k];
		s->seq_streak[k] = hit ? (uint8_t)(s->seq_streak[k] < 255 ? s->seq_streak[k] + 1 : 255) : 0;
	}
	unsigned m = s->seq_model;
	if (s->seq_valid && norm[m] != s->seq_mnext[m]) {
		/* a model that predicted every message since the stream began
		 * wins at once (the exporter's habit shows on its second
		 * message); later, only after SEQ_SWITCH_STREAK in a row */
		unsigned need = s->seq_judged < 16 ? s->seq_judged + 1u : SEQ_SWITCH_STREAK;
		if (need > SEQ_SWITCH_STREAK)
			need = SEQ_SWITCH_STREAK;
		for (unsigned k = 0; k < nm; k++)
			if (k != m && s->seq_streak[k] >= need && s->seq_streak[k] > s->seq_streak[m]) {
				s->seq_model = (uint8_t)k;
				s->st.seq_quirk++;
				m = k;
				break;
			}
	}
	if (s->seq_valid) {
		if (s->seq_judged < 255)
			s->seq_judged++;
		uint32_t d = norm[m] - s->seq_mnext[m];
		if (d != 0 && d < 0x80000000u) {
			s->st.seq_lost += d;
		} else if (d != 0) {
			uint32_t back = s->seq_mnext[m] - norm[m];
			if (back <= SEQ_WINDOW) {
				s->st.seq_ooo++;
				s->st.seq_late += cnt[m];
				return; /* the expected values stay */
			}
			s->st.seq_resets++;
		}
	}
	for (unsigned k = 0; k < nm; k++)
		s->seq_mnext[k] = norm[k] + cnt[k];
	s->seq_next = s->seq_mnext[m];
	s->seq_valid = known;
}

/* ---- messages ---- */

static const char *const what_msg[] = { "message", "v1 message", "v5 message", "v7 message",
                                        "v8 message", "v9 message", "IPFIX message" };

static const char *msg_what(uint16_t version)
{
	switch (version) {
	case 1: return what_msg[1];
	case 5: return what_msg[2];
	case 7: return what_msg[3];
	case 8: return what_msg[4];
	case 9: return what_msg[5];
	case 10: return what_msg[6];
	default: return what_msg[0];
	}
}

/* v9 headers give the export time in whole seconds (unix_secs) beside
 * sysUptime in ms, so a record's sysUptime times come out up to a second
 * early if taken from unix_secs alone. Each header bounds the exporter's
 * boot time: boot is in [unix_secs*1000 - sysUptime, +1000 ms). The
 * stream keeps the latest lower bound that every header since agrees
 * with (the maximum, converging to the true boot within a millisecond as
 * headers arrive at different sub-second phases); a header whose range
 * excludes it (a reboot, a clock step) restarts it. The export time used
 * is boot + sysUptime: always inside the header's own second. */
static uint64_t v9_export_us(struct cstream *s, const struct nf_hdr *h)
{
	int64_t est = (int64_t)(h->export_us / 1000) - (int64_t)h->sysup_ms;
	if (!s->boot_valid || est > s->boot_ms || s->boot_ms - est >= 1000) {
		s->boot_ms = est;
		s->boot_valid = 1;
	}
	int64_t t = s->boot_ms + (int64_t)h->sysup_ms;
	return t > 0 ? (uint64_t)t * 1000u : h->export_us;
}

/* Flowsets in a v9 message (its sets were checked by the decoder). */
static unsigned v9_sets(const uint8_t *p, size_t len)
{
	unsigned n = 0;
	for (size_t off = 20; off + 4 <= len; n++) {
		uint16_t sl = peek_u16(p + off + 2);
		if (sl < 4)
			break;
		off += sl;
	}
	return n;
}

void coll_message(struct coll *c, const struct lsn_msg *m, uint64_t now_us)
{
	struct cexp *e = exp_get(c, m->peer.af, m->peer.addr, true);
	if (!e) {
		c->orphan.msgs++;
		c->orphan.bytes += m->len;
		c->orphan.malformed++;
		bad(c, NULL, &c->orphan, COLL_E_EXPORTERS, "message");
		return;
	}
	e->last_port = m->peer.port;
	e->last_transport = m->transport;
	uint16_t version = m->len >= 2 ? peek_u16(m->p) : 0;
	const struct nf_codec *codec = nf_codec_by_version(version);
	struct dctx d = { c, NULL, now_us, 0 };
	struct tmpl_store ts = { st_lookup, st_add, st_withdraw, &d };
	struct nf_iter it;
	int rc = nf_iter_init(&it, m->p, m->len, &ts);
	if (rc != ERR_OK) {
		e->st.msgs++;
		e->st.bytes += m->len;
		e->st.malformed++;
		bad(c, e, &e->st, codec ? nf_iter_ecode(&it) : COLL_E_UNKNOWN_VERSION, msg_what(version));
		return;
	}
	/* v8: one stream per aggregation cache (nf8.c puts the scheme in hdr.domain) */
	uint32_t domain = codec->sets || version == 8 ? it.hdr.domain
	                                              : (uint32_t)it.hdr.engine_type << 8 | it.hdr.engine_id;
	struct cstream *s = stream_find(c, e, version, domain, m->session, true);
	if (!s) {
		e->st.msgs++;
		e->st.bytes += m->len;
		e->st.malformed++;
		bad(c, e, &e->st, COLL_E_STREAMS, msg_what(version));
		return;
	}
	d.s = s;
	s->st.msgs++;
	s->st.bytes += m->len;
	struct msgctx mc = { .dec = { .export_us = it.hdr.export_us, .sysup_ms = it.hdr.sysup_ms }, .recv_us = m->recv_us };
	if (version == 9)
		mc.dec.export_us = v9_export_us(s, &it.hdr);
	mc.dec.no_sysup = version == 10;
	if ((version == 5 || version == 8) && (it.hdr.sampling & 0x3fff) > 1)
		mc.hdr_rate = it.hdr.sampling & 0x3fff; /* mode:2 | interval:14 */
	uint32_t data = 0, items = 0, flows = 0;
	bool unknown = false, err = false;
	struct nf_item item;
	while ((rc = nf_iter_next(&it, &item)) == ERR_OK) {
		switch (item.kind) {
		case NF_ITEM_DATA: {
			const struct ctmpl *ct = codec->sets ? (const struct ctmpl *)(const void *)item.t : NULL;
			emit(c, s, item.t, ct, item.p, item.len, &mc);
			data++;
			items++;
			flows += !item.t->scope_count;
			break;
		}
		case NF_ITEM_TMPL:
			items++;
			if (s->npend)
				pend_replay(c, s, item.tmpl_id);
			break;
		case NF_ITEM_WITHDRAW:
			items++;
			break;
		case NF_ITEM_TMPL_UNSUPP:
			items++;
			s->st.templates++;
			bad(c, e, &s->st, COLL_E_TMPL_UNSUPP, msg_what(version));
			err = true;
			break;
		case NF_ITEM_SKIPPED_SET:
			if (item.set_id >= TMPL_ID_MIN) {
				if (c->cfg.pending_bytes)
					pend_add(c, s, item.set_id, item.p, item.len, &mc, now_us);
				else
					s->st.pend_sets++, s->st.pend_dropped++, s->st.pend_bytes_lost += item.len;
				unknown = true;
			} else {
				bad(c, e, &s->st, COLL_E_RESERVED_SET, msg_what(version));
				err = true;
			}
			break;
		default:
			break;
		}
	}
	if (rc != ERR_END) {
		bad(c, e, &s->st, d.refused ? d.refused : nf_iter_ecode(&it), msg_what(version));
		err = true;
		unknown = true;
	}
	if (err)
		s->st.malformed++;
	uint32_t units = codec->seq == NF_SEQ_PACKETS ? 1 : codec->sets ? data : it.hdr.count;
	uint32_t uflows = codec->seq == NF_SEQ_PACKETS ? 1 : codec->sets ? flows : it.hdr.count;
	seq_update(s, it.hdr.seq, units, uflows, codec->seq == NF_SEQ_PACKETS || !unknown);
	if (version == 9 && !unknown && it.hdr.count != items) {
		/* RFC 3954 §5.1: records of every kind. Some exporters count
		 * flowsets, data records, or flow records only (softflowd):
		 * tolerated, counted. */
		if (it.hdr.count == data || it.hdr.count == flows || it.hdr.count == v9_sets(m->p, m->len)) {
			s->st.v9_count_mismatch++;
		} else {
			bad(c, e, &s->st, COLL_E_V9_COUNT, msg_what(version));
			if (!err)
				s->st.malformed++;
		}
	}
}

static void stream_free(struct coll *c, struct cstream *s, bool at_end)
{
	pend_drop_stream(c, s, at_end);
	free(s->pb);
	for (unsigned i = 0; i < s->tcap; i++)
		if (s->tab[i]) {
			free(s->tab[i]);
			c->ntmpl--;
		}
	free(s->tab);
	if (c->last_st == s)
		c->last_st = NULL;
	free(s);
}

void coll_session_end(struct coll *c, const struct lsn_peer *peer, uint32_t session)
{
	if (session == 0)
		return;
	struct cexp *e = exp_get(c, peer->af, peer->addr, false);
	if (!e)
		return;
	for (struct cstream **sp = &e->streams; *sp;) {
		struct cstream *s = *sp;
		if (s->session != session) {
			sp = &s->next;
			continue;
		}
		*sp = s->next;
		e->nstreams--;
		pend_drop_stream(c, s, false);
		stats_add(&e->st, &s->st);
		stream_free(c, s, false);
	}
}

/* ---- timers, persistence ---- */

static void expire_templates(struct coll *c, uint64_t now)
{
	if (!c->cfg.tmpl_lifetime_s)
		return;
	for (unsigned b = 0; b < c->hcap; b++)
		for (struct cexp *e = c->htab[b]; e; e = e->hnext)
			for (struct cstream *s = e->streams; s; s = s->next) {
				if (s->session)
					continue;
				for (unsigned i = 0; i < s->tcap;) {
					if (s->tab[i] && tmpl_expired(c, s, s->tab[i], now)) {
						s->st.tmpl_expired++;
						tmpl_gone(c, s, i);
						continue;
					}
					i++;
				}
			}
}

void coll_tick(struct coll *c, uint64_t now_us)
{
	uint64_t age = (uint64_t)c->cfg.pending_s * 1000000u;
	while (c->g_head && (now_us > c->g_head->at_us && now_us - c->g_head->at_us >= age))
		pend_drop_oldest(c, true);
	expire_templates(c, now_us);
	if (c->cfg.tmpl_dir && c->dirty) {
		uint64_t wall = lsn_now_us();
		if (wall - c->last_save_us >= SAVE_EVERY_US || wall < c->last_save_us) {
			char err[256];
			if (coll_save(c, err, sizeof(err)) != 0 && log_ratelimit(&c->rl))
				log_warn("%s", err);
		}
	}
}

int coll_save(struct coll *c, char *err, size_t errlen)
{
	if (!c->cfg.tmpl_dir)
		return 0;
	c->last_save_us = lsn_now_us();
	if (coll_persist_save(c, c->path, err, errlen) != 0)
		return -1;
	c->dirty = false;
	return 0;
}

void coll_finish(struct coll *c, uint64_t now_us)
{
	(void)now_us;
	for (unsigned b = 0; b < c->hcap; b++)
		for (struct cexp *e = c->htab[b]; e; e = e->hnext)
			for (struct cstream *s = e->streams; s; s = s->next)
				pend_drop_stream(c, s, true);
	if (c->cfg.tmpl_dir && c->dirty) {
		char err[256];
		if (coll_save(c, err, sizeof(err)) != 0)
			log_err("%s", err);
	}
}

void coll_walk_persistent(const struct coll *c, coll_tmpl_fn tf, coll_sampler_fn sf, void *arg)
{
	for (unsigned b = 0; b < c->hcap; b++)
		for (const struct cexp *e = c->htab[b]; e; e = e->hnext)
			for (const struct cstream *s = e->streams; s; s = s->next) {
				if (s->session)
					continue;
				for (unsigned i = 0; tf && i < s->tcap; i++)
					if (s->tab[i])
						tf(arg, s, e->af, e->addr, s->version, s->domain, &s->tab[i]->t,
						   s->tab[i]->seen_us);
				for (unsigned i = 0; sf && i < s->nsamp; i++)
					sf(arg, s, e->af, e->addr, s->version, s->domain, s->samp[i].id, s->samp[i].rate);
				if (sf && s->init_ms)
					sf(arg, s, e->af, e->addr, s->version, s->domain, COLL_INIT_TIME, (uint32_t)0);
			}
}

/* ---- life cycle ---- */

struct coll *coll_new(const struct coll_cfg *cfg, char *err, size_t errlen)
{
	if (!cfg->max_exporters || !cfg->max_streams || !cfg->max_templates) {
		snprintf(err, errlen, "exporter, stream and template limits must be at least 1");
		return NULL;
	}
	struct coll *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->cfg = *cfg;
	c->seed = hash_random_seed();
	if (cfg->tmpl_dir) {
		if ((size_t)snprintf(c->path, sizeof(c->path), "%s/templates.bin", cfg->tmpl_dir) >= sizeof(c->path)) {
			snprintf(err, errlen, "--template-dir: path too long");
			free(c);
			return NULL;
		}
		char lerr[256];
		int n = coll_persist_load(c, c->path, lsn_now_us(), lerr, sizeof(lerr));
		if (n < 0)
			log_warn("%s: %s; starting with no templates", c->path, lerr);
		else
			c->loaded = (size_t)n;
		c->dirty = false;
	}
	return c;
}

void coll_set_output(struct coll *c, coll_out_fn fn, void *arg)
{
	c->out = fn;
	c->out_arg = arg;
}

size_t coll_template_count(const struct coll *c)
{
	return c->ntmpl;
}

size_t coll_pending_charge(size_t setlen)
{
	return sizeof(struct pend) + setlen;
}

size_t coll_pending_bytes(const struct coll *c)
{
	return c->pend_bytes;
}

size_t coll_loaded_templates(const struct coll *c)
{
	return c->loaded;
}

static void exp_totals(const struct cexp *e, struct coll_stats *out)
{
	*out = e->st;
	for (const struct cstream *s = e->streams; s; s = s->next)
		stats_add(out, &s->st);
}

void coll_totals(const struct coll *c, struct coll_stats *out)
{
	*out = c->orphan;
	for (unsigned b = 0; b < c->hcap; b++)
		for (const struct cexp *e = c->htab[b]; e; e = e->hnext) {
			struct coll_stats t;
			exp_totals(e, &t);
			stats_add(out, &t);
		}
}

static int cmp_exp(const void *a, const void *b)
{
	const struct cexp *x = *(const struct cexp *const *)a, *y = *(const struct cexp *const *)b;
	if (x->af != y->af)
		return x->af - y->af;
	return memcmp(x->addr, y->addr, x->af == 6 ? 16 : 4);
}

static void show_reasons(FILE *out, const struct coll_stats *st, const char *indent)
{
	for (int i = 1; i < COLL_E_MAX_; i++)
		if (st->bad[i])
			fprintf(out, "%s%-56s %llu\n", indent, coll_reason_str(i), (unsigned long long)st->bad[i]);
}

static void domain_label(const struct cstream *s, char *buf, size_t len)
{
	switch (s->version) {
	case 5: snprintf(buf, len, "v%u engine %u/%u", s->version, s->domain >> 8, s->domain & 0xff); break;
	case 8:
		snprintf(buf, len, "v8 %s engine %u/%u",
		         nf8_scheme_name(s->domain >> 16) ? nf8_scheme_name(s->domain >> 16) : "?",
		         (s->domain >> 8) & 0xff, s->domain & 0xff);
		break;
	case 9: snprintf(buf, len, "v9 source id %u", s->domain); break;
	case 10: snprintf(buf, len, "IPFIX domain %u", s->domain); break;
	default: snprintf(buf, len, "v%u", s->version); break;
	}
}

static const char *const transport_name[] = { "file", "udp", "tcp", "sctp" };

static void show_stream(FILE *out, const struct cstream *s)
{
	char lab[64];
	const struct coll_stats *st = &s->st;
	domain_label(s, lab, sizeof(lab));
	if (s->session)
		fprintf(out, "  %s, transport session %u\n", lab, s->session);
	else
		fprintf(out, "  %s\n", lab);
	fprintf(out, "    messages %llu (%llu bytes), records %llu, options records %llu, malformed %llu\n",
	        (unsigned long long)st->msgs, (unsigned long long)st->bytes, (unsigned long long)st->records,
	        (unsigned long long)st->opt_records, (unsigned long long)st->malformed);
	fprintf(out, "    templates received %llu (options %llu), active %u, changed %llu, withdrawn %llu, expired %llu\n",
	        (unsigned long long)st->templates, (unsigned long long)st->opt_templates, s->tn,
	        (unsigned long long)st->tmpl_changed, (unsigned long long)st->withdrawals,
	        (unsigned long long)st->tmpl_expired);
	static const char *const model[SEQM_N] = {
		[SEQM_RFC] = "records", [SEQM_FLOWS] = "flow records, options left out",
		[SEQM_INCL] = "records, the message's own included",
		[SEQM_INCL_FLOWS] = "flow records, the message's own included",
	};
	if (s->codec->seq != NF_SEQ_NONE)
		fprintf(out, "    sequence (%s): lost %llu, out-of-order %llu messages (%llu late), resets %llu\n",
		        s->codec->seq == NF_SEQ_PACKETS ? "packets" : model[s->seq_model], (unsigned long long)st->seq_lost,
		        (unsigned long long)st->seq_ooo, (unsigned long long)st->seq_late,
		        (unsigned long long)st->seq_resets);
	if (st->pend_sets)
		fprintf(out, "    held for a template: %llu sets, decoded %llu (%llu records), expired %llu, dropped %llu, left %llu\n",
		        (unsigned long long)st->pend_sets, (unsigned long long)st->pend_decoded,
		        (unsigned long long)st->pend_records, (unsigned long long)st->pend_expired,
		        (unsigned long long)st->pend_dropped, (unsigned long long)st->pend_left);
	if (st->v9_count_mismatch)
		fprintf(out, "    header count not the records sent: %llu messages (tolerated)\n",
		        (unsigned long long)st->v9_count_mismatch);
	for (unsigned i = 0; i < s->nsamp; i++) {
		if (s->samp[i].id)
			fprintf(out, "    sampler %llu: 1 in %u\n", (unsigned long long)s->samp[i].id, s->samp[i].rate);
		else
			fprintf(out, "    sampling: 1 in %u\n", s->samp[i].rate);
	}
	show_reasons(out, st, "    error: ");
}

void coll_show(const struct coll *c, FILE *out)
{
	struct cexp **v = c->nexp ? malloc(c->nexp * sizeof(*v)) : NULL;
	size_t n = 0;
	for (unsigned b = 0; v && b < c->hcap; b++)
		for (struct cexp *e = c->htab[b]; e; e = e->hnext)
			v[n++] = e;
	if (n)
		qsort(v, n, sizeof(*v), cmp_exp);
	for (size_t i = 0; i < n; i++) {
		const struct cexp *e = v[i];
		struct coll_stats t;
		char a[64];
		exp_totals(e, &t);
		fprintf(out, "Exporter %s (%s, last source port %u): %llu messages, %llu records, %llu templates, "
		             "sequence lost %llu, out-of-order %llu, malformed %llu\n",
		        addr_str(e->af, e->addr, a, sizeof(a)),
		        e->last_transport < 4 ? transport_name[e->last_transport] : "?", e->last_port,
		        (unsigned long long)t.msgs, (unsigned long long)t.records, (unsigned long long)t.templates,
		        (unsigned long long)t.seq_lost, (unsigned long long)t.seq_ooo, (unsigned long long)t.malformed);
		for (const struct cstream *s = e->streams; s; s = s->next)
			show_stream(out, s);
		if (e->st.msgs)
			fprintf(out, "  not attributed to a stream or from ended sessions: %llu messages, %llu records\n",
			        (unsigned long long)e->st.msgs, (unsigned long long)e->st.records);
		show_reasons(out, &e->st, "    error: ");
	}
	free(v);
	struct coll_stats t;
	coll_totals(c, &t);
	if (c->orphan.msgs)
		fprintf(out, "Messages from exporters not admitted (table full): %llu\n",
		        (unsigned long long)c->orphan.msgs);
	fprintf(out, "Templates known %zu (limit %u), held data %zu bytes (limit %zu)\n", c->ntmpl,
	        c->cfg.max_templates, c->pend_bytes, c->cfg.pending_bytes);
	if (t.malformed) {
		fprintf(out, "Malformed by reason:\n");
		show_reasons(out, &t, "  ");
	}
	fprintf(out, "Totals: exporters=%u", c->nexp);
#define COLL_X(name, text) fprintf(out, " %s=%llu", #name, (unsigned long long)t.name);
	COLL_STATS(COLL_X)
#undef COLL_X
	fputc('\n', out);
}

void coll_clear(struct coll *c)
{
	for (unsigned b = 0; b < c->hcap; b++) {
		struct cexp *e = c->htab[b], *en;
		for (; e; e = en) {
			en = e->hnext;
			struct cstream *s = e->streams, *sn;
			for (; s; s = sn) {
				sn = s->next;
				stream_free(c, s, false);
			}
			free(e);
		}
		c->htab[b] = NULL;
	}
	c->nexp = 0;
	c->last_ex = NULL;
	c->last_st = NULL;
	memset(&c->orphan, 0, sizeof(c->orphan));
}

void coll_free(struct coll *c)
{
	if (!c)
		return;
	for (unsigned b = 0; b < c->hcap; b++) {
		struct cexp *e = c->htab[b], *en;
		for (; e; e = en) {
			en = e->hnext;
			struct cstream *s = e->streams, *sn;
			for (; s; s = sn) {
				sn = s->next;
				stream_free(c, s, false);
			}
			free(e);
		}
	}
	free(c->htab);
	free(c);
}
