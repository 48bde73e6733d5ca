/* udp.c — export over UDP (udp:HOST:PORT, udp:[V6]:PORT).
 *
 * One connected socket: the kernel then reports an ICMP port unreachable
 * from the collector as ECONNREFUSED on a later send. That send did not
 * go out (the pending error is returned instead), so it is counted in
 * st.refused and retried once at once; a collector that is down costs a
 * counter, never the exporter. For the destination manager (dest.h) the
 * collector counts as unavailable from a refusal until two sends later and
 * 2 s on have passed without one. The send buffer is raised (4 MiB by
 * default) so bursts from a pcap replay are not dropped locally. Sends
 * block (a UDP send waits only for buffer space). */
#include "lib/addr.h"
#include "transport/transport.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"

struct udp {
	struct transport base;
	int fd;
	uint64_t refused_ms;     /* monotonic time of the last refusal, 0: never */
	unsigned since_refused;  /* sends since then */
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

#define UDP_DEFAULT_SNDBUF (4 << 20)

static struct transport *udp_open(const char *rest, const struct transport_opts *o, char *err, size_t errlen)
{
	char host[256];
	const char *port;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM,
	                          .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL, *ai;
	struct udp *u = NULL;
	char lasterr[192] = "no address";
	int fd = -1;

	if (addr_split_hostport(rest, host, sizeof(host), &port) != ERR_OK) {
		snprintf(err, errlen, "`udp:%s': expected udp:HOST:PORT or udp:[V6]:PORT", rest);
		return NULL;
	}
	int gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0) {
		snprintf(err, errlen, "`udp:%s': %s", rest, gai_strerror(gai));
		return NULL;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			snprintf(lasterr, sizeof(lasterr), "socket: %s", strerror(errno));
			continue;
		}
		int sndbuf = o->sndbuf > 0 ? o->sndbuf : UDP_DEFAULT_SNDBUF;
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)); /* best effort */
		if (o->source && addr_bind_source(fd, ai->ai_family, o->source, lasterr, sizeof(lasterr)) != 0) {
			close(fd);
			fd = -1;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		snprintf(lasterr, sizeof(lasterr), "connect: %s", strerror(errno));
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		snprintf(err, errlen, "`udp:%s': %s", rest, lasterr);
		goto out;
	}
	u = calloc(1, sizeof(*u));
	if (!u) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		goto out;
	}
	u->base.ops = &transport_udp_ops;
	u->base.overhead = ai->ai_family == AF_INET6 ? 48 : 28;
	u->fd = fd;
out:
	freeaddrinfo(res);
	return u ? &u->base : NULL;
}

static int udp_send(struct transport *t, const void *msg, size_t len, unsigned flags)
{
	struct udp *u = (struct udp *)t;
	(void)flags;
	int refused_once = 0;
	for (;;) {
		ssize_t n = send(u->fd, msg, len, 0);
		if (n == (ssize_t)len) {
			t->st.msgs++;
			t->st.bytes += len;
			u->since_refused++;
			return ERR_OK;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ECONNREFUSED && !refused_once) {
			t->st.refused++; /* an earlier datagram's ICMP; this one was not sent */
			refused_once = 1;
			u->refused_ms = mono_ms();
			u->since_refused = 0;
			continue;
		}
		snprintf(t->err, sizeof(t->err), "udp send: %s", n < 0 ? strerror(errno) : "short send");
		t->st.errors++;
		return ERR_IO;
	}
}

static void udp_close(struct transport *t)
{
	struct udp *u = (struct udp *)t;
	close(u->fd);
	free(u);
}

static bool udp_avail(struct transport *t)
{
	const struct udp *u = (const struct udp *)t;
	return !u->refused_ms || (u->since_refused >= 2 && mono_ms() - u->refused_ms >= 2000);
}

const struct transport_ops transport_udp_ops = {
	.scheme = "udp", .open = udp_open, .send = udp_send, .close = udp_close, .avail = udp_avail,
};
