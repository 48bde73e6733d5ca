/* report_print.c — a report as text (aligned columns, counts scaled to
 * three digits), CSV (exact; a last row "total") or JSON (exact; one
 * object). See report.h. */
#include "report/report.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

/* v as at most 5 characters of digits: exact below 100000, else three
 * significant digits and K, M, G, T, P, E (powers of 1000). */
static void scaled(uint64_t v, char *out, size_t cap)
{
	static const char units[] = "KMGTPE";
	if (v < 100000) {
		snprintf(out, cap, "%" PRIu64, v);
		return;
	}
	double d = (double)v;
	int u = -1;
	while (d >= 999.5 && u < 5) {
		d /= 1000.0;
		u++;
	}
	if (d >= 99.95)
		snprintf(out, cap, "%.0f %c", d, units[u]);
	else if (d >= 9.995)
		snprintf(out, cap, "%.1f %c", d, units[u]);
	else
		snprintf(out, cap, "%.2f %c", d, units[u]);
}

static void pct(uint64_t part, uint64_t whole, char *out, size_t cap)
{
	if (whole == 0)
		snprintf(out, cap, "-");
	else
		snprintf(out, cap, "%.1f%%", 100.0 * (double)part / (double)whole);
}

static void iso(uint64_t us, char *out, size_t cap)
{
	struct tm tm;
	time_t t = (time_t)(us / 1000000u);
	if (!gmtime_r(&t, &tm) || !strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, cap, "?");
}

static const char *order_title(enum report_order o)
{
	return report_order_name(o);
}

/* The filter as the command line would say it ("" for none). */
static void filter_text(const struct report_query *q, char *out, size_t cap)
{
	size_t n = 0;
	char a[64];
	out[0] = 0;
#define ADD(...)                                                                                                  \
	do {                                                                                                          \
		if (n < cap)                                                                                              \
			n += (size_t)snprintf(out + n, cap - n, __VA_ARGS__);                                                 \
	} while (0)
	if (q->exporter_af) {
		struct report_keyval k = { .af = q->exporter_af };
		memcpy(k.b, q->exporter, 16);
		report_key_format(RK_EXPORTER, &k, false, a, sizeof(a));
		ADD("%sexporter %s", n ? ", " : "", a);
	}
	const struct report_prefix *pf[3] = { &q->src, &q->dst, &q->addr };
	static const char *const pn[3] = { "src", "dst", "addr" };
	for (int i = 0; i < 3; i++) {
		if (!pf[i]->af)
			continue;
		struct report_keyval k = { .af = pf[i]->af };
		memcpy(k.b, pf[i]->addr, 16);
		report_key_format(RK_SRCADDR, &k, false, a, sizeof(a));
		ADD("%s%s %s/%u", n ? ", " : "", pn[i], a, pf[i]->len);
	}
	if (q->port >= 0)
		ADD("%sport %d", n ? ", " : "", q->port);
	if (q->proto >= 0) {
		const char *name = report_proto_name((unsigned)q->proto);
		if (name)
			ADD("%sproto %s", n ? ", " : "", name);
		else
			ADD("%sproto %d", n ? ", " : "", q->proto);
	}
	if (q->unsample)
		ADD("%sunsampled", n ? ", " : "");
#undef ADD
}

static void print_text(FILE *out, const struct report_query *q, const struct report_result *res,
                       const struct store_stats *st)
{
	const struct report_key_info *ki = report_key_info(q->key);
	char from[32], to[32], f[256], a[64], b[64], c[64];
	if (q->top && res->keys > q->top)
		fprintf(out, "Top %u of %" PRIu64 " %s values by %s", q->top, res->keys, ki->title, order_title(q->order));
	else
		fprintf(out, "All %" PRIu64 " %s values by %s", res->keys, ki->title, order_title(q->order));
	if (q->from_us == 0 && q->to_us == UINT64_MAX) {
		fputs(", all stored flows\n", out);
	} else {
		iso(q->from_us, from, sizeof(from));
		iso(q->to_us, to, sizeof(to));
		fprintf(out, ", flows ending %s .. %s\n", q->from_us ? from : "(start)",
		        q->to_us != UINT64_MAX ? to : "(now)");
	}
	filter_text(q, f, sizeof(f));
	if (f[0])
		fprintf(out, "Filter: %s\n", f);
	scaled(res->packets, a, sizeof(a));
	scaled(res->bytes, b, sizeof(b));
	fprintf(out, "Total: %" PRIu64 " flows, %s packets, %s bytes", res->flows, a, b);
	if (st)
		fprintf(out, " in %" PRIu64 " files", st->files);
	fputc('\n', out);
	if (st) {
		uint64_t damaged = st->files_bad + st->files_unsupp + st->files_truncated + st->files_mismatch +
		                   st->blocks_bad + st->records_bad;
		if (damaged)
			fprintf(out,
			        "Skipped: %" PRIu64 " unreadable files, %" PRIu64 " of an unknown version, %" PRIu64
			        " truncated, %" PRIu64 " damaged blocks, %" PRIu64 " bad records (details on stderr)\n",
			        st->files_bad + st->files_mismatch, st->files_unsupp, st->files_truncated, st->blocks_bad,
			        st->records_bad);
	}
	if (ki->both)
		fprintf(out, "(a flow counts under its source and its destination %s)\n", ki->name);
	fputc('\n', out);

	/* Key column: as wide as its widest value. */
	int kw = (int)strlen(ki->name);
	for (size_t i = 0; i < res->nrows; i++) {
		report_key_format(q->key, &res->rows[i].k, false, a, sizeof(a));
		if ((int)strlen(a) > kw)
			kw = (int)strlen(a);
	}
	if (kw < 5)
		kw = 5;
	int rw = res->nrows >= 1000 ? 5 : 3;
	fprintf(out, "%*s  %-*s  %8s %6s  %8s %6s  %8s %6s\n", rw, "#", kw, ki->name, "flows", "%", "packets", "%",
	        "bytes", "%");
	for (size_t i = 0; i < res->nrows; i++) {
		const struct report_row *r = &res->rows[i];
		char pf[16], pp[16], pb[16];
		report_key_format(q->key, &r->k, false, a, sizeof(a));
		scaled(r->flows, b, sizeof(b));
		pct(r->flows, res->flows, pf, sizeof(pf));
		fprintf(out, "%*zu  %-*s  %8s %6s", rw, i + 1, kw, a, b, pf);
		scaled(r->packets, b, sizeof(b));
		pct(r->packets, res->packets, pp, sizeof(pp));
		scaled(r->bytes, c, sizeof(c));
		pct(r->bytes, res->bytes, pb, sizeof(pb));
		fprintf(out, "  %8s %6s  %8s %6s\n", b, pp, c, pb);
	}
	scaled(res->flows, a, sizeof(a));
	scaled(res->packets, b, sizeof(b));
	scaled(res->bytes, c, sizeof(c));
	fprintf(out, "%*s  %-*s  %8s %6s  %8s %6s  %8s %6s\n", rw, "", kw, "total", a, res->flows ? "100%" : "-", b,
	        res->packets ? "100%" : "-", c, res->bytes ? "100%" : "-");
}

static void print_csv(FILE *out, const struct report_query *q, const struct report_result *res)
{
	const struct report_key_info *ki = report_key_info(q->key);
	char a[64];
	fprintf(out, "rank,%s,flows,packets,bytes\n", ki->name);
	for (size_t i = 0; i < res->nrows; i++) {
		const struct report_row *r = &res->rows[i];
		report_key_format(q->key, &r->k, true, a, sizeof(a));
		fprintf(out, "%zu,%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n", i + 1, a, r->flows, r->packets, r->bytes);
	}
	fprintf(out, "total,,%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n", res->flows, res->packets, res->bytes);
}

static void json_time(FILE *out, const char *name, uint64_t us, int none)
{
	char t[32];
	if (none) {
		fprintf(out, "\"%s\":null", name);
		return;
	}
	iso(us, t, sizeof(t));
	fprintf(out, "\"%s\":\"%s\",\"%s_us\":%" PRIu64, name, t, name, us);
}

static void print_json(FILE *out, const struct report_query *q, const struct report_result *res,
                       const struct store_stats *st)
{
	const struct report_key_info *ki = report_key_info(q->key);
	bool is_addr = ki->kind == RKIND_ADDR;
	char a[64];
	fprintf(out, "{\"key\":\"%s\",\"order\":\"%s\",\"top\":%u,", ki->name, report_order_name(q->order), q->top);
	json_time(out, "from", q->from_us, q->from_us == 0);
	fputc(',', out);
	json_time(out, "to", q->to_us, q->to_us == UINT64_MAX);
	fputs(",\"filter\":{", out);
	int n = 0;
	if (q->exporter_af) {
		struct report_keyval k = { .af = q->exporter_af };
		memcpy(k.b, q->exporter, 16);
		report_key_format(RK_EXPORTER, &k, true, a, sizeof(a));
		fprintf(out, "%s\"exporter\":\"%s\"", n++ ? "," : "", a);
	}
	const struct report_prefix *pf[3] = { &q->src, &q->dst, &q->addr };
	static const char *const pn[3] = { "src", "dst", "addr" };
	for (int i = 0; i < 3; i++) {
		if (!pf[i]->af)
			continue;
		struct report_keyval k = { .af = pf[i]->af };
		memcpy(k.b, pf[i]->addr, 16);
		report_key_format(RK_SRCADDR, &k, true, a, sizeof(a));
		fprintf(out, "%s\"%s\":\"%s/%u\"", n++ ? "," : "", pn[i], a, pf[i]->len);
	}
	if (q->port >= 0)
		fprintf(out, "%s\"port\":%d", n++ ? "," : "", q->port);
	if (q->proto >= 0)
		fprintf(out, "%s\"proto\":%d", n++ ? "," : "", q->proto);
	fprintf(out, "},\"unsample\":%s,", q->unsample ? "true" : "false");
	fprintf(out, "\"totals\":{\"flows\":%" PRIu64 ",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"keys\":%" PRIu64
	             "},\"rows\":[",
	        res->flows, res->packets, res->bytes, res->keys);
	for (size_t i = 0; i < res->nrows; i++) {
		const struct report_row *r = &res->rows[i];
		report_key_format(q->key, &r->k, true, a, sizeof(a));
		fprintf(out, "%s{\"rank\":%zu,\"%s\":%s%s%s,\"flows\":%" PRIu64 ",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
		        i ? "," : "", i + 1, ki->name, is_addr ? "\"" : "", a, is_addr ? "\"" : "", r->flows, r->packets,
		        r->bytes);
	}
	fputc(']', out);
	if (st)
		fprintf(out,
		        ",\"store\":{\"files\":%" PRIu64 ",\"files_skipped\":%" PRIu64 ",\"files_bad\":%" PRIu64
		        ",\"files_unsupported\":%" PRIu64 ",\"files_truncated\":%" PRIu64 ",\"files_mismatch\":%" PRIu64
		        ",\"blocks\":%" PRIu64 ",\"blocks_skipped\":%" PRIu64 ",\"blocks_bad\":%" PRIu64
		        ",\"bytes_skipped\":%" PRIu64 ",\"records\":%" PRIu64 ",\"records_bad\":%" PRIu64 "}",
		        st->files, st->files_skipped, st->files_bad, st->files_unsupp, st->files_truncated,
		        st->files_mismatch, st->blocks, st->blocks_skipped, st->blocks_bad, st->bytes_skipped, st->records,
		        st->records_bad);
	fputs("}\n", out);
}

void report_print(FILE *out, enum report_fmt fmt, const struct report_query *q, const struct report_result *res,
                  const struct store_stats *st)
{
	switch (fmt) {
	case RF_CSV:
		print_csv(out, q, res);
		break;
	case RF_JSON:
		print_json(out, q, res, st);
		break;
	default:
		print_text(out, q, res, st);
		break;
	}
}
