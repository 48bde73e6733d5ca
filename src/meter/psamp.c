/* psamp.c — IPFIX packet-section export; see psamp.h. */
#include "meter/psamp.h"

#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/show_conf.h"
#include "export/exporter.h"
#include "export/ie.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/log.h"
#include "meter/sampler.h"

#define MAX_ATT (CONF_IFACE_MAX * CONF_IF_MONITOR_MAX)
#define DRAIN_MS 10000

/* --- the section size rule ------------------------------------------------ */

enum {
	GRE_F_CSUM = 0x8000,   /* RFC 2784: checksum + reserved1 present */
	GRE_F_ROUTING = 0x4000, /* RFC 1701 routing: not followed */
	GRE_F_KEY = 0x2000,    /* RFC 2890 */
	GRE_F_SEQ = 0x1000,    /* RFC 2890 */
	GRE_VER_MASK = 0x0007,
	PS_ETH_IPV4 = 0x0800,
	PS_ETH_IPV6 = 0x86dd,
	PS_ETH_TEB = 0x6558,      /* transparent Ethernet bridging: Ethernet inside */
	IPPROTO_IPIP_ = 4,
	IPPROTO_IPV6_ = 41,
	IPPROTO_GRE_ = 47,
};

/* The inner packet of a tunnel whose header starts at off (the outer
 * packet's upper layer, protocol proto): its offset and link type, or 0
 * when it is not a tunnel followed here. */
static size_t tunnel_inner(const uint8_t *frame, size_t caplen, size_t off, uint8_t proto, int *lt)
{
	if (proto == IPPROTO_IPIP_ || proto == IPPROTO_IPV6_) {
		*lt = PKT_LINK_RAW;
		return off;
	}
	if (proto != IPPROTO_GRE_)
		return 0;
	struct rbuf r;
	rbuf_init(&r, frame + off, caplen - off);
	uint16_t flags, type;
	if (rbuf_get_u16(&r, &flags) != ERR_OK || rbuf_get_u16(&r, &type) != ERR_OK)
		return 0;
	if ((flags & GRE_VER_MASK) || (flags & GRE_F_ROUTING))
		return 0; /* PPTP's enhanced GRE carries PPP; source routes: not followed */
	size_t opt = ((flags & GRE_F_CSUM) ? 4 : 0) + ((flags & GRE_F_KEY) ? 4 : 0) + ((flags & GRE_F_SEQ) ? 4 : 0);
	if (rbuf_skip(&r, opt) != ERR_OK)
		return 0;
	if (type == PS_ETH_IPV4 || type == PS_ETH_IPV6)
		*lt = PKT_LINK_RAW;
	else if (type == PS_ETH_TEB)
		*lt = PKT_LINK_EN10MB;
	else
		return 0;
	return off + r.off;
}

size_t psamp_l4_end(const uint8_t *frame, size_t caplen, size_t wirelen, int linktype, const struct pkt_info *pi)
{
	struct pkt_info buf;
	if (wirelen < caplen)
		wirelen = caplen;
	if (!pi) {
		if (pkt_decode(frame, caplen, wirelen, linktype, &buf) != PKT_OK)
			return 0;
		pi = &buf;
	}
	size_t base = 0; /* offset of the packet pi describes in the frame */
	for (int depth = 0;; depth++) {
		if (pi->l4_end)
			return base + pi->l4_end;
		if (!pi->ulp_off || depth == PSAMP_MAX_NEST)
			return 0;
		size_t ulp = base + pi->ulp_off;
		if (ulp >= caplen)
			return 0;
		int lt = 0;
		size_t in = tunnel_inner(frame, caplen, ulp, pi->proto, &lt);
		if (!in || in >= caplen)
			return 0;
		if (pkt_decode(frame + in, caplen - in, wirelen - in, lt, &buf) != PKT_OK)
			return 0;
		pi = &buf;
		base = in;
	}
}

size_t psamp_section_len(const uint8_t *frame, size_t caplen, size_t wirelen, int linktype,
                         const struct pkt_info *pi)
{
	size_t end = psamp_l4_end(frame, caplen, wirelen, linktype, pi);
	size_t n = end && end <= PSAMP_SECTION_MAX ? end : PSAMP_SECTION_MAX;
	return n < caplen ? n : caplen;
}

/* --- the layer ------------------------------------------------------------ */

/* The record of one sampled packet, in template order. */
enum { F_TIME, F_IF_IN, F_IF_OUT, F_INTERVAL, F_ALGO, F_SIZE, F_SECTION, F_N };
static const struct genrec_layout layout = {
	F_N,
	{
		[F_TIME] = { IE_observationTimeMicroseconds, 8, GENREC_TIME },
		[F_IF_IN] = { IE_ingressInterface, 4, GENREC_UINT },
		[F_IF_OUT] = { IE_egressInterface, 4, GENREC_UINT },
		[F_INTERVAL] = { IE_samplingInterval, 4, GENREC_UINT },
		[F_ALGO] = { IE_samplingAlgorithm, 1, GENREC_UINT },
		[F_SIZE] = { IE_dataLinkFrameSize, 2, GENREC_UINT },
		[F_SECTION] = { IE_dataLinkFrameSection, IE_VARLEN, GENREC_BYTES },
	},
};

/* A flow exporter's packet-section stream. */
struct pxp {
	struct conf_exporter conf;
	char spec[CONF_HOST_MAX + 32]; /* "" when it has no destination */
	struct transport *t;           /* NULL: no destination */
	struct exporter *ex;
	int h;                         /* the layout's template handle */
	uint64_t unsent;               /* records with no destination to go to */
	bool reused;                   /* (during a reload) carried into the next state */
};

struct pmon {
	char name[CONF_NAME_MAX];
	struct pxp *out[CONF_MON_EXPORTERS];
	size_t nout;
	struct psamp_counts n;
};

struct patt {
	uint32_t ifindex;
	uint8_t dir;
	uint8_t traffic;    /* enum conf_traffic */
	uint8_t algo;       /* samplingAlgorithm: 0 none, 1 deterministic, 2 random */
	char sampler[CONF_NAME_MAX];
	struct sampler s;
	struct pmon *mon;
};

struct pstate {
	struct pmon *mon[CONF_MONITOR_MAX];
	size_t nmon;
	struct pxp *xp[CONF_EXPORTER_MAX];
	size_t nxp;
	struct patt att[MAX_ATT];
	size_t natt;
};

struct psamp {
	struct rt *rt;
	struct pstate *cur;
	struct pstate *next;   /* prepared by a reload's apply, until commit */
	struct rt_hooks next_h; /* the layer other monitors' show commands go to */
	bool have_next;
	bool ticked, tapped;
	bool started;
	uint64_t start_us;
	uint64_t now_us;       /* the last frame's time */
};

static bool is_ps(const struct conf_monitor *m)
{
	return strcmp(m->record, CONF_RECORD_PACKET_SECTION) == 0;
}

static struct pmon *find_mon(const struct pstate *s, const char *name)
{
	for (size_t i = 0; s && i < s->nmon; i++)
		if (strcmp(s->mon[i]->name, name) == 0)
			return s->mon[i];
	return NULL;
}

static struct pxp *find_xp(const struct pstate *s, const char *name)
{
	for (size_t i = 0; s && i < s->nxp; i++)
		if (strcmp(s->xp[i]->conf.name, name) == 0)
			return s->xp[i];
	return NULL;
}

/* --- per frame ------------------------------------------------------------ */

/* One sampled frame: its record to every exporter of the monitor. */
static void emit(struct patt *a, const struct cap_pkt *p, const struct pkt_info *pi)
{
	struct pmon *m = a->mon;
	size_t wire = p->wirelen > p->caplen ? p->wirelen : p->caplen;
	size_t len = psamp_section_len(p->data, p->caplen, wire, p->linktype, pi);
	struct genrec_val v[F_N] = {
		[F_TIME] = { .u = p->ts_us },
		[F_IF_IN] = { .u = a->dir == CAP_IN ? a->ifindex : 0 },
		[F_IF_OUT] = { .u = a->dir == CAP_OUT ? a->ifindex : 0 },
		[F_INTERVAL] = { .u = a->s.n ? a->s.n : 1 },
		[F_ALGO] = { .u = a->algo },
		[F_SIZE] = { .u = wire },
		[F_SECTION] = { .u = len, .p = p->data },
	};
	struct genrec r = { &layout, v, FLOW_END_IMMEDIATE, p->ts_us, p->ts_us, 1, wire };
	m->n.sampled++;
	m->n.bytes += len;
	if (!m->nout)
		m->n.lost++; /* a monitor without flow exporter: counted, not sent */
	for (size_t i = 0; i < m->nout; i++) {
		struct pxp *x = m->out[i];
		if (!x->ex) {
			x->unsent++;
			m->n.lost++;
			continue;
		}
		if (exporter_add_genrec(x->ex, x->h, &r, p->ts_us) == ERR_OK)
			m->n.exported++;
		else
			m->n.lost++; /* and in the exporter's own counters */
	}
}

static void on_frame(void *arg, const struct cap_pkt *p, const struct pkt_info *pi)
{
	struct psamp *ps = arg;
	struct pstate *s = ps->cur;
	if (!ps->started) {
		ps->started = true;
		ps->start_us = p->ts_us;
		for (size_t i = 0; s && i < s->nxp; i++)
			if (s->xp[i]->ex)
				exporter_set_start(s->xp[i]->ex, p->ts_us);
	}
	ps->now_us = p->ts_us;
	for (size_t k = 0; s && k < s->natt; k++) {
		struct patt *a = &s->att[k];
		if (a->ifindex != p->ifindex || a->dir != p->dir)
			continue;
		if ((a->traffic == CONF_TR_IPV4 && !(pi && pi->af == 4)) || (a->traffic == CONF_TR_IPV6 && !(pi && pi->af == 6)))
			continue;
		a->mon->n.frames++;
		if (sampler_take(&a->s))
			emit(a, p, pi);
	}
}

static void on_tick(void *arg, uint64_t now)
{
	struct psamp *ps = arg;
	const struct pstate *s = ps->cur;
	for (size_t i = 0; s && i < s->nxp; i++) {
		struct pxp *x = s->xp[i];
		if (!x->ex)
			continue;
		transport_poll(x->t);
		if (exporter_next_deadline(x->ex) <= now)
			exporter_tick(x->ex, now);
	}
}

/* --- building a state ----------------------------------------------------- */

static void xp_close(struct pxp *x, uint64_t now)
{
	if (!x)
		return;
	if (x->ex) {
		exporter_flush(x->ex, now);
		exporter_free(x->ex);
	}
	if (x->t) {
		transport_retire(x->t, DRAIN_MS);
	}
	free(x);
}

/* Free s, except the exporters carried into the next state (reused);
 * send: flush and drain the others first. */
static void state_free(struct pstate *s, uint64_t now, bool send)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nmon; i++)
		free(s->mon[i]);
	for (size_t i = 0; i < s->nxp; i++) {
		if (s->xp[i]->reused)
			continue;
		if (send) {
			xp_close(s->xp[i], now);
			continue;
		}
		exporter_free(s->xp[i]->ex);
		transport_close(s->xp[i]->t);
		free(s->xp[i]);
	}
	free(s);
}

/* What this layer refuses, with the IOS-style message. */
static int check(const struct conf *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->nmonitor; i++) {
		const struct conf_monitor *cm = &c->monitor[i];
		if (!is_ps(cm) || !apply_monitor_applied(c, cm->name))
			continue;
		if (c->host.snaplen && c->host.snaplen < PSAMP_SECTION_MAX)
			log_warn("flow monitor %s: capture snaplen %u cuts packet sections below %u bytes", cm->name,
			         c->host.snaplen, PSAMP_SECTION_MAX);
		if ((cm->cache.set & CONF_C_TYPE) && cm->cache.type != CONF_CACHE_IMMEDIATE) {
			snprintf(err, errlen, "%% Flow Monitor %s: record %s needs cache type immediate (one record a packet)",
			         cm->name, CONF_RECORD_PACKET_SECTION);
			return -1;
		}
		for (size_t k = 0; k < cm->nexporter; k++) {
			const struct conf_exporter *x = conf_find_exporter(c, cm->exporter[k]);
			if (x && x->protocol != CONF_FNF_IPFIX) {
				snprintf(err, errlen, "%% Flow Monitor %s: flow exporter %s exports %s; record %s "
				         "(dataLinkFrameSection, IE 315, variable length) needs export-protocol ipfix",
				         cm->name, x->name, x->protocol == CONF_FNF_V5 ? "netflow-v5" : "netflow-v9",
				         CONF_RECORD_PACKET_SECTION);
				return -1;
			}
		}
	}
	for (size_t i = 0; i < c->niface; i++)
		for (size_t k = 0; k < c->iface[i].nmon; k++) {
			const struct conf_if_monitor *im = &c->iface[i].mon[k];
			const struct conf_monitor *cm = conf_find_monitor(c, im->monitor);
			if (!cm || !is_ps(cm) || !im->sampler[0])
				continue;
			const struct conf_sampler *s = conf_find_sampler(c, im->sampler);
			if (!s || !s->one_out_of) {
				snprintf(err, errlen, "%% Interface %s: sampler %s of flow monitor %s %s", c->iface[i].name,
				         im->sampler, cm->name, s ? "has no mode" : "does not exist");
				return -1;
			}
			if (s->one_out_of > PSAMP_N_MAX) {
				snprintf(err, errlen, "%% Interface %s: sampler %s (1 out of %u) of flow monitor %s: packet "
				         "sections sample 1 out of %u at the coarsest", c->iface[i].name, s->name,
				         s->one_out_of, cm->name, PSAMP_N_MAX);
				return -1;
			}
		}
	return 0;
}

static int build_xp(const struct conf *c, const struct conf_exporter *cx, struct pstate *ns,
                    const struct pstate *old, uint64_t start_us, char *err, size_t errlen)
{
	/* an unchanged exporter goes on: same transport, sequence numbers and
	 * template (the layout never changes), so a collector sees one stream */
	struct pxp *o = find_xp(old, cx->name);
	if (o && !o->reused && apply_same_exporter(&o->conf, cx)) {
		o->reused = true;
		o->conf = *cx;
		ns->xp[ns->nxp++] = o;
		return 0;
	}
	struct pxp *x = calloc(1, sizeof(*x));
	if (!x) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ns->xp[ns->nxp++] = x; /* owned by ns from here */
	x->conf = *cx;
	apply_exporter_spec(cx, x->spec, sizeof(x->spec));
	if (!x->spec[0]) {
		log_warn("flow exporter %s has no destination: the packet sections of its monitors are counted, not sent",
		         cx->name);
		return 0;
	}
	struct transport_opts topt = { 0 };
	topt.source = cx->source[0] ? conf_linux_name(c, cx->source) : NULL;
	topt.block_ms = apply_file_mode(c) ? 10000 : 0;
	char e2[256];
	x->t = transport_open(x->spec, &topt, e2, sizeof(e2));
	if (!x->t) {
		snprintf(err, errlen, "flow exporter %s: %s", cx->name, e2);
		return -1;
	}
	struct exporter_cfg cfg;
	exporter_cfg_init(&cfg, 10);
	cfg.flags = EXPORTER_F_GENERIC;
	cfg.domain = apply_name_hash(cx->name) + 1; /* not the FNF layer's stream of this exporter */
	cfg.exporting_pid = (uint32_t)getpid();
	cfg.tmpl_timeout_s = cx->template_timeout_s;
	if (cx->options & CONF_OPT_EXPORTER_STATS) {
		cfg.export_stats = true;
		cfg.opt_timeout_s = cx->option_timeout_s[0];
	}
	cfg.start_us = start_us;
	x->ex = exporter_new(&cfg, x->t, e2, sizeof(e2));
	if (!x->ex) {
		snprintf(err, errlen, "flow exporter %s: %s", cx->name, e2);
		return -1;
	}
	x->h = exporter_add_tmpl(x->ex, &layout, e2, sizeof(e2));
	if (x->h < 0) {
		snprintf(err, errlen, "flow exporter %s cannot export packet sections: %s", cx->name, e2);
		return -1;
	}
	return 0;
}

static int sampler_algo(const struct conf_sampler *s)
{
	return s->mode == CONF_SAMPLER_RANDOM ? 2 : 1; /* samplingAlgorithm (IE 35), as in v9 */
}

static void build_atts(const struct conf *c, struct pstate *ns)
{
	for (size_t i = 0; i < c->niface; i++) {
		const struct conf_iface *f = &c->iface[i];
		uint32_t ifx = 0;
		for (size_t k = 0; k < f->nmon; k++) {
			const struct conf_if_monitor *im = &f->mon[k];
			struct pmon *m = find_mon(ns, im->monitor);
			if (!m)
				continue;
			if (!ifx)
				ifx = apply_iface_index(c, f);
			if (!ifx) {
				log_warn("interface %s does not exist on this host: packet-section monitor %s takes nothing",
				         f->name, m->name);
				break;
			}
			if (ns->natt == MAX_ATT)
				return;
			struct patt *a = &ns->att[ns->natt++];
			memset(a, 0, sizeof(*a));
			a->ifindex = ifx;
			a->dir = im->dir;
			a->traffic = (uint8_t)im->traffic;
			a->mon = m;
			snprintf(a->sampler, sizeof(a->sampler), "%s", im->sampler);
			const struct conf_sampler *s = im->sampler[0] ? conf_find_sampler(c, im->sampler) : NULL;
			if (s) {
				sampler_init(&a->s, s->mode == CONF_SAMPLER_RANDOM ? SAMPLER_RANDOM : SAMPLER_DETERMINISTIC,
				             s->one_out_of, sampler_run_seed(apply_name_hash(s->name) ^ ((uint64_t)ifx << 32 | a->dir)));
				a->algo = (uint8_t)sampler_algo(s);
			} else {
				sampler_init(&a->s, SAMPLER_DETERMINISTIC, 1, 1);
			}
		}
	}
}

/* A prepared state that will not run: free what it made, give back
 * what it would have carried over from cur. */
static void drop_prepared(struct pstate *ns, struct pstate *cur)
{
	if (!ns)
		return;
	for (size_t i = 0; i < ns->nxp; i++)
		if (ns->xp[i]->reused) /* cur's: still running there */
			ns->xp[i] = NULL;
	size_t n = 0;
	for (size_t i = 0; i < ns->nxp; i++)
		if (ns->xp[i])
			ns->xp[n++] = ns->xp[i];
	ns->nxp = n;
	state_free(ns, 0, false);
	for (size_t i = 0; cur && i < cur->nxp; i++)
		cur->xp[i]->reused = false;
}

static struct pstate *prepare(struct psamp *ps, const struct conf *c, char *err, size_t errlen)
{
	if (check(c, err, errlen) != 0)
		return NULL;
	struct pstate *ns = calloc(1, sizeof(*ns));
	if (!ns) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < c->nmonitor; i++) {
		const struct conf_monitor *cm = &c->monitor[i];
		if (!is_ps(cm) || !apply_monitor_applied(c, cm->name))
			continue;
		struct pmon *m = calloc(1, sizeof(*m));
		if (!m) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		snprintf(m->name, sizeof(m->name), "%s", cm->name);
		ns->mon[ns->nmon++] = m;
		if (!cm->nexporter)
			log_warn("flow monitor %s has no flow exporter: its packet sections are counted, not sent", cm->name);
		for (size_t k = 0; k < cm->nexporter; k++) {
			struct pxp *x = find_xp(ns, cm->exporter[k]);
			const struct conf_exporter *cx = conf_find_exporter(c, cm->exporter[k]);
			if (!x && cx) {
				if (build_xp(c, cx, ns, ps->cur, ps->started ? ps->start_us : 0, err, errlen) != 0)
					goto fail;
				x = ns->xp[ns->nxp - 1];
			}
			if (x && m->nout < CONF_MON_EXPORTERS)
				m->out[m->nout++] = x;
		}
	}
	build_atts(c, ns);
	return ns;
fail:
	drop_prepared(ns, ps->cur);
	return NULL;
}

/* Switch to ns: counters carried over by monitor name, the old streams
 * send what they hold and close. */
static void commit(struct psamp *ps, struct pstate *ns)
{
	struct pstate *old = ps->cur;
	for (size_t i = 0; i < ns->nmon; i++) {
		const struct pmon *om = find_mon(old, ns->mon[i]->name);
		if (om)
			ns->mon[i]->n = om->n;
	}
	ps->cur = ns;
	state_free(old, ps->now_us, true); /* not the exporters ns carries on */
	for (size_t i = 0; i < ns->nxp; i++)
		ns->xp[i]->reused = false;
	struct meter *mt = rt_meter(ps->rt);
	if (ns->natt && !ps->tapped && mt) {
		if (meter_add_frame_tap(mt, on_frame, ps) == 0)
			ps->tapped = true;
		else
			log_err("the meter has no room for the packet-section layer: its monitors take nothing");
	}
}

/* --- hooks ---------------------------------------------------------------- */

static int h_apply(void *arg, const struct conf *old, const struct conf *cur, char *err, size_t errlen)
{
	struct psamp *ps = arg;
	struct meter *m = rt_meter(ps->rt);
	if (!ps->ticked && m) {
		if (meter_add_tick(m, on_tick, ps) != 0) {
			snprintf(err, errlen, "the meter has no room for the packet-section layer");
			return -1;
		}
		ps->ticked = true;
	}
	drop_prepared(ps->next, ps->cur); /* an earlier prepare never committed */
	ps->next = NULL;
	struct pstate *ns = prepare(ps, cur, err, errlen);
	if (!ns)
		return -1;
	if (!old) {
		commit(ps, ns);
		for (size_t i = 0; i < ns->nmon; i++)
			log_info("flow monitor %s: record %s, immediate (one IPFIX record a sampled packet)", ns->mon[i]->name,
			         CONF_RECORD_PACKET_SECTION);
		return 0;
	}
	ps->next = ns;
	return 0;
}

static void h_commit(void *arg, bool ok)
{
	struct psamp *ps = arg;
	struct pstate *ns = ps->next;
	ps->next = NULL;
	if (!ns)
		return;
	if (ok)
		commit(ps, ns);
	else
		drop_prepared(ns, ps->cur);
}

static void h_flush(void *arg, uint64_t now)
{
	struct psamp *ps = arg;
	const struct pstate *s = ps->cur;
	for (size_t i = 0; s && i < s->nxp; i++) {
		struct pxp *x = s->xp[i];
		if (!x->ex)
			continue;
		exporter_tick(x->ex, now); /* a session that came up late still gets its template */
		exporter_flush(x->ex, now);
		transport_drain(x->t, DRAIN_MS);
	}
}

static const char *sampler_text(const struct patt *a, char *b, size_t len)
{
	if (!a->sampler[0])
		return "none (every packet)";
	snprintf(b, len, "%s, %s 1 out of %u", a->sampler, a->algo == 2 ? "random" : "deterministic", a->s.n);
	return b;
}

static void show_ps(struct psamp *ps, FILE *out, const struct conf_monitor *cm, bool json)
{
	const struct pmon *m = find_mon(ps->cur, cm->name);
	const struct pstate *s = ps->cur;
	struct psamp_counts n = m ? m->n : (struct psamp_counts){ 0 };
	char b[128];
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
		fprintf(out, "],\"cache\":{\"type\":\"immediate\",\"allocated\":%s},\"attachments\":[", m ? "true" : "false");
		size_t k = 0;
		for (size_t i = 0; m && i < s->natt; i++) {
			const struct patt *a = &s->att[i];
			if (a->mon != m)
				continue;
			fprintf(out, "%s{\"ifIndex\":%u,\"direction\":\"%s\",\"sampler\":", k++ ? "," : "", a->ifindex,
			        a->dir ? "output" : "input");
			show_json_str(out, a->sampler);
			fprintf(out, ",\"oneOutOf\":%u,\"seen\":%llu,\"taken\":%llu}", a->s.n, (unsigned long long)a->s.seen,
			        (unsigned long long)a->s.taken);
		}
		fprintf(out, "],\"frames\":%llu,\"sampled\":%llu,\"recordsExported\":%llu,\"recordsLost\":%llu,"
		             "\"sectionBytes\":%llu}\n",
		        (unsigned long long)n.frames, (unsigned long long)n.sampled, (unsigned long long)n.exported,
		        (unsigned long long)n.lost, (unsigned long long)n.bytes);
		return;
	}
	fprintf(out, "Flow Monitor %s:\n", cm->name);
	fprintf(out, "  Description:       %s\n", cm->description[0] ? cm->description : "User defined");
	fprintf(out, "  Flow Record:       %s (IPFIX packet sections, IE 315)\n", cm->record);
	if (!cm->nexporter)
		fputs("  Flow Exporter:     not configured\n", out);
	for (size_t i = 0; i < cm->nexporter; i++)
		fprintf(out, "  Flow Exporter:     %s\n", cm->exporter[i]);
	fputs("  Cache:\n", out);
	fputs("    Type:              immediate\n", out);
	fprintf(out, "    Status:            %s\n", m ? "allocated" : "not allocated (not applied to an interface)");
	for (size_t i = 0; m && i < s->natt; i++) {
		const struct patt *a = &s->att[i];
		if (a->mon == m)
			fprintf(out, "  Interface ifIndex %u %s: sampler %s: %llu seen, %llu taken\n", a->ifindex,
			        a->dir ? "output" : "input", sampler_text(a, b, sizeof(b)), (unsigned long long)a->s.seen,
			        (unsigned long long)a->s.taken);
	}
	fputs("  Packet sections:\n", out);
	fprintf(out, "    Frames seen:              %14llu\n", (unsigned long long)n.frames);
	fprintf(out, "    Sampled:                  %14llu\n", (unsigned long long)n.sampled);
	fprintf(out, "    Records exported:         %14llu\n", (unsigned long long)n.exported);
	fprintf(out, "    Records not exported:     %14llu\n", (unsigned long long)n.lost);
	fprintf(out, "    Section bytes:            %14llu\n", (unsigned long long)n.bytes);
}

static void h_show_monitor(void *arg, FILE *out, const struct conf_monitor *cm, bool json)
{
	struct psamp *ps = arg;
	if (is_ps(cm))
		show_ps(ps, out, cm, json);
	else if (ps->have_next && ps->next_h.show_monitor)
		ps->next_h.show_monitor(ps->next_h.arg, out, cm, json);
	else
		show_conf_monitor(out, rt_conf(ps->rt), cm, false, json);
}

static void h_show_cache(void *arg, FILE *out, const struct conf_monitor *cm, bool json)
{
	struct psamp *ps = arg;
	if (is_ps(cm))
		show_ps(ps, out, cm, json); /* an immediate cache holds nothing: its counters */
	else if (ps->have_next && ps->next_h.show_monitor_cache)
		ps->next_h.show_monitor_cache(ps->next_h.arg, out, cm, json);
	else
		show_conf_monitor(out, rt_conf(ps->rt), cm, true, json);
}

static void xp_stats_line(FILE *out, const struct pxp *x, const char *lead)
{
	struct exporter_stats st = { 0 };
	if (x->ex)
		st = *exporter_stats(x->ex);
	fprintf(out, "%s%s (%s): records %llu in %llu messages, failed %llu, not exportable %llu, send errors %llu, "
	             "no destination %llu\n",
	        lead, x->conf.name, x->spec[0] ? x->spec : "no destination", (unsigned long long)st.records,
	        (unsigned long long)st.messages, (unsigned long long)st.flows_failed,
	        (unsigned long long)st.not_exportable, (unsigned long long)st.send_errors,
	        (unsigned long long)x->unsent);
}

/* Does an applied monitor other than a packet-section one use exporter name? */
static bool fnf_uses(const struct conf *c, const char *name)
{
	for (size_t i = 0; c && i < c->nmonitor; i++) {
		const struct conf_monitor *cm = &c->monitor[i];
		if (is_ps(cm) || !apply_monitor_applied(c, cm->name))
			continue;
		for (size_t k = 0; k < cm->nexporter; k++)
			if (strcmp(cm->exporter[k], name) == 0)
				return true;
	}
	return false;
}

static void h_show_exporter(void *arg, FILE *out, const struct conf_exporter *cx, bool json)
{
	struct psamp *ps = arg;
	const struct pxp *x = find_xp(ps->cur, cx->name);
	if (x && json) { /* one object: this stream's (the FNF layer's, if any, is not merged in) */
		struct exporter_stats st = { 0 };
		if (x->ex)
			st = *exporter_stats(x->ex);
		fputs("{\"name\":", out);
		show_json_str(out, cx->name);
		fputs(",\"packetSections\":true,\"destination\":", out);
		show_json_str(out, x->spec);
		fprintf(out, ",\"recordsAdded\":%llu,\"recordsSent\":%llu,\"recordsFailed\":%llu,\"notExportable\":%llu,"
		             "\"messagesSent\":%llu,\"bytesSent\":%llu,\"sendErrors\":%llu,\"notSent\":%llu}\n",
		        (unsigned long long)st.flows, (unsigned long long)st.records, (unsigned long long)st.flows_failed,
		        (unsigned long long)st.not_exportable, (unsigned long long)st.messages,
		        (unsigned long long)st.bytes, (unsigned long long)st.send_errors, (unsigned long long)x->unsent);
		return;
	}
	if (x && !fnf_uses(rt_conf(ps->rt), cx->name)) { /* ours alone: the FNF layer would call it unused */
		static const char *const tp[] = { "UDP", "SCTP", "TCP" };
		fprintf(out, "Flow Exporter %s:\n", cx->name);
		fprintf(out, "  Description:              %s\n", cx->description[0] ? cx->description : "User defined");
		fputs("  Export protocol:          IPFIX (Version 10)\n", out);
		fputs("  Transport Configuration:\n", out);
		fprintf(out, "    Destination IP address: %s\n", cx->destination[0] ? cx->destination : "not configured");
		fprintf(out, "    Transport Protocol:     %s\n", tp[cx->transport]);
		fprintf(out, "    Destination Port:       %u\n", cx->port);
		fprintf(out, "  Template data timeout:    %u secs\n", cx->template_timeout_s);
		fputs("  Status:                   in use by packet-section monitors\n", out);
		xp_stats_line(out, x, "  Packet-section stream of ");
		return;
	}
	if (ps->have_next && ps->next_h.show_exporter)
		ps->next_h.show_exporter(ps->next_h.arg, out, cx, json);
	if (x)
		xp_stats_line(out, x, "  Packet-section stream of ");
}

static void h_finish(void *arg, FILE *stats)
{
	struct psamp *ps = arg;
	const struct pstate *s = ps->cur;
	if (!stats || !s)
		return;
	for (size_t i = 0; i < s->nmon; i++) {
		const struct pmon *m = s->mon[i];
		fprintf(stats, "Packet-section monitor %s: frames %llu, sampled %llu, records exported %llu, "
		               "records not exported %llu, section bytes %llu\n",
		        m->name, (unsigned long long)m->n.frames, (unsigned long long)m->n.sampled,
		        (unsigned long long)m->n.exported, (unsigned long long)m->n.lost, (unsigned long long)m->n.bytes);
	}
	for (size_t i = 0; i < s->nxp; i++)
		xp_stats_line(stats, s->xp[i], "Packet-section exporter ");
}

/* --- life cycle ----------------------------------------------------------- */

struct psamp *psamp_new(struct rt *rt)
{
	struct psamp *ps = calloc(1, sizeof(*ps));
	if (ps)
		ps->rt = rt;
	return ps;
}

void psamp_free(struct psamp *ps)
{
	if (!ps)
		return;
	drop_prepared(ps->next, ps->cur);
	state_free(ps->cur, 0, false);
	free(ps);
}

void psamp_hooks(struct psamp *ps, struct rt_hooks *h, const struct rt_hooks *next)
{
	memset(h, 0, sizeof(*h));
	if (next) {
		ps->next_h = *next;
		ps->have_next = true;
	}
	h->apply = h_apply;
	h->commit = h_commit;
	h->flush = h_flush;
	h->show_monitor = h_show_monitor;
	h->show_monitor_cache = h_show_cache;
	h->show_exporter = h_show_exporter;
	h->finish = h_finish;
	h->arg = ps;
}

int psamp_counts(const struct psamp *ps, const char *name, struct psamp_counts *out)
{
	const struct pmon *m = find_mon(ps->cur, name);
	if (!m) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	*out = m->n;
	return 0;
}
