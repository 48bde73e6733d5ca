/* packet.c — frame bytes to a packet summary; contract in packet.h.
 *
 * One pass, front to back, through a single bounded reader over the
 * captured bytes (lib/buf.h). Fixed-size headers are taken whole with one
 * bounds check (rbuf_take) and their fields read from the checked span at
 * constant offsets; nothing is read through a pointer beyond a length the
 * reader has checked. Two lengths bound every step:
 *  - the captured length (the reader): running out is a TRUNC_* code, or
 *    PKT_F_L4_TRUNC inside the transport header;
 *  - the IP length (total length / payload length): running out is
 *    BAD_LEN, BAD_EXTHDR or TRUNC_L4, because then the packet itself is
 *    short, not the capture.
 * Cost: a few dozen loads and predictable branches per packet; per-protocol
 * facts come from small constant tables indexed by protocol number.
 */
#include "decode/packet.h"

#include <string.h>

#include "lib/buf.h"
#include "lib/bytes.h"

/* EtherTypes (IEEE 802 numbers, IANA "ieee-802-numbers"). */
enum {
	ETH_IPV4 = 0x0800,
	ETH_IPV6 = 0x86dd,
	ETH_VLAN = 0x8100,      /* IEEE 802.1Q C-tag */
	ETH_QINQ = 0x88a8,      /* IEEE 802.1ad S-tag */
	ETH_QINQ_OLD = 0x9100,  /* pre-standard QinQ */
	ETH_MPLS_UC = 0x8847,   /* RFC 3032 §5 */
	ETH_MPLS_MC = 0x8848,
};

enum {
	ETH_HLEN = 14,
	VLAN_TAG_LEN = 4,
	SLL_HLEN = 16,  /* pkttype(2) hatype(2) halen(2) addr(8) protocol(2) */
	SLL2_HLEN = 20, /* protocol(2) rsvd(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr(8) */
	NULL_HLEN = 4,
	IPV4_HLEN = 20,
	IPV6_HLEN = 40,
	IP_MAXLEN = 0xffff,
};

/* What the link layer says the payload is. */
enum l3_kind {
	L3_V4,          /* must be IPv4: another nibble is PKT_BAD_VERSION */
	L3_V6,          /* must be IPv6 */
	L3_GUESS_RAW,   /* raw IP: 4 or 6, else PKT_BAD_VERSION */
	L3_GUESS_MPLS,  /* after an MPLS stack: 4 or 6, else PKT_NOT_IP (pseudowire, ...) */
};

/* IPv6 extension headers (IANA "IPv6 Extension Header Types", RFC 7045)
 * and how their length is coded. ESP (50) and No Next Header (59) are not
 * here: the walk stops at them and they are the protocol. */
enum ext_kind {
	EXT_NONE = 0,
	EXT_OPT8,   /* RFC 8200 §4.3-4.6 format: (Hdr Ext Len + 1) * 8 bytes */
	EXT_FRAG,   /* RFC 8200 §4.5: 8 bytes */
	EXT_AH,     /* RFC 4302 §2.2: (Payload Len + 2) * 4 bytes */
};

static const uint8_t ext_kind[256] = {
	[0] = EXT_OPT8,     /* hop-by-hop options; only first (RFC 8200 §4.1) */
	[43] = EXT_OPT8,    /* routing */
	[44] = EXT_FRAG,    /* fragment */
	[51] = EXT_AH,      /* authentication header */
	[60] = EXT_OPT8,    /* destination options */
	[135] = EXT_OPT8,   /* mobility (RFC 6275 §6.1.1) */
	[139] = EXT_OPT8,   /* HIP (RFC 7401 §5.1) */
	[140] = EXT_OPT8,   /* shim6 (RFC 5533 §5.1) */
};

/* Transport headers we read: how many bytes the header has at least, and
 * which fields come out of it. The minimum is what the IP length must
 * hold (else PKT_TRUNC_L4) and what the capture must hold (else
 * PKT_F_L4_TRUNC); it is also l4_end - l4_off, except for TCP. */
enum l4_kind {
	L4_NONE = 0,
	L4_PORTS,   /* UDP (RFC 768), SCTP common header (RFC 9260 §3.1) */
	L4_TCP,     /* RFC 9293 §3.1 */
	L4_ICMP,    /* ICMP (RFC 792), ICMPv6 (RFC 4443 §2.1): type, code */
	L4_IGMP,    /* RFC 2236 §2, RFC 3376 §4: type */
};

struct l4_spec {
	uint8_t kind;
	uint8_t hlen;
};

enum { L4_MAX_HLEN = 20 };

static const struct l4_spec l4_tab[256] = {
	[1] = { L4_ICMP, 8 },
	[2] = { L4_IGMP, 8 },
	[6] = { L4_TCP, 20 },
	[17] = { L4_PORTS, 8 },
	[58] = { L4_ICMP, 8 },
	[132] = { L4_PORTS, 12 },
};

static const char *const reason_str[PKT_REASON_MAX] = {
	[PKT_OK] = "ok",
	[PKT_NOT_IP] = "not IP",
	[PKT_TRUNC_L2] = "link header truncated",
	[PKT_TRUNC_L3] = "IP header truncated",
	[PKT_BAD_VERSION] = "IP version disagrees with link type",
	[PKT_BAD_IHL] = "bad IPv4 header length",
	[PKT_BAD_LEN] = "bad IP length",
	[PKT_BAD_EXTHDR] = "bad IPv6 extension header chain",
	[PKT_TRUNC_L4] = "transport header missing",
	[PKT_BAD_LINKTYPE] = "unsupported link type",
	[PKT_BAD_L2] = "too many VLAN tags or MPLS labels",
	[PKT_BAD_L4] = "bad transport header",
};

const char *pkt_reason_str(enum pkt_reason r)
{
	if ((unsigned)r >= PKT_REASON_MAX || !reason_str[r])
		return "unknown reason";
	return reason_str[r];
}

static size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* --- link layer ------------------------------------------------------------ */

/* An MPLS label stack (RFC 3032 §2.1): 4-byte entries up to the one with
 * the bottom-of-stack bit. Records the top entry without its TTL. The
 * payload type is not coded anywhere: it is guessed from the first
 * nibble after the stack (as routers and Wireshark do). */
static enum pkt_reason l2_mpls(struct rbuf *r, struct pkt_info *pi, enum l3_kind *kind)
{
	uint32_t e;

	pi->flags |= PKT_F_MPLS;
	for (unsigned n = 0;; n++) {
		if (n == PKT_MAX_MPLS_LABELS)
			return PKT_BAD_L2;
		if (rbuf_get_u32(r, &e) != ERR_OK)
			return PKT_TRUNC_L2;
		if (n == 0)
			pi->mpls_top = e >> 8;
		pi->mpls_labels = (uint8_t)(n + 1);
		if (e & 0x100)
			break;
	}
	*kind = L3_GUESS_MPLS;
	return PKT_OK;
}

/* Everything after an EtherType: 802.1Q/802.1ad tags (IEEE 802.1Q §9.6:
 * TCI = PCP(3) DEI(1) VID(12), then the next EtherType), then MPLS or IP.
 * Shared by Ethernet, SLL and SLL2. */
static enum pkt_reason l2_ethertype(struct rbuf *r, uint16_t type, struct pkt_info *pi,
                                    enum l3_kind *kind)
{
	for (unsigned tags = 0; type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD;
	     tags++) {
		if (tags == PKT_MAX_VLAN_TAGS)
			return PKT_BAD_L2;
		const uint8_t *t = rbuf_take(r, VLAN_TAG_LEN);
		if (!t)
			return PKT_TRUNC_L2;
		uint16_t tci = peek_u16(t);
		if (tags == 0) {
			pi->flags |= PKT_F_VLAN;
			pi->vlan = tci & 0x0fff;
			pi->vlan_pcp = (uint8_t)(tci >> 13);
		} else if (tags == 1) {
			pi->vlan_inner = tci & 0x0fff;
		}
		type = peek_u16(t + 2);
	}
	switch (type) {
	case ETH_IPV4:
		*kind = L3_V4;
		return PKT_OK;
	case ETH_IPV6:
		*kind = L3_V6;
		return PKT_OK;
	case ETH_MPLS_UC:
	case ETH_MPLS_MC:
		return l2_mpls(r, pi, kind);
	default:
		return PKT_NOT_IP; /* ARP, LLDP, 802.3 length field, ... */
	}
}

/* Ethernet II (IEEE 802.3 §3.1.1): dst(6) src(6) type(2). */
static enum pkt_reason l2_en10mb(struct rbuf *r, struct pkt_info *pi, enum l3_kind *kind)
{
	const uint8_t *h = rbuf_take(r, ETH_HLEN);
	if (!h)
		return PKT_TRUNC_L2;
	memcpy(pi->dst_mac, h, 6);
	memcpy(pi->src_mac, h + 6, 6);
	return l2_ethertype(r, peek_u16(h + 12), pi, kind);
}

/* Linux cooked capture v1 (libpcap LINKTYPE_LINUX_SLL): the address is the
 * sender's link-layer address; the protocol is an EtherType for the
 * hardware types that matter here. */
static enum pkt_reason l2_sll(struct rbuf *r, struct pkt_info *pi, enum l3_kind *kind)
{
	const uint8_t *h = rbuf_take(r, SLL_HLEN);
	if (!h)
		return PKT_TRUNC_L2;
	if (peek_u16(h + 4) == 6)
		memcpy(pi->src_mac, h + 6, 6);
	return l2_ethertype(r, peek_u16(h + 14), pi, kind);
}

/* Linux cooked capture v2 (LINKTYPE_LINUX_SLL2). */
static enum pkt_reason l2_sll2(struct rbuf *r, struct pkt_info *pi, enum l3_kind *kind)
{
	const uint8_t *h = rbuf_take(r, SLL2_HLEN);
	if (!h)
		return PKT_TRUNC_L2;
	if (h[11] == 6)
		memcpy(pi->src_mac, h + 12, 6);
	return l2_ethertype(r, peek_u16(h), pi, kind);
}

/* BSD loopback: a 4-byte address family, in the capturing host's byte
 * order (DLT_NULL) or network order (DLT_LOOP). AF values are < 256, so a
 * DLT_NULL header from either byte order is recognised by which end byte
 * is set. AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 23 (Windows,
 * Npcap loopback), 24 (NetBSD, OpenBSD), 28 (FreeBSD, DragonFly), 30
 * (macOS). */
static enum pkt_reason l2_null(struct rbuf *r, int host_order, enum l3_kind *kind)
{
	const uint8_t *h = rbuf_take(r, NULL_HLEN);
	if (!h)
		return PKT_TRUNC_L2;
	uint32_t af = peek_u32(h);
	if (host_order && h[0] != 0)
		af = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
	switch (af) {
	case 2:
		*kind = L3_V4;
		return PKT_OK;
	case 10:
	case 23:
	case 24:
	case 28:
	case 30:
		*kind = L3_V6;
		return PKT_OK;
	default:
		return PKT_NOT_IP;
	}
}

/* --- transport layer ------------------------------------------------------- */

/* The transport header of pi->proto at the reader, in a first or
 * unfragmented packet whose upper-layer part is ip_rem bytes long by the
 * IP length. Fields are taken only when all their bytes were captured. */
static enum pkt_reason l4_decode(struct rbuf *r, size_t ip_rem, struct pkt_info *pi)
{
	const struct l4_spec s = l4_tab[pi->proto];
	pi->ulp_off = (uint16_t)r->off;
	if (s.kind == L4_NONE)
		return PKT_OK; /* GRE, ESP, no next header, ...: ports 0 */
	if (ip_rem < s.hlen)
		return PKT_TRUNC_L4;

	size_t cap = min_sz(rbuf_left(r), ip_rem); /* captured bytes of the upper layer */
	size_t have = s.hlen;
	uint8_t tmp[L4_MAX_HLEN];
	pi->l4_off = (uint16_t)r->off;
	const uint8_t *h = rbuf_take(r, s.hlen);
	if (!h) {
		/* Snap-length cut: copy what there is, zero the rest. */
		have = cap;
		memset(tmp, 0, sizeof(tmp));
		if (rbuf_get_bytes(r, tmp, have) != ERR_OK)
			return PKT_TRUNC_L4; /* not reached: have <= left */
		h = tmp;
		pi->flags |= PKT_F_L4_TRUNC;
	}

	size_t end = s.hlen;
	switch (s.kind) {
	case L4_TCP:
		if (have >= 13) {
			end = (size_t)(h[12] >> 4) * 4;
			if (end < 20)
				return PKT_BAD_L4;
			if (end > ip_rem)
				return PKT_TRUNC_L4;
			if (end > cap)
				pi->flags |= PKT_F_L4_TRUNC;
		} else {
			end = 0; /* data offset not captured */
		}
		if (have >= 14)
			pi->tcp_flags = h[13];
		/* Ports sit where UDP's do. */
		/* fall through */
	case L4_PORTS:
		if (have >= 2)
			pi->sport = peek_u16(h);
		if (have >= 4)
			pi->dport = peek_u16(h + 2);
		break;
	case L4_ICMP:
		/* IOS convention: sport 0, dport type * 256 + code. */
		if (have >= 1)
			pi->icmp_type = h[0];
		if (have >= 2)
			pi->icmp_code = h[1];
		pi->dport = (uint16_t)(pi->icmp_type << 8 | pi->icmp_code);
		break;
	case L4_IGMP:
		if (have >= 1)
			pi->igmp_type = h[0];
		break;
	}
	pi->l4_end = end ? (uint16_t)(pi->l4_off + end) : 0;
	return PKT_OK;
}

/* --- network layer --------------------------------------------------------- */

/* IPv4 (RFC 791 §3.1). wire_rem: bytes from the IP header to the end of
 * the frame on the wire. Checks in this order: IHL >= 5, the fixed header
 * captured, IHL within the wire frame, total length within [IHL*4,
 * wire_rem], options captured. */
static enum pkt_reason ipv4_decode(struct rbuf *r, uint8_t b0, size_t wire_rem,
                                   struct pkt_info *pi)
{
	size_t hlen = (size_t)(b0 & 0x0f) * 4;
	if (hlen < IPV4_HLEN)
		return PKT_BAD_IHL;
	const uint8_t *h = rbuf_take(r, IPV4_HLEN);
	if (!h)
		return PKT_TRUNC_L3;
	if (hlen > wire_rem)
		return PKT_BAD_IHL;
	size_t tl = peek_u16(h + 2);
	if (tl == 0 && wire_rem > IP_MAXLEN)
		tl = wire_rem; /* BIG TCP (see packet.h) */
	if (tl > wire_rem || tl < hlen)
		return PKT_BAD_LEN;
	if (rbuf_skip(r, hlen - IPV4_HLEN) != ERR_OK)
		return PKT_TRUNC_L3; /* options cut */

	uint16_t frag = peek_u16(h + 6); /* flags(3) offset(13) */
	pi->af = 4;
	pi->tos = h[1];
	pi->ip_len = (uint32_t)min_sz(tl, UINT32_MAX);
	pi->frag_id = peek_u16(h + 4);
	pi->ttl = h[8];
	pi->proto = h[9];
	memcpy(pi->src, h + 12, 4);
	memcpy(pi->dst, h + 16, 4);
	pi->frag_off = (uint16_t)((frag & 0x1fff) << 3);
	pi->flags |= (frag & 0x4000) ? PKT_F_DF : 0;
	pi->flags |= (frag & 0x2000) ? PKT_F_MF : 0;
	pi->flags |= (frag & 0x3fff) ? PKT_F_FRAG : 0;            /* MF or offset */
	pi->flags |= (frag & 0x1fff) ? PKT_F_FRAG_LATER : 0;
	pi->flags |= (h[16] & 0xf0) == 0xe0 ? PKT_F_MULTICAST : 0; /* 224.0.0.0/4 */
	if (frag & 0x1fff)
		return PKT_OK;
	return l4_decode(r, tl - hlen, pi);
}

/* IPv6 (RFC 8200 §3) and its extension header chain (§4). */
static enum pkt_reason ipv6_decode(struct rbuf *r, size_t wire_rem, struct pkt_info *pi)
{
	const uint8_t *h = rbuf_take(r, IPV6_HLEN);
	if (!h)
		return PKT_TRUNC_L3;
	uint32_t vtf = peek_u32(h); /* version(4) traffic class(8) flow label(20) */
	size_t len = (size_t)peek_u16(h + 4) + IPV6_HLEN;
	uint8_t nh = h[6];
	/* Jumbogram (RFC 2675) or BIG TCP: see packet.h. wire_rem >= 40 here. */
	if (len == IPV6_HLEN && (nh == 0 || wire_rem - IPV6_HLEN > IP_MAXLEN))
		len = wire_rem;
	if (len > wire_rem)
		return PKT_BAD_LEN;

	pi->af = 6;
	pi->tos = (uint8_t)(vtf >> 20);
	pi->flow_label = vtf & 0xfffff;
	pi->ip_len = (uint32_t)min_sz(len, UINT32_MAX);
	pi->ttl = h[7];
	pi->ip6_nh = nh;
	memcpy(pi->src, h + 8, 16);
	memcpy(pi->dst, h + 24, 16);
	pi->flags |= h[24] == 0xff ? PKT_F_MULTICAST : 0; /* ff00::/8 */

	size_t end = pi->l3_off + len; /* frame offset where the IPv6 packet ends */
	for (unsigned n = 0; ext_kind[nh] != EXT_NONE; n++) {
		size_t room = end - r->off; /* r->off <= end: each header was checked */
		if (n == PKT_MAX_EXTHDRS || (nh == 0 && n != 0) || room < 2)
			return PKT_BAD_EXTHDR;
		uint8_t xlen;
		if (rbuf_peek_u8(r, 1, &xlen) != ERR_OK)
			return PKT_TRUNC_L3;
		size_t hl = ext_kind[nh] == EXT_FRAG ? 8
		          : ext_kind[nh] == EXT_AH   ? ((size_t)xlen + 2) * 4
		                                     : ((size_t)xlen + 1) * 8;
		if (hl > room)
			return PKT_BAD_EXTHDR;
		const uint8_t *e = rbuf_take(r, hl);
		if (!e)
			return PKT_TRUNC_L3;
		if (ext_kind[nh] == EXT_FRAG) {
			/* offset(13) res(2) M(1), id(32); RFC 8200 §4.5. An atomic
			 * fragment (offset 0, M 0, RFC 6946) is not flagged. */
			uint16_t fo = peek_u16(e + 2);
			pi->frag_id = peek_u32(e + 4);
			pi->frag_off = fo & 0xfff8;
			pi->flags |= (fo & 0xfff9) ? PKT_F_FRAG : 0;
			pi->flags |= (fo & 1) ? PKT_F_MF : 0;
			if (fo & 0xfff8) {
				/* Later fragment: what follows is data, not headers. */
				pi->flags |= PKT_F_FRAG_LATER;
				pi->proto = e[0];
				return PKT_OK;
			}
		}
		nh = e[0];
	}
	pi->proto = nh;
	return l4_decode(r, end - r->off, pi);
}

/* The IP header at the reader: version check against what the link layer
 * promised, then IPv4 or IPv6. */
static enum pkt_reason l3_decode(struct rbuf *r, size_t wirelen, enum l3_kind kind,
                                 struct pkt_info *pi)
{
	uint8_t b0;

	pi->l3_off = (uint16_t)r->off;
	if (rbuf_peek_u8(r, 0, &b0) != ERR_OK)
		return PKT_TRUNC_L3;
	unsigned v = b0 >> 4;
	if (v != 4 && v != 6)
		return kind == L3_GUESS_MPLS ? PKT_NOT_IP : PKT_BAD_VERSION;
	if ((kind == L3_V4 && v != 4) || (kind == L3_V6 && v != 6))
		return PKT_BAD_VERSION;
	size_t wire_rem = wirelen - r->off;
	return v == 4 ? ipv4_decode(r, b0, wire_rem, pi) : ipv6_decode(r, wire_rem, pi);
}

enum pkt_reason pkt_decode(const uint8_t *frame, size_t caplen, size_t wirelen,
                           int linktype, struct pkt_info *pi)
{
	static const uint8_t empty[1];
	struct rbuf r;
	enum l3_kind kind = L3_GUESS_RAW;
	enum pkt_reason rc;

	memset(pi, 0, sizeof(*pi));
	if (!frame) {
		frame = empty;
		caplen = 0;
	}
	if (wirelen < caplen)
		wirelen = caplen;
	rbuf_init(&r, frame, caplen);

	switch (linktype) {
	case PKT_LINK_EN10MB:
		rc = l2_en10mb(&r, pi, &kind);
		break;
	case PKT_LINK_RAW:
	case PKT_LINK_RAW_DLT:
		rc = PKT_OK;
		break;
	case PKT_LINK_SLL:
		rc = l2_sll(&r, pi, &kind);
		break;
	case PKT_LINK_SLL2:
		rc = l2_sll2(&r, pi, &kind);
		break;
	case PKT_LINK_NULL:
		rc = l2_null(&r, 1, &kind);
		break;
	case PKT_LINK_LOOP:
		rc = l2_null(&r, 0, &kind);
		break;
	default:
		return PKT_BAD_LINKTYPE;
	}
	if (rc != PKT_OK)
		return rc;
	return l3_decode(&r, wirelen, kind, pi);
}
