/* transport.c — the table of transport schemes. */
#include "transport/transport.h"

#include <stdio.h>
#include <string.h>

#include "lib/err.h"
#include "transport/dest.h"

static const struct transport_ops *const schemes[] = {
	&transport_udp_ops,
	&transport_file_ops,
	&transport_tcp_ops,
	&transport_sctp_ops,
};

struct transport *transport_open(const char *spec, const struct transport_opts *o, char *err, size_t errlen)
{
	static const struct transport_opts defaults = { 0 };
	const char *colon = strchr(spec, ':');
	if (!o)
		o = &defaults;
	if (!o->member && (strncmp(spec, "sctp:", 5) == 0 || (o->dest && o->dest->backup[0])))
		return dest_open(spec, o, o->dest, err, errlen);
	if (colon) {
		size_t n = (size_t)(colon - spec);
		for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
			if (strlen(schemes[i]->scheme) != n || strncmp(spec, schemes[i]->scheme, n) != 0)
				continue;
			struct transport *t = schemes[i]->open(colon + 1, o, err, errlen);
			if (t && !schemes[i]->poll)
				t->up = true; /* datagram and file transports are always "up" */
			return t;
		}
	}
	if (errlen)
		snprintf(err, errlen, "`%s': not udp:HOST:PORT, tcp:HOST:PORT, sctp:HOST:PORT or file:PATH", spec);
	return NULL;
}

static transport_observer_fn observer;
static void *observer_arg;

void transport_set_observer(transport_observer_fn fn, void *arg)
{
	observer = fn;
	observer_arg = arg;
}

int transport_send(struct transport *t, const void *msg, size_t len, unsigned flags)
{
	int rc = t->ops->send(t, msg, len, flags);
	if (observer)
		observer(observer_arg, t, msg, len, flags, rc);
	return rc;
}

void transport_close(struct transport *t)
{
	if (t)
		t->ops->close(t);
}

uint32_t transport_session(const struct transport *t)
{
	if (!t->reliable)
		return 0;
	return t->up ? t->session : t->session + 1;
}

void transport_poll(struct transport *t)
{
	if (t->ops->poll)
		t->ops->poll(t);
}

void transport_drain(struct transport *t, int ms)
{
	if (t->ops->drain)
		t->ops->drain(t, ms);
}

bool transport_avail(struct transport *t)
{
	return t->ops->avail ? t->ops->avail(t) : t->up;
}

bool transport_busy(struct transport *t)
{
	return t->st.queued || !transport_idle(t);
}

void transport_retire(struct transport *t, int ms)
{
	if (!t)
		return;
	transport_poll(t);
	if (transport_busy(t))
		transport_drain(t, ms);
	transport_close(t);
}

void transport_discard(struct transport *t)
{
	if (t && t->ops->discard)
		t->ops->discard(t);
}

bool transport_idle(struct transport *t)
{
	return t->ops->idle ? t->ops->idle(t) : true;
}
