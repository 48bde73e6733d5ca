/* conf_fields.c — the fields a Flexible NetFlow `flow record` may
 * `match` (key) or `collect` (non-key), in the words of the Catalyst
 * Flexible NetFlow command reference, each with its IPFIX Information
 * Element (RFC 7012 / IANA registry; every id is a row of ie.def, checked
 * by test_conf). */
#include "conf/conf.h"
#include "export/ie.h"

#define K true  /* may be a key */
#define N false /* collect only */

const struct conf_field_def conf_field_table[] = {
	/* datalink */
	{ "datalink dot1q priority", IE_dot1qPriority, K },
	{ "datalink dot1q vlan input", IE_dot1qVlanId, K },
	{ "datalink dot1q vlan output", IE_postVlanId, K },
	{ "datalink mac source address input", IE_sourceMacAddress, K },
	{ "datalink mac source address output", IE_postSourceMacAddress, K },
	{ "datalink mac destination address input", IE_destinationMacAddress, K },
	{ "datalink mac destination address output", IE_postDestinationMacAddress, K },
	/* IPv4 */
	{ "ipv4 source address", IE_sourceIPv4Address, K },
	{ "ipv4 destination address", IE_destinationIPv4Address, K },
	{ "ipv4 source mask", IE_sourceIPv4PrefixLength, K },
	{ "ipv4 destination mask", IE_destinationIPv4PrefixLength, K },
	{ "ipv4 source prefix", IE_sourceIPv4Prefix, K },
	{ "ipv4 destination prefix", IE_destinationIPv4Prefix, K },
	{ "ipv4 dscp", IE_ipDiffServCodePoint, K },
	{ "ipv4 precedence", IE_ipPrecedence, K },
	{ "ipv4 tos", IE_ipClassOfService, K },
	{ "ipv4 protocol", IE_protocolIdentifier, K },
	{ "ipv4 fragmentation flags", IE_fragmentFlags, K },
	{ "ipv4 fragmentation offset", IE_fragmentOffset, K },
	{ "ipv4 is-multicast", IE_isMulticast, K },
	{ "ipv4 total-length", IE_totalLengthIPv4, K },
	{ "ipv4 total-length minimum", IE_minimumIpTotalLength, N },
	{ "ipv4 total-length maximum", IE_maximumIpTotalLength, N },
	{ "ipv4 ttl", IE_ipTTL, K },
	{ "ipv4 ttl minimum", IE_minimumTTL, N },
	{ "ipv4 ttl maximum", IE_maximumTTL, N },
	{ "ipv4 version", IE_ipVersion, K },
	/* IPv6 */
	{ "ipv6 source address", IE_sourceIPv6Address, K },
	{ "ipv6 destination address", IE_destinationIPv6Address, K },
	{ "ipv6 source mask", IE_sourceIPv6PrefixLength, K },
	{ "ipv6 destination mask", IE_destinationIPv6PrefixLength, K },
	{ "ipv6 dscp", IE_ipDiffServCodePoint, K },
	{ "ipv6 precedence", IE_ipPrecedence, K },
	{ "ipv6 traffic-class", IE_ipClassOfService, K },
	{ "ipv6 flow-label", IE_flowLabelIPv6, K },
	{ "ipv6 hop-limit", IE_ipTTL, K },
	{ "ipv6 hop-limit minimum", IE_minimumTTL, N },
	{ "ipv6 hop-limit maximum", IE_maximumTTL, N },
	{ "ipv6 next-header", IE_nextHeaderIPv6, K },
	{ "ipv6 protocol", IE_protocolIdentifier, K },
	{ "ipv6 is-multicast", IE_isMulticast, K },
	{ "ipv6 total-length", IE_ipTotalLength, K },
	{ "ipv6 total-length minimum", IE_minimumIpTotalLength, N },
	{ "ipv6 total-length maximum", IE_maximumIpTotalLength, N },
	{ "ipv6 payload-length", IE_payloadLengthIPv6, K },
	{ "ipv6 version", IE_ipVersion, K },
	/* routing */
	{ "routing forwarding-status", IE_forwardingStatus, K },
	{ "routing next-hop address ipv4", IE_ipNextHopIPv4Address, K },
	{ "routing next-hop address ipv6", IE_ipNextHopIPv6Address, K },
	{ "routing next-hop address ipv4 bgp", IE_bgpNextHopIPv4Address, K },
	{ "routing source as", IE_bgpSourceAsNumber, K },
	{ "routing destination as", IE_bgpDestinationAsNumber, K },
	/* transport */
	{ "transport source-port", IE_sourceTransportPort, K },
	{ "transport destination-port", IE_destinationTransportPort, K },
	{ "transport tcp source-port", IE_tcpSourcePort, K },
	{ "transport tcp destination-port", IE_tcpDestinationPort, K },
	{ "transport tcp flags", IE_tcpControlBits, K },
	{ "transport udp source-port", IE_udpSourcePort, K },
	{ "transport udp destination-port", IE_udpDestinationPort, K },
	{ "transport icmp ipv4 type", IE_icmpTypeIPv4, K },
	{ "transport icmp ipv4 code", IE_icmpCodeIPv4, K },
	{ "transport icmp ipv6 type", IE_icmpTypeIPv6, K },
	{ "transport icmp ipv6 code", IE_icmpCodeIPv6, K },
	{ "transport igmp type", IE_igmpType, K },
	/* interfaces and direction */
	{ "interface input", IE_ingressInterface, K },
	{ "interface output", IE_egressInterface, K },
	{ "flow direction", IE_flowDirection, K },
	{ "flow sampler", IE_samplerId, K },
	/* counters */
	{ "counter bytes", IE_octetDeltaCount, N },
	{ "counter bytes long", IE_octetDeltaCount, N },
	{ "counter packets", IE_packetDeltaCount, N },
	{ "counter packets long", IE_packetDeltaCount, N },
	{ "counter flows", IE_deltaFlowCount, N },
	/* timestamps */
	{ "timestamp sys-uptime first", IE_flowStartSysUpTime, N },
	{ "timestamp sys-uptime last", IE_flowEndSysUpTime, N },
	{ "timestamp absolute first", IE_flowStartMilliseconds, N },
	{ "timestamp absolute last", IE_flowEndMilliseconds, N },
};

const size_t conf_field_count = sizeof(conf_field_table) / sizeof(conf_field_table[0]);
