/* pcapread.h — export messages from a capture file (ipflow-collect -r):
 * offline troubleshooting of what a device sent, with the same decoding
 * and outputs as live collection.
 *
 * Every frame of a pcap/pcapng file (read through capture.h) is decoded
 * to its UDP payload (decode/packet.h: Ethernet, VLAN, MPLS, SLL, raw IP,
 * IPv4/IPv6). A datagram is an export message when its destination port
 * is one of ports[] or, with no ports given, when its first two bytes are
 * an export version (1, 5, 7, 8, 9, 10). The exporter is the IP source;
 * the message time (recv_us, and the collector's clock) is the frame's
 * capture time. Frames that are not UDP, IP fragments (not reassembled),
 * UDP cut short by the snap length, and datagrams on other ports are
 * counted, never decoded.
 *
 * A file that starts with an IPFIX message header instead is read as an
 * IPFIX File (RFC 5655: messages back to back); its exporter is 0.0.0.0
 * and the message time its export time. */
#ifndef IPFLOW_PCAPREAD_H
#define IPFLOW_PCAPREAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "collect/listener.h"

struct pcapread_stats {
	uint64_t frames;      /* frames read */
	uint64_t messages;    /* export messages delivered */
	uint64_t not_udp;     /* not IP, not UDP, or not decodable (decode/packet.h reasons) */
	uint64_t fragments;   /* IP fragments: not reassembled, not decoded */
	uint64_t truncated;   /* UDP datagram cut by the snap length or shorter than its header */
	uint64_t other_port;  /* UDP on a port not asked for, or not an export version */
};

/* Called for every message in file order (m->recv_us: the frame time). */
struct pcapread_cb {
	void (*msg)(void *arg, const struct lsn_msg *m);
	void *arg;
};

/* Read the whole file. 0, or -1 with err (the file could not be opened
 * or read; messages before the error were delivered). */
int pcapread_run(const char *path, const uint16_t *ports, size_t nports, const struct pcapread_cb *cb,
                 struct pcapread_stats *st, char *err, size_t errlen);

void pcapread_show(const char *path, const struct pcapread_stats *st, FILE *out);

#endif
