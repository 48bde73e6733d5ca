/* fnf_mon.h — Flexible NetFlow in a running ipflowd: the configuration's
 * flow monitors, each with its own flexible cache (cache/fnf.h) built
 * from its record, its own entries, timeouts and cache type, and its own
 * flow exporters, fed with the packets of the interfaces it is applied to.
 *
 *   struct fnf_mon *fm = fnf_mon_new(rt);
 *   struct rt_hooks h;
 *   fnf_mon_hooks(fm, &h);
 *   rt_add_hooks(rt, &h);           // before rt_start
 *   ... rt_start / rt_run / rt_finish / rt_free(rt) ...
 *   fnf_mon_free(fm);                // after rt_free
 *
 * Attachments: `ip flow monitor M [sampler S] input|output` meters the
 * interface's IPv4 packets in that direction, `ipv6 flow monitor` its IPv6
 * packets, `ip flow monitor M layer2-switched input` its IPv4 packets (a
 * host does not tell switched from routed; the same monitor attached both
 * ways counts a packet once). Several monitors side by side on one
 * interface each see every packet of their kind. A pcap-file interface is
 * its ifindex, ingress. Only monitors applied to an interface get a cache.
 *
 * Exporters: one stream per `flow exporter` (its own transport, sequence
 * numbers, observation domain / source id = a hash of its name), shared
 * by every monitor using it, each monitor's record its own template
 * (netflow-v9 or ipfix); netflow-v5 carries the traditional records only
 * (refused at configuration time otherwise). An exporter without a
 * destination exports nothing: its records are counted as not sent.
 * `template data timeout` and `option exporter-stats [timeout]` apply; the
 * interface/sampler/application option tables, dscp and ttl are parsed
 * but not applied (logged once).
 *
 * Sampling — MERGE POINT (sampler): `ip flow monitor M sampler S` takes
 * its per-packet decision in fnf_sample() (fnf_mon.c), which samples
 * every packet until the sampler module (src/meter/sampler.[ch]) is
 * connected there; the monitor's `flow sampler` field reports S's
 * position in the configuration (1-based) as samplerId.
 *
 * Reload: a monitor whose record, entries and type are unchanged keeps
 * its cache and flows (new timeouts apply from the next sweep); an
 * exporter whose settings and monitors are unchanged keeps its stream. A
 * monitor that changes or goes exports its flows first (reason forced
 * end) to its old exporters; an exporter that changes sends its open
 * message, and a new one continues on the same transport when the
 * destination is the same. Everything is prepared (caches allocated,
 * transports opened) before anything changes; a failure leaves the
 * running monitors untouched. Not thread-safe. */
#ifndef IPFLOW_FNF_MON_H
#define IPFLOW_FNF_MON_H

#include "conf/apply.h"

struct fnf_mon;

struct fnf_mon *fnf_mon_new(struct rt *rt);
void fnf_mon_free(struct fnf_mon *fm); /* NULL is a no-op; after rt_free */

/* The hooks connecting it to rt (apply, commit, show, finish). */
void fnf_mon_hooks(struct fnf_mon *fm, struct rt_hooks *h);

/* --- for tests and the benchmark ------------------------------------------ */

struct fnf_cache;
/* The cache of running monitor `name`, or NULL (not applied anywhere). */
struct fnf_cache *fnf_mon_cache(struct fnf_mon *fm, const char *name);
/* Records the monitor's exporters could not take (no destination,
 * refused by the format, no room): nothing else is lost on the way. */
uint64_t fnf_mon_lost(struct fnf_mon *fm, const char *name);

#endif
