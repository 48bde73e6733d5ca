/* test_psamp.c — the packet-section size rule, one case per
 * encapsulation (each length worked out by hand from the headers built),
 * and the variable-length record writer it needs (RFC 7011 §7). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "conf/conf.h"
#include "export/ie.h"
#include "export/template.h"
#include "lib/err.h"
#include "meter/psamp.h"
#include "pktbuild.h"

static const struct pb_ip4 ip4_tcp = { .ttl = 64, .proto = 6, .src = { 10, 0, 0, 1 }, .dst = { 10, 0, 0, 2 } };
static const struct pb_ip4 ip4_udp = { .ttl = 64, .proto = 17, .src = { 10, 0, 0, 1 }, .dst = { 10, 0, 0, 2 } };

static struct pb_ip4 ip4(uint8_t proto)
{
	struct pb_ip4 ip = ip4_tcp;
	ip.proto = proto;
	return ip;
}

static struct pb_ip6 ip6(uint8_t nh)
{
	struct pb_ip6 ip = { .nh = nh, .hlim = 64 };
	ip.src[0] = 0x20, ip.src[1] = 0x01, ip.src[15] = 1;
	ip.dst[0] = 0x20, ip.dst[1] = 0x01, ip.dst[15] = 2;
	return ip;
}

static size_t sec(const struct pb *p)
{
	return psamp_section_len(p->b, p->len, p->len, PKT_LINK_EN10MB, NULL);
}

/* The decoder's pkt_info given in, as the meter does, gives the same. */
static size_t sec_pi(const struct pb *p)
{
	struct pkt_info pi;
	if (pkt_decode(p->b, p->len, p->len, PKT_LINK_EN10MB, &pi) != PKT_OK)
		return psamp_section_len(p->b, p->len, p->len, PKT_LINK_EN10MB, NULL);
	return psamp_section_len(p->b, p->len, p->len, PKT_LINK_EN10MB, &pi);
}

#define CHECK_SEC(p, n)                              \
	do {                                         \
		assert_int_equal(sec(p), (n));       \
		assert_int_equal(sec_pi(p), (n));    \
	} while (0)

static void test_ipv4_tcp(void **state)
{
	(void)state;
	struct pb p;
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x0800);
	pb_ipv4(&p, &ip4_tcp);
	pb_tcp(&p, 1234, 80, 0x18, 0);
	pb_payload(&p, 500);
	pb_done(&p);
	CHECK_SEC(&p, 14 + 20 + 20);
	/* options on both: IPv4 8 bytes, TCP 40 bytes */
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x0800);
	struct pb_ip4 o = ip4_tcp;
	o.optlen = 8;
	pb_ipv4(&p, &o);
	pb_tcp(&p, 1234, 80, 0x18, 40);
	pb_payload(&p, 500);
	pb_done(&p);
	CHECK_SEC(&p, 14 + 28 + 60);
}

static void test_vlan_qinq(void **state)
{
	(void)state;
	struct pb p;
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x8100);
	pb_vlan(&p, 3, 100, 0x0800);
	pb_ipv4(&p, &ip4_udp);
	pb_udp(&p, 5000, 53);
	pb_payload(&p, 300);
	pb_done(&p);
	CHECK_SEC(&p, 18 + 20 + 8);
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x88a8);
	pb_vlan(&p, 0, 100, 0x8100);
	pb_vlan(&p, 0, 200, 0x86dd);
	struct pb_ip6 h = ip6(17);
	pb_ipv6(&p, &h);
	pb_udp(&p, 5000, 53);
	pb_payload(&p, 300);
	pb_done(&p);
	CHECK_SEC(&p, 22 + 40 + 8);
}

static void test_ipv6_ext(void **state)
{
	(void)state;
	struct pb p;
	/* hop-by-hop 8, routing 16, fragment 8 (first fragment), then TCP */
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x86dd);
	struct pb_ip6 h = ip6(0);
	pb_ipv6(&p, &h);
	pb_ext6(&p, 43, 0);
	pb_ext6(&p, 44, 1);
	pb_frag6(&p, 6, 0, 1, 77);
	pb_tcp(&p, 1, 2, 0x10, 0);
	pb_payload(&p, 400);
	pb_done(&p);
	CHECK_SEC(&p, 14 + 40 + 8 + 16 + 8 + 20);
	/* destination options of 88 bytes push the TCP header past 160 */
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x86dd);
	h = ip6(0);
	pb_ipv6(&p, &h);
	pb_ext6(&p, 60, 0);
	pb_ext6(&p, 6, 10);
	pb_tcp(&p, 1, 2, 0x10, 0);
	pb_payload(&p, 400);
	pb_done(&p);
	assert_int_equal(psamp_l4_end(p.b, p.len, p.len, PKT_LINK_EN10MB, NULL), 14 + 40 + 8 + 88 + 20);
	CHECK_SEC(&p, 160);
	/* a later fragment has no transport header: 160 */
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x86dd);
	h = ip6(44);
	pb_ipv6(&p, &h);
	pb_frag6(&p, 6, 1448, 0, 77);
	pb_payload(&p, 400);
	pb_done(&p);
	CHECK_SEC(&p, 160);
}

static void test_mpls(void **state)
{
	(void)state;
	struct pb p;
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x8847);
	pb_mpls(&p, 100, 0, 0, 64);
	pb_mpls(&p, 200, 0, 0, 64);
	pb_mpls(&p, 300, 0, 1, 64);
	pb_ipv4(&p, &ip4_tcp);
	pb_tcp(&p, 1, 2, 0x10, 12);
	pb_payload(&p, 400);
	pb_done(&p);
	CHECK_SEC(&p, 14 + 12 + 20 + 32);
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x8847);
	pb_mpls(&p, 300, 0, 1, 64);
	struct pb_ip6 h = ip6(17);
	pb_ipv6(&p, &h);
	pb_udp(&p, 1, 2);
	pb_payload(&p, 400);
	pb_done(&p);
	CHECK_SEC(&p, 14 + 4 + 40 + 8);
}

static void test_gre(void **state)
{
	(void)state;
	struct pb p;
	/* IPv4 - GRE - IPv4 - UDP */
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x0800);
	struct pb_ip4 o = ip4(47);
	pb_ipv4(&p, &o);
	pb_gre(&p, 0x0800);
	pb_ipv4(&p, &ip4_udp);
	pb_udp(&p, 1, 2);
	pb_payload(&p, 400);
	pb_done(&p);
	CHECK_SEC(&p, 14 + 20 + 4 + 20 + 8);
	/* GRE with checksum, key and sequence number: 16-byte GRE header */
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x0800);
	pb_ipv4(&p, &o);
	size_t g = pb_gre(&p, 0x86dd);
	pb_put16(&p, g, 0x8000 | 0x2000 | 0x1000);
	pb_u32(&p, 0);
	pb_u32(&p, 42);
	pb_u32(&p, 7);
	struct pb_ip6 h = ip6(6);
	pb_ipv6(&p, &h);
	pb_tcp(&p, 1, 2, 0x10, 0);
	pb_payload(&p, 400);
	pb_done(&p);
	CHECK_SEC(&p, 14 + 20 + 16 + 40 + 20);
	/* IPv6 - GRE - Ethernet (0x6558) - VLAN - IPv4 - TCP */
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x86dd);
	h = ip6(47);
	pb_ipv6(&p, &h);
	pb_gre(&p, 0x6558);
	pb_eth(&p, NULL, NULL, 0x8100);
	pb_vlan(&p, 0, 9, 0x0800);
	pb_ipv4(&p, &ip4_tcp);
	pb_tcp(&p, 1, 2, 0x10, 0);
	pb_payload(&p, 400);
	pb_done(&p);
	CHECK_SEC(&p, 14 + 40 + 4 + 18 + 20 + 20);
	/* GRE in GRE: the innermost transport header counts */
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x0800);
	pb_ipv4(&p, &o);
	pb_gre(&p, 0x0800);
	pb_ipv4(&p, &o);
	pb_gre(&p, 0x0800);
	pb_ipv4(&p, &ip4_tcp);
	pb_tcp(&p, 1, 2, 0x10, 0);
	pb_payload(&p, 400);
	pb_done(&p);
	CHECK_SEC(&p, 14 + 20 + 4 + 20 + 4 + 20 + 20);
	/* GRE version 1 (PPTP, PPP inside) and an unknown payload type: 160 */
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x0800);
	pb_ipv4(&p, &o);
	g = pb_gre(&p, 0x880b);
	pb_put16(&p, g, 0x2001);
	pb_u32(&p, 0);
	pb_payload(&p, 400);
	pb_done(&p);
	CHECK_SEC(&p, 160);
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x0800);
	pb_ipv4(&p, &o);
	pb_gre(&p, 0x8847); /* MPLS over GRE: not followed */
	pb_payload(&p, 400);
	pb_done(&p);
	CHECK_SEC(&p, 160);
}

static void test_ip_in_ip(void **state)
{
	(void)state;
	struct pb p;
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x0800);
	struct pb_ip4 o = ip4(41);
	pb_ipv4(&p, &o);
	struct pb_ip6 h = ip6(17);
	pb_ipv6(&p, &h);
	pb_udp(&p, 1, 2);
	pb_payload(&p, 400);
	pb_done(&p);
	CHECK_SEC(&p, 14 + 20 + 40 + 8);
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x86dd);
	h = ip6(4);
	pb_ipv6(&p, &h);
	pb_ipv4(&p, &ip4_tcp);
	pb_tcp(&p, 1, 2, 0x10, 0);
	pb_payload(&p, 400);
	pb_done(&p);
	CHECK_SEC(&p, 14 + 40 + 20 + 20);
}

/* Nesting deeper than PSAMP_MAX_NEST tunnels stops: 160. */
static void test_nest_limit(void **state)
{
	(void)state;
	struct pb p;
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x0800);
	struct pb_ip4 o = ip4(4);
	for (int i = 0; i <= PSAMP_MAX_NEST; i++)
		pb_ipv4(&p, &o);
	pb_ipv4(&p, &ip4_udp);
	pb_udp(&p, 1, 2);
	pb_done(&p);
	assert_int_equal(psamp_l4_end(p.b, p.len, p.len, PKT_LINK_EN10MB, NULL), 0);
	CHECK_SEC(&p, p.len < 160 ? p.len : 160);
}

static void test_short_and_other(void **state)
{
	(void)state;
	struct pb p;
	/* a bare UDP packet: the section ends with the UDP header, the whole frame */
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x0800);
	pb_ipv4(&p, &ip4_udp);
	pb_udp(&p, 1, 2);
	pb_done(&p);
	CHECK_SEC(&p, 42);
	/* cut by the snap length inside the TCP header: what was captured */
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x0800);
	pb_ipv4(&p, &ip4_tcp);
	pb_tcp(&p, 1, 2, 0x10, 20);
	pb_payload(&p, 100);
	pb_done(&p);
	assert_int_equal(psamp_section_len(p.b, 60, p.len, PKT_LINK_EN10MB, NULL), 60);
	assert_int_equal(psamp_section_len(p.b, 30, p.len, PKT_LINK_EN10MB, NULL), 30);
	/* not IP: 160 bytes, or the whole frame when shorter */
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x0806);
	pb_payload(&p, 46);
	CHECK_SEC(&p, 60);
	pb_payload(&p, 200);
	CHECK_SEC(&p, 160);
	/* IPv4 later fragment, ESP: no transport header */
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x0800);
	struct pb_ip4 f = ip4_udp;
	f.frag = 100;
	pb_ipv4(&p, &f);
	pb_payload(&p, 300);
	pb_done(&p);
	CHECK_SEC(&p, 160);
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x0800);
	struct pb_ip4 e = ip4(50);
	pb_ipv4(&p, &e);
	pb_payload(&p, 300);
	pb_done(&p);
	CHECK_SEC(&p, 160);
	/* a GRE header cut by the snap length */
	pb_init(&p);
	pb_eth(&p, NULL, NULL, 0x0800);
	struct pb_ip4 o = ip4(47);
	pb_ipv4(&p, &o);
	pb_gre(&p, 0x0800);
	pb_ipv4(&p, &ip4_udp);
	pb_udp(&p, 1, 2);
	pb_payload(&p, 300);
	pb_done(&p);
	assert_int_equal(psamp_section_len(p.b, 36, p.len, PKT_LINK_EN10MB, NULL), 36);
	assert_int_equal(psamp_section_len(p.b, 50, p.len, PKT_LINK_EN10MB, NULL), 50);
	assert_int_equal(psamp_section_len(p.b, 0, p.len, PKT_LINK_EN10MB, NULL), 0);
}

/* A variable-length field written with its length prefix: 1 byte below
 * 255, 255 + 2 bytes from 255; read back by the record iterator. */
static void test_varlen_record(void **state)
{
	(void)state;
	static const struct genrec_layout lay = {
		3,
		{ { IE_ingressInterface, 4, GENREC_UINT }, { IE_dataLinkFrameSection, IE_VARLEN, GENREC_BYTES },
		  { IE_dataLinkFrameSize, 2, GENREC_UINT } },
	};
	struct tmpl t;
	assert_int_equal(tmpl_init_layout(&t, 300, &lay, 0, NULL), ERR_OK);
	assert_true(t.varlen);
	size_t bad = 99;
	assert_int_equal(tmpl_init_layout(&t, 300, &lay, 1, &bad), ERR_UNSUPP); /* v9 has no IE 315 */
	assert_int_equal(bad, 1);
	assert_int_equal(tmpl_init_layout(&t, 300, &lay, 0, NULL), ERR_OK);
	uint8_t data[300];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	size_t lens[] = { 0, 1, 160, 254, 255, 300 };
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		struct genrec_val v[3] = { { .u = 7 }, { .u = lens[k], .p = data }, { .u = 1514 } };
		struct genrec r = { .lay = &lay, .v = v };
		uint8_t out[400];
		struct wbuf w;
		wbuf_init(&w, out, sizeof(out));
		struct rec_enc enc = { 0 };
		assert_int_equal(tmpl_put_genrec(&w, &t, &r, &enc), ERR_OK);
		size_t pre = lens[k] < 255 ? 1 : 3;
		assert_int_equal(w.len, 4 + pre + lens[k] + 2);
		size_t rl = 0;
		assert_int_equal(tmpl_rec_len(&t, out, w.len, &rl), ERR_OK);
		assert_int_equal(rl, w.len);
		struct rec_iter ri;
		struct rec_field f;
		rec_iter_init(&ri, &t, out, w.len);
		assert_int_equal(rec_iter_next(&ri, &f), ERR_OK);
		assert_int_equal(peek_u32(f.p), 7);
		assert_int_equal(rec_iter_next(&ri, &f), ERR_OK);
		assert_int_equal(f.ie, IE_dataLinkFrameSection);
		assert_int_equal(f.len, lens[k]);
		if (lens[k])
			assert_memory_equal(f.p, data, lens[k]);
		assert_int_equal(rec_iter_next(&ri, &f), ERR_OK);
		assert_int_equal(peek_u16(f.p), 1514);
		assert_int_equal(rec_iter_next(&ri, &f), ERR_END);
		/* no room: nothing written */
		wbuf_init(&w, out, 4 + pre + lens[k] + 1);
		assert_int_equal(tmpl_put_genrec(&w, &t, &r, &enc), ERR_NOSPACE);
		assert_int_equal(w.len, 0);
	}
	/* a length the prefix cannot say */
	struct genrec_val v[3] = { { .u = 7 }, { .u = 70000, .p = data }, { .u = 1 } };
	struct genrec r = { .lay = &lay, .v = v };
	uint8_t out[16];
	struct wbuf w;
	wbuf_init(&w, out, sizeof(out));
	struct rec_enc enc = { 0 };
	assert_int_equal(tmpl_put_genrec(&w, &t, &r, &enc), ERR_ARG);
}

static char last_error[512];

static void diag_cb(void *arg, const struct conf_diag *d)
{
	(void)arg;
	if (d->level == CONF_ERROR && !last_error[0])
		snprintf(last_error, sizeof(last_error), "%s", d->text);
}

/* The parser refuses a packet-section monitor with a non-IPFIX exporter,
 * whichever order the lines come in (a whole-file check for v9). */
static void test_conf_ipfix_only(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"flow exporter X\n destination 127.0.0.1\n"
		"flow monitor P\n record datalinksectiondump\n exporter X\n",
		"flow exporter X\n export-protocol ipfix\n"
		"flow monitor P\n record datalinksectiondump\n exporter X\n"
		"flow exporter X\n export-protocol netflow-v9\n",
		"flow exporter X\n export-protocol netflow-v5\n"
		"flow monitor P\n record datalinksectiondump\n exporter X\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		last_error[0] = 0;
		struct conf *c = conf_parse_text(bad[i], strlen(bad[i]), "t.conf", diag_cb, NULL);
		assert_null(c);
		assert_non_null(strstr(last_error, "ipfix"));
	}
	const char *ok = "flow exporter X\n export-protocol ipfix\n"
	                 "flow monitor P\n record datalinksectiondump\n exporter X\n";
	last_error[0] = 0;
	struct conf *c = conf_parse_text(ok, strlen(ok), "t.conf", diag_cb, NULL);
	assert_non_null(c);
	conf_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_tcp),   cmocka_unit_test(test_vlan_qinq),
		cmocka_unit_test(test_ipv6_ext),   cmocka_unit_test(test_mpls),
		cmocka_unit_test(test_gre),        cmocka_unit_test(test_ip_in_ip),
		cmocka_unit_test(test_nest_limit), cmocka_unit_test(test_short_and_other),
		cmocka_unit_test(test_varlen_record), cmocka_unit_test(test_conf_ipfix_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
