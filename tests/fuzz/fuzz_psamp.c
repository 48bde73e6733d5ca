/* fuzz_psamp.c — libFuzzer target for the packet-section size rule
 * (psamp_section_len, psamp_l4_end in src/meter/psamp.c), which walks
 * tunnels (GRE, IP-in-IP) into inner packets through the decoder.
 *
 * Input: as fuzz_decode's — byte 0 selects the link type
 * (fuzz_links[byte & 7]), bytes 1-3 big-endian count of bytes the frame
 * had on the wire beyond the captured ones, then the captured frame.
 * Seeds in tests/fuzz/corpus/fuzz_psamp/.
 *
 * Checked on every input: the section never exceeds the captured length
 * or 160 bytes; when a transport header ends within 160 bytes the
 * section is exactly up to it (or the whole capture); the decode handed
 * in by the meter gives the same as decoding here; a second call gives
 * the same. The decoder and psamp.c are #included so that the fuzzer's
 * coverage reaches them (see fuzz_decode.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/packet.h"
#include "meter/psamp.h"

#include "../../src/decode/packet.c"
#include "../../src/meter/psamp.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int fuzz_links[8] = {
	PKT_LINK_EN10MB, PKT_LINK_RAW, PKT_LINK_RAW_DLT, PKT_LINK_NULL,
	PKT_LINK_LOOP,   PKT_LINK_SLL, PKT_LINK_SLL2,    105 /* 802.11: unsupported */
};

#define CHECK(c)                \
	do {                    \
		if (!(c))       \
			abort(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	int lt = fuzz_links[data[0] & 7];
	size_t extra = (size_t)data[1] << 16 | (size_t)data[2] << 8 | data[3];
	size_t caplen = size - 4;
	/* a copy of exactly caplen bytes, so ASan sees any read past the frame */
	uint8_t *frame = malloc(caplen ? caplen : 1);
	if (!frame)
		return 0;
	memcpy(frame, data + 4, caplen);
	size_t wirelen = caplen + extra;

	size_t end = psamp_l4_end(frame, caplen, wirelen, lt, NULL);
	size_t n = psamp_section_len(frame, caplen, wirelen, lt, NULL);
	CHECK(n <= caplen && n <= PSAMP_SECTION_MAX);
	if (end && end <= PSAMP_SECTION_MAX)
		CHECK(n == (end < caplen ? end : caplen));
	else
		CHECK(n == (caplen < PSAMP_SECTION_MAX ? caplen : PSAMP_SECTION_MAX));
	CHECK(psamp_section_len(frame, caplen, wirelen, lt, NULL) == n);
	struct pkt_info pi;
	if (pkt_decode(frame, caplen, wirelen, lt, &pi) == PKT_OK) {
		CHECK(psamp_l4_end(frame, caplen, wirelen, lt, &pi) == end);
		CHECK(psamp_section_len(frame, caplen, wirelen, lt, &pi) == n);
		if (pi.l4_end)
			CHECK(end == pi.l4_end); /* no tunnel: the decoder's own end */
	} else {
		CHECK(end == 0);
	}
	free(frame);
	return 0;
}
