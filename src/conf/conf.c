/* conf.c — the IOS-style configuration parser; see conf.h. The writer is
 * in conf_write.c, the field catalog of `match`/`collect` in
 * conf_fields.c. */
#include "conf/conf.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 64
#define MAX_DEPTH 4

enum mode { M_GLOBAL, M_IF, M_SCTP, M_AGG, M_RECORD, M_EXPORTER, M_MONITOR, M_SAMPLER, M_IGNORED, M_MAX_ };

static const char *const mode_name[M_MAX_] = {
	[M_GLOBAL] = "global", [M_IF] = "interface", [M_SCTP] = "SCTP destination",
	[M_AGG] = "aggregation cache", [M_RECORD] = "flow record", [M_EXPORTER] = "flow exporter",
	[M_MONITOR] = "flow monitor", [M_SAMPLER] = "sampler", [M_IGNORED] = "ignored block",
};

const char *const conf_agg_scheme_name[CONF_AGG_SCHEME_MAX] = {
	"as", "as-tos", "bgp-nexthop-tos", "destination-prefix", "destination-prefix-tos", "prefix",
	"prefix-port", "prefix-tos", "protocol-port", "protocol-port-tos", "source-prefix",
	"source-prefix-tos",
};

struct word {
	const char *s;
	uint32_t col;
};

/* Why a phrase did not match (kept quiet while enclosing modes are tried). */
enum miss { MISS_NONE = 0, MISS_INVALID, MISS_INCOMPLETE, MISS_AMBIGUOUS };

struct conf_parser {
	struct conf *c;
	conf_report_fn report;
	void *arg;
	char source[CONF_PATH_MAX];
	uint32_t line;
	bool flags;
	unsigned errors, warnings;
	enum mode stack[MAX_DEPTH];
	int depth;                      /* stack[depth - 1] is the current mode */
	/* the object the current sub-mode edits */
	struct conf_export *sctp_export;
	size_t sctp_dest;
	size_t cur;                     /* index of the interface, agg, record, ... */
	char banner_delim[3];           /* inside a banner: its delimiter */
	/* the line being parsed */
	char raw[CONF_LINE_MAX + 1];
	char buf[CONF_LINE_MAX + 1];
	struct word w[MAX_WORDS];
	int nw, i;
	bool no;
	bool indented;
	/* the furthest miss of the current command lookup */
	enum miss miss;
	int miss_word;
	char miss_expect[512];
};

/* --- model --------------------------------------------------------------- */

struct conf *conf_new(void)
{
	struct conf *c = calloc(1, sizeof(*c));
	return c;
}

void conf_free(struct conf *c)
{
	free(c);
}

/* Strings in the model are always zero-padded to their array size, so two
 * equal models are equal bytes (conf_equal is memcmp). */
static void setstr(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);
	if (n >= size)
		n = size - 1;
	memset(dst, 0, size);
	memcpy(dst, src, n);
}
#define SETSTR(dst, src) setstr((dst), sizeof(dst), (src))

bool conf_equal(const struct conf *a, const struct conf *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* Remove element i of an array of n elements of size sz; zero the tail. */
static void array_remove(void *base, size_t *n, size_t i, size_t sz)
{
	char *b = base;
	memmove(b + i * sz, b + (i + 1) * sz, (*n - i - 1) * sz);
	(*n)--;
	memset(b + *n * sz, 0, sz);
}

uint32_t conf_cache_entries(const struct conf_cache *c, uint32_t dflt)
{
	return (c->set & CONF_C_ENTRIES) ? c->entries : dflt;
}

uint32_t conf_cache_active(const struct conf_cache *c)
{
	return (c->set & CONF_C_ACTIVE) ? c->active_s : CONF_ACTIVE_DEFAULT_S;
}

uint32_t conf_cache_inactive(const struct conf_cache *c)
{
	return (c->set & CONF_C_INACTIVE) ? c->inactive_s : CONF_INACTIVE_DEFAULT_S;
}

int conf_export_version(const struct conf_export *e, bool agg)
{
	return (e->set & CONF_EX_VERSION) ? e->version : agg ? 8 : 9;
}

#define FIND(arr, n, field, key)                                  \
	for (size_t i_ = 0; i_ < (n); i_++)                       \
		if (strcmp((arr)[i_].field, (key)) == 0)          \
			return &(arr)[i_];                        \
	return NULL

const struct conf_monitor *conf_find_monitor(const struct conf *c, const char *name) { FIND(c->monitor, c->nmonitor, name, name); }
const struct conf_exporter *conf_find_exporter(const struct conf *c, const char *name) { FIND(c->exporter, c->nexporter, name, name); }
const struct conf_record *conf_find_record(const struct conf *c, const char *name) { FIND(c->record, c->nrecord, name, name); }
const struct conf_sampler *conf_find_sampler(const struct conf *c, const char *name) { FIND(c->sampler, c->nsampler, name, name); }

uint32_t conf_main_sampling(const struct conf *c)
{
	for (size_t i = 0; i < c->niface; i++) {
		const struct conf_iface *f = &c->iface[i];
		const struct conf_sampler *s;
		if ((f->ingress || f->egress) && f->sampler[0] && (s = conf_find_sampler(c, f->sampler)) && s->one_out_of)
			return s->one_out_of;
	}
	return 1;
}

const struct conf_agg *conf_find_agg(const struct conf *c, enum conf_agg_scheme s)
{
	for (size_t i = 0; i < c->nagg; i++)
		if (c->agg[i].scheme == s)
			return &c->agg[i];
	return NULL;
}

const char *conf_linux_name(const struct conf *c, const char *ifname)
{
	for (size_t i = 0; i < c->nalias; i++)
		if (strcmp(c->alias[i].ios, ifname) == 0)
			return c->alias[i].linux_name;
	return ifname;
}

/* --- diagnostics --------------------------------------------------------- */

void conf_diag_print(FILE *out, const struct conf_diag *d)
{
	static const char *const lv[] = { "error", "warning", "note" };
	if (d->col)
		fprintf(out, "%s:%u:%u: %s: %s\n", d->source, d->line, d->col, lv[d->level], d->text);
	else
		fprintf(out, "%s:%u: %s: %s\n", d->source, d->line, lv[d->level], d->text);
	if (d->line_text && d->line_text[0] && d->col && d->level != CONF_NOTE) {
		fprintf(out, "  %s\n  ", d->line_text);
		for (uint32_t k = 1; k < d->col; k++)
			fputc(d->line_text[k - 1] == '\t' ? '\t' : ' ', out);
		fputs("^\n", out);
	}
}

/* Report at word wi (-1: the end of the line, -2: the whole line). */
static void diag(struct conf_parser *p, enum conf_level lv, int wi, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void diag(struct conf_parser *p, enum conf_level lv, int wi, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (lv == CONF_ERROR)
		p->errors++;
	else if (lv == CONF_WARNING)
		p->warnings++;
	if (!p->report)
		return;
	struct conf_diag d = { .level = lv, .source = p->source, .line = p->line, .text = text,
	                       .line_text = p->raw, .word = "" };
	if (wi >= 0 && wi < p->nw) {
		d.col = p->w[wi].col;
		d.word = p->w[wi].s;
	} else if (wi == -1) {
		d.col = (uint32_t)strlen(p->raw) + 1;
	}
	p->report(p->arg, &d);
}

/* --- words and phrases --------------------------------------------------- */

/* The k-th word of a phrase ("ip flow-export"), its length in *len; NULL
 * past the end. */
static const char *phrase_word(const char *ph, int k, size_t *len)
{
	const char *s = ph;
	for (;;) {
		while (*s == ' ')
			s++;
		if (!*s)
			return NULL;
		const char *e = strchr(s, ' ');
		size_t l = e ? (size_t)(e - s) : strlen(s);
		if (k-- == 0) {
			*len = l;
			return s;
		}
		s += l;
	}
}

static int phrase_nwords(const char *ph)
{
	size_t l;
	int n = 0;
	while (phrase_word(ph, n, &l))
		n++;
	return n;
}

static bool is_prefix(const char *w, const char *kw, size_t kwlen)
{
	size_t l = strlen(w);
	return l > 0 && l <= kwlen && strncasecmp(w, kw, l) == 0;
}

/* Append the distinct k-th words of the live phrases to out ("a, b or c"). */
static void expect_list(const char *const *tab, size_t n, const bool *live, int k, char *out, size_t outlen)
{
	const char *seen[64];
	size_t seenl[64], ns = 0;
	for (size_t j = 0; j < n; j++) {
		size_t l;
		const char *w = live[j] ? phrase_word(tab[j], k, &l) : NULL;
		if (!w)
			continue;
		bool dup = false;
		for (size_t q = 0; q < ns; q++)
			if (seenl[q] == l && strncmp(seen[q], w, l) == 0)
				dup = true;
		if (!dup && ns < 64) {
			seen[ns] = w;
			seenl[ns++] = l;
		}
	}
	size_t o = 0;
	out[0] = 0;
	for (size_t q = 0; q < ns && o < outlen; q++) {
		const char *sep = q == 0 ? "" : q + 1 == ns ? " or " : ", ";
		o += (size_t)snprintf(out + o, outlen - o, "%s%.*s", sep, (int)seenl[q], seen[q]);
	}
}

/* Match the words from p->i against a table of phrases, each keyword
 * abbreviable to an unambiguous prefix; the longest phrase the words
 * allow wins. Returns the index (and advances p->i), or -1 with the
 * miss recorded in p (reported unless quiet). */
static int match_phrase(struct conf_parser *p, const char *const *tab, size_t n, const char *what, bool quiet)
{
	bool live[128];
	int nwords[128];
	if (n > 128)
		abort(); /* a table this big is a bug */
	for (size_t j = 0; j < n; j++) {
		live[j] = tab[j] != NULL;
		nwords[j] = live[j] ? phrase_nwords(tab[j]) : 0;
	}
	for (int k = 0;; k++) {
		int done = -1;
		for (size_t j = 0; j < n; j++)
			if (live[j] && nwords[j] == k)
				done = (int)j;
		int wi = p->i + k;
		enum miss miss = MISS_NONE;
		const char *chosen = NULL;
		size_t chosenl = 0;
		if (wi >= p->nw) {
			if (done >= 0) {
				p->i += k;
				return done;
			}
			miss = MISS_INCOMPLETE;
		} else {
			const char *w = p->w[wi].s;
			int cands = 0;
			for (size_t j = 0; j < n; j++) {
				size_t l;
				const char *kw = live[j] ? phrase_word(tab[j], k, &l) : NULL;
				if (!kw || !is_prefix(w, kw, l))
					continue;
				if (strlen(w) == l) { /* exact beats any abbreviation */
					chosen = kw;
					chosenl = l;
					cands = 1;
					break;
				}
				if (!chosen) {
					chosen = kw;
					chosenl = l;
					cands = 1;
				} else if (chosenl != l || strncmp(chosen, kw, l) != 0) {
					cands++;
				}
			}
			if (!chosen) {
				if (done >= 0) {
					p->i += k;
					return done;
				}
				miss = MISS_INVALID;
			} else if (cands > 1) {
				miss = MISS_AMBIGUOUS;
			}
		}
		if (miss != MISS_NONE) {
			if (!quiet || wi > p->miss_word || p->miss == MISS_NONE) {
				p->miss = miss;
				p->miss_word = wi;
				char list[400];
				if (miss == MISS_AMBIGUOUS) {
					/* the live keywords the word abbreviates */
					bool amb[128];
					for (size_t j = 0; j < n; j++) {
						size_t l;
						const char *kw = live[j] ? phrase_word(tab[j], k, &l) : NULL;
						amb[j] = kw && is_prefix(p->w[wi].s, kw, l);
					}
					expect_list(tab, n, amb, k, list, sizeof(list));
				} else {
					expect_list(tab, n, live, k, list, sizeof(list));
				}
				snprintf(p->miss_expect, sizeof(p->miss_expect), "%s%s%s", list,
				         what && miss != MISS_AMBIGUOUS ? " " : "",
				         what && miss != MISS_AMBIGUOUS ? what : "");
			}
			if (!quiet) {
				if (p->miss == MISS_INCOMPLETE)
					diag(p, CONF_ERROR, -1, "%% Incomplete command: expected %s", p->miss_expect);
				else if (p->miss == MISS_AMBIGUOUS)
					diag(p, CONF_ERROR, wi, "%% Ambiguous command: '%s' could be %s", p->w[wi].s,
					     p->miss_expect);
				else
					diag(p, CONF_ERROR, wi, "%% Invalid input detected at '%s': expected %s",
					     p->w[wi].s, p->miss_expect);
			}
			return -1;
		}
		/* keep only the phrases whose k-th word is the chosen one */
		for (size_t j = 0; j < n; j++) {
			size_t l;
			const char *kw = live[j] ? phrase_word(tab[j], k, &l) : NULL;
			if (!kw || l != chosenl || strncmp(kw, chosen, l) != 0)
				live[j] = false;
		}
	}
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define KW(p, tab) match_phrase((p), (tab), NELEM(tab), NULL, false)

/* The end of the line must come now. */
static int eol(struct conf_parser *p)
{
	if (p->i >= p->nw)
		return 0;
	diag(p, CONF_ERROR, p->i, "%% Invalid input detected at '%s': expected end of line", p->w[p->i].s);
	return -1;
}

static bool more(const struct conf_parser *p)
{
	return p->i < p->nw;
}

/* A number of `what` within ipflow's range [min, max]; outside the
 * router's [imin, imax] is a warning (not for flag-made lines). */
static int num(struct conf_parser *p, const char *what, uint32_t imin, uint32_t imax, uint32_t min,
               uint32_t max, uint32_t *out)
{
	if (!more(p)) {
		diag(p, CONF_ERROR, -1, "%% Incomplete command: expected %s (%u-%u)", what, imin, imax);
		return -1;
	}
	const char *s = p->w[p->i].s;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end || errno || v < min || v > max) {
		if (min == imin && max == imax)
			diag(p, CONF_ERROR, p->i, "%% Invalid input detected at '%s': expected %s, a number from %u to %u",
			     s, what, min, max);
		else
			diag(p, CONF_ERROR, p->i,
			     "%% Invalid input detected at '%s': expected %s, a number from %u to %u (the router's range is %u-%u)",
			     s, what, min, max, imin, imax);
		return -1;
	}
	if ((v < imin || v > imax) && !p->flags)
		diag(p, CONF_WARNING, p->i, "%s %llu is outside the router's range %u-%u; ipflow accepts it", what, v,
		     imin, imax);
	*out = (uint32_t)v;
	p->i++;
	return 0;
}

/* One word (a name, a host, a path) into dst. */
static int arg(struct conf_parser *p, const char *what, char *dst, size_t size)
{
	if (!more(p)) {
		diag(p, CONF_ERROR, -1, "%% Incomplete command: expected %s", what);
		return -1;
	}
	const char *s = p->w[p->i].s;
	if (strlen(s) >= size) {
		diag(p, CONF_ERROR, p->i, "%s '%.40s...' is too long (at most %zu characters)", what, s, size - 1);
		return -1;
	}
	setstr(dst, size, s);
	p->i++;
	return 0;
}
#define ARG(p, what, dst) arg((p), (what), (dst), sizeof(dst))

/* The rest of the line as written (description, capture filter). */
static int rest(struct conf_parser *p, const char *what, char *dst, size_t size)
{
	if (!more(p)) {
		diag(p, CONF_ERROR, -1, "%% Incomplete command: expected %s", what);
		return -1;
	}
	const char *s = p->raw + p->w[p->i].col - 1;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= size) {
		diag(p, CONF_ERROR, p->i, "%s is too long (at most %zu characters)", what, size - 1);
		return -1;
	}
	memset(dst, 0, size);
	memcpy(dst, s, n);
	p->i = p->nw;
	return 0;
}

/* A host: an IPv4/IPv6 literal or a DNS name (resolved when applied). */
static int host(struct conf_parser *p, const char *what, char *dst, size_t size)
{
	if (!more(p)) {
		diag(p, CONF_ERROR, -1, "%% Incomplete command: expected %s (an address or host name)", what);
		return -1;
	}
	const char *s = p->w[p->i].s;
	for (const char *q = s; *q; q++) {
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
		      *q == '.' || *q == ':' || *q == '-' || *q == '_' || *q == '%')) {
			diag(p, CONF_ERROR, p->i, "%% Invalid input detected at '%s': expected %s (an address or host name)",
			     s, what);
			return -1;
		}
	}
	return arg(p, what, dst, size);
}

/* Enter a sub-mode nested in the current one. */
static void push(struct conf_parser *p, enum mode m)
{
	if (p->depth < MAX_DEPTH)
		p->stack[p->depth++] = m;
}

static enum mode cur_mode(const struct conf_parser *p)
{
	return p->stack[p->depth - 1];
}

/* --- export settings: `ip flow-export X` and `export X` ------------------ */

static const char *const proto_words[] = { "udp", "sctp", "tcp" };

static struct conf_dest *dest_find(struct conf_export *e, const char *h, uint16_t port, size_t *idx)
{
	for (size_t i = 0; i < e->ndest; i++)
		if (strcmp(e->dest[i].host, h) == 0 && e->dest[i].port == port) {
			if (idx)
				*idx = i;
			return &e->dest[i];
		}
	return NULL;
}

static void sctp_defaults(struct conf_sctp *s)
{
	memset(s, 0, sizeof(*s));
	s->failover_ms = CONF_SCTP_FAILOVER_DEFAULT_MS;
	s->restore_s = CONF_SCTP_RESTORE_DEFAULT_S;
}

static int ex_destination(struct conf_parser *p, struct conf_export *e)
{
	char h[CONF_HOST_MAX];
	uint32_t port;
	int hw = p->i;
	if (host(p, "destination", h, sizeof(h)) != 0)
		return -1;
	if (p->no && !more(p)) { /* "no ip flow-export destination H": every destination to H */
		size_t removed = 0;
		for (size_t i = e->ndest; i-- > 0;)
			if (strcmp(e->dest[i].host, h) == 0) {
				array_remove(e->dest, &e->ndest, i, sizeof(e->dest[0]));
				removed++;
			}
		if (!removed)
			diag(p, CONF_WARNING, hw, "no export destination %s to remove", h);
		return 0;
	}
	if (num(p, "port", 1, 65535, 1, 65535, &port) != 0)
		return -1;
	int proto = CONF_UDP;
	if (more(p) && (proto = KW(p, proto_words)) < 0)
		return -1;
	if (eol(p) != 0)
		return -1;
	size_t idx;
	struct conf_dest *d = dest_find(e, h, (uint16_t)port, &idx);
	if (p->no) {
		if (d)
			array_remove(e->dest, &e->ndest, idx, sizeof(e->dest[0]));
		else
			diag(p, CONF_WARNING, hw, "no export destination %s %u to remove", h, port);
		return 0;
	}
	if (!d) {
		if (e->ndest == CONF_DEST_MAX) {
			diag(p, CONF_ERROR, hw,
			     "%%Only %d export destinations are supported: remove one with 'no ... destination %s %u' first",
			     CONF_DEST_MAX, e->dest[0].host, e->dest[0].port);
			return -1;
		}
		for (size_t i = 0; i < e->ndest; i++)
			if (strcmp(e->dest[i].host, h) == 0)
				diag(p, CONF_WARNING, hw, "%%Warning: Second destination address is the same as previous address %s", h);
		idx = e->ndest++;
		d = &e->dest[idx];
		memset(d, 0, sizeof(*d));
		SETSTR(d->host, h);
		d->port = (uint16_t)port;
		sctp_defaults(&d->sctp);
	}
	if ((enum conf_proto)proto != d->proto && d->proto == CONF_SCTP)
		sctp_defaults(&d->sctp);
	d->proto = (enum conf_proto)proto;
	if (d->proto == CONF_SCTP) { /* the SCTP sub-mode: reliability, backup ... */
		p->sctp_export = e;
		p->sctp_dest = idx;
		push(p, M_SCTP);
	}
	return 0;
}

static const char *const version_words[] = { "1", "5", "7", "8", "9", "10" };
static const int version_num[] = { 1, 5, 7, 8, 9, 10 };
static const char *const vopt_words[] = { "origin-as", "peer-as", "bgp-nexthop" };

static int ex_version(struct conf_parser *p, struct conf_export *e, bool agg)
{
	if (p->no) {
		e->set &= ~(unsigned)CONF_EX_VERSION;
		e->version = 0;
		e->vopts = 0;
		p->i = p->nw;
		return 0;
	}
	int vw = p->i;
	int k = KW(p, version_words);
	if (k < 0)
		return -1;
	int v = version_num[k];
	if (agg ? (v != 8 && v != 9) : v == 8) {
		diag(p, CONF_ERROR, vw, "%% Invalid input detected at '%s': expected %s", p->w[vw].s,
		     agg ? "8 or 9 (an aggregation cache exports version 8 or 9)"
		         : "1, 5, 7, 9 or 10 (version 8 is for aggregation caches)");
		return -1;
	}
	unsigned vo = 0;
	while (more(p)) {
		int ow = p->i;
		int o = KW(p, vopt_words);
		if (o < 0)
			return -1;
		if (v != 5 && v != 9 && v != 10) { /* 10 (IPFIX): an ipflow extension, the same fields */
			diag(p, CONF_ERROR, ow,
			     "%% Invalid input detected at '%s': AS and BGP next-hop options apply to versions 5 and 9 (and 10, IPFIX)",
			     p->w[ow].s);
			return -1;
		}
		if (o < 2 && (vo & (CONF_VOPT_ORIGIN_AS | CONF_VOPT_PEER_AS))) {
			diag(p, CONF_ERROR, ow, "%% Invalid input detected at '%s': origin-as and peer-as exclude each other", p->w[ow].s);
			return -1;
		}
		vo |= 1u << o;
	}
	e->set |= CONF_EX_VERSION;
	e->version = v;
	e->vopts = vo;
	return 0;
}

static int ex_template(struct conf_parser *p, struct conf_export *e)
{
	static const char *const w[] = {
		"refresh-rate", "timeout-rate", "options export-stats", "options sampler",
		"options refresh-rate", "options timeout-rate", "options timeout",
	};
	int k = KW(p, w);
	if (k < 0)
		return -1;
	uint32_t v = 0;
	switch (k) {
	case 0:
		if (p->no) {
			e->set &= ~(unsigned)CONF_EX_TREFRESH;
			e->tmpl_refresh = 0;
			break;
		}
		if (num(p, "template refresh rate (packets)", 1, 600, 0, 600, &v) != 0)
			return -1;
		e->set |= CONF_EX_TREFRESH;
		e->tmpl_refresh = v;
		break;
	case 1:
		if (p->no) {
			e->set &= ~(unsigned)CONF_EX_TTIMEOUT;
			e->tmpl_timeout_min = 0;
			break;
		}
		if (num(p, "template timeout rate (minutes)", 1, 3600, 1, 3600, &v) != 0)
			return -1;
		e->set |= CONF_EX_TTIMEOUT;
		e->tmpl_timeout_min = v;
		break;
	case 2:
		e->opt_export_stats = !p->no;
		break;
	case 3:
		e->opt_sampler = !p->no;
		break;
	case 4:
		if (p->no) {
			e->set &= ~(unsigned)CONF_EX_OREFRESH;
			e->opt_refresh = 0;
			break;
		}
		if (num(p, "options refresh rate (packets)", 1, 600, 0, 600, &v) != 0)
			return -1;
		e->set |= CONF_EX_OREFRESH;
		e->opt_refresh = v;
		break;
	default:
		if (p->no) {
			e->set &= ~(unsigned)CONF_EX_OTIMEOUT;
			e->opt_timeout_min = 0;
			break;
		}
		if (num(p, "options timeout rate (minutes)", 1, 3600, 1, 3600, &v) != 0)
			return -1;
		e->set |= CONF_EX_OTIMEOUT;
		e->opt_timeout_min = v;
		break;
	}
	if (p->no)
		p->i = p->nw;
	return eol(p);
}

/* A numeric ipflow extension of the export (mtu, source-id, ...). */
static int ex_number(struct conf_parser *p, struct conf_export *e, unsigned bit, uint32_t *field,
                     const char *what, uint32_t min, uint32_t max)
{
	if (p->no) {
		e->set &= ~bit;
		*field = 0;
		p->i = p->nw;
		return 0;
	}
	uint32_t v;
	if (num(p, what, min, max, min, max, &v) != 0 || eol(p) != 0)
		return -1;
	e->set |= bit;
	*field = v;
	return 0;
}

/* The words after `ip flow-export` (main cache) or `export` (aggregation). */
static int export_cmd(struct conf_parser *p, struct conf_export *e, bool agg)
{
	static const char *const w[] = {
		"destination", "source", "version", "template", "interface-names", "file", "mtu",
		"source-id", "engine-type", "engine-id", "flush-timeout", "timestamps",
	};
	int k = KW(p, w);
	if (k < 0)
		return -1;
	switch (k) {
	case 0:
		return ex_destination(p, e);
	case 1:
		if (p->no) {
			e->set &= ~(unsigned)CONF_EX_SOURCE;
			memset(e->source, 0, sizeof(e->source));
			p->i = p->nw;
			return 0;
		}
		if (ARG(p, "source interface or address", e->source) != 0)
			return -1;
		/* "ip flow-export source GigabitEthernet 0/1": IOS allows a space */
		if (more(p) && p->w[p->i].s[0] >= '0' && p->w[p->i].s[0] <= '9' &&
		    strlen(e->source) + strlen(p->w[p->i].s) < sizeof(e->source)) {
			char j[2 * CONF_NAME_MAX];
			snprintf(j, sizeof(j), "%s%s", e->source, p->w[p->i].s);
			SETSTR(e->source, j);
			p->i++;
		}
		e->set |= CONF_EX_SOURCE;
		return eol(p);
	case 2:
		return ex_version(p, e, agg);
	case 3:
		return ex_template(p, e);
	case 4:
		e->interface_names = !p->no;
		return eol(p);
	case 5: {
		char path[CONF_PATH_MAX];
		int pw = p->i;
		if (ARG(p, "file path", path) != 0 || eol(p) != 0)
			return -1;
		for (size_t i = 0; i < e->nfile; i++)
			if (strcmp(e->file[i], path) == 0) {
				if (p->no)
					array_remove(e->file, &e->nfile, i, sizeof(e->file[0]));
				return 0;
			}
		if (p->no)
			return 0;
		if (e->nfile == CONF_FILE_MAX) {
			diag(p, CONF_ERROR, pw, "at most %d export files per cache", CONF_FILE_MAX);
			return -1;
		}
		SETSTR(e->file[e->nfile], path);
		e->nfile++;
		return 0;
	}
	case 6:
		return ex_number(p, e, CONF_EX_MTU, &e->mtu, "MTU (bytes)", 576, 65535);
	case 7:
		return ex_number(p, e, CONF_EX_SOURCE_ID, &e->source_id, "source id", 0, UINT32_MAX);
	case 8:
		return ex_number(p, e, CONF_EX_ENGINE_TYPE, &e->engine_type, "engine type", 0, 255);
	case 9:
		return ex_number(p, e, CONF_EX_ENGINE_ID, &e->engine_id, "engine id", 0, 255);
	case 10:
		return ex_number(p, e, CONF_EX_FLUSH, &e->flush_ms, "flush timeout (milliseconds)", 1, 3600000);
	default: {
		static const char *const tw[] = { "milliseconds", "microseconds" };
		if (p->no) {
			e->usec = false;
			p->i = p->nw;
			return 0;
		}
		int t = KW(p, tw);
		if (t < 0 || eol(p) != 0)
			return -1;
		e->usec = t == 1;
		return 0;
	}
	}
}

/* --- SCTP destination sub-mode ------------------------------------------- */

static struct conf_dest *sctp_cur(struct conf_parser *p)
{
	return &p->sctp_export->dest[p->sctp_dest];
}

static int h_reliability(struct conf_parser *p)
{
	static const char *const w[] = { "full", "partial buffer-limit", "none" };
	struct conf_sctp *s = &sctp_cur(p)->sctp;
	if (p->no) {
		s->reliability = CONF_REL_FULL;
		s->buffer_limit = 0;
		p->i = p->nw;
		return 0;
	}
	int k = KW(p, w);
	if (k < 0)
		return -1;
	uint32_t lim = 0;
	if (k == 1 && num(p, "buffer limit", 1, CONF_SCTP_BUFLIMIT_MAX, 1, CONF_SCTP_BUFLIMIT_MAX, &lim) != 0)
		return -1;
	if (eol(p) != 0)
		return -1;
	s->reliability = (enum conf_rel)k;
	s->buffer_limit = lim;
	return 0;
}

static int h_backup(struct conf_parser *p)
{
	static const char *const w[] = { "destination", "mode", "fail-over", "restore-time" };
	static const char *const modes[] = { "fail-over", "redundant" };
	struct conf_dest *d = sctp_cur(p);
	struct conf_sctp *s = &d->sctp;
	int k = KW(p, w);
	if (k < 0)
		return -1;
	if (p->no) {
		if (k == 0) {
			s->backup = false;
			memset(s->backup_host, 0, sizeof(s->backup_host));
			s->backup_port = 0;
		} else if (k == 1) {
			s->backup_mode = CONF_BACKUP_FAILOVER;
		} else if (k == 2) {
			s->failover_ms = CONF_SCTP_FAILOVER_DEFAULT_MS;
		} else {
			s->restore_s = CONF_SCTP_RESTORE_DEFAULT_S;
		}
		p->i = p->nw;
		return 0;
	}
	uint32_t v;
	switch (k) {
	case 0: {
		char h[CONF_HOST_MAX];
		int hw = p->i;
		if (host(p, "backup destination", h, sizeof(h)) != 0 || num(p, "SCTP port", 1, 65535, 1, 65535, &v) != 0 ||
		    eol(p) != 0)
			return -1;
		if (strcmp(h, d->host) == 0 && v == d->port) {
			diag(p, CONF_ERROR, hw, "%% The backup destination must differ from the primary destination %s %u",
			     d->host, d->port);
			return -1;
		}
		s->backup = true;
		SETSTR(s->backup_host, h);
		s->backup_port = (uint16_t)v;
		return 0;
	}
	case 1: {
		int m = KW(p, modes);
		if (m < 0 || eol(p) != 0)
			return -1;
		s->backup_mode = (enum conf_backup_mode)m;
		return 0;
	}
	case 2:
		if (num(p, "fail-over time (milliseconds)", 0, 3600, 0, 3600, &v) != 0 || eol(p) != 0)
			return -1;
		s->failover_ms = v;
		return 0;
	default:
		if (num(p, "restore time (seconds)", 0, 3600, 0, 3600, &v) != 0 || eol(p) != 0)
			return -1;
		s->restore_s = v;
		return 0;
	}
}

/* --- ip flow-export / ip flow-cache -------------------------------------- */

static int h_flow_export(struct conf_parser *p)
{
	return export_cmd(p, &p->c->export, false);
}

static const char *const ctype_words[] = { "normal", "permanent", "immediate" };

/* `cache entries | timeout active | timeout inactive` shared by the main
 * cache (after `ip flow-cache`) and the aggregation caches (after `cache`). */
static int cache_cmd(struct conf_parser *p, struct conf_cache *c, bool main_cache)
{
	static const char *const w[] = { "entries", "timeout active", "timeout inactive", "type" };
	int k = main_cache ? KW(p, w) : match_phrase(p, w, 3, NULL, false);
	if (k < 0)
		return -1;
	static const unsigned bit[] = { CONF_C_ENTRIES, CONF_C_ACTIVE, CONF_C_INACTIVE, CONF_C_TYPE };
	if (p->no) {
		c->set &= ~bit[k];
		if (k == 0)
			c->entries = 0;
		else if (k == 1)
			c->active_s = 0;
		else if (k == 2)
			c->inactive_s = 0;
		else
			c->type = CONF_CACHE_NORMAL;
		p->i = p->nw;
		return 0;
	}
	uint32_t v;
	switch (k) {
	case 0:
		if (num(p, "number of entries", 1024, main_cache ? 524288 : 2000000, 1, 1u << 26, &v) != 0)
			return -1;
		c->entries = v;
		break;
	case 1: {
		static const char *const unit[] = { "seconds" };
		int vw = p->i;
		if (num(p, "active timeout", 1, 604800, 1, 604800, &v) != 0)
			return -1;
		if (more(p)) { /* ipflow: "... active 90 seconds" */
			if (KW(p, unit) < 0)
				return -1;
			c->active_s = v;
		} else {
			if (v > 10080) {
				diag(p, CONF_ERROR, vw, "%% Invalid input detected at '%s': expected active timeout (minutes), a number from 1 to 10080 (or add 'seconds')",
				     p->w[vw].s);
				return -1;
			}
			if (v > 60 && !p->flags)
				diag(p, CONF_WARNING, vw, "active timeout (minutes) %u is outside the router's range 1-60; ipflow accepts it", v);
			c->active_s = v * 60;
		}
		break;
	}
	case 2:
		if (num(p, "inactive timeout (seconds)", 10, 600, 1, 604800, &v) != 0)
			return -1;
		c->inactive_s = v;
		break;
	default: {
		int t = KW(p, ctype_words);
		if (t < 0)
			return -1;
		c->type = (enum conf_cache_type)t;
		break;
	}
	}
	if (eol(p) != 0)
		return -1;
	c->set |= bit[k];
	return 0;
}

static int h_flow_cache(struct conf_parser *p)
{
	return cache_cmd(p, &p->c->cache, true);
}

/* --- aggregation caches -------------------------------------------------- */

static int h_agg(struct conf_parser *p)
{
	int sw = p->i;
	int k = match_phrase(p, conf_agg_scheme_name, CONF_AGG_SCHEME_MAX, "(an aggregation scheme)", false);
	if (k < 0 || eol(p) != 0)
		return -1;
	struct conf *c = p->c;
	size_t i;
	for (i = 0; i < c->nagg; i++)
		if (c->agg[i].scheme == (enum conf_agg_scheme)k)
			break;
	if (p->no) {
		if (i < c->nagg)
			array_remove(c->agg, &c->nagg, i, sizeof(c->agg[0]));
		else
			diag(p, CONF_WARNING, sw, "no %s aggregation cache to remove", conf_agg_scheme_name[k]);
		return 0;
	}
	if (i == c->nagg) {
		if (c->nagg == CONF_AGG_MAX)
			abort(); /* one per scheme: cannot overflow */
		memset(&c->agg[i], 0, sizeof(c->agg[i]));
		c->agg[i].scheme = (enum conf_agg_scheme)k;
		c->nagg++;
	}
	p->cur = i;
	push(p, M_AGG);
	return 0;
}

static bool scheme_has_src(enum conf_agg_scheme s)
{
	return s == CONF_AGG_PREFIX || s == CONF_AGG_PREFIX_PORT || s == CONF_AGG_PREFIX_TOS ||
	       s == CONF_AGG_SRC_PREFIX || s == CONF_AGG_SRC_PREFIX_TOS;
}

static bool scheme_has_dst(enum conf_agg_scheme s)
{
	return s == CONF_AGG_PREFIX || s == CONF_AGG_PREFIX_PORT || s == CONF_AGG_PREFIX_TOS ||
	       s == CONF_AGG_DST_PREFIX || s == CONF_AGG_DST_PREFIX_TOS;
}

static int h_agg_cache(struct conf_parser *p)
{
	return cache_cmd(p, &p->c->agg[p->cur].cache, false);
}

static int h_agg_export(struct conf_parser *p)
{
	return export_cmd(p, &p->c->agg[p->cur].export, true);
}

static int h_agg_enabled(struct conf_parser *p)
{
	p->c->agg[p->cur].enabled = !p->no;
	return eol(p);
}

static int h_agg_mask(struct conf_parser *p)
{
	static const char *const w[] = { "source minimum", "destination minimum" };
	struct conf_agg *a = &p->c->agg[p->cur];
	int mw = p->i;
	int k = KW(p, w);
	if (k < 0)
		return -1;
	if (k == 0 ? !scheme_has_src(a->scheme) : !scheme_has_dst(a->scheme)) {
		diag(p, CONF_ERROR, mw, "%% Invalid input detected at '%s': the %s scheme has no %s prefix", p->w[mw].s,
		     conf_agg_scheme_name[a->scheme], k == 0 ? "source" : "destination");
		return -1;
	}
	uint32_t v = 0;
	if (!p->no && num(p, "minimum mask (bits)", 1, 32, 1, 32, &v) != 0)
		return -1;
	if (p->no)
		p->i = p->nw;
	if (eol(p) != 0)
		return -1;
	if (k == 0)
		a->mask_src_min = (uint8_t)v;
	else
		a->mask_dst_min = (uint8_t)v;
	return 0;
}

/* --- Flexible NetFlow: records, exporters, monitors, samplers ------------ */

/* Find or create (or with `no`, remove) the named object of an array;
 * enters mode m. */
static int named_object(struct conf_parser *p, void *arr, size_t *n, size_t max, size_t sz, size_t name_off,
                        const char *kind, enum mode m)
{
	char name[CONF_NAME_MAX];
	int nw = p->i;
	if (ARG(p, "name", name) != 0 || eol(p) != 0)
		return -1;
	char *b = arr;
	size_t i;
	for (i = 0; i < *n; i++)
		if (strcmp(b + i * sz + name_off, name) == 0)
			break;
	if (p->no) {
		if (i == *n) {
			diag(p, CONF_WARNING, nw, "no %s %s to remove", kind, name);
			return 0;
		}
		/* a reference to it would dangle */
		const struct conf *c = p->c;
		bool used = false;
		if (m == M_RECORD || m == M_EXPORTER)
			for (size_t j = 0; j < c->nmonitor; j++) {
				if (m == M_RECORD && strcmp(c->monitor[j].record, name) == 0)
					used = true;
				for (size_t q = 0; m == M_EXPORTER && q < c->monitor[j].nexporter; q++)
					if (strcmp(c->monitor[j].exporter[q], name) == 0)
						used = true;
			}
		for (size_t j = 0; (m == M_MONITOR || m == M_SAMPLER) && j < c->niface; j++)
			for (size_t q = 0; q < c->iface[j].nmon; q++)
				if (strcmp(m == M_MONITOR ? c->iface[j].mon[q].monitor : c->iface[j].mon[q].sampler, name) == 0)
					used = true;
		for (size_t j = 0; m == M_SAMPLER && j < c->niface; j++)
			if (strcmp(c->iface[j].sampler, name) == 0)
				used = true;
		if (used) {
			diag(p, CONF_ERROR, nw, "%% %s %s is in use; remove its references first", kind, name);
			return -1;
		}
		array_remove(arr, n, i, sz);
		return 0;
	}
	if (i == *n) {
		if (*n == max) {
			diag(p, CONF_ERROR, nw, "at most %zu %ss", max, kind);
			return -1;
		}
		memset(b + i * sz, 0, sz);
		setstr(b + i * sz + name_off, CONF_NAME_MAX, name);
		(*n)++;
		if (m == M_EXPORTER) {
			struct conf_exporter *x = (struct conf_exporter *)(void *)(b + i * sz);
			x->port = CONF_FNF_PORT_DEFAULT;
			x->template_timeout_s = CONF_FNF_TIMEOUT_DEFAULT_S;
			x->ttl = 255;
			for (int o = 0; o < CONF_OPT_MAX_; o++)
				x->option_timeout_s[o] = CONF_FNF_TIMEOUT_DEFAULT_S;
		}
	}
	p->cur = i;
	push(p, m);
	return 0;
}

static int h_flow_record(struct conf_parser *p)
{
	struct conf *c = p->c;
	return named_object(p, c->record, &c->nrecord, CONF_RECORD_MAX, sizeof(c->record[0]),
	                    offsetof(struct conf_record, name), "flow record", M_RECORD);
}

static int h_flow_exporter(struct conf_parser *p)
{
	struct conf *c = p->c;
	return named_object(p, c->exporter, &c->nexporter, CONF_EXPORTER_MAX, sizeof(c->exporter[0]),
	                    offsetof(struct conf_exporter, name), "flow exporter", M_EXPORTER);
}

static int h_flow_monitor(struct conf_parser *p)
{
	struct conf *c = p->c;
	return named_object(p, c->monitor, &c->nmonitor, CONF_MONITOR_MAX, sizeof(c->monitor[0]),
	                    offsetof(struct conf_monitor, name), "flow monitor", M_MONITOR);
}

static int h_sampler(struct conf_parser *p)
{
	struct conf *c = p->c;
	return named_object(p, c->sampler, &c->nsampler, CONF_SAMPLER_MAX, sizeof(c->sampler[0]),
	                    offsetof(struct conf_sampler, name), "sampler", M_SAMPLER);
}

/* `description TEXT` in any named sub-mode. */
static int description(struct conf_parser *p, char *dst, size_t size)
{
	if (p->no) {
		memset(dst, 0, size);
		p->i = p->nw;
		return 0;
	}
	return rest(p, "description text", dst, size);
}

static int h_record_description(struct conf_parser *p)
{
	return description(p, p->c->record[p->cur].description, sizeof(p->c->record[0].description));
}

static int record_field(struct conf_parser *p, bool key)
{
	static const char *tab[128];
	static size_t ntab;
	if (!ntab) { /* the phrase table from the field catalog, once */
		for (size_t i = 0; i < conf_field_count && i < 128; i++)
			tab[i] = conf_field_table[i].words;
		ntab = conf_field_count < 128 ? conf_field_count : 128;
	}
	struct conf_record *r = &p->c->record[p->cur];
	int fw = p->i;
	int k = match_phrase(p, tab, ntab, NULL, false);
	if (k < 0 || eol(p) != 0)
		return -1;
	if (key && !conf_field_table[k].key_ok) {
		diag(p, CONF_ERROR, fw, "%% %s cannot be a match (key) field; use collect", conf_field_table[k].words);
		return -1;
	}
	uint16_t *list = key ? r->match : r->collect;
	size_t *n = key ? &r->nmatch : &r->ncollect;
	uint16_t *other = key ? r->collect : r->match;
	size_t nother = key ? r->ncollect : r->nmatch;
	for (size_t i = 0; i < *n; i++)
		if (list[i] == k) {
			if (p->no)
				array_remove(list, n, i, sizeof(list[0]));
			return 0;
		}
	if (p->no)
		return 0;
	for (size_t i = 0; i < nother; i++)
		if (other[i] == k) {
			diag(p, CONF_ERROR, fw, "%% %s is already a %s field of record %s", conf_field_table[k].words,
			     key ? "collect" : "match", r->name);
			return -1;
		}
	if (r->nmatch + r->ncollect == CONF_FIELDS_MAX) {
		diag(p, CONF_ERROR, fw, "at most %d fields in a flow record", CONF_FIELDS_MAX);
		return -1;
	}
	list[(*n)++] = (uint16_t)k;
	return 0;
}

/* `ipflow bucket ttl | packet-length` in a flow record (ipflow
 * extension): report TTL / hop limit or total length by the Catalyst FNF
 * value maps instead of exactly. */
static int h_record_bucket(struct conf_parser *p)
{
	static const char *const w[] = { "ttl", "packet-length" };
	static const unsigned bit[] = { CONF_REC_BUCKET_TTL, CONF_REC_BUCKET_LEN };
	struct conf_record *r = &p->c->record[p->cur];
	int k = KW(p, w);
	if (k < 0 || eol(p) != 0)
		return -1;
	if (p->no)
		r->options &= ~bit[k];
	else
		r->options |= bit[k];
	return 0;
}

static int h_match(struct conf_parser *p) { return record_field(p, true); }
static int h_collect(struct conf_parser *p) { return record_field(p, false); }

static int h_exporter_description(struct conf_parser *p)
{
	return description(p, p->c->exporter[p->cur].description, sizeof(p->c->exporter[0].description));
}

static int h_exporter_destination(struct conf_parser *p)
{
	struct conf_exporter *x = &p->c->exporter[p->cur];
	if (p->no) {
		memset(x->destination, 0, sizeof(x->destination));
		p->i = p->nw;
		return 0;
	}
	if (host(p, "destination", x->destination, sizeof(x->destination)) != 0)
		return -1;
	static const char *const vrf[] = { "vrf" };
	if (more(p)) { /* "destination H vrf NAME": no VRFs on this host */
		int vw = p->i;
		char name[CONF_NAME_MAX];
		if (KW(p, vrf) < 0 || ARG(p, "VRF name", name) != 0)
			return -1;
		diag(p, CONF_NOTE, vw, "VRF %s ignored: ipflow exports from the host's routing table", name);
	}
	return eol(p);
}

static int h_exporter_source(struct conf_parser *p)
{
	struct conf_exporter *x = &p->c->exporter[p->cur];
	if (p->no) {
		memset(x->source, 0, sizeof(x->source));
		p->i = p->nw;
		return 0;
	}
	return ARG(p, "source interface", x->source) != 0 ? -1 : eol(p);
}

static int h_exporter_transport(struct conf_parser *p)
{
	struct conf_exporter *x = &p->c->exporter[p->cur];
	if (p->no) {
		x->transport = CONF_UDP;
		x->port = CONF_FNF_PORT_DEFAULT;
		p->i = p->nw;
		return 0;
	}
	int k = KW(p, proto_words);
	uint32_t port;
	if (k < 0 || num(p, "port", 1, 65535, 1, 65535, &port) != 0 || eol(p) != 0)
		return -1;
	x->transport = (enum conf_proto)k;
	x->port = (uint16_t)port;
	return 0;
}

static const char *const fnf_proto_words[] = { "netflow-v9", "netflow-v5", "ipfix" };

static bool record_is_traditional(const char *name)
{
	return strcmp(name, CONF_RECORD_NETFLOW_ORIGINAL) == 0 || strcmp(name, CONF_RECORD_NETFLOW_IPV4_ORIG_IN) == 0 ||
	       strcmp(name, CONF_RECORD_NETFLOW_IPV4_ORIG_OUT) == 0;
}

static bool monitor_uses(const struct conf_monitor *m, const char *exporter)
{
	for (size_t i = 0; i < m->nexporter; i++)
		if (strcmp(m->exporter[i], exporter) == 0)
			return true;
	return false;
}

/* NetFlow v5 carries only the traditional IPv4 record: an error for the
 * first monitor using x (a netflow-v5 exporter) that has another record
 * or is applied to IPv6 traffic. wi: the word to point at (-2: the
 * whole file). */
static int fnf_v5_users_ok(struct conf_parser *p, int wi, const struct conf_exporter *x)
{
	const struct conf *c = p->c;
	if (x->protocol != CONF_FNF_V5)
		return 0;
	for (size_t i = 0; i < c->nmonitor; i++) {
		const struct conf_monitor *m = &c->monitor[i];
		if (!monitor_uses(m, x->name))
			continue;
		if (m->record[0] && !record_is_traditional(m->record)) {
			diag(p, CONF_ERROR, wi,
			     "%% Flow Monitor %s: exporter %s exports netflow-v5, which can carry only the netflow-original "
			     "record (netflow ipv4 original-input/output), not %s; use export-protocol %s",
			     m->name, x->name, m->record,
			     strcmp(m->record, CONF_RECORD_PACKET_SECTION) ? "netflow-v9 or ipfix" : "ipfix");
			return -1;
		}
		for (size_t f = 0; f < c->niface; f++)
			for (size_t k = 0; k < c->iface[f].nmon; k++)
				if (c->iface[f].mon[k].traffic == CONF_TR_IPV6 && strcmp(c->iface[f].mon[k].monitor, m->name) == 0) {
					diag(p, CONF_ERROR, wi,
					     "%% Flow Monitor %s: exporter %s exports netflow-v5, which cannot carry IPv6 flows, "
					     "and interface %s applies it as ipv6 flow monitor",
					     m->name, x->name, c->iface[f].name);
					return -1;
				}
	}
	return 0;
}

/* Packet sections (dataLinkFrameSection, variable length) go out in
 * IPFIX only: v9 has no variable-length field (v5 is refused above). A
 * whole-file check, as the protocol line may follow the monitor's. */
static void psamp_ipfix_ok(struct conf_parser *p)
{
	const struct conf *c = p->c;
	for (size_t i = 0; i < c->nmonitor; i++) {
		const struct conf_monitor *m = &c->monitor[i];
		if (strcmp(m->record, CONF_RECORD_PACKET_SECTION) != 0)
			continue;
		for (size_t k = 0; k < m->nexporter; k++) {
			const struct conf_exporter *x = conf_find_exporter(c, m->exporter[k]);
			if (x && x->protocol == CONF_FNF_V9)
				diag(p, CONF_ERROR, -2,
				     "%% Flow Monitor %s: flow exporter %s exports netflow-v9; record %s (dataLinkFrameSection, "
				     "IE 315, variable length) needs export-protocol ipfix",
				     m->name, x->name, m->record);
		}
	}
}

static int h_exporter_protocol(struct conf_parser *p)
{
	struct conf_exporter *x = &p->c->exporter[p->cur];
	if (p->no) {
		x->protocol = CONF_FNF_V9;
		p->i = p->nw;
		return 0;
	}
	int pw = p->i;
	int k = KW(p, fnf_proto_words);
	if (k < 0 || eol(p) != 0)
		return -1;
	enum conf_fnf_proto old = x->protocol;
	x->protocol = (enum conf_fnf_proto)k;
	if (fnf_v5_users_ok(p, pw, x) != 0) {
		x->protocol = old;
		return -1;
	}
	return 0;
}

static int h_exporter_template(struct conf_parser *p)
{
	static const char *const w[] = { "data timeout" };
	struct conf_exporter *x = &p->c->exporter[p->cur];
	if (KW(p, w) < 0)
		return -1;
	if (p->no) {
		x->template_timeout_s = CONF_FNF_TIMEOUT_DEFAULT_S;
		p->i = p->nw;
		return 0;
	}
	uint32_t v;
	if (num(p, "template timeout (seconds)", 1, 86400, 1, 86400, &v) != 0 || eol(p) != 0)
		return -1;
	x->template_timeout_s = v;
	return 0;
}

static const char *const option_words[] = { "exporter-stats", "interface-table", "sampler-table", "application-table" };

static int h_exporter_option(struct conf_parser *p)
{
	static const char *const tw[] = { "timeout" };
	struct conf_exporter *x = &p->c->exporter[p->cur];
	int k = KW(p, option_words);
	if (k < 0)
		return -1;
	if (p->no) {
		x->options &= ~(1u << k);
		x->option_timeout_s[k] = CONF_FNF_TIMEOUT_DEFAULT_S;
		p->i = p->nw;
		return 0;
	}
	uint32_t v = CONF_FNF_TIMEOUT_DEFAULT_S;
	if (more(p) && (KW(p, tw) < 0 || num(p, "option timeout (seconds)", 1, 86400, 1, 86400, &v) != 0))
		return -1;
	if (eol(p) != 0)
		return -1;
	x->options |= 1u << k;
	x->option_timeout_s[k] = v;
	return 0;
}

static int h_exporter_dscp(struct conf_parser *p)
{
	struct conf_exporter *x = &p->c->exporter[p->cur];
	uint32_t v = 0;
	if (!p->no && num(p, "DSCP", 0, 63, 0, 63, &v) != 0)
		return -1;
	if (p->no)
		p->i = p->nw;
	x->dscp = (uint8_t)v;
	return eol(p);
}

static int h_exporter_ttl(struct conf_parser *p)
{
	struct conf_exporter *x = &p->c->exporter[p->cur];
	uint32_t v = 255;
	if (!p->no && num(p, "TTL", 1, 255, 1, 255, &v) != 0)
		return -1;
	if (p->no)
		p->i = p->nw;
	x->ttl = (uint8_t)v;
	return eol(p);
}

static int h_monitor_description(struct conf_parser *p)
{
	return description(p, p->c->monitor[p->cur].description, sizeof(p->c->monitor[0].description));
}

/* v5 carries only the traditional record (issue 7: refused at configuration time). */
static int check_v5(struct conf_parser *p, int wi, const struct conf_monitor *m, const struct conf_exporter *x)
{
	if (x->protocol != CONF_FNF_V5 || !m->record[0] || record_is_traditional(m->record))
		return 0;
	diag(p, CONF_ERROR, wi,
	     "%% Flow Monitor %s: exporter %s exports netflow-v5, which can carry only the netflow-original record "
	     "(netflow ipv4 original-input/output), not %s; use export-protocol %s",
	     m->name, x->name, m->record,
	     strcmp(m->record, CONF_RECORD_PACKET_SECTION) ? "netflow-v9 or ipfix" : "ipfix");
	return -1;
}

static int h_monitor_record(struct conf_parser *p)
{
	static const char *const builtin[] = {
		CONF_RECORD_NETFLOW_ORIGINAL, CONF_RECORD_NETFLOW_IPV4_ORIG_IN, CONF_RECORD_NETFLOW_IPV4_ORIG_OUT,
		CONF_RECORD_NETFLOW_IPV6_ORIG_IN, CONF_RECORD_NETFLOW_IPV6_ORIG_OUT,
	};
	static const char *const single[] = { CONF_RECORD_NETFLOW_ORIGINAL, CONF_RECORD_PACKET_SECTION };
	struct conf_monitor *m = &p->c->monitor[p->cur];
	if (p->no) {
		memset(m->record, 0, sizeof(m->record));
		p->i = p->nw;
		return 0;
	}
	int rw = p->i;
	char name[CONF_NAME_MAX];
	if (more(p) && strcasecmp(p->w[p->i].s, "netflow") == 0) {
		int k = KW(p, builtin);
		if (k < 0 || eol(p) != 0)
			return -1;
		snprintf(name, sizeof(name), "%s", builtin[k]);
	} else if (more(p) && (strcmp(p->w[p->i].s, single[0]) == 0 || strcmp(p->w[p->i].s, single[1]) == 0)) {
		snprintf(name, sizeof(name), "%s", p->w[p->i].s);
		p->i++;
		if (eol(p) != 0)
			return -1;
	} else {
		if (ARG(p, "flow record name", name) != 0 || eol(p) != 0)
			return -1;
		if (!conf_find_record(p->c, name)) {
			diag(p, CONF_ERROR, rw, "%% Flow Monitor %s: flow record %s does not exist", m->name, name);
			return -1;
		}
	}
	char old[CONF_NAME_MAX];
	memcpy(old, m->record, sizeof(old));
	SETSTR(m->record, name);
	for (size_t i = 0; i < m->nexporter; i++)
		if (check_v5(p, rw, m, conf_find_exporter(p->c, m->exporter[i])) != 0) {
			memcpy(m->record, old, sizeof(old));
			return -1;
		}
	return 0;
}

static int h_monitor_exporter(struct conf_parser *p)
{
	struct conf_monitor *m = &p->c->monitor[p->cur];
	char name[CONF_NAME_MAX];
	int xw = p->i;
	if (ARG(p, "flow exporter name", name) != 0 || eol(p) != 0)
		return -1;
	for (size_t i = 0; i < m->nexporter; i++)
		if (strcmp(m->exporter[i], name) == 0) {
			if (p->no)
				array_remove(m->exporter, &m->nexporter, i, sizeof(m->exporter[0]));
			return 0;
		}
	if (p->no)
		return 0;
	const struct conf_exporter *x = conf_find_exporter(p->c, name);
	if (!x) {
		diag(p, CONF_ERROR, xw, "%% Flow Monitor %s: flow exporter %s does not exist", m->name, name);
		return -1;
	}
	if (check_v5(p, xw, m, x) != 0)
		return -1;
	if (m->nexporter == CONF_MON_EXPORTERS) {
		diag(p, CONF_ERROR, xw, "at most %d exporters per flow monitor", CONF_MON_EXPORTERS);
		return -1;
	}
	SETSTR(m->exporter[m->nexporter], name);
	m->nexporter++;
	return 0;
}

static int h_monitor_cache(struct conf_parser *p)
{
	static const char *const w[] = { "timeout active", "timeout inactive", "timeout update", "entries", "type" };
	static const unsigned bit[] = { CONF_C_ACTIVE, CONF_C_INACTIVE, CONF_C_UPDATE, CONF_C_ENTRIES, CONF_C_TYPE };
	struct conf_cache *c = &p->c->monitor[p->cur].cache;
	int k = KW(p, w);
	if (k < 0)
		return -1;
	if (p->no) {
		c->set &= ~bit[k];
		uint32_t *f[] = { &c->active_s, &c->inactive_s, &c->update_s, &c->entries };
		if (k < 4)
			*f[k] = 0;
		else
			c->type = CONF_CACHE_NORMAL;
		p->i = p->nw;
		return 0;
	}
	uint32_t v = 0;
	int r;
	if (k == 0)
		r = num(p, "active timeout (seconds)", 1, 604800, 1, 604800, &v), c->active_s = v;
	else if (k == 1)
		r = num(p, "inactive timeout (seconds)", 1, 604800, 1, 604800, &v), c->inactive_s = v;
	else if (k == 2)
		r = num(p, "update timeout (seconds)", 1, 604800, 1, 604800, &v), c->update_s = v;
	else if (k == 3)
		r = num(p, "number of entries", 16, 1048576, 1, 1u << 26, &v), c->entries = v;
	else if ((r = KW(p, ctype_words)) >= 0)
		c->type = (enum conf_cache_type)r, r = 0;
	if (r < 0 || eol(p) != 0)
		return -1;
	c->set |= bit[k];
	return 0;
}

static int h_sampler_description(struct conf_parser *p)
{
	return description(p, p->c->sampler[p->cur].description, sizeof(p->c->sampler[0].description));
}

static int h_sampler_mode(struct conf_parser *p)
{
	/* FNF `mode random 1 out-of N`; flow-sampler-map `mode random one-out-of N` */
	static const char *const w[] = { "deterministic 1 out-of", "random 1 out-of", "deterministic one-out-of",
		                         "random one-out-of" };
	struct conf_sampler *s = &p->c->sampler[p->cur];
	if (p->no) {
		s->mode = CONF_SAMPLER_DETERMINISTIC;
		s->one_out_of = 0;
		p->i = p->nw;
		return 0;
	}
	int k = KW(p, w);
	uint32_t v;
	if (k < 0 || num(p, "sampling interval (1 out of N)", 2, 32768, 2, 32768, &v) != 0 || eol(p) != 0)
		return -1;
	s->mode = (enum conf_sampler_mode)(k & 1);
	s->one_out_of = v;
	return 0;
}

/* --- interfaces ---------------------------------------------------------- */

static int h_interface(struct conf_parser *p)
{
	char name[CONF_NAME_MAX];
	int nw = p->i;
	if (ARG(p, "interface name", name) != 0)
		return -1;
	/* "interface GigabitEthernet 0/1" is "GigabitEthernet0/1" on a router */
	if (more(p) && p->w[p->i].s[0] >= '0' && p->w[p->i].s[0] <= '9') {
		char j[2 * CONF_NAME_MAX];
		snprintf(j, sizeof(j), "%s%s", name, p->w[p->i].s);
		if (strlen(j) >= sizeof(name)) {
			diag(p, CONF_ERROR, nw, "interface name too long");
			return -1;
		}
		SETSTR(name, j);
		p->i++;
	}
	if (eol(p) != 0)
		return -1;
	struct conf *c = p->c;
	size_t i;
	for (i = 0; i < c->niface; i++)
		if (strcmp(c->iface[i].name, name) == 0)
			break;
	if (p->no) {
		if (i < c->niface)
			array_remove(c->iface, &c->niface, i, sizeof(c->iface[0]));
		return 0;
	}
	if (i == c->niface) {
		if (c->niface == CONF_IFACE_MAX) {
			diag(p, CONF_ERROR, nw, "at most %d interfaces", CONF_IFACE_MAX);
			return -1;
		}
		memset(&c->iface[i], 0, sizeof(c->iface[i]));
		SETSTR(c->iface[i].name, name);
		c->niface++;
	}
	p->cur = i;
	push(p, M_IF);
	return 0;
}

static const char *const traffic_name[] = { "ipv4", "ipv6", "layer2-switched" };

/* `ip flow monitor M [sampler S] input|output`, `... layer2-switched input`,
 * `ipv6 flow monitor M [sampler S] input|output`. One monitor per traffic
 * type and direction on an interface, as the router enforces. */
static int if_monitor(struct conf_parser *p, bool v6)
{
	struct conf_iface *f = &p->c->iface[p->cur];
	struct conf_if_monitor m = { .traffic = v6 ? CONF_TR_IPV6 : CONF_TR_IPV4 };
	int mw = p->i;
	if (ARG(p, "flow monitor name", m.monitor) != 0)
		return -1;
	static const char *const w4[] = { "input", "output", "sampler", "layer2-switched input" };
	int k;
	for (;;) {
		k = match_phrase(p, w4, v6 ? 3 : 4, NULL, false);
		if (k < 0)
			return -1;
		if (k != 2)
			break;
		int sw = p->i;
		if (m.sampler[0]) {
			diag(p, CONF_ERROR, sw - 1, "%% Invalid input detected at 'sampler': one sampler per monitor");
			return -1;
		}
		if (ARG(p, "sampler name", m.sampler) != 0)
			return -1;
		if (!p->no && !conf_find_sampler(p->c, m.sampler)) {
			diag(p, CONF_ERROR, sw, "%% Sampler %s does not exist", m.sampler);
			return -1;
		}
	}
	if (eol(p) != 0)
		return -1;
	if (k == 3)
		m.traffic = CONF_TR_L2;
	m.dir = k == 1;
	for (size_t i = 0; i < f->nmon; i++) {
		struct conf_if_monitor *o = &f->mon[i];
		if (o->traffic != m.traffic || o->dir != m.dir)
			continue;
		if (p->no) {
			if (strcmp(o->monitor, m.monitor) == 0)
				array_remove(f->mon, &f->nmon, i, sizeof(f->mon[0]));
			return 0;
		}
		if (strcmp(o->monitor, m.monitor) == 0) {
			*o = m; /* re-entered: the sampler may change */
			return 0;
		}
		diag(p, CONF_ERROR, mw,
		     "%% Flow Monitor: only one monitor per traffic type is allowed: %s already monitors %s %s on %s",
		     o->monitor, traffic_name[o->traffic], o->dir ? "output" : "input", f->name);
		return -1;
	}
	if (p->no)
		return 0;
	const struct conf_monitor *cm = conf_find_monitor(p->c, m.monitor);
	if (!cm) {
		diag(p, CONF_ERROR, mw, "%% Flow Monitor %s does not exist", m.monitor);
		return -1;
	}
	for (size_t i = 0; v6 && i < cm->nexporter; i++) {
		const struct conf_exporter *x = conf_find_exporter(p->c, cm->exporter[i]);
		if (x && x->protocol == CONF_FNF_V5) {
			diag(p, CONF_ERROR, mw,
			     "%% Flow Monitor %s: exporter %s exports netflow-v5, which cannot carry IPv6 flows; use "
			     "export-protocol netflow-v9 or ipfix", cm->name, x->name);
			return -1;
		}
	}
	if (f->nmon == CONF_IF_MONITOR_MAX) {
		diag(p, CONF_ERROR, mw, "at most %d monitors on an interface", CONF_IF_MONITOR_MAX);
		return -1;
	}
	f->mon[f->nmon++] = m;
	return 0;
}

static int h_if_ip_flow(struct conf_parser *p)
{
	static const char *const w[] = { "ingress", "egress", "monitor" };
	struct conf_iface *f = &p->c->iface[p->cur];
	int k = KW(p, w);
	if (k < 0)
		return -1;
	if (k == 2)
		return if_monitor(p, false);
	if (eol(p) != 0)
		return -1;
	if (k == 0)
		f->ingress = !p->no;
	else
		f->egress = !p->no;
	return 0;
}

static int h_if_ipv6_flow(struct conf_parser *p)
{
	static const char *const w[] = { "monitor" };
	if (KW(p, w) < 0)
		return -1;
	return if_monitor(p, true);
}

/* `flow-sampler NAME`: sampled NetFlow for the main cache on this
 * interface (the sampler is a `sampler` or `flow-sampler-map` block). */
static int h_if_flow_sampler(struct conf_parser *p)
{
	struct conf_iface *f = &p->c->iface[p->cur];
	if (p->no) {
		memset(f->sampler, 0, sizeof(f->sampler));
		p->i = p->nw;
		return 0;
	}
	int sw = p->i;
	char name[CONF_NAME_MAX];
	if (ARG(p, "flow sampler name", name) != 0 || eol(p) != 0)
		return -1;
	const struct conf_sampler *s = conf_find_sampler(p->c, name);
	if (!s) {
		diag(p, CONF_ERROR, sw, "%% Sampler %s does not exist", name);
		return -1;
	}
	SETSTR(f->sampler, name);
	return 0;
}

/* `ip route-cache flow`: ingress NetFlow in IOS before 12.2(25)S. */
static int h_if_route_cache_flow(struct conf_parser *p)
{
	p->c->iface[p->cur].ingress = !p->no;
	return eol(p);
}

static int h_if_description(struct conf_parser *p)
{
	return description(p, p->c->iface[p->cur].description, sizeof(p->c->iface[0].description));
}

/* `ipflow pcap FILE [ifindex N]` under an interface: read a file. */
static int h_if_ipflow(struct conf_parser *p)
{
	static const char *const iw[] = { "ifindex" };
	struct conf_iface *f = &p->c->iface[p->cur];
	if (p->no) {
		memset(f->pcap, 0, sizeof(f->pcap));
		f->ifindex = 0;
		p->i = p->nw;
		return 0;
	}
	if (ARG(p, "pcap file", f->pcap) != 0)
		return -1;
	f->ifindex = 0;
	if (more(p) && (KW(p, iw) < 0 || num(p, "ifIndex", 0, UINT32_MAX, 0, UINT32_MAX, &f->ifindex) != 0))
		return -1;
	return eol(p);
}

/* --- host settings: `ipflow ...` ----------------------------------------- */

static int h_ipflow(struct conf_parser *p)
{
	static const char *const w[] = {
		"control-socket", "pid-file", "user", "logging", "alias", "flow-log", "capture snaplen",
		"capture filter", "replay-speed", "route-table",
	};
	static const char *const gw[] = { "group" };
	static const char *const lw[] = { "stderr", "syslog" };
	struct conf_host *h = &p->c->host;
	int k = KW(p, w);
	if (k < 0)
		return -1;
	if (p->no) {
		switch (k) {
		case 0: memset(h->ctl_path, 0, sizeof(h->ctl_path)); memset(h->ctl_group, 0, sizeof(h->ctl_group)); break;
		case 1: memset(h->pid_file, 0, sizeof(h->pid_file)); break;
		case 2: memset(h->user, 0, sizeof(h->user)); break;
		case 3: h->syslog = false; break;
		case 5: memset(h->flowlog, 0, sizeof(h->flowlog)); break;
		case 6: h->snaplen = 0; break;
		case 7: memset(h->filter, 0, sizeof(h->filter)); break;
		case 8: h->speed = 0; break;
		case 9: memset(h->routes, 0, sizeof(h->routes)); break;
		default: break;
		}
		if (k != 4) {
			p->i = p->nw;
			return 0;
		}
	}
	switch (k) {
	case 0:
		if (ARG(p, "control socket path (or none)", h->ctl_path) != 0)
			return -1;
		memset(h->ctl_group, 0, sizeof(h->ctl_group));
		if (more(p) && (KW(p, gw) < 0 || ARG(p, "group name", h->ctl_group) != 0))
			return -1;
		return eol(p);
	case 1:
		return ARG(p, "pid file path", h->pid_file) != 0 ? -1 : eol(p);
	case 2:
		return ARG(p, "user name", h->user) != 0 ? -1 : eol(p);
	case 3: {
		int l = KW(p, lw);
		if (l < 0 || eol(p) != 0)
			return -1;
		h->syslog = l == 1;
		return 0;
	}
	case 4: {
		struct conf *c = p->c;
		char ios[CONF_NAME_MAX], lx[CONF_NAME_MAX];
		int aw = p->i;
		if (ARG(p, "interface name", ios) != 0)
			return -1;
		if (!p->no && ARG(p, "Linux interface name", lx) != 0)
			return -1;
		if (p->no)
			p->i = p->nw;
		if (eol(p) != 0)
			return -1;
		for (size_t i = 0; i < c->nalias; i++)
			if (strcmp(c->alias[i].ios, ios) == 0) {
				if (p->no)
					array_remove(c->alias, &c->nalias, i, sizeof(c->alias[0]));
				else
					SETSTR(c->alias[i].linux_name, lx);
				return 0;
			}
		if (p->no)
			return 0;
		if (c->nalias == CONF_ALIAS_MAX) {
			diag(p, CONF_ERROR, aw, "at most %d aliases", CONF_ALIAS_MAX);
			return -1;
		}
		SETSTR(c->alias[c->nalias].ios, ios);
		SETSTR(c->alias[c->nalias].linux_name, lx);
		c->nalias++;
		return 0;
	}
	case 5:
		return ARG(p, "flow log ([jsonl:|csv:]PATH)", h->flowlog) != 0 ? -1 : eol(p);
	case 6:
		if (num(p, "snap length", 64, 262144, 64, 262144, &h->snaplen) != 0)
			return -1;
		return eol(p);
	case 7:
		return rest(p, "capture filter (BPF)", h->filter, sizeof(h->filter));
	case 9:
		return ARG(p, "routing table file", h->routes) != 0 ? -1 : eol(p);
	default: {
		if (!more(p)) {
			diag(p, CONF_ERROR, -1, "%% Incomplete command: expected a speed factor");
			return -1;
		}
		char *end;
		double v = strtod(p->w[p->i].s, &end);
		if (*end || !(v > 0) || v > 1e6 || !isfinite(v)) {
			diag(p, CONF_ERROR, p->i, "%% Invalid input detected at '%s': expected a speed factor above 0, at most 1000000",
			     p->w[p->i].s);
			return -1;
		}
		h->speed = v;
		p->i++;
		return eol(p);
	}
	}
}

/* --- mode changes and router commands that do not apply here ------------- */

static int h_exit(struct conf_parser *p)
{
	if (p->depth > 1)
		p->depth--;
	return eol(p);
}

static int h_end(struct conf_parser *p)
{
	p->depth = 1;
	return 0;
}

struct cmd {
	enum mode mode;
	const char *words;
	int (*fn)(struct conf_parser *p);
};

/* The command table: per mode, the leading words and the handler that
 * parses the rest. */
static const struct cmd cmds[] = {
	{ M_GLOBAL, "ip flow-export", h_flow_export },
	{ M_GLOBAL, "ip flow-cache", h_flow_cache },
	{ M_GLOBAL, "ip flow-aggregation cache", h_agg },
	{ M_GLOBAL, "flow record", h_flow_record },
	{ M_GLOBAL, "flow exporter", h_flow_exporter },
	{ M_GLOBAL, "flow monitor", h_flow_monitor },
	{ M_GLOBAL, "sampler", h_sampler },
	{ M_GLOBAL, "flow-sampler-map", h_sampler },
	{ M_GLOBAL, "interface", h_interface },
	{ M_GLOBAL, "ipflow", h_ipflow },
	{ M_GLOBAL, "end", h_end },
	{ M_IF, "ip flow", h_if_ip_flow },
	{ M_IF, "ipv6 flow", h_if_ipv6_flow },
	{ M_IF, "ip route-cache flow", h_if_route_cache_flow },
	{ M_IF, "flow-sampler", h_if_flow_sampler },
	{ M_IF, "description", h_if_description },
	{ M_IF, "ipflow pcap", h_if_ipflow },
	{ M_IF, "exit", h_exit },
	{ M_SCTP, "reliability", h_reliability },
	{ M_SCTP, "backup", h_backup },
	{ M_SCTP, "exit", h_exit },
	{ M_AGG, "cache", h_agg_cache },
	{ M_AGG, "export", h_agg_export },
	{ M_AGG, "mask", h_agg_mask },
	{ M_AGG, "enabled", h_agg_enabled },
	{ M_AGG, "exit", h_exit },
	{ M_RECORD, "description", h_record_description },
	{ M_RECORD, "match", h_match },
	{ M_RECORD, "collect", h_collect },
	{ M_RECORD, "ipflow bucket", h_record_bucket },
	{ M_RECORD, "exit", h_exit },
	{ M_EXPORTER, "description", h_exporter_description },
	{ M_EXPORTER, "destination", h_exporter_destination },
	{ M_EXPORTER, "source", h_exporter_source },
	{ M_EXPORTER, "transport", h_exporter_transport },
	{ M_EXPORTER, "export-protocol", h_exporter_protocol },
	{ M_EXPORTER, "template", h_exporter_template },
	{ M_EXPORTER, "option", h_exporter_option },
	{ M_EXPORTER, "dscp", h_exporter_dscp },
	{ M_EXPORTER, "ttl", h_exporter_ttl },
	{ M_EXPORTER, "exit", h_exit },
	{ M_MONITOR, "description", h_monitor_description },
	{ M_MONITOR, "record", h_monitor_record },
	{ M_MONITOR, "exporter", h_monitor_exporter },
	{ M_MONITOR, "cache", h_monitor_cache },
	{ M_MONITOR, "exit", h_exit },
	{ M_SAMPLER, "description", h_sampler_description },
	{ M_SAMPLER, "mode", h_sampler_mode },
	{ M_SAMPLER, "exit", h_exit },
};

/* First words of router commands that mean nothing on a Linux host:
 * accepted with a note. Global ones may open a block whose indented
 * lines are skipped too. */
static const char *const ios_global_words[] = {
	"aaa", "access-list", "alias", "archive", "banner", "boot", "boot-end-marker", "boot-start-marker",
	"bridge", "cdp", "class-map", "clock", "configure", "control-plane", "crypto", "dial-peer",
	"enable", "errdisable", "event", "exit", "hostname", "ip", "ipv6", "key", "license", "line",
	"lldp", "logging", "mac", "memory", "mls", "monitor", "mpls", "multilink", "ntp", "object-group",
	"parameter-map", "platform", "policy-map", "port-channel", "power", "redundancy", "route-map",
	"router", "service", "snmp", "snmp-server", "spanning-tree", "tacacs-server", "tacacs",
	"radius-server", "radius", "track", "username", "version", "vlan", "vrf", "vtp", "wsma", "zone",
	"zone-pair", "diagnostic", "system", "transceiver", "udld", "file", "login", "security",
	"subscriber", "multicast", "call-home", "virtual-service", "netconf", "restconf", "ip-sla",
	"scheduler", "vstack", "default", "do", "write", "copy", "show", "building", "current",
	"end",
};

static const char *const ios_if_words[] = {
	"ip", "ipv6", "shutdown", "duplex", "speed", "negotiation", "mtu", "encapsulation",
	"bandwidth", "load-interval", "media-type", "keepalive", "switchport", "channel-group",
	"standby", "vrrp", "cdp", "lldp", "service-policy", "tunnel", "ppp", "pppoe", "dialer",
	"arp", "carrier-delay", "delay", "logging", "snmp", "spanning-tree", "storm-control",
	"power", "mls", "hold-queue", "xconnect", "mpls", "vrf", "zone-member", "crypto", "nat",
	"auto", "udld", "macsec", "authentication", "dot1x", "mab", "glbp", "bfd", "isis", "qos",
	"priority-queue", "wrr-queue", "rcv-queue", "flowcontrol", "no", "default", "clns",
	"peer", "pvc", "atm", "frame-relay", "cable", "dot1q", "l2protocol-tunnel", "mac",
	"vlan-range", "source", "encryption", "ssid", "station-role", "channel", "backup",
	"ethernet", "transmit-interface", "access-expression", "autostate", "platform",
};

/* Is the line a router command ipflow has no use for? Words under ip /
 * ipv6 that begin with "flow" are NetFlow commands and never ignored. */
static bool ios_ignorable(struct conf_parser *p, const char *const *tab, size_t n)
{
	const char *w0 = p->w[p->i].s;
	bool known = false;
	for (size_t k = 0; k < n; k++)
		if (strcasecmp(w0, tab[k]) == 0)
			known = true;
	if (!known)
		return false;
	if ((strcasecmp(w0, "ip") == 0 || strcasecmp(w0, "ipv6") == 0) && p->i + 1 < p->nw &&
	    (strncasecmp(p->w[p->i + 1].s, "flow", 4) == 0 || strncasecmp(p->w[p->i + 1].s, "fl", 2) == 0))
		return false;
	return true;
}

/* "banner motd ^C ... ^C": skip to the closing delimiter. */
static void banner_start(struct conf_parser *p)
{
	int dw = p->i + 2 < p->nw ? p->i + 2 : p->i + 1;
	if (dw >= p->nw)
		return;
	const char *s = p->w[dw].s;
	if (strlen(s) > 1 && s[0] == '^' && dw == p->i + 1 && strcasecmp(p->w[p->i + 1].s, "motd") == 0)
		return;
	size_t dl = (s[0] == '^' && s[1]) ? 2 : 1;
	memcpy(p->banner_delim, s, dl);
	p->banner_delim[dl] = 0;
	/* closed on the same line? */
	const char *after = p->raw + p->w[dw].col - 1 + dl;
	if (strstr(after, p->banner_delim))
		p->banner_delim[0] = 0;
}

/* Was the first word of the line abbreviated into words (a sub-mode
 * command) while an enclosing mode has a command starting with exactly
 * that word? Then the line belongs to the enclosing mode. */
static bool outer_exact(const struct conf_parser *p, int start, int d, const char *words)
{
	const char *w = p->w[start].s;
	size_t l = strcspn(words, " ");
	if (strlen(w) == l && strncasecmp(w, words, l) == 0)
		return false;
	for (int o = d - 1; o >= 0; o--)
		for (size_t k = 0; k < NELEM(cmds); k++) {
			if (cmds[k].mode != p->stack[o])
				continue;
			size_t ol = strcspn(cmds[k].words, " ");
			if (strlen(w) == ol && strncasecmp(w, cmds[k].words, ol) == 0)
				return true;
		}
	return false;
}

static void dispatch(struct conf_parser *p)
{
	int start = p->i;
	p->miss = MISS_NONE;
	p->miss_word = -1;
	/* the current mode, then each enclosing one (IOS exits sub-modes for a
	 * command they do not know) */
	for (int d = p->depth - 1; d >= 0; d--) {
		enum mode m = p->stack[d];
		const char *tab[NELEM(cmds)];
		for (size_t k = 0; k < NELEM(cmds); k++)
			tab[k] = cmds[k].mode == m ? cmds[k].words : NULL;
		p->i = start;
		int k = match_phrase(p, tab, NELEM(cmds), NULL, true);
		if (k >= 0 && d > 0 && outer_exact(p, start, d, cmds[k].words))
			k = -1; /* "flow exporter" under an interface is the global command, not flow-sampler */
		if (k >= 0) {
			p->depth = d + 1;
			cmds[k].fn(p);
			return;
		}
	}
	p->i = start;
	enum mode top = cur_mode(p);
	if (top == M_IGNORED && p->indented) {
		diag(p, CONF_NOTE, 0, "ignored (part of a router block ipflow does not use)");
		return;
	}
	if (top == M_IF && ios_ignorable(p, ios_if_words, NELEM(ios_if_words))) {
		diag(p, CONF_NOTE, 0, "interface command '%s' does not apply on this host: ignored", p->w[start].s);
		return;
	}
	if (ios_ignorable(p, ios_global_words, NELEM(ios_global_words))) {
		diag(p, CONF_NOTE, 0, "router command '%s' does not apply on this host: ignored", p->w[start].s);
		if (strcasecmp(p->w[start].s, "banner") == 0)
			banner_start(p);
		p->depth = 1;
		push(p, M_IGNORED);
		return;
	}
	/* report the miss that got furthest */
	int wi = p->miss_word;
	if (p->miss == MISS_INCOMPLETE)
		diag(p, CONF_ERROR, -1, "%% Incomplete command: expected %s", p->miss_expect);
	else if (p->miss == MISS_AMBIGUOUS)
		diag(p, CONF_ERROR, wi, "%% Ambiguous command: '%s' could be %s", p->w[wi].s, p->miss_expect);
	else
		diag(p, CONF_ERROR, wi, "%% Invalid input detected at '%s' in %s mode: expected %s", p->w[wi].s,
		     mode_name[top], p->miss_expect);
}

/* --- parser entry points ------------------------------------------------- */

struct conf_parser *conf_parser_new(conf_report_fn report, void *arg)
{
	struct conf_parser *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->c = conf_new();
	if (!p->c) {
		free(p);
		return NULL;
	}
	p->report = report;
	p->arg = arg;
	p->stack[0] = M_GLOBAL;
	p->depth = 1;
	snprintf(p->source, sizeof(p->source), "-");
	return p;
}

void conf_parser_source(struct conf_parser *p, const char *name, uint32_t first_line, bool flags)
{
	snprintf(p->source, sizeof(p->source), "%s", name);
	p->line = first_line;
	p->flags = flags;
	p->depth = 1;
	p->banner_delim[0] = 0;
}

int conf_parse_line(struct conf_parser *p, const char *line, size_t len)
{
	unsigned errors = p->errors;
	p->line++;
	if (len && line[len - 1] == '\n')
		len--;
	if (len && line[len - 1] == '\r')
		len--;
	p->raw[0] = 0;
	p->nw = p->i = 0;
	p->no = false;
	if (len > CONF_LINE_MAX) {
		diag(p, CONF_ERROR, -2, "line too long (%zu bytes; at most %d)", len, CONF_LINE_MAX);
		return -1;
	}
	memcpy(p->raw, line, len);
	p->raw[len] = 0;
	if (memchr(line, 0, len)) {
		p->raw[0] = 0;
		diag(p, CONF_ERROR, -2, "NUL byte in the line");
		return -1;
	}
	for (size_t k = 0; k < len; k++) /* tabs are blanks; other control bytes are errors */
		if ((unsigned char)p->raw[k] < 0x20 && p->raw[k] != '\t') {
			diag(p, CONF_ERROR, -2, "control character 0x%02x at column %zu", (unsigned char)p->raw[k], k + 1);
			p->raw[0] = 0;
			return -1;
		}
	if (p->banner_delim[0]) {
		if (strstr(p->raw, p->banner_delim))
			p->banner_delim[0] = 0;
		return 0;
	}
	memcpy(p->buf, p->raw, len + 1);
	p->indented = len && (p->raw[0] == ' ' || p->raw[0] == '\t');
	for (char *s = p->buf; *s;) {
		while (*s == ' ' || *s == '\t')
			*s++ = 0;
		if (!*s)
			break;
		if (p->nw == MAX_WORDS) {
			diag(p, CONF_ERROR, -2, "too many words (at most %d)", MAX_WORDS);
			return -1;
		}
		p->w[p->nw].s = s;
		p->w[p->nw].col = (uint32_t)(s - p->buf) + 1;
		p->nw++;
		while (*s && *s != ' ' && *s != '\t')
			s++;
	}
	if (p->nw == 0 || p->w[0].s[0] == '!' || p->w[0].s[0] == '#')
		return 0;
	if (strcasecmp(p->w[0].s, "no") == 0) {
		p->no = true;
		p->i = 1;
		if (p->nw == 1) {
			diag(p, CONF_ERROR, -1, "%% Incomplete command: expected a command after 'no'");
			return -1;
		}
	}
	dispatch(p);
	return p->errors == errors ? 0 : -1;
}

int conf_parse_file(struct conf_parser *p, const char *path)
{
	FILE *f = fopen(path, "r");
	conf_parser_source(p, path, 0, false);
	if (!f) {
		p->raw[0] = 0;
		diag(p, CONF_ERROR, -2, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) >= 0)
		conf_parse_line(p, line, (size_t)n);
	int rc = ferror(f) ? -1 : 0;
	if (rc)
		diag(p, CONF_ERROR, -2, "error reading %s: %s", path, strerror(errno));
	free(line);
	fclose(f);
	return rc;
}

unsigned conf_parser_errors(const struct conf_parser *p)
{
	return p->errors;
}

unsigned conf_parser_warnings(const struct conf_parser *p)
{
	return p->warnings;
}

struct conf *conf_parser_finish(struct conf_parser *p)
{
	if (!p)
		return NULL;
	struct conf *c = p->c;
	p->raw[0] = 0;
	p->nw = 0;
	if (p->banner_delim[0])
		diag(p, CONF_ERROR, -2, "banner not closed by its delimiter %s", p->banner_delim);
	/* whole-file checks */
	for (size_t i = 0; i < c->nmonitor; i++)
		if (!c->monitor[i].record[0])
			diag(p, CONF_WARNING, -2, "flow monitor %s has no record; it meters nothing until one is set",
			     c->monitor[i].name);
	for (size_t i = 0; i < c->nexporter; i++)
		if (!c->exporter[i].destination[0])
			diag(p, CONF_WARNING, -2, "flow exporter %s has no destination; it exports nothing", c->exporter[i].name);
	for (size_t i = 0; i < c->nexporter; i++) /* what later lines combined (caught at the line otherwise) */
		fnf_v5_users_ok(p, -2, &c->exporter[i]);
	psamp_ipfix_ok(p);
	for (size_t i = 0; i < c->nagg; i++)
		if (c->agg[i].enabled && !c->agg[i].export.ndest && !c->agg[i].export.nfile)
			diag(p, CONF_NOTE, -2, "aggregation cache %s is enabled without an export destination",
			     conf_agg_scheme_name[c->agg[i].scheme]);
	unsigned errors = p->errors;
	free(p);
	if (errors) {
		conf_free(c);
		return NULL;
	}
	return c;
}

struct conf *conf_parse_text(const char *text, size_t len, const char *name, conf_report_fn report, void *arg)
{
	struct conf_parser *p = conf_parser_new(report, arg);
	if (!p)
		return NULL;
	conf_parser_source(p, name, 0, false);
	size_t off = 0;
	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t l = nl ? (size_t)(nl - (text + off)) + 1 : len - off;
		conf_parse_line(p, text + off, l);
		off += l;
	}
	return conf_parser_finish(p);
}
