/* tcp_fixture.h — a TCP listener on loopback for tests that need a
 * collector they control (connected, reading or not), and a TCP
 * transport to it that holds a queue (a collector that stalls). */
#ifndef IPFLOW_TEST_TCP_FIXTURE_H
#define IPFLOW_TEST_TCP_FIXTURE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "transport/transport.h"

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

/* Connect, and send until the transport holds a queue of its own of 4
 * MiB (the peer reads nothing). */
static inline struct transport *fx_busy_transport(const char *spec, int ls, int *peer)
{
	char err[256];
	struct transport_opts o = { 0 };
	struct transport *t = transport_open(spec, &o, err, sizeof(err));
	assert_non_null(t);
	*peer = accept(ls, NULL, NULL);
	assert_true(*peer >= 0);
	static uint8_t msg[1400];
	memset(msg, 7, sizeof(msg));
	/* well past what the kernel's buffers take as they grow (autotuning) */
	for (int i = 0; i < 200000 && t->st.queued < (4u << 20); i++) {
		transport_send(t, msg, sizeof(msg), TRANSPORT_F_RECS(30));
		transport_poll(t);
	}
	assert_true(t->st.queued >= (4u << 20));
	assert_true(transport_busy(t));
	return t;
}

#endif
