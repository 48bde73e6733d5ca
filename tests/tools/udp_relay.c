/* udp_relay — a lossy UDP relay for fault-injection tests: clients send
 * to the relay's port, the relay forwards to one target (from a socket of
 * its own per client) and the target's answers back to the client.
 * Drops are decided by a seeded PRNG per direction, so a run is
 * reproducible for a given packet order.
 *
 *   udp_relay -l PORT -t HOST:PORT [-p PORTFILE] [-s SEED] [-u LOSS] [-d LOSS]
 *             [-w PCAP] [-S STATS]
 *
 * -u: loss towards the target (up), -d: towards the client (down), as a
 * fraction 0..1. -w writes every datagram the relay received (before any
 * drop: the wire as the sender saw it) as IPv4/UDP in a pcap (DLT_RAW),
 * both directions, addresses as on the sockets. Commands, one a line, on
 * stdin: "loss UP DOWN", "cut" (drop everything), "cut up" / "cut down"
 * (drop one direction only: "cut down" loses every acknowledgement while
 * the data still arrives), "heal", "quit". At
 * exit (quit, EOF on stdin, SIGTERM) the counters go to -S (JSON). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_CLIENTS 16
#define CUT_UP 1
#define CUT_DOWN 2

struct client {
	struct sockaddr_in addr;
	int fd; /* towards the target */
};

static struct {
	double loss_up, loss_down;
	int cut; /* CUT_UP | CUT_DOWN */
	uint64_t rng;
	uint64_t in_up, in_down, drop_up, drop_down, cut_up, cut_down;
	FILE *pcap;
	struct sockaddr_in target, self;
} R;

static volatile sig_atomic_t stop_flag;

static void on_sig(int s)
{
	(void)s;
	stop_flag = 1;
}

/* xorshift64*: deterministic for a seed */
static double rnd(void)
{
	R.rng ^= R.rng >> 12;
	R.rng ^= R.rng << 25;
	R.rng ^= R.rng >> 27;
	return (double)((R.rng * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static void pcap_put32(uint32_t v)
{
	fwrite(&v, 4, 1, R.pcap);
}

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void pcap_write(const struct sockaddr_in *src, const struct sockaddr_in *dst, const uint8_t *d, size_t n)
{
	if (!R.pcap || n > 65000)
		return;
	uint8_t h[28];
	size_t tot = 28 + n;
	memset(h, 0, sizeof(h));
	h[0] = 0x45;
	h[2] = (uint8_t)(tot >> 8), h[3] = (uint8_t)tot;
	h[8] = 64;
	h[9] = 17;
	memcpy(h + 12, &src->sin_addr, 4);
	memcpy(h + 16, &dst->sin_addr, 4);
	uint16_t c = csum(h, 20);
	h[10] = (uint8_t)(c >> 8), h[11] = (uint8_t)c;
	memcpy(h + 20, &src->sin_port, 2);
	memcpy(h + 22, &dst->sin_port, 2);
	h[24] = (uint8_t)((8 + n) >> 8), h[25] = (uint8_t)(8 + n);
	struct timeval tv;
	gettimeofday(&tv, NULL);
	pcap_put32((uint32_t)tv.tv_sec);
	pcap_put32((uint32_t)tv.tv_usec);
	pcap_put32((uint32_t)tot);
	pcap_put32((uint32_t)tot);
	fwrite(h, 1, sizeof(h), R.pcap);
	fwrite(d, 1, n, R.pcap);
}

static int parse_hostport(const char *s, struct sockaddr_in *a)
{
	char host[128];
	const char *c = strrchr(s, ':');
	if (!c || (size_t)(c - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(c - s));
	host[c - s] = 0;
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM };
	struct addrinfo *res;
	if (getaddrinfo(host, c + 1, &hints, &res) != 0)
		return -1;
	memcpy(a, res->ai_addr, sizeof(*a));
	freeaddrinfo(res);
	return 0;
}

static void command(const char *line)
{
	double u, d;
	if (sscanf(line, "loss %lf %lf", &u, &d) == 2) {
		R.loss_up = u;
		R.loss_down = d;
	} else if (strncmp(line, "cut up", 6) == 0) {
		R.cut = CUT_UP;
	} else if (strncmp(line, "cut down", 8) == 0) {
		R.cut = CUT_DOWN;
	} else if (strncmp(line, "cut", 3) == 0) {
		R.cut = CUT_UP | CUT_DOWN;
	} else if (strncmp(line, "heal", 4) == 0) {
		R.cut = 0;
	} else if (strncmp(line, "quit", 4) == 0) {
		stop_flag = 1;
	} else {
		fprintf(stderr, "udp_relay: unknown command: %s", line);
	}
}

int main(int argc, char **argv)
{
	int lport = 0, c;
	const char *target = NULL, *portfile = NULL, *pcap = NULL, *stats = NULL;
	uint64_t seed = 1;
	while ((c = getopt(argc, argv, "l:t:p:s:u:d:w:S:")) != -1) {
		switch (c) {
		case 'l': lport = atoi(optarg); break;
		case 't': target = optarg; break;
		case 'p': portfile = optarg; break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'u': R.loss_up = atof(optarg); break;
		case 'd': R.loss_down = atof(optarg); break;
		case 'w': pcap = optarg; break;
		case 'S': stats = optarg; break;
		default:
			fprintf(stderr, "usage: udp_relay -l PORT -t HOST:PORT [-p PORTFILE] [-s SEED] [-u LOSS] [-d LOSS] "
			                "[-w PCAP] [-S STATS]\n");
			return 2;
		}
	}
	if (!target || parse_hostport(target, &R.target) != 0) {
		fprintf(stderr, "udp_relay: -t HOST:PORT needed\n");
		return 2;
	}
	R.rng = seed * 0x9e3779b97f4a7c15ull + 1;
	struct sigaction sa = { .sa_handler = on_sig };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	int lfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in la = { .sin_family = AF_INET, .sin_port = htons((uint16_t)lport) };
	la.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int b = 8 << 20;
	setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &b, sizeof(b));
	setsockopt(lfd, SOL_SOCKET, SO_SNDBUF, &b, sizeof(b));
	if (bind(lfd, (struct sockaddr *)&la, sizeof(la)) != 0) {
		fprintf(stderr, "udp_relay: bind: %s\n", strerror(errno));
		return 1;
	}
	socklen_t sl = sizeof(R.self);
	getsockname(lfd, (struct sockaddr *)&R.self, &sl);
	if (portfile) {
		FILE *f = fopen(portfile, "w");
		if (f) {
			fprintf(f, "%u\n", ntohs(R.self.sin_port));
			fclose(f);
		}
	}
	if (pcap && (R.pcap = fopen(pcap, "w"))) {
		pcap_put32(0xa1b2c3d4);
		uint16_t v[2] = { 2, 4 };
		fwrite(v, 2, 2, R.pcap);
		pcap_put32(0);
		pcap_put32(0);
		pcap_put32(65535);
		pcap_put32(101); /* LINKTYPE_RAW */
	}
	struct client cl[MAX_CLIENTS];
	int ncl = 0;
	uint8_t buf[65536];
	char line[256];
	size_t llen = 0;
	bool stdin_open = true;
	while (!stop_flag) {
		struct pollfd p[2 + MAX_CLIENTS];
		int np = 0;
		p[np++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		p[np++] = (struct pollfd){ .fd = stdin_open ? 0 : -1, .events = POLLIN };
		for (int i = 0; i < ncl; i++)
			p[np++] = (struct pollfd){ .fd = cl[i].fd, .events = POLLIN };
		if (poll(p, (nfds_t)np, 200) < 0 && errno != EINTR)
			break;
		if (p[1].revents) {
			ssize_t n = read(0, line + llen, sizeof(line) - 1 - llen);
			if (n <= 0) {
				stdin_open = false; /* EOF: keep relaying until killed */
			} else {
				llen += (size_t)n;
				line[llen] = 0;
				char *nl;
				while ((nl = strchr(line, '\n'))) {
					*nl = 0;
					command(line);
					memmove(line, nl + 1, llen - (size_t)(nl + 1 - line) + 1);
					llen = strlen(line);
				}
				if (llen >= sizeof(line) - 1)
					llen = 0;
			}
		}
		if (p[0].revents & POLLIN) {
			for (;;) {
				struct sockaddr_in from;
				socklen_t fl = sizeof(from);
				ssize_t n = recvfrom(lfd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
				if (n < 0)
					break;
				int k;
				for (k = 0; k < ncl; k++)
					if (cl[k].addr.sin_port == from.sin_port && cl[k].addr.sin_addr.s_addr == from.sin_addr.s_addr)
						break;
				if (k == ncl) {
					if (ncl == MAX_CLIENTS)
						continue;
					cl[k].addr = from;
					cl[k].fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
					setsockopt(cl[k].fd, SOL_SOCKET, SO_RCVBUF, &b, sizeof(b));
					setsockopt(cl[k].fd, SOL_SOCKET, SO_SNDBUF, &b, sizeof(b));
					connect(cl[k].fd, (struct sockaddr *)&R.target, sizeof(R.target));
					ncl++;
				}
				R.in_up++;
				pcap_write(&from, &R.self, buf, (size_t)n);
				if (R.cut & CUT_UP) {
					R.cut_up++;
					continue;
				}
				if (rnd() < R.loss_up) {
					R.drop_up++;
					continue;
				}
				(void)send(cl[k].fd, buf, (size_t)n, 0);
			}
		}
		for (int i = 0; i < ncl; i++) {
			if (!(p[2 + i].revents & POLLIN))
				continue;
			for (;;) {
				ssize_t n = recv(cl[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
				if (n < 0)
					break;
				R.in_down++;
				pcap_write(&R.self, &cl[i].addr, buf, (size_t)n);
				if (R.cut & CUT_DOWN) {
					R.cut_down++;
					continue;
				}
				if (rnd() < R.loss_down) {
					R.drop_down++;
					continue;
				}
				(void)sendto(lfd, buf, (size_t)n, 0, (struct sockaddr *)&cl[i].addr, sizeof(cl[i].addr));
			}
		}
	}
	if (R.pcap)
		fclose(R.pcap);
	if (stats) {
		FILE *f = fopen(stats, "w");
		if (f) {
			fprintf(f, "{\"up\":%llu,\"down\":%llu,\"droppedUp\":%llu,\"droppedDown\":%llu,\"cutUp\":%llu,"
			           "\"cutDown\":%llu}\n",
			        (unsigned long long)R.in_up, (unsigned long long)R.in_down, (unsigned long long)R.drop_up,
			        (unsigned long long)R.drop_down, (unsigned long long)R.cut_up, (unsigned long long)R.cut_down);
			fclose(f);
		}
	}
	return 0;
}
