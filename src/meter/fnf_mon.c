/* fnf_mon.c — Flexible NetFlow monitors and exporters in a running
 * ipflowd; see fnf_mon.h. */
#include "meter/fnf_mon.h"

#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache/fnf.h"
#include "ctl/show_conf.h"
#include "export/exporter.h"
#include "export/ie.h"
#include "lib/bytes.h"
#include "lib/err.h"
#include "lib/log.h"
#include "meter/fnf_record.h"
#include "meter/sampler.h"

#define MAX_ATT (CONF_IFACE_MAX * CONF_IF_MONITOR_MAX)
#define DRAIN_MS 10000
#define SHOW_MAX_FLOWS 1000

struct xp;

struct out {
	struct xp *xp;
	int h;              /* the monitor's template in xp's exporter */
};

/* A running flow monitor. */
struct mon {
	char name[CONF_NAME_MAX];
	char record[CONF_NAME_MAX];
	struct fnf_def def;
	struct fnf_cfg cfg;
	struct fnf_cache *cache;
	struct out out[CONF_MON_EXPORTERS];
	size_t nout;
	uint64_t lost;      /* records an exporter could not take */
	uint64_t samp_sig;  /* how its attachments sample (sampling_sig): a change flushes the cache */
	bool reused;        /* (during a reload) carried into the next state */
};

/* A running flow exporter: one stream. */
struct xp {
	struct conf_exporter conf;
	char spec[CONF_HOST_MAX + 32]; /* "" when it has no destination */
	struct transport *t;           /* NULL: no destination */
	struct exporter *ex;
	struct {
		char mon[CONF_NAME_MAX];
		struct fnf_def def;
	} user[CONF_MONITOR_MAX];      /* monitors using it: user i has template handle i */
	size_t nuser;
	/* option sampler-table: the samplers of its monitors' attachments */
	struct exporter_sampler samp[EXPORTER_SAMPLERS_MAX];
	unsigned nsamp;
	uint64_t unsent;               /* records with no destination to go to */
	bool reused;                   /* (during a reload) carried into the next state */
	bool t_taken;                  /* (during a reload) its transport went to a new exporter */
	struct xp *t_from;             /* (new exporter) the old one whose transport it took */
};

/* An interface direction and traffic type a monitor meters. */
struct att {
	uint32_t ifindex;
	uint8_t dir;
	uint8_t af;         /* 4 or 6 */
	uint8_t sampler;    /* samplerId, 0 unsampled */
	struct mon *mon;
	struct sampler smp; /* `sampler S` of the attachment: 1 out of n (1: every packet) */
};

struct state {
	struct mon *mon[CONF_MONITOR_MAX];
	size_t nmon;
	struct xp *xp[CONF_EXPORTER_MAX];
	size_t nxp;
	struct att att[MAX_ATT];
	size_t natt;
	/* the outputs and timeouts of every monitor, staged for commit */
	struct out out[CONF_MONITOR_MAX][CONF_MON_EXPORTERS];
	size_t nout[CONF_MONITOR_MAX];
	struct fnf_cfg cfg[CONF_MONITOR_MAX];
	struct {
		uint32_t ifindex;
		char name[CONF_NAME_MAX];
	} ifname[CONF_IFACE_MAX];
	size_t nifname;
};

struct fnf_mon {
	struct rt *rt;
	struct state *cur;  /* running */
	struct state *next; /* prepared by a reload's apply, until commit */
	bool tapped;
	bool started;       /* the first packet was seen: sysUpTime 0 */
	uint64_t start_us;
	bool noted;         /* the not-applied exporter options were logged */
};

/* --- small helpers -------------------------------------------------------- */

static const enum cache_type ctype[] = { CACHE_NORMAL, CACHE_PERMANENT, CACHE_IMMEDIATE };

static struct fnf_cfg cfg_of(const struct conf_monitor *m)
{
	const struct conf_cache *cc = &m->cache;
	struct fnf_cfg cfg = {
		.entries = conf_cache_entries(cc, CONF_MON_ENTRIES_DEFAULT),
		.active_s = conf_cache_active(cc),
		.inactive_s = conf_cache_inactive(cc),
		.type = ctype[cc->type],
	};
	if (cc->type == CONF_CACHE_PERMANENT) /* a permanent cache exports every update timeout */
		cfg.active_s = (cc->set & CONF_C_UPDATE) ? cc->update_s : CONF_ACTIVE_DEFAULT_S;
	return cfg;
}

static struct mon *find_mon(const struct state *s, const char *name)
{
	for (size_t i = 0; s && i < s->nmon; i++)
		if (strcmp(s->mon[i]->name, name) == 0)
			return s->mon[i];
	return NULL;
}

static struct xp *find_xp(const struct state *s, const char *name)
{
	for (size_t i = 0; s && i < s->nxp; i++)
		if (strcmp(s->xp[i]->conf.name, name) == 0)
			return s->xp[i];
	return NULL;
}

static void xp_cfg(const struct conf_exporter *x, struct exporter_cfg *cfg)
{
	static const int version[] = { [CONF_FNF_V9] = 9, [CONF_FNF_V5] = 5, [CONF_FNF_IPFIX] = 10 };
	exporter_cfg_init(cfg, version[x->protocol]);
	cfg->flags = EXPORTER_F_GENERIC;
	cfg->domain = apply_name_hash(x->name);
	cfg->exporting_pid = (uint32_t)getpid();
	if (x->protocol != CONF_FNF_V5) {
		cfg->tmpl_timeout_s = x->template_timeout_s;
		if (x->options & CONF_OPT_EXPORTER_STATS) {
			cfg->export_stats = true;
			cfg->opt_timeout_s = x->option_timeout_s[0];
		}
		/* option sampler-table timeout: the options share one timer; the
		 * shorter of the two asked for */
		if ((x->options & CONF_OPT_SAMPLER_TABLE) &&
		    (!(x->options & CONF_OPT_EXPORTER_STATS) || x->option_timeout_s[2] < cfg->opt_timeout_s))
			cfg->opt_timeout_s = x->option_timeout_s[2];
	}
}

/* --- records out of a monitor ------------------------------------------- */

static void xp_start(struct fnf_mon *fm, struct xp *x)
{
	if (fm->started && x->ex)
		exporter_set_start(x->ex, fm->start_us);
}

static void mon_emit(void *arg, const struct genrec *r)
{
	struct mon *m = arg;
	uint64_t now = fnf_stats(m->cache)->now_us;
	for (size_t i = 0; i < m->nout; i++) {
		struct xp *x = m->out[i].xp;
		if (!x->ex) {
			x->unsent++;
			m->lost++;
			continue;
		}
		if (exporter_add_genrec(x->ex, m->out[i].h, r, now) != ERR_OK)
			m->lost++; /* and in the exporter's own counters */
	}
}

/* The per-packet decision of `ip flow monitor M sampler S`: the
 * attachment's own sampler (src/meter/sampler.h), offered only the
 * packets of its interface, direction and traffic type, so each monitor
 * samples 1 out of N of what it meters. */
static inline bool fnf_sample(struct att *a, const struct cache_pkt *p)
{
	(void)p;
	return sampler_take(&a->smp);
}

/* --- the meter's side ----------------------------------------------------- */

static void tap_packets(void *arg, const struct cache_pkt *v, size_t n)
{
	struct fnf_mon *fm = arg;
	if (!n)
		return;
	if (!fm->started) {
		fm->started = true;
		fm->start_us = v[0].t_us;
		for (size_t i = 0; fm->cur && i < fm->cur->nxp; i++)
			xp_start(fm, fm->cur->xp[i]);
	}
	struct state *s = fm->cur;
	if (!s)
		return;
	for (size_t k = 0; k < s->natt; k++) {
		struct att *a = &s->att[k];
		const struct cache_pkt *p[CACHE_BATCH_MAX];
		size_t np = 0;
		for (size_t j = 0; j < n && j < CACHE_BATCH_MAX; j++)
			if (v[j].ifindex == a->ifindex && v[j].dir == a->dir && v[j].pi.af == a->af && fnf_sample(a, &v[j]))
				p[np++] = &v[j];
		if (np)
			fnf_packets(a->mon->cache, p, np, a->sampler);
	}
}

static void tap_tick(void *arg, uint64_t now)
{
	struct fnf_mon *fm = arg;
	const struct state *s = fm->cur;
	for (size_t i = 0; s && i < s->nmon; i++)
		if (now > fnf_stats(s->mon[i]->cache)->now_us)
			fnf_expire(s->mon[i]->cache, now);
	for (size_t i = 0; s && i < s->nxp; i++) {
		struct xp *x = s->xp[i];
		if (!x->ex)
			continue;
		transport_poll(x->t);
		if (exporter_next_deadline(x->ex) <= now)
			exporter_tick(x->ex, now);
	}
}

/* End of input or shutdown: every flow out, every message sent. */
static void tap_flush(void *arg, uint64_t now)
{
	struct fnf_mon *fm = arg;
	const struct state *s = fm->cur;
	for (size_t i = 0; s && i < s->nmon; i++) {
		if (now > fnf_stats(s->mon[i]->cache)->now_us)
			fnf_expire(s->mon[i]->cache, now);
		fnf_flush(s->mon[i]->cache, FLOW_END_SHUTDOWN);
	}
	for (size_t i = 0; s && i < s->nxp; i++) {
		struct xp *x = s->xp[i];
		if (!x->ex)
			continue;
		exporter_tick(x->ex, now); /* a session that came up late still gets its templates */
		exporter_flush(x->ex, now);
		transport_drain(x->t, DRAIN_MS);
	}
}

/* --- building a state ----------------------------------------------------- */

static void mon_free(struct mon *m)
{
	if (!m)
		return;
	fnf_free(m->cache);
	free(m);
}

static void xp_close(struct xp *x, uint64_t now, bool keep_transport)
{
	if (!x)
		return;
	if (x->ex) {
		exporter_flush(x->ex, now);
		exporter_free(x->ex);
	}
	if (x->t && !keep_transport) {
		transport_retire(x->t, DRAIN_MS);
	}
	free(x);
}

/* Free what a prepared state made (not what it carried over). */
static void state_drop_new(struct state *s, struct state *old)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nmon; i++)
		if (!s->mon[i]->reused)
			mon_free(s->mon[i]);
	for (size_t i = 0; i < s->nxp; i++) {
		struct xp *x = s->xp[i];
		if (x->reused)
			continue;
		if (x->t_from) { /* give the transport back */
			x->t_from->t_taken = false;
			if (x->ex)
				exporter_free(x->ex);
			free(x);
			continue;
		}
		if (x->ex)
			exporter_free(x->ex);
		transport_close(x->t);
		free(x);
	}
	for (size_t i = 0; old && i < old->nmon; i++)
		old->mon[i]->reused = false;
	for (size_t i = 0; old && i < old->nxp; i++)
		old->xp[i]->reused = false;
	free(s);
}

/* The running exporter that can carry on unchanged, or NULL. */
static struct xp *reusable_xp(const struct state *old, const struct conf_exporter *cx, const struct xp *want)
{
	struct xp *o = find_xp(old, cx->name);
	if (!o || o->reused || !apply_same_exporter(&o->conf, cx) || o->nuser != want->nuser ||
	    o->nsamp != want->nsamp || memcmp(o->samp, want->samp, o->nsamp * sizeof(o->samp[0])) != 0)
		return NULL;
	for (size_t i = 0; i < o->nuser; i++)
		if (strcmp(o->user[i].mon, want->user[i].mon) || !fnf_def_equal(&o->user[i].def, &want->user[i].def))
			return NULL;
	return o;
}

/* A transport of a running exporter that is going away, with this spec
 * and source, for a new exporter to continue on. */
static struct xp *transport_donor(const struct state *old, const struct state *ns, const struct conf_exporter *cx,
                                  const char *spec)
{
	for (size_t i = 0; old && i < old->nxp; i++) {
		struct xp *o = old->xp[i];
		bool kept = false;
		for (size_t j = 0; j < ns->nxp; j++)
			kept |= ns->xp[j] == o;
		if (!kept && !o->reused && !o->t_taken && o->t && strcmp(o->spec, spec) == 0 &&
		    strcmp(o->conf.source, cx->source) == 0)
			return o;
	}
	return NULL;
}

static int sampler_id(const struct conf *c, const char *name);

/* `option sampler-table`: one sampler options record per sampler of the
 * attachments of the monitors that export through cx (the id is the one
 * the records' samplerId names), so a collector can scale their flows.
 * A v5 exporter has no options: its header carries the first sampler's
 * rate (build_xp), with or without the option. */
static void xp_samplers(const struct conf *c, const struct conf_exporter *cx, struct xp *x)
{
	x->nsamp = 0;
	if (!(cx->options & CONF_OPT_SAMPLER_TABLE) && cx->protocol != CONF_FNF_V5)
		return;
	for (size_t i = 0; i < c->niface; i++) {
		const struct conf_iface *f = &c->iface[i];
		for (size_t k = 0; k < f->nmon; k++) {
			const struct conf_if_monitor *im = &f->mon[k];
			const struct conf_monitor *cm = conf_find_monitor(c, im->monitor);
			const struct conf_sampler *cs = im->sampler[0] ? conf_find_sampler(c, im->sampler) : NULL;
			if (!cm || !cs || cs->one_out_of <= 1)
				continue;
			bool uses = false;
			for (size_t e = 0; e < cm->nexporter; e++)
				uses |= strcmp(cm->exporter[e], cx->name) == 0;
			uint32_t ifx = apply_iface_index(c, f);
			if (!uses || !ifx)
				continue;
			struct exporter_sampler es;
			exporter_sampler_set(&es, ifx, im->dir, (uint32_t)sampler_id(c, im->sampler), cs->one_out_of,
			                     cs->mode == CONF_SAMPLER_RANDOM);
			/* the records name their sampler themselves (samplerId): one
			 * options record per sampler id is what a collector needs */
			bool dup = false;
			for (unsigned j = 0; j < x->nsamp; j++)
				dup |= x->samp[j].id == es.id;
			if (dup)
				continue;
			if (x->nsamp == EXPORTER_SAMPLERS_MAX) {
				log_warn("flow exporter %s: more than %d samplers; sampler %s is not described in its sampler "
				         "table", cx->name, EXPORTER_SAMPLERS_MAX, cs->name);
				continue;
			}
			x->samp[x->nsamp++] = es;
		}
	}
}

static int build_xp(struct fnf_mon *fm, const struct conf *c, const struct conf_exporter *cx, struct state *ns,
                    const struct state *old, char *err, size_t errlen)
{
	struct xp *x = calloc(1, sizeof(*x));
	if (!x) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	x->conf = *cx;
	apply_exporter_spec(cx, x->spec, sizeof(x->spec));
	for (size_t i = 0; i < ns->nmon; i++) {
		const struct conf_monitor *cm = conf_find_monitor(c, ns->mon[i]->name);
		for (size_t k = 0; k < cm->nexporter; k++)
			if (strcmp(cm->exporter[k], cx->name) == 0) {
				snprintf(x->user[x->nuser].mon, CONF_NAME_MAX, "%s", cm->name);
				x->user[x->nuser++].def = ns->mon[i]->def;
			}
	}
	xp_samplers(c, cx, x);
	struct xp *o = reusable_xp(old, cx, x);
	if (o) {
		free(x);
		o->reused = true;
		ns->xp[ns->nxp++] = o;
		return 0;
	}
	ns->xp[ns->nxp++] = x; /* owned by ns from here: state_drop_new frees it */
	if (!x->spec[0]) {
		log_warn("flow exporter %s has no destination: the records of its monitors are counted, not sent",
		         cx->name);
		return 0;
	}
	struct xp *donor = transport_donor(old, ns, cx, x->spec);
	if (donor) {
		donor->t_taken = true;
		x->t_from = donor;
		x->t = donor->t;
	} else {
		struct transport_opts o2 = { 0 };
		o2.source = cx->source[0] ? conf_linux_name(c, cx->source) : NULL;
		o2.block_ms = apply_file_mode(c) ? 10000 : 0; /* a replay can wait for a TCP queue; live traffic cannot */
		char e2[256];
		x->t = transport_open(x->spec, &o2, e2, sizeof(e2));
		if (!x->t) {
			snprintf(err, errlen, "flow exporter %s: %s", cx->name, e2);
			return -1;
		}
	}
	struct exporter_cfg cfg;
	xp_cfg(cx, &cfg);
	if (cx->protocol != CONF_FNF_V5) {
		memcpy(cfg.sampler, x->samp, x->nsamp * sizeof(x->samp[0]));
		cfg.nsampler = x->nsamp;
	} else if (x->nsamp) {
		/* the v5 header's sampling_interval, as the main cache's: one
		 * rate per export stream (mode 01 deterministic, 10 random;
		 * 14 bits) */
		const struct exporter_sampler *s0 = &x->samp[0];
		if (!exporter_header_sampling(&cfg, s0->n, s0->random))
			log_warn("flow exporter %s: 1 out of %u does not fit the v5 header's 14-bit interval; it says 16383",
			         cx->name, s0->n);
		for (unsigned j = 1; j < x->nsamp; j++)
			if (x->samp[j].n != s0->n || x->samp[j].random != s0->random) {
				log_warn("flow exporter %s (v5): its monitors sample at more than one rate, and the v5 header "
				         "carries one: it says 1 out of %u; use v9 or IPFIX with option sampler-table",
				         cx->name, s0->n);
				break;
			}
	}
	char e2[256];
	x->ex = exporter_new(&cfg, x->t, e2, sizeof(e2));
	if (!x->ex) {
		snprintf(err, errlen, "flow exporter %s: %s", cx->name, e2);
		return -1;
	}
	if (donor && donor->ex) /* the same transport session: new templates get new ids (the sequence: commit) */
		exporter_set_tmpl_base(x->ex, exporter_tmpl_next(donor->ex));
	for (size_t i = 0; i < x->nuser; i++)
		if (exporter_add_tmpl(x->ex, &x->user[i].def.lay, e2, sizeof(e2)) != (int)i) {
			snprintf(err, errlen, "%% Flow Monitor %s: flow exporter %s cannot export its record: %s",
			         x->user[i].mon, cx->name, e2);
			return -1;
		}
	if (!fm->noted &&
	    (cx->options & ~(unsigned)(CONF_OPT_EXPORTER_STATS | CONF_OPT_SAMPLER_TABLE) || cx->dscp || cx->ttl != 255)) {
		log_note("flow exporter %s: option interface-table/application-table, dscp and ttl are "
		         "accepted but not applied by this build", cx->name);
		fm->noted = true;
	}
	return 0;
}

static int sampler_id(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->nsampler; i++)
		if (strcmp(c->sampler[i].name, name) == 0)
			return (int)i + 1;
	return 0;
}

static void build_atts(const struct conf *c, struct state *ns)
{
	for (size_t i = 0; i < c->niface; i++) {
		const struct conf_iface *f = &c->iface[i];
		if (!f->nmon)
			continue;
		uint32_t ifx = apply_iface_index(c, f);
		if (!ifx) {
			log_warn("interface %s does not exist on this host: its flow monitors meter nothing", f->name);
			continue;
		}
		for (size_t j = 0; j < ns->nifname; j++)
			if (ns->ifname[j].ifindex == ifx)
				log_warn("interfaces %s and %s are both metered under ifIndex %u: their monitors see both; "
				         "give each pcap interface its own ifindex", ns->ifname[j].name, f->name, ifx);
		if (ns->nifname < CONF_IFACE_MAX) {
			ns->ifname[ns->nifname].ifindex = ifx;
			snprintf(ns->ifname[ns->nifname++].name, CONF_NAME_MAX, "%s", f->name);
		}
		for (size_t k = 0; k < f->nmon; k++) {
			const struct conf_if_monitor *im = &f->mon[k];
			struct mon *m = find_mon(ns, im->monitor);
			if (!m)
				continue; /* no record: warned by the parser */
			struct att a = { ifx, im->dir, im->traffic == CONF_TR_IPV6 ? 6 : 4,
			                 (uint8_t)sampler_id(c, im->sampler), m, { 0 } };
			const struct conf_sampler *cs = im->sampler[0] ? conf_find_sampler(c, im->sampler) : NULL;
			sampler_init(&a.smp, cs && cs->mode == CONF_SAMPLER_RANDOM ? SAMPLER_RANDOM : SAMPLER_DETERMINISTIC,
			             cs && cs->one_out_of > 1 ? cs->one_out_of : 1, sampler_run_seed((uint64_t)ns->natt << 40));
			if (!cs || cs->one_out_of <= 1)
				a.sampler = 0; /* no rate: the records name no sampler */
			bool dup = false;
			for (size_t j = 0; j < ns->natt; j++) {
				const struct att *b = &ns->att[j];
				dup |= b->ifindex == a.ifindex && b->dir == a.dir && b->af == a.af && b->mon == a.mon;
			}
			if (dup) {
				log_note("interface %s: flow monitor %s is applied twice to the same packets; they are counted once",
				         f->name, m->name);
				continue;
			}
			if (cs && cs->one_out_of > 1)
				log_info("interface %s: flow monitor %s samples %s 1 out of %u (sampler %s)", f->name, m->name,
				         cs->mode == CONF_SAMPLER_RANDOM ? "random" : "deterministic", cs->one_out_of, cs->name);
			if (ns->natt < MAX_ATT)
				ns->att[ns->natt++] = a;
		}
	}
}

static int sampler_id(const struct conf *c, const char *name);

/* A digest of how monitor name's attachments sample: interface,
 * direction, traffic, and each sampler's id, mode and rate. Flows in a
 * cache were sampled (and name a sampler id) as it was when they began:
 * a reload that changes this must export them first, as the main cache
 * does, or a collector would scale them by the new rate. */
static uint64_t sampling_sig(const struct conf *c, const char *name)
{
	uint64_t h = 1469598103934665603ull;
#define MIX(v) (h = (h ^ (uint64_t)(v)) * 1099511628211ull)
	for (size_t i = 0; i < c->niface; i++)
		for (size_t k = 0; k < c->iface[i].nmon; k++) {
			const struct conf_if_monitor *im = &c->iface[i].mon[k];
			if (strcmp(im->monitor, name) != 0)
				continue;
			const struct conf_sampler *cs = im->sampler[0] ? conf_find_sampler(c, im->sampler) : NULL;
			for (const char *p = c->iface[i].name; *p; p++)
				MIX((unsigned char)*p);
			MIX(im->dir);
			MIX(im->traffic);
			MIX(cs ? (uint64_t)sampler_id(c, im->sampler) : 0);
			MIX(cs ? cs->mode : 0);
			MIX(cs ? cs->one_out_of : 0);
		}
#undef MIX
	return h;
}

/* Make the state c asks for, carrying over what can go on from old.
 * NULL with err on failure (nothing of old changed). */
static struct state *prepare(struct fnf_mon *fm, const struct conf *c, struct state *old, char *err, size_t errlen)
{
	struct state *ns = calloc(1, sizeof(*ns));
	if (!ns) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* 1. a cache for every monitor applied to an interface */
	for (size_t i = 0; i < c->nmonitor; i++) {
		const struct conf_monitor *cm = &c->monitor[i];
		if (!cm->record[0] || !apply_monitor_applied(c, cm->name))
			continue;
		if (strcmp(cm->record, CONF_RECORD_PACKET_SECTION) == 0)
			continue; /* packet sections: the psamp layer's (meter/psamp.h) */
		struct fnf_def def;
		if (fnf_record_def(c, cm->record, &def, err, errlen) != 0)
			goto fail;
		struct fnf_cfg cfg = cfg_of(cm);
		struct mon *om = find_mon(old, cm->name);
		size_t n = ns->nmon;
		ns->cfg[n] = cfg;
		uint64_t sig = sampling_sig(c, cm->name);
		if (om && !om->reused && fnf_def_equal(&om->def, &def) && om->cfg.entries == cfg.entries &&
		    om->cfg.type == cfg.type && om->samp_sig == sig) {
			om->reused = true;
			ns->mon[ns->nmon++] = om;
			continue;
		}
		struct mon *m = calloc(1, sizeof(*m));
		if (!m) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		snprintf(m->name, sizeof(m->name), "%s", cm->name);
		snprintf(m->record, sizeof(m->record), "%s", cm->record);
		m->samp_sig = sig;
		m->def = def;
		m->cfg = cfg;
		m->cache = fnf_new(&def, &cfg, mon_emit, m);
		if (!m->cache) {
			snprintf(err, errlen, "%% Flow Monitor %s: cannot allocate a cache of %u entries: %s", cm->name,
			         cfg.entries, strerror(errno));
			free(m);
			goto fail;
		}
		ns->mon[ns->nmon++] = m;
	}
	/* 2. every exporter those monitors use */
	for (size_t i = 0; i < c->nexporter; i++) {
		bool used = false;
		for (size_t j = 0; j < ns->nmon && !used; j++) {
			const struct conf_monitor *cm = conf_find_monitor(c, ns->mon[j]->name);
			for (size_t k = 0; k < cm->nexporter; k++)
				used |= strcmp(cm->exporter[k], c->exporter[i].name) == 0;
		}
		if (used && build_xp(fm, c, &c->exporter[i], ns, old, err, errlen) != 0)
			goto fail;
	}
	/* 3. each monitor's outputs: its exporters and its template in each */
	for (size_t j = 0; j < ns->nmon; j++) {
		const struct conf_monitor *cm = conf_find_monitor(c, ns->mon[j]->name);
		for (size_t k = 0; k < cm->nexporter; k++) {
			struct xp *x = find_xp(ns, cm->exporter[k]);
			for (size_t u = 0; x && u < x->nuser; u++)
				if (strcmp(x->user[u].mon, cm->name) == 0)
					ns->out[j][ns->nout[j]++] = (struct out){ x, (int)u };
		}
	}
	/* 4. where packets meet them */
	build_atts(c, ns);
	return ns;
fail:
	state_drop_new(ns, old);
	return NULL;
}

/* Switch from fm->cur to ns: outputs and timeouts in place, then what
 * is not carried over flushed and closed. */
static void commit(struct fnf_mon *fm, struct state *ns)
{
	struct state *old = fm->cur;
	uint64_t now = 0;
	for (size_t i = 0; old && i < old->nmon; i++)
		if (fnf_stats(old->mon[i]->cache)->now_us > now)
			now = fnf_stats(old->mon[i]->cache)->now_us;
	/* 1. monitors and exporters going away: their flows out first, through
	 * their old exporters (which are still there) */
	for (size_t i = 0; old && i < old->nmon; i++) {
		struct mon *m = old->mon[i];
		if (m->reused)
			continue;
		fnf_flush(m->cache, FLOW_END_SHUTDOWN);
		log_info("flow monitor %s removed or changed: its flows were exported", m->name);
		mon_free(m);
	}
	for (size_t i = 0; old && i < old->nxp; i++) {
		struct xp *x = old->xp[i];
		if (x->reused)
			continue;
		if (x->t_taken && x->ex) /* its session goes on under a new exporter: so does its sequence */
			for (size_t j = 0; j < ns->nxp; j++)
				if (ns->xp[j]->t_from == x && ns->xp[j]->ex) {
					exporter_flush(x->ex, now);
					exporter_set_seq(ns->xp[j]->ex, exporter_seq_next(x->ex));
				}
		xp_close(x, now, x->t_taken);
	}
	/* 2. the new state's outputs and timeouts */
	for (size_t j = 0; j < ns->nmon; j++) {
		struct mon *m = ns->mon[j];
		memcpy(m->out, ns->out[j], sizeof(m->out));
		m->nout = ns->nout[j];
		if (m->reused && (m->cfg.active_s != ns->cfg[j].active_s || m->cfg.inactive_s != ns->cfg[j].inactive_s))
			fnf_set_timeouts(m->cache, ns->cfg[j].active_s, ns->cfg[j].inactive_s);
		m->cfg = ns->cfg[j];
		m->reused = false;
	}
	for (size_t i = 0; i < ns->nxp; i++) {
		struct xp *x = ns->xp[i];
		if (!x->reused)
			xp_start(fm, x);
		x->reused = false;
		x->t_from = NULL;
		x->t_taken = false;
	}
	free(old);
	fm->cur = ns;
}

static void state_free(struct state *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nmon; i++)
		mon_free(s->mon[i]);
	for (size_t i = 0; i < s->nxp; i++) {
		struct xp *x = s->xp[i];
		exporter_free(x->ex);
		transport_close(x->t);
		free(x);
	}
	free(s);
}

/* --- hooks ---------------------------------------------------------------- */

static int h_apply(void *arg, const struct conf *old, const struct conf *cur, char *err, size_t errlen)
{
	struct fnf_mon *fm = arg;
	struct meter *m = rt_meter(fm->rt);
	if (!fm->tapped && m) {
		struct meter_tap t = { tap_packets, tap_flush, fm };
		if (meter_add_tap(m, &t) != 0 || meter_add_tick(m, tap_tick, fm) != 0) {
			snprintf(err, errlen, "the meter has no room for the Flexible NetFlow layer");
			return -1;
		}
		fm->tapped = true;
	}
	state_drop_new(fm->next, fm->cur); /* an earlier prepare never committed */
	fm->next = NULL;
	struct state *ns = prepare(fm, cur, fm->cur, err, errlen);
	if (!ns)
		return -1;
	if (!old) { /* start: nothing after this fails */
		commit(fm, ns);
		for (size_t i = 0; i < ns->nmon; i++)
			log_info("flow monitor %s: record %s, cache of %u entries (%zu bytes each)", ns->mon[i]->name,
			         ns->mon[i]->record, ns->mon[i]->cfg.entries, fnf_entry_size(ns->mon[i]->cache));
		return 0;
	}
	fm->next = ns;
	return 0;
}

static void h_commit(void *arg, bool ok)
{
	struct fnf_mon *fm = arg;
	if (!fm->next)
		return;
	if (ok)
		commit(fm, fm->next);
	else
		state_drop_new(fm->next, fm->cur);
	fm->next = NULL;
}

/* --- show ----------------------------------------------------------------- */

static const char *const ctype_word[] = { "normal", "permanent", "immediate" };

static const char *ifname_of(const struct fnf_mon *fm, uint32_t ifx, char *buf, size_t len)
{
	const struct state *s = fm->cur;
	for (size_t i = 0; s && i < s->nifname; i++)
		if (s->ifname[i].ifindex == ifx)
			return s->ifname[i].name;
	snprintf(buf, len, "%u", ifx);
	return buf;
}

/* One value as text: addresses and MACs as such, flags and ToS in hex,
 * interfaces by name, times as UTC time of day. */
static void value_text(const struct fnf_mon *fm, const struct fnf_field *f, const struct genrec_field *g,
                       const struct genrec_val *v, char *out, size_t len)
{
	uint8_t b[16];
	const uint8_t *p = v->p;
	if (g->kind == GENREC_TIME) {
		time_t sec = (time_t)(v->u / 1000000);
		struct tm tm;
		gmtime_r(&sec, &tm);
		snprintf(out, len, "%02d:%02d:%02d.%03u", tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(v->u / 1000 % 1000));
		return;
	}
	if (g->kind == GENREC_UINT) {
		poke_u64(b, v->u);
		p = b;
	}
	size_t n = g->kind == GENREC_UINT ? 8 : g->len;
	const struct ie_info *ie = ie_by_id(g->ie);
	bool number = ie && ie->type >= IE_T_U8 && ie->type <= IE_T_U64;
	uint64_t u = number && n <= 8 ? peek_uint(p, (unsigned)n) : 0;
	char nb[32];
	switch (f->src) {
	case FNF_S_TCP_FLAGS: case FNF_S_TOS: case FNF_S_FRAG_FLAGS: case FNF_S_MCAST: case FNF_S_FWD_STATUS:
		snprintf(out, len, "0x%02llX", (unsigned long long)u);
		return;
	case FNF_S_IF_IN: case FNF_S_IF_OUT:
		snprintf(out, len, "%s", u ? ifname_of(fm, (uint32_t)u, nb, sizeof(nb)) : "0");
		return;
	default:
		break;
	}
	if (number)
		snprintf(out, len, "%llu", (unsigned long long)u);
	else
		ie_format(out, len, ie, p, n);
}

struct show_ctx {
	const struct fnf_mon *fm;
	const struct conf *c;
	const struct mon *m;
	FILE *out;
	bool json;
	size_t n;
};

static void show_flow(void *arg, const struct genrec *r)
{
	struct show_ctx *sc = arg;
	const struct fnf_def *d = &sc->m->def;
	if (sc->json)
		fprintf(sc->out, "%s{", sc->n ? "," : "");
	for (unsigned i = 0; i < d->n; i++) {
		const char *w = fnf_record_words(sc->c, sc->m->record, i);
		char val[128];
		value_text(sc->fm, &d->f[i], &r->lay->f[i], &r->v[i], val, sizeof(val));
		if (sc->json) { /* numbers as numbers (times: ms since 1970), addresses as text */
			fputs(i ? "," : "", sc->out);
			show_json_str(sc->out, w ? w : "?");
			fputc(':', sc->out);
			const struct genrec_field *g = &r->lay->f[i];
			const struct ie_info *ie = ie_by_id(g->ie);
			if (g->kind == GENREC_TIME)
				fprintf(sc->out, "%llu", (unsigned long long)(r->v[i].u / 1000));
			else if (g->kind == GENREC_UINT)
				fprintf(sc->out, "%llu", (unsigned long long)r->v[i].u);
			else if (ie && ie->type >= IE_T_U8 && ie->type <= IE_T_U64 && g->len <= 8)
				fprintf(sc->out, "%llu", (unsigned long long)peek_uint(r->v[i].p, g->len));
			else
				show_json_str(sc->out, val);
			continue;
		}
		char label[96];
		snprintf(label, sizeof(label), "%s:", w ? w : "?");
		if (d->f[i].op == FNF_KEY)
			for (char *q = label; *q; q++)
				*q = (char)(*q >= 'a' && *q <= 'z' ? *q - 32 : *q);
		fprintf(sc->out, "%-34s %s\n", label, val);
	}
	if (sc->json)
		fputc('}', sc->out);
	else
		fputc('\n', sc->out);
	sc->n++;
}

static void h_show_cache(void *arg, FILE *out, const struct conf_monitor *cm, bool json)
{
	struct fnf_mon *fm = arg;
	const struct mon *m = find_mon(fm->cur, cm->name);
	const struct conf *c = rt_conf(fm->rt);
	if (!m) {
		show_conf_monitor(out, c, cm, true, json);
		return;
	}
	const struct fnf_stats *st = fnf_stats(m->cache);
	const struct fnf_cfg *cfg = fnf_config(m->cache);
	uint64_t aged = 0;
	for (int i = 0; i < FLOW_END_MAX; i++)
		aged += st->records[i];
	struct show_ctx sc = { fm, c, m, out, json, 0 };
	if (json) {
		fputs("{\"monitor\":", out);
		show_json_str(out, m->name);
		fprintf(out, ",\"cache\":{\"type\":\"%s\",\"size\":%u,\"currentEntries\":%u,\"highWatermark\":%u,"
		             "\"flowsAdded\":%llu,\"flowsAged\":%llu,\"aged\":{\"active\":%llu,\"inactive\":%llu,"
		             "\"event\":%llu,\"watermark\":0,\"emergency\":%llu,\"shutdown\":%llu,\"immediate\":%llu},"
		             "\"droppedFull\":{\"flows\":%llu,\"packets\":%llu,\"bytes\":%llu},\"packets\":%llu,"
		             "\"bytes\":%llu,\"recordsLost\":%llu,\"activeTimeout\":%u,\"inactiveTimeout\":%u},\"flows\":[",
		        ctype_word[cfg->type], cfg->entries, st->in_use, st->high_water,
		        (unsigned long long)st->flows_added, (unsigned long long)aged,
		        (unsigned long long)st->records[FLOW_END_ACTIVE], (unsigned long long)st->records[FLOW_END_IDLE],
		        (unsigned long long)st->records[FLOW_END_EOF], (unsigned long long)st->records[FLOW_END_EMERGENCY],
		        (unsigned long long)st->records[FLOW_END_SHUTDOWN],
		        (unsigned long long)st->records[FLOW_END_IMMEDIATE], (unsigned long long)st->flows_dropped_full,
		        (unsigned long long)st->packets_dropped_full, (unsigned long long)st->bytes_dropped_full,
		        (unsigned long long)st->packets, (unsigned long long)st->bytes, (unsigned long long)m->lost,
		        cfg->active_s, cfg->inactive_s);
		fnf_foreach(m->cache, SHOW_MAX_FLOWS, show_flow, &sc);
		fputs("]}\n", out);
		return;
	}
	static const char *const tname[] = { "Normal", "Permanent", "Immediate" };
	fprintf(out, "  Cache type:                            %14s\n", tname[cfg->type]);
	fprintf(out, "  Cache size:                            %14u\n", cfg->entries);
	fprintf(out, "  Current entries:                       %14u\n", st->in_use);
	fprintf(out, "  High Watermark:                        %14u\n\n", st->high_water);
	fprintf(out, "  Flows added:                           %14llu\n", (unsigned long long)st->flows_added);
	fprintf(out, "  Flows aged:                            %14llu\n", (unsigned long long)aged);
	fprintf(out, "    - %s timeout      (%6u secs)   %14llu\n", cfg->type == CACHE_PERMANENT ? "Update" : "Active",
	        cfg->active_s, (unsigned long long)st->records[FLOW_END_ACTIVE]);
	fprintf(out, "    - Inactive timeout    (%6u secs)   %14llu\n", cfg->inactive_s,
	        (unsigned long long)st->records[FLOW_END_IDLE]);
	fprintf(out, "    - Event aged                         %14llu\n", (unsigned long long)st->records[FLOW_END_EOF]);
	fprintf(out, "    - Watermark aged                     %14u\n", 0u);
	fprintf(out, "    - Emergency aged                     %14llu\n",
	        (unsigned long long)st->records[FLOW_END_EMERGENCY]);
	fprintf(out, "    - Immediate                          %14llu\n",
	        (unsigned long long)st->records[FLOW_END_IMMEDIATE]);
	fprintf(out, "    - Forced (shutdown, reconfiguration) %14llu\n",
	        (unsigned long long)st->records[FLOW_END_SHUTDOWN]);
	fprintf(out, "  Flows not added (cache full):          %14llu (%llu packets)\n",
	        (unsigned long long)st->flows_dropped_full, (unsigned long long)st->packets_dropped_full);
	fprintf(out, "  Records not exported:                  %14llu\n\n", (unsigned long long)m->lost);
	fnf_foreach(m->cache, SHOW_MAX_FLOWS, show_flow, &sc);
	if (st->in_use > SHOW_MAX_FLOWS)
		fprintf(out, "(%u more entries not shown)\n", st->in_use - SHOW_MAX_FLOWS);
}

/* Packets m's sampled attachments were offered and took (since start
 * or the last reload); false if none of them samples. */
static bool mon_sampling(const struct state *s, const struct mon *m, uint64_t *offered, uint64_t *taken)
{
	bool any = false;
	*offered = *taken = 0;
	for (size_t i = 0; s && i < s->natt; i++)
		if (s->att[i].mon == m && s->att[i].smp.n > 1) {
			any = true;
			*offered += s->att[i].smp.seen;
			*taken += s->att[i].smp.taken;
		}
	return any;
}

static void h_show_monitor(void *arg, FILE *out, const struct conf_monitor *cm, bool json)
{
	struct fnf_mon *fm = arg;
	const struct mon *m = find_mon(fm->cur, cm->name);
	const struct conf *c = rt_conf(fm->rt);
	if (!m) {
		show_conf_monitor(out, c, cm, false, json);
		return;
	}
	const struct fnf_cfg *cfg = fnf_config(m->cache);
	const struct conf_cache *cc = &cm->cache;
	uint32_t update = (cc->set & CONF_C_UPDATE) ? cc->update_s : CONF_ACTIVE_DEFAULT_S;
	if (json) {
		fputs("{\"name\":", out);
		show_json_str(out, cm->name);
		fputs(",\"description\":", out);
		show_json_str(out, cm->description);
		fputs(",\"record\":", out);
		show_json_str(out, cm->record);
		fputs(",\"exporters\":[", out);
		for (size_t i = 0; i < cm->nexporter; i++) {
			fputs(i ? "," : "", out);
			show_json_str(out, cm->exporter[i]);
		}
		fprintf(out, "],\"cache\":{\"type\":\"%s\",\"allocated\":true,\"entries\":%u,\"bytes\":%zu,"
		             "\"inactiveTimeout\":%u,\"activeTimeout\":%u,\"updateTimeout\":%u}",
		        ctype_word[cfg->type], cfg->entries, fnf_memory(m->cache), conf_cache_inactive(cc),
		        conf_cache_active(cc), update);
		uint64_t off, tk;
		if (mon_sampling(fm->cur, m, &off, &tk))
			fprintf(out, ",\"sampling\":{\"offered\":%llu,\"sampled\":%llu,\"notSampled\":%llu}",
			        (unsigned long long)off, (unsigned long long)tk, (unsigned long long)(off - tk));
		fputs("}\n", out);
		return;
	}
	fprintf(out, "Flow Monitor %s:\n", cm->name);
	fprintf(out, "  Description:       %s\n", cm->description[0] ? cm->description : "User defined");
	fprintf(out, "  Flow Record:       %s\n", cm->record);
	if (!cm->nexporter)
		fputs("  Flow Exporter:     not configured\n", out);
	for (size_t i = 0; i < cm->nexporter; i++)
		fprintf(out, "  Flow Exporter:     %s\n", cm->exporter[i]);
	fputs("  Cache:\n", out);
	fprintf(out, "    Type:              %s\n", ctype_word[cfg->type]);
	fputs("    Status:            allocated\n", out);
	fprintf(out, "    Size:              %u entries / %zu bytes\n", cfg->entries, fnf_memory(m->cache));
	fprintf(out, "    Inactive Timeout:  %u secs\n", conf_cache_inactive(cc));
	fprintf(out, "    Active Timeout:    %u secs\n", conf_cache_active(cc));
	fprintf(out, "    Update Timeout:    %u secs\n", update);
	uint64_t off, tk;
	if (mon_sampling(fm->cur, m, &off, &tk))
		fprintf(out, "  Sampling:          %llu packets offered, %llu sampled, %llu not sampled\n",
		        (unsigned long long)off, (unsigned long long)tk, (unsigned long long)(off - tk));
}

static void h_show_exporter(void *arg, FILE *out, const struct conf_exporter *cx, bool json)
{
	struct fnf_mon *fm = arg;
	static const char *const proto[] = { "NetFlow Version 9", "NetFlow Version 5", "IPFIX (Version 10)" };
	static const char *const tp[] = { "UDP", "SCTP", "TCP" };
	const struct xp *x = find_xp(fm->cur, cx->name);
	struct exporter_stats st = { 0 };
	if (x && x->ex)
		st = *exporter_stats(x->ex);
	if (json) {
		fputs("{\"name\":", out);
		show_json_str(out, cx->name);
		fputs(",\"description\":", out);
		show_json_str(out, cx->description);
		fprintf(out, ",\"exportProtocol\":\"%s\",\"destination\":", proto[cx->protocol]);
		show_json_str(out, cx->destination);
		fputs(",\"sourceInterface\":", out);
		show_json_str(out, cx->source);
		fprintf(out, ",\"transport\":\"%s\",\"port\":%u,\"dscp\":%u,\"ttl\":%u,\"templateTimeout\":%u,\"inUse\":%s,"
		             "\"users\":[",
		        tp[cx->transport], cx->port, cx->dscp, cx->ttl, cx->template_timeout_s, x ? "true" : "false");
		for (size_t i = 0; x && i < x->nuser; i++) {
			fputs(i ? "," : "", out);
			show_json_str(out, x->user[i].mon);
		}
		fprintf(out, "],\"recordsAdded\":%llu,\"recordsSent\":%llu,\"recordsFailed\":%llu,\"notExportable\":%llu,"
		             "\"splitRecords\":%llu,\"saturated\":%llu,\"messagesSent\":%llu,\"bytesSent\":%llu,"
		             "\"sendErrors\":%llu,\"templatesSent\":%llu,\"notSent\":%llu}\n",
		        (unsigned long long)st.flows, (unsigned long long)st.records, (unsigned long long)st.flows_failed,
		        (unsigned long long)st.not_exportable, (unsigned long long)st.split_records,
		        (unsigned long long)st.saturated, (unsigned long long)st.messages, (unsigned long long)st.bytes,
		        (unsigned long long)st.send_errors, (unsigned long long)st.templates,
		        (unsigned long long)(x ? x->unsent : 0));
		return;
	}
	fprintf(out, "Flow Exporter %s:\n", cx->name);
	fprintf(out, "  Description:              %s\n", cx->description[0] ? cx->description : "User defined");
	fprintf(out, "  Export protocol:          %s\n", proto[cx->protocol]);
	fputs("  Transport Configuration:\n", out);
	fprintf(out, "    Destination IP address: %s\n", cx->destination[0] ? cx->destination : "not configured");
	if (cx->source[0])
		fprintf(out, "    Source Interface:       %s\n", cx->source);
	fprintf(out, "    Transport Protocol:     %s\n", tp[cx->transport]);
	fprintf(out, "    Destination Port:       %u\n", cx->port);
	fprintf(out, "    DSCP:                   0x%x\n", cx->dscp);
	fprintf(out, "    TTL:                    %u\n", cx->ttl);
	fprintf(out, "  Template data timeout:    %u secs\n", cx->template_timeout_s);
	if (!x) {
		fputs("  Status:                   not in use (no flow monitor using it is applied to an interface)\n", out);
		return;
	}
	fputs("  Status:                   in use by flow monitor", out);
	for (size_t i = 0; i < x->nuser; i++)
		fprintf(out, "%s %s", i ? "," : "", x->user[i].mon);
	fputc('\n', out);
	fputs("  Export statistics:\n", out);
	fprintf(out, "    Records added:          %llu\n", (unsigned long long)(st.flows + x->unsent));
	fprintf(out, "    - sent:                 %llu\n", (unsigned long long)st.records);
	fprintf(out, "    - failed (no room):     %llu\n", (unsigned long long)st.flows_failed);
	fprintf(out, "    - not exportable:       %llu\n", (unsigned long long)st.not_exportable);
	fprintf(out, "    - no destination:       %llu\n", (unsigned long long)x->unsent);
	fprintf(out, "    Packets sent:           %llu\n", (unsigned long long)st.messages);
	fprintf(out, "    Bytes sent:             %llu\n", (unsigned long long)st.bytes);
	fprintf(out, "    Send errors:            %llu\n", (unsigned long long)st.send_errors);
	fprintf(out, "    Templates sent:         %llu\n", (unsigned long long)st.templates);
}

static void h_finish(void *arg, FILE *stats)
{
	struct fnf_mon *fm = arg;
	const struct state *s = fm->cur;
	if (!stats || !s)
		return;
	for (size_t i = 0; i < s->nmon; i++) {
		const struct mon *m = s->mon[i];
		const struct fnf_stats *st = fnf_stats(m->cache);
		uint64_t recs = 0;
		for (int k = 0; k < FLOW_END_MAX; k++)
			recs += st->records[k];
		fprintf(stats, "Flow monitor %s: packets %llu, bytes %llu, flows added %llu, records exported %llu "
		               "(idle %llu, active %llu, end-of-flow %llu, emergency %llu, forced %llu, immediate %llu), "
		               "flows not added (cache full) %llu (%llu packets), records not exported %llu\n",
		        m->name, (unsigned long long)st->packets, (unsigned long long)st->bytes,
		        (unsigned long long)st->flows_added, (unsigned long long)recs,
		        (unsigned long long)st->records[FLOW_END_IDLE], (unsigned long long)st->records[FLOW_END_ACTIVE],
		        (unsigned long long)st->records[FLOW_END_EOF], (unsigned long long)st->records[FLOW_END_EMERGENCY],
		        (unsigned long long)st->records[FLOW_END_SHUTDOWN], (unsigned long long)st->records[FLOW_END_IMMEDIATE],
		        (unsigned long long)st->flows_dropped_full, (unsigned long long)st->packets_dropped_full,
		        (unsigned long long)m->lost);
		uint64_t off, tk;
		if (mon_sampling(s, m, &off, &tk))
			fprintf(stats, "Flow monitor %s sampling: %llu packets offered, %llu sampled, %llu not sampled\n",
			        m->name, (unsigned long long)off, (unsigned long long)tk, (unsigned long long)(off - tk));
	}
	for (size_t i = 0; i < s->nxp; i++) {
		const struct xp *x = s->xp[i];
		struct exporter_stats st = { 0 };
		if (x->ex)
			st = *exporter_stats(x->ex);
		fprintf(stats, "Flow exporter %s (%s): records %llu in %llu messages, failed %llu, not exportable %llu, "
		               "send errors %llu, no destination %llu\n",
		        x->conf.name, x->spec[0] ? x->spec : "no destination", (unsigned long long)st.records,
		        (unsigned long long)st.messages, (unsigned long long)st.flows_failed,
		        (unsigned long long)st.not_exportable, (unsigned long long)st.send_errors,
		        (unsigned long long)x->unsent);
	}
}

/* --- life cycle ----------------------------------------------------------- */

struct fnf_mon *fnf_mon_new(struct rt *rt)
{
	struct fnf_mon *fm = calloc(1, sizeof(*fm));
	if (fm)
		fm->rt = rt;
	return fm;
}

void fnf_mon_free(struct fnf_mon *fm)
{
	if (!fm)
		return;
	state_drop_new(fm->next, fm->cur);
	state_free(fm->cur);
	free(fm);
}

void fnf_mon_hooks(struct fnf_mon *fm, struct rt_hooks *h)
{
	memset(h, 0, sizeof(*h));
	h->apply = h_apply;
	h->commit = h_commit;
	h->show_monitor_cache = h_show_cache;
	h->show_monitor = h_show_monitor;
	h->show_exporter = h_show_exporter;
	h->finish = h_finish;
	h->arg = fm;
}

struct fnf_cache *fnf_mon_cache(struct fnf_mon *fm, const char *name)
{
	struct mon *m = find_mon(fm->cur, name);
	return m ? m->cache : NULL;
}

uint64_t fnf_mon_lost(struct fnf_mon *fm, const char *name)
{
	struct mon *m = find_mon(fm->cur, name);
	return m ? m->lost : 0;
}
