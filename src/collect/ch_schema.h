/* ch_schema.h — the ClickHouse flows table: one column table drives the
 * DDL (--clickhouse-init), the INSERT column list and the RowBinary row
 * writer of sink_clickhouse.c, so the three cannot drift apart.
 *
 * Naming (doc/clickhouse.md): a column is named after the IPFIX
 * Information Element it carries, camel case as IANA registers it
 * (protocolIdentifier, octetDeltaCount). Where IPFIX has an IPv4 and an
 * IPv6 element for one value, one 16-byte column carries both and its name
 * drops the version (sourceIPv4Address + sourceIPv6Address ->
 * sourceIPAddress; sourceIPv4PrefixLength + sourceIPv6PrefixLength ->
 * sourceIPPrefixLength). Addresses are FixedString(16): IPv6 as is, IPv4
 * mapped (::ffff:a.b.c.d, RFC 4291 §2.5.5.2), shown with IPv6NumToString.
 * A dateTime element held at second resolution in a DateTime column ends
 * in "Seconds" (collectionTimeSeconds: IE 258 collectionTimeMilliseconds
 * cut to seconds, the collector's receive time, the partition and time
 * bucket key). Two columns are ipflow's own: exportVersion (1, 5, 7, 9,
 * 10) and batchId (the insert's dedup id; see sink_clickhouse.c).
 *
 * Rollups: <table>_1m and <table>_1h, SummingMergeTree, filled by the
 * materialized views <table>_1m_mv and <table>_1h_mv from the raw table:
 * the columns marked CH_ROLLUP_KEY, the time cut to the minute / hour,
 * and sums of octetDeltaCount, packetDeltaCount and deltaFlowCount (the
 * number of raw rows).
 *
 * Server versions: the DDL is valid on 18.16 (Debian's, the test server)
 * and on current releases. Features used only where the server has them
 * (ch_features_for): column CODECs (>= 20.1), table TTL (>= 20.1, only if
 * asked), and insert deduplication on a non-replicated MergeTree through
 * non_replicated_deduplication_window + insert_deduplication_token
 * (>= 22.2). */
#ifndef IPFLOW_CH_SCHEMA_H
#define IPFLOW_CH_SCHEMA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "collect/crec.h"

enum ch_type { CHT_DATETIME, CHT_U8, CHT_U16, CHT_U32, CHT_U64, CHT_ADDR, CHT_MAX_ };

enum {
	CH_ROLLUP_KEY = 1, /* a dimension of the rollup tables */
	CH_ROLLUP_SUM = 2, /* summed in the rollup tables */
	CH_ORDER = 4,      /* part of the raw table's ORDER BY, after the time bucket */
};

struct ch_col {
	const char *name;
	uint8_t type;   /* enum ch_type */
	uint8_t id;     /* which value: CHC_* in ch_schema.c */
	uint8_t flags;  /* CH_ROLLUP_* | CH_ORDER */
	uint16_t ie;    /* IPFIX IE carried (0: ipflow's own); a merged v4/v6 pair names the v4 one */
};

extern const struct ch_col ch_cols[];
extern const size_t ch_ncols;

/* Bytes one RowBinary row takes (every column is fixed width). */
size_t ch_row_size(void);

/* Write one row for r into p[0..ch_row_size()): little-endian integers,
 * DateTime as UInt32 seconds, addresses as 16 bytes (IPv4 mapped). */
void ch_row_put(uint8_t *p, const struct crec *r, uint64_t batch_id);

/* Read back the columns of one row at p (ch_row_size() bytes): for tests.
 * vals[i] is column i's value (addresses: their last 8 bytes). */
void ch_row_get(const uint8_t *p, uint64_t *vals, uint8_t addr[][16]);

/* Index of column name in ch_cols, or -1. */
int ch_col_index(const char *name);

struct ch_features {
	uint8_t codecs;      /* CODEC(...) on columns */
	uint8_t ttl;         /* TTL on tables */
	uint8_t dedup_token; /* non_replicated_deduplication_window + insert_deduplication_token */
};

/* "18.16.1" / "24.3.2.23" → major, minor. ERR_FORMAT if not a version. */
int ch_parse_version(const char *s, int *major, int *minor);
void ch_features_for(int major, int minor, struct ch_features *f);

/* A database or table name: [A-Za-z_][A-Za-z0-9_]{0,62}. Nothing else is
 * ever put into SQL text. */
int ch_ident_ok(const char *s);

struct ch_ddl_opts {
	const char *db;
	const char *table;
	unsigned ttl_days;         /* 0: keep forever */
	struct ch_features feat;
};

/* The statements --clickhouse-init runs, in order: CREATE DATABASE, the
 * raw table, the two rollup tables and their views, all IF NOT EXISTS.
 * *stmts is a malloc'd array of n malloc'd strings (ch_ddl_free).
 * ERR_ARG for a bad name, ERR_UNSUPP for a TTL the server cannot do. */
int ch_ddl(const struct ch_ddl_opts *o, char ***stmts, size_t *n);
void ch_ddl_free(char **stmts, size_t n);

/* "INSERT INTO db.table (col, ...) FORMAT RowBinary" into out. ERR_NOSPACE
 * if it does not fit. */
int ch_insert_sql(const char *db, const char *table, char *out, size_t outlen);

/* --clickhouse-init URL: ask the server its version, pick the features
 * (ch_features_for), run ch_ddl's statements in order. URL as for the
 * sink (ch_http.h; options credentials=, ttl=, timeout=). Prints one line
 * per statement to out (NULL: quiet). ERR_OK, or an error with the
 * server's message in err. Safe to run again: everything is IF NOT
 * EXISTS. (ch_init.c: it needs libcurl, the rest of this file does not.) */
int ch_schema_init(const char *url, FILE *out, char *err, size_t errlen);

/* The UTC day (days since 1970) of a row's time: batches never span two,
 * so each insert is one part of one partition (atomic). */
static inline uint32_t ch_row_day(const struct crec *r)
{
	return (uint32_t)(r->recv_us / 1000000u / 86400u);
}

#endif
