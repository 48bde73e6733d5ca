/* show_cache.c — "show ip cache flow"; layout follows the IOS command
 * reference: size distribution as fractions, the cache summary, the
 * protocol table, then SrcIf SrcIPaddress DstIf DstIPaddress Pr SrcP DstP
 * Pkts with protocol and ports in hex. */
#include "ctl/show_cache.h"

#include "export/flowlog.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

static void print_sizes(FILE *out, const struct cache_stats *st)
{
	uint64_t total = 0;
	for (unsigned i = 0; i < CACHE_SIZE_BUCKETS; i++)
		total += st->size_hist[i];
	fprintf(out, "IP packet size distribution (%llu total packets):\n", (unsigned long long)total);
	for (unsigned row = 0; row < 2; row++) {
		unsigned from = row ? 15 : 0, to = row ? CACHE_SIZE_BUCKETS : 15;
		fputs(row ? "\n  " : "  ", out);
		for (unsigned i = from; i < to; i++) {
			if (i == 0)
				fputs(" 1-32", out);
			else
				fprintf(out, " %4u", cache_size_bucket_max[i]);
		}
		fputs("\n  ", out);
		for (unsigned i = from; i < to; i++) {
			double f = total ? (double)st->size_hist[i] / (double)total : 0.0;
			char tmp[16];
			snprintf(tmp, sizeof(tmp), "%.3f", f);
			/* IOS prints .123 (no leading zero); 1.000 stays */
			fprintf(out, " %4s", tmp[0] == '0' ? tmp + 1 : tmp);
		}
		fputc('\n', out);
	}
	fputc('\n', out);
}

static void print_row(FILE *out, const char *name, const struct cache_pstats *p, double secs)
{
	double flows = (double)p->flows;
	fprintf(out, "%-16s %6llu %8.1f %9.0f %5.0f %8.1f %9.1f %9.1f\n", name,
	        (unsigned long long)p->flows, secs > 0 ? flows / secs : 0.0,
	        p->flows ? (double)p->packets / flows : 0.0,
	        p->packets ? (double)p->bytes / (double)p->packets : 0.0,
	        secs > 0 ? (double)p->packets / secs : 0.0,
	        p->flows ? (double)p->active_us / 1e6 / flows : 0.0,
	        p->flows ? (double)p->idle_us / 1e6 / flows : 0.0);
}

struct flist {
	struct flowrec *r;
	size_t n;
	size_t cap;
};

static void collect(void *arg, const struct flowrec *r)
{
	struct flist *l = arg;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct flowrec *n = realloc(l->r, cap * sizeof(*n));
		if (!n)
			return;
		l->r = n;
		l->cap = cap;
	}
	l->r[l->n++] = *r;
}

static int by_packets_desc(const void *a, const void *b)
{
	const struct flowrec *x = a, *y = b;
	return x->packets < y->packets ? 1 : x->packets > y->packets ? -1 : 0;
}

/* The open records, largest packet count first. */
static struct flist sorted_flows(const struct cache *c)
{
	struct flist l = { 0 };
	cache_foreach(c, collect, &l);
	if (l.n)
		qsort(l.r, l.n, sizeof(*l.r), by_packets_desc);
	return l;
}

static const char *ifname_or_index(show_ifname_fn fn, void *arg, uint32_t idx, char *buf, size_t len)
{
	const char *n = fn ? fn(arg, idx) : NULL;
	if (n)
		return n;
	if (idx == 0)
		return "Null";
	snprintf(buf, len, "if%u", idx);
	return buf;
}

void show_protocol_table(FILE *out, const struct cache *c)
{
	const struct cache_stats *st = cache_stats(c);
	double secs = (double)(st->now_us - st->cleared_us) / 1e6;
	fputs("Protocol         Total    Flows   Packets Bytes  Packets Active(Sec) Idle(Sec)\n", out);
	fputs("--------         Flows     /Sec     /Flow  /Pkt     /Sec     /Flow     /Flow\n", out);
	struct cache_pstats tot;
	memset(&tot, 0, sizeof(tot));
	for (unsigned i = 0; i < PC_MAX; i++) {
		const struct cache_pstats *p = &st->proto[i];
		if (!p->flows)
			continue;
		print_row(out, cache_pclass_name[i], p, secs);
		tot.flows += p->flows;
		tot.packets += p->packets;
		tot.bytes += p->bytes;
		tot.active_us += p->active_us;
		tot.idle_us += p->idle_us;
	}
	print_row(out, "Total:", &tot, secs);

}

static bool samp_shown(const struct show_sampling *s)
{
	return s && (s->rate > 1 || s->offered);
}

void show_ip_cache_flow(FILE *out, const struct cache *c, show_ifname_fn ifname, void *arg,
                        unsigned max_flows)
{
	show_ip_cache_flow_samp(out, c, ifname, arg, max_flows, NULL);
}

void show_ip_cache_flow_samp(FILE *out, const struct cache *c, show_ifname_fn ifname, void *arg,
                             unsigned max_flows, const struct show_sampling *sm)
{
	const struct cache_stats *st = cache_stats(c);
	const struct cache_cfg *cfg = cache_config(c);

	print_sizes(out, st);
	fprintf(out, "IP Flow Switching Cache, %zu bytes\n", cache_memory(c));
	fprintf(out, "  %u active, %u inactive, %llu added\n", st->in_use, cfg->entries - st->in_use,
	        (unsigned long long)st->flows_added);
	fprintf(out, "  %llu ager polls, %llu flow alloc failures\n", (unsigned long long)st->ager_polls,
	        (unsigned long long)st->flows_dropped_full);
	if (cfg->active_s % 60 == 0)
		fprintf(out, "  Active flows timeout in %u minutes\n", cfg->active_s / 60);
	else
		fprintf(out, "  Active flows timeout in %u seconds\n", cfg->active_s);
	fprintf(out, "  Inactive flows timeout in %u seconds\n", cfg->inactive_s);
	fprintf(out, "  Cache type %s, %u entries, emergency expiry above 90%% (oldest idle first)\n",
	        cfg->type == CACHE_PERMANENT ? "permanent" : cfg->type == CACHE_IMMEDIATE ? "immediate" : "normal",
	        cfg->entries);
	fprintf(out, "  Flows exported: %llu idle, %llu active, %llu end-of-flow, %llu emergency, %llu shutdown, %llu immediate\n",
	        (unsigned long long)st->records[FLOW_END_IDLE], (unsigned long long)st->records[FLOW_END_ACTIVE],
	        (unsigned long long)st->records[FLOW_END_EOF], (unsigned long long)st->records[FLOW_END_EMERGENCY],
	        (unsigned long long)st->records[FLOW_END_SHUTDOWN], (unsigned long long)st->records[FLOW_END_IMMEDIATE]);
	fprintf(out, "  %llu flows (%llu packets, %llu bytes) dropped: cache full; %llu empty entries reclaimed\n",
	        (unsigned long long)st->flows_dropped_full, (unsigned long long)st->packets_dropped_full,
	        (unsigned long long)st->bytes_dropped_full, (unsigned long long)st->empty_reclaimed);
	if (samp_shown(sm)) {
		if (sm->rate > 1)
			fprintf(out, "  Sampled NetFlow: %s 1 out of %u packets (sampler id %u)\n",
			        sm->random ? "random" : "deterministic", sm->rate, sm->id);
		else
			fputs("  Sampled NetFlow: off\n", out);
		fprintf(out, "  %llu packets offered to samplers, %llu sampled, %llu not sampled\n",
		        (unsigned long long)sm->offered, (unsigned long long)sm->sampled,
		        (unsigned long long)(sm->offered - sm->sampled));
	}
	fprintf(out, "  last clearing of statistics %s\n\n", st->cleared_us ? "at start" : "never");

	show_protocol_table(out, c);
	fputc('\n', out);

	struct flist l = sorted_flows(c);
	fputs("SrcIf         SrcIPaddress    DstIf         DstIPaddress    Pr SrcP DstP  Pkts\n", out);
	size_t n = max_flows && l.n > max_flows ? max_flows : l.n;
	for (size_t i = 0; i < n; i++) {
		const struct flowrec *r = &l.r[i];
		char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN], b1[16], b2[16];
		int af = r->key.af == 6 ? AF_INET6 : AF_INET;
		inet_ntop(af, r->key.src, s, sizeof(s));
		inet_ntop(af, r->key.dst, d, sizeof(d));
		fprintf(out, "%-13.13s %-15s %-13.13s %-15s %02X %04X %04X %5llu\n",
		        ifname_or_index(ifname, arg, r->key.ifindex, b1, sizeof(b1)), s,
		        ifname_or_index(ifname, arg, r->if_out, b2, sizeof(b2)), d, r->key.proto,
		        r->key.sport, r->key.dport, (unsigned long long)r->packets);
	}
	if (n < l.n)
		fprintf(out, "(%zu more flows in the cache)\n", l.n - n);
	free(l.r);
}

void show_ip_cache_verbose_flow(FILE *out, const struct cache *c, show_ifname_fn ifname, void *arg,
                                unsigned max_flows, show_annotate_fn annot, void *aarg)
{
	const struct cache_stats *st = cache_stats(c);
	struct flist l = sorted_flows(c);
	for (size_t i = 0; annot && i < l.n; i++)
		annot(aarg, &l.r[i]);
	fprintf(out, "IP Flow Switching Cache, %zu bytes\n  %u active, %u inactive, %llu added\n\n",
	        cache_memory(c), st->in_use, cache_config(c)->entries - st->in_use,
	        (unsigned long long)st->flows_added);
	fputs("SrcIf          SrcIPaddress    DstIf          DstIPaddress    Pr TOS Flgs  Pkts\n"
	      "Port Msk AS                    Port Msk AS    NextHop              B/Pk  Active\n", out);
	size_t n = max_flows && l.n > max_flows ? max_flows : l.n;
	for (size_t i = 0; i < n; i++) {
		const struct flowrec *r = &l.r[i];
		char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN], nh[INET6_ADDRSTRLEN], b1[16], b2[16];
		int af = r->key.af == 6 ? AF_INET6 : AF_INET;
		inet_ntop(af, r->key.src, s, sizeof(s));
		inet_ntop(af, r->key.dst, d, sizeof(d));
		inet_ntop(af, r->nexthop, nh, sizeof(nh));
		fprintf(out, "%-14.14s %-15s %-14.14s %-15s %02X %02X  %02X %6llu\n",
		        ifname_or_index(ifname, arg, r->key.ifindex, b1, sizeof(b1)), s,
		        ifname_or_index(ifname, arg, r->if_out, b2, sizeof(b2)), d, r->key.proto, r->key.tos,
		        r->tcp_flags, (unsigned long long)r->packets);
		fprintf(out, "%04X /%-2u %-5u                 %04X /%-2u %-5u %-15s %9llu %7.1f\n\n", r->key.sport,
		        r->src_mask, r->src_as, r->key.dport, r->dst_mask, r->dst_as, nh,
		        (unsigned long long)(r->packets ? r->bytes / r->packets : 0),
		        (double)(r->last_us - r->first_us) / 1e6);
	}
	if (n < l.n)
		fprintf(out, "(%zu more flows in the cache)\n", l.n - n);
	free(l.r);
}

static void json_pstats(FILE *out, const char *name, const struct cache_pstats *p)
{
	fprintf(out, "{\"protocol\":\"%s\",\"flows\":%llu,\"packets\":%llu,\"bytes\":%llu,"
	             "\"activeSeconds\":%.3f,\"idleSeconds\":%.3f}",
	        name, (unsigned long long)p->flows, (unsigned long long)p->packets,
	        (unsigned long long)p->bytes, (double)p->active_us / 1e6, (double)p->idle_us / 1e6);
}

void show_ip_cache_flow_json(FILE *out, const struct cache *c, unsigned max_flows)
{
	show_ip_cache_flow_json_samp(out, c, max_flows, NULL);
}

void show_ip_cache_flow_json_samp(FILE *out, const struct cache *c, unsigned max_flows,
                                  const struct show_sampling *sm)
{
	const struct cache_stats *st = cache_stats(c);
	const struct cache_cfg *cfg = cache_config(c);
	fputc('{', out);
	if (sm)
		fprintf(out, "\"sampling\":{\"rate\":%u,\"mode\":\"%s\",\"samplerId\":%u,\"offered\":%llu,"
		             "\"sampled\":%llu,\"notSampled\":%llu},",
		        sm->rate, sm->rate <= 1 ? "off" : sm->random ? "random" : "deterministic", sm->id,
		        (unsigned long long)sm->offered, (unsigned long long)sm->sampled,
		        (unsigned long long)(sm->offered - sm->sampled));
	fputs("\"packetSizes\":{", out);
	for (unsigned i = 0; i < CACHE_SIZE_BUCKETS; i++)
		fprintf(out, "%s\"%u\":%llu", i ? "," : "", cache_size_bucket_max[i],
		        (unsigned long long)st->size_hist[i]);
	fprintf(out, "},\"cache\":{\"bytes\":%zu,\"entries\":%u,\"active\":%u,\"highWater\":%u,"
	             "\"added\":%llu,\"agerPolls\":%llu,\"activeTimeout\":%u,\"inactiveTimeout\":%u,"
	             "\"type\":\"%s\",\"packets\":%llu,\"bytesMetered\":%llu,"
	             "\"droppedFlowsCacheFull\":%llu,\"droppedPacketsCacheFull\":%llu,"
	             "\"emptyReclaimed\":%llu,\"expired\":{",
	        cache_memory(c), cfg->entries, st->in_use, st->high_water,
	        (unsigned long long)st->flows_added, (unsigned long long)st->ager_polls, cfg->active_s,
	        cfg->inactive_s,
	        cfg->type == CACHE_PERMANENT ? "permanent" : cfg->type == CACHE_IMMEDIATE ? "immediate" : "normal",
	        (unsigned long long)st->packets, (unsigned long long)st->bytes,
	        (unsigned long long)st->flows_dropped_full, (unsigned long long)st->packets_dropped_full,
	        (unsigned long long)st->empty_reclaimed);
	for (int i = 0; i < FLOW_END_MAX; i++)
		fprintf(out, "%s\"%s\":%llu", i ? "," : "", flow_end_str((enum flow_end)i),
		        (unsigned long long)st->records[i]);
	fputs("}},\"protocols\":[", out);
	int first = 1;
	for (unsigned i = 0; i < PC_MAX; i++) {
		if (!st->proto[i].flows)
			continue;
		if (!first)
			fputc(',', out);
		first = 0;
		json_pstats(out, cache_pclass_name[i], &st->proto[i]);
	}
	fputs("],\"flows\":[", out);
	struct flist l = sorted_flows(c);
	size_t n = max_flows && l.n > max_flows ? max_flows : l.n;
	for (size_t i = 0; i < n; i++) {
		char buf[2048];
		size_t len = flowlog_format_json(&l.r[i], buf, sizeof(buf));
		fprintf(out, "%s%.*s", i ? "," : "", (int)len, buf);
	}
	fputs("]}\n", out);
	free(l.r);
}
