/* flowrec.h — the one type handed from the flow cache to the exporters.
 *
 * A flow record is one export of one flow: its key (the seven fields of
 * the traditional NetFlow record plus direction), the counters of the
 * packets seen since the flow's previous export (delta counters), the
 * non-key values, and why it ended. Plain values only: no pointers, so a
 * record can be copied, queued and compared with memcmp-free helpers.
 * Times are microseconds since the Unix epoch on the cache's clock
 * (packet time for files, wall time live). */
#ifndef IPFLOW_FLOWREC_H
#define IPFLOW_FLOWREC_H

#include <stdint.h>

struct flow_key {
	uint8_t src[16];      /* sourceIPv4Address (first 4 bytes) / sourceIPv6Address */
	uint8_t dst[16];      /* destinationIPv4Address / destinationIPv6Address */
	uint16_t sport;       /* sourceTransportPort */
	uint16_t dport;       /* destinationTransportPort; ICMP type*256+code */
	uint8_t af;           /* 4 or 6 */
	uint8_t proto;        /* protocolIdentifier */
	uint8_t tos;          /* ipClassOfService */
	uint8_t dir;          /* flowDirection: 0 ingress, 1 egress */
	uint32_t ifindex;     /* ingressInterface */
};

/* Why a record left the cache. The numbers are ipflow's own; see
 * flow_end_ipfix() for flowEndReason (IE 136). */
enum flow_end {
	FLOW_END_IDLE = 0,    /* inactive timeout */
	FLOW_END_ACTIVE,      /* active timeout: the flow stays in the cache */
	FLOW_END_EOF,         /* TCP FIN or RST seen */
	FLOW_END_EMERGENCY,   /* cache past 90 % full: oldest-idle expired early */
	FLOW_END_SHUTDOWN,    /* end of input, SIGTERM, or cache cleared */
	FLOW_END_IMMEDIATE,   /* immediate cache: one packet, one record */
	FLOW_END_MAX
};

struct flowrec {
	struct flow_key key;
	uint64_t packets;     /* packetDeltaCount */
	uint64_t bytes;       /* octetDeltaCount: IP bytes */
	uint64_t first_us;    /* flowStartMilliseconds (us here) */
	uint64_t last_us;     /* flowEndMilliseconds (us here) */
	uint32_t if_out;      /* egressInterface */
	uint32_t src_as;      /* bgpSourceAsNumber */
	uint32_t dst_as;      /* bgpDestinationAsNumber */
	uint8_t nexthop[16];  /* ipNextHopIPv4Address / ipNextHopIPv6Address */
	uint8_t bgp_nexthop[16]; /* bgpNextHopIPv4Address / bgpNextHopIPv6Address */
	uint8_t tcp_flags;    /* tcpControlBits, ORed over the record's packets */
	uint8_t min_ttl;      /* minimumTTL */
	uint8_t max_ttl;      /* maximumTTL */
	uint8_t src_mask;     /* sourceIPv4PrefixLength / sourceIPv6PrefixLength */
	uint8_t dst_mask;     /* destinationIPv4PrefixLength / ... */
	uint8_t end;          /* enum flow_end */
	uint16_t min_len;     /* minimumIpTotalLength */
	uint16_t max_len;     /* maximumIpTotalLength */
};

/* flowEndReason (IANA IE 136) for an internal reason:
 * idle 1 (idleTimeout), active 2 (activeTimeout), FIN/RST 3
 * (endOfFlowDetected), shutdown and immediate 4 (forcedEnd), emergency 5
 * (lackOfResources). */
static inline uint8_t flow_end_ipfix(enum flow_end e)
{
	static const uint8_t map[FLOW_END_MAX] = {
		[FLOW_END_IDLE] = 1, [FLOW_END_ACTIVE] = 2, [FLOW_END_EOF] = 3,
		[FLOW_END_EMERGENCY] = 5, [FLOW_END_SHUTDOWN] = 4, [FLOW_END_IMMEDIATE] = 4,
	};
	return (unsigned)e < FLOW_END_MAX ? map[e] : 4;
}

const char *flow_end_str(enum flow_end e);

#endif
