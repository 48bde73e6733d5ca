/* genrec.h — a flow record of any layout: what a Flexible NetFlow
 * monitor's cache hands to its exporters, as flowrec.h is for the main
 * cache.
 *
 * A layout is the record's field list in export order: the IPFIX
 * Information Element (a row of export/ie.def), its encoded length and
 * how its value is carried. An exporter makes its v9 or IPFIX template
 * from the layout (exporter_add_tmpl), so any record can be exported;
 * template.h's tmpl_put_genrec() writes one record. A record is the
 * layout plus one value per field, in the same order.
 *
 * Plain values and borrowed pointers: a record (and the bytes its values
 * point to) is valid only during the call that hands it over. */
#ifndef IPFLOW_GENREC_H
#define IPFLOW_GENREC_H

#include <stdint.h>

#define GENREC_FIELDS_MAX 64

enum genrec_kind {
	GENREC_BYTES = 0, /* v.p: exactly len bytes in wire form (numbers big-endian, addresses, MACs) */
	GENREC_UINT,      /* v.u: unsigned value; saturates to len bytes (counted by the writer) */
	GENREC_TIME,      /* v.u: microseconds since the Unix epoch, written as the IE says: sysUpTime
	                   * ms (flowStart/EndSysUpTime), seconds, milliseconds or NTP (micro/nano) */
};

struct genrec_field {
	uint16_t ie;   /* IPFIX IE id (enterprise 0); the v9 field type is ie.def's v9 column */
	uint16_t len;  /* encoded length; 65535 (IE_VARLEN): variable length, GENREC_BYTES only,
	                * the value is v.u bytes at v.p (packet sections, IE 315) */
	uint8_t kind;  /* enum genrec_kind */
};

struct genrec_layout {
	uint16_t n;
	struct genrec_field f[GENREC_FIELDS_MAX];
};

struct genrec_val {
	uint64_t u;
	const uint8_t *p;
};

struct genrec {
	const struct genrec_layout *lay;
	const struct genrec_val *v;   /* lay->n values */
	uint8_t end;                  /* enum flow_end (FLOW_END_MAX: still open, for show) */
	uint64_t first_us, last_us;   /* the record's first and last packet (also for show) */
	uint64_t packets, bytes;      /* the record's counters, whether or not the layout has them */
};

#endif
