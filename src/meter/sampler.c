/* sampler.c — see sampler.h. */
#include "meter/sampler.h"

#include <sys/random.h>
#include <time.h>

uint64_t sampler_run_seed(uint64_t salt)
{
	uint64_t r = 0;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		r = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	}
	r ^= salt * 0x9E3779B97F4A7C15ULL;
	return r ? r : 1;
}

static uint64_t xs64(uint64_t *st)
{
	uint64_t x = *st;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*st = x;
	return x * 0x2545F4914F6CDD1DULL;
}

uint32_t sampler_next_pick(struct sampler *s)
{
	if (s->mode != SAMPLER_RANDOM || s->n <= 1)
		return s->n ? s->n : 1;
	/* uniform in 1..n: the generator's high 32 bits scaled to n (bias
	 * below n / 2^32, far under any sampling error) */
	return (uint32_t)(((xs64(&s->rng) >> 32) * s->n) >> 32) + 1;
}

void sampler_init(struct sampler *s, enum sampler_mode mode, uint32_t n, uint64_t seed)
{
	*s = (struct sampler){ .n = n ? n : 1, .mode = (uint8_t)mode };
	s->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
	s->pick = sampler_next_pick(s);
}
