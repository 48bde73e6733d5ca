/* packet.h — frame bytes to a packet summary (stage 2 of DESIGN.md).
 *
 * pkt_decode() is one pure function: it reads the frame only through the
 * bounded reader (lib/buf.h), writes nothing but *pi, keeps no state and
 * never fails on any input other than by returning a reason code. It is
 * fuzzed by tests/fuzz/fuzz_decode.c.
 *
 * Encapsulations: Ethernet II, 802.1Q and QinQ (0x8100, 0x88a8, 0x9100),
 * MPLS unicast/multicast label stacks (IPv4/IPv6 payload guessed from the
 * first nibble after the bottom of stack), Linux cooked (SLL, SLL2), raw IP,
 * BSD loopback (DLT_NULL/LOOP); IPv4 with options; IPv6 with extension
 * headers (hop-by-hop, routing, fragment, destination options, AH,
 * mobility); TCP, UDP, SCTP, ICMP, ICMPv6, IGMP, GRE (outer header only:
 * a GRE packet is a protocol-47 flow with ports 0, as on a router).
 *
 * NetFlow conventions applied here, once, so every cache sees the same:
 *  - ICMP/ICMPv6: sport = 0, dport = type * 256 + code (as IOS does);
 *  - non-first fragments (IPv4 offset != 0, IPv6 fragment offset != 0)
 *    carry no transport header: ports 0, flagged PKT_F_FRAG_LATER;
 *  - bytes counted are IP bytes: IPv4 total length, IPv6 payload length +
 *    40 (a jumbogram with payload length 0 counts the wire length).
 *
 * Jumbograms: an IPv6 payload length of 0 is a jumbogram (RFC 2675) when a
 * hop-by-hop header follows, or when the payload on the wire is longer
 * than 65535 (Linux BIG TCP GSO packets, which carry no hop-by-hop
 * header); likewise an IPv4 total length of 0 on a packet longer than
 * 65535 on the wire (Linux BIG TCP for IPv4). Such packets count the wire
 * length minus the IP header offset. An IPv6 payload length of 0 otherwise
 * means an empty payload; an IPv4 total length of 0 otherwise is
 * PKT_BAD_LEN.
 *
 * Bounds: at most PKT_MAX_VLAN_TAGS tags, PKT_MAX_MPLS_LABELS labels
 * (more is PKT_BAD_L2) and PKT_MAX_EXTHDRS IPv6 extension headers (more is
 * PKT_BAD_EXTHDR). Cost: one pass over the headers, no allocation, no
 * state; the struct is zeroed once per call.
 */
#ifndef IPFLOW_PACKET_H
#define IPFLOW_PACKET_H

#include <stddef.h>
#include <stdint.h>

/* Link types: the libpcap DLT_ numbers we accept. */
enum {
	PKT_LINK_NULL = 0,      /* DLT_NULL: 4-byte host-order AF */
	PKT_LINK_EN10MB = 1,    /* DLT_EN10MB */
	PKT_LINK_RAW = 101,     /* LINKTYPE_RAW: bare IPv4/IPv6 */
	PKT_LINK_RAW_DLT = 12,  /* DLT_RAW on Linux/most BSDs */
	PKT_LINK_LOOP = 108,    /* DLT_LOOP: 4-byte network-order AF */
	PKT_LINK_SLL = 113,     /* DLT_LINUX_SLL */
	PKT_LINK_SLL2 = 276,    /* DLT_LINUX_SLL2 */
};

enum {
	PKT_MAX_VLAN_TAGS = 4,    /* 802.1Q/ad tags walked; a 5th is PKT_BAD_L2 */
	PKT_MAX_MPLS_LABELS = 8,  /* label stack entries; no bottom of stack within 8 is PKT_BAD_L2 */
	PKT_MAX_EXTHDRS = 16,     /* IPv6 extension headers; a 17th is PKT_BAD_EXTHDR */
};

/* pi->flags */
enum {
	PKT_F_FRAG = 1u << 0,       /* a fragment (first or later) */
	PKT_F_FRAG_LATER = 1u << 1, /* non-first fragment: no transport header */
	PKT_F_DF = 1u << 2,         /* IPv4 don't-fragment */
	PKT_F_L4_TRUNC = 1u << 3,   /* transport header cut by the snap length */
	PKT_F_MULTICAST = 1u << 4,  /* destination is multicast */
	PKT_F_VLAN = 1u << 5,       /* at least one 802.1Q/ad tag */
	PKT_F_MPLS = 1u << 6,       /* at least one MPLS label */
	PKT_F_MF = 1u << 7,         /* more fragments: IPv4 MF flag, IPv6 fragment header M flag */
};

/* The summary of one frame. Addresses: IPv4 in the first 4 bytes of
 * src/dst, the other 12 zero. */
struct pkt_info {
	uint8_t src[16];
	uint8_t dst[16];
	uint16_t sport;      /* transport source port; 0 for ICMP, fragments, no-port protocols */
	uint16_t dport;      /* transport destination port; ICMP: type*256+code */
	uint8_t af;          /* 4 or 6 */
	uint8_t proto;       /* protocolIdentifier: the upper-layer protocol after IPv6 ext headers */
	uint8_t tos;         /* IPv4 ToS byte or IPv6 traffic class (ipClassOfService) */
	uint8_t ttl;         /* IPv4 TTL or IPv6 hop limit */
	uint8_t tcp_flags;   /* TCP flags byte (FIN=0x01 SYN=0x02 RST=0x04 PSH=0x08 ACK=0x10 URG=0x20 ECE=0x40 CWR=0x80) */
	uint8_t icmp_type;   /* ICMP/ICMPv6 type (also in dport) */
	uint8_t icmp_code;
	uint8_t igmp_type;
	uint32_t ip_len;     /* IP bytes of this packet (see above); what octetDeltaCount sums.
	                      * 32 bits: a jumbogram / BIG TCP packet exceeds 65535 */
	uint16_t flags;      /* PKT_F_* */
	uint16_t vlan;       /* outer VLAN id, 0 if untagged */
	uint16_t vlan_inner; /* inner VLAN id of QinQ, 0 if none */
	uint8_t vlan_pcp;    /* outer 802.1p priority */
	uint8_t mpls_labels; /* labels in the stack */
	uint32_t mpls_top;   /* top label entry: label(20) exp(3) s(1), TTL dropped */
	uint32_t flow_label; /* IPv6 flow label (20 bits) */
	uint32_t frag_id;    /* IPv4 identification (every IPv4 packet) or IPv6 fragment id
	                      * (when a fragment header is present, atomic fragments too) */
	uint16_t frag_off;   /* fragment offset in bytes */
	uint8_t src_mac[6];  /* Ethernet source; SLL/SLL2: the link-layer address if 6 bytes long */
	uint8_t dst_mac[6];  /* Ethernet destination; zero for SLL/SLL2 (not captured) */
	uint16_t l3_off;     /* offset of the (outer) IP header in the frame */
	uint16_t l4_off;     /* offset of the transport header: set for TCP, UDP, SCTP, ICMP,
	                      * ICMPv6 and IGMP in a first or unfragmented packet; else 0 */
	uint16_t l4_end;     /* offset just past the transport header: TCP per data offset
	                      * (options included), UDP 8, ICMP/ICMPv6 8, IGMP 8, SCTP 12
	                      * (common header); 0 when l4_off is 0, and for TCP when the data
	                      * offset byte itself was cut by the snap length. May exceed the
	                      * captured length when PKT_F_L4_TRUNC is set. */
	uint8_t ip6_nh;      /* IPv6: Next Header of the base header (the first one, before
	                      * any extension header); 0 for IPv4 */
	uint16_t ulp_off;    /* offset of the upper-layer header (after IPv4 options or the
	                      * IPv6 extension headers), whatever the protocol (GRE, IP-in-IP,
	                      * ESP...), in a first or unfragmented packet; else 0. For TCP,
	                      * UDP... it equals l4_off. Packet sections find an inner packet
	                      * through it */
};

/* Result codes: PKT_OK, or why the frame was not metered. Each has a
 * counter in struct pkt_stats and a name from pkt_reason_str(). */
enum pkt_reason {
	PKT_OK = 0,
	PKT_NOT_IP,        /* not IPv4/IPv6 (ARP, LLDP, ...): counted, not an error */
	PKT_TRUNC_L2,      /* frame shorter than its link headers */
	PKT_TRUNC_L3,      /* IP header cut short */
	PKT_BAD_VERSION,   /* IP version nibble disagrees with the link type */
	PKT_BAD_IHL,       /* IPv4 header length < 20 or past the frame */
	PKT_BAD_LEN,       /* IP total/payload length smaller than its header or past the wire length */
	PKT_BAD_EXTHDR,    /* IPv6 extension header chain malformed or too long */
	PKT_TRUNC_L4,      /* transport header missing from a first fragment (beyond snap length: still metered) */
	PKT_BAD_LINKTYPE,  /* link type not supported */
	PKT_BAD_L2,        /* more than PKT_MAX_VLAN_TAGS tags or PKT_MAX_MPLS_LABELS labels */
	PKT_BAD_L4,        /* transport header malformed: TCP data offset < 5 */
	PKT_REASON_MAX
};

struct pkt_stats {
	uint64_t frames;
	uint64_t reason[PKT_REASON_MAX];
};

const char *pkt_reason_str(enum pkt_reason r);

/* Decode one frame of link type `linktype`; `caplen` bytes at `frame`
 * were captured of a frame `wirelen` bytes long on the wire (a wirelen
 * below caplen is taken as caplen). On PKT_OK every field of *pi is set
 * (unused ones zero). Any other result leaves *pi unspecified.
 *
 * Which code: a header cut by caplen is PKT_TRUNC_L2 (link headers, VLAN
 * tags, MPLS stack) or PKT_TRUNC_L3 (IPv4 header and options, IPv6 header
 * and extension headers; also an MPLS stack with nothing after it). An IP
 * length that disagrees with the header or the wire length is
 * PKT_BAD_LEN; an extension header running past the IPv6 payload length is
 * PKT_BAD_EXTHDR. A transport header that the IP length says is missing
 * or short (TCP < 20 or its options past the payload, UDP/ICMP/IGMP < 8,
 * SCTP < 12) on a first or unfragmented packet is PKT_TRUNC_L4.
 * PKT_TRUNC_L4 is not returned for a snap-length cut: a packet whose
 * transport header is cut by the snap length is metered with the fields
 * it has (each field set only if all its bytes were captured, else 0)
 * and PKT_F_L4_TRUNC set. */
enum pkt_reason pkt_decode(const uint8_t *frame, size_t caplen, size_t wirelen,
                           int linktype, struct pkt_info *pi);

#endif
