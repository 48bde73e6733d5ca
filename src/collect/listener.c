/* listener.c — the table of listener schemes and helpers they share. */
#include "collect/listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/addr.h"

static const struct listener_ops *const schemes[] = {
	&listener_udp_ops,
	&listener_tcp_ops,
	&listener_sctp_ops,
};

struct listener *listener_open(const char *spec, const struct listener_cfg *cfg, const struct lsn_sink *to,
                               char *err, size_t errlen)
{
	const char *colon = strchr(spec, ':');
	if (!colon) {
		snprintf(err, errlen, "listener '%s': expected udp:, tcp: or sctp:[ADDR:]PORT", spec);
		return NULL;
	}
	size_t n = (size_t)(colon - spec);
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strlen(schemes[i]->scheme) == n && strncmp(spec, schemes[i]->scheme, n) == 0)
			return schemes[i]->open(colon + 1, cfg, to, err, errlen);
	snprintf(err, errlen, "listener '%s': unknown scheme '%.*s' (udp, tcp, sctp)", spec, (int)n, spec);
	return NULL;
}

int listener_ready(struct listener *l, uint64_t now_us)
{
	return l->ops->ready(l, now_us);
}

void listener_tick(struct listener *l, uint64_t now_us)
{
	if (l->ops->tick)
		l->ops->tick(l, now_us);
}

const struct listener_stats *listener_stats(struct listener *l)
{
	if (l->ops->refresh)
		l->ops->refresh(l);
	return &l->st;
}

void listener_show(struct listener *l, FILE *out)
{
	const struct listener_stats *s = listener_stats(l);
	fprintf(out, "Listener %s: %llu messages, %llu bytes", l->name, (unsigned long long)s->msgs,
	        (unsigned long long)s->bytes);
	if (l->ops->show)
		l->ops->show(l, out);
	fputc('\n', out);
}

void listener_close(struct listener *l)
{
	if (l)
		l->ops->close(l);
}

uint32_t lsn_new_session(void)
{
	static uint32_t next;
	if (++next == 0)
		next = 1;
	return next;
}

int lsn_parse_addr(const char *rest, struct sockaddr_storage *ss, unsigned *sslen, int *dual, char *err,
                   size_t errlen)
{
	char host[128] = "";
	const char *port = rest;
	memset(ss, 0, sizeof(*ss));
	*dual = 0;
	if (strchr(rest, ':')) {
		if (addr_split_hostport(rest, host, sizeof(host), &port) != 0) {
			snprintf(err, errlen, "'%s': expected [ADDR:]PORT", rest);
			return -1;
		}
	}
	char *end;
	unsigned long p = strtoul(port, &end, 10);
	if (!*port || *end || p > 65535 || port[0] == '-' || port[0] == '+') {
		snprintf(err, errlen, "'%s': bad port '%s'", rest, port);
		return -1;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (!host[0] || strcmp(host, "*") == 0) {
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_any;
		s6->sin6_port = htons((uint16_t)p);
		*sslen = sizeof(*s6);
		*dual = 1;
		return 0;
	}
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		*sslen = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		*sslen = sizeof(*s6);
		return 0;
	}
	snprintf(err, errlen, "'%s': '%s' is not an IPv4 or [IPv6] address", rest, host);
	return -1;
}

void lsn_peer_from(struct lsn_peer *p, const struct sockaddr_storage *ss)
{
	memset(p, 0, sizeof(*p));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		memcpy(p->addr, &s4->sin_addr, 4);
		p->af = 4;
		p->port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			memcpy(p->addr, s6->sin6_addr.s6_addr + 12, 4);
			p->af = 4;
		} else {
			memcpy(p->addr, &s6->sin6_addr, 16);
			p->af = 6;
		}
		p->port = ntohs(s6->sin6_port);
	} else {
		p->af = 4; /* unknown family: 0.0.0.0 */
	}
}

const char *lsn_peer_str(const struct lsn_peer *p, char *buf, size_t len)
{
	if (!inet_ntop(p->af == 6 ? AF_INET6 : AF_INET, p->addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

uint64_t lsn_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
