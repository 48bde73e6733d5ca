/* transport.c — the table of transport schemes. */
#include "transport/transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/err.h"
#include "lib/log.h"
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

void transport_close_final(struct transport *t, struct transport_stats *final)
{
	*final = t->st; /* a close that counts nothing more leaves these */
	t->final = final;
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

/* --- retiring: transports closed once what they hold has gone ------------ */

#define RETIRE_MAX 64

static struct retiring {
	struct transport *t;
	uint64_t until_ms;              /* monotonic */
	uint64_t dropped, dropped_recs; /* the transport's counts when it retired */
	struct transport_retired *acct; /* where its losses count */
} retiring[RETIRE_MAX];
static size_t nretiring;
static struct transport_retired retired; /* the process's account */

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Close r's transport, counting what it gave up since it retired. */
static void retire_close(struct retiring *r)
{
	struct transport *t = r->t;
	struct transport_retired *a = r->acct;
	transport_poll(t);
	if (transport_busy(t)) {
		log_warn("a removed export destination still held %llu bytes at its deadline: discarded, counted",
		         (unsigned long long)t->st.queued);
		transport_discard(t); /* what is left is lost: counted before close frees t */
		a->timed_out++;
	}
	struct transport_stats fin;
	transport_close_final(t, &fin);
	a->lost_msgs += fin.dropped - r->dropped;
	a->lost_recs += fin.dropped_recs - r->dropped_recs;
	a->closed++;
}

/* One more of acct's transports waits. */
static void acct_wait(struct transport_retired *acct)
{
	if (++acct->waiting > acct->high_water)
		acct->high_water = acct->waiting;
}

/* Take entry i off the list (its transport closed). */
static void retire_unlink(size_t i)
{
	retiring[i].acct->waiting--;
	retiring[i] = retiring[--nretiring];
}

void transport_retire_to(struct transport *t, int ms, struct transport_retired *acct)
{
	if (!t)
		return;
	if (!acct)
		acct = &retired;
	transport_poll(t);
	struct retiring r = { t, mono_ms() + (uint64_t)(ms > 0 ? ms : 0), t->st.dropped, t->st.dropped_recs, acct };
	acct->held_msgs += r.dropped;
	acct->held_recs += r.dropped_recs;
	if (!transport_busy(t)) {
		retire_close(&r);
		return;
	}
	if (nretiring == RETIRE_MAX) { /* no room to wait in the background: wait here */
		transport_drain(t, ms);
		retire_close(&r);
		return;
	}
	static bool at_exit;
	if (!at_exit) /* a program that ends without draining still closes them */
		at_exit = atexit(transport_retire_drain) == 0;
	retiring[nretiring++] = r;
	acct_wait(acct);
}

void transport_retire(struct transport *t, int ms)
{
	transport_retire_to(t, ms, NULL);
}

void transport_retire_poll(void)
{
	if (!nretiring)
		return;
	uint64_t now = mono_ms();
	for (size_t i = 0; i < nretiring;) {
		struct retiring *r = &retiring[i];
		transport_poll(r->t);
		if (transport_busy(r->t) && now < r->until_ms) {
			i++;
			continue;
		}
		retire_close(r);
		retire_unlink(i);
	}
}

/* Every retiring transport of acct (NULL: of every account), each up to
 * its time. */
static void drain_of(const struct transport_retired *acct)
{
	/* downwards: what retire_unlink moves into i was looked at already */
	for (size_t i = nretiring; i-- > 0;) {
		struct retiring *r = &retiring[i];
		if (acct && r->acct != acct)
			continue;
		uint64_t now = mono_ms();
		if (transport_busy(r->t) && now < r->until_ms)
			transport_drain(r->t, (int)(r->until_ms - now));
		retire_close(r);
		retire_unlink(i);
	}
}

void transport_retire_drain(void)
{
	drain_of(NULL);
}

void transport_retire_drain_to(struct transport_retired *acct)
{
	drain_of(acct ? acct : &retired);
}

void transport_retire_forget(struct transport_retired *acct)
{
	if (!acct || acct == &retired)
		return;
	for (size_t i = 0; i < nretiring; i++)
		if (retiring[i].acct == acct) {
			retiring[i].acct = &retired;
			acct->waiting--;
			acct_wait(&retired);
		}
}

size_t transport_retiring(void)
{
	return retired.waiting;
}

const struct transport_retired *transport_retired_stats(void)
{
	return &retired;
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
