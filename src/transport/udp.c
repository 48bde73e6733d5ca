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
 * block (a UDP send waits only for buffer space). Corked (a burst: the
 * flush at the end of input), datagrams are gathered and leave
 * UDP_BATCH at a time through sendmmsg: one system call, and one wakeup
 * of a local collector, for many. */
#include "lib/addr.h"
#include "transport/transport.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"

#define UDP_BATCH 32
#define UDP_BATCH_BYTES (256u << 10)

struct udp {
	struct transport base;
	int fd;
	uint64_t refused_ms;     /* monotonic time of the last refusal, 0: never */
	unsigned since_refused;  /* sends since then */
	bool corked;
	unsigned nb;             /* datagrams gathered */
	size_t bused;            /* bytes of buf they take */
	size_t off[UDP_BATCH], len[UDP_BATCH];
	unsigned recs[UDP_BATCH];
	uint8_t *buf;            /* UDP_BATCH_BYTES, allocated when first corked */
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

static void udp_flush(struct udp *u);

static int udp_send_now(struct transport *t, const void *msg, size_t len)
{
	struct udp *u = (struct udp *)t;
	if (u->nb) /* what was gathered goes first: order is kept */
		udp_flush(u);
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

/* Send what is gathered: sendmmsg, resumed after each datagram it could
 * not send (an ECONNREFUSED is a refusal of an earlier datagram: counted,
 * and that one retried once; any other failure drops that datagram,
 * counted with its records). */
static void udp_flush(struct udp *u)
{
	struct transport *t = &u->base;
	struct mmsghdr mv[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	for (unsigned i = 0; i < u->nb; i++) {
		iov[i] = (struct iovec){ u->buf + u->off[i], u->len[i] };
		mv[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	unsigned k = 0;
	int refused_at = -1;
	while (k < u->nb) {
		int n = sendmmsg(u->fd, mv + k, u->nb - k, 0);
		if (n > 0) {
			for (int j = 0; j < n; j++) {
				t->st.msgs++;
				t->st.bytes += u->len[k + (unsigned)j];
				u->since_refused++;
			}
			k += (unsigned)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ECONNREFUSED && refused_at != (int)k) {
			t->st.refused++;
			refused_at = (int)k;
			u->refused_ms = mono_ms();
			u->since_refused = 0;
			continue;
		}
		snprintf(t->err, sizeof(t->err), "udp send: %s", n < 0 ? strerror(errno) : "nothing sent");
		t->st.errors++;
		t->st.dropped++;
		t->st.dropped_recs += u->recs[k];
		k++;
	}
	u->nb = 0;
	u->bused = 0;
}

static int udp_send(struct transport *t, const void *msg, size_t len, unsigned flags)
{
	struct udp *u = (struct udp *)t;
	if (!u->corked || !u->buf || len > UDP_BATCH_BYTES)
		return udp_send_now(t, msg, len);
	if (u->nb == UDP_BATCH || u->bused + len > UDP_BATCH_BYTES)
		udp_flush(u);
	u->off[u->nb] = u->bused;
	u->len[u->nb] = len;
	u->recs[u->nb] = TRANSPORT_RECS_OF(flags);
	memcpy(u->buf + u->bused, msg, len);
	u->bused += len;
	u->nb++;
	return ERR_OK;
}

static void udp_cork(struct transport *t, bool on)
{
	struct udp *u = (struct udp *)t;
	if (on && !u->buf)
		u->buf = malloc(UDP_BATCH_BYTES); /* without it, sends just go one by one */
	u->corked = on;
	if (!on && u->nb)
		udp_flush(u);
}

static void udp_poll(struct transport *t)
{
	struct udp *u = (struct udp *)t;
	if (u->nb)
		udp_flush(u);
}

static void udp_drain(struct transport *t, int ms)
{
	(void)ms;
	udp_poll(t);
}

static void udp_close(struct transport *t)
{
	struct udp *u = (struct udp *)t;
	if (u->nb)
		udp_flush(u);
	close(u->fd);
	free(u->buf);
	free(u);
}

static bool udp_avail(struct transport *t)
{
	const struct udp *u = (const struct udp *)t;
	return !u->refused_ms || (u->since_refused >= 2 && mono_ms() - u->refused_ms >= 2000);
}

const struct transport_ops transport_udp_ops = {
	.scheme = "udp", .open = udp_open, .send = udp_send, .close = udp_close, .avail = udp_avail,
	.poll = udp_poll, .drain = udp_drain, .cork = udp_cork,
};
