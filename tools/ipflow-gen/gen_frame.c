/* gen_frame.c — header templates and per-packet frame writing.
 *
 * Wire formats: Ethernet II, 802.1Q (IEEE 802.1Q), QinQ (802.1ad S-tag
 * 0x88a8 over C-tag 0x8100), MPLS (RFC 3032), IPv4 (RFC 791), IPv6 (RFC
 * 8200), TCP (RFC 9293), UDP (RFC 768), ICMP (RFC 792), ICMPv6 (RFC 4443),
 * IGMPv2 (RFC 2236), IGMPv3 (RFC 3376), GRE (RFC 2784), ESP (RFC 4303),
 * DNS (RFC 1035, EDNS RFC 6891). */
#include "gen_frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/bytes.h"

/* ---- payload pattern ---------------------------------------------------- */

/* Largest payload offset (2046) plus the largest datagram (9000). */
#define PAT_LEN 12288

static uint8_t frame_pat[PAT_LEN];
/* frame_pat_sum[i]: sum of the first i big-endian 16-bit words. */
static uint32_t frame_pat_sum[PAT_LEN / 2 + 1];

void gen_frame_init(uint64_t seed)
{
	struct gen_rng r;
	gen_rng_seed(&r, seed ^ 0x7061796c6f6164ull);
	for (size_t i = 0; i < PAT_LEN; i += 8)
		poke_u64(frame_pat + i, gen_rng_u64(&r));
	frame_pat_sum[0] = 0;
	for (size_t i = 0; i < PAT_LEN / 2; i++)
		frame_pat_sum[i + 1] = frame_pat_sum[i] + peek_u16(frame_pat + 2 * i);
}

/* Unfolded checksum sum of len pattern bytes from even offset off (valid
 * where they sit at an even offset of the checksummed range). */
static uint64_t frame_payload_sum(size_t off, size_t len)
{
	if (off + len > PAT_LEN || (off & 1))
		abort();
	uint64_t sum = frame_pat_sum[(off + len) / 2] - frame_pat_sum[off / 2];
	if (len & 1)
		sum += (uint32_t)frame_pat[off + len - 1] << 8;
	return sum;
}

/* Copy len pattern bytes from even offset off to dst; returns their sum. */
static uint64_t frame_payload(uint8_t *dst, size_t off, size_t len)
{
	uint64_t sum = frame_payload_sum(off, len);
	memcpy(dst, frame_pat + off, len);
	return sum;
}

/* ---- checksums (RFC 1071) ----------------------------------------------- */

static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t n)
{
	for (; n >= 2; p += 2, n -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (n)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Pseudo-header of TCP/UDP/ICMPv6 (RFC 768, RFC 8200 §8.1). */
static uint64_t csum_pseudo(uint8_t af, const uint8_t *src, const uint8_t *dst, uint8_t proto,
			    uint32_t len)
{
	unsigned alen = af == 4 ? 4 : 16;
	uint64_t sum = csum_add(0, src, alen);
	sum = csum_add(sum, dst, alen);
	return sum + proto + (len >> 16) + (len & 0xffff);
}

/* ---- templates ----------------------------------------------------------- */

struct frame_optbytes {
	uint8_t len;
	uint8_t b[12];
};

/* IPv4 options, by enum gen_v4opt. */
static const struct frame_optbytes frame_v4opts[GEN_V4OPT_COUNT] = {
	[GEN_V4OPT_NONE] = { 0, { 0 } },
	[GEN_V4OPT_RA] = { 4, { 0x94, 0x04, 0x00, 0x00 } },
	[GEN_V4OPT_RR] = { 12, { 0x07, 0x0b, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0x00 } },
	[GEN_V4OPT_TS] = { 12, { 0x44, 0x0c, 0x05, 0x00, 0, 0, 0, 0, 0, 0, 0, 0 } },
};

/* IPv6 extension headers: protocol number and bytes after the next-header
 * byte (the SRH segment is filled with the destination). */
struct frame_v6ext {
	uint8_t proto;
	uint8_t len;
	uint8_t b[7];
};

static const struct frame_v6ext frame_v6exts[GEN_V6EXT_COUNT] = {
	[GEN_V6EXT_HBH] = { 0, 8, { 0x00, 0x01, 0x04, 0, 0, 0, 0 } },
	[GEN_V6EXT_HBH_RA] = { 0, 8, { 0x00, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00 } },
	[GEN_V6EXT_DST] = { 60, 8, { 0x00, 0x01, 0x04, 0, 0, 0, 0 } },
	[GEN_V6EXT_DST_TEL] = { 60, 8, { 0x00, 0x04, 0x01, 0x04, 0x01, 0x01, 0x00 } },
	/* hdr ext len 2, type 4, segments left 0, last entry 0, flags 0, tag 0 */
	[GEN_V6EXT_SRH] = { 43, 24, { 0x02, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00 } },
};

/* IPv4 don't-fragment, by kind (what common stacks do). */
static const uint8_t frame_df[GEN_K_COUNT] = {
	[GEN_K_TCP] = 1, [GEN_K_UDP] = 1, [GEN_K_ECHO] = 1, [GEN_K_GRE] = 1,
};

static void tmpl_put(struct wbuf *w, const void *p, size_t n)
{
	if (wbuf_put_bytes(w, p, n) != ERR_OK)
		abort();
}

static void tmpl_u8(struct wbuf *w, uint8_t v)
{
	tmpl_put(w, &v, 1);
}

static void tmpl_u16(struct wbuf *w, uint16_t v)
{
	if (wbuf_put_u16(w, v) != ERR_OK)
		abort();
}

static void tmpl_u32(struct wbuf *w, uint32_t v)
{
	if (wbuf_put_u32(w, v) != ERR_OK)
		abort();
}

static void tmpl_l2(struct wbuf *w, const struct gen_flow *f, const struct gen_tmpl_spec *s)
{
	uint16_t ip_type = f->af == 4 ? 0x0800 : 0x86dd;

	tmpl_put(w, s->mac_dst, 6);
	tmpl_put(w, s->mac_src, 6);
	switch (f->encap) {
	case GEN_L2_PLAIN:
		break;
	case GEN_L2_VLAN:
		tmpl_u16(w, 0x8100);
		tmpl_u16(w, (uint16_t)(s->pcp << 13 | s->vid[0]));
		break;
	case GEN_L2_QINQ:
		tmpl_u16(w, 0x88a8);
		tmpl_u16(w, (uint16_t)(s->pcp << 13 | s->vid[0]));
		tmpl_u16(w, 0x8100);
		tmpl_u16(w, (uint16_t)(s->pcp << 13 | s->vid[1]));
		break;
	case GEN_L2_MPLS:
		tmpl_u16(w, 0x8847);
		for (unsigned i = 0; i < s->nlabels; i++)
			tmpl_u32(w, s->label[i] << 12 | (uint32_t)s->mpls_tc << 9 |
					    (uint32_t)(i + 1 == s->nlabels) << 8 | s->mpls_ttl);
		return; /* no ethertype: the payload follows the bottom label */
	default:
		abort();
	}
	tmpl_u16(w, ip_type);
}

/* IPv4 header of f (lengths, id and checksum left zero). */
static void tmpl_ipv4(struct wbuf *w, const struct gen_flow *f, uint8_t proto,
		      const struct frame_optbytes *opt)
{
	tmpl_u8(w, (uint8_t)(0x45 + opt->len / 4));
	tmpl_u8(w, f->tos[0]);
	tmpl_u32(w, 0);
	tmpl_u16(w, 0);
	tmpl_u8(w, f->ttl[0]);
	tmpl_u8(w, proto);
	tmpl_u16(w, 0);
	tmpl_put(w, f->src, 4);
	tmpl_put(w, f->dst, 4);
	tmpl_put(w, opt->b, opt->len);
}

static void tmpl_ipv6(struct wbuf *w, struct gen_flow *f, const struct gen_tmpl_spec *s,
		      uint8_t proto)
{
	size_t start = wbuf_mark(w);
	uint8_t first = s->nv6ext ? frame_v6exts[s->v6ext[0]].proto : proto;

	tmpl_u32(w, 6u << 28 | (uint32_t)f->tos[0] << 20 | (s->flow_label & 0xfffff));
	tmpl_u16(w, 0);
	tmpl_u8(w, first);
	tmpl_u8(w, f->ttl[0]);
	tmpl_put(w, f->src, 16);
	tmpl_put(w, f->dst, 16);
	f->nh_off = (uint8_t)(start + 6);
	for (unsigned i = 0; i < s->nv6ext; i++) {
		const struct frame_v6ext *e = &frame_v6exts[s->v6ext[i]];
		f->nh_off = (uint8_t)wbuf_mark(w);
		tmpl_u8(w, i + 1 < s->nv6ext ? frame_v6exts[s->v6ext[i + 1]].proto : proto);
		tmpl_put(w, e->b, 7);
		if (e->len == 24) {
			f->rh_off = (uint8_t)wbuf_mark(w);
			tmpl_put(w, f->dst, 16);
		}
	}
}

void gen_frame_template(struct gen_flow *f, const struct gen_tmpl_spec *s)
{
	struct wbuf w;
	bool gre = f->kind == GEN_K_GRE;

	wbuf_init(&w, f->tmpl, sizeof(f->tmpl));
	f->rh_off = 0;
	f->inner_off = 0;
	tmpl_l2(&w, f, s);
	f->l3_off = (uint8_t)wbuf_mark(&w);
	if (f->af == 4) {
		tmpl_ipv4(&w, f, f->proto, &frame_v4opts[s->v4opt]);
		f->nh_off = (uint8_t)(f->l3_off + 9);
	} else {
		tmpl_ipv6(&w, f, s, f->proto);
	}
	f->l3_len = (uint8_t)(wbuf_mark(&w) - f->l3_off);
	if (gre) {
		static const struct frame_optbytes none = { 0, { 0 } };
		struct gen_flow inner = { 0 };

		tmpl_u16(&w, 0x0000); /* no checksum, key or sequence; version 0 */
		tmpl_u16(&w, 0x0800);
		f->inner_off = (uint8_t)wbuf_mark(&w);
		memcpy(inner.src, f->u.gre.inner[0], 4);
		memcpy(inner.dst, f->u.gre.inner[1], 4);
		inner.ttl[0] = 64;
		tmpl_ipv4(&w, &inner, 17, &none);
	}
	f->tmpl_len = (uint8_t)wbuf_mark(&w);
}

unsigned gen_frame_overhead(const struct gen_flow *f)
{
	static const uint8_t l4[GEN_K_COUNT] = {
		[GEN_K_TCP] = 20, [GEN_K_DNS] = 8,  [GEN_K_UDP] = 8,     [GEN_K_FRAG] = 8,
		[GEN_K_ECHO] = 8, [GEN_K_ICMPERR] = 8, [GEN_K_IGMP] = 8, [GEN_K_GRE] = 8,
		[GEN_K_ESP] = 8,
	};
	return (unsigned)(f->tmpl_len - f->l3_off) + l4[f->kind];
}

/* ---- transport writers --------------------------------------------------- */

/* What a transport writer gets: the packet's addresses (after turning
 * around) for pseudo-headers. */
struct frame_ctx {
	const uint8_t *src, *dst;
	uint8_t af;
};

/* A transport writer lays out everything after the template (and after
 * an IPv6 fragment header) and returns its length. */
typedef size_t (*frame_l4_fn)(const struct gen_flow *f, const struct gen_pkt *p,
			      const struct frame_ctx *c, uint8_t *l4);

/* HTTP/1.1 heads (RFC 9112). Every variable field is fixed-width, so the
 * POST and response heads have constant lengths; a GET is all head (its
 * Cookie pads it to the message length). */
#define HTTP_RESP "HTTP/1.1 200 OK\r\nServer: ipflow-gen\r\n" \
		  "Content-Type: application/octet-stream\r\nContent-Length: %010u\r\n\r\n"
#define HTTP_POST "POST /upload/%08x HTTP/1.1\r\nHost: www.example.com\r\n" \
		  "Content-Type: application/octet-stream\r\nContent-Length: %010u\r\n\r\n"
#define HTTP_GET "GET /obj/%08x HTTP/1.1\r\nHost: www.example.com\r\n" \
		 "User-Agent: ipflow-gen\r\nAccept: */*\r\nCookie: "
/* Lengths of the formatted heads ("%010u" and "%08x" print 10 and 8). */
#define HTTP_RESP_LEN (sizeof(HTTP_RESP) - 1 - 5 + 10)
#define HTTP_POST_LEN (sizeof(HTTP_POST) - 1 - 4 + 8 - 5 + 10)
#define HTTP_GET_LEN (sizeof(HTTP_GET) - 1 - 4 + 8 + 4) /* + "\r\n\r\n" */

/* The head of the message segment p belongs to, into head (room for
 * GEN_HTTP_POST_MIN bytes); returns its length. */
static size_t frame_http_head(const struct gen_pkt *p, char *head)
{
	uint32_t total = p->msg_len;
	unsigned id = p->seq - p->msg_off; /* the message's first sequence number */

	if (p->dir) {
		snprintf(head, GEN_HTTP_POST_MIN, HTTP_RESP, (unsigned)(total - HTTP_RESP_LEN));
		return HTTP_RESP_LEN;
	}
	if (total >= GEN_HTTP_POST_MIN) {
		snprintf(head, GEN_HTTP_POST_MIN, HTTP_POST, id, (unsigned)(total - HTTP_POST_LEN));
		return HTTP_POST_LEN;
	}
	int n = snprintf(head, GEN_HTTP_POST_MIN, HTTP_GET, id);
	memset(head + n, 'c', total - HTTP_GET_LEN);
	memcpy(head + n + (total - HTTP_GET_LEN), "\r\n\r\n", 4);
	return total;
}

/* Write the p->len bytes of HTTP message data of segment p; returns
 * their checksum sum. Bodies are pattern bytes. */
static uint64_t frame_http(const struct gen_pkt *p, uint8_t *dst)
{
	_Static_assert(HTTP_RESP_LEN < GEN_HTTP_MIN && HTTP_GET_LEN < GEN_HTTP_MIN &&
			       HTTP_POST_LEN < GEN_HTTP_POST_MIN,
		       "HTTP heads must fit the smallest messages");
	size_t hl = p->dir ? HTTP_RESP_LEN : p->msg_len >= GEN_HTTP_POST_MIN ? HTTP_POST_LEN : p->msg_len;
	if (p->msg_off >= hl)
		return frame_payload(dst, 0, p->len);

	char head[GEN_HTTP_POST_MIN];
	frame_http_head(p, head);
	size_t n = hl - p->msg_off < p->len ? hl - p->msg_off : p->len;
	memcpy(dst, head + p->msg_off, n);
	memcpy(dst + n, frame_pat, p->len - n);
	return csum_add(0, dst, p->len);
}

static size_t frame_tcp(const struct gen_flow *f, const struct gen_pkt *p,
			const struct frame_ctx *c, uint8_t *l4)
{
	/* SYN options: MSS, NOP, window scale 7, NOP, NOP, SACK permitted. */
	static const uint8_t synopt[12] = { 2, 4, 0, 0, 1, 3, 3, 7, 1, 1, 4, 2 };
	size_t hl = p->tcp_syn ? 32 : 20;

	poke_u16(l4, p->dir ? f->dport : f->sport);
	poke_u16(l4 + 2, p->dir ? f->sport : f->dport);
	poke_u32(l4 + 4, p->seq);
	poke_u32(l4 + 8, p->ack);
	l4[12] = (uint8_t)(hl / 4 << 4);
	l4[13] = p->tcp_flags;
	poke_u16(l4 + 14, f->u.tcp.win[p->dir]);
	poke_u32(l4 + 16, 0); /* checksum, urgent pointer */
	if (p->tcp_syn) {
		memcpy(l4 + 20, synopt, sizeof(synopt));
		poke_u16(l4 + 22, f->u.tcp.mss);
	}
	uint64_t sum = csum_add(0, l4, hl);
	if (f->u.tcp.http && p->len)
		sum += frame_http(p, l4 + hl);
	else
		sum += frame_payload(l4 + hl, (p->seq & 0x3ff) << 1, p->len);
	sum += csum_pseudo(c->af, c->src, c->dst, 6, (uint32_t)(hl + p->len));
	poke_u16(l4 + 16, csum_fold(sum));
	return hl + p->len;
}

static void frame_udp_csum(uint8_t *l4, uint64_t sum)
{
	uint16_t ck = csum_fold(sum);
	poke_u16(l4 + 6, ck ? ck : 0xffff);
}

/* DNS query names: <label><n>.example.<tld>, all under RFC 2606 names. */
static const char *const frame_dns_host[8] = { "www", "api", "cdn", "mail",
					       "img", "static", "login", "m" };
static const char *const frame_dns_tld[3] = { "com", "net", "org" };

static size_t frame_dns_label(uint8_t *d, const char *s)
{
	size_t n = strlen(s);
	d[0] = (uint8_t)n;
	memcpy(d + 1, s, n);
	return n + 1;
}

/* A DNS message (RFC 1035 §4): p->msg 0/2 query A/AAAA, 1/3 response. */
static size_t frame_dns(const struct gen_flow *f, const struct gen_pkt *p, uint8_t *d)
{
	static const uint8_t opt_rr[11] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0 };
	unsigned name = f->u.dns.name;
	bool resp = p->msg & 1;
	bool aaaa = p->msg >= 2;
	unsigned an = resp && !f->u.dns.nxdomain ? f->u.dns.answers : 0;
	char host[16];
	size_t n = 12;

	poke_u16(d, (uint16_t)p->seq);
	poke_u16(d + 2, resp ? (uint16_t)(0x8180 | (f->u.dns.nxdomain ? 3 : 0)) : 0x0100);
	poke_u16(d + 4, 1);
	poke_u16(d + 6, (uint16_t)an);
	poke_u16(d + 8, 0);
	poke_u16(d + 10, 1);
	if (name & 8) {
		host[0] = 0;
		strcat(host, frame_dns_host[name & 7]);
		size_t hl = strlen(host);
		unsigned num = (name >> 4) % 100;
		host[hl++] = (char)('0' + num / 10);
		host[hl++] = (char)('0' + num % 10);
		host[hl] = 0;
		n += frame_dns_label(d + n, host);
	} else {
		n += frame_dns_label(d + n, frame_dns_host[name & 7]);
	}
	n += frame_dns_label(d + n, "example");
	n += frame_dns_label(d + n, frame_dns_tld[(name >> 11) % 3]);
	d[n++] = 0;
	poke_u16(d + n, aaaa ? 28 : 1);
	poke_u16(d + n + 2, 1);
	n += 4;
	for (unsigned i = 0; i < an; i++) {
		poke_u16(d + n, 0xc00c); /* the question's name */
		poke_u16(d + n + 2, aaaa ? 28 : 1);
		poke_u16(d + n + 4, 1);
		poke_u32(d + n + 6, 300);
		poke_u16(d + n + 10, aaaa ? 16 : 4);
		n += 12;
		if (aaaa) {
			static const uint8_t pfx[8] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x53, 0, 0 };
			memcpy(d + n, pfx, 8);
			poke_u32(d + n + 8, 0);
			poke_u16(d + n + 12, (uint16_t)name);
			poke_u16(d + n + 14, (uint16_t)(i + 1));
			n += 16;
		} else {
			d[n] = 203;
			d[n + 1] = 0;
			d[n + 2] = 113;
			d[n + 3] = (uint8_t)(1 + (name + i) % 254);
			n += 4;
		}
	}
	memcpy(d + n, opt_rr, sizeof(opt_rr));
	return n + sizeof(opt_rr);
}

static size_t frame_udp(const struct gen_flow *f, const struct gen_pkt *p,
			const struct frame_ctx *c, uint8_t *l4)
{
	size_t plen;
	uint64_t sum;

	if (p->frag == GEN_FRAG_LATER) {
		/* A piece of the datagram without the UDP header. */
		frame_payload(l4, p->frag_off - 8u, p->frag_len);
		return p->frag_len;
	}
	poke_u16(l4, p->dir ? f->dport : f->sport);
	poke_u16(l4 + 2, p->dir ? f->sport : f->dport);
	poke_u32(l4 + 4, 0);
	if (f->kind == GEN_K_DNS) {
		plen = frame_dns(f, p, l4 + 8);
		sum = csum_add(0, l4 + 8, plen);
	} else if (p->frag == GEN_FRAG_FIRST) {
		/* The checksum covers the whole datagram: sum all of its payload,
		 * copy only this piece. */
		plen = p->frag_len - 8u;
		sum = frame_payload_sum(0, p->dgram_len - 8u);
		memcpy(l4 + 8, frame_pat, plen);
	} else {
		plen = p->len;
		sum = frame_payload(l4 + 8, 0, plen);
	}
	uint16_t ulen = p->frag == GEN_FRAG_FIRST ? p->dgram_len : (uint16_t)(plen + 8);
	poke_u16(l4 + 4, ulen);
	sum = csum_add(sum, l4, 8);
	sum += csum_pseudo(c->af, c->src, c->dst, 17, ulen);
	frame_udp_csum(l4, sum);
	return plen + 8;
}

static size_t frame_echo(const struct gen_flow *f, const struct gen_pkt *p,
			 const struct frame_ctx *c, uint8_t *l4)
{
	l4[0] = p->icmp_type;
	l4[1] = p->icmp_code;
	poke_u16(l4 + 2, 0);
	poke_u16(l4 + 4, f->u.echo.id);
	poke_u16(l4 + 6, (uint16_t)p->seq);
	uint64_t sum = csum_add(0, l4, 8) + frame_payload(l4 + 8, 0, p->len);
	if (c->af == 6)
		sum += csum_pseudo(6, c->src, c->dst, 58, 8u + p->len);
	poke_u16(l4 + 2, csum_fold(sum));
	return 8u + p->len;
}

/* The quoted packet of an ICMP error: the client's UDP probe to a
 * target, IP header and the first 8 bytes of UDP (RFC 792, RFC 4443 §3). */
static size_t frame_quote(const struct gen_flow *f, const struct frame_ctx *c, uint8_t *q)
{
	static const uint8_t far_ttl[2] = { 1, 64 };
	const uint8_t *probe_src = c->dst;
	uint8_t target[16];
	bool ttl_err = (c->af == 4 && f->u.err.type == 11) || (c->af == 6 && f->u.err.type == 3);
	size_t n;

	/* The reporter is the target itself or a router before it. */
	memcpy(target, f->src, 16);
	if (f->u.err.via_router)
		target[c->af == 4 ? 3 : 15] ^= 0x80;
	if (c->af == 4) {
		q[0] = 0x45;
		q[1] = 0;
		poke_u16(q + 2, 60);
		poke_u16(q + 4, (uint16_t)(f->sport ^ f->dport));
		poke_u16(q + 6, 0);
		q[8] = far_ttl[!ttl_err];
		q[9] = 17;
		poke_u16(q + 10, 0);
		memcpy(q + 12, probe_src, 4);
		memcpy(q + 16, target, 4);
		poke_u16(q + 10, csum_fold(csum_add(0, q, 20)));
		n = 20;
	} else {
		poke_u32(q, 6u << 28);
		poke_u16(q + 4, 40);
		q[6] = 17;
		q[7] = far_ttl[!ttl_err];
		memcpy(q + 8, probe_src, 16);
		memcpy(q + 24, target, 16);
		n = 40;
	}
	poke_u16(q + n, f->sport);
	poke_u16(q + n + 2, f->dport);
	poke_u16(q + n + 4, 40);
	poke_u16(q + n + 6, (uint16_t)(0x5a5a ^ f->sport));
	return n + 8;
}

static size_t frame_icmperr(const struct gen_flow *f, const struct gen_pkt *p,
			    const struct frame_ctx *c, uint8_t *l4)
{
	l4[0] = p->icmp_type;
	l4[1] = p->icmp_code;
	poke_u16(l4 + 2, 0);
	poke_u32(l4 + 4, 0);
	if (c->af == 4 && p->icmp_type == 3 && p->icmp_code == 4)
		poke_u16(l4 + 6, 1400); /* next-hop MTU (RFC 1191) */
	if (c->af == 6 && p->icmp_type == 2)
		poke_u32(l4 + 4, 1280); /* MTU */
	size_t n = 8 + frame_quote(f, c, l4 + 8);
	uint64_t sum = csum_add(0, l4, n);
	if (c->af == 6)
		sum += csum_pseudo(6, c->src, c->dst, 58, (uint32_t)n);
	poke_u16(l4 + 2, csum_fold(sum));
	return n;
}

static size_t frame_igmp(const struct gen_flow *f, const struct gen_pkt *p,
			 const struct frame_ctx *c, uint8_t *l4)
{
	/* IGMPv3 record types (RFC 3376 §4.2.12) by message, without / with sources. */
	static const uint8_t v3type[3][2] = { { 4, 5 }, { 2, 1 }, { 3, 6 } };
	uint32_t group = f->u.igmp.group;
	size_t n;

	if (f->u.igmp.version == 2) {
		l4[0] = p->msg == GEN_IGMP_LEAVE ? 0x17 : 0x16;
		l4[1] = 0;
		poke_u16(l4 + 2, 0);
		poke_u32(l4 + 4, group);
		n = 8;
	} else {
		unsigned nsrc = f->u.igmp.nsrc;
		bool with = nsrc > 0;
		l4[0] = 0x22;
		l4[1] = 0;
		poke_u16(l4 + 2, 0);
		poke_u16(l4 + 4, 0);
		poke_u16(l4 + 6, 1);
		l4[8] = v3type[p->msg][with];
		l4[9] = 0;
		poke_u16(l4 + 10, (uint16_t)nsrc);
		poke_u32(l4 + 12, group);
		n = 16;
		for (unsigned i = 0; i < nsrc; i++, n += 4)
			poke_u32(l4 + n, 0xc0000200u | (1 + (group + i) % 254)); /* 192.0.2.x */
	}
	poke_u16(l4 + 2, csum_fold(csum_add(0, l4, n)));
	(void)c;
	return n;
}

static size_t frame_gre(const struct gen_flow *f, const struct gen_pkt *p,
			const struct frame_ctx *c, uint8_t *l4)
{
	/* The template ends with the inner IPv4 header; l4 is its payload. */
	uint8_t *in = l4 - 20;
	uint16_t ulen = (uint16_t)(8 + p->len);

	poke_u16(in + 2, (uint16_t)(20 + ulen));
	poke_u16(in + 4, p->ipid);
	poke_u16(in + 10, 0);
	poke_u16(in + 10, csum_fold(csum_add(0, in, 20)));
	poke_u16(l4, f->u.gre.iport[p->dir]);
	poke_u16(l4 + 2, f->u.gre.iport[!p->dir]);
	poke_u16(l4 + 4, ulen);
	poke_u16(l4 + 6, 0); /* no checksum: allowed over IPv4 */
	frame_payload(l4 + 8, 0, p->len);
	(void)c;
	return ulen;
}

static size_t frame_esp(const struct gen_flow *f, const struct gen_pkt *p,
			const struct frame_ctx *c, uint8_t *l4)
{
	poke_u32(l4, f->u.esp.spi[p->dir]);
	poke_u32(l4 + 4, p->seq);
	frame_payload(l4 + 8, 0, p->len);
	(void)c;
	return 8u + p->len;
}

static const frame_l4_fn frame_l4[GEN_K_COUNT] = {
	[GEN_K_TCP] = frame_tcp,   [GEN_K_DNS] = frame_udp,  [GEN_K_UDP] = frame_udp,
	[GEN_K_FRAG] = frame_udp,  [GEN_K_ECHO] = frame_echo, [GEN_K_ICMPERR] = frame_icmperr,
	[GEN_K_IGMP] = frame_igmp, [GEN_K_GRE] = frame_gre,  [GEN_K_ESP] = frame_esp,
};

/* ---- the frame ----------------------------------------------------------- */

static void frame_swap(uint8_t *a, uint8_t *b, size_t n)
{
	uint8_t t[16];
	memcpy(t, a, n);
	memcpy(a, b, n);
	memcpy(b, t, n);
}

/* Turn the copied forward template around for the reverse direction. */
static void frame_reverse(const struct gen_flow *f, uint8_t *out)
{
	uint8_t *ip = out + f->l3_off;

	frame_swap(out, out + 6, 6);
	if (f->af == 4) {
		frame_swap(ip + 12, ip + 16, 4);
		ip[1] = f->tos[1];
		ip[8] = f->ttl[1];
	} else {
		uint32_t fl = (peek_u32(ip) ^ 0x5a5a5) & 0xfffff;
		poke_u32(ip, 6u << 28 | (uint32_t)f->tos[1] << 20 | fl);
		ip[7] = f->ttl[1];
		frame_swap(ip + 8, ip + 24, 16);
		if (f->rh_off)
			memcpy(out + f->rh_off, f->src, 16);
	}
	if (f->inner_off)
		frame_swap(out + f->inner_off + 12, out + f->inner_off + 16, 4);
}

size_t gen_frame_write(const struct gen_flow *f, const struct gen_pkt *p, uint8_t *out,
		       uint16_t *ip_len)
{
	static const uint8_t all_routers[16] = { 224, 0, 0, 2 };
	static const uint8_t all_routers_mac[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x02 };
	struct frame_ctx c = { p->dir ? f->dst : f->src, p->dir ? f->src : f->dst, f->af };
	uint8_t *ip = out + f->l3_off;
	size_t off = f->tmpl_len;

	memcpy(out, f->tmpl, f->tmpl_len);
	if (p->dir)
		frame_reverse(f, out);
	if (p->alt) { /* IGMPv2 leave: to all routers */
		memcpy(out, all_routers_mac, 6);
		memcpy(ip + 16, all_routers, 4);
		c.dst = all_routers;
	}
	if (p->frag != GEN_FRAG_NONE && f->af == 6) {
		/* Fragment header (RFC 8200 §4.5) after the unfragmentable part. */
		uint8_t *fh = out + off;
		fh[0] = out[f->nh_off];
		out[f->nh_off] = 44;
		fh[1] = 0;
		poke_u16(fh + 2, (uint16_t)(p->frag_off | p->frag_more));
		poke_u32(fh + 4, p->frag_id);
		off += 8;
	}
	off += frame_l4[f->kind](f, p, &c, out + off);

	size_t len = off - f->l3_off;
	*ip_len = (uint16_t)len;
	if (f->af == 4) {
		uint16_t fragf = frame_df[f->kind] ? 0x4000 : 0;
		if (p->frag != GEN_FRAG_NONE)
			fragf = (uint16_t)((p->frag_more ? 0x2000 : 0) | p->frag_off / 8);
		poke_u16(ip + 2, (uint16_t)len);
		poke_u16(ip + 4, p->ipid);
		poke_u16(ip + 6, fragf);
		poke_u16(ip + 10, csum_fold(csum_add(0, ip, f->l3_len)));
	} else {
		poke_u16(ip + 4, (uint16_t)(len - 40));
	}
	if (off < 60) {
		memset(out + off, 0, 60 - off);
		off = 60;
	}
	return off;
}
