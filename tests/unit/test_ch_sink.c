/* test_ch_sink.c — the ClickHouse sink without a server: with the server
 * unreachable, every row ends in the spool at close, and the spooled
 * batch is exactly the RowBinary rows of the records written (same bytes
 * as ch_row_put, one batch id in every row, the time range in the
 * header), so a later run replays what this one took; without a spool the
 * same rows are counted as dropped; a spool directory that cannot be used
 * or a bad URL fails the open with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collect/ch_schema.h"
#include "collect/sink.h"
#include "collect/spool.h"
#include "lib/err.h"

/* A loopback port with nothing listening: bound, then closed. */
static unsigned dead_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t l = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &l);
	close(fd);
	return ntohs(a.sin_port);
}

static void mkrec(struct crec *r, unsigned i)
{
	memset(r, 0, sizeof(*r));
	r->version = 9;
	r->exporter_af = 4;
	inet_pton(AF_INET, "192.0.2.3", r->exporter);
	r->recv_us = 1700000000000000ull + (uint64_t)i * 1000000u;
	r->f.key.af = 4;
	inet_pton(AF_INET, "10.0.0.1", r->f.key.src);
	r->f.key.dst[3] = (uint8_t)i;
	r->f.packets = i + 1;
	r->f.bytes = 100 * (i + 1);
}

static void test_unreachable_spools_all(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_ch_sink.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char spec[512], err[512];
	snprintf(spec, sizeof(spec),
	         "clickhouse:http://127.0.0.1:%u/db.t?spool=%s/spool&close_timeout=0.2&connect_timeout=0.1&backoff_max=0.1",
	         dead_port(), dir);
	struct sink *s = sink_open(spec, err, sizeof(err));
	assert_non_null(s);
	enum { N = 50 };
	for (unsigned i = 0; i < N; i++) {
		struct crec r;
		mkrec(&r, i);
		assert_int_equal(sink_write(s, &r), ERR_OK);
	}
	assert_int_equal(s->st.records, N);
	sink_close(s);

	char sd[600];
	snprintf(sd, sizeof(sd), "%s/spool", dir);
	struct spool *sp = spool_open(sd, 0, err, sizeof(err));
	assert_non_null(sp);
	struct spool_item it;
	assert_int_equal(spool_peek(sp, &it), ERR_OK);
	assert_int_equal(it.rows, N);
	assert_int_equal(it.len, N * ch_row_size());
	assert_int_equal(it.meta >> 32, 1700000000u);              /* first second */
	assert_int_equal(it.meta & 0xffffffffu, 1700000000u + N - 1); /* last */
	uint8_t *want = malloc(ch_row_size());
	for (unsigned i = 0; i < N; i++) {
		struct crec r;
		mkrec(&r, i);
		ch_row_put(want, &r, it.batch_id);
		assert_memory_equal(it.data + i * ch_row_size(), want, ch_row_size());
	}
	free(want);
	spool_item_free(&it);
	assert_int_equal(spool_pop(sp), ERR_OK);
	assert_int_equal(spool_peek(sp, &it), ERR_END);
	spool_close(sp);
	snprintf(sd, sizeof(sd), "rm -rf '%s'", dir);
	assert_int_equal(system(sd), 0);
}

static void test_no_spool_counts_drops(void **state)
{
	(void)state;
	char spec[512], err[512];
	snprintf(spec, sizeof(spec),
	         "clickhouse:http://127.0.0.1:%u/db.t?spool=none&close_timeout=0.2&connect_timeout=0.1&batch=10&queue=2",
	         dead_port());
	struct sink *s = sink_open(spec, err, sizeof(err));
	assert_non_null(s);
	for (unsigned i = 0; i < 100; i++) {
		struct crec r;
		mkrec(&r, i);
		sink_write(s, &r);
	}
	sink_tick(s, 0);
	/* 10 batches of 10 for a queue of 2 and one being retried: most drop
	 * at once, counted; the rest at close */
	assert_true(s->st.dropped >= 70);
	assert_int_equal(s->st.written, 0);
	sink_close(s);
}

static void test_open_errors(void **state)
{
	(void)state;
	char err[512];
	const char *bad[] = {
		"clickhouse:http://127.0.0.1:1/db.t?spool=/proc/nonexistent/spool",
		"clickhouse:http://127.0.0.1:1/db",
		"clickhouse:http://u:p@127.0.0.1:1/db.t",
		"clickhouse:127.0.0.1:8123/db.t",
		"clickhouse:http://127.0.0.1:1/db.t?queue=0",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_null(sink_open(bad[i], err, sizeof(err)));
		assert_true(strlen(err) > 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unreachable_spools_all),
		cmocka_unit_test(test_no_spool_counts_drops),
		cmocka_unit_test(test_open_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
