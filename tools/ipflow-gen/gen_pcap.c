/* gen_pcap.c — see gen_pcap.h. */
#include "gen_pcap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"

#define PCAP_BUF (4u << 20)
#define PCAP_REC_HDR 16

static void pcap_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void pcap_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static int pcap_flush(struct gen_pcap *w)
{
	if (w->len && fwrite(w->buf, 1, w->len, w->f) != w->len) {
		w->len = 0;
		return ERR_IO;
	}
	w->len = 0;
	return ERR_OK;
}

int gen_pcap_open(struct gen_pcap *w, const char *path, uint32_t snaplen)
{
	memset(w, 0, sizeof(*w));
	w->snaplen = snaplen;
	w->buf = malloc(PCAP_BUF);
	if (!w->buf)
		return ERR_NOMEM;
	w->cap = PCAP_BUF;
	if (strcmp(path, "-") == 0) {
		w->f = stdout;
	} else {
		w->f = fopen(path, "wb");
		if (!w->f)
			return ERR_IO;
		w->own = 1;
	}
	uint8_t *h = w->buf;
	pcap_le32(h, 0xa1b2c3d4);
	pcap_le16(h + 4, 2);
	pcap_le16(h + 6, 4);
	pcap_le32(h + 8, 0);  /* thiszone */
	pcap_le32(h + 12, 0); /* sigfigs */
	pcap_le32(h + 16, snaplen);
	pcap_le32(h + 20, 1); /* LINKTYPE_ETHERNET */
	w->len = 24;
	return ERR_OK;
}

uint8_t *gen_pcap_frame(struct gen_pcap *w, size_t max)
{
	if (w->cap - w->len < PCAP_REC_HDR + max && pcap_flush(w) != ERR_OK)
		return NULL;
	return w->buf + w->len + PCAP_REC_HDR;
}

void gen_pcap_commit(struct gen_pcap *w, uint64_t ts_us, size_t orig_len)
{
	uint8_t *h = w->buf + w->len;
	size_t incl = orig_len < w->snaplen ? orig_len : w->snaplen;

	pcap_le32(h, (uint32_t)(ts_us / 1000000));
	pcap_le32(h + 4, (uint32_t)(ts_us % 1000000));
	pcap_le32(h + 8, (uint32_t)incl);
	pcap_le32(h + 12, (uint32_t)orig_len);
	w->len += PCAP_REC_HDR + incl;
	w->records++;
}

int gen_pcap_close(struct gen_pcap *w)
{
	int r = ERR_OK;

	if (w->f) {
		if (pcap_flush(w) != ERR_OK)
			r = ERR_IO;
		if (fflush(w->f) != 0 || ferror(w->f))
			r = ERR_IO;
		if (w->own && fclose(w->f) != 0)
			r = ERR_IO;
	}
	free(w->buf);
	memset(w, 0, sizeof(*w));
	return r;
}
