/* hash.h — seeded hashing for keys that come from the network (flow keys,
 * template ids). Backed by xxHash's XXH3 (Debian libxxhash-dev), seeded at
 * start from getrandom() so a sender cannot aim collisions at our tables. */
#ifndef IPFLOW_HASH_H
#define IPFLOW_HASH_H

#include <stddef.h>
#include <stdint.h>

/* A fresh random seed (falls back to time and pid if getrandom fails). */
uint64_t hash_random_seed(void);

uint64_t hash_bytes(const void *p, size_t len, uint64_t seed);

#endif
