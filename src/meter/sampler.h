/* sampler.h — packet sampling, 1 out of N, as IOS's `sampler` does it.
 *
 *   struct sampler s;
 *   sampler_init(&s, SAMPLER_RANDOM, 100, seed);
 *   if (sampler_take(&s)) meter the packet; else it is counted as not sampled
 *
 * Deterministic: exactly every Nth packet (the first taken is the Nth).
 * Random: each window of N packets takes exactly one, at a uniformly
 * random position (IOS's "random one-out-of N"), so the rate is exact
 * over any multiple of N packets and the choice is unpredictable. The
 * generator is xorshift64* seeded by the caller: runs are reproducible
 * from the seed. N = 1 takes every packet. */
#ifndef IPFLOW_SAMPLER_H
#define IPFLOW_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>

enum sampler_mode { SAMPLER_DETERMINISTIC = 0, SAMPLER_RANDOM = 1 };

struct sampler {
	uint32_t n;          /* 1 out of n */
	uint32_t pos;        /* packets seen in the current window */
	uint32_t pick;       /* position taken in the window, 1..n */
	uint8_t mode;        /* enum sampler_mode */
	uint64_t rng;        /* xorshift64* state, never 0 */
	uint64_t seen;       /* packets offered */
	uint64_t taken;      /* packets sampled */
};

void sampler_init(struct sampler *s, enum sampler_mode mode, uint32_t n, uint64_t seed);
/* A seed nobody can guess from the configuration (RFC 5475 random
 * selection): the kernel's random bytes (the clock if it has none), mixed
 * with salt so samplers started together differ. */
uint64_t sampler_run_seed(uint64_t salt);
uint32_t sampler_next_pick(struct sampler *s); /* for sampler_take only */

static inline bool sampler_take(struct sampler *s)
{
	s->seen++;
	if (s->n <= 1) {
		s->taken++;
		return true;
	}
	if (++s->pos == s->pick) {
		s->taken++;
		if (s->pick == s->n) /* window ends here */
			s->pos = 0, s->pick = sampler_next_pick(s);
		return true;
	}
	if (s->pos == s->n)
		s->pos = 0, s->pick = sampler_next_pick(s);
	return false;
}

/* packets offered and not sampled */
static inline uint64_t sampler_skipped(const struct sampler *s)
{
	return s->seen - s->taken;
}

#endif
