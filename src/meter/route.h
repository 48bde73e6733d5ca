/* route.h — routing attributes: a routing table loaded from a file,
 * longest-prefix match, and the layer that fills a flow record's AS
 * numbers, prefix lengths, next hops and output interface from it.
 *
 * Table: one path-compressed binary trie per address family over 128-bit
 * keys (IPv4 in the top 32 bits), nodes in one array addressed by index.
 * Insert costs O(prefix length); a trie lookup visits one node per branch
 * on the address's path (a 1M-route table: about 20, each a likely cache
 * miss), two 64-bit masked compares a node, no allocation. Once loaded a
 * table is compiled (route_table_compile): IPv4 lookups become at most
 * three reads of stride tables, IPv6 ones skip the first 16 bits.
 *
 * Files (route_load_file), one format a file, recognised from its first
 * line that is neither blank nor a comment (see doc/ipflow.conf.5):
 *   ipflow  PREFIX NEXTHOP ORIGIN-AS PEER-AS INTERFACE [BGP-NEXTHOP]
 *           ('-' for none; AS plain or asdot; interface ifindex or name)
 *   iproute the output of `ip route` / `ip -6 route` (`ip route show
 *           table all` too): via, dev, nexthop lines; no AS numbers
 *   bird    the output of `birdc show route [all]` (BIRD 1 and 2): the
 *           primary route of each network ('*'), via/dev, BGP.as_path
 *           (origin AS = last AS of the path, peer AS = first), [ASnnn]
 *           when there is no path, BGP.next_hop
 * Malformed lines are counted and reported with file:line; they never
 * stop the rest of the file. Every byte is read through a bounded reader
 * (lines of at most ROUTE_LINE_MAX bytes; longer ones are malformed).
 *
 * Not thread-safe; a table is immutable once loaded (the layer swaps
 * whole tables on reload). */
#ifndef IPFLOW_ROUTE_H
#define IPFLOW_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cache/flowrec.h"

#define ROUTE_LINE_MAX 4096
#define ROUTE_MAX 8000000u   /* routes a table holds; more are counted (over_limit) */
#define ROUTE_DIAG_KEEP 8    /* malformed-line messages kept for `show ip route summary` */
#define ROUTE_COMPILE_MIN 64 /* the loaders compile tables of this many routes or more */

struct route {
	uint8_t af;              /* 4 or 6 */
	uint8_t plen;            /* prefix length: the record's src_mask / dst_mask */
	uint8_t prefix[16];      /* network (bits past plen are zero) */
	uint8_t nexthop[16];     /* ipNextHop; zero = directly connected / none */
	uint8_t bgp_nexthop[16]; /* bgpNextHop; zero = none */
	uint32_t origin_as;      /* origin AS: last AS of the AS path */
	uint32_t peer_as;        /* peer AS: first AS of the AS path */
	uint32_t ifindex;        /* output interface; 0 = unknown */
};

struct route_table;

struct route_table *route_table_new(void);
void route_table_free(struct route_table *t); /* NULL is a no-op */

/* Add r (copied; bits of the prefix past plen are cleared). A route for
 * a prefix already present replaces it (counted in *replaced if not
 * NULL). 0, or -1: out of memory, ROUTE_MAX reached, or r invalid. */
int route_table_add(struct route_table *t, const struct route *r, bool *replaced);

/* The longest-prefix match for addr (4 or 16 bytes by af), or NULL. The
 * pointer stays valid while t lives and is neither added to nor compiled. */
const struct route *route_lookup(const struct route_table *t, int af, const uint8_t *addr);

size_t route_table_count(const struct route_table *t, int af);
size_t route_table_memory(const struct route_table *t); /* bytes allocated for t */

/* Build the lookup tables of t (route_lookup then costs at most three
 * table reads for IPv4: stride tables 16-8-8 with the routes pushed to
 * the leaves, 256 KiB + 1 KiB per /16 holding longer routes + 1 KiB per
 * /24 holding longer ones; IPv6 enters the trie below its first 16 bits,
 * 512 KiB, or below its first 32 in a /16 holding more than 4096 longer
 * routes, 512 KiB each, 64 such /16s at most). An add drops them (lookups walk the trie until the next
 * compile). 0, or -1 out of memory (t still answers, from the trie). The
 * loaders compile what they loaded when it has ROUTE_COMPILE_MIN routes
 * or more (a smaller trie stays in the CPU caches; compiling costs about
 * 1 MiB of tables and a pass over them). */
int route_table_compile(struct route_table *t);

/* --- loading ------------------------------------------------------------- */

enum route_fmt { ROUTE_FMT_NONE = 0, ROUTE_FMT_IPFLOW, ROUTE_FMT_IPROUTE, ROUTE_FMT_BIRD };
const char *route_fmt_name(enum route_fmt f);

/* Interface name to ifindex (0: unknown). NULL in route_load_opts means
 * if_nametoindex(3). */
typedef uint32_t (*route_ifname_fn)(void *arg, const char *name);

/* One diagnostic: file:line: text. warning: the line was used (e.g. an
 * interface name this host does not know); else it was skipped. */
typedef void (*route_diag_fn)(void *arg, const char *file, unsigned line, bool warning, const char *text);

struct route_load_opts {
	route_ifname_fn ifname;
	void *ifname_arg;
	route_diag_fn diag;
	void *diag_arg;
};

struct route_load_stats {
	enum route_fmt fmt;
	unsigned lines;          /* lines read */
	unsigned routes;         /* routes added (replacements included) */
	unsigned replaced;       /* a prefix given again: the later line wins */
	unsigned skipped;        /* well-formed lines that are not routes (headers, local/broadcast, non-primary...) */
	unsigned malformed;      /* lines that could not be read */
	unsigned unknown_if;     /* interface names not known here (route kept, ifindex 0) */
	unsigned over_limit;     /* routes past ROUTE_MAX */
	unsigned ndiag;          /* messages kept in diag[] (the first ROUTE_DIAG_KEEP) */
	struct { unsigned line; char text[120]; } diag[ROUTE_DIAG_KEEP];
};

/* Streaming loader: the same entry points serve a file and the fuzzer.
 *   struct route_loader *l = route_loader_new(t, "routes.txt", &opts);
 *   route_loader_line(l, line, len);  ... one call a line (no newline)
 *   route_loader_finish(l, &stats);   // frees l
 * Routes are kept as lines come and added to t at finish, in prefix
 * order (later lines for the same prefix still win); t stays the
 * caller's. */
struct route_loader;
struct route_loader *route_loader_new(struct route_table *t, const char *name, const struct route_load_opts *o);
void route_loader_line(struct route_loader *l, const char *line, size_t len);
void route_loader_finish(struct route_loader *l, struct route_load_stats *st);

/* Parse a whole buffer (lines split at \n; \r before it dropped), then
 * compile t (see route_table_compile). */
void route_load_buf(struct route_table *t, const char *name, const void *data, size_t len,
                    const struct route_load_opts *o, struct route_load_stats *st);

/* Load path into a new table: *out, or NULL and -1 with err when the file
 * cannot be opened or read (or memory runs out). Malformed lines do not
 * fail it: they are in st. */
int route_load_file(const char *path, const struct route_load_opts *o, struct route_table **out,
                    struct route_load_stats *st, char *err, size_t errlen);

/* --- the layer (ipflowd) --------------------------------------------------
 *
 *   struct route_layer *rl = route_layer_new();
 *   struct rt_hooks h;
 *   route_layer_hooks(rl, &h);
 *   rt_add_hooks(rt, &h);         // before rt_start
 *   ...
 *   route_layer_free(rl);         // after rt_free
 *
 * The table named by `ipflow route-table FILE` (ipflowd --routes FILE) is
 * loaded at start and again on every reload (SIGHUP, `ipflow reload`),
 * unless it is still the file loaded (same device, inode, size and
 * modification time: the table is kept). A reload whose file cannot be read,
 * or has malformed lines and not one route, is refused: the old table
 * keeps running. With a table, every main-cache record gets
 *   src_as, dst_as   origin AS of the source / destination route, or its
 *                    peer AS with `ip flow-export version N peer-as`
 *   src_mask, dst_mask  prefix length of the matched routes (0: none)
 *   nexthop, bgp_nexthop  of the destination route (zero: none)
 *   if_out           the destination route's interface, when it has one
 * (a side without a route gets zeros; if_out is then left as metered).
 * Without a table records are left as they are. */
struct route_layer;
struct rt_hooks;

struct route_layer *route_layer_new(void);
void route_layer_free(struct route_layer *rl); /* NULL is a no-op */
void route_layer_hooks(struct route_layer *rl, struct rt_hooks *h);

/* Annotate r from t (peer: peer AS instead of origin AS); also for tests
 * and the benchmark. Returns which sides matched a route: 1 source, 2
 * destination. */
unsigned route_annotate(const struct route_table *t, bool peer, struct flowrec *r);

/* `show ip route summary` (also the --stats lines, with prefix "") */
void route_layer_show(struct route_layer *rl, FILE *out, bool json);

#endif
