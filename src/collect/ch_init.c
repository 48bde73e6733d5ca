/* ch_init.c — --clickhouse-init URL: create the database, the flows table
 * and its rollups (ch_schema.h). */
#include <stdio.h>
#include <string.h>

#include "collect/ch_http.h"
#include "collect/ch_schema.h"
#include "lib/err.h"

int ch_schema_init(const char *url, FILE *out, char *err, size_t errlen)
{
	struct ch_cfg cfg;
	struct ch_http h;
	char **stmts = NULL;
	size_t n = 0;
	int rc = ch_cfg_parse(url, 0, &cfg, err, errlen);
	if (rc)
		return rc;
	if (ch_http_init(&h) != ERR_OK) {
		snprintf(err, errlen, "libcurl init failed");
		return ERR_NOMEM;
	}
	int major = 0, minor = 0;
	if (ch_http_sql(&h, &cfg, "SELECT version()") != CH_OK) {
		snprintf(err, errlen, "%s: %s", cfg.base, h.err);
		rc = ERR_IO;
		goto out;
	}
	char ver[32];
	snprintf(ver, sizeof(ver), "%.*s", (int)strcspn(h.resp, "\r\n\t"), h.resp);
	if (ch_parse_version(ver, &major, &minor) != ERR_OK) {
		snprintf(err, errlen, "%s: unexpected version answer `%s'", cfg.base, ver);
		rc = ERR_FORMAT;
		goto out;
	}
	struct ch_ddl_opts o = { .db = cfg.db, .table = cfg.table, .ttl_days = cfg.ttl_days };
	ch_features_for(major, minor, &o.feat);
	if (out)
		fprintf(out, "clickhouse %s at %s: codecs %s, ttl %s, insert dedup token %s\n", ver, cfg.base,
		        o.feat.codecs ? "yes" : "no", o.feat.ttl ? "yes" : "no", o.feat.dedup_token ? "yes" : "no");
	rc = ch_ddl(&o, &stmts, &n);
	if (rc == ERR_UNSUPP) {
		snprintf(err, errlen, "server %s has no table TTL (needs 20.1 or later): drop old partitions with "
		                      "ALTER TABLE ... DROP PARTITION instead", ver);
		goto out;
	}
	if (rc) {
		snprintf(err, errlen, "cannot build the DDL: %s", err_str(rc));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (ch_http_sql(&h, &cfg, stmts[i]) != CH_OK) {
			snprintf(err, errlen, "%.60s...: %s", stmts[i], h.err);
			rc = ERR_IO;
			goto out;
		}
		if (out)
			fprintf(out, "ok: %.*s\n", (int)strcspn(stmts[i], "(\n"), stmts[i]);
	}
out:
	ch_ddl_free(stmts, n);
	ch_http_free(&h);
	return rc;
}
