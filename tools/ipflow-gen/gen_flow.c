/* gen_flow.c — sessions: what they are, how long they last, what they send.
 *
 * The mix lives in tables: gen_kinds[] (share of sessions, IPv6 share and
 * timing classes of each kind), then per-kind tables of ports, sizes and
 * profiles, and the header tables (encapsulation, ToS, TTL, options).
 * doc/ipflow-gen.1 repeats the percentages; change both together. */
#include "gen_flow.h"

#include <math.h>
#include <string.h>

#include "gen_frame.h"
#include "lib/bytes.h"

enum { TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08, TCP_ACK = 0x10 };

/* ---- timing --------------------------------------------------------------- */

static uint64_t flow_us(double sec)
{
	return sec <= 0 ? 0 : (uint64_t)(sec * 1e6 + 0.5);
}

static double flow_sec(uint64_t us)
{
	return (double)us / 1e6;
}

/* A gap inside a round (RTT, server time, ACK delay): at least 1 us and at
 * most I/10, so that with the think time between rounds (< 0.6 I) no key
 * of a non-GAP session goes quiet for I. */
static uint64_t flow_inner(const struct gen_model *m, uint64_t g)
{
	uint64_t cap = m->inactive_us / 10;
	if (g > cap)
		g = cap;
	return g ? g : 1;
}

/* Back-to-back packets of a burst: 12-300 us (a 1500-byte frame at 1
 * Gbit/s takes 12 us). */
static uint64_t flow_ser(struct gen_model *m)
{
	return flow_inner(m, gen_rng_range(&m->rng, 12, 300));
}

/* MEDIUM sessions last up to this (seconds). */
static double flow_dmax(const struct gen_model *m)
{
	double d = fmin(0.8 * flow_sec(m->active_us), 20 * flow_sec(m->inactive_us));
	return d < 2 ? 2 : d;
}

/* Planned active time of a session of class cls (seconds; GAP adds its
 * idle gap on top). */
static double flow_duration(struct gen_model *m, unsigned cls)
{
	switch (cls) {
	case GEN_C_SHORT:
		return gen_rng_logu(&m->rng, 0.01, 0.6);
	case GEN_C_MEDIUM:
	case GEN_C_GAP:
		return gen_rng_logu(&m->rng, 1, flow_dmax(m));
	default:
		return flow_sec(m->active_us) * gen_rng_uniform(&m->rng, 1.2, 3.2);
	}
}

/* The mean of flow_duration (+ idle gap), for the steady-state mix. */
static double flow_mean_duration(const struct gen_model *m, unsigned cls)
{
	double dmax = flow_dmax(m);
	switch (cls) {
	case GEN_C_SHORT:
		return 0.15;
	case GEN_C_MEDIUM:
		return (dmax - 1) / log(dmax);
	case GEN_C_GAP:
		return (dmax - 1) / log(dmax) + 2.75 * flow_sec(m->inactive_us);
	default:
		return 2.2 * flow_sec(m->active_us);
	}
}

/* Think time between rounds: SHORT 10-150 ms, MEDIUM/GAP 0.05-0.6 I
 * (log-uniform), LONG 0.2-0.6 I. */
static uint64_t flow_think(struct gen_model *m, const struct gen_flow *f)
{
	double i = flow_sec(m->inactive_us);
	uint64_t g;

	switch (f->cls) {
	case GEN_C_SHORT:
		g = flow_us(gen_rng_logu(&m->rng, 0.01, 0.15));
		if (g > m->inactive_us / 2)
			g = m->inactive_us / 2;
		break;
	case GEN_C_MEDIUM:
	case GEN_C_GAP:
		g = flow_us(gen_rng_logu(&m->rng, 0.05 * i, 0.6 * i));
		break;
	default:
		g = flow_us(gen_rng_uniform(&m->rng, 0.2 * i, 0.6 * i));
		break;
	}
	return g ? g : 1;
}

/* Round trip time of a session: SHORT 0.2-40 ms, others 0.5-200 ms. */
static uint32_t flow_rtt(struct gen_model *m, unsigned cls)
{
	double hi = cls == GEN_C_SHORT ? 0.04 : 0.2;
	return (uint32_t)flow_inner(m, flow_us(gen_rng_logu(&m->rng, cls == GEN_C_SHORT ? 0.0002 : 0.0005, hi)));
}

/* At the end of a round at time now: the gap before the next round, or 0
 * if the session should end instead. A GAP session's idle gap comes at its
 * first round end past gap_at_us and is always followed by a round. */
static uint64_t flow_round_gap(struct gen_flow *f, uint64_t now, uint64_t think)
{
	if (f->gap_len_us && now >= f->gap_at_us) {
		uint64_t g = f->gap_len_us;
		f->gap_len_us = 0;
		return g;
	}
	if (now + think >= f->end_us)
		return 0;
	return think ? think : 1;
}

/* ---- addresses and ports ------------------------------------------------- */

/* Clients: 10.0.0.0/8 and 2001:db8:1000::/36, 16 M and 2^92 hosts. */
static void flow_client(struct gen_model *m, uint8_t af, uint8_t *a)
{
	uint64_t x = gen_rng_u64(&m->rng);
	if (af == 4) {
		a[0] = 10;
		a[1] = (uint8_t)x;
		a[2] = (uint8_t)(x >> 8);
		a[3] = (uint8_t)(1 + (x >> 16) % 254);
		return;
	}
	static const uint8_t pfx[4] = { 0x20, 0x01, 0x0d, 0xb8 };
	memcpy(a, pfx, 4);
	a[4] = (uint8_t)(0x10 | (x & 0x0f));
	a[5] = (uint8_t)(x >> 8);
	a[6] = (uint8_t)(x >> 16);
	a[7] = (uint8_t)(x >> 24);
	poke_u64(a + 8, gen_rng_u64(&m->rng));
}

/* Servers: the three IPv4 documentation /24s (40 %) and 172.16.0.0/12;
 * 2001:db8:f000::/40 with small host numbers. */
static void flow_server(struct gen_model *m, uint8_t af, uint8_t *a)
{
	static const uint8_t doc[3][3] = { { 192, 0, 2 }, { 198, 51, 100 }, { 203, 0, 113 } };
	uint64_t x = gen_rng_u64(&m->rng);
	if (af == 4) {
		if (x % 100 < 40) {
			memcpy(a, doc[(x >> 8) % 3], 3);
		} else {
			a[0] = 172;
			a[1] = (uint8_t)(16 + ((x >> 8) & 15));
			a[2] = (uint8_t)(x >> 16);
		}
		a[3] = (uint8_t)(1 + (x >> 24) % 254);
		return;
	}
	static const uint8_t pfx[5] = { 0x20, 0x01, 0x0d, 0xb8, 0xf0 };
	memcpy(a, pfx, 5);
	a[5] = (uint8_t)(x >> 8);
	a[6] = (uint8_t)(x >> 16);
	a[7] = (uint8_t)(x >> 24);
	poke_u16(a + 14, (uint16_t)(1 + (x >> 32) % 4095));
}

/* Routers and tunnel end points: 198.51.100.0/24 (side 0) or
 * 192.0.2.0/24 (side 1); 2001:db8:ffff:<side>::/64. */
static void flow_router(struct gen_model *m, uint8_t af, unsigned side, uint8_t *a)
{
	static const uint8_t net[2][3] = { { 198, 51, 100 }, { 192, 0, 2 } };
	uint32_t x = gen_rng_u32(&m->rng);
	if (af == 4) {
		memcpy(a, net[side], 3);
		a[3] = (uint8_t)(1 + x % 254);
		return;
	}
	static const uint8_t pfx[6] = { 0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff };
	memcpy(a, pfx, 6);
	a[7] = (uint8_t)side;
	poke_u16(a + 14, (uint16_t)(1 + x % 0xfffe));
}

/* Ports above 32767 that Wireshark 4.0 dissects by number (tshark -G
 * decodes): a client never picks them, so that tshark parses the opaque
 * payloads as data instead of as (malformed) industrial or cluster
 * protocols. Sorted. */
static const uint16_t flow_eph_skip[] = {
	34962, 34980, 37008, 41170, 44321, 44322, 44818, 45564, 47000, 47808, 48049, 48898,
	49999, 54328, 56000, 56001, 56500, 56501, 57000, 57001, 57032, 57033, 57500, 57501,
	57532, 57533, 59000, 59001, 59032, 59033, 59500, 59501, 59532, 59533, 60001,
};

static bool flow_eph_skipped(uint16_t port)
{
	size_t lo = 0, hi = sizeof(flow_eph_skip) / sizeof(flow_eph_skip[0]);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (flow_eph_skip[mid] == port)
			return true;
		if (flow_eph_skip[mid] < port)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Ephemeral source ports: Linux range (75 %) or IANA range. */
static uint16_t flow_eph(struct gen_model *m)
{
	uint16_t port;
	do {
		port = gen_rng_pct(&m->rng, 75) ? (uint16_t)gen_rng_range(&m->rng, 32768, 60999)
						: (uint16_t)gen_rng_range(&m->rng, 49152, 65535);
	} while (flow_eph_skipped(port));
	return port;
}

struct flow_port {
	uint16_t port;
	uint16_t weight;
};

/* Servers' ports. HTTP ports carry HTTP/1.1; the others TLS-like opaque
 * bytes, so only services whose dissectors accept opaque payloads. */
static const struct flow_port flow_tcp_ports[] = {
	{ 443, 58 }, { 80, 16 }, { 8080, 4 }, { 8443, 4 }, { 993, 4 },
	{ 465, 3 },  { 995, 2 }, { 3389, 3 }, { 5223, 3 }, { 853, 3 },
};

/* QUIC, STUN/WebRTC media, Source games, RTP, Xbox Live. */
static const struct flow_port flow_udp_ports[] = {
	{ 443, 45 }, { 19302, 15 }, { 27015, 15 }, { 5004, 15 }, { 3074, 10 },
};

/* NFS, syslog, Zoom media, and a private port. */
static const struct flow_port flow_frag_ports[] = {
	{ 2049, 30 }, { 514, 20 }, { 8801, 25 }, { 7777, 25 },
};

static uint16_t flow_port(struct gen_model *m, const struct flow_port *t, size_t n)
{
	uint32_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += t[i].weight;
	uint32_t x = gen_rng_below(&m->rng, sum);
	for (size_t i = 0; i < n; i++) {
		if (x < t[i].weight)
			return t[i].port;
		x -= t[i].weight;
	}
	return t[n - 1].port;
}

#define FLOW_PORT(m, t) flow_port((m), (t), sizeof(t) / sizeof((t)[0]))

/* ---- headers: ToS, TTL, encapsulation, options ---------------------------- */

/* Non-zero ToS bytes used by 18 % of sessions: DSCP CS1, AF11, AF21, AF31,
 * AF41, EF, CS6, the ECN codepoints, and old RFC 1349 ToS bits. */
static const uint8_t flow_tos_vals[] = { 0x20, 0x28, 0x48, 0x68, 0x88, 0xb8,
					 0xc0, 0x02, 0x01, 0x22, 0x10, 0x04 };

static const uint8_t flow_ttl_init[3] = { 64, 128, 255 };
static const uint16_t flow_ttl_w[3] = { 60, 30, 10 };

static void flow_tos_ttl(struct gen_model *m, struct gen_flow *f)
{
	struct gen_rng *r = &m->rng;
	f->tos[0] = gen_rng_pct(r, 82) ? 0 : flow_tos_vals[gen_rng_below(r, sizeof(flow_tos_vals))];
	f->tos[1] = gen_rng_pct(r, 60) ? f->tos[0] : 0;
	f->ttl[0] = (uint8_t)(flow_ttl_init[gen_rng_pick(r, flow_ttl_w, 3)] - gen_rng_range(r, 0, 8));
	f->ttl[1] = (uint8_t)(flow_ttl_init[gen_rng_pick(r, flow_ttl_w, 3)] - gen_rng_range(r, 2, 25));
}

static const uint16_t flow_encap_w[GEN_L2_COUNT] = {
	[GEN_L2_PLAIN] = 70, [GEN_L2_VLAN] = 15, [GEN_L2_QINQ] = 5, [GEN_L2_MPLS] = 10,
};
static const uint16_t flow_labels_w[3] = { 50, 35, 15 }; /* 1, 2, 3 labels */
static const uint16_t flow_v4opt_w[GEN_V4OPT_COUNT] = {
	[GEN_V4OPT_RA] = 40, [GEN_V4OPT_RR] = 30, [GEN_V4OPT_TS] = 30,
};

/* IPv6 extension header chains. The first two are all a fragmented
 * session may use (they sit before the Fragment header). */
struct flow_chain {
	uint8_t n;
	uint8_t e[2];
};
static const struct flow_chain flow_v6chains[] = {
	{ 1, { GEN_V6EXT_HBH, 0 } },        { 1, { GEN_V6EXT_HBH_RA, 0 } },
	{ 1, { GEN_V6EXT_DST, 0 } },        { 1, { GEN_V6EXT_DST_TEL, 0 } },
	{ 1, { GEN_V6EXT_SRH, 0 } },        { 2, { GEN_V6EXT_HBH, GEN_V6EXT_DST } },
	{ 2, { GEN_V6EXT_HBH_RA, GEN_V6EXT_SRH } }, { 2, { GEN_V6EXT_SRH, GEN_V6EXT_DST_TEL } },
};
static const uint16_t flow_v6chain_w[] = { 15, 10, 15, 10, 25, 8, 9, 8 };

enum {
	FLOW_T_FRAG = 1, /* only extension headers that precede a Fragment header */
	FLOW_T_IGMP = 2, /* Router Alert and a multicast MAC */
};

/* Draw the session's L2 and L3 header options and build its template.
 * opt_pct: share of sessions with IPv4 options (IPv6: 10 % carry
 * extension headers whatever opt_pct, unless opt_pct is 0). */
static void flow_template(struct gen_model *m, struct gen_flow *f, unsigned opt_pct, unsigned how)
{
	struct gen_rng *r = &m->rng;
	struct gen_tmpl_spec s;

	memset(&s, 0, sizeof(s));
	f->encap = (uint8_t)gen_rng_pick(r, flow_encap_w, GEN_L2_COUNT);
	s.mac_src[0] = 0x02;
	poke_u32(s.mac_src + 2, gen_rng_u32(r));
	s.mac_src[1] = (uint8_t)gen_rng_below(r, 256);
	s.mac_dst[0] = 0x02;
	s.mac_dst[1] = 0x1a;
	s.mac_dst[2] = 0x2b;
	s.mac_dst[5] = (uint8_t)gen_rng_range(r, 1, 32); /* a few routers */
	if (how & FLOW_T_IGMP) {
		static const uint8_t mc[3] = { 0x01, 0x00, 0x5e };
		memcpy(s.mac_dst, mc, 3);
		s.mac_dst[3] = f->dst[1] & 0x7f;
		s.mac_dst[4] = f->dst[2];
		s.mac_dst[5] = f->dst[3];
	}
	s.vid[0] = (uint16_t)gen_rng_range(r, 1, 4094);
	s.vid[1] = (uint16_t)gen_rng_range(r, 1, 4094);
	s.pcp = gen_rng_pct(r, 70) ? 0 : (uint8_t)gen_rng_range(r, 1, 7);
	s.nlabels = (uint8_t)(1 + gen_rng_pick(r, flow_labels_w, 3));
	for (unsigned i = 0; i < 3; i++)
		s.label[i] = gen_rng_range(r, 16, 1048575);
	s.mpls_tc = gen_rng_pct(r, 70) ? 0 : (uint8_t)gen_rng_range(r, 1, 7);
	s.mpls_ttl = (uint8_t)(f->ttl[0] > 1 ? f->ttl[0] - 1 : 1);
	s.flow_label = gen_rng_u32(r) & 0xfffff;
	if (how & FLOW_T_IGMP)
		s.v4opt = GEN_V4OPT_RA;
	else if (f->af == 4 && opt_pct && gen_rng_pct(r, opt_pct))
		s.v4opt = (uint8_t)gen_rng_pick(r, flow_v4opt_w, GEN_V4OPT_COUNT);
	if (f->af == 6 && opt_pct && gen_rng_pct(r, 10)) {
		unsigned n = how & FLOW_T_FRAG ? 2 : sizeof(flow_v6chain_w) / sizeof(flow_v6chain_w[0]);
		const struct flow_chain *c = &flow_v6chains[gen_rng_pick(r, flow_v6chain_w, n)];
		s.nv6ext = c->n;
		memcpy(s.v6ext, c->e, 2);
	}
	gen_frame_template(f, &s);
}

/* Largest payload that keeps a packet of f within GEN_MTU. */
static unsigned flow_maxpay(const struct gen_flow *f)
{
	return GEN_MTU - gen_frame_overhead(f);
}

/* ---- streams (UDP, GRE, ESP) -------------------------------------------- */

struct flow_profile {
	uint16_t size_lo, size_hi; /* payload bytes */
	uint32_t intra_lo, intra_hi; /* microseconds between packets of a burst */
	uint8_t fwd_pct, jitter_pct;
};

/* Voice (RTP G.711, 20 ms), video, game, bulk download (QUIC-like). */
static const struct flow_profile flow_profiles[] = {
	{ 172, 172, 20000, 20000, 50, 0 },
	{ 1100, 1300, 2000, 10000, 90, 10 },
	{ 40, 200, 15000, 50000, 50, 40 },
	{ 1200, 1350, 100, 2000, 15, 5 },
	{ 60, 300, 1000, 20000, 100, 30 }, /* one-way telemetry: a single key */
};
static const uint16_t flow_profile_w[] = { 25, 20, 20, 25, 10 };

static uint16_t flow_burst(struct gen_model *m, const struct gen_flow *f)
{
	switch (f->cls) {
	case GEN_C_SHORT:
		return (uint16_t)gen_rng_range(&m->rng, 2, 10);
	case GEN_C_LONG:
		return (uint16_t)gen_rng_range(&m->rng, 2, 6);
	default:
		return (uint16_t)gen_rng_range(&m->rng, 2, 16);
	}
}

static void flow_stream_start(struct gen_model *m, struct gen_flow *f, struct gen_stream *s)
{
	struct gen_rng *r = &m->rng;
	const struct flow_profile *p =
		&flow_profiles[gen_rng_pick(r, flow_profile_w, sizeof(flow_profile_w) / 2)];
	unsigned max = flow_maxpay(f);

	s->size = (uint16_t)gen_rng_range(r, p->size_lo, p->size_hi);
	if (s->size > max)
		s->size = (uint16_t)max;
	s->intra_us = gen_rng_range(r, p->intra_lo, p->intra_hi);
	if (f->cls == GEN_C_SHORT && s->intra_us > 20000)
		s->intra_us = 20000;
	s->fwd_pct = p->fwd_pct;
	s->jitter_pct = p->jitter_pct;
	s->burst_left = flow_burst(m, f);
	s->burst_pos = 0;
}

/* One packet of a stream: bursts of packets (forward first, then one
 * back if the stream is two-way, then by the profile's share) separated
 * by think time. */
static uint64_t flow_stream_step(struct gen_model *m, struct gen_flow *f, struct gen_stream *s,
				 struct gen_pkt *p)
{
	struct gen_rng *r = &m->rng;
	unsigned pos = s->burst_pos++;
	unsigned len = s->size;
	unsigned max = flow_maxpay(f);

	if (pos == 0)
		p->dir = 0;
	else if (pos == 1 && s->fwd_pct < 100)
		p->dir = 1;
	else
		p->dir = !gen_rng_pct(r, s->fwd_pct);
	if (s->jitter_pct) {
		unsigned j = len * s->jitter_pct / 100;
		len = len - j + gen_rng_range(r, 0, 2 * j);
	}
	p->len = (uint16_t)(len > max ? max : len);
	if (--s->burst_left)
		return flow_inner(m, s->intra_us - s->intra_us / 10 + gen_rng_range(r, 0, s->intra_us / 5));
	uint64_t gap = flow_round_gap(f, p->ts_us, flow_think(m, f));
	s->burst_left = flow_burst(m, f);
	s->burst_pos = 0;
	return gap;
}

/* ---- TCP ------------------------------------------------------------------ */

enum { TS_SYN, TS_SYNACK, TS_HSACK, TS_REQ, TS_RESP, TS_ACK, TS_FIN1, TS_FIN2, TS_LAST, TS_RST };

/* Endings by class: FIN, RST, none. */
static const uint16_t flow_tcp_end_w[GEN_C_COUNT][3] = {
	[GEN_C_SHORT] = { 70, 20, 10 },
	[GEN_C_MEDIUM] = { 60, 15, 25 },
	[GEN_C_GAP] = { 50, 10, 40 },
	[GEN_C_LONG] = { 40, 10, 50 },
};
static const uint16_t flow_tcp_win[] = { 64240, 65535, 29200, 502, 2053, 8192, 16384 };

static void tcp_round(struct gen_model *m, struct gen_flow *f)
{
	struct gen_rng *r = &m->rng;
	double mss = f->u.tcp.mss;

	f->u.tcp.req_left = (uint32_t)gen_rng_logu(r, 40, 1400);
	if (gen_rng_pct(r, 3)) /* an upload */
		f->u.tcp.req_left = (uint32_t)gen_rng_logu(r, 2000, f->cls == GEN_C_SHORT ? 20000 : 100000);
	switch (f->cls) {
	case GEN_C_SHORT:
		f->u.tcp.resp_left = (uint32_t)gen_rng_logu(r, 60, 30 * mss);
		break;
	case GEN_C_LONG:
		f->u.tcp.resp_left = (uint32_t)gen_rng_logu(r, 40, 6000);
		break;
	default: /* 1 % of rounds are a bulk download */
		if (gen_rng_below(r, 100) == 0)
			f->u.tcp.resp_left = (uint32_t)gen_rng_logu(r, 50000, 1000000);
		else
			f->u.tcp.resp_left = (uint32_t)gen_rng_logu(r, 100, 30000);
		break;
	}
	if (f->u.tcp.http) {
		if (f->u.tcp.req_left < GEN_HTTP_MIN)
			f->u.tcp.req_left = GEN_HTTP_MIN;
		if (f->u.tcp.resp_left < GEN_HTTP_MIN)
			f->u.tcp.resp_left = GEN_HTTP_MIN;
	}
	f->u.tcp.req_len = f->u.tcp.req_left;
	f->u.tcp.resp_len = f->u.tcp.resp_left;
	f->u.tcp.unacked = 0;
}

static void tcp_start(struct gen_model *m, struct gen_flow *f)
{
	static const uint16_t mss_w[4] = { 70, 15, 10, 5 };
	static const uint16_t mss_v[4] = { 0, 536, 1380, 1220 };
	struct gen_rng *r = &m->rng;

	flow_client(m, f->af, f->src);
	flow_server(m, f->af, f->dst);
	f->sport = flow_eph(m);
	f->dport = FLOW_PORT(m, flow_tcp_ports);
	f->u.tcp.http = f->dport == 80 || f->dport == 8080;
	flow_template(m, f, 4, 0);
	unsigned full = flow_maxpay(f);
	unsigned mss = mss_v[gen_rng_pick(r, mss_w, 4)];
	f->u.tcp.mss = (uint16_t)(mss && mss < full ? mss : full);
	for (unsigned d = 0; d < 2; d++)
		f->u.tcp.win[d] = flow_tcp_win[gen_rng_below(r, sizeof(flow_tcp_win) / 2)];
	f->end = (uint8_t)gen_rng_pick(r, flow_tcp_end_w[f->cls], 3);
	f->u.tcp.closer = gen_rng_pct(r, 60) ? 0 : 1;
	f->state = f->midstream ? TS_REQ : TS_SYN;
	tcp_round(m, f);
	m->sessions_by_end[f->end]++;
}

/* One segment from dir; len > 0 is data taken from the front of what is
 * left of this round's request (dir 0) or response (dir 1). */
static void tcp_send(struct gen_flow *f, struct gen_pkt *p, unsigned dir, uint8_t flags,
		     uint32_t len)
{
	if (len) {
		uint32_t *left = dir ? &f->u.tcp.resp_left : &f->u.tcp.req_left;
		p->msg_len = dir ? f->u.tcp.resp_len : f->u.tcp.req_len;
		p->msg_off = p->msg_len - *left;
		*left -= len;
	}
	p->dir = (uint8_t)dir;
	p->tcp_flags = flags;
	p->seq = f->seq[dir];
	p->ack = flags & TCP_ACK ? f->seq[!dir] : 0;
	p->len = (uint16_t)len;
	f->seq[dir] += len + (flags & (TCP_SYN | TCP_FIN) ? 1 : 0);
}

static uint64_t tcp_step(struct gen_model *m, struct gen_flow *f, struct gen_pkt *p)
{
	struct gen_rng *r = &m->rng;
	unsigned closer = f->u.tcp.closer;
	uint32_t len;
	uint64_t gap;

	switch (f->state) {
	case TS_SYN:
		tcp_send(f, p, 0, TCP_SYN, 0);
		p->tcp_syn = 1;
		f->state = TS_SYNACK;
		return f->rtt_us;
	case TS_SYNACK:
		tcp_send(f, p, 1, TCP_SYN | TCP_ACK, 0);
		p->tcp_syn = 1;
		f->state = TS_HSACK;
		return flow_inner(m, gen_rng_range(r, 20, 200));
	case TS_HSACK:
		tcp_send(f, p, 0, TCP_ACK, 0);
		f->state = TS_REQ;
		return flow_inner(m, gen_rng_range(r, 50, 3000));
	case TS_REQ:
		len = f->u.tcp.req_left < f->u.tcp.mss ? f->u.tcp.req_left : f->u.tcp.mss;
		tcp_send(f, p, 0, (uint8_t)(TCP_ACK | (f->u.tcp.req_left > len ? 0 : TCP_PSH)), len);
		if (f->u.tcp.req_left)
			return flow_ser(m);
		f->state = TS_RESP;
		return flow_inner(m, f->rtt_us + gen_rng_range(r, 50, 5000));
	case TS_RESP:
		len = f->u.tcp.resp_left < f->u.tcp.mss ? f->u.tcp.resp_left : f->u.tcp.mss;
		tcp_send(f, p, 1, (uint8_t)(TCP_ACK | (f->u.tcp.resp_left > len ? 0 : TCP_PSH)), len);
		if (++f->u.tcp.unacked < 2 && f->u.tcp.resp_left)
			return flow_ser(m);
		f->state = TS_ACK;
		return flow_inner(m, gen_rng_range(r, 20, 500));
	case TS_ACK:
		tcp_send(f, p, 0, TCP_ACK, 0);
		f->u.tcp.unacked = 0;
		if (f->u.tcp.resp_left) {
			f->state = TS_RESP;
			return flow_ser(m);
		}
		gap = flow_round_gap(f, p->ts_us, flow_think(m, f));
		if (gap) {
			tcp_round(m, f);
			f->state = TS_REQ;
			return gap;
		}
		if (f->end == GEN_END_NONE)
			return 0;
		f->state = f->end == GEN_END_FIN ? TS_FIN1 : TS_RST;
		return flow_inner(m, gen_rng_range(r, 100, 20000));
	case TS_FIN1:
		tcp_send(f, p, closer, TCP_FIN | TCP_ACK, 0);
		f->state = TS_FIN2;
		return flow_inner(m, f->rtt_us);
	case TS_FIN2:
		tcp_send(f, p, !closer, TCP_FIN | TCP_ACK, 0);
		f->state = TS_LAST;
		return flow_inner(m, gen_rng_range(r, 20, 500));
	case TS_LAST:
		tcp_send(f, p, closer, TCP_ACK, 0);
		return 0;
	default: /* TS_RST */
		tcp_send(f, p, closer, gen_rng_pct(r, 70) ? TCP_RST | TCP_ACK : TCP_RST, 0);
		return 0;
	}
}

/* ---- DNS ------------------------------------------------------------------ */

/* Resolvers: a few per family. */
static void dns_resolver(struct gen_model *m, uint8_t af, uint8_t *a)
{
	static const uint8_t v4[4][4] = {
		{ 192, 0, 2, 53 }, { 198, 51, 100, 53 }, { 203, 0, 113, 53 }, { 10, 0, 0, 53 }
	};
	static const uint8_t v6[2][16] = {
		{ 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53 },
		{ 0x20, 0x01, 0x0d, 0xb8, 0, 0x53, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01 },
	};
	if (af == 4)
		memcpy(a, v4[gen_rng_below(&m->rng, 4)], 4);
	else
		memcpy(a, v6[gen_rng_below(&m->rng, 2)], 16);
}

enum { DNS_Q, DNS_R, DNS_Q2, DNS_R2 };

static void dns_start(struct gen_model *m, struct gen_flow *f)
{
	struct gen_rng *r = &m->rng;

	flow_client(m, f->af, f->src);
	dns_resolver(m, f->af, f->dst);
	f->sport = flow_eph(m);
	f->dport = 53;
	f->tos[0] = f->tos[1] = 0;
	flow_template(m, f, 2, 0);
	f->u.dns.qid = (uint16_t)gen_rng_u32(r);
	f->u.dns.name = (uint16_t)gen_rng_u32(r);
	f->u.dns.aaaa = (uint8_t)gen_rng_pct(r, 25);
	f->u.dns.noreply = (uint8_t)gen_rng_pct(r, 4);
	f->u.dns.nxdomain = (uint8_t)gen_rng_pct(r, 5);
	f->u.dns.answers = (uint8_t)gen_rng_range(r, 1, 3);
	f->state = DNS_Q;
}

static uint64_t dns_step(struct gen_model *m, struct gen_flow *f, struct gen_pkt *p)
{
	p->dir = f->state & 1;
	p->msg = f->state; /* DNS_Q.. line up with GEN_DNS_QUERY_A.. */
	p->seq = (uint16_t)(f->u.dns.qid + (f->state >= DNS_Q2));
	switch (f->state) {
	case DNS_Q:
		if (f->u.dns.noreply)
			return 0;
		f->state = DNS_R;
		return f->rtt_us;
	case DNS_R:
		if (!f->u.dns.aaaa)
			return 0;
		f->state = DNS_Q2;
		return flow_inner(m, gen_rng_range(&m->rng, 20, 2000));
	case DNS_Q2:
		f->state = DNS_R2;
		return f->rtt_us;
	default:
		return 0;
	}
}

/* ---- UDP streams --------------------------------------------------------- */

static void udp_start(struct gen_model *m, struct gen_flow *f)
{
	flow_client(m, f->af, f->src);
	flow_server(m, f->af, f->dst);
	f->sport = flow_eph(m);
	f->dport = FLOW_PORT(m, flow_udp_ports);
	flow_template(m, f, 4, 0);
	flow_stream_start(m, f, &f->u.udp);
}

static uint64_t udp_step(struct gen_model *m, struct gen_flow *f, struct gen_pkt *p)
{
	return flow_stream_step(m, f, &f->u.udp, p);
}

/* ---- fragmented UDP ------------------------------------------------------- */

enum { FR_REQ, FR_RESP };

static void frag_start(struct gen_model *m, struct gen_flow *f)
{
	flow_client(m, f->af, f->src);
	flow_server(m, f->af, f->dst);
	f->sport = flow_eph(m);
	f->dport = FLOW_PORT(m, flow_frag_ports);
	flow_template(m, f, 0, FLOW_T_FRAG);
	f->u.frag.req = (uint16_t)gen_rng_logu(&m->rng, 60, 300);
	f->u.frag.big_pct = f->cls == GEN_C_SHORT ? 50 : 100;
	f->state = FR_REQ;
}

/* Requests go forward; responses come back, larger than the MTU on
 * big_pct of rounds, then cut into fragments of at most MTU bytes whose
 * payloads are multiples of 8 (RFC 791; RFC 8200 §4.5). */
static uint64_t frag_step(struct gen_model *m, struct gen_flow *f, struct gen_pkt *p)
{
	struct gen_rng *r = &m->rng;

	if (f->state == FR_REQ) {
		p->dir = 0;
		p->len = f->u.frag.req;
		bool big = gen_rng_pct(r, f->u.frag.big_pct);
		f->u.frag.resp = (uint16_t)(big ? gen_rng_logu(r, 1600, 8000) : gen_rng_logu(r, 100, 1400));
		f->u.frag.next_off = 0;
		f->u.frag.frag_id = gen_rng_u32(r);
		f->state = FR_RESP;
		return flow_inner(m, f->rtt_us + gen_rng_range(r, 50, 3000));
	}
	unsigned dgram = 8u + f->u.frag.resp;
	p->dir = 1;
	if (f->l3_len + dgram <= GEN_MTU) {
		p->len = f->u.frag.resp;
	} else {
		unsigned piece_max = (GEN_MTU - f->l3_len - (f->af == 6 ? 8u : 0u)) & ~7u;
		unsigned off = f->u.frag.next_off;
		unsigned piece = dgram - off < piece_max ? dgram - off : piece_max;
		p->frag = off ? GEN_FRAG_LATER : GEN_FRAG_FIRST;
		p->frag_off = (uint16_t)off;
		p->frag_len = (uint16_t)piece;
		p->frag_more = off + piece < dgram;
		p->dgram_len = (uint16_t)dgram;
		p->frag_id = f->u.frag.frag_id;
		p->ipid = (uint16_t)f->u.frag.frag_id;
		f->u.frag.next_off = (uint16_t)(off + piece);
		if (p->frag_more)
			return flow_inner(m, gen_rng_range(r, 5, 30));
	}
	f->state = FR_REQ;
	return flow_round_gap(f, p->ts_us, flow_think(m, f));
}

/* ---- ICMP echo ------------------------------------------------------------ */

enum { EC_REQ, EC_REP };

static void echo_start(struct gen_model *m, struct gen_flow *f)
{
	static const uint16_t size_v[] = { 56, 32, 64, 0, 8, 120, 1472 };
	static const uint16_t size_w[] = { 50, 20, 10, 5, 5, 5, 5 };
	struct gen_rng *r = &m->rng;

	flow_client(m, f->af, f->src);
	if (gen_rng_pct(r, 20))
		flow_router(m, f->af, 0, f->dst);
	else
		flow_server(m, f->af, f->dst);
	flow_template(m, f, 4, 0);
	unsigned size = size_v[gen_rng_pick(r, size_w, sizeof(size_w) / 2)];
	unsigned max = flow_maxpay(f);
	f->u.echo.size = (uint16_t)(size < max ? size : max);
	f->u.echo.id = (uint16_t)gen_rng_u32(r);
	f->u.echo.noreply = (uint8_t)gen_rng_pct(r, 10);
	if (f->cls == GEN_C_SHORT)
		f->u.echo.interval_us = (uint32_t)flow_us(gen_rng_logu(r, 0.01, 0.2));
	else
		f->u.echo.interval_us = (uint32_t)(m->inactive_us * 2 / 5 < 1000000 ? m->inactive_us * 2 / 5 : 1000000);
	f->seq[0] = 1;
	f->state = EC_REQ;
}

static uint64_t echo_step(struct gen_model *m, struct gen_flow *f, struct gen_pkt *p)
{
	bool v6 = f->af == 6;

	p->seq = f->seq[0];
	p->len = f->u.echo.size;
	if (f->state == EC_REQ) {
		p->dir = 0;
		p->icmp_type = v6 ? 128 : 8;
		if (!f->u.echo.noreply) {
			f->state = EC_REP;
			return f->rtt_us;
		}
	} else {
		p->dir = 1;
		p->icmp_type = v6 ? 129 : 0;
		f->state = EC_REQ;
	}
	f->seq[0]++;
	(void)m;
	return flow_round_gap(f, p->ts_us, f->u.echo.interval_us);
}

/* ---- ICMP errors ---------------------------------------------------------- */

struct flow_err {
	uint8_t type, code, via_router;
	uint16_t weight;
};

/* IPv4: net/host unreachable and TTL exceeded from routers; port
 * unreachable, admin prohibited and fragmentation needed. */
static const struct flow_err flow_err4[] = {
	{ 3, 0, 1, 10 }, { 3, 1, 1, 20 }, { 3, 3, 0, 30 },
	{ 3, 13, 1, 10 }, { 11, 0, 1, 25 }, { 3, 4, 1, 5 },
};
/* IPv6 (RFC 4443): no route, address/port unreachable, admin prohibited,
 * hop limit exceeded, packet too big. */
static const struct flow_err flow_err6[] = {
	{ 1, 0, 1, 10 }, { 1, 3, 1, 20 }, { 1, 4, 0, 30 },
	{ 1, 1, 1, 10 }, { 3, 0, 1, 25 }, { 2, 0, 1, 5 },
};

static void icmperr_start(struct gen_model *m, struct gen_flow *f)
{
	struct gen_rng *r = &m->rng;
	const struct flow_err *t = f->af == 4 ? flow_err4 : flow_err6;
	uint16_t w[6];

	for (unsigned i = 0; i < 6; i++)
		w[i] = t[i].weight;
	const struct flow_err *e = &t[gen_rng_pick(r, w, 6)];
	f->u.err.type = e->type;
	f->u.err.code = e->code;
	f->u.err.via_router = e->via_router;
	f->u.err.left = (uint8_t)gen_rng_range(r, 1, 3);
	if (e->via_router)
		flow_router(m, f->af, 0, f->src);
	else
		flow_server(m, f->af, f->src);
	flow_client(m, f->af, f->dst);
	/* The quoted probe's ports: a traceroute-style UDP probe. */
	f->sport = flow_eph(m);
	f->dport = (uint16_t)(33434 + gen_rng_below(r, 60));
	flow_template(m, f, 2, 0);
}

static uint64_t icmperr_step(struct gen_model *m, struct gen_flow *f, struct gen_pkt *p)
{
	p->dir = 0;
	p->icmp_type = f->u.err.type;
	p->icmp_code = f->u.err.code;
	if (--f->u.err.left == 0)
		return 0;
	return flow_inner(m, gen_rng_range(&m->rng, 1000, 100000));
}

/* ---- IGMP ------------------------------------------------------------------ */

enum { IG_JOIN, IG_JOIN2, IG_REPORT, IG_LEAVE };

static void igmp_start(struct gen_model *m, struct gen_flow *f)
{
	static const uint16_t nsrc_w[3] = { 60, 25, 15 };
	struct gen_rng *r = &m->rng;
	uint32_t x = gen_rng_u32(r);

	f->af = 4;
	f->proto = 2;
	flow_client(m, 4, f->src);
	/* Groups: 239.0.0.0/8 (administratively scoped) and 233.252.0.0/24
	 * (MCAST-TEST-NET, RFC 5771). */
	if (x % 100 < 20)
		f->u.igmp.group = 0xe9fc0000u | (1 + (x >> 8) % 254);
	else
		f->u.igmp.group = 0xef000000u | ((x >> 8) & 0xffff00) | (1 + (x >> 7) % 254);
	f->u.igmp.version = gen_rng_pct(r, 40) ? 2 : 3;
	f->u.igmp.nsrc = f->u.igmp.version == 3 ? (uint8_t)gen_rng_pick(r, nsrc_w, 3) : 0;
	f->u.igmp.leave = (uint8_t)gen_rng_pct(r, 60);
	poke_u32(f->dst, f->u.igmp.version == 2 ? f->u.igmp.group : 0xe0000016u); /* 224.0.0.22 */
	f->tos[0] = f->tos[1] = 0xc0;
	f->ttl[0] = f->ttl[1] = 1;
	flow_template(m, f, 0, FLOW_T_IGMP);
	if (f->cls == GEN_C_SHORT)
		f->u.igmp.interval_us = (uint32_t)flow_us(gen_rng_logu(r, 0.01, 0.3));
	else
		f->u.igmp.interval_us = (uint32_t)(m->inactive_us * 2 / 5 < 125000000 ? m->inactive_us * 2 / 5 : 125000000);
	f->state = IG_JOIN;
}

/* Join: two unsolicited reports; then a report every interval; then
 * (60 %) a leave: IGMPv2 to 224.0.0.2, IGMPv3 a state change to 224.0.0.22. */
static uint64_t igmp_step(struct gen_model *m, struct gen_flow *f, struct gen_pkt *p)
{
	uint64_t gap;

	p->dir = 0;
	switch (f->state) {
	case IG_JOIN:
		p->msg = GEN_IGMP_JOIN;
		f->state = IG_JOIN2;
		return flow_inner(m, gen_rng_range(&m->rng, 10000, 200000));
	case IG_JOIN2:
	case IG_REPORT:
		p->msg = f->state == IG_JOIN2 ? GEN_IGMP_JOIN : GEN_IGMP_REPORT;
		gap = flow_round_gap(f, p->ts_us, f->u.igmp.interval_us);
		if (gap) {
			f->state = IG_REPORT;
			return gap;
		}
		if (!f->u.igmp.leave)
			return 0;
		f->state = IG_LEAVE;
		return flow_inner(m, gen_rng_range(&m->rng, 1000, 50000));
	default:
		p->msg = GEN_IGMP_LEAVE;
		p->alt = f->u.igmp.version == 2;
		return 0;
	}
}

/* ---- GRE and ESP ------------------------------------------------------------ */

static void tunnel_ends(struct gen_model *m, struct gen_flow *f)
{
	flow_router(m, f->af, 0, f->src);
	flow_router(m, f->af, 1, f->dst);
}

static void gre_start(struct gen_model *m, struct gen_flow *f)
{
	tunnel_ends(m, f);
	flow_client(m, 4, f->u.gre.inner[0]);
	flow_server(m, 4, f->u.gre.inner[1]);
	f->u.gre.iport[0] = flow_eph(m);
	f->u.gre.iport[1] = flow_eph(m);
	flow_template(m, f, 4, 0);
	flow_stream_start(m, f, &f->u.gre.s);
}

static uint64_t gre_step(struct gen_model *m, struct gen_flow *f, struct gen_pkt *p)
{
	return flow_stream_step(m, f, &f->u.gre.s, p);
}

static void esp_start(struct gen_model *m, struct gen_flow *f)
{
	tunnel_ends(m, f);
	for (unsigned d = 0; d < 2; d++) {
		f->u.esp.spi[d] = 0x100 + gen_rng_below(&m->rng, 0xfffffe00u);
		f->seq[d] = 1;
	}
	flow_template(m, f, 4, 0);
	flow_stream_start(m, f, &f->u.esp.s);
}

/* ESP payload (IV, data, padding, trailer, ICV): a multiple of 4, >= 16. */
static uint64_t esp_step(struct gen_model *m, struct gen_flow *f, struct gen_pkt *p)
{
	uint64_t gap = flow_stream_step(m, f, &f->u.esp.s, p);
	p->len = (uint16_t)(p->len < 16 ? 16 : p->len & ~3u);
	p->seq = f->seq[p->dir]++;
	return gap;
}

/* ---- the kinds table -------------------------------------------------------- */

struct flow_kind {
	const char *name;
	uint8_t proto4, proto6;
	uint8_t v6_pct;             /* share of sessions over IPv6 */
	uint16_t weight;            /* sessions per 1000 */
	uint16_t cls[GEN_C_COUNT];  /* timing classes, percent */
	void (*start)(struct gen_model *m, struct gen_flow *f);
	/* One packet; returns the gap to the next one, 0 after the last. */
	uint64_t (*step)(struct gen_model *m, struct gen_flow *f, struct gen_pkt *p);
};

static const struct flow_kind gen_kinds[GEN_K_COUNT] = {
	[GEN_K_TCP] = { "tcp", 6, 6, 30, 480, { 60, 25, 10, 5 }, tcp_start, tcp_step },
	[GEN_K_DNS] = { "dns", 17, 17, 30, 200, { 100, 0, 0, 0 }, dns_start, dns_step },
	[GEN_K_UDP] = { "udp-stream", 17, 17, 30, 70, { 10, 45, 20, 25 }, udp_start, udp_step },
	[GEN_K_FRAG] = { "udp-frag", 17, 17, 30, 30, { 30, 50, 15, 5 }, frag_start, frag_step },
	[GEN_K_ECHO] = { "icmp-echo", 1, 58, 30, 80, { 60, 30, 8, 2 }, echo_start, echo_step },
	[GEN_K_ICMPERR] = { "icmp-error", 1, 58, 30, 50, { 100, 0, 0, 0 }, icmperr_start, icmperr_step },
	[GEN_K_IGMP] = { "igmp", 2, 2, 0, 20, { 20, 35, 20, 25 }, igmp_start, igmp_step },
	[GEN_K_GRE] = { "gre", 47, 47, 30, 35, { 0, 40, 20, 40 }, gre_start, gre_step },
	[GEN_K_ESP] = { "esp", 50, 50, 30, 35, { 0, 40, 20, 40 }, esp_start, esp_step },
};

static const char *const gen_class_names[GEN_C_COUNT] = { "short", "medium", "gap", "long" };
static const char *const gen_encap_names[GEN_L2_COUNT] = { "ethernet", "802.1q", "qinq", "mpls" };

const char *gen_kind_name(unsigned kind)
{
	return kind < GEN_K_COUNT ? gen_kinds[kind].name : "?";
}

const char *gen_class_name(unsigned cls)
{
	return cls < GEN_C_COUNT ? gen_class_names[cls] : "?";
}

const char *gen_encap_name(unsigned encap)
{
	return encap < GEN_L2_COUNT ? gen_encap_names[encap] : "?";
}

/* ---- sessions --------------------------------------------------------------- */

void gen_model_init(struct gen_model *m, uint64_t seed, uint64_t active_us,
		    uint64_t inactive_us, bool v4_only)
{
	double ca = 0, cs = 0;

	memset(m, 0, sizeof(*m));
	gen_rng_seed(&m->rng, seed);
	m->active_us = active_us;
	m->inactive_us = inactive_us;
	m->v4_only = v4_only;
	for (unsigned k = 0; k < GEN_K_COUNT; k++) {
		for (unsigned c = 0; c < GEN_C_COUNT; c++) {
			double w = (double)gen_kinds[k].weight * gen_kinds[k].cls[c];
			ca += w;
			cs += w * flow_mean_duration(m, c);
			m->cum_arrive[k * GEN_C_COUNT + c] = ca;
			m->cum_steady[k * GEN_C_COUNT + c] = cs;
		}
	}
}

static unsigned flow_pick_pair(struct gen_model *m, const double *cum)
{
	unsigned n = GEN_K_COUNT * GEN_C_COUNT;
	double x = gen_rng_unit(&m->rng) * cum[n - 1];
	for (unsigned i = 0; i < n; i++)
		if (x < cum[i])
			return i;
	return n - 1;
}

void gen_flow_start(struct gen_model *m, struct gen_flow *f, uint64_t t_us, bool initial)
{
	struct gen_rng *r = &m->rng;
	unsigned pair = flow_pick_pair(m, initial ? m->cum_steady : m->cum_arrive);
	const struct flow_kind *k = &gen_kinds[pair / GEN_C_COUNT];

	memset(f, 0, sizeof(*f));
	memset(f->key_idx, 0xff, sizeof(f->key_idx));
	f->kind = (uint8_t)(pair / GEN_C_COUNT);
	f->cls = (uint8_t)(pair % GEN_C_COUNT);
	f->af = !m->v4_only && gen_rng_pct(r, k->v6_pct) ? 6 : 4;
	f->proto = f->af == 4 ? k->proto4 : k->proto6;
	flow_tos_ttl(m, f);
	for (unsigned d = 0; d < 2; d++) {
		f->seq[d] = gen_rng_u32(r);
		f->ipid[d] = (uint16_t)gen_rng_u32(r);
	}

	/* A session present at capture start has run for a uniform share of
	 * its life already: it keeps the rest and skips its opening. */
	double d = flow_duration(m, f->cls);
	if (initial && f->cls != GEN_C_SHORT) {
		f->midstream = 1;
		d *= 1 - gen_rng_unit(r);
	}
	f->end_us = t_us + flow_us(d);
	if (f->cls == GEN_C_GAP) {
		f->gap_len_us = (uint32_t)flow_us(flow_sec(m->inactive_us) * gen_rng_uniform(r, 1.5, 4));
		f->gap_at_us = t_us + flow_us(d / 2);
		f->end_us += f->gap_len_us;
	}
	f->rtt_us = flow_rtt(m, f->cls);
	if (initial)
		f->next_us = t_us + (uint64_t)(gen_rng_unit(r) * (double)flow_think(m, f));
	else
		f->next_us = t_us + gen_rng_range(r, 1, 2000);
	k->start(m, f);
	m->sessions++;
	m->sessions_by_kind[f->kind]++;
	m->sessions_by_class[f->cls]++;
}

bool gen_flow_step(struct gen_model *m, struct gen_flow *f, struct gen_pkt *p)
{
	memset(p, 0, sizeof(*p));
	p->ts_us = f->next_us;
	uint64_t gap = gen_kinds[f->kind].step(m, f, p);
	if (p->frag == GEN_FRAG_NONE)
		p->ipid = f->ipid[p->dir]++;
	if (!gap)
		return false;
	f->next_us += gap;
	return true;
}

void gen_flow_key(const struct gen_flow *f, const struct gen_pkt *p, struct gen_key *k)
{
	memset(k, 0, sizeof(*k));
	k->af = f->af;
	k->proto = f->proto;
	k->tos = f->tos[p->dir];
	memcpy(k->src, p->dir ? f->dst : f->src, 16);
	memcpy(k->dst, p->dir ? f->src : f->dst, 16);
	if (p->alt) {
		static const uint8_t all_routers[4] = { 224, 0, 0, 2 };
		memcpy(k->dst, all_routers, 4);
	}
	switch (f->proto) {
	case 6:
	case 17:
		if (p->frag != GEN_FRAG_LATER) {
			k->sport = p->dir ? f->dport : f->sport;
			k->dport = p->dir ? f->sport : f->dport;
		}
		break;
	case 1:
	case 58:
		k->dport = (uint16_t)(p->icmp_type << 8 | p->icmp_code);
		break;
	default:
		break;
	}
}
