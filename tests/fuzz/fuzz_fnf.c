/* fuzz_fnf.c — libFuzzer target: frames from the network through the
 * decoder into a Flexible NetFlow cache and a generic v9 or IPFIX
 * exporter, every message read back by our own decoder.
 *
 * Input: byte 0 picks the record (three definitions covering every
 * Catalyst field, from tests/data-like configuration text), the cache type
 * and the format; byte 1 the entries (4..67: small, so emergency expiry
 * and a full permanent cache happen); then frames, each
 *   u16 length, u8 time step (x 100 ms), u8 direction, length bytes (Ethernet).
 * Checks: no crash or sanitizer report; every export message decodes to
 * its end; the packets the records carry add up to the packets metered
 * less those a full cache refused; the cache's counters balance. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/fnf.h"
#include "conf/conf.h"
#include "decode/packet.h"
#include "export/export.h"
#include "export/exporter.h"
#include "lib/bytes.h"
#include "meter/fnf_record.h"
#include "transport/transport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "fuzz_fnf: %s:%d: %s\n", __FILE__, __LINE__, #x); abort(); } } while (0)

static const char conf_text[] =
	"flow record A\n"
	" match datalink dot1q priority\n match datalink dot1q vlan input\n match datalink mac source address input\n"
	" match ipv4 source address\n match ipv4 destination address\n match ipv4 protocol\n match ipv4 tos\n"
	" match ipv4 fragmentation flags\n match ipv4 is-multicast\n match interface input\n match flow direction\n"
	" collect datalink mac destination address output\n collect ipv4 total-length minimum\n"
	" collect ipv4 total-length maximum\n collect ipv4 ttl minimum\n collect ipv4 ttl maximum\n"
	" collect ipv4 fragmentation offset\n collect transport tcp flags\n collect counter bytes\n"
	" collect counter packets long\n collect timestamp sys-uptime first\n collect timestamp absolute last\n"
	" ipflow bucket ttl\n"
	"flow record B\n"
	" match ipv6 source address\n match ipv6 destination address\n match ipv6 flow-label\n match ipv6 next-header\n"
	" match ipv6 protocol\n match transport source-port\n match transport destination-port\n"
	" match transport icmp ipv6 type\n match transport icmp ipv6 code\n match ipv6 hop-limit\n"
	" collect ipv6 payload-length\n collect ipv6 total-length\n collect ipv6 is-multicast\n"
	" collect routing forwarding-status\n collect interface output\n collect counter flows\n"
	" collect counter packets long\n collect counter bytes long\n collect timestamp absolute first\n"
	" ipflow bucket packet-length\n"
	"flow record C\n"
	" match ipv4 total-length\n match transport tcp flags\n match transport udp source-port\n"
	" match transport icmp ipv4 type\n match transport icmp ipv4 code\n match transport igmp type\n"
	" match datalink mac destination address output\n"
	" collect ipv4 source address\n collect ipv6 destination address\n collect datalink dot1q vlan output\n"
	" collect ipv4 dscp\n collect ipv4 precedence\n collect ipv4 version\n collect counter packets\n"
	" collect counter bytes\n collect timestamp sys-uptime last\n"
	" ipflow bucket ttl\n ipflow bucket packet-length\n";

/* A transport that decodes every message it is given. */
struct rx {
	struct transport base;
	struct tmpl_store_mem mem;
	struct tmpl_store ts;
	uint64_t packets; /* packetDeltaCount summed over data records */
	uint64_t records;
};

static int rx_send(struct transport *t, const void *msg, size_t len, unsigned flags)
{
	(void)flags;
	struct rx *r = (struct rx *)t;
	struct nf_iter it;
	struct nf_item item;
	int rc = nf_iter_init(&it, msg, len, &r->ts);
	CHECK(rc == ERR_OK);
	while ((rc = nf_iter_next(&it, &item)) == ERR_OK) {
		if (item.kind != NF_ITEM_DATA || item.t->scope_count)
			continue;
		struct rec_iter ri;
		struct rec_field f;
		rec_iter_init(&ri, item.t, item.p, item.len);
		int frc;
		while ((frc = rec_iter_next(&ri, &f)) == ERR_OK)
			if (f.ie == IE_packetDeltaCount)
				r->packets += peek_uint(f.p, f.len);
		CHECK(frc == ERR_END);
		r->records++;
	}
	CHECK(rc == ERR_END);
	t->st.msgs++;
	return ERR_OK;
}

static void rx_close(struct transport *t)
{
	(void)t;
}

static const struct transport_ops rx_ops = { .scheme = "rx", .send = rx_send, .close = rx_close };

struct ctx {
	struct exporter *ex;
	int h;
	uint64_t now;
};

static void emit(void *arg, const struct genrec *g)
{
	struct ctx *c = arg;
	CHECK(exporter_add_genrec(c->ex, c->h, g, c->now) == ERR_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf *conf;
	if (!conf) {
		conf = conf_parse_text(conf_text, sizeof(conf_text) - 1, "fuzz_fnf", NULL, NULL);
		CHECK(conf);
	}
	if (size < 2)
		return 0;
	static const char *const recs[] = { "A", "B", "C" };
	struct fnf_def d;
	char err[256];
	CHECK(fnf_record_def(conf, recs[data[0] % 3], &d, err, sizeof(err)) == 0);
	struct fnf_cfg cfg = { .entries = 4u + data[1] % 64u, .active_s = 3, .inactive_s = 1,
	                       .type = (enum cache_type)(data[0] / 3 % 3) };
	struct rx rx;
	memset(&rx, 0, sizeof(rx));
	rx.base.ops = &rx_ops;
	rx.base.overhead = 28;
	rx.base.up = true;
	CHECK(tmpl_store_mem_init(&rx.mem, 8) == ERR_OK);
	rx.ts = tmpl_store_mem_iface(&rx.mem);
	struct exporter_cfg xc;
	exporter_cfg_init(&xc, data[0] & 0x80 ? 10 : 9);
	xc.flags = EXPORTER_F_GENERIC;
	xc.export_stats = data[0] & 0x40;
	const uint64_t t0 = 1700000000ull * 1000000u;
	xc.start_us = t0;
	struct ctx c = { .now = t0 };
	c.ex = exporter_new(&xc, &rx.base, err, sizeof(err));
	CHECK(c.ex);
	c.h = exporter_add_tmpl(c.ex, &d.lay, err, sizeof(err));
	CHECK(c.h == 0);
	struct fnf_cache *fc = fnf_new(&d, &cfg, emit, &c);
	CHECK(fc);

	uint64_t t = t0;
	size_t off = 2;
	struct cache_pkt batch[CACHE_BATCH_MAX];
	const struct cache_pkt *pv[CACHE_BATCH_MAX];
	size_t n = 0;
	while (off + 4 <= size) {
		size_t len = peek_u16(data + off);
		t += (uint64_t)data[off + 2] * 100000u;
		uint8_t dir = data[off + 3] & 1;
		off += 4;
		if (len > size - off)
			len = size - off;
		struct cache_pkt *p = &batch[n];
		if (pkt_decode(data + off, len, len, PKT_LINK_EN10MB, &p->pi) == PKT_OK) {
			p->t_us = t;
			p->ifindex = 3;
			p->dir = dir;
			pv[n] = p;
			if (++n == CACHE_BATCH_MAX) {
				c.now = t;
				fnf_packets(fc, pv, n, 1);
				n = 0;
			}
		}
		off += len;
	}
	c.now = t;
	if (n)
		fnf_packets(fc, pv, n, 1);
	fnf_expire(fc, t + 1500000);
	fnf_flush(fc, FLOW_END_SHUTDOWN);
	exporter_flush(c.ex, t + 2000000);

	const struct fnf_stats *st = fnf_stats(fc);
	uint64_t recs_out = 0;
	for (int i = 0; i < FLOW_END_MAX; i++)
		recs_out += st->records[i];
	CHECK(st->in_use == 0);
	CHECK(rx.records == recs_out + exporter_stats(c.ex)->split_records);
	CHECK(rx.packets == st->packets - st->packets_dropped_full);
	CHECK(exporter_stats(c.ex)->flows_failed == 0);
	fnf_free(fc);
	exporter_free(c.ex);
	tmpl_store_mem_free(&rx.mem);
	return 0;
}
