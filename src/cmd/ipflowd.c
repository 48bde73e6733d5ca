/* ipflowd — the metering and export daemon: a thin main. The
 * configuration file (-f, ipflow.conf(5)) and the flags are both read as
 * configuration lines into one model (conf/conf.h): the file first, then
 * the lines the flags make, so a flag given on the command line wins over
 * the file (and keeps winning on reload). conf/apply.h makes the model a
 * running pipeline and applies reloads (SIGHUP, `ipflow reload`). */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf/apply.h"
#include "conf/conf.h"
#include "ctl/ctl.h"
#include "export/export_set.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "meter/agg.h"
#include "meter/fnf_mon.h"
#include "meter/route.h"
#include "meter/psamp.h"
#include "transport/dest.h"
#include "transport/sctp.h"

#define MAX_IFACES 32
#define MAX_DESTS EXPORT_SET_MAX
#define MAX_ALIASES 16

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
	struct sctp_dest_opts dopt[MAX_DESTS]; /* each -e's --sctp-* settings (flags after it) */
	unsigned dmask[MAX_DESTS];             /* DEST_X_* given */
	size_t ndest;
	struct exporter_cfg ex;
	bool ex_set[16];     /* indexed by option - O_MTU */
	uint32_t ex_val[16];
	const char *source;
	bool stats;
	bool quiet;
	int loglevel;
	/* which of the values above were given (the rest come from the file) */
	bool has_ifindex, has_snaplen, has_active, has_inactive, has_entries, has_ctype, has_speed;
	const char *conf_file;      /* -f */
	bool test_only;             /* -t */
	bool daemon;
	const char *pid_file, *user, *group;
	bool syslog;
	const char *alias[MAX_ALIASES];
	size_t nalias;
	const char *routes;         /* --routes FILE */
	struct {                    /* --aggregation SCHEME [--agg-export SPEC]... [--agg-version 8|9] */
		const char *scheme;
		const char *dest[CONF_DEST_MAX];
		size_t ndest;
		int version;
	} agg[CONF_AGG_MAX];
	size_t nagg;
	uint32_t sample;            /* --sample N (0: not given) */
	bool sample_det;            /* --sampler deterministic */
	bool has_sampler;           /* --sampler given */
};

/* The option table drives getopt and the help text. */
enum {
	O_SPEED = 1000, O_ACTIVE, O_INACTIVE, O_ENTRIES, O_CTYPE, O_STATS, O_FILTER, O_SNAPLEN,
	O_IFINDEX, O_DEBUG, O_VERSION, O_MTU, O_TREFRESH, O_TTIMEOUT, O_EXPSTATS, O_SOURCE,
	O_SOURCEID, O_ENGTYPE, O_ENGID, O_FLUSH, O_USEC,
	O_DAEMON, O_PIDFILE, O_USER, O_GROUP, O_SYSLOG, O_ALIAS,
	O_SCTP_REL, O_SCTP_BACKUP, O_SCTP_MODE, O_SCTP_FAILOVER, O_SCTP_RESTORE, O_SCTP_HB, O_SCTP_STREAMS,
	O_SCTP_UDPPORT, O_SCTP_BUDPPORT, O_ROUTES,
	O_AGG, O_AGG_EXPORT, O_AGG_VERSION,
	O_SAMPLE, O_SAMPLER,
};


static const struct optdef {
	const char *name;
	int has_arg;
	int val;
	const char *arg;
	const char *help;
} optdefs[] = {
	{ "config", 1, 'f', "FILE", "read the IOS-style configuration FILE (ipflow.conf(5)); flags given too win" },
	{ "test", 0, 't', NULL, "check the configuration (file and flags) and exit: 0 if valid" },
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
	{ "export", 1, 'e', "udp|tcp|sctp:HOST:PORT|file:PATH", "export destination (repeatable; each its own stream)" },
	{ "sctp-reliability", 1, O_SCTP_REL, "full|partial:N|none", "reliability of the last -e sctp: destination (default full)" },
	{ "sctp-backup", 1, O_SCTP_BACKUP, "HOST:PORT", "backup collector of the last -e destination (same transport)" },
	{ "sctp-backup-mode", 1, O_SCTP_MODE, "fail-over|redundant", "backup opened at fail-over (default) or kept open" },
	{ "sctp-fail-over", 1, O_SCTP_FAILOVER, "MS", "primary unavailable this long before fail-over (0-3600, default 25)" },
	{ "sctp-restore-time", 1, O_SCTP_RESTORE, "SEC", "primary available this long before data returns (0-3600, default 25)" },
	{ "sctp-heartbeat", 1, O_SCTP_HB, "MS", "SCTP heartbeat interval of the last -e (10-60000, default 500)" },
	{ "sctp-streams", 1, O_SCTP_STREAMS, "N", "SCTP data streams of the last -e, after stream 0 (1-16, default 1)" },
	{ "sctp-udp-port", 1, O_SCTP_UDPPORT, "N", "collector's UDP encapsulation port if not its SCTP port (last -e)" },
	{ "sctp-backup-udp-port", 1, O_SCTP_BUDPPORT, "N", "the same for the backup collector of the last -e" },
	{ "sample", 1, O_SAMPLE, "N", "main-cache sampling: meter 1 out of N packets of each -r/-i input (2-32768)" },
	{ "sampler", 1, O_SAMPLER, "random|deterministic", "how --sample picks its packet (default random)" },
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
	{ "routes", 1, O_ROUTES, "FILE", "route table for AS numbers, masks and next hops (ipflow route-table; ipflow.conf(5))" },
	{ "aggregation", 1, O_AGG, "SCHEME", "enable the aggregation cache SCHEME (as, prefix, protocol-port, ...; repeatable)" },
	{ "agg-export", 1, O_AGG_EXPORT, "udp|tcp|sctp:HOST:PORT", "export destination of the last --aggregation (repeatable)" },
	{ "agg-version", 1, O_AGG_VERSION, "8|9", "export version of the last --aggregation (default 8)" },
	{ "stats", 0, O_STATS, NULL, "print 'show ip cache flow', 'show ip flow export' and the counters at exit" },
	{ "control", 1, 'S', "PATH", "control socket for the ipflow CLI (default " CTL_DEFAULT_PATH " when live or paced; 'none' to disable)" },
	{ "daemon", 0, O_DAEMON, NULL, "run in the background (logs to syslog); the parent exits when ready" },
	{ "pid-file", 1, O_PIDFILE, "PATH", "write the process id to PATH (removed at exit)" },
	{ "user", 1, O_USER, "USER", "drop privileges to USER after opening the captures" },
	{ "group", 1, O_GROUP, "GROUP", "group owning the control socket (mode 0660)" },
	{ "syslog", 0, O_SYSLOG, NULL, "log to syslog instead of stderr" },
	{ "alias", 1, O_ALIAS, "IOSNAME=DEV", "the Linux interface an IOS interface name in the file means (repeatable)" },
	{ "quiet", 0, 'q', NULL, "log errors only" },
	{ "debug", 0, O_DEBUG, NULL, "log debugging detail" },
	{ "version", 0, O_VERSION, NULL, "print the version and exit" },
	{ "help", 0, 'h', NULL, "this help" },
};
#define NOPTS (sizeof(optdefs) / sizeof(optdefs[0]))

static void usage(FILE *out)
{
	fputs("usage: ipflowd [-f FILE] [-t] -r FILE [--speed X] | -i IFACE ... [options]\n\n", out);
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

/* --sctp-* flags: they set the last -e destination, as IOS sub-mode
 * commands set the last "ip flow-export destination". */
static int sctp_flag(struct opts *o, int c, const char *arg)
{
	static const struct { int opt; const char *name; unsigned min, max, mask; size_t off; } nums[] = {
		{ O_SCTP_FAILOVER, "sctp-fail-over", 0, DEST_FAILOVER_MS_MAX, DEST_X_FAILOVER,
		  offsetof(struct sctp_dest_opts, failover_ms) },
		{ O_SCTP_RESTORE, "sctp-restore-time", 0, DEST_RESTORE_S_MAX, DEST_X_RESTORE,
		  offsetof(struct sctp_dest_opts, restore_s) },
		{ O_SCTP_HB, "sctp-heartbeat", 10, 60000, DEST_X_HB, offsetof(struct sctp_dest_opts, sctp.hb_ms) },
		{ O_SCTP_STREAMS, "sctp-streams", 1, SCTPT_STREAMS_MAX, DEST_X_STREAMS,
		  offsetof(struct sctp_dest_opts, sctp.data_streams) },
		{ O_SCTP_UDPPORT, "sctp-udp-port", 1, 65535, DEST_X_UDP_PORT, offsetof(struct sctp_dest_opts, sctp.encaps_port) },
		{ O_SCTP_BUDPPORT, "sctp-backup-udp-port", 1, 65535, DEST_X_BACKUP_UDP_PORT,
		  offsetof(struct sctp_dest_opts, backup_udp_port) },
	};
	char err[256];
	if (!o->ndest) {
		log_err("--sctp-* options follow the -e destination they set");
		return -1;
	}
	struct sctp_dest_opts *d = &o->dopt[o->ndest - 1];
	unsigned *mask = &o->dmask[o->ndest - 1];
	switch (c) {
	case O_SCTP_REL:
		if (sctpt_parse_reliability(arg, &d->sctp, err, sizeof(err)) != 0) {
			log_err("--sctp-reliability: %s", err);
			return -1;
		}
		*mask |= DEST_X_REL;
		return 0;
	case O_SCTP_BACKUP:
		if (strlen(arg) >= sizeof(d->backup))
			return bad_value("sctp-backup", arg, "HOST:PORT");
		snprintf(d->backup, sizeof(d->backup), "%s", arg);
		*mask |= DEST_X_BACKUP;
		return 0;
	case O_SCTP_MODE:
		if (dest_parse_mode(arg, &d->mode, err, sizeof(err)) != 0)
			return bad_value("sctp-backup-mode", arg, "fail-over or redundant");
		*mask |= DEST_X_MODE;
		return 0;
	}
	for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]); k++) {
		if (nums[k].opt != c)
			continue;
		uint32_t v;
		if (!parse_u32(arg, nums[k].min, nums[k].max, &v)) {
			char want[64];
			snprintf(want, sizeof(want), "a number from %u to %u", nums[k].min, nums[k].max);
			return bad_value(nums[k].name, arg, want);
		}
		unsigned u = v;
		memcpy((char *)d + nums[k].off, &u, sizeof(u));
		*mask |= nums[k].mask;
	}
	return 0;
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
		case 'f':
			o->conf_file = optarg;
			break;
		case 't':
			o->test_only = true;
			break;
		case O_DAEMON:
			o->daemon = true;
			break;
		case O_PIDFILE:
			o->pid_file = optarg;
			break;
		case O_USER:
			o->user = optarg;
			break;
		case O_GROUP:
			o->group = optarg;
			break;
		case O_SYSLOG:
			o->syslog = true;
			break;
		case O_ALIAS:
			if (o->nalias == MAX_ALIASES || !strchr(optarg, '=') || optarg[0] == '=') {
				log_err("--alias %s: give IOSNAME=DEV (at most %d)", optarg, MAX_ALIASES);
				return -1;
			}
			o->alias[o->nalias++] = optarg;
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
			o->has_speed = true;
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
			o->has_snaplen = true;
			break;
		}
		case O_IFINDEX:
			if (!parse_u32(optarg, 0, UINT32_MAX, &o->file_ifindex))
				return bad_value("ifindex", optarg, "an interface index");
			o->has_ifindex = true;
			break;
		case O_ACTIVE:
			if (!parse_u32(optarg, 1, 86400 * 7, &o->cache.active_s))
				return bad_value("active", optarg, "a number of seconds from 1 to 604800");
			o->has_active = true;
			break;
		case O_INACTIVE:
			if (!parse_u32(optarg, 1, 86400 * 7, &o->cache.inactive_s))
				return bad_value("inactive", optarg, "a number of seconds from 1 to 604800");
			o->has_inactive = true;
			break;
		case O_ENTRIES:
			if (!parse_u32(optarg, 1, CACHE_ENTRIES_MAX, &o->cache.entries))
				return bad_value("entries", optarg, "a number of entries from 1 to 67108864");
			o->has_entries = true;
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
			o->has_ctype = true;
			break;
		case O_STATS:
			o->stats = true;
			break;
		case O_ROUTES:
			o->routes = optarg;
			break;
		case 'S':
			o->ctl_path = optarg;
			break;
		case O_AGG:
			if (o->nagg == CONF_AGG_MAX) {
				log_err("at most %d --aggregation caches", CONF_AGG_MAX);
				return -1;
			}
			o->agg[o->nagg].scheme = optarg;
			o->agg[o->nagg].ndest = 0;
			o->agg[o->nagg++].version = 0;
			break;
		case O_AGG_EXPORT:
			if (!o->nagg || o->agg[o->nagg - 1].ndest == CONF_DEST_MAX) {
				log_err("--agg-export follows the --aggregation it sets (at most %d each)", CONF_DEST_MAX);
				return -1;
			}
			o->agg[o->nagg - 1].dest[o->agg[o->nagg - 1].ndest++] = optarg;
			break;
		case O_AGG_VERSION:
			if (!o->nagg) {
				log_err("--agg-version follows the --aggregation it sets");
				return -1;
			}
			if (strcmp(optarg, "8") && strcmp(optarg, "9"))
				return bad_value("agg-version", optarg, "8 or 9");
			o->agg[o->nagg - 1].version = atoi(optarg);
			break;
		case 'e':
			if (o->ndest == MAX_DESTS) {
				log_err("at most %d export destinations", MAX_DESTS);
				return -1;
			}
			sctp_dest_opts_init(&o->dopt[o->ndest]);
			o->dmask[o->ndest] = 0;
			o->dest[o->ndest++] = optarg;
			break;
		case O_SCTP_REL:
		case O_SCTP_BACKUP:
		case O_SCTP_MODE:
		case O_SCTP_FAILOVER:
		case O_SCTP_RESTORE:
		case O_SCTP_HB:
		case O_SCTP_STREAMS:
		case O_SCTP_UDPPORT:
		case O_SCTP_BUDPPORT:
			if (sctp_flag(o, c, optarg) != 0)
				return -1;
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
		case O_SAMPLE:
			if (!parse_u32(optarg, 1, 32768, &o->sample))
				return bad_value("sample", optarg, "a number from 1 (every packet) to 32768");
			break;
		case O_SAMPLER:
			if (strcmp(optarg, "random") != 0 && strcmp(optarg, "deterministic") != 0)
				return bad_value("sampler", optarg, "random or deterministic");
			o->sample_det = optarg[0] == 'd';
			o->has_sampler = true;
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
	if (!o->file && !o->niface && !o->conf_file) {
		log_err("nothing to meter: give -r FILE or -i IFACE (or -f FILE)");
		usage(stderr);
		return -1;
	}
	if (o->file && o->niface) {
		log_err("-r and -i cannot be combined");
		return -1;
	}
	if (o->has_sampler && o->sample <= 1)
		log_warn("--sampler has no effect without --sample N (N > 1)");
	return 0;
}

/* --- flags as configuration lines ---------------------------------------- */

/* Diagnostics go to a FILE (a terminal, or the `ipflow reload` answer),
 * and to the log when that is syslog. Notes only when asked for. */
struct report_ctx {
	FILE *out;
	bool notes;
};

static void report(void *arg, const struct conf_diag *d)
{
	struct report_ctx *r = arg;
	if (d->level == CONF_NOTE && !r->notes)
		return;
	if (r->out)
		conf_diag_print(r->out, d);
	else if (d->level == CONF_ERROR)
		log_err("%s:%u:%u: %s", d->source, d->line, d->col, d->text);
	else if (d->level == CONF_WARNING)
		log_warn("%s:%u:%u: %s", d->source, d->line, d->col, d->text);
	else
		log_note("%s:%u:%u: %s", d->source, d->line, d->col, d->text);
}

static void line(struct conf_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void line(struct conf_parser *p, const char *fmt, ...)
{
	char buf[CONF_LINE_MAX + 1];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	conf_parse_line(p, buf, n < 0 ? 0 : (size_t)n >= sizeof(buf) ? sizeof(buf) - 1 : (size_t)n);
}

/* -e SPEC as a configuration line. */
static void export_line(struct conf_parser *p, const char *spec)
{
	static const struct { const char *scheme; const char *proto; } tab[] = {
		{ "udp:", "udp" }, { "tcp:", "tcp" }, { "sctp:", "sctp" },
	};
	if (strncmp(spec, "file:", 5) == 0) {
		line(p, "ip flow-export file %s", spec + 5);
		return;
	}
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		size_t l = strlen(tab[i].scheme);
		if (strncmp(spec, tab[i].scheme, l) != 0)
			continue;
		char host[256];
		const char *port;
		if (addr_split_hostport(spec + l, host, sizeof(host), &port) != 0)
			break;
		line(p, "ip flow-export destination %s %s %s", host, port, tab[i].proto);
		return;
	}
	line(p, "ip flow-export destination %s", spec); /* reported as an error by the parser */
}

/* The IOS sub-mode lines an sctp: -e's flags stand for (the rest of its
 * --sctp-* settings, and backups of other transports, have no IOS form:
 * they go to the destination manager by spec, see register_extras). */
static void sctp_lines(struct conf_parser *p, const char *spec, const struct sctp_dest_opts *d, unsigned m)
{
	if (strncmp(spec, "sctp:", 5) != 0)
		return;
	if (m & DEST_X_REL) {
		if (d->sctp.reliability == SCTPT_PARTIAL && d->sctp.buffer_limit <= 35000)
			line(p, " reliability partial buffer-limit %u", d->sctp.buffer_limit);
		else if (d->sctp.reliability != SCTPT_PARTIAL)
			line(p, " reliability %s", sctpt_rel_name(d->sctp.reliability));
	}
	if (m & DEST_X_BACKUP) {
		char host[256];
		const char *port, *b = strncmp(d->backup, "sctp:", 5) == 0 ? d->backup + 5 : d->backup;
		if (addr_split_hostport(b, host, sizeof(host), &port) == 0)
			line(p, " backup destination %s %s", host, port);
	}
	if (m & DEST_X_MODE)
		line(p, " backup mode %s", dest_mode_name(d->mode));
	if (m & DEST_X_FAILOVER)
		line(p, " backup fail-over %u", d->failover_ms);
	if (m & DEST_X_RESTORE)
		line(p, " backup restore-time %u", d->restore_s);
}

/* Every --sctp-* setting, by destination spec, for the destination
 * manager (laid over the configuration when the destination opens). */
static void register_extras(const struct opts *o)
{
	for (size_t i = 0; i < o->ndest; i++)
		if (o->dmask[i] && dest_extra_set(o->dest[i], o->dmask[i], &o->dopt[i]) != 0)
			log_warn("%s: too many destinations with --sctp-* settings", o->dest[i]);
}

/* --aggregation SCHEME and what follows it, as `ip flow-aggregation cache` lines. */
static void agg_lines(const struct opts *o, struct conf_parser *p)
{
	for (size_t i = 0; i < o->nagg; i++) {
		line(p, "ip flow-aggregation cache %s", o->agg[i].scheme);
		for (size_t k = 0; k < o->agg[i].ndest; k++) {
			static const char *const protos[] = { "udp", "tcp", "sctp" };
			const char *spec = o->agg[i].dest[k], *proto = "udp";
			for (size_t j = 0; j < 3; j++) {
				size_t l = strlen(protos[j]);
				if (strncmp(spec, protos[j], l) == 0 && spec[l] == ':') {
					proto = protos[j];
					spec += l + 1;
					break;
				}
			}
			char host[256];
			const char *port;
			if (addr_split_hostport(spec, host, sizeof(host), &port) == 0)
				line(p, " export destination %s %s %s", host, port, proto);
			else
				line(p, " export destination %s", o->agg[i].dest[k]); /* reported by the parser */
		}
		if (o->agg[i].version)
			line(p, " export version %d", o->agg[i].version);
		line(p, " enabled");
		line(p, "exit");
	}
}

/* The lines the flags stand for, after the file's (so they win). -r/-i
 * replace the file's interfaces and -e its main-cache destinations. */
static void flag_lines(const struct opts *o, struct conf_parser *p, const struct conf *file)
{
	conf_parser_source(p, "command line", 0, true);
	static const char *const ctype[] = { "normal", "permanent", "immediate" };
	if (o->file || o->niface)
		for (size_t i = 0; i < file->niface; i++)
			line(p, "no interface %s", file->iface[i].name);
	/* --sample N: a sampler of its own, on every interface the flags
	 * give (or, without -r/-i, on every main-cache interface of the file) */
	static const char samp_name[] = "ipflowd-sample";
	bool samp = o->sample > 1;
	if (samp) {
		line(p, "flow-sampler-map %s", samp_name);
		line(p, " mode %s one-out-of %u", o->sample_det ? "deterministic" : "random", o->sample);
	}
	if (samp && !o->file && !o->niface)
		for (size_t i = 0; i < file->niface; i++)
			if (file->iface[i].ingress || file->iface[i].egress) {
				line(p, "interface %s", file->iface[i].name);
				line(p, " flow-sampler %s", samp_name);
			}
	if (o->file) {
		const char *base = strrchr(o->file, '/') ? strrchr(o->file, '/') + 1 : o->file;
		line(p, "interface %s", strlen(base) < CONF_NAME_MAX && !strpbrk(base, " \t") ? base : "pcap0");
		if (o->has_ifindex)
			line(p, " ipflow pcap %s ifindex %u", o->file, o->file_ifindex);
		else
			line(p, " ipflow pcap %s", o->file);
		line(p, " ip flow ingress");
		if (samp)
			line(p, " flow-sampler %s", samp_name);
	}
	for (size_t i = 0; i < o->niface; i++) {
		char name[256];
		snprintf(name, sizeof(name), "%s", o->iface[i]);
		const char *dir = "in";
		char *colon = strrchr(name, ':');
		if (colon) {
			*colon = 0;
			dir = colon + 1;
		}
		line(p, "interface %s", name);
		if (!strcmp(dir, "in") || !strcmp(dir, "ingress") || !strcmp(dir, "both"))
			line(p, " ip flow ingress");
		if (!strcmp(dir, "out") || !strcmp(dir, "egress") || !strcmp(dir, "both"))
			line(p, " ip flow egress");
		if (strcmp(dir, "in") && strcmp(dir, "ingress") && strcmp(dir, "out") && strcmp(dir, "egress") &&
		    strcmp(dir, "both"))
			line(p, " ip flow %s", dir); /* reported: not ingress or egress */
		if (samp)
			line(p, " flow-sampler %s", samp_name);
	}
	if (o->ndest) {
		for (size_t i = 0; i < file->export.ndest; i++)
			line(p, "no ip flow-export destination %s %u", file->export.dest[i].host, file->export.dest[i].port);
		for (size_t i = 0; i < file->export.nfile; i++)
			line(p, "no ip flow-export file %s", file->export.file[i]);
		for (size_t i = 0; i < o->ndest; i++) {
			export_line(p, o->dest[i]);
			sctp_lines(p, o->dest[i], &o->dopt[i], o->dmask[i]);
		}
	}
	if (o->ex.version)
		line(p, "ip flow-export version %d", o->ex.version);
	if (o->has_active)
		line(p, "ip flow-cache timeout active %u seconds", o->cache.active_s);
	if (o->has_inactive)
		line(p, "ip flow-cache timeout inactive %u", o->cache.inactive_s);
	if (o->has_entries)
		line(p, "ip flow-cache entries %u", o->cache.entries);
	if (o->has_ctype)
		line(p, "ip flow-cache type %s", ctype[o->cache.type]);
#define SET(opt) (o->ex_set[(opt) - O_MTU])
#define VAL(opt) (o->ex_val[(opt) - O_MTU])
	if (SET(O_MTU))
		line(p, "ip flow-export mtu %u", VAL(O_MTU));
	if (SET(O_TREFRESH)) {
		line(p, "ip flow-export template refresh-rate %u", VAL(O_TREFRESH));
		line(p, "ip flow-export template options refresh-rate %u", VAL(O_TREFRESH));
	}
	if (SET(O_TTIMEOUT)) {
		line(p, "ip flow-export template timeout-rate %u", VAL(O_TTIMEOUT));
		line(p, "ip flow-export template options timeout-rate %u", VAL(O_TTIMEOUT));
	}
	if (SET(O_SOURCEID))
		line(p, "ip flow-export source-id %u", VAL(O_SOURCEID));
	if (SET(O_ENGTYPE))
		line(p, "ip flow-export engine-type %u", VAL(O_ENGTYPE));
	if (SET(O_ENGID))
		line(p, "ip flow-export engine-id %u", VAL(O_ENGID));
	if (SET(O_FLUSH))
		line(p, "ip flow-export flush-timeout %u", VAL(O_FLUSH));
	if (SET(O_EXPSTATS))
		line(p, "ip flow-export template options export-stats");
	if (SET(O_USEC))
		line(p, "ip flow-export timestamps microseconds");
#undef SET
#undef VAL
	if (o->source)
		line(p, "ip flow-export source %s", o->source);
	if (o->flowlog)
		line(p, "ipflow flow-log %s", o->flowlog);
	if (o->routes)
		line(p, "ipflow route-table %s", o->routes);
	if (o->filter)
		line(p, "ipflow capture filter %s", o->filter);
	if (o->has_snaplen)
		line(p, "ipflow capture snaplen %d", o->snaplen);
	if (o->has_speed)
		line(p, "ipflow replay-speed %.17g", o->speed);
	if (o->ctl_path || o->group) {
		const char *path = o->ctl_path ? o->ctl_path : file->host.ctl_path[0] ? file->host.ctl_path : CTL_DEFAULT_PATH;
		if (o->group)
			line(p, "ipflow control-socket %s group %s", path, o->group);
		else
			line(p, "ipflow control-socket %s", path);
	}
	if (o->pid_file)
		line(p, "ipflow pid-file %s", o->pid_file);
	if (o->user)
		line(p, "ipflow user %s", o->user);
	if (o->syslog || o->daemon)
		line(p, "ipflow logging syslog");
	for (size_t i = 0; i < o->nalias; i++) {
		char a[256];
		snprintf(a, sizeof(a), "%s", o->alias[i]);
		char *eq = strchr(a, '=');
		*eq = 0;
		line(p, "ipflow alias %s %s", a, eq + 1);
	}
	agg_lines(o, p);
}

/* The model: the file (if any), then the flags. NULL after reporting. */
static struct conf *load_conf(const struct opts *o, struct report_ctx *rc)
{
	struct conf_parser *p = conf_parser_new(report, rc);
	if (!p)
		return NULL;
	if (o->conf_file)
		conf_parse_file(p, o->conf_file);
	/* the file's model so far: which interfaces and destinations the
	 * flags replace */
	struct conf *file = NULL;
	if (conf_parser_errors(p) == 0) {
		struct conf_parser *q = conf_parser_new(NULL, NULL);
		if (q && o->conf_file)
			conf_parse_file(q, o->conf_file);
		file = conf_parser_finish(q);
	}
	if (!file)
		file = conf_new();
	if (!file) {
		conf_free(conf_parser_finish(p));
		return NULL;
	}
	flag_lines(o, p, file);
	conf_free(file);
	return conf_parser_finish(p);
}

/* --- reload -------------------------------------------------------------- */

struct ipflowd {
	struct opts *o;
	struct rt *rt;
};

static int do_reload(void *arg, FILE *out)
{
	struct ipflowd *d = arg;
	struct report_ctx rc = { .out = out, .notes = false };
	char err[512];
	struct conf *c = load_conf(d->o, &rc);
	if (!c) {
		rt_reload(d->rt, NULL, err, sizeof(err));
		fprintf(out, "%% Reload refused: %s has errors; the running configuration is unchanged\n", d->o->conf_file);
		log_err("reload refused: %s has errors; the running configuration is unchanged", d->o->conf_file);
		return -1;
	}
	if (rt_reload(d->rt, c, err, sizeof(err)) != 0) {
		fprintf(out, "%% Reload failed: %s; the running configuration is unchanged\n", err);
		log_err("reload failed: %s; the running configuration is unchanged", err);
		return -1;
	}
	fprintf(out, "Configuration reloaded from %s\n", d->o->conf_file);
	log_note("configuration reloaded from %s", d->o->conf_file);
	return 0;
}

static int hup_fd = -1;

static void on_hup(void *arg)
{
	struct signalfd_siginfo si;
	while (read(hup_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	struct ipflowd *d = arg;
	if (!d->o->conf_file) {
		log_warn("SIGHUP: no configuration file to reload (started without -f)");
		return;
	}
	struct report_ctx rc = { .out = NULL };
	FILE *sink = fopen("/dev/null", "w");
	(void)rc;
	do_reload(d, sink ? sink : stderr);
	if (sink)
		fclose(sink);
}

/* --- daemon -------------------------------------------------------------- */

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* Fork into the background; the parent waits for the child to say it is
 * ready (or why it failed) on a pipe and exits with that status, so
 * startup errors still reach the terminal. Returns the pipe's write end
 * in the daemon. */
static int daemonize(void)
{
	int pfd[2];
	if (pipe(pfd) != 0) {
		log_err("pipe: %s", strerror(errno));
		exit(1);
	}
	pid_t pid = fork();
	if (pid < 0) {
		log_err("fork: %s", strerror(errno));
		exit(1);
	}
	if (pid > 0) {
		close(pfd[1]);
		char buf[1024];
		size_t n = 0;
		ssize_t r;
		while (n < sizeof(buf) - 1 && (r = read(pfd[0], buf + n, sizeof(buf) - 1 - n)) > 0)
			n += (size_t)r;
		buf[n] = 0;
		waitpid(pid, NULL, 0); /* the intermediate child */
		/* _exit: what the parent holds (the configuration) is the daemon's
		 * now; running exit handlers here would only report it as leaked */
		fflush(NULL);
		if (strncmp(buf, "OK", 2) == 0)
			_exit(0);
		fprintf(stderr, "ipflowd: %s\n", n ? buf : "the daemon exited during startup");
		_exit(1);
	}
	close(pfd[0]);
	setsid();
	pid = fork(); /* never reacquire a terminal */
	if (pid < 0)
		_exit(1);
	if (pid > 0)
		_exit(0);
	if (chdir("/") != 0)
		_exit(1);
	umask(027);
	int nul = open("/dev/null", O_RDWR);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		if (nul > 2)
			close(nul);
	}
	return pfd[1];
}

static void daemon_ready(int fd, const char *err)
{
	if (fd < 0)
		return;
	const char *msg = err ? err : "OK";
	ssize_t w = write(fd, msg, strlen(msg));
	(void)w;
	close(fd);
	if (!err) { /* stderr too from now on: the terminal may be gone */
		int nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, 2);
			close(nul);
		}
	}
}

/* Refuse to start over a live process's pid file; write ours. */
static int write_pid_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (f) {
		long pid = 0;
		if (fscanf(f, "%ld", &pid) == 1 && pid > 0 && pid != getpid() && kill((pid_t)pid, 0) == 0) {
			fclose(f);
			snprintf(err, errlen, "pid file %s: ipflowd is already running as process %ld", path, pid);
			return -1;
		}
		fclose(f);
	}
	f = fopen(path, "w");
	if (!f) {
		snprintf(err, errlen, "pid file %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0) {
		snprintf(err, errlen, "pid file %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Become user (and its groups) once the captures are open. */
static int drop_privileges(const char *user, char *err, size_t errlen)
{
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errlen, "user %s does not exist", user);
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		snprintf(err, errlen, "cannot become user %s: %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0 && pw->pw_uid != 0) { /* must not be able to regain root */
		snprintf(err, errlen, "privileges could not be dropped for good");
		return -1;
	}
	log_info("running as user %s (uid %u)", user, (unsigned)pw->pw_uid);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.file_ifindex = 1,
		.loglevel = LOG_LVL_NOTE,
	};
	char err[512] = "";
	int rc = 1;
	struct rt *rt = NULL;
	struct fnf_mon *fm = NULL;
	struct route_layer *rl = NULL;
	struct agg *ag = NULL;
	struct psamp *ps = NULL;
	int ready_fd = -1;
	bool pid_written = false;

	log_init("ipflowd", false, LOG_LVL_NOTE);
	if (parse_opts(argc, argv, &o) != 0)
		return 2;
	log_level_cur = o.loglevel;
	register_extras(&o);

	struct report_ctx rep = { .out = stderr, .notes = o.test_only || o.loglevel >= LOG_LVL_INFO };
	struct conf *c = load_conf(&o, &rep);
	if (o.test_only) {
		const char *what = o.conf_file ? o.conf_file : "the command line";
		if (!c) {
			fprintf(stderr, "ipflowd: configuration %s test failed\n", what);
			return 1;
		}
		unsigned w = apply_check_host(c, stderr);
		fprintf(stderr, "ipflowd: the configuration %s syntax is ok%s\n", what, w ? " (with warnings about this host)" : "");
		fprintf(stderr, "ipflowd: configuration %s test is successful\n", what);
		conf_free(c);
		return 0;
	}
	if (!c) {
		log_err("%s has errors; not started", o.conf_file ? o.conf_file : "the command line");
		return 1;
	}
	if (o.daemon)
		ready_fd = daemonize();
	if (c->host.syslog)
		log_init("ipflowd", true, o.loglevel);

	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	char pid_path[CONF_PATH_MAX] = "", user[CONF_NAME_MAX] = "";
	snprintf(pid_path, sizeof(pid_path), "%s", c->host.pid_file);
	snprintf(user, sizeof(user), "%s", c->host.user);
	if (pid_path[0]) {
		if (write_pid_file(pid_path, err, sizeof(err)) != 0)
			goto out;
		pid_written = true;
	}

	rt = rt_new();
	if (!rt) {
		snprintf(err, sizeof(err), "out of memory");
		goto out;
	}
	fm = fnf_mon_new(rt);
	ag = agg_new(rt);
	if (!fm || !ag) {
		snprintf(err, sizeof(err), "out of memory");
		goto out;
	}
	struct rt_hooks hooks, ps_hooks;
	fnf_mon_hooks(fm, &hooks); /* Flexible NetFlow monitors */
	ps = psamp_new(rt);
	if (!ps) {
		snprintf(err, sizeof(err), "out of memory");
		goto out;
	}
	psamp_hooks(ps, &ps_hooks, &hooks); /* packet sections; other monitors' show commands go on to FNF */
	rt_add_hooks(rt, &ps_hooks);
	rt_add_hooks(rt, &hooks);
	rl = route_layer_new();
	if (!rl) {
		snprintf(err, sizeof(err), "out of memory");
		goto out;
	}
	route_layer_hooks(rl, &hooks); /* routing attributes: before the layers that read them */
	rt_add_hooks(rt, &hooks);
	agg_hooks(ag, &hooks); /* aggregation caches */
	rt_add_hooks(rt, &hooks);
	struct ipflowd d = { .o = &o, .rt = rt };
	if (o.conf_file)
		rt_set_reload(rt, do_reload, &d);
	struct conf *start = c;
	c = NULL; /* rt owns it now */
	if (rt_start(rt, start, err, sizeof(err)) != 0)
		goto out;
	/* SIGHUP: reload, delivered through the event loop */
	sigset_t hup;
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	sigprocmask(SIG_BLOCK, &hup, NULL);
	hup_fd = signalfd(-1, &hup, SFD_NONBLOCK | SFD_CLOEXEC);
	if (hup_fd >= 0)
		meter_add_fd(rt_meter(rt), hup_fd, on_hup, &d);
	if (user[0] && drop_privileges(user, err, sizeof(err)) != 0)
		goto out;
	daemon_ready(ready_fd, NULL);
	ready_fd = -1;

	if (rt_run(rt, &stop_flag, err, sizeof(err)) != 0)
		goto out;
	rt_finish(rt, o.stats ? stdout : NULL);
	rc = 0;
out:
	if (rc && err[0]) {
		log_err("%s", err);
		daemon_ready(ready_fd, err);
	}
	rt_free(rt);
	fnf_mon_free(fm); /* after rt: the meter holds its tap until then */
	route_layer_free(rl);
	agg_free(ag);
	psamp_free(ps);
	transport_retire_drain(); /* what the frees retired (rt_finish drained the rest) */
	conf_free(c);
	if (hup_fd >= 0)
		close(hup_fd);
	if (pid_written)
		unlink(pid_path);
	return rc;
}
