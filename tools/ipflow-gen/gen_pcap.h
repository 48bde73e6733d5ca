/* gen_pcap.h — classic pcap writer (no libpcap).
 *
 * File header: magic 0xa1b2c3d4 (microsecond timestamps), version 2.4,
 * thiszone 0, sigfigs 0, snaplen, linktype 1 (Ethernet); every field is
 * written little-endian, so the file is the same bytes on any host.
 * Records: ts_sec, ts_usec, incl_len = min(orig_len, snaplen), orig_len,
 * then incl_len bytes of frame — cut exactly as a capture would cut it.
 *
 * Frames are built in place in a large output buffer (gen_pcap_frame) and
 * written with one fwrite per buffer-full. */
#ifndef IPFLOW_GEN_PCAP_H
#define IPFLOW_GEN_PCAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct gen_pcap {
	FILE *f;
	int own;          /* f was opened here (not stdout) */
	uint8_t *buf;
	size_t len, cap;
	uint32_t snaplen;
	uint64_t records; /* records committed */
};

/* Open path ("-" = stdout) and write the file header. Returns ERR_OK,
 * ERR_IO (errno set) or ERR_NOMEM. */
int gen_pcap_open(struct gen_pcap *w, const char *path, uint32_t snaplen);

/* Room for one frame of up to max bytes; valid until the next commit.
 * Returns NULL only on a write error (ERR_IO from gen_pcap_close). */
uint8_t *gen_pcap_frame(struct gen_pcap *w, size_t max);

/* Commit the frame just built at gen_pcap_frame's pointer: orig_len bytes,
 * captured at ts_us (microseconds since the epoch; seconds must fit 32
 * bits, which the caller checks). */
void gen_pcap_commit(struct gen_pcap *w, uint64_t ts_us, size_t orig_len);

/* Flush, close (unless stdout: then flush only) and free. Returns ERR_OK
 * or ERR_IO if any write failed. Safe on a writer that failed to open. */
int gen_pcap_close(struct gen_pcap *w);

#endif
