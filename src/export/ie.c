/* ie.c — the catalog table, lookups and the value formatter. */
#include "export/ie.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/bytes.h"

static const struct ie_info catalog[] = {
#define IE(id, v9, name, type, len) { id, v9, len, IE_T_##type, #name },
#include "export/ie.def"
#undef IE
};

#define NCAT (sizeof(catalog) / sizeof(catalog[0]))

size_t ie_count(void)
{
	return NCAT;
}

const struct ie_info *ie_at(size_t i)
{
	return i < NCAT ? &catalog[i] : NULL;
}

const struct ie_info *ie_by_id(uint16_t id)
{
	size_t lo = 0, hi = NCAT;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (catalog[mid].id == id)
			return &catalog[mid];
		if (catalog[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct ie_info *ie_by_v9(uint16_t type)
{
	if (type == 0)
		return NULL;
	/* Most v9 types equal their IPFIX id: try that row first. */
	const struct ie_info *e = ie_by_id(type);
	if (e && e->v9 == type)
		return e;
	for (size_t i = 0; i < NCAT; i++)
		if (catalog[i].v9 == type)
			return &catalog[i];
	return NULL;
}

const struct ie_info *ie_by_name(const char *name)
{
	for (size_t i = 0; i < NCAT; i++)
		if (strcmp(catalog[i].name, name) == 0)
			return &catalog[i];
	return NULL;
}

const char *ie_type_name(enum ie_type t)
{
	static const char *const names[IE_T_MAX_] = {
		[IE_T_OCTETS] = "octetArray", [IE_T_U8] = "unsigned8",
		[IE_T_U16] = "unsigned16", [IE_T_U32] = "unsigned32",
		[IE_T_U64] = "unsigned64", [IE_T_I8] = "signed8",
		[IE_T_I16] = "signed16", [IE_T_I32] = "signed32",
		[IE_T_I64] = "signed64", [IE_T_F32] = "float32",
		[IE_T_F64] = "float64", [IE_T_BOOL] = "boolean",
		[IE_T_MAC] = "macAddress", [IE_T_STRING] = "string",
		[IE_T_DT_S] = "dateTimeSeconds", [IE_T_DT_MS] = "dateTimeMilliseconds",
		[IE_T_DT_US] = "dateTimeMicroseconds", [IE_T_DT_NS] = "dateTimeNanoseconds",
		[IE_T_IPV4] = "ipv4Address", [IE_T_IPV6] = "ipv6Address",
	};
	return (unsigned)t < IE_T_MAX_ ? names[t] : "unknown";
}

/* Largest encoded length of each fixed type; 0 = any length. */
static const uint8_t type_max[IE_T_MAX_] = {
	[IE_T_U8] = 1, [IE_T_U16] = 2, [IE_T_U32] = 4, [IE_T_U64] = 8,
	[IE_T_I8] = 1, [IE_T_I16] = 2, [IE_T_I32] = 4, [IE_T_I64] = 8,
	[IE_T_F32] = 4, [IE_T_F64] = 8, [IE_T_BOOL] = 1, [IE_T_MAC] = 6,
	[IE_T_DT_S] = 4, [IE_T_DT_MS] = 8, [IE_T_DT_US] = 8, [IE_T_DT_NS] = 8,
	[IE_T_IPV4] = 4, [IE_T_IPV6] = 16,
};

int ie_len_ok(enum ie_type t, size_t len)
{
	if ((unsigned)t >= IE_T_MAX_)
		return 0;
	switch (t) {
	case IE_T_OCTETS:
	case IE_T_STRING:
		return 1;
	case IE_T_U8: case IE_T_U16: case IE_T_U32: case IE_T_U64:
	case IE_T_I8: case IE_T_I16: case IE_T_I32: case IE_T_I64:
		return len >= 1 && len <= type_max[t];
	case IE_T_F64:
		return len == 4 || len == 8;
	default:
		return len == type_max[t];
	}
}

#define NTP_UNIX_OFFSET 2208988800ull /* seconds from 1900 to 1970 */

uint64_t ie_ntp_from_us(uint64_t us)
{
	uint64_t sec = us / 1000000 + NTP_UNIX_OFFSET;
	uint64_t frac = (((us % 1000000) << 32) + 999999) / 1000000; /* rounded up: readers that truncate still see the exact us */
	return sec << 32 | frac;
}

uint64_t ie_ntp_to_us(uint64_t ntp)
{
	uint64_t sec = ntp >> 32, frac = ntp & 0xffffffffu;
	uint64_t us = (frac * 1000000 + (1ull << 31)) >> 32;
	sec = sec >= NTP_UNIX_OFFSET ? sec - NTP_UNIX_OFFSET : 0;
	return sec * 1000000 + us;
}

/* Append with snprintf semantics: *pos counts the full text length. */
static void app(char *out, size_t outlen, size_t *pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void app(char *out, size_t outlen, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *dst = *pos < outlen ? out + *pos : NULL;
	size_t room = *pos < outlen ? outlen - *pos : 0;
	int n = vsnprintf(dst, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos += (size_t)n;
}

static void fmt_time(char *out, size_t outlen, size_t *pos, uint64_t us, unsigned digits)
{
	time_t s = (time_t)(us / 1000000);
	struct tm tm;
	char tbuf[40];
	if (!gmtime_r(&s, &tm) || !strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm)) {
		app(out, outlen, pos, "%llu", (unsigned long long)us);
		return;
	}
	uint64_t frac = us % 1000000;
	if (digits == 3)
		app(out, outlen, pos, "%s.%03lluZ", tbuf, (unsigned long long)(frac / 1000));
	else if (digits == 6)
		app(out, outlen, pos, "%s.%06lluZ", tbuf, (unsigned long long)frac);
	else
		app(out, outlen, pos, "%sZ", tbuf);
}

static void fmt_hex(char *out, size_t outlen, size_t *pos, const uint8_t *p, size_t n)
{
	app(out, outlen, pos, "0x");
	for (size_t i = 0; i < n; i++)
		app(out, outlen, pos, "%02x", p[i]);
}

int ie_format(char *out, size_t outlen, const struct ie_info *ie, const uint8_t *p, size_t n)
{
	size_t pos = 0;
	if (outlen)
		out[0] = '\0';
	enum ie_type t = ie ? (enum ie_type)ie->type : IE_T_OCTETS;
	if (!ie_len_ok(t, n))
		t = IE_T_OCTETS;
	switch (t) {
	case IE_T_U8: case IE_T_U16: case IE_T_U32: case IE_T_U64:
		app(out, outlen, &pos, "%llu", (unsigned long long)peek_uint(p, (unsigned)n));
		break;
	case IE_T_I8: case IE_T_I16: case IE_T_I32: case IE_T_I64: {
		uint64_t v = peek_uint(p, (unsigned)n);
		if (n < 8 && (v >> (n * 8 - 1)) & 1)
			v |= ~0ull << (n * 8); /* sign-extend */
		app(out, outlen, &pos, "%lld", (long long)v);
		break;
	}
	case IE_T_F32:
	case IE_T_F64:
		if (n == 4) {
			uint32_t b = peek_u32(p);
			float f;
			memcpy(&f, &b, sizeof(f));
			app(out, outlen, &pos, "%g", (double)f);
		} else {
			uint64_t b = peek_u64(p);
			double d;
			memcpy(&d, &b, sizeof(d));
			app(out, outlen, &pos, "%g", d);
		}
		break;
	case IE_T_BOOL: /* RFC 7011 §6.1.5: 1 true, 2 false */
		app(out, outlen, &pos, "%s", p[0] == 1 ? "true" : p[0] == 2 ? "false" : "invalid");
		break;
	case IE_T_MAC:
		app(out, outlen, &pos, "%02x:%02x:%02x:%02x:%02x:%02x", p[0], p[1], p[2], p[3], p[4], p[5]);
		break;
	case IE_T_IPV4:
	case IE_T_IPV6: {
		char a[INET6_ADDRSTRLEN];
		if (inet_ntop(t == IE_T_IPV4 ? AF_INET : AF_INET6, p, a, sizeof(a)))
			app(out, outlen, &pos, "%s", a);
		break;
	}
	case IE_T_DT_S:
		fmt_time(out, outlen, &pos, (uint64_t)peek_u32(p) * 1000000, 0);
		break;
	case IE_T_DT_MS:
		fmt_time(out, outlen, &pos, peek_u64(p) * 1000, 3);
		break;
	case IE_T_DT_US:
	case IE_T_DT_NS:
		fmt_time(out, outlen, &pos, ie_ntp_to_us(peek_u64(p)), 6);
		break;
	case IE_T_STRING:
		for (size_t i = 0; i < n; i++) {
			if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
				app(out, outlen, &pos, "%c", p[i]);
			else if (p[i] >= 0x80)
				app(out, outlen, &pos, "%c", p[i]); /* UTF-8 passes through */
			else
				app(out, outlen, &pos, "\\x%02x", p[i]);
		}
		break;
	default:
		fmt_hex(out, outlen, &pos, p, n);
		break;
	}
	return pos > (size_t)0x7fffffff ? 0x7fffffff : (int)pos;
}
