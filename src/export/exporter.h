/* exporter.h — one export stream to one destination.
 *
 * An exporter owns a format (export.h codec), its sequence numbers, its
 * template and options refresh state, the open message being packed, and
 * its flush timer; it hands finished messages to a transport it borrows.
 * Time is always passed in (microseconds since the Unix epoch: packet time
 * for files, wall time live); the exporter never reads a clock.
 *
 *   struct exporter_cfg cfg;
 *   exporter_cfg_init(&cfg, 9);
 *   cfg.start_us = first_packet_us;           // sysUptime 0
 *   struct exporter *ex = exporter_new(&cfg, t, err, sizeof(err));
 *   exporter_add(ex, &rec, now);              // per expired flow
 *   exporter_tick(ex, now);                   // at exporter_next_deadline()
 *   exporter_flush(ex, now);                  // at shutdown
 *   exporter_free(ex); transport_close(t);
 *
 * Packing: a message holds at most min(mtu - transport overhead, 65535)
 * bytes and, for v1/v5/v7, 24/30/28 records. Each record is written with
 * reserve/commit: one that does not fit is rolled back and goes into the
 * next message; header lengths, counts and set lengths are poked last. A
 * message leaves when full, when flush_ms have passed since its first
 * record (exporter_tick), or at exporter_flush.
 *
 * Templates (v9, IPFIX): IPv4 and IPv6 data templates are sent in the
 * first message (in a message of their own when the transport has a
 * control stream: t->split_ctrl, SCTP) and again when tmpl_refresh_pkts messages have been sent
 * since, or tmpl_timeout_s seconds have passed (RFC 3954 §9 / RFC 7011
 * §8.4); a timeout with no data pending sends a template-only message at
 * exporter_tick. With export_stats, an options template and one options
 * data record (messages, flow records and bytes exported so far) follow
 * the same way at their own rates.
 *
 * Header clock: sysUptime counts from start_us aligned down to the
 * header's resolution (a whole ms for v1/v5/v7, a whole second for v9,
 * whose header has unix_secs only), and each header's time is the send
 * time aligned the same way, so a collector's unix time - sysUptime +
 * flowStartSysUpTime is the record's first packet time to the ms.
 *
 * Sequence numbers: v5/v7 count flow records before the message, v9 counts
 * messages, IPFIX counts data records (options data included) before the
 * message in the observation domain. A message whose send fails still
 * advances them (its records are lost, and a collector should see that).
 *
 * Counters wider than the format (v1/v5/v7: 32 bits) are split into
 * several records with the counts shared out (stats.split_records); IPv6
 * flows in v1/v5/v7 are refused and counted (stats.not_exportable). */
#ifndef IPFLOW_EXPORTER_H
#define IPFLOW_EXPORTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cache/flowrec.h"
#include "cache/genrec.h"
#include "transport/transport.h"

enum {
	EXPORTER_F_TIME_US = 1, /* IPFIX: flowStart/EndMicroseconds instead of Milliseconds */
	EXPORTER_F_GENERIC = 2, /* records of registered layouts only (Flexible NetFlow): see below */
	EXPORTER_F_BGP_NH = 4,  /* v9/IPFIX: bgpNextHopIPv4/IPv6Address (IE 18/63) in the flow templates */
};

#define EXPORTER_SAMPLERS_MAX 16

struct exporter_cfg {
	int version;                /* 1, 5, 7, 8 (aggregation, see agg_scheme), 9 or 10 (IPFIX) */
	unsigned mtu;               /* path MTU, 576..65535; default 1500 */
	uint32_t domain;            /* v9 source id / IPFIX observation domain id */
	uint8_t engine_type;        /* v5 header */
	uint8_t engine_id;          /* v5 header */
	uint16_t sampling_interval; /* v5 header, 0..16383 */
	uint8_t sampling_mode;      /* v5 header, 0..3 */
	uint32_t router_sc;         /* v7 router_sc (host order IPv4) */
	uint8_t agg_scheme;         /* v8: aggregation scheme (export.h NF8_*): the record layout,
	                             * the records-per-packet limit and the header's field */
	unsigned tmpl_refresh_pkts; /* v9: 1..600, default 20; IPFIX: 0 (off)..600, default 0 */
	unsigned tmpl_timeout_s;    /* v9: 1..216000 (up to 3600 min), default 1800; IPFIX: 1..86400, default 600 */
	bool export_stats;          /* v9/IPFIX: options template + export statistics */
	unsigned opt_refresh_pkts;  /* as tmpl_refresh_pkts, for the options */
	unsigned opt_timeout_s;     /* as tmpl_timeout_s, for the options */
	unsigned flush_ms;          /* 1..3600000, default 1000 */
	uint64_t start_us;          /* exporter start: sysUptime 0 (first packet time for files) */
	unsigned flags;             /* EXPORTER_F_* */
	uint32_t exporting_pid;     /* IPFIX exportingProcessId in the statistics */
	/* Sampled export (v9, IPFIX): with nsampler > 0 the built-in flow
	 * templates carry a sampler id in every record
	 * (v9 FLOW_SAMPLER_ID 48, IPFIX selectorId 302): that of the entry
	 * whose ifindex and dir are the flow's (key.ifindex, key.dir), 0 (no
	 * sampler: unsampled) for other flows. An options template + one
	 * options data record per sampler describe them, at the options
	 * refresh rules above (opt_refresh_pkts, opt_timeout_s) and with
	 * every template refresh:
	 *   v9:    scope System, FLOW_SAMPLER_ID 48, FLOW_SAMPLER_MODE 49
	 *          (0 deterministic, 2 random), FLOW_SAMPLER_RANDOM_INTERVAL 50
	 *   IPFIX: scope selectorId 302, selectorAlgorithm 304 (RFC 5476: 1
	 *          systematic count-based, with samplingPacketInterval 305 = 1
	 *          and samplingPacketSpace 306 = n - 1; 3 random n-out-of-N,
	 *          with samplingSize 309 = 1 and samplingPopulation 310 = n)
	 * Sampled templates have ids of their own (the flow templates 260/261,
	 * the sampler options 259; IPFIX random 262), so a reload that starts
	 * or changes sampling never redefines an id on a session. Entries with
	 * the same id must agree on n and random. With EXPORTER_F_GENERIC only
	 * the options are sent (a registered layout that collects samplerId
	 * names the sampler; ifindex and dir are not used). */
	struct exporter_sampler {
		uint32_t ifindex;       /* the interface its flows are metered under */
		uint8_t dir;            /* 0 ingress, 1 egress */
		uint32_t id;            /* 1..255 in v9 (one byte, as IOS); 1..2^32-1 IPFIX */
		uint32_t n;             /* 1 out of n, 2.. */
		bool random;            /* random 1-out-of-n; else deterministic */
	} sampler[EXPORTER_SAMPLERS_MAX];
	unsigned nsampler;
};

/* The v5/v8 header's sampling field for 1 out of n: mode 01
 * deterministic, 10 random; the interval saturates at 14 bits. False
 * when n did not fit (the caller says so). */
static inline bool exporter_header_sampling(struct exporter_cfg *cfg, uint32_t n, bool random)
{
	cfg->sampling_mode = random ? 2 : 1;
	cfg->sampling_interval = (uint16_t)(n > 0x3fff ? 0x3fff : n);
	return n <= 0x3fff;
}

/* Fill *s, its padding zeroed: configurations holding samplers are
 * compared with memcmp (reuse on reload), so no stray stack bytes. */
static inline void exporter_sampler_set(struct exporter_sampler *s, uint32_t ifindex, uint8_t dir, uint32_t id,
                                        uint32_t n, bool random)
{
	memset(s, 0, sizeof(*s));
	s->ifindex = ifindex;
	s->dir = dir;
	s->id = id;
	s->n = n;
	s->random = random;
}

struct exporter_stats {
	uint64_t flows;             /* flow records handed to exporter_add */
	uint64_t records;           /* flow data records in messages sent (split pieces each count) */
	uint64_t messages;          /* messages sent */
	uint64_t bytes;             /* bytes of messages sent */
	uint64_t flows_failed;      /* flow data records lost: no room, or their message's send failed */
	uint64_t not_exportable;    /* flows the format cannot carry: IPv6 in v1/v5/v7 */
	uint64_t split_records;     /* extra records made by splitting counters wider than the format */
	uint64_t saturated;         /* values clamped to their field (e.g. ifIndex > 65535 in v5) */
	uint64_t templates;         /* template records sent */
	uint64_t options_templates; /* options template records sent */
	uint64_t options_records;   /* options data records sent (export statistics and sampler) */
	uint64_t send_errors;       /* messages the transport failed to send */
	uint64_t withdrawals;       /* IPFIX template withdrawal messages sent */
};

/* Defaults for a version (see the field comments). */
void exporter_cfg_init(struct exporter_cfg *cfg, int version);

/* A new exporter sending through t, which it borrows (close t after
 * exporter_free). NULL if cfg is invalid (a value out of range, or an MTU
 * too small for the header, templates and one record), with the reason in
 * err (errlen bytes, may be 0), or if out of memory. */
struct exporter *exporter_new(const struct exporter_cfg *cfg, struct transport *t, char *err, size_t errlen);

/* --- records of any layout (Flexible NetFlow) -----------------------------
 *
 * With EXPORTER_F_GENERIC in cfg.flags, a v9 or IPFIX exporter sends the
 * templates registered with exporter_add_tmpl and none of its built-in
 * flow templates (export statistics options still follow cfg), and takes
 * records through exporter_add_genrec; exporter_add() of a flowrec is then
 * refused (ERR_ARG). A v1/v5/v7 exporter (generic or not) takes generic
 * records too: each is mapped to a flowrec through the one record reader
 * (tmpl_get_flowrec) and exported as exporter_add would; what the layout
 * lacks is zero. The flowrec path is not touched by any of this.
 * A v8 exporter takes generic records laid out exactly as its scheme's
 * record (nf8_tmpl: same fields in the same order, the layout's time
 * fields GENREC_TIME) and writes them as they are; exporter_add() of a
 * flowrec writes the fields a flowrec has (dFlows 0).
 *
 * Templates are sent in one template set at the refresh rules above;
 * template ids follow the built-in ones (259, 260, ...). Counters
 * (octet/packetDeltaCount) wider than their field are split into
 * several records as for flowrecs (stats.split_records). */

#define EXPORTER_TMPL_MAX 16

/* Register a layout. Returns its handle (0, 1, ...), or -1 with err: too
 * many templates, an IE without a v9 field type in a v9 exporter, or an
 * MTU too small for every template and one record. A template added after
 * messages were sent goes out with the next message. */
int exporter_add_tmpl(struct exporter *ex, const struct genrec_layout *lay, char *err, size_t errlen);

/* Template ids: exporter_add_tmpl numbers from the id after the built-in
 * ones, or from first (>= 256) once set, and never gives one id twice. A
 * new exporter continuing an old one's transport (a reconfiguration)
 * starts where the old one stopped (exporter_tmpl_next), so no template
 * id is redefined on a transport session: RFC 7011 §8.1 forbids changing
 * a template under its id, and collectors (tshark among them) keep the
 * first definition. */
void exporter_set_tmpl_base(struct exporter *ex, uint16_t first);
uint16_t exporter_tmpl_next(const struct exporter *ex);

/* The template of handle h (its id, fields), or NULL. */
const struct tmpl *exporter_tmpl(const struct exporter *ex, int h);

/* Encode r (whose layout is registered as h) into the open message, as
 * exporter_add does for a flowrec: ERR_OK, ERR_ARG for a bad handle,
 * ERR_UNSUPP if a v1/v5/v7 format cannot carry it (IPv6), ERR_NOSPACE if
 * a record could not be placed. */
int exporter_add_genrec(struct exporter *ex, int h, const struct genrec *r, uint64_t now_us);

/* Encode r into the open message, sending messages as they fill.
 * ERR_OK; ERR_UNSUPP if the format cannot carry r (counted in
 * not_exportable); ERR_NOSPACE if a record could not be placed (counted in
 * flows_failed). A failed send is counted, not returned: see stats. */
int exporter_add(struct exporter *ex, const struct flowrec *r, uint64_t now_us);

/* Send the open message if its flush time has come; send templates and
 * options whose timeout has come. Call at exporter_next_deadline(). */
void exporter_tick(struct exporter *ex, uint64_t now_us);

/* IPFIX over a reliable transport (SCTP; TCP works too): send the open
 * message, then withdraw every template (RFC 7011 §8.1), one withdrawal
 * record each, e.g. before a graceful shutdown. ERR_OK, or ERR_UNSUPP
 * (other formats, UDP, nothing sent). */
int exporter_withdraw(struct exporter *ex, uint64_t now_us);

/* Send the open message now, if any (shutdown, or "clear"). */
void exporter_flush(struct exporter *ex, uint64_t now_us);

/* When exporter_tick next has work (us since 1970), UINT64_MAX if none. */
uint64_t exporter_next_deadline(const struct exporter *ex);

const struct exporter_stats *exporter_stats(const struct exporter *ex);

/* Set the sysUptime base (cfg.start_us) before the first message: a file
 * replay learns it from its first packet, after the exporter is made. */
void exporter_set_start(struct exporter *ex, uint64_t start_us);

const struct exporter_cfg *exporter_config(const struct exporter *ex);

/* The sequence number the next message's header carries; and setting it
 * before the first message, so a new exporter continues the stream an
 * earlier one sent (a reconfiguration that comes back to a collector). */
uint32_t exporter_seq_next(const struct exporter *ex);
void exporter_set_seq(struct exporter *ex, uint32_t seq);

/* Frees ex without sending (call exporter_flush first). NULL-safe. */
void exporter_free(struct exporter *ex);

#endif
