/* test_dest.c — the destination manager's rules, on virtual time with
 * member transports of our own (no network):
 *   - fail-over exactly when the primary has been unavailable for the
 *     fail-over time, with what it never delivered sent to the backup
 *     first, in order; nothing lost, every undeliverable record counted;
 *   - fail-over mode opens the backup only then and closes it once it has
 *     delivered what it holds after the restore; redundant mode keeps it
 *     open and gives it the templates up front;
 *   - restore exactly after the restore time without a break; a flap
 *     restarts it; a backup that fails while the primary is back makes
 *     data return at once;
 *   - templates go to the members whose session lacks them, options data
 *     only to members that have them, data only to the active member;
 *   - the flags' settings registry lays itself over configuration values;
 *   - option parsing, range checks and bad backup specs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "transport/dest.h"

/* ---- a member transport we drive by hand ---- */

#define FMAX 512

struct fake {
	struct transport base;
	char spec[64];
	bool avail;
	bool refuse;             /* queue full: refuse data */
	unsigned sent[FMAX];     /* ids of messages "on the wire" (not delivered yet) */
	unsigned nsent;
	unsigned got[FMAX];      /* ids delivered to the collector, in order */
	unsigned ngot;
	unsigned ctrl_front, ctrl_plain;
	bool closed;
	bool aborted;
};

static struct fake *fakes[8];
static unsigned nfakes, opens;
static uint64_t now;

static unsigned id_of(const void *msg)
{
	unsigned v;
	memcpy(&v, msg, sizeof(v));
	return v;
}

static int f_send(struct transport *t, const void *msg, size_t len, unsigned flags)
{
	struct fake *f = (struct fake *)t;
	if (flags & TRANSPORT_F_CTRL) {
		if (flags & TRANSPORT_F_FRONT)
			f->ctrl_front++;
		else
			f->ctrl_plain++;
		return ERR_OK;
	}
	if (f->refuse)
		return ERR_FULL;
	assert_true(f->nsent < FMAX);
	f->sent[f->nsent++] = id_of(msg);
	return ERR_OK;
}

/* The collector acknowledges everything on the wire. */
static void f_deliver(struct fake *f)
{
	for (unsigned i = 0; i < f->nsent; i++)
		f->got[f->ngot++] = f->sent[i];
	f->nsent = 0;
}

static bool f_avail(struct transport *t)
{
	return ((struct fake *)t)->avail;
}

static size_t f_reclaim(struct transport *t, bool abort, void (*fn)(void *, const void *, size_t, unsigned), void *arg)
{
	struct fake *f = (struct fake *)t;
	f->aborted |= abort;
	unsigned n = f->nsent;
	f->nsent = 0;
	for (unsigned i = 0; i < n; i++) {
		unsigned id = f->sent[i];
		fn(arg, &id, sizeof(id), TRANSPORT_F_RECS(10));
	}
	if (abort) { /* a new association follows: a new session */
		f->base.up = false;
		f->base.session++;
	}
	return n;
}

static bool f_idle(struct transport *t)
{
	return ((struct fake *)t)->nsent == 0;
}

static void f_close(struct transport *t)
{
	((struct fake *)t)->closed = true; /* freed by the test */
}

static const struct transport_ops fake_ops = {
	.scheme = "fake", .send = f_send, .close = f_close, .avail = f_avail, .reclaim = f_reclaim, .idle = f_idle,
};

static struct transport *f_open(void *arg, const char *spec, const struct transport_opts *o, char *err, size_t errlen)
{
	struct fake *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->base.ops = &fake_ops;
	f->base.reliable = true;
	f->base.up = true;
	f->base.session = 1;
	f->avail = true;
	snprintf(f->spec, sizeof(f->spec), "%s", spec);
	fakes[nfakes++] = f;
	opens++;
	return &f->base;
}

static uint64_t f_now(void *arg)
{
	return now;
}

static const struct dest_hooks hooks = { f_open, f_now, NULL };

static void reset(void)
{
	for (unsigned i = 0; i < nfakes; i++)
		free(fakes[i]);
	nfakes = opens = 0;
	now = 1000000;
}

static struct fake *by_spec(const char *spec)
{
	for (unsigned i = nfakes; i-- > 0;)
		if (strcmp(fakes[i]->spec, spec) == 0 && !fakes[i]->closed)
			return fakes[i];
	return NULL;
}

static void send_data(struct transport *t, unsigned id)
{
	assert_int_equal(transport_send(t, &id, sizeof(id), TRANSPORT_F_RECS(10)), ERR_OK);
}

static struct transport *open_dest(enum dest_mode mode, unsigned failover_ms, unsigned restore_s)
{
	struct sctp_dest_opts o;
	char err[256];
	sctp_dest_opts_init(&o);
	snprintf(o.backup, sizeof(o.backup), "127.0.0.1:5000");
	o.mode = mode;
	o.failover_ms = failover_ms;
	o.restore_s = restore_s;
	struct transport *t = dest_open_with("sctp:127.0.0.1:4739", NULL, &o, &hooks, err, sizeof(err));
	if (!t)
		fail_msg("dest_open: %s", err);
	t->hold_for_ctrl = true; /* as an exporter of v9/IPFIX sets it */
	transport_poll(t);       /* the dest sees its primary up */
	return t;
}

static void tick(struct transport *t, uint64_t ms)
{
	now += ms;
	transport_poll(t);
}

static void test_failover_and_restore(void **state)
{
	reset();
	struct transport *t = open_dest(DEST_FAILOVER, 25, 3);
	struct fake *p = by_spec("sctp:127.0.0.1:4739");
	assert_non_null(p);
	assert_int_equal(opens, 1); /* fail-over mode: no backup yet */
	for (unsigned i = 1; i <= 5; i++)
		send_data(t, i);
	f_deliver(p);
	for (unsigned i = 6; i <= 9; i++) /* in flight when the primary dies */
		send_data(t, i);
	p->avail = false;
	tick(t, 0); /* the dest sees it (in ipflowd: the association's event wakes it) */
	tick(t, 24);
	struct dest_info di;
	dest_info(t, &di);
	assert_false(di.on_backup);
	tick(t, 1); /* 25 ms unavailable: fail over */
	dest_info(t, &di);
	assert_true(di.on_backup);
	assert_int_equal(di.failovers, 1);
	assert_true(p->aborted);
	struct fake *b = by_spec("sctp:127.0.0.1:5000");
	assert_non_null(b);
	assert_int_equal(opens, 2);
	assert_int_equal(di.reclaimed, 4);
	assert_int_equal(di.reclaimed_recs, 40);
	send_data(t, 10);
	/* the backup got the primary's undelivered messages first, in order */
	assert_int_equal(b->nsent, 5);
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(b->sent[i], 6 + i);
	f_deliver(b);
	/* the primary comes back; data stays for the restore time */
	p->avail = true;
	p->base.up = true;
	tick(t, 0);
	tick(t, 2999);
	dest_info(t, &di);
	assert_true(di.on_backup);
	assert_int_equal(di.restore_left_ms, 1);
	send_data(t, 11);
	tick(t, 1);
	dest_info(t, &di);
	assert_false(di.on_backup);
	assert_int_equal(di.restores, 1);
	send_data(t, 12);
	/* what the backup had not delivered (11) went back to the primary, ahead */
	assert_int_equal(p->nsent, 2);
	assert_int_equal(p->sent[0], 11);
	assert_int_equal(p->sent[1], 12);
	f_deliver(p);
	/* fail-over mode: the backup closes once it has nothing left to deliver */
	tick(t, 1);
	assert_true(b->closed);
	/* nothing lost: every id 1..11 reached a collector */
	bool seen[13] = { false };
	for (unsigned i = 0; i < p->ngot; i++)
		seen[p->got[i]] = true;
	for (unsigned i = 0; i < b->ngot; i++)
		seen[b->got[i]] = true;
	for (unsigned i = 1; i <= 11; i++)
		assert_true(seen[i]);
	dest_info(t, &di);
	assert_int_equal(di.lost, 0);
	assert_int_equal(t->st.dropped, 0);
	transport_close(t);
	reset();
}

static void test_flap_restarts_restore(void **state)
{
	reset();
	struct transport *t = open_dest(DEST_REDUNDANT, 100, 5);
	struct fake *p = by_spec("sctp:127.0.0.1:4739"), *b = by_spec("sctp:127.0.0.1:5000");
	assert_non_null(b); /* redundant: open from the start */
	p->avail = false;
	tick(t, 0);
	tick(t, 100);
	struct dest_info di;
	dest_info(t, &di);
	assert_true(di.on_backup);
	/* flapping: up 2 s, down 0.5 s, for 20 s: never 5 s in a row */
	for (int k = 0; k < 8; k++) {
		p->avail = true;
		for (int i = 0; i < 20; i++)
			tick(t, 100);
		p->avail = false;
		for (int i = 0; i < 5; i++)
			tick(t, 100);
		dest_info(t, &di);
		assert_true(di.on_backup);
		assert_int_equal(di.restores, 0);
	}
	assert_int_equal(di.failovers, 1);
	p->avail = true;
	tick(t, 0);
	for (int i = 0; i < 49; i++)
		tick(t, 100);
	dest_info(t, &di);
	assert_true(di.on_backup);
	tick(t, 100);
	dest_info(t, &di);
	assert_false(di.on_backup);
	assert_int_equal(di.restores, 1);
	assert_false(b->closed); /* redundant: the backup stays open */
	transport_close(t);
	reset();
}

static void test_backup_fails_primary_back(void **state)
{
	reset();
	struct transport *t = open_dest(DEST_REDUNDANT, 50, 60);
	struct fake *p = by_spec("sctp:127.0.0.1:4739"), *b = by_spec("sctp:127.0.0.1:5000");
	p->avail = false;
	tick(t, 0);
	tick(t, 50);
	struct dest_info di;
	dest_info(t, &di);
	assert_true(di.on_backup);
	send_data(t, 1);
	p->avail = true;
	b->avail = false;
	tick(t, 0);
	tick(t, 49);
	dest_info(t, &di);
	assert_true(di.on_backup);
	tick(t, 1); /* the backup is down for the fail-over time and the primary answers */
	dest_info(t, &di);
	assert_false(di.on_backup);
	assert_int_equal(p->nsent, 1); /* what the backup had not delivered came back */
	assert_int_equal(p->sent[0], 1);
	transport_close(t);
	reset();
}

static void test_routing(void **state)
{
	reset();
	struct transport *t = open_dest(DEST_REDUNDANT, 25, 25);
	struct fake *p = by_spec("sctp:127.0.0.1:4739"), *b = by_spec("sctp:127.0.0.1:5000");
	/* both members lacked templates: the dest's session moved once at the first poll */
	uint32_t s0 = t->session - 1;
	assert_true(t->session >= 1);
	tick(t, 0);
	assert_int_equal(t->session, s0 + 1);
	unsigned tm = 0;
	/* options data before templates goes nowhere (it would precede them) */
	transport_send(t, &tm, sizeof(tm), TRANSPORT_F_CTRL);
	assert_int_equal(p->ctrl_plain + b->ctrl_plain, 0);
	assert_int_equal(transport_send(t, &tm, sizeof(tm), TRANSPORT_F_CTRL | TRANSPORT_F_FRONT), ERR_OK);
	assert_int_equal(p->ctrl_front, 1);
	assert_int_equal(b->ctrl_front, 1); /* the backup holds them before it is needed */
	transport_send(t, &tm, sizeof(tm), TRANSPORT_F_CTRL);
	assert_int_equal(p->ctrl_plain, 1);
	assert_int_equal(b->ctrl_plain, 1);
	send_data(t, 7);
	assert_int_equal(p->nsent, 1);
	assert_int_equal(b->nsent, 0);
	/* the backup's association restarts: only it needs templates again */
	b->base.session++;
	tick(t, 0);
	assert_int_equal(t->session, s0 + 2);
	transport_send(t, &tm, sizeof(tm), TRANSPORT_F_CTRL | TRANSPORT_F_FRONT);
	assert_int_equal(b->ctrl_front, 2);
	assert_int_equal(p->ctrl_front, 2); /* the active member always gets them */
	transport_close(t);
	reset();
}

static void test_undeliverable_counted(void **state)
{
	reset();
	struct transport *t = open_dest(DEST_REDUNDANT, 25, 25);
	struct fake *p = by_spec("sctp:127.0.0.1:4739"), *b = by_spec("sctp:127.0.0.1:5000");
	for (unsigned i = 1; i <= 3; i++)
		send_data(t, i);
	b->refuse = true; /* the backup cannot take them */
	p->avail = false;
	tick(t, 0);
	tick(t, 25);
	struct dest_info di;
	dest_info(t, &di);
	assert_true(di.on_backup);
	assert_int_equal(di.lost, 3);
	assert_int_equal(di.lost_recs, 30);
	assert_int_equal(t->st.dropped_recs, 30);
	/* new data refused by the active member: an error the exporter counts */
	unsigned id = 4;
	assert_int_not_equal(transport_send(t, &id, sizeof(id), TRANSPORT_F_RECS(10)), ERR_OK);
	transport_close(t);
	reset();
}

static void test_startup_grace(void **state)
{
	reset();
	struct sctp_dest_opts o;
	char err[256];
	sctp_dest_opts_init(&o);
	snprintf(o.backup, sizeof(o.backup), "127.0.0.1:5000");
	o.failover_ms = 25;
	struct transport *t = dest_open_with("sctp:127.0.0.1:4739", NULL, &o, &hooks, err, sizeof(err));
	assert_non_null(t);
	struct fake *p = by_spec("sctp:127.0.0.1:4739");
	p->avail = false; /* the association has not come up yet */
	struct dest_info di;
	for (int i = 0; i < 29; i++)
		tick(t, 100);
	dest_info(t, &di);
	assert_false(di.on_backup); /* 2.9 s: still its first attempt */
	tick(t, 100);
	tick(t, 25);
	dest_info(t, &di);
	assert_true(di.on_backup); /* never came up: fail over after the grace and the fail-over time */
	transport_close(t);
	reset();
}

static void test_options_and_registry(void **state)
{
	char err[256];
	enum dest_mode m;
	assert_int_equal(dest_parse_mode("redundant", &m, err, sizeof(err)), 0);
	assert_int_equal(m, DEST_REDUNDANT);
	assert_int_equal(dest_parse_mode("fail-over", &m, err, sizeof(err)), 0);
	assert_int_equal(m, DEST_FAILOVER);
	assert_int_equal(dest_parse_mode("failover", &m, err, sizeof(err)), 0);
	static const char *const bad[] = { "", "redundan", "fail over", "REDUNDANT" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(dest_parse_mode(bad[i], &m, err, sizeof(err)), -1);
	struct sctp_dest_opts o;
	sctp_dest_opts_init(&o);
	assert_int_equal(o.failover_ms, 25);
	assert_int_equal(o.restore_s, 25);
	o.failover_ms = 3601;
	assert_null(dest_open_with("sctp:127.0.0.1:1", NULL, &o, &hooks, err, sizeof(err)));
	sctp_dest_opts_init(&o);
	snprintf(o.backup, sizeof(o.backup), "tcp:127.0.0.1:2");
	assert_null(dest_open_with("sctp:127.0.0.1:1", NULL, &o, &hooks, err, sizeof(err)));
	assert_non_null(strstr(err, "primary's transport"));
	snprintf(o.backup, sizeof(o.backup), "127.0.0.1:1");
	assert_null(dest_open_with("sctp:127.0.0.1:1", NULL, &o, &hooks, err, sizeof(err)));
	/* flags lay themselves over what the configuration says */
	struct sctp_dest_opts f, c;
	sctp_dest_opts_init(&f);
	f.sctp.hb_ms = 100;
	f.restore_s = 3;
	f.failover_ms = 999; /* not in the mask: ignored */
	assert_int_equal(dest_extra_set("sctp:10.0.0.1:4739", DEST_X_HB | DEST_X_RESTORE, &f), 0);
	sctp_dest_opts_init(&c);
	c.failover_ms = 50;
	dest_extra_apply("sctp:10.0.0.1:4739", &c);
	assert_int_equal(c.sctp.hb_ms, 100);
	assert_int_equal(c.restore_s, 3);
	assert_int_equal(c.failover_ms, 50);
	sctp_dest_opts_init(&c);
	dest_extra_apply("sctp:10.0.0.2:4739", &c);
	assert_int_equal(c.sctp.hb_ms, 500);
	reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failover_and_restore),
		cmocka_unit_test(test_flap_restarts_restore),
		cmocka_unit_test(test_backup_fails_primary_back),
		cmocka_unit_test(test_routing),
		cmocka_unit_test(test_undeliverable_counted),
		cmocka_unit_test(test_startup_grace),
		cmocka_unit_test(test_options_and_registry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
