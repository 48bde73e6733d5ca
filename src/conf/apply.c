/* apply.c — model → running pipeline, reload by difference, and the
 * control commands that read them; see apply.h. */
#include "conf/apply.h"

#include <errno.h>
#include <grp.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture/capture.h"
#include "ctl/ctl.h"
#include "ctl/show_cache.h"
#include "ctl/show_conf.h"
#include "export/export_set.h"
#include "transport/dest.h"
#include "transport/sctp.h"
#include "export/flowlog.h"
#include "lib/addr.h"
#include "lib/bytes.h"
#include "lib/log.h"

#define MAX_SPECS (CONF_DEST_MAX + CONF_FILE_MAX)
#define MAX_LIVE 64

struct rt {
	struct conf *conf;
	struct meter *m;
	struct export_set *set;
	struct flowlog *fl;
	struct ctl *ctl;
	char ctl_path[CONF_PATH_MAX];
	bool file_mode;
	struct rt_hooks hooks[RT_LAYERS_MAX];
	size_t nhooks;
	bool annotate;          /* some layer has an annotate hook */
	rt_reload_fn reload;
	void *reload_arg;
	uint64_t reloads, reload_failures;
	uint64_t debug_events;
	bool sctp_watched;      /* the SCTP stack's descriptor is in the meter's loop */
};

static void rt_tick(void *arg, uint64_t now);

/* --- mapping ------------------------------------------------------------- */

void apply_exporter_cfg(const struct conf_export *e, bool agg, struct exporter_cfg *cfg)
{
	exporter_cfg_init(cfg, conf_export_version(e, agg));
	if (e->set & CONF_EX_MTU)
		cfg->mtu = e->mtu;
	if (e->set & CONF_EX_TREFRESH)
		cfg->tmpl_refresh_pkts = e->tmpl_refresh;
	if (e->set & CONF_EX_TTIMEOUT)
		cfg->tmpl_timeout_s = e->tmpl_timeout_min * 60;
	if (e->set & CONF_EX_OREFRESH)
		cfg->opt_refresh_pkts = e->opt_refresh;
	if (e->set & CONF_EX_OTIMEOUT)
		cfg->opt_timeout_s = e->opt_timeout_min * 60;
	if (e->set & CONF_EX_SOURCE_ID)
		cfg->domain = e->source_id;
	if (e->set & CONF_EX_ENGINE_TYPE)
		cfg->engine_type = (uint8_t)e->engine_type;
	if (e->set & CONF_EX_ENGINE_ID)
		cfg->engine_id = (uint8_t)e->engine_id;
	if (e->set & CONF_EX_FLUSH)
		cfg->flush_ms = e->flush_ms;
	cfg->export_stats = e->opt_export_stats;
	if (e->usec)
		cfg->flags |= EXPORTER_F_TIME_US;
	if (e->vopts & CONF_VOPT_BGP_NEXTHOP) /* ip flow-export version 9|10 bgp-nexthop */
		cfg->flags |= EXPORTER_F_BGP_NH;
	cfg->exporting_pid = (uint32_t)getpid();
}

/* The sampler of a main-metered interface (`flow-sampler`), or NULL; *id
 * its number in the exports (its place among the samplers, from 1). */
static const struct conf_sampler *iface_sampler(const struct conf *c, const struct conf_iface *f, uint32_t *id)
{
	if (!f || !(f->ingress || f->egress) || !f->sampler[0])
		return NULL;
	for (size_t i = 0; i < c->nsampler; i++)
		if (strcmp(c->sampler[i].name, f->sampler) == 0 && c->sampler[i].one_out_of > 1) {
			*id = (uint32_t)i + 1;
			return &c->sampler[i];
		}
	return NULL;
}

/* The main cache's sampling in its exports: every main-metered interface
 * direction with a sampler is an entry (the v9/IPFIX records of its flows
 * name the sampler, and the sampler options describe each); the v5
 * header's sampling_interval (mode 01 deterministic, 10 random; the
 * interval saturates at 14 bits) is that of the first, the rule of
 * conf_main_sampling, which the aggregation caches' v8 headers follow. */
static void apply_sampling_cfg(const struct conf *c, struct exporter_cfg *cfg)
{
	for (size_t i = 0; i < c->niface; i++) {
		const struct conf_iface *f = &c->iface[i];
		uint32_t id = 0;
		const struct conf_sampler *s = iface_sampler(c, f, &id);
		if (!s)
			continue;
		bool rnd = s->mode == CONF_SAMPLER_RANDOM;
		if (!cfg->nsampler) {
			if (!exporter_header_sampling(cfg, s->one_out_of, rnd) && (cfg->version == 5 || cfg->version == 8))
				log_warn("sampler %s: 1 out of %u does not fit the v5/v8 header's 14-bit interval; it says "
				         "16383 (v9 and IPFIX carry the rate exactly)", s->name, s->one_out_of);
		}
		uint32_t ifx = apply_iface_index(c, f);
		for (uint8_t dir = 0; dir < 2 && ifx; dir++) {
			if (!(dir ? f->egress : f->ingress))
				continue;
			if (cfg->nsampler == EXPORTER_SAMPLERS_MAX) {
				log_warn("interface %s: more than %d sampled interface directions; its flows are exported "
				         "without a sampler id", f->name, EXPORTER_SAMPLERS_MAX);
				continue;
			}
			exporter_sampler_set(&cfg->sampler[cfg->nsampler++], ifx, dir, id, s->one_out_of, rnd);
		}
	}
	/* `ip flow-export template options sampler` with nothing sampled:
	 * there is no sampler to describe, and no record names one */
}

static bool same_sampling(const struct exporter_cfg *a, const struct exporter_cfg *b)
{
	return a->nsampler == b->nsampler && memcmp(a->sampler, b->sampler, a->nsampler * sizeof(a->sampler[0])) == 0;
}

/* Each capture's main-cache sampler, from its interface. */
static void apply_capture_sampling(struct rt *rt, const struct conf *c)
{
	for (size_t j = 0; j < meter_ncaptures(rt->m); j++) {
		struct capture *cap = meter_capture(rt->m, j);
		const struct conf_iface *f = NULL;
		for (size_t i = 0; !f && i < c->niface; i++) {
			const struct conf_iface *g = &c->iface[i];
			if (rt->file_mode ? g->pcap[0] && strcmp(g->pcap, capture_name(cap)) == 0
			                  : !g->pcap[0] && strcmp(conf_linux_name(c, g->name), capture_name(cap)) == 0)
				f = g;
		}
		uint32_t id = 0;
		const struct conf_sampler *s = iface_sampler(c, f, &id);
		meter_set_sampling(rt->m, cap, s && s->mode == CONF_SAMPLER_RANDOM ? SAMPLER_RANDOM : SAMPLER_DETERMINISTIC,
		                   s ? s->one_out_of : 1, id, 0);
		if (s)
			log_info("%s: main-cache sampling %s 1 out of %u (sampler %s, id %u)", capture_name(cap),
			         s->mode == CONF_SAMPLER_RANDOM ? "random" : "deterministic", s->one_out_of, s->name, id);
	}
}

void apply_exporter_spec(const struct conf_exporter *x, char *spec, size_t len)
{
	static const char *const scheme[] = { "udp", "sctp", "tcp" };
	spec[0] = 0;
	if (!x->destination[0])
		return;
	bool v6 = strchr(x->destination, ':') != NULL;
	snprintf(spec, len, "%s:%s%s%s:%u", scheme[x->transport], v6 ? "[" : "", x->destination, v6 ? "]" : "",
	         x->port);
}

uint32_t apply_iface_index(const struct conf *c, const struct conf_iface *f)
{
	if (f->pcap[0])
		return f->ifindex ? f->ifindex : 1;
	return if_nametoindex(conf_linux_name(c, f->name));
}

int apply_dest_spec(const struct conf_dest *d, char *spec, size_t len)
{
	static const char *const scheme[] = { "udp", "sctp", "tcp" };
	bool v6 = strchr(d->host, ':') != NULL;
	int n = snprintf(spec, len, "%s:%s%s%s:%u", scheme[d->proto], v6 ? "[" : "", d->host, v6 ? "]" : "", d->port);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

void apply_sctp_settings(const struct conf_dest *d, const char *spec, struct sctp_dest_opts *so,
                         struct transport_opts *o)
{
	static const enum sctpt_rel rel[] = { [CONF_REL_FULL] = SCTPT_FULL, [CONF_REL_PARTIAL] = SCTPT_PARTIAL,
	                                      [CONF_REL_NONE] = SCTPT_NONE };
	const struct conf_sctp *s = &d->sctp;
	sctp_dest_opts_init(so);
	if (d->proto == CONF_SCTP) {
		so->sctp.reliability = (unsigned)s->reliability < sizeof(rel) / sizeof(rel[0]) ? rel[s->reliability] : SCTPT_FULL;
		if (s->reliability == CONF_REL_PARTIAL && s->buffer_limit)
			so->sctp.buffer_limit = s->buffer_limit;
		if (s->backup) {
			bool v6 = strchr(s->backup_host, ':') != NULL;
			snprintf(so->backup, sizeof(so->backup), "sctp:%s%s%s:%u", v6 ? "[" : "", s->backup_host,
			         v6 ? "]" : "", s->backup_port);
		}
		so->mode = s->backup_mode == CONF_BACKUP_REDUNDANT ? DEST_REDUNDANT : DEST_FAILOVER;
		so->failover_ms = s->failover_ms;
		so->restore_s = s->restore_s;
	}
	dest_extra_apply(spec, so); /* ipflowd --sctp-* flags win */
	o->dest = so;
}

/* The export specs a model asks for (network destinations, then files). */
static size_t export_specs(const struct conf_export *e, char specs[][CONF_PATH_MAX + 8])
{
	size_t n = 0;
	for (size_t i = 0; i < e->ndest; i++)
		if (apply_dest_spec(&e->dest[i], specs[n], CONF_PATH_MAX + 8) == 0)
			n++;
	for (size_t i = 0; i < e->nfile; i++)
		snprintf(specs[n++], CONF_PATH_MAX + 8, "file:%s", e->file[i]);
	return n;
}

static const struct conf_dest *dest_of_spec(const struct conf_export *e, const char *spec)
{
	char s[CONF_PATH_MAX + 8];
	for (size_t i = 0; i < e->ndest; i++)
		if (apply_dest_spec(&e->dest[i], s, sizeof(s)) == 0 && strcmp(s, spec) == 0)
			return &e->dest[i];
	return NULL;
}

/* Same SCTP sub-mode (reliability, backup)? A destination whose sub-mode
 * changes on reload is replaced: the old association drains what it
 * holds, a new one opens with the new settings. */
static bool same_sctp(const struct conf_dest *a, const struct conf_dest *b)
{
	if (!a || !b || a->proto != CONF_SCTP || b->proto != CONF_SCTP)
		return true;
	const struct conf_sctp *x = &a->sctp, *y = &b->sctp;
	return x->reliability == y->reliability && x->buffer_limit == y->buffer_limit && x->backup == y->backup &&
	       strcmp(x->backup_host, y->backup_host) == 0 && x->backup_port == y->backup_port &&
	       x->backup_mode == y->backup_mode && x->failover_ms == y->failover_ms && x->restore_s == y->restore_s;
}

static void transport_opts_of(const struct conf_export *e, struct transport_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->source = e->source[0] ? e->source : NULL;
}

/* Open the transport of a spec. NULL with err. */
static struct transport *open_spec(const struct conf_export *e, const char *spec, bool file_mode, char *err,
                                   size_t errlen)
{
	struct transport_opts o;
	struct sctp_dest_opts so;
	struct exporter_cfg xc;
	transport_opts_of(e, &o);
	apply_exporter_cfg(e, false, &xc);
	o.mtu = xc.mtu; /* SCTP sizes its path for the messages */
	o.block_ms = file_mode ? 10000 : 0; /* a file replay can wait for a TCP/SCTP queue; live traffic cannot */
	const struct conf_dest *d = dest_of_spec(e, spec);
	if (d)
		apply_sctp_settings(d, spec, &so, &o);
	return transport_open(spec, &o, err, errlen);
}

/* The SCTP stack wants the main loop (acknowledgements, fail-over
 * timers), then the exporters (a new association wants its templates at
 * once). Its descriptor exists once an SCTP transport was opened. */
static void on_sctp(void *arg)
{
	struct rt *rt = arg;
	sctp_stack_service();
	rt_tick(rt, cache_stats(meter_cache(rt->m))->now_us);
}

static void watch_sctp(struct rt *rt)
{
	if (!rt->sctp_watched && sctp_stack_fd() >= 0) {
		meter_add_fd(rt->m, sctp_stack_fd(), on_sctp, rt);
		rt->sctp_watched = true;
	}
}

/* A capture filter that leaves out our own export packets, ANDed with
 * the configured filter: per UDP destination its datagrams; per TCP
 * destination both directions of the connection (its ACKs come back);
 * per SCTP destination both directions of its UDP encapsulation (SACKs). */
static void build_filter(const struct conf *c, char *buf, size_t len)
{
	static const char *const own[] = {
		[CONF_UDP] = "not (udp and dst host %s and dst port %u)",
		[CONF_TCP] = "not (tcp and host %s and port %u)",
		[CONF_SCTP] = "not (udp and host %s and port %u)",
	};
	size_t n = 0;
	buf[0] = 0;
	if (c->host.filter[0])
		n += (size_t)snprintf(buf + n, len - n, "(%s)", c->host.filter);
	for (size_t i = 0; i < c->export.ndest && n < len; i++) {
		const struct conf_dest *d = &c->export.dest[i];
		if ((size_t)d->proto >= sizeof(own) / sizeof(own[0]) || !own[d->proto])
			continue;
		if (n && n < len)
			n += (size_t)snprintf(buf + n, len - n, " and ");
		if (n < len)
			n += (size_t)snprintf(buf + n, len - n, own[d->proto], d->host, d->port);
	}
	/* ... and those of the Flexible NetFlow exporters */
	for (size_t i = 0; i < c->nexporter && n < len; i++) {
		const struct conf_exporter *x = &c->exporter[i];
		if (x->transport != CONF_UDP || !x->destination[0])
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%snot (udp and dst host %s and dst port %u)", n ? " and " : "",
		                      x->destination, x->port);
	}
}

/* --- captures ------------------------------------------------------------ */

struct want_cap {
	const char *dev;
	enum cap_dir dir;
	bool main; /* the main cache meters it (ip flow ingress/egress) */
};

/* Has interface f a flow monitor in direction dir? */
static bool has_monitor(const struct conf_iface *f, uint8_t dir)
{
	for (size_t k = 0; k < f->nmon; k++)
		if (f->mon[k].dir == dir)
			return true;
	return false;
}

/* The live captures: a direction of an interface is captured when the
 * main cache (ip flow ingress/egress) or a flow monitor meters it. */
static size_t wanted_live(const struct conf *c, struct want_cap *w, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < c->niface && n + 2 <= max; i++) {
		const struct conf_iface *f = &c->iface[i];
		if (f->pcap[0])
			continue;
		const char *dev = conf_linux_name(c, f->name);
		if (f->ingress || has_monitor(f, 0))
			w[n++] = (struct want_cap){ dev, CAP_IN, f->ingress };
		if (f->egress || has_monitor(f, 1))
			w[n++] = (struct want_cap){ dev, CAP_OUT, f->egress };
	}
	return n;
}

bool apply_file_mode(const struct conf *c)
{
	for (size_t i = 0; i < c->niface; i++)
		if (c->iface[i].pcap[0])
			return true;
	return false;
}

bool apply_monitor_applied(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->niface; i++)
		for (size_t k = 0; k < c->iface[i].nmon; k++)
			if (strcmp(c->iface[i].mon[k].monitor, name) == 0)
				return true;
	return false;
}

bool apply_same_exporter(const struct conf_exporter *a, const struct conf_exporter *b)
{
	struct conf_exporter x = *a, y = *b;
	memset(x.description, 0, sizeof(x.description));
	memset(y.description, 0, sizeof(y.description));
	return memcmp(&x, &y, sizeof(x)) == 0;
}

uint32_t apply_name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static struct capture *open_live(const struct conf *c, const struct want_cap *w, char *err, size_t errlen)
{
	char filter[2048];
	build_filter(c, filter, sizeof(filter));
	struct capture *cap = capture_open_live(w->dev, w->dir, filter, c->host.snaplen ? (int)c->host.snaplen : 256, 32,
	                                        err, errlen);
	if (cap)
		log_info("capturing on %s (ifIndex %u, %s)", w->dev, capture_ifindex(cap), w->dir ? "egress" : "ingress");
	return cap;
}

/* --- sinks and ticks ----------------------------------------------------- */

/* sysUptime 0 is the cache clock's first reading (a file's first packet):
 * the first tick or record comes only after a batch of packets, and a
 * later base would clamp the earlier packets' flowStartSysUpTime. */
static void rt_export_begin(struct rt *rt)
{
	export_set_start(rt->set, cache_stats(meter_cache(rt->m))->cleared_us);
}

static void rt_sink(void *arg, const struct flowrec *r0)
{
	struct rt *rt = arg;
	struct flowrec copy;
	const struct flowrec *r = r0;
	if (rt->annotate) {
		copy = *r0;
		for (size_t i = 0; i < rt->nhooks; i++)
			if (rt->hooks[i].annotate)
				rt->hooks[i].annotate(rt->hooks[i].arg, &copy);
		r = &copy;
	}
	if (rt->nhooks) {
		uint64_t now = cache_stats(meter_cache(rt->m))->now_us;
		for (size_t i = 0; i < rt->nhooks; i++)
			if (rt->hooks[i].record)
				rt->hooks[i].record(rt->hooks[i].arg, r, now);
	}
	if (rt->fl)
		flowlog_write(rt->fl, r);
	if (export_set_count(rt->set) || export_set_retiring(rt->set)) {
		uint64_t now = cache_stats(meter_cache(rt->m))->now_us;
		rt_export_begin(rt);
		export_set_record(rt->set, r, now);
	}
}

static void rt_tick(void *arg, uint64_t now)
{
	struct rt *rt = arg;
	rt_export_begin(rt);
	export_set_tick(rt->set, now);
	transport_retire_poll(); /* exporters a reload removed, draining (any layer's) */
}

/* `debug ip flow export`: one line per export message sent, IOS style. */
static void on_send(void *arg, const struct transport *t, const void *msg, size_t len, unsigned flags, int rc)
{
	struct rt *rt = arg;
	if (!ctl_subscribers(rt->ctl))
		return;
	const uint8_t *p = msg;
	unsigned version = len >= 2 ? peek_u16(p) : 0;
	unsigned count = len >= 4 ? peek_u16(p + 2) : 0;
	uint32_t seq = 0;
	if ((version == 5 || version == 7 || version == 8) && len >= 20)
		seq = peek_u32(p + 16);
	else if (version == 9 && len >= 16)
		seq = peek_u32(p + 12);
	else if (version == 10 && len >= 12)
		seq = peek_u32(p + 8);
	const char *spec = export_set_spec_of(rt->set, t);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char vname[16];
	if (version == 10)
		snprintf(vname, sizeof(vname), "IPFIX");
	else
		snprintf(vname, sizeof(vname), "v%u", version);
	char line[512];
	if (rc == 0)
		snprintf(line, sizeof(line),
		         "%02d:%02d:%02d.%03ld: IPFLOW: Sending export pak to %s: version %s, %s %u, sequence %u, %zu bytes%s\n",
		         tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, spec ? spec : t->ops->scheme, vname,
		         version == 10 ? "length" : "count", count, seq, len, (flags & TRANSPORT_F_CTRL) ? " (templates)" : "");
	else
		snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld: IPFLOW: Error sending export pak to %s: %s\n",
		         tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, spec ? spec : t->ops->scheme, t->err);
	rt->debug_events++;
	ctl_broadcast(rt->ctl, line);
}

/* --- control commands ---------------------------------------------------- */

static void rt_sampling(struct rt *rt, struct show_sampling *s)
{
	struct meter_sampling ms;
	meter_sampling(rt->m, &ms);
	*s = (struct show_sampling){ .rate = ms.rate, .random = ms.mode == SAMPLER_RANDOM, .id = ms.id,
	                             .offered = ms.offered, .sampled = ms.sampled };
}

static int c_show_cache(void *arg, FILE *out, int argc, char **argv, bool json)
{
	struct rt *rt = arg;
	struct show_sampling sm;
	rt_sampling(rt, &sm);
	if (json)
		show_ip_cache_flow_json_samp(out, meter_cache(rt->m), 0, &sm);
	else
		show_ip_cache_flow_samp(out, meter_cache(rt->m), meter_ifname, rt->m, 0, &sm);
	return 0;
}

/* A cached record as export will see it (routing attributes). */
static void show_annotate(void *arg, struct flowrec *r)
{
	struct rt *rt = arg;
	for (size_t i = 0; i < rt->nhooks; i++)
		if (rt->hooks[i].annotate_show)
			rt->hooks[i].annotate_show(rt->hooks[i].arg, r);
}

static int c_show_cache_verbose(void *arg, FILE *out, int argc, char **argv, bool json)
{
	struct rt *rt = arg;
	if (json)
		show_ip_cache_flow_json(out, meter_cache(rt->m), 0);
	else
		show_ip_cache_verbose_flow(out, meter_cache(rt->m), meter_ifname, rt->m, 0, show_annotate, rt);
	return 0;
}

static int c_show_agg(void *arg, FILE *out, int argc, char **argv, bool json)
{
	struct rt *rt = arg;
	int k = show_conf_scheme(argv[0]);
	if (k < 0) {
		fprintf(out, "%% Invalid input detected at '%s': not an aggregation scheme\n", argv[0]);
		return -1;
	}
	const struct conf_agg *a = conf_find_agg(rt->conf, (enum conf_agg_scheme)k);
	const struct rt_hooks *h = NULL;
	for (size_t i = 0; a && !h && i < rt->nhooks; i++)
		if (rt->hooks[i].show_agg)
			h = &rt->hooks[i];
	if (h)
		h->show_agg(h->arg, out, a, json);
	else
		show_conf_agg(out, conf_agg_scheme_name[k], a, json);
	return 0;
}

static int c_show_interface(void *arg, FILE *out, int argc, char **argv, bool json)
{
	struct rt *rt = arg;
	show_conf_interfaces(out, rt->conf, rt->m, json);
	return 0;
}

static int c_clear_stats(void *arg, FILE *out, int argc, char **argv, bool json)
{
	struct rt *rt = arg;
	cache_stats_clear(meter_cache(rt->m));
	meter_sampling_clear(rt->m);
	return 0;
}

/* The Flexible NetFlow, aggregation and packet-section exporters a
 * reload removed while they still held data (transport_retire). */
static void show_retired(FILE *out)
{
	const struct transport_retired *r = transport_retired_stats();
	size_t waiting = transport_retiring();
	if (r->timed_out || r->lost_msgs || waiting)
		fprintf(out, "Exporters removed by reload: %zu draining, %llu closed with data still queued; %llu messages "
		             "(%llu flows) lost after removal\n",
		        waiting, (unsigned long long)r->timed_out, (unsigned long long)r->lost_msgs,
		        (unsigned long long)r->lost_recs);
}

static int c_show_export(void *arg, FILE *out, int argc, char **argv, bool json)
{
	struct rt *rt = arg;
	export_set_show(rt->set, out, json);
	if (!json)
		show_retired(out);
	return 0;
}

static int c_show_export_template(void *arg, FILE *out, int argc, char **argv, bool json)
{
	struct rt *rt = arg;
	export_set_show_template(rt->set, out, json);
	return 0;
}

static int c_show_export_sctp(void *arg, FILE *out, int argc, char **argv, bool json)
{
	struct rt *rt = arg;
	export_set_show_sctp(rt->set, out, false, json);
	return 0;
}

static int c_show_export_sctp_verbose(void *arg, FILE *out, int argc, char **argv, bool json)
{
	struct rt *rt = arg;
	export_set_show_sctp(rt->set, out, true, json);
	return 0;
}

static int c_show_sctp_assoc(void *arg, FILE *out, int argc, char **argv, bool json)
{
	sctp_show_associations(out, json);
	return 0;
}

static int c_show_sctp_stats(void *arg, FILE *out, int argc, char **argv, bool json)
{
	sctp_show_statistics(out, json);
	return 0;
}

static int c_clear_export(void *arg, FILE *out, int argc, char **argv, bool json)
{
	struct rt *rt = arg;
	export_set_clear(rt->set);
	return 0;
}

static int c_show_running(void *arg, FILE *out, int argc, char **argv, bool json)
{
	struct rt *rt = arg;
	show_conf_running(out, rt->conf, json);
	return 0;
}

static int c_show_monitor(void *arg, FILE *out, int argc, char **argv, bool json)
{
	struct rt *rt = arg;
	if (argc < 1 || argc > 2 || (argc == 2 && strncmp("cache", argv[1], strlen(argv[1])) != 0)) {
		fprintf(out, "%% Usage: show flow monitor NAME [cache]\n");
		return -1;
	}
	const struct conf_monitor *m = conf_find_monitor(rt->conf, argv[0]);
	if (!m) {
		fprintf(out, "%% Flow Monitor: Flow Monitor '%s' does not exist\n", argv[0]);
		return -1;
	}
	const struct rt_hooks *hc = NULL, *hm = NULL;
	for (size_t i = rt->nhooks; i-- > 0;) {
		if (rt->hooks[i].show_monitor_cache)
			hc = &rt->hooks[i];
		if (rt->hooks[i].show_monitor)
			hm = &rt->hooks[i];
	}
	if (argc == 2 && hc)
		hc->show_monitor_cache(hc->arg, out, m, json);
	else if (argc == 1 && hm)
		hm->show_monitor(hm->arg, out, m, json);
	else
		show_conf_monitor(out, rt->conf, m, argc == 2, json);
	return 0;
}

static int c_show_exporter(void *arg, FILE *out, int argc, char **argv, bool json)
{
	struct rt *rt = arg;
	const struct conf_exporter *x = conf_find_exporter(rt->conf, argv[0]);
	if (!x) {
		fprintf(out, "%% Flow Exporter: Flow Exporter '%s' does not exist\n", argv[0]);
		return -1;
	}
	const struct rt_hooks *h = NULL;
	for (size_t i = 0; !h && i < rt->nhooks; i++)
		if (rt->hooks[i].show_exporter)
			h = &rt->hooks[i];
	if (h)
		h->show_exporter(h->arg, out, x, json);
	else
		show_conf_exporter(out, x, json);
	return 0;
}

static int c_show_route(void *arg, FILE *out, int argc, char **argv, bool json)
{
	struct rt *rt = arg;
	for (size_t i = 0; i < rt->nhooks; i++)
		if (rt->hooks[i].show_route)
			return rt->hooks[i].show_route(rt->hooks[i].arg, out, argc ? argv[0] : NULL, json);
	fprintf(out, "%% No routing attributes in this ipflowd\n");
	return -1;
}

static int c_reload(void *arg, FILE *out, int argc, char **argv, bool json)
{
	struct rt *rt = arg;
	if (!rt->reload) {
		fprintf(out, "%% No configuration file to reload (ipflowd was started without -f)\n");
		return -1;
	}
	return rt->reload(rt->reload_arg, out);
}

static int c_debug_export(void *arg, FILE *out, int argc, char **argv, bool json)
{
	fputs("IP flow export debugging is on (close the connection to stop)\n", out);
	return CTL_STREAM;
}

static const struct ctl_cmd rt_cmds[] = {
	{ "show ip cache flow", 0, "flow cache statistics and active flows", c_show_cache },
	{ "show ip cache verbose flow", 0, "flow cache with every field of each flow", c_show_cache_verbose },
	{ "show ip cache flow aggregation", 1, "an aggregation cache (SCHEME: as, prefix, ...)", c_show_agg },
	{ "show ip flow interface", 0, "interfaces metered, their NetFlow commands and capture counters", c_show_interface },
	{ "show ip flow export", 0, "export destinations and their counters", c_show_export },
	{ "show ip flow export template", 0, "template and options export settings and counters", c_show_export_template },
	{ "show ip flow export sctp", 0, "SCTP export destinations, backups and their counters", c_show_export_sctp },
	{ "show ip flow export sctp verbose", 0, "the same with fail-over and restore timers and where messages went",
	  c_show_export_sctp_verbose },
	{ "show ip sctp association list", 0, "every SCTP association of this process", c_show_sctp_assoc },
	{ "show ip sctp statistics", 0, "the SCTP stack's counters", c_show_sctp_stats },
	{ "show flow monitor", -1, "a Flexible NetFlow monitor: NAME [cache]", c_show_monitor },
	{ "show flow exporter", 1, "a Flexible NetFlow exporter: NAME", c_show_exporter },
	{ "show ip route summary", 0, "the route table of the routing attributes: routes, file, malformed lines, lookups",
	  c_show_route },
	{ "show ip route", 1, "the route an address matches (ADDRESS): prefix, next hop, AS numbers, interface", c_show_route },
	{ "show running-config", 0, "the configuration in effect (parses back to itself)", c_show_running },
	{ "clear ip flow stats", 0, "clear the flow cache statistics", c_clear_stats },
	{ "clear ip flow export", 0, "clear the export counters", c_clear_export },
	{ "reload", 0, "re-read the configuration file and apply the difference", c_reload },
	{ "debug ip flow export", 0, "stream export events (packets sent, errors) until interrupted", c_debug_export },
};

/* Open the control socket: the configured path; by default (no path) when
 * running live or paced (a plain file replay ends before anyone could
 * ask); "none" for no socket. */
static void open_control(struct rt *rt)
{
	const struct conf_host *h = &rt->conf->host;
	const char *path = h->ctl_path[0] ? h->ctl_path : NULL;
	char err[256];
	if (path && strcmp(path, "none") == 0)
		return;
	if (!path) {
		if (rt->file_mode && rt->conf->host.speed <= 0)
			return;
		path = CTL_DEFAULT_PATH;
		mkdir("/run/ipflow", 0750);
	}
	int gid = -1;
	struct group *gr = h->ctl_group[0] ? getgrnam(h->ctl_group) : NULL;
	if (gr)
		gid = (int)gr->gr_gid;
	if (h->ctl_group[0] && !gr) {
		log_warn("control socket group %s does not exist; the socket keeps the default group", h->ctl_group);
		gid = -1;
	}
	rt->ctl = ctl_open(path, gid, err, sizeof(err));
	if (!rt->ctl) {
		log_warn("%s; the ipflow CLI will not reach this process", err);
		return;
	}
	snprintf(rt->ctl_path, sizeof(rt->ctl_path), "%s", path);
	ctl_set_commands(rt->ctl, rt_cmds, sizeof(rt_cmds) / sizeof(rt_cmds[0]), rt);
	meter_add_fd(rt->m, ctl_fd(rt->ctl), (void (*)(void *))ctl_serve, rt->ctl);
	transport_set_observer(on_send, rt);
	log_info("control socket %s", path);
}

/* --- life cycle ---------------------------------------------------------- */

struct rt *rt_new(void)
{
	return calloc(1, sizeof(struct rt));
}

void rt_free(struct rt *rt)
{
	if (!rt)
		return;
	transport_set_observer(NULL, NULL);
	ctl_close(rt->ctl);
	if (rt->fl) {
		char err[256];
		if (flowlog_close(rt->fl, err, sizeof(err)) != 0)
			log_err("%s", err);
	}
	export_set_free(rt->set);
	meter_free(rt->m);
	conf_free(rt->conf);
	free(rt);
}

int rt_add_hooks(struct rt *rt, const struct rt_hooks *h)
{
	if (rt->nhooks >= RT_LAYERS_MAX)
		return -1;
	rt->hooks[rt->nhooks++] = *h;
	if (h->annotate)
		rt->annotate = true;
	return 0;
}

/* Each layer's apply in order; on a failure the layers before it that
 * prepared a reload are told to drop it (at start there is nothing to
 * undo: the caller frees rt). Returns how many layers applied, or -1. */
static int hooks_apply(struct rt *rt, const struct conf *oc, const struct conf *nc, char *err, size_t errlen)
{
	for (size_t i = 0; i < rt->nhooks; i++) {
		const struct rt_hooks *h = &rt->hooks[i];
		if (h->apply && h->apply(h->arg, oc, nc, err, errlen) != 0) {
			for (size_t j = 0; oc && j < i; j++)
				if (rt->hooks[j].apply && rt->hooks[j].commit)
					rt->hooks[j].commit(rt->hooks[j].arg, false);
			return -1;
		}
	}
	return (int)rt->nhooks;
}

static void hooks_commit(struct rt *rt, bool ok)
{
	for (size_t i = 0; i < rt->nhooks; i++)
		if (rt->hooks[i].apply && rt->hooks[i].commit)
			rt->hooks[i].commit(rt->hooks[i].arg, ok);
}

static void hooks_finish(struct rt *rt, FILE *stats)
{
	for (size_t i = 0; i < rt->nhooks; i++)
		if (rt->hooks[i].finish)
			rt->hooks[i].finish(rt->hooks[i].arg, stats);
}

void rt_set_reload(struct rt *rt, rt_reload_fn fn, void *arg)
{
	rt->reload = fn;
	rt->reload_arg = arg;
}

struct meter *rt_meter(struct rt *rt)
{
	return rt->m;
}

const struct conf *rt_conf(const struct rt *rt)
{
	return rt->conf;
}

const char *rt_control_path(const struct rt *rt)
{
	return rt->ctl ? rt->ctl_path : NULL;
}

uint64_t rt_reloads(const struct rt *rt, uint64_t *failed)
{
	if (failed)
		*failed = rt->reload_failures;
	return rt->reloads;
}

static void cache_cfg_of(const struct conf *c, struct cache_cfg *cc)
{
	static const enum cache_type t[] = { CACHE_NORMAL, CACHE_PERMANENT, CACHE_IMMEDIATE };
	cc->entries = conf_cache_entries(&c->cache, CACHE_ENTRIES_DEFAULT);
	cc->active_s = conf_cache_active(&c->cache);
	cc->inactive_s = conf_cache_inactive(&c->cache);
	cc->type = t[c->cache.type];
}

int rt_start(struct rt *rt, struct conf *c, char *err, size_t errlen)
{
	rt->conf = c;
	struct cache_cfg cc;
	cache_cfg_of(c, &cc);
	bool files = apply_file_mode(c);
	struct want_cap w[MAX_LIVE];
	size_t nw = wanted_live(c, w, MAX_LIVE);
	if (files && nw) {
		snprintf(err, errlen, "pcap-file interfaces and live interfaces cannot be combined (-r and -i)");
		return -1;
	}
	if (!files && !nw) {
		snprintf(err, errlen, "nothing to meter: give -r FILE or -i IFACE, or an interface with ip flow ingress/egress "
		                      "or ip flow monitor");
		return -1;
	}
	rt->file_mode = files;
	rt->m = meter_new(&cc, err, errlen);
	if (!rt->m)
		return -1;
	if (c->host.flowlog[0] && !(rt->fl = flowlog_open(c->host.flowlog, err, errlen)))
		return -1;
	struct exporter_cfg xc;
	apply_exporter_cfg(&c->export, false, &xc);
	apply_sampling_cfg(c, &xc);
	rt->set = export_set_new(&xc, "main cache");
	if (!rt->set) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	char specs[MAX_SPECS][CONF_PATH_MAX + 8];
	size_t ns = export_specs(&c->export, specs);
	for (size_t i = 0; i < ns; i++) {
		struct transport *t = open_spec(&c->export, specs[i], files, err, errlen);
		if (!t || export_set_add_open(rt->set, specs[i], t, err, errlen) != 0)
			return -1;
	}
	meter_add_sink(rt->m, rt_sink, rt);
	meter_add_tick(rt->m, rt_tick, rt);
	watch_sctp(rt);
	if (files) {
		for (size_t i = 0; i < c->niface; i++) {
			const struct conf_iface *f = &c->iface[i];
			if (!f->pcap[0])
				continue;
			struct capture *cap = capture_open_file(f->pcap, f->ifindex ? f->ifindex : 1, err, errlen);
			if (!cap)
				return -1;
			meter_add_capture(rt->m, cap);
			meter_set_main(rt->m, cap, f->ingress || f->egress);
		}
		meter_set_speed(rt->m, c->host.speed);
	} else {
		for (size_t i = 0; i < nw; i++) {
			struct capture *cap = open_live(c, &w[i], err, errlen);
			if (!cap)
				return -1;
			meter_add_capture(rt->m, cap);
			meter_set_main(rt->m, cap, w[i].main);
		}
	}
	apply_capture_sampling(rt, c);
	if (hooks_apply(rt, NULL, c, err, errlen) < 0)
		return -1;
	open_control(rt);
	return 0;
}

int rt_run(struct rt *rt, volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	return meter_run(rt->m, stop, true, err, errlen);
}

static bool same_exporter_cfg(const struct exporter_cfg *a, const struct exporter_cfg *b)
{
	struct exporter_cfg x = *a, y = *b;
	x.start_us = y.start_us = 0;
	x.exporting_pid = y.exporting_pid = 0;
	return memcmp(&x, &y, sizeof(x)) == 0;
}

/* A note for each setting that a reload cannot change. */
static void restart_notes(const struct conf *o, const struct conf *n)
{
	if (conf_cache_entries(&o->cache, CACHE_ENTRIES_DEFAULT) != conf_cache_entries(&n->cache, CACHE_ENTRIES_DEFAULT))
		log_note("%%The change in number of entries will take effect after a restart of ipflowd");
	if (o->cache.type != n->cache.type)
		log_note("ip flow-cache type: the change takes effect after a restart of ipflowd");
	const struct conf_host *a = &o->host, *b = &n->host;
	if (strcmp(a->ctl_path, b->ctl_path) || strcmp(a->ctl_group, b->ctl_group))
		log_note("ipflow control-socket: the change takes effect after a restart");
	if (strcmp(a->pid_file, b->pid_file) || strcmp(a->user, b->user) || a->syslog != b->syslog)
		log_note("ipflow pid-file/user/logging: the change takes effect after a restart");
	if (a->snaplen != b->snaplen || strcmp(a->filter, b->filter))
		log_note("ipflow capture: the new snap length and filter apply to interfaces opened from now on");
	if (a->speed != b->speed)
		log_note("ipflow replay-speed: the change takes effect after a restart");
}

/* After a reload: which captures the main cache meters now. */
static void set_main_flags(struct rt *rt, const struct conf *c, const struct want_cap *w, size_t nw)
{
	for (size_t j = 0; j < meter_ncaptures(rt->m); j++) {
		struct capture *cap = meter_capture(rt->m, j);
		if (rt->file_mode) {
			for (size_t i = 0; i < c->niface; i++)
				if (c->iface[i].pcap[0] && strcmp(c->iface[i].pcap, capture_name(cap)) == 0)
					meter_set_main(rt->m, cap, c->iface[i].ingress || c->iface[i].egress);
			continue;
		}
		for (size_t i = 0; i < nw; i++)
			if (strcmp(capture_name(cap), w[i].dev) == 0 && capture_dir(cap) == w[i].dir)
				meter_set_main(rt->m, cap, w[i].main);
	}
}

int rt_reload(struct rt *rt, struct conf *nc, char *err, size_t errlen)
{
	if (!nc) { /* the new configuration did not parse: counted, refused */
		snprintf(err, errlen, "the configuration has errors");
		rt->reloads++;
		rt->reload_failures++;
		return -1;
	}
	struct conf *oc = rt->conf;
	uint64_t now = cache_stats(meter_cache(rt->m))->now_us;
	struct transport *added_t[MAX_SPECS] = { 0 };
	char added_spec[MAX_SPECS][CONF_PATH_MAX + 8];
	size_t nadded = 0;
	struct capture *added_c[MAX_LIVE] = { 0 };
	size_t naddc = 0;
	struct flowlog *newfl = NULL;
	bool applied = false; /* the hooks prepared the new configuration */
	int rc = -1;

	/* 1. what the new model needs that can fail, opened first */
	if (rt->file_mode) {
		bool same = oc->niface == nc->niface;
		for (size_t i = 0; same && i < nc->niface; i++)
			same = strcmp(oc->iface[i].pcap, nc->iface[i].pcap) == 0;
		if (!same)
			log_note("interfaces: the input of a running replay is not changed by a reload");
	}
	struct exporter_cfg xc;
	apply_exporter_cfg(&nc->export, false, &xc);
	apply_sampling_cfg(nc, &xc);
	bool new_cfg = !same_exporter_cfg(&xc, export_set_config(rt->set));
	bool new_source = strcmp(oc->export.source, nc->export.source) != 0;
	char specs[MAX_SPECS][CONF_PATH_MAX + 8];
	size_t ns = export_specs(&nc->export, specs);
	bool keep[EXPORT_SET_MAX] = { false };
	for (size_t i = 0; i < ns; i++) {
		bool have = false;
		for (size_t j = 0; !new_source && j < export_set_count(rt->set); j++)
			if (strcmp(export_set_spec(rt->set, j), specs[i]) == 0 &&
			    same_sctp(dest_of_spec(&oc->export, specs[i]), dest_of_spec(&nc->export, specs[i])))
				have = keep[j] = true;
		if (have)
			continue;
		added_t[nadded] = open_spec(&nc->export, specs[i], rt->file_mode, err, errlen);
		if (!added_t[nadded])
			goto out;
		memcpy(added_spec[nadded], specs[i], sizeof(added_spec[0]));
		nadded++;
	}
	watch_sctp(rt);
	struct want_cap w[MAX_LIVE];
	size_t nw = rt->file_mode ? 0 : wanted_live(nc, w, MAX_LIVE);
	bool keep_c[MAX_LIVE] = { false };
	if (!rt->file_mode) {
		if (apply_file_mode(nc)) {
			snprintf(err, errlen, "a running live capture cannot switch to pcap-file interfaces; restart ipflowd");
			goto out;
		}
		if (!nw) {
			snprintf(err, errlen, "the new configuration meters no interface (no ip flow ingress/egress or monitor)");
			goto out;
		}
		for (size_t i = 0; i < nw; i++) {
			bool have = false;
			for (size_t j = 0; j < meter_ncaptures(rt->m); j++) {
				struct capture *cap = meter_capture(rt->m, j);
				if (strcmp(capture_name(cap), w[i].dev) == 0 && capture_dir(cap) == w[i].dir)
					have = keep_c[j] = true;
			}
			if (have)
				continue;
			added_c[naddc] = open_live(nc, &w[i], err, errlen);
			if (!added_c[naddc])
				goto out;
			naddc++;
		}
	}
	if (strcmp(oc->host.flowlog, nc->host.flowlog) != 0 && nc->host.flowlog[0] &&
	    !(newfl = flowlog_open(nc->host.flowlog, err, errlen)))
		goto out;
	if (hooks_apply(rt, oc, nc, err, errlen) < 0)
		goto out;
	applied = true;
	/* a new sampling rate: the flows in the cache were counted at the old
	 * one, and leave under it (forced end), so each record's rate is the
	 * one its packets were sampled at */
	const struct exporter_cfg *ox = export_set_config(rt->set);
	if (!same_sampling(ox, &xc)) {
		log_info("main-cache sampling changes: the %u flows in the cache are exported at the old rate",
		         cache_stats(meter_cache(rt->m))->in_use);
		cache_flush(meter_cache(rt->m), FLOW_END_SHUTDOWN);
	}
	/* the exporter settings last: atomic, and nothing after it can fail */
	if (new_cfg && export_set_reconfigure(rt->set, &xc, now, err, errlen) != 0)
		goto out;

	/* 2. commit: nothing below fails */
	struct cache *cache = meter_cache(rt->m);
	uint32_t act = conf_cache_active(&nc->cache), inact = conf_cache_inactive(&nc->cache);
	if (act != cache_config(cache)->active_s || inact != cache_config(cache)->inactive_s)
		cache_set_timeouts(cache, act, inact);
	for (size_t j = export_set_count(rt->set); j-- > 0;)
		if (!keep[j]) {
			log_info("export destination %s removed", export_set_spec(rt->set, j));
			export_set_remove(rt->set, j, now);
		}
	for (size_t i = 0; i < nadded; i++) {
		char e2[256];
		if (export_set_add_open(rt->set, added_spec[i], added_t[i], e2, sizeof(e2)) != 0)
			log_err("%s", e2); /* the transport is closed by the set */
		else
			log_info("export destination %s added", added_spec[i]);
		added_t[i] = NULL;
	}
	for (size_t j = meter_ncaptures(rt->m); !rt->file_mode && j-- > 0;)
		if (!keep_c[j])
			capture_close(meter_remove_capture(rt->m, j));
	for (size_t i = 0; i < naddc; i++) {
		meter_add_capture(rt->m, added_c[i]);
		added_c[i] = NULL;
	}
	set_main_flags(rt, nc, w, nw);
	apply_capture_sampling(rt, nc);
	if (strcmp(oc->host.flowlog, nc->host.flowlog) != 0) {
		char e2[256];
		if (rt->fl && flowlog_close(rt->fl, e2, sizeof(e2)) != 0)
			log_err("%s", e2);
		rt->fl = newfl;
		newfl = NULL;
	}
	restart_notes(oc, nc);
	rt->conf = nc;
	nc = NULL;
	conf_free(oc);
	rc = 0;
out:
	for (size_t i = 0; i < nadded; i++)
		transport_close(added_t[i]);
	for (size_t i = 0; i < naddc; i++)
		capture_close(added_c[i]);
	if (newfl) {
		char e2[256];
		flowlog_close(newfl, e2, sizeof(e2));
	}
	conf_free(nc);
	if (applied)
		hooks_commit(rt, rc == 0);
	rt->reloads++;
	if (rc)
		rt->reload_failures++;
	return rc;
}

void rt_finish(struct rt *rt, FILE *stats)
{
	struct meter *m = rt->m;
	struct show_sampling sm;
	rt_sampling(rt, &sm);
	if (stats)
		show_ip_cache_flow_samp(stats, meter_cache(m), meter_ifname, m, 20, &sm);
	uint64_t open_flows = cache_stats(meter_cache(m))->in_use;
	meter_flush(m);
	uint64_t now = cache_stats(meter_cache(m))->now_us;
	export_set_flush(rt->set, now);
	for (size_t i = 0; i < rt->nhooks; i++)
		if (rt->hooks[i].flush)
			rt->hooks[i].flush(rt->hooks[i].arg, now);
	transport_retire_drain();
	if (!stats) {
		hooks_finish(rt, NULL);
		return;
	}
	fputs("\nAfter exporting the flows left in the cache:\n", stats);
	show_protocol_table(stats, meter_cache(m));
	const struct pkt_stats *ps = meter_pkt_stats(m);
	uint64_t not_metered = 0;
	for (int r = 1; r < PKT_REASON_MAX; r++)
		not_metered += ps->reason[r];
	fprintf(stats, "\nFrames read %llu, metered %llu, not metered %llu\n", (unsigned long long)ps->frames,
	        (unsigned long long)(ps->frames - not_metered), (unsigned long long)not_metered);
	rt_sampling(rt, &sm);
	if (sm.offered)
		fprintf(stats, "Main-cache sampling: %llu packets offered, %llu sampled, %llu not sampled\n",
		        (unsigned long long)sm.offered, (unsigned long long)sm.sampled,
		        (unsigned long long)(sm.offered - sm.sampled));
	for (int r = 1; r < PKT_REASON_MAX; r++)
		if (ps->reason[r])
			fprintf(stats, "  %-40s %llu\n", pkt_reason_str((enum pkt_reason)r), (unsigned long long)ps->reason[r]);
	for (size_t i = 0; i < meter_ncaptures(m); i++) {
		struct capture_stats cs;
		struct capture *c = meter_capture(m, i);
		capture_stats(c, &cs);
		if (capture_fd(c) >= 0)
			fprintf(stats, "Interface %s (%s): %llu received, %llu dropped by kernel, %llu dropped by interface\n",
			        capture_name(c), capture_dir(c) == CAP_IN ? "ingress" : "egress",
			        (unsigned long long)cs.received, (unsigned long long)cs.dropped,
			        (unsigned long long)cs.if_dropped);
	}
	if (export_set_count(rt->set)) {
		fputc('\n', stats);
		export_set_show(rt->set, stats, false);
		if (sctp_stack_fd() >= 0) {
			fputc('\n', stats);
			export_set_show_sctp(rt->set, stats, true, false);
		}
	}
	const struct cache_stats *st = cache_stats(meter_cache(m));
	uint64_t recs = 0;
	for (int i = 0; i < FLOW_END_MAX; i++)
		recs += st->records[i];
	fprintf(stats, "Records exported %llu (%llu flushed from the cache at exit), packets %llu, bytes %llu\n",
	        (unsigned long long)recs, (unsigned long long)open_flows, (unsigned long long)st->packets,
	        (unsigned long long)st->bytes);
	if (export_set_count(rt->set) || export_set_lost(rt->set))
		fprintf(stats, "Records lost by export %llu (no room in a message, not exportable in the version, "
		               "dropped by a transport)\n",
		        (unsigned long long)export_set_lost(rt->set));
	show_retired(stats);
	if (rt->reloads)
		fprintf(stats, "Configuration reloads %llu (%llu refused)\n", (unsigned long long)rt->reloads,
		        (unsigned long long)rt->reload_failures);
	hooks_finish(rt, stats);
}

unsigned apply_check_host(const struct conf *c, FILE *out)
{
	unsigned n = 0;
	for (size_t i = 0; i < c->niface; i++) {
		const struct conf_iface *f = &c->iface[i];
		if (f->pcap[0]) {
			if (access(f->pcap, R_OK) != 0) {
				fprintf(out, "warning: interface %s: pcap file %s: %s\n", f->name, f->pcap, strerror(errno));
				n++;
			}
			continue;
		}
		if (!f->ingress && !f->egress && !f->nmon)
			continue;
		const char *dev = conf_linux_name(c, f->name);
		if (if_nametoindex(dev) == 0) {
			fprintf(out, "warning: interface %s%s%s%s does not exist on this host (an error when capture starts on it)\n",
			        f->name, strcmp(dev, f->name) ? " (" : "", strcmp(dev, f->name) ? dev : "",
			        strcmp(dev, f->name) ? ")" : "");
			n++;
		}
	}
	if (c->host.routes[0] && access(c->host.routes, R_OK) != 0) { /* routing attributes: an error at start */
		fprintf(out, "warning: route table %s: %s\n", c->host.routes, strerror(errno));
		n++;
	}
	return n;
}
