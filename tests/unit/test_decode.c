/* test_decode.c — unit tests for pkt_decode() (src/decode/packet.c).
 *
 * Frames are built with tests/unit/pktbuild.h. One test per path
 * (encapsulation, transport, fragment kind, extension header chain), one
 * per malformation, and for every header the frame cut at every byte
 * offset inside it, with the full frame length as the wire length (a
 * snap-length cut). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "decode/packet.h"
#include "pktbuild.h"

#define A4 { 10, 1, 2, 3 }
#define B4 { 192, 0, 2, 7 }
#define A6 { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01 }
#define B6 { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xef }

static const uint8_t a4[4] = A4, b4[4] = B4;
static const uint8_t a6[16] = A6, b6[16] = B6;
static const uint8_t mac_x[6] = { 0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc };
static const uint8_t mac_y[6] = { 0x3c, 0xfd, 0xfe, 0x01, 0x02, 0x03 };

/* Fail with the cut point when a value differs. */
#define EQ(got, want, cut)                                                                    \
	do {                                                                                  \
		unsigned long long g_ = (unsigned long long)(got);                            \
		unsigned long long w_ = (unsigned long long)(want);                           \
		if (g_ != w_)                                                                 \
			fail_msg("%s:%d cut %zu: %s = %llu (0x%llx), want %llu (0x%llx)",     \
			         __FILE__, __LINE__, (size_t)(cut), #got, g_, g_, w_, w_);    \
	} while (0)

#define RC(got, want, cut)                                                                    \
	do {                                                                                  \
		enum pkt_reason g_ = (got), w_ = (want);                                      \
		if (g_ != w_)                                                                 \
			fail_msg("%s:%d cut %zu: got \"%s\", want \"%s\"", __FILE__,           \
			         __LINE__, (size_t)(cut), pkt_reason_str(g_), pkt_reason_str(w_)); \
	} while (0)

/* Whole frame captured. */
static enum pkt_reason dec(const struct pb *p, int link, struct pkt_info *pi)
{
	return pkt_decode(p->b, p->len, p->len, link, pi);
}

/* Snap-length cut: cut bytes captured of p->len on the wire. */
static enum pkt_reason dec_cut(const struct pb *p, size_t cut, int link, struct pkt_info *pi)
{
	return pkt_decode(p->b, cut, p->len, link, pi);
}

/* Every cut in [from, to) gives `want`. */
static void cuts_give(const struct pb *p, int link, size_t from, size_t to, enum pkt_reason want)
{
	struct pkt_info pi;
	assert_true(from < to && to <= p->len);
	for (size_t cut = from; cut < to; cut++)
		RC(dec_cut(p, cut, link, &pi), want, cut);
}

static void assert_v4_addrs(const struct pkt_info *pi, const uint8_t s[4], const uint8_t d[4])
{
	static const uint8_t zero[12];
	assert_int_equal(pi->af, 4);
	assert_memory_equal(pi->src, s, 4);
	assert_memory_equal(pi->dst, d, 4);
	assert_memory_equal(pi->src + 4, zero, 12);
	assert_memory_equal(pi->dst + 4, zero, 12);
}

static void assert_v6_addrs(const struct pkt_info *pi, const uint8_t s[16], const uint8_t d[16])
{
	assert_int_equal(pi->af, 6);
	assert_memory_equal(pi->src, s, 16);
	assert_memory_equal(pi->dst, d, 16);
}

/* Ethernet / IPv4 (id 0x1234, tos 0x28, ttl 63) / proto-specific layer. */
static size_t eth_v4(struct pb *p, uint8_t proto, uint16_t frag, size_t optlen)
{
	pb_init(p);
	pb_eth(p, mac_y, mac_x, 0x0800);
	return pb_ipv4(p, &(struct pb_ip4){ .tos = 0x28, .ttl = 63, .proto = proto, .id = 0x1234,
	                                   .frag = frag, .src = A4, .dst = B4, .optlen = optlen });
}

static size_t eth_v6(struct pb *p, uint8_t nh)
{
	pb_init(p);
	pb_eth(p, mac_y, mac_x, 0x86dd);
	return pb_ipv6(p, &(struct pb_ip6){ .tc = 0x2e, .flow = 0x12345, .nh = nh, .hlim = 9,
	                                   .src = A6, .dst = B6 });
}

/* --- reason strings --------------------------------------------------------- */

static void test_reason_str(void **state)
{
	(void)state;
	for (int i = 0; i < PKT_REASON_MAX; i++) {
		const char *s = pkt_reason_str((enum pkt_reason)i);
		assert_non_null(s);
		assert_string_not_equal(s, "unknown reason");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(s, pkt_reason_str((enum pkt_reason)j));
	}
	assert_string_equal(pkt_reason_str(PKT_OK), "ok");
	assert_string_equal(pkt_reason_str(PKT_NOT_IP), "not IP");
	assert_string_equal(pkt_reason_str(PKT_REASON_MAX), "unknown reason");
	assert_string_equal(pkt_reason_str((enum pkt_reason)-1), "unknown reason");
}

/* --- whole-struct golden decodes ---------------------------------------------- */

/* Ethernet / IPv4 / TCP: every field, compared as a whole struct so the
 * unused ones are checked to be zero. */
static void test_eth_ipv4_tcp_golden(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi, want;
	eth_v4(&p, 6, 0, 0);
	pb_tcp(&p, 49152, 443, 0x18, 0);
	pb_payload(&p, 100);
	pb_done(&p);

	memset(&want, 0, sizeof(want));
	memcpy(want.src, a4, 4);
	memcpy(want.dst, b4, 4);
	want.sport = 49152;
	want.dport = 443;
	want.af = 4;
	want.proto = 6;
	want.tos = 0x28;
	want.ttl = 63;
	want.tcp_flags = 0x18;
	want.ip_len = 20 + 20 + 100;
	want.frag_id = 0x1234;
	memcpy(want.src_mac, mac_x, 6);
	memcpy(want.dst_mac, mac_y, 6);
	want.l3_off = 14;
	want.l4_off = 34;
	want.ulp_off = 34;
	want.l4_end = 54;

	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_memory_equal(&pi, &want, sizeof(want));
}

/* Ethernet / IPv6 / UDP: every field. */
static void test_eth_ipv6_udp_golden(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi, want;
	eth_v6(&p, 17);
	pb_udp(&p, 5353, 53);
	pb_payload(&p, 30);
	pb_done(&p);

	memset(&want, 0, sizeof(want));
	memcpy(want.src, a6, 16);
	memcpy(want.dst, b6, 16);
	want.sport = 5353;
	want.dport = 53;
	want.af = 6;
	want.proto = 17;
	want.tos = 0x2e;
	want.ttl = 9;
	want.ip_len = 40 + 8 + 30;
	want.flow_label = 0x12345;
	memcpy(want.src_mac, mac_x, 6);
	memcpy(want.dst_mac, mac_y, 6);
	want.l3_off = 14;
	want.l4_off = 54;
	want.ulp_off = 54;
	want.l4_end = 62;
	want.ip6_nh = 17;

	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_memory_equal(&pi, &want, sizeof(want));
}

/* --- transports ------------------------------------------------------------- */

static void test_tcp_options_and_ip_options(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi;
	eth_v4(&p, 6, 0, 8); /* IHL 7 */
	size_t l4 = pb_tcp(&p, 22, 60000, 0x12, 12); /* data offset 8 */
	pb_done(&p);
	assert_int_equal(l4, 14 + 28);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_int_equal(pi.l3_off, 14);
	assert_int_equal(pi.l4_off, 42);
	assert_int_equal(pi.l4_end, 42 + 32);
	assert_int_equal(pi.sport, 22);
	assert_int_equal(pi.dport, 60000);
	assert_int_equal(pi.tcp_flags, 0x12);
	assert_int_equal(pi.ip_len, 28 + 32);
	assert_int_equal(pi.flags, 0);
}

static void test_tcp_flags_all(void **state)
{
	(void)state;
	for (unsigned f = 0; f < 256; f += 17) {
		struct pb p;
		struct pkt_info pi;
		eth_v4(&p, 6, 0, 0);
		pb_tcp(&p, 1, 2, (uint8_t)f, 0);
		pb_done(&p);
		assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK);
		assert_int_equal(pi.tcp_flags, f);
	}
}

static void test_udp(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi;
	eth_v4(&p, 17, 0, 0);
	pb_udp(&p, 123, 65535);
	pb_payload(&p, 48);
	pb_done(&p);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_v4_addrs(&pi, a4, b4);
	assert_int_equal(pi.proto, 17);
	assert_int_equal(pi.sport, 123);
	assert_int_equal(pi.dport, 65535);
	assert_int_equal(pi.tcp_flags, 0);
	assert_int_equal(pi.l4_off, 34);
	assert_int_equal(pi.l4_end, 42);
	assert_int_equal(pi.ip_len, 20 + 8 + 48);
}

static void test_sctp(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi;
	eth_v6(&p, 132);
	pb_sctp(&p, 4739, 4740);
	pb_payload(&p, 16);
	pb_done(&p);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_int_equal(pi.proto, 132);
	assert_int_equal(pi.sport, 4739);
	assert_int_equal(pi.dport, 4740);
	assert_int_equal(pi.l4_off, 54);
	assert_int_equal(pi.l4_end, 54 + 12);
}

/* ICMP: sport 0, dport = type * 256 + code (IOS). */
static void test_icmp_type_code(void **state)
{
	(void)state;
	static const struct {
		uint8_t type, code;
		uint16_t dport;
	} cases[] = {
		{ 8, 0, 0x0800 },  /* echo request */
		{ 0, 0, 0x0000 },  /* echo reply */
		{ 3, 3, 0x0303 },  /* port unreachable */
		{ 3, 13, 0x030d }, /* administratively prohibited */
		{ 11, 1, 0x0b01 }, /* fragment reassembly time exceeded */
		{ 255, 255, 0xffff },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pb p;
		struct pkt_info pi;
		eth_v4(&p, 1, 0, 0);
		pb_icmp(&p, cases[i].type, cases[i].code);
		pb_payload(&p, 20);
		pb_done(&p);
		RC(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK, i);
		EQ(pi.proto, 1, i);
		EQ(pi.sport, 0, i);
		EQ(pi.dport, cases[i].dport, i);
		EQ(pi.icmp_type, cases[i].type, i);
		EQ(pi.icmp_code, cases[i].code, i);
		EQ(pi.l4_off, 34, i);
		EQ(pi.l4_end, 42, i);
	}
}

static void test_icmpv6_type_code(void **state)
{
	(void)state;
	static const struct {
		uint8_t type, code;
		uint16_t dport;
	} cases[] = {
		{ 128, 0, 0x8000 }, /* echo request */
		{ 129, 0, 0x8100 }, /* echo reply */
		{ 1, 4, 0x0104 },   /* port unreachable */
		{ 135, 0, 0x8700 }, /* neighbour solicitation */
		{ 3, 1, 0x0301 },   /* fragment reassembly time exceeded */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pb p;
		struct pkt_info pi;
		eth_v6(&p, 58);
		pb_icmp(&p, cases[i].type, cases[i].code);
		pb_done(&p);
		RC(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK, i);
		EQ(pi.proto, 58, i);
		EQ(pi.sport, 0, i);
		EQ(pi.dport, cases[i].dport, i);
		EQ(pi.icmp_type, cases[i].type, i);
		EQ(pi.icmp_code, cases[i].code, i);
		EQ(pi.l4_off, 54, i);
		EQ(pi.l4_end, 62, i);
	}
}

static void test_igmp(void **state)
{
	(void)state;
	static const uint8_t grp[4] = { 239, 1, 2, 3 };
	struct pb p;
	struct pkt_info pi;
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x0800);
	pb_ipv4(&p, &(struct pb_ip4){ .ttl = 1, .proto = 2, .src = A4, .dst = { 239, 1, 2, 3 },
	                             .optlen = 4 /* router alert, in spirit */ });
	size_t l4 = pb_igmp(&p, 0x16, grp);
	pb_done(&p);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_v4_addrs(&pi, a4, grp);
	assert_int_equal(pi.proto, 2);
	assert_int_equal(pi.igmp_type, 0x16);
	assert_int_equal(pi.sport, 0);
	assert_int_equal(pi.dport, 0);
	assert_int_equal(pi.icmp_type, 0);
	assert_int_equal(pi.l4_off, l4);
	assert_int_equal(pi.l4_end, l4 + 8);
	assert_int_equal(pi.flags, PKT_F_MULTICAST);
}

/* GRE: outer header only, a protocol-47 flow with ports 0. */
static void test_gre_outer_only(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi;
	eth_v4(&p, 47, 0, 0);
	pb_gre(&p, 0x0800);
	pb_ipv4(&p, &(struct pb_ip4){ .ttl = 5, .proto = 17, .src = { 1, 1, 1, 1 },
	                             .dst = { 2, 2, 2, 2 } });
	pb_udp(&p, 1000, 2000);
	pb_done(&p);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_v4_addrs(&pi, a4, b4);
	assert_int_equal(pi.proto, 47);
	assert_int_equal(pi.ttl, 63);
	assert_int_equal(pi.sport, 0);
	assert_int_equal(pi.dport, 0);
	assert_int_equal(pi.l4_off, 0);
	assert_int_equal(pi.l4_end, 0);
	assert_int_equal(pi.ip_len, 20 + 4 + 28);
}

/* ESP in IPv4 and an unknown protocol: proto set, nothing else read. */
static void test_no_port_protocols(void **state)
{
	(void)state;
	static const uint8_t protos[] = { 50, 51, 89, 103, 255, 0 };
	for (size_t i = 0; i < sizeof(protos); i++) {
		struct pb p;
		struct pkt_info pi;
		eth_v4(&p, protos[i], 0, 0);
		pb_payload(&p, 24);
		pb_done(&p);
		RC(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK, i);
		EQ(pi.proto, protos[i], i);
		EQ(pi.sport, 0, i);
		EQ(pi.dport, 0, i);
		EQ(pi.l4_off, 0, i);
		EQ(pi.l4_end, 0, i);
		EQ(pi.ip_len, 44, i);
	}
}

/* --- IPv4 header fields, fragments ---------------------------------------------- */

static void test_ipv4_tos_ttl_df(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi;
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x0800);
	pb_ipv4(&p, &(struct pb_ip4){ .tos = 0xb9, .ttl = 1, .proto = 17, .id = 0xfffe,
	                             .frag = 0x4000, .src = A4, .dst = B4 });
	pb_udp(&p, 1, 2);
	pb_done(&p);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_int_equal(pi.tos, 0xb9);
	assert_int_equal(pi.ttl, 1);
	assert_int_equal(pi.frag_id, 0xfffe);
	assert_int_equal(pi.flags, PKT_F_DF);
	assert_int_equal(pi.frag_off, 0);
	assert_memory_equal(pi.src_mac, pb_mac_src, 6);
	assert_memory_equal(pi.dst_mac, pb_mac_dst, 6);
}

static void test_ipv4_frag_first(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi;
	eth_v4(&p, 17, 0x2000, 0); /* MF, offset 0 */
	pb_udp(&p, 4500, 4500);
	pb_payload(&p, 1472);
	pb_done(&p);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_int_equal(pi.flags, PKT_F_FRAG | PKT_F_MF);
	assert_int_equal(pi.sport, 4500);
	assert_int_equal(pi.dport, 4500);
	assert_int_equal(pi.frag_id, 0x1234);
	assert_int_equal(pi.frag_off, 0);
	assert_int_equal(pi.l4_off, 34);
	assert_int_equal(pi.l4_end, 42);
	assert_int_equal(pi.ip_len, 1500);
}

static void test_ipv4_frag_later(void **state)
{
	(void)state;
	/* A middle fragment (MF, offset 185 * 8) and the last one (no MF). */
	static const uint16_t frags[] = { 0x2000 | 185, 370, 0x4000 | 0x1fff };
	static const uint16_t offs[] = { 1480, 2960, 0xfff8 };
	for (size_t i = 0; i < 3; i++) {
		struct pb p;
		struct pkt_info pi;
		eth_v4(&p, 6, frags[i], 0);
		pb_tcp(&p, 80, 8080, 0x10, 0); /* looks like TCP, but it is data */
		pb_done(&p);
		RC(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK, i);
		EQ(pi.flags & (PKT_F_FRAG | PKT_F_FRAG_LATER), PKT_F_FRAG | PKT_F_FRAG_LATER, i);
		EQ(!!(pi.flags & PKT_F_MF), i == 0, i); /* only the middle one has more to come */
		EQ(pi.proto, 6, i);
		EQ(pi.sport, 0, i);
		EQ(pi.dport, 0, i);
		EQ(pi.tcp_flags, 0, i);
		EQ(pi.l4_off, 0, i);
		EQ(pi.l4_end, 0, i);
		EQ(pi.frag_off, offs[i], i);
		EQ(pi.frag_id, 0x1234, i);
		EQ(pi.ip_len, 40, i);
	}
}

/* A first fragment too short for its transport header: PKT_TRUNC_L4. */
static void test_ipv4_frag_first_tiny(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi;
	eth_v4(&p, 6, 0x2000, 0);
	pb_payload(&p, 8); /* 8 bytes of TCP header, the rest in the next fragment */
	pb_done(&p);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_TRUNC_L4);

	/* Same for an unfragmented packet whose length leaves no room. */
	static const struct {
		uint8_t proto;
		size_t have;
	} cases[] = { { 6, 19 }, { 17, 7 }, { 132, 11 }, { 1, 7 }, { 2, 4 }, { 58, 0 } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		eth_v4(&p, cases[i].proto, 0, 0);
		pb_payload(&p, cases[i].have);
		pb_done(&p);
		RC(dec(&p, PKT_LINK_EN10MB, &pi), PKT_TRUNC_L4, i);
	}
}

/* --- IPv6 header fields, fragments, extension headers ---------------------------- */

static void test_ipv6_tc_flow_hlim(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi;
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x86dd);
	pb_ipv6(&p, &(struct pb_ip6){ .tc = 0xb8, .flow = 0xfffff, .nh = 6, .hlim = 255,
	                             .src = A6, .dst = B6 });
	pb_tcp(&p, 1, 2, 0x01, 0);
	pb_done(&p);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_int_equal(pi.tos, 0xb8);
	assert_int_equal(pi.flow_label, 0xfffff);
	assert_int_equal(pi.ttl, 255);
	assert_int_equal(pi.tcp_flags, 0x01);
	assert_v6_addrs(&pi, a6, b6);
}

static void test_ipv6_frag_first(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi;
	eth_v6(&p, 44);
	pb_frag6(&p, 17, 0, 1, 0xdeadbeef);
	size_t l4 = pb_udp(&p, 53, 33000);
	pb_payload(&p, 1000);
	pb_done(&p);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_int_equal(pi.flags, PKT_F_FRAG | PKT_F_MF);
	assert_int_equal(pi.ip6_nh, 44); /* the base header's: the fragment header */
	assert_int_equal(pi.proto, 17);
	assert_int_equal(pi.sport, 53);
	assert_int_equal(pi.dport, 33000);
	assert_int_equal(pi.frag_id, 0xdeadbeef);
	assert_int_equal(pi.frag_off, 0);
	assert_int_equal(pi.l4_off, l4);
	assert_int_equal(pi.l4_end, l4 + 8);
	assert_int_equal(pi.ip_len, 40 + 8 + 8 + 1000);
}

static void test_ipv6_frag_later(void **state)
{
	(void)state;
	for (int more = 0; more <= 1; more++) {
		struct pb p;
		struct pkt_info pi;
		eth_v6(&p, 0);
		pb_ext6(&p, 44, 0); /* hop-by-hop before the fragment header */
		pb_frag6(&p, 17, 1448, more, 7);
		pb_udp(&p, 53, 33000); /* data, not a header */
		pb_done(&p);
		RC(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK, more);
		EQ(pi.flags, PKT_F_FRAG | PKT_F_FRAG_LATER | (more ? PKT_F_MF : 0), more);
		EQ(pi.ip6_nh, 0, more); /* hop-by-hop first */
		EQ(pi.proto, 17, more);
		EQ(pi.sport, 0, more);
		EQ(pi.dport, 0, more);
		EQ(pi.l4_off, 0, more);
		EQ(pi.l4_end, 0, more);
		EQ(pi.frag_off, 1448, more);
		EQ(pi.frag_id, 7, more);
	}
}

/* Atomic fragment (RFC 6946): fragment header with offset 0 and M 0. */
static void test_ipv6_atomic_fragment(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi;
	eth_v6(&p, 44);
	pb_frag6(&p, 6, 0, 0, 99);
	pb_tcp(&p, 1, 2, 0x02, 0);
	pb_done(&p);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_int_equal(pi.flags, 0);
	assert_int_equal(pi.frag_id, 99);
	assert_int_equal(pi.sport, 1);
	assert_int_equal(pi.proto, 6);
}

/* hop-by-hop, routing, destination options, AH, destination options, TCP. */
static void test_ipv6_ext_chain(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi;
	eth_v6(&p, 0);
	pb_ext6(&p, 43, 0);      /* HBH: 8 bytes */
	pb_ext6(&p, 60, 2);      /* routing: 24 bytes */
	pb_ext6(&p, 51, 1);      /* destination options: 16 bytes */
	pb_ah(&p, 60, 4, 0x100); /* AH: (4 + 2) * 4 = 24 bytes */
	pb_ext6(&p, 6, 0);       /* destination options: 8 bytes */
	size_t l4 = pb_tcp(&p, 443, 50000, 0x11, 4);
	pb_done(&p);
	assert_int_equal(l4, 14 + 40 + 8 + 24 + 16 + 24 + 8);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_int_equal(pi.proto, 6);
	assert_int_equal(pi.sport, 443);
	assert_int_equal(pi.dport, 50000);
	assert_int_equal(pi.tcp_flags, 0x11);
	assert_int_equal(pi.l4_off, l4);
	assert_int_equal(pi.l4_end, l4 + 24);
	assert_int_equal(pi.ip_len, p.len - 14);
	assert_int_equal(pi.flags, 0);
}

/* The walk stops at ESP (50) and No Next Header (59); mobility (135), HIP
 * (139) and shim6 (140) are walked. */
static void test_ipv6_ext_stops(void **state)
{
	(void)state;
	static const struct {
		uint8_t first, last;
	} cases[] = { { 60, 50 }, { 135, 59 }, { 139, 59 }, { 140, 17 }, { 43, 59 } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pb p;
		struct pkt_info pi;
		eth_v6(&p, cases[i].first);
		size_t x = pb_ext6(&p, cases[i].last, 1);
		size_t after = p.len;
		if (cases[i].last == 17)
			pb_udp(&p, 7, 9);
		else
			pb_payload(&p, 20);
		pb_done(&p);
		RC(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK, i);
		EQ(x, 54, i);
		EQ(pi.proto, cases[i].last, i);
		EQ(pi.sport, cases[i].last == 17 ? 7 : 0, i);
		EQ(pi.l4_off, cases[i].last == 17 ? after : 0, i);
	}
	/* ESP and no-next-header straight after the fixed header. */
	for (uint8_t nh = 50; nh <= 59; nh += 9) {
		struct pb p;
		struct pkt_info pi;
		eth_v6(&p, nh);
		pb_payload(&p, 16);
		pb_done(&p);
		RC(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK, nh);
		EQ(pi.proto, nh, nh);
		EQ(pi.l4_off, 0, nh);
		EQ(pi.ip_len, 56, nh);
	}
}

/* 16 extension headers are walked; a 17th is PKT_BAD_EXTHDR. */
static void test_ipv6_ext_too_many(void **state)
{
	(void)state;
	for (int n = PKT_MAX_EXTHDRS; n <= PKT_MAX_EXTHDRS + 1; n++) {
		struct pb p;
		struct pkt_info pi;
		eth_v6(&p, 60);
		for (int i = 0; i < n; i++)
			pb_ext6(&p, i + 1 < n ? 60 : 17, 0);
		pb_udp(&p, 1, 2);
		pb_done(&p);
		enum pkt_reason rc = dec(&p, PKT_LINK_EN10MB, &pi);
		if (n == PKT_MAX_EXTHDRS) {
			RC(rc, PKT_OK, n);
			EQ(pi.proto, 17, n);
			EQ(pi.l4_off, 54 + 8 * n, n);
		} else {
			RC(rc, PKT_BAD_EXTHDR, n);
		}
	}
	/* A chain that never ends within the limit (every header names
	 * another destination options header) is the same. */
	struct pb p;
	struct pkt_info pi;
	eth_v6(&p, 60);
	for (int i = 0; i < 40; i++)
		pb_ext6(&p, 60, 0);
	pb_done(&p);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_BAD_EXTHDR);
}

static void test_ipv6_ext_malformed(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi;

	/* Header length past the payload length. */
	eth_v6(&p, 60);
	size_t x = pb_ext6(&p, 17, 0);
	pb_udp(&p, 1, 2);
	pb_done(&p);
	pb_put8(&p, x + 1, 3); /* claims 32 bytes, 16 remain */
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_BAD_EXTHDR);

	/* One byte short, with the byte present on the wire (padding). */
	eth_v6(&p, 60);
	pb_ext6(&p, 59, 0);
	pb_done(&p);
	pb_put16(&p, 14 + 4, 7);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_BAD_EXTHDR);
	pb_put16(&p, 14 + 4, 8);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK);

	/* Payload length too short for the next-header/length pair. */
	eth_v6(&p, 43);
	pb_ext6(&p, 59, 0);
	pb_done(&p);
	pb_put16(&p, 14 + 4, 1);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_BAD_EXTHDR);
	/* ... also when the capture ends there too: the length is wrong
	 * whatever the snap length. */
	assert_int_equal(dec_cut(&p, 14 + 40 + 1, PKT_LINK_EN10MB, &pi), PKT_BAD_EXTHDR);
	pb_put16(&p, 14 + 4, 0); /* payload length 0, no HBH: empty payload */
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_BAD_EXTHDR);

	/* Fragment header (8 bytes fixed) in a 6-byte payload. */
	eth_v6(&p, 44);
	pb_frag6(&p, 17, 0, 0, 1);
	pb_done(&p);
	pb_put16(&p, 14 + 4, 6);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_BAD_EXTHDR);

	/* AH length past the payload. */
	eth_v6(&p, 51);
	size_t ah = pb_ah(&p, 59, 1, 5);
	pb_done(&p);
	pb_put8(&p, ah + 1, 2); /* 16 bytes claimed, 12 present */
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_BAD_EXTHDR);

	/* Hop-by-hop anywhere but first (RFC 8200 §4.1). */
	eth_v6(&p, 60);
	pb_ext6(&p, 0, 0);
	pb_ext6(&p, 59, 0);
	pb_done(&p);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_BAD_EXTHDR);
}

/* --- multicast --------------------------------------------------------------- */

static void test_multicast_v4(void **state)
{
	(void)state;
	static const struct {
		uint8_t d0;
		int mc;
	} cases[] = { { 224, 1 }, { 239, 1 }, { 233, 1 }, { 223, 0 }, { 240, 0 }, { 255, 0 }, { 10, 0 } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pb p;
		struct pkt_info pi;
		pb_init(&p);
		pb_eth(&p, NULL, NULL, 0x0800);
		pb_ipv4(&p, &(struct pb_ip4){ .ttl = 1, .proto = 17, .src = { 224, 0, 0, 1 },
		                             .dst = { cases[i].d0, 0, 0, 1 } });
		pb_udp(&p, 1, 2);
		pb_done(&p);
		RC(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK, i);
		EQ(pi.flags & PKT_F_MULTICAST, cases[i].mc ? PKT_F_MULTICAST : 0, i);
		EQ(pi.dst[0], cases[i].d0, i);
	}
}

static void test_multicast_v6(void **state)
{
	(void)state;
	static const struct {
		uint8_t d0, d1;
		int mc;
	} cases[] = { { 0xff, 0x02, 1 }, { 0xff, 0x0e, 1 }, { 0xfe, 0x80, 0 }, { 0x20, 0x01, 0 } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pb p;
		struct pkt_info pi;
		pb_init(&p);
		pb_eth(&p, NULL, NULL, 0x86dd);
		pb_ipv6(&p, &(struct pb_ip6){ .nh = 58, .hlim = 1, .src = { 0xff, 0x02 },
		                             .dst = { cases[i].d0, cases[i].d1, [15] = 1 } });
		pb_icmp(&p, 143, 0);
		pb_done(&p);
		RC(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK, i);
		EQ(pi.flags & PKT_F_MULTICAST, cases[i].mc ? PKT_F_MULTICAST : 0, i);
	}
}

/* --- link layers ------------------------------------------------------------- */

static void test_vlan_single(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi;
	pb_init(&p);
	pb_eth(&p, mac_y, mac_x, 0x8100);
	pb_vlan(&p, 5, 100, 0x0800);
	pb_ipv4(&p, &(struct pb_ip4){ .ttl = 64, .proto = 17, .src = A4, .dst = B4 });
	pb_udp(&p, 1, 2);
	pb_done(&p);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_int_equal(pi.flags, PKT_F_VLAN);
	assert_int_equal(pi.vlan, 100);
	assert_int_equal(pi.vlan_pcp, 5);
	assert_int_equal(pi.vlan_inner, 0);
	assert_int_equal(pi.l3_off, 18);
	assert_int_equal(pi.l4_off, 38);
	assert_memory_equal(pi.src_mac, mac_x, 6);
	assert_memory_equal(pi.dst_mac, mac_y, 6);
	assert_v4_addrs(&pi, a4, b4);
}

/* QinQ with each outer TPID; DEI bit must not leak into the VID. */
static void test_vlan_qinq(void **state)
{
	(void)state;
	static const uint16_t tpids[] = { 0x88a8, 0x9100, 0x8100 };
	for (size_t i = 0; i < 3; i++) {
		struct pb p;
		struct pkt_info pi;
		pb_init(&p);
		pb_eth(&p, NULL, NULL, tpids[i]);
		size_t t = pb_vlan(&p, 3, 4094, 0x8100);
		pb_put16(&p, t, (uint16_t)(3 << 13 | 1 << 12 | 4094)); /* DEI set */
		pb_vlan(&p, 7, 300, 0x86dd);
		pb_ipv6(&p, &(struct pb_ip6){ .nh = 17, .hlim = 64, .src = A6, .dst = B6 });
		pb_udp(&p, 1, 2);
		pb_done(&p);
		RC(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK, i);
		EQ(pi.flags, PKT_F_VLAN, i);
		EQ(pi.vlan, 4094, i);
		EQ(pi.vlan_pcp, 3, i);
		EQ(pi.vlan_inner, 300, i);
		EQ(pi.l3_off, 22, i);
		EQ(pi.af, 6, i);
	}
}

/* Up to four tags; a fifth is PKT_BAD_L2. Priority tag (VID 0) counts. */
static void test_vlan_depth(void **state)
{
	(void)state;
	for (int n = 1; n <= PKT_MAX_VLAN_TAGS + 1; n++) {
		struct pb p;
		struct pkt_info pi;
		pb_init(&p);
		pb_eth(&p, NULL, NULL, 0x88a8);
		for (int i = 0; i < n; i++)
			pb_vlan(&p, (uint8_t)i, (uint16_t)(i * 10), i + 1 < n ? 0x8100 : 0x0800);
		pb_ipv4(&p, &(struct pb_ip4){ .ttl = 64, .proto = 17, .src = A4, .dst = B4 });
		pb_udp(&p, 1, 2);
		pb_done(&p);
		enum pkt_reason rc = dec(&p, PKT_LINK_EN10MB, &pi);
		if (n > PKT_MAX_VLAN_TAGS) {
			RC(rc, PKT_BAD_L2, n);
			continue;
		}
		RC(rc, PKT_OK, n);
		EQ(pi.vlan, 0, n); /* outer tag: priority tag, VID 0 */
		EQ(pi.vlan_pcp, 0, n);
		EQ(pi.vlan_inner, n > 1 ? 10 : 0, n);
		EQ(pi.flags, PKT_F_VLAN, n);
		EQ(pi.l3_off, 14 + 4 * n, n);
		EQ(pi.sport, 1, n);
	}
}

static void test_mpls(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi;

	/* One label, IPv4 payload. */
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x8847);
	pb_mpls(&p, 16005, 5, 1, 254);
	pb_ipv4(&p, &(struct pb_ip4){ .ttl = 64, .proto = 6, .src = A4, .dst = B4 });
	pb_tcp(&p, 179, 40000, 0x18, 0);
	pb_done(&p);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_int_equal(pi.flags, PKT_F_MPLS);
	assert_int_equal(pi.mpls_labels, 1);
	assert_int_equal(pi.mpls_top, 16005u << 4 | 5 << 1 | 1);
	assert_int_equal(pi.l3_off, 18);
	assert_int_equal(pi.sport, 179);
	assert_v4_addrs(&pi, a4, b4);

	/* Three labels over a VLAN, multicast EtherType, IPv6 payload. */
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x8100);
	pb_vlan(&p, 1, 42, 0x8848);
	pb_mpls(&p, 0xfffff, 7, 0, 1);
	pb_mpls(&p, 24001, 0, 0, 1);
	pb_mpls(&p, 2, 0, 1, 1); /* IPv6 explicit null */
	pb_ipv6(&p, &(struct pb_ip6){ .nh = 17, .hlim = 64, .src = A6, .dst = B6 });
	pb_udp(&p, 3784, 3784);
	pb_done(&p);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_int_equal(pi.flags, PKT_F_MPLS | PKT_F_VLAN);
	assert_int_equal(pi.vlan, 42);
	assert_int_equal(pi.mpls_labels, 3);
	assert_int_equal(pi.mpls_top, 0xfffffu << 4 | 7 << 1);
	assert_int_equal(pi.l3_off, 14 + 4 + 12);
	assert_int_equal(pi.dport, 3784);
	assert_v6_addrs(&pi, a6, b6);
}

/* Up to eight labels; no bottom of stack within eight is PKT_BAD_L2. */
static void test_mpls_depth(void **state)
{
	(void)state;
	for (int n = PKT_MAX_MPLS_LABELS; n <= PKT_MAX_MPLS_LABELS + 1; n++) {
		struct pb p;
		struct pkt_info pi;
		pb_init(&p);
		pb_eth(&p, NULL, NULL, 0x8847);
		for (int i = 0; i < n; i++)
			pb_mpls(&p, (uint32_t)(100 + i), 0, i + 1 == n, 64);
		pb_ipv4(&p, &(struct pb_ip4){ .ttl = 64, .proto = 17, .src = A4, .dst = B4 });
		pb_udp(&p, 1, 2);
		pb_done(&p);
		enum pkt_reason rc = dec(&p, PKT_LINK_EN10MB, &pi);
		if (n > PKT_MAX_MPLS_LABELS) {
			RC(rc, PKT_BAD_L2, n);
		} else {
			RC(rc, PKT_OK, n);
			EQ(pi.mpls_labels, n, n);
			EQ(pi.mpls_top, 100u << 4, n);
			EQ(pi.l3_off, 14 + 4 * n, n);
		}
	}
}

/* After the stack: a nibble other than 4/6 (pseudowire control word,
 * Ethernet over MPLS) is not IP. */
static void test_mpls_not_ip(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi;
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x8847);
	pb_mpls(&p, 1000, 0, 1, 64);
	pb_u32(&p, 0); /* control word */
	pb_eth(&p, NULL, NULL, 0x0800);
	pb_done(&p);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_NOT_IP);
}

static void test_sll(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi;
	pb_init(&p);
	pb_sll(&p, 1, mac_x, 0x0800);
	pb_ipv4(&p, &(struct pb_ip4){ .ttl = 64, .proto = 17, .src = A4, .dst = B4 });
	pb_udp(&p, 67, 68);
	pb_done(&p);
	assert_int_equal(dec(&p, PKT_LINK_SLL, &pi), PKT_OK);
	static const uint8_t zero[6];
	assert_memory_equal(pi.src_mac, mac_x, 6);
	assert_memory_equal(pi.dst_mac, zero, 6);
	assert_int_equal(pi.l3_off, 16);
	assert_int_equal(pi.l4_off, 36);
	assert_int_equal(pi.sport, 67);
	assert_v4_addrs(&pi, a4, b4);

	/* No link-layer address (e.g. a tun device): MACs stay zero. */
	pb_init(&p);
	pb_sll(&p, 65534, NULL, 0x86dd);
	pb_ipv6(&p, &(struct pb_ip6){ .nh = 58, .hlim = 64, .src = A6, .dst = B6 });
	pb_icmp(&p, 128, 0);
	pb_done(&p);
	assert_int_equal(dec(&p, PKT_LINK_SLL, &pi), PKT_OK);
	assert_memory_equal(pi.src_mac, zero, 6);
	assert_int_equal(pi.dport, 0x8000);
	/* A 4-byte address (IPIP, GRE devices) is not a MAC. */
	pb_put16(&p, 4, 4);
	pb_put16(&p, 6, 0x0a00);
	pb_put16(&p, 8, 0x0001);
	assert_int_equal(dec(&p, PKT_LINK_SLL, &pi), PKT_OK);
	assert_memory_equal(pi.src_mac, zero, 6);

	/* A VLAN tag left in by the kernel. */
	pb_init(&p);
	pb_sll(&p, 1, mac_x, 0x8100);
	pb_vlan(&p, 2, 77, 0x0800);
	pb_ipv4(&p, &(struct pb_ip4){ .ttl = 64, .proto = 17, .src = A4, .dst = B4 });
	pb_udp(&p, 1, 2);
	pb_done(&p);
	assert_int_equal(dec(&p, PKT_LINK_SLL, &pi), PKT_OK);
	assert_int_equal(pi.vlan, 77);
	assert_int_equal(pi.l3_off, 20);

	/* ARP. */
	pb_init(&p);
	pb_sll(&p, 1, mac_x, 0x0806);
	pb_payload(&p, 28);
	assert_int_equal(dec(&p, PKT_LINK_SLL, &pi), PKT_NOT_IP);
}

static void test_sll2(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi;
	pb_init(&p);
	pb_sll2(&p, 1, mac_y, 0x86dd, 3);
	pb_ipv6(&p, &(struct pb_ip6){ .nh = 6, .hlim = 64, .src = A6, .dst = B6 });
	pb_tcp(&p, 993, 51000, 0x10, 0);
	pb_done(&p);
	assert_int_equal(dec(&p, PKT_LINK_SLL2, &pi), PKT_OK);
	assert_memory_equal(pi.src_mac, mac_y, 6);
	assert_int_equal(pi.l3_off, 20);
	assert_int_equal(pi.l4_off, 60);
	assert_int_equal(pi.l4_end, 80);
	assert_int_equal(pi.sport, 993);
	assert_v6_addrs(&pi, a6, b6);
	pb_put8(&p, 11, 4); /* address length 4: not a MAC */
	assert_int_equal(dec(&p, PKT_LINK_SLL2, &pi), PKT_OK);
	static const uint8_t zero[6];
	assert_memory_equal(pi.src_mac, zero, 6);

	pb_init(&p);
	pb_sll2(&p, 1, mac_y, 0x88cc, 3); /* LLDP */
	pb_payload(&p, 30);
	assert_int_equal(dec(&p, PKT_LINK_SLL2, &pi), PKT_NOT_IP);
}

/* DLT_NULL in both host byte orders, DLT_LOOP, every AF_INET6 value. */
static void test_null_loop(void **state)
{
	(void)state;
	static const struct {
		int link, le;
		uint32_t af;
		enum pkt_reason rc;
		uint8_t want_af;
	} cases[] = {
		{ PKT_LINK_NULL, 1, 2, PKT_OK, 4 },   { PKT_LINK_NULL, 0, 2, PKT_OK, 4 },
		{ PKT_LINK_NULL, 1, 30, PKT_OK, 6 },  { PKT_LINK_NULL, 0, 28, PKT_OK, 6 },
		{ PKT_LINK_NULL, 1, 24, PKT_OK, 6 },  { PKT_LINK_NULL, 1, 23, PKT_OK, 6 },
		{ PKT_LINK_NULL, 1, 10, PKT_OK, 6 },  { PKT_LINK_LOOP, 0, 2, PKT_OK, 4 },
		{ PKT_LINK_LOOP, 0, 24, PKT_OK, 6 },  { PKT_LINK_NULL, 1, 7, PKT_NOT_IP, 0 },
		{ PKT_LINK_LOOP, 0, 0x1e000000, PKT_NOT_IP, 0 }, /* LOOP is never swapped */
		{ PKT_LINK_NULL, 1, 0x11223344, PKT_NOT_IP, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pb p;
		struct pkt_info pi;
		pb_init(&p);
		pb_null(&p, cases[i].af, cases[i].le);
		if (cases[i].want_af == 6) {
			pb_ipv6(&p, &(struct pb_ip6){ .nh = 17, .hlim = 64, .src = A6, .dst = B6 });
		} else {
			pb_ipv4(&p, &(struct pb_ip4){ .ttl = 64, .proto = 17, .src = A4, .dst = B4 });
		}
		pb_udp(&p, 9, 10);
		pb_done(&p);
		RC(dec(&p, cases[i].link, &pi), cases[i].rc, i);
		if (cases[i].rc != PKT_OK)
			continue;
		EQ(pi.af, cases[i].want_af, i);
		EQ(pi.l3_off, 4, i);
		EQ(pi.sport, 9, i);
		EQ(pi.dport, 10, i);
	}
}

static void test_raw(void **state)
{
	(void)state;
	static const int links[] = { PKT_LINK_RAW, PKT_LINK_RAW_DLT };
	for (size_t i = 0; i < 2; i++) {
		struct pb p;
		struct pkt_info pi;
		pb_init(&p);
		pb_ipv4(&p, &(struct pb_ip4){ .ttl = 64, .proto = 6, .src = A4, .dst = B4 });
		pb_tcp(&p, 1, 2, 0x04, 0);
		pb_done(&p);
		RC(dec(&p, links[i], &pi), PKT_OK, i);
		EQ(pi.af, 4, i);
		EQ(pi.l3_off, 0, i);
		EQ(pi.l4_off, 20, i);
		EQ(pi.tcp_flags, 0x04, i);

		pb_init(&p);
		pb_ipv6(&p, &(struct pb_ip6){ .nh = 6, .hlim = 64, .src = A6, .dst = B6 });
		pb_tcp(&p, 1, 2, 0x04, 0);
		pb_done(&p);
		RC(dec(&p, links[i], &pi), PKT_OK, i);
		EQ(pi.af, 6, i);
		EQ(pi.l3_off, 0, i);
		EQ(pi.l4_off, 40, i);

		/* Neither 4 nor 6. */
		pb_put8(&p, 0, 0x50);
		RC(dec(&p, links[i], &pi), PKT_BAD_VERSION, i);
		pb_put8(&p, 0, 0x00);
		RC(dec(&p, links[i], &pi), PKT_BAD_VERSION, i);
	}
}

static void test_bad_linktype(void **state)
{
	(void)state;
	static const int links[] = { 105, 127, 228, -1, 2, 1000, 0x7fffffff };
	struct pb p;
	struct pkt_info pi;
	pb_init(&p);
	pb_ipv4(&p, &(struct pb_ip4){ .ttl = 64, .proto = 17, .src = A4, .dst = B4 });
	pb_udp(&p, 1, 2);
	pb_done(&p);
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		RC(dec(&p, links[i], &pi), PKT_BAD_LINKTYPE, i);
}

static void test_not_ip(void **state)
{
	(void)state;
	static const uint16_t types[] = { 0x0806, 0x88cc, 0x8035, 0x0042, 0x05dc, 0x8864, 0x88e5 };
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct pb p;
		struct pkt_info pi;
		pb_init(&p);
		pb_eth(&p, NULL, NULL, types[i]);
		pb_payload(&p, 46);
		RC(dec(&p, PKT_LINK_EN10MB, &pi), PKT_NOT_IP, i);
	}
	/* ARP behind a VLAN tag. */
	struct pb p;
	struct pkt_info pi;
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x8100);
	pb_vlan(&p, 0, 5, 0x0806);
	pb_payload(&p, 28);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_NOT_IP);
}

/* --- malformed IP -------------------------------------------------------------- */

static void test_bad_version(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi;

	/* EtherType IPv4 carrying IPv6. */
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x0800);
	pb_ipv6(&p, &(struct pb_ip6){ .nh = 59, .hlim = 1 });
	pb_done(&p);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_BAD_VERSION);

	/* EtherType IPv6 carrying IPv4. */
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x86dd);
	pb_ipv4(&p, &(struct pb_ip4){ .ttl = 1, .proto = 17 });
	pb_udp(&p, 1, 2);
	pb_done(&p);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_BAD_VERSION);

	/* Version 5, 0 and 15 under EtherType IPv4. */
	static const uint8_t nib[] = { 0x55, 0x05, 0xf5 };
	for (size_t i = 0; i < 3; i++) {
		eth_v4(&p, 17, 0, 0);
		pb_udp(&p, 1, 2);
		pb_done(&p);
		pb_put8(&p, 14, nib[i]);
		RC(dec(&p, PKT_LINK_EN10MB, &pi), PKT_BAD_VERSION, i);
	}

	/* DLT_NULL says AF_INET6, header says 4. */
	pb_init(&p);
	pb_null(&p, 30, 1);
	pb_ipv4(&p, &(struct pb_ip4){ .ttl = 1, .proto = 17 });
	pb_udp(&p, 1, 2);
	pb_done(&p);
	assert_int_equal(dec(&p, PKT_LINK_NULL, &pi), PKT_BAD_VERSION);
}

static void test_bad_ihl(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi;
	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		eth_v4(&p, 17, 0, 0);
		pb_udp(&p, 1, 2);
		pb_done(&p);
		pb_put8(&p, 14, (uint8_t)(0x40 | ihl));
		RC(dec(&p, PKT_LINK_EN10MB, &pi), PKT_BAD_IHL, ihl);
	}
	/* IHL 15 (60 bytes) in a 20 + 8 byte packet on the wire. */
	eth_v4(&p, 17, 0, 0);
	pb_udp(&p, 1, 2);
	pb_done(&p);
	pb_put8(&p, 14, 0x4f);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_BAD_IHL);
}

static void test_bad_total_length(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi;

	/* Longer than the wire: by one byte, and by a lot. */
	eth_v4(&p, 17, 0, 0);
	pb_udp(&p, 1, 2);
	pb_done(&p);
	pb_put16(&p, 16, 29);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_BAD_LEN);
	pb_put16(&p, 16, 0xffff);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_BAD_LEN);
	/* ... but exactly the wire length is fine, and so is a snap cut. */
	pb_put16(&p, 16, 28);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_int_equal(pkt_decode(p.b, 20, 1000, PKT_LINK_EN10MB, &pi), PKT_TRUNC_L3);

	/* Shorter than the header: 19 with IHL 5, 23 with IHL 6, 0. */
	pb_put16(&p, 16, 19);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_BAD_LEN);
	pb_put16(&p, 16, 0);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_BAD_LEN);
	eth_v4(&p, 17, 0, 4);
	pb_udp(&p, 1, 2);
	pb_done(&p);
	pb_put16(&p, 16, 23);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_BAD_LEN);

	/* IPv6 payload length past the wire. */
	eth_v6(&p, 17);
	pb_udp(&p, 1, 2);
	pb_done(&p);
	pb_put16(&p, 18, 9);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_BAD_LEN);
	pb_put16(&p, 18, 8);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK);
}

/* TCP data offset < 5 is PKT_BAD_L4; options past the IP payload TRUNC_L4. */
static void test_bad_tcp_offset(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi;
	for (uint8_t doff = 0; doff < 5; doff++) {
		eth_v4(&p, 6, 0, 0);
		size_t l4 = pb_tcp(&p, 1, 2, 0x02, 0);
		pb_payload(&p, 20);
		pb_done(&p);
		pb_put8(&p, l4 + 12, (uint8_t)(doff << 4));
		RC(dec(&p, PKT_LINK_EN10MB, &pi), PKT_BAD_L4, doff);
	}
	eth_v4(&p, 6, 0, 0);
	size_t l4 = pb_tcp(&p, 1, 2, 0x02, 12); /* 32 bytes, no payload */
	pb_done(&p);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_int_equal(pi.l4_end, l4 + 32);
	pb_put8(&p, l4 + 12, 0x90); /* 36 claimed, 32 in the packet */
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_TRUNC_L4);
}

/* --- lengths ----------------------------------------------------------------- */

/* Ethernet padding after a short IP packet is not IP bytes. */
static void test_ethernet_padding(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi;
	eth_v4(&p, 17, 0, 0);
	pb_udp(&p, 1, 2);
	pb_done(&p);
	pb_grow(&p, 60 - p.len);
	assert_int_equal(p.len, 60);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_int_equal(pi.ip_len, 28);
	assert_int_equal(pi.l4_end, 42);
	assert_int_equal(pi.flags, 0);

	/* IPv6, payload length 0, no next header, padded: 40 bytes. */
	eth_v6(&p, 59);
	pb_done(&p);
	pb_grow(&p, 60 - p.len);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_int_equal(pi.ip_len, 40);
	assert_int_equal(pi.proto, 59);

	/* UDP in 4 bytes of IP payload followed by padding: the IP length,
	 * not the frame, bounds the transport header. */
	eth_v4(&p, 17, 0, 0);
	pb_u32(&p, 0x00010002);
	pb_done(&p);
	pb_grow(&p, 60 - p.len);
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_TRUNC_L4);
}

/* ip_len comes from the header, not from what was captured. */
static void test_snaplen_ip_len(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi;
	eth_v4(&p, 6, 0x4000, 0);
	pb_tcp(&p, 80, 1025, 0x10, 12);
	pb_payload(&p, 1448);
	pb_done(&p);
	assert_int_equal(dec_cut(&p, 14 + 20 + 32, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_int_equal(pi.ip_len, 1500);
	assert_int_equal(pi.flags, PKT_F_DF); /* header whole: not L4_TRUNC */
	assert_int_equal(pi.l4_end, 66);
	assert_int_equal(pkt_decode(p.b, 96, 96, PKT_LINK_EN10MB, &pi), PKT_BAD_LEN);

	/* wirelen below caplen is taken as caplen. */
	assert_int_equal(pkt_decode(p.b, p.len, 40, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_int_equal(pi.ip_len, 1500);
	assert_int_equal(pkt_decode(p.b, p.len, 0, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_int_equal(pi.ip_len, 1500);
}

/* Jumbogram (RFC 2675) and Linux BIG TCP: the wire length counts. */
static void test_jumbo(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi;

	/* HBH with a Jumbo Payload option, payload length 0. */
	eth_v6(&p, 0);
	size_t hbh = pb_ext6(&p, 6, 0);
	pb_put8(&p, hbh + 2, 0xc2);
	pb_put8(&p, hbh + 3, 4);
	size_t l4 = pb_tcp(&p, 5001, 40000, 0x10, 0);
	pb_done(&p);
	pb_put16(&p, 18, 0);
	assert_int_equal(pkt_decode(p.b, p.len, 100014, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_int_equal(pi.ip_len, 100000);
	assert_int_equal(pi.l4_off, l4);
	assert_int_equal(pi.sport, 5001);
	/* ... and on a short wire as well (payload length 0 with HBH). */
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_int_equal(pi.ip_len, p.len - 14);

	/* BIG TCP IPv6: no HBH, payload length 0, > 64 KiB on the wire. */
	eth_v6(&p, 6);
	pb_tcp(&p, 5001, 40000, 0x10, 0);
	pb_done(&p);
	pb_put16(&p, 18, 0);
	assert_int_equal(pkt_decode(p.b, p.len, 14 + 40 + 65536, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_int_equal(pi.ip_len, 40 + 65536);
	assert_int_equal(pi.dport, 40000);
	/* A payload of exactly 65535 on the wire is not: empty payload, no TCP room. */
	assert_int_equal(pkt_decode(p.b, p.len, 14 + 40 + 65535, PKT_LINK_EN10MB, &pi),
	                 PKT_TRUNC_L4);

	/* BIG TCP IPv4: total length 0, > 65535 on the wire. */
	eth_v4(&p, 6, 0x4000, 0);
	pb_tcp(&p, 5001, 40000, 0x10, 0);
	pb_done(&p);
	pb_put16(&p, 16, 0);
	assert_int_equal(pkt_decode(p.b, p.len, 14 + 70000, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_int_equal(pi.ip_len, 70000);
	assert_int_equal(pi.sport, 5001);
	assert_int_equal(pkt_decode(p.b, p.len, 14 + 65535, PKT_LINK_EN10MB, &pi), PKT_BAD_LEN);
}

static void test_empty_and_null(void **state)
{
	(void)state;
	struct pkt_info pi;
	assert_int_equal(pkt_decode(NULL, 0, 0, PKT_LINK_EN10MB, &pi), PKT_TRUNC_L2);
	assert_int_equal(pkt_decode(NULL, 0, 0, PKT_LINK_RAW, &pi), PKT_TRUNC_L3);
	assert_int_equal(pkt_decode(NULL, 0, 0, PKT_LINK_NULL, &pi), PKT_TRUNC_L2);
	assert_int_equal(pkt_decode(NULL, 0, 0, 9999, &pi), PKT_BAD_LINKTYPE);
}

/* --- truncation at every byte offset ------------------------------------------- */

static void test_trunc_ethernet(void **state)
{
	(void)state;
	struct pb p;
	eth_v4(&p, 6, 0, 0);
	pb_tcp(&p, 1, 2, 0, 0);
	pb_done(&p);
	cuts_give(&p, PKT_LINK_EN10MB, 0, 14, PKT_TRUNC_L2);
	cuts_give(&p, PKT_LINK_EN10MB, 14, 34, PKT_TRUNC_L3);
}

static void test_trunc_vlan(void **state)
{
	(void)state;
	struct pb p;
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x88a8);
	pb_vlan(&p, 1, 10, 0x8100);
	pb_vlan(&p, 2, 20, 0x86dd);
	pb_ipv6(&p, &(struct pb_ip6){ .nh = 17, .hlim = 64, .src = A6, .dst = B6 });
	pb_udp(&p, 1, 2);
	pb_done(&p);
	cuts_give(&p, PKT_LINK_EN10MB, 0, 22, PKT_TRUNC_L2);
	cuts_give(&p, PKT_LINK_EN10MB, 22, 62, PKT_TRUNC_L3);
}

static void test_trunc_mpls(void **state)
{
	(void)state;
	struct pb p;
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x8847);
	pb_mpls(&p, 100, 0, 0, 64);
	pb_mpls(&p, 200, 0, 0, 64);
	pb_mpls(&p, 300, 0, 1, 64);
	pb_ipv4(&p, &(struct pb_ip4){ .ttl = 64, .proto = 17, .src = A4, .dst = B4 });
	pb_udp(&p, 1, 2);
	pb_done(&p);
	cuts_give(&p, PKT_LINK_EN10MB, 0, 26, PKT_TRUNC_L2);
	/* Nothing after the bottom of stack: the IP header is missing. */
	cuts_give(&p, PKT_LINK_EN10MB, 26, 46, PKT_TRUNC_L3);
}

static void test_trunc_cooked_and_loop(void **state)
{
	(void)state;
	struct pb p;

	pb_init(&p);
	pb_sll(&p, 1, mac_x, 0x0800);
	pb_ipv4(&p, &(struct pb_ip4){ .ttl = 64, .proto = 17, .src = A4, .dst = B4 });
	pb_udp(&p, 1, 2);
	pb_done(&p);
	cuts_give(&p, PKT_LINK_SLL, 0, 16, PKT_TRUNC_L2);
	cuts_give(&p, PKT_LINK_SLL, 16, 36, PKT_TRUNC_L3);

	pb_init(&p);
	pb_sll2(&p, 1, mac_x, 0x86dd, 1);
	pb_ipv6(&p, &(struct pb_ip6){ .nh = 17, .hlim = 64, .src = A6, .dst = B6 });
	pb_udp(&p, 1, 2);
	pb_done(&p);
	cuts_give(&p, PKT_LINK_SLL2, 0, 20, PKT_TRUNC_L2);
	cuts_give(&p, PKT_LINK_SLL2, 20, 60, PKT_TRUNC_L3);

	static const int links[] = { PKT_LINK_NULL, PKT_LINK_LOOP };
	for (size_t i = 0; i < 2; i++) {
		pb_init(&p);
		pb_null(&p, 2, links[i] == PKT_LINK_NULL);
		pb_ipv4(&p, &(struct pb_ip4){ .ttl = 64, .proto = 17, .src = A4, .dst = B4 });
		pb_udp(&p, 1, 2);
		pb_done(&p);
		cuts_give(&p, links[i], 0, 4, PKT_TRUNC_L2);
		cuts_give(&p, links[i], 4, 24, PKT_TRUNC_L3);
	}

	pb_init(&p);
	pb_ipv6(&p, &(struct pb_ip6){ .nh = 17, .hlim = 64, .src = A6, .dst = B6 });
	pb_udp(&p, 1, 2);
	pb_done(&p);
	cuts_give(&p, PKT_LINK_RAW, 0, 40, PKT_TRUNC_L3);
}

static void test_trunc_ipv4_options(void **state)
{
	(void)state;
	struct pb p;
	eth_v4(&p, 17, 0, 40); /* IHL 15 */
	pb_udp(&p, 1, 2);
	pb_done(&p);
	cuts_give(&p, PKT_LINK_EN10MB, 14, 14 + 60, PKT_TRUNC_L3);
}

/* Each extension header, cut at every offset inside it. */
static void test_trunc_ipv6_ext(void **state)
{
	(void)state;
	struct pb p;
	eth_v6(&p, 0);
	size_t h0 = pb_ext6(&p, 43, 1);     /* HBH 16 */
	size_t h1 = pb_ext6(&p, 44, 2);     /* routing 24 */
	size_t h2 = pb_frag6(&p, 51, 0, 1, 5);
	size_t h3 = pb_ah(&p, 135, 3, 9);   /* AH 20 */
	size_t h4 = pb_ext6(&p, 60, 0);     /* mobility 8 */
	size_t h5 = pb_ext6(&p, 17, 1);     /* destination options 16 */
	size_t l4 = pb_udp(&p, 1, 2);
	pb_done(&p);
	assert_int_equal(h0, 54);
	assert_int_equal(h1 - h0, 16);
	assert_int_equal(h2 - h1, 24);
	assert_int_equal(h3 - h2, 8);
	assert_int_equal(h4 - h3, 20);
	assert_int_equal(h5 - h4, 8);
	assert_int_equal(l4 - h5, 16);
	cuts_give(&p, PKT_LINK_EN10MB, 14, l4, PKT_TRUNC_L3);

	struct pkt_info pi;
	assert_int_equal(dec(&p, PKT_LINK_EN10MB, &pi), PKT_OK);
	assert_int_equal(pi.proto, 17);
	assert_int_equal(pi.flags, PKT_F_FRAG | PKT_F_MF);
	assert_int_equal(pi.frag_id, 5);
	assert_int_equal(pi.l4_off, l4);
}

/* A transport header cut by the snap length: PKT_OK, PKT_F_L4_TRUNC, and
 * each field only if all its bytes were captured. */
static void test_trunc_tcp(void **state)
{
	(void)state;
	for (int v6 = 0; v6 <= 1; v6++) {
		struct pb p;
		size_t l4;
		if (v6)
			eth_v6(&p, 6);
		else
			eth_v4(&p, 6, 0, 0);
		l4 = pb_tcp(&p, 0x1234, 0xabcd, 0xc3, 8); /* 28-byte header */
		pb_payload(&p, 10);
		pb_done(&p);
		for (size_t cut = l4; cut < l4 + 28; cut++) {
			struct pkt_info pi;
			size_t n = cut - l4;
			RC(dec_cut(&p, cut, PKT_LINK_EN10MB, &pi), PKT_OK, cut);
			EQ(pi.flags, PKT_F_L4_TRUNC, cut);
			EQ(pi.proto, 6, cut);
			EQ(pi.sport, n >= 2 ? 0x1234 : 0, cut);
			EQ(pi.dport, n >= 4 ? 0xabcd : 0, cut);
			EQ(pi.tcp_flags, n >= 14 ? 0xc3 : 0, cut);
			EQ(pi.l4_off, l4, cut);
			EQ(pi.l4_end, n >= 13 ? l4 + 28 : 0, cut);
			EQ(pi.ip_len, p.len - 14, cut);
		}
		struct pkt_info pi;
		assert_int_equal(dec_cut(&p, l4 + 28, PKT_LINK_EN10MB, &pi), PKT_OK);
		assert_int_equal(pi.flags, 0);
		assert_int_equal(pi.l4_end, l4 + 28);
	}
}

/* UDP (8), SCTP (12), ICMP (8), ICMPv6 (8), IGMP (8) cut at every offset. */
static void test_trunc_udp_sctp_icmp_igmp(void **state)
{
	(void)state;
	static const uint8_t grp[4] = { 224, 0, 0, 22 };
	static const struct {
		uint8_t proto;
		int v6;
		size_t hlen;
	} cases[] = { { 17, 0, 8 }, { 17, 1, 8 }, { 132, 0, 12 }, { 132, 1, 12 },
		      { 1, 0, 8 },  { 58, 1, 8 }, { 2, 0, 8 } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pb p;
		size_t l4;
		if (cases[i].v6)
			eth_v6(&p, cases[i].proto);
		else
			eth_v4(&p, cases[i].proto, 0, 0);
		switch (cases[i].proto) {
		case 17:
			l4 = pb_udp(&p, 0x1111, 0x2222);
			break;
		case 132:
			l4 = pb_sctp(&p, 0x1111, 0x2222);
			break;
		case 2:
			l4 = pb_igmp(&p, 0x11, grp);
			break;
		default:
			l4 = pb_icmp(&p, 0x11, 0x22);
			break;
		}
		pb_payload(&p, 5);
		pb_done(&p);
		for (size_t cut = l4; cut < l4 + cases[i].hlen; cut++) {
			struct pkt_info pi;
			size_t n = cut - l4;
			RC(dec_cut(&p, cut, PKT_LINK_EN10MB, &pi), PKT_OK, cut);
			EQ(pi.flags, PKT_F_L4_TRUNC, cut);
			EQ(pi.proto, cases[i].proto, cut);
			EQ(pi.l4_off, l4, cut);
			EQ(pi.l4_end, l4 + cases[i].hlen, cut);
			switch (cases[i].proto) {
			case 17:
			case 132:
				EQ(pi.sport, n >= 2 ? 0x1111 : 0, cut);
				EQ(pi.dport, n >= 4 ? 0x2222 : 0, cut);
				break;
			case 2:
				EQ(pi.igmp_type, n >= 1 ? 0x11 : 0, cut);
				EQ(pi.dport, 0, cut);
				break;
			default:
				EQ(pi.icmp_type, n >= 1 ? 0x11 : 0, cut);
				EQ(pi.icmp_code, n >= 2 ? 0x22 : 0, cut);
				EQ(pi.dport, (n >= 1 ? 0x1100 : 0) | (n >= 2 ? 0x22 : 0), cut);
				EQ(pi.sport, 0, cut);
				break;
			}
		}
		struct pkt_info pi;
		RC(dec_cut(&p, l4 + cases[i].hlen, PKT_LINK_EN10MB, &pi), PKT_OK, i);
		EQ(pi.flags, 0, i);
	}
}

/* A cut inside the transport header of a later fragment changes nothing:
 * there is no transport header to cut. */
static void test_trunc_frag_later(void **state)
{
	(void)state;
	struct pb p;
	struct pkt_info pi;
	eth_v4(&p, 17, 100, 0);
	pb_payload(&p, 40);
	pb_done(&p);
	for (size_t cut = 34; cut < p.len; cut++) {
		RC(dec_cut(&p, cut, PKT_LINK_EN10MB, &pi), PKT_OK, cut);
		EQ(pi.flags, PKT_F_FRAG | PKT_F_FRAG_LATER, cut);
		EQ(pi.ip_len, 60, cut);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reason_str),
		cmocka_unit_test(test_eth_ipv4_tcp_golden),
		cmocka_unit_test(test_eth_ipv6_udp_golden),
		cmocka_unit_test(test_tcp_options_and_ip_options),
		cmocka_unit_test(test_tcp_flags_all),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_sctp),
		cmocka_unit_test(test_icmp_type_code),
		cmocka_unit_test(test_icmpv6_type_code),
		cmocka_unit_test(test_igmp),
		cmocka_unit_test(test_gre_outer_only),
		cmocka_unit_test(test_no_port_protocols),
		cmocka_unit_test(test_ipv4_tos_ttl_df),
		cmocka_unit_test(test_ipv4_frag_first),
		cmocka_unit_test(test_ipv4_frag_later),
		cmocka_unit_test(test_ipv4_frag_first_tiny),
		cmocka_unit_test(test_ipv6_tc_flow_hlim),
		cmocka_unit_test(test_ipv6_frag_first),
		cmocka_unit_test(test_ipv6_frag_later),
		cmocka_unit_test(test_ipv6_atomic_fragment),
		cmocka_unit_test(test_ipv6_ext_chain),
		cmocka_unit_test(test_ipv6_ext_stops),
		cmocka_unit_test(test_ipv6_ext_too_many),
		cmocka_unit_test(test_ipv6_ext_malformed),
		cmocka_unit_test(test_multicast_v4),
		cmocka_unit_test(test_multicast_v6),
		cmocka_unit_test(test_vlan_single),
		cmocka_unit_test(test_vlan_qinq),
		cmocka_unit_test(test_vlan_depth),
		cmocka_unit_test(test_mpls),
		cmocka_unit_test(test_mpls_depth),
		cmocka_unit_test(test_mpls_not_ip),
		cmocka_unit_test(test_sll),
		cmocka_unit_test(test_sll2),
		cmocka_unit_test(test_null_loop),
		cmocka_unit_test(test_raw),
		cmocka_unit_test(test_bad_linktype),
		cmocka_unit_test(test_not_ip),
		cmocka_unit_test(test_bad_version),
		cmocka_unit_test(test_bad_ihl),
		cmocka_unit_test(test_bad_total_length),
		cmocka_unit_test(test_bad_tcp_offset),
		cmocka_unit_test(test_ethernet_padding),
		cmocka_unit_test(test_snaplen_ip_len),
		cmocka_unit_test(test_jumbo),
		cmocka_unit_test(test_empty_and_null),
		cmocka_unit_test(test_trunc_ethernet),
		cmocka_unit_test(test_trunc_vlan),
		cmocka_unit_test(test_trunc_mpls),
		cmocka_unit_test(test_trunc_cooked_and_loop),
		cmocka_unit_test(test_trunc_ipv4_options),
		cmocka_unit_test(test_trunc_ipv6_ext),
		cmocka_unit_test(test_trunc_tcp),
		cmocka_unit_test(test_trunc_udp_sctp_icmp_igmp),
		cmocka_unit_test(test_trunc_frag_later),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
