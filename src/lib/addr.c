#include "lib/addr.h"

#include <ifaddrs.h>
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
