/* agg.h — the IOS aggregation caches (`ip flow-aggregation cache SCHEME`)
 * in a running ipflowd: one cache per enabled scheme, fed with every
 * record that leaves the main cache, each with its own entries, timeouts,
 * `mask source|destination minimum`, export version (8 by default, or 9)
 * and destinations.
 *
 *   struct agg *ag = agg_new(rt);
 *   struct rt_hooks h;
 *   agg_hooks(ag, &h);
 *   rt_add_hooks(rt, &h);          // before rt_start
 *   ... rt_start / rt_run / rt_finish / rt_free(rt) ...
 *   agg_free(ag);                  // after rt_free
 *
 * Keys (IPv4 main-cache records only; IPv6 records are counted as not
 * aggregated, as IOS aggregation caches are IPv4):
 *
 *   as                      source/destination AS, input/output interface
 *   as-tos                  as + ToS
 *   bgp-nexthop-tos         as-tos + BGP next hop (version 9 only: no v8 layout)
 *   destination-prefix      destination prefix and mask, destination AS, output interface
 *   destination-prefix-tos  destination-prefix + ToS
 *   prefix                  both prefixes and masks, both ASes, both interfaces
 *   prefix-tos              prefix + ToS
 *   prefix-port             both prefixes and masks, ToS, protocol, ports, both interfaces
 *   protocol-port           protocol, source and destination port
 *   protocol-port-tos       protocol-port + ToS, both interfaces
 *   source-prefix           source prefix and mask, source AS, input interface
 *   source-prefix-tos       source-prefix + ToS
 *
 * A prefix is the address masked by its mask, the mask being the larger
 * of the record's (sourceIPv4PrefixLength, from routing) and the cache's
 * `mask ... minimum`. Counters add up (packets, bytes, flows = main-cache
 * records aggregated); first/last are the earliest and latest packet.
 *
 * Expiry on the cache clock (records and meter ticks): inactive timeout
 * (no record aggregated into the entry for that long; IOS default 15 s),
 * active timeout (entry older than that; default 30 min), both in
 * deadline order, so a sweep costs what it expires. A record that finds
 * the cache full expires the longest-idle entry early (counted as cache
 * full) so nothing is lost. At the end (rt_finish) every entry is
 * exported (forced) and the exporters drain.
 *
 * Export: v8 with the scheme's record layout and packet limit (nf8.c), the
 * main cache's sampling interval in the header; or v9 with a template of
 * the scheme's fields (dFlows, counters, sysUptime times, the key). One
 * exporter per destination; engine type/id and source id as configured
 * (the source id is made distinct per scheme when not configured, so
 * several caches to one collector are separate v9 streams).
 *
 * Reload: a cache whose scheme and entries are unchanged keeps its entries
 * (new timeouts and masks apply from then on); one whose export settings
 * are unchanged keeps its exporters. A cache that goes, is disabled or
 * changes its entries exports its entries first through its old
 * exporters. Everything is prepared before anything changes. Not
 * thread-safe. */
#ifndef IPFLOW_AGG_H
#define IPFLOW_AGG_H

#include <stdint.h>

#include "conf/apply.h"

struct agg;

struct agg *agg_new(struct rt *rt); /* rt NULL: tests, see agg_tick */
void agg_free(struct agg *ag); /* NULL is a no-op; after rt_free */
void agg_hooks(struct agg *ag, struct rt_hooks *h);

/* --- for tests ---------------------------------------------------------- */

struct agg_counters {
	uint64_t flows_in;       /* main-cache records aggregated */
	uint64_t not_ipv4;       /* main-cache records not aggregated (IPv6) */
	uint64_t added;          /* entries created */
	uint64_t exported[6];    /* entries exported, by enum flow_end (idle, active, -, cache full, forced) */
	uint64_t lost;           /* records the exporters could not take */
	uint32_t in_use;         /* entries in the cache now */
};
/* Without a pipeline (rt NULL in agg_new): the hooks are called by hand,
 * and this is the meter's tick (expiry, exporter flush timers). */
void agg_tick(struct agg *ag, uint64_t now);
/* The counters of the running cache of a scheme; -1 if it does not run. */
int agg_counters(const struct agg *ag, enum conf_agg_scheme s, struct agg_counters *out);

#endif
