/* cache.c — flow cache; see cache.h for the rules and their cost. */
#include "cache/cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cache/expiry.h"
#include "lib/hash.h"

#define NIL 0u /* index 0 of the pool is never used */

/* One pool entry: the record being built and its links. 144 bytes on
 * x86-64 (flowrec 120 + 6 x 4). */
struct centry {
	struct flowrec rec;
	uint32_t hash;   /* folded key hash: bucket index and compare tag */
	uint32_t hnext;  /* hash chain, or free-list link */
	uint32_t lprev;  /* last-seen list (oldest first): idle and emergency expiry */
	uint32_t lnext;
	uint32_t aprev;  /* open-record list (oldest first): active expiry */
	uint32_t anext;
};

struct dlist {
	uint32_t head;
	uint32_t tail;
};

struct cache {
	struct cache_cfg cfg;
	uint64_t active_us;
	uint64_t inactive_us;
	uint64_t seed;
	cache_emit_fn emit;
	void *emit_arg;
	struct centry *pool;   /* cfg.entries + 1 entries */
	uint32_t *bucket;      /* nbucket heads */
	size_t pool_bytes;     /* mapped sizes */
	size_t bucket_bytes;
	uint32_t nbucket_mask;
	uint32_t free_head;
	uint32_t emergency_at; /* in_use that triggers emergency expiry */
	bool clock_set;
	struct dlist lru;
	struct dlist act;
	struct cache_stats st;
};

const uint16_t cache_size_bucket_max[CACHE_SIZE_BUCKETS] = {
	32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448, 480,
	512, 544, 576, 1024, 1536, 2048, 2560, 3072, 3584, 4096, 4608,
};

const char *const cache_pclass_name[PC_MAX] = {
	[PC_TCP_TELNET] = "TCP-Telnet", [PC_TCP_FTP] = "TCP-FTP", [PC_TCP_FTPD] = "TCP-FTPD",
	[PC_TCP_WWW] = "TCP-WWW", [PC_TCP_SMTP] = "TCP-SMTP", [PC_TCP_X] = "TCP-X",
	[PC_TCP_BGP] = "TCP-BGP", [PC_TCP_NNTP] = "TCP-NNTP", [PC_TCP_FRAG] = "TCP-Frag",
	[PC_TCP_OTHER] = "TCP-other", [PC_UDP_DNS] = "UDP-DNS", [PC_UDP_NTP] = "UDP-NTP",
	[PC_UDP_TFTP] = "UDP-TFTP", [PC_UDP_FRAG] = "UDP-Frag", [PC_UDP_OTHER] = "UDP-other",
	[PC_ICMP] = "ICMP", [PC_IGMP] = "IGMP", [PC_IPINIP] = "IPINIP", [PC_IPV6INIP] = "IPv6INIP",
	[PC_GRE] = "GRE", [PC_IP_OTHER] = "IP-other",
};

/* Port-to-class tables: a flow is of the class if either port matches. */
static const struct {
	uint16_t port;
	uint8_t cls;
} tcp_ports[] = {
	{ 23, PC_TCP_TELNET }, { 21, PC_TCP_FTP }, { 20, PC_TCP_FTPD }, { 80, PC_TCP_WWW },
	{ 25, PC_TCP_SMTP }, { 179, PC_TCP_BGP }, { 119, PC_TCP_NNTP },
}, udp_ports[] = {
	{ 53, PC_UDP_DNS }, { 123, PC_UDP_NTP }, { 69, PC_UDP_TFTP },
};

enum cache_pclass cache_pclass_of(const struct flow_key *k)
{
	switch (k->proto) {
	case 6:
		if (k->sport == 0 && k->dport == 0)
			return PC_TCP_FRAG;
		for (size_t i = 0; i < sizeof(tcp_ports) / sizeof(tcp_ports[0]); i++)
			if (k->sport == tcp_ports[i].port || k->dport == tcp_ports[i].port)
				return tcp_ports[i].cls;
		if ((k->dport >= 6000 && k->dport <= 6063) || (k->sport >= 6000 && k->sport <= 6063))
			return PC_TCP_X;
		return PC_TCP_OTHER;
	case 17:
		if (k->sport == 0 && k->dport == 0)
			return PC_UDP_FRAG;
		for (size_t i = 0; i < sizeof(udp_ports) / sizeof(udp_ports[0]); i++)
			if (k->sport == udp_ports[i].port || k->dport == udp_ports[i].port)
				return udp_ports[i].cls;
		return PC_UDP_OTHER;
	case 1:
	case 58:
		return PC_ICMP;
	case 2:
		return PC_IGMP;
	case 4:
		return PC_IPINIP;
	case 41:
		return PC_IPV6INIP;
	case 47:
		return PC_GRE;
	default:
		return PC_IP_OTHER;
	}
}

static unsigned size_bucket(uint16_t len)
{
	if (len <= 32)
		return 0;
	if (len <= 576)
		return (unsigned)(len - 1) / 32;    /* 33..64 -> 1, ..., 545..576 -> 17 */
	if (len > 4608)
		return CACHE_SIZE_BUCKETS - 1;
	return 18 + (unsigned)(len - 577) / 512; /* 577..1024 -> 18, ... 4097..4608 -> 25 */
}

/* --- intrusive lists over pool indices ----------------------------------- */

#define DLIST_FNS(name, prev, next)                                             \
	static void name##_append(struct cache *c, struct dlist *l, uint32_t i) \
	{                                                                       \
		struct centry *e = &c->pool[i];                                 \
		e->prev = l->tail;                                              \
		e->next = NIL;                                                  \
		if (l->tail)                                                    \
			c->pool[l->tail].next = i;                              \
		else                                                            \
			l->head = i;                                            \
		l->tail = i;                                                    \
	}                                                                       \
	static void name##_remove(struct cache *c, struct dlist *l, uint32_t i) \
	{                                                                       \
		struct centry *e = &c->pool[i];                                 \
		if (e->prev)                                                    \
			c->pool[e->prev].next = e->next;                        \
		else                                                            \
			l->head = e->next;                                      \
		if (e->next)                                                    \
			c->pool[e->next].prev = e->prev;                        \
		else                                                            \
			l->tail = e->prev;                                      \
		e->prev = e->next = NIL;                                        \
	}

DLIST_FNS(lru, lprev, lnext)
DLIST_FNS(act, aprev, anext)

/* --- construction -------------------------------------------------------- */

/* Zeroed anonymous memory, backed by the kernel only as it is first
 * touched (so RSS follows entries in use), on transparent huge pages where
 * the system allows: a large cache is TLB-bound without them. */
static void *map_zeroed(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	if (len >= (2u << 20))
		madvise(p, len, MADV_HUGEPAGE);
#endif
	return p;
}

struct cache *cache_new(const struct cache_cfg *cfg, cache_emit_fn emit, void *arg)
{
	if (!cfg || !emit || cfg->entries < 1 || cfg->entries > CACHE_ENTRIES_MAX ||
	    cfg->active_s < 1 || cfg->inactive_s < 1 || cfg->type > CACHE_IMMEDIATE) {
		errno = EINVAL;
		return NULL;
	}
	struct cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cfg = *cfg;
	c->emit = emit;
	c->emit_arg = arg;
	c->seed = hash_random_seed();
	cache_set_timeouts(c, cfg->active_s, cfg->inactive_s);
	uint32_t nb = 1;
	while (nb < cfg->entries)
		nb <<= 1;
	c->nbucket_mask = nb - 1;
	c->pool_bytes = ((size_t)cfg->entries + 1) * sizeof(*c->pool);
	c->bucket_bytes = (size_t)nb * sizeof(*c->bucket);
	c->pool = map_zeroed(c->pool_bytes);
	c->bucket = map_zeroed(c->bucket_bytes);
	if (!c->pool || !c->bucket) {
		cache_free(c);
		errno = ENOMEM;
		return NULL;
	}
	c->free_head = NIL; /* never-used entries are handed out in order (entry_alloc) */
	c->emergency_at = expiry_emergency_at(cfg->entries);
	return c;
}

void cache_free(struct cache *c)
{
	if (!c)
		return;
	if (c->pool)
		munmap(c->pool, c->pool_bytes);
	if (c->bucket)
		munmap(c->bucket, c->bucket_bytes);
	free(c);
}

void cache_set_timeouts(struct cache *c, uint32_t active_s, uint32_t inactive_s)
{
	c->cfg.active_s = active_s;
	c->cfg.inactive_s = inactive_s;
	c->active_us = (uint64_t)active_s * 1000000u;
	c->inactive_us = (uint64_t)inactive_s * 1000000u;
}

const struct cache_cfg *cache_config(const struct cache *c)
{
	return &c->cfg;
}

const struct cache_stats *cache_stats(const struct cache *c)
{
	return &c->st;
}

void cache_stats_clear(struct cache *c)
{
	uint32_t in_use = c->st.in_use;
	uint64_t now = c->st.now_us;
	memset(&c->st, 0, sizeof(c->st));
	c->st.in_use = in_use;
	c->st.high_water = in_use;
	c->st.now_us = now;
	c->st.cleared_us = now;
}

size_t cache_memory(const struct cache *c)
{
	return sizeof(*c) + c->pool_bytes + c->bucket_bytes;
}

/* --- pool ----------------------------------------------------------------- */

/* Freed entries are on the free list through hnext. */
static uint32_t entry_alloc(struct cache *c)
{
	uint32_t i = c->free_head;
	if (i != NIL) {
		c->free_head = c->pool[i].hnext;
	} else {
		/* With the free list empty every entry handed out is in use, and
		 * those are exactly 1..in_use: the next never-used one follows. */
		if (c->st.in_use >= c->cfg.entries)
			return NIL;
		i = c->st.in_use + 1;
	}
	c->st.in_use++;
	if (c->st.in_use > c->st.high_water)
		c->st.high_water = c->st.in_use;
	return i;
}

static void entry_release(struct cache *c, uint32_t i)
{
	struct centry *e = &c->pool[i];
	uint32_t *pp = &c->bucket[e->hash & c->nbucket_mask];
	while (*pp != i)
		pp = &c->pool[*pp].hnext;
	*pp = e->hnext;
	if (c->cfg.type == CACHE_NORMAL)
		lru_remove(c, &c->lru, i);
	if (e->rec.packets)
		act_remove(c, &c->act, i);
	e->hnext = c->free_head;
	c->free_head = i;
	c->st.in_use--;
}

/* --- export ---------------------------------------------------------------- */

static void emit_record(struct cache *c, struct flowrec *r, enum flow_end why)
{
	r->end = (uint8_t)why;
	c->st.records[why]++;
	struct cache_pstats *ps = &c->st.proto[cache_pclass_of(&r->key)];
	ps->flows++;
	ps->packets += r->packets;
	ps->bytes += r->bytes;
	ps->active_us += r->last_us - r->first_us;
	ps->idle_us += c->st.now_us > r->last_us ? c->st.now_us - r->last_us : 0;
	c->emit(c->emit_arg, r);
}

/* Export entry i's open record and leave the entry empty in the cache. */
static void entry_export(struct cache *c, uint32_t i, enum flow_end why)
{
	struct centry *e = &c->pool[i];
	act_remove(c, &c->act, i);
	emit_record(c, &e->rec, why);
	e->rec.packets = 0;
	e->rec.bytes = 0;
	e->rec.tcp_flags = 0;
}

/* Export (if open) and remove entry i. */
static void entry_end(struct cache *c, uint32_t i, enum flow_end why)
{
	struct centry *e = &c->pool[i];
	if (e->rec.packets)
		entry_export(c, i, why);
	else
		c->st.empty_reclaimed++;
	entry_release(c, i);
}

static void sweep(struct cache *c)
{
	uint64_t now = c->st.now_us;
	bool any = false;

	if (c->cfg.type == CACHE_NORMAL) {
		while (c->lru.head) {
			uint32_t i = c->lru.head;
			struct centry *e = &c->pool[i];
			uint64_t idle_at = e->rec.last_us + c->inactive_us;
			if (idle_at > now)
				break;
			entry_end(c, i, expiry_idle_reason(e->rec.packets, e->rec.first_us, c->active_us, idle_at));
			any = true;
		}
	}
	while (c->act.head) {
		uint32_t i = c->act.head;
		if (c->pool[i].rec.first_us + c->active_us > now)
			break;
		entry_export(c, i, FLOW_END_ACTIVE);
		any = true;
	}
	if (any)
		c->st.ager_polls++;
}

static void clock_advance(struct cache *c, uint64_t t)
{
	if (!c->clock_set) {
		c->clock_set = true;
		c->st.now_us = t;
		c->st.cleared_us = t;
		return;
	}
	if (t < c->st.now_us) {
		c->st.clock_backsteps++;
		return;
	}
	c->st.now_us = t;
}

void cache_expire(struct cache *c, uint64_t now_us)
{
	clock_advance(c, now_us);
	sweep(c);
}

uint64_t cache_next_deadline(const struct cache *c)
{
	uint64_t d = UINT64_MAX;
	if (c->cfg.type == CACHE_NORMAL && c->lru.head)
		d = c->pool[c->lru.head].rec.last_us + c->inactive_us;
	if (c->act.head) {
		uint64_t a = c->pool[c->act.head].rec.first_us + c->active_us;
		if (a < d)
			d = a;
	}
	return d;
}

void cache_flush(struct cache *c, enum flow_end why)
{
	/* Every entry in use is on the LRU list (normal) or reachable from the
	 * buckets (permanent); walk the buckets, which covers both. The
	 * entries are scattered over the pool and each record's export is
	 * long enough that the misses no longer overlap by themselves: the
	 * entry a few buckets ahead is prefetched (a hint only). */
	enum { AHEAD = 8 };
	/* Everything goes, so the lists are not unlinked entry by entry
	 * (that touched two random neighbours per list and record): each
	 * entry is exported, its links cleared and freed in place, and the
	 * lists emptied at the end. Records leave in the same order, with the
	 * same counts, as entry_end one by one would give. */
	for (uint32_t b = 0; b <= c->nbucket_mask; b++) {
		if (b + AHEAD <= c->nbucket_mask) {
			uint32_t e = c->bucket[b + AHEAD];
			if (e) {
				__builtin_prefetch(&c->pool[e]);
				__builtin_prefetch((const char *)&c->pool[e] + 64);
				__builtin_prefetch((const char *)&c->pool[e] + 128);
			}
		}
		uint32_t i = c->bucket[b];
		c->bucket[b] = NIL;
		while (i) {
			struct centry *e = &c->pool[i];
			uint32_t next = e->hnext;
			if (e->rec.packets) {
				emit_record(c, &e->rec, why);
				e->rec.packets = 0;
				e->rec.bytes = 0;
				e->rec.tcp_flags = 0;
			} else {
				c->st.empty_reclaimed++;
			}
			e->lprev = e->lnext = e->aprev = e->anext = NIL;
			e->hnext = c->free_head;
			c->free_head = i;
			c->st.in_use--;
			i = next;
		}
	}
	c->lru.head = c->lru.tail = NIL;
	c->act.head = c->act.tail = NIL;
}

void cache_foreach(const struct cache *c, void (*fn)(void *arg, const struct flowrec *r), void *arg)
{
	for (uint32_t i = c->act.head; i; i = c->pool[i].anext) {
		struct flowrec r = c->pool[i].rec;
		r.end = FLOW_END_MAX;
		fn(arg, &r);
	}
}

/* --- metering --------------------------------------------------------------- */

/* minimum/maximumIpTotalLength are kept in 16 bits (expiry_len16); a
 * jumbogram's bytes still count in full. */

static void rec_start(struct flowrec *r, const struct pkt_info *pi, uint64_t t)
{
	r->packets = 0;
	r->bytes = 0;
	r->tcp_flags = 0;
	r->first_us = t;
	r->min_ttl = pi->ttl;
	r->max_ttl = pi->ttl;
	r->min_len = expiry_len16(pi->ip_len);
	r->max_len = expiry_len16(pi->ip_len);
}

static void rec_add(struct flowrec *r, const struct pkt_info *pi, uint64_t t)
{
	r->packets++;
	r->bytes += pi->ip_len;
	r->last_us = t;
	r->tcp_flags |= pi->tcp_flags;
	if (pi->ttl < r->min_ttl)
		r->min_ttl = pi->ttl;
	if (pi->ttl > r->max_ttl)
		r->max_ttl = pi->ttl;
	if (expiry_len16(pi->ip_len) < r->min_len)
		r->min_len = expiry_len16(pi->ip_len);
	if (expiry_len16(pi->ip_len) > r->max_len)
		r->max_len = expiry_len16(pi->ip_len);
}

static void key_of(struct flow_key *k, const struct pkt_info *pi, uint32_t ifindex, uint8_t dir)
{
	memcpy(k->src, pi->src, 16);
	memcpy(k->dst, pi->dst, 16);
	k->sport = pi->sport;
	k->dport = pi->dport;
	k->af = pi->af;
	k->proto = pi->proto;
	k->tos = pi->tos;
	k->dir = dir;
	k->ifindex = ifindex;
}

static uint32_t key_hash(const struct cache *c, const struct flow_key *k)
{
	uint64_t h = hash_bytes(k, sizeof(*k), c->seed);
	return (uint32_t)(h ^ (h >> 32));
}

static void packet_hashed(struct cache *c, const struct pkt_info *pi, const struct flow_key *kp,
                          uint32_t h32, uint64_t t_us);

void cache_packet(struct cache *c, const struct pkt_info *pi, uint32_t ifindex,
                  uint8_t dir, uint64_t t_us)
{
	struct flow_key k;
	key_of(&k, pi, ifindex, dir);
	packet_hashed(c, pi, &k, c->cfg.type == CACHE_IMMEDIATE ? 0 : key_hash(c, &k), t_us);
}

void cache_packets(struct cache *c, const struct cache_pkt *v, size_t n)
{
	struct flow_key k[CACHE_BATCH_MAX];
	uint32_t h[CACHE_BATCH_MAX];
	if (n > CACHE_BATCH_MAX)
		abort(); /* a caller bug */
	if (c->cfg.type == CACHE_IMMEDIATE) {
		for (size_t i = 0; i < n; i++)
			cache_packet(c, &v[i].pi, v[i].ifindex, v[i].dir, v[i].t_us);
		return;
	}
	/* Stage 1: keys and hashes, prefetch the bucket heads. */
	for (size_t i = 0; i < n; i++) {
		key_of(&k[i], &v[i].pi, v[i].ifindex, v[i].dir);
		h[i] = key_hash(c, &k[i]);
		__builtin_prefetch(&c->bucket[h[i] & c->nbucket_mask]);
	}
	/* Stage 2: prefetch the first entry of each chain (a hint only: the
	 * real lookup below sees every change made by earlier packets). */
	for (size_t i = 0; i < n; i++) {
		uint32_t e = c->bucket[h[i] & c->nbucket_mask];
		if (e) {
			__builtin_prefetch(&c->pool[e]);
			__builtin_prefetch((const char *)&c->pool[e] + 64);
		}
	}
	/* Stage 3: find each packet's entry (as the cache stands now) and
	 * prefetch its last-seen neighbours, which the move to the list tail
	 * writes. */
	for (size_t i = 0; i < n; i++) {
		for (uint32_t e = c->bucket[h[i] & c->nbucket_mask]; e; e = c->pool[e].hnext) {
			const struct centry *ce = &c->pool[e];
			if (ce->hash != h[i])
				continue;
			__builtin_prefetch(&c->pool[ce->lprev].lnext, 1);
			__builtin_prefetch(&c->pool[ce->lnext].lprev, 1);
			break;
		}
	}
	/* Stage 4: meter in order. */
	for (size_t i = 0; i < n; i++)
		packet_hashed(c, &v[i].pi, &k[i], h[i], v[i].t_us);
}

static void packet_hashed(struct cache *c, const struct pkt_info *pi, const struct flow_key *kp,
                          uint32_t h32, uint64_t t_us)
{
	clock_advance(c, t_us);
	uint64_t t = c->st.now_us;

	c->st.packets++;
	c->st.bytes += pi->ip_len;
	c->st.size_hist[size_bucket(expiry_len16(pi->ip_len))]++;

	if (c->cfg.type == CACHE_IMMEDIATE) {
		struct flowrec r;
		memset(&r, 0, sizeof(r));
		r.key = *kp;
		rec_start(&r, pi, t);
		rec_add(&r, pi, t);
		c->st.flows_added++;
		emit_record(c, &r, FLOW_END_IMMEDIATE);
		return;
	}

	sweep(c);

	uint32_t *head = &c->bucket[h32 & c->nbucket_mask];
	uint32_t i;
	for (i = *head; i; i = c->pool[i].hnext) {
		struct centry *e = &c->pool[i];
		if (e->hash == h32 && memcmp(&e->rec.key, kp, sizeof(*kp)) == 0)
			break;
	}

	if (!i) {
		if (c->cfg.type == CACHE_NORMAL) {
			while (c->st.in_use >= c->emergency_at && c->lru.head)
				entry_end(c, c->lru.head, FLOW_END_EMERGENCY);
		}
		i = entry_alloc(c);
		if (!i) {
			c->st.flows_dropped_full++;
			c->st.packets_dropped_full++;
			c->st.bytes_dropped_full += pi->ip_len;
			return;
		}
		struct centry *e = &c->pool[i];
		memset(e, 0, sizeof(*e));
		e->rec.key = *kp;
		e->hash = h32;
		/* the bucket index uses the high half, the stored tag the low */
		e->hnext = *head;
		*head = i;
	}

	struct centry *e = &c->pool[i];
	if (e->rec.packets == 0) {
		rec_start(&e->rec, pi, t);
		act_append(c, &c->act, i);
		c->st.flows_added++;
	}
	rec_add(&e->rec, pi, t);
	if (c->cfg.type == CACHE_NORMAL) {
		if (c->lru.tail != i) {
			if (e->lprev || c->lru.head == i)
				lru_remove(c, &c->lru, i);
			lru_append(c, &c->lru, i);
		}
		if (expiry_tcp_end(pi->proto, pi->tcp_flags))
			entry_end(c, i, FLOW_END_EOF);
	}
}
