/* export_fixture.h — flow records and encode/decode helpers shared by the
 * export tests (static inline: each test includes what it uses). */
#ifndef IPFLOW_TEST_EXPORT_FIXTURE_H
#define IPFLOW_TEST_EXPORT_FIXTURE_H

#include <stdint.h>
#include <string.h>

#include "cache/flowrec.h"
#include "export/export.h"
#include "export/exporter.h"
#include "msgbuild.h"

#define T0 1700000000000000ull /* exporter start, us: whole seconds */

/* A record with every field set and distinct; times ms-aligned. */
static inline void fx_rec(struct flowrec *r, int af, unsigned i)
{
	memset(r, 0, sizeof(*r));
	r->key.af = (uint8_t)af;
	if (af == 4) {
		uint8_t s[4] = { 10, 1, (uint8_t)(i >> 8), (uint8_t)i }, d[4] = { 192, 168, 7, 9 },
		        nh[4] = { 172, 16, 0, 1 };
		memcpy(r->key.src, s, 4);
		memcpy(r->key.dst, d, 4);
		memcpy(r->nexthop, nh, 4);
	} else {
		for (int k = 0; k < 16; k++) {
			r->key.src[k] = (uint8_t)(0x20 + k);
			r->key.dst[k] = (uint8_t)(0xf0 - k);
			r->nexthop[k] = (uint8_t)(0x80 | k);
		}
		r->key.src[14] = (uint8_t)(i >> 8);
		r->key.src[15] = (uint8_t)i;
	}
	r->key.sport = (uint16_t)(1024 + i);
	r->key.dport = 443;
	r->key.proto = 6;
	r->key.tos = 0x2e;
	r->key.dir = 1;
	r->key.ifindex = 3;
	r->if_out = 7;
	r->packets = 10 + i;
	r->bytes = 1500 * (10 + i);
	r->first_us = T0 + 5000000 + 1000ull * i;
	r->last_us = r->first_us + 2345000;
	r->src_as = 64512;
	r->dst_as = 65001;
	r->tcp_flags = 0x1b;
	r->min_ttl = 60;
	r->max_ttl = 64;
	r->src_mask = 24;
	r->dst_mask = 16;
	r->end = FLOW_END_EOF;
	r->min_len = 40;
	r->max_len = 1500;
}

/* Which flowrec fields a format carries. */
enum {
	FX_KEY = 1, FX_COUNT = 2, FX_TIME = 4, FX_IF = 8, FX_NH = 16,
	FX_AS = 32, FX_MASK = 64, FX_EXTRA = 128, /* ttl, lengths, dir, end */
	FX_V1 = FX_KEY | FX_COUNT | FX_TIME | FX_IF | FX_NH,
	FX_V5 = FX_V1 | FX_AS | FX_MASK,
	FX_ALL = FX_V5 | FX_EXTRA,
};

static inline struct exporter *fx_exporter(int version, struct memtp *tp, unsigned mtu)
{
	struct exporter_cfg cfg;
	char err[256];
	exporter_cfg_init(&cfg, version);
	cfg.start_us = T0;
	cfg.domain = 77;
	if (mtu)
		cfg.mtu = mtu;
	struct exporter *ex = exporter_new(&cfg, &tp->base, err, sizeof(err));
	return ex;
}

/* Decode every message captured; calls back on each DATA flow record. */
struct fx_decoded {
	struct flowrec *rec;
	size_t n, cap;
	unsigned msgs, tmpls, opt_tmpls, opt_recs, skipped;
	int rc; /* first error, ERR_OK if none */
};

static inline void fx_decode_msg(const uint8_t *p, size_t len, const struct tmpl_store *ts,
                                 struct fx_decoded *d)
{
	struct nf_iter it;
	struct nf_item item;
	int rc = nf_iter_init(&it, p, len, ts);
	d->msgs++;
	while (rc == ERR_OK && (rc = nf_iter_next(&it, &item)) == ERR_OK) {
		switch (item.kind) {
		case NF_ITEM_DATA:
			if (item.t->scope_count) {
				d->opt_recs++;
				break;
			}
			if (d->n == d->cap) {
				d->cap = d->cap ? 2 * d->cap : 256;
				d->rec = realloc(d->rec, d->cap * sizeof(*d->rec));
			}
			if (nf_item_flowrec(&it, &item, &d->rec[d->n]) == ERR_OK)
				d->n++;
			break;
		case NF_ITEM_TMPL:
			if (item.t->scope_count)
				d->opt_tmpls++;
			else
				d->tmpls++;
			break;
		default:
			d->skipped++;
			break;
		}
	}
	if (rc != ERR_END && d->rc == ERR_OK)
		d->rc = rc;
}

static inline void fx_decode_all(struct memtp *tp, struct fx_decoded *d)
{
	struct tmpl_store_mem mem;
	tmpl_store_mem_init(&mem, 16);
	struct tmpl_store ts = tmpl_store_mem_iface(&mem);
	for (size_t i = 0; i < tp->n; i++)
		fx_decode_msg(tp->msg[i].p, tp->msg[i].len, &ts, d);
	tmpl_store_mem_free(&mem);
}

static inline void fx_decoded_free(struct fx_decoded *d)
{
	free(d->rec);
	memset(d, 0, sizeof(*d));
}

#endif
