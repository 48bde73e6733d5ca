/* gen_run.c — see gen_run.h. */
#include "gen_run.h"

#include <stdlib.h>
#include <string.h>

#include "gen_frame.h"
#include "gen_heap.h"
#include "lib/err.h"

/* Write one packet of f: frame, truth, statistics. */
static int run_emit(struct gen_flow *f, const struct gen_pkt *p, struct gen_pcap *w,
		    struct gen_truth *t, struct gen_stats *st)
{
	uint8_t *frame = gen_pcap_frame(w, GEN_FRAME_MAX);
	uint16_t ip_len;

	if (!frame)
		return ERR_IO;
	if (p->ts_us / 1000000 > UINT32_MAX)
		return ERR_RANGE;
	size_t len = gen_frame_write(f, p, frame, &ip_len);
	gen_pcap_commit(w, p->ts_us, len);
	if (t) {
		unsigned s = gen_pkt_slot(p);
		if (f->key_idx[s] == UINT32_MAX) {
			struct gen_key k;
			gen_flow_key(f, p, &k);
			int r = gen_truth_key(t, &k, &f->key_idx[s]);
			if (r != ERR_OK)
				return r;
		}
		gen_truth_count(t, f->key_idx[s], p->ts_us, ip_len);
		if (t->pkt)
			gen_truth_packet_row(t, f->key_idx[s], p->ts_us, ip_len, p->tcp_flags);
	}
	if (!st->packets++)
		st->first_us = p->ts_us;
	st->last_us = p->ts_us;
	st->bytes += ip_len;
	st->frags += p->frag != GEN_FRAG_NONE;
	st->by_encap[f->encap]++;
	st->by_af[f->af == 6]++;
	st->by_kind[f->kind]++;
	st->by_class[f->cls]++;
	return ERR_OK;
}

int gen_run(const struct gen_opts *o, struct gen_model *m, struct gen_pcap *w,
	    struct gen_truth *t, struct gen_stats *st)
{
	const uint32_t arrival = o->concurrent; /* heap id of the next arrival */
	const double mean_gap_us = o->flows_per_sec > 0 ? 1e6 / o->flows_per_sec : 0;
	struct gen_flow *flows = calloc(o->concurrent, sizeof(*flows));
	uint32_t *idle = NULL; /* free slots (flow rate only) */
	uint32_t nidle = 0;
	uint64_t waiting = 0;  /* arrivals waiting for room */
	struct gen_heap h = { 0 };
	int r = ERR_NOMEM;

	memset(st, 0, sizeof(*st));
	if (!flows || gen_heap_init(&h, o->concurrent + 1) != ERR_OK)
		goto out;
	if (mean_gap_us > 0) {
		idle = malloc(o->concurrent * sizeof(*idle));
		if (!idle)
			goto out;
		for (uint32_t i = o->concurrent; i-- > 0;)
			idle[nidle++] = i;
		gen_heap_push(&h, o->start_us, arrival);
	} else {
		for (uint32_t i = 0; i < o->concurrent; i++) {
			gen_flow_start(m, &flows[i], o->start_us, true);
			gen_heap_push(&h, flows[i].next_us, i);
		}
	}

	r = ERR_OK;
	while (st->packets < o->packets) {
		uint32_t id = gen_heap_top(&h)->id;
		uint64_t now = gen_heap_top(&h)->t;

		if (id == arrival) {
			uint64_t gap = (uint64_t)(gen_rng_exp(&m->rng, mean_gap_us) + 0.5);
			gen_heap_replace_top(&h, now + (gap ? gap : 1), arrival);
			if (nidle) {
				uint32_t s = idle[--nidle];
				gen_flow_start(m, &flows[s], now, false);
				gen_heap_push(&h, flows[s].next_us, s);
			} else {
				waiting++;
			}
			continue;
		}

		struct gen_flow *f = &flows[id];
		struct gen_pkt p;
		bool more = gen_flow_step(m, f, &p);
		r = run_emit(f, &p, w, t, st);
		if (r != ERR_OK)
			break;
		if (more) {
			gen_heap_replace_top(&h, f->next_us, id);
		} else if (mean_gap_us == 0 || waiting) {
			if (waiting) {
				waiting--;
				st->deferred++;
			}
			gen_flow_start(m, f, p.ts_us, false);
			gen_heap_replace_top(&h, f->next_us, id);
		} else {
			gen_heap_pop(&h);
			idle[nidle++] = id;
		}
	}
out:
	gen_heap_free(&h);
	free(idle);
	free(flows);
	return r;
}
