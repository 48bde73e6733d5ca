/* gen_truth.h — ground truth: what a NetFlow router must find in the file.
 *
 * One entry per flow key (gen_key: af, src, dst, sport, dport, proto, tos)
 * with its packets, IP bytes and first/last packet times, kept in an
 * open-addressing hash over a dense array that doubles when needed (no
 * allocation per packet: callers cache a session's key indices).
 *
 * Files:
 *   flows   "af,src,dst,sport,dport,proto,tos,packets,bytes,first_us,last_us"
 *           one row per key, sorted by first_us then by the text of the key
 *           columns (strcmp order);
 *   packets "ts_us,af,src,dst,sport,dport,proto,tos,ip_len,tcp_flags"
 *           one row per packet, in file order.
 * Addresses are inet_ntop text, times microseconds since the epoch. */
#ifndef IPFLOW_GEN_TRUTH_H
#define IPFLOW_GEN_TRUTH_H

#include <stdint.h>
#include <stdio.h>

#include "gen_flow.h"

struct gen_truth_ent {
	struct gen_key k;
	uint64_t packets, bytes, first_us, last_us;
};

struct gen_truth {
	struct gen_truth_ent *e; /* dense, in order of first sight */
	uint32_t n, cap;
	uint32_t *slot;          /* hash index: entry index + 1; 0 empty */
	uint32_t mask;
	FILE *pkt;               /* packet rows, or NULL */
	char *pbuf;
	size_t plen;
	int pkt_err;
};

/* Empty truth; pkt (borrowed, may be NULL) receives packet rows, header
 * first. Returns ERR_OK, ERR_NOMEM or ERR_IO. */
int gen_truth_init(struct gen_truth *t, FILE *pkt);
void gen_truth_free(struct gen_truth *t);

/* Index of key k, added with zero counts if new. ERR_OK, ERR_NOMEM or
 * ERR_FULL (2^31 keys). */
int gen_truth_key(struct gen_truth *t, const struct gen_key *k, uint32_t *idx);

/* Count one packet of ip_len bytes at ts_us (non-decreasing) on key idx,
 * and write its packet row if rows are wanted. */
static inline void gen_truth_count(struct gen_truth *t, uint32_t idx, uint64_t ts_us,
				   uint16_t ip_len)
{
	struct gen_truth_ent *e = &t->e[idx];
	if (!e->packets++)
		e->first_us = ts_us;
	e->last_us = ts_us;
	e->bytes += ip_len;
}

void gen_truth_packet_row(struct gen_truth *t, uint32_t idx, uint64_t ts_us, uint16_t ip_len,
			  uint8_t tcp_flags);

/* Flush packet rows. ERR_OK or ERR_IO. */
int gen_truth_finish_packets(struct gen_truth *t);

/* Sort the entries (the hash index is dropped: no more gen_truth_key) and
 * write the flows file. ERR_OK, ERR_NOMEM or ERR_IO. */
int gen_truth_write_flows(struct gen_truth *t, FILE *f);

#endif
