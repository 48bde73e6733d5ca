/* transport.h — carries export messages; the encoder never knows which.
 *
 * A transport sends one whole export message at a time. Backends (udp.c,
 * file.c; tcp.c and sctp.c later) each provide a struct transport_ops and
 * embed struct transport first in their own state. Open by spec:
 *
 *   udp:HOST:PORT      UDP over IPv4 or IPv6; HOST may be [v6 literal]
 *   file:PATH          messages back to back (an IPFIX File, RFC 5655,
 *                      when the messages are IPFIX); file:- is stdout
 *   tcp:HOST:PORT      TCP (RFC 7011 §10.4), reconnecting with backoff,
 *                      through a bounded queue (drops counted)
 *   sctp:HOST:PORT     SCTP over UDP (RFC 6951) with full, partial or no
 *                      reliability, templates on stream 0 (sctp.h)
 *
 * Sessions (connection-oriented transports, t->reliable): each new
 * connection is a new transport session, and the collector knows no
 * templates on it. transport_session() names the session a message sent
 * now will be delivered on. The exporter sends its templates once per
 * session (no UDP refresh timers: RFC 7011 §8), and when the session
 * changes under it sends them again with TRANSPORT_F_CTRL|TRANSPORT_F_FRONT:
 * the transport holds queued data of an earlier session until that
 * control message has gone first (t->hold_for_ctrl, set by the exporter
 * when its format has templates).
 *
 * Errors never abort: send returns ERR_IO, counts it, and leaves the text
 * in t->err; the next send tries again. Ownership: transport_open()'s
 * result belongs to the caller and is freed by transport_close()
 * (NULL-safe). Not thread-safe. */
#ifndef IPFLOW_TRANSPORT_H
#define IPFLOW_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRANSPORT_ERRLEN 256

/* send flags: the message carries templates or options (a transport with
 * streams, SCTP, puts it on its reliable control stream). The number of
 * flow records in the message rides in the bits from
 * TRANSPORT_F_RECS_SHIFT up, so a transport that loses an accepted
 * message later can count its flows (st.dropped_recs). */
enum { TRANSPORT_F_CTRL = 1, TRANSPORT_F_FRONT = 2 };
#define TRANSPORT_F_RECS_SHIFT 8
#define TRANSPORT_F_RECS(n) ((unsigned)(n) << TRANSPORT_F_RECS_SHIFT)
#define TRANSPORT_RECS_OF(flags) ((unsigned)(flags) >> TRANSPORT_F_RECS_SHIFT)

struct sctpt_opts;
struct sctp_dest_opts;

struct transport_opts {
	const char *source; /* local address to bind (ip flow-export source), NULL: any */
	int sndbuf;         /* socket send buffer bytes; 0: default (4 MiB) */
	size_t queue_max;   /* tcp: queued bytes at most; 0: default (16 MiB) */
	int block_ms;       /* tcp, sctp: when the queue is full, wait up to this long for room
	                     * (a file replay can wait; live traffic cannot: 0) */
	unsigned mtu;       /* sctp: the MTU messages are sized for (0: 1500) */
	const struct sctpt_opts *sctp; /* sctp: settings (NULL: defaults, sctp.h) */
	/* Destination-manager settings (dest.h): every sctp: spec, and any spec
	 * with a backup, opens as a dest over its member transport(s). NULL:
	 * defaults. member: open the plain transport (what a dest does). */
	const struct sctp_dest_opts *dest;
	bool member;
};

struct transport_stats {
	uint64_t msgs;      /* messages handed to the kernel / written */
	uint64_t bytes;
	uint64_t errors;    /* messages not sent */
	uint64_t refused;   /* UDP: ECONNREFUSED seen (ICMP port unreachable), retried */
	uint64_t connects;  /* tcp: connections established */
	uint64_t disconnects; /* tcp: connections lost */
	uint64_t queue_drops; /* tcp: messages refused, the queue being full (also in errors) */
	uint64_t resent;    /* tcp: messages sent again whole after a connection broke mid-message */
	uint64_t lost_bytes; /* tcp: bytes in the kernel's send queue when a connection broke */
	uint64_t queued;    /* tcp, sctp: bytes waiting now */
	uint64_t dropped;   /* sctp: messages accepted, then lost (abandoned, dropped by a
	                     * buffer limit, left over at close) */
	uint64_t dropped_recs; /* their flow records (TRANSPORT_F_RECS) */
};

struct transport;

struct transport_ops {
	const char *scheme; /* "udp", "file" */
	/* rest: the spec after "scheme:". NULL on error with err filled. */
	struct transport *(*open)(const char *rest, const struct transport_opts *o, char *err, size_t errlen);
	int (*send)(struct transport *t, const void *msg, size_t len, unsigned flags);
	void (*close)(struct transport *t);
	/* Optional: make progress without sending (connect, drain the queue). */
	void (*poll)(struct transport *t);
	/* Optional: wait up to ms for the queue to drain (shutdown). */
	void (*drain)(struct transport *t, int ms);
	/* Optional (dest.h): is the collector answering? Without it: t->up. */
	bool (*avail)(struct transport *t);
	/* Optional (dest.h): hand every accepted data message not delivered
	 * yet to fn (oldest first) and forget it; with abort, first force the
	 * connection down so the lower layer gives back what it holds.
	 * Control messages are dropped (a new session gets new templates).
	 * Returns the number handed over. */
	size_t (*reclaim)(struct transport *t, bool abort,
	                  void (*fn)(void *arg, const void *msg, size_t len, unsigned flags), void *arg);
	/* Optional: nothing queued and nothing unacknowledged. */
	bool (*idle)(struct transport *t);
	/* Optional: give up on everything still held (queued, unacknowledged),
	 * counting it in st.dropped / st.dropped_recs, so a caller can read
	 * the loss before close() frees the transport. */
	void (*discard)(struct transport *t);
};

struct transport {
	const struct transport_ops *ops;
	size_t overhead;    /* lower-layer header bytes per message: UDP/IPv4 28, UDP/IPv6 48, file 0 */
	struct transport_stats st;
	char err[TRANSPORT_ERRLEN]; /* last error, "" if none */
	bool reliable;      /* connection-oriented: templates once per session */
	bool hold_for_ctrl; /* see above */
	bool up;            /* connected (always true for datagram/file transports) */
	uint32_t session;   /* sessions established so far */
	bool split_ctrl;    /* control and data in separate messages (SCTP streams) */
	struct transport_stats *final; /* transport_close_final: st as it was at the end of close */
};

/* Close t and give its counters as they stand once close is done: a
 * close can still count (messages an SCTP association abandoned, whose
 * notices arrive during its shutdown; a TCP queue thrown away). Closes
 * that count call transport_final(t) just before they free t. */
void transport_close_final(struct transport *t, struct transport_stats *final);
static inline void transport_final(struct transport *t)
{
	if (t->final)
		*t->final = t->st;
}

extern const struct transport_ops transport_udp_ops, transport_file_ops, transport_tcp_ops, transport_sctp_ops;

/* Open a transport from a spec (table of schemes above). NULL on error,
 * with a message in err (errlen bytes, may be 0). */
struct transport *transport_open(const char *spec, const struct transport_opts *o, char *err, size_t errlen);

/* Send one message whole: ERR_OK, or ERR_IO (counted, text in t->err). */
int transport_send(struct transport *t, const void *msg, size_t len, unsigned flags);

void transport_close(struct transport *t);

/* The session a message sent now is delivered on: the current one when
 * connected, the next one otherwise. 0 for datagram and file transports. */
uint32_t transport_session(const struct transport *t);

/* An observer of every send (`debug ip flow export`): called after each
 * transport_send with the message and its result. One per process; fn
 * NULL removes it. The observer must not send. */
typedef void (*transport_observer_fn)(void *arg, const struct transport *t, const void *msg, size_t len,
                                      unsigned flags, int rc);
void transport_set_observer(transport_observer_fn fn, void *arg);

void transport_poll(struct transport *t);       /* no-op where not needed */
void transport_drain(struct transport *t, int ms);
bool transport_avail(struct transport *t);      /* ops->avail, else t->up */
bool transport_idle(struct transport *t);       /* ops->idle, else true */
void transport_discard(struct transport *t);    /* ops->discard, if any */
/* Still holding something: queued, or sent and not yet acknowledged. */
bool transport_busy(struct transport *t);
/* Close t once what it holds has gone, within ms: closing a busy SCTP
 * association would abort what the collector has not confirmed. An idle
 * t closes at once; a busy one waits in the background (a reload that
 * removes an exporter does not stop metering), closed by
 * transport_retire_poll when it has gone idle or its time is up (the
 * monotonic clock: draining is about the network, not packet time), or
 * by transport_retire_drain (exit). What it still holds then is lost.
 * Its losses count in an account: those it had when it retired in
 * held_*, those after in lost_*; acct NULL is the process's
 * (transport_retired_stats). The caller must not use t again. An account
 * must outlive its waiting transports: drain it or forget it first. Not
 * thread-safe. */
struct transport_retired {
	uint64_t closed;     /* transports retired and closed */
	uint64_t timed_out;  /* of which closed still holding data */
	uint64_t lost_msgs;  /* messages they lost after they retired */
	uint64_t lost_recs;  /* their flow records */
	uint64_t held_msgs;  /* messages they had lost when they retired */
	uint64_t held_recs;  /* their flow records */
	size_t waiting;      /* retired, not yet closed */
	size_t high_water;   /* most waiting at once */
};
void transport_retire_to(struct transport *t, int ms, struct transport_retired *acct);
void transport_retire(struct transport *t, int ms); /* the process's account */
void transport_retire_poll(void);  /* now and then, every account's: no waiting */
void transport_retire_drain(void); /* every retiring transport, each up to its time */
void transport_retire_drain_to(struct transport_retired *acct); /* those of acct only */
/* acct is going away: its waiting transports count in the process's account from now on. */
void transport_retire_forget(struct transport_retired *acct);
size_t transport_retiring(void);   /* the process's account's waiting now */
const struct transport_retired *transport_retired_stats(void);

#endif
