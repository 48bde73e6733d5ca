/* sctpio.c — the process's usrsctp stack over our own UDP sockets (see
 * sctpio.h). */
#include "transport/sctpio.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <usrsctp.h>
#include <arpa/inet.h>

#include "lib/addr.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/log.h"

/* not in usrsctp.h (0.9.5): read-only socket option giving the bytes the
 * association holds in its send buffer (queued and unacknowledged) */
#define SCTPIO_GET_SNDBUF_USE 0x00001101
struct sctpio_sockstat {
	sctp_assoc_t ss_assoc_id;
	uint32_t ss_total_sndbuf;
	uint32_t ss_total_recv_buf;
};

#define UDP_SOCKBUF (4 << 20)
#define RX_BATCH 32
#define RX_MAXDGRAM 65536
#define MAX_CLIENTS 256

struct sctpio_link {
	pthread_mutex_t mu;      /* guards fd against close while sending */
	int fd;                  /* -1 once closed */
	bool own_fd;             /* connected socket of our own (else a listener's) */
	struct sockaddr_storage peer;
	socklen_t peerlen;
	struct sctpio_link_stats st;
	struct sctpio_link *next_all;
};

/* a descriptor the receive thread reads */
struct rxsrc {
	int fd;
	bool dead;
	struct sctpio_link *link; /* own socket of one link */
	sctpio_rx_fn fn;          /* or a shared socket and its demultiplexer */
	void *arg;
	struct rxsrc *next_all;
};

static struct {
	int refs;
	bool running;
	int epfd, evfd, tfd;          /* main-loop side */
	int rx_ep, rx_stop;           /* receive thread side */
	pthread_t rx_thread;
	pthread_mutex_t rx_mu;        /* held by the receive thread while it feeds the stack */
	pthread_mutex_t all_mu;       /* links/srcs lists */
	struct sctpio_link *links;
	struct rxsrc *srcs;
	struct sctpio_client *clients;
	uint64_t armed_ms;
	atomic_int woken;        /* the eventfd is signalled and not yet read */
	atomic_ullong rx_dropped;
	atomic_ullong link_tx_errors;
	uint8_t *rxbuf;
} S = { .epfd = -1, .evfd = -1, .tfd = -1, .rx_ep = -1, .rx_stop = -1,
        .rx_mu = PTHREAD_MUTEX_INITIALIZER, .all_mu = PTHREAD_MUTEX_INITIALIZER };

uint64_t sctpio_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- lower layer: usrsctp → UDP ---------------------------------------- */

/* Runs on any thread (main, timer, receive). Never calls into usrsctp. */
static int conn_output(void *addr, void *buf, size_t len, uint8_t tos, uint8_t df)
{
	struct sctpio_link *l = addr;
	(void)tos;
	(void)df;
	pthread_mutex_lock(&l->mu);
	if (l->fd >= 0) {
		ssize_t n = l->own_fd ? send(l->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL)
		                      : sendto(l->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL,
		                               (const struct sockaddr *)&l->peer, l->peerlen);
		if (n == (ssize_t)len) {
			l->st.tx_pkts++;
			l->st.tx_bytes += len;
		} else {
			l->st.tx_errors++; /* lost like a dropped packet; SCTP retransmits */
			atomic_fetch_add(&S.link_tx_errors, 1);
		}
	}
	pthread_mutex_unlock(&l->mu);
	return 0;
}

void sctpio_input(struct sctpio_link *l, const void *data, size_t len)
{
	l->st.rx_pkts++;
	l->st.rx_bytes += len;
	usrsctp_conninput(l, data, len, 0);
}

static void *rx_main(void *arg)
{
	(void)arg;
	struct epoll_event ev[16];
	struct mmsghdr mm[RX_BATCH];
	struct iovec iov[RX_BATCH];
	struct sockaddr_storage from[RX_BATCH];
	for (;;) {
		int n = epoll_wait(S.rx_ep, ev, 16, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("sctp receive thread: epoll_wait: %s", strerror(errno));
			return NULL;
		}
		pthread_mutex_lock(&S.rx_mu);
		for (int i = 0; i < n; i++) {
			struct rxsrc *src = ev[i].data.ptr;
			if (!src) { /* stop */
				pthread_mutex_unlock(&S.rx_mu);
				return NULL;
			}
			if (src->dead)
				continue;
			for (int round = 0; round < 8; round++) {
				for (int k = 0; k < RX_BATCH; k++) {
					iov[k] = (struct iovec){ S.rxbuf + (size_t)k * RX_MAXDGRAM, RX_MAXDGRAM };
					mm[k].msg_hdr = (struct msghdr){ .msg_name = &from[k], .msg_namelen = sizeof(from[k]),
					                                 .msg_iov = &iov[k], .msg_iovlen = 1 };
					mm[k].msg_len = 0;
				}
				int got = recvmmsg(src->fd, mm, RX_BATCH, MSG_DONTWAIT, NULL);
				if (got <= 0)
					break;
				for (int k = 0; k < got; k++) {
					if (mm[k].msg_hdr.msg_flags & MSG_TRUNC) {
						atomic_fetch_add(&S.rx_dropped, 1);
						continue;
					}
					if (src->link)
						sctpio_input(src->link, iov[k].iov_base, mm[k].msg_len);
					else
						src->fn(src->arg, iov[k].iov_base, mm[k].msg_len,
						        (struct sockaddr *)&from[k], mm[k].msg_hdr.msg_namelen);
				}
				if (got < RX_BATCH)
					break;
			}
		}
		pthread_mutex_unlock(&S.rx_mu);
	}
}

static struct rxsrc *rx_add(int fd, struct sctpio_link *l, sctpio_rx_fn fn, void *arg)
{
	struct rxsrc *src = calloc(1, sizeof(*src));
	if (!src)
		return NULL;
	src->fd = fd;
	src->link = l;
	src->fn = fn;
	src->arg = arg;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = src };
	if (epoll_ctl(S.rx_ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		free(src);
		return NULL;
	}
	pthread_mutex_lock(&S.all_mu);
	src->next_all = S.srcs;
	S.srcs = src;
	pthread_mutex_unlock(&S.all_mu);
	return src;
}

/* Stop reading fd (its rxsrc stays allocated until the stack stops). */
static void rx_del_fd(int fd)
{
	pthread_mutex_lock(&S.rx_mu);
	pthread_mutex_lock(&S.all_mu);
	for (struct rxsrc *s = S.srcs; s; s = s->next_all)
		if (s->fd == fd && !s->dead) {
			epoll_ctl(S.rx_ep, EPOLL_CTL_DEL, fd, NULL);
			s->dead = true;
		}
	pthread_mutex_unlock(&S.all_mu);
	pthread_mutex_unlock(&S.rx_mu);
}

int sctpio_rx_add(int fd, sctpio_rx_fn fn, void *arg)
{
	return rx_add(fd, NULL, fn, arg) ? 0 : -1;
}

void sctpio_rx_del(int fd)
{
	rx_del_fd(fd);
}

/* ---- links ----------------------------------------------------------------- */

static struct sctpio_link *link_new(int fd, bool own, const struct sockaddr *peer, socklen_t peerlen)
{
	struct sctpio_link *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	pthread_mutex_init(&l->mu, NULL);
	l->fd = fd;
	l->own_fd = own;
	if (peerlen > sizeof(l->peer))
		peerlen = sizeof(l->peer);
	memcpy(&l->peer, peer, peerlen);
	l->peerlen = peerlen;
	usrsctp_register_address(l);
	pthread_mutex_lock(&S.all_mu);
	l->next_all = S.links;
	S.links = l;
	pthread_mutex_unlock(&S.all_mu);
	return l;
}

struct sctpio_link *sctpio_link_connect(const struct sockaddr *peer, socklen_t peerlen,
                                        const char *source, char *err, size_t errlen)
{
	int fd = socket(peer->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "udp socket: %s", strerror(errno));
		return NULL;
	}
	int b = UDP_SOCKBUF;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &b, sizeof(b)); /* best effort */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &b, sizeof(b));
	if (source && addr_bind_source(fd, peer->sa_family, source, err, errlen) != 0) {
		close(fd);
		return NULL;
	}
	if (connect(fd, peer, peerlen) != 0) {
		snprintf(err, errlen, "udp connect: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	struct sctpio_link *l = link_new(fd, true, peer, peerlen);
	if (!l || !rx_add(fd, l, NULL, NULL)) {
		snprintf(err, errlen, "out of memory");
		if (l) { /* registered: keep the memory, just close */
			pthread_mutex_lock(&l->mu);
			l->fd = -1;
			pthread_mutex_unlock(&l->mu);
		}
		close(fd);
		return NULL;
	}
	return l;
}

struct sctpio_link *sctpio_link_shared(int fd, const struct sockaddr *peer, socklen_t peerlen)
{
	return link_new(fd, false, peer, peerlen);
}

void sctpio_link_close(struct sctpio_link *l)
{
	if (!l)
		return;
	int fd = l->fd;
	if (l->own_fd && fd >= 0)
		rx_del_fd(fd);
	pthread_mutex_lock(&l->mu);
	if (l->own_fd && l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	pthread_mutex_unlock(&l->mu);
}

void sctpio_link_addr(const struct sctpio_link *l, uint16_t sctp_port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_conn *sc = (struct sockaddr_conn *)ss;
	memset(ss, 0, sizeof(*ss));
	sc->sconn_family = AF_CONN;
	sc->sconn_port = htons(sctp_port);
	sc->sconn_addr = (void *)l;
	*len = sizeof(*sc);
}

const struct sctpio_link_stats *sctpio_link_stats(const struct sctpio_link *l)
{
	return &l->st;
}

const struct sockaddr *sctpio_link_peer(const struct sctpio_link *l, socklen_t *len)
{
	if (len)
		*len = l->peerlen;
	return (const struct sockaddr *)&l->peer;
}

void sctpio_link_local(const struct sctpio_link *l, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char h[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (l->fd >= 0 && getsockname(l->fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET6) {
			const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &s6->sin6_addr, h, sizeof(h));
			port = ntohs(s6->sin6_port);
		} else if (ss.ss_family == AF_INET) {
			const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &s4->sin_addr, h, sizeof(h));
			port = ntohs(s4->sin_port);
		}
	}
	snprintf(buf, len, "%s:%u", h, port);
}

/* ---- main-loop wakeups and clients ------------------------------------ */

int sctpio_fd(void)
{
	return S.epfd; /* kept once made, so a main loop can watch it across restarts */
}

/* One eventfd write per service pass however many upcalls come (one per
 * SACK when sending flat out). */
void sctpio_wake(void)
{
	uint64_t one = 1;
	if (S.evfd >= 0 && !atomic_exchange(&S.woken, 1))
		(void)!write(S.evfd, &one, sizeof(one));
}

static void upcall(struct socket *so, void *arg, int flags)
{
	(void)so;
	(void)arg;
	(void)flags;
	sctpio_wake();
}

void sctpio_client_add(struct sctpio_client *c)
{
	c->next = S.clients;
	S.clients = c;
	sctpio_wake();
}

void sctpio_client_del(struct sctpio_client *c)
{
	for (struct sctpio_client **p = &S.clients; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			return;
		}
}

static void arm_timer(void)
{
	uint64_t next = 0;
	for (struct sctpio_client *c = S.clients; c; c = c->next)
		if (c->deadline_ms && (!next || c->deadline_ms < next))
			next = c->deadline_ms;
	if (next == S.armed_ms || S.tfd < 0)
		return;
	S.armed_ms = next;
	struct itimerspec its = { 0 };
	if (next) {
		its.it_value.tv_sec = (time_t)(next / 1000);
		its.it_value.tv_nsec = (long)(next % 1000) * 1000000L;
	}
	timerfd_settime(S.tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

void sctpio_client_at(struct sctpio_client *c, uint64_t ms)
{
	if (ms == 0)
		c->deadline_ms = 0;
	else if (!c->deadline_ms || ms < c->deadline_ms)
		c->deadline_ms = ms;
	arm_timer();
}

static bool client_listed(const struct sctpio_client *c)
{
	for (const struct sctpio_client *x = S.clients; x; x = x->next)
		if (x == c)
			return true;
	return false;
}

void sctpio_service(void)
{
	uint64_t v;
	/* Drain the eventfd first, then clear woken: an upcall from the
	 * clear on writes again, and one before it is served by this pass
	 * (its data is there when the clients below run). The other order
	 * loses wakeups: an upcall between the clear and the read has its
	 * write swallowed by the read yet leaves woken set, so no upcall
	 * writes again and the main loop sleeps on data until a timer (a
	 * collector with no timer armed: for good). */
	if (S.evfd >= 0 && atomic_load(&S.woken)) {
		(void)!read(S.evfd, &v, sizeof(v));
		atomic_store(&S.woken, 0);
	}
	if (S.tfd >= 0)
		(void)!read(S.tfd, &v, sizeof(v));
	if (!S.running)
		return;
	S.armed_ms = UINT64_MAX; /* force re-arm */
	uint64_t now = sctpio_now_ms();
	struct sctpio_client *snap[MAX_CLIENTS];
	size_t n = 0;
	for (struct sctpio_client *c = S.clients; c && n < MAX_CLIENTS; c = c->next)
		snap[n++] = c;
	for (size_t i = 0; i < n; i++) {
		if (!client_listed(snap[i])) /* removed by an earlier client */
			continue;
		if (snap[i]->deadline_ms && snap[i]->deadline_ms <= now)
			snap[i]->deadline_ms = 0;
		snap[i]->fn(snap[i]->arg);
	}
	arm_timer();
}

/* ---- sockets ----------------------------------------------------------- */

struct socket *sctpio_socket(int sndbuf, int rcvbuf, char *err, size_t errlen)
{
	struct socket *so = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
	if (!so) {
		snprintf(err, errlen, "usrsctp_socket: %s", strerror(errno));
		return NULL;
	}
	int on = 1;
	struct sctp_assoc_value ss = { .assoc_id = SCTP_FUTURE_ASSOC, .assoc_value = SCTP_SS_FIRST_COME };
	static const uint16_t events[] = { SCTP_ASSOC_CHANGE, SCTP_PEER_ADDR_CHANGE, SCTP_REMOTE_ERROR,
	                                   SCTP_SHUTDOWN_EVENT, SCTP_SEND_FAILED_EVENT, SCTP_SENDER_DRY_EVENT,
	                                   SCTP_PARTIAL_DELIVERY_EVENT };
	const char *what = NULL;
	if (usrsctp_set_non_blocking(so, 1) != 0)
		what = "non-blocking";
	else if (usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof(on)) != 0)
		what = "SCTP_RECVRCVINFO";
	else if (usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof(on)) != 0)
		what = "SCTP_NODELAY";
	else if (usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_PLUGGABLE_SS, &ss, sizeof(ss)) != 0)
		what = "SCTP_PLUGGABLE_SS";
	else if (sndbuf > 0 && usrsctp_setsockopt(so, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) != 0)
		what = "SO_SNDBUF";
	else if (rcvbuf > 0 && usrsctp_setsockopt(so, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) != 0)
		what = "SO_RCVBUF";
	for (size_t i = 0; !what && i < sizeof(events) / sizeof(events[0]); i++) {
		struct sctp_event ev = { .se_assoc_id = SCTP_ALL_ASSOC, .se_type = events[i], .se_on = 1 };
		if (usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof(ev)) != 0)
			what = "SCTP_EVENT";
	}
	if (what) {
		snprintf(err, errlen, "usrsctp setsockopt %s: %s", what, strerror(errno));
		usrsctp_close(so);
		return NULL;
	}
	usrsctp_set_upcall(so, upcall, NULL);
	return so;
}

int sctpio_set_timing(struct socket *so, const struct sctpio_timing *tm, unsigned pathmtu, char *err, size_t errlen)
{
	struct sctp_rtoinfo rto = { .srto_assoc_id = SCTP_FUTURE_ASSOC, .srto_initial = tm->rto_init_ms,
	                            .srto_min = tm->rto_min_ms, .srto_max = tm->rto_max_ms };
	struct sctp_assocparams ap = { .sasoc_assoc_id = SCTP_FUTURE_ASSOC, .sasoc_asocmaxrxt = (uint16_t)tm->assoc_rxt };
	struct sctp_paddrparams pp = { .spp_assoc_id = SCTP_FUTURE_ASSOC, .spp_hbinterval = tm->hb_ms,
	                               .spp_pathmaxrxt = (uint16_t)tm->path_rxt, .spp_flags = SPP_HB_ENABLE };
	if (pathmtu) {
		pp.spp_pathmtu = pathmtu;
		pp.spp_flags |= SPP_PMTUD_DISABLE;
	}
	const char *what = NULL;
	if (usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_RTOINFO, &rto, sizeof(rto)) != 0)
		what = "SCTP_RTOINFO";
	else if (usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_ASSOCINFO, &ap, sizeof(ap)) != 0)
		what = "SCTP_ASSOCINFO";
	else if (usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof(pp)) != 0)
		what = "SCTP_PEER_ADDR_PARAMS";
	if (what) {
		snprintf(err, errlen, "usrsctp setsockopt %s: %s", what, strerror(errno));
		return -1;
	}
	return 0;
}

long sctpio_unacked_bytes(struct socket *so)
{
	struct sctpio_sockstat ss = { 0 };
	socklen_t l = sizeof(ss);
	if (usrsctp_getsockopt(so, IPPROTO_SCTP, SCTPIO_GET_SNDBUF_USE, &ss, &l) != 0)
		return -1;
	return (long)ss.ss_total_sndbuf;
}

/* ---- start / stop ------------------------------------------------------ */

static void stop_fds(void)
{
	int *fds[] = { &S.rx_ep, &S.rx_stop };
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}

static int start(char *err, size_t errlen)
{
	bool fresh = S.epfd < 0; /* the wake descriptors live as long as the process */
	if (fresh) {
		S.evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		S.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		S.epfd = epoll_create1(EPOLL_CLOEXEC);
	}
	S.rx_ep = epoll_create1(EPOLL_CLOEXEC);
	S.rx_stop = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	S.rxbuf = malloc((size_t)RX_BATCH * RX_MAXDGRAM);
	if (S.evfd < 0 || S.tfd < 0 || S.epfd < 0 || S.rx_ep < 0 || S.rx_stop < 0 || !S.rxbuf) {
		snprintf(err, errlen, "sctp stack: %s", strerror(errno ? errno : ENOMEM));
		goto fail;
	}
	struct epoll_event ev = { .events = EPOLLIN };
	if (fresh) {
		ev.data.fd = S.evfd;
		epoll_ctl(S.epfd, EPOLL_CTL_ADD, S.evfd, &ev);
		ev.data.fd = S.tfd;
		epoll_ctl(S.epfd, EPOLL_CTL_ADD, S.tfd, &ev);
	}
	ev.data.ptr = NULL;
	epoll_ctl(S.rx_ep, EPOLL_CTL_ADD, S.rx_stop, &ev);
	/* no UDP port of usrsctp's own (0): our sockets are the lower layer */
	usrsctp_init(0, conn_output, NULL);
	usrsctp_sysctl_set_sctp_ecn_enable(0);
	if (pthread_create(&S.rx_thread, NULL, rx_main, NULL) != 0) {
		snprintf(err, errlen, "sctp stack: cannot start the receive thread");
		usrsctp_finish();
		goto fail;
	}
	S.running = true;
	S.armed_ms = 0;
	return 0;
fail:
	stop_fds();
	free(S.rxbuf);
	S.rxbuf = NULL;
	return -1;
}

static void stop(void)
{
	uint64_t one = 1;
	(void)!write(S.rx_stop, &one, sizeof(one));
	pthread_join(S.rx_thread, NULL);
	S.running = false;
	/* usrsctp_finish fails while associations linger (100-400 ms) */
	bool done = false;
	for (int i = 0; i < 300 && !done; i++) {
		if (usrsctp_finish() == 0)
			done = true;
		else {
			struct timespec ts = { 0, 10 * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
	if (!done)
		log_warn("sctp: the stack did not stop cleanly (associations still open)");
	pthread_mutex_lock(&S.all_mu);
	while (S.links) {
		struct sctpio_link *l = S.links;
		S.links = l->next_all;
		if (done) {
			if (l->own_fd && l->fd >= 0)
				close(l->fd);
			pthread_mutex_destroy(&l->mu);
			free(l);
		}
	}
	while (S.srcs) {
		struct rxsrc *s = S.srcs;
		S.srcs = s->next_all;
		free(s);
	}
	pthread_mutex_unlock(&S.all_mu);
	stop_fds();
	free(S.rxbuf);
	S.rxbuf = NULL;
	S.clients = NULL;
	struct itimerspec its = { 0 };
	timerfd_settime(S.tfd, 0, &its, NULL);
	S.armed_ms = 0;
}

int sctpio_ref(char *err, size_t errlen)
{
	if (S.refs == 0 && start(err, errlen) != 0)
		return -1;
	S.refs++;
	return 0;
}

void sctpio_unref(void)
{
	if (S.refs <= 0)
		return;
	if (--S.refs == 0)
		stop();
}

bool sctpio_running(void)
{
	return S.running;
}

void sctpio_totals(struct sctpio_totals *t)
{
	memset(t, 0, sizeof(*t));
	t->link_tx_errors = atomic_load(&S.link_tx_errors);
	t->rx_dropped = atomic_load(&S.rx_dropped);
	if (!S.running)
		return;
	struct sctpstat s;
	memset(&s, 0, sizeof(s));
	usrsctp_get_stat(&s);
	t->assoc_active = s.sctps_activeestab;
	t->assoc_passive = s.sctps_passiveestab;
	t->assoc_aborted = s.sctps_aborted;
	t->assoc_shutdown = s.sctps_shutdown;
	t->assoc_restart = s.sctps_restartestab;
	t->assoc_current = s.sctps_currestab;
	t->ctrl_out = s.sctps_outcontrolchunks;
	t->ctrl_in = s.sctps_incontrolchunks;
	t->data_out_ordered = s.sctps_outorderchunks;
	t->data_out_unordered = s.sctps_outunorderchunks;
	t->data_out = s.sctps_senddata;
	t->data_in = s.sctps_recvdata;
	t->data_in_ordered = s.sctps_inorderchunks;
	t->data_in_unordered = s.sctps_inunorderchunks;
	t->data_retrans = s.sctps_sendretransdata;
	t->fast_retrans = s.sctps_sendfastretrans;
	t->dup_data_in = s.sctps_recvdupdata;
	t->pkts_out = s.sctps_sendpackets > s.sctps_outpackets ? s.sctps_sendpackets : s.sctps_outpackets;
	t->pkts_in = s.sctps_recvpackets > s.sctps_inpackets ? s.sctps_recvpackets : s.sctps_inpackets;
	t->sacks_out = s.sctps_sendsacks;
	t->sacks_in = s.sctps_recvsacks;
	t->hb_out = s.sctps_sendheartbeat;
	t->hb_ack_in = s.sctps_recvheartbeatack;
	t->ootb = s.sctps_outoftheblue;
	t->checksum_errors = s.sctps_checksumerrors;
	t->t3_timeouts = s.sctps_timodata;
	t->t1_timeouts = s.sctps_timoinit;
	t->t2_timeouts = s.sctps_timoshutdown;
	t->hb_timeouts = s.sctps_timoheartbeat;
	t->window_probes = s.sctps_windowprobed;
}

/* ---- notifications ------------------------------------------------------ */

/* Wire-independent: usrsctp hands us its structs in host order; we still
 * read them field by field at their offsets, bounded by len. */
static uint16_t RD16(const uint8_t *p, size_t off)
{
	uint16_t v;
	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint32_t RD32(const uint8_t *p, size_t off)
{
	uint32_t v;
	memcpy(&v, p + off, sizeof(v));
	return v;
}

int sctpio_note_decode(const void *buf, size_t len, struct sctpio_note *n)
{
	const uint8_t *b = buf;
	memset(n, 0, sizeof(*n));
	if (len < 8)
		return ERR_TRUNC;
	n->type = RD16(b, 0);
	n->flags = RD16(b, 2);
	uint32_t l = RD32(b, 4);
	if (l < 8 || l > len)
		return ERR_TRUNC;
	len = l;
	switch (n->type) {
	case SCTP_ASSOC_CHANGE:
		if (len < offsetof(struct sctp_assoc_change, sac_info))
			return ERR_TRUNC;
		n->state = RD16(b, offsetof(struct sctp_assoc_change, sac_state));
		n->error = RD16(b, offsetof(struct sctp_assoc_change, sac_error));
		n->out_streams = RD16(b, offsetof(struct sctp_assoc_change, sac_outbound_streams));
		n->in_streams = RD16(b, offsetof(struct sctp_assoc_change, sac_inbound_streams));
		n->assoc_id = RD32(b, offsetof(struct sctp_assoc_change, sac_assoc_id));
		n->data = b + offsetof(struct sctp_assoc_change, sac_info);
		n->datalen = len - offsetof(struct sctp_assoc_change, sac_info);
		break;
	case SCTP_PEER_ADDR_CHANGE:
		if (len < sizeof(struct sctp_paddr_change))
			return ERR_TRUNC;
		n->state = RD32(b, offsetof(struct sctp_paddr_change, spc_state));
		n->error = RD32(b, offsetof(struct sctp_paddr_change, spc_error));
		n->assoc_id = RD32(b, offsetof(struct sctp_paddr_change, spc_assoc_id));
		break;
	case SCTP_SEND_FAILED_EVENT: {
		size_t info = offsetof(struct sctp_send_failed_event, ssfe_info);
		if (len < offsetof(struct sctp_send_failed_event, ssfe_data))
			return ERR_TRUNC;
		n->error = RD32(b, offsetof(struct sctp_send_failed_event, ssfe_error));
		n->sid = RD16(b, info + offsetof(struct sctp_sndinfo, snd_sid));
		n->ppid = RD32(b, info + offsetof(struct sctp_sndinfo, snd_ppid));
		n->context = RD32(b, info + offsetof(struct sctp_sndinfo, snd_context));
		n->assoc_id = RD32(b, offsetof(struct sctp_send_failed_event, ssfe_assoc_id));
		n->data = b + offsetof(struct sctp_send_failed_event, ssfe_data);
		n->datalen = len - offsetof(struct sctp_send_failed_event, ssfe_data);
		break;
	}
	case SCTP_PARTIAL_DELIVERY_EVENT:
		if (len < sizeof(struct sctp_pdapi_event))
			return ERR_TRUNC;
		n->state = RD32(b, offsetof(struct sctp_pdapi_event, pdapi_indication));
		n->sid = (uint16_t)RD32(b, offsetof(struct sctp_pdapi_event, pdapi_stream));
		n->seq = RD32(b, offsetof(struct sctp_pdapi_event, pdapi_seq));
		n->assoc_id = RD32(b, offsetof(struct sctp_pdapi_event, pdapi_assoc_id));
		break;
	case SCTP_REMOTE_ERROR:
		if (len < offsetof(struct sctp_remote_error, sre_data))
			return ERR_TRUNC;
		n->error = RD16(b, offsetof(struct sctp_remote_error, sre_error));
		n->assoc_id = RD32(b, offsetof(struct sctp_remote_error, sre_assoc_id));
		break;
	case SCTP_SHUTDOWN_EVENT:
	case SCTP_SENDER_DRY_EVENT:
		if (len < 12)
			return ERR_TRUNC;
		n->assoc_id = RD32(b, 8);
		break;
	default:
		break;
	}
	return ERR_OK;
}
