/* route_layer.c — routing attributes in a running ipflowd: the table of
 * `ipflow route-table FILE`, loaded at start and on reload, applied to
 * every main-cache record (see route.h). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include "conf/apply.h"
#include "lib/log.h"
#include "meter/route.h"

struct route_layer {
	/* running */
	struct route_table *t;
	struct route_load_stats st;
	char path[CONF_PATH_MAX];
	time_t loaded;          /* wall time of the load */
	bool peer;              /* peer-as: the AS fields carry the peer AS */
	struct fid { dev_t dev; ino_t ino; off_t size; struct timespec mtime; bool ok; } id; /* the file loaded */
	/* prepared by a reload, switched in by commit(true) */
	bool pending;
	bool keep;              /* the file is the one loaded: the table stays */
	struct fid nid;
	struct route_table *nt;
	struct route_load_stats nst;
	char npath[CONF_PATH_MAX];
	time_t nloaded;
	bool npeer;
	/* counters */
	unsigned loads, refused, unchanged;
	char last_refusal[300];
	uint64_t records, lookups, src_hits, dst_hits;
};

struct route_layer *route_layer_new(void)
{
	return calloc(1, sizeof(struct route_layer));
}

void route_layer_free(struct route_layer *rl)
{
	if (!rl)
		return;
	route_table_free(rl->t);
	route_table_free(rl->nt);
	free(rl);
}

/* The first DIAG_LOG diagnostics of a load are logged, the rest only
 * counted (a garbage file of a million lines must not flood the log). */
enum { DIAG_LOG = 20 };

static void on_diag(void *arg, const char *file, unsigned line, bool warning, const char *text)
{
	unsigned *n = arg;
	if (++*n > DIAG_LOG)
		return;
	if (warning)
		log_warn("%s:%u: %s", file, line, text);
	else
		log_err("%s:%u: %s", file, line, text);
	if (*n == DIAG_LOG)
		log_warn("%s: further messages about this file are counted, not logged (show ip route summary)", file);
}

/* Load c's table into *t / *st (NULL table: none configured). */
static int load(const struct conf *c, struct route_table **t, struct route_load_stats *st, char *err, size_t errlen)
{
	*t = NULL;
	memset(st, 0, sizeof(*st));
	if (!c->host.routes[0])
		return 0;
	unsigned ndiag = 0;
	struct route_load_opts o = { .diag = on_diag, .diag_arg = &ndiag };
	if (route_load_file(c->host.routes, &o, t, st, err, errlen) != 0)
		return -1;
	if (st->malformed && !st->routes) {
		snprintf(err, errlen, "route table %s: %u malformed lines and not one route", c->host.routes, st->malformed);
		route_table_free(*t);
		*t = NULL;
		return -1;
	}
	log_note("route table %s (%s): %zu IPv4 and %zu IPv6 routes, %u malformed lines", c->host.routes,
	         route_fmt_name(st->fmt), route_table_count(*t, 4), route_table_count(*t, 6), st->malformed);
	return 0;
}

/* The file's identity, taken before it is read: a file changed while
 * being read then differs at the next reload, and is read again. */
static struct fid fid_of(const char *path)
{
	struct fid f = { 0 };
	struct stat sb;
	if (path[0] && stat(path, &sb) == 0) {
		f.dev = sb.st_dev;
		f.ino = sb.st_ino;
		f.size = sb.st_size;
		f.mtime = sb.st_mtim;
		f.ok = true;
	}
	return f;
}

static bool fid_same(const struct fid *a, const struct fid *b)
{
	return a->ok && b->ok && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static bool peer_of(const struct conf *c)
{
	return (c->export.vopts & CONF_VOPT_PEER_AS) != 0;
}

static int rl_apply(void *arg, const struct conf *old, const struct conf *cur, char *err, size_t errlen)
{
	struct route_layer *rl = arg;
	struct route_table *t;
	struct route_load_stats st;
	struct fid id = fid_of(cur->host.routes);
	if (old && rl->t && strcmp(rl->path, cur->host.routes) == 0 && fid_same(&id, &rl->id)) {
		/* the same file, unchanged since it was read: keep the table
		 * (a full table takes a second to read, and metering waits) */
		route_table_free(rl->nt);
		rl->nt = NULL;
		rl->keep = true;
		rl->npeer = peer_of(cur);
		rl->pending = true;
		return 0;
	}
	if (load(cur, &t, &st, err, errlen) != 0) {
		if (old) {
			rl->refused++;
			snprintf(rl->last_refusal, sizeof(rl->last_refusal), "%s", err);
		}
		return -1;
	}
	if (!old) {
		rl->t = t;
		rl->st = st;
		snprintf(rl->path, sizeof(rl->path), "%s", cur->host.routes);
		rl->loaded = time(NULL);
		rl->peer = peer_of(cur);
		rl->id = id;
		rl->loads += t != NULL;
		return 0;
	}
	route_table_free(rl->nt);
	rl->keep = false;
	rl->nid = id;
	rl->nt = t;
	rl->nst = st;
	snprintf(rl->npath, sizeof(rl->npath), "%s", cur->host.routes);
	rl->nloaded = time(NULL);
	rl->npeer = peer_of(cur);
	rl->pending = true;
	return 0;
}

static void rl_commit(void *arg, bool ok)
{
	struct route_layer *rl = arg;
	if (!rl->pending)
		return;
	rl->pending = false;
	if (!ok) {
		route_table_free(rl->nt);
		rl->nt = NULL;
		return;
	}
	if (rl->keep) {
		rl->peer = rl->npeer;
		rl->unchanged++;
		log_info("route table %s unchanged: kept", rl->path);
		return;
	}
	rl->id = rl->nid;
	route_table_free(rl->t);
	rl->t = rl->nt;
	rl->nt = NULL;
	rl->st = rl->nst;
	memcpy(rl->path, rl->npath, sizeof(rl->path));
	rl->loaded = rl->nloaded;
	rl->peer = rl->npeer;
	rl->loads += rl->t != NULL;
}

static void rl_annotate(void *arg, struct flowrec *r)
{
	struct route_layer *rl = arg;
	if (!rl->t)
		return;
	unsigned hit = route_annotate(rl->t, rl->peer, r);
	rl->records++;
	rl->lookups += 2;
	rl->src_hits += hit & 1;
	rl->dst_hits += hit >> 1;
}

static void rl_annotate_show(void *arg, struct flowrec *r)
{
	struct route_layer *rl = arg;
	if (rl->t)
		route_annotate(rl->t, rl->peer, r);
}

void route_layer_show(struct route_layer *rl, FILE *out, bool json)
{
	char when[64] = "-";
	if (rl->t) {
		struct tm tm;
		gmtime_r(&rl->loaded, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	}
	size_t n4 = route_table_count(rl->t, 4), n6 = route_table_count(rl->t, 6);
	const struct route_load_stats *s = &rl->st;
	if (json) {
		fprintf(out, "{\"file\":\"");
		for (const char *p = rl->path; *p; p++)
			fprintf(out, *p == '"' || *p == '\\' ? "\\%c" : (unsigned char)*p < 0x20 ? "?" : "%c", *p);
		fprintf(out,
		        "\",\"loaded\":%s,\"format\":\"%s\",\"routes_ipv4\":%zu,\"routes_ipv6\":%zu,\"lines\":%u,"
		        "\"malformed\":%u,\"replaced\":%u,\"skipped\":%u,\"unknown_interfaces\":%u,\"over_limit\":%u,"
		        "\"as_fields\":\"%s\",\"loads\":%u,\"reloads_refused\":%u,\"reloads_unchanged\":%u,\"records\":%llu,\"lookups\":%llu,"
		        "\"src_matched\":%llu,\"dst_matched\":%llu,\"memory\":%zu}\n",
		        rl->t ? "true" : "false", route_fmt_name(s->fmt), n4, n6, s->lines, s->malformed, s->replaced,
		        s->skipped, s->unknown_if, s->over_limit, rl->peer ? "peer-as" : "origin-as", rl->loads, rl->refused, rl->unchanged,
		        (unsigned long long)rl->records, (unsigned long long)rl->lookups,
		        (unsigned long long)rl->src_hits, (unsigned long long)rl->dst_hits, route_table_memory(rl->t));
		return;
	}
	if (!rl->t) {
		fprintf(out, "Route table: none loaded%s%s\n", rl->path[0] ? " from " : "", rl->path);
	} else {
		fprintf(out, "Route table %s (%s format), loaded %s\n", rl->path, route_fmt_name(s->fmt), when);
		fprintf(out, "  Routes: %zu IPv4, %zu IPv6 (%u lines, %u repeated prefixes, %u not routes)\n", n4, n6,
		        s->lines, s->replaced, s->skipped);
		fprintf(out, "  Malformed lines: %u; unknown interfaces: %u; over the route limit: %u\n", s->malformed,
		        s->unknown_if, s->over_limit);
		fprintf(out, "  Memory: %zu KiB\n", (route_table_memory(rl->t) + 1023) / 1024);
		for (unsigned i = 0; i < s->ndiag; i++)
			fprintf(out, "    %s:%u: %s\n", rl->path, s->diag[i].line, s->diag[i].text);
	}
	fprintf(out, "  AS fields carry: %s AS\n", rl->peer ? "peer" : "origin");
	fprintf(out, "  Loads: %u; reloads refused: %u%s%s\n", rl->loads, rl->refused, rl->refused ? " (last: " : "",
	        rl->refused ? rl->last_refusal : "");
	if (rl->unchanged)
		fprintf(out, "  Reloads with the file unchanged (table kept): %u\n", rl->unchanged);
	if (rl->refused)
		fputs(")\n", out);
	fprintf(out, "  Records annotated: %llu; lookups: %llu; source matched: %llu; destination matched: %llu\n",
	        (unsigned long long)rl->records, (unsigned long long)rl->lookups, (unsigned long long)rl->src_hits,
	        (unsigned long long)rl->dst_hits);
}

/* `show ip route ADDRESS`: the route the routing attributes use for it */
static int show_addr(struct route_layer *rl, FILE *out, const char *s, bool json)
{
	uint8_t a[16] = { 0 };
	int af = strchr(s, ':') ? 6 : 4;
	if (inet_pton(af == 6 ? AF_INET6 : AF_INET, s, a) != 1) {
		fprintf(out, "%% Invalid input detected at '%s': expected an IPv4 or IPv6 address\n", s);
		return -1;
	}
	const struct route *r = rl->t ? route_lookup(rl->t, af, a) : NULL;
	if (!r) {
		if (json)
			fprintf(out, "{\"address\":\"%s\",\"route\":null}\n", s);
		else
			fprintf(out, "%% Network not in table%s\n", rl->t ? "" : " (no route table loaded)");
		return json ? 0 : -1;
	}
	char p[INET6_ADDRSTRLEN], nh[INET6_ADDRSTRLEN], bnh[INET6_ADDRSTRLEN];
	int fam = af == 6 ? AF_INET6 : AF_INET;
	inet_ntop(fam, r->prefix, p, sizeof(p));
	inet_ntop(fam, r->nexthop, nh, sizeof(nh));
	inet_ntop(fam, r->bgp_nexthop, bnh, sizeof(bnh));
	if (json) {
		fprintf(out,
		        "{\"address\":\"%s\",\"route\":{\"prefix\":\"%s/%u\",\"nexthop\":\"%s\",\"origin_as\":%u,"
		        "\"peer_as\":%u,\"ifindex\":%u,\"bgp_nexthop\":\"%s\"}}\n",
		        s, p, r->plen, nh, r->origin_as, r->peer_as, r->ifindex, bnh);
		return 0;
	}
	fprintf(out, "Routing entry for %s/%u (longest match for %s)\n", p, r->plen, s);
	fprintf(out, "  Next hop %s, output interface %u, BGP next hop %s\n", nh, r->ifindex, bnh);
	uint32_t as = rl->peer ? r->peer_as : r->origin_as;
	fprintf(out, "  Origin AS %u, peer AS %u; the AS fields carry the %s AS", r->origin_as, r->peer_as,
	        rl->peer ? "peer" : "origin");
	if (as > 0xffff)
		fputs(" (23456 in v5 and v7)", out);
	fputc('\n', out);
	return 0;
}

static int rl_show(void *arg, FILE *out, const char *addr, bool json)
{
	if (addr)
		return show_addr(arg, out, addr, json);
	route_layer_show(arg, out, json);
	return 0;
}

static void rl_finish(void *arg, FILE *stats)
{
	struct route_layer *rl = arg;
	if (!stats || (!rl->t && !rl->path[0]))
		return;
	fputs("\n", stats);
	route_layer_show(rl, stats, false);
}

void route_layer_hooks(struct route_layer *rl, struct rt_hooks *h)
{
	memset(h, 0, sizeof(*h));
	h->apply = rl_apply;
	h->commit = rl_commit;
	h->annotate = rl_annotate;
	h->annotate_show = rl_annotate_show;
	h->show_route = rl_show;
	h->finish = rl_finish;
	h->arg = rl;
}
