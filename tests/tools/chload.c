/* chload.c — a plain libcurl RowBinary loader: the peer bench/clickhouse.sh
 * measures the ClickHouse sink against.
 *
 *   chload URL ROWS [BATCH]      URL: http://HOST:PORT/DB.TABLE
 *
 * Builds ROWS rows of the flows table's layout (doc/clickhouse.md: 155
 * bytes, fixed) in batches of BATCH (default 100000) and POSTs each batch
 * as one INSERT ... FORMAT RowBinary over one keep-alive connection: no
 * thread, no queue, no spool, no dedup check — the least work a client
 * can do. The rows vary with a counter (addresses, ports, sizes, times)
 * so the server does the same compression and sorting work as for real
 * flows. Prints "rows=N wall_s=S cpu_s=S". Not using the sink's code:
 * the row is laid out here by hand. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collect/ch_schema.h"

static size_t discard(char *p, size_t sz, size_t nm, void *ud)
{
	(void)p;
	(void)ud;
	return sz * nm;
}

static uint8_t *le(uint8_t *p, uint64_t v, int w)
{
	for (int i = 0; i < w; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return p + w;
}

static uint8_t *v4(uint8_t *p, uint32_t a)
{
	memset(p, 0, 10);
	p[10] = p[11] = 0xff;
	p[12] = (uint8_t)(a >> 24);
	p[13] = (uint8_t)(a >> 16);
	p[14] = (uint8_t)(a >> 8);
	p[15] = (uint8_t)a;
	return p + 16;
}

static uint8_t *v6(uint8_t *p, const uint8_t a[16])
{
	memcpy(p, a, 16);
	return p + 16;
}

/* One row, columns in the table's order: the same values as
 * sinkfeed --synth --exporters 8 makes for record i, so the server does
 * the same work for both clients and the difference is the client. */
static uint8_t *row(uint8_t *p, uint64_t i, uint32_t now)
{
	uint64_t x = i * 0x9e3779b97f4a7c15ull;
	uint64_t pk = 1 + (x >> 40) % 100;
	int six = i % 5 == 0;
	uint8_t s6[16] = { 0x20, 0x01, 0x0d, 0xb8 }, d6[16], z[16] = { 0 };
	memcpy(s6 + 8, &x, 8);
	memcpy(d6, s6, 8);
	memset(d6 + 8, 0, 8);
	d6[15] = 1;
	p = le(p, now, 4);                                  /* collectionTimeSeconds */
	p = v4(p, 0xc0000200u | (uint32_t)(1 + i % 8));     /* exporterIPAddress */
	p = le(p, i % 4, 4);                                /* observationDomainId */
	p = le(p, 10, 2);                                   /* exportVersion */
	p = le(p, 256, 2);                                  /* templateId */
	p = le(p, 1, 4);                                    /* samplingInterval */
	p = le(p, 1700000000000ull + i, 8);                 /* flowStartMilliseconds */
	p = le(p, 1700000000005ull + i, 8);                 /* flowEndMilliseconds */
	if (six) {
		p = v6(p, s6);
		p = v6(p, d6);
		p = v6(p, z);
	} else {
		p = v4(p, 0x0a000000u | (uint32_t)((x >> 8) & 0xff) << 8 | (uint32_t)((x >> 16) & 0xff));
		p = v4(p, 0xc6336400u | (uint32_t)((x >> 24) & 0xff));
		p = v4(p, 0);
	}
	p = le(p, six ? 6 : 4, 1);                          /* ipVersion */
	p = le(p, 1024 + (x >> 32) % 60000, 2);
	p = le(p, (i % 3) ? 443 : 53, 2);
	p = le(p, (i % 3) ? 6 : 17, 1);
	p = le(p, 0, 1);                                    /* ipClassOfService */
	p = le(p, 0x1b, 2);                                 /* tcpControlBits */
	p = le(p, 0, 1);                                    /* flowDirection */
	p = le(p, 1 + i % 8, 4);
	p = le(p, 9 + i % 4, 4);
	p = le(p, 64500 + i % 16, 4);
	p = le(p, 64600 + i % 16, 4);
	p = le(p, 0, 1);                                    /* prefix lengths */
	p = le(p, 0, 1);
	p = le(p, 0, 1);                                    /* TTLs */
	p = le(p, 0, 1);
	p = le(p, 0, 2);                                    /* IP lengths */
	p = le(p, 0, 2);
	p = le(p, 1, 1);                                    /* flowEndReason */
	p = le(p, pk * (40 + (x >> 20) % 1400), 8);         /* octetDeltaCount */
	p = le(p, pk, 8);                                   /* packetDeltaCount */
	p = le(p, i / 100000 + 1, 8);                       /* batchId */
	return p;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: chload http://HOST:PORT/DB.TABLE ROWS [BATCH]\n");
		return 1;
	}
	char base[512], db[64], table[64];
	const char *u = argv[1];
	const char *slash = strchr(u + 7, '/');
	const char *dot = slash ? strchr(slash, '.') : NULL;
	if (strncmp(u, "http://", 7) || !slash || !dot) {
		fprintf(stderr, "chload: bad URL\n");
		return 1;
	}
	snprintf(base, sizeof(base), "%.*s", (int)(slash - u + 1), u);
	snprintf(db, sizeof(db), "%.*s", (int)(dot - slash - 1), slash + 1);
	snprintf(table, sizeof(table), "%s", dot + 1);
	uint64_t rows = strtoull(argv[2], NULL, 10);
	uint64_t batch = argc > 3 ? strtoull(argv[3], NULL, 10) : 100000;
	const size_t rowsz = 155;
	if (ch_row_size() != rowsz) {
		fprintf(stderr, "chload: the table layout changed (%zu bytes a row): update chload\n", ch_row_size());
		return 1;
	}
	char sql[2048], *url = NULL;
	if (ch_insert_sql(db, table, sql, sizeof(sql)) != 0)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURL *c = curl_easy_init();
	char *esc = curl_easy_escape(c, sql, 0);
	size_t ulen = strlen(base) + strlen(esc) + 16;
	url = malloc(ulen);
	snprintf(url, ulen, "%s?query=%s", base, esc);
	uint8_t *buf = malloc(batch * rowsz);
	struct curl_slist *hdr = curl_slist_append(NULL, "Expect:");
	struct timespec w0, w1, c0, c1;
	clock_gettime(CLOCK_MONOTONIC, &w0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	uint32_t now = (uint32_t)time(NULL);
	int rc = 0;
	for (uint64_t done = 0; done < rows;) {
		uint64_t n = rows - done < batch ? rows - done : batch;
		uint8_t *p = buf;
		for (uint64_t k = 0; k < n; k++)
			p = row(p, done + k, now);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, buf);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(n * rowsz));
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
		CURLcode cr = curl_easy_perform(c);
		long st = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
		if (cr != CURLE_OK || st != 200) {
			fprintf(stderr, "chload: insert failed: %s, HTTP %ld\n", curl_easy_strerror(cr), st);
			rc = 1;
			break;
		}
		done += n;
	}
	clock_gettime(CLOCK_MONOTONIC, &w1);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	printf("rows=%llu wall_s=%.3f cpu_s=%.3f\n", (unsigned long long)rows,
	       (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9,
	       (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9);
	curl_slist_free_all(hdr);
	curl_free(esc);
	curl_easy_cleanup(c);
	free(buf);
	free(url);
	return rc;
}
