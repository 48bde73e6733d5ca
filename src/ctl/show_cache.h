/* show_cache.h — "show ip cache flow" in the IOS layout, from the cache's
 * own counters. */
#ifndef IPFLOW_SHOW_CACHE_H
#define IPFLOW_SHOW_CACHE_H

#include <stdbool.h>
#include <stdio.h>

#include "cache/cache.h"

/* Interface name for an ifIndex (for SrcIf/DstIf); may return NULL. */
typedef const char *(*show_ifname_fn)(void *arg, uint32_t ifindex);

/* Print the packet size distribution, cache summary, protocol table and
 * the active-flow list (at most max_flows, largest packet count first;
 * 0 = all). */
void show_ip_cache_flow(FILE *out, const struct cache *c, show_ifname_fn ifname, void *arg,
                        unsigned max_flows);

/* Just the protocol table (Protocol, Total Flows, Flows/Sec, ...). */
void show_protocol_table(FILE *out, const struct cache *c);

/* The same as one JSON object: sizes, cache, protocols[], flows[]. */
void show_ip_cache_flow_json(FILE *out, const struct cache *c, unsigned max_flows);

/* "show ip cache verbose flow": two lines per flow with ToS, flags, ports,
 * masks, AS, next hop, bytes/packet and active time. annot (may be NULL)
 * fills each record's routing attributes first, as export will: a
 * cached record has none yet. */
typedef void (*show_annotate_fn)(void *arg, struct flowrec *r);
void show_ip_cache_verbose_flow(FILE *out, const struct cache *c, show_ifname_fn ifname, void *arg,
                                unsigned max_flows, show_annotate_fn annot, void *aarg);

/* Main-cache sampling as "show ip cache flow" reports it (NULL or rate
 * 1 with nothing offered: not shown). */
struct show_sampling {
	uint32_t rate;      /* 1 out of rate */
	bool random;
	uint32_t id;        /* sampler id in the exports */
	uint64_t offered;   /* packets offered to a main-cache sampler */
	uint64_t sampled;   /* and metered; offered - sampled were not */
};

/* show_ip_cache_flow / _json with the sampling lines (text: after the
 * cache summary; JSON: a "sampling" object). */
void show_ip_cache_flow_samp(FILE *out, const struct cache *c, show_ifname_fn ifname, void *arg,
                             unsigned max_flows, const struct show_sampling *s);
void show_ip_cache_flow_json_samp(FILE *out, const struct cache *c, unsigned max_flows,
                                  const struct show_sampling *s);

#endif
