/* collect_send.c — the benchmark's sender: export messages from a file
 * to a UDP collector on loopback, as fast as the collector takes them and
 * never faster than it can (so no datagram is lost to a full buffer).
 *
 *   collect_send FILE PORT [MAXQ]
 *
 * FILE holds export messages back to back, as ipflowd -e file:PATH writes
 * them: NetFlow v5 (24 + 48 × count bytes each), v9 (a header and sets;
 * ipflowd's set ids are 0, 1 and >= 256, so a set id of 9 starts the next
 * message) or IPFIX (its length field). Every message is sent once to
 * 127.0.0.1:PORT with sendmmsg, 64 at a time. Flow control: before each
 * batch the sender reads the receiving socket's queue (rx_queue of the
 * local port in /proc/net/udp) and waits while it holds more than MAXQ
 * bytes (default 4 MiB; keep it well under the receiver's SO_RCVBUF), so
 * the receiver always has a backlog and never overflows. Prints
 * "messages N seconds S". Not built by CMake: bench/collect.sh compiles it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Length of the message at p (n bytes left), 0 if not a message. */
static size_t msg_len(const uint8_t *p, size_t n)
{
	if (n < 4)
		return 0;
	uint16_t v = be16(p);
	if (v == 10)
		return be16(p + 2) <= n && be16(p + 2) >= 16 ? be16(p + 2) : 0;
	if (v == 5) {
		size_t l = 24 + 48u * be16(p + 2);
		return l <= n ? l : 0;
	}
	if (v == 9) {
		size_t off = 20;
		while (off + 4 <= n) {
			uint16_t id = be16(p + off), sl = be16(p + off + 2);
			if (id == 9 || sl < 4)
				break;
			if (off + sl > n)
				return 0;
			off += sl;
		}
		return off <= n ? off : 0;
	}
	return 0;
}

/* Bytes waiting in the receive queue of local UDP port `port` (IPv4). */
static long rx_queue(unsigned port)
{
	FILE *f = fopen("/proc/net/udp", "r");
	char line[512];
	long q = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned lp, txq, rxq;
		char la[16];
		if (sscanf(line, " %*d: %15[0-9A-Fa-f]:%x %*s %*x %x:%x", la, &lp, &txq, &rxq) == 4 && lp == port)
			q += rxq;
	}
	fclose(f);
	return q;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: collect_send FILE PORT [MAXQ]\n");
		return 2;
	}
	unsigned port = (unsigned)atoi(argv[2]);
	long maxq = argc > 3 ? atol(argv[3]) : 4l << 20;
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	fseek(f, 0, SEEK_END);
	long sz = ftell(f);
	rewind(f);
	uint8_t *buf = malloc((size_t)sz + 1);
	if (!buf || fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
		fprintf(stderr, "%s: read failed\n", argv[1]);
		return 1;
	}
	fclose(f);
	size_t cap = 1024, n = 0;
	struct iovec *iov = malloc(cap * sizeof(*iov));
	for (size_t off = 0; off < (size_t)sz;) {
		size_t l = msg_len(buf + off, (size_t)sz - off);
		if (!l) {
			fprintf(stderr, "%s: no export message at offset %zu\n", argv[1], off);
			return 1;
		}
		if (n == cap)
			iov = realloc(iov, (cap *= 2) * sizeof(*iov));
		iov[n].iov_base = buf + off;
		iov[n].iov_len = l;
		n++;
		off += l;
	}
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int sb = 8 << 20;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb));
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0) {
		perror("connect");
		return 1;
	}
	enum { BATCH = 64 };
	struct mmsghdr mm[BATCH];
	double t0 = now_s();
	size_t sent = 0;
	while (sent < n) {
		while (rx_queue(port) > maxq)
			usleep(200);
		unsigned k = n - sent < BATCH ? (unsigned)(n - sent) : BATCH;
		memset(mm, 0, sizeof(mm));
		for (unsigned i = 0; i < k; i++) {
			mm[i].msg_hdr.msg_iov = &iov[sent + i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		int r = sendmmsg(fd, mm, k, 0);
		if (r < 0) {
			if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN)
				continue;
			perror("sendmmsg");
			return 1;
		}
		sent += (size_t)r;
	}
	/* wait until the receiver emptied its queue: the end of its work */
	while (rx_queue(port) > 0)
		usleep(200);
	printf("messages %zu seconds %.3f\n", n, now_s() - t0);
	return 0;
}
