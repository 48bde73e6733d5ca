/* fuzz_sctp.c — libFuzzer target: what the SCTP export code parses.
 *   - the notification decoder (sctpio_note_decode): every input as a
 *     notification, and as one with its length field forced to the input
 *     length (so the type-specific bounds are reached);
 *   - the text parsers of the settings: reliability ("full", "partial:N",
 *     "partial buffer-limit N", "none") and backup mode, then the range
 *     check of what they produced.
 * Nothing may read outside the input; every decoded length must lie
 * inside it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "transport/dest.h"
#include "transport/sctp.h"
#include "transport/sctpio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void note(const uint8_t *p, size_t n)
{
	struct sctpio_note nt;
	if (sctpio_note_decode(p, n, &nt) == ERR_OK && nt.data) {
		if (nt.data < p || nt.data + nt.datalen > p + n)
			abort(); /* a payload outside the notification */
		volatile uint8_t sink = 0;
		for (size_t i = 0; i < nt.datalen; i++)
			sink ^= nt.data[i];
		(void)sink;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	note(data, size);
	if (size >= 8 && size < 70000) {
		uint8_t *c = malloc(size);
		if (c) {
			memcpy(c, data, size);
			uint32_t l = (uint32_t)size;
			memcpy(c + 4, &l, sizeof(l));
			note(c, size);
			free(c);
		}
	}
	if (size < 256) {
		char s[257], err[128];
		memcpy(s, data, size);
		s[size] = 0;
		struct sctpt_opts o;
		sctpt_opts_init(&o);
		if (sctpt_parse_reliability(s, &o, err, sizeof(err)) == 0 && sctpt_opts_check(&o, err, sizeof(err)) != 0)
			abort(); /* a parsed setting must be in range */
		enum dest_mode m;
		(void)dest_parse_mode(s, &m, err, sizeof(err));
	}
	return 0;
}
