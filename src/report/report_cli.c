/* report_cli.c — `ipflow report`: the command line over the report engine
 * and the file store backend. One option table drives getopt and --help. */
#include "report/report.h"
#include "report/ch_report.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"

enum {
	O_FROM = 1000, O_TO, O_EXPORTER, O_SRC, O_DST, O_ADDR, O_PORT, O_PROTO, O_BY, O_TOP, O_ORDER, O_FORMAT,
	O_UNSAMPLE, O_MAXKEYS, O_SOURCE,
};

static const struct optdef {
	const char *name;
	int has_arg;
	int val;
	const char *arg;
	const char *help;
} optdefs[] = {
	{ "dir", 1, 'w', "DIR", "data directory of ipflow-collect -w (or one .ipfs file)" },
	{ "source", 1, O_SOURCE, "clickhouse:URL", "run the report as SQL in ClickHouse (http://HOST:PORT/DB.TABLE[?credentials=FILE])" },
	{ "from", 1, O_FROM, "TIME", "flows ending at or after TIME (ISO 8601, UTC unless a zone is given, or unix seconds)" },
	{ "to", 1, O_TO, "TIME", "flows ending before TIME" },
	{ "exporter", 1, O_EXPORTER, "ADDR", "only this exporter's flows" },
	{ "src", 1, O_SRC, "PREFIX", "source address in PREFIX (ADDR or ADDR/LEN, IPv4 or IPv6)" },
	{ "dst", 1, O_DST, "PREFIX", "destination address in PREFIX" },
	{ "addr", 1, O_ADDR, "PREFIX", "source or destination address in PREFIX" },
	{ "port", 1, O_PORT, "N", "source or destination port N (TCP, UDP, SCTP, DCCP, UDP-Lite)" },
	{ "proto", 1, O_PROTO, "P", "protocol number or name (tcp, udp, icmp, ...)" },
	{ "by", 1, O_BY, "KEY", "srcaddr|dstaddr|addr|srcport|dstport|port|proto|srcas|dstas|as|inif|outif|exporter (default srcaddr)" },
	{ "top", 1, O_TOP, "N", "rows to print (default 10; 0 = all)" },
	{ "order", 1, O_ORDER, "bytes|packets|flows", "rank by this counter (default bytes)" },
	{ "format", 1, O_FORMAT, "text|csv|json", "output format (default text)" },
	{ "unsample", 0, O_UNSAMPLE, NULL, "multiply packets and bytes by each record's sampling interval" },
	{ "max-keys", 1, O_MAXKEYS, "N", "refuse more than N distinct keys (default 4000000; bounds memory)" },
	{ "help", 0, 'h', NULL, "this help" },
};
#define NOPTS (sizeof(optdefs) / sizeof(optdefs[0]))

static void usage(FILE *out)
{
	fputs("usage: ipflow report -w DIR [options]\n"
	      "       ipflow report --source clickhouse:http://HOST:PORT/DB.TABLE [options]\n"
	      "Totals and the top N keys of the stored flows, by bytes, packets or flows.\n\n",
	      out);
	for (size_t i = 0; i < NOPTS; i++) {
		char lhs[64];
		const struct optdef *o = &optdefs[i];
		if (o->val < 256)
			snprintf(lhs, sizeof(lhs), "-%c, --%s%s%s", o->val, o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(lhs, sizeof(lhs), "    --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(out, "  %-30s %s\n", lhs, o->help);
	}
}

static int bad(const char *opt, const char *val, const char *want)
{
	fprintf(stderr, "ipflow report: --%s: '%s' is not %s\n", opt, val, want);
	return 2;
}

static int parse_uint(const char *s, uint64_t max, uint64_t *v)
{
	char *end;
	if (*s < '0' || *s > '9')
		return ERR_FORMAT;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || *end || x > max)
		return ERR_FORMAT;
	*v = x;
	return ERR_OK;
}

int report_main(int argc, char **argv)
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

	struct report_query q;
	report_query_init(&q);
	const char *dir = NULL, *source = NULL;
	enum report_fmt fmt = RF_TEXT;
	uint64_t max_keys = 4000000, v;
	int c, k;
	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		switch (c) {
		case 'w':
			dir = optarg;
			break;
		case O_SOURCE:
			if (strncmp(optarg, "clickhouse:", 11) != 0)
				return bad("source", optarg, "clickhouse:http://HOST:PORT/DB.TABLE");
			source = optarg + 11;
			break;
		case O_FROM:
			if (report_parse_time(optarg, &q.from_us) != ERR_OK)
				return bad("from", optarg, "a time (2024-05-01T10:00:00Z, 2024-05-01 10:00, or unix seconds)");
			break;
		case O_TO:
			if (report_parse_time(optarg, &q.to_us) != ERR_OK)
				return bad("to", optarg, "a time (2024-05-01T10:00:00Z, 2024-05-01 10:00, or unix seconds)");
			break;
		case O_EXPORTER: {
			struct report_prefix p;
			if (report_parse_prefix(optarg, &p) != ERR_OK || p.len != (p.af == 6 ? 128 : 32))
				return bad("exporter", optarg, "an IPv4 or IPv6 address");
			q.exporter_af = p.af;
			memcpy(q.exporter, p.addr, 16);
			break;
		}
		case O_SRC:
		case O_DST:
		case O_ADDR: {
			struct report_prefix *p = c == O_SRC ? &q.src : c == O_DST ? &q.dst : &q.addr;
			if (report_parse_prefix(optarg, p) != ERR_OK)
				return bad(c == O_SRC ? "src" : c == O_DST ? "dst" : "addr", optarg,
				           "an address or prefix (10.0.0.0/8, 2001:db8::/32)");
			break;
		}
		case O_PORT:
			if (parse_uint(optarg, 65535, &v) != ERR_OK)
				return bad("port", optarg, "a port from 0 to 65535");
			q.port = (int32_t)v;
			break;
		case O_PROTO:
			if (report_parse_proto(optarg, &q.proto) != ERR_OK)
				return bad("proto", optarg, "a protocol number (0-255) or name (tcp, udp, icmp, ...)");
			break;
		case O_BY:
			if ((k = report_key_by_name(optarg)) < 0)
				return bad("by", optarg,
				           "a key: srcaddr dstaddr addr srcport dstport port proto srcas dstas as inif outif exporter");
			q.key = (enum report_key)k;
			break;
		case O_TOP:
			if (parse_uint(optarg, UINT32_MAX, &v) != ERR_OK)
				return bad("top", optarg, "a number of rows (0 = all)");
			q.top = (uint32_t)v;
			break;
		case O_ORDER:
			if ((k = report_order_by_name(optarg)) < 0)
				return bad("order", optarg, "bytes, packets or flows");
			q.order = (enum report_order)k;
			break;
		case O_FORMAT:
			if ((k = report_fmt_by_name(optarg)) < 0)
				return bad("format", optarg, "text, csv or json");
			fmt = (enum report_fmt)k;
			break;
		case O_UNSAMPLE:
			q.unsample = true;
			break;
		case O_MAXKEYS:
			if (parse_uint(optarg, SIZE_MAX / 2, &v) != ERR_OK || v == 0)
				return bad("max-keys", optarg, "a positive number");
			max_keys = v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ipflow report: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!dir == !source) {
		fprintf(stderr, "ipflow report: -w DIR is required (the data directory of ipflow-collect -w), "
		                "or --source clickhouse:URL instead\n");
		return 2;
	}
	if (q.from_us >= q.to_us) {
		fprintf(stderr, "ipflow report: --from must be before --to\n");
		return 2;
	}
	struct report_result res;
	struct store_stats st;
	char err[512];
	int rc = source ? report_run_clickhouse(source, &q, &res, err, sizeof(err))
	                : report_run_store(dir, &q, (size_t)max_keys, &res, &st, stderr, err, sizeof(err));
	if (rc != ERR_OK) {
		fprintf(stderr, "ipflow report: %s\n", err);
		report_result_free(&res);
		return 1;
	}
	report_print(stdout, fmt, &q, &res, source ? NULL : &st);
	report_result_free(&res);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "ipflow report: writing the output: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
