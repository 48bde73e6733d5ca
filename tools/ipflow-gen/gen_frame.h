/* gen_frame.h — packet bytes: header templates and the frame writer.
 *
 * A session's L2 and L3 headers are laid out once, for the forward
 * direction, into f->tmpl (gen_frame_template). Each packet is then the
 * template copied, turned around for the reverse direction (MACs,
 * addresses, ToS/TTL), followed by the transport header and payload and
 * finished with lengths and checksums (gen_frame_write). Every checksum
 * is correct: IPv4 header, TCP, UDP (over all fragments of a datagram),
 * ICMP, ICMPv6, IGMP. Payload bytes come from one fixed pseudo-random
 * pattern whose checksums are prefix sums, so a 1500-byte packet costs a
 * memcpy, not a checksum loop.
 *
 * Frames shorter than 60 bytes are padded with zeros to 60, the Ethernet
 * minimum a capture on the wire shows; IP lengths never include padding. */
#ifndef IPFLOW_GEN_FRAME_H
#define IPFLOW_GEN_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "gen_flow.h"

/* IPv4 option sets (each a multiple of 4 bytes). */
enum gen_v4opt {
	GEN_V4OPT_NONE,
	GEN_V4OPT_RA,  /* Router Alert, RFC 2113: 4 bytes */
	GEN_V4OPT_RR,  /* Record Route with two empty slots + EOL: 12 bytes */
	GEN_V4OPT_TS,  /* Timestamp (flag 0) with two empty slots: 12 bytes */
	GEN_V4OPT_COUNT
};

/* IPv6 extension headers (RFC 8200 §4), 8 or 24 bytes each. */
enum gen_v6ext {
	GEN_V6EXT_HBH,     /* hop-by-hop: PadN */
	GEN_V6EXT_HBH_RA,  /* hop-by-hop: Router Alert (RFC 2711) + PadN */
	GEN_V6EXT_DST,     /* destination options: PadN */
	GEN_V6EXT_DST_TEL, /* destination options: Tunnel Encapsulation Limit (RFC 2473) + PadN */
	GEN_V6EXT_SRH,     /* routing type 4, segment routing (RFC 8754), one segment, segments left 0 */
	GEN_V6EXT_COUNT
};

/* What gen_frame_template needs beyond the session's own fields. */
struct gen_tmpl_spec {
	uint8_t mac_src[6], mac_dst[6]; /* forward direction */
	uint16_t vid[2];                /* VLAN ids: outer (S-tag for QinQ), inner */
	uint8_t pcp;                    /* 802.1p priority of the tags */
	uint8_t nlabels;                /* MPLS: 1..3 */
	uint8_t mpls_tc, mpls_ttl;
	uint32_t label[3];              /* MPLS labels, top first */
	uint8_t v4opt;                  /* enum gen_v4opt */
	uint8_t nv6ext;                 /* 0..2 */
	uint8_t v6ext[2];               /* enum gen_v6ext, in wire order */
	uint32_t flow_label;            /* IPv6, forward direction */
};

/* HTTP sessions (TCP ports 80 and 8080) carry real HTTP/1.1 messages so
 * that dissectors parse them: a request of n bytes is a GET whose Cookie
 * header pads it to n, or a POST with an n-byte total when n >=
 * GEN_HTTP_POST_MIN; a response is "200 OK" with an exact Content-Length.
 * Every message must be at least GEN_HTTP_MIN bytes. */
#define GEN_HTTP_MIN 200
#define GEN_HTTP_POST_MIN 2000

/* Fill the payload pattern from seed; once, before any gen_frame_write. */
void gen_frame_init(uint64_t seed);

/* Lay out f's template from f->af, proto, kind, encap, src, dst, tos[0],
 * ttl[0] (and f->u.gre.inner for GRE) and *s. Sets f->tmpl*, l3_off,
 * l3_len, nh_off, rh_off, inner_off. A template that does not fit
 * GEN_TMPL_MAX is a bug and aborts. */
void gen_frame_template(struct gen_flow *f, const struct gen_tmpl_spec *s);

/* Write packet p of f into out, which has room for GEN_FRAME_MAX bytes.
 * Returns the frame length (>= 60, <= GEN_FRAME_MAX); *ip_len is the
 * packet's IP bytes (IPv4 total length; IPv6 payload length + 40). */
size_t gen_frame_write(const struct gen_flow *f, const struct gen_pkt *p, uint8_t *out,
		       uint16_t *ip_len);

/* IP bytes of a packet of f carrying no payload: IP header with options
 * or extension headers, GRE and inner headers, and the transport header
 * (TCP without options, UDP, ICMP echo, ESP SPI+sequence). The model
 * sizes payloads with it so that no packet passes GEN_MTU. Valid once the
 * template is built. */
unsigned gen_frame_overhead(const struct gen_flow *f);

#endif
