/* lsn_tcp.c — TCP listener (tcp:[ADDR:]PORT): IPFIX over TCP, RFC 7011
 * §10.4. The stream is a sequence of IPFIX messages, each framed by its
 * own header's length field; every connection is one transport session
 * (its templates end with it). NetFlow v9 has no message length, so it
 * cannot be framed on a stream: a connection that does not start with
 * IPFIX version 10 is closed and counted (closed_bad).
 *
 * Many exporters at once: every socket is non-blocking, all sit in one
 * epoll set whose fd is the listener's, and ready() reads at most
 * READ_BUDGET bytes per connection per call, so one fast peer cannot
 * starve the others. Per connection the buffer holds one message at most
 * (it grows to the declared length, never past 65535 bytes), so memory is
 * bounded by tcp_max_conns × 64 KiB. Half-open and slow peers: a
 * connection silent for tcp_idle_s, or whose message stays incomplete for
 * tcp_msg_s, is closed and counted (closed_idle, closed_slow); TCP
 * keepalive is on as well. Connections past tcp_max_conns are accepted
 * and closed at once (conns_refused). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collect/listener.h"
#include "lib/bytes.h"
#include "lib/log.h"

#define MAX_CONNS_DEFAULT 1024
#define IDLE_DEFAULT_S 600
#define MSG_DEFAULT_S 30
#define READ_BUDGET (256u << 10)
#define BUF_MIN 4096u
#define IPFIX_MAX 65535u
#define EPOLL_BATCH 64

struct tcp_conn {
	int fd;
	unsigned slot;
	struct lsn_peer peer;
	uint32_t session;
	uint8_t *buf;
	size_t len, cap;
	uint64_t last_rx_us;
	uint64_t msg_start_us; /* first byte of the incomplete message; 0 if none */
	struct tcp_conn *dead_next;
};

struct tcp_lsn {
	struct listener base;  /* base.fd: the epoll set */
	int lfd;               /* listening socket */
	struct tcp_conn **conns;
	unsigned nconns, max;
	unsigned idle_s, msg_s;
	struct tcp_conn *dead; /* closed during ready(): freed at its end (events may name them) */
	struct log_rl rl;
};

enum close_why { CLOSE_PEER, CLOSE_IDLE, CLOSE_SLOW, CLOSE_BAD, CLOSE_ERR, CLOSE_SHUTDOWN };

static void conn_close(struct tcp_lsn *t, struct tcp_conn *c, enum close_why why)
{
	struct listener_stats *st = &t->base.st;
	switch (why) {
	case CLOSE_PEER: st->closed_peer++; break;
	case CLOSE_IDLE: st->closed_idle++; break;
	case CLOSE_SLOW: st->closed_slow++; break;
	case CLOSE_BAD: st->closed_bad++; break;
	case CLOSE_ERR: st->errors++; break;
	case CLOSE_SHUTDOWN: break;
	}
	epoll_ctl(t->base.fd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	/* keep the array dense: the last connection takes this slot */
	t->nconns--;
	if (c->slot != t->nconns) {
		t->conns[c->slot] = t->conns[t->nconns];
		t->conns[c->slot]->slot = c->slot;
	}
	t->conns[t->nconns] = NULL;
	if (t->base.to.session_end)
		t->base.to.session_end(t->base.to.arg, &c->peer, c->session);
	free(c->buf);
	c->buf = NULL;
	c->fd = -1;
	c->dead_next = t->dead;
	t->dead = c;
}

static void free_dead(struct tcp_lsn *t)
{
	while (t->dead) {
		struct tcp_conn *c = t->dead;
		t->dead = c->dead_next;
		free(c);
	}
}

static void accept_all(struct tcp_lsn *t, uint64_t now)
{
	for (int k = 0; k < EPOLL_BATCH; k++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(t->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
				t->base.st.errors++;
			return;
		}
		if (t->nconns >= t->max) {
			t->base.st.conns_refused++;
			close(fd);
			continue;
		}
		struct tcp_conn *c = calloc(1, sizeof(*c));
		if (!c || !(c->buf = malloc(BUF_MIN))) {
			free(c);
			close(fd);
			t->base.st.errors++;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		c->fd = fd;
		c->cap = BUF_MIN;
		c->session = lsn_new_session();
		c->last_rx_us = now;
		lsn_peer_from(&c->peer, &ss);
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };
		if (epoll_ctl(t->base.fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			free(c->buf);
			free(c);
			close(fd);
			t->base.st.errors++;
			continue;
		}
		c->slot = t->nconns;
		t->conns[t->nconns++] = c;
		t->base.st.conns++;
	}
}

/* Deliver every complete message in the buffer; false if the stream is
 * not IPFIX (the caller closes). */
static bool frame(struct tcp_lsn *t, struct tcp_conn *c, uint64_t now)
{
	size_t off = 0;
	bool any = false;
	while (c->len - off >= 4) {
		uint16_t ver = peek_u16(c->buf + off), mlen = peek_u16(c->buf + off + 2);
		if (ver != 10 || mlen < 16) {
			char a[64];
			if (log_ratelimit(&t->rl))
				log_warn("tcp exporter %s: %s; closing the connection", lsn_peer_str(&c->peer, a, sizeof(a)),
				         ver != 10 ? "not IPFIX (only IPFIX messages carry a length to frame a TCP stream)"
				                   : "IPFIX message length below 16");
			return false;
		}
		if (mlen > c->cap) {
			uint8_t *nb = realloc(c->buf, IPFIX_MAX);
			if (!nb)
				return false;
			c->buf = nb;
			c->cap = IPFIX_MAX;
		}
		if (c->len - off < mlen)
			break;
		struct lsn_msg m = { .peer = c->peer, .session = c->session, .transport = LSN_T_TCP,
		                     .p = c->buf + off, .len = mlen, .recv_us = now };
		t->base.st.msgs++;
		t->base.st.bytes += mlen;
		t->base.to.msg(t->base.to.arg, &m);
		off += mlen;
		any = true;
	}
	if (off) {
		memmove(c->buf, c->buf + off, c->len - off);
		c->len -= off;
	}
	if (c->len == 0)
		c->msg_start_us = 0;
	else if (any || !c->msg_start_us)
		c->msg_start_us = now;
	return true;
}

static void conn_read(struct tcp_lsn *t, struct tcp_conn *c)
{
	size_t got = 0;
	while (got < READ_BUDGET) {
		ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			conn_close(t, c, errno == ECONNRESET ? CLOSE_PEER : CLOSE_ERR);
			return;
		}
		if (n == 0) {
			conn_close(t, c, CLOSE_PEER);
			return;
		}
		uint64_t now = lsn_now_us();
		c->len += (size_t)n;
		c->last_rx_us = now;
		got += (size_t)n;
		if (!frame(t, c, now)) {
			conn_close(t, c, CLOSE_BAD);
			return;
		}
	}
}

static int tcp_ready(struct listener *l, uint64_t now_us)
{
	struct tcp_lsn *t = (struct tcp_lsn *)l;
	struct epoll_event ev[EPOLL_BATCH];
	uint64_t before = l->st.msgs;
	int n = epoll_wait(l->fd, ev, EPOLL_BATCH, 0);
	for (int i = 0; i < n; i++) {
		if (ev[i].data.ptr == t) {
			accept_all(t, now_us);
			continue;
		}
		struct tcp_conn *c = ev[i].data.ptr;
		if (c->fd >= 0) /* not closed earlier in this batch */
			conn_read(t, c);
	}
	free_dead(t);
	return (int)(l->st.msgs - before);
}

static void tcp_tick(struct listener *l, uint64_t now_us)
{
	struct tcp_lsn *t = (struct tcp_lsn *)l;
	uint64_t idle = (uint64_t)t->idle_s * 1000000u, slow = (uint64_t)t->msg_s * 1000000u;
	for (unsigned i = 0; i < t->nconns;) {
		struct tcp_conn *c = t->conns[i];
		if (now_us > c->last_rx_us && now_us - c->last_rx_us >= idle) {
			conn_close(t, c, CLOSE_IDLE);
			continue; /* slot i now holds another connection */
		}
		if (c->msg_start_us && now_us > c->msg_start_us && now_us - c->msg_start_us >= slow) {
			conn_close(t, c, CLOSE_SLOW);
			continue;
		}
		i++;
	}
	free_dead(t);
}

static void tcp_show(const struct listener *l, FILE *out)
{
	const struct tcp_lsn *t = (const struct tcp_lsn *)l;
	const struct listener_stats *s = &l->st;
	fprintf(out, ", connections open %u (limit %u), accepted %llu, refused %llu; closed by peer %llu, "
	             "idle %llu, slow %llu, not IPFIX %llu; errors %llu",
	        t->nconns, t->max, (unsigned long long)s->conns, (unsigned long long)s->conns_refused,
	        (unsigned long long)s->closed_peer, (unsigned long long)s->closed_idle,
	        (unsigned long long)s->closed_slow, (unsigned long long)s->closed_bad,
	        (unsigned long long)s->errors);
}

static void tcp_close(struct listener *l)
{
	struct tcp_lsn *t = (struct tcp_lsn *)l;
	while (t->nconns)
		conn_close(t, t->conns[t->nconns - 1], CLOSE_SHUTDOWN);
	free_dead(t);
	if (t->lfd >= 0)
		close(t->lfd);
	if (l->fd >= 0)
		close(l->fd);
	free(t->conns);
	free(t);
}

static struct listener *tcp_open(const char *rest, const struct listener_cfg *cfg, const struct lsn_sink *to,
                                 char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	unsigned sslen;
	int dual, one = 1, zero = 0;
	if (lsn_parse_addr(rest, &ss, &sslen, &dual, err, errlen) != 0)
		return NULL;
	struct tcp_lsn *t = calloc(1, sizeof(*t));
	unsigned max = cfg->tcp_max_conns ? cfg->tcp_max_conns : MAX_CONNS_DEFAULT;
	if (!t || !(t->conns = calloc(max, sizeof(*t->conns)))) {
		free(t);
		snprintf(err, errlen, "tcp:%s: out of memory", rest);
		return NULL;
	}
	struct listener *l = &t->base;
	l->ops = &listener_tcp_ops;
	l->to = *to;
	t->max = max;
	t->idle_s = cfg->tcp_idle_s ? cfg->tcp_idle_s : IDLE_DEFAULT_S;
	t->msg_s = cfg->tcp_msg_s ? cfg->tcp_msg_s : MSG_DEFAULT_S;
	l->fd = epoll_create1(EPOLL_CLOEXEC);
	t->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l->fd < 0 || t->lfd < 0) {
		snprintf(err, errlen, "tcp:%s: %s", rest, strerror(errno));
		goto fail;
	}
	if (dual)
		setsockopt(t->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	setsockopt(t->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(t->lfd, (struct sockaddr *)&ss, sslen) != 0 || listen(t->lfd, 128) != 0) {
		snprintf(err, errlen, "tcp:%s: bind/listen: %s", rest, strerror(errno));
		goto fail;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = t };
	if (epoll_ctl(l->fd, EPOLL_CTL_ADD, t->lfd, &ev) != 0) {
		snprintf(err, errlen, "tcp:%s: epoll: %s", rest, strerror(errno));
		goto fail;
	}
	struct sockaddr_storage bound;
	socklen_t bl = sizeof(bound);
	getsockname(t->lfd, (struct sockaddr *)&bound, &bl);
	struct lsn_peer bp;
	lsn_peer_from(&bp, &bound);
	l->port = bp.port;
	char host[64];
	const char *colon = strrchr(rest, ':');
	if (colon && (size_t)(colon - rest) < sizeof(host)) {
		memcpy(host, rest, (size_t)(colon - rest));
		host[colon - rest] = 0;
		snprintf(l->name, sizeof(l->name), "tcp:%s:%u", host, l->port);
	} else {
		snprintf(l->name, sizeof(l->name), "tcp:%u", l->port);
	}
	return l;
fail:
	tcp_close(l);
	return NULL;
}

const struct listener_ops listener_tcp_ops = {
	.scheme = "tcp", .open = tcp_open, .ready = tcp_ready, .tick = tcp_tick,
	.show = tcp_show, .close = tcp_close,
};
