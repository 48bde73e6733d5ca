/* test_export_transport.c — UDP over loopback (IPv4, IPv6, source
 * binding), ICMP port unreachable counted and retried, spec parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "export/exporter.h"
#include "lib/err.h"
#include "transport/transport.h"

/* A bound receiver on the loopback of family af; its port in *port. */
static int listener(int af, unsigned *port)
{
	int fd = socket(af, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof(ss));
	if (af == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		sl = sizeof(*s6);
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(af == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
	                            : ((struct sockaddr_in6 *)&ss)->sin6_port);
	struct timeval tv = { 2, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void send_recv(const char *fmt, int af, const char *source)
{
	unsigned port;
	int rx = listener(af, &port);
	if (rx < 0) {
		print_message("no %s loopback here: skipped\n", af == AF_INET ? "IPv4" : "IPv6");
		return;
	}
	char spec[128], err[256];
	snprintf(spec, sizeof(spec), fmt, port);
	struct transport_opts o = { .source = source };
	struct transport *t = transport_open(spec, &o, err, sizeof(err));
	if (!t)
		fail_msg("%s: %s", spec, err);
	assert_int_equal(t->overhead, af == AF_INET ? 28 : 48);
	uint8_t msg[1400], got[2000];
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	assert_int_equal(transport_send(t, msg, sizeof(msg), 0), ERR_OK);
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(rx, got, sizeof(got), 0, (struct sockaddr *)&from, &fl);
	assert_int_equal(n, sizeof(msg));
	assert_memory_equal(got, msg, sizeof(msg));
	assert_int_equal(t->st.msgs, 1);
	assert_int_equal(t->st.bytes, sizeof(msg));
	transport_close(t);
	close(rx);
}

static void test_udp_v4(void **state)
{
	(void)state;
	send_recv("udp:127.0.0.1:%u", AF_INET, NULL);
	send_recv("udp:localhost:%u", AF_INET, NULL);
	send_recv("udp:127.0.0.1:%u", AF_INET, "127.0.0.1");
}

static void test_udp_v6(void **state)
{
	(void)state;
	send_recv("udp:[::1]:%u", AF_INET6, NULL);
	send_recv("udp:[::1]:%u", AF_INET6, "[::1]");
}

/* Nobody listening: ICMP port unreachable becomes ECONNREFUSED on a later
 * send, which is counted and retried, never fatal. */
static void test_udp_refused(void **state)
{
	(void)state;
	unsigned port;
	int rx = listener(AF_INET, &port);
	assert_true(rx >= 0);
	close(rx); /* the port is now closed */
	char spec[64], err[256];
	snprintf(spec, sizeof(spec), "udp:127.0.0.1:%u", port);
	struct transport *t = transport_open(spec, NULL, err, sizeof(err));
	assert_non_null(t);
	uint8_t msg[100] = { 0 };
	for (int i = 0; i < 5; i++) {
		assert_int_equal(transport_send(t, msg, sizeof(msg), 0), ERR_OK);
		usleep(10000);
	}
	assert_true(t->st.refused >= 1);
	assert_int_equal(t->st.errors, 0);
	assert_int_equal(t->st.msgs, 5);
	transport_close(t);
}

static void test_bad_specs(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"udp:", "udp:127.0.0.1", "udp:127.0.0.1:", "udp::::1:2055", "udp:[::1]2055",
		"udp:[::1", "udp:no.such.host.invalid:2055", "udp:127.0.0.1:notaport", "file:",
		"2055", "sctp:1.2.3.4", "sctp:127.0.0.1:99999", "sctp:no.such.host.invalid:2055", "quic:1.2.3.4:2055",
	};
	char err[256];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_null(transport_open(bad[i], NULL, err, sizeof(err)));
		assert_true(strlen(err) > 0);
	}
	struct transport_opts o = { .source = "10.255.255.254" }; /* not ours: bind fails */
	assert_null(transport_open("udp:127.0.0.1:2055", &o, err, sizeof(err)));
	assert_non_null(strstr(err, "bind"));
}

/* The exporter over a real socket: overhead 48 on IPv6 shrinks messages. */
static void test_exporter_over_udp6(void **state)
{
	(void)state;
	unsigned port;
	int rx = listener(AF_INET6, &port);
	if (rx < 0)
		skip();
	char spec[64], err[256];
	snprintf(spec, sizeof(spec), "udp:[::1]:%u", port);
	struct transport *t = transport_open(spec, NULL, err, sizeof(err));
	assert_non_null(t);
	struct exporter_cfg cfg;
	exporter_cfg_init(&cfg, 5);
	struct exporter *ex = exporter_new(&cfg, t, err, sizeof(err));
	struct flowrec r;
	memset(&r, 0, sizeof(r));
	r.key.af = 4;
	r.packets = 1;
	for (int i = 0; i < 60; i++)
		exporter_add(ex, &r, 1000000);
	exporter_flush(ex, 1000000);
	uint8_t got[2000];
	ssize_t n = recv(rx, got, sizeof(got), 0);
	assert_int_equal(n, 24 + 29 * 48); /* (1500 - 48 - 24) / 48 = 29 */
	assert_int_equal(exporter_stats(ex)->messages, 3);
	exporter_free(ex);
	transport_close(t);
	close(rx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_v4),
		cmocka_unit_test(test_udp_v6),
		cmocka_unit_test(test_udp_refused),
		cmocka_unit_test(test_bad_specs),
		cmocka_unit_test(test_exporter_over_udp6),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
