/* export_set.h — the export destinations of one cache: each an exporter
 * (format, sequence numbers, templates) over its own transport, so two
 * destinations are two independent export streams, as on a router. The
 * set fans every expired record out to all of them, drives their timers
 * and prints their counters in the IOS layouts. */
#ifndef IPFLOW_EXPORT_SET_H
#define IPFLOW_EXPORT_SET_H

#include <stdbool.h>
#include <stdio.h>

#include "cache/flowrec.h"
#include "export/exporter.h"
#include "transport/dest.h"
#include "transport/transport.h"

#define EXPORT_SET_MAX 8

struct export_set;

/* cfg is the template for every destination (version, MTU, ...). */
struct export_set *export_set_new(const struct exporter_cfg *cfg, const char *cache_name);
void export_set_free(struct export_set *s); /* flushes nothing; NULL-safe */

/* Add a destination by transport spec (udp:HOST:PORT, file:PATH, ...).
 * A second destination with the same spec gets the IOS warning (logged);
 * more than EXPORT_SET_MAX is refused. 0, or -1 with err. */
int export_set_add(struct export_set *s, const char *spec, const struct transport_opts *o,
                   char *err, size_t errlen);
/* The same with SCTP/backup settings (d NULL: defaults). An sctp: spec,
 * or any spec with a backup, goes through the destination manager
 * (dest.h); the others straight to their transport. */
int export_set_add_dest(struct export_set *s, const char *spec, const struct transport_opts *o,
                        const struct sctp_dest_opts *d, char *err, size_t errlen);
size_t export_set_count(const struct export_set *s);
const char *export_set_spec(const struct export_set *s, size_t i);

/* The first packet time (sysUptime base) for every exporter. */
void export_set_start(struct export_set *s, uint64_t start_us);

void export_set_record(struct export_set *s, const struct flowrec *r, uint64_t now_us);
void export_set_tick(struct export_set *s, uint64_t now_us);
void export_set_flush(struct export_set *s, uint64_t now_us);

/* Sum of every destination's flows_failed + not_exportable + the flows of
 * messages its transport accepted and then lost (dropped_recs): what was
 * not delivered. */
uint64_t export_set_lost(const struct export_set *s);

/* --- reload (conf/apply.c): change the set without losing a message ---- */

/* Add a destination over a transport the caller opened (ownership passes
 * to the set, also on error). 0, or -1 with err. */
int export_set_add_open(struct export_set *s, const char *spec, struct transport *t, char *err, size_t errlen);

/* Remove destination i: its open message is sent now, and the transport
 * is kept until what it queued has gone (or EXPORT_DRAIN_MS passed),
 * polled by export_set_tick; its counters stay in the set's totals. */
void export_set_remove(struct export_set *s, size_t i, uint64_t now_us);

/* New exporter settings for every destination (version, templates, ...):
 * each destination's open message is sent under the old settings, then a
 * new exporter takes over its transport (fresh templates and sequence
 * numbers, as a router does after "ip flow-export version"). Nothing
 * changes if cfg is refused (-1 with err). */
int export_set_reconfigure(struct export_set *s, const struct exporter_cfg *cfg, uint64_t now_us, char *err,
                           size_t errlen);

const struct exporter_cfg *export_set_config(const struct export_set *s);
/* The spec of the destination sending through t, or NULL. */
const char *export_set_spec_of(const struct export_set *s, const struct transport *t);
/* Destinations removed but still draining. */
size_t export_set_retiring(const struct export_set *s);
/* How long a removed destination, or at export_set_flush any queued one,
 * may take to deliver what it holds (default 10 s; wall clock). */
void export_set_set_drain(struct export_set *s, int ms);

/* "show ip flow export" and "show ip flow export template". */
void export_set_show(const struct export_set *s, FILE *out, bool json);
/* "show ip flow export sctp [verbose]": the SCTP destinations and their
 * backups in the IOS layout. */
void export_set_show_sctp(const struct export_set *s, FILE *out, bool verbose, bool json);
void export_set_show_template(const struct export_set *s, FILE *out, bool json);
void export_set_clear(struct export_set *s);

#endif
