/* ipflowd — the metering and export daemon: a thin main that turns flags
 * into a pipeline (meter/meter.h) and runs it. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/capture.h"
#include "ctl/ctl.h"
#include "ctl/show_cache.h"
#include "export/export_set.h"
#include "export/flowlog.h"
#include "lib/log.h"
#include "meter/meter.h"

#define MAX_IFACES 32
#define MAX_DESTS EXPORT_SET_MAX

struct opts {
	const char *file;
	uint32_t file_ifindex;
	const char *iface[MAX_IFACES];
	size_t niface;
	const char *flowlog;
	const char *filter;
	int snaplen;
	double speed;
	struct cache_cfg cache;
	const char *ctl_path;
	const char *dest[MAX_DESTS];
	size_t ndest;
	struct exporter_cfg ex;
	bool ex_set[16];     /* indexed by option - O_MTU */
	uint32_t ex_val[16];
	const char *source;
	bool stats;
	bool quiet;
	int loglevel;
};

/* The option table drives getopt and the help text. */
enum {
	O_SPEED = 1000, O_ACTIVE, O_INACTIVE, O_ENTRIES, O_CTYPE, O_STATS, O_FILTER, O_SNAPLEN,
	O_IFINDEX, O_DEBUG, O_VERSION, O_MTU, O_TREFRESH, O_TTIMEOUT, O_EXPSTATS, O_SOURCE,
	O_SOURCEID, O_ENGTYPE, O_ENGID, O_FLUSH, O_USEC,
};


static const struct optdef {
	const char *name;
	int has_arg;
	int val;
	const char *arg;
	const char *help;
} optdefs[] = {
	{ "read", 1, 'r', "FILE", "meter a pcap/pcapng file (as fast as possible, on packet time)" },
	{ "speed", 1, O_SPEED, "X", "replay the file at X times its own pace, on the wall clock" },
	{ "interface", 1, 'i', "IFACE[:in|:out|:both]", "meter a live interface (repeatable; default ingress)" },
	{ "filter", 1, O_FILTER, "BPF", "capture filter for live interfaces" },
	{ "snaplen", 1, O_SNAPLEN, "N", "live capture snap length (default 256)" },
	{ "ifindex", 1, O_IFINDEX, "N", "ifIndex a file's packets are metered under (default 1)" },
	{ "flowlog", 1, 'o', "[jsonl:|csv:]PATH", "write every exported record to a flow log ('-' = stdout)" },
	{ "active", 1, O_ACTIVE, "SEC", "active timeout (default 1800)" },
	{ "inactive", 1, O_INACTIVE, "SEC", "inactive timeout (default 15)" },
	{ "entries", 1, O_ENTRIES, "N", "cache entries (default 65536, up to 67108864)" },
	{ "cache-type", 1, O_CTYPE, "normal|permanent|immediate", "cache type (default normal)" },
	{ "export", 1, 'e', "udp:HOST:PORT|file:PATH", "export destination (repeatable; each its own stream)" },
	{ "export-version", 1, 'v', "1|5|7|9|10", "export format: NetFlow v1, v5, v7, v9, or 10 = IPFIX (default 9)" },
	{ "mtu", 1, O_MTU, "N", "path MTU for export packets (default 1500)" },
	{ "template-refresh", 1, O_TREFRESH, "N", "resend templates every N packets (v9 default 20; IPFIX default off)" },
	{ "template-timeout", 1, O_TTIMEOUT, "MIN", "resend templates every MIN minutes (v9 default 30, IPFIX 10)" },
	{ "export-stats", 0, O_EXPSTATS, NULL, "v9/IPFIX: export statistics as options records" },
	{ "source", 1, O_SOURCE, "ADDR", "source address of export packets (ip flow-export source)" },
	{ "source-id", 1, O_SOURCEID, "N", "v9 source id / IPFIX observation domain (default 0)" },
	{ "engine-type", 1, O_ENGTYPE, "N", "v5/v7 engine type (default 0)" },
	{ "engine-id", 1, O_ENGID, "N", "v5/v7 engine id (default 0)" },
	{ "flush-ms", 1, O_FLUSH, "MS", "a half-full export packet leaves after MS ms (default 1000)" },
	{ "ipfix-usec", 0, O_USEC, NULL, "IPFIX: flowStart/EndMicroseconds instead of Milliseconds" },
	{ "stats", 0, O_STATS, NULL, "print 'show ip cache flow', 'show ip flow export' and the counters at exit" },
	{ "control", 1, 'S', "PATH", "control socket for the ipflow CLI (default " CTL_DEFAULT_PATH " when live or paced; 'none' to disable)" },
	{ "quiet", 0, 'q', NULL, "log errors only" },
	{ "debug", 0, O_DEBUG, NULL, "log debugging detail" },
	{ "version", 0, O_VERSION, NULL, "print the version and exit" },
	{ "help", 0, 'h', NULL, "this help" },
};
#define NOPTS (sizeof(optdefs) / sizeof(optdefs[0]))

static void usage(FILE *out)
{
	fputs("usage: ipflowd -r FILE [--speed X] | -i IFACE ... [options]\n\n", out);
	for (size_t i = 0; i < NOPTS; i++) {
		char lhs[64];
		const struct optdef *o = &optdefs[i];
		if (o->val < 256)
			snprintf(lhs, sizeof(lhs), "-%c, --%s%s%s", o->val, o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(lhs, sizeof(lhs), "    --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(out, "  %-38s %s\n", lhs, o->help);
	}
}

static bool parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

static int bad_value(const char *opt, const char *val, const char *want)
{
	log_err("--%s: '%s' is not %s", opt, val, want);
	return -1;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	struct option lo[NOPTS + 1];
	char so[2 * NOPTS + 1];
	size_t ns = 0;
	for (size_t i = 0; i < NOPTS; i++) {
		lo[i] = (struct option){ optdefs[i].name, optdefs[i].has_arg, NULL, optdefs[i].val };
		if (optdefs[i].val < 256) {
			so[ns++] = (char)optdefs[i].val;
			if (optdefs[i].has_arg)
				so[ns++] = ':';
		}
	}
	memset(&lo[NOPTS], 0, sizeof(lo[NOPTS]));
	so[ns] = 0;

	int c;
	while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		switch (c) {
		case 'r':
			o->file = optarg;
			break;
		case 'i':
			if (o->niface == MAX_IFACES) {
				log_err("at most %d interfaces", MAX_IFACES);
				return -1;
			}
			o->iface[o->niface++] = optarg;
			break;
		case 'o':
			o->flowlog = optarg;
			break;
		case O_SPEED: {
			char *end;
			o->speed = strtod(optarg, &end);
			if (*end || !(o->speed > 0) || o->speed > 1e6)
				return bad_value("speed", optarg, "a positive factor");
			break;
		}
		case O_FILTER:
			o->filter = optarg;
			break;
		case O_SNAPLEN: {
			uint32_t v;
			if (!parse_u32(optarg, 64, 262144, &v))
				return bad_value("snaplen", optarg, "a length from 64 to 262144");
			o->snaplen = (int)v;
			break;
		}
		case O_IFINDEX:
			if (!parse_u32(optarg, 0, UINT32_MAX, &o->file_ifindex))
				return bad_value("ifindex", optarg, "an interface index");
			break;
		case O_ACTIVE:
			if (!parse_u32(optarg, 1, 86400 * 7, &o->cache.active_s))
				return bad_value("active", optarg, "a number of seconds from 1 to 604800");
			break;
		case O_INACTIVE:
			if (!parse_u32(optarg, 1, 86400 * 7, &o->cache.inactive_s))
				return bad_value("inactive", optarg, "a number of seconds from 1 to 604800");
			break;
		case O_ENTRIES:
			if (!parse_u32(optarg, 1, CACHE_ENTRIES_MAX, &o->cache.entries))
				return bad_value("entries", optarg, "a number of entries from 1 to 67108864");
			break;
		case O_CTYPE:
			if (strcmp(optarg, "normal") == 0)
				o->cache.type = CACHE_NORMAL;
			else if (strcmp(optarg, "permanent") == 0)
				o->cache.type = CACHE_PERMANENT;
			else if (strcmp(optarg, "immediate") == 0)
				o->cache.type = CACHE_IMMEDIATE;
			else
				return bad_value("cache-type", optarg, "normal, permanent or immediate");
			break;
		case O_STATS:
			o->stats = true;
			break;
		case 'S':
			o->ctl_path = optarg;
			break;
		case 'e':
			if (o->ndest == MAX_DESTS) {
				log_err("at most %d export destinations", MAX_DESTS);
				return -1;
			}
			o->dest[o->ndest++] = optarg;
			break;
		case 'v': {
			uint32_t v;
			if (!parse_u32(optarg, 1, 10, &v) || !(v == 1 || v == 5 || v == 7 || v == 9 || v == 10))
				return bad_value("export-version", optarg, "1, 5, 7, 9 or 10 (IPFIX)");
			/* version defaults first; the other export flags apply on top (see finish_export) */
			o->ex.version = (int)v;
			break;
		}
		case O_MTU:
		case O_TREFRESH:
		case O_TTIMEOUT:
		case O_SOURCEID:
		case O_ENGTYPE:
		case O_ENGID:
		case O_FLUSH: {
			static const struct { int opt; const char *name; uint32_t min, max; } r[] = {
				{ O_MTU, "mtu", 576, 65535 }, { O_TREFRESH, "template-refresh", 0, 600 },
				{ O_TTIMEOUT, "template-timeout", 1, 3600 }, { O_SOURCEID, "source-id", 0, UINT32_MAX },
				{ O_ENGTYPE, "engine-type", 0, 255 }, { O_ENGID, "engine-id", 0, 255 },
				{ O_FLUSH, "flush-ms", 1, 3600000 },
			};
			for (size_t k = 0; k < sizeof(r) / sizeof(r[0]); k++) {
				if (r[k].opt != c)
					continue;
				uint32_t v;
				if (!parse_u32(optarg, r[k].min, r[k].max, &v)) {
					char want[64];
					snprintf(want, sizeof(want), "a number from %u to %u", r[k].min, r[k].max);
					return bad_value(r[k].name, optarg, want);
				}
				o->ex_val[c - O_MTU] = v;
				o->ex_set[c - O_MTU] = true;
			}
			break;
		}
		case O_EXPSTATS:
			o->ex_set[O_EXPSTATS - O_MTU] = true;
			break;
		case O_USEC:
			o->ex_set[O_USEC - O_MTU] = true;
			break;
		case O_SOURCE:
			o->source = optarg;
			break;
		case 'q':
			o->loglevel = LOG_LVL_ERR;
			break;
		case O_DEBUG:
			o->loglevel = LOG_LVL_DEBUG;
			break;
		case O_VERSION:
			printf("ipflowd 0.1.0\n");
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		log_err("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (!o->file && !o->niface) {
		log_err("nothing to meter: give -r FILE or -i IFACE");
		usage(stderr);
		return -1;
	}
	if (o->file && o->niface) {
		log_err("-r and -i cannot be combined");
		return -1;
	}
	return 0;
}

/* The exporter configuration: the version's defaults, then the flags. */
static void finish_export(struct opts *o)
{
	int v = o->ex.version ? o->ex.version : 9;
	exporter_cfg_init(&o->ex, v);
#define SET(opt) (o->ex_set[(opt) - O_MTU])
#define VAL(opt) (o->ex_val[(opt) - O_MTU])
	if (SET(O_MTU))
		o->ex.mtu = VAL(O_MTU);
	if (SET(O_TREFRESH))
		o->ex.tmpl_refresh_pkts = o->ex.opt_refresh_pkts = VAL(O_TREFRESH);
	if (SET(O_TTIMEOUT))
		o->ex.tmpl_timeout_s = o->ex.opt_timeout_s = VAL(O_TTIMEOUT) * 60;
	if (SET(O_SOURCEID))
		o->ex.domain = VAL(O_SOURCEID);
	if (SET(O_ENGTYPE))
		o->ex.engine_type = (uint8_t)VAL(O_ENGTYPE);
	if (SET(O_ENGID))
		o->ex.engine_id = (uint8_t)VAL(O_ENGID);
	if (SET(O_FLUSH))
		o->ex.flush_ms = VAL(O_FLUSH);
	if (SET(O_EXPSTATS))
		o->ex.export_stats = true;
	if (SET(O_USEC))
		o->ex.flags |= EXPORTER_F_TIME_US;
#undef SET
#undef VAL
	o->ex.exporting_pid = (uint32_t)getpid();
}

/* A capture filter that leaves out our own export packets, ANDed with
 * the user's filter: per UDP destination "not (udp and dst host H and dst
 * port P)"; per TCP destination both directions of the connection, "not
 * (tcp and host H and port P)" (its ACKs come back). */
static void build_filter(const struct opts *o, char *buf, size_t len)
{
	static const struct {
		const char *prefix;
		const char *fmt; /* %s: host, port */
	} own[] = {
		{ "udp:", "not (udp and dst host %s and dst port %s)" },
		{ "tcp:", "not (tcp and host %s and port %s)" },
	};
	size_t n = 0;
	buf[0] = 0;
	if (o->filter)
		n += (size_t)snprintf(buf + n, len - n, "(%s)", o->filter);
	for (size_t i = 0; i < o->ndest && n < len; i++) {
		const char *sp = o->dest[i];
		size_t k = 0;
		while (k < sizeof(own) / sizeof(own[0]) && strncmp(sp, own[k].prefix, strlen(own[k].prefix)) != 0)
			k++;
		if (k == sizeof(own) / sizeof(own[0]))
			continue;
		char host[128];
		const char *h = sp + strlen(own[k].prefix), *port = strrchr(h, ':');
		if (!port || (size_t)(port - h) >= sizeof(host))
			continue;
		memcpy(host, h, (size_t)(port - h));
		host[port - h] = 0;
		char *hb = host;
		if (hb[0] == '[') { /* [v6] */
			hb++;
			char *rb = strchr(hb, ']');
			if (rb)
				*rb = 0;
		}
		if (n && n < len)
			n += (size_t)snprintf(buf + n, len - n, " and ");
		if (n < len)
			n += (size_t)snprintf(buf + n, len - n, own[k].fmt, hb, port + 1);
	}
}

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* --- control commands ---------------------------------------------------- */

static int cmd_show_cache(void *arg, FILE *out, int argc, char **argv, bool json)
{
	struct meter *m = arg;
	if (json)
		show_ip_cache_flow_json(out, meter_cache(m), 0);
	else
		show_ip_cache_flow(out, meter_cache(m), meter_ifname, m, 0);
	return 0;
}

static int cmd_show_cache_verbose(void *arg, FILE *out, int argc, char **argv, bool json)
{
	struct meter *m = arg;
	if (json)
		show_ip_cache_flow_json(out, meter_cache(m), 0);
	else
		show_ip_cache_verbose_flow(out, meter_cache(m), meter_ifname, m, 0);
	return 0;
}

static int cmd_show_interface(void *arg, FILE *out, int argc, char **argv, bool json)
{
	struct meter *m = arg;
	if (json)
		fputs("{\"interfaces\":[", out);
	for (size_t i = 0; i < meter_ncaptures(m); i++) {
		struct capture *c = meter_capture(m, i);
		struct capture_stats cs;
		capture_stats(c, &cs);
		const char *dir = capture_dir(c) == CAP_IN ? "ingress" : "egress";
		if (json)
			fprintf(out, "%s{\"name\":\"%s\",\"ifIndex\":%u,\"direction\":\"%s\",\"received\":%llu,"
			             "\"droppedKernel\":%llu,\"droppedInterface\":%llu}",
			        i ? "," : "", capture_name(c), capture_ifindex(c), dir,
			        (unsigned long long)cs.received, (unsigned long long)cs.dropped,
			        (unsigned long long)cs.if_dropped);
		else
			fprintf(out, "%s\n ip flow %s\n  ifIndex %u, %llu packets received, %llu dropped by kernel, %llu by interface\n",
			        capture_name(c), dir, capture_ifindex(c), (unsigned long long)cs.received,
			        (unsigned long long)cs.dropped, (unsigned long long)cs.if_dropped);
	}
	if (json)
		fputs("]}\n", out);
	return 0;
}

static int cmd_clear_stats(void *arg, FILE *out, int argc, char **argv, bool json)
{
	struct meter *m = arg;
	cache_stats_clear(meter_cache(m));
	return 0;
}

static void log_sink(void *arg, const struct flowrec *r)
{
	flowlog_write(arg, r);
}

struct export_ctx {
	struct meter *m;
	struct export_set *set;
};

/* sysUptime 0 is the cache clock's first reading (a file's first packet):
 * the first tick or record comes only after a batch of packets, and a
 * later base would clamp the earlier packets' flowStartSysUpTime. */
static void export_begin(struct export_ctx *x)
{
	export_set_start(x->set, cache_stats(meter_cache(x->m))->cleared_us);
}

static void export_sink(void *arg, const struct flowrec *r)
{
	struct export_ctx *x = arg;
	uint64_t now = cache_stats(meter_cache(x->m))->now_us;
	export_begin(x);
	export_set_record(x->set, r, now);
}

static void export_tick(void *arg, uint64_t now)
{
	struct export_ctx *x = arg;
	export_begin(x);
	export_set_tick(x->set, now);
}

static struct export_ctx g_export;

static int cmd_show_export(void *arg, FILE *out, int argc, char **argv, bool json)
{
	export_set_show(g_export.set, out, json);
	return 0;
}

static int cmd_show_export_template(void *arg, FILE *out, int argc, char **argv, bool json)
{
	export_set_show_template(g_export.set, out, json);
	return 0;
}

static int cmd_clear_export(void *arg, FILE *out, int argc, char **argv, bool json)
{
	export_set_clear(g_export.set);
	return 0;
}

static const struct ctl_cmd ctl_cmds[] = {
	{ "show ip cache flow", 0, "flow cache statistics and active flows", cmd_show_cache },
	{ "show ip cache verbose flow", 0, "flow cache with every field of each flow", cmd_show_cache_verbose },
	{ "show ip flow interface", 0, "interfaces metered and their capture counters", cmd_show_interface },
	{ "clear ip flow stats", 0, "clear the flow cache statistics", cmd_clear_stats },
	{ "show ip flow export", 0, "export destinations and their counters", cmd_show_export },
	{ "show ip flow export template", 0, "template and options export settings and counters", cmd_show_export_template },
	{ "clear ip flow export", 0, "clear the export counters", cmd_clear_export },
};

static void on_ctl(void *arg)
{
	ctl_serve(arg);
}

/* Open the control socket: always with -S PATH, by default when running
 * live or paced (a plain file replay ends before anyone could ask). */
static struct ctl *open_control(const struct opts *o, struct meter *m)
{
	const char *path = o->ctl_path;
	char err[256];
	if (path && strcmp(path, "none") == 0)
		return NULL;
	if (!path) {
		if (o->file && o->speed <= 0)
			return NULL;
		path = CTL_DEFAULT_PATH;
		mkdir("/run/ipflow", 0750);
	}
	struct ctl *c = ctl_open(path, -1, err, sizeof(err));
	if (!c) {
		log_warn("%s; the ipflow CLI will not reach this process", err);
		return NULL;
	}
	ctl_set_commands(c, ctl_cmds, sizeof(ctl_cmds) / sizeof(ctl_cmds[0]), m);
	meter_add_fd(m, ctl_fd(c), on_ctl, c);
	log_info("control socket %s", path);
	return c;
}

/* Open live sources: IFACE, IFACE:in, IFACE:out, IFACE:both. */
static int open_live(struct meter *m, const struct opts *o, char *err, size_t errlen)
{
	for (size_t i = 0; i < o->niface; i++) {
		char name[256];
		snprintf(name, sizeof(name), "%s", o->iface[i]);
		bool in = true, out = false;
		char *colon = strrchr(name, ':');
		if (colon) {
			*colon = 0;
			const char *d = colon + 1;
			if (strcmp(d, "in") == 0 || strcmp(d, "ingress") == 0)
				in = true, out = false;
			else if (strcmp(d, "out") == 0 || strcmp(d, "egress") == 0)
				in = false, out = true;
			else if (strcmp(d, "both") == 0)
				in = out = true;
			else {
				snprintf(err, errlen, "-i %s: direction must be in, out or both", o->iface[i]);
				return -1;
			}
		}
		for (int d = 0; d < 2; d++) {
			if (!(d == 0 ? in : out))
				continue;
			char filter[2048];
			build_filter(o, filter, sizeof(filter));
			struct capture *c = capture_open_live(name, d ? CAP_OUT : CAP_IN, filter,
			                                      o->snaplen ? o->snaplen : 256, 32, err, errlen);
			if (!c)
				return -1;
			meter_add_capture(m, c);
			log_info("capturing on %s (ifIndex %u, %s)", name, capture_ifindex(c), d ? "egress" : "ingress");
		}
	}
	return 0;
}

static void print_counters(FILE *out, struct meter *m)
{
	const struct pkt_stats *ps = meter_pkt_stats(m);
	uint64_t not_metered = 0;
	for (int r = 1; r < PKT_REASON_MAX; r++)
		not_metered += ps->reason[r];
	fprintf(out, "\nFrames read %llu, metered %llu, not metered %llu\n", (unsigned long long)ps->frames,
	        (unsigned long long)(ps->frames - not_metered), (unsigned long long)not_metered);
	for (int r = 1; r < PKT_REASON_MAX; r++)
		if (ps->reason[r])
			fprintf(out, "  %-40s %llu\n", pkt_reason_str((enum pkt_reason)r), (unsigned long long)ps->reason[r]);
	for (size_t i = 0; i < meter_ncaptures(m); i++) {
		struct capture_stats cs;
		struct capture *c = meter_capture(m, i);
		capture_stats(c, &cs);
		if (capture_fd(c) >= 0)
			fprintf(out, "Interface %s (%s): %llu received, %llu dropped by kernel, %llu dropped by interface\n",
			        capture_name(c), capture_dir(c) == CAP_IN ? "ingress" : "egress",
			        (unsigned long long)cs.received, (unsigned long long)cs.dropped,
			        (unsigned long long)cs.if_dropped);
	}
}

int main(int argc, char **argv)
{
	struct opts o = {
		.file_ifindex = 1,
		.cache = { .entries = CACHE_ENTRIES_DEFAULT, .active_s = CACHE_ACTIVE_DEFAULT_S,
		           .inactive_s = CACHE_INACTIVE_DEFAULT_S, .type = CACHE_NORMAL },
		.loglevel = LOG_LVL_NOTE,
	};
	char err[512] = "";
	int rc = 1;
	struct meter *m = NULL;
	struct flowlog *fl = NULL;
	struct ctl *ctl = NULL;

	log_init("ipflowd", false, LOG_LVL_NOTE);
	if (parse_opts(argc, argv, &o) != 0)
		return 2;
	finish_export(&o);
	log_level_cur = o.loglevel;

	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	m = meter_new(&o.cache, err, sizeof(err));
	if (!m)
		goto out;
	if (o.flowlog) {
		fl = flowlog_open(o.flowlog, err, sizeof(err));
		if (!fl)
			goto out;
		meter_add_sink(m, log_sink, fl);
	}
	g_export.m = m;
	g_export.set = export_set_new(&o.ex, "main cache");
	if (!g_export.set) {
		snprintf(err, sizeof(err), "out of memory");
		goto out;
	}
	for (size_t i = 0; i < o.ndest; i++) {
		struct transport_opts to = { .source = o.source };
		if (export_set_add(g_export.set, o.dest[i], &to, err, sizeof(err)) != 0)
			goto out;
	}
	if (o.ndest) {
		meter_add_sink(m, export_sink, &g_export);
		meter_add_tick(m, export_tick, &g_export);
	}
	if (o.file) {
		struct capture *c = capture_open_file(o.file, o.file_ifindex, err, sizeof(err));
		if (!c)
			goto out;
		meter_add_capture(m, c);
		meter_set_speed(m, o.speed);
	} else if (open_live(m, &o, err, sizeof(err)) != 0) {
		goto out;
	}

	ctl = open_control(&o, m);
	if (meter_run(m, &stop_flag, true, err, sizeof(err)) != 0)
		goto out;
	if (o.stats)
		show_ip_cache_flow(stdout, meter_cache(m), meter_ifname, m, 20);
	uint64_t open_flows = cache_stats(meter_cache(m))->in_use;
	meter_flush(m);
	export_set_flush(g_export.set, cache_stats(meter_cache(m))->now_us);
	if (o.stats) {
		fputs("\nAfter exporting the flows left in the cache:\n", stdout);
		show_protocol_table(stdout, meter_cache(m));
		print_counters(stdout, m);
		if (o.ndest) {
			fputc('\n', stdout);
			export_set_show(g_export.set, stdout, false);
		}
		const struct cache_stats *st = cache_stats(meter_cache(m));
		uint64_t recs = 0;
		for (int i = 0; i < FLOW_END_MAX; i++)
			recs += st->records[i];
		printf("Records exported %llu (%llu flushed from the cache at exit), packets %llu, bytes %llu\n",
		       (unsigned long long)recs, (unsigned long long)open_flows,
		       (unsigned long long)st->packets, (unsigned long long)st->bytes);
	}
	rc = 0;
out:
	if (rc && err[0])
		log_err("%s", err);
	if (fl && flowlog_close(fl, err, sizeof(err)) != 0) {
		log_err("%s", err);
		rc = 1;
	}
	ctl_close(ctl);
	export_set_free(g_export.set);
	meter_free(m);
	return rc;
}
