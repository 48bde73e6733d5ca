/* ipfix.c — IPFIX (RFC 7011).
 *
 * Message header (16 bytes, §3.1): version 10, length, export time (s),
 * sequence number (data records sent in this observation domain before
 * this message, mod 2^32; options data records count too), observation
 * domain id. Sets (§3.3): 2 templates (id, field count, fields), 3 options
 * templates (id, field count, scope field count, fields); a field is
 * (E bit | IE id, length[, enterprise number]) (§3.2); >= 256 data.
 * Field count 0 is a withdrawal (§8.1). Our records are fixed length, so
 * no set padding is written; decoders accept padding shorter than a
 * record (§3.3.1) and variable-length fields (§7).
 * Exported templates: 256 IPv4, 257 IPv6 (flowStart/EndMilliseconds, or
 * Microseconds with NF_F_TIME_US), 258 exporting-process statistics
 * options (scope observationDomainId + exportingProcessId;
 * exportedOctet/Message/FlowRecordTotalCount). */
#include "export/export.h"

#include <string.h>

#define F(ie, len) { IE_##ie, len, 0, 0 }
#define NF(a) (sizeof(a) / sizeof((a)[0]))

enum { IPFIX_T4 = 256, IPFIX_T6 = 257, IPFIX_TOPT = 258, IPFIX_HDR_LEN = 16 };
enum { IPFIX_START = 12, IPFIX_END = 13 }; /* index of the time fields below */

static const struct tmpl_field ipfix_f4[] = {
	F(sourceIPv4Address, 4), F(destinationIPv4Address, 4), F(ipNextHopIPv4Address, 4),
	F(sourceTransportPort, 2), F(destinationTransportPort, 2), F(protocolIdentifier, 1),
	F(ipClassOfService, 1), F(tcpControlBits, 2), F(ingressInterface, 4),
	F(egressInterface, 4), F(packetDeltaCount, 8), F(octetDeltaCount, 8),
	F(flowStartMilliseconds, 8), F(flowEndMilliseconds, 8), F(bgpSourceAsNumber, 4),
	F(bgpDestinationAsNumber, 4), F(sourceIPv4PrefixLength, 1),
	F(destinationIPv4PrefixLength, 1), F(minimumTTL, 1), F(maximumTTL, 1),
	F(minimumIpTotalLength, 2), F(maximumIpTotalLength, 2), F(flowDirection, 1),
	F(flowEndReason, 1), F(icmpTypeCodeIPv4, 2),
};

static const struct tmpl_field ipfix_f6[] = {
	F(sourceIPv6Address, 16), F(destinationIPv6Address, 16), F(ipNextHopIPv6Address, 16),
	F(sourceTransportPort, 2), F(destinationTransportPort, 2), F(protocolIdentifier, 1),
	F(ipClassOfService, 1), F(tcpControlBits, 2), F(ingressInterface, 4),
	F(egressInterface, 4), F(packetDeltaCount, 8), F(octetDeltaCount, 8),
	F(flowStartMilliseconds, 8), F(flowEndMilliseconds, 8), F(bgpSourceAsNumber, 4),
	F(bgpDestinationAsNumber, 4), F(sourceIPv6PrefixLength, 1),
	F(destinationIPv6PrefixLength, 1), F(minimumTTL, 1), F(maximumTTL, 1),
	F(minimumIpTotalLength, 2), F(maximumIpTotalLength, 2), F(flowDirection, 1),
	F(flowEndReason, 1), F(icmpTypeCodeIPv6, 2),
};

static const struct tmpl_field ipfix_fopt[] = {
	F(observationDomainId, 4), F(exportingProcessId, 4), /* scope */
	F(exportedOctetTotalCount, 8), F(exportedMessageTotalCount, 8),
	F(exportedFlowRecordTotalCount, 8),
};

static int ipfix_build_tmpls(struct tmpl *t4, struct tmpl *t6, struct tmpl *opt, unsigned flags)
{
	struct tmpl_field f4[NF(ipfix_f4) + 1], f6[NF(ipfix_f6) + 1];
	size_t n4 = NF(ipfix_f4), n6 = NF(ipfix_f6);
	memcpy(f4, ipfix_f4, sizeof(ipfix_f4));
	memcpy(f6, ipfix_f6, sizeof(ipfix_f6));
	if (flags & NF_F_TIME_US) {
		f4[IPFIX_START].ie = f6[IPFIX_START].ie = IE_flowStartMicroseconds;
		f4[IPFIX_END].ie = f6[IPFIX_END].ie = IE_flowEndMicroseconds;
	}
	if (flags & NF_F_BGP_NH) { /* routing attributes: bgpNextHopIPv4/IPv6Address last */
		f4[n4++] = (struct tmpl_field)F(bgpNextHopIPv4Address, 4);
		f6[n6++] = (struct tmpl_field)F(bgpNextHopIPv6Address, 16);
	}
	int rc;
	if ((rc = tmpl_init(t4, IPFIX_T4, f4, n4, 0)) != 0 ||
	    (rc = tmpl_init(t6, IPFIX_T6, f6, n6, 0)) != 0 ||
	    (rc = tmpl_init(opt, IPFIX_TOPT, ipfix_fopt, NF(ipfix_fopt), 2)) != 0)
		return rc;
	return ERR_OK;
}

static int ipfix_put_hdr(struct wbuf *w, const struct nf_hdr *h)
{
	int rc;
	if ((rc = wbuf_put_u16(w, 10)) != 0 ||
	    (rc = wbuf_put_u16(w, h->length)) != 0 ||
	    (rc = wbuf_put_u32(w, (uint32_t)(h->export_us / 1000000))) != 0 ||
	    (rc = wbuf_put_u32(w, h->seq)) != 0 ||
	    (rc = wbuf_put_u32(w, h->domain)) != 0)
		return rc;
	return ERR_OK;
}

/* Reads the header and bounds r to the message's length field. */
static int ipfix_get_hdr(struct rbuf *r, struct nf_hdr *h, int *ecode)
{
	uint32_t secs = 0;
	if (rbuf_left(r) < IPFIX_HDR_LEN) {
		*ecode = NF_E_HDR_SHORT;
		return ERR_TRUNC;
	}
	(void)(rbuf_get_u16(r, &h->version) || rbuf_get_u16(r, &h->length) ||
	       rbuf_get_u32(r, &secs) || rbuf_get_u32(r, &h->seq) ||
	       rbuf_get_u32(r, &h->domain));
	h->export_us = (uint64_t)secs * 1000000;
	if (h->version != 10) {
		*ecode = NF_E_VERSION;
		return ERR_FORMAT;
	}
	if (h->length < IPFIX_HDR_LEN || h->length > r->len) {
		*ecode = NF_E_MSG_LEN;
		return h->length > r->len ? ERR_TRUNC : ERR_FORMAT;
	}
	r->len = h->length;
	return ERR_OK;
}

/* Template record (§3.4.1) or options template record (§3.4.2.2). */
static int ipfix_put_tmpl(struct wbuf *w, const struct tmpl *t)
{
	int rc;
	if ((rc = wbuf_put_u16(w, t->id)) != 0 || (rc = wbuf_put_u16(w, t->nfields)) != 0)
		return rc;
	if (t->scope_count && (rc = wbuf_put_u16(w, t->scope_count)) != 0)
		return rc;
	for (unsigned i = 0; i < t->nfields; i++) {
		const struct tmpl_field *f = &t->f[i];
		if ((rc = wbuf_put_u16(w, (uint16_t)(f->ie | (f->pen ? 0x8000 : 0)))) != 0 ||
		    (rc = wbuf_put_u16(w, f->len)) != 0 ||
		    (f->pen && (rc = wbuf_put_u32(w, f->pen)) != 0))
			return rc;
	}
	return ERR_OK;
}

static int ipfix_get_tmpl(struct rbuf *s, uint16_t set_id, struct tmpl *t, int *ecode)
{
	uint16_t tid = 0, n = 0, scope = 0;
	if (rbuf_left(s) < 4) { /* padding (§3.3.1) */
		rbuf_skip(s, rbuf_left(s));
		return ERR_END;
	}
	(void)(rbuf_get_u16(s, &tid) || rbuf_get_u16(s, &n));
	if (n == 0) { /* withdrawal (§8.1); 2 and 3 withdraw all of a kind */
		if (tid < TMPL_ID_MIN && tid != set_id) {
			*ecode = NF_E_TMPL_ID;
			return ERR_FORMAT;
		}
		t->id = tid;
		t->nfields = 0;
		return NF_TMPL_WITHDRAW;
	}
	if (tid < TMPL_ID_MIN) {
		*ecode = NF_E_TMPL_ID;
		return ERR_FORMAT;
	}
	if (set_id == 3) {
		if (rbuf_get_u16(s, &scope) != ERR_OK) {
			*ecode = NF_E_TMPL_SHORT;
			return ERR_TRUNC;
		}
		if (scope == 0 || scope > n) { /* §3.4.2.2: scope count MUST NOT be 0 */
			*ecode = NF_E_TMPL_BAD;
			return ERR_FORMAT;
		}
	}
	struct tmpl_field f[TMPL_MAX_FIELDS];
	for (unsigned i = 0; i < n; i++) {
		struct tmpl_field x = { 0, 0, 0, 0 };
		if (rbuf_get_u16(s, &x.ie) || rbuf_get_u16(s, &x.len) ||
		    ((x.ie & 0x8000) && rbuf_get_u32(s, &x.pen))) {
			*ecode = NF_E_TMPL_SHORT;
			return ERR_TRUNC;
		}
		x.ie &= 0x7fff;
		if (i < TMPL_MAX_FIELDS)
			f[i] = x;
	}
	if (n > TMPL_MAX_FIELDS) {
		t->id = tid;
		return ERR_UNSUPP;
	}
	if (tmpl_init(t, tid, f, n, scope) != ERR_OK) {
		*ecode = NF_E_TMPL_BAD;
		return ERR_FORMAT;
	}
	return ERR_OK;
}

static int ipfix_iter_init(struct nf_iter *it, const uint8_t *msg, size_t len, const struct tmpl_store *ts)
{
	return nfs_iter_init(it, &ipfix_codec, msg, len, ts);
}

const struct nf_codec ipfix_codec = {
	.version = 10, .name = "ipfix", .hdr_len = IPFIX_HDR_LEN, .time_res_us = 1, .v6 = 1, .sets = 1,
	.seq = NF_SEQ_RECORDS, .set_align = 1, .tmpl_set_id = 2, .opt_set_id = 3,
	.put_hdr = ipfix_put_hdr, .get_hdr = ipfix_get_hdr, .put_tmpl = ipfix_put_tmpl,
	.get_tmpl = ipfix_get_tmpl, .build_tmpls = ipfix_build_tmpls,
	.iter_init = ipfix_iter_init, .iter_next = nfs_iter_next,
};
