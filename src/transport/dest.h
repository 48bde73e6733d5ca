/* dest.h — the destination manager: one export destination with an
 * optional backup collector, as IOS's "ip flow-export destination H P
 * sctp" with its "backup ..." sub-mode commands (NetFlow Reliable Export
 * With SCTP), and better: in full reliability no record is lost at
 * fail-over.
 *
 * A dest is itself a transport (the exporter sends to it) over one or two
 * member transports of the same kind (SCTP, TCP or UDP): the primary and
 * the backup. Data goes to the active member only; templates go to every
 * member whose current session lacks them (so in redundant mode the
 * backup already holds them when it takes over), other control messages
 * (options data, template withdrawals) to every member in step.
 *
 *   fail-over mode   the backup is opened only when the primary fails,
 *                    and closed again (once it has delivered what it
 *                    holds) after the primary is restored.
 *   redundant mode   the backup association is kept open all along,
 *                    checked by heartbeats, holding the templates.
 *
 * The primary fails over when it has been unavailable (transport avail():
 * for SCTP no association, or its path unreachable after heartbeats or a
 * message went unacknowledged through path_rxt retransmissions; for TCP
 * no connection; for UDP an ICMP port unreachable in the last 2 s) for
 * failover_ms; a primary that has never been up is given 3 s to come up
 * first (an association takes a few round trips to start). Then every message the primary had not delivered — its
 * queue and, after an ABORT, what the SCTP stack held (handed back with
 * payloads) — is sent to the backup ahead of new data: duplicates are
 * possible (a message the collector got but had not acknowledged), loss
 * is not; the collector tells them apart by sequence number. The primary
 * is retried meanwhile; once it has been available for restore_s without
 * a break, data returns to it (a link that flaps faster than that never
 * makes the exporter flap). If the backup fails while the primary is
 * available, data returns at once.
 *
 * Every record that could not be delivered anywhere is counted
 * (st.dropped_recs, with the members' own drops). Timers run on the
 * monotonic clock, driven by sctp_stack_service() and transport_poll().
 * Not thread-safe. Ownership: dest_open's result is closed with
 * transport_close (closes the members). */
#ifndef IPFLOW_DEST_H
#define IPFLOW_DEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/sctp.h"
#include "transport/transport.h"

enum dest_mode { DEST_FAILOVER = 0, DEST_REDUNDANT };

#define DEST_FAILOVER_MS_DEFAULT 25u   /* IOS "backup fail-over" default */
#define DEST_FAILOVER_MS_MAX 3600u     /* IOS range 0-3600 ms */
#define DEST_RESTORE_S_DEFAULT 25u     /* IOS "backup restore-time" default */
#define DEST_RESTORE_S_MAX 3600u

/* Everything a configuration sets for one export destination: the
 * reliability sub-mode and the backup sub-mode commands. */
struct sctp_dest_opts {
	struct sctpt_opts sctp;   /* reliability etc., for the primary and the backup */
	char backup[300];         /* backup spec: "sctp:H:P", "udp:H:P", or "H:P" (the primary's
	                           * scheme); "" for none */
	enum dest_mode mode;
	unsigned failover_ms;     /* 0-3600 */
	unsigned restore_s;       /* 0-3600 */
	unsigned backup_udp_port; /* SCTP backup: its UDP encapsulation port (0: its SCTP port);
	                           * sctp.encaps_port is the primary's */
};

void sctp_dest_opts_init(struct sctp_dest_opts *o);
/* "fail-over" | "failover" | "redundant". 0, or -1 with err. */
int dest_parse_mode(const char *s, enum dest_mode *m, char *err, size_t errlen);
const char *dest_mode_name(enum dest_mode m);

/* Settings given as flags (ipflowd --sctp-*), kept by destination spec
 * ("sctp:HOST:PORT" as the configuration writes it) and laid over what
 * the configuration says when the destination opens: the flags win, as
 * everywhere. mask: DEST_X_* fields of o that were given. 0, or -1 (full). */
enum {
	DEST_X_REL = 1, DEST_X_BACKUP = 2, DEST_X_MODE = 4, DEST_X_FAILOVER = 8, DEST_X_RESTORE = 16,
	DEST_X_HB = 32, DEST_X_STREAMS = 64, DEST_X_UDP_PORT = 128, DEST_X_BACKUP_UDP_PORT = 256,
};
int dest_extra_set(const char *spec, unsigned mask, const struct sctp_dest_opts *o);
void dest_extra_apply(const char *spec, struct sctp_dest_opts *o);

/* Open spec with o (NULL: defaults, no backup). NULL with err. Usually
 * reached through transport_open (transport_opts.dest). */
struct transport *dest_open(const char *spec, const struct transport_opts *to, const struct sctp_dest_opts *o,
                            char *err, size_t errlen);
bool transport_is_dest(const struct transport *t);

/* The same with the member opener and the clock replaced (tests and
 * simulations: members of a scheme of one's own, virtual time in ms).
 * Either may be NULL. */
struct dest_hooks {
	struct transport *(*open)(void *arg, const char *spec, const struct transport_opts *o, char *err,
	                          size_t errlen);
	uint64_t (*now_ms)(void *arg);
	void *arg;
};
struct transport *dest_open_with(const char *spec, const struct transport_opts *to, const struct sctp_dest_opts *o,
                                 const struct dest_hooks *h, char *err, size_t errlen);

/* One member's share of what the dest sent. */
struct dest_member_info {
	struct transport *t;      /* NULL: not open (fail-over mode backup) */
	const char *spec;
	bool avail;
	uint64_t msgs, recs;      /* data messages and their flow records handed to it */
	uint64_t ctrl;            /* control messages handed to it */
	uint64_t refused;         /* data messages it refused (queue full): the exporter counts their flows failed */
	uint64_t dropped, dropped_recs; /* accepted, then lost by it ("lack of SCTP resources") */
};

struct dest_info {
	const struct sctp_dest_opts *o;
	bool has_backup;
	bool on_backup;           /* data goes to the backup now */
	const char *state;        /* "primary", "backup", "backup, restoring" */
	struct dest_member_info m[2]; /* primary, backup */
	uint64_t failovers, restores;
	uint64_t reclaimed;       /* messages moved to the other member at a switch */
	uint64_t reclaimed_recs;
	uint64_t lost, lost_recs; /* could not be delivered anywhere (the dest's own count) */
	uint64_t restore_left_ms; /* on the backup with the primary back: time left */
	uint64_t last_switch_ms;  /* sctpio_now_ms() of the last fail-over or restore, 0 if none */
};
/* Fill i; -1 if t is not a dest. */
int dest_info(const struct transport *t, struct dest_info *i);

#endif
