/* sctp.h — NetFlow/IPFIX export over SCTP (sctp:HOST:PORT), RFC 4960 with
 * partial reliability (RFC 3758), carried over UDP (RFC 6951) by the one
 * usrsctp stack of the process (sctpio.h).
 *
 * One association per transport: stream 0 carries templates, options
 * templates and options data (TRANSPORT_F_CTRL messages), always fully
 * reliable and ordered; data messages go round robin on streams
 * 1..data_streams with the destination's reliability:
 *
 *   full     every message is kept until acknowledged and retransmitted
 *            until it is; a message the association could not deliver
 *            (association lost: the stack hands it back with its payload)
 *            is queued again for the next association. A full queue
 *            refuses the message (ERR_FULL, counted) unless block_ms lets
 *            a file replay wait; once such a wait runs out, messages are
 *            refused at once until the queue has room again (a dead
 *            collector costs one wait, not one per message).
 *   partial  at most buffer_limit unacknowledged messages are kept (those
 *            in the stack plus those queued); past that the oldest queued
 *            one is dropped. Messages in flight use PR-SCTP (RFC 3758)
 *            with the RTX policy (pr_rtx retransmissions), so data the
 *            network keeps losing is abandoned and the collector is told
 *            with FORWARD-TSN. usrsctp's buffer policy does nothing
 *            (reading/usrsctp-findings.md), so ipflowd enforces the limit
 *            itself; it also hands the stack no more than the peer's
 *            receive window, so a collector that stops reading makes
 *            ipflowd drop whole queued messages (exact counts) instead of
 *            zero-window probes the stack might later abandon.
 *   none     each message is sent once (PR-SCTP RTX 0) and never queued:
 *            when the stack has no room, or there is no association, it
 *            is dropped.
 *
 * Every message dropped after it was accepted (partial, none, queue
 * limits, left over at close) is counted in st.dropped with its flow
 * records in st.dropped_recs ("packets dropped due to lack of SCTP
 * resources"); the exporter passes the record count in the send flags
 * (TRANSPORT_F_RECS). Messages are sized by the exporter to fit one DATA
 * chunk (overhead: IP + UDP + SCTP common header + DATA chunk header), so
 * the stack never fragments and a returned message is always whole.
 *
 * Templates: the transport is reliable (templates once per association,
 * transport.h); an association coming up (COMM_UP or RESTART) is a new
 * session. Data queued meanwhile waits until this session's templates
 * have been sent and acknowledged, so a collector never sees data before
 * its templates even after a retransmission.
 *
 * Failure detection is SCTP's: heartbeats every hb_ms, RTO between
 * rto_min_ms and rto_max_ms; the path is unreachable after path_rxt
 * consecutive timeouts ("a message unacknowledged after three
 * retransmissions"), the association lost after assoc_rxt. Reconnects
 * back off from 100 ms to 2 s (500 ms while sctpt_watch). dest.h builds
 * fail-over on top. */
#ifndef IPFLOW_SCTP_H
#define IPFLOW_SCTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "transport/transport.h"

enum sctpt_rel { SCTPT_FULL = 0, SCTPT_PARTIAL, SCTPT_NONE };

#define SCTPT_BUFFER_LIMIT_DEFAULT 2000u
#define SCTPT_BUFFER_LIMIT_MAX 1000000u
#define SCTPT_STREAMS_MAX 16u

/* Per-destination SCTP settings (the config layer fills these from
 * "reliability ..." sub-mode commands; flags fill them for quick use). */
struct sctpt_opts {
	enum sctpt_rel reliability;
	unsigned buffer_limit;  /* partial: messages kept unacknowledged, 1..1000000 (default 2000) */
	unsigned data_streams;  /* data streams after stream 0, 1..16 (default 1) */
	unsigned pr_rtx;        /* partial: retransmissions before abandoning in-flight data (default 3) */
	unsigned hb_ms;         /* heartbeat interval, 10..60000 ms (default 500) */
	unsigned rto_min_ms;    /* default 100 */
	unsigned rto_max_ms;    /* default 500 */
	unsigned rto_init_ms;   /* default 200 */
	unsigned path_rxt;      /* default 3 */
	unsigned assoc_rxt;     /* default 6 */
	unsigned encaps_port;   /* collector's UDP port; 0: the SCTP port (default) */
	unsigned sndbuf;        /* stack send buffer bytes (default 4 MiB) */
};

void sctpt_opts_init(struct sctpt_opts *o);
/* "full", "none", "partial" (default limit), "partial:N" or
 * "partial buffer-limit N" into o. 0, or -1 with err. */
int sctpt_parse_reliability(const char *s, struct sctpt_opts *o, char *err, size_t errlen);
/* Check ranges. 0, or -1 with err. */
int sctpt_opts_check(const struct sctpt_opts *o, char *err, size_t errlen);
const char *sctpt_rel_name(enum sctpt_rel r); /* "full", "partial", "none" */

/* Open with explicit settings (transport_open uses defaults, or
 * o->sctp when set). rest is "HOST:PORT" / "[V6]:PORT". */
struct transport *sctpt_open(const char *rest, const struct transport_opts *to, const struct sctpt_opts *so,
                             char *err, size_t errlen);

/* What a show command prints about one SCTP transport. */
struct sctpt_info {
	const struct sctpt_opts *o;
	const char *state;           /* "connected", "connecting", "not connected" */
	char peer[128];              /* collector "ADDR" */
	unsigned port;               /* collector SCTP port */
	unsigned udp_port;           /* collector UDP port */
	char local[80];              /* our UDP "ADDR:PORT" */
	unsigned local_sctp_port;
	uint32_t assoc_id;           /* sessions so far (the association's number) */
	bool reachable;
	bool pr_supported;           /* peer negotiated PR-SCTP */
	unsigned streams_out;
	unsigned rto_ms, srtt_ms, cwnd;
	uint32_t peer_rwnd;
	long unacked_bytes;          /* in the stack, -1 if no association */
	uint64_t queued_msgs, queued_bytes, ctrl_queued;
	uint64_t sent_msgs, sent_bytes, sent_ctrl;
	uint64_t abandoned;          /* data abandoned by PR-SCTP (FORWARD-TSN) */
	uint64_t abandoned_recs;
	uint64_t limit_drops;        /* dropped by the buffer limit / no room (partial, none, full queue) */
	uint64_t limit_drop_recs;
	uint64_t returned;           /* handed back by the stack when an association was lost */
	uint64_t requeued;           /* of those, queued again (full, partial) */
	uint64_t reclaimed;          /* taken by the destination manager for the backup */
	uint64_t assoc_up, assoc_lost, restarts, unreachable, connect_failures;
	uint64_t t3_timeouts, hb_timeouts; /* per association (SCTP_TIMEOUTS), current association */
	const struct sctpio_link_stats *link;
};
/* Fill i for t; -1 if t is not an SCTP transport. */
int sctpt_info(const struct transport *t, struct sctpt_info *i);
bool transport_is_sctp(const struct transport *t);

/* Every SCTP export transport open now (for show commands): up to max
 * into out; returns how many there are. */
size_t sctpt_list(struct transport **out, size_t max);

/* Watch the path closely (a restore waits on it): heartbeats every 100 ms
 * at most, RTO at most 3 x RTO.min, reconnects every 500 ms at most, and
 * the path counts as unreachable after 2 unanswered heartbeats instead of
 * path_rxt + 1, on this association and the next ones, until cleared. */
void sctpt_watch(struct transport *t, bool close_watch);

/* Force the association down now (ABORT): everything the stack held is
 * handed back and queued again (full, partial). For fail-over. */
void sctpt_abort(struct transport *t);

/* --- the process's SCTP stack, for the main loop and show commands --- */

/* Descriptor readable when the SCTP stack needs a service pass, and the
 * pass itself. -1 until the first SCTP transport or listener opens; from
 * then on the same descriptor for the life of the process (a main loop
 * may watch it once). */
int sctp_stack_fd(void);
void sctp_stack_service(void);

/* "show ip sctp association list" / "show ip sctp statistics": every
 * association of the process (exporter and listener side). */
void sctp_show_associations(FILE *out, bool json);
void sctp_show_statistics(FILE *out, bool json);

/* Listeners register what they show in the association list (see
 * sctp_listen.c); a row printer is called for each. */
struct sctp_show_src {
	void (*rows)(void *arg, FILE *out, bool json, unsigned *n);
	void *arg;
	struct sctp_show_src *next;
};
void sctp_show_register(struct sctp_show_src *s);
void sctp_show_unregister(struct sctp_show_src *s);

#endif
