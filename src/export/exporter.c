/* exporter.c — packing flow records into export messages (see exporter.h). */
#include "export/exporter.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/export.h"
#include "export/tmpl_enc.h"
#include "lib/buf.h"

#define SPLIT_MAX 1024 /* pieces per flow; beyond, counters saturate (counted) */

struct refresh {
	bool sent;          /* sent at least once */
	unsigned pkts;      /* messages sent since */
	uint64_t last_us;   /* when last written */
};

/* A registered layout: its template, and for v1/v5/v7 the same layout
 * with times as NTP microseconds, through which a record is mapped to a
 * flowrec exactly (tmpl_get_flowrec). */
struct gtmpl {
	struct tmpl t;
	struct tmpl conv;
	uint8_t buf[];      /* conv.minlen bytes: a record being mapped */
};

struct exporter {
	struct exporter_cfg cfg;
	const struct nf_codec *c;
	struct transport *tp;
	struct tmpl t4, t6, topt;
	const struct tmpl *d4, *d6; /* data layouts: t4/t6, or the fixed v1/5/7/8 one */
	struct tmpl_enc e4, e6;     /* d4, d6 compiled for the hot path */
	bool e_ok;                  /* e4/e6 usable (no varlen field) */
	unsigned max_recs;          /* records per message (codec's, v8: the scheme's); 0 = MTU only */
	struct tmpl tsamp[2];       /* sampler options: deterministic, random (v9: [0] for both) */
	bool has_samp[2];           /* a sampler uses tsamp[k] */
	bool samp;                  /* sampled export (cfg.nsampler): sampler ids in the records */
	unsigned nsamp_rec[2];      /* options records of tsamp[k] (one per distinct sampler id) */
	struct rec_enc enc;
	uint64_t cmax;              /* largest packet/octet count a record carries */
	size_t cap;                 /* message bytes, padding reserve excluded */
	size_t pad_reserve;         /* set_align - 1: room kept for a set's padding */
	struct wbuf w;
	bool open;
	uint64_t open_us;
	size_t set_off;             /* open set header offset; 0 = no open set */
	const struct tmpl *set_t;   /* template of the open data set */
	struct {                    /* what the open message holds */
		unsigned recs;          /* every record (v9 header count) */
		unsigned data;          /* data records incl. options data (IPFIX sequence) */
		unsigned flows;         /* flow data records */
		unsigned tmpls, opt_tmpls, opt_recs;
		unsigned withdrawals;   /* template withdrawal records */
	} m;
	uint32_t seq_recs, seq_msgs;
	struct refresh rt, ro, rs;  /* templates, export-stats options, sampler options */
	uint32_t tmpl_session;      /* transport session the templates last went to */
	uint32_t opt_session;       /* likewise the options template */
	uint32_t samp_session;      /* likewise the sampler options template */
	struct exporter_stats st;
	struct gtmpl *g[EXPORTER_TMPL_MAX]; /* registered layouts */
	unsigned ng;
	uint16_t tmpl_next;         /* id for the next registered layout; 0: after the built-ins */
	uint8_t buf[];              /* cap + pad_reserve bytes */
};

void exporter_cfg_init(struct exporter_cfg *cfg, int version)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->version = version;
	cfg->mtu = 1500;
	cfg->flush_ms = 1000;
	if (version == 9) {
		cfg->tmpl_refresh_pkts = cfg->opt_refresh_pkts = 20;
		cfg->tmpl_timeout_s = cfg->opt_timeout_s = 30 * 60;
	} else if (version == 10) {
		cfg->tmpl_timeout_s = cfg->opt_timeout_s = 600;
	}
}

/* ---- configuration check: one row per ranged setting ---- */

#define VBIT(v) (1u << (v))

static const struct cfg_range {
	const char *name;
	size_t off;
	unsigned versions; /* VBIT() mask */
	unsigned stats;    /* 1: only checked with export_stats */
	unsigned min, max;
} cfg_ranges[] = {
	{ "mtu", offsetof(struct exporter_cfg, mtu), ~0u, 0, 576, 65535 },
	{ "flush_ms", offsetof(struct exporter_cfg, flush_ms), ~0u, 0, 1, 3600000 },
	{ "template refresh-rate", offsetof(struct exporter_cfg, tmpl_refresh_pkts), VBIT(9), 0, 1, 600 },
	/* v9 timeouts from 1 s: Flexible NetFlow's `template data timeout` and
	 * `option ... timeout` are seconds (1-86400); `ip flow-export template
	 * timeout-rate` minutes (1-3600) */
	{ "template timeout-rate (s)", offsetof(struct exporter_cfg, tmpl_timeout_s), VBIT(9), 0, 1, 216000 },
	{ "options refresh-rate", offsetof(struct exporter_cfg, opt_refresh_pkts), VBIT(9), 1, 1, 600 },
	{ "options timeout-rate (s)", offsetof(struct exporter_cfg, opt_timeout_s), VBIT(9), 1, 1, 216000 },
	{ "template refresh-rate", offsetof(struct exporter_cfg, tmpl_refresh_pkts), VBIT(10), 0, 0, 600 },
	{ "template timeout (s)", offsetof(struct exporter_cfg, tmpl_timeout_s), VBIT(10), 0, 1, 86400 },
	{ "options refresh-rate", offsetof(struct exporter_cfg, opt_refresh_pkts), VBIT(10), 1, 0, 600 },
	{ "options timeout (s)", offsetof(struct exporter_cfg, opt_timeout_s), VBIT(10), 1, 1, 86400 },
};

static int cfg_check(const struct exporter_cfg *cfg, const struct nf_codec *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(cfg_ranges) / sizeof(cfg_ranges[0]); i++) {
		const struct cfg_range *r = &cfg_ranges[i];
		if (!(r->versions & VBIT(cfg->version)) || (r->stats && !cfg->export_stats && !cfg->nsampler))
			continue;
		unsigned v;
		memcpy(&v, (const char *)cfg + r->off, sizeof(v));
		if (v < r->min || v > r->max) {
			snprintf(err, errlen, "%s %u out of range %u-%u for %s", r->name, v, r->min, r->max, c->name);
			return ERR_RANGE;
		}
	}
	if (cfg->sampling_interval > 0x3fff || cfg->sampling_mode > 3) {
		snprintf(err, errlen, "v5 sampling interval %u (0-16383) or mode %u (0-3) out of range",
		         cfg->sampling_interval, cfg->sampling_mode);
		return ERR_RANGE;
	}
	if (cfg->nsampler > EXPORTER_SAMPLERS_MAX) {
		snprintf(err, errlen, "at most %d samplers", EXPORTER_SAMPLERS_MAX);
		return ERR_RANGE;
	}
	for (unsigned i = 0; c->sets && i < cfg->nsampler; i++) {
		const struct exporter_sampler *s = &cfg->sampler[i];
		if (s->id == 0 || (c->version == 9 && s->id > 255) || s->n < 2) {
			snprintf(err, errlen, "sampler id %u (1-%u) or 1 out of %u (2-) out of range for %s", s->id,
			         c->version == 9 ? 255u : UINT32_MAX, s->n, c->name);
			return ERR_RANGE;
		}
		for (unsigned j = 0; j < i; j++)
			if (cfg->sampler[j].id == s->id && (cfg->sampler[j].n != s->n || cfg->sampler[j].random != s->random)) {
				snprintf(err, errlen, "sampler id %u given two rates", s->id);
				return ERR_ARG;
			}
	}
	if (cfg->export_stats && !c->sets) {
		snprintf(err, errlen, "export-stats needs version 9 or IPFIX, not %s", c->name);
		return ERR_ARG;
	}
	return ERR_OK;
}

/* Bytes a template record takes on the wire in this format. */
static size_t tmpl_wire_len(const struct nf_codec *c, const struct tmpl *t)
{
	uint8_t scratch[8 + 8 * TMPL_MAX_FIELDS];
	struct wbuf w;
	wbuf_init(&w, scratch, sizeof(scratch));
	return c->put_tmpl(&w, t) == ERR_OK ? w.len : sizeof(scratch);
}

static size_t pad_to(size_t n, size_t align)
{
	return align > 1 ? (n + align - 1) / align * align : n;
}

/* Largest message start the exporter may write: header, template set,
 * options template and data sets, then one data set of one record. */
static size_t worst_case(const struct exporter *ex)
{
	const struct nf_codec *c = ex->c;
	bool generic = ex->cfg.flags & EXPORTER_F_GENERIC;
	size_t a = c->set_align, rec = ex->d4->minlen > ex->d6->minlen ? ex->d4->minlen : ex->d6->minlen;
	if (!c->sets)
		return c->hdr_len + rec;
	size_t tset = generic ? 0 : tmpl_wire_len(c, &ex->t4) + tmpl_wire_len(c, &ex->t6);
	if (generic)
		rec = 0;
	for (unsigned i = 0; i < ex->ng; i++) {
		tset += tmpl_wire_len(c, &ex->g[i]->t);
		if (ex->g[i]->t.minlen > rec)
			rec = ex->g[i]->t.minlen;
	}
	size_t n = c->hdr_len + (tset ? pad_to(4 + tset, a) : 0);
	if (ex->cfg.export_stats)
		n += pad_to(4 + tmpl_wire_len(c, &ex->topt), a) + pad_to(4 + ex->topt.minlen, a);
	for (int k = 0; k < 2; k++)
		if (ex->has_samp[k])
			n += pad_to(4 + tmpl_wire_len(c, &ex->tsamp[k]), a) + pad_to(4 + ex->nsamp_rec[k] * ex->tsamp[k].minlen, a);
	return n + pad_to(4 + rec, a);
}

/* The sysUptime base: the start aligned down to the header clock's
 * resolution (export.h time_res_us), so header times and record times
 * reconstruct exactly at the collector. */
static uint64_t boot_of(const struct nf_codec *c, uint64_t start_us)
{
	return c->time_res_us > 1 ? start_us - start_us % c->time_res_us : start_us;
}

static uint64_t counter_max(const struct tmpl *t)
{
	uint64_t m = UINT64_MAX;
	for (unsigned i = 0; i < t->nfields; i++) {
		const struct tmpl_field *f = &t->f[i];
		if ((f->ie == IE_octetDeltaCount || f->ie == IE_packetDeltaCount) && f->len < 8)
			if ((1ull << (8 * f->len)) - 1 < m)
				m = (1ull << (8 * f->len)) - 1;
	}
	return m;
}

/* ---- sampled export (exporter.h, cfg.sampler_*) ---- */

enum { SAMP_T4 = 260, SAMP_T6 = 261, SAMP_OPT_DET = 259, SAMP_OPT_RND = 262, NF9_SCOPE_SYSTEM = 1 };

/* v9: Cisco's sampler options (scope System = the source id). */
static const struct tmpl_field samp_v9[] = {
	{ NF9_SCOPE_SYSTEM, 4, 0, 0 },
	{ IE_samplerId, 1, 0, 0 },             /* FLOW_SAMPLER_ID */
	{ IE_samplerMode, 1, 0, 0 },           /* FLOW_SAMPLER_MODE */
	{ IE_samplerRandomInterval, 4, 0, 0 }, /* FLOW_SAMPLER_RANDOM_INTERVAL */
};
/* IPFIX: the PSAMP selector report (RFC 5476 §6.5.2), one per algorithm;
 * selectorId in reduced-size encoding (RFC 7011 §6.2), as in the records */
static const struct tmpl_field samp_ipfix_det[] = {
	{ IE_selectorId, 4, 0, 0 }, { IE_selectorAlgorithm, 2, 0, 0 },
	{ IE_samplingPacketInterval, 4, 0, 0 }, { IE_samplingPacketSpace, 4, 0, 0 },
};
static const struct tmpl_field samp_ipfix_rnd[] = {
	{ IE_selectorId, 4, 0, 0 }, { IE_selectorAlgorithm, 2, 0, 0 },
	{ IE_samplingSize, 4, 0, 0 }, { IE_samplingPopulation, 4, 0, 0 },
};

/* The flow templates with the sampler id appended, under ids of their
 * own (not for a generic exporter: its layouts name the sampler if they
 * collect it), and the sampler options templates. */
static int build_sampled(struct exporter *ex)
{
	bool v9 = ex->c->version == 9;
	struct tmpl *d[2] = { &ex->t4, &ex->t6 };
	int rc;
	for (int k = 0; k < 2 && !(ex->cfg.flags & EXPORTER_F_GENERIC); k++) {
		struct tmpl_field f[TMPL_MAX_FIELDS];
		unsigned n = d[k]->nfields;
		if (n + 1 > TMPL_MAX_FIELDS)
			return ERR_UNSUPP;
		memcpy(f, d[k]->f, n * sizeof(f[0]));
		f[n] = v9 ? (struct tmpl_field){ IE_samplerId, 1, 0, 0 } : (struct tmpl_field){ IE_selectorId, 4, 0, 0 };
		uint8_t flags = d[k]->flags;
		if ((rc = tmpl_init(d[k], k ? SAMP_T6 : SAMP_T4, f, n + 1, 0)) != ERR_OK)
			return rc;
		d[k]->flags = flags;
	}
	if ((rc = tmpl_init(&ex->tsamp[0], SAMP_OPT_DET, v9 ? samp_v9 : samp_ipfix_det, 4, 1)) != ERR_OK ||
	    (rc = tmpl_init(&ex->tsamp[1], v9 ? SAMP_OPT_DET : SAMP_OPT_RND, v9 ? samp_v9 : samp_ipfix_rnd, 4, 1)) != ERR_OK)
		return rc;
	if (v9)
		ex->tsamp[0].flags = ex->tsamp[1].flags = TMPL_F_V9;
	for (unsigned i = 0; i < ex->cfg.nsampler; i++) {
		const struct exporter_sampler *s = &ex->cfg.sampler[i];
		bool first = true;
		for (unsigned j = 0; j < i; j++)
			first &= ex->cfg.sampler[j].id != s->id;
		int k = v9 ? 0 : s->random;
		ex->has_samp[k] = true;
		ex->nsamp_rec[k] += first;
	}
	ex->samp = true;
	return ERR_OK;
}

/* The sampler id of the flow's interface and direction, 0 if unsampled. */
static uint32_t samp_of(const struct exporter *ex, const struct flowrec *r)
{
	for (unsigned i = 0; i < ex->cfg.nsampler; i++)
		if (ex->cfg.sampler[i].ifindex == r->key.ifindex && ex->cfg.sampler[i].dir == r->key.dir)
			return ex->cfg.sampler[i].id;
	return 0;
}

/* One sampler options record's values, field by field. */
static void samp_values(const struct exporter *ex, const struct tmpl *t, const struct exporter_sampler *s,
                        uint64_t *v)
{
	for (unsigned i = 0; i < t->nfields; i++) {
		switch (t->f[i].ie) {
		case IE_samplerId: case IE_selectorId: v[i] = s->id; break;
		case IE_samplerMode: v[i] = s->random ? 2 : 0; break; /* as tshark and IOS: 0 deterministic */
		case IE_selectorAlgorithm: v[i] = s->random ? 3 : 1; break;
		case IE_samplerRandomInterval: case IE_samplingPopulation: v[i] = s->n; break;
		case IE_samplingPacketInterval: case IE_samplingSize: v[i] = 1; break;
		case IE_samplingPacketSpace: v[i] = s->n - 1; break;
		default: v[i] = i < t->scope_count ? ex->cfg.domain : 0; break; /* v9 scope System */
		}
	}
}

static int open_set(struct exporter *ex, uint16_t id);
static void close_set(struct exporter *ex);

/* The options set of tsamp[k]: one record per distinct sampler id. */
static int put_samp_set(struct exporter *ex, int k)
{
	bool v9 = ex->c->version == 9;
	int rc = open_set(ex, ex->tsamp[k].id);
	for (unsigned i = 0; rc == ERR_OK && i < ex->cfg.nsampler; i++) {
		const struct exporter_sampler *s = &ex->cfg.sampler[i];
		bool first = true;
		for (unsigned j = 0; j < i; j++)
			first &= ex->cfg.sampler[j].id != s->id;
		if (!first || (v9 ? 0 : s->random) != k)
			continue;
		uint64_t v[TMPL_MAX_FIELDS];
		samp_values(ex, &ex->tsamp[k], s, v);
		rc = tmpl_put_values(&ex->w, &ex->tsamp[k], v);
	}
	close_set(ex);
	return rc;
}

struct exporter *exporter_new(const struct exporter_cfg *cfg, struct transport *t, char *err, size_t errlen)
{
	char dummy[1];
	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	const struct nf_codec *c = nf_codec_by_version(cfg->version);
	if (!c) {
		snprintf(err, errlen, "export version %d: not 1, 5, 7, 8, 9 or 10", cfg->version);
		return NULL;
	}
	if (!t) {
		snprintf(err, errlen, "no transport");
		return NULL;
	}
	if (cfg_check(cfg, c, err, errlen) != ERR_OK)
		return NULL;
	if (cfg->mtu <= t->overhead + c->hdr_len) {
		snprintf(err, errlen, "mtu %u too small", cfg->mtu);
		return NULL;
	}
	size_t cap = cfg->mtu - t->overhead;
	if (cap > 65535)
		cap = 65535;
	size_t pad = c->set_align > 1 ? c->set_align - 1u : 0;
	struct exporter *ex = calloc(1, sizeof(*ex) + cap);
	if (!ex) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ex->cfg = *cfg;
	ex->c = c;
	ex->tp = t;
	t->hold_for_ctrl = c->sets != 0;
	ex->pad_reserve = pad;
	ex->cap = cap - pad;
	ex->enc.boot_us = boot_of(c, cfg->start_us);
	ex->enc.router_sc = cfg->router_sc;
	if (c->sets) {
		if (c->build_tmpls(&ex->t4, &ex->t6, &ex->topt,
		                   (cfg->flags & EXPORTER_F_TIME_US ? NF_F_TIME_US : 0) |
		                       (cfg->flags & EXPORTER_F_BGP_NH ? NF_F_BGP_NH : 0)) != ERR_OK) {
			snprintf(err, errlen, "internal: bad built-in template");
			free(ex);
			return NULL;
		}
		if (cfg->nsampler && build_sampled(ex) != ERR_OK) {
			snprintf(err, errlen, "internal: bad sampled template");
			free(ex);
			return NULL;
		}
		ex->d4 = &ex->t4;
		ex->d6 = &ex->t6;
	} else if (c->version == 8) {
		ex->d4 = ex->d6 = nf8_tmpl(cfg->agg_scheme);
		if (!ex->d4) {
			snprintf(err, errlen, "v8 aggregation scheme %u has no record layout", cfg->agg_scheme);
			free(ex);
			return NULL;
		}
	} else {
		ex->d4 = ex->d6 = c->fixed;
	}
	ex->e_ok = ex->d4 && ex->d6 && tmpl_enc_init(&ex->e4, ex->d4) == ERR_OK &&
	           tmpl_enc_init(&ex->e6, ex->d6) == ERR_OK;
	ex->max_recs = c->version == 8 ? nf8_max_recs(cfg->agg_scheme) : c->max_recs;
	ex->cmax = counter_max(ex->d4) < counter_max(ex->d6) ? counter_max(ex->d4) : counter_max(ex->d6);
	if (worst_case(ex) > ex->cap) {
		snprintf(err, errlen, "mtu %u too small for %s: a message needs %zu bytes + %zu of headers",
		         cfg->mtu, c->name, worst_case(ex), t->overhead);
		free(ex);
		return NULL;
	}
	return ex;
}

void exporter_free(struct exporter *ex)
{
	if (!ex)
		return;
	for (unsigned i = 0; i < ex->ng; i++)
		free(ex->g[i]);
	free(ex);
}

const struct exporter_stats *exporter_stats(const struct exporter *ex)
{
	return &ex->st;
}

/* ---- message assembly ---- */

static bool refresh_due(const struct refresh *r, unsigned pkts, unsigned timeout_s, uint64_t now)
{
	return !r->sent || (pkts && r->pkts >= pkts) ||
	       (timeout_s && now >= r->last_us && now - r->last_us >= (uint64_t)timeout_s * 1000000);
}

static int open_set(struct exporter *ex, uint16_t id)
{
	size_t off = wbuf_mark(&ex->w);
	int rc = wbuf_put_u16(&ex->w, id);
	if (rc == ERR_OK)
		rc = wbuf_put_u16(&ex->w, 0); /* length: poked at close */
	if (rc != ERR_OK) {
		wbuf_rollback(&ex->w, off);
		return rc;
	}
	ex->set_off = off;
	return ERR_OK;
}

/* Pad the open set to set_align (into the reserve kept for it) and poke
 * its length. Padding that reaches into the reserve leaves the writer
 * full (cap == len), so the message never outgrows cap + reserve. */
static void close_set(struct exporter *ex)
{
	if (!ex->set_off)
		return;
	ex->w.cap = ex->cap + ex->pad_reserve;
	while ((ex->w.len - ex->set_off) % (ex->c->set_align ? ex->c->set_align : 1))
		if (wbuf_put_u8(&ex->w, 0) != ERR_OK)
			abort(); /* the reserve was kept for this: a bug */
	ex->w.cap = ex->w.len > ex->cap ? ex->w.len : ex->cap;
	if (wbuf_poke_u16(&ex->w, ex->set_off + 2, (uint16_t)(ex->w.len - ex->set_off)) != ERR_OK)
		abort();
	ex->set_off = 0;
	ex->set_t = NULL;
}

static void opt_values(const struct exporter *ex, uint64_t *v)
{
	const struct tmpl *t = &ex->topt;
	for (unsigned i = 0; i < t->nfields; i++) {
		uint16_t ie = t->f[i].ie;
		if (i < t->scope_count)
			v[i] = ie == IE_exportingProcessId ? ex->cfg.exporting_pid : ex->cfg.domain;
		else
			v[i] = ie == IE_exportedMessageTotalCount ? ex->st.messages
			     : ie == IE_exportedFlowRecordTotalCount ? ex->st.records
			     : ie == IE_exportedOctetTotalCount ? ex->st.bytes : 0;
	}
}

/* Write the template set (and/or options) into the open message if due.
 * Returns ERR_NOSPACE (message unchanged) if they do not fit. */
static int put_ctrl(struct exporter *ex, uint64_t now, bool force_tmpl, bool force_opt)
{
	const struct nf_codec *c = ex->c;
	const struct exporter_cfg *cfg = &ex->cfg;
	/* On a connection-oriented transport templates go once per session
	 * (RFC 7011 §8), never on the UDP refresh timers; options data still
	 * follows its own timers, its template once per session. */
	bool reliable = ex->tp->reliable;
	uint32_t session = transport_session(ex->tp);
	bool tmpl = force_tmpl || (reliable ? !ex->rt.sent || ex->tmpl_session != session
	                                    : refresh_due(&ex->rt, cfg->tmpl_refresh_pkts, cfg->tmpl_timeout_s, now));
	bool opt = cfg->export_stats &&
	           (force_opt || refresh_due(&ex->ro, cfg->opt_refresh_pkts, cfg->opt_timeout_s, now) ||
	            (reliable && ex->opt_session != session));
	bool opt_tmpl = opt && (!reliable || !ex->ro.sent || ex->opt_session != session);
	/* the sampler options at the same rules; with the templates too: a
	 * collector that learns the flow templates learns the rate with them */
	bool samp = ex->samp && (tmpl || force_opt || refresh_due(&ex->rs, cfg->opt_refresh_pkts, cfg->opt_timeout_s, now) ||
	                         (reliable && ex->samp_session != session));
	bool samp_tmpl = samp && (!reliable || !ex->rs.sent || ex->samp_session != session);
	if (!tmpl && !opt && !samp)
		return ERR_OK;
	close_set(ex);
	size_t mark = wbuf_mark(&ex->w);
	int rc = ERR_OK;
	bool builtin = !(cfg->flags & EXPORTER_F_GENERIC);
	unsigned ntmpl = (builtin ? 2 : 0) + ex->ng;
	if (tmpl && ntmpl) {
		if ((rc = open_set(ex, c->tmpl_set_id)) != ERR_OK)
			goto fail;
		if (builtin && ((rc = c->put_tmpl(&ex->w, &ex->t4)) != ERR_OK ||
		                (rc = c->put_tmpl(&ex->w, &ex->t6)) != ERR_OK))
			goto fail;
		for (unsigned i = 0; i < ex->ng; i++)
			if ((rc = c->put_tmpl(&ex->w, &ex->g[i]->t)) != ERR_OK)
				goto fail;
		close_set(ex);
	}
	if (opt) {
		uint64_t v[TMPL_MAX_FIELDS];
		opt_values(ex, v);
		if (opt_tmpl) {
			if ((rc = open_set(ex, c->opt_set_id)) != ERR_OK ||
			    (rc = c->put_tmpl(&ex->w, &ex->topt)) != ERR_OK)
				goto fail;
			close_set(ex);
		}
		if ((rc = open_set(ex, ex->topt.id)) != ERR_OK ||
		    (rc = tmpl_put_values(&ex->w, &ex->topt, v)) != ERR_OK)
			goto fail;
		close_set(ex);
	}
	unsigned samp_recs = 0, samp_tmpls = 0;
	for (int k = 0; samp && k < 2; k++) {
		if (!ex->has_samp[k])
			continue;
		if (samp_tmpl) {
			if ((rc = open_set(ex, c->opt_set_id)) != ERR_OK ||
			    (rc = c->put_tmpl(&ex->w, &ex->tsamp[k])) != ERR_OK)
				goto fail;
			close_set(ex);
			samp_tmpls++;
		}
		if ((rc = put_samp_set(ex, k)) != ERR_OK)
			goto fail;
		samp_recs += ex->nsamp_rec[k];
	}
	if (tmpl) {
		ex->m.recs += ntmpl;
		ex->m.tmpls += ntmpl;
		ex->rt = (struct refresh){ true, 0, now };
		ex->tmpl_session = session;
	}
	if (opt) {
		ex->m.recs += opt_tmpl ? 2 : 1;
		ex->m.opt_tmpls += opt_tmpl ? 1 : 0;
		ex->m.opt_recs += 1;
		ex->m.data += 1;
		ex->ro = (struct refresh){ true, 0, now };
		ex->opt_session = session;
	}
	if (samp) {
		ex->m.recs += samp_tmpls + samp_recs;
		ex->m.opt_tmpls += samp_tmpls;
		ex->m.opt_recs += samp_recs;
		ex->m.data += samp_recs;
		ex->rs = (struct refresh){ true, 0, now };
		ex->samp_session = session;
	}
	return ERR_OK;
fail:
	ex->set_off = 0;
	ex->set_t = NULL;
	wbuf_rollback(&ex->w, mark);
	return rc;
}

/* An empty message: the header, written at send. */
static void open_bare(struct exporter *ex, uint64_t now)
{
	wbuf_init(&ex->w, ex->buf, ex->cap);
	memset(wbuf_reserve(&ex->w, ex->c->hdr_len), 0, ex->c->hdr_len); /* header: written at send */
	ex->open = true;
	ex->open_us = now;
	ex->set_off = 0;
	ex->set_t = NULL;
	memset(&ex->m, 0, sizeof(ex->m));
}

/* A new message with the templates and options that are due (a
 * control-only one when the transport keeps them apart). */
static void open_msg(struct exporter *ex, uint64_t now)
{
	open_bare(ex, now);
	if (ex->c->sets && put_ctrl(ex, now, false, false) != ERR_OK)
		abort(); /* exporter_new checked that they fit an empty message */
}

static void send_msg(struct exporter *ex, uint64_t now);

/* A message for data records. A transport with a control stream (SCTP,
 * t->split_ctrl) takes templates and options in messages of their own,
 * sent first; others get them at the head of the data message. */
static void open_data_msg(struct exporter *ex, uint64_t now)
{
	open_msg(ex, now);
	if (ex->tp->split_ctrl && ex->m.recs) {
		send_msg(ex, now);
		open_bare(ex, now);
	}
}

static void send_msg(struct exporter *ex, uint64_t now)
{
	const struct nf_codec *c = ex->c;
	if (!ex->open)
		return;
	close_set(ex);
	ex->open = false;
	if (ex->m.recs == 0)
		return; /* nothing in it */
	/* The header's clock at its own resolution: a v9 header names whole
	 * seconds only, so its sysUptime is the uptime at that second, and
	 * unix_secs * 1000 - sysUptime is the base exactly (a record that
	 * ended in the last second may then end after sysUptime). */
	uint64_t hnow = c->time_res_us > 1 ? now - now % c->time_res_us : now;
	uint64_t boot = ex->enc.boot_us;
	struct nf_hdr h = {
		.version = c->version,
		.count = (uint16_t)ex->m.recs,
		.length = (uint16_t)ex->w.len,
		.sysup_ms = hnow > boot ? (uint32_t)((hnow - boot) / 1000) : 0,
		.export_us = hnow,
		.seq = c->seq == NF_SEQ_RECORDS ? ex->seq_recs : c->seq == NF_SEQ_PACKETS ? ex->seq_msgs : 0,
		.domain = ex->cfg.domain,
		.engine_type = ex->cfg.engine_type,
		.engine_id = ex->cfg.engine_id,
		.sampling = (uint16_t)(ex->cfg.sampling_mode << 14 | ex->cfg.sampling_interval),
		.agg_scheme = ex->cfg.agg_scheme,
		.agg_version = NF8_AGG_VERSION,
	};
	struct wbuf hw;
	wbuf_init(&hw, ex->buf, c->hdr_len);
	if (c->put_hdr(&hw, &h) != ERR_OK)
		abort();
	unsigned flags = ex->m.tmpls || ex->m.opt_tmpls || ex->m.opt_recs || ex->m.withdrawals ? TRANSPORT_F_CTRL : 0;
	flags |= TRANSPORT_F_RECS(ex->m.flows);
	/* templates for a (new) session go ahead of data queued for an old one */
	if (ex->m.tmpls && ex->tp->reliable)
		flags |= TRANSPORT_F_FRONT;
	int rc = transport_send(ex->tp, ex->buf, ex->w.len, flags);
	ex->seq_recs += ex->m.data;
	ex->seq_msgs++;
	ex->rt.pkts++;
	ex->ro.pkts++;
	ex->rs.pkts++;
	if (rc == ERR_OK) {
		ex->st.messages++;
		ex->st.bytes += ex->w.len;
		ex->st.records += ex->m.flows;
		ex->st.templates += ex->m.tmpls;
		ex->st.options_templates += ex->m.opt_tmpls;
		ex->st.options_records += ex->m.opt_recs;
	} else {
		ex->st.send_errors++;
		ex->st.flows_failed += ex->m.flows;
		/* templates that did not leave must go again with the next message */
		if (ex->m.tmpls)
			ex->rt.sent = false;
		if (ex->m.opt_tmpls) {
			ex->ro.sent = false;
			ex->rs.sent = false;
		}
	}
}

static inline int put_flow(struct exporter *ex, const struct tmpl *t, const struct flowrec *r)
{
	if (ex->e_ok && (t == ex->d4 || t == ex->d6))
		return tmpl_enc_put(&ex->w, t == ex->d4 ? &ex->e4 : &ex->e6, r, &ex->enc);
	return tmpl_put_flowrec(&ex->w, t, r, &ex->enc);
}

/* Place one record laid out by t (a flowrec r, or a generic record g);
 * retried once in a fresh message when it did not fit. A record the
 * encoder refuses for another reason (a variable-length value it cannot
 * carry) is not exportable, and counted so, not sent for. */
static int add_rec(struct exporter *ex, const struct tmpl *t, const struct flowrec *r, const struct genrec *g,
                   uint64_t now)
{
	const struct nf_codec *c = ex->c;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!ex->open)
			open_data_msg(ex, now);
		bool fresh_set = false;
		if (c->sets && ex->set_t != t) {
			close_set(ex);
			if (open_set(ex, t->id) == ERR_OK) {
				ex->set_t = t;
				fresh_set = true;
			}
		}
		size_t mark = wbuf_mark(&ex->w);
		int rc = ERR_NOSPACE;
		if ((!c->sets || ex->set_t == t) &&
		    (rc = g ? tmpl_put_genrec(&ex->w, t, g, &ex->enc) : put_flow(ex, t, r)) == ERR_OK) {
			ex->m.recs++;
			ex->m.data++;
			ex->m.flows++;
			if (ex->max_recs && ex->m.recs >= ex->max_recs)
				send_msg(ex, now);
			return ERR_OK;
		}
		wbuf_rollback(&ex->w, mark);
		if (fresh_set) { /* drop the empty set header too */
			wbuf_rollback(&ex->w, ex->set_off);
			ex->set_off = 0;
			ex->set_t = NULL;
		}
		if (rc != ERR_NOSPACE) {
			ex->st.not_exportable++;
			return rc;
		}
		send_msg(ex, now);
	}
	ex->st.flows_failed++;
	return ERR_NOSPACE;
}

int exporter_add(struct exporter *ex, const struct flowrec *r, uint64_t now_us)
{
	if (ex->c->sets && (ex->cfg.flags & EXPORTER_F_GENERIC))
		return ERR_ARG; /* a generic exporter has no flowrec template */
	ex->st.flows++;
	if (r->key.af != 4 && (r->key.af != 6 || !ex->c->v6)) {
		ex->st.not_exportable++;
		return ERR_UNSUPP;
	}
	const struct tmpl *t = r->key.af == 6 ? ex->d6 : ex->d4;
	int rc = ERR_OK;
	uint64_t before = ex->enc.saturated;
	if (ex->samp)
		ex->enc.sampler_id = samp_of(ex, r);
	if (r->packets <= ex->cmax && r->bytes <= ex->cmax) {
		rc = add_rec(ex, t, r, NULL, now_us);
	} else {
		uint64_t n = r->packets / ex->cmax + (r->packets % ex->cmax != 0);
		uint64_t nb = r->bytes / ex->cmax + (r->bytes % ex->cmax != 0);
		if (nb > n)
			n = nb;
		if (n > SPLIT_MAX)
			n = SPLIT_MAX;
		struct flowrec piece = *r;
		ex->st.split_records += n - 1;
		for (uint64_t i = 0; i < n; i++) {
			piece.packets = r->packets / n + (i < r->packets % n);
			piece.bytes = r->bytes / n + (i < r->bytes % n);
			int prc = add_rec(ex, t, &piece, NULL, now_us);
			if (prc != ERR_OK)
				rc = prc;
		}
	}
	ex->st.saturated += ex->enc.saturated - before;
	return rc;
}

/* ---- records of any layout ---- */

static bool is_counter(uint16_t ie)
{
	return ie == IE_octetDeltaCount || ie == IE_packetDeltaCount;
}

/* The time IE the flowrec reader maps exactly: NTP microseconds. */
static uint16_t conv_time_ie(uint16_t ie)
{
	switch (ie) {
	case IE_flowEndSysUpTime: case IE_flowEndSeconds: case IE_flowEndMilliseconds:
	case IE_flowEndMicroseconds: case IE_flowEndNanoseconds:
		return IE_flowEndMicroseconds;
	default:
		return IE_flowStartMicroseconds;
	}
}

int exporter_add_tmpl(struct exporter *ex, const struct genrec_layout *lay, char *err, size_t errlen)
{
	char dummy[1];
	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	if (ex->ng == EXPORTER_TMPL_MAX) {
		snprintf(err, errlen, "at most %d record templates per exporter", EXPORTER_TMPL_MAX);
		return -1;
	}
	uint16_t id = exporter_tmpl_next(ex);
	struct tmpl t;
	size_t bad = 0;
	int rc = tmpl_init_layout(&t, id, lay, ex->c->version == 9, &bad);
	if (rc != ERR_OK) {
		const struct ie_info *ie = bad < lay->n ? ie_by_id(lay->f[bad].ie) : NULL;
		if (rc == ERR_UNSUPP && ie)
			snprintf(err, errlen, "%s (IE %u) has no NetFlow v9 field type; export this record with IPFIX",
			         ie->name, ie->id);
		else if (rc == ERR_UNSUPP && bad < lay->n)
			snprintf(err, errlen, "IE %u is not in the field catalog", lay->f[bad].ie);
		else
			snprintf(err, errlen, "the record cannot be a template (%s)", err_str(rc));
		return -1;
	}
	/* the conversion layout for v1/v5/v7: the same fields, times as NTP
	 * and counters in 64 bits (the format splits what it cannot carry) */
	struct genrec_layout cl = *lay;
	for (unsigned i = 0; i < cl.n; i++)
		if (cl.f[i].kind == GENREC_TIME) {
			cl.f[i].ie = conv_time_ie(cl.f[i].ie);
			cl.f[i].len = 8;
		} else if (cl.f[i].kind == GENREC_UINT && is_counter(cl.f[i].ie)) {
			cl.f[i].len = 8;
		}
	struct tmpl conv;
	if (tmpl_init_layout(&conv, id, &cl, 0, NULL) != ERR_OK) {
		snprintf(err, errlen, "the record cannot be mapped to a flow record");
		return -1;
	}
	struct gtmpl *g = calloc(1, sizeof(*g) + conv.minlen);
	if (!g) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	g->t = t;
	g->conv = conv;
	ex->g[ex->ng++] = g;
	ex->tmpl_next = (uint16_t)(id == 0xffff ? 0 : id + 1); /* 0: wrap to the first after the built-ins */
	if (worst_case(ex) > ex->cap) {
		snprintf(err, errlen, "mtu %u too small for %s: the templates and one record need %zu bytes + %zu of headers",
		         ex->cfg.mtu, ex->c->name, worst_case(ex), ex->tp->overhead);
		free(ex->g[--ex->ng]);
		return -1;
	}
	ex->rt.sent = false; /* the new template goes with the next message */
	return (int)ex->ng - 1;
}

void exporter_set_tmpl_base(struct exporter *ex, uint16_t first)
{
	/* A generic exporter continuing a session (reload): its sampler
	 * options templates, too, take ids the session has not used, or they
	 * would redefine an old layout's id (RFC 7011 §8). */
	if (first >= TMPL_ID_MIN && ex->samp && (ex->cfg.flags & EXPORTER_F_GENERIC) && first <= 0xfffd) {
		bool v9 = ex->c->version == 9;
		ex->tsamp[0].id = first;
		ex->tsamp[1].id = v9 ? first : (uint16_t)(first + 1);
		first = (uint16_t)(first + (v9 ? 1 : 2));
	}
	ex->tmpl_next = first >= TMPL_ID_MIN ? first : 0;
}

uint16_t exporter_tmpl_next(const struct exporter *ex)
{
	uint16_t id = ex->topt.id > ex->t6.id ? ex->topt.id : ex->t6.id;
	if (ex->t4.id > id)
		id = ex->t4.id;
	for (int k = 0; ex->samp && k < 2; k++)
		if (ex->tsamp[k].id > id)
			id = ex->tsamp[k].id;
	uint16_t first = (uint16_t)((id < TMPL_ID_MIN ? TMPL_ID_MIN + 2 : id) + 1);
	return ex->tmpl_next >= first ? ex->tmpl_next : first;
}

const struct tmpl *exporter_tmpl(const struct exporter *ex, int h)
{
	return h >= 0 && (unsigned)h < ex->ng ? &ex->g[h]->t : NULL;
}

/* v1/v5/v7: the record through the conversion template to a flowrec. */
static int add_genrec_fixed(struct exporter *ex, struct gtmpl *g, const struct genrec *r, uint64_t now_us)
{
	struct wbuf w;
	struct rec_enc enc = ex->enc; /* a copy: the mapping saturates nothing the format counts */
	wbuf_init(&w, g->buf, g->conv.minlen);
	if (tmpl_put_genrec(&w, &g->conv, r, &enc) != ERR_OK)
		abort(); /* sized for it at registration: a bug */
	struct flowrec fr;
	struct rec_dec dec = { 0 };
	if (tmpl_get_flowrec(&g->conv, g->buf, w.len, &dec, &fr) != ERR_OK)
		abort();
	fr.end = r->end;
	return exporter_add(ex, &fr, now_us);
}

int exporter_add_genrec(struct exporter *ex, int h, const struct genrec *r, uint64_t now_us)
{
	if (h < 0 || (unsigned)h >= ex->ng || r->lay->n != ex->g[h]->t.nfields)
		return ERR_ARG;
	struct gtmpl *g = ex->g[h];
	if (ex->c->version == 8) {
		/* the layout is the scheme's record: written as it is (32-bit
		 * counters saturate, counted; a split would count flows twice) */
		if (g->t.nfields != ex->d4->nfields)
			return ERR_ARG;
		ex->st.flows++;
		uint64_t before = ex->enc.saturated;
		int rc = add_rec(ex, ex->d4, NULL, r, now_us);
		ex->st.saturated += ex->enc.saturated - before;
		return rc;
	}
	if (!ex->c->sets && g->conv.varlen) { /* v1/v5/v7 have no variable-length field */
		ex->st.flows++;
		ex->st.not_exportable++;
		return ERR_UNSUPP;
	}
	if (!ex->c->sets)
		return add_genrec_fixed(ex, g, r, now_us);
	ex->st.flows++;
	uint64_t before = ex->enc.saturated;
	int rc = ERR_OK;
	uint64_t n = 1;
	for (unsigned i = 0; i < r->lay->n; i++)
		if (is_counter(r->lay->f[i].ie) && r->lay->f[i].kind == GENREC_UINT && r->lay->f[i].len < 8) {
			uint64_t m = (1ull << (8 * r->lay->f[i].len)) - 1;
			uint64_t k = r->v[i].u / m + (r->v[i].u % m != 0);
			if (k > n)
				n = k;
		}
	if (n <= 1) {
		rc = add_rec(ex, &g->t, NULL, r, now_us);
	} else {
		/* split: each piece carries a share of every counter */
		if (n > SPLIT_MAX)
			n = SPLIT_MAX;
		struct genrec_val v[GENREC_FIELDS_MAX];
		struct genrec piece = *r;
		piece.v = v;
		ex->st.split_records += n - 1;
		for (uint64_t k = 0; k < n; k++) {
			for (unsigned i = 0; i < r->lay->n; i++) {
				v[i] = r->v[i];
				if (is_counter(r->lay->f[i].ie) && r->lay->f[i].kind == GENREC_UINT)
					v[i].u = r->v[i].u / n + (k < r->v[i].u % n);
			}
			int prc = add_rec(ex, &g->t, NULL, &piece, now_us);
			if (prc != ERR_OK)
				rc = prc;
		}
	}
	ex->st.saturated += ex->enc.saturated - before;
	return rc;
}

void exporter_flush(struct exporter *ex, uint64_t now_us)
{
	send_msg(ex, now_us);
}

void exporter_tick(struct exporter *ex, uint64_t now_us)
{
	const struct exporter_cfg *cfg = &ex->cfg;
	transport_poll(ex->tp);
	if (ex->open && now_us >= ex->open_us && now_us - ex->open_us >= (uint64_t)cfg->flush_ms * 1000)
		send_msg(ex, now_us);
	if (!ex->c->sets || !ex->rt.sent)
		return; /* nothing sent yet: templates go with the first data */
	bool tmpl = ex->tp->reliable ? ex->tmpl_session != transport_session(ex->tp)
	                             : cfg->tmpl_timeout_s && refresh_due(&ex->rt, 0, cfg->tmpl_timeout_s, now_us);
	bool opt = (cfg->export_stats && cfg->opt_timeout_s && refresh_due(&ex->ro, 0, cfg->opt_timeout_s, now_us)) ||
	           (ex->samp && cfg->opt_timeout_s && refresh_due(&ex->rs, 0, cfg->opt_timeout_s, now_us));
	if (!tmpl && !opt)
		return;
	if (tmpl && ex->tp->reliable && ex->open) {
		/* a new session: the open message's data must not precede the
		 * templates, so it leaves as it is (held by the transport) and the
		 * templates follow in a message of their own, sent to the front */
		send_msg(ex, now_us);
	}
	if (ex->open) { /* into the open message, or a new one if no room or kept apart */
		if (!ex->tp->split_ctrl && put_ctrl(ex, now_us, tmpl, opt) == ERR_OK)
			return;
		send_msg(ex, now_us);
	}
	open_msg(ex, now_us); /* puts what is due */
	send_msg(ex, now_us);
}

uint64_t exporter_next_deadline(const struct exporter *ex)
{
	uint64_t d = UINT64_MAX;
	if (ex->c->sets && ex->rt.sent && ex->tp->reliable && ex->tmpl_session != transport_session(ex->tp))
		return 0; /* a new transport session needs its templates now */
	const struct exporter_cfg *cfg = &ex->cfg;
	if (ex->open)
		d = ex->open_us + (uint64_t)cfg->flush_ms * 1000;
	if (ex->c->sets && ex->rt.sent && cfg->tmpl_timeout_s) {
		uint64_t t = ex->rt.last_us + (uint64_t)cfg->tmpl_timeout_s * 1000000;
		if (t < d)
			d = t;
	}
	if (ex->c->sets && cfg->export_stats && ex->ro.sent && cfg->opt_timeout_s) {
		uint64_t t = ex->ro.last_us + (uint64_t)cfg->opt_timeout_s * 1000000;
		if (t < d)
			d = t;
	}
	if (ex->samp && ex->rs.sent && cfg->opt_timeout_s) {
		uint64_t t = ex->rs.last_us + (uint64_t)cfg->opt_timeout_s * 1000000;
		if (t < d)
			d = t;
	}
	return d;
}

void exporter_set_start(struct exporter *ex, uint64_t start_us)
{
	ex->cfg.start_us = start_us;
	ex->enc.boot_us = boot_of(ex->c, start_us);
}

const struct exporter_cfg *exporter_config(const struct exporter *ex)
{
	return &ex->cfg;
}

uint32_t exporter_seq_next(const struct exporter *ex)
{
	return ex->c->seq == NF_SEQ_PACKETS ? ex->seq_msgs : ex->seq_recs;
}

void exporter_set_seq(struct exporter *ex, uint32_t seq)
{
	ex->seq_recs = ex->seq_msgs = seq;
}

/* RFC 7011 §8.1: withdraw each data template (a Template Set of
 * withdrawal records: template ID, field count 0) and, with export
 * statistics, the options template (in an Options Template Set), in a
 * message of its own. One record per template rather than the "all
 * templates" IDs 2 and 3, which some collectors refuse. */
int exporter_withdraw(struct exporter *ex, uint64_t now_us)
{
	const struct nf_codec *c = ex->c;
	if (c->version != 10 || !ex->tp->reliable || !ex->rt.sent)
		return ERR_UNSUPP;
	send_msg(ex, now_us);
	open_bare(ex, now_us);
	const uint16_t data_ids[2] = { ex->t4.id, ex->t6.id };
	int rc = open_set(ex, c->tmpl_set_id);
	for (int k = 0; k < 2 && rc == ERR_OK; k++) {
		if ((rc = wbuf_put_u16(&ex->w, data_ids[k])) == ERR_OK)
			rc = wbuf_put_u16(&ex->w, 0);
		ex->m.recs++;
		ex->m.withdrawals++;
	}
	close_set(ex);
	if (rc == ERR_OK && ex->cfg.export_stats && ex->ro.sent) {
		if ((rc = open_set(ex, c->opt_set_id)) == ERR_OK && (rc = wbuf_put_u16(&ex->w, ex->topt.id)) == ERR_OK)
			rc = wbuf_put_u16(&ex->w, 0);
		close_set(ex);
		ex->m.recs++;
		ex->m.withdrawals++;
	}
	for (int k = 0; rc == ERR_OK && ex->samp && ex->rs.sent && k < 2; k++) {
		if (!ex->has_samp[k])
			continue;
		if ((rc = open_set(ex, c->opt_set_id)) == ERR_OK && (rc = wbuf_put_u16(&ex->w, ex->tsamp[k].id)) == ERR_OK)
			rc = wbuf_put_u16(&ex->w, 0);
		close_set(ex);
		ex->m.recs++;
		ex->m.withdrawals++;
	}
	if (rc != ERR_OK) {
		ex->open = false;
		return rc;
	}
	/* a control message (stream 0), but not ahead of queued data: the
	 * caller drains first (RFC 7011 §8.1: withdraw after the last data) */
	send_msg(ex, now_us);
	ex->st.withdrawals++;
	ex->rt.sent = false;
	ex->ro.sent = false;
	ex->rs.sent = false;
	return ERR_OK;
}
