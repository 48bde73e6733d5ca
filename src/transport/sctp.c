/* sctp.c — export over SCTP (sctp:HOST:PORT); see sctp.h for the
 * behaviour and sctpio.h for the stack and its UDP lower layer. */
#include "transport/sctp.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <usrsctp.h>

#include "lib/addr.h"
#include "lib/err.h"
#include "lib/log.h"
#include "transport/sctpio.h"

#ifndef SCTP_PR_SCTP_ALL
#define SCTP_PR_SCTP_ALL 0x000f /* missing from usrsctp.h 0.9.5 */
#endif

#define SCTP_QUEUE_BYTES_DEFAULT (16u << 20)
#define SCTP_QUEUE_MSGS_MAX 65536u
#define SCTP_SNDBUF_DEFAULT (4u << 20)
#define SCTP_BACKOFF_MIN_MS 100u
#define SCTP_BACKOFF_MAX_MS 2000u
#define SCTP_BACKOFF_WATCH_MS 500u
#define SCTP_CTRL_MAX 64u            /* control messages queued at most (templates, options) */
#define SCTP_NONE_WINDOW 256u        /* none: messages the stack may hold at once (a cache flush is a burst) */
#define SCTP_RWND_MARGIN 512u        /* per message, on top of its length (the stack's chunk overhead) */
#define SCTP_CLOSE_WAIT_MS 500
#define CTX_CTRL 0x80000000u         /* snd_context: stream 0 message */
#define CTX_RECS 0x00ffffffu         /* snd_context: its flow records */

/* ---- options --------------------------------------------------------- */

void sctpt_opts_init(struct sctpt_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->reliability = SCTPT_FULL;
	o->buffer_limit = SCTPT_BUFFER_LIMIT_DEFAULT;
	o->data_streams = 1;
	o->pr_rtx = 3;
	o->hb_ms = 500;
	o->rto_min_ms = 100;
	o->rto_max_ms = 500;
	o->rto_init_ms = 200;
	o->path_rxt = 3;
	o->assoc_rxt = 6;
	o->sndbuf = SCTP_SNDBUF_DEFAULT;
}

static const char *const rel_names[] = { [SCTPT_FULL] = "full", [SCTPT_PARTIAL] = "partial", [SCTPT_NONE] = "none" };

const char *sctpt_rel_name(enum sctpt_rel r)
{
	return (unsigned)r < sizeof(rel_names) / sizeof(rel_names[0]) ? rel_names[r] : "?";
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || v < min || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int sctpt_parse_reliability(const char *s, struct sctpt_opts *o, char *err, size_t errlen)
{
	static const char bl[] = "partial buffer-limit ";
	const char *num = NULL;
	if (strcmp(s, "full") == 0) {
		o->reliability = SCTPT_FULL;
		return 0;
	}
	if (strcmp(s, "none") == 0) {
		o->reliability = SCTPT_NONE;
		return 0;
	}
	if (strcmp(s, "partial") == 0) {
		o->reliability = SCTPT_PARTIAL;
		return 0;
	}
	if (strncmp(s, "partial:", 8) == 0)
		num = s + 8;
	else if (strncmp(s, bl, sizeof(bl) - 1) == 0)
		num = s + sizeof(bl) - 1;
	unsigned n;
	if (!num || parse_uint(num, 1, SCTPT_BUFFER_LIMIT_MAX, &n) != 0) {
		snprintf(err, errlen, "reliability `%.64s': not full, none, partial, partial:N or "
		                      "partial buffer-limit N (N 1-%u)", s, SCTPT_BUFFER_LIMIT_MAX);
		return -1;
	}
	o->reliability = SCTPT_PARTIAL;
	o->buffer_limit = n;
	return 0;
}

/* One row per ranged setting. */
static const struct {
	const char *name;
	size_t off;
	unsigned min, max;
} opt_ranges[] = {
	{ "buffer-limit", offsetof(struct sctpt_opts, buffer_limit), 1, SCTPT_BUFFER_LIMIT_MAX },
	{ "data streams", offsetof(struct sctpt_opts, data_streams), 1, SCTPT_STREAMS_MAX },
	{ "partial retransmissions", offsetof(struct sctpt_opts, pr_rtx), 0, 100 },
	{ "heartbeat interval (ms)", offsetof(struct sctpt_opts, hb_ms), 10, 60000 },
	{ "RTO min (ms)", offsetof(struct sctpt_opts, rto_min_ms), 10, 60000 },
	{ "RTO max (ms)", offsetof(struct sctpt_opts, rto_max_ms), 10, 60000 },
	{ "RTO initial (ms)", offsetof(struct sctpt_opts, rto_init_ms), 10, 60000 },
	{ "path retransmissions", offsetof(struct sctpt_opts, path_rxt), 1, 20 },
	{ "association retransmissions", offsetof(struct sctpt_opts, assoc_rxt), 1, 20 },
	{ "UDP encapsulation port", offsetof(struct sctpt_opts, encaps_port), 0, 65535 },
	{ "send buffer", offsetof(struct sctpt_opts, sndbuf), 65536, 256u << 20 },
};

int sctpt_opts_check(const struct sctpt_opts *o, char *err, size_t errlen)
{
	if ((unsigned)o->reliability > SCTPT_NONE) {
		snprintf(err, errlen, "sctp: bad reliability %d", (int)o->reliability);
		return -1;
	}
	for (size_t i = 0; i < sizeof(opt_ranges) / sizeof(opt_ranges[0]); i++) {
		unsigned v;
		memcpy(&v, (const char *)o + opt_ranges[i].off, sizeof(v));
		if (v < opt_ranges[i].min || v > opt_ranges[i].max) {
			snprintf(err, errlen, "sctp: %s %u out of range %u-%u", opt_ranges[i].name, v,
			         opt_ranges[i].min, opt_ranges[i].max);
			return -1;
		}
	}
	if (o->rto_min_ms > o->rto_init_ms || o->rto_init_ms > o->rto_max_ms) {
		snprintf(err, errlen, "sctp: RTO needs min %u <= initial %u <= max %u", o->rto_min_ms,
		         o->rto_init_ms, o->rto_max_ms);
		return -1;
	}
	return 0;
}

/* ---- queues ------------------------------------------------------------ */

struct qmsg {
	uint8_t *p;
	uint32_t len;
	uint32_t session;  /* the session it was meant for */
	uint32_t recs;     /* flow records in it */
	unsigned flags;
};

/* A ring of messages that grows by doubling. */
struct mq {
	struct qmsg *v;
	size_t cap, head, n, bytes;
};

static struct qmsg *mq_at(struct mq *q, size_t i)
{
	return &q->v[(q->head + i) % q->cap];
}

static int mq_grow(struct mq *q)
{
	if (q->n < q->cap)
		return 0;
	size_t cap = q->cap ? q->cap * 2 : 64;
	struct qmsg *v = malloc(cap * sizeof(*v));
	if (!v)
		return -1;
	for (size_t i = 0; i < q->n; i++)
		v[i] = *mq_at(q, i);
	free(q->v);
	q->v = v;
	q->cap = cap;
	q->head = 0;
	return 0;
}

static int mq_push(struct mq *q, struct qmsg m, bool front)
{
	if (mq_grow(q) != 0)
		return -1;
	if (front) {
		q->head = (q->head + q->cap - 1) % q->cap;
		q->v[q->head] = m;
	} else {
		*mq_at(q, q->n) = m;
	}
	q->n++;
	q->bytes += m.len;
	return 0;
}

static struct qmsg mq_pop(struct mq *q)
{
	struct qmsg m = q->v[q->head];
	q->head = (q->head + 1) % q->cap;
	q->n--;
	q->bytes -= m.len;
	return m;
}

static void mq_free(struct mq *q)
{
	while (q->n) {
		struct qmsg m = mq_pop(q);
		free(m.p);
	}
	free(q->v);
	memset(q, 0, sizeof(*q));
}

/* Lengths of the messages handed to the stack, oldest first (partial and
 * none: to know how many it still holds). */
struct lring {
	uint32_t *v;
	size_t cap, head, n;
};

static int lr_push(struct lring *r, uint32_t len)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		uint32_t *v = malloc(cap * sizeof(*v));
		if (!v)
			return -1;
		for (size_t i = 0; i < r->n; i++)
			v[i] = r->v[(r->head + i) % r->cap];
		free(r->v);
		r->v = v;
		r->cap = cap;
		r->head = 0;
	}
	r->v[(r->head + r->n) % r->cap] = len;
	r->n++;
	return 0;
}

/* ---- the transport ---------------------------------------------------- */

enum sstate { ST_DOWN, ST_CONNECTING, ST_UP };

struct counters {
	uint64_t sent_data, sent_ctrl;
	uint64_t abandoned, abandoned_recs;
	uint64_t limit_drops, limit_drop_recs;
	uint64_t returned, requeued, reclaimed, ctrl_failed;
	uint64_t assoc_up, assoc_lost, restarts, unreachable, connect_failures;
};

struct sctpt {
	struct transport base;
	struct sctpt_opts o;
	char host[128];
	char port[16];
	struct sockaddr_storage peer; /* the collector's UDP address */
	socklen_t peerlen;
	uint16_t sctp_port;
	uint16_t local_port;
	char *source;
	unsigned mtu;
	struct sctpio_link *link;
	struct socket *so;
	enum sstate state;
	uint64_t next_try_ms;
	unsigned backoff_ms;
	struct mq ctrl, data, returned;
	size_t qmax_bytes;
	int block_ms;
	struct lring inflight;
	bool held;        /* this session's templates not sent yet: data waits */
	bool tmpl_wait;   /* templates sent: data waits until they are acknowledged */
	bool reachable;
	bool pr_ok;
	bool went_down;   /* set while reading events */
	bool in_service;
	bool warned_pr, warned_frag;
	bool closing;     /* our own shutdown: its end is not a loss */
	bool stalled;     /* a block_ms wait ran out: refuse at once until there is room again */
	bool watch;       /* sctpt_watch: path_rxt 1 */
	unsigned next_sid;
	uint16_t out_streams;
	struct sctpio_client client;
	struct counters c;
	struct sctpt *next_open; /* every open transport (show commands) */
	uint8_t rbuf[65536 + 256];
};

static struct sctpt *open_list;

size_t sctpt_list(struct transport **out, size_t max)
{
	size_t n = 0;
	for (struct sctpt *c = open_list; c; c = c->next_open, n++)
		if (n < max)
			out[n] = &c->base;
	return n;
}

static uint16_t ipudp_overhead(int family)
{
	return family == AF_INET6 ? 48 : 28;
}

static void set_err(struct sctpt *c, const char *what, int e)
{
	snprintf(c->base.err, sizeof(c->base.err), "sctp %.100s:%s: %.40s%s%.60s", c->host, c->port, what,
	         e ? ": " : "", e ? strerror(e) : "");
}

static void drop_msg(struct sctpt *c, struct qmsg *m, uint64_t *cnt, uint64_t *cnt_recs)
{
	c->base.st.dropped++;
	c->base.st.dropped_recs += m->recs;
	if (cnt)
		(*cnt)++;
	if (cnt_recs)
		*cnt_recs += m->recs;
	free(m->p);
	m->p = NULL;
}

static void update_queued(struct sctpt *c)
{
	c->base.st.queued = c->data.bytes + c->ctrl.bytes;
}

/* How many of the messages handed to the stack it still holds: the
 * newest ones whose lengths fit in what it reports holding (each costs
 * its length plus, once chunked, a DATA chunk header, so this may count
 * a few too many, never too few). Forgets the older ones. */
static size_t inflight(struct sctpt *c)
{
	if (!c->so)
		return 0;
	long b = sctpio_unacked_bytes(c->so);
	if (b <= 0) {
		c->inflight.n = 0;
		return 0;
	}
	struct lring *r = &c->inflight;
	size_t k = 0;
	uint64_t acc = 0;
	while (k < r->n) {
		uint32_t len = r->v[(r->head + r->n - 1 - k) % r->cap];
		if (acc + len > (uint64_t)b)
			break;
		acc += len;
		k++;
	}
	if (k < r->n) { /* older ones have left the stack */
		r->head = (r->head + (r->n - k)) % r->cap;
		r->n = k;
	}
	return k;
}

static uint32_t peer_rwnd(struct sctpt *c)
{
	struct sctp_status st;
	socklen_t l = sizeof(st);
	memset(&st, 0, sizeof(st));
	if (usrsctp_getsockopt(c->so, IPPROTO_SCTP, SCTP_STATUS, &st, &l) != 0)
		return 0;
	return st.sstat_rwnd;
}

/* Hand one message to the stack: 0, EAGAIN (no room), or another errno. */
static int stack_send(struct sctpt *c, const struct qmsg *m, bool ctrl, bool last)
{
	struct sctp_sendv_spa spa;
	memset(&spa, 0, sizeof(spa));
	spa.sendv_flags = SCTP_SEND_SNDINFO_VALID | SCTP_SEND_PRINFO_VALID;
	uint16_t sid = 0;
	if (!ctrl && c->out_streams > 1) {
		unsigned nd = c->out_streams - 1u < c->o.data_streams ? c->out_streams - 1u : c->o.data_streams;
		sid = (uint16_t)(1 + c->next_sid % nd);
	}
	spa.sendv_sndinfo.snd_sid = sid;
	spa.sendv_sndinfo.snd_ppid = 0;
	spa.sendv_sndinfo.snd_context = (ctrl ? CTX_CTRL : 0) | (m->recs & CTX_RECS);
	spa.sendv_sndinfo.snd_flags = last ? SCTP_SACK_IMMEDIATELY : 0;
	if (ctrl || c->o.reliability == SCTPT_FULL) {
		spa.sendv_prinfo.pr_policy = SCTP_PR_SCTP_NONE;
	} else {
		spa.sendv_prinfo.pr_policy = SCTP_PR_SCTP_RTX;
		spa.sendv_prinfo.pr_value = c->o.reliability == SCTPT_NONE ? 0 : c->o.pr_rtx;
	}
	ssize_t n = usrsctp_sendv(c->so, m->p, m->len, NULL, 0, &spa, (socklen_t)sizeof(spa), SCTP_SENDV_SPA, 0);
	if (n == (ssize_t)m->len) {
		if (!ctrl)
			c->next_sid++;
		c->base.st.msgs++;
		c->base.st.bytes += m->len;
		if (ctrl)
			c->c.sent_ctrl++;
		else
			c->c.sent_data++;
		if (c->o.reliability != SCTPT_FULL)
			(void)lr_push(&c->inflight, m->len);
		return 0;
	}
	if (n < 0 && (errno == EWOULDBLOCK || errno == EAGAIN || errno == ENOBUFS))
		return EAGAIN;
	return n < 0 ? errno : EIO;
}

/* Move queued messages into the stack as far as the rules allow. */
static void pump(struct sctpt *c)
{
	if (c->state != ST_UP || !c->so)
		return;
	while (c->ctrl.n) {
		struct qmsg *m = mq_at(&c->ctrl, 0);
		if (m->session != c->base.session) { /* templates of a session gone */
			struct qmsg d = mq_pop(&c->ctrl);
			free(d.p);
			continue;
		}
		int rc = stack_send(c, m, true, c->ctrl.n == 1 && c->data.n == 0);
		if (rc == EAGAIN)
			break;
		if (rc != 0) {
			set_err(c, "send", rc);
			break;
		}
		if (m->flags & TRANSPORT_F_FRONT) { /* this session's templates */
			c->tmpl_wait = true; /* data after their acknowledgement */
			c->held = false;
		}
		struct qmsg d = mq_pop(&c->ctrl);
		free(d.p);
	}
	update_queued(c);
	if (c->held || c->ctrl.n)
		return;
	if (c->tmpl_wait) {
		if (sctpio_unacked_bytes(c->so) > 0)
			return;
		c->tmpl_wait = false;
	}
	size_t in = 0, window = 0;
	uint32_t rwnd = 0;
	if (c->o.reliability == SCTPT_PARTIAL) {
		in = inflight(c);
		window = (c->o.buffer_limit + 1) / 2;
		rwnd = peer_rwnd(c);
	}
	while (c->data.n) {
		struct qmsg *m = mq_at(&c->data, 0);
		if (c->o.reliability == SCTPT_PARTIAL) {
			if (in >= window || rwnd < m->len + SCTP_RWND_MARGIN)
				break;
		}
		int rc = stack_send(c, m, false, c->data.n == 1);
		if (rc == EAGAIN)
			break;
		if (rc != 0) {
			set_err(c, "send", rc);
			break;
		}
		in++;
		rwnd -= m->len + SCTP_RWND_MARGIN < rwnd ? m->len + SCTP_RWND_MARGIN : rwnd;
		struct qmsg d = mq_pop(&c->data);
		free(d.p);
	}
	update_queued(c);
}

static void close_socket(struct sctpt *c)
{
	if (c->so) {
		usrsctp_set_upcall(c->so, NULL, NULL);
		usrsctp_close(c->so);
		c->so = NULL;
	}
	c->inflight.n = 0;
}

/* The association is gone (or never came): requeue or drop what the
 * stack handed back, and schedule the next attempt. */
static void went_down(struct sctpt *c, const char *why)
{
	uint64_t now = sctpio_now_ms();
	if (c->state == ST_UP && !c->closing) {
		c->c.assoc_lost++;
		c->base.st.disconnects++;
		log_note("sctp %s:%s: association lost (%s)", c->host, c->port, why);
	} else if (c->state == ST_CONNECTING) {
		c->c.connect_failures++;
	}
	set_err(c, why, 0);
	c->state = ST_DOWN;
	c->base.up = false;
	c->reachable = false;
	c->held = c->tmpl_wait = false;
	size_t n = c->returned.n;
	c->c.returned += n;
	if (c->o.reliability == SCTPT_NONE) {
		while (c->returned.n) {
			struct qmsg m = mq_pop(&c->returned);
			drop_msg(c, &m, &c->c.limit_drops, &c->c.limit_drop_recs);
		}
	} else {
		/* oldest first in the stack's order, ahead of what was queued */
		for (size_t i = n; i-- > 0;) {
			struct qmsg m = *mq_at(&c->returned, i);
			if (mq_push(&c->data, m, true) != 0)
				drop_msg(c, &m, &c->c.limit_drops, &c->c.limit_drop_recs);
			else
				c->c.requeued++;
		}
		c->returned.n = 0;
		c->returned.head = 0;
		c->returned.bytes = 0;
		if (c->o.reliability == SCTPT_PARTIAL)
			while (c->data.n > c->o.buffer_limit) {
				struct qmsg m = mq_pop(&c->data);
				drop_msg(c, &m, &c->c.limit_drops, &c->c.limit_drop_recs);
			}
	}
	update_queued(c);
	close_socket(c);
	c->next_try_ms = now + c->backoff_ms;
	/* a primary the destination manager waits for is retried more often */
	unsigned cap = c->watch ? SCTP_BACKOFF_WATCH_MS : SCTP_BACKOFF_MAX_MS;
	c->backoff_ms = c->backoff_ms * 2 > cap ? cap : c->backoff_ms * 2;
	sctpio_client_at(&c->client, c->next_try_ms);
}

static void came_up(struct sctpt *c, const struct sctpio_note *n, bool restart)
{
	c->state = ST_UP;
	c->base.up = true;
	c->base.session++;
	c->base.st.connects++;
	c->base.err[0] = 0;
	c->c.assoc_up++;
	if (restart)
		c->c.restarts++;
	c->backoff_ms = SCTP_BACKOFF_MIN_MS;
	c->reachable = true;
	c->out_streams = n->out_streams;
	c->held = c->base.hold_for_ctrl;
	c->tmpl_wait = false;
	c->inflight.n = 0;
	struct sctp_assoc_value av = { .assoc_id = 0 };
	socklen_t l = sizeof(av);
	c->pr_ok = usrsctp_getsockopt(c->so, IPPROTO_SCTP, SCTP_PR_SUPPORTED, &av, &l) == 0 && av.assoc_value;
	if (c->o.reliability != SCTPT_FULL && !c->pr_ok && !c->warned_pr) {
		log_warn("sctp %s:%s: the collector did not negotiate PR-SCTP: %s reliability acts as full",
		         c->host, c->port, sctpt_rel_name(c->o.reliability));
		c->warned_pr = true;
	}
	struct sctp_status st;
	memset(&st, 0, sizeof(st));
	l = sizeof(st);
	unsigned need = c->mtu - c->base.overhead;
	if (usrsctp_getsockopt(c->so, IPPROTO_SCTP, SCTP_STATUS, &st, &l) == 0 && st.sstat_fragmentation_point < need &&
	    !c->warned_frag) {
		log_warn("sctp %s:%s: fragmentation point %u below the message size %u", c->host, c->port,
		         st.sstat_fragmentation_point, need);
		c->warned_frag = true;
	}
	struct sockaddr *addrs = NULL;
	if (usrsctp_getladdrs(c->so, 0, &addrs) > 0 && addrs) {
		c->local_port = ntohs(((struct sockaddr_conn *)addrs)->sconn_port);
		usrsctp_freeladdrs(addrs);
	}
	log_info("sctp %s:%s: association up (%u out streams%s)", c->host, c->port, c->out_streams,
	         c->pr_ok ? ", PR-SCTP" : "");
}

/* Read every notification waiting on the socket. */
static void read_events(struct sctpt *c)
{
	bool down = false;
	const char *why = NULL;
	struct sctpio_note up_note;
	bool up = false;
	while (c->so) {
		struct sctp_rcvinfo rcv;
		socklen_t il = sizeof(rcv);
		unsigned int it = 0;
		int fl = 0;
		ssize_t n = usrsctp_recvv(c->so, c->rbuf, sizeof(c->rbuf), NULL, NULL, &rcv, &il, &it, &fl);
		if (n < 0)
			break; /* EWOULDBLOCK, or the socket is dead */
		if (n == 0 && !(fl & MSG_NOTIFICATION)) {
			down = true;
			why = "collector closed";
			break;
		}
		if (!(fl & MSG_NOTIFICATION))
			continue; /* collectors send nothing: ignore */
		struct sctpio_note nt;
		if (!(fl & MSG_EOR) || sctpio_note_decode(c->rbuf, (size_t)n, &nt) != ERR_OK)
			continue;
		switch (nt.type) {
		case SCTP_ASSOC_CHANGE:
			if (nt.state == SCTP_COMM_UP || nt.state == SCTP_RESTART) {
				up = true;
				up_note = nt;
				if (nt.state == SCTP_RESTART) /* what the old association held came back */
					down = true, why = "collector restarted";
			} else if (nt.state == SCTP_COMM_LOST) {
				down = true;
				why = "communication lost";
			} else if (nt.state == SCTP_CANT_STR_ASSOC) {
				down = true;
				why = "cannot start association";
			} else if (nt.state == SCTP_SHUTDOWN_COMP) {
				down = true;
				why = "shut down";
			}
			break;
		case SCTP_PEER_ADDR_CHANGE:
			if (nt.state == SCTP_ADDR_UNREACHABLE) {
				if (c->reachable) {
					c->c.unreachable++;
					log_info("sctp %s:%s: path unreachable", c->host, c->port);
				}
				c->reachable = false;
			} else if (nt.state == SCTP_ADDR_AVAILABLE || nt.state == SCTP_ADDR_CONFIRMED ||
			           nt.state == SCTP_ADDR_MADE_PRIM) {
				if (!c->reachable && c->state == ST_UP)
					log_info("sctp %s:%s: path available", c->host, c->port);
				c->reachable = c->state == ST_UP;
			}
			break;
		case SCTP_SEND_FAILED_EVENT:
			if (nt.context & CTX_CTRL) {
				c->c.ctrl_failed++;
				break;
			}
			{
				struct qmsg m = { .len = (uint32_t)nt.datalen, .recs = nt.context & CTX_RECS,
				                  .session = c->base.session };
				m.p = malloc(nt.datalen ? nt.datalen : 1);
				if (!m.p || mq_push(&c->returned, m, false) != 0) {
					free(m.p);
					c->base.st.dropped++;
					c->base.st.dropped_recs += m.recs;
					break;
				}
				memcpy(m.p, nt.data, nt.datalen);
			}
			break;
		case SCTP_SHUTDOWN_EVENT:
			down = true;
			why = "collector shut down";
			break;
		default:
			break;
		}
	}
	if (down && (c->state != ST_DOWN || c->returned.n)) {
		/* a restart too: the old session ended; reconnect cleanly */
		went_down(c, why);
		return;
	}
	if (up && c->state != ST_UP)
		came_up(c, &up_note, false);
	if (c->returned.n) { /* association still up: abandoned by PR-SCTP */
		if (c->o.reliability == SCTPT_FULL) {
			for (size_t i = c->returned.n; i-- > 0;) {
				struct qmsg m = *mq_at(&c->returned, i);
				if (mq_push(&c->data, m, true) != 0)
					drop_msg(c, &m, &c->c.limit_drops, &c->c.limit_drop_recs);
				else
					c->c.requeued++;
			}
			c->c.returned += c->returned.n;
			c->returned.n = c->returned.head = c->returned.bytes = 0;
		} else {
			while (c->returned.n) {
				struct qmsg m = mq_pop(&c->returned);
				drop_msg(c, &m, &c->c.abandoned, &c->c.abandoned_recs);
			}
		}
		update_queued(c);
	}
}

/* While watching: heartbeats every 100 ms at most, and at most 100 ms +
 * 3 RTO.min apart, so a short
 * outage costs two of them (an RTT measured across an INIT retransmission
 * can otherwise hold the RTO at its maximum). */
static unsigned watch_hb(const struct sctpt *c)
{
	return c->watch && c->o.hb_ms > 100 ? 100 : c->o.hb_ms;
}

static unsigned watch_rto_max(const struct sctpt *c)
{
	unsigned m = 3 * c->o.rto_min_ms;
	if (!c->watch || m > c->o.rto_max_ms)
		m = c->o.rto_max_ms;
	return m < c->o.rto_init_ms ? c->o.rto_init_ms : m;
}

static void start_connect(struct sctpt *c)
{
	char err[200];
	struct sockaddr_storage ss;
	socklen_t sl;
	c->so = sctpio_socket((int)c->o.sndbuf, (int)(4 * c->o.sndbuf + (1u << 20)), err, sizeof(err));
	if (!c->so)
		goto fail;
	struct sctp_initmsg im = { .sinit_num_ostreams = (uint16_t)(1 + c->o.data_streams),
	                           .sinit_max_instreams = 4, .sinit_max_attempts = 4,
	                           .sinit_max_init_timeo = (uint16_t)(c->o.rto_max_ms > 65535 ? 65535 : c->o.rto_max_ms) };
	struct sctpio_timing tm = { .rto_init_ms = c->o.rto_init_ms, .rto_min_ms = c->o.rto_min_ms,
	                            .rto_max_ms = watch_rto_max(c), .hb_ms = watch_hb(c),
	                            .path_rxt = c->watch ? 1 : c->o.path_rxt, .assoc_rxt = c->o.assoc_rxt };
	struct sctp_assoc_value pr = { .assoc_id = SCTP_FUTURE_ASSOC, .assoc_value = 1 };
	if (usrsctp_setsockopt(c->so, IPPROTO_SCTP, SCTP_INITMSG, &im, sizeof(im)) != 0) {
		snprintf(err, sizeof(err), "SCTP_INITMSG: %s", strerror(errno));
		goto fail;
	}
	(void)usrsctp_setsockopt(c->so, IPPROTO_SCTP, SCTP_PR_SUPPORTED, &pr, sizeof(pr));
	if (sctpio_set_timing(c->so, &tm, c->mtu - ipudp_overhead(c->peer.ss_family), err, sizeof(err)) != 0)
		goto fail;
	sctpio_link_addr(c->link, 0, &ss, &sl);
	if (usrsctp_bind(c->so, (struct sockaddr *)&ss, sl) != 0) {
		snprintf(err, sizeof(err), "bind: %s", strerror(errno));
		goto fail;
	}
	sctpio_link_addr(c->link, c->sctp_port, &ss, &sl);
	if (usrsctp_connect(c->so, (struct sockaddr *)&ss, sl) != 0 && errno != EINPROGRESS) {
		snprintf(err, sizeof(err), "connect: %s", strerror(errno));
		goto fail;
	}
	c->state = ST_CONNECTING;
	return;
fail:
	snprintf(c->base.err, sizeof(c->base.err), "sctp %.100s:%s: %.120s", c->host, c->port, err);
	close_socket(c);
	c->state = ST_CONNECTING; /* so went_down counts a failed attempt */
	went_down(c, "connect failed");
	snprintf(c->base.err, sizeof(c->base.err), "sctp %.100s:%s: %.120s", c->host, c->port, err);
}

static void service(struct sctpt *c)
{
	if (c->in_service)
		return;
	c->in_service = true;
	if (c->so)
		read_events(c);
	if (c->state == ST_DOWN && sctpio_now_ms() >= c->next_try_ms)
		start_connect(c);
	if (c->so)
		read_events(c);
	pump(c);
	c->in_service = false;
}

static void on_service(void *arg)
{
	service(arg);
}

static void sctp_poll(struct transport *t)
{
	service((struct sctpt *)t);
}

/* Wait up to ms for the stack to make progress, serving it meanwhile. */
static void wait_some(struct sctpt *c, int ms)
{
	struct pollfd p = { .fd = sctpio_fd(), .events = POLLIN };
	if (p.fd >= 0)
		(void)poll(&p, 1, ms);
	sctpio_service();
	service(c);
}

static bool full_room(const struct sctpt *c, size_t len)
{
	return c->data.n < SCTP_QUEUE_MSGS_MAX && c->data.bytes + len <= c->qmax_bytes;
}

static int sctp_send(struct transport *t, const void *msg, size_t len, unsigned flags)
{
	struct sctpt *c = (struct sctpt *)t;
	struct qmsg m = { .len = (uint32_t)len, .session = transport_session(t), .recs = TRANSPORT_RECS_OF(flags),
	                  .flags = flags & (TRANSPORT_F_CTRL | TRANSPORT_F_FRONT) };
	if (len == 0 || len > 65535) {
		t->st.errors++;
		snprintf(t->err, sizeof(t->err), "sctp: message of %zu bytes", len);
		return ERR_ARG;
	}
	bool squeeze = false;
	if (flags & TRANSPORT_F_CTRL) {
		if (flags & TRANSPORT_F_FRONT) /* new templates replace control messages of other sessions */
			for (size_t i = c->ctrl.n; i-- > 0;) {
				struct qmsg *x = mq_at(&c->ctrl, i);
				if (x->session != m.session) {
					free(x->p);
					x->p = NULL;
					squeeze = true;
				}
			}
		if (c->ctrl.n >= SCTP_CTRL_MAX) {
			t->st.errors++;
			snprintf(t->err, sizeof(t->err), "sctp %.100s:%s: control queue full", c->host, c->port);
			return ERR_FULL;
		}
	} else if (c->o.reliability == SCTPT_FULL) {
		if (full_room(c, len))
			c->stalled = false;
		else if (c->block_ms > 0 && !c->stalled) {
			uint64_t until = sctpio_now_ms() + (uint64_t)c->block_ms;
			while (!full_room(c, len) && sctpio_now_ms() < until)
				wait_some(c, 20);
			c->stalled = !full_room(c, len); /* the collector is not taking anything */
		}
		if (!full_room(c, len)) {
			t->st.queue_drops++;
			t->st.errors++;
			snprintf(t->err, sizeof(t->err), "sctp %.100s:%s: queue full (%zu bytes), message dropped",
			         c->host, c->port, c->data.bytes);
			return ERR_FULL;
		}
	} else if (c->o.reliability == SCTPT_NONE) {
		/* never buffered: into the stack now, or dropped */
		bool ok = c->state == ST_UP && !c->held && !c->tmpl_wait && c->ctrl.n == 0 && c->data.n == 0 &&
		          inflight(c) < SCTP_NONE_WINDOW;
		m.p = (uint8_t *)msg;
		if (!ok || stack_send(c, &m, false, true) != 0)
			drop_msg(c, &(struct qmsg){ .recs = m.recs }, &c->c.limit_drops, &c->c.limit_drop_recs);
		return ERR_OK;
	} else { /* partial: keep at most buffer_limit unacknowledged */
		size_t in = inflight(c);
		while (c->data.n && in + c->data.n >= c->o.buffer_limit) {
			struct qmsg d = mq_pop(&c->data);
			drop_msg(c, &d, &c->c.limit_drops, &c->c.limit_drop_recs);
		}
		if (in + c->data.n >= c->o.buffer_limit) {
			drop_msg(c, &(struct qmsg){ .recs = m.recs }, &c->c.limit_drops, &c->c.limit_drop_recs);
			update_queued(c);
			pump(c);
			return ERR_OK;
		}
	}
	m.p = malloc(len);
	if (!m.p) {
		t->st.errors++;
		return ERR_NOMEM;
	}
	memcpy(m.p, msg, len);
	struct mq *q = (flags & TRANSPORT_F_CTRL) ? &c->ctrl : &c->data;
	if (squeeze) { /* take out the control messages freed above */
		struct mq keep = { 0 };
		while (c->ctrl.n) {
			struct qmsg x = mq_pop(&c->ctrl);
			if (x.p)
				(void)mq_push(&keep, x, false);
		}
		free(c->ctrl.v);
		c->ctrl = keep;
	}
	/* templates go ahead of control messages queued before them (options
	 * data queued while down must not reach the collector first) */
	if (mq_push(q, m, q == &c->ctrl && (flags & TRANSPORT_F_FRONT)) != 0) {
		free(m.p);
		t->st.errors++;
		return ERR_NOMEM;
	}
	update_queued(c);
	pump(c);
	return ERR_OK;
}

static bool sctp_avail(struct transport *t)
{
	struct sctpt *c = (struct sctpt *)t;
	return c->state == ST_UP && c->reachable;
}

static bool sctp_idle(struct transport *t)
{
	struct sctpt *c = (struct sctpt *)t;
	if (c->data.n || c->returned.n)
		return false;
	if (c->state != ST_UP || !c->so)
		return true; /* templates for a session that is not up yet need not wait */
	return c->ctrl.n == 0 && sctpio_unacked_bytes(c->so) <= 0;
}

void sctpt_abort(struct transport *t)
{
	if (!transport_is_sctp(t))
		return;
	struct sctpt *c = (struct sctpt *)t;
	if (!c->so)
		return;
	struct sctp_sendv_spa spa;
	memset(&spa, 0, sizeof(spa));
	spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
	spa.sendv_sndinfo.snd_flags = SCTP_ABORT;
	(void)usrsctp_sendv(c->so, c->rbuf, 0, NULL, 0, &spa, (socklen_t)sizeof(spa), SCTP_SENDV_SPA, 0);
	read_events(c); /* the stack hands back what it held, then COMM_LOST */
	if (c->so || c->state != ST_DOWN)
		went_down(c, "aborted for fail-over");
}


void sctpt_watch(struct transport *t, bool close_watch)
{
	if (!transport_is_sctp(t))
		return;
	struct sctpt *c = (struct sctpt *)t;
	if (c->watch == close_watch)
		return;
	c->watch = close_watch;
	if (!c->so)
		return;
	struct sctp_paddrparams pp;
	memset(&pp, 0, sizeof(pp));
	pp.spp_assoc_id = c->state == ST_UP ? 0 : SCTP_FUTURE_ASSOC;
	pp.spp_pathmaxrxt = (uint16_t)(close_watch ? 1 : c->o.path_rxt);
	pp.spp_hbinterval = watch_hb(c);
	pp.spp_flags = SPP_HB_ENABLE;
	(void)usrsctp_setsockopt(c->so, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof(pp));
	struct sctp_rtoinfo rto = { .srto_assoc_id = pp.spp_assoc_id, .srto_max = watch_rto_max(c) };
	(void)usrsctp_setsockopt(c->so, IPPROTO_SCTP, SCTP_RTOINFO, &rto, sizeof(rto));
}

static size_t sctp_reclaim(struct transport *t, bool abort,
                           void (*fn)(void *arg, const void *msg, size_t len, unsigned flags), void *arg)
{
	struct sctpt *c = (struct sctpt *)t;
	if (abort && c->so)
		sctpt_abort(t);
	size_t n = 0;
	while (c->data.n) {
		struct qmsg m = mq_pop(&c->data);
		fn(arg, m.p, m.len, TRANSPORT_F_RECS(m.recs));
		free(m.p);
		n++;
	}
	while (c->ctrl.n) {
		struct qmsg m = mq_pop(&c->ctrl);
		free(m.p);
	}
	c->c.reclaimed += n;
	update_queued(c);
	return n;
}

static void sctp_drain(struct transport *t, int ms)
{
	struct sctpt *c = (struct sctpt *)t;
	uint64_t until = sctpio_now_ms() + (uint64_t)ms;
	service(c);
	while (!sctp_idle(t) && sctpio_now_ms() < until)
		wait_some(c, 10);
}

/* Give up on what is held: an association with data in flight is
 * aborted (the stack hands it back), then everything queued or handed
 * back is dropped, counted. */
static void sctp_discard(struct transport *t)
{
	struct sctpt *c = (struct sctpt *)t;
	if (c->so && c->state == ST_UP && !sctp_idle(t))
		sctpt_abort(t);
	uint64_t d0 = c->base.st.dropped, r0 = c->base.st.dropped_recs;
	while (c->data.n) {
		struct qmsg m = mq_pop(&c->data);
		drop_msg(c, &m, NULL, NULL);
	}
	while (c->returned.n) {
		struct qmsg m = mq_pop(&c->returned);
		drop_msg(c, &m, NULL, NULL);
	}
	if (c->base.st.dropped > d0)
		log_warn("sctp %s:%s: %llu messages (%llu flows) never delivered, dropped at close", c->host, c->port,
		         (unsigned long long)(c->base.st.dropped - d0), (unsigned long long)(c->base.st.dropped_recs - r0));
	update_queued(c);
}

static void sctp_close(struct transport *t)
{
	struct sctpt *c = (struct sctpt *)t;
	c->closing = true;
	if (c->so && c->state == ST_UP) {
		if (!sctp_idle(t)) {
			sctp_discard(t); /* what is left comes back and is counted */
		} else {
			usrsctp_shutdown(c->so, SHUT_WR);
			uint64_t until = sctpio_now_ms() + SCTP_CLOSE_WAIT_MS;
			while (c->so && c->state == ST_UP && sctpio_now_ms() < until) {
				struct pollfd p = { .fd = sctpio_fd(), .events = POLLIN };
				(void)poll(&p, 1, 10);
				read_events(c);
			}
		}
	}
	sctp_discard(t); /* anything still queued (association never came up) */
	close_socket(c);
	for (struct sctpt **p = &open_list; *p; p = &(*p)->next_open)
		if (*p == c) {
			*p = c->next_open;
			break;
		}
	sctpio_client_del(&c->client);
	sctpio_link_close(c->link);
	mq_free(&c->ctrl);
	mq_free(&c->data);
	mq_free(&c->returned);
	free(c->inflight.v);
	free(c->source);
	transport_final(&c->base);
	free(c);
	sctpio_unref();
}

struct transport *sctpt_open(const char *rest, const struct transport_opts *to, const struct sctpt_opts *so,
                             char *err, size_t errlen)
{
	char host[128];
	const char *port;
	struct sctpt_opts defaults;
	if (!so) {
		sctpt_opts_init(&defaults);
		so = &defaults;
	}
	if (sctpt_opts_check(so, err, errlen) != 0)
		return NULL;
	unsigned sport;
	if (addr_split_hostport(rest, host, sizeof(host), &port) != 0 || parse_uint(port, 1, 65535, &sport) != 0) {
		snprintf(err, errlen, "`sctp:%s': expected sctp:HOST:PORT or sctp:[V6]:PORT", rest);
		return NULL;
	}
	char uport[16];
	snprintf(uport, sizeof(uport), "%u", so->encaps_port ? so->encaps_port : sport);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(host, uport, &hints, &res);
	if (gai != 0) {
		snprintf(err, errlen, "`sctp:%s': %s", rest, gai_strerror(gai));
		return NULL;
	}
	struct sctpt *c = calloc(1, sizeof(*c));
	if (!c) {
		freeaddrinfo(res);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(&c->peer, res->ai_addr, res->ai_addrlen);
	c->peerlen = res->ai_addrlen;
	freeaddrinfo(res);
	c->o = *so;
	c->base.ops = &transport_sctp_ops;
	c->base.reliable = true;
	c->base.split_ctrl = true;
	/* IP + UDP + SCTP common header (12) + DATA chunk header (16) */
	c->base.overhead = ipudp_overhead(c->peer.ss_family) + 12u + 16u;
	c->mtu = to && to->mtu ? to->mtu : 1500;
	snprintf(c->host, sizeof(c->host), "%s", host);
	snprintf(c->port, sizeof(c->port), "%u", sport);
	c->sctp_port = (uint16_t)sport;
	c->qmax_bytes = to && to->queue_max ? to->queue_max : SCTP_QUEUE_BYTES_DEFAULT;
	c->block_ms = to ? to->block_ms : 0;
	c->source = to && to->source ? strdup(to->source) : NULL;
	c->backoff_ms = SCTP_BACKOFF_MIN_MS;
	if (c->mtu <= c->base.overhead + 64) {
		snprintf(err, errlen, "sctp: mtu %u too small", c->mtu);
		goto fail;
	}
	if (sctpio_ref(err, errlen) != 0)
		goto fail;
	c->link = sctpio_link_connect((struct sockaddr *)&c->peer, c->peerlen, c->source, err, errlen);
	if (!c->link) {
		sctpio_unref();
		goto fail;
	}
	c->client.fn = on_service;
	c->client.arg = c;
	sctpio_client_add(&c->client);
	c->next_open = open_list;
	open_list = c;
	start_connect(c);
	return &c->base;
fail:
	free(c->source);
	free(c);
	return NULL;
}

static struct transport *sctp_open(const char *rest, const struct transport_opts *o, char *err, size_t errlen)
{
	return sctpt_open(rest, o, o ? o->sctp : NULL, err, errlen);
}

const struct transport_ops transport_sctp_ops = {
	.scheme = "sctp",
	.open = sctp_open,
	.send = sctp_send,
	.close = sctp_close,
	.discard = sctp_discard,
	.poll = sctp_poll,
	.drain = sctp_drain,
	.avail = sctp_avail,
	.reclaim = sctp_reclaim,
	.idle = sctp_idle,
};

bool transport_is_sctp(const struct transport *t)
{
	return t && t->ops == &transport_sctp_ops;
}

static const char *state_name(enum sstate s)
{
	return s == ST_UP ? "connected" : s == ST_CONNECTING ? "connecting" : "not connected";
}

int sctpt_info(const struct transport *t, struct sctpt_info *i)
{
	if (!transport_is_sctp(t))
		return -1;
	const struct sctpt *c = (const struct sctpt *)t;
	memset(i, 0, sizeof(*i));
	i->o = &c->o;
	i->state = state_name(c->state);
	snprintf(i->peer, sizeof(i->peer), "%s", c->host);
	i->port = c->sctp_port;
	i->udp_port = c->o.encaps_port ? c->o.encaps_port : c->sctp_port;
	sctpio_link_local(c->link, i->local, sizeof(i->local));
	i->local_sctp_port = c->local_port;
	i->assoc_id = c->base.session;
	i->reachable = c->reachable;
	i->pr_supported = c->pr_ok;
	i->streams_out = c->out_streams;
	i->unacked_bytes = -1;
	if (c->so && c->state == ST_UP) {
		struct sctp_status st;
		socklen_t l = sizeof(st);
		memset(&st, 0, sizeof(st));
		if (usrsctp_getsockopt(c->so, IPPROTO_SCTP, SCTP_STATUS, &st, &l) == 0) {
			i->rto_ms = st.sstat_primary.spinfo_rto;
			i->srtt_ms = st.sstat_primary.spinfo_srtt;
			i->cwnd = st.sstat_primary.spinfo_cwnd;
			i->peer_rwnd = st.sstat_rwnd;
		}
		struct sctp_timeouts tmo;
		memset(&tmo, 0, sizeof(tmo));
		l = sizeof(tmo);
		if (usrsctp_getsockopt(c->so, IPPROTO_SCTP, SCTP_TIMEOUTS, &tmo, &l) == 0) {
			i->t3_timeouts = tmo.stimo_data;
			i->hb_timeouts = tmo.stimo_heartbeat;
		}
		i->unacked_bytes = sctpio_unacked_bytes(c->so);
	}
	i->queued_msgs = c->data.n;
	i->queued_bytes = c->data.bytes;
	i->ctrl_queued = c->ctrl.n;
	i->sent_msgs = c->c.sent_data;
	i->sent_bytes = c->base.st.bytes;
	i->sent_ctrl = c->c.sent_ctrl;
	i->abandoned = c->c.abandoned;
	i->abandoned_recs = c->c.abandoned_recs;
	i->limit_drops = c->c.limit_drops;
	i->limit_drop_recs = c->c.limit_drop_recs;
	i->returned = c->c.returned;
	i->requeued = c->c.requeued;
	i->reclaimed = c->c.reclaimed;
	i->assoc_up = c->c.assoc_up;
	i->assoc_lost = c->c.assoc_lost;
	i->restarts = c->c.restarts;
	i->unreachable = c->c.unreachable;
	i->connect_failures = c->c.connect_failures;
	i->link = sctpio_link_stats(c->link);
	return 0;
}

/* ---- the stack, for the main loop ---------------------------------------- */

int sctp_stack_fd(void)
{
	return sctpio_fd();
}

void sctp_stack_service(void)
{
	sctpio_service();
}
