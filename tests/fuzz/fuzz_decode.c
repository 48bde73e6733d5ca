/* fuzz_decode.c — libFuzzer target for pkt_decode() (src/decode/packet.c).
 *
 * Input: a 4-byte prefix, then the captured frame.
 *   byte 0     link type selector: fuzz_links[byte & 7]
 *   bytes 1-3  big-endian count of bytes the frame had on the wire beyond
 *              the captured ones (so snap-length cuts, jumbograms and BIG
 *              TCP lengths are reachable)
 * Seeds in tests/fuzz/corpus/fuzz_decode/ are written in this format by
 * tests/fuzz/gen_decode_corpus.c.
 *
 * Besides memory safety (ASan/UBSan), every PKT_OK result is checked
 * against the invariants of packet.h, and decoding twice must give the
 * same bytes; a violation aborts.
 *
 * The decoder is #included rather than taken from libipflowcore: the build
 * gives -fsanitize=fuzzer to this file only, so only code compiled here
 * carries the coverage instrumentation libFuzzer steers by. The library's
 * packet.o is then not linked (its symbols are already defined). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/packet.h"

#include "../../src/decode/packet.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Keep in step with gen_decode_corpus.c. */
static const int fuzz_links[8] = {
	PKT_LINK_EN10MB, PKT_LINK_RAW, PKT_LINK_RAW_DLT, PKT_LINK_NULL,
	PKT_LINK_LOOP,   PKT_LINK_SLL, PKT_LINK_SLL2,    105 /* 802.11: unsupported */
};

#define CHECK(c)                \
	do {                    \
		if (!(c))       \
			abort(); \
	} while (0)

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void check_ok(const struct pkt_info *pi, size_t caplen, size_t wirelen)
{
	const unsigned known = PKT_F_FRAG | PKT_F_FRAG_LATER | PKT_F_DF | PKT_F_L4_TRUNC |
	                       PKT_F_MULTICAST | PKT_F_VLAN | PKT_F_MPLS | PKT_F_MF;
	if (wirelen < caplen)
		wirelen = caplen;

	CHECK(pi->af == 4 || pi->af == 6);
	CHECK((pi->flags & ~known) == 0);
	CHECK(pi->l3_off <= caplen);
	CHECK(pi->ip_len >= (pi->af == 4 ? 20u : 40u));
	CHECK(pi->ip_len <= wirelen - pi->l3_off);
	if (pi->af == 4) {
		CHECK(all_zero(pi->src + 4, 12) && all_zero(pi->dst + 4, 12));
		CHECK(pi->flow_label == 0);
		CHECK(pi->ip6_nh == 0);
		CHECK(!!(pi->flags & PKT_F_MULTICAST) == ((pi->dst[0] & 0xf0) == 0xe0));
	} else {
		CHECK(pi->flow_label <= 0xfffff);
		CHECK(!(pi->flags & PKT_F_DF));
		CHECK(!!(pi->flags & PKT_F_MULTICAST) == (pi->dst[0] == 0xff));
	}

	/* Link layer. */
	CHECK(pi->vlan <= 0xfff && pi->vlan_inner <= 0xfff && pi->vlan_pcp <= 7);
	if (!(pi->flags & PKT_F_VLAN))
		CHECK(pi->vlan == 0 && pi->vlan_inner == 0 && pi->vlan_pcp == 0);
	CHECK(pi->mpls_labels <= PKT_MAX_MPLS_LABELS);
	CHECK(!!(pi->flags & PKT_F_MPLS) == (pi->mpls_labels != 0));
	CHECK(pi->mpls_top <= 0xffffff);
	if (!pi->mpls_labels)
		CHECK(pi->mpls_top == 0);

	/* Fragments: more fragments to come is a fragment. */
	if (pi->flags & PKT_F_MF)
		CHECK(pi->flags & PKT_F_FRAG);
	if (pi->flags & PKT_F_FRAG_LATER) {
		CHECK(pi->flags & PKT_F_FRAG);
		CHECK(pi->frag_off != 0);
		CHECK(pi->sport == 0 && pi->dport == 0 && pi->tcp_flags == 0);
		CHECK(pi->l4_off == 0 && pi->l4_end == 0);
		CHECK(!(pi->flags & PKT_F_L4_TRUNC));
	} else {
		CHECK(pi->frag_off == 0);
	}

	/* Transport. */
	if (pi->l4_off == 0) {
		CHECK(pi->l4_end == 0);
		CHECK(pi->sport == 0 && pi->dport == 0 && pi->tcp_flags == 0);
		CHECK(pi->icmp_type == 0 && pi->icmp_code == 0 && pi->igmp_type == 0);
		CHECK(!(pi->flags & PKT_F_L4_TRUNC));
	} else {
		CHECK(pi->l4_off >= pi->l3_off + (pi->af == 4 ? 20u : 40u));
		CHECK(pi->ulp_off == pi->l4_off); /* the upper layer is the transport header */
		CHECK(pi->l4_off <= caplen);
		CHECK(pi->l4_end == 0 || pi->l4_end > pi->l4_off);
		CHECK(pi->l4_end <= pi->l3_off + (size_t)pi->ip_len);
		if (pi->l4_end == 0)
			CHECK(pi->proto == 6 && (pi->flags & PKT_F_L4_TRUNC));
		if (!(pi->flags & PKT_F_L4_TRUNC))
			CHECK(pi->l4_end != 0 && pi->l4_end <= caplen);
	}
	if (pi->proto != 6)
		CHECK(pi->tcp_flags == 0);
	if (pi->proto == 1 || pi->proto == 58)
		CHECK(pi->sport == 0 && pi->dport == (pi->icmp_type << 8 | pi->icmp_code));
	else
		CHECK(pi->icmp_type == 0 && pi->icmp_code == 0);
	if (pi->proto != 2)
		CHECK(pi->igmp_type == 0);
	if (pi->proto != 6 && pi->proto != 17 && pi->proto != 132 && pi->proto != 1 &&
	    pi->proto != 58 && pi->proto != 2)
		CHECK(pi->l4_off == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	int link = fuzz_links[data[0] & 7];
	size_t extra = (size_t)data[1] << 16 | (size_t)data[2] << 8 | data[3];
	const uint8_t *frame = data + 4;
	size_t caplen = size - 4;
	size_t wirelen = caplen + extra;

	struct pkt_info a, b;
	enum pkt_reason ra = pkt_decode(frame, caplen, wirelen, link, &a);
	CHECK((unsigned)ra < PKT_REASON_MAX);
	CHECK(strcmp(pkt_reason_str(ra), "unknown reason") != 0);
	if (ra != PKT_OK)
		return 0;
	check_ok(&a, caplen, wirelen);

	enum pkt_reason rb = pkt_decode(frame, caplen, wirelen, link, &b);
	CHECK(rb == ra && memcmp(&a, &b, sizeof(a)) == 0);

	/* With nothing missing on the wire, a transport header is either
	 * whole or, by the IP length, an error: never a snap-length cut. */
	if (extra == 0)
		CHECK(!(a.flags & PKT_F_L4_TRUNC));
	return 0;
}
