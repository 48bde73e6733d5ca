/* expiry.h — the IOS expiry rules, stated once for every cache: the main
 * cache (cache.c) and the Flexible NetFlow monitor caches (fnf.c) both
 * decide with these, so a rule cannot drift between them. Each is a
 * constant-time inline test; the caches keep their own entry layouts and
 * deadline-ordered lists (see cache.h for the rules in words). */
#ifndef IPFLOW_EXPIRY_H
#define IPFLOW_EXPIRY_H

#include <stdbool.h>
#include <stdint.h>

#include "cache/flowrec.h"

/* A normal-cache record seen first at `first` whose idle deadline
 * (last packet + inactive) has come: the reason to give it. "Active" if
 * its active deadline came before the idle one (the sweep found it late),
 * else "idle". packets == 0 (nothing since an active export) is idle. */
static inline enum flow_end expiry_idle_reason(uint64_t packets, uint64_t first_us, uint64_t active_us,
                                               uint64_t idle_at_us)
{
	return packets && first_us + active_us < idle_at_us ? FLOW_END_ACTIVE : FLOW_END_IDLE;
}

/* A TCP packet with FIN or RST ends its record (after it is counted). */
static inline bool expiry_tcp_end(uint8_t proto, uint8_t tcp_flags)
{
	return proto == 6 && (tcp_flags & 0x05);
}

/* Entries in use at which a new flow first expires the oldest-idle one:
 * 90 % of the cache (at least 1). */
static inline uint32_t expiry_emergency_at(uint32_t entries)
{
	uint32_t at = entries - entries / 10;
	return at < 1 ? 1 : at;
}

/* IP lengths kept in 16 bits (minimum/maximumIpTotalLength): a
 * jumbogram, the only longer IP packet, saturates at 65535. */
static inline uint16_t expiry_len16(uint32_t len)
{
	return len > 0xffff ? 0xffff : (uint16_t)len;
}

#endif
