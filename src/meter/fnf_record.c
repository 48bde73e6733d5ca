/* fnf_record.c — conf flow records to flexible-cache definitions; see
 * fnf_record.h. */
#include "meter/fnf_record.h"

#include <stdio.h>
#include <string.h>

#include "lib/err.h"

#define R(w, s, l, o) { w, FNF_S_##s, l, FNF_##o }

/* One row per conf_field_table entry (test_fnf_record checks both ways). */
static const struct fnf_field_map field_map[] = {
	R("datalink dot1q priority", PCP, 1, FIRST),
	R("datalink dot1q vlan input", VLAN_IN, 2, FIRST),
	R("datalink dot1q vlan output", VLAN_OUT, 2, FIRST),
	R("datalink mac source address input", MAC_SRC_IN, 6, FIRST),
	R("datalink mac source address output", MAC_SRC_OUT, 6, FIRST),
	R("datalink mac destination address input", MAC_DST_IN, 6, FIRST),
	R("datalink mac destination address output", MAC_DST_OUT, 6, FIRST),
	R("ipv4 source address", SRC4, 4, FIRST),
	R("ipv4 destination address", DST4, 4, FIRST),
	R("ipv4 source mask", ZERO, 1, FIRST),
	R("ipv4 destination mask", ZERO, 1, FIRST),
	R("ipv4 source prefix", ZERO, 4, FIRST),
	R("ipv4 destination prefix", ZERO, 4, FIRST),
	R("ipv4 dscp", DSCP, 1, FIRST),
	R("ipv4 precedence", PREC, 1, FIRST),
	R("ipv4 tos", TOS, 1, FIRST),
	R("ipv4 protocol", PROTO, 1, FIRST),
	R("ipv4 fragmentation flags", FRAG_FLAGS, 1, OR),
	R("ipv4 fragmentation offset", FRAG_OFF, 2, MAX),
	R("ipv4 is-multicast", MCAST, 1, OR),
	R("ipv4 total-length", IPLEN, 2, FIRST),
	R("ipv4 total-length minimum", IPLEN_EXACT, 2, MIN),
	R("ipv4 total-length maximum", IPLEN_EXACT, 2, MAX),
	R("ipv4 ttl", TTL, 1, FIRST),
	R("ipv4 ttl minimum", TTL_EXACT, 1, MIN),
	R("ipv4 ttl maximum", TTL_EXACT, 1, MAX),
	R("ipv4 version", VERSION, 1, FIRST),
	R("ipv6 source address", SRC6, 16, FIRST),
	R("ipv6 destination address", DST6, 16, FIRST),
	R("ipv6 source mask", ZERO, 1, FIRST),
	R("ipv6 destination mask", ZERO, 1, FIRST),
	R("ipv6 dscp", DSCP, 1, FIRST),
	R("ipv6 precedence", PREC, 1, FIRST),
	R("ipv6 traffic-class", TOS, 1, FIRST),
	R("ipv6 flow-label", FLOW_LABEL, 4, FIRST),
	R("ipv6 hop-limit", TTL, 1, FIRST),
	R("ipv6 hop-limit minimum", TTL_EXACT, 1, MIN),
	R("ipv6 hop-limit maximum", TTL_EXACT, 1, MAX),
	R("ipv6 next-header", NEXT_HDR, 1, FIRST),
	R("ipv6 protocol", PROTO, 1, FIRST),
	R("ipv6 is-multicast", MCAST, 1, OR),
	R("ipv6 total-length", IPLEN, 4, FIRST),
	R("ipv6 total-length minimum", IPLEN_EXACT, 4, MIN),
	R("ipv6 total-length maximum", IPLEN_EXACT, 4, MAX),
	R("ipv6 payload-length", PAYLEN6, 2, FIRST),
	R("ipv6 version", VERSION, 1, FIRST),
	R("routing forwarding-status", FWD_STATUS, 1, FIRST),
	R("routing next-hop address ipv4", ZERO, 4, FIRST),
	R("routing next-hop address ipv6", ZERO, 16, FIRST),
	R("routing next-hop address ipv4 bgp", ZERO, 4, FIRST),
	R("routing source as", ZERO, 4, FIRST),
	R("routing destination as", ZERO, 4, FIRST),
	R("transport source-port", SPORT, 2, FIRST),
	R("transport destination-port", DPORT, 2, FIRST),
	R("transport tcp source-port", TCP_SPORT, 2, FIRST),
	R("transport tcp destination-port", TCP_DPORT, 2, FIRST),
	R("transport tcp flags", TCP_FLAGS, 1, OR),
	R("transport udp source-port", UDP_SPORT, 2, FIRST),
	R("transport udp destination-port", UDP_DPORT, 2, FIRST),
	R("transport icmp ipv4 type", ICMP4_TYPE, 1, FIRST),
	R("transport icmp ipv4 code", ICMP4_CODE, 1, FIRST),
	R("transport icmp ipv6 type", ICMP6_TYPE, 1, FIRST),
	R("transport icmp ipv6 code", ICMP6_CODE, 1, FIRST),
	R("transport igmp type", IGMP_TYPE, 1, FIRST),
	R("interface input", IF_IN, 4, FIRST),
	R("interface output", IF_OUT, 4, FIRST),
	R("flow direction", DIR, 1, FIRST),
	R("flow sampler", SAMPLER, 1, FIRST),
	R("counter bytes", BYTES, 4, SUM),
	R("counter bytes long", BYTES, 8, SUM),
	R("counter packets", PACKETS, 4, SUM),
	R("counter packets long", PACKETS, 8, SUM),
	R("counter flows", FLOWS, 4, SUM),
	R("timestamp sys-uptime first", FIRST, 4, FIRST),
	R("timestamp sys-uptime last", LAST, 4, LAST),
	R("timestamp absolute first", FIRST, 8, FIRST),
	R("timestamp absolute last", LAST, 8, LAST),
};

const struct fnf_field_map *fnf_field_map(const char *words)
{
	for (size_t i = 0; i < sizeof(field_map) / sizeof(field_map[0]); i++)
		if (strcmp(field_map[i].words, words) == 0)
			return &field_map[i];
	return NULL;
}

/* The built-in records (Cisco's predefined `netflow ... original-*`
 * records, less the fields ipflow has no value for), as conf words. */
struct builtin {
	const char *name;
	const char *const *match;
	const char *const *collect;
};

static const char *const v4_in_match[] = {
	"ipv4 tos", "ipv4 protocol", "ipv4 source address", "ipv4 destination address",
	"transport source-port", "transport destination-port", "interface input", "flow sampler", NULL,
};
static const char *const v4_in_collect[] = {
	"routing source as", "routing destination as", "routing next-hop address ipv4", "ipv4 source mask",
	"ipv4 destination mask", "transport tcp flags", "interface output", "counter bytes", "counter packets",
	"timestamp sys-uptime first", "timestamp sys-uptime last", NULL,
};
static const char *const v4_out_match[] = {
	"ipv4 tos", "ipv4 protocol", "ipv4 source address", "ipv4 destination address",
	"transport source-port", "transport destination-port", "interface output", "flow sampler", NULL,
};
static const char *const v4_out_collect[] = {
	"routing source as", "routing destination as", "routing next-hop address ipv4", "ipv4 source mask",
	"ipv4 destination mask", "transport tcp flags", "interface input", "counter bytes", "counter packets",
	"timestamp sys-uptime first", "timestamp sys-uptime last", NULL,
};
static const char *const v6_in_match[] = {
	"ipv6 traffic-class", "ipv6 flow-label", "ipv6 protocol", "ipv6 source address",
	"ipv6 destination address", "transport source-port", "transport destination-port", "interface input",
	"flow direction", "flow sampler", NULL,
};
static const char *const v6_in_collect[] = {
	"routing source as", "routing destination as", "routing next-hop address ipv6", "ipv6 source mask",
	"ipv6 destination mask", "transport tcp flags", "interface output", "counter bytes", "counter packets",
	"timestamp sys-uptime first", "timestamp sys-uptime last", NULL,
};
static const char *const v6_out_match[] = {
	"ipv6 traffic-class", "ipv6 flow-label", "ipv6 protocol", "ipv6 source address",
	"ipv6 destination address", "transport source-port", "transport destination-port", "interface output",
	"flow direction", "flow sampler", NULL,
};
static const char *const v6_out_collect[] = {
	"routing source as", "routing destination as", "routing next-hop address ipv6", "ipv6 source mask",
	"ipv6 destination mask", "transport tcp flags", "interface input", "counter bytes", "counter packets",
	"timestamp sys-uptime first", "timestamp sys-uptime last", NULL,
};

static const struct builtin builtins[] = {
	{ CONF_RECORD_NETFLOW_ORIGINAL, v4_in_match, v4_in_collect },
	{ CONF_RECORD_NETFLOW_IPV4_ORIG_IN, v4_in_match, v4_in_collect },
	{ CONF_RECORD_NETFLOW_IPV4_ORIG_OUT, v4_out_match, v4_out_collect },
	{ CONF_RECORD_NETFLOW_IPV6_ORIG_IN, v6_in_match, v6_in_collect },
	{ CONF_RECORD_NETFLOW_IPV6_ORIG_OUT, v6_out_match, v6_out_collect },
};

static const struct builtin *find_builtin(const char *name)
{
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (strcmp(builtins[i].name, name) == 0)
			return &builtins[i];
	return NULL;
}

bool fnf_record_builtin(const char *name)
{
	return find_builtin(name) != NULL;
}

static int conf_index(const char *words)
{
	for (size_t i = 0; i < conf_field_count; i++)
		if (strcmp(conf_field_table[i].words, words) == 0)
			return (int)i;
	return -1;
}

static int add_field(struct fnf_def *d, const char *rec, const char *words, bool key, char *err, size_t errlen)
{
	int ci = conf_index(words);
	const struct fnf_field_map *m = fnf_field_map(words);
	if (ci < 0 || !m) {
		snprintf(err, errlen, "%% Flow Record %s: field '%s' is not metered by this build", rec, words);
		return -1;
	}
	int rc = fnf_def_add(d, conf_field_table[ci].ie, m->len, (enum fnf_src)m->src, key ? FNF_KEY : (enum fnf_op)m->op);
	if (rc == ERR_FULL) {
		snprintf(err, errlen, "%% Flow Record %s: too many fields (at most %d, %d key bytes)", rec, FNF_FIELDS_MAX,
		         FNF_KEY_MAX);
		return -1;
	}
	if (rc != ERR_OK) {
		snprintf(err, errlen, "%% Flow Record %s: '%s' cannot be a %s field", rec, words, key ? "match" : "collect");
		return -1;
	}
	return 0;
}

int fnf_record_def(const struct conf *c, const char *name, struct fnf_def *d, char *err, size_t errlen)
{
	const struct builtin *b = find_builtin(name);
	if (b) {
		fnf_def_init(d, 0);
		for (size_t i = 0; b->match[i]; i++)
			if (add_field(d, name, b->match[i], true, err, errlen) != 0)
				return -1;
		for (size_t i = 0; b->collect[i]; i++)
			if (add_field(d, name, b->collect[i], false, err, errlen) != 0)
				return -1;
	} else {
		const struct conf_record *r = conf_find_record(c, name);
		if (!r) {
			snprintf(err, errlen, "%% Flow Record %s does not exist", name);
			return -1;
		}
		fnf_def_init(d, (r->options & CONF_REC_BUCKET_TTL ? FNF_D_BUCKET_TTL : 0) |
		                    (r->options & CONF_REC_BUCKET_LEN ? FNF_D_BUCKET_LEN : 0));
		for (size_t i = 0; i < r->nmatch; i++)
			if (add_field(d, name, conf_field_table[r->match[i]].words, true, err, errlen) != 0)
				return -1;
		for (size_t i = 0; i < r->ncollect; i++)
			if (add_field(d, name, conf_field_table[r->collect[i]].words, false, err, errlen) != 0)
				return -1;
	}
	if (fnf_def_finish(d) != ERR_OK) {
		snprintf(err, errlen, "%% Flow Record %s has no match fields: a monitor needs at least one key field", name);
		return -1;
	}
	return 0;
}

const char *fnf_record_words(const struct conf *c, const char *name, size_t i)
{
	const struct builtin *b = find_builtin(name);
	if (b) {
		size_t nm = 0;
		while (b->match[nm])
			nm++;
		if (i < nm)
			return b->match[i];
		for (size_t k = 0; b->collect[k]; k++)
			if (k == i - nm)
				return b->collect[k];
		return NULL;
	}
	const struct conf_record *r = conf_find_record(c, name);
	if (!r)
		return NULL;
	if (i < r->nmatch)
		return conf_field_table[r->match[i]].words;
	if (i - r->nmatch < r->ncollect)
		return conf_field_table[r->collect[i - r->nmatch]].words;
	return NULL;
}
