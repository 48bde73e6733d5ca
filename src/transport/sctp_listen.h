/* sctp_listen.h — the collector side of SCTP export: one listener takes
 * many associations over UDP encapsulation (RFC 6951) on one UDP port,
 * with several streams each, and hands every complete message up with
 * where it came from.
 *
 * Spec: "[ADDR:]PORT" (also "[V6]:PORT"): the UDP port and the SCTP port
 * are both PORT (as an exporter's sctp:HOST:PORT expects); without ADDR
 * the listener takes IPv6 and IPv4 on every address. PORT 0 picks a free
 * port (sctprx_port tells which).
 *
 * Each association is a transport session of its own (RFC 7011 §10.2:
 * templates are scoped to it): it gets a fresh session number when it is
 * accepted and again when the exporter restarts it (SCTP_RESTART), and
 * the event callback says so, so a collector can drop that session's
 * templates. Messages arrive in order per stream; a message the exporter
 * abandoned (PR-SCTP, RFC 3758 FORWARD-TSN) leaves a hole in its stream's
 * sequence numbers, reported as msg->gap (messages skipped just before
 * this one on its stream) and counted in stats.gaps.
 *
 * Bounded: at most max_assocs associations (more are aborted and
 * counted), max_peers lower-layer peers, messages of at most 65535 bytes
 * (longer ones are counted and dropped). Callbacks run on the main thread
 * inside sctp_stack_service() (or sctprx_poll). Ownership: the caller
 * closes what it opened; sctprx_close(NULL) is a no-op. */
#ifndef IPFLOW_SCTP_LISTEN_H
#define IPFLOW_SCTP_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct sctprx;

struct sctprx_msg {
	const struct sockaddr *peer; /* the exporter's UDP address */
	socklen_t peerlen;
	uint32_t session;            /* this listener's number for the association */
	uint16_t sid;                /* stream */
	uint16_t ssn;                /* stream sequence number (ordered messages) */
	bool unordered;
	uint32_t ppid;
	uint32_t tsn;
	uint32_t gap;                /* messages abandoned by the exporter just before this one */
	const uint8_t *data;
	size_t len;
};

enum sctprx_event { SCTPRX_UP = 1, SCTPRX_DOWN, SCTPRX_RESTART };

struct sctprx_cb {
	void (*msg)(void *arg, const struct sctprx_msg *m);
	/* SCTPRX_UP: a new session; SCTPRX_RESTART: old_session ended and
	 * session replaces it; SCTPRX_DOWN: session ended. May be NULL. */
	void (*event)(void *arg, int ev, uint32_t session, uint32_t old_session,
	              const struct sockaddr *peer, socklen_t peerlen);
	void *arg;
};

struct sctprx_opts {
	int rcvbuf;           /* per association receive buffer bytes (default 4 MiB) */
	unsigned max_assocs;  /* default 256 */
	unsigned max_peers;   /* default 1024 */
	unsigned in_streams;  /* streams accepted per association (default 17: stream 0 + 16) */
	unsigned sack_delay_ms; /* delayed SACK (default 20) */
	unsigned sack_freq;   /* SACK every this many packets (default 2, RFC 4960 6.2) */
	/* Session numbers from the caller (unique across its listeners of every
	 * kind), never 0; NULL: this listener counts 1, 2, ... */
	uint32_t (*new_session)(void);
};

struct sctprx_stats {
	uint64_t assocs_total, assocs_now, restarts, assocs_refused;
	uint64_t msgs, bytes, gaps, too_long, partial_aborted;
	uint64_t peers, peers_refused;
};

/* NULL with err if the spec is bad or the port cannot be bound. */
struct sctprx *sctprx_open(const char *spec, const struct sctprx_opts *o, const struct sctprx_cb *cb,
                           char *err, size_t errlen);
void sctprx_close(struct sctprx *l);
/* Accept and read what is waiting (also done by sctp_stack_service). */
void sctprx_poll(struct sctprx *l);
/* Stop (true) or resume reading messages: a stalled collector, for tests
 * and for back-pressure. Associations are still accepted. */
void sctprx_pause(struct sctprx *l, bool paused);
uint16_t sctprx_port(const struct sctprx *l);
const struct sctprx_stats *sctprx_stats(const struct sctprx *l);

#endif
