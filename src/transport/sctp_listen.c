/* sctp_listen.c — SCTP over UDP for collectors (see sctp_listen.h). */
#include "transport/sctp_listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <usrsctp.h>

#include "lib/addr.h"
#include "lib/err.h"
#include "lib/log.h"
#include "transport/sctp.h"
#include "transport/sctpio.h"

#define RX_STREAMS_MAX 64u
#define PEER_BUCKETS 256u
#define MSG_MAX 65535u

struct rxpeer {
	struct sockaddr_storage addr;
	socklen_t len;
	struct sctpio_link *link;
	struct rxpeer *next;   /* hash chain */
	struct rxpeer *all;    /* every peer */
};

struct rxassoc {
	struct socket *so;
	uint32_t session;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	uint16_t remote_port;
	uint16_t next_ssn[RX_STREAMS_MAX];
	uint8_t have_ssn[RX_STREAMS_MAX];
	uint64_t msgs, bytes, gaps;
	uint64_t up_ms;
	size_t plen;           /* bytes of a message gathered so far (no MSG_EOR yet) */
	bool discard;          /* skipping the rest of a too-long message */
};

struct sctprx {
	struct sctprx_opts o;
	struct sctprx_cb cb;
	int fd;                  /* the UDP socket */
	uint16_t port;
	struct socket *ls;       /* the SCTP listening socket */
	pthread_mutex_t mu;      /* peers (receive thread adds them) */
	struct rxpeer *bucket[PEER_BUCKETS];
	struct rxpeer *peers;
	unsigned npeers;
	struct rxassoc **as;
	unsigned nas;
	uint32_t next_session;
	bool paused;
	bool in_poll;
	struct sctprx_stats st;
	struct sctpio_client client;
	struct sctp_show_src show;
	uint8_t buf[MSG_MAX + 1];
};

static unsigned addr_hash(const struct sockaddr *sa)
{
	uint32_t h = 2166136261u;
	const uint8_t *p;
	size_t n;
	uint16_t port;
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		p = s6->sin6_addr.s6_addr;
		n = 16;
		port = s6->sin6_port;
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		p = (const uint8_t *)&s4->sin_addr;
		n = 4;
		port = s4->sin_port;
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	h = (h ^ port) * 16777619u;
	return h % PEER_BUCKETS;
}

static bool addr_eq(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a, *y = (const struct sockaddr_in6 *)b;
		return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
	}
	const struct sockaddr_in *x = (const struct sockaddr_in *)a, *y = (const struct sockaddr_in *)b;
	return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
}

static void addr_text(const struct sockaddr *sa, char *buf, size_t len, bool with_port)
{
	char h[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], h, sizeof(h));
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, h, sizeof(h));
		port = ntohs(s6->sin6_port);
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, h, sizeof(h));
		port = ntohs(s4->sin_port);
	}
	if (with_port)
		snprintf(buf, len, "%s:%u", h, port);
	else
		snprintf(buf, len, "%s", h);
}

/* Receive thread: find or make the peer's link and feed the stack. */
static void rx_input(void *arg, const void *data, size_t len, const struct sockaddr *from, socklen_t fromlen)
{
	struct sctprx *l = arg;
	unsigned h = addr_hash(from);
	struct sctpio_link *link = NULL;
	pthread_mutex_lock(&l->mu);
	for (struct rxpeer *p = l->bucket[h]; p; p = p->next)
		if (addr_eq((const struct sockaddr *)&p->addr, from)) {
			link = p->link;
			break;
		}
	if (!link) {
		if (l->npeers >= l->o.max_peers) {
			l->st.peers_refused++;
		} else {
			struct rxpeer *p = calloc(1, sizeof(*p));
			if (p) {
				memcpy(&p->addr, from, fromlen < sizeof(p->addr) ? fromlen : sizeof(p->addr));
				p->len = fromlen;
				p->link = sctpio_link_shared(l->fd, from, fromlen);
				if (p->link) {
					p->next = l->bucket[h];
					l->bucket[h] = p;
					p->all = l->peers;
					l->peers = p;
					l->npeers++;
					l->st.peers++;
					link = p->link;
				} else {
					free(p);
				}
			}
		}
	}
	pthread_mutex_unlock(&l->mu);
	if (link)
		sctpio_input(link, data, len);
}

static const struct rxpeer *peer_of_link(struct sctprx *l, const void *link)
{
	const struct rxpeer *r = NULL;
	pthread_mutex_lock(&l->mu);
	for (const struct rxpeer *p = l->peers; p; p = p->all)
		if (p->link == link) {
			r = p;
			break;
		}
	pthread_mutex_unlock(&l->mu);
	return r;
}

static void assoc_free(struct sctprx *l, unsigned i, bool event)
{
	struct rxassoc *a = l->as[i];
	if (event && l->cb.event)
		l->cb.event(l->cb.arg, SCTPRX_DOWN, a->session, 0, (struct sockaddr *)&a->peer, a->peerlen);
	usrsctp_set_upcall(a->so, NULL, NULL);
	usrsctp_close(a->so);
	free(a);
	l->as[i] = l->as[--l->nas];
	l->st.assocs_now = l->nas;
}

static void upcall(struct socket *so, void *arg, int flags)
{
	(void)so;
	(void)arg;
	(void)flags;
	sctpio_wake();
}

static void accept_all(struct sctprx *l)
{
	for (;;) {
		struct sockaddr_conn from;
		socklen_t fl = sizeof(from);
		memset(&from, 0, sizeof(from));
		struct socket *so = usrsctp_accept(l->ls, (struct sockaddr *)&from, &fl);
		if (!so)
			return;
		if (l->nas >= l->o.max_assocs) {
			struct linger lg = { 1, 0 }; /* abort, not shutdown */
			usrsctp_setsockopt(so, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			usrsctp_close(so);
			l->st.assocs_refused++;
			continue;
		}
		struct rxassoc *a = calloc(1, sizeof(*a));
		if (!a) {
			usrsctp_close(so);
			l->st.assocs_refused++;
			continue;
		}
		a->so = so;
		a->session = l->o.new_session ? l->o.new_session() : ++l->next_session;
		a->remote_port = ntohs(from.sconn_port);
		a->up_ms = sctpio_now_ms();
		const struct rxpeer *p = peer_of_link(l, from.sconn_addr);
		if (p) {
			memcpy(&a->peer, &p->addr, sizeof(a->peer));
			a->peerlen = p->len;
		}
		usrsctp_set_non_blocking(so, 1);
		usrsctp_set_upcall(so, upcall, NULL);
		l->as[l->nas++] = a;
		l->st.assocs_total++;
		l->st.assocs_now = l->nas;
		if (l->cb.event)
			l->cb.event(l->cb.arg, SCTPRX_UP, a->session, 0, (struct sockaddr *)&a->peer, a->peerlen);
	}
}

/* One message (or notification) from a; false when the association is
 * gone (freed) or nothing is waiting. */
static int read_one(struct sctprx *l, unsigned i)
{
	struct rxassoc *a = l->as[i];
	struct sctp_rcvinfo rcv;
	socklen_t il = sizeof(rcv);
	unsigned int it = 0;
	int fl = 0;
	memset(&rcv, 0, sizeof(rcv));
	size_t room = sizeof(l->buf) - a->plen;
	ssize_t n = usrsctp_recvv(a->so, l->buf + a->plen, room, NULL, NULL, &rcv, &il, &it, &fl);
	if (n < 0) {
		if (errno == EWOULDBLOCK || errno == EAGAIN)
			return 0;
		assoc_free(l, i, true);
		return -1;
	}
	if (n == 0 && !(fl & MSG_NOTIFICATION)) { /* the exporter shut down */
		assoc_free(l, i, true);
		return -1;
	}
	if (fl & MSG_NOTIFICATION) {
		struct sctpio_note nt;
		a->plen = 0;
		if (!(fl & MSG_EOR) || sctpio_note_decode(l->buf, (size_t)n, &nt) != ERR_OK)
			return 1;
		if (nt.type == SCTP_ASSOC_CHANGE) {
			if (nt.state == SCTP_COMM_LOST || nt.state == SCTP_SHUTDOWN_COMP) {
				assoc_free(l, i, true);
				return -1;
			}
			if (nt.state == SCTP_RESTART) { /* a new transport session on the same socket */
				uint32_t old = a->session;
				a->session = l->o.new_session ? l->o.new_session() : ++l->next_session;
				memset(a->have_ssn, 0, sizeof(a->have_ssn));
				l->st.restarts++;
				if (l->cb.event)
					l->cb.event(l->cb.arg, SCTPRX_RESTART, a->session, old, (struct sockaddr *)&a->peer,
					            a->peerlen);
			}
		} else if (nt.type == SCTP_PARTIAL_DELIVERY_EVENT) {
			l->st.partial_aborted++;
			a->plen = 0;
			a->discard = false;
		}
		return 1;
	}
	if (a->discard) {
		if (fl & MSG_EOR)
			a->discard = false;
		return 1;
	}
	a->plen += (size_t)n;
	if (!(fl & MSG_EOR)) {
		if (a->plen >= sizeof(l->buf) - 1) { /* longer than any export message */
			l->st.too_long++;
			a->plen = 0;
			a->discard = true;
		}
		return 1;
	}
	struct sctprx_msg m = { .peer = (struct sockaddr *)&a->peer, .peerlen = a->peerlen, .session = a->session,
	                        .sid = rcv.rcv_sid, .ssn = rcv.rcv_ssn, .ppid = ntohl(rcv.rcv_ppid),
	                        .tsn = rcv.rcv_tsn, .unordered = (rcv.rcv_flags & SCTP_UNORDERED) != 0,
	                        .data = l->buf, .len = a->plen };
	a->plen = 0;
	if (!m.unordered && m.sid < RX_STREAMS_MAX) {
		if (a->have_ssn[m.sid])
			m.gap = (uint16_t)(m.ssn - a->next_ssn[m.sid]);
		a->next_ssn[m.sid] = (uint16_t)(m.ssn + 1);
		a->have_ssn[m.sid] = 1;
	}
	a->msgs++;
	a->bytes += m.len;
	a->gaps += m.gap;
	l->st.msgs++;
	l->st.bytes += m.len;
	l->st.gaps += m.gap;
	if (l->cb.msg)
		l->cb.msg(l->cb.arg, &m);
	return 1;
}

void sctprx_poll(struct sctprx *l)
{
	if (!l || l->in_poll)
		return;
	l->in_poll = true;
	accept_all(l);
	if (!l->paused) {
		for (unsigned i = 0; i < l->nas;) {
			int r = 1;
			for (int k = 0; k < 1024 && r > 0; k++)
				r = read_one(l, i);
			if (r > 0)
				sctpio_wake(); /* stopped at the pass's share, not at the end: come back */
			if (r >= 0)
				i++; /* else as[i] was replaced by the last one: look at it again */
		}
	}
	l->in_poll = false;
}

static void on_service(void *arg)
{
	sctprx_poll(arg);
}

void sctprx_pause(struct sctprx *l, bool paused)
{
	l->paused = paused;
	if (!paused)
		sctpio_wake();
}

uint16_t sctprx_port(const struct sctprx *l)
{
	return l->port;
}

const struct sctprx_stats *sctprx_stats(const struct sctprx *l)
{
	return &l->st;
}

static void show_rows(void *arg, FILE *out, bool json, unsigned *n)
{
	struct sctprx *l = arg;
	for (unsigned i = 0; i < l->nas; i++) {
		const struct rxassoc *a = l->as[i];
		char peer[80];
		addr_text((const struct sockaddr *)&a->peer, peer, sizeof(peer), true);
		struct sctp_status st;
		socklen_t sl = sizeof(st);
		memset(&st, 0, sizeof(st));
		(void)usrsctp_getsockopt(a->so, IPPROTO_SCTP, SCTP_STATUS, &st, &sl);
		if (json) {
			fprintf(out, "%s{\"assocId\":%u,\"role\":\"collector\",\"state\":\"ESTABLISHED\",\"localPort\":%u,"
			             "\"remotePort\":%u,\"remoteAddr\":\"%s\",\"inStreams\":%u,\"outStreams\":%u,"
			             "\"messages\":%llu,\"bytes\":%llu,\"gaps\":%llu}",
			        *n ? "," : "", a->session, l->port, a->remote_port, peer, st.sstat_instrms, st.sstat_outstrms,
			        (unsigned long long)a->msgs, (unsigned long long)a->bytes, (unsigned long long)a->gaps);
		} else {
			fprintf(out, "AssocID: %u, Instance ID: collector port %u\n", a->session, l->port);
			fputs(" Current state: ESTABLISHED\n", out);
			fprintf(out, " Local port: %u, Addrs: (UDP port %u)\n", l->port, l->port);
			fprintf(out, " Remote port: %u, Addrs: %s (UDP)\n", a->remote_port, peer);
			fprintf(out, " Streams: %u in, %u out; %llu messages received, %llu bytes, %llu abandoned by the exporter\n",
			        st.sstat_instrms, st.sstat_outstrms, (unsigned long long)a->msgs,
			        (unsigned long long)a->bytes, (unsigned long long)a->gaps);
		}
		(*n)++;
	}
}

static int bind_udp(const char *spec, int *fdp, uint16_t *portp, char *err, size_t errlen)
{
	char host[128] = "";
	const char *port = spec;
	if (strchr(spec, ':') && addr_split_hostport(spec, host, sizeof(host), &port) != 0) {
		snprintf(err, errlen, "`sctp:%s': expected [ADDR:]PORT", spec);
		return -1;
	}
	char *end;
	errno = 0;
	unsigned long pv = strtoul(port, &end, 10);
	if (errno || end == port || *end || pv > 65535) {
		snprintf(err, errlen, "`sctp:%s': bad port", spec);
		return -1;
	}
	struct addrinfo hints = { .ai_family = host[0] ? AF_UNSPEC : AF_INET6, .ai_socktype = SOCK_DGRAM,
	                          .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (gai != 0) {
		snprintf(err, errlen, "`sctp:%s': %s", spec, gai_strerror(gai));
		return -1;
	}
	int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && res->ai_family == AF_INET6 && !host[0]) {
		int off = 0;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	}
	if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
		snprintf(err, errlen, "`sctp:%s': udp bind: %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	int b = 8 << 20;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &b, sizeof(b));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &b, sizeof(b));
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*portp = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                        : ((struct sockaddr_in *)&ss)->sin_port);
	*fdp = fd;
	return 0;
}

struct sctprx *sctprx_open(const char *spec, const struct sctprx_opts *o, const struct sctprx_cb *cb,
                           char *err, size_t errlen)
{
	struct sctprx *l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->o = o ? *o : (struct sctprx_opts){ 0 };
	if (!l->o.rcvbuf)
		l->o.rcvbuf = 4 << 20;
	if (!l->o.max_assocs)
		l->o.max_assocs = 256;
	if (!l->o.max_peers)
		l->o.max_peers = 1024;
	if (!l->o.in_streams || l->o.in_streams > RX_STREAMS_MAX)
		l->o.in_streams = 17;
	if (!l->o.sack_delay_ms)
		l->o.sack_delay_ms = 20;
	if (!l->o.sack_freq)
		l->o.sack_freq = 2;
	if (cb)
		l->cb = *cb;
	l->fd = -1;
	pthread_mutex_init(&l->mu, NULL);
	l->as = calloc(l->o.max_assocs, sizeof(*l->as));
	if (!l->as) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (bind_udp(spec, &l->fd, &l->port, err, errlen) != 0)
		goto fail;
	if (sctpio_ref(err, errlen) != 0)
		goto fail;
	l->ls = sctpio_socket(0, l->o.rcvbuf, err, errlen);
	if (!l->ls) {
		sctpio_unref();
		goto fail;
	}
	struct sctp_initmsg im = { .sinit_num_ostreams = 1, .sinit_max_instreams = (uint16_t)l->o.in_streams };
	struct sctp_sack_info si = { .sack_assoc_id = SCTP_FUTURE_ASSOC, .sack_delay = l->o.sack_delay_ms, .sack_freq = l->o.sack_freq };
	struct sctp_assoc_value pr = { .assoc_id = SCTP_FUTURE_ASSOC, .assoc_value = 1 };
	struct sockaddr_conn sc = { .sconn_family = AF_CONN, .sconn_port = htons(l->port), .sconn_addr = NULL };
	(void)usrsctp_setsockopt(l->ls, IPPROTO_SCTP, SCTP_PR_SUPPORTED, &pr, sizeof(pr));
	(void)usrsctp_setsockopt(l->ls, IPPROTO_SCTP, SCTP_DELAYED_SACK, &si, sizeof(si));
	if (usrsctp_setsockopt(l->ls, IPPROTO_SCTP, SCTP_INITMSG, &im, sizeof(im)) != 0 ||
	    usrsctp_bind(l->ls, (struct sockaddr *)&sc, sizeof(sc)) != 0 || usrsctp_listen(l->ls, 64) != 0) {
		snprintf(err, errlen, "`sctp:%s': sctp listen on port %u: %s", spec, l->port, strerror(errno));
		usrsctp_close(l->ls);
		sctpio_unref();
		goto fail;
	}
	if (sctpio_rx_add(l->fd, rx_input, l) != 0) {
		snprintf(err, errlen, "out of memory");
		usrsctp_close(l->ls);
		sctpio_unref();
		goto fail;
	}
	l->client.fn = on_service;
	l->client.arg = l;
	sctpio_client_add(&l->client);
	l->show.rows = show_rows;
	l->show.arg = l;
	sctp_show_register(&l->show);
	return l;
fail:
	if (l->fd >= 0)
		close(l->fd);
	free(l->as);
	pthread_mutex_destroy(&l->mu);
	free(l);
	return NULL;
}

void sctprx_close(struct sctprx *l)
{
	if (!l)
		return;
	sctp_show_unregister(&l->show);
	sctpio_client_del(&l->client);
	sctpio_rx_del(l->fd); /* the receive thread no longer touches l */
	while (l->nas)
		assoc_free(l, l->nas - 1, false);
	usrsctp_set_upcall(l->ls, NULL, NULL);
	usrsctp_close(l->ls);
	pthread_mutex_lock(&l->mu);
	while (l->peers) {
		struct rxpeer *p = l->peers;
		l->peers = p->all;
		sctpio_link_close(p->link); /* shared fd: not closed here */
		free(p);
	}
	pthread_mutex_unlock(&l->mu);
	sctpio_unref();
	close(l->fd); /* after the stack stopped (if it did): no more sends on it */
	free(l->as);
	pthread_mutex_destroy(&l->mu);
	free(l);
}
