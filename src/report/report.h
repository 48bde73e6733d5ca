/* report.h — `ipflow report`: totals and the top N keys (addresses, ports,
 * protocol, AS, interface, exporter) by bytes, packets or flows, over a
 * time window and a filter, printed as text, CSV or JSON.
 *
 * The query is plain data (struct report_query) and the result is plain
 * data (struct report_result), so a backend other than the file store —
 * ClickHouse (issue 8) — can turn the query into SQL and fill the same
 * result; the printer does not care where it came from. The semantics a
 * backend must keep (and doc/store-format.md's report section states):
 *
 *  - window: a record is in [from_us, to_us) by store_rec_time(): its flow
 *    end time, or its receive time if the exporter sent none;
 *  - filters are ANDed; --addr/--port match the source or the destination;
 *    --port matches only protocols that have ports (TCP, UDP, SCTP, DCCP,
 *    UDP-Lite);
 *  - keys: a "both" key (addr, port, as) counts a flow under its source and
 *    under its destination value (once if they are equal), so its rows can
 *    add up to more than the totals; port keys give 0 to protocols without
 *    ports;
 *  - --unsample multiplies packets and bytes (not flows) by the record's
 *    sampling interval (0 and 1: unsampled);
 *  - rows are ordered by the chosen counter, largest first, ties by key
 *    ascending (addresses: IPv4 before IPv6, then numerically);
 *  - totals are over every matching record, not just the top rows. */
#ifndef IPFLOW_REPORT_H
#define IPFLOW_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "collect/crec.h"
#include "collect/store.h"

enum report_key {
	RK_SRCADDR, RK_DSTADDR, RK_ADDR, RK_SRCPORT, RK_DSTPORT, RK_PORT, RK_PROTO,
	RK_SRCAS, RK_DSTAS, RK_AS, RK_INIF, RK_OUTIF, RK_EXPORTER, RK_MAX_
};
enum report_order { RO_BYTES, RO_PACKETS, RO_FLOWS, RO_MAX_ };
enum report_fmt { RF_TEXT, RF_CSV, RF_JSON, RF_MAX_ };
enum report_kind { RKIND_ADDR, RKIND_PORT, RKIND_PROTO, RKIND_AS, RKIND_IF };

/* What each key is: its name on the command line and in CSV/JSON, the
 * column title for text, the kind of value, whether it takes both the
 * source and the destination, and the IPFIX element(s) it reads — the
 * columns a SQL backend groups by. */
struct report_key_info {
	const char *name;
	const char *title;
	enum report_kind kind;
	bool both;
	const char *ie[2];   /* source-side (or only) element, destination-side element for "both" keys */
};
const struct report_key_info *report_key_info(enum report_key k);

struct report_prefix {
	uint8_t af;          /* 0: no filter; 4 or 6 */
	uint8_t len;         /* prefix length in bits */
	uint8_t addr[16];    /* bits past len are zero */
};

struct report_query {
	uint64_t from_us;    /* window on store_rec_time: [from_us, to_us) */
	uint64_t to_us;      /* UINT64_MAX: no end */
	uint8_t exporter_af; /* 0: every exporter; else 4 or 6 */
	uint8_t exporter[16];
	struct report_prefix src, dst, addr;
	int32_t port;        /* -1: any */
	int16_t proto;       /* -1: any */
	enum report_key key;
	enum report_order order;
	uint32_t top;        /* rows wanted; 0: all */
	bool unsample;
};

/* A query that matches everything: key srcaddr, order bytes, top 10. */
void report_query_init(struct report_query *q);

/* A key value: an address (af 4/6, bytes in b), or a number (af 0, value
 * big-endian in b[0..4)). Compared bytewise (af first), which gives the
 * tie order above. */
struct report_keyval {
	uint8_t af;
	uint8_t b[16];
};

struct report_row {
	struct report_keyval k;
	uint64_t flows, packets, bytes;
};

struct report_result {
	struct report_row *rows; /* the top rows, in order; owned (report_result_free) */
	size_t nrows;
	uint64_t keys;           /* distinct keys seen */
	uint64_t flows, packets, bytes; /* over every matching record */
};
void report_result_free(struct report_result *res); /* NULL-safe; frees rows */

/* Does r pass q's window and filters? */
bool report_match(const struct report_query *q, const struct crec *r);

/* The record-level engine: filter, key, aggregate, top N. Memory: about
 * 100 bytes per distinct key; more than max_keys distinct keys is refused
 * (ERR_FULL) rather than grown without bound. */
struct report_agg;
struct report_agg *report_agg_new(const struct report_query *q, size_t max_keys);
int report_agg_add(struct report_agg *a, const struct crec *r); /* ERR_OK, ERR_FULL, ERR_NOMEM */
/* The result so far (res owned by the caller). ERR_OK or ERR_NOMEM. */
int report_agg_result(const struct report_agg *a, struct report_result *res);
void report_agg_free(struct report_agg *a); /* NULL-safe */

/* The file store backend: read path (a data directory or one store file)
 * through store_reader with q's window and exporter, and aggregate. Damage
 * met on the way is counted in *st and told on warn. ERR_OK, or an error
 * with err set. */
int report_run_store(const char *path, const struct report_query *q, size_t max_keys, struct report_result *res,
                     struct store_stats *st, FILE *warn, char *err, size_t errlen);

/* Print res for q. st (the store's counters) may be NULL for backends
 * without files. Text: aligned columns with counts scaled to 3 digits (K,
 * M, G: powers of 1000) and shares of the totals; CSV and JSON: exact. */
void report_print(FILE *out, enum report_fmt fmt, const struct report_query *q, const struct report_result *res,
                  const struct store_stats *st);

/* Parsers for the command line: 0, or ERR_FORMAT. */
/* ISO 8601 (YYYY-MM-DD[(T| )hh:mm[:ss[.frac]]][Z|(+|-)hh[:]mm], no zone = UTC)
 * or unix seconds (digits only). */
int report_parse_time(const char *s, uint64_t *us);
/* ADDR or ADDR/LEN, IPv4 or IPv6. */
int report_parse_prefix(const char *s, struct report_prefix *p);
/* A number 0..255 or a name (tcp, udp, icmp, ...). */
int report_parse_proto(const char *s, int16_t *proto);
int report_key_by_name(const char *s);   /* enum report_key, or -1 */
int report_order_by_name(const char *s); /* enum report_order, or -1 */
int report_fmt_by_name(const char *s);   /* enum report_fmt, or -1 */
const char *report_order_name(enum report_order o);
const char *report_proto_name(unsigned proto); /* "tcp", ... or NULL */

/* Format key value k of key (address text, number, protocol name) into
 * out; numeric means the number alone (CSV/JSON), else the text form. */
void report_key_format(enum report_key key, const struct report_keyval *k, bool numeric, char *out, size_t cap);

/* `ipflow report ...` (argv[0] is "report"): exit status 0, 1 on a read
 * error, 2 on a usage error. */
int report_main(int argc, char **argv);

#endif
