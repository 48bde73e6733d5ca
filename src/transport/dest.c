/* dest.c — primary/backup destinations with fail-over and restore (see
 * dest.h). */
#include "transport/dest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/log.h"
#include "transport/sctpio.h"

#define PRIMARY 0
#define BACKUP 1
#define RETIRE_MAX_MS 30000u   /* fail-over mode: a restored backup gets this long to deliver what it holds */
#define UDP_PROBE_MS 1000u     /* UDP primary on the backup: re-sent the last control message this often */
#define STARTUP_GRACE_MS 3000u /* a primary that has never been up gets this long to come up */

void sctp_dest_opts_init(struct sctp_dest_opts *o)
{
	memset(o, 0, sizeof(*o));
	sctpt_opts_init(&o->sctp);
	o->mode = DEST_FAILOVER;
	o->failover_ms = DEST_FAILOVER_MS_DEFAULT;
	o->restore_s = DEST_RESTORE_S_DEFAULT;
}

static const struct {
	const char *name;
	enum dest_mode mode;
} mode_names[] = {
	{ "fail-over", DEST_FAILOVER },
	{ "failover", DEST_FAILOVER },
	{ "redundant", DEST_REDUNDANT },
};

int dest_parse_mode(const char *s, enum dest_mode *m, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (strcmp(s, mode_names[i].name) == 0) {
			*m = mode_names[i].mode;
			return 0;
		}
	snprintf(err, errlen, "backup mode `%.64s': not fail-over or redundant", s);
	return -1;
}

const char *dest_mode_name(enum dest_mode m)
{
	return m == DEST_REDUNDANT ? "redundant" : "fail-over";
}

struct member {
	struct transport *t;
	char spec[300];
	uint32_t tmpl_for;      /* transport_session() the templates last went to */
	bool tmpl_known;
	uint64_t msgs, recs, ctrl, refused;
	uint64_t dropped_before, dropped_recs_before; /* drops of its earlier (closed) transports */
	uint64_t retire_at;     /* fail-over mode backup being closed: deadline */
};

struct dest {
	struct transport base;
	struct sctp_dest_opts o;
	struct sctpt_opts bsctp; /* the backup's: its own UDP port */
	struct transport_opts to;
	char source[256];
	bool has_source;
	struct member m[2];
	bool has_backup;
	int active;
	uint64_t down_since;    /* active member unavailable since (0: available) */
	uint64_t restore_since; /* on the backup: primary available since (0: not) */
	bool need_tmpl;         /* session bumped for a member that lacks templates */
	uint64_t failovers, restores, reclaimed, reclaimed_recs, lost, lost_recs;
	uint64_t last_switch_ms, last_probe_ms;
	uint64_t opened_ms;
	bool primary_was_up;
	uint8_t *probe;         /* copy of the last control-only message (UDP probing) */
	size_t probe_len;
	bool in_service;
	bool client_on;
	struct sctpio_client client;
	struct dest_hooks hooks;
};

static uint64_t now_of(const struct dest *d)
{
	return d->hooks.now_ms ? d->hooks.now_ms(d->hooks.arg) : sctpio_now_ms();
}

static bool member_avail(struct member *m)
{
	return m->t && transport_avail(m->t);
}

static bool member_needs_tmpl(const struct member *m, const struct dest *d)
{
	return m->t && d->base.hold_for_ctrl && m->t->reliable &&
	       (!m->tmpl_known || m->tmpl_for != transport_session(m->t));
}

static int member_open(struct dest *d, int i, char *err, size_t errlen)
{
	struct member *m = &d->m[i];
	struct transport_opts to = d->to;
	to.sctp = i == BACKUP ? &d->bsctp : &d->o.sctp;
	to.dest = NULL;
	to.member = true;
	m->t = d->hooks.open ? d->hooks.open(d->hooks.arg, m->spec, &to, err, errlen)
	                     : transport_open(m->spec, &to, err, errlen);
	if (!m->t)
		return -1;
	m->t->hold_for_ctrl = d->base.hold_for_ctrl;
	m->tmpl_known = false;
	m->retire_at = 0;
	return 0;
}

static void count_lost(void *arg, const void *msg, size_t len, unsigned flags)
{
	struct dest *d = arg;
	d->lost++;
	d->lost_recs += TRANSPORT_RECS_OF(flags);
}

/* Close member i; what it still holds is lost and counted. */
static void member_close(struct dest *d, int i)
{
	struct member *m = &d->m[i];
	if (!m->t)
		return;
	if (m->t->ops->reclaim && !transport_idle(m->t))
		m->t->ops->reclaim(m->t, true, count_lost, d);
	struct transport_stats fin; /* what its close still counts, too */
	transport_close_final(m->t, &fin);
	m->dropped_before += fin.dropped;
	m->dropped_recs_before += fin.dropped_recs;
	m->t = NULL;
}

/* Straight to the member (not transport_send: a send observer sees the
 * dest's send, once). */
static int member_send(struct member *m, const void *msg, size_t len, unsigned flags)
{
	return m->t->ops->send(m->t, msg, len, flags);
}

/* Data to member i; on refusal the records are lost (counted). */
static int member_data(struct dest *d, int i, const void *msg, size_t len, unsigned flags)
{
	struct member *m = &d->m[i];
	int rc = m->t ? member_send(m, msg, len, flags) : ERR_IO;
	if (rc == ERR_OK) {
		m->msgs++;
		m->recs += TRANSPORT_RECS_OF(flags);
	} else {
		m->refused++;
	}
	return rc;
}

struct move_ctx {
	struct dest *d;
	int to;
	uint64_t n, recs;
};

static void move_one(void *arg, const void *msg, size_t len, unsigned flags)
{
	struct move_ctx *x = arg;
	if (member_data(x->d, x->to, msg, len, flags) == ERR_OK) {
		x->n++;
		x->recs += TRANSPORT_RECS_OF(flags);
	} else {
		x->d->lost++;
		x->d->lost_recs += TRANSPORT_RECS_OF(flags);
	}
}

/* Hand what member from has not delivered to member to. */
static void move_undelivered(struct dest *d, int from, int to, bool abort)
{
	struct member *f = &d->m[from];
	if (!f->t || !f->t->ops->reclaim)
		return;
	struct move_ctx x = { d, to, 0, 0 };
	f->t->ops->reclaim(f->t, abort, move_one, &x);
	d->reclaimed += x.n;
	d->reclaimed_recs += x.recs;
	if (x.n)
		log_note("export %s: %llu undelivered messages (%llu flows) sent again to %s", d->m[PRIMARY].spec,
		         (unsigned long long)x.n, (unsigned long long)x.recs, d->m[to].spec);
}

static void fail_over(struct dest *d, uint64_t now)
{
	/* while the backup has the data, the primary's path is watched
	 * closely, so a flapping link keeps restarting the restore time */
	char err[256];
	if (!d->m[BACKUP].t && member_open(d, BACKUP, err, sizeof(err)) != 0) {
		log_err("export %s: cannot open the backup: %s", d->m[PRIMARY].spec, err);
		return;
	}
	d->m[BACKUP].retire_at = 0;
	d->active = BACKUP;
	d->failovers++;
	d->last_switch_ms = now;
	d->restore_since = 0;
	d->down_since = member_avail(&d->m[BACKUP]) ? 0 : now;
	log_warn("export %s: primary unavailable for %u ms, failing over to %s", d->m[PRIMARY].spec,
	         d->o.failover_ms, d->m[BACKUP].spec);
	move_undelivered(d, PRIMARY, BACKUP, true);
	sctpt_watch(d->m[PRIMARY].t, true);
}

static void restore(struct dest *d, uint64_t now, const char *why)
{
	d->active = PRIMARY;
	d->restores++;
	d->last_switch_ms = now;
	d->restore_since = 0;
	d->down_since = 0;
	log_note("export %s: %s, data returns to the primary", d->m[PRIMARY].spec, why);
	sctpt_watch(d->m[PRIMARY].t, false);
	move_undelivered(d, BACKUP, PRIMARY, false);
	if (d->o.mode == DEST_FAILOVER && d->m[BACKUP].t)
		d->m[BACKUP].retire_at = now + RETIRE_MAX_MS;
}

/* What member m has lost: messages (*recs: their flows), its closed
 * transports' and its open one's. */
static uint64_t member_dropped(const struct member *m, uint64_t *recs)
{
	*recs = m->dropped_recs_before + (m->t ? m->t->st.dropped_recs : 0);
	return m->dropped_before + (m->t ? m->t->st.dropped : 0);
}

/* What d has lost: its own (no member took a message) and its members'. */
static uint64_t dest_dropped(const struct dest *d, uint64_t *recs)
{
	uint64_t dropped = d->lost, r;
	*recs = d->lost_recs;
	for (int i = 0; i < 2; i++) {
		dropped += member_dropped(&d->m[i], &r);
		*recs += r;
	}
	return dropped;
}

static void sum_stats(struct dest *d)
{
	struct transport_stats *s = &d->base.st;
	uint64_t recs, queued = 0, msgs = 0, bytes = 0;
	uint64_t dropped = dest_dropped(d, &recs);
	for (int i = 0; i < 2; i++) {
		struct member *m = &d->m[i];
		if (m->t) {
			queued += m->t->st.queued;
			msgs += m->t->st.msgs;
			bytes += m->t->st.bytes;
		}
	}
	s->dropped = dropped;
	s->dropped_recs = recs;
	s->queued = queued;
	s->msgs = msgs;
	s->bytes = bytes;
	struct transport *a = d->m[d->active].t;
	if (a) {
		s->refused = a->st.refused;
		s->connects = a->st.connects;
		s->disconnects = a->st.disconnects;
		snprintf(d->base.err, sizeof(d->base.err), "%s", a->err);
	}
}

/* The state machine: run on every send (cheap: members are not polled),
 * every poll and every stack wakeup. */
static void service(struct dest *d, bool poll_members)
{
	if (d->in_service)
		return;
	d->in_service = true;
	uint64_t now = now_of(d);
	for (int i = 0; i < 2; i++)
		if (d->m[i].t) {
			d->m[i].t->hold_for_ctrl = d->base.hold_for_ctrl;
			if (poll_members)
				transport_poll(d->m[i].t);
		}
	if (d->has_backup) {
		struct member *p = &d->m[PRIMARY], *b = &d->m[BACKUP];
		bool pa = member_avail(p);
		if (pa)
			d->primary_was_up = true;
		else if (!d->primary_was_up && d->active == PRIMARY && now - d->opened_ms < STARTUP_GRACE_MS) {
			pa = true; /* still coming up for the first time: not a failure yet */
			if (d->client_on)
				sctpio_client_at(&d->client, d->opened_ms + STARTUP_GRACE_MS);
		}
		if (d->active == PRIMARY) {
			if (pa) {
				d->down_since = 0;
			} else {
				if (!d->down_since)
					d->down_since = now;
				if (now - d->down_since >= d->o.failover_ms)
					fail_over(d, now);
				else if (d->client_on)
					sctpio_client_at(&d->client, d->down_since + d->o.failover_ms);
			}
		} else {
			bool ba = member_avail(b);
			if (ba)
				d->down_since = 0;
			else if (!d->down_since)
				d->down_since = now;
			if (pa) {
				if (!d->restore_since)
					d->restore_since = now;
				uint64_t r = (uint64_t)d->o.restore_s * 1000u;
				if (now - d->restore_since >= r)
					restore(d, now, "primary available again for the restore time");
				else if (!ba && now - d->down_since >= d->o.failover_ms)
					restore(d, now, "backup unavailable, primary available");
				else if (d->client_on) /* look again soon: a flap must restart the wait */
					sctpio_client_at(&d->client, now + (d->o.sctp.hb_ms < 100 ? d->o.sctp.hb_ms : 100));
			} else {
				d->restore_since = 0; /* a flap starts the restore time over */
				/* UDP cannot tell the primary is back unless it is sent something */
				if (!p->t->reliable && d->probe && now - d->last_probe_ms >= UDP_PROBE_MS) {
					d->last_probe_ms = now;
					(void)member_send(p, d->probe, d->probe_len, TRANSPORT_F_CTRL);
				}
			}
		}
		/* fail-over mode: a restored backup closes once it has delivered what it holds */
		if (d->o.mode == DEST_FAILOVER && d->active == PRIMARY && b->t && b->retire_at &&
		    (transport_idle(b->t) || now >= b->retire_at)) {
			member_close(d, BACKUP);
			log_info("export %s: backup %s closed", p->spec, b->spec);
		}
	}
	/* a member with a new session needs templates: the exporter sends
	 * them when the session it sees changes */
	bool need = false;
	for (int i = 0; i < 2; i++)
		if (member_needs_tmpl(&d->m[i], d))
			need = true;
	if (need && !d->need_tmpl) {
		d->base.session++;
		d->need_tmpl = true;
	}
	sum_stats(d);
	d->in_service = false;
}

static void on_service(void *arg)
{
	service(arg, false); /* the stack serves SCTP members itself */
}

static int dest_send(struct transport *t, const void *msg, size_t len, unsigned flags)
{
	struct dest *d = (struct dest *)t;
	service(d, false);
	if (!(flags & TRANSPORT_F_CTRL)) {
		int rc = member_data(d, d->active, msg, len, flags);
		sum_stats(d);
		return rc;
	}
	/* templates to members whose session lacks them; other control
	 * messages to every member in step (and always the active one) */
	bool sent = false;
	for (int i = 0; i < 2; i++) {
		struct member *m = &d->m[i];
		if (!m->t)
			continue;
		bool needs = !m->tmpl_known || m->tmpl_for != transport_session(m->t);
		/* options data must not reach a session before its templates */
		bool go = (flags & TRANSPORT_F_FRONT) ? (needs || !m->t->reliable || i == d->active)
		                                      : (!needs || !m->t->reliable);
		if (!go)
			continue;
		if (member_send(m, msg, len, flags) == ERR_OK) {
			sent = true;
			m->ctrl++;
			if (flags & TRANSPORT_F_FRONT) {
				m->tmpl_for = transport_session(m->t);
				m->tmpl_known = true;
			}
		}
	}
	if (flags & TRANSPORT_F_FRONT)
		d->need_tmpl = false;
	if (TRANSPORT_RECS_OF(flags) == 0 && len <= 65535) { /* kept to probe a UDP primary */
		uint8_t *p = realloc(d->probe, len);
		if (p) {
			memcpy(p, msg, len);
			d->probe = p;
			d->probe_len = len;
		}
	}
	sum_stats(d);
	return sent ? ERR_OK : ERR_IO;
}

static void dest_poll(struct transport *t)
{
	service((struct dest *)t, true);
}

static void dest_drain(struct transport *t, int ms)
{
	struct dest *d = (struct dest *)t;
	uint64_t until = now_of(d) + (uint64_t)(ms > 0 ? ms : 0);
	service(d, true);
	for (int i = 0; i < 2; i++) {
		uint64_t now = now_of(d);
		if (d->m[i].t && now < until)
			transport_drain(d->m[i].t, (int)(until - now));
	}
	sum_stats(d);
}

static bool dest_avail(struct transport *t)
{
	struct dest *d = (struct dest *)t;
	return member_avail(&d->m[d->active]);
}

static bool dest_idle(struct transport *t)
{
	struct dest *d = (struct dest *)t;
	for (int i = 0; i < 2; i++)
		if (d->m[i].t && !transport_idle(d->m[i].t))
			return false;
	return true;
}

/* Give up on what both members hold, counted as lost. */
static void dest_discard(struct transport *t)
{
	struct dest *d = (struct dest *)t;
	for (int i = 0; i < 2; i++) {
		struct member *m = &d->m[i];
		if (!m->t)
			continue;
		if (m->t->ops->reclaim && !transport_idle(m->t))
			m->t->ops->reclaim(m->t, true, count_lost, d);
		transport_discard(m->t);
	}
	sum_stats(d);
}

static void dest_close(struct transport *t)
{
	struct dest *d = (struct dest *)t;
	if (d->client_on)
		sctpio_client_del(&d->client);
	for (int i = 0; i < 2; i++)
		member_close(d, i);
	if (d->base.final) { /* the members' losses, their closes' included */
		*d->base.final = d->base.st;
		d->base.final->dropped = dest_dropped(d, &d->base.final->dropped_recs);
	}
	free(d->probe);
	free(d);
}

static const struct transport_ops dest_ops = {
	.scheme = "dest",
	.send = dest_send,
	.close = dest_close,
	.discard = dest_discard,
	.poll = dest_poll,
	.drain = dest_drain,
	.avail = dest_avail,
	.idle = dest_idle,
};

bool transport_is_dest(const struct transport *t)
{
	return t && t->ops == &dest_ops;
}

/* The backup spec: "scheme:H:P", or "H:P" with the primary's scheme. */
static int backup_spec(const char *primary, const char *b, char *out, size_t len)
{
	const char *colon = strchr(primary, ':');
	bool has_scheme = false;
	static const char *const schemes[] = { "sctp:", "udp:", "tcp:" };
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncmp(b, schemes[i], strlen(schemes[i])) == 0)
			has_scheme = true;
	int n = has_scheme ? snprintf(out, len, "%s", b)
	                   : snprintf(out, len, "%.*s:%s", (int)(colon - primary), primary, b);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

struct transport *dest_open(const char *spec, const struct transport_opts *to, const struct sctp_dest_opts *o,
                            char *err, size_t errlen)
{
	return dest_open_with(spec, to, o, NULL, err, errlen);
}

struct transport *dest_open_with(const char *spec, const struct transport_opts *to, const struct sctp_dest_opts *o,
                                 const struct dest_hooks *h, char *err, size_t errlen)
{
	struct dest *d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (h)
		d->hooks = *h;
	if (o)
		d->o = *o;
	else
		sctp_dest_opts_init(&d->o);
	if (d->o.failover_ms > DEST_FAILOVER_MS_MAX || d->o.restore_s > DEST_RESTORE_S_MAX) {
		snprintf(err, errlen, "backup fail-over %u ms (0-%u) or restore-time %u s (0-%u) out of range",
		         d->o.failover_ms, DEST_FAILOVER_MS_MAX, d->o.restore_s, DEST_RESTORE_S_MAX);
		goto fail;
	}
	if (to)
		d->to = *to;
	if (to && to->source) {
		snprintf(d->source, sizeof(d->source), "%s", to->source);
		d->to.source = d->source;
	}
	d->to.sctp = &d->o.sctp;
	d->bsctp = d->o.sctp;
	d->bsctp.encaps_port = d->o.backup_udp_port;
	const char *colon = strchr(spec, ':');
	if (!colon || snprintf(d->m[PRIMARY].spec, sizeof(d->m[PRIMARY].spec), "%s", spec) >= (int)sizeof(d->m[0].spec)) {
		snprintf(err, errlen, "`%s': not scheme:HOST:PORT", spec);
		goto fail;
	}
	d->has_backup = d->o.backup[0] != 0;
	if (d->has_backup) {
		if (backup_spec(spec, d->o.backup, d->m[BACKUP].spec, sizeof(d->m[BACKUP].spec)) != 0) {
			snprintf(err, errlen, "backup `%s': too long", d->o.backup);
			goto fail;
		}
		size_t a = (size_t)(colon - spec), b = (size_t)(strchr(d->m[BACKUP].spec, ':') - d->m[BACKUP].spec);
		if (a != b || strncmp(spec, d->m[BACKUP].spec, a) != 0 ||
		    !(strncmp(spec, "sctp:", 5) == 0 || strncmp(spec, "udp:", 4) == 0 || strncmp(spec, "tcp:", 4) == 0)) {
			snprintf(err, errlen, "backup %s for %s: a backup must use the primary's transport (sctp, tcp or udp)",
			         d->m[BACKUP].spec, spec);
			goto fail;
		}
		if (strcmp(d->m[BACKUP].spec, spec) == 0) {
			snprintf(err, errlen, "backup %s is the primary itself", d->m[BACKUP].spec);
			goto fail;
		}
	}
	if (member_open(d, PRIMARY, err, errlen) != 0)
		goto fail;
	if (d->has_backup && d->o.mode == DEST_REDUNDANT && member_open(d, BACKUP, err, errlen) != 0) {
		member_close(d, PRIMARY);
		goto fail;
	}
	struct transport *p = d->m[PRIMARY].t;
	d->base.ops = &dest_ops;
	d->base.reliable = p->reliable;
	/* with a backup, templates travel alone, so a control message sent to
	 * every member never carries flow records twice */
	d->base.split_ctrl = p->split_ctrl || d->has_backup;
	/* room for an IPv6 backup path behind an IPv4 primary */
	d->base.overhead = p->overhead + (d->has_backup ? 20 : 0);
	d->base.up = true; /* the dest always takes messages; sessions are its members' */
	d->active = PRIMARY;
	d->opened_ms = now_of(d);
	if (sctpio_running() && !d->hooks.now_ms) {
		d->client.fn = on_service;
		d->client.arg = d;
		sctpio_client_add(&d->client);
		d->client_on = true;
	}
	return &d->base;
fail:
	free(d);
	return NULL;
}

int dest_info(const struct transport *t, struct dest_info *i)
{
	if (!transport_is_dest(t))
		return -1;
	struct dest *d = (struct dest *)t;
	memset(i, 0, sizeof(*i));
	i->o = &d->o;
	i->has_backup = d->has_backup;
	i->on_backup = d->active == BACKUP;
	i->state = d->active == PRIMARY ? "primary" : d->restore_since ? "backup, restoring" : "backup";
	for (int k = 0; k < 2; k++) {
		struct member *m = &d->m[k];
		i->m[k].t = m->t;
		i->m[k].spec = m->spec;
		i->m[k].avail = member_avail(m);
		i->m[k].msgs = m->msgs;
		i->m[k].recs = m->recs;
		i->m[k].ctrl = m->ctrl;
		i->m[k].refused = m->refused;
		i->m[k].dropped = member_dropped(m, &i->m[k].dropped_recs);
	}
	i->failovers = d->failovers;
	i->restores = d->restores;
	i->reclaimed = d->reclaimed;
	i->reclaimed_recs = d->reclaimed_recs;
	i->lost = d->lost;
	i->lost_recs = d->lost_recs;
	if (d->active == BACKUP && d->restore_since) {
		uint64_t r = (uint64_t)d->o.restore_s * 1000u, el = now_of(d) - d->restore_since;
		i->restore_left_ms = el < r ? r - el : 0;
	}
	i->last_switch_ms = d->last_switch_ms;
	return 0;
}

/* ---- settings from flags, by destination spec --------------------------- */

#define EXTRA_MAX 16

static struct {
	char spec[300];
	unsigned mask;
	struct sctp_dest_opts o;
} extras[EXTRA_MAX];
static size_t nextras;

int dest_extra_set(const char *spec, unsigned mask, const struct sctp_dest_opts *o)
{
	size_t i;
	for (i = 0; i < nextras; i++)
		if (strcmp(extras[i].spec, spec) == 0)
			break;
	if (i == nextras) {
		if (nextras == EXTRA_MAX || strlen(spec) >= sizeof(extras[0].spec))
			return -1;
		nextras++;
	}
	snprintf(extras[i].spec, sizeof(extras[i].spec), "%s", spec);
	extras[i].mask = mask;
	extras[i].o = *o;
	return 0;
}

void dest_extra_apply(const char *spec, struct sctp_dest_opts *o)
{
	for (size_t i = 0; i < nextras; i++) {
		if (strcmp(extras[i].spec, spec) != 0)
			continue;
		const struct sctp_dest_opts *x = &extras[i].o;
		unsigned m = extras[i].mask;
		if (m & DEST_X_REL) {
			o->sctp.reliability = x->sctp.reliability;
			o->sctp.buffer_limit = x->sctp.buffer_limit;
		}
		if (m & DEST_X_BACKUP)
			snprintf(o->backup, sizeof(o->backup), "%s", x->backup);
		if (m & DEST_X_MODE)
			o->mode = x->mode;
		if (m & DEST_X_FAILOVER)
			o->failover_ms = x->failover_ms;
		if (m & DEST_X_RESTORE)
			o->restore_s = x->restore_s;
		if (m & DEST_X_HB)
			o->sctp.hb_ms = x->sctp.hb_ms;
		if (m & DEST_X_STREAMS)
			o->sctp.data_streams = x->sctp.data_streams;
		if (m & DEST_X_UDP_PORT)
			o->sctp.encaps_port = x->sctp.encaps_port;
		if (m & DEST_X_BACKUP_UDP_PORT)
			o->backup_udp_port = x->backup_udp_port;
	}
}
