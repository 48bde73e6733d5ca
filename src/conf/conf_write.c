/* conf_write.c — the model as `show running-config`; see conf.h. The
 * output parses back to an equal model (test_conf checks every fixture). */
#include <string.h>

#include "conf/conf.h"

static const char *const proto_name[] = { "udp", "sctp", "tcp" };
static const char *const ctype_name[] = { "normal", "permanent", "immediate" };

static void write_sctp(FILE *out, const struct conf_sctp *s, const char *ind)
{
	if (s->reliability == CONF_REL_PARTIAL)
		fprintf(out, "%sreliability partial buffer-limit %u\n", ind, s->buffer_limit);
	else if (s->reliability == CONF_REL_NONE)
		fprintf(out, "%sreliability none\n", ind);
	if (s->backup)
		fprintf(out, "%sbackup destination %s %u\n", ind, s->backup_host, s->backup_port);
	if (s->backup_mode == CONF_BACKUP_REDUNDANT)
		fprintf(out, "%sbackup mode redundant\n", ind);
	if (s->failover_ms != CONF_SCTP_FAILOVER_DEFAULT_MS)
		fprintf(out, "%sbackup fail-over %u\n", ind, s->failover_ms);
	if (s->restore_s != CONF_SCTP_RESTORE_DEFAULT_S)
		fprintf(out, "%sbackup restore-time %u\n", ind, s->restore_s);
}

/* `pre` is "ip flow-export " (main cache) or " export " (aggregation). */
static void write_export(FILE *out, const struct conf_export *e, const char *pre, const char *sub)
{
	if (e->set & CONF_EX_SOURCE)
		fprintf(out, "%ssource %s\n", pre, e->source);
	if (e->set & CONF_EX_VERSION) {
		fprintf(out, "%sversion %d", pre, e->version);
		if (e->vopts & CONF_VOPT_ORIGIN_AS)
			fputs(" origin-as", out);
		if (e->vopts & CONF_VOPT_PEER_AS)
			fputs(" peer-as", out);
		if (e->vopts & CONF_VOPT_BGP_NEXTHOP)
			fputs(" bgp-nexthop", out);
		fputc('\n', out);
	}
	if (e->set & CONF_EX_TREFRESH)
		fprintf(out, "%stemplate refresh-rate %u\n", pre, e->tmpl_refresh);
	if (e->set & CONF_EX_TTIMEOUT)
		fprintf(out, "%stemplate timeout-rate %u\n", pre, e->tmpl_timeout_min);
	if (e->opt_export_stats)
		fprintf(out, "%stemplate options export-stats\n", pre);
	if (e->opt_sampler)
		fprintf(out, "%stemplate options sampler\n", pre);
	if (e->set & CONF_EX_OREFRESH)
		fprintf(out, "%stemplate options refresh-rate %u\n", pre, e->opt_refresh);
	if (e->set & CONF_EX_OTIMEOUT)
		fprintf(out, "%stemplate options timeout-rate %u\n", pre, e->opt_timeout_min);
	if (e->interface_names)
		fprintf(out, "%sinterface-names\n", pre);
	if (e->set & CONF_EX_MTU)
		fprintf(out, "%smtu %u\n", pre, e->mtu);
	if (e->set & CONF_EX_SOURCE_ID)
		fprintf(out, "%ssource-id %u\n", pre, e->source_id);
	if (e->set & CONF_EX_ENGINE_TYPE)
		fprintf(out, "%sengine-type %u\n", pre, e->engine_type);
	if (e->set & CONF_EX_ENGINE_ID)
		fprintf(out, "%sengine-id %u\n", pre, e->engine_id);
	if (e->set & CONF_EX_FLUSH)
		fprintf(out, "%sflush-timeout %u\n", pre, e->flush_ms);
	if (e->usec)
		fprintf(out, "%stimestamps microseconds\n", pre);
	for (size_t i = 0; i < e->ndest; i++) {
		const struct conf_dest *d = &e->dest[i];
		fprintf(out, "%sdestination %s %u", pre, d->host, d->port);
		if (d->proto != CONF_UDP)
			fprintf(out, " %s", proto_name[d->proto]);
		fputc('\n', out);
		if (d->proto == CONF_SCTP)
			write_sctp(out, &d->sctp, sub);
	}
	for (size_t i = 0; i < e->nfile; i++)
		fprintf(out, "%sfile %s\n", pre, e->file[i]);
}

static void write_active_min(FILE *out, const char *pre, uint32_t s)
{
	if (s % 60 == 0 && s / 60 <= 10080)
		fprintf(out, "%stimeout active %u\n", pre, s / 60);
	else
		fprintf(out, "%stimeout active %u seconds\n", pre, s);
}

void conf_write(FILE *out, const struct conf *c)
{
	fputs("!\n", out);
	for (size_t i = 0; i < c->nrecord; i++) {
		const struct conf_record *r = &c->record[i];
		fprintf(out, "flow record %s\n", r->name);
		if (r->description[0])
			fprintf(out, " description %s\n", r->description);
		for (size_t k = 0; k < r->nmatch; k++)
			fprintf(out, " match %s\n", conf_field_table[r->match[k]].words);
		for (size_t k = 0; k < r->ncollect; k++)
			fprintf(out, " collect %s\n", conf_field_table[r->collect[k]].words);
		if (r->options & CONF_REC_BUCKET_TTL)
			fputs(" ipflow bucket ttl\n", out);
		if (r->options & CONF_REC_BUCKET_LEN)
			fputs(" ipflow bucket packet-length\n", out);
		fputs("!\n", out);
	}
	for (size_t i = 0; i < c->nexporter; i++) {
		const struct conf_exporter *x = &c->exporter[i];
		static const char *const pn[] = { "netflow-v9", "netflow-v5", "ipfix" };
		static const char *const on[] = { "exporter-stats", "interface-table", "sampler-table", "application-table" };
		fprintf(out, "flow exporter %s\n", x->name);
		if (x->description[0])
			fprintf(out, " description %s\n", x->description);
		if (x->destination[0])
			fprintf(out, " destination %s\n", x->destination);
		if (x->source[0])
			fprintf(out, " source %s\n", x->source);
		if (x->transport != CONF_UDP || x->port != CONF_FNF_PORT_DEFAULT)
			fprintf(out, " transport %s %u\n", proto_name[x->transport], x->port);
		if (x->protocol != CONF_FNF_V9)
			fprintf(out, " export-protocol %s\n", pn[x->protocol]);
		if (x->template_timeout_s != CONF_FNF_TIMEOUT_DEFAULT_S)
			fprintf(out, " template data timeout %u\n", x->template_timeout_s);
		for (int o = 0; o < CONF_OPT_MAX_; o++) {
			if (!(x->options & (1u << o)))
				continue;
			fprintf(out, " option %s", on[o]);
			if (x->option_timeout_s[o] != CONF_FNF_TIMEOUT_DEFAULT_S)
				fprintf(out, " timeout %u", x->option_timeout_s[o]);
			fputc('\n', out);
		}
		if (x->dscp)
			fprintf(out, " dscp %u\n", x->dscp);
		if (x->ttl != 255)
			fprintf(out, " ttl %u\n", x->ttl);
		fputs("!\n", out);
	}
	for (size_t i = 0; i < c->nsampler; i++) {
		const struct conf_sampler *s = &c->sampler[i];
		fprintf(out, "sampler %s\n", s->name);
		if (s->description[0])
			fprintf(out, " description %s\n", s->description);
		if (s->one_out_of)
			fprintf(out, " mode %s 1 out-of %u\n", s->mode == CONF_SAMPLER_RANDOM ? "random" : "deterministic",
			        s->one_out_of);
		fputs("!\n", out);
	}
	for (size_t i = 0; i < c->nmonitor; i++) {
		const struct conf_monitor *m = &c->monitor[i];
		fprintf(out, "flow monitor %s\n", m->name);
		if (m->description[0])
			fprintf(out, " description %s\n", m->description);
		if (m->record[0])
			fprintf(out, " record %s\n", m->record);
		for (size_t k = 0; k < m->nexporter; k++)
			fprintf(out, " exporter %s\n", m->exporter[k]);
		const struct conf_cache *cc = &m->cache;
		if (cc->set & CONF_C_ACTIVE)
			fprintf(out, " cache timeout active %u\n", cc->active_s);
		if (cc->set & CONF_C_INACTIVE)
			fprintf(out, " cache timeout inactive %u\n", cc->inactive_s);
		if (cc->set & CONF_C_UPDATE)
			fprintf(out, " cache timeout update %u\n", cc->update_s);
		if (cc->set & CONF_C_ENTRIES)
			fprintf(out, " cache entries %u\n", cc->entries);
		if (cc->set & CONF_C_TYPE)
			fprintf(out, " cache type %s\n", ctype_name[cc->type]);
		fputs("!\n", out);
	}
	for (size_t i = 0; i < c->nalias; i++)
		fprintf(out, "ipflow alias %s %s\n", c->alias[i].ios, c->alias[i].linux_name);
	if (c->nalias)
		fputs("!\n", out);
	for (size_t i = 0; i < c->niface; i++) {
		static const char *const tr[] = { "ip", "ipv6", "ip" };
		const struct conf_iface *f = &c->iface[i];
		fprintf(out, "interface %s\n", f->name);
		if (f->description[0])
			fprintf(out, " description %s\n", f->description);
		if (f->pcap[0]) {
			fprintf(out, " ipflow pcap %s", f->pcap);
			if (f->ifindex)
				fprintf(out, " ifindex %u", f->ifindex);
			fputc('\n', out);
		}
		if (f->ingress)
			fputs(" ip flow ingress\n", out);
		if (f->egress)
			fputs(" ip flow egress\n", out);
		if (f->sampler[0])
			fprintf(out, " flow-sampler %s\n", f->sampler);
		for (size_t k = 0; k < f->nmon; k++) {
			const struct conf_if_monitor *m = &f->mon[k];
			fprintf(out, " %s flow monitor %s", tr[m->traffic], m->monitor);
			if (m->sampler[0])
				fprintf(out, " sampler %s", m->sampler);
			fprintf(out, " %s\n", m->traffic == CONF_TR_L2 ? "layer2-switched input" : m->dir ? "output" : "input");
		}
		fputs("!\n", out);
	}
	const struct conf_cache *mc = &c->cache;
	if (mc->set & CONF_C_ENTRIES)
		fprintf(out, "ip flow-cache entries %u\n", mc->entries);
	if (mc->set & CONF_C_ACTIVE)
		write_active_min(out, "ip flow-cache ", mc->active_s);
	if (mc->set & CONF_C_INACTIVE)
		fprintf(out, "ip flow-cache timeout inactive %u\n", mc->inactive_s);
	if (mc->set & CONF_C_TYPE)
		fprintf(out, "ip flow-cache type %s\n", ctype_name[mc->type]);
	write_export(out, &c->export, "ip flow-export ", " ");
	fputs("!\n", out);
	for (size_t i = 0; i < c->nagg; i++) {
		const struct conf_agg *a = &c->agg[i];
		fprintf(out, "ip flow-aggregation cache %s\n", conf_agg_scheme_name[a->scheme]);
		const struct conf_cache *ac = &a->cache;
		if (ac->set & CONF_C_ENTRIES)
			fprintf(out, " cache entries %u\n", ac->entries);
		if (ac->set & CONF_C_ACTIVE)
			write_active_min(out, " cache ", ac->active_s);
		if (ac->set & CONF_C_INACTIVE)
			fprintf(out, " cache timeout inactive %u\n", ac->inactive_s);
		if (a->mask_src_min)
			fprintf(out, " mask source minimum %u\n", a->mask_src_min);
		if (a->mask_dst_min)
			fprintf(out, " mask destination minimum %u\n", a->mask_dst_min);
		write_export(out, &a->export, " export ", "  ");
		if (a->enabled)
			fputs(" enabled\n", out);
		fputs("!\n", out);
	}
	const struct conf_host *h = &c->host;
	if (h->ctl_path[0]) {
		fprintf(out, "ipflow control-socket %s", h->ctl_path);
		if (h->ctl_group[0])
			fprintf(out, " group %s", h->ctl_group);
		fputc('\n', out);
	}
	if (h->pid_file[0])
		fprintf(out, "ipflow pid-file %s\n", h->pid_file);
	if (h->user[0])
		fprintf(out, "ipflow user %s\n", h->user);
	if (h->syslog)
		fputs("ipflow logging syslog\n", out);
	if (h->flowlog[0])
		fprintf(out, "ipflow flow-log %s\n", h->flowlog);
	if (h->snaplen)
		fprintf(out, "ipflow capture snaplen %u\n", h->snaplen);
	if (h->filter[0])
		fprintf(out, "ipflow capture filter %s\n", h->filter);
	if (h->speed > 0)
		fprintf(out, "ipflow replay-speed %.17g\n", h->speed);
	if (h->routes[0])
		fprintf(out, "ipflow route-table %s\n", h->routes);
	fputs("end\n", out);
}
