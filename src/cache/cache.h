/* cache.h — the flow cache: a hash table over a preallocated pool of
 * fixed-size entries, keyed by struct flow_key, with the IOS expiry rules.
 *
 * Expiry (exact, on the cache clock t, which the caller advances: packet
 * time for files, wall time live; it never goes backwards):
 *  - a record with first packet f and last packet l is exported once
 *    t >= l + inactive or t >= f + active; the reason is "active" if
 *    f + active < l + inactive, else "idle";
 *  - an active export leaves the flow in the cache with zeroed counters;
 *    its next packet starts the next record (delta counters);
 *  - a TCP packet with FIN or RST ends the record after it is counted;
 *  - emergency expiry: a new flow that would take the cache past 90 % of
 *    its entries first expires the oldest-idle flow (not a random one);
 *  - cache types: normal; permanent (no idle, FIN/RST or emergency
 *    expiry, a record every active timeout, new flows beyond the entries
 *    limit dropped and counted); immediate (one record per packet).
 *
 * Cost: a packet is one hash lookup and O(1) list moves; expiry walks two
 * lists ordered by deadline (last-seen order and record-start order), so
 * a sweep costs what it expires, not the cache size. No allocation after
 * cache_new(). Keys are hashed with a random seed (lib/hash.h). */
#ifndef IPFLOW_CACHE_H
#define IPFLOW_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/flowrec.h"
#include "decode/packet.h"

enum cache_type { CACHE_NORMAL = 0, CACHE_PERMANENT, CACHE_IMMEDIATE };

#define CACHE_ENTRIES_DEFAULT 65536u
#define CACHE_ENTRIES_MAX (1u << 26) /* 64 M */
#define CACHE_ACTIVE_DEFAULT_S (30u * 60u)
#define CACHE_INACTIVE_DEFAULT_S 15u

struct cache_cfg {
	uint32_t entries;    /* pool size, 1..CACHE_ENTRIES_MAX */
	uint32_t active_s;   /* active timeout, seconds (>= 1) */
	uint32_t inactive_s; /* inactive timeout, seconds (>= 1) */
	enum cache_type type;
};

/* IOS "IP packet size distribution" buckets: 1-32, 64, 96, ... 576, 1024,
 * 1536, ... 4608 (upper bounds, inclusive); larger packets count in the
 * last bucket. */
#define CACHE_SIZE_BUCKETS 26
extern const uint16_t cache_size_bucket_max[CACHE_SIZE_BUCKETS];

/* IOS protocol classes of "show ip cache flow". */
enum cache_pclass {
	PC_TCP_TELNET, PC_TCP_FTP, PC_TCP_FTPD, PC_TCP_WWW, PC_TCP_SMTP, PC_TCP_X,
	PC_TCP_BGP, PC_TCP_NNTP, PC_TCP_FRAG, PC_TCP_OTHER,
	PC_UDP_DNS, PC_UDP_NTP, PC_UDP_TFTP, PC_UDP_FRAG, PC_UDP_OTHER,
	PC_ICMP, PC_IGMP, PC_IPINIP, PC_IPV6INIP, PC_GRE, PC_IP_OTHER,
	PC_MAX
};
extern const char *const cache_pclass_name[PC_MAX];
enum cache_pclass cache_pclass_of(const struct flow_key *k);

struct cache_pstats {
	uint64_t flows;       /* records exported */
	uint64_t packets;
	uint64_t bytes;
	uint64_t active_us;   /* sum of (last - first) */
	uint64_t idle_us;     /* sum of (export time - last) */
};

struct cache_stats {
	uint64_t packets;                      /* packets metered */
	uint64_t bytes;                        /* IP bytes metered */
	uint64_t size_hist[CACHE_SIZE_BUCKETS];
	uint64_t flows_added;                  /* records opened */
	uint64_t records[FLOW_END_MAX];        /* records exported, by reason */
	uint64_t empty_reclaimed;              /* entries freed with no packets since an active export */
	uint64_t flows_dropped_full;           /* new flows refused: cache full (permanent cache) */
	uint64_t packets_dropped_full;         /* their packets */
	uint64_t bytes_dropped_full;
	uint64_t ager_polls;                   /* expiry sweeps that expired something */
	uint64_t clock_backsteps;              /* packets older than the clock (clamped) */
	uint64_t cleared_us;                   /* cache time of the last clear (or first packet) */
	uint64_t now_us;                       /* cache clock */
	uint32_t in_use;                       /* entries in use now */
	uint32_t high_water;                   /* most entries ever in use */
	struct cache_pstats proto[PC_MAX];
};

typedef void (*cache_emit_fn)(void *arg, const struct flowrec *r);

struct cache;

/* A cache of cfg->entries entries; each exported record is passed to
 * emit(arg, rec) (the record is only valid during the call). Returns NULL
 * (errno set) on bad config or no memory. */
struct cache *cache_new(const struct cache_cfg *cfg, cache_emit_fn emit, void *arg);
void cache_free(struct cache *c); /* NULL is a no-op; does not flush */

/* Meter one decoded packet seen at t_us on interface ifindex, direction
 * dir (0 ingress, 1 egress). Expires what is due at t_us first. */
void cache_packet(struct cache *c, const struct pkt_info *pi, uint32_t ifindex,
                  uint8_t dir, uint64_t t_us);

/* One packet of a batch for cache_packets(). */
struct cache_pkt {
	struct pkt_info pi;
	uint64_t t_us;
	uint32_t ifindex;
	uint8_t dir;
};

/* Meter n packets in order, exactly as n calls of cache_packet() would;
 * faster, because the hash buckets and entries of the whole batch are
 * prefetched before the first is counted (memory latency, not work, is
 * the cost of a large cache). n <= CACHE_BATCH_MAX. */
#define CACHE_BATCH_MAX 32
void cache_packets(struct cache *c, const struct cache_pkt *v, size_t n);

/* Advance the clock to now_us and export every record due. */
void cache_expire(struct cache *c, uint64_t now_us);

/* Export every open record with reason `why` and empty the cache. */
void cache_flush(struct cache *c, enum flow_end why);

/* The earliest deadline of any record, or UINT64_MAX. */
uint64_t cache_next_deadline(const struct cache *c);

/* Change timeouts while running (reload); existing records are judged by
 * the new values from the next sweep on. */
void cache_set_timeouts(struct cache *c, uint32_t active_s, uint32_t inactive_s);

const struct cache_cfg *cache_config(const struct cache *c);
const struct cache_stats *cache_stats(const struct cache *c);
void cache_stats_clear(struct cache *c);

/* Memory held by the pool and the hash table, in bytes. */
size_t cache_memory(const struct cache *c);

/* Call fn for each open record (packets > 0), in no particular order.
 * The record has end = FLOW_END_MAX (still open). */
void cache_foreach(const struct cache *c, void (*fn)(void *arg, const struct flowrec *r), void *arg);

#endif
