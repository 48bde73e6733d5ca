/* export_set.c — see export_set.h. */
#include "export/export_set.h"

#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/log.h"
#include "transport/sctp.h"

/* At shutdown, or removed by a reload, how long a queued (TCP/SCTP)
 * destination may take to deliver what it holds (export_set_set_drain). */
#define EXPORT_DRAIN_MS 10000

struct dest {
	char spec[256];
	struct transport *t;
	struct exporter *ex;
	/* counters as of the last "clear ip flow export" */
	struct exporter_stats base;
	struct transport_stats tbase;
	/* counters of exporters this destination had before a reconfigure */
	struct exporter_stats carried;
};

struct export_set {
	struct exporter_cfg cfg;
	char cache_name[32];
	struct dest d[EXPORT_SET_MAX];
	size_t n;
	bool started;
	uint64_t start_us;
	int drain_ms;
	struct exporter_stats removed; /* counters of removed destinations */
	/* their transports, retired (transport_retire_to): what they lost
	 * before removal (held_*) and after (lost_*), and how many drain */
	struct transport_retired retired;
	/* the same at the last `clear ip flow export`: the show prints what
	 * came since (the loss totals stay since start) */
	struct exporter_stats removed_base;
	uint64_t removed_drops_base, removed_drop_recs_base;
};

static void stats_add(struct exporter_stats *a, const struct exporter_stats *b, int sign)
{
#define A(f) a->f = sign > 0 ? a->f + b->f : a->f - b->f
	A(flows); A(records); A(messages); A(bytes); A(flows_failed); A(not_exportable);
	A(split_records); A(saturated); A(templates); A(options_templates); A(options_records);
	A(send_errors);
#undef A
}

struct export_set *export_set_new(const struct exporter_cfg *cfg, const char *cache_name)
{
	struct export_set *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cfg = *cfg;
	s->drain_ms = EXPORT_DRAIN_MS;
	snprintf(s->cache_name, sizeof(s->cache_name), "%s", cache_name);
	return s;
}

void export_set_set_drain(struct export_set *s, int ms)
{
	s->drain_ms = ms > 0 ? ms : 0;
}

/* Messages (*recs: flows) the removed destinations' transports lost. */
static uint64_t removed_drops(const struct export_set *s, uint64_t *recs)
{
	*recs = s->retired.held_recs + s->retired.lost_recs;
	return s->retired.held_msgs + s->retired.lost_msgs;
}

void export_set_free(struct export_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		exporter_free(s->d[i].ex);
		transport_close(s->d[i].t);
	}
	transport_retire_forget(&s->retired); /* still draining (no flush before): on their own */
	free(s);
}

int export_set_add(struct export_set *s, const char *spec, const struct transport_opts *o,
                   char *err, size_t errlen)
{
	return export_set_add_dest(s, spec, o, NULL, err, errlen);
}

int export_set_add_dest(struct export_set *s, const char *spec, const struct transport_opts *o,
                        const struct sctp_dest_opts *dopts, char *err, size_t errlen)
{
	if (s->n == EXPORT_SET_MAX) {
		snprintf(err, errlen, "%s: at most %d export destinations", spec, EXPORT_SET_MAX);
		return -1;
	}
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->d[i].spec, spec) == 0)
			log_warn("%%Warning: Second destination address is the same as previous address %s", spec);
	struct dest *d = &s->d[s->n];
	memset(d, 0, sizeof(*d));
	snprintf(d->spec, sizeof(d->spec), "%s", spec);
	struct transport_opts to = { 0 };
	if (o)
		to = *o;
	if (!to.mtu)
		to.mtu = s->cfg.mtu;
	if (dopts)
		to.dest = dopts;
	d->t = transport_open(spec, &to, err, errlen); /* sctp: and backups: a dest (dest.h) */
	if (!d->t)
		return -1;
	d->ex = exporter_new(&s->cfg, d->t, err, errlen);
	if (!d->ex) {
		transport_close(d->t);
		return -1;
	}
	s->n++;
	return 0;
}

size_t export_set_count(const struct export_set *s)
{
	return s->n;
}

const char *export_set_spec(const struct export_set *s, size_t i)
{
	return i < s->n ? s->d[i].spec : NULL;
}

void export_set_start(struct export_set *s, uint64_t start_us)
{
	if (s->started)
		return;
	s->started = true;
	s->start_us = start_us;
	for (size_t i = 0; i < s->n; i++)
		exporter_set_start(s->d[i].ex, start_us);
}

void export_set_record(struct export_set *s, const struct flowrec *r, uint64_t now_us)
{
	for (size_t i = 0; i < s->n; i++)
		exporter_add(s->d[i].ex, r, now_us);
}

void export_set_tick(struct export_set *s, uint64_t now_us)
{
	if (s->retired.waiting)
		transport_retire_poll();
	for (size_t i = 0; i < s->n; i++) {
		transport_poll(s->d[i].t);
		if (exporter_next_deadline(s->d[i].ex) <= now_us)
			exporter_tick(s->d[i].ex, now_us);
	}
}

void export_set_flush(struct export_set *s, uint64_t now_us)
{
	for (size_t i = 0; i < s->n; i++) {
		exporter_tick(s->d[i].ex, now_us); /* a session that came up late still gets its templates */
		exporter_flush(s->d[i].ex, now_us);
		transport_drain(s->d[i].t, s->drain_ms);
		/* IPFIX over SCTP: withdraw the templates after the last data (RFC
		 * 7011 §8.1), then let that leave too. Not over TCP: libfixbuf's
		 * reader, for one, cannot take a withdrawal on a stream. */
		if (strncmp(s->d[i].spec, "sctp:", 5) == 0 && exporter_withdraw(s->d[i].ex, now_us) == ERR_OK)
			transport_drain(s->d[i].t, s->drain_ms / 5);
	}
	transport_retire_drain_to(&s->retired);
}

int export_set_add_open(struct export_set *s, const char *spec, struct transport *t, char *err, size_t errlen)
{
	if (s->n == EXPORT_SET_MAX) {
		snprintf(err, errlen, "%s: at most %d export destinations", spec, EXPORT_SET_MAX);
		transport_close(t);
		return -1;
	}
	struct dest *d = &s->d[s->n];
	memset(d, 0, sizeof(*d));
	snprintf(d->spec, sizeof(d->spec), "%s", spec);
	d->t = t;
	d->ex = exporter_new(&s->cfg, d->t, err, errlen);
	if (!d->ex) {
		transport_close(d->t);
		return -1;
	}
	if (s->started)
		exporter_set_start(d->ex, s->start_us);
	s->n++;
	return 0;
}

void export_set_remove(struct export_set *s, size_t i, uint64_t now_us)
{
	if (i >= s->n)
		return;
	struct dest *d = &s->d[i];
	exporter_flush(d->ex, now_us);
	stats_add(&s->removed, exporter_stats(d->ex), 1);
	stats_add(&s->removed, &d->carried, 1);
	exporter_free(d->ex);
	/* closed once the collector has confirmed what it holds, in the
	 * background (an SCTP association closed busy would abort it) */
	transport_retire_to(d->t, s->drain_ms, &s->retired);
	memmove(&s->d[i], &s->d[i + 1], (s->n - i - 1) * sizeof(s->d[0]));
	s->n--;
}

int export_set_reconfigure(struct export_set *s, const struct exporter_cfg *cfg, uint64_t now_us, char *err,
                           size_t errlen)
{
	struct exporter *nx[EXPORT_SET_MAX];
	struct exporter_cfg c = *cfg;
	if (s->started)
		c.start_us = s->start_us;
	for (size_t i = 0; i < s->n; i++) {
		nx[i] = exporter_new(&c, s->d[i].t, err, errlen);
		if (!nx[i]) {
			while (i-- > 0)
				exporter_free(nx[i]);
			return -1;
		}
	}
	for (size_t i = 0; i < s->n; i++) {
		struct dest *d = &s->d[i];
		exporter_flush(d->ex, now_us);
		/* the same stream (version and domain) on the same transport: its
		 * sequence numbers go on, or a collector would see them jump back */
		if (c.version == s->cfg.version && c.domain == s->cfg.domain)
			exporter_set_seq(nx[i], exporter_seq_next(d->ex));
		stats_add(&d->carried, exporter_stats(d->ex), 1);
		exporter_free(d->ex);
		d->ex = nx[i];
		if (s->started)
			exporter_set_start(d->ex, s->start_us);
	}
	s->cfg = c;
	return 0;
}

const struct exporter_cfg *export_set_config(const struct export_set *s)
{
	return &s->cfg;
}

const char *export_set_spec_of(const struct export_set *s, const struct transport *t)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->d[i].t == t)
			return s->d[i].spec;
	return NULL;
}

size_t export_set_retiring(const struct export_set *s)
{
	return s->retired.waiting;
}

uint64_t export_set_lost(const struct export_set *s)
{
	uint64_t n = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct exporter_stats *st = exporter_stats(s->d[i].ex);
		n += st->flows_failed + st->not_exportable + s->d[i].carried.flows_failed + s->d[i].carried.not_exportable +
		     s->d[i].t->st.dropped_recs;
	}
	uint64_t recs;
	removed_drops(s, &recs);
	return n + s->removed.flows_failed + s->removed.not_exportable + recs;
}

void export_set_clear(struct export_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		s->d[i].base = *exporter_stats(s->d[i].ex);
		stats_add(&s->d[i].base, &s->d[i].carried, 1);
		s->d[i].tbase = s->d[i].t->st;
	}
	s->removed_base = s->removed;
	s->removed_drops_base = removed_drops(s, &s->removed_drop_recs_base);
}

/* Counters since the last clear. */
static struct exporter_stats delta(const struct dest *d)
{
	struct exporter_stats st = *exporter_stats(d->ex);
	stats_add(&st, &d->carried, 1);
	const struct exporter_stats *b = &d->base;
#define D(f) st.f -= b->f
	D(flows); D(records); D(messages); D(bytes); D(flows_failed); D(not_exportable);
	D(split_records); D(saturated); D(templates); D(options_templates); D(options_records);
	D(send_errors);
#undef D
	return st;
}

static const char *version_name(int v)
{
	return v == 10 ? "IPFIX" : v == 9 ? "9" : v == 7 ? "7" : v == 5 ? "5" : "1";
}

/* What the destinations a reload removed did since the last clear. */
struct removed_view {
	uint64_t records, messages, flows_failed, drops, drop_recs;
};

static struct removed_view removed_since_clear(const struct export_set *s)
{
	uint64_t recs, msgs = removed_drops(s, &recs);
	return (struct removed_view){
		.records = s->removed.records - s->removed_base.records,
		.messages = s->removed.messages - s->removed_base.messages,
		.flows_failed = s->removed.flows_failed - s->removed_base.flows_failed,
		.drops = msgs - s->removed_drops_base,
		.drop_recs = recs - s->removed_drop_recs_base,
	};
}

static void show_removed(const struct export_set *s, FILE *out)
{
	struct removed_view v = removed_since_clear(s);
	if (v.messages || v.drops || v.records || v.flows_failed || s->retired.waiting)
		fprintf(out, "  Removed destinations (reload): %llu flows exported in %llu messages, %llu flows failed, "
		             "%llu messages (%llu flows) lost by their transports, %zu still draining\n",
		        (unsigned long long)v.records, (unsigned long long)v.messages, (unsigned long long)v.flows_failed,
		        (unsigned long long)v.drops, (unsigned long long)v.drop_recs, s->retired.waiting);
}

void export_set_show(const struct export_set *s, FILE *out, bool json)
{
	if (json) {
		fprintf(out, "{\"cache\":\"%s\",\"version\":%d,\"destinations\":[", s->cache_name, s->cfg.version);
		for (size_t i = 0; i < s->n; i++) {
			const struct dest *d = &s->d[i];
			struct exporter_stats st = delta(d);
			fprintf(out, "%s{\"destination\":\"%s\",\"flows\":%llu,\"records\":%llu,\"messages\":%llu,"
			             "\"bytes\":%llu,\"flowsFailed\":%llu,\"notExportable\":%llu,\"splitRecords\":%llu,"
			             "\"saturated\":%llu,\"sendErrors\":%llu,\"refused\":%llu,\"lastError\":\"%s\"}",
			        i ? "," : "", d->spec, (unsigned long long)st.flows, (unsigned long long)st.records,
			        (unsigned long long)st.messages, (unsigned long long)st.bytes,
			        (unsigned long long)st.flows_failed, (unsigned long long)st.not_exportable,
			        (unsigned long long)st.split_records, (unsigned long long)st.saturated,
			        (unsigned long long)st.send_errors,
			        (unsigned long long)(d->t->st.refused - d->tbase.refused), d->t->err);
		}
		struct removed_view v = removed_since_clear(s);
		fprintf(out, "],\"removed\":{\"records\":%llu,\"messages\":%llu,\"flowsFailed\":%llu,"
		             "\"transportDrops\":%llu,\"transportDropFlows\":%llu,\"draining\":%zu}",
		        (unsigned long long)v.records, (unsigned long long)v.messages, (unsigned long long)v.flows_failed,
		        (unsigned long long)v.drops, (unsigned long long)v.drop_recs, s->retired.waiting);
		/* The Flexible NetFlow, aggregation and packet-section exporters
		 * a reload removed (transport_retire): the text show's
		 * "Exporters removed by reload" line. Since start. */
		const struct transport_retired *r = transport_retired_stats();
		fprintf(out, ",\"removedExporters\":{\"draining\":%zu,\"closed\":%llu,\"closedWithData\":%llu,"
		             "\"lostMessages\":%llu,\"lostFlows\":%llu}}\n",
		        transport_retiring(), (unsigned long long)r->closed, (unsigned long long)r->timed_out,
		        (unsigned long long)r->lost_msgs, (unsigned long long)r->lost_recs);
		return;
	}
	if (!s->n) {
		fprintf(out, "Flow export is disabled for %s\n", s->cache_name);
		show_removed(s, out);
		return;
	}
	fprintf(out, "Flow export %s%s is enabled for %s\n", s->cfg.version == 10 ? "" : "v",
	        version_name(s->cfg.version), s->cache_name);
	fputs("  Export source and destination details :\n", out);
	for (size_t i = 0; i < s->n; i++)
		fprintf(out, "    Destination(%zu)  %s\n", i + 1, s->d[i].spec);
	fprintf(out, "  Version %s flow records\n", version_name(s->cfg.version));
	for (size_t i = 0; i < s->n; i++) {
		const struct dest *d = &s->d[i];
		struct exporter_stats st = delta(d);
		const char *proto = strncmp(d->spec, "udp:", 4) == 0 ? "udp datagrams" : "export messages";
		fprintf(out, "  Destination(%zu) %s\n", i + 1, d->spec);
		fprintf(out, "    %llu flows exported in %llu %s\n", (unsigned long long)st.records,
		        (unsigned long long)st.messages, proto);
		fprintf(out, "    %llu flows failed due to lack of export packet\n",
		        (unsigned long long)st.flows_failed);
		fprintf(out, "    %llu export packets were dropped due to send errors (%llu port unreachable)\n",
		        (unsigned long long)st.send_errors,
		        (unsigned long long)(d->t->st.refused - d->tbase.refused));
		fprintf(out, "    %llu flows not exportable in this version (IPv6 in v1/v5/v7)\n",
		        (unsigned long long)st.not_exportable);
		fprintf(out, "    %llu extra records from splitting 64-bit counters, %llu values saturated\n",
		        (unsigned long long)st.split_records, (unsigned long long)st.saturated);
		if (d->t->err[0])
			fprintf(out, "    last error: %s\n", d->t->err);
	}
	show_removed(s, out);
}

void export_set_show_template(const struct export_set *s, FILE *out, bool json)
{
	const struct exporter_cfg *c = &s->cfg;
	uint64_t tmpl = 0, otmpl = 0, orec = 0;
	for (size_t i = 0; i < s->n; i++) {
		struct exporter_stats st = delta(&s->d[i]);
		tmpl += st.templates;
		otmpl += st.options_templates;
		orec += st.options_records;
	}
	bool has_tmpl = c->version == 9 || c->version == 10;
	if (json) {
		fprintf(out, "{\"cache\":\"%s\",\"version\":%d,\"templatesSent\":%llu,\"optionTemplatesSent\":%llu,"
		             "\"optionRecordsSent\":%llu,\"templateTimeoutMinutes\":%u,\"templateRefreshRate\":%u,"
		             "\"optionExportStats\":%s,\"optionTimeoutMinutes\":%u,\"optionRefreshRate\":%u}\n",
		        s->cache_name, c->version, (unsigned long long)tmpl, (unsigned long long)otmpl,
		        (unsigned long long)orec, c->tmpl_timeout_s / 60, c->tmpl_refresh_pkts,
		        c->export_stats ? "true" : "false", c->opt_timeout_s / 60, c->opt_refresh_pkts);
		return;
	}
	fprintf(out, "  Template Options Flag = %d\n", c->export_stats ? 1 : 0);
	fprintf(out, "  Total number of Templates added = %d\n", has_tmpl ? 2 + (c->export_stats ? 1 : 0) : 0);
	fprintf(out, "  Total active Templates = %d\n", has_tmpl ? 2 + (c->export_stats ? 1 : 0) : 0);
	fprintf(out, "  Flow Templates active = %d\n", has_tmpl ? 2 : 0);
	fprintf(out, "  Flow Templates added = %d\n", has_tmpl ? 2 : 0);
	fprintf(out, "  Option Templates active = %d\n", has_tmpl && c->export_stats ? 1 : 0);
	fprintf(out, "  Option Templates added = %d\n", has_tmpl && c->export_stats ? 1 : 0);
	fprintf(out, "  Template records sent = %llu, option template records sent = %llu, option data records sent = %llu\n",
	        (unsigned long long)tmpl, (unsigned long long)otmpl, (unsigned long long)orec);
	fprintf(out, "%s version %s export is %s\n", s->cache_name, version_name(c->version),
	        s->n ? "enabled" : "disabled");
	if (!has_tmpl)
		return;
	fputs("  Template export information\n", out);
	if (c->tmpl_timeout_s % 60 == 0)
		fprintf(out, "  Template timeout = %u\n", c->tmpl_timeout_s / 60);
	else
		fprintf(out, "  Template timeout = %u seconds\n", c->tmpl_timeout_s);
	fprintf(out, "  Template refresh rate = %u\n", c->tmpl_refresh_pkts);
	fputs("  Option export information\n", out);
	if (c->opt_timeout_s % 60 == 0)
		fprintf(out, "  Option timeout = %u\n", c->opt_timeout_s / 60);
	else
		fprintf(out, "  Option timeout = %u seconds\n", c->opt_timeout_s);
	fprintf(out, "  Option refresh rate = %u\n", c->opt_refresh_pkts);
}

static void show_member_sctp(FILE *out, const char *indent, const struct dest_member_info *m, bool json)
{
	struct sctpt_info in;
	bool is_sctp = m->t && sctpt_info(m->t, &in) == 0;
	const char *status = m->t ? (m->t->up ? "connected" : "not connected") : "not connected";
	if (json) {
		fprintf(out, "\"status\":\"%s\",\"available\":%s,\"flows\":%llu,\"messages\":%llu,"
		             "\"droppedPackets\":%llu,\"droppedFlows\":%llu,\"refused\":%llu",
		        status, m->avail ? "true" : "false", (unsigned long long)m->recs, (unsigned long long)m->msgs,
		        (unsigned long long)m->dropped, (unsigned long long)m->dropped_recs,
		        (unsigned long long)m->refused);
		if (is_sctp)
			fprintf(out, ",\"abandoned\":%llu,\"bufferLimitDrops\":%llu,\"handedBack\":%llu,"
			             "\"requeued\":%llu,\"queuedMessages\":%llu,\"associations\":%llu,"
			             "\"associationsLost\":%llu,\"unreachable\":%llu",
			        (unsigned long long)in.abandoned, (unsigned long long)in.limit_drops,
			        (unsigned long long)in.returned, (unsigned long long)in.requeued,
			        (unsigned long long)in.queued_msgs, (unsigned long long)in.assoc_up,
			        (unsigned long long)in.assoc_lost, (unsigned long long)in.unreachable);
		return;
	}
	fprintf(out, "%sstatus: %s\n", indent, status);
	(void)is_sctp;
}

static void host_port(const char *spec, char *host, size_t hl, char *port, size_t pl)
{
	const char *p = strchr(spec, ':');
	p = p ? p + 1 : spec;
	const char *c = strrchr(p, ':');
	if (!c) {
		snprintf(host, hl, "%s", p);
		port[0] = 0;
		return;
	}
	size_t n = (size_t)(c - p);
	if (n && p[0] == '[' && p[n - 1] == ']') {
		p++;
		n -= 2;
	}
	snprintf(host, hl, "%.*s", (int)n, p);
	snprintf(port, pl, "%s", c + 1);
}

void export_set_show_sctp(const struct export_set *s, FILE *out, bool verbose, bool json)
{
	unsigned shown = 0;
	if (json)
		fprintf(out, "{\"cache\":\"%s\",\"destinations\":[", s->cache_name);
	for (size_t i = 0; i < s->n; i++) {
		struct dest_info di;
		if (dest_info(s->d[i].t, &di) != 0 || strncmp(di.m[0].spec, "sctp:", 5) != 0)
			continue;
		const struct sctpt_opts *so = &di.o->sctp;
		char host[160], port[16], rel[48];
		host_port(di.m[0].spec, host, sizeof(host), port, sizeof(port));
		if (so->reliability == SCTPT_PARTIAL)
			snprintf(rel, sizeof(rel), "partial, buffer-limit %u", so->buffer_limit);
		else
			snprintf(rel, sizeof(rel), "%s", sctpt_rel_name(so->reliability));
		if (json) {
			fprintf(out, "%s{\"destination\":\"%s\",\"port\":%s,\"reliability\":\"%s\",",
			        shown ? "," : "", host, port[0] ? port : "0", sctpt_rel_name(so->reliability));
			if (so->reliability == SCTPT_PARTIAL)
				fprintf(out, "\"bufferLimit\":%u,", so->buffer_limit);
			show_member_sctp(out, "", &di.m[0], true);
			fprintf(out, ",\"active\":\"%s\",\"failOverMs\":%u,\"restoreTimeS\":%u,\"failOvers\":%llu,"
			             "\"restores\":%llu,\"resentToOther\":%llu,\"resentFlows\":%llu,\"undeliverable\":%llu,"
			             "\"undeliverableFlows\":%llu",
			        di.state, di.o->failover_ms, di.o->restore_s, (unsigned long long)di.failovers,
			        (unsigned long long)di.restores, (unsigned long long)di.reclaimed,
			        (unsigned long long)di.reclaimed_recs, (unsigned long long)di.lost,
			        (unsigned long long)di.lost_recs);
			if (di.has_backup) {
				char bh[160], bp[16];
				host_port(di.m[1].spec, bh, sizeof(bh), bp, sizeof(bp));
				fprintf(out, ",\"backupMode\":\"%s\",\"backup\":{\"destination\":\"%s\",\"port\":%s,",
				        dest_mode_name(di.o->mode), bh, bp[0] ? bp : "0");
				show_member_sctp(out, "", &di.m[1], true);
				fputs("}", out);
			}
			fputs("}", out);
			shown++;
			continue;
		}
		fprintf(out, "%s exporting to %s, port %s, %s\n", s->cache_name, host, port, rel);
		show_member_sctp(out, "", &di.m[0], false);
		if (di.has_backup)
			fprintf(out, "backup mode: %s\n", dest_mode_name(di.o->mode));
		fprintf(out, "%llu flows exported in %llu sctp messages.\n", (unsigned long long)di.m[0].recs,
		        (unsigned long long)di.m[0].msgs);
		fprintf(out, "%llu packets dropped due to lack of SCTP resources\n",
		        (unsigned long long)(di.m[0].dropped + di.m[0].refused));
		if (verbose && di.has_backup) {
			fprintf(out, "fail-over time: %u milli-seconds\n", di.o->failover_ms);
			fprintf(out, "restore time:   %u seconds\n", di.o->restore_s);
		}
		if (di.has_backup) {
			char bh[160], bp[16];
			host_port(di.m[1].spec, bh, sizeof(bh), bp, sizeof(bp));
			fprintf(out, "backup: %s, port %s\n", bh, bp);
			show_member_sctp(out, "    ", &di.m[1], false);
			fprintf(out, "    fail-overs: %llu\n", (unsigned long long)di.failovers);
			fprintf(out, "    %llu flows exported in %llu sctp messages.\n", (unsigned long long)di.m[1].recs,
			        (unsigned long long)di.m[1].msgs);
			fprintf(out, "    %llu packets dropped due to lack of SCTP resources\n",
			        (unsigned long long)(di.m[1].dropped + di.m[1].refused));
		}
		if (verbose) {
			/* beyond IOS: where every message went */
			fprintf(out, "  active: %s", di.state);
			if (di.restore_left_ms)
				fprintf(out, " (reverts in %llu ms unless the primary fails again)",
				        (unsigned long long)di.restore_left_ms);
			fprintf(out, ", %llu restores\n", (unsigned long long)di.restores);
			fprintf(out, "  %llu undelivered messages (%llu flows) re-sent to the other collector at a switch\n",
			        (unsigned long long)di.reclaimed, (unsigned long long)di.reclaimed_recs);
			for (int k = 0; k < (di.has_backup ? 2 : 1); k++) {
				struct sctpt_info in;
				if (!di.m[k].t || sctpt_info(di.m[k].t, &in) != 0)
					continue;
				fprintf(out, "  %s: %llu abandoned (FORWARD-TSN, %llu flows), %llu dropped by the buffer limit "
				             "(%llu flows), %llu handed back by the stack, %llu queued, %llu associations "
				             "(%llu lost), path unreachable %llu times\n",
				        k ? "backup" : "primary", (unsigned long long)in.abandoned,
				        (unsigned long long)in.abandoned_recs, (unsigned long long)in.limit_drops,
				        (unsigned long long)in.limit_drop_recs, (unsigned long long)in.returned,
				        (unsigned long long)in.queued_msgs, (unsigned long long)in.assoc_up,
				        (unsigned long long)in.assoc_lost, (unsigned long long)in.unreachable);
			}
			fprintf(out, "  %llu messages (%llu flows) could not be delivered anywhere\n",
			        (unsigned long long)di.lost, (unsigned long long)di.lost_recs);
		}
		shown++;
	}
	if (json)
		fputs("]}\n", out);
	else if (!shown)
		fprintf(out, "No SCTP export destinations for %s\n", s->cache_name);
}
