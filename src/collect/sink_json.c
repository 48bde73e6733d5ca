/* sink_json.c — JSON lines and CSV sinks: "jsonl:PATH", "csv:PATH"
 * (PATH "-" is stdout).
 *
 * JSON lines: one object per record. First where it came from:
 * exporterIPv4Address or exporterIPv6Address, observationDomainId (v9
 * source id, IPFIX domain; v5: engine type << 8 | engine id; v8: the
 * aggregation scheme << 16 | engine type << 8 | engine id),
 * templateId (0 for fixed formats) and netflowVersion (1..10). Then every
 * field of the raw record in template order, keyed by its IPFIX element
 * name from the catalog (ie.def); a field the catalog does not name is
 * "ieN"; an enterprise field is "ePEN:N" (e.g. "e9:12235"); v9 options
 * scope fields are scopeSystem, scopeInterface, scopeLineCard, scopeCache,
 * scopeTemplate; paddingOctets are left out; a name seen before in the
 * record gets "#2", "#3". Values as in ipflowd's flow log: unsigned and
 * signed integers as numbers, addresses and MACs as quoted text, times
 * as numbers in their own unit since 1970 (dateTimeSeconds: s,
 * Milliseconds: ms, Microseconds: us, Nanoseconds: ns), booleans as
 * true/false, floats as numbers (null if not finite), strings as JSON
 * strings (trailing NULs cut; not valid UTF-8: hex), octet arrays and
 * fields whose length does not fit their type as "0x..." hex.
 * packetDeltaCount and octetDeltaCount of data records are the
 * collector's values (multiplied by the sampling rate with --unsample).
 * Last, what the record lacks but the collector knows: flowStartMilliseconds
 * / flowEndMilliseconds when the record has no absolute start / end time
 * (v5, v9 sysUpTime times), and samplingInterval when a rate above 1 is
 * known and the record does not carry one.
 *
 * CSV: fixed columns, so the normalised fields only: exporter,
 * netflowVersion, observationDomainId, templateId, samplingInterval, then
 * ipflowd's flow log columns (flowlog.h). Options records are not
 * written to CSV.
 *
 * Output is buffered (1 MiB) and flushed at every tick (once a second)
 * and at close; a failed write counts every record in that buffer in
 * st.dropped and the error in st.errors. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "collect/sink.h"
#include "export/flowlog.h"
#include "export/ie.h"
#include "lib/bytes.h"

#define OUT_BUF (1u << 20)
#define REC_MAX (256u << 10) /* longest record text: 65535 bytes of hex and then some */

enum { FMT_JSON, FMT_CSV };

#define JPLAN_SLOTS 32 /* templates whose JSON plan is kept (see struct jplan) */
struct jplan;

struct jsink {
	struct sink base;
	FILE *f;
	bool is_stdout;
	int fmt;
	char *buf;
	size_t len;
	uint64_t pending;    /* records in buf */
	struct jplan *plans[JPLAN_SLOTS];
	char path[512];
};

/* ---- bounded text appender ---- */

struct out {
	char *p;
	size_t len, cap;
	bool over;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->over || n > o->cap - o->len) {
		o->over = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

#define PUT_LIT(o, s) put((o), (s), sizeof(s) - 1)

static void put_c(struct out *o, char c)
{
	if (o->over || o->len == o->cap) {
		o->over = true;
		return;
	}
	o->p[o->len++] = c;
}

static void put_u64(struct out *o, uint64_t v)
{
	static const char d2[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	                         "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	                         "8081828384858687888990919293949596979899";
	char tmp[20];
	size_t i = sizeof(tmp);
	/* 32-bit arithmetic for all but the top digits: times in us have 16 */
	while (v > 0xffffffffu) {
		uint32_t lo = (uint32_t)(v % 100000000u);
		v /= 100000000u;
		for (int k = 0; k < 4; k++, lo /= 100) {
			tmp[--i] = d2[2 * (lo % 100) + 1];
			tmp[--i] = d2[2 * (lo % 100)];
		}
	}
	uint32_t w = (uint32_t)v;
	while (w >= 100) {
		uint32_t r = w % 100;
		w /= 100;
		tmp[--i] = d2[2 * r + 1];
		tmp[--i] = d2[2 * r];
	}
	if (w >= 10) {
		tmp[--i] = d2[2 * w + 1];
		tmp[--i] = d2[2 * w];
	} else {
		tmp[--i] = (char)('0' + w);
	}
	put(o, tmp + i, sizeof(tmp) - i);
}

static void put_i64(struct out *o, int64_t v)
{
	if (v < 0) {
		put_c(o, '-');
		put_u64(o, (uint64_t)0 - (uint64_t)v);
	} else {
		put_u64(o, (uint64_t)v);
	}
}

static void put_hex(struct out *o, const uint8_t *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	PUT_LIT(o, "\"0x");
	for (size_t i = 0; i < n && !o->over; i++) {
		put_c(o, hx[p[i] >> 4]);
		put_c(o, hx[p[i] & 15]);
	}
	put_c(o, '"');
}

static void put_ipv4(struct out *o, const uint8_t *a)
{
	put_c(o, '"');
	for (int i = 0; i < 4; i++) {
		if (i)
			put_c(o, '.');
		put_u64(o, a[i]);
	}
	put_c(o, '"');
}

static void put_ip(struct out *o, int af, const uint8_t *a)
{
	if (af == 4) {
		put_ipv4(o, a);
		return;
	}
	char t[INET6_ADDRSTRLEN];
	if (!inet_ntop(AF_INET6, a, t, sizeof(t)))
		t[0] = 0;
	put_c(o, '"');
	put(o, t, strlen(t));
	put_c(o, '"');
}

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	size_t k;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		k = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		k = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		k = 4, cp = c & 0x07;
	else
		return 0;
	if (n < k)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((k == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return k;
}

static void put_string(struct out *o, const uint8_t *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	while (n && p[n - 1] == 0)
		n--; /* fixed-size strings padded with NULs */
	for (size_t i = 0; i < n;) {
		size_t k = utf8_len(p + i, n - i);
		if (!k) {
			put_hex(o, p, n);
			return;
		}
		i += k;
	}
	put_c(o, '"');
	for (size_t i = 0; i < n && !o->over; i++) {
		uint8_t c = p[i];
		if (c == '"' || c == '\\') {
			put_c(o, '\\');
			put_c(o, (char)c);
		} else if (c < 0x20 || c == 0x7f) {
			PUT_LIT(o, "\\u00");
			put_c(o, hx[c >> 4]);
			put_c(o, hx[c & 15]);
		} else {
			put_c(o, (char)c);
		}
	}
	put_c(o, '"');
}

static void put_double(struct out *o, double d)
{
	if (!isfinite(d)) {
		PUT_LIT(o, "null");
		return;
	}
	char t[40];
	int n = snprintf(t, sizeof(t), "%.17g", d);
	put(o, t, n > 0 ? (size_t)n : 0);
}

#define NTP_UNIX_OFFSET 2208988800ull

static uint64_t ntp_to_ns(uint64_t ntp)
{
	uint64_t sec = ntp >> 32, frac = ntp & 0xffffffffu;
	sec = sec >= NTP_UNIX_OFFSET ? sec - NTP_UNIX_OFFSET : 0;
	return sec * 1000000000u + ((frac * 1000000000u) >> 32);
}

/* One value by the field's abstract type (catalog row e, NULL: unknown). */
static void put_value(struct out *o, const struct ie_info *e, const uint8_t *p, size_t n)
{
	enum ie_type t = e ? (enum ie_type)e->type : IE_T_OCTETS;
	if (!ie_len_ok(t, n) || (n == 0 && t != IE_T_STRING))
		t = IE_T_OCTETS;
	switch (t) {
	case IE_T_U8: case IE_T_U16: case IE_T_U32: case IE_T_U64:
		put_u64(o, peek_uint(p, (unsigned)n));
		return;
	case IE_T_I8: case IE_T_I16: case IE_T_I32: case IE_T_I64: {
		uint64_t v = peek_uint(p, (unsigned)n);
		if (n < 8 && (v >> (n * 8 - 1)) & 1)
			v |= ~0ull << (n * 8);
		put_i64(o, (int64_t)v);
		return;
	}
	case IE_T_F32:
	case IE_T_F64:
		if (n == 4) {
			uint32_t b = peek_u32(p);
			float f;
			memcpy(&f, &b, sizeof(f));
			put_double(o, (double)f);
		} else {
			uint64_t b = peek_u64(p);
			double d;
			memcpy(&d, &b, sizeof(d));
			put_double(o, d);
		}
		return;
	case IE_T_BOOL: /* RFC 7011 §6.1.5: 1 true, 2 false */
		if (p[0] == 1)
			PUT_LIT(o, "true");
		else if (p[0] == 2)
			PUT_LIT(o, "false");
		else
			put_u64(o, p[0]);
		return;
	case IE_T_MAC: {
		static const char hx[] = "0123456789abcdef";
		put_c(o, '"');
		for (int i = 0; i < 6; i++) {
			if (i)
				put_c(o, ':');
			put_c(o, hx[p[i] >> 4]);
			put_c(o, hx[p[i] & 15]);
		}
		put_c(o, '"');
		return;
	}
	case IE_T_IPV4: put_ip(o, 4, p); return;
	case IE_T_IPV6: put_ip(o, 6, p); return;
	case IE_T_DT_S: put_u64(o, peek_u32(p)); return;
	case IE_T_DT_MS: put_u64(o, peek_u64(p)); return;
	case IE_T_DT_US: put_u64(o, ie_ntp_to_us(peek_u64(p))); return;
	case IE_T_DT_NS: put_u64(o, ntp_to_ns(peek_u64(p))); return;
	case IE_T_STRING: put_string(o, p, n); return;
	default: put_hex(o, p, n); return;
	}
}

static const char *const v9_scope_name[] = {
	[1] = "scopeSystem", [2] = "scopeInterface", [3] = "scopeLineCard",
	[4] = "scopeCache", [5] = "scopeTemplate",
};

/* The key of field idx; *e its catalog row (NULL if none). */
static void put_key(struct out *o, const struct tmpl *t, const struct rec_field *f, const struct ie_info **e,
                    unsigned dup)
{
	*e = NULL;
	put_c(o, '"');
	if (f->pen) {
		put_c(o, 'e');
		put_u64(o, f->pen);
		put_c(o, ':');
		put_u64(o, f->ie);
	} else if ((t->flags & TMPL_F_V9) && f->scope) {
		if (f->ie < sizeof(v9_scope_name) / sizeof(v9_scope_name[0]) && v9_scope_name[f->ie]) {
			const char *s = v9_scope_name[f->ie];
			put(o, s, strlen(s));
		} else {
			PUT_LIT(o, "scope");
			put_u64(o, f->ie);
		}
	} else {
		*e = (t->flags & TMPL_F_V9) ? ie_by_v9(f->ie) : ie_by_id(f->ie);
		if (*e) {
			put(o, (*e)->name, strlen((*e)->name));
		} else {
			PUT_LIT(o, "ie");
			put_u64(o, f->ie);
		}
	}
	if (dup > 1) {
		put_c(o, '#');
		put_u64(o, dup);
	}
	PUT_LIT(o, "\":");
}

/* IEs whose presence suppresses a derived field. */
static bool is_abs_start(uint16_t id)
{
	return id == IE_flowStartSeconds || id == IE_flowStartMilliseconds || id == IE_flowStartMicroseconds ||
	       id == IE_flowStartNanoseconds;
}

static bool is_abs_end(uint16_t id)
{
	return id == IE_flowEndSeconds || id == IE_flowEndMilliseconds || id == IE_flowEndMicroseconds ||
	       id == IE_flowEndNanoseconds;
}

/* The part of a record's JSON that depends on its template only — each
 * field's key text, catalog row, whether it is left out or shows the
 * collector's counter — worked out once per template and kept in a small
 * cache (direct-mapped on the template's address, checked against a copy
 * of its fields, so a template redefined in place is noticed). */
#define JPLAN_KEYS (TMPL_MAX_FIELDS * 48)

enum { JF_SHOW = 0, JF_SKIP, JF_PACKETS, JF_BYTES };

struct jplan {
	const struct tmpl *key;
	struct tmpl copy;
	struct jfield {
		uint16_t koff, klen;
		const struct ie_info *e;
		uint8_t what; /* JF_* */
	} fld[TMPL_MAX_FIELDS];
	bool has_start, has_end, has_rate;
	char keys[JPLAN_KEYS];
};

static bool same_tmpl(const struct tmpl *a, const struct tmpl *b)
{
	return a->nfields == b->nfields && a->scope_count == b->scope_count && a->flags == b->flags &&
	       memcmp(a->f, b->f, a->nfields * sizeof(a->f[0])) == 0;
}

/* Build the plan of t into pl; false if its keys do not fit (then the
 * record is formatted field by field). */
static bool plan_build(struct jplan *pl, const struct tmpl *t)
{
	struct out o = { .p = pl->keys, .cap = sizeof(pl->keys) };
	bool data = !t->scope_count;
	pl->key = NULL;
	pl->has_start = pl->has_end = pl->has_rate = false;
	for (unsigned i = 0; i < t->nfields; i++) {
		const struct tmpl_field *tf = &t->f[i];
		struct rec_field f = { .idx = (uint16_t)i, .ie = tf->ie, .pen = tf->pen, .scope = i < t->scope_count };
		struct jfield *j = &pl->fld[i];
		bool iana = !f.pen && !((t->flags & TMPL_F_V9) && f.scope);
		j->what = JF_SHOW;
		j->e = NULL;
		if (iana && f.ie == IE_paddingOctets) {
			j->what = JF_SKIP;
			continue;
		}
		unsigned dup = 1;
		for (unsigned k = 0; k < i; k++)
			if (t->f[k].ie == f.ie && t->f[k].pen == f.pen && (k < t->scope_count) == f.scope)
				dup++;
		j->koff = (uint16_t)o.len;
		put_c(&o, ',');
		put_key(&o, t, &f, &j->e, dup);
		j->klen = (uint16_t)(o.len - j->koff);
		if (iana) {
			pl->has_start |= is_abs_start(f.ie);
			pl->has_end |= is_abs_end(f.ie);
			pl->has_rate |= f.ie == IE_samplingInterval;
			if (data && dup == 1 && tf->len >= 1 && tf->len <= 8 && f.ie == IE_packetDeltaCount)
				j->what = JF_PACKETS;
			if (data && dup == 1 && tf->len >= 1 && tf->len <= 8 && f.ie == IE_octetDeltaCount)
				j->what = JF_BYTES;
		}
	}
	if (o.over)
		return false;
	pl->copy.nfields = t->nfields;
	pl->copy.scope_count = t->scope_count;
	pl->copy.flags = t->flags;
	memcpy(pl->copy.f, t->f, t->nfields * sizeof(t->f[0]));
	pl->key = t;
	return true;
}

static const struct jplan *plan_get(struct jplan **cache, const struct tmpl *t)
{
	unsigned slot = (unsigned)(((uintptr_t)t >> 4) ^ ((uintptr_t)t >> 12)) % JPLAN_SLOTS;
	struct jplan *pl = cache[slot];
	if (pl && pl->key == t && same_tmpl(&pl->copy, t))
		return pl;
	if (!pl && !(pl = cache[slot] = malloc(sizeof(*pl))))
		return NULL;
	return plan_build(pl, t) ? pl : NULL;
}

static void put_field(struct out *o, const struct jplan *pl, const struct crec *r, unsigned i, const uint8_t *p,
                      size_t n)
{
	const struct jfield *j = &pl->fld[i];
	if (j->what == JF_SKIP)
		return;
	put(o, pl->keys + j->koff, j->klen);
	if (j->what == JF_PACKETS)
		put_u64(o, r->f.packets);
	else if (j->what == JF_BYTES)
		put_u64(o, r->f.bytes);
	else
		put_value(o, j->e, p, n);
}

static size_t format_json(const struct crec *r, struct jplan **cache, char *buf, size_t cap)
{
	struct out o = { .p = buf, .cap = cap };
	bool data = r->t && !r->t->scope_count;
	put_c(&o, '{');
	if (r->exporter_af == 6)
		PUT_LIT(&o, "\"exporterIPv6Address\":");
	else
		PUT_LIT(&o, "\"exporterIPv4Address\":");
	put_ip(&o, r->exporter_af == 6 ? 6 : 4, r->exporter);
	PUT_LIT(&o, ",\"observationDomainId\":");
	put_u64(&o, r->domain);
	PUT_LIT(&o, ",\"templateId\":");
	put_u64(&o, r->tmpl_id);
	PUT_LIT(&o, ",\"netflowVersion\":");
	put_u64(&o, r->version);
	bool has_start = false, has_end = false, has_rate = false;
	const struct jplan *pl = r->t ? plan_get(cache, r->t) : NULL;
	if (pl) {
		const struct tmpl *t = r->t;
		has_start = pl->has_start, has_end = pl->has_end, has_rate = pl->has_rate;
		if (!t->varlen && r->rawlen >= t->minlen) {
			for (unsigned i = 0; i < t->nfields; i++)
				put_field(&o, pl, r, i, r->raw + t->f[i].off, t->f[i].len);
		} else {
			struct rec_iter ri;
			struct rec_field f;
			rec_iter_init(&ri, t, r->raw, r->rawlen);
			while (rec_iter_next(&ri, &f) == ERR_OK)
				put_field(&o, pl, r, f.idx, f.p, f.len);
		}
	}
	if (data && !has_start && r->f.first_us) {
		PUT_LIT(&o, ",\"flowStartMilliseconds\":");
		put_u64(&o, r->f.first_us / 1000);
	}
	if (data && !has_end && r->f.last_us) {
		PUT_LIT(&o, ",\"flowEndMilliseconds\":");
		put_u64(&o, r->f.last_us / 1000);
	}
	if (data && !has_rate && r->sampling > 1) {
		PUT_LIT(&o, ",\"samplingInterval\":");
		put_u64(&o, r->sampling);
	}
	PUT_LIT(&o, "}\n");
	return o.over ? 0 : o.len;
}

static size_t format_csv(const struct crec *r, char *buf, size_t cap)
{
	struct out o = { .p = buf, .cap = cap };
	size_t m = o.len;
	put_ip(&o, r->exporter_af == 6 ? 6 : 4, r->exporter); /* quoted: take the quotes off */
	if (!o.over && o.len - m >= 2) {
		memmove(o.p + m, o.p + m + 1, o.len - m - 2);
		o.len -= 2;
	}
	put_c(&o, ',');
	put_u64(&o, r->version);
	put_c(&o, ',');
	put_u64(&o, r->domain);
	put_c(&o, ',');
	put_u64(&o, r->tmpl_id);
	put_c(&o, ',');
	put_u64(&o, r->sampling);
	put_c(&o, ',');
	if (o.over)
		return 0;
	size_t n = flowlog_format_csv(&r->f, o.p + o.len, o.cap - o.len);
	if (!n || n + 1 > o.cap - o.len)
		return 0;
	o.len += n;
	put_c(&o, '\n');
	return o.over ? 0 : o.len;
}

static int flush_buf(struct jsink *j)
{
	if (!j->len)
		return 0;
	int rc = 0;
	if (fwrite(j->buf, 1, j->len, j->f) != j->len || fflush(j->f) != 0) {
		j->base.st.errors++;
		j->base.st.dropped += j->pending;
		snprintf(j->base.err, sizeof(j->base.err), "%.160s: write: %.64s", j->path, strerror(errno));
		rc = -1;
	} else {
		j->base.st.written += j->pending;
	}
	j->len = 0;
	j->pending = 0;
	return rc;
}

static int j_write(struct sink *s, const struct crec *r)
{
	struct jsink *j = (struct jsink *)s;
	if (j->fmt == FMT_CSV && r->t && r->t->scope_count)
		return 0; /* options records have no CSV columns */
	s->st.records++;
	if (OUT_BUF - j->len < REC_MAX)
		(void)flush_buf(j); /* a failure is counted there */
	size_t n = j->fmt == FMT_CSV ? format_csv(r, j->buf + j->len, OUT_BUF - j->len)
	                             : format_json(r, j->plans, j->buf + j->len, OUT_BUF - j->len);
	if (!n) { /* cannot happen below REC_MAX; count it rather than cut a line */
		s->st.dropped++;
		return -1;
	}
	j->len += n;
	j->pending++;
	return 0;
}

static void j_tick(struct sink *s, uint64_t now_us)
{
	(void)now_us;
	flush_buf((struct jsink *)s);
}

static void j_close(struct sink *s)
{
	struct jsink *j = (struct jsink *)s;
	flush_buf(j);
	if (!j->is_stdout && j->f)
		fclose(j->f);
	for (unsigned i = 0; i < JPLAN_SLOTS; i++)
		free(j->plans[i]);
	free(j->buf);
	free(j);
}

static void j_show(const struct sink *s, FILE *out)
{
	const struct jsink *j = (const struct jsink *)s;
	fprintf(out, "Output %s:%s: %llu records, %llu written, %llu dropped, %llu write errors\n",
	        j->fmt == FMT_CSV ? "csv" : "jsonl", j->path, (unsigned long long)s->st.records,
	        (unsigned long long)s->st.written, (unsigned long long)s->st.dropped,
	        (unsigned long long)s->st.errors);
}

static struct sink *j_open(const char *path, int fmt, char *err, size_t errlen)
{
	struct jsink *j = calloc(1, sizeof(*j));
	if (!j || !(j->buf = malloc(OUT_BUF))) {
		free(j);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	j->fmt = fmt;
	snprintf(j->path, sizeof(j->path), "%s", path);
	if (!path[0]) {
		snprintf(err, errlen, "%s: needs a path ('-' for stdout)", fmt == FMT_CSV ? "csv" : "jsonl");
		goto fail;
	}
	if (strcmp(path, "-") == 0) {
		j->f = stdout;
		j->is_stdout = true;
	} else if (!(j->f = fopen(path, "w"))) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (fmt == FMT_CSV) {
		struct out o = { .p = j->buf, .cap = OUT_BUF };
		PUT_LIT(&o, "exporter,netflowVersion,observationDomainId,templateId,samplingInterval,");
		o.len += flowlog_csv_header(o.p + o.len, o.cap - o.len);
		put_c(&o, '\n');
		j->len = o.len;
	}
	return &j->base;
fail:
	free(j->buf);
	free(j);
	return NULL;
}

static struct sink *jsonl_open(const char *rest, char *err, size_t errlen)
{
	return j_open(rest, FMT_JSON, err, errlen);
}

static struct sink *csv_open(const char *rest, char *err, size_t errlen)
{
	return j_open(rest, FMT_CSV, err, errlen);
}

const struct sink_ops sink_jsonl_ops = {
	.scheme = "jsonl", .open = jsonl_open, .write = j_write, .tick = j_tick, .close = j_close, .show = j_show,
};

const struct sink_ops sink_csv_ops = {
	.scheme = "csv", .open = csv_open, .write = j_write, .tick = j_tick, .close = j_close, .show = j_show,
};
