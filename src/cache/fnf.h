/* fnf.h — the flexible flow cache of a Flexible NetFlow monitor: key and
 * collected fields come from a flow record definition instead of the
 * traditional seven-tuple.
 *
 * A definition (struct fnf_def) lists the record's fields in export
 * order, the match (key) fields first. Each field names an IPFIX IE, its
 * encoded length, the packet value it carries (enum fnf_src) and, for a
 * collect field, how packets combine (enum fnf_op: sum, min, max, first,
 * last, OR). The key fields are packed, in wire form, into a fixed-size
 * key of def->key_len bytes; hashing (seeded, lib/hash.h) and comparison
 * work on those bytes. Collect fields are 8-byte accumulators (or the
 * first packet's bytes, for addresses and MACs); the record's packet and
 * byte counters and first/last times are kept in every entry.
 *
 * Packet values (what each fnf_src reads from a decoded packet):
 *  - "input" datalink values (MACs, VLAN) and "interface input" are the
 *    frame's own on an input (ingress) capture and 0 on an output one;
 *    the "output" ones the other way round: a capture sees one side;
 *  - IPv4 fields are 0 for IPv6 packets and IPv6 fields 0 for IPv4;
 *  - the transport-specific ports (tcp/udp) are 0 for other protocols,
 *    ICMP type/code 0 unless ICMP (v4) / ICMPv6 (v6), IGMP type unless IGMP;
 *  - fragmentFlags is RFC 7012's: DF 0x40, MF 0x20; fragmentOffset is the
 *    header's field (8-octet units); isMulticast is RFC 7012's: 0x80 for
 *    an IPv4 multicast destination, 0x1f for an IPv6 one;
 *  - forwardingStatus (RFC 7270): 0x40 "forwarded" on an output capture,
 *    0 "unknown" on an input one (a passive meter cannot know);
 *  - routing values (masks, prefixes, next hops, AS numbers) are 0: no
 *    routing table feeds this cache yet (FNF_S_ZERO);
 *  - with FNF_D_BUCKET_TTL / FNF_D_BUCKET_LEN, the ttl/hop-limit and
 *    total-length fields report the bucket of the Catalyst tables
 *    (fnf_bucket_ttl/len) instead of the exact value; minimum and maximum
 *    stay exact.
 *
 * Expiry: the IOS rules of the main cache (cache.h, one statement of each
 * in expiry.h), on the cache clock the caller advances: inactive and
 * active timeouts with delta counters, emergency expiry past 90 % full,
 * and the cache types normal, permanent (no idle or emergency expiry, a
 * record every active period, new flows beyond the entries dropped and
 * counted) and immediate (a record per packet). TCP FIN/RST ends a record
 * only when the key holds both transport ports (FNF_D_TCP_END, set by
 * fnf_def_finish): then a record is one connection; a record aggregating
 * many connections is not ended by one of them closing.
 *
 * Cost: fnf_new() compiles the definition once: each field becomes a
 * guarded load of a packet member (or, for the few values that need
 * more, the generic per-source extractor), and when every key field is
 * a plain member (most records) the key is gathered as a few masked
 * 8-byte words of the packet, put in wire form only when a record is
 * emitted. A packet is then a key of a few loads, one hash of the key
 * words, one lookup, one pass over the per-packet collect fields and,
 * unless a record is due (one comparison), no look at the expiry lists;
 * batches prefetch like the main cache. fnf_set_generic() selects the
 * reference path for tests (the same records). Memory: (entries + 1)
 * entries of fnf_entry_size() bytes plus a power-of-two bucket array,
 * mapped at fnf_new() (on huge pages from 1 MiB on), and for the normal
 * cache 16 bytes per entry where the idle expiry sorts (reserved, used
 * as needed); nothing is allocated per packet. fnf_memory() counts it
 * all. Not thread-safe. */
#ifndef IPFLOW_FNF_H
#define IPFLOW_FNF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/cache.h"
#include "cache/genrec.h"

#define FNF_FIELDS_MAX 48
#define FNF_KEY_MAX 512 /* packed key bytes */

/* The packet value a field carries. */
enum fnf_src {
	FNF_S_ZERO = 0,      /* always 0 (routing values: no routing table yet) */
	/* bytes */
	FNF_S_SRC4, FNF_S_DST4, FNF_S_SRC6, FNF_S_DST6,
	FNF_S_MAC_SRC_IN, FNF_S_MAC_SRC_OUT, FNF_S_MAC_DST_IN, FNF_S_MAC_DST_OUT,
	/* numbers */
	FNF_S_VLAN_IN, FNF_S_VLAN_OUT, FNF_S_PCP,
	FNF_S_TOS, FNF_S_DSCP, FNF_S_PREC, FNF_S_PROTO,
	FNF_S_FRAG_FLAGS, FNF_S_FRAG_OFF, FNF_S_MCAST,
	FNF_S_IPLEN,         /* IP total length (bucketed with FNF_D_BUCKET_LEN) */
	FNF_S_IPLEN_EXACT,   /* IP total length, never bucketed (minimum/maximum) */
	FNF_S_PAYLEN6,       /* IPv6 payload length */
	FNF_S_TTL,           /* TTL / hop limit (bucketed with FNF_D_BUCKET_TTL) */
	FNF_S_TTL_EXACT,     /* never bucketed (minimum/maximum) */
	FNF_S_VERSION, FNF_S_FLOW_LABEL, FNF_S_NEXT_HDR, FNF_S_FWD_STATUS,
	FNF_S_SPORT, FNF_S_DPORT, FNF_S_TCP_SPORT, FNF_S_TCP_DPORT, FNF_S_TCP_FLAGS,
	FNF_S_UDP_SPORT, FNF_S_UDP_DPORT,
	FNF_S_ICMP4_TYPE, FNF_S_ICMP4_CODE, FNF_S_ICMP6_TYPE, FNF_S_ICMP6_CODE, FNF_S_IGMP_TYPE,
	FNF_S_IF_IN, FNF_S_IF_OUT, FNF_S_DIR, FNF_S_SAMPLER,
	/* the record's own counters and times (collect only) */
	FNF_S_PACKETS, FNF_S_BYTES, FNF_S_FLOWS, FNF_S_FIRST, FNF_S_LAST,
	FNF_S_MAX_
};

/* How a collect field combines the packets of a record. */
enum fnf_op { FNF_KEY = 0, FNF_SUM, FNF_MIN, FNF_MAX, FNF_FIRST, FNF_LAST, FNF_OR, FNF_OP_MAX_ };

/* Definition flags. */
enum {
	FNF_D_BUCKET_TTL = 1, /* report TTL / hop limit by the Catalyst TTL map */
	FNF_D_BUCKET_LEN = 2, /* report total length by the Catalyst packet length map */
	FNF_D_TCP_END = 4,    /* set by fnf_def_finish: the key holds both ports */
};

struct fnf_field {
	uint16_t ie;   /* IPFIX IE */
	uint16_t len;  /* encoded length */
	uint8_t src;   /* enum fnf_src */
	uint8_t op;    /* enum fnf_op; FNF_KEY for match fields */
	uint16_t off;  /* key: offset in the key; collect: offset in the accumulators */
};

struct fnf_def {
	uint16_t n, nkey;          /* fields; the first nkey are the match fields */
	uint16_t key_len;          /* packed key bytes */
	uint16_t acc_len;          /* accumulator bytes (multiple of 8) */
	unsigned flags;            /* FNF_D_* */
	struct fnf_field f[FNF_FIELDS_MAX];
	struct genrec_layout lay;  /* export layout, filled by fnf_def_finish */
};

/* Start an empty definition with FNF_D_BUCKET_* flags. */
void fnf_def_init(struct fnf_def *d, unsigned flags);

/* Append a field. ERR_FULL past FNF_FIELDS_MAX or FNF_KEY_MAX key bytes;
 * ERR_ARG if a key follows a collect field, if len is 0 or more than 8
 * for a number (bytes sources: 1..the address size), if a record source
 * (counters, times) is a key, if a bytes source (address, MAC) is
 * collected other than FNF_FIRST, or src/op is out of range. */
int fnf_def_add(struct fnf_def *d, uint16_t ie, uint16_t len, enum fnf_src src, enum fnf_op op);

/* Compute offsets, the export layout and FNF_D_TCP_END. ERR_ARG if the
 * definition has no key field. */
int fnf_def_finish(struct fnf_def *d);

/* Same layout, key and flags? (what a reload compares) */
bool fnf_def_equal(const struct fnf_def *a, const struct fnf_def *b);

/* The Catalyst FNF value maps (TTL map, packet length map). */
uint8_t fnf_bucket_ttl(uint8_t ttl);
uint32_t fnf_bucket_len(uint32_t len);

struct fnf_cfg {
	uint32_t entries;    /* 1..CACHE_ENTRIES_MAX */
	uint32_t active_s;   /* active timeout (permanent: the update timeout), >= 1 */
	uint32_t inactive_s; /* >= 1 */
	enum cache_type type;
};

struct fnf_stats {
	uint64_t packets;              /* packets metered */
	uint64_t bytes;                /* their IP bytes */
	uint64_t flows_added;          /* records opened */
	uint64_t records[FLOW_END_MAX];/* records exported, by reason */
	uint64_t empty_reclaimed;      /* entries freed with nothing since an active export */
	uint64_t flows_dropped_full;   /* new flows refused: permanent cache full */
	uint64_t packets_dropped_full; /* their packets and bytes */
	uint64_t bytes_dropped_full;
	uint64_t ager_polls;           /* sweeps that expired something */
	uint64_t clock_backsteps;      /* packets older than the clock (clamped) */
	uint64_t cleared_us;           /* cache time of the last clear (or first packet) */
	uint64_t now_us;               /* cache clock */
	uint32_t in_use;               /* entries in use */
	uint32_t high_water;           /* most ever in use */
};

/* Records leave through emit(arg, r); r is valid during the call only. */
typedef void (*fnf_emit_fn)(void *arg, const struct genrec *r);

struct fnf_cache;

/* A cache for definition d (copied; must have been finished). NULL with
 * errno EINVAL (bad cfg or d) or ENOMEM. */
struct fnf_cache *fnf_new(const struct fnf_def *d, const struct fnf_cfg *cfg, fnf_emit_fn emit, void *arg);
void fnf_free(struct fnf_cache *c); /* NULL is a no-op; does not flush */

/* Meter n packets (pointers into a batch) in order; sampler is the
 * samplerId the FNF_S_SAMPLER field reports for them. Expires what is
 * due at each packet's time first. n <= CACHE_BATCH_MAX. */
void fnf_packets(struct fnf_cache *c, const struct cache_pkt *const *v, size_t n, uint8_t sampler);

/* Advance the clock to now_us and export every record due. */
void fnf_expire(struct fnf_cache *c, uint64_t now_us);

/* Export every open record with reason why and empty the cache. */
void fnf_flush(struct fnf_cache *c, enum flow_end why);

/* Earliest deadline of any record, UINT64_MAX if none (exact: it looks
 * at every idle entry that is not yet on the due list; for tests and
 * show, not the packet path). */
uint64_t fnf_next_deadline(const struct fnf_cache *c);

/* New timeouts for the running cache (reload). */
void fnf_set_timeouts(struct fnf_cache *c, uint32_t active_s, uint32_t inactive_s);

/* Tests: meter by the reference path (every field through the generic
 * per-source switch) instead of the compiled one; records are the same. */
void fnf_set_generic(struct fnf_cache *c, bool on);
/* Does the cache keep gathered keys (see fnf.c)? For tests. */
bool fnf_gathered(const struct fnf_cache *c);

const struct fnf_def *fnf_def_of(const struct fnf_cache *c);
const struct fnf_cfg *fnf_config(const struct fnf_cache *c);
const struct fnf_stats *fnf_stats(const struct fnf_cache *c);
void fnf_stats_clear(struct fnf_cache *c);
size_t fnf_entry_size(const struct fnf_cache *c);
/* Bytes of the entry pool and the hash table (what `cache entries` and
 * the record decide; the few kilobytes of the cache's own state apart). */
size_t fnf_memory(const struct fnf_cache *c);

/* Call fn for every open record (packets > 0), oldest record start first;
 * r->end is FLOW_END_MAX. At most max records (0: all). */
void fnf_foreach(const struct fnf_cache *c, size_t max, void (*fn)(void *arg, const struct genrec *r), void *arg);

#endif
