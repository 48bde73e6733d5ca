/* sinkfeed.c — push collected records through the collector's sinks
 * without the collector: a test and benchmark driver.
 *
 *   sinkfeed -o SPEC [-o SPEC...] [options] [EXPORT-FILE...]
 *   sinkfeed --clickhouse-init URL
 *
 * EXPORT-FILE is what `ipflowd -e file:PATH` writes: IPFIX messages (or
 * NetFlow v5) back to back. Each message is decoded with the tree's own
 * decoders (src/export) and every data record becomes a struct crec, as
 * ipflow-collect hands its sinks, with the receive time of now. With
 * --synth N, N synthetic records are made instead (for speed figures:
 * no decoding). The receive time is now, or with --flow-time the record's
 * flow end + 1 s (as if received live during the capture). The sinks get
 * tick() every 100 ms of wall time.
 *
 * At the end it closes the sinks and prints, per sink, its show() text
 * and one line "sink SPEC: records=N written=N dropped=N errors=N", and
 * "fed records=N packets=N bytes=N" for what went in. Exit 0, or 1 on a
 * usage/open/decode error. */
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "collect/ch_schema.h"
#include "collect/sink.h"
#include "export/export.h"
#include "lib/err.h"
#include "lib/log.h"

#define MAX_SINKS 4

struct feed {
	struct sink *sink[MAX_SINKS];
	const char *spec[MAX_SINKS];
	int nsink;
	double rate;          /* records per second, 0 = as fast as possible */
	uint64_t fed, packets, bytes;
	uint64_t t0_us, last_tick_us;
	uint8_t exporter[16];
	uint8_t exporter_af;
	uint32_t sampling;
	unsigned exporters;   /* --synth: spread over this many exporters */
	int flow_time;        /* --flow-time: receive time = flow end + 1 s (a replay at the capture's pace) */
};

static uint64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void tick_all(struct feed *fd, int force)
{
	uint64_t now = wall_us();
	if (!force && now - fd->last_tick_us < 100000u)
		return;
	fd->last_tick_us = now;
	for (int i = 0; i < fd->nsink; i++)
		sink_tick(fd->sink[i], now);
}

/* Hold back to --rate: sleep until record number fd->fed is due. */
static void pace(struct feed *fd)
{
	if (fd->rate <= 0)
		return;
	uint64_t due = fd->t0_us + (uint64_t)((double)fd->fed / fd->rate * 1e6);
	for (;;) {
		uint64_t now = wall_us();
		if (now >= due)
			break;
		uint64_t d = due - now;
		if (d > 50000)
			d = 50000;
		struct timespec ts = { 0, (long)d * 1000 };
		nanosleep(&ts, NULL);
		tick_all(fd, 0);
	}
}

static void feed_one(struct feed *fd, struct crec *r)
{
	pace(fd);
	r->recv_us = fd->flow_time ? r->f.last_us + 1000000u : wall_us();
	for (int i = 0; i < fd->nsink; i++)
		sink_write(fd->sink[i], r);
	fd->fed++;
	fd->packets += r->f.packets;
	fd->bytes += r->f.bytes;
	if ((fd->fed & 1023) == 0)
		tick_all(fd, 0);
}

static int feed_file(struct feed *fd, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return -1;
	}
	size_t cap = 1 << 20, len = 0;
	uint8_t *buf = malloc(cap);
	size_t n;
	while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			uint8_t *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	fclose(f);
	if (!buf) {
		fprintf(stderr, "%s: out of memory\n", path);
		return -1;
	}
	struct tmpl_store_mem mem;
	if (tmpl_store_mem_init(&mem, 64) != ERR_OK) {
		free(buf);
		return -1;
	}
	struct tmpl_store ts = tmpl_store_mem_iface(&mem);
	size_t off = 0;
	int rc = 0;
	while (off + 4 <= len) {
		uint16_t ver = (uint16_t)(buf[off] << 8 | buf[off + 1]);
		size_t mlen;
		if (ver == 10) {
			mlen = (size_t)(buf[off + 2] << 8 | buf[off + 3]);
		} else if (ver == 5) {
			mlen = 24 + 48 * (size_t)(buf[off + 2] << 8 | buf[off + 3]);
		} else {
			fprintf(stderr, "%s: offset %zu: version %u: only IPFIX and v5 files can be split\n", path, off, ver);
			rc = -1;
			break;
		}
		if (mlen < 4 || off + mlen > len) {
			fprintf(stderr, "%s: offset %zu: message runs past the end\n", path, off);
			rc = -1;
			break;
		}
		struct nf_iter it;
		struct nf_item item;
		int r = nf_iter_init(&it, buf + off, mlen, &ts);
		while (r == ERR_OK && (r = nf_iter_next(&it, &item)) == ERR_OK) {
			if (item.kind != NF_ITEM_DATA || item.t->scope_count)
				continue;
			struct crec c;
			memset(&c, 0, sizeof(c));
			if (nf_item_flowrec(&it, &item, &c.f) != ERR_OK)
				continue;
			memcpy(c.exporter, fd->exporter, 16);
			c.exporter_af = fd->exporter_af;
			c.version = ver;
			c.domain = ver == 5 ? (uint32_t)(it.hdr.engine_type << 8 | it.hdr.engine_id) : it.hdr.domain;
			c.tmpl_id = item.tmpl_id;
			c.sampling = fd->sampling;
			c.t = item.t;
			c.raw = item.p;
			c.rawlen = item.len;
			feed_one(fd, &c);
		}
		if (r != ERR_END) {
			fprintf(stderr, "%s: offset %zu: %s\n", path, off, nf_iter_err(&it));
			rc = -1;
			break;
		}
		off += mlen;
	}
	tmpl_store_mem_free(&mem);
	free(buf);
	return rc;
}

/* Deterministic synthetic records: 64 k hosts, ports, sizes from a counter. */
static void feed_synth(struct feed *fd, uint64_t n)
{
	struct crec c;
	memset(&c, 0, sizeof(c));
	c.version = 10;
	c.tmpl_id = 256;
	c.sampling = fd->sampling;
	c.exporter_af = 4;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t x = i * 0x9e3779b97f4a7c15ull;
		c.exporter[0] = 192;
		c.exporter[1] = 0;
		c.exporter[2] = 2;
		c.exporter[3] = (uint8_t)(1 + i % (fd->exporters ? fd->exporters : 1));
		c.domain = (uint32_t)(i % 4);
		c.f.key.af = (i % 5 == 0) ? 6 : 4;
		memset(c.f.key.src, 0, 16);
		memset(c.f.key.dst, 0, 16);
		if (c.f.key.af == 4) {
			c.f.key.src[0] = 10;
			c.f.key.src[2] = (uint8_t)(x >> 8);
			c.f.key.src[3] = (uint8_t)(x >> 16);
			c.f.key.dst[0] = 198;
			c.f.key.dst[1] = 51;
			c.f.key.dst[2] = 100;
			c.f.key.dst[3] = (uint8_t)(x >> 24);
		} else {
			c.f.key.src[0] = 0x20;
			c.f.key.src[1] = 0x01;
			c.f.key.src[2] = 0x0d;
			c.f.key.src[3] = 0xb8;
			memcpy(c.f.key.src + 8, &x, 8);
			memcpy(c.f.key.dst, c.f.key.src, 8);
			c.f.key.dst[15] = 1;
		}
		c.f.key.sport = (uint16_t)(1024 + (x >> 32) % 60000);
		c.f.key.dport = (uint16_t)((i % 3) ? 443 : 53);
		c.f.key.proto = (uint8_t)((i % 3) ? 6 : 17);
		c.f.key.ifindex = 1 + (uint32_t)(i % 8);
		c.f.if_out = 9 + (uint32_t)(i % 4);
		c.f.packets = 1 + (x >> 40) % 100;
		c.f.bytes = c.f.packets * (40 + (x >> 20) % 1400);
		c.f.first_us = 1700000000000000ull + i * 1000;
		c.f.last_us = c.f.first_us + 5000;
		c.f.tcp_flags = 0x1b;
		c.f.src_as = 64500 + (uint32_t)(i % 16);
		c.f.dst_as = 64600 + (uint32_t)(i % 16);
		feed_one(fd, &c);
	}
}

static int run_init(const char *url)
{
	char err[512];
	if (ch_schema_init(url, stdout, err, sizeof(err)) != ERR_OK) {
		fprintf(stderr, "sinkfeed: --clickhouse-init: %s\n", err);
		return 1;
	}
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: sinkfeed -o SPEC [-o SPEC...] [--rate R] [--exporter ADDR] [--sampling N]\n"
	             "                [--synth N [--exporters K]] [--flow-time] [--cpu] [EXPORT-FILE...]\n"
	             "       sinkfeed --clickhouse-init URL\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "rate", required_argument, NULL, 'r' },
		{ "exporter", required_argument, NULL, 'x' },
		{ "sampling", required_argument, NULL, 'S' },
		{ "synth", required_argument, NULL, 'n' },
		{ "exporters", required_argument, NULL, 'E' },
		{ "clickhouse-init", required_argument, NULL, 'I' },
		{ "cpu", no_argument, NULL, 'c' },
		{ "flow-time", no_argument, NULL, 'F' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct feed fd;
	memset(&fd, 0, sizeof(fd));
	fd.exporter_af = 4;
	fd.sampling = 1;
	inet_pton(AF_INET, "192.0.2.1", fd.exporter);
	uint64_t synth = 0;
	int cpu = 0, opt, quiet = 0;
	log_init("sinkfeed", false, LOG_LVL_NOTE);
	while ((opt = getopt_long(argc, argv, "o:r:x:S:n:E:I:cFqh", lo, NULL)) != -1) {
		switch (opt) {
		case 'o':
			if (fd.nsink == MAX_SINKS) {
				fprintf(stderr, "sinkfeed: at most %d sinks\n", MAX_SINKS);
				return 1;
			}
			fd.spec[fd.nsink++] = optarg;
			break;
		case 'r': fd.rate = atof(optarg); break;
		case 'x':
			memset(fd.exporter, 0, 16);
			if (inet_pton(AF_INET, optarg, fd.exporter) == 1)
				fd.exporter_af = 4;
			else if (inet_pton(AF_INET6, optarg, fd.exporter) == 1)
				fd.exporter_af = 6;
			else {
				fprintf(stderr, "sinkfeed: bad exporter address %s\n", optarg);
				return 1;
			}
			break;
		case 'S': fd.sampling = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'n': synth = strtoull(optarg, NULL, 10); break;
		case 'E': fd.exporters = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'I': return run_init(optarg);
		case 'c': cpu = 1; break;
		case 'F': fd.flow_time = 1; break;
		case 'q': quiet = 1; log_init("sinkfeed", false, LOG_LVL_ERR); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (fd.nsink == 0) {
		usage(stderr);
		return 1;
	}
	for (int i = 0; i < fd.nsink; i++) {
		char err[512];
		fd.sink[i] = sink_open(fd.spec[i], err, sizeof(err));
		if (!fd.sink[i]) {
			fprintf(stderr, "sinkfeed: %s\n", err);
			for (int k = 0; k < i; k++)
				sink_close(fd.sink[k]);
			return 1;
		}
	}
	int rc = 0;
	struct timespec c0, c1, w0, w1;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	clock_gettime(CLOCK_MONOTONIC, &w0);
	fd.t0_us = wall_us();
	if (synth)
		feed_synth(&fd, synth);
	for (int i = optind; i < argc; i++)
		if (feed_file(&fd, argv[i]) != 0)
			rc = 1;
	tick_all(&fd, 1);
	for (int i = 0; i < fd.nsink; i++) {
		struct sink *s = fd.sink[i];
		sink_tick(s, UINT64_MAX / 2); /* every batching deadline has passed */
		if (!quiet && s->ops->show)
			s->ops->show(s, stderr);
		/* close flushes and logs its final counters (log level note) */
		sink_close(s);
		fd.sink[i] = NULL;
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	clock_gettime(CLOCK_MONOTONIC, &w1);
	printf("fed records=%" PRIu64 " packets=%" PRIu64 " bytes=%" PRIu64 "\n", fd.fed, fd.packets, fd.bytes);
	if (cpu) {
		double cs = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
		double ws = (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9;
		printf("cpu_s=%.3f wall_s=%.3f\n", cs, ws);
	}
	return rc;
}
