/* ipflow-gen — synthetic traffic with exact ground truth, as a pcap file.
 *
 * main.c holds the command line (one table: name, letter, type, range,
 * default and help of every option), opens the outputs, runs the
 * generator (gen_run.h) and prints the summary. See doc/ipflow-gen.1. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_frame.h"
#include "gen_run.h"
#include "lib/err.h"

struct gen_cli {
	const char *out, *truth, *truth_packets;
	uint64_t packets, seed, start;
	uint64_t concurrent, snaplen;
	double rate, active, inactive;
	int v4_only, quiet, help;
};

enum cli_type { CLI_U64, CLI_SEC, CLI_STR, CLI_FLAG };

struct cli_opt {
	const char *name;
	int letter;          /* 0: long only */
	enum cli_type type;
	size_t off;          /* field in struct gen_cli */
	double min, max;     /* CLI_U64, CLI_SEC: accepted range */
	const char *arg;
	const char *help;
};

#define CLI_F(field) offsetof(struct gen_cli, field)

static const struct cli_opt cli_opts[] = {
	{ "output", 'o', CLI_STR, CLI_F(out), 0, 0, "FILE", "pcap file to write, - for stdout (required)" },
	{ "packets", 'n', CLI_U64, CLI_F(packets), 0, 1e12, "N", "packets to write (100000)" },
	{ "concurrent", 'c', CLI_U64, CLI_F(concurrent), 1, 16777215, "N", "sessions in progress at once (1000)" },
	{ "seed", 's', CLI_U64, CLI_F(seed), 0, 1.85e19, "N", "random seed; same arguments, same bytes (1)" },
	{ "flows-per-sec", 0, CLI_SEC, CLI_F(rate), 1e-6, 1e9, "R", "sessions arrive at R per second (default: as others end)" },
	{ "active", 0, CLI_SEC, CLI_F(active), 0.001, 1e7, "SEC", "active timeout the traffic is shaped for (1800)" },
	{ "inactive", 0, CLI_SEC, CLI_F(inactive), 0.001, 1e7, "SEC", "inactive timeout the traffic is shaped for (15)" },
	{ "start-time", 0, CLI_U64, CLI_F(start), 0, 4000000000.0, "EPOCH_SEC", "time of the capture start (1700000000)" },
	{ "v4-only", 0, CLI_FLAG, CLI_F(v4_only), 0, 0, NULL, "IPv4 only: no IPv6 sessions" },
	{ "truth", 0, CLI_STR, CLI_F(truth), 0, 0, "FILE", "write one CSV row per flow key" },
	{ "truth-packets", 0, CLI_STR, CLI_F(truth_packets), 0, 0, "FILE", "write one CSV row per packet" },
	{ "snaplen", 0, CLI_U64, CLI_F(snaplen), 1, 262144, "N", "capture at most N bytes of each frame (65535)" },
	{ "quiet", 'q', CLI_FLAG, CLI_F(quiet), 0, 0, NULL, "no summary on stderr" },
	{ "help", 'h', CLI_FLAG, CLI_F(help), 0, 0, NULL, "this help" },
};

#define CLI_N (sizeof(cli_opts) / sizeof(cli_opts[0]))

static void cli_usage(FILE *f)
{
	fprintf(f, "usage: ipflow-gen -o FILE.pcap [options]\n");
	for (size_t i = 0; i < CLI_N; i++) {
		const struct cli_opt *o = &cli_opts[i];
		char lhs[48];
		if (o->letter)
			snprintf(lhs, sizeof(lhs), "-%c, --%s%s%s", o->letter, o->name, o->arg ? " " : "",
				 o->arg ? o->arg : "");
		else
			snprintf(lhs, sizeof(lhs), "    --%s%s%s", o->name, o->arg ? " " : "",
				 o->arg ? o->arg : "");
		fprintf(f, "  %-30s %s\n", lhs, o->help);
	}
}

/* Store value s of option o into c. Returns 0 or -1 after a message. */
static int cli_set(struct gen_cli *c, const struct cli_opt *o, const char *s)
{
	char *end;
	void *field = (char *)c + o->off;

	switch (o->type) {
	case CLI_STR:
		*(const char **)field = s;
		return 0;
	case CLI_FLAG:
		*(int *)field = 1;
		return 0;
	case CLI_U64: {
		errno = 0;
		unsigned long long v = strtoull(s, &end, 10);
		if (errno || end == s || *end || s[0] == '-' || (double)v < o->min ||
		    (double)v > o->max)
			break;
		*(uint64_t *)field = v;
		return 0;
	}
	case CLI_SEC: {
		errno = 0;
		double v = strtod(s, &end);
		if (errno || end == s || *end || !isfinite(v) || v < o->min || v > o->max)
			break;
		*(double *)field = v;
		return 0;
	}
	}
	fprintf(stderr, "ipflow-gen: --%s: bad value '%s' (%g..%g)\n", o->name, s, o->min, o->max);
	return -1;
}

/* Parse argv through the table. Returns 0, or -1 after a message. */
static int cli_parse(struct gen_cli *c, int argc, char **argv)
{
	struct option lo[CLI_N + 1];
	char so[CLI_N * 2 + 2];
	size_t ns = 0;

	so[ns++] = ':';
	for (size_t i = 0; i < CLI_N; i++) {
		const struct cli_opt *o = &cli_opts[i];
		bool arg = o->type != CLI_FLAG;
		lo[i] = (struct option){ o->name, arg ? required_argument : no_argument, NULL,
					 (int)(256 + i) };
		if (o->letter) {
			so[ns++] = (char)o->letter;
			if (arg)
				so[ns++] = ':';
		}
	}
	lo[CLI_N] = (struct option){ 0 };
	so[ns] = 0;

	int ch;
	while ((ch = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		const struct cli_opt *o = NULL;
		if (ch >= 256) {
			o = &cli_opts[ch - 256];
		} else {
			for (size_t i = 0; i < CLI_N; i++)
				if (cli_opts[i].letter == ch)
					o = &cli_opts[i];
		}
		if (!o) {
			if (ch == ':')
				fprintf(stderr, "ipflow-gen: %s needs a value\n", argv[optind - 1]);
			else
				fprintf(stderr, "ipflow-gen: unknown option %s\n", argv[optind - 1]);
			return -1;
		}
		if (cli_set(c, o, optarg) != 0)
			return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "ipflow-gen: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

/* ---- summary ---------------------------------------------------------------- */

struct proto_name {
	uint8_t proto;
	const char *name;
};

static const struct proto_name proto_names[] = {
	{ 1, "icmp" }, { 2, "igmp" }, { 6, "tcp" }, { 17, "udp" },
	{ 47, "gre" }, { 50, "esp" }, { 58, "ipv6-icmp" },
};

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0;
}

static void summary(FILE *f, const struct gen_stats *st, const struct gen_truth *t,
		    const struct gen_model *m)
{
	uint64_t keys[256] = { 0 }, pkts[256] = { 0 }, bytes[256] = { 0 };

	for (uint32_t i = 0; i < t->n; i++) {
		const struct gen_truth_ent *e = &t->e[i];
		keys[e->k.proto]++;
		pkts[e->k.proto] += e->packets;
		bytes[e->k.proto] += e->bytes;
	}
	fprintf(f, "ipflow-gen: %llu packets, %u flows (keys), %llu IP bytes, %llu sessions\n",
		(unsigned long long)st->packets, t->n, (unsigned long long)st->bytes,
		(unsigned long long)m->sessions);
	if (st->packets)
		fprintf(f, "  time span %llu.%06llu .. %llu.%06llu (%.6f s)\n",
			(unsigned long long)(st->first_us / 1000000),
			(unsigned long long)(st->first_us % 1000000),
			(unsigned long long)(st->last_us / 1000000),
			(unsigned long long)(st->last_us % 1000000),
			(double)(st->last_us - st->first_us) / 1e6);
	fprintf(f, "  %-10s %10s %12s %15s\n", "protocol", "keys", "packets", "bytes");
	for (size_t i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++) {
		uint8_t p = proto_names[i].proto;
		if (keys[p])
			fprintf(f, "  %-10s %10llu %12llu %15llu  (%.1f%% of packets)\n",
				proto_names[i].name, (unsigned long long)keys[p],
				(unsigned long long)pkts[p], (unsigned long long)bytes[p],
				pct(pkts[p], st->packets));
	}
	fprintf(f, "  packets: IPv4 %.1f%%, IPv6 %.1f%%; fragments %llu\n",
		pct(st->by_af[0], st->packets), pct(st->by_af[1], st->packets),
		(unsigned long long)st->frags);
	fprintf(f, "  packets by encapsulation:");
	for (unsigned i = 0; i < GEN_L2_COUNT; i++)
		fprintf(f, " %s %.1f%%", gen_encap_name(i), pct(st->by_encap[i], st->packets));
	fprintf(f, "\n  sessions by kind:");
	for (unsigned i = 0; i < GEN_K_COUNT; i++)
		fprintf(f, " %s %llu", gen_kind_name(i), (unsigned long long)m->sessions_by_kind[i]);
	fprintf(f, "\n  packets by kind:");
	for (unsigned i = 0; i < GEN_K_COUNT; i++)
		fprintf(f, " %s %.1f%%", gen_kind_name(i), pct(st->by_kind[i], st->packets));
	fprintf(f, "\n  sessions by timing:");
	for (unsigned i = 0; i < GEN_C_COUNT; i++)
		fprintf(f, " %s %llu", gen_class_name(i), (unsigned long long)m->sessions_by_class[i]);
	fprintf(f, "\n  packets by timing:");
	for (unsigned i = 0; i < GEN_C_COUNT; i++)
		fprintf(f, " %s %.1f%%", gen_class_name(i), pct(st->by_class[i], st->packets));
	fprintf(f, "\n  tcp sessions ending: fin %llu, rst %llu, none %llu\n",
		(unsigned long long)m->sessions_by_end[GEN_END_FIN],
		(unsigned long long)m->sessions_by_end[GEN_END_RST],
		(unsigned long long)m->sessions_by_end[GEN_END_NONE]);
	if (st->deferred)
		fprintf(f, "  %llu arrivals waited for one of the -c slots\n",
			(unsigned long long)st->deferred);
}

/* ---- main ------------------------------------------------------------------- */

static FILE *open_out(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "ipflow-gen: %s: %s\n", path, strerror(errno));
	return f;
}

int main(int argc, char **argv)
{
	struct gen_cli cli = {
		.packets = 100000, .concurrent = 1000, .seed = 1, .start = 1700000000,
		.snaplen = 65535, .active = 1800, .inactive = 15,
	};
	FILE *ftruth = NULL, *fpkts = NULL;
	struct gen_pcap w = { 0 };
	struct gen_truth t = { 0 };
	struct gen_model m;
	struct gen_stats st;
	bool want_truth;
	int r, rc = 1;

	if (cli_parse(&cli, argc, argv) != 0) {
		cli_usage(stderr);
		return 2;
	}
	if (cli.help) {
		cli_usage(stdout);
		return 0;
	}
	if (!cli.out) {
		fprintf(stderr, "ipflow-gen: -o FILE is required\n");
		cli_usage(stderr);
		return 2;
	}
	if (cli.truth && !(ftruth = open_out(cli.truth)))
		goto out;
	if (cli.truth_packets && !(fpkts = open_out(cli.truth_packets)))
		goto out;

	want_truth = ftruth || fpkts || !cli.quiet;
	if (want_truth && (r = gen_truth_init(&t, fpkts)) != ERR_OK) {
		fprintf(stderr, "ipflow-gen: %s\n", err_str(r));
		goto out;
	}
	r = gen_pcap_open(&w, cli.out, (uint32_t)cli.snaplen);
	if (r != ERR_OK) {
		fprintf(stderr, "ipflow-gen: %s: %s\n", cli.out,
			r == ERR_IO ? strerror(errno) : err_str(r));
		goto out;
	}

	uint64_t active_us = (uint64_t)(cli.active * 1e6 + 0.5);
	uint64_t inactive_us = (uint64_t)(cli.inactive * 1e6 + 0.5);
	gen_frame_init(cli.seed);
	gen_model_init(&m, cli.seed, active_us, inactive_us, cli.v4_only);
	struct gen_opts o = {
		.packets = cli.packets,
		.concurrent = (uint32_t)cli.concurrent,
		.flows_per_sec = cli.rate,
		.start_us = cli.start * 1000000,
	};
	r = gen_run(&o, &m, &w, want_truth ? &t : NULL, &st);
	if (r != ERR_OK) {
		fprintf(stderr, "ipflow-gen: %s%s\n", r == ERR_IO ? "writing the pcap: " : "",
			r == ERR_RANGE ? "timestamps pass 2^32 seconds" : err_str(r));
		goto out;
	}
	r = gen_pcap_close(&w);
	if (r != ERR_OK) {
		fprintf(stderr, "ipflow-gen: %s: %s\n", cli.out, err_str(r));
		goto out;
	}
	if (fpkts && gen_truth_finish_packets(&t) != ERR_OK) {
		fprintf(stderr, "ipflow-gen: %s: write error\n", cli.truth_packets);
		goto out;
	}
	if (!cli.quiet)
		summary(stderr, &st, &t, &m);
	if (ftruth && gen_truth_write_flows(&t, ftruth) != ERR_OK) {
		fprintf(stderr, "ipflow-gen: %s: write error\n", cli.truth);
		goto out;
	}
	rc = 0;
out:
	if (gen_pcap_close(&w) != ERR_OK)
		rc = 1;
	if (ftruth && fclose(ftruth) != 0)
		rc = 1;
	if (fpkts && fclose(fpkts) != 0)
		rc = 1;
	gen_truth_free(&t);
	return rc;
}
