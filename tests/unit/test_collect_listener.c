/* test_collect_listener.c — UDP and TCP listeners on loopback (port 0):
 * delivery with the exporter's address, IPv6, kernel drop accounting
 * (delivered + dropped = sent), TCP framing by the IPFIX length across
 * arbitrary segment boundaries, one transport session per connection,
 * non-IPFIX streams, idle and slow peers, the connection limit, peer
 * close, and bad specs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collect/listener.h"
#include "lib/log.h"

#define MAXM 4096

struct got {
	size_t n;
	struct lsn_msg m[MAXM];
	uint8_t first[MAXM][4];
	size_t ends;
	uint32_t ended[64];
};

static void on_msg(void *arg, const struct lsn_msg *m)
{
	struct got *g = arg;
	if (g->n < MAXM) {
		g->m[g->n] = *m;
		memcpy(g->first[g->n], m->p, m->len < 4 ? m->len : 4);
		g->m[g->n].p = NULL;
	}
	g->n++;
}

static void on_end(void *arg, const struct lsn_peer *p, uint32_t session)
{
	struct got *g = arg;
	(void)p;
	if (g->ends < 64)
		g->ended[g->ends] = session;
	g->ends++;
}

static struct listener *open_l(const char *spec, const struct listener_cfg *cfg, struct got *g)
{
	struct lsn_sink to = { on_msg, on_end, g };
	struct listener_cfg def = { 0 };
	char err[256];
	memset(g, 0, sizeof(*g));
	struct listener *l = listener_open(spec, cfg ? cfg : &def, &to, err, sizeof(err));
	if (!l)
		fprintf(stderr, "%s\n", err);
	assert_non_null(l);
	assert_true(l->port != 0);
	return l;
}

/* Run ready() until n messages arrived or a second passed. */
static void pump(struct listener *l, struct got *g, size_t n)
{
	for (int i = 0; i < 100 && g->n < n; i++) {
		struct pollfd p = { .fd = l->fd, .events = POLLIN };
		if (poll(&p, 1, 10) > 0)
			listener_ready(l, lsn_now_us());
	}
}

/* One round: wait up to 10 ms for the listener, then read. */
static void spin(struct listener *l)
{
	struct pollfd p = { .fd = l->fd, .events = POLLIN };
	if (poll(&p, 1, 10) > 0)
		listener_ready(l, lsn_now_us());
}

static int udp_to(int af, const char *addr, uint16_t port)
{
	int fd = socket(af, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	socklen_t sl;
	if (af == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;
		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		inet_pton(AF_INET, addr, &s->sin_addr);
		sl = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
		s->sin6_family = AF_INET6;
		s->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &s->sin6_addr);
		sl = sizeof(*s);
	}
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, sl), 0);
	return fd;
}

static void test_udp(void **state)
{
	(void)state;
	struct got *g = calloc(1, sizeof(*g));
	struct listener *l = open_l("udp:127.0.0.1:0", NULL, g);
	int fd = udp_to(AF_INET, "127.0.0.1", l->port);
	uint8_t msg[1400];
	for (int i = 0; i < 100; i++) {
		memset(msg, i, sizeof(msg));
		msg[0] = 0;
		msg[1] = 9;
		assert_int_equal(send(fd, msg, (size_t)(100 + i), 0), 100 + i);
	}
	pump(l, g, 100);
	assert_int_equal(g->n, 100);
	struct sockaddr_in me;
	socklen_t ml = sizeof(me);
	getsockname(fd, (struct sockaddr *)&me, &ml);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(g->m[i].len, 100 + i);
		assert_int_equal(g->m[i].peer.af, 4);
		assert_int_equal(g->m[i].peer.port, ntohs(me.sin_port));
		assert_int_equal(g->m[i].session, 0);
		assert_int_equal(g->m[i].transport, LSN_T_UDP);
		assert_int_equal(g->first[i][2], i);
	}
	const struct listener_stats *st = listener_stats(l);
	assert_int_equal(st->msgs, 100);
	assert_int_equal(st->kernel_drops, 0);
	close(fd);
	listener_close(l);

	/* IPv6 loopback */
	l = open_l("udp:[::1]:0", NULL, g);
	fd = udp_to(AF_INET6, "::1", l->port);
	assert_int_equal(send(fd, msg, 50, 0), 50);
	pump(l, g, 1);
	assert_int_equal(g->n, 1);
	assert_int_equal(g->m[0].peer.af, 6);
	uint8_t lo6[16] = { [15] = 1 };
	assert_memory_equal(g->m[0].peer.addr, lo6, 16);
	close(fd);
	FILE *f = tmpfile();
	listener_show(l, f);
	assert_true(ftell(f) > 0);
	fclose(f);
	listener_close(l);
	free(g);
}

/* A small receive buffer, datagrams sent with nobody reading: every one is
 * either delivered or counted as a kernel drop. */
static void test_udp_drops(void **state)
{
	(void)state;
	struct got *g = calloc(1, sizeof(*g));
	struct listener_cfg cfg = { .rcvbuf = 65536 };
	struct listener *l = open_l("udp:127.0.0.1:0", &cfg, g);
	/* force the buffer down (SO_RCVBUFFORCE may have granted more) */
	int small = 4096;
	setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	int fd = udp_to(AF_INET, "127.0.0.1", l->port);
	uint8_t msg[1200] = { 0, 10 };
	const int sent = 2000;
	for (int i = 0; i < sent; i++)
		assert_int_equal(send(fd, msg, sizeof(msg), 0), (ssize_t)sizeof(msg));
	pump(l, g, (size_t)sent);
	const struct listener_stats *st = listener_stats(l);
	assert_true(st->kernel_drops > 0);
	assert_int_equal(g->n + st->kernel_drops, (uint64_t)sent);
	close(fd);
	listener_close(l);
	free(g);
}

static int tcp_to(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons(port) };
	inet_pton(AF_INET, "127.0.0.1", &s.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&s, sizeof(s)), 0);
	return fd;
}

static size_t ipfix(uint8_t *p, uint16_t len, uint8_t tag)
{
	memset(p, tag, len);
	p[0] = 0;
	p[1] = 10;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	return len;
}

static void test_tcp_framing(void **state)
{
	(void)state;
	struct got *g = calloc(1, sizeof(*g));
	struct listener *l = open_l("tcp:127.0.0.1:0", NULL, g);
	int a = tcp_to(l->port), b = tcp_to(l->port);
	uint8_t buf[70000];
	size_t n = ipfix(buf, 40, 1);
	n += ipfix(buf + n, 16, 2);
	n += ipfix(buf + n, 65535, 3);
	n += ipfix(buf + n, 100, 4);
	/* a: everything in one go; b: one byte at a time for the first 300 */
	assert_int_equal(write(a, buf, n), (ssize_t)n);
	for (size_t i = 0; i < 300; i++) {
		assert_int_equal(write(b, buf + i, 1), 1);
		listener_ready(l, lsn_now_us());
	}
	assert_int_equal(write(b, buf + 300, n - 300), (ssize_t)(n - 300));
	pump(l, g, 8);
	assert_int_equal(g->n, 8);
	uint32_t sa = 0, sb = 0;
	unsigned seen[5][2] = { { 0 } };
	for (size_t i = 0; i < 8; i++) {
		assert_int_equal(g->m[i].transport, LSN_T_TCP);
		assert_int_not_equal(g->m[i].session, 0);
		uint8_t tag = g->first[i][3] == 40 ? 1 : g->first[i][3] == 16 ? 2 : g->m[i].len == 65535 ? 3 : 4;
		if (!sa)
			sa = g->m[i].session;
		else if (g->m[i].session != sa && !sb)
			sb = g->m[i].session;
		seen[tag][g->m[i].session == sa]++;
	}
	assert_int_not_equal(sa, sb);
	for (int t = 1; t <= 4; t++)
		assert_true(seen[t][0] == 1 && seen[t][1] == 1);
	/* the peer closes: its session ends */
	close(a);
	for (int i = 0; i < 200 && g->ends == 0; i++)
		spin(l);
	assert_int_equal(g->ends, 1);
	const struct listener_stats *st = listener_stats(l);
	assert_int_equal(st->closed_peer, 1);
	assert_int_equal(st->conns, 2);
	close(b);
	listener_close(l);
	free(g);
}

static void test_tcp_bad_and_timeouts(void **state)
{
	(void)state;
	struct got *g = calloc(1, sizeof(*g));
	struct listener_cfg cfg = { .tcp_max_conns = 3, .tcp_idle_s = 5, .tcp_msg_s = 2 };
	struct listener *l = open_l("tcp:127.0.0.1:0", &cfg, g);
	int v9 = tcp_to(l->port), idle = tcp_to(l->port), slow = tcp_to(l->port);
	uint8_t buf[64];
	ipfix(buf, 64, 7);
	buf[1] = 9; /* NetFlow v9 cannot be framed on a stream */
	assert_int_equal(write(v9, buf, 64), 64);
	ipfix(buf, 64, 7);
	assert_int_equal(write(slow, buf, 20), 20); /* 44 bytes of the message never come */
	for (int i = 0; i < 200 && g->ends == 0; i++)
		spin(l);
	assert_int_equal(listener_stats(l)->closed_bad, 1);
	assert_int_equal(g->ends, 1);
	/* a fourth connection while three are open: refused */
	int extra = tcp_to(l->port);
	for (int i = 0; i < 200 && listener_stats(l)->conns < 4; i++)
		spin(l);
	/* v9's slot was freed by then, so extra is the third */
	assert_int_equal(listener_stats(l)->conns, 4);
	int extra2 = tcp_to(l->port);
	for (int i = 0; i < 200 && listener_stats(l)->conns_refused == 0; i++)
		spin(l);
	assert_int_equal(listener_stats(l)->conns_refused, 1);
	/* 3 s later: the slow one's message is past tcp_msg_s; 6 s: the idle ones */
	uint64_t now = lsn_now_us();
	listener_tick(l, now + 3000000u);
	assert_int_equal(listener_stats(l)->closed_slow, 1);
	assert_int_equal(g->ends, 2);
	listener_tick(l, now + 6000000u);
	assert_int_equal(listener_stats(l)->closed_idle, 2); /* idle and extra */
	assert_int_equal(g->ends, 4);
	FILE *f = tmpfile();
	listener_show(l, f);
	assert_true(ftell(f) > 0);
	fclose(f);
	close(v9);
	close(idle);
	close(slow);
	close(extra);
	close(extra2);
	listener_close(l);
	free(g);
}

static void test_specs(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"udp", "udp:", "udp:70000", "udp:-1", "udp:1.2.3.4.5:99", "tcp:[::1:99", "sctpx:99",
		"udp:host.example:99", "udp:12ab",
	};
	struct lsn_sink to = { on_msg, on_end, NULL };
	struct listener_cfg cfg = { 0 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[256] = "";
		assert_null(listener_open(bad[i], &cfg, &to, err, sizeof(err)));
		assert_true(err[0] != 0);
	}
	assert_int_not_equal(lsn_new_session(), lsn_new_session());
}

int main(void)
{
	log_level_cur = LOG_LVL_ERR;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_udp_drops),
		cmocka_unit_test(test_tcp_framing),
		cmocka_unit_test(test_tcp_bad_and_timeouts),
		cmocka_unit_test(test_specs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
