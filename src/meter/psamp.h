/* psamp.h — IPFIX packet-section export (PSAMP, RFC 5476/5477): a flow
 * monitor whose record is `datalinksectiondump` exports each sampled
 * packet as one IPFIX record holding its first bytes
 * (dataLinkFrameSection, IE 315).
 *
 *   struct psamp *ps = psamp_new(rt);
 *   struct rt_hooks h;
 *   psamp_hooks(ps, &h, &fnf_hooks);   // show commands of other monitors go to fnf_hooks
 *   rt_add_hooks(rt, &h);              // before rt_start, before the FNF layer
 *   ... rt_start / rt_run / rt_finish / rt_free(rt) ...
 *   psamp_free(ps);                    // after rt_free
 *
 * Section size (psamp_section_len, the NCS 5000 rule): the frame from
 * its first byte (the Ethernet header) to the end of the transport
 * header; 160 bytes when no transport header ends within the first 160
 * bytes (none at all: not IP, a later fragment, ESP, an unknown tunnel);
 * the whole captured frame when it is shorter than that. Tunnels are
 * followed to the innermost packet: GRE version 0 (IPv4, IPv6 or
 * Ethernet inside, RFC 2784/2890 checksum, key and sequence fields) and
 * IP-in-IP (IPv4/IPv6 in IPv4/IPv6), at most PSAMP_MAX_NEST deep; the
 * transport header is the innermost packet's. Everything else (VLAN,
 * QinQ, MPLS, IPv4 options, IPv6 extension headers) is the decoder's
 * (decode/packet.h).
 *
 * Attachments: `ip flow monitor M [sampler S] input|output` takes the
 * interface's IPv4 frames in that direction (those the decoder takes as
 * IPv4: PKT_OK, af 4), `ipv6 flow monitor` its IPv6 frames, `...
 * layer2-switched` every frame (IP or not, decoded or not); the sampler
 * (1 out of N, N <= 32000; deterministic or random) picks the packets,
 * without one every packet is taken. Each attachment has its own sampler
 * state. A pcap-file interface is its ifindex, ingress.
 *
 * Record (IPFIX only: v9 and v5 have no variable-length field, refused
 * at configuration time): observationTimeMicroseconds (324),
 * ingressInterface (10), egressInterface (14; the one not metered is 0),
 * samplingInterval (34, N), samplingAlgorithm (35, 1 deterministic /
 * 2 random, 0 unsampled with N 1), dataLinkFrameSize (312, the frame's
 * length on the wire, saturating at 65535), dataLinkFrameSection (315,
 * variable length). The cache is immediate: `cache type immediate` or
 * no cache type; normal and permanent are refused.
 *
 * Exporters: each `flow exporter` a packet-section monitor uses gets a
 * stream of its own (transport, IPFIX sequence numbers, observation
 * domain = the FNF layer's id for that exporter + 1), so it never mixes
 * with the FNF layer's stream of the same exporter. Nothing is dropped
 * silently: frames seen, sampled, exported, and records lost (no
 * destination, no room in the exporter) are counted, shown by
 * `show flow monitor NAME [cache]` and --stats.
 *
 * Reload: the packet-section state is rebuilt (new transports opened
 * first, a failure keeps the running one); an exporter whose settings are
 * unchanged goes on as it is (transport, sequence numbers, template), so
 * a collector sees one stream; changed or unused ones send their open
 * message and close at commit. Monitors keep their counters by name;
 * samplers start a new window. Not thread-safe. */
#ifndef IPFLOW_PSAMP_H
#define IPFLOW_PSAMP_H

#include <stddef.h>
#include <stdint.h>

#include "conf/apply.h"
#include "decode/packet.h"

#define PSAMP_SECTION_MAX 160 /* bytes when no transport header ends within them */
#define PSAMP_MAX_NEST 4      /* tunnels followed */
#define PSAMP_N_MAX 32000     /* coarsest sampler: 1 out of 32000 */

/* Offset just past the innermost transport header of the frame (may lie
 * beyond caplen when the snap length cut it), or 0 when it has none the
 * decoder can find. pi: the frame's decode if already made (PKT_OK),
 * else NULL (decoded here). Pure; reads the frame only through the
 * bounded reader and the decoder. */
size_t psamp_l4_end(const uint8_t *frame, size_t caplen, size_t wirelen, int linktype, const struct pkt_info *pi);

/* Length of the section to export, by the rule above: always
 * <= caplen and <= max(PSAMP_SECTION_MAX, transport end). */
size_t psamp_section_len(const uint8_t *frame, size_t caplen, size_t wirelen, int linktype,
                         const struct pkt_info *pi);

struct psamp;

struct psamp *psamp_new(struct rt *rt);
void psamp_free(struct psamp *ps); /* NULL is a no-op; after rt_free */

/* The hooks connecting it to rt. `show flow monitor` of a monitor that
 * is not a packet-section one, and `show flow exporter` of an exporter
 * no packet-section monitor uses, go to next's hooks (the FNF layer),
 * which must outlive ps; next may be NULL. */
void psamp_hooks(struct psamp *ps, struct rt_hooks *h, const struct rt_hooks *next);

/* Counters of running monitor `name` (tests); 0 if none. */
struct psamp_counts {
	uint64_t frames;    /* frames offered by its attachments */
	uint64_t sampled;   /* taken by the sampler */
	uint64_t exported;  /* records accepted by an exporter (per exporter) */
	uint64_t lost;      /* records an exporter could not take, with no destination, or (once
	                     * a record) with no exporter at all */
	uint64_t bytes;     /* section bytes of the sampled frames */
};
int psamp_counts(const struct psamp *ps, const char *name, struct psamp_counts *out);

#endif
