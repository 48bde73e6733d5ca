/* ch_http.c — ClickHouse HTTP interface: URL options, credentials, one
 * POST through libcurl, gzip bodies. Contract in ch_http.h. */
#include "collect/ch_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "collect/ch_schema.h"
#include "lib/err.h"
#include "lib/log.h"

enum opt_kind { OPT_UINT, OPT_MS, OPT_BYTES, OPT_BOOL, OPT_PATH, OPT_CREDS };

/* URL options: key, kind, where in ch_cfg, range, default, help. The
 * defaults are applied from this table, so help and code agree. */
static const struct ch_opt {
	const char *key;
	uint8_t kind;
	size_t off;
	uint64_t min, max, def;
	const char *help;
} ch_opts[] = {
	{ "batch", OPT_UINT, offsetof(struct ch_cfg, batch_rows), 1, 1000000, 100000,
	  "rows per insert, at most (one insert is one part: keep it large)" },
	{ "interval", OPT_MS, offsetof(struct ch_cfg, interval_ms), 50, 60000, 2000,
	  "seconds a batch waits for more rows before it leaves (decimals allowed)" },
	{ "gzip", OPT_BOOL, offsetof(struct ch_cfg, gzip), 0, 1, 0, "1: gzip request bodies" },
	{ "spool", OPT_PATH, offsetof(struct ch_cfg, spool), 0, 0, 0,
	  "spool directory for batches the server did not take ('none': no spool)" },
	{ "spool_size", OPT_BYTES, offsetof(struct ch_cfg, spool_bytes), 1 << 20, UINT64_C(1) << 50,
	  UINT64_C(1) << 30, "spool bound, bytes (K, M, G suffixes); the oldest batches go first" },
	{ "queue", OPT_UINT, offsetof(struct ch_cfg, queue), 1, 256, 4,
	  "batches waiting for the sender thread, at most (memory bound)" },
	{ "block", OPT_BOOL, offsetof(struct ch_cfg, block), 0, 1, 0,
	  "1: a full queue makes the writer wait instead of dropping (imports, not live collection)" },
	{ "timeout", OPT_MS, offsetof(struct ch_cfg, timeout_ms), 100, 3600000, 30000,
	  "seconds one request may take" },
	{ "connect_timeout", OPT_MS, offsetof(struct ch_cfg, connect_ms), 50, 600000, 5000,
	  "seconds to connect" },
	{ "backoff_max", OPT_MS, offsetof(struct ch_cfg, backoff_max_ms), 50, 3600000, 10000,
	  "longest wait between retries, seconds" },
	{ "close_timeout", OPT_MS, offsetof(struct ch_cfg, close_ms), 0, 3600000, 10000,
	  "at exit, seconds to keep sending before the rest is spooled" },
	{ "ttl", OPT_UINT, offsetof(struct ch_cfg, ttl_days), 0, 100000, 0,
	  "--clickhouse-init: days the raw table keeps rows (servers >= 20.1)" },
	{ "credentials", OPT_CREDS, 0, 0, 0, 0, "file with lines user=NAME and password=SECRET" },
};

void ch_cfg_help(FILE *out)
{
	for (size_t i = 0; i < sizeof(ch_opts) / sizeof(ch_opts[0]); i++)
		fprintf(out, "  %-16s %s\n", ch_opts[i].key, ch_opts[i].help);
}

static int parse_uint(const char *s, uint64_t *v, int kind)
{
	char *end;
	errno = 0;
	if (kind == OPT_MS) {
		double d = strtod(s, &end);
		if (end == s || *end || errno || d < 0 || d > 1e7)
			return ERR_FORMAT;
		*v = (uint64_t)(d * 1000.0 + 0.5);
		return ERR_OK;
	}
	if (*s < '0' || *s > '9')
		return ERR_FORMAT;
	unsigned long long x = strtoull(s, &end, 10);
	if (end == s || errno)
		return ERR_FORMAT;
	if (kind == OPT_BYTES && *end) {
		static const char sfx[] = "KMGT";
		const char *p = strchr(sfx, end[0] & ~0x20);
		if (!p || end[1] != '\0')
			return ERR_FORMAT;
		for (long k = 0; k <= p - sfx; k++) {
			if (x > (ULLONG_MAX >> 10))
				return ERR_RANGE;
			x <<= 10;
		}
		end++;
	}
	if (*end)
		return ERR_FORMAT;
	*v = x;
	return ERR_OK;
}

static void set_field(struct ch_cfg *cfg, const struct ch_opt *o, uint64_t v)
{
	void *p = (char *)cfg + o->off;
	if (o->kind == OPT_BYTES)
		*(uint64_t *)p = v;
	else
		*(unsigned *)p = (unsigned)v;
}

/* credentials=FILE: "user=NAME" and "password=SECRET", one a line;
 * blank lines and '#' comments skipped. */
static int load_creds(const char *path, struct ch_cfg *cfg, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "credentials %s: %s", path, strerror(errno));
		return ERR_IO;
	}
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 0077))
		log_warn("credentials %s can be read by other users (mode %03o)", path, (unsigned)(st.st_mode & 0777));
	char line[512];
	int rc = ERR_OK, lineno = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		size_t n = strcspn(line, "\r\n");
		if (line[n] == '\0' && !feof(f)) {
			snprintf(err, errlen, "credentials %s:%d: line too long", path, lineno);
			rc = ERR_FORMAT;
			break;
		}
		line[n] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (strncmp(line, "user=", 5) == 0 && strlen(line + 5) < sizeof(cfg->user)) {
			strcpy(cfg->user, line + 5);
		} else if (strncmp(line, "password=", 9) == 0 && strlen(line + 9) < sizeof(cfg->pass)) {
			strcpy(cfg->pass, line + 9);
		} else {
			snprintf(err, errlen, "credentials %s:%d: expected user=NAME or password=SECRET", path, lineno);
			rc = ERR_FORMAT;
			break;
		}
	}
	fclose(f);
	return rc;
}

static int parse_opts(char *q, struct ch_cfg *cfg, char *err, size_t errlen)
{
	char *save = NULL;
	for (char *kv = strtok_r(q, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq) {
			snprintf(err, errlen, "clickhouse option `%s': expected KEY=VALUE", kv);
			return ERR_FORMAT;
		}
		*eq = '\0';
		const char *val = eq + 1;
		const struct ch_opt *o = NULL;
		for (size_t i = 0; i < sizeof(ch_opts) / sizeof(ch_opts[0]); i++)
			if (strcmp(ch_opts[i].key, kv) == 0)
				o = &ch_opts[i];
		if (!o) {
			snprintf(err, errlen, "clickhouse option `%s' is unknown", kv);
			return ERR_FORMAT;
		}
		if (o->kind == OPT_CREDS) {
			int rc = load_creds(val, cfg, err, errlen);
			if (rc)
				return rc;
			continue;
		}
		if (o->kind == OPT_PATH) {
			if (strlen(val) >= sizeof(cfg->spool) || !*val) {
				snprintf(err, errlen, "clickhouse option `%s': bad path", kv);
				return ERR_FORMAT;
			}
			if (strcmp(val, "none") == 0)
				cfg->spool[0] = '\0';
			else
				strcpy(cfg->spool, val);
			continue;
		}
		uint64_t v;
		int rc = parse_uint(val, &v, o->kind);
		if (rc == ERR_OK && (v < o->min || v > o->max))
			rc = ERR_RANGE;
		if (rc) {
			snprintf(err, errlen, "clickhouse option %s=%s: %s", kv, val,
			         rc == ERR_RANGE ? "out of range" : "not a number");
			return rc;
		}
		set_field(cfg, o, v);
	}
	return ERR_OK;
}

int ch_cfg_parse(const char *url, int need_table, struct ch_cfg *cfg, char *err, size_t errlen)
{
	char buf[2048], *q;
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < sizeof(ch_opts) / sizeof(ch_opts[0]); i++)
		if (ch_opts[i].kind != OPT_CREDS && ch_opts[i].kind != OPT_PATH)
			set_field(cfg, &ch_opts[i], ch_opts[i].def);
	if (strlen(url) >= sizeof(buf)) {
		snprintf(err, errlen, "clickhouse URL too long");
		return ERR_FORMAT;
	}
	strcpy(buf, url);
	const char *scheme;
	char *p;
	unsigned defport;
	if (strncmp(buf, "http://", 7) == 0) {
		scheme = "http";
		p = buf + 7;
		defport = 8123;
	} else if (strncmp(buf, "https://", 8) == 0) {
		scheme = "https";
		p = buf + 8;
		defport = 8443;
	} else {
		snprintf(err, errlen, "clickhouse URL `%s': expected http://HOST:PORT/DB.TABLE", url);
		return ERR_FORMAT;
	}
	char *slash = strchr(p, '/');
	if (!slash) {
		snprintf(err, errlen, "clickhouse URL `%s': no /DB%s after the host", url, need_table ? ".TABLE" : "");
		return ERR_FORMAT;
	}
	*slash = '\0';
	if (strchr(p, '@')) {
		snprintf(err, errlen, "clickhouse URL: user and password are not taken from the command line; "
		                      "use credentials=FILE or CLICKHOUSE_USER / CLICKHOUSE_PASSWORD");
		return ERR_FORMAT;
	}
	if (!*p || strlen(p) >= sizeof(cfg->host)) {
		snprintf(err, errlen, "clickhouse URL `%s': bad host", url);
		return ERR_FORMAT;
	}
	/* host, [v6], optional :port */
	char *colon = p[0] == '[' ? strchr(p, ']') : p;
	if (!colon) {
		snprintf(err, errlen, "clickhouse URL `%s': unclosed [", url);
		return ERR_FORMAT;
	}
	colon = strchr(colon, ':');
	unsigned port = defport;
	if (colon) {
		uint64_t v;
		*colon = '\0';
		if (parse_uint(colon + 1, &v, OPT_UINT) || v < 1 || v > 65535) {
			snprintf(err, errlen, "clickhouse URL `%s': bad port", url);
			return ERR_FORMAT;
		}
		port = (unsigned)v;
	}
	snprintf(cfg->host, sizeof(cfg->host), "%s", p);
	snprintf(cfg->base, sizeof(cfg->base), "%s://%s:%u/", scheme, cfg->host, port);
	char *path = slash + 1;
	q = strchr(path, '?');
	if (q)
		*q++ = '\0';
	char *dot = strchr(path, '.');
	if (dot)
		*dot = '\0';
	if (!ch_ident_ok(path) || (dot && !ch_ident_ok(dot + 1)) || (need_table && !dot) ||
	    (dot && strlen(dot + 1) > 56)) {
		snprintf(err, errlen, "clickhouse URL `%s': expected /DB%s with names of letters, digits and _", url,
		         need_table ? ".TABLE" : "[.TABLE]");
		return ERR_FORMAT;
	}
	snprintf(cfg->db, sizeof(cfg->db), "%s", path);
	snprintf(cfg->table, sizeof(cfg->table), "%s", dot ? dot + 1 : "flows");
	/* the default spool: per host, port and table, under /var/spool */
	snprintf(cfg->spool, sizeof(cfg->spool), "/var/spool/ipflow/clickhouse-%u-%s.%s", port, cfg->db, cfg->table);
	/* environment first; a credentials file given as option overrides */
	const char *eu = getenv("CLICKHOUSE_USER"), *ep = getenv("CLICKHOUSE_PASSWORD");
	if (eu && strlen(eu) < sizeof(cfg->user))
		strcpy(cfg->user, eu);
	if (ep && strlen(ep) < sizeof(cfg->pass))
		strcpy(cfg->pass, ep);
	if (q && *q) {
		int rc = parse_opts(q, cfg, err, errlen);
		if (rc)
			return rc;
	}
	return ERR_OK;
}

/* ---------------------------------------------------------------- HTTP */

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
	struct ch_http *h = ud;
	size_t n = sz * nm;
	size_t take = n;
	if (h->resp_len + take > h->resp_max)
		take = h->resp_max > h->resp_len ? h->resp_max - h->resp_len : 0;
	if (h->resp_len + take + 1 > h->resp_cap) {
		size_t ncap = h->resp_cap ? h->resp_cap : 4096;
		while (ncap < h->resp_len + take + 1)
			ncap *= 2;
		char *np = realloc(h->resp, ncap);
		if (!np)
			return 0; /* aborts the transfer */
		h->resp = np;
		h->resp_cap = ncap;
	}
	memcpy(h->resp + h->resp_len, p, take);
	h->resp_len += take;
	h->resp[h->resp_len] = '\0';
	return n;
}

int ch_http_init(struct ch_http *h)
{
	static int global_done;
	memset(h, 0, sizeof(*h));
	if (!global_done) {
		/* not thread-safe by libcurl's contract: the first caller is the
		 * main thread, at sink open or init, before any sender thread */
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
			return ERR_NOMEM;
		global_done = 1;
	}
	h->curl = curl_easy_init();
	if (!h->curl)
		return ERR_NOMEM;
	h->resp_max = 64u << 20;
	return ERR_OK;
}

void ch_http_free(struct ch_http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	free(h->resp);
	memset(h, 0, sizeof(*h));
}

int ch_gzip(const void *in, size_t len, uint8_t **out, size_t *outlen)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	/* 15 + 16: a gzip wrapper (RFC 1952), not zlib's; level 1 is fast */
	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return ERR_NOMEM;
	size_t cap = deflateBound(&z, (uLong)len) + 64;
	uint8_t *buf = malloc(cap);
	if (!buf) {
		deflateEnd(&z);
		return ERR_NOMEM;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = buf;
	z.avail_out = (uInt)cap;
	int zr = deflate(&z, Z_FINISH);
	size_t got = cap - z.avail_out;
	deflateEnd(&z);
	if (zr != Z_STREAM_END || len > UINT_MAX) {
		free(buf);
		return ERR_FORMAT;
	}
	*out = buf;
	*outlen = got;
	return ERR_OK;
}

int ch_http_post(struct ch_http *h, const struct ch_cfg *cfg, const char *query, const char *params,
                 const void *body, size_t len, int gzip)
{
	CURL *c = h->curl;
	char *url = NULL, *esc = NULL;
	uint8_t *z = NULL;
	struct curl_slist *hdr = NULL;
	int rc = CH_E_LOCAL;
	char cerr[CURL_ERROR_SIZE] = "";

	h->resp_len = 0;
	h->status = 0;
	h->err[0] = '\0';
	if (h->resp)
		h->resp[0] = '\0';
	if (query && !(esc = curl_easy_escape(c, query, 0))) {
		snprintf(h->err, sizeof(h->err), "out of memory");
		goto out;
	}
	size_t ulen = strlen(cfg->base) + (esc ? strlen(esc) + 8 : 0) + (params ? strlen(params) + 2 : 0) + 2;
	url = malloc(ulen);
	if (!url) {
		snprintf(h->err, sizeof(h->err), "out of memory");
		goto out;
	}
	snprintf(url, ulen, "%s%s%s%s%s%s", cfg->base, (esc || params) ? "?" : "", esc ? "query=" : "", esc ? esc : "",
	         (esc && params) ? "&" : "", params ? params : "");
	if (gzip) {
		size_t zlen;
		if (ch_gzip(body, len, &z, &zlen) != ERR_OK) {
			snprintf(h->err, sizeof(h->err), "gzip failed");
			goto out;
		}
		body = z;
		len = zlen;
		hdr = curl_slist_append(hdr, "Content-Encoding: gzip");
	}
	/* no "Expect: 100-continue" round trip before large bodies */
	hdr = curl_slist_append(hdr, "Expect:");
	hdr = curl_slist_append(hdr, "Content-Type: application/octet-stream");
	if (!hdr) {
		snprintf(h->err, sizeof(h->err), "out of memory");
		goto out;
	}
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_ms);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	/* An insert is never sent on a reused connection: libcurl silently
	 * resends a request whose reused connection died before an answer,
	 * and for an insert the server may have executed, that resend is a
	 * duplicate no one counts. A fresh connection costs one handshake per
	 * batch. Queries (idempotent) keep the connection. */
	if (query)
		curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
	if (cfg->user[0] || cfg->pass[0]) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, cfg->user[0] ? cfg->user : "default");
		curl_easy_setopt(c, CURLOPT_PASSWORD, cfg->pass);
	}
	CURLcode cr = curl_easy_perform(c);
	if (cr != CURLE_OK) {
		snprintf(h->err, sizeof(h->err), "%s", cerr[0] ? cerr : curl_easy_strerror(cr));
		rc = (cr == CURLE_COULDNT_CONNECT || cr == CURLE_COULDNT_RESOLVE_HOST || cr == CURLE_COULDNT_RESOLVE_PROXY)
		         ? CH_E_CONNECT
		         : CH_E_TRANSPORT;
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h->status);
	if (h->status != 200) {
		/* the server's exception text, first line */
		const char *t = h->resp ? h->resp : "";
		size_t n = strcspn(t, "\n");
		snprintf(h->err, sizeof(h->err), "HTTP %ld: %.*s", h->status, (int)(n < 400 ? n : 400), t);
		rc = CH_E_SERVER;
		goto out;
	}
	if (!h->resp) {
		h->resp = malloc(1);
		if (h->resp) {
			h->resp[0] = '\0';
			h->resp_cap = 1;
		}
	}
	rc = CH_OK;
out:
	curl_slist_free_all(hdr);
	curl_free(esc);
	free(url);
	free(z);
	return rc;
}

int ch_http_sql(struct ch_http *h, const struct ch_cfg *cfg, const char *sql)
{
	return ch_http_post(h, cfg, NULL, NULL, sql, strlen(sql), 0);
}
