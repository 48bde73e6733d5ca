/* nf7.c — NetFlow v7 (Catalyst switches: v5 plus the router shortcut).
 *
 * Header (24 bytes): version 7, count (1..28), sysUptime ms, unix_secs,
 * unix_nsecs, flow_sequence (flows before this packet), reserved (4).
 * Record (52 bytes): v5's with flags1 in place of pad1, flags2 in place of
 * pad2, and router_sc (ipv4RouterSc) appended. IPv4 only. */
#include "export/export.h"

#define F(ie, len, off) { IE_##ie, len, 0, off }

static const struct tmpl nf7_tmpl = {
	.id = 7, .nfields = 21, .minlen = 52,
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
		F(paddingOctets, 1, 36),           /* flags1: 0, all flow fields valid */
		F(tcpControlBits, 1, 37),          /* tcp_flags */
		F(protocolIdentifier, 1, 38),      /* prot */
		F(ipClassOfService, 1, 39),        /* tos */
		F(bgpSourceAsNumber, 2, 40),       /* src_as */
		F(bgpDestinationAsNumber, 2, 42),  /* dst_as */
		F(sourceIPv4PrefixLength, 1, 44),  /* src_mask */
		F(destinationIPv4PrefixLength, 1, 45), /* dst_mask */
		F(paddingOctets, 2, 46),           /* flags2 */
		F(ipv4RouterSc, 4, 48),            /* router_sc */
	},
};

static int nf7_put_hdr(struct wbuf *w, const struct nf_hdr *h)
{
	int rc;
	if ((rc = wbuf_put_u16(w, 7)) != 0 ||
	    (rc = wbuf_put_u16(w, h->count)) != 0 ||
	    (rc = wbuf_put_u32(w, h->sysup_ms)) != 0 ||
	    (rc = wbuf_put_u32(w, (uint32_t)(h->export_us / 1000000))) != 0 ||
	    (rc = wbuf_put_u32(w, (uint32_t)(h->export_us % 1000000 * 1000))) != 0 ||
	    (rc = wbuf_put_u32(w, h->seq)) != 0 ||
	    (rc = wbuf_put_u32(w, 0)) != 0)
		return rc;
	return ERR_OK;
}

static int nf7_get_hdr(struct rbuf *r, struct nf_hdr *h, int *ecode)
{
	uint32_t secs = 0, nsecs = 0, reserved = 0;
	if (rbuf_left(r) < 24) {
		*ecode = NF_E_HDR_SHORT;
		return ERR_TRUNC;
	}
	(void)(rbuf_get_u16(r, &h->version) || rbuf_get_u16(r, &h->count) ||
	       rbuf_get_u32(r, &h->sysup_ms) || rbuf_get_u32(r, &secs) ||
	       rbuf_get_u32(r, &nsecs) || rbuf_get_u32(r, &h->seq) ||
	       rbuf_get_u32(r, &reserved));
	h->export_us = (uint64_t)secs * 1000000 + nsecs / 1000;
	if (h->version != 7) {
		*ecode = NF_E_VERSION;
		return ERR_FORMAT;
	}
	return ERR_OK;
}

static int nf7_iter_init(struct nf_iter *it, const uint8_t *msg, size_t len, const struct tmpl_store *ts)
{
	(void)ts;
	return nfx_iter_init(it, &nf7_codec, msg, len);
}

const struct nf_codec nf7_codec = {
	.version = 7, .name = "v7", .hdr_len = 24, .time_res_us = 1000, .max_recs = 28,
	.seq = NF_SEQ_RECORDS, .fixed = &nf7_tmpl,
	.put_hdr = nf7_put_hdr, .get_hdr = nf7_get_hdr,
	.iter_init = nf7_iter_init, .iter_next = nfx_iter_next,
};
