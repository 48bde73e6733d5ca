/* ch_http.h — talking to ClickHouse over its HTTP interface (libcurl):
 * the URL and its options, credentials, and one request.
 *
 * URL: http[s]://HOST[:PORT]/DB.TABLE[?KEY=VALUE&...] — PORT defaults to
 * 8123 (8443 for https). User and password are never taken from the URL
 * (a command line is visible to every user of the machine): a URL with
 * "user:password@" is refused. They come from credentials=FILE (lines
 * "user=NAME" and "password=SECRET") or else from the environment
 * (CLICKHOUSE_USER, CLICKHOUSE_PASSWORD, as clickhouse-client reads them);
 * without either, ClickHouse's "default" user. They are sent as HTTP basic
 * authentication. The option keys are ch_cfg's (ch_opts[] in ch_http.c
 * lists them with their ranges and defaults; ch_cfg_help prints them).
 *
 * Ownership: a ch_http is caller-owned (ch_http_init / ch_http_free);
 * its response buffer is valid until the next request. One thread uses
 * one ch_http. */
#ifndef IPFLOW_CH_HTTP_H
#define IPFLOW_CH_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct ch_cfg {
	char base[512];        /* scheme://host:port/ */
	char host[256];
	char db[64];
	char table[64];
	char user[128];
	char pass[256];
	unsigned batch_rows;   /* rows per insert, at most */
	unsigned interval_ms;  /* a batch leaves at most this long after its first row */
	unsigned gzip;         /* gzip request bodies */
	char spool[512];       /* spool directory; "" = none */
	uint64_t spool_bytes;
	unsigned queue;        /* batches waiting for the sender thread, at most */
	unsigned block;        /* queue full: 0 drop and count (live), 1 wait (file imports, benchmarks) */
	unsigned timeout_ms;   /* one request, whole */
	unsigned connect_ms;
	unsigned backoff_max_ms;
	unsigned close_ms;     /* at close, how long to keep trying before spooling the rest */
	unsigned ttl_days;     /* --clickhouse-init: TTL of the raw table (0 = none) */
};

/* Parse URL into cfg (defaults first, then the URL's options, then the
 * credentials). need_table: the path must name DB.TABLE (else DB or
 * DB.TABLE). ERR_FORMAT / ERR_RANGE / ERR_IO with a message in err. */
int ch_cfg_parse(const char *url, int need_table, struct ch_cfg *cfg, char *err, size_t errlen);
void ch_cfg_help(FILE *out);

struct ch_http {
	void *curl;            /* CURL * */
	char *resp;            /* response body, NUL-terminated */
	size_t resp_len, resp_cap;
	size_t resp_max;       /* bodies past this are cut (default 64 MiB) */
	long status;           /* HTTP status of the last request; 0 if none */
	char err[512];         /* transport error or the server's exception text */
};

int ch_http_init(struct ch_http *h);
void ch_http_free(struct ch_http *h); /* NULL-safe */

enum ch_result {
	CH_OK = 0,        /* 200 */
	CH_E_CONNECT,     /* could not connect / resolve: nothing was sent */
	CH_E_TRANSPORT,   /* failed or timed out after sending: the server may have acted */
	CH_E_SERVER,      /* the server answered an error (status != 200); err has its text */
	CH_E_LOCAL,       /* out of memory or similar, nothing sent */
};

/* One POST to cfg->base. query: SQL put in the URL (?query=..., escaped
 * here) or NULL; params: more "k=v&k=v" for the URL, already safe, or
 * NULL; body/len: the POST body (SQL when query is NULL, data otherwise).
 * gzip: compress the body (Content-Encoding: gzip). */
int ch_http_post(struct ch_http *h, const struct ch_cfg *cfg, const char *query, const char *params,
                 const void *body, size_t len, int gzip);

/* Run one SQL statement; CH_OK with the result (TSV) in h->resp. */
int ch_http_sql(struct ch_http *h, const struct ch_cfg *cfg, const char *sql);

/* gzip (RFC 1952) of in into *out (malloc'd). ERR_NOMEM / ERR_FORMAT. */
int ch_gzip(const void *in, size_t len, uint8_t **out, size_t *outlen);

#endif
