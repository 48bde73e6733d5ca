/* route.c — the routing table (a path-compressed binary trie, compiled
 * into IPv4 stride tables and an IPv6 first-16-bits index for lookups)
 * and its file loader for the ipflow, `ip route` and `birdc show route`
 * formats. The layer that connects it to ipflowd is route_layer.c. */
#include "meter/route.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/buf.h"
#include "lib/bytes.h"

/* --- trie ------------------------------------------------------------------
 *
 * A node holds a prefix (key, plen) and, if a route ends there, its index
 * + 1 in r (0: internal node). Children are node indexes; node 0 is never
 * used, so index 0 means "none". Every node's prefix extends its parent's;
 * a child's side is the key bit at the parent's plen. */

struct rnode {
	uint64_t k[2];
	uint32_t c[2];
	uint32_t r;
	uint8_t plen;
};

struct route_table {
	struct rnode *n;
	size_t nn, capn;
	struct route *r;
	size_t nr, capr;
	uint32_t root[2]; /* [0] IPv4, [1] IPv6 */
	size_t count[2];
	/* compiled for lookups (route_table_compile; dropped by an add):
	 * IPv4 stride tables 16-8-8 with the routes pushed to the leaves;
	 * IPv6 the trie entered at the last node of the address's first 16
	 * bits, with the best route above it */
	bool compiled;
	uint32_t *l1v4;   /* 65536 entries: 0 none, route index + 1, or V4_CHILD | table */
	uint32_t *tabv4;  /* ntab tables of 256 entries, the same encoding */
	size_t ntab, captab;
	uint32_t *l1v6n;  /* 65536: the trie node to continue from (0: none), or V6_L2 | table */
	uint32_t *l1v6r;  /* 65536: the best route (index + 1) on the path down to it */
	uint32_t *l2v6n;  /* nl2 tables of 65536 (bits 16-31) for the /16s holding many routes */
	uint32_t *l2v6r;
	size_t nl2;
};

#define V4_CHILD 0x80000000u
#define V6_L2 0x80000000u
#define V6_HEAVY 4096  /* routes longer than /16 in one /16 that earn it a second level */
#define V6_L2_MAX 64   /* second-level tables at most (512 KiB each) */

static void key_of(int af, const uint8_t *a, uint64_t k[2])
{
	if (af == 4) {
		k[0] = (uint64_t)peek_u32(a) << 32;
		k[1] = 0;
	} else {
		k[0] = peek_u64(a);
		k[1] = peek_u64(a + 8);
	}
}

static inline void mask_of(unsigned plen, uint64_t m[2])
{
	m[0] = plen >= 64 ? ~0ull : plen == 0 ? 0 : ~0ull << (64 - plen);
	m[1] = plen <= 64 ? 0 : plen >= 128 ? ~0ull : ~0ull << (128 - plen);
}

static inline bool key_match(const uint64_t a[2], const uint64_t b[2], unsigned plen)
{
	uint64_t m[2];
	mask_of(plen, m);
	return ((a[0] ^ b[0]) & m[0]) == 0 && ((a[1] ^ b[1]) & m[1]) == 0;
}

static inline unsigned key_bit(const uint64_t k[2], unsigned i)
{
	return i < 64 ? (unsigned)(k[0] >> (63 - i)) & 1 : (unsigned)(k[1] >> (127 - i)) & 1;
}

static unsigned key_common(const uint64_t a[2], const uint64_t b[2])
{
	uint64_t x = a[0] ^ b[0];
	if (x)
		return (unsigned)__builtin_clzll(x);
	x = a[1] ^ b[1];
	return x ? 64 + (unsigned)__builtin_clzll(x) : 128;
}

struct route_table *route_table_new(void)
{
	struct route_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->capn = 64;
	t->n = calloc(t->capn, sizeof(*t->n));
	if (!t->n) {
		free(t);
		return NULL;
	}
	t->nn = 1; /* node 0: "none" */
	return t;
}

void route_table_free(struct route_table *t)
{
	if (!t)
		return;
	free(t->n);
	free(t->r);
	free(t->l1v4);
	free(t->tabv4);
	free(t->l1v6n);
	free(t->l1v6r);
	free(t->l2v6n);
	free(t->l2v6r);
	free(t);
}

static void uncompile(struct route_table *t)
{
	free(t->l1v4);
	free(t->tabv4);
	free(t->l1v6n);
	free(t->l1v6r);
	free(t->l2v6n);
	free(t->l2v6r);
	t->l1v4 = t->tabv4 = t->l1v6n = t->l1v6r = t->l2v6n = t->l2v6r = NULL;
	t->nl2 = 0;
	t->ntab = t->captab = 0;
	t->compiled = false;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 64;
	while (c < need)
		c *= 2;
	void *q = realloc(*p, c * size);
	if (!q)
		return -1;
	*p = q;
	*cap = c;
	return 0;
}

static void shrink(void **p, size_t *cap, size_t use, size_t size)
{
	if (use == 0 || use >= *cap)
		return;
	void *q = realloc(*p, use * size);
	if (q) {
		*p = q;
		*cap = use;
	}
}

static uint32_t node_new(struct route_table *t, const uint64_t k[2], unsigned plen, uint32_t r)
{
	uint64_t m[2];
	mask_of(plen, m);
	struct rnode *n = &t->n[t->nn];
	n->k[0] = k[0] & m[0];
	n->k[1] = k[1] & m[1];
	n->plen = (uint8_t)plen;
	n->c[0] = n->c[1] = 0;
	n->r = r;
	return (uint32_t)t->nn++;
}

/* r with the prefix bits past plen cleared. */
static void normalise(const struct route *r0, const uint64_t k[2], struct route *r)
{
	*r = *r0;
	memset(r->prefix, 0, sizeof(r->prefix));
	if (r0->af == 4) {
		poke_u32(r->prefix, (uint32_t)(k[0] >> 32));
	} else {
		poke_u64(r->prefix, k[0]);
		poke_u64(r->prefix + 8, k[1]);
	}
}

/* A new route slot: its index + 1, or 0 (ROUTE_MAX, out of memory). */
static uint32_t route_slot(struct route_table *t)
{
	if (t->nr >= ROUTE_MAX || grow((void **)&t->r, &t->capr, t->nr + 1, sizeof(*t->r)) != 0)
		return 0;
	return (uint32_t)++t->nr;
}

int route_table_add(struct route_table *t, const struct route *r0, bool *replaced)
{
	if (replaced)
		*replaced = false;
	if (!t || !r0 || (r0->af != 4 && r0->af != 6) || r0->plen > (r0->af == 4 ? 32 : 128))
		return -1;
	if (t->compiled)
		uncompile(t);
	int fam = r0->af == 6;
	unsigned plen = r0->plen;
	uint64_t k[2], m[2];
	key_of(r0->af, r0->prefix, k);
	mask_of(plen, m);
	k[0] &= m[0];
	k[1] &= m[1];
	struct route r;
	normalise(r0, k, &r);
	/* room for a leaf and a split node, so no pointer below moves */
	if (t->nn + 2 > UINT32_MAX || grow((void **)&t->n, &t->capn, t->nn + 2, sizeof(*t->n)) != 0)
		return -1;
	uint32_t *pp = &t->root[fam], slot;
	while (*pp) {
		struct rnode *n = &t->n[*pp];
		unsigned c = key_common(n->k, k);
		if (c > n->plen)
			c = n->plen;
		if (c > plen)
			c = plen;
		if (c < n->plen) { /* the new prefix leaves n's path here: split */
			uint32_t old = *pp;
			if (!(slot = route_slot(t)))
				return -1;
			if (c == plen) { /* the new route sits above n */
				uint32_t x = node_new(t, k, plen, slot);
				t->n[x].c[key_bit(t->n[old].k, plen)] = old;
				*pp = x;
			} else {
				uint32_t y = node_new(t, k, c, 0);
				uint32_t leaf = node_new(t, k, plen, slot);
				t->n[y].c[key_bit(k, c)] = leaf;
				t->n[y].c[key_bit(t->n[old].k, c)] = old;
				*pp = y;
			}
			goto store;
		}
		if (n->plen == plen) { /* the same prefix */
			if (n->r) {
				t->r[n->r - 1] = r;
				if (replaced)
					*replaced = true;
				return 0;
			}
			if (!(slot = route_slot(t)))
				return -1;
			n->r = slot;
			goto store;
		}
		pp = &n->c[key_bit(k, n->plen)];
	}
	if (!(slot = route_slot(t)))
		return -1;
	*pp = node_new(t, k, plen, slot);
store:
	t->r[slot - 1] = r;
	t->count[fam]++;
	return 0;
}

/* The walk of the trie from node i down, best so far given. */
static inline uint32_t walk(const struct rnode *nodes, uint32_t i, const uint64_t k[2], uint32_t best)
{
	while (i) {
		const struct rnode *n = &nodes[i];
		if (!key_match(n->k, k, n->plen))
			break;
		if (n->r)
			best = n->r;
		if (n->plen >= 128)
			break;
		i = n->c[key_bit(k, n->plen)];
	}
	return best;
}

const struct route *route_lookup(const struct route_table *t, int af, const uint8_t *addr)
{
	if (!t || (af != 4 && af != 6))
		return NULL;
	uint32_t best;
	if (af == 4 && t->l1v4) { /* compiled: at most three table reads */
		uint32_t a = peek_u32(addr);
		uint32_t e = t->l1v4[a >> 16];
		if (e & V4_CHILD) {
			e = t->tabv4[(size_t)(e & ~V4_CHILD) * 256 + ((a >> 8) & 255)];
			if (e & V4_CHILD)
				e = t->tabv4[(size_t)(e & ~V4_CHILD) * 256 + (a & 255)];
		}
		best = e;
	} else {
		uint64_t k[2];
		key_of(af, addr, k);
		if (af == 6 && t->l1v6n) { /* compiled: the first 16 (or 32) bits skipped */
			unsigned c = (unsigned)(k[0] >> 48);
			uint32_t s1 = t->l1v6n[c];
			if (s1 & V6_L2) {
				size_t j = (size_t)(s1 & ~V6_L2) * 65536 + ((k[0] >> 32) & 0xffff);
				best = walk(t->n, t->l2v6n[j], k, t->l2v6r[j]);
			} else {
				best = walk(t->n, s1, k, t->l1v6r[c]);
			}
		} else {
			best = walk(t->n, t->root[af == 6], k, 0);
		}
	}
	return best ? &t->r[best - 1] : NULL;
}

/* Where a walk for the addresses starting with k's first depth bits (16
 * or 32) begins, and the best route above that point: the walk from node
 * i (best so far given) through the nodes of at most depth bits on k's
 * path. At exactly depth bits the next step needs the address's next
 * bit, so the walk starts at that node (and takes its route); shorter,
 * at the child on k's path below the last one; none matched, at i. The
 * walk checks its first node itself. */
static void v6_entry(const struct route_table *t, uint32_t i, uint32_t best, const uint64_t k[2], unsigned depth,
                     uint32_t *start, uint32_t *best_out)
{
	uint32_t first = i, from = 0;
	while (i) {
		const struct rnode *n = &t->n[i];
		if (n->plen > depth || !key_match(n->k, k, n->plen))
			break;
		from = i;
		if (n->plen == depth)
			break;
		if (n->r)
			best = n->r;
		i = n->c[key_bit(k, n->plen)];
	}
	if (from && t->n[from].plen < depth)
		*start = t->n[from].c[key_bit(k, t->n[from].plen)];
	else
		*start = from ? from : first;
	*best_out = best;
}

/* A new IPv4 stride table filled with leaf value v: its number, or -1. */
static long v4_table(struct route_table *t, uint32_t v)
{
	if (t->ntab >= V4_CHILD - 1 || grow((void **)&t->tabv4, &t->captab, (t->ntab + 1) * 256, sizeof(uint32_t)) != 0)
		return -1;
	uint32_t *p = t->tabv4 + t->ntab * 256;
	for (int i = 0; i < 256; i++)
		p[i] = v;
	return (long)t->ntab++;
}

/* The child table behind *slot (made from its leaf if it is one): its
 * number, or -1. slot is an index: tables move as they grow. */
static long v4_child(struct route_table *t, uint32_t *base, size_t slot, bool in_tab)
{
	uint32_t e = in_tab ? t->tabv4[slot] : base[slot];
	if (e & V4_CHILD)
		return (long)(e & ~V4_CHILD);
	long n = v4_table(t, e);
	if (n < 0)
		return -1;
	if (in_tab)
		t->tabv4[slot] = V4_CHILD | (uint32_t)n;
	else
		base[slot] = V4_CHILD | (uint32_t)n;
	return n;
}

int route_table_compile(struct route_table *t)
{
	if (t->compiled)
		return 0;
	/* a family without routes gets no tables (its lookups walk an empty
	 * trie): small tables, e.g. IPv4 only, compile quickly */
	bool v4 = t->count[0] > 0, v6 = t->count[1] > 0;
	t->l1v4 = v4 ? calloc(65536, sizeof(uint32_t)) : NULL;
	t->l1v6n = v6 ? calloc(65536, sizeof(uint32_t)) : NULL;
	t->l1v6r = v6 ? calloc(65536, sizeof(uint32_t)) : NULL;
	size_t *order = malloc((t->count[0] + 1) * sizeof(size_t));
	if ((v4 && !t->l1v4) || (v6 && (!t->l1v6n || !t->l1v6r)) || !order)
		goto fail;
	/* IPv4: routes by ascending length, each painted over its range, so
	 * a longer one overwrites a shorter one; a child table is made only
	 * by a route longer than its level, after every shorter route */
	size_t start[34] = { 0 }, n4 = 0;
	for (size_t i = 0; i < t->nr; i++)
		if (t->r[i].af == 4)
			start[t->r[i].plen + 1]++;
	for (int p = 1; p < 34; p++)
		start[p] += start[p - 1];
	for (size_t i = 0; i < t->nr; i++)
		if (t->r[i].af == 4)
			order[start[t->r[i].plen]++] = i, n4++;
	for (size_t j = 0; j < n4; j++) {
		const struct route *r = &t->r[order[j]];
		uint32_t a = peek_u32(r->prefix), leaf = (uint32_t)order[j] + 1;
		unsigned p = r->plen;
		if (p <= 16) {
			for (size_t i = 0; i < (size_t)1 << (16 - p); i++)
				t->l1v4[(a >> 16) + i] = leaf;
			continue;
		}
		long c1 = v4_child(t, t->l1v4, a >> 16, false);
		if (c1 < 0)
			goto fail;
		size_t s2 = (size_t)c1 * 256 + ((a >> 8) & 255);
		if (p <= 24) {
			for (size_t i = 0; i < (size_t)1 << (24 - p); i++)
				t->tabv4[s2 + i] = leaf;
			continue;
		}
		long c2 = v4_child(t, NULL, s2, true);
		if (c2 < 0)
			goto fail;
		size_t s3 = (size_t)c2 * 256 + (a & 255);
		for (size_t i = 0; i < (size_t)1 << (32 - p); i++)
			t->tabv4[s3 + i] = leaf;
	}
	/* IPv6: for each first 16 bits, where the walk starts and the best
	 * route above it; a /16 with many longer routes gets the same for
	 * its next 16 bits too (a second level) */
	uint32_t *heavy = v6 ? calloc(65536, sizeof(uint32_t)) : NULL;
	if (v6 && !heavy)
		goto fail;
	for (size_t i = 0; v6 && i < t->nr; i++)
		if (t->r[i].af == 6 && t->r[i].plen > 16)
			heavy[peek_u16(t->r[i].prefix)]++;
	for (unsigned c = 0; v6 && c < 65536; c++) {
		uint64_t k[2] = { (uint64_t)c << 48, 0 };
		uint32_t s1, b1;
		v6_entry(t, t->root[1], 0, k, 16, &s1, &b1);
		t->l1v6n[c] = s1;
		t->l1v6r[c] = b1;
		if (heavy[c] < V6_HEAVY || t->nl2 >= V6_L2_MAX)
			continue;
		uint32_t *nn = realloc(t->l2v6n, (t->nl2 + 1) * 65536 * sizeof(uint32_t));
		if (nn)
			t->l2v6n = nn;
		uint32_t *nr = nn ? realloc(t->l2v6r, (t->nl2 + 1) * 65536 * sizeof(uint32_t)) : NULL;
		if (nr)
			t->l2v6r = nr;
		if (!nn || !nr)
			continue; /* out of memory: this /16 walks from the first level */
		size_t base = t->nl2 * 65536;
		for (unsigned c2 = 0; c2 < 65536; c2++) {
			uint64_t k2[2] = { (uint64_t)c << 48 | (uint64_t)c2 << 32, 0 };
			v6_entry(t, s1, b1, k2, 32, &t->l2v6n[base + c2], &t->l2v6r[base + c2]);
		}
		t->l1v6n[c] = V6_L2 | (uint32_t)t->nl2++;
	}
	free(heavy);
	free(order);
	t->compiled = true;
	/* loaded for good (an add drops the tables): give back what doubling
	 * reserved beyond the use */
	shrink((void **)&t->n, &t->capn, t->nn, sizeof(*t->n));
	shrink((void **)&t->r, &t->capr, t->nr, sizeof(*t->r));
	shrink((void **)&t->tabv4, &t->captab, t->ntab * 256, sizeof(uint32_t));
	return 0;
fail:
	free(order);
	uncompile(t);
	return -1;
}

size_t route_table_memory(const struct route_table *t)
{
	if (!t)
		return 0;
	size_t m = sizeof(*t) + t->capn * sizeof(*t->n) + t->capr * sizeof(*t->r);
	if (t->compiled)
		m += ((t->l1v4 ? 1 : 0) + (t->l1v6n ? 2 : 0) + 2 * t->nl2) * 65536 * sizeof(uint32_t) +
		     t->captab * sizeof(uint32_t);
	return m;
}

size_t route_table_count(const struct route_table *t, int af)
{
	return t && (af == 4 || af == 6) ? t->count[af == 6] : 0;
}

/* --- words ---------------------------------------------------------------- */

const char *route_fmt_name(enum route_fmt f)
{
	static const char *const names[] = {
		[ROUTE_FMT_NONE] = "empty", [ROUTE_FMT_IPFLOW] = "ipflow",
		[ROUTE_FMT_IPROUTE] = "ip route", [ROUTE_FMT_BIRD] = "birdc show route",
	};
	return (unsigned)f < sizeof(names) / sizeof(names[0]) ? names[f] : "?";
}

#define MAXW 64
struct words {
	char buf[ROUTE_LINE_MAX + 1];
	char *w[MAXW];
	int n;
	bool indented; /* the line starts with white space */
	bool overflow; /* more than MAXW words */
};

/* Split line (len <= ROUTE_LINE_MAX) at white space; a '#' starts a
 * comment (ipflow and ip route never print one inside a line). */
static void split(struct words *ws, const char *line, size_t len, bool hash_comments)
{
	memcpy(ws->buf, line, len);
	ws->buf[len] = 0;
	ws->n = 0;
	ws->overflow = false;
	ws->indented = len && (line[0] == ' ' || line[0] == '\t');
	char *p = ws->buf;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\f' || *p == '\v')
			p++;
		if (!*p || (hash_comments && *p == '#'))
			break;
		if (ws->n == MAXW) {
			ws->overflow = true;
			break;
		}
		ws->w[ws->n++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\f' && *p != '\v')
			p++;
		if (*p)
			*p++ = 0;
	}
}

/* "ADDR" (af 0: either) into a[16]; the family, or 0. */
static int parse_addr(const char *s, int want, uint8_t a[16])
{
	memset(a, 0, 16);
	bool v6 = strchr(s, ':') != NULL;
	if (want && want != (v6 ? 6 : 4))
		return 0;
	if (v6)
		return inet_pton(AF_INET6, s, a) == 1 ? 6 : 0;
	return inet_pton(AF_INET, s, a) == 1 ? 4 : 0;
}

static bool parse_uint(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		x = x * 10 + (uint64_t)(*s - '0');
		if (x > max)
			return false;
	}
	*v = x;
	return true;
}

/* "A.B.C.D/N", "ADDR" (a host route), IPv6 the same. */
static bool parse_prefix(const char *s, struct route *r)
{
	char a[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (n == 0 || n >= sizeof(a))
		return false;
	memcpy(a, s, n);
	a[n] = 0;
	int af = parse_addr(a, 0, r->prefix);
	if (!af)
		return false;
	uint64_t plen = af == 4 ? 32 : 128;
	if (slash && !parse_uint(slash + 1, af == 4 ? 32 : 128, &plen))
		return false;
	r->af = (uint8_t)af;
	r->plen = (uint8_t)plen;
	return true;
}

/* AS number: plain (0..4294967295) or asdot X.Y (RFC 5396), an optional
 * "AS" in front. */
static bool parse_as(const char *s, uint32_t *as)
{
	if ((s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's'))
		s += 2;
	const char *dot = strchr(s, '.');
	uint64_t hi, lo;
	if (dot) {
		char h[8];
		size_t n = (size_t)(dot - s);
		if (n == 0 || n >= sizeof(h))
			return false;
		memcpy(h, s, n);
		h[n] = 0;
		if (!parse_uint(h, 65535, &hi) || !parse_uint(dot + 1, 65535, &lo))
			return false;
		*as = (uint32_t)(hi << 16 | lo);
		return true;
	}
	if (!parse_uint(s, UINT32_MAX, &lo))
		return false;
	*as = (uint32_t)lo;
	return true;
}

/* --- loader --------------------------------------------------------------- */

#define IFCACHE 8

struct route_loader {
	struct route_table *t;
	char name[256];
	struct route_load_opts o;
	struct route_load_stats st;
	unsigned lineno;
	int last_af;           /* ip route "default": the family of the file so far */
	struct words ws;
	/* a route still taking lines: ip route nexthop lines; a bird block */
	bool pend;
	struct route pr;
	unsigned pend_line;
	bool pend_primary;
	bool pend_have_nh;
	/* bird: the network being listed, and its chosen route so far */
	bool cand;
	struct route cr;
	unsigned cand_line;
	bool cand_primary;
	bool in_net;
	struct route net;      /* af, plen, prefix of the network */
	struct { char name[IF_NAMESIZE + 1]; uint32_t idx; } ifc[IFCACHE];
	unsigned nifc;
	/* routes read, added to t at finish in prefix order: a trie built in
	 * order has each insert's path in the CPU caches (a 1M-route file in
	 * random order costs several times more otherwise) */
	struct lroute { struct route r; unsigned line, seq; } *buf;
	size_t nbuf, capbuf;
};

static void diag(struct route_loader *l, unsigned line, bool warning, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void diag(struct route_loader *l, unsigned line, bool warning, const char *fmt, ...)
{
	char text[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (l->st.ndiag < ROUTE_DIAG_KEEP) {
		l->st.diag[l->st.ndiag].line = line;
		snprintf(l->st.diag[l->st.ndiag].text, sizeof(l->st.diag[0].text), "%s%.100s", warning ? "warning: " : "", text);
		l->st.ndiag++;
	}
	if (l->o.diag)
		l->o.diag(l->o.diag_arg, l->name, line, warning, text);
}

static void malformed(struct route_loader *l, const char *fmt, const char *word)
{
	l->st.malformed++;
	diag(l, l->lineno, false, fmt, word ? word : "");
}

static uint32_t ifindex_of(struct route_loader *l, const char *name, unsigned line)
{
	uint64_t v;
	if (parse_uint(name, UINT32_MAX, &v))
		return (uint32_t)v;
	if (strlen(name) > IF_NAMESIZE)
		goto unknown;
	for (unsigned i = 0; i < l->nifc && i < IFCACHE; i++)
		if (strcmp(l->ifc[i].name, name) == 0) {
			if (!l->ifc[i].idx)
				l->st.unknown_if++; /* said once, at its first line */
			return l->ifc[i].idx;
		}
	uint32_t idx = l->o.ifname ? l->o.ifname(l->o.ifname_arg, name) : if_nametoindex(name);
	unsigned slot = l->nifc++ % IFCACHE;
	snprintf(l->ifc[slot].name, sizeof(l->ifc[slot].name), "%s", name);
	l->ifc[slot].idx = idx;
	if (idx)
		return idx;
unknown:
	l->st.unknown_if++;
	diag(l, line, true, "interface %s is not known here: output interface 0 (on every line naming it)", name);
	return 0;
}

static void add(struct route_loader *l, const struct route *r, unsigned line)
{
	l->last_af = r->af;
	if (l->nbuf >= ROUTE_MAX || grow((void **)&l->buf, &l->capbuf, l->nbuf + 1, sizeof(*l->buf)) != 0) {
		l->st.over_limit++;
		diag(l, line, false, "route not added: table full (%u routes) or out of memory", ROUTE_MAX);
		return;
	}
	struct lroute *b = &l->buf[l->nbuf];
	b->r = *r;
	/* the prefix as stored (bits past plen cleared), for the order */
	unsigned alen = r->af == 4 ? 4 : 16;
	for (unsigned i = 0; i < 16; i++) {
		unsigned lo = i * 8;
		if (i >= alen || lo >= r->plen)
			b->r.prefix[i] = 0;
		else if (r->plen - lo < 8)
			b->r.prefix[i] &= (uint8_t)(0xff << (8 - (r->plen - lo)));
	}
	b->line = line;
	b->seq = (unsigned)l->nbuf++;
}

/* Family, prefix, length, line: integer compares of the prefix's
 * big-endian halves (their order is memcmp's). The order for qsort when
 * the radix sort below has no memory. */
static int lroute_cmp(const void *x, const void *y)
{
	const struct lroute *a = x, *b = y;
	if (a->r.af != b->r.af)
		return a->r.af < b->r.af ? -1 : 1;
	uint64_t p = peek_u64(a->r.prefix), q = peek_u64(b->r.prefix);
	if (p == q) {
		p = peek_u64(a->r.prefix + 8);
		q = peek_u64(b->r.prefix + 8);
	}
	if (p != q)
		return p < q ? -1 : 1;
	if (a->r.plen != b->r.plen)
		return a->r.plen < b->r.plen ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq; /* the later line replaces the earlier */
}

/* The same order by LSD radix sort of compact keys, 16 bits a pass: each
 * pass is stable, and the keys start in line order, so equal prefixes
 * keep their lines' order without a key for it. Passes whose digit is the
 * same in every key are skipped (an IPv4 key needs three: the length and
 * the address's two halves). qsort with lroute_cmp was 40 % of a 1.2
 * M-route load (24 M compares through a pointer, 72-byte moves). */
struct rkey {
	uint64_t hi, lo; /* the prefix, big-endian halves */
	uint32_t idx;    /* into the loader's buffer */
	uint8_t plen;
};

static unsigned rkey_digit(const struct rkey *k, unsigned pass)
{
	/* pass 0: the length; 1-4: lo, low digit first; 5-8: hi */
	if (pass == 0)
		return k->plen;
	uint64_t v = pass <= 4 ? k->lo : k->hi;
	return (unsigned)(v >> (16 * ((pass - 1) % 4)) & 0xffff);
}

/* Sort k[0..n) (tmp: room for n more); returns where the result is. */
static struct rkey *rkey_sort(struct rkey *k, struct rkey *tmp, size_t n, size_t *cnt)
{
	if (n < 2)
		return k;
	for (unsigned pass = 0; pass < 9; pass++) {
		memset(cnt, 0, 65536 * sizeof(*cnt));
		for (size_t i = 0; i < n; i++)
			cnt[rkey_digit(&k[i], pass)]++;
		if (cnt[rkey_digit(&k[0], pass)] == n)
			continue; /* one digit value: the order stands */
		size_t sum = 0;
		for (size_t d = 0; d < 65536; d++) {
			size_t c = cnt[d];
			cnt[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[cnt[rkey_digit(&k[i], pass)]++] = k[i];
		struct rkey *t = k;
		k = tmp;
		tmp = t;
	}
	return k;
}

static void add_one(struct route_loader *l, const struct lroute *b)
{
	bool rep = false;
	if (route_table_add(l->t, &b->r, &rep) != 0) {
		l->st.over_limit++;
		diag(l, b->line, false, "route not added: table full (%u routes) or out of memory", ROUTE_MAX);
		return;
	}
	l->st.routes++;
	if (rep)
		l->st.replaced++;
}

/* The sort's scratch arrays (tens of MB for a full table) are mapped and
 * unmapped directly: freed through malloc, a block under 32 MiB raises
 * glibc's mmap threshold, and the trie's growing arrays then come from
 * the heap and fragment it (+44 MB peak on a 1.2 M-route load). */
static void *scratch_new(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void scratch_free(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes);
}

static void add_all(struct route_loader *l)
{
	size_t n = l->nbuf;
	size_t kb = n * sizeof(struct rkey), cb = 65536 * sizeof(size_t), ob = n * sizeof(uint32_t);
	struct rkey *k = n ? scratch_new(kb) : NULL, *tmp = k ? scratch_new(kb) : NULL;
	size_t *cnt = tmp ? scratch_new(cb) : NULL;
	uint32_t *ord = cnt ? scratch_new(ob) : NULL;
	if (ord) {
		/* IPv4 first, then IPv6, each in line order */
		size_t n4 = 0;
		for (size_t i = 0; i < n; i++)
			n4 += l->buf[i].r.af == 4;
		size_t at[2] = { 0, n4 };
		for (size_t i = 0; i < n; i++) {
			const struct route *r = &l->buf[i].r;
			k[at[r->af != 4]++] = (struct rkey){ .hi = peek_u64(r->prefix), .lo = peek_u64(r->prefix + 8),
			                                      .idx = (uint32_t)i, .plen = r->plen };
		}
		const struct rkey *s4 = rkey_sort(k, tmp, n4, cnt);
		const struct rkey *s6 = rkey_sort(k + n4, tmp + n4, n - n4, cnt);
		for (size_t i = 0; i < n4; i++)
			ord[i] = s4[i].idx;
		for (size_t i = n4; i < n; i++)
			ord[i] = s6[i - n4].idx;
	}
	/* only the order is needed now: the keys go before the trie grows */
	scratch_free(k, kb);
	scratch_free(tmp, kb);
	scratch_free(cnt, cb);
	if (ord) {
		for (size_t i = 0; i < n; i++) {
			if (i + 8 < n)
				__builtin_prefetch(&l->buf[ord[i + 8]]);
			add_one(l, &l->buf[ord[i]]);
		}
		scratch_free(ord, ob);
	} else { /* no memory for the keys */
		if (n)
			qsort(l->buf, n, sizeof(*l->buf), lroute_cmp);
		for (size_t i = 0; i < n; i++)
			add_one(l, &l->buf[i]);
	}
	free(l->buf);
	l->buf = NULL;
	l->nbuf = l->capbuf = 0;
}

/* ipflow: PREFIX NEXTHOP ORIGIN-AS PEER-AS INTERFACE [BGP-NEXTHOP] */
static void line_ipflow(struct route_loader *l, struct words *ws)
{
	struct route r;
	memset(&r, 0, sizeof(r));
	if (ws->n < 5 || ws->n > 6) {
		l->st.malformed++;
		diag(l, l->lineno, false, "expected PREFIX NEXTHOP ORIGIN-AS PEER-AS INTERFACE [BGP-NEXTHOP], got %d words",
		     ws->n);
		return;
	}
	if (!parse_prefix(ws->w[0], &r))
		return malformed(l, "'%s' is not a prefix (A.B.C.D/N or X:X::X/N)", ws->w[0]);
	if (strcmp(ws->w[1], "-") != 0 && parse_addr(ws->w[1], r.af, r.nexthop) == 0)
		return malformed(l, "next hop '%s' is not an address of the prefix's family", ws->w[1]);
	if (strcmp(ws->w[2], "-") != 0 && !parse_as(ws->w[2], &r.origin_as))
		return malformed(l, "origin AS '%s' is not an AS number", ws->w[2]);
	if (strcmp(ws->w[3], "-") != 0 && !parse_as(ws->w[3], &r.peer_as))
		return malformed(l, "peer AS '%s' is not an AS number", ws->w[3]);
	if (ws->n == 6 && strcmp(ws->w[5], "-") != 0 && parse_addr(ws->w[5], r.af, r.bgp_nexthop) == 0)
		return malformed(l, "BGP next hop '%s' is not an address of the prefix's family", ws->w[5]);
	if (strcmp(ws->w[4], "-") != 0)
		r.ifindex = ifindex_of(l, ws->w[4], l->lineno);
	add(l, &r, l->lineno);
}

/* --- ip route ---- */

static void flush_pending(struct route_loader *l)
{
	if (l->pend)
		add(l, &l->pr, l->pend_line);
	l->pend = false;
}

/* via / dev words of an ip route line or nexthop line into r. */
static bool iproute_hops(struct route_loader *l, struct words *ws, int from, struct route *r, bool *have_nh)
{
	for (int i = from; i < ws->n; i++) {
		const char *w = ws->w[i];
		if (strcmp(w, "via") == 0 && i + 1 < ws->n) {
			const char *a = ws->w[++i];
			if ((strcmp(a, "inet") == 0 || strcmp(a, "inet6") == 0) && i + 1 < ws->n)
				a = ws->w[++i];
			if (*have_nh)
				continue; /* multipath: the first next hop is the record's */
			uint8_t nh[16];
			int af = parse_addr(a, 0, nh);
			if (!af) {
				malformed(l, "next hop '%s' is not an address", a);
				return false;
			}
			if (af != r->af) {
				diag(l, l->lineno, true, "next hop %s is of the other family: next hop left empty", a);
			} else {
				memcpy(r->nexthop, nh, 16);
			}
			*have_nh = true;
		} else if (strcmp(w, "dev") == 0 && i + 1 < ws->n) {
			const char *d = ws->w[++i];
			if (!r->ifindex)
				r->ifindex = ifindex_of(l, d, l->lineno);
		}
	}
	return true;
}

static void line_iproute(struct route_loader *l, struct words *ws)
{
	static const char *const use[] = { "unicast", "blackhole", "unreachable", "prohibit" };
	static const char *const skip[] = { "local", "broadcast", "multicast", "anycast", "throw", "nat" };
	if (ws->indented && strcmp(ws->w[0], "nexthop") == 0) {
		if (!l->pend) {
			l->st.skipped++;
			return;
		}
		iproute_hops(l, ws, 1, &l->pr, &l->pend_have_nh);
		return;
	}
	flush_pending(l);
	int i = 0;
	for (size_t k = 0; k < sizeof(skip) / sizeof(skip[0]); k++)
		if (strcmp(ws->w[0], skip[k]) == 0) {
			l->st.skipped++;
			return;
		}
	for (size_t k = 0; k < sizeof(use) / sizeof(use[0]); k++)
		if (strcmp(ws->w[0], use[k]) == 0)
			i = 1;
	if (i >= ws->n)
		return malformed(l, "route type without a prefix%s", NULL);
	struct route r;
	memset(&r, 0, sizeof(r));
	const char *pfx = ws->w[i];
	if (strcmp(pfx, "default") == 0) {
		r.af = (uint8_t)(l->last_af ? l->last_af : 4);
		for (int j = i + 1; j + 1 < ws->n; j++) /* the family of the next hop says it best */
			if (strcmp(ws->w[j], "via") == 0) {
				uint8_t nh[16];
				const char *a = ws->w[j + 1];
				if ((strcmp(a, "inet") == 0 || strcmp(a, "inet6") == 0) && j + 2 < ws->n)
					break;
				int af = parse_addr(a, 0, nh);
				if (af)
					r.af = (uint8_t)af;
				break;
			}
		r.plen = 0;
	} else if (!parse_prefix(pfx, &r)) {
		return malformed(l, "'%s' is not a prefix or route type", pfx);
	}
	for (int j = i + 1; j + 1 < ws->n; j++)
		if (strcmp(ws->w[j], "table") == 0 && strcmp(ws->w[j + 1], "main") != 0 &&
		    strcmp(ws->w[j + 1], "254") != 0) {
			l->st.skipped++; /* policy-routing tables: not the main table */
			return;
		}
	bool have_nh = false;
	if (!iproute_hops(l, ws, i + 1, &r, &have_nh))
		return;
	l->pend = true;
	l->pr = r;
	l->pend_line = l->lineno;
	l->pend_have_nh = have_nh;
}

/* --- birdc show route ---- */

static void bird_end_block(struct route_loader *l)
{
	if (!l->pend)
		return;
	l->pend = false;
	if (!l->cand || (l->pend_primary && !l->cand_primary)) {
		if (l->cand)
			l->st.skipped++;
		l->cand = true;
		l->cr = l->pr;
		l->cand_line = l->pend_line;
		l->cand_primary = l->pend_primary;
	} else {
		l->st.skipped++; /* another route of the network: not the primary one */
	}
}

static void bird_end_net(struct route_loader *l)
{
	bird_end_block(l);
	if (l->cand)
		add(l, &l->cr, l->cand_line);
	l->cand = false;
	l->in_net = false;
}

/* "[AS65001i]" (origin AS and origin code) */
static bool bird_as_word(const char *w, uint32_t *as)
{
	if (strncmp(w, "[AS", 3) != 0)
		return false;
	char b[16];
	size_t n = 0;
	for (const char *p = w + 3; *p >= '0' && *p <= '9' && n < sizeof(b) - 1; p++)
		b[n++] = *p;
	b[n] = 0;
	uint64_t v;
	if (!n || !parse_uint(b, UINT32_MAX, &v))
		return false;
	*as = (uint32_t)v;
	return true;
}

/* The words of a route line after the network (BIRD 2: "unicast [proto
 * time] * (pref) [ASnnni]"; BIRD 1: "via X on IF [proto time] * ..."). */
static void bird_route_words(struct route_loader *l, struct words *ws, int from)
{
	struct route *r = &l->pr;
	bool in_br = false;
	for (int i = from; i < ws->n; i++) {
		const char *w = ws->w[i];
		size_t wl = strlen(w);
		if (in_br) {
			if (w[wl - 1] == ']')
				in_br = false;
			continue;
		}
		uint32_t as;
		if (bird_as_word(w, &as)) {
			if (!r->origin_as)
				r->origin_as = as;
			continue;
		}
		if (w[0] == '[') {
			in_br = w[wl - 1] != ']';
			continue;
		}
		if (strcmp(w, "*") == 0) {
			l->pend_primary = true;
		} else if (strcmp(w, "via") == 0 && i + 1 < ws->n) {
			const char *a = ws->w[++i];
			uint8_t nh[16];
			int af = parse_addr(a, 0, nh);
			if (!af) {
				malformed(l, "next hop '%s' is not an address", a);
				return;
			}
			if (!l->pend_have_nh && af == r->af)
				memcpy(r->nexthop, nh, 16);
			l->pend_have_nh = true;
		} else if ((strcmp(w, "on") == 0 || strcmp(w, "dev") == 0) && i + 1 < ws->n) {
			const char *d = ws->w[++i];
			if (!r->ifindex)
				r->ifindex = ifindex_of(l, d, l->lineno);
		}
	}
}

static void line_bird(struct route_loader *l, struct words *ws)
{
	const char *w0 = ws->w[0];
	if (!ws->indented) {
		if (strcmp(w0, "BIRD") == 0 || strcmp(w0, "Table") == 0 || strcmp(w0, "Access") == 0 ||
		    strcmp(w0, "Network") == 0) {
			bird_end_net(l);
			l->st.skipped++;
			return;
		}
		struct route n;
		memset(&n, 0, sizeof(n));
		if (!parse_prefix(w0, &n)) {
			bird_end_net(l);
			return malformed(l, "'%s' is not a network (A.B.C.D/N or X:X::X/N)", w0);
		}
		bird_end_net(l);
		l->in_net = true;
		l->net = n;
		l->pend = true;
		l->pr = n;
		l->pend_line = l->lineno;
		l->pend_primary = false;
		l->pend_have_nh = false;
		bird_route_words(l, ws, 1);
		return;
	}
	/* indented: another route of the network (BIRD 2 "unicast [proto
	 * ...] ...", BIRD 1 "via X on IF [proto ...] ..."), a next hop of the
	 * route being read (BIRD 2 "via X on IF", "dev IF"), or an attribute */
	static const char *const types[] = { "unicast", "blackhole", "unreachable", "prohibit" };
	bool type = false, hop = strcmp(w0, "via") == 0 || strcmp(w0, "dev") == 0, bracket = false;
	for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++)
		type |= strcmp(w0, types[k]) == 0;
	for (int i = 1; i < ws->n; i++)
		bracket |= ws->w[i][0] == '[';
	if (type || (hop && bracket)) {
		if (!l->in_net)
			return malformed(l, "a route line without a network before it%s", NULL);
		bird_end_block(l);
		l->pend = true;
		l->pr = l->net;
		l->pend_line = l->lineno;
		l->pend_primary = false;
		l->pend_have_nh = false;
		bird_route_words(l, ws, type ? 1 : 0);
		return;
	}
	if (hop) {
		if (!l->pend) {
			l->st.skipped++;
			return;
		}
		bird_route_words(l, ws, 0);
		return;
	}
	if (!l->pend) {
		l->st.skipped++;
		return;
	}
	if (strcmp(w0, "BGP.as_path:") == 0) {
		uint32_t first = 0, last = 0;
		int n = 0;
		for (int i = 1; i < ws->n; i++) {
			char b[16];
			size_t m = 0;
			for (const char *p = ws->w[i]; *p && m < sizeof(b) - 1; p++)
				if (*p != '{' && *p != '}' && *p != '(' && *p != ')' && *p != ',')
					b[m++] = *p;
			b[m] = 0;
			if (!m)
				continue;
			uint32_t as;
			if (!parse_as(b, &as))
				return malformed(l, "AS path element '%s' is not an AS number", ws->w[i]);
			if (!n++)
				first = as;
			last = as;
		}
		l->pr.origin_as = last;
		l->pr.peer_as = first;
	} else if (strcmp(w0, "BGP.next_hop:") == 0 && ws->n > 1) {
		if (parse_addr(ws->w[1], l->pr.af, l->pr.bgp_nexthop) == 0)
			diag(l, l->lineno, true, "BGP next hop '%s' is not an address of the network's family: left empty",
			     ws->w[1]);
	} else {
		l->st.skipped++; /* Type:, BGP.origin:, BGP.local_pref:, ... */
	}
}

/* --- format recognition ---- */

static enum route_fmt detect(const struct words *ws)
{
	static const char *const iptype[] = { "default", "unicast", "blackhole", "unreachable", "prohibit",
	                                      "local", "broadcast", "multicast", "anycast", "throw", "nat" };
	static const char *const ipkw[] = { "via", "dev", "proto", "metric", "table", "scope", "nhid", "src" };
	const char *w0 = ws->w[0];
	if (strcmp(w0, "BIRD") == 0 || strcmp(w0, "Table") == 0)
		return ROUTE_FMT_BIRD;
	for (int i = 1; i < ws->n; i++)
		if (ws->w[i][0] == '[')
			return ROUTE_FMT_BIRD;
	for (size_t k = 0; k < sizeof(iptype) / sizeof(iptype[0]); k++)
		if (strcmp(w0, iptype[k]) == 0)
			return ROUTE_FMT_IPROUTE;
	if (ws->n >= 2)
		for (size_t k = 0; k < sizeof(ipkw) / sizeof(ipkw[0]); k++)
			if (strcmp(ws->w[1], ipkw[k]) == 0)
				return ROUTE_FMT_IPROUTE;
	return ROUTE_FMT_IPFLOW;
}

struct route_loader *route_loader_new(struct route_table *t, const char *name, const struct route_load_opts *o)
{
	struct route_loader *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->t = t;
	snprintf(l->name, sizeof(l->name), "%s", name ? name : "routes");
	if (o)
		l->o = *o;
	return l;
}

void route_loader_line(struct route_loader *l, const char *line, size_t len)
{
	l->lineno++;
	l->st.lines++;
	if (len > ROUTE_LINE_MAX) {
		l->st.malformed++;
		diag(l, l->lineno, false, "line longer than %d bytes", ROUTE_LINE_MAX);
		return;
	}
	/* bird prints no comments; ipflow and ip route files may have them */
	struct words *ws = &l->ws;
	split(ws, line, len, l->st.fmt != ROUTE_FMT_BIRD);
	if (memchr(line, 0, len)) {
		l->st.malformed++;
		diag(l, l->lineno, false, "NUL byte in the line");
		return;
	}
	if (ws->n == 0) {
		if (l->st.fmt == ROUTE_FMT_BIRD)
			bird_end_net(l); /* a blank line ends bird's listing of a network */
		return;
	}
	if (ws->overflow) {
		l->st.malformed++;
		diag(l, l->lineno, false, "more than %d words", MAXW);
		return;
	}
	if (l->st.fmt == ROUTE_FMT_NONE)
		l->st.fmt = detect(ws);
	switch (l->st.fmt) {
	case ROUTE_FMT_BIRD: line_bird(l, ws); break;
	case ROUTE_FMT_IPROUTE: line_iproute(l, ws); break;
	default: line_ipflow(l, ws); break;
	}
}

void route_loader_finish(struct route_loader *l, struct route_load_stats *st)
{
	if (!l)
		return;
	if (l->st.fmt == ROUTE_FMT_BIRD)
		bird_end_net(l);
	else
		flush_pending(l);
	add_all(l);
	if (st)
		*st = l->st;
	free(l);
}

/* Lines of data through a bounded reader; a line longer than
 * ROUTE_LINE_MAX is handed over at ROUTE_LINE_MAX + 1 bytes (the loader
 * reports it), its rest dropped. */
struct linebuf {
	char b[ROUTE_LINE_MAX + 1];
	size_t n;
	bool over;
};

static void feed(struct route_loader *l, struct linebuf *lb, const void *data, size_t len, bool eof)
{
	struct rbuf r;
	rbuf_init(&r, data, len);
	while (rbuf_left(&r)) {
		const uint8_t *p = rbuf_cur(&r);
		const uint8_t *nl = memchr(p, '\n', rbuf_left(&r));
		size_t n = nl ? (size_t)(nl - p) : rbuf_left(&r);
		const uint8_t *q = rbuf_take(&r, n);
		size_t room = sizeof(lb->b) - lb->n;
		size_t c = n < room ? n : room;
		memcpy(lb->b + lb->n, q, c);
		lb->n += c;
		if (c < n)
			lb->over = true;
		if (!nl)
			break;
		rbuf_skip(&r, 1);
		size_t m = lb->n;
		if (!lb->over && m && lb->b[m - 1] == '\r')
			m--;
		route_loader_line(l, lb->b, lb->over ? ROUTE_LINE_MAX + 1 : m);
		lb->n = 0;
		lb->over = false;
	}
	if (eof && (lb->n || lb->over)) {
		size_t m = lb->n;
		if (!lb->over && m && lb->b[m - 1] == '\r')
			m--;
		route_loader_line(l, lb->b, lb->over ? ROUTE_LINE_MAX + 1 : m);
		lb->n = 0;
		lb->over = false;
	}
}

void route_load_buf(struct route_table *t, const char *name, const void *data, size_t len,
                    const struct route_load_opts *o, struct route_load_stats *st)
{
	struct route_loader *l = route_loader_new(t, name, o);
	struct linebuf *lb = malloc(sizeof(*lb));
	if (!l || !lb) {
		free(lb);
		route_loader_finish(l, st);
		return;
	}
	lb->n = 0;
	lb->over = false;
	feed(l, lb, data, len, true);
	free(lb);
	route_loader_finish(l, st);
	if (route_table_count(t, 4) + route_table_count(t, 6) >= ROUTE_COMPILE_MIN)
		route_table_compile(t); /* out of memory: lookups walk the trie */
}

int route_load_file(const char *path, const struct route_load_opts *o, struct route_table **out,
                    struct route_load_stats *st, char *err, size_t errlen)
{
	*out = NULL;
	memset(st, 0, sizeof(*st));
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "route table %s: %s", path, strerror(errno));
		return -1;
	}
	int rc = -1;
	struct route_table *t = route_table_new();
	struct route_loader *l = t ? route_loader_new(t, path, o) : NULL;
	struct linebuf *lb = malloc(sizeof(*lb));
	enum { CHUNK = 65536 };
	uint8_t *chunk = malloc(CHUNK);
	if (!t || !l || !lb || !chunk) {
		snprintf(err, errlen, "route table %s: out of memory", path);
		goto out;
	}
	lb->n = 0;
	lb->over = false;
	size_t n;
	while ((n = fread(chunk, 1, CHUNK, f)) > 0)
		feed(l, lb, chunk, n, false);
	if (ferror(f)) {
		snprintf(err, errlen, "route table %s: read error: %s", path, strerror(errno));
		goto out;
	}
	feed(l, lb, "", 0, true);
	route_loader_finish(l, st);
	l = NULL;
	if (route_table_count(t, 4) + route_table_count(t, 6) >= ROUTE_COMPILE_MIN)
		route_table_compile(t); /* out of memory: lookups walk the trie */
	*out = t;
	t = NULL;
	rc = 0;
out:
	if (l)
		route_loader_finish(l, NULL);
	route_table_free(t);
	free(lb);
	free(chunk);
	fclose(f);
	return rc;
}

/* --- annotate ------------------------------------------------------------- */

unsigned route_annotate(const struct route_table *t, bool peer, struct flowrec *r)
{
	int af = r->key.af;
	const struct route *s = route_lookup(t, af, r->key.src);
	const struct route *d = route_lookup(t, af, r->key.dst);
	r->src_as = s ? (peer ? s->peer_as : s->origin_as) : 0;
	r->src_mask = s ? s->plen : 0;
	if (d) {
		r->dst_as = peer ? d->peer_as : d->origin_as;
		r->dst_mask = d->plen;
		memcpy(r->nexthop, d->nexthop, 16);
		memcpy(r->bgp_nexthop, d->bgp_nexthop, 16);
		if (d->ifindex)
			r->if_out = d->ifindex;
	} else {
		r->dst_as = 0;
		r->dst_mask = 0;
		memset(r->nexthop, 0, 16);
		memset(r->bgp_nexthop, 0, 16);
	}
	return (s ? 1u : 0u) | (d ? 2u : 0u);
}
