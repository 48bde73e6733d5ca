/* test_fnf_cache.c — the flexible (Flexible NetFlow monitor) cache: the
 * definition rules, key packing, every accumulator, bucketing, the
 * direction-dependent values, and the IOS expiry rules of each cache
 * type at exact packet-time boundaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cache/fnf.h"
#include "export/ie.h"
#include "lib/bytes.h"
#include "lib/err.h"

#define S 1000000ull
#define T0 (1700000000ull * S)
#define MAXREC 64

struct rec {
	unsigned n;
	uint64_t u[FNF_FIELDS_MAX];   /* every value as a number (bytes: big-endian, <= 8 bytes) */
	uint8_t b[FNF_FIELDS_MAX][16];
	uint8_t end;
	uint64_t first_us, last_us, packets, bytes;
};

struct sink {
	struct rec r[MAXREC];
	unsigned n;
};

static void sink_emit(void *arg, const struct genrec *g)
{
	struct sink *s = arg;
	assert_true(s->n < MAXREC);
	struct rec *r = &s->r[s->n++];
	memset(r, 0, sizeof(*r));
	r->n = g->lay->n;
	for (unsigned i = 0; i < g->lay->n; i++) {
		const struct genrec_field *f = &g->lay->f[i];
		if (f->kind == GENREC_BYTES) {
			assert_non_null(g->v[i].p);
			memcpy(r->b[i], g->v[i].p, f->len);
			r->u[i] = f->len <= 8 ? peek_uint(g->v[i].p, f->len) : 0;
		} else {
			r->u[i] = g->v[i].u;
		}
	}
	r->end = g->end;
	r->first_us = g->first_us;
	r->last_us = g->last_us;
	r->packets = g->packets;
	r->bytes = g->bytes;
}

static struct cache_pkt pkt(uint8_t proto, uint8_t host, uint16_t sport, uint32_t len, uint8_t flags, uint64_t t)
{
	struct cache_pkt p;
	memset(&p, 0, sizeof(p));
	p.pi.af = 4;
	p.pi.proto = proto;
	p.pi.src[0] = 10, p.pi.src[3] = host;
	p.pi.dst[0] = 10, p.pi.dst[2] = 1, p.pi.dst[3] = 1;
	p.pi.sport = sport;
	p.pi.dport = 80;
	p.pi.ip_len = len;
	p.pi.ttl = 64;
	p.pi.tcp_flags = flags;
	p.t_us = t;
	p.ifindex = 3;
	return p;
}

static void feed(struct fnf_cache *c, const struct cache_pkt *p)
{
	const struct cache_pkt *v[1] = { p };
	fnf_packets(c, v, 1, 0);
}

/* key: src, dst, sport, dport, proto; collect: bytes, packets, first, last */
enum { F_SRC, F_DST, F_SPORT, F_DPORT, F_PROTO, F_BYTES, F_PKTS, F_FIRST, F_LAST };

static void five_tuple(struct fnf_def *d, bool ports)
{
	fnf_def_init(d, 0);
	assert_int_equal(fnf_def_add(d, IE_sourceIPv4Address, 4, FNF_S_SRC4, FNF_KEY), ERR_OK);
	assert_int_equal(fnf_def_add(d, IE_destinationIPv4Address, 4, FNF_S_DST4, FNF_KEY), ERR_OK);
	if (ports) {
		assert_int_equal(fnf_def_add(d, IE_sourceTransportPort, 2, FNF_S_SPORT, FNF_KEY), ERR_OK);
		assert_int_equal(fnf_def_add(d, IE_destinationTransportPort, 2, FNF_S_DPORT, FNF_KEY), ERR_OK);
	}
	assert_int_equal(fnf_def_add(d, IE_protocolIdentifier, 1, FNF_S_PROTO, FNF_KEY), ERR_OK);
	assert_int_equal(fnf_def_add(d, IE_octetDeltaCount, 8, FNF_S_BYTES, FNF_SUM), ERR_OK);
	assert_int_equal(fnf_def_add(d, IE_packetDeltaCount, 8, FNF_S_PACKETS, FNF_SUM), ERR_OK);
	assert_int_equal(fnf_def_add(d, IE_flowStartMilliseconds, 8, FNF_S_FIRST, FNF_FIRST), ERR_OK);
	assert_int_equal(fnf_def_add(d, IE_flowEndMilliseconds, 8, FNF_S_LAST, FNF_LAST), ERR_OK);
	assert_int_equal(fnf_def_finish(d), ERR_OK);
}

static struct fnf_cache *mk(struct sink *s, const struct fnf_def *d, uint32_t entries, uint32_t act, uint32_t inact,
                            enum cache_type t)
{
	struct fnf_cfg cfg = { .entries = entries, .active_s = act, .inactive_s = inact, .type = t };
	memset(s, 0, sizeof(*s));
	struct fnf_cache *c = fnf_new(d, &cfg, sink_emit, s);
	assert_non_null(c);
	return c;
}

static void test_def_rules(void **state)
{
	struct fnf_def d;
	five_tuple(&d, true);
	assert_int_equal(d.nkey, 5);
	assert_int_equal(d.key_len, 13);
	assert_int_equal(d.f[F_DPORT].off, 10);
	assert_int_equal(d.acc_len, 0); /* counters and times live in every entry */
	assert_true(d.flags & FNF_D_TCP_END);
	assert_int_equal(d.lay.n, 9);
	assert_int_equal(d.lay.f[F_SRC].kind, GENREC_BYTES);
	assert_int_equal(d.lay.f[F_BYTES].kind, GENREC_UINT);
	assert_int_equal(d.lay.f[F_FIRST].kind, GENREC_TIME);
	five_tuple(&d, false);
	assert_false(d.flags & FNF_D_TCP_END);

	fnf_def_init(&d, 0);
	assert_int_equal(fnf_def_add(&d, IE_octetDeltaCount, 8, FNF_S_BYTES, FNF_SUM), ERR_OK);
	/* a key after a collect field, a counter as key, a number wider than 8,
	 * an address longer than itself, an address collected by max */
	assert_int_equal(fnf_def_add(&d, IE_protocolIdentifier, 1, FNF_S_PROTO, FNF_KEY), ERR_ARG);
	assert_int_equal(fnf_def_finish(&d), ERR_ARG); /* no key */
	fnf_def_init(&d, 0);
	assert_int_equal(fnf_def_add(&d, IE_packetDeltaCount, 8, FNF_S_PACKETS, FNF_KEY), ERR_ARG);
	assert_int_equal(fnf_def_add(&d, IE_ipTTL, 9, FNF_S_TTL, FNF_KEY), ERR_ARG);
	assert_int_equal(fnf_def_add(&d, IE_sourceIPv4Address, 5, FNF_S_SRC4, FNF_KEY), ERR_ARG);
	assert_int_equal(fnf_def_add(&d, IE_ipTTL, 0, FNF_S_TTL, FNF_KEY), ERR_ARG);
	assert_int_equal(fnf_def_add(&d, IE_ipTTL, 1, FNF_S_TTL, FNF_KEY), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_sourceIPv6Address, 16, FNF_S_SRC6, FNF_MAX), ERR_ARG);
	assert_int_equal(fnf_def_add(&d, IE_sourceIPv6Address, 16, FNF_S_SRC6, FNF_FIRST), ERR_OK);
	assert_int_equal(d.acc_len, 16);
	/* the key is bounded */
	fnf_def_init(&d, 0);
	int rc = ERR_OK;
	for (int i = 0; i < FNF_FIELDS_MAX && rc == ERR_OK; i++)
		rc = fnf_def_add(&d, IE_sourceIPv6Address, 16, FNF_S_SRC6, FNF_KEY);
	assert_int_equal(rc, ERR_FULL);
	assert_true(d.key_len <= FNF_KEY_MAX);
	/* equality is about fields, not offsets computed */
	struct fnf_def a, b;
	five_tuple(&a, true);
	five_tuple(&b, true);
	assert_true(fnf_def_equal(&a, &b));
	five_tuple(&b, false);
	assert_false(fnf_def_equal(&a, &b));
}

static void test_idle_boundary(void **state)
{
	struct sink s;
	struct fnf_def d;
	five_tuple(&d, true);
	struct fnf_cache *c = mk(&s, &d, 100, 1800, 15, CACHE_NORMAL);
	struct cache_pkt p = pkt(17, 1, 1000, 100, 0, T0);
	feed(c, &p);
	p.t_us = T0 + 2 * S;
	feed(c, &p);
	fnf_expire(c, T0 + 17 * S - 1);
	assert_int_equal(s.n, 0);
	assert_int_equal(fnf_next_deadline(c), T0 + 17 * S);
	fnf_expire(c, T0 + 17 * S);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.r[0].end, FLOW_END_IDLE);
	assert_int_equal(s.r[0].u[F_PKTS], 2);
	assert_int_equal(s.r[0].u[F_BYTES], 200);
	assert_int_equal(s.r[0].u[F_FIRST], T0);
	assert_int_equal(s.r[0].u[F_LAST], T0 + 2 * S);
	assert_int_equal(s.r[0].u[F_SPORT], 1000);
	assert_int_equal(s.r[0].u[F_SRC], 0x0a000001);
	assert_int_equal(fnf_stats(c)->in_use, 0);
	assert_int_equal(fnf_stats(c)->records[FLOW_END_IDLE], 1);
	/* a packet exactly at the next idle deadline ends the record first */
	p.t_us = T0 + 40 * S;
	feed(c, &p);
	p.t_us = T0 + 55 * S;
	feed(c, &p);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.r[1].u[F_PKTS], 1);
	assert_int_equal(s.r[1].u[F_FIRST], T0 + 40 * S);
	/* and one a microsecond earlier joins it */
	p.t_us = T0 + 70 * S - 1;
	feed(c, &p);
	fnf_flush(c, FLOW_END_SHUTDOWN);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.r[2].u[F_PKTS], 2);
	assert_int_equal(s.r[2].end, FLOW_END_SHUTDOWN);
	fnf_free(c);
}

static void test_active_delta(void **state)
{
	struct sink s;
	struct fnf_def d;
	five_tuple(&d, true);
	struct fnf_cache *c = mk(&s, &d, 100, 10, 15, CACHE_NORMAL);
	for (unsigned i = 0; i <= 25; i++) { /* a packet a second for 25 s */
		struct cache_pkt p = pkt(17, 1, 1000, 100, 0, T0 + i * S);
		feed(c, &p);
	}
	/* active deadlines T0+10 and T0+20 (the packet at the deadline opens the next record) */
	assert_int_equal(s.n, 2);
	assert_int_equal(s.r[0].end, FLOW_END_ACTIVE);
	assert_int_equal(s.r[0].u[F_PKTS], 10);
	assert_int_equal(s.r[0].u[F_LAST], T0 + 9 * S);
	assert_int_equal(s.r[1].u[F_FIRST], T0 + 10 * S);
	assert_int_equal(s.r[1].u[F_PKTS], 10);
	assert_int_equal(fnf_stats(c)->in_use, 1);
	assert_int_equal(fnf_stats(c)->flows_added, 3);
	/* an active export leaves the entry; with no packet it is reclaimed at idle */
	fnf_expire(c, T0 + 30 * S);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.r[2].u[F_PKTS], 6);
	fnf_expire(c, T0 + 40 * S);
	assert_int_equal(fnf_stats(c)->in_use, 0);
	assert_int_equal(fnf_stats(c)->empty_reclaimed, 1);
	uint64_t pk = 0;
	for (unsigned i = 0; i < s.n; i++)
		pk += s.r[i].u[F_PKTS];
	assert_int_equal(pk, 26);
	fnf_free(c);
}

static void test_fin_rst_only_with_ports(void **state)
{
	struct sink s;
	struct fnf_def d;
	five_tuple(&d, true);
	struct fnf_cache *c = mk(&s, &d, 100, 1800, 15, CACHE_NORMAL);
	struct cache_pkt p = pkt(6, 1, 1000, 60, 0x02, T0);
	feed(c, &p);
	p.pi.tcp_flags = 0x11; /* FIN|ACK */
	p.t_us = T0 + S;
	feed(c, &p);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.r[0].end, FLOW_END_EOF);
	assert_int_equal(s.r[0].u[F_PKTS], 2);
	fnf_free(c);
	/* without the ports a record aggregates connections: FIN does not end it */
	five_tuple(&d, false);
	c = mk(&s, &d, 100, 1800, 15, CACHE_NORMAL);
	p.pi.tcp_flags = 0x04;
	feed(c, &p);
	feed(c, &p);
	assert_int_equal(s.n, 0);
	fnf_flush(c, FLOW_END_SHUTDOWN);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.r[0].packets, 2);
	fnf_free(c);
}

static void test_emergency_and_keys(void **state)
{
	struct sink s;
	struct fnf_def d;
	five_tuple(&d, false); /* key: src, dst, proto */
	struct fnf_cache *c = mk(&s, &d, 10, 1800, 600, CACHE_NORMAL);
	/* different ports, same key: one record */
	for (unsigned i = 0; i < 5; i++) {
		struct cache_pkt p = pkt(17, 1, (uint16_t)(1000 + i), 100, 0, T0 + i * S);
		feed(c, &p);
	}
	assert_int_equal(fnf_stats(c)->in_use, 1);
	/* 9 entries in use (90 %): the 10th new key first expires the oldest idle (host 1) */
	for (unsigned h = 2; h <= 9; h++) {
		struct cache_pkt p = pkt(17, (uint8_t)h, 1, 10, 0, T0 + (10 + h) * S);
		feed(c, &p);
	}
	assert_int_equal(fnf_stats(c)->in_use, 9);
	assert_int_equal(s.n, 0);
	struct cache_pkt p = pkt(17, 10, 1, 10, 0, T0 + 30 * S);
	feed(c, &p);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.r[0].end, FLOW_END_EMERGENCY);
	assert_int_equal(s.r[0].u[0], 0x0a000001);
	assert_int_equal(s.r[0].packets, 5);
	assert_int_equal(fnf_stats(c)->records[FLOW_END_EMERGENCY], 1);
	fnf_free(c);
}

static void test_permanent(void **state)
{
	struct sink s;
	struct fnf_def d;
	five_tuple(&d, true);
	/* permanent: active_s is the update timeout; no idle, FIN or emergency expiry */
	struct fnf_cache *c = mk(&s, &d, 4, 60, 15, CACHE_PERMANENT);
	for (unsigned h = 1; h <= 6; h++) {
		struct cache_pkt p = pkt(6, (uint8_t)h, 1, 100, 0x01, T0 + h * S);
		feed(c, &p);
	}
	assert_int_equal(s.n, 0);
	assert_int_equal(fnf_stats(c)->in_use, 4);
	assert_int_equal(fnf_stats(c)->flows_dropped_full, 2);
	assert_int_equal(fnf_stats(c)->packets_dropped_full, 2);
	assert_int_equal(fnf_stats(c)->bytes_dropped_full, 200);
	fnf_expire(c, T0 + S + 60 * S - 1);
	assert_int_equal(s.n, 0);
	fnf_expire(c, T0 + S + 60 * S);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.r[0].end, FLOW_END_ACTIVE);
	/* the entry stays: the next packet of host 1 opens its next record */
	struct cache_pkt p = pkt(6, 1, 1, 100, 0, T0 + 100 * S);
	feed(c, &p);
	assert_int_equal(fnf_stats(c)->in_use, 4);
	fnf_expire(c, T0 + 1000 * S);
	assert_int_equal(s.n, 5);
	assert_int_equal(fnf_stats(c)->in_use, 4);
	fnf_free(c);
}

static void test_immediate(void **state)
{
	struct sink s;
	struct fnf_def d;
	five_tuple(&d, true);
	struct fnf_cache *c = mk(&s, &d, 4, 1800, 15, CACHE_IMMEDIATE);
	for (unsigned i = 0; i < 3; i++) {
		struct cache_pkt p = pkt(17, 1, 1000, (uint16_t)(100 + i), 0, T0 + i);
		feed(c, &p);
	}
	assert_int_equal(s.n, 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(s.r[i].end, FLOW_END_IMMEDIATE);
		assert_int_equal(s.r[i].u[F_PKTS], 1);
		assert_int_equal(s.r[i].u[F_BYTES], 100 + i);
		assert_int_equal(s.r[i].u[F_FIRST], T0 + i);
	}
	assert_int_equal(fnf_next_deadline(c), UINT64_MAX);
	fnf_flush(c, FLOW_END_SHUTDOWN);
	assert_int_equal(s.n, 3);
	assert_int_equal(fnf_stats(c)->records[FLOW_END_IMMEDIATE], 3);
	fnf_free(c);
}

/* Every accumulator and the direction-dependent values. */
enum { A_VLAN, A_BYTES, A_TTLMIN, A_TTLMAX, A_TTLFIRST, A_TTLLAST, A_FLAGS, A_MACIN, A_MACOUT, A_IFIN, A_IFOUT,
       A_FRAG, A_MCAST, A_FLOWS, A_SYSUP };

static void test_accumulators(void **state)
{
	struct sink s;
	struct fnf_def d;
	fnf_def_init(&d, 0);
	assert_int_equal(fnf_def_add(&d, IE_dot1qVlanId, 2, FNF_S_VLAN_IN, FNF_KEY), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_octetDeltaCount, 4, FNF_S_BYTES, FNF_SUM), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_minimumTTL, 1, FNF_S_TTL_EXACT, FNF_MIN), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_maximumTTL, 1, FNF_S_TTL_EXACT, FNF_MAX), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_ipTTL, 1, FNF_S_TTL, FNF_FIRST), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_ipTTL, 1, FNF_S_TTL, FNF_LAST), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_tcpControlBits, 1, FNF_S_TCP_FLAGS, FNF_OR), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_sourceMacAddress, 6, FNF_S_MAC_SRC_IN, FNF_FIRST), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_postSourceMacAddress, 6, FNF_S_MAC_SRC_OUT, FNF_FIRST), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_ingressInterface, 4, FNF_S_IF_IN, FNF_FIRST), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_egressInterface, 4, FNF_S_IF_OUT, FNF_FIRST), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_fragmentFlags, 1, FNF_S_FRAG_FLAGS, FNF_OR), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_isMulticast, 1, FNF_S_MCAST, FNF_OR), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_deltaFlowCount, 4, FNF_S_FLOWS, FNF_SUM), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_flowStartSysUpTime, 4, FNF_S_FIRST, FNF_FIRST), ERR_OK);
	assert_int_equal(fnf_def_finish(&d), ERR_OK);
	struct fnf_cache *c = mk(&s, &d, 16, 1800, 15, CACHE_NORMAL);
	static const uint8_t ttl[] = { 64, 3, 200, 17 };
	static const uint8_t flags[] = { 0x02, 0x10, 0x18, 0x10 };
	for (unsigned i = 0; i < 4; i++) {
		struct cache_pkt p = pkt(6, (uint8_t)(1 + i), 1, 40 + i, flags[i], T0 + i * S);
		p.pi.vlan = 100;
		p.pi.ttl = ttl[i];
		p.pi.src_mac[5] = (uint8_t)(0x10 + i);
		p.pi.flags = i == 1 ? (PKT_F_DF) : i == 2 ? (PKT_F_MF | PKT_F_FRAG | PKT_F_MULTICAST) : 0;
		feed(c, &p);
	}
	/* an egress packet of the same VLAN: same key here (vlan input is 0 on egress? no: key differs) */
	struct cache_pkt q = pkt(17, 9, 1, 100, 0, T0 + 5 * S);
	q.pi.vlan = 100;
	q.dir = 1;
	q.pi.src_mac[5] = 0x99;
	feed(c, &q);
	fnf_flush(c, FLOW_END_SHUTDOWN);
	assert_int_equal(s.n, 2);
	const struct rec *r = s.r[0].u[A_VLAN] == 100 ? &s.r[0] : &s.r[1];
	const struct rec *e = r == &s.r[0] ? &s.r[1] : &s.r[0];
	assert_int_equal(r->u[A_BYTES], 40 + 41 + 42 + 43);
	assert_int_equal(r->u[A_TTLMIN], 3);
	assert_int_equal(r->u[A_TTLMAX], 200);
	assert_int_equal(r->u[A_TTLFIRST], 64);
	assert_int_equal(r->u[A_TTLLAST], 17);
	assert_int_equal(r->u[A_FLAGS], 0x1a);
	assert_int_equal(r->b[A_MACIN][5], 0x10); /* first packet's */
	assert_int_equal(r->u[A_MACOUT], 0);     /* an input capture sees no output MAC */
	assert_int_equal(r->u[A_IFIN], 3);
	assert_int_equal(r->u[A_IFOUT], 0);
	assert_int_equal(r->u[A_FRAG], 0x60);    /* DF | MF (RFC 7012) */
	assert_int_equal(r->u[A_MCAST], 0x80);
	assert_int_equal(r->u[A_FLOWS], 1);
	assert_int_equal(r->u[A_SYSUP], T0);     /* a time: the writer makes it sysUpTime */
	/* the egress packet: vlan input 0 (key), output values set */
	assert_int_equal(e->u[A_VLAN], 0);
	assert_int_equal(e->u[A_MACIN], 0);
	assert_int_equal(e->b[A_MACOUT][5], 0x99);
	assert_int_equal(e->u[A_IFIN], 0);
	assert_int_equal(e->u[A_IFOUT], 3);
	assert_int_equal(e->u[A_FLAGS], 0); /* UDP: no TCP flags */
	fnf_free(c);
}

static void test_buckets(void **state)
{
	assert_int_equal(fnf_bucket_ttl(0), 10);
	assert_int_equal(fnf_bucket_ttl(10), 10);
	assert_int_equal(fnf_bucket_ttl(11), 25);
	assert_int_equal(fnf_bucket_ttl(50), 50);
	assert_int_equal(fnf_bucket_ttl(51), 100);
	assert_int_equal(fnf_bucket_ttl(101), 150);
	assert_int_equal(fnf_bucket_ttl(150), 150);
	assert_int_equal(fnf_bucket_ttl(151), 255);
	assert_int_equal(fnf_bucket_ttl(255), 255);
	assert_int_equal(fnf_bucket_len(0), 64);
	assert_int_equal(fnf_bucket_len(64), 64);
	assert_int_equal(fnf_bucket_len(65), 128);
	assert_int_equal(fnf_bucket_len(756), 756);
	assert_int_equal(fnf_bucket_len(757), 1500);
	assert_int_equal(fnf_bucket_len(1501), 4000);
	assert_int_equal(fnf_bucket_len(4000), 4000);
	assert_int_equal(fnf_bucket_len(4001), 8192);
	assert_int_equal(fnf_bucket_len(70000), 8192);

	/* a record keyed on bucketed TTL and length; min/max stay exact */
	struct sink s;
	struct fnf_def d;
	fnf_def_init(&d, FNF_D_BUCKET_TTL | FNF_D_BUCKET_LEN);
	assert_int_equal(fnf_def_add(&d, IE_ipTTL, 1, FNF_S_TTL, FNF_KEY), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_totalLengthIPv4, 2, FNF_S_IPLEN, FNF_KEY), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_minimumTTL, 1, FNF_S_TTL_EXACT, FNF_MIN), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_maximumIpTotalLength, 2, FNF_S_IPLEN_EXACT, FNF_MAX), ERR_OK);
	assert_int_equal(fnf_def_finish(&d), ERR_OK);
	struct fnf_cache *c = mk(&s, &d, 16, 1800, 15, CACHE_NORMAL);
	static const struct { uint8_t ttl; uint16_t len; } v[] = { { 60, 70 }, { 99, 128 }, { 51, 100 }, { 101, 100 } };
	for (unsigned i = 0; i < 4; i++) {
		struct cache_pkt p = pkt(17, 1, 1, v[i].len, 0, T0 + i);
		p.pi.ttl = v[i].ttl;
		feed(c, &p);
	}
	fnf_flush(c, FLOW_END_SHUTDOWN);
	assert_int_equal(s.n, 2); /* (100, 128) x3 and (150, 128) */
	const struct rec *a = s.r[0].u[0] == 100 ? &s.r[0] : &s.r[1];
	const struct rec *b = a == &s.r[0] ? &s.r[1] : &s.r[0];
	assert_int_equal(a->u[0], 100);
	assert_int_equal(a->u[1], 128);
	assert_int_equal(a->packets, 3);
	assert_int_equal(a->u[2], 51);
	assert_int_equal(a->u[3], 128);
	assert_int_equal(b->u[0], 150);
	assert_int_equal(b->u[2], 101);
	fnf_free(c);
}

/* Address-family and protocol dependent values, and key saturation. */
static void test_family_values(void **state)
{
	struct sink s;
	struct fnf_def d;
	fnf_def_init(&d, 0);
	assert_int_equal(fnf_def_add(&d, IE_sourceIPv6Address, 16, FNF_S_SRC6, FNF_KEY), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_sourceIPv4Address, 4, FNF_S_SRC4, FNF_KEY), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_flowLabelIPv6, 4, FNF_S_FLOW_LABEL, FNF_KEY), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_nextHeaderIPv6, 1, FNF_S_NEXT_HDR, FNF_KEY), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_icmpTypeIPv6, 1, FNF_S_ICMP6_TYPE, FNF_KEY), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_icmpTypeIPv4, 1, FNF_S_ICMP4_TYPE, FNF_KEY), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_udpSourcePort, 2, FNF_S_UDP_SPORT, FNF_KEY), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_totalLengthIPv4, 2, FNF_S_IPLEN, FNF_KEY), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_payloadLengthIPv6, 2, FNF_S_PAYLEN6, FNF_KEY), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_isMulticast, 1, FNF_S_MCAST, FNF_KEY), ERR_OK);
	assert_int_equal(fnf_def_add(&d, IE_forwardingStatus, 1, FNF_S_FWD_STATUS, FNF_KEY), ERR_OK);
	assert_int_equal(fnf_def_finish(&d), ERR_OK);
	struct fnf_cache *c = mk(&s, &d, 16, 1800, 15, CACHE_NORMAL);
	struct cache_pkt p = pkt(58, 1, 0, 80000, 0, T0); /* an ICMPv6 jumbogram, egress */
	p.pi.af = 6;
	p.pi.src[15] = 7;
	p.pi.flow_label = 0xabcde;
	p.pi.ip6_nh = 0; /* hop-by-hop first */
	p.pi.icmp_type = 128;
	p.pi.flags = PKT_F_MULTICAST;
	p.dir = 1;
	feed(c, &p);
	fnf_flush(c, FLOW_END_SHUTDOWN);
	assert_int_equal(s.n, 1);
	const struct rec *r = &s.r[0];
	assert_int_equal(r->b[0][0], 10);
	assert_int_equal(r->b[0][15], 7);
	assert_int_equal(r->u[1], 0);        /* IPv4 source of an IPv6 packet */
	assert_int_equal(r->u[2], 0xabcde);
	assert_int_equal(r->u[3], 0);
	assert_int_equal(r->u[4], 128);
	assert_int_equal(r->u[5], 0);        /* ICMPv4 type of ICMPv6 */
	assert_int_equal(r->u[6], 0);        /* UDP port of ICMP */
	assert_int_equal(r->u[7], 0xffff);   /* 80000 saturates in 2 bytes */
	assert_int_equal(r->u[8], 0xffff);
	assert_int_equal(r->u[9], 0x1f);     /* IPv6 multicast (RFC 7012) */
	assert_int_equal(r->u[10], 0x40);    /* forwarded: seen leaving */
	assert_int_equal(r->bytes, 80000);
	fnf_free(c);
}

/* Digest of the records (end reason, key, counters, times); a sum, so
 * the order a flush walks the (randomly seeded) table does not matter. */
struct digest {
	unsigned n;
	uint64_t h, packets;
};

static void digest_emit(void *arg, const struct genrec *g)
{
	struct digest *d = arg;
	d->n++;
	d->packets += g->packets;
	uint64_t h = g->end ^ g->packets << 8 ^ g->bytes << 24 ^ g->first_us ^ g->last_us << 3;
	for (unsigned i = 0; i < g->lay->n; i++)
		if (g->lay->f[i].kind == GENREC_BYTES)
			h = h * 1000003u + peek_uint(g->v[i].p, g->lay->f[i].len > 8 ? 8 : g->lay->f[i].len);
	d->h += h * 0x9E3779B97F4A7C15ull;
}

static void test_batch_equals_single(void **state)
{
	/* a batch gives the same records as packet by packet */
	struct fnf_def d;
	five_tuple(&d, true);
	struct digest s1 = { 0 }, s2 = { 0 };
	struct fnf_cfg cfg = { .entries = 64, .active_s = 5, .inactive_s = 2, .type = CACHE_NORMAL };
	struct fnf_cache *a = fnf_new(&d, &cfg, digest_emit, &s1);
	struct fnf_cache *b = fnf_new(&d, &cfg, digest_emit, &s2);
	assert_non_null(a);
	assert_non_null(b);
	struct cache_pkt v[CACHE_BATCH_MAX];
	const struct cache_pkt *pv[CACHE_BATCH_MAX];
	uint64_t t = T0;
	for (unsigned round = 0; round < 20; round++) {
		for (unsigned i = 0; i < CACHE_BATCH_MAX; i++) {
			t += 100000u * ((i * 7 + round) % 5);
			v[i] = pkt(round % 3 ? 17 : 6, (uint8_t)((i * 13 + round) % 40), (uint16_t)(i % 3), 50 + i,
			           (i % 11) == 0 ? 0x01 : 0, t);
			pv[i] = &v[i];
			feed(a, &v[i]);
		}
		fnf_packets(b, pv, CACHE_BATCH_MAX, 0);
	}
	fnf_flush(a, FLOW_END_SHUTDOWN);
	fnf_flush(b, FLOW_END_SHUTDOWN);
	assert_true(s1.n > 100);
	assert_int_equal(s1.n, s2.n);
	assert_int_equal(s1.packets, 20 * CACHE_BATCH_MAX);
	assert_int_equal(s1.packets, s2.packets);
	assert_int_equal(s1.h, s2.h);
	assert_memory_equal(fnf_stats(a)->records, fnf_stats(b)->records, sizeof(fnf_stats(a)->records));
	fnf_free(a);
	fnf_free(b);
}

/* New timeouts (reload) judge the flows already in the cache from the
 * next sweep on. */
static void test_timeouts_changed(void **state)
{
	struct sink s;
	struct fnf_def d;
	five_tuple(&d, true);
	struct fnf_cache *c = mk(&s, &d, 16, 1800, 60, CACHE_NORMAL);
	struct cache_pkt p = pkt(17, 1, 1000, 100, 0, T0);
	feed(c, &p);
	fnf_expire(c, T0 + 30 * S);
	assert_int_equal(s.n, 0);
	fnf_set_timeouts(c, 1800, 20);
	assert_int_equal(fnf_config(c)->inactive_s, 20);
	assert_int_equal(fnf_next_deadline(c), T0 + 20 * S);
	fnf_expire(c, T0 + 30 * S);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.r[0].end, FLOW_END_IDLE);
	/* and a shorter active timeout */
	p.t_us = T0 + 40 * S;
	feed(c, &p);
	fnf_set_timeouts(c, 5, 20);
	p.t_us = T0 + 44 * S;
	feed(c, &p);
	assert_int_equal(s.n, 1);
	p.t_us = T0 + 45 * S;
	feed(c, &p);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.r[1].end, FLOW_END_ACTIVE);
	assert_int_equal(s.r[1].packets, 2);
	fnf_free(c);
}

static void test_bad_config_and_foreach(void **state)
{
	struct fnf_def d;
	five_tuple(&d, true);
	struct fnf_cfg cfg = { .entries = 0, .active_s = 1, .inactive_s = 1, .type = CACHE_NORMAL };
	struct sink s;
	assert_null(fnf_new(&d, &cfg, sink_emit, &s));
	cfg.entries = 8;
	cfg.inactive_s = 0;
	assert_null(fnf_new(&d, &cfg, sink_emit, &s));
	struct fnf_def empty;
	fnf_def_init(&empty, 0);
	cfg.inactive_s = 1;
	assert_null(fnf_new(&empty, &cfg, sink_emit, &s)); /* not finished / no key */
	fnf_free(NULL);
	struct fnf_cache *c = mk(&s, &d, 8, 100, 100, CACHE_NORMAL);
	for (unsigned h = 1; h <= 3; h++) {
		struct cache_pkt p = pkt(17, (uint8_t)h, 1, 10, 0, T0 + h);
		feed(c, &p);
	}
	struct sink seen;
	memset(&seen, 0, sizeof(seen));
	fnf_foreach(c, 0, sink_emit, &seen);
	assert_int_equal(seen.n, 3);
	assert_int_equal(seen.r[0].end, FLOW_END_MAX);
	assert_int_equal(seen.r[0].u[F_SRC], 0x0a000001); /* oldest first */
	memset(&seen, 0, sizeof(seen));
	fnf_foreach(c, 2, sink_emit, &seen);
	assert_int_equal(seen.n, 2);
	assert_int_equal(s.n, 0); /* foreach exports nothing */
	assert_true(fnf_memory(c) >= 9 * fnf_entry_size(c));
	fnf_stats_clear(c);
	assert_int_equal(fnf_stats(c)->in_use, 3);
	assert_int_equal(fnf_stats(c)->packets, 0);
	fnf_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_def_rules),
		cmocka_unit_test(test_idle_boundary),
		cmocka_unit_test(test_active_delta),
		cmocka_unit_test(test_fin_rst_only_with_ports),
		cmocka_unit_test(test_emergency_and_keys),
		cmocka_unit_test(test_permanent),
		cmocka_unit_test(test_immediate),
		cmocka_unit_test(test_accumulators),
		cmocka_unit_test(test_buckets),
		cmocka_unit_test(test_family_values),
		cmocka_unit_test(test_batch_equals_single),
		cmocka_unit_test(test_timeouts_changed),
		cmocka_unit_test(test_bad_config_and_foreach),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
