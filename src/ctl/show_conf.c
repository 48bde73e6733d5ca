/* show_conf.c — see show_conf.h. */
#include "ctl/show_conf.h"

#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"

int show_conf_scheme(const char *word)
{
	int found = -1;
	size_t l = strlen(word);
	for (int k = 0; k < CONF_AGG_SCHEME_MAX; k++) {
		if (strcmp(conf_agg_scheme_name[k], word) == 0)
			return k;
		if (l && strncmp(conf_agg_scheme_name[k], word, l) == 0) {
			if (found >= 0)
				return -1;
			found = k;
		}
	}
	return found;
}

void show_json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", out);
		else if (ch < 0x20)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

void show_conf_running(FILE *out, const struct conf *c, bool json)
{
	if (!json) {
		fputs("Building configuration...\n\n", out);
		conf_write(out, c);
		return;
	}
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	if (!m)
		return;
	conf_write(m, c);
	fclose(m);
	fputs("{\"runningConfig\":", out);
	show_json_str(out, text);
	fputs("}\n", out);
	free(text);
}

static const char *const tr_word[] = { "ip", "ipv6", "ip" };

void show_conf_interfaces(FILE *out, const struct conf *c, struct meter *m, bool json)
{
	if (json)
		fputs("{\"interfaces\":[", out);
	for (size_t i = 0; i < c->niface; i++) {
		const struct conf_iface *f = &c->iface[i];
		const char *dev = f->pcap[0] ? f->pcap : conf_linux_name(c, f->name);
		if (json) {
			fprintf(out, "%s{\"name\":", i ? "," : "");
			show_json_str(out, f->name);
			fputs(",\"device\":", out);
			show_json_str(out, dev);
			fprintf(out, ",\"ingress\":%s,\"egress\":%s,\"monitors\":[", f->ingress ? "true" : "false",
			        f->egress ? "true" : "false");
			for (size_t k = 0; k < f->nmon; k++) {
				fprintf(out, "%s{\"monitor\":", k ? "," : "");
				show_json_str(out, f->mon[k].monitor);
				fprintf(out, ",\"traffic\":\"%s\",\"direction\":\"%s\",\"sampler\":",
				        f->mon[k].traffic == CONF_TR_IPV4 ? "ipv4" : f->mon[k].traffic == CONF_TR_IPV6 ? "ipv6" : "layer2",
				        f->mon[k].dir ? "output" : "input");
				show_json_str(out, f->mon[k].sampler);
				fputc('}', out);
			}
			fputs("],\"captures\":[", out);
		} else {
			fprintf(out, "%s\n", f->name);
			if (f->ingress)
				fputs("  ip flow ingress\n", out);
			if (f->egress)
				fputs("  ip flow egress\n", out);
			for (size_t k = 0; k < f->nmon; k++) {
				const struct conf_if_monitor *mo = &f->mon[k];
				fprintf(out, "  %s flow monitor %s%s%s %s\n", tr_word[mo->traffic], mo->monitor,
				        mo->sampler[0] ? " sampler " : "", mo->sampler,
				        mo->traffic == CONF_TR_L2 ? "layer2-switched input" : mo->dir ? "output" : "input");
			}
		}
		int nc = 0;
		for (size_t j = 0; m && j < meter_ncaptures(m); j++) {
			struct capture *cap = meter_capture(m, j);
			if (strcmp(capture_name(cap), dev) != 0)
				continue;
			struct capture_stats cs;
			capture_stats(cap, &cs);
			const char *dir = capture_dir(cap) == CAP_IN ? "ingress" : "egress";
			if (json)
				fprintf(out, "%s{\"direction\":\"%s\",\"ifIndex\":%u,\"received\":%llu,\"droppedKernel\":%llu,"
				             "\"droppedInterface\":%llu}",
				        nc ? "," : "", dir, capture_ifindex(cap), (unsigned long long)cs.received,
				        (unsigned long long)cs.dropped, (unsigned long long)cs.if_dropped);
			else
				fprintf(out, "  capture %s (%s), ifIndex %u: %llu packets received, %llu dropped by kernel, %llu by interface\n",
				        dev, dir, capture_ifindex(cap), (unsigned long long)cs.received,
				        (unsigned long long)cs.dropped, (unsigned long long)cs.if_dropped);
			nc++;
		}
		if (json)
			fputs("]}", out);
		else if (!nc && (f->ingress || f->egress))
			fputs("  not captured\n", out);
	}
	if (json)
		fputs("]}\n", out);
}

void show_conf_agg(FILE *out, const char *scheme, const struct conf_agg *a, bool json)
{
	if (json) {
		fprintf(out, "{\"scheme\":\"%s\",\"configured\":%s", scheme, a ? "true" : "false");
		if (a)
			fprintf(out, ",\"enabled\":%s,\"entries\":%u,\"activeTimeout\":%u,\"inactiveTimeout\":%u,\"exportVersion\":%d,"
			             "\"destinations\":%zu,\"cacheAllocated\":false",
			        a->enabled ? "true" : "false", conf_cache_entries(&a->cache, CONF_AGG_ENTRIES_DEFAULT),
			        conf_cache_active(&a->cache), conf_cache_inactive(&a->cache), conf_export_version(&a->export, true),
			        a->export.ndest);
		fputs("}\n", out);
		return;
	}
	if (!a) {
		fprintf(out, "%% Aggregation cache %s is not configured\n", scheme);
		return;
	}
	fprintf(out, "IP Flow Aggregation Cache %s is %s\n", scheme, a->enabled ? "enabled" : "disabled");
	fprintf(out, "  %u entries, timeouts: active %u s, inactive %u s; export version %d to %zu destination%s\n",
	        conf_cache_entries(&a->cache, CONF_AGG_ENTRIES_DEFAULT), conf_cache_active(&a->cache),
	        conf_cache_inactive(&a->cache), conf_export_version(&a->export, true), a->export.ndest,
	        a->export.ndest == 1 ? "" : "s");
	fputs("  Cache not allocated: aggregation caches are configured, but not metered by this build\n", out);
}

static const char *const ctype_word[] = { "normal", "permanent", "immediate" };

void show_conf_monitor(FILE *out, const struct conf *c, const struct conf_monitor *m, bool cache, bool json)
{
	const struct conf_cache *cc = &m->cache;
	uint32_t entries = conf_cache_entries(cc, CONF_MON_ENTRIES_DEFAULT);
	uint32_t update = (cc->set & CONF_C_UPDATE) ? cc->update_s : CONF_ACTIVE_DEFAULT_S;
	if (json) {
		fputs("{\"name\":", out);
		show_json_str(out, m->name);
		fputs(",\"description\":", out);
		show_json_str(out, m->description);
		fputs(",\"record\":", out);
		show_json_str(out, m->record);
		fputs(",\"exporters\":[", out);
		for (size_t i = 0; i < m->nexporter; i++) {
			fputs(i ? "," : "", out);
			show_json_str(out, m->exporter[i]);
		}
		fprintf(out, "],\"cache\":{\"type\":\"%s\",\"allocated\":false,\"entries\":%u,\"inactiveTimeout\":%u,"
		             "\"activeTimeout\":%u,\"updateTimeout\":%u}}\n",
		        ctype_word[cc->type], entries, conf_cache_inactive(cc), conf_cache_active(cc), update);
		return;
	}
	if (cache) {
		fprintf(out, "  Cache type:                        %s\n", ctype_word[cc->type]);
		fprintf(out, "  Cache size:                        %u\n", entries);
		fputs("  Current entries:                   0\n", out);
		fprintf(out, "%% Flow Monitor %s: cache not allocated (Flexible NetFlow monitors are configured, "
		             "not yet metered by this build)\n", m->name);
		return;
	}
	fprintf(out, "Flow Monitor %s:\n", m->name);
	fprintf(out, "  Description:       %s\n", m->description[0] ? m->description : "User defined");
	fprintf(out, "  Flow Record:       %s\n", m->record[0] ? m->record : "not configured");
	if (!m->nexporter)
		fputs("  Flow Exporter:     not configured\n", out);
	for (size_t i = 0; i < m->nexporter; i++)
		fprintf(out, "  Flow Exporter:     %s\n", m->exporter[i]);
	fputs("  Cache:\n", out);
	fprintf(out, "    Type:              %s\n", ctype_word[cc->type]);
	fputs("    Status:            not allocated\n", out);
	fprintf(out, "    Size:              %u entries\n", entries);
	fprintf(out, "    Inactive Timeout:  %u secs\n", conf_cache_inactive(cc));
	fprintf(out, "    Active Timeout:    %u secs\n", conf_cache_active(cc));
	fprintf(out, "    Update Timeout:    %u secs\n", update);
	(void)c;
}

void show_conf_exporter(FILE *out, const struct conf_exporter *x, bool json)
{
	static const char *const proto[] = { "NetFlow Version 9", "NetFlow Version 5", "IPFIX (Version 10)" };
	static const char *const tp[] = { "UDP", "SCTP", "TCP" };
	if (json) {
		fputs("{\"name\":", out);
		show_json_str(out, x->name);
		fputs(",\"description\":", out);
		show_json_str(out, x->description);
		fprintf(out, ",\"exportProtocol\":\"%s\",\"destination\":", proto[x->protocol]);
		show_json_str(out, x->destination);
		fputs(",\"sourceInterface\":", out);
		show_json_str(out, x->source);
		fprintf(out, ",\"transport\":\"%s\",\"port\":%u,\"dscp\":%u,\"ttl\":%u,\"templateTimeout\":%u}\n", tp[x->transport],
		        x->port, x->dscp, x->ttl, x->template_timeout_s);
		return;
	}
	fprintf(out, "Flow Exporter %s:\n", x->name);
	fprintf(out, "  Description:              %s\n", x->description[0] ? x->description : "User defined");
	fprintf(out, "  Export protocol:          %s\n", proto[x->protocol]);
	fputs("  Transport Configuration:\n", out);
	fprintf(out, "    Destination IP address: %s\n", x->destination[0] ? x->destination : "not configured");
	if (x->source[0])
		fprintf(out, "    Source Interface:       %s\n", x->source);
	fprintf(out, "    Transport Protocol:     %s\n", tp[x->transport]);
	fprintf(out, "    Destination Port:       %u\n", x->port);
	fprintf(out, "    DSCP:                   0x%x\n", x->dscp);
	fprintf(out, "    TTL:                    %u\n", x->ttl);
	fprintf(out, "  Template data timeout:    %u secs\n", x->template_timeout_s);
	fputs("  Status:                   not in use (Flexible NetFlow export is configured, not yet run by this build)\n", out);
}
