/* gen_truth.c — see gen_truth.h. */
#include "gen_truth.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/hash.h"

#define TRUTH_BUF (1u << 20)
#define TRUTH_ROW 160 /* longest row: two IPv6 addresses and nine numbers */
#define TRUTH_HASH_SEED 0x69706677u

static char *truth_u64(char *p, uint64_t v)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *truth_addr(char *p, uint8_t af, const uint8_t *a)
{
	if (!inet_ntop(af == 4 ? AF_INET : AF_INET6, a, p, INET6_ADDRSTRLEN))
		abort();
	return p + strlen(p);
}

/* "af,src,dst,sport,dport,proto,tos" without a terminator. */
static char *truth_keytext(char *p, const struct gen_key *k)
{
	p = truth_u64(p, k->af);
	*p++ = ',';
	p = truth_addr(p, k->af, k->src);
	*p++ = ',';
	p = truth_addr(p, k->af, k->dst);
	*p++ = ',';
	p = truth_u64(p, k->sport);
	*p++ = ',';
	p = truth_u64(p, k->dport);
	*p++ = ',';
	p = truth_u64(p, k->proto);
	*p++ = ',';
	return truth_u64(p, k->tos);
}

static int truth_rehash(struct gen_truth *t, uint32_t nslots)
{
	uint32_t *s = calloc(nslots, sizeof(*s));
	if (!s)
		return ERR_NOMEM;
	free(t->slot);
	t->slot = s;
	t->mask = nslots - 1;
	for (uint32_t i = 0; i < t->n; i++) {
		uint32_t h = (uint32_t)hash_bytes(&t->e[i].k, sizeof(t->e[i].k), TRUTH_HASH_SEED);
		while (s[h & t->mask])
			h++;
		s[h & t->mask] = i + 1;
	}
	return ERR_OK;
}

int gen_truth_init(struct gen_truth *t, FILE *pkt)
{
	static const char hdr[] = "ts_us,af,src,dst,sport,dport,proto,tos,ip_len,tcp_flags\n";

	memset(t, 0, sizeof(*t));
	t->cap = 1u << 14;
	t->e = malloc(t->cap * sizeof(*t->e));
	if (!t->e || truth_rehash(t, 2 * t->cap) != ERR_OK)
		return ERR_NOMEM;
	t->pkt = pkt;
	if (pkt) {
		t->pbuf = malloc(TRUTH_BUF);
		if (!t->pbuf)
			return ERR_NOMEM;
		memcpy(t->pbuf, hdr, sizeof(hdr) - 1);
		t->plen = sizeof(hdr) - 1;
	}
	return ERR_OK;
}

void gen_truth_free(struct gen_truth *t)
{
	free(t->e);
	free(t->slot);
	free(t->pbuf);
	memset(t, 0, sizeof(*t));
}

int gen_truth_key(struct gen_truth *t, const struct gen_key *k, uint32_t *idx)
{
	uint32_t h = (uint32_t)hash_bytes(k, sizeof(*k), TRUTH_HASH_SEED);

	for (;; h++) {
		uint32_t s = t->slot[h & t->mask];
		if (!s)
			break;
		if (memcmp(&t->e[s - 1].k, k, sizeof(*k)) == 0) {
			*idx = s - 1;
			return ERR_OK;
		}
	}
	if (t->n == t->cap) {
		if (t->cap >= 1u << 30)
			return ERR_FULL;
		struct gen_truth_ent *e = realloc(t->e, 2 * (size_t)t->cap * sizeof(*e));
		if (!e)
			return ERR_NOMEM;
		t->e = e;
		t->cap *= 2;
		int r = truth_rehash(t, 2 * t->cap);
		if (r != ERR_OK)
			return r;
		h = (uint32_t)hash_bytes(k, sizeof(*k), TRUTH_HASH_SEED);
		while (t->slot[h & t->mask])
			h++;
	}
	struct gen_truth_ent *e = &t->e[t->n];
	memset(e, 0, sizeof(*e));
	e->k = *k;
	t->slot[h & t->mask] = ++t->n;
	*idx = t->n - 1;
	return ERR_OK;
}

static void truth_pkt_flush(struct gen_truth *t)
{
	if (t->plen && fwrite(t->pbuf, 1, t->plen, t->pkt) != t->plen)
		t->pkt_err = 1;
	t->plen = 0;
}

void gen_truth_packet_row(struct gen_truth *t, uint32_t idx, uint64_t ts_us, uint16_t ip_len,
			  uint8_t tcp_flags)
{
	if (TRUTH_BUF - t->plen < TRUTH_ROW)
		truth_pkt_flush(t);
	char *p = t->pbuf + t->plen;
	p = truth_u64(p, ts_us);
	*p++ = ',';
	p = truth_keytext(p, &t->e[idx].k);
	*p++ = ',';
	p = truth_u64(p, ip_len);
	*p++ = ',';
	p = truth_u64(p, tcp_flags);
	*p++ = '\n';
	t->plen = (size_t)(p - t->pbuf);
}

int gen_truth_finish_packets(struct gen_truth *t)
{
	if (!t->pkt)
		return ERR_OK;
	truth_pkt_flush(t);
	if (fflush(t->pkt) != 0 || ferror(t->pkt))
		t->pkt_err = 1;
	return t->pkt_err ? ERR_IO : ERR_OK;
}

static int truth_cmp(const void *a, const void *b)
{
	const struct gen_truth_ent *x = a, *y = b;
	char tx[TRUTH_ROW], ty[TRUTH_ROW];

	if (x->first_us != y->first_us)
		return x->first_us < y->first_us ? -1 : 1;
	*truth_keytext(tx, &x->k) = 0;
	*truth_keytext(ty, &y->k) = 0;
	return strcmp(tx, ty);
}

int gen_truth_write_flows(struct gen_truth *t, FILE *f)
{
	static const char hdr[] = "af,src,dst,sport,dport,proto,tos,packets,bytes,first_us,last_us\n";
	char *buf = malloc(TRUTH_BUF);
	size_t len = 0;
	int err = 0;

	if (!buf)
		return ERR_NOMEM;
	free(t->slot);
	t->slot = NULL;
	qsort(t->e, t->n, sizeof(*t->e), truth_cmp);
	memcpy(buf, hdr, sizeof(hdr) - 1);
	len = sizeof(hdr) - 1;
	for (uint32_t i = 0; i < t->n; i++) {
		const struct gen_truth_ent *e = &t->e[i];
		if (TRUTH_BUF - len < TRUTH_ROW) {
			err |= fwrite(buf, 1, len, f) != len;
			len = 0;
		}
		char *p = truth_keytext(buf + len, &e->k);
		*p++ = ',';
		p = truth_u64(p, e->packets);
		*p++ = ',';
		p = truth_u64(p, e->bytes);
		*p++ = ',';
		p = truth_u64(p, e->first_us);
		*p++ = ',';
		p = truth_u64(p, e->last_us);
		*p++ = '\n';
		len = (size_t)(p - buf);
	}
	err |= fwrite(buf, 1, len, f) != len;
	err |= fflush(f) != 0 || ferror(f);
	free(buf);
	return err ? ERR_IO : ERR_OK;
}
