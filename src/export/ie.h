/* ie.h — the field catalog (ie.def) as a C API.
 *
 * IE_<name> constants name every Information Element by its IANA name
 * (IE_sourceIPv4Address == 8). ie_by_id() is a binary search over the
 * sorted rows (O(log n)); ie_by_name() and ie_by_v9() are linear (for
 * configuration and collectors' first sight of a template, not per
 * record). ie_format() renders a field value as text for collectors.
 * The catalog is static and read-only: no init, no ownership. */
#ifndef IPFLOW_IE_H
#define IPFLOW_IE_H

#include <stddef.h>
#include <stdint.h>

/* Abstract data types, RFC 7011 §6.1 / RFC 7012 §3.1. */
enum ie_type {
	IE_T_OCTETS = 0, /* octetArray */
	IE_T_U8, IE_T_U16, IE_T_U32, IE_T_U64,
	IE_T_I8, IE_T_I16, IE_T_I32, IE_T_I64,
	IE_T_F32, IE_T_F64,
	IE_T_BOOL,
	IE_T_MAC,        /* macAddress */
	IE_T_STRING,     /* UTF-8 */
	IE_T_DT_S,       /* dateTimeSeconds: 32-bit seconds since 1970 */
	IE_T_DT_MS,      /* dateTimeMilliseconds: 64-bit ms since 1970 */
	IE_T_DT_US,      /* dateTimeMicroseconds: 64-bit NTP timestamp */
	IE_T_DT_NS,      /* dateTimeNanoseconds: 64-bit NTP timestamp */
	IE_T_IPV4,       /* ipv4Address */
	IE_T_IPV6,       /* ipv6Address */
	IE_T_MAX_
};

/* Encoded length meaning "variable" (RFC 7011 §7). */
#define IE_VARLEN 65535u

enum {
#define IE(id, v9, name, type, len) IE_##name = id,
#include "export/ie.def"
#undef IE
};

struct ie_info {
	uint16_t id;      /* IANA IPFIX IE id */
	uint16_t v9;      /* NetFlow v9 field type, 0 if none */
	uint16_t len;     /* default length, IE_VARLEN if variable */
	uint8_t type;     /* enum ie_type */
	const char *name; /* IANA name */
};

/* Number of rows and row i (0 <= i < ie_count()), in id order. */
size_t ie_count(void);
const struct ie_info *ie_at(size_t i);

/* Row for IPFIX id (enterprise 0), v9 type, or exact IANA name; NULL if
 * the catalog has none. */
const struct ie_info *ie_by_id(uint16_t id);
const struct ie_info *ie_by_v9(uint16_t type);
const struct ie_info *ie_by_name(const char *name);

/* IANA name of the type ("unsigned32", "ipv4Address", ...). */
const char *ie_type_name(enum ie_type t);

/* True if an encoded length is allowed for the type (reduced-size
 * encoding of unsigned/signed integers 1..8, float64 as 4 or 8, fixed
 * sizes for addresses and times; any length for strings and octets). */
int ie_len_ok(enum ie_type t, size_t len);

/* Render value p[0..n) of element `ie` (NULL: unknown, shown as hex) as
 * text into out (always NUL-terminated if outlen > 0): integers in
 * decimal, addresses as text (RFC 5952 for IPv6), MAC as aa:bb:..,
 * times as ISO 8601 UTC, strings with non-printables escaped \xNN, octet
 * arrays in hex. Returns the length the full text needs (snprintf
 * convention), so a result >= outlen means it was cut. */
int ie_format(char *out, size_t outlen, const struct ie_info *ie, const uint8_t *p, size_t n);

/* NTP timestamp (RFC 7011 §6.1.9: seconds since 1900 and 2^-32 fraction)
 * to and from microseconds since the Unix epoch. Exact round trip. */
uint64_t ie_ntp_from_us(uint64_t us);
uint64_t ie_ntp_to_us(uint64_t ntp);

#endif
