/* gen_rand.h — the generator's only source of randomness.
 *
 * xoshiro256** (Blackman and Vigna, 2018) with its state filled by
 * splitmix64 from the user's seed. Same seed => same stream on every
 * platform: integers come from 64-bit shifts and multiplies only, doubles
 * from the top 53 bits. Never rand(): its stream differs between libcs.
 *
 * All functions are inline; they run several times per packet. */
#ifndef IPFLOW_GEN_RAND_H
#define IPFLOW_GEN_RAND_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

struct gen_rng {
	uint64_t s[4];
};

static inline uint64_t gen_rng_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* splitmix64 step: also used on its own to scramble small integers. */
static inline uint64_t gen_rng_mix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline void gen_rng_seed(struct gen_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = gen_rng_mix(&seed);
}

static inline uint64_t gen_rng_u64(struct gen_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = gen_rng_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = gen_rng_rotl(s[3], 45);
	return out;
}

static inline uint32_t gen_rng_u32(struct gen_rng *r)
{
	return (uint32_t)(gen_rng_u64(r) >> 32);
}

/* Uniform in [0, n) for 1 <= n <= 2^32 (multiply-shift; the bias is
 * below 2^-32 and the same everywhere, which is all we need). */
static inline uint32_t gen_rng_below(struct gen_rng *r, uint64_t n)
{
	return (uint32_t)(((gen_rng_u64(r) >> 32) * n) >> 32);
}

/* Uniform integer in [lo, hi], lo <= hi, hi - lo < 2^32. */
static inline uint32_t gen_rng_range(struct gen_rng *r, uint32_t lo, uint32_t hi)
{
	return lo + gen_rng_below(r, (uint64_t)hi - lo + 1);
}

/* Uniform double in [0, 1). */
static inline double gen_rng_unit(struct gen_rng *r)
{
	return (double)(gen_rng_u64(r) >> 11) * 0x1p-53;
}

/* True with probability pct/100. */
static inline int gen_rng_pct(struct gen_rng *r, unsigned pct)
{
	return gen_rng_below(r, 100) < pct;
}

/* Uniform double in [a, b). */
static inline double gen_rng_uniform(struct gen_rng *r, double a, double b)
{
	return a + (b - a) * gen_rng_unit(r);
}

/* Log-uniform in [a, b), 0 < a <= b: as many values per decade. */
static inline double gen_rng_logu(struct gen_rng *r, double a, double b)
{
	return a * exp(gen_rng_unit(r) * log(b / a));
}

/* Exponential with the given mean (Poisson inter-arrival times). */
static inline double gen_rng_exp(struct gen_rng *r, double mean)
{
	return -mean * log1p(-gen_rng_unit(r));
}

/* Index into a table of n integer weights (not all zero), drawn with
 * probability weight/sum. Cost O(n): the tables are a handful of rows. */
static inline unsigned gen_rng_pick(struct gen_rng *r, const uint16_t *w, unsigned n)
{
	uint32_t sum = 0;
	for (unsigned i = 0; i < n; i++)
		sum += w[i];
	uint32_t x = gen_rng_below(r, sum);
	for (unsigned i = 0; i < n; i++) {
		if (x < w[i])
			return i;
		x -= w[i];
	}
	return n - 1;
}

#endif
