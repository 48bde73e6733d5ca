/* nf9.c — NetFlow v9 (RFC 3954), and the set iterator it shares with
 * IPFIX.
 *
 * Header (20 bytes, §5.1): version 9, count (template + options template
 * + data + options data records in the packet), sysUptime ms, unix_secs,
 * package sequence (export packets before this one), source id.
 * FlowSets (§5.2-5.4): id 0 templates (id, count, count × (type, length)),
 * id 1 options templates (id, scope length, option length, scope fields,
 * option fields; lengths in bytes), id >= 256 data. Sets are padded to 4
 * bytes; a decoder treats trailing bytes shorter than a record as
 * padding. Exported templates: 256 IPv4, 257 IPv6, 258 export statistics
 * options (scope System = source id; TOTAL_BYTES/PKTS/FLOWS_EXP). */
#include "export/export.h"

#include <string.h>

#define F(ie, len) { IE_##ie, len, 0, 0 }
#define NF(a) (sizeof(a) / sizeof((a)[0]))

enum { NF9_T4 = 256, NF9_T6 = 257, NF9_TOPT = 258, NF9_SCOPE_SYSTEM = 1 };

static const struct tmpl_field nf9_f4[] = {
	F(sourceIPv4Address, 4), F(destinationIPv4Address, 4), F(ipNextHopIPv4Address, 4),
	F(sourceTransportPort, 2), F(destinationTransportPort, 2), F(protocolIdentifier, 1),
	F(ipClassOfService, 1), F(tcpControlBits, 1), F(ingressInterface, 4),
	F(egressInterface, 4), F(packetDeltaCount, 8), F(octetDeltaCount, 8),
	F(flowStartSysUpTime, 4), F(flowEndSysUpTime, 4), F(bgpSourceAsNumber, 4),
	F(bgpDestinationAsNumber, 4), F(sourceIPv4PrefixLength, 1),
	F(destinationIPv4PrefixLength, 1), F(minimumTTL, 1), F(maximumTTL, 1),
	F(minimumIpTotalLength, 2), F(maximumIpTotalLength, 2), F(flowDirection, 1),
	F(flowEndReason, 1), F(icmpTypeCodeIPv4, 2),
};

static const struct tmpl_field nf9_f6[] = {
	F(sourceIPv6Address, 16), F(destinationIPv6Address, 16), F(ipNextHopIPv6Address, 16),
	F(sourceTransportPort, 2), F(destinationTransportPort, 2), F(protocolIdentifier, 1),
	F(ipClassOfService, 1), F(tcpControlBits, 1), F(ingressInterface, 4),
	F(egressInterface, 4), F(packetDeltaCount, 8), F(octetDeltaCount, 8),
	F(flowStartSysUpTime, 4), F(flowEndSysUpTime, 4), F(bgpSourceAsNumber, 4),
	F(bgpDestinationAsNumber, 4), F(sourceIPv6PrefixLength, 1),
	F(destinationIPv6PrefixLength, 1), F(minimumTTL, 1), F(maximumTTL, 1),
	F(minimumIpTotalLength, 2), F(maximumIpTotalLength, 2), F(flowDirection, 1),
	/* ICMPv6 type/code in ICMP_TYPE (32), the one ICMP field RFC 3954 §8
	 * defines, as v9 exporters send it: nfdump 1.7 reads no other in v9
	 * (IPFIX, ipfix.c, uses icmpTypeCodeIPv6, 139) */
	F(flowEndReason, 1), F(icmpTypeCodeIPv4, 2),
};

static const struct tmpl_field nf9_fopt[] = {
	{ NF9_SCOPE_SYSTEM, 4, 0, 0 },  /* scope: System (source id) */
	F(exportedOctetTotalCount, 8),   /* TOTAL_BYTES_EXP */
	F(exportedMessageTotalCount, 8), /* TOTAL_PKTS_EXP */
	F(exportedFlowRecordTotalCount, 8), /* TOTAL_FLOWS_EXP */
};

/* With NF_F_BGP_NH the flow templates end in BGP_IPV4_NEXT_HOP (18) /
 * BGP_IPV6_NEXT_HOP (63), from the routing attributes (`ip flow-export
 * version 9 bgp-nexthop`). */
static int nf9_build_tmpls(struct tmpl *t4, struct tmpl *t6, struct tmpl *opt, unsigned flags)
{
	struct tmpl_field f4[NF(nf9_f4) + 1], f6[NF(nf9_f6) + 1];
	size_t n4 = NF(nf9_f4), n6 = NF(nf9_f6);
	memcpy(f4, nf9_f4, sizeof(nf9_f4));
	memcpy(f6, nf9_f6, sizeof(nf9_f6));
	if (flags & NF_F_BGP_NH) {
		f4[n4++] = (struct tmpl_field)F(bgpNextHopIPv4Address, 4);
		f6[n6++] = (struct tmpl_field)F(bgpNextHopIPv6Address, 16);
	}
	int rc;
	if ((rc = tmpl_init(t4, NF9_T4, f4, n4, 0)) != 0 ||
	    (rc = tmpl_init(t6, NF9_T6, f6, n6, 0)) != 0 ||
	    (rc = tmpl_init(opt, NF9_TOPT, nf9_fopt, NF(nf9_fopt), 1)) != 0)
		return rc;
	t4->flags = t6->flags = opt->flags = TMPL_F_V9;
	return ERR_OK;
}

static int nf9_put_hdr(struct wbuf *w, const struct nf_hdr *h)
{
	int rc;
	if ((rc = wbuf_put_u16(w, 9)) != 0 ||
	    (rc = wbuf_put_u16(w, h->count)) != 0 ||
	    (rc = wbuf_put_u32(w, h->sysup_ms)) != 0 ||
	    (rc = wbuf_put_u32(w, (uint32_t)(h->export_us / 1000000))) != 0 ||
	    (rc = wbuf_put_u32(w, h->seq)) != 0 ||
	    (rc = wbuf_put_u32(w, h->domain)) != 0)
		return rc;
	return ERR_OK;
}

static int nf9_get_hdr(struct rbuf *r, struct nf_hdr *h, int *ecode)
{
	uint32_t secs = 0;
	if (rbuf_left(r) < 20) {
		*ecode = NF_E_HDR_SHORT;
		return ERR_TRUNC;
	}
	(void)(rbuf_get_u16(r, &h->version) || rbuf_get_u16(r, &h->count) ||
	       rbuf_get_u32(r, &h->sysup_ms) || rbuf_get_u32(r, &secs) ||
	       rbuf_get_u32(r, &h->seq) || rbuf_get_u32(r, &h->domain));
	h->export_us = (uint64_t)secs * 1000000;
	if (h->version != 9) {
		*ecode = NF_E_VERSION;
		return ERR_FORMAT;
	}
	return ERR_OK;
}

/* Template record (§5.2) or options template record (§6.1). */
static int nf9_put_tmpl(struct wbuf *w, const struct tmpl *t)
{
	int rc = wbuf_put_u16(w, t->id);
	if (rc == ERR_OK && t->scope_count) {
		if ((rc = wbuf_put_u16(w, (uint16_t)(4 * t->scope_count))) == ERR_OK)
			rc = wbuf_put_u16(w, (uint16_t)(4 * (t->nfields - t->scope_count)));
	} else if (rc == ERR_OK) {
		rc = wbuf_put_u16(w, t->nfields);
	}
	for (unsigned i = 0; rc == ERR_OK && i < t->nfields; i++)
		if ((rc = wbuf_put_u16(w, t->f[i].ie)) == ERR_OK)
			rc = wbuf_put_u16(w, t->f[i].len);
	return rc;
}

/* Read one (options) template record from a template flowset. Returns
 * ERR_OK with *t filled, ERR_END if the rest of the set is padding,
 * ERR_UNSUPP (record consumed) if it has too many fields, or an error. */
static int nf9_get_tmpl(struct rbuf *s, uint16_t set_id, struct tmpl *t, int *ecode)
{
	uint16_t tid = 0, a = 0, b = 0;
	size_t n, scope = 0;
	if (rbuf_left(s) < 4 || rbuf_peek_u16(s, 0, &tid) != ERR_OK || tid == 0) {
		rbuf_skip(s, rbuf_left(s)); /* padding (§5.2: 0..3 bytes; zeros) */
		return ERR_END;
	}
	if (set_id == 1) {
		if (rbuf_get_u16(s, &tid) || rbuf_get_u16(s, &a) || rbuf_get_u16(s, &b)) {
			*ecode = NF_E_TMPL_SHORT;
			return ERR_TRUNC;
		}
		if (a % 4 || b % 4 || a + b == 0) {
			*ecode = NF_E_TMPL_BAD;
			return ERR_FORMAT;
		}
		scope = a / 4;
		n = scope + b / 4;
	} else {
		(void)(rbuf_get_u16(s, &tid) || rbuf_get_u16(s, &a));
		n = a;
		if (n == 0) {
			*ecode = NF_E_TMPL_BAD;
			return ERR_FORMAT;
		}
	}
	if (tid < TMPL_ID_MIN) {
		*ecode = NF_E_TMPL_ID;
		return ERR_FORMAT;
	}
	if (rbuf_left(s) / 4 < n) {
		*ecode = NF_E_TMPL_SHORT;
		return ERR_TRUNC;
	}
	if (n > TMPL_MAX_FIELDS) {
		rbuf_skip(s, 4 * n);
		t->id = tid;
		return ERR_UNSUPP;
	}
	struct tmpl_field f[TMPL_MAX_FIELDS];
	for (size_t i = 0; i < n; i++) {
		(void)(rbuf_get_u16(s, &f[i].ie) || rbuf_get_u16(s, &f[i].len));
		f[i].pen = 0;
		f[i].off = 0;
	}
	if (tmpl_init(t, tid, f, n, scope) != ERR_OK) {
		*ecode = NF_E_TMPL_BAD;
		return ERR_FORMAT;
	}
	t->flags = TMPL_F_V9;
	return ERR_OK;
}

static int nf9_iter_init(struct nf_iter *it, const uint8_t *msg, size_t len, const struct tmpl_store *ts)
{
	return nfs_iter_init(it, &nf9_codec, msg, len, ts);
}

const struct nf_codec nf9_codec = {
	.version = 9, .name = "v9", .hdr_len = 20, .time_res_us = 1000000, .v6 = 1, .sets = 1,
	.seq = NF_SEQ_PACKETS, .set_align = 4, .tmpl_set_id = 0, .opt_set_id = 1,
	.put_hdr = nf9_put_hdr, .get_hdr = nf9_get_hdr, .put_tmpl = nf9_put_tmpl,
	.get_tmpl = nf9_get_tmpl, .build_tmpls = nf9_build_tmpls,
	.iter_init = nf9_iter_init, .iter_next = nfs_iter_next,
};

/* ---- the set iterator (v9 and IPFIX) ---- */

int nfs_iter_init(struct nf_iter *it, const struct nf_codec *c, const uint8_t *msg, size_t len,
                  const struct tmpl_store *ts)
{
	memset(&it->hdr, 0, sizeof(it->hdr));
	it->priv.codec = c;
	it->priv.ts = ts;
	it->priv.rc = ERR_OK;
	it->priv.ecode = NF_E_NONE;
	it->priv.in_set = 0;
	it->priv.t = NULL;
	rbuf_init(&it->priv.msg, msg, len);
	if (!ts)
		return nf_iter_fail(it, ERR_ARG, NF_E_NONE);
	int ecode = NF_E_NONE;
	int rc = c->get_hdr(&it->priv.msg, &it->hdr, &ecode);
	return rc == ERR_OK ? ERR_OK : nf_iter_fail(it, rc, ecode);
}

static int is_tmpl_set(const struct nf_codec *c, uint16_t id)
{
	return id == c->tmpl_set_id || id == c->opt_set_id;
}

/* Real exporters (Palo Alto, Cisco ACI) fill the datagram after the last
 * set with zeros: a tail of zero bytes is not a set, and not an error. */
static int all_zero(const struct rbuf *m)
{
	const uint8_t *p = rbuf_cur(m);
	for (size_t i = 0, n = rbuf_left(m); i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

int nfs_iter_next(struct nf_iter *it, struct nf_item *item)
{
	const struct nf_codec *c = it->priv.codec;
	const struct tmpl_store *ts = it->priv.ts;
	if (it->priv.rc != ERR_OK)
		return it->priv.rc;
	memset(item, 0, sizeof(*item));
	for (;;) {
		if (!it->priv.in_set) {
			struct rbuf *m = &it->priv.msg;
			uint16_t id = 0, len = 0;
			if (rbuf_left(m) == 0)
				return ERR_END;
			if (rbuf_left(m) < 4) {
				if (all_zero(m))
					return ERR_END; /* zero fill after the last set */
				return nf_iter_fail(it, ERR_TRUNC, NF_E_SET_SHORT);
			}
			(void)(rbuf_get_u16(m, &id) || rbuf_get_u16(m, &len));
			if (len < 4 || len - 4u > rbuf_left(m)) {
				m->off -= 4;
				if (all_zero(m))
					return ERR_END;
				m->off += 4;
				return nf_iter_fail(it, ERR_FORMAT, NF_E_SET_LEN);
			}
			rbuf_sub(m, len - 4u, &it->priv.set);
			it->priv.set_id = id;
			item->set_id = id;
			if (!is_tmpl_set(c, id)) {
				it->priv.t = id >= TMPL_ID_MIN ? ts->lookup(ts->ctx, it->hdr.domain, id) : NULL;
				if (!it->priv.t) {
					item->kind = NF_ITEM_SKIPPED_SET;
					item->tmpl_id = id;
					item->p = rbuf_cur(&it->priv.set);
					item->len = rbuf_left(&it->priv.set);
					return ERR_OK;
				}
			}
			it->priv.in_set = 1;
		}
		struct rbuf *s = &it->priv.set;
		item->set_id = it->priv.set_id;
		if (is_tmpl_set(c, it->priv.set_id)) {
			int ecode = NF_E_NONE;
			struct tmpl *t = &it->priv.scratch;
			int rc = c->get_tmpl(s, it->priv.set_id, t, &ecode);
			if (rc == ERR_END) {
				it->priv.in_set = 0;
				continue;
			}
			if (rc == NF_TMPL_WITHDRAW) {
				ts->withdraw(ts->ctx, it->hdr.domain, t->id);
				item->kind = NF_ITEM_WITHDRAW;
				item->tmpl_id = t->id;
				return ERR_OK;
			}
			if (rc == ERR_UNSUPP) {
				item->kind = NF_ITEM_TMPL_UNSUPP;
				item->tmpl_id = t->id;
				return ERR_OK;
			}
			if (rc != ERR_OK)
				return nf_iter_fail(it, rc, ecode);
			if (ts->add(ts->ctx, it->hdr.domain, t) != ERR_OK)
				return nf_iter_fail(it, ERR_FULL, NF_E_STORE);
			item->kind = NF_ITEM_TMPL;
			item->tmpl_id = t->id;
			item->t = t;
			return ERR_OK;
		}
		const struct tmpl *t = it->priv.t;
		size_t n;
		if (rbuf_left(s) < t->minlen) { /* padding */
			it->priv.in_set = 0;
			continue;
		}
		if (tmpl_rec_len(t, rbuf_cur(s), rbuf_left(s), &n) != ERR_OK)
			return nf_iter_fail(it, ERR_TRUNC, NF_E_REC_SHORT);
		item->kind = NF_ITEM_DATA;
		item->tmpl_id = t->id;
		item->t = t;
		item->p = rbuf_take(s, n);
		item->len = n;
		return ERR_OK;
	}
}
