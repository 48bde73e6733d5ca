/* gen_heap.h — the schedule: sessions ordered by the time of their next
 * packet.
 *
 * A 4-ary min-heap of (time, id) pairs over a caller-sized array; ties in
 * time are broken by id, so the order (and the output) is the same on
 * every run. Push, pop and replace-top cost O(log4 n); nothing allocates
 * after gen_heap_init. */
#ifndef IPFLOW_GEN_HEAP_H
#define IPFLOW_GEN_HEAP_H

#include <stdint.h>

struct gen_heap_ent {
	uint64_t t;
	uint32_t id;
};

struct gen_heap {
	struct gen_heap_ent *a;
	uint32_t n, cap;
};

/* Room for cap entries. Returns ERR_OK or ERR_NOMEM. */
int gen_heap_init(struct gen_heap *h, uint32_t cap);
/* Frees the array; the heap may be re-initialised. */
void gen_heap_free(struct gen_heap *h);

/* Add (t, id); the heap must have room (a full heap is a bug: aborts). */
void gen_heap_push(struct gen_heap *h, uint64_t t, uint32_t id);
/* Remove the top; the heap must not be empty. */
void gen_heap_pop(struct gen_heap *h);
/* Give the top entry a new time and id and restore the order (cheaper than
 * pop + push). The heap must not be empty. */
void gen_heap_replace_top(struct gen_heap *h, uint64_t t, uint32_t id);

/* The earliest entry; the heap must not be empty. */
static inline const struct gen_heap_ent *gen_heap_top(const struct gen_heap *h)
{
	return &h->a[0];
}

#endif
