/* nf8.c — NetFlow v8: the router-based aggregation schemes.
 *
 * Header (28 bytes): version 8, count, sysUptime ms, unix_secs,
 * unix_nsecs, flow_sequence (aggregated records exported before this
 * packet by this cache), engine_type, engine_id, aggregation (the scheme,
 * below), agg_version (2), reserved (4). ipflow writes the main cache's
 * sampling interval in the high 16 bits of the reserved word, in v5's
 * encoding (mode:2 | interval:14), so a collector can scale back up; an
 * unsampled cache leaves the word zero, as a router does. Decoders that
 * treat the word as reserved (tshark) are unaffected.
 *
 * Records: every scheme starts with dFlows (flows aggregated, IE
 * deltaFlowCount), dPkts, dOctets (32 bits each), First and Last
 * (sysUptime ms), then the scheme's key fields. The layouts and the
 * records-per-packet limits are Cisco's (the per-scheme limits keep a
 * packet under 1500 bytes). Field order as Cisco documents it, which is
 * also what the collectors written against routers read (pmacct's
 * nfacctd, flow-tools): in the two-prefix schemes the destination mask
 * comes before the source mask, and AS-ToS has the interfaces before
 * ToS. tshark's cflow dissector (4.0) reads those two places the other
 * way round (source mask first; AS-ToS ToS right after the ASes): its
 * display of them is off, its record sizes and counts agree
 * (tests/e2e/agg_judge.py pins the difference). IPv4 only; 2-byte AS
 * numbers and interfaces. Prefixes are sourceIPv4Prefix /
 * destinationIPv4Prefix (the address masked by the mask the record
 * carries).
 *
 *  scheme                 id  bytes  per packet
 *  as                      1    28    51
 *  protocol-port           2    28    51
 *  source-prefix           3    32    44
 *  destination-prefix      4    32    44
 *  prefix                  5    40    35
 *  as-tos                  9    32    44
 *  protocol-port-tos      10    32    44
 *  source-prefix-tos      11    32    44
 *  destination-prefix-tos 12    32    44
 *  prefix-tos             13    40    35
 *  prefix-port            14    40    35
 *
 * (6-8 are the Catalyst switch schemes, not router caches; the BGP
 * next-hop ToS scheme has no v8 layout: IOS exports it in v9 only.) */
#include "export/export.h"

#define F(ie, len, off) { IE_##ie, len, 0, off }
/* dFlows, dPkts, dOctets, First, Last: the 20 bytes every scheme starts with */
#define COMMON                                                                 \
	F(deltaFlowCount, 4, 0), F(packetDeltaCount, 4, 4), F(octetDeltaCount, 4, 8), \
	F(flowStartSysUpTime, 4, 12), F(flowEndSysUpTime, 4, 16)

static const struct tmpl t_as = {
	.id = NF8_AS, .nfields = 9, .minlen = 28,
	.f = { COMMON,
		F(bgpSourceAsNumber, 2, 20), F(bgpDestinationAsNumber, 2, 22),
		F(ingressInterface, 2, 24), F(egressInterface, 2, 26) },
};

static const struct tmpl t_proto_port = {
	.id = NF8_PROTO_PORT, .nfields = 9, .minlen = 28,
	.f = { COMMON,
		F(protocolIdentifier, 1, 20), F(paddingOctets, 3, 21), /* pad (1), reserved (2) */
		F(sourceTransportPort, 2, 24), F(destinationTransportPort, 2, 26) },
};

static const struct tmpl t_src_prefix = {
	.id = NF8_SRC_PREFIX, .nfields = 11, .minlen = 32,
	.f = { COMMON,
		F(sourceIPv4Prefix, 4, 20), F(sourceIPv4PrefixLength, 1, 24), F(paddingOctets, 1, 25),
		F(bgpSourceAsNumber, 2, 26), F(ingressInterface, 2, 28), F(paddingOctets, 2, 30) },
};

static const struct tmpl t_dst_prefix = {
	.id = NF8_DST_PREFIX, .nfields = 11, .minlen = 32,
	.f = { COMMON,
		F(destinationIPv4Prefix, 4, 20), F(destinationIPv4PrefixLength, 1, 24), F(paddingOctets, 1, 25),
		F(bgpDestinationAsNumber, 2, 26), F(egressInterface, 2, 28), F(paddingOctets, 2, 30) },
};

static const struct tmpl t_prefix = {
	.id = NF8_PREFIX, .nfields = 14, .minlen = 40,
	.f = { COMMON,
		F(sourceIPv4Prefix, 4, 20), F(destinationIPv4Prefix, 4, 24),
		F(destinationIPv4PrefixLength, 1, 28), F(sourceIPv4PrefixLength, 1, 29), F(paddingOctets, 2, 30),
		F(bgpSourceAsNumber, 2, 32), F(bgpDestinationAsNumber, 2, 34),
		F(ingressInterface, 2, 36), F(egressInterface, 2, 38) },
};

static const struct tmpl t_as_tos = {
	.id = NF8_AS_TOS, .nfields = 11, .minlen = 32,
	.f = { COMMON,
		F(bgpSourceAsNumber, 2, 20), F(bgpDestinationAsNumber, 2, 22),
		F(ingressInterface, 2, 24), F(egressInterface, 2, 26),
		F(ipClassOfService, 1, 28), F(paddingOctets, 3, 29) }, /* pad (1), reserved (2) */
};

static const struct tmpl t_proto_port_tos = {
	.id = NF8_PROTO_PORT_TOS, .nfields = 12, .minlen = 32,
	.f = { COMMON,
		F(protocolIdentifier, 1, 20), F(ipClassOfService, 1, 21), F(paddingOctets, 2, 22),
		F(sourceTransportPort, 2, 24), F(destinationTransportPort, 2, 26),
		F(ingressInterface, 2, 28), F(egressInterface, 2, 30) },
};

static const struct tmpl t_src_prefix_tos = {
	.id = NF8_SRC_PREFIX_TOS, .nfields = 11, .minlen = 32,
	.f = { COMMON,
		F(sourceIPv4Prefix, 4, 20), F(sourceIPv4PrefixLength, 1, 24), F(ipClassOfService, 1, 25),
		F(bgpSourceAsNumber, 2, 26), F(ingressInterface, 2, 28), F(paddingOctets, 2, 30) },
};

static const struct tmpl t_dst_prefix_tos = {
	.id = NF8_DST_PREFIX_TOS, .nfields = 11, .minlen = 32,
	.f = { COMMON,
		F(destinationIPv4Prefix, 4, 20), F(destinationIPv4PrefixLength, 1, 24), F(ipClassOfService, 1, 25),
		F(bgpDestinationAsNumber, 2, 26), F(egressInterface, 2, 28), F(paddingOctets, 2, 30) },
};

static const struct tmpl t_prefix_tos = {
	.id = NF8_PREFIX_TOS, .nfields = 15, .minlen = 40,
	.f = { COMMON,
		F(sourceIPv4Prefix, 4, 20), F(destinationIPv4Prefix, 4, 24),
		F(destinationIPv4PrefixLength, 1, 28), F(sourceIPv4PrefixLength, 1, 29),
		F(ipClassOfService, 1, 30), F(paddingOctets, 1, 31),
		F(bgpSourceAsNumber, 2, 32), F(bgpDestinationAsNumber, 2, 34),
		F(ingressInterface, 2, 36), F(egressInterface, 2, 38) },
};

static const struct tmpl t_prefix_port = {
	.id = NF8_PREFIX_PORT, .nfields = 15, .minlen = 40,
	.f = { COMMON,
		F(sourceIPv4Prefix, 4, 20), F(destinationIPv4Prefix, 4, 24),
		F(destinationIPv4PrefixLength, 1, 28), F(sourceIPv4PrefixLength, 1, 29),
		F(ipClassOfService, 1, 30), F(protocolIdentifier, 1, 31),
		F(sourceTransportPort, 2, 32), F(destinationTransportPort, 2, 34),
		F(ingressInterface, 2, 36), F(egressInterface, 2, 38) },
};

static const struct nf8_scheme_info {
	const struct tmpl *t;
	uint16_t max_recs;
	const char *name;
} schemes[NF8_SCHEME_MAX_] = {
	[NF8_AS] = { &t_as, 51, "as" },
	[NF8_PROTO_PORT] = { &t_proto_port, 51, "protocol-port" },
	[NF8_SRC_PREFIX] = { &t_src_prefix, 44, "source-prefix" },
	[NF8_DST_PREFIX] = { &t_dst_prefix, 44, "destination-prefix" },
	[NF8_PREFIX] = { &t_prefix, 35, "prefix" },
	[NF8_AS_TOS] = { &t_as_tos, 44, "as-tos" },
	[NF8_PROTO_PORT_TOS] = { &t_proto_port_tos, 44, "protocol-port-tos" },
	[NF8_SRC_PREFIX_TOS] = { &t_src_prefix_tos, 44, "source-prefix-tos" },
	[NF8_DST_PREFIX_TOS] = { &t_dst_prefix_tos, 44, "destination-prefix-tos" },
	[NF8_PREFIX_TOS] = { &t_prefix_tos, 35, "prefix-tos" },
	[NF8_PREFIX_PORT] = { &t_prefix_port, 35, "prefix-port" },
};

const struct tmpl *nf8_tmpl(unsigned scheme)
{
	return scheme < NF8_SCHEME_MAX_ ? schemes[scheme].t : NULL;
}

unsigned nf8_max_recs(unsigned scheme)
{
	return scheme < NF8_SCHEME_MAX_ && schemes[scheme].t ? schemes[scheme].max_recs : 0;
}

const char *nf8_scheme_name(unsigned scheme)
{
	return scheme < NF8_SCHEME_MAX_ && schemes[scheme].t ? schemes[scheme].name : NULL;
}

static int nf8_put_hdr(struct wbuf *w, const struct nf_hdr *h)
{
	int rc;
	if ((rc = wbuf_put_u16(w, 8)) != 0 ||
	    (rc = wbuf_put_u16(w, h->count)) != 0 ||
	    (rc = wbuf_put_u32(w, h->sysup_ms)) != 0 ||
	    (rc = wbuf_put_u32(w, (uint32_t)(h->export_us / 1000000))) != 0 ||
	    (rc = wbuf_put_u32(w, (uint32_t)(h->export_us % 1000000 * 1000))) != 0 ||
	    (rc = wbuf_put_u32(w, h->seq)) != 0 ||
	    (rc = wbuf_put_u8(w, h->engine_type)) != 0 ||
	    (rc = wbuf_put_u8(w, h->engine_id)) != 0 ||
	    (rc = wbuf_put_u8(w, h->agg_scheme)) != 0 ||
	    (rc = wbuf_put_u8(w, h->agg_version ? h->agg_version : NF8_AGG_VERSION)) != 0 ||
	    (rc = wbuf_put_u16(w, h->sampling)) != 0 ||
	    (rc = wbuf_put_u16(w, 0)) != 0)
		return rc;
	return ERR_OK;
}

static int nf8_get_hdr(struct rbuf *r, struct nf_hdr *h, int *ecode)
{
	uint32_t secs = 0, nsecs = 0;
	uint16_t reserved = 0;
	if (rbuf_left(r) < 28) {
		*ecode = NF_E_HDR_SHORT;
		return ERR_TRUNC;
	}
	(void)(rbuf_get_u16(r, &h->version) || rbuf_get_u16(r, &h->count) ||
	       rbuf_get_u32(r, &h->sysup_ms) || rbuf_get_u32(r, &secs) ||
	       rbuf_get_u32(r, &nsecs) || rbuf_get_u32(r, &h->seq) ||
	       rbuf_get_u8(r, &h->engine_type) || rbuf_get_u8(r, &h->engine_id) ||
	       rbuf_get_u8(r, &h->agg_scheme) || rbuf_get_u8(r, &h->agg_version) ||
	       rbuf_get_u16(r, &h->sampling) || rbuf_get_u16(r, &reserved));
	h->export_us = (uint64_t)secs * 1000000 + nsecs / 1000;
	/* one stream per aggregation cache: the scheme beside engine type/id */
	h->domain = (uint32_t)h->agg_scheme << 16 | (uint32_t)h->engine_type << 8 | h->engine_id;
	if (h->version != 8) {
		*ecode = NF_E_VERSION;
		return ERR_FORMAT;
	}
	if (!nf8_tmpl(h->agg_scheme)) {
		*ecode = NF_E_V8_SCHEME;
		return ERR_UNSUPP;
	}
	return ERR_OK;
}

/* The fixed-layout iterator with the layout the header's scheme names. */
static int nf8_iter_init(struct nf_iter *it, const uint8_t *msg, size_t len, const struct tmpl_store *ts)
{
	(void)ts;
	memset(&it->hdr, 0, sizeof(it->hdr));
	it->priv.codec = &nf8_codec;
	it->priv.ts = NULL;
	it->priv.rc = ERR_OK;
	it->priv.ecode = NF_E_NONE;
	it->priv.in_set = 0;
	rbuf_init(&it->priv.msg, msg, len);
	int ecode = NF_E_NONE;
	int rc = nf8_get_hdr(&it->priv.msg, &it->hdr, &ecode);
	if (rc != ERR_OK)
		return nf_iter_fail(it, rc, ecode);
	const struct tmpl *t = nf8_tmpl(it->hdr.agg_scheme);
	it->priv.t = t;
	/* as v5: a count above the scheme's limit or past the datagram is an
	 * error reported after the records that are there */
	size_t avail = rbuf_left(&it->priv.msg) / t->minlen;
	unsigned n = it->hdr.count;
	if (n > nf8_max_recs(it->hdr.agg_scheme))
		it->priv.ecode = NF_E_COUNT;
	if (avail < n) {
		if (it->priv.ecode == NF_E_NONE)
			it->priv.ecode = NF_E_RECS_SHORT;
		n = (unsigned)avail;
	}
	it->priv.left = n;
	return ERR_OK;
}

const struct nf_codec nf8_codec = {
	.version = 8, .name = "v8", .hdr_len = 28, .time_res_us = 1000, .max_recs = 51,
	.seq = NF_SEQ_RECORDS, .fixed = NULL, /* per scheme: nf8_tmpl() */
	.put_hdr = nf8_put_hdr, .get_hdr = nf8_get_hdr,
	.iter_init = nf8_iter_init, .iter_next = nfx_iter_next,
};
