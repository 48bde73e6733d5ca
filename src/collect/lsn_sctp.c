/* lsn_sctp.c — SCTP listener (sctp:[ADDR:]PORT) for ipflow-collect: SCTP
 * carried over UDP (RFC 6951) on UDP port and SCTP port PORT, through the
 * process's usrsctp stack (transport/sctp_listen.h). Many associations,
 * several streams each; every association is one transport session
 * (numbered by lsn_new_session, so its templates are its own, RFC 7011
 * §10.2), ended by SCTP shutdown, abort, loss of the association or a
 * restart by the exporter (SCTP_RESTART: the old session ends, a new one
 * begins on the same socket). Messages an exporter abandoned (PR-SCTP,
 * FORWARD-TSN) leave holes in their stream's sequence numbers: counted
 * here (abandoned), and seen as loss by the session layer through the
 * export sequence numbers.
 *
 * The listener's fd is the SCTP stack's descriptor (one for every SCTP
 * listener and exporter of the process); ready() runs the stack, which
 * delivers through the callbacks below. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "collect/listener.h"
#include "transport/sctp.h"
#include "transport/sctp_listen.h"

struct sctp_lsn {
	struct listener base;
	struct sctprx *rx;
	uint64_t ups, downs, restarts;
};

static void peer_of(struct lsn_peer *p, const struct sockaddr *sa, socklen_t len)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, sa, len < sizeof(ss) ? len : sizeof(ss));
	lsn_peer_from(p, &ss);
}

static void on_msg(void *arg, const struct sctprx_msg *m)
{
	struct sctp_lsn *s = arg;
	struct lsn_msg lm;
	memset(&lm, 0, sizeof(lm));
	peer_of(&lm.peer, m->peer, m->peerlen);
	lm.session = m->session;
	lm.stream = m->sid;
	lm.transport = LSN_T_SCTP;
	lm.p = m->data;
	lm.len = m->len;
	lm.recv_us = lsn_now_us();
	s->base.st.msgs++;
	s->base.st.bytes += m->len;
	if (s->base.to.msg)
		s->base.to.msg(s->base.to.arg, &lm);
}

static void on_event(void *arg, int ev, uint32_t session, uint32_t old, const struct sockaddr *peer, socklen_t len)
{
	struct sctp_lsn *s = arg;
	struct lsn_peer p;
	peer_of(&p, peer, len);
	if (ev == SCTPRX_UP) {
		s->ups++;
		s->base.st.conns++;
		return;
	}
	uint32_t ended = ev == SCTPRX_RESTART ? old : session;
	if (ev == SCTPRX_RESTART)
		s->restarts++;
	else
		s->downs++;
	if (s->base.to.session_end)
		s->base.to.session_end(s->base.to.arg, &p, ended);
}

static struct listener *sctp_open(const char *rest, const struct listener_cfg *cfg, const struct lsn_sink *to,
                                  char *err, size_t errlen)
{
	struct sctp_lsn *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->base.to = *to;
	struct sctprx_opts o = { .new_session = lsn_new_session };
	if (cfg && cfg->rcvbuf)
		o.rcvbuf = cfg->rcvbuf;
	struct sctprx_cb cb = { on_msg, on_event, s };
	s->rx = sctprx_open(rest, &o, &cb, err, errlen);
	if (!s->rx) {
		free(s);
		return NULL;
	}
	s->base.ops = &listener_sctp_ops;
	s->base.fd = sctp_stack_fd();
	s->base.port = sctprx_port(s->rx);
	const char *colon = strrchr(rest, ':');
	snprintf(s->base.name, sizeof(s->base.name), "sctp:%.*s%s%u", colon ? (int)(colon - rest) : 0, rest,
	         colon ? ":" : "", s->base.port);
	return &s->base;
}

static int sctp_ready(struct listener *l, uint64_t now_us)
{
	uint64_t before = l->st.msgs;
	(void)now_us;
	sctp_stack_service();
	return (int)(l->st.msgs - before);
}

static void sctp_show(const struct listener *l, FILE *out)
{
	const struct sctp_lsn *s = (const struct sctp_lsn *)l;
	const struct sctprx_stats *st = sctprx_stats(s->rx);
	fprintf(out, "    %llu associations (%llu now, %llu refused), %llu restarts, %llu ended\n",
	        (unsigned long long)st->assocs_total, (unsigned long long)st->assocs_now,
	        (unsigned long long)st->assocs_refused, (unsigned long long)s->restarts, (unsigned long long)s->downs);
	fprintf(out, "    %llu messages abandoned by exporters (FORWARD-TSN holes in stream sequence numbers)\n",
	        (unsigned long long)st->gaps);
	fprintf(out, "    %llu messages too long, %llu partial deliveries aborted, %llu peers (%llu refused)\n",
	        (unsigned long long)st->too_long, (unsigned long long)st->partial_aborted,
	        (unsigned long long)st->peers, (unsigned long long)st->peers_refused);
}

static void sctp_lclose(struct listener *l)
{
	struct sctp_lsn *s = (struct sctp_lsn *)l;
	sctprx_close(s->rx);
	free(s);
}

const struct listener_ops listener_sctp_ops = {
	.scheme = "sctp",
	.open = sctp_open,
	.ready = sctp_ready,
	.show = sctp_show,
	.close = sctp_lclose,
};
