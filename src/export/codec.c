/* codec.c — the table of wire formats and the format-independent decoder
 * entry points. */
#include "export/export.h"

static const struct nf_codec *const codecs[] = {
	&nf1_codec, &nf5_codec, &nf7_codec, &nf8_codec, &nf9_codec, &ipfix_codec,
};

static const char *const nf_err_msg[NF_E_MAX_] = {
	[NF_E_NONE] = "no error",
	[NF_E_HDR_SHORT] = "message shorter than its header",
	[NF_E_VERSION] = "version field is not this format's",
	[NF_E_COUNT] = "record count above the format's maximum",
	[NF_E_RECS_SHORT] = "message shorter than its record count says",
	[NF_E_MSG_LEN] = "IPFIX message length below 16 or past the datagram",
	[NF_E_SET_SHORT] = "bytes left at the message end cannot hold a set header",
	[NF_E_SET_LEN] = "set length below 4 or past the message end",
	[NF_E_TMPL_SHORT] = "template record runs past the end of its set",
	[NF_E_TMPL_ID] = "template id below 256",
	[NF_E_TMPL_BAD] = "template empty, too long, or with a bad scope",
	[NF_E_REC_SHORT] = "data record runs past the end of its set",
	[NF_E_STORE] = "template store refused a template",
	[NF_E_V8_SCHEME] = "v8 aggregation scheme unknown (no record layout)",
};

const struct nf_codec *nf_codec_by_version(int version)
{
	for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++)
		if (codecs[i]->version == version)
			return codecs[i];
	return NULL;
}

int nf_iter_fail(struct nf_iter *it, int rc, int ecode)
{
	it->priv.rc = rc;
	it->priv.ecode = ecode;
	return rc;
}

int nf_iter_init(struct nf_iter *it, const void *msg, size_t len, const struct tmpl_store *ts)
{
	struct rbuf r;
	uint16_t version;
	rbuf_init(&r, msg, len);
	it->priv.codec = NULL;
	if (rbuf_peek_u16(&r, 0, &version) != ERR_OK)
		return nf_iter_fail(it, ERR_TRUNC, NF_E_HDR_SHORT);
	const struct nf_codec *c = nf_codec_by_version(version);
	if (!c)
		return nf_iter_fail(it, ERR_UNSUPP, NF_E_VERSION);
	return c->iter_init(it, msg, len, ts);
}

int nf_iter_next(struct nf_iter *it, struct nf_item *item)
{
	if (!it->priv.codec)
		return it->priv.rc;
	return it->priv.codec->iter_next(it, item);
}

const char *nf_err_str(int ecode)
{
	return ecode >= 0 && ecode < NF_E_MAX_ && nf_err_msg[ecode] ? nf_err_msg[ecode] : "unknown";
}

const char *nf_iter_err(const struct nf_iter *it)
{
	if (it->priv.ecode == NF_E_NONE && it->priv.rc != ERR_OK)
		return err_str(it->priv.rc);
	return nf_err_str(it->priv.ecode);
}

int nf_iter_ecode(const struct nf_iter *it)
{
	return it->priv.ecode;
}

int nf_item_flowrec(const struct nf_iter *it, const struct nf_item *item, struct flowrec *r)
{
	if (item->kind != NF_ITEM_DATA || !item->t)
		return ERR_ARG;
	struct rec_dec c = { .export_us = it->hdr.export_us, .sysup_ms = it->hdr.sysup_ms };
	return tmpl_get_flowrec(item->t, item->p, item->len, &c, r);
}
