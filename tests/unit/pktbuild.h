/* pktbuild.h — a tiny frame builder for tests and seed generators.
 *
 * Frames are built in code, layer by layer, front to back:
 *
 *	struct pb p;
 *	pb_init(&p);
 *	pb_eth(&p, NULL, NULL, 0x8100);
 *	pb_vlan(&p, 5, 100, 0x0800);
 *	pb_ipv4(&p, &(struct pb_ip4){ .proto = 6, .ttl = 64, .src = {10,0,0,1}, .dst = {10,0,0,2} });
 *	pb_tcp(&p, 1234, 80, 0x02, 0);
 *	pb_done(&p);
 *
 * Each pb_* returns the offset where its header starts. Next-header and
 * type fields are given explicitly by the caller (so tests can lie);
 * lengths are not: pb_done() sets every IPv4 total length (and header
 * checksum), IPv6 payload length and UDP length from where the frame ends.
 * Patch afterwards with pb_put16()/pb_put8() to build malformed frames.
 * Overflowing the buffer is a bug in the test: it aborts.
 */
#ifndef IPFLOW_PKTBUILD_H
#define IPFLOW_PKTBUILD_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bytes.h"

enum { PB_MAX = 4096, PB_MAX_FIX = 8 };

struct pb {
	uint8_t b[PB_MAX];
	size_t len;
	struct {
		size_t off;
		uint8_t what; /* 4 IPv4, 6 IPv6, 17 UDP */
	} fix[PB_MAX_FIX];
	unsigned nfix;
};

static inline void pb_init(struct pb *p)
{
	memset(p, 0, sizeof(*p));
}

/* n bytes at the end, zeroed; returns their offset. */
static inline size_t pb_grow(struct pb *p, size_t n)
{
	if (n > PB_MAX - p->len)
		abort();
	size_t off = p->len;
	memset(p->b + off, 0, n);
	p->len += n;
	return off;
}

static inline void pb_fixup(struct pb *p, size_t off, uint8_t what)
{
	if (p->nfix == PB_MAX_FIX)
		abort();
	p->fix[p->nfix].off = off;
	p->fix[p->nfix].what = what;
	p->nfix++;
}

static inline size_t pb_bytes(struct pb *p, const void *src, size_t n)
{
	size_t off = pb_grow(p, n);
	if (n)
		memcpy(p->b + off, src, n);
	return off;
}

static inline size_t pb_u8(struct pb *p, uint8_t v)
{
	size_t off = pb_grow(p, 1);
	p->b[off] = v;
	return off;
}

static inline size_t pb_u16(struct pb *p, uint16_t v)
{
	size_t off = pb_grow(p, 2);
	poke_u16(p->b + off, v);
	return off;
}

static inline size_t pb_u32(struct pb *p, uint32_t v)
{
	size_t off = pb_grow(p, 4);
	poke_u32(p->b + off, v);
	return off;
}

static inline void pb_put8(struct pb *p, size_t off, uint8_t v)
{
	if (off >= p->len)
		abort();
	p->b[off] = v;
}

static inline void pb_put16(struct pb *p, size_t off, uint16_t v)
{
	if (off + 2 > p->len)
		abort();
	poke_u16(p->b + off, v);
}

/* n payload bytes of a recognisable pattern. */
static inline size_t pb_payload(struct pb *p, size_t n)
{
	size_t off = pb_grow(p, n);
	for (size_t i = 0; i < n; i++)
		p->b[off + i] = (uint8_t)(0xa0 + i);
	return off;
}

/* --- link layer --- */

static const uint8_t pb_mac_dst[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };
static const uint8_t pb_mac_src[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

/* Ethernet II; NULL MACs give pb_mac_dst / pb_mac_src. */
static inline size_t pb_eth(struct pb *p, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	size_t off = pb_bytes(p, dst ? dst : pb_mac_dst, 6);
	pb_bytes(p, src ? src : pb_mac_src, 6);
	pb_u16(p, type);
	return off;
}

/* One 802.1Q tag body (the TPID is the EtherType written before it). */
static inline size_t pb_vlan(struct pb *p, uint8_t pcp, uint16_t vid, uint16_t type)
{
	size_t off = pb_u16(p, (uint16_t)(pcp << 13 | (vid & 0x0fff)));
	pb_u16(p, type);
	return off;
}

/* One MPLS label stack entry (RFC 3032). */
static inline size_t pb_mpls(struct pb *p, uint32_t label, uint8_t tc, int bos, uint8_t ttl)
{
	return pb_u32(p, (label & 0xfffff) << 12 | (uint32_t)(tc & 7) << 9 |
	                 (uint32_t)(bos ? 1 : 0) << 8 | ttl);
}

/* Linux cooked v1: packet type 0 (to us), hatype, 6-byte address. */
static inline size_t pb_sll(struct pb *p, uint16_t hatype, const uint8_t *addr, uint16_t proto)
{
	size_t off = pb_u16(p, 0);
	pb_u16(p, hatype);
	pb_u16(p, addr ? 6 : 0);
	size_t a = pb_grow(p, 8);
	if (addr)
		memcpy(p->b + a, addr, 6);
	pb_u16(p, proto);
	return off;
}

/* Linux cooked v2. */
static inline size_t pb_sll2(struct pb *p, uint16_t hatype, const uint8_t *addr, uint16_t proto,
                             uint32_t ifindex)
{
	size_t off = pb_u16(p, proto);
	pb_u16(p, 0);
	pb_u32(p, ifindex);
	pb_u16(p, hatype);
	pb_u8(p, 0);
	pb_u8(p, addr ? 6 : 0);
	size_t a = pb_grow(p, 8);
	if (addr)
		memcpy(p->b + a, addr, 6);
	return off;
}

/* BSD loopback header: af little-endian (le) or big-endian. */
static inline size_t pb_null(struct pb *p, uint32_t af, int le)
{
	size_t off = pb_grow(p, 4);
	if (le) {
		for (int i = 0; i < 4; i++)
			p->b[off + i] = (uint8_t)(af >> (8 * i));
	} else {
		poke_u32(p->b + off, af);
	}
	return off;
}

/* --- network layer --- */

struct pb_ip4 {
	uint8_t tos, ttl, proto;
	uint16_t id;
	uint16_t frag;   /* flags(3) offset(13) as on the wire */
	uint8_t src[4], dst[4];
	size_t optlen;   /* multiple of 4; filled with NOPs ending in EOL */
};

static inline size_t pb_ipv4(struct pb *p, const struct pb_ip4 *ip)
{
	size_t off = pb_grow(p, 20 + ip->optlen);
	uint8_t *h = p->b + off;
	h[0] = (uint8_t)(0x40 | ((20 + ip->optlen) / 4));
	h[1] = ip->tos;
	poke_u16(h + 4, ip->id);
	poke_u16(h + 6, ip->frag);
	h[8] = ip->ttl;
	h[9] = ip->proto;
	memcpy(h + 12, ip->src, 4);
	memcpy(h + 16, ip->dst, 4);
	for (size_t i = 0; i < ip->optlen; i++)
		h[20 + i] = i + 1 < ip->optlen ? 1 : 0;
	pb_fixup(p, off, 4);
	return off;
}

struct pb_ip6 {
	uint8_t tc, nh, hlim;
	uint32_t flow;
	uint8_t src[16], dst[16];
};

static inline size_t pb_ipv6(struct pb *p, const struct pb_ip6 *ip)
{
	size_t off = pb_grow(p, 40);
	uint8_t *h = p->b + off;
	poke_u32(h, 6u << 28 | (uint32_t)ip->tc << 20 | (ip->flow & 0xfffff));
	h[6] = ip->nh;
	h[7] = ip->hlim;
	memcpy(h + 8, ip->src, 16);
	memcpy(h + 24, ip->dst, 16);
	pb_fixup(p, off, 6);
	return off;
}

/* Hop-by-hop, routing, destination options, mobility: (xlen + 1) * 8
 * bytes, body zero (Pad1 options / routing type 0 segments left 0). */
static inline size_t pb_ext6(struct pb *p, uint8_t nh, uint8_t xlen)
{
	size_t off = pb_grow(p, ((size_t)xlen + 1) * 8);
	p->b[off] = nh;
	p->b[off + 1] = xlen;
	return off;
}

/* IPv6 fragment header; off_bytes a multiple of 8. */
static inline size_t pb_frag6(struct pb *p, uint8_t nh, uint16_t off_bytes, int more, uint32_t id)
{
	size_t off = pb_grow(p, 8);
	p->b[off] = nh;
	poke_u16(p->b + off + 2, (uint16_t)((off_bytes & 0xfff8) | (more ? 1 : 0)));
	poke_u32(p->b + off + 4, id);
	return off;
}

/* Authentication header (RFC 4302): (plen + 2) * 4 bytes. */
static inline size_t pb_ah(struct pb *p, uint8_t nh, uint8_t plen, uint32_t spi)
{
	size_t off = pb_grow(p, ((size_t)plen + 2) * 4);
	p->b[off] = nh;
	p->b[off + 1] = plen;
	poke_u32(p->b + off + 4, spi);
	return off;
}

/* --- transport layer --- */

/* TCP with optlen (multiple of 4) bytes of NOP options. */
static inline size_t pb_tcp(struct pb *p, uint16_t sport, uint16_t dport, uint8_t flags,
                            size_t optlen)
{
	size_t off = pb_grow(p, 20 + optlen);
	uint8_t *h = p->b + off;
	poke_u16(h, sport);
	poke_u16(h + 2, dport);
	poke_u32(h + 4, 0x01020304);
	h[12] = (uint8_t)(((20 + optlen) / 4) << 4);
	h[13] = flags;
	poke_u16(h + 14, 65535);
	memset(h + 20, 1, optlen);
	return off;
}

static inline size_t pb_udp(struct pb *p, uint16_t sport, uint16_t dport)
{
	size_t off = pb_grow(p, 8);
	poke_u16(p->b + off, sport);
	poke_u16(p->b + off + 2, dport);
	pb_fixup(p, off, 17);
	return off;
}

static inline size_t pb_sctp(struct pb *p, uint16_t sport, uint16_t dport)
{
	size_t off = pb_grow(p, 12);
	poke_u16(p->b + off, sport);
	poke_u16(p->b + off + 2, dport);
	poke_u32(p->b + off + 4, 0xcafef00d); /* verification tag */
	return off;
}

/* ICMP or ICMPv6: type, code, checksum, 4 bytes of rest-of-header. */
static inline size_t pb_icmp(struct pb *p, uint8_t type, uint8_t code)
{
	size_t off = pb_grow(p, 8);
	p->b[off] = type;
	p->b[off + 1] = code;
	poke_u32(p->b + off + 4, 0x00010002);
	return off;
}

static inline size_t pb_igmp(struct pb *p, uint8_t type, const uint8_t group[4])
{
	size_t off = pb_grow(p, 8);
	p->b[off] = type;
	memcpy(p->b + off + 4, group, 4);
	return off;
}

/* GRE (RFC 2784) without optional fields. */
static inline size_t pb_gre(struct pb *p, uint16_t ptype)
{
	size_t off = pb_u16(p, 0);
	pb_u16(p, ptype);
	return off;
}

/* RFC 1071 checksum of n bytes. */
static inline uint16_t pb_cksum(const uint8_t *d, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += peek_u16(d + i);
	if (n & 1)
		s += (uint32_t)d[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Set the lengths (and IPv4 header checksums) from the end of the frame. */
static inline void pb_done(struct pb *p)
{
	for (unsigned i = 0; i < p->nfix; i++) {
		size_t off = p->fix[i].off;
		size_t n = p->len - off;
		uint8_t *h = p->b + off;
		switch (p->fix[i].what) {
		case 4:
			poke_u16(h + 2, (uint16_t)n);
			poke_u16(h + 10, 0);
			poke_u16(h + 10, pb_cksum(h, (size_t)(h[0] & 0x0f) * 4));
			break;
		case 6:
			poke_u16(h + 4, (uint16_t)(n - 40));
			break;
		case 17:
			poke_u16(h + 4, (uint16_t)n);
			break;
		}
	}
}

#endif
