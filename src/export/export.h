/* export.h — the wire formats: NetFlow v1, v5, v7, v8, v9 and IPFIX.
 *
 * Each format is one struct nf_codec (nf1.c nf5.c nf7.c nf8.c nf9.c ipfix.c),
 * holding its encoder pieces (header writer, template record writer,
 * its templates) and its decoder (an iterator) side by side. The exporter
 * (exporter.h) drives the encoder pieces generically; collectors and tests
 * use the decoders. Data records of every format are written and read by
 * template.h's single catalog-driven writer/reader: v1/v5/v7 records are
 * fixed templates (codec->fixed).
 *
 * Decoding, for any format (version read from the first two bytes):
 *
 *   struct nf_iter it;
 *   struct nf_item item;
 *   int rc = nf_iter_init(&it, msg, len, &store);   // store: NULL for v1/v5/v7
 *   while (rc == ERR_OK && (rc = nf_iter_next(&it, &item)) == ERR_OK) {
 *       if (item.kind == NF_ITEM_DATA && !item.t->scope_count)
 *           nf_item_flowrec(&it, &item, &flow);      // or walk fields: rec_iter
 *   }
 *   if (rc != ERR_END) log("%s", nf_iter_err(&it));
 *
 * Decoded records come out generic — (template, bytes), walked with
 * rec_iter into (IE, enterprise, pointer, length) — and nf_item_flowrec()
 * maps the fields a flowrec has. Every header, set, template and record
 * length is checked against the message end; nothing outside msg[0..len)
 * is read. Template pointers in items stay valid until the store changes.
 * After an error the iterator stays failed (next returns the same error). */
#ifndef IPFLOW_EXPORT_H
#define IPFLOW_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "cache/flowrec.h"
#include "export/template.h"
#include "lib/buf.h"

/* Header values, every format (a field a format lacks is 0). */
struct nf_hdr {
	uint16_t version;
	uint16_t count;       /* v1/5/7/9: records in the message; IPFIX: 0 */
	uint16_t length;      /* IPFIX message length; 0 for others */
	uint32_t sysup_ms;    /* sysUptime (v1/5/7/9) */
	uint64_t export_us;   /* unix_secs(+nsecs) / IPFIX export time, us */
	uint32_t seq;         /* v5/v7 flow_sequence, v9 package sequence, IPFIX sequence */
	uint32_t domain;      /* v9 source id, IPFIX observation domain id */
	uint8_t engine_type;  /* v5 */
	uint8_t engine_id;    /* v5 */
	uint16_t sampling;    /* v5 sampling_interval field: mode << 14 | interval (v8: see nf8.c) */
	uint8_t agg_scheme;   /* v8 aggregation (NF8_*) */
	uint8_t agg_version;  /* v8 agg_version (2; 0 when writing means 2) */
};

enum nf_item_kind {
	NF_ITEM_DATA = 1,     /* one data record: t, p, len (options data if t->scope_count) */
	NF_ITEM_TMPL,         /* a template or options template, added to the store: t */
	NF_ITEM_WITHDRAW,     /* IPFIX template withdrawal of tmpl_id (2/3: all) */
	NF_ITEM_TMPL_UNSUPP,  /* template skipped: more than TMPL_MAX_FIELDS fields */
	NF_ITEM_SKIPPED_SET,  /* set skipped whole: reserved id, or template unknown */
};

struct nf_item {
	int kind;
	uint16_t set_id;
	uint16_t tmpl_id;
	const struct tmpl *t;
	const uint8_t *p;     /* DATA: record bytes; SKIPPED_SET: set body */
	size_t len;
};

/* Why a decoder failed: nf_iter_err() gives the message. */
enum nf_err {
	NF_E_NONE = 0,
	NF_E_HDR_SHORT,       /* message shorter than its header */
	NF_E_VERSION,         /* version field is not this format's */
	NF_E_COUNT,           /* record count above the format's maximum */
	NF_E_RECS_SHORT,      /* v1/5/7: fewer bytes than count records */
	NF_E_MSG_LEN,         /* IPFIX length field below 16 or past the datagram */
	NF_E_SET_SHORT,       /* bytes left that cannot hold a set header */
	NF_E_SET_LEN,         /* set length below 4 or past the message end */
	NF_E_TMPL_SHORT,      /* template record runs past its set */
	NF_E_TMPL_ID,         /* template id below 256 */
	NF_E_TMPL_BAD,        /* template empty, too long or bad scope count */
	NF_E_REC_SHORT,       /* data record runs past its set */
	NF_E_STORE,           /* the template store refused a template */
	NF_E_V8_SCHEME,       /* v8 aggregation scheme without a known layout */
	NF_E_MAX_
};

struct nf_codec;

/* Decoder state: hdr is public once init succeeded; the rest is private. */
struct nf_iter {
	struct nf_hdr hdr;
	struct {
		const struct nf_codec *codec;
		const struct tmpl_store *ts;
		struct rbuf msg;     /* what follows the current set */
		struct rbuf set;     /* rest of the current set */
		uint16_t set_id;
		uint8_t in_set;
		int rc;              /* sticky error, ERR_OK while healthy */
		int ecode;           /* enum nf_err */
		unsigned left;       /* v1/5/7: records not yet returned */
		const struct tmpl *t;
		struct tmpl scratch; /* template being parsed */
	} priv;
};

enum { NF_SEQ_NONE = 0, NF_SEQ_RECORDS, NF_SEQ_PACKETS };
enum {
	NF_F_TIME_US = 1, /* build_tmpls: IPFIX flowStart/EndMicroseconds instead of ms */
	NF_F_BGP_NH = 2,  /* build_tmpls (v9, IPFIX): bgpNextHopIPv4/IPv6Address (IE 18/63) last */
};

/* A wire format. Encoder half: put_hdr writes hdr_len bytes; put_tmpl one
 * template (options template if t->scope_count) record; build_tmpls the
 * exporter's IPv4, IPv6 and export-statistics options templates. Decoder
 * half: iter_init/iter_next. */
struct nf_codec {
	uint16_t version;
	const char *name;
	uint16_t hdr_len;
	uint16_t max_recs;     /* records per message limit; 0 = MTU only */
	uint8_t v6;            /* can carry IPv6 flows */
	uint8_t sets;          /* messages are sets of templates and data (v9, IPFIX) */
	uint8_t seq;           /* NF_SEQ_*: what the header sequence counts */
	uint8_t set_align;     /* sets padded to a multiple of this (v9: 4) */
	uint16_t tmpl_set_id;  /* v9 0, IPFIX 2 */
	uint16_t opt_set_id;   /* v9 1, IPFIX 3 */
	/* Resolution of the header's wall clock, in us: v1/v5/v7 1000 (ms:
	 * sysUptime), v9 1000000 (unix_secs only), IPFIX 1 (records carry
	 * absolute times). The exporter aligns its sysUptime base and each
	 * header's time to it, so that a collector's unix time - sysUptime +
	 * flowStart/EndSysUpTime gives the record's times exactly. */
	uint32_t time_res_us;
	const struct tmpl *fixed; /* v1/5/7 record layout */
	/* a fixed record mapped without a plan (v5), or NULL: the same as
	 * tmpl_plan_flowrec over a plan of fixed */
	int (*fixed_flowrec)(const uint8_t *p, size_t len, const struct rec_dec *c, struct flowrec *r);
	int (*put_hdr)(struct wbuf *w, const struct nf_hdr *h);
	int (*get_hdr)(struct rbuf *r, struct nf_hdr *h, int *ecode);
	int (*put_tmpl)(struct wbuf *w, const struct tmpl *t);
	int (*get_tmpl)(struct rbuf *set, uint16_t set_id, struct tmpl *t, int *ecode);
	int (*build_tmpls)(struct tmpl *t4, struct tmpl *t6, struct tmpl *opt, unsigned flags);
	int (*iter_init)(struct nf_iter *it, const uint8_t *msg, size_t len, const struct tmpl_store *ts);
	int (*iter_next)(struct nf_iter *it, struct nf_item *item);
};

extern const struct nf_codec nf1_codec, nf5_codec, nf7_codec, nf8_codec, nf9_codec, ipfix_codec;

/* NetFlow v8 (nf8.c): the aggregation schemes of the header's
 * aggregation field that have a router layout. The codec's fixed layout
 * is NULL: each scheme has its own, and its own records-per-packet limit
 * (nf8_codec.max_recs is the largest of them). */
enum nf8_scheme {
	NF8_AS = 1, NF8_PROTO_PORT = 2, NF8_SRC_PREFIX = 3, NF8_DST_PREFIX = 4, NF8_PREFIX = 5,
	NF8_AS_TOS = 9, NF8_PROTO_PORT_TOS = 10, NF8_SRC_PREFIX_TOS = 11, NF8_DST_PREFIX_TOS = 12,
	NF8_PREFIX_TOS = 13, NF8_PREFIX_PORT = 14, NF8_SCHEME_MAX_
};
#define NF8_AGG_VERSION 2
/* The record layout of a scheme (template id = scheme), or NULL. */
const struct tmpl *nf8_tmpl(unsigned scheme);
/* Records per packet for a scheme; 0 if it has no layout. */
unsigned nf8_max_recs(unsigned scheme);
/* The IOS name of a scheme ("prefix-port"), or NULL. */
const char *nf8_scheme_name(unsigned scheme);

/* Codec for version 1, 5, 7, 8, 9 or 10; NULL otherwise. */
const struct nf_codec *nf_codec_by_version(int version);

/* Start decoding one message; the codec is picked by its version field.
 * ts is needed by v9 and IPFIX (ERR_ARG if NULL), ignored by the others.
 * Returns ERR_OK, or an error with it->hdr unspecified. */
int nf_iter_init(struct nf_iter *it, const void *msg, size_t len, const struct tmpl_store *ts);
/* ERR_OK with *item filled, ERR_END after the last item, or an error. */
int nf_iter_next(struct nf_iter *it, struct nf_item *item);
const char *nf_iter_err(const struct nf_iter *it);
int nf_iter_ecode(const struct nf_iter *it);
const char *nf_err_str(int ecode);

/* The flowrec a DATA item carries (see tmpl_get_flowrec). */
int nf_item_flowrec(const struct nf_iter *it, const struct nf_item *item, struct flowrec *r);

/* Shared by the codecs (nf5.c): fixed-layout iterator, and the
 * sets-and-templates iterator of v9/IPFIX (nf9.c). Not for callers. */
int nfx_iter_init(struct nf_iter *it, const struct nf_codec *c, const uint8_t *msg, size_t len);
int nfx_iter_next(struct nf_iter *it, struct nf_item *item);
int nf_iter_fail(struct nf_iter *it, int rc, int ecode);
int nfs_iter_init(struct nf_iter *it, const struct nf_codec *c, const uint8_t *msg, size_t len,
                  const struct tmpl_store *ts);
int nfs_iter_next(struct nf_iter *it, struct nf_item *item);
/* get_tmpl's result for a withdrawal (t->id holds the id). */
#define NF_TMPL_WITHDRAW 1

#endif
