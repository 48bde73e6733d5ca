/* fuzz_session.c — libFuzzer target: the collector's session layer fed
 * whole messages, through the full decode path (every codec, the
 * template store, pending buffer, sequence and sampling logic) and out
 * through the JSON lines formatter.
 *
 * Input: a sequence of chunks [ctl:1][len:2][len bytes]. ctl's low two
 * bits pick one of four exporters (two IPv4, two IPv6), bits 2-3 the
 * transport session (0 = datagram), bit 4 advances the clock by 70 s
 * first (template lifetime and pending age run out), bit 5 ends the
 * chosen session after the message, bit 6 runs coll_tick. Limits are
 * small so that every bound is reached. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "collect/session.h"
#include "collect/sink.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sink *json;

static void out(void *arg, const struct crec *r)
{
	(void)arg;
	sink_write(json, r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	log_level_cur = -1; /* malformed input is the point: no log lines */
	if (!json)
		json = sink_open("jsonl:/dev/null", err, sizeof(err));
	struct coll_cfg cfg;
	coll_cfg_init(&cfg);
	cfg.max_templates = 64;
	cfg.max_streams = 8;
	cfg.max_exporters = 3;
	cfg.pending_bytes = 8192;
	cfg.pending_s = 60;
	cfg.tmpl_lifetime_s = 100;
	cfg.options_out = size & 1;
	cfg.unsample = size & 2;
	struct coll *c = coll_new(&cfg, err, sizeof(err));
	if (!c)
		return 0;
	coll_set_output(c, out, NULL);
	static const uint8_t addrs[4][16] = {
		{ 192, 0, 2, 1 }, { 192, 0, 2, 2 },
		{ 0x20, 0x01, 0x0d, 0xb8, [15] = 1 }, { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 },
	};
	uint64_t now = 1700000000000000ull;
	size_t off = 0;
	while (off + 3 <= size) {
		uint8_t ctl = data[off];
		size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
		off += 3;
		if (len > size - off)
			len = size - off;
		struct lsn_msg m = { .p = data + off, .len = len, .session = (ctl >> 2) & 3, .recv_us = now };
		memcpy(m.peer.addr, addrs[ctl & 3], 16);
		m.peer.af = (ctl & 3) >= 2 ? 6 : 4;
		m.transport = m.session ? LSN_T_TCP : LSN_T_UDP;
		if (ctl & 0x10)
			now += 70000000u;
		coll_message(c, &m, now);
		if (ctl & 0x20)
			coll_session_end(c, &m.peer, m.session);
		if (ctl & 0x40)
			coll_tick(c, now);
		off += len;
	}
	coll_finish(c, now);
	struct coll_stats st;
	coll_totals(c, &st);
	coll_free(c);
	sink_tick(json, 0);
	return 0;
}
