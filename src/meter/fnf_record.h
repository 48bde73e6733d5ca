/* fnf_record.h — Flexible NetFlow records from the configuration: every
 * field a `flow record` may match or collect (conf/conf_fields.c) as a
 * flexible-cache field (cache/fnf.h: its packet value, encoded length
 * and how a collect combines packets), and the built-in records a monitor
 * may name (`record netflow ipv4 original-input`, ...).
 *
 * Lengths: addresses and MACs their size; ports, VLAN ids and IPv4
 * lengths 2; TTLs, ToS/DSCP, protocols, flags and types 1; interfaces,
 * flow labels and AS numbers 4; `counter bytes|packets` 4 (32-bit) and
 * `... long` 8; `timestamp sys-uptime` 4 (ms since the exporter's start),
 * `timestamp absolute` 8 (ms since 1970); IPv6 total-length fields 4.
 * A key-capable field used as a collect field keeps the record's first
 * packet's value, except the flag fields (TCP flags, fragmentation
 * flags, is-multicast), which are ORed, and the fragmentation offset,
 * the largest seen. */
#ifndef IPFLOW_FNF_RECORD_H
#define IPFLOW_FNF_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "cache/fnf.h"
#include "conf/conf.h"

/* One row: the conf words of a field and how it is metered. */
struct fnf_field_map {
	const char *words;  /* as conf_field_table[].words */
	uint8_t src;        /* enum fnf_src */
	uint16_t len;       /* encoded length */
	uint8_t op;         /* enum fnf_op when collected */
};

/* The row for a conf field's words, or NULL (a catalog out of step). */
const struct fnf_field_map *fnf_field_map(const char *words);

/* Is name one of the built-in records (CONF_RECORD_NETFLOW_*)? */
bool fnf_record_builtin(const char *name);

/* The definition of record `name` (a flow record of c, or a built-in),
 * finished. 0, or -1 with a message naming the record in err. */
int fnf_record_def(const struct conf *c, const char *name, struct fnf_def *d, char *err, size_t errlen);

/* The conf words of definition field i (for show commands), or NULL. */
const char *fnf_record_words(const struct conf *c, const char *name, size_t i);

#endif
