/* test_sctpio_wake.c — the SCTP stack's main-loop wakeup (sctpio_wake,
 * sctpio_service) loses none: upcalls come from the stack's own threads
 * at any moment, also while the main loop is in sctpio_service, and every
 * one of them must leave sctpio_fd readable or be served by a pass that
 * starts after it. A waker thread announces round i (seq = i, wake) and
 * keeps waking at random while it waits for the main loop to serve round
 * i, which the main loop does only when the descriptor is readable (as
 * ipflow-collect's loop does). A lost wakeup leaves the descriptor
 * unreadable for good: the round is not served within 2 s and the test
 * fails. (The old order, clear the flag then read the eventfd, failed
 * this within some thousands of rounds.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "transport/sctpio.h"

enum { ROUNDS = 200000 };

static atomic_uint seq, served;
static atomic_bool lost;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void *waker(void *arg)
{
	(void)arg;
	uint32_t x = 2463534242u;
	for (unsigned i = 1; i <= ROUNDS && !atomic_load(&lost); i++) {
		atomic_store(&seq, i);
		sctpio_wake();
		uint64_t t0 = now_ms();
		while (atomic_load(&served) < i) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			if (x % 4 == 0)
				sctpio_wake(); /* more upcalls while the main loop may be in service */
			if (now_ms() - t0 > 2000) {
				atomic_store(&lost, true);
				break;
			}
		}
	}
	return NULL;
}

static void test_no_lost_wakeup(void **state)
{
	(void)state;
	char err[256];
	assert_int_equal(sctpio_ref(err, sizeof(err)), 0);
	int fd = sctpio_fd();
	assert_true(fd >= 0);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, waker, NULL), 0);
	while (atomic_load(&served) < ROUNDS && !atomic_load(&lost)) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 100) <= 0)
			continue; /* not readable: not served (a lost wakeup stays lost) */
		unsigned s = atomic_load(&seq);
		sctpio_service();
		atomic_store(&served, s);
	}
	pthread_join(th, NULL);
	if (atomic_load(&lost))
		fail_msg("a wakeup was lost: round %u announced, %u served, the descriptor stayed unreadable",
		         atomic_load(&seq), atomic_load(&served));
	assert_int_equal(atomic_load(&served), ROUNDS);
	sctpio_unref();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_lost_wakeup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
