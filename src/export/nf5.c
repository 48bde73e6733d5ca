/* nf5.c — NetFlow v5, and the iterator shared by the fixed-layout formats
 * (v1, v5, v7).
 *
 * Header (24 bytes): version 5, count (1..30), sysUptime ms, unix_secs,
 * unix_nsecs, flow_sequence (flows exported before this packet),
 * engine_type, engine_id, sampling_interval (mode:2 | interval:14).
 * Record (48 bytes): the fixed template below. IPv4 only; 32-bit counters
 * (the exporter splits larger ones); 2-byte interfaces and AS numbers
 * (AS_TRANS for 4-byte ASes); First/Last are sysUptime ms. */
#include "export/export.h"

#define F(ie, len, off) { IE_##ie, len, 0, off }

static const struct tmpl nf5_tmpl = {
	.id = 5, .nfields = 20, .minlen = 48,
	.f = {
		F(sourceIPv4Address, 4, 0),        /* srcaddr */
		F(destinationIPv4Address, 4, 4),   /* dstaddr */
		F(ipNextHopIPv4Address, 4, 8),     /* nexthop */
		F(ingressInterface, 2, 12),        /* input */
		F(egressInterface, 2, 14),         /* output */
		F(packetDeltaCount, 4, 16),        /* dPkts */
		F(octetDeltaCount, 4, 20),         /* dOctets */
		F(flowStartSysUpTime, 4, 24),      /* First */
		F(flowEndSysUpTime, 4, 28),        /* Last */
		F(sourceTransportPort, 2, 32),     /* srcport */
		F(destinationTransportPort, 2, 34),/* dstport */
		F(paddingOctets, 1, 36),           /* pad1 */
		F(tcpControlBits, 1, 37),          /* tcp_flags */
		F(protocolIdentifier, 1, 38),      /* prot */
		F(ipClassOfService, 1, 39),        /* tos */
		F(bgpSourceAsNumber, 2, 40),       /* src_as */
		F(bgpDestinationAsNumber, 2, 42),  /* dst_as */
		F(sourceIPv4PrefixLength, 1, 44),  /* src_mask */
		F(destinationIPv4PrefixLength, 1, 45), /* dst_mask */
		F(paddingOctets, 2, 46),           /* pad2 */
	},
};

static int nf5_put_hdr(struct wbuf *w, const struct nf_hdr *h)
{
	int rc;
	if ((rc = wbuf_put_u16(w, 5)) != 0 ||
	    (rc = wbuf_put_u16(w, h->count)) != 0 ||
	    (rc = wbuf_put_u32(w, h->sysup_ms)) != 0 ||
	    (rc = wbuf_put_u32(w, (uint32_t)(h->export_us / 1000000))) != 0 ||
	    (rc = wbuf_put_u32(w, (uint32_t)(h->export_us % 1000000 * 1000))) != 0 ||
	    (rc = wbuf_put_u32(w, h->seq)) != 0 ||
	    (rc = wbuf_put_u8(w, h->engine_type)) != 0 ||
	    (rc = wbuf_put_u8(w, h->engine_id)) != 0 ||
	    (rc = wbuf_put_u16(w, h->sampling)) != 0)
		return rc;
	return ERR_OK;
}

static int nf5_get_hdr(struct rbuf *r, struct nf_hdr *h, int *ecode)
{
	uint32_t secs = 0, nsecs = 0;
	if (rbuf_left(r) < 24) {
		*ecode = NF_E_HDR_SHORT;
		return ERR_TRUNC;
	}
	(void)(rbuf_get_u16(r, &h->version) || rbuf_get_u16(r, &h->count) ||
	       rbuf_get_u32(r, &h->sysup_ms) || rbuf_get_u32(r, &secs) ||
	       rbuf_get_u32(r, &nsecs) || rbuf_get_u32(r, &h->seq) ||
	       rbuf_get_u8(r, &h->engine_type) || rbuf_get_u8(r, &h->engine_id) ||
	       rbuf_get_u16(r, &h->sampling));
	h->export_us = (uint64_t)secs * 1000000 + nsecs / 1000;
	if (h->version != 5) {
		*ecode = NF_E_VERSION;
		return ERR_FORMAT;
	}
	return ERR_OK;
}

static int nf5_iter_init(struct nf_iter *it, const uint8_t *msg, size_t len, const struct tmpl_store *ts)
{
	(void)ts;
	return nfx_iter_init(it, &nf5_codec, msg, len);
}

const struct nf_codec nf5_codec = {
	.version = 5, .name = "v5", .hdr_len = 24, .time_res_us = 1000, .max_recs = 30,
	.seq = NF_SEQ_RECORDS, .fixed = &nf5_tmpl, .fixed_flowrec = tmpl_nf5_flowrec,
	.put_hdr = nf5_put_hdr, .get_hdr = nf5_get_hdr,
	.iter_init = nf5_iter_init, .iter_next = nfx_iter_next,
};

/* ---- the fixed-layout iterator (v1, v5, v7) ---- */

int nfx_iter_init(struct nf_iter *it, const struct nf_codec *c, const uint8_t *msg, size_t len)
{
	memset(&it->hdr, 0, sizeof(it->hdr));
	it->priv.codec = c;
	it->priv.ts = NULL;
	it->priv.rc = ERR_OK;
	it->priv.ecode = NF_E_NONE;
	it->priv.t = c->fixed;
	it->priv.in_set = 0;
	rbuf_init(&it->priv.msg, msg, len);
	int ecode = NF_E_NONE;
	int rc = c->get_hdr(&it->priv.msg, &it->hdr, &ecode);
	if (rc != ERR_OK)
		return nf_iter_fail(it, rc, ecode);
	/* A count above the maximum or past the datagram is an error, but
	 * the records that are there are returned first (real exporters send
	 * such headers: decode what is valid, then report). The error waits
	 * in priv.ecode until the last of them. */
	size_t avail = rbuf_left(&it->priv.msg) / c->fixed->minlen;
	unsigned n = it->hdr.count;
	if (n > c->max_recs)
		it->priv.ecode = NF_E_COUNT;
	if (avail < n) {
		if (it->priv.ecode == NF_E_NONE)
			it->priv.ecode = NF_E_RECS_SHORT;
		n = (unsigned)avail;
	}
	it->priv.left = n;
	return ERR_OK;
}

int nfx_iter_next(struct nf_iter *it, struct nf_item *item)
{
	if (it->priv.rc != ERR_OK)
		return it->priv.rc;
	if (it->priv.left == 0) {
		if (it->priv.ecode != NF_E_NONE) /* deferred by init */
			return nf_iter_fail(it, it->priv.ecode == NF_E_COUNT ? ERR_FORMAT : ERR_TRUNC, it->priv.ecode);
		return ERR_END;
	}
	const uint8_t *p = rbuf_take(&it->priv.msg, it->priv.t->minlen);
	if (!p) /* init checked the length: a broken invariant, not bad input */
		return nf_iter_fail(it, ERR_TRUNC, NF_E_RECS_SHORT);
	it->priv.left--;
	item->kind = NF_ITEM_DATA;
	item->set_id = 0;
	item->tmpl_id = it->priv.t->id;
	item->t = it->priv.t;
	item->p = p;
	item->len = it->priv.t->minlen;
	return ERR_OK;
}
