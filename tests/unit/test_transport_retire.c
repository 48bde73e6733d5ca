/* test_transport_retire.c — transport_retire: an idle transport closes at
 * once; a busy one (TCP to a collector that has not read what it was
 * sent) waits in the background instead of stopping the caller, closes
 * when it has drained, or at its time with what it still holds counted
 * as lost (transport_retired_stats), never silently. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tcp_fixture.h"
#include "transport/transport.h"

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void test_busy_times_out_counted(void **state)
{
	(void)state;
	char spec[64];
	int ls = fx_tcp_listener(spec, sizeof(spec));
	int peer;
	struct transport *t = fx_busy_transport(spec, ls, &peer);
	struct transport_retired before = *transport_retired_stats();
	uint64_t t0 = now_ms();
	transport_retire(t, 300);
	assert_true(now_ms() - t0 < 200); /* it did not wait */
	assert_int_equal(transport_retiring(), 1);
	transport_retire_poll();
	assert_int_equal(transport_retiring(), 1); /* busy, not yet its time */
	usleep(400000);
	transport_retire_poll();
	assert_int_equal(transport_retiring(), 0);
	const struct transport_retired *r = transport_retired_stats();
	assert_int_equal(r->closed, before.closed + 1);
	assert_int_equal(r->timed_out, before.timed_out + 1);
	assert_true(r->lost_msgs > before.lost_msgs);
	assert_int_equal(r->lost_recs - before.lost_recs, 30 * (r->lost_msgs - before.lost_msgs));
	close(peer);
	close(ls);
}

static void test_busy_drains_then_closes(void **state)
{
	(void)state;
	char spec[64];
	int ls = fx_tcp_listener(spec, sizeof(spec));
	int peer;
	struct transport *t = fx_busy_transport(spec, ls, &peer);
	struct transport_retired before = *transport_retired_stats();
	transport_retire(t, 10000);
	assert_int_equal(transport_retiring(), 1);
	/* the collector reads now: the transport drains and closes, nothing lost */
	static uint8_t buf[65536];
	uint64_t t0 = now_ms();
	bool eof = false;
	while (!eof && now_ms() - t0 < 8000) {
		transport_retire_poll();
		struct pollfd p = { peer, POLLIN, 0 };
		if (poll(&p, 1, 10) > 0) {
			ssize_t n = read(peer, buf, sizeof(buf));
			eof = n == 0;
		}
	}
	assert_true(eof); /* closed by the retire poll once drained */
	assert_int_equal(transport_retiring(), 0);
	const struct transport_retired *r = transport_retired_stats();
	assert_int_equal(r->closed, before.closed + 1);
	assert_int_equal(r->timed_out, before.timed_out);
	assert_int_equal(r->lost_msgs, before.lost_msgs);
	close(peer);
	close(ls);
}

static void test_idle_closes_at_once_and_drain(void **state)
{
	(void)state;
	char err[256];
	struct transport_opts o = { 0 };
	struct transport *u = transport_open("udp:127.0.0.1:9", &o, err, sizeof(err));
	assert_non_null(u);
	struct transport_retired before = *transport_retired_stats();
	transport_retire(u, 10000);
	assert_int_equal(transport_retiring(), 0);
	assert_int_equal(transport_retired_stats()->closed, before.closed + 1);
	/* drain: every busy one, each up to its time */
	char spec[64];
	int ls = fx_tcp_listener(spec, sizeof(spec));
	int peer;
	struct transport *t = fx_busy_transport(spec, ls, &peer);
	transport_retire(t, 200);
	uint64_t t0 = now_ms();
	transport_retire_drain();
	assert_true(now_ms() - t0 < 2000);
	assert_int_equal(transport_retiring(), 0);
	assert_int_equal(transport_retired_stats()->timed_out, before.timed_out + 1);
	close(peer);
	close(ls);
}

/* transport_close_final: what the close itself counts (a TCP queue
 * thrown away) is in the counters it gives back, not lost with t. */
static void test_close_final_counts_the_close(void **state)
{
	(void)state;
	char spec[64];
	int ls = fx_tcp_listener(spec, sizeof(spec));
	int peer;
	struct transport *t = fx_busy_transport(spec, ls, &peer);
	uint64_t before = t->st.dropped;
	struct transport_stats fin;
	transport_close_final(t, &fin);
	assert_true(fin.dropped > before);
	assert_int_equal(fin.dropped_recs, 30 * fin.dropped);
	close(peer);
	close(ls);
}

/* Accounts: a transport retired into an account of its own counts there,
 * not in the process's; draining that account leaves the others' waiting;
 * an account that goes away hands its waiting ones to the process's. */
static void test_accounts(void **state)
{
	(void)state;
	char spec[64];
	int ls = fx_tcp_listener(spec, sizeof(spec));
	int pa, pb, pc;
	struct transport *a = fx_busy_transport(spec, ls, &pa);
	struct transport *b = fx_busy_transport(spec, ls, &pb);
	struct transport *c = fx_busy_transport(spec, ls, &pc);
	uint64_t held_a = a->st.dropped;
	struct transport_retired mine = { 0 }, gone = { 0 };
	struct transport_retired before = *transport_retired_stats();
	transport_retire_to(a, 200, &mine);
	transport_retire_to(b, 10000, &gone);
	transport_retire(c, 10000);
	assert_int_equal(mine.waiting, 1);
	assert_int_equal(gone.waiting, 1);
	assert_int_equal(transport_retiring(), before.waiting + 1);
	assert_int_equal(mine.held_msgs, held_a);
	/* mine drained: only a, at its time; b and c still wait */
	uint64_t t0 = now_ms();
	transport_retire_drain_to(&mine);
	assert_true(now_ms() - t0 < 2000);
	assert_int_equal(mine.waiting, 0);
	assert_int_equal(mine.closed, 1);
	assert_int_equal(mine.timed_out, 1);
	assert_true(mine.lost_msgs > 0);
	assert_int_equal(mine.lost_recs, 30 * mine.lost_msgs);
	assert_int_equal(gone.waiting, 1);
	const struct transport_retired *g = transport_retired_stats();
	assert_int_equal(g->closed, before.closed);
	assert_int_equal(g->lost_msgs, before.lost_msgs);
	/* gone goes away: b is the process's now, with c */
	transport_retire_forget(&gone);
	assert_int_equal(gone.waiting, 0);
	assert_int_equal(transport_retiring(), before.waiting + 2);
	/* their collectors read: both drain and close, nothing lost */
	static uint8_t buf[65536];
	t0 = now_ms();
	while (transport_retiring() > before.waiting && now_ms() - t0 < 8000) {
		transport_retire_poll();
		int fds[2] = { pb, pc };
		for (int k = 0; k < 2; k++) {
			struct pollfd p = { fds[k], POLLIN, 0 };
			if (poll(&p, 1, 5) > 0)
				(void)read(fds[k], buf, sizeof(buf));
		}
	}
	assert_int_equal(transport_retiring(), before.waiting);
	assert_int_equal(g->closed, before.closed + 2);
	assert_int_equal(g->lost_msgs, before.lost_msgs);
	assert_int_equal(gone.closed, 0);
	close(pa);
	close(pb);
	close(pc);
	close(ls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_busy_times_out_counted),
		cmocka_unit_test(test_busy_drains_then_closes),
		cmocka_unit_test(test_idle_closes_at_once_and_drain),
		cmocka_unit_test(test_close_final_counts_the_close),
		cmocka_unit_test(test_accounts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
