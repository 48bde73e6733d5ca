/* addr.h — address helpers shared by the transports. */
#ifndef IPFLOW_ADDR_H
#define IPFLOW_ADDR_H

#include <sys/socket.h>

/* The first address of family (AF_INET or AF_INET6) configured on
 * interface ifname, into ss and len. 0, or -1 if the interface or such an
 * address does not exist. For "ip flow-export source INTERFACE". */
int addr_of_interface(const char *ifname, int family, struct sockaddr_storage *ss, socklen_t *len);

#endif
