/* test_tcp_transport.c — IPFIX and v9 export over TCP on loopback:
 * templates open every session (checked with a fresh template store per
 * connection, so a session without them would not decode), the collector
 * restarting mid-stream loses nothing that was still queued, and a full
 * queue is counted, never silent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "export/export.h"
#include "export/exporter.h"
#include "transport/transport.h"

#define T0 (1700000000ull * 1000000ull)

static int listen_on(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(*port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	socklen_t l = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &l);
	*port = ntohs(a.sin_port);
	return fd;
}

/* One TCP session seen by a collector: its bytes and what they decode to
 * with a template store of its own. */
struct session {
	uint8_t *buf;
	size_t len, cap;
	unsigned msgs, data, tmpls, errors;
	bool first_has_tmpl;
};

static void sess_add(struct session *s, const uint8_t *p, size_t n)
{
	if (s->len + n > s->cap) {
		s->cap = (s->len + n) * 2;
		s->buf = realloc(s->buf, s->cap);
		assert_non_null(s->buf);
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

/* Decode the session's stream: messages framed by their length field. */
static void sess_decode(struct session *s)
{
	struct tmpl_store_mem m;
	tmpl_store_mem_init(&m, 16);
	struct tmpl_store ts = tmpl_store_mem_iface(&m);
	size_t off = 0;
	while (off + 4 <= s->len) {
		/* IPFIX over TCP: messages framed by their length field (§10.4) */
		size_t mlen = (size_t)s->buf[off + 2] << 8 | s->buf[off + 3];
		if (mlen < 16 || off + mlen > s->len)
			break;
		struct nf_iter it;
		struct nf_item item;
		int rc = nf_iter_init(&it, s->buf + off, mlen, &ts);
		bool tmpl_here = false;
		while (rc == ERR_OK && (rc = nf_iter_next(&it, &item)) == ERR_OK) {
			if (item.kind == NF_ITEM_DATA && !item.t->scope_count)
				s->data++;
			else if (item.kind == NF_ITEM_TMPL) {
				s->tmpls++;
				tmpl_here = true;
			} else if (item.kind == NF_ITEM_SKIPPED_SET)
				s->errors++; /* data with no template */
		}
		if (rc != ERR_END)
			s->errors++;
		if (s->msgs == 0)
			s->first_has_tmpl = tmpl_here;
		s->msgs++;
		off += mlen;
	}
	tmpl_store_mem_free(&m);
}

/* Read from fd into s until the peer is idle for idle_ms. */
static void sess_read(struct session *s, int fd, int idle_ms)
{
	uint8_t b[65536];
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, idle_ms) <= 0)
			return;
		ssize_t n = recv(fd, b, sizeof(b), 0);
		if (n <= 0)
			return;
		sess_add(s, b, (size_t)n);
	}
}

static struct flowrec rec(unsigned i)
{
	struct flowrec r;
	memset(&r, 0, sizeof(r));
	r.key.af = 4;
	r.key.proto = 6;
	r.key.src[0] = 10, r.key.src[2] = (uint8_t)(i >> 8), r.key.src[3] = (uint8_t)i;
	r.key.dst[0] = 192, r.key.dst[1] = 0, r.key.dst[2] = 2, r.key.dst[3] = 1;
	r.key.sport = (uint16_t)(1024 + i);
	r.key.dport = 443;
	r.packets = 10;
	r.bytes = 1000;
	r.first_us = T0;
	r.last_us = T0 + 1000;
	return r;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Tick the exporter (and so the transport) until cond or timeout. */
static int accept_while_ticking(int lfd, struct exporter *ex, uint64_t now)
{
	for (int i = 0; i < 300; i++) {
		exporter_tick(ex, now);
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		if (poll(&p, 1, 10) > 0)
			return accept(lfd, NULL, NULL);
	}
	return -1;
}

static void test_ipfix_restart(void **state)
{
	const int version = 10;
	uint16_t port = 0;
	int lfd = listen_on(&port);
	char spec[64], err[256];
	snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%u", port);
	struct transport_opts o = { .block_ms = 0 };
	struct transport *t = transport_open(spec, &o, err, sizeof(err));
	assert_non_null(t);
	assert_true(t->reliable);
	struct exporter_cfg cfg;
	exporter_cfg_init(&cfg, version);
	cfg.start_us = T0;
	struct exporter *ex = exporter_new(&cfg, t, err, sizeof(err));
	assert_non_null(ex);

	int cfd = accept_while_ticking(lfd, ex, T0);
	assert_true(cfd >= 0);
	/* session 1: 200 records, flushed in messages */
	for (unsigned i = 0; i < 200; i++) {
		struct flowrec r = rec(i);
		exporter_add(ex, &r, T0);
	}
	exporter_flush(ex, T0);
	transport_drain(t, 2000);
	struct session s1 = { 0 };
	sess_read(&s1, cfd, 200);
	/* the collector goes away */
	close(cfd);
	close(lfd);
	/* records exported while it is away are queued (the first sends may
	 * also find the dead connection: those messages are re-sent whole) */
	for (unsigned i = 200; i < 500; i++) {
		struct flowrec r = rec(i);
		exporter_add(ex, &r, T0 + 1000000);
	}
	exporter_flush(ex, T0 + 1000000);
	for (int i = 0; i < 20; i++) {
		exporter_tick(ex, T0 + 1000000);
		sleep_ms(10);
	}
	assert_int_equal(t->st.disconnects, 1);
	/* it comes back on the same port */
	lfd = listen_on(&port);
	cfd = accept_while_ticking(lfd, ex, T0 + 2000000);
	assert_true(cfd >= 0);
	for (int i = 0; i < 50; i++) {
		exporter_tick(ex, T0 + 2000000);
		sleep_ms(5);
	}
	transport_drain(t, 2000);
	struct session s2 = { 0 };
	sess_read(&s2, cfd, 300);
	close(cfd);
	close(lfd);

	sess_decode(&s1);
	sess_decode(&s2);
	/* every session starts with templates and decodes on its own */
	assert_true(s1.first_has_tmpl);
	assert_true(s2.first_has_tmpl);
	assert_int_equal(s1.errors, 0);
	assert_int_equal(s2.errors, 0);
	assert_int_equal(s1.data, 200);
	/* after the restart: every record queued meanwhile arrives; anything the
	 * kernel still held for the dead connection is what TCP may lose, and
	 * is counted (lost_bytes) — on loopback with an orderly close, none */
	assert_int_equal(s2.data, 300);
	assert_int_equal(t->st.connects, 2);
	assert_int_equal(t->st.queue_drops, 0);
	const struct exporter_stats *st = exporter_stats(ex);
	assert_int_equal(st->flows_failed, 0);
	assert_int_equal(st->records, 500);
	/* templates once per session: two data templates each time */
	assert_int_equal(s1.tmpls, 2);
	assert_int_equal(s2.tmpls, 2);
	free(s1.buf);
	free(s2.buf);
	exporter_free(ex);
	transport_close(t);
}

static void test_queue_full_counted(void **state)
{
	/* nothing listens: everything queues until the queue is full */
	uint16_t port = 0;
	int lfd = listen_on(&port);
	close(lfd); /* the port is now (very likely) closed */
	char spec[64], err[256];
	snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%u", port);
	struct transport_opts o = { .queue_max = 4096 };
	struct transport *t = transport_open(spec, &o, err, sizeof(err));
	assert_non_null(t);
	struct exporter_cfg cfg;
	exporter_cfg_init(&cfg, 10);
	cfg.start_us = T0;
	struct exporter *ex = exporter_new(&cfg, t, err, sizeof(err));
	assert_non_null(ex);
	for (unsigned i = 0; i < 1000; i++) {
		struct flowrec r = rec(i);
		exporter_add(ex, &r, T0);
	}
	exporter_flush(ex, T0);
	const struct exporter_stats *st = exporter_stats(ex);
	assert_true(t->st.queue_drops > 0);
	assert_true(st->flows_failed > 0);
	assert_true(t->st.queued <= 4096);
	/* what was not refused is queued: nothing is unaccounted for */
	assert_int_equal(st->records + st->flows_failed, 1000);
	assert_false(t->up);
	assert_true(strlen(t->err) > 0);
	exporter_free(ex);
	transport_close(t);
}

static void test_bad_spec(void **state)
{
	char err[256];
	assert_null(transport_open("tcp:nohostport", NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "tcp:"));
	assert_null(transport_open("tcp:[::1]", NULL, err, sizeof(err)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipfix_restart),
		cmocka_unit_test(test_queue_full_counted),
		cmocka_unit_test(test_bad_spec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
