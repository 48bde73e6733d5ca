/* nf1.c — NetFlow v1.
 *
 * Header (16 bytes): version 1, count (1..24), sysUptime ms, unix_secs,
 * unix_nsecs. No sequence number, no AS or masks. Record (48 bytes): the
 * fixed template below. IPv4 only, 32-bit counters, 2-byte interfaces. */
#include "export/export.h"

#define F(ie, len, off) { IE_##ie, len, 0, off }

static const struct tmpl nf1_tmpl = {
	.id = 1, .nfields = 17, .minlen = 48,
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
		F(paddingOctets, 2, 36),           /* pad1 */
		F(protocolIdentifier, 1, 38),      /* prot */
		F(ipClassOfService, 1, 39),        /* tos */
		F(tcpControlBits, 1, 40),          /* flags */
		F(paddingOctets, 3, 41),           /* pad2 (1), pad3 (2) */
		F(paddingOctets, 4, 44),           /* reserved */
	},
};

static int nf1_put_hdr(struct wbuf *w, const struct nf_hdr *h)
{
	int rc;
	if ((rc = wbuf_put_u16(w, 1)) != 0 ||
	    (rc = wbuf_put_u16(w, h->count)) != 0 ||
	    (rc = wbuf_put_u32(w, h->sysup_ms)) != 0 ||
	    (rc = wbuf_put_u32(w, (uint32_t)(h->export_us / 1000000))) != 0 ||
	    (rc = wbuf_put_u32(w, (uint32_t)(h->export_us % 1000000 * 1000))) != 0)
		return rc;
	return ERR_OK;
}

static int nf1_get_hdr(struct rbuf *r, struct nf_hdr *h, int *ecode)
{
	uint32_t secs = 0, nsecs = 0;
	if (rbuf_left(r) < 16) {
		*ecode = NF_E_HDR_SHORT;
		return ERR_TRUNC;
	}
	(void)(rbuf_get_u16(r, &h->version) || rbuf_get_u16(r, &h->count) ||
	       rbuf_get_u32(r, &h->sysup_ms) || rbuf_get_u32(r, &secs) ||
	       rbuf_get_u32(r, &nsecs));
	h->export_us = (uint64_t)secs * 1000000 + nsecs / 1000;
	if (h->version != 1) {
		*ecode = NF_E_VERSION;
		return ERR_FORMAT;
	}
	return ERR_OK;
}

static int nf1_iter_init(struct nf_iter *it, const uint8_t *msg, size_t len, const struct tmpl_store *ts)
{
	(void)ts;
	return nfx_iter_init(it, &nf1_codec, msg, len);
}

const struct nf_codec nf1_codec = {
	.version = 1, .name = "v1", .hdr_len = 16, .time_res_us = 1000, .max_recs = 24,
	.seq = NF_SEQ_NONE, .fixed = &nf1_tmpl,
	.put_hdr = nf1_put_hdr, .get_hdr = nf1_get_hdr,
	.iter_init = nf1_iter_init, .iter_next = nfx_iter_next,
};
