/* recv_floor.c — the benchmark's floor: a UDP receiver that does nothing
 * but take datagrams off its socket the way ipflow-collect does
 * (recvmmsg, 64 at a time, into 64 KiB buffers, SO_RCVBUF as given) and
 * count them. Its CPU time per record is what the kernel's receive path
 * alone costs, the part of every collector's time that no collector's
 * code can remove: bench/collect.sh runs it beside the real receivers.
 *
 *   recv_floor PORT RCVBUF
 *
 * Binds 127.0.0.1:PORT; on SIGTERM prints "datagrams N bytes B" and exits.
 * Not built by CMake: bench/collect.sh compiles it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define DGRAM 65536

static volatile sig_atomic_t stop;

static void on_term(int s)
{
	(void)s;
	stop = 1;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: recv_floor PORT RCVBUF\n");
		return 2;
	}
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	int rb = atoi(argv[2]);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rb, sizeof(rb)) != 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		perror("recv_floor");
		return 1;
	}
	struct sigaction sa = { .sa_handler = on_term };
	sigaction(SIGTERM, &sa, NULL);
	uint8_t *bufs = malloc((size_t)BATCH * DGRAM);
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage from[BATCH];
	if (!bufs)
		return 1;
	uint64_t n = 0, bytes = 0;
	while (!stop) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, -1) < 0 && errno == EINTR)
			continue;
		for (;;) {
			for (int i = 0; i < BATCH; i++) {
				iov[i].iov_base = bufs + (size_t)i * DGRAM;
				iov[i].iov_len = DGRAM;
				memset(&mm[i].msg_hdr, 0, sizeof(mm[i].msg_hdr));
				mm[i].msg_hdr.msg_name = &from[i];
				mm[i].msg_hdr.msg_namelen = sizeof(from[i]);
				mm[i].msg_hdr.msg_iov = &iov[i];
				mm[i].msg_hdr.msg_iovlen = 1;
			}
			int k = recvmmsg(fd, mm, BATCH, MSG_DONTWAIT, NULL);
			if (k <= 0)
				break;
			for (int i = 0; i < k; i++)
				bytes += mm[i].msg_len;
			n += (uint64_t)k;
			if (k < BATCH)
				break;
		}
	}
	printf("datagrams %llu bytes %llu\n", (unsigned long long)n, (unsigned long long)bytes);
	return 0;
}
