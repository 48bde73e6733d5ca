/* crec.h — a collected record: what ipflow-collect hands its sinks.
 *
 * One decoded data record of one exporter, normalised to the flowrec
 * fields (the ones reports, the file store and ClickHouse columns use),
 * plus where it came from. The raw record (template + bytes) rides along
 * for sinks that print every field, enterprise and variable-length ones
 * included (JSON lines, CSV); it is valid only during the sink call.
 *
 * Shared by src/collect (producers: listeners, sessions) and the sinks
 * (sink_file.c, sink_json.c, sink_clickhouse.c, ...). Plain values. */
#ifndef IPFLOW_CREC_H
#define IPFLOW_CREC_H

#include <stddef.h>
#include <stdint.h>

#include "cache/flowrec.h"
#include "export/template.h"

struct crec {
	struct flowrec f;        /* normalised fields (tmpl_get_flowrec) */
	uint8_t exporter[16];    /* exporter address: IPv4 in the first 4 bytes, or IPv6 */
	uint8_t exporter_af;     /* 4 or 6 */
	uint16_t version;        /* 1, 5, 7, 8, 9 or 10 */
	uint32_t domain;         /* v9 source id / IPFIX observation domain; v5: engine type << 8 | id */
	uint16_t tmpl_id;        /* v9/IPFIX template id; 0 for fixed formats */
	uint32_t sampling;       /* sampling interval known for this record: 1 = unsampled/unknown */
	uint64_t recv_us;        /* when the collector received the message (wall clock) */
	/* raw record, valid during the sink call only; t NULL for none */
	const struct tmpl *t;
	const uint8_t *raw;
	size_t rawlen;
};

#endif
