/* ch_schema.c — the ClickHouse column table, its DDL and RowBinary rows
 * (contract in ch_schema.h; RowBinary: little-endian fixed-width values
 * in column order, FixedString(N) as N raw bytes, DateTime as UInt32). */
#include "collect/ch_schema.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"

enum {
	CHC_TIME, CHC_EXPORTER, CHC_DOMAIN, CHC_VERSION, CHC_TMPL, CHC_SAMPLING, CHC_START, CHC_END,
	CHC_SRC, CHC_DST, CHC_NEXTHOP, CHC_IPVER, CHC_SPORT, CHC_DPORT, CHC_PROTO, CHC_TOS, CHC_FLAGS,
	CHC_DIR, CHC_IFIN, CHC_IFOUT, CHC_SRCAS, CHC_DSTAS, CHC_SRCMASK, CHC_DSTMASK, CHC_MINTTL,
	CHC_MAXTTL, CHC_MINLEN, CHC_MAXLEN, CHC_ENDREASON, CHC_OCTETS, CHC_PACKETS, CHC_BATCH,
};

#define K CH_ROLLUP_KEY
#define S CH_ROLLUP_SUM
#define O CH_ORDER
const struct ch_col ch_cols[] = {
	{ "collectionTimeSeconds",      CHT_DATETIME, CHC_TIME,      K,     258 },
	{ "exporterIPAddress",          CHT_ADDR,     CHC_EXPORTER,  K | O, 130 },
	{ "observationDomainId",        CHT_U32,      CHC_DOMAIN,    K | O, 149 },
	{ "exportVersion",              CHT_U16,      CHC_VERSION,   0,     0 },
	{ "templateId",                 CHT_U16,      CHC_TMPL,      0,     145 },
	{ "samplingInterval",           CHT_U32,      CHC_SAMPLING,  K,     34 },
	{ "flowStartMilliseconds",      CHT_U64,      CHC_START,     0,     152 },
	{ "flowEndMilliseconds",        CHT_U64,      CHC_END,       0,     153 },
	{ "sourceIPAddress",            CHT_ADDR,     CHC_SRC,       O,     8 },
	{ "destinationIPAddress",       CHT_ADDR,     CHC_DST,       O,     12 },
	{ "ipNextHopIPAddress",         CHT_ADDR,     CHC_NEXTHOP,   0,     15 },
	{ "ipVersion",                  CHT_U8,       CHC_IPVER,     K,     60 },
	{ "sourceTransportPort",        CHT_U16,      CHC_SPORT,     0,     7 },
	{ "destinationTransportPort",   CHT_U16,      CHC_DPORT,     0,     11 },
	{ "protocolIdentifier",         CHT_U8,       CHC_PROTO,     K,     4 },
	{ "ipClassOfService",           CHT_U8,       CHC_TOS,       0,     5 },
	{ "tcpControlBits",             CHT_U16,      CHC_FLAGS,     0,     6 },
	{ "flowDirection",              CHT_U8,       CHC_DIR,       K,     61 },
	{ "ingressInterface",           CHT_U32,      CHC_IFIN,      K,     10 },
	{ "egressInterface",            CHT_U32,      CHC_IFOUT,     K,     14 },
	{ "bgpSourceAsNumber",          CHT_U32,      CHC_SRCAS,     K,     16 },
	{ "bgpDestinationAsNumber",     CHT_U32,      CHC_DSTAS,     K,     17 },
	{ "sourceIPPrefixLength",       CHT_U8,       CHC_SRCMASK,   0,     9 },
	{ "destinationIPPrefixLength",  CHT_U8,       CHC_DSTMASK,   0,     13 },
	{ "minimumTTL",                 CHT_U8,       CHC_MINTTL,    0,     52 },
	{ "maximumTTL",                 CHT_U8,       CHC_MAXTTL,    0,     53 },
	{ "minimumIpTotalLength",       CHT_U16,      CHC_MINLEN,    0,     25 },
	{ "maximumIpTotalLength",       CHT_U16,      CHC_MAXLEN,    0,     26 },
	{ "flowEndReason",              CHT_U8,       CHC_ENDREASON, 0,     136 },
	{ "octetDeltaCount",            CHT_U64,      CHC_OCTETS,    S,     1 },
	{ "packetDeltaCount",           CHT_U64,      CHC_PACKETS,   S,     2 },
	{ "batchId",                    CHT_U64,      CHC_BATCH,     0,     0 },
};
#undef K
#undef S
#undef O
const size_t ch_ncols = sizeof(ch_cols) / sizeof(ch_cols[0]);

static const struct {
	const char *sql;
	uint8_t width;
} ch_types[CHT_MAX_] = {
	[CHT_DATETIME] = { "DateTime('UTC')", 4 },
	[CHT_U8] = { "UInt8", 1 },
	[CHT_U16] = { "UInt16", 2 },
	[CHT_U32] = { "UInt32", 4 },
	[CHT_U64] = { "UInt64", 8 },
	[CHT_ADDR] = { "FixedString(16)", 16 },
};

size_t ch_row_size(void)
{
	size_t n = 0;
	for (size_t i = 0; i < ch_ncols; i++)
		n += ch_types[ch_cols[i].type].width;
	return n;
}

int ch_col_index(const char *name)
{
	for (size_t i = 0; i < ch_ncols; i++)
		if (strcmp(ch_cols[i].name, name) == 0)
			return (int)i;
	return -1;
}

static inline void put_le(uint8_t *p, unsigned w, uint64_t v)
{
	for (unsigned i = 0; i < w; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t get_le(const uint8_t *p, unsigned w)
{
	uint64_t v = 0;
	for (unsigned i = w; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* 16 bytes for an address of family af held as crec/flowrec hold them:
 * IPv4 in the first 4 bytes becomes ::ffff:a.b.c.d. */
static inline void put_addr(uint8_t *p, const uint8_t *a, unsigned af)
{
	if (af == 6) {
		memcpy(p, a, 16);
		return;
	}
	memset(p, 0, 10);
	p[10] = 0xff;
	p[11] = 0xff;
	memcpy(p + 12, a, 4);
}

static uint64_t col_value(unsigned id, const struct crec *r, uint64_t batch_id)
{
	const struct flowrec *f = &r->f;
	switch (id) {
	case CHC_TIME: return r->recv_us / 1000000u;
	case CHC_DOMAIN: return r->domain;
	case CHC_VERSION: return r->version;
	case CHC_TMPL: return r->tmpl_id;
	case CHC_SAMPLING: return r->sampling;
	case CHC_START: return f->first_us / 1000u;
	case CHC_END: return f->last_us / 1000u;
	case CHC_IPVER: return f->key.af == 6 ? 6 : 4;
	case CHC_SPORT: return f->key.sport;
	case CHC_DPORT: return f->key.dport;
	case CHC_PROTO: return f->key.proto;
	case CHC_TOS: return f->key.tos;
	case CHC_FLAGS: return f->tcp_flags;
	case CHC_DIR: return f->key.dir;
	case CHC_IFIN: return f->key.ifindex;
	case CHC_IFOUT: return f->if_out;
	case CHC_SRCAS: return f->src_as;
	case CHC_DSTAS: return f->dst_as;
	case CHC_SRCMASK: return f->src_mask;
	case CHC_DSTMASK: return f->dst_mask;
	case CHC_MINTTL: return f->min_ttl;
	case CHC_MAXTTL: return f->max_ttl;
	case CHC_MINLEN: return f->min_len;
	case CHC_MAXLEN: return f->max_len;
	case CHC_ENDREASON: return flow_end_ipfix((enum flow_end)f->end);
	case CHC_OCTETS: return f->bytes;
	case CHC_PACKETS: return f->packets;
	case CHC_BATCH: return batch_id;
	default: return 0;
	}
}

void ch_row_put(uint8_t *p, const struct crec *r, uint64_t batch_id)
{
	unsigned faf = r->f.key.af == 6 ? 6 : 4;
	for (size_t i = 0; i < ch_ncols; i++) {
		const struct ch_col *c = &ch_cols[i];
		unsigned w = ch_types[c->type].width;
		if (c->type == CHT_ADDR) {
			switch (c->id) {
			case CHC_EXPORTER: put_addr(p, r->exporter, r->exporter_af == 6 ? 6 : 4); break;
			case CHC_SRC: put_addr(p, r->f.key.src, faf); break;
			case CHC_DST: put_addr(p, r->f.key.dst, faf); break;
			case CHC_NEXTHOP: put_addr(p, r->f.nexthop, faf); break;
			default: memset(p, 0, 16); break;
			}
		} else {
			uint64_t v = col_value(c->id, r, batch_id);
			/* fixed widths: a value wider than its column saturates
			 * (only the DateTime could, past 2106) */
			if (w < 8 && v >> (8 * w))
				v = (1ull << (8 * w)) - 1;
			put_le(p, w, v);
		}
		p += w;
	}
}

void ch_row_get(const uint8_t *p, uint64_t *vals, uint8_t addr[][16])
{
	for (size_t i = 0; i < ch_ncols; i++) {
		unsigned w = ch_types[ch_cols[i].type].width;
		if (ch_cols[i].type == CHT_ADDR) {
			memcpy(addr[i], p, 16);
			vals[i] = get_le(p + 8, 8);
		} else {
			vals[i] = get_le(p, w);
		}
		p += w;
	}
}

int ch_parse_version(const char *s, int *major, int *minor)
{
	char *end;
	long a = strtol(s, &end, 10);
	if (end == s || *end != '.' || a < 1 || a > 1000)
		return ERR_FORMAT;
	const char *q = end + 1;
	long b = strtol(q, &end, 10);
	if (end == q || b < 0 || b > 1000000)
		return ERR_FORMAT;
	*major = (int)a;
	*minor = (int)b;
	return ERR_OK;
}

static int ver_ge(int major, int minor, int want_major, int want_minor)
{
	return major > want_major || (major == want_major && minor >= want_minor);
}

void ch_features_for(int major, int minor, struct ch_features *f)
{
	memset(f, 0, sizeof(*f));
	f->codecs = (uint8_t)ver_ge(major, minor, 20, 1);
	f->ttl = (uint8_t)ver_ge(major, minor, 20, 1);
	f->dedup_token = (uint8_t)ver_ge(major, minor, 22, 2);
}

int ch_ident_ok(const char *s)
{
	size_t n = 0;
	if (!s)
		return 0;
	for (; s[n]; n++) {
		char c = s[n];
		int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
		if (!alpha && !(n > 0 && c >= '0' && c <= '9'))
			return 0;
	}
	return n >= 1 && n <= 63;
}

/* A growing string for the DDL. */
struct sb {
	char *p;
	size_t len, cap;
	int oom;
};

static void sb_add(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(struct sb *b, const char *fmt, ...)
{
	if (b->oom)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if (b->p && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t ncap = (b->cap ? b->cap : 256) * 2 + (size_t)n;
		char *np = realloc(b->p, ncap);
		if (!np) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
}

static const char *codec_for(const struct ch_col *c)
{
	if (c->type == CHT_DATETIME || c->id == CHC_START || c->id == CHC_END)
		return " CODEC(DoubleDelta, ZSTD(1))";
	return " CODEC(ZSTD(1))";
}

static char *raw_table(const struct ch_ddl_opts *o)
{
	struct sb b = { 0 };
	sb_add(&b, "CREATE TABLE IF NOT EXISTS %s.%s (\n", o->db, o->table);
	for (size_t i = 0; i < ch_ncols; i++)
		sb_add(&b, "  %s %s%s%s\n", ch_cols[i].name, ch_types[ch_cols[i].type].sql,
		       o->feat.codecs ? codec_for(&ch_cols[i]) : "", i + 1 < ch_ncols ? "," : "");
	sb_add(&b, ") ENGINE = MergeTree\nPARTITION BY toYYYYMMDD(collectionTimeSeconds)\n"
	           "ORDER BY (toStartOfFiveMinute(collectionTimeSeconds)");
	for (size_t i = 0; i < ch_ncols; i++)
		if (ch_cols[i].flags & CH_ORDER)
			sb_add(&b, ", %s", ch_cols[i].name);
	sb_add(&b, ")\n");
	if (o->ttl_days)
		sb_add(&b, "TTL collectionTimeSeconds + INTERVAL %u DAY\n", o->ttl_days);
	sb_add(&b, "SETTINGS index_granularity = 8192");
	if (o->feat.dedup_token)
		sb_add(&b, ", non_replicated_deduplication_window = 1000");
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

static const struct {
	const char *suffix;    /* table name suffix */
	const char *bucket;    /* time function */
	const char *partition; /* partition expression */
	unsigned ttl_mult;     /* rollups are kept ttl_mult times longer */
} ch_rollups[] = {
	{ "_1m", "toStartOfMinute", "toYYYYMMDD(collectionTimeSeconds)", 4 },
	{ "_1h", "toStartOfHour", "toYYYYMM(collectionTimeSeconds)", 16 },
};

static char *rollup_table(const struct ch_ddl_opts *o, size_t k)
{
	struct sb b = { 0 };
	sb_add(&b, "CREATE TABLE IF NOT EXISTS %s.%s%s (\n", o->db, o->table, ch_rollups[k].suffix);
	for (size_t i = 0; i < ch_ncols; i++)
		if (ch_cols[i].flags & (CH_ROLLUP_KEY | CH_ROLLUP_SUM))
			sb_add(&b, "  %s %s%s,\n", ch_cols[i].name, ch_types[ch_cols[i].type].sql,
			       o->feat.codecs ? codec_for(&ch_cols[i]) : "");
	sb_add(&b, "  deltaFlowCount UInt64%s\n", o->feat.codecs ? " CODEC(ZSTD(1))" : "");
	sb_add(&b, ") ENGINE = SummingMergeTree((");
	for (size_t i = 0; i < ch_ncols; i++)
		if (ch_cols[i].flags & CH_ROLLUP_SUM)
			sb_add(&b, "%s, ", ch_cols[i].name);
	sb_add(&b, "deltaFlowCount))\nPARTITION BY %s\nORDER BY (", ch_rollups[k].partition);
	int first = 1;
	for (size_t i = 0; i < ch_ncols; i++)
		if (ch_cols[i].flags & CH_ROLLUP_KEY) {
			sb_add(&b, "%s%s", first ? "" : ", ", ch_cols[i].name);
			first = 0;
		}
	sb_add(&b, ")\n");
	if (o->ttl_days)
		sb_add(&b, "TTL collectionTimeSeconds + INTERVAL %u DAY\n", o->ttl_days * ch_rollups[k].ttl_mult);
	sb_add(&b, "SETTINGS index_granularity = 8192");
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* The view: the same name for the bucketed time as the column it cuts
 * (accepted by 18.16 and current releases; the target is by name). */
static char *rollup_view(const struct ch_ddl_opts *o, size_t k)
{
	struct sb b = { 0 };
	const char *sfx = ch_rollups[k].suffix;
	sb_add(&b, "CREATE MATERIALIZED VIEW IF NOT EXISTS %s.%s%s_mv TO %s.%s%s AS\nSELECT ", o->db, o->table, sfx,
	       o->db, o->table, sfx);
	for (size_t i = 0; i < ch_ncols; i++) {
		const struct ch_col *c = &ch_cols[i];
		if (c->type == CHT_DATETIME && (c->flags & CH_ROLLUP_KEY))
			sb_add(&b, "%s(%s) AS %s, ", ch_rollups[k].bucket, c->name, c->name);
		else if (c->flags & CH_ROLLUP_KEY)
			sb_add(&b, "%s, ", c->name);
		else if (c->flags & CH_ROLLUP_SUM)
			sb_add(&b, "sum(%s) AS %s, ", c->name, c->name);
	}
	sb_add(&b, "count() AS deltaFlowCount\nFROM %s.%s\nGROUP BY ", o->db, o->table);
	int first = 1;
	for (size_t i = 0; i < ch_ncols; i++)
		if (ch_cols[i].flags & CH_ROLLUP_KEY) {
			sb_add(&b, "%s%s", first ? "" : ", ", ch_cols[i].name);
			first = 0;
		}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

void ch_ddl_free(char **stmts, size_t n)
{
	if (!stmts)
		return;
	for (size_t i = 0; i < n; i++)
		free(stmts[i]);
	free(stmts);
}

int ch_ddl(const struct ch_ddl_opts *o, char ***stmts, size_t *n)
{
	*stmts = NULL;
	*n = 0;
	if (!ch_ident_ok(o->db) || !ch_ident_ok(o->table) || strlen(o->table) > 56)
		return ERR_ARG;
	if (o->ttl_days && !o->feat.ttl)
		return ERR_UNSUPP;
	size_t cnt = 2 + 2 * (sizeof(ch_rollups) / sizeof(ch_rollups[0]));
	char **s = calloc(cnt, sizeof(*s));
	if (!s)
		return ERR_NOMEM;
	struct sb db = { 0 };
	sb_add(&db, "CREATE DATABASE IF NOT EXISTS %s", o->db);
	s[0] = db.oom ? (free(db.p), NULL) : db.p;
	s[1] = raw_table(o);
	for (size_t k = 0; k < sizeof(ch_rollups) / sizeof(ch_rollups[0]); k++) {
		s[2 + 2 * k] = rollup_table(o, k);
		s[3 + 2 * k] = rollup_view(o, k);
	}
	for (size_t i = 0; i < cnt; i++)
		if (!s[i]) {
			ch_ddl_free(s, cnt);
			return ERR_NOMEM;
		}
	*stmts = s;
	*n = cnt;
	return ERR_OK;
}

int ch_insert_sql(const char *db, const char *table, char *out, size_t outlen)
{
	struct wpos {
		char *p;
		size_t left;
	} w = { out, outlen };
	int k = snprintf(w.p, w.left, "INSERT INTO %s.%s (", db, table);
	if (k < 0 || (size_t)k >= w.left)
		return ERR_NOSPACE;
	w.p += k;
	w.left -= (size_t)k;
	for (size_t i = 0; i < ch_ncols; i++) {
		k = snprintf(w.p, w.left, "%s%s", i ? ", " : "", ch_cols[i].name);
		if (k < 0 || (size_t)k >= w.left)
			return ERR_NOSPACE;
		w.p += k;
		w.left -= (size_t)k;
	}
	k = snprintf(w.p, w.left, ") FORMAT RowBinary");
	if (k < 0 || (size_t)k >= w.left)
		return ERR_NOSPACE;
	return ERR_OK;
}
