/* sctpio.h — the one usrsctp stack of the process and its lower layer:
 * SCTP over UDP (RFC 6951), with the UDP sockets owned by us.
 *
 * usrsctp runs with the AF_CONN lower layer: the stack hands us each SCTP
 * packet (conn_output) and we send it as the payload of a UDP datagram;
 * each datagram received is handed back (usrsctp_conninput). A "link" is
 * one lower-layer path, named by the AF_CONN address the stack sees: an
 * exporter association has its own connected UDP socket (so any local
 * port works and many processes share a host), a listener shares one
 * bound socket among its peers. On the wire this is exactly RFC 6951:
 * the SCTP common header and chunks are the UDP payload, checksummed
 * (CRC32c) by usrsctp.
 *
 * Threads: usrsctp's own timer thread (retransmissions, heartbeats), and
 * one receive thread of ours reading every link's socket and feeding the
 * stack, so acknowledgements are processed at once whatever the main loop
 * is doing. The main loop is told there is work through one descriptor
 * (sctpio_fd: an epoll set of an eventfd, written by socket upcalls and
 * sctpio_wake, and a timerfd for client deadlines) and then calls
 * sctpio_service(), which runs every registered client. Clients (sctp.c
 * transports, sctp_listen.c listeners, dest.c) do all their usrsctp calls
 * from the main thread. conn_output never calls into the stack (that
 * deadlocks, see reading/usrsctp-findings.md).
 *
 * Lifetime: sctpio_ref() starts the stack on first use, sctpio_unref()
 * stops it when the last user is gone (usrsctp_finish, bounded wait).
 * Links are never freed before the stack stops: a lingering association
 * may still output on a link after its socket was closed; a closed link
 * drops such packets. Not async-signal-safe. */
#ifndef IPFLOW_SCTPIO_H
#define IPFLOW_SCTPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct socket; /* usrsctp */

/* Per-link lower-layer counters (updated by several threads; read racily
 * for display only). */
struct sctpio_link_stats {
	uint64_t tx_pkts, tx_bytes, tx_errors; /* datagrams sent / failed (the packet is lost: SCTP retransmits) */
	uint64_t rx_pkts, rx_bytes;
};

struct sctpio_link;

/* Start (first call) or share the stack. 0, or -1 with err. */
int sctpio_ref(char *err, size_t errlen);
/* Drop a reference; the last one stops the stack (waits up to ~2 s for
 * usrsctp to release its associations). */
void sctpio_unref(void);
bool sctpio_running(void);

/* Descriptor readable when sctpio_service() has work; -1 if not running. */
int sctpio_fd(void);
/* Run every client whose wake flag or deadline has come. */
void sctpio_service(void);
/* Ask for a service pass soon (thread-safe; called from upcalls). */
void sctpio_wake(void);

/* Clients: fn(arg) runs at each service pass after a wake, and when its
 * deadline (monotonic ms, 0 = none) has passed. Owned by the caller;
 * must stay valid until removed. */
struct sctpio_client {
	void (*fn)(void *arg);
	void *arg;
	uint64_t deadline_ms;
	struct sctpio_client *next;
};
void sctpio_client_add(struct sctpio_client *c);
void sctpio_client_del(struct sctpio_client *c);
/* Set c's deadline to ms if earlier than the one it has (0 clears). */
void sctpio_client_at(struct sctpio_client *c, uint64_t ms);

uint64_t sctpio_now_ms(void); /* CLOCK_MONOTONIC */

/* A link with a connected UDP socket of its own to peer (exporter side),
 * bound to source (address literal or interface name) if not NULL. The
 * receive thread reads it. NULL with err on failure. */
struct sctpio_link *sctpio_link_connect(const struct sockaddr *peer, socklen_t peerlen,
                                        const char *source, char *err, size_t errlen);
/* A link that sends to peer through fd, a socket owned by a listener
 * (which feeds received datagrams itself with sctpio_input). */
struct sctpio_link *sctpio_link_shared(int fd, const struct sockaddr *peer, socklen_t peerlen);
/* Stop sending and receiving on l; its memory lives until the stack stops. */
void sctpio_link_close(struct sctpio_link *l);
/* The AF_CONN address of l, for bind/connect of usrsctp sockets. */
void sctpio_link_addr(const struct sctpio_link *l, uint16_t sctp_port, struct sockaddr_storage *ss, socklen_t *len);
const struct sctpio_link_stats *sctpio_link_stats(const struct sctpio_link *l);
/* Where l sends to. */
const struct sockaddr *sctpio_link_peer(const struct sctpio_link *l, socklen_t *len);
/* The local UDP address of l's socket, as text "ADDR:PORT" into buf. */
void sctpio_link_local(const struct sctpio_link *l, char *buf, size_t len);

/* A shared socket read by the receive thread: each datagram goes to
 * fn(arg, data, len, from, fromlen) on the receive thread. fn must only
 * look up (or create) the peer's link and call sctpio_input. */
typedef void (*sctpio_rx_fn)(void *arg, const void *data, size_t len, const struct sockaddr *from, socklen_t fromlen);
int sctpio_rx_add(int fd, sctpio_rx_fn fn, void *arg);
/* Stop reading fd; when this returns the receive thread no longer uses fn/arg. */
void sctpio_rx_del(int fd);
/* Hand one received SCTP packet of l to the stack (receive thread only). */
void sctpio_input(struct sctpio_link *l, const void *data, size_t len);

/* A one-to-one usrsctp socket with the options every ipflow endpoint
 * uses: non-blocking, upcall → sctpio_wake, RCVINFO, NODELAY, first-come
 * scheduling, the notifications we read, send/receive buffers. NULL with
 * err. */
struct socket *sctpio_socket(int sndbuf, int rcvbuf, char *err, size_t errlen);

/* The stack's own counters (usrsctp_get_stat), for show commands. */
struct sctpio_totals {
	uint64_t assoc_active, assoc_passive, assoc_aborted, assoc_shutdown, assoc_restart, assoc_current;
	uint64_t ctrl_out, ctrl_in, data_out, data_in, data_out_ordered, data_out_unordered;
	uint64_t data_in_ordered, data_in_unordered, data_retrans, fast_retrans, dup_data_in;
	uint64_t pkts_out, pkts_in, sacks_out, sacks_in, hb_out, hb_ack_in, ootb, checksum_errors;
	uint64_t t3_timeouts, t1_timeouts, t2_timeouts, hb_timeouts, window_probes;
	uint64_t link_tx_errors;  /* datagrams our lower layer failed to send */
	uint64_t rx_dropped;      /* datagrams read that no link took */
};
void sctpio_totals(struct sctpio_totals *t);

/* Set a usrsctp socket's failure-detection parameters (future and
 * current associations): RTO bounds (ms), heartbeat interval (ms),
 * path/association retransmission limits, and the path MTU (0: leave). */
struct sctpio_timing {
	unsigned rto_init_ms, rto_min_ms, rto_max_ms;
	unsigned hb_ms;
	unsigned path_rxt, assoc_rxt;
	unsigned init_attempts, init_max_ms;
};
int sctpio_set_timing(struct socket *so, const struct sctpio_timing *tm, unsigned pathmtu, char *err, size_t errlen);

/* One notification (read with MSG_NOTIFICATION) decoded into plain
 * values. The bytes come from usrsctp, but are still read through their
 * own length fields: nothing outside buf[0..len) is touched. */
struct sctpio_note {
	uint16_t type;          /* SCTP_ASSOC_CHANGE, SCTP_SEND_FAILED_EVENT, ... */
	uint16_t flags;         /* sn_flags; send failed: SCTP_DATA_SENT / SCTP_DATA_UNSENT */
	uint32_t state;         /* assoc change sac_state, addr change spc_state, pdapi indication */
	uint32_t error;
	uint32_t assoc_id;
	uint16_t out_streams, in_streams; /* assoc change */
	uint16_t sid;           /* send failed snd_sid, pdapi stream */
	uint32_t context;       /* send failed snd_context */
	uint32_t ppid;          /* send failed snd_ppid */
	uint32_t seq;           /* pdapi sequence */
	const uint8_t *data;    /* send failed: the message; assoc change: sac_info */
	size_t datalen;
};
/* 0, or ERR_TRUNC (shorter than its header or its type's fixed part, or
 * than its own length field says). Unknown types decode as header only. */
int sctpio_note_decode(const void *buf, size_t len, struct sctpio_note *n);

/* Bytes the stack still holds for so's association (queued + unacked),
 * or -1 if there is no association. */
long sctpio_unacked_bytes(struct socket *so);

#endif
