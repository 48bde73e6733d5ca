/* store_fixture.h — collected records for the file store and report tests,
 * the store feeder (tests/tools/store_feed.c) and the store benchmark.
 *
 * fx_crec() makes record i of a seeded stream: every field set, drawn from
 * small pools (addresses, ports, AS numbers, interfaces) so that top-N
 * reports have repeated keys, with IPv4 and IPv6 mixed. Same (seed, i),
 * same record. static inline: each user includes what it needs. */
#ifndef IPFLOW_TEST_STORE_FIXTURE_H
#define IPFLOW_TEST_STORE_FIXTURE_H

#include <stdint.h>
#include <string.h>

#include "collect/crec.h"

static inline uint64_t fx_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Exporter number e (0-based): 192.0.2.(e+1) for even e, 2001:db8::e+1 for odd. */
static inline void fx_exporter(unsigned e, uint8_t addr[16], uint8_t *af)
{
	memset(addr, 0, 16);
	if (e % 2 == 0) {
		*af = 4;
		addr[0] = 192;
		addr[1] = 0;
		addr[2] = 2;
		addr[3] = (uint8_t)(e + 1);
	} else {
		*af = 6;
		addr[0] = 0x20;
		addr[1] = 0x01;
		addr[2] = 0x0d;
		addr[3] = 0xb8;
		addr[14] = (uint8_t)((e + 1) >> 8);
		addr[15] = (uint8_t)(e + 1);
	}
}

/* Record i of stream seed, received at recv_us from exporter e. Flow end
 * time is at most 60 s before recv_us, start up to 120 s before the end. */
static inline void fx_crec(struct crec *r, uint64_t seed, uint64_t i, uint64_t recv_us, unsigned e)
{
	static const uint16_t ports[] = { 80, 443, 53, 22, 25, 123, 3306, 8080 };
	static const uint8_t protos[] = { 6, 6, 6, 17, 17, 1, 47, 50 };
	uint64_t a = fx_mix(seed * 1000003u + i), b = fx_mix(a), c = fx_mix(b), d = fx_mix(c);
	memset(r, 0, sizeof(*r));
	struct flowrec *f = &r->f;
	int v6 = (a & 7) == 0; /* one in eight */
	f->key.af = v6 ? 6 : 4;
	if (v6) {
		static const uint8_t p6[4] = { 0x20, 0x01, 0x0d, 0xb8 };
		memcpy(f->key.src, p6, 4);
		memcpy(f->key.dst, p6, 4);
		f->key.src[7] = (uint8_t)(b >> 8 & 3);
		f->key.src[15] = (uint8_t)(b & 31);
		f->key.dst[7] = 9;
		f->key.dst[15] = (uint8_t)(c & 15);
		f->nexthop[0] = 0xfe;
		f->nexthop[1] = 0x80;
		f->nexthop[15] = (uint8_t)(1 + (d & 1));
	} else {
		f->key.src[0] = 10;
		f->key.src[1] = (uint8_t)(b >> 8 & 3);
		f->key.src[2] = (uint8_t)(b >> 16 & 7);
		f->key.src[3] = (uint8_t)(b & 63);
		f->key.dst[0] = (uint8_t)(c & 1 ? 172 : 198);
		f->key.dst[1] = (uint8_t)(c & 1 ? 16 : 51);
		f->key.dst[2] = (uint8_t)(c >> 8 & 3);
		f->key.dst[3] = (uint8_t)(c >> 16 & 31);
		f->nexthop[0] = 10;
		f->nexthop[3] = (uint8_t)(1 + (d & 1));
	}
	f->key.proto = protos[a >> 8 & 7];
	int ported = f->key.proto == 6 || f->key.proto == 17;
	f->key.sport = ported ? (uint16_t)(32768 + (b >> 24 & 0x3fff)) : 0;
	f->key.dport = ported ? ports[c >> 24 & 7] : (f->key.proto == 1 ? 0x0800 : 0);
	if (ported && (d & 3) == 0) { /* some replies: server port as source */
		uint16_t t = f->key.sport;
		f->key.sport = f->key.dport;
		f->key.dport = t;
	}
	f->key.tos = (uint8_t)(a >> 16 & 0xfc);
	f->key.dir = (uint8_t)(a >> 20 & 1);
	f->key.ifindex = 1 + (uint32_t)(b >> 40 & 7);
	f->if_out = 1 + (uint32_t)(c >> 40 & 7);
	f->src_as = (d >> 8 & 3) ? 64496 + (uint32_t)(d >> 10 & 15) : 4200000000u + (uint32_t)(d >> 14 & 3);
	f->dst_as = 64512 + (uint32_t)(d >> 16 & 31);
	f->packets = 1 + (a >> 32 & 0x3ff) * ((b & 15) == 0 ? 100 : 1);
	f->bytes = f->packets * (40 + (c >> 32 & 0x3ff));
	f->last_us = recv_us - (d >> 24 & 0x3ffffff) % 60000000u;
	f->first_us = f->last_us - (d >> 40 & 0xffffff) % 120000000u;
	f->tcp_flags = f->key.proto == 6 ? (uint8_t)(0x10 | (a >> 40 & 0x2f)) : 0;
	f->min_ttl = (uint8_t)(32 + (b >> 48 & 31));
	f->max_ttl = (uint8_t)(f->min_ttl + (c >> 48 & 7));
	f->src_mask = v6 ? 48 : 24;
	f->dst_mask = v6 ? 64 : (uint8_t)(16 + (d >> 48 & 15));
	f->end = (uint8_t)(d >> 56) % FLOW_END_MAX;
	f->min_len = 40;
	f->max_len = (uint16_t)(40 + (a >> 48 & 0x5ff));
	fx_exporter(e, r->exporter, &r->exporter_af);
	r->version = e % 3 == 0 ? 10 : e % 3 == 1 ? 9 : 5;
	r->domain = e * 16 + (uint32_t)(a >> 60);
	r->tmpl_id = r->version == 5 ? 0 : (uint16_t)(256 + (b >> 60));
	r->sampling = e % 4 == 3 ? 100 : 1;
	r->recv_us = recv_us;
}

/* Equal in every stored field (exporter included; t/raw not kept). */
static inline int fx_crec_equal(const struct crec *x, const struct crec *y)
{
	const struct flowrec *a = &x->f, *b = &y->f;
	return memcmp(&a->key.src, &b->key.src, 16) == 0 && memcmp(&a->key.dst, &b->key.dst, 16) == 0 &&
	       a->key.sport == b->key.sport && a->key.dport == b->key.dport && a->key.af == b->key.af &&
	       a->key.proto == b->key.proto && a->key.tos == b->key.tos && a->key.dir == b->key.dir &&
	       a->key.ifindex == b->key.ifindex && a->packets == b->packets && a->bytes == b->bytes &&
	       a->first_us == b->first_us && a->last_us == b->last_us && a->if_out == b->if_out &&
	       a->src_as == b->src_as && a->dst_as == b->dst_as && memcmp(a->nexthop, b->nexthop, 16) == 0 &&
	       a->tcp_flags == b->tcp_flags && a->min_ttl == b->min_ttl && a->max_ttl == b->max_ttl &&
	       a->src_mask == b->src_mask && a->dst_mask == b->dst_mask && a->end == b->end &&
	       a->min_len == b->min_len && a->max_len == b->max_len && x->exporter_af == y->exporter_af &&
	       memcmp(x->exporter, y->exporter, 16) == 0 && x->version == y->version && x->domain == y->domain &&
	       x->tmpl_id == y->tmpl_id && x->sampling == y->sampling && x->recv_us == y->recv_us;
}

#endif
