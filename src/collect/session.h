/* session.h — the collector's state: exporters, their template stores,
 * sequence and loss accounting, sampling, the pending-data buffer and
 * template persistence. What ipflow-collect is, minus sockets and sinks.
 *
 * Listeners (listener.h) and the pcap reader hand whole messages to
 * coll_message(); each is decoded by the codec its version names
 * (export.h: v1, v5, v7, v8, v9, IPFIX) and every data record goes to the
 * output function as a struct crec (crec.h).
 *
 * Keys. An exporter is a source address. Under it, a stream is (format
 * version, observation domain — v9 source id, IPFIX observation domain,
 * v5/v8 engine type << 8 | engine id — and transport session). Templates
 * (RFC 7011 §8, RFC 3954 §5.2), sequence numbers and sampling belong to a
 * stream. Datagrams (UDP, files) have transport session 0: one stream per
 * (address, version, domain), whatever the source port. A TCP connection
 * is its own session: its templates live and die with it
 * (coll_session_end), and withdrawals (RFC 7011 §8.1) are honoured.
 *
 * Template lifetime (RFC 7011 §8.4, RFC 3954 §5.2): on session 0 a
 * template not refreshed for cfg.tmpl_lifetime_s seconds expires (counted)
 * — the default is 3 × 1800 s, three times the common refresh interval;
 * 0 keeps templates until replaced. Session templates never expire.
 *
 * Data before its template: a data set whose template the stream does not
 * know is copied into a bounded buffer (cfg.pending_bytes in all, with
 * the bookkeeping of each (coll_pending_charge); each set
 * at most cfg.pending_s seconds) and decoded when that template arrives,
 * in arrival order; sets that age out, are pushed out by newer ones, or
 * remain at coll_finish are counted (pend_expired, pend_dropped,
 * pend_left) with their bytes.
 *
 * Sequence numbers (export.h NF_SEQ_*): v5/v7/v8 count flow records,
 * v9 export packets, IPFIX data records (options data included) before the
 * message. The next expected value is kept per stream modulo 2^32 (wrap
 * is normal). A jump ahead adds the gap to seq_lost; a message from
 * behind within SEQ_WINDOW units is late (seq_ooo, its units in seq_late:
 * those were counted lost when the gap opened); further behind is an
 * exporter restart (seq_resets) and the count restarts there. An IPFIX
 * message with a data set we could not decode yet has an unknown record
 * count: the next message resynchronises without judging. Exporters that
 * count otherwise — the message's own records included (softflowd's
 * IPFIX), or options data left out — are recognised when that reading
 * predicts SEQ_SWITCH_STREAK messages in a row while the RFC's fails; the
 * stream then judges by it (seq_quirk counts the switch, --stats names
 * the reading).
 *
 * Sampling: an options record carrying samplingInterval (34),
 * samplerRandomInterval (50), samplingPacketInterval/Space (305/306) or
 * samplingSize/Population (309/310), with or without samplerId (48) /
 * selectorId (302), sets the stream's rate for that sampler; a data record
 * names its sampler by those fields, or carries the interval itself; v5
 * takes the header's sampling_interval. crec.sampling is the rate found
 * (1 if none); with cfg.unsample, packet and octet counts in crec.f are
 * multiplied by it (saturating).
 *
 * Times: IPFIX flowStart/EndSysUpTime count from the exporter's
 * systemInitTimeMilliseconds (RFC 5102), learnt from options data (or
 * carried in the record); until it is known they give no time. v9 headers
 * carry the export time in whole seconds; the stream
 * narrows the exporter's boot time from successive headers so sysUpTime
 * times decode to the millisecond, never outside the header's second
 * (v9_export_us in session.c). crec.f.end is FLOW_END_MAX when the
 * record has no flowEndReason.
 *
 * Persistence (cfg.tmpl_dir): the templates and sampler rates of every
 * session-0 stream are written to DIR/templates.bin (temp file, fsync,
 * rename: a crash leaves the old file or the new one) at most once a
 * second while they change, and at coll_finish; coll_new() loads them, so
 * data arriving after a restart decodes at once. A damaged file is
 * reported and ignored (not half-loaded). Format: see session_persist.c.
 *
 * Malformed input is counted per exporter by reason (coll_reason_str),
 * logged rate-limited with the exporter address, and never touches other
 * exporters' state. Memory is bounded by cfg: exporters, streams per
 * exporter, templates in all, pending bytes.
 *
 * Time: every entry point takes now_us (wall clock live, packet time for
 * -r), used for template lifetime and pending age only.
 *
 * Ownership: coll_new's result belongs to the caller (coll_free,
 * NULL-safe). Not thread-safe. */
#ifndef IPFLOW_SESSION_H
#define IPFLOW_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "collect/crec.h"
#include "collect/listener.h"
#include "export/export.h"

#define SEQ_WINDOW (1u << 20) /* units behind the expected value still taken as late, not a restart */

/* Why a message (or part of it) was not decoded: the decoders' enum
 * nf_err codes, then the collector's own. */
enum coll_reason {
	COLL_E_UNKNOWN_VERSION = NF_E_MAX_, /* first two bytes are no export version we know */
	COLL_E_EXPORTERS,      /* exporter table full (cfg.max_exporters) */
	COLL_E_STREAMS,        /* this exporter has cfg.max_streams streams already */
	COLL_E_TMPL_LIMIT,     /* template refused: cfg.max_templates reached */
	COLL_E_TMPL_UNSUPP,    /* template with more fields than we keep (TMPL_MAX_FIELDS) */
	COLL_E_RESERVED_SET,   /* set id 4..255 (v9: 2..255): skipped */
	COLL_E_RECORD,         /* a data record's fields could not be read */
	COLL_E_V9_COUNT,       /* v9 header count is neither the records nor the flowsets (decoded anyway) */
	COLL_E_MAX_
};

const char *coll_reason_str(int reason);

/* Counters: X(name, text) for each; one list drives the struct, sums and
 * the --stats output. */
#define COLL_STATS(X) \
	X(msgs, "messages") /* messages handed in */ \
	X(bytes, "bytes") \
	X(records, "records") /* data records decoded and output */ \
	X(opt_records, "options records") /* options data records decoded */ \
	X(templates, "templates") /* template records received, refreshes included */ \
	X(opt_templates, "options templates") /* of which options templates */ \
	X(tmpl_new, "templates learned") /* ids first defined (or again after expiry/withdrawal) */ \
	X(tmpl_changed, "templates changed") /* an id redefined with another layout */ \
	X(withdrawals, "withdrawals") /* template withdrawals honoured */ \
	X(tmpl_expired, "templates expired") /* session-0 templates past their lifetime */ \
	X(seq_lost, "sequence lost") /* units (records or packets) missing at gaps */ \
	X(seq_late, "sequence late") /* units that arrived late (also in seq_lost) */ \
	X(seq_ooo, "out-of-order") /* messages that arrived late */ \
	X(seq_resets, "sequence resets") /* sequence restarted (exporter restart) */ \
	X(seq_quirk, "sequence model changes") /* the exporter counts otherwise than the RFC (see below) */ \
	X(pend_sets, "pending held") /* data sets held for their template */ \
	X(pend_decoded, "pending decoded") /* held sets decoded when the template came */ \
	X(pend_records, "pending records") /* records from those (also in records) */ \
	X(pend_expired, "pending expired") /* held sets aged out (cfg.pending_s) */ \
	X(pend_dropped, "pending dropped") /* pushed out (cfg.pending_bytes) or session closed */ \
	X(pend_left, "pending left") /* still waiting at coll_finish */ \
	X(pend_bytes_lost, "pending bytes lost") /* bytes of expired + dropped + left sets */ \
	X(v9_count_mismatch, "v9 count mismatch") /* header count is the flowsets, data or flow records only */ \
	X(malformed, "malformed") /* messages with at least one error */

struct coll_stats {
#define COLL_X(name, text) uint64_t name;
	COLL_STATS(COLL_X)
#undef COLL_X
	uint64_t bad[COLL_E_MAX_]; /* errors by reason (enum nf_err, enum coll_reason) */
};

struct coll_cfg {
	uint32_t tmpl_lifetime_s; /* session-0 template lifetime; 0 = forever (default 5400) */
	size_t pending_bytes;     /* default 4 MiB; 0 = no pending buffer */
	uint32_t pending_s;       /* default 60 */
	unsigned max_exporters;   /* default 4096 */
	unsigned max_streams;     /* per exporter, default 256 */
	unsigned max_templates;   /* in all, default 16384 */
	bool unsample;
	bool options_out;         /* options data records go to the output too */
	const char *tmpl_dir;     /* persistence directory, NULL for none */
};

/* Output: called for every data record (and options record with
 * cfg.options_out); r and r->raw are valid during the call only. */
typedef void (*coll_out_fn)(void *arg, const struct crec *r);

struct coll;

/* Fill cfg with the defaults. */
void coll_cfg_init(struct coll_cfg *cfg);

/* A new collector; loads cfg->tmpl_dir/templates.bin if present (a
 * damaged file is logged and ignored). NULL on a bad cfg or no memory,
 * with err. */
struct coll *coll_new(const struct coll_cfg *cfg, char *err, size_t errlen);
void coll_set_output(struct coll *c, coll_out_fn fn, void *arg);

/* Decode one message from a listener or the pcap reader. */
void coll_message(struct coll *c, const struct lsn_msg *m, uint64_t now_us);
/* A transport session ended: its streams, templates and held data go
 * (their counters stay in the exporter's totals). */
void coll_session_end(struct coll *c, const struct lsn_peer *peer, uint32_t session);
/* Expire templates and held data; save templates if they changed and a
 * second has passed since the last save. Call about once a second. */
void coll_tick(struct coll *c, uint64_t now_us);
/* End of input: count held sets as left, save templates. */
void coll_finish(struct coll *c, uint64_t now_us);
/* Write the templates file now (if persistence is on). 0, or -1 with err. */
int coll_save(struct coll *c, char *err, size_t errlen);

/* Sum over every exporter, plus what no exporter could be charged with. */
void coll_totals(const struct coll *c, struct coll_stats *out);
/* Per exporter and stream counters, then totals (text). */
void coll_show(const struct coll *c, FILE *out);
/* Templates known now (all streams). */
size_t coll_template_count(const struct coll *c);
/* Pending bytes held now: for each set, coll_pending_charge(its length),
 * its bytes plus the bookkeeping, which cfg.pending_bytes bounds too. */
size_t coll_pending_bytes(const struct coll *c);
size_t coll_pending_charge(size_t setlen);
/* Templates loaded from the file at coll_new. */
size_t coll_loaded_templates(const struct coll *c);

/* Forget every exporter, stream, template and held set (counters too). */
void coll_clear(struct coll *c);
void coll_free(struct coll *c);

/* --- for session_persist.c and tests ----------------------------------- */

/* The stream (exporter af/addr, version, domain) on session 0, created if
 * absent; NULL if a limit refuses it. */
struct cstream;
struct cstream *coll_stream_get(struct coll *c, uint8_t af, const uint8_t *addr, uint16_t version,
                                uint32_t domain, uint32_t session, bool create);
/* Add or replace a template of a stream as if received (seen at now_us);
 * load: the same, from the templates file (not counted as received).
 * ERR_FULL if cfg.max_templates refuses it. */
int coll_stream_add_tmpl(struct coll *c, struct cstream *s, const struct tmpl *t, uint64_t now_us);
int coll_stream_load_tmpl(struct coll *c, struct cstream *s, const struct tmpl *t, uint64_t seen_us);
/* The stream's template id, or NULL (expired ones included: no lifetime check). */
const struct tmpl *coll_stream_tmpl(const struct cstream *s, uint16_t id);
/* Sampler rate of a stream: id 0 is the stream default. 0 if unknown. */
uint32_t coll_stream_sampler(const struct cstream *s, uint64_t sampler_id);
int coll_stream_set_sampler(struct cstream *s, uint64_t sampler_id, uint32_t rate);
/* IPFIX systemInitTimeMilliseconds learnt from options data (0: unknown). */
uint64_t coll_stream_init_ms(const struct cstream *s);
void coll_stream_set_init_ms(struct cstream *s, uint64_t init_ms);
const struct coll_stats *coll_stream_stats(const struct cstream *s);

/* Persistence, in session_persist.c: write / read the file (the format is
 * described there). load returns templates loaded, or -1 with err. */
int coll_persist_save(struct coll *c, const char *path, char *err, size_t errlen);
int coll_persist_load(struct coll *c, const char *path, uint64_t now_us, char *err, size_t errlen);
/* Parse a templates file image (also the fuzz entry): like load, from
 * memory, into a collector that holds nothing yet; on any error it is
 * left holding nothing again. */
int coll_persist_parse(struct coll *c, const uint8_t *p, size_t len, uint64_t now_us, char *err, size_t errlen);

/* Iterate session-0 streams and their templates / samplers (for save). */
typedef void (*coll_tmpl_fn)(void *arg, const struct cstream *s, uint8_t af, const uint8_t *addr,
                             uint16_t version, uint32_t domain, const struct tmpl *t, uint64_t seen_us);
typedef void (*coll_sampler_fn)(void *arg, const struct cstream *s, uint8_t af, const uint8_t *addr,
                                uint16_t version, uint32_t domain, uint64_t id, uint32_t rate);
/* coll_sampler_fn's id for the stream's init time (coll_stream_init_ms). */
#define COLL_INIT_TIME UINT64_MAX
void coll_walk_persistent(const struct coll *c, coll_tmpl_fn tf, coll_sampler_fn sf, void *arg);

#endif
