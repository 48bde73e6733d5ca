/* gen_run.h — the generator's main loop: schedule sessions, write frames,
 * count truth.
 *
 * Without a flow rate, o->concurrent sessions are in progress at every
 * instant: the population at the start is drawn as in the steady state
 * (gen_flow_start initial), and each session that ends is replaced at once
 * by a new arrival. With a rate, sessions arrive as a Poisson process of
 * that rate and at most o->concurrent run at once (an arrival finding no
 * room waits for the next session to end). Cost per packet: one heap
 * operation on o->concurrent entries, one frame, no allocation. */
#ifndef IPFLOW_GEN_RUN_H
#define IPFLOW_GEN_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "gen_flow.h"
#include "gen_pcap.h"
#include "gen_truth.h"

struct gen_opts {
	uint64_t packets;
	uint32_t concurrent;     /* >= 1 */
	double flows_per_sec;    /* 0: replace each session as it ends */
	uint64_t start_us;
};

struct gen_stats {
	uint64_t packets, bytes;            /* bytes: IP bytes */
	uint64_t first_us, last_us;
	uint64_t frags;                     /* fragment packets (first and later) */
	uint64_t by_encap[GEN_L2_COUNT];    /* packets */
	uint64_t by_af[2];                  /* packets: IPv4, IPv6 */
	uint64_t by_kind[GEN_K_COUNT];      /* packets by session kind */
	uint64_t by_class[GEN_C_COUNT];     /* packets by session timing class */
	uint64_t deferred;                  /* arrivals that waited for room */
};

/* Write o->packets packets to w, driving model m; count each packet's key
 * into t unless t is NULL. Returns ERR_OK, ERR_NOMEM, ERR_IO (pcap write),
 * ERR_RANGE (a timestamp past 2^32 s) or a gen_truth_key error. */
int gen_run(const struct gen_opts *o, struct gen_model *m, struct gen_pcap *w,
	    struct gen_truth *t, struct gen_stats *st);

#endif
