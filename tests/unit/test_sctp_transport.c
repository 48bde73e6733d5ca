/* test_sctp_transport.c — export over SCTP (usrsctp over UDP on
 * loopback) to the SCTP listener, both ends in this process, decoded
 * with a template store per association:
 *   - full reliability: every record arrives, templates only on stream 0
 *     and first in the session, data only on streams 1..n;
 *   - partial reliability with a collector that stops reading: memory
 *     stays within the buffer limit, drops are counted, and the sequence
 *     number loss the collector sees equals the exporter's drop count;
 *   - none: a stalled collector costs counted drops, nothing is queued;
 *   - an association aborted under the exporter (the stack hands back
 *     what it held) loses nothing in full mode: the next association
 *     delivers it after its own templates;
 *   - IPFIX template withdrawal at shutdown is honoured by the decoder;
 *   - option parsing and the notification decoder on truncated input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <usrsctp.h>

#include "export/export.h"
#include "export/export_set.h"
#include "export/exporter.h"
#include "lib/err.h"
#include "transport/sctp.h"
#include "transport/sctp_listen.h"
#include "transport/sctpio.h"

#define T0 (1700000000ull * 1000000ull)
#define MAXSESS 16
#define MAXREC 100000

/* What the collector side saw. */
struct coll {
	struct tmpl_store_mem mem[MAXSESS];
	bool have[MAXSESS];
	unsigned msgs, ctrl_msgs, data_msgs, tmpls, data, opt_data, withdrawals, errors, skipped;
	unsigned data_on_ctrl_stream, tmpl_on_data_stream, sids_used;
	unsigned first_not_tmpl;   /* sessions whose first message had no template */
	unsigned seen_first[MAXSESS];
	uint32_t gaps;
	uint8_t got[MAXREC];
	unsigned dups;
	/* sequence tracking (IPFIX: records; v9: messages), per session */
	uint32_t next_seq[MAXSESS];
	bool seq_valid[MAXSESS];
	uint64_t seq_lost;
	unsigned ups, downs;
};

static unsigned rec_index(const struct flowrec *r)
{
	return (unsigned)r->key.src[2] << 8 | r->key.src[3] | (unsigned)r->key.src[1] << 16;
}

static void on_msg(void *arg, const struct sctprx_msg *m)
{
	struct coll *c = arg;
	unsigned s = m->session % MAXSESS;
	if (!c->have[s]) {
		tmpl_store_mem_init(&c->mem[s], 16);
		c->have[s] = true;
	}
	struct tmpl_store ts = tmpl_store_mem_iface(&c->mem[s]);
	struct nf_iter it;
	struct nf_item item;
	int rc = nf_iter_init(&it, m->data, m->len, &ts);
	unsigned tm = 0, da = 0, wd = 0, alld = 0;
	c->gaps += m->gap;
	c->sids_used |= 1u << (m->sid & 31);
	while (rc == ERR_OK && (rc = nf_iter_next(&it, &item)) == ERR_OK) {
		if (item.kind == NF_ITEM_TMPL)
			tm++;
		else if (item.kind == NF_ITEM_WITHDRAW)
			wd++;
		else if (item.kind == NF_ITEM_SKIPPED_SET)
			c->skipped++;
		else if (item.kind == NF_ITEM_DATA && item.t->scope_count)
			c->opt_data++, alld++;
		else if (item.kind == NF_ITEM_DATA) {
			struct flowrec r;
			assert_int_equal(nf_item_flowrec(&it, &item, &r), ERR_OK);
			unsigned i = rec_index(&r);
			assert_true(i < MAXREC);
			if (c->got[i])
				c->dups++;
			c->got[i] = 1;
			da++;
			alld++;
		}
	}
	if (rc != ERR_END)
		c->errors++;
	/* sequence numbers: IPFIX counts data records (options data too), v9 messages */
	if (rc == ERR_END) {
		uint32_t seq = it.hdr.seq;
		if (c->seq_valid[s] && seq != c->next_seq[s])
			c->seq_lost += (uint32_t)(seq - c->next_seq[s]);
		c->seq_valid[s] = true;
		c->next_seq[s] = it.hdr.version == 10 ? seq + alld : seq + 1;
	}
	c->msgs++;
	c->tmpls += tm;
	c->data += da;
	c->withdrawals += wd;
	if (m->sid == 0) {
		c->ctrl_msgs++;
		c->data_on_ctrl_stream += da;
	} else {
		c->data_msgs++;
		c->tmpl_on_data_stream += tm;
	}
	if (!c->seen_first[s]) {
		c->seen_first[s] = 1;
		if (!tm)
			c->first_not_tmpl++;
	}
}

static void on_event(void *arg, int ev, uint32_t session, uint32_t old, const struct sockaddr *p, socklen_t l)
{
	struct coll *c = arg;
	if (ev == SCTPRX_UP)
		c->ups++;
	else if (ev == SCTPRX_DOWN)
		c->downs++;
}

static void coll_free(struct coll *c)
{
	for (int i = 0; i < MAXSESS; i++)
		if (c->have[i])
			tmpl_store_mem_free(&c->mem[i]);
	free(c);
}

static uint64_t now_ms(void)
{
	return sctpio_now_ms();
}

/* Serve the stack for ms milliseconds, or until *cond holds. */
static void run_for(int ms, bool (*cond)(void *), void *arg)
{
	uint64_t until = now_ms() + (uint64_t)ms;
	while (now_ms() < until) {
		if (cond && cond(arg))
			return;
		struct pollfd p = { .fd = sctp_stack_fd(), .events = POLLIN };
		poll(&p, 1, 5);
		sctp_stack_service();
	}
}

static bool is_up(void *arg)
{
	return ((struct transport *)arg)->up;
}

static struct flowrec rec(unsigned i)
{
	struct flowrec r;
	memset(&r, 0, sizeof(r));
	r.key.af = 4;
	r.key.proto = 17;
	r.key.src[0] = 10, r.key.src[1] = (uint8_t)(i >> 16), r.key.src[2] = (uint8_t)(i >> 8), r.key.src[3] = (uint8_t)i;
	r.key.dst[0] = 192, r.key.dst[1] = 0, r.key.dst[2] = 2, r.key.dst[3] = 1;
	r.key.sport = (uint16_t)(1024 + i);
	r.key.dport = 53;
	r.packets = 3;
	r.bytes = 300;
	r.first_us = T0;
	r.last_us = T0 + 1000;
	return r;
}

struct rig {
	struct coll *c;
	struct sctprx *l;
	struct transport *t;
	struct exporter *ex;
};

static void rig_open(struct rig *g, int version, const struct sctpt_opts *so, const struct sctprx_opts *lo,
                     bool stats)
{
	char err[256], spec[64];
	g->c = calloc(1, sizeof(*g->c));
	assert_non_null(g->c);
	struct sctprx_cb cb = { on_msg, on_event, g->c };
	g->l = sctprx_open("127.0.0.1:0", lo, &cb, err, sizeof(err));
	if (!g->l)
		fail_msg("listener: %s", err);
	snprintf(spec, sizeof(spec), "127.0.0.1:%u", sctprx_port(g->l));
	struct transport_opts to = { .mtu = 1500 };
	g->t = sctpt_open(spec, &to, so, err, sizeof(err));
	if (!g->t)
		fail_msg("sctp: %s", err);
	struct exporter_cfg cfg;
	exporter_cfg_init(&cfg, version);
	cfg.start_us = T0;
	cfg.export_stats = stats;
	g->ex = exporter_new(&cfg, g->t, err, sizeof(err));
	if (!g->ex)
		fail_msg("exporter: %s", err);
	run_for(3000, is_up, g->t);
	assert_true(g->t->up);
}

static void rig_close(struct rig *g)
{
	exporter_free(g->ex);
	transport_close(g->t);
	sctprx_close(g->l);
	coll_free(g->c);
}

static void export_n(struct rig *g, unsigned from, unsigned n)
{
	for (unsigned i = from; i < from + n; i++) {
		struct flowrec r = rec(i);
		exporter_add(g->ex, &r, T0 + i);
		if (i % 256 == 0) {
			exporter_tick(g->ex, T0 + i);
			sctp_stack_service();
		}
	}
	exporter_flush(g->ex, T0 + from + n);
}

static unsigned got_count(const struct coll *c, unsigned n)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++)
		k += c->got[i];
	return k;
}

static void test_full(void **state)
{
	struct sctpt_opts so;
	sctpt_opts_init(&so);
	so.data_streams = 3;
	struct rig g;
	rig_open(&g, 10, &so, NULL, true);
	export_n(&g, 0, 20000);
	transport_drain(g.t, 5000);
	run_for(300, NULL, NULL);
	assert_int_equal(got_count(g.c, 20000), 20000);
	assert_int_equal(g.c->dups, 0);
	assert_int_equal(g.c->errors, 0);
	assert_int_equal(g.c->skipped, 0);
	assert_int_equal(g.c->data_on_ctrl_stream, 0); /* templates only on stream 0 ... */
	assert_int_equal(g.c->tmpl_on_data_stream, 0); /* ... data only on the others */
	assert_int_equal(g.c->first_not_tmpl, 0);
	assert_int_equal(g.c->sids_used, 0xfu);        /* 0 and the three data streams */
	assert_true(g.c->opt_data >= 1);
	assert_int_equal(g.c->tmpls, 3);               /* two data templates, one options template */
	assert_int_equal(g.c->seq_lost, 0);
	assert_int_equal(g.c->gaps, 0);
	const struct exporter_stats *st = exporter_stats(g.ex);
	assert_int_equal(st->records, 20000);
	assert_int_equal(st->flows_failed, 0);
	assert_int_equal(g.t->st.dropped, 0);
	assert_int_equal(st->messages, g.c->msgs);
	/* template withdrawal before a graceful end (RFC 7011 §8.1) */
	assert_int_equal(exporter_withdraw(g.ex, T0 + 30000), ERR_OK);
	transport_drain(g.t, 2000);
	run_for(300, NULL, NULL);
	assert_int_equal(g.c->withdrawals, 3); /* 256, 257 and the options template 258 */
	/* the collector's store for the session is empty again */
	unsigned s = 1;
	assert_true(g.c->have[s]);
	assert_int_equal(g.c->mem[s].n, 0);
	rig_close(&g);
}

static bool stalled(void *arg)
{
	struct transport *t = arg;
	return t->st.dropped > 0;
}

static void test_partial_stall(void **state)
{
	struct sctpt_opts so;
	sctpt_opts_init(&so);
	sctpt_parse_reliability("partial:50", &so, NULL, 0);
	struct sctprx_opts lo = { .rcvbuf = 65536 };
	struct rig g;
	rig_open(&g, 10, &so, &lo, false);
	sctprx_pause(g.l, true);
	/* ~36 records a message: 2000 messages against a 64 KB window */
	uint64_t peak = 0;
	for (unsigned i = 0; i < 72000; i++) {
		struct flowrec r = rec(i);
		exporter_add(g.ex, &r, T0 + i);
		if (i % 64 == 0) {
			sctp_stack_service();
			struct sctpt_info in;
			sctpt_info(g.t, &in);
			if (in.queued_msgs > peak)
				peak = in.queued_msgs;
		}
	}
	exporter_flush(g.ex, T0 + 72000);
	run_for(200, NULL, NULL);
	struct sctpt_info in;
	assert_int_equal(sctpt_info(g.t, &in), 0);
	assert_true(peak <= 50);
	assert_true(in.queued_msgs <= 50);
	assert_true(g.t->st.dropped > 0);
	assert_true(stalled(g.t));
	sctprx_pause(g.l, false);
	transport_drain(g.t, 5000);
	run_for(500, NULL, NULL);
	sctpt_info(g.t, &in);
	assert_int_equal(in.queued_msgs, 0);
	const struct exporter_stats *st = exporter_stats(g.ex);
	/* every message is either delivered or counted as dropped */
	unsigned got = got_count(g.c, 72000);
	assert_int_equal(got + g.t->st.dropped_recs, st->records);
	/* and the collector's sequence-number loss equals the drops */
	assert_int_equal(g.c->seq_lost, g.t->st.dropped_recs);
	assert_int_equal(g.c->dups, 0);
	assert_int_equal(g.c->errors, 0);
	print_message("partial stall: %u records delivered, %llu dropped in %llu of %llu messages (%llu abandoned), "
	              "peak queue %llu\n", got, (unsigned long long)g.t->st.dropped_recs,
	              (unsigned long long)g.t->st.dropped, (unsigned long long)st->messages,
	              (unsigned long long)in.abandoned, (unsigned long long)peak);
	rig_close(&g);
}

static void test_none_stall(void **state)
{
	struct sctpt_opts so;
	sctpt_opts_init(&so);
	so.reliability = SCTPT_NONE;
	struct sctprx_opts lo = { .rcvbuf = 65536 };
	struct rig g;
	rig_open(&g, 9, &so, &lo, false);
	export_n(&g, 0, 100); /* the templates get through first */
	run_for(300, NULL, NULL);
	sctprx_pause(g.l, true);
	export_n(&g, 100, 40000);
	struct sctpt_info in;
	sctpt_info(g.t, &in);
	assert_int_equal(in.queued_msgs, 0); /* never buffered */
	assert_true(g.t->st.dropped > 0);
	sctprx_pause(g.l, false);
	run_for(500, NULL, NULL);
	export_n(&g, 40100, 100); /* a message after the drops shows the collector the gap */
	transport_drain(g.t, 3000);
	run_for(500, NULL, NULL);
	const struct exporter_stats *st = exporter_stats(g.ex);
	unsigned got = got_count(g.c, 40200);
	assert_int_equal(got + g.t->st.dropped_recs, st->records);
	/* v9 counts messages: the collector's loss is the dropped messages */
	assert_int_equal(g.c->seq_lost, g.t->st.dropped);
	rig_close(&g);
}

static void test_abort_requeues(void **state)
{
	struct sctpt_opts so;
	sctpt_opts_init(&so);
	struct sctprx_opts lo = { .rcvbuf = 65536 };
	struct rig g;
	rig_open(&g, 10, &so, &lo, false);
	export_n(&g, 0, 50);
	run_for(200, NULL, NULL);
	sctprx_pause(g.l, true); /* the window closes: the stack keeps the rest */
	export_n(&g, 50, 9950);
	run_for(100, NULL, NULL);
	struct sctpt_info in;
	sctpt_info(g.t, &in);
	assert_true(in.unacked_bytes > 0);
	uint32_t s0 = g.t->session;
	sctpt_abort(g.t);
	sctpt_info(g.t, &in);
	assert_true(in.returned > 0);           /* handed back with their payloads */
	assert_int_equal(in.returned, in.requeued);
	assert_false(g.t->up);
	sctprx_pause(g.l, false);
	run_for(4000, is_up, g.t);
	assert_true(g.t->up);
	assert_int_equal(g.t->session, s0 + 1);
	for (int i = 0; i < 20; i++) { /* the new session's templates go first */
		exporter_tick(g.ex, T0 + 20000);
		run_for(20, NULL, NULL);
	}
	transport_drain(g.t, 5000);
	run_for(500, NULL, NULL);
	assert_int_equal(got_count(g.c, 10000), 10000);
	assert_int_equal(g.t->st.dropped, 0);
	assert_int_equal(g.c->first_not_tmpl, 0);
	assert_int_equal(g.c->skipped, 0); /* no data without its templates */
	print_message("abort: %llu messages handed back, %u duplicates\n", (unsigned long long)in.returned, g.c->dups);
	rig_close(&g);
}

static void test_options(void **state)
{
	struct sctpt_opts o;
	char err[256];
	sctpt_opts_init(&o);
	assert_int_equal(sctpt_opts_check(&o, err, sizeof(err)), 0);
	assert_int_equal(sctpt_parse_reliability("partial buffer-limit 75", &o, err, sizeof(err)), 0);
	assert_int_equal(o.reliability, SCTPT_PARTIAL);
	assert_int_equal(o.buffer_limit, 75);
	assert_int_equal(sctpt_parse_reliability("partial:1", &o, err, sizeof(err)), 0);
	assert_int_equal(o.buffer_limit, 1);
	assert_int_equal(sctpt_parse_reliability("none", &o, err, sizeof(err)), 0);
	assert_int_equal(o.reliability, SCTPT_NONE);
	assert_int_equal(sctpt_parse_reliability("full", &o, err, sizeof(err)), 0);
	static const char *const bad[] = { "", "partial:", "partial:0", "partial:-1", "partial:1x",
	                                   "partial:99999999999", "partial buffer-limit", "ful", "full ", "nonee" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(sctpt_parse_reliability(bad[i], &o, err, sizeof(err)), -1);
		assert_true(strlen(err) > 0);
	}
	sctpt_opts_init(&o);
	o.rto_min_ms = 300; /* above the initial RTO */
	assert_int_equal(sctpt_opts_check(&o, err, sizeof(err)), -1);
	sctpt_opts_init(&o);
	o.data_streams = 17;
	assert_int_equal(sctpt_opts_check(&o, err, sizeof(err)), -1);
	assert_null(sctpt_open("127.0.0.1:2055", NULL, &o, err, sizeof(err)));
}

/* A send-failed notification built as usrsctp lays it out, then every
 * truncation of it. */
static void test_note_decode(void **state)
{
	uint8_t b[256];
	memset(b, 0, sizeof(b));
	struct sctp_send_failed_event *e = (struct sctp_send_failed_event *)b;
	size_t hdr = offsetof(struct sctp_send_failed_event, ssfe_data);
	e->ssfe_type = SCTP_SEND_FAILED_EVENT;
	e->ssfe_flags = SCTP_DATA_SENT;
	e->ssfe_length = (uint32_t)(hdr + 10);
	e->ssfe_info.snd_sid = 3;
	e->ssfe_info.snd_context = 0x80000007u;
	memcpy(b + hdr, "0123456789", 10);
	struct sctpio_note n;
	assert_int_equal(sctpio_note_decode(b, hdr + 10, &n), ERR_OK);
	assert_int_equal(n.type, SCTP_SEND_FAILED_EVENT);
	assert_int_equal(n.flags, SCTP_DATA_SENT);
	assert_int_equal(n.sid, 3);
	assert_int_equal(n.context, 0x80000007u);
	assert_int_equal(n.datalen, 10);
	assert_memory_equal(n.data, "0123456789", 10);
	for (size_t len = 0; len < hdr + 10; len++)
		assert_int_equal(sctpio_note_decode(b, len, &n), ERR_TRUNC);
	e->ssfe_length = 4; /* shorter than a header */
	assert_int_equal(sctpio_note_decode(b, sizeof(b), &n), ERR_TRUNC);
	e->ssfe_length = (uint32_t)(hdr - 1); /* shorter than its type's fixed part */
	assert_int_equal(sctpio_note_decode(b, sizeof(b), &n), ERR_TRUNC);
	struct sctp_assoc_change *ac = (struct sctp_assoc_change *)b;
	memset(b, 0, sizeof(b));
	ac->sac_type = SCTP_ASSOC_CHANGE;
	ac->sac_length = sizeof(*ac);
	ac->sac_state = SCTP_COMM_UP;
	ac->sac_outbound_streams = 4;
	assert_int_equal(sctpio_note_decode(b, sizeof(*ac), &n), ERR_OK);
	assert_int_equal(n.state, SCTP_COMM_UP);
	assert_int_equal(n.out_streams, 4);
	for (size_t len = 0; len < sizeof(*ac); len++)
		assert_int_equal(sctpio_note_decode(b, len, &n), ERR_TRUNC);
}

/* The show commands, through an export set as ipflowd runs them. */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == 0))
			return true;
	return false;
}

static bool both_up(void *arg)
{
	struct coll *c = arg;
	return c->ups >= 2;
}

static void test_show(void **state)
{
	char err[256], spec[64], line[160];
	struct coll *c = calloc(1, sizeof(*c));
	struct sctprx_cb cb = { on_msg, on_event, c };
	struct sctprx *p = sctprx_open("127.0.0.1:0", NULL, &cb, err, sizeof(err));
	struct sctprx *b = sctprx_open("127.0.0.1:0", NULL, &cb, err, sizeof(err));
	assert_non_null(p);
	assert_non_null(b);
	struct exporter_cfg cfg;
	exporter_cfg_init(&cfg, 10);
	cfg.start_us = T0;
	struct export_set *set = export_set_new(&cfg, "main cache");
	struct sctp_dest_opts d;
	sctp_dest_opts_init(&d);
	sctpt_parse_reliability("partial:300", &d.sctp, err, sizeof(err));
	snprintf(d.backup, sizeof(d.backup), "127.0.0.1:%u", sctprx_port(b));
	d.mode = DEST_REDUNDANT;
	snprintf(spec, sizeof(spec), "sctp:127.0.0.1:%u", sctprx_port(p));
	assert_int_equal(export_set_add_dest(set, spec, NULL, &d, err, sizeof(err)), 0);
	run_for(3000, both_up, c);
	export_set_start(set, T0);
	for (unsigned i = 0; i < 100; i++) {
		struct flowrec r = rec(i);
		export_set_record(set, &r, T0 + i);
	}
	export_set_flush(set, T0 + 200);
	run_for(200, NULL, NULL);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	export_set_show_sctp(set, out, true, false);
	fclose(out);
	print_message("%s", text);
	snprintf(line, sizeof(line), "main cache exporting to 127.0.0.1, port %u, partial, buffer-limit 300", sctprx_port(p));
	assert_true(has_line(text, line));
	assert_true(has_line(text, "status: connected"));
	assert_true(has_line(text, "backup mode: redundant"));
	unsigned nm = 0;
	const char *fx = strstr(text, "\n100 flows exported in ");
	assert_non_null(fx);
	assert_int_equal(sscanf(fx, "\n100 flows exported in %u sctp messages.", &nm), 1);
	assert_true(nm >= 3 && nm <= 10); /* ~17 records a 1444-byte message */
	assert_true(has_line(text, "0 packets dropped due to lack of SCTP resources"));
	assert_true(has_line(text, "fail-over time: 25 milli-seconds"));
	assert_true(has_line(text, "restore time:   25 seconds"));
	snprintf(line, sizeof(line), "backup: 127.0.0.1, port %u", sctprx_port(b));
	assert_true(has_line(text, line));
	assert_true(has_line(text, "    status: connected"));
	assert_true(has_line(text, "    fail-overs: 0"));
	assert_true(has_line(text, "    0 flows exported in 0 sctp messages."));
	free(text);
	out = open_memstream(&text, &len);
	sctp_show_associations(out, false);
	sctp_show_statistics(out, false);
	fclose(out);
	assert_true(has_line(text, "** SCTP Association List **"));
	assert_true(has_line(text, " Current state: ESTABLISHED"));
	assert_true(has_line(text, "** SCTP Overall Statistics **"));
	unsigned tot = 0, act = 0, pas = 0;
	const char *ta = strstr(text, " Total Associations Established: ");
	assert_non_null(ta);
	assert_int_equal(sscanf(ta, " Total Associations Established: %u (active %u, passive %u)", &tot, &act, &pas), 3);
	assert_true(act >= 2 && pas >= 2 && tot == act + pas);
	free(text);
	export_set_free(set);
	sctprx_close(p);
	sctprx_close(b);
	coll_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_note_decode),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_partial_stall),
		cmocka_unit_test(test_none_stall),
		cmocka_unit_test(test_abort_requeues),
		cmocka_unit_test(test_show),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
