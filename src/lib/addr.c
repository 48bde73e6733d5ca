#include "lib/addr.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <stdio.h>
#include <netinet/in.h>
#include <string.h>

int addr_of_interface(const char *ifname, int family, struct sockaddr_storage *ss, socklen_t *len)
{
	struct ifaddrs *ifa = NULL;
	int rc = -1;
	if (getifaddrs(&ifa) != 0)
		return -1;
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != family || strcmp(i->ifa_name, ifname) != 0)
			continue;
		/* skip IPv6 link-local: not a usable export source across routers */
		if (family == AF_INET6) {
			const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)i->ifa_addr;
			if (IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr))
				continue;
		}
		*len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
		memset(ss, 0, sizeof(*ss));
		memcpy(ss, i->ifa_addr, *len);
		rc = 0;
		break;
	}
	freeifaddrs(ifa);
	return rc;
}

/* Split "HOST:PORT" or "[HOST]:PORT" into host and port. */
int addr_split_hostport(const char *s, char *host, size_t hostlen, const char **port)
{
	const char *end;
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end || end[1] != ':')
			return -1;
		s++;
		*port = end + 2;
	} else {
		end = strrchr(s, ':');
		if (!end || memchr(s, ':', (size_t)(end - s)))
			return -1; /* bare IPv6 literal: needs brackets */
		*port = end + 1;
	}
	size_t n = (size_t)(end - s);
	if (n == 0 || n >= hostlen || **port == '\0')
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	return 0;
}

int addr_bind_source(int fd, int family, const char *source, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_DGRAM,
	                          .ai_flags = AI_PASSIVE | AI_NUMERICHOST };
	struct addrinfo *ai = NULL;
	char host[256];
	const char *src = source;
	/* accept a bracketed IPv6 literal */
	if (source[0] == '[') {
		size_t n = strcspn(source + 1, "]");
		if (n >= sizeof(host))
			n = sizeof(host) - 1;
		memcpy(host, source + 1, n);
		host[n] = '\0';
		src = host;
	}
	int gai = getaddrinfo(src, NULL, &hints, &ai);
	if (gai == EAI_NONAME) {
		/* not an address: an interface name (ip flow-export source INTERFACE) */
		struct sockaddr_storage ss;
		socklen_t sl;
		if (addr_of_interface(source, family, &ss, &sl) != 0) {
			snprintf(err, errlen, "source `%s': neither an address nor an interface with an %s address",
			         source, family == AF_INET6 ? "IPv6" : "IPv4");
			return -1;
		}
		if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
			snprintf(err, errlen, "bind source `%s': %s", source, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (gai != 0) {
		snprintf(err, errlen, "source `%s': %s", source, gai_strerror(gai));
		return -1;
	}
	int rc = bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 ? 0 : -1;
	if (rc != 0)
		snprintf(err, errlen, "bind source `%s': %s", source, strerror(errno));
	freeaddrinfo(ai);
	return rc;
}

