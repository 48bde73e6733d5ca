/* capture.c — file and live sources over libpcap; see capture.h. */
#include "capture/capture.h"

#include <errno.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct capture {
	pcap_t *pcap;
	char name[IF_NAMESIZE + 256];
	uint32_t ifindex;
	enum cap_dir dir;
	int linktype;
	int is_file;
	uint64_t received;
	cap_fn fn;
	void *arg;
};

static struct capture *cap_alloc(const char *name)
{
	struct capture *c = calloc(1, sizeof(*c));
	if (c)
		snprintf(c->name, sizeof(c->name), "%s", name);
	return c;
}

struct capture *capture_open_file(const char *path, uint32_t ifindex, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct capture *c = cap_alloc(path);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* Our own FILE with a 1 MiB buffer: libpcap would read through stdio's
	 * default 4 KiB one, a system call per few packets. "-" is stdin. */
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(c);
		return NULL;
	}
	setvbuf(f, NULL, _IOFBF, 1u << 20);
	c->pcap = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
	if (!c->pcap) {
		snprintf(err, errlen, "%s: %s", path, ebuf);
		if (f != stdin)
			fclose(f);
		free(c);
		return NULL;
	}
	c->ifindex = ifindex;
	c->dir = CAP_IN;
	c->is_file = 1;
	c->linktype = pcap_datalink(c->pcap);
	return c;
}

struct capture *capture_open_live(const char *ifname, enum cap_dir dir, const char *bpf,
                                  int snaplen, int bufsize_mb, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct bpf_program prog;
	struct capture *c = cap_alloc(ifname);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->dir = dir;
	c->ifindex = if_nametoindex(ifname);
	if (!c->ifindex) {
		snprintf(err, errlen, "%s: no such interface", ifname);
		goto fail;
	}
	c->pcap = pcap_create(ifname, ebuf);
	if (!c->pcap) {
		snprintf(err, errlen, "%s: %s", ifname, ebuf);
		goto fail;
	}
	pcap_set_snaplen(c->pcap, snaplen > 0 ? snaplen : 65535);
	pcap_set_promisc(c->pcap, 1);
	pcap_set_immediate_mode(c->pcap, 1);
	pcap_set_buffer_size(c->pcap, (bufsize_mb > 0 ? bufsize_mb : 32) * 1024 * 1024);
	pcap_set_tstamp_precision(c->pcap, PCAP_TSTAMP_PRECISION_MICRO);
	int r = pcap_activate(c->pcap);
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", ifname, pcap_geterr(c->pcap));
		goto fail;
	}
	if (pcap_setdirection(c->pcap, dir == CAP_IN ? PCAP_D_IN : PCAP_D_OUT) != 0) {
		snprintf(err, errlen, "%s: cannot select direction: %s", ifname, pcap_geterr(c->pcap));
		goto fail;
	}
	if (bpf && *bpf) {
		if (pcap_compile(c->pcap, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
			snprintf(err, errlen, "%s: filter \"%s\": %s", ifname, bpf, pcap_geterr(c->pcap));
			goto fail;
		}
		r = pcap_setfilter(c->pcap, &prog);
		pcap_freecode(&prog);
		if (r != 0) {
			snprintf(err, errlen, "%s: %s", ifname, pcap_geterr(c->pcap));
			goto fail;
		}
	}
	if (pcap_setnonblock(c->pcap, 1, ebuf) != 0) {
		snprintf(err, errlen, "%s: %s", ifname, ebuf);
		goto fail;
	}
	c->linktype = pcap_datalink(c->pcap);
	return c;
fail:
	capture_close(c);
	return NULL;
}

int capture_fd(const struct capture *c)
{
	return c->is_file ? -1 : pcap_get_selectable_fd(c->pcap);
}

static void on_pcap(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct capture *c = (struct capture *)user;
	struct cap_pkt p = {
		.data = bytes,
		.caplen = h->caplen,
		.wirelen = h->len,
		.ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec,
		.linktype = c->linktype,
		.ifindex = c->ifindex,
		.dir = (uint8_t)c->dir,
	};
	c->received++;
	c->fn(c->arg, &p);
}

int capture_dispatch(struct capture *c, int max, cap_fn fn, void *arg, char *err, size_t errlen)
{
	c->fn = fn;
	c->arg = arg;
	int r = pcap_dispatch(c->pcap, max, on_pcap, (u_char *)c);
	if (r == PCAP_ERROR) {
		snprintf(err, errlen, "%s: %s", c->name, pcap_geterr(c->pcap));
		return CAPTURE_ERR;
	}
	if (r == 0 && c->is_file)
		return CAPTURE_EOF;
	if (r == PCAP_ERROR_BREAK)
		return 0;
	return r;
}

int capture_next(struct capture *c, struct cap_pkt *p, char *err, size_t errlen)
{
	struct pcap_pkthdr *h;
	const u_char *bytes;
	int r = pcap_next_ex(c->pcap, &h, &bytes);
	if (r == PCAP_ERROR_BREAK)
		return CAPTURE_EOF;
	if (r == 0)
		return 0;
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", c->name, pcap_geterr(c->pcap));
		return CAPTURE_ERR;
	}
	p->data = bytes;
	p->caplen = h->caplen;
	p->wirelen = h->len;
	p->ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
	p->linktype = c->linktype;
	p->ifindex = c->ifindex;
	p->dir = (uint8_t)c->dir;
	c->received++;
	return 1;
}

void capture_stats(struct capture *c, struct capture_stats *st)
{
	struct pcap_stat ps;
	memset(st, 0, sizeof(*st));
	st->received = c->received;
	if (!c->is_file && pcap_stats(c->pcap, &ps) == 0) {
		st->dropped = ps.ps_drop;
		st->if_dropped = ps.ps_ifdrop;
	}
}

const char *capture_name(const struct capture *c)
{
	return c->name;
}

uint32_t capture_ifindex(const struct capture *c)
{
	return c->ifindex;
}

enum cap_dir capture_dir(const struct capture *c)
{
	return c->dir;
}

int capture_linktype(const struct capture *c)
{
	return c->linktype;
}

void capture_close(struct capture *c)
{
	if (!c)
		return;
	if (c->pcap)
		pcap_close(c->pcap);
	free(c);
}
