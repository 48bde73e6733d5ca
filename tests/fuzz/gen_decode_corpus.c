/* gen_decode_corpus.c — writes the seed corpus of fuzz_decode.
 *
 * Not part of the build (CMake builds tests/fuzz/fuzz_*.c only); run once
 * by hand when the seeds change, and commit its output:
 *
 *	cc -std=c11 -Isrc -Itests/unit tests/fuzz/gen_decode_corpus.c -o gen
 *	./gen tests/fuzz/corpus/fuzz_decode
 *
 * Each seed is the 4-byte fuzz_decode prefix (link selector, 24-bit extra
 * wire length) and a frame built with tests/unit/pktbuild.h: one seed per
 * encapsulation, then one per interesting network/transport path. */
#include <stdio.h>
#include <stdlib.h>

#include "decode/packet.h"
#include "pktbuild.h"

/* Selector values: index into fuzz_links[] in fuzz_decode.c. */
enum { S_EN10MB = 0, S_RAW = 1, S_RAW_DLT = 2, S_NULL = 3, S_LOOP = 4, S_SLL = 5, S_SLL2 = 6,
       S_UNSUPP = 7 };

static const char *outdir;

static void emit(const char *name, int sel, uint32_t extra, const struct pb *p)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(1);
	}
	uint8_t pre[4] = { (uint8_t)sel, (uint8_t)(extra >> 16), (uint8_t)(extra >> 8),
		           (uint8_t)extra };
	if (fwrite(pre, 1, 4, f) != 4 || fwrite(p->b, 1, p->len, f) != p->len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

#define V4(proto_) (&(struct pb_ip4){ .ttl = 64, .proto = (proto_), .id = 7, \
                                     .src = { 10, 0, 0, 1 }, .dst = { 10, 0, 0, 2 } })
#define V6(nh_) (&(struct pb_ip6){ .tc = 0x20, .flow = 0xbeef, .nh = (nh_), .hlim = 64,  \
                                  .src = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 },         \
                                  .dst = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 } })

static void v4_tcp(struct pb *p)
{
	pb_ipv4(p, V4(6));
	pb_tcp(p, 40000, 443, 0x18, 12);
	pb_payload(p, 16);
	pb_done(p);
}

static void v6_udp(struct pb *p)
{
	pb_ipv6(p, V6(17));
	pb_udp(p, 5353, 53);
	pb_payload(p, 16);
	pb_done(p);
}

int main(int argc, char **argv)
{
	static struct pb p;
	static const uint8_t mac[6] = { 0x00, 0x1b, 0x21, 1, 2, 3 };
	static const uint8_t grp[4] = { 239, 1, 1, 1 };

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];

	/* --- one per encapsulation --- */
	pb_init(&p); pb_eth(&p, NULL, NULL, 0x0800); v4_tcp(&p);
	emit("eth_ipv4_tcp", S_EN10MB, 0, &p);
	pb_init(&p); pb_eth(&p, NULL, NULL, 0x86dd); v6_udp(&p);
	emit("eth_ipv6_udp", S_EN10MB, 0, &p);
	pb_init(&p); pb_eth(&p, NULL, NULL, 0x8100); pb_vlan(&p, 5, 100, 0x0800); v4_tcp(&p);
	emit("vlan_ipv4", S_EN10MB, 0, &p);
	pb_init(&p); pb_eth(&p, NULL, NULL, 0x88a8); pb_vlan(&p, 3, 200, 0x8100);
	pb_vlan(&p, 0, 300, 0x86dd); v6_udp(&p);
	emit("qinq_88a8_ipv6", S_EN10MB, 0, &p);
	pb_init(&p); pb_eth(&p, NULL, NULL, 0x9100); pb_vlan(&p, 1, 10, 0x8100);
	pb_vlan(&p, 2, 20, 0x0800); v4_tcp(&p);
	emit("qinq_9100_ipv4", S_EN10MB, 0, &p);
	pb_init(&p); pb_eth(&p, NULL, NULL, 0x8847); pb_mpls(&p, 16005, 0, 0, 255);
	pb_mpls(&p, 3, 0, 1, 255); v4_tcp(&p);
	emit("mpls_ipv4", S_EN10MB, 0, &p);
	pb_init(&p); pb_eth(&p, NULL, NULL, 0x8100); pb_vlan(&p, 0, 7, 0x8848);
	pb_mpls(&p, 2, 0, 1, 1); v6_udp(&p);
	emit("vlan_mpls_ipv6", S_EN10MB, 0, &p);
	pb_init(&p); pb_eth(&p, NULL, NULL, 0x8847); pb_mpls(&p, 1000, 0, 1, 64); pb_u32(&p, 0);
	pb_eth(&p, NULL, NULL, 0x0800); v4_tcp(&p);
	emit("mpls_pseudowire", S_EN10MB, 0, &p);
	pb_init(&p); pb_sll(&p, 1, mac, 0x0800); v4_tcp(&p);
	emit("sll_ipv4", S_SLL, 0, &p);
	pb_init(&p); pb_sll2(&p, 1, mac, 0x86dd, 2); v6_udp(&p);
	emit("sll2_ipv6", S_SLL2, 0, &p);
	pb_init(&p); pb_null(&p, 2, 1); v4_tcp(&p);
	emit("null_le_ipv4", S_NULL, 0, &p);
	pb_init(&p); pb_null(&p, 28, 0); v6_udp(&p);
	emit("null_be_ipv6", S_NULL, 0, &p);
	pb_init(&p); pb_null(&p, 24, 0); v6_udp(&p);
	emit("loop_ipv6", S_LOOP, 0, &p);
	pb_init(&p); v4_tcp(&p);
	emit("raw_ipv4", S_RAW, 0, &p);
	pb_init(&p); v6_udp(&p);
	emit("rawdlt_ipv6", S_RAW_DLT, 0, &p);
	pb_init(&p); v4_tcp(&p);
	emit("unsupported_link", S_UNSUPP, 0, &p);
	pb_init(&p); pb_eth(&p, NULL, NULL, 0x0806); pb_payload(&p, 28);
	emit("eth_arp", S_EN10MB, 0, &p);

	/* --- network and transport paths --- */
	pb_init(&p); pb_eth(&p, NULL, NULL, 0x0800);
	pb_ipv4(&p, &(struct pb_ip4){ .ttl = 1, .proto = 17, .optlen = 12, .src = { 10, 0, 0, 1 },
	                             .dst = { 224, 0, 0, 251 } });
	pb_udp(&p, 5353, 5353); pb_done(&p);
	emit("ipv4_options_multicast", S_EN10MB, 0, &p);
	pb_init(&p); pb_eth(&p, NULL, NULL, 0x0800);
	pb_ipv4(&p, &(struct pb_ip4){ .ttl = 64, .proto = 17, .frag = 0x2000, .id = 9,
	                             .src = { 10, 0, 0, 1 }, .dst = { 10, 0, 0, 2 } });
	pb_udp(&p, 4500, 4500); pb_payload(&p, 64); pb_done(&p);
	emit("ipv4_frag_first", S_EN10MB, 0, &p);
	pb_init(&p); pb_eth(&p, NULL, NULL, 0x0800);
	pb_ipv4(&p, &(struct pb_ip4){ .ttl = 64, .proto = 17, .frag = 9, .id = 9,
	                             .src = { 10, 0, 0, 1 }, .dst = { 10, 0, 0, 2 } });
	pb_payload(&p, 64); pb_done(&p);
	emit("ipv4_frag_later", S_EN10MB, 0, &p);
	pb_init(&p); pb_eth(&p, NULL, NULL, 0x0800); pb_ipv4(&p, V4(1)); pb_icmp(&p, 8, 0);
	pb_payload(&p, 32); pb_done(&p);
	emit("ipv4_icmp", S_EN10MB, 0, &p);
	pb_init(&p); pb_eth(&p, NULL, NULL, 0x0800); pb_ipv4(&p, V4(2)); pb_igmp(&p, 0x16, grp);
	pb_done(&p);
	emit("ipv4_igmp", S_EN10MB, 0, &p);
	pb_init(&p); pb_eth(&p, NULL, NULL, 0x0800); pb_ipv4(&p, V4(132)); pb_sctp(&p, 4739, 4739);
	pb_payload(&p, 16); pb_done(&p);
	emit("ipv4_sctp", S_EN10MB, 0, &p);
	pb_init(&p); pb_eth(&p, NULL, NULL, 0x0800); pb_ipv4(&p, V4(47)); pb_gre(&p, 0x0800);
	v4_tcp(&p);
	emit("ipv4_gre", S_EN10MB, 0, &p);
	pb_init(&p); pb_eth(&p, NULL, NULL, 0x0800); pb_ipv4(&p, V4(50)); pb_payload(&p, 40);
	pb_done(&p);
	emit("ipv4_esp", S_EN10MB, 0, &p);
	pb_init(&p); pb_eth(&p, NULL, NULL, 0x86dd); pb_ipv6(&p, V6(0)); pb_ext6(&p, 43, 0);
	pb_ext6(&p, 60, 2); pb_ext6(&p, 51, 1); pb_ah(&p, 135, 4, 1); pb_ext6(&p, 6, 0);
	pb_tcp(&p, 443, 40000, 0x12, 4); pb_done(&p);
	emit("ipv6_ext_chain", S_EN10MB, 0, &p);
	pb_init(&p); pb_eth(&p, NULL, NULL, 0x86dd); pb_ipv6(&p, V6(44));
	pb_frag6(&p, 58, 0, 1, 77); pb_icmp(&p, 128, 0); pb_payload(&p, 64); pb_done(&p);
	emit("ipv6_frag_first_icmpv6", S_EN10MB, 0, &p);
	pb_init(&p); pb_eth(&p, NULL, NULL, 0x86dd); pb_ipv6(&p, V6(60)); pb_ext6(&p, 44, 0);
	pb_frag6(&p, 17, 1448, 0, 77); pb_payload(&p, 64); pb_done(&p);
	emit("ipv6_frag_later", S_EN10MB, 0, &p);
	pb_init(&p); pb_eth(&p, NULL, NULL, 0x86dd); pb_ipv6(&p, V6(60)); pb_ext6(&p, 50, 0);
	pb_payload(&p, 32); pb_done(&p);
	emit("ipv6_esp", S_EN10MB, 0, &p);
	pb_init(&p); pb_eth(&p, NULL, NULL, 0x86dd); pb_ipv6(&p, V6(0));
	size_t hbh = pb_ext6(&p, 6, 0); pb_put8(&p, hbh + 2, 0xc2); pb_put8(&p, hbh + 3, 4);
	pb_tcp(&p, 5001, 40000, 0x10, 0); pb_done(&p); pb_put16(&p, 18, 0);
	emit("ipv6_jumbogram", S_EN10MB, 100000, &p);
	pb_init(&p); pb_eth(&p, NULL, NULL, 0x0800); pb_ipv4(&p, V4(6));
	pb_tcp(&p, 5001, 40000, 0x10, 0); pb_done(&p); pb_put16(&p, 16, 0);
	emit("ipv4_bigtcp", S_EN10MB, 70000, &p);
	pb_init(&p); pb_eth(&p, NULL, NULL, 0x0800); v4_tcp(&p);
	p.len = 14 + 20 + 10; /* snap length inside TCP */
	emit("ipv4_tcp_snapcut", S_EN10MB, 82 - 44, &p);
	return 0;
}
