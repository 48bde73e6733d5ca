/* tcp_fixture.h — a TCP listener on loopback for tests that need a
 * collector they control (connected, reading or not). */
#ifndef IPFLOW_TEST_TCP_FIXTURE_H
#define IPFLOW_TEST_TCP_FIXTURE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

/* Listen on an ephemeral loopback port; spec gets tcp:127.0.0.1:PORT. */
static inline int fx_tcp_listener(char *spec, size_t len)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(ls, (void *)&a, sizeof(a)), 0);
	assert_int_equal(listen(ls, 1), 0);
	socklen_t sl = sizeof(a);
	getsockname(ls, (void *)&a, &sl);
	snprintf(spec, len, "tcp:127.0.0.1:%u", ntohs(a.sin_port));
	return ls;
}

#endif
