/* store_feed.c — test helper: pushes collected records through a sink
 * (the file store, "dir:DIR[,...]"), standing in for ipflow-collect.
 *
 *   store_feed synth SPEC [--seed S] [--records N] [--exporters E]
 *              [--start SEC] [--rate R] [--csv FILE] [--hold]
 *       N fixture records (tests/unit/store_fixture.h) from E exporters,
 *       received R per second from unix time SEC on (a virtual clock that
 *       ticks the sink every second). --csv writes each record as a row,
 *       for an independent computation. --hold: once every record is in a
 *       whole block of a .tmp file, print "held" and wait to be killed.
 *   store_feed decode SPEC --exporter ADDR FILE...
 *       FILE holds NetFlow v1/v5/v7 or IPFIX messages back to back (what
 *       ipflowd -e file:PATH writes); each data record becomes a crec of
 *       exporter ADDR received at its message's export time.
 *
 * Prints "records=N written=W dropped=D errors=E" on stdout at the end and
 * the sink's own counters on stderr. Exit 0, 1 on error, 2 on usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/sink.h"
#include "export/export.h"
#include "lib/bytes.h"
#include "lib/err.h"
#include "store_fixture.h"

static void csv_row(FILE *f, const struct crec *r)
{
	char ex[INET6_ADDRSTRLEN], s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	const struct flowrec *x = &r->f;
	int af = x->key.af == 6 ? AF_INET6 : AF_INET;
	inet_ntop(r->exporter_af == 6 ? AF_INET6 : AF_INET, r->exporter, ex, sizeof(ex));
	inet_ntop(af, x->key.src, s, sizeof(s));
	inet_ntop(af, x->key.dst, d, sizeof(d));
	fprintf(f, "%s,%u,%s,%s,%u,%u,%u,%u,%u,%u,%u,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%u\n", ex,
	        x->key.af, s, d, x->key.sport, x->key.dport, x->key.proto, x->src_as, x->dst_as, x->key.ifindex,
	        x->if_out, x->packets, x->bytes, x->first_us, x->last_us, r->recv_us, r->sampling);
}

static int finish(struct sink *s)
{
	/* A tick past every interval finishes the open files (on the sink's
	 * worker): tick until every record is written or dropped, so the
	 * counters are final before close frees them. */
	for (int i = 0; i < 60000; i++) {
		sink_tick(s, UINT64_MAX / 2);
		if (s->st.records == s->st.written + s->st.dropped)
			break;
		usleep(1000);
	}
	struct sink_stats st = s->st;
	if (s->ops->show)
		s->ops->show(s, stderr);
	sink_close(s);
	printf("records=%" PRIu64 " written=%" PRIu64 " dropped=%" PRIu64 " errors=%" PRIu64 "\n", st.records,
	       st.written, st.dropped, st.errors);
	return 0;
}

static int synth(int argc, char **argv)
{
	uint64_t seed = 1, n = 10000, start = 1700000000, rate = 100;
	unsigned exporters = 5;
	const char *csv = NULL;
	int hold = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--hold") == 0) {
			hold = 1;
			continue;
		}
		if (!v)
			return 2;
		i++;
		if (strcmp(a, "--seed") == 0)
			seed = strtoull(v, NULL, 10);
		else if (strcmp(a, "--records") == 0)
			n = strtoull(v, NULL, 10);
		else if (strcmp(a, "--exporters") == 0)
			exporters = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "--start") == 0)
			start = strtoull(v, NULL, 10);
		else if (strcmp(a, "--rate") == 0)
			rate = strtoull(v, NULL, 10);
		else if (strcmp(a, "--csv") == 0)
			csv = v;
		else
			return 2;
	}
	if (!exporters || !rate)
		return 2;
	char err[512];
	struct sink *s = sink_open(argv[0], err, sizeof(err));
	if (!s) {
		fprintf(stderr, "store_feed: %s\n", err);
		return 1;
	}
	FILE *cf = csv ? fopen(csv, "w") : NULL;
	if (csv && !cf) {
		fprintf(stderr, "store_feed: %s: %s\n", csv, strerror(errno));
		sink_close(s);
		return 1;
	}
	uint64_t t0 = start * 1000000u, last_tick = 0;
	struct crec r;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t t = t0 + i * 1000000u / rate;
		if (t / 1000000u != last_tick) {
			last_tick = t / 1000000u;
			sink_tick(s, last_tick * 1000000u);
		}
		fx_crec(&r, seed, i, t, (unsigned)(i / 7 % exporters));
		sink_write(s, &r);
		if (cf)
			csv_row(cf, &r);
	}
	if (cf && fclose(cf) != 0) {
		fprintf(stderr, "store_feed: %s: write error\n", csv);
		return 1;
	}
	if (hold) {
		/* Past every flush deadline, short of the interval's end (the
		 * test's spec says flush=1 and a long interval). */
		sink_tick(s, (last_tick + 2) * 1000000u);
		printf("held records=%" PRIu64 "\n", s->st.records);
		fflush(stdout);
		for (;;)
			pause();
	}
	return finish(s);
}

/* Length of the message at p (avail bytes), or 0 if it does not fit. */
static size_t msg_len(const uint8_t *p, size_t avail)
{
	if (avail < 4)
		return 0;
	uint16_t ver = peek_u16(p), cnt = peek_u16(p + 2);
	const struct nf_codec *c = nf_codec_by_version(ver);
	size_t n = 0;
	if (ver == 10)
		n = cnt;
	else if (c && c->fixed)
		n = c->hdr_len + (size_t)cnt * c->fixed->minlen;
	return n >= 4 && n <= avail ? n : 0;
}

static int decode(int argc, char **argv)
{
	uint8_t exporter[16] = { 0 }, af = 0;
	int i = 1;
	if (i + 1 < argc && strcmp(argv[i], "--exporter") == 0) {
		if (inet_pton(AF_INET, argv[i + 1], exporter) == 1)
			af = 4;
		else if (inet_pton(AF_INET6, argv[i + 1], exporter) == 1)
			af = 6;
		i += 2;
	}
	if (!af || i >= argc)
		return 2;
	char err[512];
	struct sink *s = sink_open(argv[0], err, sizeof(err));
	if (!s) {
		fprintf(stderr, "store_feed: %s\n", err);
		return 1;
	}
	struct tmpl_store_mem mem;
	if (tmpl_store_mem_init(&mem, 64) != ERR_OK) {
		sink_close(s);
		return 1;
	}
	struct tmpl_store ts = tmpl_store_mem_iface(&mem);
	int rc = 0;
	for (; i < argc && rc == 0; i++) {
		FILE *f = fopen(argv[i], "rb");
		if (!f) {
			fprintf(stderr, "store_feed: %s: %s\n", argv[i], strerror(errno));
			rc = 1;
			break;
		}
		size_t cap = 1 << 20, len = 0, k;
		uint8_t *buf = malloc(cap);
		while (buf && (k = fread(buf + len, 1, cap - len, f)) > 0) {
			len += k;
			if (len == cap) {
				uint8_t *nb = realloc(buf, cap *= 2);
				if (!nb)
					break;
				buf = nb;
			}
		}
		fclose(f);
		for (size_t off = 0; buf && off < len;) {
			size_t ml = msg_len(buf + off, len - off);
			if (!ml) {
				fprintf(stderr, "store_feed: %s: no whole message at offset %zu\n", argv[i], off);
				rc = 1;
				break;
			}
			struct nf_iter it;
			struct nf_item item;
			int r = nf_iter_init(&it, buf + off, ml, &ts);
			while (r == ERR_OK && (r = nf_iter_next(&it, &item)) == ERR_OK) {
				if (item.kind != NF_ITEM_DATA || item.t->scope_count)
					continue;
				struct crec c;
				memset(&c, 0, sizeof(c));
				if (nf_item_flowrec(&it, &item, &c.f) != ERR_OK)
					continue;
				memcpy(c.exporter, exporter, 16);
				c.exporter_af = af;
				c.version = it.hdr.version;
				c.domain = it.hdr.version == 10 ? it.hdr.domain
				                                 : (uint32_t)it.hdr.engine_type << 8 | it.hdr.engine_id;
				c.tmpl_id = item.t->id >= TMPL_ID_MIN ? item.t->id : 0;
				c.sampling = (it.hdr.sampling & 0x3fff) ? (it.hdr.sampling & 0x3fff) : 1;
				c.recv_us = it.hdr.export_us;
				sink_tick(s, c.recv_us);
				sink_write(s, &c);
			}
			if (r != ERR_END) {
				fprintf(stderr, "store_feed: %s: message at %zu: %s\n", argv[i], off, nf_iter_err(&it));
				rc = 1;
			}
			off += ml;
		}
		free(buf);
	}
	tmpl_store_mem_free(&mem);
	finish(s);
	return rc;
}

int main(int argc, char **argv)
{
	int rc = 2;
	if (argc >= 3 && strcmp(argv[1], "synth") == 0)
		rc = synth(argc - 2, argv + 2);
	else if (argc >= 3 && strcmp(argv[1], "decode") == 0)
		rc = decode(argc - 2, argv + 2);
	if (rc == 2)
		fprintf(stderr, "usage: store_feed synth SPEC [--seed S] [--records N] [--exporters E] [--start SEC]\n"
		                "                  [--rate R] [--csv FILE] [--hold]\n"
		                "       store_feed decode SPEC --exporter ADDR FILE...\n");
	return rc;
}
