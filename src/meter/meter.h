/* meter.h — the metering pipeline of ipflowd: capture sources → decoder →
 * flow cache → record sinks (flow log, exporters). It owns the sources and
 * the cache, drives the clock (packet time for files, wall time live or
 * when a file is paced with a speed) and the periodic ticks exporters
 * need. Single-threaded. */
#ifndef IPFLOW_METER_H
#define IPFLOW_METER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/cache.h"
#include "capture/capture.h"
#include "decode/packet.h"
#include "meter/sampler.h"

typedef void (*meter_sink_fn)(void *arg, const struct flowrec *r);
/* Called at least every 100 ms of cache time, and once more at the end. */
typedef void (*meter_tick_fn)(void *arg, uint64_t now_us);

struct meter;

struct meter *meter_new(const struct cache_cfg *cc, char *err, size_t errlen);
void meter_free(struct meter *m); /* closes sources; NULL is a no-op */

int meter_add_sink(struct meter *m, meter_sink_fn fn, void *arg);
int meter_add_tick(struct meter *m, meter_tick_fn fn, void *arg);
/* Watch fd for input and call fn(arg) when readable: in the live poll
 * loop, and between batches of a file replay (control socket, timers). */
int meter_add_fd(struct meter *m, int fd, void (*fn)(void *arg), void *arg);

/* A consumer of the decoded packets besides the main cache (the Flexible
 * NetFlow monitors): packets() gets every decoded packet of every
 * capture, in batches of one capture, in capture order, after the main
 * cache has metered them; flush() is called by meter_flush after the main
 * cache's flush (end of input, shutdown). Time moves through the ticks. */
struct meter_tap {
	void (*packets)(void *arg, const struct cache_pkt *v, size_t n);
	void (*flush)(void *arg, uint64_t now_us);
	void *arg;
};
int meter_add_tap(struct meter *m, const struct meter_tap *t);

/* A consumer of the raw frames (packet sections, meter/psamp.h): fn gets
 * every captured frame as it is read, before it is batched for the
 * caches, with its decode (pi NULL when the frame did not decode: not
 * IP, malformed). p's bytes are valid during the call only. Without
 * frame taps the per-frame cost is one test. */
typedef void (*meter_frame_fn)(void *arg, const struct cap_pkt *p, const struct pkt_info *pi);
int meter_add_frame_tap(struct meter *m, meter_frame_fn fn, void *arg);

/* The meter takes ownership of src. Live captures may be added and
 * removed while meter_run runs (reload): the poll set follows. The main
 * cache meters a capture's packets unless meter_set_main(m, src, false)
 * (an interface with `ip flow monitor` but no `ip flow ingress|egress`);
 * its clock follows every capture either way. */
int meter_add_capture(struct meter *m, struct capture *src);
void meter_set_main(struct meter *m, const struct capture *src, bool on);
bool meter_main(const struct meter *m, const struct capture *src);
/* Main-cache sampling (`flow-sampler` on the interface): every decoded
 * packet of capture src is offered to a 1-out-of-n sampler of the given
 * mode, and only the sampled ones reach the main cache; the taps (FNF
 * monitors, with their own samplers) still see every packet. n <= 1
 * meters every packet. A change of mode or n restarts the sampler (a
 * reload); the counters below carry on. id is the sampler's number in
 * the exports (0 when unsampled). The seed makes random runs repeatable
 * (0: one from the clock). */
void meter_set_sampling(struct meter *m, const struct capture *src, enum sampler_mode mode, uint32_t n,
                        uint32_t id, uint64_t seed);

/* Main-cache sampling counters since start (or meter_sampling_clear),
 * summed over every capture, removed ones included: packets offered to a
 * sampler and packets it took; offered - sampled were not metered. */
struct meter_sampling {
	uint64_t offered, sampled;
	uint32_t rate;      /* 1 out of rate of the first sampled capture; 1 if none */
	uint8_t mode;       /* its enum sampler_mode */
	uint32_t id;        /* its sampler id */
};
void meter_sampling(const struct meter *m, struct meter_sampling *out);
void meter_sampling_clear(struct meter *m);

/* Take capture i out (the caller closes it); its flows stay in the cache. */
struct capture *meter_remove_capture(struct meter *m, size_t i);

/* Replay files at speed times their own pace on the wall clock (0: as fast
 * as possible, on packet time). */
void meter_set_speed(struct meter *m, double speed);

/* Run until every file source is exhausted (files) or *stop becomes
 * non-zero (live). Then exports every record left in the cache (reason
 * shutdown) unless keep_cache. Returns 0, or -1 with err set. */
int meter_run(struct meter *m, volatile sig_atomic_t *stop, bool keep_cache, char *err, size_t errlen);

/* Flush every record left in the cache with reason shutdown. */
void meter_flush(struct meter *m);

struct cache *meter_cache(struct meter *m);
const struct pkt_stats *meter_pkt_stats(const struct meter *m);
size_t meter_ncaptures(const struct meter *m);
struct capture *meter_capture(struct meter *m, size_t i);
/* Name of the source metered under ifindex, or NULL. */
const char *meter_ifname(void *m, uint32_t ifindex);

#endif
