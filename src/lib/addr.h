/* addr.h — address helpers shared by the transports. */
#ifndef IPFLOW_ADDR_H
#define IPFLOW_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

/* The first address of family (AF_INET or AF_INET6) configured on
 * interface ifname, into ss and len. 0, or -1 if the interface or such an
 * address does not exist. For "ip flow-export source INTERFACE". */
int addr_of_interface(const char *ifname, int family, struct sockaddr_storage *ss, socklen_t *len);

/* Split "HOST:PORT" or "[V6]:PORT" into host (hostlen bytes) and a
 * pointer to the port in s. 0, or -1 if malformed. */
int addr_split_hostport(const char *s, char *host, size_t hostlen, const char **port);

/* Bind fd (of family) to source: an address literal ([v6] allowed) or an
 * interface name (its first address of that family). 0, or -1 with err. */
int addr_bind_source(int fd, int family, const char *source, char *err, size_t errlen);

#endif
