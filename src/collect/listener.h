/* listener.h — where ipflow-collect receives export messages: a table of
 * transport schemes (udp, tcp; sctp joins later through the same table).
 *
 * A listener owns its sockets and hands every complete export message to
 * the session layer through struct lsn_sink:
 *
 *   msg(arg, m)            one message: exporter address and port, the
 *                          transport session it arrived on (0 for UDP: a
 *                          datagram belongs to no session; unique per TCP
 *                          connection / SCTP association), the stream id
 *                          (SCTP; 0 otherwise), the bytes (valid during
 *                          the call only) and the receive time;
 *   session_end(arg, ...)  a transport session ended (connection closed,
 *                          timed out, reset): templates scoped to it are
 *                          gone (RFC 7011 §8.1).
 *
 * The main loop polls l->fd for POLLIN and calls listener_ready() when it
 * is readable (a listener with many sockets, TCP, exposes one epoll fd
 * over all of them), and listener_tick() about once a second for its
 * timeouts. A listener never blocks: ready() reads what is there, up to a
 * budget, and returns.
 *
 * Specs: "udp:[ADDR:]PORT", "tcp:[ADDR:]PORT", "sctp:[ADDR:]PORT" (SCTP
 * over UDP, RFC 6951, UDP and SCTP port PORT: lsn_sctp.c); ADDR is an IPv4 literal or
 * [IPv6]; without ADDR the listener binds the IPv6 wildcard with
 * IPV6_V6ONLY off, so IPv4 and IPv6 exporters both reach it (IPv4-mapped
 * peers are reported as IPv4). Port 0 binds a port the kernel picks
 * (listener_port() tells which).
 *
 * A new scheme (SCTP: one association = one transport session, its
 * stream ids in lsn_msg.stream) is a struct listener_ops in lsn_NAME.c,
 * named in schemes[] in listener.c and declared below; nothing in the
 * session layer changes.
 *
 * Ownership: listener_open()'s result belongs to the caller
 * (listener_close, NULL-safe). Not thread-safe. */
#ifndef IPFLOW_LISTENER_H
#define IPFLOW_LISTENER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* An exporter as the transport sees it. IPv4 in the first 4 bytes. */
struct lsn_peer {
	uint8_t addr[16];
	uint8_t af;        /* 4 or 6 */
	uint16_t port;
};

struct lsn_msg {
	struct lsn_peer peer;
	uint32_t session;  /* transport session: 0 = none (UDP, files) */
	uint16_t stream;   /* SCTP stream id; 0 otherwise */
	uint8_t transport; /* LSN_T_* */
	const uint8_t *p;
	size_t len;
	uint64_t recv_us;  /* receive time, us since 1970 (packet time for -r) */
};

enum { LSN_T_FILE = 0, LSN_T_UDP, LSN_T_TCP, LSN_T_SCTP };

struct lsn_sink {
	void (*msg)(void *arg, const struct lsn_msg *m);
	void (*session_end)(void *arg, const struct lsn_peer *peer, uint32_t session);
	void *arg;
};

/* Settings for every scheme (each reads the ones it uses); 0 = default. */
struct listener_cfg {
	int rcvbuf;               /* udp: socket receive buffer bytes (default 32 MiB) */
	unsigned tcp_max_conns;   /* tcp: connections at once (default 1024); more are refused */
	unsigned tcp_idle_s;      /* tcp: close a connection silent this long (default 600) */
	unsigned tcp_msg_s;       /* tcp: close one whose message stays incomplete this long (default 30) */
};

/* Counters every listener keeps (schemes add their own in show()). */
struct listener_stats {
	uint64_t msgs;            /* messages delivered */
	uint64_t bytes;           /* bytes of them */
	uint64_t kernel_drops;    /* udp: datagrams the kernel dropped (receive buffer full) */
	uint64_t truncated;       /* udp: datagrams longer than the receive buffer, dropped */
	uint64_t errors;          /* receive errors */
	uint64_t conns;           /* tcp: connections accepted */
	uint64_t conns_refused;   /* tcp: refused, tcp_max_conns reached */
	uint64_t closed_idle;     /* tcp: closed after tcp_idle_s of silence */
	uint64_t closed_slow;     /* tcp: closed, a message incomplete for tcp_msg_s */
	uint64_t closed_bad;      /* tcp: closed, the stream is not IPFIX (bad version or length) */
	uint64_t closed_peer;     /* tcp: closed by the peer (EOF or reset) */
};

struct listener;

struct listener_ops {
	const char *scheme;
	struct listener *(*open)(const char *rest, const struct listener_cfg *cfg, const struct lsn_sink *to,
	                         char *err, size_t errlen);
	/* Read what is ready (bounded work); returns messages delivered. */
	int (*ready)(struct listener *l, uint64_t now_us);
	void (*tick)(struct listener *l, uint64_t now_us); /* optional */
	void (*refresh)(struct listener *l);               /* optional: update kernel counters */
	void (*show)(const struct listener *l, FILE *out); /* optional: scheme counters */
	void (*close)(struct listener *l);
};

struct listener {
	const struct listener_ops *ops;
	int fd;                   /* poll for POLLIN */
	struct lsn_sink to;
	struct listener_stats st;
	uint16_t port;            /* bound port */
	char name[80];            /* the spec, with the bound port */
};

extern const struct listener_ops listener_udp_ops, listener_tcp_ops, listener_sctp_ops;

/* Open from a spec (table above). NULL with a message in err on error. */
struct listener *listener_open(const char *spec, const struct listener_cfg *cfg, const struct lsn_sink *to,
                               char *err, size_t errlen);
int listener_ready(struct listener *l, uint64_t now_us);
void listener_tick(struct listener *l, uint64_t now_us);
/* Counters, kernel drop counts refreshed first. */
const struct listener_stats *listener_stats(struct listener *l);
/* One paragraph: name, counters (and the scheme's own). */
void listener_show(struct listener *l, FILE *out);
void listener_close(struct listener *l);

/* --- helpers for the schemes ------------------------------------------ */

/* A transport session id no other session in this process has (never 0). */
uint32_t lsn_new_session(void);

/* Parse "[ADDR:]PORT" (ADDR: IPv4 literal, [IPv6] literal, or "*") into
 * a socket address; without ADDR the IPv6 wildcard (dual stack). 0, or -1
 * with err. */
struct sockaddr_storage;
int lsn_parse_addr(const char *rest, struct sockaddr_storage *ss, unsigned *sslen, int *dual,
                   char *err, size_t errlen);

/* Fill a peer from a socket address (IPv4-mapped IPv6 becomes IPv4). */
void lsn_peer_from(struct lsn_peer *p, const struct sockaddr_storage *ss);

/* Text of a peer address (no port) into buf (INET6_ADDRSTRLEN bytes). */
const char *lsn_peer_str(const struct lsn_peer *p, char *buf, size_t len);

/* Wall clock, us since 1970. */
uint64_t lsn_now_us(void);

#endif
