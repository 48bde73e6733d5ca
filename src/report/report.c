/* report.c — the report engine: key table, parsers, filter, aggregation
 * and top-N selection (semantics in report.h). */
#include "report/report.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/bytes.h"
#include "lib/err.h"
#include "lib/hash.h"

/* ------------------------------------------------------------ tables */

static const struct report_key_info keys[RK_MAX_] = {
	[RK_SRCADDR] = { "srcaddr", "source address", RKIND_ADDR, false,
	                 { "sourceIPv4Address/sourceIPv6Address", NULL } },
	[RK_DSTADDR] = { "dstaddr", "destination address", RKIND_ADDR, false,
	                 { "destinationIPv4Address/destinationIPv6Address", NULL } },
	[RK_ADDR] = { "addr", "address", RKIND_ADDR, true,
	              { "sourceIPv4Address/sourceIPv6Address", "destinationIPv4Address/destinationIPv6Address" } },
	[RK_SRCPORT] = { "srcport", "source port", RKIND_PORT, false, { "sourceTransportPort", NULL } },
	[RK_DSTPORT] = { "dstport", "destination port", RKIND_PORT, false, { "destinationTransportPort", NULL } },
	[RK_PORT] = { "port", "port", RKIND_PORT, true, { "sourceTransportPort", "destinationTransportPort" } },
	[RK_PROTO] = { "proto", "protocol", RKIND_PROTO, false, { "protocolIdentifier", NULL } },
	[RK_SRCAS] = { "srcas", "source AS", RKIND_AS, false, { "bgpSourceAsNumber", NULL } },
	[RK_DSTAS] = { "dstas", "destination AS", RKIND_AS, false, { "bgpDestinationAsNumber", NULL } },
	[RK_AS] = { "as", "AS", RKIND_AS, true, { "bgpSourceAsNumber", "bgpDestinationAsNumber" } },
	[RK_INIF] = { "inif", "input interface", RKIND_IF, false, { "ingressInterface", NULL } },
	[RK_OUTIF] = { "outif", "output interface", RKIND_IF, false, { "egressInterface", NULL } },
	[RK_EXPORTER] = { "exporter", "exporter", RKIND_ADDR, false, { "exporterIPv4Address/exporterIPv6Address", NULL } },
};

static const char *const order_names[RO_MAX_] = { [RO_BYTES] = "bytes", [RO_PACKETS] = "packets", [RO_FLOWS] = "flows" };
static const char *const fmt_names[RF_MAX_] = { [RF_TEXT] = "text", [RF_CSV] = "csv", [RF_JSON] = "json" };

/* IANA protocol numbers by the names operators type. */
static const struct proto_name {
	const char *name;
	uint8_t num;
} protos[] = {
	{ "icmp", 1 }, { "igmp", 2 }, { "ipip", 4 }, { "tcp", 6 }, { "egp", 8 }, { "udp", 17 }, { "ipv6", 41 },
	{ "rsvp", 46 }, { "gre", 47 }, { "esp", 50 }, { "ah", 51 }, { "icmp6", 58 }, { "ipv6-icmp", 58 },
	{ "eigrp", 88 }, { "ospf", 89 }, { "pim", 103 }, { "vrrp", 112 }, { "l2tp", 115 }, { "sctp", 132 },
	{ "dccp", 33 }, { "udplite", 136 },
};
#define NPROTOS (sizeof(protos) / sizeof(protos[0]))

const struct report_key_info *report_key_info(enum report_key k)
{
	return (unsigned)k < RK_MAX_ ? &keys[k] : NULL;
}

int report_key_by_name(const char *s)
{
	for (int i = 0; i < RK_MAX_; i++)
		if (strcmp(keys[i].name, s) == 0)
			return i;
	return -1;
}

int report_order_by_name(const char *s)
{
	for (int i = 0; i < RO_MAX_; i++)
		if (strcmp(order_names[i], s) == 0)
			return i;
	return -1;
}

int report_fmt_by_name(const char *s)
{
	for (int i = 0; i < RF_MAX_; i++)
		if (strcmp(fmt_names[i], s) == 0)
			return i;
	return -1;
}

const char *report_order_name(enum report_order o)
{
	return (unsigned)o < RO_MAX_ ? order_names[o] : "?";
}

const char *report_proto_name(unsigned proto)
{
	for (size_t i = 0; i < NPROTOS; i++)
		if (protos[i].num == proto)
			return protos[i].name;
	return NULL;
}

void report_query_init(struct report_query *q)
{
	memset(q, 0, sizeof(*q));
	q->to_us = UINT64_MAX;
	q->port = -1;
	q->proto = -1;
	q->key = RK_SRCADDR;
	q->order = RO_BYTES;
	q->top = 10;
}

void report_result_free(struct report_result *res)
{
	if (!res)
		return;
	free(res->rows);
	res->rows = NULL;
	res->nrows = 0;
}

/* ------------------------------------------------------------ parsers */

/* n digits at *s into *v, advancing; -1 if they are not all digits. */
static int num(const char **s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, (*s)++) {
		if (**s < '0' || **s > '9')
			return -1;
		*v = *v * 10 + (**s - '0');
	}
	return 0;
}

int report_parse_time(const char *s, uint64_t *us)
{
	const char *p = s;
	if (*p == 0)
		return ERR_FORMAT;
	if (strspn(p, "0123456789") == strlen(p)) {
		if (strlen(p) > 12)
			return ERR_FORMAT;
		*us = strtoull(p, NULL, 10) * 1000000u;
		return ERR_OK;
	}
	int Y, M, D, h = 0, m = 0, sec = 0;
	long frac_us = 0;
	if (num(&p, 4, &Y) || *p++ != '-' || num(&p, 2, &M) || *p++ != '-' || num(&p, 2, &D))
		return ERR_FORMAT;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (num(&p, 2, &h) || *p++ != ':' || num(&p, 2, &m))
			return ERR_FORMAT;
		if (*p == ':') {
			p++;
			if (num(&p, 2, &sec))
				return ERR_FORMAT;
			if (*p == '.' || *p == ',') {
				p++;
				long scale = 100000;
				if (*p < '0' || *p > '9')
					return ERR_FORMAT;
				for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
					frac_us += scale > 0 ? (*p - '0') * scale : 0;
			}
		}
	}
	long off_s = 0;
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om;
		if (num(&p, 2, &oh))
			return ERR_FORMAT;
		if (*p == ':')
			p++;
		if (num(&p, 2, &om) || oh > 23 || om > 59)
			return ERR_FORMAT;
		off_s = sign * (oh * 3600L + om * 60L);
	}
	if (*p != 0 || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60 || Y < 1970)
		return ERR_FORMAT;
	struct tm tm = { .tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h, .tm_min = m, .tm_sec = sec };
	time_t t = timegm(&tm);
	if (t == (time_t)-1 || tm.tm_mday != D) /* timegm normalises 31 April to 1 May: refuse */
		return ERR_FORMAT;
	int64_t v = (int64_t)t - off_s;
	if (v < 0)
		return ERR_FORMAT;
	*us = (uint64_t)v * 1000000u + (uint64_t)frac_us;
	return ERR_OK;
}

int report_parse_prefix(const char *s, struct report_prefix *p)
{
	char a[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	memset(p, 0, sizeof(*p));
	if (n == 0 || n >= sizeof(a))
		return ERR_FORMAT;
	memcpy(a, s, n);
	a[n] = 0;
	int max;
	if (inet_pton(AF_INET, a, p->addr) == 1) {
		p->af = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, a, p->addr) == 1) {
		p->af = 6;
		max = 128;
	} else {
		return ERR_FORMAT;
	}
	int len = max;
	if (slash) {
		const char *q = slash + 1;
		size_t d = strspn(q, "0123456789");
		if (d == 0 || d > 3 || q[d] != 0 || (len = atoi(q)) > max) {
			p->af = 0;
			return ERR_FORMAT;
		}
	}
	p->len = (uint8_t)len;
	for (int i = len; i < 128; i++)
		p->addr[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	return ERR_OK;
}

int report_parse_proto(const char *s, int16_t *proto)
{
	size_t d = strspn(s, "0123456789");
	if (d && s[d] == 0 && d <= 3 && atoi(s) <= 255) {
		*proto = (int16_t)atoi(s);
		return ERR_OK;
	}
	for (size_t i = 0; i < NPROTOS; i++) {
		if (strcasecmp(protos[i].name, s) == 0) {
			*proto = protos[i].num;
			return ERR_OK;
		}
	}
	return ERR_FORMAT;
}

/* ------------------------------------------------------------ filter */

static bool has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 132 || proto == 33 || proto == 136;
}

static bool in_prefix(const struct report_prefix *p, uint8_t af, const uint8_t *a)
{
	if (af != p->af)
		return false;
	unsigned full = p->len / 8, rest = p->len % 8;
	if (memcmp(a, p->addr, full) != 0)
		return false;
	return rest == 0 || ((a[full] ^ p->addr[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

bool report_match(const struct report_query *q, const struct crec *r)
{
	const struct flow_key *k = &r->f.key;
	uint64_t t = store_rec_time(r);
	if (t < q->from_us || t >= q->to_us)
		return false;
	if (q->exporter_af && (r->exporter_af != q->exporter_af ||
	                       memcmp(r->exporter, q->exporter, q->exporter_af == 6 ? 16 : 4) != 0))
		return false;
	if (q->proto >= 0 && k->proto != q->proto)
		return false;
	if (q->port >= 0 && !(has_ports(k->proto) && (k->sport == q->port || k->dport == q->port)))
		return false;
	if (q->src.af && !in_prefix(&q->src, k->af, k->src))
		return false;
	if (q->dst.af && !in_prefix(&q->dst, k->af, k->dst))
		return false;
	if (q->addr.af && !in_prefix(&q->addr, k->af, k->src) && !in_prefix(&q->addr, k->af, k->dst))
		return false;
	return true;
}

/* ------------------------------------------------------------ keys */

static void kv_addr(struct report_keyval *v, uint8_t af, const uint8_t *a)
{
	memset(v, 0, sizeof(*v));
	v->af = af;
	memcpy(v->b, a, af == 6 ? 16 : 4);
}

static void kv_num(struct report_keyval *v, uint32_t n)
{
	memset(v, 0, sizeof(*v));
	poke_u32(v->b, n);
}

/* The record's value(s) of key: 1 or 2 (a "both" key whose sides differ). */
static int key_values(enum report_key key, const struct crec *r, struct report_keyval v[2])
{
	const struct flowrec *f = &r->f;
	int ports = has_ports(f->key.proto);
	switch (key) {
	case RK_SRCADDR:
		kv_addr(&v[0], f->key.af, f->key.src);
		return 1;
	case RK_DSTADDR:
		kv_addr(&v[0], f->key.af, f->key.dst);
		return 1;
	case RK_ADDR:
		kv_addr(&v[0], f->key.af, f->key.src);
		kv_addr(&v[1], f->key.af, f->key.dst);
		break;
	case RK_SRCPORT:
		kv_num(&v[0], ports ? f->key.sport : 0);
		return 1;
	case RK_DSTPORT:
		kv_num(&v[0], ports ? f->key.dport : 0);
		return 1;
	case RK_PORT:
		kv_num(&v[0], ports ? f->key.sport : 0);
		kv_num(&v[1], ports ? f->key.dport : 0);
		break;
	case RK_PROTO:
		kv_num(&v[0], f->key.proto);
		return 1;
	case RK_SRCAS:
		kv_num(&v[0], f->src_as);
		return 1;
	case RK_DSTAS:
		kv_num(&v[0], f->dst_as);
		return 1;
	case RK_AS:
		kv_num(&v[0], f->src_as);
		kv_num(&v[1], f->dst_as);
		break;
	case RK_INIF:
		kv_num(&v[0], f->key.ifindex);
		return 1;
	case RK_OUTIF:
		kv_num(&v[0], f->if_out);
		return 1;
	case RK_EXPORTER:
		kv_addr(&v[0], r->exporter_af == 6 ? 6 : 4, r->exporter);
		return 1;
	default:
		abort(); /* a bug: the key comes from the table */
	}
	return memcmp(&v[0], &v[1], sizeof(v[0])) == 0 ? 1 : 2;
}

void report_key_format(enum report_key key, const struct report_keyval *k, bool numeric, char *out, size_t cap)
{
	if (report_key_info(key)->kind == RKIND_ADDR) {
		if (!inet_ntop(k->af == 6 ? AF_INET6 : AF_INET, k->b, out, (socklen_t)cap))
			snprintf(out, cap, "?");
		return;
	}
	uint32_t v = peek_u32(k->b);
	const char *name = report_key_info(key)->kind == RKIND_PROTO ? report_proto_name(v) : NULL;
	if (numeric || !name)
		snprintf(out, cap, "%u", v);
	else
		snprintf(out, cap, "%s", name);
}

/* ------------------------------------------------------------ aggregation */

struct agg_ent {
	struct report_keyval k;
	uint8_t used;
	uint64_t flows, packets, bytes;
};

struct report_agg {
	struct report_query q;
	size_t max_keys;
	struct agg_ent *t;
	size_t cap, n;       /* slots (a power of 2), used */
	uint64_t seed;
	uint64_t flows, packets, bytes;
};

struct report_agg *report_agg_new(const struct report_query *q, size_t max_keys)
{
	struct report_agg *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->q = *q;
	a->max_keys = max_keys;
	a->cap = 1024;
	a->t = calloc(a->cap, sizeof(*a->t));
	a->seed = hash_random_seed();
	if (!a->t) {
		free(a);
		return NULL;
	}
	return a;
}

void report_agg_free(struct report_agg *a)
{
	if (!a)
		return;
	free(a->t);
	free(a);
}

static struct agg_ent *slot_of(struct agg_ent *t, size_t cap, uint64_t seed, const struct report_keyval *k)
{
	size_t i = (size_t)hash_bytes(k, sizeof(*k), seed) & (cap - 1);
	while (t[i].used && memcmp(&t[i].k, k, sizeof(*k)) != 0)
		i = (i + 1) & (cap - 1);
	return &t[i];
}

static int grow(struct report_agg *a)
{
	size_t cap = a->cap * 2;
	struct agg_ent *t = calloc(cap, sizeof(*t));
	if (!t)
		return ERR_NOMEM;
	for (size_t i = 0; i < a->cap; i++)
		if (a->t[i].used)
			*slot_of(t, cap, a->seed, &a->t[i].k) = a->t[i];
	free(a->t);
	a->t = t;
	a->cap = cap;
	return ERR_OK;
}

int report_agg_add(struct report_agg *a, const struct crec *r)
{
	if (!report_match(&a->q, r))
		return ERR_OK;
	uint64_t mult = a->q.unsample && r->sampling > 1 ? r->sampling : 1;
	uint64_t pk = r->f.packets * mult, by = r->f.bytes * mult;
	struct report_keyval v[2];
	int nv = key_values(a->q.key, r, v);
	for (int i = 0; i < nv; i++) {
		struct agg_ent *e = slot_of(a->t, a->cap, a->seed, &v[i]);
		if (!e->used) {
			if (a->n >= a->max_keys)
				return ERR_FULL;
			if ((a->n + 1) * 10 > a->cap * 7) { /* keep the load under 70 % */
				if (grow(a) != ERR_OK)
					return ERR_NOMEM;
				e = slot_of(a->t, a->cap, a->seed, &v[i]);
			}
			e->used = 1;
			e->k = v[i];
			a->n++;
		}
		e->flows++;
		e->packets += pk;
		e->bytes += by;
	}
	a->flows++;
	a->packets += pk;
	a->bytes += by;
	return ERR_OK;
}

static uint64_t metric(const struct report_row *r, enum report_order o)
{
	return o == RO_FLOWS ? r->flows : o == RO_PACKETS ? r->packets : r->bytes;
}

/* The order of rows: larger counter first, then smaller key. */
static int row_before(const struct report_row *x, const struct report_row *y, enum report_order o)
{
	uint64_t a = metric(x, o), b = metric(y, o);
	if (a != b)
		return a > b;
	return memcmp(&x->k, &y->k, sizeof(x->k)) < 0;
}

static enum report_order sort_order; /* for qsort: set just before the call */

static int cmp_rows(const void *a, const void *b)
{
	const struct report_row *x = a, *y = b;
	return row_before(x, y, sort_order) ? -1 : row_before(y, x, sort_order) ? 1 : 0;
}

/* Sift the heap h[0..n) (its root the row that sorts last) down from i. */
static void sift(struct report_row *h, size_t n, size_t i, enum report_order o)
{
	for (;;) {
		size_t l = 2 * i + 1, w = i;
		if (l < n && row_before(&h[w], &h[l], o))
			w = l;
		if (l + 1 < n && row_before(&h[w], &h[l + 1], o))
			w = l + 1;
		if (w == i)
			return;
		struct report_row t = h[i];
		h[i] = h[w];
		h[w] = t;
		i = w;
	}
}

int report_agg_result(const struct report_agg *a, struct report_result *res)
{
	memset(res, 0, sizeof(*res));
	res->keys = a->n;
	res->flows = a->flows;
	res->packets = a->packets;
	res->bytes = a->bytes;
	size_t want = a->q.top && a->q.top < a->n ? a->q.top : a->n;
	if (want == 0)
		return ERR_OK;
	struct report_row *h = malloc(want * sizeof(*h));
	if (!h)
		return ERR_NOMEM;
	/* Keep the best `want` rows in a heap whose root is the worst of them:
	 * O(keys log want). */
	size_t n = 0;
	for (size_t i = 0; i < a->cap; i++) {
		if (!a->t[i].used)
			continue;
		struct report_row r = { a->t[i].k, a->t[i].flows, a->t[i].packets, a->t[i].bytes };
		if (n < want) {
			h[n++] = r;
			if (n == want)
				for (size_t j = want / 2 + 1; j-- > 0;)
					sift(h, n, j, a->q.order);
		} else if (row_before(&r, &h[0], a->q.order)) {
			h[0] = r;
			sift(h, n, 0, a->q.order);
		}
	}
	sort_order = a->q.order;
	qsort(h, n, sizeof(*h), cmp_rows);
	res->rows = h;
	res->nrows = n;
	return ERR_OK;
}

/* ------------------------------------------------------------ file store backend */

int report_run_store(const char *path, const struct report_query *q, size_t max_keys, struct report_result *res,
                     struct store_stats *st, FILE *warn, char *err, size_t errlen)
{
	struct store_sel sel = { .from_us = q->from_us, .to_us = q->to_us, .exporter_af = q->exporter_af };
	memcpy(sel.exporter, q->exporter, 16);
	memset(res, 0, sizeof(*res));
	memset(st, 0, sizeof(*st));
	struct report_agg *a = report_agg_new(q, max_keys);
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return ERR_NOMEM;
	}
	struct store_reader *r = store_reader_open(path, &sel, warn, err, errlen);
	if (!r) {
		report_agg_free(a);
		return ERR_IO;
	}
	struct crec rec;
	int rc = ERR_OK;
	while (rc == ERR_OK && store_reader_next(r, &rec) == ERR_OK)
		rc = report_agg_add(a, &rec);
	if (rc == ERR_FULL)
		snprintf(err, errlen, "more than %zu distinct %s values (raise --max-keys)", max_keys,
		         report_key_info(q->key)->name);
	else if (rc != ERR_OK)
		snprintf(err, errlen, "out of memory");
	else if ((rc = report_agg_result(a, res)) != ERR_OK)
		snprintf(err, errlen, "out of memory");
	*st = *store_reader_stats(r);
	store_reader_close(r);
	report_agg_free(a);
	return rc;
}
