/* ch_report.c — `ipflow report --source clickhouse:URL`: report_query as
 * SQL (contract in ch_report.h). Only numbers and hex literals built here
 * from the parsed query go into the SQL text; names are checked by
 * ch_cfg_parse. */
#include "report/ch_report.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/ch_http.h"
#include "lib/err.h"

#define PORT_PROTOS "(6, 17, 132, 33, 136)"
#define MAPPED_PREFIX "unhex('00000000000000000000FFFF')"

/* SQL for one key: its address family (0 for numbers) and its value. For
 * a "both" key, the value is an arrayJoin over the two sides. */
struct key_sql {
	const char *af;
	const char *val;
	int addr; /* the value is a FixedString(16) address */
};

static const struct key_sql key_sqls[RK_MAX_] = {
	[RK_SRCADDR] = { "ipVersion", "sourceIPAddress", 1 },
	[RK_DSTADDR] = { "ipVersion", "destinationIPAddress", 1 },
	[RK_ADDR] = { "ipVersion",
	              "arrayJoin(if(sourceIPAddress = destinationIPAddress, [sourceIPAddress], "
	              "[sourceIPAddress, destinationIPAddress]))",
	              1 },
	[RK_SRCPORT] = { "0", "if(protocolIdentifier IN " PORT_PROTOS ", sourceTransportPort, 0)", 0 },
	[RK_DSTPORT] = { "0", "if(protocolIdentifier IN " PORT_PROTOS ", destinationTransportPort, 0)", 0 },
	[RK_PORT] = { "0",
	              "arrayJoin(if(protocolIdentifier IN " PORT_PROTOS ", if(sourceTransportPort = destinationTransportPort, "
	              "[sourceTransportPort], [sourceTransportPort, destinationTransportPort]), [toUInt16(0)]))",
	              0 },
	[RK_PROTO] = { "0", "protocolIdentifier", 0 },
	[RK_SRCAS] = { "0", "bgpSourceAsNumber", 0 },
	[RK_DSTAS] = { "0", "bgpDestinationAsNumber", 0 },
	[RK_AS] = { "0",
	            "arrayJoin(if(bgpSourceAsNumber = bgpDestinationAsNumber, [bgpSourceAsNumber], "
	            "[bgpSourceAsNumber, bgpDestinationAsNumber]))",
	            0 },
	[RK_INIF] = { "0", "ingressInterface", 0 },
	[RK_OUTIF] = { "0", "egressInterface", 0 },
	[RK_EXPORTER] = { "if(substring(exporterIPAddress, 1, 12) = " MAPPED_PREFIX ", 4, 6)", "exporterIPAddress", 1 },
};

struct sqlbuf {
	char *p;
	size_t cap, len;
	int over;
};

static void add(struct sqlbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct sqlbuf *b, const char *fmt, ...)
{
	if (b->over)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len) {
		b->over = 1;
		return;
	}
	b->len += (size_t)n;
}

/* 16 bytes of address af (IPv4 in the first 4 bytes) as the column holds it. */
static void col_bytes(uint8_t af, const uint8_t *a, uint8_t out[16])
{
	if (af == 6) {
		memcpy(out, a, 16);
		return;
	}
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, a, 4);
}

static void hex16(const uint8_t b[16], char out[33])
{
	static const char d[] = "0123456789ABCDEF";
	for (int i = 0; i < 16; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[32] = '\0';
}

/* col within prefix p: the family, and a byte range over the column. */
static void add_prefix(struct sqlbuf *b, const char *col, const struct report_prefix *p)
{
	uint8_t lo[16], hi[16];
	uint8_t a[16];
	unsigned bits = p->af == 6 ? 128 : 32;
	memcpy(a, p->addr, 16);
	uint8_t top[16];
	memcpy(top, a, 16);
	for (unsigned i = p->len; i < bits; i++)
		top[i / 8] |= (uint8_t)(0x80u >> (i % 8));
	col_bytes(p->af, a, lo);
	col_bytes(p->af, top, hi);
	char hl[33], hh[33];
	hex16(lo, hl);
	hex16(hi, hh);
	add(b, "(ipVersion = %u AND %s >= toFixedString(unhex('%s'), 16) AND %s <= toFixedString(unhex('%s'), 16))", p->af,
	    col, hl, col, hh);
}

static void add_where(struct sqlbuf *b, const struct report_query *q)
{
	add(b, " WHERE 1");
	const char *t = "if(flowEndMilliseconds > 0, flowEndMilliseconds * 1000, toUInt64(collectionTimeSeconds) * 1000000)";
	if (q->from_us)
		add(b, " AND %s >= %" PRIu64, t, q->from_us);
	if (q->to_us != UINT64_MAX)
		add(b, " AND %s < %" PRIu64, t, q->to_us);
	if (q->exporter_af) {
		uint8_t e[16];
		char h[33];
		col_bytes(q->exporter_af, q->exporter, e);
		hex16(e, h);
		add(b, " AND exporterIPAddress = toFixedString(unhex('%s'), 16)", h);
	}
	if (q->proto >= 0)
		add(b, " AND protocolIdentifier = %d", (int)q->proto);
	if (q->port >= 0)
		add(b, " AND protocolIdentifier IN " PORT_PROTOS " AND (sourceTransportPort = %d OR destinationTransportPort = %d)",
		    (int)q->port, (int)q->port);
	if (q->src.af) {
		add(b, " AND ");
		add_prefix(b, "sourceIPAddress", &q->src);
	}
	if (q->dst.af) {
		add(b, " AND ");
		add_prefix(b, "destinationIPAddress", &q->dst);
	}
	if (q->addr.af) {
		add(b, " AND (");
		add_prefix(b, "sourceIPAddress", &q->addr);
		add(b, " OR ");
		add_prefix(b, "destinationIPAddress", &q->addr);
		add(b, ")");
	}
}

/* The inner select: key family, key value, counters (unsampled if asked). */
static void add_inner(struct sqlbuf *b, const char *db, const char *table, const struct report_query *q)
{
	const struct key_sql *k = &key_sqls[q->key];
	const char *m = q->unsample ? " * if(samplingInterval > 1, samplingInterval, 1)" : "";
	add(b, "SELECT toUInt8(%s) AS kaf, %s AS k, packetDeltaCount%s AS p, octetDeltaCount%s AS o FROM %s.%s", k->af,
	    k->val, m, m, db, table);
	add_where(b, q);
}

int ch_report_sql(const char *db, const char *table, const struct report_query *q, char *rows, size_t rowslen,
                  char *totals, size_t totlen, char *keys, size_t keyslen)
{
	if ((unsigned)q->key >= RK_MAX_ || (unsigned)q->order >= RO_MAX_)
		return ERR_ARG;
	static const char *const order_col[RO_MAX_] = { [RO_BYTES] = "bytes", [RO_PACKETS] = "packets", [RO_FLOWS] = "flows" };
	const struct key_sql *k = &key_sqls[q->key];
	struct sqlbuf b = { rows, rowslen, 0, 0 };
	add(&b, "SELECT kaf, %s, count() AS flows, sum(p) AS packets, sum(o) AS bytes FROM (",
	    k->addr ? "hex(k)" : "toString(k)");
	add_inner(&b, db, table, q);
	add(&b, ") GROUP BY kaf, k ORDER BY %s DESC, kaf, k", order_col[q->order]);
	if (q->top)
		add(&b, " LIMIT %" PRIu32, q->top);
	add(&b, " FORMAT TabSeparated");
	if (b.over)
		return ERR_NOSPACE;

	/* totals over rows, not over the both-key expansion */
	struct sqlbuf t = { totals, totlen, 0, 0 };
	const char *m = q->unsample ? " * if(samplingInterval > 1, samplingInterval, 1)" : "";
	add(&t, "SELECT count(), sum(packetDeltaCount%s), sum(octetDeltaCount%s) FROM %s.%s", m, m, db, table);
	add_where(&t, q);
	add(&t, " FORMAT TabSeparated");
	if (t.over)
		return ERR_NOSPACE;

	struct sqlbuf kq = { keys, keyslen, 0, 0 };
	add(&kq, "SELECT count() FROM (SELECT kaf, k FROM (");
	add_inner(&kq, db, table, q);
	add(&kq, ") GROUP BY kaf, k) FORMAT TabSeparated");
	return kq.over ? ERR_NOSPACE : ERR_OK;
}

static int parse_hex16(const char *s, size_t len, uint8_t out[16])
{
	if (len != 32)
		return ERR_FORMAT;
	for (int i = 0; i < 16; i++) {
		unsigned v = 0;
		for (int j = 0; j < 2; j++) {
			char c = s[2 * i + j];
			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'A' && c <= 'F')
				v |= (unsigned)(c - 'A' + 10);
			else
				return ERR_FORMAT;
		}
		out[i] = (uint8_t)v;
	}
	return ERR_OK;
}

/* One result line: kaf \t key \t flows \t packets \t bytes. */
static int parse_row(const char *line, size_t len, int addr, struct report_row *row)
{
	char buf[256];
	if (len >= sizeof(buf))
		return ERR_FORMAT;
	memcpy(buf, line, len);
	buf[len] = '\0';
	char *f[5], *save = NULL;
	int n = 0;
	for (char *tok = strtok_r(buf, "\t", &save); tok && n < 5; tok = strtok_r(NULL, "\t", &save))
		f[n++] = tok;
	if (n != 5)
		return ERR_FORMAT;
	memset(row, 0, sizeof(*row));
	unsigned af = (unsigned)strtoul(f[0], NULL, 10);
	if (addr) {
		uint8_t b16[16];
		if ((af != 4 && af != 6) || parse_hex16(f[1], strlen(f[1]), b16))
			return ERR_FORMAT;
		row->k.af = (uint8_t)af;
		if (af == 4)
			memcpy(row->k.b, b16 + 12, 4);
		else
			memcpy(row->k.b, b16, 16);
	} else {
		uint32_t v = (uint32_t)strtoul(f[1], NULL, 10);
		row->k.af = 0;
		row->k.b[0] = (uint8_t)(v >> 24);
		row->k.b[1] = (uint8_t)(v >> 16);
		row->k.b[2] = (uint8_t)(v >> 8);
		row->k.b[3] = (uint8_t)v;
	}
	row->flows = strtoull(f[2], NULL, 10);
	row->packets = strtoull(f[3], NULL, 10);
	row->bytes = strtoull(f[4], NULL, 10);
	return ERR_OK;
}

int report_run_clickhouse(const char *url, const struct report_query *q, struct report_result *res, char *err,
                          size_t errlen)
{
	struct ch_cfg cfg;
	struct ch_http h;
	char rows_sql[8192], tot_sql[4096], keys_sql[8192];
	memset(res, 0, sizeof(*res));
	int rc = ch_cfg_parse(url, 1, &cfg, err, errlen);
	if (rc)
		return rc;
	rc = ch_report_sql(cfg.db, cfg.table, q, rows_sql, sizeof(rows_sql), tot_sql, sizeof(tot_sql), keys_sql,
	                   sizeof(keys_sql));
	if (rc) {
		snprintf(err, errlen, "clickhouse report: cannot build the query: %s", err_str(rc));
		return rc;
	}
	if (ch_http_init(&h) != ERR_OK) {
		snprintf(err, errlen, "libcurl init failed");
		return ERR_NOMEM;
	}
	if (ch_http_sql(&h, &cfg, tot_sql) != CH_OK) {
		snprintf(err, errlen, "clickhouse %s%s.%s: %s", cfg.base, cfg.db, cfg.table, h.err);
		rc = ERR_IO;
		goto out;
	}
	unsigned long long c = 0, p = 0, o = 0;
	if (sscanf(h.resp, "%llu\t%llu\t%llu", &c, &p, &o) != 3) {
		snprintf(err, errlen, "clickhouse report: unexpected totals `%.60s'", h.resp);
		rc = ERR_FORMAT;
		goto out;
	}
	res->flows = c;
	res->packets = p;
	res->bytes = o;
	if (ch_http_sql(&h, &cfg, keys_sql) != CH_OK) {
		snprintf(err, errlen, "clickhouse %s%s.%s: %s", cfg.base, cfg.db, cfg.table, h.err);
		rc = ERR_IO;
		goto out;
	}
	res->keys = strtoull(h.resp, NULL, 10);
	if (ch_http_sql(&h, &cfg, rows_sql) != CH_OK) {
		snprintf(err, errlen, "clickhouse %s%s.%s: %s", cfg.base, cfg.db, cfg.table, h.err);
		rc = ERR_IO;
		goto out;
	}
	size_t lines = 0;
	for (const char *s = h.resp; *s; s++)
		lines += *s == '\n';
	res->rows = calloc(lines ? lines : 1, sizeof(*res->rows));
	if (!res->rows) {
		snprintf(err, errlen, "out of memory");
		rc = ERR_NOMEM;
		goto out;
	}
	int addr = key_sqls[q->key].addr;
	for (const char *s = h.resp; *s;) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		if (len && parse_row(s, len, addr, &res->rows[res->nrows]) == ERR_OK) {
			res->nrows++;
		} else if (len) {
			snprintf(err, errlen, "clickhouse report: unexpected row `%.*s'", (int)(len < 60 ? len : 60), s);
			rc = ERR_FORMAT;
			goto out;
		}
		s = nl ? nl + 1 : s + len;
	}
	rc = ERR_OK;
out:
	if (rc != ERR_OK)
		report_result_free(res);
	ch_http_free(&h);
	return rc;
}
