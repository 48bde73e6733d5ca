/* template.h — templates, and the one record writer and reader.
 *
 * A template is a list of (IE, length[, enterprise]) — RFC 7011 §3.4.1,
 * RFC 3954 §5.2. Every format uses one: v9 and IPFIX send theirs, v1/v5/v7
 * have a fixed one (the 48/52-byte record layouts written as templates,
 * with paddingOctets for the pad bytes). So one writer, tmpl_put_flowrec(),
 * produces every data record of every format, and one reader,
 * tmpl_get_flowrec(), maps any record back: each is a single switch over
 * the IE id, the only place that knows which flowrec field an IE carries.
 *
 * Decoders take a caller-provided template store (struct tmpl_store); a
 * minimal array-backed one (tmpl_store_mem) serves tests and fuzzers. */
#ifndef IPFLOW_TEMPLATE_H
#define IPFLOW_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include "cache/flowrec.h"
#include "cache/genrec.h"
#include "export/ie.h"
#include "lib/buf.h"

#define TMPL_MAX_FIELDS 128 /* larger templates are refused (ERR_UNSUPP) */
#define TMPL_ID_MIN 256     /* data set ids start here (v9 and IPFIX) */
#define TMPL_OFF_VAR 0xffff /* field offset unknown: follows a varlen field */

struct tmpl_field {
	uint16_t ie;  /* IPFIX IE id; v9 field type (== IE id for every v9 type
	               * the catalog knows); v9 options scope: scope type 1..5 */
	uint16_t len; /* encoded length; IE_VARLEN (65535) = variable */
	uint32_t pen; /* enterprise number; 0 = IANA */
	uint16_t off; /* offset in the record, TMPL_OFF_VAR after a varlen field */
};

enum { TMPL_F_V9 = 1 }; /* field ids and scopes are v9's */

struct tmpl {
	uint16_t id;
	uint16_t nfields;
	uint16_t scope_count; /* options template: the first scope_count fields are scope */
	uint16_t minlen;      /* record length; minimum (varlen as 1 byte) if varlen */
	uint8_t varlen;       /* at least one variable-length field */
	uint8_t flags;        /* TMPL_F_* */
	struct tmpl_field f[TMPL_MAX_FIELDS];
};

/* Fill t from n fields (pen and off of f are read/ignored as given; offsets
 * are computed). ERR_UNSUPP if n > TMPL_MAX_FIELDS, ERR_FORMAT if the
 * record would be empty, longer than 65535, or scope > n. */
int tmpl_init(struct tmpl *t, uint16_t id, const struct tmpl_field *f, size_t n, size_t scope);

/* Index of the first field with IE ie (enterprise 0), or -1. */
int tmpl_find(const struct tmpl *t, uint16_t ie);

/* Length of the record starting at p (avail bytes there): minlen for
 * fixed templates, else walked through the varlen prefixes (RFC 7011 §7).
 * ERR_TRUNC if the record does not fit in avail. */
int tmpl_rec_len(const struct tmpl *t, const uint8_t *p, size_t avail, size_t *len);

/* Encoder context for tmpl_put_flowrec. */
struct rec_enc {
	uint64_t boot_us;   /* sysUpTime base: flowStart/EndSysUpTime count ms from it */
	uint32_t router_sc; /* ipv4RouterSc (v7) */
	uint32_t sampler_id; /* samplerId / selectorId: the sampler of a sampled export */
	uint64_t saturated; /* out: incremented per value clamped to its width */
};

/* Append one data record for r laid out by t. Unsigned values wider than
 * their field saturate (and count in c->saturated), except AS numbers in
 * 2 bytes, which become AS_TRANS 23456 (RFC 6793), and sysUpTime, which
 * wraps modulo 2^32 like the header's. Fields the flowrec does not have
 * (and paddingOctets) are written as zeros. Varlen fields are not
 * supported (ERR_ARG). ERR_NOSPACE leaves w as it was. Cost: one switch
 * per field. */
int tmpl_put_flowrec(struct wbuf *w, const struct tmpl *t, const struct flowrec *r, struct rec_enc *c);

/* Template id for a generic record layout (cache/genrec.h): field i of
 * the template carries value i of every record. v9 nonzero: the template
 * is written with v9 field types (TMPL_F_V9), and every IE must have one
 * in the catalog. ERR_UNSUPP (with *bad, if not NULL, the index of the
 * offending field) for an IE the catalog lacks, or one without a v9 type
 * in v9; otherwise as tmpl_init. */
int tmpl_init_layout(struct tmpl *t, uint16_t id, const struct genrec_layout *lay, int v9, size_t *bad);

/* Append one record of a layout template (tmpl_init_layout over r->lay):
 * bytes values copied as they are, unsigned values saturating to their
 * field (counted in c->saturated), times written per their IE like
 * tmpl_put_flowrec does (sysUpTime wraps modulo 2^32). This path never
 * touches the flowrec writer above, so the main cache's export is
 * unchanged by it. A variable-length field (len IE_VARLEN, bytes) is
 * written with its RFC 7011 §7 length prefix. ERR_NOSPACE leaves w as it
 * was; ERR_ARG if t and the layout disagree in field count, or a
 * variable-length value is not bytes or longer than 65535. */
int tmpl_put_genrec(struct wbuf *w, const struct tmpl *t, const struct genrec *r, struct rec_enc *c);

/* Append one record of an all-unsigned template (options data: export
 * statistics) from vals[i] for field i. ERR_NOSPACE leaves w as it was. */
int tmpl_put_values(struct wbuf *w, const struct tmpl *t, const uint64_t *vals);

/* One field of a decoded record. */
struct rec_field {
	uint16_t idx; /* field index in the template */
	uint16_t ie;
	uint32_t pen;
	const uint8_t *p;
	uint16_t len; /* actual length (varlen resolved) */
	uint8_t scope; /* 1 if a scope field of an options template */
};

/* Field iterator over one record (p, len) laid out by t:
 *   rec_iter_init(&ri, t, p, len);
 *   while ((rc = rec_iter_next(&ri, &f)) == ERR_OK) ...
 * next returns ERR_OK, ERR_END after the last field, ERR_TRUNC if a field
 * runs past len. Reads nothing outside p[0..len). */
struct rec_iter {
	const struct tmpl *t;
	struct rbuf rb;
	uint16_t i;
};
void rec_iter_init(struct rec_iter *ri, const struct tmpl *t, const uint8_t *p, size_t len);
int rec_iter_next(struct rec_iter *ri, struct rec_field *f);

/* Decoder context for tmpl_get_flowrec: the message header's time, which
 * sysUpTime-relative fields (flowStart/EndSysUpTime) are measured from. */
struct rec_dec {
	uint64_t export_us; /* header export time, us since 1970 */
	uint32_t sysup_ms;  /* header sysUpTime (0 for IPFIX) */
	uint64_t init_us;   /* IPFIX: the exporter's systemInitTimeMilliseconds (RFC 5102), us;
	                     * 0 if unknown. When set, or when the record carries IE 160, a
	                     * flowStart/EndSysUpTime value v is init + v ms (no wrap) */
	uint8_t no_sysup;   /* IPFIX: the header has no sysUpTime: without an init time,
	                     * flowStart/EndSysUpTime give no time (left 0) */
};

/* Map one record to a flowrec (zeroed first): every field whose IE the
 * flowrec carries is set, the rest ignored. af is 6 if an IPv6 address IE
 * is present, else 4. A flowStart/EndSysUpTime value v becomes
 * export_us - (int32_t)(sysup_ms - v) * 1000 (modulo-2^32 safe: a
 * difference within ±24.8 days, either side of the header's time), or
 * init + v ms with an init time (rec_dec); absolute time fields
 * (flowStart/EndSeconds ... Nanoseconds) win over sysUpTime ones.
 * flowEndReason maps back through flow_end_ipfix() (forcedEnd → shutdown).
 * icmpTypeCode fills dport if the port field is absent or 0. ERR_TRUNC if
 * the record is shorter than its template says. */
int tmpl_get_flowrec(const struct tmpl *t, const uint8_t *p, size_t len, const struct rec_dec *c,
                     struct flowrec *r);

/* The same mapping compiled for one fixed-length template (no varlen
 * field): the fields a flowrec has, with their offsets, so that a record
 * costs one pass over those fields only (collectors: once per template,
 * then per record). tmpl_plan_init: ERR_UNSUPP for a varlen template
 * (use tmpl_get_flowrec). tmpl_plan_flowrec gives exactly what
 * tmpl_get_flowrec gives for the same template and record; ERR_TRUNC if
 * len is below the template's record length. */
struct tmpl_plan {
	uint16_t n;       /* ops */
	uint16_t minlen;  /* record length */
	uint8_t usable;
	uint16_t grp[26]; /* private: op[grp[c] .. grp[c + 1]) are the ops of class c */
	struct tmpl_op {
		uint16_t off;
		uint16_t len;
		uint8_t kind; /* private: what the field is (template.c enum fkind) */
		uint8_t cls;  /* private: how it is stored (0: through the general mapping) */
		uint8_t dst;  /* private: offset of its flowrec field, for cls != 0 */
	} op[TMPL_MAX_FIELDS];
};
int tmpl_plan_init(struct tmpl_plan *pl, const struct tmpl *t);
/* NetFlow v5's fixed record (48 bytes at p) mapped as tmpl_plan_flowrec
 * maps it through nf5_codec.fixed, without a plan. ERR_TRUNC below 48. */
int tmpl_nf5_flowrec(const uint8_t *p, size_t len, const struct rec_dec *c, struct flowrec *r);
int tmpl_plan_flowrec(const struct tmpl_plan *pl, const uint8_t *p, size_t len, const struct rec_dec *c,
                      struct flowrec *r);

/* Template store used by the v9 and IPFIX decoders, keyed by (domain:
 * v9 source id or IPFIX observation domain, template id). add copies the
 * template (replacing one of the same key); lookup's pointer stays valid
 * until the next add or withdraw. withdraw with id 2 or 3 (IPFIX "all
 * templates" / "all options templates") drops all of that kind in the
 * domain. Callers wanting per-exporter stores key them in ctx. */
struct tmpl_store {
	const struct tmpl *(*lookup)(void *ctx, uint32_t domain, uint16_t id);
	int (*add)(void *ctx, uint32_t domain, const struct tmpl *t);
	int (*withdraw)(void *ctx, uint32_t domain, uint16_t id);
	void *ctx;
};

/* Minimal store: a fixed array of cap slots, linear lookup (O(cap)).
 * add returns ERR_FULL when all slots hold other keys. */
struct tmpl_store_mem {
	size_t n, cap;
	struct tmpl_slot {
		uint32_t domain;
		struct tmpl t;
	} *slot;
};
int tmpl_store_mem_init(struct tmpl_store_mem *m, size_t cap);
void tmpl_store_mem_free(struct tmpl_store_mem *m); /* NULL-safe; frees the slots only */
struct tmpl_store tmpl_store_mem_iface(struct tmpl_store_mem *m);

#endif
