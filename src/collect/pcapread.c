/* pcapread.c — export messages out of a capture file; see pcapread.h. */
#include "collect/pcapread.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "decode/packet.h"
#include "lib/bytes.h"

static bool is_export_version(uint16_t v)
{
	return v == 1 || v == 5 || v == 7 || v == 8 || v == 9 || v == 10;
}

/* An IPFIX File (RFC 5655): IPFIX messages back to back, each framed by
 * its length. No exporter address is recorded: 0.0.0.0. The message time
 * is its export time. */
static int ipfix_file_run(FILE *f, const char *path, const struct pcapread_cb *cb, struct pcapread_stats *st,
                          char *err, size_t errlen)
{
	uint8_t *buf = malloc(65536);
	int rc = 0;
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (;;) {
		size_t n = fread(buf, 1, 16, f);
		if (n == 0)
			break;
		st->frames++;
		uint16_t len = n >= 4 ? peek_u16(buf + 2) : 0;
		if (n < 16 || peek_u16(buf) != 10 || len < 16) {
			snprintf(err, errlen, "%s: message %llu: not an IPFIX message header (IPFIX File, RFC 5655)",
			         path, (unsigned long long)st->frames);
			rc = -1;
			break;
		}
		if (fread(buf + 16, 1, len - 16u, f) != len - 16u) {
			snprintf(err, errlen, "%s: message %llu cut short (%s)", path, (unsigned long long)st->frames,
			         ferror(f) ? strerror(errno) : "end of file");
			st->truncated++;
			rc = -1;
			break;
		}
		struct lsn_msg m = { .transport = LSN_T_FILE, .p = buf, .len = len,
		                     .recv_us = (uint64_t)peek_u32(buf + 4) * 1000000u };
		m.peer.af = 4;
		st->messages++;
		cb->msg(cb->arg, &m);
	}
	free(buf);
	return rc;
}

int pcapread_run(const char *path, const uint16_t *ports, size_t nports, const struct pcapread_cb *cb,
                 struct pcapread_stats *st, char *err, size_t errlen)
{
	memset(st, 0, sizeof(*st));
	if (strcmp(path, "-") != 0) {
		FILE *f = fopen(path, "rb");
		uint8_t magic[2];
		if (!f) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		if (fread(magic, 1, 2, f) == 2 && peek_u16(magic) == 10) {
			rewind(f);
			int rc = ipfix_file_run(f, path, cb, st, err, errlen);
			fclose(f);
			return rc;
		}
		fclose(f);
	}
	struct capture *cap = capture_open_file(path, 0, err, errlen);
	if (!cap)
		return -1;
	int rc = 0;
	for (;;) {
		struct cap_pkt p;
		int r = capture_next(cap, &p, err, errlen);
		if (r == CAPTURE_EOF)
			break;
		if (r == CAPTURE_ERR) {
			rc = -1;
			break;
		}
		if (r == 0)
			continue;
		st->frames++;
		struct pkt_info pi;
		if (pkt_decode(p.data, p.caplen, p.wirelen, p.linktype, &pi) != PKT_OK || pi.proto != 17) {
			st->not_udp++;
			continue;
		}
		if (pi.flags & PKT_F_FRAG) {
			st->fragments++;
			continue;
		}
		if (!pi.l4_off || (size_t)pi.l4_off + 8 > p.caplen) {
			st->truncated++;
			continue;
		}
		const uint8_t *udp = p.data + pi.l4_off;
		uint16_t ulen = peek_u16(udp + 4);
		if (ulen < 8 || (size_t)pi.l4_off + ulen > p.caplen) {
			st->truncated++; /* cut by the snap length, or a bad length */
			continue;
		}
		const uint8_t *pay = udp + 8;
		size_t plen = ulen - 8u;
		if (nports) {
			bool hit = false;
			for (size_t i = 0; i < nports && !hit; i++)
				hit = ports[i] == pi.dport;
			if (!hit) {
				st->other_port++;
				continue;
			}
		} else if (plen < 2 || !is_export_version(peek_u16(pay))) {
			st->other_port++;
			continue;
		}
		struct lsn_msg m = { .transport = LSN_T_FILE, .p = pay, .len = plen, .recv_us = p.ts_us };
		memcpy(m.peer.addr, pi.src, 16);
		m.peer.af = pi.af;
		m.peer.port = pi.sport;
		st->messages++;
		cb->msg(cb->arg, &m);
	}
	capture_close(cap);
	return rc;
}

void pcapread_show(const char *path, const struct pcapread_stats *st, FILE *out)
{
	fprintf(out, "File %s: %llu frames, %llu export messages; not UDP %llu, IP fragments %llu, "
	             "truncated %llu, other ports or not export %llu\n",
	        path, (unsigned long long)st->frames, (unsigned long long)st->messages,
	        (unsigned long long)st->not_udp, (unsigned long long)st->fragments,
	        (unsigned long long)st->truncated, (unsigned long long)st->other_port);
}
