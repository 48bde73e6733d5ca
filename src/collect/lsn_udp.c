/* lsn_udp.c — UDP listener (udp:[ADDR:]PORT): one datagram, one export
 * message (RFC 7011 §10.3, RFC 3954).
 *
 * Datagrams are read in batches with recvmmsg (RECV_BATCH at a time, at
 * most RECV_BUDGET per ready() so other listeners get their turn), into
 * 64 KiB buffers: a datagram can be no larger, and one cut short
 * (MSG_TRUNC) is counted and dropped. The receive buffer is set large
 * (SO_RCVBUFFORCE when privileged, else SO_RCVBUF up to rmem_max).
 * Kernel drops (receive buffer full) come from SO_RXQ_OVFL on each
 * datagram and from SO_MEMINFO (SK_MEMINFO_DROPS) when counters are read,
 * so drops show even when nothing arrives after them. */
#include <errno.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collect/listener.h"

#define RECV_BATCH 64
#define RECV_BUDGET 1024
#define DGRAM_MAX 65536
#define RCVBUF_DEFAULT (32 << 20)

#ifndef SO_RXQ_OVFL
#define SO_RXQ_OVFL 40
#endif
#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif

struct udp_lsn {
	struct listener base;
	int rcvbuf;             /* what the kernel granted */
	uint32_t ovfl_base;     /* drop count at open */
	uint32_t ovfl_last;
	struct mmsghdr mm[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	struct sockaddr_storage from[RECV_BATCH];
	char ctl[RECV_BATCH][CMSG_SPACE(sizeof(uint32_t))];
	uint8_t *bufs;          /* RECV_BATCH × DGRAM_MAX */
};

static void udp_drops(struct udp_lsn *u, uint32_t total)
{
	/* a 32-bit counter since the socket was made; track its growth */
	if (total - u->ovfl_base > u->ovfl_last - u->ovfl_base)
		u->ovfl_last = total;
	u->base.st.kernel_drops = u->ovfl_last - u->ovfl_base;
}

static void udp_refresh(struct listener *l)
{
	struct udp_lsn *u = (struct udp_lsn *)l;
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mi);
	memset(mi, 0, sizeof(mi));
	if (getsockopt(l->fd, SOL_SOCKET, SO_MEMINFO, mi, &len) == 0 && len > SK_MEMINFO_DROPS * sizeof(uint32_t))
		udp_drops(u, mi[SK_MEMINFO_DROPS]);
}

static int udp_ready(struct listener *l, uint64_t now_us)
{
	struct udp_lsn *u = (struct udp_lsn *)l;
	int delivered = 0;
	(void)now_us;
	while (delivered < RECV_BUDGET) {
		for (int i = 0; i < RECV_BATCH; i++) {
			u->iov[i].iov_base = u->bufs + (size_t)i * DGRAM_MAX;
			u->iov[i].iov_len = DGRAM_MAX;
			struct msghdr *h = &u->mm[i].msg_hdr;
			h->msg_name = &u->from[i];
			h->msg_namelen = sizeof(u->from[i]);
			h->msg_iov = &u->iov[i];
			h->msg_iovlen = 1;
			h->msg_control = u->ctl[i];
			h->msg_controllen = sizeof(u->ctl[i]);
			h->msg_flags = 0;
		}
		int n = recvmmsg(l->fd, u->mm, RECV_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				l->st.errors++;
			break;
		}
		uint64_t t = lsn_now_us();
		for (int i = 0; i < n; i++) {
			struct msghdr *h = &u->mm[i].msg_hdr;
			for (struct cmsghdr *cm = CMSG_FIRSTHDR(h); cm; cm = CMSG_NXTHDR(h, cm))
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL) {
					uint32_t v;
					memcpy(&v, CMSG_DATA(cm), sizeof(v));
					udp_drops(u, v);
				}
			if (h->msg_flags & MSG_TRUNC) {
				l->st.truncated++;
				continue;
			}
			struct lsn_msg m = { .transport = LSN_T_UDP, .p = u->iov[i].iov_base,
			                     .len = u->mm[i].msg_len, .recv_us = t };
			lsn_peer_from(&m.peer, &u->from[i]);
			l->st.msgs++;
			l->st.bytes += m.len;
			l->to.msg(l->to.arg, &m);
			delivered++;
		}
		if (n < RECV_BATCH)
			break;
	}
	return delivered;
}

static void udp_show(const struct listener *l, FILE *out)
{
	const struct udp_lsn *u = (const struct udp_lsn *)l;
	fprintf(out, ", kernel drops %llu, truncated %llu, receive errors %llu, receive buffer %d bytes",
	        (unsigned long long)l->st.kernel_drops, (unsigned long long)l->st.truncated,
	        (unsigned long long)l->st.errors, u->rcvbuf);
}

static void udp_close(struct listener *l)
{
	struct udp_lsn *u = (struct udp_lsn *)l;
	if (l->fd >= 0)
		close(l->fd);
	free(u->bufs);
	free(u);
}

static struct listener *udp_open(const char *rest, const struct listener_cfg *cfg, const struct lsn_sink *to,
                                 char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	unsigned sslen;
	int dual, one = 1, zero = 0;
	if (lsn_parse_addr(rest, &ss, &sslen, &dual, err, errlen) != 0)
		return NULL;
	struct udp_lsn *u = calloc(1, sizeof(*u));
	if (!u || !(u->bufs = malloc((size_t)RECV_BATCH * DGRAM_MAX))) {
		free(u);
		snprintf(err, errlen, "udp:%s: out of memory", rest);
		return NULL;
	}
	struct listener *l = &u->base;
	l->ops = &listener_udp_ops;
	l->to = *to;
	l->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l->fd < 0) {
		snprintf(err, errlen, "udp:%s: socket: %s", rest, strerror(errno));
		goto fail;
	}
	if (dual)
		setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	int want = cfg->rcvbuf > 0 ? cfg->rcvbuf : RCVBUF_DEFAULT;
	if (setsockopt(l->fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof(want)) != 0)
		setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
	socklen_t sl = sizeof(u->rcvbuf);
	getsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &u->rcvbuf, &sl);
	setsockopt(l->fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	if (bind(l->fd, (struct sockaddr *)&ss, sslen) != 0) {
		snprintf(err, errlen, "udp:%s: bind: %s", rest, strerror(errno));
		goto fail;
	}
	struct sockaddr_storage bound;
	socklen_t bl = sizeof(bound);
	getsockname(l->fd, (struct sockaddr *)&bound, &bl);
	struct lsn_peer bp;
	lsn_peer_from(&bp, &bound);
	l->port = bp.port;
	/* the name with the bound port (port 0 asks the kernel for one) */
	char host[64];
	const char *colon = strrchr(rest, ':');
	if (colon && (size_t)(colon - rest) < sizeof(host)) {
		memcpy(host, rest, (size_t)(colon - rest));
		host[colon - rest] = 0;
		snprintf(l->name, sizeof(l->name), "udp:%s:%u", host, l->port);
	} else {
		snprintf(l->name, sizeof(l->name), "udp:%u", l->port);
	}
	uint32_t mi[SK_MEMINFO_VARS] = { 0 };
	socklen_t ml = sizeof(mi);
	if (getsockopt(l->fd, SOL_SOCKET, SO_MEMINFO, mi, &ml) == 0)
		u->ovfl_base = u->ovfl_last = mi[SK_MEMINFO_DROPS];
	return l;
fail:
	udp_close(l);
	return NULL;
}

const struct listener_ops listener_udp_ops = {
	.scheme = "udp", .open = udp_open, .ready = udp_ready, .refresh = udp_refresh,
	.show = udp_show, .close = udp_close,
};
