/* tcp.c — export over TCP (tcp:HOST:PORT), RFC 7011 §10.4.
 *
 * Messages go through a bounded queue (bytes and count) on a non-blocking
 * socket: send() queues and writes what the socket takes; poll() connects,
 * reconnects with exponential backoff (100 ms doubling to 30 s) and drains.
 * A full queue refuses the message (counted in queue_drops and errors, so
 * the exporter counts its flows as failed) unless block_ms lets a file
 * replay wait for room.
 *
 * When a connection breaks, the message being written is sent again whole
 * on the next connection (its prefix died with the old session), and the
 * bytes the kernel still held are counted in lost_bytes: TCP cannot say
 * which of them the collector read. A new connection is a new session:
 * queued data waits until the exporter's templates for that session have
 * gone first (hold_for_ctrl, TRANSPORT_F_FRONT; see transport.h).
 *
 * Backoff and the connect timeout run on the monotonic wall clock: they
 * are about the network, not about packet time. */
#include "transport/transport.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <time.h>
#include <unistd.h>

#include "lib/addr.h"
#include "lib/err.h"
#include "lib/log.h"

#define TCP_QUEUE_DEFAULT (16u << 20)
#define TCP_QUEUE_SLOTS 8192u
#define TCP_BACKOFF_MIN_MS 100u
#define TCP_BACKOFF_MAX_MS 30000u
#define TCP_CONNECT_TIMEOUT_MS 5000u

struct qmsg {
	uint8_t *p;
	size_t len;
	uint32_t session; /* the session it was meant for */
	unsigned flags;
};

enum tcp_state { TCP_DOWN, TCP_CONNECTING, TCP_UP };

struct tcp {
	struct transport base;
	char host[128];
	char port[16];
	char *source;
	int sndbuf;
	int fd;
	enum tcp_state state;
	uint64_t next_try_ms;
	uint64_t connect_start_ms;
	unsigned backoff_ms;
	/* ring of queued messages; head is next to write, head_off bytes of it written */
	struct qmsg q[TCP_QUEUE_SLOTS];
	unsigned head, count;
	size_t head_off;
	size_t qbytes, qmax;
	int block_ms;
	bool held;        /* queue held until a control message for this session */
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void set_err(struct tcp *c, const char *what, int e)
{
	snprintf(c->base.err, sizeof(c->base.err), "tcp %.128s:%s: %.32s: %.64s", c->host, c->port, what, strerror(e));
}

static void q_pop(struct tcp *c)
{
	struct qmsg *m = &c->q[c->head];
	c->qbytes -= m->len;
	free(m->p);
	m->p = NULL;
	c->head = (c->head + 1) % TCP_QUEUE_SLOTS;
	c->count--;
	c->head_off = 0;
	c->base.st.queued = c->qbytes;
}

static bool q_room(const struct tcp *c, size_t len)
{
	return c->count < TCP_QUEUE_SLOTS && c->qbytes + len <= c->qmax;
}

static int q_push(struct tcp *c, const void *msg, size_t len, unsigned flags)
{
	uint8_t *p = malloc(len);
	if (!p)
		return ERR_NOMEM;
	memcpy(p, msg, len);
	struct qmsg m = { p, len, transport_session(&c->base), flags };
	if ((flags & TRANSPORT_F_FRONT) && c->head_off == 0) {
		c->head = (c->head + TCP_QUEUE_SLOTS - 1) % TCP_QUEUE_SLOTS;
		c->q[c->head] = m;
	} else {
		c->q[(c->head + c->count) % TCP_QUEUE_SLOTS] = m;
	}
	c->count++;
	c->qbytes += len;
	c->base.st.queued = c->qbytes;
	return ERR_OK;
}

static void disconnect(struct tcp *c, const char *why, int e)
{
	if (c->fd >= 0) {
		int outq = 0;
		if (c->state == TCP_UP && ioctl(c->fd, SIOCOUTQ, &outq) == 0 && outq > 0)
			c->base.st.lost_bytes += (uint64_t)outq;
		close(c->fd);
	}
	if (c->state == TCP_UP)
		c->base.st.disconnects++;
	if (c->head_off) { /* a message cut in the middle: whole again next time */
		c->head_off = 0;
		c->base.st.resent++;
	}
	if (why)
		set_err(c, why, e);
	c->fd = -1;
	c->state = TCP_DOWN;
	c->base.up = false;
	c->next_try_ms = mono_ms() + c->backoff_ms;
	c->backoff_ms = c->backoff_ms * 2 > TCP_BACKOFF_MAX_MS ? TCP_BACKOFF_MAX_MS : c->backoff_ms * 2;
}

static void start_connect(struct tcp *c)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	                          .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(c->host, c->port, &hints, &res);
	if (gai != 0) {
		snprintf(c->base.err, sizeof(c->base.err), "tcp %.128s:%s: %.96s", c->host, c->port, gai_strerror(gai));
		disconnect(c, NULL, 0);
		return;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		freeaddrinfo(res);
		disconnect(c, "socket", errno);
		return;
	}
	if (c->sndbuf > 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &c->sndbuf, sizeof(c->sndbuf));
	if (c->source && addr_bind_source(fd, res->ai_family, c->source, c->base.err, sizeof(c->base.err)) != 0) {
		close(fd);
		freeaddrinfo(res);
		disconnect(c, NULL, 0);
		return;
	}
	c->fd = fd;
	int r = connect(fd, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if (r != 0 && errno != EINPROGRESS) {
		disconnect(c, "connect", errno);
		return;
	}
	c->state = TCP_CONNECTING;
	c->connect_start_ms = mono_ms();
}

static void connected(struct tcp *c)
{
	c->state = TCP_UP;
	c->base.up = true;
	c->base.session++;
	c->base.st.connects++;
	c->backoff_ms = TCP_BACKOFF_MIN_MS;
	c->base.err[0] = 0;
	/* Data queued for an earlier session waits for this session's
	 * templates, unless a control message for it is already first. */
	c->held = c->base.hold_for_ctrl && c->count &&
	          !((c->q[c->head].flags & TRANSPORT_F_CTRL) && c->q[c->head].session == c->base.session);
}

/* Write queued messages until the socket is full or the queue empty. */
static void drain_some(struct tcp *c)
{
	while (c->state == TCP_UP && c->count) {
		struct qmsg *m = &c->q[c->head];
		if (c->held) {
			if (!((m->flags & TRANSPORT_F_CTRL) && m->session == c->base.session))
				return;
			c->held = false;
		}
		ssize_t n = send(c->fd, m->p + c->head_off, m->len - c->head_off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			disconnect(c, "send", errno);
			return;
		}
		c->head_off += (size_t)n;
		if (c->head_off == m->len) {
			c->base.st.msgs++;
			c->base.st.bytes += m->len;
			q_pop(c);
		}
	}
}

static void tcp_poll(struct transport *t)
{
	struct tcp *c = (struct tcp *)t;
	uint64_t now = mono_ms();
	if (c->state == TCP_DOWN && now >= c->next_try_ms)
		start_connect(c);
	if (c->state == TCP_CONNECTING) {
		struct pollfd p = { .fd = c->fd, .events = POLLOUT };
		if (poll(&p, 1, 0) > 0) {
			int e = 0;
			socklen_t el = sizeof(e);
			if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0)
				e = errno;
			if (e)
				disconnect(c, "connect", e);
			else
				connected(c);
		} else if (now - c->connect_start_ms > TCP_CONNECT_TIMEOUT_MS) {
			disconnect(c, "connect", ETIMEDOUT);
		}
	}
	if (c->state == TCP_UP) {
		/* notice a peer that closed even when we have nothing to send */
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		if (poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
			char b[256];
			ssize_t n = recv(c->fd, b, sizeof(b), MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				disconnect(c, "peer closed", n == 0 ? ECONNRESET : errno);
		}
		drain_some(c);
	}
}

/* Wait up to ms (monotonic) for the socket to take more, making progress. */
static void wait_progress(struct tcp *c, int ms)
{
	if (c->state != TCP_DOWN && c->fd >= 0) {
		struct pollfd p = { .fd = c->fd, .events = POLLOUT };
		poll(&p, 1, ms);
	} else {
		struct timespec ts = { 0, (long)(ms > 50 ? 50 : ms) * 1000000L };
		nanosleep(&ts, NULL);
	}
	tcp_poll(&c->base);
}

static int tcp_send(struct transport *t, const void *msg, size_t len, unsigned flags)
{
	struct tcp *c = (struct tcp *)t;
	tcp_poll(t);
	if (!q_room(c, len) && c->block_ms > 0) {
		uint64_t until = mono_ms() + (uint64_t)c->block_ms;
		while (!q_room(c, len) && mono_ms() < until)
			wait_progress(c, 50);
	}
	if (!q_room(c, len)) {
		t->st.queue_drops++;
		t->st.errors++;
		snprintf(t->err, sizeof(t->err), "tcp %.128s:%s: queue full (%zu bytes), message dropped",
		         c->host, c->port, c->qbytes);
		return ERR_FULL;
	}
	int rc = q_push(c, msg, len, flags);
	if (rc != ERR_OK) {
		t->st.errors++;
		return rc;
	}
	drain_some(c);
	return ERR_OK;
}

static void tcp_drain(struct transport *t, int ms)
{
	struct tcp *c = (struct tcp *)t;
	uint64_t until = mono_ms() + (uint64_t)ms;
	tcp_poll(t);
	while (c->count && mono_ms() < until)
		wait_progress(c, 50);
}

/* What is still queued is lost: counted (data messages and their flow
 * records; templates would go again to a new session anyway). */
static void tcp_discard(struct transport *t)
{
	struct tcp *c = (struct tcp *)t;
	uint64_t n = 0, recs = 0;
	while (c->count) {
		const struct qmsg *m = &c->q[c->head];
		if (!(m->flags & TRANSPORT_F_CTRL)) {
			n++;
			recs += TRANSPORT_RECS_OF(m->flags);
		}
		q_pop(c);
	}
	c->base.st.dropped += n;
	c->base.st.dropped_recs += recs;
	if (n)
		log_warn("tcp %s:%s: %llu messages (%llu flows) never sent, dropped at close", c->host, c->port,
		         (unsigned long long)n, (unsigned long long)recs);
}

static void tcp_close(struct transport *t)
{
	struct tcp *c = (struct tcp *)t;
	tcp_discard(t);
	if (c->fd >= 0)
		close(c->fd);
	free(c->source);
	transport_final(t);
	free(c);
}

static struct transport *tcp_open(const char *rest, const struct transport_opts *o, char *err, size_t errlen)
{
	char host[128];
	const char *port;
	if (addr_split_hostport(rest, host, sizeof(host), &port) != 0 || strlen(port) >= 16) {
		snprintf(err, errlen, "`tcp:%s': expected tcp:HOST:PORT or tcp:[V6]:PORT", rest);
		return NULL;
	}
	struct tcp *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->base.ops = &transport_tcp_ops;
	c->base.reliable = true;
	c->base.overhead = 0; /* a stream: the MTU only sizes messages */
	snprintf(c->host, sizeof(c->host), "%s", host);
	snprintf(c->port, sizeof(c->port), "%s", port);
	c->source = o->source ? strdup(o->source) : NULL;
	c->sndbuf = o->sndbuf > 0 ? o->sndbuf : (4 << 20);
	c->qmax = o->queue_max ? o->queue_max : TCP_QUEUE_DEFAULT;
	c->block_ms = o->block_ms;
	c->fd = -1;
	c->backoff_ms = TCP_BACKOFF_MIN_MS;
	/* Resolve now, so a bad name is a start-up error, not a silent retry. */
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0) {
		snprintf(err, errlen, "`tcp:%s': %s", rest, gai_strerror(gai));
		free(c->source);
		free(c);
		return NULL;
	}
	freeaddrinfo(res);
	start_connect(c);
	return &c->base;
}

const struct transport_ops transport_tcp_ops = {
	.scheme = "tcp", .open = tcp_open, .send = tcp_send, .close = tcp_close, .poll = tcp_poll, .drain = tcp_drain,
	.discard = tcp_discard,
};
