/* gen_heap.c — 4-ary min-heap on (t, id). */
#include "gen_heap.h"

#include <stdlib.h>

#include "lib/err.h"

static inline int heap_less(const struct gen_heap_ent *a, const struct gen_heap_ent *b)
{
	return a->t < b->t || (a->t == b->t && a->id < b->id);
}

int gen_heap_init(struct gen_heap *h, uint32_t cap)
{
	h->a = malloc((size_t)(cap ? cap : 1) * sizeof(*h->a));
	h->n = 0;
	h->cap = cap;
	return h->a ? ERR_OK : ERR_NOMEM;
}

void gen_heap_free(struct gen_heap *h)
{
	free(h->a);
	h->a = NULL;
	h->n = h->cap = 0;
}

static void heap_down(struct gen_heap *h, uint32_t i, struct gen_heap_ent e)
{
	struct gen_heap_ent *a = h->a;
	uint32_t n = h->n;

	for (;;) {
		uint64_t c = (uint64_t)i * 4 + 1;
		if (c >= n)
			break;
		uint32_t best = (uint32_t)c;
		uint32_t end = c + 4 < n ? (uint32_t)c + 4 : n;
		for (uint32_t j = best + 1; j < end; j++)
			if (heap_less(&a[j], &a[best]))
				best = j;
		if (!heap_less(&a[best], &e))
			break;
		a[i] = a[best];
		i = best;
	}
	a[i] = e;
}

void gen_heap_push(struct gen_heap *h, uint64_t t, uint32_t id)
{
	struct gen_heap_ent e = { t, id };
	uint32_t i;

	if (h->n >= h->cap)
		abort();
	for (i = h->n++; i > 0; ) {
		uint32_t parent = (i - 1) / 4;
		if (!heap_less(&e, &h->a[parent]))
			break;
		h->a[i] = h->a[parent];
		i = parent;
	}
	h->a[i] = e;
}

void gen_heap_pop(struct gen_heap *h)
{
	if (h->n == 0)
		abort();
	struct gen_heap_ent last = h->a[--h->n];
	if (h->n)
		heap_down(h, 0, last);
}

void gen_heap_replace_top(struct gen_heap *h, uint64_t t, uint32_t id)
{
	struct gen_heap_ent e = { t, id };

	if (h->n == 0)
		abort();
	heap_down(h, 0, e);
}
