/* capture.h — packet sources (stage 1 of DESIGN.md), through libpcap.
 *
 * A source is a pcap/pcapng file (read as fast as possible, or paced to a
 * multiple of its own pace by the caller) or a live interface (immediate
 * mode, non-blocking, one direction or both). Each delivers frames with
 * their capture time, link type, the ifIndex they are metered under and
 * the direction (0 ingress, 1 egress), to a callback. */
#ifndef IPFLOW_CAPTURE_H
#define IPFLOW_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

struct cap_pkt {
	const uint8_t *data;
	uint32_t caplen;
	uint32_t wirelen;
	uint64_t ts_us;    /* capture time, us since the epoch */
	int linktype;      /* DLT_ */
	uint32_t ifindex;
	uint8_t dir;       /* 0 ingress, 1 egress */
};

typedef void (*cap_fn)(void *arg, const struct cap_pkt *p);

enum cap_dir { CAP_IN = 0, CAP_OUT = 1 };

struct capture_stats {
	uint64_t received;   /* frames delivered to us */
	uint64_t dropped;    /* dropped by the kernel for lack of buffer (pcap_stats ps_drop) */
	uint64_t if_dropped; /* dropped by the interface/driver (ps_ifdrop) */
};

struct capture;

/* Open a pcap or pcapng file; frames are metered under ifindex, ingress. */
struct capture *capture_open_file(const char *path, uint32_t ifindex, char *err, size_t errlen);

/* Open a live interface in immediate mode for one direction. bpf may be
 * NULL. The ifIndex is the kernel's. */
struct capture *capture_open_live(const char *ifname, enum cap_dir dir, const char *bpf,
                                  int snaplen, int bufsize_mb, char *err, size_t errlen);

/* Selectable fd of a live source; -1 for a file. */
int capture_fd(const struct capture *c);

/* Deliver up to max frames (max <= 0: all that are ready). Returns the
 * number delivered, CAPTURE_EOF at the end of a file, or CAPTURE_ERR
 * (message in err). */
#define CAPTURE_EOF (-2)
#define CAPTURE_ERR (-1)
int capture_dispatch(struct capture *c, int max, cap_fn fn, void *arg, char *err, size_t errlen);

/* Read one frame from a file without a callback (for pacing); returns 1,
 * CAPTURE_EOF or CAPTURE_ERR. */
int capture_next(struct capture *c, struct cap_pkt *p, char *err, size_t errlen);

void capture_stats(struct capture *c, struct capture_stats *st);
const char *capture_name(const struct capture *c);
uint32_t capture_ifindex(const struct capture *c);
enum cap_dir capture_dir(const struct capture *c);
int capture_linktype(const struct capture *c);
void capture_close(struct capture *c); /* NULL is a no-op */

#endif
