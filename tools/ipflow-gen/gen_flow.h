/* gen_flow.h — the traffic model: sessions and the packets they send.
 *
 * A session (struct gen_flow) is one conversation: a TCP connection, a DNS
 * exchange, a ping, a GRE tunnel... Its forward direction (dir 0) goes from
 * f->src to f->dst, its reverse (dir 1) the other way; as on a router, the
 * two directions are separate NetFlow keys. A session draws its kind,
 * timing class, encapsulation, addresses and header options once at start
 * (gen_flow_start), which also builds its header template (gen_frame.h),
 * and then yields one packet per gen_flow_step until it ends.
 *
 * Timing classes, relative to the router's timeouts (A = --active,
 * I = --inactive): SHORT sessions last under 1 s; MEDIUM ones last from
 * 1 s to min(0.8 A, 20 I) with every gap under I/2; GAP ones are MEDIUM
 * with one idle gap of 1.5-4 I in the middle (a router splits them); LONG
 * ones last 1.2-3.2 A with every gap under I (a router exports them
 * several times). Every gap other than the GAP idle is below I/2.
 *
 * Nothing here allocates; gen_flow_step costs O(1). */
#ifndef IPFLOW_GEN_FLOW_H
#define IPFLOW_GEN_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "gen_rand.h"

/* The session kinds (table gen_kinds[] in gen_flow.c gives the mix). */
enum gen_kind {
	GEN_K_TCP,
	GEN_K_DNS,
	GEN_K_UDP,       /* UDP stream: media, games, QUIC-like */
	GEN_K_FRAG,      /* UDP with datagrams larger than the MTU: IP fragments */
	GEN_K_ECHO,      /* ICMP / ICMPv6 echo request and reply */
	GEN_K_ICMPERR,   /* ICMP / ICMPv6 errors */
	GEN_K_IGMP,      /* IGMPv2 / IGMPv3 membership reports (IPv4 only) */
	GEN_K_GRE,       /* GRE carrying inner IPv4/UDP */
	GEN_K_ESP,       /* IPsec ESP: an "other" protocol, ports 0 */
	GEN_K_COUNT
};

enum gen_class { GEN_C_SHORT, GEN_C_MEDIUM, GEN_C_GAP, GEN_C_LONG, GEN_C_COUNT };

/* How a TCP session ends. */
enum gen_end { GEN_END_FIN, GEN_END_RST, GEN_END_NONE };

enum gen_encap { GEN_L2_PLAIN, GEN_L2_VLAN, GEN_L2_QINQ, GEN_L2_MPLS, GEN_L2_COUNT };

/* pkt->msg */
enum gen_msg {
	GEN_DNS_QUERY_A = 0, GEN_DNS_RESP_A = 1, GEN_DNS_QUERY_AAAA = 2, GEN_DNS_RESP_AAAA = 3,
	GEN_IGMP_JOIN = 0, GEN_IGMP_REPORT = 1, GEN_IGMP_LEAVE = 2,
};

/* pkt->frag */
enum gen_frag { GEN_FRAG_NONE, GEN_FRAG_FIRST, GEN_FRAG_LATER };

/* Largest template: L2 with 3 MPLS labels (26) + IPv6 with hop-by-hop and
 * segment routing headers (72) + GRE (4) + inner IPv4 (20) = 122. */
#define GEN_TMPL_MAX 128
/* Largest frame: 26 bytes of L2 + a 1500-byte IP packet, rounded up. */
#define GEN_FRAME_MAX 1536
/* The IP MTU every session respects. */
#define GEN_MTU 1500

/* One packet, as the model decides it; gen_frame_write lays it out. */
struct gen_pkt {
	uint64_t ts_us;     /* capture time, microseconds since the epoch */
	uint32_t seq, ack;  /* TCP sequence/ack; ICMP echo: seq in seq; ESP: seq */
	uint32_t frag_id;   /* IPv6 fragment identification */
	uint32_t msg_off;   /* TCP data: offset of this segment in its message */
	uint32_t msg_len;   /* TCP data: length of that message (request or response) */
	uint16_t len;       /* payload after the transport header; fragments: see frag_len */
	uint16_t frag_off;  /* fragments: byte offset of this piece in the datagram */
	uint16_t frag_len;  /* fragments: bytes of the datagram in this piece */
	uint16_t dgram_len; /* fragmented UDP: whole datagram (header + payload) */
	uint16_t ipid;      /* IPv4 identification */
	uint8_t dir;        /* 0 forward (src -> dst), 1 reverse */
	uint8_t alt;        /* IGMP: 1 = leave to 224.0.0.2 (a second key) */
	uint8_t frag;       /* enum gen_frag */
	uint8_t frag_more;  /* more fragments follow */
	uint8_t tcp_flags;
	uint8_t tcp_syn;    /* carry SYN options (MSS, WS, SACK-permitted) */
	uint8_t icmp_type, icmp_code;
	uint8_t msg;        /* kind-specific: DNS 0 query/1 response; IGMP message */
};

/* The NetFlow key of a packet (see gen_flow_key). pad is always zero so
 * the struct can be hashed and compared as bytes. */
struct gen_key {
	uint8_t src[16];
	uint8_t dst[16];
	uint16_t sport, dport;
	uint8_t af, proto, tos, pad;
};

/* Stream state shared by UDP, GRE and ESP sessions. */
struct gen_stream {
	uint32_t intra_us;  /* spacing of packets inside a burst */
	uint16_t size;      /* typical payload size */
	uint16_t burst_left;
	uint16_t burst_pos;
	uint8_t fwd_pct;    /* share of packets sent forward */
	uint8_t jitter_pct; /* payload size varies by up to this much */
};

struct gen_flow {
	uint64_t next_us;     /* time of the next packet (the heap key) */
	uint64_t end_us;      /* planned end: no new round starts after it */
	uint64_t gap_at_us;   /* GAP class: idle gap at the first round end after this */
	uint32_t gap_len_us;  /* GAP class: length of that idle gap; 0 once taken */
	uint32_t key_idx[4];  /* truth keys by slot dir | alt << 1; UINT32_MAX = not seen yet */
	uint32_t rtt_us;
	uint32_t seq[2];      /* TCP next sequence number per direction; echo/ESP counters */
	uint16_t ipid[2];     /* IPv4 identification per direction */
	uint16_t sport, dport;
	uint8_t src[16], dst[16];
	uint8_t af, proto, kind, cls;
	uint8_t tos[2], ttl[2];
	uint8_t encap;        /* enum gen_l2 (statistics only; the template has it) */
	uint8_t state;        /* kind-specific */
	uint8_t end;          /* enum gen_end */
	uint8_t midstream;    /* began before the capture: no TCP handshake */
	/* Header template (gen_frame.h): forward-direction L2 + L3 headers. */
	uint8_t tmpl_len;     /* bytes in tmpl; the transport header follows */
	uint8_t l3_off;       /* offset of the IP header */
	uint8_t l3_len;       /* IP header incl. options / extension headers */
	uint8_t nh_off;       /* IPv6: offset of the last next-header byte */
	uint8_t rh_off;       /* IPv6: offset of the SRH segment holding the destination, 0 if none */
	uint8_t inner_off;    /* GRE: offset of the inner IPv4 header, 0 if none */
	uint8_t tmpl[GEN_TMPL_MAX];
	union {
		struct {
			uint32_t req_left, resp_left; /* bytes left in this round */
			uint32_t req_len, resp_len;   /* message sizes of this round */
			uint16_t mss;
			uint8_t http;                 /* messages are HTTP/1.1 (gen_frame.h) */
			uint16_t win[2];
			uint8_t unacked;              /* server segments since the client's last ACK */
			uint8_t closer;               /* direction that sends the first FIN / the RST */
		} tcp;
		struct {
			uint16_t qid;
			uint16_t name;                /* picks the query name */
			uint8_t aaaa;                 /* also ask AAAA (a second exchange) */
			uint8_t noreply;
			uint8_t nxdomain;
			uint8_t answers;
		} dns;
		struct gen_stream udp;
		struct {
			uint32_t frag_id;
			uint16_t req, resp;           /* request size, response datagram size */
			uint16_t next_off;            /* next fragment offset of the datagram in flight */
			uint8_t big_pct;              /* share of responses larger than the MTU */
		} frag;
		struct {
			uint16_t id, size;
			uint32_t interval_us;
			uint8_t noreply;
		} echo;
		struct {
			uint8_t type, code, left;
			uint8_t via_router;          /* reporter is a router before the target */
		} err;
		struct {
			uint32_t group;               /* host order */
			uint32_t interval_us;
			uint8_t version, nsrc, leave;
		} igmp;
		struct {
			struct gen_stream s;
			uint8_t inner[2][4];          /* inner IPv4 addresses, forward direction */
			uint16_t iport[2];            /* inner UDP ports */
		} gre;
		struct {
			struct gen_stream s;
			uint32_t spi[2];
		} esp;
	} u;
};

/* Model-wide settings and state. */
struct gen_model {
	struct gen_rng rng;
	uint64_t active_us, inactive_us;
	bool v4_only;
	uint64_t sessions;                   /* sessions started */
	uint64_t sessions_by_kind[GEN_K_COUNT];
	uint64_t sessions_by_class[GEN_C_COUNT];
	uint64_t sessions_by_end[3];         /* TCP only */
	/* Cumulative weights of (kind, class) pairs: for arrivals, and
	 * weighted by mean duration for the population at capture start. */
	double cum_arrive[GEN_K_COUNT * GEN_C_COUNT];
	double cum_steady[GEN_K_COUNT * GEN_C_COUNT];
};

/* Timeouts in microseconds, both > 0. */
void gen_model_init(struct gen_model *m, uint64_t seed, uint64_t active_us,
		    uint64_t inactive_us, bool v4_only);

/* Start a new session in *f (all of it overwritten); its first packet is
 * at or after t_us. initial: the session is part of the population in
 * progress when the capture starts, drawn so that long sessions are as
 * common as in the steady state, and it may already be under way. */
void gen_flow_start(struct gen_model *m, struct gen_flow *f, uint64_t t_us, bool initial);

/* Fill *p with the packet due at f->next_us and move f on. Returns false
 * when that was the session's last packet (f->next_us is then meaningless). */
bool gen_flow_step(struct gen_model *m, struct gen_flow *f, struct gen_pkt *p);

/* The NetFlow key of packet p of f: addresses by direction; TCP/UDP ports
 * (0 for non-first fragments); ICMP/ICMPv6 sport 0 and dport type*256+code;
 * 0 for every other protocol. */
void gen_flow_key(const struct gen_flow *f, const struct gen_pkt *p, struct gen_key *k);

/* Truth key slot of packet p: 0..3. The key of a slot never changes during
 * a session, so the caller may cache its lookup in f->key_idx[]. */
static inline unsigned gen_pkt_slot(const struct gen_pkt *p)
{
	return p->dir | (unsigned)(p->alt || p->frag == GEN_FRAG_LATER) << 1;
}

/* Names for the summary. */
const char *gen_kind_name(unsigned kind);
const char *gen_class_name(unsigned cls);
const char *gen_encap_name(unsigned encap);

#endif
