/* transport.h — carries export messages; the encoder never knows which.
 *
 * A transport sends one whole export message at a time. Backends (udp.c,
 * file.c; tcp.c and sctp.c later) each provide a struct transport_ops and
 * embed struct transport first in their own state. Open by spec:
 *
 *   udp:HOST:PORT      UDP over IPv4 or IPv6; HOST may be [v6 literal]
 *   file:PATH          messages back to back (an IPFIX File, RFC 5655,
 *                      when the messages are IPFIX); file:- is stdout
 *
 * Errors never abort: send returns ERR_IO, counts it, and leaves the text
 * in t->err; the next send tries again. Ownership: transport_open()'s
 * result belongs to the caller and is freed by transport_close()
 * (NULL-safe). Not thread-safe. */
#ifndef IPFLOW_TRANSPORT_H
#define IPFLOW_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#define TRANSPORT_ERRLEN 256

/* send flags: the message carries templates or options (a transport with
 * streams, SCTP, puts it on its reliable control stream). */
enum { TRANSPORT_F_CTRL = 1 };

struct transport_opts {
	const char *source; /* local address to bind (ip flow-export source), NULL: any */
	int sndbuf;         /* socket send buffer bytes; 0: default (4 MiB) */
};

struct transport_stats {
	uint64_t msgs;      /* messages handed to the kernel / written */
	uint64_t bytes;
	uint64_t errors;    /* messages not sent */
	uint64_t refused;   /* UDP: ECONNREFUSED seen (ICMP port unreachable), retried */
};

struct transport;

struct transport_ops {
	const char *scheme; /* "udp", "file" */
	/* rest: the spec after "scheme:". NULL on error with err filled. */
	struct transport *(*open)(const char *rest, const struct transport_opts *o, char *err, size_t errlen);
	int (*send)(struct transport *t, const void *msg, size_t len, unsigned flags);
	void (*close)(struct transport *t);
};

struct transport {
	const struct transport_ops *ops;
	size_t overhead;    /* lower-layer header bytes per message: UDP/IPv4 28, UDP/IPv6 48, file 0 */
	struct transport_stats st;
	char err[TRANSPORT_ERRLEN]; /* last error, "" if none */
};

extern const struct transport_ops transport_udp_ops, transport_file_ops;

/* Open a transport from a spec (table of schemes above). NULL on error,
 * with a message in err (errlen bytes, may be 0). */
struct transport *transport_open(const char *spec, const struct transport_opts *o, char *err, size_t errlen);

/* Send one message whole: ERR_OK, or ERR_IO (counted, text in t->err). */
int transport_send(struct transport *t, const void *msg, size_t len, unsigned flags);

void transport_close(struct transport *t);

#endif
