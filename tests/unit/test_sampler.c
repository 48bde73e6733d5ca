/* test_sampler.c — 1-out-of-N sampling: deterministic takes exactly
 * every Nth packet; random takes exactly one per window of N at a
 * position that varies, reproducibly from the seed, and covers every
 * position of the window about equally. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "meter/sampler.h"

static void test_deterministic(void **state)
{
	(void)state;
	struct sampler s;
	sampler_init(&s, SAMPLER_DETERMINISTIC, 10, 1);
	for (int i = 1; i <= 1000; i++)
		assert_int_equal(sampler_take(&s), i % 10 == 0);
	assert_int_equal(s.seen, 1000);
	assert_int_equal(s.taken, 100);
	assert_int_equal(sampler_skipped(&s), 900);
}

static void test_one_takes_all(void **state)
{
	(void)state;
	struct sampler s;
	sampler_init(&s, SAMPLER_RANDOM, 1, 7);
	for (int i = 0; i < 100; i++)
		assert_true(sampler_take(&s));
	sampler_init(&s, SAMPLER_DETERMINISTIC, 0, 7); /* 0 means unsampled */
	assert_true(sampler_take(&s));
}

static void test_random_one_per_window(void **state)
{
	(void)state;
	enum { N = 16, W = 20000 };
	struct sampler s;
	sampler_init(&s, SAMPLER_RANDOM, N, 42);
	unsigned hist[N] = { 0 };
	for (int w = 0; w < W; w++) {
		int took = 0;
		for (int i = 0; i < N; i++)
			if (sampler_take(&s)) {
				took++;
				hist[i]++;
			}
		assert_int_equal(took, 1);
	}
	/* each position about W/N = 1250 times; 5 sigma is about 170 */
	for (int i = 0; i < N; i++)
		if (hist[i] < 1050 || hist[i] > 1450)
			fail_msg("position %d taken %u times of %d windows", i, hist[i], W);
	/* reproducible from the seed, and a different seed picks differently */
	struct sampler a, b, c;
	sampler_init(&a, SAMPLER_RANDOM, 100, 5);
	sampler_init(&b, SAMPLER_RANDOM, 100, 5);
	sampler_init(&c, SAMPLER_RANDOM, 100, 6);
	int same = 1, differ = 0;
	for (int i = 0; i < 100000; i++) {
		bool x = sampler_take(&a), y = sampler_take(&b), z = sampler_take(&c);
		same &= x == y;
		differ |= x != z;
	}
	assert_true(same);
	assert_true(differ);
	assert_int_equal(a.taken, 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_one_takes_all),
		cmocka_unit_test(test_random_one_per_window),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
