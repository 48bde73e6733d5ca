/* ipflow-collect — the collection engine: a thin main that opens the
 * listeners (or a capture file), the collector (collect/session.h) and
 * the sinks, and runs the loop. See doc/ipflow-collect.8. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect/listener.h"
#include "collect/pcapread.h"
#include "collect/session.h"
#include "collect/ch_schema.h"
#include "collect/sink.h"
#include "lib/log.h"

#define MAX_LISTEN 32
#define MAX_OUT 8
#define MAX_PORTS 64

struct opts {
	const char *listen[MAX_LISTEN];
	size_t nlisten;
	const char *read;
	uint16_t ports[MAX_PORTS];
	size_t nports;
	const char *out[MAX_OUT];
	size_t nout;
	char store_spec[4096];
	bool stats;
	int loglevel;
	struct coll_cfg cc;
	struct listener_cfg lc;
};

enum {
	O_STATS = 1000, O_UNSAMPLE, O_TDIR, O_TREFRESH, O_TLIFE, O_PBYTES, O_PSECS, O_MAXEXP, O_MAXSTR,
	O_MAXTMPL, O_RCVBUF, O_TCPMAX, O_TCPIDLE, O_TCPMSG, O_OPTIONS, O_DEBUG, O_VERSION, O_CHINIT,
};

/* The option table drives getopt, the ranges and the help text. */
static const struct optdef {
	const char *name;
	int has_arg;
	int val;
	const char *arg;
	const char *help;
	unsigned long long min, max; /* numeric options */
} optdefs[] = {
	{ "listen", 1, 'l', "udp|tcp|sctp:[ADDR:]PORT", "receive export messages (repeatable; sctp: over UDP, RFC 6951)", 0, 0 },
	{ "read", 1, 'r', "FILE [PORTS]", "decode export packets from a capture (UDP to PORTS, or any export-looking UDP)", 0, 0 },
	{ "store", 1, 'w', "DIR", "store flows in the file store under DIR (sink dir:DIR)", 0, 0 },
	{ "output", 1, 'o', "jsonl:PATH|csv:PATH|null:|clickhouse:URL|kafka:BROKERS/TOPIC", "also write records there ('-' = stdout; repeatable; doc/clickhouse.md)", 0, 0 },
	{ "clickhouse-init", 1, O_CHINIT, "URL", "create the ClickHouse database, flows table and rollups at http://HOST:PORT/DB.TABLE, then exit", 0, 0 },
	{ "stats", 0, O_STATS, NULL, "print the counters at exit (and on SIGUSR1 always)", 0, 0 },
	{ "unsample", 0, O_UNSAMPLE, NULL, "multiply packet and byte counts by the sampling rate learnt", 0, 0 },
	{ "options", 0, O_OPTIONS, NULL, "write options data records to -o jsonl outputs too", 0, 0 },
	{ "template-dir", 1, O_TDIR, "DIR", "persist templates in DIR/templates.bin and reload them at start", 0, 0 },
	{ "template-refresh", 1, O_TREFRESH, "SEC", "exporters' template refresh interval: UDP templates live 3x this (default 1800; 0: forever)", 0, 86400 * 30 },
	{ "template-lifetime", 1, O_TLIFE, "SEC", "UDP template lifetime, directly (default 5400; 0: forever)", 0, 86400u * 90 },
	{ "pending-bytes", 1, O_PBYTES, "N", "bytes of data held for templates not yet seen (default 4194304; 0: none)", 0, 1ull << 32 },
	{ "pending-timeout", 1, O_PSECS, "SEC", "how long held data waits for its template (default 60)", 1, 86400 },
	{ "max-exporters", 1, O_MAXEXP, "N", "exporters at most (default 4096)", 1, 1u << 24 },
	{ "max-streams", 1, O_MAXSTR, "N", "observation domains x sessions per exporter (default 256)", 1, 1u << 20 },
	{ "max-templates", 1, O_MAXTMPL, "N", "templates at most, all exporters (default 16384)", 1, 1u << 24 },
	{ "rcvbuf", 1, O_RCVBUF, "BYTES", "UDP socket receive buffer (default 33554432)", 65536, 1u << 30 },
	{ "tcp-max-conns", 1, O_TCPMAX, "N", "TCP connections at once (default 1024)", 1, 65536 },
	{ "tcp-idle", 1, O_TCPIDLE, "SEC", "close a TCP connection silent this long (default 600)", 1, 86400 },
	{ "tcp-msg-timeout", 1, O_TCPMSG, "SEC", "close one whose message stays incomplete this long (default 30)", 1, 3600 },
	{ "quiet", 0, 'q', NULL, "log errors only", 0, 0 },
	{ "debug", 0, O_DEBUG, NULL, "log debugging detail", 0, 0 },
	{ "version", 0, O_VERSION, NULL, "print the version and exit", 0, 0 },
	{ "help", 0, 'h', NULL, "this help", 0, 0 },
};
#define NOPTS (sizeof(optdefs) / sizeof(optdefs[0]))

static void usage(FILE *out)
{
	fputs("usage: ipflow-collect -l udp|tcp|sctp:[ADDR:]PORT ... [-w DIR] [-o jsonl:PATH|csv:PATH] [options]\n"
	      "       ipflow-collect -r FILE.pcap [PORTS] [-o ...] [--stats]\n\n", out);
	for (size_t i = 0; i < NOPTS; i++) {
		char lhs[72];
		const struct optdef *o = &optdefs[i];
		if (o->val < 256)
			snprintf(lhs, sizeof(lhs), "-%c, --%s%s%s", o->val, o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(lhs, sizeof(lhs), "    --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(out, "  %-44s %s\n", lhs, o->help);
	}
}

static int parse_num(const struct optdef *o, const char *s, unsigned long long *v)
{
	char *end;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || *v < o->min || *v > o->max) {
		log_err("--%s: '%s' is not a number from %llu to %llu", o->name, s, o->min, o->max);
		return -1;
	}
	return 0;
}

static int add_ports(struct opts *o, const char *s)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		unsigned long p = strtoul(tok, &end, 10);
		if (*end || end == tok || p == 0 || p > 65535) {
			log_err("-r: '%s' is not a UDP port", tok);
			return -1;
		}
		if (o->nports == MAX_PORTS) {
			log_err("-r: at most %d ports", MAX_PORTS);
			return -1;
		}
		o->ports[o->nports++] = (uint16_t)p;
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
	bool life_set = false;
	int c;
	while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		const struct optdef *d = NULL;
		for (size_t i = 0; i < NOPTS; i++)
			if (optdefs[i].val == c)
				d = &optdefs[i];
		unsigned long long v = 0;
		if (d && d->max && parse_num(d, optarg, &v) != 0)
			return -1;
		switch (c) {
		case 'l':
			if (o->nlisten == MAX_LISTEN) {
				log_err("at most %d listeners", MAX_LISTEN);
				return -1;
			}
			o->listen[o->nlisten++] = optarg;
			break;
		case 'r':
			o->read = optarg;
			break;
		case 'w':
			snprintf(o->store_spec, sizeof(o->store_spec), "dir:%s", optarg);
			break;
		case 'o':
			if (o->nout == MAX_OUT) {
				log_err("at most %d outputs", MAX_OUT);
				return -1;
			}
			o->out[o->nout++] = optarg;
			break;
		case O_STATS: o->stats = true; break;
		case O_UNSAMPLE: o->cc.unsample = true; break;
		case O_OPTIONS: o->cc.options_out = true; break;
		case O_TDIR: o->cc.tmpl_dir = optarg; break;
		case O_TREFRESH:
			if (!life_set)
				o->cc.tmpl_lifetime_s = (uint32_t)(3 * v);
			break;
		case O_TLIFE:
			o->cc.tmpl_lifetime_s = (uint32_t)v;
			life_set = true;
			break;
		case O_PBYTES: o->cc.pending_bytes = (size_t)v; break;
		case O_PSECS: o->cc.pending_s = (uint32_t)v; break;
		case O_MAXEXP: o->cc.max_exporters = (unsigned)v; break;
		case O_MAXSTR: o->cc.max_streams = (unsigned)v; break;
		case O_MAXTMPL: o->cc.max_templates = (unsigned)v; break;
		case O_RCVBUF: o->lc.rcvbuf = (int)v; break;
		case O_TCPMAX: o->lc.tcp_max_conns = (unsigned)v; break;
		case O_TCPIDLE: o->lc.tcp_idle_s = (unsigned)v; break;
		case O_TCPMSG: o->lc.tcp_msg_s = (unsigned)v; break;
		case 'q': o->loglevel = LOG_LVL_ERR; break;
		case O_DEBUG: o->loglevel = LOG_LVL_DEBUG; break;
		case O_VERSION:
			printf("ipflow-collect 0.1.0\n");
			exit(0);
		case O_CHINIT: {
			char err[512];
			if (ch_schema_init(optarg, stdout, err, sizeof(err)) != 0) {
				log_err("--clickhouse-init: %s", err);
				exit(1);
			}
			exit(0);
		}
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	for (; optind < argc; optind++) {
		if (!o->read) {
			log_err("unexpected argument '%s' (ports follow -r FILE)", argv[optind]);
			return -1;
		}
		if (add_ports(o, argv[optind]) != 0)
			return -1;
	}
	if (!o->read && !o->nlisten) {
		log_err("nothing to collect: give -l udp:PORT / tcp:PORT, or -r FILE");
		usage(stderr);
		return -1;
	}
	if (o->read && o->nlisten) {
		log_err("-r and -l cannot be combined");
		return -1;
	}
	if (o->cc.tmpl_dir) {
		struct stat st;
		if (stat(o->cc.tmpl_dir, &st) != 0 && mkdir(o->cc.tmpl_dir, 0755) != 0) {
			log_err("--template-dir %s: %s", o->cc.tmpl_dir, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* --- the run ------------------------------------------------------------- */

static volatile sig_atomic_t stop_flag, usr1_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void on_usr1(int sig)
{
	(void)sig;
	usr1_flag = 1;
}

struct run {
	struct coll *coll;
	struct sink *sinks[MAX_OUT + 1];
	size_t nsinks;
	struct listener *lsn[MAX_LISTEN];
	size_t nlsn;
	const char *read;
	struct pcapread_stats rs;
	uint64_t next_tick;
	bool stdout_used;
};

static void out_fn(void *arg, const struct crec *r)
{
	struct run *x = arg;
	for (size_t i = 0; i < x->nsinks; i++)
		sink_write(x->sinks[i], r);
}

static void on_msg(void *arg, const struct lsn_msg *m)
{
	struct run *x = arg;
	coll_message(x->coll, m, m->recv_us);
}

static void on_session_end(void *arg, const struct lsn_peer *p, uint32_t session)
{
	struct run *x = arg;
	coll_session_end(x->coll, p, session);
}

/* -r: timers run on packet time. */
static void on_file_msg(void *arg, const struct lsn_msg *m)
{
	struct run *x = arg;
	if (m->recv_us >= x->next_tick) {
		if (x->next_tick)
			coll_tick(x->coll, m->recv_us);
		x->next_tick = m->recv_us + 1000000u;
	}
	coll_message(x->coll, m, m->recv_us);
}

static void show_all(struct run *x, FILE *out)
{
	for (size_t i = 0; i < x->nlsn; i++)
		listener_show(x->lsn[i], out);
	if (x->read)
		pcapread_show(x->read, &x->rs, out);
	coll_show(x->coll, out);
	for (size_t i = 0; i < x->nsinks; i++) {
		struct sink *s = x->sinks[i];
		if (s->ops->show)
			s->ops->show(s, out);
		else
			fprintf(out, "Output %s: %llu records, %llu written, %llu dropped, %llu errors\n", s->ops->scheme,
			        (unsigned long long)s->st.records, (unsigned long long)s->st.written,
			        (unsigned long long)s->st.dropped, (unsigned long long)s->st.errors);
	}
	uint64_t kdrops = 0;
	for (size_t i = 0; i < x->nlsn; i++)
		kdrops += listener_stats(x->lsn[i])->kernel_drops;
	if (x->nlsn)
		fprintf(out, "Kernel drops (all UDP listeners): %llu\n", (unsigned long long)kdrops);
	fflush(out);
}

static int run_live(struct run *x, const struct opts *o, char *err, size_t errlen)
{
	struct lsn_sink to = { on_msg, on_session_end, x };
	for (size_t i = 0; i < o->nlisten; i++) {
		struct listener *l = listener_open(o->listen[i], &o->lc, &to, err, errlen);
		if (!l)
			return -1;
		x->lsn[x->nlsn++] = l;
		log_note("listening on %s", l->name);
	}
	struct pollfd pfd[MAX_LISTEN];
	for (size_t i = 0; i < x->nlsn; i++)
		pfd[i] = (struct pollfd){ .fd = x->lsn[i]->fd, .events = POLLIN };
	FILE *sout = x->stdout_used ? stderr : stdout;
	x->next_tick = lsn_now_us() + 1000000u;
	while (!stop_flag) {
		int n = poll(pfd, (nfds_t)x->nlsn, 200);
		if (n < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
		uint64_t now = lsn_now_us();
		for (size_t i = 0; n > 0 && i < x->nlsn; i++)
			if (pfd[i].revents & (POLLIN | POLLERR | POLLHUP))
				listener_ready(x->lsn[i], now);
		now = lsn_now_us();
		if (now >= x->next_tick || now + 2000000u < x->next_tick) {
			coll_tick(x->coll, now);
			for (size_t i = 0; i < x->nlsn; i++)
				listener_tick(x->lsn[i], now);
			for (size_t i = 0; i < x->nsinks; i++)
				sink_tick(x->sinks[i], now);
			x->next_tick = now + 1000000u;
		}
		if (usr1_flag) {
			usr1_flag = 0;
			show_all(x, sout);
		}
	}
	coll_finish(x->coll, lsn_now_us());
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .loglevel = LOG_LVL_NOTE };
	struct run x = { 0 };
	char err[512] = "";
	int rc = 1;

	log_init("ipflow-collect", false, LOG_LVL_NOTE);
	coll_cfg_init(&o.cc);
	if (parse_opts(argc, argv, &o) != 0)
		return 2;
	log_level_cur = o.loglevel;

	struct sigaction sa = { .sa_handler = on_stop };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	x.coll = coll_new(&o.cc, err, sizeof(err));
	if (!x.coll)
		goto out;
	if (coll_loaded_templates(x.coll))
		log_note("%zu templates loaded from %s", coll_loaded_templates(x.coll), o.cc.tmpl_dir);
	const char *specs[MAX_OUT + 1];
	size_t nspec = 0;
	if (o.store_spec[0])
		specs[nspec++] = o.store_spec;
	for (size_t i = 0; i < o.nout; i++)
		specs[nspec++] = o.out[i];
	for (size_t i = 0; i < nspec; i++) {
		struct sink *s = sink_open(specs[i], err, sizeof(err));
		if (!s)
			goto out;
		x.sinks[x.nsinks++] = s;
		const char *c = strchr(specs[i], ':');
		if (c && strcmp(c + 1, "-") == 0)
			x.stdout_used = true;
	}
	coll_set_output(x.coll, out_fn, &x);

	if (o.read) {
		x.read = o.read;
		struct pcapread_cb cb = { on_file_msg, &x };
		if (pcapread_run(o.read, o.ports, o.nports, &cb, &x.rs, err, sizeof(err)) != 0)
			goto out;
		coll_finish(x.coll, x.next_tick);
	} else if (run_live(&x, &o, err, sizeof(err)) != 0) {
		goto out;
	}
	rc = 0;
out:
	if (rc && err[0])
		log_err("%s", err);
	for (size_t i = 0; i < x.nsinks; i++) { /* flush before the counters are read */
		sink_tick(x.sinks[i], lsn_now_us());
		sink_finish(x.sinks[i]);
	}
	if (x.coll && o.stats)
		show_all(&x, x.stdout_used ? stderr : stdout);
	for (size_t i = 0; i < x.nlsn; i++)
		listener_close(x.lsn[i]);
	for (size_t i = 0; i < x.nsinks; i++) {
		if (x.sinks[i]->st.dropped)
			rc = rc ? rc : 1;
		sink_close(x.sinks[i]);
	}
	coll_free(x.coll);
	return rc;
}
