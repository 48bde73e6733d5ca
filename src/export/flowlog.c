/* flowlog.c — JSON lines / CSV writer for flow records; see flowlog.h.
 * Formatting is hand-rolled (no printf) because a large replay writes
 * millions of lines. */
#include "export/flowlog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { FMT_JSON, FMT_CSV };

struct flowlog {
	FILE *f;
	int fmt;
	bool is_stdout;
	bool failed;
	int err_no;
	uint64_t records;
};

/* A bounded appender: writes past the end set `over` instead. */
struct out {
	char *p;
	size_t len;
	size_t cap;
	bool over;
};

static void put_str(struct out *o, const char *s, size_t n)
{
	if (o->over || n > o->cap - o->len) {
		o->over = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

#define PUT_LIT(o, s) put_str((o), (s), sizeof(s) - 1)

/* Decimal, two digits per division (a collector writes millions a second). */
static void put_u64(struct out *o, uint64_t v)
{
	static const char d2[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	                         "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	                         "8081828384858687888990919293949596979899";
	char tmp[20];
	size_t i = sizeof(tmp);
	/* 32-bit arithmetic for all but the top digits: times in us have 16 */
	while (v > 0xffffffffu) {
		uint32_t lo = (uint32_t)(v % 100000000u);
		v /= 100000000u;
		for (int k = 0; k < 4; k++, lo /= 100) {
			tmp[--i] = d2[2 * (lo % 100) + 1];
			tmp[--i] = d2[2 * (lo % 100)];
		}
	}
	uint32_t w = (uint32_t)v;
	while (w >= 100) {
		uint32_t r = w % 100;
		w /= 100;
		tmp[--i] = d2[2 * r + 1];
		tmp[--i] = d2[2 * r];
	}
	if (w >= 10) {
		tmp[--i] = d2[2 * w + 1];
		tmp[--i] = d2[2 * w];
	} else {
		tmp[--i] = (char)('0' + w);
	}
	put_str(o, tmp + i, sizeof(tmp) - i);
}

static void put_addr(struct out *o, uint8_t af, const uint8_t *a)
{
	if (af != 6) { /* glibc's inet_ntop formats IPv4 through sprintf: slow */
		for (int i = 0; i < 4; i++) {
			if (i)
				PUT_LIT(o, ".");
			put_u64(o, a[i]);
		}
		return;
	}
	char tmp[INET6_ADDRSTRLEN];
	if (!inet_ntop(AF_INET6, a, tmp, sizeof(tmp)))
		tmp[0] = 0;
	put_str(o, tmp, strlen(tmp));
}

/* The fields, in order: name, and how to get them. One table serves the
 * JSON keys and the CSV header so they cannot drift apart. */
enum fkind {
	F_SRC, F_DST, F_SPORT, F_DPORT, F_PROTO, F_TOS, F_IN, F_OUT, F_DIR, F_PKTS, F_BYTES,
	F_START_MS, F_END_MS, F_START_US, F_END_US, F_FLAGS, F_ICMP, F_MINTTL, F_MAXTTL,
	F_MINLEN, F_MAXLEN, F_NEXTHOP, F_BGPNH, F_SRCAS, F_DSTAS, F_SRCMASK, F_DSTMASK, F_REASON,
};

static const struct {
	enum fkind kind;
	const char *v4; /* IPFIX element name for IPv4 records */
	const char *v6; /* for IPv6 records, where it differs */
} fields[] = {
	{ F_SRC, "sourceIPv4Address", "sourceIPv6Address" },
	{ F_DST, "destinationIPv4Address", "destinationIPv6Address" },
	{ F_SPORT, "sourceTransportPort", NULL },
	{ F_DPORT, "destinationTransportPort", NULL },
	{ F_PROTO, "protocolIdentifier", NULL },
	{ F_TOS, "ipClassOfService", NULL },
	{ F_IN, "ingressInterface", NULL },
	{ F_OUT, "egressInterface", NULL },
	{ F_DIR, "flowDirection", NULL },
	{ F_PKTS, "packetDeltaCount", NULL },
	{ F_BYTES, "octetDeltaCount", NULL },
	{ F_START_MS, "flowStartMilliseconds", NULL },
	{ F_END_MS, "flowEndMilliseconds", NULL },
	{ F_START_US, "flowStartMicroseconds", NULL },
	{ F_END_US, "flowEndMicroseconds", NULL },
	{ F_FLAGS, "tcpControlBits", NULL },
	{ F_ICMP, "icmpTypeCodeIPv4", "icmpTypeCodeIPv6" },
	{ F_MINTTL, "minimumTTL", NULL },
	{ F_MAXTTL, "maximumTTL", NULL },
	{ F_MINLEN, "minimumIpTotalLength", NULL },
	{ F_MAXLEN, "maximumIpTotalLength", NULL },
	{ F_NEXTHOP, "ipNextHopIPv4Address", "ipNextHopIPv6Address" },
	{ F_BGPNH, "bgpNextHopIPv4Address", "bgpNextHopIPv6Address" },
	{ F_SRCAS, "bgpSourceAsNumber", NULL },
	{ F_DSTAS, "bgpDestinationAsNumber", NULL },
	{ F_SRCMASK, "sourceIPv4PrefixLength", "sourceIPv6PrefixLength" },
	{ F_DSTMASK, "destinationIPv4PrefixLength", "destinationIPv6PrefixLength" },
	{ F_REASON, "flowEndReason", NULL },
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static bool is_icmp(const struct flowrec *r)
{
	return (r->key.af == 4 && r->key.proto == 1) || (r->key.af == 6 && r->key.proto == 58);
}

/* Append field i's value; false if the field does not apply to r. */
static bool put_value(struct out *o, const struct flowrec *r, enum fkind k, bool json)
{
	switch (k) {
	case F_SRC:
	case F_DST:
	case F_NEXTHOP:
	case F_BGPNH:
		if (json)
			PUT_LIT(o, "\"");
		put_addr(o, r->key.af, k == F_SRC ? r->key.src : k == F_DST ? r->key.dst : k == F_NEXTHOP ? r->nexthop : r->bgp_nexthop);
		if (json)
			PUT_LIT(o, "\"");
		return true;
	case F_SPORT: put_u64(o, r->key.sport); return true;
	case F_DPORT: put_u64(o, r->key.dport); return true;
	case F_PROTO: put_u64(o, r->key.proto); return true;
	case F_TOS: put_u64(o, r->key.tos); return true;
	case F_IN: put_u64(o, r->key.ifindex); return true;
	case F_OUT: put_u64(o, r->if_out); return true;
	case F_DIR: put_u64(o, r->key.dir); return true;
	case F_PKTS: put_u64(o, r->packets); return true;
	case F_BYTES: put_u64(o, r->bytes); return true;
	case F_START_MS: put_u64(o, r->first_us / 1000); return true;
	case F_END_MS: put_u64(o, r->last_us / 1000); return true;
	case F_START_US: put_u64(o, r->first_us); return true;
	case F_END_US: put_u64(o, r->last_us); return true;
	case F_FLAGS: put_u64(o, r->tcp_flags); return true;
	case F_ICMP:
		if (!is_icmp(r))
			return false;
		put_u64(o, r->key.dport);
		return true;
	case F_MINTTL: put_u64(o, r->min_ttl); return true;
	case F_MAXTTL: put_u64(o, r->max_ttl); return true;
	case F_MINLEN: put_u64(o, r->min_len); return true;
	case F_MAXLEN: put_u64(o, r->max_len); return true;
	case F_SRCAS: put_u64(o, r->src_as); return true;
	case F_DSTAS: put_u64(o, r->dst_as); return true;
	case F_SRCMASK: put_u64(o, r->src_mask); return true;
	case F_DSTMASK: put_u64(o, r->dst_mask); return true;
	case F_REASON:
		if (r->end >= FLOW_END_MAX) /* still open (show commands) */
			return false;
		put_u64(o, flow_end_ipfix((enum flow_end)r->end));
		return true;
	}
	return false;
}

size_t flowlog_format_json(const struct flowrec *r, char *buf, size_t cap)
{
	struct out o = { .p = buf, .cap = cap };
	bool first = true;
	PUT_LIT(&o, "{");
	for (size_t i = 0; i < NFIELDS; i++) {
		const char *name = (r->key.af == 6 && fields[i].v6) ? fields[i].v6 : fields[i].v4;
		size_t mark = o.len;
		if (!first)
			PUT_LIT(&o, ",");
		PUT_LIT(&o, "\"");
		put_str(&o, name, strlen(name));
		PUT_LIT(&o, "\":");
		if (!put_value(&o, r, fields[i].kind, true)) {
			o.len = mark;
			continue;
		}
		first = false;
	}
	PUT_LIT(&o, "}");
	return o.over ? 0 : o.len;
}

/* CSV: one column per element name: a field with an IPv6 name has two
 * columns (the IPv4 one, then the IPv6 one), and a record fills the one of
 * its family and leaves the other empty, so a column never holds a value
 * its name does not describe. ICMP type/code is empty for non-ICMP. */
size_t flowlog_format_csv(const struct flowrec *r, char *buf, size_t cap)
{
	struct out o = { .p = buf, .cap = cap };
	for (size_t i = 0; i < NFIELDS; i++) {
		if (i)
			PUT_LIT(&o, ",");
		if (fields[i].v6) {
			if (r->key.af == 6)
				PUT_LIT(&o, ",");
			put_value(&o, r, fields[i].kind, false);
			if (r->key.af != 6)
				PUT_LIT(&o, ",");
			continue;
		}
		put_value(&o, r, fields[i].kind, false);
	}
	return o.over ? 0 : o.len;
}

size_t flowlog_csv_header(char *buf, size_t cap)
{
	struct out o = { .p = buf, .cap = cap };
	for (size_t i = 0; i < NFIELDS; i++) {
		if (i)
			PUT_LIT(&o, ",");
		put_str(&o, fields[i].v4, strlen(fields[i].v4));
		if (fields[i].v6) {
			PUT_LIT(&o, ",");
			put_str(&o, fields[i].v6, strlen(fields[i].v6));
		}
	}
	return o.over ? 0 : o.len;
}

struct flowlog *flowlog_open(const char *spec, char *err, size_t errlen)
{
	struct flowlog *fl = calloc(1, sizeof(*fl));
	if (!fl) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	const char *path = spec;
	if (strncmp(spec, "jsonl:", 6) == 0) {
		path = spec + 6;
	} else if (strncmp(spec, "csv:", 4) == 0) {
		fl->fmt = FMT_CSV;
		path = spec + 4;
	}
	if (strcmp(path, "-") == 0) {
		fl->f = stdout;
		fl->is_stdout = true;
	} else {
		fl->f = fopen(path, "w");
		if (!fl->f) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			free(fl);
			return NULL;
		}
		setvbuf(fl->f, NULL, _IOFBF, 1 << 20);
	}
	if (fl->fmt == FMT_CSV) {
		char hdr[2048];
		size_t n = flowlog_csv_header(hdr, sizeof(hdr));
		fwrite(hdr, 1, n, fl->f);
		fputc('\n', fl->f);
	}
	return fl;
}

void flowlog_write(struct flowlog *fl, const struct flowrec *r)
{
	char buf[2048];
	size_t n = fl->fmt == FMT_CSV ? flowlog_format_csv(r, buf, sizeof(buf) - 1)
	                              : flowlog_format_json(r, buf, sizeof(buf) - 1);
	buf[n++] = '\n';
	if (fwrite(buf, 1, n, fl->f) != n && !fl->failed) {
		fl->failed = true;
		fl->err_no = errno;
	}
	fl->records++;
}

uint64_t flowlog_records(const struct flowlog *fl)
{
	return fl->records;
}

int flowlog_close(struct flowlog *fl, char *err, size_t errlen)
{
	if (!fl)
		return 0;
	int rc = 0;
	if (fflush(fl->f) != 0 && !fl->failed) {
		fl->failed = true;
		fl->err_no = errno;
	}
	if (!fl->is_stdout && fclose(fl->f) != 0 && !fl->failed) {
		fl->failed = true;
		fl->err_no = errno;
	}
	if (fl->failed) {
		snprintf(err, errlen, "flow log write failed: %s", strerror(fl->err_no));
		rc = -1;
	}
	free(fl);
	return rc;
}
