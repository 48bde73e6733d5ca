/* apply.h — the configuration model (conf.h) made into a running
 * pipeline, and changed in place on reload.
 *
 *   struct rt *rt = rt_new();
 *   rt_start(rt, conf, err, sizeof(err));   // cache, exporters, flow log, captures, control socket
 *   rt_run(rt, &stop, err, sizeof(err));    // until the input ends or stop
 *   rt_finish(rt, stats ? stdout : NULL);   // export what the cache holds
 *   rt_free(rt);
 *
 * Reload (SIGHUP, `ipflow reload`): the caller parses the file again and
 * hands the new model to rt_reload(), which diffs it against the running
 * one and applies the difference without losing a flow in the cache or a
 * message in flight: timeouts are changed in the running cache (its
 * flows stay), a removed destination sends its open message and drains
 * its queue before it closes, an added one gets templates first, a
 * changed version or template setting flushes each destination's open
 * message and continues on the same transport with a new exporter, live
 * captures are opened before old ones close. Everything that can fail
 * (opening transports, captures, the flow log; exporter settings) is
 * done first; any failure undoes it and leaves the running configuration
 * untouched. Settings that need a restart (cache entries and type, the
 * control socket, user, pid file, replay input) are reported as notes.
 *
 * The aggregation caches, Flexible NetFlow monitors and SCTP settings are
 * parsed into the model; their behaviour belongs to other modules, which
 * connect as layers (struct rt_hooks) and through apply_sctp_settings(). */
#ifndef IPFLOW_APPLY_H
#define IPFLOW_APPLY_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "conf/conf.h"
#include "export/exporter.h"
#include "meter/meter.h"
#include "transport/transport.h"

struct rt;

/* A layer beside the main cache (Flexible NetFlow monitors, aggregation
 * caches, routing attributes, packet sections...): rt_add_hooks() adds
 * up to RT_LAYERS_MAX of them, called in the order added. Each member
 * may be NULL; for the show hooks the first layer that has one answers. */
#define RT_LAYERS_MAX 8
struct rt_hooks {
	/* start and reload: old is NULL at start. 0, or -1 with err (the
	 * reload is then refused). At start a 0 means the layer runs c; on
	 * reload it only prepares: commit() follows. */
	int (*apply)(void *arg, const struct conf *old, const struct conf *cur, char *err, size_t errlen);
	/* reload, after apply returned 0: ok, the new configuration runs now
	 * (switch to what apply prepared); !ok, a later step failed and the
	 * old one keeps running (drop it). Never fails. */
	void (*commit)(void *arg, bool ok);
	/* `show ip cache flow aggregation SCHEME` for a configured scheme */
	void (*show_agg)(void *arg, FILE *out, const struct conf_agg *a, bool json);
	/* `show flow monitor NAME cache` */
	void (*show_monitor_cache)(void *arg, FILE *out, const struct conf_monitor *m, bool json);
	/* `show flow monitor NAME` (without cache) */
	void (*show_monitor)(void *arg, FILE *out, const struct conf_monitor *m, bool json);
	/* `show flow exporter NAME` */
	void (*show_exporter)(void *arg, FILE *out, const struct conf_exporter *x, bool json);
	/* rt_finish, after the main cache's report: this layer's --stats lines
	 * (stats may be NULL: nothing to print) */
	void (*finish)(void *arg, FILE *stats);
	/* every record that leaves the main cache, after the annotate hooks
	 * and before the flow log and the main cache's export (now: the
	 * cache clock). Aggregation caches are fed here. */
	void (*record)(void *arg, const struct flowrec *r, uint64_t now);
	/* change a main-cache record before anyone sees it (routing
	 * attributes: AS numbers, masks, next hops, output interface) */
	void (*annotate)(void *arg, struct flowrec *r);
	/* the same for a record still in the cache that a show command
	 * prints (`show ip cache verbose flow`): counts nothing */
	void (*annotate_show)(void *arg, struct flowrec *r);
	/* rt_finish, after the main cache was flushed into the record hooks
	 * and before any finish hook: flush this layer's caches and drain
	 * its exporters (now: the cache clock) */
	void (*flush)(void *arg, uint64_t now);
	/* routing attributes: `show ip route summary` (addr NULL: the route
	 * table), `show ip route ADDRESS` (the route an address matches) */
	int (*show_route)(void *arg, FILE *out, const char *addr, bool json);
	void *arg;
};

/* Re-read the configuration (file and flags) for `ipflow reload`: the
 * caller's function builds a model and calls rt_reload. 0 or -1 (the
 * messages already printed to out). */
typedef int (*rt_reload_fn)(void *arg, FILE *out);

struct rt *rt_new(void);
void rt_free(struct rt *rt); /* closes everything; NULL is a no-op */

/* Add a layer (before rt_start); 0, or -1 when RT_LAYERS_MAX are in. */
int rt_add_hooks(struct rt *rt, const struct rt_hooks *h);
void rt_set_reload(struct rt *rt, rt_reload_fn fn, void *arg);

/* Build the pipeline from c (rt takes c, also on failure). 0, or -1 with
 * err. The control socket is opened here (see conf_host). */
int rt_start(struct rt *rt, struct conf *c, char *err, size_t errlen);

/* Apply c in place of the running model (rt takes c). 0 (c runs now),
 * or -1 with err (the old configuration keeps running; c is freed). c
 * NULL: the new configuration did not parse (counted as refused).
 * Notes about what needs a restart go to the log. */
int rt_reload(struct rt *rt, struct conf *c, char *err, size_t errlen);

int rt_run(struct rt *rt, volatile sig_atomic_t *stop, char *err, size_t errlen);

/* Export what the cache holds and drain the exporters; with stats, print
 * the --stats report to it. */
void rt_finish(struct rt *rt, FILE *stats);

struct meter *rt_meter(struct rt *rt);
const struct conf *rt_conf(const struct rt *rt);
/* The control socket in use, or NULL. */
const char *rt_control_path(const struct rt *rt);
uint64_t rt_reloads(const struct rt *rt, uint64_t *failed);

/* --- the mapping from model to modules (also for tests) ------------------ */

/* Exporter settings of a cache's export: the version's defaults, then
 * what the configuration sets. */
void apply_exporter_cfg(const struct conf_export *e, bool agg, struct exporter_cfg *cfg);

/* "udp:HOST:PORT" / "tcp:..." / "sctp:..." (IPv6 literals in brackets). */
int apply_dest_spec(const struct conf_dest *d, char *spec, size_t len);
/* The transport spec of a `flow exporter`'s destination, "" if it has none. */
void apply_exporter_spec(const struct conf_exporter *x, char *spec, size_t len);
/* The ifIndex an interface's flows are metered under: its `ipflow
 * ifindex` (1 by default) for a pcap interface, the kernel's for a live
 * one (0 if the device does not exist). */
uint32_t apply_iface_index(const struct conf *c, const struct conf_iface *f);
/* Some interface replays a pcap file (exporters may then wait for a
 * queue: a replay can, live traffic cannot). */
bool apply_file_mode(const struct conf *c);
/* Monitor name is applied to at least one interface. */
bool apply_monitor_applied(const struct conf *c, const char *name);
/* FNV-1a of a name: the observation domain of a `flow exporter`'s stream. */
uint32_t apply_name_hash(const char *s);
/* Two `flow exporter`s with the same settings (the description aside). */
bool apply_same_exporter(const struct conf_exporter *a, const struct conf_exporter *b);

/* The destination-manager settings of d (spec: its transport spec): the
 * SCTP sub-mode (reliability, backup destination/mode/fail-over/
 * restore-time) into so, then what ipflowd's --sctp-* flags set for spec
 * (dest_extra_apply); o->dest points at so. */
struct sctp_dest_opts;
void apply_sctp_settings(const struct conf_dest *d, const char *spec, struct sctp_dest_opts *so,
                         struct transport_opts *o);

/* Check what can be checked without opening anything: interfaces that do
 * not exist on this host, pcap files that cannot be read. Warnings to
 * out; returns their number (ipflowd -t). */
unsigned apply_check_host(const struct conf *c, FILE *out);

#endif
